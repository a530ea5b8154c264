/* test_openapi.c — the OpenAPI v3 index and documents (api/openapi.h), checked against
 * the shape kube-apiserver 1.32 serves and kubectl 1.32 relies on. */
#include "test.h"

#include <jansson.h>
#include <openssl/evp.h>

#include "api/kind.h"
#include "api/openapi.h"

static json_t *load(const char *s)
{
	json_error_t e;
	return s ? json_loads(s, 0, &e) : NULL;
}

static json_t *doc(const char *gv)
{
	kind_registry_init();
	return load(openapi_v3_doc(gv, NULL));
}

/* Counts $refs under j that do not resolve inside components.schemas of root. */
static int bad_refs(json_t *root, json_t *j, int *nrefs)
{
	int bad = 0;
	if (json_is_object(j)) {
		const char *k;
		json_t *v;
		json_object_foreach(j, k, v)
		{
			if (strcmp(k, "$ref") == 0) {
				const char *r = json_string_value(v);
				const char *pre = "#/components/schemas/";
				(*nrefs)++;
				if (!r || strncmp(r, pre, strlen(pre)) != 0 ||
				    !json_object_get(json_object_get(json_object_get(root, "components"),
				                                     "schemas"),
				                     r + strlen(pre))) {
					fprintf(stderr, "  unresolved $ref %s\n", r ? r : "(null)");
					bad++;
				}
			} else {
				bad += bad_refs(root, v, nrefs);
			}
		}
	} else if (json_is_array(j)) {
		size_t i;
		json_t *v;
		json_array_foreach(j, i, v) bad += bad_refs(root, v, nrefs);
	}
	return bad;
}

static json_t *schema(json_t *d, const char *name)
{
	return json_object_get(json_object_get(json_object_get(d, "components"), "schemas"), name);
}

static json_t *op(json_t *d, const char *path, const char *method)
{
	return json_object_get(json_object_get(json_object_get(d, "paths"), path), method);
}

static bool has_query_param(json_t *o, const char *name)
{
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(o, "parameters"), i, p)
	{
		if (strcmp(json_string_value(json_object_get(p, "name")), name) == 0 &&
		    strcmp(json_string_value(json_object_get(p, "in")), "query") == 0)
			return true;
	}
	return false;
}

static bool gvk_is(json_t *g, const char *group, const char *version, const char *kind)
{
	return g && strcmp(json_string_value(json_object_get(g, "group")), group) == 0 &&
	       strcmp(json_string_value(json_object_get(g, "version")), version) == 0 &&
	       strcmp(json_string_value(json_object_get(g, "kind")), kind) == 0;
}

TEST(index_lists_group_versions_with_hashes)
{
	kind_registry_init();
	char *s = openapi_v3_index();
	json_t *idx = load(s);
	REQUIRE(idx);
	json_t *paths = json_object_get(idx, "paths");
	CHECK(json_object_get(paths, "api/v1"));
	CHECK(json_object_get(paths, "apis/apps/v1"));
	CHECK(json_object_get(paths, "apis/batch/v1"));
	CHECK(json_object_get(paths, "apis/autoscaling/v2"));
	CHECK(json_object_get(paths, "apis/rbac.authorization.k8s.io/v1"));
	CHECK(json_object_get(paths, "api"));
	CHECK(json_object_get(paths, "apis"));
	const char *hash = NULL;
	const char *body = openapi_v3_doc("apis/apps/v1", &hash);
	REQUIRE(body && hash);
	/* The hash is the uppercase hex SHA-512 of the document bytes. */
	unsigned char md[64];
	unsigned int n = 0;
	EVP_Digest(body, strlen(body), md, &n, EVP_sha512(), NULL);
	char want[129];
	for (unsigned i = 0; i < 64; i++)
		snprintf(want + 2 * i, 3, "%02X", md[i]);
	CHECK_INT(n, 64);
	CHECK_STR(hash, want);
	char url[300];
	snprintf(url, sizeof url, "/openapi/v3/apis/apps/v1?hash=%s", want);
	CHECK_STR(json_string_value(
	              json_object_get(json_object_get(paths, "apis/apps/v1"), "serverRelativeURL")),
	          url);
	/* Cached: the same bytes until the kind set changes. */
	CHECK(openapi_v3_doc("apis/apps/v1", NULL) == body);
	CHECK(openapi_v3_doc("apis/nope.example.com/v1", NULL) == NULL);
	CHECK(openapi_v3_doc("apis/apps", NULL) == NULL);
	json_decref(idx);
	free(s);
}

