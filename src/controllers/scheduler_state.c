/* scheduler_state.c — the scheduler's picture of the cluster, kept from informer events:
 * every node and pod parsed once per change into the core's structs and placed in one
 * long-lived snapshot; pending pods handed to the queue; PriorityClasses (to resolve
 * spec.priority), PodDisruptionBudgets (for preemption) and namespace labels (for
 * namespaceSelector terms). It also decides which events may help unschedulable pods.
 * Runs wherever the state is (a batch on a worker, see scheduler-internal.h).
 * Not for: API calls or the loop.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/json.h"
#include "base/log.h"
#include "base/util.h"
#include "controllers/scheduler-internal.h"
#include "store/store.h"

struct sch_node {
	char *skey;
	uint64_t hash; /* the fields the scheduler reads */
	bool in_snap;
	char name[];
};

struct sch_pc {
	int32_t value;
	bool never, global_default;
	char name[];
};

struct sch_pdb {
	sched_pdb *pdb;
	char skey[];
};

int64_t sch_now_ms(void)
{
	return time_mono_ns() / 1000000;
}

sch_state *sch_state_new(void)
{
	sch_state *st = xcalloc(1, sizeof(*st));
	st->snap = sched_snapshot_new();
	sched_result_init(&st->res);
	st->backoff.by_backoff = true;
	st->leftover_ms = sch_now_ms();
	return st;
}

void sch_pod_keep_tree(sch_pod *p, json_t *tree, int64_t rev)
{
	/* On the worker: jansson's reference counts are atomic, and the loop only reads. */
	json_decref(p->tree);
	p->tree = json_incref(tree);
	p->tree_rev = tree ? rev : 0;
}

void sch_pod_free(sch_pod *p)
{
	if (!p)
		return;
	sched_pod_unref(p->sp);
	free(p->skey);
	free(p->ns);
	free(p->name);
	free(p->uid);
	free(p->cond_reason);
	free(p->cond_msg);
	free(p->nominated);
	free(p->node);
	json_decref(p->tree);
	free(p);
}

void sch_state_free(sch_state *st)
{
	if (!st)
		return;
	const char *k;
	void *v;
	for (size_t it = 0; hmap_next(&st->pods, &it, &k, &v);)
		sch_pod_free(v);
	for (size_t it = 0; hmap_next(&st->nodes, &it, &k, &v);) {
		free(((struct sch_node *)v)->skey);
		free(v);
	}
	for (size_t it = 0; hmap_next(&st->pcs, &it, &k, &v);)
		free(v);
	for (size_t it = 0; hmap_next(&st->pdbs, &it, &k, &v);) {
		sched_pdb_free(((struct sch_pdb *)v)->pdb);
		free(v);
	}
	free(st->pod_prefix);
	hmap_free(&st->pods);
	hmap_free(&st->nodes);
	hmap_free(&st->pcs);
	hmap_free(&st->pdbs);
	sch_heap_free(&st->active);
	sch_heap_free(&st->backoff);
	for (size_t i = 0; i < st->nacts; i++)
		sch_action_dispose(&st->acts[i]);
	free(st->acts);
	sched_result_free(&st->res);
	sched_snapshot_free(st->snap);
	free(st);
}

sched_pdb **sch_state_pdbs(sch_state *st, size_t *n)
{
	sched_pdb **v = xmalloc((st->pdbs.count + 1) * sizeof(*v));
	size_t k = 0;
	const char *key;
	void *val;
	for (size_t it = 0; hmap_next(&st->pdbs, &it, &key, &val);)
		v[k++] = ((struct sch_pdb *)val)->pdb;
	*n = k;
	return v;
}

/* ---- hashing what matters ---- */

