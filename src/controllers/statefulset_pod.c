/* statefulset_pod.c — a StatefulSet member's identity and storage: ordinal names, the
 * identity labels and hostname/subdomain of the headless-service identity, claims from
 * volumeClaimTemplates and the owner references persistentVolumeClaimRetentionPolicy asks
 * for; plus the pod predicates the sync uses.
 * Not for: deciding what to create, delete or update (statefulset.c).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/client.h"
#include "base/json.h"
#include "base/util.h"
#include "controllers/events.h"
#include "controllers/podutil.h"
#include "controllers/statefulset-internal.h"

/* ---------- write results ---------- */

/* The answer of one in-process write. The client answers errors at once and successes
 * when durable, so the result lives on the heap, shared by the caller and the callback. */
typedef struct wres {
	int refs;
	int code; /* 0 until answered */
	char *msg;
} wres;

static void wres_unref(wres *w)
{
	if (--w->refs == 0) {
		free(w->msg);
		free(w);
	}
}

static void wres_cb(void *ud, int code, json_t *obj)
{
	wres *w = ud;
	w->code = code;
	if (code >= 400) {
		const char *m = json_string_value(json_object_get(obj, "message"));
		w->msg = xstrdup(m ? m : "unknown error");
	}
	wres_unref(w);
}

static wres *wres_new(void)
{
	wres *w = xcalloc(1, sizeof *w);
	w->refs = 2;
	return w;
}

/* ---------- identity and predicates ---------- */

int sts_ordinal(json_t *pod, const char *set_name)
{
	/* k8s: the name matches "(.*)-([0-9]+)$"; the parent must be the set, and the ordinal
	 * must parse as a 32-bit integer. */
	const char *name = json_path_str(pod, "metadata.name");
	if (!name)
		return -1;
	const char *dash = strrchr(name, '-');
	if (!dash || !dash[1])
		return -1;
	long long v = 0;
	for (const char *p = dash + 1; *p; p++) {
		if (!isdigit((unsigned char)*p))
			return -1;
		v = v * 10 + (*p - '0');
		if (v > 2147483647LL)
			return -1;
	}
	size_t plen = (size_t)(dash - name);
	if (strlen(set_name) != plen || strncmp(name, set_name, plen) != 0)
		return -1;
	return (int)v;
}

int sts_start_ordinal(json_t *set)
{
	return (int)json_integer_value(json_path(set, "spec.ordinals.start"));
}

int sts_replicas(json_t *set)
{
	json_t *r = json_path(set, "spec.replicas");
	return r ? (int)json_integer_value(r) : 1;
}

bool sts_in_range(json_t *set, int ordinal)
{
	int start = sts_start_ordinal(set);
	return ordinal >= start && ordinal < start + sts_replicas(set);
}

bool sts_running_ready(json_t *pod)
{
	return pod && str_eq(json_path_str(pod, "status.phase"), "Running") && pod_is_ready(pod);
}

bool sts_available(json_t *pod, json_t *set, int64_t now_ns)
{
	return pod && pod_is_available(pod, json_integer_value(json_path(set, "spec.minReadySeconds")),
	                               now_ns);
}

bool sts_terminating(json_t *pod)
{
	return pod && json_path(pod, "metadata.deletionTimestamp") != NULL;
}

bool sts_healthy(json_t *pod)
{
	return sts_running_ready(pod) && !sts_terminating(pod);
}

const char *sts_pod_revision(json_t *pod)
{
	const char *r = json_string_value(json_object_get(json_path(pod, "metadata.labels"),
	                                                  "controller-revision-hash"));
	return r ? r : "";
}

static char *claim_name(json_t *claim_tmpl, const char *set_name, int ordinal)
{
	/* k8s: getPersistentVolumeClaimName: <claim>-<set>-<ordinal>. */
	const char *t = json_path_str(claim_tmpl, "metadata.name");
	return xasprintf("%s-%s-%d", t ? t : "", set_name, ordinal);
}

