/* openapi.h — the OpenAPI v3 documents served under /openapi/v3, as kube-apiserver does.
 *
 * One document per served group-version ("api/v1", "apis/apps/v1", ...) plus "api" and
 * "apis" (discovery), built from the kind registry (api/kind.h) and the schema table
 * (api/schema.h); custom kinds contribute their CRD openAPIV3Schema. kubectl reads them
 * for `apply` (patch metadata, and the `fieldValidation` parameter that tells it the
 * server validates fields), `explain` and client-side validation.
 * Not for: HTTP handling (the apiserver serves these strings, with the hash as ETag) or
 * the OpenAPI v2 document.
 */
#ifndef TIMON_API_OPENAPI_H
#define TIMON_API_OPENAPI_H

/* The body of GET /openapi/v3: {"paths":{"api/v1":{"serverRelativeURL":
 * "/openapi/v3/api/v1?hash=<HASH>"},...}}. Caller frees. */
char *openapi_v3_index(void);

/* The document for gv_path ("api", "apis", "api/v1" or "apis/<group>/<version>"), compact
 * JSON with sorted keys; NULL when no such group-version is served. When hash_out is not
 * NULL it receives the document's hash (uppercase hex SHA-512, as kube computes it).
 * Both strings are owned by the module's cache: valid until the next openapi_* call made
 * after the kind set changed (kind_generation()). Not thread-safe: call from the loop. */
const char *openapi_v3_doc(const char *gv_path, const char **hash_out);

/* Drops the cache (tests, shutdown). */
void openapi_reset(void);

#endif
