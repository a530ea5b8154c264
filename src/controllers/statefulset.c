/* statefulset.c — the StatefulSet controller: pods with stable ordinal names (web-0,
 * web-1, ...), created in order and each only after its predecessors are Running and Ready
 * (OrderedReady) or all at once (Parallel), removed from the highest ordinal down; claims
 * from volumeClaimTemplates; rolling updates from the highest ordinal down to the partition,
 * one healthy pod at a time (or OnDelete); ControllerRevisions as history, so `kubectl
 * rollout history/undo/status` work; and the status kube reports.
 *
 * A sync follows kube's defaultStatefulSetControl.UpdateStatefulSet. Writes go through the
 * in-process client and are in the watch cache when the call returns, so no expectations
 * are kept: the next sync reads what this one did.
 * Not for: a pod's identity and storage details (statefulset_pod.c), revision hashing and
 * claiming (revision.c), or deleting a deleted set's pods (garbage collection).
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
#include "controllers/revision.h"
#include "controllers/statefulset-internal.h"

/* ---------- claiming pods ---------- */

static void patch_pod_refs(controller *c, json_t *pod, json_t *refs)
{
	json_t *patch = json_pack("{s:{s:o, s:O}}", "metadata", "ownerReferences", refs, "uid",
	                          json_path(pod, "metadata.uid"));
	client_patch(c->srv, c->def->name, controller_kind("", "pods"),
	             json_path_str(pod, "metadata.namespace"), json_path_str(pod, "metadata.name"),
	             NULL, NULL, patch, NULL, NULL);
	json_decref(patch);
}

/* k8s: getPodsForStatefulSet: ClaimPods with the isMemberOf filter. Returns the set's
 * pods (new trees) and their count. */
static size_t claim_pods(sts_sync *s, const label_selector *sel, json_t ***out)
{
	const kind_desc *pk = controller_kind("", "pods");
	const char *uid = json_path_str(s->set, "metadata.uid");
	json_t **all;
	size_t n = controller_list(s->c, pk, s->ns, &all);
	json_t **mine = xcalloc(n ? n : 1, sizeof *mine);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		json_t *p = all[i];
		json_t *ref = controller_owner(p);
		bool match = label_selector_matches(sel, json_path(p, "metadata.labels")) &&
		             sts_ordinal(p, s->name) >= 0;
		bool deleting = json_path(p, "metadata.deletionTimestamp") != NULL;
		if (ref && str_eq(json_string_value(json_object_get(ref, "uid")), uid)) {
			if (match) {
				mine[k++] = json_incref(p);
			} else if (!deleting) {
				/* k8s: a pod that stopped matching is released, not deleted. */
				json_t *refs = json_array();
				size_t j;
				json_t *r;
				json_array_foreach(json_path(p, "metadata.ownerReferences"), j, r) {
					if (!str_eq(json_string_value(json_object_get(r, "uid")), uid))
						json_array_append(refs, r);
				}
				patch_pod_refs(s->c, p, refs);
			}
		} else if (!ref && match && !deleting) {
			/* k8s: a matching orphan member is adopted. */
			patch_pod_refs(s->c, p, json_pack("[o]", controller_owner_ref(s->set)));
			json_t *got = controller_get(s->c, pk, s->ns, json_path_str(p, "metadata.name"));
			json_t *gref = got ? controller_owner(got) : NULL;
			if (gref && str_eq(json_string_value(json_object_get(gref, "uid")), uid))
				mine[k++] = got;
			else
				json_decref(got);
		}
	}
	controller_list_free(all, n);
	*out = mine;
	return k;
}

/* ---------- revisions ---------- */

/* k8s: newRevision: a revision of the set's template (labels: the template's plus the
 * hash; annotations: the set's). */
static json_t *new_revision(sts_sync *s, json_t *data, int64_t number, int64_t collision)
{
	char *hash = revision_hash(data, &collision);
	char *name = revision_name(s->name, hash);
	json_t *labels = json_clone(json_path(s->set, "spec.template.metadata.labels"));
	if (!json_is_object(labels)) {
		json_decref(labels);
		labels = json_object();
	}
	json_object_set_new(labels, REVISION_HASH_LABEL, json_string(hash));
	json_t *meta = json_pack("{s:s, s:s, s:o, s:[o]}", "name", name, "namespace", s->ns,
	                         "labels", labels, "ownerReferences", controller_owner_ref(s->set));
	json_t *ann = json_path(s->set, "metadata.annotations");
	if (json_object_size(ann))
		json_object_set_new(meta, "annotations", json_clone(ann));
	free(hash);
	free(name);
	return json_pack("{s:s, s:s, s:o, s:O, s:I}", "apiVersion", "apps/v1", "kind",
	                 "ControllerRevision", "metadata", meta, "data", data, "revision",
	                 (json_int_t)number);
}

