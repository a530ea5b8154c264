/* cni_conf.c — what timon tells the CNI plugins and what it keeps of their answers: the
 * generated network configuration list (bridge + host-local, portmap, loopback), the
 * capability arguments and CNI_ARGS of a pod, the pod IPs in an ADD result, and the
 * per-sandbox result cache under <state>/cni/results.
 * Not for: running plugins (cni_exec.c) or namespaces (cni_netns.c). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/cni-internal.h"
#include "base/buf.h"
#include "base/json.h"
#include "base/util.h"

/* 1.1.0 results are a superset of 1.0.0 ones; 0.4.0 is the oldest with CHECK. */
const char *const cni_versions[] = {"1.1.0", "1.0.0", "0.4.0", NULL};

bool cni_id_valid(const char *id)
{
	if (!id || !isalnum((unsigned char)id[0]))
		return false;
	size_t n = 0;
	for (const char *p = id; *p; p++, n++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '.' && *p != '-')
			return false;
	return n <= 128;
}

int cni_cidr_family(const char *cidr, terr **err)
{
	const char *slash = cidr ? strchr(cidr, '/') : NULL;
	if (!slash || slash == cidr || (size_t)(slash - cidr) >= INET6_ADDRSTRLEN)
		return terr_bad_request(err, "pod CIDR \"%s\": want address/prefix",
		                        cidr ? cidr : "");
	char addr[INET6_ADDRSTRLEN];
	memcpy(addr, cidr, (size_t)(slash - cidr));
	addr[slash - cidr] = '\0';
	unsigned char bytes[16];
	int family = 0, max = 0;
	if (inet_pton(AF_INET, addr, bytes) == 1) {
		family = 4;
		max = 32;
	} else if (inet_pton(AF_INET6, addr, bytes) == 1) {
		family = 6;
		max = 128;
	} else {
		return terr_bad_request(err, "pod CIDR \"%s\": bad address", cidr);
	}
	char *end;
	errno = 0;
	long prefix = strtol(slash + 1, &end, 10);
	if (!isdigit((unsigned char)slash[1]) || *end || errno || prefix > max)
		return terr_bad_request(err, "pod CIDR \"%s\": bad prefix length", cidr);
	/* Room for the network address, the gateway on the bridge, one pod and broadcast. */
	if (prefix > max - 2)
		return terr_bad_request(err, "pod CIDR \"%s\": too small for pods", cidr);
	for (int bit = (int)prefix; bit < max; bit++)
		if (bytes[bit / 8] & (0x80 >> (bit % 8)))
			return terr_bad_request(err, "pod CIDR \"%s\": host bits set", cidr);
	return family;
}

void cni_conf_drop_plugin(json_t *netconf, const char *type)
{
	json_t *plugins = json_object_get(netconf, "plugins");
	for (size_t i = json_array_size(plugins); i-- > 0;)
		if (str_eq(json_string_value(json_object_get(json_array_get(plugins, i), "type")),
		           type))
			json_array_remove(plugins, i);
}

json_t *cni_conf_generate(const cni_config *cfg, const char *const *cidrs, size_t n,
                          const char *version, terr **err)
{
	static const char *const def[] = {CNI_DEFAULT_POD_CIDR};
	if (n == 0) {
		cidrs = def;
		n = 1;
	}
	if (n > 2)
		return terr_bad_request(err, "at most two pod CIDRs (one per family), got %zu", n),
		       NULL;
	json_t *ranges = json_array(), *routes = json_array();
	int seen = 0;
	for (size_t i = 0; i < n; i++) {
		int fam = cni_cidr_family(cidrs[i], err);
		int bit = fam == 4 ? 1 : 2;
		if (fam < 0 || (seen & bit)) {
			if (fam > 0)
				terr_bad_request(err, "two IPv%d pod CIDRs", fam);
			json_decref(ranges);
			json_decref(routes);
			return NULL;
		}
		seen |= bit;
		json_array_append_new(ranges, json_pack("[{ss}]", "subnet", cidrs[i]));
		json_array_append_new(routes,
		                      json_pack("{ss}", "dst", fam == 4 ? "0.0.0.0/0" : "::/0"));
	}
	const char *state =
	    cfg->state_dir && *cfg->state_dir ? cfg->state_dir : CNI_DEFAULT_STATE_DIR;
	_cleanup_free_ char *data_dir = xasprintf("%s/cni/networks", state);
	/* The gateway defaults to the first address of each range; isGateway puts it on the
	 * bridge. ipMasq: pods reach beyond the node through the node's address (unless the
	 * caller does that itself: no_ip_masq). hairpinMode:
	 * a pod reaches itself through a Service address. */
	json_t *bridge =
	    json_pack("{ss ss sb sb sb s{ss so so ss}}", "type", "bridge", "bridge",
	              cfg->bridge && *cfg->bridge ? cfg->bridge : CNI_DEFAULT_BRIDGE, "isGateway",
	              1, "ipMasq", !cfg->no_ip_masq, "hairpinMode", 1, "ipam", "type", "host-local",
	              "ranges", ranges, "routes", routes, "dataDir", data_dir);
	if (cfg->mtu > 0)
		json_object_set_new(bridge, "mtu", json_integer(cfg->mtu));
	/* k8s: hostPort is a DNAT on the node (portmap), snat so the node itself and
	 * hairpinned pods can use it too. */
	json_t *portmap = json_pack("{ss s{sb} sb}", "type", "portmap", "capabilities",
	                            "portMappings", 1, "snat", 1);
	json_t *loopback = json_pack("{ss}", "type", "loopback");
	return json_pack("{ss ss so}", "cniVersion", version ? version : cni_versions[0], "name",
	                 cfg->network && *cfg->network ? cfg->network : CNI_DEFAULT_NETWORK,
	                 "plugins", json_pack("[ooo]", bridge, portmap, loopback));
}

