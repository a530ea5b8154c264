/* agent-internal.h — what the agent's files share: its state on the loop thread, the
 * worker pool that runs blocking pod work, and the pod sync step that runs there.
 *
 * Threads: agent.c, agent_node.c and agent_status.c run on the loop thread and own every
 * field of `agent` and `agent_pod`. agent_pod.c runs on pool workers and sees only the
 * job it was handed (copies of the pod and of the loop's memory of it) plus the
 * thread-safe handles (image store, runtime, CNI config). Results come back as a JSON
 * report handled on the loop. Not for: naming conventions (agent.h).
 */
#ifndef TIMON_AGENT_INTERNAL_H
#define TIMON_AGENT_INTERNAL_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "agent/agent.h"
#include "agent/agent_stream.h"
#include "agent/cni.h"
#include "agent/image_store.h"
#include "agent/probe.h"
#include "agent/runtime.h"
#include "base/hmap.h"
#include "controllers/controller.h"

#define AGENT_NAME          "kubelet"
#define AGENT_KUBELET_VER   "v1.32.0"
#define AGENT_LEASE_NS      "kube-node-lease"
#define AGENT_LEASE_SECONDS 40
#define AGENT_CLUSTER_DNS   "10.43.0.10"
#define AGENT_DNS_DOMAIN    "cluster.local"

/* ---- the worker pool (agent_pool.c) ---- */

typedef struct agent_job agent_job;
typedef void (*agent_work_fn)(agent_job *j); /* on a worker */
typedef void (*agent_done_fn)(agent_job *j); /* on the loop, after work */
struct agent_job {
	agent_work_fn work;
	agent_done_fn done;
	/* On the loop when the pool is freed before done could run (queued, or finished
	 * but not yet handed back): frees the job and what it owns, acting on nothing. */
	agent_done_fn drop;
	void *ud;
	agent_job *next;
};

typedef struct agent_pool agent_pool;
agent_pool *agent_pool_new(uv_loop_t *loop, int threads);
void agent_pool_submit(agent_pool *p, agent_job *j);
/* Stops the workers once their current jobs end and frees the pool. Jobs that were
 * queued, or finished without their done having run, get drop instead (their work is
 * not done: containers keep running and a new agent re-adopts them). */
void agent_pool_free(agent_pool *p);

/* ---- the agent (agent.c) ---- */

/* One probe of one running container (loop state). */
typedef struct agent_probe {
	char *container, *cid; /* container name, runtime container ID */
	const char *which;     /* "startupProbe", "readinessProbe", "livenessProbe" */
	probe_tracker t;
	bool running; /* an attempt is on a worker */
	bool dead;    /* the container went away while an attempt ran */
} agent_probe;

typedef struct agent_pod {
	char *key, *uid;
	agent_probe **probes_v; /* trackers of running containers' probes */
	size_t n_probes;
	json_t *last_report; /* the last sync's report (statuses are recomputed from it) */
	char *pod_ip;
	char *written_rv;    /* resourceVersion of our last status write */
	bool status_writing; /* a status write is in flight: a pod's writes never overlap */
	bool status_again;   /* its status changed meanwhile: write again once it is answered */
	int64_t resync_at;   /* monotonic ns of the next timed resync (it runs unchanged) */
	bool kick;           /* an exit or a probe kill: sync even without an API change */
	bool busy;           /* a sync job is running for it */
	bool dirty;          /* something changed while busy: sync again after */
	bool gone;           /* the pod left the API (or this node): clean up, then forget */
	bool finished;       /* torn down after it ended: nothing more to do until deleted */
	json_t *mem;         /* what syncs remember: backoffs ({"ctr": {"delay": s, "at": ns}}) */
	json_t *probes;      /* container name -> {"ready": bool, "live": ...} (loop state) */
	json_t *sa_tokens;   /* volume_token_key -> {"token", "iat", "exp"} or {"pending"} */
} agent_pod;

