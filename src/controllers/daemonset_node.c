/* daemonset_node.c — the DaemonSet controller's pure rules: which nodes run a daemon pod
 * (node name, nodeSelector, required node affinity, taints against tolerations), the
 * automatic tolerations and node-name affinity of daemon pods, a pod's target node, and the
 * rolling-update arithmetic. Only JSON trees; no API access.
 * Not for: syncing a DaemonSet (daemonset.c) or scheduling (the scheduler binds the pods).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/selector.h"
#include "base/json.h"
#include "base/util.h"
#include "controllers/daemonset-internal.h"

/* ---------- node affinity ---------- */

static bool in_values(json_t *values, const char *v)
{
	size_t i;
	json_t *x;
	json_array_foreach(values, i, x) {
		if (str_eq(json_string_value(x), v))
			return true;
	}
	return false;
}

static bool parse_int64(const char *s, long long *out)
{
	if (!s || !*s)
		return false;
	char *end;
	errno = 0;
	*out = strtoll(s, &end, 10);
	return errno == 0 && *end == '\0';
}

/* k8s: a NodeSelectorRequirement against a value (NULL: the label is absent). */
static bool requirement_holds(json_t *req, const char *value)
{
	const char *op = json_string_value(json_object_get(req, "operator"));
	json_t *values = json_object_get(req, "values");
	if (str_eq(op, "In"))
		return value && in_values(values, value);
	if (str_eq(op, "NotIn"))
		return !value || !in_values(values, value);
	if (str_eq(op, "Exists"))
		return value != NULL;
	if (str_eq(op, "DoesNotExist"))
		return value == NULL;
	if (str_eq(op, "Gt") || str_eq(op, "Lt")) {
		long long have, want;
		if (json_array_size(values) != 1 || !parse_int64(value, &have) ||
		    !parse_int64(json_string_value(json_array_get(values, 0)), &want))
			return false;
		return str_eq(op, "Gt") ? have > want : have < want;
	}
	return false;
}

/* k8s: a NodeSelectorTerm: every expression (labels) and field (metadata.name) holds; a
 * term with neither matches nothing. */
static bool term_matches(json_t *term, json_t *node)
{
	json_t *exprs = json_object_get(term, "matchExpressions");
	json_t *fields = json_object_get(term, "matchFields");
	if (!json_array_size(exprs) && !json_array_size(fields))
		return false;
	json_t *labels = json_path(node, "metadata.labels");
	size_t i;
	json_t *req;
	json_array_foreach(exprs, i, req) {
		const char *key = json_string_value(json_object_get(req, "key"));
		json_t *v = key ? json_object_get(labels, key) : NULL;
		if (!requirement_holds(req, json_string_value(v)))
			return false;
	}
	json_array_foreach(fields, i, req) {
		const char *key = json_string_value(json_object_get(req, "key"));
		/* k8s: metadata.name is the only field a node selector may name. */
		if (!str_eq(key, "metadata.name") ||
		    !requirement_holds(req, json_path_str(node, "metadata.name")))
			return false;
	}
	return true;
}

bool ds_node_affinity_matches(json_t *spec, json_t *node)
{
	if (!labels_match_map(json_object_get(spec, "nodeSelector"), json_path(node, "metadata.labels")))
		return false;
	json_t *req = json_path(spec, "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution");
	if (!req)
		return true;
	size_t i;
	json_t *term;
	json_array_foreach(json_object_get(req, "nodeSelectorTerms"), i, term) {
		if (term_matches(term, node))
			return true;
	}
	return false;
}

/* ---------- taints and tolerations ---------- */

/* k8s: Toleration.ToleratesTaint. */
static bool tolerates(json_t *tol, json_t *taint)
{
	const char *effect = json_string_value(json_object_get(tol, "effect"));
	const char *key = json_string_value(json_object_get(tol, "key"));
	const char *op = json_string_value(json_object_get(tol, "operator"));
	if (effect && *effect && !str_eq(effect, json_string_value(json_object_get(taint, "effect"))))
		return false;
	if (key && *key && !str_eq(key, json_string_value(json_object_get(taint, "key"))))
		return false;
	if (!op || !*op || str_eq(op, "Equal")) {
		const char *tv = json_string_value(json_object_get(tol, "value"));
		const char *nv = json_string_value(json_object_get(taint, "value"));
		return str_eq(tv ? tv : "", nv ? nv : "");
	}
	return str_eq(op, "Exists");
}

