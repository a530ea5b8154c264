/* probe.c — one attempt of a container probe: picks the handler (exec, httpGet, tcpSocket,
 * grpc), resolves named ports, and runs exec and tcpSocket probes; the HTTP-based ones are
 * in probe_http.c. Blocking: worker threads only.
 * Not for: timing and thresholds (probe_tracker.c). */
#include "agent/probe.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/probe-internal.h"
#include "agent/runtime.h"
#include "base/buf.h"
#include "base/util.h"

int probe_timeout_s(json_t *probe)
{
	json_t *v = json_object_get(probe, "timeoutSeconds");
	int64_t n = json_is_integer(v) ? json_integer_value(v) : 0;
	return n > 0 ? (int)(n > 3600 ? 3600 : n) : 1; /* k8s: default 1 s, minimum 1 */
}

void probe_set_message(char **message, char *text)
{
	if (message) {
		free(*message);
		*message = text;
	} else {
		free(text);
	}
}

char *probe_host_port(const char *host, int port)
{
	/* Go's net.JoinHostPort brackets IPv6 literals. */
	return strchr(host, ':') ? xasprintf("[%s]:%d", host, port) : xasprintf("%s:%d", host, port);
}

char *probe_errno_text(int e)
{
	/* Go prints syscall errors in lower case ("connection refused"). */
	char *s = xstrdup(strerror(e));
	if (s[0] >= 'A' && s[0] <= 'Z' && !(s[1] >= 'A' && s[1] <= 'Z'))
		s[0] = (char)(s[0] - 'A' + 'a');
	return s;
}

int probe_port(json_t *port, json_t *container)
{
	if (json_is_integer(port)) {
		json_int_t n = json_integer_value(port);
		return n > 0 && n < 65536 ? (int)n : -1;
	}
	const char *name = json_string_value(port);
	if (!name || !name[0])
		return -1;
	/* k8s: a port string that is all digits is a number (IntOrString from YAML). */
	if (strspn(name, "0123456789") == strlen(name)) {
		long n = strtol(name, NULL, 10);
		return n > 0 && n < 65536 ? (int)n : -1;
	}
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(container, "ports"), i, p) {
		if (str_eq(json_string_value(json_object_get(p, "name")), name)) {
			json_int_t n = json_integer_value(json_object_get(p, "containerPort"));
			return n > 0 && n < 65536 ? (int)n : -1;
		}
	}
	return -1;
}

/* ---------- exec ---------- */

static probe_result run_exec(json_t *h, int timeout_s, const probe_target *t, char **message)
{
	json_t *cmd = json_object_get(h, "command");
	size_t n = json_array_size(cmd);
	if (!n || !t->rt || !t->container_id) {
		probe_set_message(message, xstrdup("exec probe without a command or container"));
		return PROBE_ERROR;
	}
	char **argv = xcalloc(n + 1, sizeof *argv);
	for (size_t i = 0; i < n; i++)
		argv[i] = (char *)json_string_value(json_array_get(cmd, i));
	runtime_exec_opts o = {.argv = argv, .timeout_s = timeout_s, .max_output = PROBE_MAX_BODY};
	runtime_exec_result res = {0};
	terr *err = NULL;
	int rc = runtime_exec(t->rt, t->container_id, &o, &res, &err);
	free(argv);
	if (rc < 0) {
		probe_set_message(message, xstrdup(err && err->message ? err->message : "exec failed"));
		terr_free(err);
		return PROBE_ERROR;
	}
	probe_result r = PROBE_SUCCESS;
	buf out = {0};
	if (res.timed_out) {
		/* k8s: an exec probe that passes timeoutSeconds fails. */
		buf_puts(&out, "command \"");
		for (size_t i = 0; i < n; i++)
			buf_printf(&out, "%s%s", i ? " " : "", json_string_value(json_array_get(cmd, i)));
		buf_printf(&out, "\" timed out");
		r = PROBE_FAILURE;
	} else {
		/* k8s: the event shows what the command wrote, stdout then stderr. */
		if (res.out.n)
			buf_add(&out, res.out.p, res.out.n);
		if (res.err.n)
			buf_add(&out, res.err.p, res.err.n);
		if (res.exit_code != 0)
			r = PROBE_FAILURE;
	}
	runtime_exec_result_free(&res);
	probe_set_message(message, out.n ? buf_take(&out) : NULL);
	buf_free(&out);
	return r;
}

