/* rbac.c — RBAC evaluation over the cached Role, ClusterRole, RoleBinding and
 * ClusterRoleBinding objects (k8s: the RBAC authorizer, rule by rule), and the bootstrap
 * cluster roles. Each decision walks the bindings that could apply (cluster bindings and
 * the namespace's bindings) and reads the kept trees: no parsing, no copies.
 * Not for: aggregated ClusterRoles (aggregationRule is not followed), non-resource URLs
 * (discovery is open to every authenticated user), escalation checks on writes of roles
 * and bindings. */
#include "apiserver/rbac.h"

#include <string.h>

#include "apiserver/client.h"
#include "base/json.h"
#include "base/log.h"
#include "base/util.h"

#define RBAC_GROUP "rbac.authorization.k8s.io"

static const kind_desc *rbac_kind(const char *resource)
{
	return kind_by_group_resource(RBAC_GROUP, resource);
}

static bool in_groups(const rbac_user *u, const char *g)
{
	if (str_eq(g, "system:authenticated"))
		return true;
	for (size_t i = 0; i < u->ngroups; i++)
		if (str_eq(u->groups[i], g))
			return true;
	return false;
}

/* k8s: a subject is a User (by name), a Group, or a ServiceAccount (namespace defaults
 * to the binding's). */
bool rbac_subject_matches(const rbac_user *u, json_t *subj, const char *binding_ns)
{
	const char *kind = json_string_value(json_object_get(subj, "kind"));
	const char *name = json_string_value(json_object_get(subj, "name"));
	if (!name)
		return false;
	if (str_eq(kind, "User"))
		return str_eq(u->name, name);
	if (str_eq(kind, "Group"))
		return in_groups(u, name);
	if (str_eq(kind, "ServiceAccount")) {
		const char *ns = json_string_value(json_object_get(subj, "namespace"));
		if (!ns || !*ns)
			ns = binding_ns;
		const char *p = "system:serviceaccount:";
		size_t pl = strlen(p), nl = ns ? strlen(ns) : 0;
		const char *un = u->name ? u->name : "";
		return ns && str_has_prefix(un, p) && strncmp(un + pl, ns, nl) == 0 &&
		       un[pl + nl] == ':' && str_eq(un + pl + nl + 1, name);
	}
	return false;
}

static bool binding_applies(const rbac_user *u, json_t *b, const char *binding_ns)
{
	size_t i;
	json_t *subj;
	json_array_foreach(json_object_get(b, "subjects"), i, subj) if (rbac_subject_matches(u, subj, binding_ns)) return true;
	return false;
}

static bool list_has(json_t *list, const char *want)
{
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v)
	{
		const char *s = json_string_value(v);
		if (str_eq(s, "*") || str_eq(s, want))
			return true;
	}
	return false;
}

/* k8s: rbac's ResourceMatches — "*", the resource, "resource/sub", or "*\/sub". */
static bool resource_matches(json_t *list, const rbac_attrs *a)
{
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v)
	{
		const char *s = json_string_value(v);
		if (!s)
			continue;
		if (str_eq(s, "*"))
			return true;
		if (!a->sub) {
			if (str_eq(s, a->resource))
				return true;
			continue;
		}
		const char *slash = strchr(s, '/');
		if (!slash || !str_eq(slash + 1, a->sub))
			continue;
		if ((slash - s == 1 && s[0] == '*') ||
		    (strlen(a->resource) == (size_t)(slash - s) &&
		     strncmp(s, a->resource, (size_t)(slash - s)) == 0))
			return true;
	}
	return false;
}

bool rbac_rule_allows(json_t *rule, const rbac_attrs *a)
{
	if (!list_has(json_object_get(rule, "verbs"), a->verb) ||
	    !list_has(json_object_get(rule, "apiGroups"), a->group) ||
	    !resource_matches(json_object_get(rule, "resources"), a))
		return false;
	/* k8s: resourceNames restrict to named objects; a request without a name (list,
	 * create) never matches such a rule. */
	json_t *names = json_object_get(rule, "resourceNames");
	if (json_array_size(names) == 0)
		return true;
	if (!a->name)
		return false;
	size_t i;
	json_t *n;
	json_array_foreach(names, i, n) if (str_eq(json_string_value(n), a->name)) return true;
	return false;
}

