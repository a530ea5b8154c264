/* test_crdschema.c — custom resources against CRD structural schemas: validation messages
 * exactly as kube-apiserver 1.32 writes them, defaulting and pruning. Expected values come
 * from kube's documented behaviour (the CronTab CRD of the Kubernetes docs) and its
 * validator's message formats. */
#include "test.h"

#include "api/crdschema.h"
#include "base/json.h"
#include "base/util.h"

/* The CronTab schema of the Kubernetes docs ("Validation" and "Defaulting"). */
static const char *crontab =
    "{\"type\":\"object\",\"properties\":{\"spec\":{\"type\":\"object\",\"properties\":{"
    "\"cronSpec\":{\"type\":\"string\",\"pattern\":\"^(\\\\d+|\\\\*)(/\\\\d+)?(\\\\s+(\\\\d+|\\\\*)(/\\\\d+)?){4}$\"},"
    "\"image\":{\"type\":\"string\"},"
    "\"replicas\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":10}}}}}";

static const char *crontab_defaults =
    "{\"type\":\"object\",\"properties\":{\"spec\":{\"type\":\"object\",\"properties\":{"
    "\"cronSpec\":{\"type\":\"string\",\"pattern\":\"^(\\\\d+|\\\\*)(/\\\\d+)?(\\\\s+(\\\\d+|\\\\*)(/\\\\d+)?){4}$\","
    "\"default\":\"5 0 * * *\"},"
    "\"image\":{\"type\":\"string\"},"
    "\"replicas\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":10,\"default\":1}}}}}";

static json_t *J(const char *s)
{
	json_error_t e;
	json_t *j = json_loads(s, JSON_DECODE_ANY, &e);
	if (!j)
		fprintf(stderr, "bad test JSON: %s: %s\n", e.text, s);
	return j;
}

/* Validates obj (JSON text, spec only when it does not start with "{\"apiVersion") as a
 * CronTab named bad-cron; NULL when valid. */
static terr *check(const char *schema, const char *obj)
{
	_cleanup_json_ json_t *s = J(schema);
	_cleanup_json_ json_t *o = J(obj);
	terr *err = NULL;
	if (crdschema_validate(s, o, NULL, "CronTab", "stable.example.com", "bad-cron", &err) == 0)
		return NULL;
	return err;
}

static const char *cause_field(terr *e, size_t i)
{
	return e && i < e->ncauses ? e->causes[i].field : NULL;
}
static const char *cause_msg(terr *e, size_t i)
{
	return e && i < e->ncauses ? e->causes[i].message : NULL;
}
static const char *cause_type(terr *e, size_t i)
{
	return e && i < e->ncauses ? e->causes[i].reason : NULL;
}

#define OBJ(spec) "{\"apiVersion\":\"stable.example.com/v1\",\"kind\":\"CronTab\",\"metadata\":{\"name\":\"bad-cron\"},\"spec\":" spec "}"

TEST(crontab_valid)
{
	terr *e = check(crontab, OBJ("{\"cronSpec\":\"* * * * */5\",\"image\":\"my-awesome-cron-image\",\"replicas\":1}"));
	CHECK(e == NULL);
	terr_free(e);
}

TEST(crontab_string_for_integer)
{
	_cleanup_terr_ terr *e = check(crontab, OBJ("{\"replicas\":\"string\"}"));
	REQUIRE(e);
	CHECK_INT(e->code, 422);
	CHECK_STR(e->reason, "Invalid");
	CHECK_INT(e->ncauses, 1);
	CHECK_STR(cause_field(e, 0), "spec.replicas");
	CHECK_STR(cause_type(e, 0), "FieldValueTypeInvalid");
	CHECK_STR(cause_msg(e, 0), "Invalid value: \"string\": spec.replicas in body must be of type integer: \"string\"");
	CHECK_STR(e->message, "CronTab.stable.example.com \"bad-cron\" is invalid: spec.replicas: Invalid value: "
	                      "\"string\": spec.replicas in body must be of type integer: \"string\"");
}

