/* defaults_core.c — defaulting of core/v1 kinds: Pod (its own extras on top of the pod
 * spec defaults), Service, Namespace, Secret, Endpoints, Node, PersistentVolume(Claim),
 * LimitRange; and the create-only additions kube's registry strategies make
 * (defaults_on_create).
 *
 * Not for: pod spec internals (defaults_pod.c), workloads (defaults_apps.c).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "api/defaults-internal.h"
#include "base/json.h"
#include "base/util.h"

/* k8s: SetDefaults_Pod: for each (init) container, requests default to limits per
 * resource; enableServiceLinks true; with hostNetwork, hostPort defaults to
 * containerPort. */
void d_kind_pod(json_t *obj)
{
	json_t *spec = d_obj(obj, "spec");
	if (!spec)
		return;
	static const char *const lists[] = {"containers", "initContainers"};
	for (size_t k = 0; k < ARRAY_SIZE(lists); k++) {
		size_t i;
		json_t *c;
		json_array_foreach(d_get_arr(spec, lists[k]), i, c)
		{
			json_t *res = d_get_obj(c, "resources");
			json_t *limits = d_get_obj(res, "limits");
			if (limits && json_object_size(limits) > 0) {
				json_t *req = d_obj(res, "requests");
				const char *key;
				json_t *val;
				json_object_foreach(limits, key, val) if (req && !json_object_get(req, key))
					json_object_set(req, key, val);
			}
			if (json_is_true(json_object_get(spec, "hostNetwork"))) {
				size_t j;
				json_t *p;
				json_array_foreach(d_get_arr(c, "ports"), j, p)
				{
					json_t *cp = json_object_get(p, "containerPort");
					if (json_is_integer(cp))
						d_int_nonzero(p, "hostPort", json_integer_value(cp));
				}
			}
		}
	}
	d_bool(spec, "enableServiceLinks", true);
	defaults_pod_spec(spec);
}

/* k8s: SetDefaults_Service. */
void d_kind_service(json_t *obj)
{
	json_t *spec = d_obj(obj, "spec");
	if (!spec)
		return;
	d_str(spec, "sessionAffinity", "None");
	const char *aff = json_string_value(json_object_get(spec, "sessionAffinity"));
	if (str_eq(aff, "None")) {
		json_object_del(spec, "sessionAffinityConfig");
	} else if (str_eq(aff, "ClientIP")) {
		/* k8s: ClientIP affinity times out after 10800 s (3 hours) by default */
		json_t *cfg = d_get_obj(spec, "sessionAffinityConfig");
		json_t *cip = d_get_obj(cfg, "clientIP");
		if (!cip || d_unset(cip, "timeoutSeconds"))
			json_object_set_new(spec, "sessionAffinityConfig",
			                    json_pack("{s:{s:i}}", "clientIP", "timeoutSeconds", 10800));
	}
	d_str(spec, "type", "ClusterIP");
	const char *type = json_string_value(json_object_get(spec, "type"));
	size_t i;
	json_t *p;
	json_array_foreach(d_get_arr(spec, "ports"), i, p)
	{
		d_str(p, "protocol", "TCP");
		/* k8s: targetPort 0 or "" (or unset) becomes the port number */
		json_t *tp = json_object_get(p, "targetPort");
		json_t *port = json_object_get(p, "port");
		bool unset = !tp || json_is_null(tp) ||
		             (json_is_integer(tp) && json_integer_value(tp) == 0) ||
		             (json_is_string(tp) && json_string_length(tp) == 0);
		if (unset && json_is_integer(port))
			json_object_set_new(p, "targetPort", json_integer(json_integer_value(port)));
	}
	bool external = str_eq(type, "LoadBalancer") || str_eq(type, "NodePort") ||
	                (str_eq(type, "ClusterIP") &&
	                 json_array_size(d_get_arr(spec, "externalIPs")) > 0);
	if (external)
		d_str(spec, "externalTrafficPolicy", "Cluster");
	if (str_eq(type, "ClusterIP") || str_eq(type, "NodePort") || str_eq(type, "LoadBalancer"))
		d_set(spec, "internalTrafficPolicy", json_string("Cluster"));
	if (str_eq(type, "LoadBalancer")) {
		d_bool(spec, "allocateLoadBalancerNodePorts", true);
		/* k8s: a load balancer ingress with an IP has ipMode VIP by default */
		json_t *ing = d_get_arr(d_get_obj(d_get_obj(obj, "status"), "loadBalancer"), "ingress");
		json_t *e;
		json_array_foreach(ing, i, e) if (json_string_length(json_object_get(e, "ip")) > 0)
			d_set(e, "ipMode", json_string("VIP"));
	}
}

/* k8s: SetDefaults_Namespace labels every named namespace with
 * kubernetes.io/metadata.name=<name> (overwriting any other value); the status phase
 * defaults to Active. */
void d_kind_namespace(json_t *obj)
{
	json_t *meta = d_get_obj(obj, "metadata");
	const char *name = meta ? json_string_value(json_object_get(meta, "name")) : NULL;
	if (name && *name) {
		json_t *labels = d_obj(meta, "labels");
		if (labels)
			json_object_set_new(labels, "kubernetes.io/metadata.name", json_string(name));
	}
	d_str(d_obj(obj, "status"), "phase", "Active");
}

/* k8s: SetDefaults_Secret: type Opaque. And the v1 conversion merges stringData into
 * data (base64-encoded, stringData winning) and drops it: it is write-only. */
