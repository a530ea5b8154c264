/* test_deployment.c — the Deployment controller's pure rules (deployment_util.c) against
 * kube's pkg/controller/deployment/util behaviour: hash encoding, surge/unavailable
 * rounding, new-RS sizing, annotations and revision history, conditions, status and
 * proportional shares. */
#include "test.h"

#include "base/json.h"
#include "base/util.h"
#include "controllers/deployment-internal.h"

static json_t *J(const char *s)
{
	json_error_t e;
	json_t *j = json_loads(s, 0, &e);
	if (!j)
		fprintf(stderr, "bad test JSON: %s: %s\n", e.text, s);
	return j;
}

/* A RollingUpdate deployment with replicas, maxSurge and maxUnavailable (JSON values). */
static json_t *deploy(int replicas, const char *surge, const char *unavail)
{
	char *s =
	    xasprintf("{\"metadata\":{\"name\":\"web\",\"generation\":1},\"spec\":{\"replicas\":%d,"
	              "\"strategy\":{\"type\":\"RollingUpdate\",\"rollingUpdate\":{\"maxSurge\":%s,"
	              "\"maxUnavailable\":%s}},\"progressDeadlineSeconds\":600,"
	              "\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{}}}}",
	              replicas, surge, unavail);
	json_t *d = J(s);
	free(s);
	return d;
}

static json_t *rs(const char *name, int spec, int status, int available, const char *created)
{
	char *s = xasprintf("{\"metadata\":{\"name\":\"%s\",\"creationTimestamp\":\"%s\"},"
	                    "\"spec\":{\"replicas\":%d},\"status\":{\"replicas\":%d,"
	                    "\"readyReplicas\":%d,\"availableReplicas\":%d}}",
	                    name, created, spec, status, available, available);
	json_t *r = J(s);
	free(s);
	return r;
}

TEST(safe_encode_maps_digits_like_kube)
{
	char out[16];
	/* k8s: digits 0-9 map to 4 5 6 7 8 9 b c d f. */
	deployment_safe_encode("0123456789", out);
	CHECK_STR(out, "456789bcdf");
}

TEST(template_hash_is_stable_and_uses_collision_count)
{
	json_t *t = J("{\"metadata\":{\"labels\":{\"app\":\"web\"},\"creationTimestamp\":null},"
	              "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]}}");
	json_t *t2 = J("{\"spec\":{\"containers\":[{\"image\":\"nginx\",\"name\":\"c\"}]},"
	               "\"metadata\":{\"labels\":{\"app\":\"web\"}}}");
	char *a = deployment_template_hash(t, NULL);
	char *b = deployment_template_hash(t2, NULL);
	json_t *zero = json_integer(0);
	char *c = deployment_template_hash(t, zero);
	CHECK_STR(a, b);
	CHECK(strcmp(a, c) != 0);
	CHECK(strlen(a) >= 1 && strlen(a) <= 10);
	for (const char *p = a; *p; p++)
		CHECK(strchr("456789bcdf", *p) != NULL);
	free(a);
	free(b);
	free(c);
	json_decref(zero);
	json_decref(t);
	json_decref(t2);
}

TEST(template_equal_ignores_hash_label)
{
	json_t *a = J("{\"metadata\":{\"labels\":{\"app\":\"web\",\"pod-template-hash\":\"abc\"}},"
	              "\"spec\":{\"x\":1}}");
	json_t *b = J("{\"metadata\":{\"labels\":{\"app\":\"web\"},\"creationTimestamp\":null},"
	              "\"spec\":{\"x\":1}}");
	json_t *c = J("{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{\"x\":2}}");
	CHECK(deployment_template_equal(a, b));
	CHECK(!deployment_template_equal(a, c));
	json_decref(a);
	json_decref(b);
	json_decref(c);
}

TEST(scaled_value_rounds_surge_up_and_unavailable_down)
{
	int v;
	json_t *p = json_string("25%"), *i = json_integer(2), *bad = json_string("2");
	CHECK(deployment_scaled_value(p, 10, true, &v) == 0);
	CHECK_INT(v, 3);
	CHECK(deployment_scaled_value(p, 10, false, &v) == 0);
	CHECK_INT(v, 2);
	CHECK(deployment_scaled_value(i, 10, false, &v) == 0);
	CHECK_INT(v, 2);
	CHECK(deployment_scaled_value(bad, 10, false, &v) < 0);
	json_decref(p);
	json_decref(i);
	json_decref(bad);
}

TEST(fenceposts)
{
	json_t *d = deploy(1, "\"25%\"", "\"25%\"");
	/* 25% of 1: surge 1 (up), unavailable 0 (down). */
	CHECK_INT(deployment_max_surge(d), 1);
	CHECK_INT(deployment_max_unavailable(d), 0);
	json_decref(d);
	d = deploy(3, "0", "0");
	/* k8s: both zero becomes maxUnavailable 1. */
	CHECK_INT(deployment_max_surge(d), 0);
	CHECK_INT(deployment_max_unavailable(d), 1);
	json_decref(d);
	d = deploy(2, "0", "5");
	CHECK_INT(deployment_max_unavailable(d), 2); /* capped at replicas */
	json_decref(d);
	d = J("{\"spec\":{\"replicas\":3,\"strategy\":{\"type\":\"Recreate\"}}}");
	CHECK_INT(deployment_max_surge(d), 0);
	CHECK_INT(deployment_max_unavailable(d), 0);
	json_decref(d);
}

