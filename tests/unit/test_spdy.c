/* test_spdy.c — SPDY/3.1 framing (base/spdy.h): frame round trips, the header dictionary,
 * header blocks through one zlib stream per direction, a session answering pings and
 * reporting streams, and malformed frames refused. */
#include <string.h>
#include <zlib.h>

#include "base/spdy.h"
#include "base/util.h"
#include "test.h"

TEST(dictionary_is_the_drafts)
{
	size_t n;
	const uint8_t *d = spdy_dictionary(&n);
	/* The draft's dictionary is 1423 bytes; zlib names it by its Adler-32 (the DICTID a
	 * peer's stream carries), so any byte off would fail against a real client. */
	CHECK_INT(n, 1423);
	CHECK_INT(adler32(1, d, (uInt)n), 0xe3c6a7c2);
	CHECK(memcmp(d, "\0\0\0\x07options", 11) == 0);
}

TEST(data_frame_round_trip)
{
	buf b = {0};
	spdy_put_data(&b, 5, SPDY_FLAG_FIN, "hello", 5);
	CHECK_INT(b.n, 13);
	spdy_frame f;
	for (size_t k = 0; k < b.n; k++)
		CHECK(spdy_frame_decode((uint8_t *)b.p, k, 1 << 20, &f) == 0);
	CHECK_INT(spdy_frame_decode((uint8_t *)b.p, b.n, 1 << 20, &f), 13);
	CHECK(!f.control);
	CHECK_INT(f.stream_id, 5);
	CHECK_INT(f.flags, SPDY_FLAG_FIN);
	CHECK(f.len == 5 && memcmp(f.payload, "hello", 5) == 0);
	buf_free(&b);
}

TEST(control_frames_round_trip)
{
	buf b = {0};
	spdy_put_rst(&b, 7, SPDY_CANCEL);
	spdy_put_ping(&b, 9);
	spdy_put_goaway(&b, 11, 0);
	spdy_put_window_update(&b, 0, 65536);
	uint32_t ids[] = {7}, vals[] = {1 << 20};
	spdy_put_settings(&b, ids, vals, 1);
	/* A control frame header: version 3, type 3 (RST_STREAM), length 8. */
	CHECK(memcmp(b.p, "\x80\x03\x00\x03\x00\x00\x00\x08", 8) == 0);
	const uint8_t *p = (uint8_t *)b.p;
	size_t left = b.n;
	spdy_frame f;
	ssize_t u = spdy_frame_decode(p, left, 1 << 20, &f);
	CHECK(u == 16 && f.control && f.type == SPDY_RST_STREAM && f.stream_id == 7 && f.value == SPDY_CANCEL);
	p += u, left -= (size_t)u;
	u = spdy_frame_decode(p, left, 1 << 20, &f);
	CHECK(u == 12 && f.type == SPDY_PING && f.value == 9);
	p += u, left -= (size_t)u;
	u = spdy_frame_decode(p, left, 1 << 20, &f);
	CHECK(u == 16 && f.type == SPDY_GOAWAY && f.stream_id == 11 && f.value == 0);
	p += u, left -= (size_t)u;
	u = spdy_frame_decode(p, left, 1 << 20, &f);
	CHECK(u == 16 && f.type == SPDY_WINDOW_UPDATE && f.stream_id == 0 && f.value == 65536);
	p += u, left -= (size_t)u;
	u = spdy_frame_decode(p, left, 1 << 20, &f);
	CHECK(u == 20 && f.type == SPDY_SETTINGS && f.n_settings == 1);
	CHECK_INT(left, (long long)u);
	buf_free(&b);
}

