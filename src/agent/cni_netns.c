/* cni_netns.c — named network namespaces for pod sandboxes: a namespace is created by a
 * short-lived thread that unshares its network namespace and bind-mounts
 * /proc/thread-self/ns/net onto <netns_dir>/<id>, so it outlives every process (the pause-less
 * equivalent of `ip netns add`, under timon's own folder). Also: running a tool inside a
 * namespace, and the stub namespace that lets DEL undo host rules after the real one
 * vanished. Not for: plugins (cni_exec.c). */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/cni-internal.h"
#include "base/util.h"

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

extern char **environ;

bool cni_netns_live(const char *path)
{
	struct statfs sf;
	return path && statfs(path, &sf) == 0 && (unsigned long)sf.f_type == NSFS_MAGIC;
}

/* Makes dir a shared mount point (binding it onto itself when it is not a mount point),
 * like iproute2 does for /run/netns: an unmount of a namespace then propagates to the
 * copies other mount namespaces took, and the namespace can really go away. */
static int make_shared(const char *dir, terr **err)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	pthread_mutex_lock(&lock);
	int rc = mount("", dir, "none", MS_SHARED | MS_REC, NULL);
	if (rc < 0 && errno == EINVAL) {
		rc = mount(dir, dir, "none", MS_BIND | MS_REC, NULL);
		if (rc == 0)
			rc = mount("", dir, "none", MS_SHARED | MS_REC, NULL);
	}
	int e = errno;
	pthread_mutex_unlock(&lock);
	if (rc < 0)
		return terr_internal(err, "making %s a shared mount: %s", dir, strerror(e));
	return 0;
}

typedef struct netns_job {
	const char *path;
	const char *failed; /* the step that failed, or NULL */
	int err;
} netns_job;

static void *netns_thread(void *arg)
{
	netns_job *j = arg;
	if (unshare(CLONE_NEWNET) < 0) {
		j->failed = "unshare";
		j->err = errno;
	} else if (mount("/proc/thread-self/ns/net", j->path, "none", MS_BIND, NULL) < 0) {
		j->failed = "bind mount";
		j->err = errno;
	}
	return NULL;
}

int cni_netns_create(const char *dir, const char *path, terr **err)
{
	if (cni_mkdir_p(dir, 0755) < 0)
		return terr_internal(err, "creating %s: %s", dir, strerror(errno));
	if (make_shared(dir, err) < 0)
		return -1;
	if (cni_netns_live(path))
		return terr_already_exists(err, "network namespace %s already exists", path);
	/* The mount point: an empty file (a stale one from a crash is reused). */
	int fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0);
	if (fd < 0)
		return terr_internal(err, "creating %s: %s", path, strerror(errno));
	close(fd);
	/* A thread rather than a child: namespaces belong to the thread, and a fork of the
	 * server would copy its page tables. The thread's own namespace goes when it ends;
	 * the bind mount keeps it. */
	netns_job j = {.path = path};
	pthread_t t;
	int e = pthread_create(&t, NULL, netns_thread, &j);
	if (e != 0) {
		unlink(path);
		return terr_internal(err, "creating network namespace %s: thread: %s", path,
		                     strerror(e));
	}
	pthread_join(t, NULL);
	if (j.failed) {
		unlink(path);
		return terr_internal(err, "creating network namespace %s: %s: %s", path, j.failed,
		                     strerror(j.err));
	}
	return 0;
}

int cni_netns_remove(const char *path, terr **err)
{
	/* A namespace mounted twice (a crash between two creates) needs two unmounts. */
	for (int i = 0; i < 8; i++) {
		if (umount2(path, MNT_DETACH) == 0)
			continue;
		if (errno == EINVAL || errno == ENOENT)
			break;
		return terr_internal(err, "unmounting %s: %s", path, strerror(errno));
	}
	if (unlink(path) < 0 && errno != ENOENT)
		return terr_internal(err, "removing %s: %s", path, strerror(errno));
	return 0;
}