void d_kind_secret(json_t *obj)
{
	d_str(obj, "type", "Opaque");
	json_t *sd = d_get_obj(obj, "stringData");
	if (sd) {
		json_t *data = d_obj(obj, "data");
		const char *k;
		json_t *val;
		json_object_foreach(sd, k, val)
		{
			if (!json_is_string(val) || !data)
				continue;
			size_t n = json_string_length(val);
			unsigned char *out = xmalloc(4 * ((n + 2) / 3) + 1);
			EVP_EncodeBlock(out, (const unsigned char *)json_string_value(val), (int)n);
			json_object_set_new(data, k, json_string((const char *)out));
			free(out);
		}
	}
	if (json_object_get(obj, "stringData"))
		json_object_del(obj, "stringData");
}

/* k8s: SetDefaults_Endpoints: subset ports default to TCP. */
void d_kind_endpoints(json_t *obj)
{
	size_t i, j;
	json_t *ss, *p;
	json_array_foreach(d_get_arr(obj, "subsets"), i, ss)
	{
		json_array_foreach(d_get_arr(ss, "ports"), j, p) d_str(p, "protocol", "TCP");
	}
}

/* k8s: SetDefaults_NodeStatus: allocatable defaults to capacity. */
void d_kind_node(json_t *obj)
{
	json_t *status = d_get_obj(obj, "status");
	json_t *cap = d_get_obj(status, "capacity");
	if (cap && d_unset(status, "allocatable"))
		json_object_set_new(status, "allocatable", json_clone(cap));
}

/* k8s: SetDefaults_PersistentVolume: phase Pending, reclaim policy Retain, volumeMode
 * Filesystem. */
void d_kind_pv(json_t *obj)
{
	d_str(d_obj(obj, "status"), "phase", "Pending");
	json_t *spec = d_obj(obj, "spec");
	d_str(spec, "persistentVolumeReclaimPolicy", "Retain");
	d_set(spec, "volumeMode", json_string("Filesystem"));
}

void d_kind_pvc(json_t *obj)
{
	d_pvc(obj);
}

/* k8s: SetDefaults_LimitRangeItem, for type Container only: default (limit) from max,
 * defaultRequest from default, then from min — each per resource not already set. */
void d_kind_limitrange(json_t *obj)
{
	size_t i;
	json_t *it;
	json_array_foreach(d_get_arr(d_get_obj(obj, "spec"), "limits"), i, it)
	{
		if (!str_eq(json_string_value(json_object_get(it, "type")), "Container"))
			continue;
		json_t *def = d_get_obj(it, "default"), *req = d_get_obj(it, "defaultRequest");
		json_t *def_new = def ? json_incref(def) : json_object();
		json_t *req_new = req ? json_incref(req) : json_object();
		const char *k;
		json_t *val;
		json_object_foreach(d_get_obj(it, "max"), k, val) if (!json_object_get(def_new, k))
			json_object_set(def_new, k, val);
		json_object_foreach(def_new, k, val) if (!json_object_get(req_new, k))
			json_object_set(req_new, k, val);
		json_object_foreach(d_get_obj(it, "min"), k, val) if (!json_object_get(req_new, k))
			json_object_set(req_new, k, val);
		/* empty maps are omitted on the wire */
		if (json_object_size(def_new))
			json_object_set(it, "default", def_new);
		if (json_object_size(req_new))
			json_object_set(it, "defaultRequest", req_new);
		json_decref(def_new);
		json_decref(req_new);
	}
}

/* ---- create-only additions ---------------------------------------------------------- */

static void ensure_label(json_t *labels, const char *key, const char *val)
{
	if (labels && !json_object_get(labels, key))
		json_object_set_new(labels, key, json_string(val));
}

/* k8s: the Job strategy generates the selector unless spec.manualSelector is true: the
 * template gets job-name, batch.kubernetes.io/job-name, controller-uid and
 * batch.kubernetes.io/controller-uid labels (unless present) and the selector matches
 * batch.kubernetes.io/controller-uid. */
static void job_selector(json_t *obj)
{
	const char *uid = json_string_value(json_path(obj, "metadata.uid"));
	const char *name = json_string_value(json_path(obj, "metadata.name"));
	json_t *spec = d_get_obj(obj, "spec");
	if (!uid || !*uid || !spec || json_is_true(json_object_get(spec, "manualSelector")))
		return;
	json_t *labels = d_obj(d_obj(d_obj(spec, "template"), "metadata"), "labels");
	ensure_label(labels, "batch.kubernetes.io/controller-uid", uid);
	ensure_label(labels, "batch.kubernetes.io/job-name", name ? name : "");
	ensure_label(labels, "controller-uid", uid);
	ensure_label(labels, "job-name", name ? name : "");
	ensure_label(d_obj(d_obj(spec, "selector"), "matchLabels"),
	             "batch.kubernetes.io/controller-uid", uid);
}

void defaults_on_create(const kind_desc *d, json_t *obj)
{
	if (!d || d->custom || !json_is_object(obj))
		return;
	if (str_eq(d->group, "") && str_eq(d->kind, "Namespace")) {
		/* k8s: a new namespace is Active and carries the "kubernetes" finalizer */
		json_t *spec = d_obj(obj, "spec");
		json_t *fins = d_get_arr(spec, "finalizers");
		bool has = false;
		size_t i;
		json_t *f;
		json_array_foreach(fins, i, f) has |= str_eq(json_string_value(f), "kubernetes");
		if (!fins && spec) {
			fins = json_array();
			json_object_set_new(spec, "finalizers", fins);
		}
		if (!has && fins)
			json_array_append_new(fins, json_string("kubernetes"));
		json_object_set_new(obj, "status", json_pack("{s:s}", "phase", "Active"));
	} else if (str_eq(d->group, "batch") && str_eq(d->kind, "Job")) {
		job_selector(obj);
	}
}
