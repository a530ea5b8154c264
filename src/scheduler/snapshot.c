/* snapshot.c — the scheduler's view of the cluster: nodes in scan order, the pods placed on
 * each (bound or assumed) with per-node aggregates kept up to date on every add/remove
 * (requested and non-zero requested resources, used host ports, affinity counts), image
 * spread counts and namespace labels. Not for: deciding anything (framework.c).
 */
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "scheduler/sched-internal.h"

struct placement {
	sched_pod *pod;
	sched_ninfo *ni;
};

struct image_count {
	char *name;
	uint32_t nodes;
};

struct ns_entry {
	char *name;
	sched_arena arena;
	sched_labels labels;
};

/* ---- node info aggregates ---- */

static sched_scalar *ni_scalar_slot(sched_ninfo *ni, sched_hstr name)
{
	for (uint32_t i = 0; i < ni->nsc; i++)
		if (sched_hstr_eq(ni->sc[i].name, name))
			return &ni->sc[i];
	if (ni->nsc == ni->capsc) {
		ni->capsc = ni->capsc ? ni->capsc * 2 : 4;
		ni->sc = xrealloc(ni->sc, ni->capsc * sizeof(*ni->sc));
	}
	sched_scalar *s = &ni->sc[ni->nsc++];
	s->name = (sched_hstr){xstrdup(name.s), name.h};
	s->v = 0;
	return s;
}

int64_t sched_ninfo_scalar(const sched_ninfo *ni, sched_hstr name)
{
	for (uint32_t i = 0; i < ni->nsc; i++)
		if (sched_hstr_eq(ni->sc[i].name, name))
			return ni->sc[i].v;
	return 0;
}

static bool port_eq(const sched_port *a, const sched_port *b)
{
	return a->port == b->port && a->proto == b->proto && sched_hstr_eq(a->ip, b->ip);
}

static void ni_ports(sched_ninfo *ni, const sched_pod *p, int sign)
{
	for (uint32_t i = 0; i < p->nports; i++) {
		const sched_port *pp = &p->ports[i];
		uint32_t j = 0;
		while (j < ni->nports && !port_eq(&ni->ports[j].p, pp))
			j++;
		if (sign > 0) {
			if (j == ni->nports) {
				if (ni->nports == ni->capports) {
					ni->capports = ni->capports ? ni->capports * 2 : 4;
					ni->ports =
					    xrealloc(ni->ports, ni->capports * sizeof(*ni->ports));
				}
				ni->ports[j].p = *pp;
				ni->ports[j].p.ip.s = xstrdup(pp->ip.s);
				ni->ports[j].count = 0;
				ni->nports++;
			}
			ni->ports[j].count++;
		} else if (j < ni->nports && --ni->ports[j].count == 0) {
			free((char *)ni->ports[j].p.ip.s);
			ni->ports[j] = ni->ports[--ni->nports];
		}
	}
}

static void ni_account(sched_ninfo *ni, const sched_pod *p, int sign)
{
	ni->cpu += sign * p->cpu;
	ni->mem += sign * p->mem;
	ni->eph += sign * p->eph;
	ni->nz_cpu += sign * p->nz_cpu;
	ni->nz_mem += sign * p->nz_mem;
	for (uint32_t i = 0; i < p->nsc; i++)
		ni_scalar_slot(ni, p->sc[i].name)->v += sign * p->sc[i].v;
	if (p->nports)
		ni_ports(ni, p, sign);
	ni->n_aff += sign * (int)p->has_affinity;
	ni->n_req_anti += sign * (int)(p->n_anti_req > 0);
}

void sched_ninfo_add(sched_ninfo *ni, sched_pod *p)
{
	if (ni->npods == ni->cap) {
		ni->cap = ni->cap ? ni->cap * 2 : 8;
		ni->pods = xrealloc(ni->pods, ni->cap * sizeof(*ni->pods));
	}
	ni->pods[ni->npods++] = p;
	ni->pods_gen++;
	ni_account(ni, p, 1);
}

void sched_ninfo_remove_at(sched_ninfo *ni, uint32_t i)
{
	sched_pod *p = ni->pods[i];
	ni->pods[i] = ni->pods[--ni->npods];
	ni->pods_gen++;
	ni_account(ni, p, -1);
}

