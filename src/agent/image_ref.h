/* image_ref.h — image references as Docker and Kubernetes write them: `nginx`,
 * `ghcr.io/x/y:tag`, `host:5000/a/b@sha256:...`, normalized to their full form
 * (`docker.io/library/nginx:latest`). Also digest strings (`sha256:<64 hex>`).
 * Not for: resolving a reference to a registry endpoint (image_registry.h). */
#ifndef TIMON_AGENT_IMAGE_REF_H
#define TIMON_AGENT_IMAGE_REF_H

#include <stdbool.h>

#include "base/error.h"

#define IMAGE_DEFAULT_DOMAIN "docker.io"
#define IMAGE_DEFAULT_TAG    "latest"
#define IMAGE_REF_MAX        4096 /* whole reference string */
#define IMAGE_NAME_MAX       255  /* domain + path, as the distribution spec bounds it */

typedef struct image_ref {
	char *domain; /* "docker.io", "ghcr.io", "127.0.0.1:5000", "[::1]:5000" */
	char *path;   /* repository path: "library/nginx", "x/y" */
	char *tag;    /* "latest"; NULL when only a digest was given */
	char *digest; /* "sha256:<hex>" or NULL */
} image_ref;

/* Parses s into *out (the caller frees with image_ref_free) with Docker's normalization:
 * no domain -> docker.io, one path component on docker.io -> library/, no tag and no
 * digest -> :latest, index.docker.io -> docker.io. 0, or -1 with a 400 InvalidImageName
 * error naming the problem. */
int image_ref_parse(const char *s, image_ref *out, terr **err);
void image_ref_free(image_ref *r);
/* "domain/path" (new string). */
char *image_ref_name(const image_ref *r);
/* The full reference: "domain/path:tag", "domain/path@digest" or
 * "domain/path:tag@digest" (new string). */
char *image_ref_string(const image_ref *r);
/* The tag reference "domain/path:tag", or NULL when r has no tag (new string). */
char *image_ref_tagged(const image_ref *r);
/* What a pull asks the registry for: the digest when there is one, else the tag
 * (borrowed from r). */
const char *image_ref_reference(const image_ref *r);

/* True when d is "sha256:" followed by 64 lowercase hex digits (the only algorithm
 * timon stores). */
bool image_digest_valid(const char *d);
/* True when the domain names this host: localhost, 127.0.0.0/8 or ::1, with any port. */
bool image_domain_is_loopback(const char *domain);

#endif
