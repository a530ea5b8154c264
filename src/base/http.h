/* http.h — HTTP/1.1 over TLS (or plain TCP) on the libuv loop, for the API server.
 *
 * One connection serves one request at a time (pipelined requests wait their turn). A
 * request is handed to the handler when its body is complete; the handler answers at once
 * or later (after a group commit) with http_respond, or opens a chunked stream (watches).
 * Limits are enforced here: header size, body size (413), idle and header timeouts, and a
 * cap on queued output per connection (slow readers are dropped, never buffered without
 * bound). Not for: routing or Kubernetes semantics (src/apiserver/).
 */
#ifndef TIMON_BASE_HTTP_H
#define TIMON_BASE_HTTP_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "base/error.h"

typedef struct http_server http_server;
typedef struct http_conn http_conn;

typedef struct http_header {
	char *name; /* lowercased */
	char *value;
} http_header;

typedef struct http_req {
	http_conn *conn;
	char *method;  /* "GET", ... */
	char *path;    /* decoded path, without the query */
	char *query;   /* raw query string after '?', or "" */
	http_header *headers;
	size_t nheaders;
	char *body;    /* NUL-terminated for convenience; body_len is authoritative */
	size_t body_len;
	/* Who is asking: from a verified client certificate or a bearer token. */
	char *user;
	char **groups;
	size_t ngroups;
	bool streaming;  /* set by http_stream_begin */
	void *ud;        /* the handler's per-request state */
	void (*on_close)(struct http_req *req); /* called if the peer goes away mid-stream */
	int64_t start_ns;
	/* In-process requests (no connection): the response goes here instead. */
	void (*internal_cb)(struct http_req *req, int status, const char *body, size_t len,
	                    void *ud);
	void *internal_ud;
	/* In-process requests may skip the JSON round trip both ways; the trees are the API
	 * server's json_t, opaque here. body_obj: the body as a tree instead of bytes, owned by
	 * the request (body_obj_free frees it unless a handler took it). internal_obj_cb, when
	 * set, takes answers given as trees (http_respond_obj), the tree borrowed for the call. */
	void *body_obj;
	void (*body_obj_free)(void *obj);
	void (*internal_obj_cb)(struct http_req *req, int status, void *obj, void *ud);
} http_req;

/* Called on the loop thread for each complete request. The handler must eventually call
 * http_respond (or http_stream_begin ... http_stream_end) exactly once for req. */
typedef void (*http_handler_cb)(http_req *req, void *ud);

/* Called once a TLS handshake finished, to authenticate the peer from its certificate:
 * fills req->user/groups for every request of the connection. May be NULL. */
typedef int (*http_identity_cb)(SSL *ssl, char **user, char ***groups, size_t *ngroups);

typedef struct http_limits {
	size_t max_body;           /* bytes; larger bodies get 413 (default 3 MiB) */
	size_t max_conns;          /* connections beyond are closed at once (default 20000) */
	size_t max_queued_output;  /* bytes queued to a slow reader before it is dropped */
	uint64_t header_timeout_ms; /* a request's headers must arrive within this */
	uint64_t idle_timeout_ms;   /* keep-alive connections idle this long are closed */
} http_limits;

/* Creates a server on loop. ssl_ctx may be NULL for plain HTTP (tests, metrics). */
http_server *http_server_new(uv_loop_t *loop, SSL_CTX *ssl_ctx, http_handler_cb cb, void *ud);
void http_server_set_identity_cb(http_server *s, http_identity_cb cb);
http_limits *http_server_limits(http_server *s);
/* Binds and listens on addr:port. */
int http_server_listen(http_server *s, const char *addr, int port, terr **err);
/* The local port the server listens on (after http_server_listen), or -1. */
int http_server_port(http_server *s);
/* Stops listening and closes every connection; cb runs when all handles are closed. */
void http_server_close(http_server *s, void (*cb)(void *ud), void *ud);
/* Frees a server whose close callback has run. */
void http_server_free(http_server *s);

/* A request made in process (no connection), answered through cb. Strings are copied;
 * headers is a NULL-terminated list of "name", "value" pairs (names lowercase). user and
 * groups are borrowed and must outlive the request. */
http_req *http_req_internal(const char *method, const char *path, const char *query,
                            const char *const *headers, const char *body, size_t len,
                            const char *user, char **groups, size_t ngroups,
                            void (*cb)(http_req *req, int status, const char *body, size_t len,
                                       void *ud),
                            void *ud);

/* The value of header `name` (lowercase), or NULL. */
const char *http_req_header(const http_req *req, const char *name);
/* The value of query parameter `name`, URL-decoded, newly allocated; NULL when absent. */
char *http_req_query(const http_req *req, const char *name);

/* Sends a complete response and finishes req (which must not be used afterwards). The body
 * is copied. extra_headers: "Name: value\r\n" lines, or NULL. */
void http_respond(http_req *req, int status, const char *content_type, const char *body,
                  size_t len, const char *extra_headers);
/* Whether req is in process and takes its answer as a tree (http_respond_obj). */
bool http_req_takes_obj(const http_req *req);
/* Answers such a request with obj (borrowed for the call) and finishes req. */
void http_respond_obj(http_req *req, int status, void *obj);
/* Starts a chunked response that stays open (watch). */
void http_stream_begin(http_req *req, int status, const char *content_type);
/* Sends one chunk. Returns -1 when the connection is gone or its queue is over the limit
 * (the connection is then closed and on_close runs). */
int http_stream_write(http_req *req, const char *data, size_t len);
/* Ends the stream and finishes req. */
void http_stream_end(http_req *req);
/* Bytes queued for the peer and not yet written. */
size_t http_req_queued(const http_req *req);

/* ---- upgraded connections (WebSocket, SPDY) ---- */

typedef struct http_upgrade_ops {
	/* Plaintext from the peer (TLS already removed); on the loop thread. */
	void (*on_data)(void *ud, const char *data, size_t len);
	/* The connection is gone (peer closed, error, server shutdown); not called after
	 * http_upgrade_close. ud is not used by the connection afterwards. */
	void (*on_close)(void *ud);
} http_upgrade_ops;

/* Answers req with 101 Switching Protocols (extra_headers: "Name: value\r\n" lines such
 * as Upgrade, Connection, Sec-WebSocket-Accept) and hands the connection's further bytes to
 * ops (copied) with ud. req is finished (not usable afterwards); the connection is then
 * used through http_upgrade_write/close with req->conn (read it before calling). */
void http_upgrade(http_req *req, const char *extra_headers, const http_upgrade_ops *ops,
                  void *ud);
/* Sends raw bytes on an upgraded connection (through TLS). -1 when it is gone or its queue
 * is over the limit (it is then closed and on_close runs). */
int http_upgrade_write(http_conn *c, const void *data, size_t len);
/* Closes an upgraded connection once queued output is written; on_close does not run. */
void http_upgrade_close(http_conn *c);
/* The loop the connection runs on. */
uv_loop_t *http_conn_loop(http_conn *c);
/* Bytes queued for the peer and not yet written. */
size_t http_conn_queued(const http_conn *c);

/* Percent-decodes src[0..n) into a new string; NULL on malformed escapes. */
char *http_url_decode(const char *src, size_t n);
/* The reason phrase for a status code ("Not Found"). */
const char *http_status_text(int status);

#endif
