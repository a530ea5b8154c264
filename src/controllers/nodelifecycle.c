/* nodelifecycle.c — node health and its consequences, as kube-controller-manager's
 * node-lifecycle-controller and taint-eviction-controller do them.
 *
 * node-lifecycle-controller: a node shows life through its Ready condition's heartbeat and
 * its Lease in kube-node-lease. When neither moved for the node-monitor-grace-period (50 s,
 * kube 1.32's default; 60 s for a node that never posted status) its Ready, MemoryPressure,
 * DiskPressure and PIDPressure conditions become Unknown ("Kubelet stopped posting node
 * status."), its pods are marked not Ready, and it is tainted: node.kubernetes.io/
 * unreachable (Ready Unknown) or not-ready (Ready False) with NoExecute — added at most
 * 0.1 nodes/s per zone, not at all while every node is down — and NoSchedule taints mirror
 * the conditions (not-ready, unreachable, memory/disk/pid-pressure, network-unavailable,
 * unschedulable). A node that reports Ready again loses them.
 * Tuning (tests use a few seconds): the node annotation timon.dev/node-monitor-grace-period
 * ("4s"), else the environment TIMON_NODE_MONITOR_GRACE_PERIOD and
 * TIMON_NODE_STARTUP_GRACE_PERIOD; TIMON_NODE_EVICTION_RATE (nodes per second per zone).
 *
 * taint-eviction-controller: a pod on a node with NoExecute taints it does not tolerate is
 * deleted at once; one it tolerates with tolerationSeconds is deleted once the shortest of
 * its matching tolerations' seconds has passed since the taint was first seen; a toleration
 * without seconds keeps it forever. Deleted pods get a DisruptionTarget condition first.
 * Not for: the default 300 s tolerations (admission's DefaultTolerationSeconds), node IPAM or
 * what simulated nodes report (simnode.c).
 */
#include <stdlib.h>
#include <string.h>

#include "apiserver/client.h"
#include "base/json.h"
#include "base/log.h"
#include "base/util.h"
#include "controllers/controller-internal.h"
#include "controllers/events.h"
#include "controllers/simnode-internal.h"

#define NLC_NAME      "node-lifecycle-controller"
#define NLC_COMPONENT "node-controller"
#define TE_NAME       "taint-eviction-controller"
#define LEASE_NS      "kube-node-lease"
#define TICK_MS       500
#define NS_PER_MS     1000000LL

#define TAINT_UNREACHABLE "node.kubernetes.io/unreachable"
#define TAINT_NOT_READY   "node.kubernetes.io/not-ready"

/* k8s: --node-eviction-rate 0.1, --secondary-node-eviction-rate 0.01,
 * --large-cluster-size-threshold 50, --unhealthy-zone-threshold 0.55; burst 1. */
#define EVICTION_QPS   0.1
#define SECONDARY_QPS  0.01
#define LARGE_CLUSTER  50
#define UNHEALTHY_ZONE 0.55

/* ---------- shared helpers ---------- */

static json_t *find_cond(json_t *conds, const char *type)
{
	size_t i;
	json_t *c;
	json_array_foreach(conds, i, c)
	{
		if (str_eq(json_string_value(json_object_get(c, "type")), type))
			return c;
	}
	return NULL;
}

/* 'T', 'F', 'U' for the node's Ready condition; 0 when it has none. */
static char ready_of(json_t *node)
{
	json_t *c = find_cond(json_path(node, "status.conditions"), "Ready");
	const char *s = json_string_value(json_object_get(c, "status"));
	if (!c)
		return 0;
	return str_eq(s, "True") ? 'T' : str_eq(s, "False") ? 'F' : 'U';
}

static bool has_taint(json_t *taints, const char *key, const char *effect)
{
	size_t i;
	json_t *t;
	json_array_foreach(taints, i, t)
	{
		if (str_eq(json_string_value(json_object_get(t, "key")), key) &&
		    str_eq(json_string_value(json_object_get(t, "effect")), effect))
			return true;
	}
	return false;
}

static bool remove_taint(json_t *taints, const char *key, const char *effect)
{
	for (size_t i = 0; i < json_array_size(taints); i++) {
		json_t *t = json_array_get(taints, i);
		if (str_eq(json_string_value(json_object_get(t, "key")), key) &&
		    str_eq(json_string_value(json_object_get(t, "effect")), effect)) {
			json_array_remove(taints, i);
			return true;
		}
	}
	return false;
}

