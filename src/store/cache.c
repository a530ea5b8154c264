/* cache.c — live objects in memory, event history, watchers and group commit.
 *
 * Buckets: one per resource prefix ("/registry/pods/"), each with a hash map for gets and a
 * key-sorted array for lists and pagination. History: a ring of the most recent events,
 * bounded in count and bytes, from which watches resume. Group commit: writes queue in
 * `pending`; right after the loop's I/O callbacks (uv_check) and again before it polls
 * (uv_prepare) the queue goes to a worker thread as one transaction, unless one is running;
 * its completion acknowledges the writes and fans their events out.
 * Not for: HTTP or object semantics (src/apiserver/).
 */
#include "store/cache.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/hmap.h"
#include "base/json.h"
#include "base/log.h"
#include "base/util.h"

#define RING_CAP 10000
#define RING_MAX_BYTES (64u << 20)
#define COMPACT_INTERVAL_MS (60 * 1000)
/* Entries that keep their tree (cache_entry_obj): the objects every write consults
 * (namespaces, priority classes) and the like. Handing every write's tree over instead
 * (a deep copy) measured no cheaper than the parses it saved, and cost ~20 MiB. */
#define TREES_MAX 256
#define SCRATCH_KEEP (1u << 20)

typedef struct cache_bucket {
	char *prefix;
	hmap keys;          /* key -> cache_entry */
	cache_entry **sorted;
	size_t n, cap;
	cache_watcher *watchers;
} cache_bucket;

struct cache_watcher {
	cache_watcher *next;
	cache_bucket *bucket;
	char *prefix;
	size_t prefix_len;
	int64_t from_rev;
	cache_watch_cb cb;
	void *ud;
	bool dead;
};

typedef struct pending_write {
	cache_event *ev;
	cache_write_cb cb;
	void *ud;
} pending_write;

typedef struct commit_job {
	uv_work_t work;
	cache *c;
	pending_write *writes;
	size_t n;
	store_row *rows;
	terr *err;
	bool compact_only;
	int64_t compact_rev;
} commit_job;

typedef struct reap_job {
	uv_work_t work;
	cache *c;
	json_t **trees;
	size_t n;
} reap_job;

struct cache {
	uv_loop_t *loop;
	store *st;
	hmap buckets;
	int64_t rev;
	int64_t oldest; /* every event with rev > oldest is in the ring */
	cache_event **ring;
	size_t ring_start, ring_n;
	size_t ring_bytes;
	size_t ring_cap, ring_max_bytes, trees_max; /* cache_set_limits; RING_CAP... by default */
	pending_write *pending;
	size_t npending, cap_pending;
	bool inflight;
	int64_t compact_wanted;
	/* The store's compaction revision as of the last compaction the loop saw complete (the
	 * store's own field is written by the job, on the pool). */
	int64_t compacted;
	uv_prepare_t prepare;
	/* After the loop's I/O callbacks: the writes they made (requests, acknowledged commits'
	 * follow-ups) go to the disk before the controllers' tick (uv_idle, up to 2 ms) and the
	 * next timers run, not after. */
	uv_check_t check;
	uv_timer_t compact_timer;
	int dispatching; /* >0 while fanning out: unwatch defers frees */
	bool sweep_needed;
	cache_entry *lru_head, *lru_tail; /* entries with a tree, most recent first */
	size_t ntrees;
	/* Trees whose references the cache let go of, released on a worker (reap below). */
	json_t **reap;
	size_t nreap, cap_reap;
	reap_job *reaping; /* the batch a worker is releasing, or NULL */
	bool closed;
	/* Where cache_dump_next serializes: kept between writes, so a write's bytes are
	 * copied once into a blob of their size, not grown through a series of reallocs. */
	buf scratch;
};

/* ---------- buckets ---------- */

