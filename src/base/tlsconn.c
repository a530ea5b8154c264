/* tlsconn.c — outgoing TLS connections on libuv (tlsconn.h): connect, handshake through
 * memory BIOs, verification of the peer for the dialled address, plaintext I/O. Not for:
 * serving (http.c does the server side the same way).
 */
#include "base/tlsconn.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

struct tlsconn {
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_connect_t connect;
	SSL *ssl;
	BIO *rbio, *wbio;
	tlsconn_ops ops;
	void *ud;
	char addr[64];
	int open_handles;
	bool ready, closing, paused;
	size_t queued;
};

typedef struct write_req {
	uv_write_t w;
	tlsconn *t;
	size_t len;
	char data[];
} write_req;

static void on_handle_closed(uv_handle_t *h)
{
	tlsconn *t = h->data;
	if (--t->open_handles == 0) {
		SSL_free(t->ssl);
		free(t);
	}
}

/* Ends the connection; error (may be NULL) goes to on_close unless the owner closed. */
static void finish(tlsconn *t, const char *error, bool notify)
{
	if (t->closing)
		return;
	t->closing = true;
	uv_timer_stop(&t->timer);
	uv_close((uv_handle_t *)&t->timer, on_handle_closed);
	uv_close((uv_handle_t *)&t->tcp, on_handle_closed);
	if (notify && t->ops.on_close)
		t->ops.on_close(t->ud, error);
}

static void on_written(uv_write_t *w, int status)
{
	write_req *wr = (write_req *)w;
	tlsconn *t = wr->t;
	t->queued -= wr->len;
	free(wr);
	if (status < 0 && status != UV_ECANCELED)
		finish(t, uv_strerror(status), true);
}

static void flush_tls(tlsconn *t)
{
	char tmp[16384];
	int n;
	while (!t->closing && (n = BIO_read(t->wbio, tmp, sizeof tmp)) > 0) {
		write_req *wr = xmalloc(sizeof *wr + (size_t)n);
		memcpy(wr->data, tmp, (size_t)n);
		wr->t = t;
		wr->len = (size_t)n;
		uv_buf_t b = uv_buf_init(wr->data, (unsigned)n);
		t->queued += (size_t)n;
		if (uv_write(&wr->w, (uv_stream_t *)&t->tcp, &b, 1, on_written) < 0) {
			t->queued -= (size_t)n;
			free(wr);
			finish(t, "write failed", true);
		}
	}
}

static const char *ssl_error_text(tlsconn *t)
{
	static char msg[256];
	long v = SSL_get_verify_result(t->ssl);
	if (v != X509_V_OK)
		snprintf(msg, sizeof msg, "TLS: the certificate of %s does not verify: %s", t->addr,
		         X509_verify_cert_error_string(v));
	else {
		unsigned long e = ERR_peek_last_error();
		snprintf(msg, sizeof msg, "TLS with %s: %s", t->addr,
		         e ? ERR_reason_error_string(e) : "connection closed");
	}
	ERR_clear_error();
	return msg;
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
	tlsconn *t = st->data;
	if (nread < 0) {
		finish(t, !t->ready ? "the connection closed during the TLS handshake"
		          : nread == UV_EOF ? NULL : uv_strerror((int)nread), true);
		return;
	}
	if (nread == 0)
		return;
	BIO_write(t->rbio, b->base, (int)nread);
	if (!t->ready) {
		int r = SSL_do_handshake(t->ssl);
		flush_tls(t);
		if (r != 1) {
			int e = SSL_get_error(t->ssl, r);
			if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
				finish(t, ssl_error_text(t), true);
			return;
		}
		t->ready = true;
		uv_timer_stop(&t->timer);
		if (t->ops.on_ready)
			t->ops.on_ready(t->ud);
		if (t->closing)
			return;
	}
	char tmp[16384];
	for (;;) {
		int n = SSL_read(t->ssl, tmp, sizeof tmp);
		if (n > 0) {
			t->ops.on_data(t->ud, tmp, (size_t)n);
			if (t->closing)
				return;
			continue;
		}
		int e = SSL_get_error(t->ssl, n);
		if (e == SSL_ERROR_WANT_READ)
			break;
		finish(t, e == SSL_ERROR_ZERO_RETURN ? NULL : ssl_error_text(t), true);
		return;
	}
	flush_tls(t);
}

