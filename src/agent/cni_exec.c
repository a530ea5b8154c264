/* cni_exec.c — the CNI execution protocol (spec 1.0, sections 2, 3 and 5): finding a
 * plugin in CNI_PATH, running it with the CNI_* environment and its request configuration
 * on stdin, reading its result or error, and running a network configuration list as a
 * chain (ADD in order with prevResult threaded through, DEL in reverse, CHECK in order).
 * Not for: what the configuration says (cni_conf.c) or namespaces (cni_netns.c). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/cni-internal.h"
#include "base/buf.h"
#include "base/json.h"
#include "base/log.h"
#include "base/util.h"

#define CNI_OUTPUT_MAX         (4u << 20) /* a result or error is a few KiB */
#define CNI_DEFAULT_TIMEOUT_MS 60000
/* Plugins run iptables and ip: they need the sbin dirs even when the agent's PATH lacks
 * them. */
#define CNI_SBIN_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static bool plain_name(const char *s)
{
	return s && *s && !strchr(s, '/') && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

char *cni_plugin_find(const char *dirs, const char *type)
{
	if (!plain_name(type))
		return NULL;
	const char *p = dirs && *dirs ? dirs : CNI_DEFAULT_PLUGIN_DIRS;
	while (*p) {
		size_t n = strcspn(p, ":");
		if (n > 0) {
			char *path = xasprintf("%.*s/%s", (int)n, p, type);
			struct stat st;
			if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0)
				return path;
			free(path);
		}
		p += n;
		if (*p == ':')
			p++;
	}
	return NULL;
}

/* The error result object in s, if s is one ({"code": N, "msg": ...}); new reference. */
static json_t *error_object(const char *s)
{
	if (!s || !*s)
		return NULL;
	json_t *j = json_loads(s, JSON_DISABLE_EOF_CHECK, NULL);
	if (j && json_is_object(j) && json_is_integer(json_object_get(j, "code")))
		return j;
	json_decref(j);
	return NULL;
}

/* The last line-ish part of a plugin's stderr, for an error message (at most 512 bytes). */
static void tail_text(buf *b, const char *s)
{
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
		n--;
	size_t start = n > 512 ? n - 512 : 0;
	for (size_t i = start; i < n; i++)
		buf_putc(b, s[i] == '\n' ? ' ' : s[i]);
}

int cni_plugin_error(const char *type, const char *command, int exit_code, const char *out,
                     const char *errout, terr **err)
{
	/* Spec 1.0 says the error result goes to stderr; the reference plugins print it on
	 * stdout. Take it from wherever it is. */
	_cleanup_json_ json_t *e = error_object(out);
	if (!e)
		e = error_object(errout);
	_cleanup_buf_ buf msg = {0};
	buf_printf(&msg, "CNI plugin %s %s failed", type, command);
	if (e) {
		json_int_t code = json_integer_value(json_object_get(e, "code"));
		const char *m = json_string_value(json_object_get(e, "msg"));
		const char *d = json_string_value(json_object_get(e, "details"));
		if (m && *m)
			buf_printf(&msg, ": %s", m);
		if (d && *d)
			buf_printf(&msg, ": %s", d);
		buf_printf(&msg, " (code %lld)", (long long)code);
		/* Spec: code 11 is "try again later", a transient condition. */
		if (code == 11) {
			terr_set(err, 503, "ServiceUnavailable", "%s", msg.p);
			if (err && *err)
				(*err)->retry_after = 1;
			return -1;
		}
		return terr_internal(err, "%s", msg.p);
	}
	if (exit_code >= 0)
		buf_printf(&msg, " (exit %d)", exit_code);
	else
		buf_printf(&msg, " (killed by signal %d)", -exit_code);
	if (errout && *errout) {
		buf_puts(&msg, ": ");
		tail_text(&msg, errout);
	} else if (out && *out) {
		buf_puts(&msg, ": ");
		tail_text(&msg, out);
	}
	return terr_internal(err, "%s", msg.p);
}

