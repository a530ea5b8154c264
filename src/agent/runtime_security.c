/* runtime_security.c — the security half of the OCI spec: which user and groups the
 * process runs as (securityContext over the image's User, names looked up inside the
 * rootfs, runAsNonRoot), its capabilities (the default set runtimes give Kubernetes
 * containers, with add/drop), and its seccomp filter (RuntimeDefault, Localhost).
 *
 * RuntimeDefault is an approximation of the profile Docker and containerd ship, written
 * the other way round: everything is allowed except a deny list (EPERM) of calls that
 * reach outside the container's namespaces, each lifted when the container holds the
 * capability that governs it; namespace flags to clone(2) are refused without
 * CAP_SYS_ADMIN, and clone3(2) answers ENOSYS so libcs fall back to clone. See
 * docs/runtime.md.
 * Not for: the rest of config.json (runtime_spec.c). */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent/runtime-internal.h"
#include "base/json.h"
#include "base/util.h"

json_t *rt_sc_get(json_t *pod, json_t *ctr, const char *key)
{
	json_t *v = json_object_get(json_object_get(ctr, "securityContext"), key);
	if (v && !json_is_null(v))
		return v;
	v = json_object_get(json_path(pod, "spec.securityContext"), key);
	return v && !json_is_null(v) ? v : NULL;
}

/* ---- users ---- */

/* Reads <rootfs>/<rel> without leaving the rootfs (symlinks resolve inside it). NULL when
 * it cannot be read. */
