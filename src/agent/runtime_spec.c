/* runtime_spec.c — the OCI runtime spec (config.json) for one container of a pod: the
 * process (command and args over the image's Entrypoint and Cmd, env with $(VAR)
 * expansion, working folder, oom_score_adj), root, hostname, mounts, namespaces,
 * cgroupsPath and resources (cgroup v1 and v2 forms), devices, masked paths, sysctls and
 * annotations. The security pieces (user, capabilities, seccomp) are in
 * runtime_security.c.
 *
 * A pure function of its input apart from reading the image's /etc/passwd and /etc/group
 * from the rootfs, a Localhost seccomp profile, and (when asked) the machine's memory,
 * cgroup version and /dev for privileged containers.
 * Not for: running anything (runtime_runc.c). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "agent/runtime-internal.h"
#include "base/json.h"
#include "base/quantity.h"
#include "base/util.h"

#define DEFAULT_PATH_ENV         "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define CPU_PERIOD_US            100000
#define SYSTEM_CRITICAL_PRIORITY 2000000000

/* ---- kubelet's conversions ---- */

uint64_t runtime_cpu_shares(int64_t milli_cpu)
{
	/* k8s: MilliCPUToShares: 0 -> MinShares (2); shares = milli * 1024 / 1000. */
	if (milli_cpu <= 0)
		return 2;
	uint64_t s = (uint64_t)milli_cpu * 1024 / 1000;
	if (s < 2)
		s = 2;
	if (s > 262144)
		s = 262144;
	return s;
}

int64_t runtime_cpu_quota(int64_t milli_cpu, uint64_t period)
{
	/* k8s: MilliCPUToQuota: milli * period / 1000, at least MinQuotaPeriod (1000 µs). */
	if (milli_cpu <= 0)
		return 0;
	int64_t q = milli_cpu * (int64_t)period / 1000;
	return q < 1000 ? 1000 : q;
}

uint64_t runtime_cpu_weight(uint64_t shares)
{
	/* The OCI runtimes' cgroup v1 -> v2 mapping: [2, 262144] -> [1, 10000]. */
	if (shares < 2)
		shares = 2;
	if (shares > 262144)
		shares = 262144;
	return 1 + ((shares - 2) * 9999) / 262142;
}

int runtime_cgroup_version(void)
{
	return access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0 ? 2 : 1;
}

/* A resource quantity of a container (requests or limits), or false when absent. */
static bool ctr_quantity(json_t *ctr, const char *kind, const char *name, quantity *q)
{
	json_t *v = json_object_get(json_object_get(json_object_get(ctr, "resources"), kind), name);
	if (!v)
		return false;
	terr *e = NULL;
	if (quantity_parse_json(v, q, &e) < 0) {
		terr_free(e);
		return false;
	}
	return true;
}

/* k8s: a request that is not set defaults to the limit (API defaulting). */
static bool ctr_request(json_t *ctr, const char *name, quantity *q)
{
	return ctr_quantity(ctr, "requests", name, q) || ctr_quantity(ctr, "limits", name, q);
}

const char *runtime_pod_qos(json_t *pod)
{
	static const char *const classes[] = {"Guaranteed", "Burstable", "BestEffort"};
	const char *s = json_path_str(pod, "status.qosClass");
	for (size_t i = 0; s && i < ARRAY_SIZE(classes); i++)
		if (!strcmp(s, classes[i]))
			return classes[i];
	/* k8s: GetPodQOS over containers and init containers, for cpu and memory only. */
	static const char *const lists[] = {"spec.containers", "spec.initContainers"};
	static const char *const res[] = {"cpu", "memory"};
	bool any = false, guaranteed = true;
	for (size_t l = 0; l < ARRAY_SIZE(lists); l++) {
		size_t i;
		json_t *c;
		json_array_foreach(json_path(pod, lists[l]), i, c)
		{
			for (size_t r = 0; r < ARRAY_SIZE(res); r++) {
				quantity req, lim;
				bool has_req = ctr_quantity(c, "requests", res[r], &req) &&
				               !quantity_is_zero(&req);
				bool has_lim = ctr_quantity(c, "limits", res[r], &lim) &&
				               !quantity_is_zero(&lim);
				any = any || has_req || has_lim;
				if (!has_lim || (has_req && quantity_cmp(&req, &lim) != 0))
					guaranteed = false;
			}
		}
	}
	if (!any)
		return "BestEffort";
	return guaranteed ? "Guaranteed" : "Burstable";
}

