/* validate_apps.c — validation of workload kinds: apps/v1 Deployment, ReplicaSet,
 * StatefulSet, DaemonSet, ControllerRevision; autoscaling v1/v2 HorizontalPodAutoscaler.
 * Selectors must be non-empty and match the template's labels, the template must restart
 * Always, and selectors are immutable on update.
 *
 * Not for: batch kinds (validate_batch.c) or pod spec internals (validate_pod.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/validate-internal.h"
#include "base/json.h"
#include "base/util.h"

static const char *const always_only[] = {"Always", NULL};

/* ---- shared workload pieces --------------------------------------------------------- */

/* Required / strict label selector / non-empty, at "spec.selector". Returns the selector
 * or NULL when absent. */
static json_t *workload_selector(vctx *v, json_t *spec, const char *kind_lower, bool required)
{
	json_t *sel = jobj(spec, "selector");
	size_t m = vp_push(v, "selector");
	if (!sel) {
		if (required)
			v_required(v, NULL, NULL);
	} else {
		v_label_selector(v, sel);
		if (v_selector_empty(sel)) {
			char *r = v_render_selector(sel);
			char msg[64];
			snprintf(msg, sizeof msg, "empty selector is invalid for %s", kind_lower);
			v_invalid_raw(v, NULL, r, msg);
			free(r);
		}
	}
	vp_pop(v, m);
	return sel;
}

/* k8s: the template's labels must satisfy a non-empty selector. */
static void selector_matches_template(vctx *v, json_t *sel, json_t *tmpl, bool nil_matches)
{
	json_t *labels = jobj(jobj(tmpl, "metadata"), "labels");
	bool ok;
	if (!sel)
		ok = nil_matches;
	else
		ok = v_selector_empty(sel) || v_selector_matches(sel, labels);
	if (!ok) {
		char *r = v_render_string_map(labels);
		v_invalid_raw(v, "template.metadata.labels", r,
		              "`selector` does not match template `labels`");
		free(r);
	}
}

/* k8s: ValidatePodTemplateSpecForReplicaSet and friends: the template, restartPolicy
 * Always, no activeDeadlineSeconds. `what` names the kind in kube's message. */
static void always_template(vctx *v, json_t *spec, const char *what, bool forbid_ads)
{
	json_t *tmpl = jobj(spec, "template");
	size_t m = vp_push(v, "template");
	if (!tmpl) {
		v_required(v, NULL, NULL);
		vp_pop(v, m);
		return;
	}
	v_pod_template(v, tmpl);
	json_t *ps = jobj(tmpl, "spec");
	const char *rp = jstr(ps, "restartPolicy");
	if (!str_eq(rp, "Always"))
		v_not_supported(v, "spec.restartPolicy", rp, always_only);
	if (jhas(ps, "activeDeadlineSeconds")) {
		char msg[80];
		snprintf(msg, sizeof msg, "activeDeadlineSeconds in %s is not Supported", what);
		if (forbid_ads)
			v_forbidden(v, "spec.activeDeadlineSeconds", msg);
		else
			v_invalid_json(v, "spec.activeDeadlineSeconds",
			               json_object_get(ps, "activeDeadlineSeconds"), msg);
	}
	vp_pop(v, m);
}

/* k8s: ValidatePositiveIntOrPercent and IsNotMoreThan100Percent. Returns the value as an
 * int or percent number (0 when absent). */
static long long int_or_percent(vctx *v, json_t *o, const char *key, bool max100)
{
	json_t *x = json_object_get(o, key);
	if (!x || json_is_null(x))
		return 0;
	if (json_is_string(x)) {
		vmsgs m = {0};
		const char *s = json_string_value(x);
		if (vm_percent(s, &m)) {
			char *r = v_render_intstr(x);
			for (int i = 0; i < m.n; i++)
				v_invalid_raw(v, key, r, m.m[i]);
			free(r);
			return 0;
		}
		long long pct = atoll(s);
		if (max100 && pct > 100) {
			char *r = v_render_intstr(x);
			v_invalid_raw(v, key, r, "must not be greater than 100%");
			free(r);
		}
		return pct;
	}
	long long n = 0;
	jint(o, key, &n);
	if (n < 0)
		v_invalid_int(v, key, n, VMSG_NEGATIVE);
	return n;
}

