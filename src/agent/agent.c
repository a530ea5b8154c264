/* agent.c — the embedded node agent as a controller on the server's loop: configuration,
 * start (image store, runtime, CNI), the pods bound to this node and their sync jobs on
 * the agent's worker pool, status writes, events, exits noticed through conmon's exit
 * files, heartbeats, and garbage collection of containers no pod owns. See agent.h. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/agent-internal.h"
#include "agent/agent_stream.h"
#include "agent/metrics.h"
#include "agent/volume.h"
#include "apiserver/client.h"
#include "base/json.h"
#include "base/heap.h"
#include "base/log.h"
#include "base/util.h"
#include "controllers/controller-internal.h"
#include "controllers/events.h"
#include "controllers/simnode-internal.h"
#include "proxy/netsvc.h"

#define TICK_MS          1000
#define LEASE_EVERY_NS   (10LL * 1000000000LL)
#define STATUS_EVERY_NS  (60LL * 1000000000LL)
#define GC_EVERY_NS      (60LL * 1000000000LL)
#define LOGS_EVERY_NS    (10LL * 1000000000LL) /* kubelet: containerLogMonitorInterval */
#define IMAGES_EVERY_NS  (30LL * 1000000000LL) /* kubelet: 5 min */
/* A burst of pod starts (sync jobs' copies, write buffers, the pool threads' arenas) leaves
 * freed heap that the allocator keeps: it is handed back to the kernel this often. */
#define TRIM_EVERY_NS    (10LL * 1000000000LL)
#define RESYNC_BUSY_MS   2000
#define RESYNC_IDLE_MS   10000
#define POOL_THREADS     8
#define PROBE_TICK_MS    250
#define CONFLICT_SYNC_MS 100 /* after a status write's 409: sync again from the newer pod */

static agent_config g_cfg;
static char *g_data_dir;
static bool g_enabled;

static const char *keep(const char *s)
{
	return s ? xstrdup(s) : NULL; /* configuration lives as long as the process */
}

void agent_configure(const agent_config *cfg, const char *data_dir)
{
	g_cfg = *cfg;
	g_cfg.node_name = keep(cfg->node_name);
	g_cfg.node_ip = keep(cfg->node_ip);
	for (size_t i = 0; i < cfg->n_labels; i++)
		g_cfg.labels[i] = keep(cfg->labels[i]);
	for (size_t i = 0; i < cfg->n_taints; i++)
		g_cfg.taints[i] = keep(cfg->taints[i]);
	g_cfg.state_dir = keep(cfg->state_dir);
	g_cfg.run_dir = keep(cfg->run_dir);
	g_cfg.log_root = keep(cfg->log_root);
	g_cfg.registry_config = keep(cfg->registry_config);
	g_cfg.pod_cidr = keep(cfg->pod_cidr);
	g_cfg.bridge = keep(cfg->bridge);
	g_cfg.eviction_hard = keep(cfg->eviction_hard);
	for (size_t i = 0; i < cfg->n_runtime_handlers; i++)
		g_cfg.runtime_handlers[i] = keep(cfg->runtime_handlers[i]);
	/* 0 is "the default"; a percentage of 0 given on purpose arrives as -1. */
	g_cfg.image_gc_high = !cfg->image_gc_high ? AGENT_IMAGE_GC_HIGH : cfg->image_gc_high < 0 ? 0 : cfg->image_gc_high;
	g_cfg.image_gc_low = !cfg->image_gc_low ? AGENT_IMAGE_GC_LOW : cfg->image_gc_low < 0 ? 0 : cfg->image_gc_low;
	if (g_cfg.image_min_age_s == 0)
		g_cfg.image_min_age_s = AGENT_IMAGE_MIN_AGE_S;
	else if (g_cfg.image_min_age_s < 0)
		g_cfg.image_min_age_s = 0;
	if (g_cfg.log_max_size <= 0)
		g_cfg.log_max_size = AGENT_LOG_MAX_SIZE;
	if (g_cfg.log_max_files <= 0)
		g_cfg.log_max_files = AGENT_LOG_MAX_FILES;
	g_data_dir = xstrdup(data_dir);
	g_enabled = true;
}

/* ---------- pods ---------- */

static agent_pod *pod_state(agent *a, const char *key, const char *uid)
{
	agent_pod *ap = hmap_get(&a->pods, key);
	if (!ap) {
		ap = xcalloc(1, sizeof *ap);
		ap->key = xstrdup(key);
		ap->uid = xstrdup(uid);
		ap->mem = json_object();
		ap->probes = json_object();
		hmap_put(&a->pods, ap->key, ap);
	}
	return ap;
}

