/* apiserver.c — the API server's front door: start-up, authentication, the verb dispatch,
 * the non-resource endpoints (/version, /healthz, /openapi), and response encoding.
 * Not for: the handlers themselves (read.c, write.c, watch.c, discovery.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "api/openapi.h"
#include "api/convert.h"
#include "apiserver/apiserver-internal.h"
#include "apiserver/rbac.h"
#include "apiserver/satoken.h"
#include "apiserver/scale.h"
#include "base/json.h"
#include "base/jointoken.h"
#include "controllers/controller.h"
#include "base/kubeconfig.h"
#include "base/log.h"
#include "base/pki.h"
#include "base/tokenfile.h"
#include "base/util.h"
#include "base/version.h"
#include "base/yaml.h"

/* ---------- responses ---------- */

void api_send_raw(http_req *h, int code, const char *ctype, const char *body, size_t len)
{
	http_respond(h, code, ctype, body, len, NULL);
}

static void send_with_warnings(api_req *r, int code, const char *ctype, const char *body,
                               size_t len)
{
	http_respond(r->http, code, ctype, body, len, r->warnings.n ? r->warnings.p : NULL);
	r->http = NULL;
	api_req_free(r);
}

void api_send_json_bytes(api_req *r, int code, const char *json, size_t len)
{
	if (r->want_table || r->want_yaml) {
		json_t *o = json_loadb(json, len, 0, NULL);
		if (o) {
			api_send_object(r, code, o);
			json_decref(o);
			return;
		}
	}
	send_with_warnings(r, code, "application/json", json, len);
}

void api_send_object(api_req *r, int code, json_t *obj)
{
	_cleanup_json_ json_t *cv = r->kind ? convert_for_read(r->kind, obj, NULL) : NULL;
	if (cv)
		obj = cv;
	json_t *out = obj;
	_cleanup_json_ json_t *table = NULL;
	_cleanup_json_ json_t *scale = NULL;
	const char *kind = json_string_value(json_object_get(obj, "kind"));
	if (r->reply_scale && r->kind && str_eq(kind, r->kind->kind)) {
		scale = scale_from_object(r->kind, obj);
		out = obj = scale;
		kind = "Scale";
	}
	bool is_status = kind && strcmp(kind, "Status") == 0;
	if (r->want_table && !is_status && r->kind) {
		table = table_build(r, &obj, 1, json_path_str(obj, "metadata.resourceVersion"), NULL,
		                    true);
		out = table;
	}
	if (r->want_yaml) {
		_cleanup_free_ char *y = json_to_yaml(out);
		send_with_warnings(r, code, "application/yaml", y, strlen(y));
		return;
	}
	if (http_req_takes_obj(r->http)) {
		/* In process: the caller reads the tree; serializing it only to parse it again
		 * was most of an internal write's cost. */
		http_respond_obj(r->http, code, out);
		r->http = NULL;
		api_req_free(r);
		return;
	}
	_cleanup_free_ char *s = json_dump_compact(out);
	send_with_warnings(r, code, "application/json", s, strlen(s));
}

void api_send_error(api_req *r, terr *err)
{
	_cleanup_json_ json_t *st = status_from_error(err, r->kind, r->name);
	int code = err->code ? err->code : 500;
	terr_free(err);
	r->want_table = false;
	r->want_yaml = false;
	api_send_object(r, code, st);
}

void api_req_free(api_req *r)
{
	if (!r)
		return;
	free(r->ns);
	free(r->name);
	free(r->sub);
	free(r->field_manager);
	buf_free(&r->warnings);
	free(r);
}

static void send_status(http_req *h, int code, const char *reason, const char *msg)
{
	terr *e = NULL;
	terr_set(&e, code, reason, "%s", msg);
	_cleanup_json_ json_t *st = status_from_error(e, NULL, NULL);
	terr_free(e);
	_cleanup_free_ char *s = json_dump_compact(st);
	http_respond(h, code, "application/json", s, strlen(s), NULL);
}

/* ---------- non-resource endpoints ---------- */

static void send_version(http_req *h)
{
	_cleanup_json_ json_t *v = json_pack(
	    "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "major", TIMON_K8S_MAJOR, "minor",
	    TIMON_K8S_MINOR, "gitVersion", TIMON_K8S_GIT_VERSION, "gitCommit", "timon-" TIMON_VERSION,
	    "gitTreeState", "clean", "buildDate", "2026-11-27T00:00:00Z", "goVersion", "go1.23.0",
	    "compiler", "gc", "platform", "linux/amd64");
	_cleanup_free_ char *s = json_dump_compact(v);
	http_respond(h, 200, "application/json", s, strlen(s), NULL);
}

