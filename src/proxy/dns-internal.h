/* dns-internal.h — what the cluster DNS files share: the wire format (messages, names,
 * records) and its parser and encoder, the authoritative answer of the cluster zone, the
 * answer cache, and the upstream forwarder. The server (dns_server.c) ties them together.
 * Not for: callers outside src/proxy/dns*.c (they use proxy/dns.h); tests may include it.
 */
#ifndef TIMON_PROXY_DNS_INTERNAL_H
#define TIMON_PROXY_DNS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <sys/socket.h>
#include <uv.h>

#include "base/buf.h"
#include "proxy/dns.h"

/* ---------- wire format (dns_wire.c) ---------- */

#define DNS_HEADER_LEN 12
#define DNS_MAX_NAME   255  /* wire bytes, the root label included */
#define DNS_NAME_TEXT  1024 /* enough for any name in presentation form, escaped */
#define DNS_UDP_MIN    512  /* k8s/RFC 1035: UDP without EDNS carries at most 512 bytes */
#define DNS_EDNS_SIZE  1232 /* the UDP payload size this server advertises and keeps to */
#define DNS_TCP_MAX    65535

enum dns_type {
	DNS_T_A = 1,
	DNS_T_NS = 2,
	DNS_T_MD = 3,
	DNS_T_MF = 4,
	DNS_T_CNAME = 5,
	DNS_T_SOA = 6,
	DNS_T_MB = 7,
	DNS_T_MG = 8,
	DNS_T_MR = 9,
	DNS_T_PTR = 12,
	DNS_T_MINFO = 14,
	DNS_T_MX = 15,
	DNS_T_TXT = 16,
	DNS_T_RP = 17,
	DNS_T_AFSDB = 18,
	DNS_T_RT = 21,
	DNS_T_AAAA = 28,
	DNS_T_SRV = 33,
	DNS_T_KX = 36,
	DNS_T_DNAME = 39,
	DNS_T_OPT = 41,
	DNS_T_IXFR = 251,
	DNS_T_AXFR = 252,
	DNS_T_ANY = 255,
};
enum { DNS_C_IN = 1, DNS_C_ANY = 255 };
enum dns_rcode {
	DNS_R_NOERROR = 0,
	DNS_R_FORMERR = 1,
	DNS_R_SERVFAIL = 2,
	DNS_R_NXDOMAIN = 3,
	DNS_R_NOTIMP = 4,
	DNS_R_REFUSED = 5,
	DNS_R_BADVERS = 16,
};
/* Header flag bits (the rcode lives in dns_msg.rcode, not here). */
#define DNS_F_QR          0x8000
#define DNS_F_AA          0x0400
#define DNS_F_TC          0x0200
#define DNS_F_RD          0x0100
#define DNS_F_RA          0x0080
#define DNS_F_AD          0x0020
#define DNS_F_CD          0x0010
#define DNS_OPCODE(flags) (((flags) >> 11) & 0xf)

/* A name in uncompressed wire form: length-prefixed labels ending with the root (0). */
typedef struct dns_name {
	uint8_t len; /* bytes used in w, 1 for the root */
	uint8_t w[DNS_MAX_NAME];
} dns_name;

/* A resource record. Names inside rdata of the types that may carry compressed names are
 * stored expanded, so rdata never depends on the packet it came from. */
typedef struct dns_rr {
	dns_name name;
	uint16_t type, cls;
	uint32_t ttl;
	uint16_t rdlen;
	uint8_t *rdata; /* owned */
} dns_rr;

typedef struct dns_rrs {
	dns_rr *v;
	size_t n, cap;
} dns_rrs;

/* EDNS(0) as carried by the OPT pseudo-record (RFC 6891). */
typedef struct dns_edns {
	bool present;
	uint16_t udp_size;
	uint8_t version;
	bool do_bit;
	uint16_t optlen;
	uint8_t *opts; /* owned; options passed through opaque */
} dns_edns;

typedef struct dns_msg {
	uint16_t id;
	uint16_t flags; /* QR, opcode, AA, TC, RD, RA, AD, CD as on the wire */
	uint16_t rcode; /* 12 bits: the header's 4 and EDNS's upper 8 */
	bool has_q;
	dns_name qname;
	uint16_t qtype, qclass;
	dns_rrs an, ns, ar; /* the OPT record is in edns, never in ar */
	dns_edns edns;
} dns_msg;

enum { DNS_PARSE_SHORT = -1, DNS_PARSE_FORMERR = -2 };

/* Parses a message of n bytes into m (zeroed first). Returns 0, DNS_PARSE_SHORT when not
 * even the header is there, or DNS_PARSE_FORMERR (then m->id and m->flags are set). On
 * failure m holds nothing to free; on success free it with dns_msg_free. */
int dns_parse(const uint8_t *p, size_t n, dns_msg *m);
/* Frees what m owns and zeroes it. */
void dns_msg_free(dns_msg *m);
/* Deep copy of src into dst (dst need not be initialized). */
void dns_msg_copy(dns_msg *dst, const dns_msg *src);
/* Encodes m into out (reset first), compressing names. When the result would pass limit
 * bytes, whole records are dropped from the end, the authority and additional sections go,
 * and TC is set; the OPT record is kept. */
void dns_encode(const dns_msg *m, size_t limit, buf *out);

/* Appends a record to a section; rdata is copied. */
void dns_rrs_add(dns_rrs *s, const dns_name *name, uint16_t type, uint16_t cls, uint32_t ttl,
                 const void *rdata, uint16_t rdlen);
void dns_rrs_free(dns_rrs *s);

