/* daemonset.c — the DaemonSet controller: one pod per eligible node, following nodes as
 * they join, change and leave; RollingUpdate (maxUnavailable, or maxSurge) and OnDelete
 * updates tracked by ControllerRevisions (`kubectl rollout history/undo/status` work); and
 * the status kube reports.
 *
 * Pods are not bound here: like kube, each pod gets a required node affinity on
 * metadata.name (matchFields) and the scheduler binds it. A sync follows kube's
 * syncDaemonSet; writes land in the watch cache before the client returns, so a sync that
 * created or deleted pods leaves the rolling update to the sync their events trigger (what
 * kube's expectations achieve).
 * Not for: which node suits a pod (daemonset_node.c), the rolling update and history
 * (daemonset_update.c), revision hashing (revision.c).
 */
#include <stdlib.h>
#include <string.h>

#include "api/selector.h"
#include "apiserver/client.h"
#include "base/hmap.h"
#include "base/json.h"
#include "base/log.h"
#include "base/util.h"
#include "controllers/controller-internal.h"
#include "controllers/daemonset-internal.h"
#include "controllers/events.h"
#include "controllers/podutil.h"
#include "controllers/revision.h"

/* k8s: BurstReplicas: at most this many creations (and deletions) per sync. */
#define BURST_REPLICAS 250
/* k8s: the failed-pod backoff starts at 1 s and doubles up to 15 min. */
#define FAILED_BACKOFF_MS 1000
#define FAILED_BACKOFF_MAX_MS (15 * 60 * 1000)

/* ---------- controller state: the failed-pod backoff ---------- */

typedef struct backoff {
	char *key; /* "<ds uid>/<node>" */
	int64_t delay_ms, last_ms;
} backoff;

typedef struct ds_state {
	hmap backoff; /* key -> backoff */
} ds_state;

static int64_t now_ms(void)
{
	return time_mono_ns() / 1000000;
}

/* k8s: flowcontrol.Backoff: true (with the remaining wait) while key is backing off;
 * otherwise steps the backoff and returns false. */
static bool in_backoff(controller *c, const char *key, int64_t *wait_ms)
{
	ds_state *st = c->state;
	backoff *b = hmap_get(&st->backoff, key);
	int64_t now = now_ms();
	if (b && now - b->last_ms < b->delay_ms) {
		*wait_ms = b->delay_ms - (now - b->last_ms);
		return true;
	}
	if (!b) {
		b = xcalloc(1, sizeof *b);
		b->key = xstrdup(key);
		hmap_put(&st->backoff, b->key, b);
	}
	if (!b->delay_ms || now - b->last_ms > 2 * FAILED_BACKOFF_MAX_MS)
		b->delay_ms = FAILED_BACKOFF_MS;
	else if ((b->delay_ms *= 2) > FAILED_BACKOFF_MAX_MS)
		b->delay_ms = FAILED_BACKOFF_MAX_MS;
	b->last_ms = now;
	return false;
}

static void start(controller *c)
{
	c->state = xcalloc(1, sizeof(ds_state));
}

static void stop(controller *c)
{
	ds_state *st = c->state;
	if (!st)
		return;
	size_t it = 0;
	const char *k;
	void *v;
	while (hmap_next(&st->backoff, &it, &k, &v)) {
		backoff *b = v;
		free(b->key);
		free(b);
	}
	hmap_free(&st->backoff);
	free(st);
	c->state = NULL;
}

static void free_pods(ds_sync *s)
{
	for (size_t i = 0; i < s->nbuckets; i++) {
		free(s->buckets[i]->node);
		free(s->buckets[i]->pods);
		free(s->buckets[i]);
	}
	free(s->buckets);
	s->buckets = NULL;
	s->nbuckets = 0;
	hmap_free(&s->by_node);
	memset(&s->by_node, 0, sizeof s->by_node);
	controller_list_free(s->pods, s->npods);
	s->pods = NULL;
	s->npods = 0;
}