static void immutable_selector(vctx *v, json_t *spec, json_t *ospec)
{
	json_t *a = jobj(spec, "selector"), *b = jobj(ospec, "selector");
	if ((!a && !b) || (a && b && json_equal(a, b)))
		return;
	char *r = a ? v_render_selector(a) : xstrdup("null");
	v_invalid_raw(v, "spec.selector", r, VMSG_IMMUTABLE);
	free(r);
}

/* ---- Deployment --------------------------------------------------------------------- */

static void deployment_strategy(vctx *v, json_t *strategy)
{
	static const char *const types[] = {"Recreate", "RollingUpdate", NULL};
	size_t m = vp_push(v, "strategy");
	const char *type = jstr(strategy, "type");
	json_t *ru = jobj(strategy, "rollingUpdate");
	if (str_eq(type, "Recreate")) {
		if (ru)
			v_forbidden(v, "rollingUpdate", "may not be specified when strategy `type` is "
			                                "'Recreate'");
	} else if (str_eq(type, "RollingUpdate")) {
		if (!ru) {
			v_required(v, "rollingUpdate", "this should be defaulted and never be nil");
		} else {
			size_t m2 = vp_push(v, "rollingUpdate");
			long long mu = int_or_percent(v, ru, "maxUnavailable", true);
			long long ms = int_or_percent(v, ru, "maxSurge", false);
			if (mu == 0 && ms == 0) {
				char *r = v_render_intstr(json_object_get(ru, "maxUnavailable"));
				v_invalid_raw(v, "maxUnavailable", r, "may not be 0 when `maxSurge` is 0");
				free(r);
			}
			vp_pop(v, m2);
		}
	} else {
		_cleanup_buf_ buf r = {0};
		buf_printf(&r, "apps.DeploymentStrategy{Type:\"%s\", RollingUpdate:%s}",
		           type ? type : "", ru ? "(*apps.RollingUpdateDeployment)(0xc000000000)"
		                                : "(*apps.RollingUpdateDeployment)(nil)");
		v_not_supported_raw(v, NULL, r.p, types);
	}
	vp_pop(v, m);
}

void v_kind_deployment(vctx *v, json_t *obj, json_t *old)
{
	json_t *spec = jobj(obj, "spec");
	size_t m = vp_push(v, "spec");
	v_nonneg(v, spec, "replicas");
	json_t *sel = workload_selector(v, spec, "deployment", true);
	selector_matches_template(v, sel, jobj(spec, "template"), true);
	always_template(v, spec, "ReplicaSet", false);
	deployment_strategy(v, jobj(spec, "strategy"));
	v_nonneg(v, spec, "minReadySeconds");
	v_nonneg(v, spec, "revisionHistoryLimit");
	long long pds, mrs = 0;
	if (jint(spec, "progressDeadlineSeconds", &pds)) {
		if (pds <= 0)
			v_invalid_int(v, "progressDeadlineSeconds", pds, "must be greater than zero");
		jint(spec, "minReadySeconds", &mrs);
		if (pds <= mrs)
			v_invalid_int(v, "progressDeadlineSeconds", pds,
			              "must be greater than minReadySeconds");
	}
	vp_pop(v, m);
	if (old)
		immutable_selector(v, spec, jobj(old, "spec"));
}

void v_kind_replicaset(vctx *v, json_t *obj, json_t *old)
{
	json_t *spec = jobj(obj, "spec");
	size_t m = vp_push(v, "spec");
	v_nonneg(v, spec, "replicas");
	v_nonneg(v, spec, "minReadySeconds");
	/* k8s: kube's ReplicaSet check reuses the Deployment wording */
	json_t *sel = workload_selector(v, spec, "deployment", true);
	selector_matches_template(v, sel, jobj(spec, "template"), true);
	always_template(v, spec, "ReplicaSet", false);
	vp_pop(v, m);
	if (old)
		immutable_selector(v, spec, jobj(old, "spec"));
}

