/* ingress_proxy.c — the ingress proxy's listeners and client side: HTTP/1.1 with
 * keep-alive (plain, and TLS with the certificate picked by SNI), one request at a time
 * per connection (a pipelined request waits for the previous response), routing through
 * the current table, X-Forwarded-* headers, local answers (404 no rule, 503 no ready
 * endpoint, 502/504 from the upstream side), per-route metrics, and the metrics port.
 * Streaming both ways with bounded buffers: a side whose peer has INGRESS_HIGH_WATER
 * bytes queued stops reading until they drain. Loop thread only.
 * Not for: backend connections and the pool (ingress_upstream.c), matching
 * (ingress_routes.c).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"
#include "base/util.h"
#include "proxy/ingress-internal.h"

typedef struct write_req {
	uv_write_t w;
	ing_client *cl;
	size_t len;
	char data[];
} write_req;

static const http_parser_settings req_settings;

const char *ing_reason(int status)
{
	switch (status) {
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	}
	const char *t = http_status_text(status);
	return t && strcmp(t, "Unknown") != 0 ? t : "";
}

/* ---------- lifetime ---------- */

static void client_free(ing_client *cl)
{
	ingress_proxy *px = cl->px;
	if (cl->prev)
		cl->prev->next = cl->next;
	else if (px->clients == cl)
		px->clients = cl->next;
	if (cl->next)
		cl->next->prev = cl->prev;
	if (cl->ssl)
		SSL_free(cl->ssl); /* frees the BIOs */
	buf_free(&cl->in);
	buf_free(&cl->out);
	buf_free(&cl->url);
	buf_free(&cl->head);
	buf_free(&cl->fname);
	buf_free(&cl->fval);
	buf_free(&cl->replay);
	free(cl->host);
	free(cl);
	ing_proxy_maybe_free(px);
}

static void client_unref(ing_client *cl)
{
	if (--cl->refs == 0)
		client_free(cl);
}

static void on_client_handle_closed(uv_handle_t *h)
{
	client_unref(h->data);
}

void ing_client_close(ing_client *cl)
{
	if (cl->closing)
		return;
	cl->closing = true;
	if (cl->up) {
		ing_upstream *up = cl->up;
		cl->up = NULL;
		ing_upstream_release(up, false);
	}
	uv_close((uv_handle_t *)&cl->tcp, on_client_handle_closed);
	uv_close((uv_handle_t *)&cl->timer, on_client_handle_closed);
}

static void on_idle_timeout(uv_timer_t *t)
{
	ing_client *cl = t->data;
	/* Idle between requests, or a request that stopped arriving. */
	if (!cl->up)
		ing_client_close(cl);
}

static void arm_idle(ing_client *cl)
{
	if (!cl->closing)
		uv_timer_start(&cl->timer, on_idle_timeout, INGRESS_CLIENT_IDLE_MS, 0);
}

/* ---------- output ---------- */

static void on_written(uv_write_t *w, int status)
{
	write_req *wr = (write_req *)w;
	ing_client *cl = wr->cl;
	cl->queued -= wr->len;
	free(wr);
	if (status < 0)
		ing_client_close(cl);
	else if (cl->close_after && cl->queued == 0)
		ing_client_close(cl);
	else if (cl->up && cl->queued < INGRESS_HIGH_WATER / 2)
		ing_upstream_sync_read(cl->up);
	client_unref(cl);
}

static void raw_send(ing_client *cl, const char *data, size_t len)
{
	if (cl->closing || !len)
		return;
	/* Straight to the socket when nothing is queued: uv_write would also write at once,
	 * but re-arms the descriptor in epoll afterwards (one epoll_ctl per response). */
	uv_buf_t tb = uv_buf_init((char *)data, (unsigned)len);
	int n = uv_try_write((uv_stream_t *)&cl->tcp, &tb, 1);
	if (n == (int)len)
		return;
	if (n < 0 && n != UV_EAGAIN) {
		ing_client_close(cl);
		return;
	}
	if (n > 0) {
		data += n;
		len -= (size_t)n;
	}
	write_req *wr = xmalloc(sizeof *wr + len);
	memcpy(wr->data, data, len);
	wr->cl = cl;
	wr->len = len;
	uv_buf_t b = uv_buf_init(wr->data, (unsigned)len);
	cl->refs++;
	cl->queued += len;
	if (uv_write(&wr->w, (uv_stream_t *)&cl->tcp, &b, 1, on_written) < 0) {
		cl->queued -= len;
		free(wr);
		cl->refs--;
		ing_client_close(cl);
	}
}

