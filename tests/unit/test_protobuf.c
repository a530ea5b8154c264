/* test_protobuf.c — the protobuf <-> JSON transcoder (api/protobuf.h).
 *
 * Three kinds of evidence: hand-built byte vectors for small local schema types (each field
 * commented with its number and wire type), the value rules of Go (durations, RFC 3339,
 * base64, UTF-8 repair), and bodies captured from the real kubectl v1.32 `create`
 * subcommands, which must decode to exactly what `kubectl create ... --dry-run=client
 * -o json` prints for the same object (Go's own JSON of it) and encode back to the same
 * bytes. Expected JSON is written with ' for " to stay readable.
 */
#include "test.h"

#include "api/pb-internal.h"
#include "api/protobuf.h"
#include "base/base64.h"
#include "base/util.h"

/* ---- helpers ---- */

static char *unquote(const char *s)
{
	char *r = xstrdup(s);
	for (char *p = r; *p; p++)
		if (*p == '\'')
			*p = '"';
	return r;
}

#define CHECK_JSON(j, want)                                                              \
	do {                                                                             \
		char *got_ = (j) ? json_dumps((j), JSON_COMPACT) : NULL;                   \
		char *want_ = unquote(want);                                             \
		CHECK_STR(got_, want_);                                                  \
		free(got_);                                                              \
		free(want_);                                                             \
	} while (0)

/* Decodes a string literal of bytes as a message of type t. */
#define DEC(lit, t, errp) pb_decode_message((const uint8_t *)(lit), sizeof(lit) - 1, (t), (errp))

/* Expects decoding to fail with 400 BadRequest. */
#define CHECK_BAD(lit, t)                                                                \
	do {                                                                             \
		terr *e_ = NULL;                                                         \
		json_t *j_ = DEC(lit, t, &e_);                                          \
		CHECK(j_ == NULL);                                                       \
		CHECK(e_ && e_->code == 400 && str_eq(e_->reason, "BadRequest"));       \
		json_decref(j_);                                                         \
		terr_free(e_);                                                           \
	} while (0)

/* ---- local schema types (shaped like their Kubernetes namesakes) ---- */

#define F(j, n, k, fl) {.json = j, .proto = n, .kind = k, .flags = fl}
#define FT(j, n, k, fl, ty) {.json = j, .proto = n, .kind = k, .flags = fl, .type = ty}
#define FE(j, n, k, e, fl, ty) {.json = j, .proto = n, .kind = k, .elem = e, .flags = fl, .type = ty}
#define TYPE(var, nm, arr) static const schema_type var = {.name = nm, .fields = arr, .nfields = ARRAY_SIZE(arr)}
enum { OE = SCHEMA_F_OMITEMPTY, PT = SCHEMA_F_POINTER };

static const schema_field meta_f[] = {
	F("name", 1, SCHEMA_STRING, OE),
	F("namespace", 3, SCHEMA_STRING, OE),
	F("generation", 7, SCHEMA_INT64, OE),
	F("creationTimestamp", 8, SCHEMA_TIME, OE),
	F("deletionTimestamp", 9, SCHEMA_TIME, OE | PT),
	FE("labels", 11, SCHEMA_MAP, SCHEMA_STRING, OE, NULL),
};
TYPE(t_meta, "test.ObjectMeta", meta_f);

static const schema_field cm_f[] = {
	F("kind", 0, SCHEMA_STRING, OE),
	F("apiVersion", 0, SCHEMA_STRING, OE),
	FT("metadata", 1, SCHEMA_OBJECT, OE, &t_meta),
	F("immutable", 4, SCHEMA_BOOL, OE | PT),
	FE("data", 2, SCHEMA_MAP, SCHEMA_STRING, OE, NULL),
	FE("binaryData", 3, SCHEMA_MAP, SCHEMA_BYTES, OE, NULL),
};
TYPE(t_cm, "test.ConfigMap", cm_f);

static const schema_field exec_f[] = {FE("command", 1, SCHEMA_ARRAY, SCHEMA_STRING, OE, NULL)};
TYPE(t_exec, "test.ExecAction", exec_f);
static const schema_field handler_f[] = {FT("exec", 1, SCHEMA_OBJECT, OE | PT, &t_exec)};
TYPE(t_handler, "test.ProbeHandler", handler_f);
static const schema_field probe_f[] = {
	FT("ProbeHandler", 1, SCHEMA_OBJECT, SCHEMA_F_INLINE, &t_handler),
	F("initialDelaySeconds", 2, SCHEMA_INT32, OE),
};
TYPE(t_probe, "test.Probe", probe_f);
static const schema_field port_f[] = {
	F("name", 1, SCHEMA_STRING, OE),
	F("containerPort", 3, SCHEMA_INT32, 0),
};
TYPE(t_port, "test.ContainerPort", port_f);
static const schema_field container_f[] = {
	F("name", 1, SCHEMA_STRING, 0),
	F("image", 2, SCHEMA_STRING, OE),
	FE("args", 4, SCHEMA_ARRAY, SCHEMA_STRING, OE, NULL),
	FE("ports", 6, SCHEMA_ARRAY, SCHEMA_OBJECT, OE, &t_port),
	FT("livenessProbe", 10, SCHEMA_OBJECT, OE | PT, &t_probe),
};
TYPE(t_container, "test.Container", container_f);
static const schema_field ru_f[] = {
	F("maxUnavailable", 1, SCHEMA_INT_OR_STRING, OE | PT),
	F("maxSurge", 2, SCHEMA_INT_OR_STRING, OE | PT),
};
TYPE(t_ru, "test.RollingUpdateDeployment", ru_f);
static const schema_field strategy_f[] = {
	F("type", 1, SCHEMA_STRING, OE),
	FT("rollingUpdate", 2, SCHEMA_OBJECT, OE | PT, &t_ru),
};
TYPE(t_strategy, "test.DeploymentStrategy", strategy_f);
static const schema_field spec_f[] = {
	F("replicas", 1, SCHEMA_INT32, OE | PT),
	FE("containers", 3, SCHEMA_ARRAY, SCHEMA_OBJECT, 0, &t_container),
	FT("strategy", 4, SCHEMA_OBJECT, OE, &t_strategy),
	F("minReadySeconds", 5, SCHEMA_INT32, OE),
	F("paused", 7, SCHEMA_BOOL, OE),
	F("progressDeadlineSeconds", 9, SCHEMA_INT32, OE | PT),
	FE("offsets", 10, SCHEMA_ARRAY, SCHEMA_INT32, OE, NULL),
	F("timeout", 11, SCHEMA_DURATION, 0),
	F("quota", 12, SCHEMA_QUANTITY, OE),
	F("lastProbe", 13, SCHEMA_MICROTIME, OE | PT),
	F("extra", 14, SCHEMA_RAW, OE | PT),
	F("weight", 15, SCHEMA_DOUBLE, OE),
};
TYPE(t_spec, "test.DeploymentSpec", spec_f);
static const schema_field status_f[] = {
	F("replicas", 2, SCHEMA_INT32, OE),
	FE("conditions", 6, SCHEMA_ARRAY, SCHEMA_OBJECT, OE, &t_port),
};
TYPE(t_status, "test.DeploymentStatus", status_f);
static const schema_field deploy_f[] = {
	F("kind", 0, SCHEMA_STRING, OE),
	F("apiVersion", 0, SCHEMA_STRING, OE),
	FT("metadata", 1, SCHEMA_OBJECT, OE, &t_meta),
	FT("spec", 2, SCHEMA_OBJECT, OE, &t_spec),
	FT("status", 3, SCHEMA_OBJECT, OE, &t_status),
};
TYPE(t_deploy, "test.Deployment", deploy_f);

