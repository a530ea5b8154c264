/* plugin_interpod.c — InterPodAffinity: required pod affinity / anti-affinity of the
 * incoming pod and required anti-affinity of the pods already placed (filter, from
 * topology-pair counts built once per cycle); preferred terms of both sides and existing
 * pods' required affinity (hardPodAffinityWeight) shape the score. Work is skipped
 * entirely when neither the pod nor any placed pod uses affinity.
 * Not for: node affinity (plugin_nodeaffinity.c).
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "scheduler/sched-internal.h"

static const char *const REASON_AFF = "node(s) didn't match pod affinity rules";
static const char *const REASON_ANTI = "node(s) didn't match pod anti-affinity rules";
static const char *const REASON_EXISTING =
    "node(s) didn't satisfy existing pods anti-affinity rules";

/* k8s: topologyToMatchedTermCount.update — only nodes carrying the topology key count.
 * Returns the pair's count before the change (*after: after it), or false when the node
 * does not carry the key. */
static const sched_hstr *tp_update(sched_tpmap *m, const sched_node *n, sched_hstr key,
                                   int64_t d, int64_t *before, int64_t *after)
{
	const sched_hstr *v = sched_labels_get(&n->labels, key);
	if (!v)
		return NULL;
	int64_t *p = sched_tpmap_at(m, key, *v, true);
	*before = *p;
	*after = *p += d;
	return v;
}

static bool matches_all(const sched_aterm *t, uint32_t n, const sched_pod *p,
                        const sched_snapshot *s)
{
	for (uint32_t i = 0; i < n; i++)
		if (!sched_aterm_matches(&t[i], p, s))
			return false;
	return true;
}

/* The snapshot's nodes by their value of one label key: the nodes a topology pair covers
 * (one under hostname, a zone's under zone). */
typedef struct ipa_vindex {
	sched_hstr key;
	uint32_t cap; /* slots, a power of two */
	struct ipa_vslot {
		const char *val; /* NULL: empty */
		uint64_t h;
		uint32_t first; /* node index + 1 */
	} *slot;
	uint32_t *next; /* per node index: the next node of the same value, + 1; 0 ends */
} ipa_vindex;

/* Kept with the counts, changed as they change, so that a cycle does not walk the maps
 * for them (two maps of a pair per node, every cycle, under anti-affinity by hostname):
 * how many pairs of aff are not zero, and for each topology key, how many pairs of
 * existing_anti under it are above zero. And per node (by snapshot index), how many pairs
 * above zero of anti and of existing_anti it carries, so that the filter reads one number
 * where it looked each of the node's pairs up (late pods of an anti-affinity workload visit
 * thousands of nodes). */
typedef struct ipa_tally {
	uint32_t aff_nonzero;
	uint32_t nkeys, cap;
	struct ipa_key_tally {
		sched_hstr key;
		uint32_t positive;
	} *keys;
	uint32_t nn; /* nodes the per-node counts cover: the snapshot's when counted */
	uint32_t *blk_anti, *blk_exist;
	ipa_vindex *vix;
	uint32_t nvix;
} ipa_tally;

/* The slot of value v: its own, or the empty one it would take. */
static struct ipa_vslot *vslot(const ipa_vindex *x, sched_hstr v)
{
	uint32_t j = (uint32_t)v.h & (x->cap - 1);
	while (x->slot[j].val &&
	       !(x->slot[j].h == v.h && (x->slot[j].val == v.s || strcmp(x->slot[j].val, v.s) == 0)))
		j = (j + 1) & (x->cap - 1);
	return &x->slot[j];
}

static void vindex_build(ipa_vindex *x, const sched_snapshot *s, uint32_t nn, sched_hstr key)
{
	x->key = key;
	x->cap = 16;
	while (x->cap < 2 * nn)
		x->cap *= 2;
	x->slot = xcalloc(x->cap, sizeof(*x->slot));
	x->next = xcalloc(nn ? nn : 1, sizeof(*x->next));
	for (uint32_t i = 0; i < nn; i++) {
		const sched_hstr *v = sched_labels_get(&s->nodes[i]->node->labels, key);
		if (!v)
			continue;
		struct ipa_vslot *sl = vslot(x, *v);
		if (!sl->val)
			*sl = (struct ipa_vslot){v->s, v->h, 0};
		x->next[i] = sl->first;
		sl->first = i + 1;
	}
}

