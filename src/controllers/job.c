/* job.c — the Job controller (kube 1.32's job-controller): runs pods until
 * spec.completions succeed (or, without completions, until one succeeds and the rest
 * finish), at most spec.parallelism at a time; Indexed Jobs run one successful pod per
 * completion index. Failed pods count against spec.backoffLimit (or per index against
 * backoffLimitPerIndex), classified by spec.podFailurePolicy, and pods are re-created
 * after an exponential back-off; spec.activeDeadlineSeconds bounds the run; spec.suspend
 * deletes the active pods. Finished pods are counted with the job-tracking finalizer
 * (job_status.c).
 *
 * One sync per key: claim the pods, decide whether the Job has reached a terminal state
 * (success criteria, or a failure target: pod failure policy, back-off limit, deadline,
 * failed indexes), otherwise create or delete pods, then count and write status. Keys are
 * Jobs ("ns/name") and orphaned pods that still carry the finalizer ("!ns/name").
 * Not for: the pod template's defaults and the generated selector (api/defaults*.c),
 * deleting finished Jobs (job_ttl.c), or CronJobs (cronjob.c).
 */
#include <stdlib.h>
#include <string.h>

#include "base/hmap.h"
#include "base/json.h"
#include "base/log.h"
#include "base/util.h"
#include "controllers/controller-internal.h"
#include "controllers/events.h"
#include "controllers/job-internal.h"
#include "controllers/podutil.h"

#define NS_PER_MS 1000000LL
#define NS_PER_S  1000000000LL
/* k8s: a delayed sync is never sooner than the job controller's 1 s batching period. */
#define MIN_DELAY_MS 1000

typedef struct backoff_entry {
	char *key;
	job_backoff b;
} backoff_entry;

typedef struct job_state {
	hmap backoff; /* job key -> backoff_entry */
} job_state;

/* ---------- back-off records ---------- */

job_backoff *job_backoff_of(controller *c, const char *key)
{
	job_state *st = c->state;
	backoff_entry *e = hmap_get(&st->backoff, key);
	if (!e) {
		e = xcalloc(1, sizeof *e);
		e->key = xstrdup(key);
		hmap_put(&st->backoff, e->key, e);
	}
	return &e->b;
}

static void backoff_forget(controller *c, const char *key)
{
	job_state *st = c->state;
	backoff_entry *e = hmap_del(&st->backoff, key);
	if (e) {
		free(e->key);
		free(e);
	}
}

static int cmp_finish(const void *a, const void *b)
{
	int64_t x = job_pod_finish_ns(*(json_t *const *)a),
	        y = job_pod_finish_ns(*(json_t *const *)b);
	return x < y ? -1 : x > y;
}

/* k8s: newBackoffRecord: failures since the last success, and when the last one ended. */
static job_backoff next_backoff(job_backoff old, json_t **succ, size_t nsucc, json_t **fail,
                                size_t nfail)
{
	qsort(succ, nsucc, sizeof *succ, cmp_finish);
	qsort(fail, nfail, sizeof *fail, cmp_finish);
	job_backoff b = old;
	if (nsucc == 0) {
		if (nfail) {
			b.failures += (int)nfail;
			b.last_failure = job_pod_finish_ns(fail[nfail - 1]);
		}
		return b;
	}
	b.failures = 0;
	b.last_failure = 0;
	int64_t last_success = job_pod_finish_ns(succ[nsucc - 1]);
	for (size_t i = nfail; i-- > 0;) {
		int64_t t = job_pod_finish_ns(fail[i]);
		if (t <= last_success)
			break;
		if (!b.last_failure)
			b.last_failure = t;
		b.failures++;
	}
	return b;
}

/* ---------- helpers ---------- */

static int64_t time_of(json_t *v)
{
	int64_t t;
	const char *s = json_string_value(v);
	return s && time_parse_rfc3339(s, &t) == 0 ? t : 0;
}

static bool spec_true(json_t *job, const char *field)
{
	return json_is_true(json_object_get(json_object_get(job, "spec"), field));
}

static json_int_t spec_int(json_t *job, const char *field, json_int_t dflt)
{
	json_t *v = json_object_get(json_object_get(job, "spec"), field);
	return json_is_integer(v) ? json_integer_value(v) : dflt;
}

