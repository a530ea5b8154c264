/* nft_model.c — a Service and its EndpointSlices (JSON from the watch cache) become a
 * proxy_service: cluster, external and load-balancer addresses, ports, node ports, traffic
 * policies, affinity, and per port the endpoints with their conditions and locality.
 * Everything that later reaches nft text is checked here: addresses are parsed and
 * re-rendered, ports are ranged, protocols come from a fixed table.
 * Not for: choosing rules (nft_rules.c) or reading the cache (proxy.c).
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/util.h"
#include "proxy/proxy.h"

/* The IPv4 address s, re-rendered into out[16]; false when s is not one. */
static bool ipv4(const char *s, char out[16])
{
	struct in_addr a;
	if (!s || inet_pton(AF_INET, s, &a) != 1)
		return false;
	return inet_ntop(AF_INET, &a, out, 16) != NULL;
}

static const char *proto_of(json_t *port)
{
	const char *p = json_string_value(json_object_get(port, "protocol"));
	/* k8s: protocol defaults to TCP. */
	if (!p || str_eq(p, "TCP"))
		return "tcp";
	if (str_eq(p, "UDP"))
		return "udp";
	if (str_eq(p, "SCTP"))
		return "sctp";
	return NULL;
}

static int port_num(json_t *v)
{
	json_int_t n = json_integer_value(v);
	return n >= 1 && n <= 65535 ? (int)n : 0;
}

/* A condition of an endpoint: absent (null) reads as dflt. */
static bool cond(json_t *conds, const char *name, bool dflt)
{
	json_t *v = json_object_get(conds, name);
	return json_is_boolean(v) ? json_is_true(v) : dflt;
}

static int ep_cmp(const void *a, const void *b)
{
	const proxy_endpoint *x = a, *y = b;
	struct in_addr ax, ay;
	inet_pton(AF_INET, x->ip, &ax);
	inet_pton(AF_INET, y->ip, &ay);
	uint32_t hx = ntohl(ax.s_addr), hy = ntohl(ay.s_addr);
	if (hx != hy)
		return hx < hy ? -1 : 1;
	return x->port - y->port;
}

static void add_endpoint(proxy_port *p, const proxy_endpoint *ep)
{
	/* k8s: the same address and port in two slices (during a move) counts once; a ready
	 * copy wins. */
	for (size_t i = 0; i < p->neps; i++) {
		if (strcmp(p->eps[i].ip, ep->ip) == 0 && p->eps[i].port == ep->port) {
			if (ep->ready && !p->eps[i].ready)
				p->eps[i] = *ep;
			return;
		}
	}
	p->eps = xrealloc(p->eps, (p->neps + 1) * sizeof *p->eps);
	p->eps[p->neps++] = *ep;
}

/* The endpoints of one slice that carry service port p (matched by name and protocol:
 * k8s: a named targetPort resolves per slice, through the slice's port of the same name). */
static void slice_endpoints(proxy_port *p, json_t *slice, const proxy_config *cfg)
{
	if (!str_eq(json_string_value(json_object_get(slice, "addressType")), "IPv4"))
		return;
	int target = 0;
	size_t i;
	json_t *sp;
	json_array_foreach(json_object_get(slice, "ports"), i, sp)
	{
		const char *name = json_string_value(json_object_get(sp, "name"));
		const char *proto = proto_of(sp);
		if (str_eq(name ? name : "", p->name) && proto && strcmp(proto, p->proto) == 0) {
			target = port_num(json_object_get(sp, "port"));
			break;
		}
	}
	if (!target)
		return;
	json_t *ep;
	json_array_foreach(json_object_get(slice, "endpoints"), i, ep)
	{
		proxy_endpoint e = {.port = target};
		/* k8s: kube-proxy uses an endpoint's first address. */
		if (!ipv4(json_string_value(json_array_get(json_object_get(ep, "addresses"), 0)),
		          e.ip))
			continue;
		json_t *conds = json_object_get(ep, "conditions");
		/* k8s: EndpointConditions: unknown ready reads as ready, unknown serving as
		 * ready, unknown terminating as not terminating. */
		e.ready = cond(conds, "ready", true);
		e.serving = cond(conds, "serving", e.ready);
		e.terminating = cond(conds, "terminating", false);
		const char *node = json_string_value(json_object_get(ep, "nodeName"));
		e.local = cfg->node_name && str_eq(node, cfg->node_name);
		add_endpoint(p, &e);
	}
}

