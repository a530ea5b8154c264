/* sched.h — the scheduler core: a pure function of (cluster snapshot, pod) -> decision.
 *
 * Nodes and pods are parsed once from their JSON into compact structs (cache them per
 * uid + resourceVersion; they are refcounted and immutable once built). A snapshot holds
 * the nodes, the pods placed on them (bound or assumed) and per-node aggregates, so one
 * scheduling cycle never touches JSON. sched_schedule runs kube-scheduler's default
 * profile (filters, scores, weights, normalization, percentageOfNodesToScore) and on
 * failure builds the FailedScheduling message in kube's exact shape; sched_preempt is
 * DefaultPreemption's PostFilter (victims, PDBs, candidate choice).
 * Semantics follow kube-scheduler 1.32-1.34 (see docs/scheduler.md for the version notes).
 * Not for: queues, binding, events or API calls (the caller wires those), volumes (the
 * VolumeBinding filter is a stub that passes), DRA, extenders, gang scheduling.
 * Thread-safety: cycles only read the snapshot, so several may run on one snapshot at once,
 * each with its own sched_result; mutate the snapshot only while no cycle runs. Parsing is
 * thread-safe.
 */
#ifndef TIMON_SCHEDULER_SCHED_H
#define TIMON_SCHEDULER_SCHED_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

typedef struct sched_node sched_node;
typedef struct sched_pod sched_pod;
typedef struct sched_snapshot sched_snapshot;
typedef struct sched_pdb sched_pdb;

/* ---- nodes and pods ---- */

/* Parses a v1 Node (borrowed). Returns a new node (refcount 1) or NULL + 400 on a bad
 * quantity. Allocatable falls back to capacity when absent (k8s: Node defaulting). */
sched_node *sched_node_from_json(json_t *node, terr **err);
/* Adds a reference; returns n. */
sched_node *sched_node_ref(sched_node *n);
/* Drops a reference; frees at zero (NULL is fine). */
void sched_node_unref(sched_node *n);
/* The node's name (borrowed from n). */
const char *sched_node_name(const sched_node *n);

/* Parses a v1 Pod (borrowed): summed requests, affinity, tolerations, spread, ports...
 * Returns a new pod (refcount 1) or NULL + 400 on a bad quantity. */
sched_pod *sched_pod_from_json(json_t *pod, terr **err);
sched_pod *sched_pod_ref(sched_pod *p);
/* Reads again, into p itself, what it takes from a pod's status (start time, the
 * preemption condition), for a write that changed nothing else the scheduler reads; false
 * (p unchanged) when status.nominatedNodeName differs from p's. Only for a pod whose users
 * all run on the caller's thread. */
bool sched_pod_update_status(sched_pod *p, json_t *pod);
/* Sets p's spec.nodeName in place (the same rule). */
void sched_pod_set_node(sched_pod *p, const char *node);
void sched_pod_unref(sched_pod *p);
/* The snapshot key of p: metadata.uid, or "namespace/name" when it has none (borrowed). */
const char *sched_pod_key(const sched_pod *p);
const char *sched_pod_name(const sched_pod *p);
const char *sched_pod_namespace(const sched_pod *p);
/* spec.schedulerName ("default-scheduler" when unset). */
const char *sched_pod_scheduler_name(const sched_pod *p);
int32_t sched_pod_priority(const sched_pod *p);
/* The pod's effective requests as kube sums them (k8s: max(sum of containers, max of init
 * containers incl. sidecars) + overhead): cpu in millicores, others in units. */
int64_t sched_pod_request(const sched_pod *p, const char *resource);

/* ---- snapshot ---- */

sched_snapshot *sched_snapshot_new(void);
void sched_snapshot_free(sched_snapshot *s);
/* Adds n or replaces the node of the same name, keeping its pods; takes a reference. New
 * nodes go to the end of the scan order. */
void sched_snapshot_set_node(sched_snapshot *s, sched_node *n);
/* Removes a node; its pods stay indexed and reappear if the node comes back. -1 if absent. */
int sched_snapshot_remove_node(sched_snapshot *s, const char *name);
/* Places p on node_name (NULL: p's spec.nodeName) — a bound pod, or an assumption so later
 * decisions see earlier ones. Replaces an entry with the same key. Takes a reference.
 * Returns 0, or -1 when no node name is known. */
int sched_snapshot_add_pod(sched_snapshot *s, sched_pod *p, const char *node_name);
/* Removes the pod with that key (sched_pod_key); -1 if absent. */
int sched_snapshot_remove_pod(sched_snapshot *s, const char *key);
/* k8s: a pending pod nominated to a node (status.nominatedNodeName, set by preemption) holds
 * its room there: NodeResourcesFit counts it against pods of equal or lower priority
 * (addNominatedPods). Takes a reference to p; replaces an earlier nomination of the same
 * key; node NULL or "" forgets it. Binding or deleting the pod must forget it too. */
void sched_snapshot_nominate(sched_snapshot *s, sched_pod *p, const char *node);
/* Records a namespace's labels (borrowed JSON object) for namespaceSelector terms. */
void sched_snapshot_set_namespace(sched_snapshot *s, const char *ns, json_t *labels);
size_t sched_snapshot_node_count(const sched_snapshot *s);
/* The node at scan position i (borrowed), or NULL. */
const sched_node *sched_snapshot_node(const sched_snapshot *s, size_t i);
/* Number of pods placed on node name (bound + assumed); -1 if no such node. */
int sched_snapshot_pod_count(const sched_snapshot *s, const char *name);
/* Seeds the tie-breaking random choice (default 1): same seed, same decisions. */
void sched_snapshot_set_seed(sched_snapshot *s, uint64_t seed);

