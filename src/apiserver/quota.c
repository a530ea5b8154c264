/* quota.c — ResourceQuota usage: resource lists, kube's evaluators for pods (compute
 * resources as the scheduler sums them), services, persistent volume claims and generic
 * object counts, quota scopes, and a namespace's usage counted from the watch cache.
 * Not for: admission decisions (admission_quota.c) or quota status (the controller).
 */
#include "apiserver/quota.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/util.h"

/* ---------- resource lists ---------- */

static rlist_entry *find(const rlist *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].name, name) == 0)
			return &l->v[i];
	return NULL;
}

static rlist_entry *append(rlist *l, const char *name, const quantity *q)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		l->v = xrealloc(l->v, l->cap * sizeof *l->v);
	}
	rlist_entry *e = &l->v[l->n++];
	e->name = xstrdup(name);
	e->q = *q;
	return e;
}

void rlist_add(rlist *l, const char *name, const quantity *q)
{
	rlist_entry *e = find(l, name);
	if (e)
		quantity_add(&e->q, q);
	else
		append(l, name, q);
}

void rlist_add_int(rlist *l, const char *name, int64_t n)
{
	quantity q;
	quantity_from_int(&q, n, QUANTITY_DECIMAL_SI);
	rlist_add(l, name, &q);
}

void rlist_max(rlist *l, const char *name, const quantity *q)
{
	rlist_entry *e = find(l, name);
	if (!e)
		append(l, name, q);
	else if (quantity_cmp(q, &e->q) > 0)
		e->q = *q;
}

const quantity *rlist_get(const rlist *l, const char *name)
{
	rlist_entry *e = find(l, name);
	return e ? &e->q : NULL;
}

void rlist_from_json(json_t *obj, rlist *out)
{
	const char *k;
	json_t *v;
	json_object_foreach(obj, k, v)
	{
		quantity q;
		if (quantity_parse_json(v, &q, NULL) == 0)
			rlist_add(out, k, &q);
	}
}

json_t *rlist_to_json(const rlist *l)
{
	json_t *o = json_object();
	for (size_t i = 0; i < l->n; i++) {
		char *s = quantity_canonical(&l->v[i].q);
		json_object_set_new(o, l->v[i].name, json_string(s));
		free(s);
	}
	return o;
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const rlist_entry *)a)->name, ((const rlist_entry *)b)->name);
}

char *rlist_pretty(const rlist *l)
{
	rlist_entry *sorted = xcalloc(l->n ? l->n : 1, sizeof *sorted);
	memcpy(sorted, l->v, l->n * sizeof *sorted);
	qsort(sorted, l->n, sizeof *sorted, cmp_entry);
	char *out = xstrdup("");
	for (size_t i = 0; i < l->n; i++) {
		char *q = quantity_canonical(&sorted[i].q);
		char *next = xasprintf("%s%s%s=%s", out, i ? "," : "", sorted[i].name, q);
		free(q);
		free(out);
		out = next;
	}
	free(sorted);
	return out;
}

void rlist_free(rlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].name);
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

/* ---------- pods ---------- */

static bool is_kind(const kind_desc *d, const char *group, const char *resource)
{
	return d && str_eq(d->group, group) && str_eq(d->resource, resource);
}

/* k8s: a pod stops counting once terminal, or once stuck terminating past its grace. */
static bool pod_counts(json_t *pod, int64_t now_ns)
{
	const char *phase = json_path_str(pod, "status.phase");
	if (str_eq(phase, "Succeeded") || str_eq(phase, "Failed"))
		return false;
	const char *del = json_path_str(pod, "metadata.deletionTimestamp");
	json_t *grace = json_path(pod, "metadata.deletionGracePeriodSeconds");
	int64_t t;
	if (del && json_is_integer(grace) && time_parse_rfc3339(del, &t) == 0 &&
	    now_ns > t + json_integer_value(grace) * 1000000000LL)
		return false;
	return true;
}

static bool is_sidecar(json_t *c)
{
	return str_eq(json_string_value(json_object_get(c, "restartPolicy")), "Always");
}

/* k8s: PodRequests/PodLimits: the sum over containers, at least any init container
 * (plus the sidecars started before it), sidecars added, then the pod overhead (for
 * limits only where a limit is set). This shape is resourcehelper's. */