/* k8s: GetContainerOOMScoreAdjust (pkg/kubelet/qos/policy.go). */
static int oom_score_adj(json_t *pod, json_t *ctr, int64_t machine_memory)
{
	json_t *prio = json_path(pod, "spec.priority");
	if (json_is_integer(prio) && json_integer_value(prio) >= SYSTEM_CRITICAL_PRIORITY)
		return -997;
	const char *qos = runtime_pod_qos(pod);
	if (!strcmp(qos, "Guaranteed"))
		return -997;
	if (!strcmp(qos, "BestEffort"))
		return 1000;
	quantity mem;
	int64_t req = ctr_request(ctr, "memory", &mem) ? quantity_value(&mem) : 0;
	if (machine_memory <= 0) {
		long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
		machine_memory = pages > 0 && psz > 0 ? (int64_t)pages * psz : 1;
	}
	int64_t adj = 1000 - (int64_t)((__int128)1000 * req / machine_memory);
	if (adj < 1000 - 997)
		return 1000 - 997;
	if (adj >= 1000)
		return 999;
	return (int)adj;
}

/* ---- env and $(VAR) ---- */

typedef struct envlist {
	char **v; /* "KEY=value" */
	size_t n;
} envlist;

static const char *env_lookup(char *const *env, size_t n, const char *name, size_t len)
{
	for (size_t i = n; i-- > 0;)
		if (!strncmp(env[i], name, len) && env[i][len] == '=')
			return env[i] + len + 1;
	return NULL;
}

char *runtime_expand_env(const char *s, char *const *env, size_t n)
{
	buf b = {0};
	buf_puts(&b, "");
	for (size_t i = 0; s[i];) {
		if (s[i] != '$' || !s[i + 1]) {
			buf_putc(&b, s[i++]);
			continue;
		}
		if (s[i + 1] == '$') { /* $$ -> $ */
			buf_putc(&b, '$');
			i += 2;
			continue;
		}
		if (s[i + 1] != '(') { /* $x stays */
			buf_putc(&b, '$');
			i++;
			continue;
		}
		const char *close = strchr(s + i + 2, ')');
		if (!close) { /* unclosed: literal */
			buf_puts(&b, s + i);
			break;
		}
		size_t len = (size_t)(close - (s + i + 2));
		const char *val = len ? env_lookup(env, n, s + i + 2, len) : NULL;
		if (val)
			buf_puts(&b, val);
		else
			buf_add(&b, s + i, len + 3); /* k8s: unknown references stay as written */
		i += len + 3;
	}
	return buf_take(&b);
}

/* Sets KEY=value in l, replacing an earlier KEY in place. Takes kv. */
static void env_set(envlist *l, char *kv)
{
	const char *eq = strchr(kv, '=');
	size_t klen = eq ? (size_t)(eq - kv) : strlen(kv);
	for (size_t i = 0; i < l->n; i++) {
		if (!strncmp(l->v[i], kv, klen) && (l->v[i][klen] == '=' || !l->v[i][klen])) {
			free(l->v[i]);
			l->v[i] = kv;
			return;
		}
	}
	l->v = xrealloc(l->v, (l->n + 2) * sizeof *l->v);
	l->v[l->n++] = kv;
	l->v[l->n] = NULL;
}

static void envlist_free(envlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* The container's own env (kubelet's list): container env entries expanded against those
 * before them and the extra (service) env, then the extra env not already set. */
