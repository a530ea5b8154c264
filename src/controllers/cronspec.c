/* cronspec.c — parsing cron schedules and finding their next activation.
 * Not for: time zone files (cronspec_tz.c) or CronJob policy (cronjob.c).
 */
#include "controllers/cronspec.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/buf.h"
#include "base/util.h"

typedef struct field_def {
	int min, max;
	const char *const *names; /* lowercase three-letter names, value = min + position */
} field_def;

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may", "jun", "jul",
                                          "aug", "sep", "oct", "nov", "dec", NULL};
static const char *const dow_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL};

static const field_def fields[5] = {
    {0, 59, NULL}, {0, 23, NULL}, {1, 31, NULL}, {1, 12, month_names}, {0, 6, dow_names},
};

static uint64_t bits(int lo, int hi, int step)
{
	uint64_t b = 0;
	for (int i = lo; i <= hi; i += step)
		b |= 1ULL << i;
	return b;
}

/* A number or (for months and weekdays) a name, case-insensitive. */
static int parse_value(const char *s, size_t n, const field_def *f, int *out, char *err,
                       size_t errsz)
{
	if (f->names) {
		for (int i = 0; f->names[i]; i++) {
			if (n == strlen(f->names[i]) && strncasecmp(s, f->names[i], n) == 0) {
				*out = f->min + i;
				return 0;
			}
		}
	}
	size_t i = 0;
	bool neg = false;
	if (n > 0 && (s[0] == '+' || s[0] == '-')) {
		neg = s[0] == '-';
		i = 1;
	}
	long v = 0;
	if (i == n)
		goto bad;
	for (; i < n; i++) {
		if (!isdigit((unsigned char)s[i]) || v > 100000000)
			goto bad;
		v = v * 10 + (s[i] - '0');
	}
	if (neg) {
		snprintf(err, errsz, "negative number (%ld) not allowed: %.*s", -v, (int)n, s);
		return -1;
	}
	*out = (int)v;
	return 0;
bad:
	snprintf(err, errsz,
	         "failed to parse int from %.*s: strconv.Atoi: parsing \"%.*s\": invalid syntax",
	         (int)n, s, (int)n, s);
	return -1;
}

/* One element of a comma list: '*', '?', a, a-b, each with an optional /step. */
static int parse_range(const char *s, size_t n, const field_def *f, uint64_t *b, bool *star,
                       char *err, size_t errsz)
{
	const char *slash = memchr(s, '/', n);
	size_t rn = slash ? (size_t)(slash - s) : n;
	if (slash && memchr(slash + 1, '/', n - rn - 1)) {
		snprintf(err, errsz, "too many slashes: %.*s", (int)n, s);
		return -1;
	}
	int lo, hi, step = 1;
	bool is_star = false;
	if (rn == 1 && (s[0] == '*' || s[0] == '?')) {
		lo = f->min;
		hi = f->max;
		is_star = true;
	} else {
		const char *dash = memchr(s, '-', rn);
		if (dash && memchr(dash + 1, '-', rn - (size_t)(dash - s) - 1)) {
			snprintf(err, errsz, "too many hyphens: %.*s", (int)n, s);
			return -1;
		}
		size_t an = dash ? (size_t)(dash - s) : rn;
		if (parse_value(s, an, f, &lo, err, errsz) < 0)
			return -1;
		hi = lo;
		if (dash && parse_value(dash + 1, rn - an - 1, f, &hi, err, errsz) < 0)
			return -1;
	}
	if (slash) {
		if (parse_value(slash + 1, n - rn - 1, f, &step, err, errsz) < 0)
			return -1;
		/* k8s: robfig/cron reads "a/step" as "a-max/step"; a step above 1 makes '*' a
		 * restriction for the day-of-month / day-of-week rule. */
		if (!is_star && !memchr(s, '-', rn))
			hi = f->max;
		if (step > 1)
			is_star = false;
	}
	if (lo < f->min) {
		snprintf(err, errsz, "beginning of range (%d) below minimum (%d): %.*s", lo, f->min,
		         (int)n, s);
		return -1;
	}
	if (hi > f->max) {
		snprintf(err, errsz, "end of range (%d) above maximum (%d): %.*s", hi, f->max,
		         (int)n, s);
		return -1;
	}
	if (lo > hi) {
		snprintf(err, errsz, "beginning of range (%d) beyond end of range (%d): %.*s", lo,
		         hi, (int)n, s);
		return -1;
	}
	if (step <= 0) {
		snprintf(err, errsz, "step of range should be a positive number: %.*s", (int)n, s);
		return -1;
	}
	*b |= bits(lo, hi, step);
	*star |= is_star;
	return 0;
}

