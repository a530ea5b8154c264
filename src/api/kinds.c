/* kinds.c — the built-in kind table and the registry around it.
 * Not for: kind-specific behaviour (defaults.c, validate.c, printers.c). */
#include "api/kind.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/util.h"

#define SR KIND_SUB_STATUS
#define SC KIND_SUB_SCALE
#define CORE(k, r, s, sn, cat, ns, sub)                                                   \
	{.group = "", .version = "v1", .kind = k, .resource = r, .singular = s,           \
	 .short_names = sn, .categories = cat, .namespaced = ns, .subresources = sub,       \
	 .schema = "io.k8s.api.core.v1." k}
#define GV(g, v, pkg, k, r, s, sn, cat, ns, sub)                                          \
	{.group = g, .version = v, .kind = k, .resource = r, .singular = s, .short_names = sn, \
	 .categories = cat, .namespaced = ns, .subresources = sub,                          \
	 .schema = "io.k8s.api." pkg "." v "." k}

static const kind_desc builtin[] = {
	CORE("Namespace", "namespaces", "namespace", "ns", NULL, false, SR | KIND_SUB_FINALIZE),
	CORE("Pod", "pods", "pod", "po", "all", true,
	     SR | KIND_SUB_BINDING | KIND_SUB_EVICTION | KIND_SUB_LOG | KIND_SUB_EXEC | KIND_SUB_PROXY),
	CORE("Service", "services", "service", "svc", "all", true, SR | KIND_SUB_PROXY),
	CORE("Endpoints", "endpoints", "endpoints", "ep", NULL, true, 0),
	CORE("ConfigMap", "configmaps", "configmap", "cm", NULL, true, 0),
	CORE("Secret", "secrets", "secret", NULL, NULL, true, 0),
	CORE("ServiceAccount", "serviceaccounts", "serviceaccount", "sa", NULL, true, KIND_SUB_TOKEN),
	CORE("Node", "nodes", "node", "no", NULL, false, SR | KIND_SUB_PROXY),
	CORE("Event", "events", "event", "ev", NULL, true, 0),
	CORE("PersistentVolume", "persistentvolumes", "persistentvolume", "pv", NULL, false, SR),
	CORE("PersistentVolumeClaim", "persistentvolumeclaims", "persistentvolumeclaim", "pvc", NULL,
	     true, SR),
	CORE("ResourceQuota", "resourcequotas", "resourcequota", "quota", NULL, true, SR),
	CORE("LimitRange", "limitranges", "limitrange", "limits", NULL, true, 0),
	GV("apps", "v1", "apps", "Deployment", "deployments", "deployment", "deploy", "all", true,
	   SR | SC),
	GV("apps", "v1", "apps", "ReplicaSet", "replicasets", "replicaset", "rs", "all", true, SR | SC),
	GV("apps", "v1", "apps", "StatefulSet", "statefulsets", "statefulset", "sts", "all", true,
	   SR | SC),
	GV("apps", "v1", "apps", "DaemonSet", "daemonsets", "daemonset", "ds", "all", true, SR),
	GV("apps", "v1", "apps", "ControllerRevision", "controllerrevisions", "controllerrevision",
	   NULL, NULL, true, 0),
	GV("batch", "v1", "batch", "Job", "jobs", "job", NULL, "all", true, SR),
	GV("batch", "v1", "batch", "CronJob", "cronjobs", "cronjob", "cj", "all", true, SR),
	GV("autoscaling", "v2", "autoscaling", "HorizontalPodAutoscaler", "horizontalpodautoscalers",
	   "horizontalpodautoscaler", "hpa", "all", true, SR),
	{.group = "autoscaling", .version = "v1", .kind = "HorizontalPodAutoscaler",
	 .resource = "horizontalpodautoscalers", .singular = "horizontalpodautoscaler",
	 .short_names = "hpa", .categories = "all", .namespaced = true, .subresources = SR,
	 .schema = "io.k8s.api.autoscaling.v1.HorizontalPodAutoscaler", .storage_version = "v2"},
	GV("networking.k8s.io", "v1", "networking", "Ingress", "ingresses", "ingress", "ing", NULL,
	   true, SR),
	GV("networking.k8s.io", "v1", "networking", "IngressClass", "ingressclasses", "ingressclass",
	   NULL, NULL, false, 0),
	GV("networking.k8s.io", "v1", "networking", "NetworkPolicy", "networkpolicies",
	   "networkpolicy", "netpol", NULL, true, 0),
	GV("discovery.k8s.io", "v1", "discovery", "EndpointSlice", "endpointslices", "endpointslice",
	   NULL, NULL, true, 0),
	GV("certificates.k8s.io", "v1", "certificates", "CertificateSigningRequest",
	   "certificatesigningrequests", "certificatesigningrequest", "csr", NULL, false, SR),
	GV("coordination.k8s.io", "v1", "coordination", "Lease", "leases", "lease", NULL, NULL, true,
	   0),
	GV("events.k8s.io", "v1", "events", "Event", "events", "event", "ev", NULL, true, 0),
	GV("rbac.authorization.k8s.io", "v1", "rbac", "Role", "roles", "role", NULL, NULL, true, 0),
	GV("rbac.authorization.k8s.io", "v1", "rbac", "ClusterRole", "clusterroles", "clusterrole",
	   NULL, NULL, false, 0),
	GV("rbac.authorization.k8s.io", "v1", "rbac", "RoleBinding", "rolebindings", "rolebinding",
	   NULL, NULL, true, 0),
	GV("rbac.authorization.k8s.io", "v1", "rbac", "ClusterRoleBinding", "clusterrolebindings",
	   "clusterrolebinding", NULL, NULL, false, 0),
	GV("storage.k8s.io", "v1", "storage", "StorageClass", "storageclasses", "storageclass", "sc",
	   NULL, false, 0),
	GV("scheduling.k8s.io", "v1", "scheduling", "PriorityClass", "priorityclasses",
	   "priorityclass", "pc", NULL, false, 0),
	GV("policy", "v1", "policy", "PodDisruptionBudget", "poddisruptionbudgets",
	   "poddisruptionbudget", "pdb", NULL, true, SR),
	GV("node.k8s.io", "v1", "node", "RuntimeClass", "runtimeclasses", "runtimeclass", NULL, NULL,
	   false, 0),
	{.group = "apiextensions.k8s.io", .version = "v1", .kind = "CustomResourceDefinition",
	 .resource = "customresourcedefinitions", .singular = "customresourcedefinition",
	 .short_names = "crd,crds", .categories = "api-extensions", .namespaced = false,
	 .subresources = SR,
	 .schema = "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition"},
	{.group = "authentication.k8s.io", .version = "v1", .kind = "SelfSubjectReview",
	 .resource = "selfsubjectreviews", .singular = "selfsubjectreview", .verbs = "create",
	 .schema = "io.k8s.api.authentication.v1.SelfSubjectReview"},
	{.group = "authentication.k8s.io", .version = "v1", .kind = "TokenReview",
	 .resource = "tokenreviews", .singular = "tokenreview", .verbs = "create",
	 .schema = "io.k8s.api.authentication.v1.TokenReview"},
	{.group = "authorization.k8s.io", .version = "v1", .kind = "SelfSubjectAccessReview",
	 .resource = "selfsubjectaccessreviews", .singular = "selfsubjectaccessreview",
	 .verbs = "create", .schema = "io.k8s.api.authorization.v1.SelfSubjectAccessReview"},
	{.group = "authorization.k8s.io", .version = "v1", .kind = "SelfSubjectRulesReview",
	 .resource = "selfsubjectrulesreviews", .singular = "selfsubjectrulesreview",
	 .verbs = "create", .schema = "io.k8s.api.authorization.v1.SelfSubjectRulesReview"},
	{.group = "authorization.k8s.io", .version = "v1", .kind = "SubjectAccessReview",
	 .resource = "subjectaccessreviews", .singular = "subjectaccessreview", .verbs = "create",
	 .schema = "io.k8s.api.authorization.v1.SubjectAccessReview"},
};

