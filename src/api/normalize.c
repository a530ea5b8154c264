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

/* Member by member (an object sets a few of its type's fields; looking each field up in it
 * cost a hash of every field name the type has). */
static void walk(const schema_type *t, json_t *obj, int depth)
{
	if (!t || !json_is_object(obj) || depth > 64)
		return;
	const char *key;
	json_t *v;
	void *next;
	json_object_foreach_safe(obj, next, key, v)
	{
		/* an inline (embedded) struct's fields are found among the parent's */
		const schema_field *f = schema_field_json(t, key);
		if (!f)
			continue;
		/* k8s: omitempty drops "", 0, false, nil and empty slices and maps; a pointer
		 * to a zero value is not nil and stays. */
		if ((f->flags & SCHEMA_F_OMITEMPTY) &&
		    (json_is_null(v) || (!(f->flags & SCHEMA_F_POINTER) && is_empty(f, v)))) {
			json_object_del(obj, key);
			continue;
		}
		if (!f->type)
			continue;
		if (f->kind == SCHEMA_OBJECT) {
			walk(f->type, v, depth + 1);
		} else if ((f->kind == SCHEMA_ARRAY || f->kind == SCHEMA_MAP) && f->elem == SCHEMA_OBJECT) {
			size_t k;
			json_t *e;
			const char *ekey;
			if (json_is_array(v)) {
				json_array_foreach(v, k, e) walk(f->type, e, depth + 1);
			} else if (json_is_object(v)) {
				json_object_foreach(v, ekey, e) walk(f->type, e, depth + 1);
			}
		}
	}
}

void normalize_omitempty(const schema_type *t, json_t *obj)
{
	walk(t, obj, 0);
}
