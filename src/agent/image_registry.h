/* image_registry.h — where and how to reach a registry: registries.yaml in the k3s format
 * (mirrors with endpoints, per-host auth and TLS settings), the endpoints a pull tries in
 * order, and the credentials of pull secrets (.dockerconfigjson). Everything here is
 * immutable once loaded, so one loaded config serves every pulling thread.
 * Not for: HTTP (image_client.c) or the pull itself (image_pull.h). */
#ifndef TIMON_AGENT_IMAGE_REGISTRY_H
#define TIMON_AGENT_IMAGE_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"

#define IMAGE_REGISTRIES_DEFAULT_PATH "/etc/timon/registries.yaml"

/* Credentials for one registry. */
typedef struct image_auth {
	char *username, *password;
	char *identity_token; /* OAuth2 refresh token for the token service */
	char *registry_token; /* a bearer token sent as is */
} image_auth;

typedef struct image_tls {
	bool insecure_skip_verify;
	char *ca_file, *cert_file, *key_file;
} image_tls;

/* configs.<host> of registries.yaml. */
typedef struct image_host_config {
	char *host;
	bool has_auth, has_tls;
	image_auth auth;
	image_tls tls;
} image_host_config;

/* mirrors.<registry> of registries.yaml ("*" matches every registry). */
typedef struct image_mirror {
	char *registry;
	char **endpoints;
	size_t n_endpoints;
} image_mirror;

typedef struct image_registries {
	image_mirror *mirrors;
	size_t n_mirrors;
	image_host_config *configs;
	size_t n_configs;
} image_registries;

/* Reads registries.yaml at path (NULL: the default path). A missing file is an empty
 * configuration. The caller frees with image_registries_free. NULL with 400 on a file that
 * is not valid YAML of the expected shape. */
image_registries *image_registries_load(const char *path, terr **err);
/* The same from the YAML (or JSON) text data[0..n). */
image_registries *image_registries_parse(const char *data, size_t n, terr **err);
void image_registries_free(image_registries *r);
/* The configs entry for host ("host:port"), or NULL (borrowed). */
const image_host_config *image_registries_host(const image_registries *r, const char *host);

/* An endpoint to try: the API root URL ("https://mirror:5000/v2") and its settings. */
typedef struct image_endpoint {
	char *url;    /* without a trailing slash */
	char *host;   /* "host:port" as in the URL, for configs lookups and messages */
	bool mirror;  /* false for the registry's own endpoint */
	image_tls tls; /* copied from configs.<host>.tls (strings borrowed from r) */
	const image_auth *auth; /* configs.<host>.auth, or NULL (borrowed from r) */
} image_endpoint;

/* The endpoints for a registry domain, in the order a pull tries them: the mirrors'
 * endpoints, then the registry itself (docker.io is reached at registry-1.docker.io;
 * loopback registries without a TLS config over plain HTTP). r may be NULL. The caller
 * frees with image_endpoints_free. */
int image_registries_endpoints(const image_registries *r, const char *domain,
                               image_endpoint **out, size_t *n, terr **err);
void image_endpoints_free(image_endpoint *eps, size_t n);

/* Credentials from pull secrets, matched to images as kubelet matches them. */
typedef struct image_keyring image_keyring;
image_keyring *image_keyring_new(void);
void image_keyring_free(image_keyring *k);
/* Adds the entries of one .dockerconfigjson ({"auths": {...}}) or legacy .dockercfg (the
 * map alone) document. 400 on malformed input. */
int image_keyring_add(image_keyring *k, const char *json, size_t n, terr **err);
/* The best credentials for the repository domain/path, or NULL (borrowed from k): keys are
 * "host[:port][/path]" with optional scheme, "*." globs in host parts, and the longest
 * matching key wins; index.docker.io keys serve docker.io. */
const image_auth *image_keyring_lookup(const image_keyring *k, const char *domain,
                                       const char *path);

#endif
