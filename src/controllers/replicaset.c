/* replicaset.c — the ReplicaSet controller: keeps spec.replicas active pods matching the
 * selector, adopting matching orphans and releasing pods that stopped matching, and reports
 * replicas, ready and available counts in status.
 * Not for: rollouts (deployment.c) or deleting dependents of a deleted set (the lifecycle
 * sweep's garbage collection).
 */
#include <stdlib.h>
#include <string.h>

#include "api/selector.h"
#include "apiserver/client.h"
#include "base/json.h"
#include "base/log.h"
#include "base/util.h"
#include "controllers/controller-internal.h"
#include "controllers/podutil.h"

#define MAX_CREATES_PER_SYNC 500

static json_t *pod_from_template(json_t *rs)
{
	json_t *tmpl = json_path(rs, "spec.template");
	json_t *meta = json_clone(json_object_get(tmpl, "metadata"));
	if (!json_is_object(meta))
		meta = json_object();
	json_object_del(meta, "name");
	json_object_del(meta, "creationTimestamp");
	char *gen = xasprintf("%s-", json_path_str(rs, "metadata.name"));
	json_object_set_new(meta, "generateName", json_string(gen));
	free(gen);
	json_object_set(meta, "namespace", json_path(rs, "metadata.namespace"));
	json_object_set_new(meta, "ownerReferences", json_pack("[o]", controller_owner_ref(rs)));
	return json_pack("{s:s, s:s, s:o, s:O}", "apiVersion", "v1", "kind", "Pod", "metadata", meta,
	                 "spec", json_object_get(tmpl, "spec"));
}

static void set_status(controller *c, json_t *rs, int replicas, int labeled, int ready,
                       int available)
{
	json_t *st = json_object_get(rs, "status");
	json_int_t gen = json_integer_value(json_path(rs, "metadata.generation"));
	json_t *want = json_pack("{s:i, s:i, s:I}", "replicas", replicas, "fullyLabeledReplicas",
	                         labeled, "observedGeneration", (json_int_t)gen);
	/* k8s: zero counts are left out of the status, as Go's omitempty prints them. */
	if (ready)
		json_object_set_new(want, "readyReplicas", json_integer(ready));
	if (available)
		json_object_set_new(want, "availableReplicas", json_integer(available));
	if (json_object_get(st, "conditions"))
		json_object_set(want, "conditions", json_object_get(st, "conditions"));
	if (json_equal(st, want)) {
		json_decref(want);
		return;
	}
	json_object_set_new(rs, "status", want);
	client_update(c->srv, c->def->name, controller_kind("apps", "replicasets"), rs, "status",
	              NULL, NULL);
}

static int reconcile(controller *c, const char *key)
{
	const kind_desc *rsk = controller_kind("apps", "replicasets");
	const kind_desc *pk = controller_kind("", "pods");
	_cleanup_free_ char *ns = NULL, *name = NULL;
	controller_split_key(key, &ns, &name);
	json_t *rs = controller_get(c, rsk, ns, name);
	if (!rs)
		return RECONCILE_DONE;
	const char *uid = json_path_str(rs, "metadata.uid");
	label_selector *sel = label_selector_from_json(json_path(rs, "spec.selector"), NULL);
	if (!sel || json_path(rs, "metadata.deletionTimestamp")) {
		label_selector_free(sel);
		json_decref(rs);
		return RECONCILE_DONE;
	}
	json_t **pods;
	size_t n = controller_list(c, pk, ns, &pods);
	json_t **active = xcalloc(n ? n : 1, sizeof *active);
	size_t nactive = 0;
	int labeled = 0, ready = 0, available = 0;
	int64_t now = time_now_ns(), next_available_ms = -1;
	json_int_t min_ready = json_integer_value(json_path(rs, "spec.minReadySeconds"));
	for (size_t i = 0; i < n; i++) {
		json_t *p = pods[i];
		json_t *owner = controller_owner(p);
		bool matches = label_selector_matches(sel, json_path(p, "metadata.labels"));
		bool mine = owner && str_eq(json_string_value(json_object_get(owner, "uid")), uid);
		const char *pname = json_path_str(p, "metadata.name");
		if (!owner && matches && !json_path(p, "metadata.deletionTimestamp")) {
			/* k8s: a matching pod without a controller is adopted. */
			json_t *patch = json_pack("{s:{s:[o], s:s}}", "metadata", "ownerReferences",
			                          controller_owner_ref(rs), "uid",
			                          json_path_str(p, "metadata.uid"));
			client_patch(c->srv, c->def->name, pk, ns, pname, NULL, NULL, patch, NULL, NULL);
			json_decref(patch);
			mine = true;
		} else if (mine && !matches) {
			/* k8s: a pod that no longer matches is released (orphaned), not deleted. */
			json_t *patch = json_pack("{s:{s:n}}", "metadata", "ownerReferences");
			client_patch(c->srv, c->def->name, pk, ns, pname, NULL, NULL, patch, NULL, NULL);
			json_decref(patch);
			continue;
		}
		if (!mine || !pod_is_active(p))
			continue;
		active[nactive++] = p;
		labeled++;
		if (pod_is_ready(p))
			ready++;
		if (pod_is_available(p, min_ready, now))
			available++;
		int64_t in_ms = pod_available_in_ms(p, min_ready, now);
		if (in_ms >= 0 && (next_available_ms < 0 || in_ms < next_available_ms))
			next_available_ms = in_ms;
	}
	json_t *rep = json_path(rs, "spec.replicas");
	long want = rep ? (long)json_integer_value(rep) : 1;
	long diff = (long)nactive - want;
	if (diff < 0) {
		long create = -diff > MAX_CREATES_PER_SYNC ? MAX_CREATES_PER_SYNC : -diff;
		json_t *pod = pod_from_template(rs);
		for (long i = 0; i < create; i++)
			client_create(c->srv, c->def->name, pk, ns, pod, NULL, NULL);
		json_decref(pod);
		nactive += (size_t)create;
	} else if (diff > 0) {
		/* k8s: scale down removes the least established pods first. */
		pod_sort_for_deletion(active, nactive);
		for (long i = 0; i < diff; i++)
			client_delete(c->srv, c->def->name, pk, ns,
			              json_path_str(active[i], "metadata.name"), NULL, NULL, NULL);
		nactive -= (size_t)diff;
	}
	set_status(c, rs, (int)nactive, labeled, ready, available);
	/* k8s: with minReadySeconds, look again when the next ready pod turns available (kube
	 * requeues after minReadySeconds; timon waits for the earliest such pod). */
	if (next_available_ms >= 0)
		controller_enqueue_after(c, key, (uint64_t)next_available_ms + 10);
	free(active);
	controller_list_free(pods, n);
	label_selector_free(sel);
	json_decref(rs);
	return diff < -MAX_CREATES_PER_SYNC ? RECONCILE_RETRY : RECONCILE_DONE;
}

static void on_pod(controller *c, const kind_desc *d, const cache_event *ev)
{
	UNUSED(d);
	enqueue_controller_owner(c, ev, "ReplicaSet");
}

const controller_def replicaset_controller = {
	.name = "replicaset-controller",
	.watches = {{.group = "apps", .resource = "replicasets"},
	            {.group = "", .resource = "pods", .on_event = on_pod}},
	.reconcile = reconcile,
};
