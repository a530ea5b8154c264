/* pb_values.c — the JSON forms Go gives to protobuf scalar values: RFC 3339 times
 * (metav1.Time, MicroTime), Go duration strings (metav1.Duration), base64 ([]byte) and
 * UTF-8 repair of strings (Go's JSON encoder turns each invalid byte into U+FFFD).
 *
 * Written for the transcoder, so every function is total over hostile input (no libc
 * time functions whose range is narrower than Go's, no signed overflow).
 * Not for: general time handling (base/util.h) or quantities (resource.Quantity strings
 * pass through unchanged).
 */
#include "api/pb-internal.h"

#include <stdio.h>
#include <string.h>

#include "base/base64.h"
#include "base/util.h"

/* ---- UTF-8 ---- */

/* Length of the valid UTF-8 sequence at p[0..n), or 0 when the first byte starts none. */
static size_t utf8_seq(const uint8_t *p, size_t n)
{
	uint8_t c = p[0];
	if (c < 0x80)
		return 1;
	size_t len;
	uint8_t lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0; /* no overlongs */
		else if (c == 0xed)
			hi = 0x9f; /* no surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f; /* nothing above U+10FFFF */
	} else {
		return 0;
	}
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return len;
}

bool pb_utf8_valid(const uint8_t *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		size_t l = utf8_seq(p + i, n - i);
		if (!l)
			return false;
		i += l;
	}
	return true;
}

json_t *pb_json_string(const uint8_t *p, size_t n)
{
	if (pb_utf8_valid(p, n))
		return json_stringn_nocheck(n ? (const char *)p : "", n);
	_cleanup_buf_ buf b = {0};
	size_t i = 0;
	while (i < n) {
		size_t l = utf8_seq(p + i, n - i);
		if (l) {
			buf_add(&b, p + i, l);
			i += l;
		} else {
			buf_add(&b, "\xef\xbf\xbd", 3); /* U+FFFD for one bad byte */
			i++;
		}
	}
	return json_stringn_nocheck(b.p, b.n);
}

/* ---- base64 ---- */

int pb_base64_decode(const char *s, size_t n, buf *out)
{
	/* Go's StdEncoding: groups of four, '=' padding only at the very end, CR/LF ignored. */
	int q[4], nq = 0, pad = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '\r' || c == '\n')
			continue;
		if (pad) {
			if (c != '=' || nq == 4)
				return -1;
			q[nq++] = 0;
			pad++;
			continue;
		}
		if (c == '=') {
			if (nq < 2)
				return -1;
			q[nq++] = 0;
			pad = 1;
			continue;
		}
		int v = base64_char_value(c, false);
		if (v < 0)
			return -1;
		q[nq++] = v;
		if (nq == 4) {
			uint8_t o[3] = {(uint8_t)(q[0] << 2 | q[1] >> 4), (uint8_t)(q[1] << 4 | q[2] >> 2),
			                (uint8_t)(q[2] << 6 | q[3])};
			buf_add(out, o, 3);
			nq = 0;
		}
	}
	if (pad) {
		if (nq != 4)
			return -1;
		uint8_t o[2] = {(uint8_t)(q[0] << 2 | q[1] >> 4), (uint8_t)(q[1] << 4 | q[2] >> 2)};
		buf_add(out, o, pad == 2 ? 1 : 2);
		return 0;
	}
	return nq == 0 ? 0 : -1;
}

/* ---- civil time (proleptic Gregorian, days since 1970-01-01) ---- */

static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;                                  /* [0, 399] */
	int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* [0, 365] */
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;         /* [0, 146096] */
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static int days_in_month(int64_t y, int m)
{
	static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dm[m - 1];
}

int pb_time_format(int64_t sec, int32_t nanos, bool micro, char out[40])
{
	if (sec < PB_TIME_MIN_SEC || sec > PB_TIME_MAX_SEC || nanos < 0 || nanos >= 1000000000)
		return -1;
	int64_t days = sec >= 0 ? sec / 86400 : -((-sec + 86399) / 86400);
	int64_t rem = sec - days * 86400, y;
	int m, d;
	civil_from_days(days, &y, &m, &d);
	/* The ranges are known; the modulos only tell the compiler so. */
	unsigned uy = (unsigned)y % 10000u, um = (unsigned)m % 13u, ud = (unsigned)d % 32u;
	unsigned hh = (unsigned)(rem / 3600) % 24u, mm = (unsigned)(rem / 60 % 60) % 60u;
	unsigned ss = (unsigned)(rem % 60) % 60u;
	if (micro)
		snprintf(out, 40, "%04u-%02u-%02uT%02u:%02u:%02u.%06uZ", uy, um, ud, hh, mm, ss,
		         (unsigned)(nanos / 1000) % 1000000u);
	else
		snprintf(out, 40, "%04u-%02u-%02uT%02u:%02u:%02uZ", uy, um, ud, hh, mm, ss);
	return 0;
}