/* k8s: getStatefulSetRevisions: finds or creates the update revision (renumbering an equal
 * older one on rollback, stepping the collision count on a name clash) and the current one.
 * Returns owned trees in *cur and *upd; -1 on a failed write. */
static int get_revisions(sts_sync *s, json_t **revs, size_t n, json_t **cur, json_t **upd,
                         int64_t *collision)
{
	const kind_desc *rk = controller_kind("apps", "controllerrevisions");
	json_t *cc = json_path(s->set, "status.collisionCount");
	*collision = cc ? (int64_t)json_integer_value(cc) : 0;
	int64_t next = n ? revision_number(revs[n - 1]) + 1 : 1;
	json_t *data = revision_patch(s->set);
	json_t *probe = json_pack("{s:O}", "data", data);
	json_t *equal = NULL;
	for (size_t i = 0; i < n; i++)
		if (revision_data_equal(revs[i], probe))
			equal = revs[i];
	*upd = NULL;
	if (equal && equal == revs[n - 1]) {
		/* k8s: the latest revision already holds this template. */
		*upd = json_incref(equal);
	} else if (equal) {
		/* k8s: an older equal revision (a rollback) takes the next number. */
		*upd = revision_renumber(s->c, equal, next);
	} else {
		for (int tries = 0; tries < 100 && !*upd; tries++) {
			json_t *rev = new_revision(s, data, next, *collision);
			json_t *have = controller_get(s->c, rk, s->ns, json_path_str(rev, "metadata.name"));
			if (have && revision_data_equal(have, rev)) {
				*upd = have;
			} else if (have) {
				/* k8s: a name taken by other data: bump collisionCount and rehash. */
				json_decref(have);
				(*collision)++;
			} else {
				*upd = revision_create(s->c, rev);
				json_decref(rev);
				break;
			}
			json_decref(rev);
		}
	}
	json_decref(probe);
	json_decref(data);
	if (!*upd)
		return -1;
	*cur = NULL;
	const char *cur_name = json_path_str(s->set, "status.currentRevision");
	for (size_t i = 0; i < n && !*cur; i++)
		if (str_eq(json_path_str(revs[i], "metadata.name"), cur_name))
			*cur = json_incref(revs[i]);
	if (!*cur)
		*cur = json_incref(*upd);
	return 0;
}

/* k8s: truncateHistory: deletes the oldest revisions no pod, nor the current or update
 * revision, uses, beyond revisionHistoryLimit. */
static void truncate_history(sts_sync *s, json_t **revs, size_t n, json_t **pods, size_t npods)
{
	json_t *lim = json_path(s->set, "spec.revisionHistoryLimit");
	size_t limit = lim ? (size_t)json_integer_value(lim) : 10;
	json_t **hist = xcalloc(n ? n : 1, sizeof *hist);
	size_t nh = 0;
	for (size_t i = 0; i < n; i++) {
		const char *name = json_path_str(revs[i], "metadata.name");
		bool live = str_eq(name, s->cur_rev) || str_eq(name, s->upd_rev);
		for (size_t j = 0; j < npods && !live; j++)
			live = str_eq(sts_pod_revision(pods[j]), name);
		if (!live)
			hist[nh++] = revs[i];
	}
	for (size_t i = 0; nh > limit && i < nh - limit; i++)
		revision_delete(s->c, hist[i]);
	free(hist);
}

/* ---------- status ---------- */

/* k8s: computeReplicaStatus + completeRollingUpdate, then UpdateStatefulSetStatus when it
 * differs. Returns the ready and available counts through the pointers. */
