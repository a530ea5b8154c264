/* watch.c — watch streams: initial state, resume from a resourceVersion, label and field
 * selector transitions, bookmarks, timeouts, Table-form events, and dropping clients that
 * fall behind. Events come from the watch cache after they are durable.
 * Not for: the history itself (store/cache.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/fieldsel.h"
#include "api/convert.h"
#include "api/selector.h"
#include "apiserver/apiserver-internal.h"
#include "base/json.h"
#include "base/log.h"
#include "base/util.h"

#define BOOKMARK_INTERVAL_MS (60 * 1000)

typedef struct watch_stream {
	struct watch_stream *next, *prev;
	apiserver *srv;
	api_req *r;
	cache_watcher *w;
	list_opts opts;
	uv_timer_t timer;
	bool bookmarks;
	bool table_header_sent;
	bool done;
	int64_t last_rev;
} watch_stream;

static void stream_unlink(watch_stream *ws)
{
	apiserver *s = ws->srv;
	if (ws->prev)
		ws->prev->next = ws->next;
	else if (s->watches == ws)
		s->watches = ws->next;
	if (ws->next)
		ws->next->prev = ws->prev;
	ws->next = ws->prev = NULL;
}

static void on_timer_closed(uv_handle_t *h)
{
	free(h->data);
}

/* Tears the stream down; end_http: finish the HTTP response too (timeouts, shutdown). */
static void stream_finish(watch_stream *ws, bool end_http)
{
	if (ws->done)
		return;
	ws->done = true;
	cache_unwatch(ws->srv->cache, ws->w);
	ws->w = NULL;
	stream_unlink(ws);
	list_opts_free(&ws->opts);
	api_req *r = ws->r;
	ws->r = NULL;
	if (r) {
		if (end_http) {
			r->http->on_close = NULL;
			http_stream_end(r->http);
		}
		r->http = NULL;
		api_req_free(r);
	}
	uv_timer_stop(&ws->timer);
	uv_close((uv_handle_t *)&ws->timer, on_timer_closed);
}

static void on_http_close(http_req *h)
{
	watch_stream *ws = h->ud;
	if (ws->r)
		ws->r->http = h; /* still valid during this call */
	stream_finish(ws, false);
}

static int send_line(watch_stream *ws, const char *type, const char *obj, size_t len)
{
	buf b = {0};
	buf_reserve(&b, strlen(type) + len + 32);
	buf_puts(&b, "{\"type\":\"");
	buf_puts(&b, type);
	buf_puts(&b, "\",\"object\":");
	buf_add(&b, obj, len);
	buf_puts(&b, "}\n");
	int rc = http_stream_write(ws->r->http, b.p, b.n);
	buf_free(&b);
	return rc;
}

static int send_event(watch_stream *ws, const char *type, const char *json, size_t len);
static int send_event_raw(watch_stream *ws, const char *type, const char *json, size_t len);

static int send_event(watch_stream *ws, const char *type, const char *json, size_t len)
{
	char *cv = NULL;
	size_t cn = 0;
	if (convert_stored_json(ws->r->kind, json, len, &cv, &cn, NULL) == 1) {
		int rc = send_event_raw(ws, type, cv, cn);
		free(cv);
		return rc;
	}
	return send_event_raw(ws, type, json, len);
}

static int send_event_raw(watch_stream *ws, const char *type, const char *json, size_t len)
{
	if (!ws->r->want_table)
		return send_line(ws, type, json, len);
	json_t *obj = json_loadb(json, len, 0, NULL);
	if (!obj)
		return 0;
	json_t *t = table_build(ws->r, &obj, 1, json_path_str(obj, "metadata.resourceVersion"), NULL,
	                        !ws->table_header_sent);
	ws->table_header_sent = true;
	char *s = json_dump_compact(t);
	int rc = send_line(ws, type, s, strlen(s));
	free(s);
	json_decref(t);
	json_decref(obj);
	return rc;
}

static bool fields_match(watch_stream *ws, blob *value)
{
	if (!ws->opts.fields)
		return true;
	if (!value)
		return false;
	json_t *o = json_loadb(value->data, value->len, 0, NULL);
	bool ok = o && field_selector_matches(ws->opts.fields, o);
	json_decref(o);
	return ok;
}

static bool labels_match(watch_stream *ws, json_t *labels)
{
	return !ws->opts.labels || label_selector_matches(ws->opts.labels, labels);
}

static void on_event(void *ud, const cache_event *ev)
{
	watch_stream *ws = ud;
	if (ws->done)
		return;
	/* k8s: with selectors, an object entering the selection is ADDED, one leaving it is
	 * DELETED, and one staying is MODIFIED. */
	bool now = labels_match(ws, ev->labels) && fields_match(ws, ev->value);
	bool before = ev->type != STORE_ADDED && ev->prev_value &&
	              labels_match(ws, ev->prev_labels) && fields_match(ws, ev->prev_value);
	const char *type = NULL;
	if (ev->type == STORE_DELETED)
		type = before || (!ev->prev_value && now) ? "DELETED" : NULL;
	else if (now && before)
		type = "MODIFIED";
	else if (now)
		type = "ADDED";
	else if (before)
		type = "DELETED";
	ws->last_rev = ev->rev;
	if (!type)
		return;
	if (send_event(ws, type, ev->value->data, ev->value->len) < 0)
		return; /* the connection is closing; on_http_close cleans up */
}

