/* test_dns.c — unit tests of the cluster DNS: names, the wire format (compression,
 * truncation, EDNS, hostile packets), the records of Services and EndpointSlices per the
 * Kubernetes DNS specification, zone answers (NXDOMAIN versus NODATA, SOA, CNAME chains,
 * pod names), the answer cache, upstream lists, and the server on a real loop against an
 * in-test upstream (forwarding, caching, SERVFAIL after the deadline, TCP). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "proxy/dns-internal.h"
#include "test.h"

/* ---------- helpers ---------- */

static dns_msg query(const char *name, uint16_t qtype)
{
	dns_msg q = {.id = 7, .flags = DNS_F_RD, .has_q = true, .qtype = qtype, .qclass = DNS_C_IN};
	dns_name_from_text(name, &q.qname);
	return q;
}

/* Answers name/qtype from z; r must be freed. */
static int ask(dns_zone *z, const char *name, uint16_t qtype, dns_msg *r, dns_name *chase)
{
	dns_msg q = query(name, qtype);
	*r = (dns_msg){.id = q.id,
	               .flags = DNS_F_QR,
	               .has_q = true,
	               .qname = q.qname,
	               .qtype = qtype,
	               .qclass = DNS_C_IN};
	dns_name dummy;
	return dns_zone_answer(z, &q, r, chase ? chase : &dummy);
}

static json_t *js(const char *s)
{
	json_error_t e;
	json_t *j = json_loads(s, 0, &e);
	if (!j)
		fprintf(stderr, "bad test json: %s\n", e.text);
	return j;
}

static void rdata_name(const dns_rr *rr, size_t skip, char out[DNS_NAME_TEXT])
{
	dns_name n;
	n.len = (uint8_t)(rr->rdlen - skip);
	memcpy(n.w, rr->rdata + skip, n.len);
	dns_name_text(&n, true, out);
}

static bool has_a(const dns_msg *r, const char *ip)
{
	uint8_t a[4];
	inet_pton(AF_INET, ip, a);
	for (size_t i = 0; i < r->an.n; i++)
		if (r->an.v[i].type == DNS_T_A && memcmp(r->an.v[i].rdata, a, 4) == 0)
			return true;
	return false;
}

#define SVC_WEB                                                                                    \
	"{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\"},\"spec\":{\"type\":"           \
	"\"ClusterIP\",\"clusterIP\":\"10.43.0.20\",\"clusterIPs\":[\"10.43.0.20\"],"              \
	"\"ports\":[{\"name\":\"http\",\"port\":80,\"protocol\":\"TCP\"},{\"port\":81}]}}"
#define SVC_DB                                                                                     \
	"{\"metadata\":{\"name\":\"db\",\"namespace\":\"prod\"},\"spec\":{\"clusterIP\":"          \
	"\"None\",\"ports\":[{\"name\":\"pg\",\"port\":5432}]}}"
#define SLICE_DB                                                                                   \
	"{\"metadata\":{\"name\":\"db-x\",\"namespace\":\"prod\",\"labels\":{"                     \
	"\"kubernetes.io/service-name\":\"db\"}},\"addressType\":\"IPv4\",\"ports\":[{\"name\":"   \
	"\"pg\",\"port\":5432,\"protocol\":\"TCP\"},{\"name\":\"metrics\",\"port\":9187,"          \
	"\"protocol\":\"TCP\"}],\"endpoints\":["                                                   \
	"{\"addresses\":[\"10.42.0.10\"],\"hostname\":\"db-0\",\"conditions\":{\"ready\":true}},"  \
	"{\"addresses\":[\"10.42.0.11\"],\"hostname\":\"db-1\",\"conditions\":{}},"                \
	"{\"addresses\":[\"10.42.0.12\"],\"conditions\":{\"ready\":true}},"                        \
	"{\"addresses\":[\"10.42.0.13\"],\"hostname\":\"db-3\",\"conditions\":{\"ready\":false}}]" \
	"}"

static dns_zone *test_zone(void)
{
	dns_zone *z = dns_zone_new("cluster.local", "10.43.0.10");
	json_t *web = js(SVC_WEB), *db = js(SVC_DB), *slice = js(SLICE_DB);
	dns_zone_set_service(z, "default/web", web, NULL, 0);
	dns_zone_set_service(z, "prod/db", db, &slice, 1);
	json_t *ext = js("{\"metadata\":{\"name\":\"ext\",\"namespace\":\"default\"},\"spec\":{"
	                 "\"type\":\"ExternalName\",\"externalName\":\"www.example.com\"}}");
	json_t *alias = js("{\"metadata\":{\"name\":\"alias\",\"namespace\":\"default\"},\"spec\":{"
	                   "\"type\":\"ExternalName\",\"externalName\":"
	                   "\"web.default.svc.cluster.local.\"}}");
	dns_zone_set_service(z, "default/ext", ext, NULL, 0);
	dns_zone_set_service(z, "default/alias", alias, NULL, 0);
	json_decref(web);
	json_decref(db);
	json_decref(slice);
	json_decref(ext);
	json_decref(alias);
	return z;
}

/* ---------- names and wire ---------- */

