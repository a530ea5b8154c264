/* cni-internal.h — what the cni_*.c files share: one plugin call and a chain of them
 * (cni_exec.c), the generated network configuration, results and the result cache
 * (cni_conf.c), and network namespaces (cni_netns.c). Not a public interface: the agent
 * calls cni.h. */
#ifndef TIMON_AGENT_CNI_INTERNAL_H
#define TIMON_AGENT_CNI_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "agent/cni.h"
#include "base/error.h"

/* The attachment parameters of one CNI operation (spec section 3); strings borrowed. */
typedef struct cni_call {
	const char *command;      /* "ADD", "DEL", "CHECK", "VERSION" */
	const char *container_id; /* CNI_CONTAINERID */
	const char *netns;        /* CNI_NETNS; NULL or "" (DEL only): no namespace */
	const char *ifname;       /* CNI_IFNAME */
	const char *args;         /* CNI_ARGS, or NULL */
	const char *plugin_dirs;  /* CNI_PATH and where plugins are looked up */
	int timeout_ms;           /* 0: 60 s */
} cni_call;

/* --- cni_exec.c --- */

/* Path of the executable for plugin `type` in the ':'-separated dirs (new string), or NULL
 * when none is found or type is not a plain file name. */
char *cni_plugin_find(const char *dirs, const char *type);
/* Runs plugin `type` once with call's environment and stdin_data on its stdin. On success
 * (exit 0) *out gets the parsed stdout (new reference; NULL when stdout was empty) and 0
 * is returned. -1 when the plugin is missing, times out, exits non-zero (the error says
 * what its error result or stderr said) or prints something that is not a JSON object. */
int cni_exec_plugin(const cni_call *call, const char *type, const char *stdin_data, json_t **out,
                    terr **err);
/* Turns a failed plugin's output into *err (500, or 503 for code 11 "try again"). -1. */
int cni_plugin_error(const char *type, const char *command, int exit_code, const char *out,
                     const char *errout, terr **err);
/* The request configuration for one plugin of a network configuration list (spec section
 * 3): the plugin object with cniVersion and name of netconf, runtimeConfig from the
 * capabilities it declares that runtime_args provides, prevResult when prev is not NULL,
 * and no capabilities. New reference. */
json_t *cni_request_config(const json_t *netconf, const json_t *plugin, const json_t *runtime_args,
                           const json_t *prev);
/* Runs call->command over netconf's plugins: ADD in order, each given the previous
 * plugin's result (*result gets the final one, new reference); DEL in reverse order and
 * CHECK in order, each given prev (the final ADD result, may be NULL). Stops at the first
 * failing plugin. result may be NULL for DEL and CHECK. */
int cni_exec_chain(const cni_call *call, const json_t *netconf, const json_t *runtime_args,
                   const json_t *prev, json_t **result, terr **err);
/* The highest spec version that timon speaks and every plugin of netconf reports in its
 * VERSION answer (static string). NULL with an error when there is none. */
const char *cni_exec_pick_version(const cni_call *call, const json_t *netconf, terr **err);

/* --- cni_conf.c --- */

/* Spec versions timon speaks, best first. */
extern const char *const cni_versions[];
/* k8s: CNI_CONTAINERID must start with an alphanumeric character followed by
 * alphanumerics, '_', '.' or '-' (spec section 2); also a file name here. */
bool cni_id_valid(const char *id);
/* Checks one CIDR ("10.42.0.0/24", "fd00::/64"); returns 4 or 6, or -1 with a 400. */
int cni_cidr_family(const char *cidr, terr **err);
/* The network configuration list for cfg and the pod CIDRs (none: the default), version
 * `version`. NULL with a 400 for bad CIDRs (more than one per family included). */
json_t *cni_conf_generate(const cni_config *cfg, const char *const *cidrs, size_t n,
                          const char *version, terr **err);
/* Removes the plugins of that type from a configuration list (portmap for a pod without
 * host ports: it would only pass the result through, at the cost of an exec). */
void cni_conf_drop_plugin(json_t *netconf, const char *type);
/* Capability arguments for runtimeConfig: {"portMappings": [...]} from pod->ports with
 * hostPort set (new reference; an empty object when there are none). */
json_t *cni_conf_runtime_args(const cni_pod *pod);
/* CNI_ARGS for the pod: "IgnoreUnknown=1;K8S_POD_NAMESPACE=...;..." (new string). */
char *cni_conf_args(const cni_pod *pod);
/* Fills out (zeroed by the caller) from an ADD result: the addresses of interfaces inside
 * netns (all addresses when the result names no interfaces), IPv4 first. -1 with a 500
 * when the result has no address. */
int cni_conf_parse_result(const json_t *result, const char *netns, cni_result *out, terr **err);

/* mkdir -p; 0 or -1 with errno. */
int cni_mkdir_p(const char *path, mode_t mode);

/* The cache of one sandbox: <state>/cni/results/<id>.json holding {containerID, ifName,
 * netns, cniArgs, runtimeConfig, network, result}. Writes are atomic (rename). */
char *cni_cache_dir(const cni_config *cfg);
int cni_cache_write(const cni_config *cfg, const char *id, const json_t *entry, terr **err);
/* New reference, or NULL: *err is set when the entry exists but cannot be read. */
json_t *cni_cache_read(const cni_config *cfg, const char *id, terr **err);
int cni_cache_remove(const cni_config *cfg, const char *id, terr **err);

/* --- cni_netns.c --- */

/* true when path is a bind mount of a live network namespace. */
bool cni_netns_live(const char *path);
/* Creates a new network namespace and bind-mounts it at path (dir is made a shared mount
 * point first, so removals reach copies of the mount in other mount namespaces). */
int cni_netns_create(const char *dir, const char *path, terr **err);
/* Unmounts and unlinks path; a missing or unmounted path is fine. */
int cni_netns_remove(const char *path, terr **err);
/* Runs argv (argv[0] looked up in PATH and the sbin dirs) inside the namespace at path,
 * output discarded, waiting at most timeout_ms; returns its exit status, or -1 with an error when
 * it could not be run. */
int cni_netns_run(const char *path, char *const argv[], int timeout_ms, terr **err);
/* Makes sure the namespace at path has an interface ifname; when it has none, adds a
 * stand-in (one end of a veth pair) holding the addresses (CIDR form) the ADD result put inside the
 * sandbox. DEL needs it: the bridge plugin removes its masquerade rule only for the addresses it
 * finds on the interface it deletes. 1 when added, 0 when present, -1 on error. */
int cni_netns_ensure_iface(const char *path, const char *ifname, const json_t *result, terr **err);

#endif
