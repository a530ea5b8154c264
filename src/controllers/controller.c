/* controller.c — work queues, informers over the watch cache, and the helpers reconcilers
 * share (cache reads, keys, owner references).
 * Not for: any one controller's logic (one file each) or which controllers run (manager.c).
 */
#include "controllers/controller.h"

#include <stdlib.h>
#include <string.h>

#include "base/hmap.h"
#include "base/json.h"
#include "base/log.h"
#include "base/util.h"
#include "controllers/controller-internal.h"

#define BACKOFF_BASE_MS 5
#define BACKOFF_MAX_MS (1000 * 1000)

typedef struct delayed {
	uint64_t due; /* uv_now milliseconds */
	char *key;
} delayed;

struct controller_queue {
	hmap queued;    /* key -> (void *)1 while waiting in fifo */
	char **fifo;
	size_t head, n, cap;
	hmap failures;  /* key (owned) -> count */
	delayed *later;
	size_t nlater, caplater;
	uv_timer_t timer;
	uv_loop_t *loop;
};

/* ---------- queue ---------- */

static void fifo_push(struct controller_queue *q, char *key)
{
	if (q->n == q->cap) {
		size_t ncap = q->cap ? q->cap * 2 : 64;
		char **f = xcalloc(ncap, sizeof *f);
		for (size_t i = 0; i < q->n; i++)
			f[i] = q->fifo[(q->head + i) % q->cap];
		free(q->fifo);
		q->fifo = f;
		q->cap = ncap;
		q->head = 0;
	}
	q->fifo[(q->head + q->n) % q->cap] = key;
	q->n++;
}

void controller_enqueue(controller *c, const char *key)
{
	struct controller_queue *q = c->q;
	if (hmap_get(&q->queued, key))
		return;
	char *k = xstrdup(key);
	hmap_put(&q->queued, k, (void *)1);
	fifo_push(q, k);
	controllers_kick();
}

static void on_timer(uv_timer_t *t);

static void arm(struct controller_queue *q)
{
	if (!q->nlater) {
		uv_timer_stop(&q->timer);
		return;
	}
	uint64_t now = uv_now(q->loop), due = q->later[0].due;
	for (size_t i = 1; i < q->nlater; i++)
		if (q->later[i].due < due)
			due = q->later[i].due;
	uv_timer_start(&q->timer, on_timer, due > now ? due - now : 0, 0);
}

static void on_timer(uv_timer_t *t)
{
	controller *c = t->data;
	struct controller_queue *q = c->q;
	uint64_t now = uv_now(q->loop);
	size_t j = 0;
	for (size_t i = 0; i < q->nlater; i++) {
		if (q->later[i].due <= now) {
			controller_enqueue(c, q->later[i].key);
			free(q->later[i].key);
		} else {
			q->later[j++] = q->later[i];
		}
	}
	q->nlater = j;
	arm(q);
}

void controller_enqueue_after(controller *c, const char *key, uint64_t ms)
{
	struct controller_queue *q = c->q;
	uint64_t due = uv_now(q->loop) + ms;
	for (size_t i = 0; i < q->nlater; i++) {
		if (strcmp(q->later[i].key, key) == 0) {
			if (due < q->later[i].due)
				q->later[i].due = due;
			arm(q);
			return;
		}
	}
	if (q->nlater == q->caplater) {
		q->caplater = q->caplater ? q->caplater * 2 : 16;
		q->later = xrealloc(q->later, q->caplater * sizeof *q->later);
	}
	q->later[q->nlater++] = (delayed){due, xstrdup(key)};
	arm(q);
}

void controller_forget(controller *c, const char *key)
{
	struct controller_queue *q = c->q;
	size_t it = 0;
	const char *k;
	void *v;
	/* The map borrows its keys, so find the owned copy to free it. */
	while (hmap_next(&q->failures, &it, &k, &v)) {
		if (strcmp(k, key) == 0) {
			hmap_del(&q->failures, k);
			free((char *)k);
			return;
		}
	}
}