json_t *cni_conf_runtime_args(const cni_pod *pod)
{
	json_t *args = json_object();
	json_t *maps = json_array();
	for (size_t i = 0; pod && i < pod->n_ports; i++) {
		const cni_port *p = &pod->ports[i];
		if (p->host_port <= 0 || p->host_port > 65535 || p->container_port <= 0 ||
		    p->container_port > 65535)
			continue;
		char proto[8] = "tcp";
		if (p->protocol && *p->protocol) {
			size_t k = 0;
			for (; p->protocol[k] && k < sizeof proto - 1; k++)
				proto[k] = (char)tolower((unsigned char)p->protocol[k]);
			proto[k] = '\0';
		}
		json_t *m = json_pack("{si si ss}", "hostPort", p->host_port, "containerPort",
		                      p->container_port, "protocol", proto);
		if (p->host_ip && *p->host_ip)
			json_object_set_new(m, "hostIP", json_string(p->host_ip));
		json_array_append_new(maps, m);
	}
	if (json_array_size(maps) > 0)
		json_object_set_new(args, "portMappings", maps);
	else
		json_decref(maps);
	return args;
}

/* A CNI_ARGS value must not break the "K=V;K=V" framing. */
static void add_arg(buf *b, const char *k, const char *v)
{
	if (!v || !*v || strpbrk(v, ";= \t\n"))
		return;
	buf_printf(b, ";%s=%s", k, v);
}

char *cni_conf_args(const cni_pod *pod)
{
	/* CNI conventions: the K8S_POD_* keys runtimes pass; IgnoreUnknown=1 keeps plugins
	 * that do not know them from failing. */
	buf b = {0};
	buf_puts(&b, "IgnoreUnknown=1");
	add_arg(&b, "K8S_POD_NAMESPACE", pod->namespace);
	add_arg(&b, "K8S_POD_NAME", pod->name);
	add_arg(&b, "K8S_POD_INFRA_CONTAINER_ID", pod->sandbox_id);
	add_arg(&b, "K8S_POD_UID", pod->uid);
	return buf_take(&b);
}

static void push(char ***arr, size_t *n, char *s)
{
	*arr = xrealloc(*arr, (*n + 1) * sizeof **arr);
	(*arr)[(*n)++] = s;
}

