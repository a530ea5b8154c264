/* authz.c — authorization decisions and the access-review kinds (SelfSubjectAccessReview,
 * SelfSubjectRulesReview, SubjectAccessReview). Today the system:masters group may do
 * everything, node agents (system:nodes) and joining agents (system:bootstrappers) what a
 * fixed table lets them, and everyone else nothing; RBAC evaluation comes with the security work (see
 * docs/decisions/0003-authz.md). Not for: authentication (apiserver.c). */
#include <stdio.h>
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

static bool in_group(char **groups, size_t n, const char *g)
{
	for (size_t i = 0; i < n; i++)
		if (str_eq(groups[i], g))
			return true;
	return false;
}

/* What joining and joined node agents may do, until RBAC evaluates the system:node and
 * system:node-bootstrapper roles (docs/decisions/0006-standalone-agent.md). resource is
 * "resource" or "resource/subresource"; verbs a comma-separated list. */
typedef struct authz_rule {
	const char *group, *resource, *verbs;
} authz_rule;

#define READ "get,list,watch"
static const authz_rule bootstrapper_rules[] = {
	{"certificates.k8s.io", "certificatesigningrequests", "create,get,list,watch"},
};
static const authz_rule node_rules[] = {
	{"", "pods", READ ",delete"},
	{"", "pods/status", "get,update,patch"},
	{"", "nodes", READ ",create,update,patch"},
	{"", "nodes/status", "get,update,patch"},
	{"", "events", "create,update,patch"},
	{"events.k8s.io", "events", "create,update,patch"},
	{"coordination.k8s.io", "leases", READ ",create,update,patch"},
	{"", "configmaps", READ},
	{"", "secrets", READ},
	{"", "services", READ},
	{"", "endpoints", READ},
	{"", "namespaces", READ},
	{"", "persistentvolumeclaims", READ},
	{"", "persistentvolumes", READ},
	{"storage.k8s.io", "storageclasses", READ},
	{"certificates.k8s.io", "certificatesigningrequests", "create,get,list,watch"},
};

static bool verb_in(const char *verbs, const char *verb)
{
	size_t n = strlen(verb);
	for (const char *p = verbs; p && *p;) {
		const char *c = strchr(p, ',');
		size_t l = c ? (size_t)(c - p) : strlen(p);
		if (l == n && strncmp(p, verb, n) == 0)
			return true;
		p = c ? c + 1 : NULL;
	}
	return false;
}

static bool rules_allow(const authz_rule *rules, size_t n, const api_req *r, const char *verb)
{
	char res[256];
	snprintf(res, sizeof res, "%s%s%s", r->kind->resource, r->sub ? "/" : "",
	         r->sub ? r->sub : "");
	for (size_t i = 0; i < n; i++)
		if (str_eq(rules[i].group, r->kind->group) && str_eq(rules[i].resource, res) &&
		    verb_in(rules[i].verbs, verb))
			return true;
	return false;
}

bool authz_allowed(api_req *r, const char *verb)
{
	char **g = r->http->groups;
	size_t n = r->http->ngroups;
	if (is_master(g, n))
		return true;
	if (!r->kind)
		return false;
	if (in_group(g, n, "system:nodes") && str_has_prefix(r->http->user ? r->http->user : "", "system:node:"))
		return rules_allow(node_rules, ARRAY_SIZE(node_rules), r, verb);
	if (in_group(g, n, "system:bootstrappers"))
		return rules_allow(bootstrapper_rules, ARRAY_SIZE(bootstrapper_rules), r, verb);
	return false;
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
