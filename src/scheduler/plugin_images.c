/* plugin_images.c — ImageLocality: favours nodes that already hold the pod's images, each
 * image's size scaled by how widely it has spread (to avoid piling onto one node). Score
 * only. Not for: pulling images (the agent).
 */
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "scheduler/sched-internal.h"

#define MB                      (1024LL * 1024)
#define MIN_THRESHOLD           (23 * MB)   /* k8s: minThreshold */
#define MAX_CONTAINER_THRESHOLD (1000 * MB) /* k8s: maxContainerThreshold */

static bool images_prescore(sched_cycle *c, sched_ninfo *const *nodes, size_t n)
{
	const sched_pod *p = c->pod;
	if (p->nimages == 0)
		return false;
	free(c->img_nodes);
	c->img_nodes = xcalloc(p->nimages, sizeof(*c->img_nodes));
	bool any = false;
	for (uint32_t i = 0; i < p->nimages; i++) {
		c->img_nodes[i] = sched_snapshot_image_nodes(c->snap, p->images[i].s);
		any |= c->img_nodes[i] > 0;
	}
	return any; /* no node has any image: every node scores 0 */
}

static const sched_image *node_image(const sched_node *n, sched_hstr name)
{
	size_t lo = 0, hi = n->nimages;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (n->images[mid].name.h < name.h)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < n->nimages && n->images[lo].name.h == name.h; lo++)
		if (strcmp(n->images[lo].name.s, name.s) == 0)
			return &n->images[lo];
	return NULL;
}

/* k8s: sumImageScores then calculatePriority with thresholds scaled by container count. */
static int64_t images_score(sched_cycle *c, const sched_ninfo *ni, size_t fi)
{
	const sched_pod *p = c->pod;
	int64_t sum = 0;
	double total = (double)c->snap->n;
	for (uint32_t i = 0; i < p->nimages; i++) {
		if (!c->img_nodes[i])
			continue;
		const sched_image *img = node_image(ni->node, p->images[i]);
		if (img)
			sum += (int64_t)((double)img->size * ((double)c->img_nodes[i] / total));
	}
	int64_t max = MAX_CONTAINER_THRESHOLD * (int64_t)p->nimages;
	if (sum < MIN_THRESHOLD)
		sum = MIN_THRESHOLD;
	else if (sum > max)
		sum = max;
	return SCHED_MAX_NODE_SCORE * (sum - MIN_THRESHOLD) / (max - MIN_THRESHOLD);
}

const sched_plugin sched_plugin_images = {
    .name = "ImageLocality",
    .default_weight = 1,
    .prescore = images_prescore,
    .score = images_score,
};
