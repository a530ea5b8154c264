/* admission_policy.h — kube's policy admission plugins: LimitRanger (default and bound
 * container resources), ResourceQuota (per-namespace usage limits) and the
 * PodDisruptionBudget check of pods/eviction. admission.c calls one entry per hook point.
 * Not for: field defaults or validation (api/), quota status (controllers/resourcequota.c).
 */
#ifndef TIMON_APISERVER_ADMISSION_POLICY_H
#define TIMON_APISERVER_ADMISSION_POLICY_H

#include <jansson.h>

#include "apiserver/apiserver-internal.h"

/* admission_limits.c */
/* LimitRanger's mutation of a pod being created: default requests and limits from the
 * namespace's LimitRanges, and the kubernetes.io/limit-ranger annotation. */
int admission_limits_default(api_req *r, json_t *obj, terr **err);
/* LimitRanger's validation: min, max and maxLimitRequestRatio of pods (on create) and
 * claims; 403 Forbidden with kube's messages. old is NULL on create. */
int admission_limits_check(api_req *r, json_t *obj, json_t *old, terr **err);

/* admission_quota.c */
/* ResourceQuota admission: refuses (403) a create or update that would take a quota of the
 * namespace over its hard limits, or a pod that leaves out a constrained request or
 * limit. Usage is counted live from the watch cache. old is NULL on create. */
int admission_quota_check(api_req *r, json_t *obj, json_t *old, terr **err);
/* Sets err to kube's admission Forbidden for obj: `<resource> "<name>" is forbidden: msg`. */
int admission_forbidden(api_req *r, json_t *obj, terr **err, const char *msg);

/* admission_pdb.c */
/* Whether pods/eviction may delete pod now. 0: allowed; the matching budget was charged
 * (disruptionsAllowed decremented, pod added to disruptedPods) and pod (changed in place)
 * carries the DisruptionTarget condition. -1 with 429 TooManyRequests, 403 or 500. */
int admission_pdb_evict(api_req *r, json_t *pod, terr **err);

/* admission_storage.c */
/* DefaultStorageClass: a claim being created without spec.storageClassName gets the
 * default StorageClass (the newest one annotated is-default-class), if any. */
void admission_storage_default_class(api_req *r, json_t *pvc);

/* admission_sa.c */
/* ServiceAccount admission of a pod being created (serviceAccountName already set): the
 * kube-api-access-* token volume and its mounts, unless automount is off. */
int admission_sa_pod(api_req *r, json_t *pod, terr **err);

/* The hooks admission.c calls. */
static inline int admission_policy_prepare_create(api_req *r, json_t *obj, terr **err)
{
	return admission_limits_default(r, obj, err);
}

static inline int admission_policy_validate(api_req *r, json_t *obj, json_t *old, terr **err)
{
	if (admission_limits_check(r, obj, old, err) < 0)
		return -1;
	return admission_quota_check(r, obj, old, err);
}

static inline int admission_policy_evict(api_req *r, json_t *pod, terr **err)
{
	return admission_pdb_evict(r, pod, err);
}

#endif