static void pod_forget(agent *a, agent_pod *ap)
{
	hmap_del(&a->pods, ap->key);
	free(ap->key);
	free(ap->uid);
	json_decref(ap->mem);
	json_decref(ap->probes);
	json_decref(ap->sa_tokens);
	json_decref(ap->last_report);
	free(ap->pod_ip);
	free(ap->written_rv);
	agent_probes_clear(ap);
	free(ap);
}

/* The API objects the pod's volumes and env read, from the watch cache (volume.h). */
static json_t *gather_inputs(agent *a, json_t *pod)
{
	json_t *in = json_pack("{s:{}, s:{}, s:{}, s:{}}", "configmaps", "secrets",
	                       "persistentvolumeclaims", "persistentvolumes");
	if (!pod)
		return in;
	const char *ns = json_path_str(pod, "metadata.namespace");
	json_t *refs = agent_pod_refs(pod);
	size_t i;
	json_t *r;
	json_array_foreach(refs, i, r)
	{
		const char *res = json_string_value(json_object_get(r, "resource"));
		const char *name = json_string_value(json_object_get(r, "name"));
		json_t *into = json_object_get(in, res ? res : "");
		if (!into || !name || json_object_get(into, name))
			continue;
		json_t *obj = controller_get(a->c, controller_kind("", res), ns, name);
		if (!obj)
			continue;
		json_object_set_new(into, name, obj);
		const char *vn = str_eq(res, "persistentvolumeclaims") ? json_path_str(obj, "spec.volumeName") : NULL;
		json_t *pv = vn ? controller_get(a->c, controller_kind("", "persistentvolumes"), NULL, vn) : NULL;
		if (pv)
			json_object_set_new(json_object_get(in, "persistentvolumes"), vn, pv);
	}
	json_decref(refs);
	json_t *node = controller_get(a->c, controller_kind("", "nodes"), NULL, a->node_name);
	if (node)
		json_object_set_new(in, "node", node);
	const char *rcn = json_path_str(pod, "spec.runtimeClassName");
	if (rcn && *rcn) {
		json_t *rc = controller_get(a->c, controller_kind("node.k8s.io", "runtimeclasses"), NULL, rcn);
		json_object_set_new(in, "runtimeClass", rc ? rc : json_null());
	}
	return in;
}

static bool terminal(json_t *status);

typedef struct status_write {
	agent *a;
	char *key, *uid;
} status_write;

/* The resourceVersion our own write produced is remembered so its watch event does not
 * cause another sync (the pod holds nothing new for us then). A pod's status writes are
 * sent one at a time: each carries the resourceVersion of this node's view of the pod, and
 * a joined agent's view learns the answer of the previous write only when it arrives, so
 * overlapping writes would conflict (409) with each other. A status that changed while one
 * was in flight is written when the answer comes; a 409 from another writer syncs the pod
 * again shortly, from the newer version. */
static void on_status_written(void *ud, int code, json_t *obj)
{
	status_write *w = ud;
	if (code >= 400 && code != 404 && code != 409) {
		const char *msg = json_string_value(json_object_get(obj, "message"));
		log_warn("agent: pod status write answered %d: %s", code, msg ? msg : "");
	}
	agent_pod *ap = w->a->c->state == w->a ? hmap_get(&w->a->pods, w->key) : NULL;
	if (ap && str_eq(ap->uid, w->uid)) {
		ap->status_writing = false;
		if (code == 200) {
			const char *rv = json_path_str(obj, "metadata.resourceVersion");
			free(ap->written_rv);
			ap->written_rv = xstrdup(rv);
		}
		if (code == 409) {
			ap->status_again = false;
			ap->kick = true;
			controller_enqueue_after(w->a->c, w->key, CONFLICT_SYNC_MS);
		} else if (ap->status_again) {
			ap->status_again = false;
			agent_pod_write_status(w->a, ap);
		}
	}
	free(w->key);
	free(w->uid);
	free(w);
}

