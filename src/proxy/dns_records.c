/* dns_records.c — which DNS records a Service and its EndpointSlices yield, per the
 * Kubernetes DNS specification (github.com/kubernetes/dns docs/specification.md):
 * ClusterIP services get A/AAAA, PTR and SRV for named ports; headless services get the
 * addresses of their ready endpoints, a name per endpoint hostname, SRV per endpoint and
 * named port, and PTR per endpoint; ExternalName services a CNAME.
 * Pure functions of the objects: no index, no sockets.
 * Not for: answering questions (dns_zone.c).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hmap.h"
#include "base/json.h"
#include "base/util.h"
#include "proxy/dns-internal.h"

#define TOLERATE_UNREADY "service.alpha.kubernetes.io/tolerate-unready-endpoints"

typedef struct recs {
	dns_zrec *v;
	size_t n;
} recs;

static void add(recs *r, const char *owner, uint16_t type, const void *rd, size_t len)
{
	r->v = xrealloc(r->v, (r->n + 1) * sizeof *r->v);
	dns_zrec *z = &r->v[r->n++];
	z->owner = xstrdup(owner);
	z->type = type;
	z->rdlen = (uint16_t)len;
	z->rdata = xmalloc(len ? len : 1);
	memcpy(z->rdata, rd, len);
}

static void lower_in_place(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s + 32);
}

/* An address record (A or AAAA) for owner; false when ip is no address. */
static bool add_addr(recs *r, const char *owner, const char *ip)
{
	uint8_t a[16];
	if (inet_pton(AF_INET, ip, a) == 1)
		add(r, owner, DNS_T_A, a, 4);
	else if (inet_pton(AF_INET6, ip, a) == 1)
		add(r, owner, DNS_T_AAAA, a, 16);
	else
		return false;
	return true;
}

static void add_name_rr(recs *r, const char *owner, uint16_t type, const char *target)
{
	dns_name nm;
	if (dns_name_from_text(target, &nm) == 0)
		add(r, owner, type, nm.w, nm.len);
}

static void add_ptr(recs *r, const char *ip, const char *target)
{
	char rev[DNS_NAME_TEXT];
	if (dns_reverse_name(ip, rev) == 0)
		add_name_rr(r, rev, DNS_T_PTR, target);
}

static void add_srv(recs *r, const char *port_name, const char *proto, int port, const char *base,
                    const char *target)
{
	if (!port_name || !*port_name || port <= 0 || port > 65535)
		return; /* k8s: unnamed ports have no SRV record */
	char owner[DNS_NAME_TEXT + 160], pr[16];
	snprintf(pr, sizeof pr, "%s", proto && *proto ? proto : "TCP");
	lower_in_place(pr);
	snprintf(owner, sizeof owner, "_%s._%s.%s", port_name, pr, base);
	lower_in_place(owner);
	dns_name t;
	if (dns_name_from_text(target, &t) < 0)
		return;
	uint8_t rd[6 + DNS_MAX_NAME];
	/* priority 0; the weight is set once all targets are known */
	rd[0] = rd[1] = rd[2] = rd[3] = 0;
	rd[4] = (uint8_t)(port >> 8);
	rd[5] = (uint8_t)port;
	memcpy(rd + 6, t.w, t.len);
	add(r, owner, DNS_T_SRV, rd, 6 + (size_t)t.len);
}

int dns_reverse_name(const char *ip, char out[DNS_NAME_TEXT])
{
	uint8_t a[16];
	if (inet_pton(AF_INET, ip, a) == 1) {
		snprintf(out, DNS_NAME_TEXT, "%u.%u.%u.%u.in-addr.arpa", a[3], a[2], a[1], a[0]);
		return 0;
	}
	if (inet_pton(AF_INET6, ip, a) == 1) {
		size_t o = 0;
		for (int i = 15; i >= 0; i--)
			o += (size_t)snprintf(out + o, DNS_NAME_TEXT - o, "%x.%x.", a[i] & 0xf,
			                      a[i] >> 4);
		snprintf(out + o, DNS_NAME_TEXT - o, "ip6.arpa");
		return 0;
	}
	return -1;
}

/* k8s: an endpoint without a hostname gets "a unique, system-assigned identifier": the
 * address with dashes (10-1-2-3; for IPv6 the eight groups, fd00-0-...-1). */
static bool dashed(const char *ip, char out[64])
{
	uint8_t a[16];
	if (inet_pton(AF_INET, ip, a) == 1) {
		snprintf(out, 64, "%u-%u-%u-%u", a[0], a[1], a[2], a[3]);
		return true;
	}
	if (inet_pton(AF_INET6, ip, a) == 1) {
		size_t o = 0;
		for (int i = 0; i < 16; i += 2)
			o += (size_t)snprintf(out + o, 64 - o, "%s%x", i ? "-" : "",
			                      (unsigned)(a[i] << 8 | a[i + 1]));
		return true;
	}
	return false;
}

static bool valid_label(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 63)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return false;
	}
	return true;
}