static void flush_tls(ing_client *cl)
{
	char tmp[16384];
	int n;
	while ((n = BIO_read(cl->wbio, tmp, sizeof tmp)) > 0)
		raw_send(cl, tmp, (size_t)n);
}

void ing_client_send(ing_client *cl, const char *data, size_t len)
{
	if (!cl->closing)
		buf_add(&cl->out, data, len);
}

/* Output is collected while one event is handled and written here, once: one write (one
 * TLS record run) per response instead of one per header block, body piece and chunk. */
void ing_client_flush(ing_client *cl)
{
	if (cl->closing || !cl->out.n)
		return;
	if (!cl->ssl) {
		raw_send(cl, cl->out.p, cl->out.n);
		buf_reset(&cl->out);
		return;
	}
	const char *data = cl->out.p;
	size_t len = cl->out.n;
	while (len > 0) {
		int n = SSL_write(cl->ssl, data, len > (1 << 30) ? (1 << 30) : (int)len);
		if (n <= 0) {
			ERR_clear_error();
			buf_reset(&cl->out);
			ing_client_close(cl);
			return;
		}
		data += n;
		len -= (size_t)n;
	}
	buf_reset(&cl->out);
	flush_tls(cl);
}

/* ---------- requests ---------- */

static void reset_request(ing_client *cl)
{
	buf_reset(&cl->url);
	buf_reset(&cl->head);
	buf_reset(&cl->fname);
	buf_reset(&cl->fval);
	buf_reset(&cl->replay);
	cl->hstate = 0;
	free(cl->host);
	cl->host = NULL;
	cl->expect_continue = cl->req_chunked = cl->is_head = cl->req_done = false;
	cl->keepalive = true;
	cl->local_status = 0;
	cl->resp_state = 0;
	cl->status = 0;
	cl->metric = NULL;
	cl->retried = false;
}

static void feed(ing_client *cl);

/* Both the request and its response are over: the next request, or close. */
static void next_request(ing_client *cl)
{
	if (cl->close_after || !cl->keepalive) {
		cl->close_after = true;
		ing_client_flush(cl);
		if (cl->queued == 0)
			ing_client_close(cl);
		return;
	}
	reset_request(cl);
	cl->paused = false;
	http_parser_pause(&cl->parser, 0);
	arm_idle(cl);
	feed(cl); /* a no-op when called from feed itself, which goes on */
	ing_client_sync_read(cl);
}

void ing_client_response_done(ing_client *cl)
{
	cl->resp_state = 2;
	double secs = (double)(uv_hrtime() - cl->t0) / 1e9;
	ingress_metric_observe(cl->metric, cl->status, secs);
	if (cl->req_done) {
		next_request(cl);
		return;
	}
	/* Answered before the request's body ended: read and drop the rest, so the
	 * connection stays usable. */
	cl->local_status = -1;
	ing_client_sync_read(cl);
}

void ing_client_respond_local(ing_client *cl, int status)
{
	if (cl->up) {
		ing_upstream *up = cl->up;
		cl->up = NULL;
		ing_upstream_release(up, false);
	}
	if (cl->resp_state != 0) {
		/* Part of a response went out already: all we can do is cut it short. */
		ing_client_close(cl);
		return;
	}
	cl->status = status;
	const char *text = ing_reason(status);
	_cleanup_free_ char *body = xasprintf("%d %s\n", status, text);
	_cleanup_free_ char *head =
	    xasprintf("HTTP/1.1 %d %s\r\nContent-Type: text/plain; "
	              "charset=utf-8\r\nContent-Length: %zu\r\n%s\r\n",
	              status, text, strlen(body),
	              cl->keepalive && !cl->close_after ? "" : "Connection: close\r\n");
	ing_client_send(cl, head, strlen(head));
	if (!cl->is_head)
		ing_client_send(cl, body, strlen(body));
	ing_client_flush(cl);
	ing_client_response_done(cl);
}

static int on_message_begin(http_parser *p)
{
	ing_client *cl = p->data;
	reset_request(cl);
	cl->t0 = uv_hrtime();
	arm_idle(cl); /* the headers must arrive within the idle timeout too (slow clients) */
	return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
	buf_add(&((ing_client *)p->data)->url, at, len);
	return 0;
}

