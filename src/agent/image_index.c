/* image_index.c — the index of images (<root>/index.json): which names and repo digests
 * point at which manifest, config and layers. Every change is a locked read-modify-write
 * that replaces the file atomically, so a crash leaves the old or the new index.
 * Not for: blobs and layers themselves (image_store.c). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/image-internal.h"
#include "agent/image_ref.h"
#include "base/json.h"
#include "base/util.h"

#define INDEX_MAX (64u << 20)

/* ---- JSON <-> image_info ---- */

static char **strv_dup_json(json_t *arr, size_t *n)
{
	*n = 0;
	char **v = xcalloc(json_array_size(arr) + 1, sizeof *v);
	size_t i;
	json_t *e;
	json_array_foreach(arr, i, e) {
		if (json_is_string(e))
			v[(*n)++] = xstrdup(json_string_value(e));
	}
	return v;
}

static json_t *strv_to_json(char *const *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static void info_from_json(json_t *j, image_info *img)
{
	memset(img, 0, sizeof *img);
	img->id = xstrdup(json_string_value(json_object_get(j, "id")));
	img->digest = xstrdup(json_string_value(json_object_get(j, "digest")));
	img->manifest = xstrdup(json_string_value(json_object_get(j, "manifest")));
	img->media_type = xstrdup(json_string_value(json_object_get(j, "mediaType")));
	img->size = json_integer_value(json_object_get(j, "size"));
	img->pulled = json_integer_value(json_object_get(j, "pulledNs"));
	img->names = strv_dup_json(json_object_get(j, "names"), &img->n_names);
	img->repo_digests = strv_dup_json(json_object_get(j, "repoDigests"), &img->n_repo_digests);
	json_t *layers = json_object_get(j, "layers");
	img->layers = xcalloc(json_array_size(layers) + 1, sizeof *img->layers);
	size_t i;
	json_t *l;
	json_array_foreach(layers, i, l) {
		image_layer *L = &img->layers[img->n_layers++];
		L->digest = xstrdup(json_string_value(json_object_get(l, "digest")));
		L->diff_id = xstrdup(json_string_value(json_object_get(l, "diffID")));
		L->media_type = xstrdup(json_string_value(json_object_get(l, "mediaType")));
		L->size = json_integer_value(json_object_get(l, "size"));
	}
}

static json_t *info_to_json(const image_info *img)
{
	json_t *layers = json_array();
	for (size_t i = 0; i < img->n_layers; i++) {
		const image_layer *L = &img->layers[i];
		json_array_append_new(layers, json_pack("{s:s?, s:s?, s:s?, s:I}", "digest",
		                                        L->digest, "diffID", L->diff_id,
		                                        "mediaType", L->media_type, "size",
		                                        (json_int_t)L->size));
	}
	return json_pack("{s:s?, s:s?, s:s?, s:s?, s:I, s:I, s:o, s:o, s:o}", "id", img->id,
	                 "digest", img->digest, "manifest", img->manifest, "mediaType",
	                 img->media_type, "size", (json_int_t)img->size, "pulledNs",
	                 (json_int_t)img->pulled, "names", strv_to_json(img->names, img->n_names),
	                 "repoDigests", strv_to_json(img->repo_digests, img->n_repo_digests),
	                 "layers", layers);
}

void image_info_free(image_info *img)
{
	if (!img)
		return;
	free(img->id);
	free(img->digest);
	free(img->manifest);
	free(img->media_type);
	image_strv_free(img->names);
	image_strv_free(img->repo_digests);
	for (size_t i = 0; i < img->n_layers; i++) {
		free(img->layers[i].digest);
		free(img->layers[i].diff_id);
		free(img->layers[i].media_type);
	}
	free(img->layers);
	memset(img, 0, sizeof *img);
}

void image_infos_free(image_info *imgs, size_t n)
{
	for (size_t i = 0; imgs && i < n; i++)
		image_info_free(&imgs[i]);
	free(imgs);
}

/* ---- the file ---- */

static json_t *index_load(const image_store *s, terr **err)
{
	_cleanup_free_ char *path = xasprintf("%s/index.json", image_store_root(s));
	json_error_t jerr;
	json_t *root = json_load_file(path, 0, &jerr);
	if (!root) {
		if (access(path, F_OK) < 0 && errno == ENOENT)
			return json_pack("{s:i, s:[]}", "version", 1, "images");
		terr_internal(err, "image index %s: %s", path, jerr.text);
		return NULL;
	}
	if (!json_is_array(json_object_get(root, "images"))) {
		json_decref(root);
		terr_internal(err, "image index %s: no images array", path);
		return NULL;
	}
	return root;
}

static int index_save(const image_store *s, json_t *root, terr **err)
{
	_cleanup_free_ char *path = xasprintf("%s/index.json", image_store_root(s));
	_cleanup_free_ char *tmp = xasprintf("%s/index.json.tmp", image_store_root(s));
	_cleanup_free_ char *text = json_dumps(root, JSON_INDENT(1));
	_cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return terr_internal(err, "writing %s: %s", tmp, strerror(errno));
	size_t n = strlen(text), off = 0;
	while (off < n) {
		ssize_t w = write(fd, text + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return terr_internal(err, "writing %s: %s", tmp, strerror(errno));
		off += (size_t)w;
	}
	if (fsync(fd) < 0 || rename(tmp, path) < 0)
		return terr_internal(err, "saving %s: %s", path, strerror(errno));
	return 0;
}

/* ---- matching ---- */

static bool json_strs_contain(json_t *arr, const char *s)
{
	size_t i;
	json_t *e;
	json_array_foreach(arr, i, e) {
		if (str_eq(json_string_value(e), s))
			return true;
	}
	return false;
}

static void json_strs_remove(json_t *arr, const char *s)
{
	for (size_t i = json_array_size(arr); i-- > 0;)
		if (str_eq(json_string_value(json_array_get(arr, i)), s))
			json_array_remove(arr, i);
}

static bool is_hex(const char *s)
{
	for (; *s; s++)
		if (!isdigit((unsigned char)*s) && !(*s >= 'a' && *s <= 'f'))
			return false;
	return true;
}

enum match_kind { MATCH_NONE, MATCH_TAG, MATCH_WHOLE };

/* Finds the entry s names. *tag gets the tag reference to remove for MATCH_TAG. Returns
 * the array index or -1; -2 with an error for an ambiguous ID prefix or a bad reference. */
static long index_match(json_t *images, const char *s, enum match_kind *kind, char **tag,
                        terr **err)
{
	size_t i;
	json_t *e;
	*kind = MATCH_NONE;
	*tag = NULL;
	if (image_digest_valid(s)) {
		json_array_foreach(images, i, e) {
			if (str_eq(json_string_value(json_object_get(e, "id")), s) ||
			    str_eq(json_string_value(json_object_get(e, "digest")), s) ||
			    str_eq(json_string_value(json_object_get(e, "manifest")), s)) {
				*kind = MATCH_WHOLE;
				return (long)i;
			}
		}
		return -1;
	}
	image_ref r;
	_cleanup_terr_ terr *perr = NULL;
	if (image_ref_parse(s, &r, &perr) == 0) {
		_cleanup_free_ char *name = image_ref_name(&r);
		_cleanup_free_ char *rd = r.digest ? xasprintf("%s@%s", name, r.digest) : NULL;
		_cleanup_free_ char *tagged = image_ref_tagged(&r);
		image_ref_free(&r);
		json_array_foreach(images, i, e) {
			if (rd && json_strs_contain(json_object_get(e, "repoDigests"), rd)) {
				*kind = MATCH_WHOLE;
				return (long)i;
			}
			if (!rd && tagged && json_strs_contain(json_object_get(e, "names"), tagged)) {
				*kind = MATCH_TAG;
				*tag = tagged;
				tagged = NULL;
				return (long)i;
			}
		}
	}
	/* An ID prefix, as `docker rmi 3f57` takes it. */
	size_t n = strlen(s);
	if (n >= 4 && n <= 64 && is_hex(s)) {
		long found = -1;
		json_array_foreach(images, i, e) {
			const char *id = json_string_value(json_object_get(e, "id"));
			if (id && str_has_prefix(id + 7, s)) {
				if (found >= 0) {
					terr_conflict(err, "image ID prefix %s is ambiguous", s);
					return -2;
				}
				found = (long)i;
			}
		}
		if (found >= 0)
			*kind = MATCH_WHOLE;
		return found;
	}
	if (perr) {
		terr_set(err, perr->code, perr->reason, "%s", perr->message);
		return -2;
	}
	return -1;
}

/* ---- API ---- */

int image_store_add(image_store *s, const image_info *img, terr **err)
{
	int lfd = image_store_lock(s, IMAGE_LOCK_INDEX, true, false, err);
	if (lfd < 0)
		return -1;
	int rc = -1;
	json_t *root = index_load(s, err);
	if (!root)
		goto out;
	json_t *images = json_object_get(root, "images");
	size_t i;
	json_t *e;
	/* A tag names one image: take img's tags off every other entry. */
	json_array_foreach(images, i, e) {
		if (str_eq(json_string_value(json_object_get(e, "manifest")), img->manifest))
			continue;
		for (size_t k = 0; k < img->n_names; k++)
			json_strs_remove(json_object_get(e, "names"), img->names[k]);
	}
	json_t *entry = NULL;
	json_array_foreach(images, i, e) {
		if (str_eq(json_string_value(json_object_get(e, "manifest")), img->manifest))
			entry = e;
	}
	json_t *fresh = info_to_json(img);
	if (entry) {
		json_t *names = json_object_get(entry, "names");
		json_t *rds = json_object_get(entry, "repoDigests");
		for (size_t k = 0; k < img->n_names; k++)
			if (!json_strs_contain(names, img->names[k]))
				json_array_append_new(names, json_string(img->names[k]));
		for (size_t k = 0; k < img->n_repo_digests; k++)
			if (!json_strs_contain(rds, img->repo_digests[k]))
				json_array_append_new(rds, json_string(img->repo_digests[k]));
		json_object_set(fresh, "names", names);
		json_object_set(fresh, "repoDigests", rds);
		json_object_update(entry, fresh);
		json_decref(fresh);
	} else {
		json_array_append_new(images, fresh);
	}
	rc = index_save(s, root, err);
out:
	json_decref(root);
	image_store_unlock(lfd);
	return rc;
}

int image_store_list(image_store *s, image_info **out, size_t *n, terr **err)
{
	int lfd = image_store_lock(s, IMAGE_LOCK_INDEX, false, false, err);
	if (lfd < 0)
		return -1;
	_cleanup_json_ json_t *root = index_load(s, err);
	image_store_unlock(lfd);
	if (!root)
		return -1;
	json_t *images = json_object_get(root, "images");
	image_info *v = xcalloc(json_array_size(images) + 1, sizeof *v);
	size_t i;
	json_t *e;
	json_array_foreach(images, i, e) {
		info_from_json(e, &v[i]);
	}
	*out = v;
	*n = json_array_size(images);
	return 0;
}

int image_store_find(image_store *s, const char *ref_or_id, image_info *out, terr **err)
{
	memset(out, 0, sizeof *out);
	int lfd = image_store_lock(s, IMAGE_LOCK_INDEX, false, false, err);
	if (lfd < 0)
		return -1;
	_cleanup_json_ json_t *root = index_load(s, err);
	image_store_unlock(lfd);
	if (!root)
		return -1;
	enum match_kind kind;
	_cleanup_free_ char *tag = NULL;
	long i = index_match(json_object_get(root, "images"), ref_or_id, &kind, &tag, err);
	if (i == -2)
		return -1;
	if (i < 0)
		return terr_not_found(err, "image \"%s\" not found", ref_or_id);
	info_from_json(json_array_get(json_object_get(root, "images"), (size_t)i), out);
	return 0;
}

int image_store_remove(image_store *s, const char *ref_or_id, terr **err)
{
	int lfd = image_store_lock(s, IMAGE_LOCK_INDEX, true, false, err);
	if (lfd < 0)
		return -1;
	int rc = -1;
	_cleanup_free_ char *tag = NULL;
	json_t *root = index_load(s, err);
	if (!root)
		goto out;
	json_t *images = json_object_get(root, "images");
	enum match_kind kind;
	long i = index_match(images, ref_or_id, &kind, &tag, err);
	if (i == -2)
		goto out;
	if (i < 0) {
		rc = terr_not_found(err, "image \"%s\" not found", ref_or_id);
		goto out;
	}
	json_t *e = json_array_get(images, (size_t)i);
	if (kind == MATCH_TAG) {
		json_strs_remove(json_object_get(e, "names"), tag);
		if (json_array_size(json_object_get(e, "names")) == 0)
			json_array_remove(images, (size_t)i);
	} else {
		json_array_remove(images, (size_t)i);
	}
	rc = index_save(s, root, err);
out:
	json_decref(root);
	image_store_unlock(lfd);
	return rc;
}
