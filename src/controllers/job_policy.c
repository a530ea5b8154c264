/* job_policy.c — facts about a Job's failed pods: whether a pod counts as failed, when it
 * finished, how spec.podFailurePolicy classifies it, and how long pod re-creation backs
 * off after failures.
 * Not for: counting pods into status (job_status.c) or acting on the verdicts (job.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/util.h"
#include "controllers/job-internal.h"

#define NS_PER_S 1000000000LL
/* k8s: DefaultJobPodFailureBackOff 10 s and MaxJobPodFailureBackOff 10 min (the
 * controller's constants since 1.28; older docs say six minutes). */
#define BACKOFF_INITIAL_NS (10 * NS_PER_S)
#define BACKOFF_MAX_NS     (600 * NS_PER_S)

json_t *job_condition(json_t *obj, const char *type)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_path(obj, "status.conditions"), i, c)
	{
		if (str_eq(json_string_value(json_object_get(c, "type")), type))
			return c;
	}
	return NULL;
}

bool job_is_finished(json_t *job, const char **type)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_path(job, "status.conditions"), i, c)
	{
		const char *t = json_string_value(json_object_get(c, "type"));
		if ((str_eq(t, "Complete") || str_eq(t, "Failed")) &&
		    str_eq(json_string_value(json_object_get(c, "status")), "True")) {
			if (type)
				*type = t;
			return true;
		}
	}
	return false;
}

bool job_pod_has_finalizer(json_t *pod)
{
	size_t i;
	json_t *f;
	json_array_foreach(json_path(pod, "metadata.finalizers"), i, f)
	{
		if (str_eq(json_string_value(f), JOB_TRACKING_FINALIZER))
			return true;
	}
	return false;
}

bool job_pod_terminating(json_t *pod)
{
	const char *phase = json_path_str(pod, "status.phase");
	return json_path(pod, "metadata.deletionTimestamp") && !str_eq(phase, "Succeeded") &&
	       !str_eq(phase, "Failed");
}

bool job_only_replace_failed(json_t *job)
{
	json_t *spec = json_object_get(job, "spec");
	return str_eq(json_string_value(json_object_get(spec, "podReplacementPolicy")), "Failed") ||
	       json_is_object(json_object_get(spec, "podFailurePolicy"));
}

bool job_pod_failed(json_t *job, json_t *pod)
{
	const char *phase = json_path_str(pod, "status.phase");
	if (str_eq(phase, "Failed"))
		return true;
	if (job_only_replace_failed(job))
		return false;
	/* k8s: a pod deleted before it succeeded counts as failed (orphans PodGC removes
	 * never reach the Failed phase). */
	return json_path(pod, "metadata.deletionTimestamp") && !str_eq(phase, "Succeeded");
}

static int64_t parse_time(json_t *v)
{
	int64_t t;
	const char *s = json_string_value(v);
	return s && time_parse_rfc3339(s, &t) == 0 ? t : 0;
}

int64_t job_pod_finish_ns(json_t *pod)
{
	json_t *st = json_object_get(pod, "status");
	json_t *cs = json_object_get(st, "containerStatuses");
	int64_t latest = 0;
	bool all = json_array_size(cs) > 0;
	size_t i;
	json_t *c;
	json_array_foreach(cs, i, c)
	{
		int64_t t = parse_time(json_path(c, "state.terminated.finishedAt"));
		if (!t) {
			all = false;
			break;
		}
		if (t > latest)
			latest = t;
	}
	if (all)
		return latest;
	json_array_foreach(json_object_get(st, "conditions"), i, c)
	{
		if (str_eq(json_string_value(json_object_get(c, "type")), "Ready") &&
		    str_eq(json_string_value(json_object_get(c, "status")), "False")) {
			int64_t t = parse_time(json_object_get(c, "lastTransitionTime"));
			if (t)
				return t;
		}
	}
	int64_t del = parse_time(json_path(pod, "metadata.deletionTimestamp"));
	if (del)
		return del -
		       json_integer_value(json_path(pod, "metadata.deletionGracePeriodSeconds")) *
		           NS_PER_S;
	return parse_time(json_path(pod, "metadata.creationTimestamp"));
}