TEST(name_text_roundtrip)
{
	dns_name n;
	char t[DNS_NAME_TEXT];
	REQUIRE(dns_name_from_text("Web.Default.svc.cluster.local.", &n) == 0);
	CHECK_INT(dns_name_labels(&n), 5);
	dns_name_text(&n, true, t);
	CHECK_STR(t, "web.default.svc.cluster.local");
	dns_name_text(&n, false, t);
	CHECK_STR(t, "Web.Default.svc.cluster.local");
	REQUIRE(dns_name_from_text(".", &n) == 0);
	CHECK_INT(n.len, 1);
	dns_name_text(&n, true, t);
	CHECK_STR(t, ".");
	CHECK(dns_name_from_text("a..b", &n) < 0);
	char long_label[80];
	memset(long_label, 'a', 64);
	long_label[64] = 0;
	CHECK(dns_name_from_text(long_label, &n) < 0);
	char long_name[300];
	for (int i = 0; i < 130; i++)
		memcpy(long_name + 2 * i, "a.", 2);
	long_name[260] = 0;
	CHECK(dns_name_from_text(long_name, &n) < 0);
	/* escapes: a dot inside a label and a binary byte */
	static const uint8_t raw[] = {3, 'a', '.', 'b', 1, 0xff, 0};
	memcpy(n.w, raw, sizeof raw);
	n.len = sizeof raw;
	dns_name_text(&n, true, t);
	CHECK_STR(t, "a\\.b.\\255");
	dns_name a, b;
	dns_name_from_text("WWW.example.COM", &a);
	dns_name_from_text("www.EXAMPLE.com", &b);
	CHECK(dns_name_eq(&a, &b));
}

TEST(encode_parse_roundtrip_with_compression)
{
	dns_msg m = query("web.default.svc.cluster.local", DNS_T_A);
	m.flags |= DNS_F_QR | DNS_F_AA;
	uint8_t ip[4] = {10, 43, 0, 20};
	for (int i = 0; i < 3; i++) {
		ip[3] = (uint8_t)(20 + i);
		dns_rrs_add(&m.an, &m.qname, DNS_T_A, DNS_C_IN, 5, ip, 4);
	}
	dns_name target;
	dns_name_from_text("db.prod.svc.cluster.local", &target);
	dns_rrs_add(&m.ns, &m.qname, DNS_T_CNAME, DNS_C_IN, 5, target.w, target.len);
	m.edns.present = true;
	m.edns.udp_size = 1232;
	buf out = {0};
	dns_encode(&m, DNS_TCP_MAX, &out);
	/* The owner names are pointers to the question (2 bytes each), so 3 answers of
	 * 16 bytes; the CNAME target shares "svc.cluster.local". */
	CHECK(out.n < 12 + 35 + 3 * 16 + 2 + 10 + 12 + 11);
	dns_msg back;
	REQUIRE(dns_parse((const uint8_t *)out.p, out.n, &back) == 0);
	CHECK_INT(back.id, 7);
	CHECK(back.flags & DNS_F_AA);
	CHECK_INT(back.an.n, 3);
	CHECK_INT(back.ns.n, 1);
	CHECK(back.edns.present);
	CHECK_INT(back.edns.udp_size, 1232);
	CHECK(dns_name_eq(&back.an.v[2].name, &m.qname));
	char t[DNS_NAME_TEXT];
	rdata_name(&back.ns.v[0], 0, t);
	CHECK_STR(t, "db.prod.svc.cluster.local");
	dns_msg_free(&back);
	dns_msg_free(&m);
	buf_free(&out);
}

TEST(truncation_sets_tc_and_keeps_opt)
{
	dns_msg m = query("big.default.svc.cluster.local", DNS_T_A);
	m.flags |= DNS_F_QR;
	for (int i = 0; i < 60; i++) {
		uint8_t ip[4] = {10, 42, 1, (uint8_t)i};
		dns_rrs_add(&m.an, &m.qname, DNS_T_A, DNS_C_IN, 5, ip, 4);
	}
	buf out = {0};
	dns_encode(&m, DNS_UDP_MIN, &out);
	CHECK(out.n <= DNS_UDP_MIN);
	dns_msg back;
	REQUIRE(dns_parse((const uint8_t *)out.p, out.n, &back) == 0);
	CHECK(back.flags & DNS_F_TC);
	CHECK(back.an.n > 20 && back.an.n < 60);
	dns_msg_free(&back);
	/* With EDNS the OPT record stays, still within the limit. */
	m.edns.present = true;
	m.edns.udp_size = 1232;
	dns_encode(&m, DNS_UDP_MIN, &out);
	CHECK(out.n <= DNS_UDP_MIN);
	REQUIRE(dns_parse((const uint8_t *)out.p, out.n, &back) == 0);
	CHECK(back.edns.present && (back.flags & DNS_F_TC));
	dns_msg_free(&back);
	/* Only the additional section does not fit: it goes without TC. */
	dns_msg small = query("x.cluster.local", DNS_T_SRV);
	uint8_t ip[4] = {1, 2, 3, 4};
	dns_rrs_add(&small.an, &small.qname, DNS_T_A, DNS_C_IN, 5, ip, 4);
	for (int i = 0; i < 60; i++)
		dns_rrs_add(&small.ar, &small.qname, DNS_T_A, DNS_C_IN, 5, ip, 4);
	dns_encode(&small, DNS_UDP_MIN, &out);
	REQUIRE(dns_parse((const uint8_t *)out.p, out.n, &back) == 0);
	CHECK(!(back.flags & DNS_F_TC));
	CHECK_INT(back.an.n, 1);
	CHECK_INT(back.ar.n, 0);
	dns_msg_free(&back);
	dns_msg_free(&small);
	dns_msg_free(&m);
	buf_free(&out);
}

