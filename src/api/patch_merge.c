/* patch_merge.c — RFC 7386 JSON merge patch, and the value equality the patch and apply
 * code share.
 *
 * Not for: strategic merge patch (patch_strategic.c), which adds list semantics and
 * directives on top of the same idea.
 */
#include <string.h>

#include "api/patch.h"
#include "base/json.h"
#include "base/util.h"

static bool num_equal(const json_t *a, const json_t *b)
{
	if (json_is_integer(a) && json_is_integer(b))
		return json_integer_value(a) == json_integer_value(b);
	return json_number_value(a) == json_number_value(b);
}

bool patch_json_equal(const json_t *a, const json_t *b)
{
	if (a == b)
		return true;
	if (!a || !b)
		return false;
	if (json_is_number(a) && json_is_number(b))
		return num_equal(a, b);
	if (json_typeof(a) != json_typeof(b))
		return false;
	switch (json_typeof(a)) {
	case JSON_OBJECT: {
		if (json_object_size(a) != json_object_size(b))
			return false;
		const char *k;
		size_t kn;
		json_t *va;
		json_object_keylen_foreach((json_t *)a, k, kn, va)
		{
			json_t *vb = json_object_getn(b, k, kn);
			if (!vb || !patch_json_equal(va, vb))
				return false;
		}
		return true;
	}
	case JSON_ARRAY: {
		size_t n = json_array_size(a);
		if (n != json_array_size(b))
			return false;
		for (size_t i = 0; i < n; i++)
			if (!patch_json_equal(json_array_get(a, i), json_array_get(b, i)))
				return false;
		return true;
	}
	case JSON_STRING:
		return json_string_length(a) == json_string_length(b) &&
		       memcmp(json_string_value(a), json_string_value(b), json_string_length(a)) ==
		           0;
	default:
		return true; /* true, false, null: same type is same value */
	}
}

/* RFC 7386 MergePatch(target, patch); target is owned and consumed, the result owned. */
static json_t *merge(json_t *target, json_t *patch)
{
	if (!json_is_object(patch)) {
		json_decref(target);
		return json_clone(patch);
	}
	if (!json_is_object(target)) {
		json_decref(target);
		target = json_object();
	}
	const char *k;
	size_t kn;
	json_t *pv;
	json_object_keylen_foreach(patch, k, kn, pv)
	{
		if (json_is_null(pv)) {
			json_object_deln(target, k, kn);
			continue;
		}
		json_t *cur = json_incref(json_object_getn(target, k, kn));
		json_object_setn_new(target, k, kn, merge(cur, pv));
	}
	return target;
}

json_t *patch_merge(json_t *doc, json_t *patch)
{
	return merge(json_clone(doc), patch);
}
