/* disruption.c — the disruption controller (kube's DisruptionController): keeps each
 * PodDisruptionBudget's status current — expectedPods, desiredHealthy from minAvailable or
 * maxUnavailable (percentages scaled by the pods' controllers), currentHealthy (ready pods
 * not being deleted or just evicted), disruptionsAllowed, the disruptedPods the eviction
 * subresource recorded, observedGeneration and the DisruptionAllowed condition.
 * Not for: refusing evictions (apiserver/admission_pdb.c reads this status).
 */
#include <stdlib.h>
#include <string.h>

#include "api/selector.h"
#include "apiserver/client.h"
#include "apiserver/pdb.h"
#include "base/json.h"
#include "base/util.h"
#include "controllers/controller-internal.h"
#include "controllers/events.h"

/* k8s: DeletionTimeout: an evicted pod not deleted within 2 minutes counts again. */
#define DELETION_TIMEOUT_NS (120LL * 1000000000LL)
#define EVENT_SOURCE        "controllermanager"

static bool pod_ready(json_t *pod)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_path(pod, "status.conditions"), i, c)
	{
		if (str_eq(json_string_value(json_object_get(c, "type")), "Ready"))
			return str_eq(json_string_value(json_object_get(c, "status")), "True");
	}
	return false;
}

/* The pods of pdb's namespace its selector selects (k8s: a missing selector selects
 * nothing, {} everything), as new trees. */
static size_t budget_pods(controller *c, json_t *pdb, json_t ***out)
{
	*out = NULL;
	json_t *sj = json_path(pdb, "spec.selector");
	label_selector *sel = sj ? label_selector_from_json(sj, NULL) : NULL;
	if (!sel)
		return 0;
	const kind_desc *pk = controller_kind("", "pods");
	_cleanup_free_ char *prefix =
	    kind_storage_key(pk, json_path_str(pdb, "metadata.namespace"), NULL);
	cache_entry *const *es;
	size_t n = cache_range(c->cache, prefix, NULL, &es), k = 0;
	json_t **pods = xcalloc(n ? n : 1, sizeof *pods);
	for (size_t i = 0; i < n; i++) {
		if (!label_selector_matches(sel, es[i]->labels))
			continue;
		json_t *o = json_loadb(es[i]->value->data, es[i]->value->len, 0, NULL);
		if (o)
			pods[k++] = o;
	}
	label_selector_free(sel);
	*out = pods;
	return k;
}

/* ---------- expected scale ---------- */

static json_int_t replicas_of(json_t *obj)
{
	json_t *r = json_path(obj, "spec.replicas");
	return r ? json_integer_value(r) : 1;
}

static json_t *get_owned(controller *c, const char *group, const char *resource, const char *ns,
                         json_t *ref)
{
	const kind_desc *d = controller_kind(group, resource);
	if (!d)
		return NULL;
	json_t *o = controller_get(c, d, ns, json_string_value(json_object_get(ref, "name")));
	if (o && !str_eq(json_path_str(o, "metadata.uid"),
	                 json_string_value(json_object_get(ref, "uid")))) {
		json_decref(o);
		o = NULL;
	}
	return o;
}

static bool ref_is(json_t *ref, const char *group, const char *kind)
{
	const char *av = json_string_value(json_object_get(ref, "apiVersion"));
	const char *slash = av ? strchr(av, '/') : NULL;
	size_t glen = slash ? (size_t)(slash - av) : 0;
	return str_eq(json_string_value(json_object_get(ref, "kind")), kind) && av &&
	       strlen(group) == glen && strncmp(av, group, glen) == 0;
}

/* A value at a CRD scale path (".spec.replicas"); 0 when absent. */
static json_int_t value_at(json_t *obj, const char *path)
{
	if (!path)
		return 0;
	if (*path == '.')
		path++;
	return json_integer_value(json_path(obj, path));
}

/* k8s: the finders: the controller of a pod (ReplicationController, the Deployment of a
 * ReplicaSet, a ReplicaSet, a StatefulSet, or anything with a scale subresource) and its
 * scale. 1 found (uid into uid_out), 0 not found. */
