/* lifecycle.c — how objects end: immediate and finalizer-held deletion, the orphan and
 * foreground finalizers, removal of dependents whose owners are gone (background
 * propagation), namespace termination, and the objects every cluster starts with.
 * Internal writes go through the same preparation as API writes (prepare_create).
 * Not for: the DELETE handlers' request parsing (delete.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/admission.h"
#include "apiserver/apiserver-internal.h"
#include "base/json.h"
#include "base/log.h"
#include "base/util.h"

/* Sweeps run when a deletion asks for one; this slow tick is only a safety net. */
#define SWEEP_INTERVAL_MS 30000

int prepare_create(api_req *r, json_t *obj, terr **err);

static bool has_finalizer(json_t *meta, const char *f)
{
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(meta, "finalizers"), i, v) if (str_eq(json_string_value(v), f)) return true;
	return false;
}

static void add_finalizer(json_t *meta, const char *f)
{
	if (has_finalizer(meta, f))
		return;
	json_t *a = json_object_get(meta, "finalizers");
	if (!json_is_array(a)) {
		a = json_array();
		json_object_set_new(meta, "finalizers", a);
	}
	json_array_append_new(a, json_string(f));
}

static bool remove_finalizer(json_t *meta, const char *f)
{
	json_t *a = json_object_get(meta, "finalizers");
	for (size_t i = 0; i < json_array_size(a); i++) {
		if (str_eq(json_string_value(json_array_get(a, i)), f)) {
			json_array_remove(a, i);
			if (json_array_size(a) == 0)
				json_object_del(meta, "finalizers");
			return true;
		}
	}
	return false;
}

static void schedule_sweep(apiserver *s);

/* True when obj is a pod whose deletion must wait for its node's agent; *grace gets the
 * grace period in seconds. */
static bool pod_needs_grace(apiserver *s, const kind_desc *d, json_t *obj, json_t *opts,
                            int64_t *grace)
{
	if (d->group[0] || strcmp(d->resource, "pods") != 0)
		return false;
	const char *node = json_path_str(obj, "spec.nodeName");
	const char *phase = json_path_str(obj, "status.phase");
	if (!node || !*node || str_eq(phase, "Succeeded") || str_eq(phase, "Failed"))
		return false;
	json_t *g = json_object_get(opts, "gracePeriodSeconds");
	json_t *tg = json_path(obj, "spec.terminationGracePeriodSeconds");
	*grace = g ? json_integer_value(g) : tg ? json_integer_value(tg) : 30;
	if (*grace <= 0)
		return false;
	/* A pod whose node is gone or not Ready has nobody to stop it: it goes at once.
	 * (kube leaves such pods Terminating until the node returns; we do not.) */
	const kind_desc *nk = kind_by_group_resource("", "nodes");
	_cleanup_free_ char *key = route_key(nk, NULL, node);
	const cache_entry *e = cache_get(s->cache, key);
	if (!e)
		return false;
	_cleanup_json_ json_t *n = json_loadb(e->value->data, e->value->len, 0, NULL);
	size_t i;
	json_t *c;
	json_array_foreach(json_path(n, "status.conditions"), i, c) {
		if (str_eq(json_string_value(json_object_get(c, "type")), "Ready"))
			return str_eq(json_string_value(json_object_get(c, "status")), "True");
	}
	return false;
}