TEST(new_rs_replicas_respects_surge)
{
	json_t *d = deploy(10, "\"25%\"", "\"25%\"");
	json_t *old = rs("web-a", 10, 10, 10, "2024-01-01T00:00:00Z");
	json_t *nrs = rs("web-b", 0, 0, 0, "2024-01-01T00:00:01Z");
	json_t *all[] = {old, nrs};
	/* max total 13, current 10: the new set may grow by 3. */
	CHECK_INT(deployment_new_rs_replicas(d, all, 2, nrs), 3);
	json_object_set_new(json_object_get(old, "spec"), "replicas", json_integer(13));
	CHECK_INT(deployment_new_rs_replicas(d, all, 2, nrs), 0);
	json_object_set_new(json_object_get(old, "spec"), "replicas", json_integer(0));
	CHECK_INT(deployment_new_rs_replicas(d, all, 2, nrs), 10);
	json_decref(d);
	json_decref(old);
	json_decref(nrs);
}

TEST(new_rs_annotations_and_revision_history)
{
	json_t *d = deploy(3, "1", "0");
	json_object_set_new(json_object_get(d, "metadata"), "annotations",
	                    J("{\"kubernetes.io/change-cause\":\"v2\","
	                      "\"deployment.kubernetes.io/revision\":\"9\","
	                      "\"kubectl.kubernetes.io/last-applied-configuration\":\"{}\"}"));
	json_t *r = J("{\"metadata\":{}}");
	CHECK(deployment_set_new_rs_annotations(d, r, "1", false, DEP_MAX_REV_HISTORY_CHARS));
	json_t *ann = json_path(r, "metadata.annotations");
	CHECK_STR(json_string_value(json_object_get(ann, "kubernetes.io/change-cause")), "v2");
	CHECK_STR(json_string_value(json_object_get(ann, DEP_ANN_REVISION)), "1");
	CHECK_STR(json_string_value(json_object_get(ann, DEP_ANN_DESIRED)), "3");
	CHECK_STR(json_string_value(json_object_get(ann, DEP_ANN_MAX)), "4");
	CHECK(!json_object_get(ann, "kubectl.kubernetes.io/last-applied-configuration"));
	CHECK(!json_object_get(ann, DEP_ANN_REVISION_HISTORY));
	/* Same revision again: nothing changes. */
	CHECK(!deployment_set_new_rs_annotations(d, r, "1", true, DEP_MAX_REV_HISTORY_CHARS));
	/* Rolled back to: revision 3, history keeps 1, then 1,3. */
	CHECK(deployment_set_new_rs_annotations(d, r, "3", true, DEP_MAX_REV_HISTORY_CHARS));
	CHECK_STR(json_string_value(json_object_get(ann, DEP_ANN_REVISION)), "3");
	CHECK_STR(json_string_value(json_object_get(ann, DEP_ANN_REVISION_HISTORY)), "1");
	CHECK(deployment_set_new_rs_annotations(d, r, "5", true, DEP_MAX_REV_HISTORY_CHARS));
	CHECK_STR(json_string_value(json_object_get(ann, DEP_ANN_REVISION_HISTORY)), "1,3");
	/* A tight limit drops the oldest entries. */
	CHECK(deployment_set_new_rs_annotations(d, r, "7", true, 4));
	CHECK_STR(json_string_value(json_object_get(ann, DEP_ANN_REVISION_HISTORY)), "3,5");
	CHECK_INT(deployment_revision(r), 7);
	json_decref(d);
	json_decref(r);
}

TEST(conditions_keep_transition_time_and_move_last)
{
	json_t *st = json_object();
	deployment_set_condition(st, deployment_new_condition("Progressing", "True",
	                                                      "NewReplicaSetCreated", "m1",
	                                                      1000000000LL));
	deployment_set_condition(st, deployment_new_condition("Available", "False",
	                                                      "MinimumReplicasUnavailable", "m2",
	                                                      2000000000LL));
	/* Same status, new reason: transition time kept, moved to the end. */
	deployment_set_condition(st,
	                         deployment_new_condition("Progressing", "True",
	                                                  "ReplicaSetUpdated", "m3", 3000000000LL));
	json_t *conds = json_object_get(st, "conditions");
	REQUIRE(json_array_size(conds) == 2);
	json_t *p = json_array_get(conds, 1);
	CHECK_STR(json_string_value(json_object_get(p, "reason")), "ReplicaSetUpdated");
	CHECK_STR(json_string_value(json_object_get(p, "lastTransitionTime")),
	          "1970-01-01T00:00:01Z");
	CHECK_STR(json_string_value(json_object_get(p, "lastUpdateTime")), "1970-01-01T00:00:03Z");
	/* Same status and reason: a no-op. */
	deployment_set_condition(
	    st,
	    deployment_new_condition("Available", "False", "MinimumReplicasUnavailable", "x", 9e9));
	CHECK_STR(json_string_value(json_object_get(json_array_get(conds, 0), "message")), "m2");
	deployment_remove_condition(st, "Available");
	deployment_remove_condition(st, "Progressing");
	CHECK(!json_object_get(st, "conditions"));
	json_decref(st);
}

