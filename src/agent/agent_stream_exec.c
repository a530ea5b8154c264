/* agent_stream_exec.c — kubectl exec (and cp, which is exec + tar) and attach over WebSocket with
 * the Kubernetes channel protocol v5.channel.k8s.io (v4 accepted): each binary message
 * starts with a channel byte — 0 stdin, 1 stdout, 2 stderr, 3 error (a Status JSON once,
 * at the end), 4 resize ({"Width","Height"}), 255 close (v5: the client closed the channel
 * in the next byte). The command runs as `runc exec --process FILE` with the container's
 * process settings, through pipes or, for -t, a pseudo-terminal from openpty (resizes are
 * TIOCSWINSZ on its master; runc forwards them). Each session has a thread that pumps the
 * process's descriptors; bytes cross to the loop in a locked queue woken by uv_async (out)
 * and an eventfd (in). Attach joins the container's own stdio through its conmon: the
 * bundle's `attach` socket (SOCK_SEQPACKET; each packet conmon sends starts with the pipe,
 * 2 stdout or 3 stderr; what we send is the container's stdin, taken only when conmon was
 * started with -i, i.e. the container has stdin: true) and resizes as `1 H W` lines on its
 * `ctl` fifo. Not for: SPDY upgrades (kubectl 1.32 only falls back to them when WebSocket
 * is refused).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/agent_stream-internal.h"
#include "agent/runtime-internal.h"
#include "base/json.h"
#include "base/log.h"
#include "base/pki.h"
#include "base/util.h"
#include "base/ws.h"

enum { CH_STDIN = 0, CH_STDOUT = 1, CH_STDERR = 2, CH_ERROR = 3, CH_RESIZE = 4, CH_CLOSE = 255 };

#define OUT_HIGH (1u << 20) /* the worker stops reading output above this much queued */

typedef struct exec_sess {
	agent_streams *as;
	char *id;
	char **argv;
	bool tty, want_stdin, want_stdout, want_stderr, v5;
	bool attach;     /* attach to the main process (no argv) */
	bool stdin_once; /* attach: the container's stdinOnce */
	uv_async_t async;
	uv_timer_t timer; /* re-checks a full output queue */
	int wake_fd;      /* eventfd: wakes the worker */
	pthread_mutex_t mu;
	/* Under mu. */
	buf in;           /* stdin not yet written */
	bool in_eof;      /* the client closed stdin */
	buf out;          /* records: channel byte, 4-byte length, data */
	size_t net_queued;/* bytes the connection still holds (loop's last look) */
	bool done, gone;
	int cols, rows;   /* a pending resize; 0 when none */
	int refs;
	/* Loop thread only. */
	ws_conn *ws;
	bool finished;    /* the done records were sent */
} exec_sess;

static void sess_unref(exec_sess *s)
{
	pthread_mutex_lock(&s->mu);
	int left = --s->refs;
	pthread_mutex_unlock(&s->mu);
	if (left)
		return;
	pthread_mutex_destroy(&s->mu);
	if (s->wake_fd >= 0)
		close(s->wake_fd);
	buf_free(&s->in);
	buf_free(&s->out);
	free(s->id);
	stream_strv_free(s->argv);
	free(s);
}

static void wake(exec_sess *s)
{
	uint64_t one = 1;
	if (write(s->wake_fd, &one, sizeof one) < 0) {
		/* the counter is saturated: the worker is awake anyway */
	}
}

/* ---------- the worker ---------- */

