/* spdy.h — SPDY/3.1 framing (draft-mbelshe-httpbis-spdy-00 as amended for 3.1), what
 * Kubernetes port-forward speaks: control frames (SYN_STREAM, SYN_REPLY, RST_STREAM,
 * SETTINGS, PING, GOAWAY, HEADERS, WINDOW_UPDATE), DATA frames, and name/value header blocks
 * compressed with zlib and the SPDY/3 dictionary (each direction is one zlib stream for the
 * connection's life, flushed with Z_SYNC_FLUSH after every block).
 *
 * Three layers, each usable alone: the frame codec (pure, unit-tested, fuzzable), the
 * header-block codec (owns a zlib stream), and spdy_session, which turns bytes from any
 * transport (an upgraded connection, or WebSocket messages) into stream events and answers
 * PING/SETTINGS itself. Not for: what streams mean (agent/agent_stream_pf.c) or sockets.
 * Flow control is not enforced: kube's spdystream never sends WINDOW_UPDATE nor honours
 * windows, so the session accepts and ignores them.
 */
#ifndef TIMON_BASE_SPDY_H
#define TIMON_BASE_SPDY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/buf.h"
#include "base/error.h"

#define SPDY_VERSION 3

enum {
	SPDY_SYN_STREAM = 1,
	SPDY_SYN_REPLY = 2,
	SPDY_RST_STREAM = 3,
	SPDY_SETTINGS = 4,
	SPDY_PING = 6,
	SPDY_GOAWAY = 7,
	SPDY_HEADERS = 8,
	SPDY_WINDOW_UPDATE = 9,
};

enum { SPDY_FLAG_FIN = 0x01, SPDY_FLAG_UNIDIRECTIONAL = 0x02 };

/* RST_STREAM status codes. */
enum {
	SPDY_PROTOCOL_ERROR = 1,
	SPDY_INVALID_STREAM = 2,
	SPDY_REFUSED_STREAM = 3,
	SPDY_UNSUPPORTED_VERSION = 4,
	SPDY_CANCEL = 5,
	SPDY_INTERNAL_ERROR = 6,
	SPDY_FLOW_CONTROL_ERROR = 7,
	SPDY_STREAM_IN_USE = 8,
	SPDY_STREAM_ALREADY_CLOSED = 9,
	SPDY_FRAME_TOO_LARGE = 11,
};

#define SPDY_MAX_FRAME   ((1u << 24) - 1) /* the 24-bit length field */
#define SPDY_MAX_HEADERS (64u << 10)    /* a decompressed header block larger is refused */

/* One decoded frame; pointers refer to the input. */
typedef struct spdy_frame {
	bool control;
	int type;          /* control frames: SPDY_* type; data frames: 0 */
	uint8_t flags;
	uint32_t stream_id; /* data, SYN_*, RST, HEADERS, WINDOW_UPDATE; GOAWAY: last good id */
	uint32_t assoc_id;  /* SYN_STREAM */
	uint8_t priority;   /* SYN_STREAM: 0..7 */
	uint32_t value;     /* RST/GOAWAY status, PING id, WINDOW_UPDATE delta */
	const uint8_t *payload; /* data: the bytes; SYN_*, HEADERS: the compressed block;
	                           SETTINGS: the entries after the count */
	size_t len;
	uint32_t n_settings; /* SETTINGS */
} spdy_frame;

/* Decodes one frame from data[0..n). Returns the bytes consumed, 0 when more input is
 * needed, -1 when it is malformed (wrong version, unknown control type, lengths that do not
 * fit the type, a zero stream ID where one is required, longer than max). */
ssize_t spdy_frame_decode(const uint8_t *data, size_t n, size_t max, spdy_frame *out);

