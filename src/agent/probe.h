/* probe.h — container probes (the kubelet's prober): one blocking attempt of a Probe
 * object (exec, httpGet, tcpSocket, grpc), and a pure tracker of a probe's timing and
 * thresholds that the agent's pod workers drive.
 *
 * probe_run blocks for up to the probe's timeoutSeconds (plus connection set-up): call it
 * on a worker thread, never on the event loop. The tracker does no I/O and reads no clock:
 * the caller passes the time, so the timing rules are tested in one place.
 *
 * Not for: deciding what a result means for a container (restart, Ready condition); that
 * is the pod worker's job. See docs/probes.md.
 */
#ifndef TIMON_AGENT_PROBE_H
#define TIMON_AGENT_PROBE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct runtime;

typedef enum probe_result {
	PROBE_SUCCESS = 0,
	PROBE_FAILURE = 1,
	/* The probe could not be run (bad spec, container gone): k8s throws such a result
	 * away, it counts neither as success nor as failure. */
	PROBE_ERROR = 2,
} probe_result;

typedef struct probe_target {
	const char *pod_ip;        /* status.podIP: the host unless the probe names one */
	json_t *container;         /* the container spec (named ports); may be NULL */
	struct runtime *rt;        /* for exec probes */
	const char *container_id;  /* for exec probes */
} probe_target;

#define PROBE_USER_AGENT "kube-probe/1.32"
#define PROBE_MAX_BODY   (10 * 1024) /* k8s: the prober reads at most 10 KiB of a body */

/* Runs one attempt of probe (borrowed; a Probe object) within its timeoutSeconds (default
 * 1). *message (may be NULL; a new string or NULL, the caller's) gets the text kube puts
 * after "<Type> probe failed: " in its event on failure (the caller adds that prefix):
 * `HTTP probe failed with statuscode: 500`, `Get "http://10.42.0.5:8080/": dial tcp
 * 10.42.0.5:8080: connect: connection refused`, `dial tcp 10.42.0.5:81: connect:
 * connection refused`, the exec output; on error, why it could not run. On success it may
 * carry a warning (a redirect to another host) or the exec output. */
probe_result probe_run(json_t *probe, const probe_target *t, char **message);

/* Resolves a port of a probe handler (an int, or the name of a containerPort of
 * container) to a number; -1 when it names no port. */
int probe_port(json_t *port, json_t *container);

/* ---- the tracker (probe_tracker.c) ---- */

typedef struct probe_tracker {
	int64_t initial_delay_ns; /* initialDelaySeconds (default 0) */
	int64_t period_ns;        /* periodSeconds (default 10) */
	int success_threshold;    /* successThreshold (default 1) */
	int failure_threshold;    /* failureThreshold (default 3) */
	int64_t started_ns;       /* when the container started */
	int64_t last_ns;          /* the last attempt recorded; valid when attempts > 0 */
	int64_t attempts;
	int successes, failures; /* consecutive results of each kind */
	bool ok;                 /* the overall result */
} probe_tracker;

/* Sets t up for probe (borrowed; read once) of a container that started at started_ns.
 * initial_ok is the result before any attempt: k8s starts liveness as success, readiness
 * and startup as failure. */
void probe_tracker_init(probe_tracker *t, json_t *probe, bool initial_ok, int64_t started_ns);
/* True when an attempt is due at now_ns: initialDelaySeconds after the start, then every
 * periodSeconds after the last recorded attempt. */
bool probe_tracker_due(const probe_tracker *t, int64_t now_ns);
/* Records the result of an attempt made at now_ns. Returns true when the overall result
 * flipped (successThreshold consecutive successes while failing, failureThreshold
 * consecutive failures while succeeding). PROBE_ERROR counts as neither. */
bool probe_tracker_record(probe_tracker *t, probe_result r, int64_t now_ns);
/* The overall result. */
bool probe_tracker_ok(const probe_tracker *t);
/* When the next attempt is due (for the caller's timer). */
int64_t probe_tracker_next_ns(const probe_tracker *t);

#endif
