/* scheduler_cycle.c — one batch of scheduling cycles (kube's scheduleOne, minus the API
 * calls): pop the best pod from activeQ, run the core on the snapshot, assume the pod on
 * the chosen node so the next cycle sees it, and ask for a binding; on failure run
 * DefaultPreemption and ask for the FailedScheduling event, the PodScheduled condition,
 * the nomination and the victims' deletion, then park the pod as unschedulable.
 * Not for: performing those writes (scheduler_api.c) or keeping the snapshot (state).
 */
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "controllers/scheduler-internal.h"

void sch_action_dispose(sch_action *a)
{
	free(a->skey);
	free(a->ns);
	free(a->name);
	free(a->uid);
	free(a->node);
	free(a->message);
	free(a->nominated);
	for (size_t i = 0; i < a->nvictims; i++) {
		free(a->victims[i].ns);
		free(a->victims[i].name);
		free(a->victims[i].uid);
	}
	free(a->victims);
	json_decref(a->tree);
	memset(a, 0, sizeof(*a));
}

static sch_action *act_new(sch_state *st, uint8_t kind, const sch_pod *p)
{
	if (st->nacts == st->capacts) {
		st->capacts = st->capacts ? st->capacts * 2 : 64;
		st->acts = xrealloc(st->acts, st->capacts * sizeof(*st->acts));
	}
	sch_action *a = &st->acts[st->nacts++];
	memset(a, 0, sizeof(*a));
	a->kind = kind;
	a->skey = xstrdup(p->skey);
	a->ns = xstrdup(p->ns);
	a->name = xstrdup(p->name);
	a->uid = xstrdup(p->uid);
	a->component = p->prof->scheduler_name;
	return a;
}

/* The victims worth an API call (k8s: one already being deleted is skipped). */
static void add_victims(sch_state *st, sch_action *a, const sched_preemption *pre)
{
	a->victims = xcalloc(pre->nvictims + 1, sizeof(*a->victims));
	for (size_t i = 0; i < pre->nvictims; i++) {
		const sched_pod *v = pre->victims[i];
		_cleanup_free_ char *key = xasprintf("%s%s/%s", st->pod_prefix,
		                                     sched_pod_namespace(v), sched_pod_name(v));
		const sch_pod *q = hmap_get(&st->pods, key);
		if (q && q->terminating)
			continue;
		sch_victim *out = &a->victims[a->nvictims++];
		out->ns = xstrdup(sched_pod_namespace(v));
		out->name = xstrdup(sched_pod_name(v));
		out->uid = xstrdup(q ? q->uid : sched_pod_key(v));
	}
}

static void failed(sch_state *st, sch_pod *p, int64_t now_ms)
{
	sched_preemption pre;
	memset(&pre, 0, sizeof(pre));
	bool tried = false;
	/* k8s: PostFilter (DefaultPreemption) runs after every FitError. */
	if (!p->prof->disable_preemption) {
		size_t npdbs;
		sched_pdb **pdbs = sch_state_pdbs(st, &npdbs);
		if (sched_preempt(st->snap, p->sp, p->prof, &st->res, pdbs, npdbs, &pre) == SCHED_OK)
			st->stats.preemptions++;
		free(pdbs);
		tried = true;
	}
	char *msg = sched_failure_message(&st->res, tried ? &pre : NULL);
	if (!msg)
		msg = xstrdup("scheduling failed");
	sch_action *a = act_new(st, ACT_FAIL, p);
	a->message = msg;
	if (pre.node_name) {
		a->nominated = xstrdup(pre.node_name);
		add_victims(st, a, &pre);
	}
	/* k8s: updatePod writes status only when the PodScheduled condition or the nomination
	 * changes. */
	bool cond_same = str_eq(p->cond_reason, "Unschedulable") && str_eq(p->cond_msg, msg);
	bool nom_same = !a->nominated || str_eq(p->nominated, a->nominated);
	a->patch_status = !cond_same || !nom_same;
	free(p->cond_reason);
	p->cond_reason = xstrdup("Unschedulable");
	free(p->cond_msg);
	p->cond_msg = xstrdup(msg);
	if (a->nominated) {
		free(p->nominated);
		p->nominated = xstrdup(a->nominated);
		/* k8s: the nominator holds the room from now on, before the status write. */
		sched_snapshot_nominate(st->snap, p->sp, p->nominated);
	}
	sched_preemption_free(&pre);
	st->stats.failed++;
	sch_queue_requeue(st, p, true, now_ms);
}

static void schedule_one(sch_state *st, sch_pod *p, int64_t now_ms)
{
	p->attempts++;
	/* The attempt takes the kept tree: the binding's, or dropped. */
	json_t *tree = p->tree;
	int64_t tree_rev = p->tree_rev;
	p->tree = NULL;
	p->tree_rev = 0;
	if (sched_schedule(st->snap, p->sp, p->prof, &st->res) != SCHED_OK) {
		json_decref(tree);
		failed(st, p, now_ms);
		return;
	}
	char *node = xstrdup(st->res.node_name);
	if (sched_snapshot_commit(st->snap, p->sp, &st->res) < 0) {
		json_decref(tree);
		free(node);
		sch_queue_requeue(st, p, false, now_ms);
		return;
	}
	/* k8s: assume, then bind asynchronously; later cycles see the assumed pod. */
	p->in_snap = p->assumed = true;
	p->where = W_BINDING;
	free(p->node);
	p->node = node;
	sch_action *a = act_new(st, ACT_BIND, p);
	a->node = xstrdup(node);
	a->tree = tree;
	a->tree_rev = tree_rev;
	st->stats.scheduled++;
}

size_t sch_cycle_batch(sch_state *st, int64_t now_ms)
{
	int64_t t0 = time_mono_ns();
	size_t n = 0;
	sch_queue_flush(st, now_ms);
	while (n < SCH_BATCH_PODS && st->active.n) {
		if (n && time_mono_ns() - t0 > SCH_BATCH_NS)
			break;
		sch_pod *p = sch_heap_pop(&st->active);
		p->where = W_NONE;
		n++;
		schedule_one(st, p, now_ms);
	}
	st->stats.cycles_ns += (uint64_t)(time_mono_ns() - t0);
	return n;
}