TEST(calculate_status_counts_and_available_condition)
{
	json_t *d = deploy(3, "1", "1");
	json_t *a = rs("web-a", 1, 1, 1, "2024-01-01T00:00:00Z");
	json_t *b = rs("web-b", 3, 2, 1, "2024-01-01T00:00:01Z");
	json_t *all[] = {a, b};
	json_t *st = deployment_calculate_status(d, all, 2, b, 5000000000LL);
	CHECK_INT(json_integer_value(json_object_get(st, "replicas")), 3);
	CHECK_INT(json_integer_value(json_object_get(st, "updatedReplicas")), 2);
	CHECK_INT(json_integer_value(json_object_get(st, "availableReplicas")), 2);
	CHECK_INT(json_integer_value(json_object_get(st, "unavailableReplicas")), 2);
	CHECK_INT(json_integer_value(json_object_get(st, "observedGeneration")), 1);
	json_t *av = deployment_condition(st, "Available");
	REQUIRE(av);
	/* 2 available >= 3 - 1. */
	CHECK_STR(json_string_value(json_object_get(av, "reason")), "MinimumReplicasAvailable");
	CHECK_STR(json_string_value(json_object_get(av, "message")),
	          "Deployment has minimum availability.");
	CHECK(!deployment_complete(d, st));
	json_decref(st);
	/* Zero counts are omitted. */
	json_t *z = rs("web-z", 0, 0, 0, "2024-01-01T00:00:00Z");
	json_t *only[] = {z};
	st = deployment_calculate_status(d, only, 1, z, 0);
	CHECK(!json_object_get(st, "replicas"));
	CHECK(!json_object_get(st, "availableReplicas"));
	CHECK_STR(
	    json_string_value(json_object_get(deployment_condition(st, "Available"), "reason")),
	    "MinimumReplicasUnavailable");
	json_decref(st);
	json_decref(z);
	json_decref(a);
	json_decref(b);
	json_decref(d);
}

TEST(timed_out_after_deadline)
{
	json_t *d = deploy(1, "1", "0");
	json_t *st = json_object();
	deployment_set_condition(st,
	                         deployment_new_condition("Progressing", "True",
	                                                  "ReplicaSetUpdated", "m", 1000000000LL));
	CHECK(!deployment_timed_out(d, st, 500 * 1000000000LL));
	CHECK(deployment_timed_out(d, st, 602 * 1000000000LL));
	json_decref(st);
	json_decref(d);
}

TEST(proportional_scaling_shares)
{
	/* Deployment was 10 (+3 surge = 13), now 20 (+5 surge = 25): a set of 6 gets 12 - 6. */
	json_t *d = deploy(20, "\"25%\"", "\"25%\"");
	json_t *a = rs("web-a", 6, 6, 6, "2024-01-01T00:00:00Z");
	deployment_set_replicas_annotations(a, 10, 13);
	CHECK_INT(deployment_rs_proportion(a, d, 12, 0), 6);
	CHECK_INT(deployment_rs_proportion(a, d, 12, 10), 2); /* limited by what is left */
	/* Scaling to zero takes a whole set. */
	json_object_set_new(json_object_get(d, "spec"), "replicas", json_integer(0));
	CHECK_INT(deployment_rs_proportion(a, d, -13, 0), -6);
	json_decref(a);
	json_decref(d);
}

TEST(orderings)
{
	json_t *a = rs("web-a", 1, 0, 0, "2024-01-01T00:00:02Z");
	json_t *b = rs("web-b", 3, 0, 0, "2024-01-01T00:00:01Z");
	json_t *c = rs("web-c", 3, 0, 0, "2024-01-01T00:00:03Z");
	json_t *v[] = {a, b, c};
	deployment_sort_rs(v, 3, RS_BY_CREATION);
	CHECK(v[0] == b && v[1] == a && v[2] == c);
	deployment_sort_rs(v, 3, RS_BY_SIZE_NEWER);
	CHECK(v[0] == c && v[1] == b && v[2] == a);
	deployment_sort_rs(v, 3, RS_BY_SIZE_OLDER);
	CHECK(v[0] == b && v[1] == c && v[2] == a);
	json_object_set_new(json_obj_child(json_object_get(c, "metadata"), "annotations"),
	                    DEP_ANN_REVISION, json_string("1"));
	json_object_set_new(json_obj_child(json_object_get(a, "metadata"), "annotations"),
	                    DEP_ANN_REVISION, json_string("2"));
	json_object_set_new(json_obj_child(json_object_get(b, "metadata"), "annotations"),
	                    DEP_ANN_REVISION, json_string("10"));
	deployment_sort_rs(v, 3, RS_BY_REVISION);
	CHECK(v[0] == c && v[1] == a && v[2] == b);
	json_decref(a);
	json_decref(b);
	json_decref(c);
}
