/* job_pods.c — a Job's pods: which it controls (adopting matching orphans, releasing
 * owned pods that stopped matching), making pods from the template (Indexed: the
 * completion index as annotation, label, hostname and JOB_COMPLETION_INDEX), deleting
 * them, and the batch.kubernetes.io/job-tracking finalizer that keeps a finished pod
 * around until the Job counted it.
 * Not for: deciding how many pods to run (job.c) or counting them (job_status.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/selector.h"
#include "apiserver/client.h"
#include "base/json.h"
#include "base/log.h"
#include "base/util.h"
#include "controllers/events.h"
#include "controllers/job-internal.h"

/* k8s: names.MaxGeneratedNameLength: 63 minus the 5 random characters. */
#define MAX_GENERATE_NAME 58

static const kind_desc *pods_kind(void)
{
	return controller_kind("", "pods");
}

/* What events need to name the Job after it may have changed: a small copy. */
static json_t *event_ref(json_t *job)
{
	return json_pack("{s:O, s:O, s:{s:O, s:O, s:O}}", "apiVersion",
	                 json_object_get(job, "apiVersion"), "kind", json_object_get(job, "kind"),
	                 "metadata", "name", json_path(job, "metadata.name"), "namespace",
	                 json_path(job, "metadata.namespace"), "uid",
	                 json_path(job, "metadata.uid"));
}

bool job_remove_finalizer(controller *c, const char *ns, const char *name)
{
	json_t *pod = controller_get(c, pods_kind(), ns, name);
	if (!pod)
		return true;
	json_t *fins = json_path(pod, "metadata.finalizers");
	size_t at = json_array_size(fins);
	for (size_t i = 0; i < json_array_size(fins); i++)
		if (str_eq(json_string_value(json_array_get(fins, i)), JOB_TRACKING_FINALIZER))
			at = i;
	if (at == json_array_size(fins)) {
		json_decref(pod);
		return true;
	}
	/* k8s: the controller removes only its own finalizer, leaving any others; the list
	 * goes away with its last entry (finalizers is omitempty). The test op guards
	 * against a concurrent change of the list. */
	json_t *patch;
	if (json_array_size(fins) == 1) {
		patch = json_pack("[{s:s, s:s, s:O}, {s:s, s:s}]", "op", "test", "path",
		                  "/metadata/finalizers", "value", fins, "op", "remove", "path",
		                  "/metadata/finalizers");
	} else {
		char path[64];
		snprintf(path, sizeof path, "/metadata/finalizers/%zu", at);
		patch = json_pack("[{s:s, s:s, s:s}, {s:s, s:s}]", "op", "test", "path", path,
		                  "value", JOB_TRACKING_FINALIZER, "op", "remove", "path", path);
	}
	json_decref(pod);
	client_patch(c->srv, c->def->name, pods_kind(), ns, name, NULL,
	             "application/json-patch+json", patch, NULL, NULL);
	json_decref(patch);
	json_t *now = controller_get(c, pods_kind(), ns, name);
	bool ok = !now || !job_pod_has_finalizer(now);
	json_decref(now);
	return ok;
}

void job_release_pods(controller *c, const char *ns, const char *job_name, const char *keep_uid)
{
	json_t **pods;
	size_t n = controller_list(c, pods_kind(), ns, &pods);
	for (size_t i = 0; i < n; i++) {
		json_t *owner = controller_owner(pods[i]);
		if (!owner || !str_eq(json_string_value(json_object_get(owner, "kind")), "Job") ||
		    !str_eq(json_string_value(json_object_get(owner, "name")), job_name) ||
		    !job_pod_has_finalizer(pods[i]))
			continue;
		if (keep_uid && str_eq(json_string_value(json_object_get(owner, "uid")), keep_uid))
			continue;
		job_remove_finalizer(c, ns, json_path_str(pods[i], "metadata.name"));
	}
	controller_list_free(pods, n);
}

