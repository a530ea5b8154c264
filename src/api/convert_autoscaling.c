/* convert_autoscaling.c — autoscaling/v2 <-> autoscaling/v1 HorizontalPodAutoscaler, the
 * way kube-apiserver 1.32 round-trips them through its internal type.
 *
 * autoscaling/v1 has one metric, spec.targetCPUUtilizationPercentage, and one status
 * value, status.currentCPUUtilizationPercentage. Everything else autoscaling/v2 holds
 * travels in annotations on the v1 object, written as Go's encoding/json writes them:
 *   autoscaling.alpha.kubernetes.io/metrics          the other metrics, in v1 MetricSpec form
 *   autoscaling.alpha.kubernetes.io/current-metrics  every current metric, v1 MetricStatus form
 *   autoscaling.alpha.kubernetes.io/behavior         spec.behavior as Go's internal struct
 *                                                    (no json tags: "ScaleUp", "Policies")
 *   autoscaling.alpha.kubernetes.io/conditions       status.conditions
 * Converting back restores them and removes the annotations; an annotation that does not
 * decode is ignored. A v1 object with no metric at all gets CPU at 80%.
 *
 * Not for: defaulting (api/defaults_apps.c), validation.
 */
#include <string.h>
#include <strings.h>

#include "api/convert-internal.h"
#include "base/json.h"
#include "base/util.h"

#define ANN_METRICS "autoscaling.alpha.kubernetes.io/metrics"
#define ANN_CURRENT_METRICS "autoscaling.alpha.kubernetes.io/current-metrics"
#define ANN_CONDITIONS "autoscaling.alpha.kubernetes.io/conditions"
#define ANN_BEHAVIOR "autoscaling.alpha.kubernetes.io/behavior"
/* k8s: autoscaling.DefaultCPUUtilization */
#define DEFAULT_CPU_UTILIZATION 80

/* k8s: DropRoundTripHorizontalPodAutoscalerAnnotations */
static void drop_round_trip(json_t *obj)
{
	static const char *const keys[] = {ANN_METRICS, ANN_BEHAVIOR, ANN_CURRENT_METRICS,
	                                   ANN_CONDITIONS};
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		cv_drop_annotation(obj, keys[i]);
}

static json_t *zero_quantity(void)
{
	return json_string("0");
}

/* CrossVersionObjectReference (the same JSON in both versions), as Go writes it. */
static json_t *xref(json_t *r)
{
	json_t *o = json_object();
	cv_copy_or(o, "kind", r, "kind", json_string(""));
	cv_copy_or(o, "name", r, "name", json_string(""));
	const char *av = cv_str(r, "apiVersion");
	if (av && *av)
		json_object_set_new(o, "apiVersion", json_string(av));
	return o;
}

/* A v2 MetricIdentifier from a v1 source's metricName and selector (under selkey). */
static json_t *ident_v2(json_t *s, const char *selkey)
{
	json_t *o = json_object();
	cv_copy_or(o, "name", s, "metricName", json_string(""));
	cv_copy(o, "selector", s, selkey);
	return o;
}

static bool is_cpu_resource(json_t *m)
{
	return str_eq(cv_str(m, "type"), "Resource") &&
	       str_eq(cv_str(cv_obj(m, "resource"), "name"), "cpu");
}

/* A Resource metric on cpu with a target averageUtilization: what v1 can say. */
static bool is_cpu_utilization(json_t *m)
{
	return is_cpu_resource(m) && cv_get(cv_obj(cv_obj(m, "resource"), "target"), "averageUtilization");
}

/* ---------- metric specs ---------- */

