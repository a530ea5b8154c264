/* rbac.h — the RBAC authorizer (rbac.authorization.k8s.io/v1): Roles, ClusterRoles and
 * their bindings, read from the watch cache, decide resource requests; and the default
 * cluster roles every cluster starts with. Not for: the system:masters short cut and the
 * access-review kinds (authz.c), authentication (apiserver.c, satoken.c). */
#ifndef TIMON_APISERVER_RBAC_H
#define TIMON_APISERVER_RBAC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "apiserver/apiserver-internal.h"

/* Who asks (borrowed). Every caller that reaches authorization is authenticated, so the
 * group system:authenticated applies whether or not groups lists it. */
typedef struct rbac_user {
	const char *name;
	char **groups;
	size_t ngroups;
} rbac_user;

/* What is asked (borrowed): a resource request. ns NULL for cluster scope; sub and name
 * NULL when absent. */
typedef struct rbac_attrs {
	const char *verb, *group, *resource, *sub, *ns, *name;
} rbac_attrs;

/* k8s: one PolicyRule (borrowed) against a request: verbs, apiGroups, resources ("*",
 * "res", "res/sub", "*\/sub") and resourceNames (which never match a request without a
 * name). */
bool rbac_rule_allows(json_t *rule, const rbac_attrs *a);
/* k8s: one binding subject (User, Group, ServiceAccount whose namespace defaults to
 * binding_ns) against u. */
bool rbac_subject_matches(const rbac_user *u, json_t *subj, const char *binding_ns);
/* True when a rule of a role bound to u allows a: ClusterRoleBindings anywhere,
 * RoleBindings in a->ns. */
bool rbac_allows(apiserver *s, const rbac_user *u, const rbac_attrs *a);
/* The resource rules that apply to u in namespace ns (NULL: cluster-wide only): a new
 * array of PolicyRule objects, for SelfSubjectRulesReview. */
json_t *rbac_rules_for(apiserver *s, const rbac_user *u, const char *ns);
/* Creates the default ClusterRoles and ClusterRoleBindings that are missing
 * (cluster-admin, admin, edit, view, system:basic-user), as kube-apiserver does at start. */
void rbac_bootstrap(apiserver *s);

#endif
