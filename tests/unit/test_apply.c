/* test_apply.c — server-side apply and managedFields tracking, checked against what
 * kube-apiserver records and answers (FieldsV1 shapes, conflict messages, pruning). */
#include "test.h"

#include "api/apply.h"
#include "api/fieldset.h"
#include "api/patch.h"
#include "api/schema.h"
#include "base/json.h"
#include "base/util.h"

#define NOW   1700000000000000000LL /* 2023-11-14T22:13:20Z */
#define LATER 1700000100000000000LL

static json_t *J(const char *s)
{
	json_error_t e;
	json_t *j = json_loads(s, JSON_DECODE_ANY, &e);
	if (!j) {
		fprintf(stderr, "bad test JSON: %s: %s\n", s, e.text);
		abort();
	}
	return j;
}

static bool same(json_t *got, const char *want)
{
	json_t *w = J(want);
	bool ok = got && patch_json_equal(got, w);
	if (!ok) {
		char *g = got ? json_dump_compact(got) : xstrdup("(null)");
		fprintf(stderr, "    got:  %s\n    want: %s\n", g, want);
		free(g);
	}
	json_decref(w);
	return ok;
}

static const schema_type *deploy(void)
{
	return schema_find("io.k8s.api.apps.v1.Deployment");
}

/* The managedFields entry of manager/operation in obj (borrowed), or NULL. */
static json_t *entry(json_t *obj, const char *manager, const char *op)
{
	size_t i;
	json_t *e;
	json_array_foreach(json_path(obj, "metadata.managedFields"), i, e)
	{
		if (str_eq(json_string_value(json_object_get(e, "manager")), manager) &&
		    str_eq(json_string_value(json_object_get(e, "operation")), op))
			return e;
	}
	return NULL;
}

static json_t *fields_of(json_t *obj, const char *manager, const char *op)
{
	return json_object_get(entry(obj, manager, op), "fieldsV1");
}

#define NGINX                                                                                      \
	"{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"nginx\","    \
	"\"labels\":{\"app\":\"nginx\"}},\"spec\":{\"replicas\":3,\"selector\":{\"matchLabels\":"  \
	"{\"app\":\"nginx\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":\"nginx\"}},"        \
	"\"spec\":"                                                                                \
	"{\"containers\":[{\"name\":\"nginx\",\"image\":\"nginx:1.14.2\",\"ports\":[{"             \
	"\"containerPort\":80}]}]}}}}"

static json_t *apply(json_t *live, const char *cfg, const char *mgr, bool force, terr **err)
{
	json_t *c = J(cfg);
	json_t *r = apply_ssa(live, c, deploy(), NULL, mgr, "apps/v1", force, NOW, err);
	json_decref(c);
	return r;
}

TEST(ssa_create_records_fields_v1)
{
	REQUIRE(deploy());
	terr *err = NULL;
	json_t *obj = apply(NULL, NGINX, "kubectl", false, &err);
	REQUIRE(obj && !err);
	json_t *e = entry(obj, "kubectl", "Apply");
	REQUIRE(e);
	CHECK_STR(json_string_value(json_object_get(e, "apiVersion")), "apps/v1");
	CHECK_STR(json_string_value(json_object_get(e, "time")), "2023-11-14T22:13:20Z");
	CHECK_STR(json_string_value(json_object_get(e, "fieldsType")), "FieldsV1");
	/* k8s: what kube records for this apply: the label selector is atomic, containers are
	 * keyed by name, ports by containerPort+protocol (protocol defaulted to TCP), list items
	 * are members themselves ("."), and apiVersion/kind/metadata.name are not tracked. */
	CHECK(same(json_object_get(e, "fieldsV1"),
	           "{\"f:metadata\":{\"f:labels\":{\"f:app\":{}}},\"f:spec\":{\"f:replicas\":{},"
	           "\"f:selector\":{},\"f:template\":{\"f:metadata\":{\"f:labels\":{\"f:app\":{}}},"
	           "\"f:spec\":{\"f:containers\":{\"k:{\\\"name\\\":\\\"nginx\\\"}\":{\".\":{},"
	           "\"f:image\":{},\"f:name\":{},\"f:ports\":{\"k:{\\\"containerPort\\\":80,"
	           "\\\"protocol\\\":\\\"TCP\\\"}\":{\".\":{},\"f:containerPort\":{}}}}}}}}}"));
	CHECK_INT(json_integer_value(json_path(obj, "spec.replicas")), 3);
	CHECK_STR(json_path_str(obj, "metadata.name"), "nginx");
	json_decref(obj);
}

TEST(ssa_reapply_without_field_removes_it)
{
	REQUIRE(deploy());
	terr *err = NULL;
	const char *with_tier =
	    "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"n\","
	    "\"labels\":{\"app\":\"a\",\"tier\":\"web\"}},\"spec\":{\"replicas\":2,"
	    "\"paused\":true}}";
	const char *without =
	    "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"n\","
	    "\"labels\":{\"app\":\"a\"}},\"spec\":{\"replicas\":2}}";
	json_t *v1 = apply(NULL, with_tier, "mgr", false, &err);
	REQUIRE(v1);
	/* Someone else's field under spec survives the prune. */
	json_object_set_new(json_object_get(v1, "spec"), "minReadySeconds", json_integer(5));
	json_t *v2 = apply(v1, without, "mgr", false, &err);
	REQUIRE(v2 && !err);
	CHECK(json_path(v2, "metadata.labels.tier") == NULL);
	CHECK(json_path(v2, "spec.paused") == NULL);
	CHECK_INT(json_integer_value(json_path(v2, "spec.minReadySeconds")), 5);
	CHECK_STR(json_path_str(v2, "metadata.labels.app"), "a");
	CHECK(
	    same(fields_of(v2, "mgr", "Apply"),
	         "{\"f:metadata\":{\"f:labels\":{\"f:app\":{}}},\"f:spec\":{\"f:replicas\":{}}}"));
	json_decref(v1);
	json_decref(v2);
}

TEST(ssa_conflict_with_apply_manager_and_force)
{
	REQUIRE(deploy());
	terr *err = NULL;
	json_t *a = apply(NULL, NGINX, "alice", false, &err);
	REQUIRE(a);
	const char *bob = "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":"
	                  "{\"name\":\"nginx\"},\"spec\":{\"replicas\":5}}";
	json_t *b = apply(a, bob, "bob", false, &err);
	CHECK(b == NULL);
	REQUIRE(err);
	CHECK_INT(err->code, 409);
	CHECK_STR(err->reason, "Conflict");
	CHECK_STR(err->message,
	          "Apply failed with 1 conflict: conflict with \"alice\": .spec.replicas");
	REQUIRE(err->ncauses == 1);
	CHECK_STR(err->causes[0].reason, "FieldManagerConflict");
	CHECK_STR(err->causes[0].field, ".spec.replicas");
	CHECK_STR(err->causes[0].message, "conflict with \"alice\"");
	terr_free(err);
	err = NULL;
	/* Forced, bob takes .spec.replicas over; alice keeps the rest. */
	b = apply(a, bob, "bob", true, &err);
	REQUIRE(b && !err);
	CHECK_INT(json_integer_value(json_path(b, "spec.replicas")), 5);
	CHECK(same(fields_of(b, "bob", "Apply"), "{\"f:spec\":{\"f:replicas\":{}}}"));
	json_t *af = fields_of(b, "alice", "Apply");
	CHECK(af && json_path(af, "f:spec.f:replicas") == NULL);
	CHECK(af && json_path(af, "f:spec.f:selector") != NULL);
	/* Entries sort Apply first, then by time and manager. */
	CHECK_STR(
	    json_path_str(json_array_get(json_path(b, "metadata.managedFields"), 0), "manager"),
	    "alice");
	json_decref(a);
	json_decref(b);
}