static void set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Reads what is available on *fd into b (bounded); closes *fd at end of file. */
static void drain(int *fd, buf *b)
{
	char tmp[8192];
	for (;;) {
		ssize_t r = read(*fd, tmp, sizeof tmp);
		if (r > 0) {
			if (b->n + (size_t)r <= CNI_OUTPUT_MAX)
				buf_add(b, tmp, (size_t)r);
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		close(*fd);
		*fd = -1;
		return;
	}
}

/* The child's environment: the CNI_* parameters and a PATH; nothing else of the agent's. */
static char **make_env(const cni_call *call)
{
	const char *path = getenv("PATH");
	char **env = xcalloc(8, sizeof *env);
	size_t n = 0;
	env[n++] = xasprintf("CNI_COMMAND=%s", call->command);
	if (call->container_id)
		env[n++] = xasprintf("CNI_CONTAINERID=%s", call->container_id);
	if (call->netns && *call->netns)
		env[n++] = xasprintf("CNI_NETNS=%s", call->netns);
	if (call->ifname)
		env[n++] = xasprintf("CNI_IFNAME=%s", call->ifname);
	if (call->args && *call->args)
		env[n++] = xasprintf("CNI_ARGS=%s", call->args);
	env[n++] = xasprintf("CNI_PATH=%s", call->plugin_dirs && *call->plugin_dirs
	                                        ? call->plugin_dirs
	                                        : CNI_DEFAULT_PLUGIN_DIRS);
	if (path && *path)
		env[n++] = xasprintf("PATH=%s:%s", path, CNI_SBIN_PATH);
	else
		env[n++] = xstrdup("PATH=" CNI_SBIN_PATH);
	env[n] = NULL;
	return env;
}

static void free_env(char **env)
{
	for (size_t i = 0; env && env[i]; i++)
		free(env[i]);
	free(env);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Spawns path with env, feeds stdin_data, collects stdout and stderr until both close or
 * the deadline passes. *status gets the wait status; -1 on spawn failure or timeout. */
static int run_child(const char *path, char **env, const char *stdin_data, int timeout_ms, buf *out,
                     buf *errout, int *status, terr **err)
{
	int in[2] = {-1, -1}, op[2] = {-1, -1}, ep[2] = {-1, -1};
	/* A socket for stdin: send(MSG_NOSIGNAL) cannot raise SIGPIPE in the agent when a
	 * plugin exits without reading. Every end is close-on-exec so plugins spawned by
	 * other threads at the same moment do not hold our pipes open. */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) < 0 ||
	    pipe2(op, O_CLOEXEC) < 0 || pipe2(ep, O_CLOEXEC) < 0) {
		int e = errno;
		for (int i = 0; i < 2; i++) {
			close_fd(&in[i]);
			close_fd(&op[i]);
			close_fd(&ep[i]);
		}
		return terr_internal(err, "CNI plugin %s: pipes: %s", path, strerror(e));
	}
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[1], 0);
	posix_spawn_file_actions_adddup2(&fa, op[1], 1);
	posix_spawn_file_actions_adddup2(&fa, ep[1], 2);
	posix_spawnattr_init(&attr);
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	/* Its own process group: a timeout kills the plugin and what it started. */
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
	                                    POSIX_SPAWN_SETPGROUP);
	char *argv[] = {(char *)path, NULL};
	pid_t pid;
	int rc = posix_spawn(&pid, path, &fa, &attr, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close_fd(&in[1]);
	close_fd(&op[1]);
	close_fd(&ep[1]);
	if (rc != 0) {
		close_fd(&in[0]);
		close_fd(&op[0]);
		close_fd(&ep[0]);
		return terr_internal(err, "CNI plugin %s: %s", path, strerror(rc));
	}
	set_nonblock(in[0]);
	set_nonblock(op[0]);
	set_nonblock(ep[0]);
	size_t in_len = stdin_data ? strlen(stdin_data) : 0, in_off = 0;
	if (in_len == 0)
		close_fd(&in[0]);
	int64_t deadline = time_mono_ns() + (int64_t)timeout_ms * 1000000;
	bool timed_out = false;
	while (op[0] >= 0 || ep[0] >= 0) {
		struct pollfd pf[3];
		int np = 0, iin = -1, iout = -1, ierr = -1;
		if (in[0] >= 0) {
			iin = np;
			pf[np++] = (struct pollfd){.fd = in[0], .events = POLLOUT};
		}
		if (op[0] >= 0) {
			iout = np;
			pf[np++] = (struct pollfd){.fd = op[0], .events = POLLIN};
		}
		if (ep[0] >= 0) {
			ierr = np;
			pf[np++] = (struct pollfd){.fd = ep[0], .events = POLLIN};
		}
		int64_t left = (deadline - time_mono_ns()) / 1000000;
		if (left <= 0) {
			timed_out = true;
			break;
		}
		int r = poll(pf, (nfds_t)np, (int)(left > 1000 ? 1000 : left));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		if (iin >= 0 && pf[iin].revents) {
			ssize_t w = send(in[0], stdin_data + in_off, in_len - in_off,
			                 MSG_NOSIGNAL | MSG_DONTWAIT);
			if (w > 0)
				in_off += (size_t)w;
			if ((w < 0 && errno != EAGAIN && errno != EINTR) || in_off == in_len)
				close_fd(&in[0]); /* end of file for the plugin */
		}
		if (iout >= 0 && pf[iout].revents)
			drain(&op[0], out);
		if (ierr >= 0 && pf[ierr].revents)
			drain(&ep[0], errout);
	}
	close_fd(&in[0]);
	close_fd(&op[0]);
	close_fd(&ep[0]);
	if (timed_out)
		kill(-pid, SIGKILL);
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
	if (timed_out)
		return terr_internal(err, "CNI plugin %s timed out after %d ms", path, timeout_ms);
	return 0;
}