void lifecycle_delete(apiserver *s, const kind_desc *d, json_t *obj, json_t *opts, bool dry_run,
                      cache_write_cb cb, void *ud, bool *deleted_now)
{
	json_t *meta = json_obj_child(obj, "metadata");
	const char *policy = json_string_value(json_object_get(opts, "propagationPolicy"));
	if (!policy && json_is_true(json_object_get(opts, "orphanDependents")))
		policy = "Orphan";
	bool is_ns = str_eq(d->group, "") && str_eq(d->resource, "namespaces");
	bool marked = json_object_get(meta, "deletionTimestamp") != NULL;
	if (!marked) {
		/* k8s: Orphan and Foreground propagation are finalizers the garbage collector
		 * honours before the owner goes. */
		if (policy && strcmp(policy, "Orphan") == 0)
			add_finalizer(meta, "orphan");
		else if (policy && strcmp(policy, "Foreground") == 0)
			add_finalizer(meta, "foregroundDeletion");
	}
	bool keep = is_ns || json_array_size(json_object_get(meta, "finalizers")) > 0;
	/* k8s: a running pod on a node is deleted gracefully: it is marked, its kubelet stops
	 * it within the grace period and then removes it. */
	int64_t grace = 0;
	if (!keep && !marked && pod_needs_grace(s, d, obj, opts, &grace)) {
		char ts[32];
		time_rfc3339(time_now_ns() + grace * 1000000000LL, false, ts);
		json_object_set_new(meta, "deletionTimestamp", json_string(ts));
		json_object_set_new(meta, "deletionGracePeriodSeconds", json_integer(grace));
		if (deleted_now)
			*deleted_now = false;
		if (dry_run) {
			if (cb)
				cb(ud, cache_rev(s->cache), NULL);
			return;
		}
		store_object(s, d, obj, STORE_MODIFIED, cb, ud);
		return;
	}
	if (keep) {
		if (deleted_now)
			*deleted_now = false;
		if (!marked) {
			char ts[32];
			time_rfc3339(time_now_ns(), false, ts);
			json_object_set_new(meta, "deletionTimestamp", json_string(ts));
			json_object_set_new(meta, "deletionGracePeriodSeconds", json_integer(0));
			if (is_ns)
				json_object_set_new(json_obj_child(obj, "status"), "phase",
				                    json_string("Terminating"));
		} else if (!policy) {
			/* Already terminating and nothing new asked: nothing to write. */
			if (cb)
				cb(ud, cache_rev(s->cache), NULL);
			return;
		}
		if (dry_run) {
			if (cb)
				cb(ud, cache_rev(s->cache), NULL);
			return;
		}
		store_object(s, d, obj, STORE_MODIFIED, cb, ud);
		schedule_sweep(s);
		return;
	}
	if (deleted_now)
		*deleted_now = true;
	if (dry_run) {
		if (cb)
			cb(ud, cache_rev(s->cache), NULL);
		return;
	}
	store_object(s, d, obj, STORE_DELETED, cb, ud);
	admission_after_delete(s, d, obj);
	schedule_sweep(s);
}

/* ---------- internal writes ---------- */

/* Creates obj (consumed) as the server itself, through the API's preparation. */
static void internal_create(apiserver *s, const kind_desc *d, json_t *obj)
{
	api_req r = {.srv = s, .kind = d, .field_manager = (char *)"timon"};
	r.ns = (char *)json_path_str(obj, "metadata.namespace");
	terr *err = NULL;
	if (prepare_create(&r, obj, &err) < 0) {
		log_warn("lifecycle: cannot create %s %s: %s", d->kind,
		         json_path_str(obj, "metadata.name"), err->message);
		terr_free(err);
		json_decref(obj);
		return;
	}
	_cleanup_free_ char *key = route_key(d, json_path_str(obj, "metadata.namespace"),
	                                     json_path_str(obj, "metadata.name"));
	if (!cache_get(s->cache, key)) {
		admission_before_store(&r, obj, NULL);
		store_object(s, d, obj, STORE_ADDED, NULL, NULL);
	}
	json_decref(obj);
	buf_free(&r.warnings);
}

static bool exists(apiserver *s, const kind_desc *d, const char *ns, const char *name)
{
	_cleanup_free_ char *key = route_key(d, ns, name);
	return cache_get(s->cache, key) != NULL;
}

void lifecycle_bootstrap(apiserver *s)
{
	const kind_desc *nsk = kind_by_resource("", "v1", "namespaces");
	static const char *const names[] = {"default", "kube-system", "kube-public", "kube-node-lease"};
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		if (!exists(s, nsk, NULL, names[i]))
			internal_create(s, nsk, json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind",
			                                  "Namespace", "metadata", "name", names[i]));
	}
	/* k8s: the two system priority classes every cluster has. */
	const kind_desc *pc = kind_by_group_resource("scheduling.k8s.io", "priorityclasses");
	static const struct {
		const char *name;
		int value;
	} classes[] = {{"system-cluster-critical", 2000000000}, {"system-node-critical", 2000001000}};
	for (size_t i = 0; i < ARRAY_SIZE(classes); i++) {
		if (!exists(s, pc, NULL, classes[i].name))
			internal_create(s, pc, json_pack("{s:s, s:s, s:{s:s}, s:i, s:s}", "apiVersion",
			                                 "scheduling.k8s.io/v1", "kind", "PriorityClass",
			                                 "metadata", "name", classes[i].name, "value",
			                                 classes[i].value, "description",
			                                 "Used for system critical pods that must run in the cluster."));
	}
	const kind_desc *svc = kind_by_resource("", "v1", "services");
	if (!exists(s, svc, "default", "kubernetes")) {
		internal_create(s, svc,
		                json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s, s:s}}, s:{s:s, s:[{s:s, s:s, s:i, s:i}]}}",
		                          "apiVersion", "v1", "kind", "Service", "metadata", "name",
		                          "kubernetes", "namespace", "default", "labels", "component",
		                          "apiserver", "provider", "kubernetes", "spec", "type", "ClusterIP",
		                          "ports", "name", "https", "protocol", "TCP", "port", 443,
		                          "targetPort", apiserver_port(s)));
	}
}