/* v2 MetricSpec -> v1 MetricSpec (the annotation form). */
static json_t *spec_metric_to_v1(json_t *m)
{
	json_t *out = json_object();
	cv_copy_or(out, "type", m, "type", json_string(""));
	json_t *s;
	if ((s = cv_obj(m, "object"))) {
		json_t *t = cv_obj(s, "target"), *id = cv_obj(s, "metric");
		json_t *o = json_object();
		json_object_set_new(o, "target", xref(cv_obj(s, "describedObject")));
		cv_copy_or(o, "metricName", id, "name", json_string(""));
		cv_copy_or(o, "targetValue", t, "value", zero_quantity());
		cv_copy(o, "selector", id, "selector");
		cv_copy(o, "averageValue", t, "averageValue");
		json_object_set_new(out, "object", o);
	}
	if ((s = cv_obj(m, "pods"))) {
		json_t *t = cv_obj(s, "target"), *id = cv_obj(s, "metric");
		json_t *o = json_object();
		cv_copy_or(o, "metricName", id, "name", json_string(""));
		cv_copy_or(o, "targetAverageValue", t, "averageValue", zero_quantity());
		cv_copy(o, "selector", id, "selector");
		json_object_set_new(out, "pods", o);
	}
	static const char *const res[] = {"resource", "containerResource"};
	for (size_t i = 0; i < ARRAY_SIZE(res); i++) {
		if (!(s = cv_obj(m, res[i])))
			continue;
		json_t *t = cv_obj(s, "target");
		json_t *o = json_object();
		cv_copy_or(o, "name", s, "name", json_string(""));
		cv_copy(o, "targetAverageUtilization", t, "averageUtilization");
		cv_copy(o, "targetAverageValue", t, "averageValue");
		if (i == 1)
			cv_copy_or(o, "container", s, "container", json_string(""));
		json_object_set_new(out, res[i], o);
	}
	if ((s = cv_obj(m, "external"))) {
		json_t *t = cv_obj(s, "target"), *id = cv_obj(s, "metric");
		json_t *o = json_object();
		cv_copy_or(o, "metricName", id, "name", json_string(""));
		cv_copy(o, "metricSelector", id, "selector");
		cv_copy(o, "targetValue", t, "value");
		cv_copy(o, "targetAverageValue", t, "averageValue");
		json_object_set_new(out, "external", o);
	}
	return out;
}

/* v1 MetricSpec (the annotation form) -> v2 MetricSpec. */
static json_t *spec_metric_to_v2(json_t *m)
{
	json_t *out = json_object();
	cv_copy_or(out, "type", m, "type", json_string(""));
	json_t *s;
	if ((s = cv_obj(m, "object"))) {
		/* k8s: an object metric with averageValue targets AverageValue, else Value; the
		 * value is always carried. */
		bool avg = cv_get(s, "averageValue") != NULL;
		json_t *t = json_pack("{s:s}", "type", avg ? "AverageValue" : "Value");
		cv_copy_or(t, "value", s, "targetValue", zero_quantity());
		cv_copy(t, "averageValue", s, "averageValue");
		json_object_set_new(out, "object",
		                    json_pack("{s:o, s:o, s:o}", "describedObject",
		                              xref(cv_obj(s, "target")), "target", t, "metric",
		                              ident_v2(s, "selector")));
	}
	if ((s = cv_obj(m, "pods"))) {
		json_t *t = json_pack("{s:s}", "type", "AverageValue");
		cv_copy_or(t, "averageValue", s, "targetAverageValue", zero_quantity());
		json_object_set_new(out, "pods", json_pack("{s:o, s:o}", "metric",
		                                           ident_v2(s, "selector"), "target", t));
	}
	static const char *const res[] = {"resource", "containerResource"};
	for (size_t i = 0; i < ARRAY_SIZE(res); i++) {
		if (!(s = cv_obj(m, res[i])))
			continue;
		bool util = cv_get(s, "targetAverageUtilization") != NULL;
		json_t *t = json_pack("{s:s}", "type", util ? "Utilization" : "AverageValue");
		cv_copy(t, "averageValue", s, "targetAverageValue");
		cv_copy(t, "averageUtilization", s, "targetAverageUtilization");
		json_t *o = json_object();
		cv_copy_or(o, "name", s, "name", json_string(""));
		json_object_set_new(o, "target", t);
		if (i == 1)
			cv_copy_or(o, "container", s, "container", json_string(""));
		json_object_set_new(out, res[i], o);
	}
	if ((s = cv_obj(m, "external"))) {
		bool val = cv_get(s, "targetValue") != NULL;
		json_t *t = json_pack("{s:s}", "type", val ? "Value" : "AverageValue");
		cv_copy(t, "value", s, "targetValue");
		cv_copy(t, "averageValue", s, "targetAverageValue");
		json_object_set_new(out, "external", json_pack("{s:o, s:o}", "metric",
		                                               ident_v2(s, "metricSelector"),
		                                               "target", t));
	}
	return out;
}

