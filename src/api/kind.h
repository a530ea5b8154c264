/* kind.h — the kind registry: every resource the API server serves.
 *
 * Built-in kinds come from a static table (src/api/kinds.c); CustomResourceDefinitions add
 * entries at run time. A descriptor holds the facts routing, discovery, OpenAPI, storage
 * and kubectl's Table output need. Kind-specific behaviour (defaults, validation, printer
 * columns) lives in its own modules, looked up by group and kind.
 */
#ifndef TIMON_API_KIND_H
#define TIMON_API_KIND_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

enum kind_subresource {
	KIND_SUB_STATUS = 1 << 0,
	KIND_SUB_SCALE = 1 << 1,
	KIND_SUB_BINDING = 1 << 2,  /* pods/binding */
	KIND_SUB_EVICTION = 1 << 3, /* pods/eviction */
	KIND_SUB_LOG = 1 << 4,      /* pods/log */
	KIND_SUB_EXEC = 1 << 5,     /* pods/exec, attach, portforward */
	KIND_SUB_FINALIZE = 1 << 6, /* namespaces/finalize */
	KIND_SUB_PROXY = 1 << 7,    /* pods, services, nodes /proxy */
	KIND_SUB_TOKEN = 1 << 8,    /* serviceaccounts/token (TokenRequest) */
};

typedef struct kind_desc {
	const char *group;       /* "" for the core group */
	const char *version;     /* "v1", "v2", ... */
	const char *kind;        /* "Deployment" */
	const char *resource;    /* plural, lowercase: "deployments" */
	const char *singular;    /* "deployment" */
	const char *short_names; /* comma-separated, or NULL: "deploy" */
	const char *categories;  /* comma-separated, or NULL: "all" */
	bool namespaced;
	unsigned subresources;  /* kind_subresource bits */
	const char *verbs;      /* comma-separated; NULL means the full set */
	const char *schema;     /* OpenAPI definition name, e.g. "io.k8s.api.apps.v1.Deployment" */
	const char *storage_version; /* when several versions share one resource: the one that
	                                is stored (others are converted); NULL = this one */
	/* Custom resources only (NULL for built-ins). */
	json_t *crd_schema;     /* openAPIV3Schema of this version (owned by the registry) */
	json_t *crd_columns;    /* additionalPrinterColumns (owned) */
	json_t *crd_scale;      /* subresources.scale (owned) */
	bool custom;
} kind_desc;

#define KIND_VERBS_ALL "create,delete,deletecollection,get,list,patch,update,watch"

/* Loads the built-in table. Call once at start. */
void kind_registry_init(void);
/* Lookups; NULL when unknown. group "" is core. */
const kind_desc *kind_by_resource(const char *group, const char *version, const char *resource);
const kind_desc *kind_by_gvk(const char *group, const char *version, const char *kind);
/* Any served version of group/resource, preferring the storage version; NULL when none. */
const kind_desc *kind_by_group_resource(const char *group, const char *resource);
/* Iteration over every registered kind, in registration order. */
size_t kind_count(void);
const kind_desc *kind_at(size_t i);
/* Adds a custom kind (the registry copies d and takes the json_t references). Replaces an
 * existing custom kind with the same group/version/resource. */
void kind_register_custom(const kind_desc *d);
/* Removes every custom kind of group/resource. */
void kind_unregister_custom(const char *group, const char *resource);
/* Bumped whenever the set of kinds changes (discovery and OpenAPI caches key on it). */
unsigned kind_generation(void);
/* "apps/v1" or "v1" for the core group, into out[128]. */
void kind_api_version(const kind_desc *d, char out[128]);
/* The same for any group and version ("" group: the core group's). */
void kind_join_api_version(const char *group, const char *version, char out[128]);
/* The storage key prefix of d's objects: "/registry/<resource>/" for built-ins,
 * "/registry/<group>/<resource>/" for custom kinds; with ns (namespaced kinds) and name
 * appended when given. Caller frees. */
char *kind_storage_key(const kind_desc *d, const char *ns, const char *name);
/* True when d allows verb (e.g. "watch"). */
bool kind_has_verb(const kind_desc *d, const char *verb);

#endif