bucket *ds_bucket(ds_sync *s, const char *node)
{
	return node ? hmap_get(&s->by_node, node) : NULL;
}

static void bucket_add(ds_sync *s, const char *node, json_t *pod)
{
	bucket *b = hmap_get(&s->by_node, node);
	if (!b) {
		b = xcalloc(1, sizeof *b);
		b->node = xstrdup(node);
		hmap_put(&s->by_node, b->node, b);
		s->buckets = xrealloc(s->buckets, (s->nbuckets + 1) * sizeof *s->buckets);
		s->buckets[s->nbuckets++] = b;
	}
	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 2;
		b->pods = xrealloc(b->pods, b->cap * sizeof *b->pods);
	}
	b->pods[b->n++] = pod;
}

static void patch_pod_refs(ds_sync *s, json_t *pod, json_t *refs)
{
	json_t *patch = json_pack("{s:{s:o, s:O}}", "metadata", "ownerReferences", refs, "uid",
	                          json_path(pod, "metadata.uid"));
	client_patch(s->c->srv, s->c->def->name, controller_kind("", "pods"), s->ns,
	             json_path_str(pod, "metadata.name"), NULL, NULL, patch, NULL, NULL);
	json_decref(patch);
}

/* k8s: getNodesToDaemonPods: claims the pods (adopting matching orphans, releasing pods
 * that stopped matching) and groups them by target node. */
static void load_pods(ds_sync *s)
{
	free_pods(s);
	const kind_desc *pk = controller_kind("", "pods");
	json_t **all;
	size_t n = controller_list(s->c, pk, s->ns, &all);
	s->pods = xcalloc(n ? n : 1, sizeof *s->pods);
	for (size_t i = 0; i < n; i++) {
		json_t *p = all[i];
		json_t *ref = controller_owner(p);
		bool match = label_selector_matches(s->sel, json_path(p, "metadata.labels"));
		bool deleting = json_path(p, "metadata.deletionTimestamp") != NULL;
		json_t *mine = NULL;
		if (ref && str_eq(json_string_value(json_object_get(ref, "uid")), s->uid)) {
			if (match) {
				mine = json_incref(p);
			} else if (!deleting) {
				json_t *refs = json_array();
				size_t j;
				json_t *r;
				json_array_foreach(json_path(p, "metadata.ownerReferences"), j, r) {
					if (!str_eq(json_string_value(json_object_get(r, "uid")), s->uid))
						json_array_append(refs, r);
				}
				patch_pod_refs(s, p, refs);
			}
		} else if (!ref && match && !deleting) {
			/* k8s: a matching orphan pod is adopted. */
			patch_pod_refs(s, p, json_pack("[o]", controller_owner_ref(s->ds)));
			json_t *got = controller_get(s->c, pk, s->ns, json_path_str(p, "metadata.name"));
			json_t *gref = got ? controller_owner(got) : NULL;
			if (gref && str_eq(json_string_value(json_object_get(gref, "uid")), s->uid))
				mine = got;
			else
				json_decref(got);
		}
		if (!mine)
			continue;
		const char *node = ds_target_node(mine);
		if (!node) {
			json_decref(mine);
			continue;
		}
		s->pods[s->npods++] = mine;
		bucket_add(s, node, mine);
	}
	controller_list_free(all, n);
}

/* ---------- pod writes ---------- */

typedef struct pod_write {
	controller *c;
	json_t *ds;
	char *pod;     /* deletions: the pod's name */
	bool returned; /* the call has returned: the answer's callback frees this */
	bool answered, refused;
} pod_write;

static void pod_write_free(pod_write *w)
{
	json_decref(w->ds);
	free(w->pod);
	free(w);
}

