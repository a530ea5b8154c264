/* test_validate.c — validation of built-in kinds: for each rule a passing and a failing
 * object, with the field path, cause type and message kube 1.32 reports, and the Status
 * message kubectl prints ("Deployment.apps \"web\" is invalid: ..."). */
#include "test.h"

#include <jansson.h>

#include "api/defaults.h"
#include "api/kind.h"
#include "api/validate.h"
#include "base/error.h"
#include "base/json.h"
#include "base/util.h"

static json_t *load(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);
	if (!j)
		fprintf(stderr, "bad test JSON: %s at %d\n", e.text, e.position);
	return j;
}

static const kind_desc *K(const char *group, const char *version, const char *kind)
{
	kind_registry_init();
	return kind_by_gvk(group, version, kind);
}

/* Defaults then validates text as kind (create, or update when old_text is given). */
static terr *check(const kind_desc *d, const char *text, const char *old_text)
{
	json_t *obj = load(text), *old = old_text ? load(old_text) : NULL;
	defaults_apply(d, obj);
	if (old)
		defaults_apply(d, old);
	terr *err = NULL;
	validate_object(d, obj, old, &err);
	json_decref(obj);
	json_decref(old);
	return err;
}

/* The cause at field, or NULL. */
static terr_cause *cause(terr *e, const char *field)
{
	for (size_t i = 0; e && i < e->ncauses; i++)
		if (strcmp(e->causes[i].field, field) == 0)
			return &e->causes[i];
	return NULL;
}

#define CHECK_CAUSE(e, fld, type, msg)                                                       \
	do {                                                                                 \
		terr_cause *c_ = cause(e, fld);                                              \
		if (!c_) {                                                                   \
			fprintf(stderr, "  %s:%d: no cause at %s\n", __FILE__, __LINE__, fld); \
			for (size_t i_ = 0; e && i_ < e->ncauses; i_++)                       \
				fprintf(stderr, "    have %s: %s\n", e->causes[i_].field,        \
				        e->causes[i_].message);                                 \
			*test_failed_ = 1;                                                   \
		} else {                                                                     \
			CHECK_STR(c_->reason, type);                                         \
			CHECK_STR(c_->message, msg);                                         \
		}                                                                            \
	} while (0)

#define CHECK_VALID(e)                                                                       \
	do {                                                                                 \
		if (e) {                                                                     \
			fprintf(stderr, "  %s:%d: unexpected error: %s\n", __FILE__, __LINE__, \
			        e->message);                                                 \
			*test_failed_ = 1;                                                   \
		}                                                                            \
	} while (0)

#define SUBDOMAIN_MSG                                                                         \
	"a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' " \
	"or '.', and must start and end with an alphanumeric character (e.g. 'example.com', "     \
	"regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*"      \
	"[a-z0-9])?)*')"
#define LABEL_MSG                                                                            \
	"a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', " \
	"and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', " \
	"regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
#define DNS1035_MSG                                                                          \
	"a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with " \
	"an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "   \
	"'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
#define QNAME_MSG                                                                            \
	"name part must consist of alphanumeric characters, '-', '_' or '.', and must start and " \
	"end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex " \
	"used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"

/* ---- name helpers ------------------------------------------------------------------- */

TEST(dns1123_label)
{
	CHECK(valid_dns1123_label("web-1"));
	CHECK(valid_dns1123_label("0abc"));
	CHECK(!valid_dns1123_label(""));
	CHECK(!valid_dns1123_label("Web"));
	CHECK(!valid_dns1123_label("-web"));
	CHECK(!valid_dns1123_label("web-"));
	CHECK(!valid_dns1123_label("a.b"));
	CHECK(valid_dns1123_label("a23456789012345678901234567890123456789012345678901234567890123"));
	CHECK(!valid_dns1123_label("a234567890123456789012345678901234567890123456789012345678901234"));
	CHECK(!valid_dns1123_label(NULL));
}

TEST(dns1123_subdomain_and_1035)
{
	CHECK(valid_dns1123_subdomain("example.com"));
	CHECK(valid_dns1123_subdomain("a"));
	CHECK(!valid_dns1123_subdomain("a..b"));
	CHECK(!valid_dns1123_subdomain(".a"));
	CHECK(!valid_dns1123_subdomain("a_b"));
	char long_name[300];
	memset(long_name, 'a', 254);
	long_name[254] = 0;
	CHECK(!valid_dns1123_subdomain(long_name));
	long_name[253] = 0;
	CHECK(valid_dns1123_subdomain(long_name));
	CHECK(valid_dns1035_label("web"));
	CHECK(!valid_dns1035_label("1web"));
}

TEST(qualified_names_and_label_values)
{
	CHECK(valid_qualified_name("app"));
	CHECK(valid_qualified_name("app.kubernetes.io/name"));
	CHECK(valid_qualified_name("My_Name.1"));
	CHECK(!valid_qualified_name("/name"));
	CHECK(!valid_qualified_name("a/b/c"));
	CHECK(!valid_qualified_name("Example.com/x")); /* prefix must be lowercase */
	CHECK(!valid_qualified_name("-x"));
	CHECK(valid_label_value(""));
	CHECK(valid_label_value("v1.2_3-a"));
	CHECK(!valid_label_value("a b"));
	CHECK(!valid_label_value("-a"));
	CHECK(valid_config_map_key("app.properties"));
	CHECK(!valid_config_map_key(".."));
	CHECK(!valid_config_map_key("a/b"));
	CHECK(valid_port_name("http"));
	CHECK(!valid_port_name("80"));
	CHECK(!valid_port_name("a--b"));
	CHECK(!valid_port_name("abcdefghijklmnop"));
	CHECK(valid_path_segment_name("system:admin"));
	CHECK(!valid_path_segment_name(".."));
	CHECK(!valid_path_segment_name("a%b"));
}

