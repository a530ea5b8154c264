/* write.c — create, update (PUT), patch (JSON, merge, strategic, server-side apply) and the
 * shared preparation every write goes through: system metadata, generation, status
 * handling, defaults, validation, managed fields, resourceVersion preconditions. Replies
 * are sent only after the store made the write durable.
 * Not for: deletion (delete.c, lifecycle.c), reads, watches.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/defaults.h"
#include "api/normalize.h"
#include "api/patch.h"
#include "api/schema.h"
#include "api/validate.h"
#include "apiserver/admission.h"
#include "apiserver/admission_policy.h"
#include "apiserver/apiserver-internal.h"
#include "apiserver/scale.h"
#include "base/json.h"
#include "base/log.h"
#include "base/util.h"
#include "base/yaml.h"

#include "api/apply.h"
#include "api/convert.h"

/* ---------- storing ---------- */

json_t *load_object(apiserver *s, const char *key)
{
	const cache_entry *e = cache_get(s->cache, key);
	if (!e)
		return NULL;
	return cache_entry_dup(s->cache, e);
}

int64_t store_object(apiserver *s, const kind_desc *d, json_t *obj, int type, cache_write_cb cb,
                     void *ud)
{
	return store_object_bytes(s, d, obj, type, cb, ud, NULL, false);
}

int64_t store_object_bytes(apiserver *s, const kind_desc *d, json_t *obj, int type,
                           cache_write_cb cb, void *ud, blob **same, bool share)
{
	int64_t rev = cache_rev(s->cache) + 1;
	json_t *meta = json_obj_child(obj, "metadata");
	char rvs[24];
	fmt_i64(rvs, rev);
	json_object_set_new(meta, "resourceVersion", json_string(rvs));
	_cleanup_free_ char *key =
	    route_key(d, json_string_value(json_object_get(meta, "namespace")),
	              json_string_value(json_object_get(meta, "name")));
	/* Versions that share storage are stored in one (autoscaling/v2, core/v1 events). */
	_cleanup_json_ json_t *stored = convert_to_storage(d, obj, NULL);
	bool converted = stored && stored != obj; /* else the same object, one more reference */
	/* What the writer shares with the stored tree is copied from the stored bytes. */
	blob *json = cache_dump_next(s->cache, key, stored ? stored : obj);
	json_t *labels = json_object_get(meta, "labels");
	labels = json_is_object(labels) && json_object_size(labels) ? json_incref(labels) : NULL;
	cache_write_blob(s->cache, rev, key, type, json, labels, share ? (stored ? stored : obj) : NULL,
	                 cb, ud);
	if (same) {
		const cache_entry *e =
		    converted || type == STORE_DELETED ? NULL : cache_get(s->cache, key);
		*same = e ? blob_ref(e->value) : NULL;
	}
	return rev;
}

/* A reply waiting for its write to be durable. */
typedef struct reply {
	api_req *r;
	json_t *obj;
	blob *same; /* the stored bytes when they are obj's serialization, or NULL */
	int code;
} reply;

/* Whether the answer to r shows obj as it is (no conversion to the request's version). */
static bool read_form_is_stored(api_req *r, json_t *obj)
{
	if (!r->kind)
		return true;
	json_t *cv = convert_for_read(r->kind, obj, NULL);
	bool same = cv == obj;
	json_decref(cv);
	return same;
}

static void on_durable(void *ud, int64_t rev, const terr *err)
{
	reply *w = ud;
	UNUSED(rev);
	if (err) {
		terr *e = NULL;
		terr_internal(&e, "%s", err->message);
		api_send_error(w->r, e);
	} else if (w->same && !w->r->want_table && !w->r->want_yaml && !w->r->reply_scale &&
	           !http_req_takes_obj(w->r->http) && read_form_is_stored(w->r, w->obj)) {
		/* The answer is the object as stored: those bytes, not a second serialization. */
		api_send_json_bytes(w->r, w->code, w->same->data, w->same->len);
	} else {
		api_send_object(w->r, w->code, w->obj);
	}
	blob_unref(w->same);
	json_decref(w->obj);
	free(w);
}

