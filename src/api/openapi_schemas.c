/* openapi_schemas.c — components.schemas of the OpenAPI v3 documents.
 *
 * Turns entries of the schema table (api/schema.h) into OpenAPI v3 schemas the way
 * kube-openapi writes them (refs, formats, zero defaults, patch and list extensions), adds
 * the special types (Quantity, Time, IntOrString, RawExtension...) and wraps custom kinds'
 * CRD schemas. Not for: paths and operations (openapi_paths.c), caching (openapi.c).
 */
#include <stdlib.h>
#include <string.h>

#include "api/openapi-internal.h"
#include "api/schema.h"
#include "base/buf.h"
#include "base/json.h"
#include "base/util.h"

#define OA_QUANTITY "io.k8s.apimachinery.pkg.api.resource.Quantity"
#define OA_INTSTR "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
#define OA_RAWEXT "io.k8s.apimachinery.pkg.runtime.RawExtension"
#define OA_APIEXT "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1."

json_t *oa_ref(const char *name)
{
	_cleanup_free_ char *r = xasprintf(OA_REF_PREFIX "%s", name);
	return json_pack("{s:s}", "$ref", r);
}

/* Types whose every use is atomic (+structType=atomic): their component carries
 * x-kubernetes-map-type. Derived from the fields that point at them. */
static const unsigned char *atomic_types(void)
{
	static unsigned char *atomic;
	if (atomic)
		return atomic;
	atomic = xcalloc(schema_ntypes, 1);
	for (size_t i = 0; i < schema_ntypes; i++) {
		const schema_type *t = &schema_types[i];
		for (size_t j = 0; j < t->nfields; j++) {
			const schema_field *f = &t->fields[j];
			if (f->kind == SCHEMA_OBJECT && f->type && (f->flags & SCHEMA_F_MAP_ATOMIC) &&
			    !(f->flags & SCHEMA_F_INLINE))
				atomic[f->type - schema_types] = 1;
		}
	}
	return atomic;
}

/* The component name a RAW value refers to; the table knows only that it is raw JSON. */
static const char *raw_name(const schema_type *owner, const schema_field *f)
{
	if (str_has_prefix(owner->name, OA_APIEXT))
		return OA_APIEXT "JSON";
	if (str_eq(f->json, "fieldsV1"))
		return OA_META "FieldsV1";
	return OA_RAWEXT;
}

/* A schema that accepts any value. kubectl explain needs it non-empty. */
static json_t *any_schema(const char *what)
{
	return json_pack("{s:s}", "description", what);
}

static json_t *with_default(json_t *s, bool zero_default, json_t *zero)
{
	if (zero_default)
		json_object_set_new(s, "default", zero);
	else
		json_decref(zero);
	return s;
}

/* The schema of one value of `kind`. zero_default: kube-openapi writes the Go zero value
 * as "default" for non-pointer values that are always serialized (and for elements). */