/* k8s-independent HTTP: hop-by-hop headers (RFC 9110 7.6.1) stay on their hop; the
 * forwarding headers are the proxy's to write (clients cannot forge them). */
static bool dropped_request_header(const char *n)
{
	static const char *const names[] = {
	    "connection",
	    "keep-alive",
	    "proxy-connection",
	    "te",
	    "trailer",
	    "transfer-encoding",
	    "upgrade",
	    "x-forwarded-for",
	    "x-forwarded-proto",
	    "x-forwarded-host",
	    "x-forwarded-port",
	    "x-real-ip",
	    "expect",
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(n, names[i]) == 0)
			return true;
	return false;
}

static void finish_header(ing_client *cl)
{
	if (cl->hstate != 2)
		return;
	cl->hstate = 0;
	char lower[64];
	size_t n = cl->fname.n < sizeof lower - 1 ? cl->fname.n : sizeof lower - 1;
	for (size_t i = 0; i < n; i++)
		lower[i] = (char)tolower((unsigned char)cl->fname.p[i]);
	lower[n] = '\0';
	const char *v = cl->fval.p ? cl->fval.p : "";
	if (strcmp(lower, "host") == 0 && !cl->host)
		cl->host = xstrdup(v);
	if (strcmp(lower, "expect") == 0 && strcasecmp(v, "100-continue") == 0)
		cl->expect_continue = true;
	if (!dropped_request_header(lower)) {
		buf_add(&cl->head, cl->fname.p, cl->fname.n);
		buf_puts(&cl->head, ": ");
		buf_add(&cl->head, v, cl->fval.n);
		buf_puts(&cl->head, "\r\n");
	}
	buf_reset(&cl->fname);
	buf_reset(&cl->fval);
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
	ing_client *cl = p->data;
	finish_header(cl);
	cl->hstate = 1;
	buf_add(&cl->fname, at, len);
	return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
	ing_client *cl = p->data;
	cl->hstate = 2;
	buf_add(&cl->fval, at, len);
	return 0;
}

static int on_headers_complete(http_parser *p)
{
	ing_client *cl = p->data;
	ingress_proxy *px = cl->px;
	finish_header(cl);
	cl->keepalive = http_should_keep_alive(p) != 0;
	cl->is_head = p->method == HTTP_HEAD;
	cl->req_chunked = (p->flags & F_CHUNKED) != 0;
	bool has_body =
	    cl->req_chunked || (p->content_length > 0 && p->content_length != ULLONG_MAX);
	/* The path of the request target (origin-form; absolute-form's after the authority). */
	const char *u = cl->url.p ? cl->url.p : "/";
	if (strncasecmp(u, "http://", 7) == 0 || strncasecmp(u, "https://", 8) == 0) {
		const char *slash = strchr(strstr(u, "//") + 2, '/');
		u = slash ? slash : "/";
	}
	size_t plen = strcspn(u, "?#");
	const char *host = cl->host ? cl->host : "";
	ingress_backend *be = ingress_table_match(px->table, host, strlen(host), u, plen);
	if (!be) {
		cl->metric = px->unmatched;
		cl->local_status = 404;
		return 0;
	}
	cl->metric = be->metric;
	if (!be->naddrs) {
		cl->local_status = 503; /* k8s: a backend without ready endpoints */
		return 0;
	}
	cl->dst = be->addrs[be->next++ % be->naddrs];
	/* Built with puts, not printf: this runs once per request (printf showed in profiles). */
	buf req = {0};
	buf_puts(&req, http_method_str(p->method));
	buf_putc(&req, ' ');
	buf_puts(&req, cl->url.p ? cl->url.p : "/");
	buf_puts(&req, " HTTP/1.1\r\n");
	buf_add(&req, cl->head.p, cl->head.n);
	/* ingress-nginx's defaults: the peer's address replaces any X-Forwarded-For. */
	buf_puts(&req, "X-Real-IP: ");
	buf_puts(&req, cl->ip);
	buf_puts(&req, "\r\nX-Forwarded-For: ");
	buf_puts(&req, cl->ip);
	buf_puts(&req, cl->https ? "\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: "
	                         : "\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: ");
	buf_puts(&req, host);
	buf_puts(&req, "\r\nX-Forwarded-Port: ");
	buf_puts(&req, cl->px->port_text[cl->https ? 1 : 0]);
	buf_puts(&req, "\r\n");
	if (cl->req_chunked)
		buf_puts(&req, "Transfer-Encoding: chunked\r\n");
	buf_puts(&req, "\r\n");
	if (!has_body)
		buf_add(&cl->replay, req.p, req.n);
	uv_timer_stop(&cl->timer); /* from here the backend timeout watches the request */
	cl->up = ing_upstream_get(px, &cl->dst, cl);
	ing_upstream_send(cl->up, req.p, req.n);
	ing_upstream_arm(cl->up);
	buf_free(&req);
	if (cl->expect_continue)
		ing_client_send(cl, "HTTP/1.1 100 Continue\r\n\r\n", 25);
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
	ing_client *cl = p->data;
	if (cl->local_status || !cl->up)
		return 0;
	if (cl->req_chunked) {
		char line[24];
		int n = snprintf(line, sizeof line, "%zx\r\n", len);
		ing_upstream_send(cl->up, line, (size_t)n);
		ing_upstream_send(cl->up, at, len);
		ing_upstream_send(cl->up, "\r\n", 2);
	} else {
		ing_upstream_send(cl->up, at, len);
	}
	return 0;
}

