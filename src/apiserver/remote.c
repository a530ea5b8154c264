/* remote.c — the standalone agent's mirror of a remote API server and its HTTPS writes
 * (remote.h). Runs on the loop thread only; the network goes through curlio (libcurl's
 * multi interface on libuv). Not for: joining (agent/join.c) or serving (apiserver.c).
 */
#include "apiserver/remote.h"

#include <stdlib.h>
#include <string.h>

#include "apiserver/apiserver-internal.h"
#include "apiserver/client.h"
#include "base/curlio.h"
#include "base/json.h"
#include "base/log.h"
#include "base/util.h"

#define BACKOFF_MIN_MS     1000
#define BACKOFF_MAX_MS     30000
#define WATCH_SECONDS      300
#define LIST_TIMEOUT_MS    60000
#define WRITE_TIMEOUT_MS   30000
#define MAX_LINE           (16u << 20)
#define MAX_REFLECTORS     8
/* Writes share this many kept-alive connections. Without a limit, a burst (100 pods
 * starting: their events and status writes) opened a TLS connection per write, hundreds
 * at once: ~20 KB of buffers and a handshake each, on both sides. */
#define WRITE_CONNECTIONS  8
#define MIRROR_HISTORY       256
#define MIRROR_HISTORY_BYTES (1u << 20)
#define MIRROR_TREES         32

typedef struct remote remote;

typedef struct reflector {
	remote *rm;
	const kind_desc *d;
	char *ns;       /* namespace to mirror, or NULL for all */
	char *selector; /* fieldSelector value, or NULL */
	char *rv;       /* the last resourceVersion seen (list, event or bookmark) */
	curlio_req *req;
	buf line;       /* a watch event not yet complete */
	bool listed;    /* listed at least once */
	uint64_t backoff_ms;
	uv_timer_t retry;
} reflector;

struct remote {
	apiserver *s;
	curlio *io;  /* lists and watches: a connection each, for as long as they last */
	curlio *wio; /* writes: WRITE_CONNECTIONS at most, kept alive */
	reflector refl[MAX_REFLECTORS];
	size_t n;
	size_t nlisted;
	unsigned lists;
	void (*synced)(apiserver *s, void *ud);
	void *ud;
	struct remote_write *writes; /* in flight: a stop frees those curlio cancels unanswered */
};

/* ---------- the mirror ---------- */

static reflector *reflector_of(remote *rm, const kind_desc *d)
{
	for (size_t i = 0; i < rm->n; i++)
		if (rm->refl[i].d == d)
			return &rm->refl[i];
	return NULL;
}

static long long rv_num(const char *rv)
{
	return rv ? strtoll(rv, NULL, 10) : 0;
}

/* Puts obj (borrowed) into the mirror, or takes it out (deleted), unless the mirror
 * already holds a newer version. */
static void mirror_put(remote *rm, const kind_desc *d, json_t *obj, bool deleted)
{
	cache *c = rm->s->cache;
	const char *name = json_path_str(obj, "metadata.name");
	const char *ns = d->namespaced ? json_path_str(obj, "metadata.namespace") : NULL;
	if (!name)
		return;
	_cleanup_free_ char *key = kind_storage_key(d, ns, name);
	const cache_entry *e = cache_get(c, key);
	long long rv = rv_num(json_path_str(obj, "metadata.resourceVersion"));
	if (e && !deleted) {
		json_t *cur = cache_entry_obj(c, e);
		if (rv <= rv_num(json_path_str(cur, "metadata.resourceVersion")))
			return;
	}
	if (!e && deleted)
		return;
	char apiv[128];
	kind_api_version(d, apiv);
	json_object_set_new(obj, "apiVersion", json_string(apiv));
	json_object_set_new(obj, "kind", json_string(d->kind));
	_cleanup_free_ char *text = json_dumps(obj, JSON_COMPACT);
	json_t *labels = json_path(obj, "metadata.labels");
	cache_write(c, cache_rev(c) + 1, key,
	            deleted ? STORE_DELETED : e ? STORE_MODIFIED : STORE_ADDED, text, strlen(text),
	            json_is_object(labels) ? json_clone(labels) : NULL, NULL, NULL, NULL);
}