static char *read_in_root(const char *rootfs, const char *rel)
{
	if (!rootfs)
		return NULL;
	_cleanup_close_ int root = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return NULL;
	struct open_how how = {.flags = O_RDONLY | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT};
	_cleanup_close_ int fd = (int)syscall(SYS_openat2, root, rel, &how, sizeof how);
	if (fd < 0 && errno == ENOSYS) /* old kernel: refuse symlinks rather than follow them */
		fd = openat(root, rel, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return NULL;
	buf b = {0};
	char chunk[4096];
	ssize_t r;
	while ((r = read(fd, chunk, sizeof chunk)) > 0 && b.n < (1u << 20))
		buf_add(&b, chunk, (size_t)r);
	if (!b.p)
		buf_puts(&b, "");
	return buf_take(&b);
}

static bool parse_id(const char *s, uint32_t *out)
{
	if (!s || !*s)
		return false;
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (*end || errno || v > 0xffffffffUL || s[0] == '-' || s[0] == '+')
		return false;
	*out = (uint32_t)v;
	return true;
}

/* Finds a line of an /etc/passwd or /etc/group file whose field `key_field` equals key;
 * copies its fields (at most 8) into f. */
static bool db_find(const char *db, int key_field, const char *key, char f[8][256])
{
	if (!db)
		return false;
	for (const char *line = db; *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		int nf = 0;
		const char *p = line, *end = line + len;
		while (nf < 8) {
			const char *c = memchr(p, ':', (size_t)(end - p));
			size_t fl = (c ? (size_t)(c - p) : (size_t)(end - p));
			if (fl > 255)
				fl = 255;
			memcpy(f[nf], p, fl);
			f[nf][fl] = '\0';
			nf++;
			if (!c)
				break;
			p = c + 1;
		}
		for (int i = nf; i < 8; i++)
			f[i][0] = '\0';
		if (line[0] != '#' && nf > key_field && !strcmp(f[key_field], key))
			return true;
		line = nl ? nl + 1 : end;
	}
	return false;
}

static void add_gid(rt_user *u, uint32_t g)
{
	for (size_t i = 0; i < u->n_groups; i++)
		if (u->groups[i] == g)
			return;
	u->groups = xrealloc(u->groups, (u->n_groups + 1) * sizeof *u->groups);
	u->groups[u->n_groups++] = g;
}

#define config_error(err, ...) terr_set(err, 400, "CreateContainerConfigError", __VA_ARGS__)

int rt_spec_user(json_t *pod, json_t *ctr, const char *image_user, const char *rootfs, rt_user *out,
                 terr **err)
{
	memset(out, 0, sizeof *out);
	const char *cname = json_string_value(json_object_get(ctr, "name"));
	const char *pname = json_path_str(pod, "metadata.name");
	if (!cname)
		cname = "";
	if (!pname)
		pname = "";
	json_t *run_user = rt_sc_get(pod, ctr, "runAsUser");
	json_t *run_group = rt_sc_get(pod, ctr, "runAsGroup");
	bool non_root = json_is_true(rt_sc_get(pod, ctr, "runAsNonRoot"));
	_cleanup_free_ char *passwd = read_in_root(rootfs, "etc/passwd");
	_cleanup_free_ char *group = read_in_root(rootfs, "etc/group");
	char f[8][256];

	/* The image's User: "", "uid", "name", "uid:gid", "name:group". */
	_cleanup_free_ char *iu = xstrdup(image_user ? image_user : "");
	char *ig = strchr(iu, ':');
	if (ig)
		*ig++ = '\0';
	bool user_numeric = !*iu || parse_id(iu, &out->uid);
	char user_name[256] = "";
	bool have_gid = false;

	/* k8s: runAsNonRoot is checked against runAsUser, else against the image's user,
	 * which must then be numeric (kubelet cannot verify a name). */
	if (non_root) {
		if (run_user && json_integer_value(run_user) == 0)
			return config_error(
			    err,
			    "container's runAsUser breaks non-root policy (pod: \"%s\", "
			    "container: %s)",
			    pname, cname);
		if (!run_user && !user_numeric)
			return config_error(
			    err,
			    "container has runAsNonRoot and image has non-numeric user "
			    "(%s), cannot verify user is non-root (pod: \"%s\")",
			    iu, pname);
		if (!run_user && out->uid == 0)
			return config_error(
			    err,
			    "container has runAsNonRoot and image will run as root (pod: "
			    "\"%s\", container: %s)",
			    pname, cname);
	}

	if (run_user) {
		out->uid = (uint32_t)json_integer_value(run_user);
	} else if (!user_numeric) {
		if (!db_find(passwd, 0, iu, f) || !parse_id(f[2], &out->uid))
			return terr_set(
			    err, 400, "CreateContainerConfigError",
			    "unable to find user %s: no matching entries in passwd file", iu);
		snprintf(user_name, sizeof user_name, "%s", iu);
		if (parse_id(f[3], &out->gid))
			have_gid = true;
	}
	if (!*user_name) {
		char uidbuf[16];
		snprintf(uidbuf, sizeof uidbuf, "%u", out->uid);
		if (db_find(passwd, 2, uidbuf, f)) {
			snprintf(user_name, sizeof user_name, "%s", f[0]);
			if (!have_gid && parse_id(f[3], &out->gid))
				have_gid = true;
		}
	}
	if (run_group) {
		out->gid = (uint32_t)json_integer_value(run_group);
	} else if (ig && *ig && !run_user) {
		if (!parse_id(ig, &out->gid)) {
			if (!db_find(group, 0, ig, f) || !parse_id(f[2], &out->gid))
				return terr_set(
				    err, 400, "CreateContainerConfigError",
				    "unable to find group %s: no matching entries in group file",
				    ig);
		}
	} else if (!have_gid) {
		out->gid = 0;
	}

	/* Additional groups: the user's memberships in the image's /etc/group, then the
	 * pod's supplementalGroups and fsGroup (k8s: kubelet adds fsGroup to the groups). */
	if (*user_name && group) {
		for (const char *line = group; *line;) {
			const char *nl = strchr(line, '\n');
			size_t len = nl ? (size_t)(nl - line) : strlen(line);
			_cleanup_free_ char *l = xstrndup(line, len);
			char *save = NULL, *fields[4] = {0};
			char *p = l;
			for (int i = 0; i < 4 && p; i++) {
				fields[i] = p;
				p = strchr(p, ':');
				if (p)
					*p++ = '\0';
			}
			uint32_t g;
			if (fields[3] && parse_id(fields[2], &g)) {
				for (char *m = strtok_r(fields[3], ",", &save); m;
				     m = strtok_r(NULL, ",", &save))
					if (!strcmp(m, user_name))
						add_gid(out, g);
			}
			line = nl ? nl + 1 : line + len;
		}
	}
	json_t *sg = json_object_get(json_path(pod, "spec.securityContext"), "supplementalGroups");
	size_t i;
	json_t *g;
	json_array_foreach(sg, i, g)
	{
		if (json_is_integer(g))
			add_gid(out, (uint32_t)json_integer_value(g));
	}
	json_t *fsg = json_object_get(json_path(pod, "spec.securityContext"), "fsGroup");
	if (json_is_integer(fsg))
		add_gid(out, (uint32_t)json_integer_value(fsg));
	return 0;
}

void rt_user_free(rt_user *u)
{
	free(u->groups);
	u->groups = NULL;
	u->n_groups = 0;
}

/* ---- capabilities ---- */

/* Every capability the kernel defines (as of Linux 5.9), in number order. */
static const char *const all_caps[] = {
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};

/* k8s: the set container runtimes (Docker, containerd, CRI-O) give a container that does
 * not ask for more or less. */
static const char *const default_caps[] = {
    "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
    "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
    "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
    "CAP_KILL",    "CAP_AUDIT_WRITE",
};

static unsigned cap_number(const char *cap)
{
	for (size_t i = 0; i < ARRAY_SIZE(all_caps); i++)
		if (!strcmp(all_caps[i], cap))
			return (unsigned)i;
	return 63;
}

/* "net_admin", "NET_ADMIN", "CAP_NET_ADMIN" -> the known "CAP_NET_ADMIN" (static), "ALL"
 * -> "ALL", anything else NULL. */
static const char *cap_name(const char *s)
{
	if (!s)
		return NULL;
	if (!strcasecmp(s, "ALL"))
		return "ALL";
	const char *bare = strncasecmp(s, "CAP_", 4) == 0 ? s + 4 : s;
	for (size_t i = 0; i < ARRAY_SIZE(all_caps); i++)
		if (!strcasecmp(all_caps[i] + 4, bare))
			return all_caps[i];
	return NULL;
}

static bool list_has(json_t *arr, const char *cap)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
	{
		if (cap_name(json_string_value(v)) == cap ||
		    str_eq(cap_name(json_string_value(v)), cap))
			return true;
	}
	return false;
}

