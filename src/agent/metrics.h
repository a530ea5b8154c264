/* metrics.h — resource usage of this node and of its containers, read from the cgroups the
 * runtime puts containers in (agent.h: "/timon/pod<uid>/<container id>" under each
 * hierarchy; cgroup v1 and v2) and from /proc: cumulative CPU time, memory working set,
 * and CPU rates from two samples. Feeds metrics.k8s.io (apiserver/metrics_api.c), which
 * `kubectl top` reads, and the Prometheus resource metrics.
 *
 * The sampler runs on the event loop (a uv timer): each sample reads a few small cgroup
 * and /proc files per container, which never block on anything but the kernel.
 * Not for: limits or accounting that needs history beyond one window.
 * See docs/metrics.md.
 */
#ifndef TIMON_AGENT_METRICS_H
#define TIMON_AGENT_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define METRICS_INTERVAL_MS 10000 /* k8s: metrics-server's default resolution */

typedef struct metrics_usage {
	int64_t cpu_total_ns;  /* cumulative CPU time */
	int64_t cpu_nanocores; /* the rate over the window; -1 until two samples exist */
	int64_t memory_ws;     /* working set bytes: usage minus inactive file pages */
	int64_t time_ns;       /* wall clock of the latest sample */
	int64_t window_ns;     /* between the two samples the rate comes from; 0 without */
} metrics_usage;

typedef struct metrics_container {
	char *uid;  /* the pod's UID */
	char *name; /* the container's name */
	int attempt;
	metrics_usage u;
	int64_t mono_ns; /* monotonic time of the sample (for the next rate) */
} metrics_container;

/* One container's cumulative CPU ns and working set from its cgroup at rel (relative to
 * the hierarchy roots, "/timon/pod<uid>/<id>"). -1 when the cgroup is not there. */
int metrics_read_cgroup(const char *rel, int64_t *cpu_ns, int64_t *memory_ws);
/* The node's cumulative busy CPU ns (/proc/stat: all but idle and iowait) and memory
 * working set (/proc/meminfo: MemTotal - MemFree - Inactive(file)). -1 on failure. */
int metrics_read_node(int64_t *cpu_ns, int64_t *memory_ws);

typedef struct metrics_sampler metrics_sampler;

/* Starts sampling on loop every interval_ms (0: METRICS_INTERVAL_MS); the first sample is
 * taken at once and a second one a second later, so rates exist early. */
metrics_sampler *metrics_sampler_start(uv_loop_t *loop, int interval_ms);
/* Stops the timer; the sampler is freed once the loop has closed it. */
void metrics_sampler_stop(metrics_sampler *m);
/* Takes a sample now (loop thread). */
void metrics_sampler_sample(metrics_sampler *m);
/* The node's usage (borrowed; valid until the next sample). */
const metrics_usage *metrics_sampler_node(const metrics_sampler *m);
/* The containers of the pod with UID uid, the latest attempt of each name (borrowed until
 * the next sample): *out gets up to max of them; returns the count. */
size_t metrics_sampler_pod(const metrics_sampler *m, const char *uid, const metrics_container **out,
                           size_t max);

/* ---- the agent's entry point ---- */

struct apiserver;
/* Starts a sampler on the server's loop and serves its figures for the pods bound to
 * node_name (copied) through srv: metrics.k8s.io/v1beta1 and
 * /api/v1/nodes/<node_name>/proxy/metrics/resource. One per process; a second call is
 * ignored. `timon server` also calls it when TIMON_METRICS_NODE names a node (for runs
 * without the agent, such as tests). */
void agent_metrics_attach(struct apiserver *srv, const char *node_name);
/* Stops serving and sampling (before apiserver_stop). Nothing attached is fine. */
void agent_metrics_detach(struct apiserver *srv);

#endif
