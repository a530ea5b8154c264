/* normalize.h — objects as Go would print them after a round trip through their types:
 * fields marked omitempty whose values are empty ("", 0, false, [], {}, null) disappear.
 * kube-apiserver stores typed objects, so a client never sees `"finalizers": []`; timon
 * stores JSON and applies this rule on every write of a built-in kind. */
#ifndef TIMON_API_NORMALIZE_H
#define TIMON_API_NORMALIZE_H

#include <jansson.h>

#include "api/schema.h"

/* Removes empty omitempty fields from obj (borrowed, changed in place) of type t, deeply.
 * Pointer fields keep zero values (a *int32 of 0 is not empty), as in Go. */
void normalize_omitempty(const schema_type *t, json_t *obj);

#endif
