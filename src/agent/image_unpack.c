/* image_unpack.c — extracting one layer tar (plain, gzip or zstd) with libarchive: modes,
 * owners, times, xattrs, symlinks and hardlinks as the tar says, entries confined to the
 * destination, and the OCI whiteouts (".wh.<name>" hides a lower file, ".wh..wh..opq"
 * hides a lower directory's contents) turned into overlayfs whiteouts or applied.
 * The uncompressed stream is hashed on the way through, giving the layer's diff ID in the
 * same pass. Thread-safe: no chdir, no global state.
 * Not for: choosing where layers live (image_store.c). */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "agent/image-internal.h"
#include "base/hmap.h"
#include "base/util.h"

#define WH_PREFIX  ".wh."
#define WH_OPAQUE  ".wh..wh..opq"
#define WH_META    ".wh..wh." /* aufs bookkeeping (.wh..wh.plnk, ...): skipped */
#define READ_BLOCK (128 * 1024)

/* The uncompressed stream: the outer reader decompresses the blob as "raw" data, the tar
 * reader reads from it through this callback, and every byte is hashed. */
typedef struct stream {
	struct archive *outer;
	image_sha256 *sha;
	char *block;
} stream;

static la_ssize_t stream_read(struct archive *a, void *ud, const void **out)
{
	stream *st = ud;
	la_ssize_t n = archive_read_data(st->outer, st->block, READ_BLOCK);
	if (n < 0) {
		archive_set_error(a, EIO, "decompressing: %s", archive_error_string(st->outer));
		return -1;
	}
	image_sha256_update(st->sha, st->block, (size_t)n);
	*out = st->block;
	return n;
}

/* Cleans a tar path to "a/b/c" (no leading "/" or "./", no empty or "." components).
 * NULL when it has a ".." component; "" for the root itself. */
static char *clean_path(const char *p)
{
	buf b = {0};
	buf_puts(&b, "");
	while (*p) {
		while (*p == '/')
			p++;
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			buf_free(&b);
			return NULL;
		}
		if (n > 0 && !(n == 1 && p[0] == '.')) {
			if (b.n)
				buf_putc(&b, '/');
			buf_add(&b, p, n);
		}
		p += n;
	}
	return buf_take(&b);
}

/* Opens the directory rel below rootfd without following symlinks, creating missing
 * components (0755) when create. -1 when a component is missing or not a directory. */