/* k8s: taints the node controller adds carry timeAdded. */
static bool add_taint(json_t *taints, const char *key, const char *effect, const char *now)
{
	if (has_taint(taints, key, effect))
		return false;
	json_array_append_new(
	    taints, json_pack("{s:s, s:s, s:s}", "key", key, "effect", effect, "timeAdded", now));
	return true;
}

/* ---------- node-lifecycle-controller ---------- */

enum zone_state { ZONE_INITIAL, ZONE_NORMAL, ZONE_PARTIAL, ZONE_FULL };

typedef struct zone {
	char *name;
	enum zone_state state;
	int ready, notready;
	double tokens;
	int64_t refilled_ns;
} zone;

typedef struct health {
	char *name;
	int64_t probe_ns; /* when a sign of life was last seen (local clock) */
	char *beat;       /* Ready.lastHeartbeatTime seen last */
	char *renew;      /* Lease renewTime seen last */
	char ready;       /* Ready status as last seen */
	bool has_ready, registered, excluded;
	char *zone;
	int64_t grace_ms, startup_ms;
} health;

typedef struct nlc_state {
	controller *c;
	hmap nodes; /* name -> health */
	hmap zones; /* zone key -> zone */
	sim_pod_index ix;
	bool all_full;
	uv_timer_t tick;
} nlc_state;

static void replace_str(char **dst, const char *src)
{
	if (str_eq(*dst, src) || (!*dst && !src))
		return;
	free(*dst);
	*dst = xstrdup(src);
}

static health *health_get(nlc_state *st, const char *name)
{
	health *h = hmap_get(&st->nodes, name);
	if (!h) {
		h = xcalloc(1, sizeof *h);
		h->name = xstrdup(name);
		/* k8s: a node seen for the first time gets its grace period from now. */
		h->probe_ns = time_now_ns();
		hmap_put(&st->nodes, h->name, h);
	}
	return h;
}

static void health_free(health *h)
{
	free(h->name);
	free(h->beat);
	free(h->renew);
	free(h->zone);
	free(h);
}

/* k8s: the zone key is region and zone joined by ":\x00:". */
static char *zone_key(json_t *node)
{
	json_t *labels = json_path(node, "metadata.labels");
	const char *region =
	    json_string_value(json_object_get(labels, "topology.kubernetes.io/region"));
	const char *z = json_string_value(json_object_get(labels, "topology.kubernetes.io/zone"));
	if (!region)
		region = json_string_value(
		    json_object_get(labels, "failure-domain.beta.kubernetes.io/region"));
	if (!z)
		z = json_string_value(
		    json_object_get(labels, "failure-domain.beta.kubernetes.io/zone"));
	return xasprintf("%s:%s", region ? region : "", z ? z : "");
}

/* Learns from a node event: heartbeats move the probe time. */
static void observe_node(nlc_state *st, json_t *node)
{
	health *h = health_get(st, json_path_str(node, "metadata.name"));
	json_t *ready = find_cond(json_path(node, "status.conditions"), "Ready");
	const char *beat = json_string_value(json_object_get(ready, "lastHeartbeatTime"));
	if (beat && !str_eq(beat, h->beat)) {
		replace_str(&h->beat, beat);
		h->probe_ns = time_now_ns();
	}
	h->has_ready = ready != NULL;
	h->ready = ready_of(node);
	h->grace_ms = sim_grace_ms(node);
	h->startup_ms = sim_startup_grace_ms(node);
	/* k8s: nodes labelled node.kubernetes.io/exclude-disruption do not count for zones. */
	h->excluded = json_object_get(json_path(node, "metadata.labels"),
	                              "node.kubernetes.io/exclude-disruption") != NULL;
	char *zk = zone_key(node);
	replace_str(&h->zone, zk);
	free(zk);
}

static zone *zone_get(nlc_state *st, const char *name)
{
	zone *z = hmap_get(&st->zones, name);
	if (!z) {
		z = xcalloc(1, sizeof *z);
		z->name = xstrdup(name);
		z->tokens = 1;
		z->refilled_ns = time_now_ns();
		hmap_put(&st->zones, z->name, z);
	}
	return z;
}

static double eviction_qps(void)
{
	const char *e = getenv("TIMON_NODE_EVICTION_RATE");
	double v = e ? atof(e) : EVICTION_QPS;
	return v > 0 ? v : EVICTION_QPS;
}

static double zone_qps(const nlc_state *st, const zone *z)
{
	int size = z->ready + z->notready;
	switch (z->state) {
	case ZONE_PARTIAL:
		/* k8s: a partly disrupted zone evicts slowly, or not at all in small clusters. */
		return size > LARGE_CLUSTER ? SECONDARY_QPS : 0;
	case ZONE_FULL:
		return st->all_full ? 0 : eviction_qps();
	default:
		return eviction_qps();
	}
}

