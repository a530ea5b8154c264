/* test_selector.c — label and field selectors against kube's documented behaviour
 * (apimachinery pkg/labels and pkg/fields, kube 1.32). */
#include "test.h"

#include "api/fieldsel.h"
#include "api/kind.h"
#include "api/selector.h"
#include "base/json.h"
#include "base/util.h"

/* Parses s, or returns NULL and stores the message in msg (caller frees). */
static label_selector *lparse(const char *s, char **msg)
{
	terr *e = NULL;
	label_selector *sel = label_selector_parse(s, &e);
	if (msg)
		*msg = e ? xstrdup(e->message) : NULL;
	if (e && e->code != 400)
		fprintf(stderr, "  unexpected code %d\n", e->code);
	terr_free(e);
	return sel;
}

/* The canonical string of the parse of s, or "ERR: <message>". Caller frees. */
static char *reparse(const char *s)
{
	char *msg = NULL;
	label_selector *sel = lparse(s, &msg);
	if (!sel) {
		char *r = xasprintf("ERR: %s", msg);
		free(msg);
		return r;
	}
	char *r = label_selector_string(sel);
	label_selector_free(sel);
	return r;
}

static bool lmatch(const char *sel, const char *labels_json)
{
	_cleanup_label_selector_ label_selector *s = lparse(sel, NULL);
	_cleanup_json_ json_t *l = labels_json ? json_loads(labels_json, 0, NULL) : NULL;
	if (!s) {
		fprintf(stderr, "  selector %s did not parse\n", sel);
		return false;
	}
	return label_selector_matches(s, l);
}

/* reparse into a static buffer, for prefix checks. */
static const char *reparse_static(const char *s)
{
	static char out[1024];
	char *r = reparse(s);
	snprintf(out, sizeof out, "%s", r);
	free(r);
	return out;
}

#define CHECK_REPARSE(in, want)                                                          \
	do {                                                                             \
		char *got_ = reparse(in);                                                \
		CHECK_STR(got_, want);                                                   \
		free(got_);                                                              \
	} while (0)

TEST(label_parse_good_strings_roundtrip)
{
	/* k8s: TestSelectorParse: good strings print back without their spaces */
	CHECK_REPARSE("x=a,y=b,z=c", "x=a,y=b,z=c");
	CHECK_REPARSE("", "");
	CHECK_REPARSE("x!=a,y=b", "x!=a,y=b");
	CHECK_REPARSE("x=", "x=");
	CHECK_REPARSE("x= ", "x=");
	CHECK_REPARSE("x=,z= ", "x=,z=");
	CHECK_REPARSE("x= ,z= ", "x=,z=");
	CHECK_REPARSE("!x", "!x");
	CHECK_REPARSE("x>1", "x>1");
	CHECK_REPARSE("x>1,z<5", "x>1,z<5");
}

TEST(label_parse_sorts_and_canonicalizes)
{
	/* k8s: requirements sorted by key, values sorted and deduplicated */
	CHECK_REPARSE("x=a,a=x", "a=x,x=a");
	CHECK_REPARSE("a=x,x=a", "a=x,x=a");
	CHECK_REPARSE("env in (prod, dev,prod) , tier notin (frontend)",
		      "env in (dev,prod),tier notin (frontend)");
	CHECK_REPARSE("  app  ==  web ", "app==web");
	CHECK_REPARSE("environment,!canary", "!canary,environment");
	CHECK_REPARSE("x in ()", "x in ()");
	CHECK_REPARSE("x in (,a)", "x in (,a)");
	CHECK_REPARSE("x in (a,)", "x in (,a)");
	CHECK_REPARSE("notin=in", "notin=in");
	CHECK_REPARSE("in in (in,notin)", "in in (in,notin)");
	CHECK_REPARSE("example.com/app=web,app.kubernetes.io/name=nginx",
		      "app.kubernetes.io/name=nginx,example.com/app=web");
	/* k8s: Gt/Lt values must also be valid label values, so negatives are refused */
	CHECK(str_has_prefix(reparse_static("x>-3"), "ERR: unable to parse requirement: "
						   "values[0][x]: Invalid value: \"-3\": a valid label"));
	CHECK_REPARSE("!x , y", "!x,y");
}

