/* deployment.c — the Deployment controller: one sync per Deployment key, as kube's
 * syncDeployment runs it. It claims the ReplicaSets the Deployment's selector matches
 * (adopting orphans, releasing sets that stopped matching), finds or creates the new
 * ReplicaSet (<name>-<pod-template-hash>) and keeps revisions in step, then hands over to a
 * strategy (deployment_rollout.c) and writes status with kube's conditions.
 *
 * Not for: the arithmetic and annotation rules (deployment_util.c), the strategies and
 * proportional scaling (deployment_rollout.c), rollbacks (kubectl undoes client-side by
 * patching the template back), or deleting dependents (the API server's garbage collector).
 *
 * Differences from kube, on purpose: every write is followed by a read of the watch cache
 * (which already holds it) rather than reusing the answer; the revision annotation is
 * written with a metadata patch before the status update, because timon's status
 * subresource keeps metadata as stored.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/selector.h"
#include "apiserver/client.h"
#include "base/json.h"
#include "base/log.h"
#include "base/util.h"
#include "controllers/controller-internal.h"
#include "controllers/deployment-internal.h"
#include "controllers/events.h"

#define COMPONENT "deployment-controller"

/* ---------- writes ---------- */

/* The answer of the last write made through capture(): client calls answer errors at once,
 * so reading these right after the call tells a failed write. */
static int last_code;
static char last_msg[512];

static void capture(void *ud, int code, json_t *obj)
{
	UNUSED(ud);
	last_code = code;
	const char *m = json_string_value(json_object_get(obj, "message"));
	snprintf(last_msg, sizeof last_msg, "%s", m ? m : "");
}

static void write_begin(void)
{
	last_code = 0;
	last_msg[0] = '\0';
}

static bool write_failed(const char *what, const char *name)
{
	if (last_code < 400)
		return false;
	log_debug("deployment-controller: %s %s answered %d: %s", what, name, last_code, last_msg);
	return true;
}

static const kind_desc *rs_kind(void)
{
	return controller_kind("apps", "replicasets");
}

static const kind_desc *deploy_kind(void)
{
	return controller_kind("apps", "deployments");
}

static const char *name_of(json_t *obj)
{
	const char *n = json_path_str(obj, "metadata.name");
	return n ? n : "";
}

static const char *annotation(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(json_path(obj, "metadata.annotations"), key));
}

int dsync_update_rs(dsync *s, size_t i)
{
	_cleanup_free_ char *name = xstrdup(name_of(s->rs[i]));
	write_begin();
	client_update(s->c->srv, s->c->def->name, rs_kind(), s->rs[i], NULL, capture, NULL);
	if (write_failed("update of replica set", name))
		return -1;
	json_t *fresh = controller_get(s->c, rs_kind(), s->ns, name);
	if (fresh) {
		json_decref(s->rs[i]);
		s->rs[i] = fresh;
	}
	return 0;
}

static json_t *get_deployment(dsync *s)
{
	json_t *d = controller_get(s->c, deploy_kind(), s->ns, name_of(s->d));
	if (d && !json_object_get(d, "kind")) {
		json_object_set_new(d, "apiVersion", json_string("apps/v1"));
		json_object_set_new(d, "kind", json_string("Deployment"));
	}
	return d;
}

int dsync_update_status(dsync *s)
{
	_cleanup_free_ char *name = xstrdup(name_of(s->d));
	json_t *cur = get_deployment(s);
	if (!cur)
		return -1;
	const char *rev = annotation(s->d, DEP_ANN_REVISION);
	if (rev && !str_eq(rev, annotation(cur, DEP_ANN_REVISION))) {
		/* k8s: the deployment carries its new RS's revision in an annotation. */
		json_t *patch =
		    json_pack("{s:{s:{s:s}}}", "metadata", "annotations", DEP_ANN_REVISION, rev);
		write_begin();
		client_patch(s->c->srv, s->c->def->name, deploy_kind(), s->ns, name, NULL, NULL,
		             patch, capture, NULL);
		json_decref(patch);
		json_decref(cur);
		if (write_failed("revision annotation of deployment", name))
			return -1;
		cur = get_deployment(s);
		if (!cur)
			return -1;
	}
	json_t *st = json_object_get(s->d, "status");
	if (st)
		json_object_set(cur, "status", st);
	else
		json_object_del(cur, "status");
	write_begin();
	client_update(s->c->srv, s->c->def->name, deploy_kind(), cur, "status", capture, NULL);
	json_decref(cur);
	if (write_failed("status of deployment", name))
		return -1;
	json_t *fresh = get_deployment(s);
	if (fresh) {
		json_decref(s->d);
		s->d = fresh;
	}
	return 0;
}