/* Takes a token of zone z: 0 when granted, else ms to wait (-1: not while this lasts). */
static int64_t zone_take(nlc_state *st, zone *z)
{
	double qps = zone_qps(st, z);
	int64_t now = time_now_ns();
	if (qps <= 0)
		return -1;
	z->tokens += (double)(now - z->refilled_ns) / 1e9 * qps;
	if (z->tokens > 1)
		z->tokens = 1;
	z->refilled_ns = now;
	if (z->tokens >= 1) {
		z->tokens -= 1;
		return 0;
	}
	return (int64_t)((1 - z->tokens) / qps * 1000) + 1;
}

/* k8s: ComputeZoneState: no ready node is full disruption; more than two not ready and at
 * least 55% is partial. Returns true when any zone changed state. */
static bool compute_zones(nlc_state *st)
{
	size_t it = 0;
	const char *k;
	void *v;
	while (hmap_next(&st->zones, &it, &k, &v)) {
		zone *z = v;
		z->ready = z->notready = 0;
	}
	it = 0;
	while (hmap_next(&st->nodes, &it, &k, &v)) {
		health *h = v;
		if (h->excluded || !h->zone)
			continue;
		zone *z = zone_get(st, h->zone);
		if (h->ready == 'T')
			z->ready++;
		else
			z->notready++;
	}
	bool changed = false, all_full = true, any = false;
	it = 0;
	while (hmap_next(&st->zones, &it, &k, &v)) {
		zone *z = v;
		if (!z->ready && !z->notready)
			continue;
		any = true;
		enum zone_state s = ZONE_NORMAL;
		if (!z->ready && z->notready)
			s = ZONE_FULL;
		else if (z->notready > 2 &&
		         (double)z->notready / (z->ready + z->notready) >= UNHEALTHY_ZONE)
			s = ZONE_PARTIAL;
		if (s != ZONE_FULL)
			all_full = false;
		if (s != z->state) {
			if (z->state != ZONE_INITIAL)
				log_info("node-lifecycle: zone \"%s\" is now %s", z->name,
				         s == ZONE_FULL      ? "fully disrupted"
				         : s == ZONE_PARTIAL ? "partially disrupted"
				                             : "normal");
			z->state = s;
			changed = true;
		}
	}
	all_full = any && all_full;
	if (all_full != st->all_full) {
		st->all_full = all_full;
		changed = true;
		if (!all_full) {
			/* k8s: leaving full disruption restarts every node's grace period. */
			int64_t now = time_now_ns();
			it = 0;
			while (hmap_next(&st->nodes, &it, &k, &v))
				((health *)v)->probe_ns = now;
		}
		log_info("node-lifecycle: %s master disruption mode",
		         all_full ? "entering" : "leaving");
	}
	return changed;
}

/* k8s: MarkPodsNotReady: the Ready condition of each pod on the node turns False. */
static void mark_pods_not_ready(controller *c, nlc_state *st, const char *node)
{
	const kind_desc *pk = controller_kind("", "pods");
	char **keys;
	size_t n = sim_index_copy(&st->ix, node, &keys);
	char now[32];
	time_rfc3339(time_now_ns(), false, now);
	for (size_t i = 0; i < n; i++) {
		char *ns, *name;
		controller_split_key(keys[i], &ns, &name);
		json_t *pod = controller_get(c, pk, ns, name);
		json_t *rc = find_cond(json_path(pod, "status.conditions"), "Ready");
		if (pod && rc && str_eq(json_path_str(pod, "spec.nodeName"), node) &&
		    !str_eq(json_string_value(json_object_get(rc, "status")), "False")) {
			json_object_set_new(rc, "status", json_string("False"));
			json_object_set_new(rc, "lastTransitionTime", json_string(now));
			client_update(c->srv, NLC_NAME, pk, pod, "status", NULL, NULL);
			event_record(c->srv, NLC_COMPONENT, pod, "Warning", "NodeNotReady",
			             "Node is not ready");
		}
		json_decref(pod);
		free(ns);
		free(name);
		free(keys[i]);
	}
	free(keys);
}