/* Adds d to blk for every node carrying the pair (key, val). */
static void block_pair(ipa_tally *t, const sched_snapshot *s, uint32_t *blk, sched_hstr key,
                       sched_hstr val, int d)
{
	ipa_vindex *x = NULL;
	for (uint32_t i = 0; i < t->nvix && !x; i++)
		if (sched_hstr_eq(t->vix[i].key, key))
			x = &t->vix[i];
	if (!x) {
		t->vix = xrealloc(t->vix, (t->nvix + 1) * sizeof(*t->vix));
		x = &t->vix[t->nvix++];
		vindex_build(x, s, t->nn, key);
	}
	/* (an empty slot, first 0: a value no node carries) */
	for (uint32_t n = vslot(x, val)->first; n; n = x->next[n - 1])
		blk[n - 1] += (uint32_t)d;
}

static void tally_free(ipa_tally *t)
{
	free(t->keys);
	free(t->blk_anti);
	free(t->blk_exist);
	for (uint32_t i = 0; i < t->nvix; i++) {
		free(t->vix[i].slot);
		free(t->vix[i].next);
	}
	free(t->vix);
}

/* The three counts of PreFilter (tally: when the counts are the kept ones, else NULL). */
typedef struct ipa_counts {
	sched_tpmap existing_anti, aff, anti;
	ipa_tally *tally;
} ipa_counts;

static void tally_key(ipa_tally *t, sched_hstr key, int d)
{
	uint32_t k = 0;
	while (k < t->nkeys && !sched_hstr_eq(t->keys[k].key, key))
		k++;
	if (k == t->nkeys) {
		if (t->nkeys == t->cap) {
			t->cap = t->cap ? t->cap * 2 : 4;
			t->keys = xrealloc(t->keys, t->cap * sizeof(*t->keys));
		}
		t->keys[t->nkeys++] = (struct ipa_key_tally){key, 0};
	}
	t->keys[k].positive += (uint32_t)d;
}

/* How placed pod e on n changes the counts for incoming pod p (d = +1 when added, -1 when
 * removed). */
static void count(ipa_counts *m, const sched_pod *p, const sched_snapshot *s,
                  const sched_node *n, const sched_pod *e, int64_t d)
{
	int64_t was, now;
	const sched_hstr *v;
	ipa_tally *t = m->tally;
	/* existing pods' required anti-affinity terms that match the incoming pod */
	for (uint32_t i = 0; i < e->n_anti_req; i++) {
		sched_hstr topo = e->anti_req[i].topo;
		if (sched_aterm_matches(&e->anti_req[i], p, s) &&
		    (v = tp_update(&m->existing_anti, n, topo, d, &was, &now)) && t &&
		    (was > 0) != (now > 0)) {
			tally_key(t, topo, now > 0 ? 1 : -1);
			block_pair(t, s, t->blk_exist, topo, *v, now > 0 ? 1 : -1);
		}
	}
	/* k8s: affinity counts only when the existing pod matches all the terms */
	if (p->n_aff_req && matches_all(p->aff_req, p->n_aff_req, e, s))
		for (uint32_t i = 0; i < p->n_aff_req; i++)
			if (tp_update(&m->aff, n, p->aff_req[i].topo, d, &was, &now) && t &&
			    (was != 0) != (now != 0))
				t->aff_nonzero += now != 0 ? 1u : (uint32_t)-1;
	for (uint32_t i = 0; i < p->n_anti_req; i++)
		if (sched_aterm_matches(&p->anti_req[i], e, s) &&
		    (v = tp_update(&m->anti, n, p->anti_req[i].topo, d, &was, &now)) && t &&
		    (was > 0) != (now > 0))
			block_pair(t, s, t->blk_anti, p->anti_req[i].topo, *v, now > 0 ? 1 : -1);
}

static void account(sched_cycle *c, const sched_node *n, const sched_pod *e, int64_t d)
{
	ipa_counts m = {c->ipa_existing_anti, c->ipa_aff, c->ipa_anti, NULL};
	count(&m, c->pod, c->snap, n, e, d);
	c->ipa_existing_anti = m.existing_anti;
	c->ipa_aff = m.aff;
	c->ipa_anti = m.anti;
}

/* The cycle's view of the kept tally: what count_nonzero finds, without the walk. */
static void from_tally(sched_cycle *c, const ipa_tally *t)
{
	c->ipa_aff_nonzero = t->aff_nonzero;
	c->ipa_existing_any = false;
	c->ipa_nkeys = 0;
	bool few = true;
	for (uint32_t k = 0; k < t->nkeys; k++) {
		if (!t->keys[k].positive)
			continue;
		c->ipa_existing_any = true;
		if (c->ipa_nkeys == ARRAY_SIZE(c->ipa_keys))
			few = false;
		else
			c->ipa_keys[c->ipa_nkeys++] = t->keys[k].key;
	}
	if (!few)
		c->ipa_nkeys = 0;
}

/* The same from the cycle's own maps (copies a cycle changed: nominated pods, preemption's
 * dry runs), tallied by walking them. */
