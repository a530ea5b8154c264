/* endpointslice.c — the EndpointSlice controller (kube's endpointslice-controller): every
 * service with a selector gets IPv4 EndpointSlices named <service>-<random>, labelled with
 * the service name and this controller as manager and owned by the service, holding at most
 * 100 endpoints each. Endpoints (addresses, ready/serving/terminating conditions, node,
 * zone, pod reference) are grouped by the ports they resolve to; existing slices are kept
 * and patched to change as little as possible, and a service without endpoints keeps one
 * empty placeholder slice.
 * Not for: the API server's own `kubernetes` slice (master_endpoints.c), mirroring custom
 * Endpoints, or deleting slices of deleted services (their owner references do that).
 */
#include <stdlib.h>
#include <string.h>

#include "apiserver/client.h"
#include "base/json.h"
#include "base/util.h"
#include "controllers/controller-internal.h"
#include "controllers/endpoints-internal.h"

/* k8s: --max-endpoints-per-slice defaults to 100. */
#define MAX_PER_SLICE      100
#define SERVICE_NAME_LABEL "kubernetes.io/service-name"
#define MANAGED_BY_LABEL   "endpointslice.kubernetes.io/managed-by"
#define MANAGED_BY         "endpointslice-controller.k8s.io"
#define ZONE_LABEL         "topology.kubernetes.io/zone"

/* A desired endpoint, keyed by its pod. */
typedef struct want_ep {
	char *key;
	json_t *ep;
	bool placed;
} want_ep;

/* The desired endpoints that share one port mapping. */
typedef struct group {
	json_t *ports; /* array ([] for none) */
	want_ep *eps;
	size_t n;
} group;

/* A slice as planned: an existing one (obj stored) or a new one (obj NULL until created). */
typedef struct slice {
	json_t *obj;
	json_t *ports;     /* the ports it will have */
	json_t *endpoints; /* the endpoints it will have */
	int group;         /* index into groups, -1 for none */
	bool update, del, create;
} slice;

typedef struct plan {
	group *groups;
	size_t ngroups;
	slice *slices;
	size_t nslices;
} plan;

/* A JSON array, or a new empty one for null or missing. New reference. */
static json_t *array_or_empty(json_t *v)
{
	return json_is_array(v) ? json_incref(v) : json_array();
}

static slice *add_slice(plan *p)
{
	p->slices = xrealloc(p->slices, (p->nslices + 1) * sizeof *p->slices);
	slice *s = &p->slices[p->nslices++];
	*s = (slice){.group = -1};
	return s;
}

static group *group_for(plan *p, json_t *ports)
{
	for (size_t i = 0; i < p->ngroups; i++) {
		if (json_equal(p->groups[i].ports, ports)) {
			json_decref(ports);
			return &p->groups[i];
		}
	}
	p->groups = xrealloc(p->groups, (p->ngroups + 1) * sizeof *p->groups);
	group *g = &p->groups[p->ngroups++];
	*g = (group){.ports = ports};
	return g;
}

/* k8s: getEndpointPorts: each service port the pod resolves, with its name ("" when
 * none), protocol and appProtocol. */
static json_t *endpoint_ports(json_t *svc, json_t *pod)
{
	json_t *out = json_array();
	size_t i;
	json_t *sp;
	json_array_foreach(json_path(svc, "spec.ports"), i, sp)
	{
		int num = ep_find_port(pod, sp);
		if (num < 0)
			continue;
		const char *name = json_string_value(json_object_get(sp, "name"));
		const char *proto = json_string_value(json_object_get(sp, "protocol"));
		json_t *p = json_pack("{s:s, s:i, s:s}", "name", name ? name : "", "port", num,
		                      "protocol", proto ? proto : "TCP");
		json_t *app = json_object_get(sp, "appProtocol");
		if (app)
			json_object_set(p, "appProtocol", app);
		json_array_append_new(out, p);
	}
	return out;
}

