/* dns.h — the cluster DNS server (the job CoreDNS does in Kubernetes): authoritative for the
 * cluster domain (Services, headless endpoints, ExternalName, reverse names, per the
 * Kubernetes DNS specification) and forwarding every other name to upstream resolvers with
 * a small cache. UDP and TCP on the caller's libuv loop; nothing blocks. See docs/dns.md.
 *
 * The zone is an index of records fed from Services and EndpointSlices by the "dns"
 * component (dns_controller.c); the server reads it on every query.
 */
#ifndef TIMON_PROXY_DNS_H
#define TIMON_PROXY_DNS_H

#include <jansson.h>
#include <stddef.h>
#include <uv.h>

#include "base/error.h"

/* k8s: the TTL of every cluster record (CoreDNS's default), and the negative TTL. */
#define DNS_TTL            5
#define DNS_DEFAULT_DOMAIN "cluster.local"

typedef struct dns_zone dns_zone;

/* An empty zone for domain ("cluster.local"); ns_ip (or NULL) is the address given to the
 * zone's name server ns.dns.<domain>. */
dns_zone *dns_zone_new(const char *domain, const char *ns_ip);
void dns_zone_free(dns_zone *z);
/* The cluster domain, lowercase, without a trailing dot (borrowed). */
const char *dns_zone_domain(const dns_zone *z);
/* Sets the records of the Service key ("ns/name") from svc and its EndpointSlices (all
 * borrowed); svc NULL removes them. */
void dns_zone_set_service(dns_zone *z, const char *key, json_t *svc, json_t *const *slices,
                          size_t nslices);
/* Number of records in the zone (for tests and logs). */
size_t dns_zone_count(const dns_zone *z);

typedef struct dns_config {
	const char *listen;      /* "ip:port"; port 0 picks a free one */
	const char *upstream;    /* "ip[:port],..." ; NULL: the nameservers of resolv_conf;
	                            "none": no forwarding (other names answer SERVFAIL) */
	const char *resolv_conf; /* NULL: /etc/resolv.conf */
} dns_config;

typedef struct dns_server dns_server;

/* Listens on UDP and TCP at cfg->listen and answers from zone (borrowed; it must outlive
 * the server). Returns NULL with err set when the address is bad or taken. */
dns_server *dns_server_start(uv_loop_t *loop, const dns_config *cfg, dns_zone *zone, terr **err);
/* The port actually bound. */
int dns_server_port(const dns_server *s);
/* Closes the sockets and drops queries in flight; the memory goes once libuv closed the
 * handles (the loop must run on). */
void dns_server_stop(dns_server *s);

#endif
