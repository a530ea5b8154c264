/* test_patch.c — JSON patch (RFC 6902 and RFC 6901 examples), JSON merge patch (RFC 7386
 * examples) and strategic merge patch (Kubernetes documentation examples). */
#include "test.h"

#include "api/patch.h"
#include "api/schema.h"
#include "base/json.h"
#include "base/util.h"

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

/* True when got equals the JSON text want; prints both otherwise. */
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

/* Applies a JSON patch given as text; returns the result (owned) or NULL with *err. */
static json_t *jp(const char *doc, const char *ops, terr **err)
{
	json_t *d = J(doc), *o = J(ops);
	json_t *r = patch_json(d, o, err);
	json_decref(d);
	json_decref(o);
	return r;
}

static bool jp_ok(const char *doc, const char *ops, const char *want)
{
	terr *err = NULL;
	json_t *r = jp(doc, ops, &err);
	if (err)
		fprintf(stderr, "    unexpected error %d %s: %s\n", err->code, err->reason,
		        err->message);
	bool ok = !err && same(r, want);
	json_decref(r);
	terr_free(err);
	return ok;
}

/* Expects the patch to fail with code (and, as kube, reason). */
static bool jp_fails(const char *doc, const char *ops, int code, const char *reason)
{
	terr *err = NULL;
	json_t *r = jp(doc, ops, &err);
	bool ok = !r && err && err->code == code && str_eq(err->reason, reason);
	if (!ok)
		fprintf(stderr, "    %s on %s: want %d %s, got %d %s\n", ops, doc, code, reason,
		        err ? err->code : 0, err ? err->reason : "(no error)");
	json_decref(r);
	terr_free(err);
	return ok;
}

/* ---- RFC 6902 appendix A ---- */

TEST(rfc6902_a1_add_object_member)
{
	CHECK(jp_ok("{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\"}]",
	            "{\"baz\":\"qux\",\"foo\":\"bar\"}"));
}

TEST(rfc6902_a2_add_array_element)
{
	CHECK(jp_ok("{\"foo\":[\"bar\",\"baz\"]}",
	            "[{\"op\":\"add\",\"path\":\"/foo/1\",\"value\":\"qux\"}]",
	            "{\"foo\":[\"bar\",\"qux\",\"baz\"]}"));
}

TEST(rfc6902_a3_a4_remove)
{
	CHECK(jp_ok("{\"baz\":\"qux\",\"foo\":\"bar\"}", "[{\"op\":\"remove\",\"path\":\"/baz\"}]",
	            "{\"foo\":\"bar\"}"));
	CHECK(jp_ok("{\"foo\":[\"bar\",\"qux\",\"baz\"]}",
	            "[{\"op\":\"remove\",\"path\":\"/foo/1\"}]", "{\"foo\":[\"bar\",\"baz\"]}"));
}

TEST(rfc6902_a5_replace)
{
	CHECK(jp_ok("{\"baz\":\"qux\",\"foo\":\"bar\"}",
	            "[{\"op\":\"replace\",\"path\":\"/baz\",\"value\":\"boo\"}]",
	            "{\"baz\":\"boo\",\"foo\":\"bar\"}"));
}

TEST(rfc6902_a6_a7_move)
{
	CHECK(
	    jp_ok("{\"foo\":{\"bar\":\"baz\",\"waldo\":\"fred\"},\"qux\":{\"corge\":\"grault\"}}",
	          "[{\"op\":\"move\",\"from\":\"/foo/waldo\",\"path\":\"/qux/thud\"}]",
	          "{\"foo\":{\"bar\":\"baz\"},\"qux\":{\"corge\":\"grault\",\"thud\":\"fred\"}}"));
	CHECK(jp_ok("{\"foo\":[\"all\",\"grass\",\"cows\",\"eat\"]}",
	            "[{\"op\":\"move\",\"from\":\"/foo/1\",\"path\":\"/foo/3\"}]",
	            "{\"foo\":[\"all\",\"cows\",\"eat\",\"grass\"]}"));
}

