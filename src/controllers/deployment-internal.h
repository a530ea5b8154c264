/* deployment-internal.h — what the Deployment controller's files share.
 *
 * deployment_util.c holds the pure rules (kube's pkg/controller/deployment/util): the
 * pod-template hash, maxSurge/maxUnavailable arithmetic, the RS annotations, conditions,
 * status arithmetic and orderings; they touch only JSON trees, so tests link them directly.
 * deployment.c runs a sync (claiming ReplicaSets, finding or creating the new one, writing
 * status); deployment_rollout.c holds the strategies (rolling, recreate), proportional
 * scaling and history cleanup, which write through the sync's context.
 */
#ifndef TIMON_CONTROLLERS_DEPLOYMENT_INTERNAL_H
#define TIMON_CONTROLLERS_DEPLOYMENT_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "controllers/controller.h"

#define DEP_HASH_LABEL           "pod-template-hash"
#define DEP_ANN_REVISION         "deployment.kubernetes.io/revision"
#define DEP_ANN_REVISION_HISTORY "deployment.kubernetes.io/revision-history"
#define DEP_ANN_DESIRED          "deployment.kubernetes.io/desired-replicas"
#define DEP_ANN_MAX              "deployment.kubernetes.io/max-replicas"
/* k8s: revision-history is kept under about 2000 characters. */
#define DEP_MAX_REV_HISTORY_CHARS 2000

/* ---------- pure helpers (deployment_util.c) ---------- */

/* k8s: rand.SafeEncodeString: each byte of s mapped onto "bcdfghjklmnpqrstvwxz2456789".
 * out must hold strlen(s) + 1 bytes. */
void deployment_safe_encode(const char *s, char *out);
/* The pod-template-hash of a template (borrowed): FNV-32a over its canonical JSON, then
 * collision_count (borrowed JSON integer, or NULL when unset) as 8 little-endian bytes,
 * rendered as the decimal sum through deployment_safe_encode. Caller frees. */
char *deployment_template_hash(json_t *tmpl, json_t *collision_count);
/* True when two pod templates (borrowed) are equal once the pod-template-hash label and
 * null fields are ignored (kube's EqualIgnoreHash). */
bool deployment_template_equal(json_t *a, json_t *b);

/* k8s: intstr.GetScaledValueFromIntOrPercent: an integer as is, "N%" of total rounded up
 * or down. Returns 0 with *out, or -1 when v is neither. */
int deployment_scaled_value(json_t *v, int total, bool round_up, int *out);
/* spec.replicas of a Deployment or ReplicaSet (1 when unset, as defaulting does). */
int deployment_spec_replicas(json_t *obj);
/* An integer status field of obj ("availableReplicas"), 0 when unset. */
int deployment_status_int(json_t *obj, const char *field);
bool deployment_is_rolling(json_t *d);
/* k8s: ResolveFenceposts over spec.replicas, MaxSurge, MaxUnavailable (capped at replicas). */
int deployment_max_surge(json_t *d);
int deployment_max_unavailable(json_t *d);
/* k8s: NewRSNewReplicas: how many replicas the new RS may have now. all: every RS of the
 * deployment including new_rs (borrowed). */
int deployment_new_rs_replicas(json_t *d, json_t *const *all, size_t n, json_t *new_rs);

/* The revision annotation of obj as a number; 0 when unset or not a number. */
int64_t deployment_revision(json_t *obj);
/* k8s: SetNewReplicaSetAnnotations: copies the deployment's annotations (but kube's
 * skipped ones) onto rs, raises its revision to new_revision keeping the old one in
 * revision-history, and for a new RS sets desired/max replicas. True when rs changed. */
bool deployment_set_new_rs_annotations(json_t *d, json_t *rs, const char *new_revision, bool exists,
                                       size_t history_limit);
/* Sets desired-replicas and max-replicas on rs; true when either changed. */
bool deployment_set_replicas_annotations(json_t *rs, int desired, int max);
bool deployment_replicas_annotations_need_update(json_t *rs, int desired, int max);
/* The desired-replicas (or max-replicas) annotation of rs; false when unset or invalid. */
bool deployment_desired_annotation(json_t *rs, int *out);
bool deployment_max_annotation(json_t *rs, int *out);
/* Sets the revision annotation of d; true when it changed. */
bool deployment_set_revision(json_t *d, const char *revision);

