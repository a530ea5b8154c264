/* admission.c — kind-specific server logic that runs inside writes: pod status on creation,
 * the ServiceAccount default, service cluster IPs and node ports, CRD status and
 * registration, and the pods/binding and pods/eviction subresources.
 * Not for: defaults and validation of fields (api/), deletion flow (lifecycle.c).
 */
#include "apiserver/admission.h"
#include "apiserver/admission_policy.h"
#include "apiserver/satoken.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hmap.h"
#include "base/json.h"
#include "base/util.h"

#define SERVICE_CIDR_BASE 0x0a2b0000u /* 10.43.0.0/16 */
#define SERVICE_CIDR_SIZE 65536u
#define NODE_PORT_MIN 30000
#define NODE_PORT_MAX 32767

static bool is_kind(const kind_desc *d, const char *group, const char *resource)
{
	return str_eq(d->group, group) && str_eq(d->resource, resource);
}

/* ---------- pods ---------- */

/* k8s: QoS class from requests and limits: Guaranteed when every container has equal cpu
 * and memory requests and limits, BestEffort when none has any, Burstable otherwise. */
static const char *pod_qos(json_t *spec)
{
	bool any = false, guaranteed = true;
	static const char *const lists[] = {"containers", "initContainers"};
	for (size_t l = 0; l < ARRAY_SIZE(lists); l++) {
		size_t i;
		json_t *c;
		json_array_foreach(json_object_get(spec, lists[l]), i, c) {
			json_t *req = json_path(c, "resources.requests");
			json_t *lim = json_path(c, "resources.limits");
			if (json_object_size(req) || json_object_size(lim))
				any = true;
			static const char *const res[] = {"cpu", "memory"};
			for (size_t k = 0; k < 2; k++) {
				json_t *lv = json_object_get(lim, res[k]);
				json_t *rv = json_object_get(req, res[k]);
				if (!lv || (rv && !json_equal(lv, rv)))
					guaranteed = false;
			}
		}
	}
	if (!any)
		return "BestEffort";
	return guaranteed ? "Guaranteed" : "Burstable";
}

/* k8s: the Priority admission plugin resolves spec.priority (and preemptionPolicy) from
 * priorityClassName, or from the PriorityClass marked globalDefault, else 0. Returns -1
 * with 403 when the named class does not exist. */
static int pod_priority(apiserver *s, json_t *spec, terr **err)
{
	const kind_desc *pc = kind_by_group_resource("scheduling.k8s.io", "priorityclasses");
	const char *name = json_string_value(json_object_get(spec, "priorityClassName"));
	json_t *cls = NULL; /* the class's kept tree: read only */
	if (name && *name) {
		_cleanup_free_ char *key = route_key(pc, NULL, name);
		const cache_entry *e = cache_get(s->cache, key);
		if (!e)
			return terr_set(err, 403, "Forbidden", "no PriorityClass with name %s was found", name);
		cls = cache_entry_obj(s->cache, e);
	} else {
		_cleanup_free_ char *prefix = route_key(pc, NULL, NULL);
		cache_entry *const *es;
		size_t n = cache_range(s->cache, prefix, NULL, &es);
		for (size_t i = 0; i < n && !cls; i++) {
			json_t *o = cache_entry_obj(s->cache, es[i]);
			if (json_is_true(json_object_get(o, "globalDefault"))) {
				cls = o;
				json_object_set_new(spec, "priorityClassName",
				                    json_string(json_path_str(o, "metadata.name")));
			}
		}
	}
	json_int_t value = cls ? json_integer_value(json_object_get(cls, "value")) : 0;
	json_t *want = json_object_get(spec, "priority");
	if (want && json_integer_value(want) != value) {
		return terr_set(err, 403, "Forbidden", "the integer value of priority (%lld) must not be provided in pod spec; priority admission controller computed %lld from the given PriorityClass name",
		                (long long)json_integer_value(want), (long long)value);
	}
	json_object_set_new(spec, "priority", json_integer(value));
	const char *pol = json_string_value(json_object_get(cls, "preemptionPolicy"));
	if (!json_object_get(spec, "preemptionPolicy"))
		json_object_set_new(spec, "preemptionPolicy",
		                    json_string(pol ? pol : "PreemptLowerPriority"));
	return 0;
}

/* k8s: the RuntimeClass admission plugin — a pod naming a class that does not exist is
 * refused; the class's overhead.podFixed becomes spec.overhead (a different one given is
 * refused) and its scheduling nodeSelector and tolerations join the pod's. */