/* k8s: RealPodControl's events on the DaemonSet. */
static void on_pod_write(void *ud, int code, json_t *obj)
{
	pod_write *w = ud;
	const char *msg = json_string_value(json_object_get(obj, "message"));
	w->answered = true;
	if (!w->pod) {
		w->refused = code >= 300;
		if (code < 300)
			event_record(w->c->srv, DS_COMPONENT, w->ds, "Normal", "SuccessfulCreate",
			             "Created pod: %s", json_path_str(obj, "metadata.name"));
		else
			event_record(w->c->srv, DS_COMPONENT, w->ds, "Warning", "FailedCreate",
			             "Error creating: %s", msg ? msg : "unknown error");
	} else if (code < 300) {
		event_record(w->c->srv, DS_COMPONENT, w->ds, "Normal", "SuccessfulDelete",
		             "Deleted pod: %s", w->pod);
	} else if (code != 404) {
		event_record(w->c->srv, DS_COMPONENT, w->ds, "Warning", "FailedDelete",
		             "Error deleting: %s", msg ? msg : "unknown error");
	}
	if (w->returned || w->pod)
		pod_write_free(w);
}

/* After a create's call: true when it went in (its answer follows once durable). */
static bool create_went_in(pod_write *w)
{
	if (!w->answered) {
		w->returned = true;
		return true;
	}
	bool ok = !w->refused;
	pod_write_free(w);
	return ok;
}

static pod_write *pod_write_new(ds_sync *s, const char *pod)
{
	pod_write *w = xcalloc(1, sizeof *w);
	w->c = s->c;
	w->ds = json_incref(s->ds);
	w->pod = xstrdup(pod); /* NULL for a creation */
	return w;
}

size_t ds_sync_nodes(ds_sync *s, json_t **del, size_t ndel, const char **create,
                     size_t ncreate)
{
	const kind_desc *pk = controller_kind("", "pods");
	size_t writes = 0;
	if (ncreate) {
		json_t *tmpl = ds_pod_template(s->ds, s->hash);
		json_t *tmeta = json_object_get(tmpl, "metadata");
		char *gen = xasprintf("%s-", s->name);
		/* slow start; a refused create has the sync retried with backoff */
		slow_start st = {.batch = 1};
		for (size_t i = 0; i < ncreate && i < BURST_REPLICAS && slow_start_more(&st); i++) {
			json_t *spec = json_clone(json_object_get(tmpl, "spec"));
			ds_set_node_affinity(spec, create[i]);
			json_t *meta = json_pack("{s:s, s:s, s:O, s:[o]}", "generateName", gen,
			                         "namespace", s->ns, "labels",
			                         json_object_get(tmeta, "labels"), "ownerReferences",
			                         controller_owner_ref(s->ds));
			if (json_object_size(json_object_get(tmeta, "annotations")))
				json_object_set(meta, "annotations", json_object_get(tmeta, "annotations"));
			if (json_array_size(json_object_get(tmeta, "finalizers")))
				json_object_set(meta, "finalizers", json_object_get(tmeta, "finalizers"));
			json_t *pod = json_pack("{s:s, s:s, s:o, s:o}", "apiVersion", "v1", "kind", "Pod",
			                        "metadata", meta, "spec", spec);
			pod_write *w = pod_write_new(s, NULL);
			client_create(s->c->srv, s->c->def->name, pk, s->ns, pod, on_pod_write, w);
			json_decref(pod);
			writes += (size_t)slow_start_done(&st, create_went_in(w));
		}
		s->refused |= slow_start_refused(&st);
		free(gen);
		json_decref(tmpl);
	}
	for (size_t i = 0; i < ndel && i < BURST_REPLICAS; i++) {
		const char *name = json_path_str(del[i], "metadata.name");
		client_delete(s->c->srv, s->c->def->name, pk, s->ns, name, NULL, on_pod_write,
		              pod_write_new(s, name));
		writes++;
	}
	if (ncreate > BURST_REPLICAS || ndel > BURST_REPLICAS) {
		char *key = controller_key_of(s->ds);
		controller_enqueue(s->c, key);
		free(key);
	}
	return writes;
}

