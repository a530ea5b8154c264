/* pod.c — sched_pod: the few fields of a v1 Pod the scheduler needs, parsed once into a
 * compact struct (requests summed the kube way, affinity terms with their selectors,
 * tolerations, spread constraints, host ports, images). Not for: validation (the API
 * server's job; malformed terms are dropped as kube's scheduler ignores them).
 */
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/quantity.h"
#include "base/util.h"
#include "scheduler/sched-internal.h"

#define DEFAULT_MILLI_CPU 100                   /* k8s: DefaultMilliCPURequest */
#define DEFAULT_MEMORY    (200LL * 1024 * 1024) /* k8s: DefaultMemoryRequest */
#define RL_MAX            32

/* A resource list being summed (names borrowed from the JSON). */
typedef struct rl {
	int64_t cpu, mem, eph, nz_cpu, nz_mem;
	uint32_t n;
	const char *names[RL_MAX];
	int64_t v[RL_MAX];
} rl;

static int64_t *rl_slot(rl *r, const char *name)
{
	for (uint32_t i = 0; i < r->n; i++)
		if (strcmp(r->names[i], name) == 0)
			return &r->v[i];
	if (r->n == RL_MAX)
		return NULL;
	r->names[r->n] = name;
	r->v[r->n] = 0;
	return &r->v[r->n++];
}

static void rl_add(rl *a, const rl *b)
{
	a->cpu += b->cpu, a->mem += b->mem, a->eph += b->eph;
	a->nz_cpu += b->nz_cpu, a->nz_mem += b->nz_mem;
	for (uint32_t i = 0; i < b->n; i++) {
		int64_t *s = rl_slot(a, b->names[i]);
		if (s)
			*s += b->v[i];
	}
}

#define MAXV(x, y) ((x) > (y) ? (x) : (y))
static void rl_max(rl *a, const rl *b)
{
	a->cpu = MAXV(a->cpu, b->cpu), a->mem = MAXV(a->mem, b->mem);
	a->eph = MAXV(a->eph, b->eph);
	a->nz_cpu = MAXV(a->nz_cpu, b->nz_cpu), a->nz_mem = MAXV(a->nz_mem, b->nz_mem);
	for (uint32_t i = 0; i < b->n; i++) {
		int64_t *s = rl_slot(a, b->names[i]);
		if (s)
			*s = MAXV(*s, b->v[i]);
	}
}

/* Adds one ResourceList (borrowed) to r; skip names already in `except`. */
static int rl_parse(rl *r, json_t *list, json_t *except, bool *has_cpu, bool *has_mem, terr **err)
{
	const char *k;
	json_t *v;
	json_object_foreach(list, k, v) {
		if (except && json_object_get(except, k))
			continue;
		quantity q;
		if (quantity_parse_json(v, &q, err) < 0)
			return terr_wrap(err, "resources[%s]", k);
		if (strcmp(k, "cpu") == 0) {
			r->cpu = quantity_milli(&q);
			*has_cpu = true;
		} else if (strcmp(k, "memory") == 0) {
			r->mem = quantity_value(&q);
			*has_mem = true;
		} else if (strcmp(k, "ephemeral-storage") == 0) {
			r->eph = quantity_value(&q);
		} else {
			int64_t *s = rl_slot(r, k);
			if (s)
				*s = quantity_value(&q);
		}
	}
	return 0;
}

/* k8s: a container's requests, limits standing in for absent requests (as API defaulting
 * does), plus the non-zero cpu/memory scoring uses. */
static int container_rl(json_t *c, rl *r, terr **err)
{
	memset(r, 0, sizeof(*r));
	json_t *res = json_object_get(c, "resources");
	json_t *req = json_object_get(res, "requests");
	json_t *lim = json_object_get(res, "limits");
	bool has_cpu = false, has_mem = false;
	if (json_is_object(req) && rl_parse(r, req, NULL, &has_cpu, &has_mem, err) < 0)
		return -1;
	if (json_is_object(lim) &&
	    rl_parse(r, lim, json_is_object(req) ? req : NULL, &has_cpu, &has_mem, err) < 0)
		return -1;
	r->nz_cpu = has_cpu ? r->cpu : DEFAULT_MILLI_CPU;
	r->nz_mem = has_mem ? r->mem : DEFAULT_MEMORY;
	return 0;
}

/* k8s: resourcehelper.PodRequests — max(sum of containers incl. sidecars, max over init
 * containers of (init + sidecars started before it)) + overhead. */