static int pod_runtime_class(apiserver *s, json_t *spec, terr **err)
{
	const char *name = json_string_value(json_object_get(spec, "runtimeClassName"));
	json_t *have = json_object_get(spec, "overhead");
	if (!name || !*name) {
		if (have)
			return terr_set(err, 403, "Forbidden", "pod rejected: Pod Overhead set without corresponding RuntimeClass defined Overhead");
		return 0;
	}
	const kind_desc *rk = kind_by_group_resource("node.k8s.io", "runtimeclasses");
	_cleanup_free_ char *key = route_key(rk, NULL, name);
	const cache_entry *e = cache_get(s->cache, key);
	if (!e)
		return terr_set(err, 403, "Forbidden", "pod rejected: RuntimeClass \"%s\" not found", name);
	json_t *rc = cache_entry_obj(s->cache, e); /* read only */
	json_t *fixed = json_path(rc, "overhead.podFixed");
	if (fixed) {
		if (have && !json_equal(have, fixed))
			return terr_set(err, 403, "Forbidden", "pod rejected: Pod's Overhead doesn't match RuntimeClass's defined Overhead");
		json_object_set_new(spec, "overhead", json_clone(fixed));
	} else if (have) {
		return terr_set(err, 403, "Forbidden", "pod rejected: Pod Overhead set without corresponding RuntimeClass defined Overhead");
	}
	json_t *sel = json_path(rc, "scheduling.nodeSelector");
	const char *k;
	json_t *v;
	json_object_foreach(sel, k, v) {
		json_t *ns = json_obj_child(spec, "nodeSelector");
		const char *pv = json_string_value(json_object_get(ns, k));
		if (pv && !str_eq(pv, json_string_value(v)))
			return terr_set(err, 403, "Forbidden", "conflict: runtimeClass.scheduling.nodeSelector[%s] = %s; pod.spec.nodeSelector[%s] = %s",
			                k, json_string_value(v) ? json_string_value(v) : "", k, pv);
		json_object_set(ns, k, v);
	}
	size_t i;
	json_t *t;
	json_array_foreach(json_path(rc, "scheduling.tolerations"), i, t) {
		json_t *tols = json_object_get(spec, "tolerations");
		if (!json_is_array(tols)) {
			tols = json_array();
			json_object_set_new(spec, "tolerations", tols);
		}
		bool dup = false;
		size_t j;
		json_t *o;
		json_array_foreach(tols, j, o) dup = dup || json_equal(o, t);
		if (!dup)
			json_array_append_new(tols, json_clone(t));
	}
	return 0;
}

static void pod_prepare(json_t *pod)
{
	json_t *spec = json_obj_child(pod, "spec");
	/* k8s: the ServiceAccount admission plugin names the default account. */
	if (!json_string_value(json_object_get(spec, "serviceAccountName")))
		json_object_set_new(spec, "serviceAccountName", json_string("default"));
	if (!json_object_get(spec, "serviceAccount"))
		json_object_set(spec, "serviceAccount", json_object_get(spec, "serviceAccountName"));
	/* k8s: DefaultTolerationSeconds — pods tolerate a not-ready or unreachable node for
	 * 300 s before eviction, unless they say otherwise. */
	static const char *const node_taints[] = {"node.kubernetes.io/not-ready",
	                                          "node.kubernetes.io/unreachable"};
	json_t *tols = json_object_get(spec, "tolerations");
	for (size_t t = 0; t < ARRAY_SIZE(node_taints); t++) {
		bool has = false;
		size_t i;
		json_t *tol;
		json_array_foreach(tols, i, tol) {
			const char *key = json_string_value(json_object_get(tol, "key"));
			const char *effect = json_string_value(json_object_get(tol, "effect"));
			if ((!key || !*key || strcmp(key, node_taints[t]) == 0) &&
			    (!effect || !*effect || strcmp(effect, "NoExecute") == 0))
				has = true;
		}
		if (has)
			continue;
		if (!json_is_array(tols)) {
			tols = json_array();
			json_object_set_new(spec, "tolerations", tols);
		}
		json_array_append_new(tols, json_build("{s:s, s:s, s:s, s:i}", "key", node_taints[t],
		                                       "operator", "Exists", "effect", "NoExecute",
		                                       "tolerationSeconds", 300));
	}
	/* k8s: a new pod starts Pending with its QoS class; its status is the kubelet's. */
	json_t *st = json_build("{s:s, s:s}", "phase", "Pending", "qosClass", pod_qos(spec));
	json_object_set_new(pod, "status", st);
}

