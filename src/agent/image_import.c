/* image_import.c — `timon images import`: images from archives, for air-gapped nodes.
 * Every regular file of the archive streams straight into the blob store under its own
 * digest (so an OCI layout's blobs are verified by the lookup itself: a damaged blob lands
 * under another digest and is missing); then the archive's own index — manifest.json of
 * `docker save`, or index.json of an OCI image layout — says which images to assemble.
 * Files that are not blobs of an image are left for the garbage collector.
 * Not for: registries (image_pull.c). */
#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>
#include <string.h>

#include "agent/image-internal.h"
#include "agent/image_pull.h"
#include "agent/image_ref.h"
#include "base/hmap.h"
#include "base/json.h"
#include "base/log.h"
#include "base/util.h"

#define IMPORT_JSON_MAX (16u << 20)
#define IMPORT_BLOCK    (256 * 1024)

typedef struct afile {
	char *path;   /* cleaned archive path */
	char *digest; /* regular files */
	int64_t size;
	char *link;   /* symlinks and hardlinks: cleaned target path */
} afile;

typedef struct archive_files {
	hmap by_path;
	afile **v;
	size_t n, cap;
} archive_files;

static void files_free(archive_files *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->v[i]->path);
		free(f->v[i]->digest);
		free(f->v[i]->link);
		free(f->v[i]);
	}
	free(f->v);
	hmap_free(&f->by_path);
}

/* "a/./b//c" -> "a/b/c"; ".." pops a component (never above the top). */
static char *clean(const char *p)
{
	char **parts = xcalloc(strlen(p) + 1, sizeof *parts);
	size_t n = 0;
	_cleanup_free_ char *copy = xstrdup(p);
	char *save = NULL;
	for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (str_eq(c, "."))
			continue;
		if (str_eq(c, "..")) {
			if (n)
				n--;
			continue;
		}
		parts[n++] = c;
	}
	buf b = {0};
	buf_puts(&b, "");
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_putc(&b, '/');
		buf_puts(&b, parts[i]);
	}
	free(parts);
	return buf_take(&b);
}

static void files_add(archive_files *f, afile *a)
{
	afile *old = hmap_get(&f->by_path, a->path);
	if (old)
		hmap_del(&f->by_path, a->path);
	if (f->n == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 32;
		f->v = xrealloc(f->v, f->cap * sizeof *f->v);
	}
	f->v[f->n++] = a;
	hmap_put(&f->by_path, a->path, a);
}

/* The regular file at path, following links (at most 16). */
static const afile *files_get(const archive_files *f, const char *path)
{
	_cleanup_free_ char *p = clean(path);
	for (int hops = 0; hops < 16; hops++) {
		const afile *a = hmap_get(&f->by_path, p);
		if (!a || a->digest)
			return a;
		free(p);
		p = xstrdup(a->link);
	}
	return NULL;
}

static int read_archive(image_store *s, const char *path, archive_files *files, terr **err)
{
	struct archive *a = archive_read_new();
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	int rc = -1;
	char *block = xmalloc(IMPORT_BLOCK);
	if (archive_read_open_filename(a, path, IMPORT_BLOCK) != ARCHIVE_OK) {
		terr_bad_request(err, "opening %s: %s", path, archive_error_string(a));
		goto out;
	}
	struct archive_entry *e;
	int r;
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		const char *name = archive_entry_pathname(e);
		afile *f = xcalloc(1, sizeof *f);
		f->path = clean(name ? name : "");
		const char *hard = archive_entry_hardlink(e);
		const char *sym = archive_entry_symlink(e);
		if (hard) {
			f->link = clean(hard);
		} else if (archive_entry_filetype(e) == AE_IFLNK && sym) {
			/* A symlink's target is relative to its own folder. */
			const char *slash = strrchr(f->path, '/');
			_cleanup_free_ char *joined =
			    sym[0] == '/' ? xstrdup(sym)
			    : slash       ? xasprintf("%.*s/%s", (int)(slash - f->path), f->path, sym)
			                  : xstrdup(sym);
			f->link = clean(joined);
		} else if (archive_entry_filetype(e) == AE_IFREG) {
			image_blob_writer *w = image_blob_begin(s, err);
			if (!w) {
				free(f->path);
				free(f);
				goto out;
			}
			la_ssize_t n;
			while ((n = archive_read_data(a, block, IMPORT_BLOCK)) > 0)
				if (image_blob_write(w, block, (size_t)n, err) < 0)
					break;
			if (n != 0 || (err && *err)) {
				if (n < 0)
					terr_bad_request(err, "reading %s in %s: %s", f->path, path,
					                 archive_error_string(a));
				image_blob_abort(w);
				free(f->path);
				free(f);
				goto out;
			}
			f->size = (int64_t)image_blob_written(w);
			if (image_blob_commit(w, NULL, -1, &f->digest, err) < 0) {
				free(f->path);
				free(f);
				goto out;
			}
		} else {
			free(f->path);
			free(f);
			continue;
		}
		files_add(files, f);
	}
	if (r != ARCHIVE_EOF) {
		terr_bad_request(err, "reading %s: %s", path, archive_error_string(a));
		goto out;
	}
	rc = 0;