static int on_message_complete(http_parser *p)
{
	ing_client *cl = p->data;
	cl->req_done = true;
	if (cl->up && cl->req_chunked && cl->local_status == 0)
		ing_upstream_send(cl->up, "0\r\n\r\n", 5);
	/* The next pipelined request waits for this response. */
	cl->paused = true;
	http_parser_pause(p, 1); /* feed() answers or moves on once execute returns */
	return 0;
}

static const http_parser_settings req_settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* Parses what was received. Answers and next requests that a request's end makes due are
 * handled here, after http_parser_execute returned, never from inside its callbacks (the
 * parser is not reentrant, and its input is consumed only once it returns). */
static void feed(ing_client *cl)
{
	if (cl->in_feed)
		return;
	cl->in_feed = true;
	while (!cl->closing) {
		if (cl->paused) {
			if (cl->req_done && cl->resp_state == 0 && cl->local_status > 0) {
				ing_client_respond_local(cl, cl->local_status);
				continue;
			}
			if (cl->req_done && cl->resp_state == 2) {
				next_request(cl);
				continue;
			}
			break;
		}
		if (!cl->in.n)
			break;
		size_t n = http_parser_execute(&cl->parser, &req_settings, cl->in.p, cl->in.n);
		enum http_errno e = HTTP_PARSER_ERRNO(&cl->parser);
		if (cl->closing)
			break;
		memmove(cl->in.p, cl->in.p + n, cl->in.n - n);
		cl->in.n -= n;
		if (cl->in.p)
			cl->in.p[cl->in.n] = '\0';
		if (cl->up)
			ing_upstream_flush(cl->up);
		if (e == HPE_PAUSED || e == HPE_OK)
			continue;
		cl->keepalive = false;
		cl->close_after = true;
		if (cl->resp_state == 0) {
			cl->req_done = true;
			ing_client_respond_local(cl, 400);
		} else {
			ing_client_close(cl);
		}
		break;
	}
	cl->in_feed = false;
}

void ing_client_sync_read(ing_client *cl);

static void on_plaintext(ing_client *cl, const char *data, size_t len)
{
	buf_add(&cl->in, data, len);
	feed(cl);
}

/* One read buffer for every connection: the loop is one thread, and each read is
 * consumed (parsed or copied) before the next is asked for. */
static char read_buf[INGRESS_READ_SIZE];

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	UNUSED(h);
	UNUSED(suggested);
	b->base = read_buf;
	b->len = sizeof read_buf;
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *b)
{
	ing_client *cl = st->data;
	if (nread < 0) {
		ing_client_close(cl);
		return;
	}
	if (nread == 0 || cl->closing) {
		return;
	}
	if (!cl->ssl) {
		on_plaintext(cl, b->base, (size_t)nread);
		ing_client_flush(cl);
		ing_client_sync_read(cl);
		return;
	}
	BIO_write(cl->rbio, b->base, (int)nread);
	if (!cl->hs_done) {
		int r = SSL_do_handshake(cl->ssl);
		flush_tls(cl);
		if (r != 1) {
			int e = SSL_get_error(cl->ssl, r);
			if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
				ERR_clear_error();
				ing_client_close(cl);
			}
			return;
		}
		cl->hs_done = true;
	}
	char tmp[16384];
	while (!cl->closing) {
		int n = SSL_read(cl->ssl, tmp, sizeof tmp);
		if (n > 0) {
			on_plaintext(cl, tmp, (size_t)n);
			continue;
		}
		int e = SSL_get_error(cl->ssl, n);
		if (e != SSL_ERROR_WANT_READ) {
			ERR_clear_error();
			ing_client_close(cl);
			return;
		}
		break;
	}
	ing_client_flush(cl);
	flush_tls(cl);
	ing_client_sync_read(cl);
}