/* ---------- services ---------- */

/* Cluster IPs and node ports in use by every service except `self` (its storage key). */
static void used_service_addrs(apiserver *s, const char *self, hmap *ips, hmap *ports,
                               char ***keys, size_t *nkeys)
{
	const kind_desc *d = kind_by_resource("", "v1", "services");
	_cleanup_free_ char *prefix = route_key(d, NULL, NULL);
	cache_entry *const *es;
	size_t n = cache_range(s->cache, prefix, NULL, &es);
	for (size_t i = 0; i < n; i++) {
		if (self && strcmp(es[i]->key, self) == 0)
			continue;
		json_t *o = json_loadb(es[i]->value->data, es[i]->value->len, 0, NULL);
		const char *ip = json_path_str(o, "spec.clusterIP");
		if (ip && *ip) {
			*keys = xrealloc(*keys, (*nkeys + 1) * sizeof **keys);
			(*keys)[*nkeys] = xstrdup(ip);
			hmap_put(ips, (*keys)[(*nkeys)++], (void *)1);
		}
		size_t k;
		json_t *p;
		json_array_foreach(json_path(o, "spec.ports"), k, p) {
			json_int_t np = json_integer_value(json_object_get(p, "nodePort"));
			if (np) {
				*keys = xrealloc(*keys, (*nkeys + 1) * sizeof **keys);
				(*keys)[*nkeys] = xasprintf("%lld", (long long)np);
				hmap_put(ports, (*keys)[(*nkeys)++], (void *)1);
			}
		}
		json_decref(o);
	}
}

/* Whether a Service of this type gets node ports it does not name (k8s: a LoadBalancer with
 * allocateLoadBalancerNodePorts false gets only those it names). */
static bool picks_node_ports(json_t *spec, const char *type)
{
	return strcmp(type, "NodePort") == 0 ||
	       !json_is_false(json_object_get(spec, "allocateLoadBalancerNodePorts"));
}