TEST(validate_name_messages)
{
	terr *e = NULL;
	CHECK_INT(validate_name(K("", "v1", "ConfigMap"), "My_Config", &e), -1);
	REQUIRE(e);
	CHECK_INT(e->code, 422);
	CHECK_STR(e->reason, "Invalid");
	CHECK_CAUSE(e, "metadata.name", "FieldValueInvalid",
	            "Invalid value: \"My_Config\": " SUBDOMAIN_MSG);
	CHECK_STR(e->message, "ConfigMap \"My_Config\" is invalid: metadata.name: Invalid value: "
	                      "\"My_Config\": " SUBDOMAIN_MSG);
	terr_free(e);
	e = NULL;
	CHECK_INT(validate_name(K("", "v1", "Namespace"), "team.a", &e), -1);
	CHECK_CAUSE(e, "metadata.name", "FieldValueInvalid",
	            "Invalid value: \"team.a\": must not contain dots");
	terr_free(e);
	e = NULL;
	CHECK_INT(validate_name(K("", "v1", "Service"), "1web", &e), -1);
	CHECK_CAUSE(e, "metadata.name", "FieldValueInvalid", "Invalid value: \"1web\": " DNS1035_MSG);
	terr_free(e);
	e = NULL;
	CHECK_INT(validate_name(K("rbac.authorization.k8s.io", "v1", "ClusterRole"), "a/b", &e), -1);
	CHECK_CAUSE(e, "metadata.name", "FieldValueInvalid",
	            "Invalid value: \"a/b\": may not contain '/'");
	CHECK_STR(e->message, "ClusterRole.rbac.authorization.k8s.io \"a/b\" is invalid: "
	                      "metadata.name: Invalid value: \"a/b\": may not contain '/'");
	terr_free(e);
	e = NULL;
	CHECK_INT(validate_name(K("rbac.authorization.k8s.io", "v1", "ClusterRole"),
	                        "system:controller:x", &e), 0);
	CHECK_INT(validate_name(K("apps", "v1", "Deployment"), "", &e), -1);
	CHECK_CAUSE(e, "metadata.name", "FieldValueRequired",
	            "Required value: name or generateName is required");
	terr_free(e);
}

/* ---- metadata ----------------------------------------------------------------------- */

#define CM(meta) "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":" meta "}"

TEST(metadata_name_namespace_generate_name)
{
	const kind_desc *d = K("", "v1", "ConfigMap");
	terr *e = check(d, CM("{\"name\":\"ok\",\"namespace\":\"default\"}"), NULL);
	CHECK_VALID(e);
	e = check(d, CM("{\"namespace\":\"default\"}"), NULL);
	CHECK_CAUSE(e, "metadata.name", "FieldValueRequired",
	            "Required value: name or generateName is required");
	terr_free(e);
	e = check(d, CM("{\"name\":\"x\"}"), NULL);
	CHECK_CAUSE(e, "metadata.namespace", "FieldValueRequired", "Required value");
	terr_free(e);
	e = check(K("", "v1", "Namespace"), "{\"metadata\":{\"name\":\"n\",\"namespace\":\"x\"}}",
	          NULL);
	CHECK_CAUSE(e, "metadata.namespace", "FieldValueForbidden",
	            "Forbidden: not allowed on this type");
	terr_free(e);
	/* a generateName prefix may end with '-' */
	e = check(d, CM("{\"name\":\"web-x1\",\"generateName\":\"web-\",\"namespace\":\"d\"}"),
	          NULL);
	CHECK_VALID(e);
	e = check(d, CM("{\"name\":\"web-x1\",\"generateName\":\"Web-\",\"namespace\":\"d\"}"),
	          NULL);
	CHECK_CAUSE(e, "metadata.generateName", "FieldValueInvalid",
	            "Invalid value: \"Web-\": " SUBDOMAIN_MSG);
	terr_free(e);
}

TEST(metadata_labels_and_annotations)
{
	const kind_desc *d = K("", "v1", "ConfigMap");
	terr *e = check(d, CM("{\"name\":\"c\",\"namespace\":\"d\",\"labels\":{\"app.kubernetes."
	                      "io/name\":\"web\",\"tier\":\"\"}}"),
	                NULL);
	CHECK_VALID(e);
	e = check(d, CM("{\"name\":\"c\",\"namespace\":\"d\",\"labels\":{\"-bad\":\"ok\"}}"), NULL);
	CHECK_CAUSE(e, "metadata.labels", "FieldValueInvalid", "Invalid value: \"-bad\": " QNAME_MSG);
	terr_free(e);
	e = check(d, CM("{\"name\":\"c\",\"namespace\":\"d\",\"labels\":{\"k\":\"a234567890123456"
	                "7890123456789012345678901234567890123456789012345\"}}"),
	          NULL);
	REQUIRE(e);
	CHECK_STR(e->causes[0].message, "Invalid value: \"a2345678901234567890123456789012345678"
	                                "901234567890123456789012345\": must be no more than 63 "
	                                "characters");
	terr_free(e);
	/* annotations: 256 KiB in total */
	char *big = xmalloc(262200);
	memset(big, 'x', 262150);
	big[262150] = 0;
	char *text = xasprintf(CM("{\"name\":\"c\",\"namespace\":\"d\",\"annotations\":{\"a\":"
	                          "\"%s\"}}"),
	                       big);
	e = check(d, text, NULL);
	CHECK_CAUSE(e, "metadata.annotations", "FieldValueTooLong",
	            "Too long: may not be more than 262144 bytes");
	terr_free(e);
	free(text);
	big[262100] = 0;
	text = xasprintf(CM("{\"name\":\"c\",\"namespace\":\"d\",\"annotations\":{\"a\":\"%s\"}}"),
	                 big);
	e = check(d, text, NULL);
	CHECK_VALID(e);
	free(text);
	free(big);
}

TEST(metadata_finalizers)
{
	const kind_desc *d = K("", "v1", "ConfigMap");
	terr *e = check(d, CM("{\"name\":\"c\",\"namespace\":\"d\",\"finalizers\":[\"kubernetes\","
	                      "\"example.com/cleanup\"]}"),
	                NULL);
	CHECK_VALID(e);
	e = check(d, CM("{\"name\":\"c\",\"namespace\":\"d\",\"finalizers\":[\"cleanup\"]}"), NULL);
	CHECK_CAUSE(e, "metadata.finalizers[0]", "FieldValueInvalid",
	            "Invalid value: \"cleanup\": name is neither a standard finalizer name nor is it "
	            "fully qualified");
	terr_free(e);
	e = check(d, CM("{\"name\":\"c\",\"namespace\":\"d\",\"finalizers\":[\"orphan\","
	                "\"foregroundDeletion\"]}"),
	          NULL);
	REQUIRE(e);
	CHECK_STR(e->causes[0].field, "metadata.finalizers");
	CHECK(str_has_suffix(e->causes[0].message,
	                     ": finalizer orphan and foregroundDeletion cannot be both set"));
	terr_free(e);
}