/* argv0 as an executable path: itself when it has a '/', else found in PATH or the sbin
 * dirs (new string), NULL when not found. */
static char *find_tool(const char *argv0)
{
	if (strchr(argv0, '/'))
		return xstrdup(argv0);
	const char *env = getenv("PATH");
	char *dirs = xasprintf("%s:/usr/sbin:/sbin:/usr/bin:/bin", env ? env : "");
	char *found = NULL;
	char *save = NULL;
	for (char *d = strtok_r(dirs, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
		char *p = xasprintf("%s/%s", d, argv0);
		if (access(p, X_OK) == 0)
			found = p;
		else
			free(p);
	}
	free(dirs);
	return found;
}

int cni_netns_run(const char *path, char *const argv[], int timeout_ms, terr **err)
{
	_cleanup_free_ char *exe = find_tool(argv[0]);
	if (!exe)
		return terr_internal(err, "%s: not found", argv[0]);
	_cleanup_close_ int nsfd = open(path, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0)
		return terr_internal(err, "opening %s: %s", path, strerror(errno));
	pid_t pid = fork();
	if (pid < 0)
		return terr_internal(err, "running %s: fork: %s", argv[0], strerror(errno));
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (devnull >= 0) {
			dup2(devnull, 1);
			dup2(devnull, 2);
		}
		if (setns(nsfd, CLONE_NEWNET) < 0)
			_exit(126);
		execve(exe, argv, environ);
		_exit(127);
	}
	int64_t deadline =
	    time_mono_ns() + (int64_t)(timeout_ms > 0 ? timeout_ms : 10000) * 1000000;
	int status = 0;
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR)
			return terr_internal(err, "running %s: wait: %s", argv[0], strerror(errno));
		if (time_mono_ns() > deadline) {
			kill(pid, SIGKILL);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			return terr_internal(err, "running %s in %s: timed out", argv[0], path);
		}
		nanosleep(&(struct timespec){.tv_nsec = 5000000}, NULL);
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 126)
		return terr_internal(err, "entering network namespace %s failed", path);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int cni_netns_ensure_iface(const char *path, const char *ifname, const json_t *result, terr **err)
{
	char *show[] = {"ip", "link", "show", "dev", (char *)ifname, NULL};
	int rc = cni_netns_run(path, show, 10000, err);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return 0;
	/* A veth pair: the dummy type is not built into every kernel, veth is (the bridge
	 * plugin needs it). Deleting ifname takes the peer with it. */
	char *add[] = {"ip",   "link", "add",  (char *)ifname, "type",
	               "veth", "peer", "name", "timonstub0",   NULL};
	rc = cni_netns_run(path, add, 10000, err);
	if (rc != 0)
		return rc < 0 ? -1 : terr_internal(err, "ip link add %s: exit %d", ifname, rc);
	json_t *ifs = json_object_get(result, "interfaces");
	size_t i;
	json_t *ip;
	json_array_foreach(json_object_get(result, "ips"), i, ip)
	{
		const char *addr = json_string_value(json_object_get(ip, "address"));
		json_t *idx = json_object_get(ip, "interface");
		if (!addr || !strchr(addr, '/'))
			continue;
		if (json_is_integer(idx)) {
			json_t *itf = json_array_get(ifs, (size_t)json_integer_value(idx));
			const char *sb = json_string_value(json_object_get(itf, "sandbox"));
			if (!sb || !*sb)
				continue; /* an address on the host side */
		}
		char *argv[] = {"ip", "addr", "add", (char *)addr, "dev", (char *)ifname, NULL};
		rc = cni_netns_run(path, argv, 10000, err);
		if (rc != 0)
			return rc < 0 ? -1
			              : terr_internal(err, "ip addr add %s: exit %d", addr, rc);
	}
	return 1;
}