TEST(ssa_same_value_is_shared_not_conflict)
{
	REQUIRE(deploy());
	terr *err = NULL;
	json_t *a = apply(NULL, NGINX, "alice", false, &err);
	json_t *b = apply(a,
	                  "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":"
	                  "{\"name\":\"nginx\"},\"spec\":{\"replicas\":3}}",
	                  "bob", false, &err);
	REQUIRE(b && !err);
	CHECK(json_path(fields_of(b, "alice", "Apply"), "f:spec.f:replicas") != NULL);
	CHECK(json_path(fields_of(b, "bob", "Apply"), "f:spec.f:replicas") != NULL);
	json_decref(a);
	json_decref(b);
}

TEST(ssa_conflict_with_update_manager)
{
	REQUIRE(deploy());
	/* A client-side apply (an Update by kubectl-client-side-apply) created the object. */
	json_t *obj = J(NGINX);
	apply_track_update(NULL, obj, deploy(), NULL, "kubectl-client-side-apply", "Update",
	                   "apps/v1", NOW);
	json_t *e = entry(obj, "kubectl-client-side-apply", "Update");
	REQUIRE(e);
	/* k8s: an Update records maps it created as members (".") but not Go structs that
	 * always exist, like spec. */
	CHECK(json_object_get(json_path(e, "fieldsV1.f:metadata.f:labels"), ".") != NULL);
	CHECK(json_object_get(json_path(e, "fieldsV1.f:spec"), ".") == NULL);
	CHECK(json_object_get(json_path(e, "fieldsV1.f:spec.f:template.f:spec.f:containers"),
	                      ".") == NULL);
	CHECK(json_path(e, "fieldsV1.f:spec.f:replicas") != NULL);
	CHECK(json_path(e, "fieldsV1.f:metadata.f:name") == NULL);
	terr *err = NULL;
	json_t *r = apply(obj,
	                  "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":"
	                  "{\"name\":\"nginx\"},\"spec\":{\"replicas\":4}}",
	                  "kubectl", false, &err);
	CHECK(r == NULL);
	REQUIRE(err);
	CHECK_STR(err->message, "Apply failed with 1 conflict: conflict with "
	                        "\"kubectl-client-side-apply\" using apps/v1: .spec.replicas");
	CHECK(err->ncauses == 1 &&
	      str_eq(err->causes[0].message,
	             "conflict with \"kubectl-client-side-apply\" using apps/v1"));
	terr_free(err);
	json_decref(obj);
}

TEST(ssa_several_conflicts_message)
{
	REQUIRE(deploy());
	terr *err = NULL;
	json_t *a = apply(NULL, NGINX, "alice", false, &err);
	json_t *b =
	    apply(a,
	          "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":"
	          "{\"name\":\"nginx\",\"labels\":{\"app\":\"x\"}},\"spec\":{\"replicas\":1}}",
	          "bob", false, &err);
	CHECK(b == NULL);
	REQUIRE(err);
	CHECK_STR(err->message, "Apply failed with 2 conflicts: conflicts with \"alice\":\n"
	                        "- .metadata.labels.app\n- .spec.replicas");
	CHECK_INT(err->ncauses, 2);
	terr_free(err);
	json_decref(a);
}

TEST(track_update_moves_and_removes_ownership)
{
	REQUIRE(deploy());
	terr *err = NULL;
	json_t *a =
	    apply(NULL,
	          "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":"
	          "\"n\",\"labels\":{\"app\":\"a\",\"tier\":\"web\"}},\"spec\":{\"replicas\":2}}",
	          "alice", false, &err);
	REQUIRE(a);
	/* kubectl edit: drops the tier label and changes replicas. */
	json_t *b = json_deep_copy(a);
	json_object_del(json_path(b, "metadata.labels"), "tier");
	json_object_set_new(json_object_get(b, "spec"), "replicas", json_integer(7));
	apply_track_update(a, b, deploy(), NULL, "kubectl-edit", "Update", "apps/v1", LATER);
	CHECK(
	    same(fields_of(b, "alice", "Apply"), "{\"f:metadata\":{\"f:labels\":{\"f:app\":{}}}}"));
	CHECK(same(fields_of(b, "kubectl-edit", "Update"), "{\"f:spec\":{\"f:replicas\":{}}}"));
	CHECK_STR(json_string_value(json_object_get(entry(b, "kubectl-edit", "Update"), "time")),
	          "2023-11-14T22:15:00Z");
	/* An update that changes nothing records nothing new. */
	json_t *c = json_deep_copy(b);
	apply_track_update(b, c, deploy(), NULL, "noop", "Update", "apps/v1", LATER);
	CHECK(entry(c, "noop", "Update") == NULL);
	json_decref(a);
	json_decref(b);
	json_decref(c);
}

TEST(track_update_reset_and_untracked)
{
	REQUIRE(deploy());
	json_t *obj = J(NGINX);
	apply_track_update(NULL, obj, deploy(), NULL, "creator", "Update", "apps/v1", NOW);
	REQUIRE(entry(obj, "creator", "Update"));
	/* k8s: managedFields: [{}] strips them, and the update is then not tracked. */
	json_t *upd = json_deep_copy(obj);
	json_object_set_new(json_object_get(upd, "metadata"), "managedFields", J("[{}]"));
	apply_track_update(obj, upd, deploy(), NULL, "editor", "Update", "apps/v1", NOW);
	CHECK(json_path(upd, "metadata.managedFields") == NULL);
	json_decref(obj);
	json_decref(upd);
}

TEST(ssa_status_not_tracked_on_main_resource)
{
	REQUIRE(deploy());
	terr *err = NULL;
	json_t *obj =
	    apply(NULL,
	          "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":"
	          "\"n\"},\"spec\":{\"replicas\":1},\"status\":{\"replicas\":9}}",
	          "m", false, &err);
	REQUIRE(obj);
	CHECK(same(fields_of(obj, "m", "Apply"), "{\"f:spec\":{\"f:replicas\":{}}}"));
	json_decref(obj);
}

