/* cronspec_tz.c — IANA time zones for CronJob schedules, read from the system tz database
 * (TZif files, RFC 8536, as Debian's tzdata installs them under /usr/share/zoneinfo; a
 * $ZONEINFO directory takes precedence, as in Go). Only the UTC offset at an instant is
 * needed: transitions come from the 64-bit data block, instants after the last one from
 * the POSIX TZ rule in the file's footer.
 * Not for: the process's own local time (the C library's TZ handling is process-wide and
 * not safe to switch per call), or leap seconds (ignored, as Go ignores them).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"
#include "controllers/cronspec.h"

#define TZ_MAX_FILE (1 << 20)

typedef struct tz_rule_date {
	char kind; /* 'J' (1-365, no Feb 29), 'D' (0-365), 'M' (month.week.day) */
	int a, b, c;
	int32_t secs; /* local time of day of the change */
} tz_rule_date;

typedef struct tz_rule {
	bool valid;
	bool has_dst;
	int32_t std_off, dst_off; /* seconds east of UTC */
	tz_rule_date start, end;
} tz_rule;

struct cron_tz {
	int64_t *trans; /* transition instants, ascending */
	uint8_t *idx;   /* type of each transition */
	int32_t *offs;  /* utoff of each type */
	size_t ntrans, ntypes;
	tz_rule footer;
};

/* ---------- POSIX TZ strings (the footer) ---------- */

static const char *skip_name(const char *p)
{
	if (*p == '<') {
		const char *q = strchr(p, '>');
		return q ? q + 1 : NULL;
	}
	const char *q = p;
	while ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z'))
		q++;
	return q - p >= 3 ? q : NULL;
}

/* [+-]hh[:mm[:ss]] into seconds; NULL when malformed. */
static const char *parse_hms(const char *p, int32_t *out)
{
	int sign = 1;
	if (*p == '+' || *p == '-')
		sign = *p++ == '-' ? -1 : 1;
	if (*p < '0' || *p > '9')
		return NULL;
	int32_t v[3] = {0, 0, 0};
	for (int part = 0; part < 3; part++) {
		if (part > 0) {
			if (*p != ':')
				break;
			p++;
		}
		if (*p < '0' || *p > '9')
			return NULL;
		int n = 0;
		while (*p >= '0' && *p <= '9' && n < 4) {
			v[part] = v[part] * 10 + (*p++ - '0');
			n++;
		}
	}
	*out = sign * (v[0] * 3600 + v[1] * 60 + v[2]);
	return p;
}

static const char *parse_rule_date(const char *p, tz_rule_date *d)
{
	memset(d, 0, sizeof *d);
	d->secs = 2 * 3600;
	if (*p == 'M') {
		d->kind = 'M';
		if (sscanf(p + 1, "%d.%d.%d", &d->a, &d->b, &d->c) != 3)
			return NULL;
		p++;
		while ((*p >= '0' && *p <= '9') || *p == '.')
			p++;
		if (d->a < 1 || d->a > 12 || d->b < 1 || d->b > 5 || d->c < 0 || d->c > 6)
			return NULL;
	} else {
		d->kind = 'D';
		if (*p == 'J') {
			d->kind = 'J';
			p++;
		}
		if (*p < '0' || *p > '9')
			return NULL;
		while (*p >= '0' && *p <= '9')
			d->a = d->a * 10 + (*p++ - '0');
	}
	if (*p == '/')
		p = parse_hms(p + 1, &d->secs);
	return p;
}

static void parse_footer(const char *s, tz_rule *r)
{
	memset(r, 0, sizeof *r);
	const char *p = skip_name(s);
	int32_t off;
	if (!p || !(p = parse_hms(p, &off)))
		return;
	r->std_off = -off; /* POSIX offsets count west of UTC */
	if (!*p) {
		r->valid = true;
		return;
	}
	if (!(p = skip_name(p)))
		return;
	r->has_dst = true;
	r->dst_off = r->std_off + 3600;
	if (*p && *p != ',') {
		if (!(p = parse_hms(p, &off)))
			return;
		r->dst_off = -off;
	}
	if (!*p) {
		/* k8s: no rule given: the US rules that POSIX implementations assume. */
		p = ",M3.2.0,M11.1.0";
	}
	if (*p != ',' || !(p = parse_rule_date(p + 1, &r->start)) || *p != ',' ||
	    !(p = parse_rule_date(p + 1, &r->end)) || *p)
		return;
	r->valid = true;
}