/* k8s: Go's time.ParseDuration grammar ([-+]?([0-9]*(\.[0-9]*)?[a-z]+)+, or "0"), in
 * nanoseconds. */
static int parse_duration_ns(const char *s, long double *out, char *err, size_t errsz)
{
	static const struct {
		const char *unit;
		long double ns;
	} units[] = {{"ns", 1},   {"us", 1e3}, {"\xc2\xb5s", 1e3}, {"\xce\xbcs", 1e3},
	             {"ms", 1e6}, {"s", 1e9},  {"m", 60e9},        {"h", 3600e9}};
	const char *p = s;
	long double total = 0;
	bool neg = false;
	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	if (strcmp(p, "0") == 0) {
		*out = 0;
		return 0;
	}
	if (!*p)
		goto invalid;
	while (*p) {
		const char *num = p;
		long double v = 0, scale = 1;
		bool digits = false;
		while (isdigit((unsigned char)*p)) {
			v = v * 10 + (*p++ - '0');
			digits = true;
		}
		if (*p == '.') {
			p++;
			while (isdigit((unsigned char)*p)) {
				scale /= 10;
				v += (*p++ - '0') * scale;
				digits = true;
			}
		}
		if (!digits || p == num)
			goto invalid;
		const char *u = p;
		while (*p && *p != '.' && !isdigit((unsigned char)*p))
			p++;
		size_t un = (size_t)(p - u);
		if (un == 0) {
			snprintf(err, errsz, "time: missing unit in duration \"%s\"", s);
			return -1;
		}
		long double mult = 0;
		for (size_t i = 0; i < ARRAY_SIZE(units); i++)
			if (strlen(units[i].unit) == un && memcmp(units[i].unit, u, un) == 0)
				mult = units[i].ns;
		if (mult == 0) {
			snprintf(err, errsz, "time: unknown unit \"%.*s\" in duration \"%s\"",
			         (int)un, u, s);
			return -1;
		}
		total += v * mult;
		if (total > 9.3e18L)
			goto invalid;
	}
	*out = neg ? -total : total;
	return 0;
invalid:
	snprintf(err, errsz, "time: invalid duration \"%s\"", s);
	return -1;
}

