/* ingress_upstream.c — the ingress proxy's backend side: connections to endpoints, a
 * keep-alive pool per endpoint address, the response parser that streams a response to
 * its client (re-framed: chunked to HTTP/1.1 clients when the backend gives no length),
 * and the failures: refused or reset before a response → 502 (a request without a body
 * that met a stale pooled connection is sent once more on a fresh one), no response
 * headers within the timeout → 504, cut mid-response → the client connection is cut.
 * Not for: the client side (ingress_proxy.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"
#include "base/util.h"
#include "proxy/ingress-internal.h"

typedef struct pool_list {
	char key[32];
	ing_upstream *head;
} pool_list;

typedef struct up_write {
	uv_write_t w;
	ing_upstream *up;
	size_t len;
	char data[];
} up_write;

static const http_parser_settings resp_settings;
static ing_upstream *upstream_new(ingress_proxy *px, const struct sockaddr_in *dst);

/* ---------- lifetime ---------- */

static void up_unref(ing_upstream *up)
{
	if (--up->refs > 0)
		return;
	ingress_proxy *px = up->px;
	if (up->prev)
		up->prev->next = up->next;
	else if (px->ups == up)
		px->ups = up->next;
	if (up->next)
		up->next->prev = up->prev;
	buf_free(&up->pending);
	buf_free(&up->fname);
	buf_free(&up->fval);
	buf_free(&up->head);
	free(up);
	ing_proxy_maybe_free(px);
}

static void on_up_closed(uv_handle_t *h)
{
	up_unref(h->data);
}

static void pool_unlink(ing_upstream *up)
{
	if (!up->in_pool)
		return;
	pool_list *l = hmap_get(&up->px->pool, up->key);
	for (ing_upstream **pp = l ? &l->head : NULL; pp && *pp; pp = &(*pp)->pool_next) {
		if (*pp == up) {
			*pp = up->pool_next;
			break;
		}
	}
	up->in_pool = false;
	up->pool_next = NULL;
	up->px->nidle--;
}

void ing_upstream_close(ing_upstream *up)
{
	if (up->closing)
		return;
	up->closing = true;
	pool_unlink(up);
	if (up->cl && up->cl->up == up)
		up->cl->up = NULL;
	up->cl = NULL;
	uv_close((uv_handle_t *)&up->tcp, on_up_closed);
	uv_close((uv_handle_t *)&up->timer, on_up_closed);
}

static void on_pool_timeout(uv_timer_t *t)
{
	ing_upstream *up = t->data;
	if (!up->cl)
		ing_upstream_close(up);
}

void ing_upstream_release(ing_upstream *up, bool reusable)
{
	ingress_proxy *px = up->px;
	up->cl = NULL;
	if (!reusable || !up->connected || up->closing || px->stopping ||
	    px->nidle >= INGRESS_POOL_MAX) {
		ing_upstream_close(up);
		return;
	}
	pool_list *l = hmap_get(&px->pool, up->key);
	if (!l) {
		l = xcalloc(1, sizeof *l);
		memcpy(l->key, up->key, sizeof l->key);
		hmap_put(&px->pool, l->key, l);
	}
	up->pool_next = l->head;
	l->head = up;
	up->in_pool = true;
	px->nidle++;
	uv_timer_start(&up->timer, on_pool_timeout, INGRESS_POOL_IDLE_MS, 0);
	ing_upstream_sync_read(up); /* to notice the backend closing it */
}

/* ---------- failures ---------- */

static void up_fail(ing_upstream *up, const char *why)
{
	ing_client *cl = up->cl;
	if (!cl) {
		ing_upstream_close(up);
		return;
	}
	log_debug("ingress: backend %s: %s", up->key, why);
	if (!up->got_any && up->reused && cl->replay.n && !cl->retried) {
		/* k8s-independent HTTP: a pooled connection the backend closed meanwhile; the
		 * request (no body) is safe to send once more on a new connection. */
		cl->retried = true;
		cl->up = NULL;
		ing_upstream_close(up);
		ing_upstream *fresh = upstream_new(cl->px, &cl->dst);
		fresh->cl = cl;
		http_parser_init(&fresh->parser, HTTP_RESPONSE);
		fresh->parser.data = fresh;
		cl->up = fresh;
		ing_upstream_send(fresh, cl->replay.p, cl->replay.n);
		ing_upstream_arm(fresh); /* flushed once connected */
		return;
	}
	if (up->got_headers)
		ing_client_close(cl); /* cut mid-response: so is the client's */
	else
		ing_client_respond_local(cl, 502);
	ing_upstream_close(up);
}

