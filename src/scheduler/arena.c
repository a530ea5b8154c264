/* arena.c — the scheduler's small memory helpers: a bump arena per parsed node or pod (freed
 * in one call), string hashing, and the topology-pair count map the affinity and spread
 * plugins use. Not for: long-lived mutable data (the snapshot uses the heap directly).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "scheduler/sched-internal.h"

struct sched_arena_block {
	struct sched_arena_block *next;
	size_t used, cap;
	_Alignas(8) unsigned char data[];
};

void *sched_arena_alloc(sched_arena *a, size_t n)
{
	n = (n + 7) & ~(size_t)7;
	struct sched_arena_block *b = a->head;
	if (!b || b->cap - b->used < n) {
		size_t cap = n > 1024 ? n : 1024;
		if (b && b->cap * 2 > cap && b->cap < 65536)
			cap = b->cap * 2;
		b = xmalloc(sizeof(*b) + cap);
		b->next = a->head;
		b->used = 0;
		b->cap = cap;
		a->head = b;
	}
	void *p = b->data + b->used;
	b->used += n;
	memset(p, 0, n);
	return p;
}

char *sched_arena_strdup(sched_arena *a, const char *s)
{
	if (!s)
		return NULL;
	size_t n = strlen(s) + 1;
	char *p = sched_arena_alloc(a, n);
	memcpy(p, s, n);
	return p;
}

void sched_arena_free(sched_arena *a)
{
	struct sched_arena_block *b = a->head;
	while (b) {
		struct sched_arena_block *next = b->next;
		free(b);
		b = next;
	}
	a->head = NULL;
}

/* FNV-1a, 64 bits. */
uint64_t sched_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		h ^= *p;
		h *= 1099511628211ULL;
	}
	return h;
}

sched_hstr sched_hstr_dup(sched_arena *a, const char *s)
{
	if (!s)
		s = "";
	return (sched_hstr){sched_arena_strdup(a, s), sched_hash(s)};
}

/* Label keys and namespaces are few and repeat on every object: one canonical copy each,
 * so equal keys are equal pointers and comparisons skip strcmp. Never freed (bounded by the
 * distinct keys a cluster uses). */
static pthread_mutex_t intern_lock = PTHREAD_MUTEX_INITIALIZER;
static hmap intern_map;

sched_hstr sched_intern(const char *s)
{
	if (!s)
		s = "";
	pthread_mutex_lock(&intern_lock);
	char *c = hmap_get(&intern_map, s);
	if (!c) {
		c = xstrdup(s);
		hmap_put(&intern_map, c, c);
	}
	pthread_mutex_unlock(&intern_lock);
	return (sched_hstr){c, sched_hash(c)};
}

/* ---- topology pair map: open addressing on (key, value) ---- */

static uint64_t tp_hash(sched_hstr key, sched_hstr val)
{
	uint64_t h = key.h * 0x9E3779B97F4A7C15ULL ^ val.h;
	return h ^ (h >> 29);
}

/* Big arrays of maps that finished cycles freed, kept for the next cycles' maps (which,
 * sized by sched_tpmap_reserve, want the same capacities). A new array is fresh pages:
 * each is first read as the zero page and then written, a copy-on-write fault and a TLB
 * flush on the other CPUs per page, a third of a cycle with pod anti-affinity by hostname
 * over 5,000 nodes. Global, so a kept array is never a leak. */
#define TP_KEEP     8
#define TP_KEEP_MIN 1024 /* entries (32 KiB) */
static pthread_mutex_t tp_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
	sched_tp *v;
	uint32_t cap;
} tp_kept[TP_KEEP];

static sched_tp *tp_alloc(uint32_t cap)
{
	sched_tp *v = NULL;
	if (cap >= TP_KEEP_MIN) {
		pthread_mutex_lock(&tp_mu);
		for (int i = 0; i < TP_KEEP && !v; i++)
			if (tp_kept[i].v && tp_kept[i].cap == cap) {
				v = tp_kept[i].v;
				tp_kept[i].v = NULL;
			}
		pthread_mutex_unlock(&tp_mu);
	}
	if (!v)
		return xcalloc(cap, sizeof(*v));
	memset(v, 0, cap * sizeof(*v));
	return v;
}

static void tp_release(sched_tp *v, uint32_t cap)
{
	if (v && cap >= TP_KEEP_MIN) {
		pthread_mutex_lock(&tp_mu);
		for (int i = 0; i < TP_KEEP && v; i++)
			if (!tp_kept[i].v) {
				tp_kept[i].v = v;
				tp_kept[i].cap = cap;
				v = NULL;
			}
		pthread_mutex_unlock(&tp_mu);
	}
	free(v);
}

static void tp_resize(sched_tpmap *m, uint32_t cap)
{
	sched_tp *v = tp_alloc(cap);
	for (uint32_t i = 0; i < m->cap; i++) {
		if (!m->v[i].key)
			continue;
		uint32_t j = (uint32_t)m->v[i].h & (cap - 1);
		while (v[j].key)
			j = (j + 1) & (cap - 1);
		v[j] = m->v[i];
	}
	tp_release(m->v, m->cap);
	m->v = v;
	m->cap = cap;
}

/* The one load-factor rule (3/4) for both a reserve and an insertion's growth. */
void sched_tpmap_reserve(sched_tpmap *m, uint32_t n)
{
	uint32_t cap = m->cap ? m->cap : 16;
	while (n * 4 > cap * 3 && cap < (1u << 30))
		cap *= 2;
	if (cap > m->cap)
		tp_resize(m, cap);
}

int64_t *sched_tpmap_at(sched_tpmap *m, sched_hstr key, sched_hstr val, bool create)
{
	uint64_t h = tp_hash(key, val);
	if (m->cap) {
		uint32_t j = (uint32_t)h & (m->cap - 1);
		while (m->v[j].key) {
			sched_tp *e = &m->v[j];
			/* keys are interned, values often the very label asked with: pointers
			 * first */
			if (e->h == h && (e->key == key.s || strcmp(e->key, key.s) == 0) &&
			    (e->val == val.s || strcmp(e->val, val.s) == 0))
				return &e->count;
			j = (j + 1) & (m->cap - 1);
		}
	}
	if (!create)
		return NULL;
	sched_tpmap_reserve(m, m->n + 1);
	uint32_t j = (uint32_t)h & (m->cap - 1);
	while (m->v[j].key)
		j = (j + 1) & (m->cap - 1);
	m->v[j] = (sched_tp){key.s, val.s, h, 0};
	m->n++;
	return &m->v[j].count;
}

void sched_tpmap_copy(sched_tpmap *dst, const sched_tpmap *src)
{
	sched_tpmap_free(dst);
	if (!src->cap)
		return;
	dst->v = tp_alloc(src->cap);
	memcpy(dst->v, src->v, src->cap * sizeof(*dst->v));
	dst->cap = src->cap;
	dst->n = src->n;
}

int64_t sched_tpmap_get(const sched_tpmap *m, sched_hstr key, sched_hstr val)
{
	int64_t *p = sched_tpmap_at((sched_tpmap *)m, key, val, false);
	return p ? *p : 0;
}

void sched_tpmap_free(sched_tpmap *m)
{
	tp_release(m->v, m->cap);
	m->v = NULL;
	m->cap = m->n = 0;
}
