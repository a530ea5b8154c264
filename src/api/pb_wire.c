/* pb_wire.c — the protobuf wire format: reading fields with strict bounds checks and
 * writing varints, tags and length-delimited fields.
 *
 * Every read stays inside [p, end): a truncated varint, a length past the end, a bad
 * wire type or field number, or groups nested deeper than PB_MAX_DEPTH are reported as
 * 400 BadRequest, never over-read. Not for: schema knowledge (pb_decode.c, pb_encode.c).
 */
#include "api/pb-internal.h"

#include <inttypes.h>

int pb_read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	const uint8_t *q = *p;
	uint64_t r = 0;
	/* go-protobuf accepts up to 10 bytes (bits past 64 are dropped) and rejects more. */
	for (unsigned shift = 0; shift < 70; shift += 7) {
		if (q >= end)
			return -1;
		uint8_t b = *q++;
		if (shift < 64)
			r |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*p = q;
			*v = r;
			return 0;
		}
	}
	return -1;
}

void pb_iter_init(pb_iter *it, const uint8_t *data, size_t n, const char *what)
{
	static const uint8_t none[1];
	it->p = data ? data : none; /* never offset a NULL pointer */
	it->end = it->p + (data ? n : 0);
	it->what = what ? what : "message";
}

static int bad(pb_iter *it, terr **err, const char *msg, uint32_t num)
{
	if (num)
		return terr_bad_request(err, "invalid protobuf in %s: field %" PRIu32 ": %s",
		                        it->what, num, msg);
	return terr_bad_request(err, "invalid protobuf in %s: %s", it->what, msg);
}

/* Skips one non-group value of wire type wt at *p. */
static int skip_value(const uint8_t **p, const uint8_t *end, int wt)
{
	uint64_t v;
	switch (wt) {
	case PB_WT_VARINT:
		return pb_read_varint(p, end, &v);
	case PB_WT_I64:
		if (end - *p < 8)
			return -1;
		*p += 8;
		return 0;
	case PB_WT_I32:
		if (end - *p < 4)
			return -1;
		*p += 4;
		return 0;
	case PB_WT_LEN:
		if (pb_read_varint(p, end, &v) < 0 || v > (uint64_t)(end - *p))
			return -1;
		*p += v;
		return 0;
	default:
		return -1;
	}
}

/* Skips the body of a group whose start tag was just read, up to its end tag. */
static int skip_group(pb_iter *it, uint32_t num, terr **err)
{
	int depth = 1;
	while (depth > 0) {
		uint64_t tag;
		if (pb_read_varint(&it->p, it->end, &tag) < 0)
			return bad(it, err, "unterminated group", num);
		int wt = (int)(tag & 7);
		if (tag >> 3 == 0 || tag >> 3 > PB_MAX_FIELD)
			return bad(it, err, "invalid field number inside group", num);
		if (wt == PB_WT_SGROUP) {
			if (++depth > PB_MAX_DEPTH)
				return bad(it, err, "groups nested too deeply", num);
		} else if (wt == PB_WT_EGROUP) {
			depth--;
		} else if (skip_value(&it->p, it->end, wt) < 0) {
			return bad(it, err, "truncated or invalid value inside group", num);
		}
	}
	return 0;
}

int pb_iter_next(pb_iter *it, pb_wfield *f, terr **err)
{
	if (it->p >= it->end)
		return 0;
	uint64_t tag;
	if (pb_read_varint(&it->p, it->end, &tag) < 0)
		return bad(it, err, "truncated or overlong field tag", 0);
	uint64_t num = tag >> 3;
	if (num == 0 || num > PB_MAX_FIELD)
		return bad(it, err, "invalid field number", 0);
	*f = (pb_wfield){.num = (uint32_t)num, .wt = (int)(tag & 7)};
	switch (f->wt) {
	case PB_WT_VARINT:
		if (pb_read_varint(&it->p, it->end, &f->v) < 0)
			return bad(it, err, "truncated or overlong varint", f->num);
		return 1;
	case PB_WT_I64:
	case PB_WT_I32: {
		size_t w = f->wt == PB_WT_I64 ? 8 : 4;
		if ((size_t)(it->end - it->p) < w)
			return bad(it, err, "truncated fixed-width value", f->num);
		for (size_t i = 0; i < w; i++)
			f->v |= (uint64_t)it->p[i] << (8 * i);
		it->p += w;
		return 1;
	}
	case PB_WT_LEN: {
		uint64_t len;
		if (pb_read_varint(&it->p, it->end, &len) < 0)
			return bad(it, err, "truncated length", f->num);
		if (len > (uint64_t)(it->end - it->p))
			return bad(it, err, "length exceeds the remaining input", f->num);
		f->data = it->p;
		f->len = (size_t)len;
		it->p += len;
		return 1;
	}
	case PB_WT_SGROUP:
		return skip_group(it, f->num, err) < 0 ? -1 : 1;
	case PB_WT_EGROUP:
		return bad(it, err, "end-group tag without a group", f->num);
	default:
		return bad(it, err, "invalid wire type", f->num);
	}
}

void pb_put_varint(buf *b, uint64_t v)
{
	char tmp[10];
	size_t n = 0;
	while (v >= 0x80) {
		tmp[n++] = (char)(uint8_t)(v | 0x80);
		v >>= 7;
	}
	tmp[n++] = (char)(uint8_t)v;
	buf_add(b, tmp, n);
}

void pb_put_tag(buf *b, uint32_t num, int wt)
{
	pb_put_varint(b, ((uint64_t)num << 3) | (uint64_t)wt);
}

void pb_put_len(buf *b, uint32_t num, const void *data, size_t n)
{
	pb_put_tag(b, num, PB_WT_LEN);
	pb_put_varint(b, n);
	if (n)
		buf_add(b, data, n);
}

void pb_put_fixed64(buf *b, uint32_t num, uint64_t v)
{
	char tmp[8];
	for (int i = 0; i < 8; i++)
		tmp[i] = (char)(uint8_t)(v >> (8 * i));
	pb_put_tag(b, num, PB_WT_I64);
	buf_add(b, tmp, 8);
}
