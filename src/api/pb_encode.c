/* pb_encode.c — JSON object -> Kubernetes protobuf message, driven by the schema table.
 *
 * Writes the bytes go-protobuf (gogo) writes for the Go struct that the JSON decodes to:
 * fields in ascending number; non-pointer scalars, strings and nested structs always (zero
 * values included); pointers, []byte and RawExtension contents only when non-nil; one
 * entry per element of a repeated field (proto2: never packed); map entries sorted by key.
 * So a canonical message decoded by pb_decode.c encodes back to the same bytes.
 * Not for: the "k8s\0" envelope (protobuf.c) or protobuf -> JSON (pb_decode.c).
 */
#include "api/protobuf.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "api/pb-internal.h"
#include "base/util.h"

static int enc_fields(json_t *obj, const schema_type *t, int depth, buf *out, terr **err);

typedef struct ctx {
	const schema_type *t;
	const schema_field *f;
	int depth;
	terr **err;
} ctx;

static int mismatch(const ctx *c, const char *want, json_t *v)
{
	static const char *names[] = {"object", "array", "string", "integer",
	                              "real",   "true",  "false",  "null"};
	int ty = json_typeof(v);
	return terr_internal(c->err, "cannot encode %s field %s as protobuf: expected %s, got %s",
	                     c->t->name, c->f->json, want,
	                     ty >= 0 && ty < (int)ARRAY_SIZE(names) ? names[ty] : "?");
}

/* An integral JSON number within [min, max]. */
static int get_int(const ctx *c, json_t *v, int64_t min, int64_t max, int64_t *out)
{
	if (!v) {
		*out = 0;
		return 0;
	}
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
	} else if (json_is_real(v)) {
		double d = json_real_value(v);
		if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0) || d != floor(d))
			return mismatch(c, "an integer", v);
		*out = (int64_t)d;
	} else {
		return mismatch(c, "an integer", v);
	}
	if (*out < min || *out > max)
		return terr_internal(c->err, "cannot encode %s field %s as protobuf: %lld is out of range",
		                     c->t->name, c->f->json, (long long)*out);
	return 0;
}

static void put_varint_field(buf *b, uint32_t num, uint64_t v)
{
	pb_put_tag(b, num, PB_WT_VARINT);
	pb_put_varint(b, v);
}

static int enc_time(const ctx *c, json_t *v, bool micro, uint32_t num, buf *out)
{
	int64_t sec = PB_TIME_MIN_SEC;
	int32_t nanos = 0;
	if (v && !json_is_string(v))
		return mismatch(c, "an RFC 3339 time", v);
	if (v && pb_time_parse(json_string_value(v), json_string_length(v), &sec, &nanos) < 0)
		return terr_internal(c->err, "cannot encode %s field %s as protobuf: invalid time %s",
		                     c->t->name, c->f->json, json_string_value(v));
	/* k8s: metav1.Time sends whole seconds (nanos 0); MicroTime keeps microseconds. */
	nanos = micro ? nanos - nanos % 1000 : 0;
	if (sec == PB_TIME_MIN_SEC && nanos == 0) { /* the zero time: an empty message */
		pb_put_len(out, num, NULL, 0);
		return 0;
	}
	_cleanup_buf_ buf m = {0};
	put_varint_field(&m, 1, (uint64_t)sec);
	put_varint_field(&m, 2, (uint64_t)(int64_t)nanos);
	pb_put_len(out, num, m.p, m.n);
	return 0;
}

static int enc_int_or_string(const ctx *c, json_t *v, uint32_t num, buf *out)
{
	_cleanup_buf_ buf m = {0};
	int64_t iv = 0;
	const char *s = "";
	size_t sn = 0;
	bool is_str = json_is_string(v);
	if (is_str) {
		s = json_string_value(v);
		sn = json_string_length(v);
	} else if (get_int(c, v, INT32_MIN, INT32_MAX, &iv) < 0) {
		return -1;
	}
	/* k8s: IntOrString {type = 1 (0 Int, 1 String), intVal = 2, strVal = 3}, all written. */
	put_varint_field(&m, 1, is_str ? 1 : 0);
	put_varint_field(&m, 2, (uint64_t)iv);
	pb_put_len(&m, 3, s, sn);
	pb_put_len(out, num, m.p, m.n);
	return 0;
}