void quota_pod_resources(json_t *pod, const char *which, rlist *out)
{
	json_t *spec = json_object_get(pod, "spec");
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(spec, "containers"), i, c)
	    rlist_from_json(json_path(json_object_get(c, "resources"), which), out);
	rlist sidecars = {0}, init = {0};
	json_array_foreach(json_object_get(spec, "initContainers"), i, c)
	{
		rlist mine = {0};
		rlist_from_json(json_path(json_object_get(c, "resources"), which), &mine);
		if (is_sidecar(c)) {
			for (size_t k = 0; k < mine.n; k++) {
				rlist_add(out, mine.v[k].name, &mine.v[k].q);
				rlist_add(&sidecars, mine.v[k].name, &mine.v[k].q);
			}
			for (size_t k = 0; k < sidecars.n; k++)
				rlist_max(&init, sidecars.v[k].name, &sidecars.v[k].q);
		} else {
			for (size_t k = 0; k < sidecars.n; k++)
				rlist_add(&mine, sidecars.v[k].name, &sidecars.v[k].q);
			for (size_t k = 0; k < mine.n; k++)
				rlist_max(&init, mine.v[k].name, &mine.v[k].q);
		}
		rlist_free(&mine);
	}
	for (size_t k = 0; k < init.n; k++)
		rlist_max(out, init.v[k].name, &init.v[k].q);
	rlist_free(&init);
	rlist_free(&sidecars);
	rlist overhead = {0};
	rlist_from_json(json_object_get(spec, "overhead"), &overhead);
	bool limits = strcmp(which, "limits") == 0;
	for (size_t k = 0; k < overhead.n; k++)
		if (!limits || rlist_get(out, overhead.v[k].name))
			rlist_add(out, overhead.v[k].name, &overhead.v[k].q);
	rlist_free(&overhead);
}

/* k8s: extended resources are those outside kubernetes.io that name a domain. */
static bool is_extended(const char *name)
{
	return strchr(name, '/') && !strstr(name, "kubernetes.io/") &&
	       !str_has_prefix(name, "requests.");
}

/* k8s: podComputeUsageHelper: which quota names requests and limits charge. */
static void pod_compute_usage(rlist *req, rlist *lim, rlist *out)
{
	static const char *const plain[] = {"cpu", "memory", "ephemeral-storage"};
	for (size_t i = 0; i < ARRAY_SIZE(plain); i++) {
		char name[64];
		const quantity *q = rlist_get(req, plain[i]);
		if (q) {
			rlist_add(out, plain[i], q);
			snprintf(name, sizeof name, "requests.%s", plain[i]);
			rlist_add(out, name, q);
		}
		q = rlist_get(lim, plain[i]);
		if (q) {
			snprintf(name, sizeof name, "limits.%s", plain[i]);
			rlist_add(out, name, q);
		}
	}
	for (size_t i = 0; i < req->n; i++) {
		const char *n = req->v[i].name;
		char *masked = xasprintf("requests.%s", n);
		if (str_has_prefix(n, "hugepages-")) {
			rlist_add(out, n, &req->v[i].q);
			rlist_add(out, masked, &req->v[i].q);
		} else if (is_extended(n)) {
			rlist_add(out, masked, &req->v[i].q);
		}
		free(masked);
	}
}

static void pod_usage(json_t *pod, int64_t now_ns, rlist *out)
{
	/* k8s: count/pods counts every stored pod; pods and compute only live ones. */
	rlist_add_int(out, "count/pods", 1);
	if (!pod_counts(pod, now_ns))
		return;
	rlist_add_int(out, "pods", 1);
	rlist req = {0}, lim = {0};
	quota_pod_resources(pod, "requests", &req);
	quota_pod_resources(pod, "limits", &lim);
	pod_compute_usage(&req, &lim, out);
	rlist_free(&req);
	rlist_free(&lim);
}

/* ---------- services and claims ---------- */

static void service_usage(json_t *svc, rlist *out)
{
	rlist_add_int(out, "count/services", 1);
	rlist_add_int(out, "services", 1);
	const char *type = json_path_str(svc, "spec.type");
	json_t *ports = json_path(svc, "spec.ports");
	int64_t nodeports = 0, lbs = 0;
	if (str_eq(type, "NodePort")) {
		nodeports = (int64_t)json_array_size(ports);
	} else if (str_eq(type, "LoadBalancer")) {
		lbs = 1;
		/* k8s: a load balancer without allocated node ports charges only the node
		 * ports it names. */
		if (json_is_false(json_path(svc, "spec.allocateLoadBalancerNodePorts"))) {
			size_t i;
			json_t *p;
			json_array_foreach(ports, i, p) if (json_integer_value(json_object_get(
			                                        p, "nodePort")) != 0) nodeports++;
		} else {
			nodeports = (int64_t)json_array_size(ports);
		}
	}
	rlist_add_int(out, "services.nodeports", nodeports);
	rlist_add_int(out, "services.loadbalancers", lbs);
}

#define STORAGE_CLASS_SUFFIX ".storageclass.storage.k8s.io/"