TEST(label_parse_errors_have_kube_messages)
{
	/* k8s: '|' is an identifier character, so "a||y" is the (invalid) value */
	CHECK_REPARSE("x=a||y=b",
		      "ERR: unable to parse requirement: values[0][x]: Invalid value: \"a||y\": a "
		      "valid label must be an empty string or consist of alphanumeric characters, "
		      "'-', '_' or '.', and must start and end with an alphanumeric character (e.g. "
		      "'MyValue',  or 'my_value',  or '12345', regex used for validation is "
		      "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')");
	CHECK_REPARSE("a|b=c",
		      "ERR: unable to parse requirement: <nil>: Invalid value: \"a|b\": "
		      "name part must consist of alphanumeric characters, '-', '_' or '.', and "
		      "must start and end with an alphanumeric character (e.g. 'MyName',  or "
		      "'my.name',  or '123-abc', regex used for validation is "
		      "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')");
	CHECK_REPARSE("x==a==b", "ERR: found '==', expected: ',' or 'end of string'");
	CHECK_REPARSE("!x=a", "ERR: found '=', expected: ',' or 'end of string'");
	CHECK_REPARSE("x<a", "ERR: unable to parse requirement: values[0]: Invalid value: \"a\": "
			     "for 'Gt', 'Lt' operators, the value must be an integer");
	CHECK_REPARSE("a b", "ERR: unable to parse requirement: found 'b', expected: in, notin, =, "
			     "==, !=, gt, lt");
	CHECK_REPARSE("a,", "ERR: found '', expected: identifier after ','");
	CHECK_REPARSE(",a", "ERR: found ',', expected: !, identifier, or 'end of string'");
	CHECK_REPARSE("a in x", "ERR: unable to parse requirement: found 'x' expected: '('");
	CHECK_REPARSE("a in (x", "ERR: unable to parse requirement: found '', expected: ',' or ')'");
	CHECK_REPARSE("a in (x y)",
		      "ERR: unable to parse requirement: found 'y', expected: ',' or ')'");
	CHECK_REPARSE("a in (=)",
		      "ERR: unable to parse requirement: found '=', expected: ',', ')' or identifier");
	CHECK_REPARSE("a=(", "ERR: unable to parse requirement: found '(', expected: identifier");
	CHECK_REPARSE("!", "ERR: unable to parse requirement: found '', expected: identifier");
	CHECK_REPARSE("a=-b",
		      "ERR: unable to parse requirement: values[0][a]: Invalid value: \"-b\": a "
		      "valid label must be an empty string or consist of alphanumeric characters, "
		      "'-', '_' or '.', and must start and end with an alphanumeric character (e.g. "
		      "'MyValue',  or 'my_value',  or '12345', regex used for validation is "
		      "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')");
	CHECK_REPARSE("/a", "ERR: unable to parse requirement: <nil>: Invalid value: \"/a\": "
			    "prefix part must be non-empty");
	CHECK_REPARSE("Example.com/a",
		      "ERR: unable to parse requirement: <nil>: Invalid value: \"Example.com/a\": "
		      "prefix part a lowercase RFC 1123 subdomain must consist of lower case "
		      "alphanumeric characters, '-' or '.', and must start and end with an "
		      "alphanumeric character (e.g. 'example.com', regex used for validation is "
		      "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')");
	CHECK_REPARSE("a/b/c", "ERR: unable to parse requirement: <nil>: Invalid value: \"a/b/c\": "
			       "a qualified name must consist of alphanumeric characters, '-', '_' "
			       "or '.', and must start and end with an alphanumeric character (e.g. "
			       "'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
			       "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS "
			       "subdomain prefix and '/' (e.g. 'example.com/MyName')");
	/* a 64-character name part */
	char key[80];
	memset(key, 'k', 64);
	key[64] = 0;
	char *got = reparse(key);
	CHECK(strstr(got, "name part must be no more than 63 characters") != NULL);
	free(got);
	memset(key, 'k', 63);
	key[63] = 0;
	got = reparse(key);
	CHECK_STR(got, key);
	free(got);
}

