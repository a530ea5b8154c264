/* agent_stream_pf.c — pods/portforward (kubectl port-forward). kubectl 1.32 opens a
 * WebSocket with subprotocol SPDY/3.1+portforward.k8s.io whose binary messages carry a
 * SPDY/3.1 byte stream, and falls back to a plain SPDY upgrade (Upgrade: SPDY/3.1,
 * X-Stream-Protocol-Version: portforward.k8s.io) when that is refused; both end in the same
 * spdy_session. Per local connection the client opens two streams sharing a requestID:
 * "error" (it only reads: a message there is a failure) and "data" (the bytes). Once both
 * are there the agent dials status.podIP:port on the loop and pipes bytes both ways.
 *
 * Bounded: reads from pods stop while the client connection holds more than PF_HIGH
 * (a timer resumes them below PF_LOW); a pod that does not take its bytes (more than
 * PF_POD_QUEUE queued) has its streams reset; at most PF_MAX_PAIRS pairs per connection.
 * Not for: dialing inside the pod's network namespace (kubelet's CRI runtimes dial
 * localhost there; here a port bound only to the pod's loopback is not reachable).
 */
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "agent/agent_stream-internal.h"
#include "base/json.h"
#include "base/log.h"
#include "base/spdy.h"
#include "base/util.h"
#include "base/ws.h"

#define PF_WS_PROTOCOL "SPDY/3.1+portforward.k8s.io"
#define PF_PROTOCOL    "portforward.k8s.io"
#define PF_HIGH        (1u << 20)
#define PF_LOW         (256u << 10)
#define PF_POD_QUEUE   (4u << 20)
#define PF_MAX_PAIRS   256
#define PF_READ_CHUNK  (32u << 10)

typedef struct pf_sess pf_sess;

typedef struct pf_pair {
	pf_sess *s;
	struct pf_pair *next;
	char *request_id;
	uint32_t error_id, data_id;
	int port;
	uv_tcp_t tcp;
	uv_connect_t creq;
	uv_shutdown_t sreq;
	buf pending;      /* client bytes that came before the dial finished */
	bool tcp_open;    /* tcp initialised (freed from its close callback) */
	bool dialing, connected, reading, pod_eof;
	bool client_fin;  /* the client closed its half of the data stream */
	bool shut;        /* shutdown(SHUT_WR) sent to the pod */
	bool ours_fin;    /* our halves of both streams are closed */
	bool closing;
} pf_pair;

struct pf_sess {
	agent_streams *as;
	spdy_session *spdy;
	ws_conn *ws;     /* WebSocket transport, or */
	http_conn *conn; /* a plain SPDY upgrade */
	bool is_ws;
	bool gone;       /* the transport is closed */
	bool paused;     /* pod reads stopped for a full client queue */
	char *pod_ip, *sandbox;
	pf_pair *pairs;
	size_t npairs;
	int refs;        /* the transport, the timer, each pair */
	uv_timer_t timer;
};

static void sess_unref(pf_sess *s)
{
	if (--s->refs)
		return;
	spdy_session_free(s->spdy);
	free(s->pod_ip);
	free(s->sandbox);
	free(s);
}

static size_t queued(pf_sess *s)
{
	if (s->gone)
		return 0;
	return s->is_ws ? (s->ws ? ws_queued(s->ws) : 0) : http_conn_queued(s->conn);
}

/* ---------- pairs ---------- */

static void on_pair_closed(uv_handle_t *h)
{
	pf_pair *p = h->data;
	pf_sess *s = p->s;
	buf_free(&p->pending);
	free(p->request_id);
	free(p);
	sess_unref(s);
}

static void pair_free(pf_pair *p)
{
	pf_sess *s = p->s;
	if (p->closing)
		return;
	p->closing = true;
	for (pf_pair **pp = &s->pairs; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			s->npairs--;
			break;
		}
	if (p->tcp_open) {
		uv_close((uv_handle_t *)&p->tcp, on_pair_closed);
		return;
	}
	buf_free(&p->pending);
	free(p->request_id);
	free(p);
	sess_unref(s);
}

/* Closes our halves: the error text (if any), then FIN on both streams. */
static void pair_finish(pf_pair *p, const char *error)
{
	if (p->ours_fin || p->s->gone)
		return;
	p->ours_fin = true;
	if (p->error_id)
		spdy_session_data(p->s->spdy, p->error_id, error ? error : "", error ? strlen(error) : 0, true);
	if (p->data_id)
		spdy_session_data(p->s->spdy, p->data_id, "", 0, true);
}

/* The pair is over once both sides have closed their halves. */
static void pair_maybe_done(pf_pair *p)
{
	if (p->ours_fin && (p->client_fin || !p->connected) && (!p->connected || p->pod_eof))
		pair_free(p);
}

