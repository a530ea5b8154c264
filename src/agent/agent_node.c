/* agent_node.c — this machine as a Node: what it has (capacity, nodeInfo, addresses),
 * registration with labels, taints and a podCIDR, status heartbeats and the node Lease.
 * Loop thread; every read here is of small /proc and /etc files at start. */
#include <arpa/inet.h>
#include <ctype.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "agent/agent-internal.h"
#include "apiserver/client.h"
#include "base/json.h"
#include "base/log.h"
#include "base/util.h"
#include "controllers/events.h"

static void read_line(const char *path, char *out, size_t n)
{
	out[0] = 0;
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	if (fgets(out, (int)n, f))
		out[strcspn(out, "\n")] = 0;
	fclose(f);
}

int64_t agent_meminfo_kib(const char *field)
{
	FILE *f = fopen("/proc/meminfo", "r");
	if (!f)
		return -1;
	char line[256];
	int64_t v = -1;
	size_t fl = strlen(field);
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, field, fl) && line[fl] == ':') {
			v = strtoll(line + fl + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

static void os_image(char *out, size_t n)
{
	snprintf(out, n, "Linux");
	FILE *f = fopen("/etc/os-release", "r");
	if (!f)
		return;
	char line[256];
	while (fgets(line, sizeof line, f)) {
		if (strncmp(line, "PRETTY_NAME=", 12))
			continue;
		char *v = line + 12;
		v[strcspn(v, "\n")] = 0;
		if (*v == '"') {
			v++;
			char *q = strchr(v, '"');
			if (q)
				*q = 0;
		}
		snprintf(out, n, "%.*s", (int)n - 1, v);
	}
	fclose(f);
}

bool agent_default_ip(char out[64])
{
	char iface[IF_NAMESIZE + 1] = "";
	FILE *f = fopen("/proc/net/route", "r");
	if (f) {
		char line[256], name[64];
		unsigned long dest, gw, flags;
		while (fgets(line, sizeof line, f))
			if (sscanf(line, "%63s %lx %lx %lx", name, &dest, &gw, &flags) == 4 &&
			    dest == 0 && (flags & 1)) {
				snprintf(iface, sizeof iface, "%.*s", (int)(sizeof iface - 1), name);
				break;
			}
		fclose(f);
	}
	struct ifaddrs *ifs, *i;
	if (getifaddrs(&ifs) < 0)
		return false;
	bool found = false;
	/* The default route's interface; else the first non-loopback IPv4 address. */
	for (int pass = 0; pass < 2 && !found; pass++)
		for (i = ifs; i && !found; i = i->ifa_next) {
			if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET ||
			    (i->ifa_flags & IFF_LOOPBACK))
				continue;
			if (pass == 0 && (!*iface || strcmp(i->ifa_name, iface)))
				continue;
			struct sockaddr_in *sin = (struct sockaddr_in *)i->ifa_addr;
			found = inet_ntop(AF_INET, &sin->sin_addr, out, 64) != NULL;
		}
	freeifaddrs(ifs);
	return found;
}

static const char *go_arch(const char *machine)
{
	if (!strcmp(machine, "x86_64"))
		return "amd64";
	if (!strcmp(machine, "aarch64"))
		return "arm64";
	return machine;
}

json_t *agent_node_facts(agent *a)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int64_t mem = agent_meminfo_kib("MemTotal");
	if (mem < 0)
		mem = 0;
	struct statvfs vfs;
	int64_t disk = statvfs(a->pods_dir, &vfs) == 0 ? (int64_t)vfs.f_blocks * (int64_t)vfs.f_frsize
	                                               : 0;
	char v[64];
	json_t *cap = json_object();
	snprintf(v, sizeof v, "%ld", cpus > 0 ? cpus : 1);
	json_object_set_new(cap, "cpu", json_string(v));
	snprintf(v, sizeof v, "%lldKi", (long long)mem);
	json_object_set_new(cap, "memory", json_string(v));
	snprintf(v, sizeof v, "%lldKi", (long long)(disk / 1024));
	json_object_set_new(cap, "ephemeral-storage", json_string(v));
	json_object_set_new(cap, "pods", json_string("110"));
	json_object_set_new(cap, "hugepages-2Mi", json_string("0"));
	/* k8s: allocatable is capacity less reservations and the eviction threshold; with no
	 * reservations configured, only memory.available<100Mi comes off. */
	json_t *alloc = json_clone(cap);
	snprintf(v, sizeof v, "%lldKi", (long long)(mem > 102400 ? mem - 102400 : mem));
	json_object_set_new(alloc, "memory", json_string(v));
	snprintf(v, sizeof v, "%lld", (long long)(disk * 9 / 10));
	json_object_set_new(alloc, "ephemeral-storage", json_string(v));

	struct utsname u;
	uname(&u);
	char machine_id[64], boot_id[64], uuid[64], osimg[128];
	read_line("/etc/machine-id", machine_id, sizeof machine_id);
	read_line("/proc/sys/kernel/random/boot_id", boot_id, sizeof boot_id);
	read_line("/sys/class/dmi/id/product_uuid", uuid, sizeof uuid);
	if (!uuid[0])
		snprintf(uuid, sizeof uuid, "%s", machine_id);
	os_image(osimg, sizeof osimg);
	char rtv[128];
	snprintf(rtv, sizeof rtv, "%s://%s", "runc", "timon");
	json_t *info = json_pack(
	    "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "machineID", machine_id,
	    "systemUUID", uuid, "bootID", boot_id, "kernelVersion", u.release, "osImage", osimg,
	    "containerRuntimeVersion", rtv, "kubeletVersion", AGENT_KUBELET_VER, "kubeProxyVersion",
	    AGENT_KUBELET_VER, "operatingSystem", "linux", "architecture", go_arch(u.machine));
	json_t *addrs = json_pack("[{s:s, s:s}, {s:s, s:s}]", "type", "InternalIP", "address",
	                          a->node_ip, "type", "Hostname", "address", a->node_name);
	return json_pack("{s:o, s:o, s:o, s:o, s:{s:{s:i}}}", "capacity", cap, "allocatable", alloc,
	                 "nodeInfo", info, "addresses", addrs, "daemonEndpoints", "kubeletEndpoint",
	                 "Port", a->cfg.agent_port > 0 ? a->cfg.agent_port : 10250);
}