uint64_t rt_cap_bounding(void)
{
	char text[4096];
	if (rt_read_small("/proc/self/status", text, sizeof text) < 0)
		return ~0ULL;
	const char *b = strstr(text, "CapBnd:");
	return b ? strtoull(b + 7, NULL, 16) : ~0ULL;
}

char **rt_spec_caps(json_t *ctr, bool privileged, uint64_t bounding)
{
	json_t *c = json_object_get(json_object_get(ctr, "securityContext"), "capabilities");
	json_t *add = json_object_get(c, "add"), *drop = json_object_get(c, "drop");
	char **out = xcalloc(ARRAY_SIZE(all_caps) + 1, sizeof *out);
	size_t n = 0;
	/* k8s: privileged, or add ALL, gives every capability; drop ALL starts from none and
	 * keeps what add names; otherwise the default set minus drop plus add. */
	if (privileged || list_has(add, "ALL")) {
		for (size_t i = 0; i < ARRAY_SIZE(all_caps); i++)
			if (bounding & (1ULL << i))
				out[n++] = xstrdup(all_caps[i]);
		return out;
	}
	bool drop_all = list_has(drop, "ALL");
	for (size_t i = 0; i < ARRAY_SIZE(default_caps) && !drop_all; i++)
		if (!list_has(drop, default_caps[i]) &&
		    (bounding & (1ULL << cap_number(default_caps[i]))))
			out[n++] = xstrdup(default_caps[i]);
	for (size_t i = 0; i < ARRAY_SIZE(all_caps); i++) {
		if (!list_has(add, all_caps[i]) || !(bounding & (1ULL << i)))
			continue;
		bool have = false;
		for (size_t j = 0; j < n; j++)
			have = have || !strcmp(out[j], all_caps[i]);
		if (!have)
			out[n++] = xstrdup(all_caps[i]);
	}
	return out;
}

/* ---- seccomp ---- */

static bool caps_have(char *const *caps, const char *cap)
{
	for (size_t i = 0; caps && caps[i]; i++)
		if (!strcmp(caps[i], cap))
			return true;
	return false;
}

/* The deny list of the RuntimeDefault approximation: calls refused (EPERM) unless the
 * container holds `cap` (NULL: always refused). */