TEST(label_matches_like_kube)
{
	/* k8s: TestSelectorMatches */
	CHECK(lmatch("", "{\"x\":\"y\"}"));
	CHECK(lmatch("x=y", "{\"x\":\"y\"}"));
	CHECK(lmatch("x=y,z=w", "{\"x\":\"y\",\"z\":\"w\"}"));
	CHECK(lmatch("x!=y,z!=w", "{\"x\":\"z\",\"z\":\"a\"}"));
	CHECK(lmatch("notin=in", "{\"notin\":\"in\"}"));
	CHECK(lmatch("x", "{\"x\":\"z\"}"));
	CHECK(lmatch("!x", "{\"y\":\"z\"}"));
	CHECK(lmatch("x>1", "{\"x\":\"2\"}"));
	CHECK(lmatch("x<1", "{\"x\":\"0\"}"));
	CHECK(!lmatch("x=z", "{}"));
	CHECK(!lmatch("x=y", "{\"x\":\"z\"}"));
	CHECK(!lmatch("x=y,z=w", "{\"x\":\"w\",\"z\":\"w\"}"));
	CHECK(!lmatch("x!=y,z!=w", "{\"x\":\"z\",\"z\":\"w\"}"));
	CHECK(!lmatch("x", "{\"y\":\"z\"}"));
	CHECK(!lmatch("!x", "{\"x\":\"z\"}"));
	CHECK(!lmatch("x>1", "{\"x\":\"0\"}"));
	CHECK(!lmatch("x<1", "{\"x\":\"2\"}"));
	/* k8s: != and notin match objects without the label; Gt needs an integer label */
	CHECK(lmatch("x!=y", NULL));
	CHECK(lmatch("x notin (a,b)", "{}"));
	CHECK(!lmatch("x in (a,b)", NULL));
	CHECK(lmatch("x in (a,b)", "{\"x\":\"b\"}"));
	CHECK(!lmatch("x>1", "{\"x\":\"abc\"}"));
	CHECK(!lmatch("x>1", "{\"x\":\"\"}"));
	CHECK(lmatch("x=", "{\"x\":\"\"}"));
	CHECK(lmatch("x", "{\"x\":\"\"}"));
	CHECK(lmatch("x in ()", "{\"x\":\"\"}"));
	CHECK(lmatch("x<10", "{\"x\":\"-2\"}"));
	CHECK(lmatch("x>10", "{\"x\":\"+11\"}"));
}

TEST(label_from_json)
{
	terr *e = NULL;
	_cleanup_json_ json_t *j = json_loads(
	    "{\"matchLabels\":{\"tier\":\"web\",\"app\":\"nginx\"},"
	    "\"matchExpressions\":[{\"key\":\"env\",\"operator\":\"In\",\"values\":[\"prod\",\"dev\"]},"
	    "{\"key\":\"canary\",\"operator\":\"DoesNotExist\"},"
	    "{\"key\":\"zone\",\"operator\":\"Exists\"}]}",
	    0, NULL);
	_cleanup_label_selector_ label_selector *s = label_selector_from_json(j, &e);
	REQUIRE(s && !e);
	CHECK(!label_selector_empty(s));
	_cleanup_free_ char *str = label_selector_string(s);
	CHECK_STR(str, "app=nginx,!canary,env in (dev,prod),tier=web,zone");
	_cleanup_json_ json_t *l1 =
	    json_loads("{\"app\":\"nginx\",\"tier\":\"web\",\"env\":\"dev\",\"zone\":\"a\"}", 0, NULL);
	_cleanup_json_ json_t *l2 = json_loads(
	    "{\"app\":\"nginx\",\"tier\":\"web\",\"env\":\"dev\",\"zone\":\"a\",\"canary\":\"1\"}", 0,
	    NULL);
	CHECK(label_selector_matches(s, l1));
	CHECK(!label_selector_matches(s, l2));
	CHECK_STR(label_selector_exact_value(s, "app"), "nginx");
	CHECK(label_selector_exact_value(s, "env") == NULL);
	CHECK(label_selector_exact_value(s, "nope") == NULL);

	_cleanup_json_ json_t *empty = json_object();
	_cleanup_label_selector_ label_selector *all = label_selector_from_json(empty, &e);
	REQUIRE(all);
	CHECK(label_selector_empty(all));
	CHECK(label_selector_matches(all, l2));
}