TEST(metadata_immutable_on_update)
{
	const kind_desc *d = K("", "v1", "ConfigMap");
	terr *e = check(d, CM("{\"name\":\"c2\",\"namespace\":\"d\",\"uid\":\"u1\"}"),
	                CM("{\"name\":\"c\",\"namespace\":\"d\",\"uid\":\"u1\"}"));
	CHECK_CAUSE(e, "metadata.name", "FieldValueInvalid",
	            "Invalid value: \"c2\": field is immutable");
	CHECK_STR(e->message, "ConfigMap \"c2\" is invalid: metadata.name: Invalid value: \"c2\": "
	                      "field is immutable");
	terr_free(e);
	e = check(d, CM("{\"name\":\"c\",\"namespace\":\"d\",\"uid\":\"u2\"}"),
	          CM("{\"name\":\"c\",\"namespace\":\"d\",\"uid\":\"u1\"}"));
	CHECK_CAUSE(e, "metadata.uid", "FieldValueInvalid", "Invalid value: \"u2\": field is "
	                                                    "immutable");
	terr_free(e);
	/* an update without uid keeps the stored one */
	e = check(d, CM("{\"name\":\"c\",\"namespace\":\"d\"}"),
	          CM("{\"name\":\"c\",\"namespace\":\"d\",\"uid\":\"u1\"}"));
	CHECK_VALID(e);
}

/* ---- Deployment --------------------------------------------------------------------- */

#define DEPLOY(spec)                                                                          \
	"{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\"," \
	"\"namespace\":\"default\"},\"spec\":" spec "}"
#define DSPEC(sel, labels, container)                                                         \
	"{\"selector\":{\"matchLabels\":" sel "},\"template\":{\"metadata\":{\"labels\":" labels \
	"},\"spec\":{\"containers\":[" container "]}}}"
#define NGINX "{\"name\":\"nginx\",\"image\":\"nginx:1.25\"}"

TEST(deployment_valid)
{
	terr *e = check(K("apps", "v1", "Deployment"),
	                DEPLOY(DSPEC("{\"app\":\"web\"}", "{\"app\":\"web\"}", NGINX)), NULL);
	CHECK_VALID(e);
}

TEST(deployment_image_required_message)
{
	terr *e = check(K("apps", "v1", "Deployment"),
	                DEPLOY(DSPEC("{\"app\":\"web\"}", "{\"app\":\"web\"}", "{\"name\":\"nginx\"}")),
	                NULL);
	REQUIRE(e);
	CHECK_INT(e->code, 422);
	CHECK_INT(e->ncauses, 1);
	CHECK_CAUSE(e, "spec.template.spec.containers[0].image", "FieldValueRequired",
	            "Required value");
	CHECK_STR(e->message, "Deployment.apps \"web\" is invalid: "
	                      "spec.template.spec.containers[0].image: Required value");
	terr_free(e);
}

TEST(deployment_several_causes_aggregate)
{
	terr *e = check(K("apps", "v1", "Deployment"),
	                DEPLOY("{\"replicas\":-1,\"selector\":{\"matchLabels\":{\"app\":\"web\"}},"
	                       "\"template\":{\"metadata\":{\"labels\":{\"app\":\"other\"}},"
	                       "\"spec\":{\"containers\":[" NGINX "]}}}"),
	                NULL);
	REQUIRE(e);
	CHECK_CAUSE(e, "spec.replicas", "FieldValueInvalid",
	            "Invalid value: -1: must be greater than or equal to 0");
	CHECK_CAUSE(e, "spec.template.metadata.labels", "FieldValueInvalid",
	            "Invalid value: map[string]string{\"app\":\"other\"}: `selector` does not "
	            "match template `labels`");
	CHECK_STR(e->message,
	          "Deployment.apps \"web\" is invalid: [spec.replicas: Invalid value: -1: must be "
	          "greater than or equal to 0, spec.template.metadata.labels: Invalid value: "
	          "map[string]string{\"app\":\"other\"}: `selector` does not match template "
	          "`labels`]");
	terr_free(e);
}

TEST(deployment_selector_rules)
{
	const kind_desc *d = K("apps", "v1", "Deployment");
	terr *e = check(d, DEPLOY("{\"template\":{\"spec\":{\"containers\":[" NGINX "]}}}"), NULL);
	CHECK_CAUSE(e, "spec.selector", "FieldValueRequired", "Required value");
	terr_free(e);
	e = check(d, DEPLOY(DSPEC("{}", "{\"app\":\"web\"}", NGINX)), NULL);
	CHECK_CAUSE(e, "spec.selector", "FieldValueInvalid",
	            "Invalid value: v1.LabelSelector{MatchLabels:map[string]string{}, "
	            "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is "
	            "invalid for deployment");
	terr_free(e);
	/* matchExpressions are honoured when matching template labels */
	e = check(d, DEPLOY("{\"selector\":{\"matchExpressions\":[{\"key\":\"app\",\"operator\":"
	                    "\"In\",\"values\":[\"web\",\"api\"]}]},\"template\":{\"metadata\":{"
	                    "\"labels\":{\"app\":\"api\"}},\"spec\":{\"containers\":[" NGINX "]}}}"),
	          NULL);
	CHECK_VALID(e);
	e = check(d, DEPLOY("{\"selector\":{\"matchExpressions\":[{\"key\":\"app\",\"operator\":"
	                    "\"In\"}]},\"template\":{\"metadata\":{\"labels\":{\"app\":\"api\"}},"
	                    "\"spec\":{\"containers\":[" NGINX "]}}}"),
	          NULL);
	CHECK_CAUSE(e, "spec.selector.matchExpressions[0].values", "FieldValueRequired",
	            "Required value: must be specified when `operator` is 'In' or 'NotIn'");
	terr_free(e);
}

TEST(deployment_strategy_and_template_rules)
{
	const kind_desc *d = K("apps", "v1", "Deployment");
	terr *e = check(d, DEPLOY("{\"strategy\":{\"type\":\"RollingUpdate\",\"rollingUpdate\":{"
	                          "\"maxUnavailable\":0,\"maxSurge\":0}},\"selector\":{"
	                          "\"matchLabels\":{\"a\":\"b\"}},\"template\":{\"metadata\":{"
	                          "\"labels\":{\"a\":\"b\"}},\"spec\":{\"restartPolicy\":\"Never\","
	                          "\"containers\":[" NGINX "]}}}"),
	                NULL);
	CHECK_CAUSE(e, "spec.strategy.rollingUpdate.maxUnavailable", "FieldValueInvalid",
	            "Invalid value: intstr.IntOrString{Type:0, IntVal:0, StrVal:\"\"}: may not be 0 "
	            "when `maxSurge` is 0");
	CHECK_CAUSE(e, "spec.template.spec.restartPolicy", "FieldValueNotSupported",
	            "Unsupported value: \"Never\": supported values: \"Always\"");
	terr_free(e);
	e = check(d, DEPLOY("{\"strategy\":{\"type\":\"RollingUpdate\",\"rollingUpdate\":{"
	                    "\"maxUnavailable\":\"150%\"}},\"selector\":{\"matchLabels\":{\"a\":"
	                    "\"b\"}},\"template\":{\"metadata\":{\"labels\":{\"a\":\"b\"}},\"spec\":"
	                    "{\"containers\":[" NGINX "]}}}"),
	          NULL);
	CHECK_CAUSE(e, "spec.strategy.rollingUpdate.maxUnavailable", "FieldValueInvalid",
	            "Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:\"150%\"}: must not "
	            "be greater than 100%");
	terr_free(e);
}