static json_t *value_schema(json_t *schemas, const schema_type *owner, const schema_field *f,
                            int kind, const schema_type *type, bool zero_default)
{
	switch (kind) {
	case SCHEMA_STRING:
		return with_default(json_pack("{s:s}", "type", "string"), zero_default,
		                    json_string(""));
	case SCHEMA_BOOL:
		return with_default(json_pack("{s:s}", "type", "boolean"), zero_default,
		                    json_false());
	case SCHEMA_INT32:
	case SCHEMA_INT64:
		return with_default(json_pack("{s:s,s:s}", "type", "integer", "format",
		                              kind == SCHEMA_INT32 ? "int32" : "int64"),
		                    zero_default, json_integer(0));
	case SCHEMA_DOUBLE:
		return with_default(json_pack("{s:s,s:s}", "type", "number", "format", "double"),
		                    zero_default, json_real(0));
	case SCHEMA_BYTES:
		return json_pack("{s:s,s:s}", "type", "string", "format", "byte");
	case SCHEMA_QUANTITY:
		oa_add_schema(schemas, OA_QUANTITY);
		return oa_ref(OA_QUANTITY);
	case SCHEMA_TIME:
		oa_add_schema(schemas, OA_META "Time");
		return oa_ref(OA_META "Time");
	case SCHEMA_MICROTIME:
		oa_add_schema(schemas, OA_META "MicroTime");
		return oa_ref(OA_META "MicroTime");
	case SCHEMA_DURATION:
		return json_pack("{s:s}", "type", "string");
	case SCHEMA_INT_OR_STRING:
		oa_add_schema(schemas, OA_INTSTR);
		return oa_ref(OA_INTSTR);
	case SCHEMA_RAW: {
		const char *n = raw_name(owner, f);
		oa_add_schema(schemas, n);
		return oa_ref(n);
	}
	case SCHEMA_OBJECT: {
		if (!type)
			return json_pack("{s:s}", "type", "object");
		oa_add_schema(schemas, type->name);
		json_t *ref = oa_ref(type->name);
		if (!zero_default)
			return ref;
		/* k8s: v3 puts siblings of a $ref under allOf (here: the {} default). */
		return json_pack("{s:[o],s:{}}", "allOf", ref, "default");
	}
	case SCHEMA_ARRAY: /* an element that is itself an array: a wrapped slice (ExtraValue) */
		if (type && type->nfields == 1)
			return json_pack("{s:s,s:o}", "type", "array", "items",
			                 value_schema(schemas, owner, &type->fields[0],
			                              type->fields[0].elem, NULL, true));
		return json_pack("{s:s}", "type", "array");
	default: /* SCHEMA_ANY: free-form; a named union (JSONSchemaPropsOrArray...) when typed */
		if (!type)
			return any_schema("Any JSON value.");
		oa_add_schema(schemas, type->name);
		return oa_ref(type->name);
	}
}

static json_t *field_schema(json_t *schemas, const schema_type *owner, const schema_field *f)
{
	bool always = !(f->flags & (SCHEMA_F_OMITEMPTY | SCHEMA_F_POINTER));
	json_t *s;
	if (f->kind == SCHEMA_ARRAY) {
		s = json_pack("{s:s,s:o}", "type", "array", "items",
		              value_schema(schemas, owner, f, f->elem,
		                           f->elem == SCHEMA_OBJECT ? f->type : NULL, true));
		if (f->list_type)
			json_object_set_new(s, "x-kubernetes-list-type", json_string(f->list_type));
		if (f->list_map_keys) {
			json_t *keys = json_array();
			const char *k = f->list_map_keys;
			while (*k) {
				const char *e = strchr(k, ',');
				size_t n = e ? (size_t)(e - k) : strlen(k);
				json_array_append_new(keys, json_stringn(k, n));
				k += n + (e ? 1 : 0);
			}
			json_object_set_new(s, "x-kubernetes-list-map-keys", keys);
		}
	} else if (f->kind == SCHEMA_MAP) {
		s = json_pack("{s:s,s:o}", "type", "object", "additionalProperties",
		              value_schema(schemas, owner, f, f->elem, f->type, true));
		if (f->flags & SCHEMA_F_MAP_ATOMIC)
			json_object_set_new(s, "x-kubernetes-map-type", json_string("atomic"));
	} else {
		s = value_schema(schemas, owner, f, f->kind, f->type,
		                 f->kind == SCHEMA_OBJECT ? !(f->flags & SCHEMA_F_POINTER) : always);
	}
	if (f->patch_strategy || f->patch_merge_key) {
		/* Siblings of a bare $ref move it under allOf. */
		json_t *ref = json_object_get(s, "$ref");
		if (ref && json_object_size(s) == 1) {
			json_t *w = json_pack("{s:[O]}", "allOf", s);
			json_decref(s);
			s = w;
		}
		if (f->patch_strategy)
			json_object_set_new(s, "x-kubernetes-patch-strategy",
			                    json_string(f->patch_strategy));
		if (f->patch_merge_key)
			json_object_set_new(s, "x-kubernetes-patch-merge-key",
			                    json_string(f->patch_merge_key));
	}
	return s;
}

