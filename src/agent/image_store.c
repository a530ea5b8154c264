/* image_store.c — the content-addressed blob store and the unpacked layers: paths, locks,
 * verified reads, atomic blob writes, unpacking once per diff ID, the lowerdir list, and
 * garbage collection.
 * Not for: the image index's JSON (image_index.c) or registries (image_pull.c). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/image-internal.h"
#include "agent/image_ref.h"
#include "base/hmap.h"
#include "base/log.h"
#include "base/util.h"

struct image_store {
	char *root;
};

static int mkdir_p(const char *path, mode_t mode)
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

image_store *image_store_open(const char *root, terr **err)
{
	static const char *const dirs[] = {"blobs/sha256", "layers", "tmp"};
	if (!root || !*root)
		root = IMAGE_STORE_DEFAULT_ROOT;
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		_cleanup_free_ char *d = xasprintf("%s/%s", root, dirs[i]);
		if (mkdir_p(d, 0700) < 0) {
			terr_internal(err, "creating image store %s: %s", d, strerror(errno));
			return NULL;
		}
	}
	/* An absolute root: the lowerdir list must not depend on the working folder. */
	char real[PATH_MAX];
	if (!realpath(root, real)) {
		terr_internal(err, "image store %s: %s", root, strerror(errno));
		return NULL;
	}
	image_store *s = xcalloc(1, sizeof *s);
	s->root = xstrdup(real);
	return s;
}

void image_store_close(image_store *s)
{
	if (!s)
		return;
	free(s->root);
	free(s);
}

const char *image_store_root(const image_store *s)
{
	return s->root;
}

char *image_store_blob_path(const image_store *s, const char *digest)
{
	const char *hex = str_has_prefix(digest, "sha256:") ? digest + 7 : digest;
	return xasprintf("%s/blobs/sha256/%s", s->root, hex);
}

/* Layer folders are named by the bare hex: overlayfs takes ':' as its lowerdir separator,
 * and short paths leave room for more layers in one mount's options. */
char *image_store_layer_path(const image_store *s, const char *diff_id)
{
	const char *hex = str_has_prefix(diff_id, "sha256:") ? diff_id + 7 : diff_id;
	return xasprintf("%s/layers/%s", s->root, hex);
}

bool image_store_has_blob(const image_store *s, const char *digest)
{
	if (!image_digest_valid(digest))
		return false;
	_cleanup_free_ char *p = image_store_blob_path(s, digest);
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

bool image_store_has_layer(const image_store *s, const char *diff_id)
{
	if (!image_digest_valid(diff_id))
		return false;
	_cleanup_free_ char *p = image_store_layer_path(s, diff_id);
	struct stat st;
	return lstat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

char *image_store_read_blob(const image_store *s, const char *digest, size_t max, size_t *n,
                            terr **err)
{
	if (!image_digest_valid(digest)) {
		terr_bad_request(err, "invalid digest \"%s\"", digest ? digest : "");
		return NULL;
	}
	_cleanup_free_ char *path = image_store_blob_path(s, digest);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			terr_not_found(err, "blob %s not found in the image store", digest);
		else
			terr_internal(err, "reading %s: %s", path, strerror(errno));
		return NULL;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || (uint64_t)st.st_size > max) {
		terr_internal(err, "blob %s: larger than %zu bytes", digest, max);
		return NULL;
	}
	size_t size = (size_t)st.st_size, got = 0;
	char *data = xmalloc(size + 1);
	while (got < size) {
		ssize_t r = read(fd, data + got, size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	data[got] = '\0';
	_cleanup_free_ char *actual = image_sha256_digest(data, got);
	if (got != size || !str_eq(actual, digest)) {
		free(data);
		terr_internal(err, "blob %s in the image store: digest mismatch: got %s", digest,
		              actual);
		return NULL;
	}
	if (n)
		*n = got;
	return data;
}

/* ---- locks and temporary folders ---- */

int image_store_lock(const image_store *s, image_lock_kind kind, bool exclusive, bool nowait,
                     terr **err)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", s->root,
	                                      kind == IMAGE_LOCK_INDEX ? "index.lock" : "gc.lock");
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return terr_internal(err, "opening %s: %s", path, strerror(errno));
	int op = (exclusive ? LOCK_EX : LOCK_SH) | (nowait ? LOCK_NB : 0);
	while (flock(fd, op) < 0) {
		if (errno == EINTR)
			continue;
		int e = errno;
		close(fd);
		if (e == EWOULDBLOCK)
			return -2;
		return terr_internal(err, "locking %s: %s", path, strerror(e));
	}
	return fd;
}

void image_store_unlock(int fd)
{
	if (fd >= 0)
		close(fd); /* closing the only descriptor releases the flock */
}

char *image_store_tmpdir(const image_store *s, terr **err)
{
	char *t = xasprintf("%s/tmp/work-XXXXXX", s->root);
	if (!mkdtemp(t)) {
		terr_internal(err, "creating a folder in %s/tmp: %s", s->root, strerror(errno));
		free(t);
		return NULL;
	}
	return t;
}

static int rm_rf_at(int at, const char *name)
{
	struct stat st;
	if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(at, name, 0) < 0 && errno != ENOENT ? -1 : 0;
	int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -1;
	}
	int rc = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (str_eq(e->d_name, ".") || str_eq(e->d_name, ".."))
			continue;
		if (rm_rf_at(dirfd(d), e->d_name) < 0)
			rc = -1;
	}
	closedir(d);
	if (unlinkat(at, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		rc = -1;
	return rc;
}

int image_rm_rf(const char *path)
{
	return rm_rf_at(AT_FDCWD, path);
}

/* ---- blob writer ---- */

struct image_blob_writer {
	image_store *s;
	int fd;
	char *tmp;
	image_sha256 *sha;
	uint64_t size;
};

image_blob_writer *image_blob_begin(image_store *s, terr **err)
{
	char *tmp = xasprintf("%s/tmp/blob-XXXXXX", s->root);
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		terr_internal(err, "creating a blob in %s/tmp: %s", s->root, strerror(errno));
		free(tmp);
		return NULL;
	}
	image_blob_writer *w = xcalloc(1, sizeof *w);
	w->s = s;
	w->fd = fd;
	w->tmp = tmp;
	w->sha = image_sha256_new();
	return w;
}

