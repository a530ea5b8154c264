/* scale.h — the scale subresource: autoscaling/v1 Scale views of workloads (and of custom
 * resources through their CRD's scale paths). */
#ifndef TIMON_APISERVER_SCALE_H
#define TIMON_APISERVER_SCALE_H

#include <jansson.h>

#include "api/kind.h"
#include "base/error.h"

/* The Scale object for obj (borrowed) of kind d; new reference. */
json_t *scale_from_object(const kind_desc *d, json_t *obj);
/* Writes the scale's spec.replicas into a copy of obj; new reference, or NULL with err. */
json_t *scale_apply(const kind_desc *d, json_t *obj, json_t *scale, terr **err);

#endif