/* ---------- tcpSocket ---------- */

/* k8s: a tcpSocket probe succeeds when the connection opens; it is closed right away. */
static probe_result run_tcp(const char *host, int port, int timeout_s, char **message)
{
	_cleanup_free_ char *hp = probe_host_port(host, port);
	char svc[16];
	snprintf(svc, sizeof svc, "%d", port);
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
	int g = getaddrinfo(host, svc, &hints, &ai);
	if (g != 0) {
		probe_set_message(message, xasprintf("dial tcp: lookup %s: no such host", host));
		return PROBE_FAILURE;
	}
	int e = ETIMEDOUT;
	int64_t deadline = time_mono_ns() + (int64_t)timeout_s * 1000000000LL;
	for (struct addrinfo *a = ai; a; a = a->ai_next) {
		int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			e = errno;
			continue;
		}
		int rc = connect(fd, a->ai_addr, a->ai_addrlen);
		if (rc < 0 && errno == EINPROGRESS) {
			int64_t left = (deadline - time_mono_ns()) / 1000000;
			struct pollfd p = {.fd = fd, .events = POLLOUT};
			rc = left > 0 ? poll(&p, 1, (int)left) : 0;
			if (rc == 1) {
				socklen_t len = sizeof e;
				getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len);
				rc = e ? -1 : 0;
			} else {
				e = ETIMEDOUT;
				rc = -1;
			}
		} else if (rc < 0) {
			e = errno;
		}
		close(fd);
		if (rc == 0) {
			freeaddrinfo(ai);
			return PROBE_SUCCESS;
		}
		if (e == ETIMEDOUT)
			break;
	}
	freeaddrinfo(ai);
	if (e == ETIMEDOUT) {
		probe_set_message(message, xasprintf("dial tcp %s: i/o timeout", hp));
	} else {
		_cleanup_free_ char *t = probe_errno_text(e);
		probe_set_message(message, xasprintf("dial tcp %s: connect: %s", hp, t));
	}
	return PROBE_FAILURE;
}

/* ---------- dispatch ---------- */

probe_result probe_run(json_t *probe, const probe_target *t, char **message)
{
	if (message)
		*message = NULL;
	int timeout_s = probe_timeout_s(probe);
	json_t *h;
	if ((h = json_object_get(probe, "exec")))
		return run_exec(h, timeout_s, t, message);
	const char *kind = NULL;
	if ((h = json_object_get(probe, "httpGet")))
		kind = "httpGet";
	else if ((h = json_object_get(probe, "tcpSocket")))
		kind = "tcpSocket";
	else if ((h = json_object_get(probe, "grpc")))
		kind = "grpc";
	if (!kind) {
		probe_set_message(message, xstrdup("missing probe handler"));
		return PROBE_ERROR;
	}
	json_t *pj = json_object_get(h, "port");
	/* k8s: grpc ports are numbers only; the others may name a containerPort. */
	int port = str_eq(kind, "grpc") ? probe_port(json_is_integer(pj) ? pj : NULL, NULL)
	                                : probe_port(pj, t->container);
	if (port < 0) {
		_cleanup_free_ char *ps = json_dumps(pj ? pj : json_null(), JSON_ENCODE_ANY);
		probe_set_message(message, xasprintf("couldn't find port %s in the container", ps));
		return PROBE_ERROR;
	}
	const char *host = json_string_value(json_object_get(h, "host"));
	if (!host || !host[0])
		host = t->pod_ip;
	if (!host || !host[0]) {
		probe_set_message(message, xstrdup("the pod has no IP address yet"));
		return PROBE_ERROR;
	}
	if (str_eq(kind, "tcpSocket"))
		return run_tcp(host, port, timeout_s, message);
	if (str_eq(kind, "httpGet"))
		return probe_http(h, host, port, timeout_s, message);
	return probe_grpc(h, host, port, timeout_s, message);
}