/* The rules of the role a binding refers to (borrowed), or NULL. */
static json_t *role_rules(apiserver *s, json_t *binding, const char *ns)
{
	const char *kind = json_path_str(binding, "roleRef.kind");
	const char *name = json_path_str(binding, "roleRef.name");
	bool cluster = str_eq(kind, "ClusterRole");
	if (!name || (!cluster && (!str_eq(kind, "Role") || !ns)))
		return NULL;
	_cleanup_free_ char *key =
	    route_key(rbac_kind(cluster ? "clusterroles" : "roles"), cluster ? NULL : ns, name);
	const cache_entry *e = cache_get(s->cache, key);
	return e ? json_object_get(cache_entry_obj(s->cache, e), "rules") : NULL;
}

/* Calls fn on each rule of each binding that applies to u (cluster bindings, then ns's);
 * stops when fn returns true, and returns whether one did. */
typedef bool (*rule_fn)(json_t *rule, void *ud);

static bool each_rule(apiserver *s, const rbac_user *u, const char *ns, rule_fn fn, void *ud)
{
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1 && !ns)
			break;
		const kind_desc *d = rbac_kind(pass ? "rolebindings" : "clusterrolebindings");
		_cleanup_free_ char *prefix = route_key(d, pass ? ns : NULL, NULL);
		cache_entry *const *es;
		size_t n = cache_range(s->cache, prefix, NULL, &es);
		for (size_t i = 0; i < n; i++) {
			json_t *b = cache_entry_obj(s->cache, es[i]);
			if (!binding_applies(u, b, pass ? ns : NULL))
				continue;
			size_t k;
			json_t *rule;
			json_array_foreach(role_rules(s, b, pass ? ns : NULL), k, rule) if (fn(rule, ud)) return true;
		}
	}
	return false;
}

static bool allows_cb(json_t *rule, void *ud)
{
	return rbac_rule_allows(rule, ud);
}

bool rbac_allows(apiserver *s, const rbac_user *u, const rbac_attrs *a)
{
	return each_rule(s, u, a->ns, allows_cb, (void *)a);
}

static bool collect_cb(json_t *rule, void *ud)
{
	if (json_object_get(rule, "resources"))
		json_array_append(ud, rule);
	return false;
}

json_t *rbac_rules_for(apiserver *s, const rbac_user *u, const char *ns)
{
	json_t *out = json_array();
	each_rule(s, u, ns, collect_cb, out);
	return out;
}

/* ---------- bootstrap policy ---------- */

#define VIEW_CORE                                                                         \
	"\"pods\",\"pods/log\",\"pods/status\",\"services\",\"services/status\",\"endpoints\","  \
	"\"configmaps\",\"persistentvolumeclaims\",\"persistentvolumeclaims/status\","          \
	"\"replicationcontrollers\",\"serviceaccounts\",\"events\",\"limitranges\","            \
	"\"resourcequotas\",\"resourcequotas/status\",\"namespaces\",\"namespaces/status\""
#define VIEW_GROUPS                                                                       \
	"\"apps\",\"batch\",\"autoscaling\",\"policy\",\"networking.k8s.io\","                 \
	"\"discovery.k8s.io\",\"events.k8s.io\",\"metrics.k8s.io\""
#define READ  "\"get\",\"list\",\"watch\""
#define WRITE "\"create\",\"delete\",\"deletecollection\",\"patch\",\"update\""
#define RULE(groups, resources, verbs) \
	"{\"apiGroups\":[" groups "],\"resources\":[" resources "],\"verbs\":[" verbs "]}"

/* k8s: the default cluster roles (bootstrappolicy), with the aggregated rules of admin,
 * edit and view written out (timon does not aggregate); secrets are not in view. */
