/* volume.h — what a pod's containers see: its volumes materialised on the host, the bind
 * mounts of each container, and each container's environment resolved to plain values.
 *
 * The split follows the agent's threads. On the LOOP thread the agent asks agent_pod_refs
 * which API objects the pod needs, reads them from the watch cache and builds the inputs
 * object below. On a WORKER thread it calls agent_volumes_setup (filesystem work: folders,
 * tmpfs mounts, file writes), then per container agent_container_mounts and
 * agent_container_env, and at the end agent_volumes_teardown. Nothing here talks to the
 * API server or keeps state in memory: the volumes live in their folders, so a restarted
 * agent finds them again.
 *
 * The inputs object (built by the agent from the refs; every member optional, a ref that
 * is missing is simply absent):
 *   {"configmaps":             {name: ConfigMap},
 *    "secrets":                {name: Secret},
 *    "persistentvolumeclaims": {name: PersistentVolumeClaim},
 *    "persistentvolumes":      {pv name: PersistentVolume (the claims' spec.volumeName)},
 *    "node":                   Node (the pod's node: allocatable for resourceFieldRef),
 *    "serviceaccounttokens":   {"<audience>|<expirationSeconds>": token} (the loop's
 *                              TokenRequest answers for projected serviceAccountToken
 *                              sources, agent_token.c)}
 * All objects in the pod's namespace. The pod passed to setup and env should carry its
 * status.podIP(s) and hostIP(s) when they are known (downward API reads them there).
 *
 * Layout (the kubelet's): <pods_dir>/<uid>/volumes/<plugin>/<volume name>, plugin one of
 * kubernetes.io~empty-dir, ~configmap, ~secret, ~projected, ~downward-api; hostPath and
 * persistentVolumeClaim volumes are used in place (no folder). configMap, secret,
 * projected and downwardAPI folders are written like kubelet's atomic writer: the files
 * live in a "..<timestamp>" folder, "..data" links to it and each visible name links
 * through "..data", so a refresh swaps one symlink. Secret and projected volumes sit on a
 * tmpfs (k8s: never on disk), emptyDir with medium Memory too (size from sizeLimit).
 *
 * Not for: /etc/hosts, resolv.conf, the termination log (the agent's own mounts), block
 * volumes, CSI or network file systems, fsGroup ownership changes. See docs/volumes.md. */
#ifndef TIMON_AGENT_VOLUME_H
#define TIMON_AGENT_VOLUME_H

#include <jansson.h>
#include <stddef.h>

#include "agent/runtime.h"
#include "base/error.h"

#define VOLUME_PLUGIN_EMPTY_DIR "kubernetes.io~empty-dir"
#define VOLUME_PLUGIN_CONFIGMAP "kubernetes.io~configmap"
#define VOLUME_PLUGIN_SECRET    "kubernetes.io~secret"
#define VOLUME_PLUGIN_PROJECTED "kubernetes.io~projected"
#define VOLUME_PLUGIN_DOWNWARD  "kubernetes.io~downward-api"

/* Which API objects the pod's volumes and env need: a new JSON array of
 * {"resource": "configmaps"|"secrets"|"persistentvolumeclaims", "name": ..., "optional":
 * bool}, one per (resource, name) (optional only when every use is optional), from
 * volumes (configMap, secret, projected sources, persistentVolumeClaim) and the env and
 * envFrom of every container, init container and ephemeral container. Pure. A claim's
 * PersistentVolume (its spec.volumeName) is for the agent to add as a second step. */
json_t *agent_pod_refs(json_t *pod);

/* Worker thread: creates every volume of pod (borrowed) under <pods_dir>/<uid>/volumes,
 * idempotently: a second call refreshes configMap, secret, projected and downwardAPI
 * contents atomically (only when they changed) and leaves emptyDir contents alone. *paths
 * gets a new object {volume name: host path}. Errors: a missing non-optional configMap or
 * secret, or a key missing from one, 404 FailedMount ('MountVolume.SetUp failed for
 * volume "v" : configmap "x" not found'); an unbound or missing claim, a hostPath of the
 * wrong type, 400 FailedMount; 500 FailedMount when the filesystem fails. The caller
 * turns the error into an event and retries later. */
int agent_volumes_setup(const char *pods_dir, json_t *pod, json_t *inputs, json_t **paths,
                        terr **err);

/* Worker thread: unmounts the tmpfs and bind mounts under <pods_dir>/<uid> (deepest
 * first) and removes that folder. A missing folder is fine (idempotent); 500 when a
 * mount stays busy. Never follows symlinks out of the folder. */
int agent_volumes_teardown(const char *pods_dir, const char *uid, terr **err);

/* The runtime mounts of container (one entry of the pod's containers, initContainers or
 * ephemeralContainers; borrowed): its volumeMounts in order, mapped through paths (from
 * agent_volumes_setup): readOnly, mountPropagation, subPath and subPathExpr (expanded
 * with the container's env: pass the resolved env of agent_container_env as
 * container["env"], or the literal values are used). A subPath is created (as a folder)
 * when missing. Errors: 400 CreateContainerConfigError for a volume not in paths, an
 * absolute subPath or one with "..", or one whose resolved path escapes the volume
 * (through symlinks). *out: an array the caller frees with agent_mounts_free. */
int agent_container_mounts(json_t *pod, json_t *container, json_t *paths, runtime_mount **out,
                           size_t *n, terr **err);
void agent_mounts_free(runtime_mount *m, size_t n);

/* The environment of container (borrowed) resolved to a new array [{name, value}] in
 * kube's order and precedence: envFrom sources in order (configMapRef / secretRef, each
 * key with prefix; keys that are not valid variable names skipped; a missing optional
 * source skipped), then env in order (a later name replaces an earlier one and moves to
 * its place). Literal values keep their $(VAR) references for the runtime to expand;
 * values from objects and fields are escaped ($ as $$) so the runtime leaves them as they
 * are. valueFrom: configMapKeyRef, secretKeyRef (optional honoured), fieldRef (name,
 * namespace, uid, labels['k'], annotations['k'], labels, annotations, spec.nodeName,
 * spec.serviceAccountName, status.podIP(s), status.hostIP(s)), resourceFieldRef (cpu,
 * memory, ephemeral-storage limits and requests with divisor; an unset limit is the
 * node's allocatable). Errors: 400 CreateContainerConfigError with kube's messages
 * ('configmap "x" not found', "couldn't find key k in ConfigMap ns/x"). */
int agent_container_env(json_t *pod, json_t *container, json_t *inputs, json_t **env, terr **err);

#endif