static int container_env(json_t *ctr, char *const *extra, envlist *out, terr **err)
{
	size_t i;
	json_t *e;
	envlist scope = {0}; /* extra env first, then what the container defined so far */
	for (size_t k = 0; extra && extra[k]; k++)
		env_set(&scope, xstrdup(extra[k]));
	json_array_foreach(json_object_get(ctr, "env"), i, e)
	{
		const char *name = json_string_value(json_object_get(e, "name"));
		json_t *value = json_object_get(e, "value");
		if (!name || !*name)
			continue;
		if (!value && json_object_get(e, "valueFrom")) {
			envlist_free(&scope);
			return terr_set(err, 400, "CreateContainerConfigError",
			                "env %s: valueFrom must be resolved by the caller", name);
		}
		_cleanup_free_ char *v = runtime_expand_env(
		    json_string_value(value) ? json_string_value(value) : "", scope.v, scope.n);
		env_set(out, xasprintf("%s=%s", name, v));
		env_set(&scope, xasprintf("%s=%s", name, v));
	}
	envlist_free(&scope);
	for (size_t k = 0; extra && extra[k]; k++) {
		const char *eq = strchr(extra[k], '=');
		size_t klen = eq ? (size_t)(eq - extra[k]) : strlen(extra[k]);
		if (!env_lookup(out->v, out->n, extra[k], klen))
			env_set(out, xstrdup(extra[k]));
	}
	return 0;
}

/* ---- process ---- */