TEST(apps_doc_parses_and_refs_resolve)
{
	json_t *d = doc("apis/apps/v1");
	REQUIRE(d);
	CHECK_STR(json_string_value(json_object_get(d, "openapi")), "3.0.0");
	CHECK(json_is_object(json_object_get(d, "info")));
	int nrefs = 0;
	CHECK_INT(bad_refs(d, d, &nrefs), 0);
	CHECK(nrefs > 100);
	/* Types reached through Deployment are all there. */
	CHECK(schema(d, "io.k8s.api.core.v1.PodSpec"));
	CHECK(schema(d, "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"));
	CHECK(schema(d, "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"));
	CHECK(schema(d, "io.k8s.apimachinery.pkg.apis.meta.v1.Patch"));
	/* Core kinds live in api/v1's document, not here. */
	CHECK(!op(d, "/api/v1/namespaces/{namespace}/pods", "get"));
	json_decref(d);
	json_t *core = doc("api/v1");
	REQUIRE(core);
	nrefs = 0;
	CHECK_INT(bad_refs(core, core, &nrefs), 0);
	CHECK(op(core, "/api/v1/namespaces/{namespace}/pods", "post"));
	CHECK(op(core, "/api/v1/nodes/{name}", "get"));
	CHECK(op(core, "/api/v1/namespaces/{namespace}/pods/{name}/binding", "post"));
	CHECK(op(core, "/api/v1/namespaces/{namespace}/pods/{name}/log", "get"));
	json_decref(core);
	json_t *root = doc("apis");
	REQUIRE(root);
	nrefs = 0;
	CHECK_INT(bad_refs(root, root, &nrefs), 0);
	CHECK(op(root, "/apis/", "get"));
	json_decref(root);
}

TEST(deployment_operations)
{
	json_t *d = doc("apis/apps/v1");
	REQUIRE(d);
	const char *item = "/apis/apps/v1/namespaces/{namespace}/deployments/{name}";
	json_t *patch = op(d, item, "patch");
	REQUIRE(patch);
	/* kubectl 1.32 decides server-side field validation from this parameter. */
	CHECK(has_query_param(patch, "fieldValidation"));
	CHECK(has_query_param(patch, "dryRun"));
	CHECK(has_query_param(patch, "fieldManager"));
	CHECK(has_query_param(patch, "force"));
	CHECK_STR(json_string_value(json_object_get(patch, "x-kubernetes-action")), "patch");
	CHECK(gvk_is(json_object_get(patch, "x-kubernetes-group-version-kind"), "apps", "v1",
	             "Deployment"));
	CHECK_STR(json_string_value(json_object_get(patch, "operationId")),
	          "patchAppsV1NamespacedDeployment");
	json_t *ct = json_object_get(json_object_get(patch, "requestBody"), "content");
	CHECK(json_object_get(ct, "application/strategic-merge-patch+json"));
	CHECK(json_object_get(ct, "application/apply-patch+yaml"));
	json_t *post = op(d, "/apis/apps/v1/namespaces/{namespace}/deployments", "post");
	REQUIRE(post);
	CHECK(has_query_param(post, "fieldValidation"));
	CHECK_STR(json_string_value(json_object_get(post, "x-kubernetes-action")), "post");
	json_t *list = op(d, "/apis/apps/v1/namespaces/{namespace}/deployments", "get");
	REQUIRE(list);
	CHECK_STR(json_string_value(json_object_get(list, "x-kubernetes-action")), "list");
	CHECK(has_query_param(list, "labelSelector"));
	CHECK(has_query_param(list, "watch"));
	json_t *dc = op(d, "/apis/apps/v1/namespaces/{namespace}/deployments", "delete");
	REQUIRE(dc);
	CHECK_STR(json_string_value(json_object_get(dc, "x-kubernetes-action")),
	          "deletecollection");
	CHECK(op(d, "/apis/apps/v1/deployments", "get"));
	CHECK(op(d, item, "put"));
	CHECK(op(d, item, "delete"));
	CHECK(has_query_param(op(d, item, "delete"), "propagationPolicy"));
	json_t *st = op(d, "/apis/apps/v1/namespaces/{namespace}/deployments/{name}/status",
	                "patch");
	REQUIRE(st);
	CHECK(has_query_param(st, "fieldValidation"));
	json_t *sc = op(d, "/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale", "put");
	REQUIRE(sc);
	CHECK(gvk_is(json_object_get(sc, "x-kubernetes-group-version-kind"), "autoscaling", "v1",
	             "Scale"));
	CHECK(schema(d, "io.k8s.api.autoscaling.v1.Scale"));
	/* DaemonSets have no scale subresource. */
	CHECK(!op(d, "/apis/apps/v1/namespaces/{namespace}/daemonsets/{name}/scale", "get"));
	json_decref(d);
}

