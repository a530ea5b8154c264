/* runtime_runc.c — the container lifecycle through the OCI runtime's CLI (runc; crun
 * takes the same commands) with conmon as each container's monitor: create (conmon runs
 * `runc create` and reports the pid on its sync pipe), start, kill, stop with a grace
 * period, delete, and status/list read back from disk so a restarted agent re-adopts its
 * containers.
 *
 * On disk, per container, <root>/<id>/: config.json, rootfs/ (+ upper/, work/ when the
 * driver mounted it), timon.json (log path, create and start times), and what conmon
 * writes: conmon.pid (its monitor), pidfile (the container's init), exit (exit code; its
 * mtime is the finish time), oom, attach/ctl/winsz. Under the run folder: runc/
 * (the runtime's --root), exits/<id> (conmon's exit files, one folder to watch), sock/ (conmon's
 * attach links). Not for: the spec (runtime_spec.c), exec (runtime_exec.c), logs (runtime_logs.c).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent/runtime-internal.h"
#include "base/json.h"
#include "base/pki.h"
#include "base/util.h"

#define RUNC_TIMEOUT_MS   30000
#define EXIT_FILE_WAIT_MS 5000
#define KILL_WAIT_MS      10000

static const char *const bin_dirs[] = {
    "/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin", "/sbin", "/bin", NULL};
static const char *const conmon_dirs[] = {
    "/usr/bin",       "/usr/libexec/crio",         "/usr/libexec/podman",
    "/usr/local/bin", "/usr/local/libexec/podman", NULL};

bool runtime_id_valid(const char *id)
{
	if (!id || !*id || id[0] == '.' || id[0] == '-' || strlen(id) > RUNTIME_ID_MAX)
		return false;
	for (const char *p = id; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' || *p == '-'))
			return false;
	return true;
}

static char *absolute(const char *p)
{
	char real[4096];
	return realpath(p, real) ? xstrdup(real) : xstrdup(p);
}

runtime *runtime_open(const runtime_config *c, terr **err)
{
	static const runtime_config none = {0};
	if (!c)
		c = &none;
	const char *root = c->root ? c->root : RUNTIME_DEFAULT_ROOT;
	const char *run = c->run_dir ? c->run_dir : RUNTIME_DEFAULT_RUN_DIR;
	_cleanup_free_ char *runc_root = xasprintf("%s/runc", run);
	_cleanup_free_ char *exits = xasprintf("%s/exits", run);
	_cleanup_free_ char *sock = xasprintf("%s/sock", run);
	const char *dirs[] = {root, runc_root, exits, sock};
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++)
		if (rt_mkdir_p(dirs[i], 0700) < 0) {
			terr_internal(err, "runtime: creating %s: %s", dirs[i], strerror(errno));
			return NULL;
		}
	char *runc = c->runtime_path ? xstrdup(c->runtime_path) : rt_find_binary("runc", bin_dirs);
	if (!runc)
		runc = rt_find_binary("crun", bin_dirs);
	char *conmon =
	    c->conmon_path ? xstrdup(c->conmon_path) : rt_find_binary("conmon", conmon_dirs);
	if (!runc || !conmon || access(runc, X_OK) < 0 || access(conmon, X_OK) < 0) {
		terr_set(err, 503, "ServiceUnavailable",
		         "runtime: %s not found (install runc and conmon)",
		         !runc || access(runc, X_OK) < 0 ? "no OCI runtime (runc, crun)"
		                                         : "conmon");
		free(runc);
		free(conmon);
		return NULL;
	}
	runtime *rt = xcalloc(1, sizeof *rt);
	rt->root = absolute(root);
	rt->runc = runc;
	rt->conmon = conmon;
	rt->runc_root = absolute(runc_root);
	rt->exit_dir = absolute(exits);
	rt->sock_dir = absolute(sock);
	return rt;
}

void runtime_close(runtime *rt)
{
	if (!rt)
		return;
	free(rt->root);
	free(rt->runc);
	free(rt->conmon);
	free(rt->runc_root);
	free(rt->exit_dir);
	free(rt->sock_dir);
	free(rt);
}

const char *runtime_exit_dir(const runtime *rt)
{
	return rt->exit_dir;
}

const char *runtime_binary(const runtime *rt)
{
	return rt->runc;
}

char *rt_bundle_path(const runtime *rt, const char *id)
{
	return xasprintf("%s/%s", rt->root, id);
}

int rt_runc(const runtime *rt, const char *bin, const char *const *args, int timeout_ms, buf *out,
            buf *errb, int *rc, terr **err)
{
	size_t n = 0;
	while (args[n])
		n++;
	_cleanup_free_ char **argv = xcalloc(n + 4, sizeof *argv);
	argv[0] = (char *)(bin ? bin : rt->runc);
	argv[1] = (char *)"--root";
	argv[2] = rt->runc_root;
	for (size_t i = 0; i < n; i++)
		argv[3 + i] = (char *)args[i];
	rt_proc_opts o = {.out = out, .err = errb, .timeout_ms = timeout_ms, .max_output = 1 << 20};
	bool timed_out = false;
	if (rt_proc_run(argv, &o, rc, &timed_out, err) < 0)
		return -1;
	if (timed_out)
		return terr_internal(err, "%s %s: timed out", argv[0], args[0]);
	return 0;
}

char *rt_runc_message(const buf *errb)
{
	const char *s = errb && errb->p ? errb->p : "";
	const char *m = strstr(s, "msg=\"");
	buf b = {0};
	buf_puts(&b, "");
	if (m) {
		for (m += 5; *m && *m != '"'; m++) {
			if (*m == '\\' && m[1])
				m++;
			buf_putc(&b, *m);
		}
		return buf_take(&b);
	}
	while (*s == ' ' || *s == '\n')
		s++;
	buf_puts(&b, s);
	while (b.n && (b.p[b.n - 1] == '\n' || b.p[b.n - 1] == ' '))
		b.p[--b.n] = '\0';
	return buf_take(&b);
}

static bool not_exist(const char *msg)
{
	return strstr(msg, "does not exist") || strstr(msg, "not found") ||
	       strstr(msg, "No such file");
}

/* ---- timon.json: what the driver itself records ---- */

