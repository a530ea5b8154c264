/* test_yaml.c — YAML -> JSON typing (go-yaml v2 rules as Kubernetes applies them), anchors
 * and merges, hostile documents, error messages, the seed manifests, and JSON -> YAML
 * output and round trips. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/util.h"
#include "base/yaml.h"
#include "test.h"

/* Compact JSON of yaml_to_json(y), or "ERR <code> <message>". Caller frees. */
static char *conv(const char *y)
{
	terr *e = NULL;
	json_t *j = yaml_to_json(y, strlen(y), &e);
	if (!j) {
		char *s = xasprintf("ERR %d %s", e ? e->code : 0, e ? e->message : "(no error)");
		terr_free(e);
		return s;
	}
	char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(j);
	return s;
}

/* The JSON of the value of key v in "v: <scalar>". */
static char *scalar(const char *text)
{
	_cleanup_free_ char *y = xasprintf("v: %s\n", text);
	char *all = conv(y);
	if (strncmp(all, "{\"v\":", 5) != 0)
		return all;
	size_t n = strlen(all);
	char *v = xstrndup(all + 5, n - 6);
	free(all);
	return v;
}

#define CHECK_CONV(yaml, want)                                                                     \
	do {                                                                                       \
		_cleanup_free_ char *got_ = conv(yaml);                                            \
		CHECK_STR(got_, want);                                                             \
	} while (0)

#define CHECK_SCALAR(text, want)                                                                   \
	do {                                                                                       \
		_cleanup_free_ char *got_ = scalar(text);                                          \
		CHECK_STR(got_, want);                                                             \
	} while (0)

