/* fuzz_dns.c — fuzz target for the DNS wire format and the answers built from it: the input
 * is a packet as a client or an upstream could send it. A packet that parses must encode,
 * the encoding must parse back and encode to the same bytes (when nothing was cut), and
 * fit the limit; the question is then answered from a small cluster zone and the answer
 * cached and encoded too. Not for: sockets (the server's loop is tested by test_dns.sh). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "proxy/dns-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static dns_zone *zone(void)
{
	static dns_zone *z;
	if (z)
		return z;
	z = dns_zone_new("cluster.local", "127.0.0.1");
	json_t *svc = json_loads("{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\"},"
	                         "\"spec\":{\"clusterIP\":\"10.43.0.20\",\"ports\":[{\"name\":"
	                         "\"http\",\"port\":80,\"protocol\":\"TCP\"}]}}",
	                         0, NULL);
	dns_zone_set_service(z, "default/web", svc, NULL, 0);
	json_decref(svc);
	json_t *ext = json_loads("{\"metadata\":{\"name\":\"ext\",\"namespace\":\"default\"},"
	                         "\"spec\":{\"type\":\"ExternalName\",\"externalName\":"
	                         "\"web.default.svc.cluster.local\"}}",
	                         0, NULL);
	dns_zone_set_service(z, "default/ext", ext, NULL, 0);
	json_decref(ext);
	return z;
}

static void roundtrip(const dns_msg *m, size_t limit)
{
	buf a = {0}, b = {0};
	dns_encode(m, limit, &a);
	dns_msg back;
	if (a.n > limit && (!m->edns.present || m->edns.optlen == 0))
		abort(); /* only a huge OPT of the input itself may not fit */
	if (dns_parse((const uint8_t *)a.p, a.n, &back) != 0)
		abort(); /* what we encode, we must read */
	if (back.id != m->id || back.has_q != m->has_q || back.rcode != m->rcode ||
	    back.edns.present != m->edns.present)
		abort();
	if (!(back.flags & DNS_F_TC) && (back.an.n != m->an.n || back.ns.n != m->ns.n))
		abort();
	if (!(back.flags & DNS_F_TC) && back.ar.n == m->ar.n) {
		dns_encode(&back, limit, &b);
		if (b.n != a.n || memcmp(a.p, b.p, a.n) != 0)
			abort(); /* encoding is stable */
	}
	for (size_t i = 0; i < back.an.n; i++) {
		char text[DNS_NAME_TEXT];
		dns_name_text(&back.an.v[i].name, true, text);
		dns_name again;
		(void)dns_name_from_text(text, &again);
	}
	dns_msg_free(&back);
	buf_free(&a);
	buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	dns_msg m;
	int rc = dns_parse(data, size, &m);
	if (rc < 0)
		return 0;
	roundtrip(&m, DNS_TCP_MAX);
	roundtrip(&m, DNS_UDP_MIN);
	if (m.has_q) {
		dns_msg r = {.id = m.id,
		             .flags = DNS_F_QR,
		             .has_q = true,
		             .qname = m.qname,
		             .qtype = m.qtype,
		             .qclass = m.qclass};
		dns_name chase;
		if (dns_zone_answer(zone(), &m, &r, &chase) == DNS_ZONE_CHASE &&
		    dns_name_labels(&chase) < 1)
			abort();
		roundtrip(&r, DNS_UDP_MIN);
		dns_msg_free(&r);
		/* As an upstream's answer: cached and read back. */
		dns_cache *c = dns_cache_new(4);
		dns_cache_put(c, &m.qname, m.qtype, m.qclass, &m, 1000);
		dns_msg hit;
		if (dns_cache_get(c, &m.qname, m.qtype, m.qclass, 2000, &hit)) {
			roundtrip(&hit, DNS_EDNS_SIZE);
			dns_msg_free(&hit);
		}
		dns_cache_free(c);
	}
	dns_msg_free(&m);
	return 0;
}