TEST(parse_rejects_hostile_packets)
{
	dns_msg m;
	static const uint8_t loop[] = {0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1};
	CHECK_INT(dns_parse(loop, sizeof loop, &m), DNS_PARSE_FORMERR);
	CHECK_INT(m.id, 1);
	static const uint8_t fwd[] = {0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 18, 0, 1, 0, 1, 0};
	CHECK_INT(dns_parse(fwd, sizeof fwd, &m), DNS_PARSE_FORMERR);
	static const uint8_t two_q[] = {0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1};
	CHECK_INT(dns_parse(two_q, sizeof two_q, &m), DNS_PARSE_FORMERR);
	static const uint8_t ext_label[] = {0, 1, 0,    0,   0, 1, 0, 0, 0, 0,
	                                    0, 0, 0x41, 'a', 0, 0, 1, 0, 1};
	CHECK_INT(dns_parse(ext_label, sizeof ext_label, &m), DNS_PARSE_FORMERR);
	static const uint8_t short_rr[] = {0, 1, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1,
	                                   0, 1, 0,    0,    1, 0, 1, 0, 0, 0, 1, 0, 9, 1, 2};
	CHECK_INT(dns_parse(short_rr, sizeof short_rr, &m), DNS_PARSE_FORMERR);
	CHECK_INT(dns_parse(short_rr, 5, &m), DNS_PARSE_SHORT);
	/* an OPT outside the additional section, and two OPTs */
	static const uint8_t opt_an[] = {0, 1, 0,  0, 0,    0, 0, 1, 0, 0, 0, 0,
	                                 0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 0};
	CHECK_INT(dns_parse(opt_an, sizeof opt_an, &m), DNS_PARSE_FORMERR);
	static const uint8_t opt2[] = {0, 1, 0, 0, 0, 0, 0, 0, 0,  0, 0,    2, 0, 0, 41, 4, 0xd0,
	                               0, 0, 0, 0, 0, 0, 0, 0, 41, 4, 0xd0, 0, 0, 0, 0,  0, 0};
	CHECK_INT(dns_parse(opt2, sizeof opt2, &m), DNS_PARSE_FORMERR);
	/* a CNAME whose rdata name runs past its rdlength */
	static const uint8_t cname[] = {0, 1, 0x81, 0x80, 0, 0, 0, 1, 0, 0, 0,   0,   0,   0,
	                                5, 0, 1,    0,    0, 0, 1, 0, 2, 3, 'a', 'b', 'c', 0};
	CHECK_INT(dns_parse(cname, sizeof cname, &m), DNS_PARSE_FORMERR);
}

TEST(edns_fields)
{
	static const uint8_t p[] = {0, 9, 1,  0,    0, 0,    0, 0,    0, 0, 0, 1,
	                            0, 0, 41, 0x10, 0, 0x01, 0, 0x80, 0, 0, 0};
	dns_msg m;
	REQUIRE(dns_parse(p, sizeof p, &m) == 0);
	CHECK(m.edns.present);
	CHECK_INT(m.edns.udp_size, 4096);
	CHECK_INT(m.edns.version, 0);
	CHECK(m.edns.do_bit);
	CHECK_INT(m.rcode, 16); /* extended rcode 1 << 4: BADVERS */
	CHECK_INT(m.ar.n, 0);
	dns_msg_free(&m);
}

/* ---------- records and answers ---------- */

