/* pb_decode.c — Kubernetes protobuf message -> JSON object, driven by the schema table.
 *
 * The result is what kube-apiserver's Go code prints after decoding the same bytes into
 * its structs: go-protobuf fills every field it saw, and encoding/json then applies
 * omitempty (drops false, 0, "", empty slices and maps, nil pointers — never structs),
 * prints nil slices, maps and pointers as null, and keeps the struct field order (the
 * schema table's order). Fields the input left out get Go's zero value the same way.
 * Not for: the "k8s\0" envelope (protobuf.c) or JSON -> protobuf (pb_encode.c).
 */
#include "api/protobuf.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "api/pb-internal.h"
#include "base/base64.h"
#include "base/util.h"

static int dec_fields(const uint8_t *p, size_t n, const schema_type *t, int depth, json_t *out,
                      terr **err);

/* What the wire carries for a value of kind k (not for ARRAY/MAP). */
static int want_wire(uint8_t k)
{
	switch (k) {
	case SCHEMA_BOOL:
	case SCHEMA_INT32:
	case SCHEMA_INT64:
		return PB_WT_VARINT;
	case SCHEMA_DOUBLE:
		return PB_WT_I64;
	default:
		return PB_WT_LEN;
	}
}

/* Go prints an integral float64 without a fraction ("1", not "1.0"): such values become
 * JSON integers so the dumped text matches. */
static json_t *go_number(double d)
{
	if (d == floor(d) && fabs(d) < 9007199254740992.0)
		return json_integer((json_int_t)d);
	return json_real(d);
}

static int bad_field(terr **err, const char *tname, const schema_field *f, const char *msg)
{
	return terr_bad_request(err, "invalid protobuf in %s: field %s (%u): %s", tname,
	                        f->json, (unsigned)f->proto, msg);
}

/* The fields 1..3 of a small well-known message (Timestamp, Quantity, IntOrString, ...):
 * read_small keeps the last value of each, checks it against the wire type wanted for
 * that number (-1: none, skipped) and skips every other field. */
typedef struct small_msg {
	uint64_t v[4];
	const uint8_t *s[4];
	size_t sn[4];
	bool has[4];
} small_msg;

static int read_small(const uint8_t *p, size_t n, const char *what, const int wt[4],
                      small_msg *m, terr **err)
{
	pb_iter it;
	pb_wfield wf;
	int r;
	memset(m, 0, sizeof *m);
	pb_iter_init(&it, p, n, what);
	while ((r = pb_iter_next(&it, &wf, err)) > 0) {
		if (wf.num > 3 || wt[wf.num] < 0 || wf.wt == PB_WT_SGROUP)
			continue; /* unknown fields are skipped */
		if (wf.wt != wt[wf.num])
			return terr_bad_request(err, "invalid protobuf in %s: field %u: wrong wire type",
			                        what, (unsigned)wf.num);
		m->v[wf.num] = wf.v;
		m->s[wf.num] = wf.data;
		m->sn[wf.num] = wf.len;
		m->has[wf.num] = true;
	}
	return r;
}

static json_t *dec_time(const uint8_t *p, size_t n, bool micro, terr **err)
{
	static const int wt[4] = {-1, PB_WT_VARINT, PB_WT_VARINT, -1};
	small_msg m;
	/* k8s: an empty Timestamp message is the zero time, which metav1.Time prints as null. */
	if (n == 0)
		return json_null();
	if (read_small(p, n, "Timestamp", wt, &m, err) < 0)
		return NULL;
	int64_t sec = (int64_t)m.v[1];
	/* k8s: metav1.Time drops nanoseconds when decoding; MicroTime keeps microseconds. */
	int64_t ns = micro ? (int64_t)(int32_t)(uint32_t)m.v[2] : 0;
	ns -= ns % 1000;
	if (sec < PB_TIME_MIN_SEC - 3 || sec > PB_TIME_MAX_SEC + 3) {
		terr_bad_request(err, "invalid protobuf: time %lld is out of range", (long long)sec);
		return NULL;
	}
	sec += ns / 1000000000;
	ns %= 1000000000;
	if (ns < 0) {
		ns += 1000000000;
		sec--;
	}
	if (sec == PB_TIME_MIN_SEC && ns == 0)
		return json_null(); /* Go's zero time: IsZero, printed as null */
	char out[40];
	if (pb_time_format(sec, (int32_t)ns, micro, out) < 0) {
		terr_bad_request(err, "invalid protobuf: time %lld is out of range", (long long)sec);
		return NULL;
	}
	return json_string(out);
}