static int pod_requests(json_t *spec, rl *total, terr **err)
{
	memset(total, 0, sizeof(*total));
	size_t i;
	json_t *c;
	rl cr;
	json_array_foreach(json_object_get(spec, "containers"), i, c) {
		if (container_rl(c, &cr, err) < 0)
			return -1;
		rl_add(total, &cr);
	}
	rl sidecars = {0}, initmax = {0};
	json_array_foreach(json_object_get(spec, "initContainers"), i, c) {
		if (container_rl(c, &cr, err) < 0)
			return -1;
		if (str_eq(json_string_value(json_object_get(c, "restartPolicy")), "Always")) {
			rl_add(total, &cr);
			rl_add(&sidecars, &cr);
			rl_max(&initmax, &sidecars);
		} else {
			rl_add(&cr, &sidecars);
			rl_max(&initmax, &cr);
		}
	}
	rl_max(total, &initmax);
	json_t *ov = json_object_get(spec, "overhead");
	if (json_is_object(ov)) {
		rl o = {0};
		bool hc = false, hm = false;
		if (rl_parse(&o, ov, NULL, &hc, &hm, err) < 0)
			return -1;
		o.nz_cpu = o.cpu;
		o.nz_mem = o.mem;
		rl_add(total, &o);
	}
	return 0;
}

/* k8s: imagelocality normalizedImageName — append ":latest" when no tag. */
static sched_hstr normalized_image(sched_arena *a, const char *img)
{
	const char *colon = strrchr(img, ':'), *slash = strrchr(img, '/');
	if (colon && (!slash || colon > slash))
		return sched_hstr_dup(a, img);
	_cleanup_free_ char *s = xasprintf("%s:latest", img);
	return sched_hstr_dup(a, s);
}

static void parse_containers(sched_pod *p, json_t *spec)
{
	json_t *init = json_object_get(spec, "initContainers");
	json_t *ctrs = json_object_get(spec, "containers");
	size_t ni = json_array_size(init), nc = json_array_size(ctrs);
	p->images = sched_arena_alloc(&p->arena, (ni + nc + 1) * sizeof(sched_hstr));
	size_t nports = 0, i, j;
	json_t *c, *port;
	json_array_foreach(init, i, c) {
		const char *img = json_string_value(json_object_get(c, "image"));
		if (img)
			p->images[p->nimages++] = normalized_image(&p->arena, img);
	}
	json_array_foreach(ctrs, i, c) {
		const char *img = json_string_value(json_object_get(c, "image"));
		if (img)
			p->images[p->nimages++] = normalized_image(&p->arena, img);
		nports += json_array_size(json_object_get(c, "ports"));
	}
	/* k8s: NodePorts looks at the host ports of regular containers. */
	p->ports = sched_arena_alloc(&p->arena, (nports + 1) * sizeof(sched_port));
	json_array_foreach(ctrs, i, c) {
		json_array_foreach(json_object_get(c, "ports"), j, port) {
			json_int_t hp = json_integer_value(json_object_get(port, "hostPort"));
			if (hp <= 0)
				continue;
			const char *ip = json_string_value(json_object_get(port, "hostIP"));
			const char *proto = json_string_value(json_object_get(port, "protocol"));
			sched_port *sp = &p->ports[p->nports++];
			sp->ip = sched_hstr_dup(&p->arena, ip && *ip ? ip : "0.0.0.0");
			sp->port = (int32_t)hp;
			sp->proto = str_eq(proto, "UDP") ? 1 : str_eq(proto, "SCTP") ? 2 : 0;
		}
	}
}

static void parse_tolerations(sched_pod *p, json_t *arr)
{
	size_t i;
	json_t *t;
	p->tols = sched_arena_alloc(&p->arena, (json_array_size(arr) + 1) * sizeof(*p->tols));
	json_array_foreach(arr, i, t) {
		sched_toleration *o = &p->tols[p->ntols++];
		const char *op = json_string_value(json_object_get(t, "operator"));
		const char *val = json_string_value(json_object_get(t, "value"));
		o->key = sched_intern(json_string_value(json_object_get(t, "key")));
		o->value = sched_arena_strdup(&p->arena, val ? val : "");
		o->op = (!op || !*op || strcmp(op, "Equal") == 0) ? TOL_EQUAL
		        : strcmp(op, "Exists") == 0               ? TOL_EXISTS
		                                                  : TOL_BAD;
		o->effect = sched_effect_parse(json_string_value(json_object_get(t, "effect")));
	}
}

