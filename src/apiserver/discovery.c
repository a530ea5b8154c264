/* discovery.c — API discovery: the legacy documents (/api, /apis, /apis/<g>, and the
 * APIResourceList of each group-version) and the aggregated v2 documents that kubectl 1.32
 * asks for first, all generated from the kind registry.
 * Not for: OpenAPI (api/openapi.c).
 */
#include <string.h>

#include "apiserver/apiserver-internal.h"
#include "base/json.h"
#include "base/util.h"

#define AGG_CTYPE_V2 "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
#define AGG_CTYPE_V2BETA1 "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"

static json_t *csv_array(const char *csv)
{
	json_t *a = json_array();
	if (!csv)
		return a;
	_cleanup_free_ char *c = xstrdup(csv);
	char *save = NULL;
	for (char *t = strtok_r(c, ",", &save); t; t = strtok_r(NULL, ",", &save))
		json_array_append_new(a, json_string(t));
	return a;
}

static json_t *verbs_of(const kind_desc *d)
{
	return csv_array(d->verbs ? d->verbs : KIND_VERBS_ALL);
}

/* The subresources of d: name, response group/version/kind, verbs. */
typedef struct subres {
	unsigned bit;
	const char *name;
	const char *group, *version, *kind; /* NULL kind: the parent's kind */
	const char *verbs;
} subres;

static const subres subresources[] = {
	{KIND_SUB_STATUS, "status", NULL, NULL, NULL, "get,patch,update"},
	{KIND_SUB_SCALE, "scale", "autoscaling", "v1", "Scale", "get,patch,update"},
	{KIND_SUB_BINDING, "binding", "", "v1", "Binding", "create"},
	{KIND_SUB_EVICTION, "eviction", "policy", "v1", "Eviction", "create"},
	{KIND_SUB_LOG, "log", "", "v1", "Pod", "get"},
	{KIND_SUB_EXEC, "exec", "", "v1", "PodExecOptions", "create,get"},
	{KIND_SUB_EXEC, "attach", "", "v1", "PodAttachOptions", "create,get"},
	{KIND_SUB_EXEC, "portforward", "", "v1", "PodPortForwardOptions", "create,get"},
	{KIND_SUB_FINALIZE, "finalize", NULL, NULL, NULL, "update"},
	{KIND_SUB_PROXY, "proxy", "", "v1", NULL, "create,delete,get,patch,update"},
	{KIND_SUB_TOKEN, "token", "authentication.k8s.io", "v1", "TokenRequest", "create"},
};

static const char *sub_kind(const kind_desc *d, const subres *s)
{
	if (s->kind)
		return s->kind;
	if (s->bit == KIND_SUB_PROXY) {
		if (strcmp(d->kind, "Pod") == 0)
			return "PodProxyOptions";
		if (strcmp(d->kind, "Node") == 0)
			return "NodeProxyOptions";
		return "ServiceProxyOptions";
	}
	return d->kind;
}

/* ---------- legacy documents ---------- */

static json_t *resource_list(const char *group, const char *version)
{
	json_t *res = json_array();
	for (size_t i = 0; i < kind_count(); i++) {
		const kind_desc *d = kind_at(i);
		if (!str_eq(d->group, group) || !str_eq(d->version, version))
			continue;
		json_t *r = json_pack("{s:s, s:s, s:b, s:s, s:o}", "name", d->resource, "singularName",
		                      d->singular, "namespaced", d->namespaced, "kind", d->kind, "verbs",
		                      verbs_of(d));
		if (d->short_names)
			json_object_set_new(r, "shortNames", csv_array(d->short_names));
		if (d->categories)
			json_object_set_new(r, "categories", csv_array(d->categories));
		json_array_append_new(res, r);
		for (size_t j = 0; j < ARRAY_SIZE(subresources); j++) {
			const subres *s = &subresources[j];
			if (!(d->subresources & s->bit))
				continue;
			char name[160];
			snprintf(name, sizeof name, "%s/%s", d->resource, s->name);
			json_t *sr = json_pack("{s:s, s:s, s:b, s:s, s:o}", "name", name, "singularName", "",
			                       "namespaced", d->namespaced, "kind", sub_kind(d, s), "verbs",
			                       csv_array(s->verbs));
			if (s->group)
				json_object_set_new(sr, "group", json_string(s->group));
			if (s->version)
				json_object_set_new(sr, "version", json_string(s->version));
			json_array_append_new(res, sr);
		}
	}
	char gv[128];
	if (group[0])
		snprintf(gv, sizeof gv, "%s/%s", group, version);
	else
		snprintf(gv, sizeof gv, "%s", version);
	return json_pack("{s:s, s:s, s:s, s:o}", "kind", "APIResourceList", "apiVersion", "v1",
	                 "groupVersion", gv, "resources", res);
}

