/* events.c — the event recorder: Events named <object>.<hex UnixNano of the first one>, as
 * client-go's recorder names them (so they list in the order they happened), aggregated on
 * repeats. Not for: the events.k8s.io view (the API converts). */
#include "controllers/events.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/client.h"
#include "base/hmap.h"
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

/* The recorder's memory, as client-go's event correlator keeps it: the last CACHE_MAX keys of
 * each kind (the oldest forgotten first; a forgotten one starts over, as in kube). Each
 * value is a malloc'd struct whose first member is its key. Loop thread only. */
enum { CACHE_MAX = 4096 };

typedef struct bounded_map {
	hmap map;
	char *ring[CACHE_MAX]; /* the values, by age */
	size_t next;
} bounded_map;

/* Adds val (absent until now) under its key, forgetting the oldest when full. */
static void bounded_add(bounded_map *m, char *val)
{
	char *old = m->ring[m->next];
	if (old) {
		hmap_del(&m->map, old);
		free(old);
	}
	hmap_put(&m->map, val, val);
	m->ring[m->next] = val;
	m->next = (m->next + 1) % CACHE_MAX;
}

/* An event's key (its object, source, type, reason and message) -> the name its first
 * occurrence was given. */
typedef struct seen_event {
	char key[17];
	char name[];
} seen_event;

static bounded_map seen;
static int64_t last_ns;

static const char *seen_name(const char *key)
{
	const seen_event *e = hmap_get(&seen.map, key);
	return e ? e->name : NULL;
}

static void seen_add(const char *key, const char *name)
{
	size_t n = strlen(name);
	seen_event *e = xmalloc(sizeof *e + n + 1);
	memcpy(e->key, key, sizeof e->key);
	memcpy(e->name, name, n + 1);
	bounded_add(&seen, e->key);
}

/* k8s (EventAggregator): the messages of similar events (one object, source, type and
 * reason) in the last ten minutes. From the tenth distinct one on, an event is "(combined
 * from similar events): MSG", recorded as one event under the similar events' key. */
enum { SIMILAR_MAX = 10 };
#define SIMILAR_WINDOW_NS (600LL * 1000000000LL)

typedef struct similar_events {
	char key[17];
	int64_t last_ns;
	size_t n;
	uint64_t msgs[SIMILAR_MAX];
} similar_events;

static bounded_map similar;

/* True when the event of message hash mh is to be combined with its similar ones. */
static bool combine(const char *key, uint64_t mh, int64_t now)
{
	similar_events *r = hmap_get(&similar.map, key);
	if (!r) {
		r = xcalloc(1, sizeof *r);
		memcpy(r->key, key, sizeof r->key);
		bounded_add(&similar, r->key);
	}
	if (now - r->last_ns > SIMILAR_WINDOW_NS)
		r->n = 0;
	r->last_ns = now;
	bool known = false;
	for (size_t i = 0; i < r->n && !known; i++)
		known = r->msgs[i] == mh;
	if (!known)
		r->msgs[r->n++] = mh;
	if (r->n < SIMILAR_MAX)
		return false;
	r->n--; /* kube pops one, so the set never grows past the limit */
	return true;
}

/* k8s (client-go record.makeEvent): <object name>.<%x of UnixNano>; later names sort
 * after earlier ones (kept strictly increasing here, so two in one nanosecond differ). */
static void new_event_name(char *out, size_t cap, const char *name, int64_t t)
{
	if (t <= last_ns)
		t = last_ns + 1;
	last_ns = t;
	char hx[17];
	fmt_hex64(hx, (uint64_t)t);
	size_t n = str_put(out, cap, name ? name : "object");
	n += str_put(out + n, cap - n, ".");
	str_put(out + n, cap - n, hx);
}

/* The key of parts, continuing from h (the key of earlier parts). */
static uint64_t key_of_more(uint64_t h, const char *const *parts, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = fnv("\x1f", fnv(parts[i] ? parts[i] : "", h));
	return h;
}

static uint64_t key_of(const char *const *parts, size_t n)
{
	return key_of_more(1469598103934665603ULL, parts, n);
}

static void record(apiserver *s, bool aggregate, const char *component, json_t *obj,
                   const char *type, const char *reason, char *msg)
{
	const kind_desc *ek = kind_by_group_resource("", "events");
	const char *ns = json_path_str(obj, "metadata.namespace");
	if (!ns || !*ns)
		ns = "default";
	const char *name = json_path_str(obj, "metadata.name");
	const char *uid = json_path_str(obj, "metadata.uid");
	int64_t t = time_now_ns();
	/* k8s (getEventKey, EventAggregatorByReasonFunc): the source, the object, the type and
	 * reason, and for the event's own key the message */
	const char *parts[] = {component, ns, name, uid, json_path_str(obj, "kind"), type, reason};
	uint64_t sh = key_of(parts, ARRAY_SIZE(parts)); /* the similar events' */
	const char *last[] = {msg};
	char hkey[17];
	fmt_hex64(hkey, key_of_more(sh, last, 1));
	if (aggregate) {
		char skey[17];
		fmt_hex64(skey, sh);
		if (combine(skey, fnv(msg, 1469598103934665603ULL), t)) {
			char *combined = xasprintf("(combined from similar events): %s", msg);
			free(msg);
			msg = combined;
			/* one event for them all, under a key of its own */
			fmt_hex64(hkey, fnv("(combined)", sh));
		}
	}
	char now[32];
	time_rfc3339(t, false, now);
	char ename[300];
	const cache_entry *e = NULL;
	const char *known = seen_name(hkey);
	if (known) {
		/* k8s: a repeat patches the first one; one that is gone is created again under
		 * the same name */
		str_put(ename, sizeof ename, known);
		_cleanup_free_ char *key = kind_storage_key(ek, ns, ename);
		e = cache_get(apiserver_cache(s), key);
	} else {
		new_event_name(ename, sizeof ename, name, t);
		seen_add(hkey, ename);
	}
	if (e) {
		/* k8s: a repeated event bumps count and lastTimestamp (and takes the latest
		 * message, a combined one's) instead of a new object. */
		json_t *ev = json_loadb(e->value->data, e->value->len, 0, NULL);
		json_int_t count = json_integer_value(json_object_get(ev, "count"));
		json_object_set_new(ev, "count", json_integer(count + 1));
		json_object_set_new(ev, "lastTimestamp", json_string(now));
		json_object_set_new(ev, "message", json_string(msg));
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

static char *vformat(const char *fmt, va_list ap)
{
	char *msg = NULL;
	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	return msg;
}

void event_record(apiserver *s, const char *component, json_t *obj, const char *type,
                  const char *reason, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = vformat(fmt, ap);
	va_end(ap);
	record(s, true, component, obj, type, reason, msg);
}

void event_record_series(apiserver *s, const char *component, json_t *obj, const char *type,
                         const char *reason, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = vformat(fmt, ap);
	va_end(ap);
	record(s, false, component, obj, type, reason, msg);
}
