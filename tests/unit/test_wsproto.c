/* test_wsproto.c — the WebSocket frame codec and message reassembly (base/ws.h) and the
 * exec error-channel Status bodies (agent/agent_stream.h): round trips, the RFC 6455
 * handshake example, and malformed frames refused. */
#include <string.h>

#include "agent/agent_stream.h"
#include "base/json.h"
#include "base/util.h"
#include "base/ws.h"
#include "test.h"

static const uint8_t mask[4] = {0x37, 0xfa, 0x21, 0x3d};

TEST(accept_key_rfc_example)
{
	/* RFC 6455 section 1.3's example. */
	char out[29];
	ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out);
	CHECK_STR(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(round_trip_lengths)
{
	size_t lens[] = {0, 1, 125, 126, 65535, 65536, 200000};
	for (size_t k = 0; k < sizeof lens / sizeof *lens; k++) {
		size_t n = lens[k];
		char *data = xmalloc(n + 1);
		for (size_t i = 0; i < n; i++)
			data[i] = (char)(i * 7);
		buf b = {0};
		ws_frame_encode(&b, WS_OP_BINARY, true, data, n, mask);
		ws_frame f;
		/* Every strict prefix is incomplete, never an error. */
		CHECK(ws_frame_decode((uint8_t *)b.p, b.n - 1, WS_MAX_MESSAGE, &f) == 0);
		ssize_t used = ws_frame_decode((uint8_t *)b.p, b.n, WS_MAX_MESSAGE, &f);
		CHECK_INT(used, (long long)b.n);
		CHECK_INT(f.len, (long long)n);
		CHECK(f.fin);
		CHECK_INT(f.opcode, WS_OP_BINARY);
		CHECK(n == 0 || memcmp(f.payload, data, n) == 0);
		buf_free(&b);
		free(data);
	}
}

TEST(server_frames_are_unmasked)
{
	buf b = {0};
	ws_frame_encode(&b, WS_OP_TEXT, true, "Hello", 5, NULL);
	/* RFC 6455 5.7: a single-frame unmasked text message "Hello". */
	CHECK_INT(b.n, 7);
	CHECK(memcmp(b.p, "\x81\x05Hello", 7) == 0);
	buf_free(&b);
}

TEST(malformed_frames_refused)
{
	ws_frame f;
	uint8_t unmasked[] = {0x82, 0x01, 'x'};
	CHECK(ws_frame_decode(unmasked, sizeof unmasked, 100, &f) == -1);
	uint8_t rsv[] = {0xC2, 0x80, 0, 0, 0, 0};
	CHECK(ws_frame_decode(rsv, sizeof rsv, 100, &f) == -1);
	uint8_t badop[] = {0x83, 0x80, 0, 0, 0, 0};
	CHECK(ws_frame_decode(badop, sizeof badop, 100, &f) == -1);
	uint8_t fragping[] = {0x09, 0x80, 0, 0, 0, 0};
	CHECK(ws_frame_decode(fragping, sizeof fragping, 100, &f) == -1);
	uint8_t bigping[] = {0x89, 0xFE, 0x00, 0x80};
	CHECK(ws_frame_decode(bigping, sizeof bigping, 1000, &f) == -1);
	uint8_t toolong[] = {0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0};
	CHECK(ws_frame_decode(toolong, sizeof toolong, WS_MAX_MESSAGE, &f) == -1);
	uint8_t overmax[] = {0x82, 0xFE, 0x01, 0x00};
	CHECK(ws_frame_decode(overmax, sizeof overmax, 100, &f) == -1);
}

typedef struct got {
	int n;
	int op[8];
	char data[8][64];
} got;

static void on_msg(void *ud, int op, const uint8_t *data, size_t len)
{
	got *g = ud;
	if (g->n < 8) {
		g->op[g->n] = op;
		snprintf(g->data[g->n], 64, "%.*s", (int)len, (const char *)data);
	}
	g->n++;
}

TEST(fragments_reassembled_around_a_ping)
{
	buf b = {0};
	ws_frame_encode(&b, WS_OP_BINARY, false, "\x01" "ab", 3, mask);
	ws_frame_encode(&b, WS_OP_PING, true, "p", 1, mask);
	ws_frame_encode(&b, WS_OP_CONT, true, "cd", 2, mask);
	ws_frame_encode(&b, WS_OP_TEXT, true, "t", 1, mask);
	ws_reader r = {0};
	got g = {0};
	/* Byte by byte: frames split anywhere still decode. */
	for (size_t i = 0; i < b.n; i++)
		CHECK_INT(ws_reader_feed(&r, b.p + i, 1, on_msg, &g, NULL), 0);
	CHECK_INT(g.n, 3);
	CHECK_INT(g.op[0], WS_OP_PING);
	CHECK_STR(g.data[0], "p");
	CHECK_INT(g.op[1], WS_OP_BINARY);
	CHECK_STR(g.data[1], "\x01" "abcd");
	CHECK_INT(g.op[2], WS_OP_TEXT);
	ws_reader_free(&r);
	buf_free(&b);
}

TEST(bad_fragment_sequences_refused)
{
	buf b = {0};
	ws_frame_encode(&b, WS_OP_CONT, true, "x", 1, mask);
	ws_reader r = {0};
	got g = {0};
	CHECK_INT(ws_reader_feed(&r, b.p, b.n, on_msg, &g, NULL), -1);
	ws_reader_free(&r);
	buf_reset(&b);
	ws_frame_encode(&b, WS_OP_BINARY, false, "x", 1, mask);
	ws_frame_encode(&b, WS_OP_BINARY, true, "y", 1, mask);
	ws_reader r2 = {0};
	CHECK_INT(ws_reader_feed(&r2, b.p, b.n, on_msg, &g, NULL), -1);
	ws_reader_free(&r2);
	buf_free(&b);
	CHECK_INT(g.n, 0);
}

TEST(exit_status_bodies)
{
	_cleanup_free_ char *ok = agent_stream_exit_status(0);
	_cleanup_json_ json_t *j0 = json_loads(ok, 0, NULL);
	CHECK_STR(json_string_value(json_object_get(j0, "status")), "Success");
	_cleanup_free_ char *three = agent_stream_exit_status(3);
	_cleanup_json_ json_t *j3 = json_loads(three, 0, NULL);
	CHECK_STR(json_string_value(json_object_get(j3, "status")), "Failure");
	CHECK_STR(json_string_value(json_object_get(j3, "reason")), "NonZeroExitCode");
	json_t *cause = json_array_get(json_path(j3, "details.causes"), 0);
	CHECK_STR(json_string_value(json_object_get(cause, "reason")), "ExitCode");
	CHECK_STR(json_string_value(json_object_get(cause, "message")), "3");
}
