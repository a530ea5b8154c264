/* runtime_rootfs.c — a container's root filesystem: the image's unpacked layers stacked
 * read-only under a per-container upper and work folder with overlayfs, mounted at
 * <root>/<id>/rootfs, and taken down again when the container is deleted.
 *
 * The lowerdir list goes into one mount option string, which the kernel limits to a
 * page. Longer lists (many layers) are mounted from a child process that changes into
 * the layers' common folder and names them relatively, the way other runtimes do; the
 * child exists so the agent's other threads keep their working folder.
 * Not for: unpacking layers (image_store.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/runtime-internal.h"
#include "base/buf.h"
#include "base/util.h"

#define MOUNT_OPTS_MAX 4095

/* Mounts overlay at target with opts, from folder cwd when not NULL (in a child). 0 or
 * -1 (errno). */
static int mount_overlay(const char *target, const char *opts, const char *cwd)
{
	if (!cwd)
		return mount("overlay", target, "overlay", 0, opts);
	pid_t pid = fork();
	if (pid == 0) {
		if (chdir(cwd) < 0)
			_exit(errno & 0xff);
		_exit(mount("overlay", target, "overlay", 0, opts) < 0 ? errno & 0xff : 0);
	}
	if (pid < 0)
		return -1;
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	errno = WIFEXITED(st) ? WEXITSTATUS(st) : EIO;
	return -1;
}

/* The option string; relative_to (not NULL) names the layers' common parent, and the
 * lowerdirs are then given relative to it. */
static char *overlay_opts(char *const *lower, size_t n, const char *upper, const char *work,
                          const char *relative_to, bool index_off)
{
	buf b = {0};
	buf_puts(&b, "lowerdir=");
	size_t skip = relative_to ? strlen(relative_to) + 1 : 0;
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_putc(&b, ':');
		buf_puts(&b, lower[i] + skip);
	}
	buf_printf(&b, ",upperdir=%s,workdir=%s", upper, work);
	/* Layers are shared by many mounts with different upper folders: no index. */
	if (index_off)
		buf_puts(&b, ",index=off");
	return buf_take(&b);
}

/* The folder every lowerdir is directly inside, or NULL (new string). */
static char *common_parent(char *const *lower, size_t n)
{
	const char *slash = strrchr(lower[0], '/');
	if (!slash || slash == lower[0])
		return NULL;
	size_t len = (size_t)(slash - lower[0]);
	for (size_t i = 1; i < n; i++) {
		const char *s = strrchr(lower[i], '/');
		if (!s || (size_t)(s - lower[i]) != len || strncmp(lower[i], lower[0], len))
			return NULL;
	}
	return xstrndup(lower[0], len);
}

int runtime_rootfs_mount(runtime *rt, const char *id, char *const *lowerdirs, size_t n,
                         char **rootfs_out, terr **err)
{
	if (!runtime_id_valid(id))
		return terr_bad_request(err, "invalid container ID \"%s\"", id ? id : "");
	if (n == 0 || !lowerdirs)
		return terr_bad_request(err, "container %s: an image has at least one layer", id);
	for (size_t i = 0; i < n; i++)
		if (!lowerdirs[i] || lowerdirs[i][0] != '/' || strpbrk(lowerdirs[i], ":,"))
			return terr_bad_request(err,
			                        "container %s: layer folder %s must be an "
			                        "absolute path without ':' or ','",
			                        id, lowerdirs[i] ? lowerdirs[i] : "(null)");
	_cleanup_free_ char *bundle = rt_bundle_path(rt, id);
	_cleanup_free_ char *config = xasprintf("%s/config.json", bundle);
	_cleanup_free_ char *rootfs = xasprintf("%s/rootfs", bundle);
	_cleanup_free_ char *upper = xasprintf("%s/upper", bundle);
	_cleanup_free_ char *work = xasprintf("%s/work", bundle);
	if (access(config, F_OK) == 0 || rt_is_mountpoint(rootfs))
		return terr_already_exists(err, "container \"%s\" already exists", id);
	if (rt_mkdir_p(bundle, 0700) < 0 || rt_mkdir_p(upper, 0755) < 0 ||
	    rt_mkdir_p(work, 0700) < 0 || rt_mkdir_p(rootfs, 0755) < 0)
		return terr_internal(err, "container %s: creating %s: %s", id, bundle,
		                     strerror(errno));

	_cleanup_free_ char *parent = NULL;
	_cleanup_free_ char *opts = overlay_opts(lowerdirs, n, upper, work, NULL, true);
	if (strlen(opts) > MOUNT_OPTS_MAX) {
		parent = common_parent(lowerdirs, n);
		free(opts);
		opts = overlay_opts(lowerdirs, n, upper, work, parent, true);
		if (!parent || strlen(opts) > MOUNT_OPTS_MAX)
			return terr_internal(err,
			                     "container %s: %zu layers do not fit in one overlay "
			                     "mount",
			                     id, n);
	}
	int r = mount_overlay(rootfs, opts, parent);
	if (r < 0 && errno == EINVAL) { /* a kernel without the index option */
		free(opts);
		opts = overlay_opts(lowerdirs, n, upper, work, parent, false);
		r = mount_overlay(rootfs, opts, parent);
	}
	if (r < 0)
		return terr_internal(err, "container %s: mounting the rootfs (overlay): %s", id,
		                     strerror(errno));
	if (rootfs_out)
		*rootfs_out = xstrdup(rootfs);
	return 0;
}

bool rt_is_mountpoint(const char *path)
{
	struct stat a, b;
	_cleanup_free_ char *up = xasprintf("%s/..", path);
	if (stat(path, &a) < 0 || stat(up, &b) < 0)
		return false;
	return a.st_dev != b.st_dev || a.st_ino == b.st_ino;
}

int rt_rootfs_unmount(const char *bundle, terr **err)
{
	_cleanup_free_ char *rootfs = xasprintf("%s/rootfs", bundle);
	for (int i = 0; i < 8 && rt_is_mountpoint(rootfs); i++) {
		if (umount2(rootfs, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
			return terr_internal(err, "unmounting %s: %s", rootfs, strerror(errno));
	}
	if (rt_is_mountpoint(rootfs))
		return terr_internal(err, "unmounting %s: still mounted", rootfs);
	return 0;
}