TEST(deployment_schema)
{
	json_t *d = doc("apis/apps/v1");
	REQUIRE(d);
	json_t *dep = schema(d, "io.k8s.api.apps.v1.Deployment");
	REQUIRE(dep);
	json_t *g = json_object_get(dep, "x-kubernetes-group-version-kind");
	CHECK_INT(json_array_size(g), 1);
	CHECK(gvk_is(json_array_get(g, 0), "apps", "v1", "Deployment"));
	CHECK(gvk_is(json_array_get(json_object_get(schema(d, "io.k8s.api.apps.v1.DeploymentList"),
	                                            "x-kubernetes-group-version-kind"),
	                            0),
	             "apps", "v1", "DeploymentList"));
	json_t *props = json_object_get(dep, "properties");
	CHECK_STR(json_string_value(json_object_get(json_object_get(props, "kind"), "type")),
	          "string");
	/* A non-pointer struct: allOf-wrapped $ref with an empty-object default. */
	json_t *spec = json_object_get(props, "spec");
	CHECK_STR(json_string_value(json_object_get(
	              json_array_get(json_object_get(spec, "allOf"), 0), "$ref")),
	          "#/components/schemas/io.k8s.api.apps.v1.DeploymentSpec");
	CHECK(json_is_object(json_object_get(spec, "default")));
	json_t *ds = schema(d, "io.k8s.api.apps.v1.DeploymentSpec");
	json_t *req = json_object_get(ds, "required");
	CHECK_INT(json_array_size(req), 2);
	CHECK_STR(json_string_value(json_array_get(req, 0)), "selector");
	CHECK_STR(json_string_value(json_array_get(req, 1)), "template");
	json_t *rep = json_object_get(json_object_get(ds, "properties"), "replicas");
	CHECK_STR(json_string_value(json_object_get(rep, "type")), "integer");
	CHECK_STR(json_string_value(json_object_get(rep, "format")), "int32");
	CHECK_STR(json_string_value(json_object_get(
	              json_object_get(json_object_get(ds, "properties"), "strategy"),
	              "x-kubernetes-patch-strategy")),
	          "retainKeys");
	/* PodSpec.containers: what kubectl apply's strategic merge reads. */
	json_t *c = json_object_get(json_object_get(schema(d, "io.k8s.api.core.v1.PodSpec"),
	                                            "properties"),
	                            "containers");
	REQUIRE(c);
	CHECK_STR(json_string_value(json_object_get(c, "type")), "array");
	CHECK_STR(json_string_value(json_object_get(c, "x-kubernetes-patch-merge-key")), "name");
	CHECK_STR(json_string_value(json_object_get(c, "x-kubernetes-patch-strategy")), "merge");
	CHECK_STR(json_string_value(json_object_get(c, "x-kubernetes-list-type")), "map");
	CHECK_STR(json_string_value(
	              json_array_get(json_object_get(c, "x-kubernetes-list-map-keys"), 0)),
	          "name");
	/* Container ports: two list-map keys. */
	json_t *ports = json_object_get(json_object_get(schema(d, "io.k8s.api.core.v1.Container"),
	                                                "properties"),
	                                "ports");
	CHECK_INT(json_array_size(json_object_get(ports, "x-kubernetes-list-map-keys")), 2);
	json_decref(d);
}

