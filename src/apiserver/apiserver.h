/* apiserver.h — the Kubernetes API server: HTTPS, authentication, routing, handlers, over the
 * watch cache and the store. Runs on the caller's libuv loop. */
#ifndef TIMON_APISERVER_H
#define TIMON_APISERVER_H

#include <jansson.h>
#include <stdbool.h>
#include <uv.h>

#include "base/error.h"

typedef struct apiserver_config {
	const char *data_dir;     /* holds tls/, state.db, kubeconfig.yaml */
	const char *bind_address; /* default 127.0.0.1 */
	int https_port;           /* default 6443; 0 picks a free port */
	const char *token_file;   /* static bearer tokens (kube's CSV format), or NULL */
	const char *advertise;    /* host name or address put in the kubeconfig, or NULL */
	long signing_ttl_s;       /* lifetime of certificates signed for CSRs; 0: one year */
} apiserver_config;

typedef struct apiserver apiserver;

/* Opens the store, loads the cache, creates certificates and the kubeconfig on first start,
 * and listens. */
apiserver *apiserver_start(uv_loop_t *loop, const apiserver_config *cfg, terr **err);
struct cache;
/* The watch cache (for in-process informers) and the loop. */
struct cache *apiserver_cache(apiserver *s);
uv_loop_t *apiserver_loop(apiserver *s);
/* The data folder (cfg.data_dir; borrowed): controllers keep files below it. */
const char *apiserver_data_dir(const apiserver *s);
/* cfg.signing_ttl_s (0: the signer's default). */
long apiserver_signing_ttl(const apiserver *s);
/* The port actually listened on. */
int apiserver_port(const apiserver *s);
struct metrics_sampler;
/* Serves metrics.k8s.io/v1beta1 (PodMetrics, NodeMetrics) and the node's Prometheus
 * resource metrics from m (borrowed; it must outlive the server or be detached with NULL)
 * for the pods bound to node_name (copied). NULL stops serving. See docs/metrics.md. */
void apiserver_set_metrics(apiserver *s, struct metrics_sampler *m, const char *node_name);
/* ---- pod streams (pods/log, exec, attach, portforward) ---- */
struct http_req;
typedef struct apiserver_pod_streams {
	/* Serves req for the subresource sub ("log", "exec", "attach", "portforward") of pod
	 * (the cached object, borrowed; its spec.nodeName is set) on the loop thread. Returns
	 * true when it took req (and will answer it), false when pod's node is not its own. */
	bool (*serve)(void *ctx, struct http_req *req, const char *sub, json_t *pod);
} apiserver_pod_streams;
/* Routes the pod stream subresources to ops (copied) with ctx: the node agent's hook.
 * Without it (or when it declines a pod) such requests answer an error Status. */
void apiserver_set_pod_streams(apiserver *s, const apiserver_pod_streams *ops, void *ctx);
/* Serves req for the pod stream subresource sub of pod (borrowed) through the hook set
 * with apiserver_set_pod_streams; false when there is none or it declined (req untouched). */
bool apiserver_pod_stream(apiserver *s, struct http_req *req, const char *sub, json_t *pod);

/* Closes listeners and watches, flushes pending writes, and closes the store. Runs the loop
 * until that is done. */
void apiserver_stop(apiserver *s);

#endif
