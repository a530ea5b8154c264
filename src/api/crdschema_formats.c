/* crdschema_formats.c — the string formats kube checks in custom resources: the OpenAPI
 * format registry minus the formats kube strips, such as int32 or float.
 *
 * Not for: the validator's control flow (crdschema_openapi.c) or `pattern` (regex
 * translation lives in crdschema_regex.c). Formats follow kube's definitions closely but
 * not byte for byte where Go's parsers are intricate (email, uri).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/crdschema-internal.h"
#include "base/util.h"

/* k8s: supportedFormats of apiextensions-apiserver; other formats are ignored. Compared
 * after removing '-' (go-openapi's name normalization: date-time == datetime). */
static const char *const formats[] = {
	"bsonobjectid", "uri", "email", "hostname", "ipv4", "ipv6", "cidr", "mac", "uuid",
	"uuid3", "uuid4", "uuid5", "isbn", "isbn10", "isbn13", "creditcard", "ssn", "hexcolor",
	"rgbcolor", "byte", "password", "date", "duration", "datetime",
};

static void normalize(const char *f, char out[32])
{
	size_t n = 0;
	for (; *f && n < 31; f++)
		if (*f != '-')
			out[n++] = *f;
	out[n] = 0;
}

const char *cs_format(const json_t *schema)
{
	const char *f = json_string_value(json_object_get(schema, "format"));
	if (!f || !*f || strlen(f) > 31)
		return NULL;
	char norm[32];
	normalize(f, norm);
	for (size_t i = 0; i < ARRAY_SIZE(formats); i++)
		if (strcmp(norm, formats[i]) == 0)
			return f;
	return NULL;
}

/* ---- helpers ------------------------------------------------------------------------ */

static bool all(const char *s, size_t n, int (*cls)(int))
{
	for (size_t i = 0; i < n; i++)
		if (!cls((unsigned char)s[i]))
			return false;
	return true;
}

static bool hexn(const char *s, size_t n)
{
	return all(s, n, isxdigit);
}

static bool digitsn(const char *s, size_t n)
{
	return all(s, n, isdigit);
}

static int leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* k8s: strfmt date, Go's time.Parse("2006-01-02"). */
static bool is_date(const char *s, size_t n)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (n != 10 || s[4] != '-' || s[7] != '-' || !digitsn(s, 4) || !digitsn(s + 5, 2) ||
	    !digitsn(s + 8, 2))
		return false;
	int y = atoi(s), m = (s[5] - '0') * 10 + s[6] - '0', d = (s[8] - '0') * 10 + s[9] - '0';
	if (m < 1 || m > 12 || d < 1)
		return false;
	return d <= mdays[m - 1] + (m == 2 && leap(y));
}

/* The zone of a date-time: "z" or [+-]hh:mm, exactly. */
static bool dt_zone(const char *s, size_t n)
{
	if (n == 1 && s[0] == 'z')
		return true;
	return n == 6 && (s[0] == '+' || s[0] == '-') && digitsn(s + 1, 2) && s[3] == ':' &&
	       digitsn(s + 4, 2);
}

/* k8s: strfmt date-time: lowercased, split at 't', a date, then
 * hh:mm:ss(.<digits>)?(z|[+-]hh:mm) with hh <= 23, mm and ss <= 59. */
static bool is_datetime(const char *s, size_t n)
{
	if (n < 4)
		return false;
	_cleanup_free_ char *l = xstrndup(s, n);
	for (size_t i = 0; i < n; i++)
		l[i] = (char)tolower((unsigned char)l[i]);
	char *t = memchr(l, 't', n);
	if (!t || !is_date(l, (size_t)(t - l)))
		return false;
	char *p = t + 1, *end = l + n, *t2 = memchr(p, 't', (size_t)(end - p));
	if (t2)
		end = t2;
	size_t m = (size_t)(end - p);
	if (m < 9 || !digitsn(p, 2) || p[2] != ':' || !digitsn(p + 3, 2) || p[5] != ':' ||
	    !digitsn(p + 6, 2))
		return false;
	if (memcmp(p, "23", 2) > 0 || memcmp(p + 3, "59", 2) > 0 || memcmp(p + 6, "59", 2) > 0)
		return false;
	char *r = p + 8;
	if (dt_zone(r, (size_t)(end - r)))
		return true;
	if (r >= end || *r == '\n') /* (.[0-9]+)?: any one character, then digits */
		return false;
	r++;
	while (r < end && ((unsigned char)*r & 0xc0) == 0x80)
		r++;
	char *d = r;
	while (r < end && isdigit((unsigned char)*r))
		r++;
	return r > d && dt_zone(r, (size_t)(end - r));
}