static json_t *meta_read(const char *bundle)
{
	_cleanup_free_ char *p = xasprintf("%s/timon.json", bundle);
	json_t *m = json_load_file(p, 0, NULL);
	return json_is_object(m) ? m : (json_decref(m), json_object());
}

static int meta_write(const char *bundle, json_t *m, terr **err)
{
	_cleanup_free_ char *p = xasprintf("%s/timon.json", bundle);
	_cleanup_free_ char *s = json_dumps(m, JSON_COMPACT);
	return pki_replace_file(p, s, strlen(s), 0600, err);
}

char *rt_runtime_for(const runtime *rt, const char *id)
{
	if (!runtime_id_valid(id))
		return xstrdup(rt->runc);
	_cleanup_free_ char *bundle = rt_bundle_path(rt, id);
	_cleanup_json_ json_t *meta = meta_read(bundle);
	const char *bin = json_string_value(json_object_get(meta, "runtime"));
	return xstrdup(bin && *bin ? bin : rt->runc);
}

/* ---- create, start ---- */

/* Reads conmon's sync message ({"pid": N}, or N = -1 and a "message") from fd. */
static int read_sync(int fd, int timeout_ms, json_t **msg, terr **err)
{
	buf b = {0};
	int64_t deadline = time_mono_ns() / 1000000 + timeout_ms;
	int ret = -1;
	for (;;) {
		int64_t left = deadline - time_mono_ns() / 1000000;
		if (left <= 0) {
			terr_internal(err, "timed out waiting for conmon");
			break;
		}
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int r = poll(&p, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			continue;
		char chunk[4096];
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			terr_internal(err, "conmon exited before reporting the container");
			break;
		}
		buf_add(&b, chunk, (size_t)n);
		json_t *j = json_loadb(b.p, b.n, JSON_DISABLE_EOF_CHECK, NULL);
		if (j) {
			*msg = j;
			ret = 0;
			break;
		}
	}
	buf_free(&b);
	return ret;
}

