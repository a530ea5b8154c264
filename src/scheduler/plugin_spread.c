/* plugin_spread.c — PodTopologySpread: DoNotSchedule constraints filter nodes whose domain
 * would exceed maxSkew (minDomains, nodeAffinityPolicy / nodeTaintsPolicy honoured);
 * ScheduleAnyway constraints score nodes with fewer matching pods higher.
 * Not for: the cluster-level default constraints kube derives from Services and ReplicaSets
 * (the snapshot has no Services; pods without constraints are not spread).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "scheduler/sched-internal.h"

static const char *const REASON_SKEW = "node(s) didn't match pod topology spread constraints";
static const char *const REASON_LABEL =
    "node(s) didn't match pod topology spread constraints (missing required label)";

/* k8s: countPodsMatchSelector — same namespace, not terminating, selector matches. `by`
 * is the pod sel belongs to (the node's memo keeps a reference to it). */
static int64_t count_matching(const sched_ninfo *cni, const sched_sel *sel, sched_hstr ns,
                              const sched_pod *by)
{
	/* The memo is a cache of this answer, not a change to the node: the const cast is
	 * the lazy fill (the scheduler's worker only). */
	sched_ninfo *ni = (sched_ninfo *)cni;
	if (ni->count_memo.by && ni->count_memo.gen == ni->pods_gen &&
	    sched_hstr_eq(ni->count_memo.ns, ns) && sched_sel_equal(ni->count_memo.sel, sel))
		return ni->count_memo.n;
	int64_t n = 0;
	for (uint32_t i = 0; i < ni->npods; i++) {
		const sched_pod *p = ni->pods[i];
		if (!p->terminating && sched_hstr_eq(p->ns, ns) &&
		    sched_sel_matches(sel, &p->labels))
			n++;
	}
	if (ni->count_memo.by != by) {
		sched_pod_unref(ni->count_memo.by);
		ni->count_memo.by = sched_pod_ref((sched_pod *)by);
	}
	ni->count_memo.sel = sel;
	ni->count_memo.ns = ns;
	ni->count_memo.gen = ni->pods_gen;
	ni->count_memo.n = n;
	return n;
}

static bool has_all_keys(const sched_node *n, const spread_c *cs, uint32_t ncs)
{
	for (uint32_t i = 0; i < ncs; i++)
		if (!sched_labels_get(&n->labels, cs[i].c->key))
			return false;
	return true;
}

/* k8s: matchNodeInclusionPolicies. *na caches the node affinity match (-1: unknown). */
static bool included(const sched_pod *p, const sched_spread *s, const sched_node *n, int *na)
{
	if (s->honor_affinity) {
		if (*na < 0)
			*na = sched_pod_matches_node_affinity(p, n);
		if (!*na)
			return false;
	}
	return !s->honor_taints || !sched_untolerated(p, n);
}

static void recompute_min(spread_c *sc)
{
	sc->domains = sc->counts.n;
	sc->min = INT32_MAX; /* k8s: no domain leaves the critical path at MaxInt32 */
	for (uint32_t i = 0; i < sc->counts.cap; i++)
		if (sc->counts.v[i].key && sc->counts.v[i].count < sc->min)
			sc->min = sc->counts.v[i].count;
	sc->dirty = false;
}

static uint32_t pick(const sched_pod *p, bool hard, spread_c **out)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < p->nspread; i++)
		n += p->spread[i].hard == hard;
	if (!n)
		return 0;
	*out = xcalloc(n, sizeof(spread_c));
	n = 0;
	for (uint32_t i = 0; i < p->nspread; i++)
		if (p->spread[i].hard == hard)
			(*out)[n++].c = &p->spread[i];
	return n;
}

static int spread_prefilter(sched_cycle *c, sched_status *st)
{
	const sched_pod *p = c->pod;
	c->nspread = pick(p, true, &c->spread);
	if (!c->nspread)
		return CODE_SKIP;
	for (size_t i = 0; i < c->snap->n; i++) {
		const sched_ninfo *ni = c->snap->nodes[i];
		if (!has_all_keys(ni->node, c->spread, c->nspread))
			continue;
		int na = -1;
		for (uint32_t j = 0; j < c->nspread; j++) {
			const sched_spread *s = c->spread[j].c;
			if (!included(p, s, ni->node, &na))
				continue;
			const sched_hstr *v = sched_labels_get(&ni->node->labels, s->key);
			*sched_tpmap_at(&c->spread[j].counts, s->key, *v, true) +=
			    count_matching(ni, &s->sel, p->ns, p);
		}
	}
	for (uint32_t j = 0; j < c->nspread; j++)
		recompute_min(&c->spread[j]);
	return CODE_SUCCESS;
}

/* k8s: 'existing matching num' + 'self-match (1 or 0)' - 'global minimum' <= maxSkew. */
static int spread_filter(sched_cycle *c, const sched_ninfo *ni, sched_status *st)
{
	for (uint32_t i = 0; i < c->nspread; i++) {
		spread_c *sc = &c->spread[i];
		const sched_hstr *v = sched_labels_get(&ni->node->labels, sc->c->key);
		if (!v) {
			sched_status_add(c, st, CODE_UNRESOLVABLE, REASON_LABEL);
			return CODE_UNRESOLVABLE;
		}
		if (sc->dirty)
			recompute_min(sc);
		int64_t min = sc->c->min_domains > (int32_t)sc->domains ? 0 : sc->min;
		int64_t self = sched_sel_matches(&sc->c->sel, &c->pod->labels) ? 1 : 0;
		int64_t match = sched_tpmap_get(&sc->counts, sc->c->key, *v);
		if (match + self - min > sc->c->max_skew) {
			sched_status_add(c, st, CODE_UNSCHEDULABLE, REASON_SKEW);
			return CODE_UNSCHEDULABLE;
		}
	}
	return CODE_SUCCESS;
}