/* ---------- metric statuses ---------- */

/* v2 MetricStatus -> v1 MetricStatus (the annotation form). */
static json_t *status_metric_to_v1(json_t *m)
{
	json_t *out = json_object();
	cv_copy_or(out, "type", m, "type", json_string(""));
	json_t *s;
	if ((s = cv_obj(m, "object"))) {
		json_t *c = cv_obj(s, "current"), *id = cv_obj(s, "metric");
		json_t *o = json_object();
		json_object_set_new(o, "target", xref(cv_obj(s, "describedObject")));
		cv_copy_or(o, "metricName", id, "name", json_string(""));
		cv_copy_or(o, "currentValue", c, "value", zero_quantity());
		cv_copy(o, "selector", id, "selector");
		cv_copy(o, "averageValue", c, "averageValue");
		json_object_set_new(out, "object", o);
	}
	if ((s = cv_obj(m, "pods"))) {
		json_t *c = cv_obj(s, "current"), *id = cv_obj(s, "metric");
		json_t *o = json_object();
		cv_copy_or(o, "metricName", id, "name", json_string(""));
		cv_copy_or(o, "currentAverageValue", c, "averageValue", zero_quantity());
		cv_copy(o, "selector", id, "selector");
		json_object_set_new(out, "pods", o);
	}
	static const char *const res[] = {"resource", "containerResource"};
	for (size_t i = 0; i < ARRAY_SIZE(res); i++) {
		if (!(s = cv_obj(m, res[i])))
			continue;
		json_t *c = cv_obj(s, "current");
		json_t *o = json_object();
		cv_copy_or(o, "name", s, "name", json_string(""));
		cv_copy(o, "currentAverageUtilization", c, "averageUtilization");
		cv_copy_or(o, "currentAverageValue", c, "averageValue", zero_quantity());
		if (i == 1)
			cv_copy_or(o, "container", s, "container", json_string(""));
		json_object_set_new(out, res[i], o);
	}
	if ((s = cv_obj(m, "external"))) {
		json_t *c = cv_obj(s, "current"), *id = cv_obj(s, "metric");
		json_t *o = json_object();
		cv_copy_or(o, "metricName", id, "name", json_string(""));
		cv_copy(o, "metricSelector", id, "selector");
		cv_copy_or(o, "currentValue", c, "value", zero_quantity());
		cv_copy(o, "currentAverageValue", c, "averageValue");
		json_object_set_new(out, "external", o);
	}
	return out;
}

