/* test_json.c — base/json.c: json_dump_compact and json_dump_sorted write what jansson's
 * json_dumps writes (JSON_COMPACT | JSON_ENCODE_ANY, and with JSON_SORT_KEYS), byte for
 * byte, on edge values and random trees. */
#include "test.h"

#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/json.h"
#include "base/util.h"

/* Whether ours and jansson's serializations of j are the same bytes; prints both if not. */
static int same_as_jansson(const json_t *j)
{
	int same = 1;
	for (int sorted = 0; sorted < 2; sorted++) {
		char *ours = sorted ? json_dump_sorted(j) : json_dump_compact(j);
		char *theirs =
		    json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY | (sorted ? JSON_SORT_KEYS : 0));
		if (!theirs || strcmp(ours, theirs) != 0) {
			fprintf(stderr, "    ours%s:    %s\n    jansson: %s\n", sorted ? " (sorted)" : "",
			        ours, theirs ? theirs : "(null)");
			same = 0;
		}
		free(ours);
		free(theirs);
	}
	return same;
}

TEST(dump_scalars_as_jansson)
{
	const json_int_t ints[] = {0,   1,          -1,        9,         10,
	                           -10, 1234567890, INT64_MAX, INT64_MIN, INT64_MIN + 1};
	for (size_t i = 0; i < sizeof ints / sizeof *ints; i++) {
		json_t *v = json_integer(ints[i]);
		CHECK(same_as_jansson(v));
		json_decref(v);
	}
	const double reals[] = {0.0,     -0.0,          1.0,           -1.0,   0.1,     1.5,
	                        100.0,   1e15,          1e16,          1e17,   1e20,    1e21,
	                        1e-5,    1e-7,          -2.5e-300,     5e-324, DBL_MAX, DBL_MIN,
	                        1.0 / 3, 123456789.125, 6.02214076e23, -1e100};
	for (size_t i = 0; i < sizeof reals / sizeof *reals; i++) {
		json_t *v = json_real(reals[i]);
		CHECK(same_as_jansson(v));
		json_decref(v);
	}
	json_t *lits[] = {json_true(), json_false(), json_null(), json_object(), json_array()};
	for (size_t i = 0; i < sizeof lits / sizeof *lits; i++) {
		CHECK(same_as_jansson(lits[i]));
		json_decref(lits[i]);
	}
}

TEST(dump_strings_as_jansson)
{
	static const char *const strs[] = {"",
	                                   "plain",
	                                   "quote \" and backslash \\",
	                                   "slash / stays",
	                                   "tab\tnl\ncr\rbs\bff\f",
	                                   "\x01\x02\x1f\x7f",
	                                   "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x9a\x80",
	                                   "\xe2\x80\xa8 line separator",
	                                   "</script>"};
	for (size_t i = 0; i < sizeof strs / sizeof *strs; i++) {
		json_t *v = json_string(strs[i]);
		REQUIRE(v);
		CHECK(same_as_jansson(v));
		json_t *o = json_pack("{s:O}", strs[i], v); /* the same text as a key */
		CHECK(same_as_jansson(o));
		json_decref(o);
		json_decref(v);
	}
	json_t *nul = json_stringn("a\0b", 3);
	CHECK(same_as_jansson(nul));
	json_decref(nul);
}

static uint64_t rnd_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

static json_t *rnd_string(void)
{
	static const char *const parts[] = {"a",
	                                    "Z",
	                                    "0",
	                                    " ",
	                                    "\"",
	                                    "\\",
	                                    "/",
	                                    "\n",
	                                    "\x01",
	                                    "\x1f",
	                                    "\t",
	                                    "\xc3\xa9",
	                                    "\xe2\x82\xac",
	                                    "\xf0\x9f\x9a\x80",
	                                    "metadata",
	                                    "k:{\"name\":\"x\"}"};
	char s[256];
	size_t n = 0, parts_n = rnd() % 12;
	for (size_t i = 0; i < parts_n; i++) {
		const char *p = parts[rnd() % (sizeof parts / sizeof *parts)];
		size_t l = strlen(p);
		memcpy(s + n, p, l);
		n += l;
	}
	return json_stringn(s, n);
}