/* Writes field num holding a value of kind (v NULL: Go's zero value). */
static int enc_value(const ctx *c, uint8_t kind, const schema_type *type, json_t *v, uint32_t num,
                     buf *out)
{
	_cleanup_buf_ buf m = {0};
	int64_t iv;
	switch (kind) {
	case SCHEMA_STRING:
		if (v && !json_is_string(v))
			return mismatch(c, "a string", v);
		pb_put_len(out, num, v ? json_string_value(v) : NULL, v ? json_string_length(v) : 0);
		return 0;
	case SCHEMA_BOOL:
		if (v && !json_is_boolean(v))
			return mismatch(c, "a boolean", v);
		put_varint_field(out, num, json_is_true(v));
		return 0;
	case SCHEMA_INT32:
		if (get_int(c, v, INT32_MIN, INT32_MAX, &iv) < 0)
			return -1;
		put_varint_field(out, num, (uint64_t)iv); /* negative: sign-extended, 10 bytes */
		return 0;
	case SCHEMA_INT64:
		if (get_int(c, v, INT64_MIN, INT64_MAX, &iv) < 0)
			return -1;
		put_varint_field(out, num, (uint64_t)iv);
		return 0;
	case SCHEMA_DOUBLE: {
		if (v && !json_is_number(v))
			return mismatch(c, "a number", v);
		double d = v ? json_number_value(v) : 0;
		uint64_t bits;
		memcpy(&bits, &d, sizeof bits);
		pb_put_fixed64(out, num, bits);
		return 0;
	}
	case SCHEMA_BYTES:
		if (v && !json_is_string(v))
			return mismatch(c, "a base64 string", v);
		if (v && pb_base64_decode(json_string_value(v), json_string_length(v), &m) < 0)
			return terr_internal(c->err, "cannot encode %s field %s as protobuf: invalid base64",
			                     c->t->name, c->f->json);
		pb_put_len(out, num, m.p, m.n);
		return 0;
	case SCHEMA_OBJECT:
		if (v && !json_is_object(v))
			return mismatch(c, "an object", v);
		if (!type)
			return terr_internal(c->err, "schema: %s field %s has no type", c->t->name,
			                     c->f->json);
		if (enc_fields(v, type, c->depth + 1, &m, c->err) < 0)
			return -1;
		pb_put_len(out, num, m.p, m.n);
		return 0;
	case SCHEMA_QUANTITY:
		if (!v) {
			pb_put_len(&m, 1, "0", 1);
		} else if (json_is_string(v)) {
			pb_put_len(&m, 1, json_string_value(v), json_string_length(v));
		} else if (json_is_number(v)) {
			_cleanup_free_ char *s = json_dumps(v, JSON_ENCODE_ANY);
			pb_put_len(&m, 1, s, strlen(s));
		} else {
			return mismatch(c, "a quantity", v);
		}
		pb_put_len(out, num, m.p, m.n);
		return 0;
	case SCHEMA_TIME:
	case SCHEMA_MICROTIME:
		return enc_time(c, v, kind == SCHEMA_MICROTIME, num, out);
	case SCHEMA_DURATION:
		iv = 0;
		if (v && !json_is_string(v))
			return mismatch(c, "a duration string", v);
		if (v && pb_duration_parse(json_string_value(v), json_string_length(v), &iv) < 0)
			return terr_internal(c->err, "cannot encode %s field %s as protobuf: invalid duration",
			                     c->t->name, c->f->json);
		put_varint_field(&m, 1, (uint64_t)iv);
		pb_put_len(out, num, m.p, m.n);
		return 0;
	case SCHEMA_INT_OR_STRING:
		return enc_int_or_string(c, v, num, out);
	case SCHEMA_RAW:
		if (v) { /* k8s: RawExtension/FieldsV1 carry the JSON text itself */
			_cleanup_free_ char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
			pb_put_len(&m, 1, s, strlen(s));
		}
		pb_put_len(out, num, m.p, m.n);
		return 0;
	case SCHEMA_ARRAY: { /* a list as a map value: message {repeated string items = 1} */
		size_t i;
		json_t *e;
		if (v && !json_is_array(v))
			return mismatch(c, "an array", v);
		json_array_foreach(v, i, e) {
			if (!json_is_string(e))
				return mismatch(c, "an array of strings", e);
			pb_put_len(&m, 1, json_string_value(e), json_string_length(e));
		}
		pb_put_len(out, num, m.p, m.n);
		return 0;
	}
	default:
		return terr_internal(c->err, "schema: %s field %s has no protobuf form", c->t->name,
		                     c->f->json);
	}
}