static const struct {
	const char *cap;
	const char *calls[16];
} deny_groups[] = {
    {NULL,
     {"add_key", "keyctl", "request_key", "create_module", "get_kernel_syms", "query_module",
      "nfsservctl", "uselib", "ustat", "sysfs", "_sysctl", "vm86", "vm86old", "userfaultfd"}},
    {"CAP_SYS_ADMIN",
     {"mount", "umount", "umount2", "pivot_root", "setns", "unshare", "quotactl", "fanotify_init",
      "open_tree", "move_mount", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
      "swapon"}},
    {"CAP_SYS_ADMIN", {"swapoff", "lookup_dcookie", "perf_event_open", "bpf"}},
    {"CAP_SYS_BOOT", {"reboot", "kexec_load", "kexec_file_load"}},
    {"CAP_SYS_MODULE", {"init_module", "finit_module", "delete_module"}},
    {"CAP_SYS_PTRACE", {"ptrace", "process_vm_readv", "process_vm_writev", "kcmp"}},
    {"CAP_SYS_PACCT", {"acct"}},
    {"CAP_SYS_RAWIO", {"iopl", "ioperm"}},
    {"CAP_SYS_TIME", {"settimeofday", "stime", "clock_settime", "clock_adjtime"}},
    {"CAP_SYS_NICE", {"get_mempolicy", "set_mempolicy", "mbind", "move_pages"}},
    {"CAP_SYSLOG", {"syslog"}},
    {"CAP_DAC_READ_SEARCH", {"open_by_handle_at", "name_to_handle_at"}},
};

/* Namespace flags of clone(2): CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID,
 * NEWNET. */
static const uint64_t clone_ns_flags[] = {0x00020000, 0x02000000, 0x04000000, 0x08000000,
                                          0x10000000, 0x20000000, 0x40000000};

static json_t *host_arches(void)
{
	json_t *a = json_array();
#if defined(__x86_64__)
	json_array_append_new(a, json_string("SCMP_ARCH_X86_64"));
	json_array_append_new(a, json_string("SCMP_ARCH_X86"));
	json_array_append_new(a, json_string("SCMP_ARCH_X32"));
#elif defined(__aarch64__)
	json_array_append_new(a, json_string("SCMP_ARCH_AARCH64"));
	json_array_append_new(a, json_string("SCMP_ARCH_ARM"));
#elif defined(__riscv) && __riscv_xlen == 64
	json_array_append_new(a, json_string("SCMP_ARCH_RISCV64"));
#elif defined(__powerpc64__)
	json_array_append_new(a, json_string("SCMP_ARCH_PPC64LE"));
#elif defined(__s390x__)
	json_array_append_new(a, json_string("SCMP_ARCH_S390X"));
#endif
	return a;
}

static json_t *errno_rule(json_t *names, int errnum)
{
	json_t *r = json_object();
	json_object_set_new(r, "names", names);
	json_object_set_new(r, "action", json_string("SCMP_ACT_ERRNO"));
	json_object_set_new(r, "errnoRet", json_integer(errnum));
	return r;
}

static json_t *runtime_default_profile(char *const *caps)
{
	json_t *p = json_object();
	json_object_set_new(p, "defaultAction", json_string("SCMP_ACT_ALLOW"));
	json_object_set_new(p, "architectures", host_arches());
	json_t *rules = json_array();
	json_t *names = json_array();
	for (size_t g = 0; g < ARRAY_SIZE(deny_groups); g++) {
		if (deny_groups[g].cap && caps_have(caps, deny_groups[g].cap))
			continue;
		for (size_t i = 0; i < ARRAY_SIZE(deny_groups[g].calls) && deny_groups[g].calls[i];
		     i++)
			json_array_append_new(names, json_string(deny_groups[g].calls[i]));
	}
	json_array_append_new(rules, errno_rule(names, EPERM));
	if (!caps_have(caps, "CAP_SYS_ADMIN")) {
		/* One rule per flag: rules of one call and action are ORed by libseccomp. */
		for (size_t i = 0; i < ARRAY_SIZE(clone_ns_flags); i++) {
			json_t *arg = json_object();
			/* x86 (not s390x) passes the flags in clone's first argument. */
			json_object_set_new(arg, "index", json_integer(0));
			json_object_set_new(arg, "value",
			                    json_integer((json_int_t)clone_ns_flags[i]));
			json_object_set_new(arg, "valueTwo",
			                    json_integer((json_int_t)clone_ns_flags[i]));
			json_object_set_new(arg, "op", json_string("SCMP_CMP_MASKED_EQ"));
			json_t *cn = json_array();
			json_array_append_new(cn, json_string("clone"));
			json_t *r = errno_rule(cn, EPERM);
			json_t *args = json_array();
			json_array_append_new(args, arg);
			json_object_set_new(r, "args", args);
			json_array_append_new(rules, r);
		}
	}
	json_t *c3 = json_array();
	json_array_append_new(c3, json_string("clone3"));
	json_array_append_new(rules, errno_rule(c3, ENOSYS));
	json_object_set_new(p, "syscalls", rules);
	return p;
}

