/* openapi_paths.c — the "paths" of the OpenAPI v3 documents: one path item per URL of a
 * resource (collection, item, subresources), with kube-apiserver's operations, query
 * parameters, request bodies, responses and the x-kubernetes-action /
 * x-kubernetes-group-version-kind extensions.
 *
 * kubectl 1.32 looks for the `fieldValidation` query parameter on a kind's PATCH operation
 * to learn that the server validates fields itself; `apply` and `explain` follow the
 * references into components.schemas (openapi_schemas.c).
 * Not for: component schemas, caching and hashing (openapi.c).
 */
#include <ctype.h>
#include <string.h>

#include "api/openapi-internal.h"
#include "base/buf.h"
#include "base/util.h"

typedef struct qparam {
	const char *name;
	const char *type;
} qparam;

/* k8s: the query parameters kube-apiserver declares per verb. */
static const qparam p_list[] = {
	{"allowWatchBookmarks", "boolean"}, {"continue", "string"},
	{"fieldSelector", "string"},        {"labelSelector", "string"},
	{"limit", "integer"},               {"resourceVersion", "string"},
	{"resourceVersionMatch", "string"}, {"sendInitialEvents", "boolean"},
	{"timeoutSeconds", "integer"},      {"watch", "boolean"},
	{NULL, NULL},
};
static const qparam p_write[] = {
	{"dryRun", "string"}, {"fieldManager", "string"}, {"fieldValidation", "string"},
	{NULL, NULL},
};
static const qparam p_patch[] = {
	{"dryRun", "string"}, {"fieldManager", "string"}, {"fieldValidation", "string"},
	{"force", "boolean"}, {NULL, NULL},
};
static const qparam p_delete[] = {
	{"dryRun", "string"},
	{"gracePeriodSeconds", "integer"},
	{"ignoreStoreReadErrorWithClusterBreakingPotential", "boolean"},
	{"orphanDependents", "boolean"},
	{"propagationPolicy", "string"},
	{NULL, NULL},
};
static const qparam p_delete_coll[] = {
	{"continue", "string"},
	{"dryRun", "string"},
	{"fieldSelector", "string"},
	{"gracePeriodSeconds", "integer"},
	{"ignoreStoreReadErrorWithClusterBreakingPotential", "boolean"},
	{"labelSelector", "string"},
	{"limit", "integer"},
	{"orphanDependents", "boolean"},
	{"propagationPolicy", "string"},
	{"resourceVersion", "string"},
	{"resourceVersionMatch", "string"},
	{"sendInitialEvents", "boolean"},
	{"timeoutSeconds", "integer"},
	{NULL, NULL},
};
static const qparam p_log[] = {
	{"container", "string"},     {"follow", "boolean"},
	{"insecureSkipTLSVerifyBackend", "boolean"}, {"limitBytes", "integer"},
	{"previous", "boolean"},     {"sinceSeconds", "integer"},
	{"stream", "string"},        {"tailLines", "integer"},
	{"timestamps", "boolean"},   {NULL, NULL},
};

enum body { BODY_NONE, BODY_OBJECT, BODY_PATCH, BODY_DELETE };
enum { R200 = 1, R201 = 2, R202 = 4 };

typedef struct ctx {
	const kind_desc *d;
	char *camel;       /* "AppsV1" */
	char *tag;         /* "apps_v1" */
	const char *scope; /* "Namespaced" or "" */
	json_t *want;
} ctx;

static json_t *param(const char *name, const char *in, const char *type)
{
	json_t *p = json_pack("{s:s,s:s,s:{s:s,s:b}}", "in", in, "name", name, "schema", "type",
	                      type, "uniqueItems", 1);
	if (str_eq(in, "path"))
		json_object_set_new(p, "required", json_true());
	return p;
}

static json_t *use(ctx *c, const char *schema)
{
	json_object_set_new(c->want, schema, json_true());
	return oa_ref(schema);
}

/* Response media types: custom resources have no protobuf form. */
static json_t *content(ctx *c, const char *schema, bool watchable)
{
	json_t *o = json_object();
	json_object_set_new(o, "application/json", json_pack("{s:o}", "schema", use(c, schema)));
	json_object_set_new(o, "application/yaml", json_pack("{s:o}", "schema", use(c, schema)));
	if (!c->d->custom)
		json_object_set_new(o, "application/vnd.kubernetes.protobuf",
		                    json_pack("{s:o}", "schema", use(c, schema)));
	if (watchable) {
		json_object_set_new(o, "application/json;stream=watch",
		                    json_pack("{s:o}", "schema", use(c, schema)));
		if (!c->d->custom)
			json_object_set_new(o, "application/vnd.kubernetes.protobuf;stream=watch",
			                    json_pack("{s:o}", "schema", use(c, schema)));
	}
	return o;
}