static json_t *rnd_value(int depth)
{
	switch (rnd() % (depth > 4 ? 5 : 7)) {
	case 0:
		return json_integer((json_int_t)rnd() >> (rnd() % 64));
	case 1: {
		double d;
		do {
			uint64_t bits = rnd();
			memcpy(&d, &bits, sizeof d);
		} while (!isfinite(d));
		return json_real(d);
	}
	case 2:
		return rnd_string();
	case 3:
		return json_boolean(rnd() % 2);
	case 4:
		return json_null();
	case 5: {
		json_t *a = json_array();
		for (size_t i = rnd() % 5; i > 0; i--)
			json_array_append_new(a, rnd_value(depth + 1));
		return a;
	}
	default: {
		json_t *o = json_object();
		for (size_t i = rnd() % (depth ? 6 : 24); i > 0; i--) {
			json_t *k = rnd_string();
			json_object_setn_new(o, json_string_value(k), json_string_length(k),
			                     rnd_value(depth + 1));
			json_decref(k);
		}
		return o;
	}
	}
}

TEST(dump_random_trees_as_jansson)
{
	int differ = 0;
	for (int i = 0; i < 3000 && differ < 3; i++) {
		json_t *v = rnd_value(0);
		if (!same_as_jansson(v))
			differ++;
		json_decref(v);
	}
	CHECK_INT(differ, 0);
}

TEST(dump_parsed_documents_as_jansson)
{
	/* a Pod as the API stores one: key order as written, managed fields' odd keys */
	const char *pod =
	    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\",\"labels\":"
	    "{\"app\":\"x\"},\"managedFields\":[{\"manager\":\"kubectl\",\"fieldsV1\":{\"f:spec\":"
	    "{\"f:containers\":{\"k:{\\\"name\\\":\\\"c\\\"}\":{\".\":{}}}}}}]},\"spec\":"
	    "{\"containers\":[{\"name\":\"c\",\"image\":\"nginx:1.27\",\"resources\":{\"limits\":"
	    "{\"cpu\":0.5,\"memory\":\"64Mi\"}}}],\"priority\":-7},\"status\":{}}";
	json_t *j = json_loads(pod, 0, NULL);
	REQUIRE(j);
	CHECK(same_as_jansson(j));
	char *ours = json_dump_compact(j);
	CHECK_STR(ours, pod); /* compact input comes back as it was */
	free(ours);
	json_decref(j);
}

/* ---- json_dump_compact_based: the next version of a stored object ---- */

/* A next version of base as writers make one: some levels copied (and changed), the rest
 * base's own nodes. */
static json_t *derive(json_t *base, int depth)
{
	uint64_t r = rnd() % 16;
	if (r < 4 && depth > 0)
		return json_incref(base); /* shared */
	if (r == 4 && depth > 0)
		return rnd_value(depth); /* replaced */
	if (json_is_object(base)) {
		json_t *o = json_object();
		const char *k;
		size_t kn;
		json_t *v;
		json_object_keylen_foreach(base, k, kn, v)
		{
			if (rnd() % 10)
				json_object_setn_new(o, k, kn, derive(v, depth + 1));
		}
		if (rnd() % 4 == 0)
			json_object_set_new(o, "added", rnd_value(depth + 1));
		return o;
	}
	if (json_is_array(base)) {
		json_t *a = json_array();
		size_t i;
		json_t *v;
		json_array_foreach(base, i, v) json_array_append_new(a, derive(v, depth + 1));
		if (rnd() % 4 == 0)
			json_array_append_new(a, rnd_value(depth + 1));
		return a;
	}
	return rnd() % 2 ? json_incref(base) : rnd_value(depth);
}

TEST(dump_based_is_the_plain_dump_of_random_next_versions)
{
	int differ = 0;
	size_t reused_total = 0;
	for (int i = 0; i < 3000 && differ < 3; i++) {
		json_t *base = rnd_value(0);
		char *bytes = json_dump_compact(base);
		json_t *next = derive(base, 0);
		size_t reused = 0;
		char *based = json_dump_compact_based(next, base, bytes, strlen(bytes), &reused);
		char *plain = json_dump_compact(next);
		if (strcmp(based, plain) != 0) {
			fprintf(stderr, "    base:  %s\n    based: %s\n    plain: %s\n", bytes, based,
			        plain);
			differ++;
		}
		reused_total += reused;
		free(based);
		free(plain);
		free(bytes);
		json_decref(next);
		json_decref(base);
	}
	CHECK_INT(differ, 0);
	CHECK(reused_total > 0); /* shared nodes were taken from the base bytes */
}