TEST(deployment_selector_immutable)
{
	const kind_desc *d = K("apps", "v1", "Deployment");
	terr *e = check(d, DEPLOY(DSPEC("{\"app\":\"web2\"}", "{\"app\":\"web2\"}", NGINX)),
	                DEPLOY(DSPEC("{\"app\":\"web\"}", "{\"app\":\"web\"}", NGINX)));
	CHECK_CAUSE(e, "spec.selector", "FieldValueInvalid",
	            "Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"web2\"}, "
	            "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable");
	terr_free(e);
	e = check(d, DEPLOY(DSPEC("{\"app\":\"web\"}", "{\"app\":\"web\"}", "{\"name\":\"nginx\","
	                                                                    "\"image\":\"nginx:2\"}")),
	          DEPLOY(DSPEC("{\"app\":\"web\"}", "{\"app\":\"web\"}", NGINX)));
	CHECK_VALID(e);
}

/* ---- Pods --------------------------------------------------------------------------- */

#define POD(spec)                                                                            \
	"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\",\"namespace\":" \
	"\"default\"},\"spec\":" spec "}"

TEST(pod_containers_rules)
{
	const kind_desc *d = K("", "v1", "Pod");
	terr *e = check(d, POD("{\"containers\":[]}"), NULL);
	CHECK_CAUSE(e, "spec.containers", "FieldValueRequired", "Required value");
	CHECK_STR(e->message, "Pod \"p\" is invalid: spec.containers: Required value");
	terr_free(e);
	e = check(d, POD("{\"containers\":[{\"name\":\"a\",\"image\":\"x\"},{\"name\":\"a\","
	                 "\"image\":\"y\"}]}"),
	          NULL);
	CHECK_CAUSE(e, "spec.containers[1].name", "FieldValueDuplicate", "Duplicate value: \"a\"");
	terr_free(e);
	e = check(d, POD("{\"containers\":[{\"name\":\"Web\",\"image\":\"x\"}]}"), NULL);
	CHECK_CAUSE(e, "spec.containers[0].name", "FieldValueInvalid",
	            "Invalid value: \"Web\": " LABEL_MSG);
	terr_free(e);
	e = check(d, POD("{\"containers\":[{\"name\":\"a\",\"image\":\" x\"}]}"), NULL);
	CHECK_CAUSE(e, "spec.containers[0].image", "FieldValueInvalid",
	            "Invalid value: \" x\": must not have leading or trailing whitespace");
	terr_free(e);
}

TEST(pod_ports_and_policies)
{
	const kind_desc *d = K("", "v1", "Pod");
	terr *e = check(d, POD("{\"containers\":[{\"name\":\"a\",\"image\":\"x\",\"ports\":[{"
	                       "\"containerPort\":70000},{\"containerPort\":0},{\"containerPort\":"
	                       "80,\"protocol\":\"HTTP\"}]}]}"),
	                NULL);
	CHECK_CAUSE(e, "spec.containers[0].ports[0].containerPort", "FieldValueInvalid",
	            "Invalid value: 70000: must be between 1 and 65535, inclusive");
	CHECK_CAUSE(e, "spec.containers[0].ports[1].containerPort", "FieldValueRequired",
	            "Required value");
	CHECK_CAUSE(e, "spec.containers[0].ports[2].protocol", "FieldValueNotSupported",
	            "Unsupported value: \"HTTP\": supported values: \"SCTP\", \"TCP\", \"UDP\"");
	terr_free(e);
	e = check(d, POD("{\"restartPolicy\":\"Sometimes\",\"containers\":[{\"name\":\"a\","
	                 "\"image\":\"x\"}]}"),
	          NULL);
	CHECK_CAUSE(e, "spec.restartPolicy", "FieldValueNotSupported",
	            "Unsupported value: \"Sometimes\": supported values: \"Always\", "
	            "\"OnFailure\", \"Never\"");
	terr_free(e);
	e = check(d, POD("{\"containers\":[{\"name\":\"a\",\"image\":\"x\",\"imagePullPolicy\":"
	                 "\"Sometimes\"}]}"),
	          NULL);
	CHECK_CAUSE(e, "spec.containers[0].imagePullPolicy", "FieldValueNotSupported",
	            "Unsupported value: \"Sometimes\": supported values: \"Always\", "
	            "\"IfNotPresent\", \"Never\"");
	terr_free(e);
}

TEST(pod_volumes_mounts_probes_env)
{
	const kind_desc *d = K("", "v1", "Pod");
	terr *e = check(d, POD("{\"volumes\":[{\"name\":\"data\"}],\"containers\":[{\"name\":\"a\","
	                       "\"image\":\"x\",\"volumeMounts\":[{\"name\":\"data\",\"mountPath\":"
	                       "\"/d\"}],\"env\":[{\"name\":\"A\",\"value\":\"1\"}],"
	                       "\"livenessProbe\":{\"httpGet\":{\"port\":8080}}}]}"),
	                NULL);
	CHECK_VALID(e);
	e = check(d, POD("{\"containers\":[{\"name\":\"a\",\"image\":\"x\",\"volumeMounts\":[{"
	                 "\"name\":\"nope\",\"mountPath\":\"/d\"}]}]}"),
	          NULL);
	CHECK_CAUSE(e, "spec.containers[0].volumeMounts[0].name", "FieldValueNotFound",
	            "Not found: \"nope\"");
	terr_free(e);
	e = check(d, POD("{\"containers\":[{\"name\":\"a\",\"image\":\"x\",\"livenessProbe\":{"
	                 "\"exec\":{\"command\":[\"true\"]},\"successThreshold\":2}}]}"),
	          NULL);
	CHECK_CAUSE(e, "spec.containers[0].livenessProbe.successThreshold", "FieldValueInvalid",
	            "Invalid value: 2: must be 1");
	terr_free(e);
	e = check(d, POD("{\"containers\":[{\"name\":\"a\",\"image\":\"x\",\"readinessProbe\":{"
	                 "\"periodSeconds\":5}}]}"),
	          NULL);
	CHECK_CAUSE(e, "spec.containers[0].readinessProbe", "FieldValueRequired",
	            "Required value: must specify a handler type");
	terr_free(e);
	e = check(d, POD("{\"containers\":[{\"name\":\"a\",\"image\":\"x\",\"env\":[{\"name\":"
	                 "\"A=B\"}]}]}"),
	          NULL);
	CHECK_CAUSE(e, "spec.containers[0].env[0].name", "FieldValueInvalid",
	            "Invalid value: \"A=B\": a valid environment variable name must consist only "
	            "of printable ASCII characters other than '='");
	terr_free(e);
	e = check(d, POD("{\"volumes\":[{\"name\":\"s\",\"secret\":{}}],\"containers\":[{"
	                 "\"name\":\"a\",\"image\":\"x\"}]}"),
	          NULL);
	CHECK_CAUSE(e, "spec.volumes[0].secret.secretName", "FieldValueRequired", "Required value");
	terr_free(e);
}