/* ---- frame encoders (append to out) ---- */
void spdy_put_data(buf *out, uint32_t stream_id, uint8_t flags, const void *data, size_t len);
/* A control frame with its raw payload (headers already compressed). */
void spdy_put_control(buf *out, int type, uint8_t flags, const void *payload, size_t len);
void spdy_put_rst(buf *out, uint32_t stream_id, uint32_t status);
void spdy_put_ping(buf *out, uint32_t id);
void spdy_put_goaway(buf *out, uint32_t last_good, uint32_t status);
void spdy_put_window_update(buf *out, uint32_t stream_id, uint32_t delta);
/* SETTINGS with n (id, value) pairs, flags 0 each. */
void spdy_put_settings(buf *out, const uint32_t *ids, const uint32_t *values, size_t n);

/* ---- header blocks ---- */

/* The SPDY/3 zlib dictionary (1423 bytes). */
const uint8_t *spdy_dictionary(size_t *len);

typedef struct spdy_header {
	char *name;  /* lowercase, NUL-terminated (names with NULs are refused) */
	char *value; /* several values are joined with NUL bytes: value_len is authoritative */
	size_t value_len;
} spdy_header;

typedef struct spdy_headers {
	spdy_header *v;
	size_t n;
} spdy_headers;

/* The first value of header name, or NULL (borrowed). */
const char *spdy_headers_get(const spdy_headers *h, const char *name);
void spdy_headers_free(spdy_headers *h);

/* One direction's zlib stream. */
typedef struct spdy_zlib spdy_zlib;
spdy_zlib *spdy_zlib_new(bool compress);
void spdy_zlib_free(spdy_zlib *z);
/* Compresses a block of n pairs (names lowercase; "name", "value" strings) onto out. */
void spdy_headers_encode(spdy_zlib *z, const char *const *pairs, size_t n, buf *out);
/* Decompresses and parses one block. -1 with err when the stream is corrupt or the block
 * malformed (counts past the end, empty or uppercase names, over SPDY_MAX_HEADERS): the
 * zlib stream is then unusable and the connection must end. */
int spdy_headers_decode(spdy_zlib *z, const uint8_t *data, size_t len, spdy_headers *out,
                        terr **err);

/* ---- a session: one connection's frames as stream events ---- */

typedef struct spdy_session spdy_session;
typedef struct spdy_session_ops {
	/* A peer-opened stream (the headers are borrowed). */
	void (*on_syn_stream)(void *ud, uint32_t id, const spdy_headers *h, uint8_t flags);
	/* Bytes of stream id; fin: the peer's half is closed (len may be 0). */
	void (*on_data)(void *ud, uint32_t id, const uint8_t *data, size_t len, bool fin);
	/* The peer reset stream id. */
	void (*on_rst)(void *ud, uint32_t id, uint32_t status);
	/* Bytes to send to the peer (a whole number of frames). */
	void (*write)(void *ud, const void *data, size_t len);
} spdy_session_ops;

/* A server-side session (peer-opened streams have odd IDs). ops copied. */
spdy_session *spdy_session_new(const spdy_session_ops *ops, void *ud);
void spdy_session_free(spdy_session *s);
/* Feeds transport bytes; runs the callbacks. Returns 0, 1 when the peer sent GOAWAY (the
 * owner ends the connection), or -1 with err on a protocol error (a GOAWAY has been
 * written; the owner ends the connection). Callbacks may call spdy_session_stop to end
 * the loop early. */
int spdy_session_feed(spdy_session *s, const void *data, size_t n, terr **err);
void spdy_session_stop(spdy_session *s);
/* Answers stream id with SYN_REPLY (headers: n "name", "value" pairs; flags FIN rejects). */
void spdy_session_reply(spdy_session *s, uint32_t id, const char *const *pairs, size_t n,
                        uint8_t flags);
/* Sends data on stream id (split into frames of at most 64 KiB); fin closes our half. */
void spdy_session_data(spdy_session *s, uint32_t id, const void *data, size_t len, bool fin);
void spdy_session_rst(spdy_session *s, uint32_t id, uint32_t status);
void spdy_session_goaway(spdy_session *s, uint32_t status);

#endif
