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

/* The id of the count question (sel, ns) in the snapshot's table: compared by value here,
 * once per constraint and cycle, so that a node's memo is looked up by id. A question not
 * in the table takes the oldest slot (its id retires with it). */
static uint32_t question(sched_cycle *c, const sched_sel *sel, sched_hstr ns)
{
	/* The table is a cache of the snapshot, filled by the scheduler's worker (one cycle
	 * at a time), like the nodes' count memos. */
	sched_snapshot *s = (sched_snapshot *)c->snap;
	for (size_t i = 0; i < ARRAY_SIZE(s->spread_q); i++) {
		const struct sched_spread_q *e = &s->spread_q[i];
		if (e->id && sched_hstr_eq(e->ns, ns) && (e->sel == sel || sched_sel_equal(e->sel, sel)))
			return e->id;
	}
	struct sched_spread_q *e = &s->spread_q[s->spread_q_next++ % ARRAY_SIZE(s->spread_q)];
	sched_pod_unref(e->by);
	e->by = sched_pod_ref((sched_pod *)c->pod);
	e->sel = sel;
	e->ns = ns;
	if (++s->spread_q_id == 0) /* wrapped: 0 means unused */
		s->spread_q_id = 1;
	e->id = s->spread_q_id;
	return e->id;
}

/* k8s: countPodsMatchSelector — same namespace, not terminating, selector matches; q is
 * the question's id (question()). */
static int64_t count_matching(const sched_ninfo *cni, uint32_t q, const sched_sel *sel,
                              sched_hstr ns)
{
	/* The memo is a cache of this answer, not a change to the node: the const cast is
	 * the lazy fill (the scheduler's worker only). */
	sched_ninfo *ni = (sched_ninfo *)cni;
	__typeof__(&ni->count_memo[0]) m = &ni->count_memo[q % 2];
	if (m->q == q && m->gen == ni->pods_gen)
		return m->n;
	int64_t n = 0;
	for (uint32_t i = 0; i < ni->npods; i++) {
		const sched_pod *p = ni->pods[i];
		if (!p->terminating && sched_hstr_eq(p->ns, ns) &&
		    sched_sel_matches(sel, &p->labels))
			n++;
	}
	m->q = q;
	m->gen = ni->pods_gen;
	m->n = n;
	return n;
}

/* Whether node n carries every constraint's key; each constraint's value on n goes to its
 * val (one scan of the labels for both). */
static bool node_values(const sched_node *n, spread_c *cs, uint32_t ncs)
{
	for (uint32_t i = 0; i < ncs; i++)
		if (!(cs[i].val = sched_labels_get(&n->labels, cs[i].c->key)))
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
		if (p->spread[i].hard == hard) {
			(*out)[n].c = &p->spread[i];
			(*out)[n++].host = strcmp(p->spread[i].key.s, "kubernetes.io/hostname") == 0;
		}
	return n;
}

/* Counts, for each constraint in cs, the pods it matches in each domain of the nodes that
 * carry every constraint's key (and that the constraint's inclusion policies let in). */
static void count_nodes(const sched_snapshot *snap, const sched_pod *p, spread_c *cs,
                        uint32_t ncs, bool skip_host)
{
	for (size_t i = 0; i < snap->n; i++) {
		const sched_ninfo *ni = snap->nodes[i];
		if (!node_values(ni->node, cs, ncs))
			continue;
		int na = -1;
		for (uint32_t j = 0; j < ncs; j++) {
			const sched_spread *s = cs[j].c;
			if ((skip_host && cs[j].host) || !included(p, s, ni->node, &na))
				continue;
			*sched_tpmap_at(&cs[j].counts, s->key, *cs[j].val, true) +=
			    count_matching(ni, cs[j].q, &s->sel, p->ns);
		}
	}
}

/* ---- DoNotSchedule counts kept between cycles ---- */

#define KEEP_MAX 4

/* The counts of the last cycle's constraints, kept in the snapshot (one set for
 * DoNotSchedule, one for ScheduleAnyway): the pods of one workload ask the same question,
 * and between two of their cycles only a few placed pods come and go (the snapshot's
 * journal), so walking every node each cycle (most of the cycle with 5,000 nodes) is only
 * needed when the question or the nodes change. Only for constraints whose counts do not
 * depend on the pod beyond its selectors: no node affinity or selector honoured, no taints
 * honoured. Filled and read by the scheduler's worker, one cycle at a time, as the
 * snapshot. */