static const struct {
	const char *name, *rules, *group; /* group: bound to it by a binding of the same name */
} default_roles[] = {
    {"cluster-admin",
     "[" RULE("\"*\"", "\"*\"", "\"*\"") ",{\"nonResourceURLs\":[\"*\"],\"verbs\":[\"*\"]}]",
     "system:masters"},
    {"view", "[" RULE("\"\"", VIEW_CORE, READ) "," RULE(VIEW_GROUPS, "\"*\"", READ) "]", NULL},
    {"edit",
     "[" RULE("\"\"", VIEW_CORE ",\"secrets\"", READ) "," RULE(VIEW_GROUPS, "\"*\"", READ) ","
     RULE("\"\"", "\"pods\",\"pods/exec\",\"pods/attach\",\"pods/portforward\",\"pods/eviction\","
                  "\"services\",\"endpoints\",\"configmaps\",\"secrets\","
                  "\"persistentvolumeclaims\",\"replicationcontrollers\",\"serviceaccounts\"",
          WRITE) ","
     RULE("\"\"", "\"serviceaccounts/token\"", "\"create\"") ","
     RULE("\"apps\",\"batch\",\"autoscaling\",\"policy\",\"networking.k8s.io\"", "\"*\"", WRITE) "]",
     NULL},
    {"admin",
     "[" RULE("\"\"", VIEW_CORE ",\"secrets\"", READ) "," RULE(VIEW_GROUPS, "\"*\"", READ) ","
     RULE("\"\"", "\"pods\",\"pods/exec\",\"pods/attach\",\"pods/portforward\",\"pods/eviction\","
                  "\"services\",\"endpoints\",\"configmaps\",\"secrets\","
                  "\"persistentvolumeclaims\",\"replicationcontrollers\",\"serviceaccounts\"",
          WRITE) ","
     RULE("\"\"", "\"serviceaccounts/token\"", "\"create\"") ","
     RULE("\"apps\",\"batch\",\"autoscaling\",\"policy\",\"networking.k8s.io\"", "\"*\"", WRITE) ","
     RULE("\"rbac.authorization.k8s.io\"", "\"roles\",\"rolebindings\"", READ "," WRITE) "]",
     NULL},
    {"system:basic-user",
     "[" RULE("\"authorization.k8s.io\"", "\"selfsubjectaccessreviews\",\"selfsubjectrulesreviews\"",
              "\"create\"") ","
     RULE("\"authentication.k8s.io\"", "\"selfsubjectreviews\"", "\"create\"") "]",
     "system:authenticated"},
};

static bool exists(apiserver *s, const kind_desc *d, const char *name)
{
	_cleanup_free_ char *key = route_key(d, NULL, name);
	return cache_get(s->cache, key) != NULL;
}

void rbac_bootstrap(apiserver *s)
{
	const kind_desc *cr = rbac_kind("clusterroles"), *crb = rbac_kind("clusterrolebindings");
	for (size_t i = 0; i < ARRAY_SIZE(default_roles); i++) {
		const char *name = default_roles[i].name;
		if (!exists(s, cr, name)) {
			json_error_t je;
			json_t *rules = json_loads(default_roles[i].rules, 0, &je);
			if (!rules) {
				log_warn("rbac: default role %s: %s", name, je.text); /* a typo above */
				continue;
			}
			_cleanup_json_ json_t *role = json_pack(
			    "{s:s, s:s, s:{s:s, s:{s:s}, s:{s:s}}, s:o}", "apiVersion", RBAC_GROUP "/v1",
			    "kind", "ClusterRole", "metadata", "name", name, "labels",
			    "kubernetes.io/bootstrapping", "rbac-defaults", "annotations",
			    "rbac.authorization.kubernetes.io/autoupdate", "true", "rules", rules);
			client_create(s, "timon", cr, NULL, role, NULL, NULL);
		}
		const char *group = default_roles[i].group;
		if (group && !exists(s, crb, name)) {
			_cleanup_json_ json_t *b = json_pack(
			    "{s:s, s:s, s:{s:s, s:{s:s}, s:{s:s}}, s:{s:s, s:s, s:s},"
			    " s:[{s:s, s:s, s:s}]}",
			    "apiVersion", RBAC_GROUP "/v1", "kind", "ClusterRoleBinding", "metadata", "name",
			    name, "labels", "kubernetes.io/bootstrapping", "rbac-defaults", "annotations",
			    "rbac.authorization.kubernetes.io/autoupdate", "true", "roleRef", "apiGroup",
			    RBAC_GROUP, "kind", "ClusterRole", "name", name, "subjects", "apiGroup",
			    RBAC_GROUP, "kind", "Group", "name", group);
			client_create(s, "timon", crb, NULL, b, NULL, NULL);
		}
	}
}