/* ---------- manage: the pods each node should have ---------- */

void ds_plan_delete(ds_plan *p, json_t *pod)
{
	for (size_t i = 0; i < p->ndel; i++)
		if (p->del[i] == pod)
			return;
	p->del = xrealloc(p->del, (p->ndel + 1) * sizeof *p->del);
	p->del[p->ndel++] = pod;
}

void ds_plan_create(ds_plan *p, const char *node)
{
	p->create = xrealloc(p->create, (p->ncreate + 1) * sizeof *p->create);
	p->create[p->ncreate++] = node;
}

void ds_plan_free(ds_plan *p)
{
	free(p->del);
	free(p->create);
}

/* k8s: podsShouldBeOnNode for node i. */
static void node_pods(ds_sync *s, size_t ni, ds_plan *p)
{
	const char *node_name = json_path_str(s->nodes[ni], "metadata.name");
	bool should_run = s->run[ni], should_continue = s->cont[ni];
	bucket *b = ds_bucket(s, node_name);
	bool exists = b && b->n;
	if (should_run && !exists) {
		ds_plan_create(p, node_name);
		return;
	}
	if (!should_continue) {
		/* k8s: a node that should not run the pod loses every daemon pod on it. */
		for (size_t i = 0; exists && i < b->n; i++)
			if (!json_path(b->pods[i], "metadata.deletionTimestamp"))
				ds_plan_delete(p, b->pods[i]);
		return;
	}
	json_t **running = xcalloc(b->n + 1, sizeof *running);
	size_t nrun = 0;
	for (size_t i = 0; i < b->n; i++) {
		json_t *pod = b->pods[i];
		if (json_path(pod, "metadata.deletionTimestamp"))
			continue;
		if (!str_eq(json_path_str(pod, "status.phase"), "Failed")) {
			running[nrun++] = pod;
			continue;
		}
		/* k8s: a failed daemon pod is deleted (and so recreated), with a per-node backoff. */
		char *key = xasprintf("%s/%s", s->uid, node_name);
		int64_t wait = 0;
		if (in_backoff(s->c, key, &wait)) {
			char *dskey = controller_key_of(s->ds);
			controller_enqueue_after(s->c, dskey, (uint64_t)wait);
			free(dskey);
		} else {
			event_record(s->c->srv, DS_COMPONENT, s->ds, "Warning", "FailedDaemonPod",
			             "Found failed daemon pod %s/%s on node %s, will try to kill it", s->ns,
			             json_path_str(pod, "metadata.name"), node_name);
			ds_plan_delete(p, pod);
		}
		free(key);
	}
	ds_sort_pods(running, nrun);
	if (!ds_allows_surge(s->ds)) {
		/* k8s: without surge, only the oldest pod stays. */
		for (size_t i = 1; i < nrun; i++)
			ds_plan_delete(p, running[i]);
	} else if (nrun == 0) {
		if (should_run)
			ds_plan_create(p, node_name);
	} else if (nrun > 1) {
		/* k8s: with surge, the oldest new and oldest old pod may both stay while the new one
		 * is not available and the old one is ready; everything else goes. */
		json_t *oldest_new = NULL, *oldest_old = NULL;
		for (size_t i = 0; i < nrun; i++) {
			json_t *pod = running[i];
			bool is_new = str_eq(json_string_value(json_object_get(
			                         json_path(pod, "metadata.labels"), "controller-revision-hash")),
			                     s->hash);
			if (is_new && !oldest_new)
				oldest_new = pod;
			else if (!is_new && !oldest_old)
				oldest_old = pod;
			else
				ds_plan_delete(p, pod);
		}
		if (oldest_new && oldest_old &&
		    (!pod_is_ready(oldest_old) ||
		     pod_is_available(oldest_new,
		                      json_integer_value(json_path(s->ds, "spec.minReadySeconds")), s->now)))
			ds_plan_delete(p, oldest_old);
	}
	free(running);
}