static json_t *strings(char *const *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n && v[i]; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static size_t strv_len(char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

/* k8s: command replaces the image's Entrypoint and args its Cmd; command without args
 * ignores Cmd; args alone run after the Entrypoint. $(VAR) expands in both. */
static json_t *process_args(json_t *ctr, const image_config *img, const envlist *cenv)
{
	json_t *cmd = json_object_get(ctr, "command"), *args = json_object_get(ctr, "args");
	bool has_cmd = json_array_size(cmd) > 0, has_args = json_array_size(args) > 0;
	json_t *out = json_array();
	size_t i;
	json_t *v;
	if (has_cmd) {
		json_array_foreach(cmd, i, v)
		{
			char *s = runtime_expand_env(
			    json_string_value(v) ? json_string_value(v) : "", cenv->v, cenv->n);
			json_array_append_new(out, json_string(s));
			free(s);
		}
	} else if (img && img->entrypoint) {
		json_t *e = strings(img->entrypoint, strv_len(img->entrypoint));
		json_array_extend(out, e);
		json_decref(e);
	}
	if (has_args) {
		json_array_foreach(args, i, v)
		{
			char *s = runtime_expand_env(
			    json_string_value(v) ? json_string_value(v) : "", cenv->v, cenv->n);
			json_array_append_new(out, json_string(s));
			free(s);
		}
	} else if (!has_cmd && img && img->cmd) {
		json_t *c = strings(img->cmd, strv_len(img->cmd));
		json_array_extend(out, c);
		json_decref(c);
	}
	return out;
}

static json_t *process_json(const runtime_spec_input *in, bool privileged, char *const *caps,
                            const rt_user *user, json_t *args, const envlist *env)
{
	json_t *p = json_object();
	/* k8s tty: the process gets a terminal (conmon holds its console), and TERM=xterm
	 * unless the container sets TERM, as the CRI runtimes do. */
	bool tty = json_is_true(json_object_get(in->container, "tty"));
	json_object_set_new(p, "terminal", json_boolean(tty));
	json_t *u = json_object();
	json_object_set_new(u, "uid", json_integer(user->uid));
	json_object_set_new(u, "gid", json_integer(user->gid));
	if (user->n_groups) {
		json_t *g = json_array();
		for (size_t i = 0; i < user->n_groups; i++)
			json_array_append_new(g, json_integer(user->groups[i]));
		json_object_set_new(u, "additionalGids", g);
	}
	json_object_set_new(p, "user", u);
	json_object_set_new(p, "args", args);
	json_t *ev = strings(env->v, env->n);
	bool has_term = false;
	for (size_t i = 0; i < env->n; i++)
		has_term = has_term || str_has_prefix(env->v[i], "TERM=");
	if (tty && !has_term)
		json_array_append_new(ev, json_string("TERM=xterm"));
	json_object_set_new(p, "env", ev);
	const char *wd = json_string_value(json_object_get(in->container, "workingDir"));
	if (!wd || !*wd)
		wd = in->image && in->image->working_dir && *in->image->working_dir
		         ? in->image->working_dir
		         : "/";
	json_object_set_new(p, "cwd", json_string(wd));
	json_t *c = json_object();
	size_t nc = strv_len(caps);
	/* Inheritable and ambient stay empty, as the CRI runtimes keep them. */
	json_object_set_new(c, "bounding", strings(caps, nc));
	json_object_set_new(c, "effective", strings(caps, nc));
	json_object_set_new(c, "permitted", strings(caps, nc));
	json_object_set_new(p, "capabilities", c);
	/* k8s: allowPrivilegeEscalation: false sets no_new_privs; unset or true does not. */
	json_t *ape = json_object_get(json_object_get(in->container, "securityContext"),
	                              "allowPrivilegeEscalation");
	json_object_set_new(p, "noNewPrivileges", json_boolean(!privileged && json_is_false(ape)));
	json_object_set_new(
	    p, "oomScoreAdj",
	    json_integer(oom_score_adj(in->pod, in->container, in->machine_memory)));
	return p;
}

/* ---- mounts ---- */

static json_t *mount_json(const char *dst, const char *type, const char *src,
                          const char *const *opts)
{
	json_t *m = json_object();
	json_object_set_new(m, "destination", json_string(dst));
	json_object_set_new(m, "type", json_string(type));
	json_object_set_new(m, "source", json_string(src));
	json_t *o = json_array();
	for (size_t i = 0; opts[i]; i++)
		json_array_append_new(o, json_string(opts[i]));
	json_object_set_new(m, "options", o);
	return m;
}

static size_t path_depth(const char *p)
{
	size_t d = 0;
	for (; *p; p++)
		if (*p == '/' && p[1] && p[1] != '/')
			d++;
	return d;
}

static int mounts_json(const runtime_spec_input *in, bool privileged, json_t **out, terr **err)
{
	const char *ro = privileged ? "rw" : "ro";
	json_t *defaults[] = {
	    mount_json("/proc", "proc", "proc",
	               (const char *const[]){"nosuid", "noexec", "nodev", NULL}),
	    mount_json(
	        "/dev", "tmpfs", "tmpfs",
	        (const char *const[]){"nosuid", "strictatime", "mode=755", "size=65536k", NULL}),
	    mount_json("/dev/pts", "devpts", "devpts",
	               (const char *const[]){"nosuid", "noexec", "newinstance", "ptmxmode=0666",
	                                     "mode=0620", "gid=5", NULL}),
	    mount_json("/dev/mqueue", "mqueue", "mqueue",
	               (const char *const[]){"nosuid", "noexec", "nodev", NULL}),
	    mount_json("/sys", "sysfs", "sysfs",
	               (const char *const[]){"nosuid", "noexec", "nodev", ro, NULL}),
	    mount_json("/sys/fs/cgroup", "cgroup", "cgroup",
	               (const char *const[]){"nosuid", "noexec", "nodev", "relatime", ro, NULL}),
	    mount_json("/dev/shm", "tmpfs", "shm",
	               (const char *const[]){"nosuid", "noexec", "nodev", "mode=1777",
	                                     "size=65536k", NULL}),
	};
	json_t *all = json_array();
	for (size_t i = 0; i < ARRAY_SIZE(defaults); i++) {
		const char *dst = json_string_value(json_object_get(defaults[i], "destination"));
		bool replaced = false;
		for (size_t k = 0; k < in->n_mounts; k++)
			replaced = replaced || str_eq(in->mounts[k].destination, dst);
		if (replaced)
			json_decref(defaults[i]);
		else
			json_array_append_new(all, defaults[i]);
	}
	for (size_t k = 0; k < in->n_mounts; k++) {
		const runtime_mount *m = &in->mounts[k];
		if (!m->source || !m->destination || m->destination[0] != '/') {
			json_decref(all);
			return terr_set(err, 400, "CreateContainerConfigError",
			                "mount %s: needs a source and an absolute destination",
			                m->destination ? m->destination : "(none)");
		}
		const char *prop = "rprivate";
		if (str_eq(m->propagation, "HostToContainer"))
			prop = "rslave";
		else if (str_eq(m->propagation, "Bidirectional")) {
			/* k8s: Bidirectional propagation is only for privileged containers. */
			if (!privileged) {
				json_decref(all);
				return terr_set(err, 400, "CreateContainerConfigError",
				                "mount %s: Bidirectional mount propagation needs a "
				                "privileged container",
				                m->destination);
			}
			prop = "rshared";
		}
		json_array_append_new(
		    all, mount_json(m->destination, "bind", m->source,
		                    (const char *const[]){"rbind", prop, m->readonly ? "ro" : "rw",
		                                          NULL}));
	}
	/* Parents before children: a stable sort by depth. */
	size_t n = json_array_size(all);
	json_t **v = xcalloc(n ? n : 1, sizeof *v);
	for (size_t i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(all, i));
	for (size_t i = 1; i < n; i++) {
		json_t *x = v[i];
		size_t dx = path_depth(json_string_value(json_object_get(x, "destination")));
		size_t j = i;
		while (j > 0 && path_depth(json_string_value(
		                    json_object_get(v[j - 1], "destination"))) > dx) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = x;
	}
	json_array_clear(all);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(all, v[i]);
	free(v);
	*out = all;
	return 0;
}

/* ---- linux ---- */

static json_t *ns(const char *type, const char *path)
{
	json_t *o = json_object();
	json_object_set_new(o, "type", json_string(type));
	if (path)
		json_object_set_new(o, "path", json_string(path));
	return o;
}

static json_t *device_rule(bool allow, const char *type, int64_t major, int64_t minor,
                           const char *access)
{
	json_t *d = json_object();
	json_object_set_new(d, "allow", json_boolean(allow));
	if (type)
		json_object_set_new(d, "type", json_string(type));
	if (major >= 0)
		json_object_set_new(d, "major", json_integer(major));
	if (minor >= 0)
		json_object_set_new(d, "minor", json_integer(minor));
	json_object_set_new(d, "access", json_string(access));
	return d;
}

/* k8s: the device cgroup the CRI runtimes give an unprivileged container: mknod of
 * anything, and use of null, zero, full, random, urandom, tty, console, ptmx, pts, tun. */
static json_t *default_device_rules(void)
{
	static const struct {
		int64_t major, minor;
	} allowed[] = {{1, 3}, {1, 5}, {1, 7}, {1, 8},    {1, 9},
	               {5, 0}, {5, 1}, {5, 2}, {136, -1}, {10, 200}};
	json_t *a = json_array();
	json_array_append_new(a, device_rule(false, NULL, -1, -1, "rwm"));
	json_array_append_new(a, device_rule(true, "c", -1, -1, "m"));
	json_array_append_new(a, device_rule(true, "b", -1, -1, "m"));
	for (size_t i = 0; i < ARRAY_SIZE(allowed); i++)
		json_array_append_new(
		    a, device_rule(true, "c", allowed[i].major, allowed[i].minor, "rwm"));
	return a;
}

/* A privileged container gets the host's device nodes (below /dev, but not the pts, shm
 * and mqueue mounts, which it has its own of). */
static void host_devices(const char *dir, int depth, json_t *out)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		_cleanup_free_ char *p = xasprintf("%s/%s", dir, e->d_name);
		if (!strcmp(p, "/dev/pts") || !strcmp(p, "/dev/shm") || !strcmp(p, "/dev/mqueue") ||
		    !strcmp(p, "/dev/console"))
			continue;
		struct stat st;
		if (lstat(p, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode) && depth < 3) {
			host_devices(p, depth + 1, out);
			continue;
		}
		if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
			continue;
		json_t *dev = json_object();
		json_object_set_new(dev, "path", json_string(p));
		json_object_set_new(dev, "type", json_string(S_ISCHR(st.st_mode) ? "c" : "b"));
		json_object_set_new(dev, "major", json_integer(major(st.st_rdev)));
		json_object_set_new(dev, "minor", json_integer(minor(st.st_rdev)));
		json_object_set_new(dev, "fileMode", json_integer(st.st_mode & 07777));
		json_object_set_new(dev, "uid", json_integer(st.st_uid));
		json_object_set_new(dev, "gid", json_integer(st.st_gid));
		json_array_append_new(out, dev);
	}
	closedir(d);
}

