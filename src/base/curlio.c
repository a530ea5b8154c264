/* curlio.c — libcurl's multi interface on the libuv loop (curlio.h): curl tells us which
 * sockets to watch (socket callback) and when to call it back (timer callback); libuv
 * tells curl when a socket is ready. Finished transfers are collected after each call
 * into curl. Not for: blocking transfers. */
#include "base/curlio.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/util.h"

struct curlio {
	uv_loop_t *loop;
	CURLM *multi;
	uv_timer_t timer;
	char *base, *ca, *cert, *key, *auth;
	char *cert_pem, *key_pem; /* when set (curlio_set_client_cert), used instead of files */
	curlio_req *reqs; /* live requests, for curlio_free */
	/* With a connection limit, at most that many requests hold an easy handle; the rest
	 * wait here, in order, as plain requests. A waiting easy handle holds curl's buffers
	 * (16 KB and more): a burst of hundreds held megabytes that fragmented the heap. */
	curlio_req *waiting, *waiting_tail;
	int max_active, active;
	bool closing;
	int open_handles;
};

struct curlio_req {
	curlio *c;
	CURL *easy; /* NULL while waiting */
	struct curl_slist *headers;
	char *method, *url, *ctype;
	char *body;
	size_t len;
	long timeout_ms;
	curlio_req *wnext; /* the waiting queue */
	buf answer;
	curlio_data_cb on_data;
	curlio_done_cb done;
	void *ud;
	bool aborted;
	curlio_req *prev, *next;
};

typedef struct sock_ctx {
	uv_poll_t poll;
	curl_socket_t fd;
	curlio *c;
} sock_ctx;

static void check_done(curlio *c);
static void start_waiting(curlio *c);

static void maybe_free(curlio *c)
{
	if (c->closing && c->open_handles == 0) {
		free(c->base);
		free(c->ca);
		free(c->cert);
		free(c->cert_pem);
		free(c->key_pem);
		free(c->key);
		free(c->auth);
		free(c);
	}
}

static void on_handle_closed(uv_handle_t *h)
{
	curlio *c;
	if (h->type == UV_POLL) {
		sock_ctx *s = h->data;
		c = s->c;
		free(s);
	} else {
		c = h->data;
	}
	c->open_handles--;
	maybe_free(c);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
	sock_ctx *s = (sock_ctx *)p;
	curlio *c = s->c;
	int flags = 0;
	if (status < 0)
		flags = CURL_CSELECT_ERR;
	if (events & UV_READABLE)
		flags |= CURL_CSELECT_IN;
	if (events & UV_WRITABLE)
		flags |= CURL_CSELECT_OUT;
	int running;
	curl_multi_socket_action(c->multi, s->fd, flags, &running);
	check_done(c);
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	UNUSED(easy);
	curlio *c = userp;
	sock_ctx *s = socketp;
	if (what == CURL_POLL_REMOVE) {
		if (s) {
			uv_poll_stop(&s->poll);
			uv_close((uv_handle_t *)&s->poll, on_handle_closed);
			curl_multi_assign(c->multi, fd, NULL);
		}
		return 0;
	}
	if (!s) {
		s = xcalloc(1, sizeof *s);
		s->fd = fd;
		s->c = c;
		uv_poll_init_socket(c->loop, &s->poll, fd);
		s->poll.data = s;
		c->open_handles++;
		curl_multi_assign(c->multi, fd, s);
	}
	int ev = 0;
	if (what & CURL_POLL_IN)
		ev |= UV_READABLE;
	if (what & CURL_POLL_OUT)
		ev |= UV_WRITABLE;
	uv_poll_start(&s->poll, ev, on_poll);
	return 0;
}

static void on_timeout(uv_timer_t *t)
{
	curlio *c = t->data;
	int running;
	curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(c);
}

static int on_timer(CURLM *multi, long ms, void *userp)
{
	UNUSED(multi);
	curlio *c = userp;
	if (ms < 0)
		uv_timer_stop(&c->timer);
	else
		uv_timer_start(&c->timer, on_timeout, (uint64_t)ms, 0);
	return 0;
}

curlio *curlio_new(uv_loop_t *loop, const curlio_config *cfg)
{
	curlio *c = xcalloc(1, sizeof *c);
	c->loop = loop;
	c->base = xstrdup(cfg->base_url);
	c->ca = xstrdup(cfg->ca_file);
	c->cert = xstrdup(cfg->cert_file);
	c->key = xstrdup(cfg->key_file);
	c->auth = cfg->bearer ? xasprintf("Authorization: Bearer %s", cfg->bearer) : NULL;
	c->multi = curl_multi_init();
	if (!c->multi)
		abort();
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	if (cfg->max_connections > 0) {
		c->max_active = cfg->max_connections;
		curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)cfg->max_connections);
		curl_multi_setopt(c->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)cfg->max_connections);
		curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, (long)cfg->max_connections);
	}
	uv_timer_init(loop, &c->timer);
	c->timer.data = c;
	c->open_handles = 1;
	return c;
}

static void req_unlink(curlio_req *r)
{
	curlio *c = r->c;
	if (!r->easy) { /* waiting: out of the queue too */
		curlio_req *prev = NULL;
		for (curlio_req *q = c->waiting; q; prev = q, q = q->wnext) {
			if (q != r)
				continue;
			if (prev)
				prev->wnext = r->wnext;
			else
				c->waiting = r->wnext;
			if (c->waiting_tail == r)
				c->waiting_tail = prev;
			break;
		}
	}
	if (r->prev)
		r->prev->next = r->next;
	else
		c->reqs = r->next;
	if (r->next)
		r->next->prev = r->prev;
}