static bool is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1-12). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* Seconds from the start of year y (local) to the change described by d. */
static int64_t rule_offset_in_year(int64_t y, const tz_rule_date *d)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int64_t day; /* zero-based day of the year */
	if (d->kind == 'J') {
		day = d->a - 1;
		if (is_leap(y) && d->a >= 60)
			day++;
	} else if (d->kind == 'D') {
		day = d->a;
	} else {
		int64_t first = days_from_civil(y, d->a, 1);
		int wday_first = (int)(((first % 7) + 11) % 7); /* 1970-01-01 was a Thursday */
		int dim = mdays[d->a - 1] + (d->a == 2 && is_leap(y));
		int mday = 1 + (d->c - wday_first + 7) % 7 + (d->b - 1) * 7;
		while (mday > dim)
			mday -= 7;
		day = first + mday - 1 - days_from_civil(y, 1, 1);
	}
	return day * 86400 + d->secs;
}

static int32_t rule_offset(const tz_rule *r, int64_t t)
{
	if (!r->has_dst)
		return r->std_off;
	int64_t local = t + r->std_off;
	int64_t days = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
	/* the civil year of `days` */
	int64_t y = 1970 + days / 366;
	while (days_from_civil(y + 1, 1, 1) <= days)
		y++;
	while (days_from_civil(y, 1, 1) > days)
		y--;
	int64_t year_start = days_from_civil(y, 1, 1) * 86400;
	int64_t start = year_start + rule_offset_in_year(y, &r->start) - r->std_off;
	int64_t end = year_start + rule_offset_in_year(y, &r->end) - r->dst_off;
	bool dst = start < end ? (t >= start && t < end) : !(t >= end && t < start);
	return dst ? r->dst_off : r->std_off;
}

/* ---------- TZif ---------- */

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

typedef struct tzif_counts {
	uint32_t isut, isstd, leap, time, type, chars;
} tzif_counts;

static bool read_header(const unsigned char *p, size_t n, tzif_counts *c, char *version)
{
	if (n < 44 || memcmp(p, "TZif", 4) != 0)
		return false;
	*version = (char)p[4];
	c->isut = be32(p + 20);
	c->isstd = be32(p + 24);
	c->leap = be32(p + 28);
	c->time = be32(p + 32);
	c->type = be32(p + 36);
	c->chars = be32(p + 40);
	return c->type > 0 && c->type < 256 && c->time < 100000 && c->leap < 10000 &&
	       c->chars < 10000 && c->isut < 256 && c->isstd < 256;
}

static size_t block_size(const tzif_counts *c, size_t tsize)
{
	return c->time * tsize + c->time + c->type * 6 + c->chars + c->leap * (tsize + 4) +
	       c->isstd + c->isut;
}

static bool parse_tzif(const unsigned char *p, size_t n, cron_tz *tz)
{
	tzif_counts c;
	char version;
	if (!read_header(p, n, &c, &version))
		return false;
	size_t tsize = 4;
	const unsigned char *data = p + 44;
	size_t left = n - 44;
	if (version >= '2') {
		size_t skip = block_size(&c, 4);
		if (left < skip)
			return false;
		data += skip;
		left -= skip;
		if (!read_header(data, left, &c, &version))
			return false;
		data += 44;
		left -= 44;
		tsize = 8;
	}
	size_t bs = block_size(&c, tsize);
	if (left < bs)
		return false;
	tz->ntrans = c.time;
	tz->ntypes = c.type;
	tz->trans = xcalloc(c.time ? c.time : 1, sizeof *tz->trans);
	tz->idx = xcalloc(c.time ? c.time : 1, 1);
	tz->offs = xcalloc(c.type, sizeof *tz->offs);
	const unsigned char *q = data;
	for (size_t i = 0; i < c.time; i++, q += tsize)
		tz->trans[i] = tsize == 8 ? be64(q) : (int64_t)(int32_t)be32(q);
	for (size_t i = 0; i < c.time; i++) {
		tz->idx[i] = *q++;
		if (tz->idx[i] >= c.type)
			return false;
	}
	for (size_t i = 0; i < c.type; i++, q += 6)
		tz->offs[i] = (int32_t)be32(q);
	if (tsize == 8 && left > bs + 1 && data[bs] == '\n') {
		const char *f = (const char *)data + bs + 1;
		const char *nl = memchr(f, '\n', left - bs - 1);
		if (nl) {
			_cleanup_free_ char *footer = xstrndup(f, (size_t)(nl - f));
			parse_footer(footer, &tz->footer);
		}
	}
	return true;
}