static const schema_field zero_f[] = {
	F("s", 1, SCHEMA_STRING, 0),
	F("so", 2, SCHEMA_STRING, OE),
	F("sp", 3, SCHEMA_STRING, OE | PT),
	F("b", 4, SCHEMA_BOOL, 0),
	F("i", 5, SCHEMA_INT64, OE),
	FE("arr", 6, SCHEMA_ARRAY, SCHEMA_STRING, 0, NULL),
	FE("m", 7, SCHEMA_MAP, SCHEMA_STRING, 0, NULL),
	F("t", 8, SCHEMA_TIME, 0),
	F("tp", 9, SCHEMA_TIME, PT),
	F("raw", 10, SCHEMA_RAW, 0),
	F("q", 11, SCHEMA_QUANTITY, OE),
	F("ios", 12, SCHEMA_INT_OR_STRING, 0),
	F("by", 13, SCHEMA_BYTES, OE),
	F("by2", 14, SCHEMA_BYTES, 0),
	FT("obj", 15, SCHEMA_OBJECT, OE, &t_exec),
	FT("objp", 16, SCHEMA_OBJECT, PT, &t_exec),
	F("d", 17, SCHEMA_DOUBLE, 0),
};
TYPE(t_zero, "test.Zero", zero_f);

static const schema_type t_rec;
static const schema_field rec_f[] = {FT("child", 1, SCHEMA_OBJECT, OE | PT, &t_rec)};
static const schema_type t_rec = {.name = "test.Recursive", .fields = rec_f, .nfields = 1};

/* ---- decoding hand-built messages ---- */

/* A ConfigMap-like message, not canonical: labels arrive unsorted and the optional parts
 * of ObjectMeta are left out. 2024-01-02T03:04:05Z is 1704164645 s. */
static const char cm_bytes[] =
	"\x0a\x24"                                 /* 1 metadata, 36 bytes */
	"\x0a\x02" "cm"                            /*   1 name */
	"\x1a\x02" "ns"                            /*   3 namespace */
	"\x38\x00"                                 /*   7 generation 0 */
	"\x42\x08\x08\xa5\xfa\xcd\xac\x06\x10\x00" /*   8 creationTimestamp {seconds, nanos 0} */
	"\x5a\x06\x0a\x01" "z" "\x12\x01" "1"      /*   11 labels entry z=1 */
	"\x5a\x06\x0a\x01" "a" "\x12\x01" "2"      /*   11 labels entry a=2 */
	"\x20\x00"                                 /* 4 immutable false (a pointer: kept) */
	"\x12\x06\x0a\x01" "k" "\x12\x01" "v"      /* 2 data entry k=v */
	"\x1a\x07\x0a\x01" "b" "\x12\x02\x00\xff"; /* 3 binaryData entry b=00 ff */

TEST(decode_configmap_like)
{
	terr *e = NULL;
	json_t *j = DEC(cm_bytes, &t_cm, &e);
	REQUIRE(j);
	CHECK_JSON(j, "{'metadata':{'name':'cm','namespace':'ns','creationTimestamp':"
	              "'2024-01-02T03:04:05Z','labels':{'a':'2','z':'1'}},'immutable':false,"
	              "'data':{'k':'v'},'binaryData':{'b':'AP8='}}");
	json_decref(j);
}

/* A Deployment-like message written the way go-protobuf writes it (every non-pointer field,
 * ascending numbers), so it must also encode back to the same bytes. */
static const char dep_bytes[] =
	"\x0a\x0b"                             /* 1 metadata */
	"\x0a\x03" "web" "\x1a\x00"            /*   1 name, 3 namespace "" */
	"\x38\x00\x42\x00"                     /*   7 generation 0, 8 creationTimestamp (zero) */
	"\x12\x94\x01"                         /* 2 spec, 148 bytes */
	"\x08\x00"                             /*   1 replicas 0 (pointer: kept) */
	"\x1a\x26"                             /*   3 containers[0] */
	"\x0a\x03" "web" "\x12\x05" "nginx"    /*     1 name, 2 image */
	"\x22\x01" "a" "\x22\x01" "b"          /*     4 args "a", "b" */
	"\x32\x04\x0a\x00\x18\x50"             /*     6 ports[0] {name "", containerPort 80} */
	"\x52\x0c"                             /*     10 livenessProbe */
	"\x0a\x08\x0a\x06\x0a\x04" "true"      /*       1 ProbeHandler (inline) {exec {command}} */
	"\x10\x00"                             /*       2 initialDelaySeconds 0 */
	"\x22\x24"                             /*   4 strategy */
	"\x0a\x0d" "RollingUpdate"             /*     1 type */
	"\x12\x13"                             /*     2 rollingUpdate */
	"\x0a\x06\x08\x00\x10\x01\x1a\x00"     /*       1 maxUnavailable {type Int, intVal 1} */
	"\x12\x09\x08\x01\x10\x00\x1a\x03" "25%" /*     2 maxSurge {type String, strVal} */
	"\x28\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01" /* 5 minReadySeconds -1 (10 bytes) */
	"\x38\x00"                             /*   7 paused false */
	"\x5a\x08\x08\x80\xe0\xd3\xc8\x94\x9d\x01" /* 11 timeout {duration 5400e9 ns} */
	"\x62\x06\x0a\x04" "500m"              /*   12 quota {string} */
	"\x6a\x0b\x08\xa5\xfa\xcd\xac\x06\x10\x80\x94\xef\x3a" /* 13 lastProbe, nanos 123456000 */
	"\x72\x0d\x0a\x0b" "{\"a\":[1,2]}"     /*   14 extra {raw} */
	"\x79\x00\x00\x00\x00\x00\x00\xe0\x3f" /*   15 weight 0.5 (fixed64) */
	"\x1a\x02\x10\x00";                    /* 3 status {2 replicas 0} */

static const char dep_json[] =
	"{'metadata':{'name':'web','creationTimestamp':null},"
	"'spec':{'replicas':0,'containers':[{'name':'web','image':'nginx','args':['a','b'],"
	"'ports':[{'containerPort':80}],'livenessProbe':{'exec':{'command':['true']}}}],"
	"'strategy':{'type':'RollingUpdate','rollingUpdate':{'maxUnavailable':1,'maxSurge':'25%'}},"
	"'minReadySeconds':-1,'timeout':'1h30m0s','quota':'500m',"
	"'lastProbe':'2024-01-02T03:04:05.123456Z','extra':{'a':[1,2]},'weight':0.5},"
	"'status':{}}";