static json_t *dec_int_or_string(const uint8_t *p, size_t n, terr **err)
{
	static const int wt[4] = {-1, PB_WT_VARINT, PB_WT_VARINT, PB_WT_LEN};
	small_msg m;
	if (read_small(p, n, "IntOrString", wt, &m, err) < 0)
		return NULL;
	/* k8s: IntOrString type 0 is Int (intVal), 1 is String (strVal). */
	if (m.v[1] == 0)
		return json_integer((int32_t)(uint32_t)m.v[2]);
	if (m.v[1] == 1)
		return pb_json_string(m.s[3], m.sn[3]);
	terr_bad_request(err, "invalid protobuf: IntOrString has unknown type %llu",
	                 (unsigned long long)m.v[1]);
	return NULL;
}

static json_t *dec_special(uint8_t kind, const uint8_t *p, size_t n, terr **err)
{
	static const int wt_str[4] = {-1, PB_WT_LEN, -1, -1};
	static const int wt_int[4] = {-1, PB_WT_VARINT, -1, -1};
	small_msg m;
	switch (kind) {
	case SCHEMA_QUANTITY:
		if (read_small(p, n, "Quantity", wt_str, &m, err) < 0)
			return NULL;
		if (!m.has[1])
			return json_string("0"); /* the zero Quantity */
		if (m.sn[1] == 0) {
			terr_bad_request(err, "invalid protobuf: empty quantity");
			return NULL;
		}
		return pb_json_string(m.s[1], m.sn[1]);
	case SCHEMA_TIME:
	case SCHEMA_MICROTIME:
		return dec_time(p, n, kind == SCHEMA_MICROTIME, err);
	case SCHEMA_DURATION: {
		char out[40];
		if (read_small(p, n, "Duration", wt_int, &m, err) < 0)
			return NULL;
		pb_duration_format((int64_t)m.v[1], out);
		return json_string(out);
	}
	case SCHEMA_INT_OR_STRING:
		return dec_int_or_string(p, n, err);
	case SCHEMA_RAW: {
		if (read_small(p, n, "RawExtension", wt_str, &m, err) < 0)
			return NULL;
		if (!m.sn[1])
			return json_null(); /* nil Raw marshals as null */
		json_error_t jerr;
		json_t *v = json_loadb((const char *)m.s[1], m.sn[1], JSON_DECODE_ANY, &jerr);
		if (!v)
			terr_bad_request(err, "invalid protobuf: embedded JSON is invalid: %s", jerr.text);
		return v;
	}
	default:
		terr_bad_request(err, "invalid protobuf: unsupported value kind %d", kind);
		return NULL;
	}
}