static void req_free(curlio_req *r)
{
	if (r->easy) {
		curl_multi_remove_handle(r->c->multi, r->easy);
		curl_easy_cleanup(r->easy);
		r->c->active--;
	}
	curl_slist_free_all(r->headers);
	free(r->method);
	free(r->url);
	free(r->ctype);
	free(r->body);
	buf_free(&r->answer);
	free(r);
}

static long status_of(curlio_req *r)
{
	long code = 0;
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &code);
	return code;
}

static size_t on_write(char *p, size_t size, size_t n, void *ud)
{
	curlio_req *r = ud;
	size_t len = size * n;
	if (r->on_data) {
		if (r->on_data(r->ud, (int)status_of(r), p, len) < 0) {
			r->aborted = true;
			return 0; /* curl ends the transfer with a write error */
		}
		return len;
	}
	buf_add(&r->answer, p, len);
	return len;
}

static void check_done(curlio *c)
{
	CURLMsg *m;
	int left;
	while ((m = curl_multi_info_read(c->multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		curlio_req *r = NULL;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		CURLcode rc = m->data.result;
		int status = rc == CURLE_OK || r->aborted ? (int)status_of(r) : 0;
		const char *why = r->aborted ? "aborted" : rc == CURLE_OK ? NULL : curl_easy_strerror(rc);
		req_unlink(r);
		curlio_done_cb done = r->done;
		void *ud = r->ud;
		_cleanup_free_ char *body = r->answer.p ? xstrndup(r->answer.p, r->answer.n) : xstrdup("");
		size_t blen = r->answer.n;
		req_free(r);
		start_waiting(c);
		if (done)
			done(ud, status, body, blen, why);
	}
}

/* Gives r its easy handle and hands it to curl. */
static void req_start(curlio_req *r)
{
	curlio *c = r->c;
	r->easy = curl_easy_init();
	if (!r->easy)
		abort();
	c->active++;
	CURL *e = r->easy;
	curl_easy_setopt(e, CURLOPT_URL, r->url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, r);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	if (r->timeout_ms > 0)
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, r->timeout_ms);
	if (c->ca)
		curl_easy_setopt(e, CURLOPT_CAINFO, c->ca);
	if (c->cert_pem && c->key_pem) {
		struct curl_blob cb = {.data = c->cert_pem, .len = strlen(c->cert_pem),
		                       .flags = CURL_BLOB_COPY};
		struct curl_blob kb = {.data = c->key_pem, .len = strlen(c->key_pem),
		                       .flags = CURL_BLOB_COPY};
		curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &cb);
		curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
		curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &kb);
		curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
	} else if (c->cert && c->key) {
		curl_easy_setopt(e, CURLOPT_SSLCERT, c->cert);
		curl_easy_setopt(e, CURLOPT_SSLKEY, c->key);
	}
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
	r->headers = curl_slist_append(r->headers, "Accept: application/json");
	r->headers = curl_slist_append(r->headers, "User-Agent: timon-agent");
	if (c->auth)
		r->headers = curl_slist_append(r->headers, c->auth);
	if (r->body) {
		r->headers = curl_slist_append(r->headers, r->ctype);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->len);
	} else if (strcmp(r->method, "GET") == 0) {
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	}
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
	curl_multi_add_handle(c->multi, e);
}

/* Starts waiting requests while there is room. */
static void start_waiting(curlio *c)
{
	while (c->waiting && c->active < c->max_active) {
		curlio_req *r = c->waiting;
		c->waiting = r->wnext;
		if (!c->waiting)
			c->waiting_tail = NULL;
		r->wnext = NULL;
		req_start(r);
	}
}

curlio_req *curlio_request(curlio *c, const char *method, const char *path, const char *ctype,
                           const char *body, size_t len, long timeout_ms, curlio_data_cb on_data,
                           curlio_done_cb done, void *ud)
{
	curlio_req *r = xcalloc(1, sizeof *r);
	r->c = c;
	r->on_data = on_data;
	r->done = done;
	r->ud = ud;
	r->method = xstrdup(method);
	r->url = xasprintf("%s%s", c->base, path);
	r->timeout_ms = timeout_ms;
	if (body) {
		r->ctype = xasprintf("Content-Type: %s", ctype ? ctype : "application/json");
		r->body = xmalloc(len + 1);
		memcpy(r->body, body, len);
		r->body[len] = 0;
		r->len = len;
	}
	r->next = c->reqs;
	if (c->reqs)
		c->reqs->prev = r;
	c->reqs = r;
	if (c->max_active > 0 && c->active >= c->max_active) {
		if (c->waiting_tail)
			c->waiting_tail->wnext = r;
		else
			c->waiting = r;
		c->waiting_tail = r;
	} else {
		req_start(r);
	}
	return r;
}

void curlio_cancel(curlio_req *r)
{
	if (!r)
		return;
	curlio *c = r->c;
	req_unlink(r);
	req_free(r);
	if (!c->closing)
		start_waiting(c);
}

void curlio_free(curlio *c)
{
	if (!c)
		return;
	c->closing = true; /* cancelling starts no waiting request */
	while (c->reqs)
		curlio_cancel(c->reqs);
	curl_multi_cleanup(c->multi);
	uv_timer_stop(&c->timer);
	uv_close((uv_handle_t *)&c->timer, on_handle_closed);
}

char *curlio_escape(const char *s)
{
	char *e = curl_easy_escape(NULL, s, 0);
	if (!e)
		abort(); /* only fails when out of memory */
	char *out = xstrdup(e);
	curl_free(e);
	return out;
}

void curlio_set_client_cert(curlio *c, const char *cert_pem, const char *key_pem)
{
	free(c->cert_pem);
	free(c->key_pem);
	c->cert_pem = xstrdup(cert_pem);
	c->key_pem = xstrdup(key_pem);
}
