/* ws.h — the server side of WebSocket (RFC 6455) on an upgraded HTTP connection: the
 * handshake, frame encoding and decoding (client frames must be masked), fragmented
 * messages, ping/pong and the closing handshake. The frame codec is pure (unit-tested and
 * fuzzable); ws_conn ties it to http_upgrade. Not for: what messages mean (the Kubernetes
 * channel protocol is in stream/channel.h).
 */
#ifndef TIMON_BASE_WS_H
#define TIMON_BASE_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/error.h"
#include "base/http.h"

enum {
	WS_OP_CONT = 0x0,
	WS_OP_TEXT = 0x1,
	WS_OP_BINARY = 0x2,
	WS_OP_CLOSE = 0x8,
	WS_OP_PING = 0x9,
	WS_OP_PONG = 0xA,
};

#define WS_MAX_MESSAGE (16u << 20) /* bigger messages close the connection (1009) */

typedef struct ws_frame {
	bool fin;
	int opcode;
	const uint8_t *payload; /* points into the input; unmasked in place */
	size_t len;
} ws_frame;

/* The Sec-WebSocket-Accept value for a client's Sec-WebSocket-Key (out: 29 bytes). */
void ws_accept_key(const char *key, char out[29]);
/* Appends one frame to out. mask: NULL for a server frame, else the 4-byte client mask. */
void ws_frame_encode(buf *out, int opcode, bool fin, const void *data, size_t len,
                     const uint8_t *mask);
/* Decodes one frame from data[0..n) (a client's: masked), unmasking its payload in place.
 * Returns the bytes consumed, 0 when more input is needed, -1 when the frame is malformed
 * (unmasked, reserved bits, unknown opcode, bad control frame, longer than max). */
ssize_t ws_frame_decode(uint8_t *data, size_t n, size_t max, ws_frame *out);

/* Reassembles messages from frames. */
typedef struct ws_reader {
	buf in;       /* undecoded bytes */
	buf msg;      /* the fragmented message so far */
	int msg_op;   /* its opcode; 0 when none is open */
} ws_reader;
/* Called per complete message (text/binary) and per control frame. */
typedef void (*ws_message_cb)(void *ud, int opcode, const uint8_t *data, size_t len);
/* Feeds bytes; calls cb for each complete message. -1 on a protocol error (the caller
 * closes with 1002). cb may set *stop to end the loop early (the reader is then freed by
 * its owner after return). */
int ws_reader_feed(ws_reader *r, const void *data, size_t n, ws_message_cb cb, void *ud,
                   const bool *stop);
void ws_reader_free(ws_reader *r);

/* ---- a WebSocket connection ---- */
typedef struct ws_conn ws_conn;
typedef struct ws_ops {
	/* A complete text or binary message (borrowed). */
	void (*on_message)(void *ud, ws_conn *ws, int opcode, const uint8_t *data, size_t len);
	/* The connection ended (peer close, error, ws_close). Runs once; ws is freed after. */
	void (*on_close)(void *ud, ws_conn *ws);
} ws_ops;

/* Checks req's WebSocket handshake and picks the first of protocols (NULL-terminated,
 * in preference order) the client offers. Returns the chosen one (borrowed from
 * protocols), or NULL with err (400) when req is no WebSocket handshake or no protocol
 * matches. Does not answer req. */
const char *ws_negotiate(const http_req *req, const char *const *protocols, terr **err);
/* Answers req with 101 for protocol (from ws_negotiate) and returns the connection; ops
 * (copied) and ud receive its events. req is finished. */
ws_conn *ws_accept(http_req *req, const char *protocol, const ws_ops *ops, void *ud);
/* Sends a message: prefix (when has_prefix) followed by data. -1 when the connection is
 * gone (on_close then runs from the loop). */
int ws_send(ws_conn *ws, int opcode, int prefix, const void *data, size_t len);
/* Bytes queued for the peer. */
size_t ws_queued(const ws_conn *ws);
/* Sends a close frame with code and ends the connection; on_close runs (later, from the
 * loop, never inside this call). */
void ws_close(ws_conn *ws, uint16_t code);

#endif
