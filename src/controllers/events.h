/* events.h — recording core/v1 Events about objects, as kube's event recorder does:
 * one Event per (object, reason, message), its count and lastTimestamp bumped on repeats. */
#ifndef TIMON_CONTROLLERS_EVENTS_H
#define TIMON_CONTROLLERS_EVENTS_H

#include <jansson.h>

#include "apiserver/apiserver.h"

/* Records an event about obj (borrowed; needs apiVersion, kind, metadata). type is "Normal"
 * or "Warning"; component is the reporter ("default-scheduler", "deployment-controller"). */
void event_record(apiserver *s, const char *component, json_t *obj, const char *type,
                  const char *reason, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

#endif
