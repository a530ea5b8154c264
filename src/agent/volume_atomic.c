/* volume_atomic.c — the atomic writer of configMap, secret, projected and downwardAPI
 * volumes (k8s: pkg/volume/util AtomicWriter). The files of one version live in a
 * "..<timestamp>.<random>" folder; "..data" is a symlink to the current one; each
 * visible top-level name is a symlink "name -> ..data/name". A new version is written
 * beside the old one and published by renaming a fresh symlink over "..data", so a
 * reader in the container sees either the old set or the new one, never a mix.
 * Not for: deciding what goes in (volume_setup.c builds the payload). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent/volume-internal.h"
#include "base/util.h"

#define DATA_LINK     "..data"
#define DATA_LINK_TMP "..data_tmp"

int volume_payload_add(volume_payload *p, const char *path, const void *data, size_t len, int mode,
                       terr **err)
{
	/* k8s: validatePath: relative, no ".." element, not starting with "..". */
	if (!path || !*path || path[0] == '/' || str_has_prefix(path, ".."))
		return terr_bad_request(err, "invalid path %s", path ? path : "");
	_cleanup_free_ char *copy = xstrdup(path);
	char *save = NULL;
	for (char *el = strtok_r(copy, "/", &save); el; el = strtok_r(NULL, "/", &save)) {
		if (strcmp(el, "..") == 0)
			return terr_bad_request(err, "invalid path %s: must not contain '..'",
			                        path);
	}
	for (size_t i = 0; i < p->n; i++) {
		if (strcmp(p->f[i].path, path) == 0)
			return terr_bad_request(err, "duplicate path %s", path);
	}
	p->f = xrealloc(p->f, (p->n + 1) * sizeof(*p->f));
	volume_file *f = &p->f[p->n++];
	f->path = xstrdup(path);
	f->data = xmalloc(len + 1);
	if (len)
		memcpy(f->data, data, len);
	f->data[len] = '\0';
	f->len = len;
	f->mode = mode & 07777;
	return 0;
}

void volume_payload_free(volume_payload *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->f[i].path);
		free(p->f[i].data);
	}
	free(p->f);
	p->f = NULL;
	p->n = 0;
}

/* Counts the regular files below dir (recursively, symlinks not followed). */
static size_t count_files(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		_cleanup_free_ char *p = xasprintf("%s/%s", dir, e->d_name);
		struct stat st;
		if (lstat(p, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode))
			n += count_files(p);
		else
			n++;
	}
	closedir(d);
	return n;
}

/* True when the version folder ver holds exactly p (contents and modes). */
static bool same_contents(const char *ver, const volume_payload *p)
{
	for (size_t i = 0; i < p->n; i++) {
		_cleanup_free_ char *path = xasprintf("%s/%s", ver, p->f[i].path);
		struct stat st;
		if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode) ||
		    (size_t)st.st_size != p->f[i].len || (int)(st.st_mode & 07777) != p->f[i].mode)
			return false;
		_cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return false;
		_cleanup_free_ char *got = xmalloc(p->f[i].len + 1);
		size_t off = 0;
		while (off < p->f[i].len) {
			ssize_t r = read(fd, got + off, p->f[i].len - off);
			if (r <= 0)
				return false;
			off += (size_t)r;
		}
		if (memcmp(got, p->f[i].data, p->f[i].len) != 0)
			return false;
	}
	return count_files(ver) == p->n;
}

static int write_file(const char *ver, const volume_file *f, terr **err)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", ver, f->path);
	char *slash = strrchr(path, '/');
	*slash = '\0';
	if (volume_mkdir_p(path, 0755) < 0)
		return terr_internal(err, "mkdir %s: %s", path, strerror(errno));
	*slash = '/';
	_cleanup_close_ int fd =
	    open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return terr_internal(err, "create %s: %s", path, strerror(errno));
	size_t off = 0;
	while (off < f->len) {
		ssize_t w = write(fd, f->data + off, f->len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return terr_internal(err, "write %s: %s", path, strerror(errno));
		off += (size_t)w;
	}
	/* fchmod: the umask must not narrow the mode the pod asked for. */
	if (fchmod(fd, (mode_t)f->mode) < 0)
		return terr_internal(err, "chmod %s: %s", path, strerror(errno));
	return 0;
}

/* The first element of a payload path (new string). */
static char *top_name(const char *path)
{
	const char *slash = strchr(path, '/');
	return slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup(path);
}

static bool payload_has_top(const volume_payload *p, const char *name)
{
	for (size_t i = 0; i < p->n; i++) {
		_cleanup_free_ char *t = top_name(p->f[i].path);
		if (strcmp(t, name) == 0)
			return true;
	}
	return false;
}

int volume_atomic_write(const char *dir, const volume_payload *p, terr **err)
{
	if (volume_mkdir_p(dir, 0755) < 0)
		return terr_internal(err, "mkdir %s: %s", dir, strerror(errno));
	_cleanup_free_ char *link = xasprintf("%s/" DATA_LINK, dir);
	char old[256] = "";
	ssize_t ol = readlink(link, old, sizeof(old) - 1);
	if (ol > 0) {
		old[ol] = '\0';
		_cleanup_free_ char *oldpath = xasprintf("%s/%s", dir, old);
		if (same_contents(oldpath, p))
			return 0;
	} else {
		old[0] = '\0';
	}

	/* k8s: the version folder is named after the time of writing. */
	char stamp[64];
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "..%Y_%m_%d_%H_%M_%S.", &tm);
	_cleanup_free_ char *tmpl = xasprintf("%s/%sXXXXXX", dir, stamp);
	if (!mkdtemp(tmpl))
		return terr_internal(err, "mkdtemp in %s: %s", dir, strerror(errno));
	chmod(tmpl, 0755);
	for (size_t i = 0; i < p->n; i++) {
		if (write_file(tmpl, &p->f[i], err) < 0) {
			volume_remove_tree(tmpl);
			return -1;
		}
	}
	const char *base = strrchr(tmpl, '/') + 1;
	_cleanup_free_ char *tmplink = xasprintf("%s/" DATA_LINK_TMP, dir);
	unlink(tmplink);
	if (symlink(base, tmplink) < 0 || rename(tmplink, link) < 0) {
		int e = errno;
		volume_remove_tree(tmpl);
		return terr_internal(err, "publish %s: %s", link, strerror(e));
	}

	/* The visible names: a link per top-level name of the payload; names no longer in
	 * it go. */
	for (size_t i = 0; i < p->n; i++) {
		_cleanup_free_ char *t = top_name(p->f[i].path);
		_cleanup_free_ char *vis = xasprintf("%s/%s", dir, t);
		_cleanup_free_ char *target = xasprintf(DATA_LINK "/%s", t);
		struct stat st;
		if (lstat(vis, &st) == 0)
			continue;
		if (symlink(target, vis) < 0 && errno != EEXIST)
			return terr_internal(err, "symlink %s: %s", vis, strerror(errno));
	}
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d))) {
			if (str_has_prefix(e->d_name, "..") || strcmp(e->d_name, ".") == 0 ||
			    payload_has_top(p, e->d_name))
				continue;
			_cleanup_free_ char *vis = xasprintf("%s/%s", dir, e->d_name);
			struct stat st;
			if (lstat(vis, &st) == 0 && S_ISLNK(st.st_mode))
				unlink(vis);
		}
		closedir(d);
	}
	if (old[0] && str_has_prefix(old, "..") && !strchr(old, '/')) {
		_cleanup_free_ char *oldpath = xasprintf("%s/%s", dir, old);
		volume_remove_tree(oldpath);
	}
	return 0;
}
