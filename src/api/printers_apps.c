/* printers_apps.c — Table columns and cells of the workload kinds: apps/v1 Deployment,
 * ReplicaSet, StatefulSet, DaemonSet, ControllerRevision; batch/v1 Job and CronJob;
 * autoscaling HorizontalPodAutoscaler (v2 shape, v1 shape accepted); policy/v1
 * PodDisruptionBudget.
 *
 * Not for: Pods (printers_pod.c) or networking/storage/RBAC kinds (printers_misc.c).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/jsonpath.h"
#include "api/printers-internal.h"
#include "api/printers.h"
#include "base/json.h"

#define COL_CONTAINERS PR_WIDE("Containers", "string", PR_DESC_CONTAINERS)
#define COL_IMAGES PR_WIDE("Images", "string", PR_DESC_IMAGES)
#define COL_SELECTOR PR_WIDE("Selector", "string", "Label selector of the pods it manages.")

/* k8s: spec.replicas defaults to 1 */
static int64_t replicas(json_t *o)
{
	return json_path(o, "spec.replicas") ? pr_get_int(o, "spec.replicas") : 1;
}

static void containers_cells(json_t *cells, json_t *containers)
{
	char *names, *images;
	pr_containers(containers, &names, &images);
	pr_take(cells, names);
	pr_take(cells, images);
}

/* ---- Deployment ---- */

static const printer_column deployment_columns[] = {
	PR_COL_NAME,
	PR_COL("Ready", "string", "Ready pods out of desired pods."),
	PR_COL("Up-to-date", "string", "Pods running the current pod template."),
	PR_COL("Available", "string", "Pods ready for at least minReadySeconds."),
	PR_COL_AGE,
	COL_CONTAINERS,
	COL_IMAGES,
	COL_SELECTOR,
};

static void deployment_row(json_t *o, json_t *cells, int64_t now_ns)
{
	pr_name(cells, o);
	pr_fmt(cells, "%lld/%lld", (long long)pr_get_int(o, "status.readyReplicas"),
	       (long long)replicas(o));
	pr_int(cells, pr_get_int(o, "status.updatedReplicas"));
	pr_int(cells, pr_get_int(o, "status.availableReplicas"));
	pr_age(cells, o, now_ns);
	containers_cells(cells, json_path(o, "spec.template.spec.containers"));
	bool ok;
	char *sel = pr_selector(json_path(o, "spec.selector"), &ok);
	pr_take(cells, ok ? sel : xstrdup("<invalid>"));
}

/* ---- ReplicaSet ---- */

static const printer_column replicaset_columns[] = {
	PR_COL_NAME,
	PR_COL("Desired", "integer", "Number of pods wanted (spec.replicas)."),
	PR_COL("Current", "integer", "Number of pods that exist (status.replicas)."),
	PR_COL("Ready", "integer", "Number of ready pods."),
	PR_COL_AGE,
	COL_CONTAINERS,
	COL_IMAGES,
	COL_SELECTOR,
};

static void replicaset_row(json_t *o, json_t *cells, int64_t now_ns)
{
	pr_name(cells, o);
	pr_int(cells, replicas(o));
	pr_int(cells, pr_get_int(o, "status.replicas"));
	pr_int(cells, pr_get_int(o, "status.readyReplicas"));
	pr_age(cells, o, now_ns);
	containers_cells(cells, json_path(o, "spec.template.spec.containers"));
	pr_take(cells, pr_format_selector(json_path(o, "spec.selector")));
}

/* ---- StatefulSet ---- */

static const printer_column statefulset_columns[] = {
	PR_COL_NAME,
	PR_COL("Ready", "string", "Ready pods out of desired pods."),
	PR_COL_AGE,
	COL_CONTAINERS,
	COL_IMAGES,
};

static void statefulset_row(json_t *o, json_t *cells, int64_t now_ns)
{
	pr_name(cells, o);
	pr_fmt(cells, "%lld/%lld", (long long)pr_get_int(o, "status.readyReplicas"),
	       (long long)replicas(o));
	pr_age(cells, o, now_ns);
	containers_cells(cells, json_path(o, "spec.template.spec.containers"));
}

/* ---- DaemonSet ---- */

static const printer_column daemonset_columns[] = {
	PR_COL_NAME,
	PR_COL("Desired", "integer", "Nodes that should run the daemon pod."),
	PR_COL("Current", "integer", "Nodes running at least one daemon pod."),
	PR_COL("Ready", "integer", "Nodes whose daemon pod is ready."),
	PR_COL("Up-to-date", "integer", "Nodes running the current pod template."),
	PR_COL("Available", "integer", "Nodes whose daemon pod is available."),
	PR_COL("Node Selector", "string", "Node labels the daemon pods are restricted to."),
	PR_COL_AGE,
	COL_CONTAINERS,
	COL_IMAGES,
	COL_SELECTOR,
};