static json_t *request_body(ctx *c, enum body body, const char *schema)
{
	switch (body) {
	case BODY_OBJECT:
		return json_pack("{s:{s:{s:o}},s:b}", "content", "*/*", "schema", use(c, schema),
		                 "required", 1);
	case BODY_DELETE:
		return json_pack("{s:{s:{s:o}}}", "content", "*/*", "schema",
		                 use(c, OA_META "DeleteOptions"));
	case BODY_PATCH: {
		/* k8s: custom resources take no strategic merge patch */
		static const char *const types[] = {
		    "application/apply-patch+yaml", "application/json-patch+json",
		    "application/merge-patch+json", "application/strategic-merge-patch+json"};
		json_t *o = json_object();
		for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
			if (i == 3 && c->d->custom)
				break;
			json_object_set_new(o, types[i],
			                    json_pack("{s:o}", "schema", use(c, OA_META "Patch")));
		}
		return json_pack("{s:o,s:b}", "content", o, "required", 1);
	}
	default:
		return NULL;
	}
}

/* One operation. gk: the GVK of the operation's object, {group, version, kind}. */
static json_t *operation(ctx *c, const char *action, const char *id, const qparam *qp,
                         enum body body, const char *body_schema, const char *resp_schema,
                         unsigned codes, bool watchable, const char *const gk[3])
{
	json_t *op = json_object();
	json_object_set_new(op, "operationId", json_string(id));
	if (qp && qp->name) {
		json_t *ps = json_array();
		for (; qp->name; qp++)
			json_array_append_new(ps, param(qp->name, "query", qp->type));
		json_object_set_new(op, "parameters", ps);
	}
	json_t *rb = request_body(c, body, body_schema);
	if (rb)
		json_object_set_new(op, "requestBody", rb);
	json_t *resp = json_object();
	static const struct {
		unsigned bit;
		const char *code, *text;
	} rs[] = {{R200, "200", "OK"}, {R201, "201", "Created"}, {R202, "202", "Accepted"}};
	for (size_t i = 0; i < ARRAY_SIZE(rs); i++)
		if (codes & rs[i].bit)
			json_object_set_new(resp, rs[i].code,
			                    json_pack("{s:o,s:s}", "content",
			                              content(c, resp_schema, watchable),
			                              "description", rs[i].text));
	json_object_set_new(resp, "401", json_pack("{s:s}", "description", "Unauthorized"));
	json_object_set_new(op, "responses", resp);
	json_object_set_new(op, "tags", json_pack("[s]", c->tag));
	json_object_set_new(op, "x-kubernetes-action", json_string(action));
	json_object_set_new(op, "x-kubernetes-group-version-kind",
	                    json_pack("{s:s,s:s,s:s}", "group", gk[0], "kind", gk[2], "version",
	                              gk[1]));
	return op;
}

/* A path item with its path-level parameters (name, namespace, pretty). */
static json_t *path_item(ctx *c, bool named)
{
	json_t *ps = json_array();
	if (named)
		json_array_append_new(ps, param("name", "path", "string"));
	if (c->d->namespaced)
		json_array_append_new(ps, param("namespace", "path", "string"));
	json_array_append_new(ps, param("pretty", "query", "string"));
	return json_pack("{s:o}", "parameters", ps);
}

static void put_item(json_t *paths, const char *path, json_t *item)
{
	/* An item with nothing but its parameters serves no operation. */
	if (json_object_size(item) > 1)
		json_object_set_new(paths, path, item);
	else
		json_decref(item);
}

static char *id(const char *verb, ctx *c, const char *mid, const char *suffix)
{
	return xasprintf("%s%s%s%s%s%s", verb, c->camel, mid, c->scope, c->d->kind, suffix);
}

/* The get/put/patch operations of a subresource that returns an object (status, scale). */
static void add_object_subresource(json_t *paths, ctx *c, const char *item, const char *sub,
                                   const char *suffix, const char *schema,
                                   const char *const gk[3])
{
	const kind_desc *d = c->d;
	_cleanup_free_ char *path = xasprintf("%s/%s", item, sub);
	json_t *pi = path_item(c, true);
	_cleanup_free_ char *rd = id("read", c, "", suffix);
	_cleanup_free_ char *rp = id("replace", c, "", suffix);
	_cleanup_free_ char *pt = id("patch", c, "", suffix);
	if (kind_has_verb(d, "get"))
		json_object_set_new(pi, "get",
		                    operation(c, "get", rd, NULL, BODY_NONE, NULL, schema, R200, false,
		                              gk));
	if (kind_has_verb(d, "update"))
		json_object_set_new(pi, "put",
		                    operation(c, "put", rp, p_write, BODY_OBJECT, schema, schema,
		                              R200 | R201, false, gk));
	if (kind_has_verb(d, "patch"))
		json_object_set_new(pi, "patch",
		                    operation(c, "patch", pt, p_patch, BODY_PATCH, NULL, schema,
		                              R200 | R201, false, gk));
	put_item(paths, path, pi);
}

