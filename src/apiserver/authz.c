/* authz.c — authorization decisions and the access-review kinds (SelfSubjectAccessReview,
 * SelfSubjectRulesReview, SubjectAccessReview). The system:masters group may do
 * everything (docs/decisions/0003-authz.md); node agents (system:nodes) and joining agents
 * (system:bootstrappers) what a fixed table lets them (kube's Node authorizer, in short;
 * docs/decisions/0006-standalone-agent.md); and, failing those, what RBAC grants (rbac.c,
 * docs/auth.md). Not for: authentication (apiserver.c, satoken.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/apiserver-internal.h"
#include "apiserver/rbac.h"
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
	/* Tokens for the projected volumes of its pods (kube's Node authorizer limits this to
	 * the service accounts of pods bound to the node; this table does not). */
	{"", "serviceaccounts/token", "create"},
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
	http_req *h = r->http;
	char **g = h->groups;
	size_t n = h->ngroups;
	if (is_master(g, n))
		return true;
	if (!r->kind)
		return false;
	/* k8s: authorizers are a union — the node rules first, then RBAC. */
	if (in_group(g, n, "system:nodes") && str_has_prefix(h->user ? h->user : "", "system:node:") &&
	    rules_allow(node_rules, ARRAY_SIZE(node_rules), r, verb))
		return true;
	if (in_group(g, n, "system:bootstrappers") &&
	    rules_allow(bootstrapper_rules, ARRAY_SIZE(bootstrapper_rules), r, verb))
		return true;
	rbac_user u = {.name = h->user, .groups = h->groups, .ngroups = h->ngroups};
	rbac_attrs a = {.verb = verb, .group = r->kind->group, .resource = r->kind->resource,
	                .sub = r->sub, .ns = r->ns, .name = r->name};
	return rbac_allows(r->srv, &u, &a);
}

/* An access review's resourceAttributes decided for user/groups. */
static bool review_allowed(apiserver *s, const char *user, char **groups, size_t ngroups,
                           json_t *spec)
{
	if (is_master(groups, ngroups))
		return true;
	json_t *ra = json_object_get(spec, "resourceAttributes");
	if (!ra)
		return false; /* non-resource URLs: only system:masters */
	rbac_user u = {.name = user, .groups = groups, .ngroups = ngroups};
	const char *sub = json_string_value(json_object_get(ra, "subresource"));
	const char *ns = json_string_value(json_object_get(ra, "namespace"));
	const char *name = json_string_value(json_object_get(ra, "name"));
	const char *group = json_string_value(json_object_get(ra, "group"));
	rbac_attrs a = {.verb = json_string_value(json_object_get(ra, "verb")),
	                .group = group ? group : "",
	                .resource = json_string_value(json_object_get(ra, "resource")),
	                .sub = sub && *sub ? sub : NULL, .ns = ns && *ns ? ns : NULL,
	                .name = name && *name ? name : NULL};
	if (!a.verb || !a.resource)
		return false;
	return rbac_allows(s, &u, &a);
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
	http_req *h = r->http;
	bool master = is_master(h->groups, h->ngroups);
	if (strcmp(r->kind->resource, "selfsubjectrulesreviews") == 0) {
		json_t *st;
		if (master) {
			st = json_pack("{s:[{s:[s], s:[s], s:[s]}], s:[{s:[s], s:[s]}], s:b}", "resourceRules",
			               "verbs", "*", "apiGroups", "*", "resources", "*", "nonResourceRules",
			               "verbs", "*", "nonResourceURLs", "*", "incomplete", 0);
		} else {
			rbac_user u = {.name = h->user, .groups = h->groups, .ngroups = h->ngroups};
			const char *ns = json_path_str(obj, "spec.namespace");
			st = json_pack("{s:o, s:[], s:b}", "resourceRules",
			               rbac_rules_for(r->srv, &u, ns && *ns ? ns : NULL),
			               "nonResourceRules", "incomplete", 0);
		}
		json_object_set_new(obj, "status", st);
	} else {
		bool allowed;
		json_t *spec = json_object_get(obj, "spec");
		if (strcmp(r->kind->resource, "subjectaccessreviews") == 0) {
			json_t *groups = json_object_get(spec, "groups");
			size_t n = json_array_size(groups);
			char **gv = xcalloc(n + 1, sizeof *gv);
			for (size_t i = 0; i < n; i++)
				gv[i] = (char *)json_string_value(json_array_get(groups, i));
			allowed = review_allowed(r->srv, json_string_value(json_object_get(spec, "user")),
			                         gv, n, spec);
			free(gv);
		} else {
			allowed = review_allowed(r->srv, h->user, h->groups, h->ngroups, spec);
		}
		json_t *st = json_pack("{s:b}", "allowed", allowed);
		if (allowed)
			json_object_set_new(st, "reason", json_string("RBAC: allowed by a role binding or the system:masters group"));
		json_object_set_new(obj, "status", st);
	}
	r->want_table = false;
	api_send_object(r, 201, obj);
	json_decref(obj);
}