/* Sends pod (ours) as ap's status; the answer comes to on_status_written. */
static void send_status(agent *a, agent_pod *ap, json_t *pod)
{
	status_write *w = xmalloc(sizeof *w);
	w->a = a;
	w->key = xstrdup(ap->key);
	w->uid = xstrdup(ap->uid);
	ap->status_writing = true; /* before the call: an in-process answer comes inside it */
	client_update(a->c->srv, AGENT_NAME, controller_kind("", "pods"), pod, "status",
	              on_status_written, w);
}

static void sync_done(agent_job *j);

void agent_pod_write_status(agent *a, agent_pod *ap)
{
	if (!ap->last_report)
		return;
	if (ap->status_writing) {
		ap->status_again = true;
		return;
	}
	_cleanup_free_ char *ns = NULL, *name = NULL;
	controller_split_key(ap->key, &ns, &name);
	const kind_desc *pk = controller_kind("", "pods");
	json_t *pod = controller_get(a->c, pk, ns, name);
	if (!pod || !str_eq(json_path_str(pod, "metadata.uid"), ap->uid) ||
	    json_path(pod, "metadata.deletionTimestamp")) {
		json_decref(pod);
		return;
	}
	json_t *st = agent_pod_status(a, pod, ap->last_report, ap);
	if (terminal(st))
		json_object_set_new(ap->mem, "finished", json_true());
	if (!json_equal(st, json_object_get(pod, "status"))) {
		json_object_set_new(pod, "status", st);
		send_status(a, ap, pod);
	} else {
		json_decref(st);
	}
	json_decref(pod);
}

static void sync_drop(agent_job *j)
{
	agent_sync_job *sj = (agent_sync_job *)j;
	free(sj->key);
	json_decref(sj->pod);
	json_decref(sj->mem);
	json_decref(sj->inputs);
	json_decref(sj->paths);
	json_decref(sj->report);
	free(sj);
}

static void submit(agent *a, agent_pod *ap, json_t *pod, bool cleanup)
{
	json_t *tokens = NULL;
	if (!cleanup && pod && !json_path(pod, "metadata.deletionTimestamp")) {
		bool waiting = false;
		tokens = agent_tokens_for(a, ap, pod, &waiting);
		/* A token asked for and not there yet (a joined agent's request is a round trip
		 * to the server): its answer syncs the pod; a sync now would only fail the mount
		 * and report the pod waiting. */
		if (waiting) {
			json_decref(tokens);
			return;
		}
	}
	agent_sync_job *sj = xcalloc(1, sizeof *sj);
	sj->job.work = agent_pod_sync;
	sj->job.done = sync_done;
	sj->job.drop = sync_drop;
	sj->a = a;
	sj->key = xstrdup(ap->key);
	sj->pod = pod ? json_clone(pod)
	              : json_pack("{s:{s:s}}", "metadata", "uid", ap->uid);
	sj->mem = json_clone(ap->mem);
	sj->cleanup = cleanup;
	ap->kick = false;
	sj->inputs = cleanup ? json_object() : gather_inputs(a, pod);
	if (tokens)
		json_object_set_new(sj->inputs, "serviceaccounttokens", tokens);
	ap->busy = true;
	ap->dirty = false;
	agent_pool_submit(a->pool, &sj->job);
}

static bool terminal(json_t *status)
{
	const char *p = json_string_value(json_object_get(status, "phase"));
	return str_eq(p, "Succeeded") || str_eq(p, "Failed");
}

static void record_events(agent *a, json_t *pod, json_t *report)
{
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(report, "events"), i, e)
	{
		event_record(a->c->srv, AGENT_NAME, pod, json_string_value(json_object_get(e, "type")),
		             json_string_value(json_object_get(e, "reason")), "%s",
		             json_string_value(json_object_get(e, "message")));
	}
}

static bool report_waiting(json_t *report)
{
	if (json_object_size(json_object_get(report, "waiting")) ||
	    json_object_get(report, "sandboxError"))
		return true;
	json_t *lists[2] = {json_object_get(report, "initContainerStatuses"),
	                    json_object_get(report, "containerStatuses")};
	for (int k = 0; k < 2; k++) {
		size_t i;
		json_t *cs;
		json_array_foreach(lists[k], i, cs)
		{
			if (json_path(cs, "state.waiting"))
				return true;
		}
	}
	return false;
}