TEST(decode_deployment_like)
{
	terr *e = NULL;
	CHECK_INT(sizeof dep_bytes - 1, 168);
	json_t *j = DEC(dep_bytes, &t_deploy, &e);
	REQUIRE(j);
	CHECK_JSON(j, dep_json);
	json_decref(j);
}

TEST(roundtrip_deployment_like)
{
	terr *e = NULL;
	json_t *j = DEC(dep_bytes, &t_deploy, &e);
	REQUIRE(j);
	buf b = {0};
	CHECK_INT(pb_encode_message(j, &t_deploy, &b, &e), 0);
	CHECK_INT(b.n, sizeof dep_bytes - 1);
	CHECK(b.n == sizeof dep_bytes - 1 && memcmp(b.p, dep_bytes, b.n) == 0);
	buf_free(&b);
	json_decref(j);
}

TEST(zero_values_of_absent_fields)
{
	/* Go prints what a field it never set holds: "" and false for plain scalars, null for
	 * nil slices, maps, pointers and the zero Time, "0" for the zero Quantity, 0 for the
	 * zero IntOrString, and structs in full; omitempty drops only false/0/""/nil/empty. */
	terr *e = NULL;
	json_t *j = DEC("", &t_zero, &e);
	REQUIRE(j);
	CHECK_JSON(j, "{'s':'','b':false,'arr':null,'m':null,'t':null,'tp':null,'raw':null,"
	              "'q':'0','ios':0,'by2':null,'obj':{},'objp':null,'d':0}");
	json_decref(j);
}

TEST(zero_values_present_on_the_wire)
{
	terr *e = NULL;
	json_t *j = DEC("\x12\x00"         /* 2 so "" (omitempty: dropped) */
	                "\x1a\x00"         /* 3 sp "" (pointer: kept) */
	                "\x28\x00"         /* 5 i 0 (omitempty: dropped) */
	                "\x42\x04\x08\x00\x10\x00" /* 8 t {seconds 0}: the epoch, not zero */
	                "\x4a\x00"         /* 9 tp empty: the zero time -> null */
	                "\x6a\x00"         /* 13 by empty (omitempty: dropped) */
	                "\x72\x00"         /* 14 by2 empty but non-nil: "" */
	                "\x7a\x00",        /* 15 obj {} */
	                &t_zero, &e);
	REQUIRE(j);
	CHECK_JSON(j, "{'s':'','sp':'','b':false,'arr':null,'m':null,"
	              "'t':'1970-01-01T00:00:00Z','tp':null,'raw':null,'q':'0','ios':0,'by2':'',"
	              "'obj':{},'objp':null,'d':0}");
	json_decref(j);
}

TEST(unknown_fields_skipped)
{
	terr *e = NULL;
	json_t *j = DEC("\x28\x96\x01"                     /* 5 varint */
	                "\x31\x01\x02\x03\x04\x05\x06\x07\x08" /* 6 fixed64 */
	                "\x0a\x01" "x"                     /* 1 command "x" */
	                "\x3a\x03" "abc"                   /* 7 bytes */
	                "\x45\x01\x02\x03\x04"             /* 8 fixed32 */
	                "\x4b\x08\x01\x53\x0a\x00\x54\x4c" /* 9 group holding a group */
	                "\xc0\x3e\x01"                     /* 1000 varint */
	                "\x0a\x01" "y",                    /* 1 command "y" */
	                &t_exec, &e);
	REQUIRE(j);
	CHECK_JSON(j, "{'command':['x','y']}");
	json_decref(j);
}

TEST(repeated_scalars_packed_and_unpacked)
{
	terr *e = NULL;
	json_t *j = DEC("\x50\x01\x50\x02"                 /* 10 offsets 1, 2 (unpacked) */
	                "\x52\x0b\x03\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", /* packed 3, -1 */
	                &t_spec, &e);
	REQUIRE(j);
	CHECK_JSON(json_object_get(j, "offsets"), "[1,2,3,-1]");
	/* proto2 repeated scalars are written unpacked. */
	buf b = {0};
	json_t *o = json_pack("{s:[i,i]}", "offsets", 7, 8);
	REQUIRE(pb_encode_message(o, &t_spec, &b, &e) == 0);
	CHECK(memmem(b.p, b.n, "\x50\x07\x50\x08", 4) != NULL);
	buf_free(&b);
	json_decref(o);
	json_decref(j);
}

TEST(message_field_twice_is_merged)
{
	/* k8s/proto: a singular message seen twice is the merge of both. */
	terr *e = NULL;
	json_t *j = DEC("\x22\x0f\x0a\x0d" "RollingUpdate"
	                "\x22\x0a\x12\x08\x0a\x06\x08\x00\x10\x02\x1a\x00",
	                &t_spec, &e);
	REQUIRE(j);
	CHECK_JSON(json_object_get(j, "strategy"),
	           "{'type':'RollingUpdate','rollingUpdate':{'maxUnavailable':2}}");
	json_decref(j);
}