/* Stores obj and answers code with it once durable (or at once for dry runs). */
static void commit_and_reply(api_req *r, json_t *obj, int type, int code)
{
	if (r->dry_run) {
		api_send_object(r, code, obj);
		json_decref(obj);
		return;
	}
	reply *w = xcalloc(1, sizeof *w);
	w->r = r;
	w->obj = obj;
	w->code = code;
	/* obj is read-only from here (the answer only reads it): the cache shares it. */
	store_object_bytes(r->srv, r->kind, obj, type, on_durable, w, &w->same, true);
}

/* ---------- shared preparation ---------- */

/* k8s: these kinds count spec changes in metadata.generation. */
static bool tracks_generation(const kind_desc *d)
{
	static const char *const res[] = {"deployments", "replicasets", "statefulsets",
	                                  "daemonsets", "jobs", "cronjobs", "horizontalpodautoscalers",
	                                  "poddisruptionbudgets", "customresourcedefinitions",
	                                  "networkpolicies", "ingresses"};
	if (d->custom)
		return true;
	for (size_t i = 0; i < ARRAY_SIZE(res); i++)
		if (strcmp(d->resource, res[i]) == 0)
			return true;
	return false;
}

/* Everything except metadata and status: what a generation counts. */
static bool spec_changed(json_t *old, json_t *obj)
{
	_cleanup_json_ json_t *a = json_copy(old);
	_cleanup_json_ json_t *b = json_copy(obj);
	static const char *const drop[] = {"metadata", "status", "apiVersion", "kind"};
	for (size_t i = 0; i < ARRAY_SIZE(drop); i++) {
		json_object_del(a, drop[i]);
		json_object_del(b, drop[i]);
	}
	return !json_equal(a, b);
}

static const schema_type *kind_schema(const kind_desc *d)
{
	return d->custom ? NULL : schema_find(d->schema);
}

static int check_type_meta(api_req *r, json_t *obj, terr **err)
{
	char apiv[128];
	kind_api_version(r->kind, apiv);
	const char *k = json_string_value(json_object_get(obj, "kind"));
	const char *v = json_string_value(json_object_get(obj, "apiVersion"));
	if (k && strcmp(k, r->kind->kind) != 0)
		return terr_bad_request(err, "the kind of the object (%s) does not match the kind on the URL (%s)", k, r->kind->kind);
	if (v && strcmp(v, apiv) != 0)
		return terr_bad_request(err, "the API version in the data (%s) does not match the expected API version (%s)", v, apiv);
	json_object_set_new(obj, "apiVersion", json_string(apiv));
	json_object_set_new(obj, "kind", json_string(r->kind->kind));
	return 0;
}

static void generate_name(json_t *meta)
{
	/* k8s: generateName appends five characters from a consonant-and-digit alphabet. */
	static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
	const char *base = json_string_value(json_object_get(meta, "generateName"));
	unsigned char rnd[5];
	random_id_bytes(rnd, sizeof rnd);
	char suffix[6];
	for (int i = 0; i < 5; i++)
		suffix[i] = alphabet[rnd[i] % (sizeof alphabet - 1)];
	suffix[5] = 0;
	size_t n = strlen(base);
	if (n > 58)
		n = 58;
	char *name = xasprintf("%.*s%s", (int)n, base, suffix);
	json_object_set_new(meta, "name", json_string(name));
	free(name);
}

/* Managed fields for a non-apply write by r's field manager. */
static void track_fields(api_req *r, json_t *old, json_t *obj)
{
	char apiv[128];
	kind_api_version(r->kind, apiv);
	/* k8s: a write through status is its manager's entry for that subresource, owning the
	 * status fields it changed (a kubelet's entry on a pod). */
	const char *sub = str_eq(r->sub, "status") ? "status" : NULL;
	apply_track_update_subresource(old, obj, kind_schema(r->kind), r->kind->crd_schema,
	                               r->field_manager, "Update", apiv, sub, time_now_ns());
}

