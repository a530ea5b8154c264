/* test_image_store.c — layer unpacking (whiteouts in overlay and apply form, links,
 * modes, paths that try to escape), the blob store's digest checks, the image index
 * (tags moving, lookups by name, digest and ID, removal) and garbage collection. Layers
 * are tars built here with libarchive. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "agent/image-internal.h"
#include "agent/image_ref.h"
#include "agent/image_store.h"
#include "base/util.h"
#include "test.h"

typedef struct ent {
	const char *path;
	char type; /* f file, d dir, l symlink, h hardlink */
	const char *data_or_target;
	int mode;
} ent;

/* Writes a tar (gzip when gz) of the entries to path. */
static void make_tar(const char *path, const ent *e, size_t n, bool gz)
{
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	if (gz)
		archive_write_add_filter_gzip(a);
	archive_write_open_filename(a, path);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *x = archive_entry_new();
		archive_entry_set_pathname(x, e[i].path);
		archive_entry_set_mode(x, (e[i].type == 'd'   ? AE_IFDIR
		                           : e[i].type == 'l' ? AE_IFLNK
		                                              : AE_IFREG) |
		                              (mode_t)(e[i].mode ? e[i].mode : 0644));
		archive_entry_set_mtime(x, 1700000000, 0);
		if (e[i].type == 'l')
			archive_entry_set_symlink(x, e[i].data_or_target);
		if (e[i].type == 'h')
			archive_entry_set_hardlink(x, e[i].data_or_target);
		size_t len = e[i].type == 'f' && e[i].data_or_target ? strlen(e[i].data_or_target) : 0;
		archive_entry_set_size(x, (la_int64_t)len);
		archive_write_header(a, x);
		if (len)
			archive_write_data(a, e[i].data_or_target, len);
		archive_entry_free(x);
	}
	archive_write_close(a);
	archive_write_free(a);
}

static char *tmpdir(void)
{
	char *t = xasprintf("/tmp/timon-test-image.XXXXXX");
	if (!mkdtemp(t))
		abort();
	return t;
}

static bool exists(const char *dir, const char *rel)
{
	char *p = xasprintf("%s/%s", dir, rel);
	struct stat st;
	bool ok = lstat(p, &st) == 0;
	free(p);
	return ok;
}

static mode_t mode_of(const char *dir, const char *rel)
{
	char *p = xasprintf("%s/%s", dir, rel);
	struct stat st;
	mode_t m = lstat(p, &st) == 0 ? st.st_mode : 0;
	free(p);
	return m;
}

static const ent lower[] = {
    {"bin", 'd', NULL, 0755},
    {"bin/tool", 'f', "#!/bin/sh\n", 0755},
    {"bin/link", 'l', "tool", 0777},
    {"bin/hard", 'h', "bin/tool", 0755},
    {"etc", 'd', NULL, 0755},
    {"etc/gone", 'f', "x", 0644},
    {"etc/dir", 'd', NULL, 0700},
    {"etc/dir/old", 'f', "old", 0600},
    {"etc/becomes-file", 'd', NULL, 0755},
    {"etc/becomes-file/inner", 'f', "y", 0644},
};

static const ent upper[] = {
    {"etc/.wh.gone", 'f', NULL, 0},
    {"etc/dir/.wh..wh..opq", 'f', NULL, 0},
    {"etc/dir/new", 'f', "new", 0644},
    {"etc/becomes-file", 'f', "now a file", 0644},
    {"etc/.wh..wh.plnk", 'd', NULL, 0700},
    {"./etc/added", 'f', "z", 0640},
};

