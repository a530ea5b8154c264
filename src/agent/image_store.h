/* image_store.h — the node's image store: a content-addressed blob store
 * (<root>/blobs/sha256/<hex>), layers unpacked once (<root>/layers/<diffid hex>/, in
 * overlayfs form: whiteouts as 0/0 character devices, opaque directories by xattr), and an
 * index of images persisted as JSON (<root>/index.json).
 *
 * Every call is synchronous and may block on disk; none keeps global state. Calls on one
 * store from several threads or processes are safe: the index is changed under an
 * exclusive flock of <root>/index.lock, and pulls/imports hold <root>/gc.lock shared while
 * garbage collection holds it exclusively. Not for: talking to registries (image_pull.h)
 * or mounting the layers (the runtime does that with the list image_rootfs_layers gives). */
#ifndef TIMON_AGENT_IMAGE_STORE_H
#define TIMON_AGENT_IMAGE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#define IMAGE_STORE_DEFAULT_ROOT "/var/lib/timon/agent/images"

typedef struct image_store image_store;

typedef struct image_layer {
	char *digest;     /* blob digest (compressed as stored) */
	char *diff_id;    /* digest of the uncompressed tar: names the unpacked directory */
	char *media_type;
	int64_t size;     /* blob size in bytes */
} image_layer;

/* One image of the index, keyed by its platform manifest. */
typedef struct image_info {
	char *id;       /* the config digest: the image ID that `ls` and CRI show */
	char *digest;   /* what the registry named: the index digest of a multi-arch image,
	                 * else the manifest digest */
	char *manifest; /* the platform manifest's digest */
	char *media_type; /* of that manifest */
	int64_t size;   /* manifest + config + layer blobs, as stored (compressed) */
	int64_t pulled; /* when it was last pulled or imported, ns since the epoch */
	char **names;   /* tags: "docker.io/library/nginx:latest" */
	size_t n_names;
	char **repo_digests; /* "docker.io/library/nginx@sha256:..." */
	size_t n_repo_digests;
	image_layer *layers; /* base layer first */
	size_t n_layers;
} image_info;

/* What a container gets from the image's config (OCI image config "config" section). Arrays
 * are NULL-terminated and NULL when the image does not set them. */
typedef struct image_config {
	char **entrypoint;
	char **cmd;
	char **env;           /* "KEY=value" */
	char *working_dir;
	char *user;
	char **exposed_ports; /* "80/tcp" */
	char *stop_signal;
	char *os, *architecture, *variant;
	char **diff_ids;      /* rootfs.diff_ids, base layer first */
} image_config;

/* Opens (creating its folders) the store at root; the caller closes it. NULL with a 500
 * error when root cannot be created. */
image_store *image_store_open(const char *root, terr **err);
void image_store_close(image_store *s);
/* The store's root folder (borrowed). */
const char *image_store_root(const image_store *s);

/* Path of the blob with this digest, whether or not it exists (new string). */
char *image_store_blob_path(const image_store *s, const char *digest);
/* Path of the unpacked layer with this diff ID, whether or not it exists (new string). */
char *image_store_layer_path(const image_store *s, const char *diff_id);
bool image_store_has_blob(const image_store *s, const char *digest);
bool image_store_has_layer(const image_store *s, const char *diff_id);
/* Reads a whole blob of at most max bytes, checking it against its digest. The caller
 * frees the NUL-terminated result; *n gets its length. NULL with 404 when absent, 500
 * "digest mismatch" when the bytes on disk do not hash to digest. */
char *image_store_read_blob(const image_store *s, const char *digest, size_t max, size_t *n,
                            terr **err);

/* Writing a blob: bytes go to a temporary file and are hashed; commit checks them against
 * the expected digest (and size when >= 0) and renames them into place atomically. */
typedef struct image_blob_writer image_blob_writer;
image_blob_writer *image_blob_begin(image_store *s, terr **err);
int image_blob_write(image_blob_writer *w, const void *data, size_t n, terr **err);
/* Bytes written so far. */
uint64_t image_blob_written(const image_blob_writer *w);
/* Commits and frees w. expected may be NULL (the blob is stored under its own digest);
 * *digest_out (when not NULL) gets the digest (the caller frees). On a mismatch nothing is
 * stored and the error says "digest mismatch: got sha256:..." (code 502). */
int image_blob_commit(image_blob_writer *w, const char *expected, int64_t expected_size,
                      char **digest_out, terr **err);
/* Discards and frees w (NULL is fine). */
void image_blob_abort(image_blob_writer *w);

/* Unpacks the blob `digest` into layers/<diff_id hex> unless that exists, checking that
 * the uncompressed tar hashes to diff_id. 0, or -1 (500 "diff ID mismatch" when it does
 * not). */
int image_store_unpack(image_store *s, const char *digest, const char *diff_id, terr **err);

/* Records img in the index: an entry with the same manifest is merged (names and repo
 * digests added, layers replaced); img's names are taken from any other entry (a tag
 * points at one image). */
int image_store_add(image_store *s, const image_info *img, terr **err);
/* Every image of the index; the caller frees with image_infos_free. */
int image_store_list(image_store *s, image_info **out, size_t *n, terr **err);
/* Finds an image by reference ("busybox", "host/x:1", "x@sha256:...") or by ID (the
 * config digest, "sha256:<hex>", or a prefix of its hex of at least 4 digits). *out is
 * the caller's (image_info_free). 404 NotFound when there is none. */
int image_store_find(image_store *s, const char *ref_or_id, image_info *out, terr **err);
/* Removes a name: a tag is taken off its image, and the image leaves the index when no tag
 * is left; a digest reference or an ID removes the whole image. Blobs and layers stay until
 * image_store_gc. 404 when nothing matches. */
int image_store_remove(image_store *s, const char *ref_or_id, terr **err);

typedef struct image_gc_stats {
	size_t blobs_removed, layers_removed, tmp_removed;
	uint64_t bytes_removed; /* blob bytes */
} image_gc_stats;
/* Removes blobs and unpacked layers that no indexed image references, and leftovers of
 * interrupted pulls. Waits for running pulls and imports unless nowait, when it returns
 * 1 without doing anything if one is running. 0 when done; stats may be NULL. */
int image_store_gc(image_store *s, bool nowait, image_gc_stats *stats, terr **err);

/* The overlayfs lowerdir list for img: the unpacked layer folders, TOPMOST FIRST (the
 * order lowerdir= takes). *dirs is a NULL-terminated array the caller frees with
 * image_strv_free. 404 when a layer is not unpacked. */
int image_rootfs_layers(const image_store *s, const image_info *img, char ***dirs, size_t *n,
                        terr **err);
/* Reads and parses img's config blob into *out (the caller frees with image_config_free). */
int image_store_config(const image_store *s, const image_info *img, image_config *out,
                       terr **err);

void image_info_free(image_info *img);
void image_infos_free(image_info *imgs, size_t n);
void image_config_free(image_config *c);
void image_strv_free(char **v);
/* The "SIZE" column: "1.2MB" (decimal units, like docker and crictl); out holds 16 bytes. */
void image_size_human(int64_t bytes, char out[16]);

#endif