static int namespace_usable(api_req *r, json_t *obj, const char *ns, terr **err)
{
	const kind_desc *nsk = kind_by_resource("", "v1", "namespaces");
	_cleanup_free_ char *key = route_key(nsk, NULL, ns);
	const cache_entry *e = cache_get(r->srv->cache, key);
	json_t *o = e ? cache_entry_obj(r->srv->cache, e) : NULL; /* read only */
	if (!o) {
		terr_set(err, 404, "NotFound", "namespaces \"%s\" not found", ns);
		return -1;
	}
	/* k8s: nothing new may be created in a namespace that is being deleted. */
	if (json_path(o, "metadata.deletionTimestamp")) {
		char msg[320];
		snprintf(msg, sizeof msg,
		         "unable to create new content in namespace %s because it is being terminated",
		         ns);
		admission_forbidden(r, obj, err, msg);
		/* k8s: with a NamespaceTerminating cause, which controllers look for */
		terr_cause_add(err, "NamespaceTerminating", "metadata.namespace",
		               "namespace %s is being terminated", ns);
		return -1;
	}
	return 0;
}

/* ---------- create ---------- */

static void status_defaults(const kind_desc *d, json_t *obj);

/* Prepares obj for storing as a new object of r->kind. */
int prepare_create(api_req *r, json_t *obj, terr **err)
{
	const kind_desc *d = r->kind;
	if (check_type_meta(r, obj, err) < 0)
		return -1;
	json_t *meta = json_obj_child(obj, "metadata");
	const char *ns = json_string_value(json_object_get(meta, "namespace"));
	if (d->namespaced) {
		if (r->ns && ns && *ns && strcmp(ns, r->ns) != 0)
			return terr_bad_request(err, "the namespace of the provided object does not match the namespace sent on the request");
		if (!r->ns && (!ns || !*ns))
			return terr_bad_request(err, "the namespace of the provided object is empty");
		if (r->ns)
			json_object_set_new(meta, "namespace", json_string(r->ns));
		ns = json_string_value(json_object_get(meta, "namespace"));
		if (namespace_usable(r, obj, ns, err) < 0)
			return -1;
	} else {
		json_object_del(meta, "namespace");
	}
	const char *name = json_string_value(json_object_get(meta, "name"));
	if ((!name || !*name) && json_string_value(json_object_get(meta, "generateName")))
		generate_name(meta);
	if (json_string_value(json_object_get(meta, "resourceVersion")) &&
	    *json_string_value(json_object_get(meta, "resourceVersion")))
		return terr_bad_request(err, "resourceVersion should not be set on objects to be created");
	static const char *const server_owned[] = {"uid", "creationTimestamp", "deletionTimestamp",
	                                           "deletionGracePeriodSeconds", "generation",
	                                           "selfLink", "resourceVersion"};
	for (size_t i = 0; i < ARRAY_SIZE(server_owned); i++)
		json_object_del(meta, server_owned[i]);
	char uid[37], ts[32];
	uuid_v4(uid);
	time_rfc3339(time_now_ns(), false, ts);
	json_object_set_new(meta, "uid", json_string(uid));
	json_object_set_new(meta, "creationTimestamp", json_string(ts));
	if (tracks_generation(d))
		json_object_set_new(meta, "generation", json_integer(1));
	defaults_apply(d, obj);
	normalize_omitempty(kind_schema(d), obj);
	/* k8s: the field manager records the writer's fields as decoded and defaulted, before
	 * mutating admission and the strategy's PrepareForCreate: what those add (a pod's
	 * token volume and mounts, service account, priority and tolerations; a Job's
	 * generated selector; a Namespace's finalizer; a Service's cluster IP) is nobody's.
	 * What admission adds is complete (defaulted, no empty omitempty members): only the
	 * status is defaulted again (below). */
	track_fields(r, NULL, obj);
	if (admission_prepare_create(r, obj, err) < 0)
		return -1;
	/* k8s: PrepareForCreate resets a status (a claim's, a Deployment's) that kube then
	 * reads back defaulted (phase Pending): the status is defaulted again. */
	status_defaults(d, obj);
	defaults_on_create(d, obj);
	if (validate_object(d, obj, NULL, err) < 0)
		return -1;
	if (admission_validate(r, obj, NULL, err) < 0)
		return -1;
	return 0;
}