static void claim_usage(json_t *pvc, rlist *out)
{
	rlist_add_int(out, "count/persistentvolumeclaims", 1);
	rlist_add_int(out, "persistentvolumeclaims", 1);
	const char *sc = json_path_str(pvc, "spec.storageClassName");
	if (!sc)
		sc = json_string_value(json_object_get(json_path(pvc, "metadata.annotations"),
		                                       "volume.beta.kubernetes.io/storage-class"));
	char *name = NULL;
	if (sc && *sc) {
		name = xasprintf("%s" STORAGE_CLASS_SUFFIX "persistentvolumeclaims", sc);
		rlist_add_int(out, name, 1);
		free(name);
	}
	/* k8s: a claim charges the larger of what it requests and what was allocated. */
	quantity q, alloc;
	json_t *req = json_object_get(json_path(pvc, "spec.resources.requests"), "storage");
	json_t *al = json_object_get(json_path(pvc, "status.allocatedResources"), "storage");
	bool have = req && quantity_parse_json(req, &q, NULL) == 0;
	if (al && quantity_parse_json(al, &alloc, NULL) == 0 &&
	    (!have || quantity_cmp(&alloc, &q) > 0)) {
		q = alloc;
		have = true;
	}
	if (!have)
		return;
	rlist_add(out, "requests.storage", &q);
	if (sc && *sc) {
		name = xasprintf("%s" STORAGE_CLASS_SUFFIX "requests.storage", sc);
		rlist_add(out, name, &q);
		free(name);
	}
}

/* ---------- entry points ---------- */

void quota_object_usage(const kind_desc *d, json_t *obj, int64_t now_ns, rlist *out)
{
	if (is_kind(d, "", "pods")) {
		pod_usage(obj, now_ns, out);
		return;
	}
	if (is_kind(d, "", "services")) {
		service_usage(obj, out);
		return;
	}
	if (is_kind(d, "", "persistentvolumeclaims")) {
		claim_usage(obj, out);
		return;
	}
	/* k8s: object count quotas: count/<resource>.<group>, and the legacy names of a
	 * few core kinds. */
	char *name = d->group[0] ? xasprintf("count/%s.%s", d->resource, d->group)
	                         : xasprintf("count/%s", d->resource);
	rlist_add_int(out, name, 1);
	free(name);
	static const char *const legacy[] = {"configmaps", "secrets", "replicationcontrollers",
	                                     "resourcequotas"};
	for (size_t i = 0; i < ARRAY_SIZE(legacy); i++)
		if (is_kind(d, "", legacy[i]))
			rlist_add_int(out, legacy[i], 1);
}

const kind_desc *quota_resource_kind(const char *res)
{
	if (str_has_prefix(res, "count/")) {
		const char *r = res + 6;
		const char *dot = strchr(r, '.');
		if (!dot)
			return kind_by_group_resource("", r);
		char *resource = xstrndup(r, (size_t)(dot - r));
		const kind_desc *d = kind_by_group_resource(dot + 1, resource);
		free(resource);
		return d;
	}
	static const char *const core[] = {"configmaps",
	                                   "secrets",
	                                   "replicationcontrollers",
	                                   "resourcequotas",
	                                   "services",
	                                   "persistentvolumeclaims",
	                                   "pods"};
	for (size_t i = 0; i < ARRAY_SIZE(core); i++)
		if (strcmp(res, core[i]) == 0)
			return kind_by_group_resource("", res);
	if (str_eq(res, "services.loadbalancers") || str_eq(res, "services.nodeports"))
		return kind_by_group_resource("", "services");
	if (str_eq(res, "requests.storage") || strstr(res, STORAGE_CLASS_SUFFIX))
		return kind_by_group_resource("", "persistentvolumeclaims");
	if (str_eq(res, "cpu") || str_eq(res, "memory") || str_eq(res, "ephemeral-storage") ||
	    str_has_prefix(res, "requests.") || str_has_prefix(res, "limits.") ||
	    str_has_prefix(res, "hugepages-"))
		return kind_by_group_resource("", "pods");
	return NULL;
}

/* ---------- scopes ---------- */

/* k8s: QoS BestEffort: no container asks for or limits cpu or memory. */
static bool pod_best_effort(json_t *pod)
{
	static const char *const lists[] = {"containers", "initContainers"};
	for (size_t l = 0; l < ARRAY_SIZE(lists); l++) {
		size_t i;
		json_t *c;
		json_array_foreach(json_object_get(json_object_get(pod, "spec"), lists[l]), i, c)
		{
			json_t *res = json_object_get(c, "resources");
			static const char *const kinds[] = {"requests", "limits"};
			for (size_t k = 0; k < 2; k++) {
				json_t *m = json_object_get(res, kinds[k]);
				if (json_object_get(m, "cpu") || json_object_get(m, "memory"))
					return false;
			}
		}
	}
	return true;
}