/* Reads unless enough waits unparsed, or the backend has enough queued. */
void ing_client_sync_read(ing_client *cl)
{
	if (cl->closing)
		return;
	/* Reading on while a request waits for its response costs nothing (what arrives is
	 * kept, up to the high-water mark) and saves two epoll_ctl calls per request. */
	bool want =
	    cl->in.n < INGRESS_HIGH_WATER && !(cl->up && cl->up->queued >= INGRESS_HIGH_WATER);
	if (want && !cl->reading)
		cl->reading = uv_read_start((uv_stream_t *)&cl->tcp, on_alloc, on_read) == 0;
	else if (!want && cl->reading) {
		uv_read_stop((uv_stream_t *)&cl->tcp);
		cl->reading = false;
	}
}

/* ---------- listeners ---------- */

static void accept_one(ingress_proxy *px, uv_stream_t *ls, bool https)
{
	ing_client *cl = xcalloc(1, sizeof *cl);
	cl->px = px;
	cl->https = https;
	uv_tcp_init(px->loop, &cl->tcp);
	uv_timer_init(px->loop, &cl->timer);
	cl->tcp.data = cl->timer.data = cl;
	cl->refs = 2;
	cl->next = px->clients;
	if (px->clients)
		px->clients->prev = cl;
	px->clients = cl;
	if (uv_accept(ls, (uv_stream_t *)&cl->tcp) < 0 || px->stopping) {
		ing_client_close(cl);
		return;
	}
	uv_tcp_nodelay(&cl->tcp, 1);
	struct sockaddr_storage ss;
	int len = sizeof ss;
	snprintf(cl->ip, sizeof cl->ip, "unknown");
	if (uv_tcp_getpeername(&cl->tcp, (struct sockaddr *)&ss, &len) == 0) {
		if (ss.ss_family == AF_INET)
			uv_ip4_name((struct sockaddr_in *)&ss, cl->ip, sizeof cl->ip);
		else if (ss.ss_family == AF_INET6)
			uv_ip6_name((struct sockaddr_in6 *)&ss, cl->ip, sizeof cl->ip);
	}
	http_parser_init(&cl->parser, HTTP_REQUEST);
	cl->parser.data = cl;
	reset_request(cl);
	if (https) {
		cl->ssl = SSL_new(px->tls);
		cl->rbio = BIO_new(BIO_s_mem());
		cl->wbio = BIO_new(BIO_s_mem());
		BIO_set_mem_eof_return(cl->rbio, -1);
		SSL_set_bio(cl->ssl, cl->rbio, cl->wbio);
		SSL_set_accept_state(cl->ssl);
	}
	arm_idle(cl);
	ing_client_sync_read(cl);
}

static void on_http_conn(uv_stream_t *ls, int status)
{
	if (status >= 0)
		accept_one(ls->data, ls, false);
}

static void on_https_conn(uv_stream_t *ls, int status)
{
	if (status >= 0)
		accept_one(ls->data, ls, true);
}

/* The certificate for the name the client asked for (SNI), from the current table. */
static int on_servername(SSL *ssl, int *alert, void *arg)
{
	ingress_proxy *px = arg;
	SSL_CTX *ctx =
	    ingress_table_cert(px->table, SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name));
	if (!ctx) {
		*alert = SSL_AD_UNRECOGNIZED_NAME;
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	}
	SSL_set_SSL_CTX(ssl, ctx);
	return SSL_TLSEXT_ERR_OK;
}

static void on_metrics(http_req *req, void *ud)
{
	UNUSED(ud);
	if (strcmp(req->path, "/metrics") != 0) {
		http_respond(req, 404, "text/plain", "not found\n", 10, NULL);
		return;
	}
	_cleanup_free_ char *text = ingress_metrics_text();
	http_respond(req, 200, "text/plain; version=0.0.4; charset=utf-8", text, strlen(text),
	             NULL);
}