static int service_allocate(api_req *r, json_t *svc, terr **err)
{
	json_t *spec = json_obj_child(svc, "spec");
	const char *type = json_string_value(json_object_get(spec, "type"));
	if (!type)
		type = "ClusterIP";
	hmap ips = {0}, ports = {0};
	char **keys = NULL;
	size_t nkeys = 0;
	_cleanup_free_ char *self = route_key(r->kind, json_path_str(svc, "metadata.namespace"),
	                                      json_path_str(svc, "metadata.name"));
	used_service_addrs(r->srv, self, &ips, &ports, &keys, &nkeys);
	int rc = 0;
	const char *cip = json_string_value(json_object_get(spec, "clusterIP"));
	if (strcmp(type, "ExternalName") != 0 && (!cip || !*cip)) {
		/* k8s: the first address of the range belongs to the `kubernetes` service and
		 * the tenth to cluster DNS; others are handed out at random. */
		const char *name = json_path_str(svc, "metadata.name");
		const char *ns = json_path_str(svc, "metadata.namespace");
		uint32_t pick = 0;
		if (str_eq(name, "kubernetes") && str_eq(ns, "default")) {
			pick = SERVICE_CIDR_BASE + 1;
		} else if (str_eq(name, "kube-dns") && str_eq(ns, "kube-system")) {
			pick = SERVICE_CIDR_BASE + 10;
		} else {
			for (int tries = 0; tries < 256 && !pick; tries++) {
				uint32_t rnd;
				random_bytes(&rnd, sizeof rnd);
				uint32_t cand = SERVICE_CIDR_BASE + 11 + rnd % (SERVICE_CIDR_SIZE - 12);
				struct in_addr a = {htonl(cand)};
				char ipbuf[INET_ADDRSTRLEN];
				inet_ntop(AF_INET, &a, ipbuf, sizeof ipbuf);
				if (!hmap_get(&ips, ipbuf))
					pick = cand;
			}
		}
		if (!pick) {
			rc = terr_internal(err, "failed to allocate a serviceIP: range is full");
			goto out;
		}
		struct in_addr a = {htonl(pick)};
		char ipbuf[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &a, ipbuf, sizeof ipbuf);
		json_object_set_new(spec, "clusterIP", json_string(ipbuf));
		json_object_set_new(spec, "clusterIPs", json_build("[s]", ipbuf));
		json_object_set_new(spec, "ipFamilies", json_build("[s]", "IPv4"));
		if (!json_object_get(spec, "ipFamilyPolicy"))
			json_object_set_new(spec, "ipFamilyPolicy", json_string("SingleStack"));
	} else if (cip && strcmp(cip, "None") == 0) {
		json_object_set_new(spec, "clusterIPs", json_build("[s]", "None"));
		json_object_set_new(spec, "ipFamilies", json_build("[s]", "IPv4"));
		if (!json_object_get(spec, "ipFamilyPolicy"))
			json_object_set_new(spec, "ipFamilyPolicy", json_string("SingleStack"));
	}
	if (strcmp(type, "NodePort") == 0 || strcmp(type, "LoadBalancer") == 0) {
		bool pick = picks_node_ports(spec, type);
		size_t i;
		json_t *p;
		json_array_foreach(json_object_get(spec, "ports"), i, p) {
			json_int_t np = json_integer_value(json_object_get(p, "nodePort"));
			char key[16];
			if (!np && !pick)
				continue;
			if (np) {
				snprintf(key, sizeof key, "%lld", (long long)np);
				if (hmap_get(&ports, key)) {
					char field[64];
					snprintf(field, sizeof field, "spec.ports[%zu].nodePort", i);
					rc = terr_cause_add(err, "FieldValueInvalid", field,
					                    "Invalid value: %lld: provided port is already allocated",
					                    (long long)np);
					goto out;
				}
				continue;
			}
			for (int tries = 0; tries < 4096 && !np; tries++) {
				uint32_t rnd;
				random_bytes(&rnd, sizeof rnd);
				json_int_t cand = NODE_PORT_MIN + rnd % (NODE_PORT_MAX - NODE_PORT_MIN + 1);
				snprintf(key, sizeof key, "%lld", (long long)cand);
				if (!hmap_get(&ports, key))
					np = cand;
			}
			json_object_set_new(p, "nodePort", json_integer(np));
			keys = xrealloc(keys, (nkeys + 1) * sizeof *keys);
			keys[nkeys] = xasprintf("%lld", (long long)np);
			hmap_put(&ports, keys[nkeys++], (void *)1);
		}
	}
	json_object_set_new(svc, "status", json_build("{s:{}}", "loadBalancer"));
out:
	hmap_free(&ips);
	hmap_free(&ports);
	for (size_t i = 0; i < nkeys; i++)
		free(keys[i]);
	free(keys);
	return rc;
}

/* ---------- CRDs ---------- */

static void crd_prepare(json_t *crd)
{
	/* k8s: a CRD's names are accepted and it is established at once when nothing
	 * conflicts; controllers read these conditions before creating instances. */
	char ts[32];
	time_rfc3339(time_now_ns(), false, ts);
	json_t *names = json_path(crd, "spec.names");
	json_t *conds = json_build(
	    "[{s:s, s:s, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s, s:s}]", "type", "NamesAccepted",
	    "status", "True", "lastTransitionTime", ts, "reason", "NoConflicts", "message",
	    "no conflicts found", "type", "Established", "status", "True", "lastTransitionTime", ts,
	    "reason", "InitialNamesAccepted", "message", "the initial names have been accepted");
	json_t *stored = json_array();
	size_t i;
	json_t *v;
	json_array_foreach(json_path(crd, "spec.versions"), i, v) {
		if (json_is_true(json_object_get(v, "storage")))
			json_array_append(stored, json_object_get(v, "name"));
	}
	json_object_set_new(crd, "status",
	                    json_build("{s:o, s:O, s:o}", "conditions", conds, "acceptedNames",
	                               names ? names : json_object(), "storedVersions", stored));
}

/* ---------- entry points ---------- */

