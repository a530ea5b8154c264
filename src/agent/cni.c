/* cni.c — the pod sandbox's network lifecycle (cni.h): setup (namespace, ADD, cache),
 * re-adoption (CHECK against the cached result), teardown (DEL with the cached
 * configuration, then the namespace and the cache), and the recovery paths between them
 * (a namespace that vanished, an ADD whose result was never cached). Calls for one
 * sandbox are serialized here, as the spec requires of a runtime.
 * Not for: how a plugin is run (cni_exec.c) or what the configuration says (cni_conf.c). */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "agent/cni-internal.h"
#include "base/json.h"
#include "base/log.h"
#include "base/util.h"

/* --- one operation at a time per sandbox (spec 2: no parallel operations for the same
 * container) --- */

static pthread_mutex_t busy_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t busy_cond = PTHREAD_COND_INITIALIZER;
static char **busy;
static size_t n_busy;

static bool busy_has(const char *id)
{
	for (size_t i = 0; i < n_busy; i++)
		if (strcmp(busy[i], id) == 0)
			return true;
	return false;
}

static void sandbox_lock(const char *id)
{
	pthread_mutex_lock(&busy_lock);
	while (busy_has(id))
		pthread_cond_wait(&busy_cond, &busy_lock);
	busy = xrealloc(busy, (n_busy + 1) * sizeof *busy);
	busy[n_busy++] = xstrdup(id);
	pthread_mutex_unlock(&busy_lock);
}

static void sandbox_unlock(const char *id)
{
	pthread_mutex_lock(&busy_lock);
	for (size_t i = 0; i < n_busy; i++) {
		if (strcmp(busy[i], id) == 0) {
			free(busy[i]);
			busy[i] = busy[--n_busy];
			break;
		}
	}
	pthread_cond_broadcast(&busy_cond);
	pthread_mutex_unlock(&busy_lock);
}

/* --- helpers --- */

static const char *netns_dir(const cni_config *cfg)
{
	return cfg->netns_dir && *cfg->netns_dir ? cfg->netns_dir : CNI_DEFAULT_NETNS_DIR;
}

char *cni_netns_path(const cni_config *cfg, const char *sandbox_id)
{
	return xasprintf("%s/%s", netns_dir(cfg), sandbox_id);
}

static cni_call base_call(const cni_config *cfg, const char *command, const char *id,
                          const char *netns, const char *args)
{
	return (cni_call){.command = command,
	                  .container_id = id,
	                  .netns = netns,
	                  .ifname = CNI_IFNAME,
	                  .args = args,
	                  .plugin_dirs = cfg->plugin_dirs,
	                  .timeout_ms = cfg->timeout_ms};
}

/* The spec version to speak: asked of the plugins once per plugin dirs (they do not
 * change under a running agent; a restart asks again). */
static const char *pick_version(const cni_config *cfg, terr **err)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static char *dirs;
	static const char *version;
	const char *want = cfg->plugin_dirs ? cfg->plugin_dirs : "";
	pthread_mutex_lock(&lock);
	if (version && str_eq(dirs, want)) {
		const char *v = version;
		pthread_mutex_unlock(&lock);
		return v;
	}
	const char *v = NULL;
	_cleanup_json_ json_t *conf = cni_conf_generate(cfg, NULL, 0, NULL, err);
	if (conf) {
		cni_call c = base_call(cfg, "VERSION", NULL, NULL, NULL);
		v = cni_exec_pick_version(&c, conf, err);
	}
	if (v) {
		free(dirs);
		dirs = xstrdup(want);
		version = v;
	}
	pthread_mutex_unlock(&lock);
	return v;
}

/* The cached entry of id, or NULL. An unreadable entry is logged and dropped: setup and
 * teardown then work from the pod as if the ADD had never been cached. */
static json_t *cache_load(const cni_config *cfg, const char *id)
{
	terr *e = NULL;
	json_t *j = cni_cache_read(cfg, id, &e);
	if (e) {
		log_warn("cni: dropping the cached result of sandbox %s: %s", id, e->message);
		terr_free(e);
		cni_cache_remove(cfg, id, NULL);
	}
	return j;
}

static bool masquerades(const json_t *netconf)
{
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(netconf, "plugins"), i, p)
	{
		if (json_is_true(json_object_get(p, "ipMasq")))
			return true;
	}
	return false;
}

