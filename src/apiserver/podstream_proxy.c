/* podstream_proxy.c — pod streams for pods of other nodes: the API server reaches the
 * node agent on its kubelet port (the Node's InternalIP and
 * status.daemonEndpoints.kubeletEndpoint.Port) over TLS, verifying the agent's serving
 * certificate against the cluster CA for that address and presenting its own client
 * certificate (kube-apiserver-kubelet-client, group system:masters). The request goes on
 * unchanged (same path, query and upgrade headers); a log answer is relayed chunk by
 * chunk, an upgrade (exec, attach, port-forward: WebSocket or SPDY) becomes a byte tunnel
 * between the two upgraded connections. Everything runs on the loop thread. Not for: the
 * streams themselves (src/agent/agent_stream*.c).
 */
#include <http_parser.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/apiserver-internal.h"
#include "base/json.h"
#include "base/log.h"
#include "base/pki.h"
#include "base/tlsconn.h"
#include "base/util.h"

#define DIAL_TIMEOUT_MS  10000
#define MAX_BODY         (3u << 20)
#define HIGH_WATER       (1u << 20)  /* pause the agent side while kubectl has this queued */
#define MAX_QUEUED       (16u << 20) /* a side that leaves this unread is dropped */
#define DRAIN_CHECK_MS   20

typedef struct pxy {
	apiserver *s;
	http_req *req;     /* until answered or upgraded */
	http_conn *conn;   /* kubectl's connection after the upgrade */
	tlsconn *up;       /* the agent */
	char *node, *where;
	http_parser parser;
	bool is_log;
	bool streaming;    /* a log answer is being relayed */
	bool upgraded;
	bool finished;
	buf hname, hval;
	bool in_value;
	char **hdrs;       /* the agent's answer headers: name (lowercase), value, ... */
	size_t nhdrs;
	buf body;
	uv_timer_t drain;
} pxy;