TEST(pod_resources)
{
	const kind_desc *d = K("", "v1", "Pod");
	terr *e = check(d, POD("{\"containers\":[{\"name\":\"a\",\"image\":\"x\",\"resources\":{"
	                       "\"limits\":{\"cpu\":\"500m\"},\"requests\":{\"cpu\":\"1\"}}}]}"),
	                NULL);
	CHECK_CAUSE(e, "spec.containers[0].resources.requests", "FieldValueInvalid",
	            "Invalid value: \"1\": must be less than or equal to cpu limit of 500m");
	terr_free(e);
	/* extended resources cannot be overcommitted */
	e = check(d, POD("{\"containers\":[{\"name\":\"a\",\"image\":\"x\",\"resources\":{"
	                 "\"limits\":{\"nvidia.com/gpu\":\"2\"},\"requests\":{\"nvidia.com/gpu\":"
	                 "\"1\"}}}]}"),
	          NULL);
	CHECK_CAUSE(e, "spec.containers[0].resources.requests", "FieldValueInvalid",
	            "Invalid value: \"1\": must be equal to nvidia.com/gpu limit of 2");
	terr_free(e);
	e = check(d, POD("{\"containers\":[{\"name\":\"a\",\"image\":\"x\",\"resources\":{"
	                 "\"limits\":{\"nvidia.com/gpu\":1}}}]}"),
	          NULL);
	CHECK_VALID(e); /* requests default to limits on Pods */
	e = check(d, POD("{\"containers\":[{\"name\":\"a\",\"image\":\"x\",\"resources\":{"
	                 "\"limits\":{\"gpu\":\"1\"}}}]}"),
	          NULL);
	CHECK_CAUSE(e, "spec.containers[0].resources.limits[gpu]", "FieldValueInvalid",
	            "Invalid value: \"gpu\": must be a standard resource for containers");
	terr_free(e);
}

TEST(pod_update_is_restricted)
{
	const kind_desc *d = K("", "v1", "Pod");
	const char *old = POD("{\"containers\":[{\"name\":\"a\",\"image\":\"x:1\"}]}");
	terr *e = check(d, POD("{\"containers\":[{\"name\":\"a\",\"image\":\"x:2\"}]}"), old);
	CHECK_VALID(e);
	e = check(d, POD("{\"containers\":[{\"name\":\"a\",\"image\":\"x:1\",\"ports\":[{"
	                 "\"containerPort\":80}]}]}"),
	          old);
	REQUIRE(e);
	terr_cause *c = cause(e, "spec");
	REQUIRE(c);
	CHECK_STR(c->reason, "FieldValueForbidden");
	CHECK(str_has_prefix(c->message,
	                     "Forbidden: pod updates may not change fields other than "
	                     "`spec.containers[*].image`,`spec.initContainers[*].image`,"
	                     "`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to "
	                     "existing tolerations),`spec.terminationGracePeriodSeconds` (allow it "
	                     "to be set to 1 if it was previously negative)\n"));
	terr_free(e);
}

/* ---- Service ------------------------------------------------------------------------ */

#define SVC(spec)                                                                             \
	"{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"web\","         \
	"\"namespace\":\"default\"},\"spec\":" spec "}"

TEST(service_rules)
{
	const kind_desc *d = K("", "v1", "Service");
	terr *e = check(d, SVC("{\"selector\":{\"app\":\"web\"},\"ports\":[{\"port\":80}]}"), NULL);
	CHECK_VALID(e);
	e = check(d, SVC("{\"type\":\"NodePort\",\"ports\":[{\"port\":80,\"nodePort\":80}]}"), NULL);
	CHECK_CAUSE(e, "spec.ports[0].nodePort", "FieldValueInvalid",
	            "Invalid value: 80: provided port is not in the valid range. The range of valid "
	            "ports is 30000-32767");
	terr_free(e);
	e = check(d, SVC("{\"type\":\"NodePort\",\"ports\":[{\"port\":80,\"nodePort\":30080}]}"),
	          NULL);
	CHECK_VALID(e);
	e = check(d, SVC("{\"type\":\"Magic\",\"ports\":[{\"port\":80}]}"), NULL);
	CHECK_CAUSE(e, "spec.type", "FieldValueNotSupported",
	            "Unsupported value: \"Magic\": supported values: \"ClusterIP\", "
	            "\"ExternalName\", \"LoadBalancer\", \"NodePort\"");
	terr_free(e);
	e = check(d, SVC("{\"ports\":[]}"), NULL);
	CHECK_CAUSE(e, "spec.ports", "FieldValueRequired", "Required value");
	terr_free(e);
	e = check(d, SVC("{\"ports\":[{\"port\":80},{\"port\":81}]}"), NULL);
	CHECK_CAUSE(e, "spec.ports[0].name", "FieldValueRequired", "Required value");
	terr_free(e);
	e = check(d, SVC("{\"ports\":[{\"port\":80,\"nodePort\":30001}]}"), NULL);
	CHECK_CAUSE(e, "spec.ports[0].nodePort", "FieldValueForbidden",
	            "Forbidden: may not be used when `type` is 'ClusterIP'");
	terr_free(e);
	e = check(d, SVC("{\"clusterIP\":\"None\",\"ports\":[]}"), NULL);
	CHECK_VALID(e); /* headless services need no ports */
}

TEST(service_cluster_ip_immutable)
{
	const kind_desc *d = K("", "v1", "Service");
	terr *e = check(d, SVC("{\"clusterIP\":\"10.0.0.2\",\"clusterIPs\":[\"10.0.0.2\"],"
	                       "\"ports\":[{\"port\":80}]}"),
	                SVC("{\"clusterIP\":\"10.0.0.1\",\"clusterIPs\":[\"10.0.0.1\"],"
	                    "\"ports\":[{\"port\":80}]}"));
	CHECK_CAUSE(e, "spec.clusterIPs[0]", "FieldValueInvalid",
	            "Invalid value: []string{\"10.0.0.2\"}: may not change once set");
	terr_free(e);
	e = check(d, SVC("{\"ports\":[{\"port\":81}]}"),
	          SVC("{\"clusterIP\":\"10.0.0.1\",\"clusterIPs\":[\"10.0.0.1\"],"
	              "\"ports\":[{\"port\":80}]}"));
	CHECK_VALID(e);
}