/* ---- StatefulSet -------------------------------------------------------------------- */

void v_kind_statefulset(vctx *v, json_t *obj, json_t *old)
{
	static const char *const retention[] = {"Retain", "Delete", NULL};
	json_t *spec = jobj(obj, "spec");
	size_t m = vp_push(v, "spec");
	const char *pmp = jstr(spec, "podManagementPolicy");
	if (!pmp || !*pmp)
		v_required(v, "podManagementPolicy", NULL);
	else if (strcmp(pmp, "OrderedReady") != 0 && strcmp(pmp, "Parallel") != 0)
		v_invalid(v, "podManagementPolicy", pmp, "must be 'OrderedReady' or 'Parallel'");
	json_t *us = jobj(spec, "updateStrategy");
	const char *ut = jstr(us, "type");
	json_t *ru = jobj(us, "rollingUpdate");
	if (!ut || !*ut) {
		v_required(v, "updateStrategy", NULL);
	} else if (strcmp(ut, "OnDelete") == 0) {
		if (ru)
			v_invalid_json(v, "updateStrategy.rollingUpdate", ru,
			               "only allowed for updateStrategy 'RollingUpdate'");
	} else if (strcmp(ut, "RollingUpdate") == 0) {
		size_t m2 = vp_push(v, "updateStrategy.rollingUpdate");
		v_nonneg(v, ru, "partition");
		if (jhas(ru, "maxUnavailable")) {
			long long mu = int_or_percent(v, ru, "maxUnavailable", true);
			json_t *x = json_object_get(ru, "maxUnavailable");
			if (mu == 0) {
				char *r = v_render_intstr(x);
				v_invalid_raw(v, "maxUnavailable", r, "must be greater than 0");
				free(r);
			}
		}
		vp_pop(v, m2);
	} else {
		v_invalid_json(v, "updateStrategy", us, "must be 'RollingUpdate' or 'OnDelete'");
	}
	json_t *ret = jobj(spec, "persistentVolumeClaimRetentionPolicy");
	if (ret) {
		size_t m2 = vp_push(v, "persistentVolumeClaimRetentionPolicy");
		static const char *const keys[] = {"whenDeleted", "whenScaled"};
		for (size_t i = 0; i < 2; i++) {
			const char *p = jstr(ret, keys[i]);
			if (p && !v_in(p, retention))
				v_not_supported(v, keys[i], p, retention);
		}
		vp_pop(v, m2);
	}
	json_t *ord = jobj(spec, "ordinals");
	long long start;
	if (ord && jint(ord, "start", &start) && start < 0)
		v_invalid_int(v, "ordinals.start", start, VMSG_NEGATIVE);
	v_nonneg(v, spec, "replicas");
	v_nonneg(v, spec, "minReadySeconds");
	json_t *sel = workload_selector(v, spec, "statefulset", true);
	selector_matches_template(v, sel, jobj(spec, "template"), true);
	json_t *tmpl = jobj(spec, "template");
	size_t mt = vp_push(v, "template");
	{
		/* k8s: containers may mount volumeClaimTemplates by name; the pods get those
		 * volumes from the controller, so they count as declared here. */
		json_t *copy = json_clone(tmpl);
		json_t *cps = jobj(copy, "spec");
		size_t ci;
		json_t *claim;
		json_array_foreach(jarr(spec, "volumeClaimTemplates"), ci, claim) {
			const char *cn = json_string_value(json_object_get(jobj(claim, "metadata"), "name"));
			if (!cn || !cps)
				continue;
			json_t *vols = json_object_get(cps, "volumes");
			if (!json_is_array(vols)) {
				vols = json_array();
				json_object_set_new(cps, "volumes", vols);
			}
			json_array_append_new(vols, json_pack("{s:s, s:{s:s}}", "name", cn,
			                                      "persistentVolumeClaim", "claimName", cn));
		}
		v_pod_template(v, copy ? copy : tmpl);
		json_decref(copy);
	}
	vp_pop(v, mt);
	json_t *ps = jobj(tmpl, "spec");
	const char *rp = jstr(ps, "restartPolicy");
	if (!str_eq(rp, "Always"))
		v_not_supported(v, "template.spec.restartPolicy", rp, always_only);
	if (jhas(ps, "activeDeadlineSeconds"))
		v_forbidden(v, "template.spec.activeDeadlineSeconds",
		            "activeDeadlineSeconds in StatefulSet is not Supported");
	v_nonneg(v, spec, "revisionHistoryLimit");
	size_t i;
	json_t *pvc;
	json_array_foreach(jarr(spec, "volumeClaimTemplates"), i, pvc)
	{
		size_t m2 = vp_push(v, "volumeClaimTemplates");
		vp_index(v, i);
		size_t m3 = vp_push(v, "spec");
		v_pvc_spec(v, jobj(pvc, "spec"));
		vp_pop(v, m3);
		vp_pop(v, m2);
	}
	vp_pop(v, m);
	if (old) {
		/* k8s: only these spec members may change on update */
		static const char *const mutable_keys[] = {
			"replicas", "template", "updateStrategy", "minReadySeconds", "ordinals",
			"revisionHistoryLimit", "persistentVolumeClaimRetentionPolicy"};
		json_t *a = jcopy(spec);
		json_t *b = jcopy(jobj(old, "spec"));
		for (size_t k = 0; k < ARRAY_SIZE(mutable_keys); k++) {
			json_object_del(a, mutable_keys[k]);
			json_object_del(b, mutable_keys[k]);
		}
		if (!json_equal(a, b))
			v_forbidden(v, "spec", "updates to statefulset spec for fields other than "
			                       "'replicas', 'ordinals', 'template', 'updateStrategy', "
			                       "'persistentVolumeClaimRetentionPolicy' and "
			                       "'minReadySeconds' are forbidden");
		json_decref(a);
		json_decref(b);
	}
}