static kind_desc **kinds;
static size_t nkinds;
static unsigned generation;

void kind_registry_init(void)
{
	if (kinds)
		return;
	kinds = xcalloc(ARRAY_SIZE(builtin), sizeof *kinds);
	for (size_t i = 0; i < ARRAY_SIZE(builtin); i++)
		kinds[nkinds++] = (kind_desc *)&builtin[i];
	generation++;
}

const kind_desc *kind_by_resource(const char *group, const char *version, const char *resource)
{
	for (size_t i = 0; i < nkinds; i++) {
		const kind_desc *d = kinds[i];
		if (str_eq(d->resource, resource) && str_eq(d->group, group) &&
		    str_eq(d->version, version))
			return d;
	}
	return NULL;
}

const kind_desc *kind_by_gvk(const char *group, const char *version, const char *kind)
{
	for (size_t i = 0; i < nkinds; i++) {
		const kind_desc *d = kinds[i];
		if (str_eq(d->kind, kind) && str_eq(d->group, group) && str_eq(d->version, version))
			return d;
	}
	return NULL;
}

const kind_desc *kind_by_group_resource(const char *group, const char *resource)
{
	const kind_desc *any = NULL;
	for (size_t i = 0; i < nkinds; i++) {
		const kind_desc *d = kinds[i];
		if (!str_eq(d->resource, resource) || !str_eq(d->group, group))
			continue;
		if (!d->storage_version)
			return d;
		if (!any)
			any = d;
	}
	return any;
}

