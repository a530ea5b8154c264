/* patch.h — the three PATCH formats of the Kubernetes API applied to jansson trees:
 * RFC 6902 JSON patch (application/json-patch+json), RFC 7386 JSON merge patch
 * (application/merge-patch+json) and strategic merge patch
 * (application/strategic-merge-patch+json).
 *
 * Each function leaves its inputs untouched and returns a new tree. Errors carry the code,
 * reason and message kube-apiserver answers with, so the handler can turn them into a
 * Status as they are. A reason of "" stands for kube's StatusReasonUnknown (the Status
 * then has no `reason`; kubectl prints "Error from server: <message>").
 *
 * Not for: server-side apply (api/apply.h), reading request bodies, choosing the patch
 * type from Content-Type, or validating the result (the caller decodes and validates the
 * patched object like any update).
 */
#ifndef TIMON_API_PATCH_H
#define TIMON_API_PATCH_H

#include <jansson.h>
#include <stdbool.h>

#include "api/schema.h"
#include "base/error.h"

/* k8s: a JSON patch may hold at most 10,000 operations (413 RequestEntityTooLarge). */
#define PATCH_JSON_MAX_OPS 10000
/* k8s: the bytes that "copy" operations add to a document, summed over one patch, are
 * limited (JSONPatchMaxCopyBytes, 3 MiB by default). */
#define PATCH_JSON_MAX_COPY_BYTES (3 * 1024 * 1024)

/* Applies the RFC 6902 operations `ops` (a JSON array) to a copy of doc and returns it
 * (caller owns). All or nothing: NULL with *err set when any operation fails. Errors as
 * kube-apiserver gives them: ops not an array of objects -> 400 BadRequest; more than
 * PATCH_JSON_MAX_OPS -> 413 RequestEntityTooLarge; a failed operation (bad path, failed
 * test, unknown op, copy limit) -> 422 Invalid "the server rejected our request due to an
 * error in our request". doc and ops are borrowed. */
json_t *patch_json(json_t *doc, json_t *ops, terr **err);

/* Applies the RFC 7386 merge patch `patch` to a copy of doc and returns it (caller owns):
 * objects merge recursively, null deletes, anything else replaces. A patch that is not an
 * object replaces the whole document (per the RFC). Never fails. Both borrowed. */
json_t *patch_merge(json_t *doc, json_t *patch);

/* Applies a strategic merge patch to a copy of doc and returns it (caller owns), the way
 * kube-apiserver does for built-in types: t describes doc (e.g. the schema type of
 * io.k8s.api.apps.v1.Deployment). Lists whose field has patchStrategy "merge" merge by
 * patchMergeKey (or as sets for primitive lists); other lists are replaced; maps merge
 * recursively; null deletes. Directives: $patch (replace, delete), $retainKeys,
 * $setElementOrder/<list>, $deleteFromPrimitiveList/<list>.
 *
 * t == NULL means "no metadata": maps merge and lists are replaced. kube-apiserver refuses
 * strategic merge patches on custom resources with 415 UnsupportedMediaType; making that
 * check (and answering 415) is the caller's business, before calling this.
 *
 * Errors, with kube's codes: patch not an object, a malformed $retainKeys /
 * $setElementOrder / $deleteFromPrimitiveList, or a patch key missing from $retainKeys ->
 * 400 BadRequest; lists of lists -> 422 Invalid; other semantic errors (missing merge key,
 * "$patch: merge" or an unknown $patch value, mixed element types) -> 500 with reason ""
 * (kube: StatusReasonUnknown).
 * doc, patch and t are borrowed. */
json_t *patch_strategic(json_t *doc, json_t *patch, const schema_type *t, terr **err);

/* Deep equality of JSON values where numbers compare by value (1 equals 1.0), as Go's
 * decoded interface{} values compare. Used by the patch and apply code. */
bool patch_json_equal(const json_t *a, const json_t *b);

#endif