json_t *sts_new_pod(json_t *set, int ordinal, const char *revision)
{
	const char *set_name = json_path_str(set, "metadata.name");
	json_t *tmpl = json_path(set, "spec.template");
	json_t *tmeta = json_object_get(tmpl, "metadata");
	/* k8s: GetPodFromTemplate copies labels, annotations and finalizers, and sets
	 * generateName "<set>-" and the controller reference. */
	json_t *labels = json_clone(json_object_get(tmeta, "labels"));
	if (!json_is_object(labels)) {
		json_decref(labels);
		labels = json_object();
	}
	json_t *meta = json_object();
	char *name = xasprintf("%s-%d", set_name, ordinal);
	char idx[16];
	snprintf(idx, sizeof idx, "%d", ordinal);
	/* k8s: initIdentity: the pod-name and pod-index labels, hostname and subdomain. */
	json_object_set_new(labels, STS_POD_NAME_LABEL, json_string(name));
	json_object_set_new(labels, STS_POD_INDEX_LABEL, json_string(idx));
	json_object_set_new(labels, "controller-revision-hash", json_string(revision));
	json_object_set_new(meta, "name", json_string(name));
	char *gen = xasprintf("%s-", set_name);
	json_object_set_new(meta, "generateName", json_string(gen));
	free(gen);
	json_object_set(meta, "namespace", json_path(set, "metadata.namespace"));
	json_object_set_new(meta, "labels", labels);
	if (json_object_size(json_object_get(tmeta, "annotations")))
		json_object_set_new(meta, "annotations",
		                    json_clone(json_object_get(tmeta, "annotations")));
	if (json_array_size(json_object_get(tmeta, "finalizers")))
		json_object_set_new(meta, "finalizers",
		                    json_clone(json_object_get(tmeta, "finalizers")));
	json_object_set_new(meta, "ownerReferences", json_pack("[o]", controller_owner_ref(set)));

	json_t *spec = json_clone(json_object_get(tmpl, "spec"));
	if (!json_is_object(spec)) {
		json_decref(spec);
		spec = json_object();
	}
	json_object_set_new(spec, "hostname", json_string(name));
	const char *svc = json_path_str(set, "spec.serviceName");
	if (svc && *svc)
		json_object_set_new(spec, "subdomain", json_string(svc));
	/* k8s: updateStorage: a persistentVolumeClaim volume per claim template, replacing any
	 * template volume of the same name; the other volumes follow. */
	json_t *claims = json_path(set, "spec.volumeClaimTemplates");
	if (json_array_size(claims)) {
		json_t *vols = json_array();
		size_t i;
		json_t *ct, *v;
		json_array_foreach(claims, i, ct) {
			char *cn = claim_name(ct, set_name, ordinal);
			json_array_append_new(vols, json_pack("{s:O, s:{s:s}}", "name",
			                                      json_path(ct, "metadata.name"),
			                                      "persistentVolumeClaim", "claimName", cn));
			free(cn);
		}
		json_array_foreach(json_object_get(spec, "volumes"), i, v) {
			const char *vn = json_string_value(json_object_get(v, "name"));
			bool shadowed = false;
			size_t j;
			json_array_foreach(claims, j, ct) {
				if (str_eq(vn, json_path_str(ct, "metadata.name")))
					shadowed = true;
			}
			if (!shadowed)
				json_array_append(vols, v);
		}
		json_object_set_new(spec, "volumes", vols);
	}
	free(name);
	return json_pack("{s:s, s:s, s:o, s:o}", "apiVersion", "v1", "kind", "Pod", "metadata", meta,
	                 "spec", spec);
}

bool sts_identity_matches(json_t *set, json_t *pod)
{
	const char *set_name = json_path_str(set, "metadata.name");
	int ord = sts_ordinal(pod, set_name);
	if (ord < 0 || !str_eq(json_path_str(pod, "metadata.namespace"),
	                       json_path_str(set, "metadata.namespace")))
		return false;
	json_t *labels = json_path(pod, "metadata.labels");
	char idx[16];
	snprintf(idx, sizeof idx, "%d", ord);
	return str_eq(json_string_value(json_object_get(labels, STS_POD_NAME_LABEL)),
	              json_path_str(pod, "metadata.name")) &&
	       str_eq(json_string_value(json_object_get(labels, STS_POD_INDEX_LABEL)), idx);
}

int sts_fix_identity(sts_sync *s, json_t *pod)
{
	const char *name = json_path_str(pod, "metadata.name");
	char idx[16];
	snprintf(idx, sizeof idx, "%d", sts_ordinal(pod, s->name));
	json_t *patch = json_pack("{s:{s:{s:s, s:s}}}", "metadata", "labels", STS_POD_NAME_LABEL,
	                          name, STS_POD_INDEX_LABEL, idx);
	wres *w = wres_new();
	client_patch(s->c->srv, s->c->def->name, controller_kind("", "pods"), s->ns, name, NULL, NULL,
	             patch, wres_cb, w);
	json_decref(patch);
	int rc = w->code >= 400 ? -1 : 0;
	sts_pod_event(s, "update", name, rc ? w->msg : NULL);
	wres_unref(w);
	return rc;
}

