/* ws.c — WebSocket framing and connections over http_upgrade (see ws.h). Written from
 * RFC 6455: sections 4.2 (handshake) and 5 (framing). */
#include "base/ws.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"
#include "base/util.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

void ws_accept_key(const char *key, char out[29])
{
	_cleanup_free_ char *s = xasprintf("%s%s", key, WS_GUID);
	unsigned char md[SHA_DIGEST_LENGTH];
	SHA1((const unsigned char *)s, strlen(s), md);
	EVP_EncodeBlock((unsigned char *)out, md, SHA_DIGEST_LENGTH);
}

void ws_frame_encode(buf *out, int opcode, bool fin, const void *data, size_t len,
                     const uint8_t *mask)
{
	uint8_t h[14];
	size_t n = 0;
	h[n++] = (uint8_t)((fin ? 0x80 : 0) | (opcode & 0xf));
	uint8_t m = mask ? 0x80 : 0;
	if (len < 126) {
		h[n++] = (uint8_t)(m | len);
	} else if (len <= 0xffff) {
		h[n++] = m | 126;
		h[n++] = (uint8_t)(len >> 8);
		h[n++] = (uint8_t)len;
	} else {
		h[n++] = m | 127;
		for (int i = 7; i >= 0; i--)
			h[n++] = (uint8_t)((uint64_t)len >> (8 * i));
	}
	if (mask) {
		memcpy(h + n, mask, 4);
		n += 4;
	}
	buf_add(out, h, n);
	if (!mask) {
		buf_add(out, data, len);
		return;
	}
	const uint8_t *d = data;
	for (size_t i = 0; i < len; i++)
		buf_putc(out, (char)(d[i] ^ mask[i & 3]));
}

ssize_t ws_frame_decode(uint8_t *d, size_t n, size_t max, ws_frame *out)
{
	if (n < 2)
		return 0;
	if (d[0] & 0x70)
		return -1; /* RSV bits: no extension was negotiated */
	int op = d[0] & 0xf;
	bool fin = d[0] & 0x80;
	if (op != WS_OP_CONT && op != WS_OP_TEXT && op != WS_OP_BINARY && op != WS_OP_CLOSE &&
	    op != WS_OP_PING && op != WS_OP_PONG)
		return -1;
	if (!(d[1] & 0x80))
		return -1; /* RFC 6455 5.1: a server closes on an unmasked client frame */
	uint64_t len = d[1] & 0x7f;
	size_t pos = 2;
	if (len == 126) {
		if (n < 4)
			return 0;
		len = (uint64_t)d[2] << 8 | d[3];
		pos = 4;
	} else if (len == 127) {
		if (n < 10)
			return 0;
		len = 0;
		for (int i = 0; i < 8; i++)
			len = len << 8 | d[2 + i];
		pos = 10;
		if (len >> 63)
			return -1;
	}
	/* Control frames: at most 125 bytes and never fragmented (5.5). */
	if (op >= 0x8 && (len > 125 || !fin))
		return -1;
	if (len > max)
		return -1;
	if (n < pos + 4 + len)
		return 0;
	const uint8_t *mask = d + pos;
	pos += 4;
	uint8_t *p = d + pos;
	for (size_t i = 0; i < len; i++)
		p[i] ^= mask[i & 3];
	out->fin = fin;
	out->opcode = op;
	out->payload = p;
	out->len = (size_t)len;
	return (ssize_t)(pos + len);
}

