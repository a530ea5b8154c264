/* normalize.c — drops empty omitempty fields, as a Go round trip would.
 * Not for: defaults (defaults.c) or pruning unknown fields (codec.c, crdschema_prune.c). */
#include "api/normalize.h"

#include <stdbool.h>
#include <string.h>

static bool is_empty(const schema_field *f, json_t *v)
{
	if (json_is_null(v))
		return true;
	switch (f->kind) {
	case SCHEMA_STRING:
	case SCHEMA_BYTES:
		return json_is_string(v) && json_string_length(v) == 0;
	case SCHEMA_BOOL:
		return json_is_false(v);
	case SCHEMA_INT32:
	case SCHEMA_INT64:
		return json_is_integer(v) && json_integer_value(v) == 0;
	case SCHEMA_DOUBLE:
		return json_is_number(v) && json_number_value(v) == 0;
	case SCHEMA_ARRAY:
		return json_is_array(v) && json_array_size(v) == 0;
	case SCHEMA_MAP:
		return json_is_object(v) && json_object_size(v) == 0;
	default:
		/* Structs, quantities, times and raw values are never "empty" to Go's encoder. */
		return false;
	}
}

static void walk(const schema_type *t, json_t *obj, int depth)
{
	if (!t || !json_is_object(obj) || depth > 64)
		return;
	for (size_t i = 0; i < t->nfields; i++) {
		const schema_field *f = &t->fields[i];
		if (f->flags & SCHEMA_F_INLINE) {
			walk(f->type, obj, depth + 1);
			continue;
		}
		json_t *v = json_object_get(obj, f->json);
		if (!v)
			continue;
		/* k8s: omitempty drops "", 0, false, nil and empty slices and maps; a pointer
		 * to a zero value is not nil and stays. */
		if ((f->flags & SCHEMA_F_OMITEMPTY) &&
		    (json_is_null(v) || (!(f->flags & SCHEMA_F_POINTER) && is_empty(f, v)))) {
			json_object_del(obj, f->json);
			continue;
		}
		if (!f->type)
			continue;
		if (f->kind == SCHEMA_OBJECT) {
			walk(f->type, v, depth + 1);
		} else if ((f->kind == SCHEMA_ARRAY || f->kind == SCHEMA_MAP) && f->elem == SCHEMA_OBJECT) {
			size_t k;
			json_t *e;
			const char *key;
			if (json_is_array(v)) {
				json_array_foreach(v, k, e) walk(f->type, e, depth + 1);
			} else if (json_is_object(v)) {
				json_object_foreach(v, key, e) walk(f->type, e, depth + 1);
			}
		}
	}
}

void normalize_omitempty(const schema_type *t, json_t *obj)
{
	walk(t, obj, 0);
}