static json_t *find_cond(json_t *conds, const char *type)
{
	size_t i;
	json_t *c;
	json_array_foreach(conds, i, c)
	{
		if (str_eq(json_string_value(json_object_get(c, "type")), type))
			return c;
	}
	return NULL;
}

/* k8s: the conditions the kubelet owns, healthy. */
static const struct {
	const char *type, *status, *reason, *message;
} conds[] = {
    {"MemoryPressure", "False", "KubeletHasSufficientMemory",
     "kubelet has sufficient memory available"},
    {"DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"},
    {"PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"},
    {"Ready", "True", "KubeletReady", "kubelet is posting ready status"},
};

static json_t *images_status(agent *a)
{
	json_t *out = json_array();
	image_info *imgs = NULL;
	size_t n = 0;
	if (image_store_list(a->images, &imgs, &n, NULL) < 0)
		return out;
	for (size_t i = 0; i < n && i < 50; i++) {
		json_t *names = json_array();
		for (size_t k = 0; k < imgs[i].n_repo_digests; k++)
			json_array_append_new(names, json_string(imgs[i].repo_digests[k]));
		for (size_t k = 0; k < imgs[i].n_names; k++)
			json_array_append_new(names, json_string(imgs[i].names[k]));
		json_array_append_new(out, json_pack("{s:o, s:I}", "names", names, "sizeBytes",
		                                     (json_int_t)imgs[i].size));
	}
	image_infos_free(imgs, n);
	return out;
}

