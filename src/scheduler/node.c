/* node.c — sched_node: a v1 Node reduced to what filters and scores read (labels, taints,
 * unschedulable, allocatable resources, images), parsed once. Not for: per-node state that
 * changes with pods (snapshot.c keeps that).
 */
#include <stdlib.h>
#include <string.h>

#include "base/quantity.h"
#include "base/util.h"
#include "scheduler/sched-internal.h"

static int parse_allocatable(sched_node *n, json_t *list, terr **err)
{
	n->sc = sched_arena_alloc(&n->arena, (json_object_size(list) + 1) * sizeof(sched_scalar));
	const char *k;
	json_t *v;
	json_object_foreach(list, k, v) {
		quantity q;
		if (quantity_parse_json(v, &q, err) < 0)
			return terr_wrap(err, "node %s: allocatable[%s]", n->name.s, k);
		if (strcmp(k, "cpu") == 0)
			n->cpu = quantity_milli(&q);
		else if (strcmp(k, "memory") == 0)
			n->mem = quantity_value(&q);
		else if (strcmp(k, "ephemeral-storage") == 0)
			n->eph = quantity_value(&q);
		else if (strcmp(k, "pods") == 0)
			n->pods = quantity_value(&q);
		else
			n->sc[n->nsc++] = (sched_scalar){sched_intern(k), quantity_value(&q)};
	}
	return 0;
}

static int image_cmp(const void *a, const void *b)
{
	const sched_image *x = a, *y = b;
	return x->name.h < y->name.h ? -1 : x->name.h > y->name.h;
}

static void parse_images(sched_node *n, json_t *images)
{
	size_t total = 0, i, j;
	json_t *img, *name;
	json_array_foreach(images, i, img) {
		total += json_array_size(json_object_get(img, "names"));
	}
	n->images = sched_arena_alloc(&n->arena, (total + 1) * sizeof(sched_image));
	json_array_foreach(images, i, img) {
		int64_t size = json_integer_value(json_object_get(img, "sizeBytes"));
		json_array_foreach(json_object_get(img, "names"), j, name) {
			if (json_string_value(name))
				n->images[n->nimages++] = (sched_image){
				    sched_hstr_dup(&n->arena, json_string_value(name)), size};
		}
	}
	qsort(n->images, n->nimages, sizeof(sched_image), image_cmp);
}

/* Zone and region values are few, each shared by many nodes: interned, so that topology
 * pair counts (PodTopologySpread, InterPodAffinity) find them by pointer, not by strcmp
 * at every node. (Hostnames are one per node: copied, like other values.) */
static void intern_zones(sched_labels *l)
{
	sched_hstr zone = sched_intern("topology.kubernetes.io/zone");
	sched_hstr region = sched_intern("topology.kubernetes.io/region");
	for (uint32_t i = 0; i < l->n; i++)
		if (l->v[i].k.s == zone.s || l->v[i].k.s == region.s)
			l->v[i].v = sched_intern(l->v[i].v.s);
}

sched_node *sched_node_from_json(json_t *node, terr **err)
{
	sched_arena a = {0};
	sched_node *n = sched_arena_alloc(&a, sizeof(*n));
	n->arena = a;
	n->refs = 1;
	json_t *meta = json_object_get(node, "metadata");
	json_t *spec = json_object_get(node, "spec");
	json_t *status = json_object_get(node, "status");
	n->name = sched_hstr_dup(&n->arena, json_string_value(json_object_get(meta, "name")));
	sched_labels_from_json(&n->arena, json_object_get(meta, "labels"), &n->labels);
	intern_zones(&n->labels);
	n->unschedulable = json_is_true(json_object_get(spec, "unschedulable"));
	json_t *taints = json_object_get(spec, "taints");
	n->taints =
	    sched_arena_alloc(&n->arena, (json_array_size(taints) + 1) * sizeof(sched_taint));
	size_t i;
	json_t *t;
	json_array_foreach(taints, i, t) {
		const char *val = json_string_value(json_object_get(t, "value"));
		sched_taint *o = &n->taints[n->ntaints++];
		o->key = sched_intern(json_string_value(json_object_get(t, "key")));
		o->value = sched_arena_strdup(&n->arena, val ? val : "");
		o->effect = sched_effect_parse(json_string_value(json_object_get(t, "effect")));
	}
	/* k8s: Node defaulting sets allocatable to capacity when it is missing. */
	json_t *alloc = json_object_get(status, "allocatable");
	if (!json_is_object(alloc))
		alloc = json_object_get(status, "capacity");
	if (json_is_object(alloc) && parse_allocatable(n, alloc, err) < 0) {
		sched_node_unref(n);
		return NULL;
	}
	parse_images(n, json_object_get(status, "images"));
	return n;
}

sched_node *sched_node_ref(sched_node *n)
{
	__atomic_add_fetch(&n->refs, 1, __ATOMIC_RELAXED);
	return n;
}

void sched_node_unref(sched_node *n)
{
	if (!n || __atomic_sub_fetch(&n->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	sched_arena a = n->arena;
	sched_arena_free(&a);
}

const char *sched_node_name(const sched_node *n)
{
	return n->name.s;
}

int64_t sched_node_scalar(const sched_node *n, sched_hstr name)
{
	for (uint32_t i = 0; i < n->nsc; i++)
		if (sched_hstr_eq(n->sc[i].name, name))
			return n->sc[i].v;
	return 0;
}