TEST(crontab_docs_invalid_object)
{
	/* the docs' my-new-cron-object: a 4-field cronSpec and 15 replicas */
	_cleanup_terr_ terr *e = check(crontab, OBJ("{\"cronSpec\":\"* * * *\",\"image\":\"my-awesome-cron-image\",\"replicas\":15}"));
	REQUIRE(e);
	CHECK_INT(e->ncauses, 2);
	CHECK_STR(cause_field(e, 0), "spec.cronSpec");
	CHECK_STR(cause_type(e, 0), "FieldValueInvalid");
	CHECK_STR(cause_msg(e, 0), "Invalid value: \"* * * *\": spec.cronSpec in body should match "
	                           "'^(\\d+|\\*)(/\\d+)?(\\s+(\\d+|\\*)(/\\d+)?){4}$'");
	CHECK_STR(cause_field(e, 1), "spec.replicas");
	CHECK_STR(cause_msg(e, 1), "Invalid value: 15: spec.replicas in body should be less than or equal to 10");
	CHECK_STR(e->message,
	          "CronTab.stable.example.com \"bad-cron\" is invalid: [spec.cronSpec: Invalid value: \"* * * *\": "
	          "spec.cronSpec in body should match '^(\\d+|\\*)(/\\d+)?(\\s+(\\d+|\\*)(/\\d+)?){4}$', "
	          "spec.replicas: Invalid value: 15: spec.replicas in body should be less than or equal to 10]");
}

TEST(numbers)
{
	terr *e = check(crontab, OBJ("{\"replicas\":0}"));
	CHECK_STR(cause_msg(e, 0), "Invalid value: 0: spec.replicas in body should be greater than or equal to 1");
	terr_free(e);
	/* k8s: an integral float is an integer; 1.5 is a number */
	e = check(crontab, OBJ("{\"replicas\":2.0}"));
	CHECK(e == NULL);
	terr_free(e);
	e = check(crontab, OBJ("{\"replicas\":1.5}"));
	CHECK_STR(cause_msg(e, 0), "Invalid value: \"number\": spec.replicas in body must be of type integer: \"number\"");
	terr_free(e);
	const char *s = "{\"type\":\"object\",\"properties\":{\"spec\":{\"type\":\"object\",\"properties\":{"
	                "\"n\":{\"type\":\"integer\",\"multipleOf\":5,\"maximum\":10,\"exclusiveMaximum\":true},"
	                "\"f\":{\"type\":\"number\",\"maximum\":1.5,\"multipleOf\":0.1},"
	                "\"big\":{\"type\":\"number\",\"maximum\":100000},"
	                "\"i32\":{\"type\":\"integer\",\"format\":\"int32\"}}}}}";
	e = check(s, OBJ("{\"n\":7}"));
	CHECK_STR(cause_msg(e, 0), "Invalid value: 7: spec.n in body should be a multiple of 5");
	terr_free(e);
	e = check(s, OBJ("{\"n\":10}"));
	CHECK_STR(cause_msg(e, 0), "Invalid value: 10: spec.n in body should be less than 10");
	terr_free(e);
	e = check(s, OBJ("{\"f\":2.5}"));
	CHECK_STR(cause_msg(e, 0), "Invalid value: 2.5: spec.f in body should be less than or equal to 1.5");
	terr_free(e);
	e = check(s, OBJ("{\"f\":0.3}")); /* 0.3 / 0.1 is 2.9999999999999996: within kube's slack */
	CHECK(e == NULL);
	terr_free(e);
	e = check(s, OBJ("{\"big\":1234567.5}")); /* Go's %v switches to exponents at 1e+06 */
	CHECK_STR(cause_msg(e, 0), "Invalid value: 1.2345675e+06: spec.big in body should be less than or equal to 100000");
	terr_free(e);
	e = check(s, OBJ("{\"i32\":99999999999}")); /* k8s: int32/int64 formats are not checked */
	CHECK(e == NULL);
	terr_free(e);
}

TEST(null_and_nullable)
{
	terr *e = check(crontab, OBJ("{\"replicas\":null}"));
	CHECK_STR(cause_msg(e, 0), "Invalid value: \"null\": spec.replicas in body must be of type integer: \"null\"");
	terr_free(e);
	e = check("{\"type\":\"object\",\"properties\":{\"spec\":{\"type\":\"object\",\"properties\":{"
	          "\"replicas\":{\"type\":\"integer\",\"nullable\":true}}}}}",
	          OBJ("{\"replicas\":null}"));
	CHECK(e == NULL);
	terr_free(e);
}