static void enqueue_in(controller *c, const char *key, int64_t ns)
{
	int64_t ms = ns / NS_PER_MS + 1;
	controller_enqueue_after(c, key, (uint64_t)(ms < MIN_DELAY_MS ? MIN_DELAY_MS : ms));
}

/* k8s: pastBackoffLimitOnFailure: with restartPolicy OnFailure the container restarts of
 * running and pending pods count against backoffLimit. */
static bool past_backoff_on_failure(json_t *job, json_t **pods, size_t n)
{
	if (!str_eq(json_path_str(job, "spec.template.spec.restartPolicy"), "OnFailure"))
		return false;
	json_int_t restarts = 0;
	for (size_t i = 0; i < n; i++) {
		const char *phase = json_path_str(pods[i], "status.phase");
		if (!str_eq(phase, "Running") && !str_eq(phase, "Pending"))
			continue;
		const char *lists[] = {"status.initContainerStatuses", "status.containerStatuses"};
		for (size_t l = 0; l < 2; l++) {
			size_t k;
			json_t *cs;
			json_array_foreach(json_path(pods[i], lists[l]), k, cs) restarts +=
			    json_integer_value(json_object_get(cs, "restartCount"));
		}
	}
	json_int_t limit = spec_int(job, "backoffLimit", 6);
	return limit == 0 ? restarts > 0 : restarts >= limit;
}

/* Per index, the most recently finished failed pod (borrowed) of an Indexed Job. */
static json_t *last_failed_of_index(job_sync *s, int index)
{
	json_t *best = NULL;
	int64_t best_t = 0;
	for (size_t k = 0; k < s->npods; k++) {
		json_t *p = s->pods[k];
		if (job_pod_index(p) != index || !job_pod_failed(s->job, p))
			continue;
		int64_t t = job_pod_finish_ns(p);
		if (!best || t > best_t) {
			best = p;
			best_t = t;
		}
	}
	return best;
}

static int annotation_int(json_t *pod, const char *key)
{
	const char *v =
	    json_string_value(json_object_get(json_path(pod, "metadata.annotations"), key));
	return v ? atoi(v) : 0;
}

/* k8s: isIndexFailed: a FailIndex rule matched, or the index used up its per-index
 * back-off limit with a counted failure. */
static bool index_failed_by(job_sync *s, json_t *pod)
{
	if (!job_pod_failed(s->job, pod))
		return false;
	json_t *policy = json_path(s->job, "spec.podFailurePolicy");
	job_pfp_action a = job_pfp_match(policy, pod, NULL);
	if (a == JOB_PFP_FAIL_INDEX)
		return true;
	return job_pfp_counts(a) && annotation_int(pod, JOB_INDEX_FAILURES) >=
	                                spec_int(s->job, "backoffLimitPerIndex", 0);
}

/* ---------- pods to remove ---------- */

static int cmp_index(const void *a, const void *b)
{
	int x = job_pod_index(*(json_t *const *)a), y = job_pod_index(*(json_t *const *)b);
	return x < y ? -1 : x > y;
}

/* k8s: activePodsForRemoval: for Indexed Jobs, pods without a valid index and all but one
 * pod of a repeated index go first; then the least established pods. Returns how many of
 * s->active (reordered) lead the array as to be removed. */
static size_t pods_for_removal(job_sync *s, size_t at_least, json_t **order)
{
	size_t n = s->nactive, nrm = 0, nleft = 0;
	json_t **left = xcalloc(n ? n : 1, sizeof *left);
	if (s->indexed) {
		json_t **sorted = xcalloc(n ? n : 1, sizeof *sorted);
		memcpy(sorted, s->active, n * sizeof *sorted);
		qsort(sorted, n, sizeof *sorted, cmp_index);
		for (size_t i = 0; i < n;) {
			int ix = job_pod_index(sorted[i]);
			size_t j = i;
			while (j < n && job_pod_index(sorted[j]) == ix)
				j++;
			if (ix < 0 || ix >= s->completions) {
				for (size_t k = i; k < j; k++)
					order[nrm++] = sorted[k];
			} else {
				/* keep the most established pod of the index */
				pod_sort_for_deletion(sorted + i, j - i);
				for (size_t k = i; k + 1 < j; k++)
					order[nrm++] = sorted[k];
				left[nleft++] = sorted[j - 1];
			}
			i = j;
		}
		free(sorted);
	} else {
		memcpy(left, s->active, n * sizeof *left);
		nleft = n;
	}
	if (nrm < at_least) {
		pod_sort_for_deletion(left, nleft);
		for (size_t k = 0; k < nleft && nrm < at_least; k++)
			order[nrm++] = left[k];
	}
	free(left);
	return nrm;
}