int runtime_create(runtime *rt, const char *id, json_t *spec, const runtime_create_opts *o,
                   terr **err)
{
	static const runtime_create_opts none = {0};
	if (!o)
		o = &none;
	if (!runtime_id_valid(id))
		return terr_bad_request(err, "invalid container ID \"%s\"", id ? id : "");
	if (!o->log_path || o->log_path[0] != '/')
		return terr_bad_request(err, "container %s: an absolute log path is required", id);
	_cleanup_free_ char *bundle = rt_bundle_path(rt, id);
	_cleanup_free_ char *config = xasprintf("%s/config.json", bundle);
	if (access(config, F_OK) == 0)
		return terr_already_exists(err, "container \"%s\" already exists", id);
	_cleanup_free_ char *logdir = xstrdup(o->log_path);
	*strrchr(logdir, '/') = '\0';
	if (rt_mkdir_p(bundle, 0700) < 0 || (*logdir && rt_mkdir_p(logdir, 0755) < 0))
		return terr_internal(err, "container %s: creating folders: %s", id,
		                     strerror(errno));
	_cleanup_free_ char *text = json_dumps(spec, JSON_INDENT(1));
	if (pki_replace_file(config, text, strlen(text), 0600, err) < 0)
		return terr_wrap(err, "container %s", id);

	_cleanup_free_ char *rootfs = xasprintf("%s/rootfs", bundle);
	_cleanup_json_ json_t *meta = meta_read(bundle);
	json_object_set_new(meta, "id", json_string(id));
	json_object_set_new(meta, "logPath", json_string(o->log_path));
	const char *bin = o->runtime_path && *o->runtime_path ? o->runtime_path : rt->runc;
	json_object_set_new(meta, "runtime", json_string(bin));
	json_object_set_new(meta, "createdNs", json_integer(time_now_ns()));
	json_object_set_new(meta, "rootfsMounted", json_boolean(rt_is_mountpoint(rootfs)));
	if (meta_write(bundle, meta, err) < 0)
		return terr_wrap(err, "container %s", id);

	int sp[2];
	if (pipe2(sp, O_CLOEXEC) < 0)
		return terr_internal(err, "pipe: %s", strerror(errno));
	_cleanup_free_ char *pidfile = xasprintf("%s/pidfile", bundle);
	_cleanup_free_ char *conmon_pid = xasprintf("%s/conmon.pid", bundle);
	_cleanup_free_ char *log = xasprintf("k8s-file:%s", o->log_path);
	_cleanup_free_ char *size_max = xasprintf("%lld", (long long)o->log_size_max);
	char *argv[40];
	size_t n = 0;
#define ARG(x) (argv[n++] = (char *)(x))
	ARG(rt->conmon);
	ARG("-c"), ARG(id);
	ARG("-u"), ARG(id);
	ARG("-n"), ARG(id);
	ARG("-r"), ARG(bin);
	ARG("--runtime-arg"), ARG("--root");
	ARG("--runtime-arg"), ARG(rt->runc_root);
	ARG("-b"), ARG(bundle);
	ARG("-p"), ARG(pidfile);
	ARG("-P"), ARG(conmon_pid);
	ARG("-l"), ARG(log);
	ARG("--exit-dir"), ARG(rt->exit_dir);
	ARG("-0"), ARG(bundle); /* persist dir: <bundle>/exit and <bundle>/oom */
	ARG("--socket-dir-path"), ARG(rt->sock_dir);
	ARG("--log-level"), ARG("warning");
	if (o->log_size_max > 0)
		ARG("--log-size-max"), ARG(size_max);
	if (o->stdin_open)
		ARG("-i");
	if (o->stdin_open && !o->stdin_once)
		ARG("--leave-stdin-open"); /* k8s: stdin stays open across attaches */
	if (o->tty)
		ARG("-t");
	argv[n] = NULL;
#undef ARG
	/* conmon forks once itself: the first process writes the monitor's pid to conmon.pid
	 * and exits, the monitor starts a session of its own and is re-parented to init, so
	 * it outlives the agent and the agent never reaps it. It runs in the bundle (it drops
	 * an oom file into its working folder too), with fd 3 as the sync pipe. What it says
	 * before it forks (bad arguments) is its stderr, kept for the error. */
	char *env[] = {(char *)"_OCI_SYNCPIPE=3", NULL};
	_cleanup_buf_ buf early = {0};
	rt_proc_opts po = {
	    .out = &early,
	    .err = &early,
	    .max_output = 4096,
	    .timeout_ms = 10000,
	    .pass_fd = sp[1],
	    .cwd = bundle,
	    .extra_env = env,
	};
	int code = 0;
	int r = rt_proc_run(argv, &po, &code, NULL, err);
	close(sp[1]);
	if (r < 0 || code != 0) {
		close(sp[0]);
		if (r == 0)
			terr_internal(err, "exited %d%s%s", code, early.n ? ": " : "",
			              early.n ? early.p : "");
		return terr_wrap(err, "container %s: conmon", id);
	}
	json_t *msg = NULL;
	r = read_sync(sp[0], (o->timeout_s > 0 ? o->timeout_s : 60) * 1000, &msg, err);
	close(sp[0]);
	if (r < 0) {
		return terr_wrap(err, "container %s: create%s%s", id, early.n ? ": " : "",
		                 early.n ? early.p : "");
	}
	/* conmon says {"pid": N}, or {"data": N} with --api-version 1; N < 0 on failure. */
	json_t *pidv = json_object_get(msg, "pid");
	json_int_t pid = json_integer_value(pidv ? pidv : json_object_get(msg, "data"));
	if (pid <= 0) {
		const char *m = json_string_value(json_object_get(msg, "message"));
		buf mb = {0};
		buf_puts(&mb, m && *m ? m : "");
		if (!mb.n)
			buf_add(&mb, early.p ? early.p : "", early.n);
		_cleanup_free_ char *said = rt_runc_message(&mb); /* the runtime's msg="..." */
		buf_free(&mb);
		terr_set(err, 500, "CreateContainerError", "container %s: create failed: %s", id,
		         *said ? said : "(no message)");
		json_decref(msg);
		return -1;
	}
	json_decref(msg);
	return 0;
}