TEST(rfc6902_a8_a9_test)
{
	CHECK(jp_ok("{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}",
	            "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"qux\"},"
	            "{\"op\":\"test\",\"path\":\"/foo/1\",\"value\":2}]",
	            "{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}"));
	CHECK(jp_fails("{\"baz\":\"qux\"}",
	               "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"bar\"}]", 422, "Invalid"));
}

TEST(rfc6902_a10_a11_nested_and_unrecognized)
{
	CHECK(jp_ok("{\"foo\":\"bar\"}",
	            "[{\"op\":\"add\",\"path\":\"/child\",\"value\":{\"grandchild\":{}}}]",
	            "{\"foo\":\"bar\",\"child\":{\"grandchild\":{}}}"));
	CHECK(jp_ok("{\"foo\":\"bar\"}",
	            "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\",\"xyz\":123}]",
	            "{\"foo\":\"bar\",\"baz\":\"qux\"}"));
}

TEST(rfc6902_a12_nonexistent_target)
{
	CHECK(jp_fails("{\"foo\":\"bar\"}",
	               "[{\"op\":\"add\",\"path\":\"/baz/bat\",\"value\":\"qux\"}]", 422,
	               "Invalid"));
}

TEST(rfc6902_a14_a15_escapes_and_types)
{
	CHECK(jp_ok("{\"/\":9,\"~1\":10}", "[{\"op\":\"test\",\"path\":\"/~01\",\"value\":10}]",
	            "{\"/\":9,\"~1\":10}"));
	CHECK(jp_fails("{\"/\":9,\"~1\":10}",
	               "[{\"op\":\"test\",\"path\":\"/~01\",\"value\":\"10\"}]", 422, "Invalid"));
}

TEST(rfc6902_a16_add_array_value)
{
	CHECK(jp_ok("{\"foo\":[\"bar\"]}",
	            "[{\"op\":\"add\",\"path\":\"/foo/-\",\"value\":[\"abc\",\"def\"]}]",
	            "{\"foo\":[\"bar\",[\"abc\",\"def\"]]}"));
}

/* RFC 6901 section 5: every pointer of the example resolves to its listed value. */
TEST(rfc6901_pointers)
{
	const char *doc = "{\"foo\":[\"bar\",\"baz\"],\"\":0,\"a/b\":1,\"c%d\":2,\"e^f\":3,"
	                  "\"g|h\":4,\"i\\\\j\":5,\"k\\\"l\":6,\" \":7,\"m~n\":8}";
	const char *ops = "[{\"op\":\"test\",\"path\":\"/foo\",\"value\":[\"bar\",\"baz\"]},"
	                  "{\"op\":\"test\",\"path\":\"/foo/0\",\"value\":\"bar\"},"
	                  "{\"op\":\"test\",\"path\":\"/\",\"value\":0},"
	                  "{\"op\":\"test\",\"path\":\"/a~1b\",\"value\":1},"
	                  "{\"op\":\"test\",\"path\":\"/c%d\",\"value\":2},"
	                  "{\"op\":\"test\",\"path\":\"/e^f\",\"value\":3},"
	                  "{\"op\":\"test\",\"path\":\"/g|h\",\"value\":4},"
	                  "{\"op\":\"test\",\"path\":\"/i\\\\j\",\"value\":5},"
	                  "{\"op\":\"test\",\"path\":\"/k\\\"l\",\"value\":6},"
	                  "{\"op\":\"test\",\"path\":\"/ \",\"value\":7},"
	                  "{\"op\":\"test\",\"path\":\"/m~0n\",\"value\":8}]";
	CHECK(jp_ok(doc, ops, doc));
	/* "" is the whole document. */
	CHECK(jp_ok("{\"a\":1}", "[{\"op\":\"test\",\"path\":\"\",\"value\":{\"a\":1}}]",
	            "{\"a\":1}"));
}