/* Queues a record for the loop (mu held by the caller or not: takes it). */
static void push_out(exec_sess *s, int ch, const void *data, size_t len)
{
	uint8_t h[5] = {(uint8_t)ch, (uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
	                (uint8_t)len};
	pthread_mutex_lock(&s->mu);
	buf_add(&s->out, h, 5);
	buf_add(&s->out, data, len);
	pthread_mutex_unlock(&s->mu);
	uv_async_send(&s->async);
}

static void push_error(exec_sess *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void push_error(exec_sess *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *msg = NULL;
	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	va_end(ap);
	_cleanup_free_ char *st = agent_stream_error_status(500, "InternalError", msg);
	push_out(s, CH_ERROR, st, strlen(st));
}

/* The process file for runc exec: the container's own process with argv (and a terminal
 * when tty). New path, or NULL after push_error. */
static char *write_process_file(exec_sess *s, runtime *rt, char **pidfile)
{
	_cleanup_free_ char *bundle = rt_bundle_path(rt, s->id);
	_cleanup_free_ char *config = xasprintf("%s/config.json", bundle);
	_cleanup_json_ json_t *spec = json_load_file(config, 0, NULL);
	json_t *proc = json_object_get(spec, "process");
	if (!json_is_object(proc)) {
		push_error(s, "container %s: config.json has no process", s->id);
		return NULL;
	}
	_cleanup_json_ json_t *p = json_clone(proc);
	json_t *args = json_array();
	for (size_t i = 0; s->argv[i]; i++)
		json_array_append_new(args, json_string(s->argv[i]));
	json_object_set_new(p, "args", args);
	json_object_set_new(p, "terminal", json_boolean(s->tty));
	if (s->tty) {
		/* k8s (CRI runtimes): a terminal session gets TERM=xterm unless the container
		 * sets TERM itself. */
		json_t *env = json_object_get(p, "env");
		bool has = false;
		size_t i;
		json_t *e;
		json_array_foreach(env, i, e)
		{
			if (str_has_prefix(json_string_value(e) ? json_string_value(e) : "", "TERM="))
				has = true;
		}
		if (!has) {
			if (!json_is_array(env)) {
				env = json_array();
				json_object_set_new(p, "env", env);
			}
			json_array_append_new(env, json_string("TERM=xterm"));
		}
	}
	unsigned char rnd[6];
	random_bytes(rnd, sizeof rnd);
	char tag[16];
	snprintf(tag, sizeof tag, "%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3], rnd[4],
	         rnd[5]);
	char *pfile = xasprintf("%s/exec-%s.json", bundle, tag);
	*pidfile = xasprintf("%s/exec-%s.pid", bundle, tag);
	_cleanup_free_ char *text = json_dumps(p, JSON_COMPACT);
	terr *err = NULL;
	if (pki_replace_file(pfile, text, strlen(text), 0600, &err) < 0) {
		push_error(s, "container %s: exec: %s", s->id, err->message);
		terr_free(err);
		free(pfile);
		free(*pidfile);
		*pidfile = NULL;
		return NULL;
	}
	return pfile;
}

static void kill_exec(const char *pidfile, pid_t runc_pid)
{
	char b[32] = {0};
	int fd = open(pidfile, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, b, sizeof b - 1);
		close(fd);
		int pid = n > 0 ? atoi(b) : 0;
		if (pid > 1)
			kill(pid, SIGKILL);
	}
	kill(runc_pid, SIGKILL);
}

static void *exec_worker(void *arg)
{
	exec_sess *s = arg;
	runtime *rt = s->as->rt;
	runtime_status st;
	terr *err = NULL;
	_cleanup_free_ char *pidfile = NULL;
	_cleanup_free_ char *pfile = NULL;
	_cleanup_free_ char *bin = NULL; /* the container's OCI runtime */
	if (runtime_status_get(rt, s->id, &st, &err) < 0) {
		push_error(s, "container not found (%s)", err->message);
		terr_free(err);
		goto out;
	}
	runtime_state state = st.state;
	runtime_status_free(&st);
	if (state != RUNTIME_RUNNING) {
		push_error(s, "container %s is not running", s->id);
		goto out;
	}
	pfile = write_process_file(s, rt, &pidfile);
	if (!pfile)
		goto out;

	/* fds[0..2]: the child's stdin/stdout/stderr; ours: in_w, out_r, err_r (or master). */
	int master = -1, slave = -1, in_p[2] = {-1, -1}, out_p[2] = {-1, -1}, err_p[2] = {-1, -1};
	if (s->tty) {
		if (openpty(&master, &slave, NULL, NULL, NULL) < 0) {
			push_error(s, "openpty: %s", strerror(errno));
			goto out;
		}
		fcntl(master, F_SETFD, FD_CLOEXEC);
		/* kubectl sends the terminal's size right after connecting. runc copies the size
		 * of its terminal once at start and then on SIGWINCH, which it may not handle
		 * yet when the first resize lands: so wait for it (up to 2 s: kubectl is slow to send
		 * it on a loaded machine) and set it first. */
		for (int i = 0; i < 200; i++) {
			pthread_mutex_lock(&s->mu);
			int cols = s->cols, rows = s->rows;
			if (cols > 0 && rows > 0)
				s->cols = s->rows = 0;
			pthread_mutex_unlock(&s->mu);
			if (cols > 0 && rows > 0) {
				struct winsize wsz = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
				ioctl(master, TIOCSWINSZ, &wsz);
				/* runc resizes its own console only after the process has started (a
				 * quick `stty size` sees 0 0): the OCI consoleSize is applied before. */
				json_t *pj = json_load_file(pfile, 0, NULL);
				if (pj) {
					json_object_set_new(pj, "consoleSize", json_pack("{s:i,s:i}", "height", rows, "width", cols));
					_cleanup_free_ char *txt = json_dumps(pj, JSON_COMPACT);
					terr *werr = NULL;
					if (pki_replace_file(pfile, txt, strlen(txt), 0600, &werr) < 0)
						terr_free(werr);
					json_decref(pj);
				}
				break;
			}
			struct pollfd pw = {.fd = s->wake_fd, .events = POLLIN};
			if (poll(&pw, 1, 10) > 0) {
				uint64_t v;
				if (read(s->wake_fd, &v, sizeof v) < 0) {
					/* raced with the worker's own read: fine */
				}
			}
		}
	} else if (pipe2(in_p, O_CLOEXEC) < 0 || pipe2(out_p, O_CLOEXEC) < 0 ||
	           pipe2(err_p, O_CLOEXEC) < 0) {
		push_error(s, "pipe: %s", strerror(errno));
		goto out;
	}
	bin = rt_runtime_for(rt, s->id);
	char *argv[] = {bin,            (char *)"--root", rt->runc_root, (char *)"exec",
	                (char *)"--process", pfile,       (char *)"--pid-file", pidfile,
	                s->id,          NULL};
	pid_t pid = fork();
	if (pid == 0) {
		setsid();
		if (s->tty) {
			ioctl(slave, TIOCSCTTY, 0);
			dup2(slave, 0);
			dup2(slave, 1);
			dup2(slave, 2);
		} else {
			dup2(in_p[0], 0);
			dup2(out_p[1], 1);
			dup2(err_p[1], 2);
		}
		for (int fd = 3; fd < 1024; fd++)
			close(fd);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execv(argv[0], argv);
		_exit(127);
	}
	int in_w, out_r, err_r;
	if (s->tty) {
		close(slave);
		in_w = out_r = master;
		err_r = -1;
	} else {
		close(in_p[0]);
		close(out_p[1]);
		close(err_p[1]);
		in_w = in_p[1];
		out_r = out_p[0];
		err_r = err_p[0];
		if (!s->want_stdin) {
			close(in_w);
			in_w = -1;
		}
	}
	if (pid < 0) {
		push_error(s, "fork: %s", strerror(errno));
		goto close_fds;
	}
	fcntl(out_r, F_SETFL, O_NONBLOCK);
	if (in_w >= 0)
		fcntl(in_w, F_SETFL, O_NONBLOCK);
	bool killed = false;
	char tmp[32768];
	while (out_r >= 0 || err_r >= 0) {
		pthread_mutex_lock(&s->mu);
		bool gone = s->gone, in_eof = s->in_eof;
		size_t in_n = s->in.n, queued = s->out.n + s->net_queued;
		int cols = s->cols, rows = s->rows;
		s->cols = s->rows = 0;
		pthread_mutex_unlock(&s->mu);
		if (gone && !killed) {
			/* k8s: a session whose client went away ends its process. */
			kill_exec(pidfile, pid);
			killed = true;
		}
		if (cols > 0 && rows > 0 && master >= 0) {
			struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
			ioctl(master, TIOCSWINSZ, &ws);
		}
		if (in_eof && in_n == 0 && in_w >= 0 && !s->tty) {
			close(in_w);
			in_w = -1;
		}
		struct pollfd p[4];
		int np = 0, i_out = -1, i_err = -1, i_in = -1;
		p[np++] = (struct pollfd){.fd = s->wake_fd, .events = POLLIN};
		bool full = queued > OUT_HIGH && !gone;
		if (out_r >= 0 && !full) {
			i_out = np;
			p[np++] = (struct pollfd){.fd = out_r, .events = POLLIN};
		}
		if (err_r >= 0 && !full) {
			i_err = np;
			p[np++] = (struct pollfd){.fd = err_r, .events = POLLIN};
		}
		if (in_w >= 0 && in_n > 0) {
			i_in = np;
			p[np++] = (struct pollfd){.fd = in_w, .events = POLLOUT};
		}
		if (poll(p, (nfds_t)np, 1000) < 0 && errno != EINTR)
			break;
		if (p[0].revents & POLLIN) {
			uint64_t v;
			if (read(s->wake_fd, &v, sizeof v) < 0) {
				/* nothing to read: a spurious wakeup */
			}
		}
		if (i_in >= 0 && (p[i_in].revents & (POLLOUT | POLLERR | POLLHUP))) {
			pthread_mutex_lock(&s->mu);
			ssize_t n = write(in_w, s->in.p, s->in.n);
			if (n > 0) {
				memmove(s->in.p, s->in.p + n, s->in.n - (size_t)n);
				s->in.n -= (size_t)n;
			} else if (n < 0 && errno != EAGAIN) {
				s->in.n = 0; /* the process closed its stdin: drop the rest */
				s->in_eof = true;
			}
			pthread_mutex_unlock(&s->mu);
		}
		int idx[2] = {i_out, i_err};
		int *fds[2] = {&out_r, &err_r};
		for (int k = 0; k < 2; k++) {
			if (idx[k] < 0 || !(p[idx[k]].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t n = read(*fds[k], tmp, sizeof tmp);
			if (n > 0) {
				bool want = k == 0 ? s->want_stdout : s->want_stderr;
				if (want)
					push_out(s, k == 0 ? CH_STDOUT : CH_STDERR, tmp, (size_t)n);
			} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
				/* EOF, or EIO on a terminal's master once the last process left */
				if (*fds[k] == in_w)
					in_w = -1;
				close(*fds[k]);
				*fds[k] = -1;
			}
		}
	}
	int wstatus = 0, code = -1;
	while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(wstatus))
		code = WEXITSTATUS(wstatus);
	else if (WIFSIGNALED(wstatus))
		code = 128 + WTERMSIG(wstatus);
	{
		_cleanup_free_ char *status = agent_stream_exit_status(code);
		push_out(s, CH_ERROR, status, strlen(status));
	}
close_fds:
	if (in_w >= 0)
		close(in_w);
	if (out_r >= 0)
		close(out_r);
	if (err_r >= 0)
		close(err_r);
out:
	if (pfile)
		unlink(pfile);
	if (pidfile)
		unlink(pidfile);
	pthread_mutex_lock(&s->mu);
	s->done = true;
	pthread_mutex_unlock(&s->mu);
	uv_async_send(&s->async);
	sess_unref(s);
	return NULL;
}

/* ---------- attach ---------- */

/* conmon's attach packet pipes (its stdpipe_t). */
enum { CONMON_STDOUT = 2, CONMON_STDERR = 3 };

/* Connects to the container's conmon attach socket in its bundle (through /proc/self/fd,
 * as conmon binds it: bundle paths outgrow sun_path). The socket, or -1 (errno). */
static int attach_connect(const char *bundle)
{
	int dfd = open(bundle, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -1;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "/proc/self/fd/%d/attach", dfd);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	int r = fd < 0 ? -1 : connect(fd, (struct sockaddr *)&sa, sizeof sa);
	int e = errno;
	close(dfd);
	if (r < 0) {
		if (fd >= 0)
			close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* k8s: a terminal resize reaches the container's console through conmon. */
static void attach_resize(const char *bundle, int cols, int rows)
{
	_cleanup_free_ char *ctl = xasprintf("%s/ctl", bundle);
	int fd = open(ctl, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return;
	char line[64];
	int n = snprintf(line, sizeof line, "1 %d %d\n", rows, cols); /* WIN_RESIZE_EVENT */
	if (write(fd, line, (size_t)n) < 0) {
		/* a full fifo drops the resize; the next one fixes it */
	}
	close(fd);
}

static void *attach_worker(void *arg)
{
	exec_sess *s = arg;
	runtime *rt = s->as->rt;
	runtime_status st;
	terr *err = NULL;
	int sock = -1;
	_cleanup_free_ char *bundle = NULL;
	if (runtime_status_get(rt, s->id, &st, &err) < 0) {
		push_error(s, "container not found (%s)", err->message);
		terr_free(err);
		goto out;
	}
	runtime_state state = st.state;
	bundle = xstrdup(st.bundle);
	runtime_status_free(&st);
	if (state != RUNTIME_RUNNING) {
		push_error(s, "container %s is not running", s->id);
		goto out;
	}
	sock = attach_connect(bundle);
	if (sock < 0) {
		push_error(s, "container %s: attach: %s", s->id, strerror(errno));
		goto out;
	}
	fcntl(sock, F_SETFL, O_NONBLOCK);
	bool wr_open = s->want_stdin;
	if (!wr_open)
		shutdown(sock, SHUT_WR); /* nothing to send: conmon leaves stdin alone (-i absent) */
	char pkt[65536];
	for (;;) {
		pthread_mutex_lock(&s->mu);
		bool gone = s->gone, in_eof = s->in_eof;
		size_t in_n = s->in.n, queued = s->out.n + s->net_queued;
		int cols = s->cols, rows = s->rows;
		s->cols = s->rows = 0;
		pthread_mutex_unlock(&s->mu);
		if (gone)
			break; /* k8s: detaching leaves the container running */
		if (cols > 0 && rows > 0)
			attach_resize(bundle, cols, rows);
		if (wr_open && in_eof && in_n == 0) {
			/* k8s stdinOnce: the client's end of input ends the container's stdin
			 * (conmon, started without --leave-stdin-open, closes it when our write side
			 * shuts). Otherwise, and always with a terminal, stdin stays as it is (as
			 * CRI-O does): the next attach types on. */
			if (s->stdin_once && !s->tty)
				shutdown(sock, SHUT_WR);
			wr_open = false;
		}
		struct pollfd p[2] = {{.fd = s->wake_fd, .events = POLLIN}, {.fd = sock, .events = 0}};
		if (queued <= OUT_HIGH)
			p[1].events |= POLLIN;
		if (wr_open && in_n > 0)
			p[1].events |= POLLOUT;
		if (poll(p, 2, 1000) < 0 && errno != EINTR)
			break;
		if (p[0].revents & POLLIN) {
			uint64_t v;
			if (read(s->wake_fd, &v, sizeof v) < 0) {
				/* nothing to read: a spurious wakeup */
			}
		}
		if (p[1].revents & POLLOUT) {
			pthread_mutex_lock(&s->mu);
			/* Packets of at most 8 KiB: conmon reads one packet into a buffer that size. */
			size_t len = s->in.n < 8192 ? s->in.n : 8192;
			ssize_t n = send(sock, s->in.p, len, MSG_NOSIGNAL);
			if (n > 0) {
				memmove(s->in.p, s->in.p + n, s->in.n - (size_t)n);
				s->in.n -= (size_t)n;
			} else if (n < 0 && errno != EAGAIN) {
				s->in.n = 0;
				wr_open = false;
			}
			pthread_mutex_unlock(&s->mu);
		}
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = recv(sock, pkt, sizeof pkt, 0);
			if (n > 1) {
				bool err_pipe = pkt[0] == CONMON_STDERR;
				if (pkt[0] == CONMON_STDOUT || err_pipe) {
					bool want = err_pipe ? s->want_stderr : s->want_stdout;
					if (want)
						push_out(s, err_pipe && !s->tty ? CH_STDERR : CH_STDOUT, pkt + 1, (size_t)n - 1);
				}
			} else if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
				/* conmon went away: the container has exited. */
				_cleanup_free_ char *ok = agent_stream_exit_status(0);
				push_out(s, CH_ERROR, ok, strlen(ok));
				break;
			}
		}
	}
out:
	if (sock >= 0)
		close(sock);
	pthread_mutex_lock(&s->mu);
	s->done = true;
	pthread_mutex_unlock(&s->mu);
	uv_async_send(&s->async);
	sess_unref(s);
	return NULL;
}

/* ---------- the loop side ---------- */

static void on_handle_closed(uv_handle_t *h)
{
	sess_unref(h->data);
}

static void on_timer(uv_timer_t *t)
{
	exec_sess *s = t->data;
	size_t q = s->ws ? ws_queued(s->ws) : 0;
	pthread_mutex_lock(&s->mu);
	s->net_queued = q;
	pthread_mutex_unlock(&s->mu);
	if (q <= OUT_HIGH) {
		uv_timer_stop(t);
		wake(s);
	}
}

static void drain(exec_sess *s)
{
	pthread_mutex_lock(&s->mu);
	buf out = s->out;
	s->out = (buf){0};
	bool done = s->done;
	pthread_mutex_unlock(&s->mu);
	for (size_t pos = 0; pos + 5 <= out.n;) {
		const uint8_t *h = (const uint8_t *)out.p + pos;
		size_t len = (size_t)h[1] << 24 | (size_t)h[2] << 16 | (size_t)h[3] << 8 | h[4];
		if (s->ws)
			ws_send(s->ws, WS_OP_BINARY, h[0], h + 5, len);
		pos += 5 + len;
	}
	buf_free(&out);
	size_t q = s->ws ? ws_queued(s->ws) : 0;
	pthread_mutex_lock(&s->mu);
	s->net_queued = q;
	pthread_mutex_unlock(&s->mu);
	if (q > OUT_HIGH && !done && !uv_is_active((uv_handle_t *)&s->timer))
		uv_timer_start(&s->timer, on_timer, 10, 10);
	if (done && !s->finished) {
		s->finished = true;
		if (s->ws) {
			/* k8s: the stream ends with a normal close once the error channel said how
			 * the command ended. */
			ws_close(s->ws, 1000);
		}
		uv_close((uv_handle_t *)&s->async, on_handle_closed);
		uv_close((uv_handle_t *)&s->timer, on_handle_closed);
	}
}

static void on_async(uv_async_t *a)
{
	drain(a->data);
}

static void on_ws_message(void *ud, ws_conn *ws, int op, const uint8_t *data, size_t len)
{
	exec_sess *s = ud;
	if (len < 1)
		return;
	int ch = data[0];
	data++;
	len--;
	pthread_mutex_lock(&s->mu);
	if (ch == CH_STDIN && s->want_stdin && !s->in_eof) {
		buf_add(&s->in, data, len);
	} else if (ch == CH_RESIZE) {
		_cleanup_json_ json_t *j = json_loadb((const char *)data, len, 0, NULL);
		s->cols = (int)json_integer_value(json_object_get(j, "Width"));
		s->rows = (int)json_integer_value(json_object_get(j, "Height"));
	} else if (ch == CH_CLOSE && s->v5 && len >= 1 && data[0] == CH_STDIN) {
		s->in_eof = true;
	}
	pthread_mutex_unlock(&s->mu);
	wake(s);
}

static void on_ws_close(void *ud, ws_conn *ws)
{
	exec_sess *s = ud;
	s->ws = NULL;
	pthread_mutex_lock(&s->mu);
	s->gone = true;
	pthread_mutex_unlock(&s->mu);
	wake(s);
	sess_unref(s);
}

static const char *const channel_protocols[] = {"v5.channel.k8s.io", "v4.channel.k8s.io", NULL};

static bool query_true(const http_req *req, const char *name)
{
	_cleanup_free_ char *v = http_req_query(req, name);
	return v && (strcmp(v, "true") == 0 || strcmp(v, "1") == 0);
}

void stream_exec(agent_streams *as, http_req *req, json_t *pod, bool attach)
{
	terr *err = NULL;
	const char *proto = ws_negotiate(req, channel_protocols, &err);
	if (!proto) {
		/* k8s: kubectl 1.32 speaks WebSocket first and falls back to SPDY only when
		 * the upgrade is refused; we serve WebSocket only. */
		stream_send_error(req, err);
		return;
	}
	char **cmd = stream_query_all(req, "command");
	if (!cmd[0] && !attach) {
		stream_strv_free(cmd);
		terr_bad_request(&err, "you must specify at least 1 command");
		stream_send_error(req, err);
		return;
	}
	_cleanup_free_ char *container = http_req_query(req, "container");
	stream_target t;
	if (stream_target_resolve(as, pod, container, false, &t, &err) < 0) {
		stream_strv_free(cmd);
		stream_send_error(req, err);
		return;
	}
	exec_sess *s = xcalloc(1, sizeof *s);
	s->as = as;
	s->id = xstrdup(t.id);
	_cleanup_free_ char *cname = xstrdup(t.container);
	stream_target_free(&t);
	s->argv = cmd;
	s->tty = query_true(req, "tty");
	s->want_stdin = query_true(req, "stdin");
	s->want_stdout = query_true(req, "stdout");
	s->want_stderr = query_true(req, "stderr");
	s->attach = attach;
	if (attach) {
		/* k8s: attach takes input only when the container keeps stdin open, and a
		 * terminal only when it has one. */
		json_t *cs = NULL;
		const char *lists[] = {"spec.containers", "spec.initContainers"};
		for (size_t k = 0; k < 2 && !cs; k++) {
			size_t i;
			json_t *c;
			json_array_foreach(json_path(pod, lists[k]), i, c)
			{
				if (str_eq(json_string_value(json_object_get(c, "name")), cname))
					cs = c;
			}
		}
		if (!json_is_true(json_object_get(cs, "stdin")))
			s->want_stdin = false;
		s->tty = s->tty && json_is_true(json_object_get(cs, "tty"));
		s->stdin_once = json_is_true(json_object_get(cs, "stdinOnce"));
	}
	s->v5 = strcmp(proto, "v5.channel.k8s.io") == 0;
	s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	pthread_mutex_init(&s->mu, NULL);
	s->refs = 4; /* worker, async, timer, WebSocket */
	uv_async_init(as->loop, &s->async, on_async);
	uv_timer_init(as->loop, &s->timer);
	s->async.data = s->timer.data = s;
	static const ws_ops ops = {.on_message = on_ws_message, .on_close = on_ws_close};
	s->ws = ws_accept(req, proto, &ops, s);
	pthread_t th;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&th, &attr, attach ? attach_worker : exec_worker, s) != 0) {
		log_error("exec: cannot start a thread");
		s->done = true;
		uv_async_send(&s->async);
		sess_unref(s);
	}
	pthread_attr_destroy(&attr);
}