bool ds_has_untolerated_taint(json_t *taints, json_t *tolerations, bool no_execute_only)
{
	size_t i, j;
	json_t *taint, *tol;
	json_array_foreach(taints, i, taint) {
		const char *effect = json_string_value(json_object_get(taint, "effect"));
		if (!str_eq(effect, "NoExecute") && (no_execute_only || !str_eq(effect, "NoSchedule")))
			continue;
		bool ok = false;
		json_array_foreach(tolerations, j, tol) {
			if (tolerates(tol, taint)) {
				ok = true;
				break;
			}
		}
		if (!ok)
			return true;
	}
	return false;
}

/* k8s: AddOrUpdateTolerationInPodSpec: a toleration with the same key, operator, value and
 * effect is replaced; otherwise it is appended. */
static void add_toleration(json_t *spec, const char *key, const char *effect)
{
	json_t *tols = json_object_get(spec, "tolerations");
	if (!json_is_array(tols)) {
		tols = json_array();
		json_object_set_new(spec, "tolerations", tols);
	}
	json_t *want = json_pack("{s:s, s:s, s:s}", "key", key, "operator", "Exists", "effect", effect);
	size_t i;
	json_t *t;
	json_array_foreach(tols, i, t) {
		const char *v = json_string_value(json_object_get(t, "value"));
		if (str_eq(json_string_value(json_object_get(t, "key")), key) &&
		    str_eq(json_string_value(json_object_get(t, "operator")), "Exists") &&
		    str_eq(json_string_value(json_object_get(t, "effect")), effect) && (!v || !*v)) {
			json_array_set_new(tols, i, want);
			return;
		}
	}
	json_array_append_new(tols, want);
}

void ds_add_tolerations(json_t *spec)
{
	/* k8s: daemon pods survive the node lifecycle's not-ready/unreachable evictions and
	 * run on nodes tainted by condition (TaintNodesByCondition). */
	add_toleration(spec, "node.kubernetes.io/not-ready", "NoExecute");
	add_toleration(spec, "node.kubernetes.io/unreachable", "NoExecute");
	add_toleration(spec, "node.kubernetes.io/disk-pressure", "NoSchedule");
	add_toleration(spec, "node.kubernetes.io/memory-pressure", "NoSchedule");
	add_toleration(spec, "node.kubernetes.io/pid-pressure", "NoSchedule");
	add_toleration(spec, "node.kubernetes.io/unschedulable", "NoSchedule");
	if (json_is_true(json_object_get(spec, "hostNetwork")))
		add_toleration(spec, "node.kubernetes.io/network-unavailable", "NoSchedule");
}

json_t *ds_daemon_spec(json_t *ds)
{
	json_t *tspec = json_path(ds, "spec.template.spec");
	json_t *spec = json_is_object(tspec) ? json_clone(tspec) : json_object();
	ds_add_tolerations(spec);
	return spec;
}

void ds_node_should_run(json_t *spec, json_t *node, bool *should_run, bool *should_continue)
{
	*should_run = *should_continue = false;
	const char *want = json_string_value(json_object_get(spec, "nodeName"));
	if (want && *want && !str_eq(want, json_path_str(node, "metadata.name")))
		return;
	if (!ds_node_affinity_matches(spec, node))
		return;
	json_t *taints = json_path(node, "spec.taints");
	json_t *tols = json_object_get(spec, "tolerations");
	if (!ds_has_untolerated_taint(taints, tols, false)) {
		*should_run = *should_continue = true;
	} else {
		/* k8s: a tolerated NoExecute taint lets a scheduled pod stay. */
		*should_continue = !ds_has_untolerated_taint(taints, tols, true);
	}
}

/* ---------- daemon pods ---------- */

json_t *ds_pod_template(json_t *ds, const char *hash)
{
	json_t *tmpl = json_clone(json_path(ds, "spec.template"));
	if (!json_is_object(tmpl)) {
		json_decref(tmpl);
		tmpl = json_object();
	}
	ds_add_tolerations(json_obj_child(tmpl, "spec"));
	json_t *labels = json_obj_child(json_obj_child(tmpl, "metadata"), "labels");
	const char *gen = json_string_value(
	    json_object_get(json_path(ds, "metadata.annotations"), DS_TEMPLATE_GENERATION_ANN));
	if (gen)
		json_object_set_new(labels, DS_TEMPLATE_GENERATION_LABEL, json_string(gen));
	if (hash && *hash)
		json_object_set_new(labels, "controller-revision-hash", json_string(hash));
	return tmpl;
}

