/* plugin_nodeaffinity.c — NodeAffinity: nodeSelector and required node affinity must match
 * (filter; terms ORed, requirements ANDed, matchFields on metadata.name narrowing the node
 * list as kube's PreFilterResult does); preferred terms add their weights (score).
 * Not for: pod (anti-)affinity (plugin_interpod.c).
 */
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "scheduler/sched-internal.h"

static bool has_name(const sched_hstr *v, uint32_t n, sched_hstr s)
{
	for (uint32_t i = 0; i < n; i++)
		if (sched_hstr_eq(v[i], s))
			return true;
	return false;
}

/* k8s: the node names a term pins with matchFields metadata.name In (intersected), or
 * false when the term has none (then every node is eligible). */
static bool term_names(const sched_nsterm *t, sched_hstr **out, uint32_t *n)
{
	bool any = false;
	for (uint32_t i = 0; i < t->nfields; i++) {
		const sched_req *r = &t->fields[i];
		if (r->op != SEL_IN)
			continue;
		if (!any) {
			*out = xmalloc((r->nvals + 1) * sizeof(sched_hstr));
			if (r->nvals)
				memcpy(*out, r->vals, r->nvals * sizeof(sched_hstr));
			*n = r->nvals;
			any = true;
			continue;
		}
		uint32_t k = 0;
		for (uint32_t j = 0; j < *n; j++)
			if (has_name(r->vals, r->nvals, (*out)[j]))
				(*out)[k++] = (*out)[j];
		*n = k;
	}
	return any;
}

static int na_prefilter(sched_cycle *c, sched_status *st)
{
	const sched_pod *p = c->pod;
	if (!p->has_required_na && p->n_node_selector == 0)
		return CODE_SKIP;
	if (!p->has_required_na || p->n_na_req == 0)
		return CODE_SUCCESS;
	sched_hstr *names = NULL;
	uint32_t nnames = 0;
	for (uint32_t i = 0; i < p->n_na_req; i++) {
		sched_hstr *tn = NULL;
		uint32_t ntn = 0;
		if (!term_names(&p->na_req[i], &tn, &ntn)) {
			free(names);
			return CODE_SUCCESS; /* terms are ORed: this one allows every node */
		}
		names = xrealloc(names, (nnames + ntn + 1) * sizeof(sched_hstr));
		for (uint32_t j = 0; j < ntn; j++)
			if (!has_name(names, nnames, tn[j]))
				names[nnames++] = tn[j];
		free(tn);
	}
	if (nnames == 0) {
		free(names);
		sched_status_add(c, st, CODE_UNRESOLVABLE, "pod affinity terms conflict");
		return CODE_UNRESOLVABLE;
	}
	c->na_narrowed = true;
	c->na_names = names;
	c->na_nnames = nnames;
	return CODE_SUCCESS;
}

static int na_filter(sched_cycle *c, const sched_ninfo *ni, sched_status *st)
{
	if (sched_pod_matches_node_affinity(c->pod, ni->node))
		return CODE_SUCCESS;
	sched_status_add(c, st, CODE_UNRESOLVABLE,
	                 "node(s) didn't match Pod's node affinity/selector");
	return CODE_UNRESOLVABLE;
}

static bool na_prescore(sched_cycle *c, sched_ninfo *const *nodes, size_t n)
{
	return c->pod->n_na_pref > 0;
}

/* k8s: the sum of the weights of the preferred terms the node matches. */
static int64_t na_score(sched_cycle *c, const sched_ninfo *ni, size_t fi)
{
	int64_t s = 0;
	for (uint32_t i = 0; i < c->pod->n_na_pref; i++)
		if (sched_nsterm_matches(&c->pod->na_pref[i], ni->node))
			s += c->pod->na_pref[i].weight;
	return s;
}

static void na_normalize(sched_cycle *c, int64_t *scores, size_t n)
{
	sched_normalize_default(scores, n, false);
}

const sched_plugin sched_plugin_node_affinity = {
    .name = "NodeAffinity",
    .default_weight = 2,
    .prefilter = na_prefilter,
    .filter = na_filter,
    .prescore = na_prescore,
    .score = na_score,
    .normalize = na_normalize,
};
