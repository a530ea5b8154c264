/* preempt.c — DefaultPreemption (k8s PostFilter): when a pod fits nowhere, find nodes where
 * evicting lower-priority pods would let it fit, keep the minimal victim set per node
 * (reprieving the most important pods first, PDB-protected ones before the others), and
 * pick one node by kube's criteria (fewest PDB violations, lowest top victim priority,
 * lowest priority sum, fewest victims, most recently started victims).
 * Not for: deleting the victims or setting nominatedNodeName (the caller's API writes).
 */
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "scheduler/sched-internal.h"

#define MIN_CANDIDATE_PERCENTAGE 10 /* k8s: DefaultPreemptionArgs defaults */
#define MIN_CANDIDATE_ABSOLUTE   100

struct sched_pdb {
	sched_arena arena;
	sched_hstr ns;
	sched_sel sel;
	bool empty; /* k8s: a nil or empty selector matches nothing */
	int32_t allowed;
	sched_hstr *disrupted;
	uint32_t ndisrupted;
};

sched_pdb *sched_pdb_from_json(json_t *pdb, terr **err)
{
	sched_pdb *p = xcalloc(1, sizeof(*p));
	json_t *meta = json_object_get(pdb, "metadata");
	json_t *status = json_object_get(pdb, "status");
	p->ns = sched_intern(json_string_value(json_object_get(meta, "namespace")));
	json_t *sel = json_object_get(json_object_get(pdb, "spec"), "selector");
	if (sched_sel_from_json(&p->arena, sel, &p->sel) < 0 || p->sel.nothing || p->sel.n == 0)
		p->empty = true;
	p->allowed = (int32_t)json_integer_value(json_object_get(status, "disruptionsAllowed"));
	json_t *dp = json_object_get(status, "disruptedPods");
	p->disrupted =
	    sched_arena_alloc(&p->arena, (json_object_size(dp) + 1) * sizeof(sched_hstr));
	const char *k;
	json_t *v;
	json_object_foreach(dp, k, v) {
		p->disrupted[p->ndisrupted++] = sched_hstr_dup(&p->arena, k);
	}
	(void)err;
	return p;
}

void sched_pdb_free(sched_pdb *p)
{
	if (!p)
		return;
	sched_arena_free(&p->arena);
	free(p);
}

void sched_preemption_free(sched_preemption *p)
{
	free(p->victims);
	free(p->message);
	memset(p, 0, sizeof(*p));
}

/* k8s: util.MoreImportantPod — higher priority, then the earlier start. */
static int importance_cmp(const void *a, const void *b)
{
	const sched_pod *x = *(const sched_pod *const *)a, *y = *(const sched_pod *const *)b;
	if (x->priority != y->priority)
		return x->priority > y->priority ? -1 : 1;
	return x->start_ns < y->start_ns ? -1 : x->start_ns > y->start_ns;
}

/* k8s: filterPodsWithPDBViolation — stable split; budgets decrease as pods are counted. */
static bool *pdb_violations(sched_pod **pods, uint32_t n, sched_pdb *const *pdbs, size_t npdbs)
{
	bool *viol = xcalloc(n + 1, sizeof(bool));
	int32_t *allowed = xcalloc(npdbs + 1, sizeof(int32_t));
	for (size_t i = 0; i < npdbs; i++)
		allowed[i] = pdbs[i]->allowed;
	for (uint32_t j = 0; j < n; j++) {
		const sched_pod *p = pods[j];
		if (p->labels.n == 0)
			continue;
		for (size_t i = 0; i < npdbs; i++) {
			const sched_pdb *b = pdbs[i];
			if (b->empty || !sched_hstr_eq(b->ns, p->ns) ||
			    !sched_sel_matches(&b->sel, &p->labels))
				continue;
			bool disrupted = false;
			for (uint32_t k = 0; k < b->ndisrupted && !disrupted; k++)
				disrupted = sched_hstr_eq(b->disrupted[k], p->name);
			if (disrupted)
				continue;
			if (--allowed[i] < 0)
				viol[j] = true;
		}
	}
	free(allowed);
	return viol;
}

typedef struct candidate {
	const sched_ninfo *ni;
	sched_pod **victims; /* most important first */
	uint32_t n;
	int viol;
} candidate;

static void node_remove(sched_cycle *c, sched_ninfo *clone, sched_pod *p)
{
	for (uint32_t i = 0; i < clone->npods; i++)
		if (clone->pods[i] == p) {
			sched_ninfo_remove_at(clone, i);
			break;
		}
	sched_cycle_add_pod(c, clone, p, -1);
}