/* ---- profiles ---- */

typedef enum sched_strategy {
	SCHED_LEAST_ALLOCATED, /* k8s: NodeResourcesFit default: spread */
	SCHED_MOST_ALLOCATED,  /* bin-packing */
} sched_strategy;

typedef struct sched_resource_weight {
	const char *name; /* "cpu", "memory", "nvidia.com/gpu" */
	int64_t weight;
} sched_resource_weight;

typedef struct sched_weight {
	const char *plugin; /* a score plugin name, e.g. "NodeResourcesFit" */
	int weight;         /* 0 disables the score */
} sched_weight;

typedef struct sched_profile {
	const char *scheduler_name; /* the spec.schedulerName this profile serves */
	sched_strategy strategy;
	const sched_resource_weight *resources; /* Fit scoring; NULL: cpu 1, memory 1 */
	size_t nresources;
	const sched_weight *weights; /* overrides of the default weights */
	size_t nweights;
	int percentage_of_nodes_to_score; /* 0: kube's adaptive default */
	int hard_pod_affinity_weight;     /* k8s default 1; -1 for 0 */
	bool hide_taint_values;           /* newer kube: "node(s) had untolerated taint(s)" */
	bool disable_preemption;
} sched_profile;

/* "default-scheduler" (LeastAllocated) and "timon-binpack" (MostAllocated over cpu,
 * memory and nvidia.com/gpu). */
extern const sched_profile sched_profile_default;
extern const sched_profile sched_profile_binpack;
/* The profile serving scheduler_name among table (NULL table: the two built-ins), or NULL:
 * such pods are not ours to schedule. */
const sched_profile *sched_profile_find(const sched_profile *const *table, size_t n,
                                        const char *scheduler_name);

/* ---- one scheduling cycle ---- */

enum {
	SCHED_OK = 0,
	SCHED_UNSCHEDULABLE = 1,
};

typedef struct sched_result {
	/* Outputs of the last sched_schedule. */
	const char *node_name; /* chosen node (borrowed from the snapshot) or NULL */
	size_t node_index;     /* its scan position */
	int64_t score;         /* its weighted total */
	size_t feasible;       /* nodes that passed every filter */
	size_t evaluated;      /* nodes filtered (feasible + failed) */
	size_t next_start;     /* k8s: nextStartNodeIndex for the following cycle */
	char *message;         /* on failure: "0/3 nodes are available: ...", owned */
	/* Per-node statuses of the last failure (for sched_preempt); internal. */
	struct sched_nstatus *status;
	size_t nstatus, status_cap;
	char **reasons;
	size_t nreasons, reasons_cap;
	uint16_t *rpool;
	size_t nrpool, rpool_cap;
	size_t absent_reason; /* reason index + 1 for nodes without a status, or 0 */
	uint8_t absent_code;  /* their status code (k8s: AbsentNodesStatus) */
	char *prefilter_msg;  /* owned; set when a pre-filter rejected the pod */
	/* Scratch reused across calls. */
	void *scratch;
} sched_result;

void sched_result_init(sched_result *r);
void sched_result_free(sched_result *r);

/* Schedules pod against snap with prof. Returns SCHED_OK with out->node_name, or
 * SCHED_UNSCHEDULABLE with out->message (kube's FitError text). snap is not modified;
 * out keeps per-node statuses until the next call. */
int sched_schedule(const sched_snapshot *snap, const sched_pod *pod, const sched_profile *prof,
                   sched_result *out);

/* After SCHED_OK: assumes pod on the chosen node and advances the rotating start index, so
 * the next cycle sees this decision. Returns 0 or -1. */
int sched_snapshot_commit(sched_snapshot *snap, sched_pod *pod, const sched_result *res);

/* ---- preemption ---- */

/* Parses a policy/v1 PodDisruptionBudget (borrowed): namespace, selector,
 * status.disruptionsAllowed and status.disruptedPods. */
sched_pdb *sched_pdb_from_json(json_t *pdb, terr **err);
void sched_pdb_free(sched_pdb *p);

typedef struct sched_preemption {
	const char *node_name;     /* nominatedNodeName (borrowed) or NULL */
	const sched_pod **victims; /* borrowed from the snapshot, most important first */
	size_t nvictims;
	int pdb_violations;
	char *message; /* on failure: "preemption: ...", owned; NULL on success */
} sched_preemption;

/* k8s: DefaultPreemption PostFilter. Call after sched_schedule failed for pod on the same,
 * unchanged snapshot with its result. Returns SCHED_OK with a node and its victims, or
 * SCHED_UNSCHEDULABLE with out->message. Free out with sched_preemption_free. */
int sched_preempt(const sched_snapshot *snap, const sched_pod *pod, const sched_profile *prof,
                  const sched_result *failed, sched_pdb *const *pdbs, size_t npdbs,
                  sched_preemption *out);
void sched_preemption_free(sched_preemption *p);

/* The full FailedScheduling event text: the fit message plus, when p failed, its
 * "preemption: ..." part (k8s: FitError with PostFilterMsg). Caller frees. */
char *sched_failure_message(const sched_result *r, const sched_preemption *p);

#endif
