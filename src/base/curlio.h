/* curlio.h — HTTPS requests from the loop thread: libcurl's multi interface driven by
 * libuv (a poll handle per socket, one timer), so nothing waits on the network.
 *
 * A client holds the base URL and the TLS material (the CA to verify the server with, an
 * optional client certificate and key, an optional bearer token). A request either
 * collects its whole answer (done gets the body) or streams it (on_data gets each piece as
 * it arrives: watches). Not for: blocking requests on worker threads (image pulls use
 * curl's easy interface there) or serving (http.h).
 */
#ifndef TIMON_BASE_CURLIO_H
#define TIMON_BASE_CURLIO_H

#include <stddef.h>
#include <uv.h>

typedef struct curlio curlio;
typedef struct curlio_req curlio_req;

typedef struct curlio_config {
	const char *base_url;  /* "https://host:port" */
	const char *ca_file;   /* PEM bundle to verify the server; NULL: the system's */
	const char *cert_file; /* client certificate (PEM), or NULL */
	const char *key_file;  /* its key, or NULL */
	const char *bearer;    /* Authorization: Bearer ..., or NULL */
	int max_connections;   /* connections open at once, at most (0: no limit); requests
	                        * beyond wait their turn for a kept-alive one */
} curlio_config;

/* Streamed answer bytes (status known); return -1 to abort the request (done then runs
 * with the status and error "aborted"). */
typedef int (*curlio_data_cb)(void *ud, int status, const char *data, size_t len);
/* The end of a request: status is the HTTP status, 0 when no answer came (then error says
 * why); body/len the collected answer (empty when streamed). Runs once, unless cancelled. */
typedef void (*curlio_done_cb)(void *ud, int status, const char *body, size_t len,
                               const char *error);

/* A client on loop; strings of cfg are copied. */
curlio *curlio_new(uv_loop_t *loop, const curlio_config *cfg);
/* Cancels every request (their done does not run) and frees the client once its handles
 * are closed (the loop must run). */
void curlio_free(curlio *c);
/* Starts a request for base_url + path (path holds the query). body (may be NULL) is
 * copied; ctype defaults to application/json. on_data NULL collects the answer.
 * timeout_ms 0: none (watches end by their own timeoutSeconds). */
curlio_req *curlio_request(curlio *c, const char *method, const char *path, const char *ctype,
                           const char *body, size_t len, long timeout_ms, curlio_data_cb on_data,
                           curlio_done_cb done, void *ud);
/* s percent-encoded for a query value; new string. */
char *curlio_escape(const char *s);
/* Replaces the client certificate and key (PEM strings, copied) for requests started from
 * now on; requests under way keep theirs. */
void curlio_set_client_cert(curlio *c, const char *cert_pem, const char *key_pem);
/* Stops a request; done does not run. */
void curlio_cancel(curlio_req *r);

#endif