/* v1 MetricStatus (the annotation form) -> v2 MetricStatus. */
static json_t *status_metric_to_v2(json_t *m)
{
	json_t *out = json_object();
	cv_copy_or(out, "type", m, "type", json_string(""));
	json_t *s;
	if ((s = cv_obj(m, "object"))) {
		json_t *c = json_object();
		cv_copy_or(c, "value", s, "currentValue", zero_quantity());
		cv_copy(c, "averageValue", s, "averageValue");
		json_object_set_new(out, "object",
		                    json_pack("{s:o, s:o, s:o}", "metric", ident_v2(s, "selector"),
		                              "current", c, "describedObject",
		                              xref(cv_obj(s, "target"))));
	}
	if ((s = cv_obj(m, "pods"))) {
		json_t *c = json_object();
		cv_copy_or(c, "averageValue", s, "currentAverageValue", zero_quantity());
		json_object_set_new(out, "pods", json_pack("{s:o, s:o}", "metric",
		                                           ident_v2(s, "selector"), "current", c));
	}
	static const char *const res[] = {"resource", "containerResource"};
	for (size_t i = 0; i < ARRAY_SIZE(res); i++) {
		if (!(s = cv_obj(m, res[i])))
			continue;
		json_t *c = json_object();
		cv_copy_or(c, "averageValue", s, "currentAverageValue", zero_quantity());
		cv_copy(c, "averageUtilization", s, "currentAverageUtilization");
		json_t *o = json_object();
		cv_copy_or(o, "name", s, "name", json_string(""));
		json_object_set_new(o, "current", c);
		if (i == 1)
			cv_copy_or(o, "container", s, "container", json_string(""));
		json_object_set_new(out, res[i], o);
	}
	if ((s = cv_obj(m, "external"))) {
		json_t *c = json_object();
		cv_copy_or(c, "value", s, "currentValue", zero_quantity());
		cv_copy(c, "averageValue", s, "currentAverageValue");
		json_object_set_new(out, "external", json_pack("{s:o, s:o}", "metric",
		                                               ident_v2(s, "metricSelector"),
		                                               "current", c));
	}
	return out;
}

/* A HorizontalPodAutoscalerCondition (the same fields in both versions). go_form: as Go
 * writes it into the annotation (a zero lastTransitionTime is null). */
static json_t *condition(json_t *c, bool go_form)
{
	json_t *o = json_object();
	cv_copy_or(o, "type", c, "type", json_string(""));
	cv_copy_or(o, "status", c, "status", json_string(""));
	if (go_form)
		cv_copy_or(o, "lastTransitionTime", c, "lastTransitionTime", json_null());
	else
		cv_copy(o, "lastTransitionTime", c, "lastTransitionTime");
	static const char *const strs[] = {"reason", "message"};
	for (size_t i = 0; i < ARRAY_SIZE(strs); i++) {
		const char *v = cv_str(c, strs[i]);
		if (v && *v)
			json_object_set_new(o, strs[i], json_string(v));
	}
	return o;
}

/* ---------- behavior: Go's internal struct, marshalled without json tags ---------- */

static json_t *rules_to_go(json_t *r)
{
	if (!json_is_object(r))
		return json_null();
	json_t *o = json_object();
	cv_copy_or(o, "StabilizationWindowSeconds", r, "stabilizationWindowSeconds", json_null());
	cv_copy_or(o, "SelectPolicy", r, "selectPolicy", json_null());
	json_t *pols = cv_arr(r, "policies");
	json_t *gp = pols ? json_array() : json_null();
	size_t i;
	json_t *p;
	json_array_foreach(pols, i, p)
	{
		json_t *q = json_object();
		cv_copy_or(q, "Type", p, "type", json_string(""));
		cv_copy_or(q, "Value", p, "value", json_integer(0));
		cv_copy_or(q, "PeriodSeconds", p, "periodSeconds", json_integer(0));
		json_array_append_new(gp, q);
	}
	json_object_set_new(o, "Policies", gp);
	return o;
}

static json_t *behavior_to_go(json_t *b)
{
	return json_pack("{s:o, s:o}", "ScaleUp", rules_to_go(cv_get(b, "scaleUp")), "ScaleDown",
	                 rules_to_go(cv_get(b, "scaleDown")));
}

/* A member the way encoding/json finds a field: the exact key, else one that differs in
 * case only. NULL when absent or null. */
static json_t *go_field(json_t *o, const char *name)
{
	json_t *v = json_object_get(o, name);
	if (!v) {
		const char *k;
		json_t *x;
		json_object_foreach(o, k, x)
		{
			if (strcasecmp(k, name) == 0) {
				v = x;
				break;
			}
		}
	}
	return json_is_null(v) ? NULL : v;
}