TEST(headers_one_zlib_stream_per_direction)
{
	spdy_zlib *c = spdy_zlib_new(true), *d = spdy_zlib_new(false);
	const char *pairs[] = {"streamtype", "data", "port", "8080", "requestid", "0"};
	for (int round = 0; round < 3; round++) {
		buf b = {0};
		spdy_headers_encode(c, pairs, 3, &b);
		spdy_headers h;
		terr *err = NULL;
		REQUIRE(spdy_headers_decode(d, (uint8_t *)b.p, b.n, &h, &err) == 0);
		CHECK_INT(h.n, 3);
		CHECK_STR(spdy_headers_get(&h, "port"), "8080");
		CHECK_STR(spdy_headers_get(&h, "streamtype"), "data");
		CHECK(spdy_headers_get(&h, "nope") == NULL);
		spdy_headers_free(&h);
		/* Later blocks reuse the stream's history: they are shorter. */
		if (round == 0)
			CHECK(b.n > 20);
		buf_free(&b);
	}
	/* A fresh decompressor cannot read a block from the middle of a stream. */
	buf b = {0};
	spdy_headers_encode(c, pairs, 3, &b);
	spdy_zlib *fresh = spdy_zlib_new(false);
	spdy_headers h;
	terr *err = NULL;
	CHECK(spdy_headers_decode(fresh, (uint8_t *)b.p, b.n, &h, &err) < 0);
	terr_free(err);
	spdy_zlib_free(fresh);
	buf_free(&b);
	spdy_zlib_free(c);
	spdy_zlib_free(d);
}

/* Compresses a raw (already laid out) header block the way a peer would. */
static void raw_block(spdy_zlib *c, const void *raw, size_t n, buf *out)
{
	(void)c;
	size_t dn;
	const uint8_t *dict = spdy_dictionary(&dn);
	z_stream z = {0};
	deflateInit(&z, 6);
	deflateSetDictionary(&z, dict, (uInt)dn);
	uint8_t tmp[4096];
	z.next_in = (Bytef *)raw;
	z.avail_in = (uInt)n;
	z.next_out = tmp;
	z.avail_out = sizeof tmp;
	deflate(&z, Z_SYNC_FLUSH);
	buf_add(out, tmp, sizeof tmp - z.avail_out);
	deflateEnd(&z);
}

TEST(malformed_header_blocks_refused)
{
	static const struct {
		const char *raw;
		size_t n;
	} bad[] = {
		{"\0\0\0\x05", 4},                            /* 5 pairs, none there */
		{"\0\0\0\x01\0\0\0\x04Port\0\0\0\0", 16},     /* uppercase name */
		{"\0\0\0\x01\0\0\0\0\0\0\0\0", 12},           /* empty name */
		{"\0\0\0\x01\0\0\0\x04port\0\0\0\x09" "80", 18}, /* value past the end */
		{"\0\0\0\0junk", 8},                          /* bytes after the pairs */
		{"\0\0", 2},                                  /* no count */
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		buf b = {0};
		raw_block(NULL, bad[i].raw, bad[i].n, &b);
		spdy_zlib *d = spdy_zlib_new(false);
		spdy_headers h;
		terr *err = NULL;
		if (spdy_headers_decode(d, (uint8_t *)b.p, b.n, &h, &err) == 0) {
			fprintf(stderr, "  block %zu accepted\n", i);
			CHECK(0);
			spdy_headers_free(&h);
		}
		terr_free(err);
		spdy_zlib_free(d);
		buf_free(&b);
	}
	/* Not zlib at all. */
	spdy_zlib *d = spdy_zlib_new(false);
	spdy_headers h;
	terr *err = NULL;
	CHECK(spdy_headers_decode(d, (const uint8_t *)"garbage!", 8, &h, &err) < 0);
	terr_free(err);
	spdy_zlib_free(d);
}

