/* admission_quota.c — kube's ResourceQuota admission plugin: a create (or an update of a
 * service or claim) that would take any quota of its namespace over spec.hard is refused
 * with 403 Forbidden, and so is a pod that leaves out a cpu or memory request or limit a
 * quota constrains.
 *
 * Unlike kube, usage is not read from the quota's status (which the controller may not
 * have written yet) but counted live from the watch cache, which every write updates
 * before the next request is served; so there is no "status unknown" window and no
 * reservation to undo. spec.hard is the limit (the controller mirrors it to status.hard).
 * Not for: computing what an object charges (quota.c) or quota status (the controller).
 */
#include <stdlib.h>
#include <string.h>

#include "apiserver/admission_policy.h"
#include "apiserver/quota.h"
#include "base/json.h"
#include "base/util.h"

int admission_forbidden(api_req *r, json_t *obj, terr **err, const char *msg)
{
	char qr[256];
	kind_qualified_resource(r->kind, qr);
	/* k8s: admission names the object, or its generateName before a name exists. */
	const char *name = json_path_str(obj, "metadata.name");
	if (!name || !*name)
		name = json_path_str(obj, "metadata.generateName");
	if (!name || !*name)
		return terr_set(err, 403, "Forbidden", "%s is forbidden: %s", qr, msg);
	return terr_set(err, 403, "Forbidden", "%s \"%s\" is forbidden: %s", qr, name, msg);
}

static bool is_kind(const kind_desc *d, const char *group, const char *resource)
{
	return str_eq(d->group, group) && str_eq(d->resource, resource);
}

/* ---------- pod constraints ---------- */

typedef struct missing {
	const char *resource;
	char **containers; /* sorted, unique */
	size_t n;
} missing;

static void missing_add(missing *m, const char *container)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->containers[i], container) == 0)
			return;
	m->containers = xrealloc(m->containers, (m->n + 1) * sizeof *m->containers);
	size_t at = m->n;
	while (at > 0 && strcmp(m->containers[at - 1], container) > 0) {
		m->containers[at] = m->containers[at - 1];
		at--;
	}
	m->containers[at] = xstrdup(container);
	m->n++;
}

/* k8s: the names a container's requests and limits charge (podComputeUsageHelper). */
static bool container_charges(json_t *c, const char *res)
{
	json_t *req = json_path(c, "resources.requests");
	json_t *lim = json_path(c, "resources.limits");
	if (str_eq(res, "cpu") || str_eq(res, "requests.cpu"))
		return json_object_get(req, "cpu") != NULL;
	if (str_eq(res, "memory") || str_eq(res, "requests.memory"))
		return json_object_get(req, "memory") != NULL;
	if (str_eq(res, "limits.cpu"))
		return json_object_get(lim, "cpu") != NULL;
	if (str_eq(res, "limits.memory"))
		return json_object_get(lim, "memory") != NULL;
	return true;
}

/* k8s: a quota on cpu or memory requires every container to state that request or limit
 * ("must specify limits.cpu for: a,b; requests.memory for: a"). Returns the message or
 * NULL; caller frees. */
static char *pod_constraints(json_t *pod, json_t *hard)
{
	/* Sorted, as kube lists them. */
	static const char *const validated[] = {"cpu",    "limits.cpu",   "limits.memory",
	                                        "memory", "requests.cpu", "requests.memory"};
	missing ms[ARRAY_SIZE(validated)] = {{0}};
	bool any = false;
	for (size_t k = 0; k < ARRAY_SIZE(validated); k++) {
		ms[k].resource = validated[k];
		if (!json_object_get(hard, validated[k]))
			continue;
		static const char *const lists[] = {"containers", "initContainers"};
		for (size_t l = 0; l < 2; l++) {
			size_t i;
			json_t *c;
			json_array_foreach(json_object_get(json_object_get(pod, "spec"), lists[l]),
			                   i, c)
			{
				if (!container_charges(c, validated[k])) {
					const char *name =
					    json_string_value(json_object_get(c, "name"));
					missing_add(&ms[k], name ? name : "");
					any = true;
				}
			}
		}
	}
	char *msg = NULL;
	if (any) {
		msg = xstrdup("must specify ");
		bool first = true;
		for (size_t k = 0; k < ARRAY_SIZE(validated); k++) {
			if (!ms[k].n)
				continue;
			char *names = xstrdup("");
			for (size_t i = 0; i < ms[k].n; i++) {
				char *next =
				    xasprintf("%s%s%s", names, i ? "," : "", ms[k].containers[i]);
				free(names);
				names = next;
			}
			char *next = xasprintf("%s%s%s for: %s", msg, first ? "" : "; ",
			                       ms[k].resource, names);
			free(names);
			free(msg);
			msg = next;
			first = false;
		}
	}
	for (size_t k = 0; k < ARRAY_SIZE(validated); k++) {
		for (size_t i = 0; i < ms[k].n; i++)
			free(ms[k].containers[i]);
		free(ms[k].containers);
	}
	return msg;
}

/* ---------- the check ---------- */

/* True when some resource of hard is charged by objects of kind d. */
static bool quota_counts_kind(json_t *hard, const kind_desc *d)
{
	const char *name;
	json_t *v;
	json_object_foreach(hard, name, v)
	{
		const kind_desc *k = quota_resource_kind(name);
		if (k && str_eq(k->group, d->group) && str_eq(k->resource, d->resource))
			return true;
	}
	return false;
}