int ws_reader_feed(ws_reader *r, const void *data, size_t n, ws_message_cb cb, void *ud,
                   const bool *stop)
{
	buf_add(&r->in, data, n);
	size_t pos = 0;
	int rc = 0;
	while (pos < r->in.n && !(stop && *stop)) {
		ws_frame f;
		ssize_t k = ws_frame_decode((uint8_t *)r->in.p + pos, r->in.n - pos, WS_MAX_MESSAGE, &f);
		if (k == 0)
			break;
		if (k < 0) {
			rc = -1;
			break;
		}
		pos += (size_t)k;
		if (f.opcode >= 0x8) {
			cb(ud, f.opcode, f.payload, f.len);
			continue;
		}
		if (f.opcode == WS_OP_CONT) {
			if (!r->msg_op || r->msg.n + f.len > WS_MAX_MESSAGE) {
				rc = -1; /* a continuation with no message open, or too big */
				break;
			}
			buf_add(&r->msg, f.payload, f.len);
		} else {
			if (r->msg_op) {
				rc = -1; /* a new message inside a fragmented one */
				break;
			}
			if (f.fin) {
				cb(ud, f.opcode, f.payload, f.len);
				continue;
			}
			r->msg_op = f.opcode;
			buf_reset(&r->msg);
			buf_add(&r->msg, f.payload, f.len);
		}
		if (f.fin) {
			int op = r->msg_op;
			r->msg_op = 0;
			cb(ud, op, (const uint8_t *)r->msg.p, r->msg.n);
		}
	}
	if (stop && *stop)
		return rc;
	if (pos == r->in.n) {
		buf_reset(&r->in);
	} else if (pos > 0) {
		memmove(r->in.p, r->in.p + pos, r->in.n - pos);
		r->in.n -= pos;
	}
	return rc;
}

void ws_reader_free(ws_reader *r)
{
	buf_free(&r->in);
	buf_free(&r->msg);
}

/* ---------- connections ---------- */

struct ws_conn {
	http_conn *conn; /* NULL once the connection is gone */
	ws_ops ops;
	void *ud;
	ws_reader rd;
	bool closed;     /* on_close delivered or pending */
	bool stop;       /* stop decoding (closed while feeding) */
	int depth;       /* inside on_data */
	uv_idle_t *idle; /* defers on_close out of ws_close */
	uv_loop_t *loop;
};

static bool token_in_list(const char *list, const char *tok)
{
	size_t tl = strlen(tok);
	const char *p = list;
	while (p && *p) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		const char *e = p;
		while (*e && *e != ',')
			e++;
		const char *t = e;
		while (t > p && (t[-1] == ' ' || t[-1] == '\t'))
			t--;
		if ((size_t)(t - p) == tl && strncasecmp(p, tok, tl) == 0)
			return true;
		p = e;
	}
	return false;
}

const char *ws_negotiate(const http_req *req, const char *const *protocols, terr **err)
{
	const char *up = http_req_header(req, "upgrade");
	const char *conn = http_req_header(req, "connection");
	const char *key = http_req_header(req, "sec-websocket-key");
	if (!req->conn || strcmp(req->method, "GET") != 0 || !up || strcasecmp(up, "websocket") != 0 ||
	    !conn || !token_in_list(conn, "upgrade") || !key || strlen(key) != 24) {
		terr_bad_request(err, "not a WebSocket handshake");
		return NULL;
	}
	const char *offered = "";
	for (size_t i = 0; i < req->nheaders; i++)
		if (strcmp(req->headers[i].name, "sec-websocket-protocol") == 0) {
			for (size_t j = 0; protocols[j]; j++)
				if (token_in_list(req->headers[i].value, protocols[j]))
					goto found;
			offered = req->headers[i].value;
		}
	terr_bad_request(err, "no supported WebSocket subprotocol offered (%s)", offered);
	return NULL;
found:
	/* Pick by the server's preference, across all the client's headers. */
	for (size_t j = 0; protocols[j]; j++)
		for (size_t i = 0; i < req->nheaders; i++)
			if (strcmp(req->headers[i].name, "sec-websocket-protocol") == 0 &&
			    token_in_list(req->headers[i].value, protocols[j]))
				return protocols[j];
	return NULL;
}

static void ws_free(ws_conn *ws)
{
	ws_reader_free(&ws->rd);
	free(ws);
}

static void deliver_close(ws_conn *ws)
{
	if (ws->ops.on_close)
		ws->ops.on_close(ws->ud, ws);
	ws_free(ws);
}

static void on_idle_close(uv_idle_t *h)
{
	ws_conn *ws = h->data;
	uv_idle_stop(h);
	uv_close((uv_handle_t *)h, (uv_close_cb)free);
	deliver_close(ws);
}

