/* plugin_interpod.c — InterPodAffinity: required pod affinity / anti-affinity of the
 * incoming pod and required anti-affinity of the pods already placed (filter, from
 * topology-pair counts built once per cycle); preferred terms of both sides and existing
 * pods' required affinity (hardPodAffinityWeight) shape the score. Work is skipped
 * entirely when neither the pod nor any placed pod uses affinity.
 * Not for: node affinity (plugin_nodeaffinity.c).
 */
#include <stdatomic.h>
#include <stdint.h>

#include "scheduler/sched-internal.h"

static const char *const REASON_AFF = "node(s) didn't match pod affinity rules";
static const char *const REASON_ANTI = "node(s) didn't match pod anti-affinity rules";
static const char *const REASON_EXISTING =
    "node(s) didn't satisfy existing pods anti-affinity rules";

/* k8s: topologyToMatchedTermCount.update — only nodes carrying the topology key count. */
static void tp_update(sched_tpmap *m, const sched_node *n, sched_hstr key, int64_t d)
{
	const sched_hstr *v = sched_labels_get(&n->labels, key);
	if (v)
		*sched_tpmap_at(m, key, *v, true) += d;
}

static bool matches_all(const sched_aterm *t, uint32_t n, const sched_pod *p,
                        const sched_snapshot *s)
{
	for (uint32_t i = 0; i < n; i++)
		if (!sched_aterm_matches(&t[i], p, s))
			return false;
	return true;
}

/* How placed pod e on n changes the counts (d = +1 when added, -1 when removed). */
static void account(sched_cycle *c, const sched_node *n, const sched_pod *e, int64_t d)
{
	const sched_pod *p = c->pod;
	/* existing pods' required anti-affinity terms that match the incoming pod */
	for (uint32_t i = 0; i < e->n_anti_req; i++)
		if (sched_aterm_matches(&e->anti_req[i], p, c->snap))
			tp_update(&c->ipa_existing_anti, n, e->anti_req[i].topo, d);
	/* k8s: affinity counts only when the existing pod matches all the terms */
	if (p->n_aff_req && matches_all(p->aff_req, p->n_aff_req, e, c->snap))
		for (uint32_t i = 0; i < p->n_aff_req; i++)
			tp_update(&c->ipa_aff, n, p->aff_req[i].topo, d);
	for (uint32_t i = 0; i < p->n_anti_req; i++)
		if (sched_aterm_matches(&p->anti_req[i], e, c->snap))
			tp_update(&c->ipa_anti, n, p->anti_req[i].topo, d);
}

static void count_nonzero(sched_cycle *c)
{
	c->ipa_aff_nonzero = 0;
	for (uint32_t i = 0; i < c->ipa_aff.cap; i++)
		if (c->ipa_aff.v[i].key && c->ipa_aff.v[i].count != 0)
			c->ipa_aff_nonzero++;
	c->ipa_existing_any = false;
	for (uint32_t i = 0; i < c->ipa_existing_anti.cap && !c->ipa_existing_any; i++)
		if (c->ipa_existing_anti.v[i].key && c->ipa_existing_anti.v[i].count > 0)
			c->ipa_existing_any = true;
}

/* How many topology pairs the last cycle counted in each map: a cycle's maps are sized
 * for that at once. Grown from nothing, the maps of a pod with anti-affinity by hostname
 * over 5,000 nodes doubled ten times every cycle, which (copies, and the allocator taking
 * the big freed arrays back) was a third of the cycle. */
static _Atomic uint32_t hint_existing, hint_aff, hint_anti;

static int ipa_prefilter(sched_cycle *c, sched_status *st)
{
	const sched_pod *p = c->pod;
	bool own = p->n_aff_req || p->n_anti_req;
	if (!own && c->snap->n_req_anti == 0)
		return CODE_SKIP;
	sched_tpmap_reserve(&c->ipa_existing_anti, atomic_load(&hint_existing));
	if (p->n_aff_req)
		sched_tpmap_reserve(&c->ipa_aff, atomic_load(&hint_aff));
	if (p->n_anti_req)
		sched_tpmap_reserve(&c->ipa_anti, atomic_load(&hint_anti));
	for (size_t i = 0; i < c->snap->n; i++) {
		const sched_ninfo *ni = c->snap->nodes[i];
		if (!own && ni->n_req_anti == 0)
			continue;
		for (uint32_t j = 0; j < ni->npods; j++)
			account(c, ni->node, ni->pods[j], 1);
	}
	count_nonzero(c);
	atomic_store(&hint_existing, c->ipa_existing_anti.n);
	if (p->n_aff_req)
		atomic_store(&hint_aff, c->ipa_aff.n);
	if (p->n_anti_req)
		atomic_store(&hint_anti, c->ipa_anti.n);
	return own || c->ipa_existing_any ? CODE_SUCCESS : CODE_SKIP;
}

