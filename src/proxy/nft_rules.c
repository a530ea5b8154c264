/* nft_rules.c — what a service means in nftables, as text: the base table (hooks, maps,
 * masquerading, rejecting), each service's own chains, sets and map elements (its frag),
 * and the difference between two frags as commands, batched for one transaction.
 *
 * The layout (facts from KEP-3866, kube-proxy's nftables mode; the code is timon's own):
 *  - nat prerouting/output jump `services`, which looks up daddr . proto . port in the
 *    service-ips verdict map and, for local destinations, proto . port in
 *    service-nodeports;
 *  - per service port a chain `service-HASH-ns/name/proto/port` picks an endpoint with a
 *    cascade of `numgen random mod K` (after ClientIP-affinity lookups in timed sets
 *    `affinity-HASH-ip/port`) and DNATs to it; `local-...` does the same over node-local
 *    endpoints; `external-...` serves node ports, external and load-balancer addresses
 *    (masquerading, or for policy Local keeping the client address);
 *  - hairpin traffic (a pod reaching itself) is found after DNAT in postrouting, through
 *    one set of endpoint . endpoint . cluster IP . port, and masqueraded;
 *  - filter chains hooked before DNAT look up the no-endpoint maps and reject (TCP reset,
 *    ICMP port unreachable) or drop, so clients of services without endpoints fail fast.
 * Names carry a hash of what they stand for, so a changed affinity timeout makes new
 * names rather than edits in place; frags of one service diff cleanly. Per-service
 * anonymous or named sets are avoided where possible: the kernel walks all of a table's
 * sets to create, bind or find one, so thousands of them make loading quadratic.
 * Not for: parsing objects (nft_model.c) or talking to the kernel (nft_apply.c).
 */
#include <arpa/inet.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/util.h"
#include "proxy/proxy.h"

/* The table in command text: a mark that nft_batch_take replaces with the batch's table
 * (no name, key or verdict can hold a control character: see obj_name_of and the model). */
#define TABLE_MARK   '\x01'
#define T            "inet \x01"
#define NAME_MAX_LEN 240 /* kernel: NFT_NAME_MAXLEN is 256 with the NUL */

static const char *const map_names[NFT_NMAPS] = {
    [NFT_SET_HAIRPIN] = "hairpin",
    [NFT_MAP_SERVICE_IPS] = "service-ips",
    [NFT_MAP_NODEPORTS] = "service-nodeports",
    [NFT_MAP_NOEP_SERVICES] = "no-endpoint-services",
    [NFT_MAP_NOEP_NODEPORTS] = "no-endpoint-nodeports",
};

/* ---------- names ---------- */

/* "prefix-HASH-readable": HASH is 8 base32 characters of SHA-256(hashed), so truncating
 * the readable part (or sanitizing it) never makes two names equal. */
static char *obj_name_of(const char *prefix, const char *hashed, const char *readable)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	SHA256((const unsigned char *)hashed, strlen(hashed), md);
	static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	char hash[9];
	uint64_t bits = 0;
	for (int i = 0; i < 5; i++)
		bits = bits << 8 | md[i];
	for (int i = 0; i < 8; i++)
		hash[i] = b32[(bits >> (35 - 5 * i)) & 31];
	hash[8] = '\0';
	char *name = xasprintf("%s-%s-%s", prefix, hash, readable);
	for (char *p = name; *p; p++) {
		bool ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		          (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' ||
		          *p == '/';
		if (!ok)
			*p = '_';
	}
	if (strlen(name) > NAME_MAX_LEN)
		name[NAME_MAX_LEN] = '\0';
	return name;
}

static char *obj_name(const char *prefix, const char *readable)
{
	return obj_name_of(prefix, readable, readable);
}

/* ---------- frags ---------- */

typedef struct builder {
	nft_frag *f;
	size_t capobjs, capelems;
	const proxy_config *cfg;
	const proxy_service *s;
} builder;

static void add_obj(builder *b, char *name, bool is_set, char *body)
{
	nft_frag *f = b->f;
	if (f->nobjs == b->capobjs) {
		b->capobjs = b->capobjs ? b->capobjs * 2 : 8;
		f->objs = xrealloc(f->objs, b->capobjs * sizeof *f->objs);
	}
	f->objs[f->nobjs++] = (nft_obj){.name = name, .is_set = is_set, .body = body};
}