out:
	free(block);
	archive_read_free(a);
	return rc;
}

static char *read_json_file(image_store *s, const archive_files *f, const char *path,
                            size_t *n, terr **err)
{
	const afile *a = files_get(f, path);
	if (!a) {
		terr_bad_request(err, "archive has no %s", path);
		return NULL;
	}
	return image_store_read_blob(s, a->digest, IMPORT_JSON_MAX, n, err);
}

/* Appends img to the results. */
static void push_result(image_info **v, size_t *n, image_info *img)
{
	*v = xrealloc(*v, (*n + 1) * sizeof **v);
	(*v)[(*n)++] = *img;
	memset(img, 0, sizeof *img);
}

static void add_name(image_info *img, const char *ref)
{
	image_ref r;
	_cleanup_terr_ terr *e = NULL;
	if (image_ref_parse(ref, &r, &e) < 0) {
		log_warn("images: import: ignoring name %s: %s", ref, e->message);
		return;
	}
	char *t = image_ref_tagged(&r);
	image_ref_free(&r);
	if (!t)
		return;
	img->names = xrealloc(img->names, (img->n_names + 2) * sizeof(char *));
	img->names[img->n_names++] = t;
	img->names[img->n_names] = NULL;
}

/* docker save: manifest.json = [{"Config": path, "RepoTags": [...], "Layers": [paths]}]. */
static int import_docker(image_store *s, const archive_files *f, image_info **res,
                         size_t *nres, terr **err)
{
	size_t n;
	_cleanup_free_ char *text = read_json_file(s, f, "manifest.json", &n, err);
	if (!text)
		return -1;
	json_error_t jerr;
	_cleanup_json_ json_t *root = json_loadb(text, n, 0, &jerr);
	if (!json_is_array(root))
		return terr_bad_request(err, "manifest.json: want an array");
	size_t i;
	json_t *e;
	json_array_foreach(root, i, e) {
		const char *cfg_path = json_string_value(json_object_get(e, "Config"));
		json_t *layers = json_object_get(e, "Layers");
		const afile *cfg = cfg_path ? files_get(f, cfg_path) : NULL;
		if (!cfg || !json_is_array(layers))
			return terr_bad_request(err, "manifest.json[%zu]: missing Config or Layers", i);
		size_t nl = json_array_size(layers);
		char **digests = xcalloc(nl + 1, sizeof *digests);
		int64_t *sizes = xcalloc(nl + 1, sizeof *sizes);
		for (size_t k = 0; k < nl; k++) {
			const char *lp = json_string_value(json_array_get(layers, k));
			const afile *L = lp ? files_get(f, lp) : NULL;
			if (!L) {
				free(digests);
				free(sizes);
				return terr_bad_request(err, "manifest.json[%zu]: layer %s is missing",
				                        i, lp ? lp : "?");
			}
			digests[k] = L->digest;
			sizes[k] = L->size;
		}
		_cleanup_free_ char *mtext =
		    image_manifest_synthesize(cfg->digest, cfg->size, digests, sizes, nl);
		free(digests);
		free(sizes);
		image_blob_writer *w = image_blob_begin(s, err);
		_cleanup_free_ char *mdigest = NULL;
		if (!w || image_blob_write(w, mtext, strlen(mtext), err) < 0 ||
		    image_blob_commit(w, NULL, -1, &mdigest, err) < 0) {
			if (w && !mdigest)
				image_blob_abort(w);
			return -1;
		}
		image_manifest m;
		if (image_manifest_parse(mtext, strlen(mtext), NULL, &m, err) < 0)
			return -1;
		image_info img;
		int rc = image_assemble(s, NULL, &m, mdigest, strlen(mtext), &img, err);
		image_manifest_free(&m);
		if (rc < 0)
			return terr_wrap(err, "manifest.json[%zu]", i);
		size_t t;
		json_t *tag;
		json_array_foreach(json_object_get(e, "RepoTags"), t, tag) {
			if (json_is_string(tag))
				add_name(&img, json_string_value(tag));
		}
		push_result(res, nres, &img);
	}
	return 0;
}

/* The name an OCI layout gives a manifest: io.containerd.image.name (a full reference),
 * else org.opencontainers.image.ref.name (a full reference, or only a tag, which base
 * completes). NULL when none (new string). */
