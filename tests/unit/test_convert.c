/* test_convert.c — conversion between served versions that share storage, with the values
 * kube-apiserver 1.32 shows: an autoscaling/v1 read of an autoscaling/v2
 * HorizontalPodAutoscaler (targetCPUUtilizationPercentage plus the
 * autoscaling.alpha.kubernetes.io annotations) and back, and core/v1 <-> events.k8s.io/v1
 * Events. */
#include "test.h"

#include <jansson.h>

#include "api/convert.h"
#include "api/kind.h"
#include "base/json.h"
#include "base/util.h"

static json_t *load(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);
	if (!j)
		fprintf(stderr, "bad test JSON: %s (line %d)\n", e.text, e.line);
	return j;
}

static json_t *conv(json_t *obj, const char *to)
{
	terr *err = NULL;
	json_t *out = convert_object(obj, to, &err);
	if (!out)
		fprintf(stderr, "  convert to %s: %s\n", to, err ? err->message : "?");
	terr_free(err);
	return out;
}

/* A string at a dotted path (annotation keys hold dots, so they are looked up apart). */
static const char *annotation(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(json_path(obj, "metadata.annotations"), key));
}

static bool equal_json(json_t *a, json_t *b)
{
	bool eq = json_equal(a, b);
	if (!eq) {
		char *x = json_dump_compact(a), *y = json_dump_compact(b);
		fprintf(stderr, "    got:  %s\n    want: %s\n", x, y);
		free(x);
		free(y);
	}
	return eq;
}

#define ANN_METRICS "autoscaling.alpha.kubernetes.io/metrics"
#define ANN_CURRENT "autoscaling.alpha.kubernetes.io/current-metrics"
#define ANN_CONDITIONS "autoscaling.alpha.kubernetes.io/conditions"
#define ANN_BEHAVIOR "autoscaling.alpha.kubernetes.io/behavior"

/* ---------- HorizontalPodAutoscaler ---------- */

TEST(hpa_v1_cpu_target_to_v2_and_back)
{
	_cleanup_json_ json_t *v1 = load(
	    "{\"kind\":\"HorizontalPodAutoscaler\",\"apiVersion\":\"autoscaling/v1\","
	    "\"metadata\":{\"name\":\"web\",\"namespace\":\"default\"},"
	    "\"spec\":{\"scaleTargetRef\":{\"kind\":\"Deployment\",\"name\":\"web\",\"apiVersion\":\"apps/v1\"},"
	    "\"minReplicas\":1,\"maxReplicas\":5,\"targetCPUUtilizationPercentage\":50},"
	    "\"status\":{\"currentReplicas\":2,\"desiredReplicas\":2}}");
	_cleanup_json_ json_t *v2 = conv(v1, "autoscaling/v2");
	REQUIRE(v2);
	CHECK_STR(json_path_str(v2, "apiVersion"), "autoscaling/v2");
	_cleanup_json_ json_t *want_spec = load(
	    "{\"scaleTargetRef\":{\"kind\":\"Deployment\",\"name\":\"web\",\"apiVersion\":\"apps/v1\"},"
	    "\"minReplicas\":1,\"maxReplicas\":5,\"metrics\":[{\"type\":\"Resource\",\"resource\":"
	    "{\"name\":\"cpu\",\"target\":{\"type\":\"Utilization\",\"averageUtilization\":50}}}]}");
	CHECK(equal_json(json_object_get(v2, "spec"), want_spec));
	CHECK(!json_path(v2, "metadata.annotations"));
	_cleanup_json_ json_t *back = conv(v2, "autoscaling/v1");
	REQUIRE(back);
	CHECK(equal_json(back, v1));
}

