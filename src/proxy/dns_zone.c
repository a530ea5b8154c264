/* dns_zone.c — the cluster zone: an index of records by owner name, fed per source (one
 * Service each) and replaced wholesale when the source changes, and the authoritative
 * answer to a question: records of the asked type, CNAME chains, NXDOMAIN versus NODATA
 * (names that own records, or lie above names that do, exist), the SOA in negative answers,
 * the zone apex, and the synthesized per-pod names.
 * Not for: which records a Service yields (dns_records.c) or the wire (dns_wire.c).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/hmap.h"
#include "base/util.h"
#include "proxy/dns-internal.h"

#define MAX_CHAIN 8

/* k8s: the schema version record dns-version.<zone> TXT names the spec version served. */
#define SCHEMA_VERSION "1.0.1"

typedef struct znode {
	char *name;
	dns_zrec **recs; /* borrowed from the sources */
	size_t n, cap;
	size_t below; /* records owned by names under this one (empty non-terminal) */
} znode;

typedef struct zsource {
	char *key;
	dns_zrec *recs;
	size_t n;
} zsource;

struct dns_zone {
	char *domain; /* lowercase, no trailing dot */
	char *ns_ip;
	hmap nodes;   /* owner text -> znode */
	hmap sources; /* key -> zsource */
	size_t count;
	uint32_t serial;
};

static bool under(const char *name, const char *apex)
{
	size_t n = strlen(name), a = strlen(apex);
	return n > a && name[n - a - 1] == '.' && strcmp(name + n - a, apex) == 0;
}

static bool in_zone(const dns_zone *z, const char *name)
{
	return strcmp(name, z->domain) == 0 || under(name, z->domain);
}

static bool is_reverse(const char *name)
{
	return under(name, "in-addr.arpa") || under(name, "ip6.arpa");
}

/* ---------- the index ---------- */

static znode *node_get(dns_zone *z, const char *name, bool create)
{
	znode *nd = hmap_get(&z->nodes, name);
	if (nd || !create)
		return nd;
	nd = xcalloc(1, sizeof *nd);
	nd->name = xstrdup(name);
	hmap_put(&z->nodes, nd->name, nd);
	return nd;
}

static void node_maybe_drop(dns_zone *z, znode *nd)
{
	if (nd->n || nd->below)
		return;
	hmap_del(&z->nodes, nd->name);
	free(nd->name);
	free(nd->recs);
	free(nd);
}

/* Adjusts the empty-non-terminal counts of the names between owner and the apex. */
static void ancestors(dns_zone *z, const char *owner, int delta)
{
	if (!under(owner, z->domain))
		return;
	for (const char *p = strchr(owner, '.'); p && strcmp(p + 1, z->domain) != 0;
	     p = strchr(p + 1, '.')) {
		znode *nd = node_get(z, p + 1, delta > 0);
		if (!nd)
			continue;
		nd->below = delta > 0 ? nd->below + 1 : nd->below - 1;
		node_maybe_drop(z, nd);
	}
}

static void index_add(dns_zone *z, dns_zrec *r)
{
	znode *nd = node_get(z, r->owner, true);
	if (nd->n == nd->cap) {
		nd->cap = nd->cap ? nd->cap * 2 : 4;
		nd->recs = xrealloc(nd->recs, nd->cap * sizeof *nd->recs);
	}
	nd->recs[nd->n++] = r;
	ancestors(z, r->owner, +1);
	z->count++;
}

static void index_del(dns_zone *z, dns_zrec *r)
{
	znode *nd = node_get(z, r->owner, false);
	if (!nd)
		return;
	for (size_t i = 0; i < nd->n; i++) {
		if (nd->recs[i] == r) {
			nd->recs[i] = nd->recs[--nd->n];
			z->count--;
			ancestors(z, r->owner, -1);
			break;
		}
	}
	node_maybe_drop(z, nd);
}

void dns_zrec_free(dns_zrec *r)
{
	free(r->owner);
	free(r->rdata);
	r->owner = NULL;
	r->rdata = NULL;
}

static int zrec_cmp(const void *a, const void *b)
{
	const dns_zrec *x = a, *y = b;
	int c = strcmp(x->owner, y->owner);
	if (c)
		return c;
	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	if (x->rdlen != y->rdlen)
		return x->rdlen < y->rdlen ? -1 : 1;
	return memcmp(x->rdata, y->rdata, x->rdlen);
}