static json_t *state_read(runtime *rt, const char *id);

/* `runc start`, done here for runc: `runc create` leaves the container's init blocked
 * opening <root>/<id>/exec.fifo for writing; start opens it for reading, reads what the
 * init writes just before it execs the process (until the exec closes it), and removes
 * it: runc reads a container with the fifo as created and without as running. Doing it
 * here saves a runc process per start (~6 ms, most of it the Go runtime starting).
 * Returns 1 when started, 0 when the fifo is not there as a fifo (the caller runs the
 * runtime's start, which says why), -1 with err set. */
static int fifo_start(runtime *rt, const char *id, terr **err)
{
	_cleanup_free_ char *path = xasprintf("%s/%s/exec.fifo", rt->runc_root, id);
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return 0;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode)) {
		close(fd);
		return 0;
	}
	/* The init opens the fifo as soon as a reader has; POLLHUP comes only once a writer
	 * has come and gone since this open, so an empty first poll is not the end. */
	size_t got = 0;
	int waited = 0, rc = 0;
	for (int round = 0;; round++) {
		if (round == 10000) { /* the init writes one byte: this is not runc's fifo */
			rc = terr_set(err, 500, "StartError", "container %s: start: %s does not end", id,
			              path);
			break;
		}
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int n = poll(&p, 1, 100);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0) {
			_cleanup_json_ json_t *state = state_read(rt, id);
			if (!str_eq(json_string_value(json_object_get(state, "status")), "created")) {
				rc = terr_set(err, 500, "StartError", "container %s: start: %s", id,
				              "container process is already dead");
				break;
			}
			if ((waited += 100) >= RUNC_TIMEOUT_MS) {
				rc = terr_set(err, 500, "StartError", "container %s: start: timed out", id);
				break;
			}
			continue;
		}
		char b[64];
		ssize_t r = read(fd, b, sizeof b);
		if (r > 0) {
			got += (size_t)r;
			continue;
		}
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		/* the end (r == 0 comes only after a writer closed): it must have said something */
		if (got == 0)
			rc = terr_set(err, 500, "StartError", "container %s: start: %s", id,
			              r < 0 ? strerror(errno) : "cannot start an already running container");
		break;
	}
	close(fd);
	if (rc < 0)
		return -1;
	if (unlink(path) < 0 && errno != ENOENT)
		return terr_internal(err, "container %s: start: removing %s: %s", id, path, strerror(errno));
	return 1;
}

