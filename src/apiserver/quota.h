/* quota.h — what objects charge against a ResourceQuota: kube's quota evaluators (pods'
 * compute resources, services, claims, object counts), quota scopes, and the usage of a
 * whole namespace counted live from the watch cache. Shared by quota admission
 * (admission_quota.c) and the resourcequota controller.
 * Not for: deciding whether a write is allowed (admission_quota.c) or writing status.
 */
#ifndef TIMON_APISERVER_QUOTA_H
#define TIMON_APISERVER_QUOTA_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "api/kind.h"
#include "base/quantity.h"
#include "store/cache.h"

/* A ResourceList: resource names and quantities, kept in insertion order. */
typedef struct rlist_entry {
	char *name;
	quantity q;
} rlist_entry;

typedef struct rlist {
	rlist_entry *v;
	size_t n, cap;
} rlist;

/* Adds q to name (a new entry takes q as is). */
void rlist_add(rlist *l, const char *name, const quantity *q);
/* Adds an integer count to name. */
void rlist_add_int(rlist *l, const char *name, int64_t n);
/* Sets name to max(current, q). */
void rlist_max(rlist *l, const char *name, const quantity *q);
/* The quantity of name, or NULL (borrowed). */
const quantity *rlist_get(const rlist *l, const char *name);
/* Reads a ResourceList object (borrowed); entries that do not parse are skipped. */
void rlist_from_json(json_t *obj, rlist *out);
/* {"name": "canonical quantity", ...} as a new object. */
json_t *rlist_to_json(const rlist *l);
/* kube's prettyPrint: "a=1,b=2" sorted by name; caller frees. */
char *rlist_pretty(const rlist *l);
void rlist_free(rlist *l);

/* k8s: the usage obj (a stored object of kind d) charges, under every resource name an
 * evaluator gives it (pods: pods, count/pods, requests.cpu, ...; any kind: count/...).
 * now_ns decides whether a terminating pod still counts. Adds into out. */
void quota_object_usage(const kind_desc *d, json_t *obj, int64_t now_ns, rlist *out);
/* k8s: a pod's effective requests or limits (which: "requests" or "limits"): the sum over
 * containers, at least any init container, sidecars added, plus the pod overhead. Adds
 * into out. */
void quota_pod_resources(json_t *pod, const char *which, rlist *out);
/* The kind whose objects charge resource name res (NULL when none is known). */
const kind_desc *quota_resource_kind(const char *res);
/* k8s: true when quota's scopes (spec.scopes and spec.scopeSelector) select obj of kind d;
 * a scoped quota selects pods only. */
bool quota_selects(json_t *quota, const kind_desc *d, json_t *obj);
/* The usage in quota's namespace of every resource name in its spec.hard (each present,
 * zero when nothing charges it), counted from the cache c. */
void quota_namespace_usage(cache *c, json_t *quota, int64_t now_ns, rlist *out);

#endif
