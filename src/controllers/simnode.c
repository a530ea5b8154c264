/* simnode.c — simulated nodes (like kwok): a built-in kubelet stand-in for every Node
 * annotated timon.dev/simulated: "true", so schedulers, controllers and benchmarks run
 * against thousands of nodes without machines.
 *
 * For such a node it:
 *  - adds the kubelet's registration labels when absent (kubernetes.io/hostname, os, arch
 *    and their beta twins) and assigns spec.podCIDR: a /24 from 10.42.0.0/16 (the first 256
 *    nodes), then from 10.128.0.0/10 (16384 more);
 *  - reports status as a kubelet does: conditions Ready/MemoryPressure/DiskPressure/
 *    PIDPressure (plus NetworkUnavailable as the route controller sets it), capacity and
 *    allocatable, nodeInfo, addresses (an InternalIP from 10.200.0.0/16 unless one was given,
 *    and Hostname), daemonEndpoints. It rewrites status only when something changed, or every
 *    5 minutes to refresh heartbeats (the kubelet's nodeStatusReportFrequency);
 *  - renews the Lease kube-node-lease/<node> every 10 s (holder = node, 40 s duration); with
 *    a timon.dev/node-monitor-grace-period annotation, every quarter of that period instead;
 *  - runs every pod bound to it (spec.nodeName): Running and Ready with a podIP from the
 *    node's podCIDR, one status write per pod (see simnode_pod.c for completion), and
 *    removes pods being deleted gracefully (deletionTimestamp) with gracePeriodSeconds 0.
 *
 * Capacity convention: status.capacity / status.allocatable given when the Node was created
 * are kept; missing standard resources default to cpu 32, memory 256Gi, pods 110,
 * ephemeral-storage 1Ti (hugepages-1Gi/2Mi 0). The annotation timon.dev/capacity (and
 * timon.dev/allocatable) overrides or adds resources, e.g. "cpu=64,nvidia.com/gpu=8" or the
 * JSON object {"nvidia.com/gpu":"8"}; allocatable equals capacity unless given.
 * timon.dev/sim-paused: "true" stops the node's "kubelet": no lease renewal, no status, its
 * pods are left as they are (the node lifecycle controller then marks it unreachable).
 * Nodes without the annotation are left alone (real agents own them).
 * Not for: node health decisions, taints or evictions (nodelifecycle.c).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/client.h"
#include "base/json.h"
#include "base/log.h"
#include "base/quantity.h"
#include "base/util.h"
#include "controllers/controller-internal.h"
#include "controllers/events.h"
#include "controllers/simnode-internal.h"

#define NAME     "simnode-controller"
#define LEASE_NS "kube-node-lease"
/* k8s: the kubelet's lease: 40 s duration, renewed every quarter of it (10 s). */
#define LEASE_SECONDS 40
#define RENEW_MS      10000
#define MIN_RENEW_MS  250
#define TICK_MS       250
/* k8s: nodeStatusReportFrequency: an unchanged status is still posted every 5 minutes. */
#define REPORT_NS       (300 * 1000000000LL)
#define KUBELET_VERSION "v1.32.0"

#define PRIMARY_BASE    0x0a2a0000u /* 10.42.0.0/16: 256 /24 blocks */
#define PRIMARY_BLOCKS  256u
#define OVERFLOW_BASE   0x0a800000u /* 10.128.0.0/10: 16384 /24 blocks */
#define OVERFLOW_BLOCKS 16384u
#define NODE_IP_BASE    0x0ac80000u /* 10.200.0.0/16 */

typedef struct simnode {
	char *name;
	bool simulated, paused, running;
	uint32_t cidr;                 /* network of its pod range (host order), 0: none yet */
	int cidr_bits;                 /* prefix length */
	int cidr_block;                /* our block index, -1: not ours */
	uint32_t ip;                   /* InternalIP (host order), 0: none yet */
	bool ip_ours;                  /* allocated from NODE_IP_BASE */
	uint8_t used[32];              /* pod host numbers 0..255 of the range in use */
	uint32_t cursor;               /* where the next pod address search starts */
	uint64_t next_renew, renew_ms; /* loop clock, ms */
	int64_t status_at;             /* wall clock of our last status write */
} simnode;

typedef struct simpod {
	char *key;
	char *node;
	uint32_t ip;
	/* The revision our last status write stored, when that status is settled: its event
	 * then has nothing to tell, and its pod need not be parsed. */
	int64_t own_rev;
} simpod;

/* The tree of a just-bound pod's event, kept for its reconcile: by then the cache has
 * often let its own tree go (it keeps the last few hundred), and a parse was a fifth of
 * the simulated kubelet's cost. Used only while the pod is still at rev. */
typedef struct simpin {
	char *key;
	int64_t rev;
	json_t *tree; /* shared, read-only */
} simpin;

typedef struct sim_state {
	controller *c;
	hmap nodes; /* name -> simnode */
	hmap pods;  /* pod key -> simpod (pods holding an address) */
	hmap pins;  /* pod key -> simpin */
	sim_pod_index ix;
	uint8_t blocks[(PRIMARY_BLOCKS + OVERFLOW_BLOCKS) / 8];
	uint8_t node_ips[65536 / 8];
	uint32_t block_cursor, ip_cursor;
	uv_timer_t tick;
} sim_state;