/* Decodes one value of kind from a wire field whose type was already checked. */
static json_t *dec_value(uint8_t kind, const schema_type *type, const pb_wfield *wf, int depth,
                         terr **err)
{
	switch (kind) {
	case SCHEMA_STRING:
		return pb_json_string(wf->data, wf->len);
	case SCHEMA_BOOL:
		return json_boolean(wf->v != 0);
	case SCHEMA_INT32:
		return json_integer((int32_t)(uint32_t)wf->v);
	case SCHEMA_INT64:
		return json_integer((json_int_t)(int64_t)wf->v);
	case SCHEMA_DOUBLE: {
		double d;
		memcpy(&d, &wf->v, sizeof d);
		if (!isfinite(d)) {
			terr_bad_request(err, "invalid protobuf: number is not finite");
			return NULL;
		}
		return go_number(d);
	}
	case SCHEMA_BYTES: {
		_cleanup_free_ char *s = base64_encode(wf->data, wf->len);
		return json_string_nocheck(s);
	}
	case SCHEMA_OBJECT: {
		if (!type) {
			terr_internal(err, "schema: object field without a type");
			return NULL;
		}
		json_t *o = json_object();
		if (dec_fields(wf->data, wf->len, type, depth + 1, o, err) < 0) {
			json_decref(o);
			return NULL;
		}
		return o;
	}
	case SCHEMA_ARRAY: {
		/* A map value that is a list travels as a message {repeated string items = 1}
		 * (k8s: authentication/v1 ExtraValue). */
		pb_iter it;
		pb_wfield ef;
		int r;
		json_t *a = json_array();
		pb_iter_init(&it, wf->data, wf->len, "list value");
		while ((r = pb_iter_next(&it, &ef, err)) > 0) {
			if (ef.num != 1 || ef.wt == PB_WT_SGROUP)
				continue;
			if (ef.wt != PB_WT_LEN) {
				r = terr_bad_request(err, "invalid protobuf: list value: wrong wire type");
				break;
			}
			json_array_append_new(a, pb_json_string(ef.data, ef.len));
		}
		if (r < 0) {
			json_decref(a);
			return NULL;
		}
		return a;
	}
	default:
		return dec_special(kind, wf->data, wf->len, err);
	}
}

/* Go's zero value of a non-pointer field of kind, as encoding/json prints it. */
static json_t *dec_zero(uint8_t kind, const schema_type *type, int depth, terr **err)
{
	static const pb_wfield empty = {0};
	switch (kind) {
	case SCHEMA_STRING:
		return json_string("");
	case SCHEMA_BOOL:
		return json_false();
	case SCHEMA_INT32:
	case SCHEMA_INT64:
		return json_integer(0);
	case SCHEMA_DOUBLE:
		return json_integer(0);
	case SCHEMA_BYTES:
	case SCHEMA_ARRAY:
	case SCHEMA_MAP:
		return json_null(); /* nil slice or map */
	default:
		return dec_value(kind, type, &empty, depth, err);
	}
}

/* Go's encoding/json omitempty test for a value that was decoded (never true for structs). */
static bool go_empty(uint8_t kind, json_t *v)
{
	switch (kind) {
	case SCHEMA_STRING:
	case SCHEMA_BYTES:
		return json_string_length(v) == 0;
	case SCHEMA_BOOL:
		return json_is_false(v);
	case SCHEMA_INT32:
	case SCHEMA_INT64:
		return json_integer_value(v) == 0;
	case SCHEMA_DOUBLE:
		return json_number_value(v) == 0;
	case SCHEMA_ARRAY:
		return json_array_size(v) == 0;
	case SCHEMA_MAP:
		return json_object_size(v) == 0;
	default:
		return false;
	}
}

static bool is_scalar(uint8_t kind)
{
	return kind == SCHEMA_STRING || kind == SCHEMA_BOOL || kind == SCHEMA_INT32 ||
	       kind == SCHEMA_INT64 || kind == SCHEMA_DOUBLE;
}