static json_t *node_status(agent *a, json_t *old, const char *now)
{
	json_t *st = json_clone(a->node_static);
	json_t *oldconds = json_object_get(old, "conditions");
	json_t *cs = json_array();
	size_t i;
	json_t *c;
	json_array_foreach(oldconds, i, c)
	{
		const char *type = json_string_value(json_object_get(c, "type"));
		bool ours = false;
		for (size_t k = 0; k < ARRAY_SIZE(conds); k++)
			ours |= str_eq(type, conds[k].type);
		if (!ours)
			json_array_append(cs, c);
	}
	for (i = 0; i < ARRAY_SIZE(conds); i++) {
		const char *status = conds[i].status, *reason = conds[i].reason, *msg = conds[i].message;
		if (i == 0 && a->mem_pressure) {
			status = "True";
			reason = "KubeletHasInsufficientMemory";
			msg = "kubelet has insufficient memory available";
		} else if (i == 1 && a->disk_pressure) {
			status = "True";
			reason = "KubeletHasDiskPressure";
			msg = "kubelet has disk pressure";
		}
		json_t *prev = find_cond(oldconds, conds[i].type);
		const char *since = json_string_value(json_object_get(prev, "lastTransitionTime"));
		if (!prev || !str_eq(json_string_value(json_object_get(prev, "status")), status))
			since = now;
		json_array_append_new(cs, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "type",
		                                    conds[i].type, "status", status,
		                                    "lastHeartbeatTime", now, "lastTransitionTime",
		                                    since ? since : now, "reason", reason,
		                                    "message", msg));
	}
	json_object_set_new(st, "conditions", cs);
	json_object_set_new(st, "images", images_status(a));
	return st;
}

static void on_written(void *ud, int code, json_t *obj)
{
	agent *a = ud;
	if (code >= 400) {
		const char *msg = json_string_value(json_object_get(obj, "message"));
		log_warn("agent: node %s write answered %d: %s", a->node_name, code, msg ? msg : "");
		a->next_status_ns = 0; /* try again on the next tick */
	}
}

static void on_created(void *ud, int code, json_t *obj)
{
	agent *a = ud;
	on_written(ud, code, obj);
	if (code == 201) {
		log_info("agent: registered node %s (%s)", a->node_name, a->node_ip);
		a->registered = true;
		a->next_status_ns = 0;
		event_record(a->c->srv, AGENT_NAME, obj, "Normal", "RegisteredNode",
		             "Node %s event: Registered Node %s in Controller", a->node_name,
		             a->node_name);
	}
}

/* A /24 of 10.42.0.0/16 that no other node holds. */
static char *free_pod_cidr(agent *a)
{
	json_t **nodes;
	size_t n = controller_list(a->c, controller_kind("", "nodes"), NULL, &nodes);
	char *out = NULL;
	for (int b = 0; b < 256 && !out; b++) {
		char cand[32];
		snprintf(cand, sizeof cand, "10.42.%d.0/24", b);
		bool used = false;
		for (size_t i = 0; i < n && !used; i++)
			used = str_eq(json_path_str(nodes[i], "spec.podCIDR"), cand) &&
			       !str_eq(json_path_str(nodes[i], "metadata.name"), a->node_name);
		if (!used)
			out = xstrdup(cand);
	}
	controller_list_free(nodes, n);
	return out;
}

static bool ensure_label(json_t *labels, const char *k, const char *v)
{
	if (str_eq(json_string_value(json_object_get(labels, k)), v))
		return false;
	json_object_set_new(labels, k, json_string(v));
	return true;
}

/* An address of another interface inside the pod network, on a prefix at least as long:
 * the host's route to the pods then goes there, not to the bridge (one a killed run left
 * behind, say), and pods start but cannot be reached from this node nor through Services.
 * Said in the log, once per pod network. */
