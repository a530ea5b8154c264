/* openapi-internal.h — shared between openapi.c (documents, cache, index),
 * openapi_paths.c (path items and operations) and openapi_schemas.c (components.schemas).
 * Not for use outside these files. */
#ifndef TIMON_API_OPENAPI_INTERNAL_H
#define TIMON_API_OPENAPI_INTERNAL_H

#include <jansson.h>

#include "api/kind.h"

#define OA_META "io.k8s.apimachinery.pkg.apis.meta.v1."
#define OA_REF_PREFIX "#/components/schemas/"

/* {"$ref": "#/components/schemas/<name>"} (new reference). */
json_t *oa_ref(const char *name);

/* The schema name of kind d: its table name for built-ins, or kube's name for a custom
 * kind (reversed group, version, kind: "com.example.stable.v1.CronTab"). suffix ("" or
 * "List") is appended. Caller frees. */
char *oa_kind_schema_name(const kind_desc *d, const char *suffix);

/* Adds the path items of resource d (collection, item, subresources) to paths. Every
 * component schema an operation references is set as a key of `want`. */
void oa_add_kind_paths(json_t *paths, const kind_desc *d, json_t *want);

/* Adds the discovery path of a group-version ("/api/v1/", "/apis/apps/v1/") or of the
 * group lists ("/api/", "/apis/") to paths; records references in want. */
void oa_add_discovery_path(json_t *paths, const char *path, const char *tag,
                           const char *op_id, const char *schema, json_t *want);

/* Adds the schema of custom kind d and of its list to schemas (d->crd_schema, with
 * metadata referencing ObjectMeta and the GVK extension); records references in want. */
void oa_add_custom_schemas(json_t *schemas, const kind_desc *d, json_t *want);

/* Adds built-in schema `name` and everything it references to schemas; a name already
 * present is left alone. Unknown names get a free-form object schema. */
void oa_add_schema(json_t *schemas, const char *name);

/* Operation-id words for a group-version: "CoreV1", "AppsV1", "RbacAuthorizationV1";
 * tag: "core_v1", "apps_v1", "rbacAuthorization_v1". Caller frees. */
char *oa_gv_camel(const char *group, const char *version);
char *oa_gv_tag(const char *group, const char *version);

#endif