static uint64_t fnv(uint64_t h, const char *s)
{
	for (; s && *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h ^ 0xff; /* separates consecutive strings */
}

static uint64_t fnv_json(uint64_t h, json_t *j)
{
	if (!j)
		return fnv(h, "-");
	char *s = json_dump_compact(j);
	h = fnv(h, s);
	free(s);
	return h;
}

/* The fields of a Node the scheduler reads: a heartbeat changes none of them. */
static uint64_t node_hash(json_t *node)
{
	uint64_t h = 1469598103934665603ULL;
	h = fnv_json(h, json_path(node, "metadata.labels"));
	h = fnv_json(h, json_path(node, "spec.taints"));
	h = fnv_json(h, json_path(node, "spec.unschedulable"));
	h = fnv_json(h, json_path(node, "status.allocatable"));
	h = fnv_json(h, json_path(node, "status.capacity"));
	h = fnv_json(h, json_path(node, "status.images"));
	return h;
}

/* k8s: isPodUpdated: the pod without status, resourceVersion, generation, managedFields. */
static uint64_t pod_spec_hash(json_t *pod)
{
	uint64_t h = 1469598103934665603ULL;
	const char *k;
	json_t *v;
	json_object_foreach(json_object_get(pod, "metadata"), k, v) {
		if (str_eq(k, "resourceVersion") || str_eq(k, "generation") ||
		    str_eq(k, "managedFields"))
			continue;
		h = fnv_json(fnv(h, k), v);
	}
	return fnv_json(h, json_object_get(pod, "spec"));
}

/* ---- priority ---- */

/* k8s: the Priority admission plugin resolves spec.priority (and preemptionPolicy) from
 * spec.priorityClassName, the globalDefault class, or 0; the two system classes are
 * built in. Admission does it now; pods stored before it get it here (in a copy only). */
static void resolve_priority(sch_state *st, json_t *pod)
{
	json_t *spec = json_object_get(pod, "spec");
	if (!json_is_object(spec) || json_is_integer(json_object_get(spec, "priority")))
		return;
	const char *cls = json_string_value(json_object_get(spec, "priorityClassName"));
	const struct sch_pc *pc = NULL;
	int64_t value = 0;
	if (cls && *cls) {
		pc = hmap_get(&st->pcs, cls);
		if (pc)
			value = pc->value;
		else if (str_eq(cls, "system-node-critical"))
			value = 2000001000;
		else if (str_eq(cls, "system-cluster-critical"))
			value = 2000000000;
	} else {
		const char *k;
		void *v;
		for (size_t it = 0; hmap_next(&st->pcs, &it, &k, &v);) {
			const struct sch_pc *c = v;
			if (c->global_default && (!pc || c->value > pc->value))
				pc = c;
		}
		if (pc)
			value = pc->value;
	}
	json_object_set_new(spec, "priority", json_integer(value));
	if (pc && pc->never && !json_object_get(spec, "preemptionPolicy"))
		json_object_set_new(spec, "preemptionPolicy", json_string("Never"));
}

/* ---- pods ---- */

static void set_str(char **dst, const char *s)
{
	if (str_eq(*dst, s) || (!*dst && !s))
		return;
	free(*dst);
	*dst = s ? xstrdup(s) : NULL;
}

static void unplace(sch_state *st, sch_pod *p)
{
	if (!p->in_snap)
		return;
	sched_snapshot_remove_pod(st->snap, sched_pod_key(p->sp));
	p->in_snap = p->assumed = false;
}

static void pod_gone(sch_state *st, sch_pod *p)
{
	sch_queue_remove(st, p);
	if (p->in_snap) {
		unplace(st, p);
		st->move_all = true; /* k8s: AssignedPodDelete may help every pending pod */
	}
	if (p->sp && p->nominated)
		sched_snapshot_nominate(st->snap, p->sp, NULL);
	hmap_del(&st->pods, p->skey);
	sch_pod_free(p);
}

static void read_status(sch_pod *p, json_t *pod)
{
	json_t *status = json_object_get(pod, "status");
	const char *reason = NULL, *msg = NULL;
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(status, "conditions"), i, c) {
		if (str_eq(json_string_value(json_object_get(c, "type")), "PodScheduled") &&
		    str_eq(json_string_value(json_object_get(c, "status")), "False")) {
			reason = json_string_value(json_object_get(c, "reason"));
			msg = json_string_value(json_object_get(c, "message"));
		}
	}
	set_str(&p->cond_reason, reason);
	set_str(&p->cond_msg, msg);
	const char *nom = json_string_value(json_object_get(status, "nominatedNodeName"));
	set_str(&p->nominated, nom && *nom ? nom : NULL);
}