static void on_response_timeout(uv_timer_t *t)
{
	ing_upstream *up = t->data;
	ing_client *cl = up->cl;
	if (!cl || up->got_headers) {
		if (!cl)
			ing_upstream_close(up);
		return;
	}
	log_debug("ingress: backend %s: no response in time", up->key);
	ing_client_respond_local(cl, 504);
	ing_upstream_close(up);
}

void ing_upstream_arm(ing_upstream *up)
{
	/* A connect that failed at once reports from its own zero timer (upstream_new). */
	if (!up->closing && !up->connect_failed)
		uv_timer_start(&up->timer, on_response_timeout, up->px->timeout_ms, 0);
}

/* ---------- output ---------- */

static void on_up_written(uv_write_t *w, int status)
{
	up_write *wr = (up_write *)w;
	ing_upstream *up = wr->up;
	up->queued -= wr->len;
	free(wr);
	if (status < 0 && !up->closing)
		up_fail(up, uv_strerror(status));
	else if (up->cl && up->queued < INGRESS_HIGH_WATER / 2)
		ing_client_sync_read(up->cl);
	up_unref(up);
}

static void raw_write(ing_upstream *up, const char *data, size_t len)
{
	uv_buf_t tb = uv_buf_init((char *)data, (unsigned)len); /* see ingress_proxy.c */
	int n = uv_try_write((uv_stream_t *)&up->tcp, &tb, 1);
	if (n == (int)len)
		return;
	if (n < 0 && n != UV_EAGAIN) {
		up_fail(up, uv_strerror(n));
		return;
	}
	if (n > 0) {
		data += n;
		len -= (size_t)n;
	}
	up_write *wr = xmalloc(sizeof *wr + len);
	memcpy(wr->data, data, len);
	wr->up = up;
	wr->len = len;
	uv_buf_t b = uv_buf_init(wr->data, (unsigned)len);
	up->refs++;
	up->queued += len;
	int r = uv_write(&wr->w, (uv_stream_t *)&up->tcp, &b, 1, on_up_written);
	if (r < 0) {
		up->queued -= len;
		up->refs--;
		free(wr);
		up_fail(up, uv_strerror(r));
	}
}

void ing_upstream_send(ing_upstream *up, const char *data, size_t len)
{
	if (up->closing || !len)
		return;
	buf_add(&up->pending, data, len);
	up->queued += len; /* counts against the high-water mark too */
}

void ing_upstream_flush(ing_upstream *up)
{
	if (up->closing || !up->connected || !up->pending.n)
		return;
	up->queued -= up->pending.n;
	raw_write(up, up->pending.p, up->pending.n);
	buf_reset(&up->pending);
}

/* ---------- input ---------- */

static char read_buf[INGRESS_READ_SIZE]; /* see ingress_proxy.c's */

static void on_up_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	UNUSED(h);
	UNUSED(suggested);
	b->base = read_buf;
	b->len = sizeof read_buf;
}

static void on_up_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *b)
{
	ing_upstream *up = st->data;
	if (nread == 0 || up->closing) {
		return;
	}
	if (nread < 0) {
		ing_client *cl = up->cl;
		if (cl && up->got_headers) {
			/* A body delimited by the connection's end ends here (on_r_complete). */
			http_parser_execute(&up->parser, &resp_settings, NULL, 0);
			ing_client_flush(cl);
			if (up->closing || up->cl != cl)
				return;
		}
		up_fail(up, nread == UV_EOF ? "closed" : uv_strerror((int)nread));
		return;
	}
	up->got_any = true;
	ing_client *cl = up->cl;
	if (!cl) { /* idle in the pool: nothing may arrive */
		ing_upstream_close(up);
		return;
	}
	size_t n = http_parser_execute(&up->parser, &resp_settings, b->base, (size_t)nread);
	enum http_errno e = HTTP_PARSER_ERRNO(&up->parser);
	if (up->closing || up->cl != cl) {
		ing_client_flush(cl);
		return;
	}
	if (e == HPE_PAUSED) { /* the response is complete */
		bool reusable = http_should_keep_alive(&up->parser) && !up->close_delimited &&
		                n == (size_t)nread && cl->req_done;
		cl->up = NULL;
		ing_upstream_release(up, reusable);
		ing_client_response_done(cl);
		ing_client_flush(cl);
		return;
	}
	if (e != HPE_OK) {
		up_fail(up, http_errno_description(e));
		return;
	}
	ing_client_flush(cl);
	ing_upstream_sync_read(up);
}

