/* server_net.c — `timon server` flags of the node network services: which run, their
 * ports and addresses. The services are on by default when the embedded node agent runs
 * (they serve the node's pods) and off with --disable-agent unless a flag turns them on.
 * Not for: the services (src/proxy/).
 */
#include "cmd/server_net.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	O_NO_PROXY = SERVER_NET_OPT_FIRST,
	O_NO_DNS,
	O_NO_INGRESS,
	O_PROXY,
	O_DNS,
	O_INGRESS,
	O_HTTP,
	O_HTTPS,
	O_METRICS,
	O_CLUSTER_DNS,
	O_DNS_UPSTREAM,
	O_DNS_LISTEN,
	O_CLUSTER_CIDR,
	O_SERVICE_CIDR,
};

const struct option server_net_options[] = {
    {"disable-proxy", no_argument, NULL, O_NO_PROXY},
    {"disable-dns", no_argument, NULL, O_NO_DNS},
    {"disable-ingress", no_argument, NULL, O_NO_INGRESS},
    {"enable-proxy", no_argument, NULL, O_PROXY},
    {"enable-dns", no_argument, NULL, O_DNS},
    {"enable-ingress", no_argument, NULL, O_INGRESS},
    {"ingress-http-port", required_argument, NULL, O_HTTP},
    {"ingress-https-port", required_argument, NULL, O_HTTPS},
    {"ingress-metrics-port", required_argument, NULL, O_METRICS},
    {"cluster-dns", required_argument, NULL, O_CLUSTER_DNS},
    {"dns-upstream", required_argument, NULL, O_DNS_UPSTREAM},
    {"dns-listen", required_argument, NULL, O_DNS_LISTEN},
    {"cluster-cidr", required_argument, NULL, O_CLUSTER_CIDR},
    {"service-cidr", required_argument, NULL, O_SERVICE_CIDR},
    {0},
};

const char server_net_usage[] =
    "\nNode network services (on when the node agent runs; --enable-* turns one on without it;\n"
    "they serve --node-name / --node-ip):\n"
    "  --disable-proxy / --enable-proxy      nftables service proxy (table inet timon[-NODE])\n"
    "  --disable-dns / --enable-dns          cluster DNS (kube-system/kube-dns)\n"
    "  --disable-ingress / --enable-ingress  the ingress proxy (IngressClass timon)\n"
    "  --ingress-http-port P     ingress HTTP port (default 80; 0 disables)\n"
    "  --ingress-https-port P    ingress HTTPS port (default 443; 0 disables)\n"
    "  --ingress-metrics-port P  Prometheus metrics of the ingress at /metrics (default 10254; 0 "
    "disables)\n"
    "  --cluster-dns IP          the kube-dns service IP (default 10.43.0.10)\n"
    "  --dns-upstream LIST       resolvers for other names, ip[:port],... (default: "
    "/etc/resolv.conf)\n"
    "  --dns-listen IP:PORT      where the DNS server binds (default <node ip>:53)\n"
    "  --cluster-cidr CIDR       the pod network (default 10.42.0.0/16)\n"
    "  --service-cidr CIDR       the cluster-IP range (default 10.43.0.0/16)\n";

static int port_arg(const char *flag, const char *arg, int *out)
{
	char *end;
	long p = strtol(arg, &end, 10);
	if (!*arg || *end || p < 0 || p > 65535) {
		fprintf(stderr, "timon server: invalid --%s %s\n", flag, arg);
		return -1;
	}
	*out = p == 0 ? -1 : (int)p; /* 0 on the command line: none */
	return 0;
}

static int ip_arg(const char *flag, const char *arg, const char **out)
{
	struct in_addr a;
	if (inet_pton(AF_INET, arg, &a) != 1) {
		fprintf(stderr, "timon server: --%s %s is not an IPv4 address\n", flag, arg);
		return -1;
	}
	*out = arg;
	return 0;
}

int server_net_flag(int opt, const char *arg, netsvc_config *cfg)
{
	switch (opt) {
	case O_NO_PROXY:
		cfg->proxy = NETSVC_OFF;
		return 0;
	case O_NO_DNS:
		cfg->dns = NETSVC_OFF;
		return 0;
	case O_NO_INGRESS:
		cfg->ingress = NETSVC_OFF;
		return 0;
	case O_PROXY:
		cfg->proxy = NETSVC_ON;
		return 0;
	case O_DNS:
		cfg->dns = NETSVC_ON;
		return 0;
	case O_INGRESS:
		cfg->ingress = NETSVC_ON;
		return 0;
	case O_HTTP:
		return port_arg("ingress-http-port", arg, &cfg->ingress_http_port);
	case O_HTTPS:
		return port_arg("ingress-https-port", arg, &cfg->ingress_https_port);
	case O_METRICS:
		return port_arg("ingress-metrics-port", arg, &cfg->ingress_metrics_port);
	case O_CLUSTER_DNS:
		return ip_arg("cluster-dns", arg, &cfg->cluster_dns);
	case O_DNS_UPSTREAM:
		cfg->dns_upstream = arg;
		return 0;
	case O_DNS_LISTEN:
		cfg->dns_listen = arg;
		return 0;
	case O_CLUSTER_CIDR:
		cfg->cluster_cidr = arg;
		return 0;
	case O_SERVICE_CIDR:
		cfg->service_cidr = arg;
		return 0;
	}
	fprintf(stderr, "timon server: unknown flag\n");
	return -1;
}

void server_net_apply(netsvc_config *cfg, bool agent)
{
	if (agent) {
		if (!cfg->proxy)
			cfg->proxy = NETSVC_ON;
		if (!cfg->dns)
			cfg->dns = NETSVC_ON;
		if (!cfg->ingress)
			cfg->ingress = NETSVC_ON;
	}
	netsvc_configure(cfg);
}
