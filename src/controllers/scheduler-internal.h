/* scheduler-internal.h — what the scheduler component's files share.
 *
 * The component runs src/scheduler/ (the pure core) inside `timon server`. Its state — the
 * snapshot, the parsed objects, the scheduling queue — belongs to one owner at a time: the
 * loop thread while no batch runs, a libuv worker while one does (uv_queue_work hands it
 * over, so no locks). The loop only collects informer events into an inbox and performs the
 * API writes a batch asks for; parsing, queueing and scheduling run in the batch.
 *
 * scheduler.c        the controller: informers, batches, timers, the loop side
 * scheduler_state.c  applying events: parse cache, snapshot, priority classes, PDBs
 * scheduler_queue.c  activeQ / backoffQ / unschedulable pods, as kube's scheduling queue
 * scheduler_cycle.c  one batch: flush the queues, schedule, preempt, emit actions
 * scheduler_api.c    the actions as API calls: binding, status, events, victims
 * Not for: scheduling decisions (src/scheduler/).
 */
#ifndef TIMON_CONTROLLERS_SCHEDULER_INTERNAL_H
#define TIMON_CONTROLLERS_SCHEDULER_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/blob.h"
#include "base/hmap.h"
#include "controllers/controller.h"
#include "scheduler/sched.h"

#define SCH_FIELD_MANAGER "kube-scheduler"
/* k8s: podInitialBackoffSeconds 1, podMaxBackoffSeconds 10. */
#define SCH_BACKOFF_INITIAL_MS 1000
#define SCH_BACKOFF_MAX_MS     10000
/* k8s: podMaxInUnschedulablePodsDuration 5 min, checked every 30 s. */
#define SCH_UNSCHED_MAX_MS   (5 * 60 * 1000)
#define SCH_LEFTOVER_EVERY_MS 30000
/* Pods one batch schedules at most, and how long it may run: then the loop's writes go. */
#define SCH_BATCH_PODS 512
#define SCH_BATCH_NS   (20 * 1000 * 1000LL)

/* What an inbox entry is about. */
enum sch_kind {
	SCH_POD,
	SCH_NODE,
	SCH_NAMESPACE,
	SCH_PRIORITYCLASS,
	SCH_PDB,
	SCH_BIND_DONE, /* the answer to a binding this component sent */
};

/* An informer event or a binding answer, handed from the loop to the next batch. */
typedef struct sch_event {
	uint8_t kind, type; /* enum sch_kind; STORE_* */
	int code;           /* SCH_BIND_DONE: HTTP status */
	char *key;          /* storage key ("/registry/pods/ns/name"), owned */
	/* The object: the event's shared tree when the loop's informers parsed it already
	 * (read-only on both threads; the worker drops the reference), else NULL and the worker
	 * parses value (a loop-side reference). Both NULL for bindings and deletions. */
	json_t *obj;
	blob *value;
	int64_t rev; /* the object's revision (the event's) */
	uint8_t kept; /* enum sch_kept: what a pod's write kept of the version before */
} sch_event;

/* What a pod's write kept of the version before: its labels (equal), its
 * deletionTimestamp and, as the very same nodes (both trees alive, so no address was
 * reused), */
enum sch_kept {
	SCH_KEPT_NOTHING,   /* (or unknown) */
	SCH_KEPT_SPEC,      /* its spec: a status write */
	SCH_KEPT_SPEC_NODE, /* every member of its spec but nodeName: a binding */
};
/* Told from the trees the other informers parsed, never by parsing (nothing when either
 * is missing). */
enum sch_kept sch_write_kept(json_t *obj, json_t *prev);

/* Where a pod is in the scheduler's view. */
enum sch_where {
	W_NONE,    /* not ours, gated, being deleted, or unparsable */
	W_ACTIVE,  /* activeQ */
	W_BACKOFF, /* backoffQ */
	W_UNSCHED, /* unschedulable pods */
	W_BINDING, /* assumed on a node, binding sent */
	W_BOUND,   /* spec.nodeName set (by us or anyone) */
};

typedef struct sch_pod {
	char *skey; /* storage key: the maps' key */
	char *ns, *name, *uid;
	sched_pod *sp; /* the latest parse */
	/* The revision sp reads (parsed, or updated in place), and the last event's: sp may be
	 * updated in place only from the version it reads (an update while the pod was being
	 * bound is not parsed, and leaves sp older). */
	int64_t sp_rev, seen_rev;
	const sched_profile *prof;
	uint8_t where;
	bool in_snap;   /* sp or its assumption is placed in the snapshot */
	bool assumed;   /* placed by a decision whose binding is not yet observed */
	bool pod_terms; /* required pod affinity or topology spread: helped by new pods */
	bool terminating; /* metadata.deletionTimestamp set */
	int attempts;
	int64_t ts_ms;      /* k8s: QueuedPodInfo.Timestamp, when it last entered the queue */
	int64_t backoff_ms; /* when its backoff ends */
	int64_t first_ms;   /* first time it was queued (latency) */
	size_t hidx;        /* position in the active or backoff heap */
	uint64_t seq;       /* FIFO tie-break */
	struct sch_pod *uprev, *unext; /* unschedulable list */
	uint64_t spec_hash; /* the pod without status / resourceVersion / managedFields */
	char *cond_reason, *cond_msg; /* PodScheduled=False as last seen, or NULL */
	char *nominated;              /* status.nominatedNodeName as last seen */
	char *node;                   /* assumed or bound node */
	/* The tree of its latest version (tree_rev) while it waits in activeQ for an attempt:
	 * a binding hands it back to the cache (cache_offer_tree), so the binding's read of the
	 * pod is no parse. Dropped at the attempt, or when the pod leaves activeQ. */
	json_t *tree;
	int64_t tree_rev;
} sch_pod;

