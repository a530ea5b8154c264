/* endpoints.c — the Endpoints controller (kube's endpoint-controller): every service with a
 * selector gets an Endpoints object of its name whose subsets list the selected pods'
 * addresses, ready ones under addresses and the rest under notReadyAddresses, with the
 * ports each service port resolves to in the pod; pods that offer the same ports share a
 * subset. The default/kubernetes key is the API server's own (master_endpoints.c).
 * Not for: EndpointSlices (endpointslice.c) or services without a selector, whose
 * Endpoints their owners write.
 */
#include <stdlib.h>
#include <string.h>

#include "apiserver/client.h"
#include "apiserver/master_endpoints.h"
#include "base/json.h"
#include "base/util.h"
#include "controllers/controller-internal.h"
#include "controllers/endpoints-internal.h"

/* k8s: maxCapacity: an Endpoints object holds at most 1000 addresses. */
#define MAX_ADDRESSES            1000
#define OVER_CAPACITY_ANNOTATION "endpoints.kubernetes.io/over-capacity"
/* k8s: the API server reconciles its own endpoints every 10 s. */
#define MASTER_RESYNC_MS 10000

typedef struct address {
	json_t *obj; /* EndpointAddress */
	const char *ip;
	const char *uid;
	bool ready;
} address;

/* One distinct EndpointPort (NULL for a headless service without ports) and the addresses
 * that offer it, in address order. */
typedef struct port_set {
	json_t *port;
	size_t *addrs;
	size_t n;
	bool done;
} port_set;

static json_t *endpoint_address(json_t *pod, json_t *svc, const char *ip)
{
	json_t *a = json_pack("{s:s}", "ip", ip);
	if (ep_should_set_hostname(pod, svc))
		json_object_set(a, "hostname", json_path(pod, "spec.hostname"));
	const char *node = json_path_str(pod, "spec.nodeName");
	if (node && *node)
		json_object_set_new(a, "nodeName", json_string(node));
	json_object_set_new(a, "targetRef",
	                    json_pack("{s:s, s:O, s:O, s:O}", "kind", "Pod", "namespace",
	                              json_path(pod, "metadata.namespace"), "name",
	                              json_path(pod, "metadata.name"), "uid",
	                              json_path(pod, "metadata.uid")));
	return a;
}

static json_t *endpoint_port(json_t *svc_port, int num)
{
	json_t *p = json_object();
	const char *name = json_string_value(json_object_get(svc_port, "name"));
	if (name && *name)
		json_object_set_new(p, "name", json_string(name));
	json_object_set_new(p, "port", json_integer(num));
	const char *proto = json_string_value(json_object_get(svc_port, "protocol"));
	json_object_set_new(p, "protocol", json_string(proto ? proto : "TCP"));
	json_t *app = json_object_get(svc_port, "appProtocol");
	if (app)
		json_object_set(p, "appProtocol", app);
	return p;
}

static void member(port_set **sets, size_t *nsets, json_t *port, size_t addr)
{
	for (size_t i = 0; i < *nsets; i++) {
		port_set *s = &(*sets)[i];
		if ((s->port == NULL) == (port == NULL) && (!port || json_equal(s->port, port))) {
			s->addrs = xrealloc(s->addrs, (s->n + 1) * sizeof *s->addrs);
			s->addrs[s->n++] = addr;
			json_decref(port);
			return;
		}
	}
	*sets = xrealloc(*sets, (*nsets + 1) * sizeof **sets);
	port_set *s = &(*sets)[(*nsets)++];
	*s = (port_set){.port = port, .addrs = xmalloc(sizeof *s->addrs), .n = 1};
	s->addrs[0] = addr;
}

static bool same_members(const port_set *a, const port_set *b)
{
	return a->n == b->n && memcmp(a->addrs, b->addrs, a->n * sizeof *a->addrs) == 0;
}

static const address *sort_base;

/* k8s: addresses sort by IP (as bytes), then by the pod's UID. */
static int cmp_addr(const void *x, const void *y)
{
	const address *a = &sort_base[*(const size_t *)x], *b = &sort_base[*(const size_t *)y];
	int c = strcmp(a->ip, b->ip);
	return c ? c : strcmp(a->uid ? a->uid : "", b->uid ? b->uid : "");
}

/* k8s: RepackSubsets: ports offered by the same set of addresses share a subset. */
static json_t *repack(address *addrs, port_set *sets, size_t nsets)
{
	json_t *subsets = json_array();
	for (size_t i = 0; i < nsets; i++) {
		if (sets[i].done)
			continue;
		json_t *ports = json_array();
		for (size_t j = i; j < nsets; j++) {
			if (sets[j].done || !same_members(&sets[i], &sets[j]))
				continue;
			sets[j].done = true;
			if (sets[j].port)
				json_array_append(ports, sets[j].port);
		}
		size_t *order = xmalloc(sets[i].n * sizeof *order);
		memcpy(order, sets[i].addrs, sets[i].n * sizeof *order);
		sort_base = addrs;
		qsort(order, sets[i].n, sizeof *order, cmp_addr);
		json_t *ready = json_array(), *unready = json_array();
		for (size_t k = 0; k < sets[i].n; k++)
			json_array_append(addrs[order[k]].ready ? ready : unready,
			                  addrs[order[k]].obj);
		free(order);
		json_t *sub = json_object();
		if (json_array_size(ready))
			json_object_set_new(sub, "addresses", ready);
		else
			json_decref(ready);
		if (json_array_size(unready))
			json_object_set_new(sub, "notReadyAddresses", unready);
		else
			json_decref(unready);
		if (json_array_size(ports))
			json_object_set_new(sub, "ports", ports);
		else
			json_decref(ports);
		json_array_append_new(subsets, sub);
	}
	return subsets;
}

