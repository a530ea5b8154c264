/* quantity.c — resource quantities: kube's scanner, exact conversion to nano-units with
 * kube's rounding, the canonical form, and arithmetic.
 *
 * Written from the documented behaviour of apimachinery's api/resource (kube 1.32).
 * Not for: anything that knows resource names (cpu, memory) or ResourceList maps.
 */
#include "base/quantity.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/util.h"

#define MSG_FORMAT                                                                       \
	"quantities must match the regular expression "                                  \
	"'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
#define MSG_NUMERIC "unable to parse numeric part of quantity"
#define MSG_SUFFIX "unable to parse quantity's suffix"

#define NANO ((__int128)1000000000)
/* The range limit: 10^37 nano-units (10^28 units). */
#define QLIMIT ((__int128)10000000000000000000ULL * (__int128)1000000000000000000ULL)

/* ---- the scanner (k8s: parseQuantityString) ---- */

struct qparts {
	bool positive;
	const char *num; /* leading zeros stripped, "0" when empty */
	size_t nnum;
	const char *den; /* digits after '.', as written */
	size_t nden;
	const char *suf;
	size_t nsuf;
};

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int scan(const char *s, size_t end, struct qparts *p)
{
	size_t pos = 0;
	*p = (struct qparts){.positive = true, .num = "0", .nnum = 1, .den = "", .suf = ""};
	if (pos < end && (s[0] == '-' || s[0] == '+')) {
		p->positive = s[0] == '+';
		pos++;
	}
	while (pos < end && s[pos] == '0')
		pos++;
	if (pos >= end)
		return 0;
	size_t st = pos;
	while (pos < end && is_digit(s[pos]))
		pos++;
	if (pos > st) {
		p->num = s + st;
		p->nnum = pos - st;
	}
	if (pos >= end)
		return 0;
	if (s[pos] == '.') {
		st = ++pos;
		while (pos < end && is_digit(s[pos]))
			pos++;
		p->den = s + st;
		p->nden = pos - st;
		if (pos >= end)
			return 0;
	}
	/* k8s: suffix letters, then an optional sign and digits, then the end */
	st = pos;
	while (pos < end && s[pos] && strchr("eEinumkKMGTP", s[pos]))
		pos++;
	if (pos < end && (s[pos] == '-' || s[pos] == '+'))
		pos++;
	while (pos < end && is_digit(s[pos]))
		pos++;
	if (pos < end)
		return -1;
	p->suf = s + st;
	p->nsuf = end - st;
	return 0;
}

/* k8s: suffixHandler.interpret. Sets base (10 or 2), exponent and format. */
static bool interpret(const char *suf, size_t n, int *base, int32_t *exp, quantity_format *fmt)
{
	static const struct {
		const char *s;
		int base;
		int32_t exp;
	} table[] = {
		{"n", 10, -9}, {"u", 10, -6}, {"m", 10, -3}, {"", 10, 0},  {"k", 10, 3},
		{"M", 10, 6},  {"G", 10, 9},  {"T", 10, 12}, {"P", 10, 15}, {"E", 10, 18},
		{"Ki", 2, 10}, {"Mi", 2, 20}, {"Gi", 2, 30}, {"Ti", 2, 40}, {"Pi", 2, 50},
		{"Ei", 2, 60},
	};
	for (size_t i = 0; i < ARRAY_SIZE(table); i++) {
		if (strlen(table[i].s) == n && memcmp(table[i].s, suf, n) == 0) {
			*base = table[i].base;
			*exp = table[i].exp;
			*fmt = table[i].base == 2 ? QUANTITY_BINARY_SI : QUANTITY_DECIMAL_SI;
			return true;
		}
	}
	if (n < 2 || (suf[0] != 'e' && suf[0] != 'E'))
		return false;
	/* k8s: strconv.ParseInt(suffix[1:], 10, 64), then truncated to int32 */
	char tmp[32];
	if (n - 1 >= sizeof tmp)
		return false;
	memcpy(tmp, suf + 1, n - 1);
	tmp[n - 1] = 0;
	const char *d = tmp + (tmp[0] == '+' || tmp[0] == '-');
	if (!*d)
		return false;
	for (const char *c = d; *c; c++)
		if (!is_digit(*c))
			return false;
	errno = 0;
	long long v = strtoll(tmp, NULL, 10);
	if (errno)
		return false;
	*base = 10;
	*exp = (int32_t)(uint32_t)(unsigned long long)v;
	*fmt = QUANTITY_DECIMAL_EXPONENT;
	return true;
}