/* linux.resources from the container's requests and limits. */
static json_t *resources_json(json_t *ctr, bool privileged, int cgroup_version)
{
	json_t *r = json_object();
	json_t *devs;
	if (privileged) {
		devs = json_array();
		json_array_append_new(devs, device_rule(true, NULL, -1, -1, "rwm"));
	} else {
		devs = default_device_rules();
	}
	json_object_set_new(r, "devices", devs);

	quantity q;
	int64_t req_milli = ctr_request(ctr, "cpu", &q) ? quantity_milli(&q) : 0;
	int64_t lim_milli = ctr_quantity(ctr, "limits", "cpu", &q) ? quantity_milli(&q) : 0;
	int64_t mem_limit = ctr_quantity(ctr, "limits", "memory", &q) ? quantity_value(&q) : 0;
	uint64_t shares = runtime_cpu_shares(req_milli);
	int64_t quota = runtime_cpu_quota(lim_milli, CPU_PERIOD_US);
	if (cgroup_version == 2) {
		/* The unified form: what the v1 values become on cgroup v2. */
		json_t *u = json_object();
		json_object_set_new(
		    u, "cpu.weight",
		    json_sprintf("%llu", (unsigned long long)runtime_cpu_weight(shares)));
		if (quota > 0)
			json_object_set_new(
			    u, "cpu.max", json_sprintf("%lld %d", (long long)quota, CPU_PERIOD_US));
		if (mem_limit > 0)
			json_object_set_new(u, "memory.max",
			                    json_sprintf("%lld", (long long)mem_limit));
		json_object_set_new(r, "unified", u);
		return r;
	}
	json_t *cpu = json_object();
	json_object_set_new(cpu, "shares", json_integer((json_int_t)shares));
	if (quota > 0) {
		json_object_set_new(cpu, "quota", json_integer(quota));
		json_object_set_new(cpu, "period", json_integer(CPU_PERIOD_US));
	}
	json_object_set_new(r, "cpu", cpu);
	if (mem_limit > 0) {
		json_t *mem = json_object();
		json_object_set_new(mem, "limit", json_integer(mem_limit));
		json_object_set_new(r, "memory", mem);
	}
	return r;
}