typedef struct agent {
	controller *c;
	agent_config cfg;
	char *node_name, *node_ip, *pod_cidr;
	char *pods_dir; /* <state>/pods: per-pod hosts, resolv.conf, volumes */
	image_store *images;
	runtime *rt;
	cni_config cni;
	char *cni_state_dir, *cni_netns_dir;
	agent_pool *pool;
	hmap pods; /* pod key -> agent_pod */
	uv_timer_t tick, probe_tick;
	uv_fs_event_t exits;
	bool registered;
	int64_t next_lease_ns, next_status_ns, next_gc_ns, next_trim_ns;
	json_t *node_static;     /* capacity, nodeInfo, addresses: fixed at start */
	int64_t evict_mem_min;   /* bytes: memory.available below this is pressure */
	double evict_nodefs_pct; /* nodefs.available below this percentage is pressure */
	bool mem_pressure, disk_pressure;
	int64_t next_evict_ns;
	/* RuntimeClass handler name -> OCI runtime binary; fixed at start (workers read it). */
	json_t *handlers;
	/* Log rotation and image GC jobs (one of each at a time). */
	bool logs_busy, images_busy, images_failed_before;
	int64_t next_logs_ns, next_images_ns;
	json_t *image_last_used; /* image ID -> ns it was last seen in use (loop's; the job
	                          * works on a copy) */
	bool token_inline;       /* a TokenRequest is in client_do (agent_token.c) */
	agent_streams *streams;     /* pod streams state (kept with the agent, see stop) */
	struct agent *retired_next; /* stopped agents, kept until the process ends (stop) */
} agent;

/* ---- probes (agent_probe.c; loop thread) ---- */

/* After a sync: trackers for the probes of the running containers in report (a container
 * with a new ID starts afresh); the others go. */
void agent_probes_update(agent *a, agent_pod *ap, json_t *pod, json_t *report);
/* Starts the attempts that are due (the agent's probe timer). */
void agent_probes_run(agent *a);
/* Drops a pod's trackers (attempts still running are freed when they end). */
void agent_probes_clear(agent_pod *ap);
/* Recomputes and writes the pod's status from its last report (after a readiness
 * change). Defined in agent.c. */
void agent_pod_write_status(agent *a, agent_pod *ap);

/* ---- ServiceAccount tokens (agent_token.c; loop thread) ---- */

/* The tokens of pod's projected serviceAccountToken sources that the loop holds, as a new
 * object for the volume inputs (volume.h "serviceaccounttokens"); requests those missing
 * or due for renewal, without waiting (the pod is synced again when one arrives, or when
 * its request failed). *waiting: a source has no usable token and its request is under
 * way. */
json_t *agent_tokens_for(agent *a, agent_pod *ap, json_t *pod, bool *waiting);
/* Whether a token entry ({"token", "iat", "exp"} in Unix seconds, {"pending": true}, or
 * {"retryAt"}; NULL when none) needs a request at now: none yet, or 80% of its life (at
 * most 24 h) gone; not while one is pending or before retryAt. */
bool agent_token_due(json_t *ent, int64_t now);

/* ---- eviction (agent_evict.c; loop thread) ---- */

/* Parses --eviction-hard; kube's defaults for what it leaves out. -1 when malformed. */
int agent_eviction_parse(const char *spec, int64_t *mem_min, double *nodefs_pct);
/* Every 10 s: pressure conditions, and one eviction while under pressure. */
void agent_evict_check(agent *a);

/* The container (or init container) named name in pod's spec, borrowed; NULL if none.
 * (agent_probe.c) */
json_t *agent_container_spec(json_t *pod, const char *name);
/* A /proc/meminfo field in KiB; -1 when unreadable. (agent_node.c) */
int64_t agent_meminfo_kib(const char *field);

/* ---- container log rotation (agent_logs.c; pool worker) ---- */

/* Rotates the CRI log of every running container of rt larger than max_size, keeping at
 * most max_files files per container (current included; older rotated ones gzipped). */
void agent_logs_rotate(runtime *rt, int64_t max_size, int max_files);
/* "<path>.YYYYMMDD-HHMMSS" (UTC) for a rotation at now_ns. New string. */
char *agent_log_rotated_name(const char *path, int64_t now_ns);
/* Whether a file name is a rotated log of the file named base ("<base>.<stamp>[.gz]"). */
bool agent_log_is_rotated(const char *name, const char *base);
/* Sorts the rotated names of one log oldest first and says how many of the oldest go
 * before a rotation so that max_files remain after it; *first_kept (may be NULL) is
 * the index of the first one that stays. */