/* k8s: preFilterState.updateWithPod (preemption dry runs). */
static void spread_add_pod(sched_cycle *c, const sched_ninfo *ni, const sched_pod *p, int sign)
{
	if (!sched_hstr_eq(p->ns, c->pod->ns) || !has_all_keys(ni->node, c->spread, c->nspread))
		return;
	int na = -1;
	for (uint32_t i = 0; i < c->nspread; i++) {
		spread_c *sc = &c->spread[i];
		if (!sched_sel_matches(&sc->c->sel, &p->labels) ||
		    !included(c->pod, sc->c, ni->node, &na))
			continue;
		const sched_hstr *v = sched_labels_get(&ni->node->labels, sc->c->key);
		*sched_tpmap_at(&sc->counts, sc->c->key, *v, true) += sign;
		sc->dirty = true;
	}
}

/* ---- scoring (ScheduleAnyway) ---- */

static bool is_hostname(const spread_c *sc)
{
	return strcmp(sc->c->key.s, "kubernetes.io/hostname") == 0;
}

static bool spread_prescore(sched_cycle *c, sched_ninfo *const *nodes, size_t n)
{
	const sched_pod *p = c->pod;
	free(c->sspread);
	c->nsspread = pick(p, false, &c->sspread);
	if (!c->nsspread)
		return false;
	c->sspread_ignored = xcalloc(n + 1, 1);
	c->sspread_w = xcalloc(c->nsspread, sizeof(double));
	uint32_t *size = xcalloc(c->nsspread, sizeof(uint32_t));
	size_t ignored = 0;
	for (size_t j = 0; j < n; j++) {
		const sched_node *node = nodes[j]->node;
		if (!has_all_keys(node, c->sspread, c->nsspread)) {
			c->sspread_ignored[j] = 1;
			ignored++;
			continue;
		}
		for (uint32_t i = 0; i < c->nsspread; i++) {
			if (is_hostname(&c->sspread[i]))
				continue;
			const sched_hstr *v = sched_labels_get(&node->labels, c->sspread[i].c->key);
			uint32_t before = c->sspread_counts.n;
			sched_tpmap_at(&c->sspread_counts, c->sspread[i].c->key, *v, true);
			if (c->sspread_counts.n != before)
				size[i]++;
		}
	}
	for (uint32_t i = 0; i < c->nsspread; i++) {
		size_t sz = is_hostname(&c->sspread[i]) ? n - ignored : size[i];
		c->sspread_w[i] = log((double)sz + 2); /* k8s: topologyNormalizingWeight */
	}
	free(size);
	for (size_t k = 0; k < c->snap->n; k++) {
		const sched_ninfo *ni = c->snap->nodes[k];
		if (!has_all_keys(ni->node, c->sspread, c->nsspread))
			continue;
		int na = -1;
		for (uint32_t i = 0; i < c->nsspread; i++) {
			const sched_spread *s = c->sspread[i].c;
			if (!included(p, s, ni->node, &na))
				continue;
			const sched_hstr *v = sched_labels_get(&ni->node->labels, s->key);
			int64_t *cnt = sched_tpmap_at(&c->sspread_counts, s->key, *v, false);
			if (cnt)
				*cnt += count_matching(ni, &s->sel, p->ns, p);
		}
	}
	return true;
}

/* k8s: sum over constraints of cnt * weight + (maxSkew - 1), rounded. */
static int64_t spread_score(sched_cycle *c, const sched_ninfo *ni, size_t fi)
{
	if (c->sspread_ignored[fi])
		return 0;
	double score = 0;
	for (uint32_t i = 0; i < c->nsspread; i++) {
		const sched_spread *s = c->sspread[i].c;
		const sched_hstr *v = sched_labels_get(&ni->node->labels, s->key);
		if (!v)
			continue;
		int64_t cnt = is_hostname(&c->sspread[i])
		                  ? count_matching(ni, &s->sel, c->pod->ns, c->pod)
		                  : sched_tpmap_get(&c->sspread_counts, s->key, *v);
		score += (double)cnt * c->sspread_w[i] + (double)(s->max_skew - 1);
	}
	return (int64_t)round(score);
}

static void spread_normalize(sched_cycle *c, int64_t *scores, size_t n)
{
	int64_t min = INT64_MAX, max = 0;
	for (size_t i = 0; i < n; i++) {
		if (c->sspread_ignored[i])
			continue;
		if (scores[i] < min)
			min = scores[i];
		if (scores[i] > max)
			max = scores[i];
	}
	for (size_t i = 0; i < n; i++) {
		if (c->sspread_ignored[i])
			scores[i] = 0;
		else if (max == 0)
			scores[i] = SCHED_MAX_NODE_SCORE;
		else
			scores[i] = SCHED_MAX_NODE_SCORE * (max + min - scores[i]) / max;
	}
}

const sched_plugin sched_plugin_spread = {
    .name = "PodTopologySpread",
    .default_weight = 2,
    .prefilter = spread_prefilter,
    .filter = spread_filter,
    .add_pod = spread_add_pod,
    .prescore = spread_prescore,
    .score = spread_score,
    .normalize = spread_normalize,
};
