/* job-internal.h — what the Job controller's files share (job.c orchestrates a sync;
 * job_pods.c makes, claims, deletes and releases pods; job_status.c counts finished pods
 * and writes status; job_index.c handles completion indexes and the success policy;
 * job_policy.c holds the pod failure policy, pod failure facts and the failure back-off).
 * Not for: CronJobs (cronjob.c) or the TTL-after-finished cleanup (job_ttl.c).
 */
#ifndef TIMON_CONTROLLERS_JOB_INTERNAL_H
#define TIMON_CONTROLLERS_JOB_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "controllers/controller.h"

#define JOB_CONTROLLER_NAME "job-controller"
/* k8s: batch/v1 well-known names. */
#define JOB_TRACKING_FINALIZER     "batch.kubernetes.io/job-tracking"
#define JOB_INDEX_KEY              "batch.kubernetes.io/job-completion-index"
#define JOB_INDEX_FAILURES         "batch.kubernetes.io/job-index-failure-count"
#define JOB_INDEX_IGNORED_FAILURES "batch.kubernetes.io/job-index-ignored-failure-count"
#define JOB_INDEX_ENV              "JOB_COMPLETION_INDEX"
/* k8s: job controller limits: at most 500 pods created or deleted, and 500 pods added to
 * uncountedTerminatedPods, per sync. */
#define JOB_MAX_PODS_PER_SYNC 500
#define JOB_MAX_UNCOUNTED     500

/* ---------- completion indexes (job_index.c) ---------- */

typedef struct job_interval {
	int first, last;
} job_interval;

/* An ordered set of indexes as disjoint, non-adjacent intervals. */
typedef struct job_indexes {
	job_interval *iv;
	size_t n, cap;
} job_indexes;

/* Parses "1,3-5,7" keeping only indexes below limit (kube's tolerant parse: bad
 * intervals are skipped). */
void job_indexes_parse(job_indexes *ix, const char *s, int limit);
void job_indexes_add(job_indexes *ix, int i);
bool job_indexes_has(const job_indexes *ix, int i);
int job_indexes_total(const job_indexes *ix);
/* kube's compressed form: "0-2,4,6,7" (two adjacent indexes are listed, not ranged). */
char *job_indexes_string(const job_indexes *ix);
void job_indexes_free(job_indexes *ix);

/* The completion index annotation of pod, or -1 when absent or not a number >= 0. */
int job_pod_index(json_t *pod);
/* The first `count` indexes below completions that are neither done nor taken. */
size_t job_pending_indexes(const job_indexes *done, const job_indexes *taken, int completions,
                           size_t count, int *out);
/* k8s: spec.successPolicy: "Matched rules at index N" for the first rule met by the
 * succeeded indexes, else NULL. Caller frees. */
char *job_success_policy_match(json_t *policy, int completions, const job_indexes *succeeded);

/* ---------- pod failure facts and policy (job_policy.c) ---------- */

typedef enum job_pfp_action {
	JOB_PFP_NONE = 0, /* no rule matched: the failure counts */
	JOB_PFP_FAIL_JOB,
	JOB_PFP_FAIL_INDEX,
	JOB_PFP_IGNORE,
	JOB_PFP_COUNT,
} job_pfp_action;

/* Matches a failed pod against spec.podFailurePolicy (NULL: no policy). For FailJob sets
 * *msg (caller frees) to kube's message. */
job_pfp_action job_pfp_match(json_t *policy, json_t *pod, char **msg);
/* Whether a failure under action counts toward the back-off limits. */
bool job_pfp_counts(job_pfp_action a);
/* kube's isPodFailed: phase Failed, or (unless only failed pods are replaced) deleted
 * before succeeding. */
bool job_pod_failed(json_t *job, json_t *pod);
/* Pods deleted while running are replaced only once Failed (podReplacementPolicy Failed,
 * implied by a podFailurePolicy). */