static void sync_done(agent_job *j)
{
	agent_sync_job *sj = (agent_sync_job *)j;
	agent *a = sj->a;
	agent_pod *ap = hmap_get(&a->pods, sj->key);
	json_t *report = sj->report;
	const kind_desc *pk = controller_kind("", "pods");
	_cleanup_free_ char *ns = NULL, *name = NULL;
	controller_split_key(sj->key, &ns, &name);
	json_t *pod = controller_get(a->c, pk, ns, name);
	const char *uid = json_path_str(sj->pod, "metadata.uid");
	bool same = pod && str_eq(json_path_str(pod, "metadata.uid"), uid);
	if (same)
		record_events(a, pod, report);
	if (!ap || !str_eq(ap->uid, uid)) {
		/* Replaced while the job ran; the new pod has its own state. */
	} else if (json_is_true(json_object_get(report, "tornDown"))) {
		if (same && json_path(pod, "metadata.deletionTimestamp")) {
			/* k8s: the kubelet removes the object once everything is stopped. */
			json_t *opts = json_pack("{s:s, s:s, s:i, s:{s:s}}", "kind", "DeleteOptions",
			                         "apiVersion", "v1", "gracePeriodSeconds", 0,
			                         "preconditions", "uid", uid);
			client_delete(a->c->srv, AGENT_NAME, pk, ns, name, opts, NULL, NULL);
			json_decref(opts);
		}
		bool again = ap->dirty;
		pod_forget(a, ap);
		ap = NULL;
		if (again)
			controller_enqueue(a->c, sj->key);
	} else {
		json_decref(ap->mem);
		ap->mem = json_incref(sj->mem);
		ap->busy = false;
		if (same && json_object_get(report, "evicted")) {
			/* k8s: an evicted pod stays, Failed with reason Evicted, its containers
			 * stopped, until someone deletes it. */
			json_t *st = json_clone(json_object_get(pod, "status"));
			if (!json_is_object(st))
				st = json_object();
			json_object_set_new(st, "phase", json_string("Failed"));
			json_object_set_new(st, "reason", json_string("Evicted"));
			json_object_set(st, "message", json_object_get(report, "evicted"));
			size_t ci;
			json_t *cond;
			json_array_foreach(json_object_get(st, "conditions"), ci, cond)
			{
				const char *t = json_string_value(json_object_get(cond, "type"));
				if (str_eq(t, "Ready") || str_eq(t, "ContainersReady"))
					json_object_set_new(cond, "status", json_string("False"));
			}
			json_object_set_new(ap->mem, "finished", json_true());
			agent_probes_clear(ap);
			json_object_set_new(pod, "status", st);
			send_status(a, ap, pod);
		} else if (same && report && (json_object_get(report, "containerStatuses") ||
		                       json_object_get(report, "sandboxError"))) {
			json_decref(ap->last_report);
			ap->last_report = json_incref(report);
			const char *ip = json_string_value(json_object_get(report, "podIP"));
			if (ip && !str_eq(ip, ap->pod_ip)) {
				free(ap->pod_ip);
				ap->pod_ip = xstrdup(ip);
			}
			agent_probes_update(a, ap, pod, report);
			agent_pod_write_status(a, ap);
		}
		if (ap->dirty) {
			ap->kick = true; /* something changed while busy: sync, not skip */
			controller_enqueue(a->c, sj->key);
		} else if (!json_object_get(ap->mem, "finished"))
		{
			uint64_t ms = report_waiting(report) ? RESYNC_BUSY_MS : RESYNC_IDLE_MS;
			ap->resync_at = time_mono_ns() + (int64_t)ms * 1000000 - 50000000;
			controller_enqueue_after(a->c, sj->key, ms);
		}
	}
	json_decref(pod);
	json_decref(sj->pod);
	json_decref(sj->mem);
	json_decref(sj->report);
	json_decref(sj->inputs);
	json_decref(sj->paths);
	free(sj->key);
	free(sj);
}

