/* printers_pod.c — the Pod row of `kubectl get pods`: READY, the STATUS reason kube derives
 * from phase, init containers, sidecars and container states, RESTARTS with the time of
 * the last restart, and the wide IP / NODE / NOMINATED NODE / READINESS GATES cells.
 *
 * Not for: other kinds (printers_core.c and friends).
 */
#include <stdio.h>
#include <stdlib.h>

#include "api/printers-internal.h"
#include "api/printers.h"
#include "base/json.h"

static const printer_column pod_columns[] = {
	PR_COL_NAME,
	PR_COL("Ready", "string", "Containers ready out of containers (sidecars included)."),
	PR_COL("Status", "string", "Summary of the pod's phase and container states."),
	PR_COL("Restarts", "string", "Container restarts, and how long ago the last one was."),
	PR_COL_AGE,
	PR_WIDE("IP", "string", "The pod's primary IP address."),
	PR_WIDE("Node", "string", "The node the pod is bound to."),
	PR_WIDE("Nominated Node", "string", "The node the pod may run on once preemption completes."),
	PR_WIDE("Readiness Gates", "string", "Readiness gates met out of readiness gates declared."),
};

typedef struct ptime {
	bool set;
	int64_t sec, nsec;
} ptime;

/* Moves *last forward to the finish time of the container's last termination. */
static void note_restart(ptime *last, json_t *status)
{
	ptime t = {0};
	if (pr_time(pr_get_str(status, "lastState.terminated.finishedAt"), &t.sec, &t.nsec) <= 0)
		return;
	if (!last->set || last->sec < t.sec || (last->sec == t.sec && last->nsec < t.nsec)) {
		*last = t;
		last->set = true;
	}
}

/* k8s: an init container with restartPolicy Always is a sidecar (restartable init
 * container): it counts as a pod container for READY. */
static bool is_sidecar(json_t *pod, const char *name)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_path(pod, "spec.initContainers"), i, c) {
		if (str_eq(pr_get_str(c, "name"), name))
			return str_eq(pr_get_str(c, "restartPolicy"), "Always");
	}
	return false;
}

static bool phase_terminal(const char *phase)
{
	return str_eq(phase, "Succeeded") || str_eq(phase, "Failed");
}