/* k8s: podToEndpoint. */
static json_t *pod_endpoint(controller *c, json_t *svc, json_t *pod, const char *ip)
{
	bool serving = ep_pod_ready(pod);
	bool terminating = json_path(pod, "metadata.deletionTimestamp") != NULL;
	/* k8s: a terminating pod is never ready, unless unready addresses are published. */
	bool ready = json_is_true(json_path(svc, "spec.publishNotReadyAddresses")) ||
	             (serving && !terminating);
	json_t *ep = json_pack("{s:[s], s:{s:b, s:b, s:b}}", "addresses", ip, "conditions", "ready",
	                       ready, "serving", serving, "terminating", terminating);
	const char *node = json_path_str(pod, "spec.nodeName");
	if (node && *node) {
		json_object_set_new(ep, "nodeName", json_string(node));
		_cleanup_free_ char *key =
		    kind_storage_key(controller_kind("", "nodes"), NULL, node);
		const cache_entry *e = cache_get(c->cache, key);
		const char *zone =
		    e ? json_string_value(json_object_get(e->labels, ZONE_LABEL)) : NULL;
		if (zone && *zone)
			json_object_set_new(ep, "zone", json_string(zone));
	}
	json_object_set_new(ep, "targetRef",
	                    json_pack("{s:s, s:O, s:O, s:O}", "kind", "Pod", "namespace",
	                              json_path(pod, "metadata.namespace"), "name",
	                              json_path(pod, "metadata.name"), "uid",
	                              json_path(pod, "metadata.uid")));
	if (ep_should_set_hostname(pod, svc))
		json_object_set(ep, "hostname", json_path(pod, "spec.hostname"));
	return ep;
}

static bool node_exists(controller *c, const char *node)
{
	_cleanup_free_ char *key =
	    kind_storage_key(controller_kind("", "nodes"), NULL, node ? node : "");
	return node && *node && cache_get(c->cache, key) != NULL;
}

/* The desired endpoints grouped by ports, and the trigger time into trigger[40]. Returns
 * true when a pod was left out because its node is not known yet (the service is
 * retried). */
static bool desired(controller *c, json_t *svc, plan *p, char trigger[40])
{
	json_t **pods;
	size_t n = ep_service_pods(c, svc, &pods);
	bool headless_noports = str_eq(json_path_str(svc, "spec.clusterIP"), "None") &&
	                        json_array_size(json_path(svc, "spec.ports")) == 0;
	bool publish = json_is_true(json_path(svc, "spec.publishNotReadyAddresses"));
	bool missing_node = false;
	for (size_t i = 0; i < n; i++) {
		json_t *pod = pods[i];
		const char *ip = ep_pod_ipv4(pod);
		if (!ep_pod_included(pod, true) || !ip)
			continue;
		/* k8s: a pod on an unknown node is left out (and retried) unless unready
		 * addresses are published. */
		if (!node_exists(c, json_path_str(pod, "spec.nodeName")) && !publish) {
			missing_node = true;
			continue;
		}
		json_t *ports = headless_noports ? json_array() : endpoint_ports(svc, pod);
		group *g = group_for(p, ports);
		g->eps = xrealloc(g->eps, (g->n + 1) * sizeof *g->eps);
		g->eps[g->n++] =
		    (want_ep){.key = xasprintf("%s/%s", json_path_str(pod, "metadata.namespace"),
		                               json_path_str(pod, "metadata.name")),
		              .ep = pod_endpoint(c, svc, pod, ip)};
	}
	ep_trigger_time(svc, pods, n, trigger);
	controller_list_free(pods, n);
	return missing_node;
}

static want_ep *find_want(group *g, json_t *ep)
{
	json_t *ref = json_object_get(ep, "targetRef");
	const char *ns = json_string_value(json_object_get(ref, "namespace"));
	const char *name = json_string_value(json_object_get(ref, "name"));
	if (!ns || !name)
		return NULL;
	for (size_t i = 0; i < g->n; i++) {
		const char *k = g->eps[i].key;
		size_t nl = strlen(ns);
		if (!g->eps[i].placed && strncmp(k, ns, nl) == 0 && k[nl] == '/' &&
		    strcmp(k + nl + 1, name) == 0)
			return &g->eps[i];
	}
	return NULL;
}

static bool owned_by(json_t *slice_obj, json_t *svc)
{
	const char *uid = json_path_str(svc, "metadata.uid");
	size_t i;
	json_t *o;
	json_array_foreach(json_path(slice_obj, "metadata.ownerReferences"), i, o)
	{
		if (str_eq(json_string_value(json_object_get(o, "uid")), uid) &&
		    str_eq(json_string_value(json_object_get(o, "kind")), "Service") &&
		    str_eq(json_string_value(json_object_get(o, "apiVersion")), "v1"))
			return true;
	}
	return false;
}

static void fill(slice *s, group *g)
{
	for (size_t i = 0; i < g->n && json_array_size(s->endpoints) < MAX_PER_SLICE; i++) {
		if (g->eps[i].placed)
			continue;
		json_array_append(s->endpoints, g->eps[i].ep);
		g->eps[i].placed = true;
		s->update = true;
	}
}