/* Go's time.ParseDuration: [-+]?(<number><unit>)+ or "0". */
static bool go_duration(const char *s, size_t n)
{
	size_t i = 0;
	if (i < n && (s[i] == '-' || s[i] == '+'))
		i++;
	if (n - i == 1 && s[i] == '0')
		return true;
	if (i == n)
		return false;
	static const char *const units[] = {"ns", "us", "\xc2\xb5s", "\xce\xbcs", "ms", "s", "m", "h"};
	while (i < n) {
		size_t a = i;
		while (i < n && isdigit((unsigned char)s[i]))
			i++;
		bool pre = i > a, post = false;
		if (i < n && s[i] == '.') {
			size_t f = ++i;
			while (i < n && isdigit((unsigned char)s[i]))
				i++;
			post = i > f;
		}
		if (!pre && !post)
			return false;
		size_t u = i;
		while (i < n && s[i] != '.' && !isdigit((unsigned char)s[i]))
			i++;
		bool ok = false;
		for (size_t k = 0; k < ARRAY_SIZE(units) && !ok; k++)
			ok = strlen(units[k]) == i - u && memcmp(units[k], s + u, i - u) == 0;
		if (!ok)
			return false;
	}
	return true;
}

/* k8s: strfmt duration: Go's syntax, or any "<digits> <unit>" in it with a unit such as
 * s, sec, min, hour, hours, d, day, w, week (scala style). */