TEST(required)
{
	const char *s = "{\"type\":\"object\",\"required\":[\"spec\"],\"properties\":{\"spec\":{\"type\":\"object\","
	                "\"required\":[\"cronSpec\",\"image\"],\"properties\":{\"cronSpec\":{\"type\":\"string\"},"
	                "\"image\":{\"type\":\"string\"}}}}}";
	_cleanup_terr_ terr *e = check(s, "{\"apiVersion\":\"stable.example.com/v1\",\"kind\":\"CronTab\",\"metadata\":{\"name\":\"bad-cron\"}}");
	REQUIRE(e);
	CHECK_STR(cause_field(e, 0), "spec");
	CHECK_STR(cause_type(e, 0), "FieldValueRequired");
	CHECK_STR(cause_msg(e, 0), "Required value");
	CHECK_STR(e->message, "CronTab.stable.example.com \"bad-cron\" is invalid: spec: Required value");
	terr *e2 = check(s, OBJ("{\"image\":\"x\"}"));
	CHECK_INT(e2 ? e2->ncauses : 0, 1);
	CHECK_STR(cause_field(e2, 0), "spec.cronSpec");
	CHECK_STR(cause_msg(e2, 0), "Required value");
	terr_free(e2);
}

TEST(enum)
{
	const char *s = "{\"type\":\"object\",\"properties\":{\"spec\":{\"type\":\"object\",\"properties\":{"
	                "\"policy\":{\"type\":\"string\",\"enum\":[\"Always\",\"Never\"]},"
	                "\"level\":{\"type\":\"integer\",\"enum\":[1,2]}}}}}";
	terr *e = check(s, OBJ("{\"policy\":\"Sometimes\"}"));
	CHECK_STR(cause_field(e, 0), "spec.policy");
	CHECK_STR(cause_type(e, 0), "FieldValueNotSupported");
	CHECK_STR(cause_msg(e, 0), "Unsupported value: \"Sometimes\": supported values: \"Always\", \"Never\"");
	terr_free(e);
	e = check(s, OBJ("{\"level\":3}"));
	CHECK_STR(cause_msg(e, 0), "Unsupported value: 3: supported values: \"1\", \"2\"");
	terr_free(e);
	e = check(s, OBJ("{\"policy\":\"Never\",\"level\":2}"));
	CHECK(e == NULL);
	terr_free(e);
}

TEST(nested_objects_and_arrays)
{
	const char *s = "{\"type\":\"object\",\"properties\":{\"spec\":{\"type\":\"object\",\"properties\":{"
	                "\"containers\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"required\":[\"name\"],"
	                "\"properties\":{\"name\":{\"type\":\"string\"},\"ports\":{\"type\":\"array\",\"items\":{\"type\":\"integer\"}}}}},"
	                "\"labels\":{\"type\":\"object\",\"additionalProperties\":{\"type\":\"string\"}}}}}}";
	terr *e = check(s, OBJ("{\"containers\":[{\"name\":\"a\"},{\"ports\":[80,\"x\"]}],\"labels\":{\"a\":\"b\",\"c\":1}}"));
	REQUIRE(e);
	CHECK_INT(e->ncauses, 3);
	CHECK_STR(cause_field(e, 0), "spec.containers[1].ports[1]");
	CHECK_STR(cause_msg(e, 0), "Invalid value: \"string\": spec.containers[1].ports[1] in body must be of type integer: \"string\"");
	CHECK_STR(cause_field(e, 1), "spec.containers[1].name");
	CHECK_STR(cause_msg(e, 1), "Required value");
	CHECK_STR(cause_field(e, 2), "spec.labels.c");
	CHECK_STR(cause_msg(e, 2), "Invalid value: \"integer\": spec.labels.c in body must be of type string: \"integer\"");
	terr_free(e);
	e = check(s, OBJ("{\"containers\":\"x\"}"));
	CHECK_STR(cause_msg(e, 0), "Invalid value: \"string\": spec.containers in body must be of type array: \"string\"");
	terr_free(e);
}

