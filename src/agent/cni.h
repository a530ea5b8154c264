/* cni.h — pod networking through the standard CNI plugins (CNI spec 1.0).
 *
 * One call wires one pod sandbox: cni_setup creates a named network namespace
 * (<netns_dir>/<sandbox id>, a bind mount of the namespace), runs the plugin chain of a
 * generated network configuration (bridge `timon0` with host-local IPAM over the node's
 * podCIDR, portmap for hostPorts, loopback) and returns the pod IPs; cni_teardown runs DEL
 * in reverse order and removes the namespace. The final ADD result is cached under
 * <state_dir>/cni/results/ so DEL and CHECK get the same configuration and prevResult
 * after an agent restart, and cni_setup on a sandbox that is already wired re-adopts it
 * with CHECK. See docs/network.md.
 *
 * Every call is synchronous (it waits for the plugins) and safe from several threads:
 * calls for one sandbox are serialized, calls for different sandboxes run in parallel.
 * Needs root. Not for: Service rules (proxy), DNS, or creating containers in the netns
 * (the runtime joins CNI_NETNS through the path cni_netns_path gives).
 */
#ifndef TIMON_AGENT_CNI_H
#define TIMON_AGENT_CNI_H

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"

#define CNI_DEFAULT_STATE_DIR   "/var/lib/timon/agent"
#define CNI_DEFAULT_NETNS_DIR   "/run/timon/netns"
#define CNI_DEFAULT_PLUGIN_DIRS "/usr/lib/cni:/opt/cni/bin"
#define CNI_DEFAULT_BRIDGE      "timon0"
#define CNI_DEFAULT_NETWORK     "timon"
#define CNI_DEFAULT_POD_CIDR    "10.42.0.0/24"
#define CNI_IFNAME              "eth0"

/* Node-wide settings; every field may be left NULL/0 for its default. */
typedef struct cni_config {
	const char *state_dir;   /* agent state dir: IPAM data in cni/networks, cache in
	                          * cni/results */
	const char *netns_dir;   /* where namespaces are bind-mounted */
	const char *plugin_dirs; /* CNI_PATH, ':'-separated */
	const char *bridge;      /* bridge name */
	const char *network;     /* network name (host-local keys allocations by it) */
	int mtu;                 /* pod interface MTU; 0: the plugin's default */
	int timeout_ms;          /* per plugin call; 0: 60 s */
	/* The caller masquerades pod traffic leaving the pod network itself (the agent: one
	 * nftables rule per node, agent_masq.c), so the bridge plugin's ipMasq is off: it
	 * would run iptables several times per pod ADD and DEL, about 80 ms of CPU a pod. */
	bool no_ip_masq;
} cni_config;

/* k8s: a container port with hostPort != 0 becomes one portMappings entry. */
typedef struct cni_port {
	int host_port;
	int container_port;
	const char *protocol; /* "TCP", "UDP", "SCTP" (any case); NULL: TCP */
	const char *host_ip;  /* NULL or "": every host address */
} cni_port;

/* What the caller knows about the pod sandbox; strings are borrowed. */
typedef struct cni_pod {
	const char *namespace, *name, *uid; /* passed to plugins as K8S_POD_* CNI_ARGS */
	const char *sandbox_id;             /* CNI_CONTAINERID and the netns name; required */
	const char *const *pod_cidrs;       /* Node.spec.podCIDRs (one per family); */
	size_t n_pod_cidrs;                 /* none: CNI_DEFAULT_POD_CIDR */
	const cni_port *ports;
	size_t n_ports;
	/* The namespace was just made by cni_netns_prepare for this setup (containers may
	 * already be joining it): no earlier ADD can have touched it, so none is undone. */
	bool netns_fresh;
} cni_pod;

/* The outcome of a setup; owned by the caller, freed with cni_result_free. */
typedef struct cni_result {
	char *netns_path; /* for the OCI config's network namespace */
	char **ips;       /* pod IPs without prefix length, IPv4 first (k8s: podIPs) */
	size_t n_ips;
	char **gateways; /* parallel to ips; "" when the plugin named none */
	char *mac;       /* of eth0 inside the pod, or NULL */
	char *raw;       /* the final ADD result, JSON */
	bool readopted;  /* true when setup found the sandbox wired and CHECK passed */
} cni_result;

/* Wires the sandbox and fills *out. Idempotent: a sandbox with a cached result and a live
 * namespace is re-adopted with CHECK (an error if CHECK fails: tear down and set up
 * again); one whose namespace vanished is cleaned up with DEL and wired afresh. On failure
 * nothing is left behind (DEL is run, the namespace removed). -1 with 400 for an invalid
 * sandbox ID or CIDR, 500 for plugin failures (503 when a plugin says try again). */
int cni_setup(const cni_config *cfg, const cni_pod *pod, cni_result *out, terr **err);
/* Makes the sandbox's network namespace when it has none, so containers can be created in
 * it while cni_setup (with netns_fresh) wires it. *made: whether it was made now. 0 or -1. */
int cni_netns_prepare(const cni_config *cfg, const char *sandbox_id, bool *made, terr **err);

/* Unwires the sandbox: DEL through the chain (reverse order, cached configuration and
 * prevResult when there are any, else generated from pod), then removes the namespace and
 * the cache entry. Idempotent; a missing namespace is fine (the spec's DEL contract). Only
 * pod->sandbox_id is required. -1 when a plugin fails: the cache and the namespace stay,
 * so the call can be retried. */
int cni_teardown(const cni_config *cfg, const cni_pod *pod, terr **err);

/* Re-adoption after an agent restart: runs CHECK with the cached configuration and
 * prevResult and fills *out (out may be NULL). -1 with 404 when the sandbox has no cached
 * result or its namespace is gone, 500 when a plugin reports a problem. */
int cni_check(const cni_config *cfg, const char *sandbox_id, cni_result *out, terr **err);

/* The sandbox IDs that have a cached result (for garbage collection after a restart);
 * the caller frees each string and the array. 0 or -1. */
int cni_list(const cni_config *cfg, char ***ids, size_t *n, terr **err);

/* Path of the sandbox's network namespace, whether or not it exists (new string). */
char *cni_netns_path(const cni_config *cfg, const char *sandbox_id);

/* Frees what *r holds and zeroes it (NULL is fine). */
void cni_result_free(cni_result *r);

#endif