int runtime_start(runtime *rt, const char *id, terr **err)
{
	if (!runtime_id_valid(id))
		return terr_bad_request(err, "invalid container ID \"%s\"", id ? id : "");
	int64_t started = time_now_ns(); /* before: a quick process may exit before start returns */
	_cleanup_free_ char *bin = rt_runtime_for(rt, id);
	const char *base = strrchr(bin, '/');
	int fr = str_eq(base ? base + 1 : bin, "runc") ? fifo_start(rt, id, err) : 0;
	if (fr < 0)
		return -1;
	if (fr == 0) {
		buf eb = {0};
		int rc = 0;
		const char *args[] = {"start", id, NULL};
		if (rt_runc(rt, bin, args, RUNC_TIMEOUT_MS, NULL, &eb, &rc, err) < 0) {
			buf_free(&eb);
			return -1;
		}
		_cleanup_free_ char *m = rt_runc_message(&eb);
		buf_free(&eb);
		if (rc != 0) {
			if (strstr(m, "container does not exist"))
				return terr_not_found(err, "container \"%s\" not found", id);
			return terr_set(err, 500, "StartError", "container %s: start: %s", id, m);
		}
	}
	_cleanup_free_ char *bundle = rt_bundle_path(rt, id);
	_cleanup_json_ json_t *meta = meta_read(bundle);
	json_object_set_new(meta, "startedNs", json_integer(started));
	return meta_write(bundle, meta, err);
}

/* ---- kill, stop ---- */

int runtime_kill(runtime *rt, const char *id, int sig, bool all, terr **err)
{
	if (!runtime_id_valid(id))
		return terr_bad_request(err, "invalid container ID \"%s\"", id ? id : "");
	char signum[16];
	snprintf(signum, sizeof signum, "%d", sig);
	const char *args[] = {"kill", all ? "--all" : id, all ? id : signum, all ? signum : NULL,
	                      NULL};
	buf eb = {0};
	int rc = 0;
	_cleanup_free_ char *bin = rt_runtime_for(rt, id);
	if (rt_runc(rt, bin, args, RUNC_TIMEOUT_MS, NULL, &eb, &rc, err) < 0) {
		buf_free(&eb);
		return -1;
	}
	_cleanup_free_ char *m = rt_runc_message(&eb);
	buf_free(&eb);
	if (rc == 0)
		return 0;
	if (strstr(m, "container does not exist"))
		return terr_not_found(err, "container \"%s\" not found", id);
	if (strstr(m, "not running") || strstr(m, "process already finished") ||
	    strstr(m, "no such process"))
		return 0;
	return terr_internal(err, "container %s: kill: %s", id, m);
}

/* Waits until conmon has written the exit file; 1 when it has. */
static int wait_exit_file(const char *bundle, int timeout_ms)
{
	_cleanup_free_ char *exitf = xasprintf("%s/exit", bundle);
	int64_t deadline = time_mono_ns() / 1000000 + timeout_ms;
	for (;;) {
		if (access(exitf, F_OK) == 0)
			return 1;
		if (time_mono_ns() / 1000000 >= deadline)
			return 0;
		struct timespec ts = {0, 10 * 1000000};
		nanosleep(&ts, NULL);
	}
}

int runtime_stop(runtime *rt, const char *id, int sig, int grace_s, terr **err)
{
	runtime_status st;
	if (runtime_status_get(rt, id, &st, err) < 0)
		return -1;
	runtime_state state = st.state;
	int pid = st.pid;
	_cleanup_free_ char *bundle = xstrdup(st.bundle);
	runtime_status_free(&st);
	if (state != RUNTIME_RUNNING && state != RUNTIME_CREATED)
		return 0;
	/* k8s: the stop signal, then SIGKILL once terminationGracePeriodSeconds pass. */
	if (runtime_kill(rt, id, sig > 0 ? sig : SIGTERM, false, err) < 0)
		return -1;
	if (!rt_wait_pid_exit(pid, grace_s > 0 ? grace_s * 1000 : 0)) {
		if (runtime_kill(rt, id, SIGKILL, true, err) < 0)
			return -1;
		if (!rt_wait_pid_exit(pid, KILL_WAIT_MS))
			return terr_internal(err, "container %s: still running after SIGKILL", id);
	}
	if (!wait_exit_file(bundle, EXIT_FILE_WAIT_MS))
		return terr_internal(err, "container %s: stopped, but conmon recorded no exit", id);
	return 0;
}

