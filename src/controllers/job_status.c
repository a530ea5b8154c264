/* job_status.c — a Job's status: counting finished pods through
 * status.uncountedTerminatedPods and the batch.kubernetes.io/job-tracking finalizer,
 * completed and failed indexes, conditions (the interim SuccessCriteriaMet/FailureTarget,
 * then Complete/Failed once no pod is left to count or terminating), and the events of a
 * finished Job.
 *
 * k8s: the protocol of kube 1.32's job controller: a finished pod still holding the
 * finalizer is first recorded by uid in uncountedTerminatedPods (status write), then its
 * finalizer is removed, then the uid moves into succeeded/failed (second write). A crash
 * between the steps neither loses a pod (the finalizer keeps it) nor counts it twice (the
 * uid is recorded). Indexed Jobs count succeeded pods by index instead of uid.
 * Not for: deciding the terminal condition (job.c) or pod writes (job_pods.c).
 */
#include <stdlib.h>
#include <string.h>

#include "apiserver/client.h"
#include "base/json.h"
#include "base/log.h"
#include "base/util.h"
#include "controllers/events.h"
#include "controllers/job-internal.h"

json_t *job_new_condition(const char *type, const char *status, const char *reason,
                          const char *message, int64_t now_ns)
{
	char ts[32];
	time_rfc3339(now_ns, false, ts);
	json_t *c = json_pack("{s:s, s:s, s:s, s:s}", "type", type, "status", status,
	                      "lastProbeTime", ts, "lastTransitionTime", ts);
	/* k8s: reason and message are omitempty. */
	if (reason && *reason)
		json_object_set_new(c, "reason", json_string(reason));
	if (message && *message)
		json_object_set_new(c, "message", json_string(message));
	return c;
}

static const char *cstr(json_t *c, const char *k)
{
	const char *v = json_string_value(json_object_get(c, k));
	return v ? v : "";
}

bool job_ensure_condition(json_t *job, const char *type, const char *status, const char *reason,
                          const char *message, int64_t now_ns)
{
	json_t *st = json_obj_child(job, "status");
	json_t *conds = json_object_get(st, "conditions");
	size_t i;
	json_t *c;
	json_array_foreach(conds, i, c)
	{
		if (!str_eq(cstr(c, "type"), type))
			continue;
		if (str_eq(cstr(c, "status"), status) &&
		    str_eq(cstr(c, "reason"), reason ? reason : "") &&
		    str_eq(cstr(c, "message"), message ? message : ""))
			return false;
		json_array_set_new(conds, i,
		                   job_new_condition(type, status, reason, message, now_ns));
		return true;
	}
	/* k8s: a condition that does not exist is not added as False. */
	if (str_eq(status, "False"))
		return false;
	if (!json_is_array(conds)) {
		conds = json_array();
		json_object_set_new(st, "conditions", conds);
	}
	json_array_append_new(conds, job_new_condition(type, status, reason, message, now_ns));
	return true;
}

bool job_uid_in(json_t *arr, const char *uid)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
	{
		if (str_eq(json_string_value(v), uid))
			return true;
	}
	return false;
}

/* kube's field order and omitempty rules for JobStatus. */
static json_t *normalized(json_t *st)
{
	json_t *out = json_object();
	json_t *v;
	if (json_array_size(v = json_object_get(st, "conditions")))
		json_object_set(out, "conditions", v);
	if (json_is_string(v = json_object_get(st, "startTime")))
		json_object_set(out, "startTime", v);
	if (json_is_string(v = json_object_get(st, "completionTime")))
		json_object_set(out, "completionTime", v);
	const char *counters[] = {"active", "succeeded", "failed"};
	for (size_t i = 0; i < ARRAY_SIZE(counters); i++)
		if (json_integer_value(v = json_object_get(st, counters[i])) != 0)
			json_object_set(out, counters[i], v);
	if (json_is_integer(v = json_object_get(st, "terminating")))
		json_object_set(out, "terminating", v);
	if (json_is_string(v = json_object_get(st, "completedIndexes")) && *json_string_value(v))
		json_object_set(out, "completedIndexes", v);
	if (json_is_string(v = json_object_get(st, "failedIndexes")))
		json_object_set(out, "failedIndexes", v);
	json_t *unc = json_object_get(st, "uncountedTerminatedPods");
	json_t *u = json_object();
	if (json_array_size(v = json_object_get(unc, "succeeded")))
		json_object_set(u, "succeeded", v);
	if (json_array_size(v = json_object_get(unc, "failed")))
		json_object_set(u, "failed", v);
	json_object_set_new(out, "uncountedTerminatedPods", u);
	if (json_is_integer(v = json_object_get(st, "ready")))
		json_object_set(out, "ready", v);
	return out;
}

