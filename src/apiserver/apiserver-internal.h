/* apiserver-internal.h — shared state of the API server's files: the server, the parsed
 * request, and the helpers each handler family uses. Not an interface for other modules
 * (that is apiserver.h). */
#ifndef TIMON_APISERVER_INTERNAL_H
#define TIMON_APISERVER_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>

#include "api/kind.h"
#include "apiserver/apiserver.h"
#include "base/buf.h"
#include "base/error.h"
#include "base/http.h"
#include "store/cache.h"

struct token_table;
struct satoken;

struct apiserver {
	uv_loop_t *loop;
	apiserver_config cfg;
	http_server *http;
	cache *cache;
	SSL_CTX *ssl_ctx;
	struct token_table *tokens;
	struct satoken *satoken; /* ServiceAccount token signer (satoken.c) */
	uv_timer_t bookmark_timer;
	uv_timer_t ns_timer;
	struct watch_stream *watches; /* every open watch, for bookmarks and shutdown */
	char *discovery_cache[2];     /* aggregated /api and /apis, per kind generation */
	unsigned discovery_gen;
	int64_t started_ns;
	bool ready;
	struct metrics_sampler *metrics; /* metrics.k8s.io source (metrics_api.c), or NULL */
	char *metrics_node;              /* the node whose pods it measures */
	apiserver_pod_streams pod_streams; /* the node agent's; serve NULL when none */
	void *pod_streams_ctx;
	char *join_credential; /* bearer token of joining agents (jointoken.h), or NULL */
	char *ca_pem;          /* the cluster CA certificate, served on /cacerts */
	size_t ca_pem_len;
	struct remote *remote; /* a standalone agent's view of a remote server (remote.c),
	                          or NULL: then this is the server itself */
	http_server *node_http; /* a standalone agent's own port (pod streams), or NULL */
	SSL_CTX *node_client_ctx; /* TLS toward node agents (podstream_proxy.c), made on use */
};

enum field_validation { FV_IGNORE, FV_WARN, FV_STRICT };

/* One API request: the route, the negotiated formats, and the options common to writes. */
typedef struct api_req {
	http_req *http;
	apiserver *srv;
	const kind_desc *kind;
	char *ns;        /* namespace from the path, or NULL */
	char *name;      /* object name, or NULL for collections */
	char *sub;       /* subresource ("status", "scale", ...) or NULL */
	bool watch_path; /* the deprecated /watch/ prefix */
	/* Negotiated representation. */
	bool want_table;
	bool table_full_object; /* includeObject=Object */
	bool table_no_object;   /* includeObject=None */
	bool want_yaml;
	bool want_pb;
	bool reply_scale; /* answer with the Scale view of the written object */
	/* Write options. */
	bool dry_run;
	enum field_validation field_validation;
	char *field_manager;
	bool force;
	buf warnings; /* "Warning: 299 - \"...\"\r\n" lines */
} api_req;

/* apiserver.c */
/* Serves one request (from a connection or in process). */
void apiserver_handle(apiserver *s, http_req *h);
/* A query-string boolean as Go's strconv.ParseBool reads it (NULL is false). */
bool query_bool(const char *v);
void api_req_free(api_req *r);
/* Sends obj (or its Table form when asked) with status code; consumes nothing. */
void api_send_object(api_req *r, int code, json_t *obj);
/* Sends raw JSON bytes of a stored object. */
void api_send_json_bytes(api_req *r, int code, const char *json, size_t len);
/* Sends a Status for err (consumed) and finishes the request. */
void api_send_error(api_req *r, terr *err);
/* Proxies the pod stream request h (subresource sub of a pod bound to node) to the node's
 * agent port (podstream_proxy.c) and answers h; false (h untouched) when the node has no
 * agent to reach: absent, simulated, or without an InternalIP and kubelet port. */
bool podstream_proxy(apiserver *s, http_req *h, const char *sub, const char *node);
/* Sends any JSON value with a content type. */
void api_send_raw(http_req *h, int code, const char *ctype, const char *body, size_t len);

/* status.c */
/* The Status object for err, with details naming the kind and object when known. */
json_t *status_from_error(const terr *err, const kind_desc *d, const char *name);
json_t *status_success(const kind_desc *d, const char *name, const char *uid);
/* The "resource.group" form kube uses in messages: "deployments.apps", "pods". */
void kind_qualified_resource(const kind_desc *d, char out[256]);

/* route.c */
/* Parses req->http->path into kind/ns/name/sub; 0 when it is a resource path, 1 when not a
 * resource path (other handlers try it), -1 with err (404) when it names nothing. */
int route_parse(api_req *r, terr **err);
/* The storage key of an object, or of a collection prefix when name is NULL ("/registry/
 * pods/default/" or "/registry/pods/" when ns is NULL too). Caller frees. */
char *route_key(const kind_desc *d, const char *ns, const char *name);

/* discovery.c */
/* Answers /api, /apis, /apis/<g>, and /api(s)/.../<v>; returns false when path is none. */
bool discovery_handle(apiserver *s, http_req *h);