static void add_external(proxy_service *s, const char *ip)
{
	char addr[16];
	if (!ipv4(ip, addr))
		return;
	for (size_t i = 0; i < s->nexternal; i++)
		if (strcmp(s->external_ips[i], addr) == 0)
			return;
	s->external_ips = xrealloc(s->external_ips, (s->nexternal + 1) * sizeof *s->external_ips);
	memcpy(s->external_ips[s->nexternal++], addr, 16);
}

proxy_service *proxy_service_parse(json_t *svc, json_t *const *slices, size_t nslices,
                                   const proxy_config *cfg)
{
	json_t *spec = json_object_get(svc, "spec");
	const char *type = json_string_value(json_object_get(spec, "type"));
	if (!type)
		type = "ClusterIP";
	/* k8s: ExternalName services are DNS only; kube-proxy ignores them. */
	if (str_eq(type, "ExternalName"))
		return NULL;
	proxy_service *s = xcalloc(1, sizeof *s);
	s->ns = xstrdup(json_path_str(svc, "metadata.namespace"));
	s->name = xstrdup(json_path_str(svc, "metadata.name"));
	if (!s->ns || !s->name) {
		proxy_service_free(s);
		return NULL;
	}
	/* k8s: a headless service (clusterIP None) gets no proxy rules. */
	if (!ipv4(json_string_value(json_object_get(spec, "clusterIP")), s->cluster_ip))
		s->cluster_ip[0] = '\0';
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(spec, "externalIPs"), i, v)
	    add_external(s, json_string_value(v));
	bool lb = str_eq(type, "LoadBalancer");
	if (lb) {
		json_array_foreach(json_path(svc, "status.loadBalancer.ingress"), i, v)
		    add_external(s, json_string_value(json_object_get(v, "ip")));
	}
	bool node_ports = lb || str_eq(type, "NodePort");
	if (str_eq(json_string_value(json_object_get(spec, "sessionAffinity")), "ClientIP")) {
		json_int_t t = json_integer_value(
		    json_path(spec, "sessionAffinityConfig.clientIP.timeoutSeconds"));
		s->affinity_timeout = t >= 1 && t <= 86400 ? (int)t : PROXY_AFFINITY_DEFAULT_S;
	}
	s->itp_local =
	    str_eq(json_string_value(json_object_get(spec, "internalTrafficPolicy")), "Local");
	bool external = node_ports || s->nexternal;
	/* k8s: externalTrafficPolicy only matters for externally reachable services. */
	s->etp_local =
	    external &&
	    str_eq(json_string_value(json_object_get(spec, "externalTrafficPolicy")), "Local");
	json_t *sp;
	json_array_foreach(json_object_get(spec, "ports"), i, sp)
	{
		const char *proto = proto_of(sp);
		int port = port_num(json_object_get(sp, "port"));
		if (!proto || !port)
			continue;
		const char *name = json_string_value(json_object_get(sp, "name"));
		s->ports = xrealloc(s->ports, (s->nports + 1) * sizeof *s->ports);
		proxy_port *p = &s->ports[s->nports++];
		*p = (proxy_port){.name = xstrdup(name ? name : ""),
		                  .proto = proto,
		                  .port = port,
		                  .node_port =
		                      node_ports ? port_num(json_object_get(sp, "nodePort")) : 0};
		for (size_t k = 0; k < nslices; k++)
			slice_endpoints(p, slices[k], cfg);
		if (p->neps > 1)
			qsort(p->eps, p->neps, sizeof *p->eps, ep_cmp);
	}
	if (!s->nports || (!s->cluster_ip[0] && !s->nexternal && !node_ports)) {
		proxy_service_free(s);
		return NULL;
	}
	return s;
}

void proxy_service_free(proxy_service *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nports; i++) {
		free(s->ports[i].name);
		free(s->ports[i].eps);
	}
	free(s->ports);
	free(s->external_ips);
	free(s->ns);
	free(s->name);
	free(s);
}

size_t proxy_usable_endpoints(const proxy_port *p, bool local_only, const proxy_endpoint **out)
{
	size_t n = 0;
	for (size_t i = 0; i < p->neps; i++)
		if (p->eps[i].ready && (!local_only || p->eps[i].local))
			out[n++] = &p->eps[i];
	if (n)
		return n;
	/* k8s: ProxyTerminatingEndpoints: with no ready endpoint, serving terminating ones
	 * take traffic so that rolling updates of single-replica services do not drop it. */
	for (size_t i = 0; i < p->neps; i++)
		if (p->eps[i].serving && p->eps[i].terminating && (!local_only || p->eps[i].local))
			out[n++] = &p->eps[i];
	return n;
}