/* matchLabelKeys / mismatchLabelKeys: key in / notin (the owner's own value). */
static void merge_label_keys(sched_pod *p, sched_sel *sel, json_t *keys, uint8_t op)
{
	size_t i;
	json_t *k;
	json_array_foreach(keys, i, k) {
		const char *key = json_string_value(k);
		if (!key || sel->nothing)
			continue;
		sched_hstr hk = sched_intern(key);
		const sched_hstr *v = sched_labels_get(&p->labels, hk);
		if (v)
			sched_sel_add(&p->arena, sel, hk, op, *v);
	}
}

/* PodAffinityTerms (weighted: WeightedPodAffinityTerms) of p; bad terms are dropped. */
static void parse_aterms(sched_pod *p, json_t *arr, bool weighted, sched_aterm **out, uint32_t *n)
{
	size_t i, j;
	json_t *e, *ns;
	*out = sched_arena_alloc(&p->arena, (json_array_size(arr) + 1) * sizeof(sched_aterm));
	json_array_foreach(arr, i, e) {
		json_t *term = weighted ? json_object_get(e, "podAffinityTerm") : e;
		sched_aterm *t = &(*out)[*n];
		memset(t, 0, sizeof(*t));
		if (!json_is_object(term) ||
		    sched_sel_from_json(&p->arena, json_object_get(term, "labelSelector"),
		                        &t->sel) < 0)
			continue;
		merge_label_keys(p, &t->sel, json_object_get(term, "matchLabelKeys"), SEL_IN);
		merge_label_keys(p, &t->sel, json_object_get(term, "mismatchLabelKeys"),
		                 SEL_NOT_IN);
		json_t *nss = json_object_get(term, "namespaces");
		t->nss =
		    sched_arena_alloc(&p->arena, (json_array_size(nss) + 1) * sizeof(sched_hstr));
		json_array_foreach(nss, j, ns) {
			if (json_string_value(ns))
				t->nss[t->nns++] = sched_intern(json_string_value(ns));
		}
		json_t *nssel = json_object_get(term, "namespaceSelector");
		if (nssel && !json_is_null(nssel)) {
			if (sched_sel_from_json(&p->arena, nssel, &t->nssel) < 0)
				continue;
			t->has_nssel = true;
		}
		/* k8s: no namespaces and no namespaceSelector means the owner's namespace. */
		if (t->nns == 0 && !t->has_nssel)
			t->nss[t->nns++] = p->ns;
		t->topo = sched_intern(json_string_value(json_object_get(term, "topologyKey")));
		t->weight =
		    weighted ? (int32_t)json_integer_value(json_object_get(e, "weight")) : 0;
		if (weighted && t->weight == 0)
			continue;
		(*n)++;
	}
}

static void parse_affinity(sched_pod *p, json_t *aff)
{
	json_t *na = json_object_get(aff, "nodeAffinity");
	json_t *req = json_object_get(na, "requiredDuringSchedulingIgnoredDuringExecution");
	size_t i;
	json_t *e;
	if (json_is_object(req)) {
		json_t *terms = json_object_get(req, "nodeSelectorTerms");
		p->has_required_na = true;
		p->na_req = sched_arena_alloc(&p->arena,
		                              (json_array_size(terms) + 1) * sizeof(sched_nsterm));
		json_array_foreach(terms, i, e) {
			if (sched_nsterm_from_json(&p->arena, e, &p->na_req[p->n_na_req]) == 0)
				p->n_na_req++;
		}
	}
	json_t *pref = json_object_get(na, "preferredDuringSchedulingIgnoredDuringExecution");
	p->na_pref =
	    sched_arena_alloc(&p->arena, (json_array_size(pref) + 1) * sizeof(sched_nsterm));
	json_array_foreach(pref, i, e) {
		sched_nsterm *t = &p->na_pref[p->n_na_pref];
		int32_t w = (int32_t)json_integer_value(json_object_get(e, "weight"));
		if (w == 0 ||
		    sched_nsterm_from_json(&p->arena, json_object_get(e, "preference"), t) < 0)
			continue;
		t->weight = w;
		p->n_na_pref++;
	}
	json_t *pa = json_object_get(aff, "podAffinity");
	json_t *anti = json_object_get(aff, "podAntiAffinity");
	const char *rq = "requiredDuringSchedulingIgnoredDuringExecution";
	const char *pf = "preferredDuringSchedulingIgnoredDuringExecution";
	parse_aterms(p, json_object_get(pa, rq), false, &p->aff_req, &p->n_aff_req);
	parse_aterms(p, json_object_get(pa, pf), true, &p->aff_pref, &p->n_aff_pref);
	parse_aterms(p, json_object_get(anti, rq), false, &p->anti_req, &p->n_anti_req);
	parse_aterms(p, json_object_get(anti, pf), true, &p->anti_pref, &p->n_anti_pref);
	/* k8s: InterPodAffinity scoring walks NodeInfo.PodsWithAffinity; only these terms of
	 * a placed pod can change another pod's score, so only they count here. */
	p->has_affinity = p->n_aff_req || p->n_aff_pref || p->n_anti_pref;
}