/* ---- ConfigMap, Secret, Namespace --------------------------------------------------- */

TEST(configmap_keys_and_immutable)
{
	const kind_desc *d = K("", "v1", "ConfigMap");
	terr *e = check(d, "{\"metadata\":{\"name\":\"c\",\"namespace\":\"d\"},\"data\":{\"a b\":"
	                   "\"1\"}}",
	                NULL);
	CHECK_CAUSE(e, "data[a b]", "FieldValueInvalid",
	            "Invalid value: \"a b\": a valid config key must consist of alphanumeric "
	            "characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', "
	            "regex used for validation is '[-._a-zA-Z0-9]+')");
	terr_free(e);
	e = check(d, "{\"metadata\":{\"name\":\"c\",\"namespace\":\"d\"},\"immutable\":true,"
	             "\"data\":{\"a\":\"2\"}}",
	          "{\"metadata\":{\"name\":\"c\",\"namespace\":\"d\"},\"immutable\":true,\"data\":{"
	          "\"a\":\"1\"}}");
	CHECK_CAUSE(e, "data", "FieldValueForbidden",
	            "Forbidden: field is immutable when `immutable` is set");
	terr_free(e);
	e = check(d, "{\"metadata\":{\"name\":\"c\",\"namespace\":\"d\"},\"data\":{\"a\":\"2\"}}",
	          "{\"metadata\":{\"name\":\"c\",\"namespace\":\"d\"},\"data\":{\"a\":\"1\"}}");
	CHECK_VALID(e);
}

TEST(secret_rules)
{
	const kind_desc *d = K("", "v1", "Secret");
	terr *e = check(d, "{\"metadata\":{\"name\":\"s\",\"namespace\":\"d\"},\"type\":"
	                   "\"kubernetes.io/tls\",\"data\":{\"tls.crt\":\"eA==\"}}",
	                NULL);
	CHECK_CAUSE(e, "data[tls.key]", "FieldValueRequired", "Required value");
	CHECK(cause(e, "data[tls.crt]") == NULL);
	terr_free(e);
	e = check(d, "{\"metadata\":{\"name\":\"s\",\"namespace\":\"d\"},\"type\":\"b\"}",
	          "{\"metadata\":{\"name\":\"s\",\"namespace\":\"d\"},\"type\":\"a\"}");
	CHECK_CAUSE(e, "type", "FieldValueInvalid", "Invalid value: \"b\": field is immutable");
	terr_free(e);
	e = check(d, "{\"metadata\":{\"name\":\"s\",\"namespace\":\"d\"},\"stringData\":{\"k\":"
	             "\"v\"}}",
	          NULL);
	CHECK_VALID(e);
}

TEST(namespace_rules)
{
	const kind_desc *d = K("", "v1", "Namespace");
	terr *e = check(d, "{\"metadata\":{\"name\":\"team-a\"}}", NULL);
	CHECK_VALID(e);
	e = check(d, "{\"metadata\":{\"name\":\"Team\"}}", NULL);
	CHECK_CAUSE(e, "metadata.name", "FieldValueInvalid", "Invalid value: \"Team\": " LABEL_MSG);
	CHECK_STR(e->message, "Namespace \"Team\" is invalid: metadata.name: Invalid value: "
	                      "\"Team\": " LABEL_MSG);
	terr_free(e);
}

/* ---- StatefulSet, DaemonSet, Job, CronJob, HPA -------------------------------------- */

TEST(statefulset_update_rules)
{
	const kind_desc *d = K("apps", "v1", "StatefulSet");
#define STS(extra)                                                                            \
	"{\"metadata\":{\"name\":\"db\",\"namespace\":\"d\"},\"spec\":{" extra "\"serviceName\":" \
	"\"db\",\"selector\":{\"matchLabels\":{\"a\":\"b\"}},\"template\":{\"metadata\":{"       \
	"\"labels\":{\"a\":\"b\"}},\"spec\":{\"containers\":[" NGINX "]}}}}"
	terr *e = check(d, STS(""), NULL);
	CHECK_VALID(e);
	e = check(d, STS("\"replicas\":3,"), STS(""));
	CHECK_VALID(e);
	e = check(d, STS("\"podManagementPolicy\":\"Parallel\","), STS(""));
	CHECK_CAUSE(e, "spec", "FieldValueForbidden",
	            "Forbidden: updates to statefulset spec for fields other than 'replicas', "
	            "'ordinals', 'template', 'updateStrategy', "
	            "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden");
	terr_free(e);
#undef STS
}

TEST(daemonset_rules)
{
	const kind_desc *d = K("apps", "v1", "DaemonSet");
	terr *e = check(d, "{\"metadata\":{\"name\":\"ds\",\"namespace\":\"d\"},\"spec\":{"
	                   "\"selector\":{\"matchLabels\":{\"a\":\"b\"}},\"template\":{\"metadata\":"
	                   "{\"labels\":{\"a\":\"c\"}},\"spec\":{\"containers\":[" NGINX "]}}}}",
	                NULL);
	CHECK_CAUSE(e, "spec.template.metadata.labels", "FieldValueInvalid",
	            "Invalid value: map[string]string{\"a\":\"c\"}: `selector` does not match "
	            "template `labels`");
	terr_free(e);
}

#define JOB(spec) "{\"metadata\":{\"name\":\"pi\",\"namespace\":\"d\"},\"spec\":" spec "}"

TEST(job_rules)
{
	const kind_desc *d = K("batch", "v1", "Job");
	terr *e = check(d, JOB("{\"selector\":{\"matchLabels\":{\"a\":\"b\"}},\"manualSelector\":"
	                       "true,\"template\":{\"metadata\":{\"labels\":{\"a\":\"b\"}},\"spec\":"
	                       "{\"restartPolicy\":\"Never\",\"containers\":[" NGINX "]}}}"),
	                NULL);
	CHECK_VALID(e);
	e = check(d, JOB("{\"selector\":{\"matchLabels\":{\"a\":\"b\"}},\"manualSelector\":true,"
	                 "\"backoffLimit\":-1,\"template\":{\"metadata\":{\"labels\":{\"a\":\"b\"}},"
	                 "\"spec\":{\"containers\":[" NGINX "]}}}"),
	          NULL);
	CHECK_CAUSE(e, "spec.template.spec.restartPolicy", "FieldValueNotSupported",
	            "Unsupported value: \"Always\": supported values: \"OnFailure\", \"Never\"");
	CHECK_CAUSE(e, "spec.backoffLimit", "FieldValueInvalid",
	            "Invalid value: -1: must be greater than or equal to 0");
	terr_free(e);
	/* the full create path: generated selector and labels */
	json_t *obj = load(JOB("{\"template\":{\"spec\":{\"restartPolicy\":\"Never\","
	                       "\"containers\":[" NGINX "]}}}"));
	json_object_set_new(json_object_get(obj, "metadata"), "uid", json_string("u-1"));
	defaults_apply(d, obj);
	defaults_on_create(d, obj);
	e = NULL;
	CHECK_INT(validate_object(d, obj, NULL, &e), 0);
	CHECK_VALID(e);
	/* the template is immutable */
	json_t *upd = json_deep_copy(obj);
	json_t *c0 = json_array_get(json_path(upd, "spec.template.spec.containers"), 0);
	json_object_set_new(c0, "image", json_string("other"));
	e = NULL;
	CHECK_INT(validate_object(d, upd, obj, &e), -1);
	terr_cause *c = cause(e, "spec.template");
	CHECK(c && str_eq(c->reason, "FieldValueInvalid") &&
	      str_has_suffix(c->message, ": field is immutable"));
	terr_free(e);
	json_decref(upd);
	json_decref(obj);
}