TEST(dump_based_copies_what_a_binding_shares)
{
	const char *pod =
	    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\",\"labels\":"
	    "{\"app\":\"x\"},\"managedFields\":[{\"manager\":\"kubectl\",\"fieldsV1\":{\"f:spec\":"
	    "{\"f:containers\":{\"k:{\\\"name\\\":\\\"c\\\"}\":{\".\":{}}}}}}]},\"spec\":"
	    "{\"containers\":[{\"name\":\"c\",\"image\":\"nginx:1.27\",\"args\":[\"a\\\"]}\","
	    "\"{\\\\\"]}],\"priority\":-7},\"status\":{\"conditions\":[{\"type\":\"A\"}]}}";
	json_t *base = json_loads(pod, 0, NULL);
	REQUIRE(base);
	/* as the binding makes it: its own top, metadata, spec and status, the rest shared */
	json_t *next = json_copy(base);
	json_t *meta = json_copy(json_object_get(base, "metadata"));
	json_object_set_new(meta, "resourceVersion", json_string("8"));
	json_object_set_new(next, "metadata", meta);
	json_t *spec = json_copy(json_object_get(base, "spec"));
	json_object_set_new(spec, "nodeName", json_string("n1"));
	json_object_set_new(next, "spec", spec);
	json_t *status = json_copy(json_object_get(base, "status"));
	json_t *conds = json_copy(json_object_get(status, "conditions"));
	json_array_append_new(conds, json_pack("{s:s}", "type", "PodScheduled"));
	json_object_set_new(status, "conditions", conds);
	json_object_set_new(next, "status", status);
	size_t reused = 0;
	char *based = json_dump_compact_based(next, base, pod, strlen(pod), &reused);
	char *plain = json_dump_compact(next);
	CHECK_STR(based, plain);
	/* labels, managedFields, containers, the first condition and the shared scalars
	 * (apiVersion, kind, name, priority) came from the bytes */
	size_t shared = strlen("{\"app\":\"x\"}") + strlen("{\"type\":\"A\"}") +
	                strlen("\"v1\"\"Pod\"\"p\"-7") +
	                strlen(strstr(pod, "[{\"manager\"")) - strlen(strstr(pod, ",\"spec\"") - 1) +
	                strlen(strstr(pod, "[{\"name\"")) - strlen(strstr(pod, ",\"priority\""));
	CHECK_INT(reused, shared);
	free(based);
	free(plain);
	/* bytes that are not a serialization: nothing is taken from them, the dump is plain */
	const char *junk[] = {"", "{", "[1,2]", "{\"metadata\":", "\"str"};
	for (size_t i = 0; i < sizeof junk / sizeof *junk; i++) {
		based = json_dump_compact_based(next, base, junk[i], strlen(junk[i]), &reused);
		plain = json_dump_compact(next);
		CHECK_STR(based, plain);
		CHECK_INT(reused, 0);
		free(based);
		free(plain);
	}
	json_decref(next);
	json_decref(base);
}

/* Whether a and b (equal trees) share no container or string node. */
static int disjoint(json_t *a, json_t *b)
{
	if (json_is_object(a) || json_is_array(a) || json_is_string(a) || json_is_integer(a) ||
	    json_is_real(a)) {
		if (a == b)
			return 0;
	}
	if (json_is_object(a)) {
		const char *k;
		json_t *v;
		json_object_foreach(a, k, v) if (!disjoint(v, json_object_get(b, k))) return 0;
	} else if (json_is_array(a)) {
		for (size_t i = 0; i < json_array_size(a); i++)
			if (!disjoint(json_array_get(a, i), json_array_get(b, i)))
				return 0;
	}
	return 1;
}

/* Whether a and b (equal trees) share no container, and share every string and number. */
static int containers_only(json_t *a, json_t *b)
{
	if (json_is_object(a)) {
		if (a == b)
			return 0;
		const char *k;
		json_t *v;
		json_object_foreach(a, k, v) if (!containers_only(v, json_object_get(b, k))) return 0;
		return 1;
	}
	if (json_is_array(a)) {
		if (a == b)
			return 0;
		for (size_t i = 0; i < json_array_size(a); i++)
			if (!containers_only(json_array_get(a, i), json_array_get(b, i)))
				return 0;
		return 1;
	}
	return a == b;
}

/* 2,000 random trees cloned by clone: equal, serialized the same, and related to the
 * original as rel says. */
static int clones_check(json_t *(*clone)(const json_t *), int (*rel)(json_t *, json_t *))
{
	int bad = 0;
	for (int i = 0; i < 2000 && bad < 3; i++) {
		json_t *v = rnd_value(0);
		json_t *c = clone(v);
		char *a = json_dump_compact(v), *b = json_dump_compact(c);
		if (!json_equal(v, c) || strcmp(a, b) != 0 || !rel(v, c)) {
			fprintf(stderr, "    original: %s\n    clone:    %s\n", a, b);
			bad++;
		}
		free(a);
		free(b);
		json_decref(c);
		json_decref(v);
	}
	return bad;
}