static bool term_cross_namespace(json_t *term)
{
	return json_array_size(json_object_get(term, "namespaces")) > 0 ||
	       json_object_get(term, "namespaceSelector") != NULL;
}

/* k8s: CrossNamespacePodAffinity: an affinity term names namespaces or a selector. */
static bool pod_cross_namespace(json_t *pod)
{
	static const char *const kinds[] = {"podAffinity", "podAntiAffinity"};
	for (size_t k = 0; k < 2; k++) {
		json_t *a = json_object_get(json_path(pod, "spec.affinity"), kinds[k]);
		size_t i;
		json_t *t;
		json_array_foreach(
		    json_object_get(a, "requiredDuringSchedulingIgnoredDuringExecution"), i,
		    t) if (term_cross_namespace(t)) return true;
		json_array_foreach(
		    json_object_get(a, "preferredDuringSchedulingIgnoredDuringExecution"), i,
		    t) if (term_cross_namespace(json_object_get(t, "podAffinityTerm"))) return true;
	}
	return false;
}

static bool value_in(json_t *values, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach(values, i, v) if (str_eq(json_string_value(v), s)) return true;
	return false;
}

static bool scope_matches(json_t *pod, const char *scope, const char *op, json_t *values)
{
	if (str_eq(scope, "Terminating") || str_eq(scope, "NotTerminating")) {
		json_t *ads = json_path(pod, "spec.activeDeadlineSeconds");
		bool terminating = json_is_integer(ads) && json_integer_value(ads) >= 0;
		return str_eq(scope, "Terminating") ? terminating : !terminating;
	}
	if (str_eq(scope, "BestEffort"))
		return pod_best_effort(pod);
	if (str_eq(scope, "NotBestEffort"))
		return !pod_best_effort(pod);
	if (str_eq(scope, "CrossNamespacePodAffinity"))
		return pod_cross_namespace(pod);
	if (str_eq(scope, "PriorityClass")) {
		const char *pc = json_path_str(pod, "spec.priorityClassName");
		if (!pc)
			pc = "";
		/* k8s: the class is matched as a label that is always present. */
		if (str_eq(op, "Exists"))
			return *pc != 0;
		if (str_eq(op, "In"))
			return value_in(values, pc);
		if (str_eq(op, "NotIn"))
			return !value_in(values, pc);
		return false;
	}
	return false;
}

bool quota_selects(json_t *quota, const kind_desc *d, json_t *obj)
{
	json_t *scopes = json_path(quota, "spec.scopes");
	json_t *exprs = json_path(quota, "spec.scopeSelector.matchExpressions");
	if (!json_array_size(scopes) && !json_array_size(exprs))
		return true;
	if (!is_kind(d, "", "pods"))
		return false;
	size_t i;
	json_t *s;
	json_array_foreach(scopes, i, s) if (!scope_matches(obj, json_string_value(s), "Exists",
	                                                    NULL)) return false;
	json_array_foreach(exprs, i, s)
	{
		if (!scope_matches(obj, json_string_value(json_object_get(s, "scopeName")),
		                   json_string_value(json_object_get(s, "operator")),
		                   json_object_get(s, "values")))
			return false;
	}
	return true;
}

void quota_namespace_usage(cache *c, json_t *quota, int64_t now_ns, rlist *out)
{
	const char *ns = json_path_str(quota, "metadata.namespace");
	json_t *hard = json_path(quota, "spec.hard");
	const kind_desc *kinds[16];
	size_t nkinds = 0;
	const char *name;
	json_t *v;
	json_object_foreach(hard, name, v)
	{
		const kind_desc *d = quota_resource_kind(name);
		bool seen = !d || !d->namespaced;
		for (size_t i = 0; i < nkinds && !seen; i++)
			seen = kinds[i] == d;
		if (!seen && nkinds < ARRAY_SIZE(kinds))
			kinds[nkinds++] = d;
	}
	rlist total = {0};
	for (size_t k = 0; k < nkinds && ns; k++) {
		_cleanup_free_ char *prefix = kind_storage_key(kinds[k], ns, NULL);
		cache_entry *const *es;
		size_t n = cache_range(c, prefix, NULL, &es);
		for (size_t i = 0; i < n; i++) {
			json_t *o = json_loadb(es[i]->value->data, es[i]->value->len, 0, NULL);
			if (o && quota_selects(quota, kinds[k], o))
				quota_object_usage(kinds[k], o, now_ns, &total);
			json_decref(o);
		}
	}
	json_object_foreach(hard, name, v)
	{
		const quantity *q = rlist_get(&total, name);
		if (q)
			rlist_add(out, name, q);
		else
			rlist_add_int(out, name, 0);
	}
	rlist_free(&total);
}