static int open_dir_below(int rootfd, const char *rel, bool create)
{
	int fd = dup(rootfd);
	_cleanup_free_ char *copy = xstrdup(rel);
	char *save = NULL;
	for (char *c = strtok_r(copy, "/", &save); c && fd >= 0; c = strtok_r(NULL, "/", &save)) {
		int next = openat(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0 && errno == ENOENT && create) {
			if (mkdirat(fd, c, 0755) < 0 && errno != EEXIST) {
				close(fd);
				return -1;
			}
			next = openat(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		close(fd);
		fd = next;
	}
	return fd;
}

/* Removes every entry of the directory fd except those this layer wrote (prefix "dir/"). */
static int clear_dir(int fd, const char *dir, hmap *written)
{
	int dfd = dup(fd);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return -1;
	}
	struct dirent *e;
	int rc = 0;
	while ((e = readdir(d))) {
		if (str_eq(e->d_name, ".") || str_eq(e->d_name, ".."))
			continue;
		_cleanup_free_ char *rel = *dir ? xasprintf("%s/%s", dir, e->d_name)
		                                : xstrdup(e->d_name);
		if (hmap_get(written, rel))
			continue;
		_cleanup_free_ char *p = xasprintf("/proc/self/fd/%d/%s", fd, e->d_name);
		if (image_rm_rf(p) < 0)
			rc = -1;
	}
	closedir(d);
	return rc;
}

typedef struct unpack {
	int rootfd;
	const char *root; /* real path of dest */
	image_unpack_mode mode;
	hmap written;     /* APPLY: relative paths this layer wrote */
	char **owned;
	size_t n_owned, cap_owned;
} unpack;

static void mark_written(unpack *u, const char *rel)
{
	if (u->mode != IMAGE_UNPACK_APPLY || hmap_get(&u->written, rel))
		return;
	if (u->n_owned == u->cap_owned) {
		u->cap_owned = u->cap_owned ? u->cap_owned * 2 : 256;
		u->owned = xrealloc(u->owned, u->cap_owned * sizeof *u->owned);
	}
	char *k = xstrdup(rel);
	u->owned[u->n_owned++] = k;
	hmap_put(&u->written, k, k);
}

/* A whiteout entry: dir is the folder it sits in ("" for the root), name what follows
 * ".wh." (or NULL for the opaque marker). */
static int whiteout(unpack *u, const char *dir, const char *name, terr **err)
{
	bool overlay = u->mode == IMAGE_UNPACK_OVERLAY;
	int dfd = open_dir_below(u->rootfd, dir, overlay);
	if (dfd < 0) /* APPLY: nothing below to hide (or a symlink in the way) */
		return overlay ? terr_internal(err, "whiteout in %s: %s", dir, strerror(errno)) : 0;
	int rc = 0;
	if (!name) {
		if (overlay) {
			/* overlayfs: an opaque directory hides the lower layers' contents. */
			if (fsetxattr(dfd, "trusted.overlay.opaque", "y", 1, 0) < 0 &&
			    fsetxattr(dfd, "user.overlay.opaque", "y", 1, 0) < 0)
				rc = terr_internal(err, "marking %s opaque: %s", dir, strerror(errno));
		} else if (clear_dir(dfd, dir, &u->written) < 0) {
			rc = terr_internal(err, "clearing opaque %s: %s", dir, strerror(errno));
		}
	} else {
		_cleanup_free_ char *rel = *dir ? xasprintf("%s/%s", dir, name) : xstrdup(name);
		struct stat st;
		bool exists = fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
		if (overlay) {
			/* overlayfs: a 0/0 character device hides the lower file. A real entry of
			 * the same layer wins over its own whiteout. */
			if (!exists && mknodat(dfd, name, S_IFCHR | 0, makedev(0, 0)) < 0)
				rc = terr_internal(err, "whiteout %s: %s", rel, strerror(errno));
		} else if (exists && !hmap_get(&u->written, rel)) {
			_cleanup_free_ char *p = xasprintf("/proc/self/fd/%d/%s", dfd, name);
			if (image_rm_rf(p) < 0)
				rc = terr_internal(err, "whiteout %s: %s", rel, strerror(errno));
		}
	}
	close(dfd);
	return rc;
}

/* APPLY: a lower directory in the way of a non-directory goes first (files and links are
 * replaced by libarchive itself). Never follows a symlink on the way. */
static void clear_in_the_way(unpack *u, const char *dir, const char *base, mode_t type)
{
	if (u->mode != IMAGE_UNPACK_APPLY || type == AE_IFDIR)
		return;
	int dfd = open_dir_below(u->rootfd, dir, false);
	if (dfd < 0)
		return;
	struct stat st;
	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
		_cleanup_free_ char *p = xasprintf("/proc/self/fd/%d/%s", dfd, base);
		image_rm_rf(p);
	}
	close(dfd);
}