/* Deletes pods[0..n); returns how many went, counting ready ones into *ready_gone. */
static int delete_pods(job_sync *s, json_t **pods, size_t n, bool rm_finalizer, int *ready_gone)
{
	int gone = 0;
	for (size_t i = 0; i < n && i < JOB_MAX_PODS_PER_SYNC; i++) {
		bool ready = pod_is_ready(pods[i]);
		if (job_delete_pod(s->c, s->job, pods[i], rm_finalizer)) {
			gone++;
			if (ready)
				(*ready_gone)++;
		}
	}
	return gone;
}

/* ---------- managing pods ---------- */

/* k8s: manageJob: returns the new active count. */
static int manage(job_sync *s, const char *key, const job_backoff *backoff)
{
	int active = (int)s->nactive;
	int parallelism = (int)spec_int(s->job, "parallelism", 1);
	json_t **order = xcalloc(s->nactive ? s->nactive : 1, sizeof *order);
	int ready_gone = 0;
	if (spec_true(s->job, "suspend")) {
		/* k8s: a suspended Job's pods go, their finalizers first: not failures. */
		size_t n = pods_for_removal(s, s->nactive, order);
		int gone = delete_pods(s, order, n, true, &ready_gone);
		free(order);
		s->terminating += gone;
		s->ready -= ready_gone;
		return active - gone;
	}
	int want;
	if (s->completions < 0)
		want = s->succeeded > 0 ? active : parallelism;
	else {
		want = s->completions - s->succeeded;
		if (want > parallelism)
			want = parallelism;
		if (want < 0)
			want = 0;
	}
	int rm_at_least = active - want > 0 ? active - want : 0;
	size_t nrm = pods_for_removal(s, (size_t)rm_at_least, order);
	if (nrm > 0) {
		int gone = delete_pods(s, order, nrm, true, &ready_gone);
		free(order);
		s->terminating += gone;
		s->ready -= ready_gone;
		/* k8s: a sync either deletes or creates pods, deletion first. */
		return active - gone;
	}
	free(order);
	int terminating = job_only_replace_failed(s->job) ? s->terminating : 0;
	int diff = want - terminating - active;
	if (diff <= 0)
		return active;
	bool per_index = json_is_integer(json_path(s->job, "spec.backoffLimitPerIndex"));
	if (!per_index) {
		int64_t wait =
		    job_backoff_remaining_ns(backoff->failures, backoff->last_failure, s->now_ns);
		if (wait > 0) {
			enqueue_in(s->c, key, wait);
			/* k8s: manageJob reports 0 active while it waits out the back-off. */
			return 0;
		}
	}
	if (diff > JOB_MAX_PODS_PER_SYNC)
		diff = JOB_MAX_PODS_PER_SYNC;
	slow_start st = {.batch = 1};
	if (!s->indexed) {
		int created = 0;
		for (int i = 0; i < diff && slow_start_more(&st); i++)
			created += slow_start_done(&st, job_create_pod(s->c, s->job, -1, 0, 0));
		s->refused = slow_start_refused(&st);
		return active + created;
	}
	job_indexes taken = {0};
	for (size_t k = 0; k < s->nactive; k++)
		if (job_pod_index(s->active[k]) >= 0)
			job_indexes_add(&taken, job_pod_index(s->active[k]));
	if (s->failed_ix)
		for (size_t v = 0; v < s->failed_ix->n; v++)
			for (int i = s->failed_ix->iv[v].first; i <= s->failed_ix->iv[v].last; i++)
				job_indexes_add(&taken, i);
	int *pending = xcalloc((size_t)diff, sizeof *pending);
	size_t np =
	    job_pending_indexes(&s->succeeded_ix, &taken, s->completions, (size_t)diff, pending);
	job_indexes_free(&taken);
	int created = 0;
	int64_t min_wait = 0;
	for (size_t k = 0; k < np && slow_start_more(&st); k++) {
		int failures = 0, ignored = 0;
		if (per_index) {
			json_t *last = last_failed_of_index(s, pending[k]);
			if (last) {
				bool counts = job_pfp_counts(job_pfp_match(
				    json_path(s->job, "spec.podFailurePolicy"), last, NULL));
				failures =
				    annotation_int(last, JOB_INDEX_FAILURES) + (counts ? 1 : 0);
				ignored = annotation_int(last, JOB_INDEX_IGNORED_FAILURES) +
				          (counts ? 0 : 1);
				int64_t wait = job_backoff_remaining_ns(
				    annotation_int(last, JOB_INDEX_FAILURES) + 1,
				    job_pod_finish_ns(last), s->now_ns);
				if (wait > 0) {
					if (!min_wait || wait < min_wait)
						min_wait = wait;
					continue;
				}
			}
		}
		created += slow_start_done(
		    &st, job_create_pod(s->c, s->job, pending[k], failures, ignored));
	}
	s->refused = slow_start_refused(&st);
	free(pending);
	if (created == 0 && min_wait > 0) {
		enqueue_in(s->c, key, min_wait);
		return 0;
	}
	return active + created;
}

