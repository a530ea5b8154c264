/* image_pull.h — getting images into the store: pulling from registries (Docker Registry
 * HTTP API v2 / OCI distribution) and importing archives (`docker save` tarballs and OCI
 * image layout tarballs). Both block (network, disk) and belong on worker threads; both
 * are safe to run concurrently, even for the same image.
 * Not for: the store's layout (image_store.h) or registry configuration
 * (image_registry.h). */
#ifndef TIMON_AGENT_IMAGE_PULL_H
#define TIMON_AGENT_IMAGE_PULL_H

#include "agent/image_registry.h"
#include "agent/image_store.h"
#include "base/error.h"

typedef struct image_pull_opts {
	/* Registry configuration: registries when set, else loaded from registries_path
	 * (NULL: /etc/timon/registries.yaml; a missing file means none). */
	const image_registries *registries;
	const char *registries_path;
	/* Pull-secret credentials (may be NULL); they serve the image's own registry. */
	const image_keyring *keyring;
	/* Platform to pick from a multi-arch index; NULL: this host's (linux/<arch>). */
	const char *os, *arch, *variant;
} image_pull_opts;

/* Pulls ref (any form image_ref_parse takes) into s: manifest (an index resolves to the
 * platform's manifest), config and layer blobs verified against their digests, layers
 * unpacked, the image recorded under its tag and repo digest. Endpoints are tried in
 * order (mirrors, then the registry). opts may be NULL. *out (may be NULL) gets the
 * image (image_info_free). On failure the error reads `failed to pull "<ref>": <what the
 * registry said>` with code = the registry's HTTP status (502 when it gave none), reason
 * ErrImagePull (InvalidImageName for a bad reference). */
int image_pull(image_store *s, const char *ref, const image_pull_opts *opts, image_info *out,
               terr **err);

/* Imports every image of a tar archive at path (gzip-compressed or not): `docker save`
 * output (manifest.json with Config, RepoTags, Layers) or an OCI image layout (oci-layout,
 * index.json, blobs/). Images are named by RepoTags, or by the
 * io.containerd.image.name or org.opencontainers.image.ref.name annotations; base_name
 * (may be NULL) names those that carry only a tag or no name. *out and *n (may be NULL) get
 * the imported images (image_infos_free). */
int image_import(image_store *s, const char *path, const char *base_name, image_info **out,
                 size_t *n, terr **err);

#endif
