/* replicaset.c — the ReplicaSet controller: keeps spec.replicas active pods matching the
 * selector, adopting matching orphans and releasing pods that stopped matching, creating in
 * slow-start batches that stop at the first refusal, recording each create and delete as an
 * event, and reports replicas, ready and available counts and a ReplicaFailure condition in
 * status.
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
#include "controllers/events.h"
#include "controllers/podutil.h"

/* k8s: burstReplicas */
#define MAX_CREATES_PER_SYNC 500
#define NAME "replicaset-controller"

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

/* ---------- pod writes ---------- */

/* One create or delete of a pod for rs. The in-process client answers a refusal before the
 * call returns and a success once it is durable, so the writer learns at once whether the
 * write was refused (and the slow start stops), while the event for a success waits for the
 * answer. */
typedef struct pod_write {
	apiserver *srv;
	json_t *rs;    /* the set (a copy of its reference fields), the events' object */
	char *pod;     /* the deleted pod's name (a create's comes with the answer) */
	bool returned; /* the call has returned: the answer's callback frees this */
	bool answered;
	char *err; /* a refusal's message */
} pod_write;

static void pod_write_free(pod_write *w)
{
	json_decref(w->rs);
	free(w->pod);
	free(w->err);
	free(w);
}

static bool has_cause(json_t *status, const char *reason)
{
	size_t i;
	json_t *cause;
	json_array_foreach(json_path(status, "details.causes"), i, cause)
	{
		if (str_eq(json_string_value(json_object_get(cause, "reason")), reason))
			return true;
	}
	return false;
}

/* k8s (controller.RealPodControl): SuccessfulCreate "Created pod: NAME", FailedCreate "Error
 * creating: ERR", SuccessfulDelete "Deleted pod: NAME", FailedDelete "Error deleting: ERR". */
static void on_pod_written(void *ud, int code, json_t *obj)
{
	pod_write *w = ud;
	bool del = w->pod != NULL;
	if (code >= 200 && code < 300) {
		const char *pod = del ? w->pod : json_path_str(obj, "metadata.name");
		event_record(w->srv, NAME, w->rs, "Normal", del ? "SuccessfulDelete" : "SuccessfulCreate",
		             del ? "Deleted pod: %s" : "Created pod: %s", pod ? pod : "");
	} else if (!(del && code == 404)) { /* k8s: a pod already gone is no failure */
		const char *msg = json_string_value(json_object_get(obj, "message"));
		if (!msg)
			msg = "unknown error";
		/* k8s: a namespace being deleted refuses creates without an event */
		if (!has_cause(obj, "NamespaceTerminating"))
			event_record(w->srv, NAME, w->rs, "Warning",
			             del ? "FailedDelete" : "FailedCreate",
			             del ? "Error deleting: %s" : "Error creating: %s", msg);
		w->err = xstrdup(msg);
	}
	w->answered = true;
	if (w->returned)
		pod_write_free(w);
}

static pod_write *pod_write_new(controller *c, json_t *rs, const char *pod)
{
	pod_write *w = xcalloc(1, sizeof *w);
	w->srv = c->srv;
	/* what an event reads of its object, not the whole set */
	w->rs = json_object();
	json_t *meta = json_object();
	json_object_set_new(w->rs, "metadata", meta);
	static const char *const top[] = {"apiVersion", "kind"};
	static const char *const in_meta[] = {"name", "namespace", "uid", "resourceVersion"};
	for (size_t i = 0; i < ARRAY_SIZE(top); i++)
		json_object_set(w->rs, top[i], json_object_get(rs, top[i]));
	json_t *src = json_object_get(rs, "metadata");
	for (size_t i = 0; i < ARRAY_SIZE(in_meta); i++) /* a member it lacks is left out */
		json_object_set(meta, in_meta[i], json_object_get(src, in_meta[i]));
	w->pod = pod ? xstrdup(pod) : NULL;
	return w;
}

/* After the call: 1 when the write went in (its answer, and event, follow when it is
 * durable), 0 when refused (*err, when still NULL, takes the refusal's message). */
static int pod_write_done(pod_write *w, char **err)
{
	if (!w->answered) {
		w->returned = true;
		return 1;
	}
	bool ok = !w->err;
	if (!*err) {
		*err = w->err;
		w->err = NULL;
	}
	pod_write_free(w);
	return ok ? 1 : 0;
}