/* Go's scalar decoding: integer into int32, string into string. */
static bool go_scalar(json_t *dst, const char *dkey, json_t *src, const char *name, bool integer,
                      json_t *zero)
{
	json_t *v = go_field(src, name);
	if (v && (integer ? !json_is_integer(v) : !json_is_string(v))) {
		json_decref(zero);
		return false;
	}
	if (v) {
		json_object_set_new(dst, dkey, json_clone(v));
		json_decref(zero);
	} else if (zero) {
		json_object_set_new(dst, dkey, zero);
	}
	return true;
}

/* The v2 HPAScalingRules from its Go form; NULL for a nil pointer. *ok goes false when
 * the JSON does not decode into the Go type. */
static json_t *rules_from_go(json_t *r, bool *ok)
{
	if (!r)
		return NULL;
	if (!json_is_object(r)) {
		*ok = false;
		return NULL;
	}
	json_t *o = json_object();
	*ok &= go_scalar(o, "stabilizationWindowSeconds", r, "StabilizationWindowSeconds", true, NULL);
	*ok &= go_scalar(o, "selectPolicy", r, "SelectPolicy", false, NULL);
	json_t *pols = go_field(r, "Policies");
	if (pols && !json_is_array(pols))
		*ok = false;
	if (json_is_array(pols)) {
		json_t *arr = json_array();
		size_t i;
		json_t *p;
		json_array_foreach(pols, i, p)
		{
			if (!json_is_object(p) && !json_is_null(p)) {
				*ok = false;
				continue;
			}
			json_t *q = json_object();
			*ok &= go_scalar(q, "type", p, "Type", false, json_string(""));
			*ok &= go_scalar(q, "value", p, "Value", true, json_integer(0));
			*ok &= go_scalar(q, "periodSeconds", p, "PeriodSeconds", true, json_integer(0));
			json_array_append_new(arr, q);
		}
		json_object_set_new(o, "policies", arr);
	}
	return o;
}

/* The v2 behavior from the annotation; NULL when it does not decode or is Go's zero
 * value (k8s: only well-formed, non-empty data moves from the annotation). */
static json_t *behavior_from_go(const char *enc)
{
	if (!enc)
		return NULL;
	_cleanup_json_ json_t *b = json_loads(enc, JSON_DECODE_ANY, NULL);
	if (!json_is_object(b))
		return NULL;
	bool ok = true;
	_cleanup_json_ json_t *up = rules_from_go(go_field(b, "ScaleUp"), &ok);
	_cleanup_json_ json_t *down = rules_from_go(go_field(b, "ScaleDown"), &ok);
	if (!ok || (!up && !down))
		return NULL;
	json_t *out = json_object();
	if (up)
		json_object_set(out, "scaleUp", up);
	if (down)
		json_object_set(out, "scaleDown", down);
	return out;
}

/* The annotation key of ann decoded as a JSON list of objects, each mapped through conv:
 * a new array (empty for "null"), or NULL when absent or not decodable (then kube ignores
 * it). */
static json_t *decode_list(json_t *ann, const char *key, json_t *(*conv)(json_t *))
{
	const char *enc = cv_str(ann, key);
	if (!enc)
		return NULL;
	_cleanup_json_ json_t *l = json_loads(enc, JSON_DECODE_ANY, NULL);
	if (!l || (!json_is_array(l) && !json_is_null(l)))
		return NULL;
	json_t *out = json_array();
	size_t i;
	json_t *e;
	json_array_foreach(l, i, e)
	{
		if (!json_is_object(e) && !json_is_null(e)) {
			json_decref(out);
			return NULL;
		}
		json_t *empty = json_object();
		json_array_append_new(out, conv(json_is_object(e) ? e : empty));
		json_decref(empty);
	}
	return out;
}

static json_t *condition_to_v2(json_t *c)
{
	return condition(c, false);
}

static void set_annotation_json(json_t *obj, const char *key, json_t *val /* stolen */)
{
	_cleanup_free_ char *s = json_dump_compact(val);
	cv_set_annotation(obj, key, s);
	json_decref(val);
}

/* ---------- v2 -> v1 ---------- */

