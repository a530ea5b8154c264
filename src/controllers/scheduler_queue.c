/* scheduler_queue.c — the scheduling queue, as kube-scheduler's PriorityQueue: activeQ (a
 * heap by priority, then queue time), backoffQ (a heap by backoff end: 1 s doubling per
 * attempt up to 10 s) and the unschedulable pods, which wait for a cluster event that could
 * help them or for 5 minutes at most.
 * Not for: deciding which events help (scheduler_state.c sets the move flags) or
 * scheduling (scheduler_cycle.c).
 */
#include <stdlib.h>

#include "base/util.h"
#include "controllers/scheduler-internal.h"

/* ---- heaps with positions, so queued pods can be removed or re-ordered ---- */

static bool before(const sch_heap *h, const sch_pod *a, const sch_pod *b)
{
	if (h->by_backoff) {
		if (a->backoff_ms != b->backoff_ms)
			return a->backoff_ms < b->backoff_ms;
		return a->seq < b->seq;
	}
	/* k8s: PrioritySort: higher spec.priority first, then the earlier queue timestamp. */
	int32_t pa = sched_pod_priority(a->sp), pb = sched_pod_priority(b->sp);
	if (pa != pb)
		return pa > pb;
	if (a->ts_ms != b->ts_ms)
		return a->ts_ms < b->ts_ms;
	return a->seq < b->seq;
}

static void place(sch_heap *h, size_t i, sch_pod *p)
{
	h->v[i] = p;
	p->hidx = i;
}

static void up(sch_heap *h, size_t i)
{
	sch_pod *p = h->v[i];
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!before(h, p, h->v[parent]))
			break;
		place(h, i, h->v[parent]);
		i = parent;
	}
	place(h, i, p);
}

static void down(sch_heap *h, size_t i)
{
	sch_pod *p = h->v[i];
	for (;;) {
		size_t l = 2 * i + 1, best = i;
		const sch_pod *bp = p;
		if (l < h->n && before(h, h->v[l], bp))
			best = l, bp = h->v[l];
		if (l + 1 < h->n && before(h, h->v[l + 1], bp))
			best = l + 1;
		if (best == i)
			break;
		place(h, i, h->v[best]);
		i = best;
	}
	place(h, i, p);
}

void sch_heap_push(sch_heap *h, sch_pod *p)
{
	if (h->n == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 256;
		h->v = xrealloc(h->v, h->cap * sizeof(*h->v));
	}
	place(h, h->n++, p);
	up(h, h->n - 1);
}

sch_pod *sch_heap_pop(sch_heap *h)
{
	if (!h->n)
		return NULL;
	sch_pod *top = h->v[0];
	h->n--;
	if (h->n) {
		place(h, 0, h->v[h->n]);
		down(h, 0);
	}
	return top;
}

void sch_heap_remove(sch_heap *h, sch_pod *p)
{
	size_t i = p->hidx;
	if (i >= h->n || h->v[i] != p)
		return;
	h->n--;
	if (i == h->n)
		return;
	place(h, i, h->v[h->n]);
	sch_heap_fix(h, h->v[i]);
}

void sch_heap_fix(sch_heap *h, sch_pod *p)
{
	size_t i = p->hidx;
	if (i >= h->n || h->v[i] != p)
		return;
	up(h, i);
	down(h, p->hidx);
}

void sch_heap_free(sch_heap *h)
{
	free(h->v);
	h->v = NULL;
	h->n = h->cap = 0;
}

/* ---- the unschedulable pods: a list ---- */

static void unsched_add(sch_state *st, sch_pod *p)
{
	p->uprev = NULL;
	p->unext = st->unsched;
	if (st->unsched)
		st->unsched->uprev = p;
	st->unsched = p;
	st->nunsched++;
}

static void unsched_del(sch_state *st, sch_pod *p)
{
	if (p->uprev)
		p->uprev->unext = p->unext;
	else
		st->unsched = p->unext;
	if (p->unext)
		p->unext->uprev = p->uprev;
	p->uprev = p->unext = NULL;
	st->nunsched--;
}

/* ---- the queue ---- */

/* k8s: calculateBackoffDuration: none before the first attempt, then 1 s doubling per
 * attempt, capped at 10 s; counted from the pod's queue timestamp. */