int job_write_status(controller *c, json_t *job)
{
	const kind_desc *jk = controller_kind("batch", "jobs");
	const char *ns = json_path_str(job, "metadata.namespace");
	const char *name = json_path_str(job, "metadata.name");
	json_t *cur = controller_get(c, jk, ns, name);
	if (!cur ||
	    !str_eq(json_path_str(cur, "metadata.uid"), json_path_str(job, "metadata.uid"))) {
		json_decref(cur);
		return -1;
	}
	json_t *st = normalized(json_object_get(job, "status"));
	json_object_set_new(job, "status", st);
	if (json_equal(json_object_get(cur, "status"), st)) {
		json_decref(cur);
		return 0;
	}
	json_object_set(json_obj_child(job, "metadata"), "resourceVersion",
	                json_path(cur, "metadata.resourceVersion"));
	json_decref(cur);
	client_update(c->srv, c->def->name, jk, job, "status", NULL, NULL);
	cur = controller_get(c, jk, ns, name);
	int ok = cur && json_equal(json_object_get(cur, "status"), st) ? 0 : -1;
	if (cur)
		json_object_set(json_obj_child(job, "metadata"), "resourceVersion",
		                json_path(cur, "metadata.resourceVersion"));
	json_decref(cur);
	if (ok < 0)
		log_warn("job-controller: status of job %s/%s was not written", ns, name);
	return ok;
}

/* Moves uids of uncountedTerminatedPods whose pods no longer hold the finalizer into the
 * counters. Returns true when something moved. */
static bool count_released(job_sync *s)
{
	json_t *unc = json_object_get(s->status, "uncountedTerminatedPods");
	const char *lists[] = {"succeeded", "failed"};
	bool changed = false;
	for (size_t l = 0; l < 2; l++) {
		json_t *arr = json_object_get(unc, lists[l]);
		for (size_t i = 0; i < json_array_size(arr);) {
			const char *uid = json_string_value(json_array_get(arr, i));
			bool held = false;
			for (size_t k = 0; k < s->npods && !held; k++)
				held = str_eq(json_path_str(s->pods[k], "metadata.uid"), uid) &&
				       job_pod_has_finalizer(s->pods[k]);
			if (held) {
				i++;
				continue;
			}
			json_int_t n = json_integer_value(json_object_get(s->status, lists[l]));
			json_object_set_new(s->status, lists[l], json_integer(n + 1));
			json_array_remove(arr, i);
			changed = true;
		}
	}
	return changed;
}

static json_t *uncounted_list(job_sync *s, const char *which)
{
	json_t *unc = json_obj_child(s->status, "uncountedTerminatedPods");
	json_t *arr = json_object_get(unc, which);
	if (!json_is_array(arr)) {
		arr = json_array();
		json_object_set_new(unc, which, arr);
	}
	return arr;
}

/* Replaces the stored pod copy with the cache's after its finalizer went. */
static void refresh_pod(job_sync *s, size_t k)
{
	json_t *now = controller_get(s->c, controller_kind("", "pods"),
	                             json_path_str(s->pods[k], "metadata.namespace"),
	                             json_path_str(s->pods[k], "metadata.name"));
	if (!now) {
		/* gone: keep the uid but drop the finalizer from our copy */
		json_object_del(json_obj_child(s->pods[k], "metadata"), "finalizers");
		return;
	}
	json_decref(s->pods[k]);
	s->pods[k] = now;
}

/* k8s: enactJobFinished: the terminal condition waits until every finished pod is
 * counted and no pod is terminating. */
static bool enact_finished(job_sync *s)
{
	if (!s->finished)
		return false;
	json_t *unc = json_object_get(s->status, "uncountedTerminatedPods");
	if (json_array_size(json_object_get(unc, "succeeded")) +
	        json_array_size(json_object_get(unc, "failed")) >
	    0)
		return false;
	if (s->terminating > 0)
		return false;
	const char *type = cstr(s->finished, "type");
	job_ensure_condition(s->job, type, "True", cstr(s->finished, "reason"),
	                     cstr(s->finished, "message"), s->now_ns);
	if (str_eq(type, "Complete")) {
		json_t *c = job_condition(s->job, "Complete");
		json_object_set(s->status, "completionTime",
		                json_object_get(c, "lastTransitionTime"));
	}
	return true;
}

static void record_finished(job_sync *s)
{
	apiserver *srv = s->c->srv;
	const char *type = cstr(s->finished, "type");
	if (str_eq(type, "Complete")) {
		if (s->completions >= 0 &&
		    json_integer_value(json_object_get(s->status, "succeeded")) > s->completions)
			event_record(
			    srv, JOB_CONTROLLER_NAME, s->job, "Warning", "TooManySucceededPods",
			    "Too many succeeded pods running after completion count reached");
		event_record(srv, JOB_CONTROLLER_NAME, s->job, "Normal", "Completed",
		             "Job completed");
	} else {
		event_record(srv, JOB_CONTROLLER_NAME, s->job, "Warning",
		             cstr(s->finished, "reason"), "%s", cstr(s->finished, "message"));
	}
}

/* Swaps s->finished for a condition of another type with the same reason and message. */
static void finished_as(job_sync *s, const char *type)
{
	json_t *next = job_new_condition(type, "True", cstr(s->finished, "reason"),
	                                 cstr(s->finished, "message"), s->now_ns);
	json_decref(s->finished);
	s->finished = next;
}