/* ---------- reflectors ---------- */

static void list_start(reflector *f);
static void watch_start(reflector *f);

static char *collection_path(reflector *f, bool watch)
{
	_cleanup_free_ char *base = client_path(f->d, f->ns, NULL, NULL);
	buf b = {0};
	buf_puts(&b, base);
	char sep = '?';
	if (f->selector) {
		_cleanup_free_ char *esc = curlio_escape(f->selector);
		buf_printf(&b, "?fieldSelector=%s", esc);
		sep = '&';
	}
	if (watch)
		buf_printf(&b, "%cwatch=true&allowWatchBookmarks=true&timeoutSeconds=%d&resourceVersion=%s",
		           sep, WATCH_SECONDS, f->rv ? f->rv : "0");
	return buf_take(&b);
}

static void on_retry(uv_timer_t *t)
{
	list_start(t->data);
}

/* Lists again after the back-off (1 s doubling to 30 s). */
static void retry_later(reflector *f, const char *why)
{
	f->backoff_ms = f->backoff_ms ? f->backoff_ms * 2 : BACKOFF_MIN_MS;
	if (f->backoff_ms > BACKOFF_MAX_MS)
		f->backoff_ms = BACKOFF_MAX_MS;
	log_warn("agent: %s of %s: %s; again in %llu ms", f->listed ? "watch" : "list",
	         f->d->resource, why, (unsigned long long)f->backoff_ms);
	uv_timer_start(&f->retry, on_retry, f->backoff_ms, 0);
}

static void set_rv(reflector *f, const char *rv)
{
	if (!rv || !*rv)
		return;
	free(f->rv);
	f->rv = xstrdup(rv);
}

static void on_list(void *ud, int status, const char *body, size_t len, const char *error)
{
	reflector *f = ud;
	f->req = NULL;
	if (status != 200) {
		_cleanup_free_ char *why = status ? xasprintf("answered %d: %.*s", status,
		                                              (int)(len > 200 ? 200 : len), body)
		                                  : xstrdup(error ? error : "no answer");
		retry_later(f, why);
		return;
	}
	json_t *list = json_loadb(body, len, 0, NULL);
	json_t *items = json_object_get(list, "items");
	if (!json_is_array(items)) {
		json_decref(list);
		retry_later(f, "the list answer holds no items");
		return;
	}
	remote *rm = f->rm;
	cache *c = rm->s->cache;
	/* What the mirror holds and the server no longer does goes (a missed deletion). */
	json_t *seen = json_object();
	size_t i;
	json_t *it;
	json_array_foreach(items, i, it)
	{
		const char *ns = json_path_str(it, "metadata.namespace");
		_cleanup_free_ char *key = kind_storage_key(f->d, f->d->namespaced ? ns : NULL,
		                                            json_path_str(it, "metadata.name"));
		json_object_set_new(seen, key, json_true());
		mirror_put(rm, f->d, it, false);
	}
	_cleanup_free_ char *prefix = kind_storage_key(f->d, f->ns, NULL);
	cache_entry *const *es;
	size_t n = cache_range(c, prefix, NULL, &es);
	json_t *gone = json_array();
	for (size_t k = 0; k < n; k++)
		if (!json_object_get(seen, es[k]->key))
			json_array_append_new(gone, cache_entry_dup(c, es[k]));
	json_array_foreach(gone, i, it)
	{
		mirror_put(rm, f->d, it, true);
	}
	json_decref(gone);
	json_decref(seen);
	set_rv(f, json_path_str(list, "metadata.resourceVersion"));
	json_decref(list);
	f->backoff_ms = 0;
	if (!f->listed) {
		f->listed = true;
		if (++rm->nlisted == rm->n && rm->synced)
			rm->synced(rm->s, rm->ud);
	}
	watch_start(f);
}

