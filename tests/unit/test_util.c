/* test_util.c — small helpers of base/util.c and base/buf.c: IPv4 CIDR parsing and prefix
 * masks, JSON string escapes. */
#include "test.h"

#include <jansson.h>
#include <stdlib.h>

#include "base/buf.h"
#include "base/util.h"

TEST(ipv4_cidr_parse_accepts_and_masks)
{
	uint32_t net = 1;
	int bits = -1;
	CHECK(ipv4_cidr_parse("10.42.7.0/24", &net, &bits));
	CHECK_INT(net, 0x0a2a0700);
	CHECK_INT(bits, 24);
	CHECK(ipv4_cidr_parse("10.42.7.9/16", &net, &bits)); /* host bits cleared */
	CHECK_INT(net, 0x0a2a0000);
	CHECK_INT(bits, 16);
	CHECK(ipv4_cidr_parse("192.0.2.1/32", &net, &bits));
	CHECK_INT(net, 0xc0000201);
	CHECK(ipv4_cidr_parse("1.2.3.4/0", &net, &bits));
	CHECK_INT(net, 0);
	CHECK_INT(bits, 0);
}

TEST(ipv4_cidr_parse_refuses)
{
	uint32_t net;
	int bits;
	const char *bad[] = {NULL,
	                     "",
	                     "10.42.0.0",
	                     "10.42.0.0/",
	                     "10.42.0.0/33",
	                     "10.42.0.0/-1",
	                     "10.42.0.0/24x",
	                     "10.42.0/24",
	                     "fd00::/64",
	                     "/24",
	                     "10.42.0.0.0.0.0.0.0.0.0/24"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		CHECK(!ipv4_cidr_parse(bad[i], &net, &bits));
}

TEST(ipv4_prefix_mask_edges)
{
	CHECK(ipv4_prefix_mask(0) == 0);
	CHECK(ipv4_prefix_mask(1) == 0x80000000u);
	CHECK(ipv4_prefix_mask(24) == 0xffffff00u);
	CHECK(ipv4_prefix_mask(31) == 0xfffffffeu);
	CHECK(ipv4_prefix_mask(32) == 0xffffffffu);
}

/* buf_json_str writes what jansson writes for the same string (base/json.c's serializer
 * mixes both), whatever the mix of plain runs (copied 8 bytes at a time) and escapes. */
TEST(buf_json_str_escapes_as_jansson)
{
	static const char *const parts[] = {"a", "plain-run", "\"", "\\", "\n", "\t", "\x01",
	                                    "\x1f", "\x7f", "\xc3\xa9", " ", "0123456789abcdef"};
	unsigned seed = 7;
	int bad = 0;
	for (int iter = 0; iter < 5000 && !bad; iter++) {
		buf in = {0}, out = {0};
		int k = (int)(rand_r(&seed) % 12);
		for (int i = 0; i < k; i++)
			buf_puts(&in, parts[rand_r(&seed) % ARRAY_SIZE(parts)]);
		buf_json_str(&out, in.p ? in.p : "", in.n);
		json_t *js = json_stringn(in.p ? in.p : "", in.n);
		char *want = json_dumps(js, JSON_ENCODE_ANY);
		if (!want || strcmp(want, out.p) != 0) {
			fprintf(stderr, "  %s\n  vs %s\n", out.p, want ? want : "(null)");
			bad = 1;
		}
		free(want);
		json_decref(js);
		buf_free(&in);
		buf_free(&out);
	}
	CHECK(!bad);
}

/* uuid_v4: the RFC 4122 version-4 form, and no repeats across pool refills. */
TEST(uuid_v4_form_and_distinct)
{
	enum { N = 1000 };
	static char ids[N][37];
	int bad = 0;
	for (int i = 0; i < N; i++) {
		uuid_v4(ids[i]);
		const char *u = ids[i];
		bool ok = strlen(u) == 36 && u[8] == '-' && u[13] == '-' && u[18] == '-' &&
		          u[23] == '-' && u[14] == '4' && strchr("89ab", u[19]);
		for (int k = 0; k < 36 && ok; k++)
			ok = k == 8 || k == 13 || k == 18 || k == 23 || strchr("0123456789abcdef", u[k]);
		if (!ok && !bad++)
			fprintf(stderr, "  bad uuid %s\n", u);
	}
	CHECK(!bad);
	int dup = 0;
	for (int i = 0; i < N; i++)
		for (int j = i + 1; j < N; j++)
			dup += strcmp(ids[i], ids[j]) == 0;
	CHECK(dup == 0);
}
