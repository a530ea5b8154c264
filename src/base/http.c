/* http.c — HTTP/1.1 server connections on libuv, with TLS through OpenSSL memory BIOs.
 *
 * Parsing is Debian's http-parser; this file owns connection state, TLS plumbing, limits
 * and response framing. A connection handles one request at a time: the parser pauses at
 * the end of a message and resumes when the response is finished. Not for: routing,
 * authentication decisions or Kubernetes objects.
 */
#include "base/http.h"

#include <ctype.h>
#include <http_parser.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/util.h"

struct http_server {
	uv_loop_t *loop;
	uv_tcp_t listener;
	bool listening;
	SSL_CTX *ssl_ctx;
	http_handler_cb cb;
	void *ud;
	http_identity_cb identity_cb;
	http_limits limits;
	http_conn *conns;
	size_t nconns;
	bool closing;
	void (*close_cb)(void *ud);
	void *close_ud;
	int pending_closes;
	/* Connections with streamed chunks waiting (http_stream_write), sent together once per
	 * loop iteration by `flush`: one TLS write and one socket write for every event of a
	 * commit instead of one each. */
	uv_check_t flush;
	bool flush_init;
	http_conn *pend_head;
	/* Where TLS output goes on its way to the socket: written from here at once when the
	 * socket takes it, so only what it does not take is copied into a write of its own (a
	 * fresh block per flush cost page faults: the allocator hands large freed blocks back
	 * to the kernel). Allocated at the first flush. */
	char *scratch;
};

struct http_conn {
	uv_tcp_t tcp;
	uv_timer_t timer;
	http_server *srv;
	http_conn *prev, *next;
	int refs;           /* the handles (1 until both closed) + an unfinished request */
	int open_handles;
	bool closing;       /* uv_close requested */
	bool close_after;   /* close once the current response is written */
	SSL *ssl;
	BIO *rbio, *wbio;
	bool handshake_done;
	http_parser parser;
	/* The message being parsed. */
	buf url;
	http_header *hdrs;
	size_t nhdrs;
	buf hname, hval;
	bool in_value;
	buf body;
	int reject;        /* status to answer instead of dispatching (413, 400) */
	bool message_started;
	http_req *ready;   /* parsed, waiting to be dispatched */
	http_req *cur;     /* dispatched, not yet answered */
	/* Plaintext received and not yet fed to the parser (while a request is in flight). */
	buf in;
	size_t in_pos;
	size_t queued;     /* bytes handed to uv_write and not yet written */
	buf pend;          /* streamed chunks not yet handed to TLS or the socket */
	bool pend_listed;  /* on srv->pend_head's list */
	http_conn *pend_next;
	uint64_t discard;  /* body bytes still to swallow after an early 413 */
	char *user;
	char **groups;
	size_t ngroups;
	/* After http_upgrade: the connection's plaintext belongs to these. */
	bool upgraded;
	http_upgrade_ops up_ops;
	void *up_ud;
};

typedef struct write_req {
	uv_write_t w;
	http_conn *conn;
	size_t len;
	char data[];
} write_req;

static void conn_close(http_conn *c);
static void conn_feed(http_conn *c);
static void conn_unref(http_conn *c);

/* ---------- small helpers ---------- */