static void add_elem(builder *b, int map, char *key, const char *value)
{
	nft_frag *f = b->f;
	if (f->nelems == b->capelems) {
		b->capelems = b->capelems ? b->capelems * 2 : 4;
		f->elems = xrealloc(f->elems, b->capelems * sizeof *f->elems);
	}
	f->elems[f->nelems++] = (nft_elem){.map = map, .key = key, .value = xstrdup(value)};
}

static int obj_cmp(const void *a, const void *b)
{
	return strcmp(((const nft_obj *)a)->name, ((const nft_obj *)b)->name);
}

static int elem_cmp(const void *a, const void *b)
{
	const nft_elem *x = a, *y = b;
	if (x->map != y->map)
		return x->map - y->map;
	return strcmp(x->key, y->key);
}

/* ip (dotted IPv4) is inside cidr ("a.b.c.d/n"; NULL contains nothing). */
static bool in_cidr(const char *ip, const char *cidr)
{
	uint32_t net;
	int bits;
	struct in_addr a;
	if (!ipv4_cidr_parse(cidr, &net, &bits) || inet_pton(AF_INET, ip, &a) != 1)
		return false;
	return (ntohl(a.s_addr) & ipv4_prefix_mask(bits)) == net;
}

/* The affinity set of one endpoint of a port (added once; owned by the frag). */
static const char *affinity_set(builder *b, const char *id, const proxy_endpoint *ep)
{
	/* The hash covers the service port and the timeout (a new timeout makes a new set);
	 * the readable part is the endpoint. */
	_cleanup_free_ char *full =
	    xasprintf("%s__%s/%d/%ds", id, ep->ip, ep->port, b->s->affinity_timeout);
	_cleanup_free_ char *readable = xasprintf("%s/%d", ep->ip, ep->port);
	char *name = obj_name_of("affinity", full, readable);
	for (size_t i = 0; i < b->f->nobjs; i++) {
		if (strcmp(b->f->objs[i].name, name) == 0) {
			free(name);
			return b->f->objs[i].name;
		}
	}
	/* k8s: sessionAffinityConfig.clientIP.timeoutSeconds: the client sticks to the
	 * endpoint until it has been idle that long. */
	add_obj(b, name, true,
	        xasprintf("{ type ipv4_addr; flags dynamic,timeout; timeout %ds; }",
	                  b->s->affinity_timeout));
	return name;
}

/* The statements that send a connection to ep (recording the client for affinity). */
static void to_endpoint(buf *body, const proxy_port *p, const proxy_endpoint *ep,
                        const char *affinity)
{
	buf_printf(body, "meta l4proto %s ", p->proto);
	if (affinity)
		buf_printf(body, "update @%s { ip saddr } ", affinity);
	buf_printf(body, "dnat ip to %s:%d\n", ep->ip, ep->port);
}

/* A policy chain (service-... over eps, or local-... over the local ones): it picks an
 * endpoint and DNATs to it. Endpoints get no chains of their own: half the chains and
 * rules of the endpoint-chain layout, and the kernel's cost per transaction grows with
 * both (it validates every chain reachable from the hooks on each commit). */