static int parse_descriptor(const char *spec, cronspec *cs, char *err, size_t errsz)
{
	static const struct {
		const char *name;
		const char *fields;
	} descriptors[] = {
	    {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
	    {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
	    {"@hourly", "0 * * * *"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(descriptors); i++)
		if (strcmp(spec, descriptors[i].name) == 0) {
			char tz[sizeof cs->tz];
			memcpy(tz, cs->tz, sizeof tz);
			int r = cronspec_parse(descriptors[i].fields, cs, err, errsz);
			memcpy(cs->tz, tz, sizeof tz);
			return r;
		}
	if (strncmp(spec, "@every ", 7) == 0) {
		long double ns;
		char derr[200];
		if (parse_duration_ns(spec + 7, &ns, derr, sizeof derr) < 0) {
			snprintf(err, errsz, "failed to parse duration %s: %s", spec, derr);
			return -1;
		}
		/* k8s: robfig/cron's Every: under a second becomes a second; else whole
		 * seconds (the fraction dropped). */
		int64_t secs = (int64_t)(ns / 1e9L);
		cs->every_s = secs < 1 ? 1 : secs;
		return 0;
	}
	snprintf(err, errsz, "unrecognized descriptor: %s", spec);
	return -1;
}

int cronspec_parse(const char *spec, cronspec *out, char *err, size_t errsz)
{
	cronspec cs = {0};
	while (isspace((unsigned char)*spec))
		spec++;
	if (!*spec) {
		snprintf(err, errsz, "empty spec string");
		return -1;
	}
	/* A leading TZ=zone / CRON_TZ=zone names the zone of the whole schedule. */
	if (strncmp(spec, "TZ=", 3) == 0 || strncmp(spec, "CRON_TZ=", 8) == 0) {
		const char *z = strchr(spec, '=') + 1;
		size_t zn = strcspn(z, " \t\n");
		if (zn >= sizeof cs.tz) {
			snprintf(err, errsz, "provided bad location %.*s: unknown time zone %.*s",
			         (int)zn, z, (int)zn, z);
			return -1;
		}
		memcpy(cs.tz, z, zn);
		spec = z + zn;
		while (isspace((unsigned char)*spec))
			spec++;
	}
	_cleanup_free_ char *trimmed = xstrdup(spec);
	size_t tl = strlen(trimmed);
	while (tl > 0 && isspace((unsigned char)trimmed[tl - 1]))
		trimmed[--tl] = '\0';
	if (trimmed[0] == '@') {
		if (parse_descriptor(trimmed, &cs, err, errsz) < 0)
			return -1;
		*out = cs;
		return 0;
	}
	const char *starts[8];
	size_t lens[8];
	int nf = 0;
	for (const char *p = trimmed; *p;) {
		while (isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		const char *q = p;
		while (*q && !isspace((unsigned char)*q))
			q++;
		if (nf < 8) {
			starts[nf] = p;
			lens[nf] = (size_t)(q - p);
		}
		nf++;
		p = q;
	}
	if (nf != 5) {
		_cleanup_buf_ buf b = {0};
		for (int i = 0; i < nf && i < 8; i++)
			buf_printf(&b, "%s%.*s", i ? " " : "", (int)lens[i], starts[i]);
		snprintf(err, errsz, "expected exactly 5 fields, found %d: [%s]", nf,
		         b.p ? b.p : "");
		return -1;
	}
	uint64_t *dst[5] = {&cs.minute, &cs.hour, &cs.dom, &cs.month, &cs.dow};
	for (int i = 0; i < 5; i++) {
		const char *s = starts[i];
		size_t n = lens[i];
		bool star = false;
		for (;;) {
			const char *comma = memchr(s, ',', n);
			size_t pn = comma ? (size_t)(comma - s) : n;
			if (parse_range(s, pn, &fields[i], dst[i], &star, err, errsz) < 0)
				return -1;
			if (!comma)
				break;
			n -= pn + 1;
			s = comma + 1;
		}
		if (i == 2)
			cs.dom_star = star;
		if (i == 4)
			cs.dow_star = star;
	}
	*out = cs;
	return 0;
}

/* ---------- next activation ---------- */

static bool has(uint64_t set, int v)
{
	return (set >> v) & 1;
}

/* k8s: robfig/cron's dayMatches: when either day field is unrestricted both must match,
 * otherwise either may. */
static bool day_matches(const cronspec *cs, const struct tm *lt)
{
	bool d = has(cs->dom, lt->tm_mday), w = has(cs->dow, lt->tm_wday);
	if (cs->dom_star || cs->dow_star)
		return d && w;
	return d || w;
}

/* Seconds of wall time to step forward from u when the local time is `local_left` seconds
 * before a boundary, never stepping past a wall time that a DST change (at most three
 * hours) could have moved closer: big steps leave a margin, small ones go hour by hour. */
static int64_t safe_step(int64_t local_left, int minute)
{
	const int64_t margin = 3 * 3600;
	if (local_left > margin + 3600)
		return local_left - margin;
	return (int64_t)(60 - minute) * 60;
}

static int days_in_month(int year, int mon0)
{
	static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	return d[mon0] + (mon0 == 1 && leap);
}

int64_t cronspec_next(const cronspec *cs, const cron_tz *tz, int64_t t)
{
	if (cs->every_s > 0)
		return t + cs->every_s;
	/* The first whole local minute after t. */
	int64_t u = t + 1;
	int year_limit = -1;
	for (int guard = 0; guard < 100000; guard++) {
		int32_t off = cron_tz_offset(tz, u);
		time_t l = (time_t)(u + off);
		struct tm lt;
		gmtime_r(&l, &lt);
		int year = lt.tm_year + 1900;
		if (year_limit < 0)
			year_limit = year + 5;
		if (year > year_limit)
			return -1;
		if (lt.tm_sec != 0) {
			u += 60 - lt.tm_sec;
			continue;
		}
		int64_t into_day = (int64_t)lt.tm_hour * 3600 + lt.tm_min * 60;
		if (!has(cs->month, lt.tm_mon + 1)) {
			int64_t left =
			    (int64_t)(days_in_month(year, lt.tm_mon) - lt.tm_mday) * 86400 + 86400 -
			    into_day;
			u += safe_step(left, lt.tm_min);
			continue;
		}
		if (!day_matches(cs, &lt)) {
			u += safe_step(86400 - into_day, lt.tm_min);
			continue;
		}
		if (!has(cs->hour, lt.tm_hour)) {
			u += (int64_t)(60 - lt.tm_min) * 60;
			continue;
		}
		if (!has(cs->minute, lt.tm_min)) {
			int m = lt.tm_min + 1;
			while (m < 60 && !has(cs->minute, m))
				m++;
			u += (int64_t)(m - lt.tm_min) * 60;
			continue;
		}
		return u;
	}
	return -1;
}