int dsync_set_rs_scale(dsync *s, size_t i, int n)
{
	json_t *rs = s->rs[i];
	int old = deployment_spec_replicas(rs);
	int desired = deployment_spec_replicas(s->d);
	int max = desired + deployment_max_surge(s->d);
	bool size = old != n;
	if (!size && !deployment_replicas_annotations_need_update(rs, desired, max))
		return 0;
	json_object_set_new(json_obj_child(rs, "spec"), "replicas", json_integer(n));
	deployment_set_replicas_annotations(rs, desired, max);
	if (dsync_update_rs(s, i) < 0)
		return -1;
	if (!size)
		return 0;
	event_record(s->c->srv, COMPONENT, s->d, "Normal", "ScalingReplicaSet",
	             "Scaled %s replica set %s from %d to %d", old < n ? "up" : "down",
	             name_of(s->rs[i]), old, n);
	return 1;
}

int dsync_scale_rs(dsync *s, size_t i, int n)
{
	if (deployment_spec_replicas(s->rs[i]) == n)
		return 0;
	return dsync_set_rs_scale(s, i, n);
}

json_t *dsync_new_rs(dsync *s)
{
	return s->new_rs >= 0 ? s->rs[s->new_rs] : NULL;
}

/* ---------- claiming ReplicaSets ---------- */

static void adopt_or_release(dsync *s, json_t *rs, bool adopt)
{
	json_t *ref;
	if (adopt)
		ref = controller_owner_ref(s->d);
	else
		ref = json_pack("{s:s, s:s}", "$patch", "delete", "uid",
		                json_path_str(s->d, "metadata.uid"));
	json_t *patch = json_pack("{s:{s:[o], s:s}}", "metadata", "ownerReferences", ref, "uid",
	                          json_path_str(rs, "metadata.uid"));
	write_begin();
	client_patch(s->c->srv, s->c->def->name, rs_kind(), s->ns, name_of(rs), NULL,
	             "application/strategic-merge-patch+json", patch, capture, NULL);
	json_decref(patch);
	write_failed(adopt ? "adoption of replica set" : "release of replica set", name_of(rs));
}

/* k8s: getReplicaSetsForDeployment: the sets this deployment controls, after adopting
 * matching orphans and releasing controlled sets whose labels stopped matching. */
static void claim_replica_sets(dsync *s, label_selector *sel)
{
	json_t **all;
	size_t n = controller_list(s->c, rs_kind(), s->ns, &all);
	const char *uid = json_path_str(s->d, "metadata.uid");
	bool deleting = json_path(s->d, "metadata.deletionTimestamp") != NULL;
	s->rs = xcalloc(n ? n : 1, sizeof *s->rs);
	for (size_t i = 0; i < n; i++) {
		json_t *rs = all[i];
		json_t *owner = controller_owner(rs);
		bool match = label_selector_matches(sel, json_path(rs, "metadata.labels"));
		if (owner) {
			if (!str_eq(json_string_value(json_object_get(owner, "uid")), uid))
				continue;
			if (match) {
				s->rs[s->nrs++] = json_incref(rs);
			} else if (!deleting) {
				adopt_or_release(s, rs, false);
			}
			continue;
		}
		if (deleting || !match || json_path(rs, "metadata.deletionTimestamp"))
			continue;
		adopt_or_release(s, rs, true);
		json_t *fresh = controller_get(s->c, rs_kind(), s->ns, name_of(rs));
		json_t *fo = fresh ? controller_owner(fresh) : NULL;
		if (fo && str_eq(json_string_value(json_object_get(fo, "uid")), uid))
			s->rs[s->nrs++] = fresh;
		else
			json_decref(fresh);
	}
	controller_list_free(all, n);
}

