/* image-internal.h — what the image_*.c files share and nothing else uses: media types,
 * sha256 hashing, manifest and config parsing, the store's locks, and the registry HTTP
 * client. Unit tests include it to reach the parsers. */
#ifndef TIMON_AGENT_IMAGE_INTERNAL_H
#define TIMON_AGENT_IMAGE_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/image_registry.h"
#include "agent/image_store.h"
#include "base/buf.h"
#include "base/error.h"

/* Media types (OCI image spec and Docker image manifest v2 schema 2). */
#define MT_OCI_MANIFEST    "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_INDEX       "application/vnd.oci.image.index.v1+json"
#define MT_OCI_CONFIG      "application/vnd.oci.image.config.v1+json"
#define MT_OCI_LAYER       "application/vnd.oci.image.layer.v1.tar"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_LIST     "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_CONFIG   "application/vnd.docker.container.image.v1+json"
#define MT_DOCKER_LAYER    "application/vnd.docker.image.rootfs.diff.tar"
#define MT_DOCKER_V1       "application/vnd.docker.distribution.manifest.v1"

#define IMAGE_MANIFEST_MAX (4u << 20) /* the distribution spec's suggested manifest limit */
#define IMAGE_CONFIG_MAX   (8u << 20)

/* sha256 over a stream. */
typedef struct image_sha256 image_sha256;
image_sha256 *image_sha256_new(void);
void image_sha256_update(image_sha256 *h, const void *p, size_t n);
/* "sha256:<hex>" (new string); frees h. */
char *image_sha256_finish(image_sha256 *h);
void image_sha256_free(image_sha256 *h);
/* "sha256:<hex>" of p[0..n) (new string). */
char *image_sha256_digest(const void *p, size_t n);

/* Standard base64 (RFC 4648 with padding). Both return new strings; decode returns NULL
 * on invalid input and sets *n to the decoded length. */
char *image_base64_encode(const void *p, size_t n);
char *image_base64_decode(const char *s, size_t *n);

/* A content descriptor, with the platform of an index entry. */
typedef struct image_desc {
	char *media_type;
	char *digest;
	int64_t size;
	char *os, *arch, *variant; /* index entries only; NULL elsewhere */
} image_desc;

typedef struct image_manifest {
	char *media_type;
	bool is_index;
	image_desc config;    /* image manifests */
	image_desc *layers;   /* image manifests */
	size_t n_layers;
	image_desc *manifests; /* indexes */
	size_t n_manifests;
} image_manifest;

/* Parses a manifest or index. content_type (the HTTP header; may be NULL) is used when
 * the document has no mediaType. 400 on bad JSON, unsupported types (Docker schema 1)
 * or invalid descriptors. */
int image_manifest_parse(const char *body, size_t n, const char *content_type,
                         image_manifest *out, terr **err);
void image_manifest_free(image_manifest *m);
/* Index of the entry of idx for the platform (NULLs mean this host's), or -1 with a 404
 * "no matching manifest for linux/arm64 in the manifest list entries". */
int image_manifest_pick(const image_manifest *idx, const char *os, const char *arch,
                        const char *variant, terr **err);
/* This host's platform in OCI terms: "linux", "amd64", variant or NULL. Static strings. */
void image_host_platform(const char **os, const char **arch, const char **variant);
/* Parses an image config blob. */
int image_config_parse(const char *body, size_t n, image_config *out, terr **err);
/* The manifest timon writes for an image that came without one (docker save archives):
 * Docker schema 2 with the given config and uncompressed layers (new string). */
char *image_manifest_synthesize(const char *config_digest, int64_t config_size,
                                char *const *layer_digests, const int64_t *layer_sizes,
                                size_t n);

/* Store internals. */
typedef enum { IMAGE_LOCK_INDEX, IMAGE_LOCK_GC } image_lock_kind;
/* Takes an flock on the store's lock file (shared or exclusive; nowait returns -2 when
 * busy). Returns the fd to pass to image_store_unlock, or -1 with err. */
int image_store_lock(const image_store *s, image_lock_kind kind, bool exclusive, bool nowait,
                     terr **err);
void image_store_unlock(int fd);
/* A fresh folder under <root>/tmp (new string). */
char *image_store_tmpdir(const image_store *s, terr **err);
/* Removes path and everything below it, never following symlinks. 0 or -1 (errno). */
int image_rm_rf(const char *path);

/* Unpacking (image_unpack.c). */
typedef enum {
	IMAGE_UNPACK_OVERLAY, /* a fresh folder for one layer: whiteouts become overlayfs
	                       * whiteouts (0/0 char devices, trusted.overlay.opaque=y) */
	IMAGE_UNPACK_APPLY,   /* onto a folder holding the lower layers: whiteouts delete */
} image_unpack_mode;
/* Extracts the (possibly compressed) layer tar at blob_path into dest, which must exist.
 * Entries may not escape dest (no "..", no absolute paths, no writes through symlinks).
 * When diff_id_out is not NULL it gets the digest of the uncompressed tar (new string).
 * Owners are kept when running as root. */
int image_unpack_layer(const char *blob_path, const char *dest, image_unpack_mode mode,
                       char **diff_id_out, terr **err);

/* The registry HTTP client (image_client.c): one per pull and thread, bound to one
 * endpoint and repository, doing the auth challenges (Bearer token, Basic) itself. */
typedef struct image_client image_client;
/* auth may be NULL (anonymous). Borrows ep and auth for its life. */
image_client *image_client_new(const image_endpoint *ep, const char *repo,
                               const image_auth *auth);
void image_client_free(image_client *c);
/* GET <ep>/<repo>/manifests/<reference> into *body (at most IMAGE_MANIFEST_MAX bytes);
 * *content_type gets the header (new string, may be NULL). Errors carry the registry's
 * answer: code = its HTTP status (502 when none came), message = its error messages. */
int image_client_get_manifest(image_client *c, const char *reference, buf *body,
                              char **content_type, terr **err);
/* GET <ep>/<repo>/blobs/<digest> into w (not committed here), at most max bytes. */
int image_client_get_blob(image_client *c, const char *digest, int64_t max,
                          image_blob_writer *w, terr **err);

/* From a stored image manifest to an indexed image (image_pull.c): reads the config,
 * fetches missing blobs through c (NULL: every blob must be stored already), unpacks the
 * layers and fills *out (no names; digest = manifest digest; image_info_free). */
int image_assemble(image_store *s, image_client *c, const image_manifest *m,
                   const char *manifest_digest, size_t manifest_size, image_info *out,
                   terr **err);

/* One WWW-Authenticate challenge: scheme "Bearer" or "Basic" and its parameters. */
typedef struct image_challenge {
	char *scheme;
	char *realm, *service, *scope;
} image_challenge;
/* Parses the first challenge of a WWW-Authenticate header value. 0 or -1 when it is not
 * one. */
int image_challenge_parse(const char *header, image_challenge *out);
void image_challenge_free(image_challenge *c);
/* The message of a registry's error body ({"errors":[{"code","message"}]}), or NULL
 * (new string). */
char *image_registry_error_message(const char *body, size_t n);

#endif