/* Adds t's fields to props/required, flattening inline members. */
static void add_fields(json_t *schemas, const schema_type *t, json_t *props, json_t *required)
{
	for (size_t i = 0; i < t->nfields; i++) {
		const schema_field *f = &t->fields[i];
		if (f->flags & SCHEMA_F_INLINE) {
			/* k8s: an inline struct's members are the parent's properties */
			if (f->type)
				add_fields(schemas, f->type, props, required);
			continue;
		}
		json_object_set_new(props, f->json, field_schema(schemas, t, f));
		if (f->flags & SCHEMA_F_REQUIRED)
			json_array_append_new(required, json_string(f->json));
	}
}

static json_t *gvk(const char *group, const char *version, const char *kind)
{
	return json_pack("{s:s,s:s,s:s}", "group", group, "kind", kind, "version", version);
}

static int gvk_cmp(const void *a, const void *b)
{
	json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	int c = strcmp(json_string_value(json_object_get(x, "group")),
	               json_string_value(json_object_get(y, "group")));
	return c ? c
	         : strcmp(json_string_value(json_object_get(x, "version")),
	                  json_string_value(json_object_get(y, "version")));
}

/* [{group,kind,version}] for kind in the core group and in every served group-version:
 * how kube marks the meta types every group uses (DeleteOptions, WatchEvent). */
static json_t *gvk_everywhere(const char *kind)
{
	json_t *list = json_array();
	json_array_append_new(list, gvk("", "v1", kind));
	size_t n = kind_count(), m = 1;
	for (size_t i = 0; i < n; i++) {
		const kind_desc *d = kind_at(i);
		if (!d->group[0])
			continue;
		bool seen = false;
		for (size_t j = 0; j < json_array_size(list) && !seen; j++) {
			json_t *e = json_array_get(list, j);
			seen = str_eq(json_string_value(json_object_get(e, "group")), d->group) &&
			       str_eq(json_string_value(json_object_get(e, "version")), d->version);
		}
		if (!seen) {
			json_array_append_new(list, gvk(d->group, d->version, kind));
			m++;
		}
	}
	json_t **v = xcalloc(m, sizeof *v);
	for (size_t i = 0; i < m; i++)
		v[i] = json_incref(json_array_get(list, i));
	qsort(v, m, sizeof *v, gvk_cmp);
	json_array_clear(list);
	for (size_t i = 0; i < m; i++)
		json_array_append_new(list, v[i]);
	free(v);
	return list;
}

/* Components that are not built from the table. NULL when name is not one of them. */
static json_t *special_schema(const char *name)
{
	if (str_eq(name, OA_QUANTITY))
		return json_pack("{s:[{s:s},{s:s}]}", "oneOf", "type", "string", "type", "number");
	if (str_eq(name, OA_INTSTR))
		return json_pack("{s:s,s:[{s:s},{s:s}]}", "format", "int-or-string", "oneOf", "type",
		                 "integer", "type", "string");
	if (str_eq(name, OA_META "Time") || str_eq(name, OA_META "MicroTime"))
		return json_pack("{s:s,s:s}", "type", "string", "format", "date-time");
	if (str_eq(name, OA_RAWEXT) || str_eq(name, OA_META "FieldsV1") ||
	    str_eq(name, OA_META "Patch"))
		return json_pack("{s:s}", "type", "object");
	if (str_eq(name, OA_APIEXT "JSON"))
		return any_schema("Any JSON value.");
	if (str_eq(name, OA_APIEXT "JSONSchemaPropsOrArray"))
		return any_schema("A JSON schema, or an array of JSON schemas.");
	if (str_eq(name, OA_APIEXT "JSONSchemaPropsOrBool"))
		return any_schema("A JSON schema, or a boolean.");
	if (str_eq(name, OA_APIEXT "JSONSchemaPropsOrStringArray"))
		return any_schema("A JSON schema, or an array of strings.");
	return NULL;
}