static void add_pod_subresources(json_t *paths, ctx *c, const char *item,
                                 const char *const gk[3])
{
	const kind_desc *d = c->d;
	if (d->subresources & KIND_SUB_BINDING) {
		static const char *const bgk[3] = {"", "v1", "Binding"};
		_cleanup_free_ char *path = xasprintf("%s/binding", item);
		_cleanup_free_ char *oid = id("create", c, "", "Binding");
		json_t *pi = path_item(c, true);
		json_object_set_new(pi, "post",
		                    operation(c, "post", oid, p_write, BODY_OBJECT,
		                              "io.k8s.api.core.v1.Binding",
		                              "io.k8s.api.core.v1.Binding", R200 | R201 | R202, false,
		                              bgk));
		put_item(paths, path, pi);
	}
	if (d->subresources & KIND_SUB_EVICTION) {
		static const char *const egk[3] = {"policy", "v1", "Eviction"};
		_cleanup_free_ char *path = xasprintf("%s/eviction", item);
		_cleanup_free_ char *oid = id("create", c, "", "Eviction");
		json_t *pi = path_item(c, true);
		json_object_set_new(pi, "post",
		                    operation(c, "post", oid, p_write, BODY_OBJECT,
		                              "io.k8s.api.policy.v1.Eviction",
		                              "io.k8s.api.policy.v1.Eviction", R200 | R201 | R202,
		                              false, egk));
		put_item(paths, path, pi);
	}
	if (d->subresources & KIND_SUB_LOG) {
		_cleanup_free_ char *path = xasprintf("%s/log", item);
		_cleanup_free_ char *oid = id("read", c, "", "Log");
		json_t *pi = path_item(c, true);
		json_t *op = operation(c, "get", oid, p_log, BODY_NONE, NULL, NULL, 0, false, gk);
		/* k8s: the log is plain text */
		json_object_set_new(json_object_get(op, "responses"), "200",
		                    json_pack("{s:{s:{s:{s:s}}},s:s}", "content", "text/plain",
		                              "schema", "type", "string", "description", "OK"));
		json_object_set_new(pi, "get", op);
		put_item(paths, path, pi);
	}
	if (d->subresources & KIND_SUB_FINALIZE) {
		_cleanup_free_ char *path = xasprintf("%s/finalize", item);
		_cleanup_free_ char *oid = id("replace", c, "", "Finalize");
		_cleanup_free_ char *schema = oa_kind_schema_name(d, "");
		json_t *pi = path_item(c, true);
		json_object_set_new(pi, "put",
		                    operation(c, "put", oid, p_write, BODY_OBJECT, schema, schema,
		                              R200 | R201, false, gk));
		put_item(paths, path, pi);
	}
}

