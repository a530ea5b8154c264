/* volume_fs.c — filesystem helpers of the volume files: mkdir -p, a tree removal that
 * never follows symlinks nor crosses mounts, and mount-point detection.
 * Not for: mounting (volume_setup.c). */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/volume-internal.h"
#include "base/util.h"

int volume_mkdir_p(const char *path, int mode)
{
	_cleanup_free_ char *p = xstrdup(path);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, (mode_t)mode) < 0 && errno != EEXIST)
			return -1;
		*s = '/';
	}
	if (mkdir(p, (mode_t)mode) < 0 && errno != EEXIST)
		return -1;
	struct stat st;
	if (stat(p, &st) < 0)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	UNUSED(st);
	UNUSED(ftw);
	int rc = (flag == FTW_DP) ? rmdir(path) : unlink(path);
	return (rc < 0 && errno != ENOENT) ? -1 : 0;
}

int volume_remove_tree(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlink(path);
	/* FTW_PHYS: symlinks are removed, not followed; FTW_MOUNT: a mount left below is not
	 * entered, so its folder cannot be removed and the call fails instead of wiping it. */
	return nftw(path, remove_one, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

bool volume_is_mountpoint(const char *path)
{
	struct stat a, b;
	_cleanup_free_ char *parent = xasprintf("%s/..", path);
	if (lstat(path, &a) < 0 || lstat(parent, &b) < 0)
		return false;
	return a.st_dev != b.st_dev;
}
