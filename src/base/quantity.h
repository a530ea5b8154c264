/* quantity.h — Kubernetes resource quantities ("500m", "1.5Gi", "1e3"): parsing, exact
 * arithmetic and kube's canonical string form.
 *
 * Semantics follow k8s.io/apimachinery/pkg/api/resource (kube 1.32). A quantity is held
 * exactly as a signed 128-bit count of nano-units (kube rounds anything finer up to 1n),
 * plus its format family. Magnitudes are limited to 10^28 units (kube's own BinarySI cap
 * is 2^63-1 units); larger decimal values are refused and sums saturate.
 * Not for: resource names or ResourceList maps (the object model works on JSON).
 */
#ifndef TIMON_BASE_QUANTITY_H
#define TIMON_BASE_QUANTITY_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"

typedef enum quantity_format {
	QUANTITY_DECIMAL_SI,       /* 1k, 500m, 1 */
	QUANTITY_BINARY_SI,        /* 1Ki, 1.5Gi */
	QUANTITY_DECIMAL_EXPONENT, /* 1e3, 12E-3 */
} quantity_format;

typedef struct quantity {
	__int128 nanos;         /* the value in units of 10^-9 */
	quantity_format format; /* the family the canonical form is printed in */
	char s[32];             /* k8s: the input string when kube keeps it verbatim, or "" */
} quantity;

/* Parses s (NUL-terminated, no surrounding blanks) into *q. Returns 0, or -1 with a 400
 * BadRequest carrying kube's message (regular-expression, numeric-part or suffix error). */
int quantity_parse(const char *s, quantity *q, terr **err);

/* Parses a quantity as it appears in JSON (borrowed): a string (blanks trimmed), an
 * integer or a real number. Returns 0 or -1 with a 400 BadRequest. */
int quantity_parse_json(json_t *v, quantity *q, terr **err);

/* Quantities built from integers, like kube's NewQuantity / NewMilliQuantity. */
void quantity_from_int(quantity *q, int64_t value, quantity_format format);
void quantity_from_milli(quantity *q, int64_t milli, quantity_format format);

/* k8s: Value() and MilliValue(): the value in units / thousandths, rounded away from
 * zero, saturated to the int64 range. */
int64_t quantity_value(const quantity *q);
int64_t quantity_milli(const quantity *q);

/* kube's canonical string ("1500m", "512Mi", "1e3"); caller frees. */
char *quantity_canonical(const quantity *q);

/* -1, 0 or 1 as a < b, a == b, a > b (by value, whatever the formats). */
int quantity_cmp(const quantity *a, const quantity *b);
bool quantity_is_zero(const quantity *q);

/* a += b and a -= b (k8s: a zero a takes b's format); saturate at the range limit. */
void quantity_add(quantity *a, const quantity *b);
void quantity_sub(quantity *a, const quantity *b);

#endif