TEST(label_from_json_errors)
{
	terr *e = NULL;
	_cleanup_json_ json_t *bad_op = json_loads(
	    "{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Equals\",\"values\":[\"x\"]}]}", 0, NULL);
	CHECK(label_selector_from_json(bad_op, &e) == NULL);
	REQUIRE(e);
	CHECK_STR(e->message, "\"Equals\" is not a valid label selector operator");
	CHECK_INT(e->code, 400);
	terr_free(e);
	e = NULL;

	_cleanup_json_ json_t *empty_in =
	    json_loads("{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\",\"values\":[]}]}", 0, NULL);
	CHECK(label_selector_from_json(empty_in, &e) == NULL);
	REQUIRE(e);
	CHECK_STR(e->message, "values: Invalid value: []string(nil): for 'in', 'notin' operators, "
			      "values set can't be empty");
	terr_free(e);
	e = NULL;

	_cleanup_json_ json_t *exists_vals = json_loads(
	    "{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Exists\",\"values\":[\"x\",\"y\"]}]}",
	    0, NULL);
	CHECK(label_selector_from_json(exists_vals, &e) == NULL);
	REQUIRE(e);
	CHECK_STR(e->message, "values: Invalid value: []string{\"x\", \"y\"}: values set must be "
			      "empty for exists and does not exist");
	terr_free(e);
	e = NULL;

	_cleanup_json_ json_t *bad_key = json_loads("{\"matchLabels\":{\"a b\":\"x\"}}", 0, NULL);
	CHECK(label_selector_from_json(bad_key, &e) == NULL);
	REQUIRE(e);
	CHECK(str_has_prefix(e->message, "key: Invalid value: \"a b\": name part must consist"));
	terr_free(e);
}

TEST(label_add_builds_node_affinity_style_requirements)
{
	terr *e = NULL;
	_cleanup_label_selector_ label_selector *s = label_selector_new();
	const char *gpu[] = {"a100", "h100"};
	const char *mem[] = {"64"};
	CHECK_INT(label_selector_add(s, "gpu", LABEL_OP_IN, gpu, 2, &e), 0);
	CHECK_INT(label_selector_add(s, "mem", LABEL_OP_GT, mem, 1, &e), 0);
	const char *bad[] = {"lots"};
	CHECK_INT(label_selector_add(s, "mem", LABEL_OP_LT, bad, 1, &e), -1);
	REQUIRE(e);
	CHECK_STR(e->message, "values[0]: Invalid value: \"lots\": for 'Gt', 'Lt' operators, the "
			      "value must be an integer");
	terr_free(e);
	_cleanup_json_ json_t *node = json_loads("{\"gpu\":\"h100\",\"mem\":\"128\"}", 0, NULL);
	CHECK(label_selector_matches(s, node));
	_cleanup_free_ char *str = label_selector_string(s);
	CHECK_STR(str, "gpu in (a100,h100),mem>64");
}

TEST(labels_map_and_format)
{
	_cleanup_json_ json_t *sel = json_loads("{\"app\":\"web\"}", 0, NULL);
	_cleanup_json_ json_t *l = json_loads("{\"app\":\"web\",\"pod-template-hash\":\"abc\"}", 0, NULL);
	_cleanup_json_ json_t *other = json_loads("{\"app\":\"db\"}", 0, NULL);
	CHECK(labels_match_map(sel, l));
	CHECK(!labels_match_map(sel, other));
	CHECK(!labels_match_map(sel, NULL));
	CHECK(labels_match_map(NULL, l));
	_cleanup_free_ char *f = labels_format(l);
	CHECK_STR(f, "app=web,pod-template-hash=abc");
	_cleanup_free_ char *none = labels_format(NULL);
	CHECK_STR(none, "<none>");
}