/* delta = usage(obj) - usage(old), zeros removed. */
static void usage_delta(const kind_desc *d, json_t *obj, json_t *old, int64_t now, rlist *out)
{
	rlist all = {0};
	quota_object_usage(d, obj, now, &all);
	if (old) {
		rlist was = {0};
		quota_object_usage(d, old, now, &was);
		for (size_t i = 0; i < was.n; i++) {
			if (!rlist_get(&all, was.v[i].name))
				rlist_add_int(&all, was.v[i].name, 0);
			for (size_t k = 0; k < all.n; k++)
				if (strcmp(all.v[k].name, was.v[i].name) == 0)
					quantity_sub(&all.v[k].q, &was.v[i].q);
		}
		rlist_free(&was);
	}
	for (size_t i = 0; i < all.n; i++)
		if (!quantity_is_zero(&all.v[i].q))
			rlist_add(out, all.v[i].name, &all.v[i].q);
	rlist_free(&all);
}

/* Checks one quota against the requested delta; -1 with err when it would be exceeded. */
static int check_quota(api_req *r, json_t *obj, json_t *quota, const rlist *delta, int64_t now,
                       terr **err)
{
	json_t *hard = json_path(quota, "spec.hard");
	rlist requested = {0};
	for (size_t i = 0; i < delta->n; i++)
		if (json_object_get(hard, delta->v[i].name))
			rlist_add(&requested, delta->v[i].name, &delta->v[i].q);
	if (!requested.n)
		return 0;
	rlist used = {0}, fail_req = {0}, fail_used = {0}, fail_hard = {0};
	quota_namespace_usage(r->srv->cache, quota, now, &used);
	for (size_t i = 0; i < requested.n; i++) {
		const char *name = requested.v[i].name;
		quantity limit, total;
		if (quantity_parse_json(json_object_get(hard, name), &limit, NULL) < 0)
			continue;
		const quantity *u = rlist_get(&used, name);
		quantity_from_int(&total, 0, QUANTITY_DECIMAL_SI);
		if (u)
			quantity_add(&total, u);
		quantity_add(&total, &requested.v[i].q);
		if (quantity_cmp(&total, &limit) > 0) {
			rlist_add(&fail_req, name, &requested.v[i].q);
			if (u)
				rlist_add(&fail_used, name, u);
			else
				rlist_add_int(&fail_used, name, 0);
			rlist_add(&fail_hard, name, &limit);
		}
	}
	int rc = 0;
	if (fail_req.n) {
		/* k8s: "exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2". */
		_cleanup_free_ char *a = rlist_pretty(&fail_req);
		_cleanup_free_ char *b = rlist_pretty(&fail_used);
		_cleanup_free_ char *c = rlist_pretty(&fail_hard);
		_cleanup_free_ char *msg =
		    xasprintf("exceeded quota: %s, requested: %s, used: %s, limited: %s",
		              json_path_str(quota, "metadata.name"), a, b, c);
		rc = admission_forbidden(r, obj, err, msg);
	}
	rlist_free(&requested);
	rlist_free(&used);
	rlist_free(&fail_req);
	rlist_free(&fail_used);
	rlist_free(&fail_hard);
	return rc;
}

int admission_quota_check(api_req *r, json_t *obj, json_t *old, terr **err)
{
	const kind_desc *d = r->kind;
	if (!d->namespaced || (r->sub && *r->sub))
		return 0;
	bool pods = is_kind(d, "", "pods");
	/* k8s: updates are charged only for services and claims (their usage can change). */
	if (old && !is_kind(d, "", "services") && !is_kind(d, "", "persistentvolumeclaims"))
		return 0;
	const char *ns = json_path_str(obj, "metadata.namespace");
	const kind_desc *qk = kind_by_group_resource("", "resourcequotas");
	if (!ns || !qk)
		return 0;
	_cleanup_free_ char *prefix = kind_storage_key(qk, ns, NULL);
	cache_entry *const *es;
	size_t n = cache_range(r->srv->cache, prefix, NULL, &es);
	if (!n)
		return 0;
	/* Parse first: the checks below read the cache, which later writes may change. */
	json_t **quotas = xcalloc(n, sizeof *quotas);
	size_t nq = 0;
	for (size_t i = 0; i < n; i++) {
		json_t *q = json_loadb(es[i]->value->data, es[i]->value->len, 0, NULL);
		if (!q)
			continue;
		json_t *hard = json_path(q, "spec.hard");
		if (quota_selects(q, d, obj) && quota_counts_kind(hard, d))
			quotas[nq++] = q;
		else
			json_decref(q);
	}
	int rc = 0;
	/* k8s: first every matching quota's constraints, then usage. */
	for (size_t i = 0; i < nq && rc == 0 && pods && !old; i++) {
		_cleanup_free_ char *msg = pod_constraints(obj, json_path(quotas[i], "spec.hard"));
		if (msg) {
			_cleanup_free_ char *full = xasprintf(
			    "failed quota: %s: %s", json_path_str(quotas[i], "metadata.name"), msg);
			rc = admission_forbidden(r, obj, err, full);
		}
	}
	if (rc == 0 && nq) {
		int64_t now = time_now_ns();
		rlist delta = {0};
		usage_delta(d, obj, old, now, &delta);
		for (size_t i = 0; i < nq && rc == 0 && delta.n; i++)
			rc = check_quota(r, obj, quotas[i], &delta, now, err);
		rlist_free(&delta);
	}
	for (size_t i = 0; i < nq; i++)
		json_decref(quotas[i]);
	free(quotas);
	return rc;
}