/* DEL of one attachment. The bridge plugin removes the masquerade rule it added only
 * for the addresses it finds on the pod's interface; when the interface or the whole
 * namespace is gone but the ADD result is known, a stand-in interface with those addresses
 * (in a stub namespace if need be) stands in for it, so no rule stays behind. */
static int del_attachment(const cni_config *cfg, const char *id, const char *netns,
                          const json_t *netconf, const json_t *runtime_args, const json_t *prev,
                          const char *args, terr **err)
{
	bool live = cni_netns_live(netns), stub = false;
	if (prev && masquerades(netconf)) {
		terr *e = NULL;
		if (!live) {
			cni_netns_remove(netns, NULL); /* a stale mount point */
			stub = cni_netns_create(netns_dir(cfg), netns, &e) == 0;
		}
		if ((live || stub) && cni_netns_ensure_iface(netns, CNI_IFNAME, prev, &e) < 0) {
			if (stub)
				cni_netns_remove(netns, NULL);
			stub = false;
		}
		if (e) {
			log_warn("cni: sandbox %s: cannot stand in for its interface (%s); its "
			         "masquerade rule may stay behind",
			         id, e->message);
			terr_free(e);
		}
	}
	/* Spec: DEL without CNI_NETNS still releases what it can (IPAM, host rules). */
	cni_call c = base_call(cfg, "DEL", id, live || stub ? netns : NULL, args);
	int rc = cni_exec_chain(&c, netconf, runtime_args, prev, NULL, err);
	if (stub)
		cni_netns_remove(netns, NULL);
	return rc;
}

static int fill_from_cache(const json_t *entry, cni_result *out, terr **err)
{
	if (!out)
		return 0;
	const char *netns = json_string_value(json_object_get(entry, "netns"));
	return cni_conf_parse_result(json_object_get(entry, "result"), netns, out, err);
}

/* CHECK of a cached attachment (the namespace is live). */
static int check_cached(const cni_config *cfg, const char *id, const json_t *entry, terr **err)
{
	const char *netns = json_string_value(json_object_get(entry, "netns"));
	cni_call c = base_call(cfg, "CHECK", id, netns,
	                       json_string_value(json_object_get(entry, "cniArgs")));
	return cni_exec_chain(&c, json_object_get(entry, "network"),
	                      json_object_get(entry, "runtimeConfig"),
	                      json_object_get(entry, "result"), NULL, err);
}

static int del_cached(const cni_config *cfg, const char *id, const json_t *entry, const char *netns,
                      terr **err)
{
	const char *cached_ns = json_string_value(json_object_get(entry, "netns"));
	return del_attachment(
	    cfg, id, cached_ns ? cached_ns : netns, json_object_get(entry, "network"),
	    json_object_get(entry, "runtimeConfig"), json_object_get(entry, "result"),
	    json_string_value(json_object_get(entry, "cniArgs")), err);
}

/* --- setup --- */

static int add_fresh(const cni_config *cfg, const cni_pod *pod, const char *netns, bool created,
                     cni_result *out, terr **err)
{
	const char *version = pick_version(cfg, err);
	if (!version)
		return -1;
	_cleanup_json_ json_t *conf =
	    cni_conf_generate(cfg, pod->pod_cidrs, pod->n_pod_cidrs, version, err);
	if (!conf)
		return -1;
	/* k8s: hostPort is portmap's; a pod without one does not need it (the list kept for
	 * its DEL and CHECK is the one it was added with). */
	if (pod->n_ports == 0)
		cni_conf_drop_plugin(conf, "portmap");
	_cleanup_json_ json_t *rargs = cni_conf_runtime_args(pod);
	_cleanup_free_ char *args = cni_conf_args(pod);
	cni_call c = base_call(cfg, "ADD", pod->sandbox_id, netns, args);
	_cleanup_json_ json_t *result = NULL;
	int rc = cni_exec_chain(&c, conf, rargs, NULL, &result, err);
	if (rc == 0)
		rc = cni_conf_parse_result(result, netns, out, err);
	if (rc == 0) {
		json_t *entry =
		    json_pack("{ss ss ss ss sO sO sO s{ss ss ss}}", "containerID", pod->sandbox_id,
		              "ifName", CNI_IFNAME, "netns", netns, "cniArgs", args,
		              "runtimeConfig", rargs, "network", conf, "result", result, "pod",
		              "namespace", pod->namespace ? pod->namespace : "", "name",
		              pod->name ? pod->name : "", "uid", pod->uid ? pod->uid : "");
		rc = cni_cache_write(cfg, pod->sandbox_id, entry, err);
		json_decref(entry);
	}
	if (rc == 0)
		return 0;
	/* Spec 2: an ADD is always followed by a DEL; a failed one is undone at once so the
	 * sandbox leaves nothing behind (IPs, veths, rules). */
	terr *e = NULL;
	if (del_attachment(cfg, pod->sandbox_id, netns, conf, rargs, result, args, &e) < 0) {
		log_warn("cni: sandbox %s: DEL after a failed ADD: %s", pod->sandbox_id,
		         e->message);
		terr_free(e);
	}
	if (created)
		cni_netns_remove(netns, NULL);
	cni_result_free(out);
	return -1;
}