static void retry(controller *c, const char *key)
{
	struct controller_queue *q = c->q;
	uintptr_t n = (uintptr_t)hmap_get(&q->failures, key);
	if (!n)
		hmap_put(&q->failures, xstrdup(key), (void *)(uintptr_t)1);
	else {
		size_t it = 0;
		const char *k;
		void *v;
		while (hmap_next(&q->failures, &it, &k, &v))
			if (strcmp(k, key) == 0)
				hmap_put(&q->failures, k, (void *)(n + 1));
	}
	/* k8s: client-go's per-item exponential backoff, 5 ms doubling up to 1000 s. */
	uint64_t ms = BACKOFF_BASE_MS;
	for (uintptr_t i = 0; i < n && ms < BACKOFF_MAX_MS; i++)
		ms *= 2;
	if (ms > BACKOFF_MAX_MS)
		ms = BACKOFF_MAX_MS;
	controller_enqueue_after(c, key, ms);
}

/* Runs up to budget queued keys; returns how many ran. */
size_t controller_process(controller *c, size_t budget)
{
	struct controller_queue *q = c->q;
	size_t done = 0;
	while (q->n && done < budget) {
		char *key = q->fifo[q->head];
		q->head = (q->head + 1) % q->cap;
		q->n--;
		hmap_del(&q->queued, key);
		int r = c->def->reconcile(c, key);
		if (r == RECONCILE_RETRY)
			retry(c, key);
		else if (hmap_get(&q->failures, key))
			controller_forget(c, key);
		free(key);
		done++;
	}
	return done;
}

bool controller_pending(const controller *c)
{
	return c->q->n > 0;
}

/* ---------- informers ---------- */

typedef struct informer {
	controller *c;
	const controller_watch *w;
	const kind_desc *d;
	cache_watcher *cw;
} informer;

static void default_on_event(controller *c, const cache_event *ev)
{
	json_t *o = cache_event_obj(ev);
	if (!o)
		return;
	char *key = controller_key_of(o);
	controller_enqueue(c, key);
	free(key);
}

static void on_cache_event(void *ud, const cache_event *ev)
{
	informer *in = ud;
	if (in->w->on_event)
		in->w->on_event(in->c, in->d, ev);
	else
		default_on_event(in->c, ev);
}

void *controller_inform(controller *c, const controller_watch *w)
{
	const kind_desc *d = controller_kind(w->group, w->resource);
	if (!d) {
		log_error("controller %s: unknown resource %s/%s", c->def->name, w->group, w->resource);
		return NULL;
	}
	informer *in = xcalloc(1, sizeof *in);
	in->c = c;
	in->w = w;
	in->d = d;
	_cleanup_free_ char *prefix = kind_storage_key(d, NULL, NULL);
	/* The initial list: every existing object as an ADDED event, then the live stream. */
	cache_entry *const *es;
	size_t n = cache_range(c->cache, prefix, NULL, &es);
	for (size_t i = 0; i < n; i++) {
		cache_event ev = {.rev = es[i]->rev, .type = STORE_ADDED, .key = es[i]->key,
		                  .value = es[i]->value, .labels = es[i]->labels};
		on_cache_event(in, &ev);
		cache_event_release(&ev);
	}
	in->cw = cache_watch(c->cache, prefix, cache_rev(c->cache), on_cache_event, in, NULL);
	return in;
}

void controller_uninform(controller *c, void *handle)
{
	informer *in = handle;
	if (!in)
		return;
	cache_unwatch(c->cache, in->cw);
	free(in);
}

void controller_queue_init(controller *c, uv_loop_t *loop)
{
	c->q = xcalloc(1, sizeof *c->q);
	c->q->loop = loop;
	uv_timer_init(loop, &c->q->timer);
	c->q->timer.data = c;
}

/* ---------- reads and helpers ---------- */

const kind_desc *controller_kind(const char *group, const char *resource)
{
	return kind_by_group_resource(group, resource);
}

json_t *controller_get(controller *c, const kind_desc *d, const char *ns, const char *name)
{
	_cleanup_free_ char *key = kind_storage_key(d, ns, name);
	const cache_entry *e = cache_get(c->cache, key);
	return e ? cache_entry_dup(c->cache, e) : NULL;
}