static char *policy_chain(builder *b, const char *prefix, const char *id, const proxy_port *p,
                          const proxy_endpoint **eps, size_t n)
{
	const proxy_service *s = b->s;
	char *name = obj_name(prefix, id);
	buf body = {0};
	/* k8s: with --cluster-cidr, cluster-IP traffic from outside the pod network is
	 * masqueraded so replies come back through this node. Cluster IPs in the service
	 * CIDR are covered by one rule in `services`; others get a rule here. The cluster
	 * chain needs no address match: every other way in (external chains) is masqueraded
	 * already or comes from a pod. The local chain is also the way in of
	 * externalTrafficPolicy Local traffic, which must keep its source: there only the
	 * cluster IP matches. */
	if (s->cluster_ip[0] && b->cfg->cluster_cidr &&
	    !in_cidr(s->cluster_ip, b->cfg->service_cidr)) {
		if (strcmp(prefix, "service") == 0)
			buf_printf(&body, "ip saddr != %s jump mark-for-masquerade\n",
			           b->cfg->cluster_cidr);
		else if (s->itp_local)
			buf_printf(
			    &body,
			    "ip daddr %s %s dport %d ip saddr != %s jump mark-for-masquerade\n",
			    s->cluster_ip, p->proto, p->port, b->cfg->cluster_cidr);
	}
	const char **aff = xcalloc(n, sizeof *aff);
	for (size_t i = 0; s->affinity_timeout && i < n; i++) {
		aff[i] = affinity_set(b, id, eps[i]);
		/* k8s: a client seen within the timeout goes back to the same endpoint. */
		buf_printf(&body, "ip saddr @%s ", aff[i]);
		to_endpoint(&body, p, eps[i], aff[i]);
	}
	/* k8s: each endpoint equally likely: the i-th of n is taken with probability
	 * 1/(n-i), so every endpoint gets 1/n. A cascade of rules rather than one `numgen
	 * random mod n vmap { ... }`: each anonymous map is a kernel set, and the kernel
	 * allocates, binds and looks up sets by walking every set of the table (and the whole
	 * transaction), which made 10,000 services take 20 s to load. Only the first packet
	 * of a connection walks the cascade (conntrack). */
	for (size_t i = 0; i < n; i++) {
		if (i + 1 < n)
			buf_printf(&body, "numgen random mod %zu 0 ", n - i);
		to_endpoint(&body, p, eps[i], aff[i]);
	}
	free(aff);
	add_obj(b, name, false, buf_take(&body));
	return name;
}

/* k8s: hairpin: a pod reaching itself through its service's cluster IP is masqueraded,
 * or its reply would bypass the DNAT. Postrouting matches source . destination .
 * original destination . port against these (unique per service: the cluster IP is). */
static void hairpin_elems(builder *b, const proxy_endpoint **eps, size_t n)
{
	for (size_t i = 0; i < n; i++)
		add_elem(b, NFT_SET_HAIRPIN,
		         xasprintf("%s . %s . %s . %d", eps[i]->ip, eps[i]->ip, b->s->cluster_ip,
		                   eps[i]->port),
		         NULL);
}

