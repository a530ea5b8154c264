/* events.c — the event recorder: Events named <object>.<hash>, aggregated on repeats.
 * Not for: the events.k8s.io view (the API converts). */
#include "controllers/events.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/client.h"
#include "base/json.h"
#include "base/util.h"
#include "store/cache.h"

static uint64_t fnv(const char *s, uint64_t h)
{
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

void event_record(apiserver *s, const char *component, json_t *obj, const char *type,
                  const char *reason, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = NULL;
	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	va_end(ap);
	const kind_desc *ek = kind_by_group_resource("", "events");
	const char *ns = json_path_str(obj, "metadata.namespace");
	if (!ns || !*ns)
		ns = "default";
	const char *name = json_path_str(obj, "metadata.name");
	const char *uid = json_path_str(obj, "metadata.uid");
	uint64_t h = fnv(reason, fnv(msg, fnv(uid ? uid : "", 1469598103934665603ULL)));
	char ename[300];
	char hx[17];
	fmt_hex64(hx, h);
	size_t en = str_put(ename, sizeof ename, name ? name : "object");
	en += str_put(ename + en, sizeof ename - en, ".");
	str_put(ename + en, sizeof ename - en, hx);
	char now[32], micro[32];
	int64_t t = time_now_ns();
	time_rfc3339(t, false, now);
	time_rfc3339(t, true, micro);
	_cleanup_free_ char *key = kind_storage_key(ek, ns, ename);
	const cache_entry *e = cache_get(apiserver_cache(s), key);
	if (e) {
		/* k8s: a repeated event bumps count and lastTimestamp instead of a new object. */
		json_t *ev = json_loadb(e->value->data, e->value->len, 0, NULL);
		json_int_t count = json_integer_value(json_object_get(ev, "count"));
		json_object_set_new(ev, "count", json_integer(count + 1));
		json_object_set_new(ev, "lastTimestamp", json_string(now));
		client_update_owned(s, component, ek, ev, NULL, NULL, NULL); /* its own parse */
		free(msg);
		return;
	}
	/* Copies, not references: the event is given to the client whole (obj may be the
	 * cache's shared tree). */
	json_t *involved = json_build("{s:o, s:o, s:o}", "kind", json_copy(json_object_get(obj, "kind")),
	                              "name", json_copy(json_path(obj, "metadata.name")),
	                              "apiVersion", json_copy(json_object_get(obj, "apiVersion")));
	if (uid)
		json_object_set_new(involved, "uid", json_string(uid));
	const char *objns = json_path_str(obj, "metadata.namespace");
	if (objns)
		json_object_set_new(involved, "namespace", json_string(objns));
	const char *rv = json_path_str(obj, "metadata.resourceVersion");
	if (rv)
		json_object_set_new(involved, "resourceVersion", json_string(rv));
	json_t *ev = json_build("{s:s, s:s, s:{s:s, s:s}, s:o, s:s, s:s, s:{s:s}, s:s, s:s, s:i, s:s, "
	                        "s:s, s:s}",
	                        "apiVersion", "v1", "kind", "Event", "metadata", "name", ename,
	                        "namespace", ns, "involvedObject", involved, "reason", reason,
	                        "message", msg, "source", "component", component, "firstTimestamp",
	                        now, "lastTimestamp", now, "count", 1, "type", type, "reportingComponent",
	                        component, "reportingInstance", "");
	json_object_set_new(ev, "eventTime", json_null());
	client_create_owned(s, component, ek, ns, ev, NULL, NULL);
	free(msg);
}
