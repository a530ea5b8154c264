/* defaults.c — the defaulting table keyed by group and kind, the "set when absent"
 * helpers, and the defaults of the small kinds (RBAC, storage, scheduling, networking,
 * discovery, CRDs).
 *
 * Not for: pods and pod templates (defaults_pod.c), other core kinds (defaults_core.c),
 * workloads and autoscaling (defaults_apps.c).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "api/crdschema.h"
#include "api/defaults-internal.h"
#include "base/util.h"

typedef struct dkind {
	const char *group;
	const char *version; /* NULL: any version */
	const char *kind;
	void (*fn)(json_t *obj);
	/* fn sets members of metadata or status that do not come from the spec (a Node's
	 * allocatable from its capacity, a Namespace's phase and name label): a status write's
	 * view, which holds no spec, is defaulted only for these (a Job's labels come from its
	 * template, so it is not one). */
	bool beyond_spec;
} dkind;

static const dkind dkinds[] = {
	{"", NULL, "Pod", d_kind_pod, false},
	{"", NULL, "Service", d_kind_service, true},
	{"", NULL, "Namespace", d_kind_namespace, true},
	{"", NULL, "Secret", d_kind_secret, false},
	{"", NULL, "Endpoints", d_kind_endpoints, false},
	{"", NULL, "Node", d_kind_node, true},
	{"", NULL, "PersistentVolume", d_kind_pv, true},
	{"", NULL, "PersistentVolumeClaim", d_kind_pvc, true},
	{"", NULL, "LimitRange", d_kind_limitrange, false},
	{"apps", NULL, "Deployment", d_kind_deployment, false},
	{"apps", NULL, "ReplicaSet", d_kind_replicaset, false},
	{"apps", NULL, "StatefulSet", d_kind_statefulset, false},
	{"apps", NULL, "DaemonSet", d_kind_daemonset, false},
	{"batch", NULL, "Job", d_kind_job, false},
	{"batch", NULL, "CronJob", d_kind_cronjob, false},
	{"autoscaling", "v2", "HorizontalPodAutoscaler", d_kind_hpa_v2, false},
	{"autoscaling", "v1", "HorizontalPodAutoscaler", d_kind_hpa_v1, false},
	{"networking.k8s.io", NULL, "NetworkPolicy", d_kind_networkpolicy, false},
	{"networking.k8s.io", NULL, "IngressClass", d_kind_ingressclass, false},
	{"discovery.k8s.io", NULL, "EndpointSlice", d_kind_endpointslice, false},
	{"rbac.authorization.k8s.io", NULL, "RoleBinding", d_kind_rolebinding, false},
	{"rbac.authorization.k8s.io", NULL, "ClusterRoleBinding", d_kind_rolebinding, false},
	{"storage.k8s.io", NULL, "StorageClass", d_kind_storageclass, false},
	{"scheduling.k8s.io", NULL, "PriorityClass", d_kind_priorityclass, false},
	{"apiextensions.k8s.io", NULL, "CustomResourceDefinition", d_kind_crd, false},
};

static const dkind *dkind_of(const kind_desc *d)
{
	for (size_t i = 0; i < ARRAY_SIZE(dkinds); i++) {
		const dkind *k = &dkinds[i];
		if (str_eq(k->group, d->group) && str_eq(k->kind, d->kind) &&
		    (!k->version || str_eq(k->version, d->version)))
			return k;
	}
	return NULL;
}

void defaults_apply(const kind_desc *d, json_t *obj)
{
	if (!d || !json_is_object(obj))
		return;
	if (d->custom) {
		/* k8s: custom resources take the defaults their schema declares. */
		if (d->crd_schema)
			crdschema_default(d->crd_schema, obj);
		return;
	}
	const dkind *k = dkind_of(d);
	if (k)
		k->fn(obj);
}

void defaults_apply_beyond_spec(const kind_desc *d, json_t *obj)
{
	if (!d || !json_is_object(obj))
		return;
	if (d->custom) {
		defaults_apply(d, obj);
		return;
	}
	const dkind *k = dkind_of(d);
	if (k && k->beyond_spec)
		k->fn(obj);
}

/* ---- helpers ------------------------------------------------------------------------ */

bool d_unset(const json_t *o, const char *key)
{
	json_t *j = json_object_get(o, key);
	return !j || json_is_null(j);
}

void d_set(json_t *o, const char *key, json_t *val)
{
	if (json_is_object(o) && d_unset(o, key))
		json_object_set_new(o, key, val);
	else
		json_decref(val);
}

void d_str(json_t *o, const char *key, const char *val)
{
	if (!json_is_object(o))
		return;
	json_t *j = json_object_get(o, key);
	if (!j || json_is_null(j) || (json_is_string(j) && json_string_length(j) == 0))
		json_object_set_new(o, key, json_string(val));
}

void d_int(json_t *o, const char *key, long long val)
{
	d_set(o, key, json_integer(val));
}

void d_bool(json_t *o, const char *key, bool val)
{
	d_set(o, key, json_boolean(val));
}

void d_int_nonzero(json_t *o, const char *key, long long val)
{
	if (!json_is_object(o))
		return;
	json_t *j = json_object_get(o, key);
	if (!j || json_is_null(j) || (json_is_integer(j) && json_integer_value(j) == 0))
		json_object_set_new(o, key, json_integer(val));
}

