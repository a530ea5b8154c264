/* convert-internal.h — what the convert*.c files share: small JSON copy helpers that
 * mirror Go's nil and zero-value rules, and the per-group conversion functions the table
 * in convert.c dispatches to.
 *
 * Not for: callers outside src/api/convert*.c (they use api/convert.h).
 */
#ifndef TIMON_API_CONVERT_INTERNAL_H
#define TIMON_API_CONVERT_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>

#include "api/convert.h"

/* A conversion of one kind from one apiVersion to another: a new object (never NULL;
 * obj borrowed; to is the target apiVersion). */
typedef json_t *(*convert_fn)(json_t *obj, const char *to);

/* The member key of o when it is present and not null (a Go nil), else NULL. Borrowed;
 * o may be NULL or not an object. */
json_t *cv_get(json_t *o, const char *key);
/* The member when it is an object / array / string, else NULL (borrowed). */
json_t *cv_obj(json_t *o, const char *key);
json_t *cv_arr(json_t *o, const char *key);
const char *cv_str(json_t *o, const char *key);
/* Copies src[skey] (deep) into dst[dkey] when present and not null. */
void cv_copy(json_t *dst, const char *dkey, json_t *src, const char *skey);
/* Like cv_copy, but sets zero (stolen) when absent: a Go non-pointer field always
 * marshals, with its zero value. */
void cv_copy_or(json_t *dst, const char *dkey, json_t *src, const char *skey, json_t *zero);
/* Copies the top-level members of src named in order[] (a NULL-terminated list of target
 * names) into a new object, in that order: "apiVersion" is set to to, and each name is
 * taken from src under rename(name) (the name itself when rename is NULL or returns
 * NULL). Members src has and order[] lacks are dropped. */
json_t *cv_rebuild(json_t *src, const char *const *order, const char *(*rename)(const char *),
                   const char *to);
/* Removes the annotation key from obj's metadata; drops the emptied annotations map (Go's
 * omitempty). True when it was there. */
bool cv_drop_annotation(json_t *obj, const char *key);
/* Sets the annotation key of obj to val, creating metadata and annotations as needed. */
void cv_set_annotation(json_t *obj, const char *key, const char *val);

/* convert_autoscaling.c: autoscaling/v2 <-> autoscaling/v1 HorizontalPodAutoscaler. */
json_t *convert_hpa_v2_to_v1(json_t *obj, const char *to);
json_t *convert_hpa_v1_to_v2(json_t *obj, const char *to);

/* convert_events.c: core/v1 <-> events.k8s.io/v1 Event. */
json_t *convert_event_core_to_events(json_t *obj, const char *to);
json_t *convert_event_events_to_core(json_t *obj, const char *to);

#endif