TEST(cluster_ip_service_records)
{
	dns_zone *z = test_zone();
	dns_msg r;
	REQUIRE(ask(z, "web.default.svc.cluster.local", DNS_T_A, &r, NULL) == DNS_ZONE_ANSWERED);
	CHECK(r.flags & DNS_F_AA);
	CHECK_INT(r.rcode, DNS_R_NOERROR);
	CHECK_INT(r.an.n, 1);
	CHECK(has_a(&r, "10.43.0.20"));
	CHECK_INT(r.an.v[0].ttl, DNS_TTL);
	dns_msg_free(&r);
	/* k8s: comparisons are case-insensitive; the answer keeps the asked case */
	REQUIRE(ask(z, "WEB.default.SVC.cluster.local", DNS_T_A, &r, NULL) == DNS_ZONE_ANSWERED);
	CHECK(has_a(&r, "10.43.0.20"));
	CHECK(r.an.n == 1 && r.an.v[0].name.w[1] == 'W');
	dns_msg_free(&r);
	/* SRV for the named port only, aimed at the service, with its A record added */
	REQUIRE(ask(z, "_http._tcp.web.default.svc.cluster.local", DNS_T_SRV, &r, NULL) ==
	        DNS_ZONE_ANSWERED);
	REQUIRE(r.an.n == 1);
	const uint8_t *s = r.an.v[0].rdata;
	CHECK_INT(s[4] << 8 | s[5], 80);
	char t[DNS_NAME_TEXT];
	rdata_name(&r.an.v[0], 6, t);
	CHECK_STR(t, "web.default.svc.cluster.local");
	CHECK_INT(r.ar.n, 1);
	dns_msg_free(&r);
	/* PTR of the cluster IP */
	REQUIRE(ask(z, "20.0.43.10.in-addr.arpa", DNS_T_PTR, &r, NULL) == DNS_ZONE_ANSWERED);
	REQUIRE(r.an.n == 1);
	rdata_name(&r.an.v[0], 0, t);
	CHECK_STR(t, "web.default.svc.cluster.local");
	dns_msg_free(&r);
	/* NODATA: the name exists without AAAA; SOA with the negative TTL */
	REQUIRE(ask(z, "web.default.svc.cluster.local", DNS_T_AAAA, &r, NULL) == DNS_ZONE_ANSWERED);
	CHECK_INT(r.rcode, DNS_R_NOERROR);
	CHECK_INT(r.an.n, 0);
	REQUIRE(r.ns.n == 1 && r.ns.v[0].type == DNS_T_SOA);
	const dns_rr *soa = &r.ns.v[0];
	const uint8_t *mn = soa->rdata + soa->rdlen - 4;
	CHECK_INT(mn[3], DNS_TTL);
	CHECK_INT(soa->ttl, DNS_TTL);
	dns_msg_free(&r);
	dns_zone_free(z);
}

TEST(headless_service_records)
{
	dns_zone *z = test_zone();
	dns_msg r;
	/* A per ready endpoint (ready unset counts as ready; ready:false does not) */
	REQUIRE(ask(z, "db.prod.svc.cluster.local", DNS_T_A, &r, NULL) == DNS_ZONE_ANSWERED);
	CHECK_INT(r.an.n, 3);
	CHECK(has_a(&r, "10.42.0.10") && has_a(&r, "10.42.0.11") && has_a(&r, "10.42.0.12"));
	CHECK(!has_a(&r, "10.42.0.13"));
	dns_msg_free(&r);
	/* per-pod hostname, and the system-assigned name of one without */
	REQUIRE(ask(z, "db-1.db.prod.svc.cluster.local", DNS_T_A, &r, NULL) == DNS_ZONE_ANSWERED);
	CHECK(r.an.n == 1 && has_a(&r, "10.42.0.11"));
	dns_msg_free(&r);
	REQUIRE(ask(z, "10-42-0-12.db.prod.svc.cluster.local", DNS_T_A, &r, NULL) ==
	        DNS_ZONE_ANSWERED);
	CHECK(r.an.n == 1 && has_a(&r, "10.42.0.12"));
	dns_msg_free(&r);
	REQUIRE(ask(z, "db-3.db.prod.svc.cluster.local", DNS_T_A, &r, NULL) == DNS_ZONE_ANSWERED);
	CHECK_INT(r.rcode, DNS_R_NXDOMAIN);
	dns_msg_free(&r);
	/* SRV: N ready endpoints x the named port */
	REQUIRE(ask(z, "_pg._tcp.db.prod.svc.cluster.local", DNS_T_SRV, &r, NULL) ==
	        DNS_ZONE_ANSWERED);
	CHECK_INT(r.an.n, 3);
	CHECK_INT(r.ar.n, 3);
	char t[DNS_NAME_TEXT];
	bool found = false;
	for (size_t i = 0; i < r.an.n; i++) {
		rdata_name(&r.an.v[i], 6, t);
		found |= strcmp(t, "db-0.db.prod.svc.cluster.local") == 0;
		CHECK_INT(r.an.v[i].rdata[4] << 8 | r.an.v[i].rdata[5], 5432);
	}
	CHECK(found);
	dns_msg_free(&r);
	/* PTR of an endpoint names its hostname */
	REQUIRE(ask(z, "10.0.42.10.in-addr.arpa", DNS_T_PTR, &r, NULL) == DNS_ZONE_ANSWERED);
	REQUIRE(r.an.n == 1);
	rdata_name(&r.an.v[0], 0, t);
	CHECK_STR(t, "db-0.db.prod.svc.cluster.local");
	dns_msg_free(&r);
	/* the unready endpoint has no PTR: the name goes upstream */
	CHECK_INT(ask(z, "13.0.42.10.in-addr.arpa", DNS_T_PTR, &r, NULL), DNS_ZONE_NOT_OURS);
	dns_msg_free(&r);
	/* k8s: a headless service without ready endpoints answers NXDOMAIN */
	json_t *db = js(SVC_DB);
	dns_zone_set_service(z, "prod/db", db, NULL, 0);
	json_decref(db);
	REQUIRE(ask(z, "db.prod.svc.cluster.local", DNS_T_A, &r, NULL) == DNS_ZONE_ANSWERED);
	CHECK_INT(r.rcode, DNS_R_NXDOMAIN);
	dns_msg_free(&r);
	dns_zone_free(z);
}