static void count_nonzero(sched_cycle *c)
{
	ipa_tally t = {0};
	for (uint32_t i = 0; i < c->ipa_aff.cap; i++)
		if (c->ipa_aff.v[i].key && c->ipa_aff.v[i].count != 0)
			t.aff_nonzero++;
	for (uint32_t i = 0; i < c->ipa_existing_anti.cap; i++) {
		const sched_tp *e = &c->ipa_existing_anti.v[i];
		if (e->key && e->count > 0)
			tally_key(&t, (sched_hstr){e->key, sched_hash(e->key)}, 1);
	}
	from_tally(c, &t);
	free(t.keys);
}

/* How many topology pairs the last cycle counted in each map: a cycle's maps are sized
 * for that at once. Grown from nothing, the maps of a pod with anti-affinity by hostname
 * over 5,000 nodes doubled ten times every cycle, which (copies, and the allocator taking
 * the big freed arrays back) was a third of the cycle. */
static _Atomic uint32_t hint_existing, hint_aff, hint_anti;

/* The counts of the last cycle, kept in the snapshot: the pods of one workload ask the
 * same question, and between two of their cycles only a few placed pods come and go
 * (the snapshot's journal), so counting every placed pod again each cycle (most of a
 * cycle under pod anti-affinity) is only needed when the question or the nodes change.
 * Filled and read by the scheduler's worker, one cycle at a time, as the snapshot. */
struct sched_ipa_keep {
	sched_pod *by; /* referenced: the pod the counts answer for */
	uint64_t seq;  /* the journal's sequence number they include everything before */
	uint64_t topo_gen;
	ipa_counts m;
	ipa_tally tally; /* m's (m.tally points here) */
};

void sched_ipa_keep_free(struct sched_ipa_keep *k)
{
	if (!k)
		return;
	sched_pod_unref(k->by);
	sched_tpmap_free(&k->m.existing_anti);
	sched_tpmap_free(&k->m.aff);
	sched_tpmap_free(&k->m.anti);
	tally_free(&k->tally);
	free(k);
}

static bool same_nss(const sched_aterm *a, const sched_aterm *b)
{
	if (a->nns != b->nns || a->has_nssel != b->has_nssel ||
	    (a->has_nssel && !sched_sel_equal(&a->nssel, &b->nssel)))
		return false;
	for (uint32_t i = 0; i < a->nns; i++)
		if (!sched_hstr_eq(a->nss[i], b->nss[i]))
			return false;
	return true;
}

static bool same_terms(const sched_aterm *a, const sched_aterm *b, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (!sched_hstr_eq(a[i].topo, b[i].topo) || !sched_sel_equal(&a[i].sel, &b[i].sel) ||
		    !same_nss(&a[i], &b[i]))
			return false;
	return true;
}

/* Whether the counts for a are the counts for b: the same namespace and labels (what
 * placed pods' terms match) and the same required terms. */
static bool same_question(const sched_pod *a, const sched_pod *b)
{
	if (!sched_hstr_eq(a->ns, b->ns) || a->labels.n != b->labels.n ||
	    a->n_aff_req != b->n_aff_req || a->n_anti_req != b->n_anti_req)
		return false;
	for (uint32_t i = 0; i < a->labels.n; i++)
		if (!sched_hstr_eq(a->labels.v[i].k, b->labels.v[i].k) ||
		    !sched_hstr_eq(a->labels.v[i].v, b->labels.v[i].v))
			return false;
	return same_terms(a->aff_req, b->aff_req, a->n_aff_req) &&
	       same_terms(a->anti_req, b->anti_req, a->n_anti_req);
}

static void count_all(ipa_counts *m, const sched_pod *p, const sched_snapshot *s)
{
	bool own = p->n_aff_req || p->n_anti_req;
	sched_tpmap_reserve(&m->existing_anti, atomic_load(&hint_existing));
	if (p->n_aff_req)
		sched_tpmap_reserve(&m->aff, atomic_load(&hint_aff));
	if (p->n_anti_req)
		sched_tpmap_reserve(&m->anti, atomic_load(&hint_anti));
	for (size_t i = 0; i < s->n; i++) {
		const sched_ninfo *ni = s->nodes[i];
		if (!own && ni->n_req_anti == 0)
			continue;
		for (uint32_t j = 0; j < ni->npods; j++)
			count(m, p, s, ni->node, ni->pods[j], 1);
	}
	atomic_store(&hint_existing, m->existing_anti.n);
	if (p->n_aff_req)
		atomic_store(&hint_aff, m->aff.n);
	if (p->n_anti_req)
		atomic_store(&hint_anti, m->anti.n);
}