static void already_exists(api_req *r, const char *name)
{
	terr *err = NULL;
	char qr[256];
	kind_qualified_resource(r->kind, qr);
	terr_already_exists(&err, "%s \"%s\" already exists", qr, name);
	free(r->name);
	r->name = xstrdup(name);
	api_send_error(r, err);
}

/* Creates obj (consumed) after preparation; answers 201. */
static void create_object(api_req *r, json_t *obj)
{
	terr *err = NULL;
	if (prepare_create(r, obj, &err) < 0) {
		const char *n = json_path_str(obj, "metadata.name");
		if (n && !r->name)
			r->name = xstrdup(n);
		json_decref(obj);
		api_send_error(r, err);
		return;
	}
	const char *name = json_path_str(obj, "metadata.name");
	_cleanup_free_ char *key = route_key(r->kind, json_path_str(obj, "metadata.namespace"), name);
	if (cache_get(r->srv->cache, key)) {
		already_exists(r, name);
		json_decref(obj);
		return;
	}
	admission_before_store(r, obj, NULL);
	commit_and_reply(r, obj, STORE_ADDED, 201);
}

void handle_create(api_req *r)
{
	terr *err = NULL;
	if (r->sub) {
		admission_subresource_create(r);
		return;
	}
	json_t *obj = codec_decode_body(r, &err);
	if (!obj || codec_check_fields(r, obj, &err) < 0) {
		json_decref(obj);
		api_send_error(r, err);
		return;
	}
	create_object(r, obj);
}

/* ---------- update ---------- */

static void conflict(api_req *r, terr **err, const char *why)
{
	char qr[256];
	kind_qualified_resource(r->kind, qr);
	terr_conflict(err, "Operation cannot be fulfilled on %s \"%s\": %s", qr, r->name, why);
}

/* Makes each of keys in dst what it is in src: the same value, or absent. */
static void take_members(json_t *dst, json_t *src, const char *const *keys, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		json_t *v = json_object_get(src, keys[i]);
		if (v)
			json_object_set(dst, keys[i], v);
		else
			json_object_del(dst, keys[i]);
	}
}

/* Defaults and normalization of a status write. Only its metadata and status are its own:
 * everything else is the stored object's, defaulted and normalized when it was written and
 * shared with the cache, so it must not be walked by code that sets members. As in kube,
 * where the status strategy takes the spec from the stored object, only what the write may
 * change is defaulted: a view of obj holding just those (the view's other members, which
 * pod defaults create, are dropped with it). */
static void status_defaults(const kind_desc *d, json_t *obj)
{
	static const char *const own[] = {"metadata", "status"};
	_cleanup_json_ json_t *view = json_object();
	static const char *const keys[] = {"apiVersion", "kind", "metadata", "status"};
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		json_t *v = json_object_get(obj, keys[i]);
		if (v)
			json_object_set(view, keys[i], v);
	}
	defaults_apply_beyond_spec(d, view);
	normalize_omitempty(kind_schema(d), view);
	take_members(obj, view, own, ARRAY_SIZE(own));
}

/* Finishes a write that turns old into obj (consumed): checks, then stores and answers.
 * A status write's old is the cache's shared tree (read-only). */
