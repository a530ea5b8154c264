/* test_env.c — agent_container_env: every source, kube's precedence and order, errors;
 * agent_pod_refs. */
#include "agent/volume.h"
#include "base/json.h"
#include "base/util.h"
#include "test.h"

static json_t *J(const char *s)
{
	json_error_t e;
	json_t *j = json_loads(s, 0, &e);
	if (!j)
		fprintf(stderr, "bad json: %s: %s\n", e.text, s);
	return j;
}

static const char *POD =
    "{\"metadata\":{\"name\":\"p\",\"namespace\":\"ns\",\"uid\":\"u-1\","
    "\"labels\":{\"app\":\"web\",\"b\":\"x\\\"y\"},\"annotations\":{\"note\":\"hi\"}},"
    "\"spec\":{\"nodeName\":\"n1\",\"serviceAccountName\":\"sa\",\"containers\":[{\"name\":\"c\","
    "\"resources\":{\"limits\":{\"memory\":\"128Mi\"},\"requests\":{\"cpu\":\"250m\"}}}]},"
    "\"status\":{\"podIP\":\"10.42.0.5\",\"podIPs\":[{\"ip\":\"10.42.0.5\"},{\"ip\":\"fd00::5\"}],"
    "\"hostIP\":\"192.168.1.2\"}}";

static const char *INPUTS =
    "{\"configmaps\":{\"cm\":{\"data\":{\"A\":\"1\",\"B\":\"cm-b\",\"1bad\":\"x\",\"D\":\"$(A)\"}}}"
    ","
    "\"secrets\":{\"s\":{\"data\":{\"PASS\":\"cyQzY3JldA==\"}}},"
    "\"node\":{\"status\":{\"allocatable\":{\"cpu\":\"4\",\"memory\":\"8Gi\"}}}}";

/* Resolves env for a container given as JSON; returns the env (or NULL and *err). */
static json_t *resolve(const char *ctr, terr **err)
{
	_cleanup_json_ json_t *pod = J(POD);
	_cleanup_json_ json_t *in = J(INPUTS);
	_cleanup_json_ json_t *c = J(ctr);
	json_t *env = NULL;
	if (agent_container_env(pod, c, in, &env, err) < 0)
		return NULL;
	return env;
}

static const char *val(json_t *env, const char *name)
{
	size_t i;
	json_t *e;
	json_array_foreach(env, i, e)
	{
		if (str_eq(json_string_value(json_object_get(e, "name")), name))
			return json_string_value(json_object_get(e, "value"));
	}
	return NULL;
}

TEST(env_literal_and_order)
{
	terr *err = NULL;
	_cleanup_json_ json_t *env = resolve(
	    "{\"name\":\"c\",\"envFrom\":[{\"configMapRef\":{\"name\":\"cm\"}},"
	    "{\"prefix\":\"S_\",\"secretRef\":{\"name\":\"s\"}}],"
	    "\"env\":[{\"name\":\"B\",\"value\":\"lit-$(A)\"},{\"name\":\"Z\",\"value\":\"z\"}]}",
	    &err);
	REQUIRE(env);
	CHECK_STR(val(env, "A"), "1");
	/* env overrides envFrom, keeps $(VAR) for the runtime, and moves to its place */
	CHECK_STR(val(env, "B"), "lit-$(A)");
	CHECK_STR(json_string_value(
	              json_object_get(json_array_get(env, json_array_size(env) - 2), "name")),
	          "B");
	/* a key that is not a valid variable name is skipped */
	CHECK(val(env, "1bad") == NULL);
	/* values from objects are escaped so the runtime leaves them alone */
	CHECK_STR(val(env, "D"), "$$(A)");
	CHECK_STR(val(env, "S_PASS"), "s$$3cret");
	CHECK_STR(val(env, "Z"), "z");
}

TEST(env_key_refs)
{
	terr *err = NULL;
	_cleanup_json_ json_t *env = resolve(
	    "{\"name\":\"c\",\"env\":["
	    "{\"name\":\"X\",\"valueFrom\":{\"configMapKeyRef\":{\"name\":\"cm\",\"key\":\"B\"}}},"
	    "{\"name\":\"Y\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"s\",\"key\":\"PASS\"}}},"
	    "{\"name\":\"O1\",\"valueFrom\":{\"configMapKeyRef\":{\"name\":\"nope\",\"key\":\"B\","
	    "\"optional\":true}}},"
	    "{\"name\":\"O2\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"s\",\"key\":\"nokey\","
	    "\"optional\":true}}}]}",
	    &err);
	REQUIRE(env);
	CHECK_STR(val(env, "X"), "cm-b");
	CHECK_STR(val(env, "Y"), "s$$3cret");
	CHECK(val(env, "O1") == NULL);
	CHECK(val(env, "O2") == NULL);
	CHECK_INT(json_array_size(env), 2);
}