TEST(hpa_v2_memory_and_cpu_to_v1_and_back)
{
	_cleanup_json_ json_t *v2 = load(
	    "{\"apiVersion\":\"autoscaling/v2\",\"kind\":\"HorizontalPodAutoscaler\","
	    "\"metadata\":{\"name\":\"web\",\"namespace\":\"default\",\"labels\":{\"app\":\"web\"}},"
	    "\"spec\":{\"scaleTargetRef\":{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"name\":\"web\"},"
	    "\"minReplicas\":2,\"maxReplicas\":10,\"metrics\":["
	    "{\"type\":\"Resource\",\"resource\":{\"name\":\"memory\",\"target\":{\"type\":\"AverageValue\",\"averageValue\":\"500Mi\"}}},"
	    "{\"type\":\"Resource\",\"resource\":{\"name\":\"cpu\",\"target\":{\"type\":\"Utilization\",\"averageUtilization\":60}}}]}}");
	_cleanup_json_ json_t *v1 = conv(v2, "autoscaling/v1");
	REQUIRE(v1);
	CHECK_STR(json_path_str(v1, "apiVersion"), "autoscaling/v1");
	CHECK_INT(json_integer_value(json_path(v1, "spec.targetCPUUtilizationPercentage")), 60);
	CHECK(!json_path(v1, "spec.metrics"));
	/* k8s: the metric v1 cannot hold goes to the annotation in v1's MetricSpec form. */
	CHECK_STR(annotation(v1, ANN_METRICS),
	          "[{\"type\":\"Resource\",\"resource\":{\"name\":\"memory\",\"targetAverageValue\":\"500Mi\"}}]");
	CHECK(!annotation(v1, ANN_CURRENT));
	CHECK(!annotation(v1, ANN_BEHAVIOR));
	CHECK_STR(json_path_str(v1, "metadata.labels.app"), "web");
	_cleanup_json_ json_t *back = conv(v1, "autoscaling/v2");
	REQUIRE(back);
	CHECK(equal_json(back, v2));
}

TEST(hpa_v1_annotation_metrics_come_before_cpu)
{
	/* k8s: converting back, the annotation's metrics come first and the CPU target last. */
	_cleanup_json_ json_t *v2 = load(
	    "{\"apiVersion\":\"autoscaling/v2\",\"kind\":\"HorizontalPodAutoscaler\",\"metadata\":{\"name\":\"a\"},"
	    "\"spec\":{\"maxReplicas\":3,\"metrics\":["
	    "{\"type\":\"Resource\",\"resource\":{\"name\":\"cpu\",\"target\":{\"type\":\"Utilization\",\"averageUtilization\":70}}},"
	    "{\"type\":\"Resource\",\"resource\":{\"name\":\"memory\",\"target\":{\"type\":\"Utilization\",\"averageUtilization\":80}}}]}}");
	_cleanup_json_ json_t *v1 = conv(v2, "autoscaling/v1");
	REQUIRE(v1);
	CHECK_STR(annotation(v1, ANN_METRICS),
	          "[{\"type\":\"Resource\",\"resource\":{\"name\":\"memory\",\"targetAverageUtilization\":80}}]");
	_cleanup_json_ json_t *back = conv(v1, "autoscaling/v2");
	REQUIRE(back);
	json_t *m = json_path(back, "spec.metrics");
	CHECK_INT(json_array_size(m), 2);
	CHECK_STR(json_path_str(json_array_get(m, 0), "resource.name"), "memory");
	CHECK_STR(json_path_str(json_array_get(m, 0), "resource.target.type"), "Utilization");
	CHECK_STR(json_path_str(json_array_get(m, 1), "resource.name"), "cpu");
	CHECK_INT(json_integer_value(json_path(json_array_get(m, 1), "resource.target.averageUtilization")), 70);
}

TEST(hpa_v1_without_target_gets_cpu_80)
{
	_cleanup_json_ json_t *v1 = load(
	    "{\"apiVersion\":\"autoscaling/v1\",\"kind\":\"HorizontalPodAutoscaler\",\"metadata\":{\"name\":\"a\"},"
	    "\"spec\":{\"scaleTargetRef\":{\"kind\":\"Deployment\",\"name\":\"a\"},\"minReplicas\":1,\"maxReplicas\":4}}");
	_cleanup_json_ json_t *v2 = conv(v1, "autoscaling/v2");
	REQUIRE(v2);
	_cleanup_json_ json_t *want = load(
	    "[{\"type\":\"Resource\",\"resource\":{\"name\":\"cpu\",\"target\":{\"type\":\"Utilization\",\"averageUtilization\":80}}}]");
	CHECK(equal_json(json_path(v2, "spec.metrics"), want));
	CHECK(!json_object_get(v2, "status"));
	/* A v1 client reads the default back as its target. */
	_cleanup_json_ json_t *v1b = conv(v2, "autoscaling/v1");
	REQUIRE(v1b);
	CHECK_INT(json_integer_value(json_path(v1b, "spec.targetCPUUtilizationPercentage")), 80);
}