/* ---------- the new ReplicaSet ---------- */

static long find_new_rs(dsync *s)
{
	/* k8s: FindNewReplicaSet: the oldest set whose template equals the deployment's. */
	json_t **sorted = xcalloc(s->nrs ? s->nrs : 1, sizeof *sorted);
	memcpy(sorted, s->rs, s->nrs * sizeof *sorted);
	deployment_sort_rs(sorted, s->nrs, RS_BY_CREATION);
	json_t *tmpl = json_path(s->d, "spec.template");
	long found = -1;
	for (size_t i = 0; i < s->nrs && found < 0; i++) {
		if (!deployment_template_equal(json_path(sorted[i], "spec.template"), tmpl))
			continue;
		for (size_t j = 0; j < s->nrs; j++)
			if (s->rs[j] == sorted[i])
				found = (long)j;
	}
	free(sorted);
	return found;
}

static int64_t max_old_revision(dsync *s, long new_idx)
{
	int64_t max = 0;
	for (size_t i = 0; i < s->nrs; i++) {
		if ((long)i == new_idx)
			continue;
		int64_t r = deployment_revision(s->rs[i]);
		if (r > max)
			max = r;
	}
	return max;
}

static json_int_t min_ready(json_t *obj)
{
	return json_integer_value(json_path(obj, "spec.minReadySeconds"));
}

static void set_progressing(dsync *s, const char *status, const char *reason, const char *fmt,
                            const char *arg)
{
	char msg[512];
	snprintf(msg, sizeof msg, fmt, arg);
	deployment_set_condition(
	    json_obj_child(s->d, "status"),
	    deployment_new_condition("Progressing", status, reason, msg, s->now));
}

static int sync_existing_new_rs(dsync *s, long idx, const char *new_revision)
{
	json_t *rs = s->rs[idx];
	s->new_rs = idx;
	bool ann = deployment_set_new_rs_annotations(s->d, rs, new_revision, true,
	                                             DEP_MAX_REV_HISTORY_CHARS);
	if (ann || min_ready(rs) != min_ready(s->d)) {
		json_t *spec = json_obj_child(rs, "spec");
		if (min_ready(s->d))
			json_object_set_new(spec, "minReadySeconds", json_integer(min_ready(s->d)));
		else
			json_object_del(spec, "minReadySeconds");
		/* k8s: the deployment's revision follows on the next sync, which this write
		 * triggers. */
		return dsync_update_rs(s, (size_t)idx);
	}
	const char *rev = annotation(rs, DEP_ANN_REVISION);
	bool needs = rev && deployment_set_revision(s->d, rev);
	if (deployment_has_progress_deadline(s->d) &&
	    !deployment_condition(json_object_get(s->d, "status"), "Progressing")) {
		set_progressing(s, "True", "FoundNewReplicaSet", "Found new replica set \"%s\"",
		                name_of(rs));
		needs = true;
	}
	return needs ? dsync_update_status(s) : 0;
}

static json_t *new_rs_object(dsync *s, const char *hash)
{
	json_t *tmpl = json_clone(json_path(s->d, "spec.template"));
	json_t *tmeta = json_obj_child(tmpl, "metadata");
	json_object_set_new(json_obj_child(tmeta, "labels"), DEP_HASH_LABEL, json_string(hash));
	json_t *sel = json_clone(json_path(s->d, "spec.selector"));
	if (!json_is_object(sel)) {
		json_decref(sel);
		sel = json_object();
	}
	json_object_set_new(json_obj_child(sel, "matchLabels"), DEP_HASH_LABEL, json_string(hash));
	char *name = xasprintf("%s-%s", name_of(s->d), hash);
	json_t *rs =
	    json_pack("{s:s, s:s, s:{s:s, s:s, s:O, s:[o]}, s:{s:i}}", "apiVersion", "apps/v1",
	              "kind", "ReplicaSet", "metadata", "name", name, "namespace", s->ns, "labels",
	              json_object_get(tmeta, "labels"), "ownerReferences",
	              controller_owner_ref(s->d), "spec", "replicas", 0);
	free(name);
	json_t *spec = json_object_get(rs, "spec");
	if (min_ready(s->d))
		json_object_set_new(spec, "minReadySeconds", json_integer(min_ready(s->d)));
	json_object_set_new(spec, "selector", sel);
	json_object_set_new(spec, "template", tmpl);
	return rs;
}