/* ---- field selectors ---- */

/* Canonical string of the field selector s, or "ERR: <message>". Caller frees. */
static char *fparse(const char *s)
{
	terr *e = NULL;
	field_selector *f = field_selector_parse(s, &e);
	if (!f) {
		char *r = xasprintf("ERR: %s", e ? e->message : "(no error)");
		if (e && e->code != 400)
			fprintf(stderr, "  unexpected code %d\n", e->code);
		terr_free(e);
		return r;
	}
	char *r = field_selector_string(f);
	field_selector_free(f);
	return r;
}

#define CHECK_FPARSE(in, want)                                                           \
	do {                                                                             \
		char *got_ = fparse(in);                                                 \
		CHECK_STR(got_, want);                                                   \
		free(got_);                                                              \
	} while (0)

TEST(field_parse_like_kube)
{
	/* k8s: fields TestSelectorParse: good strings print back unchanged */
	CHECK_FPARSE("x=a,y=b,z=c", "x=a,y=b,z=c");
	CHECK_FPARSE("", "");
	CHECK_FPARSE("x!=a,y=b", "x!=a,y=b");
	CHECK_FPARSE("x=a||y\\=b", "x=a||y\\=b");
	CHECK_FPARSE("x=a\\=\\=b", "x=a\\=\\=b");
	/* terms are sorted as strings; "==" prints as "=" */
	CHECK_FPARSE("status.phase==Running,metadata.name=web",
		     "metadata.name=web,status.phase=Running");
	CHECK_FPARSE("a=x\\,y", "a=x\\,y");
	CHECK_FPARSE("a=,,b=1", "a=,b=1");
	CHECK_FPARSE("x=a||y=b", "ERR: invalid field selector: unescaped character in value: 61");
	CHECK_FPARSE("x==a==b", "ERR: invalid field selector: unescaped character in value: 61");
	CHECK_FPARSE("x=a,b", "ERR: invalid selector: 'x=a,b'; can't understand 'b'");
	CHECK_FPARSE("x in (a)", "ERR: invalid selector: 'x in (a)'; can't understand 'x in (a)'");
	CHECK_FPARSE("x", "ERR: invalid selector: 'x'; can't understand 'x'");
	CHECK_FPARSE("k=\\a", "ERR: invalid field selector: invalid escape sequence: \\a");
	CHECK_FPARSE("k=a\\", "ERR: invalid field selector: invalid escape sequence: \\");
	CHECK_FPARSE("k=\\!", "ERR: invalid field selector: invalid escape sequence: \\!");
}

static bool fmatch(const char *sel, const char *obj_json)
{
	terr *e = NULL;
	_cleanup_field_selector_ field_selector *f = field_selector_parse(sel, &e);
	_cleanup_json_ json_t *o = json_loads(obj_json, 0, NULL);
	if (!f || !o) {
		fprintf(stderr, "  bad test input %s / %s\n", sel, obj_json);
		terr_free(e);
		return false;
	}
	return field_selector_matches(f, o);
}