static json_t *spec_to_v1(json_t *spec)
{
	json_t *o = json_object();
	cv_copy(o, "scaleTargetRef", spec, "scaleTargetRef");
	cv_copy(o, "minReplicas", spec, "minReplicas");
	cv_copy(o, "maxReplicas", spec, "maxReplicas");
	/* k8s: the first cpu Resource metric with a target utilization is v1's target. */
	size_t i;
	json_t *m;
	json_array_foreach(cv_arr(spec, "metrics"), i, m)
	{
		if (is_cpu_utilization(m)) {
			cv_copy(o, "targetCPUUtilizationPercentage",
			        cv_obj(cv_obj(m, "resource"), "target"), "averageUtilization");
			break;
		}
	}
	return o;
}

static json_t *status_to_v1(json_t *st)
{
	json_t *o = json_object();
	static const char *const same[] = {"observedGeneration", "lastScaleTime", "currentReplicas",
	                                   "desiredReplicas"};
	for (size_t i = 0; i < ARRAY_SIZE(same); i++)
		cv_copy(o, same[i], st, same[i]);
	/* k8s: the last cpu Resource metric with a current utilization is v1's current. */
	json_t *cpu = NULL;
	size_t i;
	json_t *m;
	json_array_foreach(cv_arr(st, "currentMetrics"), i, m)
	{
		json_t *u = cv_get(cv_obj(cv_obj(m, "resource"), "current"), "averageUtilization");
		if (is_cpu_resource(m) && u)
			cpu = u;
	}
	if (cpu)
		json_object_set_new(o, "currentCPUUtilizationPercentage", json_clone(cpu));
	return o;
}

json_t *convert_hpa_v2_to_v1(json_t *obj, const char *to)
{
	json_t *spec = cv_obj(obj, "spec"), *status = cv_obj(obj, "status");
	json_t *out = json_object();
	const char *k;
	json_t *v;
	json_object_foreach(obj, k, v)
	{
		if (strcmp(k, "apiVersion") == 0)
			json_object_set_new(out, k, json_string(to));
		else if (strcmp(k, "kind") == 0 || strcmp(k, "metadata") == 0)
			json_object_set_new(out, k, json_clone(v));
		else if (strcmp(k, "spec") == 0 && spec)
			json_object_set_new(out, k, spec_to_v1(spec));
		else if (strcmp(k, "status") == 0 && status)
			json_object_set_new(out, k, status_to_v1(status));
	}
	/* k8s: clear any round-trip annotations, then write the ones this object needs. */
	drop_round_trip(out);
	json_t *other = json_array();
	size_t i;
	json_t *m;
	json_array_foreach(cv_arr(spec, "metrics"), i, m)
	{
		if (json_is_object(m) && !is_cpu_utilization(m))
			json_array_append_new(other, spec_metric_to_v1(m));
	}
	if (json_array_size(other))
		set_annotation_json(out, ANN_METRICS, other);
	else
		json_decref(other);
	/* k8s: every current metric is kept, the cpu one too, for its raw value. */
	json_t *cur = cv_arr(status, "currentMetrics");
	if (json_array_size(cur)) {
		json_t *l = json_array();
		json_array_foreach(cur, i, m)
		{
			if (json_is_object(m))
				json_array_append_new(l, status_metric_to_v1(m));
		}
		set_annotation_json(out, ANN_CURRENT_METRICS, l);
	}
	json_t *behavior = cv_get(spec, "behavior");
	if (behavior)
		set_annotation_json(out, ANN_BEHAVIOR, behavior_to_go(behavior));
	json_t *conds = cv_arr(status, "conditions");
	if (json_array_size(conds)) {
		json_t *l = json_array();
		json_t *c;
		json_array_foreach(conds, i, c)
		{
			if (json_is_object(c))
				json_array_append_new(l, condition(c, true));
		}
		set_annotation_json(out, ANN_CONDITIONS, l);
	}
	return out;
}

/* ---------- v1 -> v2 ---------- */

static json_t *cpu_metric(json_t *utilization /* stolen */)
{
	return json_pack("{s:s, s:{s:s, s:{s:s, s:o}}}", "type", "Resource", "resource", "name",
	                 "cpu", "target", "type", "Utilization", "averageUtilization", utilization);
}

