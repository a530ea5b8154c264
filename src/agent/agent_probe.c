/* agent_probe.c — the prober's loop side: one tracker per probe of each running
 * container, attempts run on the agent's pool when due (startup first; readiness and
 * liveness only once the startup probe passed), and what results mean: readiness and
 * startup flips rewrite the pod status; liveness failures (and a startup probe that never
 * passes) stop the container so the pod sync restarts it by its restartPolicy.
 * probe.h does the attempts and the timing rules. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent-internal.h"
#include "base/json.h"
#include "base/log.h"
#include "base/util.h"
#include "controllers/events.h"

static const char *const kinds[] = {"startupProbe", "readinessProbe", "livenessProbe"};
static const char *const titles[] = {"Startup", "Readiness", "Liveness"};

static const char *title_of(const char *which)
{
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		if (!strcmp(kinds[i], which))
			return titles[i];
	return "";
}

static void slot_free(agent_probe *p)
{
	free(p->container);
	free(p->cid);
	free(p);
}

json_t *agent_container_spec(json_t *pod, const char *name)
{
	const char *lists[] = {"spec.containers", "spec.initContainers"};
	for (size_t k = 0; k < 2; k++) {
		size_t i;
		json_t *c;
		json_array_foreach(json_path(pod, lists[k]), i, c)
		{
			if (str_eq(json_string_value(json_object_get(c, "name")), name))
				return c;
		}
	}
	return NULL;
}

static void set_flag(agent_pod *ap, const char *name, const char *which, bool ok)
{
	json_t *e = json_obj_child(ap->probes, name);
	json_object_set_new(e, which, json_boolean(ok));
}

void agent_probes_clear(agent_pod *ap)
{
	for (size_t i = 0; i < ap->n_probes; i++) {
		if (!ap->probes_v[i])
			continue; /* kept by agent_probes_update */
		if (ap->probes_v[i]->running)
			ap->probes_v[i]->dead = true; /* freed when its attempt ends */
		else
			slot_free(ap->probes_v[i]);
	}
	free(ap->probes_v);
	ap->probes_v = NULL;
	ap->n_probes = 0;
}

void agent_probes_update(agent *a, agent_pod *ap, json_t *pod, json_t *report)
{
	(void)a;
	agent_probe **keep = NULL;
	size_t nk = 0;
	const char *lists[] = {"containerStatuses", "initContainerStatuses"};
	for (size_t l = 0; l < 2; l++) {
		size_t i;
		json_t *cs;
		json_array_foreach(json_object_get(report, lists[l]), i, cs)
		{
			const char *name = json_string_value(json_object_get(cs, "name"));
			const char *cid = json_string_value(json_object_get(cs, "containerID"));
			const char *at = json_path_str(cs, "state.running.startedAt");
			json_t *spec = agent_container_spec(pod, name);
			if (!name || !cid || !at || !spec)
				continue;
			if (!strncmp(cid, "runc://", 7))
				cid += 7;
			int64_t started = 0;
			time_parse_rfc3339(at, &started);
			for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
				json_t *probe = json_object_get(spec, kinds[k]);
				if (!json_is_object(probe))
					continue;
				agent_probe *found = NULL;
				for (size_t j = 0; j < ap->n_probes && !found; j++) {
					agent_probe *p = ap->probes_v[j];
					if (p && str_eq(p->container, name) && str_eq(p->cid, cid) &&
					    !strcmp(p->which, kinds[k])) {
						found = p;
						ap->probes_v[j] = NULL;
					}
				}
				if (!found) {
					found = xcalloc(1, sizeof *found);
					found->container = xstrdup(name);
					found->cid = xstrdup(cid);
					found->which = kinds[k];
					/* k8s: liveness starts as success, readiness and startup as
					 * failure. */
					bool initial = k == 2;
					probe_tracker_init(&found->t, probe, initial, started);
					if (k < 2)
						set_flag(ap, name, kinds[k], false);
				}
				keep = xrealloc(keep, (nk + 1) * sizeof *keep);
				keep[nk++] = found;
			}
		}
	}
	agent_probes_clear(ap); /* what was not kept */
	ap->probes_v = keep;
	ap->n_probes = nk;
}

/* ---------- attempts ---------- */

typedef struct probe_job {
	agent_job job;
	agent *a;
	char *key;
	agent_probe *slot;
	json_t *probe, *container;
	char *pod_ip;
	probe_result r;
	char *msg;
} probe_job;

static void probe_work(agent_job *j)
{
	probe_job *pj = (probe_job *)j;
	probe_target t = {.pod_ip = pj->pod_ip,
	                  .container = pj->container,
	                  .rt = (struct runtime *)pj->a->rt,
	                  .container_id = pj->slot->cid};
	pj->r = probe_run(pj->probe, &t, &pj->msg);
}

typedef struct kill_job {
	agent_job job;
	agent *a;
	char *key, *cid;
	int grace;
} kill_job;

static void kill_work(agent_job *j)
{
	kill_job *kj = (kill_job *)j;
	terr *e = NULL;
	if (runtime_stop(kj->a->rt, kj->cid, SIGTERM, kj->grace, &e) < 0) {
		log_warn("agent: stopping %s: %s", kj->cid, e ? e->message : "?");
		terr_free(e);
	}
}

