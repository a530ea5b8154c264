/* agent_flags.c — the node agent's flags (agent_flags.h); those for RuntimeClass
 * handlers, image garbage collection and log rotation take kubelet's names and
 * defaults. Not for: what they do (src/agent/). */
#include "cmd/agent_flags.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/quantity.h"

enum {
	O_NODE = AGENT_OPT_FIRST, O_NODEIP, O_LABEL, O_TAINT, O_CIDR, O_REGCFG, O_LOGDIR,
	O_RUNDIR, O_BRIDGE, O_EVICT, O_HANDLER, O_GC_HIGH, O_GC_LOW, O_GC_AGE, O_LOG_SIZE,
	O_LOG_FILES,
	O_AGENTPORT
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
	{"runtime-handler", required_argument, NULL, O_HANDLER},
	{"image-gc-high-threshold", required_argument, NULL, O_GC_HIGH},
	{"image-gc-low-threshold", required_argument, NULL, O_GC_LOW},
	{"minimum-image-ttl-duration", required_argument, NULL, O_GC_AGE},
	{"container-log-max-size", required_argument, NULL, O_LOG_SIZE},
	{"container-log-max-files", required_argument, NULL, O_LOG_FILES},
	{"agent-port", required_argument, NULL, O_AGENTPORT},
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
    "  --agent-run-dir DIR      runtime state and network namespaces (default /run/timon)\n"
    "  --runtime-handler NAME=PATH        an OCI runtime (runc-compatible CLI) for RuntimeClass\n"
    "                                     handler NAME (repeatable; \"runc\" is the detected one)\n"
    "  --image-gc-high-threshold PCT      image fs usage that starts image GC (default 85; 100 disables)\n"
    "  --image-gc-low-threshold PCT       usage image GC frees down to (default 80)\n"
    "  --minimum-image-ttl-duration D     unused images younger than this stay (default 2m)\n"
    "  --container-log-max-size Q         rotate a container's log above this size (default 10Mi)\n"
    "  --container-log-max-files N        log files kept per container, current included (default 5)\n"
    "  --agent-port PORT                  the kubelet port: pod streams of a joined agent (default 10250)\n";

int agent_flags_duration(const char *s, int64_t *secs)
{
	if (!s || !*s)
		return -1;
	char *end;
	long long plain = strtoll(s, &end, 10);
	if (!*end && plain >= 0) {
		*secs = plain;
		return 0;
	}
	int64_t total = 0;
	const char *p = s;
	while (*p) {
		if (!isdigit((unsigned char)*p))
			return -1;
		long long v = strtoll(p, &end, 10);
		int64_t mul;
		if (end[0] == 'h')
			mul = 3600;
		else if (end[0] == 'm' && end[1] == 's')
			mul = 0; /* milliseconds: below our resolution */
		else if (end[0] == 'm')
			mul = 60;
		else if (end[0] == 's')
			mul = 1;
		else
			return -1;
		if (v > 100000000LL)
			return -1;
		total += (int64_t)v * mul;
		p = end + (end[0] == 'm' && end[1] == 's' ? 2 : 1);
	}
	*secs = total;
	return 0;
}

static int percent(const char *cmd, const char *flag, const char *arg, int *out)
{
	char *end;
	long v = strtol(arg, &end, 10);
	if (*end || end == arg || v < 0 || v > 100) {
		fprintf(stderr, "timon %s: invalid --%s %s (a percentage, 0 to 100)\n", cmd, flag, arg);
		return -1;
	}
	/* The config's 0 means "the default": a real 0 is kept as -1. */
	*out = v == 0 ? -1 : (int)v;
	return 0;
}

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
	case O_HANDLER: {
		const char *eq = strchr(arg, '=');
		if (!eq || eq == arg || eq[1] != '/' || cfg->n_runtime_handlers >= AGENT_MAX_LIST) {
			fprintf(stderr, "timon %s: invalid or too many --runtime-handler %s (NAME=/absolute/path)\n",
			        cmd, arg);
			return -1;
		}
		cfg->runtime_handlers[cfg->n_runtime_handlers++] = arg;
		return 0;
	}
	case O_GC_HIGH: return percent(cmd, "image-gc-high-threshold", arg, &cfg->image_gc_high);
	case O_GC_LOW: return percent(cmd, "image-gc-low-threshold", arg, &cfg->image_gc_low);
	case O_GC_AGE: {
		int64_t s;
		if (agent_flags_duration(arg, &s) < 0) {
			fprintf(stderr, "timon %s: invalid --minimum-image-ttl-duration %s (like 2m, 90s, 0s)\n", cmd, arg);
			return -1;
		}
		cfg->image_min_age_s = s == 0 ? -1 : s;
		return 0;
	}
	case O_LOG_SIZE: {
		quantity q;
		terr *err = NULL;
		if (quantity_parse(arg, &q, &err) < 0 || quantity_value(&q) < 4096) {
			fprintf(stderr, "timon %s: invalid --container-log-max-size %s (a quantity of at least 4Ki)\n",
			        cmd, arg);
			terr_free(err);
			return -1;
		}
		cfg->log_max_size = quantity_value(&q);
		return 0;
	}
	case O_LOG_FILES: {
		char *end;
		long v = strtol(arg, &end, 10);
		/* k8s: containerLogMaxFiles must be at least 2. */
		if (*end || end == arg || v < 2 || v > 1000) {
			fprintf(stderr, "timon %s: invalid --container-log-max-files %s (at least 2)\n", cmd, arg);
			return -1;
		}
		cfg->log_max_files = (int)v;
		return 0;
	}
	case O_AGENTPORT: {
		char *end;
		long p = strtol(arg, &end, 10);
		if (*end || p < 1 || p > 65535) {
			fprintf(stderr, "timon %s: invalid --agent-port %s\n", cmd, arg);
			return -1;
		}
		cfg->agent_port = (int)p;
		break;
	}
	default: return -1;
	}
	return 0;
}

int agent_flags_check(const agent_config *cfg, const char *cmd)
{
	int high = cfg->image_gc_high < 0 ? 0 : cfg->image_gc_high ? cfg->image_gc_high : AGENT_IMAGE_GC_HIGH;
	int low = cfg->image_gc_low < 0 ? 0 : cfg->image_gc_low ? cfg->image_gc_low : AGENT_IMAGE_GC_LOW;
	/* k8s: imageGCLowThresholdPercent must be less than imageGCHighThresholdPercent. */
	if (low >= high) {
		fprintf(stderr, "timon %s: --image-gc-low-threshold (%d) must be less than --image-gc-high-threshold (%d)\n",
		        cmd, low, high);
		return -1;
	}
	return 0;
}