static bool bit_get(const uint8_t *b, uint32_t i)
{
	return b[i / 8] & (1u << (i % 8));
}
static void bit_set(uint8_t *b, uint32_t i, bool on)
{
	if (on)
		b[i / 8] |= (uint8_t)(1u << (i % 8));
	else
		b[i / 8] &= (uint8_t) ~(1u << (i % 8));
}

static void ip_str(uint32_t ip, char out[16])
{
	size_t n = 0;
	for (int shift = 24; shift >= 0; shift -= 8) {
		n += fmt_u64(out + n, (ip >> shift) & 255);
		out[n++] = '.';
	}
	out[n - 1] = 0;
}

static bool parse_ip(const char *s, uint32_t *out)
{
	struct in_addr a;
	if (!s || inet_pton(AF_INET, s, &a) != 1)
		return false;
	*out = ntohl(a.s_addr);
	return true;
}

static bool parse_cidr(const char *s, uint32_t *net, int *bits)
{
	return ipv4_cidr_parse(s, net, bits) && *bits >= 8 && *bits <= 30;
}

/* ---------- address bookkeeping ---------- */

static int block_of(uint32_t net, int bits)
{
	if (bits != 24)
		return -1;
	if ((net & 0xffff0000u) == PRIMARY_BASE)
		return (int)((net >> 8) & 255);
	if ((net & 0xffc00000u) == OVERFLOW_BASE)
		return (int)(PRIMARY_BLOCKS + ((net - OVERFLOW_BASE) >> 8));
	return -1;
}

static uint32_t block_net(uint32_t i)
{
	return i < PRIMARY_BLOCKS ? PRIMARY_BASE + (i << 8)
	                          : OVERFLOW_BASE + ((i - PRIMARY_BLOCKS) << 8);
}

/* Takes the first free block from the cursor on; false when all are used. */
static bool alloc_block(sim_state *st, simnode *sn)
{
	uint32_t total = PRIMARY_BLOCKS + OVERFLOW_BLOCKS;
	for (uint32_t k = 0; k < total; k++) {
		uint32_t i = (st->block_cursor + k) % total;
		if (!bit_get(st->blocks, i)) {
			bit_set(st->blocks, i, true);
			st->block_cursor = i + 1;
			sn->cidr = block_net(i);
			sn->cidr_bits = 24;
			sn->cidr_block = (int)i;
			return true;
		}
	}
	return false;
}

static bool alloc_node_ip(sim_state *st, simnode *sn)
{
	for (uint32_t k = 0; k < 65536; k++) {
		uint32_t h = (st->ip_cursor + k) % 65536;
		/* Skip .0 and .255 host bytes: they read like network and broadcast addresses. */
		if ((h & 255) == 0 || (h & 255) == 255 || bit_get(st->node_ips, h))
			continue;
		bit_set(st->node_ips, h, true);
		st->ip_cursor = h + 1;
		sn->ip = NODE_IP_BASE + h;
		sn->ip_ours = true;
		return true;
	}
	return false;
}

/* Host numbers usable for pods: 2 .. min(size - 2, 255) (.1 is the bridge's). */
static uint32_t pod_hosts(const simnode *sn)
{
	uint32_t size = sn->cidr_bits >= 32 ? 1u : 1u << (32 - sn->cidr_bits);
	return size - 2 > 255 ? 255 : size - 2;
}

static bool in_range(const simnode *sn, uint32_t ip, uint32_t *host)
{
	if (!sn->cidr || (ip & ipv4_prefix_mask(sn->cidr_bits)) != sn->cidr)
		return false;
	*host = ip - sn->cidr;
	return *host >= 2 && *host <= pod_hosts(sn);
}

static void release_pod(sim_state *st, const char *key)
{
	simpod *sp = hmap_get(&st->pods, key);
	if (!sp)
		return;
	simnode *sn = hmap_get(&st->nodes, sp->node);
	uint32_t host;
	if (sn && in_range(sn, sp->ip, &host))
		bit_set(sn->used, host, false);
	hmap_del(&st->pods, sp->key);
	free(sp->key);
	free(sp->node);
	free(sp);
}

static void unpin(sim_state *st, const char *key)
{
	simpin *p = hmap_get(&st->pins, key);
	if (!p)
		return;
	hmap_del(&st->pins, p->key);
	cache_release_tree(st->c->cache, p->tree);
	free(p->key);
	free(p);
}

static void pin(sim_state *st, const char *key, int64_t rev, json_t *tree)
{
	simpin *p = hmap_get(&st->pins, key);
	if (!p) {
		p = xcalloc(1, sizeof *p);
		p->key = xstrdup(key);
		hmap_put(&st->pins, p->key, p);
	} else {
		cache_release_tree(st->c->cache, p->tree);
	}
	p->rev = rev;
	p->tree = json_incref(tree);
}

/* The pod at key as a shared, read-only tree (new reference), or NULL: the cache's, with
 * the pinned tree kept again in the cache when the pod is still at its revision (the
 * status write reads it there too). The pin goes either way. */
static json_t *pod_tree(controller *c, sim_state *st, const char *key, const char *ns,
                        const char *name)
{
	_cleanup_free_ char *skey = kind_storage_key(controller_kind("", "pods"), ns, name);
	simpin *p = hmap_get(&st->pins, key);
	if (!p)
		return cache_get_obj(c->cache, skey);
	json_t *t = cache_get_obj_at(c->cache, skey, p->rev, p->tree);
	p->tree = NULL;
	unpin(st, key);
	return t;
}