TEST(malformed_frames_refused)
{
	spdy_frame f;
	/* version 2 */
	CHECK(spdy_frame_decode((const uint8_t *)"\x80\x02\x00\x06\x00\x00\x00\x04\0\0\0\1", 12, 100, &f) == -1);
	/* data on stream 0 */
	CHECK(spdy_frame_decode((const uint8_t *)"\0\0\0\0\0\0\0\0", 8, 100, &f) == -1);
	/* longer than allowed */
	CHECK(spdy_frame_decode((const uint8_t *)"\0\0\0\1\0\0\x10\0", 8, 100, &f) == -1);
	/* PING of the wrong length */
	CHECK(spdy_frame_decode((const uint8_t *)"\x80\x03\x00\x06\x00\x00\x00\x05\0\0\0\1\0", 13, 100, &f) == -1);
	/* RST_STREAM with status 0 */
	CHECK(spdy_frame_decode((const uint8_t *)"\x80\x03\x00\x03\x00\x00\x00\x08\0\0\0\1\0\0\0\0", 16, 100, &f) == -1);
	/* SYN_STREAM too short, and on stream 0 */
	CHECK(spdy_frame_decode((const uint8_t *)"\x80\x03\x00\x01\x00\x00\x00\x04\0\0\0\1", 12, 100, &f) == -1);
	CHECK(spdy_frame_decode((const uint8_t *)"\x80\x03\x00\x01\x00\x00\x00\x0a\0\0\0\0\0\0\0\0\0\0", 18, 100, &f) == -1);
	/* SETTINGS whose count does not match its length */
	CHECK(spdy_frame_decode((const uint8_t *)"\x80\x03\x00\x04\x00\x00\x00\x04\0\0\0\x09", 12, 100, &f) == -1);
	/* An unknown control type is skipped, not refused. */
	CHECK(spdy_frame_decode((const uint8_t *)"\x80\x03\x00\x0a\x00\x00\x00\x01x", 9, 100, &f) == 9);
}

/* ---- a session driven by client-side frames ---- */

typedef struct rec {
	buf out;
	int syn, data, rst;
	uint32_t last_id;
	char port[16];
	buf got;
	bool fin;
} rec;

static void r_syn(void *ud, uint32_t id, const spdy_headers *h, uint8_t flags)
{
	rec *r = ud;
	r->syn++;
	r->last_id = id;
	const char *p = spdy_headers_get(h, "port");
	snprintf(r->port, sizeof r->port, "%s", p ? p : "");
}
static void r_data(void *ud, uint32_t id, const uint8_t *d, size_t n, bool fin)
{
	rec *r = ud;
	r->data++;
	buf_add(&r->got, d, n);
	r->fin |= fin;
}
static void r_rst(void *ud, uint32_t id, uint32_t st)
{
	((rec *)ud)->rst++;
}
static void r_write(void *ud, const void *d, size_t n)
{
	buf_add(&((rec *)ud)->out, d, n);
}
static const spdy_session_ops rops = {r_syn, r_data, r_rst, r_write};

static void syn_stream(buf *b, spdy_zlib *c, uint32_t id, const char *port)
{
	buf body = {0};
	uint8_t hdr[10] = {0, 0, 0, (uint8_t)id, 0, 0, 0, 0, 0, 0};
	buf_add(&body, hdr, 10);
	const char *pairs[] = {"streamtype", "data", "port", port, "requestid", "0"};
	spdy_headers_encode(c, pairs, 3, &body);
	spdy_put_control(b, SPDY_SYN_STREAM, 0, body.p, body.n);
	buf_free(&body);
}

