/* test_rbac.c — RBAC rule and subject matching, kube's rules: wildcards, subresources,
 * resourceNames, the implicit system:authenticated group, ServiceAccount subjects. */
#include <stdlib.h>

#include "apiserver/rbac.h"
#include "base/json.h"
#include "test.h"

static json_t *J(const char *s)
{
	json_t *v = json_loads(s, 0, NULL);
	if (!v)
		abort();
	return v;
}

TEST(rule_verbs_groups_resources)
{
	json_t *r = J("{\"apiGroups\":[\"\"],\"resources\":[\"pods\"],\"verbs\":[\"get\",\"list\"]}");
	rbac_attrs a = {.verb = "list", .group = "", .resource = "pods", .ns = "default"};
	CHECK(rbac_rule_allows(r, &a));
	a.verb = "delete";
	CHECK(!rbac_rule_allows(r, &a));
	a.verb = "get";
	a.group = "apps";
	CHECK(!rbac_rule_allows(r, &a));
	a.group = "";
	a.resource = "secrets";
	CHECK(!rbac_rule_allows(r, &a));
	json_decref(r);
	r = J("{\"apiGroups\":[\"*\"],\"resources\":[\"*\"],\"verbs\":[\"*\"]}");
	a = (rbac_attrs){.verb = "deletecollection", .group = "batch", .resource = "jobs", .sub = "status"};
	CHECK(rbac_rule_allows(r, &a));
	json_decref(r);
}

TEST(rule_subresources)
{
	json_t *r = J("{\"apiGroups\":[\"\"],\"resources\":[\"pods\",\"pods/log\",\"*/scale\"],"
	              "\"verbs\":[\"*\"]}");
	rbac_attrs a = {.verb = "get", .group = "", .resource = "pods", .sub = "log"};
	CHECK(rbac_rule_allows(r, &a));
	a.sub = "exec"; /* pods does not cover pods/exec */
	CHECK(!rbac_rule_allows(r, &a));
	a.resource = "deployments";
	a.sub = "scale";
	CHECK(rbac_rule_allows(r, &a));
	a.resource = "pod";
	a.sub = "log"; /* a prefix of the name is not the name */
	CHECK(!rbac_rule_allows(r, &a));
	json_decref(r);
	r = J("{\"apiGroups\":[\"\"],\"resources\":[\"serviceaccounts/token\"],\"verbs\":[\"create\"]}");
	a = (rbac_attrs){.verb = "create", .group = "", .resource = "serviceaccounts", .sub = "token",
	                 .name = "default"};
	CHECK(rbac_rule_allows(r, &a));
	a.sub = NULL; /* creating the account itself is another thing */
	CHECK(!rbac_rule_allows(r, &a));
	json_decref(r);
}

TEST(rule_resource_names)
{
	json_t *r = J("{\"apiGroups\":[\"\"],\"resources\":[\"configmaps\"],"
	              "\"resourceNames\":[\"app-config\"],\"verbs\":[\"get\",\"list\"]}");
	rbac_attrs a = {.verb = "get", .group = "", .resource = "configmaps", .name = "app-config"};
	CHECK(rbac_rule_allows(r, &a));
	a.name = "other";
	CHECK(!rbac_rule_allows(r, &a));
	a.verb = "list";
	a.name = NULL; /* k8s: a list names nothing, so a named rule does not allow it */
	CHECK(!rbac_rule_allows(r, &a));
	json_decref(r);
}

TEST(subjects)
{
	char *groups[] = {(char *)"system:serviceaccounts", (char *)"system:serviceaccounts:team"};
	rbac_user u = {.name = "system:serviceaccount:team:robot", .groups = groups, .ngroups = 2};
	json_t *s = J("{\"kind\":\"ServiceAccount\",\"name\":\"robot\"}");
	CHECK(rbac_subject_matches(&u, s, "team")); /* namespace from the binding */
	CHECK(!rbac_subject_matches(&u, s, "other"));
	CHECK(!rbac_subject_matches(&u, s, NULL)); /* a cluster binding must name it */
	json_decref(s);
	s = J("{\"kind\":\"ServiceAccount\",\"name\":\"rob\",\"namespace\":\"team\"}");
	CHECK(!rbac_subject_matches(&u, s, NULL));
	json_decref(s);
	s = J("{\"kind\":\"ServiceAccount\",\"name\":\"robot\",\"namespace\":\"tea\"}");
	CHECK(!rbac_subject_matches(&u, s, NULL));
	json_decref(s);
	s = J("{\"kind\":\"Group\",\"name\":\"system:serviceaccounts:team\"}");
	CHECK(rbac_subject_matches(&u, s, NULL));
	json_decref(s);
	s = J("{\"kind\":\"Group\",\"name\":\"system:authenticated\"}");
	CHECK(rbac_subject_matches(&u, s, NULL)); /* implicit for every caller */
	json_decref(s);
	s = J("{\"kind\":\"User\",\"name\":\"system:serviceaccount:team:robot\"}");
	CHECK(rbac_subject_matches(&u, s, NULL));
	json_decref(s);
	s = J("{\"kind\":\"User\",\"name\":\"robot\"}");
	CHECK(!rbac_subject_matches(&u, s, NULL));
	json_decref(s);
}