TEST(json_patch_is_atomic)
{
	/* The first op succeeds on the private copy, the second fails: input untouched. */
	json_t *doc = J("{\"a\":1}");
	json_t *ops = J("[{\"op\":\"replace\",\"path\":\"/a\",\"value\":2},"
	                "{\"op\":\"remove\",\"path\":\"/missing\"}]");
	terr *err = NULL;
	CHECK(patch_json(doc, ops, &err) == NULL);
	CHECK(err && err->code == 422);
	CHECK_STR(err ? err->message : NULL,
	          "the server rejected our request due to an error in our request");
	CHECK(same(doc, "{\"a\":1}"));
	terr_free(err);
	json_decref(doc);
	json_decref(ops);
}

TEST(json_patch_errors)
{
	/* Bad paths, bad indices, unknown op, missing value, move into own child. */
	CHECK(jp_fails("{\"a\":[1]}", "[{\"op\":\"add\",\"path\":\"/a/2\",\"value\":0}]", 422,
	               "Invalid"));
	CHECK(jp_fails("{\"a\":[1]}", "[{\"op\":\"add\",\"path\":\"/a/01\",\"value\":0}]", 422,
	               "Invalid"));
	CHECK(jp_fails("{\"a\":[1]}", "[{\"op\":\"replace\",\"path\":\"/a/1\",\"value\":0}]", 422,
	               "Invalid"));
	CHECK(jp_fails("{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"/b\",\"value\":0}]", 422,
	               "Invalid"));
	CHECK(jp_fails("{\"a\":1}", "[{\"op\":\"frob\",\"path\":\"/a\"}]", 422, "Invalid"));
	CHECK(jp_fails("{\"a\":1}", "[{\"path\":\"/a\"}]", 422, "Invalid"));
	CHECK(jp_fails("{\"a\":1}", "[{\"op\":\"add\",\"path\":\"/b\"}]", 422, "Invalid"));
	CHECK(
	    jp_fails("{\"a\":1}", "[{\"op\":\"add\",\"path\":\"b\",\"value\":1}]", 422, "Invalid"));
	CHECK(jp_fails("{\"a\":1}", "[{\"op\":\"test\",\"path\":\"/~2\",\"value\":1}]", 422,
	               "Invalid"));
	CHECK(jp_fails("{\"a\":{\"b\":1}}",
	               "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a/b/c\"}]", 422, "Invalid"));
	CHECK(jp_fails("{}", "[{\"op\":\"remove\",\"path\":\"\"}]", 422, "Invalid"));
	/* Not a list of objects: a decode error, 400. */
	CHECK(jp_fails("{}", "{\"op\":\"add\"}", 400, "BadRequest"));
	CHECK(jp_fails("{}", "[\"add\"]", 400, "BadRequest"));
}

TEST(json_patch_copy_and_root)
{
	CHECK(jp_ok("{\"a\":{\"x\":1}}", "[{\"op\":\"copy\",\"from\":\"/a\",\"path\":\"/a/y\"}]",
	            "{\"a\":{\"x\":1,\"y\":{\"x\":1}}}"));
	CHECK(jp_ok("{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"\",\"value\":[1]}]", "[1]"));
	CHECK(jp_ok("{\"a\":1}", "null", "{\"a\":1}"));
	/* A move to the same place is a no-op; numbers compare by value. */
	CHECK(jp_ok("{\"a\":[1,2]}",
	            "[{\"op\":\"move\",\"from\":\"/a/0\",\"path\":\"/a/0\"},"
	            "{\"op\":\"test\",\"path\":\"/a/1\",\"value\":2.0}]",
	            "{\"a\":[1,2]}"));
}