static void bump_collision_count(dsync *s)
{
	json_t *st = json_obj_child(s->d, "status");
	json_int_t cc = json_integer_value(json_object_get(st, "collisionCount"));
	json_object_set_new(st, "collisionCount", json_integer(cc + 1));
	dsync_update_status(s);
}

int dsync_get_new_rs(dsync *s, bool create)
{
	long idx = find_new_rs(s);
	char new_revision[32];
	snprintf(new_revision, sizeof new_revision, "%lld",
	         (long long)(max_old_revision(s, idx) + 1));
	if (idx >= 0)
		return sync_existing_new_rs(s, idx, new_revision);
	s->new_rs = -1;
	if (!create)
		return 0;

	_cleanup_free_ char *hash = deployment_template_hash(
	    json_path(s->d, "spec.template"), json_path(s->d, "status.collisionCount"));
	json_t *rs = new_rs_object(s, hash);
	_cleanup_free_ char *name = xstrdup(name_of(rs));
	json_t **all = xcalloc(s->nrs + 1, sizeof *all);
	memcpy(all, s->rs, s->nrs * sizeof *all);
	all[s->nrs] = rs;
	int count = deployment_new_rs_replicas(s->d, all, s->nrs + 1, rs);
	free(all);
	json_object_set_new(json_object_get(rs, "spec"), "replicas", json_integer(count));
	deployment_set_new_rs_annotations(s->d, rs, new_revision, false, DEP_MAX_REV_HISTORY_CHARS);
	write_begin();
	client_create(s->c->srv, s->c->def->name, rs_kind(), s->ns, rs, capture, NULL);
	json_decref(rs);
	bool exists = false;
	if (last_code == 409) {
		/* k8s: a set of that name that is ours with our template is the new RS already;
		 * anything else is a hash collision, resolved by bumping collisionCount. */
		exists = true;
		json_t *cur = controller_get(s->c, rs_kind(), s->ns, name);
		json_t *owner = cur ? controller_owner(cur) : NULL;
		bool ours = owner &&
		            str_eq(json_string_value(json_object_get(owner, "uid")),
		                   json_path_str(s->d, "metadata.uid")) &&
		            deployment_template_equal(json_path(s->d, "spec.template"),
		                                      json_path(cur, "spec.template"));
		json_decref(cur);
		if (!ours) {
			bump_collision_count(s);
			return -1;
		}
	} else if (last_code >= 400) {
		char msg[700];
		snprintf(msg, sizeof msg, "Failed to create new replica set \"%s\": %s", name,
		         last_msg);
		if (deployment_has_progress_deadline(s->d)) {
			deployment_set_condition(json_obj_child(s->d, "status"),
			                         deployment_new_condition("Progressing", "False",
			                                                  "ReplicaSetCreateError",
			                                                  msg, s->now));
			dsync_update_status(s);
		}
		event_record(s->c->srv, COMPONENT, s->d, "Warning", "ReplicaSetCreateError", "%s",
		             msg);
		return -1;
	}
	json_t *created = controller_get(s->c, rs_kind(), s->ns, name);
	if (!created)
		return -1;
	s->rs = xrealloc(s->rs, (s->nrs + 1) * sizeof *s->rs);
	s->rs[s->nrs] = created;
	s->new_rs = (long)s->nrs++;
	if (!exists && count > 0)
		event_record(s->c->srv, COMPONENT, s->d, "Normal", "ScalingReplicaSet",
		             "Scaled up replica set %s from 0 to %d", name, count);
	bool needs = deployment_set_revision(s->d, new_revision);
	if (!exists && deployment_has_progress_deadline(s->d)) {
		set_progressing(s, "True", "NewReplicaSetCreated", "Created new replica set \"%s\"",
		                name);
		needs = true;
	}
	return needs ? dsync_update_status(s) : 0;
}