/* Versions of group in preference order (the storage version first). */
static json_t *group_versions(const char *group)
{
	json_t *vs = json_array();
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < kind_count(); i++) {
			const kind_desc *d = kind_at(i);
			if (!str_eq(d->group, group))
				continue;
			bool preferred = d->storage_version == NULL;
			if ((pass == 0) != preferred)
				continue;
			bool seen = false;
			size_t k;
			json_t *v;
			json_array_foreach(vs, k, v) if (str_eq(json_string_value(v), d->version)) seen = true;
			if (!seen)
				json_array_append_new(vs, json_string(d->version));
		}
	}
	return vs;
}

static json_t *group_names(void)
{
	json_t *gs = json_array();
	for (size_t i = 0; i < kind_count(); i++) {
		const kind_desc *d = kind_at(i);
		if (!d->group[0])
			continue;
		bool seen = false;
		size_t k;
		json_t *v;
		json_array_foreach(gs, k, v) if (str_eq(json_string_value(v), d->group)) seen = true;
		if (!seen)
			json_array_append_new(gs, json_string(d->group));
	}
	return gs;
}

static json_t *api_group(const char *group)
{
	json_t *vs = group_versions(group);
	json_t *list = json_array();
	size_t i;
	json_t *v;
	json_array_foreach(vs, i, v) {
		char gv[160];
		snprintf(gv, sizeof gv, "%s/%s", group, json_string_value(v));
		json_array_append_new(list, json_pack("{s:s, s:s}", "groupVersion", gv, "version",
		                                      json_string_value(v)));
	}
	json_t *pref = json_incref(json_array_get(list, 0));
	json_decref(vs);
	return json_pack("{s:s, s:o, s:o}", "name", group, "versions", list, "preferredVersion", pref);
}

/* ---------- aggregated documents ---------- */

static json_t *agg_resource(const kind_desc *d)
{
	json_t *r = json_pack("{s:s, s:{s:s, s:s, s:s}, s:s, s:s, s:o}", "resource", d->resource,
	                      "responseKind", "group", d->group, "version", d->version, "kind",
	                      d->kind, "scope", d->namespaced ? "Namespaced" : "Cluster",
	                      "singularResource", d->singular, "verbs", verbs_of(d));
	if (d->short_names)
		json_object_set_new(r, "shortNames", csv_array(d->short_names));
	if (d->categories)
		json_object_set_new(r, "categories", csv_array(d->categories));
	json_t *subs = json_array();
	for (size_t j = 0; j < ARRAY_SIZE(subresources); j++) {
		const subres *s = &subresources[j];
		if (!(d->subresources & s->bit))
			continue;
		json_array_append_new(
		    subs, json_pack("{s:s, s:{s:s, s:s, s:s}, s:o}", "subresource", s->name,
		                    "responseKind", "group", s->group ? s->group : d->group, "version",
		                    s->version ? s->version : d->version, "kind", sub_kind(d, s),
		                    "verbs", csv_array(s->verbs)));
	}
	if (json_array_size(subs))
		json_object_set_new(r, "subresources", subs);
	else
		json_decref(subs);
	return r;
}

static json_t *agg_group(const char *group)
{
	json_t *versions = json_array();
	json_t *vs = group_versions(group);
	size_t i;
	json_t *v;
	json_array_foreach(vs, i, v) {
		json_t *res = json_array();
		for (size_t k = 0; k < kind_count(); k++) {
			const kind_desc *d = kind_at(k);
			if (str_eq(d->group, group) && str_eq(d->version, json_string_value(v)))
				json_array_append_new(res, agg_resource(d));
		}
		json_array_append_new(versions, json_pack("{s:O, s:o, s:s}", "version", v, "resources",
		                                          res, "freshness", "Current"));
	}
	json_decref(vs);
	json_t *meta = json_pack("{s:n}", "creationTimestamp");
	if (group[0])
		json_object_set_new(meta, "name", json_string(group));
	return json_pack("{s:o, s:o}", "metadata", meta, "versions", versions);
}