static void warn_pod_cidr_overlap(const agent *a)
{
	static char warned[64];
	if (!a->pod_cidr || str_eq(warned, a->pod_cidr))
		return;
	snprintf(warned, sizeof warned, "%s", a->pod_cidr);
	uint32_t net;
	int bits;
	if (!ipv4_cidr_parse(a->pod_cidr, &net, &bits) || bits == 0)
		return;
	uint32_t mask = ipv4_prefix_mask(bits);
	const char *bridge = a->cni.bridge && *a->cni.bridge ? a->cni.bridge : CNI_DEFAULT_BRIDGE;
	struct ifaddrs *ifs = NULL;
	if (getifaddrs(&ifs) < 0)
		return;
	for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || !i->ifa_netmask ||
		    str_eq(i->ifa_name, bridge))
			continue;
		uint32_t ip = ntohl(((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr.s_addr);
		uint32_t imask =
		    ntohl(((struct sockaddr_in *)(void *)i->ifa_netmask)->sin_addr.s_addr);
		if ((ip & mask) != net || imask < mask)
			continue;
		char have[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr, have,
		          sizeof have);
		log_warn("agent: pod network %s overlaps %s on interface %s: this node's route to "
		         "its pods may go there, leaving them unreachable from the node and through "
		         "Services; remove that address or choose another --pod-cidr",
		         a->pod_cidr, have, i->ifa_name);
	}
	freeifaddrs(ifs);
}

/* Labels, taints and podCIDR the agent's flags ask for; true when node changed. */
static bool apply_spec(agent *a, json_t *node)
{
	json_t *labels = json_obj_child(json_obj_child(node, "metadata"), "labels");
	const char *arch = json_path_str(a->node_static, "nodeInfo.architecture");
	bool ch = ensure_label(labels, "kubernetes.io/hostname", a->node_name);
	ch |= ensure_label(labels, "kubernetes.io/os", "linux");
	ch |= ensure_label(labels, "kubernetes.io/arch", arch);
	ch |= ensure_label(labels, "beta.kubernetes.io/os", "linux");
	ch |= ensure_label(labels, "beta.kubernetes.io/arch", arch);
	/* k3s labels its server nodes so; `kubectl get nodes` shows ROLES control-plane. */
	if (!a->cfg.worker)
		ch |= ensure_label(labels, "node-role.kubernetes.io/control-plane", "true");
	for (size_t i = 0; i < a->cfg.n_labels; i++) {
		const char *eq = strchr(a->cfg.labels[i], '=');
		_cleanup_free_ char *k =
		    eq ? xstrndup(a->cfg.labels[i], (size_t)(eq - a->cfg.labels[i])) : xstrdup(a->cfg.labels[i]);
		ch |= ensure_label(labels, k, eq ? eq + 1 : "");
	}
	json_t *spec = json_obj_child(node, "spec");
	json_t *taints = json_object_get(spec, "taints");
	for (size_t i = 0; i < a->cfg.n_taints; i++) {
		/* key[=value]:Effect */
		const char *t = a->cfg.taints[i];
		const char *colon = strrchr(t, ':');
		if (!colon)
			continue;
		_cleanup_free_ char *kv = xstrndup(t, (size_t)(colon - t));
		char *eq = strchr(kv, '=');
		if (eq)
			*eq++ = 0;
		bool have = false;
		size_t k;
		json_t *x;
		json_array_foreach(taints, k, x)
		{
			have |= str_eq(json_string_value(json_object_get(x, "key")), kv) &&
			        str_eq(json_string_value(json_object_get(x, "effect")), colon + 1);
		}
		if (have)
			continue;
		if (!taints) {
			taints = json_array();
			json_object_set_new(spec, "taints", taints);
		}
		json_t *nt = json_pack("{s:s, s:s}", "key", kv, "effect", colon + 1);
		if (eq)
			json_object_set_new(nt, "value", json_string(eq));
		json_array_append_new(taints, nt);
		ch = true;
	}
	/* k8s: the pressure conditions come with NoSchedule taints while they hold. */
	const struct {
		const char *key;
		bool on;
	} pressure[] = {{"node.kubernetes.io/memory-pressure", a->mem_pressure},
	                {"node.kubernetes.io/disk-pressure", a->disk_pressure}};
	for (size_t p = 0; p < ARRAY_SIZE(pressure); p++) {
		json_t *ts = json_object_get(spec, "taints");
		ssize_t at = -1;
		size_t k;
		json_t *x;
		json_array_foreach(ts, k, x)
		{
			if (str_eq(json_string_value(json_object_get(x, "key")), pressure[p].key))
				at = (ssize_t)k;
		}
		if (pressure[p].on && at < 0) {
			if (!ts) {
				ts = json_array();
				json_object_set_new(spec, "taints", ts);
			}
			json_array_append_new(ts, json_pack("{s:s, s:s}", "key", pressure[p].key, "effect",
			                                     "NoSchedule"));
			ch = true;
		} else if (!pressure[p].on && at >= 0) {
			json_array_remove(ts, (size_t)at);
			ch = true;
		}
	}
	const char *have = json_string_value(json_object_get(spec, "podCIDR"));
	if (have && *have) {
		if (!str_eq(have, a->pod_cidr)) {
			free(a->pod_cidr);
			a->pod_cidr = xstrdup(have);
		}
	} else {
		if (!a->pod_cidr)
			a->pod_cidr = free_pod_cidr(a);
		if (a->pod_cidr) {
			json_object_set_new(spec, "podCIDR", json_string(a->pod_cidr));
			json_object_set_new(spec, "podCIDRs", json_pack("[s]", a->pod_cidr));
			ch = true;
		}
	}
	warn_pod_cidr_overlap(a);
	return ch;
}

