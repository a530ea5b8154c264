/* agent.h — the node agent (the kubelet's job): registers this machine as a Node, renews
 * its Lease, and runs the pods bound to it as real containers (images, CNI, the OCI
 * runtime), reporting their status. It runs embedded in `timon server` (a controller on
 * the server's loop, writing through the in-process client) unless --disable-agent.
 *
 * This header is also the contract the agent's neighbours share (the pods/log, exec and
 * port-forward streams, metrics, volumes): how containers, logs and cgroups are named.
 * See docs/agent.md.
 */
#ifndef TIMON_AGENT_AGENT_H
#define TIMON_AGENT_AGENT_H

#include <stdbool.h>
#include <stddef.h>

#define AGENT_DEFAULT_LOG_ROOT "/var/log/pods"
#define AGENT_MAX_LIST         16

typedef struct agent_config {
	const char *node_name; /* NULL: the host name, lower-cased */
	const char *node_ip;   /* NULL: the address of the default route's interface */
	const char *labels[AGENT_MAX_LIST]; /* "key=value" (--node-label) */
	size_t n_labels;
	const char *taints[AGENT_MAX_LIST]; /* "key=value:Effect" (--node-taint) */
	size_t n_taints;
	const char *state_dir;       /* images, containers, CNI state, volumes; NULL: <data>/agent */
	const char *run_dir;         /* runtime state, netns (tmpfs); NULL: /run/timon */
	const char *log_root;        /* NULL: AGENT_DEFAULT_LOG_ROOT */
	const char *registry_config; /* NULL: /etc/timon/registries.yaml */
	const char *pod_cidr;        /* NULL: a free 10.42.N.0/24 of the cluster CIDR */
	const char *bridge;          /* the CNI bridge; NULL: CNI_DEFAULT_BRIDGE */
	const char *eviction_hard;   /* "memory.available<100Mi,nodefs.available<10%" (default) */
	bool worker;                 /* a joined node (timon agent): no control-plane role */
} agent_config;

/* Enables the embedded agent with cfg (copied) before the API server starts; without
 * this call the agent does not run. data_dir fills the defaults that live under it. */
void agent_configure(const agent_config *cfg, const char *data_dir);

/* ---- naming conventions (agent_ids.c) ---- */

/* The runtime container ID of attempt `attempt` (the container's restartCount when it
 * was started, 0 first) of container `name` of the pod with UID uid:
 * "<uid>_<name>_<attempt>". New string. */
char *agent_container_id(const char *uid, const char *name, int attempt);
/* The inverse: splits id into its parts (uid and name get new strings). -1 when id is not
 * of that shape. */
int agent_container_id_parse(const char *id, char **uid, char **name, int *attempt);
/* The CNI sandbox ID (and network namespace name) of a pod: its UID. */
#define agent_sandbox_id(uid) (uid)
/* The pod's log folder: <log_root>/<namespace>_<name>_<uid>. New string. */
char *agent_pod_log_dir(const char *log_root, const char *ns, const char *pod, const char *uid);
/* The CRI log file of one attempt: <pod log dir>/<container>/<attempt>.log. New string. */
char *agent_container_log_path(const char *log_root, const char *ns, const char *pod,
                               const char *uid, const char *container, int attempt);
/* The pod's cgroup (relative to each hierarchy's root): "/timon/pod<uid>"; a container's
 * is "<that>/<container id>". New string. */
char *agent_pod_cgroup(const char *uid);

#endif
