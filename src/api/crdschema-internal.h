/* crdschema-internal.h — what the crdschema*.c files share: Go-style value printing (kube's
 * messages print values the way Go's fmt and encoding/json do), the string formats and
 * patterns of the OpenAPI validator, the OpenAPI validator itself and schema accessors.
 *
 * Not for: callers outside src/api/crdschema*.c (they use api/crdschema.h).
 */
#ifndef TIMON_API_CRDSCHEMA_INTERNAL_H
#define TIMON_API_CRDSCHEMA_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

/* ---- Go printing (crdschema_print.c) ------------------------------------------------ */

void cs_quote(buf *b, const char *s, size_t n); /* strconv.Quote */
void cs_float(buf *b, double d);                /* fmt's %v of a float64: 1.5, 1e+06 */
void cs_gojson(buf *b, const json_t *v);        /* encoding/json.Marshal: sorted keys */
void cs_gosyntax(buf *b, const json_t *v);      /* %#v of an interface{} */
/* A bad value as field.Error prints it: strings quoted, numbers and booleans bare, null
 * as "null", objects and arrays in Go syntax (map[string]interface {}{...}). */
void cs_value(buf *b, const json_t *v);
/* Go's int64(f) on amd64: truncation, and INT64_MIN when out of range. */
int64_t cs_f2i(double f);
/* go-openapi's IsFloat64AJSONInteger: an integer within 2^53, with 1e-9 relative slack. */
bool cs_float_is_int(double f);

/* ---- formats and patterns (crdschema_formats.c) ------------------------------------- */

/* The schema's format when kube validates it (strings only: uri, email, hostname, ipv4,
 * ipv6, cidr, mac, uuid*, isbn*, creditcard, ssn, hexcolor, rgbcolor, byte, password, date,
 * duration, date-time, bsonobjectid); NULL for none or one kube strips (int32, float, ...). */
const char *cs_format(const json_t *schema);
/* True when s (n bytes) is valid for the format (one cs_format returned). */
bool cs_format_ok(const char *format, const char *s, size_t n);
/* Matches s against a Go (RE2) pattern, unanchored: 1 match, 0 no match, -1 when the
 * pattern cannot be checked here (a construct POSIX regex lacks); then it passes. */
int cs_pattern(const char *pattern, const char *s, size_t n);

/* ---- schema accessors (crdschema.c) ------------------------------------------------- */

json_t *cs_props(const json_t *s);       /* "properties" object or NULL */
json_t *cs_items(const json_t *s);       /* "items" when it is a schema object, or NULL */
/* "additionalProperties": true when present and not false; *schema is its schema object
 * (NULL for `true`). */
bool cs_addl(const json_t *s, json_t **schema);
bool cs_flag(const json_t *s, const char *key); /* member is JSON true */

/* ---- the OpenAPI validator (crdschema_openapi.c) ------------------------------------ */

/* One field error, already in kube's form. */
typedef struct cs_err {
	char *key;         /* the OpenAPI message, to drop duplicates */
	const char *cause; /* k8s CauseType */
	char *field;
	char *body;        /* field.Error's ErrorBody */
} cs_err;

typedef struct cs_errs {
	cs_err *e;
	size_t n, cap;
	long match;     /* the OpenAPI validator's count of passed checks (anyOf/oneOf ranking) */
	size_t *slots;  /* open-addressing index of keys: e index + 1, 0 = empty */
	size_t nslots;
} cs_errs;

void cs_errs_free(cs_errs *r);
/* Appends an error; drops it (and frees its strings) when r has one with the same key. */
void cs_errs_add(cs_errs *r, char *key, const char *cause, char *field, char *body);

/* Validates value against schema as kube-openapi does for custom resources, appending the
 * errors to out. old: the correlated stored value for ratcheting, or NULL. base: field
 * path prefix (NULL for none). */
void cs_openapi(const json_t *schema, const json_t *value, const json_t *old, const char *base,
                cs_errs *out);

#endif