TEST(int_or_string)
{
	const char *s = "{\"type\":\"object\",\"properties\":{\"spec\":{\"type\":\"object\",\"properties\":{"
	                "\"port\":{\"x-kubernetes-int-or-string\":true}}}}}";
	terr *e = check(s, OBJ("{\"port\":80}"));
	CHECK(e == NULL);
	terr_free(e);
	e = check(s, OBJ("{\"port\":\"http\"}"));
	CHECK(e == NULL);
	terr_free(e);
	e = check(s, OBJ("{\"port\":true}"));
	CHECK_STR(cause_msg(e, 0), "Invalid value: \"boolean\": spec.port in body must be of type integer,string: \"boolean\"");
	terr_free(e);
}

TEST(strings_lengths_formats)
{
	const char *s = "{\"type\":\"object\",\"properties\":{\"spec\":{\"type\":\"object\",\"properties\":{"
	                "\"s\":{\"type\":\"string\",\"minLength\":3,\"maxLength\":5},"
	                "\"t\":{\"type\":\"string\",\"format\":\"date-time\"},"
	                "\"ip\":{\"type\":\"string\",\"format\":\"ipv4\"},"
	                "\"id\":{\"type\":\"string\",\"format\":\"uuid\"},"
	                "\"p\":{\"type\":\"string\",\"pattern\":\"(?i)^[a-z][-a-z0-9]*$\"}}}}}";
	terr *e = check(s, OBJ("{\"s\":\"toolong\"}"));
	CHECK_STR(cause_type(e, 0), "FieldValueTooLong");
	CHECK_STR(cause_msg(e, 0), "Too long: may not be more than 5 bytes");
	terr_free(e);
	e = check(s, OBJ("{\"s\":\"ab\"}"));
	CHECK_STR(cause_msg(e, 0), "Invalid value: \"ab\": spec.s in body should be at least 3 chars long");
	terr_free(e);
	e = check(s, OBJ("{\"s\":\"\xc3\xa9t\xc3\xa9s\"}")); /* 4 runes, 6 bytes: lengths count runes */
	CHECK(e == NULL);
	terr_free(e);
	e = check(s, OBJ("{\"t\":\"yesterday\"}"));
	CHECK_STR(cause_type(e, 0), "FieldValueTypeInvalid");
	CHECK_STR(cause_msg(e, 0), "Invalid value: \"yesterday\": spec.t in body must be of type date-time: \"yesterday\"");
	terr_free(e);
	e = check(s, OBJ("{\"t\":\"2024-02-29T03:04:05.123+02:00\",\"ip\":\"10.0.0.1\",\"id\":\"0A1B2C3D-4e5f-6a7b-8c9d-0e1f2a3b4c5d\",\"p\":\"Web-1\"}"));
	CHECK(e == NULL);
	terr_free(e);
	e = check(s, OBJ("{\"ip\":\"::1\"}"));
	CHECK_STR(cause_msg(e, 0), "Invalid value: \"::1\": spec.ip in body must be of type ipv4: \"::1\"");
	terr_free(e);
	e = check(s, OBJ("{\"p\":\"1abc\"}"));
	CHECK_STR(cause_msg(e, 0), "Invalid value: \"1abc\": spec.p in body should match '(?i)^[a-z][-a-z0-9]*$'");
	terr_free(e);
}