/* k8s: a node silent past its grace period: the kubelet's conditions become Unknown. */
static bool mark_unknown(json_t *node, const char *now)
{
	json_t *st = json_obj_child(node, "status");
	json_t *conds = json_object_get(st, "conditions");
	if (!json_is_array(conds)) {
		conds = json_array();
		json_object_set_new(st, "conditions", conds);
	}
	static const char *const types[] = {"Ready", "MemoryPressure", "DiskPressure",
	                                    "PIDPressure"};
	const char *created = json_path_str(node, "metadata.creationTimestamp");
	bool changed = false;
	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		json_t *c = find_cond(conds, types[i]);
		if (!c) {
			json_array_append_new(
			    conds,
			    json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "type", types[i], "status",
			              "Unknown", "lastHeartbeatTime", created ? created : now,
			              "lastTransitionTime", now, "reason", "NodeStatusNeverUpdated",
			              "message", "Kubelet never posted node status."));
			changed = true;
		} else if (!str_eq(json_string_value(json_object_get(c, "status")), "Unknown")) {
			json_object_set_new(c, "status", json_string("Unknown"));
			json_object_set_new(c, "reason", json_string("NodeStatusUnknown"));
			json_object_set_new(c, "message",
			                    json_string("Kubelet stopped posting node status."));
			json_object_set_new(c, "lastTransitionTime", json_string(now));
			changed = true;
		}
	}
	return changed;
}

/* k8s: the NoSchedule taints that mirror conditions (TaintNodesByCondition). */
static void condition_taints(json_t *node, json_t *taints, const char *now)
{
	static const struct {
		const char *type, *status, *key;
	} map[] = {
	    {"Ready", "False", TAINT_NOT_READY},
	    {"Ready", "Unknown", TAINT_UNREACHABLE},
	    {"MemoryPressure", "True", "node.kubernetes.io/memory-pressure"},
	    {"DiskPressure", "True", "node.kubernetes.io/disk-pressure"},
	    {"NetworkUnavailable", "True", "node.kubernetes.io/network-unavailable"},
	    {"PIDPressure", "True", "node.kubernetes.io/pid-pressure"},
	};
	json_t *conds = json_path(node, "status.conditions");
	for (size_t i = 0; i < ARRAY_SIZE(map); i++) {
		json_t *c = find_cond(conds, map[i].type);
		if (c && str_eq(json_string_value(json_object_get(c, "status")), map[i].status))
			add_taint(taints, map[i].key, "NoSchedule", now);
		else
			remove_taint(taints, map[i].key, "NoSchedule");
	}
	if (json_is_true(json_path(node, "spec.unschedulable")))
		add_taint(taints, "node.kubernetes.io/unschedulable", "NoSchedule", now);
	else
		remove_taint(taints, "node.kubernetes.io/unschedulable", "NoSchedule");
}

static int nlc_reconcile_node(controller *c, nlc_state *st, const char *name)
{
	const kind_desc *nk = controller_kind("", "nodes");
	json_t *node = controller_get(c, nk, NULL, name);
	if (!node) {
		health *h = hmap_del(&st->nodes, name);
		if (h)
			health_free(h);
		return RECONCILE_DONE;
	}
	observe_node(st, node);
	health *h = hmap_get(&st->nodes, name);
	if (!h->registered) {
		h->registered = true;
		event_record(c->srv, NLC_COMPONENT, node, "Normal", "RegisteredNode",
		             "Node %s event: Registered Node %s in Controller", name, name);
	}
	int64_t now_ns = time_now_ns();
	char now[32];
	time_rfc3339(now_ns, false, now);
	char observed = h->ready;
	int64_t grace = h->has_ready ? h->grace_ms : h->startup_ms;
	if (now_ns > h->probe_ns + grace * NS_PER_MS && mark_unknown(node, now)) {
		client_update(c->srv, NLC_NAME, nk, node, "status", NULL, NULL);
		json_decref(node);
		node = controller_get(c, nk, NULL, name);
		if (!node)
			return RECONCILE_DONE;
		h->ready = ready_of(node);
		h->has_ready = true;
	}
	char current = h->ready;
	if (observed == 'T' && current != 'T') {
		event_record(c->srv, NLC_COMPONENT, node, "Normal", "NodeNotReady",
		             "Node %s status is now: NodeNotReady", name);
		mark_pods_not_ready(c, st, name);
	}

	/* Taints: the NoSchedule mirror of the conditions, then the NoExecute pair. */
	json_t *spec = json_obj_child(node, "spec");
	json_t *old = json_object_get(spec, "taints");
	json_t *taints = json_is_array(old) ? json_clone(old) : json_array();
	condition_taints(node, taints, now);
	if (st->all_full || current == 'T') {
		remove_taint(taints, TAINT_UNREACHABLE, "NoExecute");
		remove_taint(taints, TAINT_NOT_READY, "NoExecute");
	} else if (current == 'F' || current == 'U') {
		const char *want = current == 'F' ? TAINT_NOT_READY : TAINT_UNREACHABLE;
		const char *other = current == 'F' ? TAINT_UNREACHABLE : TAINT_NOT_READY;
		/* k8s: swapping one for the other is immediate; a new taint waits its turn. */
		if (has_taint(taints, other, "NoExecute")) {
			remove_taint(taints, other, "NoExecute");
			add_taint(taints, want, "NoExecute", now);
		} else if (!has_taint(taints, want, "NoExecute")) {
			int64_t wait = zone_take(st, zone_get(st, h->zone ? h->zone : ":"));
			if (wait == 0)
				add_taint(taints, want, "NoExecute", now);
			else if (wait > 0)
				controller_enqueue_after(c, name, (uint64_t)wait);
		}
	}
	bool same = old ? json_equal(taints, old) : json_array_size(taints) == 0;
	if (!same) {
		if (json_array_size(taints))
			json_object_set(spec, "taints", taints);
		else
			json_object_del(spec, "taints");
		client_update(c->srv, NLC_NAME, nk, node, NULL, NULL, NULL);
	}
	json_decref(taints);
	json_decref(node);
	return RECONCILE_DONE;
}