/* ---------- sync ---------- */

static json_t *failure_target(job_sync *s, const char *reason, const char *msg)
{
	return job_new_condition("FailureTarget", "True", reason, msg, s->now_ns);
}

static bool counted_failure(job_sync *s, json_t *pod)
{
	json_t *policy = json_path(s->job, "spec.podFailurePolicy");
	return !policy || job_pfp_counts(job_pfp_match(policy, pod, NULL));
}

static int sync_job(controller *c, const char *key, json_t *job)
{
	job_sync s = {.c = c, .job = job, .now_ns = time_now_ns()};
	s.status = json_obj_child(job, "status");
	json_obj_child(s.status, "uncountedTerminatedPods");
	s.npods = job_claim_pods(c, job, &s.pods);
	s.active = xcalloc(s.npods ? s.npods : 1, sizeof *s.active);
	json_t **new_succ = xcalloc(s.npods ? s.npods : 1, sizeof *new_succ);
	json_t **new_fail = xcalloc(s.npods ? s.npods : 1, sizeof *new_fail);
	size_t nsucc = 0, nfail = 0;
	s.indexed = str_eq(json_path_str(job, "spec.completionMode"), "Indexed");
	s.completions = (int)spec_int(job, "completions", -1);
	json_t *unc = json_path(job, "status.uncountedTerminatedPods");
	json_t *unc_succ = json_object_get(unc, "succeeded"),
	       *unc_fail = json_object_get(unc, "failed");
	int counted_new_fail = 0;
	for (size_t k = 0; k < s.npods; k++) {
		json_t *p = s.pods[k];
		if (pod_is_active(p)) {
			s.active[s.nactive++] = p;
			if (pod_is_ready(p))
				s.ready++;
		}
		if (job_pod_terminating(p))
			s.terminating++;
		/* k8s: getNewFinishedPods: finished pods still holding the finalizer and not yet
		 * recorded (Indexed: with a valid index). */
		const char *uid = json_path_str(p, "metadata.uid");
		int ix = job_pod_index(p);
		if (!job_pod_has_finalizer(p) || (s.indexed && (ix < 0 || ix >= s.completions)))
			continue;
		if (str_eq(json_path_str(p, "status.phase"), "Succeeded") &&
		    !job_uid_in(unc_succ, uid))
			new_succ[nsucc++] = p;
		else if (job_pod_failed(job, p) && !job_uid_in(unc_fail, uid)) {
			new_fail[nfail++] = p;
			if (counted_failure(&s, p))
				counted_new_fail++;
		}
	}
	s.succeeded = (int)(json_integer_value(json_object_get(s.status, "succeeded")) +
	                    (json_int_t)nsucc + (json_int_t)json_array_size(unc_succ));
	s.failed = (int)(json_integer_value(json_object_get(s.status, "failed")) +
	                 counted_new_fail + (json_int_t)json_array_size(unc_fail));
	bool suspended = spec_true(job, "suspend");
	/* k8s: the first sync of a Job that is not suspended starts its clock. */
	if (!json_is_string(json_object_get(s.status, "startTime")) && !suspended) {
		char ts[32];
		time_rfc3339(s.now_ns, false, ts);
		json_object_set_new(s.status, "startTime", json_string(ts));
	}
	job_backoff *stored = job_backoff_of(c, key);
	job_backoff backoff = next_backoff(*stored, new_succ, nsucc, new_fail, nfail);

	/* ---- has the Job reached a terminal state? ---- */
	json_t *cond = job_condition(job, "SuccessCriteriaMet");
	if (cond && str_eq(json_string_value(json_object_get(cond, "status")), "True"))
		s.finished = json_clone(cond);
	if (!s.finished) {
		cond = job_condition(job, "FailureTarget");
		if (cond && str_eq(json_string_value(json_object_get(cond, "status")), "True")) {
			s.finished = job_new_condition(
			    "Failed", "True", json_string_value(json_object_get(cond, "reason")),
			    json_string_value(json_object_get(cond, "message")), s.now_ns);
		} else {
			json_t *policy = json_path(job, "spec.podFailurePolicy");
			for (size_t k = 0; policy && k < s.npods && !s.finished; k++) {
				char *msg = NULL;
				if (job_pod_failed(job, s.pods[k]) &&
				    job_pfp_match(policy, s.pods[k], &msg) == JOB_PFP_FAIL_JOB)
					s.finished = failure_target(&s, "PodFailurePolicy", msg);
				free(msg);
			}
		}
	}
	json_int_t ads = spec_int(job, "activeDeadlineSeconds", -1);
	int64_t started = time_of(json_object_get(s.status, "startTime"));
	if (!s.finished) {
		if (s.failed > spec_int(job, "backoffLimit", 6) ||
		    past_backoff_on_failure(job, s.pods, s.npods)) {
			s.finished = failure_target(&s, "BackoffLimitExceeded",
			                            "Job has reached the specified backoff limit");
		} else if (ads >= 0 && started && !suspended &&
		           s.now_ns - started >= ads * NS_PER_S) {
			s.finished =
			    failure_target(&s, "DeadlineExceeded",
			                   "Job was active longer than specified deadline");
		} else if (ads >= 0 && started && !suspended) {
			enqueue_in(c, key, started + ads * NS_PER_S - s.now_ns);
		}
	}
	if (s.indexed) {
		job_indexes_parse(&s.prev_succeeded,
		                  json_string_value(json_object_get(s.status, "completedIndexes")),
		                  s.completions);
		job_indexes_parse(&s.succeeded_ix,
		                  json_string_value(json_object_get(s.status, "completedIndexes")),
		                  s.completions);
		for (size_t k = 0; k < nsucc; k++)
			job_indexes_add(&s.succeeded_ix, job_pod_index(new_succ[k]));
		s.succeeded = job_indexes_total(&s.succeeded_ix);
		if (json_is_integer(json_path(job, "spec.backoffLimitPerIndex"))) {
			s.failed_ix = xcalloc(1, sizeof *s.failed_ix);
			job_indexes_parse(
			    s.failed_ix,
			    json_string_value(json_object_get(s.status, "failedIndexes")),
			    s.completions);
			for (size_t k = 0; k < s.npods; k++) {
				int ix = job_pod_index(s.pods[k]);
				if (ix >= 0 && ix < s.completions &&
				    job_pod_has_finalizer(s.pods[k]) &&
				    index_failed_by(&s, s.pods[k]))
					job_indexes_add(s.failed_ix, ix);
			}
			int nfailed_ix = job_indexes_total(s.failed_ix);
			json_int_t max_failed = spec_int(job, "maxFailedIndexes", -1);
			if (!s.finished && max_failed >= 0 && nfailed_ix > max_failed)
				s.finished = failure_target(&s, "MaxFailedIndexesExceeded",
				                            "Job has exceeded the specified "
				                            "maximal number of failed indexes");
			else if (!s.finished && nfailed_ix > 0 &&
			         nfailed_ix + s.succeeded >= s.completions)
				s.finished =
				    failure_target(&s, "FailedIndexes", "Job has failed indexes");
		}
		if (!s.finished) {
			char *msg = job_success_policy_match(json_path(job, "spec.successPolicy"),
			                                     s.completions, &s.succeeded_ix);
			if (msg)
				s.finished = job_new_condition("SuccessCriteriaMet", "True",
				                               "SuccessPolicy", msg, s.now_ns);
			free(msg);
		}
	}

	/* ---- act ---- */
	int active = (int)s.nactive;
	bool suspend_changed = false;
	if (s.finished) {
		/* k8s: a finishing Job's active pods are deleted keeping their finalizers. */
		int ready_gone = 0;
		int gone = delete_pods(&s, s.active, s.nactive, false, &ready_gone);
		if (gone != active)
			s.finished = (json_decref(s.finished), NULL);
		active -= gone;
		s.terminating += gone;
		s.ready -= ready_gone;
	} else {
		bool managed = false;
		if (!json_path(job, "metadata.deletionTimestamp")) {
			active = manage(&s, key, &backoff);
			managed = true;
		}
		bool complete = s.completions < 0 ? s.succeeded > 0 && active == 0
		                                  : s.succeeded >= s.completions && active == 0;
		if (complete) {
			s.finished = job_new_condition(
			    "SuccessCriteriaMet", "True", "CompletionsReached",
			    "Reached expected number of succeeded pods", s.now_ns);
		} else if (managed && suspended) {
			if (job_ensure_condition(job, "Suspended", "True", "JobSuspended",
			                         "Job suspended", s.now_ns)) {
				suspend_changed = true;
				event_record(c->srv, JOB_CONTROLLER_NAME, job, "Normal",
				             "Suspended", "Job suspended");
			}
		} else if (managed) {
			if (job_ensure_condition(job, "Suspended", "False", "JobResumed",
			                         "Job resumed", s.now_ns)) {
				suspend_changed = true;
				event_record(c->srv, JOB_CONTROLLER_NAME, job, "Normal", "Resumed",
				             "Job resumed");
				/* k8s: resuming restarts the activeDeadlineSeconds clock. */
				char ts[32];
				time_rfc3339(s.now_ns, false, ts);
				json_object_set_new(s.status, "startTime", json_string(ts));
			}
		}
	}
	s.status = json_object_get(job, "status");
	bool needs = suspend_changed ||
	             active != json_integer_value(json_object_get(s.status, "active")) ||
	             !json_is_integer(json_object_get(s.status, "ready")) ||
	             s.ready != json_integer_value(json_object_get(s.status, "ready")) ||
	             !json_is_integer(json_object_get(s.status, "terminating")) ||
	             s.terminating != json_integer_value(json_object_get(s.status, "terminating"));
	json_object_set_new(s.status, "active", json_integer(active));
	json_object_set_new(s.status, "ready", json_integer(s.ready));
	json_object_set_new(s.status, "terminating", json_integer(s.terminating));
	int rc = job_track_status(&s, needs);
	/* The new failures are recorded in status now (or their finalizers are gone). */
	if (s.flushed)
		*stored = backoff;
	free(new_succ);
	free(new_fail);
	free(s.active);
	controller_list_free(s.pods, s.npods);
	job_indexes_free(&s.prev_succeeded);
	job_indexes_free(&s.succeeded_ix);
	if (s.failed_ix) {
		job_indexes_free(s.failed_ix);
		free(s.failed_ix);
	}
	json_decref(s.finished);
	/* k8s: a sync whose creates were refused is retried with the queue's backoff */
	return rc < 0 || s.refused ? RECONCILE_RETRY : RECONCILE_DONE;
}