static bool has_pod_terms(json_t *spec)
{
	json_t *aff = json_path(spec, "affinity.podAffinity");
	if (json_array_size(json_object_get(aff, "requiredDuringSchedulingIgnoredDuringExecution")))
		return true;
	return json_array_size(json_object_get(spec, "topologySpreadConstraints")) > 0;
}

static sched_pod *parse_pod(sch_state *st, json_t *shared)
{
	/* The event's tree is shared and read-only: a pod admitted without spec.priority
	 * (stored before priority admission) gets it in a copy. */
	_cleanup_json_ json_t *copy = NULL;
	json_t *pod = shared;
	if (!json_is_integer(json_path(shared, "spec.priority"))) {
		pod = copy = json_clone(shared);
		resolve_priority(st, pod);
	}
	terr *err = NULL;
	sched_pod *sp = sched_pod_from_json(pod, &err);
	if (!sp) {
		log_warn("scheduler: pod %s/%s: %s", json_path_str(pod, "metadata.namespace"),
		         json_path_str(pod, "metadata.name"), err ? err->message : "unparsable");
		terr_free(err);
	}
	return sp;
}

static void pod_bound(sch_state *st, sch_pod *p, json_t *pod, const char *node, int64_t rev,
                      uint8_t kept)
{
	/* A bound pod's status write (the kubelet's), or the binding of the pod assumed on
	 * that node: the spec (but nodeName), labels and deletion mark are the ones parsed,
	 * so only nodeName and the status fields are read again, in place (the pod's users,
	 * the snapshot and the cycles, all run on this thread). */
	const char *phase = json_path_str(pod, "status.phase");
	bool finished = str_eq(phase, "Succeeded") || str_eq(phase, "Failed");
	bool status = kept == SCH_KEPT_SPEC && p->where == W_BOUND;
	bool binding = kept == SCH_KEPT_SPEC_NODE && p->where == W_BINDING && p->assumed;
	if ((status || binding) && !finished && p->in_snap && p->sp && str_eq(p->node, node)) {
		if (sched_pod_update_status(p->sp, pod)) {
			if (binding) {
				sched_pod_set_node(p->sp, node);
				p->assumed = false;
				p->where = W_BOUND;
			}
			p->sp_rev = rev;
			return;
		}
	}
	sch_queue_remove(st, p);
	/* k8s: the scheduler's pod informer selects status.phase!=Succeeded,!=Failed, so a
	 * finished pod leaves its node's accounting as if deleted. */
	if (finished) {
		if (p->in_snap) {
			unplace(st, p);
			st->move_all = true;
		}
		p->where = W_NONE;
		return;
	}
	sched_pod *sp = parse_pod(st, pod);
	if (!sp)
		return;
	bool was_placed = p->in_snap && str_eq(p->node, node);
	if (p->in_snap && !str_eq(sched_pod_key(p->sp), sched_pod_key(sp)))
		unplace(st, p);
	sched_pod_unref(p->sp);
	p->sp = sp;
	p->sp_rev = rev;
	sched_snapshot_add_pod(st->snap, sp, NULL);
	p->in_snap = true;
	p->assumed = false;
	p->where = W_BOUND;
	set_str(&p->node, node);
	/* k8s: AssignedPodAdd can help pods with required pod affinity or spread constraints
	 * (an assumed pod already counted). */
	if (!was_placed)
		st->move_terms = true;
}