int64_t job_backoff_remaining_ns(int failures, int64_t last_failure_ns, int64_t now_ns)
{
	if (failures <= 0)
		return 0;
	int64_t d = BACKOFF_INITIAL_NS;
	for (int i = 1; i < failures; i++) {
		d *= 2;
		if (d >= BACKOFF_MAX_NS) {
			d = BACKOFF_MAX_NS;
			break;
		}
	}
	int64_t elapsed = now_ns - last_failure_ns;
	return d < elapsed ? 0 : d - elapsed;
}

/* The first terminated container (regular, then init) with a non-zero exit code that
 * the onExitCodes requirement matches, or NULL. */
static json_t *match_exit_codes(json_t *pod, json_t *req)
{
	const char *only = json_string_value(json_object_get(req, "containerName"));
	const char *op = json_string_value(json_object_get(req, "operator"));
	json_t *values = json_object_get(req, "values");
	const char *lists[] = {"status.containerStatuses", "status.initContainerStatuses"};
	for (size_t l = 0; l < ARRAY_SIZE(lists); l++) {
		size_t i;
		json_t *cs;
		json_array_foreach(json_path(pod, lists[l]), i, cs)
		{
			json_t *term = json_path(cs, "state.terminated");
			if (!term)
				continue;
			if (only && !str_eq(json_string_value(json_object_get(cs, "name")), only))
				continue;
			json_int_t code = json_integer_value(json_object_get(term, "exitCode"));
			if (code == 0)
				continue;
			bool in = false;
			size_t k;
			json_t *v;
			json_array_foreach(values, k, v) in |= json_integer_value(v) == code;
			if ((str_eq(op, "In") && in) || (str_eq(op, "NotIn") && !in))
				return cs;
		}
	}
	return NULL;
}

static json_t *match_conditions(json_t *pod, json_t *patterns)
{
	size_t i, k;
	json_t *c, *p;
	json_array_foreach(json_path(pod, "status.conditions"), i, c)
	{
		json_array_foreach(patterns, k, p)
		{
			if (str_eq(json_string_value(json_object_get(c, "type")),
			           json_string_value(json_object_get(p, "type"))) &&
			    str_eq(json_string_value(json_object_get(c, "status")),
			           json_string_value(json_object_get(p, "status"))))
				return c;
		}
	}
	return NULL;
}

job_pfp_action job_pfp_match(json_t *policy, json_t *pod, char **msg)
{
	if (msg)
		*msg = NULL;
	if (!json_is_object(policy))
		return JOB_PFP_NONE;
	const char *ns = json_path_str(pod, "metadata.namespace");
	const char *name = json_path_str(pod, "metadata.name");
	size_t i;
	json_t *rule;
	/* k8s: rules are evaluated in order; the first match decides. */
	json_array_foreach(json_object_get(policy, "rules"), i, rule)
	{
		const char *action = json_string_value(json_object_get(rule, "action"));
		json_t *codes = json_object_get(rule, "onExitCodes");
		json_t *conds = json_object_get(rule, "onPodConditions");
		json_t *cs = NULL, *cond = NULL;
		if (json_is_object(codes))
			cs = match_exit_codes(pod, codes);
		else if (json_is_array(conds))
			cond = match_conditions(pod, conds);
		if (!cs && !cond)
			continue;
		if (str_eq(action, "Ignore"))
			return JOB_PFP_IGNORE;
		if (str_eq(action, "Count"))
			return JOB_PFP_COUNT;
		if (str_eq(action, "FailIndex"))
			return JOB_PFP_FAIL_INDEX;
		if (str_eq(action, "FailJob")) {
			if (msg && cs)
				*msg = xasprintf(
				    "Container %s for pod %s/%s failed with exit code %lld "
				    "matching FailJob rule at index %zu",
				    json_string_value(json_object_get(cs, "name")), ns, name,
				    (long long)json_integer_value(
				        json_path(cs, "state.terminated.exitCode")),
				    i);
			else if (msg)
				*msg = xasprintf(
				    "Pod %s/%s has condition %s matching FailJob rule at index "
				    "%zu",
				    ns, name, json_string_value(json_object_get(cond, "type")), i);
			return JOB_PFP_FAIL_JOB;
		}
	}
	return JOB_PFP_NONE;
}

bool job_pfp_counts(job_pfp_action a)
{
	return a != JOB_PFP_IGNORE;
}