void ing_upstream_sync_read(ing_upstream *up)
{
	if (up->closing || !up->connected)
		return;
	bool want = up->in_pool || (up->cl && up->cl->queued + up->cl->out.n < INGRESS_HIGH_WATER);
	if (want && !up->reading)
		up->reading = uv_read_start((uv_stream_t *)&up->tcp, on_up_alloc, on_up_read) == 0;
	else if (!want && up->reading) {
		uv_read_stop((uv_stream_t *)&up->tcp);
		up->reading = false;
	}
}

/* ---------- the response ---------- */

static bool dropped_response_header(const char *n)
{
	static const char *const names[] = {"connection", "keep-alive", "proxy-connection",
	                                    "te",         "trailer",    "transfer-encoding",
	                                    "upgrade"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcasecmp(n, names[i]) == 0)
			return true;
	return false;
}

static void finish_header(ing_upstream *up)
{
	if (up->hstate != 2)
		return;
	up->hstate = 0;
	if (up->fname.p && !dropped_response_header(up->fname.p)) {
		buf_add(&up->head, up->fname.p, up->fname.n);
		buf_puts(&up->head, ": ");
		buf_add(&up->head, up->fval.p ? up->fval.p : "", up->fval.n);
		buf_puts(&up->head, "\r\n");
	}
	buf_reset(&up->fname);
	buf_reset(&up->fval);
}

static int on_r_begin(http_parser *p)
{
	ing_upstream *up = p->data;
	buf_reset(&up->head);
	buf_reset(&up->fname);
	buf_reset(&up->fval);
	up->hstate = 0;
	return 0;
}

static int on_r_field(http_parser *p, const char *at, size_t len)
{
	ing_upstream *up = p->data;
	finish_header(up);
	up->hstate = 1;
	buf_add(&up->fname, at, len);
	return 0;
}

static int on_r_value(http_parser *p, const char *at, size_t len)
{
	ing_upstream *up = p->data;
	up->hstate = 2;
	buf_add(&up->fval, at, len);
	return 0;
}

static int on_r_headers_complete(http_parser *p)
{
	ing_upstream *up = p->data;
	ing_client *cl = up->cl;
	finish_header(up);
	int status = p->status_code;
	if (status / 100 == 1) { /* interim (the request's Expect was answered by us) */
		up->interim = true;
		return 0;
	}
	uv_timer_stop(&up->timer);
	up->got_headers = true;
	bool nobody = cl->is_head || status == 204 || status == 304;
	bool has_len = !(p->flags & F_CHUNKED) && p->content_length != ULLONG_MAX;
	up->chunk_out = false;
	up->close_delimited = !nobody && !has_len && !(p->flags & F_CHUNKED);
	buf h = {0};
	char code[4] = {(char)('0' + status / 100 % 10), (char)('0' + status / 10 % 10),
	                (char)('0' + status % 10), 0};
	buf_puts(&h, "HTTP/1.1 ");
	buf_puts(&h, code);
	buf_putc(&h, ' ');
	buf_puts(&h, ing_reason(status));
	buf_puts(&h, "\r\n");
	buf_add(&h, up->head.p, up->head.n);
	if (!nobody && !has_len) {
		if (cl->parser.http_major == 1 && cl->parser.http_minor >= 1) {
			up->chunk_out = true;
			buf_puts(&h, "Transfer-Encoding: chunked\r\n");
		} else {
			cl->close_after = true; /* an HTTP/1.0 client reads to the end */
		}
	}
	if (!cl->keepalive || cl->close_after)
		buf_puts(&h, "Connection: close\r\n");
	buf_puts(&h, "\r\n");
	cl->status = status;
	cl->resp_state = 1;
	ing_client_send(cl, h.p, h.n);
	buf_free(&h);
	return cl->is_head ? 1 : 0; /* 1: no body follows a HEAD response */
}