int image_blob_write(image_blob_writer *w, const void *data, size_t n, terr **err)
{
	const char *p = data;
	image_sha256_update(w->sha, data, n);
	w->size += n;
	while (n > 0) {
		ssize_t r = write(w->fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return terr_internal(err, "writing %s: %s", w->tmp, strerror(errno));
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

uint64_t image_blob_written(const image_blob_writer *w)
{
	return w->size;
}

void image_blob_abort(image_blob_writer *w)
{
	if (!w)
		return;
	close(w->fd);
	unlink(w->tmp);
	free(w->tmp);
	image_sha256_free(w->sha);
	free(w);
}

int image_blob_commit(image_blob_writer *w, const char *expected, int64_t expected_size,
                      char **digest_out, terr **err)
{
	_cleanup_free_ char *digest = image_sha256_finish(w->sha);
	w->sha = NULL;
	int rc = 0;
	if (expected && !str_eq(digest, expected)) {
		rc = terr_set(err, 502, "ErrImagePull", "blob %s: digest mismatch: got %s", expected,
		              digest);
	} else if (expected_size >= 0 && (uint64_t)expected_size != w->size) {
		rc = terr_set(err, 502, "ErrImagePull", "blob %s: size mismatch: got %llu bytes, "
		                                        "want %lld",
		              digest, (unsigned long long)w->size, (long long)expected_size);
	} else if (fsync(w->fd) < 0) {
		rc = terr_internal(err, "syncing %s: %s", w->tmp, strerror(errno));
	} else {
		_cleanup_free_ char *path = image_store_blob_path(w->s, digest);
		if (rename(w->tmp, path) < 0)
			rc = terr_internal(err, "storing blob %s: %s", digest, strerror(errno));
	}
	if (rc == 0 && digest_out) {
		*digest_out = digest;
		digest = NULL;
	}
	image_blob_abort(w); /* the temporary file is gone after a rename; unlink is harmless */
	return rc;
}

/* ---- layers ---- */

int image_store_unpack(image_store *s, const char *digest, const char *diff_id, terr **err)
{
	if (!image_digest_valid(diff_id))
		return terr_bad_request(err, "invalid diff ID \"%s\"", diff_id ? diff_id : "");
	if (image_store_has_layer(s, diff_id))
		return 0;
	_cleanup_free_ char *blob = image_store_blob_path(s, digest);
	_cleanup_free_ char *dest = image_store_layer_path(s, diff_id);
	_cleanup_free_ char *tmp = image_store_tmpdir(s, err);
	if (!tmp)
		return -1;
	_cleanup_free_ char *got = NULL;
	if (chmod(tmp, 0755) < 0 ||
	    image_unpack_layer(blob, tmp, IMAGE_UNPACK_OVERLAY, &got, err) < 0) {
		if (err && !*err)
			terr_internal(err, "unpacking %s: %s", digest, strerror(errno));
		image_rm_rf(tmp);
		return terr_wrap(err, "unpacking layer %s", digest);
	}
	if (!str_eq(got, diff_id)) {
		image_rm_rf(tmp);
		return terr_internal(err, "layer %s: diff ID mismatch: got %s, want %s", digest, got,
		                     diff_id);
	}
	if (rename(tmp, dest) < 0) {
		int e = errno;
		image_rm_rf(tmp);
		/* Another pull unpacked the same layer meanwhile. */
		if ((e == EEXIST || e == ENOTEMPTY) && image_store_has_layer(s, diff_id))
			return 0;
		return terr_internal(err, "storing layer %s: %s", diff_id, strerror(e));
	}
	return 0;
}

int image_rootfs_layers(const image_store *s, const image_info *img, char ***dirs, size_t *n,
                        terr **err)
{
	char **v = xcalloc(img->n_layers + 1, sizeof *v);
	for (size_t i = 0; i < img->n_layers; i++) {
		const char *d = img->layers[img->n_layers - 1 - i].diff_id;
		if (!image_store_has_layer(s, d)) {
			image_strv_free(v);
			return terr_not_found(err, "layer %s of image %s is not unpacked", d ? d : "?",
			                      img->id);
		}
		v[i] = image_store_layer_path(s, d);
	}
	*dirs = v;
	if (n)
		*n = img->n_layers;
	return 0;
}

int image_store_config(const image_store *s, const image_info *img, image_config *out,
                       terr **err)
{
	size_t n;
	_cleanup_free_ char *body = image_store_read_blob(s, img->id, IMAGE_CONFIG_MAX, &n, err);
	if (!body)
		return -1;
	return image_config_parse(body, n, out, err);
}

/* ---- garbage collection ---- */

static void gc_dir(const char *dir, hmap *keep, bool layers, image_gc_stats *st)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (hmap_get(keep, e->d_name))
			continue;
		_cleanup_free_ char *p = xasprintf("%s/%s", dir, e->d_name);
		struct stat sb;
		if (lstat(p, &sb) < 0)
			continue;
		if (image_rm_rf(p) < 0) {
			log_warn("images: gc could not remove %s: %s", p, strerror(errno));
			continue;
		}
		if (layers) {
			st->layers_removed++;
		} else {
			st->blobs_removed++;
			st->bytes_removed += (uint64_t)sb.st_size;
		}
	}
	closedir(d);
}

static void keep_digest(hmap *keep, char ***owned, size_t *n, size_t *cap, const char *dg)
{
	if (!image_digest_valid(dg))
		return;
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		*owned = xrealloc(*owned, *cap * sizeof **owned);
	}
	char *hex = xstrdup(dg + 7);
	(*owned)[(*n)++] = hex;
	hmap_put(keep, hex, hex);
}