static bool is_duration(const char *s, size_t n)
{
	if (go_duration(s, n))
		return true;
	static const char *const units[][3] = {
		{"ns", "nano"}, {"us", "\xc2\xb5s", "micro"}, {"ms", "milli"}, {"s", "sec"},
		{"m", "min"}, {"h", "hr", "hour"}, {"d", "day"}, {"w", "wk", "week"},
	};
	for (size_t i = 0; i < n;) {
		if (!isdigit((unsigned char)s[i])) {
			i++;
			continue;
		}
		size_t j = i;
		while (j < n && isdigit((unsigned char)s[j]))
			j++;
		if (j - i > 18)
			return false; /* strconv.Atoi overflows */
		size_t k = j;
		while (k < n && strchr(" \t\n\f\r", s[k]) && s[k])
			k++;
		size_t u = k;
		while (k < n && (isalpha((unsigned char)s[k]) ||
		                 ((unsigned char)s[k] == 0xc2 && k + 1 < n && (unsigned char)s[k + 1] == 0xb5)))
			k += isalpha((unsigned char)s[k]) ? 1 : 2;
		if (k == u) {
			i++;
			continue;
		}
		_cleanup_free_ char *unit = xstrndup(s + u, k - u);
		for (char *p = unit; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		for (size_t g = 0; g < ARRAY_SIZE(units); g++) {
			size_t last = 0;
			while (last + 1 < 3 && units[g][last + 1])
				last++;
			for (size_t v = 0; v <= last; v++)
				if ((v == last && str_has_prefix(unit, units[g][v])) ||
				    strcasecmp(unit, units[g][v]) == 0)
					return true;
		}
		i = k;
	}
	return false;
}

/* Go's net.ParseIP (IPv4 parts may have leading zeros, as kube's sloppy parser allows). */
static bool parse_ip(const char *s, size_t n, bool *v4)
{
	char tmp[64];
	if (n == 0 || n >= sizeof tmp || memchr(s, 0, n))
		return false;
	memcpy(tmp, s, n);
	tmp[n] = 0;
	int parts = 0;
	const char *p = tmp;
	bool dotted = true;
	while (*p && dotted) {
		int v = 0, d = 0;
		while (isdigit((unsigned char)*p) && v <= 255)
			v = v * 10 + (*p++ - '0'), d++;
		if (d == 0 || v > 255)
			dotted = false;
		parts++;
		if (*p == '.' && parts < 4)
			p++;
		else if (*p)
			dotted = false;
	}
	if (dotted && parts == 4) {
		*v4 = true;
		return true;
	}
	unsigned char out[16];
	*v4 = false;
	return strchr(tmp, '%') == NULL && inet_pton(AF_INET6, tmp, out) == 1;
}

static bool is_cidr(const char *s, size_t n)
{
	const char *slash = memchr(s, '/', n);
	bool v4;
	if (!slash || !parse_ip(s, (size_t)(slash - s), &v4))
		return false;
	size_t m = n - (size_t)(slash - s) - 1;
	if (m == 0 || m > 3 || !digitsn(slash + 1, m))
		return false;
	return atoi(slash + 1) <= (v4 ? 32 : 128);
}

/* Go's net.ParseMAC: 6, 8 or 20 octets as xx:xx.., xx-xx.. or xxxx.xxxx.. */
static bool is_mac(const char *s, size_t n)
{
	if (n < 14)
		return false;
	if (s[2] == ':' || s[2] == '-') {
		if ((n + 1) % 3)
			return false;
		size_t k = (n + 1) / 3;
		if (k != 6 && k != 8 && k != 20)
			return false;
		for (size_t i = 0; i < k; i++)
			if (!hexn(s + 3 * i, 2) || (i + 1 < k && s[3 * i + 2] != s[2]))
				return false;
		return true;
	}
	if (s[4] == '.') {
		if ((n + 1) % 5)
			return false;
		size_t k = 2 * (n + 1) / 5;
		if (k != 6 && k != 8 && k != 20)
			return false;
		for (size_t i = 0; i < k / 2; i++)
			if (!hexn(s + 5 * i, 4) || (i + 1 < k / 2 && s[5 * i + 4] != '.'))
				return false;
		return true;
	}
	return false;
}

/* uuid (version 0 = any): 8-4-4-4-12 hex digits, dashes optional, any case. */
static bool is_uuid(const char *s, size_t n, char version)
{
	static const int groups[] = {8, 4, 4, 4, 12};
	size_t p = 0;
	for (int g = 0; g < 5; g++) {
		if (g && p < n && s[p] == '-')
			p++;
		if (p + (size_t)groups[g] > n || !hexn(s + p, (size_t)groups[g]))
			return false;
		if (version && g == 2 && s[p] != version)
			return false;
		if (version && version != '3' && g == 3 && !strchr("89abAB", s[p]))
			return false;
		p += (size_t)groups[g];
	}
	return p == n;
}

/* Removes whitespace and '-' (govalidator's sanitizing of ISBNs). */
static size_t strip(const char *s, size_t n, char *out, size_t cap)
{
	size_t k = 0;
	for (size_t i = 0; i < n && k + 1 < cap; i++)
		if (!strchr(" \t\n\f\r-", s[i]) || !s[i])
			out[k++] = s[i];
	out[k] = 0;
	return k;
}

static bool is_isbn(const char *s, size_t n, int version)
{
	char t[32];
	if (n > 64)
		return false;
	size_t k = strip(s, n, t, sizeof t);
	int sum = 0;
	if (version == 10) {
		if (k != 10 || !digitsn(t, 9) || !(isdigit((unsigned char)t[9]) || t[9] == 'X'))
			return false;
		for (int i = 0; i < 9; i++)
			sum += (i + 1) * (t[i] - '0');
		sum += 10 * (t[9] == 'X' ? 10 : t[9] - '0');
		return sum % 11 == 0;
	}
	if (version == 13) {
		if (k != 13 || !digitsn(t, 13))
			return false;
		for (int i = 0; i < 12; i++)
			sum += (i % 2 ? 3 : 1) * (t[i] - '0');
		return t[12] - '0' == (10 - sum % 10) % 10;
	}
	return is_isbn(s, n, 10) || is_isbn(s, n, 13);
}

static bool is_creditcard(const char *s, size_t n)
{
	char d[64];
	size_t k = 0;
	for (size_t i = 0; i < n && k + 1 < sizeof d; i++)
		if (isdigit((unsigned char)s[i]))
			d[k++] = s[i];
	d[k] = 0;
	if (cs_pattern("^(?:4[0-9]{12}(?:[0-9]{3})?|5[1-5][0-9]{14}|6(?:011|5[0-9][0-9])[0-9]{12}|"
	               "3[47][0-9]{13}|3(?:0[0-5]|[68][0-9])[0-9]{11}|(?:2131|1800|35\\d{3})\\d{11})$",
	               d, k) != 1)
		return false;
	int sum = 0; /* k8s: and the Luhn checksum */
	for (size_t i = 0; i < k; i++) {
		int v = d[k - 1 - i] - '0';
		if (i % 2 && (v *= 2) > 9)
			v -= 9;
		sum += v;
	}
	return sum % 10 == 0;
}

static bool is_base64(const char *s, size_t n)
{
	if (n == 0 || n % 4)
		return false;
	size_t pad = s[n - 1] == '=' ? (s[n - 2] == '=' ? 2 : 1) : 0;
	for (size_t i = 0; i < n - pad; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '+' && s[i] != '/')
			return false;
	return true;
}

/* Go's url.ParseRequestURI, approximately: an absolute URI or an absolute path, no control
 * characters, well-formed %-escapes and a numeric port. */
static bool is_uri(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			return false;
		if (c == '%' && (i + 2 >= n || !isxdigit((unsigned char)s[i + 1]) ||
		                 !isxdigit((unsigned char)s[i + 2])))
			return false;
	}
	if (n && s[0] == '/')
		return true;
	size_t i = 0;
	if (i < n && isalpha((unsigned char)s[0]))
		while (i < n && (isalnum((unsigned char)s[i]) || strchr("+-.", s[i])) && s[i])
			i++;
	if (i == 0 || i >= n || s[i] != ':')
		return false;
	const char *rest = s + i + 1, *end = s + n;
	if (end - rest >= 2 && rest[0] == '/' && rest[1] == '/') {
		const char *h = rest + 2, *he = h;
		while (he < end && *he != '/' && *he != '?' && *he != '#')
			he++;
		const char *at = NULL;
		for (const char *q = h; q < he; q++)
			if (*q == '@')
				at = q;
		if (at)
			h = at + 1;
		const char *colon = NULL;
		if (h < he && *h == '[') {
			const char *rb = memchr(h, ']', (size_t)(he - h));
			if (!rb)
				return false;
			colon = rb + 1 < he ? rb + 1 : NULL;
			if (colon && *colon != ':')
				return false;
		} else {
			colon = memchr(h, ':', (size_t)(he - h));
		}
		if (colon && !digitsn(colon + 1, (size_t)(he - colon - 1)))
			return false;
	}
	return true;
}