/* ---------- status ---------- */

static bool status_equal(json_t *d, json_t *st)
{
	json_t *cur = json_object_get(d, "status");
	if (!cur)
		return json_object_size(st) == 0;
	return json_equal(cur, st);
}

int dsync_status(dsync *s)
{
	json_t *st = deployment_calculate_status(s->d, s->rs, s->nrs, dsync_new_rs(s), s->now);
	if (status_equal(s->d, st)) {
		json_decref(st);
		return 0;
	}
	json_object_set_new(s->d, "status", st);
	return dsync_update_status(s);
}

/* k8s: requeueStuckDeployment: look again once the progress deadline may have passed. */
static void requeue_stuck(dsync *s, json_t *st)
{
	json_t *cur = deployment_condition(json_object_get(s->d, "status"), "Progressing");
	if (!deployment_has_progress_deadline(s->d) || !cur)
		return;
	if (deployment_complete(s->d, st) ||
	    str_eq(json_string_value(json_object_get(cur, "reason")), "ProgressDeadlineExceeded"))
		return;
	int64_t from;
	const char *t = json_string_value(json_object_get(cur, "lastUpdateTime"));
	if (!t || time_parse_rfc3339(t, &from) < 0)
		return;
	int64_t deadline = json_integer_value(json_path(s->d, "spec.progressDeadlineSeconds"));
	int64_t after_ms = (from + deadline * 1000000000LL - s->now) / 1000000;
	if (after_ms < 0)
		after_ms = 0;
	controller_enqueue_after(s->c, s->key, (uint64_t)after_ms + 1000);
}

static json_t *replica_failure(json_t *rs)
{
	return rs ? deployment_condition(json_object_get(rs, "status"), "ReplicaFailure") : NULL;
}

int dsync_rollout_status(dsync *s)
{
	json_t *new_rs = dsync_new_rs(s);
	json_t *st = deployment_calculate_status(s->d, s->rs, s->nrs, new_rs, s->now);
	bool deadline = deployment_has_progress_deadline(s->d);
	if (!deadline)
		deployment_remove_condition(st, "Progressing");
	json_t *cur = deployment_condition(json_object_get(s->d, "status"), "Progressing");
	const char *cur_reason = cur ? json_string_value(json_object_get(cur, "reason")) : NULL;
	bool done = json_integer_value(json_object_get(st, "replicas")) ==
	                json_integer_value(json_object_get(st, "updatedReplicas")) &&
	            str_eq(cur_reason, "NewReplicaSetAvailable");
	char msg[512];
	const char *what = new_rs ? "ReplicaSet" : "Deployment";
	const char *who = new_rs ? name_of(new_rs) : name_of(s->d);
	if (deadline && !done) {
		if (deployment_complete(s->d, st)) {
			snprintf(msg, sizeof msg, "%s \"%s\" has successfully progressed.", what,
			         who);
			deployment_set_condition(
			    st, deployment_new_condition("Progressing", "True",
			                                 "NewReplicaSetAvailable", msg, s->now));
		} else if (deployment_progressing(s->d, st)) {
			/* k8s: progress refreshes lastUpdateTime even when the reason stays. */
			snprintf(msg, sizeof msg, "%s \"%s\" is progressing.", what, who);
			json_t *c = deployment_new_condition("Progressing", "True",
			                                     "ReplicaSetUpdated", msg, s->now);
			if (cur) {
				if (str_eq(json_string_value(json_object_get(cur, "status")),
				           "True"))
					json_object_set(c, "lastTransitionTime",
					                json_object_get(cur, "lastTransitionTime"));
				deployment_remove_condition(st, "Progressing");
			}
			deployment_set_condition(st, c);
		} else if (deployment_timed_out(s->d, st, s->now)) {
			snprintf(msg, sizeof msg, "%s \"%s\" has timed out progressing.", what,
			         who);
			deployment_set_condition(
			    st, deployment_new_condition("Progressing", "False",
			                                 "ProgressDeadlineExceeded", msg, s->now));
		}
	}
	/* k8s (getReplicaFailures): the new ReplicaSet's ReplicaFailure, else an old one's, as
	 * the Deployment's (its lastUpdateTime the set's transition); none removes it. */
	json_t *failure = replica_failure(new_rs);
	for (size_t i = 0; !failure && i < s->nrs; i++)
		if (s->rs[i] != new_rs)
			failure = replica_failure(s->rs[i]);
	if (failure) {
		json_t *c = json_pack("{s:s, s:O, s:O, s:O, s:O, s:O}", "type", "ReplicaFailure",
		                      "status", json_object_get(failure, "status"), "lastUpdateTime",
		                      json_object_get(failure, "lastTransitionTime"),
		                      "lastTransitionTime",
		                      json_object_get(failure, "lastTransitionTime"), "reason",
		                      json_object_get(failure, "reason"), "message",
		                      json_object_get(failure, "message"));
		if (c)
			deployment_set_condition(st, c);
	} else {
		deployment_remove_condition(st, "ReplicaFailure");
	}
	if (status_equal(s->d, st)) {
		requeue_stuck(s, st);
		json_decref(st);
		return 0;
	}
	json_object_set_new(s->d, "status", st);
	return dsync_update_status(s);
}