static int listen_on(ingress_proxy *px, int i, const char *addr, int port, terr **err)
{
	struct sockaddr_in sa;
	if (uv_ip4_addr(addr, port, &sa) != 0)
		return terr_set(err, 500, "InternalError", "ingress: bad listen address %s", addr);
	uv_tcp_init(px->loop, &px->listeners[i]);
	px->listeners[i].data = px;
	px->listening[i] = true;
	px->open++;
	int r = uv_tcp_bind(&px->listeners[i], (struct sockaddr *)&sa, 0);
	if (r == 0)
		r = uv_listen((uv_stream_t *)&px->listeners[i], 1024,
		              i ? on_https_conn : on_http_conn);
	if (r != 0)
		return terr_set(err, 500, "InternalError", "ingress: listening on %s:%d: %s", addr,
		                port, uv_strerror(r));
	int len = sizeof sa;
	uv_tcp_getsockname(&px->listeners[i], (struct sockaddr *)&sa, &len);
	px->ports[i] = ntohs(sa.sin_port);
	snprintf(px->port_text[i], sizeof px->port_text[i], "%d", px->ports[i]);
	return 0;
}

ingress_proxy *ingress_proxy_start(uv_loop_t *loop, const ingress_proxy_config *cfg, terr **err)
{
	ingress_proxy *px = xcalloc(1, sizeof *px);
	px->loop = loop;
	px->timeout_ms = cfg->backend_timeout_ms ? cfg->backend_timeout_ms : 60000;
	px->unmatched = ingress_metric_get("", "", "", "", "");
	const char *addr = cfg->addr ? cfg->addr : "0.0.0.0";
	if (cfg->http_port > 0 && listen_on(px, 0, addr, cfg->http_port, err) < 0)
		goto fail;
	if (cfg->https_port > 0) {
		px->tls = SSL_CTX_new(TLS_server_method());
		SSL_CTX_set_min_proto_version(px->tls, TLS1_2_VERSION);
		SSL_CTX_set_tlsext_servername_callback(px->tls, on_servername);
		SSL_CTX_set_tlsext_servername_arg(px->tls, px);
		if (listen_on(px, 1, addr, cfg->https_port, err) < 0)
			goto fail;
	}
	if (cfg->metrics_port > 0) {
		px->metrics = http_server_new(loop, NULL, on_metrics, px);
		if (http_server_listen(px->metrics, addr, cfg->metrics_port, err) < 0)
			goto fail;
	}
	return px;
fail:
	ingress_proxy_stop(px);
	return NULL;
}

void ingress_proxy_set_table(ingress_proxy *px, ingress_table *t)
{
	ingress_table_ref(t);
	ingress_table_unref(px->table);
	px->table = t;
}

int ingress_proxy_port(const ingress_proxy *px, bool https)
{
	return px->ports[https ? 1 : 0];
}

void ing_proxy_maybe_free(ingress_proxy *px)
{
	if (!px->stopping || px->open || px->clients || px->ups)
		return;
	ingress_table_unref(px->table);
	SSL_CTX_free(px->tls);
	/* The metrics server has closed (its close callback counted in open), and so has every
	 * upstream: what is left are the server itself and the pool's per-backend lists. */
	if (px->metrics)
		http_server_free(px->metrics);
	size_t it = 0;
	void *l;
	while (hmap_next(&px->pool, &it, NULL, &l))
		free(l);
	hmap_free(&px->pool);
	free(px);
}

static void on_listener_closed(uv_handle_t *h)
{
	ingress_proxy *px = h->data;
	px->open--;
	ing_proxy_maybe_free(px);
}

static void on_metrics_closed(void *ud)
{
	ingress_proxy *px = ud;
	px->open--;
	ing_proxy_maybe_free(px);
}

void ingress_proxy_stop(ingress_proxy *px)
{
	px->stopping = true;
	/* Held until the end: a close that completes at once (a server that never listened)
	 * must not free px while the loops below still walk its lists. */
	px->open++;
	for (int i = 0; i < 2; i++)
		if (px->listening[i])
			uv_close((uv_handle_t *)&px->listeners[i], on_listener_closed);
	if (px->metrics) {
		px->open++;
		http_server_close(px->metrics, on_metrics_closed, px);
	}
	for (ing_client *cl = px->clients; cl; cl = cl->next)
		ing_client_close(cl);
	for (ing_upstream *up = px->ups; up; up = up->next)
		ing_upstream_close(up);
	/* The last handle's close callback frees px (listeners, clients, upstreams). */
	px->open--;
	ing_proxy_maybe_free(px);
}