static void build_port(builder *b, const proxy_port *p)
{
	const proxy_service *s = b->s;
	_cleanup_free_ char *id = p->name[0]
	                              ? xasprintf("%s/%s/%s/%s", s->ns, s->name, p->proto, p->name)
	                              : xasprintf("%s/%s/%s/%d", s->ns, s->name, p->proto, p->port);
	bool external = p->node_port || s->nexternal;
	const proxy_endpoint **all = xcalloc(p->neps ? p->neps : 1, sizeof *all);
	const proxy_endpoint **local = xcalloc(p->neps ? p->neps : 1, sizeof *local);
	size_t nall = proxy_usable_endpoints(p, false, all);
	size_t nlocal = proxy_usable_endpoints(p, true, local);
	bool want_local = (s->itp_local && s->cluster_ip[0]) || s->etp_local;
	/* Chains are made only when something reaches them. */
	char *cluster_chain = NULL, *local_chain = NULL, *external_chain = NULL;
	if (nall && ((s->cluster_ip[0] && !s->itp_local) || external))
		cluster_chain = policy_chain(b, "service", id, p, all, nall);
	if (nlocal && want_local)
		local_chain = policy_chain(b, "local", id, p, local, nlocal);
	if (nall && external) {
		external_chain = obj_name("external", id);
		buf body = {0};
		if (!s->etp_local) {
			/* k8s: externalTrafficPolicy Cluster: masquerade, so the reply comes
			 * back through this node whichever node the endpoint is on. A client on
			 * this node needs none (the replies come to it anyway), and keeping its
			 * address keeps each connection's tuple its own at the endpoint: see
			 * docs/proxy.md. */
			buf_printf(&body,
			           "fib saddr type local goto %s\n"
			           "jump mark-for-masquerade\ngoto %s\n",
			           cluster_chain, cluster_chain);
		} else {
			/* k8s: externalTrafficPolicy Local keeps the client address and uses
			 * only local endpoints; pod and node-local clients short-circuit to all
			 * endpoints. Both are masqueraded here (kube keeps pod addresses; the
			 * hairpin set only knows cluster IPs, so a pod reaching itself this way
			 * would otherwise lose its replies). */
			if (b->cfg->cluster_cidr)
				buf_printf(&body,
				           "ip saddr %s jump mark-for-masquerade\n"
				           "ip saddr %s goto %s\n",
				           b->cfg->cluster_cidr, b->cfg->cluster_cidr,
				           cluster_chain);
			buf_printf(&body,
			           "fib saddr type local jump mark-for-masquerade\n"
			           "fib saddr type local goto %s\n",
			           cluster_chain);
			if (local_chain)
				buf_printf(&body, "goto %s\n", local_chain);
			else /* k8s: no local endpoints: external traffic is dropped. */
				buf_puts(&body, "drop\n");
		}
		add_obj(b, external_chain, false, buf_take(&body));
	}
	/* The map elements: where each address of the port leads. */
	if (s->cluster_ip[0] && cluster_chain)
		hairpin_elems(b, all, nall);
	if (s->cluster_ip[0] && local_chain) /* duplicates go in nft_frag_build */
		hairpin_elems(b, local, nlocal);
	if (s->cluster_ip[0]) {
		char *key = xasprintf("%s . %s . %d", s->cluster_ip, p->proto, p->port);
		if (!nall) /* k8s: a service without endpoints rejects rather than hangs. */
			add_elem(b, NFT_MAP_NOEP_SERVICES, key, "goto reject-chain");
		else if (s->itp_local && !local_chain) /* k8s: iTP Local, none here: drop. */
			add_elem(b, NFT_MAP_NOEP_SERVICES, key, "drop");
		else {
			_cleanup_free_ char *v =
			    xasprintf("goto %s", s->itp_local ? local_chain : cluster_chain);
			add_elem(b, NFT_MAP_SERVICE_IPS, key, v);
		}
	}
	_cleanup_free_ char *to_external =
	    external_chain ? xasprintf("goto %s", external_chain) : NULL;
	for (size_t i = 0; i < s->nexternal; i++) {
		char *key = xasprintf("%s . %s . %d", s->external_ips[i], p->proto, p->port);
		if (nall)
			add_elem(b, NFT_MAP_SERVICE_IPS, key, to_external);
		else
			add_elem(b, NFT_MAP_NOEP_SERVICES, key, "goto reject-chain");
	}
	if (p->node_port) {
		char *key = xasprintf("%s . %d", p->proto, p->node_port);
		if (nall)
			add_elem(b, NFT_MAP_NODEPORTS, key, to_external);
		else
			add_elem(b, NFT_MAP_NOEP_NODEPORTS, key, "goto reject-chain");
	}
	free(all);
	free(local);
}

nft_frag *nft_frag_build(const proxy_service *s, const proxy_config *cfg)
{
	nft_frag *f = xcalloc(1, sizeof *f);
	if (!s)
		return f;
	builder b = {.f = f, .cfg = cfg, .s = s};
	for (size_t i = 0; i < s->nports; i++)
		build_port(&b, &s->ports[i]);
	if (f->nobjs > 1)
		qsort(f->objs, f->nobjs, sizeof *f->objs, obj_cmp);
	if (f->nelems > 1)
		qsort(f->elems, f->nelems, sizeof *f->elems, elem_cmp);
	/* Two ports of one service may map to one target port: one hairpin element. */
	size_t k = 0;
	for (size_t i = 0; i < f->nelems; i++) {
		if (k && elem_cmp(&f->elems[k - 1], &f->elems[i]) == 0) {
			free(f->elems[i].key);
			free(f->elems[i].value);
			continue;
		}
		f->elems[k++] = f->elems[i];
	}
	f->nelems = k;
	return f;
}

void nft_frag_free(nft_frag *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->nobjs; i++) {
		free(f->objs[i].name);
		free(f->objs[i].body);
	}
	for (size_t i = 0; i < f->nelems; i++) {
		free(f->elems[i].key);
		free(f->elems[i].value);
	}
	free(f->objs);
	free(f->elems);
	free(f);
}

static bool same_value(const nft_elem *x, const nft_elem *y)
{
	return x->value == y->value || (x->value && y->value && strcmp(x->value, y->value) == 0);
}

/* "key" for a set, "key : value" for a map. Caller frees. */
static char *elem_item(const nft_elem *e)
{
	return e->value ? xasprintf("%s : %s", e->key, e->value) : xstrdup(e->key);
}