static char *oci_name(json_t *desc, const char *base)
{
	json_t *ann = json_object_get(desc, "annotations");
	const char *full = json_string_value(json_object_get(ann, "io.containerd.image.name"));
	if (full && *full)
		return xstrdup(full);
	const char *rn = json_string_value(json_object_get(ann, "org.opencontainers.image.ref.name"));
	if (!rn || !*rn)
		return base ? xstrdup(base) : NULL;
	/* A tag has none of '/', ':' and '@' (skopeo writes "nginx:1" for
	 * oci-archive:FILE:nginx:1). */
	if (strchr(rn, '/') || strchr(rn, '@') || strchr(rn, ':'))
		return xstrdup(rn);
	if (!base)
		return NULL;
	/* A tag alone: base without its own tag, then this one. */
	image_ref r;
	_cleanup_terr_ terr *e = NULL;
	if (image_ref_parse(base, &r, &e) < 0)
		return NULL;
	_cleanup_free_ char *name = image_ref_name(&r);
	image_ref_free(&r);
	return xasprintf("%s:%s", name, rn);
}

static int import_oci(image_store *s, const archive_files *f, const char *base,
                      image_info **res, size_t *nres, terr **err)
{
	size_t n;
	_cleanup_free_ char *text = read_json_file(s, f, "index.json", &n, err);
	if (!text)
		return -1;
	json_error_t jerr;
	_cleanup_json_ json_t *root = json_loadb(text, n, 0, &jerr);
	json_t *manifests = json_object_get(root, "manifests");
	if (!json_is_array(manifests))
		return terr_bad_request(err, "index.json: no manifests array");
	size_t i;
	json_t *e;
	json_array_foreach(manifests, i, e) {
		image_desc top = {0};
		top.digest = (char *)json_string_value(json_object_get(e, "digest"));
		if (!image_digest_valid(top.digest))
			return terr_bad_request(err, "index.json: manifests[%zu] has no valid digest",
			                        i);
		size_t mn;
		_cleanup_free_ char *mtext = image_store_read_blob(s, top.digest, IMAGE_MANIFEST_MAX,
		                                                   &mn, err);
		if (!mtext)
			return terr_wrap(err, "index.json: manifests[%zu]", i);
		const char *mt = json_string_value(json_object_get(e, "mediaType"));
		image_manifest m, child = {0};
		if (image_manifest_parse(mtext, mn, mt, &m, err) < 0)
			return -1;
		const char *mdigest = top.digest;
		size_t msize = mn;
		_cleanup_free_ char *ctext = NULL;
		if (m.is_index) {
			int k = image_manifest_pick(&m, NULL, NULL, NULL, err);
			size_t cn;
			if (k < 0 || !(ctext = image_store_read_blob(s, m.manifests[k].digest,
			                                              IMAGE_MANIFEST_MAX, &cn, err)) ||
			    image_manifest_parse(ctext, cn, m.manifests[k].media_type, &child, err) < 0) {
				image_manifest_free(&m);
				return -1;
			}
			mdigest = m.manifests[k].digest;
			msize += cn;
		}
		image_info img;
		int rc = image_assemble(s, NULL, m.is_index ? &child : &m, mdigest, msize, &img, err);
		image_manifest_free(&child);
		image_manifest_free(&m);
		if (rc < 0)
			return terr_wrap(err, "index.json: manifests[%zu]", i);
		free(img.digest);
		img.digest = xstrdup(top.digest);
		_cleanup_free_ char *name = oci_name(e, base);
		if (name)
			add_name(&img, name);
		push_result(res, nres, &img);
	}
	return 0;
}

int image_import(image_store *s, const char *path, const char *base_name, image_info **out,
                 size_t *n, terr **err)
{
	archive_files files = {0};
	image_info *res = NULL;
	size_t nres = 0;
	int rc = -1;
	int gfd = image_store_lock(s, IMAGE_LOCK_GC, false, false, err);
	if (gfd < 0)
		goto out;
	if (read_archive(s, path, &files, err) < 0)
		goto out;
	if (files_get(&files, "index.json") && files_get(&files, "oci-layout"))
		rc = import_oci(s, &files, base_name, &res, &nres, err);
	else if (files_get(&files, "manifest.json"))
		rc = import_docker(s, &files, &res, &nres, err);
	else
		rc = terr_bad_request(err, "%s is neither a docker save archive (manifest.json) nor "
		                           "an OCI image layout (oci-layout, index.json)",
		                      path);
	for (size_t i = 0; rc == 0 && i < nres; i++)
		rc = image_store_add(s, &res[i], err);
out:
	image_store_unlock(gfd);
	files_free(&files);
	if (rc < 0) {
		terr_wrap(err, "importing %s", path);
		image_infos_free(res, nres);
		return -1;
	}
	if (out) {
		*out = res;
		*n = nres;
	} else {
		image_infos_free(res, nres);
	}
	return 0;
}