int admission_prepare_create(api_req *r, json_t *obj, terr **err)
{
	const kind_desc *d = r->kind;
	if (admission_policy_prepare_create(r, obj, err) < 0)
		return -1;
	if (is_kind(d, "", "pods")) {
		pod_prepare(obj);
		if (pod_priority(r->srv, json_obj_child(obj, "spec"), err) < 0 ||
		    pod_runtime_class(r->srv, json_obj_child(obj, "spec"), err) < 0 ||
		    admission_sa_pod(r, obj, err) < 0)
			return -1;
	}
	else if (is_kind(d, "", "persistentvolumeclaims")) {
		admission_storage_default_class(r, obj);
		json_object_del(obj, "status");
	}
	else if (is_kind(d, "certificates.k8s.io", "certificatesigningrequests")) {
		/* k8s: the CSR strategy records who asked, whatever the body claims. */
		json_t *spec = json_obj_child(obj, "spec");
		http_req *h = r->http;
		json_object_set_new(spec, "username", json_string(h->user ? h->user : "system:anonymous"));
		json_t *groups = json_array();
		for (size_t i = 0; i < h->ngroups; i++)
			json_array_append_new(groups, json_string(h->groups[i]));
		/* (omitempty: no empty list, as normalization would leave it) */
		if (h->ngroups)
			json_object_set_new(spec, "groups", groups);
		else {
			json_decref(groups);
			json_object_del(spec, "groups");
		}
		json_object_del(spec, "uid");
		json_object_del(spec, "extra");
		json_object_del(obj, "status");
	}
	else if (d->subresources & KIND_SUB_STATUS && !is_kind(d, "", "nodes") &&
	         !is_kind(d, "", "namespaces") && !d->custom)
		json_object_del(obj, "status");
	return 0;
}

int admission_validate(api_req *r, json_t *obj, json_t *old, terr **err)
{
	const kind_desc *d = r->kind;
	if (admission_policy_validate(r, obj, old, err) < 0)
		return -1;
	if (is_kind(d, "", "services") && !old)
		return service_allocate(r, obj, err);
	/* A status write takes its spec from the stored object (and shares it with the cache's
	 * tree): allocations are the spec's business, not the status's. */
	if (is_kind(d, "", "services") && old && !str_eq(r->sub, "status")) {
		/* Keep allocations across updates that leave them out (kubectl apply does). */
		json_t *spec = json_obj_child(obj, "spec");
		if (!json_path_str(obj, "spec.clusterIP")) {
			json_object_set(spec, "clusterIP", json_path(old, "spec.clusterIP"));
			json_object_set(spec, "clusterIPs", json_path(old, "spec.clusterIPs"));
		}
		const char *type = json_path_str(obj, "spec.type");
		if (type && (strcmp(type, "NodePort") == 0 || strcmp(type, "LoadBalancer") == 0)) {
			size_t i;
			json_t *p;
			json_array_foreach(json_object_get(spec, "ports"), i, p) {
				if (json_object_get(p, "nodePort"))
					continue;
				size_t k;
				json_t *op;
				json_array_foreach(json_path(old, "spec.ports"), k, op) {
					if (json_equal(json_object_get(op, "port"), json_object_get(p, "port")) &&
					    json_object_get(op, "nodePort"))
						json_object_set(p, "nodePort", json_object_get(op, "nodePort"));
				}
			}
			/* Any port still without one gets a new allocation. */
			bool missing = false;
			bool pick = picks_node_ports(spec, type);
			json_array_foreach(json_object_get(spec, "ports"), i, p) missing |= pick && !json_object_get(p, "nodePort");
			if (missing) {
				json_t *st = json_incref(json_object_get(obj, "status"));
				int rc = service_allocate(r, obj, err);
				if (st)
					json_object_set_new(obj, "status", st);
				return rc;
			}
		}
	}
	return 0;
}

void admission_before_store(api_req *r, json_t *obj, json_t *old)
{
	const kind_desc *d = r->kind;
	if (!is_kind(d, "apiextensions.k8s.io", "customresourcedefinitions"))
		return;
	if (!old)
		crd_prepare(obj);
	if (!r->dry_run)
		crd_register(obj);
}

void admission_after_delete(apiserver *s, const kind_desc *d, json_t *obj)
{
	UNUSED(s);
	if (is_kind(d, "apiextensions.k8s.io", "customresourcedefinitions"))
		crd_unregister(obj);
}

/* ---------- subresources ---------- */

static void respond_success(api_req *r, int code)
{
	_cleanup_json_ json_t *st = json_build("{s:s, s:s, s:{}, s:s, s:i}", "kind", "Status",
	                                       "apiVersion", "v1", "metadata", "status", "Success",
	                                       "code", code);
	r->want_table = false;
	api_send_object(r, code, st);
}

typedef struct sub_reply {
	api_req *r;
} sub_reply;

static void on_sub_durable(void *ud, int64_t rev, const terr *err)
{
	sub_reply *w = ud;
	UNUSED(rev);
	UNUSED(err);
	respond_success(w->r, 201);
	free(w);
}