TEST(arrays_and_objects_bounds)
{
	const char *s = "{\"type\":\"object\",\"properties\":{\"spec\":{\"type\":\"object\",\"properties\":{"
	                "\"l\":{\"type\":\"array\",\"minItems\":1,\"maxItems\":2,\"uniqueItems\":true,\"items\":{\"type\":\"string\"}},"
	                "\"m\":{\"type\":\"object\",\"maxProperties\":2,\"minProperties\":1,\"additionalProperties\":{\"type\":\"string\"}},"
	                "\"closed\":{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"}},\"additionalProperties\":false}}}}}";
	terr *e = check(s, OBJ("{\"l\":[\"a\",\"b\",\"c\"]}"));
	CHECK_STR(cause_type(e, 0), "FieldValueTooMany");
	CHECK_STR(cause_msg(e, 0), "Too many: 3: must have at most 2 items");
	terr_free(e);
	e = check(s, OBJ("{\"l\":[]}"));
	CHECK_STR(cause_msg(e, 0), "Invalid value: 0: spec.l in body should have at least 1 items");
	terr_free(e);
	e = check(s, OBJ("{\"l\":[\"a\",\"a\"]}"));
	CHECK_STR(cause_msg(e, 0), "Invalid value: \"\": spec.l in body shouldn't contain duplicates");
	terr_free(e);
	e = check(s, OBJ("{\"m\":{\"a\":\"1\",\"b\":\"2\",\"c\":\"3\"}}"));
	CHECK_STR(cause_field(e, 0), "spec.m");
	CHECK_STR(cause_msg(e, 0), "Too many: 3: must have at most 2 items");
	terr_free(e);
	e = check(s, OBJ("{\"m\":{}}"));
	CHECK_STR(cause_msg(e, 0), "Invalid value: 0: spec.m in body should have at least 1 properties");
	terr_free(e);
	e = check(s, OBJ("{\"closed\":{\"a\":\"x\",\"b\":\"y\"}}"));
	CHECK_STR(cause_field(e, 0), "spec.closed");
	CHECK_STR(cause_msg(e, 0), "Invalid value: \"b\": spec.closed.b in body is a forbidden property");
	terr_free(e);
}

TEST(list_types)
{
	const char *s = "{\"type\":\"object\",\"properties\":{\"spec\":{\"type\":\"object\",\"properties\":{"
	                "\"tags\":{\"type\":\"array\",\"x-kubernetes-list-type\":\"set\",\"items\":{\"type\":\"string\"}},"
	                "\"ports\":{\"type\":\"array\",\"x-kubernetes-list-type\":\"map\",\"x-kubernetes-list-map-keys\":[\"name\"],"
	                "\"items\":{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"},\"port\":{\"type\":\"integer\"}}}}}}}}";
	terr *e = check(s, OBJ("{\"tags\":[\"a\",\"b\",\"a\",\"a\"]}"));
	REQUIRE(e);
	CHECK_INT(e->ncauses, 1); /* only the second appearance is reported */
	CHECK_STR(cause_field(e, 0), "spec.tags[2]");
	CHECK_STR(cause_type(e, 0), "FieldValueDuplicate");
	CHECK_STR(cause_msg(e, 0), "Duplicate value: \"a\"");
	terr_free(e);
	e = check(s, OBJ("{\"ports\":[{\"name\":\"http\",\"port\":80},{\"name\":\"http\",\"port\":8080}]}"));
	CHECK_STR(cause_field(e, 0), "spec.ports[1]");
	CHECK_STR(cause_msg(e, 0), "Duplicate value: map[string]interface {}{\"name\":\"http\"}");
	terr_free(e);
	e = check(s, OBJ("{\"ports\":[{\"name\":\"http\"},{\"name\":\"https\"}],\"tags\":[\"a\",\"b\"]}"));
	CHECK(e == NULL);
	terr_free(e);
}

TEST(composition)
{
	const char *s = "{\"type\":\"object\",\"properties\":{\"spec\":{\"type\":\"object\",\"properties\":{"
	                "\"v\":{\"anyOf\":[{\"type\":\"integer\"},{\"type\":\"string\"}]},"
	                "\"w\":{\"type\":\"string\",\"not\":{\"enum\":[\"forbidden\"]}}}}}}";
	terr *e = check(s, OBJ("{\"v\":true}"));
	REQUIRE(e);
	CHECK_INT(e->ncauses, 2);
	/* k8s: composite errors carry no field: kube prints a nil path as "<nil>" */
	CHECK_STR(cause_field(e, 0), "<nil>");
	CHECK_STR(cause_msg(e, 0), "Invalid value: \"\": \"spec.v\" must validate at least one schema (anyOf)");
	CHECK_STR(cause_msg(e, 1), "Invalid value: \"boolean\": spec.v in body must be of type integer: \"boolean\"");
	terr_free(e);
	e = check(s, OBJ("{\"v\":\"x\",\"w\":\"ok\"}"));
	CHECK(e == NULL);
	terr_free(e);
	e = check(s, OBJ("{\"w\":\"forbidden\"}"));
	CHECK_STR(cause_msg(e, 0), "Invalid value: \"\": \"spec.w\" must not validate the schema (not)");
	terr_free(e);
}