static int reconcile_pod(agent *a, const char *key)
{
	_cleanup_free_ char *ns = NULL, *name = NULL;
	controller_split_key(key, &ns, &name);
	json_t *pod = controller_get(a->c, controller_kind("", "pods"), ns, name);
	agent_pod *ap = hmap_get(&a->pods, key);
	bool mine = pod && str_eq(json_path_str(pod, "spec.nodeName"), a->node_name);
	const char *uid = pod ? json_path_str(pod, "metadata.uid") : NULL;
	if (ap && (!mine || !str_eq(ap->uid, uid))) {
		/* Gone, moved, or replaced by a pod of the same name: stop what ran. */
		if (ap->busy) {
			ap->dirty = true;
		} else {
			json_t *old = mine ? NULL : pod;
			submit(a, ap, old && str_eq(json_path_str(old, "metadata.uid"), ap->uid) ? old : NULL,
			       true);
		}
		json_decref(pod);
		return RECONCILE_DONE;
	}
	if (!mine) {
		json_decref(pod);
		return RECONCILE_DONE;
	}
	ap = pod_state(a, key, uid);
	/* Our own status write coming back: nothing to do until the next resync. */
	if (!ap->busy && !ap->kick && ap->written_rv &&
	    str_eq(json_path_str(pod, "metadata.resourceVersion"), ap->written_rv) &&
	    !json_path(pod, "metadata.deletionTimestamp") && time_mono_ns() < ap->resync_at) {
		json_decref(pod);
		return RECONCILE_DONE;
	}
	if (ap->busy) {
		ap->dirty = true; /* kick, if set, stays for the sync that follows */
	} else if (!json_object_get(ap->mem, "finished") ||
	           json_path(pod, "metadata.deletionTimestamp")) {
		submit(a, ap, pod, false);
	}
	json_decref(pod);
	return RECONCILE_DONE;
}

static int reconcile(controller *c, const char *key)
{
	agent *a = c->state;
	if (!a)
		return RECONCILE_DONE;
	if (strchr(key, '/'))
		return reconcile_pod(a, key);
	if (str_eq(key, a->node_name))
		agent_node_sync(a);
	return RECONCILE_DONE;
}

static void on_pod(controller *c, const kind_desc *d, const cache_event *ev)
{
	UNUSED(d);
	agent *a = c->state;
	if (!a)
		return;
	char key[320], node[256];
	if (!sim_pod_event_ref(ev, key, node))
		return;
	if (str_eq(node, a->node_name) || hmap_get(&a->pods, key))
		controller_enqueue(c, key);
}

static void on_node(controller *c, const kind_desc *d, const cache_event *ev)
{
	UNUSED(d);
	agent *a = c->state;
	if (!a)
		return;
	/* Our node deleted (register again) or changed by someone else (podCIDR). */
	const char *k = ev->key;
	const char *slash = k ? strrchr(k, '/') : NULL;
	if (slash && str_eq(slash + 1, a->node_name))
		controller_enqueue(c, a->node_name);
}

/* ---------- exits, heartbeats, garbage collection ---------- */

static void on_exit_file(uv_fs_event_t *h, const char *filename, int events, int status)
{
	UNUSED(events);
	agent *a = h->data;
	if (status < 0 || !filename)
		return;
	char *uid = NULL, *name = NULL;
	int att;
	if (agent_container_id_parse(filename, &uid, &name, &att) < 0)
		return;
	size_t it = 0;
	const char *k;
	void *v;
	while (hmap_next(&a->pods, &it, &k, &v)) {
		agent_pod *ap = v;
		if (str_eq(ap->uid, uid)) {
			ap->kick = true;
			controller_enqueue(a->c, ap->key);
			break;
		}
	}
	free(uid);
	free(name);
}

typedef struct gc_job {
	agent_job job;
	agent *a;
	json_t *known; /* uids the loop knows of */
} gc_job;

/* Containers whose pod this agent does not know (deleted while it was down) go. */
static void gc_work(agent_job *j)
{
	gc_job *g = (gc_job *)j;
	runtime_status *all = NULL;
	size_t n = 0;
	if (runtime_list(g->a->rt, NULL, &all, &n, NULL) < 0)
		return;
	json_t *done = json_object();
	for (size_t i = 0; i < n; i++) {
		char *uid = NULL, *name = NULL;
		int att;
		if (agent_container_id_parse(all[i].id, &uid, &name, &att) == 0 &&
		    !json_object_get(g->known, uid) && !json_object_get(done, uid)) {
			log_info("agent: removing containers of pod %s, which no longer exists", uid);
			agent_pod_teardown(g->a, uid, 0, NULL, NULL);
			json_object_set_new(done, uid, json_true());
		}
		free(uid);
		free(name);
	}
	json_decref(done);
	runtime_statuses_free(all, n);
}

static void gc_done(agent_job *j)
{
	gc_job *g = (gc_job *)j;
	json_decref(g->known);
	free(g);
}

static void gc_drop(agent_job *j)
{
	gc_job *g = (gc_job *)j;
	json_decref(g->known);
	free(g);
}