static void finish_update(api_req *r, json_t *old, json_t *obj, bool apply)
{
	terr *err = NULL;
	const kind_desc *d = r->kind;
	json_t *meta = json_obj_child(obj, "metadata");
	json_t *ometa = json_object_get(old, "metadata");
	if (check_type_meta(r, obj, &err) < 0)
		goto fail;
	const char *name = json_string_value(json_object_get(meta, "name"));
	if (name && strcmp(name, r->name) != 0) {
		terr_bad_request(&err, "the name of the object (%s) does not match the name on the URL (%s)", name, r->name);
		goto fail;
	}
	const char *ns = json_string_value(json_object_get(meta, "namespace"));
	if (d->namespaced && ns && *ns && r->ns && strcmp(ns, r->ns) != 0) {
		terr_bad_request(&err, "the namespace of the provided object does not match the namespace sent on the request");
		goto fail;
	}
	/* k8s: an update naming a resourceVersion other than the stored one is a conflict. */
	const char *rv = json_string_value(json_object_get(meta, "resourceVersion"));
	const char *orv = json_string_value(json_object_get(ometa, "resourceVersion"));
	if (rv && *rv && orv && strcmp(rv, orv) != 0) {
		conflict(r, &err, "the object has been modified; please apply your changes to the latest version and try again");
		goto fail;
	}
	json_object_set_new(meta, "name", json_string(r->name));
	if (d->namespaced)
		json_object_set(meta, "namespace", json_object_get(ometa, "namespace"));
	static const char *const kept[] = {"uid", "creationTimestamp", "deletionTimestamp",
	                                   "deletionGracePeriodSeconds", "generation"};
	take_members(meta, ometa, kept, ARRAY_SIZE(kept));
	json_object_del(meta, "selfLink");
	/* With a status subresource, the main resource cannot change status and the status
	 * subresource cannot change anything else. */
	bool is_status = r->sub && strcmp(r->sub, "status") == 0;
	if ((d->subresources & KIND_SUB_STATUS) && !is_status) {
		json_t *st = json_object_get(old, "status");
		if (st)
			json_object_set(obj, "status", st);
		else
			json_object_del(obj, "status");
	}
	if (is_status) {
		/* The old object with the new status. Its other members are shared with old
		 * (the cache's tree: nothing below changes outside status and metadata), so
		 * comparing them is a pointer check, not a walk of the spec; metadata, which the
		 * write changes, is a copy of its own. */
		json_t *copy = json_copy(old);
		json_t *om = json_object_get(old, "metadata"), *cm = json_object();
		json_t *mf = json_object_get(meta, "managedFields");
		const char *k;
		json_t *v;
		json_object_foreach(om, k, v)
		{
			if (!mf || strcmp(k, "managedFields") != 0)
				json_object_set_new(cm, k, json_clone_containers(v));
		}
		json_object_set_new(copy, "metadata", cm);
		json_t *st = json_object_get(obj, "status");
		if (st)
			json_object_set(copy, "status", st);
		else
			json_object_del(copy, "status");
		if (mf)
			json_object_set(json_obj_child(copy, "metadata"), "managedFields", mf);
		json_decref(obj);
		obj = copy;
		meta = json_obj_child(obj, "metadata");
	}
	if (tracks_generation(d) && spec_changed(old, obj)) {
		json_int_t g = json_integer_value(json_object_get(ometa, "generation"));
		json_object_set_new(meta, "generation", json_integer(g + 1));
	}
	if (is_status)
		status_defaults(d, obj);
	else {
		defaults_apply(d, obj);
		normalize_omitempty(kind_schema(d), obj);
	}
	if (validate_object(d, obj, old, &err) < 0)
		goto fail;
	if (admission_validate(r, obj, old, &err) < 0)
		goto fail;
	if (!apply)
		track_fields(r, old, obj);
	json_object_set(meta, "resourceVersion", json_object_get(ometa, "resourceVersion"));
	/* k8s: an update that changes nothing is not written and keeps the resourceVersion. */
	if (json_equal(old, obj)) {
		api_send_object(r, 200, old);
		json_decref(obj);
		return;
	}
	admission_before_store(r, obj, old);
	/* k8s: removing the last finalizer of an object being deleted deletes it. */
	json_t *fins = json_object_get(meta, "finalizers");
	if (json_object_get(meta, "deletionTimestamp") && json_array_size(fins) == 0) {
		json_object_del(meta, "finalizers");
		lifecycle_delete(r->srv, d, obj, NULL, r->dry_run, NULL, NULL, NULL);
		api_send_object(r, 200, obj);
		json_decref(obj);
		return;
	}
	commit_and_reply(r, obj, STORE_MODIFIED, 200);
	return;
fail:
	json_decref(obj);
	api_send_error(r, err);
}

/* The stored object r writes: a copy of its own, or with shared set, the cache's tree
 * (read-only). */
