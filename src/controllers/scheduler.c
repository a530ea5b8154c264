/* scheduler.c — kube-scheduler inside `timon server`: a controller whose informers (pods,
 * nodes, namespaces, PriorityClasses, PodDisruptionBudgets) feed the scheduler core, and
 * whose batches schedule the pending pods of the profiles it serves (default-scheduler,
 * timon-binpack), bind them through pods/binding and report failures as kube does.
 *
 * The loop side is thin: an informer event becomes an inbox entry (its key and a reference
 * to the cached JSON, no parsing). A batch runs on a libuv worker with the whole scheduler
 * state: it parses what changed (once per resourceVersion), updates the snapshot and the
 * queue, and schedules up to SCH_BATCH_PODS pods (SCH_BATCH_NS at most), assuming each
 * decision before the next. Its actions (bindings, failures, preemptions) come back to the
 * loop, which performs a bounded number per loop iteration, so API clients are served
 * between them, while the next batch already runs. One batch at a time; the state is only
 * touched by its owner of the moment, so nothing is locked.
 * Not for: the decisions (src/scheduler/), the queue rules (scheduler_queue.c), the event
 * handling (scheduler_state.c) or the writes themselves (scheduler_api.c).
 */
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "controllers/controller-internal.h"
#include "controllers/scheduler-internal.h"
#include "store/store.h"

/* Actions performed per loop iteration (at most ACT_BUDGET and about ACT_BUDGET_NS), and
 * how many may wait before batches pause. */
#define ACT_BUDGET    128
#define ACT_BUDGET_NS (5 * 1000 * 1000LL)
#define MAX_BACKLOG   4096
#define LOG_EVERY_MS 10000

struct sched_ctl {
	controller *c;
	uv_loop_t *loop;
	sch_state *st; /* owned by the batch while busy */
	sch_event *in; /* inbox: loop side */
	size_t nin, capin;
	/* the batch in flight */
	uv_work_t work;
	sch_event *jin;
	size_t njin;
	bool busy, stopping, more, due;
	int64_t next_due;
	bool job_more; /* written by the batch, read after it */
	int64_t job_next_due;
	/* actions waiting for the loop */
	sch_action *acts;
	size_t hacts, nacts, capacts;
	uv_idle_t idle;
	uv_timer_t timer;
	bool idle_on;
	int64_t logged_ms;
	sch_stats logged;
};

static void on_idle(uv_idle_t *h);

/* Makes the next loop iteration perform actions and submit a batch. */
static void kick(sched_ctl *ctl)
{
	if (ctl->stopping || ctl->idle_on)
		return;
	ctl->idle_on = true;
	uv_idle_start(&ctl->idle, on_idle);
}

static void push(sched_ctl *ctl, uint8_t kind, uint8_t type, const char *key, json_t *obj,
                 blob *value, int64_t rev, int code, enum sch_kept kept)
{
	if (ctl->stopping)
		return;
	if (ctl->nin == ctl->capin) {
		ctl->capin = ctl->capin ? ctl->capin * 2 : 1024;
		ctl->in = xrealloc(ctl->in, ctl->capin * sizeof(*ctl->in));
	}
	ctl->in[ctl->nin++] = (sch_event){.kind = kind,
	                                  .type = type,
	                                  .code = code,
	                                  .key = xstrdup(key),
	                                  .obj = json_incref(obj),
	                                  .value = obj ? NULL : blob_ref(value),
	                                  .rev = rev,
	                                  .kept = (uint8_t)kept};
	kick(ctl);
}

void sch_ctl_bind_done(sched_ctl *ctl, const char *skey, int code)
{
	push(ctl, SCH_BIND_DONE, 0, skey, NULL, NULL, 0, code, SCH_KEPT_NOTHING);
}

static void free_events(sch_event *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].key);
		json_decref(v[i].obj);
		blob_unref(v[i].value);
	}
	free(v);
}

/* ---- the batch, on a worker ---- */

static void batch_work(uv_work_t *w)
{
	sched_ctl *ctl = w->data;
	sch_state *st = ctl->st;
	int64_t now = sch_now_ms();
	for (size_t i = 0; i < ctl->njin; i++) {
		sch_event *ev = &ctl->jin[i];
		if (!ev->obj && ev->value)
			ev->obj = json_loadb(ev->value->data, ev->value->len, 0, NULL);
		sch_state_apply(st, ev, now);
		/* Usually the last reference: the tree is freed here, off the loop (jansson's
		 * reference counts are atomic). */
		json_decref(ev->obj);
		ev->obj = NULL;
	}
	sch_cycle_batch(st, sch_now_ms());
	ctl->job_more = st->active.n > 0;
	ctl->job_next_due = sch_queue_next_due(st);
}

