/* simnode-internal.h — what the simulated-node family shares (simnode.c, simnode_pod.c,
 * simnode_index.c) and what the node lifecycle controller borrows from it: the pods-by-node
 * index, the annotation conventions, duration parsing and the pure pod-status simulation.
 * Not for: the controller machinery (controller.h) or any API writes.
 */
#ifndef TIMON_CONTROLLERS_SIMNODE_INTERNAL_H
#define TIMON_CONTROLLERS_SIMNODE_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/hmap.h"
#include "store/cache.h"

/* ---------- conventions (annotations and environment) ---------- */

#define SIM_ANN_SIMULATED   "timon.dev/simulated"     /* "true": the simulator runs the node */
#define SIM_ANN_PAUSED      "timon.dev/sim-paused"    /* "true": its kubelet is "down" */
#define SIM_ANN_CAPACITY    "timon.dev/capacity"      /* "cpu=64,nvidia.com/gpu=8" or JSON */
#define SIM_ANN_ALLOCATABLE "timon.dev/allocatable"   /* same format */
#define SIM_ANN_DURATION    "timon.dev/sim-duration"  /* pod: containers exit after this */
#define SIM_ANN_EXIT_CODE   "timon.dev/sim-exit-code" /* pod: their exit code (default 0) */
/* Per node: node-monitor-grace-period for the lifecycle controller (also shortens the
 * simulator's lease renewal to a quarter of it). */
#define SIM_ANN_GRACE         "timon.dev/node-monitor-grace-period"
#define SIM_ENV_GRACE         "TIMON_NODE_MONITOR_GRACE_PERIOD"
#define SIM_ENV_STARTUP_GRACE "TIMON_NODE_STARTUP_GRACE_PERIOD"

/* k8s: kube-controller-manager 1.32 defaults: --node-monitor-grace-period 50s (raised from
 * 40s in 1.32), --node-startup-grace-period 1m. */
#define SIM_DEFAULT_GRACE_MS         50000
#define SIM_DEFAULT_STARTUP_GRACE_MS 60000

/* Parses a Go-style duration ("500ms", "5s", "1m30s", "2h"; a bare number is seconds) into
 * milliseconds; -1 when malformed or negative. */
int64_t sim_parse_duration_ms(const char *s);
/* The annotation value of obj (borrowed) or NULL. */
const char *sim_annotation(json_t *obj, const char *key);
/* True when annotation key of obj is "true". */
bool sim_annotation_true(json_t *obj, const char *key);
/* node-monitor-grace-period for node: its annotation, else the environment, else 50 s. */
int64_t sim_grace_ms(json_t *node);
/* node-startup-grace-period: the node's annotation, else the environment, else 60 s. */
int64_t sim_startup_grace_ms(json_t *node);

/* ---------- pods by node ---------- */

/* An index of pod keys ("ns/name") by spec.nodeName, kept by a controller from its pod
 * events. Keys are owned by the index. */
typedef struct sim_pod_index {
	hmap pods;  /* pod key -> struct sim_pod_ref */
	hmap nodes; /* node name -> struct sim_node_pods */
} sim_pod_index;

/* Records that pod key is on node (NULL or "": on none / deleted). */
void sim_index_set(sim_pod_index *ix, const char *key, const char *node);
/* The pod keys on node (borrowed, valid until the next sim_index_set); returns the count. */
size_t sim_index_pods(const sim_pod_index *ix, const char *node, const char *const **keys);
/* The node of pod key, or NULL (borrowed). */
const char *sim_index_node_of(const sim_pod_index *ix, const char *key);
/* Copies the pod keys on node (caller frees each and the array); returns the count. */
size_t sim_index_copy(const sim_pod_index *ix, const char *node, char ***keys);
void sim_index_free(sim_pod_index *ix);
/* Reads "namespace/name" into key and spec.nodeName ("" when unset) into node from a
 * serialized pod, without building a tree; false when it cannot (then parse it). */
bool sim_scan_pod(const char *data, size_t len, char *key, size_t keysz, char *node, size_t nodesz);
/* The key and node of a pod event's object: scanned, else parsed; false when it has none. */
bool sim_pod_event_ref(const cache_event *ev, char key[320], char node[256]);

/* ---------- pod status simulation (pure) ---------- */

typedef struct sim_pod_input {
	json_t *pod;         /* the pod as stored (borrowed) */
	const char *host_ip; /* the node's InternalIP */
	const char *pod_ip;  /* the address given to the pod (host_ip for hostNetwork) */
	int64_t start_ns;    /* when the kubelet "started" it (status.startTime) */
	int64_t now_ns;
	int64_t killed_ns; /* > 0: the pod is being deleted and was killed then */
} sim_pod_input;

/* The status the simulated kubelet reports for in->pod at in->now_ns (terminal when
 * killed_ns is set: containers still running end with 137, as after SIGKILL): a new object that
 * keeps qosClass, foreign conditions and transition times of unchanged conditions. Sets
 * *next_ms to the milliseconds until the status changes by itself (-1: never). */
json_t *sim_pod_status(const sim_pod_input *in, int64_t *next_ms);
/* True when the phase in status is Succeeded or Failed. */
bool sim_phase_terminal(json_t *status);

#endif