size_t agent_log_excess(char **rotated, size_t n, int max_files, size_t *first_kept);

/* ---- image garbage collection (agent_images.c) ---- */

typedef struct agent_gc_image {
	int64_t size;
	int64_t first_seen_ns; /* when it came to the node (pulled or imported) */
	int64_t last_used_ns;  /* when a container last used it (else first_seen_ns) */
	bool in_use;           /* a container on the node uses it */
} agent_gc_image;

/* k8s: which images to delete to free to_free bytes: unused ones at least min_age_ns
 * old, least recently used first (ties in input order). Writes their indexes to order
 * (n entries of room) and returns how many; *freed gets their total size. Pure. */
size_t agent_image_gc_plan(const agent_gc_image *imgs, size_t n, int64_t now_ns, int64_t min_age_ns,
                           int64_t to_free, size_t *order, int64_t *freed);
/* Usage of the filesystem holding path in percent (kubelet's rounding), with its
 * capacity and available bytes; -1 when unreadable. */
int agent_image_usage(const char *path, int64_t *capacity, int64_t *available);
/* One image GC pass (pool worker): NULL when usage is below high; else a report
 * {"usage", "amountToFree", "removed": [{"id","name","size"}], "freed", "error"?}.
 * last_used (image ID -> ns) is updated. */
json_t *agent_images_gc(agent *a, json_t *last_used, int high, int low, int64_t min_age_s);

/* ---- node registration and heartbeats (agent_node.c; loop thread) ---- */

/* Facts read once at start: capacity, allocatable, nodeInfo, addresses. */
json_t *agent_node_facts(agent *a);

/* ---- pod egress (agent_masq.c) ---- */

/* The nft text of this node's egress table: traffic from cluster_cidr to outside it is
 * masqueraded. NULL when cluster_cidr is not an IPv4 CIDR. Caller frees. */
char *agent_masq_text(const char *node, const char *hostname, const char *cluster_cidr);
/* Replaces the table in the kernel (blocking; a few ms, once at start). */
int agent_masq_apply(const char *node, const char *cluster_cidr, terr **err);
/* Creates or updates this machine's Node (labels, taints, podCIDR, status); renews its
 * Lease. */
void agent_node_sync(agent *a);
void agent_lease_renew(agent *a);
/* The IPv4 address of the default route's interface into out (64 bytes); false when
 * none. */
bool agent_default_ip(char out[64]);

/* ---- the pod sync step (agent_pod.c; worker thread) ---- */

typedef struct agent_sync_job {
	agent_job job;
	agent *a;
	char *key;
	json_t *pod;              /* a copy of the pod as the loop saw it */
	json_t *mem;              /* a copy of agent_pod.mem; the worker updates it */
	json_t *inputs;           /* configmaps, secrets, ... the pod refers to (loop-gathered) */
	json_t *paths;            /* volume name -> host path (the worker's, after setup) */
	bool cleanup;             /* stop everything and tear the pod down */
	const char *runtime_path; /* the pod's RuntimeClass handler binary (a->handlers'); NULL:
	                           * the driver's */
	json_t *report; /* out: {"containers": {...}, "init": {...}, "events": [...], ...} */
	/* agent_pod.c's, during a sync: the network being wired meanwhile, whether wiring
	 * failed, the pod's address once known (owned). */
	struct net_job *net;
	bool net_failed;
	char *ip;
} agent_sync_job;

/* Brings the pod's sandbox and containers toward its spec (or tears it down). */
void agent_pod_sync(agent_job *j);
/* Removes what is left of a pod this node no longer runs, by UID (containers, network,
 * folders); pod (may be NULL) gives the preStop hooks to run first. */
void agent_pod_teardown(agent *a, const char *uid, int grace_s, json_t *events, json_t *pod);

/* ---- pod status (agent_status.c; loop thread) ---- */

/* The status the pod should have after a sync's report; new object. */
json_t *agent_pod_status(agent *a, json_t *pod, json_t *report, agent_pod *ap);

#endif