static size_t count_of(json_t *sub, const char *which)
{
	return json_array_size(json_object_get(sub, which));
}

/* k8s: truncateEndpoints: over capacity, each subset keeps its share of the addresses
 * that must go (not-ready ones first; ready ones only when they alone are too many). */
static bool truncate_subsets(json_t *subsets)
{
	size_t ready = 0, unready = 0, i;
	json_t *sub;
	json_array_foreach(subsets, i, sub)
	{
		ready += count_of(sub, "addresses");
		unready += count_of(sub, "notReadyAddresses");
	}
	if (ready + unready <= MAX_ADDRESSES)
		return false;
	bool cut_ready = ready > MAX_ADDRESSES;
	size_t max = cut_ready ? MAX_ADDRESSES : MAX_ADDRESSES - ready;
	size_t total = cut_ready ? ready : unready, left = max;
	json_array_foreach(subsets, i, sub)
	{
		const char *which = cut_ready ? "addresses" : "notReadyAddresses";
		size_t in = count_of(sub, which);
		size_t keep = total ? (in * max + total - 1) / total : 0;
		if (keep > left)
			keep = left;
		left -= keep;
		json_t *list = json_object_get(sub, which);
		while (json_array_size(list) > keep)
			json_array_remove(list, json_array_size(list) - 1);
		if (cut_ready)
			json_object_del(sub, "notReadyAddresses");
	}
	return true;
}

static json_t *build_subsets(json_t *svc, json_t **pods, size_t n)
{
	bool tolerate = json_is_true(json_path(svc, "spec.publishNotReadyAddresses"));
	bool headless = str_eq(json_path_str(svc, "spec.clusterIP"), "None");
	json_t *ports = json_path(svc, "spec.ports");
	address *addrs = xcalloc(n ? n : 1, sizeof *addrs);
	size_t naddrs = 0, nsets = 0;
	port_set *sets = NULL;
	for (size_t i = 0; i < n; i++) {
		json_t *pod = pods[i];
		const char *ip = ep_pod_ipv4(pod);
		/* k8s: terminating pods stay only when unready addresses are published. */
		if (!ep_pod_included(pod, tolerate) || !ip)
			continue;
		size_t ai = naddrs++;
		addrs[ai] = (address){.obj = endpoint_address(pod, svc, ip),
		                      .ip = ip,
		                      .uid = json_path_str(pod, "metadata.uid"),
		                      .ready = tolerate || ep_pod_ready(pod)};
		if (json_array_size(ports) == 0) {
			/* k8s: a headless service may have no ports. */
			if (headless)
				member(&sets, &nsets, NULL, ai);
			continue;
		}
		size_t k;
		json_t *sp;
		json_array_foreach(ports, k, sp)
		{
			int num = ep_find_port(pod, sp);
			if (num >= 0)
				member(&sets, &nsets, endpoint_port(sp, num), ai);
		}
	}
	json_t *subsets = repack(addrs, sets, nsets);
	for (size_t i = 0; i < nsets; i++) {
		json_decref(sets[i].port);
		free(sets[i].addrs);
	}
	free(sets);
	for (size_t i = 0; i < naddrs; i++)
		json_decref(addrs[i].obj);
	free(addrs);
	return subsets;
}

/* k8s: Endpoints carry the service's labels, plus the headless label when it has no
 * cluster IP. */
static json_t *desired_labels(json_t *svc)
{
	json_t *labels = json_clone(json_path(svc, "metadata.labels"));
	if (!json_is_object(labels)) {
		json_decref(labels);
		labels = json_object();
	}
	if (str_eq(json_path_str(svc, "spec.clusterIP"), "None"))
		json_object_set_new(labels, EP_HEADLESS_LABEL, json_string(""));
	else
		json_object_del(labels, EP_HEADLESS_LABEL);
	return labels;
}

static bool unchanged(json_t *cur, json_t *subsets, json_t *labels, bool truncated)
{
	json_t *cs = json_object_get(cur, "subsets");
	json_t *cl = json_path(cur, "metadata.labels");
	bool same_subsets =
	    json_equal(cs ? cs : subsets, subsets) && (cs || !json_array_size(subsets));
	bool same_labels = cl ? json_equal(cl, labels) : json_object_size(labels) == 0;
	bool over = json_object_get(json_path(cur, "metadata.annotations"),
	                            OVER_CAPACITY_ANNOTATION) != NULL;
	return same_subsets && same_labels && over == truncated;
}