static int find_scale(controller *c, json_t *ref, const char *ns, char **uid_out, json_int_t *scale)
{
	json_t *o = NULL;
	if (ref_is(ref, "", "ReplicationController")) {
		o = get_owned(c, "", "replicationcontrollers", ns, ref);
	} else if (ref_is(ref, "apps", "ReplicaSet")) {
		json_t *rs = get_owned(c, "apps", "replicasets", ns, ref);
		json_t *owner = rs ? controller_owner(rs) : NULL;
		if (owner && ref_is(owner, "apps", "Deployment")) {
			/* k8s: a ReplicaSet of a Deployment is scaled by the Deployment. */
			o = get_owned(c, "apps", "deployments", ns, owner);
			json_decref(rs);
		} else {
			o = rs;
		}
	} else if (ref_is(ref, "apps", "StatefulSet")) {
		o = get_owned(c, "apps", "statefulsets", ns, ref);
	} else {
		const char *av = json_string_value(json_object_get(ref, "apiVersion"));
		const char *slash = av ? strchr(av, '/') : NULL;
		char *group = slash ? xstrndup(av, (size_t)(slash - av)) : xstrdup("");
		const kind_desc *d =
		    av ? kind_by_gvk(group, slash ? slash + 1 : av,
		                     json_string_value(json_object_get(ref, "kind")))
		       : NULL;
		if (d && (d->subresources & KIND_SUB_SCALE)) {
			o = get_owned(c, d->group, d->resource, ns, ref);
			if (o && d->custom) {
				*scale = value_at(o, json_string_value(json_object_get(
				                         d->crd_scale, "specReplicasPath")));
				*uid_out = xstrdup(json_path_str(o, "metadata.uid"));
				json_decref(o);
				free(group);
				return 1;
			}
		}
		free(group);
	}
	if (!o)
		return 0;
	*scale = replicas_of(o);
	*uid_out = xstrdup(json_path_str(o, "metadata.uid"));
	json_decref(o);
	return 1;
}

static bool in_set(char **set, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (str_eq(set[i], s))
			return true;
	return false;
}

/* k8s: getExpectedScale: the sum of the scales of the pods' controllers (each counted
 * once); pods without a controller are counted in *unmanaged. -1 with *err (caller
 * frees) when a pod's controller is not found. */
static int expected_scale(controller *c, json_t **pods, size_t n, json_int_t *expected,
                          size_t *unmanaged, char **err)
{
	char **uids = xcalloc(n ? n : 1, sizeof *uids);
	size_t nuids = 0;
	int rc = 0;
	*expected = 0;
	for (size_t i = 0; i < n; i++) {
		json_t *ref = controller_owner(pods[i]);
		if (!ref) {
			(*unmanaged)++;
			continue;
		}
		if (in_set(uids, nuids, json_string_value(json_object_get(ref, "uid"))))
			continue;
		char *uid = NULL;
		json_int_t scale = 0;
		if (!find_scale(c, ref, json_path_str(pods[i], "metadata.namespace"), &uid,
		                &scale)) {
			*err = xasprintf("found no controllers for pod \"%s\"",
			                 json_path_str(pods[i], "metadata.name"));
			rc = -1;
			break;
		}
		if (in_set(uids, nuids, uid)) {
			free(uid);
			continue;
		}
		uids[nuids++] = uid;
		*expected += scale;
	}
	for (size_t k = 0; k < nuids; k++)
		free(uids[k]);
	free(uids);
	return rc;
}

/* k8s: GetScaledValueFromIntOrPercent, rounding up. -1 with *err on a bad value. */
static int scaled(json_t *v, json_int_t total, json_int_t *out, char **err)
{
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return 0;
	}
	const char *s = json_string_value(v);
	size_t len = s ? strlen(s) : 0;
	if (!len || s[len - 1] != '%') {
		*err = xstrdup(
		    "invalid value for IntOrString: invalid type: string is not a percentage");
		return -1;
	}
	char *end;
	long long pct = strtoll(s, &end, 10);
	if (end != s + len - 1) {
		*err = xasprintf(
		    "invalid value \"%s\": strconv.Atoi: parsing \"%.*s\": invalid syntax", s,
		    (int)(len - 1), s);
		return -1;
	}
	*out = (json_int_t)((pct * total + 99) / 100);
	return 0;
}