static void node_add(sched_cycle *c, sched_ninfo *clone, sched_pod *p)
{
	sched_ninfo_add(clone, p);
	sched_cycle_add_pod(c, clone, p, 1);
}

/* k8s: SelectVictimsOnNode. Returns CODE_SUCCESS with *cand filled, or the status. The
 * cycle's pre-filter state is restored before returning. */
static int select_victims(sched_cycle *c, const sched_ninfo *ni, sched_pdb *const *pdbs,
                          size_t npdbs, candidate *cand, sched_status *st)
{
	sched_ninfo clone;
	sched_ninfo_clone(ni, &clone);
	sched_pod **pot = xmalloc((ni->npods + 1) * sizeof(*pot));
	uint32_t npot = 0;
	for (uint32_t i = 0; i < ni->npods; i++)
		if (ni->pods[i]->priority < c->pod->priority)
			pot[npot++] = ni->pods[i];
	int code = CODE_SUCCESS;
	memset(cand, 0, sizeof(*cand));
	if (npot == 0) {
		st->code = 0, st->n = 0;
		sched_status_add(c, st, CODE_UNRESOLVABLE,
		                 "No preemption victims found for incoming pod");
		code = CODE_UNRESOLVABLE;
		goto out;
	}
	for (uint32_t i = 0; i < npot; i++)
		node_remove(c, &clone, pot[i]);
	code = sched_run_filters(c, &clone, st);
	if (code != CODE_SUCCESS) {
		for (uint32_t i = 0; i < npot; i++)
			node_add(c, &clone, pot[i]);
		goto out;
	}
	qsort(pot, npot, sizeof(*pot), importance_cmp);
	bool *viol = pdb_violations(pot, npot, pdbs, npdbs);
	cand->ni = ni;
	cand->victims = xmalloc((npot + 1) * sizeof(*cand->victims));
	sched_status tmp;
	/* reprieve PDB-violating pods first, then the rest, most important first */
	for (int pass = 1; pass >= 0; pass--) {
		for (uint32_t i = 0; i < npot; i++) {
			if (viol[i] != (bool)pass)
				continue;
			node_add(c, &clone, pot[i]);
			if (sched_run_filters(c, &clone, &tmp) != CODE_SUCCESS) {
				node_remove(c, &clone, pot[i]);
				cand->victims[cand->n++] = pot[i];
				cand->viol += pass;
			}
		}
	}
	free(viol);
	qsort(cand->victims, cand->n, sizeof(*cand->victims), importance_cmp);
	for (uint32_t i = 0; i < cand->n; i++)
		node_add(c, &clone, cand->victims[i]);
	if (cand->n == 0) { /* fits without evicting anything: not a preemption */
		free(cand->victims);
		cand->victims = NULL;
		st->code = 0, st->n = 0;
		sched_status_add(c, st, CODE_UNRESOLVABLE,
		                 "No preemption victims found for incoming pod");
		code = CODE_UNRESOLVABLE;
	}
out:
	free(pot);
	sched_ninfo_dispose(&clone);
	return code;
}

/* k8s: GetEarliestPodStartTime — earliest start among the highest-priority victims. */
static int64_t earliest_top_start(const candidate *cd)
{
	int64_t t = INT64_MAX;
	for (uint32_t i = 0; i < cd->n; i++)
		if (cd->victims[i]->priority == cd->victims[0]->priority &&
		    cd->victims[i]->start_ns < t)
			t = cd->victims[i]->start_ns;
	return t;
}

/* Higher is better, criterion k of kube's pickOneNodeForPreemption. */
static int64_t criterion(const candidate *cd, int k)
{
	int64_t sum = 0;
	switch (k) {
	case 0:
		return -(int64_t)cd->viol;
	case 1:
		return -(int64_t)cd->victims[0]->priority;
	case 2:
		for (uint32_t i = 0; i < cd->n; i++)
			sum += (int64_t)cd->victims[i]->priority + (int64_t)INT32_MAX + 1;
		return -sum;
	case 3:
		return -(int64_t)cd->n;
	default:
		return earliest_top_start(cd);
	}
}

static size_t pick_one(candidate *cands, size_t n)
{
	size_t *set = xmalloc(n * sizeof(*set)), nset = n;
	for (size_t i = 0; i < n; i++)
		set[i] = i;
	for (int k = 0; k < 5 && nset > 1; k++) {
		int64_t best = INT64_MIN;
		size_t m = 0;
		for (size_t i = 0; i < nset; i++) {
			int64_t s = criterion(&cands[set[i]], k);
			if (s > best) {
				best = s;
				m = 0;
			}
			if (s == best)
				set[m++] = set[i];
		}
		nset = m;
	}
	size_t r = set[0];
	free(set);
	return r;
}