/* The snapshot's kept counts brought up to date for p (counted again when they answer
 * another question or the nodes changed). */
static const ipa_counts *kept_counts(sched_snapshot *s, sched_pod *p)
{
	struct sched_ipa_keep *k = s->ipa;
	uint64_t end = s->pj_base + s->pj_n;
	if (k && k->topo_gen == s->topo_gen && k->seq >= s->pj_base && same_question(k->by, p)) {
		for (uint64_t i = k->seq - s->pj_base; i < s->pj_n; i++)
			count(&k->m, p, s, s->pj[i].node, s->pj[i].pod, s->pj[i].sign);
	} else {
		sched_ipa_keep_free(k);
		k = s->ipa = xcalloc(1, sizeof(*k));
		sched_pod_ref(p);
		k->by = p;
		k->topo_gen = s->topo_gen;
		k->m.tally = &k->tally;
		k->tally.nn = (uint32_t)s->n;
		k->tally.blk_anti = xcalloc(s->n ? s->n : 1, sizeof(uint32_t));
		k->tally.blk_exist = xcalloc(s->n ? s->n : 1, sizeof(uint32_t));
		count_all(&k->m, p, s);
	}
	k->seq = end;
	sched_snapshot_pj_read(s, SCHED_PJ_IPA, end);
	return &k->m;
}

static int ipa_prefilter(sched_cycle *c, sched_status *st)
{
	const sched_pod *p = c->pod;
	bool own = p->n_aff_req || p->n_anti_req;
	if (!own && c->snap->n_req_anti == 0)
		return CODE_SKIP;
	/* The snapshot and the pod are the worker's, read only but for these kept counts. */
	const ipa_counts *m = kept_counts((sched_snapshot *)c->snap, (sched_pod *)p);
	/* Borrowed (no cycle outlives the next one's PreFilter); a cycle that adds or removes
	 * pods (nominated pods, preemption's dry runs) makes copies first (ipa_add_pod). */
	sched_tpmap_free(&c->ipa_existing_anti);
	sched_tpmap_free(&c->ipa_aff);
	sched_tpmap_free(&c->ipa_anti);
	c->ipa_existing_anti = m->existing_anti;
	c->ipa_aff = m->aff;
	c->ipa_anti = m->anti;
	c->ipa_borrowed = true;
	from_tally(c, m->tally);
	c->ipa_blk_anti = m->tally->blk_anti;
	c->ipa_blk_exist = m->tally->blk_exist;
	c->ipa_blk_n = m->tally->nn;
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
	/* the kept counts, unchanged by this cycle: the node's own numbers */
	uint32_t j = (uint32_t)ni->index;
	if (c->ipa_borrowed && ni->index >= 0 && j < c->ipa_blk_n) {
		if (p->n_anti_req && c->ipa_blk_anti[j]) {
			sched_status_add(c, st, CODE_UNSCHEDULABLE, REASON_ANTI);
			return CODE_UNSCHEDULABLE;
		}
		if (c->ipa_existing_any && c->ipa_blk_exist[j]) {
			sched_status_add(c, st, CODE_UNSCHEDULABLE, REASON_EXISTING);
			return CODE_UNSCHEDULABLE;
		}
		return CODE_SUCCESS;
	}
	for (uint32_t i = 0; i < p->n_anti_req; i++) {
		const sched_hstr *v = sched_labels_get(&n->labels, p->anti_req[i].topo);
		if (v && sched_tpmap_get(&c->ipa_anti, p->anti_req[i].topo, *v) > 0) {
			sched_status_add(c, st, CODE_UNSCHEDULABLE, REASON_ANTI);
			return CODE_UNSCHEDULABLE;
		}
	}
	/* (the few keys counted, else every label of the node) */
	for (uint32_t i = 0; c->ipa_existing_any && i < c->ipa_nkeys; i++) {
		const sched_hstr *v = sched_labels_get(&n->labels, c->ipa_keys[i]);
		if (v && sched_tpmap_get(&c->ipa_existing_anti, c->ipa_keys[i], *v) > 0) {
			sched_status_add(c, st, CODE_UNSCHEDULABLE, REASON_EXISTING);
			return CODE_UNSCHEDULABLE;
		}
	}
	if (c->ipa_existing_any && !c->ipa_nkeys) {
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
	if (c->ipa_borrowed) {
		sched_tpmap *own[3] = {&c->ipa_existing_anti, &c->ipa_aff, &c->ipa_anti};
		for (int i = 0; i < 3; i++) {
			sched_tpmap copy = {0};
			sched_tpmap_copy(&copy, own[i]);
			*own[i] = copy;
		}
		c->ipa_borrowed = false;
	}
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