static void gc_start(agent *a)
{
	gc_job *g = xcalloc(1, sizeof *g);
	g->job.work = gc_work;
	g->job.done = gc_done;
	g->job.drop = gc_drop;
	g->a = a;
	g->known = json_object();
	/* Every pod object bound here counts, tracked or not yet. */
	json_t **pods;
	size_t n = controller_list(a->c, controller_kind("", "pods"), NULL, &pods);
	for (size_t i = 0; i < n; i++)
		if (str_eq(json_path_str(pods[i], "spec.nodeName"), a->node_name))
			json_object_set_new(g->known, json_path_str(pods[i], "metadata.uid"), json_true());
	controller_list_free(pods, n);
	size_t it = 0;
	const char *k;
	void *v;
	while (hmap_next(&a->pods, &it, &k, &v))
		json_object_set_new(g->known, ((agent_pod *)v)->uid, json_true());
	agent_pool_submit(a->pool, &g->job);
}

/* ---------- log rotation and image garbage collection (agent_logs.c, agent_images.c) ---------- */

typedef struct upkeep_job {
	agent_job job;
	agent *a;
	json_t *last_used; /* image GC: a copy of a->image_last_used */
	json_t *report;
} upkeep_job;

static void logs_work(agent_job *j)
{
	upkeep_job *u = (upkeep_job *)j;
	agent_logs_rotate(u->a->rt, u->a->cfg.log_max_size, u->a->cfg.log_max_files);
}

static void logs_done(agent_job *j)
{
	upkeep_job *u = (upkeep_job *)j;
	u->a->logs_busy = false;
	free(u);
}

static void images_work(agent_job *j)
{
	upkeep_job *u = (upkeep_job *)j;
	agent *a = u->a;
	u->report = agent_images_gc(a, u->last_used, a->cfg.image_gc_high, a->cfg.image_gc_low,
	                            a->cfg.image_min_age_s);
}

static void images_done(agent_job *j)
{
	upkeep_job *u = (upkeep_job *)j;
	agent *a = u->a;
	a->images_busy = false;
	json_decref(a->image_last_used);
	a->image_last_used = u->last_used;
	json_t *r = u->report;
	if (r) {
		size_t i;
		json_t *im;
		json_array_foreach(json_object_get(r, "removed"), i, im)
		    log_info("agent: image GC removed %s (%s, %lld bytes)",
		             json_string_value(json_object_get(im, "name")),
		             json_string_value(json_object_get(im, "id")),
		             (long long)json_integer_value(json_object_get(im, "size")));
		log_info("agent: image filesystem at %lld%% (high threshold %d%%): %lld bytes to free "
		         "down to %d%%, %lld bytes freed by %zu images (%lld measured)",
		         (long long)json_integer_value(json_object_get(r, "usage")), a->cfg.image_gc_high,
		         (long long)json_integer_value(json_object_get(r, "amountToFree")),
		         a->cfg.image_gc_low, (long long)json_integer_value(json_object_get(r, "freed")),
		         json_array_size(json_object_get(r, "removed")),
		         (long long)json_integer_value(json_object_get(r, "measured")));
		const char *e = json_string_value(json_object_get(r, "error"));
		json_t *node = e ? controller_get(a->c, controller_kind("", "nodes"), NULL, a->node_name) : NULL;
		if (node) {
			/* k8s: FreeDiskSpaceFailed each time not enough could be freed; ImageGCFailed
			 * when that happens twice in a row. */
			event_record(a->c->srv, AGENT_NAME, node, "Warning", "FreeDiskSpaceFailed", "%s", e);
			if (a->images_failed_before)
				event_record(a->c->srv, AGENT_NAME, node, "Warning", "ImageGCFailed", "%s", e);
			json_decref(node);
		}
		if (e)
			log_warn("agent: image garbage collection: %s", e);
		a->images_failed_before = e != NULL;
	} else {
		a->images_failed_before = false;
	}
	json_decref(r);
	free(u);
}

static void upkeep_drop(agent_job *j)
{
	upkeep_job *u = (upkeep_job *)j;
	json_decref(u->last_used);
	json_decref(u->report);
	free(u);
}

