/* scale.c — Scale objects for the scale subresource. Not for: autoscaling decisions. */
#include "apiserver/scale.h"

#include <stdlib.h>
#include <string.h>

#include "api/selector.h"
#include "base/json.h"
#include "base/util.h"

/* Follows a CRD JSON path like ".spec.replicas" (dots only). */
static json_t *dot_path(json_t *obj, const char *path, bool create)
{
	if (!path || path[0] != '.')
		return NULL;
	_cleanup_free_ char *p = xstrdup(path + 1);
	json_t *cur = obj;
	char *save = NULL;
	char *tok = strtok_r(p, ".", &save);
	while (tok) {
		char *next = strtok_r(NULL, ".", &save);
		if (!next)
			return create ? cur : json_object_get(cur, tok);
		json_t *child = json_object_get(cur, tok);
		if (!json_is_object(child)) {
			if (!create)
				return NULL;
			child = json_obj_child(cur, tok);
		}
		cur = child;
		tok = next;
	}
	return NULL;
}

static const char *last_seg(const char *path)
{
	const char *d = strrchr(path, '.');
	return d ? d + 1 : path;
}

json_t *scale_from_object(const kind_desc *d, json_t *obj)
{
	json_t *meta = json_object_get(obj, "metadata");
	json_t *smeta = json_object();
	static const char *const keep[] = {"name", "namespace", "uid", "resourceVersion",
	                                   "creationTimestamp"};
	for (size_t i = 0; i < ARRAY_SIZE(keep); i++) {
		json_t *v = json_object_get(meta, keep[i]);
		if (v)
			json_object_set(smeta, keep[i], v);
	}
	json_int_t spec = 0, status = 0;
	char *selector = NULL;
	if (d->custom && d->crd_scale) {
		const char *sp = json_string_value(json_object_get(d->crd_scale, "specReplicasPath"));
		const char *st = json_string_value(json_object_get(d->crd_scale, "statusReplicasPath"));
		const char *sel = json_string_value(json_object_get(d->crd_scale, "labelSelectorPath"));
		spec = json_integer_value(dot_path(obj, sp, false));
		status = json_integer_value(dot_path(obj, st, false));
		const char *s = json_string_value(dot_path(obj, sel, false));
		if (s)
			selector = xstrdup(s);
	} else {
		spec = json_integer_value(json_path(obj, "spec.replicas"));
		status = json_integer_value(json_path(obj, "status.replicas"));
		json_t *sel = json_path(obj, "spec.selector");
		if (json_is_object(sel)) {
			label_selector *ls = label_selector_from_json(sel, NULL);
			if (ls) {
				selector = label_selector_string(ls);
				label_selector_free(ls);
			}
		}
	}
	json_t *sc = json_pack("{s:s, s:s, s:o, s:{s:I}, s:{s:I}}", "kind", "Scale", "apiVersion",
	                       "autoscaling/v1", "metadata", smeta, "spec", "replicas", spec, "status",
	                       "replicas", status);
	if (selector && *selector)
		json_object_set_new(json_object_get(sc, "status"), "selector", json_string(selector));
	free(selector);
	return sc;
}

json_t *scale_apply(const kind_desc *d, json_t *obj, json_t *scale, terr **err)
{
	json_t *rep = json_path(scale, "spec.replicas");
	if (rep && !json_is_integer(rep)) {
		terr_invalid(err, "spec.replicas must be an integer");
		return NULL;
	}
	json_int_t n = rep ? json_integer_value(rep) : 0;
	if (n < 0) {
		terr_cause_add(err, "FieldValueInvalid", "spec.replicas",
		               "Invalid value: %lld: must be greater than or equal to 0", (long long)n);
		return NULL;
	}
	json_t *copy = json_clone(obj);
	if (d->custom && d->crd_scale) {
		const char *sp = json_string_value(json_object_get(d->crd_scale, "specReplicasPath"));
		json_t *parent = dot_path(copy, sp, true);
		if (parent)
			json_object_set_new(parent, last_seg(sp), json_integer(n));
	} else {
		json_object_set_new(json_obj_child(copy, "spec"), "replicas", json_integer(n));
	}
	return copy;
}