static void kill_done(agent_job *j)
{
	kill_job *kj = (kill_job *)j;
	agent_pod *ap = hmap_get(&kj->a->pods, kj->key);
	if (ap)
		ap->kick = true;
	controller_enqueue(kj->a->c, kj->key);
	free(kj->key);
	free(kj->cid);
	free(kj);
}

static void kill_drop(agent_job *j)
{
	kill_job *kj = (kill_job *)j;
	free(kj->key);
	free(kj->cid);
	free(kj);
}

static void kill_container(agent *a, agent_pod *ap, json_t *pod, agent_probe *p)
{
	kill_job *kj = xcalloc(1, sizeof *kj);
	kj->job.work = kill_work;
	kj->job.done = kill_done;
	kj->job.drop = kill_drop;
	kj->a = a;
	kj->key = xstrdup(ap->key);
	kj->cid = xstrdup(p->cid);
	json_t *g = json_path(pod, "spec.terminationGracePeriodSeconds");
	kj->grace = json_is_integer(g) ? (int)json_integer_value(g) : 30;
	agent_pool_submit(a->pool, &kj->job);
}

static void probe_done(agent_job *j)
{
	probe_job *pj = (probe_job *)j;
	agent *a = pj->a;
	agent_probe *p = pj->slot;
	_cleanup_free_ char *ns = NULL, *name = NULL;
	p->running = false;
	agent_pod *ap = hmap_get(&a->pods, pj->key);
	bool live = false;
	for (size_t i = 0; ap && i < ap->n_probes && !live; i++)
		live = ap->probes_v[i] == p;
	if (!live || p->dead) {
		if (!live)
			slot_free(p);
		goto out;
	}
	controller_split_key(pj->key, &ns, &name);
	json_t *pod = controller_get(a->c, controller_kind("", "pods"), ns, name);
	if (!pod)
		goto out;
	int64_t now = time_now_ns();
	bool flipped = probe_tracker_record(&p->t, pj->r, now);
	bool ok = probe_tracker_ok(&p->t);
	if (pj->r == PROBE_FAILURE)
		event_record(a->c->srv, AGENT_NAME, pod, "Warning", "Unhealthy", "%s probe failed: %s",
		             title_of(p->which), pj->msg ? pj->msg : "");
	bool liveness = !strcmp(p->which, "livenessProbe");
	bool startup = !strcmp(p->which, "startupProbe");
	if (liveness && flipped && !ok) {
		event_record(a->c->srv, AGENT_NAME, pod, "Normal", "Killing",
		             "Container %s failed liveness probe, will be restarted", p->container);
		kill_container(a, ap, pod, p);
		p->dead = true;
	} else if (startup && !ok && p->t.failures >= p->t.failure_threshold) {
		event_record(a->c->srv, AGENT_NAME, pod, "Normal", "Killing",
		             "Container %s failed startup probe, will be restarted", p->container);
		kill_container(a, ap, pod, p);
		p->dead = true;
	} else if (flipped && !liveness) {
		set_flag(ap, p->container, p->which, ok);
		agent_pod_write_status(a, ap);
	}
	json_decref(pod);
out:
	json_decref(pj->probe);
	json_decref(pj->container);
	free(pj->pod_ip);
	free(pj->msg);
	free(pj->key);
	free(pj);
}

static void probe_drop(agent_job *j)
{
	probe_job *pj = (probe_job *)j;
	json_decref(pj->probe);
	json_decref(pj->container);
	free(pj->pod_ip);
	free(pj->msg);
	free(pj->key);
	free(pj);
}

static bool started_ok(agent_pod *ap, const char *container)
{
	for (size_t i = 0; i < ap->n_probes; i++) {
		agent_probe *p = ap->probes_v[i];
		if (str_eq(p->container, container) && !strcmp(p->which, "startupProbe"))
			return probe_tracker_ok(&p->t);
	}
	return true;
}

void agent_probes_run(agent *a)
{
	int64_t now = time_now_ns();
	size_t it = 0;
	const char *k;
	void *v;
	while (hmap_next(&a->pods, &it, &k, &v)) {
		agent_pod *ap = v;
		json_t *pod = NULL;
		for (size_t i = 0; i < ap->n_probes; i++) {
			agent_probe *p = ap->probes_v[i];
			if (p->running || p->dead || !probe_tracker_due(&p->t, now))
				continue;
			if (strcmp(p->which, "startupProbe") && !started_ok(ap, p->container))
				continue;
			if (!pod) {
				_cleanup_free_ char *ns = NULL, *name = NULL;
				controller_split_key(ap->key, &ns, &name);
				pod = controller_get(a->c, controller_kind("", "pods"), ns, name);
				if (!pod)
					break;
			}
			json_t *spec = agent_container_spec(pod, p->container);
			json_t *probe = json_object_get(spec, p->which);
			if (!probe)
				continue;
			probe_job *pj = xcalloc(1, sizeof *pj);
			pj->job.work = probe_work;
			pj->job.done = probe_done;
			pj->job.drop = probe_drop;
			pj->a = a;
			pj->key = xstrdup(ap->key);
			pj->slot = p;
			pj->probe = json_clone(probe);
			pj->container = json_clone(spec);
			pj->pod_ip = xstrdup(ap->pod_ip);
			p->running = true;
			agent_pool_submit(a->pool, &pj->job);
		}
		json_decref(pod);
	}
}
