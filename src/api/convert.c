/* convert.c — the conversion table keyed by kind and apiVersion pair, the fallback for
 * versions without structural differences, the read/write-path helpers, and the JSON
 * copy helpers the per-group files share.
 *
 * Not for: the conversions themselves (convert_autoscaling.c, convert_events.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/convert-internal.h"
#include "api/defaults.h"
#include "base/json.h"
#include "base/util.h"

/* ---------- JSON helpers ---------- */

json_t *cv_get(json_t *o, const char *key)
{
	json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;
	return json_is_null(v) ? NULL : v;
}

json_t *cv_obj(json_t *o, const char *key)
{
	json_t *v = cv_get(o, key);
	return json_is_object(v) ? v : NULL;
}

json_t *cv_arr(json_t *o, const char *key)
{
	json_t *v = cv_get(o, key);
	return json_is_array(v) ? v : NULL;
}

const char *cv_str(json_t *o, const char *key)
{
	return json_string_value(cv_get(o, key));
}

void cv_copy(json_t *dst, const char *dkey, json_t *src, const char *skey)
{
	json_t *v = cv_get(src, skey);
	if (v)
		json_object_set_new(dst, dkey, json_clone(v));
}

void cv_copy_or(json_t *dst, const char *dkey, json_t *src, const char *skey, json_t *zero)
{
	json_t *v = cv_get(src, skey);
	if (v) {
		json_object_set_new(dst, dkey, json_clone(v));
		json_decref(zero);
	} else {
		json_object_set_new(dst, dkey, zero);
	}
}

json_t *cv_rebuild(json_t *src, const char *const *order, const char *(*rename)(const char *),
                   const char *to)
{
	json_t *out = json_object();
	for (const char *const *n = order; *n; n++) {
		if (strcmp(*n, "apiVersion") == 0) {
			json_object_set_new(out, "apiVersion", json_string(to));
			continue;
		}
		const char *from = rename ? rename(*n) : NULL;
		json_t *v = json_object_get(src, from ? from : *n);
		if (v)
			json_object_set_new(out, *n, json_clone(v));
	}
	return out;
}

bool cv_drop_annotation(json_t *obj, const char *key)
{
	json_t *meta = cv_obj(obj, "metadata");
	json_t *ann = cv_obj(meta, "annotations");
	if (!ann || !json_object_get(ann, key))
		return false;
	json_object_del(ann, key);
	if (json_object_size(ann) == 0)
		json_object_del(meta, "annotations");
	return true;
}

void cv_set_annotation(json_t *obj, const char *key, const char *val)
{
	json_t *ann = json_obj_child(json_obj_child(obj, "metadata"), "annotations");
	json_object_set_new(ann, key, json_string(val));
}

/* ---------- the table ---------- */

typedef struct conv_entry {
	const char *kind;
	const char *from;
	const char *to;
	convert_fn fn;
} conv_entry;

static const conv_entry convs[] = {
	{"HorizontalPodAutoscaler", "autoscaling/v2", "autoscaling/v1", convert_hpa_v2_to_v1},
	{"HorizontalPodAutoscaler", "autoscaling/v1", "autoscaling/v2", convert_hpa_v1_to_v2},
	{"Event", "v1", "events.k8s.io/v1", convert_event_core_to_events},
	{"Event", "events.k8s.io/v1", "v1", convert_event_events_to_core},
};

/* The group part of an apiVersion: "apps/v1" -> "apps" (n = 4), "v1" -> "" (n = 0). */
static size_t group_len(const char *api_version)
{
	const char *slash = strrchr(api_version, '/');
	return slash ? (size_t)(slash - api_version) : 0;
}

static bool same_group(const char *a, const char *b)
{
	size_t n = group_len(a);
	return n == group_len(b) && strncmp(a, b, n) == 0;
}

bool convert_needed(const char *stored_api_version, const char *want_api_version)
{
	return stored_api_version && want_api_version &&
	       strcmp(stored_api_version, want_api_version) != 0;
}