TEST(strings_repaired_like_go)
{
	/* Go's JSON encoder turns each invalid UTF-8 byte into U+FFFD. */
	terr *e = NULL;
	json_t *j = DEC("\x0a\x05" "a\xff" "b\xc3\xa9", &t_exec, &e);
	REQUIRE(j);
	CHECK_STR(json_string_value(json_array_get(json_object_get(j, "command"), 0)),
	          "a\xef\xbf\xbd" "b\xc3\xa9");
	json_decref(j);
	json_t *s = pb_json_string((const uint8_t *)"\xed\xa0\x80\xc0\xaf", 5); /* surrogate, overlong */
	CHECK_STR(json_string_value(s), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	json_decref(s);
	CHECK(pb_utf8_valid((const uint8_t *)"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9));
	CHECK(!pb_utf8_valid((const uint8_t *)"\xf4\x90\x80\x80", 4)); /* above U+10FFFF */
}

/* ---- malformed input ---- */

TEST(malformed_rejected)
{
	CHECK_BAD("\x08\x80", &t_spec);                   /* truncated varint */
	CHECK_BAD("\x08\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x00", &t_spec); /* 11-byte varint */
	CHECK_BAD("\x80", &t_spec);                       /* truncated tag */
	CHECK_BAD("\x0a\x05" "a", &t_exec);               /* length past the end */
	CHECK_BAD("\x0a\xff\xff\xff\xff\x0f" "a", &t_exec); /* huge length */
	CHECK_BAD("\x08\x01", &t_exec);                   /* command: varint, wants bytes */
	CHECK_BAD("\x0a\x01" "x", &t_spec);               /* replicas: bytes, wants varint */
	CHECK_BAD("\x0c", &t_exec);                       /* end group without a group */
	CHECK_BAD("\x0e\x00", &t_exec);                   /* wire type 6 */
	CHECK_BAD("\x0f\x00", &t_exec);                   /* wire type 7 */
	CHECK_BAD("\x02\x00", &t_exec);                   /* field number 0 */
	CHECK_BAD("\x4b\x08\x01", &t_exec);               /* unterminated group */
	CHECK_BAD("\x31\x01\x02", &t_exec);               /* truncated fixed64 */
	CHECK_BAD("\x45\x01", &t_exec);                   /* truncated fixed32 */
	CHECK_BAD("\x52\x02\x01\x80", &t_spec);           /* truncated packed varint */
	CHECK_BAD("\x62\x02\x0a\x00", &t_spec);           /* empty quantity string */
	CHECK_BAD("\x72\x03\x0a\x01" "{", &t_spec);       /* raw that is not JSON */
	CHECK_BAD("\x79\x00\x00\x00\x00\x00\x00\xf8\x7f", &t_spec); /* weight NaN */
	CHECK_BAD("\x6a\x0c\x08\xff\xff\xff\xff\xff\xff\xff\xff\x7f\x10\x00", &t_spec); /* year */
	CHECK_BAD("\x22\x0a\x12\x08\x0a\x06\x08\x02\x10\x01\x1a\x00", &t_spec); /* IntOrString type 2 */
	CHECK_BAD("\x12\x07\x0a\x02" "a\x00" "\x12\x01" "v", &t_cm); /* map key with NUL */
	CHECK_BAD("\x12\x04\x0a\x00\x10\x01", &t_cm);      /* map value: varint, wants bytes */
	CHECK_BAD("\x12\x03\x0a\x05" "a", &t_cm);          /* map entry: length past its end */
}

/* k nested child messages of test.Recursive: 0a len (0a len (...)). */
static buf nested(int k)
{
	buf b = {0};
	for (int i = 0; i < k; i++) {
		buf o = {0};
		pb_put_len(&o, 1, b.p, b.n);
		buf_free(&b);
		b = o;
	}
	return b;
}

TEST(nesting_limit)
{
	terr *e = NULL;
	buf ok = nested(PB_MAX_DEPTH), deep = nested(PB_MAX_DEPTH + 1);
	json_t *j = pb_decode_message((const uint8_t *)ok.p, ok.n, &t_rec, &e);
	CHECK(j != NULL);
	json_decref(j);
	j = pb_decode_message((const uint8_t *)deep.p, deep.n, &t_rec, &e);
	CHECK(j == NULL && e && e->code == 400);
	terr_free(e);
	buf_free(&ok);
	buf_free(&deep);
	/* Groups nested past the limit inside an unknown field. */
	buf g = {0};
	for (int i = 0; i < PB_MAX_DEPTH + 2; i++)
		buf_add(&g, "\x4b", 1);
	e = NULL;
	j = pb_decode_message((const uint8_t *)g.p, g.n, &t_exec, &e);
	CHECK(j == NULL && e && e->code == 400);
	terr_free(e);
	buf_free(&g);
}

/* ---- values ---- */

TEST(durations_like_go)
{
	/* Go's time.Duration.String() outputs. */
	static const struct {
		int64_t ns;
		const char *s;
	} fmt[] = {
		{0, "0s"},
		{1, "1ns"},
		{1500, "1.5\xc2\xb5s"},
		{1000000, "1ms"},
		{1500000000, "1.5s"},
		{90000000000, "1m30s"},
		{-90000000000, "-1m30s"},
		{3600000000000, "1h0m0s"},
		{INT64_MAX, "2562047h47m16.854775807s"},
		{INT64_MIN, "-2562047h47m16.854775808s"},
	};
	char out[40];
	for (size_t i = 0; i < ARRAY_SIZE(fmt); i++) {
		pb_duration_format(fmt[i].ns, out);
		CHECK_STR(out, fmt[i].s);
	}
	static const struct {
		const char *s;
		int64_t ns;
		int rc;
	} parse[] = {
		{"1h30m", 5400000000000, 0},
		{"1.5h", 5400000000000, 0},
		{"300ms", 300000000, 0},
		{"-1.5s", -1500000000, 0},
		{"+5s", 5000000000, 0},
		{".5s", 500000000, 0},
		{"5.s", 5000000000, 0},
		{"0", 0, 0},
		{"1\xc2\xb5s", 1000, 0},
		{"1\xce\xbcs", 1000, 0},
		{"2562047h47m16.854775807s", INT64_MAX, 0},
		{"-9223372036854775808ns", INT64_MIN, 0},
		{"9223372036854775808ns", 0, -1},
		{"", 0, -1},
		{"1", 0, -1},
		{"1x", 0, -1},
		{".", 0, -1},
		{"-", 0, -1},
		{"1h-2m", 0, -1},
	};
	for (size_t i = 0; i < ARRAY_SIZE(parse); i++) {
		int64_t ns = 0;
		int rc = pb_duration_parse(parse[i].s, strlen(parse[i].s), &ns);
		CHECK_INT(rc, parse[i].rc);
		if (rc == 0)
			CHECK_INT(ns, parse[i].ns);
	}
}

TEST(times_like_go)
{
	char out[40];
	CHECK_INT(pb_time_format(1136214245, 0, false, out), 0);
	CHECK_STR(out, "2006-01-02T15:04:05Z");
	CHECK_INT(pb_time_format(1136214245, 123456789, true, out), 0);
	CHECK_STR(out, "2006-01-02T15:04:05.123456Z");
	CHECK_INT(pb_time_format(-1, 0, false, out), 0);
	CHECK_STR(out, "1969-12-31T23:59:59Z");
	CHECK_INT(pb_time_format(PB_TIME_MIN_SEC, 0, false, out), 0);
	CHECK_STR(out, "0001-01-01T00:00:00Z");
	CHECK_INT(pb_time_format(PB_TIME_MAX_SEC, 0, false, out), 0);
	CHECK_STR(out, "9999-12-31T23:59:59Z");
	CHECK_INT(pb_time_format(PB_TIME_MAX_SEC + 1, 0, false, out), -1);
	CHECK_INT(pb_time_format(INT64_MIN, 0, false, out), -1);
	CHECK_INT(pb_time_format(1709164800, 0, false, out), 0);
	CHECK_STR(out, "2024-02-29T00:00:00Z");

	int64_t sec;
	int32_t ns;
	CHECK_INT(pb_time_parse("2006-01-02T15:04:05Z", 20, &sec, &ns), 0);
	CHECK_INT(sec, 1136214245);
	CHECK_INT(pb_time_parse("2006-01-02T15:04:05.5+01:00", 27, &sec, &ns), 0);
	CHECK_INT(sec, 1136214245 - 3600);
	CHECK_INT(ns, 500000000);
	CHECK_INT(pb_time_parse("1969-12-31T23:59:59Z", 20, &sec, &ns), 0);
	CHECK_INT(sec, -1);
	CHECK_INT(pb_time_parse("2023-02-29T00:00:00Z", 20, &sec, &ns), -1);
	CHECK_INT(pb_time_parse("2006-01-02 15:04:05Z", 20, &sec, &ns), -1);
	CHECK_INT(pb_time_parse("2006-01-02T15:04:05", 19, &sec, &ns), -1);
	CHECK_INT(pb_time_parse("2006-01-02T24:00:00Z", 20, &sec, &ns), -1);
	CHECK_INT(pb_time_parse("2006-01-02T15:04:05.Z", 21, &sec, &ns), -1);
}

TEST(base64_like_go)
{
	static const char *enc[][2] = {{"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}};
	for (size_t i = 0; i < ARRAY_SIZE(enc); i++) {
		char *s = base64_encode(enc[i][0], strlen(enc[i][0]));
		CHECK_STR(s, enc[i][1]);
		free(s);
		buf b = {0};
		CHECK_INT(pb_base64_decode(enc[i][1], strlen(enc[i][1]), &b), 0);
		CHECK(b.n == strlen(enc[i][0]) && (!b.n || memcmp(b.p, enc[i][0], b.n) == 0));
		buf_free(&b);
	}
	buf b = {0};
	CHECK_INT(pb_base64_decode("Zm9v\r\nYmFy", 10, &b), 0); /* CR/LF ignored */
	CHECK(b.n == 6 && memcmp(b.p, "foobar", 6) == 0);
	buf_free(&b);
	static const char *bad[] = {"Zg", "Zg=", "Z===", "Zm9v=", "Zg==Zg==", "Zm9*"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		buf c = {0};
		CHECK_INT(pb_base64_decode(bad[i], strlen(bad[i]), &c), -1);
		buf_free(&c);
	}
}

/* ---- encoding ---- */

TEST(encode_zero_values_like_gogo)
{
	/* Non-pointer fields are written even when zero; pointers, nil slices/maps and nil
	 * []byte are not; map entries come sorted. */
	terr *e = NULL;
	json_t *o = json_pack("{s:{s:s,s:s}}", "data", "b", "2", "a", "1");
	buf b = {0};
	REQUIRE(pb_encode_message(o, &t_cm, &b, &e) == 0);
	static const char want[] = "\x0a\x08\x0a\x00\x1a\x00\x38\x00" "\x42\x00" /* metadata */
	                           "\x12\x06\x0a\x01" "a" "\x12\x01" "1"
	                           "\x12\x06\x0a\x01" "b" "\x12\x01" "2";
	CHECK(b.n == sizeof want - 1 && memcmp(b.p, want, b.n) == 0);
	buf_free(&b);
	json_decref(o);

	o = json_pack("{s:i}", "ios", 3);
	REQUIRE(pb_encode_message(o, &t_zero, &b, &e) == 0);
	static const char want2[] = "\x0a\x00"                      /* 1 s "" */
	                            "\x12\x00"                      /* 2 so "" */
	                            "\x20\x00\x28\x00"              /* 4 b, 5 i */
	                            "\x42\x00"                      /* 8 t: zero time */
	                            "\x52\x00"                      /* 10 raw: nil */
	                            "\x5a\x03\x0a\x01" "0"          /* 11 q "0" */
	                            "\x62\x06\x08\x00\x10\x03\x1a\x00" /* 12 ios 3 */
	                            "\x7a\x00"                      /* 15 obj {} */
	                            "\x89\x01\x00\x00\x00\x00\x00\x00\x00\x00"; /* 17 d 0.0 */
	CHECK(b.n == sizeof want2 - 1 && memcmp(b.p, want2, b.n) == 0);
	buf_free(&b);
	json_decref(o);
}

TEST(encode_type_mismatch_is_internal_error)
{
	terr *e = NULL;
	buf b = {0};
	json_t *o = json_pack("{s:{s:i}}", "data", "a", 1);
	CHECK_INT(pb_encode_message(o, &t_cm, &b, &e), -1);
	CHECK(e && e->code == 500);
	terr_free(e);
	json_decref(o);
	e = NULL;
	o = json_pack("{s:{s:i}}", "spec", "replicas", 0);
	json_object_set_new(json_object_get(o, "spec"), "replicas", json_integer(1LL << 31));
	CHECK_INT(pb_encode_message(o, &t_deploy, &b, &e), -1);
	CHECK(e && e->code == 500);
	terr_free(e);
	json_decref(o);
	buf_free(&b);
}

/* ---- real kubectl bodies, with the real schema table ---- */

static const struct capture {
	const char *cmd;
	const char *bytes;
	size_t n;
	const char *json;
} captures[] = {
	/* Captured from kubectl v1.32 against a recording HTTP endpoint; the JSON is what
	 * `kubectl create ... --dry-run=client -o json` prints for the same command. */
	{"kubectl create configmap cm --from-literal=a=1 --from-literal=b=2",
	 "\x6b\x38\x73\x00\x0a\x0f\x0a\x02\x76\x31\x12\x09\x43\x6f\x6e\x66\x69\x67\x4d\x61\x70\x12\x24\x0a"
	 "\x12\x0a\x02\x63\x6d\x12\x00\x1a\x00\x22\x00\x2a\x00\x32\x00\x38\x00\x42\x00\x12\x06\x0a\x01\x61"
	 "\x12\x01\x31\x12\x06\x0a\x01\x62\x12\x01\x32\x1a\x00\x22\x00"
	 ,
	 63,
	 "{\"kind\":\"ConfigMap\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"cm\",\"creationTimestamp\":null},"
	 "\"data\":{\"a\":\"1\",\"b\":\"2\"}}"
	},
	{"kubectl create deployment nginx --image=nginx",
	 "\x6b\x38\x73\x00\x0a\x15\x0a\x07\x61\x70\x70\x73\x2f\x76\x31\x12\x0a\x44\x65\x70\x6c\x6f\x79\x6d"
	 "\x65\x6e\x74\x12\xb3\x01\x0a\x23\x0a\x05\x6e\x67\x69\x6e\x78\x12\x00\x1a\x00\x22\x00\x2a\x00\x32"
	 "\x00\x38\x00\x42\x00\x5a\x0c\x0a\x03\x61\x70\x70\x12\x05\x6e\x67\x69\x6e\x78\x12\x7e\x08\x01\x12"
	 "\x0e\x0a\x0c\x0a\x03\x61\x70\x70\x12\x05\x6e\x67\x69\x6e\x78\x1a\x62\x0a\x1e\x0a\x00\x12\x00\x1a"
	 "\x00\x22\x00\x2a\x00\x32\x00\x38\x00\x42\x00\x5a\x0c\x0a\x03\x61\x70\x70\x12\x05\x6e\x67\x69\x6e"
	 "\x78\x12\x40\x12\x22\x0a\x05\x6e\x67\x69\x6e\x78\x12\x05\x6e\x67\x69\x6e\x78\x2a\x00\x42\x00\x6a"
	 "\x00\x72\x00\x80\x01\x00\x88\x01\x00\x90\x01\x00\xa2\x01\x00\x1a\x00\x32\x00\x42\x00\x4a\x00\x52"
	 "\x00\x58\x00\x60\x00\x68\x00\x82\x01\x00\x8a\x01\x00\x9a\x01\x00\xc2\x01\x00\x22\x02\x0a\x00\x28"
	 "\x00\x38\x00\x1a\x0c\x08\x00\x10\x00\x18\x00\x20\x00\x28\x00\x38\x00\x1a\x00\x22\x00"
	 ,
	 213,
	 "{\"kind\":\"Deployment\",\"apiVersion\":\"apps/v1\",\"metadata\":{\"name\":\"nginx\",\"creationTimestam"
	 "p\":null,\"labels\":{\"app\":\"nginx\"}},\"spec\":{\"replicas\":1,\"selector\":{\"matchLabels\":{\"app\":"
	 "\"nginx\"}},\"template\":{\"metadata\":{\"creationTimestamp\":null,\"labels\":{\"app\":\"nginx\"}},\"sp"
	 "ec\":{\"containers\":[{\"name\":\"nginx\",\"image\":\"nginx\",\"resources\":{}}]}},\"strategy\":{}},\"st"
	 "atus\":{}}"
	},
	{"kubectl create secret generic s --from-literal=k=v",
	 "\x6b\x38\x73\x00\x0a\x0c\x0a\x02\x76\x31\x12\x06\x53\x65\x63\x72\x65\x74\x12\x1d\x0a\x11\x0a\x01"
	 "\x73\x12\x00\x1a\x00\x22\x00\x2a\x00\x32\x00\x38\x00\x42\x00\x12\x06\x0a\x01\x6b\x12\x01\x76\x1a"
	 "\x00\x1a\x00\x22\x00"
	 ,
	 53,
	 "{\"kind\":\"Secret\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"s\",\"creationTimestamp\":null},\"dat"
	 "a\":{\"k\":\"dg==\"}}"
	},
	{"kubectl create service clusterip svc --tcp=80:8080",
	 "\x6b\x38\x73\x00\x0a\x0d\x0a\x02\x76\x31\x12\x07\x53\x65\x72\x76\x69\x63\x65\x12\x69\x0a\x1f\x0a"
	 "\x03\x73\x76\x63\x12\x00\x1a\x00\x22\x00\x2a\x00\x32\x00\x38\x00\x42\x00\x5a\x0a\x0a\x03\x61\x70"
	 "\x70\x12\x03\x73\x76\x63\x12\x42\x0a\x1b\x0a\x07\x38\x30\x2d\x38\x30\x38\x30\x12\x03\x54\x43\x50"
	 "\x18\x50\x22\x07\x08\x00\x10\x90\x3f\x1a\x00\x28\x00\x12\x0a\x0a\x03\x61\x70\x70\x12\x03\x73\x76"
	 "\x63\x1a\x00\x22\x09\x43\x6c\x75\x73\x74\x65\x72\x49\x50\x3a\x00\x42\x00\x52\x00\x5a\x00\x60\x00"
	 "\x68\x00\x1a\x02\x0a\x00\x1a\x00\x22\x00"
	 ,
	 130,
	 "{\"kind\":\"Service\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"svc\",\"creationTimestamp\":null,\"l"
	 "abels\":{\"app\":\"svc\"}},\"spec\":{\"ports\":[{\"name\":\"80-8080\",\"protocol\":\"TCP\",\"port\":80,\"tar"
	 "getPort\":8080}],\"selector\":{\"app\":\"svc\"},\"type\":\"ClusterIP\"},\"status\":{\"loadBalancer\":{}"
	 "}}"
	},
	{"kubectl create poddisruptionbudget pdb --selector=app=x --min-available=50%",
	 "\x6b\x38\x73\x00\x0a\x20\x0a\x09\x70\x6f\x6c\x69\x63\x79\x2f\x76\x31\x12\x13\x50\x6f\x64\x44\x69"
	 "\x73\x72\x75\x70\x74\x69\x6f\x6e\x42\x75\x64\x67\x65\x74\x12\x3a\x0a\x13\x0a\x03\x70\x64\x62\x12"
	 "\x00\x1a\x00\x22\x00\x2a\x00\x32\x00\x38\x00\x42\x00\x12\x17\x0a\x09\x08\x01\x10\x00\x1a\x03\x35"
	 "\x30\x25\x12\x0a\x0a\x08\x0a\x03\x61\x70\x70\x12\x01\x78\x1a\x0a\x08\x00\x18\x00\x20\x00\x28\x00"
	 "\x30\x00\x1a\x00\x22\x00"
	 ,
	 102,
	 "{\"kind\":\"PodDisruptionBudget\",\"apiVersion\":\"policy/v1\",\"metadata\":{\"name\":\"pdb\",\"creatio"
	 "nTimestamp\":null},\"spec\":{\"minAvailable\":\"50%\",\"selector\":{\"matchLabels\":{\"app\":\"x\"}}},\""
	 "status\":{\"disruptionsAllowed\":0,\"currentHealthy\":0,\"desiredHealthy\":0,\"expectedPods\":0}}"
	},
	{"kubectl create quota q --hard=cpu=1,memory=1Gi,pods=10",
	 "\x6b\x38\x73\x00\x0a\x13\x0a\x02\x76\x31\x12\x0d\x52\x65\x73\x6f\x75\x72\x63\x65\x51\x75\x6f\x74"
	 "\x61\x12\x42\x0a\x11\x0a\x01\x71\x12\x00\x1a\x00\x22\x00\x2a\x00\x32\x00\x38\x00\x42\x00\x12\x2b"
	 "\x0a\x0a\x0a\x03\x63\x70\x75\x12\x03\x0a\x01\x31\x0a\x0f\x0a\x06\x6d\x65\x6d\x6f\x72\x79\x12\x05"
	 "\x0a\x03\x31\x47\x69\x0a\x0c\x0a\x04\x70\x6f\x64\x73\x12\x04\x0a\x02\x31\x30\x1a\x00\x1a\x00\x22"
	 "\x00"
	 ,
	 97,
	 "{\"kind\":\"ResourceQuota\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"q\",\"creationTimestamp\":nul"
	 "l},\"spec\":{\"hard\":{\"cpu\":\"1\",\"memory\":\"1Gi\",\"pods\":\"10\"}},\"status\":{}}"
	},
	{"kubectl create deployment d0 --image=nginx --replicas=0 --port=80",
	 "\x6b\x38\x73\x00\x0a\x15\x0a\x07\x61\x70\x70\x73\x2f\x76\x31\x12\x0a\x44\x65\x70\x6c\x6f\x79\x6d"
	 "\x65\x6e\x74\x12\xb4\x01\x0a\x1d\x0a\x02\x64\x30\x12\x00\x1a\x00\x22\x00\x2a\x00\x32\x00\x38\x00"
	 "\x42\x00\x5a\x09\x0a\x03\x61\x70\x70\x12\x02\x64\x30\x12\x84\x01\x08\x00\x12\x0b\x0a\x09\x0a\x03"
	 "\x61\x70\x70\x12\x02\x64\x30\x1a\x6b\x0a\x1b\x0a\x00\x12\x00\x1a\x00\x22\x00\x2a\x00\x32\x00\x38"
	 "\x00\x42\x00\x5a\x09\x0a\x03\x61\x70\x70\x12\x02\x64\x30\x12\x4c\x12\x2e\x0a\x05\x6e\x67\x69\x6e"
	 "\x78\x12\x05\x6e\x67\x69\x6e\x78\x2a\x00\x32\x0a\x0a\x00\x10\x00\x18\x50\x22\x00\x2a\x00\x42\x00"
	 "\x6a\x00\x72\x00\x80\x01\x00\x88\x01\x00\x90\x01\x00\xa2\x01\x00\x1a\x00\x32\x00\x42\x00\x4a\x00"
	 "\x52\x00\x58\x00\x60\x00\x68\x00\x82\x01\x00\x8a\x01\x00\x9a\x01\x00\xc2\x01\x00\x22\x02\x0a\x00"
	 "\x28\x00\x38\x00\x1a\x0c\x08\x00\x10\x00\x18\x00\x20\x00\x28\x00\x38\x00\x1a\x00\x22\x00"
	 ,
	 214,
	 "{\"kind\":\"Deployment\",\"apiVersion\":\"apps/v1\",\"metadata\":{\"name\":\"d0\",\"creationTimestamp\":"
	 "null,\"labels\":{\"app\":\"d0\"}},\"spec\":{\"replicas\":0,\"selector\":{\"matchLabels\":{\"app\":\"d0\"}}"
	 ",\"template\":{\"metadata\":{\"creationTimestamp\":null,\"labels\":{\"app\":\"d0\"}},\"spec\":{\"contai"
	 "ners\":[{\"name\":\"nginx\",\"image\":\"nginx\",\"ports\":[{\"containerPort\":80}],\"resources\":{}}]}}"
	 ",\"strategy\":{}},\"status\":{}}"
	},
	{"kubectl create ingress ing --rule=foo.com/bar*=svc1:8080,tls=my-cert",
	 "\x6b\x38\x73\x00\x0a\x1f\x0a\x14\x6e\x65\x74\x77\x6f\x72\x6b\x69\x6e\x67\x2e\x6b\x38\x73\x2e\x69"
	 "\x6f\x2f\x76\x31\x12\x07\x49\x6e\x67\x72\x65\x73\x73\x12\x5f\x0a\x13\x0a\x03\x69\x6e\x67\x12\x00"
	 "\x1a\x00\x22\x00\x2a\x00\x32\x00\x38\x00\x42\x00\x12\x44\x12\x12\x0a\x07\x66\x6f\x6f\x2e\x63\x6f"
	 "\x6d\x12\x07\x6d\x79\x2d\x63\x65\x72\x74\x1a\x2e\x0a\x07\x66\x6f\x6f\x2e\x63\x6f\x6d\x12\x23\x0a"
	 "\x21\x0a\x1f\x0a\x04\x2f\x62\x61\x72\x12\x0f\x22\x0d\x0a\x04\x73\x76\x63\x31\x12\x05\x0a\x00\x10"
	 "\x90\x3f\x1a\x06\x50\x72\x65\x66\x69\x78\x1a\x02\x0a\x00\x1a\x00\x22\x00"
	 ,
	 138,
	 "{\"kind\":\"Ingress\",\"apiVersion\":\"networking.k8s.io/v1\",\"metadata\":{\"name\":\"ing\",\"creation"
	 "Timestamp\":null},\"spec\":{\"tls\":[{\"hosts\":[\"foo.com\"],\"secretName\":\"my-cert\"}],\"rules\":[{"
	 "\"host\":\"foo.com\",\"http\":{\"paths\":[{\"path\":\"/bar\",\"pathType\":\"Prefix\",\"backend\":{\"service"
	 "\":{\"name\":\"svc1\",\"port\":{\"number\":8080}}}}]}}]},\"status\":{\"loadBalancer\":{}}}"
	},
	{"kubectl create clusterrolebinding crb --clusterrole=view --user=alice --group=devs",
	 "\x6b\x38\x73\x00\x0a\x32\x0a\x1c\x72\x62\x61\x63\x2e\x61\x75\x74\x68\x6f\x72\x69\x7a\x61\x74\x69"
	 "\x6f\x6e\x2e\x6b\x38\x73\x2e\x69\x6f\x2f\x76\x31\x12\x12\x43\x6c\x75\x73\x74\x65\x72\x52\x6f\x6c"
	 "\x65\x42\x69\x6e\x64\x69\x6e\x67\x12\x9d\x01\x0a\x13\x0a\x03\x63\x72\x62\x12\x00\x1a\x00\x22\x00"
	 "\x2a\x00\x32\x00\x38\x00\x42\x00\x12\x2a\x0a\x04\x55\x73\x65\x72\x12\x19\x72\x62\x61\x63\x2e\x61"
	 "\x75\x74\x68\x6f\x72\x69\x7a\x61\x74\x69\x6f\x6e\x2e\x6b\x38\x73\x2e\x69\x6f\x1a\x05\x61\x6c\x69"
	 "\x63\x65\x22\x00\x12\x2a\x0a\x05\x47\x72\x6f\x75\x70\x12\x19\x72\x62\x61\x63\x2e\x61\x75\x74\x68"
	 "\x6f\x72\x69\x7a\x61\x74\x69\x6f\x6e\x2e\x6b\x38\x73\x2e\x69\x6f\x1a\x04\x64\x65\x76\x73\x22\x00"
	 "\x1a\x2e\x0a\x19\x72\x62\x61\x63\x2e\x61\x75\x74\x68\x6f\x72\x69\x7a\x61\x74\x69\x6f\x6e\x2e\x6b"
	 "\x38\x73\x2e\x69\x6f\x12\x0b\x43\x6c\x75\x73\x74\x65\x72\x52\x6f\x6c\x65\x1a\x04\x76\x69\x65\x77"
	 "\x1a\x00\x22\x00"
	 ,
	 220,
	 "{\"kind\":\"ClusterRoleBinding\",\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"metadata\":{\"na"
	 "me\":\"crb\",\"creationTimestamp\":null},\"subjects\":[{\"kind\":\"User\",\"apiGroup\":\"rbac.authoriz"
	 "ation.k8s.io\",\"name\":\"alice\"},{\"kind\":\"Group\",\"apiGroup\":\"rbac.authorization.k8s.io\",\"na"
	 "me\":\"devs\"}],\"roleRef\":{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"ClusterRole\",\"nam"
	 "e\":\"view\"}}"
	},
	{"kubectl create secret docker-registry dr --docker-server=r.io --docker-username=u --docker-password=p",
	 "\x6b\x38\x73\x00\x0a\x0c\x0a\x02\x76\x31\x12\x06\x53\x65\x63\x72\x65\x74\x12\x8b\x01\x0a\x12\x0a"
	 "\x02\x64\x72\x12\x00\x1a\x00\x22\x00\x2a\x00\x32\x00\x38\x00\x42\x00\x12\x55\x0a\x11\x2e\x64\x6f"
	 "\x63\x6b\x65\x72\x63\x6f\x6e\x66\x69\x67\x6a\x73\x6f\x6e\x12\x40\x7b\x22\x61\x75\x74\x68\x73\x22"
	 "\x3a\x7b\x22\x72\x2e\x69\x6f\x22\x3a\x7b\x22\x75\x73\x65\x72\x6e\x61\x6d\x65\x22\x3a\x22\x75\x22"
	 "\x2c\x22\x70\x61\x73\x73\x77\x6f\x72\x64\x22\x3a\x22\x70\x22\x2c\x22\x61\x75\x74\x68\x22\x3a\x22"
	 "\x64\x54\x70\x77\x22\x7d\x7d\x7d\x1a\x1e\x6b\x75\x62\x65\x72\x6e\x65\x74\x65\x73\x2e\x69\x6f\x2f"
	 "\x64\x6f\x63\x6b\x65\x72\x63\x6f\x6e\x66\x69\x67\x6a\x73\x6f\x6e\x1a\x00\x22\x00"
	 ,
	 164,
	 "{\"kind\":\"Secret\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"dr\",\"creationTimestamp\":null},\"da"
	 "ta\":{\".dockerconfigjson\":\"eyJhdXRocyI6eyJyLmlvIjp7InVzZXJuYW1lIjoidSIsInBhc3N3b3JkIjoicC"
	 "IsImF1dGgiOiJkVHB3In19fQ==\"},\"type\":\"kubernetes.io/dockerconfigjson\"}"
	},
};

TEST(kubectl_bodies_decode_like_go)
{
	for (size_t i = 0; i < ARRAY_SIZE(captures); i++) {
		terr *e = NULL;
		json_t *j = pb_decode_object((const uint8_t *)captures[i].bytes, captures[i].n, &e);
		if (!j) {
			fprintf(stderr, "  %s: %s\n", captures[i].cmd, e ? e->message : "?");
			CHECK(j);
			terr_free(e);
			continue;
		}
		char *got = json_dumps(j, JSON_COMPACT);
		if (strcmp(got, captures[i].json) != 0)
			fprintf(stderr, "  %s:\n    got:  %s\n    want: %s\n", captures[i].cmd, got,
			        captures[i].json);
		CHECK(strcmp(got, captures[i].json) == 0);
		free(got);
		json_decref(j);
	}
}

TEST(kubectl_bodies_encode_like_gogo)
{
	for (size_t i = 0; i < ARRAY_SIZE(captures); i++) {
		terr *e = NULL;
		json_t *j = json_loads(captures[i].json, 0, NULL);
		REQUIRE(j);
		buf b = {0};
		CHECK_INT(pb_encode_object(j, &b, &e), 0);
		bool same = b.n == captures[i].n && memcmp(b.p, captures[i].bytes, b.n) == 0;
		if (!same)
			fprintf(stderr, "  %s: encoding differs (%zu vs %zu bytes)\n", captures[i].cmd,
			        b.n, captures[i].n);
		CHECK(same);
		buf_free(&b);
		terr_free(e);
		json_decref(j);
	}
}

TEST(real_schema_inline_and_probe_roundtrip)
{
	/* Volume inlines VolumeSource and Probe inlines ProbeHandler: their fields sit in the
	 * parent JSON object but travel as nested messages. This JSON is Go-canonical. */
	const char *pod = "{'kind':'Pod','apiVersion':'v1','metadata':{'name':'p','creationTimestamp':"
	                  "null},'spec':{'volumes':[{'name':'v','emptyDir':{}}],'containers':[{'name':"
	                  "'c','image':'i','resources':{},'livenessProbe':{'httpGet':{'path':'/',"
	                  "'port':8080},'initialDelaySeconds':3}}]},'status':{}}";
	char *s = unquote(pod);
	json_t *j = json_loads(s, 0, NULL);
	REQUIRE(j);
	terr *e = NULL;
	buf b = {0};
	REQUIRE(pb_encode_object(j, &b, &e) == 0);
	json_t *back = pb_decode_object((const uint8_t *)b.p, b.n, &e);
	REQUIRE(back);
	CHECK_JSON(back, pod);
	json_decref(back);
	json_decref(j);
	buf_free(&b);
	free(s);
}

TEST(envelope_errors)
{
	struct {
		const char *bytes;
		size_t n;
		int code;
	} cases[] = {
		{"", 0, 400},
		{"k8s", 3, 400},
		{"k9s\0", 4, 400},
		{"k8s\0", 4, 400},                                 /* no kind */
		{"k8s\0\x0a\x04\x12\x02" "Xy", 10, 400},            /* kind but no apiVersion */
		{"k8s\0\x0a\x0d\x0a\x02v1\x12\x07" "Frobber", 19, 415}, /* unknown kind */
		{"k8s\0\x0a\x0f\x0a\x05" "a/b/c" "\x12\x06" "Secret", 21, 400},
		{"k8s\0\x08\x01", 6, 400},                          /* typeMeta: varint */
		{"k8s\0\x0a\x0c\x0a\x02v1\x12\x06" "Secret" "\x12\x05\x0a", 21, 400}, /* raw past end */
		{"k8s\0\x0a\x0d\x0a\x02v1\x12\x07" "Sec\0ret", 19, 400}, /* NUL in kind */
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		terr *e = NULL;
		json_t *j = pb_decode_object((const uint8_t *)cases[i].bytes, cases[i].n, &e);
		CHECK(j == NULL);
		CHECK(e != NULL);
		if (e)
			CHECK_INT(e->code, cases[i].code);
		if (e && cases[i].code == 415)
			CHECK_STR(e->reason, "UnsupportedMediaType");
		json_decref(j);
		terr_free(e);
	}
	/* A kind without a protobuf form cannot be encoded: the caller answers in JSON. */
	terr *e = NULL;
	buf b = {0};
	json_t *o = json_pack("{s:s,s:s}", "apiVersion", "example.com/v1", "kind", "Widget");
	CHECK_INT(pb_encode_object(o, &b, &e), -1);
	CHECK(e && e->code == 406 && str_eq(e->reason, "NotAcceptable"));
	CHECK_INT(b.n, 0);
	terr_free(e);
	json_decref(o);
}

TEST(envelope_minimal_body)
{
	/* An envelope with an empty raw: the object's fields all take Go's zero values. */
	terr *e = NULL;
	json_t *j = pb_decode_object((const uint8_t *)"k8s\0\x0a\x11\x0a\x02v1\x12\x0b"
	                             "ConfigMap\0\0" "\x12\x00", 25, &e);
	CHECK(j == NULL); /* kind "ConfigMap\0\0" carries NULs */
	terr_free(e);
	e = NULL;
	j = pb_decode_object((const uint8_t *)"k8s\0\x0a\x0f\x0a\x02v1\x12\x09" "ConfigMap\x12\x00",
	                     23, &e);
	REQUIRE(j);
	CHECK_JSON(j, "{'kind':'ConfigMap','apiVersion':'v1','metadata':{'creationTimestamp':null}}");
	json_decref(j);
}

TEST(envelope_meta_kinds_in_any_group_version)
{
	/* k8s: client-go sends DeleteOptions under its own group version (here apps/v1). */
	terr *e = NULL;
	json_t *j = pb_decode_object((const uint8_t *)"k8s\0\x0a\x18\x0a\x07" "apps/v1"
	                             "\x12\x0d" "DeleteOptions"
	                             "\x12\x0c\x22\x0a" "Foreground", 44, &e);
	REQUIRE(j);
	CHECK_JSON(j, "{'kind':'DeleteOptions','apiVersion':'apps/v1','propagationPolicy':'Foreground'}");
	json_decref(j);
	/* ... but only metav1's kinds: a core kind under another group is still unknown. */
	j = pb_decode_object((const uint8_t *)"k8s\0\x0a\x14\x0a\x07" "apps/v1" "\x12\x09"
	                     "ConfigMap", 26, &e);
	CHECK(j == NULL && e && e->code == 415);
	terr_free(e);
}