void sched_ninfo_clone(const sched_ninfo *src, sched_ninfo *dst)
{
	*dst = *src;
	dst->pods = xmalloc((src->npods + 1) * sizeof(*dst->pods));
	if (src->npods)
		memcpy(dst->pods, src->pods, src->npods * sizeof(*dst->pods));
	dst->cap = src->npods + 1;
	dst->sc = xmalloc((src->nsc + 1) * sizeof(*dst->sc));
	for (uint32_t i = 0; i < src->nsc; i++)
		dst->sc[i] =
		    (sched_scalar){{xstrdup(src->sc[i].name.s), src->sc[i].name.h}, src->sc[i].v};
	dst->capsc = src->nsc + 1;
	dst->ports = xmalloc((src->nports + 1) * sizeof(*dst->ports));
	for (uint32_t i = 0; i < src->nports; i++) {
		dst->ports[i] = src->ports[i];
		dst->ports[i].p.ip.s = xstrdup(src->ports[i].p.ip.s);
	}
	dst->capports = src->nports + 1;
	dst->name = NULL;
	/* Preemption's dry runs do not count nominations (as before: kube's do). */
	dst->nom = NULL;
	dst->nnom = dst->capnom = 0;
}

void sched_ninfo_dispose(sched_ninfo *ni)
{
	for (uint32_t i = 0; i < ni->nsc; i++)
		free((char *)ni->sc[i].name.s);
	for (uint32_t i = 0; i < ni->nports; i++)
		free((char *)ni->ports[i].p.ip.s);
	free(ni->sc);
	free(ni->ports);
	free(ni->pods);
	free(ni->nom);
	free(ni->name);
}

/* ---- snapshot ---- */

sched_snapshot *sched_snapshot_new(void)
{
	sched_snapshot *s = xcalloc(1, sizeof(*s));
	s->seed = 1;
	return s;
}

static void images_account(sched_snapshot *s, const sched_node *n, int sign)
{
	for (uint32_t i = 0; i < n->nimages; i++) {
		const char *name = n->images[i].name.s;
		struct image_count *ic = hmap_get(&s->images, name);
		if (!ic && sign > 0) {
			ic = xcalloc(1, sizeof(*ic));
			ic->name = xstrdup(name);
			hmap_put(&s->images, ic->name, ic);
		}
		if (!ic)
			continue;
		ic->nodes += sign;
		if (ic->nodes == 0) {
			hmap_del(&s->images, ic->name);
			free(ic->name);
			free(ic);
		}
	}
}

static sched_ninfo *ninfo_get(sched_snapshot *s, const char *name)
{
	sched_ninfo *ni = hmap_get(&s->by_name, name);
	if (!ni) {
		ni = xcalloc(1, sizeof(*ni));
		ni->name = xstrdup(name);
		ni->index = -1;
		hmap_put(&s->by_name, ni->name, ni);
	}
	return ni;
}

static void ninfo_maybe_drop(sched_snapshot *s, sched_ninfo *ni)
{
	if (ni->node || ni->npods || ni->nnom)
		return;
	hmap_del(&s->by_name, ni->name);
	sched_ninfo_dispose(ni);
	free(ni);
}

/* A journal of more entries than this starts over (its reader, if any, counts again). */
#define PJ_MAX 4096

static void pj_add(sched_snapshot *s, sched_ninfo *ni, sched_pod *p, int sign)
{
	if (!ni->node)
		return; /* pods of a node not (yet) known count for nothing */
	if (s->pj_n == PJ_MAX)
		sched_snapshot_pj_trim(s, s->pj_base + s->pj_n);
	if (s->pj_n == s->pj_cap) {
		s->pj_cap = s->pj_cap ? s->pj_cap * 2 : 64;
		s->pj = xrealloc(s->pj, s->pj_cap * sizeof(*s->pj));
	}
	sched_node_ref(ni->node);
	sched_pod_ref(p);
	s->pj[s->pj_n++] = (struct sched_pj){ni->node, p, sign};
}

void sched_snapshot_pj_read(sched_snapshot *s, int r, uint64_t seq)
{
	s->pj_read[r] = seq + 1;
	uint64_t min = UINT64_MAX;
	for (size_t i = 0; i < ARRAY_SIZE(s->pj_read); i++)
		if (s->pj_read[i] && s->pj_read[i] - 1 < min)
			min = s->pj_read[i] - 1;
	sched_snapshot_pj_trim(s, min);
}