TEST(session_streams_pings_and_replies)
{
	rec r = {0};
	spdy_session *s = spdy_session_new(&rops, &r);
	spdy_zlib *c = spdy_zlib_new(true);
	buf in = {0};
	syn_stream(&in, c, 1, "8080");
	spdy_put_ping(&in, 1);
	spdy_put_data(&in, 1, 0, "abc", 3);
	spdy_put_window_update(&in, 1, 100);
	syn_stream(&in, c, 3, "9090");
	spdy_put_data(&in, 3, SPDY_FLAG_FIN, "de", 2);
	spdy_put_rst(&in, 3, SPDY_CANCEL);
	/* Fed a byte at a time: frames split anywhere still decode. */
	terr *err = NULL;
	for (size_t i = 0; i < in.n; i++)
		REQUIRE(spdy_session_feed(s, in.p + i, 1, &err) == 0);
	CHECK_INT(r.syn, 2);
	CHECK_INT(r.last_id, 3);
	CHECK_STR(r.port, "9090");
	CHECK(r.got.n == 5 && memcmp(r.got.p, "abcde", 5) == 0);
	CHECK(r.fin);
	CHECK_INT(r.rst, 1);
	/* The ping came back as is. */
	CHECK(r.out.n == 12 && memcmp(r.out.p, "\x80\x03\x00\x06\x00\x00\x00\x04\0\0\0\1", 12) == 0);
	/* A reply decodes with the client's decompressor, twice in a row. */
	r.out.n = 0;
	const char *none[] = {NULL};
	spdy_session_reply(s, 1, none, 0, 0);
	spdy_session_reply(s, 3, none, 0, SPDY_FLAG_FIN);
	spdy_zlib *d = spdy_zlib_new(false);
	const uint8_t *p = (uint8_t *)r.out.p;
	size_t left = r.out.n;
	for (int k = 0; k < 2; k++) {
		spdy_frame f;
		ssize_t u = spdy_frame_decode(p, left, 1 << 20, &f);
		REQUIRE(u > 0);
		CHECK(f.type == SPDY_SYN_REPLY && f.stream_id == (uint32_t)(1 + 2 * k));
		CHECK_INT(f.flags, k ? SPDY_FLAG_FIN : 0);
		spdy_headers h;
		CHECK(spdy_headers_decode(d, f.payload, f.len, &h, &err) == 0);
		spdy_headers_free(&h);
		p += u, left -= (size_t)u;
	}
	/* Large data is split into frames. */
	r.out.n = 0;
	char *big = xcalloc(1, 100000);
	spdy_session_data(s, 2, big, 100000, true);
	size_t total = 0, frames = 0;
	p = (uint8_t *)r.out.p, left = r.out.n;
	spdy_frame f;
	ssize_t u;
	while ((u = spdy_frame_decode(p, left, 1 << 20, &f)) > 0) {
		total += f.len;
		frames++;
		CHECK((f.flags & SPDY_FLAG_FIN) == (left == (size_t)u ? SPDY_FLAG_FIN : 0));
		p += u, left -= (size_t)u;
	}
	CHECK_INT(total, 100000);
	CHECK(frames > 1);
	free(big);
	spdy_zlib_free(d);
	spdy_zlib_free(c);
	buf_free(&in);
	buf_free(&r.out);
	buf_free(&r.got);
	spdy_session_free(s);
}

TEST(session_protocol_errors_send_goaway)
{
	rec r = {0};
	spdy_session *s = spdy_session_new(&rops, &r);
	spdy_zlib *c = spdy_zlib_new(true);
	buf in = {0};
	syn_stream(&in, c, 5, "1");
	syn_stream(&in, c, 3, "2"); /* IDs must increase */
	terr *err = NULL;
	CHECK(spdy_session_feed(s, in.p, in.n, &err) == -1);
	CHECK(err != NULL);
	terr_free(err);
	CHECK_INT(r.syn, 1);
	spdy_frame f;
	CHECK(spdy_frame_decode((uint8_t *)r.out.p, r.out.n, 100, &f) == 16 && f.type == SPDY_GOAWAY &&
	      f.stream_id == 5 && f.value == 1);
	buf_free(&in);
	buf_free(&r.out);
	spdy_zlib_free(c);
	spdy_session_free(s);

	/* A peer's GOAWAY ends the session politely. */
	rec r2 = {0};
	s = spdy_session_new(&rops, &r2);
	buf g = {0};
	spdy_put_goaway(&g, 0, 0);
	CHECK(spdy_session_feed(s, g.p, g.n, &err) == 1);
	buf_free(&g);
	spdy_session_free(s);
}