/* ---- status ---- */

const char *runtime_state_name(runtime_state s)
{
	static const char *const names[] = {"created", "running", "exited", "unknown"};
	return (unsigned)s < ARRAY_SIZE(names) ? names[s] : "unknown";
}

/* The memory cgroup's count of OOM kills for cgroupsPath (v1 memory.oom_control, v2
 * memory.events), 0 when it is gone. */
static long cgroup_oom_kills(const char *cg)
{
	if (!cg || cg[0] != '/' || strstr(cg, ".."))
		return 0;
	_cleanup_free_ char *v1 = xasprintf("/sys/fs/cgroup/memory%s/memory.oom_control", cg);
	_cleanup_free_ char *v2 = xasprintf("/sys/fs/cgroup%s/memory.events", cg);
	char text[1024];
	if (rt_read_small(v1, text, sizeof text) < 0 && rt_read_small(v2, text, sizeof text) < 0)
		return 0;
	const char *k = strstr(text, "oom_kill ");
	return k ? strtol(k + 9, NULL, 10) : 0;
}

int runtime_cgroup_remove(const char *path, terr **err)
{
	if (!path || path[0] != '/' || strstr(path, "..") || !path[1])
		return terr_bad_request(err, "cgroup path %s must be absolute, without ..",
		                        path ? path : "(null)");
	if (access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0) {
		_cleanup_free_ char *p = xasprintf("/sys/fs/cgroup%s", path);
		if (rmdir(p) < 0 && errno != ENOENT)
			return terr_set(err, errno == EBUSY ? 409 : 500,
			                errno == EBUSY ? "Conflict" : "InternalError",
			                "removing cgroup %s: %s", p, strerror(errno));
		return 0;
	}
	DIR *d = opendir("/sys/fs/cgroup");
	if (!d)
		return 0;
	int ret = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		_cleanup_free_ char *p = xasprintf("/sys/fs/cgroup/%s%s", e->d_name, path);
		if (rmdir(p) < 0 && errno != ENOENT && errno != ENOTDIR && ret == 0)
			ret = terr_set(err, errno == EBUSY ? 409 : 500,
			               errno == EBUSY ? "Conflict" : "InternalError",
			               "removing cgroup %s: %s", p, strerror(errno));
	}
	closedir(d);
	return ret;
}

/* The init process's start time (clock ticks since boot, /proc/<pid>/stat field 22), or -1. */
static long long proc_start(int pid)
{
	char path[64], line[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, line, sizeof line - 1);
	close(fd);
	if (n <= 0)
		return -1;
	line[n] = 0;
	char *p = strrchr(line, ')'); /* the command name may hold spaces and parentheses */
	if (!p)
		return -1;
	p++;
	for (int field = 3; field < 22 && p; field++) /* p is before field 3 */
		p = strchr(p + 1, ' ');
	return p ? strtoll(p + 1, NULL, 10) : -1;
}

/* What `runc state` answers, read from runc's own state.json instead of running it (an
 * exec per container per look adds up: pod start ran three): stopped when the init
 * process is gone or its PID was reused (start time differs), created while runc's exec
 * fifo exists, else running. A paused container reads as running, as the driver treats
 * both. NULL when runc does not know the container. */
static json_t *state_read(runtime *rt, const char *id)
{
	_cleanup_free_ char *dir = xasprintf("%s/%s", rt->runc_root, id);
	_cleanup_free_ char *file = xasprintf("%s/state.json", dir);
	_cleanup_json_ json_t *st = json_load_file(file, 0, NULL);
	if (!st)
		return NULL;
	int pid = (int)json_integer_value(json_object_get(st, "init_process_pid"));
	long long start = (long long)json_integer_value(json_object_get(st, "init_process_start"));
	const char *status = "stopped";
	if (pid > 0 && proc_start(pid) == start) {
		_cleanup_free_ char *fifo = xasprintf("%s/exec.fifo", dir);
		status = access(fifo, F_OK) == 0 ? "created" : "running";
	}
	return json_pack("{s:s, s:i, s:O}", "status", status, "pid", pid, "created",
	                 json_object_get(st, "created") ? json_object_get(st, "created")
	                                                : json_null());
}