static int fail(sched_preemption *out, char *msg)
{
	out->message = xasprintf("preemption: %s", msg);
	free(msg);
	return SCHED_UNSCHEDULABLE;
}

int sched_preempt(const sched_snapshot *snap, const sched_pod *pod, const sched_profile *prof,
                  const sched_result *failed, sched_pdb *const *pdbs, size_t npdbs,
                  sched_preemption *out)
{
	memset(out, 0, sizeof(*out));
	prof = prof ? prof : &sched_profile_default;
	if (prof->disable_preemption || snap->n == 0)
		return SCHED_UNSCHEDULABLE;
	/* k8s: node statuses of the failed cycle; nodes without one have the absent status */
	uint8_t *codes = xmalloc(snap->n);
	memset(codes, failed->absent_code, snap->n);
	for (size_t i = 0; i < failed->nstatus; i++)
		if (failed->status[i].node < snap->n)
			codes[failed->status[i].node] = failed->status[i].code;
	/* 1) k8s: PodEligibleToPreemptOthers */
	if (pod->preempt_never) {
		free(codes);
		return fail(out, xstrdup("not eligible due to preemptionPolicy=Never."));
	}
	const sched_ninfo *nom = pod->nominated ? sched_snapshot_find(snap, pod->nominated) : NULL;
	if (nom && codes[nom->index] != CODE_UNRESOLVABLE) {
		for (uint32_t i = 0; i < nom->npods; i++) {
			const sched_pod *q = nom->pods[i];
			if (q->priority < pod->priority && q->terminating && q->preempted) {
				free(codes);
				return fail(out,
				            xstrdup("not eligible due to a terminating pod on the "
				                    "nominated node."));
			}
		}
	}
	/* 2) candidates among nodes where preemption might help */
	sched_result diag;
	sched_result_init(&diag);
	sched_cycle c;
	sched_cycle_init(&c, snap, pod, prof, &diag);
	sched_status st;
	sched_ninfo **pot = xmalloc(snap->n * sizeof(*pot));
	size_t npot = 0;
	if (sched_run_prefilters(&c, &st) == CODE_SUCCESS)
		for (size_t i = 0; i < snap->n; i++)
			if (codes[i] == CODE_UNSCHEDULABLE)
				pot[npot++] = snap->nodes[i];
	free(codes);
	candidate *cands = xcalloc(npot + 1, sizeof(*cands));
	size_t nnon = 0, nviol = 0;
	if (npot) {
		size_t want = npot * MIN_CANDIDATE_PERCENTAGE / 100;
		want = want < MIN_CANDIDATE_ABSOLUTE ? MIN_CANDIDATE_ABSOLUTE : want;
		want = want > npot ? npot : want;
		size_t offset = sched_rand(&c) % npot;
		candidate *viols = xcalloc(npot + 1, sizeof(*viols));
		for (size_t i = 0; i < npot; i++) {
			const sched_ninfo *ni = pot[(offset + i) % npot];
			candidate cd;
			if (select_victims(&c, ni, pdbs, npdbs, &cd, &st) != CODE_SUCCESS) {
				sched_result_record(&diag, (size_t)ni->index, &st);
				continue;
			}
			if (cd.viol == 0)
				cands[nnon++] = cd;
			else
				viols[nviol++] = cd;
			if (nnon > 0 && nnon + nviol >= want)
				break;
		}
		if (nviol)
			memcpy(cands + nnon, viols, nviol * sizeof(*viols));
		free(viols);
	}
	size_t ncand = nnon + nviol;
	int ret;
	if (ncand == 0) {
		ret = fail(out, sched_fit_message(&diag, snap->n, NULL,
		                                  "Preemption is not helpful for scheduling"));
	} else {
		candidate *best = &cands[pick_one(cands, ncand)];
		out->node_name = best->ni->node->name.s;
		out->nvictims = best->n;
		out->victims = xmalloc((best->n + 1) * sizeof(*out->victims));
		for (uint32_t i = 0; i < best->n; i++)
			out->victims[i] = best->victims[i];
		out->pdb_violations = best->viol;
		ret = SCHED_OK;
	}
	for (size_t i = 0; i < ncand; i++)
		free(cands[i].victims);
	free(cands);
	free(pot);
	sched_cycle_dispose(&c);
	sched_result_free(&diag);
	return ret;
}
