/* dns_cache.c — a small cache of upstream answers keyed by (name, type, class): positive
 * answers live for the least TTL of their answer records (at most an hour), negative ones
 * (NXDOMAIN, NODATA) for the SOA's negative TTL (RFC 2308: min of its TTL and MINIMUM, at
 * most 5 minutes). Hits come back with TTLs lowered by the time spent here. Bounded: when
 * full, expired entries go, then an arbitrary one.
 * Time is passed in, so the cache is a pure data structure (unit-tested as such).
 * Not for: the cluster zone's own records (answered fresh from the index).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hmap.h"
#include "base/util.h"
#include "proxy/dns-internal.h"

typedef struct centry {
	char *key;
	dns_msg msg;
	uint64_t stored_ms, expires_ms;
} centry;

struct dns_cache {
	hmap map;
	size_t max;
};

dns_cache *dns_cache_new(size_t max_entries)
{
	dns_cache *c = xcalloc(1, sizeof *c);
	c->max = max_entries ? max_entries : 1;
	return c;
}

static void entry_free(centry *e)
{
	dns_msg_free(&e->msg);
	free(e->key);
	free(e);
}

void dns_cache_free(dns_cache *c)
{
	if (!c)
		return;
	size_t it = 0;
	const char *k;
	void *v;
	while (hmap_next(&c->map, &it, &k, &v))
		entry_free(v);
	hmap_free(&c->map);
	free(c);
}

size_t dns_cache_count(const dns_cache *c)
{
	return c->map.count;
}

static char *key_of(const dns_name *qname, uint16_t qtype, uint16_t qclass)
{
	char text[DNS_NAME_TEXT];
	dns_name_text(qname, true, text);
	return xasprintf("%u/%u/%s", qtype, qclass, text);
}

static void drop(dns_cache *c, centry *e)
{
	hmap_del(&c->map, e->key);
	entry_free(e);
}

/* Makes room for one entry. */
static void evict(dns_cache *c, uint64_t now_ms)
{
	if (c->map.count < c->max)
		return;
	size_t it = 0;
	const char *k;
	void *v;
	centry *any = NULL;
	/* Collect first: deleting while iterating would skip slots. */
	centry **old = xcalloc(c->map.count, sizeof *old);
	size_t n = 0;
	while (hmap_next(&c->map, &it, &k, &v)) {
		centry *e = v;
		if (!any)
			any = e;
		if (e->expires_ms <= now_ms)
			old[n++] = e;
	}
	if (!n && any)
		old[n++] = any;
	for (size_t i = 0; i < n; i++)
		drop(c, old[i]);
	free(old);
}

/* The negative TTL of r: RFC 2308 §5, min(SOA TTL, SOA MINIMUM); 0 without an SOA. */
static uint32_t negative_ttl(const dns_msg *r)
{
	for (size_t i = 0; i < r->ns.n; i++) {
		const dns_rr *rr = &r->ns.v[i];
		if (rr->type != DNS_T_SOA || rr->rdlen < 20)
			continue;
		const uint8_t *m = rr->rdata + rr->rdlen - 4;
		uint32_t min =
		    (uint32_t)m[0] << 24 | (uint32_t)m[1] << 16 | (uint32_t)m[2] << 8 | m[3];
		return min < rr->ttl ? min : rr->ttl;
	}
	return 0;
}

void dns_cache_put(dns_cache *c, const dns_name *qname, uint16_t qtype, uint16_t qclass,
                   const dns_msg *r, uint64_t now_ms)
{
	if (r->flags & DNS_F_TC)
		return;
	uint32_t ttl;
	if (r->rcode == DNS_R_NOERROR && r->an.n) {
		ttl = DNS_CACHE_MAX_TTL;
		for (size_t i = 0; i < r->an.n; i++)
			if (r->an.v[i].ttl < ttl)
				ttl = r->an.v[i].ttl;
	} else if (r->rcode == DNS_R_NOERROR || r->rcode == DNS_R_NXDOMAIN) {
		ttl = negative_ttl(r);
		if (ttl > DNS_CACHE_MAX_NEG_TTL)
			ttl = DNS_CACHE_MAX_NEG_TTL;
	} else {
		return; /* SERVFAIL, REFUSED, ...: not cached */
	}
	if (ttl == 0)
		return;
	char *key = key_of(qname, qtype, qclass);
	centry *e = hmap_get(&c->map, key);
	if (e)
		drop(c, e);
	evict(c, now_ms);
	e = xcalloc(1, sizeof *e);
	e->key = key;
	dns_msg_copy(&e->msg, r);
	free(e->msg.edns.opts);
	e->msg.edns = (dns_edns){0};
	e->msg.rcode &= 0xf;
	e->stored_ms = now_ms;
	e->expires_ms = now_ms + (uint64_t)ttl * 1000;
	hmap_put(&c->map, e->key, e);
}

static void age_rrs(dns_rrs *s, uint32_t age)
{
	for (size_t i = 0; i < s->n; i++)
		s->v[i].ttl = s->v[i].ttl > age ? s->v[i].ttl - age : 0;
}

bool dns_cache_get(dns_cache *c, const dns_name *qname, uint16_t qtype, uint16_t qclass,
                   uint64_t now_ms, dns_msg *out)
{
	_cleanup_free_ char *key = key_of(qname, qtype, qclass);
	centry *e = hmap_get(&c->map, key);
	if (!e)
		return false;
	if (now_ms >= e->expires_ms) {
		drop(c, e);
		return false;
	}
	dns_msg_copy(out, &e->msg);
	uint32_t age = (uint32_t)((now_ms - e->stored_ms) / 1000);
	age_rrs(&out->an, age);
	age_rrs(&out->ns, age);
	age_rrs(&out->ar, age);
	return true;
}