/* k8s: checkPausedConditions: Progressing Unknown while paused, so a long pause is not
 * taken for a stalled rollout. */
static int check_paused(dsync *s)
{
	if (!deployment_has_progress_deadline(s->d))
		return 0;
	json_t *cur = deployment_condition(json_object_get(s->d, "status"), "Progressing");
	const char *reason = cur ? json_string_value(json_object_get(cur, "reason")) : NULL;
	if (str_eq(reason, "ProgressDeadlineExceeded"))
		return 0;
	bool paused = json_is_true(json_path(s->d, "spec.paused"));
	bool has = str_eq(reason, "DeploymentPaused");
	if (paused && !has)
		deployment_set_condition(json_obj_child(s->d, "status"),
		                         deployment_new_condition("Progressing", "Unknown",
		                                                  "DeploymentPaused",
		                                                  "Deployment is paused", s->now));
	else if (!paused && has)
		deployment_set_condition(json_obj_child(s->d, "status"),
		                         deployment_new_condition("Progressing", "Unknown",
		                                                  "DeploymentResumed",
		                                                  "Deployment is resumed", s->now));
	else
		return 0;
	return dsync_update_status(s);
}

/* ---------- reconcile ---------- */

static bool selects_everything(json_t *sel)
{
	size_t n = 0;
	const char *k;
	json_t *v;
	json_object_foreach(sel, k, v)
	{
		if ((json_is_object(v) && json_object_size(v)) ||
		    (json_is_array(v) && json_array_size(v)))
			n++;
	}
	return n == 0;
}

