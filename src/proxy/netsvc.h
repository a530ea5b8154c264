/* netsvc.h — configuration of the node's network services (the nftables service proxy,
 * cluster DNS, the ingress proxy, LoadBalancer status), from `timon server` flags, with
 * the older environment variables still honoured.
 *
 * The services run as controllers (CONTROLLER_REGISTER) and read their settings when they
 * start, through netsvc_env: a value set by netsvc_configure wins, else the environment.
 * So the server (or the node agent) calls netsvc_configure once, before apiserver_start.
 * Not for: the services themselves (proxy.c, dns_*.c, ingress_*.c).
 */
#ifndef TIMON_PROXY_NETSVC_H
#define TIMON_PROXY_NETSVC_H

#include <stdbool.h>

#define NETSVC_CLUSTER_DNS_DEFAULT  "10.43.0.10"
#define NETSVC_CLUSTER_CIDR_DEFAULT "10.42.0.0/16"
#define NETSVC_SERVICE_CIDR_DEFAULT "10.43.0.0/16"

enum netsvc_switch { NETSVC_UNSET = 0, NETSVC_OFF, NETSVC_ON };

typedef struct netsvc_config {
	/* Which services run (enum netsvc_switch); UNSET leaves the environment's say. */
	int proxy, dns, ingress;
	const char *node_name;                   /* NULL: the host name */
	const char *node_ip;                     /* NULL: detected (netsvc_node_ip) */
	const char *cluster_cidr, *service_cidr; /* NULL: the defaults above */
	const char *cluster_dns;                 /* the kube-dns service IP; NULL: 10.43.0.10 */
	const char *dns_listen;   /* ip:port the DNS server binds; NULL: <node ip>:53 */
	const char *dns_upstream; /* "ip[:port],..."; NULL: the host's resolv.conf */
	int ingress_http_port;    /* 0: 80; -1: none */
	int ingress_https_port;   /* 0: 443; -1: none */
	int ingress_metrics_port; /* 0: 10254; -1: none */
} netsvc_config;

/* Records cfg (strings copied; NULL and 0 fields change nothing) as the TIMON_* settings
 * the services read: proxy → TIMON_PROXY=nftables|off, dns → TIMON_DNS_ADDR (the listen
 * address, "" when off), ingress → TIMON_INGRESS=on|off, and the rest by their names.
 * Call before apiserver_start (the services read them when the controllers start). */
void netsvc_configure(const netsvc_config *cfg);

/* The setting `name` (a TIMON_* variable name): set by netsvc_configure, else the
 * environment, else NULL. Borrowed; lives as long as the process. */
const char *netsvc_env(const char *name);

/* This node's IPv4 address into out[64]: TIMON_NODE_IP, else the source address of the
 * default route (found with a connected UDP socket; nothing is sent), else the first
 * non-loopback IPv4 address, else 127.0.0.1. */
void netsvc_node_ip(char out[64]);
/* This node's name into out[256]: TIMON_NODE_NAME, else the host name. */
void netsvc_node_name(char out[256]);

#endif