/* ---- a small unsigned bignum, enough for 40 digits times 10^39 times 2^60 ---- */

#define BN_LIMBS 12
struct bn {
	uint32_t w[BN_LIMBS];
};

static void bn_mul_add(struct bn *b, uint32_t m, uint32_t add)
{
	uint64_t carry = add;
	for (int i = 0; i < BN_LIMBS; i++) {
		uint64_t t = (uint64_t)b->w[i] * m + carry;
		b->w[i] = (uint32_t)t;
		carry = t >> 32;
	}
}

/* Divides by d, returning the remainder. */
static uint32_t bn_div(struct bn *b, uint32_t d)
{
	uint64_t rem = 0;
	for (int i = BN_LIMBS - 1; i >= 0; i--) {
		uint64_t cur = (rem << 32) | b->w[i];
		b->w[i] = (uint32_t)(cur / d);
		rem = cur % d;
	}
	return (uint32_t)rem;
}

/* The value when it fits in 127 bits and is at most QLIMIT, else false. */
static bool bn_to_i128(const struct bn *b, __int128 *out)
{
	for (int i = 4; i < BN_LIMBS; i++)
		if (b->w[i])
			return false;
	unsigned __int128 v = 0;
	for (int i = 3; i >= 0; i--)
		v = (v << 32) | b->w[i];
	if (v > (unsigned __int128)QLIMIT)
		return false;
	*out = (__int128)v;
	return true;
}

/* Exact |value| in nanos of digits(num . den) * 10^exp10 * 2^exp2, rounded up to a whole
 * nano (k8s: non-zero values round up to the smallest representable amount). Returns 0, or
 * -1 when the magnitude is beyond QLIMIT. */
static int to_nanos(const struct qparts *p, int32_t exp10, int exp2, __int128 *out)
{
	char digits[40];
	size_t L = 0;
	bool sticky = false;
	int64_t e = (int64_t)exp10 - (int64_t)p->nden;
	for (size_t part = 0; part < 2; part++) {
		const char *s = part ? p->den : p->num;
		size_t n = part ? p->nden : p->nnum;
		for (size_t i = 0; i < n; i++) {
			if (L == 0 && s[i] == '0')
				continue;
			if (L < sizeof digits) {
				digits[L++] = s[i];
			} else {
				sticky |= s[i] != '0';
				e++;
			}
		}
	}
	*out = 0;
	if (L == 0)
		return 0;
	while (digits[L - 1] == '0') {
		L--;
		e++;
	}
	int64_t k = e + 9;
	if ((int64_t)L + k > 39)
		return -1;
	if (k < -((int64_t)L + 20)) {
		*out = 1; /* far below one nano, and not zero */
		return 0;
	}
	struct bn b = {0};
	for (size_t i = 0; i < L; i++)
		bn_mul_add(&b, 10, (uint32_t)(digits[i] - '0'));
	for (int64_t i = 0; i < k; i++)
		bn_mul_add(&b, 10, 0);
	for (int i = 0; i < exp2; i += 10)
		bn_mul_add(&b, 1024, 0);
	bool rem = sticky;
	for (int64_t i = 0; i < -k; i++)
		rem |= bn_div(&b, 10) != 0;
	if (rem)
		bn_mul_add(&b, 1, 1);
	return bn_to_i128(&b, out) ? 0 : -1;
}

static bool ends_with_000(const struct qparts *p)
{
	/* the last three digits of num+den */
	char tail[3];
	size_t have = 0;
	for (size_t i = p->nden; i > 0 && have < 3; i--)
		tail[have++] = p->den[i - 1];
	for (size_t i = p->nnum; i > 0 && have < 3; i--)
		tail[have++] = p->num[i - 1];
	return have == 3 && tail[0] == '0' && tail[1] == '0' && tail[2] == '0';
}