/* Conditions of a DeploymentStatus object. get: borrowed or NULL. new: a new condition with
 * both times at now_ns. set: kube's SetDeploymentCondition (no-op when status and reason
 * are unchanged; keeps lastTransitionTime when only the reason changes; appends); steals
 * cond. remove: drops the condition of that type. */
json_t *deployment_condition(json_t *status, const char *type);
json_t *deployment_new_condition(const char *type, const char *status, const char *reason,
                                 const char *message, int64_t now_ns);
void deployment_set_condition(json_t *status, json_t *cond);
void deployment_remove_condition(json_t *status, const char *type);

bool deployment_has_progress_deadline(json_t *d);
/* k8s: DeploymentComplete, DeploymentProgressing (against d's current status) and
 * DeploymentTimedOut for a candidate status (borrowed). */
bool deployment_complete(json_t *d, json_t *status);
bool deployment_progressing(json_t *d, json_t *status);
bool deployment_timed_out(json_t *d, json_t *status, int64_t now_ns);
/* k8s: calculateStatus: counts from the RSs (borrowed, NULL entries skipped), d's
 * conditions and collisionCount carried over, and the Available condition set. New tree. */
json_t *deployment_calculate_status(json_t *d, json_t *const *all, size_t n, json_t *new_rs,
                                    int64_t now_ns);
/* k8s: GetReplicaSetProportion: how many replicas rs gains (or loses, negative) while the
 * deployment's to_add replicas are spread, added of them so far. */
int deployment_rs_proportion(json_t *rs, json_t *d, int to_add, int added);

enum deployment_rs_order {
	RS_BY_CREATION,   /* oldest first, then by name */
	RS_BY_SIZE_NEWER, /* largest first; ties newest first */
	RS_BY_SIZE_OLDER, /* largest first; ties oldest first */
	RS_BY_REVISION,   /* lowest revision first; ties oldest first */
};
/* Sorts an array of ReplicaSets (borrowed) in place. */
void deployment_sort_rs(json_t **rss, size_t n, enum deployment_rs_order order);

/* ---------- a sync in progress (deployment.c) ---------- */

typedef struct dsync {
	controller *c;
	json_t *d; /* the deployment, refreshed after each write of ours (owned) */
	char *key;
	char *ns;
	json_t **rs; /* the ReplicaSets it owns, refreshed after each write (owned) */
	size_t nrs;
	long new_rs; /* index of the new RS in rs, or -1 */
	int64_t now; /* ns since the epoch, fixed for the sync */
} dsync;

/* Writes rs[i] (spec and metadata) and reads it back; 0 or -1 (then the sync retries). */
int dsync_update_rs(dsync *s, size_t i);
/* Writes d's status (and its revision annotation when it changed) and reads it back. */
int dsync_update_status(dsync *s);
/* k8s: scaleReplicaSet: sets rs[i] to n replicas with fresh desired/max annotations and
 * records ScalingReplicaSet when the size changed. Returns 1 when it scaled, 0 when the size
 * was already n, -1 on a failed write. */
int dsync_set_rs_scale(dsync *s, size_t i, int n);
/* k8s: scaleReplicaSetAndRecordEvent: as dsync_set_rs_scale, but nothing at all when rs[i]
 * already has n replicas. */
int dsync_scale_rs(dsync *s, size_t i, int n);
/* The new RS (borrowed) or NULL; old RSs are every other index. */
json_t *dsync_new_rs(dsync *s);
/* Finds (and with create, creates) the new RS, syncing revisions; 0 or -1. */
int dsync_get_new_rs(dsync *s, bool create);
/* k8s: syncDeploymentStatus (counts only) and syncRolloutStatus (with the Progressing
 * condition and the deadline requeue); 0 or -1. */
int dsync_status(dsync *s);
int dsync_rollout_status(dsync *s);

/* ---------- strategies (deployment_rollout.c) ---------- */

/* Each returns RECONCILE_DONE or RECONCILE_RETRY. */
int deployment_rollout_rolling(dsync *s);
int deployment_rollout_recreate(dsync *s);
/* k8s: sync: scaling events and paused deployments. */
int deployment_sync_scale(dsync *s);
/* k8s: isScalingEvent: an active RS's desired-replicas differs from spec.replicas. */
bool deployment_is_scaling_event(dsync *s);
/* k8s: cleanupDeployment: deletes the oldest fully scaled-down old RSs beyond
 * revisionHistoryLimit. */
void deployment_cleanup(dsync *s);

#endif
