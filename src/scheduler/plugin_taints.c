/* plugin_taints.c — TaintToleration: NoSchedule/NoExecute taints must be tolerated (filter);
 * untolerated PreferNoSchedule taints lower a node's score. Not for: the cordon check
 * (NodeUnschedulable in plugin_node.c).
 */
#include <stdio.h>

#include "scheduler/sched-internal.h"

static int taints_filter(sched_cycle *c, const sched_ninfo *ni, sched_status *st)
{
	if (ni->node->ntaints == 0)
		return CODE_SUCCESS;
	const sched_taint *t = sched_untolerated(c->pod, ni->node);
	if (!t)
		return CODE_SUCCESS;
	if (c->prof->hide_taint_values) {
		/* k8s (newer releases): taint keys and values are no longer shown. */
		sched_status_add(c, st, CODE_UNRESOLVABLE, "node(s) had untolerated taint(s)");
	} else {
		char reason[600];
		snprintf(reason, sizeof(reason), "node(s) had untolerated taint {%s: %s}", t->key.s,
		         t->value);
		sched_status_add(c, st, CODE_UNRESOLVABLE, reason);
	}
	return CODE_UNRESOLVABLE;
}

/* k8s: the number of PreferNoSchedule taints not tolerated (by tolerations with that effect
 * or none); normalized in reverse, fewer is better. */
static int64_t taints_score(sched_cycle *c, const sched_ninfo *ni, size_t fi)
{
	int64_t n = 0;
	for (uint32_t i = 0; i < ni->node->ntaints; i++) {
		const sched_taint *t = &ni->node->taints[i];
		if (t->effect == EFFECT_PREFER_NO_SCHEDULE &&
		    !sched_tolerates(c->pod->tols, c->pod->ntols, t))
			n++;
	}
	return n;
}

static void taints_normalize(sched_cycle *c, int64_t *scores, size_t n)
{
	sched_normalize_default(scores, n, true);
}

const sched_plugin sched_plugin_taints = {
    .name = "TaintToleration",
    .default_weight = 3,
    .filter = taints_filter,
    .score = taints_score,
    .normalize = taints_normalize,
};