/* The resource prefix of key: "/registry/<res>/" or "/registry/<group.with.dots>/<res>/". */
static size_t bucket_prefix_len(const char *key)
{
	const char *p = key;
	if (str_has_prefix(p, "/registry/"))
		p += strlen("/registry/");
	const char *slash = strchr(p, '/');
	if (!slash)
		return strlen(key);
	if (memchr(p, '.', (size_t)(slash - p))) {
		const char *s2 = strchr(slash + 1, '/');
		if (s2)
			slash = s2;
	}
	return (size_t)(slash - key) + 1;
}

static cache_bucket *bucket_get(cache *c, const char *key, bool create)
{
	size_t n = bucket_prefix_len(key);
	char stackbuf[256];
	char *prefix = n < sizeof stackbuf ? stackbuf : xmalloc(n + 1);
	memcpy(prefix, key, n);
	prefix[n] = 0;
	cache_bucket *b = hmap_get(&c->buckets, prefix);
	if (!b && create) {
		b = xcalloc(1, sizeof *b);
		b->prefix = xstrdup(prefix);
		hmap_put(&c->buckets, b->prefix, b);
	}
	if (prefix != stackbuf)
		free(prefix);
	return b;
}

/* Index of the first sorted entry whose key is >= key. */
static size_t lower_bound(const cache_bucket *b, const char *key)
{
	size_t lo = 0, hi = b->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (strcmp(b->sorted[mid]->key, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

#ifdef __SANITIZE_ADDRESS__
/* Sanitizer builds check the read-only contract: a reader that changed a shared tree
 * would show every later reader a state that was never stored. */
static void check_unchanged(const blob *b, const json_t *parsed, const char *key)
{
	if (!parsed)
		return;
	json_t *fresh = json_loadb(b->data, b->len, 0, NULL);
	if (!json_equal(fresh, (json_t *)parsed)) {
		log_error("cache: a reader changed the shared tree of %s", key);
		abort();
	}
	json_decref(fresh);
}
#endif

/* ---------- released trees ----------
 *
 * Freeing a tree is a walk over every node of it; the trees the cache lets go of (evicted
 * kept trees, the parses of delivered events) cost the loop ~12% of a scheduling run in
 * frees alone. They are shared read-only trees whose reference counts jansson changes
 * atomically, so their last reference can be dropped on a worker: the loop queues them and
 * hands the queue over once per iteration. A subtree another tree still shares only loses a
 * count; the loop never sees a tree it no longer references. */

static void reap_work(uv_work_t *req)
{
	reap_job *j = req->data;
	for (size_t i = 0; i < j->n; i++)
		json_decref(j->trees[i]);
}

static void reap_kick(cache *c);

static void reap_done(uv_work_t *req, int status)
{
	UNUSED(status);
	reap_job *j = req->data;
	cache *c = j->c;
	c->reaping = NULL;
	free(j->trees);
	free(j);
	reap_kick(c);
}

static void reap_kick(cache *c)
{
	if (c->reaping || c->nreap == 0 || c->closed)
		return;
	reap_job *j = xcalloc(1, sizeof *j);
	j->c = c;
	j->work.data = j;
	j->trees = c->reap;
	j->n = c->nreap;
	c->reap = NULL;
	c->nreap = c->cap_reap = 0;
	c->reaping = j;
	uv_queue_work(c->loop, &j->work, reap_work, reap_done);
}

/* Takes t (may be NULL). */
static void reap(cache *c, json_t *t)
{
	if (!t)
		return;
	if (c->closed) {
		json_decref(t);
		return;
	}
	if (c->nreap == c->cap_reap) {
		c->cap_reap = c->cap_reap ? c->cap_reap * 2 : 256;
		c->reap = xrealloc(c->reap, c->cap_reap * sizeof *c->reap);
	}
	c->reap[c->nreap++] = t;
}

void cache_release_tree(cache *c, json_t *t)
{
	reap(c, t);
}

/* ---------- kept trees (most recently used entries) ---------- */

static void lru_unlink(cache *c, cache_entry *e)
{
	if (e->lru_prev)
		e->lru_prev->lru_next = e->lru_next;
	else
		c->lru_head = e->lru_next;
	if (e->lru_next)
		e->lru_next->lru_prev = e->lru_prev;
	else
		c->lru_tail = e->lru_prev;
	e->lru_prev = e->lru_next = NULL;
}

static void lru_push(cache *c, cache_entry *e)
{
	e->lru_prev = NULL;
	e->lru_next = c->lru_head;
	if (c->lru_head)
		c->lru_head->lru_prev = e;
	c->lru_head = e;
	if (!c->lru_tail)
		c->lru_tail = e;
}

static void tree_drop(cache *c, cache_entry *e)
{
	if (!e->tree)
		return;
#ifdef __SANITIZE_ADDRESS__
	check_unchanged(e->value, e->tree, e->key);
#endif
	lru_unlink(c, e);
	reap(c, e->tree);
	e->tree = NULL;
	c->ntrees--;
}

/* Gives e the tree (stolen) of its current value. */
static void tree_keep(cache *c, cache_entry *e, json_t *tree)
{
	if (!tree)
		return;
	tree_drop(c, e);
	e->tree = tree;
	lru_push(c, e);
	if (++c->ntrees > c->trees_max)
		tree_drop(c, c->lru_tail);
}

json_t *cache_entry_obj(cache *c, const cache_entry *ce)
{
	/* The kept tree is a cache of value, not a change to the entry: the const cast is
	 * the lazy fill (loop thread only). */
	cache_entry *e = (cache_entry *)ce;
	if (e->tree) {
		if (c->lru_head != e) {
			lru_unlink(c, e);
			lru_push(c, e);
		}
		return e->tree;
	}
	tree_keep(c, e, json_loadb(e->value->data, e->value->len, 0, NULL));
	return e->tree;
}

json_t *cache_get_obj(cache *c, const char *key)
{
	const cache_entry *e = cache_get(c, key);
	return e ? json_incref(cache_entry_obj(c, e)) : NULL;
}

void cache_offer_tree(cache *c, const char *key, int64_t rev, json_t *tree)
{
	cache_entry *e = (cache_entry *)cache_get(c, key);
	if (e && !e->tree && tree && e->rev == rev) {
		tree_keep(c, e, tree); /* the reader's parse of this very value: kept again */
		return;
	}
	reap(c, tree);
}

json_t *cache_get_obj_at(cache *c, const char *key, int64_t rev, json_t *tree)
{
	cache_offer_tree(c, key, rev, tree);
	const cache_entry *e = cache_get(c, key);
	return e ? json_incref(cache_entry_obj(c, e)) : NULL;
}

blob *cache_dump_next(cache *c, const char *key, const json_t *tree)
{
	const cache_entry *e = cache_get(c, key);
	buf *b = &c->scratch;
	buf_reset(b);
	if (!e || !e->tree)
		json_dump_compact_based_into(b, tree, NULL, NULL, 0, NULL);
	else
		json_dump_compact_based_into(b, tree, e->tree, e->value->data, e->value->len, NULL);
	blob *out = blob_new(b->p, b->n);
	if (b->cap > SCRATCH_KEEP) /* an outsized object's room is not kept */
		buf_free(b);
	return out;
}

json_t *cache_entry_dup(cache *c, const cache_entry *e)
{
	UNUSED(c);
	if (e->tree)
		return json_clone(e->tree);
	return json_loadb(e->value->data, e->value->len, 0, NULL);
}

static void entry_free(cache *c, cache_entry *e)
{
	tree_drop(c, e);
	free(e->key);
	blob_unref(e->value);
	json_decref(e->labels);
	free(e);
}

/* Sets key to value (NULL removes it). Takes labels. */
static void bucket_set(cache *c, cache_bucket *b, const char *key, blob *value, int64_t rev,
                       json_t *labels)
{
	cache_entry *e = hmap_get(&b->keys, key);
	if (!value) {
		json_decref(labels);
		if (!e)
			return;
		hmap_del(&b->keys, key);
		size_t i = lower_bound(b, key);
		memmove(&b->sorted[i], &b->sorted[i + 1], (b->n - i - 1) * sizeof *b->sorted);
		b->n--;
		entry_free(c, e);
		return;
	}
	if (e) {
		tree_drop(c, e);
		blob_unref(e->value);
		json_decref(e->labels);
		e->value = blob_ref(value);
		e->rev = rev;
		e->labels = labels;
		return;
	}
	e = xcalloc(1, sizeof *e);
	e->key = xstrdup(key);
	e->value = blob_ref(value);
	e->rev = rev;
	e->labels = labels;
	hmap_put(&b->keys, e->key, e);
	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 16;
		b->sorted = xrealloc(b->sorted, b->cap * sizeof *b->sorted);
	}
	size_t i = lower_bound(b, key);
	memmove(&b->sorted[i + 1], &b->sorted[i], (b->n - i) * sizeof *b->sorted);
	b->sorted[i] = e;
	b->n++;
}

/* ---------- events and history ---------- */

json_t *cache_event_obj(const cache_event *ev)
{
	/* The parse is a cache of value, not a change to the event: the const cast is the
	 * lazy fill (loop thread only, so no race). */
	cache_event *e = (cache_event *)ev;
	if (!e->parsed && e->value)
		e->parsed = json_loadb(e->value->data, e->value->len, 0, NULL);
	return e->parsed;
}

json_t *cache_event_obj_parsed(const cache_event *ev)
{
	return ev->parsed;
}

json_t *cache_event_prev_obj_parsed(const cache_event *ev)
{
	return ev->prev_parsed;
}

json_t *cache_event_prev_obj(const cache_event *ev)
{
	cache_event *e = (cache_event *)ev;
	if (!e->prev_parsed && e->prev_value)
		e->prev_parsed = json_loadb(e->prev_value->data, e->prev_value->len, 0, NULL);
	return e->prev_parsed;
}

static void check_event_unchanged(const cache_event *ev)
{
#ifdef __SANITIZE_ADDRESS__
	check_unchanged(ev->value, ev->parsed, ev->key);
	check_unchanged(ev->prev_value, ev->prev_parsed, ev->key);
#else
	UNUSED(ev);
#endif
}

void cache_event_release(cache_event *ev)
{
	check_event_unchanged(ev);
	json_decref(ev->parsed);
	json_decref(ev->prev_parsed);
	ev->parsed = ev->prev_parsed = NULL;
}

/* cache_event_release, with the trees released on a worker. */
static void event_release(cache *c, cache_event *ev)
{
	check_event_unchanged(ev);
	reap(c, ev->parsed);
	reap(c, ev->prev_parsed);
	ev->parsed = ev->prev_parsed = NULL;
}

static void event_free(cache *c, cache_event *ev)
{
	event_release(c, ev);
	free(ev->key);
	blob_unref(ev->value);
	blob_unref(ev->prev_value);
	json_decref(ev->labels);
	json_decref(ev->prev_labels);
	free(ev);
}

static size_t event_bytes(const cache_event *ev)
{
	return sizeof *ev + (ev->value ? ev->value->len : 0) + strlen(ev->key);
}

static void ring_push(cache *c, cache_event *ev)
{
	while (c->ring_n > 0 && (c->ring_n == c->ring_cap || c->ring_bytes > c->ring_max_bytes)) {
		cache_event *old = c->ring[c->ring_start];
		c->ring_start = (c->ring_start + 1) % c->ring_cap;
		c->ring_n--;
		c->ring_bytes -= event_bytes(old);
		c->oldest = old->rev;
		event_free(c, old);
	}
	c->ring[(c->ring_start + c->ring_n) % c->ring_cap] = ev;
	c->ring_n++;
	c->ring_bytes += event_bytes(ev);
}

static json_t *labels_of(const char *json, size_t len)
{
	json_t *o = json_loadb(json, len, 0, NULL);
	if (!o)
		return NULL;
	json_t *l = json_path(o, "metadata.labels");
	json_t *r = json_is_object(l) && json_object_size(l) ? json_incref(l) : NULL;
	json_decref(o);
	return r;
}

/* ---------- watchers ---------- */

static void sweep_watchers(cache *c)
{
	if (c->dispatching || !c->sweep_needed)
		return;
	c->sweep_needed = false;
	size_t it = 0;
	void *v;
	while (hmap_next(&c->buckets, &it, NULL, &v)) {
		cache_bucket *b = v;
		cache_watcher **pp = &b->watchers;
		while (*pp) {
			cache_watcher *w = *pp;
			if (w->dead) {
				*pp = w->next;
				free(w->prefix);
				free(w);
			} else {
				pp = &w->next;
			}
		}
	}
}

static void deliver(cache_watcher *w, const cache_event *ev)
{
	if (w->dead || ev->rev <= w->from_rev)
		return;
	if (strncmp(ev->key, w->prefix, w->prefix_len) != 0)
		return;
	w->from_rev = ev->rev;
	w->cb(w->ud, ev);
}

static void fan_out(cache *c, cache_event *ev)
{
	c->dispatching++;
	for (cache_watcher *w = ev->bucket->watchers; w; w = w->next)
		deliver(w, ev);
	c->dispatching--;
	/* Parsed trees live for one delivery: the ring keeps only the blobs. */
	event_release(c, ev);
	sweep_watchers(c);
}

cache_watcher *cache_watch(cache *c, const char *prefix, int64_t from_rev, cache_watch_cb cb,
                           void *ud, terr **err)
{
	/* k8s: a watch from a revision older than the retained history answers 410 Gone. */
	if (from_rev < c->oldest) {
		terr_set(err, 410, "Expired", "too old resource version: %lld (%lld)",
		         (long long)from_rev, (long long)c->oldest + 1);
		return NULL;
	}
	cache_bucket *b = bucket_get(c, prefix, true);
	cache_watcher *w = xcalloc(1, sizeof *w);
	w->bucket = b;
	w->prefix = xstrdup(prefix);
	w->prefix_len = strlen(prefix);
	w->from_rev = from_rev;
	w->cb = cb;
	w->ud = ud;
	/* Replay retained history after from_rev, then join the live stream. */
	c->dispatching++;
	for (size_t i = 0; i < c->ring_n && !w->dead; i++) {
		cache_event *ev = c->ring[(c->ring_start + i) % c->ring_cap];
		if (ev->bucket == b) {
			/* A watch started from inside a delivery replays the event being delivered:
			 * its trees belong to that outer delivery, which releases them. */
			bool parsed = ev->parsed || ev->prev_parsed;
			deliver(w, ev);
			if (!parsed)
				event_release(c, ev);
		}
	}
	c->dispatching--;
	w->next = b->watchers;
	b->watchers = w;
	if (w->dead) {
		c->sweep_needed = true;
		sweep_watchers(c);
		return NULL;
	}
	return w;
}

void cache_unwatch(cache *c, cache_watcher *w)
{
	if (!w)
		return;
	w->dead = true;
	c->sweep_needed = true;
	sweep_watchers(c);
}

/* ---------- group commit ---------- */

static void commit_work(uv_work_t *req)
{
	commit_job *j = req->data;
	store *st = j->c->st;
	if (j->compact_only) {
		st->ops->compact(st, j->compact_rev, &j->err);
		return;
	}
	st->ops->commit(st, j->rows, j->n, &j->err);
}

static void schedule(cache *c);

static void commit_done(uv_work_t *req, int status)
{
	commit_job *j = req->data;
	cache *c = j->c;
	c->inflight = false;
	if (j->compact_only) {
		if (j->err) {
			log_warn("store: compaction failed: %s", j->err->message);
			terr_free(j->err);
		} else if (j->compact_rev > c->compacted) {
			c->compacted = j->compact_rev;
		}
		free(j);
		schedule(c);
		return;
	}
	if (j->err || status < 0) {
		/* A commit that fails leaves memory ahead of the disk: nothing acknowledged is
		 * lost, but the state can no longer be trusted. Stop, and let a restart reload
		 * the durable state. */
		log_error("store: commit failed: %s; exiting to protect the data",
		          j->err ? j->err->message : "worker error");
		for (size_t i = 0; i < j->n; i++)
			if (j->writes[i].cb)
				j->writes[i].cb(j->writes[i].ud, 0, j->err);
		abort();
	}
	/* The writes queued during this commit go to the disk while this one's answers and
	 * fan-out run: with the next commit waiting for them, a commit's turn took the
	 * worker's time plus the loop's, and every acknowledgement waits for a turn. The
	 * order holds: the next commit's completion runs after this function. */
	schedule(c);
	for (size_t i = 0; i < j->n; i++) {
		pending_write *w = &j->writes[i];
		ring_push(c, w->ev);
		if (w->cb)
			w->cb(w->ud, w->ev->rev, NULL);
		fan_out(c, w->ev);
	}
	free(j->writes);
	free(j->rows);
	free(j);
}

static void submit(cache *c)
{
	commit_job *j = xcalloc(1, sizeof *j);
	j->c = c;
	j->work.data = j;
	if (c->npending == 0) {
		j->compact_only = true;
		j->compact_rev = c->compact_wanted;
		c->compact_wanted = 0;
	} else {
		j->writes = c->pending;
		j->n = c->npending;
		c->pending = NULL;
		c->npending = c->cap_pending = 0;
		j->rows = xcalloc(j->n, sizeof *j->rows);
		for (size_t i = 0; i < j->n; i++) {
			cache_event *ev = j->writes[i].ev;
			j->rows[i] = (store_row){.rev = ev->rev, .key = ev->key, .value = ev->value->data,
			                         .len = ev->value->len, .type = ev->type};
		}
	}
	c->inflight = true;
	uv_queue_work(c->loop, &j->work, commit_work, commit_done);
}

static void schedule(cache *c)
{
	if (c->inflight)
		return;
	if (c->npending > 0 || c->compact_wanted > 0)
		submit(c);
	else
		uv_unref((uv_handle_t *)&c->prepare); /* nothing waits: let the loop sleep or end */
}

static void on_check(uv_check_t *h)
{
	schedule(h->data);
}

static void on_prepare(uv_prepare_t *p)
{
	schedule(p->data);
	reap_kick(p->data);
}

static void on_compact_timer(uv_timer_t *t)
{
	cache *c = t->data;
	/* Keep on disk what the ring keeps in memory, so a restart can resume the same
	 * watches; everything older goes. */
	if (c->oldest > c->compacted)
		c->compact_wanted = c->oldest;
	schedule(c);
}

void cache_write(cache *c, int64_t rev, const char *key, int type, const char *json, size_t len,
                 json_t *labels, json_t *tree, cache_write_cb cb, void *ud)
{
	cache_write_blob(c, rev, key, type, blob_new(json, len), labels, tree, cb, ud);
}

void cache_write_blob(cache *c, int64_t rev, const char *key, int type, blob *value,
                      json_t *labels, json_t *tree, cache_write_cb cb, void *ud)
{
	if (rev != c->rev + 1)
		abort(); /* the caller must take revisions in order */
	c->rev = rev;
	cache_bucket *b = bucket_get(c, key, true);
	cache_entry *prev = hmap_get(&b->keys, key);
	cache_event *ev = xcalloc(1, sizeof *ev);
	ev->rev = rev;
	ev->type = type;
	ev->key = xstrdup(key);
	ev->value = value;
	ev->labels = json_incref(labels);
	ev->bucket = b;
	ev->parsed = json_incref(tree);
	if (prev) {
		ev->prev_labels = json_incref(prev->labels);
		ev->prev_value = blob_ref(prev->value);
		ev->prev_parsed = json_incref(prev->tree);
	}
	bucket_set(c, b, key, type == STORE_DELETED ? NULL : ev->value, rev, labels);
	if (tree && type != STORE_DELETED)
		tree_keep(c, hmap_get(&b->keys, key), json_incref(tree));
	if (c->npending == c->cap_pending) {
		c->cap_pending = c->cap_pending ? c->cap_pending * 2 : 64;
		c->pending = xrealloc(c->pending, c->cap_pending * sizeof *c->pending);
	}
	c->pending[c->npending++] = (pending_write){ev, cb, ud};
	/* Queued writes keep the loop alive until they are committed. */
	uv_ref((uv_handle_t *)&c->prepare);
}

size_t cache_pending(const cache *c)
{
	return c->npending + (c->inflight ? 1 : 0);
}

/* ---------- reads ---------- */

int64_t cache_rev(const cache *c)
{
	return c->rev;
}

int64_t cache_oldest_rev(const cache *c)
{
	return c->oldest;
}

const cache_entry *cache_get(cache *c, const char *key)
{
	cache_bucket *b = bucket_get(c, key, false);
	return b ? hmap_get(&b->keys, key) : NULL;
}

size_t cache_range(cache *c, const char *prefix, const char *after, cache_entry *const **out)
{
	cache_bucket *b = bucket_get(c, prefix, false);
	*out = NULL;
	if (!b)
		return 0;
	size_t plen = strlen(prefix);
	size_t lo = lower_bound(b, prefix);
	if (after && strcmp(after, prefix) >= 0) {
		lo = lower_bound(b, after);
		if (lo < b->n && strcmp(b->sorted[lo]->key, after) == 0)
			lo++;
	}
	size_t hi = lo;
	while (hi < b->n && strncmp(b->sorted[hi]->key, prefix, plen) == 0)
		hi++;
	*out = b->sorted + lo;
	return hi - lo;
}

size_t cache_count(cache *c, const char *prefix)
{
	cache_entry *const *e;
	return cache_range(c, prefix, NULL, &e);
}

/* ---------- lifetime ---------- */

cache *cache_new(uv_loop_t *loop, store *st)
{
	cache *c = xcalloc(1, sizeof *c);
	c->loop = loop;
	c->st = st;
	c->ring_cap = RING_CAP;
	c->ring_max_bytes = RING_MAX_BYTES;
	c->trees_max = TREES_MAX;
	c->ring = xcalloc(c->ring_cap, sizeof *c->ring);
	uv_prepare_init(loop, &c->prepare);
	c->prepare.data = c;
	uv_prepare_start(&c->prepare, on_prepare);
	uv_check_init(loop, &c->check);
	c->check.data = c;
	uv_check_start(&c->check, on_check);
	uv_unref((uv_handle_t *)&c->check);
	uv_timer_init(loop, &c->compact_timer);
	c->compact_timer.data = c;
	uv_timer_start(&c->compact_timer, on_compact_timer, COMPACT_INTERVAL_MS, COMPACT_INTERVAL_MS);
	uv_unref((uv_handle_t *)&c->compact_timer);
	uv_unref((uv_handle_t *)&c->prepare);
	return c;
}

void cache_set_limits(cache *c, size_t ring_cap, size_t ring_max_bytes, size_t trees_max)
{
	if (c->ring_n == 0 && ring_cap > 0 && ring_cap != c->ring_cap) {
		free(c->ring);
		c->ring = xcalloc(ring_cap, sizeof *c->ring);
		c->ring_start = 0;
		c->ring_cap = ring_cap;
	}
	if (ring_max_bytes > 0)
		c->ring_max_bytes = ring_max_bytes;
	if (trees_max > 0)
		c->trees_max = trees_max;
}

static int load_current(const store_row *r, void *ud)
{
	cache *c = ud;
	cache_bucket *b = bucket_get(c, r->key, true);
	blob *v = blob_new(r->value, r->len);
	bucket_set(c, b, r->key, v, r->rev, labels_of(r->value, r->len));
	blob_unref(v);
	return 0;
}

static int load_history(const store_row *r, void *ud)
{
	cache *c = ud;
	cache_event *ev = xcalloc(1, sizeof *ev);
	ev->rev = r->rev;
	ev->type = r->type;
	ev->key = xstrdup(r->key);
	ev->bucket = bucket_get(c, r->key, true);
	/* The newest event of a live key is the object itself: share its bytes and labels
	 * instead of holding a second copy. */
	cache_entry *cur = hmap_get(&ev->bucket->keys, r->key);
	if (cur && cur->rev == r->rev) {
		ev->value = blob_ref(cur->value);
		ev->labels = json_incref(cur->labels);
	} else {
		ev->value = blob_new(r->value, r->len);
		ev->labels = labels_of(r->value, r->len);
	}
	ring_push(c, ev);
	return 0;
}

int cache_load(cache *c, terr **err)
{
	store *st = c->st;
	if (st->ops->current(st, load_current, c, err) < 0)
		return -1;
	c->rev = st->ops->head_rev(st);
	int64_t from = st->ops->compact_rev(st);
	c->compacted = from;
	if (c->rev - (int64_t)c->ring_cap > from)
		from = c->rev - (int64_t)c->ring_cap;
	/* Every revision after `from` is still in the log (compaction only removes rows below
	 * its revision), so the ring covers (from, head]. */
	c->oldest = from;
	if (st->ops->history(st, from, load_history, c, err) < 0)
		return -1;
	return 0;
}

void cache_close(cache *c)
{
	/* Every queued write is made durable before the store closes. */
	while (c->inflight || c->npending > 0 || c->reaping) {
		schedule(c);
		uv_run(c->loop, UV_RUN_ONCE);
	}
	c->closed = true; /* from here on, trees are released where they are let go */
	for (size_t i = 0; i < c->nreap; i++)
		json_decref(c->reap[i]);
	c->nreap = 0;
	uv_prepare_stop(&c->prepare);
	uv_check_stop(&c->check);
	uv_timer_stop(&c->compact_timer);
	uv_close((uv_handle_t *)&c->prepare, NULL);
	uv_close((uv_handle_t *)&c->check, NULL);
	uv_close((uv_handle_t *)&c->compact_timer, NULL);
	c->st->ops->close(c->st);
	c->st = NULL;
}

void cache_free(cache *c)
{
	if (!c)
		return;
	while (c->reaping)
		uv_run(c->loop, UV_RUN_ONCE);
	c->closed = true;
	size_t it = 0;
	void *v;
	while (hmap_next(&c->buckets, &it, NULL, &v)) {
		cache_bucket *b = v;
		for (size_t i = 0; i < b->n; i++)
			entry_free(c, b->sorted[i]);
		free(b->sorted);
		hmap_free(&b->keys);
		while (b->watchers) {
			cache_watcher *w = b->watchers;
			b->watchers = w->next;
			free(w->prefix);
			free(w);
		}
		free(b->prefix);
		free(b);
	}
	hmap_free(&c->buckets);
	buf_free(&c->scratch);
	for (size_t i = 0; i < c->ring_n; i++)
		event_free(c, c->ring[(c->ring_start + i) % c->ring_cap]);
	free(c->ring);
	for (size_t i = 0; i < c->npending; i++)
		event_free(c, c->pending[i].ev);
	free(c->pending);
	for (size_t i = 0; i < c->nreap; i++)
		json_decref(c->reap[i]);
	free(c->reap);
	free(c);
}