TEST(json_patch_limits)
{
	/* k8s: more than 10,000 operations answer 413 RequestEntityTooLarge. */
	json_t *ops = json_array();
	for (int i = 0; i < PATCH_JSON_MAX_OPS + 1; i++)
		json_array_append_new(ops, J("{\"op\":\"test\",\"path\":\"\",\"value\":{}}"));
	json_t *doc = json_object();
	terr *err = NULL;
	CHECK(patch_json(doc, ops, &err) == NULL);
	CHECK(err && err->code == 413 && str_eq(err->reason, "RequestEntityTooLarge"));
	CHECK_STR(err ? err->message : NULL,
	          "Request entity too large: The allowed maximum operations in a JSON patch is "
	          "10000, got 10001");
	terr_free(err);
	err = NULL;
	/* Doubling the document with copies of the root hits the copy budget, not memory. */
	json_array_clear(ops);
	for (int i = 0; i < 60; i++)
		json_array_append_new(ops, J("{\"op\":\"copy\",\"from\":\"\",\"path\":\"/-\"}"));
	json_decref(doc);
	doc = J("[\"0123456789012345678901234567890123456789\"]");
	CHECK(patch_json(doc, ops, &err) == NULL);
	CHECK(err && err->code == 422);
	terr_free(err);
	json_decref(ops);
	json_decref(doc);
}

/* ---- RFC 7386 ---- */

static bool mp(const char *doc, const char *patch, const char *want)
{
	json_t *d = J(doc), *p = J(patch);
	json_t *r = patch_merge(d, p);
	bool ok = same(r, want);
	json_decref(d);
	json_decref(p);
	json_decref(r);
	return ok;
}

TEST(rfc7386_section3_example)
{
	CHECK(
	    mp("{\"title\":\"Goodbye!\",\"author\":{\"givenName\":\"John\",\"familyName\":\"Doe\"},"
	       "\"tags\":[\"example\",\"sample\"],\"content\":\"This will be unchanged\"}",
	       "{\"title\":\"Hello!\",\"phoneNumber\":\"+01-123-456-7890\","
	       "\"author\":{\"familyName\":null},\"tags\":[\"example\"]}",
	       "{\"title\":\"Hello!\",\"author\":{\"givenName\":\"John\"},\"tags\":[\"example\"],"
	       "\"content\":\"This will be unchanged\",\"phoneNumber\":\"+01-123-456-7890\"}"));
}

TEST(rfc7386_appendix_a)
{
	CHECK(mp("{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"));
	CHECK(mp("{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}"));
	CHECK(mp("{\"a\":\"b\"}", "{\"a\":null}", "{}"));
	CHECK(mp("{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}"));
	CHECK(mp("{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"));
	CHECK(mp("{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}"));
	CHECK(mp("{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}",
	         "{\"a\":{\"b\":\"d\"}}"));
	CHECK(mp("{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}"));
	CHECK(mp("[\"a\",\"b\"]", "[\"c\",\"d\"]", "[\"c\",\"d\"]"));
	CHECK(mp("{\"a\":\"b\"}", "[\"c\"]", "[\"c\"]"));
	CHECK(mp("{\"a\":\"foo\"}", "null", "null"));
	CHECK(mp("{\"a\":\"foo\"}", "\"bar\"", "\"bar\""));
	CHECK(mp("{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}"));
	CHECK(mp("[1,2]", "{\"a\":\"b\",\"c\":null}", "{\"a\":\"b\"}"));
	CHECK(mp("{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}"));
}

TEST(merge_patch_leaves_input)
{
	json_t *d = J("{\"a\":{\"b\":1}}"), *p = J("{\"a\":{\"b\":2}}");
	json_t *r = patch_merge(d, p);
	CHECK(same(d, "{\"a\":{\"b\":1}}"));
	CHECK(same(r, "{\"a\":{\"b\":2}}"));
	json_decref(d);
	json_decref(p);
	json_decref(r);
}

/* ---- strategic merge patch (examples from the Kubernetes documentation) ---- */

static const schema_type *deployment(void)
{
	return schema_find("io.k8s.api.apps.v1.Deployment");
}

static json_t *smp(const char *doc, const char *patch, const schema_type *t, terr **err)
{
	json_t *d = J(doc), *p = J(patch);
	json_t *r = patch_strategic(d, p, t, err);
	json_decref(d);
	json_decref(p);
	return r;
}