static void pod_pending(sch_state *st, sch_pod *p, json_t *pod, int64_t rev, int64_t now_ms)
{
	read_status(p, pod);
	json_t *spec = json_object_get(pod, "spec");
	if (p->where == W_BINDING)
		return; /* assumed: the binding's answer decides */
	const char *sn = json_string_value(json_object_get(spec, "schedulerName"));
	p->prof = sched_profile_find(NULL, 0, sn && *sn ? sn : "default-scheduler");
	/* k8s: skipPodSchedule (being deleted); SchedulingGates PreEnqueue keeps gated pods out
	 * of activeQ; pods of other schedulers are not ours. */
	if (!p->prof || p->terminating || json_array_size(json_object_get(spec, "schedulingGates"))) {
		sch_queue_remove(st, p);
		p->where = W_NONE;
		if (p->sp)
			sched_snapshot_nominate(st->snap, p->sp, NULL);
		return;
	}
	uint64_t h = pod_spec_hash(pod);
	bool changed = h != p->spec_hash;
	sched_pod *sp = parse_pod(st, pod);
	if (!sp) {
		sch_queue_remove(st, p);
		p->where = W_NONE;
		return;
	}
	sched_pod_unref(p->sp);
	p->sp = sp;
	p->sp_rev = rev;
	p->spec_hash = h;
	p->pod_terms = has_pod_terms(spec);
	/* status.nominatedNodeName (ours or another scheduler's) holds room on that node. */
	sched_snapshot_nominate(st->snap, sp, p->nominated);
	if (p->where == W_NONE || p->where == W_BOUND)
		sch_queue_add(st, p, now_ms);
	else
		sch_queue_update(st, p, changed, now_ms);
	sch_pod_keep_tree(p, p->where == W_ACTIVE ? pod : NULL, rev);
}

static void pod_apply(sch_state *st, const sch_event *ev, int64_t now_ms)
{
	sch_pod *p = hmap_get(&st->pods, ev->key);
	if (ev->type == STORE_DELETED) {
		if (p)
			pod_gone(st, p);
		return;
	}
	json_t *pod = ev->obj;
	if (!pod)
		return;
	const char *uid = json_path_str(pod, "metadata.uid");
	if (p && !str_eq(p->uid, uid)) {
		pod_gone(st, p); /* recreated under the same name */
		p = NULL;
	}
	if (!p) {
		p = xcalloc(1, sizeof(*p));
		p->skey = xstrdup(ev->key);
		p->ns = xstrdup(json_path_str(pod, "metadata.namespace"));
		p->name = xstrdup(json_path_str(pod, "metadata.name"));
		p->uid = xstrdup(uid);
		hmap_put(&st->pods, p->skey, p);
	}
	sch_pod_keep_tree(p, NULL, 0); /* a newer version: pod_pending keeps it if queued */
	/* What this write kept can update sp in place only if sp reads the version before. */
	bool fresh = p->sp && p->sp_rev == p->seen_rev;
	p->seen_rev = ev->rev;
	json_t *del = json_path(pod, "metadata.deletionTimestamp");
	p->terminating = del && !json_is_null(del);
	const char *node = json_path_str(pod, "spec.nodeName");
	if (node && *node)
		pod_bound(st, p, pod, node, ev->rev, fresh ? ev->kept : SCH_KEPT_NOTHING);
	else
		pod_pending(st, p, pod, ev->rev, now_ms);
}

/* The answer to a binding: on failure the assumption is forgotten and the pod retried
 * after its backoff (k8s: handleBindingCycleError). */
static void bind_done(sch_state *st, const sch_event *ev, int64_t now_ms)
{
	sch_pod *p = hmap_get(&st->pods, ev->key);
	if (!p || p->where != W_BINDING || (ev->code >= 200 && ev->code < 300))
		return;
	st->stats.bind_errors++;
	if (p->assumed)
		unplace(st, p);
	free(p->node);
	p->node = NULL;
	st->move_all = true; /* k8s: the forgotten pod's room is free again */
	if (ev->code == 404 || ev->code == 409) {
		/* gone, or bound by someone else: its informer event tells the rest */
		p->where = W_NONE;
		return;
	}
	p->where = W_NONE;
	sch_queue_requeue(st, p, false, now_ms);
}

/* ---- nodes, namespaces, priority classes, PDBs ---- */