static void write_status(sts_sync *s, json_t **pods, size_t n, int64_t collision, int *ready_out,
                         int *avail_out)
{
	int replicas = 0, ready = 0, available = 0, current = 0, updated = 0;
	for (size_t i = 0; i < n; i++) {
		json_t *p = pods[i];
		bool created = json_path_str(p, "status.phase") != NULL;
		if (created)
			replicas++;
		if (sts_running_ready(p)) {
			ready++;
			if (sts_available(p, s->set, s->now))
				available++;
		}
		if (created && !sts_terminating(p)) {
			if (str_eq(sts_pod_revision(p), s->cur_rev))
				current++;
			if (str_eq(sts_pod_revision(p), s->upd_rev))
				updated++;
		}
	}
	const char *cur_rev = s->cur_rev;
	/* k8s: completeRollingUpdate: every replica updated and ready makes the update revision
	 * current. */
	if (str_eq(json_path_str(s->set, "spec.updateStrategy.type"), "RollingUpdate") &&
	    updated == replicas && ready == replicas) {
		current = updated;
		cur_rev = s->upd_rev;
	}
	json_t *st = json_object_get(s->set, "status");
	json_t *want = json_object();
	json_t *gen = json_path(s->set, "metadata.generation");
	if (json_integer_value(gen))
		json_object_set(want, "observedGeneration", gen);
	json_object_set_new(want, "replicas", json_integer(replicas));
	/* k8s: zero counts and empty names are left out, as Go's omitempty prints them. */
	if (ready)
		json_object_set_new(want, "readyReplicas", json_integer(ready));
	if (current)
		json_object_set_new(want, "currentReplicas", json_integer(current));
	if (updated)
		json_object_set_new(want, "updatedReplicas", json_integer(updated));
	if (cur_rev && *cur_rev)
		json_object_set_new(want, "currentRevision", json_string(cur_rev));
	if (s->upd_rev && *s->upd_rev)
		json_object_set_new(want, "updateRevision", json_string(s->upd_rev));
	json_object_set_new(want, "collisionCount", json_integer(collision));
	if (json_object_get(st, "conditions"))
		json_object_set(want, "conditions", json_object_get(st, "conditions"));
	json_object_set_new(want, "availableReplicas", json_integer(available));
	*ready_out = ready;
	*avail_out = available;
	if (json_equal(st, want)) {
		json_decref(want);
		return;
	}
	json_t *obj = json_clone(s->set);
	json_object_set_new(obj, "status", want);
	client_update(s->c->srv, s->c->def->name, controller_kind("apps", "statefulsets"), obj,
	              "status", NULL, NULL);
	json_decref(obj);
}

/* ---------- the update ---------- */

/* k8s: newVersionedStatefulSetPod: ordinals below the partition keep the current revision. */
static json_t *versioned_pod(sts_sync *s, int ordinal)
{
	json_t *us = json_path(s->cur_set, "spec.updateStrategy");
	bool rolling = str_eq(json_string_value(json_object_get(us, "type")), "RollingUpdate");
	json_t *ru = json_object_get(us, "rollingUpdate");
	int start = sts_start_ordinal(s->cur_set);
	bool current;
	if (!ru)
		current = rolling &&
		          ordinal < start + (int)json_integer_value(json_path(s->set, "status.currentReplicas"));
	else
		current = ordinal < start + (int)json_integer_value(json_object_get(ru, "partition"));
	return current ? sts_new_pod(s->cur_set, ordinal, s->cur_rev)
	               : sts_new_pod(s->upd_set, ordinal, s->upd_rev);
}

/* k8s: CreateStatefulPod: claims first, then the pod; afterwards the claims' owner
 * references. Returns the stored pod (new tree) or NULL. */
static json_t *create_pod(sts_sync *s, int ordinal)
{
	const kind_desc *pk = controller_kind("", "pods");
	json_t *pod = versioned_pod(s, ordinal);
	const char *name = json_path_str(pod, "metadata.name");
	json_t *set = str_eq(sts_pod_revision(pod), s->cur_rev) ? s->cur_set : s->upd_set;
	json_t *got = NULL;
	if (sts_create_claims(s, set, pod) == 0) {
		client_create(s->c->srv, s->c->def->name, pk, s->ns, pod, NULL, NULL);
		got = controller_get(s->c, pk, s->ns, name);
		if (got && controller_owner(got) &&
		    str_eq(json_string_value(json_object_get(controller_owner(got), "uid")),
		           json_path_str(s->set, "metadata.uid"))) {
			sts_pod_event(s, "create", name, NULL);
			sts_fix_claim_refs(s, got);
		} else {
			json_decref(got);
			got = NULL;
			sts_pod_event(s, "create", name, "the pod could not be created");
		}
	}
	json_decref(pod);
	return got;
}