const char *http_status_text(int status)
{
	switch (status) {
	case 101: return "Switching Protocols";
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 413: return "Request Entity Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Entity";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Unknown";
	}
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

char *http_url_decode(const char *src, size_t n)
{
	char *out = xmalloc(n + 1), *o = out;
	for (size_t i = 0; i < n; i++) {
		if (src[i] == '%') {
			if (i + 2 >= n) {
				free(out);
				return NULL;
			}
			int a = hexval((unsigned char)src[i + 1]), b = hexval((unsigned char)src[i + 2]);
			if (a < 0 || b < 0) {
				free(out);
				return NULL;
			}
			*o++ = (char)(a * 16 + b);
			i += 2;
		} else if (src[i] == '+') {
			*o++ = ' ';
		} else {
			*o++ = src[i];
		}
	}
	*o = 0;
	return out;
}

const char *http_req_header(const http_req *req, const char *name)
{
	for (size_t i = 0; i < req->nheaders; i++)
		if (strcmp(req->headers[i].name, name) == 0)
			return req->headers[i].value;
	return NULL;
}

char *http_req_query(const http_req *req, const char *name)
{
	size_t nl = strlen(name);
	const char *p = req->query;
	while (p && *p) {
		const char *amp = strchr(p, '&');
		size_t len = amp ? (size_t)(amp - p) : strlen(p);
		const char *eq = memchr(p, '=', len);
		size_t klen = eq ? (size_t)(eq - p) : len;
		if (klen == nl && memcmp(p, name, nl) == 0) {
			if (!eq)
				return xstrdup("");
			return http_url_decode(eq + 1, len - klen - 1);
		}
		p = amp ? amp + 1 : NULL;
	}
	return NULL;
}

static void req_free(http_req *r)
{
	if (!r)
		return;
	free(r->method);
	free(r->path);
	free(r->query);
	for (size_t i = 0; i < r->nheaders; i++) {
		free(r->headers[i].name);
		free(r->headers[i].value);
	}
	free(r->headers);
	free(r->body);
	if (r->body_obj && r->body_obj_free)
		r->body_obj_free(r->body_obj);
	free(r);
}

/* ---------- output ---------- */

static void on_written(uv_write_t *w, int status)
{
	write_req *wr = (write_req *)w;
	http_conn *c = wr->conn;
	c->queued -= wr->len;
	free(wr);
	if (status < 0 && !c->closing)
		conn_close(c);
	else if (c->close_after && c->queued == 0 && !c->cur && !c->discard)
		conn_close(c); /* also an upgraded connection its handler closed */
	conn_unref(c);
}

/* Queues wr (taken; its len bytes of data filled) on c's socket. */
static void send_req(http_conn *c, write_req *wr)
{
	size_t len = wr->len;
	wr->conn = c;
	uv_buf_t b = uv_buf_init(wr->data, (unsigned)len);
	c->refs++;
	c->queued += len;
	if (uv_write(&wr->w, (uv_stream_t *)&c->tcp, &b, 1, on_written) < 0) {
		c->queued -= len;
		free(wr);
		c->refs--;
		conn_close(c);
	}
}

#define SCRATCH_SIZE (256u * 1024)

/* Hands n bytes at data to c's socket: written at once as far as the socket takes them when
 * nothing is queued before them, the rest copied into a queued write. */
static void send_bytes(http_conn *c, const char *data, size_t n)
{
	if (c->queued == 0) {
		uv_buf_t b = uv_buf_init((char *)data, (unsigned)n);
		int w = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
		if (w < 0 && w != UV_EAGAIN && w != UV_ENOSYS) {
			conn_close(c);
			return;
		}
		if (w > 0) {
			data += w;
			n -= (size_t)w;
		}
	}
	if (n == 0)
		return;
	write_req *wr = xmalloc(sizeof *wr + n);
	memcpy(wr->data, data, n);
	wr->len = n;
	send_req(c, wr);
}

static void raw_send(http_conn *c, const char *data, size_t len)
{
	if (c->closing || len == 0)
		return;
	send_bytes(c, data, len);
}

/* Moves whatever TLS produced into the socket, through the server's scratch buffer: a burst
 * of records (a watch's events of a loop turn) is one system call per 256 KiB. */
static void flush_tls(http_conn *c)
{
	size_t pending;
	if (!c->srv->scratch)
		c->srv->scratch = xmalloc(SCRATCH_SIZE);
	while ((pending = BIO_ctrl_pending(c->wbio)) > 0) {
		int want = pending > SCRATCH_SIZE ? (int)SCRATCH_SIZE : (int)pending;
		int n = BIO_read(c->wbio, c->srv->scratch, want);
		if (n <= 0)
			return;
		if (c->closing)
			continue; /* drained and dropped, as raw_send drops */
		send_bytes(c, c->srv->scratch, (size_t)n);
	}
}

static void conn_send_now(http_conn *c, const char *data, size_t len)
{
	if (c->closing)
		return;
	if (!c->ssl) {
		raw_send(c, data, len);
		return;
	}
	while (len > 0) {
		int chunk = len > (1 << 30) ? (1 << 30) : (int)len;
		int n = SSL_write(c->ssl, data, chunk);
		if (n <= 0) {
			conn_close(c);
			return;
		}
		data += n;
		len -= (size_t)n;
	}
	flush_tls(c);
}

/* Room a streaming connection keeps between flushes (its chunks of a loop turn grow the
 * buffer again from nothing otherwise: reallocations and fresh pages every turn). */
#define PEND_KEEP (1u << 20)

/* Sends the streamed chunks c holds back. */
static void flush_pending(http_conn *c)
{
	if (!c->pend.n)
		return;
	buf out = c->pend;
	c->pend = (buf){0};
	conn_send_now(c, out.p, out.n); /* copies what it sends */
	if (!c->pend.p && !c->closing && out.cap <= PEND_KEEP) {
		buf_reset(&out);
		c->pend = out;
	} else {
		buf_free(&out);
	}
}

/* Everything sent goes after what a stream held back. */
static void conn_send(http_conn *c, const char *data, size_t len)
{
	flush_pending(c);
	conn_send_now(c, data, len);
}

static void unlist_pending(http_conn *c)
{
	if (!c->pend_listed)
		return;
	for (http_conn **p = &c->srv->pend_head; *p; p = &(*p)->pend_next)
		if (*p == c) {
			*p = c->pend_next;
			break;
		}
	c->pend_listed = false;
}

static void on_flush(uv_check_t *h)
{
	http_server *s = h->data;
	http_conn *list = s->pend_head;
	s->pend_head = NULL;
	uv_check_stop(h);
	while (list) {
		http_conn *c = list;
		list = c->pend_next;
		c->pend_listed = false;
		flush_pending(c);
	}
}

/* ---------- connection lifetime ---------- */

static void conn_free(http_conn *c)
{
	http_server *s = c->srv;
	if (c->prev)
		c->prev->next = c->next;
	else if (s->conns == c)
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->nconns--;
	unlist_pending(c);
	buf_free(&c->pend);
	if (c->ssl)
		SSL_free(c->ssl);
	buf_free(&c->url);
	buf_free(&c->hname);
	buf_free(&c->hval);
	buf_free(&c->body);
	buf_free(&c->in);
	for (size_t i = 0; i < c->nhdrs; i++) {
		free(c->hdrs[i].name);
		free(c->hdrs[i].value);
	}
	free(c->hdrs);
	req_free(c->ready);
	free(c->user);
	for (size_t i = 0; i < c->ngroups; i++)
		free(c->groups[i]);
	free(c->groups);
	free(c);
	if (s->closing && s->nconns == 0 && s->pending_closes == 0 && s->close_cb) {
		void (*cb)(void *) = s->close_cb;
		s->close_cb = NULL;
		cb(s->close_ud);
	}
}

static void conn_unref(http_conn *c)
{
	if (--c->refs == 0)
		conn_free(c);
}

static void on_handle_closed(uv_handle_t *h)
{
	http_conn *c = h->data;
	conn_unref(c);
}

static void conn_close(http_conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	if (c->upgraded) {
		c->upgraded = false;
		if (c->up_ops.on_close)
			c->up_ops.on_close(c->up_ud);
		conn_unref(c);
	}
	if (c->cur && c->cur->streaming) {
		/* k8s: a watch whose client went away is torn down; the handler forgets it. */
		http_req *r = c->cur;
		c->cur = NULL;
		if (r->on_close)
			r->on_close(r);
		req_free(r);
		conn_unref(c);
	}
	uv_timer_stop(&c->timer);
	uv_close((uv_handle_t *)&c->timer, on_handle_closed);
	uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
}

static void on_timeout(uv_timer_t *t)
{
	http_conn *c = t->data;
	if (c->cur)
		return; /* a handler owns the connection */
	conn_close(c);
}

static void arm_timer(http_conn *c)
{
	if (c->closing)
		return;
	uint64_t ms = c->message_started ? c->srv->limits.header_timeout_ms
	                                 : c->srv->limits.idle_timeout_ms;
	uv_timer_start(&c->timer, on_timeout, ms, 0);
}

/* ---------- responses ---------- */

static void finish_request(http_conn *c, http_req *req)
{
	bool keep = !c->close_after;
	c->cur = NULL;
	req_free(req);
	if (!c->closing && keep) {
		http_parser_pause(&c->parser, 0);
		arm_timer(c);
		conn_feed(c);
	} else if (!c->closing && c->queued == 0) {
		conn_close(c);
	}
	conn_unref(c);
}

/* The status line, Content-Type (when ctype) and Cache-Control of a response. */
static void head_start(buf *h, int status, const char *ctype)
{
	buf_puts(h, "HTTP/1.1 ");
	buf_put_u64(h, (unsigned)status);
	buf_putc(h, ' ');
	buf_puts(h, http_status_text(status));
	buf_puts(h, "\r\n");
	if (ctype) {
		buf_puts(h, "Content-Type: ");
		buf_puts(h, ctype);
		buf_puts(h, "\r\n");
	}
	buf_puts(h, "Cache-Control: no-cache, private\r\n");
}

static void send_head(http_conn *c, int status, const char *ctype, long long len,
                      const char *extra)
{
	buf h = {0};
	head_start(&h, status, ctype);
	if (len >= 0) {
		buf_puts(&h, "Content-Length: ");
		buf_put_u64(&h, (uint64_t)len);
		buf_puts(&h, "\r\n");
	} else {
		buf_puts(&h, "Transfer-Encoding: chunked\r\n");
	}
	if (c->close_after)
		buf_puts(&h, "Connection: close\r\n");
	if (extra)
		buf_puts(&h, extra);
	buf_puts(&h, "\r\n");
	conn_send(c, h.p, h.n);
	buf_free(&h);
}

http_req *http_req_internal(const char *method, const char *path, const char *query,
                            const char *const *headers, const char *body, size_t len,
                            const char *user, char **groups, size_t ngroups,
                            void (*cb)(http_req *req, int status, const char *body, size_t len,
                                       void *ud),
                            void *ud)
{
	http_req *r = xcalloc(1, sizeof *r);
	r->method = xstrdup(method);
	r->path = xstrdup(path);
	r->query = xstrdup(query ? query : "");
	for (size_t i = 0; headers && headers[i]; i += 2) {
		r->headers = xrealloc(r->headers, (r->nheaders + 1) * sizeof *r->headers);
		r->headers[r->nheaders].name = xstrdup(headers[i]);
		r->headers[r->nheaders].value = xstrdup(headers[i + 1]);
		r->nheaders++;
	}
	r->body = xstrndup(body ? body : "", body ? len : 0);
	r->body_len = body ? len : 0;
	r->user = (char *)user;
	r->groups = groups;
	r->ngroups = ngroups;
	r->internal_cb = cb;
	r->internal_ud = ud;
	r->start_ns = time_mono_ns();
	return r;
}

bool http_req_takes_obj(const http_req *req)
{
	return !req->conn && req->internal_obj_cb;
}

void http_respond_obj(http_req *req, int status, void *obj)
{
	req->internal_obj_cb(req, status, obj, req->internal_ud);
	req_free(req);
}

void http_respond(http_req *req, int status, const char *content_type, const char *body,
                  size_t len, const char *extra_headers)
{
	http_conn *c = req->conn;
	if (!c) {
		req->internal_cb(req, status, body, len, req->internal_ud);
		req_free(req);
		return;
	}
	if (!c->closing) {
		/* One write for head and body keeps small responses in one TLS record. */
		buf out = {0};
		buf_reserve(&out, 256 + len + (extra_headers ? strlen(extra_headers) : 0));
		head_start(&out, status, content_type);
		buf_puts(&out, "Content-Length: ");
		buf_put_u64(&out, len);
		buf_puts(&out, "\r\n");
		if (c->close_after)
			buf_puts(&out, "Connection: close\r\n");
		if (extra_headers)
			buf_puts(&out, extra_headers);
		buf_puts(&out, "\r\n");
		buf_add(&out, body, len);
		conn_send(c, out.p, out.n);
		buf_free(&out);
	}
	finish_request(c, req);
}

void http_stream_begin(http_req *req, int status, const char *content_type)
{
	http_conn *c = req->conn;
	req->streaming = true;
	uv_timer_stop(&c->timer);
	send_head(c, status, content_type, -1, NULL);
}

int http_stream_write(http_req *req, const char *data, size_t len)
{
	http_conn *c = req->conn;
	if (c->closing)
		return -1;
	if (c->queued + c->pend.n > c->srv->limits.max_queued_output) {
		log_info("http: dropping a slow reader with %zu bytes queued", c->queued + c->pend.n);
		conn_close(c);
		return -1;
	}
	/* the chunk size in hex, without leading zeros */
	char hx[17], head[24];
	fmt_hex64(hx, len);
	size_t z = 0;
	while (z < 15 && hx[z] == '0')
		z++;
	int n = (int)str_put(head, sizeof head, hx + z);
	n += (int)str_put(head + n, sizeof head - (size_t)n, "\r\n");
	buf_reserve(&c->pend, (size_t)n + len + 2);
	buf_add(&c->pend, head, (size_t)n);
	buf_add(&c->pend, data, len);
	buf_add(&c->pend, "\r\n", 2);
	http_server *s = c->srv;
	if (!c->pend_listed) {
		c->pend_listed = true;
		c->pend_next = s->pend_head;
		s->pend_head = c;
	}
	if (!s->flush_init) {
		uv_check_init(s->loop, &s->flush);
		s->flush.data = s;
		s->flush_init = true;
	}
	if (!uv_is_active((uv_handle_t *)&s->flush))
		uv_check_start(&s->flush, on_flush);
	return 0;
}

void http_stream_end(http_req *req)
{
	http_conn *c = req->conn;
	conn_send(c, "0\r\n\r\n", 5);
	finish_request(c, req);
}

size_t http_req_queued(const http_req *req)
{
	return req->conn->queued;
}

void http_upgrade(http_req *req, const char *extra_headers, const http_upgrade_ops *ops,
                  void *ud)
{
	http_conn *c = req->conn;
	buf h = {0};
	buf_puts(&h, "HTTP/1.1 101 Switching Protocols\r\n");
	if (extra_headers)
		buf_puts(&h, extra_headers);
	buf_puts(&h, "\r\n");
	conn_send(c, h.p, h.n);
	buf_free(&h);
	uv_timer_stop(&c->timer);
	c->cur = NULL;
	req_free(req);
	if (c->closing) {
		/* The request's reference goes; the handler hears of the close at once. */
		if (ops->on_close)
			ops->on_close(ud);
		conn_unref(c);
		return;
	}
	/* The request's reference becomes the upgrade's, dropped by conn_close. */
	c->upgraded = true;
	c->up_ops = *ops;
	c->up_ud = ud;
	c->close_after = false;
	if (c->in_pos < c->in.n) {
		/* Bytes the client sent right after its request head are the new protocol's. */
		buf rest = c->in;
		size_t pos = c->in_pos;
		c->in = (buf){0};
		c->in_pos = 0;
		ops->on_data(ud, rest.p + pos, rest.n - pos);
		buf_free(&rest);
	}
}

int http_upgrade_write(http_conn *c, const void *data, size_t len)
{
	if (c->closing || !c->upgraded)
		return -1;
	if (c->queued > c->srv->limits.max_queued_output) {
		log_info("http: dropping a slow upgraded peer with %zu bytes queued", c->queued);
		conn_close(c);
		return -1;
	}
	conn_send(c, data, len);
	return c->closing ? -1 : 0;
}

uv_loop_t *http_conn_loop(http_conn *c)
{
	return c->srv->loop;
}

size_t http_conn_queued(const http_conn *c)
{
	return c->queued;
}

void http_upgrade_close(http_conn *c)
{
	if (c->closing)
		return;
	/* The handler asked for the close: it does not hear about it again. */
	c->up_ops.on_close = NULL;
	c->up_ops.on_data = NULL;
	if (c->queued == 0) {
		conn_close(c);
		return;
	}
	/* Let queued output reach the peer first; on_written closes when it drains. */
	c->close_after = true;
}

static void respond_status_raw(http_conn *c, int code, const char *reason, const char *msg)
{
	buf b = {0};
	buf_puts(&b, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":");
	buf_json_str(&b, msg, strlen(msg));
	buf_printf(&b, ",\"reason\":\"%s\",\"code\":%d}", reason, code);
	c->close_after = true;
	send_head(c, code, "application/json", (long long)b.n, NULL);
	conn_send(c, b.p, b.n);
	buf_free(&b);
}

/* ---------- parsing ---------- */

static void header_done(http_conn *c)
{
	if (!c->in_value || c->hname.n == 0)
		return;
	c->hdrs = xrealloc(c->hdrs, (c->nhdrs + 1) * sizeof *c->hdrs);
	for (size_t i = 0; i < c->hname.n; i++)
		c->hname.p[i] = (char)tolower((unsigned char)c->hname.p[i]);
	c->hdrs[c->nhdrs].name = buf_take(&c->hname);
	c->hdrs[c->nhdrs].value = buf_take(&c->hval);
	c->nhdrs++;
	c->in_value = false;
}

static int on_message_begin(http_parser *p)
{
	http_conn *c = p->data;
	c->message_started = true;
	buf_reset(&c->url);
	buf_reset(&c->body);
	c->reject = 0;
	return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
	http_conn *c = p->data;
	if (c->url.n + len > 64 * 1024) {
		c->reject = 414;
		return 1;
	}
	buf_add(&c->url, at, len);
	return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
	http_conn *c = p->data;
	if (c->in_value)
		header_done(c);
	if (c->nhdrs > 200) {
		c->reject = 431;
		return 1;
	}
	buf_add(&c->hname, at, len);
	return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
	http_conn *c = p->data;
	c->in_value = true;
	buf_add(&c->hval, at, len);
	return 0;
}

static int on_headers_complete(http_parser *p)
{
	http_conn *c = p->data;
	header_done(c);
	/* k8s: request bodies over the limit are refused with 413 before they are read. */
	if ((p->flags & F_CONTENTLENGTH) && p->content_length > c->srv->limits.max_body) {
		c->reject = 413;
		/* Swallow the rest of a body up to 32 MiB so the client reads our answer
		 * instead of a reset while it is still sending. */
		if (p->content_length <= 32u << 20)
			c->discard = p->content_length;
		return -1; /* http-parser: 1 and 2 mean "skip the body", anything else fails */
	}
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
	http_conn *c = p->data;
	if (c->body.n + len > c->srv->limits.max_body) {
		c->reject = 413;
		return 1;
	}
	buf_add(&c->body, at, len);
	return 0;
}

static int on_message_complete(http_parser *p)
{
	http_conn *c = p->data;
	http_req *r = xcalloc(1, sizeof *r);
	r->conn = c;
	r->method = xstrdup(http_method_str((enum http_method)p->method));
	const char *u = c->url.p ? c->url.p : "/";
	const char *q = strchr(u, '?');
	size_t plen = q ? (size_t)(q - u) : strlen(u);
	r->path = http_url_decode(u, plen);
	if (!r->path)
		r->path = xstrndup(u, plen);
	r->query = xstrdup(q ? q + 1 : "");
	r->headers = c->hdrs;
	r->nheaders = c->nhdrs;
	c->hdrs = NULL;
	c->nhdrs = 0;
	r->body_len = c->body.n;
	r->body = buf_take(&c->body);
	r->start_ns = time_mono_ns();
	r->user = c->user;
	r->groups = c->groups;
	r->ngroups = c->ngroups;
	c->ready = r;
	c->message_started = false;
	/* An upgrade request that is answered without switching ends the connection: what
	 * follows its head is not HTTP. */
	if (!http_should_keep_alive(p) || p->upgrade)
		c->close_after = true;
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings parser_settings = {
	.on_message_begin = on_message_begin,
	.on_url = on_url,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

static void dispatch(http_conn *c)
{
	http_req *r = c->ready;
	c->ready = NULL;
	c->cur = r;
	c->refs++;
	uv_timer_stop(&c->timer);
	c->srv->cb(r, c->srv->ud);
}

/* Feeds buffered plaintext to the parser until a request is ready or input runs out. */
static void conn_feed(http_conn *c)
{
	while (!c->closing && !c->cur && c->in_pos < c->in.n) {
		size_t avail = c->in.n - c->in_pos;
		size_t n = http_parser_execute(&c->parser, &parser_settings, c->in.p + c->in_pos, avail);
		c->in_pos += n;
		enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
		if (c->ready) {
			dispatch(c);
			continue;
		}
		if (e != HPE_OK && e != HPE_PAUSED) {
			if (c->reject == 413) {
				respond_status_raw(c, 413, "RequestEntityTooLarge",
				                   "the request body is larger than the 3 MiB limit");
				size_t rest = c->in.n - c->in_pos;
				c->discard = c->discard > rest ? c->discard - rest : 0;
				c->in.n = c->in_pos = 0;
				if (c->discard)
					return;
			}
			else if (c->reject == 414 || c->reject == 431)
				respond_status_raw(c, c->reject == 414 ? 400 : 431, "BadRequest",
				                   "request line or headers too large");
			else
				respond_status_raw(c, 400, "BadRequest",
				                   http_errno_description(e));
			c->in.n = c->in_pos = 0;
			if (c->queued == 0)
				conn_close(c);
			return;
		}
		if (n == 0)
			break;
	}
	if (c->in_pos == c->in.n) {
		/* Nothing buffered: give the memory back (most connections sit idle). */
		buf_free(&c->in);
		c->in_pos = 0;
	} else if (c->in_pos > 65536) {
		memmove(c->in.p, c->in.p + c->in_pos, c->in.n - c->in_pos);
		c->in.n -= c->in_pos;
		c->in_pos = 0;
	}
}

static void on_plaintext(http_conn *c, const char *data, size_t len)
{
	if (c->upgraded) {
		if (c->up_ops.on_data)
			c->up_ops.on_data(c->up_ud, data, len);
		return;
	}
	if (c->discard) {
		size_t n = len < c->discard ? len : (size_t)c->discard;
		c->discard -= n;
		if (!c->discard && c->queued == 0)
			conn_close(c);
		return;
	}
	/* A client that keeps sending while its request is being answered is bounded too. */
	if (c->in.n - c->in_pos + len > c->srv->limits.max_body + 256 * 1024) {
		conn_close(c);
		return;
	}
	buf_add(&c->in, data, len);
	if (!c->cur)
		arm_timer(c);
	conn_feed(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	static char slab[65536];
	UNUSED(h);
	UNUSED(suggested);
	*b = uv_buf_init(slab, sizeof slab);
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *b)
{
	http_conn *c = st->data;
	if (nread < 0) {
		conn_close(c);
		return;
	}
	if (nread == 0)
		return;
	if (!c->ssl) {
		on_plaintext(c, b->base, (size_t)nread);
		return;
	}
	BIO_write(c->rbio, b->base, (int)nread);
	if (!c->handshake_done) {
		int r = SSL_do_handshake(c->ssl);
		flush_tls(c);
		if (r != 1) {
			int e = SSL_get_error(c->ssl, r);
			if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
				ERR_clear_error();
				conn_close(c);
			}
			return;
		}
		c->handshake_done = true;
		if (c->srv->identity_cb)
			c->srv->identity_cb(c->ssl, &c->user, &c->groups, &c->ngroups);
	}
	char tmp[16384];
	for (;;) {
		int n = SSL_read(c->ssl, tmp, sizeof tmp);
		if (n > 0) {
			on_plaintext(c, tmp, (size_t)n);
			if (c->closing)
				return;
			continue;
		}
		int e = SSL_get_error(c->ssl, n);
		if (e == SSL_ERROR_WANT_READ)
			break;
		ERR_clear_error();
		conn_close(c);
		return;
	}
	flush_tls(c);
}

static void on_connection(uv_stream_t *ls, int status)
{
	http_server *s = ls->data;
	if (status < 0)
		return;
	http_conn *c = xcalloc(1, sizeof *c);
	c->srv = s;
	uv_tcp_init(s->loop, &c->tcp);
	uv_timer_init(s->loop, &c->timer);
	c->tcp.data = c->timer.data = c;
	c->refs = 2; /* the tcp and timer handles */
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->nconns++;
	if (uv_accept(ls, (uv_stream_t *)&c->tcp) < 0 || s->closing ||
	    s->nconns > s->limits.max_conns) {
		conn_close(c);
		return;
	}
	uv_tcp_nodelay(&c->tcp, 1);
	http_parser_init(&c->parser, HTTP_REQUEST);
	c->parser.data = c;
	if (s->ssl_ctx) {
		c->ssl = SSL_new(s->ssl_ctx);
		c->rbio = BIO_new(BIO_s_mem());
		c->wbio = BIO_new(BIO_s_mem());
		BIO_set_mem_eof_return(c->rbio, -1);
		SSL_set_bio(c->ssl, c->rbio, c->wbio);
		SSL_set_accept_state(c->ssl);
	}
	arm_timer(c);
	uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

/* ---------- server ---------- */

http_server *http_server_new(uv_loop_t *loop, SSL_CTX *ssl_ctx, http_handler_cb cb, void *ud)
{
	http_server *s = xcalloc(1, sizeof *s);
	s->loop = loop;
	s->ssl_ctx = ssl_ctx;
	s->cb = cb;
	s->ud = ud;
	s->limits = (http_limits){
		.max_body = 3 * 1024 * 1024,
		.max_conns = 20000,
		.max_queued_output = 16 * 1024 * 1024,
		.header_timeout_ms = 60 * 1000,
		.idle_timeout_ms = 5 * 60 * 1000,
	};
	return s;
}

void http_server_set_identity_cb(http_server *s, http_identity_cb cb)
{
	s->identity_cb = cb;
}

http_limits *http_server_limits(http_server *s)
{
	return &s->limits;
}

int http_server_listen(http_server *s, const char *addr, int port, terr **err)
{
	struct sockaddr_storage sa;
	if (uv_ip4_addr(addr, port, (struct sockaddr_in *)&sa) != 0 &&
	    uv_ip6_addr(addr, port, (struct sockaddr_in6 *)&sa) != 0)
		return terr_bad_request(err, "invalid bind address %s", addr);
	uv_tcp_init(s->loop, &s->listener);
	s->listener.data = s;
	s->listening = true;
	int r = uv_tcp_bind(&s->listener, (struct sockaddr *)&sa, 0);
	if (r == 0)
		r = uv_listen((uv_stream_t *)&s->listener, 4096, on_connection);
	if (r < 0)
		return terr_internal(err, "listen on %s:%d: %s", addr, port, uv_strerror(r));
	return 0;
}

int http_server_port(http_server *s)
{
	struct sockaddr_storage sa;
	int len = sizeof sa;
	if (!s->listening || uv_tcp_getsockname(&s->listener, (struct sockaddr *)&sa, &len) < 0)
		return -1;
	if (sa.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&sa)->sin_port);
	return ntohs(((struct sockaddr_in6 *)&sa)->sin6_port);
}

static void on_listener_closed(uv_handle_t *h)
{
	http_server *s = h->data;
	s->pending_closes--;
	if (s->nconns == 0 && s->pending_closes == 0 && s->close_cb) {
		void (*cb)(void *) = s->close_cb;
		s->close_cb = NULL;
		cb(s->close_ud);
	}
}

void http_server_close(http_server *s, void (*cb)(void *ud), void *ud)
{
	s->closing = true;
	s->close_cb = cb;
	s->close_ud = ud;
	if (s->listening) {
		s->pending_closes++;
		uv_close((uv_handle_t *)&s->listener, on_listener_closed);
		s->listening = false;
	}
	if (s->flush_init) {
		s->flush_init = false;
		s->pending_closes++;
		uv_close((uv_handle_t *)&s->flush, on_listener_closed);
	}
	for (http_conn *c = s->conns; c; c = c->next)
		conn_close(c);
	if (s->nconns == 0 && s->pending_closes == 0 && s->close_cb) {
		s->close_cb = NULL;
		cb(ud);
	}
}

void http_server_free(http_server *s)
{
	free(s->scratch);
	free(s);
}
