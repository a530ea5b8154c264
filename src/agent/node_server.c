/* node_server.c — a standalone agent's kubelet port (node_server.h): HTTPS with the
 * node's serving certificate, clients authenticated by certificates of the cluster CA and
 * only system:masters (the API server's kube-apiserver-kubelet-client) let in; requests
 * take the API server's own pod subresource paths
 * (/api/v1/namespaces/NS/pods/NAME/{log,exec,attach,portforward}) and go to the agent's
 * stream hook, so the API server can pass kubectl's request on unchanged. Also starts the
 * certificate keepers (node_certs.c). Not for: the streams themselves (agent_stream*.c).
 */
#include "agent/node_server.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/kind.h"
#include "apiserver/remote.h"
#include "base/http.h"
#include "base/json.h"
#include "base/log.h"
#include "base/pki.h"
#include "base/util.h"
#include "store/cache.h"

#define NODE_WAIT_MS 1000

struct node_server {
	apiserver *s;
	char *data_dir, *tls_dir, *node;
	int port;
	SSL_CTX *ctx;
	http_server *http;
	node_cert *client, *serving;
	uv_timer_t wait; /* until the Node shows its addresses */
	bool stopping;
	int closing;     /* handles still closing after node_server_stop */
};

static void send_status(http_req *req, int code, const char *reason, const char *msg)
{
	_cleanup_json_ json_t *st = json_pack("{s:s,s:s,s:{},s:s,s:s,s:s,s:i}", "kind", "Status",
	                                      "apiVersion", "v1", "metadata", "status", "Failure",
	                                      "message", msg, "reason", reason, "code", code);
	_cleanup_free_ char *body = json_dump_compact(st);
	http_respond(req, code, "application/json", body, strlen(body), NULL);
}

/* k8s: the kubelet authorizes the API server's client certificate (nodes/proxy); here the
 * fixed rule is group system:masters, which the API server's kubelet client has. */
static bool may_reach_node(const http_req *req)
{
	for (size_t i = 0; i < req->ngroups; i++)
		if (str_eq(req->groups[i], "system:masters"))
			return true;
	return false;
}

static void on_request(http_req *req, void *ud)
{
	node_server *n = ud;
	if (!req->user) {
		send_status(req, 401, "Unauthorized",
		            "a client certificate signed by the cluster CA is required");
		return;
	}
	if (!may_reach_node(req)) {
		_cleanup_free_ char *msg = xasprintf("User \"%s\" may not reach node %s's pods", req->user, n->node);
		send_status(req, 403, "Forbidden", msg);
		return;
	}
	if (str_eq(req->path, "/healthz")) {
		http_respond(req, 200, "text/plain", "ok", 2, NULL);
		return;
	}
	char ns[254], name[254], sub[16];
	int end = 0;
	if (sscanf(req->path, "/api/v1/namespaces/%253[^/]/pods/%253[^/]/%15[a-z]%n", ns, name, sub,
	           &end) != 3 || req->path[end] ||
	    !(str_eq(sub, "log") || str_eq(sub, "exec") || str_eq(sub, "attach") ||
	      str_eq(sub, "portforward"))) {
		send_status(req, 404, "NotFound", "the node agent serves pod streams only");
		return;
	}
	const kind_desc *d = kind_by_group_resource("", "pods");
	_cleanup_free_ char *key = kind_storage_key(d, ns, name);
	const cache_entry *e = cache_get(apiserver_cache(n->s), key);
	_cleanup_json_ json_t *pod = e ? json_loads(e->value->data, 0, NULL) : NULL;
	if (!pod || !apiserver_pod_stream(n->s, req, sub, pod)) {
		_cleanup_free_ char *msg = xasprintf("pods \"%s\" not found on node %s", name, n->node);
		send_status(req, 404, "NotFound", msg);
	}
}

static void listen_now(node_server *n)
{
	if (n->http || n->stopping)
		return;
	_cleanup_free_ char *ca = xasprintf("%s/ca.crt", n->tls_dir);
	_cleanup_free_ char *crt = xasprintf("%s/%s", n->tls_dir, NODE_SERVING_CRT);
	_cleanup_free_ char *key = xasprintf("%s/%s", n->tls_dir, NODE_SERVING_KEY);
	terr *err = NULL;
	n->ctx = pki_server_ctx_files(ca, crt, key, &err);
	if (!n->ctx) {
		log_error("agent: kubelet port: %s", err->message);
		terr_free(err);
		return;
	}
	n->http = http_server_new(apiserver_loop(n->s), n->ctx, on_request, n);
	http_server_set_identity_cb(n->http, pki_peer_identity);
	if (http_server_listen(n->http, "0.0.0.0", n->port, &err) < 0) {
		log_error("agent: kubelet port: %s", err->message);
		terr_free(err);
		return;
	}
	log_info("agent: serving pod streams on port %d", n->port);
}

