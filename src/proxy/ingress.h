/* ingress.h — timon's ingress controller: networking.k8s.io/v1 Ingresses of the class
 * `timon` served by timon's own HTTP/1.1 reverse proxy on the node (ports 80 and 443 by
 * default), balancing over the ready endpoints of the backend Services.
 *
 * Three parts, each in its own file:
 *  - the route table (ingress_routes.c, pure): Ingresses + Services + EndpointSlices +
 *    TLS Secrets → an immutable table; host and path matching by Kubernetes' rules;
 *  - the proxy (ingress_proxy.c, on the loop): client connections (plain and TLS with SNI),
 *    pooled keep-alive backend connections, streaming with bounded buffers, errors
 *    (404/502/503/504), X-Forwarded-* headers, and per-route metrics (ingress_metrics.c);
 *  - the controller (ingress_controller.c): informers, rebuilding the table, the default
 *    IngressClass, status.loadBalancer.
 * See docs/ingress.md. Not for: L4 services (proxy.c) or HTTP/2 and WebSockets (later).
 */
#ifndef TIMON_PROXY_INGRESS_H
#define TIMON_PROXY_INGRESS_H

#include <jansson.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "base/error.h"

#define INGRESS_CLASS      "timon"
#define INGRESS_CONTROLLER "timon.dev/ingress"

/* ---------- metrics (ingress_metrics.c) ---------- */

#define INGRESS_NBUCKETS 12

/* The counters of one route (never freed: a route's series live as long as the process,
 * as Prometheus counters should). Touched on the loop thread only. */
typedef struct ingress_metric {
	char *labels;             /* namespace="..",ingress="..",host="..",path="..",service=".." */
	uint64_t code_count[600]; /* by status code; [0]: none sent */
	uint64_t buckets[INGRESS_NBUCKETS];
	uint64_t count;
	double sum;
} ingress_metric;

/* The series for these labels, made on first use. */
ingress_metric *ingress_metric_get(const char *ns, const char *ing, const char *host,
                                   const char *path, const char *svc);
void ingress_metric_observe(ingress_metric *m, int status, double seconds);
/* The Prometheus text exposition of every series; caller frees. */
char *ingress_metrics_text(void);

/* ---------- route table (ingress_routes.c) ---------- */

enum ingress_path_type { INGRESS_PREFIX, INGRESS_EXACT };

typedef struct ingress_backend {
	char *service;             /* "ns/name", for logs */
	struct sockaddr_in *addrs; /* ready endpoints */
	size_t naddrs;
	size_t next; /* round-robin cursor */
	ingress_metric *metric;
} ingress_backend;

typedef struct ingress_path {
	enum ingress_path_type type;
	char *path; /* as written; matching ignores a trailing '/' for Prefix */
	size_t len; /* the length that counts for "longest match" */
	ingress_backend *be;
} ingress_path;

typedef struct ingress_host {
	char *host; /* lowercase; "" matches every host; "*.a.b" one label under a.b */
	ingress_path *paths;
	size_t npaths;
} ingress_host;

typedef struct ingress_cert {
	char *host; /* lowercase; may be a wildcard */
	SSL_CTX *ctx;
} ingress_cert;

typedef struct ingress_table {
	int refs;
	ingress_host *hosts;
	size_t nhosts;
	ingress_backend *default_be; /* spec.defaultBackend of the oldest Ingress, or NULL */
	ingress_backend **backends;  /* every backend, owned here */
	size_t nbackends;
	ingress_cert *certs;
	size_t ncerts;
} ingress_table;

/* The inputs; every json borrowed. ingresses: the Ingresses this controller serves, any
 * order (sorted here, oldest first, so older Ingresses win conflicts). services/slices:
 * all (those of other namespaces are ignored). secrets: kubernetes.io/tls Secrets. */
typedef struct ingress_input {
	json_t **ingresses;
	size_t ningresses;
	json_t **services;
	size_t nservices;
	json_t **slices;
	size_t nslices;
	json_t **secrets;
	size_t nsecrets;
} ingress_input;

/* A new table (refs 1). Problems (missing secret, bad certificate) are logged and skip
 * what they affect. */
ingress_table *ingress_table_build(const ingress_input *in);
ingress_table *ingress_table_ref(ingress_table *t);
void ingress_table_unref(ingress_table *t);

/* k8s: the Ingress matching rules: the host (Host header without port, any case; exact
 * hosts before wildcards, wildcards cover one label), then the longest matching path
 * (Exact: equal; Prefix: by '/'-separated elements; a tie goes to Exact), then the rules
 * without host, then the default backend. path: the request path without the query.
 * Returns the backend or NULL (404); *matched gets the route's path when non-NULL. */
ingress_backend *ingress_table_match(const ingress_table *t, const char *host, size_t hostlen,
                                     const char *path, size_t pathlen);
/* The SSL_CTX for an SNI name (NULL name: none sent), or NULL when none fits. */
SSL_CTX *ingress_table_cert(const ingress_table *t, const char *name);
/* k8s: Prefix matching: does prefix p (no trailing '/' needed) match request path r? */
bool ingress_prefix_match(const char *p, size_t plen, const char *r, size_t rlen);
/* Does the rule host h ("", exact or "*.x") cover the request host name (lowercase)? */
bool ingress_host_match(const char *h, const char *name, size_t len);

/* ---------- proxy (ingress_proxy.c) ---------- */

typedef struct ingress_proxy ingress_proxy;

typedef struct ingress_proxy_config {
	const char *addr;            /* listen address, "0.0.0.0" */
	int http_port;               /* 0: none */
	int https_port;              /* 0: none */
	int metrics_port;            /* 0: none */
	uint64_t backend_timeout_ms; /* connect + response headers (504 after); 0: 60 s */
} ingress_proxy_config;

/* Listens and serves; table swapped in with ingress_proxy_set_table. NULL with err set
 * when a port cannot be bound. */
ingress_proxy *ingress_proxy_start(uv_loop_t *loop, const ingress_proxy_config *cfg, terr **err);
/* Takes a reference to t; requests already routed keep what they picked. */
void ingress_proxy_set_table(ingress_proxy *p, ingress_table *t);
/* Ports actually bound (after start). */
int ingress_proxy_port(const ingress_proxy *p, bool https);
/* Closes listeners and connections; memory goes once libuv closed the handles. */
void ingress_proxy_stop(ingress_proxy *p);

#endif