bool nft_frag_equal(const nft_frag *a, const nft_frag *b)
{
	size_t ao = a ? a->nobjs : 0, bo = b ? b->nobjs : 0;
	size_t ae = a ? a->nelems : 0, be = b ? b->nelems : 0;
	if (ao != bo || ae != be)
		return false;
	for (size_t i = 0; i < ao; i++)
		if (strcmp(a->objs[i].name, b->objs[i].name) ||
		    strcmp(a->objs[i].body, b->objs[i].body))
			return false;
	for (size_t i = 0; i < ae; i++)
		if (a->elems[i].map != b->elems[i].map ||
		    strcmp(a->elems[i].key, b->elems[i].key) ||
		    !same_value(&a->elems[i], &b->elems[i]))
			return false;
	return true;
}

/* ---------- diffs and batches ---------- */

static void chain_rules(buf *out, const nft_obj *o)
{
	const char *p = o->body;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		buf_printf(out, "add rule " T " %s %.*s\n", o->name, (int)n, p);
		p += n + (nl ? 1 : 0);
	}
}

static void list_add(buf *l, const char *item)
{
	if (l->n)
		buf_puts(l, ", ");
	buf_puts(l, item);
}

void nft_batch_diff(nft_batch *b, const nft_frag *old, const nft_frag *new_)
{
	static const nft_frag empty = {0};
	const nft_frag *o = old ? old : &empty, *n = new_ ? new_ : &empty;
	bool changed = false;
	size_t i = 0, k = 0;
	while (i < o->nobjs || k < n->nobjs) {
		int c = i == o->nobjs   ? 1
		        : k == n->nobjs ? -1
		                        : strcmp(o->objs[i].name, n->objs[k].name);
		if (c > 0) { /* only new */
			const nft_obj *x = &n->objs[k++];
			if (x->is_set) {
				buf_printf(&b->phase[0], "add set " T " %s %s\n", x->name, x->body);
			} else {
				buf_printf(&b->phase[0], "add chain " T " %s\n", x->name);
				chain_rules(&b->phase[1], x);
			}
			changed = true;
		} else if (c < 0) { /* only old: emptied now, deleted last */
			const nft_obj *x = &o->objs[i++];
			if (!x->is_set)
				buf_printf(&b->phase[1], "flush chain " T " %s\n", x->name);
			buf_printf(&b->phase[2], "delete %s " T " %s\n",
			           x->is_set ? "set" : "chain", x->name);
			changed = true;
		} else {
			const nft_obj *x = &o->objs[i++], *y = &n->objs[k++];
			/* A set's name covers its declaration; a chain's rules may change. */
			if (!y->is_set && strcmp(x->body, y->body) != 0) {
				buf_printf(&b->phase[1], "flush chain " T " %s\n", y->name);
				chain_rules(&b->phase[1], y);
				changed = true;
			}
		}
	}
	i = k = 0;
	while (i < o->nelems || k < n->nelems) {
		int c = i == o->nelems   ? 1
		        : k == n->nelems ? -1
		                         : elem_cmp(&o->elems[i], &n->elems[k]);
		if (c > 0) {
			const nft_elem *y = &n->elems[k++];
			changed = true;
			if (b->dedupe) {
				if (hmap_get(&b->seen[y->map], y->key))
					continue;
				b->keys = xrealloc(b->keys, (b->nkeys + 1) * sizeof *b->keys);
				b->keys[b->nkeys] = xstrdup(y->key);
				hmap_put(&b->seen[y->map], b->keys[b->nkeys++], (void *)1);
			}
			_cleanup_free_ char *item = elem_item(y);
			list_add(&b->add[y->map], item);
		} else if (c < 0) {
			const nft_elem *x = &o->elems[i++];
			list_add(&b->del[x->map], x->key);
			changed = true;
		} else {
			const nft_elem *x = &o->elems[i++], *y = &n->elems[k++];
			if (!same_value(x, y)) {
				list_add(&b->del[x->map], x->key);
				_cleanup_free_ char *item = elem_item(y);
				list_add(&b->add[y->map], item);
				changed = true;
			}
		}
	}
	b->changes += changed;
}