/* Marks ws closed and runs on_close from the loop soon (never inside a caller's call). */
static void schedule_close(ws_conn *ws)
{
	if (ws->closed)
		return;
	ws->closed = true;
	ws->stop = true;
	ws->idle = xmalloc(sizeof *ws->idle);
	uv_idle_init(ws->loop, ws->idle);
	ws->idle->data = ws;
	uv_idle_start(ws->idle, on_idle_close);
}

static void on_msg(void *ud, int op, const uint8_t *data, size_t len)
{
	ws_conn *ws = ud;
	if (ws->closed)
		return;
	switch (op) {
	case WS_OP_PING: {
		buf b = {0};
		ws_frame_encode(&b, WS_OP_PONG, true, data, len, NULL);
		if (ws->conn)
			http_upgrade_write(ws->conn, b.p, b.n);
		buf_free(&b);
		break;
	}
	case WS_OP_PONG:
		break;
	case WS_OP_CLOSE:
		/* RFC 6455 5.5.1: answer a close with a close, then end the connection. */
		ws_close(ws, len >= 2 ? (uint16_t)(data[0] << 8 | data[1]) : 1000);
		break;
	default:
		ws->ops.on_message(ws->ud, ws, op, data, len);
		break;
	}
}

static void on_data(void *ud, const char *data, size_t len)
{
	ws_conn *ws = ud;
	if (ws->closed)
		return;
	ws->depth++;
	int rc = ws_reader_feed(&ws->rd, data, len, on_msg, ws, &ws->stop);
	ws->depth--;
	if (rc < 0 && !ws->closed)
		ws_close(ws, 1002);
}

static void on_conn_close(void *ud)
{
	ws_conn *ws = ud;
	ws->conn = NULL;
	schedule_close(ws);
}

ws_conn *ws_accept(http_req *req, const char *protocol, const ws_ops *ops, void *ud)
{
	char accept[29];
	ws_accept_key(http_req_header(req, "sec-websocket-key"), accept);
	ws_conn *ws = xcalloc(1, sizeof *ws);
	ws->conn = req->conn;
	ws->ops = *ops;
	ws->ud = ud;
	ws->loop = http_conn_loop(req->conn);
	_cleanup_free_ char *hdr = xasprintf("Upgrade: websocket\r\nConnection: Upgrade\r\n"
	                                     "Sec-WebSocket-Accept: %s\r\n"
	                                     "Sec-WebSocket-Protocol: %s\r\n",
	                                     accept, protocol);
	static const http_upgrade_ops up = {.on_data = on_data, .on_close = on_conn_close};
	http_upgrade(req, hdr, &up, ws);
	return ws;
}

int ws_send(ws_conn *ws, int opcode, int prefix, const void *data, size_t len)
{
	if (ws->closed || !ws->conn)
		return -1;
	buf b = {0};
	if (prefix >= 0) {
		/* One frame: the channel byte and the data (copied once into the frame). */
		buf tmp = {0};
		buf_putc(&tmp, (char)prefix);
		buf_add(&tmp, data, len);
		ws_frame_encode(&b, opcode, true, tmp.p, tmp.n, NULL);
		buf_free(&tmp);
	} else {
		ws_frame_encode(&b, opcode, true, data, len, NULL);
	}
	int r = http_upgrade_write(ws->conn, b.p, b.n);
	buf_free(&b);
	return r;
}

size_t ws_queued(const ws_conn *ws)
{
	return ws->conn ? http_conn_queued(ws->conn) : 0;
}

void ws_close(ws_conn *ws, uint16_t code)
{
	if (ws->closed)
		return;
	if (ws->conn) {
		uint8_t c[2] = {(uint8_t)(code >> 8), (uint8_t)code};
		buf b = {0};
		ws_frame_encode(&b, WS_OP_CLOSE, true, c, 2, NULL);
		http_upgrade_write(ws->conn, b.p, b.n);
		buf_free(&b);
		if (ws->conn)
			http_upgrade_close(ws->conn);
		ws->conn = NULL;
	}
	schedule_close(ws);
}