TEST(ssa_bad_requests)
{
	REQUIRE(deploy());
	terr *err = NULL;
	CHECK(apply(NULL, "{\"apiVersion\":\"apps/v1\",\"metadata\":{\"managedFields\":[]}}", "m",
	            false, &err) == NULL);
	CHECK(err && err->code == 400 &&
	      str_eq(err->message, "metadata.managedFields must be nil"));
	terr_free(err);
	err = NULL;
	CHECK(apply(NULL, "{\"apiVersion\":\"apps/v2\"}", "m", false, &err) == NULL);
	CHECK(err && err->code == 400 &&
	      str_eq(err->message, "Incorrect version specified in apply patch. Specified patch "
	                           "version: apps/v2, expected: apps/v1"));
	terr_free(err);
	err = NULL;
	/* A container without its key field. */
	CHECK(apply(NULL,
	            "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"image\":\"x\"}]}}}}",
	            "m", false, &err) == NULL);
	CHECK(err && err->code == 500 &&
	      str_eq(err->message, ".spec.template.spec.containers: element 0: associative list "
	                           "with keys has an element that omits key field \"name\" (and "
	                           "doesn't have default value)"));
	terr_free(err);
	err = NULL;
	CHECK(apply(NULL,
	            "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"x\"},"
	            "{\"name\":\"x\"}]}}}}",
	            "m", false, &err) == NULL);
	CHECK(err && err->code == 500);
	terr_free(err);
}

/* ---- custom resources ---- */

static const char *CRD_SCHEMA =
    "{\"type\":\"object\",\"properties\":{\"spec\":{\"type\":\"object\",\"properties\":{"
    "\"workers\":{\"type\":\"array\",\"x-kubernetes-list-type\":\"map\","
    "\"x-kubernetes-list-map-keys\":[\"name\"],\"items\":{\"type\":\"object\",\"properties\":"
    "{\"name\":{\"type\":\"string\"},\"gpus\":{\"type\":\"integer\"}}}},"
    "\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}}}}}";

TEST(ssa_crd_list_types)
{
	json_t *schema = J(CRD_SCHEMA);
	terr *err = NULL;
	json_t *c1 =
	    J("{\"apiVersion\":\"ai.example.com/v1\",\"kind\":\"Job\",\"metadata\":{\"name\":"
	      "\"j\"},\"spec\":{\"workers\":[{\"name\":\"a\",\"gpus\":1}],\"tags\":[\"x\"]}}");
	json_t *c2 =
	    J("{\"apiVersion\":\"ai.example.com/v1\",\"kind\":\"Job\",\"metadata\":{\"name\":"
	      "\"j\"},\"spec\":{\"workers\":[{\"name\":\"b\",\"gpus\":2}]}}");
	json_t *o1 =
	    apply_ssa(NULL, c1, NULL, schema, "one", "ai.example.com/v1", false, NOW, &err);
	REQUIRE(o1);
	json_t *o2 = apply_ssa(o1, c2, NULL, schema, "two", "ai.example.com/v1", false, NOW, &err);
	REQUIRE(o2 && !err);
	/* listType=map merges by key: both workers stay; the atomic tags list is one leaf. */
	CHECK(same(json_path(o2, "spec.workers"),
	           "[{\"name\":\"a\",\"gpus\":1},{\"name\":\"b\",\"gpus\":2}]"));
	CHECK(same(fields_of(o2, "one", "Apply"),
	           "{\"f:spec\":{\"f:tags\":{},\"f:workers\":{\"k:{\\\"name\\\":\\\"a\\\"}\":"
	           "{\".\":{},\"f:gpus\":{},\"f:name\":{}}}}}"));
	json_t *c3 =
	    J("{\"apiVersion\":\"ai.example.com/v1\",\"kind\":\"Job\",\"metadata\":{\"name\":"
	      "\"j\"},\"spec\":{\"tags\":[\"y\"]}}");
	json_t *o3 = apply_ssa(o2, c3, NULL, schema, "two", "ai.example.com/v1", false, NOW, &err);
	CHECK(o3 == NULL && err && err->code == 409);
	CHECK(err && str_eq(err->message,
	                    "Apply failed with 1 conflict: conflict with \"one\": .spec.tags"));
	terr_free(err);
	json_decref(schema);
	json_decref(c1);
	json_decref(c2);
	json_decref(c3);
	json_decref(o1);
	json_decref(o2);
}

/* ---- field sets ---- */

TEST(fieldset_v1_roundtrip_and_ops)
{
	json_t *v1 = J("{\"f:metadata\":{\"f:labels\":{\".\":{},\"f:app\":{}}},\"f:spec\":"
	               "{\"f:ports\":{\"k:{\\\"port\\\":443}\":{},\"k:{\\\"port\\\":80}\":{}}}}");
	terr *err = NULL;
	fieldset *s = fieldset_from_v1(v1, &err);
	REQUIRE(s);
	json_t *back = fieldset_to_v1(s);
	/* Keys order by value: 80 before 443. */
	char *txt = json_dump_compact(json_path(back, "f:spec.f:ports"));
	CHECK_STR(txt, "{\"k:{\\\"port\\\":80}\":{},\"k:{\\\"port\\\":443}\":{}}");
	free(txt);
	CHECK(patch_json_equal(back, v1));
	fs_pe p[2] = {{.kind = 'f', .name = "metadata"}, {.kind = 'f', .name = "labels"}};
	CHECK(fieldset_has(s, p, 2));
	CHECK(!fieldset_has(s, p, 1));
	fieldset *t = fieldset_new();
	fieldset_insert(t, p, 2);
	fieldset *d = fieldset_difference(s, t);
	CHECK(!fieldset_has(d, p, 2));
	fieldset *i = fieldset_intersection(s, t);
	CHECK(fieldset_has(i, p, 2));
	buf b = {0};
	fs_pe q[3] = {{.kind = 'f', .name = "spec"},
	              {.kind = 'f', .name = "containers"},
	              {.kind = 'k', .val = J("{\"name\":\"nginx\"}")}};
	fs_path_string(&b, q, 3);
	CHECK_STR(b.p, ".spec.containers[name=\"nginx\"]");
	buf_free(&b);
	json_decref(q[2].val);
	json_t *bad = J("{\"f:a\":[]}");
	CHECK(fieldset_from_v1(bad, &err) == NULL);
	CHECK(err && err->code == 500);
	json_decref(bad);
	terr_free(err);
	json_decref(back);
	json_decref(v1);
	fieldset_free(s);
	fieldset_free(t);
	fieldset_free(d);
	fieldset_free(i);
}

TEST(track_update_status_subresource)
{
	REQUIRE(deploy());
	json_t *obj = J(NGINX);
	apply_track_update(NULL, obj, deploy(), NULL, "creator", "Update", "apps/v1", NOW);
	json_t *upd = json_deep_copy(obj);
	json_object_set_new(upd, "status", J("{\"replicas\":3,\"readyReplicas\":3}"));
	json_object_set_new(json_path(upd, "spec"), "replicas", json_integer(9));
	/* k8s: through /status only status is recorded, in an entry that names the subresource. */
	apply_track_update_subresource(obj, upd, deploy(), NULL, "kube-controller-manager", "Update",
	                               "apps/v1", "status", LATER);
	json_t *e = entry(upd, "kube-controller-manager", "Update");
	REQUIRE(e);
	CHECK_STR(json_string_value(json_object_get(e, "subresource")), "status");
	CHECK(same(json_object_get(e, "fieldsV1"),
	           "{\"f:status\":{\"f:readyReplicas\":{},\"f:replicas\":{}}}"));
	json_decref(obj);
	json_decref(upd);
}