/* k8s: manage. Returns the writes made. */
static size_t manage(ds_sync *s)
{
	ds_plan p = {0};
	for (size_t i = 0; i < s->nnodes; i++)
		node_pods(s, i, &p);
	for (size_t i = 0; i < s->nbuckets; i++) {
		bucket *b = s->buckets[i];
		if (hmap_get(&s->node_by_name, b->node))
			continue;
		/* k8s: unscheduled pods aimed at a node that is gone are deleted here. Bound ones
		 * are the pod garbage collector's in kube; timon has none yet, so they go too. */
		for (size_t j = 0; j < b->n; j++)
			if (!json_path(b->pods[j], "metadata.deletionTimestamp"))
				ds_plan_delete(&p, b->pods[j]);
	}
	size_t writes = ds_sync_nodes(s, p.del, p.ndel, p.create, p.ncreate);
	ds_plan_free(&p);
	return writes;
}

/* ---------- status ---------- */

/* k8s: updateDaemonSetStatus + storeDaemonSetStatus. */
static void write_status(ds_sync *s)
{
	int desired = 0, current = 0, misscheduled = 0, ready = 0, updated = 0, available = 0;
	int64_t mrs = json_integer_value(json_path(s->ds, "spec.minReadySeconds"));
	for (size_t i = 0; i < s->nnodes; i++) {
		bool run = s->run[i];
		bucket *b = ds_bucket(s, json_path_str(s->nodes[i], "metadata.name"));
		bool scheduled = b && b->n;
		if (!run) {
			if (scheduled)
				misscheduled++;
			continue;
		}
		desired++;
		if (!scheduled)
			continue;
		current++;
		/* k8s: the oldest pod of the node speaks for it. */
		ds_sort_pods(b->pods, b->n);
		json_t *pod = b->pods[0];
		if (pod_is_ready(pod)) {
			ready++;
			if (pod_is_available(pod, mrs, s->now))
				available++;
		}
		if (ds_pod_updated(s->ds, pod, s->hash))
			updated++;
	}
	json_t *st = json_object_get(s->ds, "status");
	json_t *want = json_pack("{s:i, s:i, s:i, s:i}", "currentNumberScheduled", current,
	                         "numberMisscheduled", misscheduled, "desiredNumberScheduled", desired,
	                         "numberReady", ready);
	json_t *gen = json_path(s->ds, "metadata.generation");
	if (json_integer_value(gen))
		json_object_set(want, "observedGeneration", gen);
	/* k8s: zero counts of these are left out, as Go's omitempty prints them. */
	if (updated)
		json_object_set_new(want, "updatedNumberScheduled", json_integer(updated));
	if (available)
		json_object_set_new(want, "numberAvailable", json_integer(available));
	if (desired - available)
		json_object_set_new(want, "numberUnavailable", json_integer(desired - available));
	if (json_object_get(st, "collisionCount"))
		json_object_set(want, "collisionCount", json_object_get(st, "collisionCount"));
	if (json_object_get(st, "conditions"))
		json_object_set(want, "conditions", json_object_get(st, "conditions"));
	if (!json_equal(st, want)) {
		json_t *obj = json_clone(s->ds);
		json_object_set_new(obj, "status", want);
		client_update(s->c->srv, s->c->def->name, controller_kind("apps", "daemonsets"), obj,
		              "status", NULL, NULL);
		json_decref(obj);
	} else {
		json_decref(want);
	}
	/* k8s: with minReadySeconds, look again once ready pods may have become available. */
	if (mrs > 0 && ready != available) {
		char *key = controller_key_of(s->ds);
		controller_enqueue_after(s->c, key, (uint64_t)mrs * 1000);
		free(key);
	}
}

/* ---------- the sync ---------- */

