/* crd.c — CustomResourceDefinitions become kinds: each served version of a CRD is
 * registered in the kind registry (routes, discovery, OpenAPI, Table columns), and removed
 * when the CRD goes. Not for: validating custom objects (api/crdschema.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/apiserver-internal.h"
#include "base/json.h"
#include "base/log.h"
#include "base/util.h"

static char *join(json_t *arr)
{
	if (!json_array_size(arr))
		return NULL;
	buf b = {0};
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) {
		if (b.n)
			buf_putc(&b, ',');
		buf_puts(&b, json_string_value(v) ? json_string_value(v) : "");
	}
	return buf_take(&b);
}

/* k8s: a CRD schema is named by the reversed group, the version and the kind
 * (stable.example.com, v1, CronTab -> com.example.stable.v1.CronTab). */
static char *schema_name(const char *group, const char *version, const char *kind)
{
	buf b = {0};
	_cleanup_free_ char *g = xstrdup(group);
	char *parts[32];
	int n = 0;
	char *save = NULL;
	for (char *t = strtok_r(g, ".", &save); t && n < 32; t = strtok_r(NULL, ".", &save))
		parts[n++] = t;
	for (int i = n - 1; i >= 0; i--)
		buf_printf(&b, "%s.", parts[i]);
	buf_printf(&b, "%s.%s", version, kind);
	return buf_take(&b);
}

void crd_register(json_t *crd)
{
	json_t *spec = json_object_get(crd, "spec");
	const char *group = json_string_value(json_object_get(spec, "group"));
	json_t *names = json_object_get(spec, "names");
	const char *plural = json_string_value(json_object_get(names, "plural"));
	const char *kind = json_string_value(json_object_get(names, "kind"));
	if (!group || !plural || !kind)
		return;
	const char *storage = NULL;
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(spec, "versions"), i, v) {
		if (json_is_true(json_object_get(v, "storage")))
			storage = json_string_value(json_object_get(v, "name"));
	}
	kind_unregister_custom(group, plural);
	const char *singular = json_string_value(json_object_get(names, "singular"));
	_cleanup_free_ char *lower = NULL;
	if (!singular || !*singular) {
		lower = xstrdup(kind);
		for (char *p = lower; *p; p++)
			*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
		singular = lower;
	}
	_cleanup_free_ char *shorts = join(json_object_get(names, "shortNames"));
	_cleanup_free_ char *cats = join(json_object_get(names, "categories"));
	bool namespaced = !str_eq(json_string_value(json_object_get(spec, "scope")), "Cluster");
	json_array_foreach(json_object_get(spec, "versions"), i, v) {
		if (!json_is_true(json_object_get(v, "served")))
			continue;
		const char *ver = json_string_value(json_object_get(v, "name"));
		if (!ver)
			continue;
		json_t *subs = json_object_get(v, "subresources");
		_cleanup_free_ char *sname = schema_name(group, ver, kind);
		kind_desc d = {
			.group = group,
			.version = ver,
			.kind = kind,
			.resource = plural,
			.singular = singular,
			.short_names = shorts,
			.categories = cats,
			.namespaced = namespaced,
			.subresources = (json_object_get(subs, "status") ? KIND_SUB_STATUS : 0) |
			                (json_object_get(subs, "scale") ? KIND_SUB_SCALE : 0),
			.schema = sname,
			.storage_version = storage && strcmp(storage, ver) != 0 ? storage : NULL,
			.crd_schema = json_incref(json_path(v, "schema.openAPIV3Schema")),
			.crd_columns = json_incref(json_object_get(v, "additionalPrinterColumns")),
			.crd_scale = json_incref(json_object_get(subs, "scale")),
		};
		kind_register_custom(&d);
	}
	log_info("crd: serving %s.%s", plural, group);
}

void crd_unregister(json_t *crd)
{
	const char *group = json_path_str(crd, "spec.group");
	const char *plural = json_path_str(crd, "spec.names.plural");
	if (group && plural)
		kind_unregister_custom(group, plural);
}

void crd_load_all(apiserver *s)
{
	const kind_desc *d = kind_by_resource("apiextensions.k8s.io", "v1", "customresourcedefinitions");
	_cleanup_free_ char *prefix = route_key(d, NULL, NULL);
	cache_entry *const *es;
	size_t n = cache_range(s->cache, prefix, NULL, &es);
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_loadb(es[i]->value->data, es[i]->value->len, 0, NULL);
		if (o)
			crd_register(o);
		json_decref(o);
	}
}