/* ---- DaemonSet ---------------------------------------------------------------------- */

void v_kind_daemonset(vctx *v, json_t *obj, json_t *old)
{
	static const char *const types[] = {"RollingUpdate", "OnDelete", NULL};
	json_t *spec = jobj(obj, "spec");
	size_t m = vp_push(v, "spec");
	json_t *sel = jobj(spec, "selector");
	size_t ms = vp_push(v, "selector");
	v_label_selector(v, sel);
	vp_pop(v, ms);
	/* k8s: a missing selector matches nothing, so it fails the template check */
	selector_matches_template(v, sel, jobj(spec, "template"), false);
	if (sel && v_selector_empty(sel)) {
		char *r = v_render_selector(sel);
		v_invalid_raw(v, "selector", r, "empty selector is invalid for daemonset");
		free(r);
	}
	always_template(v, spec, "DaemonSet", false);
	v_nonneg(v, spec, "minReadySeconds");
	json_t *us = jobj(spec, "updateStrategy");
	const char *ut = jstr(us, "type");
	size_t mu = vp_push(v, "updateStrategy");
	if (str_eq(ut, "RollingUpdate")) {
		json_t *ru = jobj(us, "rollingUpdate");
		if (!ru) {
			v_required(v, "rollingUpdate", NULL);
		} else {
			size_t m2 = vp_push(v, "rollingUpdate");
			long long un = int_or_percent(v, ru, "maxUnavailable", true);
			long long su = int_or_percent(v, ru, "maxSurge", true);
			if (un != 0 && su != 0) {
				char *r = v_render_intstr(json_object_get(ru, "maxSurge"));
				v_invalid_raw(v, "maxSurge", r, "may not be set when maxUnavailable is "
				                                "non-zero");
				free(r);
			} else if (un == 0 && su == 0) {
				v_required(v, "maxUnavailable", "cannot be 0 when maxSurge is 0");
			}
			vp_pop(v, m2);
		}
	} else if (!str_eq(ut, "OnDelete")) {
		_cleanup_buf_ buf r = {0};
		buf_printf(&r, "apps.DaemonSetUpdateStrategy{Type:\"%s\", RollingUpdate:%s}",
		           ut ? ut : "", jobj(us, "rollingUpdate")
		                             ? "(*apps.RollingUpdateDaemonSet)(0xc000000000)"
		                             : "(*apps.RollingUpdateDaemonSet)(nil)");
		v_not_supported_raw(v, NULL, r.p, types);
	}
	vp_pop(v, mu);
	v_nonneg(v, spec, "revisionHistoryLimit");
	vp_pop(v, m);
	if (old)
		immutable_selector(v, spec, jobj(old, "spec"));
}