TEST(external_name_and_chains)
{
	dns_zone *z = test_zone();
	dns_msg r;
	dns_name chase;
	char t[DNS_NAME_TEXT];
	REQUIRE(ask(z, "ext.default.svc.cluster.local", DNS_T_A, &r, &chase) == DNS_ZONE_CHASE);
	REQUIRE(r.an.n == 1 && r.an.v[0].type == DNS_T_CNAME);
	dns_name_text(&chase, true, t);
	CHECK_STR(t, "www.example.com");
	dns_msg_free(&r);
	/* asked for the CNAME itself: answered, nothing to chase */
	REQUIRE(ask(z, "ext.default.svc.cluster.local", DNS_T_CNAME, &r, NULL) ==
	        DNS_ZONE_ANSWERED);
	CHECK_INT(r.an.n, 1);
	dns_msg_free(&r);
	/* a CNAME into the zone is followed inside it */
	REQUIRE(ask(z, "alias.default.svc.cluster.local", DNS_T_A, &r, NULL) == DNS_ZONE_ANSWERED);
	CHECK_INT(r.an.n, 2);
	CHECK(has_a(&r, "10.43.0.20"));
	dns_msg_free(&r);
	dns_zone_free(z);
}

TEST(nxdomain_nodata_apex_and_pods)
{
	dns_zone *z = test_zone();
	dns_msg r;
	REQUIRE(ask(z, "nope.default.svc.cluster.local", DNS_T_A, &r, NULL) == DNS_ZONE_ANSWERED);
	CHECK_INT(r.rcode, DNS_R_NXDOMAIN);
	CHECK(r.flags & DNS_F_AA);
	CHECK(r.ns.n == 1 && r.ns.v[0].type == DNS_T_SOA);
	dns_msg_free(&r);
	/* names above existing records exist (empty non-terminals): NODATA */
	const char *ents[] = {"default.svc.cluster.local", "svc.cluster.local",
	                      "_tcp.web.default.svc.cluster.local", "default.pod.cluster.local"};
	for (size_t i = 0; i < ARRAY_SIZE(ents); i++) {
		REQUIRE(ask(z, ents[i], DNS_T_A, &r, NULL) == DNS_ZONE_ANSWERED);
		CHECK_INT(r.rcode, DNS_R_NOERROR);
		CHECK_INT(r.an.n, 0);
		dns_msg_free(&r);
	}
	REQUIRE(ask(z, "nons.svc.cluster.local", DNS_T_A, &r, NULL) == DNS_ZONE_ANSWERED);
	CHECK_INT(r.rcode, DNS_R_NXDOMAIN);
	dns_msg_free(&r);
	/* the apex: SOA and NS (with the name server's address) */
	REQUIRE(ask(z, "cluster.local", DNS_T_SOA, &r, NULL) == DNS_ZONE_ANSWERED);
	CHECK(r.an.n == 1 && r.an.v[0].type == DNS_T_SOA);
	dns_msg_free(&r);
	REQUIRE(ask(z, "cluster.local", DNS_T_NS, &r, NULL) == DNS_ZONE_ANSWERED);
	CHECK(r.an.n == 1 && r.ar.n == 1);
	dns_msg_free(&r);
	/* k8s: dns-version.<zone> TXT names the schema version */
	REQUIRE(ask(z, "dns-version.cluster.local", DNS_T_TXT, &r, NULL) == DNS_ZONE_ANSWERED);
	REQUIRE(r.an.n == 1);
	CHECK(r.an.v[0].rdlen == 6 && memcmp(r.an.v[0].rdata, "\0051.0.1", 6) == 0);
	dns_msg_free(&r);
	/* k8s: <a>-<b>-<c>-<d>.<ns>.pod.<zone> A, for any values */
	REQUIRE(ask(z, "10-1-2-3.default.pod.cluster.local", DNS_T_A, &r, NULL) ==
	        DNS_ZONE_ANSWERED);
	CHECK(r.an.n == 1 && has_a(&r, "10.1.2.3"));
	dns_msg_free(&r);
	const char *bad[] = {
	    "10-1-2-256.default.pod.cluster.local", "10-1-2.default.pod.cluster.local",
	    "a.10-1-2-3.default.pod.cluster.local", "1-2-3-4-5.x.pod.cluster.local"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		REQUIRE(ask(z, bad[i], DNS_T_A, &r, NULL) == DNS_ZONE_ANSWERED);
		CHECK_INT(r.rcode, DNS_R_NXDOMAIN);
		dns_msg_free(&r);
	}
	/* outside the zone: not ours */
	CHECK_INT(ask(z, "example.com", DNS_T_A, &r, NULL), DNS_ZONE_NOT_OURS);
	dns_msg_free(&r);
	CHECK_INT(ask(z, "local", DNS_T_A, &r, NULL), DNS_ZONE_NOT_OURS);
	dns_msg_free(&r);
	/* other classes are refused */
	dns_msg q = query("web.default.svc.cluster.local", DNS_T_A);
	q.qclass = 3;
	r = (dns_msg){0};
	dns_name chase;
	CHECK_INT(dns_zone_answer(z, &q, &r, &chase), DNS_ZONE_ANSWERED);
	CHECK_INT(r.rcode, DNS_R_REFUSED);
	dns_msg_free(&r);
	dns_zone_free(z);
}