TEST(hpa_v2_status_to_v1_and_back)
{
	_cleanup_json_ json_t *v2 = load(
	    "{\"apiVersion\":\"autoscaling/v2\",\"kind\":\"HorizontalPodAutoscaler\",\"metadata\":{\"name\":\"a\"},"
	    "\"spec\":{\"maxReplicas\":3,\"metrics\":[{\"type\":\"Resource\",\"resource\":{\"name\":\"cpu\","
	    "\"target\":{\"type\":\"Utilization\",\"averageUtilization\":50}}}]},"
	    "\"status\":{\"observedGeneration\":1,\"lastScaleTime\":\"2024-05-01T10:00:00Z\",\"currentReplicas\":2,\"desiredReplicas\":3,"
	    "\"currentMetrics\":[{\"type\":\"Resource\",\"resource\":{\"name\":\"cpu\",\"current\":{\"averageValue\":\"120m\",\"averageUtilization\":40}}}],"
	    "\"conditions\":[{\"type\":\"AbleToScale\",\"status\":\"True\",\"lastTransitionTime\":\"2024-05-01T10:00:00Z\","
	    "\"reason\":\"ReadyForNewScale\",\"message\":\"recommended size matches current size\"}]}}");
	_cleanup_json_ json_t *v1 = conv(v2, "autoscaling/v1");
	REQUIRE(v1);
	_cleanup_json_ json_t *want_status = load(
	    "{\"observedGeneration\":1,\"lastScaleTime\":\"2024-05-01T10:00:00Z\",\"currentReplicas\":2,"
	    "\"desiredReplicas\":3,\"currentCPUUtilizationPercentage\":40}");
	CHECK(equal_json(json_object_get(v1, "status"), want_status));
	/* k8s: the current metrics are kept even when the cpu one maps to v1, for the raw value. */
	CHECK_STR(annotation(v1, ANN_CURRENT),
	          "[{\"type\":\"Resource\",\"resource\":{\"name\":\"cpu\",\"currentAverageUtilization\":40,\"currentAverageValue\":\"120m\"}}]");
	CHECK_STR(annotation(v1, ANN_CONDITIONS),
	          "[{\"type\":\"AbleToScale\",\"status\":\"True\",\"lastTransitionTime\":\"2024-05-01T10:00:00Z\","
	          "\"reason\":\"ReadyForNewScale\",\"message\":\"recommended size matches current size\"}]");
	CHECK(!annotation(v1, ANN_METRICS));
	_cleanup_json_ json_t *back = conv(v1, "autoscaling/v2");
	REQUIRE(back);
	CHECK(equal_json(back, v2));
}

TEST(hpa_v1_current_cpu_percentage_to_v2)
{
	_cleanup_json_ json_t *v1 = load(
	    "{\"apiVersion\":\"autoscaling/v1\",\"kind\":\"HorizontalPodAutoscaler\",\"metadata\":{\"name\":\"a\"},"
	    "\"spec\":{\"maxReplicas\":3,\"targetCPUUtilizationPercentage\":50},"
	    "\"status\":{\"currentReplicas\":1,\"desiredReplicas\":1,\"currentCPUUtilizationPercentage\":70}}");
	_cleanup_json_ json_t *v2 = conv(v1, "autoscaling/v2");
	REQUIRE(v2);
	_cleanup_json_ json_t *want = load(
	    "{\"currentReplicas\":1,\"desiredReplicas\":1,\"currentMetrics\":[{\"type\":\"Resource\","
	    "\"resource\":{\"name\":\"cpu\",\"current\":{\"averageUtilization\":70}}}]}");
	CHECK(equal_json(json_object_get(v2, "status"), want));
	/* Read back as v1, the current metric also lands in its annotation, with the zero
	 * quantity Go writes for the absent raw value. */
	_cleanup_json_ json_t *v1b = conv(v2, "autoscaling/v1");
	REQUIRE(v1b);
	CHECK_INT(json_integer_value(json_path(v1b, "status.currentCPUUtilizationPercentage")), 70);
	CHECK_STR(annotation(v1b, ANN_CURRENT),
	          "[{\"type\":\"Resource\",\"resource\":{\"name\":\"cpu\",\"currentAverageUtilization\":70,\"currentAverageValue\":\"0\"}}]");
}