void sched_snapshot_pj_trim(sched_snapshot *s, uint64_t seq)
{
	if (seq <= s->pj_base)
		return;
	uint64_t drop = seq - s->pj_base;
	if (drop > s->pj_n)
		drop = s->pj_n;
	for (uint32_t i = 0; i < drop; i++) {
		sched_node_unref(s->pj[i].node);
		sched_pod_unref(s->pj[i].pod);
	}
	memmove(s->pj, s->pj + drop, (s->pj_n - drop) * sizeof(*s->pj));
	s->pj_n -= (uint32_t)drop;
	s->pj_base += drop;
}

void sched_snapshot_set_node(sched_snapshot *s, sched_node *n)
{
	sched_ninfo *ni = ninfo_get(s, n->name.s);
	sched_node_ref(n);
	if (ni->node) {
		images_account(s, ni->node, -1);
		sched_node_unref(ni->node);
	}
	ni->node = n;
	images_account(s, n, 1);
	if (ni->index < 0) {
		if (s->n == s->cap) {
			s->cap = s->cap ? s->cap * 2 : 64;
			s->nodes = xrealloc(s->nodes, s->cap * sizeof(*s->nodes));
		}
		ni->index = (int64_t)s->n;
		s->nodes[s->n++] = ni;
	}
	s->gen++;
	s->topo_gen++;
}

int sched_snapshot_remove_node(sched_snapshot *s, const char *name)
{
	sched_ninfo *ni = hmap_get(&s->by_name, name);
	if (!ni || !ni->node)
		return -1;
	images_account(s, ni->node, -1);
	sched_node_unref(ni->node);
	ni->node = NULL;
	for (size_t i = (size_t)ni->index; i + 1 < s->n; i++) {
		s->nodes[i] = s->nodes[i + 1];
		s->nodes[i]->index = (int64_t)i;
	}
	s->n--;
	ni->index = -1;
	if (s->start >= s->n)
		s->start = 0;
	ninfo_maybe_drop(s, ni);
	s->gen++;
	s->topo_gen++;
	return 0;
}

int sched_snapshot_remove_pod(sched_snapshot *s, const char *key)
{
	struct placement *pl = hmap_del(&s->pods, key);
	if (!pl)
		return -1;
	sched_ninfo *ni = pl->ni;
	for (uint32_t i = 0; i < ni->npods; i++) {
		if (ni->pods[i] == pl->pod) {
			sched_ninfo_remove_at(ni, i);
			break;
		}
	}
	pj_add(s, ni, pl->pod, -1);
	s->n_aff -= pl->pod->has_affinity;
	s->n_req_anti -= pl->pod->n_anti_req > 0;
	sched_pod_unref(pl->pod);
	free(pl);
	ninfo_maybe_drop(s, ni);
	s->gen++;
	return 0;
}

static void unnominate(sched_snapshot *s, const char *key);

int sched_snapshot_add_pod(sched_snapshot *s, sched_pod *p, const char *node_name)
{
	const char *name = node_name ? node_name : p->node_name;
	if (!name || !*name)
		return -1;
	sched_pod_ref(p);
	sched_snapshot_remove_pod(s, p->key);
	unnominate(s, p->key); /* k8s: an assumed or bound pod is no longer a nominee */
	struct placement *pl = xmalloc(sizeof(*pl));
	pl->pod = p;
	pl->ni = ninfo_get(s, name);
	sched_ninfo_add(pl->ni, p);
	pj_add(s, pl->ni, p, 1);
	hmap_put(&s->pods, p->key, pl);
	s->n_aff += p->has_affinity;
	s->n_req_anti += p->n_anti_req > 0;
	s->gen++;
	return 0;
}

static void unnominate(sched_snapshot *s, const char *key)
{
	struct placement *pl = hmap_del(&s->nominated, key);
	if (!pl)
		return;
	sched_ninfo *ni = pl->ni;
	for (uint32_t i = 0; i < ni->nnom; i++) {
		if (ni->nom[i] == pl->pod) {
			ni->nom[i] = ni->nom[--ni->nnom];
			break;
		}
	}
	sched_pod_unref(pl->pod);
	free(pl);
	ninfo_maybe_drop(s, ni);
}

