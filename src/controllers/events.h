/* events.h — recording core/v1 Events about objects, as kube's event recorder does:
 * one Event per (object, source, type, reason, message), named <object>.<hex UnixNano>, its
 * count and lastTimestamp bumped on repeats; from the tenth distinct message of one object,
 * source, type and reason in ten minutes, one "(combined from similar events)" Event. */
#ifndef TIMON_CONTROLLERS_EVENTS_H
#define TIMON_CONTROLLERS_EVENTS_H

#include <jansson.h>

#include "apiserver/apiserver.h"

/* Records an event about obj (borrowed; needs apiVersion, kind, metadata). type is "Normal"
 * or "Warning"; component is the reporter ("default-scheduler", "deployment-controller"). */
void event_record(apiserver *s, const char *component, json_t *obj, const char *type,
                  const char *reason, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* As event_record, for a component kube runs on the events.k8s.io recorder (the scheduler):
 * repeats are counted, but similar events of distinct messages are never combined. */
void event_record_series(apiserver *s, const char *component, json_t *obj, const char *type,
                         const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

#endif
