/* framework.c — one scheduling cycle (k8s: schedulePod): pre-filter, filter the nodes from
 * the rotating start index until percentageOfNodesToScore feasible ones are found, score
 * them with the weighted plugins, pick the best (random among ties), or explain the
 * failure. The plugin tables below fix kube's default-profile order and weights.
 * Not for: the plugins' rules (plugin_*.c) or preemption (preempt.c).
 */
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/util.h"
#include "scheduler/sched-internal.h"

/* k8s: default plugins, in the order the default profile runs their filters. */
static const sched_plugin *const filter_plugins[] = {
    &sched_plugin_node_unschedulable,
    &sched_plugin_node_name,
    &sched_plugin_taints,
    &sched_plugin_node_affinity,
    &sched_plugin_node_ports,
    &sched_plugin_fit,
    &sched_plugin_volumes,
    &sched_plugin_spread,
    &sched_plugin_interpod,
};

/* ...and their scores (default weights live in each plugin). */
static const sched_plugin *const score_plugins[] = {
    &sched_plugin_taints,   &sched_plugin_node_affinity, &sched_plugin_fit,    &sched_plugin_spread,
    &sched_plugin_interpod, &sched_plugin_balanced,      &sched_plugin_images,
};

#define MIN_FEASIBLE_NODES      100 /* k8s: minFeasibleNodesToFind */
#define MIN_FEASIBLE_PERCENTAGE 5   /* k8s: minFeasibleNodesPercentageToFind */

static const sched_resource_weight default_fit_resources[] = {{"cpu", 1}, {"memory", 1}};