void dns_zone_replace(dns_zone *z, const char *key, dns_zrec *recs, size_t n)
{
	zsource *src = hmap_get(&z->sources, key);
	if (src) {
		for (size_t i = 0; i < src->n; i++) {
			index_del(z, &src->recs[i]);
			dns_zrec_free(&src->recs[i]);
		}
		free(src->recs);
		src->recs = NULL;
		src->n = 0;
	}
	/* Sorted and without duplicates (a pod in two slices, a port listed twice). */
	if (n > 1)
		qsort(recs, n, sizeof *recs, zrec_cmp);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (k && zrec_cmp(&recs[k - 1], &recs[i]) == 0)
			dns_zrec_free(&recs[i]);
		else
			recs[k++] = recs[i];
	}
	z->serial++;
	if (!k) {
		if (src) {
			hmap_del(&z->sources, src->key);
			free(src->key);
			free(src);
		}
		return;
	}
	if (!src) {
		src = xcalloc(1, sizeof *src);
		src->key = xstrdup(key);
		hmap_put(&z->sources, src->key, src);
	}
	src->recs = xmalloc(k * sizeof *src->recs);
	memcpy(src->recs, recs, k * sizeof *recs);
	src->n = k;
	for (size_t i = 0; i < k; i++)
		index_add(z, &src->recs[i]);
}

static void zrec_make(dns_zrec *r, const char *owner, uint16_t type, const void *rd, size_t n)
{
	r->owner = xstrdup(owner);
	r->type = type;
	r->rdlen = (uint16_t)n;
	r->rdata = xmalloc(n ? n : 1);
	memcpy(r->rdata, rd, n);
}

dns_zone *dns_zone_new(const char *domain, const char *ns_ip)
{
	dns_zone *z = xcalloc(1, sizeof *z);
	char *d = xstrdup(domain && *domain ? domain : DNS_DEFAULT_DOMAIN);
	size_t l = strlen(d);
	if (l > 1 && d[l - 1] == '.')
		d[l - 1] = 0;
	for (char *p = d; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p + 32);
	z->domain = d;
	z->ns_ip = xstrdup(ns_ip);
	z->serial = (uint32_t)time(NULL);
	/* The zone's own records: the schema version and its name server's address. */
	dns_zrec own[2];
	size_t n = 0;
	char name[DNS_NAME_TEXT];
	uint8_t txt[1 + sizeof SCHEMA_VERSION];
	txt[0] = (uint8_t)(sizeof SCHEMA_VERSION - 1);
	memcpy(txt + 1, SCHEMA_VERSION, sizeof SCHEMA_VERSION - 1);
	snprintf(name, sizeof name, "dns-version.%s", d);
	zrec_make(&own[n++], name, DNS_T_TXT, txt, sizeof txt - 1);
	uint8_t a[16];
	snprintf(name, sizeof name, "ns.dns.%s", d);
	if (ns_ip && inet_pton(AF_INET, ns_ip, a) == 1 && memcmp(a, "\0\0\0\0", 4) != 0)
		zrec_make(&own[n++], name, DNS_T_A, a, 4);
	else if (ns_ip && inet_pton(AF_INET6, ns_ip, a) == 1)
		zrec_make(&own[n++], name, DNS_T_AAAA, a, 16);
	dns_zone_replace(z, "", own, n);
	return z;
}

void dns_zone_free(dns_zone *z)
{
	if (!z)
		return;
	size_t it = 0;
	const char *k;
	void *v;
	while (hmap_next(&z->sources, &it, &k, &v)) {
		zsource *src = v;
		for (size_t i = 0; i < src->n; i++)
			dns_zrec_free(&src->recs[i]);
		free(src->recs);
		free(src->key);
		free(src);
	}
	it = 0;
	while (hmap_next(&z->nodes, &it, &k, &v)) {
		znode *nd = v;
		free(nd->name);
		free(nd->recs);
		free(nd);
	}
	hmap_free(&z->sources);
	hmap_free(&z->nodes);
	free(z->domain);
	free(z->ns_ip);
	free(z);
}

const char *dns_zone_domain(const dns_zone *z)
{
	return z->domain;
}

size_t dns_zone_count(const dns_zone *z)
{
	return z->count;
}

void dns_zone_set_service(dns_zone *z, const char *key, json_t *svc, json_t *const *slices,
                          size_t nslices)
{
	dns_zrec *recs = NULL;
	size_t n = svc ? dns_records_for_service(z->domain, svc, slices, nslices, &recs, 0) : 0;
	dns_zone_replace(z, key, recs, n);
	free(recs);
}

/* ---------- answers ---------- */

static void add_text_rr(dns_rrs *s, const char *owner, uint16_t type, const void *rd, size_t n)
{
	dns_name nm;
	if (dns_name_from_text(owner, &nm) == 0)
		dns_rrs_add(s, &nm, type, DNS_C_IN, DNS_TTL, rd, (uint16_t)n);
}