static int setup_locked(const cni_config *cfg, const cni_pod *pod, cni_result *out, terr **err)
{
	const char *id = pod->sandbox_id;
	_cleanup_free_ char *netns = cni_netns_path(cfg, id);
	_cleanup_json_ json_t *entry = cache_load(cfg, id);
	bool live = cni_netns_live(netns);
	if (entry && live && !pod->netns_fresh) {
		/* Wired before (an agent restart): re-adopt what is there. */
		if (check_cached(cfg, id, entry, err) < 0)
			return terr_wrap(err, "sandbox %s: re-adopting its network", id);
		if (fill_from_cache(entry, out, err) < 0)
			return -1;
		out->readopted = true;
		return 0;
	}
	if (entry) {
		/* The namespace vanished (a reboot, a manual unmount) and may have been made
		 * anew already: release the old attachment, then wire the new namespace. */
		if (del_cached(cfg, id, entry, netns, err) < 0)
			return terr_wrap(err, "sandbox %s: releasing its old attachment", id);
		if (cni_cache_remove(cfg, id, err) < 0)
			return -1;
	} else if (live && !pod->netns_fresh) {
		/* A namespace without a cached result: an ADD that never finished. Undo what
		 * it may have done, then add again in the same namespace (containers may
		 * already be in it). */
		const char *version = pick_version(cfg, err);
		if (!version)
			return -1;
		_cleanup_json_ json_t *conf =
		    cni_conf_generate(cfg, pod->pod_cidrs, pod->n_pod_cidrs, version, err);
		if (!conf)
			return -1;
		_cleanup_json_ json_t *rargs = cni_conf_runtime_args(pod);
		_cleanup_free_ char *args = cni_conf_args(pod);
		if (del_attachment(cfg, id, netns, conf, rargs, NULL, args, err) < 0)
			return terr_wrap(err, "sandbox %s: undoing an unfinished ADD", id);
		return add_fresh(cfg, pod, netns, false, out, err);
	}
	if (!cni_netns_live(netns) && cni_netns_create(netns_dir(cfg), netns, err) < 0)
		return -1;
	return add_fresh(cfg, pod, netns, true, out, err);
}

int cni_setup(const cni_config *cfg, const cni_pod *pod, cni_result *out, terr **err)
{
	memset(out, 0, sizeof *out);
	if (!cni_id_valid(pod->sandbox_id))
		return terr_bad_request(err, "invalid sandbox ID \"%s\" for CNI",
		                        pod->sandbox_id ? pod->sandbox_id : "");
	sandbox_lock(pod->sandbox_id);
	int rc = setup_locked(cfg, pod, out, err);
	sandbox_unlock(pod->sandbox_id);
	return rc;
}

int cni_netns_prepare(const cni_config *cfg, const char *sandbox_id, bool *made, terr **err)
{
	*made = false;
	if (!cni_id_valid(sandbox_id))
		return terr_bad_request(err, "invalid sandbox ID \"%s\" for CNI",
		                        sandbox_id ? sandbox_id : "");
	_cleanup_free_ char *netns = cni_netns_path(cfg, sandbox_id);
	sandbox_lock(sandbox_id);
	int rc = 0;
	if (!cni_netns_live(netns)) {
		rc = cni_netns_create(netns_dir(cfg), netns, err);
		*made = rc == 0;
	}
	sandbox_unlock(sandbox_id);
	return rc;
}

/* --- teardown and check --- */

