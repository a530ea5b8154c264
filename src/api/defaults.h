/* defaults.h — the defaulting kube-apiserver 1.32 applies to built-in kinds.
 *
 * The request handlers call defaults_apply after decoding a body and before validating
 * it, on create and on update (and defaults_on_create once more on create), so that an
 * object reads back with the defaulted fields a real cluster shows (spec.replicas 1,
 * imagePullPolicy, terminationMessagePath, ...). Defaulting only fills what is absent; it
 * never rejects anything and never fails.
 *
 * Not for: what admission plugins or other strategy steps add (clusterIP allocation,
 * serviceAccountName, priority, default tolerations, status resets), nor validation
 * (api/validate.h).
 */
#ifndef TIMON_API_DEFAULTS_H
#define TIMON_API_DEFAULTS_H

#include <jansson.h>

#include "api/kind.h"

/* Applies the defaults of kind d to obj (borrowed, modified in place). Unknown and custom
 * kinds are left untouched. Idempotent. */
void defaults_apply(const kind_desc *d, json_t *obj);

/* defaults_apply for an obj that holds only what a status write may change (metadata and
 * status, the spec left out): kinds whose defaults all lie in the spec are not defaulted
 * (a Pod's would only build and default a spec of their own in obj, then dropped).
 * Custom kinds are defaulted by their schema. */
void defaults_apply_beyond_spec(const kind_desc *d, json_t *obj);

/* The additions kube's registry strategies make once, on create, after defaulting and
 * after metadata.uid is assigned (obj borrowed, in place): a Namespace gets status.phase
 * Active and the "kubernetes" finalizer in spec.finalizers; a Job without
 * spec.manualSelector: true gets its generated selector and controller-uid / job-name
 * template labels. Call it on create only: the namespace finalizer must stay removable. */
void defaults_on_create(const kind_desc *d, json_t *obj);

/* Defaults of a core/v1 PodSpec as found in a pod template (borrowed, in place); Pods get
 * a few more (enableServiceLinks, requests from limits) through defaults_apply. */
void defaults_pod_spec(json_t *spec);

/* "Always" when image has the tag "latest" or no tag and no digest, else "IfNotPresent"
 * (k8s: the default of a container's imagePullPolicy). Static result. */
const char *defaults_image_pull_policy(const char *image);

#endif