/* A first status writer nobody else's fields meet gets what it changed; a second one
 * takes the fields it changed from the first; a writer that changes nothing gets no entry. */
TEST(track_update_status_writers_take_fields)
{
	REQUIRE(deploy());
	json_t *obj = J(NGINX);
	apply_track_update(NULL, obj, deploy(), NULL, "creator", "Update", "apps/v1", NOW);
	json_t *a = json_deep_copy(obj);
	json_object_set_new(a, "status", J("{\"replicas\":3,\"readyReplicas\":3}"));
	apply_track_update_subresource(obj, a, deploy(), NULL, "a", "Update", "apps/v1", "status",
	                               LATER);
	CHECK(same(fields_of(a, "a", "Update"),
	           "{\"f:status\":{\"f:readyReplicas\":{},\"f:replicas\":{}}}"));
	json_t *b = json_deep_copy(a);
	json_object_set_new(b, "status",
	                    J("{\"replicas\":3,\"readyReplicas\":2,\"availableReplicas\":2}"));
	apply_track_update_subresource(a, b, deploy(), NULL, "b", "Update", "apps/v1", "status",
	                               LATER);
	CHECK(same(fields_of(b, "a", "Update"), "{\"f:status\":{\"f:replicas\":{}}}"));
	CHECK(same(fields_of(b, "b", "Update"),
	           "{\"f:status\":{\"f:availableReplicas\":{},\"f:readyReplicas\":{}}}"));
	json_t *c = json_deep_copy(b);
	apply_track_update_subresource(b, c, deploy(), NULL, "c", "Update", "apps/v1", "status",
	                               LATER);
	CHECK(!entry(c, "c", "Update"));
	CHECK(json_array_size(json_path(c, "metadata.managedFields")) == 3);
	json_decref(obj);
	json_decref(a);
	json_decref(b);
	json_decref(c);
}

TEST(track_update_reset_fields_both_ways)
{
	REQUIRE(deploy());
	json_t *obj = J(NGINX);
	json_object_set_new(obj, "status", J("{\"replicas\":1,\"readyReplicas\":1}"));
	apply_track_update(NULL, obj, deploy(), NULL, "creator", "Update", "apps/v1", NOW);
	json_t *st = json_deep_copy(obj);
	apply_track_update_subresource(obj, st, deploy(), NULL, "ctrl", "Update", "apps/v1",
	                               "status", NOW);
	json_t *st2 = json_deep_copy(st);
	json_object_set_new(json_path(st2, "status"), "replicas", json_integer(2));
	apply_track_update_subresource(st, st2, deploy(), NULL, "ctrl", "Update", "apps/v1",
	                               "status", NOW);
	/* k8s: through the main resource status is neither recorded nor taken from anyone... */
	json_t *upd = json_deep_copy(st2);
	json_object_del(json_path(upd, "status"), "replicas");
	json_object_set_new(json_path(upd, "spec"), "replicas", json_integer(5));
	json_object_set_new(json_path(upd, "metadata.labels"), "tier", json_string("web"));
	apply_track_update(st2, upd, deploy(), NULL, "editor", "Update", "apps/v1", LATER);
	json_t *e = entry(upd, "editor", "Update");
	REQUIRE(e);
	CHECK(same(json_object_get(e, "fieldsV1"),
	           "{\"f:metadata\":{\"f:labels\":{\"f:tier\":{}}},\"f:spec\":{\"f:replicas\":{}}}"));
	CHECK(same(json_object_get(entry(upd, "ctrl", "Update"), "fieldsV1"),
	           "{\"f:status\":{\"f:replicas\":{}}}"));
	/* ...and through /status a removed status field leaves its owner, while metadata and
	 * spec changes sent along are neither recorded nor taken. */
	json_t *upd2 = json_deep_copy(st2);
	json_object_del(json_path(upd2, "status"), "replicas");
	json_object_set_new(json_path(upd2, "spec"), "replicas", json_integer(7));
	apply_track_update_subresource(st2, upd2, deploy(), NULL, "other", "Update", "apps/v1",
	                               "status", LATER);
	CHECK(entry(upd2, "ctrl", "Update") == NULL);
	CHECK(entry(upd2, "other", "Update") == NULL);
	e = entry(upd2, "creator", "Update");
	REQUIRE(e);
	CHECK(json_path(e, "fieldsV1.f:spec.f:replicas") != NULL);
	json_decref(obj);
	json_decref(st);
	json_decref(st2);
	json_decref(upd);
	json_decref(upd2);
}

TEST(ssa_noop_reapply_keeps_time)
{
	REQUIRE(deploy());
	terr *err = NULL;
	json_t *a = apply(NULL, NGINX, "kubectl", false, &err);
	REQUIRE(a);
	json_t *c = J(NGINX);
	json_t *b = apply_ssa(a, c, deploy(), NULL, "kubectl", "apps/v1", false, LATER, &err);
	REQUIRE(b && !err);
	/* k8s: an apply that changes nothing leaves the object and the entry's time alone. */
	CHECK(patch_json_equal(a, b));
	CHECK_STR(json_string_value(json_object_get(entry(b, "kubectl", "Apply"), "time")),
	          "2023-11-14T22:13:20Z");
	json_decref(a);
	json_decref(b);
	json_decref(c);
}