static int unpack_entries(unpack *u, struct archive *tar, struct archive *disk, terr **err)
{
	struct archive_entry *e;
	int r;
	while ((r = archive_read_next_header(tar, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		const char *raw = archive_entry_pathname(e);
		_cleanup_free_ char *rel = clean_path(raw ? raw : "");
		if (!rel)
			return terr_internal(err, "layer entry \"%s\" escapes the root", raw);
		if (!*rel)
			continue; /* the root folder itself */
		const char *slash = strrchr(rel, '/');
		const char *base = slash ? slash + 1 : rel;
		_cleanup_free_ char *dir = slash ? xstrndup(rel, (size_t)(slash - rel)) : xstrdup("");
		if (str_has_prefix(base, WH_PREFIX)) {
			int wr = 0;
			if (str_eq(base, WH_OPAQUE))
				wr = whiteout(u, dir, NULL, err);
			else if (!str_has_prefix(base, WH_META))
				wr = whiteout(u, dir, base + strlen(WH_PREFIX), err);
			if (wr < 0)
				return -1;
			continue;
		}
		_cleanup_free_ char *full = xasprintf("%s/%s", u->root, rel);
		archive_entry_set_pathname(e, full);
		const char *link = archive_entry_hardlink(e);
		_cleanup_free_ char *link_full = NULL;
		if (link) {
			_cleanup_free_ char *lrel = clean_path(link);
			if (!lrel || !*lrel)
				return terr_internal(err, "layer hardlink \"%s\" escapes the root", link);
			link_full = xasprintf("%s/%s", u->root, lrel);
			archive_entry_set_hardlink(e, link_full);
		}
		clear_in_the_way(u, dir, base, archive_entry_filetype(e));
		r = archive_write_header(disk, e);
		if (r == ARCHIVE_OK && archive_entry_size(e) > 0 && !link) {
			const void *blk;
			size_t n;
			la_int64_t off;
			int dr;
			while ((dr = archive_read_data_block(tar, &blk, &n, &off)) == ARCHIVE_OK) {
				if (archive_write_data_block(disk, blk, n, off) < ARCHIVE_WARN)
					return terr_internal(err, "writing %s: %s", rel,
					                     archive_error_string(disk));
			}
			if (dr != ARCHIVE_EOF)
				return terr_internal(err, "reading layer at %s: %s", rel,
				                     archive_error_string(tar));
		}
		if (r < ARCHIVE_WARN)
			return terr_internal(err, "extracting %s: %s", rel, archive_error_string(disk));
		if (archive_write_finish_entry(disk) < ARCHIVE_WARN)
			return terr_internal(err, "extracting %s: %s", rel, archive_error_string(disk));
		mark_written(u, rel);
	}
	if (r != ARCHIVE_EOF)
		return terr_internal(err, "reading layer: %s", archive_error_string(tar));
	return 0;
}

int image_unpack_layer(const char *blob_path, const char *dest, image_unpack_mode mode,
                       char **diff_id_out, terr **err)
{
	char root[PATH_MAX];
	if (!realpath(dest, root))
		return terr_internal(err, "unpacking into %s: %s", dest, strerror(errno));
	unpack u = {.root = root, .mode = mode};
	u.rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (u.rootfd < 0)
		return terr_internal(err, "unpacking into %s: %s", dest, strerror(errno));

	stream st = {.sha = image_sha256_new(), .block = xmalloc(READ_BLOCK)};
	st.outer = archive_read_new();
	archive_read_support_filter_all(st.outer);
	archive_read_support_format_raw(st.outer);
	struct archive *tar = archive_read_new();
	archive_read_support_format_tar(tar);
	struct archive *disk = archive_write_disk_new();
	int flags = ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_XATTR |
	            ARCHIVE_EXTRACT_FFLAGS | ARCHIVE_EXTRACT_UNLINK |
	            ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT;
	if (geteuid() == 0)
		flags |= ARCHIVE_EXTRACT_OWNER; /* numeric IDs: no lookup in the host's passwd */
	archive_write_disk_set_options(disk, flags);

	int rc = -1;
	struct archive_entry *raw;
	if (archive_read_open_filename(st.outer, blob_path, READ_BLOCK) != ARCHIVE_OK) {
		terr_internal(err, "opening layer %s: %s", blob_path, archive_error_string(st.outer));
		goto out;
	}
	if (archive_read_next_header(st.outer, &raw) != ARCHIVE_OK) {
		terr_internal(err, "reading layer %s: %s", blob_path, archive_error_string(st.outer));
		goto out;
	}
	if (archive_read_open(tar, &st, NULL, stream_read, NULL) != ARCHIVE_OK) {
		terr_internal(err, "reading layer %s: %s", blob_path, archive_error_string(tar));
		goto out;
	}
	if (unpack_entries(&u, tar, disk, err) < 0)
		goto out;
	if (archive_write_close(disk) < ARCHIVE_WARN) {
		terr_internal(err, "finishing layer: %s", archive_error_string(disk));
		goto out;
	}
	/* The tar reader stops at the end-of-archive marker: hash the padding after it too. */
	la_ssize_t n;
	while ((n = archive_read_data(st.outer, st.block, READ_BLOCK)) > 0)
		image_sha256_update(st.sha, st.block, (size_t)n);
	if (n < 0) {
		terr_internal(err, "decompressing layer: %s", archive_error_string(st.outer));
		goto out;
	}
	if (diff_id_out) {
		*diff_id_out = image_sha256_finish(st.sha);
		st.sha = NULL;
	}
	rc = 0;
out:
	archive_write_free(disk);
	archive_read_free(tar);
	archive_read_free(st.outer);
	image_sha256_free(st.sha);
	free(st.block);
	close(u.rootfd);
	for (size_t i = 0; i < u.n_owned; i++)
		free(u.owned[i]);
	free(u.owned);
	hmap_free(&u.written);
	return rc;
}