struct sched_spread_keep {
	sched_pod *by; /* referenced: owns the selectors */
	uint64_t seq;  /* the journal's sequence number they include everything before */
	uint64_t topo_gen;
	uint32_t n;
	bool soft;            /* ScheduleAnyway's: hostname constraints not counted (Score asks
	                       * the node) */
	spread_c c[KEEP_MAX]; /* q, key (c->key), host, counts */
};

void sched_spread_keep_free(struct sched_spread_keep *k)
{
	if (!k)
		return;
	for (uint32_t i = 0; i < k->n; i++)
		sched_tpmap_free(&k->c[i].counts);
	sched_pod_unref(k->by);
	free(k);
}

/* Whether the counts for cs depend on nothing of p but the constraints' selectors. */
static bool keepable(const sched_pod *p, const spread_c *cs, uint32_t ncs)
{
	if (ncs > KEEP_MAX)
		return false;
	bool na = p->n_node_selector || p->has_required_na;
	for (uint32_t i = 0; i < ncs; i++)
		if (cs[i].c->honor_taints || (cs[i].c->honor_affinity && na))
			return false;
	return true;
}

static bool same_question(const struct sched_spread_keep *k, const spread_c *cs, uint32_t ncs)
{
	if (k->n != ncs)
		return false;
	for (uint32_t i = 0; i < ncs; i++)
		if (k->c[i].q != cs[i].q || k->c[i].c->key.s != cs[i].c->key.s)
			return false;
	return true;
}

/* A placed pod added (sign 1) or removed (-1) on node n, as count_nodes would count it. */
static void journal_apply(struct sched_spread_keep *k, const sched_node *n, const sched_pod *p,
                          int sign)
{
	if (p->terminating || !sched_hstr_eq(p->ns, k->by->ns) || !node_values(n, k->c, k->n))
		return;
	for (uint32_t i = 0; i < k->n; i++)
		if (!(k->soft && k->c[i].host) && sched_sel_matches(&k->c[i].c->sel, &p->labels))
			*sched_tpmap_at(&k->c[i].counts, k->c[i].c->key, *k->c[i].val, true) += sign;
}

/* The snapshot's kept counts for constraints cs (soft: ScheduleAnyway's), brought up to
 * date first (counted again when they answer another question or the nodes changed). The
 * DoNotSchedule counts are copied into cs, which the cycle changes (preemption's dry runs). */
static const struct sched_spread_keep *kept_counts(sched_cycle *c, spread_c *cs, uint32_t ncs,
                                                   bool soft)
{
	sched_snapshot *s = (sched_snapshot *)c->snap; /* the worker's; see above */
	struct sched_spread_keep **slot = &s->spread_keep[soft];
	struct sched_spread_keep *k = *slot;
	uint64_t end = s->pj_base + s->pj_n;
	if (k && k->topo_gen == s->topo_gen && k->seq >= s->pj_base &&
	    same_question(k, cs, ncs)) {
		for (uint64_t i = k->seq - s->pj_base; i < s->pj_n; i++)
			journal_apply(k, s->pj[i].node, s->pj[i].pod, s->pj[i].sign);
		for (uint32_t i = 0; i < k->n && !soft; i++)
			sched_tpmap_copy(&cs[i].counts, &k->c[i].counts);
	} else {
		sched_spread_keep_free(k);
		k = *slot = xcalloc(1, sizeof(*k));
		k->by = sched_pod_ref((sched_pod *)c->pod);
		k->topo_gen = s->topo_gen;
		k->n = ncs;
		k->soft = soft;
		count_nodes(s, c->pod, cs, ncs, soft);
		for (uint32_t i = 0; i < k->n; i++) {
			k->c[i].c = cs[i].c; /* by's constraint: c->pod is by */
			k->c[i].q = cs[i].q;
			k->c[i].host = cs[i].host;
			sched_tpmap_copy(&k->c[i].counts, &cs[i].counts);
		}
	}
	k->seq = end;
	sched_snapshot_pj_read(s, soft ? SCHED_PJ_SPREAD_SOFT : SCHED_PJ_SPREAD, end);
	return k;
}