static void upkeep(agent *a, int64_t now)
{
	if (now >= a->next_logs_ns && !a->logs_busy) {
		a->next_logs_ns = now + LOGS_EVERY_NS;
		upkeep_job *u = xcalloc(1, sizeof *u);
		u->job.work = logs_work;
		u->job.done = logs_done;
		u->job.drop = upkeep_drop;
		u->a = a;
		a->logs_busy = true;
		agent_pool_submit(a->pool, &u->job);
	}
	if (now >= a->next_images_ns && !a->images_busy) {
		a->next_images_ns = now + IMAGES_EVERY_NS;
		upkeep_job *u = xcalloc(1, sizeof *u);
		u->job.work = images_work;
		u->job.done = images_done;
		u->job.drop = upkeep_drop;
		u->a = a;
		u->last_used = json_clone(a->image_last_used);
		a->images_busy = true;
		agent_pool_submit(a->pool, &u->job);
	}
}

static void on_probe_tick(uv_timer_t *t)
{
	agent_probes_run(t->data);
}

static void on_tick(uv_timer_t *t)
{
	agent *a = t->data;
	int64_t now = time_mono_ns();
	if (now >= a->next_lease_ns && a->registered) {
		agent_lease_renew(a);
		a->next_lease_ns = now + LEASE_EVERY_NS;
	}
	if (now >= a->next_status_ns) {
		a->next_status_ns = now + STATUS_EVERY_NS;
		controller_enqueue(a->c, a->node_name);
	}
	if (a->registered)
		agent_evict_check(a);
	if (now >= a->next_gc_ns && a->registered) {
		a->next_gc_ns = now + GC_EVERY_NS;
		gc_start(a);
	}
	if (a->registered)
		upkeep(a, now);
	if (now >= a->next_trim_ns) {
		a->next_trim_ns = now + TRIM_EVERY_NS;
		heap_release();
	}
}

/* ---------- start and stop ---------- */