void oa_add_schema(json_t *schemas, const char *name)
{
	if (json_object_get(schemas, name))
		return;
	json_t *sp = special_schema(name);
	if (sp) {
		json_object_set_new(schemas, name, sp);
		return;
	}
	const schema_type *t = schema_find(name);
	if (!t) {
		json_object_set_new(schemas, name,
		                    json_pack("{s:s,s:b}", "type", "object",
		                              "x-kubernetes-preserve-unknown-fields", 1));
		return;
	}
	/* Registered before its fields so that recursive types (JSONSchemaProps) end. */
	json_t *s = json_object();
	json_object_set_new(schemas, name, s);
	json_t *props = json_object(), *required = json_array();
	add_fields(schemas, t, props, required);
	if (json_object_size(props))
		json_object_set_new(s, "properties", props);
	else
		json_decref(props);
	if (json_array_size(required))
		json_object_set_new(s, "required", required);
	else
		json_decref(required);
	json_object_set_new(s, "type", json_string("object"));
	if (atomic_types()[t - schema_types])
		json_object_set_new(s, "x-kubernetes-map-type", json_string("atomic"));
	/* k8s: top-level kinds carry x-kubernetes-group-version-kind; of the meta types,
	 * Status is core v1 and DeleteOptions/WatchEvent are listed for every group. */
	if (str_eq(name, OA_META "DeleteOptions") || str_eq(name, OA_META "WatchEvent"))
		json_object_set_new(s, "x-kubernetes-group-version-kind", gvk_everywhere(t->kind));
	else if (t->kind && (!str_has_prefix(name, OA_META) || str_eq(name, OA_META "Status")))
		json_object_set_new(s, "x-kubernetes-group-version-kind",
		                    json_pack("[o]", gvk(t->group, t->version, t->kind)));
}

char *oa_kind_schema_name(const kind_desc *d, const char *suffix)
{
	if (!d->custom && d->schema)
		return xasprintf("%s%s", d->schema, suffix);
	/* k8s: CRD definitions are named <reversed group>.<version>.<Kind> */
	buf b = {0};
	const char *g = d->group, *end = g + strlen(g);
	while (end > g) {
		const char *dot = end;
		while (dot > g && dot[-1] != '.')
			dot--;
		buf_add(&b, dot, (size_t)(end - dot));
		buf_putc(&b, '.');
		end = dot > g ? dot - 1 : g;
	}
	buf_printf(&b, "%s.%s%s", d->version, d->kind, suffix);
	return buf_take(&b);
}

void oa_add_custom_schemas(json_t *schemas, const kind_desc *d, json_t *want)
{
	_cleanup_free_ char *name = oa_kind_schema_name(d, "");
	_cleanup_free_ char *list = oa_kind_schema_name(d, "List");
	_cleanup_free_ char *list_kind = xasprintf("%sList", d->kind);
	json_t *s = d->crd_schema && json_is_object(d->crd_schema)
	                ? json_clone(d->crd_schema)
	                : json_pack("{s:s,s:b}", "type", "object",
	                            "x-kubernetes-preserve-unknown-fields", 1);
	json_t *props = json_object_get(s, "properties");
	if (!json_is_object(props)) {
		props = json_object();
		json_object_set_new(s, "properties", props);
	}
	/* k8s: a CRD's published schema gets apiVersion, kind and metadata (ObjectMeta). */
	json_object_set_new(props, "apiVersion", json_pack("{s:s}", "type", "string"));
	json_object_set_new(props, "kind", json_pack("{s:s}", "type", "string"));
	json_object_set_new(props, "metadata", oa_ref(OA_META "ObjectMeta"));
	if (!json_object_get(s, "type"))
		json_object_set_new(s, "type", json_string("object"));
	json_object_set_new(s, "x-kubernetes-group-version-kind",
	                    json_pack("[o]", gvk(d->group, d->version, d->kind)));
	json_object_set_new(schemas, name, s);

	json_t *l = json_pack("{s:{s:{s:s},s:{s:s,s:o},s:{s:s},s:o},s:[s],s:s,s:[o]}",
	                      "properties", "apiVersion", "type", "string", "items", "type",
	                      "array", "items", oa_ref(name), "kind", "type", "string",
	                      "metadata", oa_ref(OA_META "ListMeta"), "required", "items",
	                      "type", "object", "x-kubernetes-group-version-kind",
	                      gvk(d->group, d->version, list_kind));
	json_object_set_new(schemas, list, l);
	json_object_set_new(want, OA_META "ObjectMeta", json_true());
	json_object_set_new(want, OA_META "ListMeta", json_true());
}