int cni_conf_parse_result(const json_t *result, const char *netns, cni_result *out, terr **err)
{
	json_t *ifs = json_object_get(result, "interfaces");
	json_t *ips = json_object_get(result, "ips");
	size_t nifs = json_array_size(ifs);
	/* The pod's own interface: in the sandbox (the plugin echoes CNI_NETNS), not lo. */
	for (size_t i = 0; i < nifs && !out->mac; i++) {
		json_t *itf = json_array_get(ifs, i);
		const char *sb = json_string_value(json_object_get(itf, "sandbox"));
		const char *name = json_string_value(json_object_get(itf, "name"));
		const char *mac = json_string_value(json_object_get(itf, "mac"));
		if (sb && *sb && (!netns || str_eq(sb, netns)) && !str_eq(name, "lo") && mac)
			out->mac = xstrdup(mac);
	}
	/* k8s: podIPs hold at most one address per family, the primary (IPv4 here) first. */
	for (int pass = 4; pass <= 6; pass += 2) {
		size_t i;
		json_t *ip;
		json_array_foreach(ips, i, ip)
		{
			const char *addr = json_string_value(json_object_get(ip, "address"));
			json_t *idx = json_object_get(ip, "interface");
			if (!addr || !*addr)
				continue;
			if (nifs > 0 && json_is_integer(idx)) {
				json_int_t k = json_integer_value(idx);
				if (k < 0 || (size_t)k >= nifs)
					continue;
				const char *sb = json_string_value(
				    json_object_get(json_array_get(ifs, (size_t)k), "sandbox"));
				if (!sb || !*sb)
					continue; /* a host-side address */
			}
			bool v6 = strchr(addr, ':') != NULL;
			if (v6 != (pass == 6))
				continue;
			size_t len = strcspn(addr, "/");
			bool dup = false;
			for (size_t j = 0; j < out->n_ips; j++)
				if ((strchr(out->ips[j], ':') != NULL) == v6)
					dup = true;
			if (dup)
				continue;
			const char *gw = json_string_value(json_object_get(ip, "gateway"));
			push(&out->ips, &out->n_ips, xstrndup(addr, len));
			out->gateways = xrealloc(out->gateways, out->n_ips * sizeof *out->gateways);
			out->gateways[out->n_ips - 1] = xstrdup(gw ? gw : "");
		}
	}
	if (out->n_ips == 0)
		return terr_internal(err, "CNI ADD result has no pod address");
	out->raw = json_dumps(result, JSON_COMPACT);
	if (netns && !out->netns_path)
		out->netns_path = xstrdup(netns);
	return 0;
}

/* --- the result cache --- */

int cni_mkdir_p(const char *path, mode_t mode)
{
	_cleanup_free_ char *p = xstrdup(path);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return -1;
		*s = '/';
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

char *cni_cache_dir(const cni_config *cfg)
{
	return xasprintf("%s/cni/results", cfg->state_dir && *cfg->state_dir
	                                       ? cfg->state_dir
	                                       : CNI_DEFAULT_STATE_DIR);
}

int cni_cache_write(const cni_config *cfg, const char *id, const json_t *entry, terr **err)
{
	_cleanup_free_ char *dir = cni_cache_dir(cfg);
	if (cni_mkdir_p(dir, 0700) < 0)
		return terr_internal(err, "creating %s: %s", dir, strerror(errno));
	_cleanup_free_ char *path = xasprintf("%s/%s.json", dir, id);
	_cleanup_free_ char *tmp = xasprintf("%s/.%s.json.tmp", dir, id);
	_cleanup_free_ char *data = json_dumps(entry, JSON_COMPACT);
	_cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return terr_internal(err, "writing %s: %s", tmp, strerror(errno));
	size_t len = strlen(data), off = 0;
	while (off < len) {
		ssize_t w = write(fd, data + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int e = errno;
			unlink(tmp);
			return terr_internal(err, "writing %s: %s", tmp, strerror(e));
		}
		off += (size_t)w;
	}
	/* The result must survive a crash of the node: DEL needs it to undo the ADD. */
	if (fsync(fd) < 0 || rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return terr_internal(err, "writing %s: %s", path, strerror(e));
	}
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0)
		fsync(dfd);
	return 0;
}

json_t *cni_cache_read(const cni_config *cfg, const char *id, terr **err)
{
	_cleanup_free_ char *dir = cni_cache_dir(cfg);
	_cleanup_free_ char *path = xasprintf("%s/%s.json", dir, id);
	if (access(path, F_OK) < 0 && errno == ENOENT)
		return NULL;
	json_error_t je;
	json_t *j = json_load_file(path, 0, &je);
	if (!j || !json_is_object(j) || !json_is_object(json_object_get(j, "network"))) {
		json_decref(j);
		terr_internal(err, "CNI cache %s: %s", path, j ? "not a cache entry" : je.text);
		return NULL;
	}
	return j;
}

int cni_cache_remove(const cni_config *cfg, const char *id, terr **err)
{
	_cleanup_free_ char *dir = cni_cache_dir(cfg);
	_cleanup_free_ char *path = xasprintf("%s/%s.json", dir, id);
	if (unlink(path) < 0 && errno != ENOENT)
		return terr_internal(err, "removing %s: %s", path, strerror(errno));
	return 0;
}