json_t *d_obj(json_t *o, const char *key)
{
	if (!json_is_object(o))
		return NULL;
	json_t *j = json_object_get(o, key);
	if (!j || json_is_null(j)) {
		j = json_object();
		json_object_set_new(o, key, j);
	}
	return json_is_object(j) ? j : NULL;
}

json_t *d_get_obj(const json_t *o, const char *key)
{
	json_t *j = json_is_object(o) ? json_object_get(o, key) : NULL;
	return json_is_object(j) ? j : NULL;
}

json_t *d_get_arr(const json_t *o, const char *key)
{
	json_t *j = json_is_object(o) ? json_object_get(o, key) : NULL;
	return json_is_array(j) ? j : NULL;
}

/* ---- networking, discovery, RBAC, storage, scheduling, apiextensions ---------------- */

/* k8s: networking/v1 SetDefaults_NetworkPolicy: ports default to TCP; policyTypes default
 * to ["Ingress"], plus "Egress" when egress rules are given. */
void d_kind_networkpolicy(json_t *obj)
{
	json_t *spec = d_obj(obj, "spec");
	if (!spec)
		return;
	static const char *const dirs[] = {"ingress", "egress"};
	for (size_t k = 0; k < 2; k++) {
		size_t i, j;
		json_t *rule, *port;
		json_array_foreach(d_get_arr(spec, dirs[k]), i, rule)
		{
			json_array_foreach(d_get_arr(rule, "ports"), j, port)
				d_set(port, "protocol", json_string("TCP"));
		}
	}
	if (json_array_size(d_get_arr(spec, "policyTypes")) == 0) {
		json_t *types = json_array();
		json_array_append_new(types, json_string("Ingress"));
		if (json_array_size(d_get_arr(spec, "egress")) > 0)
			json_array_append_new(types, json_string("Egress"));
		json_object_set_new(spec, "policyTypes", types);
	}
}

/* k8s: networking/v1: a parameters reference's scope defaults to Cluster. */
void d_kind_ingressclass(json_t *obj)
{
	json_t *params = d_get_obj(d_get_obj(obj, "spec"), "parameters");
	d_set(params, "scope", json_string("Cluster"));
}

/* k8s: discovery/v1 SetDefaults_EndpointPort: name "" and protocol TCP. */
void d_kind_endpointslice(json_t *obj)
{
	size_t i;
	json_t *p;
	json_array_foreach(d_get_arr(obj, "ports"), i, p)
	{
		d_set(p, "name", json_string(""));
		d_set(p, "protocol", json_string("TCP"));
	}
}

/* k8s: rbac/v1: roleRef.apiGroup defaults to rbac.authorization.k8s.io; a subject's
 * apiGroup to "" for ServiceAccount and rbac.authorization.k8s.io for User and Group. */
void d_kind_rolebinding(json_t *obj)
{
	d_str(d_get_obj(obj, "roleRef"), "apiGroup", "rbac.authorization.k8s.io");
	size_t i;
	json_t *s;
	json_array_foreach(d_get_arr(obj, "subjects"), i, s)
	{
		const char *kind = json_string_value(json_object_get(s, "kind"));
		json_t *g = json_object_get(s, "apiGroup");
		if (g && json_is_string(g) && json_string_length(g) > 0)
			continue;
		if (str_eq(kind, "ServiceAccount"))
			json_object_set_new(s, "apiGroup", json_string(""));
		else if (str_eq(kind, "User") || str_eq(kind, "Group"))
			json_object_set_new(s, "apiGroup", json_string("rbac.authorization.k8s.io"));
	}
}

/* k8s: storage/v1: reclaimPolicy Delete, volumeBindingMode Immediate. */
void d_kind_storageclass(json_t *obj)
{
	d_str(obj, "reclaimPolicy", "Delete");
	d_str(obj, "volumeBindingMode", "Immediate");
}

/* k8s: scheduling/v1: preemptionPolicy PreemptLowerPriority. */
void d_kind_priorityclass(json_t *obj)
{
	d_str(obj, "preemptionPolicy", "PreemptLowerPriority");
}

/* k8s: apiextensions/v1: names.singular is the lowercased kind, names.listKind is
 * kind+"List", conversion {strategy: None}; a webhook service's port defaults to 443. */
void d_kind_crd(json_t *obj)
{
	json_t *spec = d_get_obj(obj, "spec");
	json_t *names = d_get_obj(spec, "names");
	const char *kind = names ? json_string_value(json_object_get(names, "kind")) : NULL;
	if (kind && *kind) {
		char *lower = xstrdup(kind);
		for (char *p = lower; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		d_str(names, "singular", lower);
		free(lower);
		char *list = xasprintf("%sList", kind);
		d_str(names, "listKind", list);
		free(list);
	}
	if (!spec)
		return;
	json_t *conv = d_obj(spec, "conversion");
	d_str(conv, "strategy", "None");
	json_t *svc = d_get_obj(d_get_obj(d_get_obj(conv, "webhook"), "clientConfig"), "service");
	d_int(svc, "port", 443);
}