static int cmp_ordinal_desc(const void *a, const void *b, void *ud)
{
	const char *name = ud;
	int oa = sts_ordinal(*(json_t *const *)a, name), ob = sts_ordinal(*(json_t *const *)b, name);
	return ob - oa;
}

enum { GO_ON = 0, STOP = 1, FAIL = -1 };

/* k8s: processReplica for slot i (pod may be NULL: not created yet). Updates *slot when it
 * creates or replaces the pod. */
static int process_replica(sts_sync *s, json_t **slot, int ordinal, bool monotonic)
{
	json_t *pod = *slot;
	const char *phase = json_path_str(pod, "status.phase");
	if (pod && (str_eq(phase, "Failed") || str_eq(phase, "Succeeded"))) {
		/* k8s: pods that finished (failed, or stopped on a node) are deleted and recreated. */
		if (str_eq(phase, "Failed"))
			event_record(s->c->srv, STS_COMPONENT, s->set, "Warning", "RecreatingFailedPod",
			             "StatefulSet %s/%s is recreating failed Pod %s", s->ns, s->name,
			             json_path_str(pod, "metadata.name"));
		else
			event_record(s->c->srv, STS_COMPONENT, s->set, "Normal", "RecreatingTerminatedPod",
			             "StatefulSet %s/%s is recreating terminated Pod %s", s->ns, s->name,
			             json_path_str(pod, "metadata.name"));
		if (!sts_terminating(pod) && sts_delete_pod(s, pod) < 0)
			return FAIL;
		json_t *still = controller_get(s->c, controller_kind("", "pods"), s->ns,
		                               json_path_str(pod, "metadata.name"));
		if (still) {
			/* Graceful deletion: the new pod follows once this one is gone. */
			json_decref(still);
			return monotonic ? STOP : GO_ON;
		}
		json_decref(pod);
		pod = *slot = NULL;
	}
	if (!pod) {
		json_t *placeholder = versioned_pod(s, ordinal);
		bool stale = sts_claim_is_stale(s, placeholder);
		json_decref(placeholder);
		if (stale)
			return FAIL; /* k8s: wait for the stale claim's garbage collection */
		pod = *slot = create_pod(s, ordinal);
		if (!pod)
			return FAIL;
		/* k8s: OrderedReady creates one pod per sync; Parallel goes on. */
		return monotonic ? STOP : GO_ON;
	}
	if (str_eq(phase, "Pending")) {
		/* k8s: a pending pod gets any claims it is missing. */
		json_t *set = str_eq(sts_pod_revision(pod), s->cur_rev) ? s->cur_set : s->upd_set;
		if (sts_create_claims(s, set, pod) < 0)
			return FAIL;
	}
	/* k8s: OrderedReady waits for each pod to be Running, Ready and available, and for
	 * terminating ones to go, before touching the next ordinal. */
	if (monotonic && (sts_terminating(pod) || !sts_running_ready(pod) ||
	                  !sts_available(pod, s->set, s->now)))
		return STOP;
	if (sts_fix_claim_refs(s, pod) < 0)
		return FAIL;
	if (!sts_identity_matches(s->set, pod) && sts_fix_identity(s, pod) < 0)
		return FAIL;
	return GO_ON;
}

/* k8s: processCondemned: scale down from the highest ordinal; OrderedReady waits for
 * terminating pods and, unless the target is the first unhealthy pod, for health. */
static int process_condemned(sts_sync *s, json_t *pod, bool first_unhealthy, bool monotonic)
{
	if (sts_terminating(pod))
		return monotonic ? STOP : GO_ON;
	if (monotonic && !first_unhealthy &&
	    (!sts_running_ready(pod) || !sts_available(pod, s->set, s->now)))
		return STOP;
	if (sts_delete_pod(s, pod) < 0)
		return FAIL;
	return monotonic ? STOP : GO_ON;
}

/* k8s: updateStatefulSet after the revisions are known. Returns GO_ON/STOP (done for now)
 * or FAIL (retry). */