/* Creates up to want pods in slow-start batches. Returns how many went in; *err: the first
 * refusal's message (the caller's), or NULL. */
static long create_pods(controller *c, json_t *rs, long want, char **err)
{
	const kind_desc *pk = controller_kind("", "pods");
	const char *ns = json_path_str(rs, "metadata.namespace");
	json_t *pod = pod_from_template(rs);
	long created = 0;
	slow_start st = {.batch = 1};
	*err = NULL;
	for (long i = 0; i < want && slow_start_more(&st); i++) {
		pod_write *w = pod_write_new(c, rs, NULL);
		client_create(c->srv, NAME, pk, ns, pod, on_pod_written, w);
		created += slow_start_done(&st, pod_write_done(w, err));
	}
	json_decref(pod);
	return created;
}

/* Deletes pods[0..n); returns how many went; *err as create_pods'. */
static long delete_pods(controller *c, json_t *rs, json_t **pods, long n, char **err)
{
	const kind_desc *pk = controller_kind("", "pods");
	const char *ns = json_path_str(rs, "metadata.namespace");
	long deleted = 0;
	*err = NULL;
	for (long i = 0; i < n; i++) {
		const char *name = json_path_str(pods[i], "metadata.name");
		pod_write *w = pod_write_new(c, rs, name);
		client_delete(c->srv, NAME, pk, ns, name, NULL, on_pod_written, w);
		deleted += pod_write_done(w, err);
	}
	return deleted;
}

/* ---------- status ---------- */

/* k8s (calculateStatus): a sync whose creates or deletes failed sets ReplicaFailure (True,
 * FailedCreate or FailedDelete, the error as message) unless the set already has one; a sync
 * without failure removes it. */
static void failure_condition(json_t *want, json_t *old_status, const char *reason,
                              const char *err)
{
	json_t *conds = json_object_get(old_status, "conditions");
	json_t *kept = json_array(), *cur = NULL;
	size_t i;
	json_t *cond;
	json_array_foreach(conds, i, cond)
	{
		if (str_eq(json_string_value(json_object_get(cond, "type")), "ReplicaFailure"))
			cur = cond;
		else
			json_array_append(kept, cond);
	}
	if (err && cur) {
		json_array_append(kept, cur);
	} else if (err) {
		char now[32];
		time_rfc3339(time_now_ns(), false, now);
		json_array_append_new(kept, json_pack("{s:s, s:s, s:s, s:s, s:s}", "type",
		                                      "ReplicaFailure", "status", "True",
		                                      "lastTransitionTime", now, "reason", reason,
		                                      "message", err));
	}
	if (json_array_size(kept))
		json_object_set(want, "conditions", kept);
	json_decref(kept);
}

static void set_status(controller *c, json_t *rs, int replicas, int labeled, int ready,
                       int available, const char *fail_reason, const char *err)
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
	failure_condition(want, st, fail_reason, err);
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
	char *err = NULL;
	if (diff < 0) {
		long create = -diff > MAX_CREATES_PER_SYNC ? MAX_CREATES_PER_SYNC : -diff;
		nactive += (size_t)create_pods(c, rs, create, &err);
	} else if (diff > 0) {
		/* k8s: scale down removes the least established pods first. */
		pod_sort_for_deletion(active, nactive);
		nactive -= (size_t)delete_pods(c, rs, active, diff, &err);
	}
	set_status(c, rs, (int)nactive, labeled, ready, available,
	           diff < 0 ? "FailedCreate" : "FailedDelete", err);
	/* k8s: with minReadySeconds, look again when the next ready pod turns available (kube
	 * requeues after minReadySeconds; timon waits for the earliest such pod). */
	if (next_available_ms >= 0)
		controller_enqueue_after(c, key, (uint64_t)next_available_ms + 10);
	free(active);
	controller_list_free(pods, n);
	label_selector_free(sel);
	json_decref(rs);
	/* k8s: a sync that failed is retried with the queue's backoff */
	bool failed = err != NULL;
	free(err);
	return failed || diff < -MAX_CREATES_PER_SYNC ? RECONCILE_RETRY : RECONCILE_DONE;
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
