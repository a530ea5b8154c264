/* tlsconn.h — an outgoing TLS connection on the loop thread: TCP connect and handshake
 * within a deadline, the peer verified against a CA for the address dialled, then
 * plaintext both ways (OpenSSL memory BIOs over a uv_tcp_t). The API server uses it to
 * reach node agents (pod streams). Not for: HTTP (callers frame their own requests) or
 * blocking use.
 */
#ifndef TIMON_BASE_TLSCONN_H
#define TIMON_BASE_TLSCONN_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct tlsconn tlsconn;

typedef struct tlsconn_ops {
	/* The handshake finished and the peer's certificate verified for the address. */
	void (*on_ready)(void *ud);
	/* Plaintext from the peer. */
	void (*on_data)(void *ud, const char *data, size_t len);
	/* The end: error says why it failed (connect, timeout, verification, reset) or is
	 * NULL when the peer closed cleanly. Runs once; the connection is freed after it. */
	void (*on_close)(void *ud, const char *error);
} tlsconn_ops;

/* Dials ip:port (an IPv4 or IPv6 literal) with ctx (a client context: CA, optional client
 * certificate; borrowed, must outlive the connection); the peer's certificate must carry
 * ip as an IP SAN. timeout_ms bounds connect plus handshake. NULL only when ip is not an
 * address (ops are copied; nothing is called back then). */
tlsconn *tlsconn_dial(uv_loop_t *loop, SSL_CTX *ctx, const char *ip, int port,
                      uint64_t timeout_ms, const tlsconn_ops *ops, void *ud);
/* Sends plaintext (after on_ready). -1 when the connection is closing or more than
 * max_queued bytes wait for the socket (it is then closed and on_close runs). */
int tlsconn_write(tlsconn *t, const void *data, size_t len, size_t max_queued);
/* Stops or resumes reading from the peer (back-pressure). */
void tlsconn_pause(tlsconn *t, bool paused);
/* Bytes handed to the socket and not yet written. */
size_t tlsconn_queued(const tlsconn *t);
/* Closes at once; no callback runs afterwards. */
void tlsconn_close(tlsconn *t);

#endif