static int update_set(sts_sync *s, json_t **pods, size_t npods)
{
	int replicas = sts_replicas(s->set);
	int start = sts_start_ordinal(s->set);
	if (replicas < 0)
		replicas = 0;
	json_t **slots = xcalloc((size_t)replicas + 1, sizeof *slots);
	json_t **condemned = xcalloc(npods + 1, sizeof *condemned);
	size_t ncond = 0;
	for (size_t i = 0; i < npods; i++) {
		int ord = sts_ordinal(pods[i], s->name);
		if (sts_in_range(s->set, ord))
			slots[ord - start] = json_incref(pods[i]);
		else if (ord >= 0)
			condemned[ncond++] = pods[i];
	}
	qsort_r(condemned, ncond, sizeof *condemned, cmp_ordinal_desc, (void *)s->name);
	/* k8s: the first unhealthy pod, in ordinal order, then among the condemned. */
	long first_unhealthy = -1; /* index into condemned, or -2 for a replica */
	for (int i = 0; i < replicas && first_unhealthy == -1; i++)
		if (!sts_healthy(slots[i]))
			first_unhealthy = -2;
	for (size_t i = 0; i < ncond && first_unhealthy == -1; i++)
		if (!sts_healthy(condemned[i]))
			first_unhealthy = (long)i;

	bool monotonic = !str_eq(json_path_str(s->set, "spec.podManagementPolicy"), "Parallel");
	int rc = GO_ON;
	bool failed = false;
	for (int i = 0; i < replicas && rc != STOP; i++) {
		rc = process_replica(s, &slots[i], start + i, monotonic);
		if (rc == FAIL) {
			failed = true;
			rc = monotonic ? STOP : GO_ON;
		}
	}
	if (rc == STOP || failed)
		goto out;
	/* k8s: claims of condemned pods get the owner references the policy asks for. */
	for (size_t i = 0; i < ncond; i++)
		if (sts_fix_claim_refs(s, condemned[i]) < 0)
			failed = true;
	for (size_t i = 0; i < ncond && rc != STOP; i++) {
		rc = process_condemned(s, condemned[i], first_unhealthy == (long)i, monotonic);
		if (rc == FAIL) {
			failed = true;
			rc = monotonic ? STOP : GO_ON;
		}
	}
	if (rc == STOP || failed)
		goto out;
	/* k8s: OnDelete leaves updates to whoever deletes the pods. */
	if (str_eq(json_path_str(s->set, "spec.updateStrategy.type"), "OnDelete"))
		goto out;
	/* k8s: RollingUpdate: from the highest ordinal down to the partition, delete the first
	 * pod not at the update revision, and wait while any such pod is unhealthy. */
	int partition = (int)json_integer_value(json_path(s->set,
	                                                  "spec.updateStrategy.rollingUpdate.partition"));
	for (int t = replicas - 1; t >= partition && t >= 0; t--) {
		json_t *pod = slots[t];
		if (!pod)
			break;
		if (!str_eq(sts_pod_revision(pod), s->upd_rev) && !sts_terminating(pod)) {
			if (sts_delete_pod(s, pod) < 0)
				failed = true;
			break;
		}
		if (!sts_healthy(pod))
			break;
	}
out:
	for (int i = 0; i < replicas; i++)
		json_decref(slots[i]);
	free(slots);
	free(condemned);
	return failed ? FAIL : rc;
}

/* ---------- the sync ---------- */