static int cmp_keys(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Go's encoding/json prints map keys sorted; returns a new object with sorted keys. */
static json_t *sorted_object(json_t *o)
{
	size_t n = json_object_size(o), i = 0;
	if (n < 2)
		return json_incref(o);
	const char **keys = xmalloc(n * sizeof *keys);
	const char *k;
	json_t *v;
	json_object_foreach(o, k, v) keys[i++] = k;
	qsort(keys, n, sizeof *keys, cmp_keys);
	json_t *s = json_object();
	for (i = 0; i < n; i++)
		json_object_set(s, keys[i], json_object_get(o, keys[i]));
	free(keys);
	return s;
}

static int dec_map_entry(const pb_wfield *wf, const schema_field *f, const char *tname,
                         int depth, json_t *map, terr **err)
{
	pb_iter it;
	pb_wfield ef;
	int r;
	const uint8_t *key = NULL;
	size_t keyn = 0;
	json_t *val = NULL;
	pb_iter_init(&it, wf->data, wf->len, tname);
	while ((r = pb_iter_next(&it, &ef, err)) > 0) {
		if (ef.wt == PB_WT_SGROUP || (ef.num != 1 && ef.num != 2))
			continue;
		if (ef.num == 1) {
			if (ef.wt != PB_WT_LEN) {
				r = bad_field(err, tname, f, "map key: wrong wire type");
				break;
			}
			key = ef.data;
			keyn = ef.len;
			continue;
		}
		if (ef.wt != want_wire(f->elem)) {
			r = bad_field(err, tname, f, "map value: wrong wire type");
			break;
		}
		json_decref(val);
		val = dec_value(f->elem, f->type, &ef, depth, err);
		if (!val) {
			r = -1;
			break;
		}
	}
	if (r >= 0 && key && memchr(key, 0, keyn))
		r = bad_field(err, tname, f, "map key contains a NUL byte");
	if (r >= 0 && !val) {
		/* A missing value is the zero value (go-protobuf starts []byte values empty). */
		val = f->elem == SCHEMA_BYTES ? json_string("") : dec_zero(f->elem, f->type, depth, err);
		if (!val)
			r = -1;
	}
	if (r < 0) {
		json_decref(val);
		return -1;
	}
	json_t *k = pb_json_string(key, keyn);
	json_object_setn_new_nocheck(map, json_string_value(k), json_string_length(k), val);
	json_decref(k);
	return 0;
}

/* What was read for one schema field while scanning a message. */
typedef struct slot {
	json_t *val;        /* last scalar value, or the array / map being filled */
	const uint8_t *msg; /* singular message payload, borrowed from the input */
	size_t msgn;
	buf merged; /* k8s/proto: a message field seen twice is the merge (concatenation) */
	bool seen;
} slot;

static int scan_field(const pb_wfield *wf, const schema_field *f, slot *s, const char *tname,
                      int depth, terr **err)
{
	if (f->kind == SCHEMA_ARRAY) {
		if (!s->val)
			s->val = json_array();
		int ew = want_wire(f->elem);
		if (wf->wt == ew) {
			json_t *v = dec_value(f->elem, f->type, wf, depth, err);
			if (!v)
				return -1;
			json_array_append_new(s->val, v);
			return 0;
		}
		if (wf->wt != PB_WT_LEN || (ew != PB_WT_VARINT && ew != PB_WT_I64))
			return bad_field(err, tname, f, "wrong wire type");
		/* A packed repeated scalar: values back to back in one length-delimited field. */
		const uint8_t *p = wf->data, *end = wf->data + wf->len;
		while (p < end) {
			pb_wfield ef = {.num = wf->num, .wt = ew};
			if (ew == PB_WT_VARINT) {
				if (pb_read_varint(&p, end, &ef.v) < 0)
					return bad_field(err, tname, f, "truncated packed varint");
			} else {
				if (end - p < 8)
					return bad_field(err, tname, f, "truncated packed fixed64");
				for (int i = 0; i < 8; i++)
					ef.v |= (uint64_t)p[i] << (8 * i);
				p += 8;
			}
			json_t *v = dec_value(f->elem, f->type, &ef, depth, err);
			if (!v)
				return -1;
			json_array_append_new(s->val, v);
		}
		return 0;
	}
	if (f->kind == SCHEMA_MAP) {
		if (wf->wt != PB_WT_LEN)
			return bad_field(err, tname, f, "wrong wire type");
		if (!s->val)
			s->val = json_object();
		return dec_map_entry(wf, f, tname, depth, s->val, err);
	}
	if (wf->wt != want_wire(f->kind))
		return bad_field(err, tname, f, "wrong wire type");
	if (f->kind == SCHEMA_OBJECT) {
		if (s->seen) {
			if (!s->merged.n)
				buf_add(&s->merged, s->msg, s->msgn);
			buf_add(&s->merged, wf->data, wf->len);
		} else {
			s->msg = wf->data;
			s->msgn = wf->len;
		}
		s->seen = true;
		return 0;
	}
	json_t *v = dec_value(f->kind, f->type, wf, depth, err);
	if (!v)
		return -1;
	json_decref(s->val);
	s->val = v;
	s->seen = true;
	return 0;
}

/* Puts field f into out as Go would print it, given what the scan found. */
static int emit_field(const schema_field *f, slot *s, int depth, json_t *out, terr **err)
{
	bool ptr = f->flags & SCHEMA_F_POINTER, omit = f->flags & SCHEMA_F_OMITEMPTY;
	json_t *v = NULL;
	if (f->kind == SCHEMA_OBJECT) {
		const uint8_t *p = s->merged.n ? (const uint8_t *)s->merged.p : s->msg;
		size_t n = s->merged.n ? s->merged.n : s->msgn;
		if (f->flags & SCHEMA_F_INLINE) /* the sub-message's fields join the parent */
			return dec_fields(p, n, f->type, depth + 1, out, err);
		if (!s->seen && ptr) {
			if (!omit)
				json_object_set_new(out, f->json, json_null());
			return 0;
		}
		v = json_object();
		if (dec_fields(p, n, f->type, depth + 1, v, err) < 0) {
			json_decref(v);
			return -1;
		}
		json_object_set_new(out, f->json, v);
		return 0;
	}
	if (f->kind == SCHEMA_ARRAY || f->kind == SCHEMA_MAP) {
		/* go-protobuf leaves a repeated field it never saw nil. */
		if (!s->val || go_empty(f->kind, s->val)) {
			if (!omit)
				json_object_set_new(out, f->json, json_null());
			return 0;
		}
		v = f->kind == SCHEMA_MAP ? sorted_object(s->val) : json_incref(s->val);
		json_object_set_new(out, f->json, v);
		return 0;
	}
	if (!s->seen) {
		if (ptr || f->kind == SCHEMA_BYTES) { /* nil pointer or nil []byte */
			if (!omit)
				json_object_set_new(out, f->json, json_null());
			return 0;
		}
		if (omit && is_scalar(f->kind))
			return 0; /* zero scalar under omitempty */
		if (!(v = dec_zero(f->kind, f->type, depth, err)))
			return -1;
		json_object_set_new(out, f->json, v);
		return 0;
	}
	/* k8s: omitempty drops false, 0 and "" of non-pointer fields; pointers always print. */
	if (!ptr && omit && go_empty(f->kind, s->val))
		return 0;
	json_object_set(out, f->json, s->val);
	return 0;
}

static int dec_fields(const uint8_t *p, size_t n, const schema_type *t, int depth, json_t *out,
                      terr **err)
{
	if (depth > PB_MAX_DEPTH)
		return terr_bad_request(err, "invalid protobuf in %s: messages nested deeper than %d",
		                        t->name, PB_MAX_DEPTH);
	slot *slots = xcalloc(t->nfields ? t->nfields : 1, sizeof *slots);
	pb_iter it;
	pb_wfield wf;
	int r;
	pb_iter_init(&it, p, n, t->name);
	while ((r = pb_iter_next(&it, &wf, err)) > 0) {
		if (wf.wt == PB_WT_SGROUP)
			continue; /* groups are never used by Kubernetes types: skipped */
		size_t i = 0;
		while (i < t->nfields && t->fields[i].proto != wf.num)
			i++;
		if (i == t->nfields || t->fields[i].kind == SCHEMA_ANY)
			continue; /* unknown field: skipped */
		if (scan_field(&wf, &t->fields[i], &slots[i], t->name, depth, err) < 0) {
			r = -1;
			break;
		}
	}
	for (size_t i = 0; r >= 0 && i < t->nfields; i++) {
		const schema_field *f = &t->fields[i];
		if (f->proto && f->kind != SCHEMA_ANY && emit_field(f, &slots[i], depth, out, err) < 0)
			r = -1;
	}
	for (size_t i = 0; i < t->nfields; i++) {
		json_decref(slots[i].val);
		buf_free(&slots[i].merged);
	}
	free(slots);
	return r < 0 ? -1 : 0;
}

json_t *pb_decode_message(const uint8_t *data, size_t n, const schema_type *t, terr **err)
{
	json_t *o = json_object();
	if (dec_fields(n ? data : NULL, n, t, 0, o, err) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int pb_decode_fields(const uint8_t *data, size_t n, const schema_type *t, json_t *out, terr **err)
{
	return dec_fields(n ? data : NULL, n, t, 0, out, err);
}