static void log_progress(sched_ctl *ctl, bool force)
{
	const sch_stats *s = &ctl->st->stats;
	int64_t now = sch_now_ms();
	if (!force && now - ctl->logged_ms < LOG_EVERY_MS)
		return;
	if (s->scheduled == ctl->logged.scheduled && s->failed == ctl->logged.failed)
		return;
	uint64_t attempts = s->scheduled + s->failed;
	log_info("scheduler: %llu scheduled, %llu failed attempts, %llu preemptions, %llu binding "
	         "errors; %zu pending (%zu unschedulable), %zu nodes; %.0f us per attempt",
	         (unsigned long long)s->scheduled, (unsigned long long)s->failed,
	         (unsigned long long)s->preemptions, (unsigned long long)s->bind_errors,
	         ctl->st->active.n + ctl->st->backoff.n + ctl->st->nunsched, ctl->st->nunsched,
	         sched_snapshot_node_count(ctl->st->snap),
	         attempts ? (double)s->cycles_ns / 1e3 / (double)attempts : 0.0);
	ctl->logged = *s;
	ctl->logged_ms = now;
}

static void on_timer(uv_timer_t *t)
{
	sched_ctl *ctl = t->data;
	ctl->due = true;
	kick(ctl);
}

static void batch_done(uv_work_t *w, int status)
{
	sched_ctl *ctl = w->data;
	UNUSED(status);
	ctl->busy = false;
	ctl->more = ctl->job_more;
	ctl->next_due = ctl->job_next_due;
	free_events(ctl->jin, ctl->njin);
	ctl->jin = NULL;
	ctl->njin = 0;
	sch_state *st = ctl->st;
	if (st->nacts) {
		if (ctl->hacts) { /* drop the performed prefix */
			memmove(ctl->acts, ctl->acts + ctl->hacts,
			        (ctl->nacts - ctl->hacts) * sizeof(*ctl->acts));
			ctl->nacts -= ctl->hacts;
			ctl->hacts = 0;
		}
		if (ctl->nacts + st->nacts > ctl->capacts) {
			ctl->capacts = ctl->nacts + st->nacts + 256;
			ctl->acts = xrealloc(ctl->acts, ctl->capacts * sizeof(*ctl->acts));
		}
		if (st->nacts)
			memcpy(ctl->acts + ctl->nacts, st->acts, st->nacts * sizeof(*st->acts));
		ctl->nacts += st->nacts;
		st->nacts = 0;
	}
	if (ctl->stopping)
		return;
	uv_timer_stop(&ctl->timer);
	if (ctl->next_due >= 0) {
		int64_t d = ctl->next_due - sch_now_ms();
		uv_timer_start(&ctl->timer, on_timer, d > 0 ? (uint64_t)d : 0, 0);
	}
	log_progress(ctl, false);
	kick(ctl);
}

static void maybe_submit(sched_ctl *ctl)
{
	if (ctl->busy || ctl->stopping || !(ctl->nin || ctl->more || ctl->due))
		return;
	if (ctl->nacts - ctl->hacts > MAX_BACKLOG)
		return; /* let the loop catch up with the writes first */
	ctl->jin = ctl->in;
	ctl->njin = ctl->nin;
	ctl->in = NULL;
	ctl->nin = ctl->capin = 0;
	ctl->due = false;
	ctl->busy = true;
	uv_queue_work(ctl->loop, &ctl->work, batch_work, batch_done);
}

static void on_idle(uv_idle_t *h)
{
	sched_ctl *ctl = h->data;
	int64_t t0 = time_mono_ns();
	for (size_t n = 0; n < ACT_BUDGET && ctl->hacts < ctl->nacts; n++) {
		if (n && time_mono_ns() - t0 > ACT_BUDGET_NS)
			break;
		sch_action *a = &ctl->acts[ctl->hacts++];
		sch_api_perform(ctl, ctl->c, a);
		sch_action_dispose(a);
	}
	if (ctl->hacts == ctl->nacts)
		ctl->hacts = ctl->nacts = 0;
	maybe_submit(ctl);
	bool want = ctl->nin || ctl->more || ctl->due;
	if (ctl->nacts == 0 && (ctl->busy || !want)) {
		uv_idle_stop(h);
		ctl->idle_on = false;
	}
}

/* ---- informers ---- */

/* Whether a and b hold the very same members in the same order, nodeName aside (a copy
 * keeps its original's order; a member set anew goes last): walked side by side, no
 * lookups. Another order only makes the answer no. */
static bool same_members_but_node(json_t *a, json_t *b)
{
	void *i = json_object_iter(a), *j = json_object_iter(b);
	for (;;) {
		while (i && str_eq(json_object_iter_key(i), "nodeName"))
			i = json_object_iter_next(a, i);
		while (j && str_eq(json_object_iter_key(j), "nodeName"))
			j = json_object_iter_next(b, j);
		if (!i || !j)
			return !i && !j;
		if (json_object_iter_value(i) != json_object_iter_value(j) ||
		    !str_eq(json_object_iter_key(i), json_object_iter_key(j)))
			return false;
		i = json_object_iter_next(a, i);
		j = json_object_iter_next(b, j);
	}
}

