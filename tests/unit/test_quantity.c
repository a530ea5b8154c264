/* test_quantity.c — resource quantities against the examples of kube's api/resource
 * documentation and tests (kube 1.32): parsing, rounding, canonical form, arithmetic. */
#include "test.h"

#include "base/json.h"
#include "base/quantity.h"
#include "base/util.h"

static __int128 pow10i(int e)
{
	__int128 r = 1;
	while (e-- > 0)
		r *= 10;
	return r;
}

/* v * 10^scale in nanos (kube's decQuantity(v, scale, ...)). */
static __int128 dq(long long v, int scale)
{
	return scale + 9 >= 0 ? (__int128)v * pow10i(scale + 9) : (__int128)v / pow10i(-(scale + 9));
}

/* Parses s or fails the test; returns nanos and the format through q. */
static bool qp(const char *s, quantity *q)
{
	terr *e = NULL;
	if (quantity_parse(s, q, &e) < 0) {
		fprintf(stderr, "  %s: unexpected error %s\n", s, e->message);
		terr_free(e);
		return false;
	}
	return true;
}

/* The canonical form of the parse of s. Caller frees. */
static char *canon(const char *s)
{
	quantity q;
	if (!qp(s, &q))
		return xstrdup("(error)");
	return quantity_canonical(&q);
}

#define CHECK_PARSE(in, nanos_, fmt_)                                                    \
	do {                                                                             \
		quantity q_;                                                             \
		if (qp(in, &q_)) {                                                       \
			if (q_.nanos != (nanos_)) {                                      \
				fprintf(stderr, "  %s:%d: %s: wrong value\n", __FILE__,  \
					__LINE__, in);                                   \
				*test_failed_ = 1;                                       \
			}                                                                \
			CHECK_INT(q_.format, fmt_);                                      \
		} else {                                                                 \
			*test_failed_ = 1;                                               \
		}                                                                        \
	} while (0)

#define CHECK_CANON(in, want)                                                            \
	do {                                                                             \
		char *got_ = canon(in);                                                  \
		CHECK_STR(got_, want);                                                   \
		free(got_);                                                              \
	} while (0)

enum { DSI = QUANTITY_DECIMAL_SI, BSI = QUANTITY_BINARY_SI, DEX = QUANTITY_DECIMAL_EXPONENT };

TEST(parse_values_and_formats)
{
	/* k8s: TestQuantityParse */
	CHECK_PARSE("0", 0, DSI);
	CHECK_PARSE("0n", 0, DSI);
	CHECK_PARSE("0Ki", 0, BSI);
	CHECK_PARSE("0T", 0, DSI);
	CHECK_PARSE("1", dq(1, 0), DSI);
	CHECK_PARSE("1Ki", dq(1024, 0), BSI);
	CHECK_PARSE("7Mi", dq(7LL * 1024 * 1024, 0), BSI);
	CHECK_PARSE("3Ei", dq(3LL << 60, 0), BSI);
	CHECK_PARSE("100Ti", dq(100LL << 40, 0), BSI);
	CHECK_PARSE("5n", dq(5, -9), DSI);
	CHECK_PARSE("4u", dq(4, -6), DSI);
	CHECK_PARSE("3m", dq(3, -3), DSI);
	CHECK_PARSE("50k", dq(5, 4), DSI);
	CHECK_PARSE("300T", dq(3, 14), DSI);
	CHECK_PARSE("1E", dq(1, 18), DSI);
	CHECK_PARSE("1E-3", dq(1, -3), DEX);
	CHECK_PARSE("1e3", dq(1, 3), DEX);
	CHECK_PARSE("1E18", dq(1, 18), DEX);
	CHECK_PARSE("100.035k", dq(100035, 0), DSI);
	CHECK_PARSE("0.0005k", dq(5, -1), DSI);
	CHECK_PARSE("0.00500", dq(5, -3), DSI);
	CHECK_PARSE("0.5e-2", dq(5, -3), DEX);
	CHECK_PARSE("1.3E+6", dq(13, 5), DEX);
	CHECK_PARSE("1.7E18", dq(17, 17), DEX);
	CHECK_PARSE("6.987654321G", dq(6987654321LL, 0), DSI);
	CHECK_PARSE("1.01E", dq(101, 16), DSI);
	CHECK_PARSE("12E", dq(12, 18), DSI);
	/* k8s: values finer than 1n round up, away from zero */
	CHECK_PARSE("3.001n", dq(4, -9), DSI);
	CHECK_PARSE("1.1E-9", dq(2, -9), DEX);
	CHECK_PARSE("0.0000000001", dq(1, -9), DSI);
	CHECK_PARSE("0.00000012345", dq(124, -9), DSI);
	CHECK_PARSE("-3.001n", -dq(4, -9), DSI);
	/* k8s: binary quantities saturate at 2^63-1 */
	CHECK_PARSE("9Ei", dq(INT64_MAX, 0), BSI);
	CHECK_PARSE("9223372036854775807Ki", dq(INT64_MAX, 0), BSI);
	CHECK_PARSE("100.035Ki", dq(10243584, -2), BSI);
	CHECK_PARSE("0.5Mi", dq(512 * 1024, 0), BSI);
	CHECK_PARSE("0.05Gi", dq(536870912, -1), BSI);
	/* k8s: "things written by trolls" */
	CHECK_PARSE("0.000000000001Ki", dq(2, -9), DSI);
	CHECK_PARSE(".001", dq(1, -3), DSI);
	CHECK_PARSE(".0001k", dq(100, -3), DSI);
	CHECK_PARSE("1.", dq(1, 0), DSI);
	CHECK_PARSE("1.G", dq(1, 9), DSI);
	CHECK_PARSE("+1Ki", dq(1024, 0), BSI);
	CHECK_PARSE("-7Mi", -dq(7LL * 1024 * 1024, 0), BSI);
}

