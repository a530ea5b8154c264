/* delete.c — DELETE of one object and of a collection: DeleteOptions (body or query),
 * preconditions, dry runs, and the answers kube gives (the object while it waits for
 * finalizers, a Status once it is gone). Not for: what deletion does (lifecycle.c). */
#include <stdlib.h>
#include <string.h>

#include "apiserver/apiserver-internal.h"
#include "api/convert.h"
#include "base/json.h"
#include "base/util.h"

/* DeleteOptions from the body (JSON or YAML) and the query string; new reference. */
static json_t *delete_options(api_req *r, terr **err)
{
	json_t *opts = NULL;
	if (r->http->body_len > 0 || r->http->body_obj) {
		opts = codec_decode_body(r, err);
		if (!opts)
			return NULL;
	} else {
		opts = json_object();
	}
	_cleanup_free_ char *pp = http_req_query(r->http, "propagationPolicy");
	if (pp && *pp)
		json_object_set_new(opts, "propagationPolicy", json_string(pp));
	_cleanup_free_ char *gp = http_req_query(r->http, "gracePeriodSeconds");
	if (gp && *gp)
		json_object_set_new(opts, "gracePeriodSeconds", json_integer(atoll(gp)));
	const char *policy = json_string_value(json_object_get(opts, "propagationPolicy"));
	if (policy && strcmp(policy, "Orphan") != 0 && strcmp(policy, "Foreground") != 0 &&
	    strcmp(policy, "Background") != 0) {
		json_decref(opts);
		terr_cause_add(err, "FieldValueNotSupported", "propagationPolicy",
		               "Unsupported value: \"%s\": supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\"", policy);
		return NULL;
	}
	json_t *dry = json_object_get(opts, "dryRun");
	if (json_array_size(dry) && str_eq(json_string_value(json_array_get(dry, 0)), "All"))
		r->dry_run = true;
	return opts;
}

typedef struct del_reply {
	api_req *r;
	json_t *obj;
	bool gone;
} del_reply;

static void reply_delete(api_req *r, json_t *obj, bool gone)
{
	r->want_table = false;
	if (gone) {
		/* k8s: most kinds answer a finished deletion with a Status naming the object. */
		_cleanup_json_ json_t *st = status_success(r->kind, json_path_str(obj, "metadata.name"),
		                                           json_path_str(obj, "metadata.uid"));
		api_send_object(r, 200, st);
	} else {
		api_send_object(r, 200, obj);
	}
}

static void on_deleted(void *ud, int64_t rev, const terr *err)
{
	del_reply *d = ud;
	UNUSED(rev);
	UNUSED(err);
	reply_delete(d->r, d->obj, d->gone);
	json_decref(d->obj);
	free(d);
}

void handle_delete(api_req *r)
{
	terr *err = NULL;
	if (r->sub || (r->kind->namespaced && !r->ns)) {
		terr_set(&err, 405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
		api_send_error(r, err);
		return;
	}
	_cleanup_json_ json_t *opts = delete_options(r, &err);
	if (!opts) {
		api_send_error(r, err);
		return;
	}
	_cleanup_free_ char *key = route_key(r->kind, r->ns, r->name);
	json_t *obj = load_object(r->srv, key);
	char qr[256];
	kind_qualified_resource(r->kind, qr);
	if (!obj) {
		terr_not_found(&err, "%s \"%s\" not found", qr, r->name);
		api_send_error(r, err);
		return;
	}
	/* k8s: preconditions on uid and resourceVersion turn a mismatch into 409 Conflict. */
	json_t *pre = json_object_get(opts, "preconditions");
	const char *puid = json_string_value(json_object_get(pre, "uid"));
	const char *prv = json_string_value(json_object_get(pre, "resourceVersion"));
	const char *uid = json_path_str(obj, "metadata.uid");
	const char *rv = json_path_str(obj, "metadata.resourceVersion");
	if (puid && !str_eq(puid, uid)) {
		terr_conflict(&err, "Operation cannot be fulfilled on %s \"%s\": Precondition failed: UID in precondition: %s, UID in object meta: %s", qr, r->name, puid, uid ? uid : "");
	} else if (prv && !str_eq(prv, rv)) {
		terr_conflict(&err, "Operation cannot be fulfilled on %s \"%s\": Precondition failed: ResourceVersion in precondition: %s, ResourceVersion in object meta: %s", qr, r->name, prv, rv ? rv : "");
	}
	if (err) {
		json_decref(obj);
		api_send_error(r, err);
		return;
	}
	del_reply *d = xcalloc(1, sizeof *d);
	d->r = r;
	d->obj = obj;
	d->gone = false;
	lifecycle_delete(r->srv, r->kind, obj, opts, r->dry_run, on_deleted, d, &d->gone);
}

void handle_delete_collection(api_req *r)
{
	terr *err = NULL;
	list_opts o = {0};
	_cleanup_json_ json_t *opts = delete_options(r, &err);
	if (!opts || list_parse_opts(r, &o, &err) < 0) {
		list_opts_free(&o);
		api_send_error(r, err);
		return;
	}
	_cleanup_free_ char *prefix = route_key(r->kind, r->ns, NULL);
	cache_entry *const *es;
	size_t n = cache_range(r->srv->cache, prefix, NULL, &es);
	char **keys = xcalloc(n ? n : 1, sizeof *keys);
	size_t nk = 0;
	for (size_t i = 0; i < n; i++)
		if (list_matches(&o, es[i], NULL))
			keys[nk++] = xstrdup(es[i]->key);
	list_opts_free(&o);
	json_t *items = json_array();
	for (size_t i = 0; i < nk; i++) {
		json_t *obj = load_object(r->srv, keys[i]);
		free(keys[i]);
		if (!obj)
			continue;
		lifecycle_delete(r->srv, r->kind, obj, opts, r->dry_run, NULL, NULL, NULL);
		json_t *cv = convert_for_read(r->kind, obj, NULL);
		json_array_append_new(items, cv ? cv : json_incref(obj));
		json_decref(obj);
	}
	free(keys);
	char apiv[128];
	kind_api_version(r->kind, apiv);
	char kind[160];
	snprintf(kind, sizeof kind, "%sList", r->kind->kind);
	_cleanup_json_ json_t *list = json_pack("{s:s, s:s, s:{}, s:o}", "kind", kind, "apiVersion",
	                                        apiv, "metadata", "items", items);
	r->want_table = false;
	api_send_object(r, 200, list);
}