TEST(custom_domain_and_removal)
{
	dns_zone *z = dns_zone_new("Corp.Example.", NULL);
	CHECK_STR(dns_zone_domain(z), "corp.example");
	size_t base = dns_zone_count(z);
	json_t *web = js(SVC_WEB);
	dns_zone_set_service(z, "default/web", web, NULL, 0);
	json_decref(web);
	CHECK_INT(dns_zone_count(z), base + 3); /* A, PTR, SRV */
	dns_msg r;
	REQUIRE(ask(z, "web.default.svc.corp.example", DNS_T_A, &r, NULL) == DNS_ZONE_ANSWERED);
	CHECK(has_a(&r, "10.43.0.20"));
	dns_msg_free(&r);
	dns_zone_set_service(z, "default/web", NULL, NULL, 0);
	CHECK_INT(dns_zone_count(z), base);
	REQUIRE(ask(z, "web.default.svc.corp.example", DNS_T_A, &r, NULL) == DNS_ZONE_ANSWERED);
	CHECK_INT(r.rcode, DNS_R_NXDOMAIN);
	dns_msg_free(&r);
	/* the empty non-terminals went with it */
	REQUIRE(ask(z, "default.svc.corp.example", DNS_T_A, &r, NULL) == DNS_ZONE_ANSWERED);
	CHECK_INT(r.rcode, DNS_R_NXDOMAIN);
	dns_msg_free(&r);
	CHECK_INT(ask(z, "20.0.43.10.in-addr.arpa", DNS_T_PTR, &r, NULL), DNS_ZONE_NOT_OURS);
	dns_msg_free(&r);
	dns_zone_free(z);
}

TEST(ipv6_records)
{
	dns_zone *z = dns_zone_new(NULL, NULL);
	json_t *svc = js("{\"metadata\":{\"name\":\"v6\",\"namespace\":\"default\"},\"spec\":{"
	                 "\"clusterIP\":\"fd00::10\",\"clusterIPs\":[\"fd00::10\"]}}");
	dns_zone_set_service(z, "default/v6", svc, NULL, 0);
	json_decref(svc);
	dns_msg r;
	REQUIRE(ask(z, "v6.default.svc.cluster.local", DNS_T_AAAA, &r, NULL) == DNS_ZONE_ANSWERED);
	CHECK(r.an.n == 1 && r.an.v[0].rdlen == 16);
	dns_msg_free(&r);
	char rev[DNS_NAME_TEXT];
	REQUIRE(dns_reverse_name("fd00::10", rev) == 0);
	CHECK_STR(rev, "0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa");
	REQUIRE(ask(z, rev, DNS_T_PTR, &r, NULL) == DNS_ZONE_ANSWERED);
	CHECK_INT(r.an.n, 1);
	dns_msg_free(&r);
	dns_zone_free(z);
}

/* ---------- cache ---------- */

static dns_msg upstream_answer(const char *name, uint32_t ttl)
{
	dns_msg m = query(name, DNS_T_A);
	m.flags |= DNS_F_QR | DNS_F_RA;
	uint8_t ip[4] = {192, 0, 2, 1};
	dns_rrs_add(&m.an, &m.qname, DNS_T_A, DNS_C_IN, ttl, ip, 4);
	return m;
}

TEST(cache_ttls_and_expiry)
{
	dns_cache *c = dns_cache_new(16);
	dns_msg a = upstream_answer("www.example.com", 60), hit;
	dns_cache_put(c, &a.qname, DNS_T_A, DNS_C_IN, &a, 1000);
	REQUIRE(dns_cache_get(c, &a.qname, DNS_T_A, DNS_C_IN, 11000, &hit));
	CHECK_INT(hit.an.v[0].ttl, 50); /* lowered by 10 s in the cache */
	dns_msg_free(&hit);
	dns_name upper;
	dns_name_from_text("WWW.example.com", &upper);
	CHECK(dns_cache_get(c, &upper, DNS_T_A, DNS_C_IN, 2000, &hit));
	dns_msg_free(&hit);
	CHECK(!dns_cache_get(c, &a.qname, DNS_T_AAAA, DNS_C_IN, 2000, &hit));
	CHECK(!dns_cache_get(c, &a.qname, DNS_T_A, DNS_C_IN, 61000, &hit));
	CHECK_INT(dns_cache_count(c), 0);
	/* SERVFAIL and negative answers without SOA are not cached */
	a.rcode = DNS_R_SERVFAIL;
	dns_cache_put(c, &a.qname, DNS_T_A, DNS_C_IN, &a, 1000);
	a.rcode = DNS_R_NXDOMAIN;
	dns_rrs_free(&a.an);
	dns_cache_put(c, &a.qname, DNS_T_A, DNS_C_IN, &a, 1000);
	CHECK_INT(dns_cache_count(c), 0);
	/* with an SOA: cached for min(SOA TTL, MINIMUM) (RFC 2308) */
	dns_zone *z = dns_zone_new("example.com", NULL);
	dns_msg neg;
	ask(z, "nx.example.com", DNS_T_A, &neg, NULL);
	REQUIRE(neg.rcode == DNS_R_NXDOMAIN && neg.ns.n == 1);
	neg.ns.v[0].ttl = 30; /* MINIMUM is 5 */
	dns_cache_put(c, &neg.qname, DNS_T_A, DNS_C_IN, &neg, 1000);
	REQUIRE(dns_cache_get(c, &neg.qname, DNS_T_A, DNS_C_IN, 5999, &hit));
	CHECK_INT(hit.rcode, DNS_R_NXDOMAIN);
	dns_msg_free(&hit);
	CHECK(!dns_cache_get(c, &neg.qname, DNS_T_A, DNS_C_IN, 6000, &hit));
	dns_msg_free(&neg);
	dns_zone_free(z);
	dns_msg_free(&a);
	dns_cache_free(c);
}

