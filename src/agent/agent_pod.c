/* agent_pod.c — one pod sync, on a pool worker: the sandbox (network namespace through
 * CNI, hosts and resolv.conf), then init containers in order and the app containers, each
 * pulled, created and started through the runtime, restarted by the pod's restartPolicy
 * with kube's crash back-off; or, for a pod being deleted, graceful stop and teardown.
 * A new sandbox is wired by the CNI plugins on a thread of its own while the first
 * container is prepared and created in the (already made) namespace; the container
 * starts only once the network is up (see net_begin).
 *
 * Everything is read back from the runtime each time (containers are named
 * <uid>_<name>_<attempt>), so an agent that restarts finds its containers as it left them.
 * The result is a report (JSON) for the loop: container statuses in kube's shape, the pod
 * IP, events to record. Nothing here touches the API or the loop's state. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/agent-internal.h"
#include "agent/image_pull.h"
#include "agent/probe.h"
#include "agent/volume.h"
#include "base/json.h"
#include "base/log.h"
#include "base/util.h"
#include "proxy/netsvc.h"

#define BACKOFF_START_S 10
#define BACKOFF_MAX_S   300

static void event(json_t *report, const char *type, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void event(json_t *report, const char *type, const char *reason, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = NULL;
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	json_t *evs = json_object_get(report, "events");
	if (!json_is_array(evs)) {
		evs = json_array();
		json_object_set_new(report, "events", evs);
	}
	json_array_append_new(evs, json_pack("{s:s, s:s, s:s}", "type", type, "reason", reason,
	                                "message", msg ? msg : ""));
	free(msg);
}

static int mkdirs(const char *path, mode_t mode)
{
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s", path);
	for (char *p = tmp + 1; *p; p++)
		if (*p == '/') {
			*p = 0;
			mkdir(tmp, mode);
			*p = '/';
		}
	return mkdir(tmp, mode) == 0 || errno == EEXIST ? 0 : -1;
}

/* 1 when path holds exactly data. */
static int same_content(const char *path, const char *data)
{
	size_t n = strlen(data);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	char *have = xmalloc(n + 1);
	ssize_t r = read(fd, have, n + 1);
	close(fd);
	int same = r == (ssize_t)n && memcmp(have, data, n) == 0;
	free(have);
	return same;
}

/* Replaces path with data (a new file, renamed into place), unless it holds data already:
 * every new inode costs, and a sync runs often. */