enum sch_kept sch_write_kept(json_t *obj, json_t *prev)
{
	if (!obj || !prev)
		return SCH_KEPT_NOTHING;
	json_t *m = json_object_get(obj, "metadata"), *pm = json_object_get(prev, "metadata");
	/* A status write has its own copy of the labels (its metadata goes through defaults):
	 * equal ones are kept ones. */
	json_t *l = json_object_get(m, "labels"), *pl = json_object_get(pm, "labels");
	if ((l != pl && (!l || !pl || !json_equal(l, pl))) ||
	    json_object_get(m, "deletionTimestamp") != json_object_get(pm, "deletionTimestamp"))
		return SCH_KEPT_NOTHING;
	json_t *spec = json_object_get(obj, "spec"), *pspec = json_object_get(prev, "spec");
	if (!json_is_object(spec) || !json_is_object(pspec))
		return SCH_KEPT_NOTHING;
	if (spec == pspec)
		return SCH_KEPT_SPEC;
	return same_members_but_node(spec, pspec) ? SCH_KEPT_SPEC_NODE : SCH_KEPT_NOTHING;
}

static void on_event(controller *c, uint8_t kind, const cache_event *ev)
{
	sched_ctl *ctl = c->state;
	if (!ctl)
		return;
	/* The tree the other informers of this event parsed already, if any: the worker reads
	 * it instead of parsing the bytes again; else the worker parses, off the loop. */
	if (ev->type == STORE_DELETED) {
		push(ctl, kind, (uint8_t)ev->type, ev->key, NULL, NULL, ev->rev, 0, SCH_KEPT_NOTHING);
		return;
	}
	json_t *obj = cache_event_obj_parsed(ev);
	push(ctl, kind, (uint8_t)ev->type, ev->key, obj, ev->value, ev->rev, 0,
	     kind == SCH_POD && ev->type == STORE_MODIFIED
	         ? sch_write_kept(obj, cache_event_prev_obj_parsed(ev))
	         : SCH_KEPT_NOTHING);
}

static void on_pod(controller *c, const kind_desc *d, const cache_event *ev)
{
	UNUSED(d);
	on_event(c, SCH_POD, ev);
}

static void on_node(controller *c, const kind_desc *d, const cache_event *ev)
{
	UNUSED(d);
	on_event(c, SCH_NODE, ev);
}

static void on_namespace(controller *c, const kind_desc *d, const cache_event *ev)
{
	UNUSED(d);
	on_event(c, SCH_NAMESPACE, ev);
}

static void on_pc(controller *c, const kind_desc *d, const cache_event *ev)
{
	UNUSED(d);
	/* deletions need the name, which the final state has */
	sched_ctl *ctl = c->state;
	if (ctl)
		push(ctl, SCH_PRIORITYCLASS, (uint8_t)ev->type, ev->key, cache_event_obj_parsed(ev),
		     ev->value, ev->rev, 0, SCH_KEPT_NOTHING);
}

static void on_pdb(controller *c, const kind_desc *d, const cache_event *ev)
{
	UNUSED(d);
	on_event(c, SCH_PDB, ev);
}

/* ---- controller ---- */

static int reconcile(controller *c, const char *key)
{
	UNUSED(c);
	UNUSED(key);
	return RECONCILE_DONE; /* no keys: work is driven by the batches */
}

static void start(controller *c)
{
	sched_ctl *ctl = xcalloc(1, sizeof(*ctl));
	ctl->c = c;
	ctl->loop = apiserver_loop(c->srv);
	ctl->st = sch_state_new();
	ctl->st->pod_prefix = kind_storage_key(controller_kind("", "pods"), NULL, NULL);
	ctl->work.data = ctl;
	uv_idle_init(ctl->loop, &ctl->idle);
	ctl->idle.data = ctl;
	uv_timer_init(ctl->loop, &ctl->timer);
	ctl->timer.data = ctl;
	ctl->next_due = -1;
	ctl->logged_ms = sch_now_ms();
	c->state = ctl;
}

static void stop(controller *c)
{
	sched_ctl *ctl = c->state;
	if (!ctl)
		return;
	ctl->stopping = true;
	uv_idle_stop(&ctl->idle);
	uv_timer_stop(&ctl->timer);
	/* A batch in flight still owns the state; the process is ending, so it is left to
	 * finish and the state stays reachable. Otherwise everything goes now. */
	if (!ctl->busy) {
		log_progress(ctl, true);
		sch_state_free(ctl->st);
		ctl->st = NULL;
		free_events(ctl->in, ctl->nin);
		ctl->in = NULL;
		ctl->nin = 0;
		for (size_t i = ctl->hacts; i < ctl->nacts; i++)
			sch_action_dispose(&ctl->acts[i]);
		free(ctl->acts);
		ctl->acts = NULL;
		ctl->hacts = ctl->nacts = 0;
	}
}

const controller_def scheduler_controller = {
	.name = SCH_FIELD_MANAGER,
	.watches = {{.group = "scheduling.k8s.io", .resource = "priorityclasses", .on_event = on_pc},
	            {.group = "", .resource = "namespaces", .on_event = on_namespace},
	            {.group = "", .resource = "nodes", .on_event = on_node},
	            {.group = "policy", .resource = "poddisruptionbudgets", .on_event = on_pdb},
	            {.group = "", .resource = "pods", .on_event = on_pod}},
	.reconcile = reconcile,
	.start = start,
	.stop = stop,
};
CONTROLLER_REGISTER(scheduler_controller);