/* k8s: ParseQuantity keeps the input string as the canonical form when its int64 fast path
 * sees the value already written canonically. */
static bool keeps_input(const struct qparts *p, int32_t exp, quantity_format fmt)
{
	if (fmt == QUANTITY_BINARY_SI) {
		if (exp < 0 || p->nden)
			return false;
		if (15 - (int64_t)p->nnum - exp * 3 / 10 - 1 < 0)
			return false;
		unsigned long long v = 0;
		for (size_t i = 0; i < p->nnum; i++)
			v = v * 10 + (unsigned)(p->num[i] - '0');
		return (v & 7) != 0;
	}
	if (18 - (int64_t)(p->nnum + p->nden) < 0)
		return false;
	int64_t scale = (int64_t)exp - (int64_t)p->nden;
	if (scale < -9)
		return false;
	char first = p->nnum ? p->num[0] : p->den[0];
	return scale % 3 == 0 && !ends_with_000(p) && first != '0';
}

int quantity_parse(const char *s, quantity *q, terr **err)
{
	memset(q, 0, sizeof *q);
	size_t n = strlen(s);
	if (n == 0)
		return terr_bad_request(err, MSG_FORMAT);
	if (strcmp(s, "0") == 0) {
		strcpy(q->s, "0");
		return 0;
	}
	struct qparts p;
	if (scan(s, n, &p) < 0)
		return terr_bad_request(err, MSG_FORMAT);
	int base;
	int32_t exp;
	quantity_format fmt;
	if (!interpret(p.suf, p.nsuf, &base, &exp, &fmt))
		return terr_bad_request(err, MSG_SUFFIX);
	__int128 nanos;
	int rc = base == 10 ? to_nanos(&p, exp, 0, &nanos) : to_nanos(&p, 0, exp, &nanos);
	/* k8s: binary quantities are capped at 2^63-1 units */
	__int128 bin_cap = (__int128)INT64_MAX * NANO;
	if (fmt == QUANTITY_BINARY_SI && (rc < 0 || nanos > bin_cap)) {
		nanos = bin_cap;
		rc = 0;
	}
	if (rc < 0)
		return terr_bad_request(err, MSG_NUMERIC);
	if (nanos && keeps_input(&p, exp, fmt) && n < sizeof q->s)
		memcpy(q->s, s, n + 1);
	/* k8s: a binary amount strictly between 0 and 1 is shown as DecimalSI */
	if (fmt == QUANTITY_BINARY_SI && nanos > 0 && nanos < NANO)
		fmt = QUANTITY_DECIMAL_SI;
	q->nanos = p.positive ? nanos : -nanos;
	q->format = fmt;
	return 0;
}

/* Go's shortest round-trip form of a float64, enough for JSON numbers. */
static void shortest_double(double d, char out[40])
{
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(out, 40, "%.*g", prec, d);
		if (strtod(out, NULL) == d)
			return;
	}
}

int quantity_parse_json(json_t *v, quantity *q, terr **err)
{
	char tmp[40];
	switch (v ? json_typeof(v) : JSON_NULL) {
	case JSON_NULL:
		memset(q, 0, sizeof *q);
		return 0;
	case JSON_INTEGER:
		snprintf(tmp, sizeof tmp, "%lld", (long long)json_integer_value(v));
		return quantity_parse(tmp, q, err);
	case JSON_REAL:
		if (!isfinite(json_real_value(v)))
			return terr_bad_request(err, MSG_FORMAT);
		shortest_double(json_real_value(v), tmp);
		return quantity_parse(tmp, q, err);
	case JSON_STRING: {
		/* k8s: UnmarshalJSON trims surrounding white space */
		const char *s = json_string_value(v);
		size_t n = json_string_length(v);
		if (memchr(s, 0, n))
			return terr_bad_request(err, MSG_FORMAT);
		while (n && strchr(" \t\n\v\f\r", *s) && *s) {
			s++;
			n--;
		}
		while (n && s[n - 1] && strchr(" \t\n\v\f\r", s[n - 1]))
			n--;
		_cleanup_free_ char *t = xstrndup(s, n);
		return quantity_parse(t, q, err);
	}
	default:
		return terr_bad_request(err, MSG_FORMAT);
	}
}

