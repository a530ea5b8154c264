/* jsonpath.h — a small evaluator for the JSONPath dialect of kubectl and CRD
 * additionalPrinterColumns: `.spec.x`, `.a.b[0]`, `[-1]`, `[1:3]`, `[*]`, `.*`, `..name`,
 * `['key']`, and filters `[?(@.type=="Ready")]` (==, !=, <, <=, >, >=, or bare existence).
 *
 * Not for: kubectl's template features (range/end, literals between expressions, unions
 * `[a,b]`), nor printing whole tables (api/printers.h).
 */
#ifndef TIMON_API_JSONPATH_H
#define TIMON_API_JSONPATH_H

#include <jansson.h>

#include "base/error.h"

typedef struct jsonpath jsonpath;

/* Parses expr (optionally wrapped in "{...}", optionally starting with "$"). Returns a new
 * expression (free with jsonpath_free) or NULL with a 400 BadRequest in *err. */
jsonpath *jsonpath_parse(const char *expr, terr **err);
/* Frees p (NULL is fine). */
void jsonpath_free(jsonpath *p);
void cleanup_jsonpathp(jsonpath **p);
#define _cleanup_jsonpath_ __attribute__((cleanup(cleanup_jsonpathp)))

/* Evaluates p against root (borrowed). Returns a new array holding every match in
 * document order (missing keys and out-of-range indexes simply match nothing). */
json_t *jsonpath_eval(const jsonpath *p, json_t *root);

/* One value as kube's jsonpath printer writes it: a string as is, a number as Go's %v
 * does, true/false, "null", arrays and objects as compact JSON with sorted keys. Caller
 * frees. */
char *jsonpath_text(const json_t *v);

#endif
