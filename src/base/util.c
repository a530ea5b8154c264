/* util.c — allocation wrappers, cleanup helpers, time and randomness.
 * Not for: anything with Kubernetes meaning. */
#include "base/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static void oom(void)
{
	fputs("timon: out of memory\n", stderr);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom();
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		oom();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		oom();
	return p;
}

char *xstrdup(const char *s)
{
	if (!s)
		return NULL;
	char *r = strdup(s);
	if (!r)
		oom();
	return r;
}

char *xstrndup(const char *s, size_t n)
{
	char *r = xmalloc(n + 1);
	memcpy(r, s, n);
	r[n] = 0;
	return r;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *r;
	va_start(ap, fmt);
	int n = vasprintf(&r, fmt, ap);
	va_end(ap);
	if (n < 0)
		oom();
	return r;
}

void cleanup_freep(void *p)
{
	free(*(void **)p);
}

void cleanup_closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}

void cleanup_fclosep(void *fp)
{
	FILE *f = *(FILE **)fp;
	if (f)
		fclose(f);
}

bool str_has_suffix(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && memcmp(s + a - b, suffix, b) == 0;
}

uint32_t ipv4_prefix_mask(int bits)
{
	return bits <= 0 ? 0 : bits >= 32 ? ~0u : ~0u << (32 - bits);
}

bool ipv4_cidr_parse(const char *s, uint32_t *net, int *bits)
{
	char addr[INET_ADDRSTRLEN];
	const char *slash = s ? strchr(s, '/') : NULL;
	if (!slash || (size_t)(slash - s) >= sizeof addr)
		return false;
	memcpy(addr, s, (size_t)(slash - s));
	addr[slash - s] = '\0';
	char *end;
	long b = strtol(slash + 1, &end, 10);
	struct in_addr a;
	if (*end || end == slash + 1 || b < 0 || b > 32 || inet_pton(AF_INET, addr, &a) != 1)
		return false;
	*net = ntohl(a.s_addr) & ipv4_prefix_mask((int)b);
	*bits = (int)b;
	return true;
}

int64_t time_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t time_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

size_t str_put(char *out, size_t cap, const char *s)
{
	size_t n = s ? strnlen(s, cap - 1) : 0;
	memcpy(out, s ? s : "", n);
	out[n] = 0;
	return n;
}

size_t fmt_u64(char *out, uint64_t v)
{
	char tmp[20];
	size_t n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	out[n] = 0;
	return n;
}

size_t fmt_i64(char *out, int64_t v)
{
	if (v >= 0)
		return fmt_u64(out, (uint64_t)v);
	out[0] = '-';
	return 1 + fmt_u64(out + 1, -(uint64_t)v);
}

void fmt_hex64(char out[17], uint64_t v)
{
	static const char hex[] = "0123456789abcdef";
	for (int i = 15; i >= 0; i--, v >>= 4)
		out[i] = hex[v & 15];
	out[16] = 0;
}

static void two(char *o, int v)
{
	o[0] = (char)('0' + v / 10 % 10);
	o[1] = (char)('0' + v % 10);
}

/* time_rfc3339 through strftime: times before 1970 (and years past 9999, were there any). */
static void rfc3339_tm(int64_t t_ns, bool micro, char out[32])
{
	time_t s = (time_t)(t_ns / 1000000000);
	struct tm tm;
	gmtime_r(&s, &tm);
	if (micro) {
		size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(out + n, 32 - n, ".%06dZ", (int)((t_ns / 1000) % 1000000));
	} else {
		strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
}

void time_rfc3339(int64_t t_ns, bool micro, char out[32])
{
	/* Writes stamp many objects a second: the calendar part is worked out once a second
	 * per thread (gmtime_r takes glibc's time-zone lock), the digits written by hand. */
	static _Thread_local int64_t last_s = -1;
	static _Thread_local char last[20]; /* "2006-01-02T15:04:05" */
	int64_t s = t_ns / 1000000000;
	if (s != last_s) {
		time_t tt = (time_t)s;
		struct tm tm;
		if (t_ns < 0 || !gmtime_r(&tt, &tm) || tm.tm_year + 1900 > 9999) {
			rfc3339_tm(t_ns, micro, out);
			return;
		}
		int y = tm.tm_year + 1900;
		two(last, y / 100);
		two(last + 2, y % 100);
		last[4] = '-';
		two(last + 5, tm.tm_mon + 1);
		last[7] = '-';
		two(last + 8, tm.tm_mday);
		last[10] = 'T';
		two(last + 11, tm.tm_hour);
		last[13] = ':';
		two(last + 14, tm.tm_min);
		last[16] = ':';
		two(last + 17, tm.tm_sec);
		last[19] = 0;
		last_s = s;
	}
	memcpy(out, last, 19);
	if (!micro) {
		memcpy(out + 19, "Z", 2);
		return;
	}
	int us = (int)((t_ns / 1000) % 1000000);
	out[19] = '.';
	for (int i = 25; i >= 20; i--, us /= 10)
		out[i] = (char)('0' + us % 10);
	memcpy(out + 26, "Z", 2);
}

int time_parse_rfc3339(const char *s, int64_t *out_ns)
{
	struct tm tm = {0};
	const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		return -1;
	int64_t frac = 0;
	if (*p == '.') {
		int digits = 0;
		p++;
		while (*p >= '0' && *p <= '9') {
			if (digits < 9) {
				frac = frac * 10 + (*p - '0');
				digits++;
			}
			p++;
		}
		while (digits++ < 9)
			frac *= 10;
	}
	int64_t off = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1, hh, mm;
		if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2)
			return -1;
		off = sign * (hh * 3600 + mm * 60);
		p += 6;
	} else {
		return -1;
	}
	if (*p)
		return -1;
	time_t t = timegm(&tm);
	*out_ns = ((int64_t)t - off) * 1000000000 + frac;
	return 0;
}

void random_bytes(void *out, size_t n)
{
	uint8_t *o = out;
	while (n > 0) {
		ssize_t r = getrandom(o, n, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			abort();
		}
		o += r;
		n -= (size_t)r;
	}
}

void random_id_bytes(void *out, size_t n)
{
	/* Every create takes some (a uid, generated names): from a per-thread pool refilled
	 * 256 bytes per getrandom call (identifiers, not secrets; nothing forks without
	 * exec). Larger asks go to getrandom. */
	static _Thread_local uint8_t pool[256];
	static _Thread_local size_t left;
	if (n > sizeof pool / 4) {
		random_bytes(out, n);
		return;
	}
	if (left < n) {
		random_bytes(pool, sizeof pool);
		left = sizeof pool;
	}
	memcpy(out, pool + sizeof pool - left, n);
	left -= n;
}

void uuid_v4(char out[37])
{
	uint8_t b[16];
	random_id_bytes(b, sizeof b);
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	static const char hex[] = "0123456789abcdef";
	char *o = out;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*o++ = '-';
		*o++ = hex[b[i] >> 4];
		*o++ = hex[b[i] & 15];
	}
	*o = 0;
}
