/* authz.c — authorization decisions and the access-review kinds (SelfSubjectAccessReview,
 * SelfSubjectRulesReview, SubjectAccessReview). Today the system:masters group may do
 * everything and everyone else nothing; RBAC evaluation comes with the security work (see
 * docs/decisions/0003-authz.md). Not for: authentication (apiserver.c). */
#include <string.h>

#include "apiserver/apiserver-internal.h"
#include "base/json.h"
#include "base/util.h"

static bool is_master(char **groups, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (str_eq(groups[i], "system:masters"))
			return true;
	return false;
}

bool authz_allowed(api_req *r, const char *verb)
{
	UNUSED(verb);
	return is_master(r->http->groups, r->http->ngroups);
}

void handle_access_review(api_req *r)
{
	terr *err = NULL;
	if (r->name || r->sub) {
		terr_set(&err, 405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
		api_send_error(r, err);
		return;
	}
	json_t *obj = codec_decode_body(r, &err);
	if (!obj) {
		api_send_error(r, err);
		return;
	}
	char apiv[128];
	kind_api_version(r->kind, apiv);
	json_object_set_new(obj, "apiVersion", json_string(apiv));
	json_object_set_new(obj, "kind", json_string(r->kind->kind));
	if (!json_object_get(obj, "metadata"))
		json_object_set_new(obj, "metadata", json_pack("{s:n}", "creationTimestamp"));
	bool master = is_master(r->http->groups, r->http->ngroups);
	if (strcmp(r->kind->resource, "selfsubjectrulesreviews") == 0) {
		json_t *st = master
		    ? json_pack("{s:[{s:[s], s:[s], s:[s]}], s:[{s:[s], s:[s]}], s:b}", "resourceRules",
		                "verbs", "*", "apiGroups", "*", "resources", "*", "nonResourceRules",
		                "verbs", "*", "nonResourceURLs", "*", "incomplete", 0)
		    : json_pack("{s:[], s:[], s:b}", "resourceRules", "nonResourceRules", "incomplete", 0);
		json_object_set_new(obj, "status", st);
	} else {
		bool allowed = master;
		if (strcmp(r->kind->resource, "subjectaccessreviews") == 0) {
			json_t *groups = json_path(obj, "spec.groups");
			allowed = false;
			size_t i;
			json_t *g;
			json_array_foreach(groups, i, g) allowed |= str_eq(json_string_value(g), "system:masters");
		}
		json_t *st = json_pack("{s:b}", "allowed", allowed);
		if (allowed)
			json_object_set_new(st, "reason", json_string("the system:masters group may do anything"));
		json_object_set_new(obj, "status", st);
	}
	r->want_table = false;
	api_send_object(r, 201, obj);
	json_decref(obj);
}