static void pod_bind(api_req *r, json_t *binding)
{
	terr *err = NULL;
	_cleanup_free_ char *key = route_key(r->kind, r->ns, r->name);
	/* The cache's tree, read-only: the binding copies the levels it changes. */
	_cleanup_json_ json_t *cur_pod = cache_get_obj(r->srv->cache, key);
	if (!cur_pod) {
		terr_not_found(&err, "pods \"%s\" not found", r->name);
		api_send_error(r, err);
		return;
	}
	const char *node = json_path_str(binding, "target.name");
	if (!node || !*node) {
		terr_cause_add(&err, "FieldValueRequired", "target.name", "Required value");
		api_send_error(r, err);
		return;
	}
	/* k8s: a pod is bound once; binding a bound pod is a conflict. */
	const char *cur = json_path_str(cur_pod, "spec.nodeName");
	if (cur && *cur) {
		terr_conflict(&err, "Operation cannot be fulfilled on pods/binding \"%s\": pod %s is already assigned to node \"%s\"", r->name, r->name, cur);
		api_send_error(r, err);
		return;
	}
	/* Its own top level, metadata (the store stamps resourceVersion), spec, status and
	 * conditions; everything below them stays shared with the stored pod. */
	json_t *pod = json_copy(cur_pod);
	static const char *const changed[] = {"metadata", "spec", "status"};
	for (size_t i = 0; i < ARRAY_SIZE(changed); i++) {
		json_t *v = json_object_get(cur_pod, changed[i]);
		json_object_set_new(pod, changed[i], json_is_object(v) ? json_copy(v) : json_object());
	}
	json_object_set_new(json_object_get(pod, "spec"), "nodeName", json_string(node));
	json_t *st = json_object_get(pod, "status");
	json_t *conds = json_object_get(st, "conditions");
	conds = json_is_array(conds) ? json_copy(conds) : json_array();
	json_object_set_new(st, "conditions", conds);
	char ts[32];
	time_rfc3339(time_now_ns(), false, ts);
	/* k8s: binding sets PodScheduled=True, replacing an Unschedulable one. */
	for (size_t i = json_array_size(conds); i-- > 0;)
		if (str_eq(json_string_value(json_object_get(json_array_get(conds, i), "type")),
		           "PodScheduled"))
			json_array_remove(conds, i);
	json_array_append_new(conds, json_build("{s:s, s:s, s:n, s:s}", "type", "PodScheduled",
	                                        "status", "True", "lastProbeTime",
	                                        "lastTransitionTime", ts));
	if (r->dry_run) {
		json_decref(pod);
		respond_success(r, 201);
		return;
	}
	sub_reply *w = xcalloc(1, sizeof *w);
	w->r = r;
	store_object_bytes(r->srv, r->kind, pod, STORE_MODIFIED, on_sub_durable, w, NULL, true);
	json_decref(pod);
}

static void pod_evict(api_req *r)
{
	terr *err = NULL;
	_cleanup_free_ char *key = route_key(r->kind, r->ns, r->name);
	json_t *pod = load_object(r->srv, key);
	if (!pod) {
		terr_not_found(&err, "pods \"%s\" not found", r->name);
		api_send_error(r, err);
		return;
	}
	if (admission_policy_evict(r, pod, &err) < 0) {
		json_decref(pod);
		api_send_error(r, err);
		return;
	}
	bool now = false;
	sub_reply *w = xcalloc(1, sizeof *w);
	w->r = r;
	lifecycle_delete(r->srv, r->kind, pod, NULL, r->dry_run, on_sub_durable, w, &now);
	json_decref(pod);
}

void admission_subresource_create(api_req *r)
{
	terr *err = NULL;
	bool is_pod = is_kind(r->kind, "", "pods");
	if (is_pod && strcmp(r->sub, "binding") == 0) {
		_cleanup_json_ json_t *b = codec_decode_body(r, &err);
		if (!b) {
			api_send_error(r, err);
			return;
		}
		pod_bind(r, b);
		return;
	}
	if (is_pod && strcmp(r->sub, "eviction") == 0) {
		pod_evict(r);
		return;
	}
	if (is_kind(r->kind, "", "serviceaccounts") && strcmp(r->sub, "token") == 0) {
		satoken_handle_request(r);
		return;
	}
	terr_set(&err, 405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
	api_send_error(r, err);
}