/* An orphaned pod ("!ns/name") keeps the finalizer only while a live Job controls it. */
static int sync_orphan(controller *c, const char *key)
{
	_cleanup_free_ char *ns = NULL, *name = NULL;
	controller_split_key(key + 1, &ns, &name);
	json_t *pod = controller_get(c, controller_kind("", "pods"), ns, name);
	if (!pod || !job_pod_has_finalizer(pod)) {
		json_decref(pod);
		return RECONCILE_DONE;
	}
	json_t *owner = controller_owner(pod);
	if (owner) {
		if (!str_eq(json_string_value(json_object_get(owner, "kind")), "Job") ||
		    !str_eq(json_string_value(json_object_get(owner, "apiVersion")), "batch/v1")) {
			json_decref(pod);
			return RECONCILE_DONE;
		}
		json_t *job = controller_get(c, controller_kind("batch", "jobs"), ns,
		                             json_string_value(json_object_get(owner, "name")));
		bool live = job &&
		            str_eq(json_path_str(job, "metadata.uid"),
		                   json_string_value(json_object_get(owner, "uid"))) &&
		            !job_is_finished(job, NULL);
		json_decref(job);
		if (live) {
			json_decref(pod);
			return RECONCILE_DONE;
		}
	}
	json_decref(pod);
	return job_remove_finalizer(c, ns, name) ? RECONCILE_DONE : RECONCILE_RETRY;
}