TEST(fieldset_questions_on_stored_v1)
{
	json_t *v1 = J("{\"f:metadata\":{\"f:labels\":{\".\":{},\"f:app\":{}}},\"f:spec\":"
	               "{\"f:ports\":{\"k:{\\\"port\\\":443}\":{},\"k:{\\\"port\\\":80}\":{}}}}");
	fs_pe labels[2] = {{.kind = 'f', .name = "metadata"}, {.kind = 'f', .name = "labels"}};
	fs_pe app[3] = {labels[0], labels[1], {.kind = 'f', .name = "app"}};
	fs_pe tier[3] = {labels[0], labels[1], {.kind = 'f', .name = "tier"}};
	fs_pe p80[3] = {{.kind = 'f', .name = "spec"},
	                {.kind = 'f', .name = "ports"},
	                {.kind = 'k', .val = J("{\"port\":80}")}};
	fs_pe p81[3] = {p80[0], p80[1], {.kind = 'k', .val = J("{\"port\":81}")}};
	fieldset *empty = fieldset_new();
	CHECK(!fieldset_meets_v1(empty, v1));
	CHECK(fieldset_within_v1(empty, v1));
	/* metadata is a node of v1 but not a member; labels is one (".") and so is app. */
	fieldset *s = fieldset_new();
	fieldset_insert(s, labels, 1);
	CHECK(!fieldset_meets_v1(s, v1));
	CHECK(!fieldset_within_v1(s, v1));
	fieldset_free(s);
	s = fieldset_new();
	fieldset_insert(s, labels, 2);
	CHECK(fieldset_meets_v1(s, v1));
	CHECK(fieldset_within_v1(s, v1));
	fieldset_insert(s, app, 3);
	fieldset_insert(s, p80, 3);
	CHECK(fieldset_within_v1(s, v1));
	fieldset_insert(s, tier, 3);
	CHECK(fieldset_meets_v1(s, v1));
	CHECK(!fieldset_within_v1(s, v1));
	fieldset_free(s);
	/* Associative list items by their key: port 81 is not there, port 80 is. */
	s = fieldset_new();
	fieldset_insert(s, p81, 3);
	fieldset_insert(s, tier, 3);
	CHECK(!fieldset_meets_v1(s, v1));
	fieldset_insert(s, p80, 3);
	CHECK(fieldset_meets_v1(s, v1));
	/* The answers agree with the decoded set's. */
	terr *err = NULL;
	fieldset *d = fieldset_from_v1(v1, &err);
	REQUIRE(d);
	fieldset *i = fieldset_intersection(s, d);
	CHECK(!fieldset_empty(i));
	fieldset_free(i);
	fieldset_free(d);
	fieldset_free(s);
	fieldset_free(empty);
	json_decref(p80[2].val);
	json_decref(p81[2].val);
	json_decref(v1);
}

TEST(track_update_with_stored_entries_left_as_stored)
{
	REQUIRE(deploy());
	/* creator owns the labels and the spec; a status writer owns status. */
	json_t *obj = J(NGINX);
	json_object_set_new(json_path(obj, "metadata.labels"), "tier", json_string("web"));
	apply_track_update(NULL, obj, deploy(), NULL, "creator", "Update", "apps/v1", NOW);
	json_t *st = json_deep_copy(obj);
	json_object_set_new(st, "status", J("{\"replicas\":3}"));
	apply_track_update_subresource(obj, st, deploy(), NULL, "ctl", "Update", "apps/v1",
	                               "status", NOW);
	REQUIRE(fields_of(st, "ctl", "Update"));
	/* An edit that removes the tier label: the creator loses it, the status entry (which
	 * the removal does not meet) is written back as it was stored (the same tree). */
	json_t *ed = json_deep_copy(st);
	json_object_del(json_path(ed, "metadata.labels"), "tier");
	json_t *status_v1 = fields_of(ed, "ctl", "Update");
	apply_track_update(st, ed, deploy(), NULL, "editor", "Update", "apps/v1", LATER);
	CHECK(json_object_get(fields_of(ed, "ctl", "Update"), "f:status") != NULL);
	CHECK(fields_of(ed, "ctl", "Update") == status_v1);
	json_t *cr = fields_of(ed, "creator", "Update");
	CHECK(json_path(cr, "f:metadata.f:labels.f:app") != NULL);
	CHECK(json_path(cr, "f:metadata.f:labels.f:tier") == NULL);
	CHECK(json_path(cr, "f:spec.f:replicas") != NULL);
	/* A status heartbeat with the same fields keeps the entry's stored form too. */
	json_t *hb = json_deep_copy(ed);
	json_object_set_new(json_object_get(hb, "status"), "replicas", json_integer(4));
	json_t *hb_old = json_deep_copy(ed);
	apply_track_update_subresource(hb_old, hb, deploy(), NULL, "ctl", "Update", "apps/v1",
	                               "status", LATER);
	CHECK(same(fields_of(hb, "ctl", "Update"), "{\"f:status\":{\"f:replicas\":{}}}"));
	CHECK(fields_of(hb, "ctl", "Update") == fields_of(hb_old, "ctl", "Update"));
	CHECK(fields_of(hb, "creator", "Update") == fields_of(hb_old, "creator", "Update"));
	json_decref(hb);
	json_decref(hb_old);
	json_decref(ed);
	json_decref(st);
	json_decref(obj);
}

/* ---- a create's fields written straight as FieldsV1 ---- */

/* What tracking a create recorded before the direct walk: the compare against nothing
 * (added and modified), less the paths kube strips, encoded. */
static char *create_v1_by_compare(json_t *obj, const fs_type *rt)
{
	fieldset *a = fieldset_new(), *m = fieldset_new(), *r = fieldset_new();
	fs_object_compare(NULL, obj, rt, a, m, r);
	fieldset *am = fieldset_union(a, m), *strip = fieldset_new();
	static const char *const meta[] = {"name",       "namespace",     "creationTimestamp",
	                                   "selfLink",   "uid",           "clusterName",
	                                   "generation", "managedFields", "resourceVersion"};
	fs_pe p[2] = {{.kind = 'f', .name = "apiVersion"}, {.kind = 'f', .name = "metadata"}};
	fieldset_insert(strip, p, 1);
	p[0].name = "kind";
	fieldset_insert(strip, p, 1);
	p[0].name = "metadata";
	fieldset_insert(strip, p, 1);
	for (size_t i = 0; i < ARRAY_SIZE(meta); i++) {
		p[1] = (fs_pe){.kind = 'f', .name = (char *)meta[i]};
		fieldset_insert(strip, p, 2);
	}
	fieldset *d = fieldset_difference(am, strip);
	json_t *v1 = fieldset_to_v1(d);
	char *s = json_dump_compact(v1);
	json_decref(v1);
	fieldset_free(a);
	fieldset_free(m);
	fieldset_free(r);
	fieldset_free(am);
	fieldset_free(strip);
	fieldset_free(d);
	return s;
}