/* ---------- sweeps: namespaces, finalizers, dependents ---------- */

/* Every stored kind once (one descriptor per storage resource). */
static bool is_storage_kind(const kind_desc *d)
{
	return !d->storage_version && kind_has_verb(d, "list") &&
	       !(str_eq(d->group, "events.k8s.io"));
}

static int delete_namespace_contents(apiserver *s, const char *ns)
{
	int remaining = 0;
	for (size_t i = 0; i < kind_count(); i++) {
		const kind_desc *d = kind_at(i);
		if (!d->namespaced || !is_storage_kind(d))
			continue;
		_cleanup_free_ char *prefix = route_key(d, ns, NULL);
		cache_entry *const *es;
		size_t n = cache_range(s->cache, prefix, NULL, &es);
		if (!n)
			continue;
		/* Copy the keys first: deletions change the range under us. */
		char **keys = xcalloc(n, sizeof *keys);
		for (size_t k = 0; k < n; k++)
			keys[k] = xstrdup(es[k]->key);
		for (size_t k = 0; k < n; k++) {
			json_t *o = load_object(s, keys[k]);
			free(keys[k]);
			if (!o)
				continue;
			remaining++;
			if (!json_path(o, "metadata.deletionTimestamp"))
				lifecycle_delete(s, d, o, NULL, false, NULL, NULL, NULL);
			json_decref(o);
		}
		free(keys);
	}
	return remaining;
}

/* Applies fn to every object in ns (or all namespaces when ns is NULL) whose ownerReferences
 * name uid. */
typedef void (*dependent_fn)(apiserver *s, const kind_desc *d, json_t *obj, const char *uid);

static int for_dependents(apiserver *s, const char *ns, const char *uid, dependent_fn fn)
{
	int found = 0;
	for (size_t i = 0; i < kind_count(); i++) {
		const kind_desc *d = kind_at(i);
		if (!is_storage_kind(d) || (ns && !d->namespaced))
			continue;
		_cleanup_free_ char *prefix = route_key(d, ns, NULL);
		cache_entry *const *es;
		size_t n = cache_range(s->cache, prefix, NULL, &es);
		char **keys = NULL;
		size_t nk = 0;
		for (size_t k = 0; k < n; k++) {
			/* Cheap pre-check on the bytes before parsing. */
			if (!strstr(es[k]->value->data, uid))
				continue;
			keys = xrealloc(keys, (nk + 1) * sizeof *keys);
			keys[nk++] = xstrdup(es[k]->key);
		}
		for (size_t k = 0; k < nk; k++) {
			json_t *o = load_object(s, keys[k]);
			free(keys[k]);
			if (!o)
				continue;
			size_t j;
			json_t *ref;
			bool owned = false;
			json_array_foreach(json_path(o, "metadata.ownerReferences"), j, ref) owned |= str_eq(json_string_value(json_object_get(ref, "uid")), uid);
			if (owned) {
				found++;
				fn(s, d, o, uid);
			}
			json_decref(o);
		}
		free(keys);
	}
	return found;
}

static void orphan_one(apiserver *s, const kind_desc *d, json_t *obj, const char *uid)
{
	json_t *refs = json_path(obj, "metadata.ownerReferences");
	for (size_t i = json_array_size(refs); i-- > 0;)
		if (str_eq(json_string_value(json_object_get(json_array_get(refs, i), "uid")), uid))
			json_array_remove(refs, i);
	if (json_array_size(refs) == 0)
		json_object_del(json_object_get(obj, "metadata"), "ownerReferences");
	store_object(s, d, obj, STORE_MODIFIED, NULL, NULL);
}

static void delete_one(apiserver *s, const kind_desc *d, json_t *obj, const char *uid)
{
	UNUSED(uid);
	if (!json_path(obj, "metadata.deletionTimestamp"))
		lifecycle_delete(s, d, obj, NULL, false, NULL, NULL, NULL);
}

/* True when some owner of obj still exists (by uid) among the stored objects. */
static bool any_owner_alive(apiserver *s, json_t *obj, const char *ns);