static bool smp_ok(const char *doc, const char *patch, const schema_type *t, const char *want)
{
	terr *err = NULL;
	json_t *r = smp(doc, patch, t, &err);
	if (err)
		fprintf(stderr, "    unexpected error %d %s: %s\n", err->code, err->reason,
		        err->message);
	bool ok = !err && same(r, want);
	json_decref(r);
	terr_free(err);
	return ok;
}

static bool smp_fails(const char *doc, const char *patch, const schema_type *t, int code,
                      const char *reason, const char *msg)
{
	terr *err = NULL;
	json_t *r = smp(doc, patch, t, &err);
	bool ok = !r && err && err->code == code && str_eq(err->reason, reason) &&
	          (!msg || str_eq(err->message, msg));
	if (!ok)
		fprintf(stderr, "    want %d %s %s, got %d %s %s\n", code, reason, msg ? msg : "",
		        err ? err->code : 0, err ? err->reason : "-", err ? err->message : "-");
	json_decref(r);
	terr_free(err);
	return ok;
}

#define PATCH_DEMO                                                                                 \
	"{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"patch-demo-ctr\","         \
	"\"image\":\"nginx\"}],\"tolerations\":[{\"effect\":\"NoSchedule\",\"key\":\"dedicated\"," \
	"\"value\":\"test-team\"}]}}}}"

TEST(smp_docs_containers_merge_by_name)
{
	REQUIRE(deployment());
	/* k8s docs (update-api-object-kubectl-patch): containers merge by name, and the new
	 * container is listed first. */
	CHECK(smp_ok(
	    PATCH_DEMO,
	    "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"patch-demo-ctr-2\","
	    "\"image\":\"redis\"}]}}}}",
	    deployment(),
	    "{\"spec\":{\"template\":{\"spec\":{\"containers\":["
	    "{\"name\":\"patch-demo-ctr-2\",\"image\":\"redis\"},"
	    "{\"name\":\"patch-demo-ctr\",\"image\":\"nginx\"}],"
	    "\"tolerations\":[{\"effect\":\"NoSchedule\",\"key\":\"dedicated\","
	    "\"value\":\"test-team\"}]}}}}"));
}

TEST(smp_docs_tolerations_replaced)
{
	REQUIRE(deployment());
	/* k8s docs: tolerations have no patch strategy, so the list is replaced. */
	CHECK(smp_ok(
	    PATCH_DEMO,
	    "{\"spec\":{\"template\":{\"spec\":{\"tolerations\":[{\"effect\":\"NoSchedule\","
	    "\"key\":\"disktype\",\"value\":\"ssd\"}]}}}}",
	    deployment(),
	    "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"patch-demo-ctr\","
	    "\"image\":\"nginx\"}],\"tolerations\":[{\"effect\":\"NoSchedule\","
	    "\"key\":\"disktype\",\"value\":\"ssd\"}]}}}}"));
}

TEST(smp_docs_retain_keys)
{
	REQUIRE(deployment());
	/* k8s docs: "$retainKeys: [type]" with type Recreate clears rollingUpdate. */
	CHECK(smp_ok("{\"spec\":{\"strategy\":{\"type\":\"RollingUpdate\","
	             "\"rollingUpdate\":{\"maxSurge\":\"30%\"}}}}",
	             "{\"spec\":{\"strategy\":{\"$retainKeys\":[\"type\"],\"type\":\"Recreate\"}}}",
	             deployment(), "{\"spec\":{\"strategy\":{\"type\":\"Recreate\"}}}"));
	/* A key set by the patch but missing from $retainKeys is a bad request. */
	CHECK(
	    smp_fails("{\"spec\":{\"strategy\":{}}}",
	              "{\"spec\":{\"strategy\":{\"$retainKeys\":[\"type\"],\"rollingUpdate\":{}}}}",
	              deployment(), 400, "BadRequest", "invalid patch format of retainKeys"));
}