static bool atext(unsigned char c)
{
	return isalnum(c) || c >= 0x80 || (c && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

static bool dot_atom(const char *s, size_t n)
{
	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(atext((unsigned char)s[i]) || (s[i] == '.' && s[i - 1] != '.')))
			return false;
	return true;
}

/* Go's mail.ParseAddress, approximately: [display name] <local@domain> or local@domain. */
static bool is_email(const char *s, size_t n)
{
	while (n && s[0] == ' ')
		s++, n--;
	while (n && s[n - 1] == ' ')
		n--;
	if (n && s[n - 1] == '>') {
		const char *lt = NULL;
		for (size_t i = 0; i < n; i++)
			if (s[i] == '<')
				lt = s + i;
		if (!lt)
			return false;
		n = (size_t)(s + n - 1 - lt - 1);
		s = lt + 1;
	}
	const char *at = NULL;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '@')
			at = s + i;
	if (!at)
		return false;
	size_t ln = (size_t)(at - s), dn = n - ln - 1;
	bool local = dot_atom(s, ln) || (ln >= 2 && s[0] == '"' && s[ln - 1] == '"');
	bool domain = dot_atom(at + 1, dn) || (dn >= 2 && at[1] == '[' && at[dn] == ']');
	return local && domain;
}

/* A hostname character of the strfmt pattern: ASCII letters and digits, the ASCII symbols
 * of \p{S} and any non-ASCII byte (letters and symbols, approximately). */
