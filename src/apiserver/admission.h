/* admission.h — the admission steps every write passes, and kind-specific server logic
 * that kube runs in its registry strategies: pod status on creation, service IP and node
 * port allocation, CRD registration, pods/binding and pods/eviction.
 * Not for: defaults (api/defaults.c) or validation (api/validate.c). */
#ifndef TIMON_APISERVER_ADMISSION_H
#define TIMON_APISERVER_ADMISSION_H

#include <jansson.h>

#include "apiserver/apiserver-internal.h"

/* Mutations before defaults and validation on create (obj borrowed, changed in place). */
int admission_prepare_create(api_req *r, json_t *obj, terr **err);
/* Checks after validation (old NULL on create). */
int admission_validate(api_req *r, json_t *obj, json_t *old, terr **err);
/* Last changes and side effects right before obj is stored (old NULL on create). */
void admission_before_store(api_req *r, json_t *obj, json_t *old);
/* POST on a subresource (pods/binding, pods/eviction); answers r. */
void admission_subresource_create(api_req *r);
/* Side effects of a deletion that happened (obj is the final state). */
void admission_after_delete(apiserver *s, const kind_desc *d, json_t *obj);

#endif
