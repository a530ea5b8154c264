/* buf.h — a growable byte buffer for building responses and keys.
 * Not for: shared data (use refcounted blobs, see base/blob.h). */
#ifndef TIMON_BASE_BUF_H
#define TIMON_BASE_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct buf {
	char *p;    /* always NUL-terminated when non-NULL */
	size_t n;   /* bytes used, excluding the NUL */
	size_t cap;
} buf;

/* Makes room for n more bytes at once (one allocation instead of a doubling series). */
void buf_reserve(buf *b, size_t n);
void buf_add(buf *b, const void *data, size_t n);
void buf_puts(buf *b, const char *s);
static inline void buf_putc(buf *b, char c)
{
	if (b->n + 2 > b->cap)
		buf_reserve(b, 1);
	b->p[b->n++] = c;
	b->p[b->n] = 0;
}
/* Cuts b back to its first n bytes (a mark taken from b->n): a path built while walking. */
static inline void buf_truncate(buf *b, size_t n)
{
	if (b->p && n < b->n) {
		b->n = n;
		b->p[n] = 0;
	}
}
void buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(buf *b, const char *fmt, va_list ap);
/* Appends v in decimal (fmt_u64). */
void buf_put_u64(buf *b, uint64_t v);
/* Appends s as a JSON string literal with quotes and the escapes jansson writes (\" \\
 * \b \f \n \r \t, \u00XX for other control characters); s is valid UTF-8. */
void buf_json_str(buf *b, const char *s, size_t n);
/* Appends d as Go writes a float64: as fmt's %v does (strconv 'g', -1: the shortest digits
 * that read back as d, %e form for exponents < -4 or >= 6; 1.5, 1e+06), or (json) as
 * encoding/json does (%e form below 1e-6 and from 1e21, e-7 not e-07). NaN, +Inf, -Inf. */
void buf_go_float(buf *b, double d, bool json);
/* Appends s (n bytes) quoted as Go's strconv.Quote (%q) writes it: the escapes \" \\ \a
 * \b \f \n \r \t \v, \xXX for other control bytes and invalid UTF-8, the rest as it is. */
void buf_go_quote(buf *b, const char *s, size_t n);
/* Length of the valid UTF-8 sequence at s (at most n bytes, n > 0): 1-4, or 0 when it is
 * invalid (overlong forms and UTF-16 surrogates included). */
int utf8_seq_len(const unsigned char *s, size_t n);
/* Gives the bytes to the caller (who frees them) and resets b. */
char *buf_take(buf *b);
void buf_reset(buf *b);
void buf_free(buf *b);
void cleanup_bufp(buf *b);
#define _cleanup_buf_ __attribute__((cleanup(cleanup_bufp)))

#endif