static pf_pair *pair_by_stream(pf_sess *s, uint32_t id)
{
	for (pf_pair *p = s->pairs; p; p = p->next)
		if (p->data_id == id || p->error_id == id)
			return p;
	return NULL;
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	b->base = xmalloc(PF_READ_CHUNK);
	b->len = PF_READ_CHUNK;
}

static void pause_check(pf_sess *s);

static void on_pod_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
	pf_pair *p = st->data;
	if (n > 0 && !p->ours_fin && !p->s->gone) {
		spdy_session_data(p->s->spdy, p->data_id, b->base, (size_t)n, false);
		pause_check(p->s);
	} else if (n < 0) {
		/* k8s: the copy from the pod ends at EOF (or an error): the data and error
		 * streams are closed, and the client then ends its half. */
		uv_read_stop(st);
		p->reading = false;
		p->pod_eof = true;
		pair_finish(p, NULL);
		pair_maybe_done(p);
	}
	free(b->base);
}

static void start_reading(pf_pair *p)
{
	if (p->reading || p->pod_eof || !p->connected || p->s->paused)
		return;
	if (uv_read_start((uv_stream_t *)&p->tcp, on_alloc, on_pod_read) == 0)
		p->reading = true;
}

static void on_shutdown(uv_shutdown_t *r, int status)
{
	(void)r;
	(void)status;
}

static void maybe_shutdown(pf_pair *p)
{
	if (p->client_fin && p->connected && !p->shut && !p->closing) {
		p->shut = true;
		if (uv_shutdown(&p->sreq, (uv_stream_t *)&p->tcp, on_shutdown) < 0)
			p->shut = true;
	}
}

typedef struct pf_write {
	uv_write_t req;
	char data[];
} pf_write;

static void on_pod_written(uv_write_t *w, int status)
{
	free(w);
}

static void pod_write(pf_pair *p, const void *data, size_t len)
{
	if (!len || p->closing)
		return;
	if (!p->connected) {
		if (p->pending.n + len > PF_POD_QUEUE)
			goto slow;
		buf_add(&p->pending, data, len);
		return;
	}
	if (p->tcp.write_queue_size + len > PF_POD_QUEUE)
		goto slow;
	pf_write *w = xmalloc(sizeof *w + len);
	memcpy(w->data, data, len);
	uv_buf_t b = uv_buf_init(w->data, (unsigned)len);
	if (uv_write(&w->req, (uv_stream_t *)&p->tcp, &b, 1, on_pod_written) < 0)
		free(w);
	return;
slow:
	/* The pod does not read what it is sent: drop this connection, not the others. */
	log_info("port-forward: pod %s port %d does not read its input; resetting", p->s->sandbox, p->port);
	if (!p->s->gone) {
		spdy_session_rst(p->s->spdy, p->data_id, SPDY_CANCEL);
		p->ours_fin = true;
		if (p->error_id)
			spdy_session_data(p->s->spdy, p->error_id, "", 0, true);
	}
	pair_free(p);
}

static void on_connect(uv_connect_t *c, int status)
{
	pf_pair *p = c->data;
	p->dialing = false;
	if (p->closing)
		return;
	if (status < 0) {
		/* k8s: the kubelet writes the dial error to the error stream; kubectl prints
		 * "an error occurred forwarding L -> R: <that text>". */
		_cleanup_free_ char *msg = xasprintf(
		    "error forwarding port %d to pod %s, uid : dial tcp %s%s%s:%d: connect: %s", p->port,
		    p->s->sandbox, strchr(p->s->pod_ip, ':') ? "[" : "", p->s->pod_ip,
		    strchr(p->s->pod_ip, ':') ? "]" : "", p->port, uv_strerror(status));
		log_info("port-forward: %s", msg);
		pair_finish(p, msg);
		pair_free(p);
		return;
	}
	p->connected = true;
	buf pend = p->pending;
	p->pending = (buf){0};
	pod_write(p, pend.p, pend.n);
	buf_free(&pend);
	if (p->closing)
		return;
	maybe_shutdown(p);
	start_reading(p);
}

static void pair_dial(pf_pair *p)
{
	union {
		struct sockaddr sa;
		struct sockaddr_in in4;
		struct sockaddr_in6 in6;
	} addr;
	int rc = uv_ip4_addr(p->s->pod_ip, p->port, &addr.in4);
	if (rc < 0)
		rc = uv_ip6_addr(p->s->pod_ip, p->port, &addr.in6);
	if (rc == 0)
		rc = uv_tcp_init(p->s->as->loop, &p->tcp);
	if (rc < 0) {
		on_connect(&(uv_connect_t){.data = p}, rc);
		return;
	}
	p->tcp_open = true;
	p->tcp.data = p;
	p->creq.data = p;
	p->dialing = true;
	rc = uv_tcp_connect(&p->creq, &p->tcp, &addr.sa, on_connect);
	if (rc < 0)
		on_connect(&p->creq, rc);
}