/* Reads exactly w decimal digits at s; -1 when any is not a digit. */
static int digits(const char *s, int w)
{
	int v = 0;
	for (int i = 0; i < w; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int pb_time_parse(const char *s, size_t n, int64_t *sec, int32_t *nanos)
{
	/* k8s: metav1.Time parses with Go's time.RFC3339 layout. */
	if (n < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':')
		return -1;
	int y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);
	int hh = digits(s + 11, 2), mi = digits(s + 14, 2), ss = digits(s + 17, 2);
	if (y < 0 || mo < 1 || mo > 12 || d < 1 || hh < 0 || hh > 23 || mi < 0 || mi > 59 ||
	    ss < 0 || ss > 59 || d > days_in_month(y, mo))
		return -1;
	size_t i = 19;
	int32_t frac = 0;
	if (s[i] == '.') {
		int nd = 0;
		for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++, nd++)
			if (nd < 9)
				frac = frac * 10 + (s[i] - '0');
		if (nd == 0)
			return -1;
		for (; nd < 9; nd++)
			frac *= 10;
	}
	int64_t off = 0;
	if (i < n && s[i] == 'Z') {
		i++;
	} else if (i + 6 == n && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
		int oh = digits(s + i + 1, 2), om = digits(s + i + 4, 2);
		if (oh < 0 || oh > 23 || om < 0 || om > 59)
			return -1;
		off = (s[i] == '-' ? -1 : 1) * (int64_t)(oh * 3600 + om * 60);
		i += 6;
	} else {
		return -1;
	}
	if (i != n)
		return -1;
	*sec = days_from_civil(y, mo, d) * 86400 + hh * 3600 + mi * 60 + ss - off;
	*nanos = frac;
	return 0;
}

/* ---- Go durations ---- */

/* Appends ".ddd" (the fraction v % 10^prec without trailing zeros, nothing when 0) at o. */
static char *frac_digits(char *o, uint64_t v, int prec)
{
	char d[10];
	int n = prec;
	for (int i = prec - 1; i >= 0; i--) {
		d[i] = (char)('0' + v % 10);
		v /= 10;
	}
	while (n > 0 && d[n - 1] == '0')
		n--;
	if (n) {
		*o++ = '.';
		memcpy(o, d, (size_t)n);
		o += n;
	}
	return o;
}

void pb_duration_format(int64_t ns, char out[40])
{
	/* k8s: metav1.Duration marshals as Go's time.Duration.String(). */
	uint64_t u = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
	char *o = out;
	if (u == 0) {
		strcpy(out, "0s");
		return;
	}
	if (ns < 0)
		*o++ = '-';
	if (u < 1000) {
		o += sprintf(o, "%llu", (unsigned long long)u);
		strcpy(o, "ns");
	} else if (u < 1000000) {
		o += sprintf(o, "%llu", (unsigned long long)(u / 1000));
		o = frac_digits(o, u % 1000, 3);
		strcpy(o, "\xc2\xb5s"); /* U+00B5 MICRO SIGN, as Go writes it */
	} else if (u < 1000000000) {
		o += sprintf(o, "%llu", (unsigned long long)(u / 1000000));
		o = frac_digits(o, u % 1000000, 6);
		strcpy(o, "ms");
	} else {
		uint64_t s = u / 1000000000;
		if (s >= 3600)
			o += sprintf(o, "%lluh%llum%llu", (unsigned long long)(s / 3600),
			             (unsigned long long)(s / 60 % 60), (unsigned long long)(s % 60));
		else if (s >= 60)
			o += sprintf(o, "%llum%llu", (unsigned long long)(s / 60),
			             (unsigned long long)(s % 60));
		else
			o += sprintf(o, "%llu", (unsigned long long)s);
		o = frac_digits(o, u % 1000000000, 9);
		strcpy(o, "s");
	}
}

static const struct {
	const char *name;
	uint64_t ns;
} dur_units[] = {
	{"ns", 1},
	{"us", 1000},
	{"\xc2\xb5s", 1000}, /* U+00B5 micro sign */
	{"\xce\xbcs", 1000}, /* U+03BC Greek mu */
	{"ms", 1000000},
	{"s", 1000000000ULL},
	{"m", 60000000000ULL},
	{"h", 3600000000000ULL},
};

int pb_duration_parse(const char *s, size_t n, int64_t *ns)
{
	const uint64_t lim = 1ULL << 63;
	size_t i = 0;
	bool neg = false;
	if (n && (s[0] == '-' || s[0] == '+')) {
		neg = s[0] == '-';
		i++;
	}
	if (n - i == 1 && s[i] == '0') {
		*ns = 0;
		return 0;
	}
	if (i == n)
		return -1;
	uint64_t total = 0;
	while (i < n) {
		if (s[i] != '.' && (s[i] < '0' || s[i] > '9'))
			return -1;
		uint64_t v = 0, f = 0;
		double scale = 1;
		size_t start = i;
		for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
			if (v > lim / 10)
				return -1;
			v = v * 10 + (uint64_t)(s[i] - '0');
			if (v > lim)
				return -1;
		}
		bool pre = i > start, post = false;
		if (i < n && s[i] == '.') {
			i++;
			size_t fs = i;
			bool over = false;
			for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
				if (over || f > (lim - 1) / 10) {
					over = true;
					continue;
				}
				f = f * 10 + (uint64_t)(s[i] - '0');
				scale *= 10;
			}
			post = i > fs;
		}
		if (!pre && !post)
			return -1;
		size_t us = i;
		while (i < n && s[i] != '.' && (s[i] < '0' || s[i] > '9'))
			i++;
		uint64_t unit = 0;
		for (size_t k = 0; k < ARRAY_SIZE(dur_units); k++)
			if (strlen(dur_units[k].name) == i - us &&
			    memcmp(dur_units[k].name, s + us, i - us) == 0)
				unit = dur_units[k].ns;
		if (!unit)
			return -1;
		if (v > lim / unit)
			return -1;
		v *= unit;
		if (f > 0) {
			v += (uint64_t)((double)f * ((double)unit / scale));
			if (v > lim)
				return -1;
		}
		total += v;
		if (total > lim)
			return -1;
	}
	if (neg) {
		*ns = total == lim ? INT64_MIN : -(int64_t)total;
		return 0;
	}
	if (total > lim - 1)
		return -1;
	*ns = (int64_t)total;
	return 0;
}