static int reconcile(controller *c, const char *key)
{
	if (key[0] == '!')
		return sync_orphan(c, key);
	_cleanup_free_ char *ns = NULL, *name = NULL;
	controller_split_key(key, &ns, &name);
	json_t *job = controller_get(c, controller_kind("batch", "jobs"), ns, name);
	if (!job) {
		backoff_forget(c, key);
		job_release_pods(c, ns, name, NULL);
		return RECONCILE_DONE;
	}
	int rc = RECONCILE_DONE;
	const char *managed_by = json_path_str(job, "spec.managedBy");
	const char *mode = json_path_str(job, "spec.completionMode");
	if (job_is_finished(job, NULL)) {
		/* k8s: a finished Job forgets its back-off; stray finalizers are dropped. */
		backoff_forget(c, key);
		job_release_pods(c, ns, name, NULL);
	} else if (managed_by && !str_eq(managed_by, "kubernetes.io/job-controller")) {
		/* k8s: spec.managedBy hands the Job to another controller. */
	} else if (mode && !str_eq(mode, "NonIndexed") && !str_eq(mode, "Indexed")) {
		event_record(c->srv, JOB_CONTROLLER_NAME, job, "Warning", "UnknownCompletionMode",
		             "Skipped Job sync because completion mode is unknown");
	} else {
		rc = sync_job(c, key, job);
	}
	json_decref(job);
	return rc;
}