static int reconcile(controller *c, const char *key)
{
	dsync s = {.c = c, .new_rs = -1, .now = time_now_ns()};
	char *name;
	controller_split_key(key, &s.ns, &name);
	json_t *d = controller_get(c, deploy_kind(), s.ns, name);
	free(name);
	if (!d) {
		free(s.ns);
		return RECONCILE_DONE;
	}
	if (!json_object_get(d, "kind")) {
		json_object_set_new(d, "apiVersion", json_string("apps/v1"));
		json_object_set_new(d, "kind", json_string("Deployment"));
	}
	s.d = d;
	s.key = xstrdup(key);
	int ret = RECONCILE_DONE;
	json_t *selector = json_path(s.d, "spec.selector");
	label_selector *sel = NULL;
	if (!json_is_object(selector) || selects_everything(selector)) {
		/* k8s: an empty selector would select every pod; the deployment is left alone. */
		event_record(
		    c->srv, COMPONENT, s.d, "Warning", "SelectingAll",
		    "This deployment is selecting all pods. A non-empty selector is required.");
		json_int_t gen = json_integer_value(json_path(s.d, "metadata.generation"));
		json_t *st = json_obj_child(s.d, "status");
		if (json_integer_value(json_object_get(st, "observedGeneration")) < gen) {
			json_object_set_new(st, "observedGeneration", json_integer(gen));
			dsync_update_status(&s);
		}
		goto out;
	}
	sel = label_selector_from_json(selector, NULL);
	if (!sel)
		goto out;
	claim_replica_sets(&s, sel);
	int r;
	if (json_path(s.d, "metadata.deletionTimestamp")) {
		/* k8s: a deployment being deleted only has its status kept current. */
		r = dsync_get_new_rs(&s, false);
		if (r == 0)
			r = dsync_status(&s);
		ret = r < 0 ? RECONCILE_RETRY : RECONCILE_DONE;
		goto out;
	}
	if (check_paused(&s) < 0) {
		ret = RECONCILE_RETRY;
		goto out;
	}
	if (json_is_true(json_path(s.d, "spec.paused")) || deployment_is_scaling_event(&s)) {
		ret = deployment_sync_scale(&s);
		goto out;
	}
	if (str_eq(json_path_str(s.d, "spec.strategy.type"), "Recreate"))
		ret = deployment_rollout_recreate(&s);
	else
		ret = deployment_rollout_rolling(&s);
out:
	label_selector_free(sel);
	controller_list_free(s.rs, s.nrs);
	json_decref(s.d);
	free(s.ns);
	free(s.key);
	return ret;
}

/* ---------- events ---------- */

static void enqueue_deployment(controller *c, const char *ns, const char *name)
{
	char *key = ns ? xasprintf("%s/%s", ns, name) : xstrdup(name);
	controller_enqueue(c, key);
	free(key);
}

/* A ReplicaSet's controlling Deployment, or for an orphan every Deployment in its namespace
 * whose selector matches it (one of them may adopt it). */
static void enqueue_for_rs(controller *c, json_t *rs, bool deleted)
{
	const char *ns = json_path_str(rs, "metadata.namespace");
	json_t *owner = controller_owner(rs);
	if (owner) {
		if (str_eq(json_string_value(json_object_get(owner, "kind")), "Deployment"))
			enqueue_deployment(c, ns,
			                   json_string_value(json_object_get(owner, "name")));
		return;
	}
	if (deleted)
		return;
	json_t **ds;
	size_t n = controller_list(c, deploy_kind(), ns, &ds);
	for (size_t i = 0; i < n; i++) {
		label_selector *sel =
		    label_selector_from_json(json_path(ds[i], "spec.selector"), NULL);
		if (sel && !label_selector_empty(sel) &&
		    label_selector_matches(sel, json_path(rs, "metadata.labels")))
			enqueue_deployment(c, ns, name_of(ds[i]));
		label_selector_free(sel);
	}
	controller_list_free(ds, n);
}

static void on_rs(controller *c, const kind_desc *d, const cache_event *ev)
{
	UNUSED(d);
	json_t *rs = cache_event_obj(ev);
	if (rs)
		enqueue_for_rs(c, rs, ev->type == STORE_DELETED);
}

static void on_pod(controller *c, const kind_desc *d, const cache_event *ev)
{
	UNUSED(d);
	/* k8s: pods matter to a deployment only when they go away (Recreate waits for the old
	 * ones); their readiness reaches it through the ReplicaSets' status. */
	if (ev->type != STORE_DELETED)
		return;
	json_t *pod = cache_event_obj(ev);
	json_t *owner = pod ? controller_owner(pod) : NULL;
	if (owner && str_eq(json_string_value(json_object_get(owner, "kind")), "ReplicaSet")) {
		json_t *rs = controller_get(c, rs_kind(), json_path_str(pod, "metadata.namespace"),
		                            json_string_value(json_object_get(owner, "name")));
		if (rs)
			enqueue_for_rs(c, rs, true);
		json_decref(rs);
	}
}

const controller_def deployment_controller = {
    .name = COMPONENT,
    .watches = {{.group = "apps", .resource = "deployments"},
                {.group = "apps", .resource = "replicasets", .on_event = on_rs},
                {.group = "", .resource = "pods", .on_event = on_pod}},
    .reconcile = reconcile,
};