static bool valid_name(const char *name)
{
	/* k8s: Go's LoadLocation refuses names that could leave the zone directory. */
	return name[0] != '/' && name[0] != '\\' && !strstr(name, "..") && strlen(name) < 256;
}

cron_tz *cron_tz_load(const char *name, char *err, size_t errsz)
{
	cron_tz *tz = xcalloc(1, sizeof *tz);
	if (!name || !*name || strcmp(name, "UTC") == 0) {
		tz->footer.valid = true;
		return tz;
	}
	if (!valid_name(name)) {
		snprintf(err, errsz, "time: invalid location name");
		free(tz);
		return NULL;
	}
	const char *dirs[] = {getenv("ZONEINFO"), "/usr/share/zoneinfo", "/usr/share/lib/zoneinfo",
	                      "/etc/zoneinfo"};
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		if (!dirs[i] || !*dirs[i])
			continue;
		_cleanup_free_ char *path = xasprintf("%s/%s", dirs[i], name);
		_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
		    st.st_size > TZ_MAX_FILE)
			continue;
		size_t n = (size_t)st.st_size;
		_cleanup_free_ unsigned char *data = xmalloc(n ? n : 1);
		size_t got = 0;
		while (got < n) {
			ssize_t r = read(fd, data + got, n - got);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			got += (size_t)r;
		}
		if (got == n && parse_tzif(data, n, tz))
			return tz;
		free(tz->trans);
		free(tz->idx);
		free(tz->offs);
		memset(tz, 0, sizeof *tz);
	}
	snprintf(err, errsz, "unknown time zone %s", name);
	free(tz);
	return NULL;
}

void cron_tz_free(cron_tz *tz)
{
	if (!tz)
		return;
	free(tz->trans);
	free(tz->idx);
	free(tz->offs);
	free(tz);
}

int32_t cron_tz_offset(const cron_tz *tz, int64_t t)
{
	if (!tz || !tz->ntypes)
		return tz && tz->footer.valid ? rule_offset(&tz->footer, t) : 0;
	if (tz->ntrans == 0 || t < tz->trans[0]) {
		if (tz->ntrans == 0 && tz->footer.valid)
			return rule_offset(&tz->footer, t);
		/* RFC 8536: before the first transition, time type 0 applies. */
		return tz->offs[0];
	}
	if (t >= tz->trans[tz->ntrans - 1] && tz->footer.valid)
		return rule_offset(&tz->footer, t);
	size_t lo = 0, hi = tz->ntrans; /* the last transition <= t */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (tz->trans[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	return tz->offs[tz->idx[lo]];
}

void cron_tz_rfc3339(const cron_tz *tz, int64_t t, char out[32])
{
	int32_t off = cron_tz_offset(tz, t);
	time_t l = (time_t)(t + off);
	struct tm lt;
	gmtime_r(&l, &lt);
	size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &lt);
	if (off == 0) {
		snprintf(out + n, 32 - n, "Z");
		return;
	}
	int32_t a = off < 0 ? -off : off;
	snprintf(out + n, 32 - n, "%c%02d:%02d", off < 0 ? '-' : '+', (int)(a / 3600),
	         (int)(a / 60 % 60));
}