/* k8s: getExpectedPodCount. */
static int expected_count(controller *c, json_t *pdb, json_t **pods, size_t n, json_int_t *expected,
                          json_int_t *desired, size_t *unmanaged, char **err)
{
	json_t *maxu = json_path(pdb, "spec.maxUnavailable");
	json_t *mina = json_path(pdb, "spec.minAvailable");
	*expected = *desired = 0;
	if (maxu) {
		json_int_t v;
		if (expected_scale(c, pods, n, expected, unmanaged, err) < 0 ||
		    scaled(maxu, *expected, &v, err) < 0)
			return -1;
		*desired = *expected - v < 0 ? 0 : *expected - v;
	} else if (json_is_integer(mina)) {
		*desired = json_integer_value(mina);
		*expected = (json_int_t)n;
	} else if (mina) {
		if (expected_scale(c, pods, n, expected, unmanaged, err) < 0 ||
		    scaled(mina, *expected, desired, err) < 0)
			return -1;
	}
	return 0;
}

/* ---------- status ---------- */

/* k8s: buildDisruptedPodMap: evictions still expected to delete a live pod; *recheck_ns
 * is when the earliest of them expires (0: none). */
static json_t *disrupted_map(controller *c, json_t *pdb, json_t **pods, size_t n, int64_t now,
                             int64_t *recheck_ns)
{
	json_t *old = json_path(pdb, "status.disruptedPods");
	json_t *out = json_object();
	*recheck_ns = 0;
	for (size_t i = 0; i < n && json_object_size(old); i++) {
		if (json_path(pods[i], "metadata.deletionTimestamp"))
			continue;
		const char *name = json_path_str(pods[i], "metadata.name");
		json_t *t = json_object_get(old, name ? name : "");
		int64_t at;
		if (!t || time_parse_rfc3339(json_string_value(t), &at) < 0)
			continue;
		int64_t expires = at + DELETION_TIMEOUT_NS;
		if (expires < now) {
			event_record(c->srv, EVENT_SOURCE, pods[i], "Warning", "NotDeleted",
			             "Pod was expected by PDB %s/%s to be deleted but it wasn't",
			             json_path_str(pdb, "metadata.namespace"),
			             json_path_str(pdb, "metadata.name"));
			continue;
		}
		if (!*recheck_ns || expires < *recheck_ns)
			*recheck_ns = expires;
		json_object_set(out, name, t);
	}
	return out;
}

/* k8s: countHealthyPods: ready, not being deleted, not just evicted. */
static json_int_t count_healthy(json_t **pods, size_t n, json_t *disrupted)
{
	json_int_t healthy = 0;
	for (size_t i = 0; i < n; i++) {
		if (json_path(pods[i], "metadata.deletionTimestamp"))
			continue;
		if (json_object_get(disrupted, json_path_str(pods[i], "metadata.name")))
			continue;
		healthy += pod_ready(pods[i]);
	}
	return healthy;
}

/* Writes pdb's status when it changed (pdb is changed in place). */
static void write_status(controller *c, json_t *pdb, json_t *old_status)
{
	if (json_equal(old_status, json_object_get(pdb, "status")))
		return;
	client_update(c->srv, c->def->name, controller_kind("policy", "poddisruptionbudgets"), pdb,
	              "status", NULL, NULL);
}

/* k8s: failSafe: when the status cannot be computed, allow no disruption. */
static void fail_safe(controller *c, json_t *pdb, const char *why)
{
	_cleanup_json_ json_t *old = json_clone(json_object_get(pdb, "status"));
	json_t *st = json_obj_child(pdb, "status");
	json_object_set_new(st, "disruptionsAllowed", json_integer(0));
	pdb_set_condition(pdb, "DisruptionAllowed", "False", "SyncFailed", why, time_now_ns());
	write_status(c, pdb, old);
}

/* k8s: updatePdbStatus. */
static void update_status(controller *c, json_t *pdb, json_int_t healthy, json_int_t desired,
                          json_int_t expected, json_t *disrupted)
{
	/* k8s: no disruption is allowed while no pod is expected, so a budget whose pods
	 * appear before its status is written is safe. */
	json_int_t allowed = healthy - desired;
	if (expected <= 0 || allowed <= 0)
		allowed = 0;
	_cleanup_json_ json_t *old = json_clone(json_object_get(pdb, "status"));
	json_t *st = json_object();
	json_t *gen = json_path(pdb, "metadata.generation");
	if (json_integer_value(gen))
		json_object_set(st, "observedGeneration", gen);
	json_object_set_new(st, "disruptionsAllowed", json_integer(allowed));
	json_object_set_new(st, "currentHealthy", json_integer(healthy));
	json_object_set_new(st, "desiredHealthy", json_integer(desired));
	json_object_set_new(st, "expectedPods", json_integer(expected));
	if (json_object_size(disrupted))
		json_object_set(st, "disruptedPods", disrupted);
	json_t *conds = json_object_get(old, "conditions");
	if (conds)
		json_object_set_new(st, "conditions", json_clone(conds));
	json_object_set_new(pdb, "status", st);
	pdb_update_allowed_condition(pdb, time_now_ns());
	write_status(c, pdb, old);
}