static int ipa_filter(sched_cycle *c, const sched_ninfo *ni, sched_status *st)
{
	const sched_pod *p = c->pod;
	const sched_node *n = ni->node;
	if (p->n_aff_req) {
		bool exist = true;
		for (uint32_t i = 0; i < p->n_aff_req; i++) {
			const sched_hstr *v = sched_labels_get(&n->labels, p->aff_req[i].topo);
			if (!v) {
				sched_status_add(c, st, CODE_UNRESOLVABLE, REASON_AFF);
				return CODE_UNRESOLVABLE;
			}
			if (sched_tpmap_get(&c->ipa_aff, p->aff_req[i].topo, *v) <= 0)
				exist = false;
		}
		/* k8s: the first pod of a group with affinity to itself may go anywhere. */
		if (!exist && !(c->ipa_aff_nonzero == 0 &&
		                matches_all(p->aff_req, p->n_aff_req, p, c->snap))) {
			sched_status_add(c, st, CODE_UNRESOLVABLE, REASON_AFF);
			return CODE_UNRESOLVABLE;
		}
	}
	for (uint32_t i = 0; i < p->n_anti_req; i++) {
		const sched_hstr *v = sched_labels_get(&n->labels, p->anti_req[i].topo);
		if (v && sched_tpmap_get(&c->ipa_anti, p->anti_req[i].topo, *v) > 0) {
			sched_status_add(c, st, CODE_UNSCHEDULABLE, REASON_ANTI);
			return CODE_UNSCHEDULABLE;
		}
	}
	if (c->ipa_existing_any) {
		for (uint32_t i = 0; i < n->labels.n; i++) {
			if (sched_tpmap_get(&c->ipa_existing_anti, n->labels.v[i].k,
			                    n->labels.v[i].v) > 0) {
				sched_status_add(c, st, CODE_UNSCHEDULABLE, REASON_EXISTING);
				return CODE_UNSCHEDULABLE;
			}
		}
	}
	return CODE_SUCCESS;
}

static void ipa_add_pod(sched_cycle *c, const sched_ninfo *ni, const sched_pod *p, int sign)
{
	account(c, ni->node, p, sign);
	count_nonzero(c);
}

/* ---- scoring ---- */

static void score_terms(sched_cycle *c, const sched_aterm *t, uint32_t n, const sched_pod *target,
                        const sched_node *node, int64_t mult, int64_t fixed_weight)
{
	if (node->labels.n == 0)
		return;
	for (uint32_t i = 0; i < n; i++) {
		const sched_hstr *v = sched_labels_get(&node->labels, t[i].topo);
		if (v && sched_aterm_matches(&t[i], target, c->snap))
			*sched_tpmap_at(&c->ipa_score, t[i].topo, *v, true) +=
			    mult * (fixed_weight ? fixed_weight : t[i].weight);
	}
}

/* k8s: InterPodAffinity PreScore — topology scores from every (relevant) placed pod. */
static bool ipa_prescore(sched_cycle *c, sched_ninfo *const *nodes, size_t nn)
{
	const sched_pod *p = c->pod;
	bool pref = p->n_aff_pref || p->n_anti_pref;
	if (!pref && c->snap->n_aff == 0)
		return false;
	int64_t hard = c->prof->hard_pod_affinity_weight;
	hard = hard == 0 ? 1 : hard < 0 ? 0 : hard;
	for (size_t i = 0; i < c->snap->n; i++) {
		const sched_ninfo *ni = c->snap->nodes[i];
		if (!pref && ni->n_aff == 0)
			continue;
		for (uint32_t j = 0; j < ni->npods; j++) {
			const sched_pod *e = ni->pods[j];
			if (!pref && !e->has_affinity)
				continue;
			score_terms(c, p->aff_pref, p->n_aff_pref, e, ni->node, 1, 0);
			score_terms(c, p->anti_pref, p->n_anti_pref, e, ni->node, -1, 0);
			if (hard > 0)
				score_terms(c, e->aff_req, e->n_aff_req, p, ni->node, 1, hard);
			score_terms(c, e->aff_pref, e->n_aff_pref, p, ni->node, 1, 0);
			score_terms(c, e->anti_pref, e->n_anti_pref, p, ni->node, -1, 0);
		}
	}
	return c->ipa_score.n > 0;
}

static int64_t ipa_score(sched_cycle *c, const sched_ninfo *ni, size_t fi)
{
	int64_t s = 0;
	const sched_labels *l = &ni->node->labels;
	for (uint32_t i = 0; i < l->n; i++)
		s += sched_tpmap_get(&c->ipa_score, l->v[i].k, l->v[i].v);
	return s;
}

/* k8s: min-max scaling to [0, 100]. */
static void ipa_normalize(sched_cycle *c, int64_t *scores, size_t n)
{
	int64_t min = INT64_MAX, max = INT64_MIN;
	for (size_t i = 0; i < n; i++) {
		if (scores[i] > max)
			max = scores[i];
		if (scores[i] < min)
			min = scores[i];
	}
	int64_t diff = max - min;
	for (size_t i = 0; i < n; i++)
		scores[i] = diff > 0 ? (int64_t)((double)SCHED_MAX_NODE_SCORE *
		                                 ((double)(scores[i] - min) / (double)diff))
		                     : 0;
}

const sched_plugin sched_plugin_interpod = {
    .name = "InterPodAffinity",
    .default_weight = 2,
    .prefilter = ipa_prefilter,
    .filter = ipa_filter,
    .add_pod = ipa_add_pod,
    .prescore = ipa_prescore,
    .score = ipa_score,
    .normalize = ipa_normalize,
};