/* Adopts an orphan: the Job becomes its controller and its finalizer is added, guarded by
 * the pod's uid. Returns the pod as stored afterwards, or NULL. */
static json_t *adopt(controller *c, json_t *job, json_t *pod)
{
	const char *ns = json_path_str(pod, "metadata.namespace");
	const char *name = json_path_str(pod, "metadata.name");
	json_t *refs = json_clone(json_path(pod, "metadata.ownerReferences"));
	if (!json_is_array(refs)) {
		json_decref(refs);
		refs = json_array();
	}
	json_array_append_new(refs, controller_owner_ref(job));
	json_t *fins = json_clone(json_path(pod, "metadata.finalizers"));
	if (!json_is_array(fins)) {
		json_decref(fins);
		fins = json_array();
	}
	if (!job_pod_has_finalizer(pod))
		json_array_append_new(fins, json_string(JOB_TRACKING_FINALIZER));
	json_t *patch = json_pack("{s:{s:o, s:o, s:O}}", "metadata", "ownerReferences", refs,
	                          "finalizers", fins, "uid", json_path(pod, "metadata.uid"));
	client_patch(c->srv, c->def->name, pods_kind(), ns, name, NULL, NULL, patch, NULL, NULL);
	json_decref(patch);
	json_t *now = controller_get(c, pods_kind(), ns, name);
	json_t *owner = controller_owner(now);
	if (!owner || !str_eq(json_string_value(json_object_get(owner, "uid")),
	                      json_path_str(job, "metadata.uid"))) {
		json_decref(now);
		return NULL;
	}
	return now;
}

/* Releases an owned pod that no longer matches the selector: drops the Job's reference. */
static void release(controller *c, json_t *job, json_t *pod)
{
	const char *uid = json_path_str(job, "metadata.uid");
	json_t *refs = json_array();
	size_t i;
	json_t *r;
	json_array_foreach(json_path(pod, "metadata.ownerReferences"), i, r)
	{
		if (!str_eq(json_string_value(json_object_get(r, "uid")), uid))
			json_array_append(refs, r);
	}
	json_t *patch = json_pack("{s:{s:o, s:O}}", "metadata", "ownerReferences", refs, "uid",
	                          json_path(pod, "metadata.uid"));
	client_patch(c->srv, c->def->name, pods_kind(), json_path_str(pod, "metadata.namespace"),
	             json_path_str(pod, "metadata.name"), NULL, NULL, patch, NULL, NULL);
	json_decref(patch);
}

size_t job_claim_pods(controller *c, json_t *job, json_t ***out)
{
	const char *ns = json_path_str(job, "metadata.namespace");
	const char *uid = json_path_str(job, "metadata.uid");
	const char *jname = json_path_str(job, "metadata.name");
	bool deleting = json_path(job, "metadata.deletionTimestamp") != NULL;
	label_selector *sel = label_selector_from_json(json_path(job, "spec.selector"), NULL);
	json_t **pods;
	size_t n = controller_list(c, pods_kind(), ns, &pods);
	json_t **mine = xcalloc(n ? n : 1, sizeof *mine);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		json_t *p = pods[i];
		json_t *owner = controller_owner(p);
		bool matches = sel && label_selector_matches(sel, json_path(p, "metadata.labels"));
		if (owner) {
			const char *okind = json_string_value(json_object_get(owner, "kind"));
			const char *ouid = json_string_value(json_object_get(owner, "uid"));
			if (str_eq(ouid, uid)) {
				if (!matches && !deleting &&
				    !json_path(p, "metadata.deletionTimestamp")) {
					/* k8s: ClaimPods releases owned pods that stopped matching.
					 */
					release(c, job, p);
					continue;
				}
				mine[k++] = json_incref(p);
			} else if (str_eq(okind, "Job") &&
			           str_eq(json_string_value(json_object_get(owner, "name")),
			                  jname) &&
			           job_pod_has_finalizer(p)) {
				/* a previous Job of this name left it: nobody will count it */
				job_remove_finalizer(c, ns, json_path_str(p, "metadata.name"));
			}
			continue;
		}
		/* k8s: a matching orphan is adopted, unless it or the Job is being deleted. */
		if (matches && !deleting && !json_path(p, "metadata.deletionTimestamp")) {
			json_t *adopted = adopt(c, job, p);
			if (adopted)
				mine[k++] = adopted;
		} else if (job_pod_has_finalizer(p)) {
			/* k8s: an orphan keeps no Job's tracking finalizer. */
			job_remove_finalizer(c, ns, json_path_str(p, "metadata.name"));
		}
	}
	controller_list_free(pods, n);
	label_selector_free(sel);
	*out = mine;
	return k;
}