void sched_snapshot_nominate(sched_snapshot *s, sched_pod *p, const char *node)
{
	if (node && *node)
		sched_pod_ref(p); /* before unnominate, which may drop the last reference */
	unnominate(s, p->key);
	if (!node || !*node)
		return;
	struct placement *pl = xmalloc(sizeof(*pl));
	pl->pod = p;
	pl->ni = ninfo_get(s, node);
	sched_ninfo *ni = pl->ni;
	if (ni->nnom == ni->capnom) {
		ni->capnom = ni->capnom ? ni->capnom * 2 : 4;
		ni->nom = xrealloc(ni->nom, ni->capnom * sizeof(*ni->nom));
	}
	ni->nom[ni->nnom++] = p;
	hmap_put(&s->nominated, p->key, pl);
	s->gen++;
}

void sched_snapshot_set_namespace(sched_snapshot *s, const char *ns, json_t *labels)
{
	struct ns_entry *e = hmap_get(&s->nss, ns);
	if (e) {
		sched_arena_free(&e->arena);
	} else {
		e = xcalloc(1, sizeof(*e));
		e->name = xstrdup(ns);
		hmap_put(&s->nss, e->name, e);
	}
	sched_labels_from_json(&e->arena, labels, &e->labels);
	s->gen++;
	s->topo_gen++;
}

const sched_labels *sched_snapshot_ns_labels(const sched_snapshot *s, const char *ns)
{
	struct ns_entry *e = hmap_get(&s->nss, ns);
	return e ? &e->labels : NULL;
}

uint32_t sched_snapshot_image_nodes(const sched_snapshot *s, const char *name)
{
	struct image_count *ic = hmap_get(&s->images, name);
	return ic ? ic->nodes : 0;
}

const sched_ninfo *sched_snapshot_find(const sched_snapshot *s, const char *name)
{
	sched_ninfo *ni = hmap_get(&s->by_name, name);
	return ni && ni->node ? ni : NULL;
}

size_t sched_snapshot_node_count(const sched_snapshot *s)
{
	return s->n;
}

const sched_node *sched_snapshot_node(const sched_snapshot *s, size_t i)
{
	return i < s->n ? s->nodes[i]->node : NULL;
}

int sched_snapshot_pod_count(const sched_snapshot *s, const char *name)
{
	const sched_ninfo *ni = sched_snapshot_find(s, name);
	return ni ? (int)ni->npods : -1;
}

void sched_snapshot_set_seed(sched_snapshot *s, uint64_t seed)
{
	s->seed = seed;
}

int sched_snapshot_commit(sched_snapshot *snap, sched_pod *pod, const sched_result *res)
{
	if (!res->node_name)
		return -1;
	size_t next = res->next_start;
	if (sched_snapshot_add_pod(snap, pod, res->node_name) < 0)
		return -1;
	snap->start = snap->n ? next % snap->n : 0;
	return 0;
}

void sched_snapshot_free(sched_snapshot *s)
{
	if (!s)
		return;
	const char *k;
	void *v;
	for (size_t it = 0; hmap_next(&s->pods, &it, &k, &v);) {
		struct placement *pl = v;
		sched_pod_unref(pl->pod);
		free(pl);
	}
	for (size_t it = 0; hmap_next(&s->nominated, &it, &k, &v);) {
		struct placement *pl = v;
		sched_pod_unref(pl->pod);
		free(pl);
	}
	hmap_free(&s->nominated);
	for (size_t it = 0; hmap_next(&s->by_name, &it, &k, &v);) {
		sched_ninfo *ni = v;
		sched_node_unref(ni->node);
		sched_ninfo_dispose(ni);
		free(ni);
	}
	for (size_t it = 0; hmap_next(&s->images, &it, &k, &v);) {
		struct image_count *ic = v;
		free(ic->name);
		free(ic);
	}
	for (size_t it = 0; hmap_next(&s->nss, &it, &k, &v);) {
		struct ns_entry *e = v;
		sched_arena_free(&e->arena);
		free(e->name);
		free(e);
	}
	hmap_free(&s->pods);
	hmap_free(&s->by_name);
	hmap_free(&s->images);
	hmap_free(&s->nss);
	free(s->nodes);
	sched_snapshot_pj_trim(s, s->pj_base + s->pj_n);
	free(s->pj);
	sched_ipa_keep_free(s->ipa);
	sched_spread_keep_free(s->spread_keep[0]);
	sched_spread_keep_free(s->spread_keep[1]);
	for (size_t i = 0; i < ARRAY_SIZE(s->spread_q); i++)
		sched_pod_unref(s->spread_q[i].by);
	free(s);
}