TEST(hpa_behavior_round_trips_in_go_field_names)
{
	_cleanup_json_ json_t *v2 = load(
	    "{\"apiVersion\":\"autoscaling/v2\",\"kind\":\"HorizontalPodAutoscaler\",\"metadata\":{\"name\":\"a\"},"
	    "\"spec\":{\"maxReplicas\":3,\"metrics\":[{\"type\":\"Resource\",\"resource\":{\"name\":\"cpu\","
	    "\"target\":{\"type\":\"Utilization\",\"averageUtilization\":50}}}],"
	    "\"behavior\":{\"scaleDown\":{\"stabilizationWindowSeconds\":300,\"selectPolicy\":\"Max\","
	    "\"policies\":[{\"type\":\"Percent\",\"value\":100,\"periodSeconds\":15}]}}}}");
	_cleanup_json_ json_t *v1 = conv(v2, "autoscaling/v1");
	REQUIRE(v1);
	/* k8s: the annotation marshals the internal type, which has no json tags. */
	CHECK_STR(annotation(v1, ANN_BEHAVIOR),
	          "{\"ScaleUp\":null,\"ScaleDown\":{\"StabilizationWindowSeconds\":300,\"SelectPolicy\":\"Max\","
	          "\"Policies\":[{\"Type\":\"Percent\",\"Value\":100,\"PeriodSeconds\":15}]}}");
	_cleanup_json_ json_t *back = conv(v1, "autoscaling/v2");
	REQUIRE(back);
	CHECK(equal_json(back, v2));
}

TEST(hpa_behavior_annotation_decodes_like_go)
{
	/* encoding/json matches field names case-insensitively; a zero behavior or one that
	 * does not decode is ignored, and the annotation is dropped either way. */
	static const struct {
		const char *ann;
		const char *want; /* spec.behavior, or NULL */
	} cases[] = {
		{"{\"scaleUp\":{\"selectPolicy\":\"Disabled\"}}", "{\"scaleUp\":{\"selectPolicy\":\"Disabled\"}}"},
		{"{\"ScaleUp\":null,\"ScaleDown\":null}", NULL},
		{"{}", NULL},
		{"abc", NULL},
		{"{\"ScaleUp\":{\"StabilizationWindowSeconds\":\"x\"}}", NULL},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_json_ json_t *v1 = load(
		    "{\"apiVersion\":\"autoscaling/v1\",\"kind\":\"HorizontalPodAutoscaler\",\"metadata\":{\"name\":\"a\","
		    "\"annotations\":{\"team\":\"x\"}},\"spec\":{\"maxReplicas\":3}}");
		json_object_set_new(json_path(v1, "metadata.annotations"), ANN_BEHAVIOR,
		                    json_string(cases[i].ann));
		_cleanup_json_ json_t *v2 = conv(v1, "autoscaling/v2");
		REQUIRE(v2);
		if (cases[i].want) {
			_cleanup_json_ json_t *want = load(cases[i].want);
			CHECK(equal_json(json_path(v2, "spec.behavior"), want));
		} else {
			CHECK(!json_path(v2, "spec.behavior"));
		}
		CHECK(!annotation(v2, ANN_BEHAVIOR));
		CHECK_STR(annotation(v2, "team"), "x");
	}
}