static void hold_pod(sim_state *st, simnode *sn, const char *key, uint32_t ip)
{
	uint32_t host;
	if (!in_range(sn, ip, &host))
		return;
	simpod *sp = hmap_get(&st->pods, key);
	if (sp && sp->ip == ip && str_eq(sp->node, sn->name))
		return;
	release_pod(st, key);
	sp = xcalloc(1, sizeof *sp);
	sp->key = xstrdup(key);
	sp->node = xstrdup(sn->name);
	sp->ip = ip;
	hmap_put(&st->pods, sp->key, sp);
	bit_set(sn->used, host, true);
}

/* A free pod address of sn (rotating, like host-local IPAM), or 0. */
static uint32_t alloc_pod_ip(simnode *sn)
{
	uint32_t max = pod_hosts(sn);
	for (uint32_t k = 0; k + 2 <= max; k++) {
		uint32_t h = 2 + (sn->cursor + k) % (max - 1);
		if (!bit_get(sn->used, h)) {
			sn->cursor = h - 1;
			return sn->cidr + h;
		}
	}
	return 0;
}

static simnode *node_state(sim_state *st, const char *name)
{
	simnode *sn = hmap_get(&st->nodes, name);
	if (!sn) {
		sn = xcalloc(1, sizeof *sn);
		sn->name = xstrdup(name);
		sn->cidr_block = -1;
		sn->renew_ms = RENEW_MS;
		hmap_put(&st->nodes, sn->name, sn);
	}
	return sn;
}

static void forget_node(sim_state *st, const char *name)
{
	simnode *sn = hmap_del(&st->nodes, name);
	if (!sn)
		return;
	if (sn->cidr_block >= 0)
		bit_set(st->blocks, (uint32_t)sn->cidr_block, false);
	if (sn->ip_ours)
		bit_set(st->node_ips, sn->ip - NODE_IP_BASE, false);
	free(sn->name);
	free(sn);
}

/* Learns what the stored node already holds: its pod range and InternalIP. */
static void learn_node(sim_state *st, simnode *sn, json_t *node)
{
	sn->simulated = sim_annotation_true(node, SIM_ANN_SIMULATED);
	sn->paused = sim_annotation_true(node, SIM_ANN_PAUSED);
	uint32_t net;
	int bits;
	if (!sn->cidr && parse_cidr(json_path_str(node, "spec.podCIDR"), &net, &bits)) {
		sn->cidr = net;
		sn->cidr_bits = bits;
		sn->cidr_block = block_of(net, bits);
		if (sn->cidr_block >= 0) {
			if (bit_get(st->blocks, (uint32_t)sn->cidr_block))
				sn->cidr_block =
				    -1; /* someone else's duplicate: do not free it later */
			else
				bit_set(st->blocks, (uint32_t)sn->cidr_block, true);
		}
	}
	if (!sn->ip) {
		size_t i;
		json_t *a;
		json_array_foreach(json_path(node, "status.addresses"), i, a)
		{
			uint32_t ip;
			if (str_eq(json_string_value(json_object_get(a, "type")), "InternalIP") &&
			    parse_ip(json_string_value(json_object_get(a, "address")), &ip)) {
				sn->ip = ip;
				if ((ip & 0xffff0000u) == NODE_IP_BASE &&
				    !bit_get(st->node_ips, ip - NODE_IP_BASE)) {
					bit_set(st->node_ips, ip - NODE_IP_BASE, true);
					sn->ip_ours = true;
				}
				break;
			}
		}
	}
	int64_t grace = sim_grace_ms(node);
	uint64_t renew = (uint64_t)(grace / 4);
	if (renew > RENEW_MS)
		renew = RENEW_MS;
	if (renew < MIN_RENEW_MS)
		renew = MIN_RENEW_MS;
	sn->renew_ms = renew;
}

/* ---------- node spec and status ---------- */

/* Sets list[k] to the canonical form of quantity v; false (logged) when v is not one. */
static bool set_quantity(json_t *list, const char *k, json_t *v, const char *node)
{
	quantity q;
	terr *err = NULL;
	if (quantity_parse_json(v, &q, &err) < 0) {
		log_warn("simnode: node %s: ignoring %s quantity: %s", node, k, err->message);
		terr_free(err);
		return false;
	}
	char *c = quantity_canonical(&q);
	json_object_set_new(list, k, json_string(c));
	free(c);
	return true;
}

/* Adds "k=v,k=v" or {"k":"v"} quantities of an annotation to list (canonical forms). */
static void merge_quantities(json_t *list, const char *ann, const char *node)
{
	if (!ann || !*ann)
		return;
	json_t *src = NULL;
	if (*ann == '{') {
		src = json_loads(ann, 0, NULL);
	} else {
		src = json_object();
		char *copy = xstrdup(ann), *save = NULL;
		for (char *tok = strtok_r(copy, ",", &save); tok;
		     tok = strtok_r(NULL, ",", &save)) {
			char *eq = strchr(tok, '=');
			if (!eq)
				continue;
			*eq = 0;
			while (*tok == ' ')
				tok++;
			char *end = eq - 1;
			while (end >= tok && *end == ' ')
				*end-- = 0;
			json_object_set_new(src, tok, json_string(eq + 1));
		}
		free(copy);
	}
	const char *k;
	json_t *v;
	json_object_foreach(src, k, v) set_quantity(list, k, v, node);
	json_decref(src);
}

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

/* A node condition as the kubelet sets it; keeps the old heartbeat (the caller refreshes
 * heartbeats when it writes) and the old transition time while the status holds. */