/* Whether a Docker-format rule's includes/excludes admit this container. */
static bool rule_applies(json_t *rule, char *const *caps)
{
	json_t *inc = json_object_get(json_object_get(rule, "includes"), "caps");
	json_t *exc = json_object_get(json_object_get(rule, "excludes"), "caps");
	size_t i;
	json_t *c;
	json_array_foreach(inc, i, c)
	{
		if (!caps_have(caps, cap_name(json_string_value(c))))
			return false;
	}
	json_array_foreach(exc, i, c)
	{
		if (caps_have(caps, cap_name(json_string_value(c))))
			return false;
	}
	return true;
}

/* A Localhost profile (OCI or Docker form) as linux.seccomp. */
static int localhost_profile(const char *root, const char *rel, char *const *caps, json_t **out,
                             terr **err)
{
	if (!rel || !*rel || rel[0] == '/' || strstr(rel, ".."))
		return terr_set(err, 400, "CreateContainerConfigError",
		                "seccomp: localhostProfile %s must be a relative path without ..",
		                rel ? rel : "(none)");
	_cleanup_free_ char *path = xasprintf("%s/%s", root ? root : RUNTIME_SECCOMP_ROOT, rel);
	json_error_t je;
	_cleanup_json_ json_t *src = json_load_file(path, 0, &je);
	if (!json_is_object(src) || !json_is_string(json_object_get(src, "defaultAction")))
		return terr_set(err, 400, "CreateContainerConfigError",
		                "seccomp: cannot load localhost profile %s: %s", path,
		                src ? "no defaultAction" : je.text);
	json_t *p = json_object();
	json_object_set(p, "defaultAction", json_object_get(src, "defaultAction"));
	if (json_object_get(src, "defaultErrnoRet"))
		json_object_set(p, "defaultErrnoRet", json_object_get(src, "defaultErrnoRet"));
	if (json_object_get(src, "flags"))
		json_object_set(p, "flags", json_object_get(src, "flags"));
	json_t *arches = json_object_get(src, "architectures");
	json_object_set_new(p, "architectures",
	                    json_is_array(arches) && json_array_size(arches) ? json_incref(arches)
	                                                                     : host_arches());
	json_t *rules = json_array();
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(src, "syscalls"), i, r)
	{
		if (!rule_applies(r, caps))
			continue;
		json_t *o = json_object();
		json_t *names = json_object_get(r, "names");
		if (!names && json_is_string(json_object_get(r, "name"))) {
			names = json_array();
			json_array_append(names, json_object_get(r, "name"));
			json_object_set_new(o, "names", names);
		} else {
			json_object_set(o, "names", names);
		}
		static const char *const keep[] = {"action", "errnoRet", "args"};
		for (size_t k = 0; k < ARRAY_SIZE(keep); k++)
			if (json_object_get(r, keep[k]))
				json_object_set(o, keep[k], json_object_get(r, keep[k]));
		json_array_append_new(rules, o);
	}
	json_object_set_new(p, "syscalls", rules);
	*out = p;
	return 0;
}

int rt_spec_seccomp(json_t *pod, json_t *ctr, bool privileged, char *const *caps,
                    const char *seccomp_root, json_t **out, terr **err)
{
	*out = NULL;
	/* k8s: privileged containers run without seccomp; an unset profile is Unconfined
	 * (kubelet's SeccompDefault is off unless configured). */
	json_t *prof = rt_sc_get(pod, ctr, "seccompProfile");
	const char *type = json_string_value(json_object_get(prof, "type"));
	if (privileged || !type || !strcmp(type, "Unconfined"))
		return 0;
	if (!strcmp(type, "RuntimeDefault")) {
		*out = runtime_default_profile(caps);
		return 0;
	}
	if (!strcmp(type, "Localhost"))
		return localhost_profile(
		    seccomp_root, json_string_value(json_object_get(prof, "localhostProfile")),
		    caps, out, err);
	return terr_set(err, 400, "CreateContainerConfigError", "seccomp: unknown profile type %s",
	                type);
}
