/* openapi.c — assembles and caches the OpenAPI v3 documents and their index.
 *
 * Every served group-version gets one document ("openapi": "3.0.0", info, paths from
 * openapi_paths.c, components.schemas from openapi_schemas.c); "api" and "apis" describe
 * the discovery endpoints. All documents are built together whenever kind_generation()
 * moves, serialized once (compact, sorted keys) and hashed the way kube does (uppercase hex
 * SHA-512 of the bytes served), so the index and the documents always agree.
 * Not for: HTTP (the apiserver serves the strings) or the OpenAPI v2 document.
 */
#include "api/openapi.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/openapi-internal.h"
#include "base/json.h"
#include "base/util.h"
#include "base/version.h"

typedef struct oa_doc {
	char *path; /* "api/v1", "apis/apps/v1", "api", "apis" */
	char *json;
	char hash[129];
} oa_doc;

static struct {
	bool valid;
	unsigned generation;
	oa_doc *docs;
	size_t ndocs;
} cache;

void openapi_reset(void)
{
	for (size_t i = 0; i < cache.ndocs; i++) {
		free(cache.docs[i].path);
		free(cache.docs[i].json);
	}
	free(cache.docs);
	memset(&cache, 0, sizeof cache);
}

/* k8s: the hash in serverRelativeURL (and the ETag) is the uppercase hex SHA-512. */
static void sha512_hex(const char *data, size_t n, char out[129])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	EVP_Digest(data, n, md, &len, EVP_sha512(), NULL);
	for (unsigned i = 0; i < len && i < 64; i++)
		snprintf(out + 2 * i, 3, "%02X", md[i]);
	out[128] = '\0';
}

static json_t *doc_skeleton(json_t **paths, json_t **schemas)
{
	*paths = json_object();
	*schemas = json_object();
	return json_pack("{s:s,s:{s:s,s:s},s:o,s:{s:o,s:{s:{s:s,s:s,s:s,s:s}}}}", "openapi",
	                 "3.0.0", "info", "title", "Kubernetes", "version",
	                 TIMON_K8S_GIT_VERSION, "paths", *paths, "components", "schemas",
	                 *schemas, "securitySchemes", "BearerToken", "type", "apiKey", "name",
	                 "authorization", "in", "header", "description",
	                 "Bearer Token authentication");
}

/* Adds every schema named in want (and what they reference) to schemas. */
static void add_wanted(json_t *schemas, json_t *want)
{
	const char *name;
	json_t *v;
	json_object_foreach(want, name, v)
	{
		UNUSED(v);
		oa_add_schema(schemas, name);
	}
}

static json_t *build_gv(const char *group, const char *version)
{
	json_t *paths, *schemas;
	json_t *doc = doc_skeleton(&paths, &schemas);
	_cleanup_json_ json_t *want = json_object();
	_cleanup_free_ char *camel = oa_gv_camel(group, version);
	_cleanup_free_ char *tag = oa_gv_tag(group, version);
	_cleanup_free_ char *disc = group[0] ? xasprintf("/apis/%s/%s/", group, version)
	                                     : xasprintf("/api/%s/", version);
	_cleanup_free_ char *op = xasprintf("get%sAPIResources", camel);
	oa_add_discovery_path(paths, disc, tag, op, OA_META "APIResourceList", want);
	for (size_t i = 0; i < kind_count(); i++) {
		const kind_desc *d = kind_at(i);
		if (!str_eq(d->group, group) || !str_eq(d->version, version))
			continue;
		oa_add_kind_paths(paths, d, want);
		if (d->custom)
			oa_add_custom_schemas(schemas, d, want);
	}
	/* k8s: every group-version document carries the meta types its operations use. */
	json_object_set_new(want, OA_META "WatchEvent", json_true());
	add_wanted(schemas, want);
	return doc;
}

static json_t *build_root(bool core)
{
	json_t *paths, *schemas;
	json_t *doc = doc_skeleton(&paths, &schemas);
	_cleanup_json_ json_t *want = json_object();
	if (core)
		oa_add_discovery_path(paths, "/api/", "core", "getCoreAPIVersions",
		                      OA_META "APIVersions", want);
	else
		oa_add_discovery_path(paths, "/apis/", "apis", "getAPIVersions",
		                      OA_META "APIGroupList", want);
	add_wanted(schemas, want);
	return doc;
}

static void push_doc(const char *path, json_t *doc)
{
	oa_doc *o;
	cache.docs = xrealloc(cache.docs, (cache.ndocs + 1) * sizeof *cache.docs);
	o = &cache.docs[cache.ndocs++];
	o->path = xstrdup(path);
	o->json = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	if (!o->json)
		o->json = xstrdup("{}");
	sha512_hex(o->json, strlen(o->json), o->hash);
	json_decref(doc);
}

static bool have_doc(const char *path)
{
	for (size_t i = 0; i < cache.ndocs; i++)
		if (str_eq(cache.docs[i].path, path))
			return true;
	return false;
}

static void refresh(void)
{
	unsigned gen = kind_generation();
	if (cache.valid && cache.generation == gen)
		return;
	openapi_reset();
	push_doc("api", build_root(true));
	push_doc("apis", build_root(false));
	for (size_t i = 0; i < kind_count(); i++) {
		const kind_desc *d = kind_at(i);
		char path[300];
		if (d->group[0])
			snprintf(path, sizeof path, "apis/%s/%s", d->group, d->version);
		else
			snprintf(path, sizeof path, "api/%s", d->version);
		if (!have_doc(path))
			push_doc(path, build_gv(d->group, d->version));
	}
	cache.valid = true;
	cache.generation = gen;
}

char *openapi_v3_index(void)
{
	refresh();
	_cleanup_json_ json_t *paths = json_object();
	for (size_t i = 0; i < cache.ndocs; i++) {
		_cleanup_free_ char *url =
		    xasprintf("/openapi/v3/%s?hash=%s", cache.docs[i].path, cache.docs[i].hash);
		json_object_set_new(paths, cache.docs[i].path,
		                    json_pack("{s:s}", "serverRelativeURL", url));
	}
	_cleanup_json_ json_t *root = json_pack("{s:O}", "paths", paths);
	return json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
}

const char *openapi_v3_doc(const char *gv_path, const char **hash_out)
{
	if (!gv_path)
		return NULL;
	refresh();
	for (size_t i = 0; i < cache.ndocs; i++) {
		if (str_eq(cache.docs[i].path, gv_path)) {
			if (hash_out)
				*hash_out = cache.docs[i].hash;
			return cache.docs[i].json;
		}
	}
	return NULL;
}
