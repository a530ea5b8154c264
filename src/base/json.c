/* json.c — jansson helpers. */
#include "base/json.h"

#include <string.h>

#include "base/util.h"

void cleanup_jsonp(json_t **j)
{
	json_decref(*j);
}

json_t *json_path(json_t *root, const char *dotted)
{
	json_t *cur = root;
	const char *p = dotted;
	while (cur && *p) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		if (!json_is_object(cur))
			return NULL;
		cur = json_object_getn(cur, p, n);
		p += n;
		if (*p == '.')
			p++;
	}
	return cur;
}

const char *json_path_str(json_t *root, const char *dotted)
{
	json_t *v = json_path(root, dotted);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

json_t *json_obj_child(json_t *obj, const char *key)
{
	json_t *c = json_object_get(obj, key);
	if (!json_is_object(c)) {
		c = json_object();
		json_object_set_new(obj, key, c);
	}
	return c;
}

char *json_dump_compact(const json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
	if (!s)
		abort();
	return s;
}
