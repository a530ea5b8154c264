/* labels.c — compact labels and the matching rules of the scheduler: label selectors,
 * node selector terms (k8s: nodeaffinity's NodeSelector), taints and tolerations, and
 * pod affinity terms. Parsing validates with api/selector.c's rules; matching never
 * touches JSON. Not for: the string form of selectors (api/selector.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/selector.h"
#include "base/util.h"
#include "scheduler/sched-internal.h"

void sched_labels_from_json(sched_arena *a, json_t *obj, sched_labels *out)
{
	out->v = NULL;
	out->n = 0;
	if (!json_is_object(obj) || json_object_size(obj) == 0)
		return;
	out->v = sched_arena_alloc(a, json_object_size(obj) * sizeof(sched_label));
	const char *k;
	json_t *v;
	json_object_foreach(obj, k, v) {
		if (!json_is_string(v))
			continue;
		out->v[out->n].k = sched_intern(k);
		out->v[out->n].v = sched_hstr_dup(a, json_string_value(v));
		out->n++;
	}
}

/* k8s: strconv.ParseInt(v, 10, 64) as used by Gt / Lt. */
static bool parse_int64(const char *s, int64_t *out)
{
	if (!s || !*s)
		return false;
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end || s[0] == ' ' || s[0] == '\t' || s[0] == '\n')
		return false;
	*out = v;
	return true;
}

bool sched_req_matches(const sched_req *r, const sched_hstr *val)
{
	switch (r->op) {
	case SEL_EXISTS:
		return val != NULL;
	case SEL_NOT_EXISTS:
		return val == NULL;
	case SEL_GT:
	case SEL_LT: {
		int64_t n;
		if (!val || !parse_int64(val->s, &n))
			return false;
		return r->op == SEL_GT ? n > r->num : n < r->num;
	}
	default:
		break;
	}
	bool in = false;
	if (val)
		for (uint32_t i = 0; i < r->nvals && !in; i++)
			in = sched_hstr_eq(r->vals[i], *val);
	return r->op == SEL_IN ? in : !in;
}

bool sched_sel_equal(const sched_sel *a, const sched_sel *b)
{
	if (a->n != b->n || a->nothing != b->nothing)
		return false;
	for (uint32_t i = 0; i < a->n; i++) {
		const sched_req *x = &a->reqs[i], *y = &b->reqs[i];
		if (!sched_hstr_eq(x->key, y->key) || x->op != y->op || x->nvals != y->nvals ||
		    x->num != y->num)
			return false;
		for (uint32_t j = 0; j < x->nvals; j++)
			if (!sched_hstr_eq(x->vals[j], y->vals[j]))
				return false;
	}
	return true;
}

bool sched_sel_matches(const sched_sel *s, const sched_labels *l)
{
	if (s->nothing)
		return false;
	for (uint32_t i = 0; i < s->n; i++)
		if (!sched_req_matches(&s->reqs[i], sched_labels_get(l, s->reqs[i].key)))
			return false;
	return true;
}

int sched_sel_from_json(sched_arena *a, json_t *sel, sched_sel *out)
{
	memset(out, 0, sizeof(*out));
	if (!sel || json_is_null(sel)) {
		out->nothing = true;
		return 0;
	}
	terr *err = NULL;
	label_selector *ls = label_selector_from_json(sel, &err);
	if (!ls) {
		terr_free(err);
		out->nothing = true;
		return -1;
	}
	out->reqs = sched_arena_alloc(a, (ls->n ? ls->n : 1) * sizeof(sched_req));
	for (size_t i = 0; i < ls->n; i++) {
		const label_req *lr = &ls->reqs[i];
		sched_req *r = &out->reqs[out->n++];
		r->key = sched_intern(lr->key);
		switch (lr->op) {
		case LABEL_OP_NOT_IN:
		case LABEL_OP_NEQ:
			r->op = SEL_NOT_IN;
			break;
		case LABEL_OP_EXISTS:
			r->op = SEL_EXISTS;
			break;
		case LABEL_OP_NOT_EXISTS:
			r->op = SEL_NOT_EXISTS;
			break;
		case LABEL_OP_GT:
		case LABEL_OP_LT:
			r->op = lr->op == LABEL_OP_GT ? SEL_GT : SEL_LT;
			if (lr->nvalues != 1 || !parse_int64(lr->values[0], &r->num))
				out->nothing = true;
			break;
		default:
			r->op = SEL_IN;
			break;
		}
		r->nvals = (uint32_t)lr->nvalues;
		r->vals =
		    sched_arena_alloc(a, (lr->nvalues ? lr->nvalues : 1) * sizeof(sched_hstr));
		for (size_t j = 0; j < lr->nvalues; j++)
			r->vals[j] = sched_hstr_dup(a, lr->values[j]);
	}
	label_selector_free(ls);
	return 0;
}

