/* defaults_apps.c — defaulting of workload and autoscaling kinds: apps/v1 Deployment,
 * ReplicaSet, StatefulSet, DaemonSet; batch/v1 Job and CronJob; autoscaling v1 and v2
 * HorizontalPodAutoscaler.
 *
 * Not for: the pod templates' own defaults (defaults_pod.c) or a Job's generated
 * selector (defaults_on_create in defaults_core.c).
 */
#include "api/defaults-internal.h"
#include "base/json.h"
#include "base/util.h"

/* k8s: apps/v1 SetDefaults_Deployment. */
void d_kind_deployment(json_t *obj)
{
	json_t *spec = d_obj(obj, "spec");
	if (!spec)
		return;
	d_int(spec, "replicas", 1);
	json_t *strategy = d_obj(spec, "strategy");
	d_str(strategy, "type", "RollingUpdate");
	if (str_eq(json_string_value(json_object_get(strategy, "type")), "RollingUpdate")) {
		json_t *ru = d_obj(strategy, "rollingUpdate");
		d_set(ru, "maxUnavailable", json_string("25%"));
		d_set(ru, "maxSurge", json_string("25%"));
	}
	d_int(spec, "revisionHistoryLimit", 10);
	d_int(spec, "progressDeadlineSeconds", 600);
	d_pod_template(d_obj(spec, "template"));
}

/* k8s: apps/v1 SetDefaults_ReplicaSet: replicas 1. */
void d_kind_replicaset(json_t *obj)
{
	json_t *spec = d_obj(obj, "spec");
	d_int(spec, "replicas", 1);
	d_pod_template(d_obj(spec, "template"));
}

/* k8s: apps/v1 SetDefaults_StatefulSet: podManagementPolicy OrderedReady; an unset
 * updateStrategy becomes RollingUpdate with partition 0; PVC retention Retain/Retain;
 * replicas 1; revisionHistoryLimit 10. */
void d_kind_statefulset(json_t *obj)
{
	json_t *spec = d_obj(obj, "spec");
	if (!spec)
		return;
	d_str(spec, "podManagementPolicy", "OrderedReady");
	json_t *us = d_obj(spec, "updateStrategy");
	const char *type = json_string_value(json_object_get(us, "type"));
	if (us && (!type || !*type)) {
		json_object_set_new(us, "type", json_string("RollingUpdate"));
		d_obj(us, "rollingUpdate");
	}
	json_t *ru = d_get_obj(us, "rollingUpdate");
	if (ru && str_eq(json_string_value(json_object_get(us, "type")), "RollingUpdate"))
		d_int(ru, "partition", 0);
	json_t *ret = d_obj(spec, "persistentVolumeClaimRetentionPolicy");
	d_str(ret, "whenDeleted", "Retain");
	d_str(ret, "whenScaled", "Retain");
	d_int(spec, "replicas", 1);
	d_int(spec, "revisionHistoryLimit", 10);
	d_pod_template(d_obj(spec, "template"));
	size_t i;
	json_t *pvc;
	json_array_foreach(d_get_arr(spec, "volumeClaimTemplates"), i, pvc)
	{
		json_t *meta = d_obj(pvc, "metadata");
		if (meta && !json_object_get(meta, "creationTimestamp"))
			json_object_set_new(meta, "creationTimestamp", json_null());
		d_pvc(pvc);
	}
}

/* k8s: apps/v1 SetDefaults_DaemonSet: updateStrategy RollingUpdate with maxUnavailable 1
 * and maxSurge 0; revisionHistoryLimit 10. */
void d_kind_daemonset(json_t *obj)
{
	json_t *spec = d_obj(obj, "spec");
	if (!spec)
		return;
	json_t *us = d_obj(spec, "updateStrategy");
	d_str(us, "type", "RollingUpdate");
	if (str_eq(json_string_value(json_object_get(us, "type")), "RollingUpdate")) {
		json_t *ru = d_obj(us, "rollingUpdate");
		d_set(ru, "maxUnavailable", json_integer(1));
		d_set(ru, "maxSurge", json_integer(0));
	}
	d_int(spec, "revisionHistoryLimit", 10);
	d_pod_template(d_obj(spec, "template"));
}