static json_t *strarr(const char *const *v)
{
	json_t *a = json_array();
	for (size_t i = 0; v[i]; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static json_t *linux_json(const runtime_spec_input *in, bool privileged, int cgv,
                          const char *cgroup_path)
{
	json_t *spec = json_path(in->pod, "spec");
	bool host_net = json_is_true(json_object_get(spec, "hostNetwork"));
	bool host_pid = json_is_true(json_object_get(spec, "hostPID"));
	bool host_ipc = json_is_true(json_object_get(spec, "hostIPC"));
	json_t *l = json_object();
	json_t *n = json_array();
	json_array_append_new(n, ns("mount", NULL));
	if (!host_pid)
		json_array_append_new(n, ns("pid", in->pidns_path));
	if (!host_net)
		json_array_append_new(n, ns("network", in->netns_path));
	if (!host_ipc)
		json_array_append_new(n, ns("ipc", in->ipcns_path));
	/* k8s: hostNetwork pods see the node's hostname (no UTS namespace of their own). */
	if (!host_net || in->utsns_path)
		json_array_append_new(n, ns("uts", in->utsns_path));
	if (cgv == 2)
		json_array_append_new(n, ns("cgroup", NULL));
	json_object_set_new(l, "namespaces", n);
	json_object_set_new(l, "cgroupsPath", json_string(cgroup_path));
	json_object_set_new(l, "resources", resources_json(in->container, privileged, cgv));
	if (privileged) {
		json_t *devs = json_array();
		host_devices("/dev", 0, devs);
		json_object_set_new(l, "devices", devs);
	}

	/* k8s: procMount Unmasked (and privileged) drops the masks. */
	const char *proc_mount = json_string_value(
	    json_object_get(json_object_get(in->container, "securityContext"), "procMount"));
	if (!privileged && !str_eq(proc_mount, "Unmasked")) {
		static const char *const masked[] = {"/proc/acpi",
		                                     "/proc/asound",
		                                     "/proc/kcore",
		                                     "/proc/keys",
		                                     "/proc/latency_stats",
		                                     "/proc/timer_list",
		                                     "/proc/timer_stats",
		                                     "/proc/sched_debug",
		                                     "/proc/scsi",
		                                     "/sys/firmware",
		                                     "/sys/devices/virtual/powercap",
		                                     NULL};
		static const char *const readonly[] = {
		    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL};
		json_object_set_new(l, "maskedPaths", strarr(masked));
		json_object_set_new(l, "readonlyPaths", strarr(readonly));
	}
	json_t *sysctls = json_object_get(json_path(in->pod, "spec.securityContext"), "sysctls");
	if (json_array_size(sysctls)) {
		json_t *m = json_object();
		size_t i;
		json_t *s;
		json_array_foreach(sysctls, i, s)
		{
			const char *k = json_string_value(json_object_get(s, "name"));
			const char *v = json_string_value(json_object_get(s, "value"));
			if (k && v)
				json_object_set_new(m, k, json_string(v));
		}
		json_object_set_new(l, "sysctl", m);
	}
	return l;
}

static json_t *annotations_json(const runtime_spec_input *in)
{
	json_t *a = json_object();
	struct {
		const char *key, *val;
	} kv[] = {
	    {"io.kubernetes.pod.name", json_path_str(in->pod, "metadata.name")},
	    {"io.kubernetes.pod.namespace", json_path_str(in->pod, "metadata.namespace")},
	    {"io.kubernetes.pod.uid", json_path_str(in->pod, "metadata.uid")},
	    {"io.kubernetes.container.name",
	     json_string_value(json_object_get(in->container, "name"))},
	    {"io.kubernetes.container.image", in->image_ref},
	    {"timon.io/image-id", in->image_id},
	    {"io.kubernetes.container.terminationMessagePath",
	     json_string_value(json_object_get(in->container, "terminationMessagePath"))},
	};
	for (size_t i = 0; i < ARRAY_SIZE(kv); i++)
		if (kv[i].val)
			json_object_set_new(a, kv[i].key, json_string(kv[i].val));
	json_object_set_new(a, "io.kubernetes.container.restartCount",
	                    json_sprintf("%d", in->restart_count));
	return a;
}

int runtime_spec_build(const runtime_spec_input *in, json_t **out, terr **err)
{
	*out = NULL;
	if (!in->id || !in->pod || !in->container || !in->rootfs)
		return terr_set(err, 400, "CreateContainerConfigError",
		                "runtime spec: id, pod, container and rootfs are required");
	json_t *sc = json_object_get(in->container, "securityContext");
	bool privileged = json_is_true(json_object_get(sc, "privileged"));
	int cgv = in->cgroup_version ? in->cgroup_version : runtime_cgroup_version();

	/* env: HOSTNAME, the image's, then kubelet's list (service env under the container's). */
	const char *hn = in->hostname;
	if (!hn)
		hn = json_path_str(in->pod, "spec.hostname");
	if (!hn)
		hn = json_path_str(in->pod, "metadata.name");
	/* k8s: a pod hostname over 63 characters is cut to 63, then trailing '-' and '.' go. */
	_cleanup_free_ char *hostname = hn ? xstrndup(hn, strnlen(hn, 63)) : NULL;
	if (hn && strlen(hn) > 63)
		for (size_t l = strlen(hostname); l && strchr("-.", hostname[l - 1]); l--)
			hostname[l - 1] = '\0';
	envlist cenv = {0}, env = {0};
	if (container_env(in->container, in->extra_env, &cenv, err) < 0)
		return terr_wrap(err, "container %s",
		                 json_string_value(json_object_get(in->container, "name")));
	if (hostname)
		env_set(&env, xasprintf("HOSTNAME=%s", hostname));
	for (size_t i = 0; in->image && in->image->env && in->image->env[i]; i++)
		env_set(&env, xstrdup(in->image->env[i]));
	for (size_t i = 0; i < cenv.n; i++)
		env_set(&env, xstrdup(cenv.v[i]));
	if (!env_lookup(env.v, env.n, "PATH", 4))
		env_set(&env, xstrdup(DEFAULT_PATH_ENV));

	json_t *args = process_args(in->container, in->image, &cenv);
	envlist_free(&cenv);
	if (json_array_size(args) == 0) {
		json_decref(args);
		envlist_free(&env);
		return terr_set(err, 400, "CreateContainerError", "no command specified");
	}

	rt_user user;
	if (rt_spec_user(in->pod, in->container, in->image ? in->image->user : NULL, in->rootfs,
	                 &user, err) < 0) {
		json_decref(args);
		envlist_free(&env);
		return -1;
	}
	char **caps = rt_spec_caps(in->container, privileged,
	                           in->cap_bounding ? in->cap_bounding : rt_cap_bounding());
	json_t *seccomp = NULL, *mounts = NULL;
	if (rt_spec_seccomp(in->pod, in->container, privileged, caps, in->seccomp_root, &seccomp,
	                    err) < 0 ||
	    mounts_json(in, privileged, &mounts, err) < 0) {
		json_decref(args);
		json_decref(seccomp);
		envlist_free(&env);
		rt_user_free(&user);
		image_strv_free(caps);
		return -1;
	}

	json_t *spec = json_object();
	json_object_set_new(spec, "ociVersion", json_string("1.0.2"));
	json_object_set_new(spec, "process", process_json(in, privileged, caps, &user, args, &env));
	envlist_free(&env);
	rt_user_free(&user);
	image_strv_free(caps);

	json_t *root = json_object();
	json_object_set_new(root, "path", json_string(in->rootfs));
	json_object_set_new(
	    root, "readonly",
	    json_boolean(json_is_true(json_object_get(sc, "readOnlyRootFilesystem"))));
	json_object_set_new(spec, "root", root);
	bool host_net = json_is_true(json_path(in->pod, "spec.hostNetwork"));
	if (hostname && (!host_net || in->utsns_path))
		json_object_set_new(spec, "hostname", json_string(hostname));
	json_object_set_new(spec, "mounts", mounts);

	_cleanup_free_ char *cg_parent = NULL;
	if (in->cgroup_parent)
		cg_parent = xstrdup(in->cgroup_parent);
	else
		cg_parent = xasprintf("/timon/pod%s", json_path_str(in->pod, "metadata.uid")
		                                          ? json_path_str(in->pod, "metadata.uid")
		                                          : "-unknown");
	_cleanup_free_ char *cg = xasprintf("%s/%s", cg_parent, in->id);
	json_t *lin = linux_json(in, privileged, cgv, cg);
	if (seccomp)
		json_object_set_new(lin, "seccomp", seccomp);
	json_object_set_new(spec, "linux", lin);
	json_object_set_new(spec, "annotations", annotations_json(in));
	*out = spec;
	return 0;
}