static size_t unplaced(const group *g)
{
	size_t n = 0;
	for (size_t i = 0; i < g->n; i++)
		n += !g->eps[i].placed;
	return n;
}

/* k8s: reconcileByPortMapping for one group of existing slices. */
static void plan_group(plan *p, int gi)
{
	group *g = &p->groups[gi];
	/* 1. Keep the endpoints each slice still should have, refreshed. */
	for (size_t i = 0; i < p->nslices; i++) {
		slice *s = &p->slices[i];
		if (s->group != gi || s->del)
			continue;
		json_t *now = json_array();
		size_t k;
		json_t *ep;
		json_array_foreach(s->endpoints, k, ep)
		{
			want_ep *w = find_want(g, ep);
			if (!w)
				continue;
			w->placed = true;
			json_array_append(now, w->ep);
		}
		if (!json_equal(now, s->endpoints))
			s->update = true;
		json_decref(s->endpoints);
		s->endpoints = now;
		if (!json_array_size(now))
			s->del = true;
	}
	/* 2. New endpoints go first into slices being updated anyway, fullest first. */
	for (;;) {
		slice *best = NULL;
		for (size_t i = 0; i < p->nslices; i++) {
			slice *s = &p->slices[i];
			if (s->group != gi || s->del || !s->update ||
			    json_array_size(s->endpoints) >= MAX_PER_SLICE)
				continue;
			if (!best ||
			    json_array_size(s->endpoints) > json_array_size(best->endpoints))
				best = s;
		}
		if (!best || !unplaced(g))
			break;
		fill(best, g);
	}
	/* 3. What is left goes into the unchanged slice it fills most closely, if one
	 * takes it all. */
	size_t left = unplaced(g);
	if (left && left < MAX_PER_SLICE) {
		slice *best = NULL;
		size_t closest = MAX_PER_SLICE;
		for (size_t i = 0; i < p->nslices; i++) {
			slice *s = &p->slices[i];
			if (s->group != gi || s->del || s->update || s->create)
				continue;
			size_t have = json_array_size(s->endpoints);
			if (have + left <= MAX_PER_SLICE &&
			    MAX_PER_SLICE - (have + left) < closest) {
				closest = MAX_PER_SLICE - (have + left);
				best = s;
			}
		}
		if (best)
			fill(best, g);
	}
	/* 4. Then new slices. */
	while (unplaced(g)) {
		slice *s = add_slice(p);
		s->create = true;
		s->group = gi;
		s->ports = json_incref(g->ports);
		s->endpoints = json_array();
		fill(s, g);
	}
}

/* k8s: setEndpointSliceLabels: the service's labels, less the reserved ones, plus the
 * headless label, the service name and the manager. */
static json_t *slice_labels(json_t *svc)
{
	json_t *labels = json_object();
	const char *k;
	json_t *v;
	json_object_foreach(json_path(svc, "metadata.labels"), k, v)
	{
		if (!str_eq(k, SERVICE_NAME_LABEL) && !str_eq(k, MANAGED_BY_LABEL) &&
		    !str_eq(k, EP_HEADLESS_LABEL))
			json_object_set(labels, k, v);
	}
	const char *cip = json_path_str(svc, "spec.clusterIP");
	if (!cip || !*cip || str_eq(cip, "None"))
		json_object_set_new(labels, EP_HEADLESS_LABEL, json_string(""));
	json_object_set(labels, SERVICE_NAME_LABEL, json_path(svc, "metadata.name"));
	json_object_set_new(labels, MANAGED_BY_LABEL, json_string(MANAGED_BY));
	return labels;
}

/* Sets labels, annotations, ports and endpoints of s->obj as planned. */
static void shape(slice *s, json_t *labels, const char *trigger)
{
	json_t *meta = json_obj_child(s->obj, "metadata");
	json_object_set(meta, "labels", labels);
	json_t *ann = json_obj_child(meta, "annotations");
	if (trigger && *trigger)
		json_object_set_new(ann, EP_TRIGGER_TIME_ANNOTATION, json_string(trigger));
	else
		json_object_del(ann, EP_TRIGGER_TIME_ANNOTATION);
	if (!json_object_size(ann))
		json_object_del(meta, "annotations");
	json_object_set_new(s->obj, "addressType", json_string("IPv4"));
	/* k8s: empty lists read back as null (the API's protobuf storage drops them). */
	json_object_set(s->obj, "endpoints",
	                json_array_size(s->endpoints) ? s->endpoints : json_null());
	json_object_set(s->obj, "ports", json_array_size(s->ports) ? s->ports : json_null());
}