static char *lower_hostname(void)
{
	char h[256] = "localhost";
	gethostname(h, sizeof h - 1);
	for (char *p = h; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return xstrdup(h);
}

static void start(controller *c)
{
	if (!g_enabled)
		return;
	if (geteuid() != 0) {
		log_error("agent: the node agent needs root (namespaces, cgroups, mounts); not "
		          "running it. Start as root, or pass --disable-agent to run the control "
		          "plane only.");
		return;
	}
	agent *a = xcalloc(1, sizeof *a);
	a->c = c;
	a->cfg = g_cfg;
	a->node_name = g_cfg.node_name ? xstrdup(g_cfg.node_name) : lower_hostname();
	char ip[64];
	if (g_cfg.node_ip)
		a->node_ip = xstrdup(g_cfg.node_ip);
	else
		a->node_ip = xstrdup(agent_default_ip(ip) ? ip : "127.0.0.1");
	a->pod_cidr = xstrdup(g_cfg.pod_cidr);
	_cleanup_free_ char *state =
	    g_cfg.state_dir ? xstrdup(g_cfg.state_dir) : xasprintf("%s/agent", g_data_dir);
	const char *run = g_cfg.run_dir ? g_cfg.run_dir : "/run/timon";
	a->pods_dir = xasprintf("%s/pods", state);
	mkdir(state, 0700);
	mkdir(a->pods_dir, 0755);
	terr *err = NULL;
	_cleanup_free_ char *images = xasprintf("%s/images", state);
	_cleanup_free_ char *ctrs = xasprintf("%s/containers", state);
	_cleanup_free_ char *rtrun = xasprintf("%s/runtime", run);
	a->images = image_store_open(images, &err);
	runtime_config rc = {.root = ctrs, .run_dir = rtrun};
	if (a->images)
		a->rt = runtime_open(&rc, &err);
	if (!a->images || !a->rt) {
		log_error("agent: cannot start: %s", err ? err->message : "?");
		terr_free(err);
		if (a->images)
			image_store_close(a->images);
		free(a->pods_dir);
		free(a->node_name);
		free(a->node_ip);
		free(a->pod_cidr);
		free(a);
		return;
	}
	/* k8s: RuntimeClass handlers name the node's runtimes; "runc" is the detected one. */
	a->handlers = json_object();
	json_object_set_new(a->handlers, "runc", json_string(runtime_binary(a->rt)));
	for (size_t i = 0; i < g_cfg.n_runtime_handlers; i++) {
		const char *h = g_cfg.runtime_handlers[i];
		const char *eq = strchr(h, '=');
		_cleanup_free_ char *name = eq ? xstrndup(h, (size_t)(eq - h)) : NULL;
		if (!name || access(eq + 1, X_OK) < 0) {
			log_error("agent: runtime handler \"%s\" is not NAME=executable; ignored", h);
			continue;
		}
		json_object_set_new(a->handlers, name, json_string(eq + 1));
		log_info("agent: runtime handler %s: %s", name, eq + 1);
	}
	a->cni_state_dir = xstrdup(state);
	a->cni_netns_dir = xasprintf("%s/netns", run);
	a->cni.state_dir = a->cni_state_dir;
	a->cni.netns_dir = a->cni_netns_dir;
	a->cni.bridge = g_cfg.bridge;
	/* Pods reach out as the node through one nftables rule (agent_masq.c) rather than the
	 * bridge plugin's per-pod iptables chains; if the rule cannot be set, the plugin
	 * does it as before. */
	const char *cluster_cidr = netsvc_env("TIMON_PROXY_CLUSTER_CIDR");
	if (!cluster_cidr || !*cluster_cidr)
		cluster_cidr = NETSVC_CLUSTER_CIDR_DEFAULT;
	terr *merr = NULL;
	if (agent_masq_apply(a->node_name, cluster_cidr, &merr) == 0) {
		a->cni.no_ip_masq = true;
	} else {
		log_warn("agent: %s; pods are masqueraded by the bridge plugin instead",
		         merr ? merr->message : "pod egress rule failed");
		terr_free(merr);
	}
	a->node_static = agent_node_facts(a);
	if (agent_eviction_parse(g_cfg.eviction_hard, &a->evict_mem_min, &a->evict_nodefs_pct) < 0) {
		log_error("agent: invalid --eviction-hard \"%s\"; using kube's defaults", g_cfg.eviction_hard);
		agent_eviction_parse(NULL, &a->evict_mem_min, &a->evict_nodefs_pct);
	}
	a->pool = agent_pool_new(apiserver_loop(c->srv), POOL_THREADS);
	c->state = a;
	uv_loop_t *loop = apiserver_loop(c->srv);
	uv_fs_event_init(loop, &a->exits);
	a->exits.data = a;
	if (uv_fs_event_start(&a->exits, on_exit_file, runtime_exit_dir(a->rt), 0) < 0)
		log_warn("agent: cannot watch %s; exits are noticed by polling",
		         runtime_exit_dir(a->rt));
	uv_timer_init(loop, &a->tick);
	a->tick.data = a;
	uv_timer_start(&a->tick, on_tick, 0, TICK_MS);
	uv_timer_init(loop, &a->probe_tick);
	a->probe_tick.data = a;
	uv_timer_start(&a->probe_tick, on_probe_tick, PROBE_TICK_MS, PROBE_TICK_MS);
	agent_metrics_attach(c->srv, a->node_name);
	a->streams = agent_stream_attach(c->srv, a->rt, a->node_name, g_cfg.log_root);
	a->next_gc_ns = time_mono_ns() + 5000000000LL;
	a->next_images_ns = time_mono_ns() + 5000000000LL;
	a->image_last_used = json_object();
	log_info("agent: node %s (%s), runtime %s, state in %s", a->node_name, a->node_ip,
	         runtime_binary(a->rt), state);
	controller_enqueue(c, a->node_name);
}

static void closed(uv_handle_t *h)
{
	(void)h;
}

/* Stopped agents: their state lives as long as the process (see stop). */
static agent *g_retired;

static void stop(controller *c)
{
	agent *a = c->state;
	if (!a)
		return;
	uv_timer_stop(&a->tick);
	uv_close((uv_handle_t *)&a->tick, closed);
	uv_timer_stop(&a->probe_tick);
	uv_close((uv_handle_t *)&a->probe_tick, closed);
	uv_fs_event_stop(&a->exits);
	uv_close((uv_handle_t *)&a->exits, closed);
	/* Containers keep running: a new agent re-adopts them. */
	agent_pool_free(a->pool);
	c->state = NULL;
	/* The pods map, store and runtime handles go with the process; jobs dropped by the
	 * pool may still point at them. Kept on a list, so that this is said to the leak
	 * checker too: the state stays reachable whether or not the loop has since run the
	 * handles' close callbacks (which unlink them from the loop). */
	a->retired_next = g_retired;
	g_retired = a;
}

const controller_def agent_controller = {
    .name = AGENT_NAME,
    .watches = {{.group = "", .resource = "pods", .on_event = on_pod},
                {.group = "", .resource = "nodes", .on_event = on_node}},
    .reconcile = reconcile,
    .start = start,
    .stop = stop,
};
CONTROLLER_REGISTER(agent_controller);