static int sync_service(controller *c, const char *ns, const char *name)
{
	const kind_desc *sk = controller_kind("", "services");
	const kind_desc *ek = controller_kind("", "endpoints");
	json_t *svc = controller_get(c, sk, ns, name);
	json_t *cur = controller_get(c, ek, ns, name);
	if (!svc) {
		/* k8s: the Endpoints of a deleted service go with it. */
		if (cur)
			client_delete(c->srv, c->def->name, ek, ns, name, NULL, NULL, NULL);
		json_decref(cur);
		return RECONCILE_DONE;
	}
	if (!ep_service_managed(svc)) {
		json_decref(svc);
		json_decref(cur);
		return RECONCILE_DONE;
	}
	json_t **pods;
	size_t n = ep_service_pods(c, svc, &pods);
	json_t *subsets = build_subsets(svc, pods, n);
	bool truncated = truncate_subsets(subsets);
	json_t *labels = desired_labels(svc);
	if (cur && unchanged(cur, subsets, labels, truncated)) {
		json_decref(subsets);
		json_decref(labels);
		goto out;
	}
	char trigger[40];
	ep_trigger_time(svc, pods, n, trigger);
	json_t *obj = cur ? json_incref(cur)
	                  : json_pack("{s:s, s:s, s:{s:s, s:s}}", "apiVersion", "v1", "kind",
	                              "Endpoints", "metadata", "name", name, "namespace", ns);
	json_t *meta = json_obj_child(obj, "metadata");
	if (json_object_size(labels))
		json_object_set_new(meta, "labels", labels);
	else {
		json_object_del(meta, "labels");
		json_decref(labels);
	}
	json_t *ann = json_obj_child(meta, "annotations");
	if (*trigger)
		json_object_set_new(ann, EP_TRIGGER_TIME_ANNOTATION, json_string(trigger));
	else
		json_object_del(ann, EP_TRIGGER_TIME_ANNOTATION);
	if (truncated)
		json_object_set_new(ann, OVER_CAPACITY_ANNOTATION, json_string("truncated"));
	else
		json_object_del(ann, OVER_CAPACITY_ANNOTATION);
	if (!json_object_size(ann))
		json_object_del(meta, "annotations");
	if (json_array_size(subsets))
		json_object_set_new(obj, "subsets", subsets);
	else {
		json_object_del(obj, "subsets");
		json_decref(subsets);
	}
	if (cur)
		client_update(c->srv, c->def->name, ek, obj, NULL, NULL, NULL);
	else
		client_create(c->srv, c->def->name, ek, ns, obj, NULL, NULL);
	json_decref(obj);
out:
	controller_list_free(pods, n);
	json_decref(svc);
	json_decref(cur);
	return RECONCILE_DONE;
}

static int reconcile(controller *c, const char *key)
{
	_cleanup_free_ char *ns = NULL, *name = NULL;
	controller_split_key(key, &ns, &name);
	if (!ns)
		return RECONCILE_DONE;
	if (str_eq(ns, "default") && str_eq(name, "kubernetes")) {
		master_endpoints_reconcile(c->srv, "kube-apiserver");
		controller_enqueue_after(c, key, MASTER_RESYNC_MS);
		return RECONCILE_DONE;
	}
	return sync_service(c, ns, name);
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

/* k8s: only a deleted Endpoints object is put back; changes are this controller's own. */
static void on_endpoints(controller *c, const kind_desc *d, const cache_event *ev)
{
	UNUSED(d);
	if (ev->type != STORE_DELETED)
		return;
	json_t *o = cache_event_obj(ev);
	if (!o)
		return;
	char *key = controller_key_of(o);
	controller_enqueue(c, key);
	free(key);
}

/* The API server's own slice is put back when deleted. */
static void on_slice(controller *c, const kind_desc *d, const cache_event *ev)
{
	UNUSED(d);
	if (ev->type == STORE_DELETED &&
	    str_eq(json_string_value(json_object_get(ev->labels, "kubernetes.io/service-name")),
	           "kubernetes"))
		controller_enqueue(c, "default/kubernetes");
}

static void start(controller *c)
{
	c->state = xcalloc(1, sizeof(ep_selectors));
	controller_enqueue(c, "default/kubernetes");
}

static void stop(controller *c)
{
	ep_selectors_free(c->state);
	free(c->state);
	c->state = NULL;
}

const controller_def endpoints_controller = {
    .name = "endpoint-controller",
    .watches = {{.group = "", .resource = "services", .on_event = on_service},
                {.group = "", .resource = "pods", .on_event = on_pod},
                {.group = "", .resource = "endpoints", .on_event = on_endpoints},
                {.group = "discovery.k8s.io", .resource = "endpointslices", .on_event = on_slice}},
    .reconcile = reconcile,
    .start = start,
    .stop = stop,
};
CONTROLLER_REGISTER(endpoints_controller)