TEST(unpack_apply_whiteouts)
{
	char *d = tmpdir();
	char *l1 = xasprintf("%s/l1.tar.gz", d), *l2 = xasprintf("%s/l2.tar", d);
	char *root = xasprintf("%s/root", d);
	mkdir(root, 0755);
	make_tar(l1, lower, ARRAY_SIZE(lower), true);
	make_tar(l2, upper, ARRAY_SIZE(upper), false);
	terr *err = NULL;
	char *id1 = NULL;
	REQUIRE(image_unpack_layer(l1, root, IMAGE_UNPACK_APPLY, &id1, &err) == 0);
	CHECK(image_digest_valid(id1));
	CHECK(exists(root, "etc/gone"));
	CHECK(S_ISLNK(mode_of(root, "bin/link")));
	CHECK_INT(mode_of(root, "bin/tool") & 07777, 0755);
	CHECK_INT(mode_of(root, "etc/dir") & 07777, 0700);
	char *p1 = xasprintf("%s/bin/tool", root), *p2 = xasprintf("%s/bin/hard", root);
	struct stat s1, s2;
	CHECK(stat(p1, &s1) == 0 && stat(p2, &s2) == 0 && s1.st_ino == s2.st_ino);
	free(p1);
	free(p2);
	REQUIRE(image_unpack_layer(l2, root, IMAGE_UNPACK_APPLY, NULL, &err) == 0);
	CHECK(!exists(root, "etc/gone"));
	CHECK(!exists(root, "etc/.wh.gone"));
	CHECK(!exists(root, "etc/dir/old"));
	CHECK(exists(root, "etc/dir/new"));
	CHECK(!exists(root, "etc/dir/.wh..wh..opq"));
	CHECK(S_ISREG(mode_of(root, "etc/becomes-file")));
	CHECK(!exists(root, "etc/.wh..wh.plnk"));
	CHECK_INT(mode_of(root, "etc/added") & 07777, 0640);
	CHECK(exists(root, "bin/tool"));
	if (err)
		fprintf(stderr, "  %s\n", err->message);
	terr_free(err);
	free(id1);
	image_rm_rf(d);
	free(l1);
	free(l2);
	free(root);
	free(d);
}

TEST(unpack_overlay_whiteouts)
{
	if (geteuid() != 0) {
		fprintf(stderr, "  skipped: overlay whiteouts need root (mknod)\n");
		return;
	}
	char *d = tmpdir();
	char *l2 = xasprintf("%s/l2.tar", d), *root = xasprintf("%s/root", d);
	mkdir(root, 0755);
	make_tar(l2, upper, ARRAY_SIZE(upper), false);
	terr *err = NULL;
	char *id = NULL;
	REQUIRE(image_unpack_layer(l2, root, IMAGE_UNPACK_OVERLAY, &id, &err) == 0);
	/* The diff ID is the sha256 of the uncompressed tar. */
	FILE *f = fopen(l2, "rb");
	REQUIRE(f != NULL);
	char *data = xmalloc(1 << 20);
	size_t n = fread(data, 1, 1 << 20, f);
	fclose(f);
	char *want = image_sha256_digest(data, n);
	CHECK_STR(id, want);
	free(want);
	free(data);
	char *wh = xasprintf("%s/etc/gone", root);
	struct stat st;
	CHECK(lstat(wh, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0));
	free(wh);
	char *dir = xasprintf("%s/etc/dir", root);
	char v[4] = "";
	ssize_t vn = getxattr(dir, "trusted.overlay.opaque", v, sizeof v);
	if (vn < 0)
		vn = getxattr(dir, "user.overlay.opaque", v, sizeof v);
	CHECK(vn == 1 && v[0] == 'y');
	free(dir);
	CHECK(exists(root, "etc/dir/new"));
	CHECK(!exists(root, "etc/dir/.wh..wh..opq"));
	CHECK(!exists(root, "etc/.wh..wh.plnk"));
	terr_free(err);
	free(id);
	image_rm_rf(d);
	free(l2);
	free(root);
	free(d);
}