static void list_start(reflector *f)
{
	_cleanup_free_ char *path = collection_path(f, false);
	f->rm->lists++;
	buf_reset(&f->line);
	f->req = curlio_request(f->rm->io, "GET", path, NULL, NULL, 0, LIST_TIMEOUT_MS, NULL,
	                        on_list, f);
}

/* One watch event: ADDED, MODIFIED, DELETED, BOOKMARK or ERROR. -1 to stop the watch. */
static int watch_event(reflector *f, const char *line, size_t len)
{
	json_t *ev = json_loadb(line, len, 0, NULL);
	const char *type = json_string_value(json_object_get(ev, "type"));
	json_t *obj = json_object_get(ev, "object");
	int ret = 0;
	if (!type || !json_is_object(obj)) {
		ret = -1;
	} else if (str_eq(type, "ERROR")) {
		/* k8s: 410 Gone (Expired) means the resourceVersion was compacted: list again. */
		json_int_t code = json_integer_value(json_object_get(obj, "code"));
		log_info("agent: watch of %s ended with %lld %s: listing again", f->d->resource,
		         (long long)code, json_string_value(json_object_get(obj, "reason")));
		free(f->rv);
		f->rv = NULL;
		ret = -1;
	} else {
		set_rv(f, json_path_str(obj, "metadata.resourceVersion"));
		if (!str_eq(type, "BOOKMARK"))
			mirror_put(f->rm, f->d, obj, str_eq(type, "DELETED"));
	}
	json_decref(ev);
	return ret;
}

static int on_watch_data(void *ud, int status, const char *data, size_t len)
{
	reflector *f = ud;
	if (status != 200)
		return 0; /* an error answer: collected nowhere; done handles the status */
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(data + i, '\n', len - i);
		size_t take = nl ? (size_t)(nl - (data + i)) : len - i;
		buf_add(&f->line, data + i, take);
		i += take + (nl ? 1 : 0);
		if (f->line.n > MAX_LINE)
			return -1;
		if (!nl)
			break;
		if (f->line.n && watch_event(f, f->line.p, f->line.n) < 0)
			return -1;
		buf_reset(&f->line);
	}
	return 0;
}

static void on_watch_done(void *ud, int status, const char *body, size_t len, const char *error)
{
	reflector *f = ud;
	UNUSED(body);
	UNUSED(len);
	f->req = NULL;
	buf_reset(&f->line);
	if (status == 200 && !error) {
		watch_start(f); /* timeoutSeconds ran out: carry on from the last version */
	} else if (status == 200 || status == 410) {
		list_start(f); /* 410 Gone or a stream we stopped: list again */
	} else {
		_cleanup_free_ char *why = status ? xasprintf("answered %d", status)
		                                  : xstrdup(error ? error : "no answer");
		retry_later(f, why);
	}
}

static void watch_start(reflector *f)
{
	if (!f->rv) {
		list_start(f);
		return;
	}
	_cleanup_free_ char *path = collection_path(f, true);
	f->req = curlio_request(f->rm->io, "GET", path, NULL, NULL, 0, 0, on_watch_data,
	                        on_watch_done, f);
}

/* ---------- writes ---------- */

typedef struct remote_write {
	remote *rm;
	char *method;
	client_cb cb;
	void *ud;
	struct remote_write *prev, *next; /* rm->writes */
} remote_write;

static void write_free(remote_write *w)
{
	if (w->prev)
		w->prev->next = w->next;
	else
		w->rm->writes = w->next;
	if (w->next)
		w->next->prev = w->prev;
	free(w->method);
	free(w);
}