static void daemonset_row(json_t *o, json_t *cells, int64_t now_ns)
{
	pr_name(cells, o);
	pr_int(cells, pr_get_int(o, "status.desiredNumberScheduled"));
	pr_int(cells, pr_get_int(o, "status.currentNumberScheduled"));
	pr_int(cells, pr_get_int(o, "status.numberReady"));
	pr_int(cells, pr_get_int(o, "status.updatedNumberScheduled"));
	pr_int(cells, pr_get_int(o, "status.numberAvailable"));
	pr_take(cells, pr_labels(json_path(o, "spec.template.spec.nodeSelector")));
	pr_age(cells, o, now_ns);
	containers_cells(cells, json_path(o, "spec.template.spec.containers"));
	pr_take(cells, pr_format_selector(json_path(o, "spec.selector")));
}

/* ---- ControllerRevision ---- */

static const printer_column revision_columns[] = {
	PR_COL_NAME,
	PR_COL("Controller", "string", "The controller owning the revision, as kind.group/name."),
	PR_COL("Revision", "string", "Revision number of the recorded state."),
	PR_COL_AGE,
};

/* k8s: the controller reference prints as lower("Kind.group")/name ("Kind" for core). */
static char *controller_of(json_t *o)
{
	size_t i;
	json_t *ref;
	json_array_foreach(json_path(o, "metadata.ownerReferences"), i, ref) {
		if (!pr_get_bool(ref, "controller"))
			continue;
		const char *av = pr_get_str(ref, "apiVersion");
		const char *slash = strchr(av, '/');
		const char *kind = pr_get_str(ref, "kind");
		char *s = slash ? xasprintf("%s.%.*s/", kind, (int)(slash - av), av)
		                : xasprintf("%s/", kind);
		for (char *c = s; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		if (!*kind) {
			free(s);
			return xstrdup(pr_get_str(ref, "name"));
		}
		char *r = xasprintf("%s%s", s, pr_get_str(ref, "name"));
		free(s);
		return r;
	}
	return xstrdup("<none>");
}

static void revision_row(json_t *o, json_t *cells, int64_t now_ns)
{
	pr_name(cells, o);
	pr_take(cells, controller_of(o));
	pr_int(cells, pr_get_int(o, "revision"));
	pr_age(cells, o, now_ns);
}

/* ---- Job ---- */

static const printer_column job_columns[] = {
	PR_COL_NAME,
	PR_COL("Status", "string", "Complete, Failed, Terminating, Suspended, FailureTarget or Running."),
	PR_COL("Completions", "string", "Succeeded pods out of the completions wanted."),
	PR_COL("Duration", "string", "How long the job ran, or has been running."),
	PR_COL_AGE,
	COL_CONTAINERS,
	COL_IMAGES,
	COL_SELECTOR,
};

static void job_row(json_t *o, json_t *cells, int64_t now_ns)
{
	int64_t succeeded = pr_get_int(o, "status.succeeded");
	char completions[96];
	if (json_is_integer(json_path(o, "spec.completions"))) {
		snprintf(completions, sizeof completions, "%lld/%lld", (long long)succeeded,
		         (long long)pr_get_int(o, "spec.completions"));
	} else {
		/* k8s: without completions, one success is enough; parallelism shows as "of N" */
		int64_t par = pr_get_int(o, "spec.parallelism");
		if (par > 1)
			snprintf(completions, sizeof completions, "%lld/1 of %lld", (long long)succeeded,
			         (long long)par);
		else
			snprintf(completions, sizeof completions, "%lld/1", (long long)succeeded);
	}

	char dur[32] = "";
	int64_t ss, sn, cs, cn;
	if (pr_time(pr_get_str(o, "status.startTime"), &ss, &sn) > 0) {
		if (pr_time(pr_get_str(o, "status.completionTime"), &cs, &cn) > 0)
			printer_human_duration(pr_time_sub(cs, cn, ss, sn), dur);
		else
			printer_human_duration(pr_time_sub(now_ns / 1000000000, now_ns % 1000000000, ss, sn),
			                       dur);
	}

	/* k8s: the first condition of each type decides; checked in this order */
	json_t *conds = json_path(o, "status.conditions");
	json_t *deleted = json_path(o, "metadata.deletionTimestamp");
	const char *status = "Running";
	if (str_eq(pr_condition_status(conds, "Complete"), "True"))
		status = "Complete";
	else if (str_eq(pr_condition_status(conds, "Failed"), "True"))
		status = "Failed";
	else if (deleted && !json_is_null(deleted))
		status = "Terminating";
	else if (str_eq(pr_condition_status(conds, "Suspended"), "True"))
		status = "Suspended";
	else if (str_eq(pr_condition_status(conds, "FailureTarget"), "True"))
		status = "FailureTarget";

	pr_name(cells, o);
	pr_str(cells, status);
	pr_str(cells, completions);
	pr_str(cells, dur);
	pr_age(cells, o, now_ns);
	containers_cells(cells, json_path(o, "spec.template.spec.containers"));
	pr_take(cells, pr_format_selector(json_path(o, "spec.selector")));
}

/* ---- CronJob ---- */

static const printer_column cronjob_columns[] = {
	PR_COL_NAME,
	PR_COL("Schedule", "string", "Cron schedule of the job."),
	PR_COL("Timezone", "string", "Time zone the schedule is read in."),
	PR_COL("Suspend", "boolean", "Whether new runs are suspended."),
	PR_COL("Active", "integer", "Number of jobs currently running."),
	PR_COL("Last Schedule", "string", "Time since a job was last scheduled."),
	PR_COL_AGE,
	COL_CONTAINERS,
	COL_IMAGES,
	COL_SELECTOR,
};

static void cronjob_row(json_t *o, json_t *cells, int64_t now_ns)
{
	json_t *suspend = json_path(o, "spec.suspend");
	const char *tz = json_path_str(o, "spec.timeZone");
	const char *last = pr_get_str(o, "status.lastScheduleTime");
	pr_name(cells, o);
	pr_str(cells, pr_get_str(o, "spec.schedule"));
	pr_str(cells, tz ? tz : "<none>");
	pr_str(cells, json_is_boolean(suspend) ? (json_is_true(suspend) ? "True" : "False")
	                                       : "<unset>");
	pr_int(cells, (int64_t)pr_get_len(o, "status.active"));
	if (*last) {
		char since[32];
		pr_since(last, now_ns, since);
		pr_str(cells, since);
	} else {
		pr_str(cells, "<none>");
	}
	pr_age(cells, o, now_ns);
	containers_cells(cells, json_path(o, "spec.jobTemplate.spec.template.spec.containers"));
	pr_take(cells, pr_format_selector(json_path(o, "spec.jobTemplate.spec.selector")));
}

/* ---- HorizontalPodAutoscaler ---- */

static const printer_column hpa_columns[] = {
	PR_COL_NAME,
	PR_COL("Reference", "string", "The scaled workload, as Kind/name."),
	PR_COL("Targets", "string", "Current/target value of each metric."),
	PR_COL("MinPods", "string", "Lower bound on replicas."),
	PR_COL("MaxPods", "string", "Upper bound on replicas."),
	PR_COL("Replicas", "string", "Current number of replicas."),
	PR_COL_AGE,
};

/* A *resource.Quantity as Go prints it: "<nil>" when absent. */
static char *qptr(json_t *q)
{
	return q ? pr_quantity(q) : xstrdup("<nil>");
}

static char *percent_or(json_t *v, const char *dflt)
{
	return json_is_integer(v) ? xasprintf("%lld%%", (long long)json_integer_value(v))
	                          : xstrdup(dflt);
}

/* k8s: formatHPAMetrics, one metric spec against the status at the same index. */
static char *hpa_metric(json_t *spec, json_t *st)
{
	const char *type = pr_get_str(spec, "type");
	if (str_eq(type, "External") || str_eq(type, "Object")) {
		const char *key = str_eq(type, "External") ? "external" : "object";
		json_t *target = json_path(json_object_get(spec, key), "target");
		json_t *cur = json_object_get(st, key);
		if (json_object_get(target, "averageValue")) {
			json_t *avg = json_path(cur, "current.averageValue");
			_cleanup_free_ char *c = cur && avg ? pr_quantity(avg) : xstrdup("<unknown>");
			_cleanup_free_ char *t = qptr(json_object_get(target, "averageValue"));
			return xasprintf("%s/%s (avg)", c, t);
		}
		_cleanup_free_ char *c = cur ? qptr(json_path(cur, "current.value")) : xstrdup("<unknown>");
		_cleanup_free_ char *t = qptr(json_object_get(target, "value"));
		return xasprintf("%s/%s", c, t);
	}
	if (str_eq(type, "Pods")) {
		json_t *cur = json_object_get(st, "pods");
		_cleanup_free_ char *c = cur ? qptr(json_path(cur, "current.averageValue"))
		                             : xstrdup("<unknown>");
		_cleanup_free_ char *t = qptr(json_path(spec, "pods.target.averageValue"));
		return xasprintf("%s/%s", c, t);
	}
	if (str_eq(type, "Resource") || str_eq(type, "ContainerResource")) {
		const char *key = str_eq(type, "Resource") ? "resource" : "containerResource";
		json_t *src = json_object_get(spec, key);
		json_t *target = json_object_get(src, "target");
		json_t *cur = json_object_get(st, key);
		const char *name = pr_get_str(src, "name");
		if (json_object_get(target, "averageValue")) {
			_cleanup_free_ char *c = cur ? qptr(json_path(cur, "current.averageValue"))
			                             : xstrdup("<unknown>");
			_cleanup_free_ char *t = qptr(json_object_get(target, "averageValue"));
			return xasprintf("%s: %s/%s", name, c, t);
		}
		_cleanup_free_ char *c =
		    percent_or(cur ? json_path(cur, "current.averageUtilization") : NULL, "<unknown>");
		_cleanup_free_ char *t = percent_or(json_object_get(target, "averageUtilization"), "<auto>");
		return xasprintf("%s: %s/%s", name, c, t);
	}
	return xstrdup("<unknown type>");
}

static char *hpa_targets(json_t *o)
{
	json_t *specs = json_path(o, "spec.metrics");
	json_t *stats = json_path(o, "status.currentMetrics");
	_cleanup_json_ json_t *v1specs = NULL, *v1stats = NULL;
	json_t *v1target = json_path(o, "spec.targetCPUUtilizationPercentage");
	if (!specs && json_is_integer(v1target)) {
		/* autoscaling/v1: the CPU target converts to one Resource metric */
		v1specs = json_pack("[{s:s, s:{s:s, s:{s:s, s:O}}}]", "type", "Resource", "resource",
		                    "name", "cpu", "target", "type", "Utilization",
		                    "averageUtilization", v1target);
		json_t *cur = json_path(o, "status.currentCPUUtilizationPercentage");
		if (json_is_integer(cur))
			v1stats = json_pack("[{s:s, s:{s:s, s:{s:O}}}]", "type", "Resource", "resource",
			                    "name", "cpu", "current", "averageUtilization", cur);
		specs = v1specs;
		stats = v1stats;
	}
	size_t n = json_array_size(specs);
	if (!n)
		return xstrdup("<none>");
	char **list = xcalloc(n, sizeof *list);
	for (size_t i = 0; i < n; i++)
		list[i] = hpa_metric(json_array_get(specs, i), json_array_get(stats, i));
	char *s = pr_list_more((const char **)list, n, 2, ", ", NULL);
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
	return s;
}

static void hpa_row(json_t *o, json_t *cells, int64_t now_ns)
{
	json_t *minr = json_path(o, "spec.minReplicas");
	pr_name(cells, o);
	pr_fmt(cells, "%s/%s", pr_get_str(o, "spec.scaleTargetRef.kind"),
	       pr_get_str(o, "spec.scaleTargetRef.name"));
	pr_take(cells, hpa_targets(o));
	if (json_is_integer(minr))
		pr_fmt(cells, "%lld", (long long)json_integer_value(minr));
	else
		pr_str(cells, "<unset>");
	pr_int(cells, pr_get_int(o, "spec.maxReplicas"));
	pr_int(cells, pr_get_int(o, "status.currentReplicas"));
	pr_age(cells, o, now_ns);
}

/* ---- PodDisruptionBudget ---- */

static const printer_column pdb_columns[] = {
	PR_COL_NAME,
	PR_COL("Min Available", "string", "Pods that must stay available (number or percentage)."),
	PR_COL("Max Unavailable", "string", "Pods that may be unavailable (number or percentage)."),
	PR_COL("Allowed Disruptions", "integer", "Pods that may be evicted right now."),
	PR_COL_AGE,
};

static void pdb_row(json_t *o, json_t *cells, int64_t now_ns)
{
	json_t *minav = json_path(o, "spec.minAvailable"), *maxun = json_path(o, "spec.maxUnavailable");
	pr_name(cells, o);
	pr_take(cells, minav ? pr_int_or_string(minav) : xstrdup("N/A"));
	pr_take(cells, maxun ? pr_int_or_string(maxun) : xstrdup("N/A"));
	pr_int(cells, pr_get_int(o, "status.disruptionsAllowed"));
	pr_age(cells, o, now_ns);
}

const printer_def printers_apps[] = {
	PRINTER("apps", "Deployment", deployment_columns, deployment_row),
	PRINTER("apps", "ReplicaSet", replicaset_columns, replicaset_row),
	PRINTER("apps", "StatefulSet", statefulset_columns, statefulset_row),
	PRINTER("apps", "DaemonSet", daemonset_columns, daemonset_row),
	PRINTER("apps", "ControllerRevision", revision_columns, revision_row),
	PRINTER("batch", "Job", job_columns, job_row),
	PRINTER("batch", "CronJob", cronjob_columns, cronjob_row),
	PRINTER("autoscaling", "HorizontalPodAutoscaler", hpa_columns, hpa_row),
	PRINTER("policy", "PodDisruptionBudget", pdb_columns, pdb_row),
};
const size_t printers_apps_n = ARRAY_SIZE(printers_apps);