/* The SOA of apex ("cluster.local", or "in-addr.arpa" for reverse answers). */
static void add_soa(const dns_zone *z, dns_rrs *s, const char *apex)
{
	uint8_t rd[2 * DNS_MAX_NAME + 20];
	size_t o = 0;
	char t[DNS_NAME_TEXT];
	dns_name nm;
	snprintf(t, sizeof t, "ns.dns.%s", z->domain);
	if (dns_name_from_text(t, &nm) < 0)
		return;
	memcpy(rd + o, nm.w, nm.len);
	o += nm.len;
	snprintf(t, sizeof t, "hostmaster.%s", z->domain);
	if (dns_name_from_text(t, &nm) < 0)
		return;
	memcpy(rd + o, nm.w, nm.len);
	o += nm.len;
	/* serial, refresh, retry, expire, minimum (the negative TTL, RFC 2308) */
	uint32_t v[5] = {z->serial, 7200, 1800, 86400, DNS_TTL};
	for (int i = 0; i < 5; i++) {
		rd[o++] = (uint8_t)(v[i] >> 24);
		rd[o++] = (uint8_t)(v[i] >> 16);
		rd[o++] = (uint8_t)(v[i] >> 8);
		rd[o++] = (uint8_t)v[i];
	}
	add_text_rr(s, apex, DNS_T_SOA, rd, o);
}

static void add_ns(const dns_zone *z, dns_rrs *s, dns_rrs *extra)
{
	char t[DNS_NAME_TEXT];
	dns_name nm;
	snprintf(t, sizeof t, "ns.dns.%s", z->domain);
	if (dns_name_from_text(t, &nm) < 0)
		return;
	add_text_rr(s, z->domain, DNS_T_NS, nm.w, nm.len);
	znode *nd = hmap_get(&z->nodes, t);
	for (size_t i = 0; nd && i < nd->n; i++)
		add_text_rr(extra, t, nd->recs[i]->type, nd->recs[i]->rdata, nd->recs[i]->rdlen);
}

/* k8s: <a>-<b>-<c>-<d>.<ns>.pod.<zone> A <a>.<b>.<c>.<d> (deprecated but required, for any
 * values). Returns 1 with the address, 0 for <ns>.pod.<zone> and pod.<zone> (names that
 * exist without records), -1 when the name is no pod name. */
static int pod_name(const dns_zone *z, const char *name, uint8_t ip[4])
{
	char suffix[DNS_NAME_TEXT];
	snprintf(suffix, sizeof suffix, "pod.%s", z->domain);
	if (strcmp(name, suffix) == 0)
		return 0;
	if (!under(name, suffix))
		return -1;
	size_t len = strlen(name) - strlen(suffix) - 1; /* "<ip>.<ns>" or "<ns>" */
	const char *dot = memchr(name, '.', len);
	if (!dot)
		return 0;
	if (memchr(dot + 1, '.', len - (size_t)(dot + 1 - name)))
		return -1;
	const char *p = name;
	for (int i = 0; i < 4; i++) {
		unsigned v = 0, digits = 0;
		while (p < dot && *p >= '0' && *p <= '9' && digits < 4)
			v = v * 10 + (unsigned)(*p++ - '0'), digits++;
		if (!digits || digits > 3 || v > 255)
			return -1;
		ip[i] = (uint8_t)v;
		if (i < 3 && (p >= dot || *p++ != '-'))
			return -1;
	}
	return p == dot ? 1 : -1;
}

static bool type_matches(uint16_t have, uint16_t want)
{
	return want == DNS_T_ANY || have == want;
}

/* Adds the A/AAAA records of the in-zone targets of the SRV answers, once each. */
static void srv_additional(dns_zone *z, dns_msg *r, size_t from)
{
	for (size_t i = from; i < r->an.n; i++) {
		const dns_rr *rr = &r->an.v[i];
		if (rr->type != DNS_T_SRV || rr->rdlen < 7)
			continue;
		dns_name t;
		if ((size_t)rr->rdlen - 6 > DNS_MAX_NAME)
			continue;
		t.len = (uint8_t)(rr->rdlen - 6);
		memcpy(t.w, rr->rdata + 6, t.len);
		bool seen = false;
		for (size_t j = from; j < i && !seen; j++)
			seen = r->an.v[j].type == DNS_T_SRV && r->an.v[j].rdlen == rr->rdlen &&
			       memcmp(r->an.v[j].rdata + 6, t.w, t.len) == 0;
		if (seen)
			continue;
		char text[DNS_NAME_TEXT];
		dns_name_text(&t, true, text);
		znode *nd = hmap_get(&z->nodes, text);
		for (size_t k = 0; nd && k < nd->n; k++)
			if (nd->recs[k]->type == DNS_T_A || nd->recs[k]->type == DNS_T_AAAA)
				dns_rrs_add(&r->ar, &t, nd->recs[k]->type, DNS_C_IN, DNS_TTL,
				            nd->recs[k]->rdata, nd->recs[k]->rdlen);
	}
}