TEST(smp_patch_delete_in_list)
{
	REQUIRE(deployment());
	/* k8s: {name: x, $patch: delete} removes the list item with that merge key. */
	CHECK(smp_ok("{\"spec\":{\"template\":{\"spec\":{\"containers\":["
	             "{\"name\":\"nginx\",\"image\":\"nginx-1.0\"},"
	             "{\"name\":\"log-tailer\",\"image\":\"log-tailer-1.0\"}]}}}}",
	             "{\"spec\":{\"template\":{\"spec\":{\"containers\":["
	             "{\"name\":\"log-tailer\",\"$patch\":\"delete\"}]}}}}",
	             deployment(),
	             "{\"spec\":{\"template\":{\"spec\":{\"containers\":["
	             "{\"name\":\"nginx\",\"image\":\"nginx-1.0\"}]}}}}"));
}

TEST(smp_patch_replace_and_delete_maps)
{
	REQUIRE(deployment());
	/* $patch: replace in a map replaces it; in a list, the list. */
	CHECK(smp_ok("{\"metadata\":{\"labels\":{\"a\":\"1\",\"b\":\"2\"}}}",
	             "{\"metadata\":{\"labels\":{\"$patch\":\"replace\",\"c\":\"3\"}}}",
	             deployment(), "{\"metadata\":{\"labels\":{\"c\":\"3\"}}}"));
	CHECK(smp_ok("{\"spec\":{\"template\":{\"spec\":{\"containers\":["
	             "{\"name\":\"a\",\"image\":\"x\"},{\"name\":\"b\",\"image\":\"y\"}]}}}}",
	             "{\"spec\":{\"template\":{\"spec\":{\"containers\":["
	             "{\"name\":\"c\",\"image\":\"z\"},{\"$patch\":\"replace\"}]}}}}",
	             deployment(),
	             "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":"
	             "\"z\"}]}}}}"));
	/* k8s: $patch: delete on a map leaves an empty map. */
	CHECK(smp_ok("{\"spec\":{\"strategy\":{\"type\":\"Recreate\"}}}",
	             "{\"spec\":{\"strategy\":{\"$patch\":\"delete\"}}}", deployment(),
	             "{\"spec\":{\"strategy\":{}}}"));
	/* A new map marked with $patch is dropped, not stored. */
	CHECK(smp_ok("{\"spec\":{}}", "{\"spec\":{\"strategy\":{\"$patch\":\"delete\"}}}",
	             deployment(), "{\"spec\":{}}"));
}

TEST(smp_primitive_lists)
{
	REQUIRE(deployment());
	/* metadata.finalizers has patchStrategy merge: merged as a set. */
	CHECK(smp_ok("{\"metadata\":{\"finalizers\":[\"a\",\"b\"]}}",
	             "{\"metadata\":{\"finalizers\":[\"b\",\"c\"]}}", deployment(),
	             "{\"metadata\":{\"finalizers\":[\"a\",\"b\",\"c\"]}}"));
	CHECK(smp_ok("{\"metadata\":{\"finalizers\":[\"a\",\"b\",\"c\"]}}",
	             "{\"metadata\":{\"$deleteFromPrimitiveList/finalizers\":[\"b\"]}}",
	             deployment(), "{\"metadata\":{\"finalizers\":[\"a\",\"c\"]}}"));
	/* container args have no strategy: replaced. */
	CHECK(smp_ok("{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"a\","
	             "\"args\":[\"1\",\"2\"]}]}}}}",
	             "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"a\","
	             "\"args\":[\"3\"]}]}}}}",
	             deployment(),
	             "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"a\","
	             "\"args\":[\"3\"]}]}}}}"));
}