size_t kind_count(void)
{
	return nkinds;
}

const kind_desc *kind_at(size_t i)
{
	return i < nkinds ? kinds[i] : NULL;
}

static void free_custom(kind_desc *d)
{
	free((char *)d->group);
	free((char *)d->version);
	free((char *)d->kind);
	free((char *)d->resource);
	free((char *)d->singular);
	free((char *)d->short_names);
	free((char *)d->categories);
	free((char *)d->verbs);
	free((char *)d->schema);
	free((char *)d->storage_version);
	json_decref(d->crd_schema);
	json_decref(d->crd_columns);
	json_decref(d->crd_scale);
	free(d);
}

void kind_register_custom(const kind_desc *src)
{
	kind_desc *d = xmalloc(sizeof *d);
	*d = *src;
	d->group = xstrdup(src->group);
	d->version = xstrdup(src->version);
	d->kind = xstrdup(src->kind);
	d->resource = xstrdup(src->resource);
	d->singular = xstrdup(src->singular);
	d->short_names = xstrdup(src->short_names);
	d->categories = xstrdup(src->categories);
	d->verbs = xstrdup(src->verbs);
	d->schema = xstrdup(src->schema);
	d->storage_version = xstrdup(src->storage_version);
	d->custom = true;
	for (size_t i = 0; i < nkinds; i++) {
		kind_desc *o = kinds[i];
		if (o->custom && str_eq(o->group, d->group) && str_eq(o->version, d->version) &&
		    str_eq(o->resource, d->resource)) {
			free_custom(o);
			kinds[i] = d;
			generation++;
			return;
		}
	}
	kinds = xrealloc(kinds, (nkinds + 1) * sizeof *kinds);
	kinds[nkinds++] = d;
	generation++;
}

void kind_unregister_custom(const char *group, const char *resource)
{
	size_t j = 0;
	for (size_t i = 0; i < nkinds; i++) {
		kind_desc *o = kinds[i];
		if (o->custom && str_eq(o->group, group) && str_eq(o->resource, resource)) {
			free_custom(o);
			continue;
		}
		kinds[j++] = o;
	}
	if (j != nkinds)
		generation++;
	nkinds = j;
}

unsigned kind_generation(void)
{
	return generation;
}

void kind_join_api_version(const char *group, const char *version, char out[128])
{
	size_t n = 0;
	if (group[0]) {
		n = str_put(out, 128, group);
		n += str_put(out + n, 128 - n, "/");
	}
	str_put(out + n, 128 - n, version);
}

void kind_api_version(const kind_desc *d, char out[128])
{
	kind_join_api_version(d->group, d->version, out);
}

bool kind_has_verb(const kind_desc *d, const char *verb)
{
	const char *v = d->verbs ? d->verbs : KIND_VERBS_ALL;
	size_t n = strlen(verb);
	while (*v) {
		const char *e = strchr(v, ',');
		size_t len = e ? (size_t)(e - v) : strlen(v);
		if (len == n && memcmp(v, verb, n) == 0)
			return true;
		if (!e)
			break;
		v = e + 1;
	}
	return false;
}

char *kind_storage_key(const kind_desc *d, const char *ns, const char *name)
{
	/* k8s: keys follow kube-apiserver's layout, /registry/<resource>/<namespace>/<name>. */
	const char *g = d->custom ? d->group : NULL;
	const char *n = d->namespaced ? ns : NULL;
	/* Not through printf: every event an informer sees asks for a key, and printf's
	 * machinery was a few percent of the loop. */
	const char *parts[] = {"/registry/", g ? g : "", g ? "/" : "", d->resource, "/",
	                       n ? n : "",   n ? "/" : "", name ? name : ""};
	buf key = {0};
	buf_reserve(&key, 64);
	for (size_t i = 0; i < ARRAY_SIZE(parts); i++)
		buf_puts(&key, parts[i]);
	return buf_take(&key);
}
