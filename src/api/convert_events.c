/* convert_events.c — core/v1 Event <-> events.k8s.io/v1 Event, as kube's events/v1
 * conversion maps them through the internal (core) Event.
 *
 *   core/v1              events.k8s.io/v1
 *   involvedObject       regarding
 *   message              note
 *   source               deprecatedSource
 *   firstTimestamp       deprecatedFirstTimestamp
 *   lastTimestamp        deprecatedLastTimestamp
 *   count                deprecatedCount
 *   reportingComponent   reportingController
 * and the same name in both: metadata, reason, type, eventTime, series, action, related,
 * reportingInstance. Output members follow the target type's field order.
 *
 * Not for: field selectors (api/fieldsel.c maps regarding.* and involvedObject.*).
 */
#include <string.h>

#include "api/convert-internal.h"
#include "base/util.h"

static const struct {
	const char *core;
	const char *events;
} renames[] = {
	{"involvedObject", "regarding"},
	{"message", "note"},
	{"source", "deprecatedSource"},
	{"firstTimestamp", "deprecatedFirstTimestamp"},
	{"lastTimestamp", "deprecatedLastTimestamp"},
	{"count", "deprecatedCount"},
	{"reportingComponent", "reportingController"},
};

/* k8s.io/api/core/v1 Event, in field order. */
static const char *const core_order[] = {
	"kind", "apiVersion", "metadata", "involvedObject", "reason", "message", "source",
	"firstTimestamp", "lastTimestamp", "count", "type", "eventTime", "series", "action",
	"related", "reportingComponent", "reportingInstance", NULL,
};

/* k8s.io/api/events/v1 Event, in field order. */
static const char *const events_order[] = {
	"kind", "apiVersion", "metadata", "eventTime", "series", "reportingController",
	"reportingInstance", "action", "reason", "regarding", "related", "note", "type",
	"deprecatedSource", "deprecatedFirstTimestamp", "deprecatedLastTimestamp",
	"deprecatedCount", NULL,
};

/* The core name of an events.k8s.io member (NULL: the same name). */
static const char *from_core(const char *events_name)
{
	for (size_t i = 0; i < ARRAY_SIZE(renames); i++)
		if (strcmp(renames[i].events, events_name) == 0)
			return renames[i].core;
	return NULL;
}

/* The events.k8s.io name of a core member (NULL: the same name). */
static const char *from_events(const char *core_name)
{
	for (size_t i = 0; i < ARRAY_SIZE(renames); i++)
		if (strcmp(renames[i].core, core_name) == 0)
			return renames[i].events;
	return NULL;
}

json_t *convert_event_core_to_events(json_t *obj, const char *to)
{
	return cv_rebuild(obj, events_order, from_core, to);
}

json_t *convert_event_events_to_core(json_t *obj, const char *to)
{
	return cv_rebuild(obj, core_order, from_events, to);
}