TEST(smp_set_element_order)
{
	REQUIRE(deployment());
	CHECK(smp_ok("{\"metadata\":{\"finalizers\":[\"a\",\"b\",\"c\"]}}",
	             "{\"metadata\":{\"$setElementOrder/finalizers\":[\"c\",\"b\",\"a\"]}}",
	             deployment(), "{\"metadata\":{\"finalizers\":[\"c\",\"b\",\"a\"]}}"));
	CHECK(smp_ok(
	    "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"a\"},"
	    "{\"name\":\"b\"}]}}}}",
	    "{\"spec\":{\"template\":{\"spec\":{\"$setElementOrder/containers\":[{\"name\":\"b\"},"
	    "{\"name\":\"a\"},{\"name\":\"c\"}],\"containers\":[{\"name\":\"c\",\"image\":\"c\"}]}}"
	    "}}",
	    deployment(),
	    "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"b\"},{\"name\":\"a\"},"
	    "{\"name\":\"c\",\"image\":\"c\"}]}}}}"));
}

TEST(smp_nested_merge_keys)
{
	REQUIRE(deployment());
	/* ports merge by containerPort, env by name; null deletes a label. */
	CHECK(smp_ok(
	    "{\"metadata\":{\"labels\":{\"app\":\"x\",\"tier\":\"web\"}},\"spec\":{\"template\":"
	    "{\"spec\":{\"containers\":[{\"name\":\"a\",\"ports\":[{\"containerPort\":80}],"
	    "\"env\":[{\"name\":\"A\",\"value\":\"1\"},{\"name\":\"B\",\"value\":\"2\"}]}]}}}}",
	    "{\"metadata\":{\"labels\":{\"app\":null}},\"spec\":{\"template\":{\"spec\":"
	    "{\"containers\":[{\"name\":\"a\",\"ports\":[{\"containerPort\":443}],"
	    "\"env\":[{\"name\":\"B\",\"value\":\"3\"}]}]}}}}",
	    deployment(),
	    "{\"metadata\":{\"labels\":{\"tier\":\"web\"}},\"spec\":{\"template\":"
	    "{\"spec\":{\"containers\":[{\"name\":\"a\",\"ports\":[{\"containerPort\":443},"
	    "{\"containerPort\":80}],\"env\":[{\"name\":\"A\",\"value\":\"1\"},"
	    "{\"name\":\"B\",\"value\":\"3\"}]}]}}}}"));
	/* Without metadata (custom resources are refused before this): maps merge, lists replace.
	 */
	CHECK(smp_ok("{\"a\":{\"b\":1},\"l\":[1,2]}", "{\"a\":{\"c\":2},\"l\":[3]}", NULL,
	             "{\"a\":{\"b\":1,\"c\":2},\"l\":[3]}"));
}

TEST(smp_errors)
{
	REQUIRE(deployment());
	/* k8s: a merge list item without its merge key: StatusReasonUnknown, Go-printed map. */
	CHECK(smp_fails(
	    "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"a\"}]}}}}",
	    "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"image\":\"nginx\"}]}}}}",
	    deployment(), 500, "",
	    "map: map[image:nginx] does not contain declared merge key: name"));
	CHECK(smp_fails("{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"a\"}]}}}}",
	                "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"$patch\":\"merge\","
	                "\"name\":\"a\"}]}}}}",
	                deployment(), 500, "",
	                "merging lists cannot yet be specified in the patch"));
	CHECK(smp_fails("{\"spec\":{\"strategy\":{}}}",
	                "{\"spec\":{\"strategy\":{\"$patch\":\"foo\"}}}", deployment(), 500, "",
	                "unknown patch type: foo in map: map[$patch:foo]"));
	CHECK(smp_fails("{\"metadata\":{\"finalizers\":[[\"a\"]]}}",
	                "{\"metadata\":{\"finalizers\":[[\"b\"]]}}", deployment(), 422, "Invalid",
	                NULL));
	CHECK(smp_fails("{}", "[1]", deployment(), 400, "BadRequest", NULL));
	CHECK(smp_fails("{\"metadata\":{\"finalizers\":[\"a\"]}}",
	                "{\"metadata\":{\"$deleteFromPrimitiveListfinalizers\":[\"a\"]}}",
	                deployment(), 400, "BadRequest", "invalid patch format of primitive list"));
}