static int reconcile(controller *c, const char *key)
{
	_cleanup_free_ char *ns = NULL, *name = NULL;
	controller_split_key(key, &ns, &name);
	const kind_desc *d = controller_kind("policy", "poddisruptionbudgets");
	json_t *pdb = ns ? controller_get(c, d, ns, name) : NULL;
	if (!pdb)
		return RECONCILE_DONE;
	json_t **pods;
	size_t n = budget_pods(c, pdb, &pods);
	if (!n)
		event_record(c->srv, EVENT_SOURCE, pdb, "Normal", "NoPods",
		             "No matching pods found");
	json_int_t expected, desired;
	size_t unmanaged = 0;
	char *err = NULL;
	if (expected_count(c, pdb, pods, n, &expected, &desired, &unmanaged, &err) < 0) {
		event_record(c->srv, EVENT_SOURCE, pdb, "Warning",
		             "CalculateExpectedPodCountFailed",
		             "Failed to calculate the number of expected pods: %s", err);
		fail_safe(c, pdb, err);
		free(err);
		controller_list_free(pods, n);
		json_decref(pdb);
		return RECONCILE_DONE;
	}
	if (unmanaged) {
		_cleanup_free_ char *sel =
		    json_dumps(json_path(pdb, "spec.selector"), JSON_COMPACT);
		event_record(
		    c->srv, EVENT_SOURCE, pdb, "Warning", "UnmanagedPods",
		    "Pods selected by this PodDisruptionBudget (selector: %s) were found to be "
		    "unmanaged. As a result, the status of the PDB cannot be calculated correctly, "
		    "which may result in undefined behavior. To account for these pods please set "
		    "\".spec.minAvailable\" field of the PDB to an integer value.",
		    sel ? sel : "nil");
	}
	int64_t now = time_now_ns(), recheck = 0;
	json_t *disrupted = disrupted_map(c, pdb, pods, n, now, &recheck);
	json_int_t healthy = count_healthy(pods, n, disrupted);
	update_status(c, pdb, healthy, desired, expected, disrupted);
	if (recheck)
		controller_enqueue_after(c, key, (uint64_t)((recheck - now) / 1000000 + 1));
	json_decref(disrupted);
	controller_list_free(pods, n);
	json_decref(pdb);
	return RECONCILE_DONE;
}

/* A pod event concerns every budget of its namespace that selects it now or before. */
static void on_pod(controller *c, const kind_desc *d, const cache_event *ev)
{
	UNUSED(d);
	const kind_desc *bk = controller_kind("policy", "poddisruptionbudgets");
	const kind_desc *pk = controller_kind("", "pods");
	_cleanup_free_ char *pods_prefix = kind_storage_key(pk, NULL, NULL);
	size_t plen = strlen(pods_prefix);
	const char *slash =
	    strncmp(ev->key, pods_prefix, plen) == 0 ? strchr(ev->key + plen, '/') : NULL;
	if (!slash || !bk)
		return;
	_cleanup_free_ char *ns = xstrndup(ev->key + plen, (size_t)(slash - (ev->key + plen)));
	_cleanup_free_ char *prefix = kind_storage_key(bk, ns, NULL);
	cache_entry *const *es;
	size_t n = cache_range(c->cache, prefix, NULL, &es);
	for (size_t i = 0; i < n; i++) {
		json_t *pdb = json_loadb(es[i]->value->data, es[i]->value->len, 0, NULL);
		json_t *sj = json_path(pdb, "spec.selector");
		label_selector *sel = sj ? label_selector_from_json(sj, NULL) : NULL;
		if (sel && (label_selector_matches(sel, ev->labels) ||
		            (ev->prev_value && label_selector_matches(sel, ev->prev_labels)))) {
			char *key = controller_key_of(pdb);
			controller_enqueue(c, key);
			free(key);
		}
		label_selector_free(sel);
		json_decref(pdb);
	}
}

const controller_def disruption_controller = {
    .name = "disruption-controller",
    .watches = {{.group = "policy", .resource = "poddisruptionbudgets"},
                {.group = "", .resource = "pods", .on_event = on_pod}},
    .reconcile = reconcile,
};
CONTROLLER_REGISTER(disruption_controller)