TEST(create_fields_v1_same_as_compare)
{
	static const struct {
		const char *type; /* NULL: untyped, or the CRD schema */
		const char *obj;
	} cases[] = {
	    {"io.k8s.api.core.v1.Pod",
	     "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\",\"namespace\":"
	     "\"d\",\"uid\":\"u\",\"generateName\":\"p-\",\"labels\":{\"b\":\"1\",\"a\":\"2\"},"
	     "\"annotations\":{},\"finalizers\":[\"z\",\"a\",\"z\"],\"ownerReferences\":[{"
	     "\"uid\":\"9\",\"kind\":\"ReplicaSet\",\"name\":\"rs\",\"apiVersion\":\"apps/v1\"}]},"
	     "\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"nginx\",\"args\":[\"a\","
	     "\"a\"],\"ports\":[{\"containerPort\":80},{\"containerPort\":80,\"protocol\":\"UDP\"},"
	     "{\"containerPort\":53,\"protocol\":\"TCP\"}],\"env\":[{\"name\":\"X\",\"value\":"
	     "\"1\"},{\"name\":\"X\",\"value\":\"2\"},{\"value\":\"nokey\"},{\"name\":\"A\"}],"
	     "\"resources\":{\"limits\":{\"nvidia.com/gpu\":1,\"cpu\":\"1\"}}},{\"name\":\"b\","
	     "\"image\":\"busybox\",\"securityContext\":{}}],\"nodeSelector\":{},\"tolerations\":"
	     "[{\"key\":\"k\",\"operator\":\"Exists\"}],\"hostNetwork\":false,\"dnsConfig\":null,"
	     "\"volumes\":[],\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuring"
	     "Execution\":{\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":\"h\","
	     "\"operator\":\"In\",\"values\":[\"a\",\"b\"]}]}]}}}},\"status\":{\"phase\":\"Pending\"}}"},
	    /* shapes that do not fit the type: leaves where the compare has leaves */
	    {"io.k8s.api.apps.v1.Deployment",
	     "{\"metadata\":{\"name\":\"x\",\"labels\":null,\"managedFields\":7},\"spec\":{"
	     "\"replicas\":{\"a\":1},\"selector\":\"s\",\"template\":{\"spec\":{\"containers\":{"
	     "\"name\":\"c\"},\"initContainers\":[1,\"two\",{\"image\":\"i\"}]}},\"paused\":null,"
	     "\"strategy\":[]},\"unknown\":{\"deep\":{\"er\":[1,2]},\"e\":{}},\"status\":null}"},
	    {"io.k8s.api.core.v1.Service",
	     "{\"kind\":\"Service\",\"metadata\":{\"name\":\"s\",\"creationTimestamp\":null},"
	     "\"spec\":{\"ports\":[{\"port\":443,\"name\":\"https\"},{\"port\":80,\"protocol\":"
	     "\"TCP\"}],\"clusterIPs\":[\"10.0.0.1\"],\"selector\":{\"app\":\"a\"},"
	     "\"type\":\"NodePort\"}}"},
	    {"io.k8s.api.core.v1.ConfigMap", "{\"metadata\":{},\"data\":{}}"},
	    {"io.k8s.api.core.v1.ConfigMap", "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\"}"},
	    {NULL, "{\"apiVersion\":\"x/v1\",\"kind\":\"T\",\"metadata\":{\"name\":\"t\","
	           "\"labels\":{\"a\":\"b\"}},\"spec\":{\"list\":[{\"name\":\"a\"}],\"m\":{},"
	           "\"n\":null,\"s\":\"v\"}}"},
	    {"crd", "{\"apiVersion\":\"ai.example.com/v1\",\"kind\":\"Job\",\"metadata\":{"
	            "\"name\":\"j\",\"labels\":{\"a\":\"b\"}},\"spec\":{\"workers\":[{\"name\":"
	            "\"b\",\"gpus\":2},{\"name\":\"a\"},{\"name\":\"b\"},{\"gpus\":3}],\"tags\":"
	            "[\"y\",\"x\"],\"other\":{\"k\":[]}}}"},
	};
	json_t *schema = J(CRD_SCHEMA);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		bool crd = cases[i].type && str_eq(cases[i].type, "crd");
		const schema_type *st = cases[i].type && !crd ? schema_find(cases[i].type) : NULL;
		CHECK(st || !cases[i].type || crd);
		fs_type rt = fs_type_root(st, crd ? schema : NULL);
		json_t *obj = J(cases[i].obj);
		/* The walk alone: the compare's added and modified, in the same order. */
		fieldset *a = fieldset_new(), *m = fieldset_new(), *r = fieldset_new();
		fs_object_compare(NULL, obj, &rt, a, m, r);
		CHECK(fieldset_empty(r)); /* nothing is removed from nothing */
		fieldset *am = fieldset_union(a, m);
		json_t *want_walk = fieldset_to_v1(am), *got_walk = fs_object_added_v1(obj, &rt);
		char *ww = json_dump_compact(want_walk), *gw = json_dump_compact(got_walk);
		CHECK_STR(gw, ww);
		/* And the entry tracking a create records (stripped, status left out). */
		json_t *tracked = json_deep_copy(obj);
		json_object_del(tracked, "status");
		char *want = create_v1_by_compare(tracked, &rt);
		apply_track_update(NULL, tracked, st, crd ? schema : NULL, "m", "Update", "v1", NOW);
		json_t *got_v1 = fields_of(tracked, "m", "Update");
		char *got = got_v1 ? json_dump_compact(got_v1) : xstrdup("{}");
		CHECK_STR(got, want);
		CHECK(!got_v1 || json_object_size(got_v1) > 0);
		free(got);
		free(want);
		free(ww);
		free(gw);
		json_decref(want_walk);
		json_decref(got_walk);
		json_decref(tracked);
		json_decref(obj);
		fieldset_free(a);
		fieldset_free(m);
		fieldset_free(r);
		fieldset_free(am);
	}
	json_decref(schema);
}

/* Creates of one shape share the fields remembered for it; every difference a create's
 * fields depend on (a member, null or a value, an empty or a full map, a list's items and
 * repeats, the type) gives fields of its own: each as the compare has them, twice over (the
 * second time from memory). */