/* The mirror learns the answer of a write of a resource it mirrors. */
static void apply_answer(remote *rm, const char *method, json_t *obj)
{
	char group[128] = "";
	const char *apiv = json_string_value(json_object_get(obj, "apiVersion"));
	const char *kind = json_string_value(json_object_get(obj, "kind"));
	if (!apiv || !kind || str_eq(kind, "Status"))
		return;
	const char *slash = strchr(apiv, '/');
	if (slash)
		snprintf(group, sizeof group, "%.*s", (int)(slash - apiv), apiv);
	const kind_desc *d = kind_by_gvk(group, slash ? slash + 1 : apiv, kind);
	if (!d || !reflector_of(rm, d))
		return;
	bool gone = false;
	if (str_eq(method, "DELETE")) {
		/* Deleted now, unless finalizers or a grace period keep it. */
		gone = !json_array_size(json_path(obj, "metadata.finalizers")) &&
		       json_integer_value(json_path(obj, "metadata.deletionGracePeriodSeconds")) == 0;
	}
	mirror_put(rm, d, obj, gone);
}

static void on_write_done(void *ud, int status, const char *body, size_t len, const char *error)
{
	remote_write *w = ud;
	json_t *obj = status ? json_loadb(body, len, 0, NULL) : NULL;
	if (!status) {
		obj = json_pack("{s:s, s:s, s:s, s:s, s:i}", "kind", "Status", "apiVersion", "v1",
		                "status", "Failure", "message", error ? error : "no answer",
		                "code", 503);
		status = 503;
	}
	if (status < 300 && json_is_object(obj))
		apply_answer(w->rm, w->method, obj);
	if (w->cb)
		w->cb(w->ud, status, obj);
	else if (status >= 400 && status != 404 && status != 409)
		log_debug("agent: %s answered %d: %s", w->method, status,
		          json_string_value(json_object_get(obj, "message")));
	json_decref(obj);
	write_free(w);
}

void remote_client_do(apiserver *s, const char *manager, const char *method, const char *path,
                      json_t *body, const char *ctype, remote_cb cb, void *ud)
{
	remote *rm = s->remote;
	remote_write *w = xcalloc(1, sizeof *w);
	w->rm = rm;
	w->method = xstrdup(method);
	w->cb = cb;
	w->ud = ud;
	w->next = rm->writes;
	if (rm->writes)
		rm->writes->prev = w;
	rm->writes = w;
	_cleanup_free_ char *esc = curlio_escape(manager ? manager : "timon");
	_cleanup_free_ char *url = xasprintf("%s%cfieldManager=%s", path, strchr(path, '?') ? '&' : '?', esc);
	_cleanup_free_ char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	curlio_request(rm->wio, method, url, ctype, text, text ? strlen(text) : 0, WRITE_TIMEOUT_MS,
	               NULL, on_write_done, w);
}

/* ---------- lifetime ---------- */

static int null_rows(store *st, store_row_cb cb, void *ud, terr **err)
{
	UNUSED(st), UNUSED(cb), UNUSED(ud), UNUSED(err);
	return 0;
}
static int null_history(store *st, int64_t after, store_row_cb cb, void *ud, terr **err)
{
	UNUSED(after);
	return null_rows(st, cb, ud, err);
}
static int null_commit(store *st, const store_row *rows, size_t n, terr **err)
{
	UNUSED(st), UNUSED(rows), UNUSED(n), UNUSED(err);
	return 0;
}
static int null_compact(store *st, int64_t rev, terr **err)
{
	UNUSED(st), UNUSED(rev), UNUSED(err);
	return 0;
}
static int64_t null_rev(store *st)
{
	UNUSED(st);
	return 0;
}
static void null_close(store *st)
{
	free(st);
}

/* The mirror keeps nothing on disk: the server is the source of truth. */
static const store_ops null_ops = {
    .current = null_rows,
    .history = null_history,
    .commit = null_commit,
    .compact = null_compact,
    .head_rev = null_rev,
    .compact_rev = null_rev,
    .close = null_close,
};

