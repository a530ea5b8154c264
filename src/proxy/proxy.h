/* proxy.h — the service proxy (kube-proxy's job) in nftables: Services and EndpointSlices
 * become rules in timon's own table, `table inet timon`, updated incrementally.
 *
 * Three layers, each testable alone:
 *  - the model (nft_model.c): a Service and its EndpointSlices, as JSON, become a
 *    proxy_service: addresses, ports and the endpoints each port reaches, validated so that
 *    nothing from the API reaches nft text unchecked;
 *  - the rules (nft_rules.c): a proxy_service becomes an nft_frag, the chains, sets and map
 *    elements it owns; two frags of one service diff into nft commands, collected for
 *    many services into one nft_batch (one transaction);
 *  - the kernel (nft_apply.c): a batch's text is run through libnftables, atomically.
 * proxy.c ties them to the watch cache as a controller (CONTROLLER_REGISTER), enabled only
 * when the server's environment has TIMON_PROXY=nftables. See docs/proxy.md.
 * Not for: DNS, health-check node ports, or IPv6 (later; the table is inet already).
 */
#ifndef TIMON_PROXY_PROXY_H
#define TIMON_PROXY_PROXY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/error.h"
#include "base/hmap.h"

#define PROXY_TABLE              "timon" /* the table of the node named like the host */
#define PROXY_TABLE_MAX          64
#define PROXY_AFFINITY_DEFAULT_S 10800 /* k8s: sessionAffinityConfig default, 3 hours */

/* What the rules depend on besides the objects. */
typedef struct proxy_config {
	const char *node_name;    /* endpoints with this nodeName are local */
	const char *cluster_cidr; /* pod addresses (a.b.c.d/n), or NULL: no cluster-IP masquerade */
	/* Where cluster IPs come from (a.b.c.d/n), or NULL: with cluster_cidr, one rule
	 * marks traffic into it for masquerade instead of one rule per service. */
	const char *service_cidr;
} proxy_config;

/* The name of this node's table (out: PROXY_TABLE_MAX bytes): `timon` when the node is
 * named like the host (one node per machine, the usual case), else `timon-<node>`, made
 * of [a-z0-9-] and cut with a hash, so that several nodes on one machine (tests, a
 * server beside a standalone agent) never rewrite each other's rules. */
void proxy_table_name(const char *node, const char *hostname, char *out);

/* ---------- model (nft_model.c) ---------- */

typedef struct proxy_endpoint {
	char ip[16]; /* dotted IPv4, re-rendered by inet_ntop */
	int port;
	bool ready, serving, terminating, local;
} proxy_endpoint;

typedef struct proxy_port {
	char *name;        /* the service port's name, "" when unnamed */
	const char *proto; /* "tcp", "udp" or "sctp" (static) */
	int port;
	int node_port;       /* 0 when none */
	proxy_endpoint *eps; /* every endpoint carrying this port, sorted by ip:port */
	size_t neps;
} proxy_port;

typedef struct proxy_service {
	char *ns, *name;
	char cluster_ip[16];      /* "" when headless or none */
	char (*external_ips)[16]; /* spec.externalIPs and status.loadBalancer.ingress[].ip */
	size_t nexternal;
	bool etp_local;       /* externalTrafficPolicy Local (only when reachable externally) */
	bool itp_local;       /* internalTrafficPolicy Local */
	int affinity_timeout; /* seconds of ClientIP affinity, 0 when none */
	proxy_port *ports;
	size_t nports;
} proxy_service;

/* The model of svc with its slices (borrowed; IPv4 slices of this service, any order), or
 * NULL when the service needs no rules (ExternalName, headless, no ports). Caller frees
 * with proxy_service_free. */
proxy_service *proxy_service_parse(json_t *svc, json_t *const *slices, size_t nslices,
                                   const proxy_config *cfg);
void proxy_service_free(proxy_service *s);

