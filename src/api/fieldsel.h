/* fieldsel.h — field selectors (`?fieldSelector=`): parsing with kube's escaping, the
 * per-kind list of selectable fields, and matching against a JSON object.
 *
 * Semantics follow k8s.io/apimachinery/pkg/fields and the field-label conversion functions
 * and ToSelectableFields of kube 1.32's registries (pods, nodes, events, secrets, ...).
 * Not for: label selectors (api/selector.h) or JSONPath templates (api/jsonpath.h).
 */
#ifndef TIMON_API_FIELDSEL_H
#define TIMON_API_FIELDSEL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"

typedef struct field_term {
	char *field; /* "spec.nodeName" */
	char *value; /* unescaped */
	bool not_eq; /* != */
} field_term;

/* A conjunction of terms, sorted like kube sorts them. No term selects everything.
 * Read-only for callers. */
typedef struct field_selector {
	field_term *terms;
	size_t n;
} field_selector;

/* Parses "f=v,g!=w" (also "=="); values may escape '\\', ',' and '=' with a backslash.
 * "" (or NULL) selects everything. Returns a new selector the caller frees, or NULL with a
 * 400 BadRequest carrying kube's message. */
field_selector *field_selector_parse(const char *s, terr **err);

/* True when s has no term. NULL counts as empty. */
bool field_selector_empty(const field_selector *s);

/* True when obj (borrowed) satisfies every term. Each field takes the value kube's
 * registries give it (a dotted path into obj; numbers and booleans by their string form;
 * missing as "", or "false"/"0" for the typed fields kube always sets). NULL s matches. */
bool field_selector_matches(const field_selector *s, json_t *obj);

/* k8s: only some fields are selectable per kind. Checks every term of s against the kind
 * group/kind ("" = core); selectable_fields is a custom resource's
 * spec.versions[].selectableFields array (borrowed, may be NULL). Custom kinds are
 * recognised through the kind registry. Returns 0, or -1 with kube's 400 BadRequest
 * (e.g. "field label not supported: spec.foo"). */
int field_selector_check_supported(const field_selector *s, const char *group, const char *kind,
				   json_t *selectable_fields, terr **err);

/* If s requires field == value, returns value (borrowed from s), else NULL. A pod's legacy
 * "spec.host" counts as "spec.nodeName". */
const char *field_selector_single_value(const field_selector *s, const char *field);

/* The value kube's field set gives field for obj (see field_selector_matches). Caller
 * frees. */
char *field_selector_field_value(json_t *obj, const char *field);

/* The canonical string ("f=v,g!=w", values re-escaped). Caller frees. */
char *field_selector_string(const field_selector *s);

/* Frees s (NULL is fine). */
void field_selector_free(field_selector *s);
void cleanup_field_selectorp(field_selector **s);
#define _cleanup_field_selector_ __attribute__((cleanup(cleanup_field_selectorp)))

#endif