int cni_exec_plugin(const cni_call *call, const char *type, const char *stdin_data, json_t **out,
                    terr **err)
{
	*out = NULL;
	_cleanup_free_ char *path = cni_plugin_find(call->plugin_dirs, type);
	if (!path)
		return terr_internal(err, "CNI plugin \"%s\" not found in %s", type ? type : "",
		                     call->plugin_dirs && *call->plugin_dirs
		                         ? call->plugin_dirs
		                         : CNI_DEFAULT_PLUGIN_DIRS);
	char **env = make_env(call);
	_cleanup_buf_ buf o = {0};
	_cleanup_buf_ buf e = {0};
	int status = 0;
	int rc = run_child(path, env, stdin_data,
	                   call->timeout_ms > 0 ? call->timeout_ms : CNI_DEFAULT_TIMEOUT_MS, &o, &e,
	                   &status, err);
	free_env(env);
	if (rc < 0)
		return -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		int code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
		return cni_plugin_error(type, call->command, code, o.p ? o.p : "", e.p ? e.p : "",
		                        err);
	}
	size_t i = 0;
	while (i < o.n && (o.p[i] == ' ' || o.p[i] == '\n' || o.p[i] == '\t' || o.p[i] == '\r'))
		i++;
	if (i == o.n)
		return 0;
	json_error_t je;
	json_t *j = json_loadb(o.p + i, o.n - i, 0, &je);
	if (!j || !json_is_object(j)) {
		json_decref(j);
		return terr_internal(err, "CNI plugin %s %s: output is not a JSON object: %s", type,
		                     call->command, j ? "not an object" : je.text);
	}
	*out = j;
	return 0;
}

json_t *cni_request_config(const json_t *netconf, const json_t *plugin, const json_t *runtime_args,
                           const json_t *prev)
{
	json_t *req = json_clone(plugin);
	json_object_set(req, "cniVersion", json_object_get(netconf, "cniVersion"));
	json_object_set(req, "name", json_object_get(netconf, "name"));
	/* Spec 3: runtimeConfig is the union of capabilities the plugin declares and the
	 * runtime provides; capabilities itself must not be passed. */
	json_t *caps = json_object_get(plugin, "capabilities");
	json_t *rc = json_object();
	const char *k;
	json_t *v;
	json_object_foreach(caps, k, v)
	{
		json_t *arg = json_object_get(runtime_args, k);
		if (json_is_true(v) && arg)
			json_object_set(rc, k, arg);
	}
	json_object_del(req, "capabilities");
	if (json_object_size(rc) > 0)
		json_object_set_new(req, "runtimeConfig", rc);
	else
		json_decref(rc);
	if (prev)
		json_object_set_new(req, "prevResult", json_clone(prev));
	return req;
}