TEST(hpa_round_trip_annotations_are_replaced_and_dropped)
{
	/* A stale metrics annotation on the stored object is not served to v1 clients. */
	_cleanup_json_ json_t *v2 = load(
	    "{\"apiVersion\":\"autoscaling/v2\",\"kind\":\"HorizontalPodAutoscaler\",\"metadata\":{\"name\":\"a\","
	    "\"annotations\":{\"" ANN_METRICS "\":\"[]\",\"" ANN_CONDITIONS "\":\"[]\"}},"
	    "\"spec\":{\"maxReplicas\":3,\"metrics\":[{\"type\":\"Resource\",\"resource\":{\"name\":\"cpu\","
	    "\"target\":{\"type\":\"Utilization\",\"averageUtilization\":50}}}]}}");
	_cleanup_json_ json_t *v1 = conv(v2, "autoscaling/v1");
	REQUIRE(v1);
	CHECK(!json_path(v1, "metadata.annotations"));
	/* Malformed annotations from a v1 client are ignored, and dropped. */
	_cleanup_json_ json_t *bad = load(
	    "{\"apiVersion\":\"autoscaling/v1\",\"kind\":\"HorizontalPodAutoscaler\",\"metadata\":{\"name\":\"a\","
	    "\"annotations\":{\"" ANN_METRICS "\":\"abc\",\"" ANN_CURRENT "\":\"{}\",\"" ANN_CONDITIONS "\":\"\"}},"
	    "\"spec\":{\"maxReplicas\":3,\"targetCPUUtilizationPercentage\":55}}");
	_cleanup_json_ json_t *v2b = conv(bad, "autoscaling/v2");
	REQUIRE(v2b);
	CHECK(!json_path(v2b, "metadata.annotations"));
	CHECK_INT(json_array_size(json_path(v2b, "spec.metrics")), 1);
	CHECK_INT(json_integer_value(json_path(json_array_get(json_path(v2b, "spec.metrics"), 0),
	                                       "resource.target.averageUtilization")), 55);
	CHECK(!json_object_get(v2b, "status"));
}

TEST(hpa_other_metric_sources_round_trip)
{
	_cleanup_json_ json_t *v2 = load(
	    "{\"apiVersion\":\"autoscaling/v2\",\"kind\":\"HorizontalPodAutoscaler\",\"metadata\":{\"name\":\"a\"},"
	    "\"spec\":{\"maxReplicas\":3,\"metrics\":["
	    "{\"type\":\"Pods\",\"pods\":{\"metric\":{\"name\":\"qps\",\"selector\":{\"matchLabels\":{\"x\":\"y\"}}},"
	    "\"target\":{\"type\":\"AverageValue\",\"averageValue\":\"1k\"}}},"
	    "{\"type\":\"Object\",\"object\":{\"describedObject\":{\"kind\":\"Ingress\",\"name\":\"main\",\"apiVersion\":\"networking.k8s.io/v1\"},"
	    "\"target\":{\"type\":\"Value\",\"value\":\"10k\"},\"metric\":{\"name\":\"requests\"}}},"
	    "{\"type\":\"External\",\"external\":{\"metric\":{\"name\":\"queue\"},\"target\":{\"type\":\"AverageValue\",\"averageValue\":\"30\"}}},"
	    "{\"type\":\"ContainerResource\",\"containerResource\":{\"name\":\"cpu\",\"target\":{\"type\":\"Utilization\",\"averageUtilization\":60},\"container\":\"app\"}}]}}");
	_cleanup_json_ json_t *v1 = conv(v2, "autoscaling/v1");
	REQUIRE(v1);
	/* A containerResource cpu metric is not v1's cpu target. */
	CHECK(!json_path(v1, "spec.targetCPUUtilizationPercentage"));
	CHECK_STR(annotation(v1, ANN_METRICS),
	          "[{\"type\":\"Pods\",\"pods\":{\"metricName\":\"qps\",\"targetAverageValue\":\"1k\",\"selector\":{\"matchLabels\":{\"x\":\"y\"}}}},"
	          "{\"type\":\"Object\",\"object\":{\"target\":{\"kind\":\"Ingress\",\"name\":\"main\",\"apiVersion\":\"networking.k8s.io/v1\"},"
	          "\"metricName\":\"requests\",\"targetValue\":\"10k\"}},"
	          "{\"type\":\"External\",\"external\":{\"metricName\":\"queue\",\"targetAverageValue\":\"30\"}},"
	          "{\"type\":\"ContainerResource\",\"containerResource\":{\"name\":\"cpu\",\"targetAverageUtilization\":60,\"container\":\"app\"}}]");
	_cleanup_json_ json_t *back = conv(v1, "autoscaling/v2");
	REQUIRE(back);
	CHECK(equal_json(back, v2));
}