TEST(scalar_typing_like_go_yaml_v2)
{
	/* integers: decimal, sign, hex, 0o, YAML 1.1 octal, binary, underscores, limits */
	CHECK_SCALAR("1", "1");
	CHECK_SCALAR("-7", "-7");
	CHECK_SCALAR("+12", "12");
	CHECK_SCALAR("0x1F", "31");
	CHECK_SCALAR("0o17", "15");
	CHECK_SCALAR("017", "15");
	CHECK_SCALAR("0b101", "5");
	CHECK_SCALAR("-0b101", "-5");
	CHECK_SCALAR("-0x10", "-16");
	CHECK_SCALAR("1_000", "1000");
	CHECK_SCALAR("08", "8"); /* not octal, but a float 8.0, which JSON writes as 8 */
	CHECK_SCALAR("9223372036854775807", "9223372036854775807");
	CHECK_SCALAR("-9223372036854775808", "-9223372036854775808");
	CHECK_SCALAR("18446744073709551615", "1.8446744073709552e19");
	CHECK_SCALAR("99999999999999999999999", "9.9999999999999992e22");
	/* floats: integral ones read back as integers, like Go's JSON output */
	CHECK_SCALAR("1e3", "1000");
	CHECK_SCALAR("1.5", "1.5");
	CHECK_SCALAR(".5", "0.5");
	CHECK_SCALAR("-.5", "-0.5");
	CHECK_SCALAR("2.", "2");
	CHECK_SCALAR("1E-2", "0.01");
	CHECK_SCALAR("1e400", "\"1e400\""); /* out of range: stays text */
	/* booleans, YAML 1.1 forms included */
	const char *t[] = {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", "y", "Y"};
	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		CHECK_SCALAR(t[i], "true");
	const char *f[] = {"false", "False", "FALSE", "no", "No", "NO",
	                   "off",   "Off",   "OFF",   "n",  "N"};
	for (size_t i = 0; i < ARRAY_SIZE(f); i++)
		CHECK_SCALAR(f[i], "false");
	CHECK_SCALAR("tRUE", "\"tRUE\"");
	/* nulls */
	CHECK_SCALAR("~", "null");
	CHECK_SCALAR("null", "null");
	CHECK_SCALAR("Null", "null");
	CHECK_SCALAR("NULL", "null");
	CHECK_SCALAR("", "null");
	CHECK_SCALAR("nULL", "\"nULL\"");
	/* strings: quoted, explicit !!str, the non-specific tag, look-alikes */
	CHECK_SCALAR("\"true\"", "\"true\"");
	CHECK_SCALAR("'123'", "\"123\"");
	CHECK_SCALAR("\"\"", "\"\"");
	CHECK_SCALAR("!!str 12", "\"12\"");
	CHECK_SCALAR("!!str true", "\"true\"");
	CHECK_SCALAR("! 12", "\"12\"");
	CHECK_SCALAR("!custom 12", "\"12\"");
	CHECK_SCALAR("2001-12-14", "\"2001-12-14\"");
	CHECK_SCALAR("2001-12-14T21:59:43.10-05:00", "\"2001-12-14T21:59:43.10-05:00\"");
	CHECK_SCALAR("12:30", "\"12:30\"");
	CHECK_SCALAR("1.2.3", "\"1.2.3\"");
	CHECK_SCALAR("0x", "\"0x\"");
	CHECK_SCALAR("-x", "\"-x\"");
	CHECK_SCALAR("+", "\"+\"");
	CHECK_SCALAR(".", "\".\"");
	CHECK_SCALAR("..5", "\"..5\"");
	CHECK_SCALAR("0.0.0.0", "\"0.0.0.0\"");
	CHECK_SCALAR("100m", "\"100m\"");
	CHECK_SCALAR("1Gi", "\"1Gi\"");
	CHECK_SCALAR("\"caf\\u00e9\"", "\"caf\xc3\xa9\"");
	/* explicit tags */
	CHECK_SCALAR("!!int \"12\"", "12");
	CHECK_SCALAR("!!float 3", "3");
	CHECK_SCALAR("!!float 3.25", "3.25");
	CHECK_SCALAR("!!bool yes", "true");
	CHECK_SCALAR("!!null ~", "null");
	CHECK_SCALAR("!!binary aGVsbG8=", "\"hello\"");
	CHECK_SCALAR("!!binary /w==", "\"\xef\xbf\xbd\""); /* invalid UTF-8 becomes U+FFFD */
	CHECK_SCALAR("!!timestamp 2024-01-02", "\"2024-01-02\"");
	/* block scalars */
	CHECK_CONV("v: |\n  a\n  b\n", "{\"v\":\"a\\nb\\n\"}");
	CHECK_CONV("v: >-\n  a\n  b\n", "{\"v\":\"a b\"}");
}

TEST(keys_and_structure)
{
	/* Non-string keys become strings as sigs.k8s.io/yaml writes them. */
	CHECK_CONV("1: a\n", "{\"1\":\"a\"}");
	CHECK_CONV("0x10: a\n", "{\"16\":\"a\"}");
	CHECK_CONV("1.5: a\n", "{\"1.5\":\"a\"}");
	CHECK_CONV("0.1: a\n", "{\"0.1\":\"a\"}");
	CHECK_CONV("1e7: a\n", "{\"1e+07\":\"a\"}");
	CHECK_CONV("true: a\n", "{\"true\":\"a\"}");
	CHECK_CONV("y: a\n", "{\"true\":\"a\"}");
	CHECK_CONV("\"y\": a\n", "{\"y\":\"a\"}");
	CHECK_CONV("? a\n: b\n", "{\"a\":\"b\"}");
	/* Later duplicates win; document order is kept. */
	CHECK_CONV("b: 1\na: 2\nb: 3\n", "{\"b\":3,\"a\":2}");
	CHECK_CONV("a: [1, {b: c}, [], {}]\n", "{\"a\":[1,{\"b\":\"c\"},[],{}]}");
	CHECK_CONV("- a\n- - b\n  - c\n", "[\"a\",[\"b\",\"c\"]]");
	CHECK_CONV("null\n", "null");
	CHECK_CONV("--- 42\n", "42");
	/* Comments, document markers and surrounding empty documents are fine. */
	CHECK_CONV("# c\n---\n---\na: 1 # trailing\n...\n---\n", "{\"a\":1}");
	/* JSON is YAML, including what YAML escapes cannot say (surrogate pairs). */
	CHECK_CONV("{\"a\":1,\"b\":[true,null,\"x\"],\"c\":{\"d\":1.0}}",
	           "{\"a\":1,\"b\":[true,null,\"x\"],\"c\":{\"d\":1}}");
	CHECK_CONV("  {\"e\": \"\\ud83d\\ude00\"}\n", "{\"e\":\"\xf0\x9f\x98\x80\"}");
	CHECK_CONV("{\"a\": 1, \"a\": 2}", "{\"a\":2}");
	CHECK_CONV("{\"big\": 18446744073709551615, \"r\": 1e400}",
	           "{\"big\":1.8446744073709552e19,\"r\":\"1e400\"}");
	CHECK_CONV("{a: 1, b: [x, y]}",
	           "{\"a\":1,\"b\":[\"x\",true]}"); /* y is a YAML 1.1 boolean */
}

TEST(anchors_aliases_and_merges)
{
	CHECK_CONV("a: &x {k: v}\nb: *x\n", "{\"a\":{\"k\":\"v\"},\"b\":{\"k\":\"v\"}}");
	CHECK_CONV("a: &s hello\nb: [*s, *s]\n", "{\"a\":\"hello\",\"b\":[\"hello\",\"hello\"]}");
	/* A redefined anchor takes effect from there on. */
	CHECK_CONV("a: &x 1\nb: *x\nc: &x 2\nd: *x\n", "{\"a\":1,\"b\":1,\"c\":2,\"d\":2}");
	/* Merge keys: keys after << override it; in a list, earlier maps win. */
	CHECK_CONV("base: &b {x: 1, z: 2}\nd:\n  <<: *b\n  z: 3\n",
	           "{\"base\":{\"x\":1,\"z\":2},\"d\":{\"x\":1,\"z\":3}}");
	CHECK_CONV("d:\n  <<: [{a: 1}, {a: 2, b: 2}]\n", "{\"d\":{\"a\":1,\"b\":2}}");
	CHECK_CONV("d:\n  <<: {a: 1}\n  c: 3\n", "{\"d\":{\"a\":1,\"c\":3}}");
	CHECK_CONV("d:\n  \"<<\": {a: 1}\n",
	           "{\"d\":{\"<<\":{\"a\":1}}}"); /* quoted: a plain key */
	CHECK_CONV("d: <<\n", "{\"d\":\"<<\"}");
	/* Expanded aliases are copies: changing one leaves the other alone. */
	terr *e = NULL;
	const char *y = "a: &x {k: [1]}\nb: *x\n";
	json_t *j = yaml_to_json(y, strlen(y), &e);
	REQUIRE(j);
	json_array_append_new(json_object_get(json_object_get(j, "a"), "k"), json_integer(2));
	CHECK_INT(json_array_size(json_object_get(json_object_get(j, "b"), "k")), 1);
	json_decref(j);
}

static void check_err(int *test_failed_, const char *yaml, size_t n, const char *want)
{
	terr *e = NULL;
	json_t *j = yaml_to_json(yaml, n, &e);
	CHECK(j == NULL);
	json_decref(j);
	if (!e) {
		fprintf(stderr, "  no error for %s\n", yaml);
		*test_failed_ = 1;
		return;
	}
	CHECK_INT(e->code, 400);
	CHECK_STR(e->reason, "BadRequest");
	if (!strstr(e->message, want)) {
		fprintf(stderr, "  message \"%s\" lacks \"%s\"\n", e->message, want);
		*test_failed_ = 1;
	}
	terr_free(e);
}
#define CHECK_ERR(yaml, want) check_err(test_failed_, yaml, strlen(yaml), want)

TEST(syntax_errors_name_the_line)
{
	CHECK_ERR("a: 1\nb: 2\n c: 3\n", "error converting YAML to JSON: yaml: line 3: mapping "
	                                 "values are not allowed in this context");
	CHECK_ERR("a:\n\tb: 1\n", "yaml: line 2: found character that cannot start any token");
	CHECK_ERR("a:\n  b: 1\n c: 2\n", "yaml: line 2: did not find expected key");
	CHECK_ERR("a: [1, 2\n", "did not find expected ',' or ']'");
	CHECK_ERR("a: \"unterminated\n", "found unexpected end of stream");
	CHECK_ERR("a: 'x' y\n", "did not find expected key");
	CHECK_ERR("- a\nb: c\n", "did not find expected '-' indicator");
	check_err(test_failed_, "a: \xff\xfe\n", 6, "invalid");
	check_err(test_failed_, "a: b\0c\n", 7, "control characters are not allowed");
}

TEST(document_count)
{
	CHECK_ERR("a: 1\n---\nb: 2\n", "yaml: line 3: only one YAML document");
	CHECK_ERR("", "no YAML document found");
	CHECK_ERR("# only a comment\n", "no YAML document found");
	CHECK_ERR("---\n---\n", "no YAML document found");
	CHECK_CONV("---\n...\n---\nb: 2\n", "{\"b\":2}");
	check_err(test_failed_, NULL, 0, "no YAML document found");
}

TEST(hostile_documents)
{
	/* billion laughs: 9^9 strings from a few hundred bytes */
	buf b = {0};
	buf_puts(
	    &b,
	    "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
	for (char c = 'b'; c <= 'i'; c++) {
		buf_printf(&b, "%c: &%c [", c, c);
		for (int i = 0; i < 9; i++)
			buf_printf(&b, "%s*%c", i ? "," : "", c - 1);
		buf_puts(&b, "]\n");
	}
	CHECK_ERR(b.p, "document contains excessive aliasing");
	buf_free(&b);
	/* A few aliases within budget are fine. */
	CHECK_CONV("a: &a [1,2,3]\nb: [*a, *a, *a]\n",
	           "{\"a\":[1,2,3],\"b\":[[1,2,3],[1,2,3],[1,2,3]]}");
	/* Self-reference and merge cycles. */
	CHECK_ERR("a: &x [*x]\n", "anchor 'x' value contains itself");
	CHECK_ERR("a: &x {b: {<<: *x}}\n", "anchor 'x' value contains itself");
	CHECK_ERR("a: *nope\n", "yaml: line 1: unknown anchor 'nope' referenced");
	/* Nesting: 100 levels are fine, 101 are not, in flow and block style and through
	 * aliases. */
	buf_reset(&b);
	for (int i = 0; i < 100; i++)
		buf_putc(&b, '[');
	for (int i = 0; i < 100; i++)
		buf_putc(&b, ']');
	terr *e = NULL;
	json_t *j = yaml_to_json(b.p, b.n, &e);
	CHECK(j != NULL);
	json_decref(j);
	buf_reset(&b);
	for (int i = 0; i < 101; i++)
		buf_putc(&b, '[');
	for (int i = 0; i < 101; i++)
		buf_putc(&b, ']');
	CHECK_ERR(b.p, "exceeded max depth of 100");
	/* the same as JSON (the jansson fast path must apply the limit too) */
	buf_reset(&b);
	for (int i = 0; i < 200; i++)
		buf_puts(&b, "{\"a\":");
	buf_puts(&b, "1");
	for (int i = 0; i < 200; i++)
		buf_putc(&b, '}');
	CHECK_ERR(b.p, "exceeded max depth of 100");
	buf_reset(&b);
	for (int i = 0; i < 150; i++)
		buf_printf(&b, "%*sk:\n", 2 * i, "");
	CHECK_ERR(b.p, "exceeded max depth of 100");
	buf_reset(&b);
	buf_puts(&b, "a: &d ");
	for (int i = 0; i < 60; i++)
		buf_putc(&b, '[');
	for (int i = 0; i < 60; i++)
		buf_putc(&b, ']');
	buf_puts(&b, "\nb: ");
	for (int i = 0; i < 60; i++)
		buf_putc(&b, '[');
	buf_puts(&b, "*d");
	for (int i = 0; i < 60; i++)
		buf_putc(&b, ']');
	buf_puts(&b, "\n");
	CHECK_ERR(b.p, "exceeded max depth of 100");
	buf_free(&b);
	/* Values JSON cannot hold, keys JSON cannot have, mismatched tags, bad merges. */
	CHECK_ERR("a: .inf\n", "json: unsupported value: +Inf");
	CHECK_ERR("a: -.Inf\n", "json: unsupported value: -Inf");
	CHECK_ERR("a: .nan\n", "json: unsupported value: NaN");
	CHECK_ERR("~: 1\n", "Unsupported map key of type: null");
	CHECK_ERR("? [a]\n: 1\n", "invalid map key");
	CHECK_ERR("a: !!int abc\n", "yaml: line 1: cannot decode !!str `abc` as a !!int");
	CHECK_ERR("a: !!bool 1\n", "cannot decode !!int `1` as a !!bool");
	CHECK_ERR("a: !!binary not*base64\n", "!!binary value contains invalid base64 data");
	CHECK_ERR("a:\n  <<: 1\n", "map merge requires map or sequence of maps");
	CHECK_ERR("a:\n  <<: [{b: 1}, 2]\n", "map merge requires map or sequence of maps");
}

/* The seed document's manifests, with their indentation restored. */
static const char deployment[] = "apiVersion: apps/v1\n"
                                 "kind: Deployment\n"
                                 "metadata:\n"
                                 "  name: scikit-inference-deployment\n"
                                 "spec:\n"
                                 "  replicas: 1\n"
                                 "  selector:\n"
                                 "    matchLabels:\n"
                                 "      app: scikit-inference\n"
                                 "  template:\n"
                                 "    metadata:\n"
                                 "      labels:\n"
                                 "        app: scikit-inference\n"
                                 "    spec:\n"
                                 "      containers:\n"
                                 "      - name: scikit-inference-container\n"
                                 "        image: your-dockerhub-username/scikit-inference:latest\n"
                                 "        ports:\n"
                                 "        - containerPort: 5000\n"
                                 "        resources:\n"
                                 "          limits:\n"
                                 "            nvidia.com/gpu: 1\n"
                                 "      affinity:\n"
                                 "        nodeAffinity:\n"
                                 "          requiredDuringSchedulingIgnoredDuringExecution:\n"
                                 "            nodeSelectorTerms:\n"
                                 "            - matchExpressions:\n"
                                 "              - key: kubernetes.io/hostname\n"
                                 "                operator: In\n"
                                 "                values:\n"
                                 "                - gpu-node-1\n"
                                 "                - gpu-node-2\n";

static const char service[] =
    "apiVersion: v1\nkind: Service\nmetadata:\n  name: scikit-inference-service\nspec:\n"
    "  selector:\n    app: scikit-inference\n  ports:\n  - protocol: TCP\n    port: 80\n"
    "    targetPort: 5000\n  type: NodePort\n";

static const char hpa[] =
    "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: scikit-hpa\n"
    "spec:\n  scaleTargetRef:\n    apiVersion: apps/v1\n    kind: Deployment\n"
    "    name: scikit-inference-deployment\n  minReplicas: 1\n  maxReplicas: 10\n  metrics:\n"
    "  - type: Resource\n    resource:\n      name: cpu\n      target:\n"
    "        type: Utilization\n        averageUtilization: 70\n";

static const char configmap[] =
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: prometheus-config\ndata:\n"
    "  prometheus.yml: |\n    global:\n      scrape_interval: 15s\n    scrape_configs:\n"
    "      - job_name: 'kubernetes-nodes'\n        kubernetes_sd_configs:\n"
    "          - role: node\n";

static const char ingress[] =
    "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: scikit-ingress\nspec:\n"
    "  rules:\n  - host: scikit.example.com\n    http:\n      paths:\n      - path: /\n"
    "        pathType: Prefix\n        backend:\n          service:\n"
    "            name: scikit-inference-service\n            port:\n              number: 80\n";

static json_t *load(const char *y)
{
	terr *e = NULL;
	json_t *j = yaml_to_json(y, strlen(y), &e);
	if (!j) {
		fprintf(stderr, "  %s\n", e->message);
		terr_free(e);
	}
	return j;
}

static json_t *at(json_t *j, const char *path)
{
	/* dotted path; [n] indexes arrays; a key with dots is written {key} */
	char key[256];
	for (const char *p = path; j && *p;) {
		if (*p == '.') {
			p++;
			continue;
		}
		if (*p == '[') {
			j = json_array_get(j, strtoul(p + 1, NULL, 10));
			p = strchr(p, ']') + 1;
			continue;
		}
		size_t n;
		if (*p == '{') {
			n = strcspn(p + 1, "}");
			memcpy(key, p + 1, n);
			p += n + 2;
		} else {
			n = strcspn(p, ".[");
			memcpy(key, p, n);
			p += n;
		}
		key[n] = 0;
		j = json_object_get(j, key);
	}
	return j;
}

TEST(seed_manifests)
{
	json_t *d = load(deployment);
	REQUIRE(d);
	CHECK_STR(json_string_value(at(d, "kind")), "Deployment");
	CHECK(json_is_integer(at(d, "spec.replicas")));
	CHECK_INT(json_integer_value(at(d, "spec.replicas")), 1);
	json_t *c0 = at(d, "spec.template.spec.containers[0]");
	CHECK_STR(json_string_value(at(c0, "image")),
	          "your-dockerhub-username/scikit-inference:latest");
	CHECK_INT(json_integer_value(at(c0, "ports[0].containerPort")), 5000);
	CHECK_INT(json_integer_value(at(c0, "resources.limits.{nvidia.com/gpu}")), 1);
	json_t *me = at(d, "spec.template.spec.affinity.nodeAffinity."
	                   "requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]."
	                   "matchExpressions[0]");
	CHECK_STR(json_string_value(at(me, "operator")), "In");
	CHECK_STR(json_string_value(at(me, "values[1]")), "gpu-node-2");
	json_decref(d);

	json_t *s = load(service);
	REQUIRE(s);
	CHECK_INT(json_integer_value(at(s, "spec.ports[0].port")), 80);
	CHECK_INT(json_integer_value(at(s, "spec.ports[0].targetPort")), 5000);
	CHECK_STR(json_string_value(at(s, "spec.type")), "NodePort");
	json_decref(s);

	json_t *h = load(hpa);
	REQUIRE(h);
	CHECK_INT(json_integer_value(at(h, "spec.maxReplicas")), 10);
	CHECK_INT(json_integer_value(at(h, "spec.metrics[0].resource.target.averageUtilization")),
	          70);
	json_decref(h);

	json_t *cm = load(configmap);
	REQUIRE(cm);
	CHECK_STR(
	    json_string_value(at(cm, "data.{prometheus.yml}")),
	    "global:\n  scrape_interval: 15s\nscrape_configs:\n  - job_name: 'kubernetes-nodes'\n"
	    "    kubernetes_sd_configs:\n      - role: node\n");
	json_decref(cm);

	json_t *in = load(ingress);
	REQUIRE(in);
	CHECK_STR(json_string_value(at(in, "spec.rules[0].http.paths[0].path")), "/");
	CHECK_INT(
	    json_integer_value(at(in, "spec.rules[0].http.paths[0].backend.service.port.number")),
	    80);
	json_decref(in);

	/* As printed in the seed (indentation lost) it is still valid YAML: a flat mapping. */
	json_t *flat = load("apiVersion: v1\nkind: Service\nmetadata:\nname: s\nspec:\nselector:\n"
	                    "app: a\nports:\n- protocol: TCP\nport: 80\ntype: NodePort\n");
	REQUIRE(flat);
	CHECK(json_is_null(at(flat, "metadata")));
	CHECK_STR(json_string_value(at(flat, "ports[0].protocol")), "TCP");
	json_decref(flat);
}

/* ---- JSON -> YAML ---- */

static void check_round_trip(int *test_failed_, json_t *j)
{
	_cleanup_free_ char *y = json_to_yaml(j);
	terr *e = NULL;
	json_t *back = yaml_to_json(y, strlen(y), &e);
	if (!back || !json_equal(back, j)) {
		_cleanup_free_ char *a = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
		_cleanup_free_ char *b =
		    back ? json_dumps(back, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
		fprintf(stderr, "  round trip: %s\n  yaml: %s  back: %s %s\n", a, y, b ? b : "",
		        e ? e->message : "");
		*test_failed_ = 1;
	}
	json_decref(back);
	terr_free(e);
}

TEST(json_to_yaml_layout)
{
	json_t *j = json_pack("{s:s, s:{s:s, s:{s:s}}, s:{s:[{s:s, s:[s,s], s:i, s:{}}], s:[]}}",
	                      "apiVersion", "v1", "metadata", "name", "p", "labels", "app", "web",
	                      "spec", "containers", "name", "c", "args", "--port", "80", "cpu", 2,
	                      "resources", "volumes");
	REQUIRE(j);
	_cleanup_free_ char *y = json_to_yaml(j);
	CHECK_STR(y, "apiVersion: v1\n"
	             "metadata:\n"
	             "  name: p\n"
	             "  labels:\n"
	             "    app: web\n"
	             "spec:\n"
	             "  containers:\n"
	             "  - name: c\n"
	             "    args:\n"
	             "    - --port\n"
	             "    - \"80\"\n"
	             "    cpu: 2\n"
	             "    resources: {}\n"
	             "  volumes: []\n");
	json_decref(j);

	j = json_pack("{s:s, s:s, s:s, s:b, s:n, s:f, s:f, s:s}", "t", "true", "ts",
	              "2024-01-01T00:00:00Z", "e", "", "b", 1, "n", "r", 1.5, "big", 1e21, "ml",
	              "a\nb\n");
	y = (free(y), json_to_yaml(j));
	CHECK_STR(y, "t: \"true\"\nts: \"2024-01-01T00:00:00Z\"\ne: \"\"\nb: true\n\"n\": null\n"
	             "r: 1.5\nbig: 1e+21\nml: |\n  a\n  b\n");
	json_decref(j);
}

TEST(json_to_yaml_round_trips)
{
	const char *strings[] = {
	    "true",
	    "yes",
	    "y",
	    "N",
	    "off",
	    "~",
	    "null",
	    "",
	    "123",
	    "0x1F",
	    "0o17",
	    "017",
	    "1e3",
	    ".5",
	    "-.inf",
	    ".nan",
	    "1_000",
	    "1:20",
	    "-1:20:30.5",
	    "2001-12-14",
	    "<<",
	    "- x",
	    "a: b",
	    "#c",
	    "c #d",
	    " lead",
	    "trail ",
	    "multi\nline\n",
	    "no-newline\nat end",
	    "\n\nleading breaks",
	    "trailing breaks\n\n\n",
	    "\r\n",
	    "tab\tin",
	    "\ttab first",
	    "caf\xc3\xa9",
	    "\xe6\x97\xa5\xe6\x9c\xac",
	    "\xf0\x9f\x98\x80",
	    "\xc2\x85nel",
	    "\xe2\x80\xa8ls",
	    "\xef\xbb\xbf"
	    "bom",
	    "*",
	    "&a",
	    "!tag",
	    "%x",
	    "@x",
	    "`x",
	    "{a}",
	    "[a]",
	    ",",
	    "?",
	    "|",
	    ">",
	    "'",
	    "\"",
	    "\\",
	    "x: ",
	    "--- x",
	    "...",
	    "a\x01"
	    "b",
	    "  indented\n  block\n",
	    "key: value\nother: x\n",
	};
	for (size_t i = 0; i < ARRAY_SIZE(strings); i++) {
		json_t *j = json_pack("{s:s, s:[s], s:{s:s}}", "v", strings[i], "l", strings[i],
		                      "o", strings[i], "k");
		REQUIRE(j);
		check_round_trip(test_failed_, j);
		json_decref(j);
	}
	json_t *nul = json_object();
	json_object_set_new(nul, "n", json_stringn("a\0b", 3));
	check_round_trip(test_failed_, nul);
	json_decref(nul);
	double reals[] = {1.5, -0.25, 1e-7, 1e21, 1.8446744073709552e19, 3.141592653589793, 1e300};
	for (size_t i = 0; i < ARRAY_SIZE(reals); i++) {
		json_t *j = json_pack("{s:f}", "r", reals[i]);
		check_round_trip(test_failed_, j);
		json_decref(j);
	}
	json_t *ints = json_pack("[I,I,i]", (json_int_t)INT64_MAX, (json_int_t)INT64_MIN, 0);
	check_round_trip(test_failed_, ints);
	json_decref(ints);
	const char *manifests[] = {deployment, service, hpa, configmap, ingress};
	for (size_t i = 0; i < ARRAY_SIZE(manifests); i++) {
		json_t *j = load(manifests[i]);
		REQUIRE(j);
		check_round_trip(test_failed_, j);
		json_decref(j);
	}
	/* Scalar roots and NULL. */
	json_t *s = json_string("plain");
	check_round_trip(test_failed_, s);
	json_decref(s);
	_cleanup_free_ char *n = json_to_yaml(NULL);
	CHECK_STR(n, "null\n");
}
