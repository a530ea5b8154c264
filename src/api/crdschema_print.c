/* crdschema_print.c — prints JSON values the way Go prints the values kube decodes them to,
 * so validation messages of custom resources read exactly like kube-apiserver's: %q for
 * strings, %v for float64 (shortest digits, exponent from 1e+06), %#v for maps and slices,
 * encoding/json for enum listings and key comparisons.
 *
 * Not for: serializing objects for the wire (base/json.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/crdschema-internal.h"
#include "base/util.h"

void cs_quote(buf *b, const char *s, size_t n)
{
	buf_go_quote(b, s, n);
}

void cs_float(buf *b, double d)
{
	buf_go_float(b, d, false);
}

static int cmp_key(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The keys of object o, sorted (Go prints and marshals maps in key order). */
static const char **sorted_keys(const json_t *o, size_t *n)
{
	const char **keys = xcalloc(json_object_size(o) + 1, sizeof *keys);
	size_t i = 0;
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)o, k, v) keys[i++] = k;
	qsort(keys, i, sizeof *keys, cmp_key);
	*n = i;
	return keys;
}

static void json_str(buf *b, const char *s, size_t n)
{
	buf_putc(b, '"');
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	while (p < end) {
		unsigned char c = *p;
		int len = utf8_seq_len(p, (size_t)(end - p));
		if (c == '"' || c == '\\') {
			buf_putc(b, '\\');
			buf_putc(b, (char)c);
		} else if (c == '\n') {
			buf_puts(b, "\\n");
		} else if (c == '\r') {
			buf_puts(b, "\\r");
		} else if (c == '\t') {
			buf_puts(b, "\\t");
		} else if (c == '\b') {
			buf_puts(b, "\\b");
		} else if (c == '\f') {
			buf_puts(b, "\\f");
		} else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
			buf_printf(b, "\\u%04x", c);
		} else if (len == 0) {
			buf_puts(b, "\\ufffd");
		} else if (len == 3 && c == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9)) {
			buf_printf(b, "\\u202%c", p[2] == 0xa8 ? '8' : '9');
		} else {
			buf_add(b, p, (size_t)len);
		}
		p += len ? len : 1;
	}
	buf_putc(b, '"');
}

void cs_gojson(buf *b, const json_t *v)
{
	size_t i, n;
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		const char **keys = sorted_keys(v, &n);
		buf_putc(b, '{');
		for (i = 0; i < n; i++) {
			if (i)
				buf_putc(b, ',');
			json_str(b, keys[i], strlen(keys[i]));
			buf_putc(b, ':');
			cs_gojson(b, json_object_get(v, keys[i]));
		}
		buf_putc(b, '}');
		free(keys);
		break;
	}
	case JSON_ARRAY:
		buf_putc(b, '[');
		for (i = 0; i < json_array_size(v); i++) {
			if (i)
				buf_putc(b, ',');
			cs_gojson(b, json_array_get(v, i));
		}
		buf_putc(b, ']');
		break;
	case JSON_STRING:
		json_str(b, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		buf_printf(b, "%lld", (long long)json_integer_value(v));
		break;
	case JSON_REAL:
		buf_go_float(b, json_real_value(v), true);
		break;
	case JSON_TRUE:
		buf_puts(b, "true");
		break;
	case JSON_FALSE:
		buf_puts(b, "false");
		break;
	default:
		buf_puts(b, "null");
	}
}

void cs_gosyntax(buf *b, const json_t *v)
{
	size_t i, n;
	if (!v || json_is_null(v)) {
		buf_puts(b, "interface {}(nil)");
	} else if (json_is_object(v)) {
		const char **keys = sorted_keys(v, &n);
		buf_puts(b, "map[string]interface {}{");
		for (i = 0; i < n; i++) {
			if (i)
				buf_puts(b, ", ");
			cs_quote(b, keys[i], strlen(keys[i]));
			buf_putc(b, ':');
			cs_gosyntax(b, json_object_get(v, keys[i]));
		}
		buf_putc(b, '}');
		free(keys);
	} else if (json_is_array(v)) {
		buf_puts(b, "[]interface {}{");
		for (i = 0; i < json_array_size(v); i++) {
			if (i)
				buf_puts(b, ", ");
			cs_gosyntax(b, json_array_get(v, i));
		}
		buf_putc(b, '}');
	} else {
		cs_value(b, v);
	}
}

void cs_value(buf *b, const json_t *v)
{
	if (!v || json_is_null(v))
		buf_puts(b, "\"null\"");
	else if (json_is_string(v))
		cs_quote(b, json_string_value(v), json_string_length(v));
	else if (json_is_integer(v))
		buf_printf(b, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		cs_float(b, json_real_value(v));
	else if (json_is_boolean(v))
		buf_puts(b, json_is_true(v) ? "true" : "false");
	else
		cs_gosyntax(b, v);
}

int64_t cs_f2i(double f)
{
	if (!(f > -9223372036854775808.0 && f < 9223372036854775808.0))
		return INT64_MIN;
	return (int64_t)f;
}

bool cs_float_is_int(double f)
{
	const double max = 9007199254740991.0; /* 2^53 - 1 */
	if (isnan(f) || isinf(f) || f < -max || f > max)
		return false;
	double r = round(f);
	if (f == r)
		return true;
	if (r == 0)
		return false;
	return fabs(f - r) < 1e-9 * fabs(r);
}
