/* selector.h — label selectors: the `?labelSelector=` string form, metav1.LabelSelector
 * objects, matching a labels map, and the canonical string kube prints.
 *
 * Semantics follow k8s.io/apimachinery/pkg/labels (kube 1.32): same grammar, same
 * validation of keys and values, same error messages, same sort order when printed.
 * Not for: field selectors (api/fieldsel.h), node affinity's NodeSelectorTerms (build
 * them with label_selector_add), or validating objects that carry selectors (validate.h).
 */
#ifndef TIMON_API_SELECTOR_H
#define TIMON_API_SELECTOR_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"

typedef enum label_op {
	LABEL_OP_IN,         /* key in (v1,v2) */
	LABEL_OP_NOT_IN,     /* key notin (v1,v2) */
	LABEL_OP_EQ,         /* key=v */
	LABEL_OP_DEQ,        /* key==v */
	LABEL_OP_NEQ,        /* key!=v */
	LABEL_OP_EXISTS,     /* key */
	LABEL_OP_NOT_EXISTS, /* !key */
	LABEL_OP_GT,         /* key>int */
	LABEL_OP_LT,         /* key<int */
} label_op;

typedef struct label_req {
	char *key;
	label_op op;
	char **values; /* sorted and deduplicated when parsed from a string */
	size_t nvalues;
} label_req;

/* A conjunction of requirements, kept sorted by key (stable). No requirement at all
 * selects everything. Read-only for callers; build with the functions below. */
typedef struct label_selector {
	label_req *reqs;
	size_t n;
} label_selector;

/* Parses the string form ("a=b,c in (x,y),!d"). "" (or NULL) selects everything. Returns a
 * new selector the caller frees, or NULL with a 400 BadRequest in *err whose message is
 * kube's (e.g. "unable to parse requirement: ..."). */
label_selector *label_selector_parse(const char *s, terr **err);

/* Converts a metav1.LabelSelector object (borrowed) with matchLabels and matchExpressions
 * (In, NotIn, Exists, DoesNotExist). {} selects everything; the caller handles a missing
 * (nil) selector, which kube treats as selecting nothing. NULL + 400 on invalid input. */
label_selector *label_selector_from_json(json_t *sel, terr **err);

/* A new selector that selects everything; add requirements with label_selector_add. */
label_selector *label_selector_new(void);

/* Adds one requirement (values copied, borrowed array) after kube's NewRequirement checks;
 * keeps the selector sorted by key. Returns 0, or -1 with a 400 BadRequest. */
int label_selector_add(label_selector *s, const char *key, label_op op, const char *const *values,
		       size_t nvalues, terr **err);

/* True when s has no requirement (selects everything). NULL counts as empty. */
bool label_selector_empty(const label_selector *s);

/* True when labels (a JSON object of strings, borrowed; NULL = no labels) satisfies every
 * requirement of s. A NULL or empty selector matches everything. */
bool label_selector_matches(const label_selector *s, json_t *labels);

/* The canonical string, as kube prints it ("app=nginx,tier in (a,b)"); "" for an empty
 * selector. Caller frees. */
char *label_selector_string(const label_selector *s);

/* If s requires key to equal one value (=, == or an "in" of one value), returns that value
 * (borrowed from s), else NULL. */
const char *label_selector_exact_value(const label_selector *s, const char *key);

/* Frees s (NULL is fine). */
void label_selector_free(label_selector *s);
void cleanup_label_selectorp(label_selector **s);
#define _cleanup_label_selector_ __attribute__((cleanup(cleanup_label_selectorp)))

/* k8s: a plain map selector (Service.spec.selector, nodeSelector): true when every key of
 * match_labels is in labels with the same value. Both borrowed; NULL or {} match_labels
 * matches everything; NULL labels counts as {}. */
bool labels_match_map(json_t *match_labels, json_t *labels);

/* kube's labels.FormatLabels: "k1=v1,k2=v2" sorted by key, or "<none>" for NULL/{}.
 * Caller frees. */
char *labels_format(json_t *labels);

/* Checks a label key / value as kube does, returning NULL when valid or kube's message
 * (semicolon-joined, caller frees) when not. */
char *label_key_problems(const char *key);
char *label_value_problems(const char *value);

#endif