void ds_set_node_affinity(json_t *spec, const char *node)
{
	json_t *term = json_pack("{s:[{s:s, s:s, s:[s]}]}", "matchFields", "key", "metadata.name",
	                         "operator", "In", "values", node);
	json_t *na = json_obj_child(json_obj_child(spec, "affinity"), "nodeAffinity");
	/* k8s: only the required terms are replaced; preferred terms and the rest stay. */
	json_t *req = json_obj_child(na, "requiredDuringSchedulingIgnoredDuringExecution");
	json_object_set_new(req, "nodeSelectorTerms", json_pack("[o]", term));
}

const char *ds_target_node(json_t *pod)
{
	const char *node = json_path_str(pod, "spec.nodeName");
	if (node && *node)
		return node;
	json_t *terms = json_path(pod, "spec.affinity.nodeAffinity."
	                               "requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms");
	size_t i, j;
	json_t *term, *req;
	json_array_foreach(terms, i, term) {
		json_array_foreach(json_object_get(term, "matchFields"), j, req) {
			if (str_eq(json_string_value(json_object_get(req, "key")), "metadata.name") &&
			    str_eq(json_string_value(json_object_get(req, "operator")), "In")) {
				json_t *values = json_object_get(req, "values");
				return json_array_size(values) == 1 ? json_string_value(json_array_get(values, 0))
				                                    : NULL;
			}
		}
	}
	return NULL;
}

bool ds_pod_updated(json_t *ds, json_t *pod, const char *hash)
{
	json_t *labels = json_path(pod, "metadata.labels");
	const char *gen = json_string_value(
	    json_object_get(json_path(ds, "metadata.annotations"), DS_TEMPLATE_GENERATION_ANN));
	bool template_matches =
	    gen && str_eq(json_string_value(json_object_get(labels, DS_TEMPLATE_GENERATION_LABEL)), gen);
	bool hash_matches = hash && *hash &&
	                    str_eq(json_string_value(json_object_get(labels, "controller-revision-hash")),
	                           hash);
	return hash_matches || template_matches;
}

/* k8s: intstr.GetScaledValueFromIntOrPercent. */
static int scaled(json_t *v, int total, bool round_up, int *out)
{
	if (json_is_integer(v)) {
		*out = (int)json_integer_value(v);
		return 0;
	}
	const char *s = json_string_value(v);
	size_t n = s ? strlen(s) : 0;
	if (!n || s[n - 1] != '%')
		return -1;
	char *end;
	long pct = strtol(s, &end, 10);
	if (end != s + n - 1)
		return -1;
	long long prod = (long long)pct * total;
	*out = (int)(round_up ? (prod + 99) / 100 : prod / 100);
	return 0;
}

static json_t *rolling(json_t *ds)
{
	if (!str_eq(json_path_str(ds, "spec.updateStrategy.type"), "RollingUpdate"))
		return NULL;
	return json_path(ds, "spec.updateStrategy.rollingUpdate");
}

int ds_max_unavailable(json_t *ds, int desired)
{
	json_t *ru = rolling(ds);
	int v = 0;
	if (!ru)
		return 0;
	return scaled(json_object_get(ru, "maxUnavailable"), desired, true, &v) < 0 ? -1 : v;
}

int ds_max_surge(json_t *ds, int desired)
{
	json_t *ru = rolling(ds);
	json_t *s = json_object_get(ru, "maxSurge");
	int v = 0;
	/* k8s: no maxSurge means no surge. */
	if (!ru || !s)
		return 0;
	return scaled(s, desired, true, &v) < 0 ? -1 : v;
}

bool ds_allows_surge(json_t *ds)
{
	return ds_max_surge(ds, 1) > 0;
}

static int cmp_pods(const void *a, const void *b)
{
	json_t *pa = *(json_t *const *)a, *pb = *(json_t *const *)b;
	const char *na = json_path_str(pa, "spec.nodeName"), *nb = json_path_str(pb, "spec.nodeName");
	bool sa = na && *na, sb = nb && *nb;
	if (sa != sb)
		return sa ? -1 : 1;
	const char *ta = json_path_str(pa, "metadata.creationTimestamp");
	const char *tb = json_path_str(pb, "metadata.creationTimestamp");
	int c = strcmp(ta ? ta : "", tb ? tb : "");
	if (c)
		return c;
	const char *ma = json_path_str(pa, "metadata.name"), *mb = json_path_str(pb, "metadata.name");
	return strcmp(ma ? ma : "", mb ? mb : "");
}

void ds_sort_pods(json_t **pods, size_t n)
{
	qsort(pods, n, sizeof *pods, cmp_pods);
}