TEST(cronjob_rules)
{
	const kind_desc *d = K("batch", "v1", "CronJob");
#define CRON(sched)                                                                             \
	"{\"metadata\":{\"name\":\"hello\",\"namespace\":\"d\"},\"spec\":{\"schedule\":\"" sched \
	"\",\"jobTemplate\":{\"spec\":{\"template\":{\"spec\":{\"restartPolicy\":\"OnFailure\","  \
	"\"containers\":[" NGINX "]}}}}}}"
	terr *e = check(d, CRON("*/5 * * * *"), NULL);
	CHECK_VALID(e);
	e = check(d, CRON("@hourly"), NULL);
	CHECK_VALID(e);
	e = check(d, CRON("0 0 * * MON-FRI"), NULL);
	CHECK_VALID(e);
	e = check(d, CRON("* * *"), NULL);
	CHECK_CAUSE(e, "spec.schedule", "FieldValueInvalid",
	            "Invalid value: \"* * *\": expected exactly 5 fields, found 3: [* * *]");
	terr_free(e);
	e = check(d, CRON("61 * * * *"), NULL);
	CHECK_CAUSE(e, "spec.schedule", "FieldValueInvalid",
	            "Invalid value: \"61 * * * *\": end of range (61) above maximum (59): 61");
	terr_free(e);
	e = check(d, "{\"metadata\":{\"name\":\"a-very-long-cronjob-name-that-is-over-fifty-two-"
	             "chars\",\"namespace\":\"d\"},\"spec\":{\"schedule\":\"@daily\",\"jobTemplate\""
	             ":{\"spec\":{\"template\":{\"spec\":{\"restartPolicy\":\"Never\",\"containers\""
	             ":[" NGINX "]}}}}}}",
	          NULL);
	CHECK_CAUSE(e, "metadata.name", "FieldValueInvalid",
	            "Invalid value: \"a-very-long-cronjob-name-that-is-over-fifty-two-chars\": must "
	            "be no more than 52 characters");
	terr_free(e);
#undef CRON
}

TEST(hpa_rules)
{
	const kind_desc *d = K("autoscaling", "v2", "HorizontalPodAutoscaler");
	terr *e = check(d, "{\"metadata\":{\"name\":\"h\",\"namespace\":\"d\"},\"spec\":{"
	                   "\"scaleTargetRef\":{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\","
	                   "\"name\":\"web\"},\"maxReplicas\":5}}",
	                NULL);
	CHECK_VALID(e);
	e = check(d, "{\"metadata\":{\"name\":\"h\",\"namespace\":\"d\"},\"spec\":{"
	             "\"scaleTargetRef\":{\"kind\":\"Deployment\"},\"minReplicas\":3,"
	             "\"maxReplicas\":2}}",
	          NULL);
	CHECK_CAUSE(e, "spec.maxReplicas", "FieldValueInvalid",
	            "Invalid value: 2: must be greater than or equal to `minReplicas`");
	CHECK_CAUSE(e, "spec.scaleTargetRef.name", "FieldValueRequired", "Required value");
	terr_free(e);
}

/* ---- networking, RBAC and the rest -------------------------------------------------- */

TEST(ingress_rules)
{
	const kind_desc *d = K("networking.k8s.io", "v1", "Ingress");
#define ING(path)                                                                               \
	"{\"metadata\":{\"name\":\"i\",\"namespace\":\"d\"},\"spec\":{\"rules\":[{\"host\":"      \
	"\"a.example.com\",\"http\":{\"paths\":[" path "]}}]}}"
#define BACKEND "\"backend\":{\"service\":{\"name\":\"web\",\"port\":{\"number\":80}}}"
	terr *e = check(d, ING("{\"path\":\"/\",\"pathType\":\"Prefix\"," BACKEND "}"), NULL);
	CHECK_VALID(e);
	e = check(d, ING("{\"path\":\"/\"," BACKEND "}"), NULL);
	CHECK_CAUSE(e, "spec.rules[0].http.paths[0].pathType", "FieldValueRequired",
	            "Required value: pathType must be specified");
	terr_free(e);
	e = check(d, ING("{\"path\":\"api\",\"pathType\":\"Exact\"," BACKEND "}"), NULL);
	CHECK_CAUSE(e, "spec.rules[0].http.paths[0].path", "FieldValueInvalid",
	            "Invalid value: \"api\": must be an absolute path");
	terr_free(e);
	e = check(d, ING("{\"path\":\"/\",\"pathType\":\"Regex\"," BACKEND "}"), NULL);
	CHECK_CAUSE(e, "spec.rules[0].http.paths[0].pathType", "FieldValueNotSupported",
	            "Unsupported value: \"Regex\": supported values: \"Exact\", "
	            "\"ImplementationSpecific\", \"Prefix\"");
	terr_free(e);
	e = check(d, ING("{\"path\":\"/\",\"pathType\":\"Prefix\",\"backend\":{\"service\":{"
	                 "\"name\":\"web\",\"port\":{}}}}"),
	          NULL);
	CHECK_CAUSE(e, "spec.rules[0].http.paths[0].backend", "FieldValueRequired",
	            "Required value: port name or number is required");
	terr_free(e);
#undef ING
#undef BACKEND
}