static bool health_path(const char *p)
{
	static const char *const roots[] = {"/healthz", "/livez", "/readyz"};
	for (size_t i = 0; i < ARRAY_SIZE(roots); i++) {
		size_t n = strlen(roots[i]);
		if (strncmp(p, roots[i], n) == 0 && (p[n] == 0 || p[n] == '/'))
			return true;
	}
	return false;
}

static void send_openapi(http_req *h)
{
	if (strcmp(h->path, "/openapi/v3") == 0 || strcmp(h->path, "/openapi/v3/") == 0) {
		_cleanup_free_ char *idx = openapi_v3_index();
		http_respond(h, 200, "application/json", idx, strlen(idx), NULL);
		return;
	}
	const char *gv = h->path + strlen("/openapi/v3/");
	const char *hash = NULL;
	const char *doc = openapi_v3_doc(gv, &hash);
	if (!doc) {
		send_status(h, 404, "NotFound", "the server could not find the requested resource");
		return;
	}
	char extra[256];
	snprintf(extra, sizeof extra, "Etag: \"%s\"\r\n", hash ? hash : "");
	const char *inm = http_req_header(h, "if-none-match");
	if (inm && hash && strstr(inm, hash)) {
		http_respond(h, 304, NULL, "", 0, extra);
		return;
	}
	http_respond(h, 200, "application/json", doc, strlen(doc), extra);
}

/* ---------- authentication ---------- */

static char *bootstrap_groups[] = {(char *)"system:bootstrappers",
                                    (char *)"system:authenticated"};

static bool authenticate(apiserver *s, http_req *h)
{
	if (h->user)
		return true;
	const char *auth = http_req_header(h, "authorization");
	/* A joining agent's bootstrap credential: it may only ask for its certificate. */
	if (auth && strncasecmp(auth, "Bearer ", 7) == 0 &&
	    join_credential_equal(auth + 7, s->join_credential)) {
		h->user = (char *)"system:bootstrap:node";
		h->groups = bootstrap_groups;
		h->ngroups = ARRAY_SIZE(bootstrap_groups);
		return true;
	}
	if (auth && strncasecmp(auth, "Bearer ", 7) == 0 && s->tokens) {
		const token_entry *t = token_lookup(s->tokens, auth + 7);
		if (t) {
			/* Borrowed from the token table, which lives as long as the server. */
			h->user = t->user;
			h->groups = t->groups;
			h->ngroups = t->ngroups;
			return true;
		}
	}
	if (auth && strncasecmp(auth, "Bearer ", 7) == 0)
		return satoken_authenticate(s, h, auth + 7);
	return false;
}

/* ---------- dispatch ---------- */

bool query_bool(const char *v)
{
	/* k8s: query booleans parse like Go's strconv.ParseBool. */
	static const char *const yes[] = {"1", "t", "T", "true", "TRUE", "True"};
	for (size_t i = 0; v && i < ARRAY_SIZE(yes); i++)
		if (strcmp(v, yes[i]) == 0)
			return true;
	return false;
}

