/* ingress-internal.h — what the ingress proxy's files share: the proxy, its client
 * (downstream) and upstream (backend) connections. ingress_proxy.c owns the listeners
 * and client side, ingress_upstream.c the backend side and the keep-alive pool. */
#ifndef TIMON_PROXY_INGRESS_INTERNAL_H
#define TIMON_PROXY_INGRESS_INTERNAL_H

#include <http_parser.h>

#include "base/buf.h"
#include "base/hmap.h"
#include "base/http.h"
#include "proxy/ingress.h"

#define INGRESS_HIGH_WATER     (256 * 1024) /* queued bytes before the other side pauses */
#define INGRESS_READ_SIZE      65536
#define INGRESS_CLIENT_IDLE_MS 60000
#define INGRESS_POOL_IDLE_MS   30000
#define INGRESS_POOL_MAX       1024 /* idle backend connections kept, in all */

typedef struct ing_client ing_client;
typedef struct ing_upstream ing_upstream;

struct ingress_proxy {
	uv_loop_t *loop;
	uv_tcp_t listeners[2]; /* http, https */
	bool listening[2];
	int ports[2];
	char port_text[2][8];
	http_server *metrics;
	SSL_CTX *tls;
	ingress_table *table;
	ingress_metric *unmatched;
	hmap pool; /* "ip:port" -> idle ing_upstream list */
	size_t nidle;
	ing_client *clients;
	ing_upstream *ups;
	uint64_t timeout_ms;
	int open;
	bool stopping;
};

struct ing_client {
	uv_tcp_t tcp;
	uv_timer_t timer;
	ingress_proxy *px;
	ing_client *prev, *next;
	int refs;
	bool closing, close_after;
	SSL *ssl;
	BIO *rbio, *wbio;
	bool hs_done, https;
	char ip[64];
	http_parser parser;
	bool paused; /* the parser waits at a request's end for its response */
	bool in_feed;
	bool reading;
	buf in;        /* received, not yet parsed */
	buf out;       /* to send, written at the end of the event (ing_client_flush) */
	size_t queued; /* written, not yet sent */
	/* The request being handled. */
	buf url, head, fname, fval;
	int hstate; /* 0: none, 1: in a field, 2: in a value */
	char *host;
	bool expect_continue, req_chunked, keepalive, is_head, req_done;
	int local_status; /* > 0: answer this ourselves; -1: discard the rest of the body */
	int resp_state;   /* 0: nothing sent, 1: streaming, 2: done */
	int status;
	uint64_t t0;
	ingress_metric *metric;
	ing_upstream *up;
	struct sockaddr_in dst;
	buf replay; /* the whole request when it has no body: resent on a stale pooled conn */
	bool retried;
};

struct ing_upstream {
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_connect_t connect;
	ingress_proxy *px;
	ing_upstream *prev, *next; /* every upstream */
	ing_upstream *pool_next;   /* the idle list of its key */
	char key[32];
	int refs;
	bool closing, connected, in_pool, reused, reading, connect_failed;
	ing_client *cl;
	buf pending; /* written before the connection was up */
	size_t queued;
	http_parser parser;
	buf fname, fval;
	int hstate;
	buf head;
	bool got_any, got_headers, interim, chunk_out, close_delimited;
};

/* ingress_proxy.c: frees a stopped proxy once nothing is left open. */
void ing_proxy_maybe_free(ingress_proxy *px);
/* ingress_proxy.c: the client side, called by the upstream side. */
void ing_client_send(ing_client *cl, const char *data, size_t len);
void ing_client_flush(ing_client *cl);
/* Answers the current request with an error page (502, 503, 504, 404...). */
void ing_client_respond_local(ing_client *cl, int status);
/* The response is complete (status for the metrics). */
void ing_client_response_done(ing_client *cl);
void ing_client_close(ing_client *cl);
/* The reason phrase of a status code ("" when unknown). */
const char *ing_reason(int status);
void ing_client_sync_read(ing_client *cl);

/* ingress_upstream.c */
/* A connection to dst for cl: an idle pooled one, or a new one. */
ing_upstream *ing_upstream_get(ingress_proxy *px, const struct sockaddr_in *dst, ing_client *cl);
/* Collects data for the backend; ing_upstream_flush writes it (once connected). */
void ing_upstream_send(ing_upstream *up, const char *data, size_t len);
void ing_upstream_flush(ing_upstream *up);
/* Starts the response timer (connect + response headers). */
void ing_upstream_arm(ing_upstream *up);
/* Detaches from the client; back to the pool when reusable, else closed. */
void ing_upstream_release(ing_upstream *up, bool reusable);
void ing_upstream_close(ing_upstream *up);
void ing_upstream_sync_read(ing_upstream *up);

#endif