static void on_connect(uv_connect_t *c, int status)
{
	tlsconn *t = c->data;
	if (t->closing)
		return;
	if (status < 0) {
		static char msg[160];
		snprintf(msg, sizeof msg, "dial tcp %s: %s", t->addr, uv_strerror(status));
		finish(t, msg, true);
		return;
	}
	uv_tcp_nodelay(&t->tcp, 1);
	uv_read_start((uv_stream_t *)&t->tcp, on_alloc, on_read);
	SSL_do_handshake(t->ssl);
	flush_tls(t);
}

static void on_timeout(uv_timer_t *tm)
{
	tlsconn *t = tm->data;
	static char msg[160];
	snprintf(msg, sizeof msg, "dial tcp %s: i/o timeout", t->addr);
	finish(t, msg, true);
}

tlsconn *tlsconn_dial(uv_loop_t *loop, SSL_CTX *ctx, const char *ip, int port,
                      uint64_t timeout_ms, const tlsconn_ops *ops, void *ud)
{
	struct sockaddr_storage sa;
	bool v6 = strchr(ip, ':') != NULL;
	if ((v6 ? uv_ip6_addr(ip, port, (struct sockaddr_in6 *)&sa)
	        : uv_ip4_addr(ip, port, (struct sockaddr_in *)&sa)) != 0)
		return NULL;
	tlsconn *t = xcalloc(1, sizeof *t);
	t->ops = *ops;
	t->ud = ud;
	snprintf(t->addr, sizeof t->addr, v6 ? "[%s]:%d" : "%s:%d", ip, port);
	t->ssl = SSL_new(ctx);
	if (!t->ssl)
		abort(); /* only fails when out of memory */
	t->rbio = BIO_new(BIO_s_mem());
	t->wbio = BIO_new(BIO_s_mem());
	BIO_set_mem_eof_return(t->rbio, -1);
	SSL_set_bio(t->ssl, t->rbio, t->wbio);
	SSL_set_connect_state(t->ssl);
	/* The peer must be the node dialled: its certificate names the address. */
	X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), ip);
	SSL_set_alpn_protos(t->ssl, (const unsigned char *)"\x08http/1.1", 9);
	uv_tcp_init(loop, &t->tcp);
	uv_timer_init(loop, &t->timer);
	t->tcp.data = t->timer.data = t->connect.data = t;
	t->open_handles = 2;
	uv_timer_start(&t->timer, on_timeout, timeout_ms, 0);
	int r = uv_tcp_connect(&t->connect, &t->tcp, (struct sockaddr *)&sa, on_connect);
	if (r < 0) {
		/* Reported from the loop, like any other failure, so callers see one path. */
		uv_timer_start(&t->timer, on_timeout, 0, 0);
	}
	return t;
}

int tlsconn_write(tlsconn *t, const void *data, size_t len, size_t max_queued)
{
	if (t->closing || !t->ready)
		return -1;
	if (t->queued > max_queued) {
		finish(t, "the peer does not read", true);
		return -1;
	}
	const char *p = data;
	while (len > 0) {
		int chunk = len > (1 << 30) ? (1 << 30) : (int)len;
		int n = SSL_write(t->ssl, p, chunk);
		if (n <= 0) {
			finish(t, ssl_error_text(t), true);
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	flush_tls(t);
	return t->closing ? -1 : 0;
}

void tlsconn_pause(tlsconn *t, bool paused)
{
	if (t->closing || !t->ready || t->paused == paused)
		return;
	t->paused = paused;
	if (paused)
		uv_read_stop((uv_stream_t *)&t->tcp);
	else
		uv_read_start((uv_stream_t *)&t->tcp, on_alloc, on_read);
}

size_t tlsconn_queued(const tlsconn *t)
{
	return t->queued;
}

void tlsconn_close(tlsconn *t)
{
	finish(t, NULL, false);
}