/* Runs plugin i of netconf's list with the given previous result. */
static int exec_one(const cni_call *call, const json_t *netconf, size_t i,
                    const json_t *runtime_args, const json_t *prev, json_t **out, terr **err)
{
	json_t *plugin = json_array_get(json_object_get(netconf, "plugins"), i);
	const char *type = json_string_value(json_object_get(plugin, "type"));
	_cleanup_json_ json_t *req = cni_request_config(netconf, plugin, runtime_args, prev);
	_cleanup_free_ char *in = json_dumps(req, JSON_COMPACT);
	return cni_exec_plugin(call, type, in, out, err);
}

/* CHECK errors that known plugin releases give for a healthy attachment. Each is
 * ignored only when its condition holds; anything else still fails the CHECK (the spec
 * lets a runtime decide what to do with a failed CHECK). */
static bool ipv4_only(const json_t *result)
{
	size_t i;
	json_t *ip;
	json_array_foreach(json_object_get(result, "ips"), i, ip)
	{
		const char *a = json_string_value(json_object_get(ip, "address"));
		if (a && strchr(a, ':'))
			return false;
	}
	return true;
}

static const struct check_quirk {
	const char *type;
	const char *needle;                  /* in the error message */
	bool (*applies)(const json_t *prev); /* given the ADD result */
	const char *why;
} check_quirks[] = {
    {.type = "portmap",
     .needle = "could not check ipv6 dnat",
     .applies = ipv4_only,
     .why = "portmap before 1.3.0 checks IPv6 rules of IPv4-only pods"},
};

static bool check_quirk(const char *type, const json_t *prev, const terr *e)
{
	for (size_t i = 0; e && e->message && i < ARRAY_SIZE(check_quirks); i++) {
		const struct check_quirk *q = &check_quirks[i];
		if (!str_eq(q->type, type) || !strstr(e->message, q->needle))
			continue;
		if (!q->applies(prev))
			continue;
		log_debug("cni: ignoring %s CHECK error (%s): %s", type, q->why, e->message);
		return true;
	}
	return false;
}

/* A plugin run on a thread of its own during an ADD (the loopback plugin). */
typedef struct lo_job {
	pthread_t thread;
	bool started;
	cni_call call;
	json_t *netconf; /* a copy: the chain's own is read meanwhile */
	json_t *runtime_args;
	size_t index;
	terr *err;
} lo_job;

static void *lo_thread(void *arg)
{
	lo_job *j = arg;
	json_t *res = NULL;
	exec_one(&j->call, j->netconf, j->index, j->runtime_args, NULL, &res, &j->err);
	json_decref(res);
	return NULL;
}

static bool lo_start(lo_job *j, const cni_call *call, const json_t *netconf, size_t index,
                     const json_t *runtime_args)
{
	j->call = *call;
	j->netconf = json_clone(netconf);
	j->runtime_args = runtime_args ? json_clone(runtime_args) : NULL;
	j->index = index;
	if (j->netconf && pthread_create(&j->thread, NULL, lo_thread, j) == 0) {
		j->started = true;
		return true;
	}
	json_decref(j->netconf);
	json_decref(j->runtime_args);
	return false;
}

/* Joins the job (if started): 0, or -1 with its error in *err (dropped when err is NULL). */
static int lo_end(lo_job *j, terr **err)
{
	if (!j->started)
		return 0;
	pthread_join(j->thread, NULL);
	j->started = false;
	json_decref(j->netconf);
	json_decref(j->runtime_args);
	if (!j->err)
		return 0;
	if (err && !*err)
		*err = j->err;
	else
		terr_free(j->err);
	j->err = NULL;
	return -1;
}