static json_t *node_cond(json_t *old, const char *type, const char *status, const char *reason,
                         const char *msg, const char *now)
{
	json_t *prev = find_cond(old, type);
	const char *beat = json_string_value(json_object_get(prev, "lastHeartbeatTime"));
	const char *since = json_string_value(json_object_get(prev, "lastTransitionTime"));
	if (!prev || !str_eq(json_string_value(json_object_get(prev, "status")), status) || !since)
		since = now;
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "type", type, "status", status,
	                 "lastHeartbeatTime", beat ? beat : now, "lastTransitionTime", since,
	                 "reason", reason, "message", msg);
}

/* k8s: the conditions the kubelet owns, with its reasons and messages for a healthy node. */
static const struct {
	const char *type, *status, *reason, *message;
} kubelet_conds[] = {
    {"MemoryPressure", "False", "KubeletHasSufficientMemory",
     "kubelet has sufficient memory available"},
    {"DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"},
    {"PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"},
    {"Ready", "True", "KubeletReady", "kubelet is posting ready status"},
};

static bool is_kubelet_cond(const char *type)
{
	for (size_t i = 0; i < ARRAY_SIZE(kubelet_conds); i++)
		if (str_eq(type, kubelet_conds[i].type))
			return true;
	return false;
}

static void stable_hex(const char *a, const char *b, char *out, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	for (const char *s = a; s && *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	for (const char *s = b; s && *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	for (size_t i = 0; i + 1 < n; i++) {
		h = (h ^ i) * 1099511628211ULL;
		out[i] = "0123456789abcdef"[(h >> 33) & 15];
	}
	out[n - 1] = 0;
}

static const char *label_or(json_t *node, const char *key, const char *dflt)
{
	const char *v = json_string_value(json_object_get(json_path(node, "metadata.labels"), key));
	return v && *v ? v : dflt;
}

/* capacity and allocatable: what the node holds, the defaults, the annotations. */
static void resources(json_t *node, json_t *old, json_t **cap_out, json_t **alloc_out)
{
	const char *name = json_path_str(node, "metadata.name");
	static const char *const dflt[][2] = {{"cpu", "32"},          {"memory", "256Gi"},
	                                      {"pods", "110"},        {"ephemeral-storage", "1Ti"},
	                                      {"hugepages-1Gi", "0"}, {"hugepages-2Mi", "0"}};
	json_t *cap = json_object();
	for (size_t i = 0; i < ARRAY_SIZE(dflt); i++)
		json_object_set_new(cap, dflt[i][0], json_string(dflt[i][1]));
	const char *k;
	json_t *v;
	json_object_foreach(json_object_get(old, "capacity"), k, v) set_quantity(cap, k, v, name);
	json_t *named = json_object();
	merge_quantities(named, sim_annotation(node, SIM_ANN_CAPACITY), name);
	json_object_update(cap, named);
	json_t *alloc = json_object();
	json_t *oldalloc = json_object_get(old, "allocatable");
	json_object_foreach(cap, k, v)
	{
		json_t *given = json_object_get(oldalloc, k);
		quantity qa, qc;
		if (given && !json_object_get(named, k) &&
		    quantity_parse_json(given, &qa, NULL) == 0 &&
		    quantity_parse_json(v, &qc, NULL) == 0 && quantity_cmp(&qa, &qc) <= 0)
			set_quantity(alloc, k, given, name);
		else
			json_object_set(alloc, k, v);
	}
	merge_quantities(alloc, sim_annotation(node, SIM_ANN_ALLOCATABLE), name);
	json_decref(named);
	*cap_out = cap;
	*alloc_out = alloc;
}

/* The status the simulated kubelet posts, with the old heartbeats kept. */
static json_t *node_status(simnode *sn, json_t *node, const char *now)
{
	json_t *old = json_object_get(node, "status");
	json_t *oldconds = json_object_get(old, "conditions");
	json_t *st = json_is_object(old) ? json_clone(old) : json_object();
	json_t *cap, *alloc;
	resources(node, old, &cap, &alloc);
	json_object_set_new(st, "capacity", cap);
	json_object_set_new(st, "allocatable", alloc);

	json_t *conds = json_array();
	json_t *net = find_cond(oldconds, "NetworkUnavailable");
	/* k8s: NetworkUnavailable belongs to the network plugin / route controller. */
	json_array_append_new(conds, net ? json_incref(net)
	                                 : json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "type",
	                                             "NetworkUnavailable", "status", "False",
	                                             "lastHeartbeatTime", now, "lastTransitionTime",
	                                             now, "reason", "RouteCreated", "message",
	                                             "RouteController created a route"));
	size_t i;
	json_t *c;
	json_array_foreach(oldconds, i, c)
	{
		const char *type = json_string_value(json_object_get(c, "type"));
		if (!is_kubelet_cond(type) && !str_eq(type, "NetworkUnavailable"))
			json_array_append(conds, c);
	}
	for (i = 0; i < ARRAY_SIZE(kubelet_conds); i++)
		json_array_append_new(
		    conds, node_cond(oldconds, kubelet_conds[i].type, kubelet_conds[i].status,
		                     kubelet_conds[i].reason, kubelet_conds[i].message, now));
	json_object_set_new(st, "conditions", conds);

	/* Addresses: keep what was given, add the InternalIP and Hostname when missing. */
	json_t *addrs = json_is_array(json_object_get(old, "addresses"))
	                    ? json_clone(json_object_get(old, "addresses"))
	                    : json_array();
	bool has_ip = false, has_host = false;
	json_array_foreach(addrs, i, c)
	{
		const char *type = json_string_value(json_object_get(c, "type"));
		has_ip |= str_eq(type, "InternalIP");
		has_host |= str_eq(type, "Hostname");
	}
	if (!has_ip && sn->ip) {
		char ip[16];
		ip_str(sn->ip, ip);
		json_array_insert_new(addrs, 0,
		                      json_pack("{s:s, s:s}", "type", "InternalIP", "address", ip));
	}
	if (!has_host)
		json_array_append_new(
		    addrs, json_pack("{s:s, s:s}", "type", "Hostname", "address", sn->name));
	json_object_set_new(st, "addresses", addrs);
	json_object_set_new(st, "daemonEndpoints",
	                    json_pack("{s:{s:i}}", "kubeletEndpoint", "Port", 10250));

	/* nodeInfo: fields given at creation stay; the rest is the simulator's. */
	const char *uid = json_path_str(node, "metadata.uid");
	char machine[33], sysid[33], boot[33];
	stable_hex(uid, "machine-id", machine, sizeof machine);
	stable_hex(uid, "system-uuid", sysid, sizeof sysid);
	stable_hex(uid, "boot-id", boot, sizeof boot);
	char sysuuid[37], bootid[37];
	snprintf(sysuuid, sizeof sysuuid, "%.8s-%.4s-%.4s-%.4s-%.12s", sysid, sysid + 8, sysid + 12,
	         sysid + 16, sysid + 20);
	snprintf(bootid, sizeof bootid, "%.8s-%.4s-%.4s-%.4s-%.12s", boot, boot + 8, boot + 12,
	         boot + 16, boot + 20);
	const char *info[][2] = {
	    {"machineID", machine},
	    {"systemUUID", sysuuid},
	    {"bootID", bootid},
	    {"kernelVersion", "6.8.0-timon-sim"},
	    {"osImage", "Timon Simulated Node"},
	    {"containerRuntimeVersion", "timon://sim"},
	    {"kubeletVersion", KUBELET_VERSION},
	    /* k8s: 1.32 kubelets still fill the deprecated kubeProxyVersion. */
	    {"kubeProxyVersion", KUBELET_VERSION},
	    {"operatingSystem", label_or(node, "kubernetes.io/os", "linux")},
	    {"architecture", label_or(node, "kubernetes.io/arch", "amd64")},
	};
	json_t *ni = json_obj_child(st, "nodeInfo");
	for (i = 0; i < ARRAY_SIZE(info); i++) {
		const char *have = json_string_value(json_object_get(ni, info[i][0]));
		if (!have || !*have)
			json_object_set_new(ni, info[i][0], json_string(info[i][1]));
	}
	return st;
}

/* ---------- writes ---------- */

typedef struct requeue {
	controller *c;
	char *key;
} requeue;

static bool settled(json_t *pod);

/* A failed write (other than NotFound) is retried through the queue. */
static void on_written(void *ud, int code, json_t *obj)
{
	requeue *rq = ud;
	sim_state *st = rq->c->state;
	simpod *sp = st && strchr(rq->key, '/') ? hmap_get(&st->pods, rq->key) : NULL;
	if (sp && code >= 200 && code < 300 && settled(obj)) {
		/* The answer comes before the write's event (the store answers, then fans out):
		 * on_pod knows the event by its revision. */
		const char *rv = json_path_str(obj, "metadata.resourceVersion");
		sp->own_rev = rv ? strtoll(rv, NULL, 10) : 0;
	}
	if (code >= 400 && code != 404) {
		const char *msg = json_string_value(json_object_get(obj, "message"));
		log_warn("simnode: write for %s answered %d: %s", rq->key, code, msg ? msg : "");
		controller_enqueue_after(rq->c, rq->key, 1000);
	}
	free(rq->key);
	free(rq);
}

static requeue *rq_new(controller *c, const char *key)
{
	requeue *rq = xmalloc(sizeof *rq);
	rq->c = c;
	rq->key = xstrdup(key);
	return rq;
}

static bool set_label(json_t *labels, const char *key, const char *val)
{
	if (json_string_value(json_object_get(labels, key)))
		return false;
	json_object_set_new(labels, key, json_string(val));
	return true;
}

/* Registration labels and podCIDR; true when the node was updated. */
static bool ensure_spec(controller *c, sim_state *st, simnode *sn, json_t *node)
{
	json_t *labels = json_obj_child(json_obj_child(node, "metadata"), "labels");
	/* k8s: the kubelet labels its node with hostname, os and arch (stable and beta). */
	bool changed = set_label(labels, "kubernetes.io/hostname", sn->name);
	changed |= set_label(labels, "kubernetes.io/os", "linux");
	changed |= set_label(labels, "kubernetes.io/arch", "amd64");
	changed |=
	    set_label(labels, "beta.kubernetes.io/os", label_or(node, "kubernetes.io/os", "linux"));
	changed |= set_label(labels, "beta.kubernetes.io/arch",
	                     label_or(node, "kubernetes.io/arch", "amd64"));
	json_t *spec = json_obj_child(node, "spec");
	const char *have = json_string_value(json_object_get(spec, "podCIDR"));
	if (!have || !*have) {
		if (!sn->cidr && !alloc_block(st, sn)) {
			log_warn("simnode: no pod range left for node %s", sn->name);
		} else if (sn->cidr) {
			char ip[16];
			ip_str(sn->cidr, ip);
			char *cidr = xasprintf("%s/%d", ip, sn->cidr_bits);
			json_object_set_new(spec, "podCIDR", json_string(cidr));
			json_object_set_new(spec, "podCIDRs", json_pack("[s]", cidr));
			free(cidr);
			changed = true;
		}
	}
	if (changed)
		client_update(c->srv, NAME, controller_kind("", "nodes"), node, NULL, on_written,
		              rq_new(c, sn->name));
	return changed;
}

static bool ready_true(json_t *status)
{
	json_t *r = find_cond(json_object_get(status, "conditions"), "Ready");
	return str_eq(json_string_value(json_object_get(r, "status")), "True");
}

static void write_status(controller *c, simnode *sn, json_t *node)
{
	int64_t now_ns = time_now_ns();
	char now[32];
	time_rfc3339(now_ns, false, now);
	json_t *old = json_object_get(node, "status");
	json_t *st = node_status(sn, node, now);
	json_t *ready = find_cond(json_object_get(old, "conditions"), "Ready");
	int64_t beat = 0;
	const char *b = json_string_value(json_object_get(ready, "lastHeartbeatTime"));
	if (!b || time_parse_rfc3339(b, &beat) < 0)
		beat = 0;
	sn->status_at = now_ns;
	if (json_equal(st, old) && now_ns - beat < REPORT_NS) {
		json_decref(st);
		return;
	}
	size_t i;
	json_t *cnd;
	json_array_foreach(json_object_get(st, "conditions"), i, cnd)
	{
		if (is_kubelet_cond(json_string_value(json_object_get(cnd, "type"))))
			json_object_set_new(cnd, "lastHeartbeatTime", json_string(now));
	}
	bool became_ready = !ready_true(old);
	json_object_set_new(node, "status", st);
	client_update(c->srv, NAME, controller_kind("", "nodes"), node, "status", on_written,
	              rq_new(c, sn->name));
	if (became_ready)
		event_record(c->srv, "kubelet", node, "Normal", "NodeReady",
		             "Node %s status is now: NodeReady", sn->name);
}

static void renew_lease(controller *c, simnode *sn)
{
	const kind_desc *lk = controller_kind("coordination.k8s.io", "leases");
	char now[32];
	time_rfc3339(time_now_ns(), true, now);
	/* Read through the cache's kept trees: the update's own read of the stored lease (its
	 * old object) is then a copy of this parse, not a second parse. */
	_cleanup_json_ json_t *cur = controller_get_shared(c, lk, LEASE_NS, sn->name);
	json_t *lease = json_clone_containers(cur);
	if (!lease) {
		json_t *node = controller_get(c, controller_kind("", "nodes"), NULL, sn->name);
		if (!node)
			return;
		/* k8s: the node's lease is owned by the Node, so it goes with it. */
		lease = json_pack(
		    "{s:s, s:s, s:{s:s, s:s, s:[{s:s, s:s, s:s, s:O}]}, s:{s:s, s:i, s:s}}",
		    "apiVersion", "coordination.k8s.io/v1", "kind", "Lease", "metadata", "name",
		    sn->name, "namespace", LEASE_NS, "ownerReferences", "apiVersion", "v1", "kind",
		    "Node", "name", sn->name, "uid", json_path(node, "metadata.uid"), "spec",
		    "holderIdentity", sn->name, "leaseDurationSeconds", LEASE_SECONDS, "renewTime",
		    now);
		json_decref(node);
		client_create(c->srv, NAME, lk, LEASE_NS, lease, NULL, NULL);
		json_decref(lease);
		return;
	}
	json_t *spec = json_obj_child(lease, "spec");
	json_object_set_new(spec, "holderIdentity", json_string(sn->name));
	json_object_set_new(spec, "leaseDurationSeconds", json_integer(LEASE_SECONDS));
	json_object_set_new(spec, "renewTime", json_string(now));
	/* ours (a copy from the cache) and not read again: no copy for the request */
	client_update_owned(c->srv, NAME, lk, lease, NULL, NULL, NULL);
}

/* ---------- reconcile ---------- */

static uint64_t name_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static int reconcile_node(controller *c, sim_state *st, const char *name)
{
	const kind_desc *nk = controller_kind("", "nodes");
	json_t *node = controller_get(c, nk, NULL, name);
	if (!node) {
		forget_node(st, name);
		return RECONCILE_DONE;
	}
	simnode *sn = hmap_get(&st->nodes, name);
	if (!sim_annotation_true(node, SIM_ANN_SIMULATED)) {
		if (sn)
			sn->simulated = sn->running = false;
		json_decref(node);
		return RECONCILE_DONE;
	}
	if (!sn)
		sn = node_state(st, name);
	learn_node(st, sn, node);
	bool was_running = sn->running;
	sn->running = !sn->paused;
	if (sn->paused) {
		json_decref(node);
		return RECONCILE_DONE;
	}
	if (ensure_spec(c, st, sn, node)) {
		json_decref(node);
		node = controller_get(c, nk, NULL, name);
		if (!node)
			return RECONCILE_DONE;
	}
	if (!sn->ip && !alloc_node_ip(st, sn))
		log_warn("simnode: no node address left for %s", name);
	write_status(c, sn, node);
	json_decref(node);
	if (!was_running) {
		/* Renew at once, then on a phase of its own so thousands of nodes spread out. */
		renew_lease(c, sn);
		uint64_t now = uv_now(apiserver_loop(c->srv));
		sn->next_renew = now + 1 + name_hash(name) % sn->renew_ms;
		const char *const *keys;
		size_t n = sim_index_pods(&st->ix, name, &keys);
		for (size_t i = 0; i < n; i++)
			controller_enqueue(c, keys[i]);
	}
	return RECONCILE_DONE;
}

static void delete_now(controller *c, json_t *pod)
{
	/* k8s: the kubelet finishes a graceful deletion with gracePeriodSeconds 0, guarded by
	 * the pod's uid. */
	json_t *opts = json_pack("{s:s, s:s, s:i, s:{s:O}}", "apiVersion", "v1", "kind",
	                         "DeleteOptions", "gracePeriodSeconds", 0, "preconditions", "uid",
	                         json_path(pod, "metadata.uid"));
	client_delete(c->srv, NAME, controller_kind("", "pods"),
	              json_path_str(pod, "metadata.namespace"), json_path_str(pod, "metadata.name"),
	              opts, NULL, NULL);
	json_decref(opts);
}

static int reconcile_pod(controller *c, sim_state *st, const char *key)
{
	_cleanup_free_ char *ns = NULL, *name = NULL;
	controller_split_key(key, &ns, &name);
	/* Shared and read-only: the status write below is a shallow copy of it. */
	json_t *pod = pod_tree(c, st, key, ns, name);
	if (!pod) {
		release_pod(st, key);
		return RECONCILE_DONE;
	}
	int rc = RECONCILE_DONE;
	const char *node = json_path_str(pod, "spec.nodeName");
	simnode *sn = node ? hmap_get(&st->nodes, node) : NULL;
	json_t *status = json_object_get(pod, "status");
	if (!sn || !sn->simulated || !sn->running || sn->paused || !sn->ip)
		goto out;
	bool deleting = json_path(pod, "metadata.deletionTimestamp") != NULL;
	/* k8s: a pod being deleted that never ran, or already finished, just goes. */
	if (deleting && (sim_phase_terminal(status) || !json_object_get(status, "startTime"))) {
		delete_now(c, pod);
		release_pod(st, key);
		goto out;
	}
	if (sim_phase_terminal(status)) {
		release_pod(st, key);
		goto out;
	}
	uint32_t ip = 0;
	if (json_is_true(json_path(pod, "spec.hostNetwork"))) {
		ip = sn->ip;
	} else {
		simpod *sp = hmap_get(&st->pods, key);
		uint32_t have, host;
		if (sp && str_eq(sp->node, sn->name))
			ip = sp->ip;
		else if (parse_ip(json_string_value(json_object_get(status, "podIP")), &have) &&
		         in_range(sn, have, &host))
			ip = have;
		else
			ip = alloc_pod_ip(sn);
		if (!ip) {
			log_warn("simnode: no pod address left on node %s for %s", sn->name, key);
			rc = RECONCILE_RETRY;
			goto out;
		}
		hold_pod(st, sn, key, ip);
	}
	int64_t now = time_now_ns(), start;
	const char *started = json_string_value(json_object_get(status, "startTime"));
	if (!started || time_parse_rfc3339(started, &start) < 0)
		start = now / 1000000000LL * 1000000000LL;
	char hostip[16], podip[16];
	ip_str(sn->ip, hostip);
	ip_str(ip, podip);
	/* k8s: a pod being deleted is killed, reported terminal, then removed. */
	sim_pod_input in = {.pod = pod,
	                    .host_ip = hostip,
	                    .pod_ip = podip,
	                    .start_ns = start,
	                    .now_ns = now,
	                    .killed_ns = deleting ? now : 0};
	int64_t next_ms;
	json_t *want = sim_pod_status(&in, &next_ms);
	bool terminal = sim_phase_terminal(want);
	if (!json_equal(want, status)) {
		/* The request's own top level and metadata (the server changes those of what
		 * it decodes); spec and the rest stay shared with the cache, which a status
		 * write never changes. */
		json_t *body = json_copy(pod);
		json_object_set_new(body, "metadata", json_copy(json_object_get(pod, "metadata")));
		json_object_set_new(body, "status", want);
		client_update_owned(c->srv, NAME, controller_kind("", "pods"), body, "status",
		                    on_written, rq_new(c, key));
	} else {
		json_decref(want);
	}
	if (deleting)
		delete_now(c, pod);
	else if (next_ms >= 0)
		controller_enqueue_after(c, key, (uint64_t)next_ms);
	if (terminal || deleting)
		release_pod(st, key);
out:
	json_decref(pod);
	return rc;
}

static int reconcile(controller *c, const char *key)
{
	sim_state *st = c->state;
	/* Pod keys are "namespace/name"; node names never hold a slash. */
	return strchr(key, '/') ? reconcile_pod(c, st, key) : reconcile_node(c, st, key);
}

/* ---------- events ---------- */

/* A pod the simulated kubelet has nothing more to do for until something changes. */
static bool settled(json_t *pod)
{
	if (json_path(pod, "metadata.deletionTimestamp"))
		return false;
	json_t *status = json_object_get(pod, "status");
	if (sim_phase_terminal(status))
		return true;
	if (!str_eq(json_string_value(json_object_get(status, "phase")), "Running") ||
	    !json_string_value(json_object_get(status, "podIP")) || !ready_true(status))
		return false;
	const char *k;
	json_t *v;
	json_object_foreach(json_path(pod, "metadata.annotations"), k, v)
	{
		if (str_has_prefix(k, SIM_ANN_DURATION))
			return false;
	}
	return true;
}

static void on_pod(controller *c, const kind_desc *d, const cache_event *ev)
{
	UNUSED(d);
	sim_state *st = c->state;
	char key[320], node[256];
	if (!sim_pod_event_ref(ev, key, node))
		return;
	if (ev->type == STORE_DELETED) {
		sim_index_set(&st->ix, key, NULL);
		release_pod(st, key);
		unpin(st, key);
		return;
	}
	sim_index_set(&st->ix, key, node);
	simnode *sn = *node ? hmap_get(&st->nodes, node) : NULL;
	if (!sn || !sn->simulated)
		return; /* most pods of a busy cluster: no need to parse them */
	/* The writer's tree when it left one (two lookups), else the bytes (a scan). */
	json_t *parsed = cache_event_obj_parsed(ev);
	bool has_ip = parsed ? json_object_get(json_object_get(parsed, "status"), "podIP") != NULL
	                     : memmem(ev->value->data, ev->value->len, "\"podIP\"", 7) != NULL;
	if (!has_ip) {
		/* Just bound (no address yet, so none to learn back, and not settled): the
		 * bytes tell, and the parse is left to whoever needs it; the writer's tree,
		 * when it gave one, is kept for the reconcile. */
		if (!sn->paused) {
			if (parsed)
				pin(st, key, ev->rev, parsed);
			controller_enqueue(c, key);
		}
		return;
	}
	simpod *own = hmap_get(&st->pods, key);
	if (own && own->own_rev == ev->rev && str_eq(own->node, node))
		return; /* our own settled status: its address is held, nothing left to do */
	json_t *o = cache_event_obj(ev);
	if (!o)
		return;
	json_t *status = json_object_get(o, "status");
	uint32_t ip;
	/* After a restart, addresses in use are learned back from the pods. */
	if (!sim_phase_terminal(status) && !json_is_true(json_path(o, "spec.hostNetwork")) &&
	    !hmap_get(&st->pods, key) &&
	    parse_ip(json_string_value(json_object_get(status, "podIP")), &ip))
		hold_pod(st, sn, key, ip);
	if (!sn->paused && !settled(o))
		controller_enqueue(c, key);
}

static void on_node(controller *c, const kind_desc *d, const cache_event *ev)
{
	UNUSED(d);
	sim_state *st = c->state;
	json_t *o = cache_event_obj(ev);
	const char *name = json_path_str(o, "metadata.name");
	if (!name)
		goto out;
	if (ev->type == STORE_DELETED) {
		forget_node(st, name);
		goto out;
	}
	simnode *sn = hmap_get(&st->nodes, name);
	if (!sn && !sim_annotation_true(o, SIM_ANN_SIMULATED))
		goto out;
	if (!sn)
		sn = node_state(st, name);
	learn_node(st, sn, o);
	controller_enqueue(c, name);
out:;
}

static void on_tick(uv_timer_t *t)
{
	controller *c = t->data;
	sim_state *st = c->state;
	uint64_t now = uv_now(t->loop);
	int64_t wall = time_now_ns();
	size_t it = 0;
	const char *k;
	void *v;
	while (hmap_next(&st->nodes, &it, &k, &v)) {
		simnode *sn = v;
		if (!sn->running || sn->paused || !sn->simulated)
			continue;
		if (now >= sn->next_renew) {
			renew_lease(c, sn);
			sn->next_renew = now + sn->renew_ms;
		}
		if (wall - sn->status_at >= REPORT_NS)
			controller_enqueue(c, sn->name);
	}
}

static void start(controller *c)
{
	sim_state *st = xcalloc(1, sizeof *st);
	st->c = c;
	c->state = st;
	uv_timer_init(apiserver_loop(c->srv), &st->tick);
	st->tick.data = c;
	uv_timer_start(&st->tick, on_tick, TICK_MS, TICK_MS);
}

static void free_state(uv_handle_t *h)
{
	controller *c = h->data;
	sim_state *st = c->state;
	size_t it = 0;
	const char *k;
	void *v;
	while (hmap_next(&st->pods, &it, &k, &v)) {
		simpod *sp = v;
		free(sp->key);
		free(sp->node);
		free(sp);
	}
	it = 0;
	while (hmap_next(&st->nodes, &it, &k, &v)) {
		simnode *sn = v;
		free(sn->name);
		free(sn);
	}
	it = 0;
	while (hmap_next(&st->pins, &it, &k, &v)) {
		simpin *p = v;
		json_decref(p->tree);
		free(p->key);
		free(p);
	}
	hmap_free(&st->pins);
	hmap_free(&st->pods);
	hmap_free(&st->nodes);
	sim_index_free(&st->ix);
	free(st);
	c->state = NULL;
}

static void stop(controller *c)
{
	sim_state *st = c->state;
	if (!st)
		return;
	uv_timer_stop(&st->tick);
	uv_close((uv_handle_t *)&st->tick, free_state);
}

const controller_def simnode_controller = {
    .name = NAME,
    .watches = {{.group = "", .resource = "nodes", .on_event = on_node},
                {.group = "", .resource = "pods", .on_event = on_pod}},
    .reconcile = reconcile,
    .start = start,
    .stop = stop,
};
CONTROLLER_REGISTER(simnode_controller);
