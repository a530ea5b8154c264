/* util.h — allocation, scope-bound cleanup and small helpers used everywhere.
 *
 * Allocation failure aborts (durability comes from the store, not from surviving OOM).
 * Cleanup attributes free locals when they leave scope; transfer ownership by reading the
 * pointer into the result and setting the local to NULL (or -1 for descriptors).
 */
#ifndef TIMON_BASE_UTIL_H
#define TIMON_BASE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

void *xmalloc(size_t n);                 /* never NULL */
void *xcalloc(size_t n, size_t size);    /* zeroed, never NULL */
void *xrealloc(void *p, size_t n);       /* never NULL */
char *xstrdup(const char *s);            /* NULL in, NULL out */
char *xstrndup(const char *s, size_t n); /* copies n bytes and a NUL */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

void cleanup_freep(void *p);
void cleanup_closep(int *fd);
void cleanup_fclosep(void *fp);
#define _cleanup_free_ __attribute__((cleanup(cleanup_freep)))
#define _cleanup_close_ __attribute__((cleanup(cleanup_closep)))
#define _cleanup_fclose_ __attribute__((cleanup(cleanup_fclosep)))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define UNUSED(x) ((void)(x))

/* Equal strings, NULL equal to nothing; the first bytes compared inline (most unequal
 * strings differ there, and a lookup compares many). */
static inline bool str_eq(const char *a, const char *b)
{
	return a && b && a[0] == b[0] && strcmp(a, b) == 0;
}
static inline bool str_has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}
bool str_has_suffix(const char *s, const char *suffix);
/* "a.b.c.d/n" (n 0-32, nothing after it): the network in host byte order, its bits past
 * the prefix cleared, and n. False for anything else. */
bool ipv4_cidr_parse(const char *s, uint32_t *net, int *bits);
/* The netmask of a /bits prefix in host byte order (0 for /0, all ones for /32). */
uint32_t ipv4_prefix_mask(int bits);

/* A counted string: wire input is never trusted to be NUL-terminated. */
typedef struct strv {
	const char *p;
	size_t n;
} strv;
#define STRV(lit) ((strv){(lit), sizeof(lit) - 1})
static inline bool strv_eq(strv a, const char *b)
{
	size_t n = strlen(b);
	return a.n == n && memcmp(a.p, b, n) == 0;
}

/* Numbers written without printf (hot paths format many): v in decimal, NUL-terminated,
 * returning the length (out holds 21 bytes); v as 16 lowercase hex digits and a NUL. */
size_t fmt_u64(char *out, uint64_t v);
size_t fmt_i64(char *out, int64_t v);
void fmt_hex64(char out[17], uint64_t v);
/* Copies s (NULL: nothing) to out, cut to fit cap bytes with its NUL (cap > 0), and
 * returns the bytes copied: snprintf's "%s" without a format, chained by offset. */
size_t str_put(char *out, size_t cap, const char *s);

/* Wall clock in nanoseconds since the epoch; monotonic clock in nanoseconds. */
int64_t time_now_ns(void);
int64_t time_mono_ns(void);
/* Formats t (ns since epoch) as RFC 3339 in UTC: "2006-01-02T15:04:05Z" (micro: with
 * ".000000"). out must hold 32 bytes. */
void time_rfc3339(int64_t t_ns, bool micro, char out[32]);
/* Parses RFC 3339 (with optional fraction and offset) into ns since epoch; -1 on error. */
int time_parse_rfc3339(const char *s, int64_t *out_ns);

/* Fills out with n random bytes from the kernel; aborts on failure. */
void random_bytes(void *out, size_t n);
/* Random bytes for identifiers (uids, generated names), not secrets: batched per thread. */
void random_id_bytes(void *out, size_t n);
/* A random RFC 4122 version-4 UUID, lowercase, into out[37]. */
void uuid_v4(char out[37]);

#endif