int image_store_gc(image_store *s, bool nowait, image_gc_stats *stats, terr **err)
{
	image_gc_stats st = {0};
	int gfd = image_store_lock(s, IMAGE_LOCK_GC, true, nowait, err);
	if (gfd == -2)
		return 1;
	if (gfd < 0)
		return -1;
	image_info *imgs = NULL;
	size_t n = 0;
	if (image_store_list(s, &imgs, &n, err) < 0) {
		image_store_unlock(gfd);
		return -1;
	}
	hmap blobs = {0}, layers = {0};
	char **owned = NULL;
	size_t nowned = 0, cap = 0;
	for (size_t i = 0; i < n; i++) {
		keep_digest(&blobs, &owned, &nowned, &cap, imgs[i].id);
		keep_digest(&blobs, &owned, &nowned, &cap, imgs[i].digest);
		keep_digest(&blobs, &owned, &nowned, &cap, imgs[i].manifest);
		for (size_t k = 0; k < imgs[i].n_layers; k++) {
			keep_digest(&blobs, &owned, &nowned, &cap, imgs[i].layers[k].digest);
			keep_digest(&layers, &owned, &nowned, &cap, imgs[i].layers[k].diff_id);
		}
	}
	_cleanup_free_ char *bdir = xasprintf("%s/blobs/sha256", s->root);
	_cleanup_free_ char *ldir = xasprintf("%s/layers", s->root);
	_cleanup_free_ char *tdir = xasprintf("%s/tmp", s->root);
	gc_dir(bdir, &blobs, false, &st);
	gc_dir(ldir, &layers, true, &st);
	/* With the gc lock held exclusively no pull or import runs: whatever is in tmp/ was
	 * left by one that died. */
	hmap none = {0};
	image_gc_stats tst = {0};
	gc_dir(tdir, &none, true, &tst);
	st.tmp_removed = tst.layers_removed;
	hmap_free(&none);
	for (size_t i = 0; i < nowned; i++)
		free(owned[i]);
	free(owned);
	hmap_free(&blobs);
	hmap_free(&layers);
	image_infos_free(imgs, n);
	image_store_unlock(gfd);
	if (stats)
		*stats = st;
	return 0;
}

void image_size_human(int64_t bytes, char out[16])
{
	static const char *const units[] = {"B", "kB", "MB", "GB", "TB"};
	double v = (double)bytes;
	size_t u = 0;
	while (v >= 1000 && u + 1 < ARRAY_SIZE(units)) {
		v /= 1000;
		u++;
	}
	if (u == 0)
		snprintf(out, 16, "%lldB", (long long)bytes);
	else
		snprintf(out, 16, "%.3g%s", v, units[u]);
}