int runtime_status_get(runtime *rt, const char *id, runtime_status *out, terr **err)
{
	memset(out, 0, sizeof *out);
	if (!runtime_id_valid(id))
		return terr_bad_request(err, "invalid container ID \"%s\"", id ? id : "");
	_cleanup_free_ char *bundle = rt_bundle_path(rt, id);
	_cleanup_free_ char *config = xasprintf("%s/config.json", bundle);
	_cleanup_json_ json_t *spec = json_load_file(config, 0, NULL);
	if (!spec)
		return terr_not_found(err, "container \"%s\" not found", id);
	_cleanup_json_ json_t *meta = meta_read(bundle);

	out->id = xstrdup(id);
	out->bundle = xstrdup(bundle);
	out->log_path = xstrdup(json_string_value(json_object_get(meta, "logPath")));
	out->annotations = json_incref(json_object_get(spec, "annotations"));
	if (!out->annotations)
		out->annotations = json_object();
	out->created_ns = json_integer_value(json_object_get(meta, "createdNs"));
	out->started_ns = json_integer_value(json_object_get(meta, "startedNs"));
	out->exit_code = -1;
	out->state = RUNTIME_UNKNOWN;

	_cleanup_json_ json_t *state = state_read(rt, id);
	const char *status = json_string_value(json_object_get(state, "status"));
	_cleanup_free_ char *exitf = xasprintf("%s/exit", bundle);
	if (status && (!strcmp(status, "running") || !strcmp(status, "paused"))) {
		out->state = RUNTIME_RUNNING;
	} else if (status && !strcmp(status, "created")) {
		out->state = RUNTIME_CREATED;
	} else if (status && !strcmp(status, "stopped")) {
		out->state = RUNTIME_EXITED;
		wait_exit_file(bundle, 2000); /* conmon may still be writing it */
	} else if (access(exitf, F_OK) == 0) {
		out->state = RUNTIME_EXITED; /* the runtime forgot it; conmon's record stays */
	}
	if (out->state == RUNTIME_RUNNING || out->state == RUNTIME_CREATED)
		out->pid = (int)json_integer_value(json_object_get(state, "pid"));
	if (!out->created_ns) {
		int64_t t = 0;
		const char *c = json_string_value(json_object_get(state, "created"));
		if (c && time_parse_rfc3339(c, &t) == 0)
			out->created_ns = t;
	}
	if (out->state == RUNTIME_EXITED) {
		char code[32];
		if (rt_read_small(exitf, code, sizeof code) > 0) {
			out->exit_code = atoi(code);
			out->finished_ns = rt_mtime_ns(exitf);
		} else {
			_cleanup_free_ char *e2 = xasprintf("%s/%s", rt->exit_dir, id);
			if (rt_read_small(e2, code, sizeof code) > 0) {
				out->exit_code = atoi(code);
				out->finished_ns = rt_mtime_ns(e2);
			}
		}
		_cleanup_free_ char *oomf = xasprintf("%s/oom", bundle);
		const char *cg = json_string_value(json_path(spec, "linux.cgroupsPath"));
		out->oom_killed = access(oomf, F_OK) == 0 || cgroup_oom_kills(cg) > 0;
		/* k8s: reason OOMKilled when the memory cgroup killed, else by exit code. */
		out->reason = out->oom_killed       ? "OOMKilled"
		              : out->exit_code == 0 ? "Completed"
		                                    : "Error";
		if (!out->started_ns && out->finished_ns)
			out->started_ns = out->created_ns;
	}
	return 0;
}

void runtime_status_free(runtime_status *s)
{
	if (!s)
		return;
	free(s->id);
	free(s->log_path);
	free(s->bundle);
	json_decref(s->annotations);
	memset(s, 0, sizeof *s);
}

void runtime_statuses_free(runtime_status *s, size_t n)
{
	for (size_t i = 0; s && i < n; i++)
		runtime_status_free(&s[i]);
	free(s);
}