static void dispatch_resource(apiserver *s, http_req *h)
{
	api_req *r = xcalloc(1, sizeof *r);
	r->http = h;
	r->srv = s;
	terr *err = NULL;
	int rc = route_parse(r, &err);
	if (rc == 1) {
		api_req_free(r);
		send_status(h, 404, "NotFound", "the server could not find the requested resource");
		return;
	}
	if (rc < 0 || codec_parse_options(r, &err) < 0) {
		api_send_error(r, err);
		return;
	}
	if (podstream_is(r)) {
		podstream_handle(r);
		return;
	}
	const char *m = h->method;
	_cleanup_free_ char *watch = http_req_query(h, "watch");
	bool is_watch = r->watch_path || query_bool(watch);
	if (is_watch && !h->conn) {
		/* In-process components follow the watch cache directly (informers). */
		terr_set(&err, 405, "MethodNotAllowed", "in-process clients cannot watch over HTTP");
		api_send_error(r, err);
		return;
	}
	const char *verb;
	if (strcmp(m, "GET") == 0)
		verb = is_watch ? "watch" : r->name ? "get" : "list";
	else if (strcmp(m, "POST") == 0)
		verb = "create";
	else if (strcmp(m, "PUT") == 0)
		verb = "update";
	else if (strcmp(m, "PATCH") == 0)
		verb = "patch";
	else if (strcmp(m, "DELETE") == 0)
		verb = r->name ? "delete" : "deletecollection";
	else
		verb = NULL;
	/* k8s: a verb the resource does not support answers 405 MethodNotAllowed. */
	bool sub_verb = r->sub && (strcmp(r->sub, "status") == 0 || strcmp(r->sub, "scale") == 0);
	if (!verb || (!sub_verb && !r->sub && !kind_has_verb(r->kind, verb)) ||
	    (strcmp(verb, "create") == 0 && r->name && !r->sub) ||
	    (strcmp(verb, "update") == 0 && !r->name) || (strcmp(verb, "patch") == 0 && !r->name)) {
		terr_set(&err, 405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
		api_send_error(r, err);
		return;
	}
	if (!authz_allowed(r, verb)) {
		char qr[256];
		kind_qualified_resource(r->kind, qr);
		/* k8s: `pods "x" is forbidden` naming the object when there is one, the
		 * subresource in the resource ("pods/log"), the namespace quoted. */
		_cleanup_free_ char *res = r->sub ? xasprintf("%s/%s", r->kind->resource, r->sub)
		                                  : xstrdup(r->kind->resource);
		_cleanup_free_ char *obj = r->name ? xasprintf("%s \"%s\"", qr, r->name) : xstrdup(qr);
		_cleanup_free_ char *where = r->ns ? xasprintf("in the namespace \"%s\"", r->ns)
		                                   : xstrdup("at the cluster scope");
		terr_set(&err, 403, "Forbidden", "%s is forbidden: User \"%s\" cannot %s resource \"%s\" in API group \"%s\" %s",
		         obj, h->user ? h->user : "system:anonymous", verb, res, r->kind->group, where);
		api_send_error(r, err);
		return;
	}
	if (str_eq(r->kind->group, "authentication.k8s.io")) {
		satoken_handle_review(r);
		return;
	}
	if (r->kind->group[0] && strcmp(r->kind->group, "authorization.k8s.io") == 0) {
		handle_access_review(r);
		return;
	}
	if (str_eq(r->kind->group, "metrics.k8s.io")) {
		metrics_api_handle(r); /* not stored: measured by the agent */
		return;
	}
	if (strcmp(verb, "watch") == 0)
		handle_watch(r);
	else if (strcmp(verb, "get") == 0)
		handle_get(r);
	else if (strcmp(verb, "list") == 0)
		handle_list(r);
	else if (strcmp(verb, "create") == 0)
		handle_create(r);
	else if (strcmp(verb, "update") == 0)
		handle_update(r);
	else if (strcmp(verb, "patch") == 0)
		handle_patch(r);
	else if (strcmp(verb, "delete") == 0)
		handle_delete(r);
	else
		handle_delete_collection(r);
}

void apiserver_handle(apiserver *s, http_req *h)
{
	const char *p = h->path;
	if (health_path(p)) {
		const char *body = s->ready ? "ok" : "not ready";
		http_respond(h, s->ready ? 200 : 503, "text/plain; charset=utf-8", body, strlen(body), NULL);
		return;
	}
	if (strcmp(p, "/version") == 0 || strcmp(p, "/version/") == 0) {
		send_version(h);
		return;
	}
	if (strcmp(p, "/cacerts") == 0 && s->ca_pem) {
		/* k3s: the CA is public; a joining agent checks it against its token's hash. */
		http_respond(h, 200, "application/x-pem-file", s->ca_pem, s->ca_pem_len, NULL);
		return;
	}
	if (!authenticate(s, h)) {
		send_status(h, 401, "Unauthorized", "Unauthorized");
		return;
	}
	if (s->metrics && metrics_api_raw(s, h))
		return;
	if (str_has_prefix(p, "/openapi/v3")) {
		send_openapi(h);
		return;
	}
	if (discovery_handle(s, h))
		return;
	if (str_has_prefix(p, "/api/") || str_has_prefix(p, "/apis/")) {
		dispatch_resource(s, h);
		return;
	}
	send_status(h, 404, "NotFound", "the server could not find the requested resource");
}

/* ---------- lifetime ---------- */

static void on_request(http_req *h, void *ud)
{
	apiserver_handle(ud, h);
}

static int identity_cb(SSL *ssl, char **user, char ***groups, size_t *ngroups)
{
	return pki_peer_identity(ssl, user, groups, ngroups);
}

static int ensure_dir(const char *path, terr **err)
{
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return terr_internal(err, "mkdir %s: %s", path, strerror(errno));
	return 0;
}

/* Start-up failures end the process, so what was opened before one is left to exit. */
apiserver *apiserver_start(uv_loop_t *loop, const apiserver_config *cfg, terr **err)
{
	apiserver *s = xcalloc(1, sizeof *s);
	s->loop = loop;
	s->cfg = *cfg;
	s->started_ns = time_now_ns();
	kind_registry_init();
	if (ensure_dir(cfg->data_dir, err) < 0)
		return NULL;
	/* In-cluster clients reach the server through the `kubernetes` service address. */
	const char *sans[4] = {"IP:10.43.0.1", NULL, NULL, NULL};
	_cleanup_free_ char *bind_san = NULL, *adv_san = NULL;
	size_t nsans = 1;
	if (cfg->bind_address && strcmp(cfg->bind_address, "0.0.0.0") != 0 &&
	    strcmp(cfg->bind_address, "::") != 0) {
		bind_san = xasprintf("IP:%s", cfg->bind_address);
		sans[nsans++] = bind_san;
	}
	if (cfg->advertise) {
		bool ip = strspn(cfg->advertise, "0123456789.:abcdefABCDEF") == strlen(cfg->advertise);
		adv_san = xasprintf("%s:%s", ip ? "IP" : "DNS", cfg->advertise);
		sans[nsans++] = adv_san;
	}
	if (pki_ensure(cfg->data_dir, sans, err) < 0)
		return NULL;
	_cleanup_free_ char *ca_path = xasprintf("%s/tls/%s", cfg->data_dir, PKI_CA_CRT);
	if (pki_read_file(ca_path, &s->ca_pem, &s->ca_pem_len, err) < 0 ||
	    join_token_ensure(cfg->data_dir, &s->join_credential, err) < 0)
		return NULL;
	s->ssl_ctx = pki_server_ctx(cfg->data_dir, err);
	if (!s->ssl_ctx)
		return NULL;
	/* Idle connections (watchers, agents) give their TLS buffers back between records. */
	SSL_CTX_set_mode(s->ssl_ctx, SSL_MODE_RELEASE_BUFFERS);
	if (satoken_init(s, err) < 0)
		return NULL;
	if (cfg->token_file) {
		s->tokens = token_file_load(cfg->token_file, err);
		if (!s->tokens)
			return NULL;
	}
	_cleanup_free_ char *dbpath = xasprintf("%s/state.db", cfg->data_dir);
	store *st = store_sqlite_open(dbpath, err);
	if (!st)
		return NULL;
	s->cache = cache_new(loop, st);
	if (cache_load(s->cache, err) < 0)
		return NULL;
	crd_load_all(s);
	s->http = http_server_new(loop, s->ssl_ctx, on_request, s);
	http_server_set_identity_cb(s->http, identity_cb);
	if (http_server_listen(s->http, cfg->bind_address, cfg->https_port, err) < 0)
		return NULL;
	int port = http_server_port(s->http);
	const char *host = cfg->advertise ? cfg->advertise : cfg->bind_address;
	if (strcmp(host, "0.0.0.0") == 0)
		host = "127.0.0.1";
	_cleanup_free_ char *url = strchr(host, ':') ? xasprintf("https://[%s]:%d", host, port)
	                                             : xasprintf("https://%s:%d", host, port);
	_cleanup_free_ char *kc = xasprintf("%s/kubeconfig.yaml", cfg->data_dir);
	if (kubeconfig_write(kc, url, cfg->data_dir, err) < 0)
		return NULL;
	lifecycle_bootstrap(s);
	rbac_bootstrap(s);
	lifecycle_start(s);
	s->ready = true;
	controllers_start(s, s->cache);
	log_info("apiserver: serving on %s (revision %lld)", url, (long long)cache_rev(s->cache));
	return s;
}

cache *apiserver_cache(apiserver *s)
{
	return s->cache;
}

uv_loop_t *apiserver_loop(apiserver *s)
{
	return s->loop;
}

const char *apiserver_data_dir(const apiserver *s)
{
	return s->cfg.data_dir;
}

long apiserver_signing_ttl(const apiserver *s)
{
	return s->cfg.signing_ttl_s;
}

int apiserver_port(const apiserver *s)
{
	return http_server_port(s->http);
}

static void on_http_closed(void *ud)
{
	UNUSED(ud);
}

void apiserver_stop(apiserver *s)
{
	s->ready = false;
	controllers_stop();
	watch_close_all(s);
	http_server_close(s->http, on_http_closed, s);
	uv_timer_stop(&s->bookmark_timer);
	uv_timer_stop(&s->ns_timer);
	cache_close(s->cache);
	log_info("apiserver: stopped at revision %lld", (long long)cache_rev(s->cache));
	token_table_free(s->tokens);
	s->tokens = NULL;
	satoken_free(s);
	free(s->metrics_node);
	s->metrics_node = NULL;
}