static int nlc_reconcile_pod(controller *c, nlc_state *st, const char *key)
{
	/* k8s: a pod assigned to a node that is not Ready is marked not Ready at once. */
	const char *node = sim_index_node_of(&st->ix, key);
	health *h = node ? hmap_get(&st->nodes, node) : NULL;
	if (!h || !h->has_ready || h->ready == 'T')
		return RECONCILE_DONE;
	_cleanup_free_ char *ns = NULL, *name = NULL;
	controller_split_key(key, &ns, &name);
	const kind_desc *pk = controller_kind("", "pods");
	json_t *pod = controller_get(c, pk, ns, name);
	json_t *rc = find_cond(json_path(pod, "status.conditions"), "Ready");
	if (rc && !str_eq(json_string_value(json_object_get(rc, "status")), "False")) {
		char now[32];
		time_rfc3339(time_now_ns(), false, now);
		json_object_set_new(rc, "status", json_string("False"));
		json_object_set_new(rc, "lastTransitionTime", json_string(now));
		client_update(c->srv, NLC_NAME, pk, pod, "status", NULL, NULL);
		event_record(c->srv, NLC_COMPONENT, pod, "Warning", "NodeNotReady",
		             "Node is not ready");
	}
	json_decref(pod);
	return RECONCILE_DONE;
}

static int nlc_reconcile(controller *c, const char *key)
{
	nlc_state *st = c->state;
	return strchr(key, '/') ? nlc_reconcile_pod(c, st, key) : nlc_reconcile_node(c, st, key);
}

static void nlc_on_node(controller *c, const kind_desc *d, const cache_event *ev)
{
	UNUSED(d);
	nlc_state *st = c->state;
	json_t *o = cache_event_obj(ev);
	const char *name = json_path_str(o, "metadata.name");
	if (name && ev->type == STORE_DELETED) {
		health *h = hmap_del(&st->nodes, name);
		if (h)
			health_free(h);
	} else if (name) {
		observe_node(st, o);
		controller_enqueue(c, name);
	}
}

/* The value of the last "renewTime" member in a serialized Lease (spec follows metadata),
 * copied into out; false when absent. Saves parsing every renewal of every node. */
static bool lease_renew_time(const blob *b, char out[40])
{
	static const char pat[] = "\"renewTime\":\"";
	const char *p = b->data, *end = b->data + b->len, *hit = NULL;
	while ((p = memmem(p, (size_t)(end - p), pat, sizeof pat - 1))) {
		hit = p + sizeof pat - 1;
		p = hit;
	}
	if (!hit)
		return false;
	const char *q = memchr(hit, '"', (size_t)(end - hit));
	if (!q || q - hit >= 40)
		return false;
	memcpy(out, hit, (size_t)(q - hit));
	out[q - hit] = 0;
	return true;
}

static void nlc_on_lease(controller *c, const kind_desc *d, const cache_event *ev)
{
	UNUSED(d);
	nlc_state *st = c->state;
	static const char dir[] = "/" LEASE_NS "/";
	const char *at = strstr(ev->key, dir);
	if (ev->type == STORE_DELETED || !at)
		return;
	health *h = hmap_get(&st->nodes, at + sizeof dir - 1);
	char renew[40];
	/* k8s: a renewed node lease counts as a heartbeat. */
	if (h && lease_renew_time(ev->value, renew) && !str_eq(renew, h->renew) &&
	    (!h->renew || strcmp(renew, h->renew) > 0)) {
		replace_str(&h->renew, renew);
		h->probe_ns = time_now_ns();
	}
}