int job_track_status(job_sync *s, bool needs_flush)
{
	json_t *policy = json_path(s->job, "spec.podFailurePolicy");
	bool deleting = json_path(s->job, "metadata.deletionTimestamp") != NULL;
	bool fail_finish = s->finished && !str_eq(cstr(s->finished, "type"), "SuccessCriteriaMet");
	json_t *succ_uids = uncounted_list(s, "succeeded");
	json_t *fail_uids = uncounted_list(s, "failed");
	if (count_released(s))
		needs_flush = true;
	size_t *rm = xcalloc(s->npods ? s->npods : 1, sizeof *rm);
	size_t nrm = 0;
	int new_indexes = 0;
	bool reached_max = false;
	for (size_t k = 0; k < s->npods; k++) {
		json_t *p = s->pods[k];
		if (!job_pod_has_finalizer(p))
			continue;
		const char *uid = json_path_str(p, "metadata.uid");
		const char *phase = json_path_str(p, "status.phase");
		bool failed = job_pod_failed(s->job, p);
		/* k8s: canRemoveFinalizer: the Job is going away or finishing, or the pod is
		 * done. */
		if (!deleting && !s->finished && !str_eq(phase, "Succeeded") && !failed)
			continue;
		rm[nrm++] = k;
		int ix = job_pod_index(p);
		if (str_eq(phase, "Succeeded") && !job_uid_in(fail_uids, uid)) {
			if (s->indexed) {
				if (ix >= 0 && ix < s->completions &&
				    !job_indexes_has(&s->prev_succeeded, ix)) {
					job_indexes_add(&s->succeeded_ix, ix);
					new_indexes++;
					needs_flush = true;
				}
			} else if (!job_uid_in(succ_uids, uid)) {
				json_array_append_new(succ_uids, json_string(uid));
				needs_flush = true;
			}
		} else if (failed || fail_finish) {
			/* k8s: once the Job is failing, every unfinished pod counts as failed. */
			if (!job_uid_in(fail_uids, uid) &&
			    (!s->indexed || (ix >= 0 && ix < s->completions))) {
				if (!policy || job_pfp_counts(job_pfp_match(policy, p, NULL))) {
					json_array_append_new(fail_uids, json_string(uid));
					needs_flush = true;
				}
			}
		}
		if ((size_t)new_indexes + json_array_size(succ_uids) + json_array_size(fail_uids) >=
		    JOB_MAX_UNCOUNTED) {
			reached_max = true;
			break;
		}
	}
	if (s->indexed) {
		_cleanup_free_ char *done = job_indexes_string(&s->succeeded_ix);
		if (!str_eq(done, cstr(s->status, "completedIndexes")))
			needs_flush = true;
		json_object_set_new(s->status, "succeeded",
		                    json_integer(job_indexes_total(&s->succeeded_ix)));
		json_object_set_new(s->status, "completedIndexes", json_string(done));
		if (s->failed_ix) {
			_cleanup_free_ char *fx = job_indexes_string(s->failed_ix);
			if (!str_eq(fx, json_string_value(
			                    json_object_get(s->status, "failedIndexes")))) {
				json_object_set_new(s->status, "failedIndexes", json_string(fx));
				needs_flush = true;
			}
		}
	}
	/* The interim condition goes out with the first write; the final one is prepared. */
	if (s->finished && str_eq(cstr(s->finished, "type"), "FailureTarget")) {
		job_ensure_condition(s->job, "FailureTarget", "True", cstr(s->finished, "reason"),
		                     cstr(s->finished, "message"), s->now_ns);
		needs_flush = true;
		finished_as(s, "Failed");
	}
	if (s->finished && str_eq(cstr(s->finished, "type"), "SuccessCriteriaMet")) {
		if (job_ensure_condition(s->job, "SuccessCriteriaMet", "True",
		                         cstr(s->finished, "reason"), cstr(s->finished, "message"),
		                         s->now_ns))
			needs_flush = true;
		finished_as(s, "Complete");
	}
	int rc = 0;
	if (needs_flush) {
		if (job_write_status(s->c, s->job) < 0) {
			free(rm);
			return -1;
		}
		s->status = json_object_get(s->job, "status");
		needs_flush = false;
	}
	s->flushed = true;
	for (size_t r = 0; r < nrm; r++) {
		json_t *p = s->pods[rm[r]];
		if (job_remove_finalizer(s->c, json_path_str(p, "metadata.namespace"),
		                         json_path_str(p, "metadata.name")))
			refresh_pod(s, rm[r]);
		else
			rc = -1;
	}
	free(rm);
	if (count_released(s))
		needs_flush = true;
	bool finished = !reached_max && enact_finished(s);
	if (needs_flush || finished) {
		if (job_write_status(s->c, s->job) < 0)
			return -1;
		s->status = json_object_get(s->job, "status");
	}
	if (finished)
		record_finished(s);
	return reached_max ? -1 : rc;
}