uint64_t sched_rand(sched_cycle *c)
{
	/* splitmix64 */
	uint64_t z = (c->rng += 0x9E3779B97F4A7C15ULL);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

void sched_cycle_init(sched_cycle *c, const sched_snapshot *snap, const sched_pod *pod,
                      const sched_profile *prof, sched_result *out)
{
	memset(c, 0, sizeof(*c));
	c->snap = snap;
	c->pod = pod;
	c->prof = prof ? prof : &sched_profile_default;
	c->out = out;
	c->rng = snap->seed ^ sched_hash(pod->key) ^ (snap->gen * 0x2545F4914F6CDD1DULL);
	c->pod_ns_labels = sched_snapshot_ns_labels(snap, pod->ns.s);
	const sched_resource_weight *res = c->prof->resources;
	size_t nres = c->prof->nresources;
	if (!res) {
		res = default_fit_resources;
		nres = ARRAY_SIZE(default_fit_resources);
	}
	c->fres = xmalloc((nres + 1) * sizeof(*c->fres));
	c->nfres = nres;
	for (size_t i = 0; i < nres; i++) {
		sched_fitres *f = &c->fres[i];
		f->name = sched_intern(res[i].name);
		f->weight = res[i].weight;
		f->kind = strcmp(f->name.s, "cpu") == 0                 ? RES_CPU
		          : strcmp(f->name.s, "memory") == 0            ? RES_MEM
		          : strcmp(f->name.s, "ephemeral-storage") == 0 ? RES_EPH
		                                                        : RES_SCALAR;
		f->pod_nz = f->kind == RES_CPU   ? pod->nz_cpu
		            : f->kind == RES_MEM ? pod->nz_mem
		                                 : sched_pod_request(pod, f->name.s);
	}
}

void sched_cycle_dispose(sched_cycle *c)
{
	if (!c->ipa_borrowed) {
		sched_tpmap_free(&c->ipa_existing_anti);
		sched_tpmap_free(&c->ipa_aff);
		sched_tpmap_free(&c->ipa_anti);
	}
	sched_tpmap_free(&c->ipa_score);
	for (uint32_t i = 0; i < c->nspread; i++)
		sched_tpmap_free(&c->spread[i].counts);
	for (uint32_t i = 0; i < c->nsspread; i++)
		sched_tpmap_free(&c->sspread[i].counts);
	sched_tpmap_free(&c->sspread_counts);
	free(c->spread);
	free(c->sspread);
	free(c->sspread_w);
	free(c->sspread_ignored);
	free(c->img_nodes);
	free(c->na_names);
	free(c->fres);
}

int sched_run_prefilters(sched_cycle *c, sched_status *st)
{
	int ret = CODE_SUCCESS;
	memset(st, 0, sizeof(*st));
	c->nfilters = 0;
	for (size_t i = 0; i < ARRAY_SIZE(filter_plugins); i++) {
		const sched_plugin *p = filter_plugins[i];
		if (!p->filter)
			continue;
		int code = p->prefilter ? p->prefilter(c, st) : CODE_SUCCESS;
		if (code == CODE_SKIP)
			continue;
		/* k8s: Unresolvable stops the pre-filters; Unschedulable lets the rest run. */
		if (code == CODE_UNRESOLVABLE)
			return code;
		if (code == CODE_UNSCHEDULABLE)
			ret = code;
		c->filters[c->nfilters++] = p;
	}
	return ret;
}

int sched_run_filters(sched_cycle *c, const sched_ninfo *ni, sched_status *st)
{
	st->code = CODE_SUCCESS;
	st->n = 0;
	for (uint32_t i = 0; i < c->nfilters; i++) {
		int code = c->filters[i]->filter(c, ni, st);
		if (code != CODE_SUCCESS) {
			if (code > st->code)
				st->code = (uint8_t)code;
			return st->code;
		}
	}
	return CODE_SUCCESS;
}

void sched_cycle_add_pod(sched_cycle *c, const sched_ninfo *ni, const sched_pod *p, int sign)
{
	for (uint32_t i = 0; i < c->nfilters; i++)
		if (c->filters[i]->add_pod)
			c->filters[i]->add_pod(c, ni, p, sign);
}

/* k8s: numFeasibleNodesToFind. */
static size_t nodes_to_find(int percentage, size_t n)
{
	if (n < MIN_FEASIBLE_NODES)
		return n;
	long pct = percentage;
	if (pct <= 0) {
		pct = 50 - (long)(n / 125);
		if (pct < MIN_FEASIBLE_PERCENTAGE)
			pct = MIN_FEASIBLE_PERCENTAGE;
	}
	size_t num = n * (size_t)pct / 100;
	return num < MIN_FEASIBLE_NODES ? MIN_FEASIBLE_NODES : num;
}

static int plugin_weight(const sched_profile *prof, const sched_plugin *p)
{
	for (size_t i = 0; i < prof->nweights; i++)
		if (strcmp(prof->weights[i].plugin, p->name) == 0)
			return prof->weights[i].weight;
	return p->default_weight;
}

struct scratch {
	size_t cap;
	sched_ninfo **feasible;
	int64_t *total, *s;
};

void sched_scratch_free(void *p)
{
	struct scratch *sc = p;
	if (!sc)
		return;
	free(sc->feasible);
	free(sc->total);
	free(sc->s);
	free(sc);
}

static struct scratch *scratch_get(sched_result *out, size_t n)
{
	struct scratch *sc = out->scratch;
	if (!sc)
		sc = out->scratch = xcalloc(1, sizeof(*sc));
	if (sc->cap < n + 1) {
		sc->cap = (n + 1) * 2;
		sc->feasible = xrealloc(sc->feasible, sc->cap * sizeof(*sc->feasible));
		sc->total = xrealloc(sc->total, sc->cap * sizeof(*sc->total));
		sc->s = xrealloc(sc->s, sc->cap * sizeof(*sc->s));
	}
	return sc;
}

/* k8s: prioritizeNodes + selecting the highest total, random among equals. */
static size_t prioritize(sched_cycle *c, struct scratch *sc, size_t nf)
{
	memset(sc->total, 0, nf * sizeof(*sc->total));
	for (size_t i = 0; i < ARRAY_SIZE(score_plugins); i++) {
		const sched_plugin *p = score_plugins[i];
		int w = plugin_weight(c->prof, p);
		if (w == 0 || !p->score)
			continue;
		if (p->prescore && !p->prescore(c, sc->feasible, nf))
			continue;
		for (size_t j = 0; j < nf; j++)
			sc->s[j] = p->score(c, sc->feasible[j], j);
		if (p->normalize)
			p->normalize(c, sc->s, nf);
		for (size_t j = 0; j < nf; j++)
			sc->total[j] += sc->s[j] * w;
	}
	size_t best = 0, ties = 1;
	for (size_t j = 1; j < nf; j++) {
		if (sc->total[j] > sc->total[best]) {
			best = j;
			ties = 1;
		} else if (sc->total[j] == sc->total[best] && sched_rand(c) % ++ties == 0) {
			best = j;
		}
	}
	return best;
}

static char *join_reasons(const sched_result *r, const sched_status *st)
{
	_cleanup_buf_ buf b = {0};
	for (uint16_t i = 0; i < st->n; i++) {
		if (i)
			buf_puts(&b, ", ");
		buf_puts(&b, r->reasons[st->reasons[i]]);
	}
	return b.p ? buf_take(&b) : xstrdup("");
}

static int choose(sched_result *out, const sched_ninfo *ni, int64_t score)
{
	out->node_name = ni->node->name.s;
	out->node_index = (size_t)ni->index;
	out->score = score;
	return SCHED_OK;
}

int sched_schedule(const sched_snapshot *snap, const sched_pod *pod, const sched_profile *prof,
                   sched_result *out)
{
	sched_result_reset(out);
	size_t nall = snap->n;
	out->next_start = snap->start;
	if (nall == 0) {
		out->message = xstrdup("no nodes available to schedule pods");
		return SCHED_UNSCHEDULABLE;
	}
	sched_cycle c;
	sched_cycle_init(&c, snap, pod, prof, out);
	sched_status st;
	int code = sched_run_prefilters(&c, &st);
	if (code != CODE_SUCCESS) {
		/* k8s: every node gets the pre-filter status; the message is its text. */
		out->prefilter_msg = join_reasons(out, &st);
		out->absent_code = (uint8_t)code;
		out->message = sched_fit_message(out, nall, out->prefilter_msg, NULL);
		sched_cycle_dispose(&c);
		return SCHED_UNSCHEDULABLE;
	}
	/* k8s: try the nominated node (set by an earlier preemption) first. */
	if (pod->nominated && *pod->nominated) {
		const sched_ninfo *ni = sched_snapshot_find(snap, pod->nominated);
		if (ni && sched_run_filters(&c, ni, &st) == CODE_SUCCESS) {
			out->feasible = out->evaluated = 1;
			sched_cycle_dispose(&c);
			return choose(out, ni, 0);
		}
	}
	struct scratch *sc = scratch_get(out, nall);
	sched_ninfo *const *list = snap->nodes;
	size_t nlist = nall;
	sched_ninfo **narrowed = NULL;
	const char *absent = NULL;
	if (c.na_narrowed) {
		narrowed = xmalloc((c.na_nnames + 1) * sizeof(*narrowed));
		nlist = 0;
		for (uint32_t i = 0; i < c.na_nnames; i++) {
			const sched_ninfo *ni = sched_snapshot_find(snap, c.na_names[i].s);
			if (ni)
				narrowed[nlist++] = (sched_ninfo *)ni;
		}
		list = narrowed;
		absent = "node(s) didn't satisfy plugin(s) [NodeAffinity]";
		out->absent_reason = sched_result_reason(out, absent) + 1u;
		out->absent_code = CODE_UNRESOLVABLE;
	}
	size_t want = nodes_to_find(c.prof->percentage_of_nodes_to_score, nlist);
	size_t nf = 0, start = nlist ? snap->start % nlist : 0;
	for (size_t i = 0; i < nlist && nf < want; i++) {
		sched_ninfo *ni = list[(start + i) % nlist];
		if (sched_run_filters(&c, ni, &st) == CODE_SUCCESS)
			sc->feasible[nf++] = ni;
		else
			sched_result_record(out, (size_t)ni->index, &st);
	}
	out->feasible = nf;
	out->evaluated = nf + out->nstatus;
	out->next_start = (snap->start + out->evaluated) % nall;
	int ret;
	if (nf == 0) {
		out->message = sched_fit_message(out, nall, NULL, absent);
		ret = SCHED_UNSCHEDULABLE;
	} else if (nf == 1) {
		ret = choose(out, sc->feasible[0], 0);
	} else {
		size_t best = prioritize(&c, sc, nf);
		ret = choose(out, sc->feasible[best], sc->total[best]);
	}
	free(narrowed);
	sched_cycle_dispose(&c);
	return ret;
}

/* ---- score helpers ---- */

void sched_normalize_default(int64_t *scores, size_t n, bool reverse)
{
	int64_t max = 0;
	for (size_t i = 0; i < n; i++)
		if (scores[i] > max)
			max = scores[i];
	if (max == 0) {
		if (reverse)
			for (size_t i = 0; i < n; i++)
				scores[i] = SCHED_MAX_NODE_SCORE;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		int64_t s = SCHED_MAX_NODE_SCORE * scores[i] / max;
		scores[i] = reverse ? SCHED_MAX_NODE_SCORE - s : s;
	}
}

/* ---- profiles ---- */

static const sched_resource_weight binpack_resources[] = {
    {"cpu", 1}, {"memory", 1}, {"nvidia.com/gpu", 1}};

const sched_profile sched_profile_default = {
    .scheduler_name = "default-scheduler",
    .strategy = SCHED_LEAST_ALLOCATED,
};

const sched_profile sched_profile_binpack = {
    .scheduler_name = "timon-binpack",
    .strategy = SCHED_MOST_ALLOCATED,
    .resources = binpack_resources,
    .nresources = ARRAY_SIZE(binpack_resources),
};

static const sched_profile *const builtin_profiles[] = {&sched_profile_default,
                                                        &sched_profile_binpack};

const sched_profile *sched_profile_find(const sched_profile *const *table, size_t n,
                                        const char *scheduler_name)
{
	if (!table) {
		table = builtin_profiles;
		n = ARRAY_SIZE(builtin_profiles);
	}
	if (!scheduler_name || !*scheduler_name)
		scheduler_name = "default-scheduler";
	for (size_t i = 0; i < n; i++)
		if (strcmp(table[i]->scheduler_name, scheduler_name) == 0)
			return table[i];
	return NULL;
}