static bool hchar(unsigned char c, bool letters_only)
{
	if (isalpha(c) || c >= 0x80)
		return true;
	return !letters_only && (isdigit(c) || (c && strchr("$+<=>^`|~", c)));
}

/* k8s: strfmt hostname: one label "x(-?x{0,62})?", or labels "x([x-]{0,61}x)?." followed
 * by a top-level label of 2 to 63 letters; at most 255 bytes and 63 per label. */
static bool is_hostname(const char *s, size_t n)
{
	if (n == 0 || n > 255)
		return false;
	const char *dot = memchr(s, '.', n);
	if (!dot) {
		size_t i = 1;
		if (!hchar((unsigned char)s[0], false))
			return false;
		if (i < n && s[i] == '-')
			i++;
		for (; i < n; i++)
			if (!hchar((unsigned char)s[i], false))
				return false;
		return n <= 63;
	}
	const char *p = s, *end = s + n;
	while ((dot = memchr(p, '.', (size_t)(end - p)))) {
		size_t l = (size_t)(dot - p);
		if (l == 0 || l > 63 || !hchar((unsigned char)p[0], false) ||
		    !hchar((unsigned char)p[l - 1], false))
			return false;
		for (size_t i = 1; i + 1 < l; i++)
			if (!hchar((unsigned char)p[i], false) && p[i] != '-')
				return false;
		p = dot + 1;
	}
	size_t l = (size_t)(end - p);
	if (l < 2 || l > 63)
		return false;
	for (size_t i = 0; i < l; i++)
		if (!hchar((unsigned char)p[i], true))
			return false;
	return true;
}

bool cs_format_ok(const char *format, const char *s, size_t n)
{
	char f[32];
	bool v4;
	normalize(format, f);
	if (!strcmp(f, "date"))
		return is_date(s, n);
	if (!strcmp(f, "datetime"))
		return is_datetime(s, n);
	if (!strcmp(f, "duration"))
		return is_duration(s, n);
	if (!strcmp(f, "ipv4"))
		return parse_ip(s, n, &v4) && memchr(s, '.', n);
	if (!strcmp(f, "ipv6"))
		return parse_ip(s, n, &v4) && memchr(s, ':', n);
	if (!strcmp(f, "cidr"))
		return is_cidr(s, n);
	if (!strcmp(f, "mac"))
		return is_mac(s, n);
	if (!strcmp(f, "uuid"))
		return is_uuid(s, n, 0);
	if (!strcmp(f, "uuid3") || !strcmp(f, "uuid4") || !strcmp(f, "uuid5"))
		return is_uuid(s, n, f[4]);
	if (!strcmp(f, "isbn"))
		return is_isbn(s, n, 0);
	if (!strcmp(f, "isbn10"))
		return is_isbn(s, n, 10);
	if (!strcmp(f, "isbn13"))
		return is_isbn(s, n, 13);
	if (!strcmp(f, "creditcard"))
		return is_creditcard(s, n);
	if (!strcmp(f, "ssn"))
		return n == 11 && cs_pattern("^\\d{3}[- ]?\\d{2}[- ]?\\d{4}$", s, n) == 1;
	if (!strcmp(f, "hexcolor"))
		return cs_pattern("^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$", s, n) == 1;
	if (!strcmp(f, "rgbcolor"))
		return cs_pattern("^rgb\\(\\s*(0|[1-9]\\d?|1\\d\\d?|2[0-4]\\d|25[0-5])\\s*,\\s*"
		                  "(0|[1-9]\\d?|1\\d\\d?|2[0-4]\\d|25[0-5])\\s*,\\s*"
		                  "(0|[1-9]\\d?|1\\d\\d?|2[0-4]\\d|25[0-5])\\s*\\)$",
		                  s, n) == 1;
	if (!strcmp(f, "byte"))
		return is_base64(s, n);
	if (!strcmp(f, "bsonobjectid"))
		return n == 24 && hexn(s, n);
	if (!strcmp(f, "uri"))
		return is_uri(s, n);
	if (!strcmp(f, "email"))
		return is_email(s, n);
	if (!strcmp(f, "hostname"))
		return is_hostname(s, n);
	return true; /* password, and anything else */
}
