/* runtime_proc.c — the runtime's helper processes and files: running runc commands with
 * captured output and a timeout, starting conmon detached, waiting for a pid to exit,
 * finding binaries, and careful file-system helpers (rm -rf that never leaves its mount).
 *
 * Children are made with posix_spawn: glibc's shares the agent's memory until the exec
 * (no page tables copied, no copy-on-write faults in the agent afterwards, which a fork of
 * the server costs on every call), and does only the descriptor, folder, session and
 * signal steps set up here before it.
 * Not for: what runc is asked to do (runtime_runc.c). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/runtime-internal.h"
#include "base/util.h"

extern char **environ;

#define RT_OUTPUT_MAX (16u << 20)

/* The spawn attributes every child gets: default dispositions for every signal (the
 * agent ignores SIGPIPE; containers must not inherit that), nothing blocked, and with
 * new_session its own session. */
static void spawn_attrs(posix_spawnattr_t *attr, bool new_session)
{
	sigset_t all, none;
	sigfillset(&all);
	sigemptyset(&none);
	posix_spawnattr_init(attr);
	posix_spawnattr_setsigdefault(attr, &all);
	posix_spawnattr_setsigmask(attr, &none);
	short flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK;
	if (new_session)
		flags |= POSIX_SPAWN_SETSID;
	posix_spawnattr_setflags(attr, flags);
}

/* environ plus extra ("KEY=value", NULL-terminated; may be NULL), a new array of
 * borrowed strings. */
static char **env_with(char *const *extra)
{
	size_t ne = 0, nx = 0;
	while (environ && environ[ne])
		ne++;
	while (extra && extra[nx])
		nx++;
	char **envp = xcalloc(ne + nx + 1, sizeof *envp);
	for (size_t i = 0; i < ne; i++)
		envp[i] = environ[i];
	for (size_t i = 0; i < nx; i++)
		envp[ne + i] = extra[i];
	return envp;
}

static int64_t mono_ms(void)
{
	return time_mono_ns() / 1000000;
}

static int pidfd_open_(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	errno = ENOSYS;
	return -1;
#endif
}

static void kill_pidfile(const char *path)
{
	char s[32];
	if (!path || rt_read_small(path, s, sizeof s) <= 0)
		return;
	long pid = strtol(s, NULL, 10);
	if (pid > 1)
		kill((pid_t)pid, SIGKILL);
}

