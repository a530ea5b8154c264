/* validate_meta.c — validation of what every object shares: ObjectMeta on create and on
 * update (names, namespace, labels, annotations, owner references, finalizers, immutable
 * system fields) and metav1.LabelSelector, plus selector matching used by the workload
 * kinds' "selector must match template labels" rule.
 *
 * Not for: kind-specific rules (validate_<group>.c) or selector parsing of query strings.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "api/validate-internal.h"
#include "base/util.h"

/* k8s: TotalAnnotationSizeLimitB, the sum of key and value bytes of all annotations. */
#define ANNOTATIONS_MAX_BYTES (256 * 1024)

void v_labels(vctx *v, json_t *labels)
{
	if (!json_is_object(labels))
		return;
	const char *k;
	json_t *val;
	json_object_foreach(labels, k, val)
	{
		vmsgs m = {0};
		if (vm_qualified_name(k, &m))
			v_invalid_msgs(v, NULL, k, &m);
		const char *s = json_is_string(val) ? json_string_value(val) : "";
		vmsgs mv = {0};
		if (vm_label_value(s, &mv))
			v_invalid_msgs(v, NULL, s, &mv);
	}
}

void v_annotations(vctx *v, json_t *annotations)
{
	if (!json_is_object(annotations))
		return;
	size_t total = 0;
	const char *k;
	json_t *val;
	json_object_foreach(annotations, k, val)
	{
		/* k8s: annotation keys are checked as qualified names after lowercasing */
		char *lower = xstrdup(k);
		for (char *p = lower; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		vmsgs m = {0};
		if (vm_qualified_name(lower, &m))
			v_invalid_msgs(v, NULL, k, &m);
		free(lower);
		total += strlen(k) + (json_is_string(val) ? json_string_length(val) : 0);
	}
	if (total > ANNOTATIONS_MAX_BYTES)
		v_too_long(v, NULL, ANNOTATIONS_MAX_BYTES);
}

static void owner_references(vctx *v, json_t *refs)
{
	size_t i;
	json_t *r;
	const char *first_controller = NULL;
	char *first_buf = NULL;
	json_array_foreach(refs, i, r)
	{
		const char *api_version = jstr(r, "apiVersion"), *kind = jstr(r, "kind");
		const char *name = jstr(r, "name"), *uid = jstr(r, "uid");
		/* k8s: the version is what follows the last '/' of apiVersion */
		const char *ver = api_version ? strrchr(api_version, '/') : NULL;
		ver = ver ? ver + 1 : api_version;
		if (!ver || !*ver)
			v_invalid(v, "apiVersion", api_version, "version must not be empty");
		if (!kind || !*kind)
			v_invalid(v, "kind", kind, "kind must not be empty");
		if (!name || !*name)
			v_invalid(v, "name", name, "name must not be empty");
		if (!uid || !*uid)
			v_invalid(v, "uid", uid, "uid must not be empty");
		if (str_eq(api_version, "v1") && str_eq(kind, "Event"))
			v_invalid_json(v, NULL, r, "/v1, Kind=Event is disallowed from being an owner");
		if (jtrue(r, "controller")) {
			char *cur = xasprintf("%s/%s", kind ? kind : "", name ? name : "");
			if (first_controller) {
				char *msg = xasprintf("Only one reference can have Controller set to true. "
				                      "Found \"true\" in references for %s and %s",
				                      first_controller, cur);
				v_invalid_json(v, NULL, refs, msg);
				free(msg);
				free(cur);
			} else {
				first_controller = first_buf = cur;
			}
		}
	}
	free(first_buf);
}

static void finalizers(vctx *v, json_t *fins)
{
	size_t i;
	json_t *f;
	bool orphan = false, foreground = false;
	json_array_foreach(fins, i, f)
	{
		const char *s = json_is_string(f) ? json_string_value(f) : "";
		vmsgs m = {0};
		if (vm_qualified_name(s, &m))
			v_invalid_msgs(v, NULL, s, &m);
		orphan |= strcmp(s, "orphan") == 0;
		foreground |= strcmp(s, "foregroundDeletion") == 0;
	}
	if (orphan && foreground)
		v_invalid_json(v, NULL, fins,
		               "finalizer orphan and foregroundDeletion cannot be both set");
}

/* k8s: built-in kinds also require a finalizer without a '/' to be a standard one
 * (kubernetes, orphan, foregroundDeletion), reported per index. */
static void kube_finalizers(vctx *v, json_t *fins)
{
	static const char *const standard[] = {"kubernetes", "orphan", "foregroundDeletion", NULL};
	size_t i;
	json_t *f;
	json_array_foreach(fins, i, f)
	{
		const char *s = json_is_string(f) ? json_string_value(f) : "";
		vmsgs m = {0};
		size_t mark = vp_index(v, i);
		if (vm_qualified_name(s, &m))
			v_invalid_msgs(v, NULL, s, &m);
		else if (!strchr(s, '/') && !v_in(s, standard))
			v_invalid(v, NULL, s, "name is neither a standard finalizer name nor is it "
			                      "fully qualified");
		vp_pop(v, mark);
	}
}

/* The checks shared by create and update: labels, annotations, owners, finalizers. */
static void meta_common(vctx *v, json_t *meta, bool with_finalizers)
{
	size_t m = vp_push(v, "labels");
	v_labels(v, jobj(meta, "labels"));
	vp_pop(v, m);
	m = vp_push(v, "annotations");
	v_annotations(v, jobj(meta, "annotations"));
	vp_pop(v, m);
	json_t *refs = jarr(meta, "ownerReferences");
	if (refs) {
		m = vp_push(v, "ownerReferences");
		owner_references(v, refs);
		vp_pop(v, m);
	}
	json_t *fins = jarr(meta, "finalizers");
	if (fins) {
		m = vp_push(v, "finalizers");
		if (with_finalizers)
			finalizers(v, fins);
		if (!v->d->custom)
			kube_finalizers(v, fins);
		vp_pop(v, m);
	}
}

void v_object_meta(vctx *v, json_t *obj, bool namespaced, vname_rule rule)
{
	json_t *meta = jobj(obj, "metadata");
	size_t mark = vp_push(v, "metadata");
	const char *gen = jstr(meta, "generateName");
	if (gen && *gen) {
		vmsgs m = {0};
		if (vm_name(rule, gen, true, &m))
			v_invalid_msgs(v, "generateName", gen, &m);
	}
	const char *name = jstr(meta, "name");
	if (!name || !*name) {
		v_required(v, "name", "name or generateName is required");
	} else {
		vmsgs m = {0};
		if (vm_name(rule, name, false, &m))
			v_invalid_msgs(v, "name", name, &m);
	}
	const char *ns = jstr(meta, "namespace");
	if (namespaced) {
		vmsgs m = {0};
		if (!ns || !*ns)
			v_required(v, "namespace", NULL);
		else if (vm_dns1123_label(ns, &m))
			v_invalid_msgs(v, "namespace", ns, &m);
	} else if (ns && *ns) {
		v_forbidden(v, "namespace", "not allowed on this type");
	}
	v_nonneg(v, meta, "generation");
	meta_common(v, meta, true);
	vp_pop(v, mark);
}

/* Go prints a metav1.Time value (a Stringer) as "2006-01-02 15:04:05 +0000 UTC". */
static void immutable_time(vctx *v, json_t *n, json_t *o, const char *key)
{
	const char *a = jstr(n, key), *b = jstr(o, key);
	if (!a || str_eq(a, b))
		return;
	v_invalid(v, key, a, VMSG_IMMUTABLE);
}

void v_object_meta_update(vctx *v, json_t *obj, json_t *old)
{
	json_t *meta = jobj(obj, "metadata"), *ometa = jobj(old, "metadata");
	size_t mark = vp_push(v, "metadata");
	/* k8s: while an object is being deleted no finalizer may be added */
	json_t *ofins = jarr(ometa, "finalizers"), *nfins = jarr(meta, "finalizers");
	if (jhas(ometa, "deletionTimestamp") && nfins) {
		_cleanup_buf_ buf extra = {0};
		size_t i;
		json_t *f;
		json_array_foreach(nfins, i, f)
		{
			bool found = false;
			for (size_t j = 0; ofins && j < json_array_size(ofins) && !found; j++)
				found = json_equal(f, json_array_get(ofins, j));
			if (!found && json_is_string(f)) {
				buf_puts(&extra, extra.n ? ", " : "");
				buf_printf(&extra, "\"%s\"", json_string_value(f));
			}
		}
		if (extra.n) {
			char *msg = xasprintf("no new finalizers can be added if the object is being "
			                      "deleted, found new finalizers []string{%s}",
			                      extra.p);
			v_forbidden(v, "finalizers", msg);
			free(msg);
		}
	}
	long long ng = 0, og = 0;
	if (jint(meta, "generation", &ng) && jint(ometa, "generation", &og) && ng < og)
		v_invalid_int(v, "generation", ng, "must not be decremented");
	v_immutable(v, meta, ometa, "name");
	v_immutable(v, meta, ometa, "namespace");
	/* k8s: an update without uid, creationTimestamp or deletionTimestamp keeps the stored
	 * ones (BeforeUpdate copies them), so only a different value is an error. */
	if (jhas(meta, "uid"))
		v_immutable(v, meta, ometa, "uid");
	immutable_time(v, meta, ometa, "creationTimestamp");
	immutable_time(v, meta, ometa, "deletionTimestamp");
	if (jhas(meta, "deletionGracePeriodSeconds"))
		v_immutable(v, meta, ometa, "deletionGracePeriodSeconds");
	meta_common(v, meta, false);
	vp_pop(v, mark);
}

void v_label_selector(vctx *v, json_t *sel)
{
	if (!json_is_object(sel))
		return;
	size_t m = vp_push(v, "matchLabels");
	v_labels(v, jobj(sel, "matchLabels"));
	vp_pop(v, m);
	json_t *exprs = jarr(sel, "matchExpressions");
	size_t i;
	json_t *e;
	json_array_foreach(exprs, i, e)
	{
		size_t m1 = vp_push(v, "matchExpressions");
		vp_index(v, i);
		const char *op = jstr(e, "operator");
		json_t *vals = jarr(e, "values");
		size_t nvals = json_array_size(vals);
		if (str_eq(op, "In") || str_eq(op, "NotIn")) {
			if (nvals == 0)
				v_required(v, "values",
				           "must be specified when `operator` is 'In' or 'NotIn'");
		} else if (str_eq(op, "Exists") || str_eq(op, "DoesNotExist")) {
			if (nvals > 0)
				v_forbidden(v, "values", "may not be specified when `operator` is "
				                         "'Exists' or 'DoesNotExist'");
		} else {
			v_invalid(v, "operator", op, "not a valid selector operator");
		}
		const char *key = jstr(e, "key");
		vmsgs mk = {0};
		if (vm_qualified_name(key ? key : "", &mk))
			v_invalid_msgs(v, "key", key, &mk);
		size_t j;
		json_t *val;
		json_array_foreach(vals, j, val)
		{
			const char *s = json_is_string(val) ? json_string_value(val) : "";
			vmsgs mv = {0};
			if (vm_label_value(s, &mv)) {
				size_t m2 = vp_push(v, "values");
				vp_index(v, j);
				v_invalid_msgs(v, NULL, s, &mv);
				vp_pop(v, m2);
			}
		}
		vp_pop(v, m1);
	}
}

bool v_selector_empty(json_t *sel)
{
	return json_object_size(jobj(sel, "matchLabels")) == 0 &&
	       json_array_size(jarr(sel, "matchExpressions")) == 0;
}

static bool in_values(const char *s, json_t *vals)
{
	size_t i;
	json_t *x;
	json_array_foreach(vals, i, x) if (json_is_string(x) && str_eq(json_string_value(x), s))
		return true;
	return false;
}

bool v_selector_matches(json_t *sel, json_t *labels)
{
	const char *k;
	json_t *want;
	json_object_foreach(jobj(sel, "matchLabels"), k, want)
	{
		const char *have = jstr(labels, k);
		if (!have || !json_is_string(want) || strcmp(have, json_string_value(want)) != 0)
			return false;
	}
	size_t i;
	json_t *e;
	json_array_foreach(jarr(sel, "matchExpressions"), i, e)
	{
		const char *key = jstr(e, "key"), *op = jstr(e, "operator");
		const char *have = key ? jstr(labels, key) : NULL;
		json_t *vals = jarr(e, "values");
		if (str_eq(op, "In") && !(have && in_values(have, vals)))
			return false;
		if (str_eq(op, "NotIn") && have && in_values(have, vals))
			return false;
		if (str_eq(op, "Exists") && !have)
			return false;
		if (str_eq(op, "DoesNotExist") && have)
			return false;
	}
	return true;
}