static int64_t backoff_end(const sch_pod *p)
{
	if (p->attempts <= 0)
		return p->ts_ms;
	int64_t d = SCH_BACKOFF_INITIAL_MS;
	for (int i = 1; i < p->attempts && d < SCH_BACKOFF_MAX_MS; i++)
		d *= 2;
	if (d > SCH_BACKOFF_MAX_MS)
		d = SCH_BACKOFF_MAX_MS;
	return p->ts_ms + d;
}

void sch_queue_remove(sch_state *st, sch_pod *p)
{
	switch (p->where) {
	case W_ACTIVE:
		sch_heap_remove(&st->active, p);
		break;
	case W_BACKOFF:
		sch_heap_remove(&st->backoff, p);
		break;
	case W_UNSCHED:
		unsched_del(st, p);
		break;
	default:
		return;
	}
	p->where = W_NONE;
}

static void to_active(sch_state *st, sch_pod *p)
{
	p->where = W_ACTIVE;
	p->seq = ++st->seq;
	sch_heap_push(&st->active, p);
}

/* k8s: movePodsToActiveOrBackoffQueue: a pod still backing off goes to backoffQ. */
static void move_out(sch_state *st, sch_pod *p, int64_t now_ms)
{
	unsched_del(st, p);
	p->backoff_ms = backoff_end(p);
	if (p->backoff_ms > now_ms) {
		p->where = W_BACKOFF;
		p->seq = ++st->seq;
		sch_heap_push(&st->backoff, p);
	} else {
		to_active(st, p);
	}
}

void sch_queue_add(sch_state *st, sch_pod *p, int64_t now_ms)
{
	sch_queue_remove(st, p);
	p->ts_ms = now_ms;
	if (!p->first_ms)
		p->first_ms = now_ms;
	to_active(st, p);
}

void sch_queue_update(sch_state *st, sch_pod *p, bool spec_changed, int64_t now_ms)
{
	switch (p->where) {
	case W_ACTIVE:
		sch_heap_fix(&st->active, p);
		break;
	case W_BACKOFF:
		sch_heap_fix(&st->backoff, p);
		break;
	case W_UNSCHED:
		if (spec_changed)
			move_out(st, p, now_ms);
		break;
	default:
		break;
	}
}

void sch_queue_requeue(sch_state *st, sch_pod *p, bool unschedulable, int64_t now_ms)
{
	sch_queue_remove(st, p);
	p->ts_ms = now_ms;
	p->backoff_ms = backoff_end(p);
	if (unschedulable) {
		p->where = W_UNSCHED;
		unsched_add(st, p);
	} else {
		p->where = W_BACKOFF;
		p->seq = ++st->seq;
		sch_heap_push(&st->backoff, p);
	}
}

void sch_queue_flush(sch_state *st, int64_t now_ms)
{
	if (st->move_all || st->move_terms) {
		for (sch_pod *p = st->unsched, *next; p; p = next) {
			next = p->unext;
			if (st->move_all || p->pod_terms)
				move_out(st, p, now_ms);
		}
		st->move_all = st->move_terms = false;
	}
	if (now_ms - st->leftover_ms >= SCH_LEFTOVER_EVERY_MS) {
		st->leftover_ms = now_ms;
		/* k8s: flushUnschedulablePodsLeftover: pods unschedulable for longer than
		 * podMaxInUnschedulablePodsDuration are retried. */
		for (sch_pod *p = st->unsched, *next; p; p = next) {
			next = p->unext;
			if (now_ms - p->ts_ms > SCH_UNSCHED_MAX_MS)
				move_out(st, p, now_ms);
		}
	}
	while (st->backoff.n && st->backoff.v[0]->backoff_ms <= now_ms) {
		sch_pod *p = sch_heap_pop(&st->backoff);
		to_active(st, p);
	}
}

int64_t sch_queue_next_due(const sch_state *st)
{
	int64_t due = -1;
	if (st->backoff.n)
		due = st->backoff.v[0]->backoff_ms;
	if (st->nunsched) {
		int64_t t = st->leftover_ms + SCH_LEFTOVER_EVERY_MS;
		if (due < 0 || t < due)
			due = t;
	}
	return due;
}