/* k8s: batch/v1 SetDefaults_Job. */
void d_kind_job(json_t *obj)
{
	json_t *spec = d_obj(obj, "spec");
	if (!spec)
		return;
	/* both unset: a non-parallel job, 1 and 1; else parallelism alone defaults to 1 */
	if (d_unset(spec, "completions") && d_unset(spec, "parallelism"))
		d_int(spec, "completions", 1);
	d_int(spec, "parallelism", 1);
	/* with a per-index backoff limit, the global one defaults to MaxInt32 */
	d_int(spec, "backoffLimit", d_unset(spec, "backoffLimitPerIndex") ? 6 : 2147483647);
	/* the job takes its template's labels when it has none of its own */
	json_t *tlabels = d_get_obj(d_get_obj(d_get_obj(spec, "template"), "metadata"), "labels");
	json_t *meta = d_obj(obj, "metadata");
	if (tlabels && meta && json_object_size(d_get_obj(meta, "labels")) == 0)
		json_object_set_new(meta, "labels", json_clone(tlabels));
	d_set(spec, "completionMode", json_string("NonIndexed"));
	d_bool(spec, "suspend", false);
	json_t *pfp = d_get_obj(spec, "podFailurePolicy");
	size_t i, j;
	json_t *rule, *pat;
	json_array_foreach(d_get_arr(pfp, "rules"), i, rule)
	{
		/* an onPodConditions pattern's status defaults to "True" */
		json_array_foreach(d_get_arr(rule, "onPodConditions"), j, pat) d_str(pat, "status", "True");
	}
	d_set(spec, "podReplacementPolicy", json_string(pfp ? "Failed" : "TerminatingOrFailed"));
	d_pod_template(d_obj(spec, "template"));
}

/* k8s: batch/v1 SetDefaults_CronJob; the job template gets pod template defaults only
 * (Job defaults apply when the controller creates the Job). */
void d_kind_cronjob(json_t *obj)
{
	json_t *spec = d_obj(obj, "spec");
	if (!spec)
		return;
	d_str(spec, "concurrencyPolicy", "Allow");
	d_bool(spec, "suspend", false);
	d_int(spec, "successfulJobsHistoryLimit", 3);
	d_int(spec, "failedJobsHistoryLimit", 1);
	json_t *jt = d_obj(spec, "jobTemplate");
	json_t *meta = d_obj(jt, "metadata");
	if (meta && !json_object_get(meta, "creationTimestamp"))
		json_object_set_new(meta, "creationTimestamp", json_null());
	d_pod_template(d_obj(d_obj(jt, "spec"), "template"));
}

/* k8s: HPAScaleUpRules / HPAScaleDownRules, the behavior kube fills in. */
static json_t *scale_up_rules(void)
{
	return json_pack("{s:[{s:s,s:i,s:i},{s:s,s:i,s:i}],s:s,s:i}", "policies", "type", "Pods",
	                 "value", 4, "periodSeconds", 15, "type", "Percent", "value", 100,
	                 "periodSeconds", 15, "selectPolicy", "Max", "stabilizationWindowSeconds", 0);
}

static json_t *scale_down_rules(void)
{
	return json_pack("{s:[{s:s,s:i,s:i}],s:s,s:i}", "policies", "type", "Percent", "value",
	                 100, "periodSeconds", 15, "selectPolicy", "Max",
	                 "stabilizationWindowSeconds", 300);
}

/* k8s: GenerateHPAScale{Up,Down}Rules: a missing rule set is the default one; a given one
 * gets the default's policies, selectPolicy and stabilizationWindowSeconds where unset. */
static void d_scaling_rules(json_t *behavior, const char *key, json_t *def /* stolen */)
{
	json_t *r = d_get_obj(behavior, key);
	if (!r) {
		if (d_unset(behavior, key))
			json_object_set(behavior, key, def);
		json_decref(def);
		return;
	}
	const char *k;
	json_t *v;
	json_object_foreach(def, k, v) if (d_unset(r, k)) json_object_set(r, k, v);
	json_decref(def);
}

/* k8s: autoscaling/v2 SetDefaults_HorizontalPodAutoscaler: minReplicas 1; no metrics means
 * CPU at 80% average utilization; a given behavior is completed with kube's rules. */
void d_kind_hpa_v2(json_t *obj)
{
	json_t *spec = d_obj(obj, "spec");
	if (!spec)
		return;
	d_int(spec, "minReplicas", 1);
	if (json_array_size(d_get_arr(spec, "metrics")) == 0)
		json_object_set_new(spec, "metrics",
		                    json_pack("[{s:s,s:{s:s,s:{s:s,s:i}}}]", "type", "Resource",
		                              "resource", "name", "cpu", "target", "type",
		                              "Utilization", "averageUtilization", 80));
	json_t *behavior = d_get_obj(spec, "behavior");
	if (behavior) {
		d_scaling_rules(behavior, "scaleUp", scale_up_rules());
		d_scaling_rules(behavior, "scaleDown", scale_down_rules());
	}
}

/* k8s: autoscaling/v1 SetDefaults_HorizontalPodAutoscaler: minReplicas 1. */
void d_kind_hpa_v1(json_t *obj)
{
	d_int(d_obj(obj, "spec"), "minReplicas", 1);
}