/* text with every table mark replaced by table; frees the buffer that held text. */
static char *with_table(const char *text, const char *table, buf *holder)
{
	buf r = {0};
	buf_puts(&r, "");
	for (const char *p = text, *m; *p; p = m + 1) {
		m = strchr(p, TABLE_MARK);
		if (!m) {
			buf_puts(&r, p);
			break;
		}
		buf_add(&r, p, (size_t)(m - p));
		buf_puts(&r, table);
	}
	if (holder)
		buf_free(holder);
	return buf_take(&r);
}

char *nft_batch_take(nft_batch *b)
{
	buf out = {0};
	buf_puts(&out, "");
	buf_add(&out, b->phase[0].p, b->phase[0].n);
	buf_add(&out, b->phase[1].p, b->phase[1].n);
	for (int m = 0; m < NFT_NMAPS; m++)
		if (b->del[m].n)
			buf_printf(&out, "delete element " T " %s { %s }\n", map_names[m],
			           b->del[m].p);
	for (int m = 0; m < NFT_NMAPS; m++)
		if (b->add[m].n)
			buf_printf(&out, "add element " T " %s { %s }\n", map_names[m],
			           b->add[m].p);
	buf_add(&out, b->phase[2].p, b->phase[2].n);
	const char *table = b->table ? b->table : PROXY_TABLE;
	nft_batch_free(b);
	return with_table(out.p ? out.p : "", table, &out);
}

void nft_batch_free(nft_batch *b)
{
	for (int i = 0; i < 3; i++)
		buf_free(&b->phase[i]);
	for (int m = 0; m < NFT_NMAPS; m++) {
		buf_free(&b->del[m]);
		buf_free(&b->add[m]);
		hmap_free(&b->seen[m]);
		b->seen[m] = (hmap){0};
	}
	for (size_t i = 0; i < b->nkeys; i++)
		free(b->keys[i]);
	free(b->keys);
	b->keys = NULL;
	b->nkeys = 0;
	b->changes = 0;
	b->dedupe = false;
}

/* The base: hooks before and after NAT, the service lookups, masquerading, rejecting. */
static const char base_text[] =
    "add table " T "\n"
    "delete table " T "\n"
    "add table " T " { comment \"timon service proxy\"; }\n"
    /* k8s: filter hooks run before DNAT (priority dstnat - 10) to see service addresses. */
    "add chain " T " filter-input { type filter hook input priority -110; policy accept; }\n"
    "add chain " T " filter-forward { type filter hook forward priority -110; policy accept; }\n"
    "add chain " T " filter-output { type filter hook output priority -110; policy accept; }\n"
    "add chain " T " nat-prerouting { type nat hook prerouting priority dstnat; policy accept; }\n"
    "add chain " T " nat-output { type nat hook output priority -100; policy accept; }\n"
    "add chain " T
    " nat-postrouting { type nat hook postrouting priority srcnat; policy accept; }\n"
    "add chain " T " services\n"
    "add chain " T " service-endpoints-check\n"
    "add chain " T " nodeport-endpoints-check\n"
    "add chain " T " mark-for-masquerade\n"
    "add chain " T " masquerading\n"
    "add chain " T " reject-chain\n"
    "add set " T " hairpin { type ipv4_addr . ipv4_addr . ipv4_addr . inet_service; }\n"
    "add map " T " service-ips { type ipv4_addr . inet_proto . inet_service : verdict; }\n"
    "add map " T " service-nodeports { type inet_proto . inet_service : verdict; }\n"
    "add map " T " no-endpoint-services { type ipv4_addr . inet_proto . inet_service : verdict; }\n"
    "add map " T " no-endpoint-nodeports { type inet_proto . inet_service : verdict; }\n"
    "add rule " T " filter-input ct state new jump nodeport-endpoints-check\n"
    "add rule " T " filter-input ct state new jump service-endpoints-check\n"
    "add rule " T " filter-forward ct state new jump service-endpoints-check\n"
    "add rule " T " filter-output ct state new jump service-endpoints-check\n"
    /* The node's own clients of a node port without endpoints are refused here, on the
     * way out: refused on input, their connection is already in the conntrack table, and
     * its entry (10 s in CLOSE, without translation) sends a new SYN on the same client
     * port straight to the host's port even once endpoints exist: refused again. */
    "add rule " T " filter-output ct state new jump nodeport-endpoints-check\n"
    "add rule " T
    " service-endpoints-check ip daddr . meta l4proto . th dport vmap @no-endpoint-services\n"
    /* k8s: node ports answer on the node's addresses, not on loopback (no route_localnet). */
    "add rule " T " nodeport-endpoints-check fib daddr type local ip daddr != 127.0.0.0/8 "
    "meta l4proto . th dport vmap @no-endpoint-nodeports\n"
    "add rule " T " nat-prerouting jump services\n"
    "add rule " T " nat-output jump services\n"
    "add rule " T " nat-postrouting jump masquerading\n"
    "add rule " T " services ip daddr . meta l4proto . th dport vmap @service-ips\n"
    "add rule " T " services fib daddr type local ip daddr != 127.0.0.0/8 "
    "meta l4proto . th dport vmap @service-nodeports\n"
    /* k8s: kube-proxy's masquerade mark, bit 14 (--iptables-masquerade-bit). */
    "add rule " T " mark-for-masquerade meta mark set meta mark | 0x4000\n"
    /* k8s: hairpin (see hairpin_elems): after DNAT, source == destination. */
    "add rule " T " masquerading ip saddr . ip daddr . ct original ip daddr . th dport "
    "@hairpin jump mark-for-masquerade\n"
    "add rule " T " masquerading meta mark & 0x4000 == 0 return\n"
    "add rule " T " masquerading meta mark set meta mark ^ 0x4000\n"
    /* Port-preserving, not kube-proxy's fully-random: a client port reused while the
     * endpoint still holds the old connection in TIME_WAIT (conntrack forgets it when the
     * client reopens the port) must map to the same translated port, or the endpoint
     * answers the SYN as a stale segment and the client waits a second to retry: 5 to
     * 80% of new connections at a few thousand a second (docs/proxy.md). */
    "add rule " T " masquerading masquerade\n"
    /* k8s: REJECT: TCP gets a reset, everything else ICMP port unreachable. */
    "add rule " T " reject-chain meta l4proto tcp reject with tcp reset\n"
    "add rule " T " reject-chain reject\n";