TEST(rbac_rules)
{
	const kind_desc *r = K("rbac.authorization.k8s.io", "v1", "Role");
	terr *e = check(r, "{\"metadata\":{\"name\":\"r\",\"namespace\":\"d\"},\"rules\":[{"
	                   "\"apiGroups\":[\"\"],\"resources\":[\"pods\"],\"verbs\":[\"get\"]}]}",
	                NULL);
	CHECK_VALID(e);
	e = check(r, "{\"metadata\":{\"name\":\"r\",\"namespace\":\"d\"},\"rules\":[{"
	             "\"apiGroups\":[\"\"],\"resources\":[\"pods\"]}]}",
	          NULL);
	CHECK_CAUSE(e, "rules[0].verbs", "FieldValueRequired",
	            "Required value: verbs must contain at least one value");
	terr_free(e);
	const kind_desc *crb = K("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding");
	e = check(crb, "{\"metadata\":{\"name\":\"b\"},\"roleRef\":{\"kind\":\"Role\",\"name\":"
	               "\"x\"},\"subjects\":[{\"kind\":\"ServiceAccount\",\"name\":\"sa\"}]}",
	          NULL);
	CHECK_CAUSE(e, "roleRef.kind", "FieldValueNotSupported",
	            "Unsupported value: \"Role\": supported values: \"ClusterRole\"");
	CHECK_CAUSE(e, "subjects[0].namespace", "FieldValueRequired", "Required value");
	terr_free(e);
}

TEST(valid_minimal_objects_of_every_kind_pass)
{
	static const struct {
		const char *g, *v, *k, *text;
	} cases[] = {
	    {"", "v1", "ServiceAccount", "{\"metadata\":{\"name\":\"sa\",\"namespace\":\"d\"}}"},
	    {"", "v1", "Endpoints", "{\"metadata\":{\"name\":\"e\",\"namespace\":\"d\"},\"subsets\":"
	                            "[{\"addresses\":[{\"ip\":\"10.0.0.1\"}],\"ports\":[{\"port\":"
	                            "80}]}]}"},
	    {"", "v1", "PersistentVolumeClaim",
	     "{\"metadata\":{\"name\":\"c\",\"namespace\":\"d\"},\"spec\":{\"accessModes\":["
	     "\"ReadWriteOnce\"],\"resources\":{\"requests\":{\"storage\":\"1Gi\"}}}}"},
	    {"", "v1", "PersistentVolume",
	     "{\"metadata\":{\"name\":\"pv\"},\"spec\":{\"accessModes\":[\"ReadWriteOnce\"],"
	     "\"capacity\":{\"storage\":\"1Gi\"},\"hostPath\":{\"path\":\"/d\"}}}"},
	    {"", "v1", "Node", "{\"metadata\":{\"name\":\"node-1\"},\"spec\":{\"podCIDR\":"
	                       "\"10.42.0.0/24\"}}"},
	    {"", "v1", "ResourceQuota", "{\"metadata\":{\"name\":\"q\",\"namespace\":\"d\"},"
	                                "\"spec\":{\"hard\":{\"pods\":\"10\"}}}"},
	    {"", "v1", "LimitRange", "{\"metadata\":{\"name\":\"l\",\"namespace\":\"d\"},\"spec\":"
	                             "{\"limits\":[{\"type\":\"Container\"}]}}"},
	    {"networking.k8s.io", "v1", "IngressClass",
	     "{\"metadata\":{\"name\":\"nginx\"},\"spec\":{\"controller\":\"k8s.io/ingress-nginx\""
	     "}}"},
	    {"networking.k8s.io", "v1", "NetworkPolicy",
	     "{\"metadata\":{\"name\":\"n\",\"namespace\":\"d\"},\"spec\":{\"podSelector\":{}}}"},
	    {"discovery.k8s.io", "v1", "EndpointSlice",
	     "{\"metadata\":{\"name\":\"s\",\"namespace\":\"d\"},\"addressType\":\"IPv4\","
	     "\"endpoints\":[{\"addresses\":[\"10.0.0.1\"]}],\"ports\":[{\"port\":80}]}"},
	    {"coordination.k8s.io", "v1", "Lease",
	     "{\"metadata\":{\"name\":\"l\",\"namespace\":\"d\"},\"spec\":{"
	     "\"leaseDurationSeconds\":15}}"},
	    {"storage.k8s.io", "v1", "StorageClass",
	     "{\"metadata\":{\"name\":\"local\"},\"provisioner\":\"rancher.io/local-path\"}"},
	    {"scheduling.k8s.io", "v1", "PriorityClass",
	     "{\"metadata\":{\"name\":\"high\"},\"value\":1000}"},
	    {"policy", "v1", "PodDisruptionBudget",
	     "{\"metadata\":{\"name\":\"p\",\"namespace\":\"d\"},\"spec\":{\"minAvailable\":1,"
	     "\"selector\":{\"matchLabels\":{\"a\":\"b\"}}}}"},
	    {"node.k8s.io", "v1", "RuntimeClass", "{\"metadata\":{\"name\":\"runc\"},\"handler\":"
	                                          "\"runc\"}"},
	    {"apiextensions.k8s.io", "v1", "CustomResourceDefinition",
	     "{\"metadata\":{\"name\":\"crontabs.stable.example.com\"},\"spec\":{\"group\":"
	     "\"stable.example.com\",\"scope\":\"Namespaced\",\"names\":{\"plural\":\"crontabs\","
	     "\"kind\":\"CronTab\"},\"versions\":[{\"name\":\"v1\",\"served\":true,\"storage\":"
	     "true}]}}"},
	    {"authorization.k8s.io", "v1", "SelfSubjectAccessReview", "{\"spec\":{}}"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const kind_desc *d = K(cases[i].g, cases[i].v, cases[i].k);
		REQUIRE(d);
		terr *e = check(d, cases[i].text, NULL);
		if (e)
			fprintf(stderr, "  %s: %s\n", cases[i].k, e->message);
		CHECK(e == NULL);
		terr_free(e);
	}
}

TEST(malformed_bodies_do_not_crash)
{
	static const char *const bodies[] = {
	    "{}", "{\"metadata\":[]}", "{\"spec\":7}", "{\"spec\":{\"template\":[]}}",
	    ("{\"metadata\":{\"name\":3,\"labels\":[1]},\"spec\":{\"containers\":[1,null,{}],"
	     "\"ports\":\"x\",\"selector\":{\"matchExpressions\":[1]},\"rules\":[3]}}"),
	    "{\"data\":{\"a\":1},\"subsets\":[{\"ports\":[null]}]}",
	};
	kind_registry_init();
	for (size_t k = 0; k < kind_count(); k++) {
		for (size_t i = 0; i < ARRAY_SIZE(bodies); i++) {
			json_t *j = load(bodies[i]), *old = load(bodies[i]);
			terr *e = NULL;
			validate_object(kind_at(k), j, NULL, &e);
			terr_free(e);
			e = NULL;
			validate_object(kind_at(k), j, old, &e);
			terr_free(e);
			json_decref(j);
			json_decref(old);
		}
	}
	CHECK(1);
}