static void nlc_on_pod(controller *c, const kind_desc *d, const cache_event *ev)
{
	UNUSED(d);
	nlc_state *st = c->state;
	char key[320], node[256];
	if (!sim_pod_event_ref(ev, key, node))
		return;
	if (ev->type == STORE_DELETED) {
		sim_index_set(&st->ix, key, NULL);
		return;
	}
	bool moved = *node && !str_eq(node, sim_index_node_of(&st->ix, key));
	sim_index_set(&st->ix, key, node);
	health *h = moved ? hmap_get(&st->nodes, node) : NULL;
	if (h && h->has_ready && h->ready != 'T')
		controller_enqueue(c, key);
}

static void nlc_tick(uv_timer_t *t)
{
	controller *c = t->data;
	nlc_state *st = c->state;
	bool zones_changed = compute_zones(st);
	int64_t now = time_now_ns();
	size_t it = 0;
	const char *k;
	void *v;
	while (hmap_next(&st->nodes, &it, &k, &v)) {
		health *h = v;
		int64_t grace = h->has_ready ? h->grace_ms : h->startup_ms;
		bool silent = now > h->probe_ns + grace * NS_PER_MS && h->ready != 'U';
		/* A zone that changed state re-decides its unhealthy nodes' NoExecute taints. */
		if (silent || (zones_changed && h->ready != 'T'))
			controller_enqueue(c, h->name);
	}
}

static void nlc_start(controller *c)
{
	nlc_state *st = xcalloc(1, sizeof *st);
	st->c = c;
	c->state = st;
	uv_timer_init(apiserver_loop(c->srv), &st->tick);
	st->tick.data = c;
	uv_timer_start(&st->tick, nlc_tick, TICK_MS, TICK_MS);
}

static void nlc_free(uv_handle_t *hd)
{
	controller *c = hd->data;
	nlc_state *st = c->state;
	size_t it = 0;
	const char *k;
	void *v;
	while (hmap_next(&st->nodes, &it, &k, &v))
		health_free(v);
	it = 0;
	while (hmap_next(&st->zones, &it, &k, &v)) {
		zone *z = v;
		free(z->name);
		free(z);
	}
	hmap_free(&st->nodes);
	hmap_free(&st->zones);
	sim_index_free(&st->ix);
	free(st);
	c->state = NULL;
}

static void nlc_stop(controller *c)
{
	nlc_state *st = c->state;
	if (!st)
		return;
	uv_timer_stop(&st->tick);
	uv_close((uv_handle_t *)&st->tick, nlc_free);
}

const controller_def nodelifecycle_controller = {
    .name = NLC_NAME,
    .watches = {{.group = "", .resource = "nodes", .on_event = nlc_on_node},
                {.group = "coordination.k8s.io", .resource = "leases", .on_event = nlc_on_lease},
                {.group = "", .resource = "pods", .on_event = nlc_on_pod}},
    .reconcile = nlc_reconcile,
    .start = nlc_start,
    .stop = nlc_stop,
};
CONTROLLER_REGISTER(nodelifecycle_controller);

/* ---------- taint-eviction-controller ---------- */

typedef struct eviction {
	char *key;
	int64_t created_ns; /* when the taints were first seen for this pod */
} eviction;

typedef struct tainted {
	char *node;
	json_t *taints; /* its NoExecute taints */
} tainted;

typedef struct te_state {
	hmap nodes;     /* node -> tainted (only nodes with NoExecute taints) */
	hmap evictions; /* pod key -> eviction */
	sim_pod_index ix;
} te_state;

static json_t *noexecute_taints(json_t *node)
{
	json_t *out = json_array();
	size_t i;
	json_t *t;
	json_array_foreach(json_path(node, "spec.taints"), i, t)
	{
		if (str_eq(json_string_value(json_object_get(t, "effect")), "NoExecute"))
			json_array_append(out, t);
	}
	return out;
}

/* k8s: ToleratesTaint: effect and key must match when set; Equal compares values, Exists
 * matches any. */
static bool tolerates(json_t *tol, json_t *taint)
{
	const char *effect = json_string_value(json_object_get(tol, "effect"));
	const char *key = json_string_value(json_object_get(tol, "key"));
	const char *op = json_string_value(json_object_get(tol, "operator"));
	if (effect && *effect &&
	    !str_eq(effect, json_string_value(json_object_get(taint, "effect"))))
		return false;
	if (key && *key && !str_eq(key, json_string_value(json_object_get(taint, "key"))))
		return false;
	if (str_eq(op, "Exists"))
		return true;
	if (op && *op && !str_eq(op, "Equal"))
		return false;
	const char *tv = json_string_value(json_object_get(tol, "value"));
	const char *xv = json_string_value(json_object_get(taint, "value"));
	return strcmp(tv ? tv : "", xv ? xv : "") == 0;
}

