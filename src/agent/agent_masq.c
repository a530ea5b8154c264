/* agent_masq.c — pods reach beyond the pod network as the node: one nftables table per
 * node, `timon-pods` (or `<the proxy's table name>-pods` on a node named otherwise than the
 * host), with one rule masquerading traffic from the cluster CIDR to anywhere outside it.
 *
 * This is the bridge plugin's ipMasq done once per node instead of once per pod: with
 * ipMasq the plugin runs iptables several times on every ADD and DEL (about 80 ms of CPU
 * a pod, measured), and the agent's CNI configuration turns it off (cni_config.no_ip_masq).
 * Destinations inside the cluster CIDR keep the pod's address (Kubernetes' network model:
 * pods reach pods without NAT), multicast too, as the plugin did. Service traffic is
 * DNATed before this hook, so a pod reaching a service lands on a pod address and is left
 * alone. The table stays when the agent stops: its containers keep running, and keep
 * reaching out; the next start replaces it.
 * Not for: service rules (proxy/), hostPorts (the portmap plugin).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/agent-internal.h"
#include "base/log.h"
#include "base/util.h"
#include "proxy/netsvc.h"
#include "proxy/proxy.h"

/* "a.b.c.d/n" with a valid IPv4 address and prefix, re-rendered into out (no text from
 * flags reaches nft unchecked). */
static bool clean_cidr(const char *in, char out[32])
{
	uint32_t net;
	int bits;
	if (!ipv4_cidr_parse(in, &net, &bits))
		return false;
	char addr[INET_ADDRSTRLEN];
	struct in_addr a = {.s_addr = htonl(net)};
	inet_ntop(AF_INET, &a, addr, sizeof addr);
	snprintf(out, 32, "%s/%d", addr, bits);
	return true;
}

char *agent_masq_text(const char *node, const char *hostname, const char *cluster_cidr)
{
	char cidr[32];
	if (!clean_cidr(cluster_cidr, cidr))
		return NULL;
	char proxy_table[PROXY_TABLE_MAX];
	proxy_table_name(node, hostname, proxy_table);
	_cleanup_free_ char *t = xasprintf("inet %s-pods", proxy_table);
	return xasprintf("add table %s\n"
	                 "delete table %s\n"
	                 "add table %s { comment \"timon: pods reach out as the node\"; }\n"
	                 "add chain %s postrouting { type nat hook postrouting priority srcnat; "
	                 "policy accept; }\n"
	                 "add rule %s postrouting ip saddr %s ip daddr != %s "
	                 "ip daddr != 224.0.0.0/4 masquerade\n",
	                 t, t, t, t, t, cidr, cidr);
}

int agent_masq_apply(const char *node, const char *cluster_cidr, terr **err)
{
	char host[256] = "";
	if (gethostname(host, sizeof host - 1) != 0)
		host[0] = '\0';
	_cleanup_free_ char *text = agent_masq_text(node, host, cluster_cidr);
	if (!text)
		return terr_bad_request(err, "pod egress: invalid cluster CIDR \"%s\"",
		                        cluster_cidr ? cluster_cidr : "");
	nft_applier *a = nft_applier_new(err);
	if (!a)
		return -1;
	int rc = nft_apply(a, text, err);
	nft_applier_free(a);
	return rc;
}