static json_t *load_target(api_req *r, bool shared, terr **err)
{
	if (r->kind->namespaced && !r->ns) {
		terr_not_found(err, "the server could not find the requested resource");
		return NULL;
	}
	_cleanup_free_ char *key = route_key(r->kind, r->ns, r->name);
	json_t *old =
	    shared ? cache_get_obj(r->srv->cache, key) : load_object(r->srv, key);
	if (!old) {
		char qr[256];
		kind_qualified_resource(r->kind, qr);
		terr_not_found(err, "%s \"%s\" not found", qr, r->name);
		return NULL;
	}
	json_t *conv = convert_for_read(r->kind, old, err);
	json_decref(old);
	return conv;
}

void handle_update(api_req *r)
{
	terr *err = NULL;
	/* k8s: certificatesigningrequests/approval (kubectl certificate approve|deny) writes
	 * status.conditions; here it is a status update, authorized on its own name. */
	if (str_eq(r->sub, "approval") &&
	    str_eq(r->kind->resource, "certificatesigningrequests")) {
		free(r->sub);
		r->sub = xstrdup("status");
	}
	if (r->sub && strcmp(r->sub, "status") != 0 && strcmp(r->sub, "scale") != 0) {
		terr_set(&err, 405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
		api_send_error(r, err);
		return;
	}
	json_t *obj = codec_decode_body(r, &err);
	if (!obj) {
		api_send_error(r, err);
		return;
	}
	/* A status write changes only its own copies of metadata and status (finish_update). */
	_cleanup_json_ json_t *old = load_target(r, str_eq(r->sub, "status"), &err);
	if (!old) {
		json_decref(obj);
		api_send_error(r, err);
		return;
	}
	if (r->sub && strcmp(r->sub, "scale") == 0) {
		json_t *scaled = scale_apply(r->kind, old, obj, &err);
		const char *rv = json_path_str(obj, "metadata.resourceVersion");
		if (scaled && rv && *rv)
			json_object_set_new(json_obj_child(scaled, "metadata"), "resourceVersion", json_string(rv));
		json_decref(obj);
		if (!scaled) {
			api_send_error(r, err);
			return;
		}
		r->sub = (free(r->sub), NULL);
		r->want_table = false;
		r->reply_scale = true;
		finish_update(r, old, scaled, false);
		return;
	}
	if (codec_check_fields(r, obj, &err) < 0) {
		json_decref(obj);
		api_send_error(r, err);
		return;
	}
	finish_update(r, old, obj, false);
}

/* ---------- patch ---------- */

static bool ctype_is(const char *ct, const char *want)
{
	size_t n = strlen(want);
	return ct && strncmp(ct, want, n) == 0 && (ct[n] == 0 || ct[n] == ';');
}

void handle_patch(api_req *r)
{
	terr *err = NULL;
	http_req *h = r->http;
	const char *ct = http_req_header(h, "content-type");
	bool is_json = ctype_is(ct, "application/json-patch+json");
	bool is_merge = ctype_is(ct, "application/merge-patch+json");
	bool is_smp = ctype_is(ct, "application/strategic-merge-patch+json");
	bool is_apply = ctype_is(ct, "application/apply-patch+yaml");
	if (is_smp && r->kind->custom)
		is_smp = false, ct = NULL; /* k8s: no strategic merge patch for custom resources */
	if (!is_json && !is_merge && !is_smp && !is_apply) {
		terr_set(&err, 415, "UnsupportedMediaType", "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml%s",
		         r->kind->custom ? "" : ", application/strategic-merge-patch+json");
		api_send_error(r, err);
		return;
	}
	bool is_scale = r->sub && strcmp(r->sub, "scale") == 0;
	if (r->sub && strcmp(r->sub, "status") != 0 && !is_scale) {
		terr_set(&err, 405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
		api_send_error(r, err);
		return;
	}
	_cleanup_json_ json_t *patch = NULL;
	if (h->body_obj && !is_apply) {
		patch = h->body_obj; /* in process: the caller's tree, a private copy */
		h->body_obj = NULL;
	} else if (is_apply) {
		patch = yaml_to_json(h->body, h->body_len, &err);
	} else {
		json_error_t je;
		patch = json_loadb(h->body, h->body_len, 0, &je);
		if (!patch)
			terr_bad_request(&err, "error decoding patch: %s", je.text);
	}
	if (!patch) {
		api_send_error(r, err);
		return;
	}
	_cleanup_json_ json_t *old = load_target(r, false, &err);
	if (!old) {
		if (is_apply && !r->sub) {
			/* k8s: server-side apply creates what does not exist yet. */
			terr_free(err);
			err = NULL;
			if (codec_check_fields(r, patch, &err) < 0) {
				api_send_error(r, err);
				return;
			}
			char apiv[128];
			kind_api_version(r->kind, apiv);
			json_t *obj = apply_ssa(NULL, patch, kind_schema(r->kind), r->kind->crd_schema,
			                        r->field_manager, apiv, r->force, time_now_ns(), &err);
			if (!obj) {
				api_send_error(r, err);
				return;
			}
			json_t *meta = json_obj_child(obj, "metadata");
			if (!json_object_get(meta, "name"))
				json_object_set_new(meta, "name", json_string(r->name));
			/* The managed fields apply_ssa recorded survive prepare_create's tracking. */
			json_t *mf = json_incref(json_object_get(meta, "managedFields"));
			terr *perr = NULL;
			if (prepare_create(r, obj, &perr) < 0) {
				json_decref(mf);
				json_decref(obj);
				api_send_error(r, perr);
				return;
			}
			if (mf)
				json_object_set_new(json_obj_child(obj, "metadata"), "managedFields", mf);
			_cleanup_free_ char *key = route_key(r->kind, r->ns, r->name);
			if (cache_get(r->srv->cache, key)) {
				already_exists(r, r->name);
				json_decref(obj);
				return;
			}
			admission_before_store(r, obj, NULL);
			commit_and_reply(r, obj, STORE_ADDED, 201);
			return;
		}
		api_send_error(r, err);
		return;
	}
	json_t *base = is_scale ? scale_from_object(r->kind, old) : json_incref(old);
	json_t *obj = NULL;
	if (is_json) {
		obj = patch_json(base, patch, &err);
	} else if (is_merge) {
		if (!json_is_object(patch))
			terr_bad_request(&err, "error decoding patch: a merge patch must be a JSON object");
		else
			obj = patch_merge(base, patch);
	} else if (is_smp) {
		const schema_type *t = is_scale ? schema_find("io.k8s.api.autoscaling.v1.Scale")
		                                : kind_schema(r->kind);
		obj = patch_strategic(base, patch, t, &err);
	} else {
		if (codec_check_fields(r, patch, &err) == 0) {
			char apiv[128];
			kind_api_version(r->kind, apiv);
			obj = apply_ssa(base, patch, kind_schema(r->kind), r->kind->crd_schema,
			                r->field_manager, apiv, r->force, time_now_ns(), &err);
		}
	}
	json_decref(base);
	if (!obj) {
		api_send_error(r, err);
		return;
	}
	if (!json_is_object(obj)) {
		json_decref(obj);
		terr_bad_request(&err, "the patch did not produce an object");
		api_send_error(r, err);
		return;
	}
	if (is_scale) {
		json_t *scaled = scale_apply(r->kind, old, obj, &err);
		json_decref(obj);
		if (!scaled) {
			api_send_error(r, err);
			return;
		}
		obj = scaled;
		r->sub = (free(r->sub), NULL);
		r->reply_scale = true;
	}
	/* A patch only carries a resourceVersion precondition when it sets one itself. */
	if (!is_json && !json_path(patch, "metadata.resourceVersion"))
		json_object_set(json_obj_child(obj, "metadata"), "resourceVersion",
		                json_path(old, "metadata.resourceVersion"));
	if (!is_apply && codec_check_patched(r, obj, patch, is_smp, &err) < 0) {
		json_decref(obj);
		api_send_error(r, err);
		return;
	}
	finish_update(r, old, obj, is_apply);
}