static json_t *spec_to_v2(json_t *spec, json_t *ann)
{
	json_t *o = json_object();
	cv_copy(o, "scaleTargetRef", spec, "scaleTargetRef");
	cv_copy(o, "minReplicas", spec, "minReplicas");
	cv_copy(o, "maxReplicas", spec, "maxReplicas");
	/* k8s: the annotation's metrics come first, then targetCPUUtilizationPercentage's. */
	json_t *metrics = decode_list(ann, ANN_METRICS, spec_metric_to_v2);
	if (!metrics)
		metrics = json_array();
	json_t *pct = cv_get(spec, "targetCPUUtilizationPercentage");
	if (pct)
		json_array_append_new(metrics, cpu_metric(json_clone(pct)));
	/* k8s: autoscaling/v1 without any metric means CPU at 80% (DefaultCPUUtilization). */
	if (json_array_size(metrics) == 0)
		json_array_append_new(metrics, cpu_metric(json_integer(DEFAULT_CPU_UTILIZATION)));
	json_object_set_new(o, "metrics", metrics);
	json_t *behavior = behavior_from_go(cv_str(ann, ANN_BEHAVIOR));
	if (behavior)
		json_object_set_new(o, "behavior", behavior);
	return o;
}

/* The v2 status, or NULL when v1 has none and the annotations add nothing. */
static json_t *status_to_v2(json_t *st, json_t *ann)
{
	json_t *cur = decode_list(ann, ANN_CURRENT_METRICS, status_metric_to_v2);
	json_t *conds = decode_list(ann, ANN_CONDITIONS, condition_to_v2);
	if (!st && !cur && !conds)
		return NULL;
	json_t *o = json_object();
	static const char *const same[] = {"observedGeneration", "lastScaleTime", "currentReplicas",
	                                   "desiredReplicas"};
	for (size_t i = 0; i < ARRAY_SIZE(same); i++)
		cv_copy(o, same[i], st, same[i]);
	/* k8s: the annotation's current metrics have more information than the percentage. */
	json_t *pct = cv_get(st, "currentCPUUtilizationPercentage");
	if (cur)
		json_object_set_new(o, "currentMetrics", cur);
	else if (pct)
		json_object_set_new(o, "currentMetrics",
		                    json_pack("[{s:s, s:{s:s, s:{s:O}}}]", "type", "Resource",
		                              "resource", "name", "cpu", "current",
		                              "averageUtilization", pct));
	if (conds)
		json_object_set_new(o, "conditions", conds);
	return o;
}

json_t *convert_hpa_v1_to_v2(json_t *obj, const char *to)
{
	json_t *ann = cv_obj(cv_obj(obj, "metadata"), "annotations");
	json_t *out = json_object();
	bool has_spec = false, has_status = false;
	const char *k;
	json_t *v;
	json_object_foreach(obj, k, v)
	{
		if (strcmp(k, "apiVersion") == 0) {
			json_object_set_new(out, k, json_string(to));
		} else if (strcmp(k, "kind") == 0 || strcmp(k, "metadata") == 0) {
			json_object_set_new(out, k, json_clone(v));
		} else if (strcmp(k, "spec") == 0) {
			json_object_set_new(out, k, spec_to_v2(cv_obj(obj, "spec"), ann));
			has_spec = true;
		} else if (strcmp(k, "status") == 0) {
			json_t *st = status_to_v2(cv_obj(obj, "status"), ann);
			if (st)
				json_object_set_new(out, k, st);
			has_status = true;
		}
	}
	/* The metrics always exist in v2 (at worst the 80% CPU default). */
	if (!has_spec)
		json_object_set_new(out, "spec", spec_to_v2(NULL, ann));
	if (!has_status) {
		json_t *st = status_to_v2(NULL, ann);
		if (st)
			json_object_set_new(out, "status", st);
	}
	/* k8s: drop the round-tripping annotations after converting. */
	drop_round_trip(out);
	return out;
}
