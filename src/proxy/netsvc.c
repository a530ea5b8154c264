/* netsvc.c — the node network services' settings: flags recorded by netsvc_configure
 * override the TIMON_* environment variables the services have always read, so tests
 * that set the environment keep working. Also finds the node's address and name.
 * Not for: starting anything (the services are controllers and start with them).
 */
#include "proxy/netsvc.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "base/util.h"

#define MAX_SETTINGS 32

static struct {
	char *name, *value;
} settings[MAX_SETTINGS];
static size_t nsettings;

static void set(const char *name, const char *value)
{
	if (!value)
		return;
	for (size_t i = 0; i < nsettings; i++) {
		if (strcmp(settings[i].name, name) == 0) {
			free(settings[i].value);
			settings[i].value = xstrdup(value);
			return;
		}
	}
	if (nsettings == MAX_SETTINGS)
		return;
	settings[nsettings].name = xstrdup(name);
	settings[nsettings++].value = xstrdup(value);
}

static void set_port(const char *name, int port)
{
	if (port == 0)
		return;
	char s[16];
	snprintf(s, sizeof s, "%d", port < 0 ? 0 : port);
	set(name, port < 0 ? "off" : s);
}

void netsvc_configure(const netsvc_config *cfg)
{
	set("TIMON_NODE_NAME", cfg->node_name);
	set("TIMON_NODE_IP", cfg->node_ip);
	set("TIMON_PROXY_CLUSTER_CIDR", cfg->cluster_cidr);
	set("TIMON_PROXY_SERVICE_CIDR", cfg->service_cidr);
	set("TIMON_CLUSTER_DNS", cfg->cluster_dns);
	set("TIMON_DNS_UPSTREAM", cfg->dns_upstream);
	if (cfg->proxy)
		set("TIMON_PROXY", cfg->proxy == NETSVC_ON ? "nftables" : "off");
	if (cfg->ingress)
		set("TIMON_INGRESS", cfg->ingress == NETSVC_ON ? "on" : "off");
	set_port("TIMON_INGRESS_HTTP_PORT", cfg->ingress_http_port);
	set_port("TIMON_INGRESS_HTTPS_PORT", cfg->ingress_https_port);
	set_port("TIMON_INGRESS_METRICS_PORT", cfg->ingress_metrics_port);
	if (cfg->dns == NETSVC_OFF)
		set("TIMON_DNS_ADDR", "");
	if (cfg->dns != NETSVC_ON)
		return;
	if (cfg->dns_listen) {
		set("TIMON_DNS_ADDR", cfg->dns_listen);
		return;
	}
	char ip[64];
	netsvc_node_ip(ip);
	_cleanup_free_ char *addr = xasprintf("%s:53", ip);
	set("TIMON_DNS_ADDR", addr);
}

const char *netsvc_env(const char *name)
{
	for (size_t i = 0; i < nsettings; i++)
		if (strcmp(settings[i].name, name) == 0)
			return settings[i].value;
	return getenv(name);
}

void netsvc_node_ip(char out[64])
{
	const char *set_ip = netsvc_env("TIMON_NODE_IP");
	struct in_addr a;
	if (set_ip && inet_pton(AF_INET, set_ip, &a) == 1) {
		snprintf(out, 64, "%s", set_ip);
		return;
	}
	/* The address the kernel would use for the default route: a connect() on a UDP
	 * socket only chooses the route, no packet leaves. */
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons(53)};
		inet_pton(AF_INET, "192.0.2.1", &dst.sin_addr); /* TEST-NET-1, never contacted */
		struct sockaddr_in src;
		socklen_t len = sizeof src;
		if (connect(fd, (struct sockaddr *)&dst, sizeof dst) == 0 &&
		    getsockname(fd, (struct sockaddr *)&src, &len) == 0 &&
		    src.sin_addr.s_addr != htonl(INADDR_ANY)) {
			inet_ntop(AF_INET, &src.sin_addr, out, 64);
			close(fd);
			return;
		}
		close(fd);
	}
	snprintf(out, 64, "127.0.0.1");
	uv_interface_address_t *ifs;
	int n;
	if (uv_interface_addresses(&ifs, &n) != 0)
		return;
	for (int i = 0; i < n; i++) {
		if (ifs[i].is_internal || ifs[i].address.address4.sin_family != AF_INET)
			continue;
		inet_ntop(AF_INET, &ifs[i].address.address4.sin_addr, out, 64);
		break;
	}
	uv_free_interface_addresses(ifs, n);
}

void netsvc_node_name(char out[256])
{
	const char *node = netsvc_env("TIMON_NODE_NAME");
	if (node && *node)
		snprintf(out, 256, "%s", node);
	else if (gethostname(out, 255) != 0)
		snprintf(out, 256, "timon");
	out[255] = '\0';
}