TEST(special_types_and_inline)
{
	json_t *d = doc("apis/apps/v1");
	REQUIRE(d);
	json_t *ios = schema(d, "io.k8s.apimachinery.pkg.util.intstr.IntOrString");
	REQUIRE(ios);
	CHECK_STR(json_string_value(json_object_get(ios, "format")), "int-or-string");
	CHECK_INT(json_array_size(json_object_get(ios, "oneOf")), 2);
	json_t *q = schema(d, "io.k8s.apimachinery.pkg.api.resource.Quantity");
	REQUIRE(q);
	CHECK_INT(json_array_size(json_object_get(q, "oneOf")), 2);
	json_t *t = schema(d, "io.k8s.apimachinery.pkg.apis.meta.v1.Time");
	CHECK_STR(json_string_value(json_object_get(t, "type")), "string");
	CHECK_STR(json_string_value(json_object_get(t, "format")), "date-time");
	CHECK_STR(json_string_value(json_object_get(
	              schema(d, "io.k8s.apimachinery.pkg.runtime.RawExtension"), "type")),
	          "object");
	/* Resource limits: map of Quantity. */
	json_t *rr = json_object_get(
	    json_object_get(schema(d, "io.k8s.api.core.v1.ResourceRequirements"), "properties"),
	    "limits");
	CHECK_STR(json_string_value(json_object_get(rr, "type")), "object");
	CHECK_STR(json_string_value(
	              json_object_get(json_object_get(rr, "additionalProperties"), "$ref")),
	          "#/components/schemas/io.k8s.apimachinery.pkg.api.resource.Quantity");
	/* Volume: VolumeSource's members are Volume's own properties. */
	json_t *vp = json_object_get(schema(d, "io.k8s.api.core.v1.Volume"), "properties");
	CHECK(json_object_get(vp, "name"));
	CHECK(json_object_get(vp, "hostPath"));
	CHECK(json_object_get(vp, "persistentVolumeClaim"));
	CHECK(!json_object_get(vp, "VolumeSource"));
	/* Secret data: base64 bytes. */
	json_t *core = doc("api/v1");
	json_t *sd = json_object_get(
	    json_object_get(json_object_get(schema(core, "io.k8s.api.core.v1.Secret"), "properties"),
	                    "data"),
	    "additionalProperties");
	CHECK_STR(json_string_value(json_object_get(sd, "format")), "byte");
	/* LabelSelector is atomic as a whole. */
	CHECK_STR(json_string_value(json_object_get(
	              schema(d, "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector"),
	              "x-kubernetes-map-type")),
	          "atomic");
	/* DeleteOptions is marked for every served group-version. */
	json_t *dg = json_object_get(schema(d, "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"),
	                             "x-kubernetes-group-version-kind");
	bool core_v1 = false, apps_v1 = false;
	size_t i;
	json_t *g;
	json_array_foreach(dg, i, g)
	{
		core_v1 |= gvk_is(g, "", "v1", "DeleteOptions");
		apps_v1 |= gvk_is(g, "apps", "v1", "DeleteOptions");
	}
	CHECK(core_v1 && apps_v1);
	CHECK(gvk_is(json_array_get(json_object_get(
	                                schema(d, "io.k8s.apimachinery.pkg.apis.meta.v1.Status"),
	                                "x-kubernetes-group-version-kind"),
	                            0),
	             "", "v1", "Status"));
	json_decref(core);
	json_decref(d);
}

TEST(custom_kind_document)
{
	kind_registry_init();
	char *before = openapi_v3_index();
	json_t *crd_schema = json_pack(
	    "{s:s,s:{s:{s:s,s:{s:{s:s},s:{s:s}}}}}", "type", "object", "properties", "spec",
	    "type", "object", "properties", "cronSpec", "type", "string", "replicas", "type",
	    "integer");
	kind_desc k = {.group = "stable.example.com", .version = "v1", .kind = "CronTab",
	               .resource = "crontabs", .singular = "crontab", .namespaced = true,
	               .subresources = KIND_SUB_STATUS, .crd_schema = crd_schema, .custom = true};
	kind_register_custom(&k);
	char *with = openapi_v3_index();
	json_t *idx = load(with);
	CHECK(json_object_get(json_object_get(idx, "paths"), "apis/stable.example.com/v1"));
	json_decref(idx);
	free(with);
	json_t *d = doc("apis/stable.example.com/v1");
	REQUIRE(d);
	int nrefs = 0;
	CHECK_INT(bad_refs(d, d, &nrefs), 0);
	json_t *s = schema(d, "com.example.stable.v1.CronTab");
	REQUIRE(s);
	CHECK(gvk_is(json_array_get(json_object_get(s, "x-kubernetes-group-version-kind"), 0),
	             "stable.example.com", "v1", "CronTab"));
	json_t *props = json_object_get(s, "properties");
	CHECK_STR(json_string_value(json_object_get(json_object_get(props, "metadata"), "$ref")),
	          "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta");
	CHECK(json_object_get(json_object_get(json_object_get(props, "spec"), "properties"),
	                      "cronSpec"));
	CHECK(schema(d, "com.example.stable.v1.CronTabList"));
	json_t *patch = op(d, "/apis/stable.example.com/v1/namespaces/{namespace}/crontabs/{name}",
	                   "patch");
	REQUIRE(patch);
	CHECK(has_query_param(patch, "fieldValidation"));
	CHECK(gvk_is(json_object_get(patch, "x-kubernetes-group-version-kind"),
	             "stable.example.com", "v1", "CronTab"));
	CHECK_STR(json_string_value(json_object_get(patch, "operationId")),
	          "patchStableExampleComV1NamespacedCronTab");
	json_t *ct = json_object_get(json_object_get(patch, "requestBody"), "content");
	CHECK(json_object_get(ct, "application/merge-patch+json"));
	CHECK(!json_object_get(ct, "application/strategic-merge-patch+json"));
	CHECK(op(d, "/apis/stable.example.com/v1/namespaces/{namespace}/crontabs/{name}/status",
	         "put"));
	json_decref(d);
	kind_unregister_custom("stable.example.com", "crontabs");
	CHECK(openapi_v3_doc("apis/stable.example.com/v1", NULL) == NULL);
	char *after = openapi_v3_index();
	CHECK_STR(after, before);
	free(after);
	free(before);
}