static json_t *new_slice(json_t *svc)
{
	const char *name = json_path_str(svc, "metadata.name");
	/* k8s: getEndpointSlicePrefix: "<service>-" (service names are short enough). */
	char *prefix = xasprintf("%s-", name);
	json_t *owner =
	    json_pack("{s:s, s:s, s:O, s:O, s:b, s:b}", "apiVersion", "v1", "kind", "Service",
	              "name", json_path(svc, "metadata.name"), "uid",
	              json_path(svc, "metadata.uid"), "controller", 1, "blockOwnerDeletion", 1);
	json_t *obj =
	    json_pack("{s:s, s:s, s:{s:s, s:O, s:[o]}}", "apiVersion", "discovery.k8s.io/v1",
	              "kind", "EndpointSlice", "metadata", "generateName", prefix, "namespace",
	              json_path(svc, "metadata.namespace"), "ownerReferences", owner);
	free(prefix);
	return obj;
}

/* The slices of svc this controller manages (any owner), parsed. */
static void existing(controller *c, json_t *svc, plan *p)
{
	const kind_desc *d = controller_kind("discovery.k8s.io", "endpointslices");
	_cleanup_free_ char *prefix =
	    kind_storage_key(d, json_path_str(svc, "metadata.namespace"), NULL);
	cache_entry *const *es;
	size_t n = cache_range(c->cache, prefix, NULL, &es);
	const char *name = json_path_str(svc, "metadata.name");
	for (size_t i = 0; i < n; i++) {
		json_t *l = es[i]->labels;
		if (!str_eq(json_string_value(json_object_get(l, SERVICE_NAME_LABEL)), name) ||
		    !str_eq(json_string_value(json_object_get(l, MANAGED_BY_LABEL)), MANAGED_BY))
			continue;
		json_t *o = json_loadb(es[i]->value->data, es[i]->value->len, 0, NULL);
		if (!o)
			continue;
		slice *s = add_slice(p);
		s->obj = o;
		s->ports = array_or_empty(json_object_get(o, "ports"));
		s->endpoints = array_or_empty(json_object_get(o, "endpoints"));
		/* k8s: slices another service owns, or of another family, go. */
		if (!owned_by(o, svc) ||
		    !str_eq(json_string_value(json_object_get(o, "addressType")), "IPv4")) {
			s->del = true;
			continue;
		}
		s->group = -1;
		for (size_t g = 0; g < p->ngroups; g++)
			if (json_equal(p->groups[g].ports, s->ports))
				s->group = (int)g;
		/* Slices of a port mapping no longer wanted go (or are reused below). */
		if (s->group < 0)
			s->del = true;
	}
}

static void plan_free(plan *p)
{
	for (size_t i = 0; i < p->ngroups; i++) {
		for (size_t k = 0; k < p->groups[i].n; k++) {
			free(p->groups[i].eps[k].key);
			json_decref(p->groups[i].eps[k].ep);
		}
		free(p->groups[i].eps);
		json_decref(p->groups[i].ports);
	}
	free(p->groups);
	for (size_t i = 0; i < p->nslices; i++) {
		json_decref(p->slices[i].obj);
		json_decref(p->slices[i].ports);
		json_decref(p->slices[i].endpoints);
	}
	free(p->slices);
}

static bool is_placeholder(const slice *s)
{
	return json_array_size(s->ports) == 0 && json_array_size(s->endpoints) == 0;
}