/* ---------- Event ---------- */

static const char core_event[] =
    "{\"kind\":\"Event\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"web.17c\",\"namespace\":\"default\"},"
    "\"involvedObject\":{\"kind\":\"Pod\",\"namespace\":\"default\",\"name\":\"web\",\"uid\":\"u1\",\"apiVersion\":\"v1\",\"fieldPath\":\"spec.containers{app}\"},"
    "\"reason\":\"Pulled\",\"message\":\"Successfully pulled image\",\"source\":{\"component\":\"kubelet\",\"host\":\"node-1\"},"
    "\"firstTimestamp\":\"2024-05-01T10:00:00Z\",\"lastTimestamp\":\"2024-05-01T10:05:00Z\",\"count\":3,\"type\":\"Normal\","
    "\"eventTime\":\"2024-05-01T10:00:00.000000Z\",\"series\":{\"count\":2,\"lastObservedTime\":\"2024-05-01T10:05:00.000000Z\"},"
    "\"action\":\"Pulling\",\"related\":{\"kind\":\"Node\",\"name\":\"node-1\"},"
    "\"reportingComponent\":\"kubelet\",\"reportingInstance\":\"node-1\"}";

static const char events_event[] =
    "{\"kind\":\"Event\",\"apiVersion\":\"events.k8s.io/v1\",\"metadata\":{\"name\":\"web.17c\",\"namespace\":\"default\"},"
    "\"eventTime\":\"2024-05-01T10:00:00.000000Z\",\"series\":{\"count\":2,\"lastObservedTime\":\"2024-05-01T10:05:00.000000Z\"},"
    "\"reportingController\":\"kubelet\",\"reportingInstance\":\"node-1\",\"action\":\"Pulling\",\"reason\":\"Pulled\","
    "\"regarding\":{\"kind\":\"Pod\",\"namespace\":\"default\",\"name\":\"web\",\"uid\":\"u1\",\"apiVersion\":\"v1\",\"fieldPath\":\"spec.containers{app}\"},"
    "\"related\":{\"kind\":\"Node\",\"name\":\"node-1\"},\"note\":\"Successfully pulled image\",\"type\":\"Normal\","
    "\"deprecatedSource\":{\"component\":\"kubelet\",\"host\":\"node-1\"},"
    "\"deprecatedFirstTimestamp\":\"2024-05-01T10:00:00Z\",\"deprecatedLastTimestamp\":\"2024-05-01T10:05:00Z\",\"deprecatedCount\":3}";

TEST(event_core_to_events_and_back)
{
	_cleanup_json_ json_t *core = load(core_event);
	_cleanup_json_ json_t *want = load(events_event);
	_cleanup_json_ json_t *ev = conv(core, "events.k8s.io/v1");
	REQUIRE(ev);
	CHECK(equal_json(ev, want));
	/* Members come in events.k8s.io/v1's field order. */
	_cleanup_free_ char *s = json_dump_compact(ev);
	CHECK_STR(s, events_event);
	_cleanup_json_ json_t *back = conv(ev, "v1");
	REQUIRE(back);
	CHECK(equal_json(back, core));
	_cleanup_free_ char *s2 = json_dump_compact(back);
	CHECK_STR(s2, core_event);
}

TEST(event_events_to_core_minimal)
{
	_cleanup_json_ json_t *ev = load(
	    "{\"apiVersion\":\"events.k8s.io/v1\",\"kind\":\"Event\",\"metadata\":{\"name\":\"e\"},"
	    "\"eventTime\":\"2024-05-01T10:00:00.000000Z\",\"reportingController\":\"example.com/ctl\","
	    "\"reportingInstance\":\"ctl-1\",\"action\":\"Scale\",\"reason\":\"Scaled\",\"type\":\"Normal\","
	    "\"regarding\":{\"kind\":\"Deployment\",\"name\":\"web\"},\"note\":\"scaled to 3\"}");
	_cleanup_json_ json_t *core = conv(ev, "v1");
	REQUIRE(core);
	_cleanup_json_ json_t *want = load(
	    "{\"kind\":\"Event\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"e\"},"
	    "\"involvedObject\":{\"kind\":\"Deployment\",\"name\":\"web\"},\"reason\":\"Scaled\",\"message\":\"scaled to 3\","
	    "\"type\":\"Normal\",\"eventTime\":\"2024-05-01T10:00:00.000000Z\",\"action\":\"Scale\","
	    "\"reportingComponent\":\"example.com/ctl\",\"reportingInstance\":\"ctl-1\"}");
	CHECK(equal_json(core, want));
	/* Nothing absent is invented: no source, timestamps or count. */
	CHECK(!json_object_get(core, "source"));
	CHECK(!json_object_get(core, "count"));
}