/* The serving certificate was renewed: new connections present it. */
static void serving_installed(void *ud, const char *cert_pem, const char *key_pem)
{
	node_server *n = ud;
	UNUSED(cert_pem);
	UNUSED(key_pem);
	if (!n->ctx) {
		listen_now(n);
		return;
	}
	_cleanup_free_ char *crt = xasprintf("%s/%s", n->tls_dir, NODE_SERVING_CRT);
	_cleanup_free_ char *key = xasprintf("%s/%s", n->tls_dir, NODE_SERVING_KEY);
	if (SSL_CTX_use_certificate_chain_file(n->ctx, crt) != 1 ||
	    SSL_CTX_use_PrivateKey_file(n->ctx, key, SSL_FILETYPE_PEM) != 1)
		log_error("agent: could not load the renewed serving certificate");
}

static void client_installed(void *ud, const char *cert_pem, const char *key_pem)
{
	node_server *n = ud;
	apiserver_remote_set_client_cert(n->s, cert_pem, key_pem);
}

/* Whether the serving certificate on disk names every one of sans. */
static bool serving_matches(node_server *n, const char *const *sans)
{
	_cleanup_free_ char *crt = xasprintf("%s/%s", n->tls_dir, NODE_SERVING_CRT);
	char *pem = NULL;
	size_t len = 0;
	if (pki_read_file(crt, &pem, &len, NULL) < 0)
		return false;
	bool ok = true;
	for (size_t i = 0; sans[i] && ok; i++)
		ok = pki_cert_has_san(pem, len, sans[i]);
	free(pem);
	return ok;
}

/* Waits for the Node's addresses: the serving certificate names them. */
static void on_wait(uv_timer_t *t)
{
	node_server *n = t->data;
	const kind_desc *d = kind_by_group_resource("", "nodes");
	_cleanup_free_ char *key = kind_storage_key(d, NULL, n->node);
	cache *c = apiserver_cache(n->s);
	const cache_entry *e = cache_get(c, key);
	_cleanup_json_ json_t *node = e ? json_loads(e->value->data, 0, NULL) : NULL;
	char *sans[8] = {0};
	size_t ns = 0, i;
	json_t *a;
	json_array_foreach(json_path(node, "status.addresses"), i, a)
	{
		const char *ty = json_string_value(json_object_get(a, "type"));
		const char *addr = json_string_value(json_object_get(a, "address"));
		if (!addr || ns >= 7)
			continue;
		if (str_eq(ty, "InternalIP") || str_eq(ty, "ExternalIP"))
			sans[ns++] = xasprintf("IP:%s", addr);
		else if (str_eq(ty, "Hostname"))
			sans[ns++] = xasprintf("DNS:%s", addr);
	}
	if (!ns)
		return; /* the timer ticks again */
	uv_timer_stop(t);
	bool have = serving_matches(n, (const char *const *)sans);
	if (!have) {
		/* Names changed (or none yet): what is on disk must not be served. */
		_cleanup_free_ char *crt = xasprintf("%s/%s", n->tls_dir, NODE_SERVING_CRT);
		unlink(crt);
	}
	static const char *const usages[] = {"digital signature", "server auth", NULL};
	n->serving = node_cert_keep(n->s, n->tls_dir, "serving", n->node,
	                            "kubernetes.io/kubelet-serving", (const char *const *)sans,
	                            usages, serving_installed, n);
	for (i = 0; i < ns; i++)
		free(sans[i]);
	if (have)
		listen_now(n);
}

node_server *node_server_start(apiserver *s, const node_server_config *cfg)
{
	node_server *n = xcalloc(1, sizeof *n);
	n->s = s;
	n->data_dir = xstrdup(cfg->data_dir);
	n->tls_dir = xasprintf("%s/tls", cfg->data_dir);
	n->node = xstrdup(cfg->node_name);
	n->port = cfg->port > 0 ? cfg->port : NODE_PORT_DEFAULT;
	static const char *const client_usages[] = {"digital signature", "client auth", NULL};
	n->client = node_cert_keep(s, n->tls_dir, "client", n->node,
	                           "kubernetes.io/kube-apiserver-client-kubelet", NULL,
	                           client_usages, client_installed, n);
	uv_timer_init(apiserver_loop(s), &n->wait);
	n->wait.data = n;
	uv_timer_start(&n->wait, on_wait, 0, NODE_WAIT_MS);
	return n;
}

static void on_wait_closed(uv_handle_t *h)
{
	node_server *n = h->data;
	free(n->data_dir);
	free(n->tls_dir);
	free(n->node);
	n->data_dir = n->tls_dir = n->node = NULL;
	if (--n->closing == 0)
		free(n);
}

static void on_http_closed(void *ud)
{
	node_server *n = ud;
	http_server_free(n->http);
	SSL_CTX_free(n->ctx);
	if (--n->closing == 0)
		free(n);
}

void node_server_stop(node_server *n)
{
	if (!n)
		return;
	n->stopping = true;
	n->closing = n->http ? 2 : 1;
	node_cert_stop(n->client);
	node_cert_stop(n->serving);
	if (n->http)
		http_server_close(n->http, on_http_closed, n);
	else if (n->ctx)
		SSL_CTX_free(n->ctx);
	uv_timer_stop(&n->wait);
	uv_close((uv_handle_t *)&n->wait, on_wait_closed);
}
