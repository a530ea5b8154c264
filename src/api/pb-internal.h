/* pb-internal.h — private interface shared by the protobuf transcoder's files.
 *
 * pb_wire.c reads and writes the protobuf wire format (varints, tags, length-delimited
 * fields, group skipping) with strict bounds checks; pb_values.c converts the scalar
 * values whose JSON form Go defines (RFC 3339 times, Go duration strings, base64 bytes,
 * UTF-8 repair). pb_decode.c, pb_encode.c and protobuf.c build on both.
 * Not for: use outside src/api/pb_*.c and protobuf.c (the interface is api/protobuf.h).
 */
#ifndef TIMON_API_PB_INTERNAL_H
#define TIMON_API_PB_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/schema.h"
#include "base/buf.h"
#include "base/error.h"

#define PB_MAX_DEPTH 64            /* nested messages (and groups) accepted */
#define PB_MAX_FIELD 536870911u    /* 2^29 - 1, the largest protobuf field number */

enum pb_wire_type {
	PB_WT_VARINT = 0,
	PB_WT_I64 = 1,
	PB_WT_LEN = 2,
	PB_WT_SGROUP = 3,
	PB_WT_EGROUP = 4,
	PB_WT_I32 = 5,
};

/* A cursor over the fields of one encoded message. `what` names the message in errors. */
typedef struct pb_iter {
	const uint8_t *p, *end;
	const char *what;
} pb_iter;

/* One field as read from the wire. For VARINT/I64/I32, v holds the value; for LEN, data
 * and len hold the payload (borrowed from the input); a skipped group has wt SGROUP. */
typedef struct pb_wfield {
	uint32_t num;
	int wt;
	uint64_t v;
	const uint8_t *data;
	size_t len;
} pb_wfield;

/* Starts an iterator over data[0..n) (borrowed; must outlive the iterator). */
void pb_iter_init(pb_iter *it, const uint8_t *data, size_t n, const char *what);
/* Reads the next field into *f: 1 when one was read, 0 at the end, -1 (400 BadRequest in
 * *err) on malformed input. Groups are skipped whole and reported with wt SGROUP. */
int pb_iter_next(pb_iter *it, pb_wfield *f, terr **err);
/* Reads one varint at *p (advancing it), at most 10 bytes and never past end; -1 when
 * truncated or longer than 10 bytes. */
int pb_read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v);

/* Writers: each appends to b. */
void pb_put_varint(buf *b, uint64_t v);
void pb_put_tag(buf *b, uint32_t num, int wt);
void pb_put_len(buf *b, uint32_t num, const void *data, size_t n); /* tag, length, bytes */
void pb_put_fixed64(buf *b, uint32_t num, uint64_t v);

/* A JSON string of p[0..n), with invalid UTF-8 bytes replaced by U+FFFD as Go's JSON
 * encoder does. New reference. */
json_t *pb_json_string(const uint8_t *p, size_t n);
/* True when p[0..n) is valid UTF-8 by Go's rules (no surrogates, no overlongs). */
bool pb_utf8_valid(const uint8_t *p, size_t n);

/* Decodes standard padded base64 (Go's encoding/json form of []byte; base64_encode
 * writes it), ignoring CR and LF, appending to out; -1 when invalid. */
int pb_base64_decode(const char *s, size_t n, buf *out);

/* k8s: metav1.Time and MicroTime hold 0001-01-01T00:00:00Z ... 9999-12-31T23:59:59Z. */
#define PB_TIME_MIN_SEC (-62135596800LL) /* 0001-01-01T00:00:00Z, Go's zero time */
#define PB_TIME_MAX_SEC 253402300799LL   /* 9999-12-31T23:59:59Z */
/* Formats sec (+ nanos when micro, truncated to microseconds) as RFC 3339 in UTC into
 * out[40]; -1 when outside the range above or nanos is outside [0, 1e9). */
int pb_time_format(int64_t sec, int32_t nanos, bool micro, char out[40]);
/* Parses RFC 3339 ("2006-01-02T15:04:05Z", optional fraction, Z or +hh:mm) from s[0..n)
 * into seconds since the epoch and non-negative nanoseconds; -1 when invalid. */
int pb_time_parse(const char *s, size_t n, int64_t *sec, int32_t *nanos);

/* Formats ns as Go's time.Duration.String ("1h0m0s", "1.5s", "300ms", "0s") into out[40]. */
void pb_duration_format(int64_t ns, char out[40]);
/* Parses a Go duration string ("1h30m", "-1.5s", "300ms", "0") from s[0..n); -1 when
 * invalid or out of int64 range. */
int pb_duration_parse(const char *s, size_t n, int64_t *ns);

/* Decodes the message data[0..n) of type t, adding its fields to out (borrowed) in
 * schema order; 0, or -1 with 400 BadRequest in *err. (pb_decode.c) */
int pb_decode_fields(const uint8_t *data, size_t n, const schema_type *t, json_t *out,
                     terr **err);

#endif