TEST(field_matches_objects)
{
	const char *pod = "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"web-1\",\"namespace\":\"default\"},"
			  "\"spec\":{\"nodeName\":\"node-a\",\"restartPolicy\":\"Always\"},"
			  "\"status\":{\"phase\":\"Running\",\"podIP\":\"10.0.0.9\","
			  "\"podIPs\":[{\"ip\":\"10.0.0.9\"},{\"ip\":\"fd00::9\"}]}}";
	CHECK(fmatch("", pod));
	CHECK(fmatch("metadata.name=web-1", pod));
	CHECK(fmatch("spec.nodeName=node-a,status.phase=Running", pod));
	CHECK(fmatch("spec.host=node-a", pod));
	CHECK(!fmatch("spec.nodeName=node-b", pod));
	CHECK(fmatch("status.phase!=Succeeded,status.phase!=Failed", pod));
	CHECK(!fmatch("status.phase!=Running", pod));
	CHECK(fmatch("status.podIP=10.0.0.9", pod));
	/* k8s: hostNetwork is always in the pod field set, false by default */
	CHECK(fmatch("spec.hostNetwork=false", pod));
	CHECK(!fmatch("spec.hostNetwork=true", pod));
	/* k8s: a missing field compares as "" */
	CHECK(fmatch("spec.schedulerName=", pod));
	CHECK(fmatch("status.nominatedNodeName!=x", pod));
	/* k8s: status.podIPs is selectable but never in the field set */
	CHECK(fmatch("status.podIPs=", pod));

	const char *node = "{\"kind\":\"Node\",\"metadata\":{\"name\":\"n1\"},\"spec\":{\"unschedulable\":true}}";
	CHECK(fmatch("spec.unschedulable=true", node));
	CHECK(fmatch("spec.unschedulable=false", "{\"metadata\":{\"name\":\"n2\"},\"spec\":{}}"));
	CHECK(fmatch("metadata.namespace=", node));

	const char *ev = "{\"kind\":\"Event\",\"metadata\":{\"name\":\"e\",\"namespace\":\"default\"},"
			 "\"involvedObject\":{\"kind\":\"Pod\",\"name\":\"web-1\"},\"reason\":\"Scheduled\","
			 "\"type\":\"Normal\",\"source\":{\"component\":\"default-scheduler\"}}";
	CHECK(fmatch("involvedObject.kind=Pod,involvedObject.name=web-1", ev));
	CHECK(fmatch("type=Normal,reason=Scheduled", ev));
	CHECK(fmatch("source=default-scheduler", ev));
	CHECK(fmatch("type!=Normal", ev) == false);
	/* k8s: source falls back to the reporting controller */
	CHECK(fmatch("source=kubelet", "{\"source\":{},\"reportingComponent\":\"kubelet\"}"));
	/* events.k8s.io/v1 names */
	const char *ev2 = "{\"regarding\":{\"kind\":\"Pod\",\"name\":\"p\"},\"reportingController\":\"c\"}";
	CHECK(fmatch("regarding.name=p,reportingController=c", ev2));
	CHECK(fmatch("involvedObject.name=p,source=c", ev2));

	CHECK(fmatch("status.replicas=0", "{\"status\":{}}"));
	CHECK(fmatch("status.replicas=3", "{\"status\":{\"replicas\":3}}"));
	CHECK(fmatch("status.successful=2", "{\"status\":{\"succeeded\":2}}"));
	CHECK(fmatch("type=kubernetes.io/tls", "{\"type\":\"kubernetes.io/tls\"}"));
	CHECK(fmatch("spec.color=blue", "{\"spec\":{\"color\":\"blue\"}}"));
	CHECK(fmatch("spec.size=3", "{\"spec\":{\"size\":3}}"));
	CHECK(fmatch("spec.value=a\\,b", "{\"spec\":{\"value\":\"a,b\"}}"));
}

static char *fcheck(const char *sel, const char *group, const char *kind, const char *sf_json)
{
	terr *e = NULL;
	_cleanup_field_selector_ field_selector *f = field_selector_parse(sel, &e);
	_cleanup_json_ json_t *sf = sf_json ? json_loads(sf_json, 0, NULL) : NULL;
	if (!f) {
		terr_free(e);
		return xstrdup("PARSE");
	}
	if (field_selector_check_supported(f, group, kind, sf, &e) == 0)
		return xstrdup("ok");
	char *r = xasprintf("%d %s %s", e->code, e->reason, e->message);
	terr_free(e);
	return r;
}

#define CHECK_FCHECK(sel, g, k, sf, want)                                                \
	do {                                                                             \
		char *got_ = fcheck(sel, g, k, sf);                                      \
		CHECK_STR(got_, want);                                                   \
		free(got_);                                                              \
	} while (0)

