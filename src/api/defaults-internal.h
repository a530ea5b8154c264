/* defaults-internal.h — what the defaults_*.c files share: "set when absent" helpers that
 * mirror Go's zero-value tests, and the per-group defaulting functions the table in
 * defaults.c dispatches to.
 *
 * Not for: callers outside src/api/defaults*.c (they use api/defaults.h).
 */
#ifndef TIMON_API_DEFAULTS_INTERNAL_H
#define TIMON_API_DEFAULTS_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>

#include "api/defaults.h"

/* True when member key of o is absent or null (a Go nil pointer). */
bool d_unset(const json_t *o, const char *key);
/* String member: set when absent, null or "" (a Go empty string). */
void d_str(json_t *o, const char *key, const char *val);
/* Pointer member: set when absent or null. */
void d_int(json_t *o, const char *key, long long val);
void d_bool(json_t *o, const char *key, bool val);
void d_set(json_t *o, const char *key, json_t *val /* stolen */);
/* Non-pointer integer member: set when absent, null or 0 (Go's zero value). */
void d_int_nonzero(json_t *o, const char *key, long long val);
/* The object member key of o, created when absent or null; NULL when it holds another
 * type (a malformed body is left for validation to reject). */
json_t *d_obj(json_t *o, const char *key);
/* The member when it is an object / array, else NULL (never creates). */
json_t *d_get_obj(const json_t *o, const char *key);
json_t *d_get_arr(const json_t *o, const char *key);

/* Pod templates (defaults_pod.c). */
void d_pod_template(json_t *tmpl);       /* PodTemplateSpec */
void d_pvc_spec(json_t *spec);           /* PersistentVolumeClaimSpec */
void d_pvc(json_t *pvc);                 /* PersistentVolumeClaim (or a claim template) */

/* Per-kind functions; each takes the whole object. */
void d_kind_pod(json_t *obj);
void d_kind_service(json_t *obj);
void d_kind_namespace(json_t *obj);
void d_kind_secret(json_t *obj);
void d_kind_endpoints(json_t *obj);
void d_kind_node(json_t *obj);
void d_kind_pv(json_t *obj);
void d_kind_pvc(json_t *obj);
void d_kind_limitrange(json_t *obj);
void d_kind_deployment(json_t *obj);
void d_kind_replicaset(json_t *obj);
void d_kind_statefulset(json_t *obj);
void d_kind_daemonset(json_t *obj);
void d_kind_job(json_t *obj);
void d_kind_cronjob(json_t *obj);
void d_kind_hpa_v2(json_t *obj);
void d_kind_hpa_v1(json_t *obj);
void d_kind_networkpolicy(json_t *obj);
void d_kind_ingressclass(json_t *obj);
void d_kind_endpointslice(json_t *obj);
void d_kind_rolebinding(json_t *obj);
void d_kind_storageclass(json_t *obj);
void d_kind_priorityclass(json_t *obj);
void d_kind_crd(json_t *obj);

#endif