TEST(unpack_refuses_escapes)
{
	char *d = tmpdir();
	char *root = xasprintf("%s/root", d), *t = xasprintf("%s/evil.tar", d);
	mkdir(root, 0755);
	static const ent dotdot[] = {{"a/../../outside", 'f', "x", 0644}};
	make_tar(t, dotdot, 1, false);
	terr *err = NULL;
	CHECK(image_unpack_layer(t, root, IMAGE_UNPACK_OVERLAY, NULL, &err) < 0);
	terr_free(err);
	err = NULL;
	CHECK(!exists(d, "outside"));
	/* Writing through a symlink that points out of the root: libarchive replaces the
	 * symlink by a real folder (or refuses); either way nothing lands outside. */
	static const ent through[] = {{"esc", 'l', "..", 0777}, {"esc/pwned", 'f', "x", 0644}};
	make_tar(t, through, 2, false);
	image_unpack_layer(t, root, IMAGE_UNPACK_APPLY, NULL, &err);
	terr_free(err);
	err = NULL;
	CHECK(!exists(d, "pwned"));
	/* The same through a symlink of a lower layer. */
	static const ent lowlink[] = {{"esc2", 'l', "..", 0777}};
	static const ent uplink[] = {{"esc2/pwned2", 'f', "x", 0644}};
	make_tar(t, lowlink, 1, false);
	CHECK(image_unpack_layer(t, root, IMAGE_UNPACK_APPLY, NULL, &err) == 0);
	make_tar(t, uplink, 1, false);
	image_unpack_layer(t, root, IMAGE_UNPACK_APPLY, NULL, &err);
	terr_free(err);
	err = NULL;
	CHECK(!exists(d, "pwned2"));
	/* A whiteout behind a symlink must not delete outside the root. */
	char *victim = xasprintf("%s/victim", d);
	FILE *f = fopen(victim, "w");
	fclose(f);
	static const ent wh[] = {{"esc2/.wh.victim", 'f', NULL, 0644}};
	make_tar(t, wh, 1, false);
	image_unpack_layer(t, root, IMAGE_UNPACK_APPLY, NULL, &err);
	terr_free(err);
	CHECK(exists(d, "victim"));
	/* Absolute paths land inside the root. */
	static const ent abs[] = {{"/abs/file", 'f', "x", 0644}};
	make_tar(t, abs, 1, false);
	err = NULL;
	CHECK(image_unpack_layer(t, root, IMAGE_UNPACK_APPLY, NULL, &err) == 0);
	CHECK(exists(root, "abs/file"));
	terr_free(err);
	free(victim);
	image_rm_rf(d);
	free(root);
	free(t);
	free(d);
}

static char *put_blob(image_store *s, const char *data)
{
	image_blob_writer *w = image_blob_begin(s, NULL);
	if (!w)
		return NULL;
	image_blob_write(w, data, strlen(data), NULL);
	char *dg = NULL;
	image_blob_commit(w, NULL, -1, &dg, NULL);
	return dg;
}