int cni_exec_chain(const cni_call *call, const json_t *netconf, const json_t *runtime_args,
                   const json_t *prev, json_t **result, terr **err)
{
	if (result)
		*result = NULL;
	json_t *plugins = json_object_get(netconf, "plugins");
	size_t n = json_array_size(plugins);
	if (n == 0)
		return terr_internal(err, "CNI network configuration has no plugins");
	if (strcmp(call->command, "ADD") == 0) {
		/* The loopback plugin, last in the list, only brings lo up in the namespace and
		 * passes the result before it through unchanged: it runs beside the others (as
		 * containerd runs it, as a network of its own), not after them. */
		lo_job lo = {0};
		if (n > 1 &&
		    str_eq(
		        json_string_value(json_object_get(json_array_get(plugins, n - 1), "type")),
		        "loopback") &&
		    lo_start(&lo, call, netconf, n - 1, runtime_args))
			n--;
		json_t *last = NULL;
		for (size_t i = 0; i < n; i++) {
			json_t *res = NULL;
			int rc = exec_one(call, netconf, i, runtime_args, last, &res, err);
			json_decref(last);
			last = res;
			if (rc < 0) {
				json_decref(last);
				lo_end(&lo, NULL);
				return -1;
			}
			if (!last) {
				lo_end(&lo, NULL);
				return terr_internal(err, "CNI plugin %s ADD returned no result",
				                     json_string_value(json_object_get(
				                         json_array_get(plugins, i), "type")));
			}
		}
		if (lo_end(&lo, err) < 0) {
			json_decref(last);
			return -1;
		}
		if (result)
			*result = last;
		else
			json_decref(last);
		return 0;
	}
	bool del = strcmp(call->command, "DEL") == 0;
	if (!del && json_is_true(json_object_get(netconf, "disableCheck")))
		return 0; /* spec: no CHECK when the configuration disables it */
	for (size_t k = 0; k < n; k++) {
		size_t i = del ? n - 1 - k : k;
		_cleanup_json_ json_t *res = NULL;
		terr *e = NULL;
		if (exec_one(call, netconf, i, runtime_args, prev, &res, &e) == 0)
			continue;
		const char *type =
		    json_string_value(json_object_get(json_array_get(plugins, i), "type"));
		if (!del && check_quirk(type, prev, e)) {
			terr_free(e);
			continue;
		}
		if (err && !*err)
			*err = e;
		else
			terr_free(e);
		return -1;
	}
	return 0;
}

const char *cni_exec_pick_version(const cni_call *call, const json_t *netconf, terr **err)
{
	json_t *plugins = json_object_get(netconf, "plugins");
	bool ok[8];
	size_t nv = 0;
	while (cni_versions[nv] && nv < ARRAY_SIZE(ok))
		ok[nv++] = true;
	cni_call vc = *call;
	vc.command = "VERSION";
	for (size_t i = 0; i < json_array_size(plugins); i++) {
		const char *type =
		    json_string_value(json_object_get(json_array_get(plugins, i), "type"));
		_cleanup_json_ json_t *req = json_pack("{ss}", "cniVersion", cni_versions[0]);
		_cleanup_free_ char *in = json_dumps(req, JSON_COMPACT);
		_cleanup_json_ json_t *res = NULL;
		if (cni_exec_plugin(&vc, type, in, &res, err) < 0)
			return NULL;
		json_t *sup = json_object_get(res, "supportedVersions");
		for (size_t v = 0; v < nv; v++) {
			bool found = false;
			size_t j;
			json_t *s;
			json_array_foreach(sup, j, s) found |=
			    str_eq(json_string_value(s), cni_versions[v]);
			ok[v] = ok[v] && found;
		}
	}
	for (size_t v = 0; v < nv; v++)
		if (ok[v])
			return cni_versions[v];
	terr_internal(err, "CNI plugins support none of the spec versions timon speaks (%s ...)",
	              cni_versions[0]);
	return NULL;
}