TEST(embedded_and_preserved)
{
	const char *s = "{\"type\":\"object\",\"properties\":{\"spec\":{\"type\":\"object\",\"properties\":{"
	                "\"template\":{\"type\":\"object\",\"x-kubernetes-embedded-resource\":true,"
	                "\"x-kubernetes-preserve-unknown-fields\":true},"
	                "\"raw\":{\"type\":\"object\",\"x-kubernetes-preserve-unknown-fields\":true,"
	                "\"properties\":{\"n\":{\"type\":\"integer\"}}}}}}}";
	terr *e = check(s, OBJ("{\"template\":{\"apiVersion\":\"v1\",\"metadata\":{}}}"));
	REQUIRE(e);
	CHECK_STR(cause_field(e, 0), "spec.template.kind");
	CHECK_STR(cause_type(e, 0), "FieldValueRequired");
	CHECK_STR(cause_msg(e, 0), "Required value: must not be empty");
	terr_free(e);
	e = check(s, OBJ("{\"template\":{\"apiVersion\":\"a/b/c\",\"kind\":\"Pod\"},\"raw\":{\"n\":\"x\",\"free\":1}}"));
	REQUIRE(e);
	CHECK_INT(e->ncauses, 2);
	CHECK_STR(cause_field(e, 0), "spec.raw.n");
	CHECK_STR(cause_field(e, 1), "spec.template.apiVersion");
	CHECK_STR(cause_msg(e, 1), "Invalid value: \"a/b/c\": unexpected GroupVersion string: a/b/c");
	terr_free(e);
}

TEST(ratcheting_and_status)
{
	_cleanup_json_ json_t *s = J(crontab);
	_cleanup_json_ json_t *old = J(OBJ("{\"replicas\":20,\"image\":\"a\"}"));
	_cleanup_json_ json_t *same = J(OBJ("{\"replicas\":20,\"image\":\"b\"}"));
	_cleanup_json_ json_t *changed = J(OBJ("{\"replicas\":21,\"image\":\"a\"}"));
	terr *e = NULL;
	/* k8s: an invalid value left unchanged by an update does not fail it */
	CHECK_INT(crdschema_validate(s, same, old, "CronTab", "stable.example.com", "bad-cron", &e), 0);
	CHECK_INT(crdschema_validate(s, changed, old, "CronTab", "stable.example.com", "bad-cron", &e), -1);
	CHECK_STR(cause_field(e, 0), "spec.replicas");
	terr_free(e);
	e = NULL;
	/* the status subresource checks status alone, named under "status" */
	_cleanup_json_ json_t *st = J("{\"type\":\"object\",\"properties\":{\"replicas\":{\"type\":\"integer\"}}}");
	_cleanup_json_ json_t *sv = J("{\"replicas\":\"x\"}");
	CHECK_INT(crdschema_check(st, sv, NULL, "status", &e), 1);
	CHECK_STR(cause_field(e, 0), "status.replicas");
	CHECK_STR(cause_msg(e, 0), "Invalid value: \"string\": replicas in body must be of type integer: \"string\"");
	terr_free(e);
}