typedef struct sch_heap {
	sch_pod **v;
	size_t n, cap;
	bool by_backoff; /* backoffQ: ordered by backoff end; activeQ: priority, then age */
} sch_heap;

/* An API write the batch asks the loop to make. */
enum sch_act_kind { ACT_BIND, ACT_FAIL };

typedef struct sch_victim {
	char *ns, *name, *uid;
} sch_victim;

typedef struct sch_action {
	uint8_t kind;
	char *skey, *ns, *name, *uid;
	char *node;                /* ACT_BIND: the target */
	const char *component;     /* the profile's scheduler name (static) */
	char *message;             /* ACT_FAIL: FailedScheduling text */
	bool patch_status;         /* ACT_FAIL: condition or nomination changed */
	char *nominated;           /* ACT_FAIL: nominatedNodeName to set, or NULL */
	sch_victim *victims;       /* ACT_FAIL: pods to preempt */
	size_t nvictims;
	json_t *tree;              /* ACT_BIND: the pod's tree at tree_rev, or NULL (sch_pod) */
	int64_t tree_rev;
} sch_action;

/* Counters for logs and the benchmark. */
typedef struct sch_stats {
	uint64_t scheduled, failed, preemptions, bind_errors, cycles_ns;
} sch_stats;

typedef struct sch_state {
	sched_snapshot *snap;
	sched_result res;
	hmap pods;  /* skey -> sch_pod */
	hmap nodes; /* skey -> struct sch_node */
	hmap pcs;   /* class name -> struct sch_pc */
	hmap pdbs;  /* skey -> struct sch_pdb */
	sch_heap active, backoff;
	sch_pod *unsched; /* list head */
	size_t nunsched;
	bool move_all;   /* a cluster event may help every unschedulable pod */
	bool move_terms; /* a pod was placed: pods with pod terms may fit now */
	int64_t leftover_ms;
	uint64_t seq;
	char *pod_prefix; /* "/registry/pods/": storage keys of pods named by the core */
	sch_stats stats;
	/* Output of the current batch. */
	sch_action *acts;
	size_t nacts, capacts;
} sch_state;

/* ---- state (scheduler_state.c) ---- */

sch_state *sch_state_new(void);
void sch_state_free(sch_state *st);
/* Applies one event (the blob is read, not kept). now_ms: monotonic milliseconds. */
void sch_state_apply(sch_state *st, const sch_event *ev, int64_t now_ms);
/* The PDBs for preemption: a new array of borrowed pointers (caller frees the array). */
sched_pdb **sch_state_pdbs(sch_state *st, size_t *n);
/* Replaces p's kept tree with tree (a new reference is taken; NULL drops it). */
void sch_pod_keep_tree(sch_pod *p, json_t *tree, int64_t rev);
void sch_pod_free(sch_pod *p);

/* ---- queue (scheduler_queue.c) ---- */

void sch_heap_push(sch_heap *h, sch_pod *p);
sch_pod *sch_heap_pop(sch_heap *h);
void sch_heap_remove(sch_heap *h, sch_pod *p);
void sch_heap_fix(sch_heap *h, sch_pod *p);
void sch_heap_free(sch_heap *h);
/* Takes p out of whichever queue holds it (where becomes W_NONE). */
void sch_queue_remove(sch_state *st, sch_pod *p);
/* k8s: PriorityQueue.Add: a new pending pod enters activeQ. */
void sch_queue_add(sch_state *st, sch_pod *p, int64_t now_ms);
/* A queued pod was updated: refresh its position; an unschedulable pod whose spec changed
 * moves to backoffQ or activeQ (k8s: isPodUpdated). */
void sch_queue_update(sch_state *st, sch_pod *p, bool spec_changed, int64_t now_ms);
/* k8s: AddUnschedulableIfNotPresent: after a failed attempt; unschedulable pods wait for
 * a cluster event, errors back off. */
void sch_queue_requeue(sch_state *st, sch_pod *p, bool unschedulable, int64_t now_ms);
/* k8s: flushBackoffQCompleted, MoveAllToActiveOrBackoffQueue on the pending cluster events,
 * flushUnschedulablePodsLeftover. */
void sch_queue_flush(sch_state *st, int64_t now_ms);
/* Milliseconds (monotonic) of the next time-driven queue change, or -1. */
int64_t sch_queue_next_due(const sch_state *st);

/* ---- one batch (scheduler_cycle.c) ---- */

/* Schedules up to SCH_BATCH_PODS pods from activeQ, filling st->acts. Returns how many
 * pods it tried. */
size_t sch_cycle_batch(sch_state *st, int64_t now_ms);
void sch_action_dispose(sch_action *a);

/* ---- API writes (scheduler_api.c), loop thread ---- */

typedef struct sched_ctl sched_ctl;
/* Performs one action; answers of bindings come back through sch_ctl_bind_done. */
void sch_api_perform(sched_ctl *ctl, controller *c, sch_action *a);
/* Records that a binding was answered (loop side; the next batch sees it). */
void sch_ctl_bind_done(sched_ctl *ctl, const char *skey, int code);

/* Monotonic milliseconds. */
int64_t sch_now_ms(void);

#endif