TEST(clone_is_a_deep_copy)
{
	CHECK(json_clone(NULL) == NULL);
	CHECK_INT(clones_check(json_clone, disjoint), 0);
}

TEST(clone_containers_shares_scalars)
{
	CHECK(json_clone_containers(NULL) == NULL);
	CHECK_INT(clones_check(json_clone_containers, containers_only), 0);
}

TEST(skip_finds_value_ends)
{
	struct {
		const char *in;
		long end; /* offset of the end, -1: NULL */
	} cases[] = {
	    {"\"a\\\"]}\" ,", 7},       {"\"\\\\\"x", 4},  {"  {\"k\":[1,\"]\"]} x", 15},
	    {"[[],{}]", 7},            {"12,", 2},       {"-1.5e3}", 6},
	    {"true ", 4},              {"{\"a\":1", -1}, {"\"open", -1},
	    {"", -1},                  {",", -1},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		const char *p = cases[i].in, *e = p + strlen(p);
		const char *r = json_skip_value(p, e);
		long got = r ? (long)(r - p) : -1;
		if (got != cases[i].end)
			fprintf(stderr, "    %s: end %ld, want %ld\n", p, got, cases[i].end);
		CHECK(got == cases[i].end);
	}
	const char *s = " \t\n x";
	CHECK(json_skip_ws(s, s + strlen(s)) == s + 4);
	s = "\"k\":1";
	CHECK(json_skip_string(s, s + strlen(s)) == s + 3);
}

/* The scan as first written (a quote ends a string after an even run of backslashes; a
 * byte at a time through containers): the oracle for the faster one. */
static const char *ref_skip_string(const char *p, const char *e)
{
	const char *s = ++p;
	while (p < e) {
		const char *q = memchr(p, '"', (size_t)(e - p));
		if (!q)
			return NULL;
		size_t bs = 0;
		while (q - bs > s && q[-1 - (ptrdiff_t)bs] == '\\')
			bs++;
		if (bs % 2 == 0)
			return q + 1;
		p = q + 1;
	}
	return NULL;
}

static const char *ref_skip_value(const char *p, const char *e)
{
	p = json_skip_ws(p, e);
	if (p >= e)
		return NULL;
	if (*p == '"')
		return ref_skip_string(p, e);
	if (*p == '{' || *p == '[') {
		int depth = 0;
		while (p < e) {
			char c = *p;
			if (c == '"') {
				if (!(p = ref_skip_string(p, e)))
					return NULL;
				continue;
			}
			if (c == '{' || c == '[')
				depth++;
			else if ((c == '}' || c == ']') && --depth == 0)
				return p + 1;
			p++;
		}
		return NULL;
	}
	const char *s = p;
	while (p < e && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\n' &&
	       *p != '\t' && *p != '\r')
		p++;
	return p > s ? p : NULL;
}

/* json_skip_value and json_skip_string find the ends the byte-at-a-time scan finds, on
 * 20,000 random strings of the bytes that matter (quotes, backslashes, brackets) and
 * filler, of every length around the 8-byte steps. */
TEST(skip_matches_bytewise_scan)
{
	static const char alphabet[] = "aaaaaaa\"\"\\\\{}[],: 1";
	int bad = 0;
	for (int i = 0; i < 20000; i++) {
		unsigned char rnd[64];
		random_bytes(rnd, sizeof rnd);
		size_t n = 1 + rnd[0] % 48;
		char s[64];
		s[0] = "\"{[a"[rnd[1] % 4];
		for (size_t k = 1; k < n; k++)
			s[k] = alphabet[rnd[k + 2] % (sizeof alphabet - 1)];
		s[n] = 0;
		const char *got = json_skip_value(s, s + n), *want = ref_skip_value(s, s + n);
		const char *gs = s[0] == '"' ? json_skip_string(s, s + n) : NULL;
		const char *ws = s[0] == '"' ? ref_skip_string(s, s + n) : NULL;
		if ((got != want || gs != ws) && !bad++)
			fprintf(stderr, "    %s: end %ld, want %ld\n", s, got ? (long)(got - s) : -1,
			        want ? (long)(want - s) : -1);
	}
	CHECK_INT(bad, 0);
}