/* ---------- creating ---------- */

typedef struct create_ctx {
	apiserver *srv;
	json_t *ref;
	bool returned; /* job_create_pod has returned: the answer's callback frees this */
	bool answered, refused;
} create_ctx;

static void create_ctx_free(create_ctx *cc)
{
	json_decref(cc->ref);
	free(cc);
}

static void on_created(void *ud, int code, json_t *obj)
{
	create_ctx *cc = ud;
	if (code >= 200 && code < 300) {
		event_record(cc->srv, JOB_CONTROLLER_NAME, cc->ref, "Normal", "SuccessfulCreate",
		             "Created pod: %s", json_path_str(obj, "metadata.name"));
	} else {
		cc->refused = true;
		const char *msg = json_string_value(json_object_get(obj, "message"));
		if (code != 409)
			event_record(cc->srv, JOB_CONTROLLER_NAME, cc->ref, "Warning",
			             "FailedCreate", "Error creating: %s",
			             msg ? msg : "unknown error");
	}
	cc->answered = true;
	if (cc->returned)
		create_ctx_free(cc);
}

/* k8s: the index reaches containers through the downward API, appended after their own
 * variables unless they define JOB_COMPLETION_INDEX themselves. */
static void add_index_env(json_t *containers)
{
	size_t i, k;
	json_t *ct, *e;
	json_array_foreach(containers, i, ct)
	{
		json_t *env = json_object_get(ct, "env");
		bool has = false;
		json_array_foreach(env, k, e) has |=
		    str_eq(json_string_value(json_object_get(e, "name")), JOB_INDEX_ENV);
		if (has)
			continue;
		if (!json_is_array(env)) {
			env = json_array();
			json_object_set_new(ct, "env", env);
		}
		json_array_append_new(env, json_pack("{s:s, s:{s:{s:s}}}", "name", JOB_INDEX_ENV,
		                                     "valueFrom", "fieldRef", "fieldPath",
		                                     "metadata.annotations['" JOB_INDEX_KEY "']"));
	}
}

static char *generate_name(const char *job, int index)
{
	if (index < 0)
		return xasprintf("%s-", job);
	char suffix[32];
	snprintf(suffix, sizeof suffix, "-%d-", index);
	size_t jl = strlen(job), sl = strlen(suffix);
	/* k8s: podGenerateNameWithIndex keeps the index when the name must be cut. */
	if (jl + sl > MAX_GENERATE_NAME)
		jl = MAX_GENERATE_NAME - sl;
	return xasprintf("%.*s%s", (int)jl, job, suffix);
}