static void sweep(uv_timer_t *t)
{
	apiserver *s = t->data;
	bool more = false;
	for (size_t i = 0; i < kind_count(); i++) {
		const kind_desc *d = kind_at(i);
		if (!is_storage_kind(d))
			continue;
		_cleanup_free_ char *prefix = route_key(d, NULL, NULL);
		cache_entry *const *es;
		size_t n = cache_range(s->cache, prefix, NULL, &es);
		char **keys = NULL;
		size_t nk = 0;
		for (size_t k = 0; k < n; k++) {
			const char *v = es[k]->value->data;
			if (!strstr(v, "\"deletionTimestamp\"") && !strstr(v, "\"ownerReferences\""))
				continue;
			keys = xrealloc(keys, (nk + 1) * sizeof *keys);
			keys[nk++] = xstrdup(es[k]->key);
		}
		for (size_t k = 0; k < nk; k++) {
			json_t *o = load_object(s, keys[k]);
			free(keys[k]);
			if (!o)
				continue;
			json_t *meta = json_object_get(o, "metadata");
			const char *uid = json_string_value(json_object_get(meta, "uid"));
			const char *ns = json_string_value(json_object_get(meta, "namespace"));
			bool terminating = json_object_get(meta, "deletionTimestamp") != NULL;
			bool changed = false;
			if (terminating && str_eq(d->resource, "namespaces") && !d->group[0]) {
				const char *name = json_string_value(json_object_get(meta, "name"));
				if (delete_namespace_contents(s, name) > 0) {
					more = true;
				} else {
					/* k8s: an empty terminating namespace drops its "kubernetes"
					 * finalizer from spec.finalizers, then goes. */
					json_t *sf = json_path(o, "spec.finalizers");
					for (size_t j = json_array_size(sf); j-- > 0;)
						if (str_eq(json_string_value(json_array_get(sf, j)), "kubernetes"))
							json_array_remove(sf, j), changed = true;
					if (json_array_size(json_object_get(meta, "finalizers")) == 0) {
						store_object(s, d, o, STORE_DELETED, NULL, NULL);
						json_decref(o);
						continue;
					}
				}
			} else if (terminating && has_finalizer(meta, "orphan")) {
				for_dependents(s, ns, uid, orphan_one);
				changed = remove_finalizer(meta, "orphan");
			} else if (terminating && has_finalizer(meta, "foregroundDeletion")) {
				if (for_dependents(s, ns, uid, delete_one) > 0)
					more = true;
				else
					changed = remove_finalizer(meta, "foregroundDeletion");
			} else if (!terminating && json_array_size(json_object_get(meta, "ownerReferences")) &&
			           !any_owner_alive(s, o, ns)) {
				/* k8s: background propagation removes dependents whose owners are all
				 * gone; their own dependents follow on the next sweep. */
				lifecycle_delete(s, d, o, NULL, false, NULL, NULL, NULL);
				more = true;
			}
			if (changed) {
				if (terminating && json_array_size(json_object_get(meta, "finalizers")) == 0 &&
				    !(str_eq(d->resource, "namespaces") && !d->group[0]))
					store_object(s, d, o, STORE_DELETED, NULL, NULL);
				else
					store_object(s, d, o, STORE_MODIFIED, NULL, NULL);
				more = true;
			}
			json_decref(o);
		}
		free(keys);
	}
	if (more)
		uv_timer_start(&s->ns_timer, sweep, 100, 0);
	else
		uv_timer_start(&s->ns_timer, sweep, SWEEP_INTERVAL_MS, 0);
}

static bool uid_exists(apiserver *s, const char *ns, const char *kind, const char *api_version,
                       const char *name, const char *uid)
{
	/* Owners are found by kind and name, then compared by uid. */
	const char *slash = strchr(api_version, '/');
	_cleanup_free_ char *group = slash ? xstrndup(api_version, (size_t)(slash - api_version)) : xstrdup("");
	const char *version = slash ? slash + 1 : api_version;
	const kind_desc *d = kind_by_gvk(group, version, kind);
	if (!d)
		return true; /* unknown owner kinds are left alone */
	_cleanup_free_ char *key = route_key(d, d->namespaced ? ns : NULL, name);
	const cache_entry *e = cache_get(s->cache, key);
	if (!e)
		return false;
	char needle[64];
	snprintf(needle, sizeof needle, "\"uid\":\"%s\"", uid);
	return strstr(e->value->data, needle) != NULL;
}

static bool any_owner_alive(apiserver *s, json_t *obj, const char *ns)
{
	size_t i;
	json_t *ref;
	json_array_foreach(json_path(obj, "metadata.ownerReferences"), i, ref) {
		const char *kind = json_string_value(json_object_get(ref, "kind"));
		const char *av = json_string_value(json_object_get(ref, "apiVersion"));
		const char *name = json_string_value(json_object_get(ref, "name"));
		const char *uid = json_string_value(json_object_get(ref, "uid"));
		if (!kind || !av || !name || !uid || uid_exists(s, ns, kind, av, name, uid))
			return true;
	}
	return false;
}

static void schedule_sweep(apiserver *s)
{
	if (s->ready)
		uv_timer_start(&s->ns_timer, sweep, 50, 0);
}

void lifecycle_start(apiserver *s)
{
	uv_timer_init(s->loop, &s->ns_timer);
	s->ns_timer.data = s;
	uv_timer_start(&s->ns_timer, sweep, SWEEP_INTERVAL_MS, 0);
}