static int reconcile(controller *c, const char *key)
{
	_cleanup_free_ char *ns = NULL, *name = NULL;
	controller_split_key(key, &ns, &name);
	json_t *ds = controller_get(c, controller_kind("apps", "daemonsets"), ns, name);
	if (!ds)
		return RECONCILE_DONE;
	_cleanup_label_selector_ label_selector *sel =
	    label_selector_from_json(json_path(ds, "spec.selector"), NULL);
	if (!sel || json_path(ds, "metadata.deletionTimestamp")) {
		json_decref(ds);
		return RECONCILE_DONE;
	}
	if (label_selector_empty(sel)) {
		/* k8s: an empty selector would select every pod; the set is left alone. */
		event_record(c->srv, DS_COMPONENT, ds, "Warning", "SelectingAll",
		             "This daemon set is selecting all pods. A non-empty selector is required.");
		json_decref(ds);
		return RECONCILE_DONE;
	}
	ds_sync s = {.c = c, .ds = ds, .ns = json_path_str(ds, "metadata.namespace"),
	             .name = json_path_str(ds, "metadata.name"),
	             .uid = json_path_str(ds, "metadata.uid"), .sel = sel, .now = time_now_ns()};
	s.nnodes = controller_list(c, controller_kind("", "nodes"), NULL, &s.nodes);
	s.run = xcalloc(s.nnodes + 1, sizeof *s.run);
	s.cont = xcalloc(s.nnodes + 1, sizeof *s.cont);
	json_t *spec = ds_daemon_spec(ds);
	for (size_t i = 0; i < s.nnodes; i++) {
		hmap_put(&s.node_by_name, json_path_str(s.nodes[i], "metadata.name"), s.nodes[i]);
		ds_node_should_run(spec, s.nodes[i], &s.run[i], &s.cont[i]);
	}
	json_decref(spec);
	load_pods(&s);
	json_t *cur = NULL, **old = NULL;
	size_t nold = 0;
	int result = RECONCILE_DONE;
	if (ds_construct_history(&s, &cur, &old, &nold) < 0) {
		result = RECONCILE_RETRY;
		goto out;
	}
	s.hash = json_string_value(json_object_get(json_path(cur, "metadata.labels"),
	                                           REVISION_POD_LABEL));
	if (s.relabeled)
		load_pods(&s);
	long writes = (long)manage(&s);
	/* k8s: updateDaemonSet: no rolling update after a manage that failed */
	if (writes == 0 && !s.refused &&
	    str_eq(json_path_str(ds, "spec.updateStrategy.type"), "RollingUpdate")) {
		writes = ds_rolling_update(&s);
		if (writes < 0)
			event_record(c->srv, DS_COMPONENT, ds, "Warning", "FailedRollingUpdate",
			             "couldn't get unavailable numbers: invalid maxSurge or maxUnavailable");
	}
	if (writes > 0)
		load_pods(&s);
	ds_cleanup_history(&s, old, nold);
	write_status(&s);
	/* k8s: a sync whose creates were refused is retried with the queue's backoff */
	if (s.refused)
		result = RECONCILE_RETRY;
out:
	json_decref(cur);
	controller_list_free(old, nold);
	free_pods(&s);
	hmap_free(&s.node_by_name);
	free(s.run);
	free(s.cont);
	controller_list_free(s.nodes, s.nnodes);
	json_decref(ds);
	return result;
}

/* ---------- events ---------- */

static void enqueue_all(controller *c)
{
	json_t **sets;
	size_t n = controller_list(c, controller_kind("apps", "daemonsets"), NULL, &sets);
	for (size_t i = 0; i < n; i++) {
		char *key = controller_key_of(sets[i]);
		controller_enqueue(c, key);
		free(key);
	}
	controller_list_free(sets, n);
}

static void enqueue_owner_of(controller *c, json_t *obj)
{
	json_t *ref = controller_owner(obj);
	if (!ref || !str_eq(json_string_value(json_object_get(ref, "kind")), "DaemonSet"))
		return;
	char *key = xasprintf("%s/%s", json_path_str(obj, "metadata.namespace"),
	                      json_string_value(json_object_get(ref, "name")));
	controller_enqueue(c, key);
	free(key);
}

