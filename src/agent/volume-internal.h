/* volume-internal.h — what the volume and env files share: the downward API values (env
 * and downwardAPI volumes read the same fields), lookups in the inputs object, the
 * atomic writer of configMap / secret / projected / downwardAPI folders, and filesystem
 * helpers. */
#ifndef TIMON_AGENT_VOLUME_INTERNAL_H
#define TIMON_AGENT_VOLUME_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "agent/volume.h"
#include "base/error.h"

/* ---- downward API (env.c) ---- */

/* k8s: the value of a fieldRef fieldPath of pod (fieldpath.ExtractFieldPathAsString plus
 * the kubelet's spec and status fields). *out: new string. 400 for an unsupported path. */
int volume_field_value(json_t *pod, const char *path, char **out, terr **err);
/* k8s: the value of a resourceFieldRef (borrowed ref: resource, divisor, containerName)
 * for container (used when ref has no containerName; may be NULL), with unset limits
 * taken from node's allocatable (node may be NULL: this machine's). *out: new string. */
int volume_resource_value(json_t *pod, json_t *container, json_t *node, json_t *ref, char **out,
                          terr **err);
/* The object named name in inputs[member] (borrowed), or NULL. */
json_t *volume_input(json_t *inputs, const char *member, const char *name);
/* The value of key in a Secret's data, decoded (new buffer with a NUL after *n bytes), or
 * NULL when the key is absent or not base64. */
char *volume_secret_value(json_t *secret, const char *key, size_t *n);

/* ---- the atomic writer (volume_atomic.c) ---- */

typedef struct volume_file {
	char *path; /* relative, validated by volume_payload_add */
	char *data;
	size_t len;
	int mode;
} volume_file;

typedef struct volume_payload {
	volume_file *f;
	size_t n;
} volume_payload;

/* Adds a file (data copied). 400 when path is absolute, empty, has a ".." element or
 * starts with "..", or repeats an earlier path. */
int volume_payload_add(volume_payload *p, const char *path, const void *data, size_t len, int mode,
                       terr **err);
void volume_payload_free(volume_payload *p);
/* k8s: AtomicWriter.Write: makes dir hold exactly p, swapping the ..data symlink when the
 * contents or modes differ from what is there (nothing is written when they are equal).
 * 500 on filesystem errors. */
int volume_atomic_write(const char *dir, const volume_payload *p, terr **err);

/* ---- payloads (volume_payload.c) ---- */

/* k8s: the default defaultMode of configMap, secret, downwardAPI and projected volumes. */
#define VOLUME_DEFAULT_MODE 0644

/* Adds the files of a configMap or secret source (a volume's or a projected one's:
 * name / secretName, items, optional) from inputs. 404 for a missing object or key
 * unless optional. */
int volume_payload_object(volume_payload *p, json_t *pod, json_t *inputs, json_t *src, bool secret,
                          int default_mode, terr **err);
/* Adds the files of downwardAPI items (fieldRef, resourceFieldRef). */
int volume_payload_downward(volume_payload *p, json_t *pod, json_t *inputs, json_t *items,
                            int default_mode, terr **err);
/* Adds the files of a projected volume's sources (proj: the volume's "projected"). */
int volume_payload_projected(volume_payload *p, json_t *pod, json_t *inputs, json_t *proj,
                             terr **err);

/* ---- service account tokens (volume_token.c) ---- */

/* The inputs key of a serviceAccountToken source: "<audience>|<expirationSeconds>" (new
 * string). The loop fetches one token per key (agent_token.c). */
char *volume_token_key(json_t *src);
/* Adds the token file of a serviceAccountToken source from inputs; 503 FailedMount when
 * the loop has no token for it yet. */
int volume_payload_token(volume_payload *p, json_t *inputs, json_t *src, int default_mode,
                         terr **err);

/* ---- filesystem helpers (volume_fs.c) ---- */

/* mkdir -p with mode for the folders it creates. 0 or -1 (errno). */
int volume_mkdir_p(const char *path, int mode);
/* Removes path and everything below it without following symlinks or crossing into
 * other mounts. 0 (also when missing) or -1 (errno). */
int volume_remove_tree(const char *path);
/* True when path is a mount point (its device differs from its parent's). */
bool volume_is_mountpoint(const char *path);

#endif