bool job_only_replace_failed(json_t *job);
bool job_pod_has_finalizer(json_t *pod);
bool job_pod_terminating(json_t *pod);
/* When a pod finished (ns since the epoch): its containers' last finishedAt, else its
 * Ready=False transition, else its deletion time, else its creation. */
int64_t job_pod_finish_ns(json_t *pod);
/* k8s: pod failure back-off: 10 s doubling per failure since the last success, capped. */
int64_t job_backoff_remaining_ns(int failures, int64_t last_failure_ns, int64_t now_ns);
/* A condition of obj's status by type (borrowed) or NULL. */
json_t *job_condition(json_t *obj, const char *type);
/* True when the Job has a Complete or Failed condition that is True. */
bool job_is_finished(json_t *job, const char **type);

/* ---------- pods (job_pods.c) ---------- */

/* The pods this Job controls (new trees, caller frees with controller_list_free), after
 * adopting matching orphans (with the tracking finalizer). Also removes the finalizer
 * from pods a Job of the same name but another uid left behind. */
size_t job_claim_pods(controller *c, json_t *job, json_t ***out);
/* Creates one pod from the template; index -1 for NonIndexed. failures/ignored: the
 * per-index failure counts to carry (backoffLimitPerIndex). Records the event. False when
 * the create was refused (admission, quota: the in-process client answers a refusal
 * before it returns). */
bool job_create_pod(controller *c, json_t *job, int index, int failures, int ignored);
/* Deletes a pod, first removing the tracking finalizer when rm_finalizer. True when the
 * pod is gone or terminating afterwards. Records SuccessfulDelete. */
bool job_delete_pod(controller *c, json_t *job, json_t *pod, bool rm_finalizer);
/* Removes the tracking finalizer from the pod named in ns; true when it is no longer
 * there (or the pod is gone). */
bool job_remove_finalizer(controller *c, const char *ns, const char *name);
/* Removes the tracking finalizer from every pod in ns whose controller is a Job named
 * job_name (any uid when uid is NULL, else any uid but this one). */
void job_release_pods(controller *c, const char *ns, const char *job_name, const char *keep_uid);

/* ---------- status (job_status.c) ---------- */

typedef struct job_sync {
	controller *c;
	json_t *job;    /* working copy; its status is rewritten */
	json_t *status; /* borrowed from job */
	json_t **pods;  /* controlled pods */
	size_t npods;
	json_t **active;
	size_t nactive;
	int ready, terminating;
	bool indexed;
	int completions; /* -1: unset */
	int64_t now_ns;
	int succeeded, failed;
	job_indexes prev_succeeded, succeeded_ix; /* Indexed */
	job_indexes *failed_ix;                   /* backoffLimitPerIndex */
	json_t *finished;                         /* the condition to reach, or NULL */
	bool flushed;                             /* the first status write went out */
	bool refused;                             /* a create was refused: retry the sync */
} job_sync;

/* A new condition object. */
json_t *job_new_condition(const char *type, const char *status, const char *reason,
                          const char *message, int64_t now_ns);
/* Sets condition type to status/reason/message, keeping it when unchanged; a False one is
 * not added when absent. Returns true when the list changed. */
bool job_ensure_condition(json_t *job, const char *type, const char *status, const char *reason,
                          const char *message, int64_t now_ns);
/* Whether the uid is in the array of strings. */
bool job_uid_in(json_t *arr, const char *uid);
/* Counts finished pods, removes their finalizers, writes status (in two steps, as kube
 * does, so a crash between them neither loses nor double-counts a pod) and, once every
 * pod is counted, the terminal condition and its event. Returns 0 or -1 (retry). */
int job_track_status(job_sync *s, bool needs_flush);
/* Writes the Job's status (s->job) through the API; 0 when the cache shows it. */
int job_write_status(controller *c, json_t *job);

/* ---------- back-off records (job.c) ---------- */

typedef struct job_backoff {
	int failures;         /* failures since the last success */
	int64_t last_failure; /* ns */
} job_backoff;

/* The controller's remembered back-off of key (created on demand). */
job_backoff *job_backoff_of(controller *c, const char *key);

#endif