void sched_sel_add(sched_arena *a, sched_sel *s, sched_hstr key, uint8_t op, sched_hstr val)
{
	sched_req *reqs = sched_arena_alloc(a, (s->n + 1) * sizeof(sched_req));
	if (s->n)
		memcpy(reqs, s->reqs, s->n * sizeof(sched_req));
	sched_req *r = &reqs[s->n];
	r->key = key;
	r->op = op;
	r->nvals = 1;
	r->vals = sched_arena_alloc(a, sizeof(sched_hstr));
	r->vals[0] = val;
	s->reqs = reqs;
	s->n++;
}

/* ---- node selector terms (k8s: component-helpers nodeaffinity) ---- */

/* One NodeSelectorRequirement of matchExpressions; -1 when kube's parser rejects it. */
static int ns_req_from_json(sched_arena *a, json_t *e, sched_req *r)
{
	const char *key = json_string_value(json_object_get(e, "key"));
	const char *op = json_string_value(json_object_get(e, "operator"));
	json_t *vals = json_object_get(e, "values");
	size_t nv = json_is_array(vals) ? json_array_size(vals) : 0;
	if (!key || !op)
		return -1;
	_cleanup_free_ char *kp = label_key_problems(key);
	if (kp)
		return -1;
	if (str_eq(op, "In") || str_eq(op, "NotIn")) {
		r->op = str_eq(op, "In") ? SEL_IN : SEL_NOT_IN;
		if (nv == 0)
			return -1;
	} else if (str_eq(op, "Exists") || str_eq(op, "DoesNotExist")) {
		r->op = str_eq(op, "Exists") ? SEL_EXISTS : SEL_NOT_EXISTS;
		if (nv != 0)
			return -1;
	} else if (str_eq(op, "Gt") || str_eq(op, "Lt")) {
		r->op = str_eq(op, "Gt") ? SEL_GT : SEL_LT;
		if (nv != 1 || !parse_int64(json_string_value(json_array_get(vals, 0)), &r->num))
			return -1;
	} else {
		return -1;
	}
	r->key = sched_intern(key);
	r->nvals = (uint32_t)nv;
	r->vals = sched_arena_alloc(a, (nv ? nv : 1) * sizeof(sched_hstr));
	for (size_t i = 0; i < nv; i++) {
		const char *v = json_string_value(json_array_get(vals, i));
		if (!v)
			return -1;
		if (r->op == SEL_IN || r->op == SEL_NOT_IN) {
			_cleanup_free_ char *vp = label_value_problems(v);
			if (vp)
				return -1;
		}
		r->vals[i] = sched_hstr_dup(a, v);
	}
	return 0;
}

/* One matchFields requirement: only metadata.name with In / NotIn and one value. */
static int ns_field_from_json(sched_arena *a, json_t *e, sched_req *r)
{
	const char *key = json_string_value(json_object_get(e, "key"));
	const char *op = json_string_value(json_object_get(e, "operator"));
	json_t *vals = json_object_get(e, "values");
	if (!str_eq(key, "metadata.name") || !json_is_array(vals) || json_array_size(vals) != 1)
		return -1;
	if (str_eq(op, "In"))
		r->op = SEL_IN;
	else if (str_eq(op, "NotIn"))
		r->op = SEL_NOT_IN;
	else
		return -1;
	const char *v = json_string_value(json_array_get(vals, 0));
	if (!v)
		return -1;
	r->key = sched_hstr_dup(a, key);
	r->nvals = 1;
	r->vals = sched_arena_alloc(a, sizeof(sched_hstr));
	r->vals[0] = sched_hstr_dup(a, v);
	return 0;
}