TEST(defaults)
{
	_cleanup_json_ json_t *s = J(crontab_defaults);
	/* k8s docs: a CronTab created without cronSpec and replicas reads back with both */
	_cleanup_json_ json_t *o = J(OBJ("{\"image\":\"my-awesome-cron-image\"}"));
	crdschema_default(s, o);
	CHECK_STR(json_path_str(o, "spec.cronSpec"), "5 0 * * *");
	CHECK_INT(json_integer_value(json_path(o, "spec.replicas")), 1);
	CHECK_STR(json_path_str(o, "spec.image"), "my-awesome-cron-image");
	/* only where the parent exists */
	_cleanup_json_ json_t *nospec = J("{\"apiVersion\":\"stable.example.com/v1\",\"kind\":\"CronTab\",\"metadata\":{\"name\":\"x\"}}");
	crdschema_default(s, nospec);
	CHECK(json_object_get(nospec, "spec") == NULL);
	/* a set value stays; a non-nullable null takes the default */
	_cleanup_json_ json_t *set = J(OBJ("{\"replicas\":3,\"cronSpec\":null}"));
	crdschema_default(s, set);
	CHECK_INT(json_integer_value(json_path(set, "spec.replicas")), 3);
	CHECK_STR(json_path_str(set, "spec.cronSpec"), "5 0 * * *");
	/* nested: an object default is applied, pruned, then defaulted inside; array items too */
	_cleanup_json_ json_t *n = J("{\"type\":\"object\",\"properties\":{\"spec\":{\"type\":\"object\",\"default\":{\"junk\":1},"
	                             "\"properties\":{\"mode\":{\"type\":\"string\",\"default\":\"auto\"},"
	                             "\"items\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{"
	                             "\"w\":{\"type\":\"integer\",\"default\":7}}}}}}}}");
	_cleanup_json_ json_t *x = J("{\"items\":[{},{\"w\":2}]}");
	json_t *root = json_pack("{s:s}", "kind", "T");
	crdschema_default(n, root);
	_cleanup_free_ char *dumped = json_dump_compact(json_object_get(root, "spec"));
	CHECK_STR(dumped, "{\"mode\":\"auto\"}");
	json_object_set(root, "spec", x);
	crdschema_default(n, root);
	CHECK_INT(json_integer_value(json_object_get(json_array_get(json_object_get(x, "items"), 0), "w")), 7);
	CHECK_INT(json_integer_value(json_object_get(json_array_get(json_object_get(x, "items"), 1), "w")), 2);
	json_decref(root);
}

TEST(prune)
{
	const char *schema = "{\"type\":\"object\",\"properties\":{\"spec\":{\"type\":\"object\",\"properties\":{"
	                     "\"cronSpec\":{\"type\":\"string\"},\"replicas\":{\"type\":\"integer\"},"
	                     "\"list\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"}}}},"
	                     "\"free\":{\"type\":\"object\",\"x-kubernetes-preserve-unknown-fields\":true,"
	                     "\"properties\":{\"known\":{\"type\":\"object\",\"properties\":{\"k\":{\"type\":\"string\"}}}}},"
	                     "\"labels\":{\"type\":\"object\",\"additionalProperties\":{\"type\":\"string\"}}}}}}";
	_cleanup_json_ json_t *s = J(schema);
	/* k8s docs: someRandomField is pruned; fieldValidation=Strict names it */
	_cleanup_json_ json_t *o = J("{\"apiVersion\":\"stable.example.com/v1\",\"kind\":\"CronTab\","
	                             "\"metadata\":{\"name\":\"my-new-cron-object\",\"bogus\":1},"
	                             "\"spec\":{\"cronSpec\":\"* * * * */5\",\"someRandomField\":42,\"replicas\":null,"
	                             "\"list\":[{\"a\":\"x\",\"b\":1}],\"labels\":{\"x\":\"y\"},"
	                             "\"free\":{\"anything\":{\"deep\":1},\"known\":{\"k\":\"v\",\"z\":2}}},"
	                             "\"status\":{\"x\":1}}");
	json_t *paths = NULL;
	crdschema_prune(s, o, &paths);
	_cleanup_free_ char *p = json_dump_compact(paths);
	CHECK_STR(p, "[\"metadata.bogus\",\"spec.free.known.z\",\"spec.list[0].b\",\"spec.someRandomField\",\"status\"]");
	json_decref(paths);
	_cleanup_free_ char *d = json_dump_compact(o);
	CHECK_STR(d, "{\"apiVersion\":\"stable.example.com/v1\",\"kind\":\"CronTab\",\"metadata\":{\"name\":\"my-new-cron-object\"},"
	             "\"spec\":{\"cronSpec\":\"* * * * */5\",\"list\":[{\"a\":\"x\"}],\"labels\":{\"x\":\"y\"},"
	             "\"free\":{\"anything\":{\"deep\":1},\"known\":{\"k\":\"v\"}}}}");
	/* without a paths array, and with no schema everything but type and object meta goes */
	_cleanup_json_ json_t *o2 = J("{\"apiVersion\":\"v\",\"kind\":\"K\",\"metadata\":{},\"spec\":{}}");
	crdschema_prune(NULL, o2, NULL);
	CHECK_INT(json_object_size(o2), 3);
}
