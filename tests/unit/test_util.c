/* test_util.c — small helpers of base/util.c and base/buf.c: IPv4 CIDR parsing and prefix
 * masks, JSON string escapes, numbers and times written without printf. */
#include "test.h"

#include <jansson.h>
#include <stdlib.h>
#include <time.h>

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

/* fmt_u64, fmt_i64, fmt_hex64 and buf_printf write what snprintf writes (edges and 5,000
 * random values). */
TEST(fmt_numbers_match_snprintf)
{
	uint64_t edge[] = {0, 1, 9, 10, 99, 100, 4294967295u, 4294967296u, 9999999999999999999u,
	                   UINT64_MAX, (uint64_t)INT64_MAX, (uint64_t)INT64_MIN};
	int bad = 0;
	for (int i = 0; i < 5000 + (int)ARRAY_SIZE(edge); i++) {
		uint64_t v;
		if (i < (int)ARRAY_SIZE(edge)) {
			v = edge[i];
		} else {
			random_bytes(&v, sizeof v);
			v >>= (unsigned)(i % 64); /* every length */
		}
		char got[21], want[32], h[17], hw[32], gi[21], wi[32];
		size_t n = fmt_u64(got, v);
		snprintf(want, sizeof want, "%llu", (unsigned long long)v);
		fmt_hex64(h, v);
		snprintf(hw, sizeof hw, "%016llx", (unsigned long long)v);
		size_t ni = fmt_i64(gi, (int64_t)v);
		snprintf(wi, sizeof wi, "%lld", (long long)(int64_t)v);
		_cleanup_buf_ buf b = {0};
		buf_puts(&b, "x");
		buf_put_u64(&b, v);
		char bw[40];
		snprintf(bw, sizeof bw, "x%llu", (unsigned long long)v);
		if ((strcmp(got, want) || n != strlen(want) || strcmp(h, hw) || strcmp(gi, wi) ||
		     ni != strlen(wi) || strcmp(b.p, bw) || b.n != strlen(bw)) &&
		    !bad++)
			fprintf(stderr, "  %s/%s %s/%s %s/%s %s/%s\n", got, want, h, hw, gi, wi, b.p, bw);
	}
	CHECK(!bad);
}

/* buf_printf, whether or not the text fits the room the buffer has. */
TEST(buf_printf_grows)
{
	_cleanup_buf_ buf b = {0};
	buf_printf(&b, "%s-%d", "a", 7);
	CHECK_STR(b.p, "a-7");
	char big[1000];
	memset(big, 'q', sizeof big - 1);
	big[sizeof big - 1] = 0;
	buf_printf(&b, "[%s]", big);
	CHECK(b.n == 3 + 2 + 999);
	CHECK(b.p[3] == '[' && b.p[4 + 998] == 'q' && b.p[b.n - 1] == ']' && b.p[b.n] == 0);
	for (int i = 0; i < 300; i++) /* every fill level of the room */
		buf_printf(&b, "%d", i % 10);
	CHECK(b.n == 1004 + 300);
	CHECK(b.p[1004] == '0' && b.p[1004 + 299] == '9' && b.p[b.n] == 0);
}

/* time_rfc3339 writes what strftime writes, with and without microseconds, across second
 * boundaries (its per-thread calendar cache), before 1970 and at the ends of int64 time. */
TEST(time_rfc3339_matches_strftime)
{
	int bad = 0;
	int64_t fixed[] = {0, 999999999, 1000000000, 951782400LL * 1000000000 + 123456789,
	                   -1, -1500000000, -86400LL * 1000000000 * 365 * 80,
	                   INT64_MAX, INT64_MIN + 1};
	for (int i = 0; i < 4000 + (int)ARRAY_SIZE(fixed); i++) {
		int64_t t;
		if (i < (int)ARRAY_SIZE(fixed)) {
			t = fixed[i];
		} else if (i % 2) { /* runs of nearby times: the cache is used and refreshed */
			t = 1764000000LL * 1000000000 + (int64_t)(i / 2) * 300000000;
		} else {
			uint64_t r;
			random_bytes(&r, sizeof r);
			t = (int64_t)(r % (4102444800ULL * 1000000000ULL));
		}
		for (int micro = 0; micro < 2; micro++) {
			char got[32], want[64];
			time_rfc3339(t, micro, got);
			time_t s = (time_t)(t / 1000000000);
			struct tm tm;
			gmtime_r(&s, &tm);
			size_t n = strftime(want, 32, "%Y-%m-%dT%H:%M:%S", &tm);
			if (micro)
				snprintf(want + n, sizeof want - n, ".%06dZ", (int)((t / 1000) % 1000000));
			else
				snprintf(want + n, sizeof want - n, "Z");
			if (strcmp(got, want) && !bad++)
				fprintf(stderr, "  %lld: %s, want %s\n", (long long)t, got, want);
		}
	}
	CHECK(!bad);
}
