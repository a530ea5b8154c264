/* plugin_node.c — the small per-node filters: NodeUnschedulable, NodeName, NodePorts and the
 * VolumeBinding stub. Not for: resources (plugin_fit.c) or taints (plugin_taints.c).
 */
#include <string.h>

#include "scheduler/sched-internal.h"

/* ---- NodeUnschedulable ---- */

/* k8s: a cordoned node takes only pods tolerating node.kubernetes.io/unschedulable:NoSchedule. */
static int unschedulable_filter(sched_cycle *c, const sched_ninfo *ni, sched_status *st)
{
	if (!ni->node->unschedulable)
		return CODE_SUCCESS;
	sched_taint t = {sched_intern("node.kubernetes.io/unschedulable"), "", EFFECT_NO_SCHEDULE};
	if (sched_tolerates(c->pod->tols, c->pod->ntols, &t))
		return CODE_SUCCESS;
	sched_status_add(c, st, CODE_UNRESOLVABLE, "node(s) were unschedulable");
	return CODE_UNRESOLVABLE;
}

const sched_plugin sched_plugin_node_unschedulable = {
    .name = "NodeUnschedulable",
    .filter = unschedulable_filter,
};

/* ---- NodeName ---- */

static int nodename_prefilter(sched_cycle *c, sched_status *st)
{
	return c->pod->node_name ? CODE_SUCCESS : CODE_SKIP;
}

static int nodename_filter(sched_cycle *c, const sched_ninfo *ni, sched_status *st)
{
	if (strcmp(c->pod->node_name, ni->node->name.s) == 0)
		return CODE_SUCCESS;
	sched_status_add(c, st, CODE_UNRESOLVABLE, "node(s) didn't match the requested node name");
	return CODE_UNRESOLVABLE;
}

const sched_plugin sched_plugin_node_name = {
    .name = "NodeName",
    .prefilter = nodename_prefilter,
    .filter = nodename_filter,
};

/* ---- NodePorts ---- */

static int ports_prefilter(sched_cycle *c, sched_status *st)
{
	return c->pod->nports ? CODE_SUCCESS : CODE_SKIP;
}

/* k8s: HostPortInfo.CheckConflict — same protocol and port on the same IP, or either side
 * bound to 0.0.0.0. */
static bool port_conflict(const sched_port *used, const sched_port *want)
{
	if (used->port != want->port || used->proto != want->proto)
		return false;
	return strcmp(want->ip.s, "0.0.0.0") == 0 || strcmp(used->ip.s, "0.0.0.0") == 0 ||
	       sched_hstr_eq(used->ip, want->ip);
}

static int ports_filter(sched_cycle *c, const sched_ninfo *ni, sched_status *st)
{
	for (uint32_t i = 0; i < c->pod->nports; i++)
		for (uint32_t j = 0; j < ni->nports; j++)
			if (port_conflict(&ni->ports[j].p, &c->pod->ports[i])) {
				sched_status_add(c, st, CODE_UNSCHEDULABLE,
				                 "node(s) didn't have free ports for the requested "
				                 "pod ports");
				return CODE_UNSCHEDULABLE;
			}
	return CODE_SUCCESS;
}

const sched_plugin sched_plugin_node_ports = {
    .name = "NodePorts",
    .prefilter = ports_prefilter,
    .filter = ports_filter,
};

/* ---- VolumeBinding ---- */

/* A stub: timon does not bind volumes in the scheduler yet, so every node passes (right for
 * pods without PersistentVolumeClaims; pods with claims are not checked). */
const sched_plugin sched_plugin_volumes = {
    .name = "VolumeBinding",
};