/* ---------- dispatch and helpers ---------- */

TEST(convert_needed_compares_versions)
{
	CHECK(convert_needed("autoscaling/v2", "autoscaling/v1"));
	CHECK(convert_needed("v1", "events.k8s.io/v1"));
	CHECK(!convert_needed("autoscaling/v2", "autoscaling/v2"));
	CHECK(!convert_needed(NULL, "v1"));
	CHECK(!convert_needed("v1", NULL));
}

TEST(convert_generic_and_errors)
{
	/* Custom resources without a conversion: only apiVersion changes. */
	_cleanup_json_ json_t *cr = load(
	    "{\"apiVersion\":\"stable.example.com/v1\",\"kind\":\"CronTab\",\"metadata\":{\"name\":\"c\"},\"spec\":{\"x\":1}}");
	_cleanup_json_ json_t *cr2 = conv(cr, "stable.example.com/v1beta1");
	REQUIRE(cr2);
	CHECK_STR(json_path_str(cr2, "apiVersion"), "stable.example.com/v1beta1");
	json_object_set_new(cr2, "apiVersion", json_string("stable.example.com/v1"));
	CHECK(equal_json(cr2, cr));
	_cleanup_json_ json_t *same = conv(cr, "stable.example.com/v1");
	CHECK(equal_json(same, cr));
	CHECK(same != cr);

	terr *err = NULL;
	_cleanup_json_ json_t *dep = load("{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\"}");
	CHECK(!convert_object(dep, "v1", &err));
	REQUIRE(err);
	CHECK_INT(err->code, 500);
	terr_free(err);
	err = NULL;
	_cleanup_json_ json_t *noav = load("{\"kind\":\"Event\"}");
	CHECK(!convert_object(noav, "v1", &err));
	REQUIRE(err);
	CHECK_INT(err->code, 400);
	terr_free(err);
	err = NULL;
	_cleanup_json_ json_t *arr = load("[1]");
	CHECK(!convert_object(arr, "v1", &err));
	REQUIRE(err);
	CHECK_INT(err->code, 400);
	terr_free(err);
}