/* ---------- pausing reads for a slow client ---------- */

static void on_timer(uv_timer_t *t)
{
	pf_sess *s = t->data;
	if (s->gone || queued(s) > PF_LOW) {
		if (s->gone)
			uv_timer_stop(t);
		return;
	}
	uv_timer_stop(t);
	s->paused = false;
	for (pf_pair *p = s->pairs; p; p = p->next)
		start_reading(p);
}

static void pause_check(pf_sess *s)
{
	if (s->paused || queued(s) <= PF_HIGH)
		return;
	s->paused = true;
	for (pf_pair *p = s->pairs; p; p = p->next)
		if (p->reading) {
			uv_read_stop((uv_stream_t *)&p->tcp);
			p->reading = false;
		}
	uv_timer_start(&s->timer, on_timer, 10, 10);
}

/* ---------- SPDY events ---------- */

static void on_syn_stream(void *ud, uint32_t id, const spdy_headers *h, uint8_t flags)
{
	pf_sess *s = ud;
	const char *type = spdy_headers_get(h, "streamtype");
	const char *port = spdy_headers_get(h, "port");
	const char *rid = spdy_headers_get(h, "requestid");
	bool is_error = type && strcmp(type, "error") == 0;
	bool is_data = type && strcmp(type, "data") == 0;
	char *end = NULL;
	long pn = port ? strtol(port, &end, 10) : 0;
	static const char *const none[] = {NULL};
	if ((!is_error && !is_data) || !port || !*port || *end || pn < 1 || pn > 65535 ||
	    s->npairs >= PF_MAX_PAIRS) {
		/* k8s: an unusable stream is rejected: its reply closes it at once. */
		log_info("port-forward: rejecting stream %u (type %s, port %s)", id, type ? type : "-",
		         port ? port : "-");
		spdy_session_reply(s->spdy, id, none, 0, SPDY_FLAG_FIN);
		return;
	}
	/* k8s: without a requestID header (old clients) an error stream pairs with the data
	 * stream two IDs later. */
	_cleanup_free_ char *key = rid ? xstrdup(rid) : xasprintf("#%u", is_data ? id - 2 : id);
	pf_pair *p = s->pairs;
	while (p && strcmp(p->request_id, key) != 0)
		p = p->next;
	if (p && (is_error ? p->error_id : p->data_id)) {
		spdy_session_reply(s->spdy, id, none, 0, SPDY_FLAG_FIN);
		return;
	}
	spdy_session_reply(s->spdy, id, none, 0, 0);
	if (!p) {
		p = xcalloc(1, sizeof *p);
		p->s = s;
		p->request_id = xstrdup(key);
		p->port = (int)pn;
		p->next = s->pairs;
		s->pairs = p;
		s->npairs++;
		s->refs++;
	}
	if (is_error)
		p->error_id = id;
	else
		p->data_id = id;
	if (flags & SPDY_FLAG_FIN && is_data)
		p->client_fin = true;
	if (p->error_id && p->data_id && !p->dialing && !p->tcp_open)
		pair_dial(p);
}

static void on_spdy_data(void *ud, uint32_t id, const uint8_t *data, size_t len, bool fin)
{
	pf_sess *s = ud;
	pf_pair *p = pair_by_stream(s, id);
	if (!p) {
		if (len)
			spdy_session_rst(s->spdy, id, SPDY_INVALID_STREAM);
		return;
	}
	if (id != p->data_id)
		return; /* the client writes nothing on the error stream; it only closes it */
	pod_write(p, data, len);
	if (fin && !p->closing) {
		p->client_fin = true;
		maybe_shutdown(p);
		pair_maybe_done(p);
	}
}

static void on_rst(void *ud, uint32_t id, uint32_t status)
{
	pf_sess *s = ud;
	pf_pair *p = pair_by_stream(s, id);
	if (!p)
		return;
	if (!p->ours_fin) {
		p->ours_fin = true;
		uint32_t other = id == p->data_id ? p->error_id : p->data_id;
		if (other)
			spdy_session_data(s->spdy, other, "", 0, true);
	}
	pair_free(p);
}

static void spdy_write(void *ud, const void *data, size_t len)
{
	pf_sess *s = ud;
	if (s->gone)
		return;
	if (s->is_ws) {
		if (s->ws)
			ws_send(s->ws, WS_OP_BINARY, -1, data, len);
	} else {
		http_upgrade_write(s->conn, data, len);
	}
}

static const spdy_session_ops spdy_ops = {
	.on_syn_stream = on_syn_stream,
	.on_data = on_spdy_data,
	.on_rst = on_rst,
	.write = spdy_write,
};