static int on_r_body(http_parser *p, const char *at, size_t len)
{
	ing_upstream *up = p->data;
	ing_client *cl = up->cl;
	if (up->interim || !cl)
		return 0;
	if (up->chunk_out) {
		char line[24];
		int n = snprintf(line, sizeof line, "%zx\r\n", len);
		ing_client_send(cl, line, (size_t)n);
		ing_client_send(cl, at, len);
		ing_client_send(cl, "\r\n", 2);
	} else {
		ing_client_send(cl, at, len);
	}
	return 0;
}

static int on_r_complete(http_parser *p)
{
	ing_upstream *up = p->data;
	if (up->interim) {
		up->interim = false;
		return 0;
	}
	if (up->chunk_out && up->cl)
		ing_client_send(up->cl, "0\r\n\r\n", 5);
	if (up->close_delimited && up->cl) {
		/* Ended by EOF (execute with no data): done here, the connection goes. */
		ing_client *cl = up->cl;
		cl->up = NULL;
		ing_upstream_close(up);
		ing_client_response_done(cl);
		return 0;
	}
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings resp_settings = {
    .on_message_begin = on_r_begin,
    .on_header_field = on_r_field,
    .on_header_value = on_r_value,
    .on_headers_complete = on_r_headers_complete,
    .on_body = on_r_body,
    .on_message_complete = on_r_complete,
};

/* ---------- connecting ---------- */

static void on_connect(uv_connect_t *req, int status)
{
	ing_upstream *up = req->data;
	if (up->closing) {
		up_unref(up);
		return;
	}
	if (status < 0) {
		up_fail(up, uv_strerror(status));
		up_unref(up);
		return;
	}
	up->connected = true;
	uv_tcp_nodelay(&up->tcp, 1);
	ing_upstream_flush(up);
	ing_upstream_sync_read(up);
	up_unref(up);
}

static void on_connect_failed(uv_timer_t *t)
{
	up_fail(t->data, "cannot connect");
}

static ing_upstream *upstream_new(ingress_proxy *px, const struct sockaddr_in *dst)
{
	ing_upstream *up = xcalloc(1, sizeof *up);
	up->px = px;
	uv_ip4_name(dst, up->key, sizeof up->key);
	size_t n = strlen(up->key);
	snprintf(up->key + n, sizeof up->key - n, ":%d", ntohs(dst->sin_port));
	uv_tcp_init(px->loop, &up->tcp);
	uv_timer_init(px->loop, &up->timer);
	up->tcp.data = up->timer.data = up->connect.data = up;
	up->refs = 3; /* tcp, timer, the connect request */
	up->next = px->ups;
	if (px->ups)
		px->ups->prev = up;
	px->ups = up;
	if (uv_tcp_connect(&up->connect, &up->tcp, (const struct sockaddr *)dst, on_connect) < 0) {
		up->refs--;
		up->connect_failed = true;
		/* Reported from the loop, not from inside the caller's parser callback. */
		uv_timer_start(&up->timer, on_connect_failed, 0, 0);
	}
	return up;
}

ing_upstream *ing_upstream_get(ingress_proxy *px, const struct sockaddr_in *dst, ing_client *cl)
{
	char key[32];
	uv_ip4_name(dst, key, sizeof key);
	size_t n = strlen(key);
	snprintf(key + n, sizeof key - n, ":%d", ntohs(dst->sin_port));
	pool_list *l = hmap_get(&px->pool, key);
	ing_upstream *up = l ? l->head : NULL;
	if (up) {
		pool_unlink(up);
		uv_timer_stop(&up->timer);
		up->reused = true;
	} else {
		up = upstream_new(px, dst);
	}
	up->cl = cl;
	up->got_any = up->got_headers = up->interim = up->chunk_out = up->close_delimited = false;
	http_parser_init(&up->parser, HTTP_RESPONSE);
	up->parser.data = up;
	return up;
}