TEST(storage_versions_and_read_write_helpers)
{
	kind_registry_init();
	const kind_desc *hpa1 = kind_by_gvk("autoscaling", "v1", "HorizontalPodAutoscaler");
	const kind_desc *hpa2 = kind_by_gvk("autoscaling", "v2", "HorizontalPodAutoscaler");
	const kind_desc *ev_core = kind_by_gvk("", "v1", "Event");
	const kind_desc *ev_new = kind_by_gvk("events.k8s.io", "v1", "Event");
	const kind_desc *dep = kind_by_gvk("apps", "v1", "Deployment");
	REQUIRE(hpa1 && hpa2 && ev_core && ev_new && dep);
	char av[128];
	convert_storage_api_version(hpa1, av);
	CHECK_STR(av, "autoscaling/v2");
	convert_storage_api_version(hpa2, av);
	CHECK_STR(av, "autoscaling/v2");
	convert_storage_api_version(ev_new, av);
	CHECK_STR(av, "v1");
	convert_storage_api_version(ev_core, av);
	CHECK_STR(av, "v1");
	convert_storage_api_version(dep, av);
	CHECK_STR(av, "apps/v1");
	CHECK(convert_may_differ(hpa1) && convert_may_differ(hpa2));
	CHECK(convert_may_differ(ev_core) && convert_may_differ(ev_new));
	CHECK(!convert_may_differ(dep));

	/* Reading stored bytes. */
	static const char stored[] =
	    "{\"apiVersion\":\"autoscaling/v2\",\"kind\":\"HorizontalPodAutoscaler\",\"metadata\":{\"name\":\"a\"},"
	    "\"spec\":{\"maxReplicas\":3,\"metrics\":[{\"type\":\"Resource\",\"resource\":{\"name\":\"cpu\","
	    "\"target\":{\"type\":\"Utilization\",\"averageUtilization\":50}}}]}}";
	char *out = NULL;
	size_t n = 0;
	terr *err = NULL;
	CHECK_INT(convert_stored_json(hpa2, stored, strlen(stored), &out, &n, &err), 0);
	CHECK(!out);
	CHECK_INT(convert_stored_json(dep, stored, strlen(stored), &out, &n, &err), 0);
	CHECK_INT(convert_stored_json(hpa1, stored, strlen(stored), &out, &n, &err), 1);
	REQUIRE(out);
	CHECK_INT(n, strlen(out));
	CHECK_STR(out,
	          "{\"apiVersion\":\"autoscaling/v1\",\"kind\":\"HorizontalPodAutoscaler\",\"metadata\":{\"name\":\"a\"},"
	          "\"spec\":{\"maxReplicas\":3,\"targetCPUUtilizationPercentage\":50}}");
	free(out);
	out = NULL;
	CHECK_INT(convert_stored_json(hpa1, "{nope", 5, &out, &n, &err), -1);
	REQUIRE(err);
	CHECK_INT(err->code, 500);
	terr_free(err);
	err = NULL;
	/* A kube-ordered core Event is sent as is; read as events.k8s.io it converts. */
	CHECK_INT(convert_stored_json(ev_core, core_event, strlen(core_event), &out, &n, &err), 0);
	CHECK_INT(convert_stored_json(ev_new, core_event, strlen(core_event), &out, &n, &err), 1);
	CHECK_STR(out, events_event);
	free(out);

	/* Objects of another kind (Status, Scale) pass through convert_for_read untouched. */
	_cleanup_json_ json_t *st = load("{\"kind\":\"Status\",\"apiVersion\":\"v1\"}");
	_cleanup_json_ json_t *st2 = convert_for_read(hpa1, st, &err);
	CHECK(st2 == st);

	/* Writing: a v1 HPA is stored as v2, with v2's defaults for a restored behavior. */
	_cleanup_json_ json_t *v1 = load(
	    "{\"apiVersion\":\"autoscaling/v1\",\"kind\":\"HorizontalPodAutoscaler\",\"metadata\":{\"name\":\"a\","
	    "\"annotations\":{\"" ANN_BEHAVIOR "\":\"{\\\"ScaleUp\\\":{\\\"StabilizationWindowSeconds\\\":60}}\"}},"
	    "\"spec\":{\"scaleTargetRef\":{\"kind\":\"Deployment\",\"name\":\"a\"},\"minReplicas\":1,\"maxReplicas\":3}}");
	_cleanup_json_ json_t *sv = convert_to_storage(hpa1, v1, &err);
	REQUIRE(sv);
	CHECK_STR(json_path_str(sv, "apiVersion"), "autoscaling/v2");
	CHECK_INT(json_integer_value(json_path(sv, "spec.behavior.scaleUp.stabilizationWindowSeconds")), 60);
	CHECK_STR(json_path_str(sv, "spec.behavior.scaleUp.selectPolicy"), "Max");
	CHECK(json_path(sv, "spec.behavior.scaleDown.policies"));
	CHECK(!json_path(sv, "metadata.annotations"));
	/* Already stored form, or a kind stored as itself: the same object back. */
	_cleanup_json_ json_t *sv2 = convert_to_storage(hpa2, sv, &err);
	CHECK(sv2 == sv);
	_cleanup_json_ json_t *evs = load(events_event);
	_cleanup_json_ json_t *evc = convert_to_storage(ev_new, evs, &err);
	REQUIRE(evc);
	CHECK_STR(json_path_str(evc, "apiVersion"), "v1");
	CHECK_STR(json_path_str(evc, "message"), "Successfully pulled image");
	CHECK(!err);
}