/* k8s: every taint needs a tolerating toleration (the first that matches is used); the
 * pod may stay for the least tolerationSeconds among those, forever when none has any.
 * Returns -2 when some taint is not tolerated, -1 for forever, else seconds (>= 0). */
static int64_t toleration_seconds(json_t *tols, json_t *taints)
{
	int64_t min = -1;
	size_t i, j;
	json_t *taint, *tol;
	json_array_foreach(taints, i, taint)
	{
		json_t *used = NULL;
		json_array_foreach(tols, j, tol)
		{
			if (tolerates(tol, taint)) {
				used = tol;
				break;
			}
		}
		if (!used)
			return -2;
		json_t *secs = json_object_get(used, "tolerationSeconds");
		if (json_is_integer(secs)) {
			int64_t s = json_integer_value(secs);
			if (s < 0)
				s = 0;
			if (min < 0 || s < min)
				min = s;
		}
	}
	return min;
}

static void cancel_eviction(controller *c, te_state *st, const char *key, bool announce)
{
	eviction *ev = hmap_del(&st->evictions, key);
	if (!ev)
		return;
	if (announce) {
		char *ns, *name;
		controller_split_key(key, &ns, &name);
		json_t *ref = json_pack("{s:s, s:s, s:{s:s, s:s}}", "apiVersion", "v1", "kind",
		                        "Pod", "metadata", "name", name, "namespace", ns ? ns : "");
		event_record(c->srv, TE_NAME, ref, "Normal", "TaintManagerEviction",
		             "Cancelling deletion of Pod %s", key);
		json_decref(ref);
		free(ns);
		free(name);
	}
	free(ev->key);
	free(ev);
}

static void evict(controller *c, te_state *st, json_t *pod, const char *key)
{
	const kind_desc *pk = controller_kind("", "pods");
	event_record(c->srv, TE_NAME, pod, "Normal", "TaintManagerEviction",
	             "Marking for deletion Pod %s", key);
	/* k8s: the pod learns why it goes: DisruptionTarget, DeletionByTaintManager. */
	json_t *status = json_obj_child(pod, "status");
	json_t *conds = json_object_get(status, "conditions");
	if (!json_is_array(conds)) {
		conds = json_array();
		json_object_set_new(status, "conditions", conds);
	}
	json_t *dt = find_cond(conds, "DisruptionTarget");
	if (!dt || !str_eq(json_string_value(json_object_get(dt, "status")), "True")) {
		char now[32];
		time_rfc3339(time_now_ns(), false, now);
		json_t *nc = json_pack("{s:s, s:s, s:n, s:s, s:s, s:s}", "type", "DisruptionTarget",
		                       "status", "True", "lastProbeTime", "lastTransitionTime", now,
		                       "reason", "DeletionByTaintManager", "message",
		                       "Taint manager: deleting due to NoExecute taint");
		if (dt) {
			json_object_update(dt, nc);
			json_decref(nc);
		} else {
			json_array_append_new(conds, nc);
		}
		client_update(c->srv, TE_NAME, pk, pod, "status", NULL, NULL);
	}
	client_delete(c->srv, TE_NAME, pk, json_path_str(pod, "metadata.namespace"),
	              json_path_str(pod, "metadata.name"), NULL, NULL, NULL);
	cancel_eviction(c, st, key, false);
}

/* Decides one pod against its node's NoExecute taints. */
static void te_process(controller *c, te_state *st, const char *key, json_t *pod, json_t *taints)
{
	if (!json_array_size(taints)) {
		cancel_eviction(c, st, key, true);
		return;
	}
	if (json_path(pod, "metadata.deletionTimestamp"))
		return;
	int64_t secs = toleration_seconds(json_path(pod, "spec.tolerations"), taints);
	if (secs == -1) {
		cancel_eviction(c, st, key, true);
		return;
	}
	int64_t now = time_now_ns();
	eviction *ev = hmap_get(&st->evictions, key);
	if (!ev) {
		ev = xcalloc(1, sizeof *ev);
		ev->key = xstrdup(key);
		ev->created_ns = now;
		hmap_put(&st->evictions, ev->key, ev);
	}
	int64_t fire = secs == -2 ? now : ev->created_ns + secs * 1000000000LL;
	if (fire <= now)
		evict(c, st, pod, key);
	else
		controller_enqueue_after(c, key, (uint64_t)((fire - now) / NS_PER_MS + 1));
}

