/* podstream.c — the pod subresources that stream (pods/log, exec, attach, portforward):
 * verb and authorization checks, finding the pod in the watch cache, and handing the
 * request to the node agent that runs it (apiserver_set_pod_streams). The streaming
 * itself (logs, WebSocket, SPDY) is the agent's (src/stream/). Not for: pods/status,
 * binding or eviction.
 */
#include <string.h>

#include "apiserver/apiserver-internal.h"
#include "base/json.h"
#include "base/util.h"

static const char *const stream_subs[] = {"log", "exec", "attach", "portforward", NULL};

void apiserver_set_pod_streams(apiserver *s, const apiserver_pod_streams *ops, void *ctx)
{
	s->pod_streams = ops ? *ops : (apiserver_pod_streams){0};
	s->pod_streams_ctx = ctx;
}

bool apiserver_pod_stream(apiserver *s, http_req *req, const char *sub, json_t *pod)
{
	return s->pod_streams.serve && s->pod_streams.serve(s->pod_streams_ctx, req, sub, pod);
}

bool podstream_is(const api_req *r)
{
	if (!r->sub || !r->name || strcmp(r->kind->resource, "pods") != 0 || r->kind->group[0])
		return false;
	for (size_t i = 0; stream_subs[i]; i++)
		if (strcmp(r->sub, stream_subs[i]) == 0)
			return true;
	return false;
}

void podstream_handle(api_req *r)
{
	terr *err = NULL;
	const char *m = r->http->method;
	bool is_log = strcmp(r->sub, "log") == 0;
	/* k8s: pods/log is read with GET; exec, attach and portforward are connect verbs
	 * reached with GET (WebSocket) or POST (SPDY). */
	if (strcmp(m, "GET") != 0 && (is_log || strcmp(m, "POST") != 0)) {
		terr_set(&err, 405, "MethodNotAllowed",
		         "the server does not allow this method on the requested resource");
		api_send_error(r, err);
		return;
	}
	const char *verb = is_log ? "get" : "create";
	if (!authz_allowed(r, verb)) {
		terr_set(&err, 403, "Forbidden",
		         "pods \"%s\" is forbidden: User \"%s\" cannot %s resource \"pods/%s\" in API group \"\" in the namespace \"%s\"",
		         r->name, r->http->user ? r->http->user : "system:anonymous", verb, r->sub,
		         r->ns ? r->ns : "");
		api_send_error(r, err);
		return;
	}
	_cleanup_free_ char *key = route_key(r->kind, r->ns, r->name);
	const cache_entry *e = cache_get(r->srv->cache, key);
	if (!e) {
		terr_not_found(&err, "pods \"%s\" not found", r->name);
		api_send_error(r, err);
		return;
	}
	_cleanup_json_ json_t *pod = json_loads(e->value->data, 0, NULL);
	const char *node = json_string_value(json_object_get(json_object_get(pod, "spec"), "nodeName"));
	if (!node || !*node) {
		/* k8s: the pod registry's connection lookup fails before the pod is bound. */
		terr_bad_request(&err, "pod %s does not have a host assigned", r->name);
		api_send_error(r, err);
		return;
	}
	apiserver *s = r->srv;
	http_req *h = r->http;
	/* The hook or the proxy may answer at once (which ends h): r must not hold it
	 * afterwards. */
	_cleanup_free_ char *sub = xstrdup(r->sub);
	api_req_free(r);
	if (apiserver_pod_stream(s, h, sub, pod))
		return;
	/* k8s: the API server reaches the kubelet of the pod's node: a joined agent on its
	 * kubelet port. A node with no agent (a simulated node) cannot be reached, which kube
	 * reports as an internal error. */
	if (podstream_proxy(s, h, sub, node))
		return;
	r = xcalloc(1, sizeof *r);
	r->http = h;
	r->srv = s;
	terr_set(&err, 500, "InternalError",
	         "no node agent serves node \"%s\": cannot reach the pod's container runtime", node);
	api_send_error(r, err);
}