bool job_create_pod(controller *c, json_t *job, int index, int failures, int ignored)
{
	const char *jname = json_path_str(job, "metadata.name");
	const char *ns = json_path_str(job, "metadata.namespace");
	json_t *tmpl = json_path(job, "spec.template");
	json_t *meta = json_clone(json_object_get(tmpl, "metadata"));
	if (!json_is_object(meta)) {
		json_decref(meta);
		meta = json_object();
	}
	json_t *spec = json_clone(json_object_get(tmpl, "spec"));
	if (!json_is_object(spec)) {
		json_decref(spec);
		spec = json_object();
	}
	json_object_del(meta, "name");
	json_object_del(meta, "creationTimestamp");
	_cleanup_free_ char *gen = generate_name(jname, index);
	json_object_set_new(meta, "generateName", json_string(gen));
	json_object_set_new(meta, "namespace", json_string(ns));
	json_object_set_new(meta, "ownerReferences", json_pack("[o]", controller_owner_ref(job)));
	json_t *fins = json_object_get(meta, "finalizers");
	if (!json_is_array(fins)) {
		fins = json_array();
		json_object_set_new(meta, "finalizers", fins);
	}
	bool has = false;
	size_t i;
	json_t *f;
	json_array_foreach(fins, i, f) has |= str_eq(json_string_value(f), JOB_TRACKING_FINALIZER);
	if (!has)
		json_array_append_new(fins, json_string(JOB_TRACKING_FINALIZER));
	if (index >= 0) {
		char ix[16];
		snprintf(ix, sizeof ix, "%d", index);
		json_object_set_new(json_obj_child(meta, "annotations"), JOB_INDEX_KEY,
		                    json_string(ix));
		/* k8s: PodIndexLabel (GA in 1.32): the index is a label too. */
		json_object_set_new(json_obj_child(meta, "labels"), JOB_INDEX_KEY, json_string(ix));
		if (json_is_integer(json_path(job, "spec.backoffLimitPerIndex"))) {
			char n[16];
			snprintf(n, sizeof n, "%d", failures);
			json_object_set_new(json_obj_child(meta, "annotations"), JOB_INDEX_FAILURES,
			                    json_string(n));
			if (ignored > 0) {
				snprintf(n, sizeof n, "%d", ignored);
				json_object_set_new(json_obj_child(meta, "annotations"),
				                    JOB_INDEX_IGNORED_FAILURES, json_string(n));
			}
		}
		/* k8s: Indexed pods get the hostname <job>-<index>. */
		char *host = xasprintf("%s-%d", jname, index);
		json_object_set_new(spec, "hostname", json_string(host));
		free(host);
		add_index_env(json_object_get(spec, "initContainers"));
		add_index_env(json_object_get(spec, "containers"));
	}
	json_t *pod = json_pack("{s:s, s:s, s:o, s:o}", "apiVersion", "v1", "kind", "Pod",
	                        "metadata", meta, "spec", spec);
	create_ctx *cc = xcalloc(1, sizeof *cc);
	cc->srv = c->srv;
	cc->ref = event_ref(job);
	client_create(c->srv, c->def->name, pods_kind(), ns, pod, on_created, cc);
	json_decref(pod);
	if (!cc->answered) { /* in: its answer (and event) follow once it is durable */
		cc->returned = true;
		return true;
	}
	bool ok = !cc->refused;
	create_ctx_free(cc);
	return ok;
}

/* ---------- deleting ---------- */

bool job_delete_pod(controller *c, json_t *job, json_t *pod, bool rm_finalizer)
{
	const char *ns = json_path_str(pod, "metadata.namespace");
	const char *name = json_path_str(pod, "metadata.name");
	if (rm_finalizer && job_pod_has_finalizer(pod) && !job_remove_finalizer(c, ns, name))
		return false;
	client_delete(c->srv, c->def->name, pods_kind(), ns, name, NULL, NULL, NULL);
	json_t *now = controller_get(c, pods_kind(), ns, name);
	bool ok = !now || json_path(now, "metadata.deletionTimestamp") ||
	          !str_eq(json_path_str(now, "metadata.uid"), json_path_str(pod, "metadata.uid"));
	json_decref(now);
	if (ok)
		event_record(c->srv, JOB_CONTROLLER_NAME, job, "Normal", "SuccessfulDelete",
		             "Deleted pod: %s", name);
	else
		event_record(c->srv, JOB_CONTROLLER_NAME, job, "Warning", "FailedDelete",
		             "Error deleting: pod %s could not be deleted", name);
	return ok;
}