TEST(cache_is_bounded)
{
	dns_cache *c = dns_cache_new(8);
	for (int i = 0; i < 100; i++) {
		char name[64];
		snprintf(name, sizeof name, "h%d.example.com", i);
		dns_msg a = upstream_answer(name, 300);
		dns_cache_put(c, &a.qname, DNS_T_A, DNS_C_IN, &a, 1000 + (uint64_t)i);
		dns_msg_free(&a);
		CHECK(dns_cache_count(c) <= 8);
	}
	dns_cache_free(c);
}

/* ---------- upstream lists ---------- */

TEST(upstream_lists)
{
	struct sockaddr_storage a[4];
	REQUIRE(dns_upstreams_parse("127.0.0.1:5353, 10.0.0.1,[::1]:54,fd00::1", a, 4) == 4);
	CHECK_INT(ntohs(((struct sockaddr_in *)&a[0])->sin_port), 5353);
	CHECK_INT(ntohs(((struct sockaddr_in *)&a[1])->sin_port), 53);
	CHECK_INT(a[2].ss_family, AF_INET6);
	CHECK_INT(ntohs(((struct sockaddr_in6 *)&a[2])->sin6_port), 54);
	CHECK_INT(ntohs(((struct sockaddr_in6 *)&a[3])->sin6_port), 53);
	CHECK(dns_upstreams_parse("nonsense", a, 4) < 0);
	CHECK(dns_upstreams_parse("1.2.3.4:99999", a, 4) < 0);
	CHECK(dns_upstreams_parse("1.1.1.1,2.2.2.2", a, 1) < 0);
	char path[] = "/tmp/timon-test-resolv.XXXXXX";
	int fd = mkstemp(path);
	REQUIRE(fd >= 0);
	const char *conf = "# comment\nsearch example.com\nnameserver 192.0.2.53\n"
	                   "nameserver fe80::1%eth0\noptions ndots:5\nnameserver bogus\n";
	REQUIRE(write(fd, conf, strlen(conf)) == (ssize_t)strlen(conf));
	close(fd);
	CHECK_INT(dns_upstreams_resolv_conf(path, a, 4), 2);
	CHECK_INT(a[0].ss_family, AF_INET);
	CHECK_INT(a[1].ss_family, AF_INET6);
	unlink(path);
	CHECK_INT(dns_upstreams_resolv_conf("/nonexistent/resolv.conf", a, 4), 0);
}

/* ---------- the server on a loop ---------- */

typedef struct fake_upstream {
	uv_udp_t udp;
	int port;
	int queries;
	bool silent; /* never answers */
} fake_upstream;

static void fake_alloc(uv_handle_t *h, size_t n, uv_buf_t *b)
{
	static char mem[65536];
	UNUSED(h);
	UNUSED(n);
	*b = uv_buf_init(mem, sizeof mem);
}

static void fake_sent(uv_udp_send_t *req, int status)
{
	UNUSED(status);
	free(req->data);
	free(req);
}

static void fake_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *b, const struct sockaddr *from,
                      unsigned flags)
{
	fake_upstream *u = h->data;
	UNUSED(flags);
	if (nread <= 0)
		return;
	u->queries++;
	dns_msg q;
	if (u->silent || dns_parse((const uint8_t *)b->base, (size_t)nread, &q) < 0)
		return;
	dns_msg a = q;
	a.an = a.ns = a.ar = (dns_rrs){0};
	a.edns = (dns_edns){0};
	a.flags |= DNS_F_QR | DNS_F_RA;
	uint8_t ip[4] = {192, 0, 2, 7};
	dns_rrs_add(&a.an, &q.qname, DNS_T_A, DNS_C_IN, 60, ip, 4);
	buf out = {0};
	dns_encode(&a, DNS_UDP_MIN, &out);
	uv_udp_send_t *req = xmalloc(sizeof *req);
	req->data = out.p;
	uv_buf_t ub = uv_buf_init(out.p, (unsigned)out.n);
	uv_udp_send(req, h, &ub, 1, from, fake_sent);
	dns_msg_free(&a);
	dns_msg_free(&q);
}

static void fake_start(uv_loop_t *loop, fake_upstream *u)
{
	struct sockaddr_in a;
	uv_ip4_addr("127.0.0.1", 0, &a);
	uv_udp_init(loop, &u->udp);
	u->udp.data = u;
	uv_udp_bind(&u->udp, (const struct sockaddr *)&a, 0);
	int len = sizeof a;
	uv_udp_getsockname(&u->udp, (struct sockaddr *)&a, &len);
	u->port = ntohs(a.sin_port);
	uv_udp_recv_start(&u->udp, fake_alloc, fake_recv);
}

typedef struct client {
	uv_udp_t udp;
	dns_msg answer;
	bool got;
	uint64_t at_ms;
} client;