void v_kind_controllerrevision(vctx *v, json_t *obj, json_t *old)
{
	if (!jhas(obj, "data"))
		v_required(v, "data", "data is mandatory");
	v_nonneg(v, obj, "revision");
	if (old && !json_equal(json_object_get(obj, "data") ? json_object_get(obj, "data")
	                                                    : json_null(),
	                       json_object_get(old, "data") ? json_object_get(old, "data")
	                                                    : json_null()))
		v_invalid_json(v, "data", json_object_get(obj, "data"), VMSG_IMMUTABLE);
}

/* ---- HorizontalPodAutoscaler -------------------------------------------------------- */

static void scale_target_ref(vctx *v, json_t *ref)
{
	size_t m = vp_push(v, "scaleTargetRef");
	static const char *const keys[] = {"kind", "name"};
	for (size_t i = 0; i < 2; i++) {
		const char *s = jstr(ref, keys[i]);
		vmsgs ms = {0};
		if (!s || !*s)
			v_required(v, keys[i], NULL);
		else if (vm_path_segment(s, false, &ms))
			v_invalid_msgs(v, keys[i], s, &ms);
	}
	vp_pop(v, m);
}

static void replicas_bounds(vctx *v, json_t *spec)
{
	long long min = 1, max = 0;
	bool has_min = jint(spec, "minReplicas", &min);
	jint(spec, "maxReplicas", &max);
	if (has_min && min < 1)
		v_invalid_int(v, "minReplicas", min, "must be greater than or equal to 1");
	if (max < 1)
		v_invalid_int(v, "maxReplicas", max, "must be greater than 0");
	if (has_min && max < min)
		v_invalid_int(v, "maxReplicas", max, "must be greater than or equal to `minReplicas`");
}

static void metric_target(vctx *v, json_t *t)
{
	size_t m = vp_push(v, "target");
	const char *type = jstr(t, "type");
	if (!type || !*type)
		v_required(v, "type", "must specify a metric target type");
	if (!str_eq(type, "Utilization") && !str_eq(type, "Value") && !str_eq(type, "AverageValue"))
		v_invalid(v, "type", type, "must be either Utilization, Value, or AverageValue");
	static const char *const qty[] = {"value", "averageValue"};
	for (size_t i = 0; i < 2; i++) {
		const char *s = jstr(t, qty[i]);
		long double q;
		if (s && v_quantity(s, &q) && q <= 0)
			v_invalid(v, qty[i], s, "must be positive");
	}
	long long au;
	if (jint(t, "averageUtilization", &au) && au < 1)
		v_invalid_int(v, "averageUtilization", au, "must be greater than 0");
	vp_pop(v, m);
}