TEST(parse_errors_have_kube_messages)
{
	static const struct {
		const char *in, *msg;
	} bad[] = {
		{"", "quantities must match the regular expression "
		     "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"},
		{"1.1.M", "quantities must match the regular expression "
			  "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"},
		{"1+1.0M", "quantities must match the regular expression "
			   "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"},
		{"aoeu", "quantities must match the regular expression "
			 "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"},
		{" 1", "quantities must match the regular expression "
		       "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"},
		{"1 ", "quantities must match the regular expression "
		       "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"},
		{"0.1mi", "unable to parse quantity's suffix"},
		{"0.1am", "quantities must match the regular expression "
			  "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"},
		{".5i", "unable to parse quantity's suffix"},
		{"1i", "unable to parse quantity's suffix"},
		{"-3.01i", "unable to parse quantity's suffix"},
		{"-3.01e-", "unable to parse quantity's suffix"},
		{"1K", "unable to parse quantity's suffix"},
		{"1KiB", "quantities must match the regular expression "
			 "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"},
		{"1e99999999999999999999", "unable to parse quantity's suffix"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		quantity q;
		terr *e = NULL;
		CHECK_INT(quantity_parse(bad[i].in, &q, &e), -1);
		if (!e) {
			fprintf(stderr, "  %s parsed unexpectedly\n", bad[i].in);
			*test_failed_ = 1;
			continue;
		}
		CHECK_INT(e->code, 400);
		CHECK_STR(e->message, bad[i].msg);
		terr_free(e);
	}
}

TEST(canonical_form)
{
	/* the task's examples */
	CHECK_CANON("1.5", "1500m");
	CHECK_CANON("0.5Gi", "512Mi");
	CHECK_CANON("1000m", "1");
	CHECK_CANON("1e3", "1e3");
	/* k8s: TestQuantityString alternates */
	CHECK_CANON("1024Mi", "1Gi");
	CHECK_CANON("307200Ki", "300Mi");
	CHECK_CANON("1025024Mi", "1001Gi");
	CHECK_CANON("1024Gi", "1Ti");
	CHECK_CANON("5000m", "5");
	CHECK_CANON("0.5", "500m");
	CHECK_CANON("1000M", "1G");
	CHECK_CANON("0.001T", "1G");
	CHECK_CANON("1000u", "1m");
	CHECK_CANON("1.08", "1080m");
	CHECK_CANON("1080000000n", "1080m");
	CHECK_CANON(".001e12", "1e9");
	CHECK_CANON("0.001e0", "1e-3");
	CHECK_CANON("1000e-12", "1e-9");
	CHECK_CANON("00", "0");
	/* k8s: TestQuantityParseEmit, and the negated forms */
	CHECK_CANON(".001Ki", "1024m");
	CHECK_CANON(".000001Ki", "1024u");
	CHECK_CANON(".000000001Ki", "1024n");
	CHECK_CANON(".000000000001Ki", "2n");
	CHECK_CANON("-1024Mi", "-1Gi");
	CHECK_CANON("-.001Ki", "-1024m");
	CHECK_CANON("-1.5", "-1500m");
	/* k8s: 1000 prints with a suffix; binary below 1024 prints as decimal */
	CHECK_CANON("1000", "1k");
	CHECK_CANON("0.5Ki", "512");
	CHECK_CANON("1.5Gi", "1536Mi");
	CHECK_CANON("1.1Ki", "1126400m");
	CHECK_CANON("1.5e3", "1500");
	/* k8s: ParseQuantity keeps an input its fast path deems canonical, even this one */
	CHECK_CANON("100.035k", "100.035k");
	CHECK_CANON("1E3", "1E3");
	CHECK_CANON("9Ei", "9223372036854775807");
	CHECK_CANON("12E", "12E");
}

TEST(canonical_strings_are_kept)
{
	/* k8s: TestQuantityString: a canonical input prints back as itself */
	static const char *const same[] = {
		"1Gi",  "300Mi", "6Ki",  "1001Gi", "1Ti",   "5",     "500m",     "1G",
		"1m",   "80m",   "1080m", "300M",  "1T",    "1234567M", "1234567m", "3k",
		"1025", "1e9",   "1e-3", "1e-9",   "80e-3", "300e6", "1e12",     "1e3",
		"3e3",  "1n",    "80n",  "1080n",  "1u",    "80u",   "1080u",    "0",
		"-1Gi", "-500m", "-3k",
	};
	for (size_t i = 0; i < ARRAY_SIZE(same); i++)
		CHECK_CANON(same[i], same[i]);
}

TEST(value_and_milli_round_away_from_zero)
{
	quantity q;
	REQUIRE(qp("1.5", &q));
	CHECK_INT(quantity_value(&q), 2);
	CHECK_INT(quantity_milli(&q), 1500);
	REQUIRE(qp("-1.5", &q));
	CHECK_INT(quantity_value(&q), -2);
	REQUIRE(qp("100m", &q));
	CHECK_INT(quantity_value(&q), 1);
	CHECK_INT(quantity_milli(&q), 100);
	REQUIRE(qp("0.1m", &q));
	CHECK_INT(quantity_milli(&q), 1);
	REQUIRE(qp("9.01", &q));
	CHECK_INT(quantity_value(&q), 10);
	CHECK_INT(quantity_milli(&q), 9010);
	REQUIRE(qp("1Gi", &q));
	CHECK_INT(quantity_value(&q), 1073741824);
	CHECK_INT(quantity_milli(&q), 1073741824000LL);
	REQUIRE(qp("9Ei", &q));
	CHECK_INT(quantity_value(&q), INT64_MAX);
	CHECK_INT(quantity_milli(&q), INT64_MAX);
	REQUIRE(qp("2", &q));
	CHECK_INT(quantity_value(&q), 2);
}

TEST(new_quantities)
{
	/* k8s: TestNewSet and TestMilliNewSet */
	quantity q;
	char *s;
	quantity_from_int(&q, 1000, QUANTITY_DECIMAL_SI);
	CHECK_STR(s = quantity_canonical(&q), "1k");
	free(s);
	quantity_from_int(&q, 1234000, QUANTITY_DECIMAL_SI);
	CHECK_STR(s = quantity_canonical(&q), "1234k");
	free(s);
	quantity_from_int(&q, 1024, QUANTITY_BINARY_SI);
	CHECK_STR(s = quantity_canonical(&q), "1Ki");
	free(s);
	quantity_from_int(&q, 1000000, QUANTITY_DECIMAL_EXPONENT);
	CHECK_STR(s = quantity_canonical(&q), "1e6");
	free(s);
	quantity_from_milli(&q, 1, QUANTITY_DECIMAL_SI);
	CHECK_STR(s = quantity_canonical(&q), "1m");
	free(s);
	quantity_from_milli(&q, 1024, QUANTITY_BINARY_SI);
	CHECK_STR(s = quantity_canonical(&q), "1024m");
	free(s);
	quantity_from_milli(&q, 1024 * 1024, QUANTITY_BINARY_SI);
	CHECK_STR(s = quantity_canonical(&q), "1048576m");
	free(s);
	quantity_from_milli(&q, 1000000, QUANTITY_DECIMAL_EXPONENT);
	CHECK_STR(s = quantity_canonical(&q), "1e3");
	free(s);
}

TEST(cmp_add_sub)
{
	quantity a, b;
	/* k8s: TestQuantityCmp */
	REQUIRE(qp("100m", &a) && qp("50m", &b));
	CHECK_INT(quantity_cmp(&a, &b), 1);
	CHECK_INT(quantity_cmp(&b, &a), -1);
	REQUIRE(qp("10000T", &a) && qp("100Gi", &b));
	CHECK_INT(quantity_cmp(&a, &b), 1);
	REQUIRE(qp("1Gi", &a) && qp("1024Mi", &b));
	CHECK_INT(quantity_cmp(&a, &b), 0);

	/* k8s: TestAdd / TestSub: the left operand's format wins unless it is zero */
	char *s;
	quantity_from_int(&a, 10, QUANTITY_BINARY_SI);
	quantity_from_int(&b, 1, QUANTITY_DECIMAL_SI);
	quantity_add(&a, &b);
	CHECK(a.nanos == dq(11, 0));
	CHECK_INT(a.format, BSI);
	quantity_from_int(&a, 10, QUANTITY_DECIMAL_SI);
	quantity_sub(&a, &b);
	CHECK(a.nanos == dq(9, 0));
	quantity_from_int(&a, 0, QUANTITY_DECIMAL_SI);
	quantity_from_int(&b, 50, QUANTITY_DECIMAL_SI);
	quantity_sub(&a, &b);
	CHECK(a.nanos == dq(-50, 0));

	/* k8s: TestQuantityAddZeroPreservesSuffix */
	quantity zero;
	REQUIRE(qp("0", &zero));
	REQUIRE(qp("1Gi", &a));
	quantity_add(&a, &zero);
	CHECK_STR(s = quantity_canonical(&a), "1Gi");
	free(s);
	REQUIRE(qp("0", &a) && qp("100m", &b));
	quantity_add(&a, &b);
	CHECK_STR(s = quantity_canonical(&a), "100m");
	free(s);
	REQUIRE(qp("0", &a) && qp("1Gi", &b));
	quantity_sub(&a, &b);
	CHECK_STR(s = quantity_canonical(&a), "-1Gi");
	free(s);

	/* cpu arithmetic as the scheduler does it */
	REQUIRE(qp("250m", &a) && qp("1.5", &b));
	quantity_add(&a, &b);
	CHECK_INT(quantity_milli(&a), 1750);
	CHECK_STR(s = quantity_canonical(&a), "1750m");
	free(s);
	REQUIRE(qp("512Mi", &a) && qp("512Mi", &b));
	quantity_add(&a, &b);
	CHECK_STR(s = quantity_canonical(&a), "1Gi");
	free(s);
}

TEST(parse_json)
{
	quantity q;
	terr *e = NULL;
	_cleanup_json_ json_t *str = json_string(" 2Gi ");
	CHECK_INT(quantity_parse_json(str, &q, &e), 0);
	CHECK(q.nanos == dq(2LL << 30, 0));
	_cleanup_json_ json_t *i = json_integer(4);
	CHECK_INT(quantity_parse_json(i, &q, &e), 0);
	CHECK_INT(quantity_value(&q), 4);
	_cleanup_json_ json_t *r = json_real(0.5);
	CHECK_INT(quantity_parse_json(r, &q, &e), 0);
	char *s = quantity_canonical(&q);
	CHECK_STR(s, "500m");
	free(s);
	_cleanup_json_ json_t *r2 = json_real(0.1);
	CHECK_INT(quantity_parse_json(r2, &q, &e), 0);
	CHECK_INT(quantity_milli(&q), 100);
	_cleanup_json_ json_t *t = json_true();
	CHECK_INT(quantity_parse_json(t, &q, &e), -1);
	REQUIRE(e);
	CHECK_INT(e->code, 400);
	terr_free(e);
}
