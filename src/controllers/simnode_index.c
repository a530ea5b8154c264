/* simnode_index.c — pods by node name, kept from pod events, so a controller reacting to a
 * node finds that node's pods without listing (and parsing) every pod in the cluster.
 * Not for: anything about what the pods are (the index only knows keys).
 */
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/util.h"
#include "controllers/controller.h"
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

/* ---------- reading a pod's key and node without parsing it ---------- */

/* The serialized objects come from the server's own encoder (compact, keys unescaped), so
 * keys compare byte for byte; values holding a backslash are refused (callers then parse). */

typedef struct want {
	const char *key;
	strv *out;
} want;

/* Walks the members of the object at p; string members named in wants are captured, and
 * object members named "metadata"/"spec" are walked with sub (when given). Returns the
 * position after the object, or NULL when malformed. */
static const char *walk(const char *p, const char *end, const want *wants, size_t nwants,
                        const want *meta, size_t nmeta, const want *spec, size_t nspec)
{
	p = json_skip_ws(p, end);
	if (p >= end || *p != '{')
		return NULL;
	p++;
	for (;;) {
		p = json_skip_ws(p, end);
		if (p < end && *p == '}')
			return p + 1;
		if (p >= end || *p != '"')
			return NULL;
		const char *k = p + 1, *kend = json_skip_string(p, end);
		if (!kend)
			return NULL;
		size_t klen = (size_t)(kend - 1 - k);
		p = json_skip_ws(kend, end);
		if (p >= end || *p != ':')
			return NULL;
		p = json_skip_ws(p + 1, end);
		const char *next = NULL;
		if (p < end && *p == '{' && meta && klen == 8 && memcmp(k, "metadata", 8) == 0)
			next = walk(p, end, meta, nmeta, NULL, 0, NULL, 0);
		else if (p < end && *p == '{' && spec && klen == 4 && memcmp(k, "spec", 4) == 0)
			next = walk(p, end, spec, nspec, NULL, 0, NULL, 0);
		else
			next = json_skip_value(p, end);
		if (!next)
			return NULL;
		for (size_t i = 0; i < nwants; i++) {
			if (p < end && *p == '"' && strlen(wants[i].key) == klen &&
			    memcmp(k, wants[i].key, klen) == 0) {
				const char *v = p + 1;
				size_t vlen = (size_t)(next - 1 - v);
				if (memchr(v, '\\', vlen))
					return NULL;
				*wants[i].out = (strv){v, vlen};
			}
		}
		p = json_skip_ws(next, end);
		if (p < end && *p == ',')
			p++;
	}
}

bool sim_scan_pod(const char *data, size_t len, char *key, size_t keysz, char *node, size_t nodesz)
{
	strv ns = {0}, name = {0}, nn = {0};
	const want meta[] = {{"name", &name}, {"namespace", &ns}};
	const want spec[] = {{"nodeName", &nn}};
	if (!walk(data, data + len, NULL, 0, meta, 2, spec, 1) || !name.n || !ns.n)
		return false;
	if (ns.n + name.n + 2 > keysz || nn.n + 1 > nodesz)
		return false;
	memcpy(key, ns.p, ns.n);
	key[ns.n] = '/';
	memcpy(key + ns.n + 1, name.p, name.n);
	key[ns.n + 1 + name.n] = 0;
	memcpy(node, nn.p ? nn.p : "", nn.n);
	node[nn.n] = 0;
	return true;
}

/* The last answer: the node lifecycle controller, the taint manager and the simulator each
 * ask about every pod event, one after the other in the same delivery. An event is known
 * by its revision and its bytes (an informer's initial list builds events on the stack,
 * so the address alone could repeat). Loop thread only. */
static struct {
	int64_t rev;
	const char *data;
	bool ok;
	char key[320], node[256];
} g_last;

static bool scan_event(const cache_event *ev, char key[320], char node[256]);

bool sim_pod_event_ref(const cache_event *ev, char key[320], char node[256])
{
	if (g_last.data != ev->value->data || g_last.rev != ev->rev) {
		g_last.ok = scan_event(ev, g_last.key, g_last.node);
		g_last.rev = ev->rev;
		g_last.data = ev->value->data;
	}
	if (g_last.ok) {
		memcpy(key, g_last.key, 320);
		memcpy(node, g_last.node, 256);
	}
	return g_last.ok;
}

static bool scan_event(const cache_event *ev, char key[320], char node[256])
{
	/* A tree the event already has (the writer's) answers with two lookups, the storage
	 * key (".../<namespace>/<name>") with the rest; scanning the bytes walks past
	 * managedFields to reach spec. */
	json_t *o = cache_event_obj_parsed(ev);
	const char *first = controller_storage_key_tail(ev->key);
	if (o && first && strlen(first) < 320) {
		const char *nn = json_string_value(json_object_get(json_object_get(o, "spec"), "nodeName"));
		if (!nn || strlen(nn) < 256) {
			strcpy(key, first);
			snprintf(node, 256, "%s", nn ? nn : "");
			return true;
		}
	}
	if (!o && sim_scan_pod(ev->value->data, ev->value->len, key, 320, node, 256))
		return true;
	if (!o)
		o = cache_event_obj(ev);
	const char *ns = json_path_str(o, "metadata.namespace");
	const char *name = json_path_str(o, "metadata.name");
	const char *nn = json_path_str(o, "spec.nodeName");
	bool ok = ns && name && strlen(ns) + strlen(name) + 2 <= 320 && (!nn || strlen(nn) < 256);
	if (ok) {
		size_t a = strlen(ns), b = strlen(name), c = nn ? strlen(nn) : 0;
		memcpy(key, ns, a);
		key[a] = '/';
		memcpy(key + a + 1, name, b + 1);
		memcpy(node, nn ? nn : "", c);
		node[c] = 0;
	}
	return ok;
}