static void node_apply(sch_state *st, const sch_event *ev)
{
	struct sch_node *n = hmap_get(&st->nodes, ev->key);
	if (ev->type == STORE_DELETED) {
		if (!n)
			return;
		sched_snapshot_remove_node(st->snap, n->name);
		hmap_del(&st->nodes, n->skey);
		free(n->skey);
		free(n);
		return;
	}
	json_t *node = ev->obj;
	if (!node)
		return;
	uint64_t h = node_hash(node);
	if (n && n->hash == h && n->in_snap) {
		return; /* a heartbeat: nothing the scheduler reads changed */
	}
	terr *err = NULL;
	sched_node *sn = sched_node_from_json(node, &err);
	if (!sn) {
		log_warn("scheduler: node %s: %s", json_path_str(node, "metadata.name"),
		         err ? err->message : "unparsable");
		terr_free(err);
		return;
	}
	if (!n) {
		const char *name = sched_node_name(sn);
		n = xcalloc(1, sizeof(*n) + strlen(name) + 1);
		strcpy(n->name, name);
		n->skey = xstrdup(ev->key);
		hmap_put(&st->nodes, n->skey, n);
	}
	n->hash = h;
	n->in_snap = true;
	sched_snapshot_set_node(st->snap, sn);
	sched_node_unref(sn);
	/* k8s: NodeAdd, and a NodeUpdate that changed what scheduling reads (labels, taints,
	 * allocatable, unschedulable, images), may help unschedulable pods. */
	st->move_all = true;
}

static void namespace_apply(sch_state *st, const sch_event *ev)
{
	if (ev->type == STORE_DELETED)
		return;
	json_t *ns = ev->obj;
	const char *name = json_path_str(ns, "metadata.name");
	if (name)
		sched_snapshot_set_namespace(st->snap, name, json_path(ns, "metadata.labels"));
}

static void pc_apply(sch_state *st, const sch_event *ev)
{
	json_t *pc = ev->obj;
	const char *name = json_path_str(pc, "metadata.name");
	if (!name) {
		return;
	}
	struct sch_pc *old = hmap_del(&st->pcs, name);
	free(old);
	if (ev->type != STORE_DELETED) {
		struct sch_pc *c = xcalloc(1, sizeof(*c) + strlen(name) + 1);
		strcpy(c->name, name);
		c->value = (int32_t)json_integer_value(json_object_get(pc, "value"));
		c->global_default = json_is_true(json_object_get(pc, "globalDefault"));
		c->never = str_eq(json_string_value(json_object_get(pc, "preemptionPolicy")), "Never");
		hmap_put(&st->pcs, c->name, c);
	}
}

static void pdb_apply(sch_state *st, const sch_event *ev)
{
	struct sch_pdb *old = hmap_del(&st->pdbs, ev->key);
	if (old) {
		sched_pdb_free(old->pdb);
		free(old);
	}
	if (ev->type == STORE_DELETED)
		return;
	json_t *o = ev->obj;
	sched_pdb *pdb = o ? sched_pdb_from_json(o, NULL) : NULL;
	if (!pdb)
		return;
	struct sch_pdb *e = xcalloc(1, sizeof(*e) + strlen(ev->key) + 1);
	strcpy(e->skey, ev->key);
	e->pdb = pdb;
	hmap_put(&st->pdbs, e->skey, e);
}

void sch_state_apply(sch_state *st, const sch_event *ev, int64_t now_ms)
{
	if (ev->type != STORE_DELETED && ev->kind != SCH_BIND_DONE && !ev->obj)
		return;
	switch (ev->kind) {
	case SCH_POD:
		pod_apply(st, ev, now_ms);
		break;
	case SCH_NODE:
		node_apply(st, ev);
		break;
	case SCH_NAMESPACE:
		namespace_apply(st, ev);
		break;
	case SCH_PRIORITYCLASS:
		if (ev->obj)
			pc_apply(st, ev);
		break;
	case SCH_PDB:
		pdb_apply(st, ev);
		break;
	case SCH_BIND_DONE:
		bind_done(st, ev, now_ms);
		break;
	}
}