static int spread_prefilter(sched_cycle *c, sched_status *st)
{
	const sched_pod *p = c->pod;
	c->nspread = pick(p, true, &c->spread);
	if (!c->nspread)
		return CODE_SKIP;
	for (uint32_t j = 0; j < c->nspread; j++) {
		c->spread[j].q = question(c, &c->spread[j].c->sel, p->ns);
		c->spread[j].self = sched_sel_matches(&c->spread[j].c->sel, &p->labels);
	}
	if (keepable(p, c->spread, c->nspread))
		kept_counts(c, c->spread, c->nspread, false);
	else
		count_nodes(c->snap, p, c->spread, c->nspread, false);
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
		int64_t match = sched_tpmap_get(&sc->counts, sc->c->key, *v);
		if (match + sc->self - min > sc->c->max_skew) {
			sched_status_add(c, st, CODE_UNSCHEDULABLE, REASON_SKEW);
			return CODE_UNSCHEDULABLE;
		}
	}
	return CODE_SUCCESS;
}

/* k8s: preFilterState.updateWithPod (preemption dry runs). */
static void spread_add_pod(sched_cycle *c, const sched_ninfo *ni, const sched_pod *p, int sign)
{
	if (!sched_hstr_eq(p->ns, c->pod->ns) || !node_values(ni->node, c->spread, c->nspread))
		return;
	int na = -1;
	for (uint32_t i = 0; i < c->nspread; i++) {
		spread_c *sc = &c->spread[i];
		if (!sched_sel_matches(&sc->c->sel, &p->labels) ||
		    !included(c->pod, sc->c, ni->node, &na))
			continue;
		*sched_tpmap_at(&sc->counts, sc->c->key, *sc->val, true) += sign;
		sc->dirty = true;
	}
}

/* ---- scoring (ScheduleAnyway) ---- */

static bool spread_prescore(sched_cycle *c, sched_ninfo *const *nodes, size_t n)
{
	const sched_pod *p = c->pod;
	free(c->sspread);
	c->nsspread = pick(p, false, &c->sspread);
	if (!c->nsspread)
		return false;
	for (uint32_t i = 0; i < c->nsspread; i++)
		c->sspread[i].q = question(c, &c->sspread[i].c->sel, p->ns);
	c->sspread_ignored = xcalloc(n + 1, 1);
	c->sspread_w = xcalloc(c->nsspread, sizeof(double));
	uint32_t *size = xcalloc(c->nsspread, sizeof(uint32_t));
	size_t ignored = 0;
	for (size_t j = 0; j < n; j++) {
		const sched_node *node = nodes[j]->node;
		if (!node_values(node, c->sspread, c->nsspread)) {
			c->sspread_ignored[j] = 1;
			ignored++;
			continue;
		}
		for (uint32_t i = 0; i < c->nsspread; i++) {
			if (c->sspread[i].host)
				continue;
			uint32_t before = c->sspread_counts.n;
			sched_tpmap_at(&c->sspread_counts, c->sspread[i].c->key, *c->sspread[i].val, true);
			if (c->sspread_counts.n != before)
				size[i]++;
		}
	}
	for (uint32_t i = 0; i < c->nsspread; i++) {
		size_t sz = c->sspread[i].host ? n - ignored : size[i];
		c->sspread_w[i] = log((double)sz + 2); /* k8s: topologyNormalizingWeight */
	}
	free(size);
	if (keepable(p, c->sspread, c->nsspread)) {
		/* each domain the feasible nodes are in: its kept count */
		const struct sched_spread_keep *k = kept_counts(c, c->sspread, c->nsspread, true);
		for (uint32_t e = 0; e < c->sspread_counts.cap; e++) {
			sched_tp *tp = &c->sspread_counts.v[e];
			if (!tp->key)
				continue;
			sched_hstr val = sched_hstr_of(tp->val);
			for (uint32_t i = 0; i < k->n; i++)
				if (!k->c[i].host && k->c[i].c->key.s == tp->key)
					tp->count += sched_tpmap_get(&k->c[i].counts, k->c[i].c->key, val);
		}
		return true;
	}
	for (size_t k = 0; k < c->snap->n; k++) {
		const sched_ninfo *ni = c->snap->nodes[k];
		if (!node_values(ni->node, c->sspread, c->nsspread))
			continue;
		int na = -1;
		for (uint32_t i = 0; i < c->nsspread; i++) {
			const sched_spread *s = c->sspread[i].c;
			if (!included(p, s, ni->node, &na))
				continue;
			int64_t *cnt = sched_tpmap_at(&c->sspread_counts, s->key, *c->sspread[i].val, false);
			if (cnt)
				*cnt += count_matching(ni, c->sspread[i].q, &s->sel, p->ns);
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
		int64_t cnt = c->sspread[i].host
		                  ? count_matching(ni, c->sspread[i].q, &s->sel, c->pod->ns)
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
