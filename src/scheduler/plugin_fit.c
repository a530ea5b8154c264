/* plugin_fit.c — NodeResourcesFit (filter: cpu, memory, ephemeral-storage, pod count and
 * extended resources; score: LeastAllocated or MostAllocated over the profile's weighted
 * resources) and NodeResourcesBalancedAllocation (score: how even the cpu and memory
 * fractions are). Not for: device allocation (which GPU) — the agent's job.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "scheduler/sched-internal.h"

static void insufficient(sched_cycle *c, sched_status *st, const char *name, bool unresolvable)
{
	char reason[300];
	snprintf(reason, sizeof(reason), "Insufficient %s", name);
	/* k8s (1.34+): a request above the node's whole allocatable can't be fixed by
	 * preemption, so it is UnschedulableAndUnresolvable. */
	sched_status_add(c, st, unresolvable ? CODE_UNRESOLVABLE : CODE_UNSCHEDULABLE, reason);
}

/* k8s: fitsRequest — every failing dimension is a reason of the same status. */
static int fit_filter(sched_cycle *c, const sched_ninfo *ni, sched_status *st)
{
	const sched_pod *p = c->pod;
	const sched_node *n = ni->node;
	/* k8s: addNominatedPods — pods nominated here with at least this pod's priority hold
	 * their room (the pod itself excluded). */
	int64_t npods = ni->npods, cpu = ni->cpu, mem = ni->mem, eph = ni->eph;
	for (uint32_t i = 0; i < ni->nnom; i++) {
		const sched_pod *q = ni->nom[i];
		if (q->priority < p->priority || strcmp(q->key, p->key) == 0)
			continue;
		npods++;
		cpu += q->cpu;
		mem += q->mem;
		eph += q->eph;
	}
	if (npods + 1 > n->pods)
		sched_status_add(c, st, CODE_UNSCHEDULABLE, "Too many pods");
	if (p->cpu == 0 && p->mem == 0 && p->eph == 0 && p->nsc == 0)
		return st->n ? st->code : CODE_SUCCESS;
	if (p->cpu > 0 && p->cpu > n->cpu - cpu)
		insufficient(c, st, "cpu", p->cpu > n->cpu);
	if (p->mem > 0 && p->mem > n->mem - mem)
		insufficient(c, st, "memory", p->mem > n->mem);
	if (p->eph > 0 && p->eph > n->eph - eph)
		insufficient(c, st, "ephemeral-storage", p->eph > n->eph);
	for (uint32_t i = 0; i < p->nsc; i++) {
		int64_t alloc = sched_node_scalar(n, p->sc[i].name);
		int64_t used = sched_ninfo_scalar(ni, p->sc[i].name);
		for (uint32_t j = 0; j < ni->nnom; j++) {
			const sched_pod *q = ni->nom[j];
			if (q->priority < p->priority || strcmp(q->key, p->key) == 0)
				continue;
			for (uint32_t k = 0; k < q->nsc; k++)
				if (sched_hstr_eq(q->sc[k].name, p->sc[i].name))
					used += q->sc[k].v;
		}
		if (p->sc[i].v > alloc - used)
			insufficient(c, st, p->sc[i].name.s, p->sc[i].v > alloc);
	}
	return st->n ? st->code : CODE_SUCCESS;
}

/* k8s: calculateResourceAllocatableRequest — the node's allocatable and what it would have
 * requested with the pod (pod_req); (0, 0) for an extended resource the pod does not ask
 * for. nonzero: scoring's defaults for containers without cpu/memory requests. */
static inline void alloc_req(const sched_ninfo *ni, const sched_fitres *f, bool nonzero,
                             int64_t pod_req, int64_t *alloc, int64_t *req)
{
	const sched_node *n = ni->node;
	switch (f->kind) {
	case RES_CPU:
		*alloc = n->cpu;
		*req = (nonzero ? ni->nz_cpu : ni->cpu) + pod_req;
		return;
	case RES_MEM:
		*alloc = n->mem;
		*req = (nonzero ? ni->nz_mem : ni->mem) + pod_req;
		return;
	case RES_EPH:
		*alloc = n->eph;
		*req = ni->eph + pod_req;
		return;
	default:
		*alloc = *req = 0;
		if (pod_req == 0)
			return;
		*alloc = sched_node_scalar(n, f->name);
		*req = sched_ninfo_scalar(ni, f->name) + pod_req;
	}
}

/* k8s: leastResourceScorer / mostResourceScorer, weighted integer average. */
static int64_t fit_score(sched_cycle *c, const sched_ninfo *ni, size_t fi)
{
	int64_t score = 0, wsum = 0;
	bool most = c->prof->strategy == SCHED_MOST_ALLOCATED;
	for (size_t i = 0; i < c->nfres; i++) {
		const sched_fitres *f = &c->fres[i];
		int64_t alloc, req, s;
		alloc_req(ni, f, true, f->pod_nz, &alloc, &req);
		if (alloc == 0)
			continue;
		if (most)
			s = (req > alloc ? alloc : req) * SCHED_MAX_NODE_SCORE / alloc;
		else
			s = req > alloc ? 0 : (alloc - req) * SCHED_MAX_NODE_SCORE / alloc;
		score += s * f->weight;
		wsum += f->weight;
	}
	return wsum ? score / wsum : 0;
}

const sched_plugin sched_plugin_fit = {
    .name = "NodeResourcesFit",
    .default_weight = 1,
    .filter = fit_filter,
    .score = fit_score,
};

/* ---- NodeResourcesBalancedAllocation ---- */

/* k8s: best-effort pods (no cpu/memory request) skip this score, or they would pile up. */
static bool balanced_prescore(sched_cycle *c, sched_ninfo *const *nodes, size_t n)
{
	return c->pod->cpu != 0 || c->pod->mem != 0;
}

/* k8s: balancedResourceScorer over cpu and memory with actual requests — (1 - std of the
 * requested fractions) * 100; with two resources std = |f1 - f2| / 2. */
static int64_t balanced_score(sched_cycle *c, const sched_ninfo *ni, size_t fi)
{
	static const sched_fitres res[2] = {{.kind = RES_CPU}, {.kind = RES_MEM}};
	const int64_t pod_req[2] = {c->pod->cpu, c->pod->mem};
	double f[2];
	int nf = 0;
	for (size_t i = 0; i < 2; i++) {
		int64_t alloc, req;
		alloc_req(ni, &res[i], false, pod_req[i], &alloc, &req);
		if (alloc == 0)
			continue;
		double x = (double)req / (double)alloc;
		f[nf++] = x > 1 ? 1 : x;
	}
	double std = nf == 2 ? fabs((f[0] - f[1]) / 2) : 0;
	return (int64_t)((1 - std) * (double)SCHED_MAX_NODE_SCORE);
}

const sched_plugin sched_plugin_balanced = {
    .name = "NodeResourcesBalancedAllocation",
    .default_weight = 1,
    .prescore = balanced_prescore,
    .score = balanced_score,
};