static int teardown_locked(const cni_config *cfg, const cni_pod *pod, terr **err)
{
	const char *id = pod->sandbox_id;
	_cleanup_free_ char *netns = cni_netns_path(cfg, id);
	_cleanup_json_ json_t *entry = cache_load(cfg, id);
	if (entry) {
		if (del_cached(cfg, id, entry, netns, err) < 0)
			return terr_wrap(err, "sandbox %s: CNI DEL", id);
		const char *cached_ns = json_string_value(json_object_get(entry, "netns"));
		if (cached_ns && !str_eq(cached_ns, netns) && cni_netns_remove(cached_ns, err) < 0)
			return -1;
	} else {
		/* Nothing cached: DEL with what the pod says (spec: DEL is idempotent and
		 * must succeed when there is nothing to undo). */
		const char *version = pick_version(cfg, err);
		if (!version)
			return -1;
		_cleanup_json_ json_t *conf =
		    cni_conf_generate(cfg, pod->pod_cidrs, pod->n_pod_cidrs, version, err);
		if (!conf)
			return -1;
		_cleanup_json_ json_t *rargs = cni_conf_runtime_args(pod);
		_cleanup_free_ char *args = cni_conf_args(pod);
		if (del_attachment(cfg, id, netns, conf, rargs, NULL, args, err) < 0)
			return terr_wrap(err, "sandbox %s: CNI DEL", id);
	}
	if (cni_netns_remove(netns, err) < 0)
		return -1;
	return cni_cache_remove(cfg, id, err);
}

int cni_teardown(const cni_config *cfg, const cni_pod *pod, terr **err)
{
	if (!cni_id_valid(pod->sandbox_id))
		return terr_bad_request(err, "invalid sandbox ID \"%s\" for CNI",
		                        pod->sandbox_id ? pod->sandbox_id : "");
	sandbox_lock(pod->sandbox_id);
	int rc = teardown_locked(cfg, pod, err);
	sandbox_unlock(pod->sandbox_id);
	return rc;
}

int cni_check(const cni_config *cfg, const char *sandbox_id, cni_result *out, terr **err)
{
	if (out)
		memset(out, 0, sizeof *out);
	if (!cni_id_valid(sandbox_id))
		return terr_bad_request(err, "invalid sandbox ID \"%s\" for CNI",
		                        sandbox_id ? sandbox_id : "");
	sandbox_lock(sandbox_id);
	int rc = -1;
	_cleanup_json_ json_t *entry = cache_load(cfg, sandbox_id);
	const char *netns = json_string_value(json_object_get(entry, "netns"));
	if (!entry)
		terr_not_found(err, "sandbox %s has no CNI result", sandbox_id);
	else if (!cni_netns_live(netns))
		terr_not_found(err, "sandbox %s: network namespace %s is gone", sandbox_id,
		               netns ? netns : "");
	else if (check_cached(cfg, sandbox_id, entry, err) < 0)
		terr_wrap(err, "sandbox %s: CNI CHECK", sandbox_id);
	else if (fill_from_cache(entry, out, err) == 0)
		rc = 0;
	if (rc == 0 && out)
		out->readopted = true;
	sandbox_unlock(sandbox_id);
	return rc;
}

int cni_list(const cni_config *cfg, char ***ids, size_t *n, terr **err)
{
	*ids = NULL;
	*n = 0;
	_cleanup_free_ char *dir = cni_cache_dir(cfg);
	DIR *d = opendir(dir);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		return terr_internal(err, "reading %s: %s", dir, strerror(errno));
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len <= 5 || !str_has_suffix(de->d_name, ".json"))
			continue;
		_cleanup_free_ char *id = xstrndup(de->d_name, len - 5);
		if (!cni_id_valid(id))
			continue;
		*ids = xrealloc(*ids, (*n + 1) * sizeof **ids);
		(*ids)[(*n)++] = id;
		id = NULL;
	}
	closedir(d);
	return 0;
}

void cni_result_free(cni_result *r)
{
	if (!r)
		return;
	free(r->netns_path);
	for (size_t i = 0; i < r->n_ips; i++) {
		free(r->ips[i]);
		free(r->gateways[i]);
	}
	free(r->ips);
	free(r->gateways);
	free(r->mac);
	free(r->raw);
	memset(r, 0, sizeof *r);
}