static void cluster_ip_records(recs *r, json_t *svc, const char *base)
{
	json_t *ips = json_path(svc, "spec.clusterIPs");
	size_t i;
	json_t *v;
	if (json_array_size(ips) == 0) {
		const char *ip = json_path_str(svc, "spec.clusterIP");
		/* k8s: <service>.<ns>.svc.<zone> A <cluster-ip>; the PTR points back. */
		if (ip && add_addr(r, base, ip))
			add_ptr(r, ip, base);
	}
	json_array_foreach(ips, i, v)
	{
		const char *ip = json_string_value(v);
		if (ip && add_addr(r, base, ip))
			add_ptr(r, ip, base);
	}
	/* k8s: _<port>._<proto>.<service>.<ns>.svc.<zone> SRV for each named port, aimed at
	 * the service name. */
	json_array_foreach(json_path(svc, "spec.ports"), i, v)
	{
		add_srv(r, json_string_value(json_object_get(v, "name")),
		        json_string_value(json_object_get(v, "protocol")),
		        (int)json_integer_value(json_object_get(v, "port")), base, base);
	}
}

static void endpoint_records(recs *r, json_t *slice, json_t *ep, const char *base, bool all_ready)
{
	/* k8s: an endpoint is ready unless conditions.ready is false (unknown counts as
	 * ready), or when the service publishes unready addresses. */
	if (!all_ready && json_is_false(json_path(ep, "conditions.ready")))
		return;
	const char *hn = json_string_value(json_object_get(ep, "hostname"));
	size_t i;
	json_t *a;
	json_array_foreach(json_object_get(ep, "addresses"), i, a)
	{
		const char *ip = json_string_value(a);
		char label[64], host[DNS_NAME_TEXT + 64];
		if (!ip || !add_addr(r, base, ip)) /* <service>.<ns>.svc.<zone> A <endpoint-ip> */
			continue;
		if (hn && valid_label(hn))
			snprintf(label, sizeof label, "%s", hn);
		else if (!dashed(ip, label))
			continue;
		snprintf(host, sizeof host, "%s.%s", label, base);
		lower_in_place(host);
		add_addr(r, host, ip); /* <hostname>.<service>.<ns>.svc.<zone> A <endpoint-ip> */
		add_ptr(r, ip, host);  /* PTR <hostname>.<service>.<ns>.svc.<zone> */
		size_t j;
		json_t *p;
		/* SRV per ready endpoint and named port, aimed at the endpoint's name. */
		json_array_foreach(json_object_get(slice, "ports"), j, p)
		{
			add_srv(r, json_string_value(json_object_get(p, "name")),
			        json_string_value(json_object_get(p, "protocol")),
			        (int)json_integer_value(json_object_get(p, "port")), base, host);
		}
	}
}

/* Spreads SRV weights evenly among the targets of one owner (RFC 2782 leaves the values to
 * us; each gets 100/N, at least 1). */
static void srv_weights(recs *r, size_t from)
{
	hmap counts = {0};
	for (size_t i = from; i < r->n; i++)
		if (r->v[i].type == DNS_T_SRV)
			hmap_put(&counts, r->v[i].owner,
			         (void *)((uintptr_t)hmap_get(&counts, r->v[i].owner) + 1));
	for (size_t i = from; i < r->n; i++) {
		if (r->v[i].type != DNS_T_SRV)
			continue;
		uintptr_t count = (uintptr_t)hmap_get(&counts, r->v[i].owner);
		unsigned w = count > 100 ? 1 : (unsigned)(100 / (count ? count : 1));
		r->v[i].rdata[2] = (uint8_t)(w >> 8);
		r->v[i].rdata[3] = (uint8_t)w;
	}
	hmap_free(&counts);
}

size_t dns_records_for_service(const char *domain, json_t *svc, json_t *const *slices,
                               size_t nslices, dns_zrec **out, size_t n)
{
	recs r = {*out, n};
	const char *ns = json_path_str(svc, "metadata.namespace");
	const char *name = json_path_str(svc, "metadata.name");
	if (!ns || !name || !valid_label(ns) || !valid_label(name))
		return n;
	char base[DNS_NAME_TEXT];
	snprintf(base, sizeof base, "%s.%s.svc.%s", name, ns, domain);
	lower_in_place(base);
	const char *type = json_path_str(svc, "spec.type");
	const char *cip = json_path_str(svc, "spec.clusterIP");
	if (str_eq(type, "ExternalName")) {
		/* k8s: <service>.<ns>.svc.<zone> CNAME <extname> */
		const char *ext = json_path_str(svc, "spec.externalName");
		if (ext && *ext)
			add_name_rr(&r, base, DNS_T_CNAME, ext);
	} else if (cip && *cip && strcmp(cip, "None") != 0) {
		cluster_ip_records(&r, svc, base);
	} else {
		json_t *ann = json_path(svc, "metadata.annotations");
		bool all_ready =
		    json_is_true(json_path(svc, "spec.publishNotReadyAddresses")) ||
		    str_eq(json_string_value(json_object_get(ann, TOLERATE_UNREADY)), "true");
		for (size_t s = 0; s < nslices; s++) {
			const char *at =
			    json_string_value(json_object_get(slices[s], "addressType"));
			if (at && strcmp(at, "IPv4") != 0 && strcmp(at, "IPv6") != 0)
				continue; /* FQDN slices name no addresses */
			size_t i;
			json_t *ep;
			json_array_foreach(json_object_get(slices[s], "endpoints"), i, ep)
			    endpoint_records(&r, slices[s], ep, base, all_ready);
		}
	}
	srv_weights(&r, n);
	*out = r.v;
	return r.n;
}