/* ---------- transports ---------- */

static void on_timer_closed(uv_handle_t *h)
{
	sess_unref(h->data);
}

/* The transport is gone: every pod connection goes with it. */
static void sess_gone(pf_sess *s)
{
	if (s->gone)
		return;
	s->gone = true;
	s->ws = NULL;
	s->conn = NULL;
	while (s->pairs)
		pair_free(s->pairs);
	uv_close((uv_handle_t *)&s->timer, on_timer_closed);
	sess_unref(s); /* the transport's reference */
}

static void feed(pf_sess *s, const void *data, size_t len)
{
	if (s->gone)
		return;
	terr *err = NULL;
	int rc = spdy_session_feed(s->spdy, data, len, &err);
	if (rc == 0)
		return;
	if (rc < 0) {
		log_info("port-forward: %s", err->message);
		terr_free(err);
	}
	if (s->is_ws) {
		if (s->ws)
			ws_close(s->ws, rc < 0 ? 1002 : 1000); /* on_close follows */
	} else {
		http_upgrade_close(s->conn); /* no on_close after this */
		sess_gone(s);
	}
}

static void ws_on_message(void *ud, ws_conn *ws, int opcode, const uint8_t *data, size_t len)
{
	pf_sess *s = ud;
	s->ws = ws;
	if (opcode == WS_OP_BINARY)
		feed(s, data, len);
}

static void ws_on_close(void *ud, ws_conn *ws)
{
	sess_gone(ud);
}

static void up_on_data(void *ud, const char *data, size_t len)
{
	feed(ud, data, len);
}

static void up_on_close(void *ud)
{
	sess_gone(ud);
}

static bool header_has(const http_req *req, const char *name, const char *token)
{
	for (size_t i = 0; i < req->nheaders; i++)
		if (strcmp(req->headers[i].name, name) == 0 && strcasestr(req->headers[i].value, token))
			return true;
	return false;
}

void stream_portforward(agent_streams *as, http_req *req, json_t *pod)
{
	terr *err = NULL;
	const char *ip = json_path_str(pod, "status.podIP");
	const char *uid = json_path_str(pod, "metadata.uid");
	bool is_ws = header_has(req, "upgrade", "websocket");
	bool is_spdy = header_has(req, "upgrade", "spdy/3.1");
	if (!is_ws && !is_spdy) {
		terr_bad_request(&err, "port-forward needs a WebSocket (%s) or SPDY/3.1 upgrade", PF_WS_PROTOCOL);
		stream_send_error(req, err);
		return;
	}
	static const char *const protos[] = {PF_WS_PROTOCOL, NULL};
	if (is_ws && !ws_negotiate(req, protos, &err)) {
		/* kubectl falls back to a plain SPDY upgrade on this answer. */
		stream_send_error(req, err);
		return;
	}
	if (is_spdy && !header_has(req, "x-stream-protocol-version", PF_PROTOCOL)) {
		/* k8s: the upgrade negotiates X-Stream-Protocol-Version; none in common is 403. */
		terr_set(&err, 403, "Forbidden", "unable to upgrade: unable to negotiate protocol: client supports %s, server supports [%s]",
		         http_req_header(req, "x-stream-protocol-version") ? http_req_header(req, "x-stream-protocol-version") : "[]",
		         PF_PROTOCOL);
		stream_send_error(req, err);
		return;
	}
	if (!ip || !*ip) {
		terr_bad_request(&err, "pod %s does not have an IP address yet", json_path_str(pod, "metadata.name"));
		stream_send_error(req, err);
		return;
	}
	log_info("port-forward: pod %s/%s over %s", json_path_str(pod, "metadata.namespace"),
	         json_path_str(pod, "metadata.name"), is_ws ? "WebSocket" : "SPDY");
	pf_sess *s = xcalloc(1, sizeof *s);
	s->as = as;
	s->is_ws = is_ws;
	s->pod_ip = xstrdup(ip);
	s->sandbox = xstrdup(uid ? agent_sandbox_id(uid) : "");
	s->spdy = spdy_session_new(&spdy_ops, s);
	s->refs = 2; /* the transport and the timer */
	uv_timer_init(as->loop, &s->timer);
	s->timer.data = s;
	if (is_ws) {
		static const ws_ops wops = {.on_message = ws_on_message, .on_close = ws_on_close};
		ws_conn *ws = ws_accept(req, PF_WS_PROTOCOL, &wops, s);
		if (!s->gone)
			s->ws = ws;
	} else {
		s->conn = req->conn;
		static const http_upgrade_ops uops = {.on_data = up_on_data, .on_close = up_on_close};
		http_upgrade(req, "Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
		                  "X-Stream-Protocol-Version: " PF_PROTOCOL "\r\n",
		             &uops, s);
	}
}