static void send_status(http_req *h, int code, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void send_status(http_req *h, int code, const char *reason, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *msg = NULL;
	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	va_end(ap);
	_cleanup_json_ json_t *st = json_pack("{s:s,s:s,s:{},s:s,s:s,s:s,s:i}", "kind", "Status",
	                                      "apiVersion", "v1", "metadata", "status", "Failure",
	                                      "message", msg, "reason", reason, "code", code);
	_cleanup_free_ char *body = json_dump_compact(st);
	http_respond(h, code, "application/json", body, strlen(body), NULL);
}

static void on_drain_closed(uv_handle_t *h)
{
	pxy *p = h->data;
	buf_free(&p->hname);
	buf_free(&p->hval);
	buf_free(&p->body);
	for (size_t i = 0; i < p->nhdrs; i++)
		free(p->hdrs[i]);
	free(p->hdrs);
	free(p->node);
	free(p->where);
	free(p);
}

/* Ends both sides without further callbacks and frees p once its timer is closed. */
static void finish(pxy *p)
{
	if (p->finished)
		return;
	p->finished = true;
	if (p->up)
		tlsconn_close(p->up);
	p->up = NULL;
	if (p->conn)
		http_upgrade_close(p->conn);
	p->conn = NULL;
	uv_timer_stop(&p->drain);
	uv_close((uv_handle_t *)&p->drain, on_drain_closed);
}

/* ---------- the agent's answer ---------- */

static void header_done(pxy *p)
{
	if (!p->in_value)
		return;
	for (size_t i = 0; i < p->hname.n; i++)
		p->hname.p[i] = (char)(p->hname.p[i] >= 'A' && p->hname.p[i] <= 'Z' ? p->hname.p[i] + 32 : p->hname.p[i]);
	if (p->nhdrs < 64) {
		p->hdrs = xrealloc(p->hdrs, (p->nhdrs + 2) * sizeof *p->hdrs);
		p->hdrs[p->nhdrs++] = buf_take(&p->hname);
		p->hdrs[p->nhdrs++] = buf_take(&p->hval);
	}
	buf_reset(&p->hname);
	buf_reset(&p->hval);
	p->in_value = false;
}

static const char *answer_header(pxy *p, const char *name)
{
	for (size_t i = 0; i + 1 < p->nhdrs; i += 2)
		if (strcmp(p->hdrs[i], name) == 0)
			return p->hdrs[i + 1];
	return NULL;
}

static int on_hfield(http_parser *hp, const char *at, size_t len)
{
	pxy *p = hp->data;
	header_done(p);
	buf_add(&p->hname, at, len);
	return p->hname.n > 8192 ? -1 : 0;
}

static int on_hvalue(http_parser *hp, const char *at, size_t len)
{
	pxy *p = hp->data;
	p->in_value = true;
	buf_add(&p->hval, at, len);
	return p->hval.n > 65536 ? -1 : 0;
}

static void on_client_gone(http_req *req)
{
	pxy *p = req->ud;
	p->req = NULL;
	finish(p);
}

static int on_headers_complete(http_parser *hp)
{
	pxy *p = hp->data;
	header_done(p);
	if (hp->status_code == 200 && p->is_log && p->req) {
		const char *ct = answer_header(p, "content-type");
		p->streaming = true;
		p->req->ud = p;
		p->req->on_close = on_client_gone;
		http_stream_begin(p->req, 200, ct ? ct : "text/plain");
	}
	return 0;
}

static int on_body(http_parser *hp, const char *at, size_t len)
{
	pxy *p = hp->data;
	if (p->streaming) {
		/* -1: kubectl went away (on_client_gone ran and finished p). */
		return p->req && http_stream_write(p->req, at, len) == 0 ? 0 : -1;
	}
	if (p->body.n + len > MAX_BODY)
		return -1;
	buf_add(&p->body, at, len);
	return 0;
}

static int on_message_complete(http_parser *hp)
{
	pxy *p = hp->data;
	if (hp->upgrade)
		return 0; /* handled after the parser stops */
	if (p->req) {
		if (p->streaming) {
			p->req->on_close = NULL;
			http_stream_end(p->req);
		} else {
			const char *ct = answer_header(p, "content-type");
			http_respond(p->req, hp->status_code, ct ? ct : "application/json",
			             p->body.p ? p->body.p : "", p->body.n, NULL);
		}
		p->req = NULL;
	}
	finish(p);
	return -1;
}

static const http_parser_settings answer_settings = {
    .on_header_field = on_hfield,
    .on_header_value = on_hvalue,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* ---------- the tunnel after an upgrade ---------- */

static void on_drain_check(uv_timer_t *t)
{
	pxy *p = t->data;
	if (!p->conn || !p->up)
		return;
	if (http_conn_queued(p->conn) < HIGH_WATER / 2) {
		uv_timer_stop(t);
		tlsconn_pause(p->up, false);
	}
}

static void client_data(void *ud, const char *data, size_t len)
{
	pxy *p = ud;
	if (p->up && tlsconn_write(p->up, data, len, MAX_QUEUED) < 0)
		finish(p);
}

static void client_closed(void *ud)
{
	pxy *p = ud;
	p->conn = NULL; /* the connection is gone: nothing to close there */
	finish(p);
}

static const http_upgrade_ops tunnel_ops = {.on_data = client_data, .on_close = client_closed};

static void to_client(pxy *p, const char *data, size_t len)
{
	if (!len || !p->conn)
		return;
	if (http_upgrade_write(p->conn, data, len) < 0) {
		finish(p); /* client_closed ran already when the write dropped it */
		return;
	}
	if (p->conn && p->up && http_conn_queued(p->conn) > HIGH_WATER) {
		tlsconn_pause(p->up, true);
		uv_timer_start(&p->drain, on_drain_check, DRAIN_CHECK_MS, DRAIN_CHECK_MS);
	}
}

/* The agent switched protocols: answer kubectl the same way and join the two. */
static void start_tunnel(pxy *p, const char *rest, size_t len)
{
	static const char *const copy[] = {"upgrade", "connection", "sec-websocket-accept",
	                                   "sec-websocket-protocol", "x-stream-protocol-version",
	                                   NULL};
	buf extra = {0};
	for (size_t i = 0; i + 1 < p->nhdrs; i += 2)
		for (size_t k = 0; copy[k]; k++)
			if (strcmp(p->hdrs[i], copy[k]) == 0)
				buf_printf(&extra, "%s: %s\r\n", p->hdrs[i], p->hdrs[i + 1]);
	http_req *req = p->req;
	p->req = NULL;
	p->conn = req->conn;
	p->upgraded = true;
	http_upgrade(req, extra.p, &tunnel_ops, p);
	buf_free(&extra);
	if (!p->finished)
		to_client(p, rest, len);
}

/* ---------- the agent connection ---------- */

static void agent_data(void *ud, const char *data, size_t len)
{
	pxy *p = ud;
	if (p->upgraded) {
		to_client(p, data, len);
		return;
	}
	size_t n = http_parser_execute(&p->parser, &answer_settings, data, len);
	if (p->finished)
		return;
	if (p->parser.upgrade) {
		if (p->parser.status_code == 101 && p->req) {
			start_tunnel(p, data + n, len - n);
			return;
		}
	} else if (HTTP_PARSER_ERRNO(&p->parser) == HPE_OK) {
		return;
	}
	/* A malformed answer, or one too large. */
	if (p->req && !p->streaming)
		send_status(p->req, 502, "BadGateway", "node %s (%s) answered malformed HTTP: %s",
		            p->node, p->where, http_errno_description(HTTP_PARSER_ERRNO(&p->parser)));
	else if (p->req)
		http_stream_end(p->req);
	p->req = NULL;
	finish(p);
}

static void agent_closed(void *ud, const char *error)
{
	pxy *p = ud;
	p->up = NULL;
	if (p->upgraded) {
		finish(p);
		return;
	}
	/* An answer that ends with the connection completes now. */
	if (!error)
		http_parser_execute(&p->parser, &answer_settings, NULL, 0);
	if (p->finished)
		return;
	if (p->req && p->streaming) {
		p->req->on_close = NULL;
		http_stream_end(p->req);
	} else if (p->req) {
		/* k8s: an unreachable kubelet is the API server's problem to report, with the
		 * dial error, and never a hang: the dial is bounded. */
		send_status(p->req, 503, "ServiceUnavailable",
		            "cannot reach the node agent of node \"%s\" at %s: %s", p->node,
		            p->where, error ? error : "the connection closed without an answer");
	}
	p->req = NULL;
	finish(p);
}

static void agent_ready(void *ud)
{
	pxy *p = ud;
	http_req *h = p->req;
	static const char *const copy[] = {"upgrade", "connection", "sec-websocket-key",
	                                   "sec-websocket-version", "sec-websocket-protocol",
	                                   "x-stream-protocol-version", "user-agent", "accept",
	                                   NULL};
	buf head = {0};
	buf_printf(&head, "%s %s%s%s HTTP/1.1\r\nHost: %s\r\n", h->method, h->path,
	           h->query[0] ? "?" : "", h->query, p->where);
	bool upgrade = false;
	for (size_t i = 0; i < h->nheaders; i++)
		for (size_t k = 0; copy[k]; k++)
			if (strcmp(h->headers[i].name, copy[k]) == 0) {
				buf_printf(&head, "%s: %s\r\n", h->headers[i].name, h->headers[i].value);
				upgrade |= k == 0;
			}
	if (!upgrade)
		buf_puts(&head, "Connection: close\r\n");
	if (strcmp(h->method, "POST") == 0)
		buf_puts(&head, "Content-Length: 0\r\n");
	buf_puts(&head, "\r\n");
	if (tlsconn_write(p->up, head.p, head.n, MAX_QUEUED) < 0)
		log_debug("podstream: writing to node %s failed", p->node);
	buf_free(&head);
}

static const tlsconn_ops agent_ops = {
    .on_ready = agent_ready, .on_data = agent_data, .on_close = agent_closed};

/* The node's InternalIP and kubelet port from the cache; false when it has none. */
static bool node_endpoint(apiserver *s, const char *node, char *ip, size_t iplen, int *port)
{
	const kind_desc *d = kind_by_group_resource("", "nodes");
	_cleanup_free_ char *key = route_key(d, NULL, node);
	const cache_entry *e = cache_get(s->cache, key);
	if (!e)
		return false;
	_cleanup_json_ json_t *obj = json_loads(e->value->data, 0, NULL);
	/* A simulated node (controllers/simnode.c) reports a port nobody listens on. */
	if (str_eq(json_path_str(obj, "metadata.annotations.timon\\.dev/simulated"), "true"))
		return false;
	*port = (int)json_integer_value(json_path(obj, "status.daemonEndpoints.kubeletEndpoint.Port"));
	size_t i;
	json_t *a;
	json_array_foreach(json_path(obj, "status.addresses"), i, a)
	{
		if (str_eq(json_string_value(json_object_get(a, "type")), "InternalIP")) {
			snprintf(ip, iplen, "%s", json_string_value(json_object_get(a, "address")));
			return *port > 0 && *port < 65536;
		}
	}
	return false;
}

bool podstream_proxy(apiserver *s, http_req *h, const char *sub, const char *node)
{
	char ip[64] = "";
	int port = 0;
	if (!node_endpoint(s, node, ip, sizeof ip, &port))
		return false;
	if (!s->node_client_ctx) {
		terr *err = NULL;
		_cleanup_free_ char *ca = xasprintf("%s/tls/%s", s->cfg.data_dir, PKI_CA_CRT);
		_cleanup_free_ char *crt = xasprintf("%s/tls/%s", s->cfg.data_dir, PKI_KUBELET_CLIENT_CRT);
		_cleanup_free_ char *key = xasprintf("%s/tls/%s", s->cfg.data_dir, PKI_KUBELET_CLIENT_KEY);
		s->node_client_ctx = pki_client_ctx(ca, crt, key, &err);
		if (!s->node_client_ctx) {
			send_status(h, 500, "InternalError", "TLS toward node agents: %s", err->message);
			terr_free(err);
			return true;
		}
	}
	pxy *p = xcalloc(1, sizeof *p);
	p->s = s;
	p->req = h;
	p->node = xstrdup(node);
	p->where = xasprintf(strchr(ip, ':') ? "[%s]:%d" : "%s:%d", ip, port);
	p->is_log = strcmp(sub, "log") == 0;
	http_parser_init(&p->parser, HTTP_RESPONSE);
	p->parser.data = p;
	uv_timer_init(s->loop, &p->drain);
	p->drain.data = p;
	p->up = tlsconn_dial(s->loop, s->node_client_ctx, ip, port, DIAL_TIMEOUT_MS, &agent_ops, p);
	if (!p->up) {
		send_status(h, 503, "ServiceUnavailable", "node \"%s\" has an invalid address %s",
		            node, ip);
		p->req = NULL;
		finish(p);
	}
	return true;
}
