/* buf.c — growable byte buffer. */
#include "base/buf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

static void reserve(buf *b, size_t extra)
{
	if (b->n + extra + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap * 2 : 256;
	while (cap < b->n + extra + 1)
		cap *= 2;
	b->p = xrealloc(b->p, cap);
	b->cap = cap;
}

void buf_reserve(buf *b, size_t n)
{
	reserve(b, n);
}

void buf_add(buf *b, const void *data, size_t n)
{
	reserve(b, n);
	if (n)
		memcpy(b->p + b->n, data, n);
	b->n += n;
	b->p[b->n] = 0;
}

void buf_puts(buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void buf_vprintf(buf *b, const char *fmt, va_list ap)
{
	/* Formatted once into the room b has (most calls fit), again only when it did not. */
	reserve(b, 64);
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		abort();
	if ((size_t)n >= b->cap - b->n) {
		reserve(b, (size_t)n);
		vsnprintf(b->p + b->n, (size_t)n + 1, fmt, ap);
	}
	b->n += (size_t)n;
}

void buf_put_u64(buf *b, uint64_t v)
{
	char d[21];
	buf_add(b, d, fmt_u64(d, v));
}

void buf_printf(buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(b, fmt, ap);
	va_end(ap);
}

/* Whether none of the 8 bytes in x needs an escape (below 0x20, '"' or '\\'): the
 * exact "has a byte less than" and "has a zero byte" word tests. */
static inline bool plain8(uint64_t x)
{
	const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
	uint64_t q = x ^ (ones * '"'), bs = x ^ (ones * '\\');
	uint64_t hit = ((x - ones * 0x20) & ~x) | ((q - ones) & ~q) | ((bs - ones) & ~bs);
	return (hit & highs) == 0;
}

/* The shortest decimal digits that read back as d (d finite, > 0), and the exponent of
 * the first digit: d = 0.D1D2... * 10^(exp10 + 1). */
static void shortest(double d, char digits[24], int *exp10)
{
	char tmp[48];
	for (int p = 1; p <= 17; p++) {
		snprintf(tmp, sizeof tmp, "%.*e", p - 1, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	int n = 0;
	char *q = tmp;
	for (; *q && *q != 'e'; q++)
		if (*q >= '0' && *q <= '9' && n < 23)
			digits[n++] = *q;
	while (n > 1 && digits[n - 1] == '0')
		n--;
	digits[n] = 0;
	*exp10 = *q == 'e' ? atoi(q + 1) : 0;
}

/* d as Go's 'e' (exponent at least two digits) or 'f' format with shortest digits. */
static void put_digits(buf *b, const char *dg, int exp10, bool expo, bool json)
{
	size_t nd = strlen(dg);
	if (expo) {
		buf_putc(b, dg[0]);
		if (nd > 1)
			buf_printf(b, ".%s", dg + 1);
		int e = exp10 < 0 ? -exp10 : exp10;
		if (json && exp10 < 0 && e < 10)
			buf_printf(b, "e-%d", e); /* encoding/json trims e-07 to e-7 */
		else
			buf_printf(b, "e%c%02d", exp10 < 0 ? '-' : '+', e);
		return;
	}
	if (exp10 < 0) {
		buf_puts(b, "0.");
		for (int i = -1; i > exp10; i--)
			buf_putc(b, '0');
		buf_puts(b, dg);
		return;
	}
	for (int i = 0; i <= exp10; i++)
		buf_putc(b, (size_t)i < nd ? dg[i] : '0');
	if (nd > (size_t)exp10 + 1)
		buf_printf(b, ".%s", dg + exp10 + 1);
}

void buf_go_float(buf *b, double d, bool json)
{
	if (isnan(d)) {
		buf_puts(b, "NaN");
		return;
	}
	if (isinf(d)) {
		buf_puts(b, d < 0 ? "-Inf" : "+Inf");
		return;
	}
	if (signbit(d))
		buf_putc(b, '-');
	d = fabs(d);
	if (d == 0) {
		buf_putc(b, '0');
		return;
	}
	char dg[24];
	int e;
	shortest(d, dg, &e);
	bool expo = json ? (d < 1e-6 || d >= 1e21) : (e < -4 || e >= 6);
	put_digits(b, dg, e, expo, json);
}

int utf8_seq_len(const unsigned char *s, size_t n)
{
	if (s[0] < 0x80)
		return 1;
	int len = (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3 : (s[0] & 0xf8) == 0xf0 ? 4 : 0;
	if (len == 0 || (size_t)len > n || (len == 2 && s[0] < 0xc2) || (len == 4 && s[0] > 0xf4))
		return 0;
	for (int i = 1; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if (len == 3 && ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0)))
		return 0; /* overlong, or a UTF-16 surrogate */
	if (len == 4 && ((s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90)))
		return 0;
	return len;
}

void buf_go_quote(buf *b, const char *s, size_t n)
{
	buf_putc(b, '"');
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	while (p < end) {
		unsigned char c = *p;
		const char *esc = NULL;
		switch (c) {
		case '"': esc = "\\\""; break;
		case '\\': esc = "\\\\"; break;
		case '\a': esc = "\\a"; break;
		case '\b': esc = "\\b"; break;
		case '\f': esc = "\\f"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\t': esc = "\\t"; break;
		case '\v': esc = "\\v"; break;
		}
		int len = esc ? 1 : utf8_seq_len(p, (size_t)(end - p));
		if (esc)
			buf_puts(b, esc);
		else if (len == 0 || c < 0x20 || c == 0x7f)
			buf_printf(b, "\\x%02x", c);
		else
			buf_add(b, p, (size_t)len);
		p += len ? len : 1;
	}
	buf_putc(b, '"');
}

void buf_json_str(buf *b, const char *s, size_t n)
{
	/* jansson's escapes, so that base/json.c's serializer writes its bytes */
	static const char hex[] = "0123456789ABCDEF";
	reserve(b, n + 2);
	buf_putc(b, '"');
	size_t run = 0;
	for (size_t i = 0; i < n;) {
		uint64_t w;
		if (i + 8 <= n && (memcpy(&w, s + i, 8), plain8(w))) {
			i += 8, run += 8;
			continue;
		}
		unsigned char c = (unsigned char)s[i++];
		if (c >= 0x20 && c != '"' && c != '\\') {
			run++;
			continue;
		}
		char e[6] = {'\\', 0};
		size_t el = 2;
		switch (c) {
		case '"': e[1] = '"'; break;
		case '\\': e[1] = '\\'; break;
		case '\b': e[1] = 'b'; break;
		case '\f': e[1] = 'f'; break;
		case '\n': e[1] = 'n'; break;
		case '\r': e[1] = 'r'; break;
		case '\t': e[1] = 't'; break;
		default:
			e[1] = 'u', e[2] = '0', e[3] = '0', e[4] = hex[c >> 4], e[5] = hex[c & 15];
			el = 6;
		}
		buf_add(b, s + i - 1 - run, run);
		run = 0;
		buf_add(b, e, el);
	}
	buf_add(b, s + n - run, run);
	buf_putc(b, '"');
}

char *buf_take(buf *b)
{
	char *p = b->p;
	if (!p)
		p = xstrdup("");
	b->p = NULL;
	b->n = b->cap = 0;
	return p;
}

void buf_reset(buf *b)
{
	b->n = 0;
	if (b->p)
		b->p[0] = 0;
}

void buf_free(buf *b)
{
	free(b->p);
	b->p = NULL;
	b->n = b->cap = 0;
}

void cleanup_bufp(buf *b)
{
	buf_free(b);
}