void agent_node_sync(agent *a)
{
	const kind_desc *nk = controller_kind("", "nodes");
	char now[32];
	time_rfc3339(time_now_ns(), false, now);
	json_t *node = controller_get(a->c, nk, NULL, a->node_name);
	if (!node) {
		if (a->registered) {
			/* k8s: a kubelet whose Node was deleted registers it again. */
			a->registered = false;
		}
		node = json_pack("{s:s, s:s, s:{s:s, s:{}}, s:{}}", "apiVersion", "v1", "kind", "Node",
		                 "metadata", "name", a->node_name, "labels", "spec");
		apply_spec(a, node);
		json_object_set_new(node, "status", node_status(a, NULL, now));
		client_create(a->c->srv, AGENT_NAME, nk, NULL, node, on_created, a);
		json_decref(node);
		return;
	}
	a->registered = true;
	if (apply_spec(a, node)) {
		client_update(a->c->srv, AGENT_NAME, nk, node, NULL, on_written, a);
		json_decref(node);
		return; /* the status follows on the next tick, on the updated object */
	}
	json_t *st = node_status(a, json_object_get(node, "status"), now);
	json_object_set_new(node, "status", st);
	client_update(a->c->srv, AGENT_NAME, nk, node, "status", on_written, a);
	json_decref(node);
}

void agent_lease_renew(agent *a)
{
	const kind_desc *lk = controller_kind("coordination.k8s.io", "leases");
	char now[32];
	time_rfc3339(time_now_ns(), true, now);
	json_t *lease = controller_get(a->c, lk, AGENT_LEASE_NS, a->node_name);
	if (!lease) {
		json_t *node = controller_get(a->c, controller_kind("", "nodes"), NULL, a->node_name);
		if (!node)
			return;
		/* k8s: the node's lease is owned by the Node, so it goes with it. */
		lease = json_pack(
		    "{s:s, s:s, s:{s:s, s:s, s:[{s:s, s:s, s:s, s:O}]}, s:{s:s, s:i, s:s}}",
		    "apiVersion", "coordination.k8s.io/v1", "kind", "Lease", "metadata", "name",
		    a->node_name, "namespace", AGENT_LEASE_NS, "ownerReferences", "apiVersion", "v1",
		    "kind", "Node", "name", a->node_name, "uid", json_path(node, "metadata.uid"), "spec",
		    "holderIdentity", a->node_name, "leaseDurationSeconds", AGENT_LEASE_SECONDS,
		    "renewTime", now);
		json_decref(node);
		client_create(a->c->srv, AGENT_NAME, lk, AGENT_LEASE_NS, lease, NULL, NULL);
		json_decref(lease);
		return;
	}
	json_t *spec = json_obj_child(lease, "spec");
	json_object_set_new(spec, "holderIdentity", json_string(a->node_name));
	json_object_set_new(spec, "leaseDurationSeconds", json_integer(AGENT_LEASE_SECONDS));
	json_object_set_new(spec, "renewTime", json_string(now));
	client_update(a->c->srv, AGENT_NAME, lk, lease, NULL, NULL, NULL);
	json_decref(lease);
}