void sts_pod_event(sts_sync *s, const char *verb, const char *pod, const char *err)
{
	char title[32];
	snprintf(title, sizeof title, "%s", verb);
	title[0] = (char)toupper((unsigned char)title[0]);
	char reason[48];
	/* k8s: recordPodEvent: Successful<Verb> / Failed<Verb>. */
	if (!err) {
		snprintf(reason, sizeof reason, "Successful%s", title);
		event_record(s->c->srv, STS_COMPONENT, s->set, "Normal", reason,
		             "%s Pod %s in StatefulSet %s successful", verb, pod, s->name);
	} else {
		snprintf(reason, sizeof reason, "Failed%s", title);
		event_record(s->c->srv, STS_COMPONENT, s->set, "Warning", reason,
		             "%s Pod %s in StatefulSet %s failed error: %s", verb, pod, s->name, err);
	}
}

int sts_delete_pod(sts_sync *s, json_t *pod)
{
	const char *name = json_path_str(pod, "metadata.name");
	wres *w = wres_new();
	client_delete(s->c->srv, s->c->def->name, controller_kind("", "pods"), s->ns, name, NULL,
	              wres_cb, w);
	/* A pod already gone is not a failure. */
	int rc = w->code >= 400 && w->code != 404 ? -1 : 0;
	sts_pod_event(s, "delete", name, rc ? w->msg : NULL);
	wres_unref(w);
	return rc;
}

/* ---------- storage ---------- */

/* k8s: getPersistentVolumeClaims: the template with the claim's name and namespace, and
 * the template's labels plus the set selector's matchLabels. */
static json_t *new_claim(json_t *set, json_t *ct, const char *name)
{
	json_t *claim = json_clone(ct);
	json_object_del(claim, "status");
	json_t *meta = json_obj_child(claim, "metadata");
	json_object_del(meta, "creationTimestamp");
	json_object_set_new(meta, "name", json_string(name));
	json_object_set(meta, "namespace", json_path(set, "metadata.namespace"));
	json_t *labels = json_obj_child(meta, "labels");
	json_object_update(labels, json_path(set, "spec.selector.matchLabels"));
	if (!json_object_size(labels))
		json_object_del(meta, "labels");
	json_object_set_new(claim, "apiVersion", json_string("v1"));
	json_object_set_new(claim, "kind", json_string("PersistentVolumeClaim"));
	return claim;
}

static void claim_event(sts_sync *s, const char *claim, const char *pod, const char *err)
{
	if (!err)
		event_record(s->c->srv, STS_COMPONENT, s->set, "Normal", "SuccessfulCreate",
		             "create Claim %s Pod %s in StatefulSet %s success", claim, pod, s->name);
	else
		event_record(s->c->srv, STS_COMPONENT, s->set, "Warning", "FailedCreate",
		             "create Claim %s for Pod %s in StatefulSet %s failed error: %s", claim, pod,
		             s->name, err);
}

int sts_create_claims(sts_sync *s, json_t *set, json_t *pod)
{
	const kind_desc *ck = controller_kind("", "persistentvolumeclaims");
	const char *pod_name = json_path_str(pod, "metadata.name");
	int ord = sts_ordinal(pod, s->name);
	int rc = 0;
	size_t i;
	json_t *ct;
	json_array_foreach(json_path(set, "spec.volumeClaimTemplates"), i, ct) {
		char *cn = claim_name(ct, s->name, ord);
		json_t *have = controller_get(s->c, ck, s->ns, cn);
		if (!have) {
			json_t *claim = new_claim(set, ct, cn);
			wres *w = wres_new();
			client_create(s->c->srv, s->c->def->name, ck, s->ns, claim, wres_cb, w);
			json_decref(claim);
			have = controller_get(s->c, ck, s->ns, cn);
			if (!have || w->code >= 400) {
				rc = -1;
				claim_event(s, cn, pod_name, w->msg ? w->msg : "not created");
			} else {
				claim_event(s, cn, pod_name, NULL);
			}
			wres_unref(w);
		} else if (json_path(have, "metadata.deletionTimestamp")) {
			/* k8s: a claim being deleted blocks its pod until it is gone. */
			rc = -1;
		}
		json_decref(have);
		free(cn);
	}
	return rc;
}

/* k8s: matchesRef: an owner reference naming obj's kind and name (any uid). */
static bool ref_names(json_t *ref, const char *kind, const char *name)
{
	return str_eq(json_string_value(json_object_get(ref, "kind")), kind) &&
	       str_eq(json_string_value(json_object_get(ref, "name")), name);
}