static int reconcile(controller *c, const char *key)
{
	_cleanup_free_ char *ns = NULL, *name = NULL;
	controller_split_key(key, &ns, &name);
	const kind_desc *sk = controller_kind("", "services");
	const kind_desc *d = controller_kind("discovery.k8s.io", "endpointslices");
	json_t *svc = ns ? controller_get(c, sk, ns, name) : NULL;
	/* k8s: services without a selector get their slices out of band; a deleted
	 * service's slices go with their owner. */
	if (!svc || !ep_service_managed(svc)) {
		json_decref(svc);
		return RECONCILE_DONE;
	}
	plan p = {0};
	char trigger[40];
	bool retry = desired(c, svc, &p, trigger);
	existing(c, svc, &p);
	size_t nexisting = p.nslices;
	for (size_t g = 0; g < p.ngroups; g++)
		plan_group(&p, (int)g);
	size_t ndel = 0, ncreate = 0;
	for (size_t i = 0; i < p.nslices; i++) {
		ndel += p.slices[i].del;
		ncreate += p.slices[i].create;
	}
	/* k8s: a service with no endpoints keeps one placeholder slice. */
	if (ndel == nexisting && ncreate == 0) {
		slice *keep = NULL;
		for (size_t i = 0; i < p.nslices && ndel == 1; i++)
			if (p.slices[i].del && owned_by(p.slices[i].obj, svc) &&
			    is_placeholder(&p.slices[i]))
				keep = &p.slices[i];
		if (keep) {
			keep->del = false;
		} else {
			slice *s = add_slice(&p);
			s->create = true;
			s->ports = json_array();
			s->endpoints = json_array();
		}
	}
	/* k8s: creates reuse slices that would be deleted, as updates. */
	for (size_t i = 0; i < p.nslices; i++) {
		slice *cr = &p.slices[i];
		if (!cr->create)
			continue;
		for (size_t k = 0; k < p.nslices; k++) {
			slice *old = &p.slices[k];
			if (!old->del || !old->obj || !owned_by(old->obj, svc) ||
			    !str_eq(json_string_value(json_object_get(old->obj, "addressType")),
			            "IPv4"))
				continue;
			old->del = false;
			old->update = true;
			old->group = cr->group;
			json_decref(old->ports);
			json_decref(old->endpoints);
			old->ports = cr->ports;
			old->endpoints = cr->endpoints;
			cr->ports = cr->endpoints = NULL;
			cr->create = false;
			break;
		}
	}
	json_t *labels = slice_labels(svc);
	bool terminating = json_path(svc, "metadata.deletionTimestamp") != NULL;
	for (size_t i = 0; i < p.nslices; i++) {
		slice *s = &p.slices[i];
		if (s->del) {
			client_delete(c->srv, c->def->name, d, ns,
			              json_path_str(s->obj, "metadata.name"), NULL, NULL, NULL);
			continue;
		}
		if (s->create) {
			/* k8s: no new slices for a service being deleted. */
			if (terminating)
				continue;
			s->obj = new_slice(svc);
			shape(s, labels, trigger);
			client_create(c->srv, c->def->name, d, ns, s->obj, NULL, NULL);
			continue;
		}
		if (!s->obj)
			continue;
		if (!s->update && json_equal(json_path(s->obj, "metadata.labels"), labels))
			continue;
		const char *old_trigger = json_string_value(json_object_get(
		    json_path(s->obj, "metadata.annotations"), EP_TRIGGER_TIME_ANNOTATION));
		shape(s, labels, s->update ? trigger : old_trigger);
		client_update(c->srv, c->def->name, d, s->obj, NULL, NULL, NULL);
	}
	json_decref(labels);
	plan_free(&p);
	json_decref(svc);
	return retry ? RECONCILE_RETRY : RECONCILE_DONE;
}

static void on_service(controller *c, const kind_desc *d, const cache_event *ev)
{
	UNUSED(d);
	ep_selectors_forget(c->state, ev);
	json_t *o = cache_event_obj(ev);
	if (!o)
		return;
	char *key = controller_key_of(o);
	controller_enqueue(c, key);
	free(key);
}

static void on_pod(controller *c, const kind_desc *d, const cache_event *ev)
{
	UNUSED(d);
	ep_enqueue_pod_services(c, c->state, ev);
}

/* k8s: a managed slice deleted or changed by someone else is put right; this controller's
 * own writes find nothing to do. */
static void on_slice(controller *c, const kind_desc *d, const cache_event *ev)
{
	UNUSED(d);
	json_t *l = ev->type == STORE_DELETED || !ev->prev_labels ? ev->labels : ev->prev_labels;
	if (!str_eq(json_string_value(json_object_get(l, MANAGED_BY_LABEL)), MANAGED_BY))
		return;
	const char *svc = json_string_value(json_object_get(l, SERVICE_NAME_LABEL));
	json_t *o = cache_event_obj(ev);
	const char *ns = json_path_str(o, "metadata.namespace");
	if (svc && ns) {
		char *key = xasprintf("%s/%s", ns, svc);
		controller_enqueue(c, key);
		free(key);
	}
}

static void start(controller *c)
{
	c->state = xcalloc(1, sizeof(ep_selectors));
}

static void stop(controller *c)
{
	ep_selectors_free(c->state);
	free(c->state);
	c->state = NULL;
}

const controller_def endpointslice_controller = {
    .name = "endpointslice-controller",
    .watches = {{.group = "", .resource = "services", .on_event = on_service},
                {.group = "", .resource = "pods", .on_event = on_pod},
                {.group = "discovery.k8s.io", .resource = "endpointslices", .on_event = on_slice}},
    .reconcile = reconcile,
    .start = start,
    .stop = stop,
};
CONTROLLER_REGISTER(endpointslice_controller)