static void parse_spread(sched_pod *p, json_t *arr)
{
	size_t i;
	json_t *e;
	p->spread = sched_arena_alloc(&p->arena, (json_array_size(arr) + 1) * sizeof(sched_spread));
	json_array_foreach(arr, i, e) {
		sched_spread *s = &p->spread[p->nspread];
		if (sched_sel_from_json(&p->arena, json_object_get(e, "labelSelector"), &s->sel) <
		    0)
			continue;
		merge_label_keys(p, &s->sel, json_object_get(e, "matchLabelKeys"), SEL_IN);
		s->max_skew = (int32_t)json_integer_value(json_object_get(e, "maxSkew"));
		s->key = sched_intern(json_string_value(json_object_get(e, "topologyKey")));
		s->hard = !str_eq(json_string_value(json_object_get(e, "whenUnsatisfiable")),
		                  "ScheduleAnyway");
		json_t *md = json_object_get(e, "minDomains");
		s->min_domains = json_is_integer(md) ? (int32_t)json_integer_value(md) : 1;
		/* k8s: nodeAffinityPolicy defaults to Honor, nodeTaintsPolicy to Ignore. */
		s->honor_affinity =
		    !str_eq(json_string_value(json_object_get(e, "nodeAffinityPolicy")), "Ignore");
		s->honor_taints =
		    str_eq(json_string_value(json_object_get(e, "nodeTaintsPolicy")), "Honor");
		p->nspread++;
	}
}

static void parse_start_and_preempted(sched_pod *p, json_t *status)
{
	const char *st = json_string_value(json_object_get(status, "startTime"));
	int64_t t;
	p->start_ns = st && time_parse_rfc3339(st, &t) == 0 ? t : INT64_MAX;
	p->preempted = false;
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(status, "conditions"), i, c) {
		if (str_eq(json_string_value(json_object_get(c, "type")), "DisruptionTarget"))
			p->preempted =
			    str_eq(json_string_value(json_object_get(c, "status")), "True") &&
			    str_eq(json_string_value(json_object_get(c, "reason")),
			           "PreemptionByScheduler");
	}
}

static void parse_status(sched_pod *p, json_t *pod)
{
	json_t *status = json_object_get(pod, "status");
	p->nominated = sched_arena_strdup(
	    &p->arena, json_string_value(json_object_get(status, "nominatedNodeName")));
	parse_start_and_preempted(p, status);
}

bool sched_pod_update_status(sched_pod *p, json_t *pod)
{
	json_t *status = json_object_get(pod, "status");
	const char *nom = json_string_value(json_object_get(status, "nominatedNodeName"));
	if (!str_eq(nom, p->nominated) && (nom || p->nominated))
		return false;
	parse_start_and_preempted(p, status);
	return true;
}

void sched_pod_set_node(sched_pod *p, const char *node)
{
	if (!str_eq(p->node_name, node))
		p->node_name = node && *node ? sched_arena_strdup(&p->arena, node) : NULL;
}