static char *aggregated(apiserver *s, bool core)
{
	if (s->discovery_gen != kind_generation()) {
		free(s->discovery_cache[0]);
		free(s->discovery_cache[1]);
		s->discovery_cache[0] = s->discovery_cache[1] = NULL;
		s->discovery_gen = kind_generation();
	}
	char **slot = &s->discovery_cache[core ? 0 : 1];
	if (!*slot) {
		json_t *items = json_array();
		if (core) {
			json_array_append_new(items, agg_group(""));
		} else {
			json_t *gs = group_names();
			size_t i;
			json_t *g;
			json_array_foreach(gs, i, g) json_array_append_new(items, agg_group(json_string_value(g)));
			json_decref(gs);
		}
		json_t *doc = json_pack("{s:s, s:s, s:{}, s:o}", "kind", "APIGroupDiscoveryList",
		                        "apiVersion", "apidiscovery.k8s.io/v2", "metadata", "items", items);
		*slot = json_dump_compact(doc);
		json_decref(doc);
	}
	return *slot;
}

/* ---------- entry point ---------- */

static void send_json(http_req *h, json_t *doc)
{
	char *s = json_dump_compact(doc);
	http_respond(h, 200, "application/json", s, strlen(s), NULL);
	free(s);
	json_decref(doc);
}

static const char *wants_aggregated(http_req *h)
{
	const char *a = http_req_header(h, "accept");
	if (!a || !strstr(a, "as=APIGroupDiscoveryList"))
		return NULL;
	/* The first aggregated entry the client lists decides the version we label. */
	const char *v2 = strstr(a, "v=v2;");
	const char *v2b = strstr(a, "v=v2beta1");
	if (!v2)
		v2 = strstr(a, "v=v2,");
	if (v2 && (!v2b || v2 < v2b))
		return AGG_CTYPE_V2;
	return v2b ? AGG_CTYPE_V2BETA1 : AGG_CTYPE_V2;
}

bool discovery_handle(apiserver *s, http_req *h)
{
	const char *p = h->path;
	size_t n = strlen(p);
	while (n > 1 && p[n - 1] == '/')
		n--;
	_cleanup_free_ char *path = xstrndup(p, n);
	if (strcmp(path, "/api") == 0 || strcmp(path, "/apis") == 0) {
		bool core = strcmp(path, "/api") == 0;
		const char *agg = wants_aggregated(h);
		if (agg) {
			char *doc = aggregated(s, core);
			if (strcmp(agg, AGG_CTYPE_V2BETA1) == 0) {
				/* Same shape; only the apiVersion differs. */
				json_t *j = json_loads(doc, 0, NULL);
				json_object_set_new(j, "apiVersion", json_string("apidiscovery.k8s.io/v2beta1"));
				char *out = json_dump_compact(j);
				http_respond(h, 200, agg, out, strlen(out), NULL);
				free(out);
				json_decref(j);
			} else {
				http_respond(h, 200, agg, doc, strlen(doc), NULL);
			}
			return true;
		}
		if (core) {
			send_json(h, json_pack("{s:s, s:[s], s:[{s:s, s:s}]}", "kind", "APIVersions",
			                       "versions", "v1", "serverAddressByClientCIDRs", "clientCIDR",
			                       "0.0.0.0/0", "serverAddress", s->cfg.bind_address));
		} else {
			json_t *groups = json_array();
			json_t *gs = group_names();
			size_t i;
			json_t *g;
			json_array_foreach(gs, i, g) json_array_append_new(groups, api_group(json_string_value(g)));
			json_decref(gs);
			send_json(h, json_pack("{s:s, s:s, s:o}", "kind", "APIGroupList", "apiVersion", "v1",
			                       "groups", groups));
		}
		return true;
	}
	if (strcmp(path, "/api/v1") == 0) {
		send_json(h, resource_list("", "v1"));
		return true;
	}
	if (!str_has_prefix(path, "/apis/"))
		return false;
	const char *rest = path + 6;
	const char *slash = strchr(rest, '/');
	if (!slash) {
		json_t *vs = group_versions(rest);
		bool known = json_array_size(vs) > 0;
		json_decref(vs);
		if (!known)
			return false;
		json_t *g = api_group(rest);
		json_object_set_new(g, "kind", json_string("APIGroup"));
		json_object_set_new(g, "apiVersion", json_string("v1"));
		send_json(h, g);
		return true;
	}
	if (strchr(slash + 1, '/'))
		return false;
	_cleanup_free_ char *group = xstrndup(rest, (size_t)(slash - rest));
	const char *version = slash + 1;
	bool known = false;
	for (size_t i = 0; i < kind_count() && !known; i++)
		known = str_eq(kind_at(i)->group, group) && str_eq(kind_at(i)->version, version);
	if (!known)
		return false;
	send_json(h, resource_list(group, version));
	return true;
}