void oa_add_kind_paths(json_t *paths, const kind_desc *d, json_t *want)
{
	ctx c = {.d = d, .camel = oa_gv_camel(d->group, d->version),
	         .tag = oa_gv_tag(d->group, d->version), .scope = d->namespaced ? "Namespaced" : "",
	         .want = want};
	_cleanup_free_ char *base = d->group[0] ? xasprintf("/apis/%s/%s", d->group, d->version)
	                                        : xasprintf("/api/%s", d->version);
	_cleanup_free_ char *coll = xasprintf("%s%s/%s", base,
	                                      d->namespaced ? "/namespaces/{namespace}" : "",
	                                      d->resource);
	_cleanup_free_ char *item = xasprintf("%s/{name}", coll);
	_cleanup_free_ char *obj = oa_kind_schema_name(d, "");
	_cleanup_free_ char *list = oa_kind_schema_name(d, "List");
	const char *const gk[3] = {d->group, d->version, d->kind};
	const char *status = OA_META "Status";

	/* Collection: list, create, deletecollection. */
	json_t *pi = path_item(&c, false);
	if (kind_has_verb(d, "list")) {
		_cleanup_free_ char *oid = id("list", &c, "", "");
		json_object_set_new(pi, "get",
		                    operation(&c, "list", oid, p_list, BODY_NONE, NULL, list, R200,
		                              true, gk));
	}
	if (kind_has_verb(d, "create")) {
		_cleanup_free_ char *oid = id("create", &c, "", "");
		json_object_set_new(pi, "post",
		                    operation(&c, "post", oid, p_write, BODY_OBJECT, obj, obj,
		                              R200 | R201 | R202, false, gk));
	}
	if (kind_has_verb(d, "deletecollection")) {
		_cleanup_free_ char *oid = id("delete", &c, "Collection", "");
		json_object_set_new(pi, "delete",
		                    operation(&c, "deletecollection", oid, p_delete_coll, BODY_DELETE,
		                              NULL, status, R200, false, gk));
	}
	put_item(paths, coll, pi);

	/* k8s: namespaced kinds are also listed across namespaces at /<prefix>/<resource>. */
	if (d->namespaced && kind_has_verb(d, "list")) {
		_cleanup_free_ char *path = xasprintf("%s/%s", base, d->resource);
		_cleanup_free_ char *oid =
		    xasprintf("list%s%sForAllNamespaces", c.camel, d->kind);
		json_t *all = json_pack("{s:[o]}", "parameters", param("pretty", "query", "string"));
		json_object_set_new(all, "get",
		                    operation(&c, "list", oid, p_list, BODY_NONE, NULL, list, R200,
		                              true, gk));
		put_item(paths, path, all);
	}

	/* Item: read, replace, patch, delete. */
	pi = path_item(&c, true);
	if (kind_has_verb(d, "get")) {
		_cleanup_free_ char *oid = id("read", &c, "", "");
		json_object_set_new(pi, "get",
		                    operation(&c, "get", oid, NULL, BODY_NONE, NULL, obj, R200, false,
		                              gk));
	}
	if (kind_has_verb(d, "update")) {
		_cleanup_free_ char *oid = id("replace", &c, "", "");
		json_object_set_new(pi, "put",
		                    operation(&c, "put", oid, p_write, BODY_OBJECT, obj, obj,
		                              R200 | R201, false, gk));
	}
	if (kind_has_verb(d, "patch")) {
		_cleanup_free_ char *oid = id("patch", &c, "", "");
		json_object_set_new(pi, "patch",
		                    operation(&c, "patch", oid, p_patch, BODY_PATCH, NULL, obj,
		                              R200 | R201, false, gk));
	}
	if (kind_has_verb(d, "delete")) {
		_cleanup_free_ char *oid = id("delete", &c, "", "");
		json_object_set_new(pi, "delete",
		                    operation(&c, "delete", oid, p_delete, BODY_DELETE, NULL, status,
		                              R200 | R202, false, gk));
	}
	put_item(paths, item, pi);

	if (d->subresources & KIND_SUB_STATUS)
		add_object_subresource(paths, &c, item, "status", "Status", obj, gk);
	if (d->subresources & KIND_SUB_SCALE) {
		/* k8s: /scale speaks autoscaling/v1 Scale whatever the resource's group */
		static const char *const sgk[3] = {"autoscaling", "v1", "Scale"};
		add_object_subresource(paths, &c, item, "scale", "Scale",
		                       "io.k8s.api.autoscaling.v1.Scale", sgk);
	}
	add_pod_subresources(paths, &c, item, gk);
	free(c.camel);
	free(c.tag);
}

void oa_add_discovery_path(json_t *paths, const char *path, const char *tag,
                           const char *op_id, const char *schema, json_t *want)
{
	_cleanup_free_ char *ref = xasprintf(OA_REF_PREFIX "%s", schema);
	json_t *ct = json_object();
	static const char *const types[] = {"application/json", "application/yaml",
	                                    "application/vnd.kubernetes.protobuf"};
	for (size_t i = 0; i < ARRAY_SIZE(types); i++)
		json_object_set_new(ct, types[i], json_pack("{s:{s:s}}", "schema", "$ref", ref));
	json_object_set_new(
	    paths, path,
	    json_pack("{s:{s:s,s:{s:{s:o,s:s},s:{s:s}},s:[s]}}", "get", "operationId", op_id,
	              "responses", "200", "content", ct, "description", "OK", "401",
	              "description", "Unauthorized", "tags", tag));
	json_object_set_new(want, schema, json_true());
}

/* "rbac.authorization.k8s.io" -> words "rbac", "authorization" (".k8s.io" dropped). */
static void gv_words(const char *group, bool upper_first, buf *b)
{
	size_t n = strlen(group);
	if (str_has_suffix(group, ".k8s.io"))
		n -= strlen(".k8s.io");
	if (n == 0) {
		buf_puts(b, upper_first ? "Core" : "core");
		return;
	}
	bool up = upper_first;
	for (size_t i = 0; i < n; i++) {
		char ch = group[i];
		if (ch == '.' || ch == '-') {
			up = true;
			continue;
		}
		buf_putc(b, up ? (char)toupper((unsigned char)ch) : ch);
		up = false;
	}
}

char *oa_gv_camel(const char *group, const char *version)
{
	buf b = {0};
	gv_words(group, true, &b);
	buf_putc(&b, (char)toupper((unsigned char)version[0]));
	buf_puts(&b, version + 1);
	return buf_take(&b);
}

char *oa_gv_tag(const char *group, const char *version)
{
	buf b = {0};
	gv_words(group, false, &b);
	buf_printf(&b, "_%s", version);
	return buf_take(&b);
}