TEST(env_errors)
{
	struct {
		const char *ctr, *msg;
	} cases[] = {
	    {"{\"name\":\"c\",\"env\":[{\"name\":\"X\",\"valueFrom\":{\"configMapKeyRef\":"
	     "{\"name\":\"missing\",\"key\":\"k\"}}}]}",
	     "configmap \"missing\" not found"},
	    {"{\"name\":\"c\",\"env\":[{\"name\":\"X\",\"valueFrom\":{\"configMapKeyRef\":"
	     "{\"name\":\"cm\",\"key\":\"k\"}}}]}",
	     "couldn't find key k in ConfigMap ns/cm"},
	    {"{\"name\":\"c\",\"env\":[{\"name\":\"X\",\"valueFrom\":{\"secretKeyRef\":"
	     "{\"name\":\"s\",\"key\":\"k\"}}}]}",
	     "couldn't find key k in Secret ns/s"},
	    {"{\"name\":\"c\",\"env\":[{\"name\":\"X\",\"valueFrom\":{\"secretKeyRef\":"
	     "{\"name\":\"gone\",\"key\":\"k\"}}}]}",
	     "secret \"gone\" not found"},
	    {"{\"name\":\"c\",\"envFrom\":[{\"configMapRef\":{\"name\":\"gone\"}}]}",
	     "configmap \"gone\" not found"},
	    {"{\"name\":\"c\",\"env\":[{\"name\":\"X\",\"valueFrom\":{\"fieldRef\":"
	     "{\"fieldPath\":\"spec.bogus\"}}}]}",
	     "unsupported fieldPath: spec.bogus"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		terr *err = NULL;
		json_t *env = resolve(cases[i].ctr, &err);
		CHECK(env == NULL);
		REQUIRE(err);
		CHECK_INT(err->code, 400);
		CHECK_STR(err->reason, "CreateContainerConfigError");
		CHECK_STR(err->message, cases[i].msg);
		terr_free(err);
	}
	/* optional envFrom source missing: fine */
	terr *err = NULL;
	_cleanup_json_ json_t *env = resolve(
	    "{\"name\":\"c\",\"envFrom\":[{\"secretRef\":{\"name\":\"gone\",\"optional\":true}}]}",
	    &err);
	CHECK(env && json_array_size(env) == 0);
}

TEST(env_field_refs)
{
	terr *err = NULL;
	static const char *const paths[][2] = {
	    {"metadata.name", "p"},
	    {"metadata.namespace", "ns"},
	    {"metadata.uid", "u-1"},
	    {"metadata.labels['app']", "web"},
	    {"metadata.labels['none']", ""},
	    {"metadata.annotations['note']", "hi"},
	    {"metadata.labels", "app=\"web\"\nb=\"x\\\"y\""},
	    {"spec.nodeName", "n1"},
	    {"spec.serviceAccountName", "sa"},
	    {"status.podIP", "10.42.0.5"},
	    {"status.podIPs", "10.42.0.5,fd00::5"},
	    {"status.hostIP", "192.168.1.2"},
	    {"status.hostIPs", "192.168.1.2"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
		_cleanup_free_ char *ctr = xasprintf(
		    "{\"name\":\"c\",\"env\":[{\"name\":\"V\",\"valueFrom\":{\"fieldRef\":"
		    "{\"fieldPath\":\"%s\"}}}]}",
		    paths[i][0]);
		_cleanup_json_ json_t *env = resolve(ctr, &err);
		REQUIRE(env);
		CHECK_STR(val(env, "V"), paths[i][1]);
	}
}

TEST(env_resource_refs)
{
	terr *err = NULL;
	static const char *const cases[][3] = {
	    {"limits.memory", "1Mi", "128"}, {"limits.memory", "", "134217728"},
	    {"requests.cpu", "1m", "250"},   {"requests.cpu", "", "1"}, /* 250m rounded up to 1 */
	    {"limits.cpu", "", "4"}, /* unset limit: the node's allocatable */
	    {"limits.cpu", "1m", "4000"},    {"requests.memory", "", "0"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_free_ char *div =
		    *cases[i][1] ? xasprintf(",\"divisor\":\"%s\"", cases[i][1]) : xstrdup("");
		_cleanup_free_ char *ctr = xasprintf(
		    "{\"name\":\"c\",\"resources\":{\"limits\":{\"memory\":\"128Mi\"},"
		    "\"requests\":{\"cpu\":\"250m\"}},\"env\":[{\"name\":\"V\",\"valueFrom\":"
		    "{\"resourceFieldRef\":{\"resource\":\"%s\"%s}}}]}",
		    cases[i][0], div);
		_cleanup_json_ json_t *env = resolve(ctr, &err);
		REQUIRE(env);
		CHECK_STR(val(env, "V"), cases[i][2]);
	}
}

TEST(pod_refs)
{
	_cleanup_json_ json_t *pod =
	    J("{\"spec\":{\"volumes\":[{\"name\":\"a\",\"configMap\":{\"name\":\"cm\",\"optional\":"
	      "true}},"
	      "{\"name\":\"b\",\"secret\":{\"secretName\":\"s\"}},"
	      "{\"name\":\"c\",\"persistentVolumeClaim\":{\"claimName\":\"data\"}},"
	      "{\"name\":\"d\",\"projected\":{\"sources\":[{\"configMap\":{\"name\":\"p1\"}},"
	      "{\"secret\":{\"name\":\"s\",\"optional\":true}}]}}],"
	      "\"containers\":[{\"name\":\"x\",\"envFrom\":[{\"configMapRef\":{\"name\":\"cm\"}}],"
	      "\"env\":[{\"name\":\"K\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"s2\",\"key\":"
	      "\"k\","
	      "\"optional\":true}}}]}]}}");
	_cleanup_json_ json_t *refs = agent_pod_refs(pod);
	_cleanup_free_ char *s = json_dump_compact(refs);
	CHECK_STR(s,
	          "[{\"resource\":\"configmaps\",\"name\":\"cm\",\"optional\":false},"
	          "{\"resource\":\"secrets\",\"name\":\"s\",\"optional\":false},"
	          "{\"resource\":\"persistentvolumeclaims\",\"name\":\"data\",\"optional\":false},"
	          "{\"resource\":\"configmaps\",\"name\":\"p1\",\"optional\":false},"
	          "{\"resource\":\"secrets\",\"name\":\"s2\",\"optional\":true}]");
}
