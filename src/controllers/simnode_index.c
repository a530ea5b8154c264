/* simnode_index.c — pods by node name, kept from pod events, so a controller reacting to a
 * node finds that node's pods without listing (and parsing) every pod in the cluster.
 * Not for: anything about what the pods are (the index only knows keys).
 */
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "controllers/simnode-internal.h"

struct sim_node_pods {
	char *node;
	char **keys; /* borrowed from the refs */
	size_t n, cap;
};

struct sim_pod_ref {
	char *key;
	struct sim_node_pods *np;
	size_t pos; /* index in np->keys */
};

static void detach(sim_pod_index *ix, struct sim_pod_ref *ref)
{
	struct sim_node_pods *np = ref->np;
	if (!np)
		return;
	/* Swap the last key into the hole; its ref learns its new position. */
	size_t last = np->n - 1;
	if (ref->pos != last) {
		np->keys[ref->pos] = np->keys[last];
		struct sim_pod_ref *moved = hmap_get(&ix->pods, np->keys[ref->pos]);
		if (moved)
			moved->pos = ref->pos;
	}
	np->n--;
	ref->np = NULL;
	if (!np->n) {
		hmap_del(&ix->nodes, np->node);
		free(np->node);
		free(np->keys);
		free(np);
	}
}

void sim_index_set(sim_pod_index *ix, const char *key, const char *node)
{
	struct sim_pod_ref *ref = hmap_get(&ix->pods, key);
	if (node && !*node)
		node = NULL;
	if (ref && ref->np && node && strcmp(ref->np->node, node) == 0)
		return;
	if (!node) {
		if (ref) {
			detach(ix, ref);
			hmap_del(&ix->pods, ref->key);
			free(ref->key);
			free(ref);
		}
		return;
	}
	if (!ref) {
		ref = xcalloc(1, sizeof *ref);
		ref->key = xstrdup(key);
		hmap_put(&ix->pods, ref->key, ref);
	}
	detach(ix, ref);
	struct sim_node_pods *np = hmap_get(&ix->nodes, node);
	if (!np) {
		np = xcalloc(1, sizeof *np);
		np->node = xstrdup(node);
		hmap_put(&ix->nodes, np->node, np);
	}
	if (np->n == np->cap) {
		np->cap = np->cap ? np->cap * 2 : 8;
		np->keys = xrealloc(np->keys, np->cap * sizeof *np->keys);
	}
	ref->np = np;
	ref->pos = np->n;
	np->keys[np->n++] = ref->key;
}

size_t sim_index_pods(const sim_pod_index *ix, const char *node, const char *const **keys)
{
	struct sim_node_pods *np = node ? hmap_get(&ix->nodes, node) : NULL;
	*keys = np ? (const char *const *)np->keys : NULL;
	return np ? np->n : 0;
}

const char *sim_index_node_of(const sim_pod_index *ix, const char *key)
{
	struct sim_pod_ref *ref = hmap_get(&ix->pods, key);
	return ref && ref->np ? ref->np->node : NULL;
}

size_t sim_index_copy(const sim_pod_index *ix, const char *node, char ***keys)
{
	const char *const *src;
	size_t n = sim_index_pods(ix, node, &src);
	char **out = xcalloc(n ? n : 1, sizeof *out);
	for (size_t i = 0; i < n; i++)
		out[i] = xstrdup(src[i]);
	*keys = out;
	return n;
}

void sim_index_free(sim_pod_index *ix)
{
	size_t it = 0;
	const char *k;
	void *v;
	while (hmap_next(&ix->nodes, &it, &k, &v)) {
		struct sim_node_pods *np = v;
		free(np->node);
		free(np->keys);
		free(np);
	}
	it = 0;
	while (hmap_next(&ix->pods, &it, &k, &v)) {
		struct sim_pod_ref *ref = v;
		free(ref->key);
		free(ref);
	}
	hmap_free(&ix->nodes);
	hmap_free(&ix->pods);
}
