/* agent_status.c — a pod's status from a sync's report: container readiness from the
 * probes, phase by kube's rules (kubelet getPhase), and the pod conditions with their
 * transition times kept while they hold. Loop thread. */
#include <stdlib.h>
#include <string.h>

#include "agent/agent-internal.h"
#include "base/buf.h"
#include "base/json.h"
#include "base/util.h"

static json_t *find_cond(json_t *conds, const char *type)
{
	size_t i;
	json_t *c;
	json_array_foreach(conds, i, c)
	{
		if (str_eq(json_string_value(json_object_get(c, "type")), type))
			return c;
	}
	return NULL;
}

static json_t *cond(json_t *old, const char *type, bool ok, const char *reason, const char *msg,
                    const char *now)
{
	json_t *prev = find_cond(json_object_get(old, "conditions"), type);
	const char *status = ok ? "True" : "False";
	const char *since = json_string_value(json_object_get(prev, "lastTransitionTime"));
	if (!prev || !str_eq(json_string_value(json_object_get(prev, "status")), status) || !since)
		since = now;
	json_t *c = json_pack("{s:s, s:s, s:n, s:s}", "type", type, "status", status, "lastProbeTime",
	                      "lastTransitionTime", since);
	if (reason)
		json_object_set_new(c, "reason", json_string(reason));
	if (msg)
		json_object_set_new(c, "message", json_string(msg));
	return c;
}

static json_t *container_spec(json_t *pod, const char *list, const char *name)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_path(pod, list), i, c)
	{
		if (str_eq(json_string_value(json_object_get(c, "name")), name))
			return c;
	}
	return NULL;
}

/* Readiness of one running container: its readiness probe's verdict (none: ready). */
static bool probe_ready(agent_pod *ap, json_t *spec, const char *name, const char *which,
                        bool dflt)
{
	if (!json_object_get(spec, which))
		return true;
	json_t *p = json_object_get(ap ? ap->probes : NULL, name);
	json_t *v = json_object_get(p, which);
	return v ? json_is_true(v) : dflt;
}

static const char *phase_of(json_t *pod, json_t *report)
{
	if (json_is_true(json_object_get(report, "initFailed")))
		return "Failed";
	if (!json_is_true(json_object_get(report, "initDone")))
		return "Pending";
	int running = 0, waiting = 0, stopped = 0, succeeded = 0;
	size_t i;
	json_t *cs;
	json_array_foreach(json_object_get(report, "containerStatuses"), i, cs)
	{
		json_t *st = json_object_get(cs, "state");
		json_t *t = json_object_get(st, "terminated");
		if (json_object_get(st, "running")) {
			running++;
		} else if (t) {
			stopped++;
			if (json_integer_value(json_object_get(t, "exitCode")) == 0)
				succeeded++;
		} else if (json_object_get(json_object_get(cs, "lastState"), "terminated")) {
			stopped++;
		} else {
			waiting++;
		}
	}
	const char *policy = json_path_str(pod, "spec.restartPolicy");
	/* k8s: kubelet getPhase. */
	if (waiting > 0)
		return "Pending";
	if (running > 0)
		return "Running";
	if (stopped > 0) {
		if (str_eq(policy, "Always"))
			return "Running";
		if (stopped == succeeded)
			return "Succeeded";
		if (str_eq(policy, "OnFailure"))
			return "Running";
		return "Failed";
	}
	return "Pending";
}

static char *names_list(json_t *names)
{
	buf b = {0};
	buf_puts(&b, "[");
	size_t i;
	json_t *n;
	json_array_foreach(names, i, n)
	{
		if (i)
			buf_puts(&b, " ");
		buf_puts(&b, json_string_value(n));
	}
	buf_puts(&b, "]");
	return buf_take(&b);
}