/* Whether a pod's event carries the job-tracking finalizer: from the writer's tree when it
 * left one, else from the bytes. */
static bool tracked(const cache_event *ev)
{
	json_t *t = cache_event_obj_parsed(ev);
	if (!t)
		return memmem(ev->value->data, ev->value->len, JOB_TRACKING_FINALIZER,
		              sizeof JOB_TRACKING_FINALIZER - 1);
	size_t i;
	json_t *f;
	json_array_foreach(json_object_get(json_object_get(t, "metadata"), "finalizers"), i, f)
	{
		if (str_eq(json_string_value(f), JOB_TRACKING_FINALIZER))
			return true;
	}
	return false;
}

static void on_pod(controller *c, const kind_desc *d, const cache_event *ev)
{
	UNUSED(d);
	/* Neither owned nor tracked (the tree or the bytes tell, no parse): nothing here. */
	if (!controller_may_have_owner(ev) && !tracked(ev))
		return;
	json_t *pod = cache_event_obj(ev);
	if (!pod)
		return;
	json_t *owner = controller_owner(pod);
	const char *ns = json_path_str(pod, "metadata.namespace");
	char *key = NULL;
	if (owner && str_eq(json_string_value(json_object_get(owner, "kind")), "Job"))
		key = xasprintf("%s/%s", ns, json_string_value(json_object_get(owner, "name")));
	else if (!owner && job_pod_has_finalizer(pod) && ev->type != STORE_DELETED)
		key = xasprintf("!%s/%s", ns, json_path_str(pod, "metadata.name"));
	if (key)
		controller_enqueue(c, key);
	free(key);
}

static void start(controller *c)
{
	c->state = xcalloc(1, sizeof(job_state));
}

static void stop(controller *c)
{
	job_state *st = c->state;
	if (!st)
		return;
	size_t it = 0;
	const char *k;
	void *v;
	while (hmap_next(&st->backoff, &it, &k, &v)) {
		backoff_entry *e = v;
		free(e->key);
		free(e);
	}
	hmap_free(&st->backoff);
	free(st);
	c->state = NULL;
}

const controller_def job_controller = {
    .name = JOB_CONTROLLER_NAME,
    .watches = {{.group = "batch", .resource = "jobs"},
                {.group = "", .resource = "pods", .on_event = on_pod}},
    .reconcile = reconcile,
    .start = start,
    .stop = stop,
};
CONTROLLER_REGISTER(job_controller);