static void add_reflector(remote *rm, const char *group, const char *resource, const char *ns,
                          const char *selector)
{
	reflector *f = &rm->refl[rm->n++];
	f->rm = rm;
	f->d = kind_by_group_resource(group, resource);
	f->ns = xstrdup(ns);
	f->selector = xstrdup(selector);
	uv_timer_init(rm->s->loop, &f->retry);
	f->retry.data = f;
}

apiserver *apiserver_remote_start(uv_loop_t *loop, const remote_config *cfg,
                                  void (*synced)(apiserver *s, void *ud), void *ud)
{
	kind_registry_init();
	apiserver *s = xcalloc(1, sizeof *s);
	s->loop = loop;
	s->cfg.data_dir = xstrdup(cfg->data_dir);
	s->started_ns = time_now_ns();
	store *st = xcalloc(1, sizeof *st);
	st->ops = &null_ops;
	s->cache = cache_new(loop, st);
	/* The agent's informers watch from the present and read recent objects: a short history
	 * and a few parsed trees serve them. */
	cache_set_limits(s->cache, MIRROR_HISTORY, MIRROR_HISTORY_BYTES, MIRROR_TREES);
	remote *rm = xcalloc(1, sizeof *rm);
	rm->s = s;
	rm->synced = synced;
	rm->ud = ud;
	s->remote = rm;
	curlio_config cc = {.base_url = cfg->url, .ca_file = cfg->ca_file,
	                    .cert_file = cfg->cert_file, .key_file = cfg->key_file};
	rm->io = curlio_new(loop, &cc);
	cc.max_connections = WRITE_CONNECTIONS;
	rm->wio = curlio_new(loop, &cc);
	/* What the agent reads (agent.c gather_inputs, agent_node.c): its pods, the nodes
	 * (a free podCIDR), its Lease, and what pods' volumes and env refer to. */
	_cleanup_free_ char *pods = xasprintf("spec.nodeName=%s", cfg->node_name);
	_cleanup_free_ char *lease = xasprintf("metadata.name=%s", cfg->node_name);
	add_reflector(rm, "", "pods", NULL, pods);
	add_reflector(rm, "", "nodes", NULL, NULL);
	add_reflector(rm, "coordination.k8s.io", "leases", "kube-node-lease", lease);
	add_reflector(rm, "", "configmaps", NULL, NULL);
	add_reflector(rm, "", "secrets", NULL, NULL);
	add_reflector(rm, "", "persistentvolumeclaims", NULL, NULL);
	add_reflector(rm, "", "persistentvolumes", NULL, NULL);
	for (size_t i = 0; i < rm->n; i++)
		list_start(&rm->refl[i]);
	s->ready = true;
	return s;
}

void apiserver_remote_set_client_cert(apiserver *s, const char *cert_pem, const char *key_pem)
{
	if (!s->remote)
		return;
	curlio_set_client_cert(s->remote->io, cert_pem, key_pem);
	curlio_set_client_cert(s->remote->wio, cert_pem, key_pem);
}

unsigned apiserver_remote_lists(apiserver *s)
{
	return s->remote ? s->remote->lists : 0;
}

void apiserver_remote_stop(apiserver *s)
{
	remote *rm = s->remote;
	if (!rm)
		return;
	for (size_t i = 0; i < rm->n; i++) {
		reflector *f = &rm->refl[i];
		curlio_cancel(f->req);
		f->req = NULL;
		uv_timer_stop(&f->retry);
		uv_close((uv_handle_t *)&f->retry, NULL);
		buf_free(&f->line);
		free(f->rv);
		free(f->ns);
		free(f->selector);
	}
	curlio_free(rm->io);
	curlio_free(rm->wio);
	/* Writes still in flight were cancelled without an answer; their callers are stopping
	 * too (the callbacks are not run). */
	while (rm->writes)
		write_free(rm->writes);
	s->remote = NULL;
	free(rm);
}