/* k8s: CategorizeEndpoints (ProxyTerminatingEndpoints): the endpoints traffic may use,
 * the ready ones, else the serving terminating ones; local_only keeps local ones first.
 * Fills out (capacity p->neps) with borrowed pointers; returns the count. */
size_t proxy_usable_endpoints(const proxy_port *p, bool local_only, const proxy_endpoint **out);

/* ---------- rules (nft_rules.c) ---------- */

enum nft_map {
	NFT_SET_HAIRPIN,        /* endpoint . endpoint . cluster IP . port (a set) */
	NFT_MAP_SERVICE_IPS,    /* daddr . proto . port : goto a service chain */
	NFT_MAP_NODEPORTS,      /* proto . port : goto an external chain */
	NFT_MAP_NOEP_SERVICES,  /* daddr . proto . port : reject or drop */
	NFT_MAP_NOEP_NODEPORTS, /* proto . port : reject or drop */
	NFT_NMAPS,
};

/* A chain (body: its rules, one a line) or a set (body: its declaration). */
typedef struct nft_obj {
	char *name;
	bool is_set;
	char *body;
} nft_obj;

typedef struct nft_elem {
	int map; /* enum nft_map */
	char *key;
	char *value; /* a verdict; NULL in a set */
} nft_elem;

/* Everything one service owns in the table; objects and elements sorted. */
typedef struct nft_frag {
	nft_obj *objs;
	size_t nobjs;
	nft_elem *elems;
	size_t nelems;
} nft_frag;

/* The frag of s (NULL s: an empty frag). Caller frees with nft_frag_free. */
nft_frag *nft_frag_build(const proxy_service *s, const proxy_config *cfg);
void nft_frag_free(nft_frag *f);
/* True when a and b would leave the same rules (NULL is empty). */
bool nft_frag_equal(const nft_frag *a, const nft_frag *b);

/* Commands for many services, ordered so that one transaction is always valid: new
 * objects, chain contents, element deletions, element additions, object deletions. */
typedef struct nft_batch {
	const char *table;  /* the table's name (borrowed); NULL: PROXY_TABLE */
	buf phase[3];       /* adds; chain flushes and rules; object deletions */
	buf del[NFT_NMAPS]; /* element keys to delete, ", "-separated */
	buf add[NFT_NMAPS]; /* "key : verdict" (maps) or "key" (sets) to add */
	size_t changes;     /* services with a difference */
	/* Full syncs only: element keys already added, so that two services claiming one
	 * address and port (say, the same externalIP) cannot fail the whole table; the first
	 * wins. */
	bool dedupe;
	hmap seen[NFT_NMAPS];
	char **keys;
	size_t nkeys;
} nft_batch;

/* Adds to b the commands that turn old into new (either may be NULL: none). At most one
 * diff per service and batch: the phases of two would interleave (old must be what the
 * kernel holds when the batch runs). */
void nft_batch_diff(nft_batch *b, const nft_frag *old, const nft_frag *new_);
/* The text of b (caller frees); b is empty again. */
char *nft_batch_take(nft_batch *b);
void nft_batch_free(nft_batch *b);
/* Appends the commands that replace the whole table atomically (b empty): any old table
 * goes, the base chains, sets and maps are created; then diff each service from NULL
 * into the same batch. */
void nft_batch_full(nft_batch *b, const proxy_config *cfg);
/* The text that removes table (NULL: PROXY_TABLE), whether or not it exists. Caller
 * frees. */
char *nft_table_delete_text(const char *table);

/* ---------- kernel (nft_apply.c) ---------- */

typedef struct nft_applier nft_applier;
/* A libnftables context; NULL with err set when none can be made. */
nft_applier *nft_applier_new(terr **err);
/* Runs text as one transaction; on failure nothing changed and err says why. May block
 * (netlink): call it off the loop thread, one call at a time per applier. */
int nft_apply(nft_applier *a, const char *text, terr **err);
void nft_applier_free(nft_applier *a);

#endif
