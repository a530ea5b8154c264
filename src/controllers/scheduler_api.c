/* scheduler_api.c — the scheduler's writes, made through the in-process client as any
 * client would: POST pods/binding (then the Scheduled event), and for a failed attempt the
 * FailedScheduling event, the PodScheduled=False condition with nominatedNodeName (a
 * strategic merge patch of pods/status), and for preemption each victim's DisruptionTarget
 * condition, its deletion and its Preempted event.
 * Loop thread only. Not for: deciding anything (scheduler_cycle.c).
 */
#include <stdlib.h>
#include <string.h>

#include "apiserver/client.h"
#include "base/json.h"
#include "base/log.h"
#include "base/util.h"
#include "controllers/events.h"
#include "controllers/scheduler-internal.h"
#include "store/cache.h"

/* k8s: event notes are cut at NoteLengthLimit (1024) with " ..." (truncateMessage). */
#define NOTE_LIMIT 1024

typedef struct bind_ud {
	sched_ctl *ctl;
	apiserver *srv;
	const char *component;
	char *skey, *ns, *name, *uid, *node;
} bind_ud;

/* A minimal object reference for event_record. */
static json_t *pod_ref(const char *ns, const char *name, const char *uid)
{
	json_t *o = json_build("{s:s, s:s, s:{s:s, s:s}}", "apiVersion", "v1", "kind", "Pod",
	                       "metadata", "name", name, "namespace", ns);
	if (uid && *uid)
		json_object_set_new(json_object_get(o, "metadata"), "uid", json_string(uid));
	return o;
}

static void on_bound(void *ud, int code, json_t *obj)
{
	bind_ud *b = ud;
	if (code == 200 || code == 201) {
		_cleanup_json_ json_t *ref = pod_ref(b->ns, b->name, b->uid);
		/* k8s: after a successful binding: Normal Scheduled "Successfully assigned
		 * ns/name to node". */
		event_record_series(b->srv, b->component, ref, "Normal", "Scheduled",
		             "Successfully assigned %s/%s to %s", b->ns, b->name, b->node);
	} else {
		log_info("scheduler: binding %s/%s to %s answered %d: %s", b->ns, b->name, b->node,
		         code, obj ? json_string_value(json_object_get(obj, "message")) : "");
	}
	sch_ctl_bind_done(b->ctl, b->skey, code);
	free(b->skey);
	free(b->ns);
	free(b->name);
	free(b->uid);
	free(b->node);
	free(b);
}

static void send_binding(sched_ctl *ctl, controller *c, sch_action *a)
{
	/* The pod's tree the attempt parsed (or shared): the binding reads it from the cache
	 * instead of parsing the pod again, when nothing has changed the pod since. */
	cache_offer_tree(apiserver_cache(c->srv), a->skey, a->tree_rev, a->tree);
	a->tree = NULL;
	bind_ud *b = xcalloc(1, sizeof(*b));
	b->ctl = ctl;
	b->srv = c->srv;
	b->component = a->component;
	b->skey = xstrdup(a->skey);
	b->ns = xstrdup(a->ns);
	b->name = xstrdup(a->name);
	b->uid = xstrdup(a->uid);
	b->node = xstrdup(a->node);
	_cleanup_json_ json_t *body =
	    json_build("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s, s:s}}", "apiVersion", "v1", "kind",
	               "Binding", "metadata", "name", a->name, "namespace", a->ns, "target",
	               "apiVersion", "v1", "kind", "Node", "name", a->node);
	if (a->uid)
		json_object_set_new(json_object_get(body, "metadata"), "uid", json_string(a->uid));
	_cleanup_free_ char *path = xasprintf("/api/v1/namespaces/%s/pods/%s/binding", a->ns, a->name);
	client_do(c->srv, c->def->name, "POST", path, body, NULL, on_bound, b);
}

static void preempt_victim(controller *c, const sch_action *a, const sch_victim *v)
{
	const kind_desc *pk = controller_kind("", "pods");
	char now[32];
	time_rfc3339(time_now_ns(), false, now);
	/* k8s: the victim first gets DisruptionTarget=True (PreemptionByScheduler), then is
	 * deleted with default options, then the Preempted event names the preemptor. */
	_cleanup_free_ char *msg =
	    xasprintf("%s: preempting to accommodate a higher priority pod", a->component);
	_cleanup_json_ json_t *patch = json_build(
	    "{s:{s:[{s:s, s:s, s:s, s:s, s:s}]}}", "status", "conditions", "type",
	    "DisruptionTarget", "status", "True", "reason", "PreemptionByScheduler", "message", msg,
	    "lastTransitionTime", now);
	client_patch(c->srv, c->def->name, pk, v->ns, v->name, "status",
	             "application/strategic-merge-patch+json", patch, NULL, NULL);
	client_delete(c->srv, c->def->name, pk, v->ns, v->name, NULL, NULL, NULL);
	_cleanup_json_ json_t *ref = pod_ref(v->ns, v->name, v->uid);
	event_record_series(c->srv, a->component, ref, "Normal", "Preempted", "Preempted by pod %s on node %s",
	             a->uid, a->nominated);
}

static void fail(controller *c, const sch_action *a)
{
	for (size_t i = 0; i < a->nvictims; i++)
		preempt_victim(c, a, &a->victims[i]);
	_cleanup_json_ json_t *ref = pod_ref(a->ns, a->name, a->uid);
	if (strlen(a->message) <= NOTE_LIMIT)
		event_record_series(c->srv, a->component, ref, "Warning", "FailedScheduling", "%s",
		             a->message);
	else
		event_record_series(c->srv, a->component, ref, "Warning", "FailedScheduling", "%.*s ...",
		             NOTE_LIMIT - 4, a->message);
	if (!a->patch_status)
		return;
	char now[32];
	time_rfc3339(time_now_ns(), false, now);
	/* k8s: PodScheduled=False, reason Unschedulable, the FitError text as message; the
	 * nomination from preemption in the same status update. */
	json_t *cond = json_build("{s:s, s:s, s:s, s:s, s:s}", "type", "PodScheduled", "status",
	                          "False", "reason", "Unschedulable", "message", a->message,
	                          "lastTransitionTime", now);
	_cleanup_json_ json_t *patch = json_build("{s:{s:[o]}}", "status", "conditions", cond);
	if (a->nominated)
		json_object_set_new(json_object_get(patch, "status"), "nominatedNodeName",
		                    json_string(a->nominated));
	client_patch(c->srv, c->def->name, controller_kind("", "pods"), a->ns, a->name, "status",
	             "application/strategic-merge-patch+json", patch, NULL, NULL);
}

void sch_api_perform(sched_ctl *ctl, controller *c, sch_action *a)
{
	if (a->kind == ACT_BIND)
		send_binding(ctl, c, a);
	else
		fail(c, a);
}