static void enqueue_matching(controller *c, json_t *obj)
{
	json_t **sets;
	size_t n = controller_list(c, controller_kind("apps", "daemonsets"),
	                           json_path_str(obj, "metadata.namespace"), &sets);
	for (size_t i = 0; i < n; i++) {
		label_selector *sel = label_selector_from_json(json_path(sets[i], "spec.selector"), NULL);
		if (sel && !label_selector_empty(sel) &&
		    label_selector_matches(sel, json_path(obj, "metadata.labels"))) {
			char *key = controller_key_of(sets[i]);
			controller_enqueue(c, key);
			free(key);
		}
		label_selector_free(sel);
	}
	controller_list_free(sets, n);
}

/* k8s: an orphan's update matters to would-be adopters when its labels or its controller
 * reference changed. */
static bool orphan_changed(const cache_event *ev)
{
	bool same_labels = (!ev->labels && !ev->prev_labels) ||
	                   (ev->labels && ev->prev_labels && json_equal(ev->labels, ev->prev_labels));
	if (!same_labels)
		return true;
	if (!controller_prev_may_have_owner(ev))
		return false;
	json_t *old = cache_event_prev_obj(ev);
	return old && controller_owner(old);
}

/* Pods and revisions: the controlling DaemonSet (old and new), or for an orphan every set
 * that may adopt it. */
static void on_owned(controller *c, const kind_desc *d, const cache_event *ev)
{
	UNUSED(d);
	/* The bytes first: most pods have no owner here and no set that could adopt them, and
	 * then cost no parse. */
	json_t *obj = controller_may_have_owner(ev) ? cache_event_obj(ev) : NULL;
	if (obj && controller_owner(obj))
		enqueue_owner_of(c, obj);
	else if ((ev->type == STORE_ADDED || (ev->type == STORE_MODIFIED && orphan_changed(ev))) &&
	         controller_any_in_ns_of(c, controller_kind("apps", "daemonsets"), ev) &&
	         (obj = cache_event_obj(ev)))
		enqueue_matching(c, obj);
	if (controller_prev_may_have_owner(ev)) {
		json_t *old = cache_event_prev_obj(ev);
		if (old)
			enqueue_owner_of(c, old);
	}
}

/* Nodes: joining and leaving change every set's placement; an update matters when what
 * NodeShouldRunDaemonPod reads (labels, taints) changed. */
static void on_node(controller *c, const kind_desc *d, const cache_event *ev)
{
	UNUSED(d);
	if (ev->type == STORE_MODIFIED && ev->prev_value) {
		json_t *a = cache_event_prev_obj(ev);
		json_t *b = cache_event_obj(ev);
		bool same =
		    a && b &&
		    json_equal(json_path(a, "metadata.labels") ? json_path(a, "metadata.labels")
		                                               : json_null(),
		               json_path(b, "metadata.labels") ? json_path(b, "metadata.labels")
		                                               : json_null()) &&
		    json_equal(
		        json_path(a, "spec.taints") ? json_path(a, "spec.taints") : json_null(),
		        json_path(b, "spec.taints") ? json_path(b, "spec.taints") : json_null());
		if (same)
			return;
	}
	enqueue_all(c);
}

const controller_def daemonset_controller = {
	.name = DS_COMPONENT,
	.watches = {{.group = "apps", .resource = "daemonsets"},
	            {.group = "", .resource = "pods", .on_event = on_owned},
	            {.group = "", .resource = "nodes", .on_event = on_node},
	            {.group = "apps", .resource = "controllerrevisions", .on_event = on_owned}},
	.reconcile = reconcile,
	.start = start,
	.stop = stop,
};

CONTROLLER_REGISTER(daemonset_controller);