TEST(create_fields_v1_by_shape)
{
	static const struct {
		const char *type;
		const char *obj;
	} cases[] = {
	    {"io.k8s.api.core.v1.Pod", "{\"metadata\":{\"name\":\"a\"},\"spec\":{\"containers\":"
	                               "[{\"name\":\"c\",\"image\":\"x\"}]}}"},
	    {"io.k8s.api.core.v1.Pod", "{\"metadata\":{\"name\":\"b\"},\"spec\":{\"containers\":"
	                               "[{\"name\":\"c\",\"image\":\"y\"}]}}"},
	    {"io.k8s.api.core.v1.Pod", "{\"metadata\":{\"name\":\"b\"},\"spec\":{\"containers\":"
	                               "[{\"name\":\"d\",\"image\":\"y\"}]}}"},
	    {"io.k8s.api.core.v1.Pod", "{\"metadata\":{\"name\":\"b\"},\"spec\":{\"containers\":"
	                               "[{\"name\":\"d\"},{\"name\":\"d\"}]}}"},
	    {"io.k8s.api.core.v1.Pod", "{\"metadata\":{\"name\":\"b\",\"labels\":{}},\"spec\":{}}"},
	    {"io.k8s.api.core.v1.Pod", "{\"metadata\":{\"name\":\"b\",\"labels\":{\"k\":\"v\"}},"
	                               "\"spec\":{}}"},
	    {"io.k8s.api.core.v1.Pod", "{\"metadata\":{\"name\":\"b\",\"labels\":null},\"spec\":{}}"},
	    {"io.k8s.api.core.v1.Pod", "{\"metadata\":{\"name\":\"b\",\"labels\":\"x\"},\"spec\":{}}"},
	    {"io.k8s.api.core.v1.Pod", "{\"spec\":{\"hostNetwork\":null,\"nodeSelector\":{}}}"},
	    /* a field that always exists: null is its empty value, a string is not */
	    {"io.k8s.api.core.v1.Pod", "{\"spec\":{\"containers\":null}}"},
	    {"io.k8s.api.core.v1.Pod", "{\"spec\":{\"containers\":\"x\"}}"},
	    {"io.k8s.api.core.v1.Pod", "{\"spec\":{\"hostNetwork\":false,\"nodeSelector\":{}}}"},
	    {"io.k8s.api.core.v1.Pod", "{\"spec\":{\"nodeSelector\":{},\"hostNetwork\":false}}"},
	    {"io.k8s.api.core.v1.ConfigMap", "{\"spec\":{\"nodeSelector\":{},\"hostNetwork\":false}}"},
	    {"io.k8s.api.core.v1.ConfigMap", "{\"data\":{\"a\":\"1\"}}"},
	    {"io.k8s.api.core.v1.ConfigMap", "{\"data\":{\"a\":\"2\"}}"},
	    {"io.k8s.api.core.v1.ConfigMap", "{\"data\":{\"b\":\"2\"}}"},
	    {NULL, "{\"data\":{\"b\":\"2\"}}"},
	    {NULL, "{\"data\":{\"b\":[1,1]}}"},
	    {NULL, "{\"data\":{\"b\":[1,2]}}"},
	};
	/* Same shapes share one remembered FieldsV1 (a type whose shapes kept missing looks
	 * again after a rest of 256 creates). */
	const schema_type *pod = schema_find("io.k8s.api.core.v1.Pod");
	json_t *prev = NULL;
	bool shared = false;
	for (int i = 0; i < 300 && !shared; i++) {
		json_t *p = json_pack("{s:{s:s}, s:{s:[{s:s}]}}", "metadata", "name", "p", "spec",
		                      "containers", "name", "c");
		json_object_set_new(json_path(p, "metadata"), "name", json_sprintf("p%d", i));
		apply_track_update(NULL, p, pod, NULL, "m", "Update", "v1", NOW);
		shared = prev && fields_of(prev, "m", "Update") == fields_of(p, "m", "Update");
		json_decref(prev);
		prev = p;
	}
	json_decref(prev);
	CHECK(shared);
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
			const schema_type *st = cases[i].type ? schema_find(cases[i].type) : NULL;
			CHECK(st || !cases[i].type);
			fs_type rt = fs_type_root(st, NULL);
			json_t *obj = J(cases[i].obj);
			char *want = create_v1_by_compare(obj, &rt);
			apply_track_update(NULL, obj, st, NULL, "m", "Update", "v1", NOW);
			json_t *got_v1 = fields_of(obj, "m", "Update");
			char *got = got_v1 ? json_dump_compact(got_v1) : xstrdup("{}");
			if (strcmp(got, want))
				fprintf(stderr, "    %s (pass %d): got %s, want %s\n", cases[i].obj, pass,
				        got, want);
			CHECK_STR(got, want);
			free(got);
			free(want);
			json_decref(obj);
		}
	}
}

/* Items added whole share the FieldsV1 remembered for their shape, whatever their key
 * values (the key is the parent's), while each pod's fields stay its own (its volume's
 * generated name is in them): as the compare has them. */
/* Tracks the create of pod p by "m", checking its FieldsV1 against the compare's (a
 * mismatch counted in *bad, the first shown); true when p's last container has the very
 * FieldsV1 node prev's has. */
static bool create_checked(json_t *p, json_t *prev, const schema_type *pod, const fs_type *rt,
                           int *bad)
{
	char *want = create_v1_by_compare(p, rt);
	apply_track_update(NULL, p, pod, NULL, "m", "Update", "v1", NOW);
	json_t *f = fields_of(p, "m", "Update");
	char *got = f ? json_dump_compact(f) : xstrdup("{}");
	if (strcmp(got, want) && !(*bad)++)
		fprintf(stderr, "    got %s\n    want %s\n", got, want);
	free(got);
	free(want);
	if (!prev)
		return false;
	const char *k;
	json_t *a = NULL, *b = NULL, *v;
	json_object_foreach(json_path(fields_of(prev, "m", "Update"), "f:spec.f:containers"), k, v)
		a = v;
	json_object_foreach(json_path(f, "f:spec.f:containers"), k, v) b = v;
	return a && a == b;
}

TEST(item_fields_v1_by_shape)
{
	const schema_type *pod = schema_find("io.k8s.api.core.v1.Pod");
	REQUIRE(pod);
	fs_type rt = fs_type_root(pod, NULL);
	json_t *prev = NULL;
	bool shared = false;
	int bad = 0;
	for (int i = 0; i < 300 && !shared; i++) {
		json_t *p = json_pack("{s:{s:[{s:s, s:s, s:[{s:i}]}], s:[{s:s}]}}", "spec", "containers",
		                      "name", i % 2 ? "a" : "b", "image", "x", "ports", "containerPort",
		                      80, "volumes", "name", "v");
		json_t *vol = json_array_get(json_path(p, "spec.volumes"), 0);
		json_object_set_new(vol, "name", json_sprintf("kube-api-access-%d", i));
		shared = create_checked(p, prev, pod, &rt, &bad);
		json_decref(prev);
		prev = p;
	}
	json_decref(prev);
	CHECK_INT(bad, 0);
	CHECK(shared);
}

/* An associative list is remembered by its items' keys, not their other values: containers
 * whose volumeMounts differ only in the volume's name share their fields; any difference
 * in a key (mountPath, a port's protocol given or defaulted, a duplicated or missing key,
 * an item that is no object) gives the fields the compare gives. */
TEST(item_fields_v1_keyed_lists_by_keys)
{
	const schema_type *pod = schema_find("io.k8s.api.core.v1.Pod");
	REQUIRE(pod);
	fs_type rt = fs_type_root(pod, NULL);
	static const char *paths[] = {"/a", "/b", "/var/run/secrets/kubernetes.io/serviceaccount"};
	static const char *protos[] = {NULL, "TCP", "UDP"};
	uint32_t st = 11, r = 0;
	int bad = 0, shared = 0;
	json_t *prev = NULL;
	for (int i = 0; i < 600; i++) {
		if (i % 20 == 0) /* 30 runs of 20 pods, each run of one shape */
			r = (st = st * 1103515245u + 12345u) >> 8;
		json_t *mount = json_pack("{s:s, s:b}", "name", "x", "readOnly", 1);
		json_object_set_new(mount, "name", json_sprintf("kube-api-access-%d", i));
		if (r % 7)
			json_object_set_new(mount, "mountPath", json_string(paths[r / 7 % 3]));
		json_t *port = json_pack("{s:i}", "containerPort", r % 5 ? 80 : 81);
		if (protos[r / 21 % 3])
			json_object_set_new(port, "protocol", json_string(protos[r / 21 % 3]));
		json_t *mounts = json_pack("[o]", mount);
		if (r / 63 % 9 == 0)
			json_array_append(mounts, json_array_get(mounts, 0)); /* a duplicated key */
		if (r / 63 % 9 == 1)
			json_array_append_new(mounts, json_string("not a map"));
		json_t *p = json_pack("{s:{s:[{s:s, s:s, s:[o], s:o}]}}", "spec", "containers", "name",
		                      "c", "image", "x", "ports", port, "volumeMounts", mounts);
		bool same = create_checked(p, prev, pod, &rt, &bad);
		shared += same && i % 20;
		json_decref(prev);
		prev = p;
	}
	json_decref(prev);
	CHECK_INT(bad, 0);
	/* Within a run, every pod after the first finds its container's fields remembered
	 * (570 of them); a few may fall in a rest after misses. */
	CHECK(shared > 500);
}