static int write_file(const char *path, const char *data)
{
	if (same_content(path, data))
		return 0;
	_cleanup_free_ char *tmp = xasprintf("%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	size_t n = strlen(data);
	bool ok = write(fd, data, n) == (ssize_t)n;
	close(fd);
	if (!ok || rename(tmp, path) < 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)f;
	if (flag == FTW_DP)
		rmdir(p);
	else
		unlink(p);
	return 0;
}

/* rm -rf that stays on one filesystem: a mount left inside is not emptied. */
static void remove_tree(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

static char *take(buf *b)
{
	char *s = buf_take(b);
	return s ? s : xstrdup("");
}

static int run_hook(agent *a, json_t *c, json_t *handler, const char *id, const char *ip,
                    int limit_s, char **msg);

/* ---------- the sandbox ---------- */

static char *hosts_file(json_t *pod, const char *ip)
{
	buf b = {0};
	buf_puts(&b, "# Kubernetes-managed hosts file.\n"
	             "127.0.0.1\tlocalhost\n"
	             "::1\tlocalhost ip6-localhost ip6-loopback\n"
	             "fe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\n"
	             "fe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n");
	const char *host = json_path_str(pod, "spec.hostname");
	if (!host)
		host = json_path_str(pod, "metadata.name");
	const char *sub = json_path_str(pod, "spec.subdomain");
	const char *ns = json_path_str(pod, "metadata.namespace");
	if (ip && host) {
		if (sub)
			buf_printf(&b, "%s\t%s.%s.%s.svc.%s\t%s\n", ip, host, sub, ns, AGENT_DNS_DOMAIN,
			           host);
		else
			buf_printf(&b, "%s\t%s\n", ip, host);
	}
	size_t i;
	json_t *ha;
	json_array_foreach(json_path(pod, "spec.hostAliases"), i, ha)
	{
		const char *aip = json_string_value(json_object_get(ha, "ip"));
		if (!aip)
			continue;
		buf_printf(&b, "\n# Entries added by HostAliases.\n%s", aip);
		size_t k;
		json_t *hn;
		json_array_foreach(json_object_get(ha, "hostnames"), k, hn)
		    buf_printf(&b, "\t%s", json_string_value(hn) ? json_string_value(hn) : "");
		buf_puts(&b, "\n");
	}
	return take(&b);
}

static char *host_resolv(void)
{
	FILE *f = fopen("/etc/resolv.conf", "r");
	buf b = {0};
	if (f) {
		char line[512];
		while (fgets(line, sizeof line, f))
			buf_puts(&b, line);
		fclose(f);
	}
	return take(&b);
}

/* k8s: ClusterFirst (the default) points at the cluster DNS with the namespace's search
 * path and ndots:5; Default and host-network pods (unless ClusterFirstWithHostNet) get the
 * node's resolv.conf; None takes only spec.dnsConfig. */
static char *resolv_file(json_t *pod)
{
	const char *policy = json_path_str(pod, "spec.dnsPolicy");
	bool hostnet = json_is_true(json_path(pod, "spec.hostNetwork"));
	json_t *dc = json_path(pod, "spec.dnsConfig");
	buf b = {0};
	if (str_eq(policy, "Default") || (hostnet && !str_eq(policy, "ClusterFirstWithHostNet") &&
	                                  !str_eq(policy, "None"))) {
		char *h = host_resolv();
		buf_puts(&b, h);
		free(h);
	} else if (!str_eq(policy, "None")) {
		const char *ns = json_path_str(pod, "metadata.namespace");
		buf_printf(&b, "search %s.svc.%s svc.%s %s", ns, AGENT_DNS_DOMAIN, AGENT_DNS_DOMAIN,
		           AGENT_DNS_DOMAIN);
		size_t i;
		json_t *s;
		json_array_foreach(json_object_get(dc, "searches"), i, s)
		    buf_printf(&b, " %s", json_string_value(s) ? json_string_value(s) : "");
		/* --cluster-dns moves the kube-dns service IP (netsvc). */
		const char *dns = netsvc_env("TIMON_CLUSTER_DNS");
		buf_printf(&b, "\nnameserver %s\n", dns && *dns && strcmp(dns, "off") != 0 ? dns : AGENT_CLUSTER_DNS);
		json_array_foreach(json_object_get(dc, "nameservers"), i, s)
		    buf_printf(&b, "nameserver %s\n", json_string_value(s) ? json_string_value(s) : "");
		buf_puts(&b, "options ndots:5\n");
		return take(&b);
	}
	if (str_eq(policy, "None")) {
		size_t i;
		json_t *s;
		if (json_array_size(json_object_get(dc, "searches"))) {
			buf_puts(&b, "search");
			json_array_foreach(json_object_get(dc, "searches"), i, s)
			    buf_printf(&b, " %s", json_string_value(s) ? json_string_value(s) : "");
			buf_puts(&b, "\n");
		}
		json_array_foreach(json_object_get(dc, "nameservers"), i, s)
		    buf_printf(&b, "nameserver %s\n", json_string_value(s) ? json_string_value(s) : "");
	}
	return take(&b);
}

/* What the plugins need of a pod, copied out of it: the wiring may run on a thread of its
 * own while the sync goes on with (and changes) the pod. */
typedef struct net_job {
	agent *a;
	char *ns, *name, *uid;
	cni_port ports[64];
	char *proto[64], *host_ip[64];
	size_t n_ports;
	bool fresh; /* the namespace was made just now (cni_pod.netns_fresh) */
	char *ip;   /* out: the pod's address */
	terr *err;  /* out */
	pthread_t thread;
	bool running; /* the thread is to be joined */
} net_job;

static net_job *net_job_new(agent *a, json_t *pod)
{
	net_job *nj = xcalloc(1, sizeof *nj);
	nj->a = a;
	const char *ns = json_path_str(pod, "metadata.namespace");
	const char *name = json_path_str(pod, "metadata.name");
	const char *uid = json_path_str(pod, "metadata.uid");
	nj->ns = xstrdup(ns ? ns : "");
	nj->name = xstrdup(name ? name : "");
	nj->uid = xstrdup(uid ? uid : "");
	json_t *cs[2] = {json_path(pod, "spec.initContainers"), json_path(pod, "spec.containers")};
	for (int k = 0; k < 2; k++) {
		size_t i;
		json_t *c;
		json_array_foreach(cs[k], i, c)
		{
			size_t q;
			json_t *p;
			json_array_foreach(json_object_get(c, "ports"), q, p)
			{
				int hp = (int)json_integer_value(json_object_get(p, "hostPort"));
				if (hp <= 0 || nj->n_ports >= ARRAY_SIZE(nj->ports))
					continue;
				size_t n = nj->n_ports++;
				const char *proto = json_string_value(json_object_get(p, "protocol"));
				const char *hip = json_string_value(json_object_get(p, "hostIP"));
				nj->proto[n] = proto ? xstrdup(proto) : NULL;
				nj->host_ip[n] = hip ? xstrdup(hip) : NULL;
				nj->ports[n] = (cni_port){
				    .host_port = hp,
				    .container_port = (int)json_integer_value(json_object_get(p, "containerPort")),
				    .protocol = nj->proto[n],
				    .host_ip = nj->host_ip[n],
				};
			}
		}
	}
	return nj;
}

static void net_job_free(net_job *nj)
{
	if (!nj)
		return;
	if (nj->running)
		pthread_join(nj->thread, NULL);
	for (size_t i = 0; i < nj->n_ports; i++) {
		free(nj->proto[i]);
		free(nj->host_ip[i]);
	}
	free(nj->ns);
	free(nj->name);
	free(nj->uid);
	free(nj->ip);
	terr_free(nj->err);
	free(nj);
}

/* Wires the pod's network: nj->ip gets its address, or nj->err the failure. */
static void net_wire(net_job *nj)
{
	agent *a = nj->a;
	const char *cidrs[1] = {a->pod_cidr};
	cni_pod cp = {
	    .namespace = nj->ns,
	    .name = nj->name,
	    .uid = nj->uid,
	    .sandbox_id = nj->uid,
	    .pod_cidrs = cidrs,
	    .n_pod_cidrs = a->pod_cidr ? 1 : 0,
	    .ports = nj->ports,
	    .n_ports = nj->n_ports,
	    .netns_fresh = nj->fresh,
	};
	cni_result res = {0};
	if (cni_setup(&a->cni, &cp, &res, &nj->err) < 0)
		return;
	nj->ip = res.n_ips ? xstrdup(res.ips[0]) : NULL;
	cni_result_free(&res);
	if (!nj->ip)
		terr_internal(&nj->err, "the network plugins gave the pod no address");
}

static void *net_thread(void *arg)
{
	net_wire(arg);
	return NULL;
}

/* Wires the pod's network; *ip gets its address (new string). */
static int sandbox_up(agent *a, json_t *pod, char **ip, terr **err)
{
	if (json_is_true(json_path(pod, "spec.hostNetwork"))) {
		*ip = xstrdup(a->node_ip);
		return 0;
	}
	net_job *nj = net_job_new(a, pod);
	net_wire(nj);
	int rc = nj->err ? -1 : 0;
	*ip = nj->ip;
	nj->ip = NULL;
	if (rc < 0) {
		*err = nj->err;
		nj->err = NULL;
	}
	net_job_free(nj);
	return rc;
}

/* Whether the pod's first container may be created before its address is known: nothing
 * in the pod reads status.podIP (an env fieldRef or a downwardAPI item, which need the
 * address when the container or volume is made). */
static bool net_may_overlap(json_t *pod)
{
	_cleanup_free_ char *spec = json_dumps(json_object_get(pod, "spec"), JSON_COMPACT);
	return spec && !strstr(spec, "status.podIP");
}

/* Starts wiring a new sandbox on a thread of its own, once its namespace exists (the
 * first container joins it while the plugins run). false when it could not (the sync
 * then wires it in line). */
static bool net_begin(agent_sync_job *sj)
{
	const char *uid = json_path_str(sj->pod, "metadata.uid");
	bool made = false;
	terr *e = NULL;
	if (cni_netns_prepare(&sj->a->cni, uid, &made, &e) < 0) {
		terr_free(e);
		return false;
	}
	net_job *nj = net_job_new(sj->a, sj->pod);
	nj->fresh = made;
	if (pthread_create(&nj->thread, NULL, net_thread, nj) != 0) {
		net_job_free(nj);
		return false;
	}
	nj->running = true;
	sj->net = nj;
	return true;
}

static void sandbox_failed(agent_sync_job *sj, const terr *err)
{
	event(sj->report, "Warning", "FailedCreatePodSandBox", "Failed to create pod sandbox: %s",
	      err ? err->message : "network setup failed");
	json_object_set_new(sj->report, "sandboxError", json_string(err ? err->message : "?"));
}

/* The pod's address is known: in the report, the agent's memory, the pod (for the
 * downward API) and its hosts file. */
static void net_known(agent_sync_job *sj, const char *ip, bool rewrite_hosts)
{
	json_t *pod = sj->pod;
	json_object_set_new(sj->report, "podIP", json_string(ip));
	json_object_set_new(sj->mem, "podIP", json_string(ip));
	json_t *st = json_obj_child(pod, "status");
	json_object_set_new(st, "podIP", json_string(ip));
	json_object_set_new(st, "podIPs", json_pack("[{s:s}]", "ip", ip));
	if (!rewrite_hosts)
		return;
	/* In place: a container created meanwhile has the file's inode bind-mounted. */
	_cleanup_free_ char *path =
	    xasprintf("%s/%s/etc-hosts", sj->a->pods_dir, json_path_str(pod, "metadata.uid"));
	_cleanup_free_ char *h = hosts_file(pod, ip);
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	size_t n = strlen(h);
	if (fd < 0 || write(fd, h, n) != (ssize_t)n)
		log_warn("agent: cannot write %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
}

/* Waits for the network being wired (if it is): 0 with the address recorded, or -1 with
 * the sandbox failure reported (the sync goes no further). */
static int net_end(agent_sync_job *sj)
{
	net_job *nj = sj->net;
	if (!nj)
		return sj->net_failed ? -1 : 0;
	pthread_join(nj->thread, NULL);
	nj->running = false;
	int rc = 0;
	if (nj->err) {
		sandbox_failed(sj, nj->err);
		sj->net_failed = true;
		rc = -1;
	} else {
		net_known(sj, nj->ip, true);
		sj->ip = nj->ip;
		nj->ip = NULL;
	}
	net_job_free(nj);
	sj->net = NULL;
	return rc;
}

/* k8s: the pod's RuntimeClass picks the runtime handler (kubelet's RuntimeClass manager,
 * then the CRI runtime's handler table). *path gets the handler's binary (borrowed from
 * a->handlers; NULL: the default). -1 with kubelet's and containerd's words when the
 * class or the handler is unknown: the sandbox cannot be created. */
static int pod_runtime(agent *a, json_t *pod, json_t *inputs, const char **path, char **msg)
{
	*path = NULL;
	const char *name = json_path_str(pod, "spec.runtimeClassName");
	if (!name || !*name)
		return 0;
	json_t *rc = json_object_get(inputs, "runtimeClass");
	if (!json_is_object(rc)) {
		*msg = xasprintf("runtimeclasses.node.k8s.io \"%s\" not found", name);
		return -1;
	}
	const char *handler = json_string_value(json_object_get(rc, "handler"));
	json_t *bin = json_object_get(a->handlers, handler ? handler : "");
	if (!json_is_string(bin)) {
		*msg = xasprintf("failed to get sandbox runtime: no runtime for \"%s\" is configured",
		                 handler ? handler : "");
		return -1;
	}
	*path = json_string_value(bin);
	return 0;
}

/* ---------- containers ---------- */

typedef struct ctr_seen {
	runtime_status latest, prev; /* prev.id NULL when none */
	bool have;
	int attempt;
} ctr_seen;

/* The pod's containers in the runtime, by container name: the latest attempt and the one
 * before (kube keeps one dead container for `logs --previous`); older ones are removed. */
static json_t *seen_containers(agent *a, const char *uid, runtime_status **all, size_t *n)
{
	_cleanup_free_ char *prefix = xasprintf("%s_", uid);
	*all = NULL;
	*n = 0;
	json_t *by = json_object(); /* name -> [latest index, prev index] */
	if (runtime_list(a->rt, prefix, all, n, NULL) < 0)
		return by;
	for (size_t i = 0; i < *n; i++) {
		char *u = NULL, *name = NULL;
		int att;
		if (agent_container_id_parse((*all)[i].id, &u, &name, &att) < 0 || !str_eq(u, uid)) {
			free(u);
			free(name);
			continue;
		}
		json_t *e = json_object_get(by, name);
		if (!e) {
			e = json_pack("{s:i, s:i, s:i}", "latest", (int)i, "att", att, "prev", -1);
			json_object_set_new(by, name, e);
		} else {
			int la = (int)json_integer_value(json_object_get(e, "att"));
			int li = (int)json_integer_value(json_object_get(e, "latest"));
			int pi = (int)json_integer_value(json_object_get(e, "prev"));
			int pa = pi >= 0 ? -1 : -2;
			if (pi >= 0) {
				char *u2, *n2;
				agent_container_id_parse((*all)[pi].id, &u2, &n2, &pa);
				free(u2);
				free(n2);
			}
			if (att > la) {
				json_object_set_new(e, "prev", json_integer(li));
				json_object_set_new(e, "latest", json_integer((json_int_t)i));
				json_object_set_new(e, "att", json_integer(att));
			} else if (att > pa) {
				json_object_set_new(e, "prev", json_integer((json_int_t)i));
			}
		}
		free(u);
		free(name);
	}
	return by;
}

static runtime_status *seen_get(json_t *by, runtime_status *all, const char *name, const char *which)
{
	json_t *e = json_object_get(by, name);
	if (!e)
		return NULL;
	int i = (int)json_integer_value(json_object_get(e, which));
	return i >= 0 ? &all[i] : NULL;
}

static int seen_attempt(json_t *by, const char *name)
{
	json_t *e = json_object_get(by, name);
	return e ? (int)json_integer_value(json_object_get(e, "att")) : -1;
}

static int64_t now_ns(void)
{
	return time_now_ns();
}

/* Back-off state in mem: {"<kind>:<name>": {"delay": s, "at": ns}}. true (and *left_s)
 * while waiting. */
static bool in_backoff(json_t *mem, const char *kind, const char *name, int *delay_s)
{
	char k[320];
	snprintf(k, sizeof k, "%s:%s", kind, name);
	json_t *e = json_object_get(mem, k);
	if (!e)
		return false;
	int64_t at = json_integer_value(json_object_get(e, "at"));
	int d = (int)json_integer_value(json_object_get(e, "delay"));
	*delay_s = d;
	return now_ns() < at + (int64_t)d * 1000000000LL;
}

/* k8s: 10 s doubling to 5 min. from_ns: when the wait starts (the container's exit). */
static void backoff_next(json_t *mem, const char *kind, const char *name, int64_t from_ns)
{
	char k[320];
	snprintf(k, sizeof k, "%s:%s", kind, name);
	json_t *e = json_object_get(mem, k);
	int d = e ? (int)json_integer_value(json_object_get(e, "delay")) * 2 : BACKOFF_START_S;
	if (d < BACKOFF_START_S)
		d = BACKOFF_START_S;
	if (d > BACKOFF_MAX_S)
		d = BACKOFF_MAX_S;
	json_object_set_new(mem, k, json_pack("{s:i, s:I}", "delay", d, "at", (json_int_t)from_ns));
}

static void backoff_clear(json_t *mem, const char *kind, const char *name)
{
	char k[320];
	snprintf(k, sizeof k, "%s:%s", kind, name);
	json_object_del(mem, k);
}

static void set_waiting(json_t *report, const char *name, const char *reason, const char *msg)
{
	json_t *w = json_obj_child(report, "waiting");
	json_object_set_new(w, name, json_pack("{s:s, s:s}", "reason", reason, "message", msg ? msg : ""));
}

/* Pulls the container's image as its pull policy says; fills *img. */
static int ensure_image(agent_sync_job *sj, json_t *c, image_info *img)
{
	agent *a = sj->a;
	json_t *report = sj->report;
	const char *name = json_string_value(json_object_get(c, "name"));
	const char *ref = json_string_value(json_object_get(c, "image"));
	const char *policy = json_string_value(json_object_get(c, "imagePullPolicy"));
	if (!ref || !*ref) {
		set_waiting(report, name, "InvalidImageName", "no image given");
		return -1;
	}
	bool have = image_store_find(a->images, ref, img, NULL) == 0;
	if (str_eq(policy, "Never") && !have) {
		char *m = xasprintf("Container image \"%s\" is not present with pull policy of Never", ref);
		event(report, "Warning", "ErrImageNeverPull", "%s", m);
		set_waiting(report, name, "ErrImageNeverPull", m);
		free(m);
		return -1;
	}
	if (have && !str_eq(policy, "Always")) {
		event(report, "Normal", "Pulled", "Container image \"%s\" already present on machine", ref);
		return 0;
	}
	if (have)
		image_info_free(img);
	int delay;
	if (in_backoff(sj->mem, "pull", name, &delay)) {
		char *m = xasprintf("Back-off pulling image \"%s\"", ref);
		event(report, "Normal", "BackOff", "%s", m);
		set_waiting(report, name, "ImagePullBackOff", m);
		free(m);
		return -1;
	}
	event(report, "Normal", "Pulling", "Pulling image \"%s\"", ref);
	int64_t t0 = time_mono_ns();
	image_pull_opts po = {.registries_path = a->cfg.registry_config};
	terr *err = NULL;
	if (image_pull(a->images, ref, &po, img, &err) < 0) {
		const char *msg = err ? err->message : "pull failed";
		bool invalid = err && str_eq(err->reason, "InvalidImageName");
		event(report, "Warning", "Failed", "Failed to pull image \"%s\": %s", ref, msg);
		event(report, "Warning", "Failed", "Error: %s", invalid ? "InvalidImageName" : "ErrImagePull");
		set_waiting(report, name, invalid ? "InvalidImageName" : "ErrImagePull", msg);
		backoff_next(sj->mem, "pull", name, now_ns());
		terr_free(err);
		return -1;
	}
	backoff_clear(sj->mem, "pull", name);
	double s = (double)(time_mono_ns() - t0) / 1e9;
	event(report, "Normal", "Pulled",
	      "Successfully pulled image \"%s\" in %.3fs (%.3fs including waiting). Image size: %lld bytes.",
	      ref, s, s, (long long)img->size);
	return 0;
}

/* Creates and starts attempt `attempt` of container c. 0 when it started. */
static int start_container(agent_sync_job *sj, json_t *c, int attempt)
{
	agent *a = sj->a;
	json_t *pod = sj->pod, *report = sj->report;
	const char *uid = json_path_str(pod, "metadata.uid");
	const char *ns = json_path_str(pod, "metadata.namespace");
	const char *pname = json_path_str(pod, "metadata.name");
	const char *name = json_string_value(json_object_get(c, "name"));
	if (sj->net_failed)
		return -1;
	image_info img = {0};
	if (ensure_image(sj, c, &img) < 0)
		return -1;
	image_config icfg = {0};
	char **lower = NULL;
	size_t nl = 0;
	char *rootfs = NULL;
	json_t *spec = NULL;
	terr *err = NULL;
	int rc = -1;
	const char *reason = "CreateContainerError";
	/* Every cleanup variable is declared before the first goto. */
	_cleanup_free_ char *id = agent_container_id(uid, name, attempt);
	_cleanup_free_ char *dir = xasprintf("%s/%s", a->pods_dir, uid);
	_cleanup_free_ char *hosts = xasprintf("%s/etc-hosts", dir);
	_cleanup_free_ char *resolv = xasprintf("%s/resolv.conf", dir);
	_cleanup_free_ char *tdir = xasprintf("%s/containers/%s", dir, name);
	_cleanup_free_ char *tlog = xasprintf("%s/%d-termination-log", tdir, attempt);
	_cleanup_free_ char *netns = NULL, *log = NULL;
	/* No delete first: a half-made container from an interrupted sync is listed by the
	 * runtime, so step_container sees it as the latest attempt and this one is new. */
	/* The container as it runs: env resolved from its sources, volumes mounted. */
	json_t *env = NULL;
	runtime_mount *vm = NULL;
	size_t nvm = 0;
	_cleanup_json_ json_t *run = json_clone(c);
	if (agent_container_env(pod, c, sj->inputs, &env, &err) < 0) {
		reason = "CreateContainerConfigError";
		goto fail;
	}
	json_object_set_new(run, "env", env);
	json_object_del(run, "envFrom");
	if (agent_container_mounts(pod, run, sj->paths, &vm, &nvm, &err) < 0) {
		reason = "CreateContainerConfigError";
		goto fail;
	}
	if (image_store_config(a->images, &img, &icfg, &err) < 0 ||
	    image_rootfs_layers(a->images, &img, &lower, &nl, &err) < 0 ||
	    runtime_rootfs_mount(a->rt, id, lower, nl, &rootfs, &err) < 0)
		goto fail;
	mkdirs(tdir, 0755);
	close(open(tlog, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666));
	const char *tpath = json_string_value(json_object_get(c, "terminationMessagePath"));
	runtime_mount *mounts = xcalloc(3 + nvm, sizeof *mounts);
	mounts[0] = (runtime_mount){.source = hosts, .destination = "/etc/hosts"};
	mounts[1] = (runtime_mount){.source = resolv, .destination = "/etc/resolv.conf"};
	mounts[2] = (runtime_mount){.source = tlog, .destination = tpath ? tpath : "/dev/termination-log"};
	for (size_t k = 0; k < nvm; k++)
		mounts[3 + k] = vm[k];
	netns = json_is_true(json_path(pod, "spec.hostNetwork")) ? NULL : cni_netns_path(&a->cni, uid);
	runtime_spec_input in = {
	    .id = id,
	    .pod = pod,
	    .container = run,
	    .image = &icfg,
	    .image_ref = json_string_value(json_object_get(c, "image")),
	    .image_id = img.id,
	    .rootfs = rootfs,
	    .netns_path = netns,
	    .mounts = mounts,
	    .n_mounts = 3 + nvm,
	    .restart_count = attempt,
	};
	int sr = runtime_spec_build(&in, &spec, &err);
	free(mounts);
	if (sr < 0) {
		if (err && err->reason)
			reason = err->reason;
		goto fail;
	}
	log = agent_container_log_path(a->cfg.log_root, ns, pname, uid, name, attempt);
	/* k8s: the log is rotated by size (agent_logs.c), so conmon does not cap it; stdin
	 * stays open for attach when the container asks for it. */
	runtime_create_opts co = {
	    .log_path = log,
	    .runtime_path = sj->runtime_path,
	    .stdin_open = json_is_true(json_object_get(c, "stdin")),
	    .stdin_once = json_is_true(json_object_get(c, "stdinOnce")),
	    .tty = json_is_true(json_object_get(c, "tty")),
	};
	if (runtime_create(a->rt, id, spec, &co, &err) < 0)
		goto fail;
	/* The network, if it was being wired meanwhile, must be up before the process runs;
	 * when it failed, the container goes with the sandbox. */
	if (net_end(sj) < 0) {
		runtime_delete(a->rt, id, true, NULL);
		goto out;
	}
	event(report, "Normal", "Created", "Created container %s", name);
	if (runtime_start(a->rt, id, &err) < 0) {
		/* The container exists and has stopped: it is reported terminated and restarted
		 * with back-off, like any crash; the message says why. */
		json_t *se = json_obj_child(report, "startErrors");
		json_object_set_new(se, id, json_string(err ? err->message : "start failed"));
		event(report, "Warning", "Failed", "Error: %s", err ? err->message : "start failed");
		terr_free(err);
		goto out;
	}
	event(report, "Normal", "Started", "Started container %s", name);
	json_t *post = json_path(c, "lifecycle.postStart");
	if (post) {
		/* k8s: the container counts as running only once postStart returned; a failed
		 * hook kills it, and restartPolicy decides what follows. */
		char *msg = NULL;
		json_t *g = json_path(pod, "spec.terminationGracePeriodSeconds");
		int limit = json_is_integer(g) && json_integer_value(g) > 0 ? (int)json_integer_value(g) : 30;
		if (run_hook(a, run, post, id, sj->ip, limit, &msg) < 0) {
			event(report, "Warning", "FailedPostStartHook", "PostStartHook failed: %s", msg ? msg : "");
			runtime_stop(a->rt, id, SIGTERM, 2, NULL);
			free(msg);
			goto out;
		}
		free(msg);
	}
	rc = 0;
	goto out;
fail:
	event(report, "Warning", "Failed", "Error: %s", err ? err->message : reason);
	set_waiting(report, name, reason, err ? err->message : reason);
	runtime_delete(a->rt, id, true, NULL);
	backoff_next(sj->mem, "start", name, now_ns());
	terr_free(err);
out:
	agent_mounts_free(vm, nvm);
	json_decref(spec);
	free(rootfs);
	image_strv_free(lower);
	image_config_free(&icfg);
	image_info_free(&img);
	return rc;
}

/* What to do with one container given what the runtime shows. Returns true when the
 * container is "done" for init ordering (exited 0, or a running sidecar). */
typedef enum { C_RUNNING, C_DONE_OK, C_DONE_FAIL, C_WAIT } cstate;

static cstate step_container(agent_sync_job *sj, json_t *c, json_t *by, runtime_status *all,
                             bool init)
{
	const char *name = json_string_value(json_object_get(c, "name"));
	const char *policy = json_path_str(sj->pod, "spec.restartPolicy");
	bool sidecar = init && str_eq(json_string_value(json_object_get(c, "restartPolicy")), "Always");
	if (sidecar)
		policy = "Always";
	else if (init && str_eq(policy, "Always"))
		policy = "OnFailure"; /* k8s: failed init containers restart unless Never */
	runtime_status *cur = seen_get(by, all, name, "latest");
	int attempt = seen_attempt(by, name);
	int delay;
	if (!cur) {
		if (in_backoff(sj->mem, "start", name, &delay)) {
			json_t *w = json_object_get(json_object_get(sj->report, "waiting"), name);
			if (!w)
				set_waiting(sj->report, name, "CreateContainerError", "back-off creating container");
			return C_WAIT;
		}
		return start_container(sj, c, 0) == 0 ? C_RUNNING : C_WAIT;
	}
	if (cur->state == RUNTIME_RUNNING)
		return C_RUNNING;
	if (cur->state == RUNTIME_CREATED) {
		/* Created but never started (the agent stopped in between): start it now. */
		if (runtime_start(sj->a->rt, cur->id, NULL) == 0)
			return C_RUNNING;
	}
	bool ok = cur->exit_code == 0;
	bool restart = str_eq(policy, "Always") || (str_eq(policy, "OnFailure") && !ok);
	if (!restart)
		return ok ? C_DONE_OK : C_DONE_FAIL;
	if (in_backoff(sj->mem, "crash", name, &delay)) {
		char *m = xasprintf("back-off %ds restarting failed container=%s pod=%s_%s(%s)", delay,
		                    name, json_path_str(sj->pod, "metadata.name"),
		                    json_path_str(sj->pod, "metadata.namespace"),
		                    json_path_str(sj->pod, "metadata.uid"));
		set_waiting(sj->report, name, "CrashLoopBackOff", m);
		event(sj->report, "Warning", "BackOff", "Back-off restarting failed container %s in pod %s_%s(%s)",
		      name, json_path_str(sj->pod, "metadata.name"),
		      json_path_str(sj->pod, "metadata.namespace"), json_path_str(sj->pod, "metadata.uid"));
		free(m);
		return C_WAIT;
	}
	/* k8s: the first restart is immediate; each later one waits out the back-off, which
	 * doubles from 10 s to 5 min. */
	char k[320];
	snprintf(k, sizeof k, "crash:%s", name);
	bool first = !json_object_get(sj->mem, k);
	if (!first || attempt >= 1)
		backoff_next(sj->mem, "crash", name, now_ns());
	else
		json_object_set_new(sj->mem, k, json_pack("{s:i, s:I}", "delay", 0, "at", (json_int_t)0));
	/* Keep one dead container: drop the one before the latest. */
	runtime_status *prev = seen_get(by, all, name, "prev");
	if (prev)
		runtime_delete(sj->a->rt, prev->id, true, NULL);
	return start_container(sj, c, attempt + 1) == 0 ? C_RUNNING : C_WAIT;
}

/* ---------- statuses ---------- */

static void rfc(int64_t ns, char out[32])
{
	time_rfc3339(ns ? ns : now_ns(), false, out);
}

static json_t *terminated_json(const runtime_status *s, json_t *report)
{
	char a[32], b[32];
	rfc(s->started_ns, a);
	rfc(s->finished_ns, b);
	json_t *t = json_pack("{s:i, s:s, s:s, s:s, s:s}", "exitCode", s->exit_code < 0 ? 255 : s->exit_code,
	                      "reason", s->reason ? s->reason : "Error", "startedAt", a, "finishedAt",
	                      b, "containerID", "");
	char *cid = xasprintf("runc://%s", s->id);
	json_object_set_new(t, "containerID", json_string(cid));
	free(cid);
	const char *se = json_string_value(json_object_get(json_object_get(report, "startErrors"), s->id));
	if (se) {
		json_object_set_new(t, "reason", json_string("StartError"));
		json_object_set_new(t, "message", json_string(se));
		if (s->exit_code <= 0)
			json_object_set_new(t, "exitCode", json_integer(128));
	}
	return t;
}

/* Reads the termination message file of an attempt (k8s: at most 4 KiB). */
static void termination_message(agent *a, const char *uid, const char *name, int attempt, json_t *t)
{
	_cleanup_free_ char *p = xasprintf("%s/%s/containers/%s/%d-termination-log", a->pods_dir, uid, name, attempt);
	FILE *f = fopen(p, "r");
	if (!f)
		return;
	char msg[4097];
	size_t n = fread(msg, 1, 4096, f);
	fclose(f);
	msg[n] = 0;
	if (n)
		json_object_set_new(t, "message", json_string(msg));
}

static json_t *container_status(agent_sync_job *sj, json_t *c, json_t *by, runtime_status *all)
{
	agent *a = sj->a;
	const char *uid = json_path_str(sj->pod, "metadata.uid");
	const char *name = json_string_value(json_object_get(c, "name"));
	const char *image = json_string_value(json_object_get(c, "image"));
	runtime_status *cur = seen_get(by, all, name, "latest");
	runtime_status *prev = seen_get(by, all, name, "prev");
	int attempt = seen_attempt(by, name);
	json_t *cs = json_pack("{s:s, s:s, s:s, s:b, s:i, s:b, s:{}, s:{}}", "name", name, "image",
	                       image ? image : "", "imageID", "", "ready", 0, "restartCount",
	                       attempt < 0 ? 0 : attempt, "started", 0, "state", "lastState");
	image_info img;
	if (image && image_store_find(a->images, image, &img, NULL) == 0) {
		const char *idv = img.n_repo_digests ? img.repo_digests[0] : img.id;
		json_object_set_new(cs, "imageID", json_string(idv ? idv : ""));
		image_info_free(&img);
	}
	json_t *w = json_object_get(json_object_get(sj->report, "waiting"), name);
	if (cur) {
		char *cid = xasprintf("runc://%s", cur->id);
		json_object_set_new(cs, "containerID", json_string(cid));
		free(cid);
	}
	if (cur && cur->state == RUNTIME_RUNNING && !w) {
		char at[32];
		rfc(cur->started_ns, at);
		json_object_set_new(cs, "state", json_pack("{s:{s:s}}", "running", "startedAt", at));
		json_object_set_new(cs, "started", json_true());
		if (prev && prev->state == RUNTIME_EXITED) {
			json_t *t = terminated_json(prev, sj->report);
			termination_message(a, uid, name, attempt - 1, t);
			json_object_set_new(cs, "lastState", json_pack("{s:o}", "terminated", t));
		}
	} else if (cur && cur->state == RUNTIME_EXITED && !w) {
		json_t *t = terminated_json(cur, sj->report);
		termination_message(a, uid, name, attempt, t);
		json_object_set_new(cs, "state", json_pack("{s:o}", "terminated", t));
		if (prev && prev->state == RUNTIME_EXITED)
			json_object_set_new(cs, "lastState",
			                    json_pack("{s:o}", "terminated", terminated_json(prev, sj->report)));
	} else {
		json_t *wait = w ? json_clone(w)
		                 : json_pack("{s:s}", "reason", cur && cur->state == RUNTIME_EXITED
		                                                    ? "CrashLoopBackOff"
		                                                    : "ContainerCreating");
		if (!json_string_length(json_object_get(wait, "message")))
			json_object_del(wait, "message");
		json_object_set_new(cs, "state", json_pack("{s:o}", "waiting", wait));
		if (cur && cur->state == RUNTIME_EXITED) {
			json_t *t = terminated_json(cur, sj->report);
			termination_message(a, uid, name, attempt, t);
			json_object_set_new(cs, "lastState", json_pack("{s:o}", "terminated", t));
		}
	}
	return cs;
}

/* ---------- lifecycle hooks ---------- */

/* Runs a postStart or preStop handler (exec, httpGet, sleep) of container c (runtime ID
 * id) within limit_s. 0 when it passed; *msg gets why not. k8s: hooks have no timeout of
 * their own; the grace period bounds preStop, and we bound postStart the same way. */
static int run_hook(agent *a, json_t *c, json_t *handler, const char *id, const char *ip,
                    int limit_s, char **msg)
{
	*msg = NULL;
	json_t *sl = json_object_get(handler, "sleep");
	if (sl) {
		json_int_t secs = json_integer_value(json_object_get(sl, "seconds"));
		if (secs > limit_s)
			secs = limit_s;
		if (secs > 0)
			sleep((unsigned)secs);
		return 0;
	}
	_cleanup_json_ json_t *h = json_clone(handler);
	json_object_set_new(h, "timeoutSeconds", json_integer(limit_s > 0 ? limit_s : 1));
	probe_target t = {.pod_ip = ip, .container = c, .rt = (struct runtime *)a->rt, .container_id = id};
	return probe_run(h, &t, msg) == PROBE_SUCCESS ? 0 : -1;
}

/* ---------- teardown ---------- */

void agent_pod_teardown(agent *a, const char *uid, int grace_s, json_t *report, json_t *pod)
{
	runtime_status *all = NULL;
	size_t n = 0;
	_cleanup_free_ char *prefix = xasprintf("%s_", uid);
	runtime_list(a->rt, prefix, &all, &n, NULL);
	/* k8s: preStop hooks run first, within the grace period; then every container gets
	 * SIGTERM at once, and SIGKILL when the (shared) grace period runs out. */
	int64_t deadline = time_mono_ns() + (int64_t)grace_s * 1000000000LL;
	const char *ip = pod ? json_path_str(pod, "status.podIP") : NULL;
	for (size_t i = 0; i < n; i++) {
		char *u = NULL, *name = NULL;
		int att;
		if (all[i].state != RUNTIME_RUNNING ||
		    agent_container_id_parse(all[i].id, &u, &name, &att) < 0)
			continue;
		json_t *c = pod ? agent_container_spec(pod, name) : NULL;
		json_t *pre = json_path(c, "lifecycle.preStop");
		if (pre && grace_s > 0) {
			int64_t left = deadline - time_mono_ns();
			char *msg = NULL;
			if (left > 0 && run_hook(a, c, pre, all[i].id, ip, (int)(left / 1000000000LL), &msg) < 0 && report)
				event(report, "Warning", "FailedPreStopHook", "PreStopHook failed: %s", msg ? msg : "");
			free(msg);
		}
		if (report)
			event(report, "Normal", "Killing", "Stopping container %s", name);
		free(u);
		free(name);
	}
	for (size_t i = 0; i < n; i++)
		if (all[i].state == RUNTIME_RUNNING)
			runtime_kill(a->rt, all[i].id, SIGTERM, false, NULL);
	for (size_t i = 0; i < n; i++) {
		if (all[i].state == RUNTIME_RUNNING) {
			int64_t left = deadline - time_mono_ns();
			int left_s = left > 0 ? (int)((left + 999999999LL) / 1000000000LL) : 0;
			runtime_stop(a->rt, all[i].id, SIGTERM, left_s, NULL);
		}
		terr *e = NULL;
		if (runtime_delete(a->rt, all[i].id, true, &e) < 0) {
			log_warn("agent: removing container %s: %s", all[i].id, e ? e->message : "?");
			terr_free(e);
		}
	}
	runtime_statuses_free(all, n);
	cni_pod cp = {.sandbox_id = uid};
	terr *e = NULL;
	if (cni_teardown(&a->cni, &cp, &e) < 0) {
		log_warn("agent: pod %s network teardown: %s", uid, e ? e->message : "?");
		terr_free(e);
	}
	_cleanup_free_ char *cg = agent_pod_cgroup(uid);
	runtime_cgroup_remove(cg, NULL);
	terr *ve = NULL;
	if (agent_volumes_teardown(a->pods_dir, uid, &ve) < 0) {
		log_warn("agent: pod %s volumes: %s", uid, ve ? ve->message : "?");
		terr_free(ve);
	}
	_cleanup_free_ char *dir = xasprintf("%s/%s", a->pods_dir, uid);
	remove_tree(dir);
}

/* ---------- the sync ---------- */

static int grace_of(json_t *pod)
{
	json_t *g = json_path(pod, "metadata.deletionGracePeriodSeconds");
	if (!json_is_integer(g))
		g = json_path(pod, "spec.terminationGracePeriodSeconds");
	return json_is_integer(g) ? (int)json_integer_value(g) : 30;
}

void agent_pod_sync(agent_job *j)
{
	agent_sync_job *sj = (agent_sync_job *)j;
	agent *a = sj->a;
	json_t *pod = sj->pod;
	sj->report = json_pack("{s:[]}", "events");
	const char *uid = json_path_str(pod, "metadata.uid");
	if (!uid)
		return;
	if (sj->cleanup || json_path(pod, "metadata.deletionTimestamp")) {
		agent_pod_teardown(a, uid, sj->cleanup ? 0 : grace_of(pod), sj->report, sj->cleanup ? NULL : pod);
		json_object_set_new(sj->report, "tornDown", json_true());
		return;
	}
	json_t *evicted = json_object_get(sj->mem, "evicted");
	if (evicted && !json_object_get(sj->mem, "finished")) {
		/* k8s: hard eviction kills at once (no grace period); the pod object stays. */
		agent_pod_teardown(a, uid, 0, sj->report, pod);
		json_object_set(sj->report, "evicted", evicted);
		return;
	}
	if (json_object_get(sj->mem, "finished")) {
		json_object_set_new(sj->report, "finished", json_true());
		return;
	}
	char *rmsg = NULL;
	if (pod_runtime(a, pod, sj->inputs, &sj->runtime_path, &rmsg) < 0) {
		event(sj->report, "Warning", "FailedCreatePodSandBox", "Failed to create pod sandbox: %s", rmsg);
		json_object_set_new(sj->report, "sandboxError", json_string(rmsg));
		free(rmsg);
		return;
	}
	_cleanup_free_ char *dir = xasprintf("%s/%s", a->pods_dir, uid);
	mkdirs(dir, 0755);
	terr *err = NULL;
	/* A sandbox this agent wired and whose namespace still exists is not wired again
	 * (the plugins' CHECK costs a chain of execs per sync); after a restart the memory is
	 * empty and cni_setup re-adopts with CHECK. */
	const char *known = json_string_value(json_object_get(sj->mem, "podIP"));
	_cleanup_free_ char *nsp = cni_netns_path(&a->cni, uid);
	bool hostnet = json_is_true(json_path(pod, "spec.hostNetwork"));
	if (known && (hostnet || access(nsp, F_OK) == 0)) {
		sj->ip = xstrdup(known);
	} else if (!hostnet && net_may_overlap(pod) && net_begin(sj)) {
		/* the address is known once net_end has joined the wiring */
	} else if (sandbox_up(a, pod, &sj->ip, &err) < 0) {
		sandbox_failed(sj, err);
		terr_free(err);
		return;
	}
	if (sj->ip)
		net_known(sj, sj->ip, false);
	_cleanup_free_ char *hostsp = xasprintf("%s/etc-hosts", dir);
	_cleanup_free_ char *resolvp = xasprintf("%s/resolv.conf", dir);
	char *h = hosts_file(pod, sj->ip), *r = resolv_file(pod);
	if (write_file(hostsp, h) < 0 || write_file(resolvp, r) < 0)
		log_warn("agent: cannot write %s files: %s", dir, strerror(errno));
	free(h);
	free(r);
	/* The downward API reads the addresses from the pod. */
	json_t *st = json_obj_child(pod, "status");
	json_object_set_new(st, "hostIP", json_string(a->node_ip));
	json_object_set_new(st, "hostIPs", json_pack("[{s:s}]", "ip", a->node_ip));
	bool volumes_ok = agent_volumes_setup(a->pods_dir, pod, sj->inputs, &sj->paths, &err) == 0;
	if (!volumes_ok) {
		event(sj->report, "Warning", "FailedMount", "%s", err ? err->message : "volume setup failed");
		terr_free(err);
		err = NULL;
	}

	runtime_status *all;
	size_t n;
	json_t *by = seen_containers(a, uid, &all, &n);
	bool init_done = volumes_ok, init_failed = false;
	size_t i;
	json_t *c;
	json_array_foreach(json_path(pod, "spec.initContainers"), i, c)
	{
		if (!volumes_ok)
			break;
		cstate s = step_container(sj, c, by, all, true);
		bool sidecar = str_eq(json_string_value(json_object_get(c, "restartPolicy")), "Always");
		if (s == C_DONE_OK || (sidecar && s == C_RUNNING))
			continue;
		init_done = false;
		init_failed = s == C_DONE_FAIL;
		break;
	}
	if (init_done)
		json_array_foreach(json_path(pod, "spec.containers"), i, c)
		    step_container(sj, c, by, all, false);
	json_decref(by);
	runtime_statuses_free(all, n);
	/* No container was created (an image to pull, a back-off): the network still ends
	 * here. A failed one ends the sync like a sandbox that could not be made. */
	if (net_end(sj) < 0) {
		free(sj->ip);
		sj->ip = NULL;
		return;
	}

	/* Read back what the steps did, for the statuses. */
	by = seen_containers(a, uid, &all, &n);
	json_t *ics = json_array(), *cs = json_array();
	json_array_foreach(json_path(pod, "spec.initContainers"), i, c)
	    json_array_append_new(ics, container_status(sj, c, by, all));
	json_array_foreach(json_path(pod, "spec.containers"), i, c)
	    json_array_append_new(cs, container_status(sj, c, by, all));
	json_object_set_new(sj->report, "initContainerStatuses", ics);
	json_object_set_new(sj->report, "containerStatuses", cs);
	json_object_set_new(sj->report, "initDone", json_boolean(init_done));
	json_object_set_new(sj->report, "initFailed", json_boolean(init_failed));
	json_decref(by);
	runtime_statuses_free(all, n);
	free(sj->ip);
	sj->ip = NULL;
}