TEST(field_supported_per_kind)
{
	CHECK_FCHECK("spec.nodeName=n1,status.phase=Running", "", "Pod", NULL, "ok");
	CHECK_FCHECK("spec.host=n1", "", "Pod", NULL, "ok");
	CHECK_FCHECK("spec.containers=x", "", "Pod", NULL,
		     "400 BadRequest field label not supported: spec.containers");
	CHECK_FCHECK("spec.unschedulable=false,metadata.name=n", "", "Node", NULL, "ok");
	CHECK_FCHECK("metadata.namespace=x", "", "Node", NULL,
		     "400 BadRequest field label not supported: metadata.namespace");
	CHECK_FCHECK("status.phase=Active", "", "Namespace", NULL, "ok");
	CHECK_FCHECK("type=Opaque", "", "Secret", NULL, "ok");
	CHECK_FCHECK("involvedObject.uid=1,reason=x,source=y,type=Warning", "", "Event", NULL, "ok");
	CHECK_FCHECK("regarding.name=p,reportingController=c", "events.k8s.io", "Event", NULL, "ok");
	CHECK_FCHECK("involvedObject.name=p", "events.k8s.io", "Event", NULL,
		     "400 BadRequest field label not supported: involvedObject.name");
	CHECK_FCHECK("status.successful=1", "batch", "Job", NULL, "ok");
	CHECK_FCHECK("status.active=1", "batch", "Job", NULL,
		     "400 BadRequest field label \"status.active\" not supported for \"Job\"");
	CHECK_FCHECK("metadata.name=x,metadata.namespace=y", "", "ConfigMap", NULL, "ok");
	CHECK_FCHECK("data.foo=x", "", "ConfigMap", NULL,
		     "400 BadRequest \"data.foo\" is not a known field selector: only "
		     "\"metadata.name\", \"metadata.namespace\"");
	CHECK_FCHECK("spec.replicas=1", "apps", "Deployment", NULL,
		     "400 BadRequest \"spec.replicas\" is not a known field selector: only "
		     "\"metadata.name\", \"metadata.namespace\"");
	/* custom resources: metadata fields plus the CRD's selectableFields */
	const char *sf = "[{\"jsonPath\":\".spec.color\"},{\"jsonPath\":\".spec.size\"}]";
	CHECK_FCHECK("spec.color=blue,metadata.name=x", "example.com", "Widget", sf, "ok");
	CHECK_FCHECK("spec.shape=round", "example.com", "Widget", sf,
		     "400 BadRequest field label not supported: spec.shape");
	CHECK_FCHECK("", "", "Pod", NULL, "ok");
}

TEST(field_single_value)
{
	terr *e = NULL;
	_cleanup_field_selector_ field_selector *f =
	    field_selector_parse("status.phase!=Failed,spec.nodeName=node-a", &e);
	REQUIRE(f);
	CHECK_STR(field_selector_single_value(f, "spec.nodeName"), "node-a");
	CHECK(field_selector_single_value(f, "status.phase") == NULL);
	CHECK(field_selector_single_value(f, "metadata.name") == NULL);
	_cleanup_field_selector_ field_selector *g = field_selector_parse("spec.host=n9", &e);
	REQUIRE(g);
	CHECK_STR(field_selector_single_value(g, "spec.nodeName"), "n9");
	_cleanup_field_selector_ field_selector *h = field_selector_parse("", &e);
	REQUIRE(h);
	CHECK(field_selector_empty(h));
	CHECK(field_selector_single_value(h, "spec.nodeName") == NULL);
}

TEST(field_supported_cluster_scoped_custom_kind)
{
	/* k8s: a cluster-scoped custom resource cannot select on metadata.namespace */
	kind_desc d = {.group = "example.com", .version = "v1", .kind = "Fleet",
		       .resource = "fleets", .singular = "fleet", .namespaced = false};
	kind_register_custom(&d);
	CHECK_FCHECK("metadata.name=a", "example.com", "Fleet", NULL, "ok");
	CHECK_FCHECK("metadata.namespace=a", "example.com", "Fleet", NULL,
		     "400 BadRequest field label not supported: metadata.namespace");
	CHECK_FCHECK("spec.region=eu", "example.com", "Fleet", "[{\"jsonPath\":\".spec.region\"}]",
		     "ok");
	kind_unregister_custom("example.com", "fleets");
}