/* json_build makes the tree json_pack makes, for the formats the code writes, and fails
 * the same way on a NULL string or tree. */
TEST(build_matches_pack)
{
	json_t *a = json_pack("{s:s, s:s, s:{s:s, s:s}, s:o, s:s, s:i, s:n, s:b, s:I, s:f, s:{}}",
	                      "apiVersion", "v1", "kind", "Event", "metadata", "name", "e.1",
	                      "namespace", "ns", "involvedObject", json_pack("{s:s}", "kind", "Pod"),
	                      "message", "a \"quoted\" \xc3\xa9 line\n", "count", 1, "eventTime",
	                      "ok", 1, "big", (json_int_t)1 << 40, "real", 0.5, "empty");
	json_t *shared = json_string("kept");
	json_t *b = json_build("{s:s, s:s, s:{s:s, s:s}, s:o, s:s, s:i, s:n, s:b, s:I, s:f, s:{}}",
	                       "apiVersion", "v1", "kind", "Event", "metadata", "name", "e.1",
	                       "namespace", "ns", "involvedObject", json_build("{s:s}", "kind", "Pod"),
	                       "message", "a \"quoted\" \xc3\xa9 line\n", "count", 1, "eventTime",
	                       "ok", 1, "big", (json_int_t)1 << 40, "real", 0.5, "empty");
	REQUIRE(a && b);
	CHECK(json_equal(a, b));
	char *da = json_dump_compact(a), *db = json_dump_compact(b);
	CHECK(strcmp(da, db) == 0); /* the same key order too */
	free(da);
	free(db);
	json_t *c = json_build("[{s:s}, [s, O], {s:[o]}]", "ip", "10.0.0.1", "x", shared, "conditions",
	                       json_build("{s:b}", "ready", 0));
	json_t *d = json_pack("[{s:s}, [s, O], {s:[o]}]", "ip", "10.0.0.1", "x", shared, "conditions",
	                      json_pack("{s:b}", "ready", 0));
	CHECK(json_equal(c, d));
	CHECK(shared->refcount == 3); /* O took a reference in each */
	/* NULL fails the whole; the trees given with o are still taken (ASan would see a leak). */
	CHECK(json_build("{s:s, s:o}", "a", NULL, "b", json_object()) == NULL);
	CHECK(json_build("{s:o, s:s}", "a", json_object(), NULL, "v") == NULL);
	CHECK(json_build("[o, s]", json_array(), NULL) == NULL);
	json_decref(a);
	json_decref(b);
	json_decref(c);
	json_decref(d);
	json_decref(shared);
}

/* The messages kube writes with Go's %v of decoded JSON and %q of strings. */
TEST(go_format_and_quote_as_go_prints)
{
	json_t *v = json_loads("{\"b\":[\"x\",1,1.5,true,null],\"a\":{},\"c\":-7}", 0, NULL);
	REQUIRE(v);
	buf b = {0};
	json_go_format(&b, v, 0);
	CHECK_STR(b.p, "map[a:map[] b:[x 1 1.5 true <nil>] c:-7]");
	/* float64: strconv.FormatFloat(f, 'g', -1, 64) */
	static const struct {
		double d;
		const char *go;
	} floats[] = {{1e6, "1e+06"},        {123456789.0, "1.23456789e+08"}, {100000.0, "100000"},
	              {123456.7, "123456.7"}, {1234567.8, "1.2345678e+06"},  {0.0001, "0.0001"},
	              {0.00001, "1e-05"},     {1.5e-07, "1.5e-07"},          {-2.5, "-2.5"},
	              {0.1, "0.1"},           {1e21, "1e+21"},               {3.0, "3"},
	              {1e100, "1e+100"}};
	for (size_t i = 0; i < ARRAY_SIZE(floats); i++) {
		buf_reset(&b);
		json_t *r = json_real(floats[i].d);
		json_go_format(&b, r, 0);
		CHECK_STR(b.p, floats[i].go);
		json_decref(r);
	}
	/* bounded: the values past max bytes are left out, with one "..." */
	buf_reset(&b);
	json_go_format(&b, v, 8);
	CHECK_STR(b.p, "map[a:map[]...]");
	buf_reset(&b);
	const char s[] = "a\"b\\\n\x01\xc3\xa9\xff";
	buf_go_quote(&b, s, sizeof s - 1);
	CHECK_STR(b.p, "\"a\\\"b\\\\\\n\\x01\xc3\xa9\\xff\"");
	buf_free(&b);
	json_decref(v);
}
