/* crdschema.h — custom resources against their CRD version's structural schema
 * (openAPIV3Schema): validation, defaulting and pruning as kube-apiserver 1.32 applies them.
 *
 * Validation follows the OpenAPI validator kube uses for custom resources (type, nullable,
 * int-or-string, enum, string formats, numeric bounds, lengths, pattern, items,
 * properties, required, additionalProperties, allOf/anyOf/oneOf/not), then the embedded
 * resource checks (x-kubernetes-embedded-resource: apiVersion and kind) and the list-type
 * invariants (x-kubernetes-list-type set/map: Duplicate value). Causes and messages are
 * kube's, e.g. field "spec.replicas", FieldValueTypeInvalid, `Invalid value: "string":
 * spec.replicas in body must be of type integer: "string"`.
 *
 * Not for: x-kubernetes-validations (CEL rules are skipped), ObjectMeta validation (the
 * generic metadata checks of api/validate.h), the scale subresource's replicas paths, or
 * CRD definitions themselves (validate_*.c checks CustomResourceDefinition objects).
 */
#ifndef TIMON_API_CRDSCHEMA_H
#define TIMON_API_CRDSCHEMA_H

#include <jansson.h>
#include <stddef.h>

#include "base/error.h"

/* Validates obj (borrowed) against schema (an openAPIV3Schema, borrowed; NULL accepts
 * anything). old is the stored object on update (NULL on create): errors inside a part of
 * obj equal to the same part of old are dropped (kube's CRD validation ratcheting).
 * Returns 0, or -1 with a 422 Invalid error whose message reads
 * `<kind>[.<group>] "<name>" is invalid: <field>: <cause>` (or `[c1, c2]`). */
int crdschema_validate(json_t *schema, json_t *obj, json_t *old, const char *kind,
                       const char *group, const char *name, terr **err);

/* The same checks, appending causes to *causes (a 422 Invalid terr is created when it is
 * NULL; its message is left for the caller to write, e.g. with the object metadata's
 * causes). base prefixes field paths: NULL for the whole object, "status" when value is
 * obj.status checked against the schema's properties.status (the status subresource).
 * Returns the number of causes appended. */
size_t crdschema_check(json_t *schema, json_t *value, json_t *old, const char *base,
                       terr **causes);

/* Applies the schema's `default` values to obj (modified in place), top-down: a property
 * missing (or null and not nullable) under an existing object gets a deep copy of its
 * default, pruned against the property's schema. */
void crdschema_default(json_t *schema, json_t *obj);

/* Removes from obj (modified in place) the fields the schema does not specify, unless
 * under x-kubernetes-preserve-unknown-fields; apiVersion, kind and metadata at the root
 * and in embedded resources are kept, but unknown fields of the root metadata are dropped.
 * Then removes null values the schema neither allows (nullable) nor defaults. When
 * pruned_paths is not NULL it receives a new JSON array of the removed fields' paths
 * ("metadata.foo" first, then "spec.foo", "spec.items[0].bar", ... sorted), for
 * fieldValidation Strict (`unknown field "spec.foo"`) and Warn. */
void crdschema_prune(json_t *schema, json_t *obj, json_t **pruned_paths);

#endif