TEST(blob_store_verifies)
{
	char *d = tmpdir();
	terr *err = NULL;
	image_store *s = image_store_open(d, &err);
	REQUIRE(s != NULL);
	char *dg = put_blob(s, "hello");
	CHECK_STR(dg, "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
	CHECK(image_store_has_blob(s, dg));
	size_t n;
	char *back = image_store_read_blob(s, dg, 100, &n, NULL);
	CHECK_STR(back, "hello");
	free(back);
	/* A wrong expected digest stores nothing. */
	image_blob_writer *w = image_blob_begin(s, NULL);
	image_blob_write(w, "hellO", 5, NULL);
	CHECK(image_blob_commit(w, dg, 5, NULL, &err) < 0);
	CHECK(err && strstr(err->message, "digest mismatch"));
	terr_free(err);
	err = NULL;
	w = image_blob_begin(s, NULL);
	image_blob_write(w, "hello", 5, NULL);
	CHECK(image_blob_commit(w, dg, 6, NULL, &err) < 0);
	CHECK(err && strstr(err->message, "size mismatch"));
	terr_free(err);
	err = NULL;
	/* Damage on disk is caught when read. */
	char *path = image_store_blob_path(s, dg);
	FILE *f = fopen(path, "w");
	fputs("HELLO", f);
	fclose(f);
	CHECK(image_store_read_blob(s, dg, 100, &n, &err) == NULL);
	CHECK(err && strstr(err->message, "digest mismatch"));
	terr_free(err);
	free(path);
	free(dg);
	image_store_close(s);
	image_rm_rf(d);
	free(d);
}

/* An image record with one layer, for index tests. */
static image_info fake_image(const char *manifest, const char *config, const char *layer,
                             const char *name)
{
	image_info img = {0};
	img.id = xstrdup(config);
	img.digest = xstrdup(manifest);
	img.manifest = xstrdup(manifest);
	img.size = 42;
	img.names = xcalloc(2, sizeof(char *));
	if (name) {
		img.names[0] = xstrdup(name);
		img.n_names = 1;
	}
	img.repo_digests = xcalloc(2, sizeof(char *));
	img.layers = xcalloc(1, sizeof(image_layer));
	img.layers[0].digest = xstrdup(layer);
	img.layers[0].diff_id = xstrdup(layer);
	img.n_layers = 1;
	return img;
}

TEST(index_and_gc)
{
	char *d = tmpdir();
	image_store *s = image_store_open(d, NULL);
	REQUIRE(s != NULL);
	char *m1 = put_blob(s, "manifest one"), *c1 = put_blob(s, "config one");
	char *l1 = put_blob(s, "layer one");
	char *m2 = put_blob(s, "manifest two"), *c2 = put_blob(s, "config two");
	char *l2 = put_blob(s, "layer two");
	char *junk = put_blob(s, "junk");
	char *ldir = image_store_layer_path(s, l1);
	mkdir(ldir, 0755);
	char *ldir2 = image_store_layer_path(s, l2);
	mkdir(ldir2, 0755);

	image_info a = fake_image(m1, c1, l1, "docker.io/library/app:1");
	image_info b = fake_image(m2, c2, l2, "docker.io/library/app:2");
	terr *err = NULL;
	REQUIRE(image_store_add(s, &a, &err) == 0);
	REQUIRE(image_store_add(s, &b, &err) == 0);
	image_info got;
	REQUIRE(image_store_find(s, "app:1", &got, &err) == 0);
	CHECK_STR(got.id, c1);
	image_info_free(&got);
	REQUIRE(image_store_find(s, c2 + 7, &got, &err) == 0); /* a full hex ID */
	CHECK_STR(got.manifest, m2);
	image_info_free(&got);
	char prefix[8];
	snprintf(prefix, sizeof prefix, "%.6s", c1 + 7);
	REQUIRE(image_store_find(s, prefix, &got, &err) == 0);
	CHECK_STR(got.manifest, m1);
	image_info_free(&got);
	REQUIRE(image_store_find(s, m2, &got, &err) == 0);
	CHECK_STR(got.id, c2);
	char **dirs = NULL;
	size_t nd = 0;
	REQUIRE(image_rootfs_layers(s, &got, &dirs, &nd, &err) == 0);
	CHECK_INT(nd, 1);
	CHECK_STR(dirs[0], ldir2);
	image_strv_free(dirs);
	image_info_free(&got);
	CHECK(image_store_find(s, "app:3", &got, &err) < 0);
	CHECK(err && err->code == 404);
	terr_free(err);
	err = NULL;

	/* Moving tag 1 to image b leaves a without names: it is still listed. */
	image_info b2 = fake_image(m2, c2, l2, "docker.io/library/app:1");
	REQUIRE(image_store_add(s, &b2, &err) == 0);
	REQUIRE(image_store_find(s, "app:1", &got, &err) == 0);
	CHECK_STR(got.id, c2);
	CHECK_INT(got.n_names, 2);
	image_info_free(&got);
	image_info *all;
	size_t n;
	REQUIRE(image_store_list(s, &all, &n, &err) == 0);
	CHECK_INT(n, 2);
	image_infos_free(all, n);

	/* Removing a's ID, then gc: its blobs and layer go, b's and nothing else stay. */
	REQUIRE(image_store_remove(s, c1, &err) == 0);
	image_gc_stats st;
	REQUIRE(image_store_gc(s, false, &st, &err) == 0);
	CHECK_INT(st.blobs_removed, 4); /* m1, c1, l1, junk */
	CHECK_INT(st.layers_removed, 1);
	CHECK(!image_store_has_blob(s, m1) && !image_store_has_blob(s, junk));
	CHECK(image_store_has_blob(s, m2) && image_store_has_blob(s, l2));
	CHECK(!image_store_has_layer(s, l1) && image_store_has_layer(s, l2));

	/* Untagging removes the image when its last tag goes. */
	REQUIRE(image_store_remove(s, "app:1", &err) == 0);
	REQUIRE(image_store_find(s, "app:2", &got, &err) == 0);
	image_info_free(&got);
	REQUIRE(image_store_remove(s, "docker.io/library/app:2", &err) == 0);
	REQUIRE(image_store_list(s, &all, &n, &err) == 0);
	CHECK_INT(n, 0);
	image_infos_free(all, n);
	CHECK(image_store_remove(s, "app:2", &err) < 0);
	terr_free(err);

	image_info_free(&a);
	image_info_free(&b);
	image_info_free(&b2);
	free(m1), free(c1), free(l1), free(m2), free(c2), free(l2), free(junk);
	free(ldir);
	free(ldir2);
	image_store_close(s);
	image_rm_rf(d);
	free(d);
}

TEST(size_human)
{
	char b[16];
	image_size_human(999, b);
	CHECK_STR(b, "999B");
	image_size_human(1029335, b);
	CHECK_STR(b, "1.03MB");
	image_size_human(4300000000LL, b);
	CHECK_STR(b, "4.3GB");
}