/* One step of the answer for name cur: returns 1 when done, 0 to follow the CNAME put into
 * *next. */
static int answer_name(dns_zone *z, const dns_name *cur, uint16_t qtype, dns_msg *r, dns_name *next)
{
	char text[DNS_NAME_TEXT];
	dns_name_text(cur, true, text);
	const char *apex = in_zone(z, text) ? z->domain
	                   : is_reverse(text)
	                       ? (under(text, "ip6.arpa") ? "ip6.arpa" : "in-addr.arpa")
	                       : z->domain;
	size_t before = r->an.n;
	znode *nd = hmap_get(&z->nodes, text);
	bool exists = nd != NULL;
	if (strcmp(text, z->domain) == 0) {
		exists = true;
		if (type_matches(DNS_T_SOA, qtype))
			add_soa(z, &r->an, z->domain);
		if (type_matches(DNS_T_NS, qtype))
			add_ns(z, &r->an, &r->ar);
		/* the answers name the apex as asked */
		for (size_t i = before; i < r->an.n; i++)
			r->an.v[i].name = *cur;
	}
	uint8_t ip[4];
	int pod = nd ? -1 : pod_name(z, text, ip);
	if (pod >= 0)
		exists = true;
	if (pod == 1 && type_matches(DNS_T_A, qtype))
		dns_rrs_add(&r->an, cur, DNS_T_A, DNS_C_IN, DNS_TTL, ip, 4);
	for (size_t i = 0; nd && i < nd->n; i++) {
		const dns_zrec *rec = nd->recs[i];
		if (rec->type == DNS_T_CNAME && qtype != DNS_T_CNAME && qtype != DNS_T_ANY) {
			dns_rrs_add(&r->an, cur, DNS_T_CNAME, DNS_C_IN, DNS_TTL, rec->rdata,
			            rec->rdlen);
			next->len = (uint8_t)rec->rdlen;
			memcpy(next->w, rec->rdata, rec->rdlen);
			return 0;
		}
	}
	for (size_t i = 0; nd && i < nd->n; i++) {
		const dns_zrec *rec = nd->recs[i];
		if (type_matches(rec->type, qtype))
			dns_rrs_add(&r->an, cur, rec->type, DNS_C_IN, DNS_TTL, rec->rdata,
			            rec->rdlen);
	}
	if (r->an.n > before) {
		srv_additional(z, r, before);
		return 1;
	}
	/* k8s/RFC 2308: a name with no records of the type is NODATA, a name that does
	 * not exist NXDOMAIN; both carry the SOA for negative caching. */
	r->rcode = exists ? DNS_R_NOERROR : DNS_R_NXDOMAIN;
	add_soa(z, &r->ns, apex);
	return 1;
}

int dns_zone_answer(dns_zone *z, const dns_msg *q, dns_msg *r, dns_name *chase)
{
	char text[DNS_NAME_TEXT];
	dns_name_text(&q->qname, true, text);
	if (!in_zone(z, text)) {
		znode *nd = is_reverse(text) ? hmap_get(&z->nodes, text) : NULL;
		if (!nd) /* not ours, or a reverse name we do not know: upstream answers */
			return DNS_ZONE_NOT_OURS;
	}
	if (q->qclass != DNS_C_IN && q->qclass != DNS_C_ANY) {
		r->rcode = DNS_R_REFUSED;
		return DNS_ZONE_ANSWERED;
	}
	r->flags |= DNS_F_AA;
	r->rcode = DNS_R_NOERROR;
	dns_name cur = q->qname;
	for (int hop = 0; hop < MAX_CHAIN; hop++) {
		dns_name next;
		if (answer_name(z, &cur, q->qtype, r, &next))
			return DNS_ZONE_ANSWERED;
		dns_name_text(&next, true, text);
		if (!in_zone(z, text)) {
			*chase = next;
			return DNS_ZONE_CHASE;
		}
		cur = next;
	}
	r->rcode = DNS_R_SERVFAIL; /* a CNAME loop inside the zone */
	return DNS_ZONE_ANSWERED;
}