/* ---- what a write changed, written straight as FieldsV1 ---- */

static uint32_t rnd_next(uint32_t *st)
{
	*st = *st * 1103515245u + 12345u;
	return *st >> 8;
}

/* A random change somewhere in v (a container), in place: a member or item dropped,
 * added, duplicated, nulled, emptied or given another value. */
static void mutate(json_t *v, uint32_t *st, int depth)
{
	size_t n = json_is_object(v) ? json_object_size(v) : json_array_size(v);
	uint32_t op = rnd_next(st) % 10;
	if (!n || op == 8) { /* a member or an item more */
		if (json_is_object(v))
			json_object_set_new(v, depth % 2 ? "zz" : "name", json_string("new"));
		else
			json_array_append_new(v, json_pack("{s:s, s:s}", "name", "zz", "type", "zz"));
		return;
	}
	size_t at = rnd_next(st) % n;
	const char *key = NULL;
	json_t *c;
	if (json_is_object(v)) {
		void *it = json_object_iter(v);
		for (size_t i = 0; i < at; i++)
			it = json_object_iter_next(v, it);
		key = json_object_iter_key(it);
		c = json_object_iter_value(it);
	} else {
		c = json_array_get(v, at);
	}
	if ((json_is_object(c) || json_is_array(c)) && op < 5) {
		mutate(c, st, depth + 1);
		return;
	}
	json_t *nv;
	if (op == 5) {
		nv = json_null();
	} else if (op == 9 || op < 5) { /* drop, or duplicate an item */
		if (json_is_array(v) && rnd_next(st) % 2)
			json_array_append(v, c);
		else if (json_is_array(v))
			json_array_remove(v, at);
		else
			json_object_del(v, key);
		return;
	} else {
		nv = json_is_object(c) && op == 6 ? json_object() : json_sprintf("v%u", rnd_next(st) % 3);
	}
	if (json_is_object(v))
		json_object_set_new(v, key, nv);
	else
		json_array_set_new(v, at, nv);
}

/* A copy of v sharing what it did not change: the writer's copy-the-levels-it-changes. */
static json_t *copy_levels(json_t *v, uint32_t *st)
{
	if (!json_is_object(v) || rnd_next(st) % 3 == 0)
		return json_incref(v);
	json_t *c = json_object();
	const char *k;
	json_t *m;
	json_object_foreach(v, k, m)
		json_object_set_new(c, k, copy_levels(m, st));
	return c;
}

TEST(changed_fields_v1_same_as_compare)
{
	static const struct {
		const char *type;
		const char *obj;
	} cases[] = {
	    {"io.k8s.api.core.v1.Pod",
	     "{\"metadata\":{\"name\":\"p\",\"labels\":{\"a\":\"1\"}},\"spec\":{\"nodeName\":"
	     "\"n\",\"containers\":[{\"name\":\"c\",\"image\":\"i\",\"ports\":[{\"containerPort\":"
	     "80}]}]},\"status\":{\"phase\":\"Running\",\"podIP\":\"10.0.0.1\",\"podIPs\":[{"
	     "\"ip\":\"10.0.0.1\"}],\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"},{"
	     "\"type\":\"PodScheduled\",\"status\":\"True\",\"lastProbeTime\":null}],"
	     "\"containerStatuses\":[{\"name\":\"c\",\"ready\":true,\"state\":{\"running\":{"
	     "\"startedAt\":\"t\"}},\"lastState\":{}}],\"hostIPs\":[{\"ip\":\"1.2.3.4\"}]}}"},
	    {"io.k8s.api.apps.v1.Deployment",
	     "{\"metadata\":{\"name\":\"x\",\"labels\":null},\"spec\":{\"replicas\":2,\"selector\":"
	     "{\"matchLabels\":{\"a\":\"b\"}},\"template\":{\"spec\":{\"containers\":[{\"name\":"
	     "\"c\",\"env\":[{\"name\":\"X\"},{\"name\":\"X\",\"value\":\"2\"}]}]}},\"strategy\":"
	     "{}},\"status\":{\"replicas\":2,\"conditions\":[{\"type\":\"Available\"}]}}"},
	    {"crd", "{\"metadata\":{\"name\":\"j\"},\"spec\":{\"workers\":[{\"name\":\"b\","
	            "\"gpus\":2},{\"name\":\"a\"},{\"name\":\"b\"}],\"tags\":[\"y\",\"x\",\"y\"],"
	            "\"other\":{\"k\":[]}}}"},
	    {NULL, "{\"spec\":{\"list\":[{\"name\":\"a\"},1],\"m\":{},\"n\":null,\"s\":\"v\"}}"},
	};
	json_t *schema = J(CRD_SCHEMA);
	int bad = 0, changed = 0;
	uint32_t st = 12345;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		bool crd = cases[i].type && str_eq(cases[i].type, "crd");
		const schema_type *sty = cases[i].type && !crd ? schema_find(cases[i].type) : NULL;
		fs_type rt = fs_type_root(sty, crd ? schema : NULL);
		for (int round = 0; round < 600; round++) {
			json_t *old = J(cases[i].obj);
			for (int k = round % 3; k > 0; k--)
				mutate(old, &st, 0);
			json_t *newer = round % 2 ? copy_levels(old, &st) : json_deep_copy(old);
			for (int k = 1 + round % 4; k > 0; k--)
				mutate(newer, &st, 0);
			fieldset *a = fieldset_new(), *m = fieldset_new(), *r = fieldset_new();
			fs_object_compare(old, newer, &rt, a, m, r);
			fieldset *am = fieldset_union(a, m);
			json_t *want = fieldset_to_v1(am), *got = fs_object_changed_v1(old, newer, &rt);
			char *ws = json_dump_compact(want), *gs = json_dump_compact(got);
			changed += !fieldset_empty(am);
			if (strcmp(ws, gs) && !bad++) {
				char *os = json_dump_compact(old), *ns = json_dump_compact(newer);
				fprintf(stderr, "    old: %s\n    new: %s\n    got:  %s\n    want: %s\n", os,
				        ns, gs, ws);
				free(os);
				free(ns);
			}
			free(ws);
			free(gs);
			json_decref(want);
			json_decref(got);
			fieldset_free(a);
			fieldset_free(m);
			fieldset_free(r);
			fieldset_free(am);
			json_decref(old);
			json_decref(newer);
		}
	}
	CHECK_INT(bad, 0);
	fprintf(stderr, "  %d of %d writes changed fields\n", changed, 4 * 600);
	CHECK(changed > 1000); /* the changes were seen */
	json_decref(schema);
}