static int te_reconcile(controller *c, const char *key)
{
	te_state *st = c->state;
	if (strchr(key, '/')) {
		_cleanup_free_ char *ns = NULL, *name = NULL;
		controller_split_key(key, &ns, &name);
		json_t *pod = controller_get(c, controller_kind("", "pods"), ns, name);
		const char *node = json_path_str(pod, "spec.nodeName");
		tainted *t = node ? hmap_get(&st->nodes, node) : NULL;
		if (!pod || !t)
			cancel_eviction(c, st, key, pod != NULL);
		else
			te_process(c, st, key, pod, t->taints);
		json_decref(pod);
		return RECONCILE_DONE;
	}
	json_t *node = controller_get(c, controller_kind("", "nodes"), NULL, key);
	json_t *taints = node ? noexecute_taints(node) : json_array();
	tainted *t = hmap_get(&st->nodes, key);
	if (!json_array_size(taints)) {
		if (t) {
			hmap_del(&st->nodes, key);
			json_decref(t->taints);
			free(t->node);
			free(t);
		}
	} else {
		if (!t) {
			t = xcalloc(1, sizeof *t);
			t->node = xstrdup(key);
			hmap_put(&st->nodes, t->node, t);
		}
		json_decref(t->taints);
		t->taints = json_incref(taints);
	}
	/* Every pod of the node is decided again (evictions cancelled when taints went). */
	char **keys;
	size_t n = sim_index_copy(&st->ix, key, &keys);
	const kind_desc *pk = controller_kind("", "pods");
	for (size_t i = 0; i < n; i++) {
		char *ns, *name;
		controller_split_key(keys[i], &ns, &name);
		json_t *pod = controller_get(c, pk, ns, name);
		if (pod && str_eq(json_path_str(pod, "spec.nodeName"), key))
			te_process(c, st, keys[i], pod, taints);
		json_decref(pod);
		free(ns);
		free(name);
		free(keys[i]);
	}
	free(keys);
	json_decref(taints);
	json_decref(node);
	return RECONCILE_DONE;
}

static void te_on_node(controller *c, const kind_desc *d, const cache_event *ev)
{
	UNUSED(d);
	te_state *st = c->state;
	json_t *o = cache_event_obj(ev);
	const char *name = json_path_str(o, "metadata.name");
	if (name) {
		json_t *taints = ev->type == STORE_DELETED ? json_array() : noexecute_taints(o);
		tainted *t = hmap_get(&st->nodes, name);
		/* Only a change of NoExecute taints matters. */
		if (t ? !json_equal(t->taints, taints) : json_array_size(taints) > 0)
			controller_enqueue(c, name);
		json_decref(taints);
	}
}

static void te_on_pod(controller *c, const kind_desc *d, const cache_event *ev)
{
	UNUSED(d);
	te_state *st = c->state;
	char key[320], node[256];
	if (!sim_pod_event_ref(ev, key, node))
		return;
	if (ev->type == STORE_DELETED) {
		sim_index_set(&st->ix, key, NULL);
		if (hmap_get(&st->evictions, key))
			controller_enqueue(c, key);
		return;
	}
	const char *was = sim_index_node_of(&st->ix, key);
	bool moved = strcmp(node, was ? was : "") != 0;
	sim_index_set(&st->ix, key, node);
	/* Pods on tainted nodes are decided again on any change (tolerations may grow). */
	if ((*node && hmap_get(&st->nodes, node)) || (moved && hmap_get(&st->evictions, key)))
		controller_enqueue(c, key);
}

static void te_start(controller *c)
{
	c->state = xcalloc(1, sizeof(te_state));
}

static void te_stop(controller *c)
{
	te_state *st = c->state;
	if (!st)
		return;
	size_t it = 0;
	const char *k;
	void *v;
	while (hmap_next(&st->nodes, &it, &k, &v)) {
		tainted *t = v;
		json_decref(t->taints);
		free(t->node);
		free(t);
	}
	it = 0;
	while (hmap_next(&st->evictions, &it, &k, &v)) {
		eviction *ev = v;
		free(ev->key);
		free(ev);
	}
	hmap_free(&st->nodes);
	hmap_free(&st->evictions);
	sim_index_free(&st->ix);
	free(st);
	c->state = NULL;
}

const controller_def tainteviction_controller = {
    .name = TE_NAME,
    .watches = {{.group = "", .resource = "nodes", .on_event = te_on_node},
                {.group = "", .resource = "pods", .on_event = te_on_pod}},
    .reconcile = te_reconcile,
    .start = te_start,
    .stop = te_stop,
};
CONTROLLER_REGISTER(tainteviction_controller);