static int reconcile(controller *c, const char *key)
{
	const kind_desc *sk = controller_kind("apps", "statefulsets");
	_cleanup_free_ char *ns = NULL, *name = NULL;
	controller_split_key(key, &ns, &name);
	json_t *set = controller_get(c, sk, ns, name);
	if (!set)
		return RECONCILE_DONE;
	_cleanup_label_selector_ label_selector *sel =
	    label_selector_from_json(json_path(set, "spec.selector"), NULL);
	if (!sel || json_path(set, "metadata.deletionTimestamp")) {
		json_decref(set);
		return RECONCILE_DONE;
	}
	sts_sync s = {.c = c, .set = set, .ns = json_path_str(set, "metadata.namespace"),
	              .name = json_path_str(set, "metadata.name"), .now = time_now_ns()};
	json_t **pods, **revs;
	size_t npods = claim_pods(&s, sel, &pods);
	size_t nrevs = revision_claim(c, set, sel, false, &revs);
	json_t *cur = NULL, *upd = NULL;
	int64_t collision = 0;
	int result = RECONCILE_DONE;
	if (get_revisions(&s, revs, nrevs, &cur, &upd, &collision) < 0) {
		result = RECONCILE_RETRY;
		goto out;
	}
	s.cur_rev = json_path_str(cur, "metadata.name");
	s.upd_rev = json_path_str(upd, "metadata.name");
	s.cur_set = revision_apply(set, cur);
	s.upd_set = revision_apply(set, upd);
	if (update_set(&s, pods, npods) == FAIL)
		result = RECONCILE_RETRY;
	/* Pods and revisions again: this sync's writes are in the cache already. */
	controller_list_free(pods, npods);
	npods = claim_pods(&s, sel, &pods);
	int ready = 0, available = 0;
	write_status(&s, pods, npods, collision, &ready, &available);
	controller_list_free(revs, nrevs);
	nrevs = revision_claim(c, set, sel, false, &revs);
	truncate_history(&s, revs, nrevs, pods, npods);
	/* k8s: with minReadySeconds, look again once ready pods may have become available. */
	json_int_t mrs = json_integer_value(json_path(set, "spec.minReadySeconds"));
	if (mrs > 0 && ready != available)
		controller_enqueue_after(c, key, (uint64_t)mrs * 1000 + 1000);
out:
	json_decref(s.cur_set);
	json_decref(s.upd_set);
	json_decref(cur);
	json_decref(upd);
	controller_list_free(revs, nrevs);
	controller_list_free(pods, npods);
	json_decref(set);
	return result;
}

/* ---------- events ---------- */

static void enqueue_owner_of(controller *c, json_t *obj)
{
	json_t *ref = controller_owner(obj);
	if (!ref || !str_eq(json_string_value(json_object_get(ref, "kind")), "StatefulSet"))
		return;
	char *key = xasprintf("%s/%s", json_path_str(obj, "metadata.namespace"),
	                      json_string_value(json_object_get(ref, "name")));
	controller_enqueue(c, key);
	free(key);
}

/* An orphan pod: every set in its namespace whose selector matches it may adopt it. */
static void enqueue_matching_sets(controller *c, json_t *pod)
{
	const char *ns = json_path_str(pod, "metadata.namespace");
	json_t **sets;
	size_t n = controller_list(c, controller_kind("apps", "statefulsets"), ns, &sets);
	for (size_t i = 0; i < n; i++) {
		label_selector *sel = label_selector_from_json(json_path(sets[i], "spec.selector"), NULL);
		if (sel && !label_selector_empty(sel) &&
		    label_selector_matches(sel, json_path(pod, "metadata.labels"))) {
			char *key = controller_key_of(sets[i]);
			controller_enqueue(c, key);
			free(key);
		}
		label_selector_free(sel);
	}
	controller_list_free(sets, n);
}

/* k8s: an orphan's update matters to would-be adopters when its labels or its controller
 * reference changed. */
static bool orphan_changed(const cache_event *ev)
{
	bool same_labels = (!ev->labels && !ev->prev_labels) ||
	                   (ev->labels && ev->prev_labels && json_equal(ev->labels, ev->prev_labels));
	if (!same_labels)
		return true;
	if (!controller_prev_may_have_owner(ev))
		return false;
	json_t *old = cache_event_prev_obj(ev);
	return old && controller_owner(old);
}

static void on_pod(controller *c, const kind_desc *d, const cache_event *ev)
{
	UNUSED(d);
	/* The bytes first: most pods have no owner here and no set that could adopt them, and
	 * then cost no parse. */
	json_t *pod = controller_may_have_owner(ev) ? cache_event_obj(ev) : NULL;
	if (pod && controller_owner(pod))
		enqueue_owner_of(c, pod);
	else if ((ev->type == STORE_ADDED || (ev->type == STORE_MODIFIED && orphan_changed(ev))) &&
	         controller_any_in_ns_of(c, controller_kind("apps", "statefulsets"), ev) &&
	         (pod = cache_event_obj(ev)))
		enqueue_matching_sets(c, pod);
	if (controller_prev_may_have_owner(ev)) {
		/* A changed controller reference: the old owner syncs too. */
		json_t *old = cache_event_prev_obj(ev);
		if (old)
			enqueue_owner_of(c, old);
	}
}

const controller_def statefulset_controller = {
	.name = STS_COMPONENT,
	.watches = {{.group = "apps", .resource = "statefulsets"},
	            {.group = "", .resource = "pods", .on_event = on_pod}},
	.reconcile = reconcile,
};

CONTROLLER_REGISTER(statefulset_controller);
