/* agent_flags.c — the node agent's flags (agent_flags.h). Not for: what they do
 * (src/agent/). */
#include "cmd/agent_flags.h"

#include <stdio.h>
#include <string.h>

enum {
	O_NODE = AGENT_OPT_FIRST, O_NODEIP, O_LABEL, O_TAINT, O_CIDR, O_REGCFG, O_LOGDIR,
	O_RUNDIR, O_BRIDGE, O_EVICT
};

const struct option agent_flag_options[] = {
	{"node-name", required_argument, NULL, O_NODE},
	{"node-ip", required_argument, NULL, O_NODEIP},
	{"node-label", required_argument, NULL, O_LABEL},
	{"node-taint", required_argument, NULL, O_TAINT},
	{"pod-cidr", required_argument, NULL, O_CIDR},
	{"registry-config", required_argument, NULL, O_REGCFG},
	{"pod-log-dir", required_argument, NULL, O_LOGDIR},
	{"agent-run-dir", required_argument, NULL, O_RUNDIR},
	{"cni-bridge", required_argument, NULL, O_BRIDGE},
	{"eviction-hard", required_argument, NULL, O_EVICT},
	{0},
};

const char agent_flag_usage[] =
    "  --node-name NAME         the agent's node name (default: the host name)\n"
    "  --node-ip IP             the node's address (default: the default route's interface)\n"
    "  --node-label K=V         a label for the node (repeatable)\n"
    "  --node-taint K=V:EFFECT  a taint for the node (repeatable)\n"
    "  --pod-cidr CIDR          this node's pod range (default: a free /24 of 10.42.0.0/16)\n"
    "  --registry-config FILE   registries.yaml, k3s format (default /etc/timon/registries.yaml)\n"
    "  --pod-log-dir DIR        container logs (default /var/log/pods)\n"
    "  --eviction-hard LIST     hard eviction thresholds (default memory.available<100Mi,nodefs.available<10%)\n"
    "  --cni-bridge NAME        the pod network's bridge (default timon0)\n"
    "  --agent-run-dir DIR      runtime state and network namespaces (default /run/timon)\n";

int agent_flag(int opt, const char *arg, agent_config *cfg, const char *cmd)
{
	switch (opt) {
	case O_NODE: cfg->node_name = arg; break;
	case O_NODEIP: cfg->node_ip = arg; break;
	case O_LABEL:
	case O_TAINT: {
		bool label = opt == O_LABEL;
		size_t *n = label ? &cfg->n_labels : &cfg->n_taints;
		if (*n >= AGENT_MAX_LIST || (label ? !strchr(arg, '=') : !strchr(arg, ':'))) {
			fprintf(stderr, "timon %s: invalid or too many --node-%s %s\n", cmd,
			        label ? "label" : "taint", arg);
			return -1;
		}
		(label ? cfg->labels : cfg->taints)[(*n)++] = arg;
		break;
	}
	case O_CIDR: cfg->pod_cidr = arg; break;
	case O_REGCFG: cfg->registry_config = arg; break;
	case O_LOGDIR: cfg->log_root = arg; break;
	case O_RUNDIR: cfg->run_dir = arg; break;
	case O_BRIDGE: cfg->bridge = arg; break;
	case O_EVICT: cfg->eviction_hard = arg; break;
	default: return -1;
	}
	return 0;
}