static int cmp_keys(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int enc_map(const ctx *c, json_t *v, buf *out)
{
	const schema_field *f = c->f;
	if (!json_is_object(v))
		return mismatch(c, "an object", v);
	size_t n = json_object_size(v), i = 0;
	const char **keys = xmalloc((n ? n : 1) * sizeof *keys);
	const char *k;
	json_t *e;
	json_object_foreach(v, k, e) keys[i++] = k;
	/* k8s: go-protobuf writes map entries sorted by key. */
	qsort(keys, n, sizeof *keys, cmp_keys);
	int r = 0;
	for (i = 0; i < n && r == 0; i++) {
		_cleanup_buf_ buf m = {0};
		e = json_object_get(v, keys[i]);
		pb_put_len(&m, 1, keys[i], strlen(keys[i]));
		if (json_is_null(e))
			e = NULL;
		if (e || f->elem != SCHEMA_BYTES) /* a nil []byte value is left out */
			r = enc_value(c, f->elem, f->type, e, 2, &m);
		if (r == 0)
			pb_put_len(out, f->proto, m.p, m.n);
	}
	free(keys);
	return r;
}

static int enc_field(json_t *obj, const schema_type *t, const schema_field *f, int depth,
                     buf *out, terr **err)
{
	ctx c = {.t = t, .f = f, .depth = depth, .err = err};
	if (f->flags & SCHEMA_F_INLINE) /* the sub-message's fields come from this object */
		return enc_value(&c, SCHEMA_OBJECT, f->type, obj, f->proto, out);
	json_t *v = json_object_get(obj, f->json);
	if (json_is_null(v))
		v = NULL;
	if (f->kind == SCHEMA_ARRAY) {
		size_t i;
		json_t *e;
		if (!v)
			return 0;
		if (!json_is_array(v))
			return mismatch(&c, "an array", v);
		json_array_foreach(v, i, e) {
			if (enc_value(&c, f->elem, f->type, json_is_null(e) ? NULL : e, f->proto, out) < 0)
				return -1;
		}
		return 0;
	}
	if (f->kind == SCHEMA_MAP)
		return v ? enc_map(&c, v, out) : 0;
	if (!v && ((f->flags & SCHEMA_F_POINTER) || f->kind == SCHEMA_BYTES))
		return 0; /* nil pointer or nil []byte: not written */
	return enc_value(&c, f->kind, f->type, v, f->proto, out);
}

static int enc_fields(json_t *obj, const schema_type *t, int depth, buf *out, terr **err)
{
	if (depth > PB_MAX_DEPTH)
		return terr_internal(err, "cannot encode %s as protobuf: nested deeper than %d",
		                     t->name, PB_MAX_DEPTH);
	/* The fields in ascending protobuf number (the table keeps Go's struct order). */
	size_t n = 0;
	const schema_field **order = xmalloc((t->nfields ? t->nfields : 1) * sizeof *order);
	for (size_t i = 0; i < t->nfields; i++) {
		const schema_field *f = &t->fields[i];
		if (!f->proto || f->kind == SCHEMA_ANY)
			continue;
		size_t j = n++;
		while (j > 0 && order[j - 1]->proto > f->proto) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = f;
	}
	int r = 0;
	for (size_t i = 0; i < n && r == 0; i++)
		r = enc_field(obj, t, order[i], depth, out, err);
	free(order);
	return r;
}

int pb_encode_message(json_t *obj, const schema_type *t, buf *out, terr **err)
{
	if (!json_is_object(obj))
		return terr_internal(err, "cannot encode %s as protobuf: not a JSON object", t->name);
	return enc_fields(obj, t, 0, out, err);
}