static int cmp_status(const void *a, const void *b)
{
	return strcmp(((const runtime_status *)a)->id, ((const runtime_status *)b)->id);
}

int runtime_list(runtime *rt, const char *prefix, runtime_status **out, size_t *n, terr **err)
{
	*out = NULL;
	*n = 0;
	DIR *d = opendir(rt->root);
	if (!d)
		return terr_internal(err, "runtime: listing %s: %s", rt->root, strerror(errno));
	runtime_status *v = NULL;
	size_t nv = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!runtime_id_valid(e->d_name) || (prefix && !str_has_prefix(e->d_name, prefix)))
			continue;
		runtime_status st;
		terr *e2 = NULL;
		if (runtime_status_get(rt, e->d_name, &st, &e2) < 0) {
			bool missing = e2 && e2->code == 404;
			if (!missing) {
				closedir(d);
				runtime_statuses_free(v, nv);
				*err = e2;
				return -1;
			}
			terr_free(e2);
			continue;
		}
		v = xrealloc(v, (nv + 1) * sizeof *v);
		v[nv++] = st;
	}
	closedir(d);
	if (nv)
		qsort(v, nv, sizeof *v, cmp_status);
	*out = v;
	*n = nv;
	return 0;
}

/* ---- delete ---- */

int runtime_delete(runtime *rt, const char *id, bool force, terr **err)
{
	if (!runtime_id_valid(id))
		return terr_bad_request(err, "invalid container ID \"%s\"", id ? id : "");
	_cleanup_free_ char *bundle = rt_bundle_path(rt, id);
	runtime_status st;
	terr *e = NULL;
	if (runtime_status_get(rt, id, &st, &e) == 0) {
		bool live = st.state == RUNTIME_RUNNING || st.state == RUNTIME_CREATED;
		int pid = st.pid;
		runtime_status_free(&st);
		if (live && !force)
			return terr_conflict(err, "container %s is %s; stop it first", id,
			                     pid ? "running" : "created");
		if (live) {
			if (runtime_kill(rt, id, SIGKILL, true, err) < 0)
				return -1;
			rt_wait_pid_exit(pid, KILL_WAIT_MS);
			wait_exit_file(bundle, EXIT_FILE_WAIT_MS);
		}
	} else if (e->code != 404) {
		*err = e;
		return -1;
	} else {
		terr_free(e);
	}

	buf eb = {0};
	int rc = 0;
	const char *args[] = {"delete", "--force", id, NULL};
	_cleanup_free_ char *bin = rt_runtime_for(rt, id);
	if (rt_runc(rt, bin, args, RUNC_TIMEOUT_MS, NULL, &eb, &rc, err) < 0) {
		buf_free(&eb);
		return -1;
	}
	_cleanup_free_ char *m = rt_runc_message(&eb);
	buf_free(&eb);
	if (rc != 0 && !not_exist(m))
		return terr_internal(err, "container %s: delete: %s", id, m);

	/* conmon exits once it has recorded the exit; let it finish before its files go. */
	_cleanup_free_ char *cpidf = xasprintf("%s/conmon.pid", bundle);
	char cpid[32];
	if (rt_read_small(cpidf, cpid, sizeof cpid) > 0) {
		int pid = atoi(cpid);
		_cleanup_free_ char *comm = xasprintf("/proc/%d/comm", pid);
		char name[64];
		if (pid > 1 && rt_read_small(comm, name, sizeof name) > 0 &&
		    !strcmp(name, "conmon") && !rt_wait_pid_exit(pid, EXIT_FILE_WAIT_MS))
			kill(pid, SIGKILL);
	}
	if (rt_rootfs_unmount(bundle, err) < 0)
		return terr_wrap(err, "container %s", id);
	if (rt_rm_rf(bundle) < 0 && errno != ENOENT)
		return terr_internal(err, "container %s: removing %s: %s", id, bundle,
		                     strerror(errno));
	_cleanup_free_ char *exitf = xasprintf("%s/%s", rt->exit_dir, id);
	_cleanup_free_ char *sock = xasprintf("%s/%s", rt->sock_dir, id);
	unlink(exitf);
	unlink(sock);
	return 0;
}