void quantity_from_int(quantity *q, int64_t value, quantity_format format)
{
	memset(q, 0, sizeof *q);
	q->nanos = (__int128)value * NANO;
	q->format = format;
}

void quantity_from_milli(quantity *q, int64_t milli, quantity_format format)
{
	memset(q, 0, sizeof *q);
	q->nanos = (__int128)milli * 1000000;
	q->format = format;
}

/* n / div rounded away from zero, saturated to int64. */
static int64_t scaled(__int128 n, int64_t div)
{
	__int128 r = n / div;
	if (n % div)
		r += n > 0 ? 1 : -1;
	if (r > INT64_MAX)
		return INT64_MAX;
	if (r < INT64_MIN)
		return INT64_MIN;
	return (int64_t)r;
}

int64_t quantity_value(const quantity *q)
{
	return scaled(q->nanos, 1000000000);
}

int64_t quantity_milli(const quantity *q)
{
	return scaled(q->nanos, 1000000);
}

static void put_i128(buf *b, __int128 v)
{
	char tmp[48];
	int i = sizeof tmp;
	tmp[--i] = 0;
	unsigned __int128 u = v < 0 ? -(unsigned __int128)v : (unsigned __int128)v;
	do {
		tmp[--i] = (char)('0' + (int)(u % 10));
		u /= 10;
	} while (u);
	if (v < 0)
		tmp[--i] = '-';
	buf_puts(b, tmp + i);
}

char *quantity_canonical(const quantity *q)
{
	if (q->s[0])
		return xstrdup(q->s);
	if (q->nanos == 0)
		return xstrdup("0");
	_cleanup_buf_ buf b = {0};
	quantity_format fmt = q->format;
	__int128 n = q->nanos;
	/* k8s: binary form only for whole amounts of at least 1024 in magnitude */
	if (fmt == QUANTITY_BINARY_SI && (n % NANO != 0 || (n > -1024 * NANO && n < 1024 * NANO)))
		fmt = QUANTITY_DECIMAL_SI;
	if (fmt == QUANTITY_BINARY_SI) {
		static const char *const bin[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
		__int128 u = n / NANO;
		int e = 0;
		while (e < 6 && u % 1024 == 0) {
			u /= 1024;
			e++;
		}
		put_i128(&b, u);
		buf_puts(&b, bin[e]);
		return buf_take(&b);
	}
	/* k8s: strip factors of ten, then lower the exponent to a multiple of three */
	int ex = -9;
	while (n % 10 == 0) {
		n /= 10;
		ex++;
	}
	switch (ex % 3) {
	case 1:
	case -2:
		n *= 10;
		ex -= 1;
		break;
	case 2:
	case -1:
		n *= 100;
		ex -= 2;
		break;
	}
	put_i128(&b, n);
	if (fmt == QUANTITY_DECIMAL_SI && ex <= 18) {
		static const char *const dec[] = {"n", "u", "m", "", "k", "M", "G", "T", "P", "E"};
		buf_puts(&b, dec[(ex + 9) / 3]);
	} else if (ex != 0) {
		/* DecimalExponent; also DecimalSI beyond E, which kube has no suffix for */
		buf_printf(&b, "e%d", ex);
	}
	return buf_take(&b);
}

int quantity_cmp(const quantity *a, const quantity *b)
{
	return a->nanos < b->nanos ? -1 : a->nanos > b->nanos ? 1 : 0;
}

bool quantity_is_zero(const quantity *q)
{
	return q->nanos == 0;
}

static __int128 clamp(__int128 v)
{
	return v > QLIMIT ? QLIMIT : v < -QLIMIT ? -QLIMIT : v;
}

void quantity_add(quantity *a, const quantity *b)
{
	a->s[0] = 0;
	if (a->nanos == 0)
		a->format = b->format;
	a->nanos = clamp(a->nanos + b->nanos);
}

void quantity_sub(quantity *a, const quantity *b)
{
	a->s[0] = 0;
	if (a->nanos == 0)
		a->format = b->format;
	a->nanos = clamp(a->nanos - b->nanos);
}