static void pod_row(json_t *pod, json_t *cells, int64_t now_ns)
{
	json_t *conds = json_path(pod, "status.conditions");
	const char *phase = pr_get_str(pod, "status.phase");
	const char *status_reason = pr_get_str(pod, "status.reason");
	buf reason = {0};
	buf_puts(&reason, *status_reason ? status_reason : phase);

	/* k8s: a pod held by scheduling gates shows SchedulingGated */
	size_t i;
	json_t *c;
	json_array_foreach(conds, i, c) {
		if (str_eq(pr_get_str(c, "type"), "PodScheduled") &&
		    str_eq(pr_get_str(c, "reason"), "SchedulingGated")) {
			buf_reset(&reason);
			buf_puts(&reason, "SchedulingGated");
		}
	}

	int64_t total = (int64_t)pr_get_len(pod, "spec.containers");
	json_array_foreach(json_path(pod, "spec.initContainers"), i, c) {
		if (str_eq(pr_get_str(c, "restartPolicy"), "Always"))
			total++;
	}

	int64_t restarts = 0, sidecar_restarts = 0, ready = 0;
	ptime last = {0}, sidecar_last = {0};
	bool initializing = false;
	size_t ninit_spec = pr_get_len(pod, "spec.initContainers");
	json_array_foreach(json_path(pod, "status.initContainerStatuses"), i, c) {
		bool sidecar = is_sidecar(pod, pr_get_str(c, "name"));
		int64_t rc = pr_get_int(c, "restartCount");
		restarts += rc;
		note_restart(&last, c);
		if (sidecar) {
			sidecar_restarts += rc;
			note_restart(&sidecar_last, c);
		}
		json_t *term = json_path(c, "state.terminated");
		const char *wreason = pr_get_str(c, "state.waiting.reason");
		if (json_is_object(term) && pr_get_int(term, "exitCode") == 0)
			continue;
		if (sidecar && pr_get_bool(c, "started")) {
			if (pr_get_bool(c, "ready"))
				ready++;
			continue;
		}
		buf_reset(&reason);
		if (json_is_object(term)) {
			/* k8s: a failed init container shows Init:<reason>, else its signal or exit code */
			const char *tr = pr_get_str(term, "reason");
			if (*tr)
				buf_printf(&reason, "Init:%s", tr);
			else if (pr_get_int(term, "signal"))
				buf_printf(&reason, "Init:Signal:%lld", (long long)pr_get_int(term, "signal"));
			else
				buf_printf(&reason, "Init:ExitCode:%lld",
				           (long long)pr_get_int(term, "exitCode"));
		} else if (json_path(c, "state.waiting") && *wreason &&
		           !str_eq(wreason, "PodInitializing")) {
			buf_printf(&reason, "Init:%s", wreason);
		} else {
			buf_printf(&reason, "Init:%zu/%zu", i, ninit_spec);
		}
		initializing = true;
		break;
	}

	if (!initializing || str_eq(pr_condition_status(conds, "Initialized"), "True")) {
		restarts = sidecar_restarts;
		last = sidecar_last;
		bool has_running = false;
		json_t *statuses = json_path(pod, "status.containerStatuses");
		/* k8s: walked last to first, so the first container's state has the final word */
		for (size_t k = json_array_size(statuses); k-- > 0;) {
			c = json_array_get(statuses, k);
			restarts += pr_get_int(c, "restartCount");
			note_restart(&last, c);
			const char *wreason = pr_get_str(c, "state.waiting.reason");
			json_t *term = json_path(c, "state.terminated");
			if (json_is_object(json_path(c, "state.waiting")) && *wreason) {
				buf_reset(&reason);
				buf_puts(&reason, wreason);
			} else if (json_is_object(term) && *pr_get_str(term, "reason")) {
				buf_reset(&reason);
				buf_puts(&reason, pr_get_str(term, "reason"));
			} else if (json_is_object(term)) {
				buf_reset(&reason);
				if (pr_get_int(term, "signal"))
					buf_printf(&reason, "Signal:%lld", (long long)pr_get_int(term, "signal"));
				else
					buf_printf(&reason, "ExitCode:%lld", (long long)pr_get_int(term, "exitCode"));
			} else if (pr_get_bool(c, "ready") && json_is_object(json_path(c, "state.running"))) {
				has_running = true;
				ready++;
			}
		}
		/* k8s: "Completed" with a container still running reads Running (or NotReady) */
		if (str_eq(reason.p, "Completed") && has_running) {
			buf_reset(&reason);
			buf_puts(&reason, str_eq(pr_condition_status(conds, "Ready"), "True") ? "Running"
			                                                                     : "NotReady");
		}
	}

	json_t *deleted = json_path(pod, "metadata.deletionTimestamp");
	if (deleted && !json_is_null(deleted)) {
		/* k8s: a deleted pod on an unreachable node is Unknown; a deleted pod that has not
		 * finished is Terminating */
		if (str_eq(status_reason, "NodeLost")) {
			buf_reset(&reason);
			buf_puts(&reason, "Unknown");
		} else if (!phase_terminal(phase)) {
			buf_reset(&reason);
			buf_puts(&reason, "Terminating");
		}
	}

	pr_name(cells, pod);
	pr_fmt(cells, "%lld/%lld", (long long)ready, (long long)total);
	pr_str(cells, reason.p);
	if (restarts != 0 && last.set) {
		char ago[32];
		int64_t ns_sec = now_ns / 1000000000, ns_nsec = now_ns % 1000000000;
		printer_human_duration(pr_time_sub(ns_sec, ns_nsec, last.sec, last.nsec), ago);
		pr_fmt(cells, "%lld (%s ago)", (long long)restarts, ago);
	} else {
		pr_fmt(cells, "%lld", (long long)restarts);
	}
	pr_age(cells, pod, now_ns);
	buf_free(&reason);

	/* wide: k8s: status.podIP wins over podIPs[0] when both are set (v1 conversion) */
	const char *ip = pr_get_str(pod, "status.podIP");
	if (!*ip)
		ip = pr_get_str(json_array_get(json_path(pod, "status.podIPs"), 0), "ip");
	const char *node = pr_get_str(pod, "spec.nodeName");
	const char *nominated = pr_get_str(pod, "status.nominatedNodeName");
	pr_str(cells, *ip ? ip : "<none>");
	pr_str(cells, *node ? node : "<none>");
	pr_str(cells, *nominated ? nominated : "<none>");
	json_t *gates = json_path(pod, "spec.readinessGates");
	if (!json_array_size(gates)) {
		pr_str(cells, "<none>");
		return;
	}
	size_t met = 0;
	json_array_foreach(gates, i, c) {
		if (str_eq(pr_condition_status(conds, pr_get_str(c, "conditionType")), "True"))
			met++;
	}
	pr_fmt(cells, "%zu/%zu", met, json_array_size(gates));
}

const printer_def printers_pod[] = {
	PRINTER("", "Pod", pod_columns, pod_row),
};
const size_t printers_pod_n = ARRAY_SIZE(printers_pod);