/* Name helpers. from_text parses a dotted name (a trailing dot optional, no escapes);
 * returns -1 when a label is empty or longer than 63 bytes or the name longer than 255. */
int dns_name_from_text(const char *s, dns_name *out);
/* Presentation form: lowercased when lower, no trailing dot ("." for the root), bytes
 * outside [a-zA-Z0-9_-] escaped as \DDD (a dot inside a label as "\."). */
void dns_name_text(const dns_name *n, bool lower, char out[DNS_NAME_TEXT]);
/* Case-insensitive equality of two names. */
bool dns_name_eq(const dns_name *a, const dns_name *b);
/* The number of labels (the root not counted). */
int dns_name_labels(const dns_name *n);

/* ---------- the cluster zone (dns_zone.c, dns_records.c) ---------- */

/* A record of the zone; owner is lowercase presentation text without the trailing dot. */
typedef struct dns_zrec {
	char *owner;
	uint16_t type;
	uint16_t rdlen;
	uint8_t *rdata; /* names uncompressed */
} dns_zrec;

enum dns_zone_result {
	DNS_ZONE_NOT_OURS = 0, /* not in the zone, or a reverse name the zone does not know */
	DNS_ZONE_ANSWERED = 1, /* r holds the answer */
	DNS_ZONE_CHASE = 2,    /* r holds a CNAME chain ending outside the zone: *chase */
};
/* Answers the question of q into r (whose header, question and EDNS the caller set):
 * rcode, AA, and the three sections. */
int dns_zone_answer(dns_zone *z, const dns_msg *q, dns_msg *r, dns_name *chase);
/* Replaces every record that source key contributed by recs[0..n) (taken over; the array
 * itself stays the caller's). */
void dns_zone_replace(dns_zone *z, const char *key, dns_zrec *recs, size_t n);
/* The records of a Service and its EndpointSlices, per the Kubernetes DNS specification,
 * appended to *recs (grown with xrealloc); returns the new count. */
size_t dns_records_for_service(const char *domain, json_t *svc, json_t *const *slices,
                               size_t nslices, dns_zrec **recs, size_t n);
void dns_zrec_free(dns_zrec *r);
/* The reverse-lookup name of an IPv4 or IPv6 address text ("4.3.2.1.in-addr.arpa"), or
 * -1 when ip is no address. */
int dns_reverse_name(const char *ip, char out[DNS_NAME_TEXT]);

/* ---------- answer cache (dns_cache.c) ---------- */

#define DNS_CACHE_MAX_TTL     3600
#define DNS_CACHE_MAX_NEG_TTL 300

typedef struct dns_cache dns_cache;
dns_cache *dns_cache_new(size_t max_entries);
void dns_cache_free(dns_cache *c);
/* Stores the upstream answer r to (qname, qtype, qclass) at time now_ms, for the least TTL
 * of its answer records, or for a negative answer the SOA's negative TTL (RFC 2308); answers
 * that cannot be cached (SERVFAIL, truncated, negative without SOA) are skipped. */
void dns_cache_put(dns_cache *c, const dns_name *qname, uint16_t qtype, uint16_t qclass,
                   const dns_msg *r, uint64_t now_ms);
/* On a fresh hit fills out (a new copy: rcode, flags AA/AD, sections with TTLs lowered by
 * the time spent in the cache) and returns true. */
bool dns_cache_get(dns_cache *c, const dns_name *qname, uint16_t qtype, uint16_t qclass,
                   uint64_t now_ms, dns_msg *out);
size_t dns_cache_count(const dns_cache *c);

/* ---------- forwarding to upstream resolvers (dns_forward.c) ---------- */

#define DNS_MAX_UPSTREAMS       8
#define DNS_FORWARD_DEADLINE_MS 2000

/* Parses "ip[:port],[ipv6]:port,..." (port 53 when left out); returns the count or -1. */
int dns_upstreams_parse(const char *spec, struct sockaddr_storage *out, size_t max);
/* One "ip:port" (port 0 allowed: any free one) to listen on; 0 or -1. */
int dns_listen_addr_parse(const char *s, struct sockaddr_storage *out);
/* The nameserver lines of a resolv.conf file; returns the count (0 when unreadable). */
int dns_upstreams_resolv_conf(const char *path, struct sockaddr_storage *out, size_t max);

typedef struct dns_forwarder dns_forwarder;
/* Called once with the upstream's answer (owned by the forwarder, valid during the call)
 * or NULL when no upstream answered before the deadline or the forwarder was freed. */
typedef void (*dns_forward_cb)(void *ud, const dns_msg *answer);
/* A forwarder to ups[0..n) (copied) that takes over cache (NULL: no cache). */
dns_forwarder *dns_forwarder_new(uv_loop_t *loop, const struct sockaddr_storage *ups, size_t n,
                                 dns_cache *cache);
/* Asks the upstreams (UDP, then TCP when the answer is truncated), answering from and
 * filling the cache; cb may run before this returns (cache hit, no upstreams). */
void dns_forward(dns_forwarder *f, const dns_name *qname, uint16_t qtype, uint16_t qclass,
                 dns_forward_cb cb, void *ud);
/* Queries in flight. */
size_t dns_forward_pending(const dns_forwarder *f);
/* Ends every query in flight (cb with NULL) and frees f once its handles closed. */
void dns_forwarder_free(dns_forwarder *f);

/* dns_service.c: creates kube-system/kube-dns on the cluster DNS IP (if absent) and the
 * EndpointSlice naming listen_ip:port (0.0.0.0 or NULL: the node address). */
struct controller;
void dns_service_publish(struct controller *c, const char *listen_ip, int port);

#endif
