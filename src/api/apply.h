/* apply.h — server-side apply and field ownership (metadata.managedFields).
 *
 * Follows Kubernetes' structured-merge-diff: an apply merges the applied configuration
 * into the live object (maps per key, associative lists per item key, set lists per
 * value, atomic values replaced), removes what the same manager applied before but no
 * longer applies when nobody else owns it, and records the fields each manager owns as
 * FieldsV1 sets. Writes that are not applies (create, update, patch) make their writer
 * own what they set or changed. Conflicts (another manager owns a field the apply would
 * change) answer 409 unless forced.
 *
 * Simplified, and documented so: one API version per kind (no conversion of managed
 * sets between versions); the last-applied-configuration annotation of client-side apply
 * is not consulted; a missing key field of an associative list is an error except a
 * port's "protocol" (defaulted to TCP, as the OpenAPI default does); for custom
 * resources, a schema with a "status" property is assumed to have the status
 * subresource.
 *
 * Not for: decoding the request body (YAML/JSON), defaulting, validation, or persisting.
 */
#ifndef TIMON_API_APPLY_H
#define TIMON_API_APPLY_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "api/schema.h"
#include "base/error.h"

/* k8s: at most this many "Update" entries are kept; older ones merge into
 * "ancient-changes". */
#define APPLY_MAX_UPDATE_MANAGERS 10

/* Applies `applied` (the request body as a JSON tree) for `manager` to live (NULL when the
 * object does not exist yet) and returns the new object (caller owns) with updated
 * metadata.managedFields. t is the built-in schema type, or NULL with crd_schema the
 * custom resource's openAPIV3Schema (both NULL: untyped, every list atomic). api_version
 * is the resource's "group/version" ("v1" for core). force takes over conflicting fields.
 * Errors: 400 BadRequest (not an object, managedFields set, wrong apiVersion), 409
 * Conflict with one FieldManagerConflict cause per field, 500 (reason "") for lists whose
 * items lack or repeat their keys. Inputs are borrowed and left untouched. */
json_t *apply_ssa(json_t *live, json_t *applied, const schema_type *t, json_t *crd_schema,
                  const char *manager, const char *api_version, bool force, int64_t now_ns,
                  terr **err);

/* Records in obj's metadata.managedFields (edited in place) that `manager` owns what this
 * write set or changed relative to old (NULL for a create), taking those fields from other
 * managers; fields the write removed leave every manager. operation is "Update" for
 * create, update and non-apply patches. managedFields sent in obj replace the live ones
 * when non-empty; [] or [{}] clears them (and an update of an object without
 * managedFields is not tracked, as kube does). old is borrowed. */
void apply_track_update(json_t *old, json_t *obj, const schema_type *t, json_t *crd_schema,
                        const char *manager, const char *operation, const char *api_version,
                        int64_t now_ns);

/* The same for writes through a subresource ("status", ...). For the main resource
 * (subresource NULL) "status" is not tracked; through "status" only status is. Entries
 * carry the subresource. */
json_t *apply_ssa_subresource(json_t *live, json_t *applied, const schema_type *t,
                              json_t *crd_schema, const char *manager, const char *api_version,
                              const char *subresource, bool force, int64_t now_ns, terr **err);
void apply_track_update_subresource(json_t *old, json_t *obj, const schema_type *t,
                                    json_t *crd_schema, const char *manager, const char *operation,
                                    const char *api_version, const char *subresource,
                                    int64_t now_ns);

#endif