json_t *convert_object(json_t *obj, const char *to_api_version, terr **err)
{
	if (!json_is_object(obj)) {
		terr_bad_request(err, "the object to convert is not a JSON object");
		return NULL;
	}
	const char *from = cv_str(obj, "apiVersion");
	const char *kind = cv_str(obj, "kind");
	if (!from || !*from) {
		terr_bad_request(err, "Object 'apiVersion' is missing");
		return NULL;
	}
	if (!to_api_version || !*to_api_version) {
		terr_internal(err, "no apiVersion to convert %s %s to", from, kind ? kind : "object");
		return NULL;
	}
	if (strcmp(from, to_api_version) == 0)
		return json_clone(obj);
	for (size_t i = 0; i < ARRAY_SIZE(convs); i++) {
		const conv_entry *c = &convs[i];
		if ((!kind || str_eq(kind, c->kind)) && str_eq(from, c->from) &&
		    str_eq(to_api_version, c->to))
			return c->fn(obj, to_api_version);
	}
	/* k8s: versions of one group without a registered conversion (custom resources with
	 * the None strategy) differ only in apiVersion. */
	if (same_group(from, to_api_version)) {
		json_t *out = json_clone(obj);
		json_object_set_new(out, "apiVersion", json_string(to_api_version));
		return out;
	}
	terr_internal(err, "no conversion of %s from %s to %s", kind ? kind : "object", from,
	              to_api_version);
	return NULL;
}

/* ---------- read and write paths ---------- */

static bool is_event(const kind_desc *d)
{
	return str_eq(d->kind, "Event") && (str_eq(d->group, "") || str_eq(d->group, "events.k8s.io"));
}

void convert_storage_api_version(const kind_desc *d, char out[128])
{
	/* k8s: events.k8s.io Events cohabit with core Events and are stored as core/v1. */
	if (str_eq(d->group, "events.k8s.io") && str_eq(d->kind, "Event")) {
		str_put(out, 128, "v1");
	} else if (d->storage_version) {
		kind_join_api_version(d->group, d->storage_version, out);
	} else {
		kind_api_version(d, out);
	}
}

bool convert_may_differ(const kind_desc *d)
{
	if (d->storage_version || is_event(d))
		return true;
	size_t n = kind_count();
	for (size_t i = 0; i < n; i++) {
		const kind_desc *o = kind_at(i);
		if (o != d && str_eq(o->group, d->group) && str_eq(o->resource, d->resource) &&
		    !str_eq(o->version, d->version))
			return true;
	}
	return false;
}

/* True when the serialized object visibly starts with apiVersion want (optionally after
 * its kind): the common case, answered without parsing. */
static bool starts_with_version(const kind_desc *d, const char *data, size_t len,
                                const char *want)
{
	char a[192], b[384];
	int na = snprintf(a, sizeof a, "{\"apiVersion\":\"%s\"", want);
	int nb = snprintf(b, sizeof b, "{\"kind\":\"%s\",\"apiVersion\":\"%s\"", d->kind, want);
	return (na > 0 && (size_t)na < sizeof a && len >= (size_t)na && memcmp(data, a, (size_t)na) == 0) ||
	       (nb > 0 && (size_t)nb < sizeof b && len >= (size_t)nb && memcmp(data, b, (size_t)nb) == 0);
}

json_t *convert_for_read(const kind_desc *d, json_t *obj, terr **err)
{
	char want[128];
	kind_api_version(d, want);
	const char *kind = cv_str(obj, "kind");
	if (!json_is_object(obj) || (kind && !str_eq(kind, d->kind)) ||
	    !convert_needed(cv_str(obj, "apiVersion"), want))
		return json_incref(obj);
	return convert_object(obj, want, err);
}

int convert_stored_json(const kind_desc *d, const char *data, size_t len, char **out,
                        size_t *out_len, terr **err)
{
	*out = NULL;
	*out_len = 0;
	if (!convert_may_differ(d))
		return 0;
	char want[128];
	kind_api_version(d, want);
	if (starts_with_version(d, data, len, want))
		return 0;
	json_error_t je;
	_cleanup_json_ json_t *obj = json_loadb(data, len, 0, &je);
	if (!obj)
		return terr_internal(err, "stored object does not decode: %s", je.text);
	_cleanup_json_ json_t *conv = convert_for_read(d, obj, err);
	if (!conv)
		return -1;
	if (conv == obj)
		return 0;
	*out = json_dump_compact(conv);
	*out_len = strlen(*out);
	return 1;
}

json_t *convert_to_storage(const kind_desc *d, json_t *obj, terr **err)
{
	char want[128];
	convert_storage_api_version(d, want);
	const char *kind = cv_str(obj, "kind");
	if (!json_is_object(obj) || (kind && !str_eq(kind, d->kind)) ||
	    !convert_needed(cv_str(obj, "apiVersion"), want))
		return json_incref(obj);
	json_t *st = convert_object(obj, want, err);
	if (!st)
		return NULL;
	/* k8s: what is decoded from storage gets the storage version's defaults. */
	size_t gn = group_len(want);
	char group[128];
	snprintf(group, sizeof group, "%.*s", (int)gn, want);
	const char *version = gn ? want + gn + 1 : want;
	const kind_desc *sd = kind_by_gvk(group, version, d->kind);
	if (sd)
		defaults_apply(sd, st);
	return st;
}