static void client_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *b, const struct sockaddr *from,
                        unsigned flags)
{
	client *c = h->data;
	UNUSED(from);
	UNUSED(flags);
	if (nread <= 0 || c->got)
		return;
	if (dns_parse((const uint8_t *)b->base, (size_t)nread, &c->answer) == 0) {
		c->got = true;
		c->at_ms = uv_now(h->loop);
		uv_udp_recv_stop(h);
	}
}

static void client_sent(uv_udp_send_t *req, int status)
{
	UNUSED(status);
	free(req->data);
	free(req);
}

/* Sends name/A to 127.0.0.1:port and runs the loop until an answer or 4 s. */
static bool client_ask(uv_loop_t *loop, int port, const char *name, client *c)
{
	*c = (client){0};
	uv_udp_init(loop, &c->udp);
	c->udp.data = c;
	dns_msg q = query(name, DNS_T_A);
	buf out = {0};
	dns_encode(&q, DNS_UDP_MIN, &out);
	struct sockaddr_in to;
	uv_ip4_addr("127.0.0.1", port, &to);
	uv_udp_send_t *req = xmalloc(sizeof *req);
	req->data = out.p;
	uv_buf_t ub = uv_buf_init(out.p, (unsigned)out.n);
	uv_udp_send(req, &c->udp, &ub, 1, (const struct sockaddr *)&to, client_sent);
	uv_udp_recv_start(&c->udp, fake_alloc, client_recv);
	uint64_t start = uv_now(loop);
	while (!c->got && uv_now(loop) - start < 4000)
		uv_run(loop, UV_RUN_ONCE);
	c->at_ms -= start;
	uv_close((uv_handle_t *)&c->udp, NULL);
	uv_run(loop, UV_RUN_NOWAIT);
	return c->got;
}

/* Keeps uv_run(ONCE) from blocking forever while waiting. */
static void tick(uv_timer_t *t)
{
	UNUSED(t);
}

TEST(server_forwards_caches_and_fails_fast)
{
	uv_loop_t loop;
	uv_loop_init(&loop);
	uv_timer_t timer;
	uv_timer_init(&loop, &timer);
	uv_timer_start(&timer, tick, 50, 50);
	fake_upstream up = {0}, mute = {.silent = true};
	fake_start(&loop, &up);
	fake_start(&loop, &mute);
	dns_zone *z = test_zone();
	char ups[64];
	snprintf(ups, sizeof ups, "127.0.0.1:%d", up.port);
	dns_config cfg = {.listen = "127.0.0.1:0", .upstream = ups};
	terr *err = NULL;
	dns_server *s = dns_server_start(&loop, &cfg, z, &err);
	if (!s)
		fprintf(stderr, "  %s\n", err->message);
	REQUIRE(s);
	int port = dns_server_port(s);
	CHECK(port > 0);
	client c;
	/* the zone answers itself */
	REQUIRE(client_ask(&loop, port, "web.default.svc.cluster.local", &c));
	CHECK(has_a(&c.answer, "10.43.0.20"));
	CHECK_INT(up.queries, 0);
	dns_msg_free(&c.answer);
	/* other names are forwarded, then served from the cache */
	REQUIRE(client_ask(&loop, port, "www.example.com", &c));
	CHECK(has_a(&c.answer, "192.0.2.7"));
	CHECK(c.answer.flags & DNS_F_RA);
	CHECK(!(c.answer.flags & DNS_F_AA));
	dns_msg_free(&c.answer);
	REQUIRE(client_ask(&loop, port, "www.example.com", &c));
	CHECK(has_a(&c.answer, "192.0.2.7"));
	CHECK_INT(up.queries, 1);
	dns_msg_free(&c.answer);
	/* an ExternalName is chased upstream: CNAME then the target's address */
	REQUIRE(client_ask(&loop, port, "ext.default.svc.cluster.local", &c));
	CHECK_INT(c.answer.an.n, 2);
	CHECK(has_a(&c.answer, "192.0.2.7"));
	dns_msg_free(&c.answer);
	dns_server_stop(s);
	/* a silent upstream: SERVFAIL after about two seconds */
	snprintf(ups, sizeof ups, "127.0.0.1:%d", mute.port);
	s = dns_server_start(&loop, &cfg, z, &err);
	if (!s)
		fprintf(stderr, "  %s\n", err->message);
	REQUIRE(s);
	REQUIRE(client_ask(&loop, dns_server_port(s), "www.example.org", &c));
	CHECK_INT(c.answer.rcode, DNS_R_SERVFAIL);
	CHECK(c.at_ms >= DNS_FORWARD_DEADLINE_MS - 100 && c.at_ms < DNS_FORWARD_DEADLINE_MS + 800);
	CHECK(mute.queries >= 2); /* asked again while waiting */
	dns_msg_free(&c.answer);
	dns_server_stop(s);
	uv_close((uv_handle_t *)&up.udp, NULL);
	uv_close((uv_handle_t *)&mute.udp, NULL);
	uv_close((uv_handle_t *)&timer, NULL);
	while (uv_run(&loop, UV_RUN_NOWAIT))
		;
	CHECK_INT(uv_loop_close(&loop), 0);
	dns_zone_free(z);
}