int sched_nsterm_from_json(sched_arena *a, json_t *term, sched_nsterm *out)
{
	memset(out, 0, sizeof(*out));
	json_t *me = json_object_get(term, "matchExpressions");
	json_t *mf = json_object_get(term, "matchFields");
	size_t ne = json_is_array(me) ? json_array_size(me) : 0;
	size_t nf = json_is_array(mf) ? json_array_size(mf) : 0;
	if (ne + nf == 0)
		return -1; /* k8s: an empty term selects no objects */
	out->exprs = sched_arena_alloc(a, (ne ? ne : 1) * sizeof(sched_req));
	out->fields = sched_arena_alloc(a, (nf ? nf : 1) * sizeof(sched_req));
	for (size_t i = 0; i < ne; i++)
		if (ns_req_from_json(a, json_array_get(me, i), &out->exprs[out->nexprs++]) < 0)
			return -1;
	for (size_t i = 0; i < nf; i++)
		if (ns_field_from_json(a, json_array_get(mf, i), &out->fields[out->nfields++]) < 0)
			return -1;
	return 0;
}

bool sched_nsterm_matches(const sched_nsterm *t, const sched_node *n)
{
	for (uint32_t i = 0; i < t->nexprs; i++)
		if (!sched_req_matches(&t->exprs[i], sched_labels_get(&n->labels, t->exprs[i].key)))
			return false;
	for (uint32_t i = 0; i < t->nfields; i++)
		if (!sched_req_matches(&t->fields[i], &n->name))
			return false;
	return true;
}

/* k8s: GetRequiredNodeAffinity(pod).Match(node): nodeSelector AND any required term. */
bool sched_pod_matches_node_affinity(const sched_pod *p, const sched_node *n)
{
	for (uint32_t i = 0; i < p->n_node_selector; i++)
		if (!sched_req_matches(&p->node_selector[i],
		                       sched_labels_get(&n->labels, p->node_selector[i].key)))
			return false;
	if (!p->has_required_na)
		return true;
	for (uint32_t i = 0; i < p->n_na_req; i++)
		if (sched_nsterm_matches(&p->na_req[i], n))
			return true;
	return false;
}

/* ---- taints and tolerations ---- */

uint8_t sched_effect_parse(const char *s)
{
	if (!s || !*s)
		return EFFECT_ANY;
	if (strcmp(s, "NoSchedule") == 0)
		return EFFECT_NO_SCHEDULE;
	if (strcmp(s, "PreferNoSchedule") == 0)
		return EFFECT_PREFER_NO_SCHEDULE;
	if (strcmp(s, "NoExecute") == 0)
		return EFFECT_NO_EXECUTE;
	return EFFECT_OTHER;
}

/* k8s: Toleration.ToleratesTaint — effect and key match when set; Exists ignores the
 * value; Equal (or empty) compares it. */
static bool tolerates_one(const sched_toleration *t, const sched_taint *taint)
{
	if (t->effect != EFFECT_ANY && t->effect != taint->effect)
		return false;
	if (t->key.s[0] && !sched_hstr_eq(t->key, taint->key))
		return false;
	if (t->op == TOL_EXISTS)
		return true;
	if (t->op == TOL_EQUAL)
		return strcmp(t->value, taint->value) == 0;
	return false;
}

bool sched_tolerates(const sched_toleration *tols, uint32_t n, const sched_taint *t)
{
	for (uint32_t i = 0; i < n; i++)
		if (tolerates_one(&tols[i], t))
			return true;
	return false;
}

/* k8s: FindMatchingUntoleratedTaint with DoNotScheduleTaintsFilterFunc. */
const sched_taint *sched_untolerated(const sched_pod *p, const sched_node *n)
{
	for (uint32_t i = 0; i < n->ntaints; i++) {
		const sched_taint *t = &n->taints[i];
		if (t->effect != EFFECT_NO_SCHEDULE && t->effect != EFFECT_NO_EXECUTE)
			continue;
		if (!sched_tolerates(p->tols, p->ntols, t))
			return t;
	}
	return NULL;
}

/* ---- pod affinity terms ---- */

/* k8s: AffinityTerm.Matches: the pod's namespace is listed or selected, and its labels
 * match. */
bool sched_aterm_matches(const sched_aterm *t, const sched_pod *p, const sched_snapshot *s)
{
	bool ns = false;
	for (uint32_t i = 0; i < t->nns && !ns; i++)
		ns = sched_hstr_eq(t->nss[i], p->ns);
	if (!ns && t->has_nssel) {
		static const sched_labels none = {0};
		const sched_labels *nsl = sched_snapshot_ns_labels(s, p->ns.s);
		ns = sched_sel_matches(&t->nssel, nsl ? nsl : &none);
	}
	return ns && sched_sel_matches(&t->sel, &p->labels);
}