sched_pod *sched_pod_from_json(json_t *pod, terr **err)
{
	/* the struct lives in its own arena, next to its labels: fewer cache misses when
	 * plugins walk the pods of every node */
	sched_arena a = {0};
	sched_pod *p = sched_arena_alloc(&a, sizeof(*p));
	p->arena = a;
	p->refs = 1;
	json_t *meta = json_object_get(pod, "metadata");
	json_t *spec = json_object_get(pod, "spec");
	const char *ns = json_string_value(json_object_get(meta, "namespace"));
	const char *name = json_string_value(json_object_get(meta, "name"));
	const char *uid = json_string_value(json_object_get(meta, "uid"));
	p->ns = sched_intern(ns ? ns : "default");
	p->name = sched_hstr_dup(&p->arena, name ? name : "");
	if (uid && *uid) {
		p->key = sched_arena_strdup(&p->arena, uid);
	} else {
		_cleanup_free_ char *k = xasprintf("%s/%s", p->ns.s, p->name.s);
		p->key = sched_arena_strdup(&p->arena, k);
	}
	sched_labels_from_json(&p->arena, json_object_get(meta, "labels"), &p->labels);
	p->terminating = json_object_get(meta, "deletionTimestamp") &&
	                 !json_is_null(json_object_get(meta, "deletionTimestamp"));
	const char *nn = json_string_value(json_object_get(spec, "nodeName"));
	p->node_name = nn && *nn ? sched_arena_strdup(&p->arena, nn) : NULL;
	const char *sn = json_string_value(json_object_get(spec, "schedulerName"));
	p->scheduler_name = sched_arena_strdup(&p->arena, sn && *sn ? sn : "default-scheduler");
	p->priority = (int32_t)json_integer_value(json_object_get(spec, "priority"));
	p->preempt_never =
	    str_eq(json_string_value(json_object_get(spec, "preemptionPolicy")), "Never");

	rl r;
	if (pod_requests(spec, &r, err) < 0) {
		sched_pod_unref(p);
		return NULL;
	}
	p->cpu = r.cpu, p->mem = r.mem, p->eph = r.eph;
	p->nz_cpu = r.nz_cpu, p->nz_mem = r.nz_mem;
	p->sc = sched_arena_alloc(&p->arena, (r.n + 1) * sizeof(sched_scalar));
	for (uint32_t i = 0; i < r.n; i++)
		if (r.v[i])
			p->sc[p->nsc++] = (sched_scalar){sched_intern(r.names[i]), r.v[i]};

	json_t *nsel = json_object_get(spec, "nodeSelector");
	if (json_is_object(nsel)) {
		p->node_selector =
		    sched_arena_alloc(&p->arena, (json_object_size(nsel) + 1) * sizeof(sched_req));
		const char *k;
		json_t *v;
		json_object_foreach(nsel, k, v) {
			sched_req *rq = &p->node_selector[p->n_node_selector++];
			rq->key = sched_intern(k);
			rq->op = SEL_IN;
			rq->nvals = 1;
			rq->vals = sched_arena_alloc(&p->arena, sizeof(sched_hstr));
			rq->vals[0] = sched_hstr_dup(&p->arena, json_string_value(v));
		}
	}
	parse_affinity(p, json_object_get(spec, "affinity"));
	parse_tolerations(p, json_object_get(spec, "tolerations"));
	parse_spread(p, json_object_get(spec, "topologySpreadConstraints"));
	parse_containers(p, spec);
	size_t i;
	json_t *vol;
	json_array_foreach(json_object_get(spec, "volumes"), i, vol) {
		if (json_object_get(vol, "persistentVolumeClaim") ||
		    json_object_get(vol, "ephemeral"))
			p->has_pvc = true;
	}
	parse_status(p, pod);
	return p;
}

sched_pod *sched_pod_ref(sched_pod *p)
{
	__atomic_add_fetch(&p->refs, 1, __ATOMIC_RELAXED);
	return p;
}

void sched_pod_unref(sched_pod *p)
{
	if (!p || __atomic_sub_fetch(&p->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	sched_arena a = p->arena;
	sched_arena_free(&a);
}

const char *sched_pod_key(const sched_pod *p)
{
	return p->key;
}
const char *sched_pod_name(const sched_pod *p)
{
	return p->name.s;
}
const char *sched_pod_namespace(const sched_pod *p)
{
	return p->ns.s;
}
const char *sched_pod_scheduler_name(const sched_pod *p)
{
	return p->scheduler_name;
}
int32_t sched_pod_priority(const sched_pod *p)
{
	return p->priority;
}

int64_t sched_pod_request(const sched_pod *p, const char *resource)
{
	if (strcmp(resource, "cpu") == 0)
		return p->cpu;
	if (strcmp(resource, "memory") == 0)
		return p->mem;
	if (strcmp(resource, "ephemeral-storage") == 0)
		return p->eph;
	for (uint32_t i = 0; i < p->nsc; i++)
		if (strcmp(p->sc[i].name.s, resource) == 0)
			return p->sc[i].v;
	return 0;
}
