/* statefulset-internal.h — what the StatefulSet controller's files share.
 *
 * statefulset.c runs a sync: claiming pods and revisions, kube's updateStatefulSet
 * (ordered creation, scale down, rolling update) and status; statefulset_pod.c holds a
 * member pod's identity (name, ordinal, labels, hostname), its storage (claims from
 * volumeClaimTemplates and their retention-policy owner references) and pod predicates.
 */
#ifndef TIMON_CONTROLLERS_STATEFULSET_INTERNAL_H
#define TIMON_CONTROLLERS_STATEFULSET_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "controllers/controller.h"

#define STS_COMPONENT "statefulset-controller"
/* k8s: apps.StatefulSetPodNameLabel and apps.PodIndexLabel. */
#define STS_POD_NAME_LABEL "statefulset.kubernetes.io/pod-name"
#define STS_POD_INDEX_LABEL "apps.kubernetes.io/pod-index"

/* One sync of one StatefulSet. */
typedef struct sts_sync {
	controller *c;
	json_t *set;       /* as read at the start (owned) */
	const char *ns;    /* borrowed from set */
	const char *name;  /* borrowed from set */
	json_t *upd_set;   /* set with the update revision's template (owned) */
	json_t *cur_set;   /* set with the current revision's template (owned) */
	const char *cur_rev, *upd_rev; /* revision names (borrowed from the revisions) */
	int64_t now;       /* ns since the epoch, fixed for the sync */
} sts_sync;

/* ---------- identity and predicates (statefulset_pod.c) ---------- */

/* k8s: getParentNameAndOrdinal: the ordinal of a pod named "<set_name>-<n>", else -1. */
int sts_ordinal(json_t *pod, const char *set_name);
/* spec.ordinals.start (0 when unset) and spec.replicas (1 when unset). */
int sts_start_ordinal(json_t *set);
int sts_replicas(json_t *set);
/* k8s: podInOrdinalRange. */
bool sts_in_range(json_t *set, int ordinal);
/* k8s: isRunningAndReady, isRunningAndAvailable, isTerminating, isHealthy. */
bool sts_running_ready(json_t *pod);
bool sts_available(json_t *pod, json_t *set, int64_t now_ns);
bool sts_terminating(json_t *pod);
bool sts_healthy(json_t *pod);
/* The pod's controller-revision-hash label, or "" (borrowed). */
const char *sts_pod_revision(json_t *pod);

/* k8s: newStatefulSetPod + setPodRevision: the pod of ordinal built from set's template,
 * with its identity, storage volumes and revision label. A new tree. */
json_t *sts_new_pod(json_t *set, int ordinal, const char *revision);
/* k8s: identityMatches: name, namespace and the identity labels agree with set. */
bool sts_identity_matches(json_t *set, json_t *pod);
/* Sets the identity labels of an existing pod (a merge patch); 0 or -1. */
int sts_fix_identity(sts_sync *s, json_t *pod);

/* k8s: createPersistentVolumeClaims: creates the pod's missing claims from set's
 * volumeClaimTemplates (recording events); -1 when one could not be created or is being
 * deleted. */
int sts_create_claims(sts_sync *s, json_t *set, json_t *pod);
/* k8s: PodClaimIsStale: with whenScaled Delete, a claim of this ordinal still owned by an
 * earlier pod of the same name (to be garbage collected first). */
bool sts_claim_is_stale(sts_sync *s, json_t *pod);
/* k8s: ClaimsMatchRetentionPolicy + UpdatePodClaimForRetentionPolicy: sets the owner
 * references of pod's claims as persistentVolumeClaimRetentionPolicy asks; 0 or -1. */
int sts_fix_claim_refs(sts_sync *s, json_t *pod);

/* Records kube's pod event on the set: "<verb> Pod <pod> in StatefulSet <set> successful"
 * (err NULL) or "... failed error: <err>". */
void sts_pod_event(sts_sync *s, const char *verb, const char *pod, const char *err);
/* Deletes pod (recording the event); 0 or -1. */
int sts_delete_pod(sts_sync *s, json_t *pod);

#endif