json_t *agent_pod_status(agent *a, json_t *pod, json_t *report, agent_pod *ap)
{
	json_t *old = json_object_get(pod, "status");
	json_t *st = json_is_object(old) ? json_clone(old) : json_object();
	char now[32];
	time_rfc3339(time_now_ns(), false, now);
	json_object_set_new(st, "hostIP", json_string(a->node_ip));
	json_object_set_new(st, "hostIPs", json_pack("[{s:s}]", "ip", a->node_ip));
	if (!json_object_get(st, "startTime"))
		json_object_set_new(st, "startTime", json_string(now));
	json_t *conds = json_array();
	json_t *sched = find_cond(json_object_get(old, "conditions"), "PodScheduled");
	if (json_object_get(report, "sandboxError")) {
		json_object_set_new(st, "phase", json_string("Pending"));
		json_array_append_new(conds, cond(old, "PodReadyToStartContainers", false, NULL, NULL, now));
		json_array_append_new(conds, cond(old, "Initialized", true, NULL, NULL, now));
		json_array_append_new(conds, cond(old, "Ready", false, "ContainersNotReady", NULL, now));
		json_array_append_new(conds, cond(old, "ContainersReady", false, "ContainersNotReady", NULL, now));
		if (sched)
			json_array_append(conds, sched);
		json_object_set_new(st, "conditions", conds);
		/* k8s: without a sandbox every container is still waiting: ContainerCreating,
		 * or PodInitializing when the pod has init containers. */
		const char *why = json_array_size(json_path(pod, "spec.initContainers")) ? "PodInitializing"
		                                                                         : "ContainerCreating";
		static const char *const lists[2][2] = {{"initContainers", "initContainerStatuses"},
		                                        {"containers", "containerStatuses"}};
		for (int k = 0; k < 2; k++) {
			if (json_array_size(json_object_get(st, lists[k][1])))
				continue;
			json_t *arr = json_array();
			size_t i;
			json_t *c;
			json_array_foreach(json_path(pod, k ? "spec.containers" : "spec.initContainers"), i, c)
			{
				const char *img = json_string_value(json_object_get(c, "image"));
				json_array_append_new(
				    arr, json_pack("{s:s?, s:s, s:s, s:b, s:i, s:b, s:{s:{s:s}}, s:{}}", "name",
				                   json_string_value(json_object_get(c, "name")), "image", img ? img : "",
				                   "imageID", "", "ready", 0, "restartCount", 0, "started", 0,
				                   "state", "waiting", "reason", why,
				                   "lastState"));
			}
			if (json_array_size(arr))
				json_object_set_new(st, lists[k][1], arr);
			else
				json_decref(arr);
		}
		return st;
	}
	const char *ip = json_string_value(json_object_get(report, "podIP"));
	if (ip) {
		json_object_set_new(st, "podIP", json_string(ip));
		json_object_set_new(st, "podIPs", json_pack("[{s:s}]", "ip", ip));
	}
	json_t *unready = json_array(), *uninit = json_array();
	json_t *lists[2][2] = {{json_object_get(report, "initContainerStatuses"), NULL},
	                       {json_object_get(report, "containerStatuses"), NULL}};
	for (int k = 0; k < 2; k++) {
		json_t *arr = lists[k][0] ? json_clone(lists[k][0]) : json_array();
		size_t i;
		json_t *cs;
		json_array_foreach(arr, i, cs)
		{
			const char *name = json_string_value(json_object_get(cs, "name"));
			json_t *spec = container_spec(pod, k ? "spec.containers" : "spec.initContainers", name);
			json_t *state = json_object_get(cs, "state");
			bool running = json_object_get(state, "running") != NULL;
			bool sidecar = !k && str_eq(json_string_value(json_object_get(spec, "restartPolicy")), "Always");
			bool started = running && probe_ready(ap, spec, name, "startupProbe", false);
			bool ready;
			if (k || sidecar)
				ready = started && probe_ready(ap, spec, name, "readinessProbe", false);
			else /* k8s: an init container is ready once it completed */
				ready = str_eq(json_path_str(state, "terminated.reason"), "Completed");
			json_object_set_new(cs, "ready", json_boolean(ready));
			json_object_set_new(cs, "started", json_boolean(started));
			if (k && !ready)
				json_array_append_new(unready, json_string(name));
			if (!k && !ready && !(sidecar && started))
				json_array_append_new(uninit, json_string(name));
		}
		json_object_set_new(st, k ? "containerStatuses" : "initContainerStatuses", arr);
	}
	if (!json_array_size(json_object_get(st, "initContainerStatuses")))
		json_object_del(st, "initContainerStatuses");
	const char *phase = phase_of(pod, report);
	json_object_set_new(st, "phase", json_string(phase));
	bool terminal = str_eq(phase, "Succeeded") || str_eq(phase, "Failed");
	bool init_done = json_is_true(json_object_get(report, "initDone"));
	json_array_append_new(conds, cond(old, "PodReadyToStartContainers", !terminal, NULL, NULL, now));
	if (init_done || terminal) {
		json_array_append_new(conds, cond(old, "Initialized", true,
		                                  str_eq(phase, "Succeeded") ? "PodCompleted" : NULL, NULL, now));
	} else {
		_cleanup_free_ char *l = names_list(uninit);
		_cleanup_free_ char *m = xasprintf("containers with incomplete status: %s", l);
		json_array_append_new(conds, cond(old, "Initialized", false, "ContainersNotInitialized", m, now));
	}
	bool ready = init_done && !terminal && json_array_size(unready) == 0;
	if (terminal) {
		json_array_append_new(conds, cond(old, "Ready", false, "PodCompleted", NULL, now));
		json_array_append_new(conds, cond(old, "ContainersReady", false, "PodCompleted", NULL, now));
	} else if (ready) {
		json_array_append_new(conds, cond(old, "Ready", true, NULL, NULL, now));
		json_array_append_new(conds, cond(old, "ContainersReady", true, NULL, NULL, now));
	} else {
		_cleanup_free_ char *l = names_list(unready);
		_cleanup_free_ char *m = xasprintf("containers with unready status: %s", l);
		json_array_append_new(conds, cond(old, "Ready", false, "ContainersNotReady", m, now));
		json_array_append_new(conds, cond(old, "ContainersReady", false, "ContainersNotReady", m, now));
	}
	if (sched)
		json_array_append(conds, sched);
	json_object_set_new(st, "conditions", conds);
	json_decref(unready);
	json_decref(uninit);
	return st;
}