/* Appends what fd has (non-blocking) to b, up to max; 1 at EOF, 0 when it would block. */
static int drain(int fd, buf *b, size_t max)
{
	char chunk[16384];
	for (;;) {
		ssize_t r = read(fd, chunk, sizeof chunk);
		if (r > 0) {
			if (b && b->n < max)
				buf_add(b, chunk, (size_t)r > max - b->n ? max - b->n : (size_t)r);
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			return 0;
		return 1; /* EOF or error */
	}
}

int rt_proc_run(char *const argv[], const rt_proc_opts *o, int *exit_code, bool *timed_out,
                terr **err)
{
	static const rt_proc_opts none = {0};
	if (!o)
		o = &none;
	int in[2] = {-1, -1}, out[2] = {-1, -1}, er[2] = {-1, -1};
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0)
		return terr_internal(err, "open /dev/null: %s", strerror(errno));
	if ((o->stdin_data && pipe2(in, O_CLOEXEC) < 0) || pipe2(out, O_CLOEXEC) < 0 ||
	    pipe2(er, O_CLOEXEC) < 0) {
		int e = errno;
		for (int i = 0; i < 2; i++) {
			if (in[i] >= 0)
				close(in[i]);
			if (out[i] >= 0)
				close(out[i]);
		}
		close(devnull);
		return terr_internal(err, "pipe: %s", strerror(e));
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	/* 0-2 first: their sources may include fd 3, which pass_fd then replaces. */
	posix_spawn_file_actions_adddup2(&fa, o->stdin_data ? in[0] : devnull, 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, er[1], 2);
	if (o->pass_fd > 2)
		posix_spawn_file_actions_adddup2(&fa, o->pass_fd, 3);
	posix_spawn_file_actions_addclosefrom_np(&fa, o->pass_fd > 2 ? 4 : 3);
	if (o->cwd)
		posix_spawn_file_actions_addchdir_np(&fa, o->cwd);
	posix_spawnattr_t attr;
	spawn_attrs(&attr, o->new_session);
	_cleanup_free_ char **envp = o->extra_env ? env_with(o->extra_env) : NULL;
	pid_t pid = -1;
	int spawn_errno = posix_spawn(&pid, argv[0], &fa, &attr, argv, envp ? envp : environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(devnull);
	if (in[0] >= 0)
		close(in[0]);
	close(out[1]);
	close(er[1]);
	if (spawn_errno != 0) {
		if (in[1] >= 0)
			close(in[1]);
		close(out[0]);
		close(er[0]);
		return terr_internal(err, "starting %s: %s", argv[0], strerror(spawn_errno));
	}

	size_t max = o->max_output ? o->max_output : RT_OUTPUT_MAX;
	int wfd = in[1];
	size_t woff = 0;
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	fcntl(er[0], F_SETFL, O_NONBLOCK);
	if (wfd >= 0) {
		fcntl(wfd, F_SETFL, O_NONBLOCK);
		if (o->stdin_len == 0) {
			close(wfd);
			wfd = -1;
		}
	}
	/* Writing to a pipe whose reader left raises SIGPIPE: keep it blocked on this thread
	 * while we write, and drop it if it came. */
	sigset_t pipeset, old;
	sigemptyset(&pipeset);
	sigaddset(&pipeset, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipeset, &old);

	int pidfd = pidfd_open_(pid);
	bool out_open = true, err_open = true, exited = false, killed = false;
	int64_t deadline = o->timeout_ms > 0 ? mono_ms() + o->timeout_ms : 0;
	while (out_open || err_open) {
		struct pollfd p[4];
		int np = 0, iout = -1, ierr = -1, iw = -1, ipid = -1;
		if (out_open) {
			iout = np;
			p[np++] = (struct pollfd){.fd = out[0], .events = POLLIN};
		}
		if (err_open) {
			ierr = np;
			p[np++] = (struct pollfd){.fd = er[0], .events = POLLIN};
		}
		if (wfd >= 0) {
			iw = np;
			p[np++] = (struct pollfd){.fd = wfd, .events = POLLOUT};
		}
		if (pidfd >= 0 && !exited) {
			ipid = np;
			p[np++] = (struct pollfd){.fd = pidfd, .events = POLLIN};
		}
		int wait_ms = -1;
		if (exited || (pidfd < 0 && killed)) {
			wait_ms =
			    200; /* a grandchild may hold the pipes: do not wait for it long */
		} else if (deadline && !killed) {
			int64_t left = deadline - mono_ms();
			wait_ms = left < 0 ? 0 : (int)left;
		}
		int r = poll(p, (nfds_t)np, wait_ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0) {
			if (!exited && deadline && !killed) {
				killed = true;
				kill_pidfile(o->kill_pidfile);
				kill(pid, SIGKILL);
				continue;
			}
			break; /* exited and quiet */
		}
		if (iout >= 0 && p[iout].revents && drain(out[0], o->out, max))
			out_open = false;
		if (ierr >= 0 && p[ierr].revents && drain(er[0], o->err, max))
			err_open = false;
		if (iw >= 0 && p[iw].revents) {
			ssize_t w = write(wfd, o->stdin_data + woff, o->stdin_len - woff);
			if (w > 0)
				woff += (size_t)w;
			if ((w < 0 && errno != EAGAIN && errno != EINTR) || woff >= o->stdin_len) {
				close(wfd);
				wfd = -1;
			}
		}
		if (ipid >= 0 && p[ipid].revents)
			exited = true;
	}
	if (wfd >= 0)
		close(wfd);
	close(out[0]);
	close(er[0]);
	if (pidfd >= 0)
		close(pidfd);
	struct timespec zero = {0, 0};
	while (sigtimedwait(&pipeset, NULL, &zero) > 0)
		;
	pthread_sigmask(SIG_SETMASK, &old, NULL);

	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (exit_code)
		*exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	if (timed_out)
		*timed_out = killed;
	return 0;
}

int rt_wait_pid_exit(int pid, int timeout_ms)
{
	if (pid <= 0)
		return 1;
	int64_t deadline = mono_ms() + timeout_ms;
	int fd = pidfd_open_(pid);
	if (fd >= 0) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int r;
		do {
			int64_t left = deadline - mono_ms();
			r = poll(&p, 1, left < 0 ? 0 : (int)left);
		} while (r < 0 && errno == EINTR);
		close(fd);
		return r > 0 ? 1 : 0;
	}
	if (errno == ESRCH)
		return 1;
	/* No pidfds: poll kill(pid, 0). A zombie still "exists"; ours are re-parented. */
	for (;;) {
		if (kill(pid, 0) < 0 && errno == ESRCH)
			return 1;
		if (mono_ms() >= deadline)
			return 0;
		struct timespec ts = {0, 20 * 1000000};
		nanosleep(&ts, NULL);
	}
}

char *rt_find_binary(const char *name, const char *const *dirs)
{
	for (size_t i = 0; dirs && dirs[i]; i++) {
		_cleanup_free_ char *p = xasprintf("%s/%s", dirs[i], name);
		if (access(p, X_OK) == 0)
			return xstrdup(p);
	}
	const char *path = getenv("PATH");
	if (!path)
		return NULL;
	_cleanup_free_ char *copy = xstrdup(path);
	char *save = NULL;
	for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		if (d[0] != '/')
			continue;
		_cleanup_free_ char *p = xasprintf("%s/%s", d, name);
		if (access(p, X_OK) == 0)
			return xstrdup(p);
	}
	return NULL;
}

int rt_mkdir_p(const char *path, mode_t mode)
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

/* Empties the folder dfd (on device dev) and its sub-folders on the same device. */
static int rm_tree_at(int dfd, dev_t dev)
{
	DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return -1;
	}
	int ret = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		struct stat st;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			ret = -1;
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			if (st.st_dev != dev) { /* a mount point: never descend */
				errno = EBUSY;
				ret = -1;
				continue;
			}
			int sub = openat(dirfd(d), e->d_name,
			                 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0 || rm_tree_at(sub, dev) < 0 ||
			    unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR) < 0)
				ret = -1;
		} else if (unlinkat(dirfd(d), e->d_name, 0) < 0) {
			ret = -1;
		}
	}
	int e2 = errno;
	closedir(d);
	errno = e2;
	return ret;
}

int rt_rm_rf(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlink(path);
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (rm_tree_at(fd, st.st_dev) < 0)
		return -1;
	return rmdir(path);
}

ssize_t rt_read_small(const char *path, char *out, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t n = 0;
	while (n + 1 < cap) {
		ssize_t r = read(fd, out + n, cap - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
		n--;
	out[n] = '\0';
	return (ssize_t)n;
}

int64_t rt_mtime_ns(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return 0;
	return (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
}
