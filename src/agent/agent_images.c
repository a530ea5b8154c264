/* agent_images.c — image garbage collection by disk usage, kubelet's image GC manager:
 * every 30 s (kubelet: 5 min) a pool job measures the image filesystem; at or above
 * imageGCHighThresholdPercent it removes images no container on the node uses (running or
 * exited: a container the runtime still lists holds its image), least recently used first,
 * skipping those younger than imageMinimumGCAge, until the bytes down to
 * imageGCLowThresholdPercent are freed; then the store drops blobs and layers no image
 * references. "Last used" is the last time a job saw a container on the image, kept in the
 * loop's memory (else the image's pull time), as kubelet keeps it. The order is a pure
 * function for the unit tests. Not for: the store itself (image_store.c) or eviction
 * (agent_evict.c).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "agent/agent-internal.h"
#include "base/json.h"
#include "base/log.h"
#include "base/util.h"

typedef struct by_lru {
	const agent_gc_image *img;
	size_t index;
} by_lru;

static int cmp_lru(const void *a, const void *b)
{
	const agent_gc_image *x = ((const by_lru *)a)->img, *y = ((const by_lru *)b)->img;
	if (x->last_used_ns != y->last_used_ns)
		return x->last_used_ns < y->last_used_ns ? -1 : 1;
	size_t i = ((const by_lru *)a)->index, j = ((const by_lru *)b)->index;
	return i < j ? -1 : i > j;
}

size_t agent_image_gc_plan(const agent_gc_image *imgs, size_t n, int64_t now_ns, int64_t min_age_ns,
                           int64_t to_free, size_t *order, int64_t *freed)
{
	by_lru *v = xcalloc(n ? n : 1, sizeof *v);
	for (size_t i = 0; i < n; i++)
		v[i] = (by_lru){.img = &imgs[i], .index = i};
	qsort(v, n, sizeof *v, cmp_lru);
	size_t k = 0;
	int64_t sum = 0;
	/* k8s: least recently used first; images in use and images younger than the minimum
	 * age stay; stop once enough is freed. */
	for (size_t i = 0; i < n && sum < to_free; i++) {
		const agent_gc_image *g = v[i].img;
		if (g->in_use || now_ns - g->first_seen_ns < min_age_ns)
			continue;
		order[k++] = v[i].index;
		sum += g->size;
	}
	free(v);
	*freed = sum;
	return k;
}

int agent_image_usage(const char *path, int64_t *capacity, int64_t *available)
{
	struct statvfs vfs;
	if (statvfs(path, &vfs) < 0 || !vfs.f_blocks)
		return -1;
	*capacity = (int64_t)vfs.f_blocks * (int64_t)vfs.f_frsize;
	*available = (int64_t)vfs.f_bavail * (int64_t)vfs.f_frsize;
	/* k8s: usagePercent = 100 - available * 100 / capacity */
	return 100 - (int)(*available * 100 / *capacity);
}

json_t *agent_images_gc(agent *a, json_t *last_used, int high, int low, int64_t min_age_s)
{
	int64_t now = time_now_ns();
	/* Images the node's containers use, by image ID (every pass: "last used" must be
	 * known before the disk fills up, as kubelet's image detection runs every period). */
	runtime_status *all = NULL;
	size_t nc = 0;
	runtime_list(a->rt, NULL, &all, &nc, NULL);
	json_t *used = json_object();
	for (size_t i = 0; i < nc; i++) {
		/* The image ID the container was created from; else (older containers) what its
		 * reference names now. */
		const char *id = json_string_value(json_object_get(all[i].annotations, "timon.io/image-id"));
		if (id) {
			json_object_set_new(used, id, json_true());
			json_object_set_new(last_used, id, json_integer(now));
			continue;
		}
		const char *ref = json_string_value(json_object_get(all[i].annotations, "io.kubernetes.container.image"));
		image_info img;
		if (ref && image_store_find(a->images, ref, &img, NULL) == 0) {
			json_object_set_new(used, img.id, json_true());
			json_object_set_new(last_used, img.id, json_integer(now));
			image_info_free(&img);
		}
	}
	runtime_statuses_free(all, nc);
	int64_t cap = 0, avail = 0;
	int usage = agent_image_usage(image_store_root(a->images), &cap, &avail);
	/* k8s: a high threshold of 100 turns image garbage collection off. */
	if (usage < 0 || high >= 100 || usage < high) {
		json_decref(used);
		return NULL;
	}
	int64_t to_free = cap * (100 - low) / 100 - avail;
	json_t *rep = json_pack("{s:i, s:I}", "usage", usage, "amountToFree", (json_int_t)to_free);
	image_info *imgs = NULL;
	size_t n = 0;
	terr *err = NULL;
	if (image_store_list(a->images, &imgs, &n, &err) < 0) {
		json_object_set_new(rep, "error", json_string(err ? err->message : "listing images failed"));
		terr_free(err);
		json_decref(used);
		return rep;
	}
	agent_gc_image *g = xcalloc(n ? n : 1, sizeof *g);
	for (size_t i = 0; i < n; i++) {
		json_t *lu = json_object_get(last_used, imgs[i].id);
		g[i] = (agent_gc_image){
		    .size = imgs[i].size,
		    .first_seen_ns = imgs[i].pulled,
		    .last_used_ns = lu ? json_integer_value(lu) : imgs[i].pulled,
		    .in_use = json_object_get(used, imgs[i].id) != NULL,
		};
	}
	size_t *order = xcalloc(n ? n : 1, sizeof *order);
	int64_t planned = 0;
	size_t k = agent_image_gc_plan(g, n, now, min_age_s * 1000000000LL, to_free, order, &planned);
	json_t *removed = json_array();
	for (size_t i = 0; i < k; i++) {
		image_info *im = &imgs[order[i]];
		terr *re = NULL;
		if (image_store_remove(a->images, im->id, &re) < 0) {
			log_warn("agent: image GC: removing %s: %s", im->id, re ? re->message : "?");
			terr_free(re);
			planned -= im->size;
			continue;
		}
		const char *name = im->n_names ? im->names[0] : im->id;
		json_array_append_new(removed, json_pack("{s:s, s:s, s:I}", "id", im->id, "name", name,
		                                         "size", (json_int_t)im->size));
		json_object_del(last_used, im->id);
	}
	image_gc_stats stats = {0};
	if (json_array_size(removed) && image_store_gc(a->images, false, &stats, &err) < 0) {
		log_warn("agent: image GC: collecting blobs: %s", err ? err->message : "?");
		terr_free(err);
	}
	int64_t cap2 = 0, avail2 = 0;
	agent_image_usage(image_store_root(a->images), &cap2, &avail2);
	json_object_set_new(rep, "removed", removed);
	json_object_set_new(rep, "freed", json_integer(planned));
	json_object_set_new(rep, "blobBytes", json_integer((json_int_t)stats.bytes_removed));
	json_object_set_new(rep, "measured", json_integer(avail2 - avail));
	if (planned < to_free)
		json_object_set_new(rep, "error",
		                    json_sprintf("Failed to garbage collect required amount of images. "
		                                 "Attempted to free %lld bytes, but only found %lld bytes "
		                                 "eligible to free.",
		                                 (long long)to_free, (long long)planned));
	for (size_t i = 0; i < n; i++)
		if (!json_object_get(last_used, imgs[i].id) && json_object_get(used, imgs[i].id))
			json_object_set_new(last_used, imgs[i].id, json_integer(now));
	free(order);
	free(g);
	image_infos_free(imgs, n);
	json_decref(used);
	return rep;
}