static void metrics(vctx *v, json_t *list)
{
	static const char *const types[] = {"Object", "Pods", "Resource", "External",
	                                    "ContainerResource", NULL};
	static const char *const members[] = {"object", "pods", "resource", "external",
	                                      "containerResource", NULL};
	size_t i;
	json_t *mt;
	json_array_foreach(list, i, mt)
	{
		size_t m = vp_push(v, "metrics");
		vp_index(v, i);
		const char *type = jstr(mt, "type");
		if (!type || !*type)
			v_required(v, "type", "must specify a metric source type");
		if (!v_in(type ? type : "", types))
			v_not_supported(v, "type", type, types);
		for (size_t k = 0; types[k]; k++) {
			if (!str_eq(type, types[k]))
				continue;
			json_t *src = jobj(mt, members[k]);
			if (!src) {
				v_required(v, members[k], "must populate information for the given metric "
				                          "source");
				break;
			}
			size_t m2 = vp_push(v, members[k]);
			if (k == 2 || k == 4) { /* Resource, ContainerResource */
				const char *name = jstr(src, "name");
				if (!name || !*name)
					v_required(v, "name", "must specify a resource name");
				if (k == 4) {
					const char *c = jstr(src, "container");
					if (!c || !*c)
						v_required(v, "container", "must specify a container");
				}
				json_t *t = jobj(src, "target");
				metric_target(v, t);
				if (!jhas(t, "averageUtilization") && !jhas(t, "averageValue"))
					v_required(v, "target.averageUtilization", "must set either a target raw "
					                                           "value or a target utilization");
				if (jhas(t, "averageUtilization") && jhas(t, "averageValue"))
					v_forbidden(v, "target.averageValue", "may not set both a target raw value "
					                                      "and a target utilization");
			} else {
				json_t *metric = jobj(src, "metric");
				const char *name = jstr(metric, "name");
				if (!name || !*name)
					v_required(v, "metric.name", "must specify a metric name");
				metric_target(v, jobj(src, "target"));
			}
			vp_pop(v, m2);
		}
		vp_pop(v, m);
	}
}

static void scaling_rules(vctx *v, json_t *rules, const char *key)
{
	static const char *const select[] = {"Max", "Min", "Disabled", NULL};
	static const char *const ptypes[] = {"Pods", "Percent", NULL};
	if (!rules)
		return;
	size_t m = vp_push(v, key);
	long long sw;
	if (jint(rules, "stabilizationWindowSeconds", &sw)) {
		if (sw < 0)
			v_invalid_int(v, "stabilizationWindowSeconds", sw,
			              "must be greater than or equal to zero");
		if (sw > 3600)
			v_invalid_int(v, "stabilizationWindowSeconds", sw,
			              "must be less than or equal to 3600");
	}
	const char *sp = jstr(rules, "selectPolicy");
	if (sp && !v_in(sp, select))
		v_not_supported(v, "selectPolicy", sp, select);
	json_t *pols = jarr(rules, "policies");
	if (json_array_size(pols) == 0)
		v_required(v, "policies", "must specify at least one Policy");
	size_t i;
	json_t *p;
	json_array_foreach(pols, i, p)
	{
		size_t m2 = vp_push(v, "policies");
		vp_index(v, i);
		const char *t = jstr(p, "type");
		if (!v_in(t ? t : "", ptypes))
			v_not_supported(v, "type", t, ptypes);
		long long val = 0, per = 0;
		jint(p, "value", &val);
		jint(p, "periodSeconds", &per);
		if (val <= 0)
			v_invalid_int(v, "value", val, "must be greater than zero");
		if (per <= 0)
			v_invalid_int(v, "periodSeconds", per, "must be greater than zero");
		if (per > 1800)
			v_invalid_int(v, "periodSeconds", per, "must be less than or equal to 1800");
		vp_pop(v, m2);
	}
	vp_pop(v, m);
}

void v_kind_hpa(vctx *v, json_t *obj, json_t *old)
{
	json_t *spec = jobj(obj, "spec");
	size_t m = vp_push(v, "spec");
	replicas_bounds(v, spec);
	scale_target_ref(v, jobj(spec, "scaleTargetRef"));
	if (str_eq(v->d->version, "v1")) {
		long long t;
		if (jint(spec, "targetCPUUtilizationPercentage", &t) && t < 1)
			v_invalid_int(v, "targetCPUUtilizationPercentage", t, "must be greater than 0");
	} else {
		metrics(v, jarr(spec, "metrics"));
		json_t *b = jobj(spec, "behavior");
		if (b) {
			size_t m2 = vp_push(v, "behavior");
			scaling_rules(v, jobj(b, "scaleUp"), "scaleUp");
			scaling_rules(v, jobj(b, "scaleDown"), "scaleDown");
			vp_pop(v, m2);
		}
	}
	vp_pop(v, m);
	UNUSED(old);
}