void nft_batch_full(nft_batch *b, const proxy_config *cfg)
{
	buf_puts(&b->phase[0], base_text);
	/* k8s: cluster-IP traffic from outside the pod network is masqueraded (see
	 * policy_chain); first in `services`, before the lookup. */
	if (cfg->cluster_cidr && cfg->service_cidr)
		buf_printf(&b->phase[0],
		           "insert rule " T " services ip daddr %s ip saddr != %s jump "
		           "mark-for-masquerade\n",
		           cfg->service_cidr, cfg->cluster_cidr);
	b->dedupe = true;
	b->changes++;
}

char *nft_table_delete_text(const char *table)
{
	return with_table("add table " T "\ndelete table " T "\n", table ? table : PROXY_TABLE,
	                  NULL);
}

void proxy_table_name(const char *node, const char *hostname, char *out)
{
	/* The agent names its node after the host name in lower case. */
	if (!node || !*node || (hostname && strcasecmp(node, hostname) == 0)) {
		snprintf(out, PROXY_TABLE_MAX, "%s", PROXY_TABLE);
		return;
	}
	/* Node names are DNS subdomains: lower-case letters, digits, '-' and '.'. */
	char clean[PROXY_TABLE_MAX];
	size_t n = 0;
	bool kept = true;
	for (const char *p = node; *p && n + 1 < sizeof clean; p++) {
		bool ok = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-';
		clean[n++] = ok ? *p : '-';
		kept = kept && ok;
	}
	clean[n] = '\0';
	/* "timon-" + the name when it fits unchanged; else its start and a hash of it all,
	 * so that "a.b" and "a-b" stay apart. */
	if (kept && strlen(node) + 7 <= PROXY_TABLE_MAX) {
		memcpy(out, "timon-", 6);
		memcpy(out + 6, clean, n + 1);
		return;
	}
	_cleanup_free_ char *named = obj_name_of("timon", node, clean);
	snprintf(out, PROXY_TABLE_MAX, "%s", named);
	for (char *p = out; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
			*p = *p >= 'A' && *p <= 'Z' ? (char)(*p - 'A' + 'a') : '-';
}