static void on_timeout(uv_timer_t *t)
{
	watch_stream *ws = t->data;
	stream_finish(ws, true);
}

static void send_bookmark(watch_stream *ws, bool initial_end)
{
	char apiv[128];
	kind_api_version(ws->r->kind, apiv);
	buf b = {0};
	buf_printf(&b, "{\"kind\":\"%s\",\"apiVersion\":\"%s\",\"metadata\":{\"resourceVersion\":\"%lld\"",
	           ws->r->kind->kind, apiv, (long long)cache_rev(ws->srv->cache));
	if (initial_end)
		buf_puts(&b, ",\"annotations\":{\"k8s.io/initial-events-end\":\"true\"}");
	buf_puts(&b, "}}");
	send_line(ws, "BOOKMARK", b.p, b.n);
	buf_free(&b);
}

void watch_bookmarks(apiserver *s)
{
	for (watch_stream *ws = s->watches, *next; ws; ws = next) {
		next = ws->next;
		if (ws->bookmarks && !ws->done && ws->r && !ws->r->want_table)
			send_bookmark(ws, false);
	}
}

void watch_close_all(apiserver *s)
{
	while (s->watches)
		stream_finish(s->watches, true);
}

static void on_bookmark_timer(uv_timer_t *t)
{
	watch_bookmarks(t->data);
}

void handle_watch(api_req *r)
{
	terr *err = NULL;
	apiserver *s = r->srv;
	watch_stream *ws = xcalloc(1, sizeof *ws);
	ws->srv = s;
	if (list_parse_opts(r, &ws->opts, &err) < 0) {
		list_opts_free(&ws->opts);
		free(ws);
		api_send_error(r, err);
		return;
	}
	_cleanup_free_ char *rvq = http_req_query(r->http, "resourceVersion");
	_cleanup_free_ char *tq = http_req_query(r->http, "timeoutSeconds");
	_cleanup_free_ char *bq = http_req_query(r->http, "allowWatchBookmarks");
	_cleanup_free_ char *sie = http_req_query(r->http, "sendInitialEvents");
	ws->bookmarks = query_bool(bq);
	bool initial = !rvq || !*rvq || strcmp(rvq, "0") == 0;
	if (sie)
		initial = query_bool(sie);
	int64_t from = 0;
	if (rvq && *rvq && strcmp(rvq, "0") != 0) {
		char *end;
		from = strtoll(rvq, &end, 10);
		if (*end || from < 0) {
			list_opts_free(&ws->opts);
			free(ws);
			terr_bad_request(&err, "invalid resource version: %s", rvq);
			api_send_error(r, err);
			return;
		}
	}
	if (r->name) {
		/* A watch on one object: /namespaces/ns/pods/name?watch=1. */
		_cleanup_free_ char *sel = xasprintf("metadata.name=%s", r->name);
		field_selector_free(ws->opts.fields);
		ws->opts.fields = field_selector_parse(sel, NULL);
	}
	ws->r = r;
	r->http->ud = ws;
	r->http->on_close = on_http_close;
	uv_timer_init(s->loop, &ws->timer);
	ws->timer.data = ws;
	http_stream_begin(r->http, 200, "application/json");
	_cleanup_free_ char *prefix = route_key(r->kind, r->ns, NULL);
	if (initial && !from) {
		/* k8s: a watch without a resourceVersion (or "0") starts with the current
		 * state as ADDED events. */
		cache_entry *const *es;
		size_t n = cache_range(s->cache, prefix, NULL, &es);
		for (size_t i = 0; i < n && !ws->done; i++) {
			if (!list_matches(&ws->opts, es[i], NULL))
				continue;
			send_event(ws, "ADDED", es[i]->value->data, es[i]->value->len);
		}
		from = cache_rev(s->cache);
		if (query_bool(sie) && !ws->done)
			send_bookmark(ws, true);
	}
	if (ws->done)
		return;
	ws->w = cache_watch(s->cache, prefix, from, on_event, ws, &err);
	if (!ws->w) {
		if (ws->done) {
			terr_free(err);
			return;
		}
		/* k8s: a watch from a compacted revision gets an ERROR event with 410 Expired. */
		json_t *st = status_from_error(err, NULL, NULL);
		terr_free(err);
		char *js = json_dump_compact(st);
		send_line(ws, "ERROR", js, strlen(js));
		free(js);
		json_decref(st);
		stream_finish(ws, true);
		return;
	}
	ws->next = s->watches;
	if (s->watches)
		s->watches->prev = ws;
	s->watches = ws;
	/* k8s: without timeoutSeconds the server picks 30 to 60 minutes. */
	uint64_t ms;
	if (tq && *tq) {
		ms = (uint64_t)strtoull(tq, NULL, 10) * 1000;
	} else {
		unsigned rnd;
		random_bytes(&rnd, sizeof rnd);
		ms = (1800 + rnd % 1800) * 1000ull;
	}
	uv_timer_start(&ws->timer, on_timeout, ms ? ms : 1, 0);
	if (!uv_is_active((uv_handle_t *)&s->bookmark_timer)) {
		uv_timer_init(s->loop, &s->bookmark_timer);
		s->bookmark_timer.data = s;
		uv_timer_start(&s->bookmark_timer, on_bookmark_timer, BOOKMARK_INTERVAL_MS,
		               BOOKMARK_INTERVAL_MS);
	}
}