/* codec.c */
/* Decodes the request body by its Content-Type (JSON, YAML, protobuf) into an object. */
json_t *codec_decode_body(api_req *r, terr **err);
/* Checks obj for fields the schema does not know (per fieldValidation, errors or warns) and
 * for members of the wrong JSON type: 400 BadRequest, as a body that does not decode. */
int codec_check_fields(api_req *r, json_t *obj, terr **err);
/* codec_check_fields for obj, the result of a JSON or merge patch, or (strategic) of the
 * strategic merge patch `patch`: 422 Invalid on the field "patch", as kube's patch handler
 * answers. */
int codec_check_patched(api_req *r, json_t *obj, json_t *patch, bool strategic, terr **err);
/* Fills the negotiation and write options of r from headers and query. */
int codec_parse_options(api_req *r, terr **err);

/* read.c */
struct label_selector;
struct field_selector;
typedef struct list_opts {
	struct label_selector *labels;
	struct field_selector *fields;
	long limit;
	char *after; /* continue: the last key of the previous page */
	int64_t cont_rv;
} list_opts;
/* Parses labelSelector, fieldSelector, limit and continue. */
int list_parse_opts(api_req *r, list_opts *o, terr **err);
void list_opts_free(list_opts *o);
/* True when the entry passes the selectors; *parsed (may be NULL) receives the parsed
 * object when the field selector needed it (caller owns it). */
bool list_matches(const list_opts *o, const cache_entry *e, json_t **parsed);
void handle_get(api_req *r);
void handle_list(api_req *r);
/* The Table form of a list of objects (borrowed) for d. */
json_t *table_build(api_req *r, json_t **objs, size_t n, const char *rv, const char *cont,
                    bool with_columns);

/* write.c */
void handle_create(api_req *r);
void handle_update(api_req *r);
void handle_patch(api_req *r);
void handle_delete(api_req *r);
void handle_delete_collection(api_req *r);
/* Writes obj (still the caller's) under its key at the next revision; cb as in cache.
 * Sets metadata.resourceVersion. Returns the revision. */
int64_t store_object(apiserver *s, const kind_desc *d, json_t *obj, int type, cache_write_cb cb,
                     void *ud);
/* store_object, also giving the stored bytes (a reference) when they are obj's own
 * serialization — no storage conversion, not a deletion — else NULL, so that the answer
 * can reuse them instead of serializing obj again. share: obj (or its storage form) is
 * read-only from now on, and the cache keeps it as the tree of the stored bytes for the
 * write's readers (cache_write). */
int64_t store_object_bytes(apiserver *s, const kind_desc *d, json_t *obj, int type,
                           cache_write_cb cb, void *ud, blob **same, bool share);
/* Loads the stored object at key as a new JSON tree; NULL when absent. */
json_t *load_object(apiserver *s, const char *key);

/* lifecycle.c: deletion with finalizers, namespaces, and internal writes. */
/* Deletes obj now or marks it (deletionTimestamp) when finalizers or grace keep it. */
void lifecycle_delete(apiserver *s, const kind_desc *d, json_t *obj, json_t *opts,
                      bool dry_run, cache_write_cb cb, void *ud, bool *deleted_now);
/* Background work: finishing namespaces that are being deleted. */
void lifecycle_start(apiserver *s);
/* Ensures the namespaces and objects every cluster has (default, kube-system, ...). */
void lifecycle_bootstrap(apiserver *s);

/* watch.c */
void handle_watch(api_req *r);
void watch_bookmarks(apiserver *s);
void watch_close_all(apiserver *s);

/* podstream.c */
/* True when r names a pod stream subresource (log, exec, attach, portforward). */
bool podstream_is(const api_req *r);
/* Serves such a request: checks verb and authorization, finds the pod, hands it to the
 * node agent's hook. Consumes r. */
void podstream_handle(api_req *r);

/* authz.c */
/* True when the request's user may do verb on the resource (system:masters: always). */
bool authz_allowed(api_req *r, const char *verb);
void handle_access_review(api_req *r);

/* metrics_api.c */
/* Answers get and list of metrics.k8s.io PodMetrics and NodeMetrics (r is routed and
 * authorized). */
void metrics_api_handle(api_req *r);
/* Answers GET /api/v1/nodes/<this node>/proxy/metrics/resource (Prometheus text); false
 * when h is another path. */
bool metrics_api_raw(apiserver *s, http_req *h);

/* remote.c */
/* client_do for a standalone agent (s->remote set): the request goes over HTTPS; the
 * answer is applied to the mirror when newer, then cb runs (client.h). */
typedef void (*remote_cb)(void *ud, int code, json_t *obj);
void remote_client_do(apiserver *s, const char *manager, const char *method, const char *path,
                      json_t *body, const char *ctype, remote_cb cb, void *ud);

/* crd.c */
/* Registers (or updates) the custom kinds a CRD object defines. */
void crd_register(json_t *crd);
void crd_unregister(json_t *crd);
void crd_load_all(apiserver *s);

#endif