json_t *controller_get_shared(controller *c, const kind_desc *d, const char *ns,
                              const char *name)
{
	_cleanup_free_ char *key = kind_storage_key(d, ns, name);
	return cache_get_obj(c->cache, key);
}

size_t controller_list(controller *c, const kind_desc *d, const char *ns, json_t ***out)
{
	_cleanup_free_ char *prefix = kind_storage_key(d, ns, NULL);
	cache_entry *const *es;
	size_t n = cache_range(c->cache, prefix, NULL, &es);
	json_t **objs = xcalloc(n ? n : 1, sizeof *objs);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_loadb(es[i]->value->data, es[i]->value->len, 0, NULL);
		if (o)
			objs[k++] = o;
	}
	*out = objs;
	return k;
}

void controller_list_free(json_t **objs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		json_decref(objs[i]);
	free(objs);
}

char *controller_key_of(json_t *obj)
{
	const char *ns = json_path_str(obj, "metadata.namespace");
	const char *name = json_path_str(obj, "metadata.name");
	if (ns && *ns)
		return xasprintf("%s/%s", ns, name ? name : "");
	return xstrdup(name ? name : "");
}

void controller_split_key(const char *key, char **ns, char **name)
{
	const char *slash = strchr(key, '/');
	if (slash) {
		*ns = xstrndup(key, (size_t)(slash - key));
		*name = xstrdup(slash + 1);
	} else {
		*ns = NULL;
		*name = xstrdup(key);
	}
}

static const char owner_member[] = "\"ownerReferences\"";

/* Whether the object (bytes b, tree t when parsed already) names ownerReferences, with the
 * answer kept in *memo (a cache_event's lazy field: events are delivered on the loop thread
 * only, so the const cast is safe). A tree answers with a lookup; bytes with a scan. */
static bool names_owner(const blob *b, json_t *t, const uint8_t *memo)
{
	if (!b)
		return false;
	if (!*memo) {
		bool has = t ? json_object_get(json_object_get(t, "metadata"), "ownerReferences") != NULL
		             : memmem(b->data, b->len, owner_member, sizeof owner_member - 1) != NULL;
		*(uint8_t *)memo = has ? 2 : 1;
	}
	return *memo == 2;
}

bool controller_may_have_owner(const cache_event *ev)
{
	return names_owner(ev->value, cache_event_obj_parsed(ev), &ev->has_owner);
}

bool controller_prev_may_have_owner(const cache_event *ev)
{
	return names_owner(ev->prev_value, cache_event_prev_obj_parsed(ev), &ev->prev_has_owner);
}

const char *controller_storage_key_tail(const char *skey)
{
	const char *last = strrchr(skey, '/');
	const char *first = last;
	while (first && first > skey && first[-1] != '/')
		first--;
	return last && first > skey ? first : NULL;
}

bool controller_any_in_ns_of(controller *c, const kind_desc *d, const cache_event *ev)
{
	const char *tail = controller_storage_key_tail(ev->key);
	if (!tail)
		return true; /* not the expected shape: let the caller look */
	_cleanup_free_ char *ns = xstrndup(tail, (size_t)(strchr(tail, '/') - tail));
	_cleanup_free_ char *prefix = kind_storage_key(d, ns, NULL);
	return cache_count(c->cache, prefix) > 0;
}

json_t *controller_owner(json_t *obj)
{
	size_t i;
	json_t *ref;
	json_array_foreach(json_path(obj, "metadata.ownerReferences"), i, ref) {
		if (json_is_true(json_object_get(ref, "controller")))
			return ref;
	}
	return NULL;
}

json_t *controller_owner_ref(json_t *owner)
{
	return json_pack("{s:O, s:O, s:O, s:O, s:b, s:b}", "apiVersion",
	                 json_object_get(owner, "apiVersion"), "kind", json_object_get(owner, "kind"),
	                 "name", json_path(owner, "metadata.name"), "uid",
	                 json_path(owner, "metadata.uid"), "controller", 1, "blockOwnerDeletion", 1);
}