bool sts_claim_is_stale(sts_sync *s, json_t *pod)
{
	const char *when_scaled =
	    json_path_str(s->set, "spec.persistentVolumeClaimRetentionPolicy.whenScaled");
	if (!str_eq(when_scaled, "Delete"))
		return false;
	const kind_desc *ck = controller_kind("", "persistentvolumeclaims");
	const char *pod_name = json_path_str(pod, "metadata.name");
	const char *pod_uid = json_path_str(pod, "metadata.uid");
	int ord = sts_ordinal(pod, s->name);
	bool stale = false;
	size_t i, j;
	json_t *ct, *ref;
	json_array_foreach(json_path(s->set, "spec.volumeClaimTemplates"), i, ct) {
		char *cn = claim_name(ct, s->name, ord);
		json_t *claim = controller_get(s->c, ck, s->ns, cn);
		json_array_foreach(json_path(claim, "metadata.ownerReferences"), j, ref) {
			if (ref_names(ref, "Pod", pod_name) &&
			    !str_eq(json_string_value(json_object_get(ref, "uid")), pod_uid))
				stale = true;
		}
		json_decref(claim);
		free(cn);
	}
	return stale;
}

static json_t *pod_controller_ref(json_t *pod)
{
	return json_pack("{s:s, s:s, s:O, s:O, s:b, s:b}", "apiVersion", "v1", "kind", "Pod", "name",
	                 json_path(pod, "metadata.name"), "uid", json_path(pod, "metadata.uid"),
	                 "controller", 1, "blockOwnerDeletion", 1);
}

/* The owner references claim should have (a new array), or NULL to leave it untouched. */
static json_t *wanted_refs(sts_sync *s, json_t *claim, json_t *pod)
{
	const char *set_uid = json_path_str(s->set, "metadata.uid");
	const char *pod_name = json_path_str(pod, "metadata.name");
	const char *pod_uid = json_path_str(pod, "metadata.uid");
	json_t *refs = json_path(claim, "metadata.ownerReferences");
	bool unexpected = false;
	size_t i;
	json_t *ref;
	json_array_foreach(refs, i, ref) {
		const char *uid = json_string_value(json_object_get(ref, "uid"));
		/* k8s: a claim held by an earlier set or pod of the same name is not touched. */
		if ((ref_names(ref, "StatefulSet", s->name) && !str_eq(uid, set_uid)) ||
		    (ref_names(ref, "Pod", pod_name) && !str_eq(uid, pod_uid)))
			return NULL;
		if (json_is_true(json_object_get(ref, "controller")) && !str_eq(uid, set_uid) &&
		    !str_eq(uid, pod_uid))
			unexpected = true;
	}
	/* k8s: updateClaimOwnerRefForSetAndPod: scrub our refs, then add what the policy asks. */
	json_t *out = json_array();
	json_array_foreach(refs, i, ref) {
		if (!ref_names(ref, "StatefulSet", s->name) && !ref_names(ref, "Pod", pod_name))
			json_array_append(out, ref);
	}
	if (unexpected)
		return out;
	json_t *policy = json_path(s->set, "spec.persistentVolumeClaimRetentionPolicy");
	bool scaled_delete = str_eq(json_string_value(json_object_get(policy, "whenScaled")), "Delete");
	bool deleted_delete =
	    str_eq(json_string_value(json_object_get(policy, "whenDeleted")), "Delete");
	bool scaled_down = !sts_in_range(s->set, sts_ordinal(pod, s->name));
	if (scaled_delete && scaled_down)
		json_array_append_new(out, pod_controller_ref(pod));
	else if (deleted_delete && !(scaled_delete && scaled_down))
		json_array_append_new(out, controller_owner_ref(s->set));
	return out;
}

int sts_fix_claim_refs(sts_sync *s, json_t *pod)
{
	const kind_desc *ck = controller_kind("", "persistentvolumeclaims");
	int ord = sts_ordinal(pod, s->name);
	int rc = 0;
	size_t i;
	json_t *ct;
	json_array_foreach(json_path(s->set, "spec.volumeClaimTemplates"), i, ct) {
		char *cn = claim_name(ct, s->name, ord);
		json_t *claim = controller_get(s->c, ck, s->ns, cn);
		json_t *want = claim ? wanted_refs(s, claim, pod) : NULL;
		json_t *have = json_path(claim, "metadata.ownerReferences");
		bool same = json_array_size(want) == json_array_size(have) &&
		            (json_array_size(want) == 0 || json_equal(want, have));
		if (want && !same) {
			json_t *patch = json_pack("{s:{s:O, s:O}}", "metadata", "ownerReferences", want,
			                          "resourceVersion",
			                          json_path(claim, "metadata.resourceVersion"));
			wres *w = wres_new();
			client_patch(s->c->srv, s->c->def->name, ck, s->ns, cn, NULL, NULL, patch,
			             wres_cb, w);
			if (w->code >= 400)
				rc = -1;
			wres_unref(w);
			json_decref(patch);
		}
		json_decref(want);
		json_decref(claim);
		free(cn);
	}
	return rc;
}
