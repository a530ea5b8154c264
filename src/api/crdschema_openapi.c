/* crdschema_openapi.c — the OpenAPI schema validator kube-apiserver runs on custom
 * resources (kube-openapi's validate package with apiextensions' error conversion), with
 * its order of checks per node (type, allOf/anyOf/oneOf/not, string, format, number,
 * array, enum, object), its match counting (anyOf/oneOf report the errors of the branch
 * that passed most checks), its messages and its ratcheting of unchanged values.
 *
 * Not for: x-kubernetes-* invariants (list types, embedded resources: crdschema.c),
 * defaulting or pruning (crdschema_prune.c), CEL rules (not evaluated).
 */
#include <stdlib.h>
#include <string.h>

#include "api/crdschema-internal.h"
#include "base/util.h"

typedef struct octx {
	const char *base; /* field path prefix, or NULL */
	long budget;      /* nodes left to visit: bounds nested anyOf blowups */
} octx;

static void node(octx *c, const json_t *s, const json_t *v, const json_t *old, const char *path,
                 cs_errs *out);

/* ---- results ------------------------------------------------------------------------ */

void cs_errs_free(cs_errs *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->e[i].key);
		free(r->e[i].field);
		free(r->e[i].body);
	}
	free(r->e);
	free(r->slots);
	*r = (cs_errs){0};
}

static size_t hash(const char *s)
{
	size_t h = 1469598103934665603u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211u;
	return h;
}

/* The slot of key in r's index: the one holding it, or the empty one where it goes. */
static size_t *slot(cs_errs *r, const char *key)
{
	size_t i = hash(key) & (r->nslots - 1);
	while (r->slots[i] && strcmp(r->e[r->slots[i] - 1].key, key) != 0)
		i = (i + 1) & (r->nslots - 1);
	return &r->slots[i];
}

void cs_errs_add(cs_errs *r, char *key, const char *cause, char *field, char *body)
{
	if (2 * (r->n + 1) > r->nslots) { /* grow the index, keeping it at most half full */
		free(r->slots);
		r->nslots = r->nslots ? r->nslots * 2 : 16;
		r->slots = xcalloc(r->nslots, sizeof *r->slots);
		for (size_t i = 0; i < r->n; i++)
			*slot(r, r->e[i].key) = i + 1;
	}
	size_t *s = slot(r, key);
	if (*s) { /* k8s: an error already reported with the same message is dropped */
		free(key);
		free(field);
		free(body);
		return;
	}
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 8;
		r->e = xrealloc(r->e, r->cap * sizeof *r->e);
	}
	r->e[r->n++] = (cs_err){key, cause, field, body};
	*s = r->n;
}

/* Moves src's errors and match count into dst (kube-openapi's Result.Merge). */
static void merge(cs_errs *dst, cs_errs *src)
{
	if (dst->n == 0) { /* src has no duplicates of its own: take it whole */
		long m = dst->match + src->match;
		free(dst->e);
		free(dst->slots);
		*dst = *src;
		dst->match = m;
		*src = (cs_errs){0};
		return;
	}
	for (size_t i = 0; i < src->n; i++)
		cs_errs_add(dst, src->e[i].key, src->e[i].cause, src->e[i].field, src->e[i].body);
	dst->match += src->match;
	free(src->e);
	free(src->slots);
	*src = (cs_errs){0};
}

/* k8s: the field of a converted error is the error's name without its leading dot, under
 * the base path; errors without a name sit at the base ("<nil>" when there is none). */
static char *field_of(octx *c, const char *name)
{
	if (name && *name && strcmp(name, ".") != 0) {
		const char *t = name[0] == '.' ? name + 1 : name;
		return c->base ? xasprintf("%s.%s", c->base, t) : xstrdup(t);
	}
	return xstrdup(c->base ? c->base : "<nil>");
}

/* Adds an error at name: body = "<label>[: <value>]: <msg>", key = msg (taken). */
static void add(octx *c, cs_errs *r, const char *name, const char *cause, const char *label,
                const char *value, char *msg)
{
	char *body = value ? xasprintf("%s: %s: %s", label, value, msg) : xasprintf("%s: %s", label, msg);
	cs_errs_add(r, msg, cause, field_of(c, name), body);
}

/* k8s: InvalidType: "<path> in body must be of type <t>: <quoted value>", reported as
 * TypeInvalid with the quoted value (a type name, "null", or the string itself). */
static void type_error(octx *c, cs_errs *r, const char *path, const char *type, const char *val,
                       size_t vlen)
{
	_cleanup_buf_ buf q = {0};
	cs_quote(&q, val, vlen);
	add(c, r, path, "FieldValueTypeInvalid", "Invalid value", q.p,
	    xasprintf("%s in body must be of type %s: %s", path, type, q.p));
}

static void invalid(octx *c, cs_errs *r, const char *path, const char *value, char *msg)
{
	add(c, r, path, "FieldValueInvalid", "Invalid value", value, msg);
}

/* A composite error (anyOf, oneOf, allOf, not): no name, so it sits at the base path. */
static void composite(octx *c, cs_errs *r, const char *path, const char *fmt, const char *extra)
{
	_cleanup_buf_ buf q = {0};
	cs_quote(&q, path, strlen(path));
	char *msg = xasprintf(fmt, q.p, extra);
	add(c, r, NULL, "FieldValueInvalid", "Invalid value", "\"\"", msg);
}

/* ---- schema accessors --------------------------------------------------------------- */

static bool num(const json_t *s, const char *key, double *out)
{
	json_t *j = json_object_get(s, key);
	if (!json_is_number(j))
		return false;
	*out = json_number_value(j);
	return true;
}

static bool count(const json_t *s, const char *key, long long *out)
{
	json_t *j = json_object_get(s, key);
	if (json_is_integer(j))
		*out = (long long)json_integer_value(j);
	else if (json_is_real(j))
		*out = (long long)cs_f2i(json_real_value(j));
	else
		return false;
	return true;
}

/* The schema's types; x-kubernetes-int-or-string means "integer,string". */
static size_t types_of(const json_t *s, const char *t[8])
{
	if (cs_flag(s, "x-kubernetes-int-or-string")) {
		t[0] = "integer", t[1] = "string";
		return 2;
	}
	json_t *j = json_object_get(s, "type");
	if (json_is_string(j) && *json_string_value(j)) {
		t[0] = json_string_value(j);
		return 1;
	}
	size_t n = 0, i;
	json_t *x;
	json_array_foreach(json_is_array(j) ? j : NULL, i, x) if (json_is_string(x) && n < 8)
		t[n++] = json_string_value(x);
	return n;
}

static bool has(const char *const *t, size_t n, const char *type)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i], type) == 0)
			return true;
	return false;
}

/* ---- per-node validators (each fills a fresh result) -------------------------------- */

static void v_type(octx *c, const json_t *s, const json_t *v, const char *path, cs_errs *r)
{
	const char *t[8];
	size_t nt = types_of(s, t);
	_cleanup_buf_ buf joined = {0};
	for (size_t i = 0; i < nt; i++) {
		if (i)
			buf_putc(&joined, ',');
		buf_puts(&joined, t[i]);
	}
	r->match = 1;
	if (json_is_null(v)) {
		if (nt && !has(t, nt, "null") && !cs_flag(s, "nullable")) {
			type_error(c, r, path, joined.p, "null", 4);
			r->match = 0;
		}
		return;
	}
	const char *st = "object", *sf = "";
	switch (json_typeof(v)) {
	case JSON_STRING: st = "string"; break;
	case JSON_INTEGER: st = "integer", sf = "int64"; break;
	case JSON_REAL: st = "number", sf = "float64"; break;
	case JSON_TRUE:
	case JSON_FALSE: st = "boolean"; break;
	case JSON_ARRAY: st = "array"; break;
	default: break;
	}
	const char *format = cs_format(s);
	bool float_int = json_is_real(v) && cs_float_is_int(json_real_value(v)) && has(t, nt, "integer");
	bool int_float = json_is_integer(v) && has(t, nt, "number");
	bool str_or_arr = json_is_string(v) || json_is_array(v);
	if (!str_or_arr && format && !(has(t, nt, st) || strcmp(sf, format) == 0 || float_int || int_float)) {
		type_error(c, r, path, format, sf, strlen(sf));
		r->match = 0;
		return;
	}
	if (!has(t, nt, "number") && !has(t, nt, "integer") && format && str_or_arr)
		return;
	if (!(has(t, nt, st) || float_int || int_float)) {
		type_error(c, r, path, nt ? joined.p : "", st, strlen(st));
		r->match = 0;
	}
}

static void v_props(octx *c, const json_t *s, const json_t *v, const json_t *old,
                    const char *path, cs_errs *r)
{
	json_t *any = json_object_get(s, "anyOf"), *one = json_object_get(s, "oneOf");
	json_t *all = json_object_get(s, "allOf"), *not = json_object_get(s, "not");
	size_t i;
	json_t *sub;
	if (json_array_size(any)) {
		cs_errs best = {0};
		bool have_best = false, ok = false;
		json_array_foreach(any, i, sub) {
			cs_errs t = {0};
			node(c, sub, v, old, path, &t);
			if (t.n == 0) {
				cs_errs_free(&best);
				best = t; /* the first success */
				have_best = ok = true;
				break;
			}
			if (!have_best || t.match > best.match) {
				cs_errs_free(&best);
				best = t;
				have_best = true;
			} else {
				cs_errs_free(&t);
			}
		}
		if (!ok)
			composite(c, r, path, "%s must validate at least one schema (anyOf)%s", "");
		merge(r, &best);
	}
	if (json_array_size(one)) {
		cs_errs best = {0}, first = {0};
		bool have_best = false, have_first = false;
		size_t valid = 0;
		json_array_foreach(one, i, sub) {
			cs_errs t = {0};
			node(c, sub, v, old, path, &t);
			if (t.n == 0) {
				valid++;
				cs_errs_free(&best);
				have_best = false;
				if (!have_first) {
					first = t;
					have_first = true;
				} else {
					cs_errs_free(&t);
				}
			} else if (valid == 0 && (!have_best || t.match > best.match)) {
				cs_errs_free(&best);
				best = t;
				have_best = true;
			} else {
				cs_errs_free(&t);
			}
		}
		if (valid != 1) {
			char extra[64] = "Found none valid";
			if (valid)
				snprintf(extra, sizeof extra, "Found %zu valid alternatives", valid);
			composite(c, r, path, "%s must validate one and only one schema (oneOf). %s", extra);
			merge(r, &best);
			cs_errs_free(&first);
		} else {
			merge(r, &first);
			cs_errs_free(&best);
		}
	}
	if (json_array_size(all)) {
		size_t valid = 0;
		json_array_foreach(all, i, sub) {
			cs_errs t = {0};
			node(c, sub, v, old, path, &t);
			valid += t.n == 0;
			merge(r, &t);
		}
		if (valid != json_array_size(all))
			composite(c, r, path, "%s must validate all the schemas (allOf)%s",
			          valid ? "" : ". None validated");
	}
	if (json_is_object(not)) {
		cs_errs t = {0};
		node(c, not, v, old, path, &t);
		if (t.n == 0)
			composite(c, r, path, "%s must not validate the schema (not)%s", "");
		cs_errs_free(&t);
	}
	r->match++;
}

/* Runes in s (invalid bytes count one each, as utf8.RuneCount). */
static long long runes(const char *s, size_t n)
{
	long long k = 0;
	for (size_t i = 0; i < n; i++)
		k += ((unsigned char)s[i] & 0xc0) != 0x80;
	return k;
}

static void v_string(octx *c, const json_t *s, const json_t *v, const char *path, cs_errs *r)
{
	const char *str = json_string_value(v);
	size_t n = json_string_length(v);
	long long lim, len = runes(str, n);
	_cleanup_buf_ buf q = {0};
	cs_quote(&q, str, n);
	if (count(s, "maxLength", &lim) && len > lim) {
		/* k8s: TooLong, without the value */
		char *msg = xasprintf("%s in body should be at most %lld chars long", path, lim);
		cs_errs_add(r, msg, "FieldValueTooLong", field_of(c, path),
		            xasprintf("Too long: may not be more than %lld bytes", lim));
		return;
	}
	if (count(s, "minLength", &lim) && len < lim) {
		invalid(c, r, path, q.p, xasprintf("%s in body should be at least %lld chars long", path, lim));
		return;
	}
	const char *pat = json_string_value(json_object_get(s, "pattern"));
	if (pat && *pat && cs_pattern(pat, str, n) == 0)
		invalid(c, r, path, q.p, xasprintf("%s in body should match '%s'", path, pat));
}

static void v_format(octx *c, const char *format, const json_t *v, const char *path, cs_errs *r)
{
	if (!cs_format_ok(format, json_string_value(v), json_string_length(v)))
		type_error(c, r, path, format, json_string_value(v), json_string_length(v));
}

/* Prints an int64 or a float64 (kube keeps the value's own Go type in messages). */
static void put_num(buf *b, bool is_int, int64_t i, double d)
{
	if (is_int)
		buf_printf(b, "%lld", (long long)i);
	else
		cs_float(b, d);
}

static void v_number(octx *c, const json_t *s, const json_t *v, const char *path, cs_errs *r)
{
	bool is_int = json_is_integer(v);
	int64_t iv = is_int ? (int64_t)json_integer_value(v) : 0;
	double dv = json_number_value(v), lim;
	_cleanup_buf_ buf val = {0};
	put_num(&val, is_int, iv, dv);
	if (num(s, "multipleOf", &lim)) {
		_cleanup_buf_ buf f = {0};
		int64_t fi = cs_f2i(lim);
		put_num(&f, is_int, fi, lim);
		bool bad_factor = is_int ? fi <= 0 : lim <= 0;
		if (bad_factor) {
			invalid(c, r, path, f.p,
			        xasprintf("factor MultipleOf declared for %s must be positive: %s", path, f.p));
		} else {
			bool multiple = is_int ? iv % fi == 0
			                       : cs_float_is_int(lim < 1 ? 1 / lim * dv : dv / lim);
			if (!multiple)
				invalid(c, r, path, val.p, xasprintf("%s in body should be a multiple of %s", path, f.p));
		}
	}
	static const struct {
		const char *key, *excl, *op_incl, *op_excl;
		int sign;
	} bounds[] = {
		{"minimum", "exclusiveMinimum", "greater than or equal to", "greater than", -1},
		{"maximum", "exclusiveMaximum", "less than or equal to", "less than", 1},
	};
	for (size_t k = 0; k < ARRAY_SIZE(bounds); k++) {
		if (!num(s, bounds[k].key, &lim))
			continue;
		bool excl = cs_flag(s, bounds[k].excl), bad;
		int64_t li = cs_f2i(lim);
		if (is_int) /* k8s: integers compare with the bound truncated to int64 */
			bad = bounds[k].sign > 0 ? (excl ? iv >= li : iv > li) : (excl ? iv <= li : iv < li);
		else
			bad = bounds[k].sign > 0 ? (excl ? dv >= lim : dv > lim) : (excl ? dv <= lim : dv < lim);
		if (!bad)
			continue;
		_cleanup_buf_ buf b = {0};
		put_num(&b, is_int, li, lim);
		invalid(c, r, path, val.p,
		        xasprintf("%s in body should be %s %s", path,
		                  excl ? bounds[k].op_excl : bounds[k].op_incl, b.p));
	}
	r->match = 1;
}

/* An old list item and the encoding of its list-map key fields. */
typedef struct okey {
	char *id;
	size_t idx;
} okey;

static char *map_key_id(const json_t *e, const json_t *names)
{
	json_t *k = json_object(), *name;
	size_t i;
	json_array_foreach(names, i, name) {
		const char *kn = json_string_value(name);
		json_t *x = kn ? json_object_get(e, kn) : NULL;
		if (x)
			json_object_set(k, kn, x);
	}
	_cleanup_buf_ buf b = {0};
	cs_gojson(&b, k);
	json_decref(k);
	return buf_take(&b);
}

static int cmp_okey(const void *a, const void *b)
{
	const okey *x = a, *y = b;
	int c = strcmp(x->id, y->id);
	return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

static void v_array(octx *c, const json_t *s, const json_t *v, const json_t *old,
                    const char *path, cs_errs *r)
{
	size_t n = json_array_size(v), i, nold = 0;
	json_t *items = json_object_get(s, "items"), *e;
	const char *lt = json_string_value(json_object_get(s, "x-kubernetes-list-type"));
	json_t *names = json_object_get(s, "x-kubernetes-list-map-keys");
	/* k8s: ratcheting correlates array items only in list-type=map lists, by their keys */
	okey *index = NULL;
	if (json_is_array(old) && str_eq(lt, "map") && json_is_object(items)) {
		index = xcalloc(json_array_size(old) + 1, sizeof *index);
		json_array_foreach(old, i, e) if (json_is_object(e))
			index[nold++] = (okey){map_key_id(e, names), i};
		if (nold)
			qsort(index, nold, sizeof *index, cmp_okey);
	}
	json_array_foreach(v, i, e) {
		const json_t *sub = json_is_object(items) ? items : json_array_get(items, i);
		if (!json_is_object(sub))
			continue;
		const json_t *o = NULL;
		if (nold && json_is_object(e)) {
			okey want = {map_key_id(e, names), 0};
			okey *hit = NULL;
			size_t lo = 0, hi = nold;
			while (lo < hi) { /* the first old item with this key */
				size_t mid = lo + (hi - lo) / 2;
				if (strcmp(index[mid].id, want.id) < 0)
					lo = mid + 1;
				else
					hi = mid;
			}
			if (lo < nold && strcmp(index[lo].id, want.id) == 0)
				hit = &index[lo];
			o = hit ? json_array_get(old, hit->idx) : NULL;
			free(want.id);
		}
		_cleanup_free_ char *p = xasprintf("%s[%zu]", path, i);
		cs_errs t = {0};
		node(c, sub, e, o, p, &t);
		merge(r, &t);
	}
	for (i = 0; i < nold; i++)
		free(index[i].id);
	free(index);
	long long lim;
	if (count(s, "minItems", &lim) && (long long)n < lim) {
		char num_s[32];
		snprintf(num_s, sizeof num_s, "%zu", n);
		invalid(c, r, path, num_s, xasprintf("%s in body should have at least %lld items", path, lim));
	}
	if (count(s, "maxItems", &lim) && (long long)n > lim)
		cs_errs_add(r, xasprintf("%s in body should have at most %lld items", path, lim),
		            "FieldValueTooMany", field_of(c, path),
		            xasprintf("Too many: %zu: must have at most %lld items", n, lim));
	if (cs_flag(s, "uniqueItems")) {
		bool dup = false;
		for (size_t a = 0; a < n && !dup; a++)
			for (size_t b = 0; b < a && !dup; b++)
				dup = json_equal(json_array_get(v, a), json_array_get(v, b));
		if (dup)
			invalid(c, r, path, "\"\"", xasprintf("%s in body shouldn't contain duplicates", path));
	}
	r->match++;
}

/* Go's reflect Convert-then-DeepEqual of a decoded value against an enum member. */
static bool enum_eq(const json_t *v, const json_t *e)
{
	if (json_is_null(e) || json_is_null(v))
		return false;
	if (json_is_integer(v) && json_is_real(e))
		return (double)json_integer_value(v) == json_real_value(e);
	if (json_is_real(v) && json_is_integer(e))
		return cs_f2i(json_real_value(v)) == json_integer_value(e);
	if (json_is_integer(v) && json_is_string(e)) { /* Go: string(rune(i)) */
		json_int_t i = json_integer_value(v);
		unsigned long cp = (i < 0 || i > 0x10ffff || (i >= 0xd800 && i <= 0xdfff)) ? 0xfffd : (unsigned long)i;
		char u[5] = {0};
		if (cp < 0x80)
			u[0] = (char)cp;
		else if (cp < 0x800)
			u[0] = (char)(0xc0 | (cp >> 6)), u[1] = (char)(0x80 | (cp & 0x3f));
		else if (cp < 0x10000)
			u[0] = (char)(0xe0 | (cp >> 12)), u[1] = (char)(0x80 | ((cp >> 6) & 0x3f)),
			u[2] = (char)(0x80 | (cp & 0x3f));
		else
			u[0] = (char)(0xf0 | (cp >> 18)), u[1] = (char)(0x80 | ((cp >> 12) & 0x3f)),
			u[2] = (char)(0x80 | ((cp >> 6) & 0x3f)), u[3] = (char)(0x80 | (cp & 0x3f));
		size_t ul = cp ? strlen(u) : 1;
		return json_string_length(e) == ul && memcmp(json_string_value(e), u, ul) == 0;
	}
	if (json_is_boolean(v) && json_is_boolean(e))
		return json_typeof(v) == json_typeof(e);
	return json_typeof(v) == json_typeof(e) && json_equal(v, e);
}

static void v_enum(octx *c, const json_t *s, const json_t *v, const char *path, cs_errs *r)
{
	json_t *en = json_object_get(s, "enum"), *e;
	size_t i;
	if (!json_array_size(en))
		return;
	json_array_foreach(en, i, e) if (enum_eq(v, e)) return;
	/* k8s: NotSupported with the enum members: strings as they are, others as JSON */
	_cleanup_buf_ buf val = {0}, sup = {0}, key = {0};
	cs_value(&val, v);
	json_array_foreach(en, i, e) {
		_cleanup_buf_ buf m = {0};
		if (json_is_string(e))
			buf_add(&m, json_string_value(e), json_string_length(e));
		else
			cs_gojson(&m, e);
		buf_puts(&sup, i ? ", " : "supported values: ");
		cs_quote(&sup, m.p ? m.p : "", m.n);
	}
	_cleanup_free_ char *dump = json_dumps(en, JSON_COMPACT | JSON_ENCODE_ANY);
	buf_printf(&key, "%s in body should be one of %s", path, dump ? dump : "[]");
	cs_errs_add(r, buf_take(&key), "FieldValueNotSupported", field_of(c, path),
	            xasprintf("Unsupported value: %s: %s", val.p, sup.p));
}

/* The stored value correlated with member key of v, for ratcheting (NULL: none). */
static const json_t *old_member(const json_t *old, const char *path, const char *key)
{
	if (!json_is_object(old))
		return NULL;
	if (!*path && (strcmp(key, "kind") == 0 || strcmp(key, "apiVersion") == 0))
		return NULL; /* k8s: type meta at the root is never ratcheted */
	return json_object_get(old, key);
}

static void v_object(octx *c, const json_t *s, const json_t *v, const json_t *old,
                     const char *path, cs_errs *r)
{
	size_t n = json_object_size(v);
	long long lim;
	if (count(s, "minProperties", &lim) && (long long)n < lim) {
		char num_s[32];
		snprintf(num_s, sizeof num_s, "%zu", n);
		invalid(c, r, path, num_s, xasprintf("%s in body should have at least %lld properties", path, lim));
	}
	if (count(s, "maxProperties", &lim) && (long long)n > lim)
		cs_errs_add(r, xasprintf("%s in body should have at most %lld properties", path, lim),
		            "FieldValueTooMany", field_of(c, path),
		            xasprintf("Too many: %zu: must have at most %lld items", n, lim));
	json_t *props = cs_props(s), *ap = json_object_get(s, "additionalProperties"), *val;
	const char *key;
	json_object_foreach((json_t *)v, key, val) {
		if (json_object_get(props, key))
			continue;
		if (json_is_false(ap)) {
			/* k8s: the error names the parent; the value is the key */
			_cleanup_buf_ buf q = {0};
			cs_quote(&q, key, strlen(key));
			invalid(c, r, path, q.p, xasprintf("%s.%s in body is a forbidden property", path, key));
		} else if (json_is_object(ap)) {
			_cleanup_free_ char *p = xasprintf("%s.%s", path, key);
			cs_errs t = {0};
			node(c, ap, val, old_member(old, path, key), p, &t);
			merge(r, &t);
		}
	}
	json_t *ps;
	json_object_foreach(props, key, ps) {
		json_t *x = json_object_get(v, key);
		if (!x)
			continue;
		_cleanup_free_ char *p = *path ? xasprintf("%s.%s", path, key) : xstrdup(key);
		cs_errs t = {0};
		node(c, ps, x, old_member(old, path, key), p, &t);
		merge(r, &t);
	}
	size_t i;
	json_t *req;
	json_array_foreach(json_object_get(s, "required"), i, req) {
		const char *k = json_string_value(req);
		if (!k || json_object_get(v, k))
			continue;
		char *name = xasprintf("%s.%s", path, k);
		cs_errs_add(r, xasprintf("%s in body is required", name), "FieldValueRequired",
		            field_of(c, name), xstrdup("Required value"));
		free(name);
	}
}

/* One schema node against one value: kube-openapi's SchemaValidator.Validate. */
static void node(octx *c, const json_t *s, const json_t *v, const json_t *old, const char *path,
                 cs_errs *out)
{
	cs_errs r = {0}, t = {0};
	if (!json_is_object(s) || c->budget-- <= 0)
		return;
	const char *t8[8], *format = cs_format(s);
	if (json_is_null(v)) {
		v_type(c, s, v, path, &t);
		merge(&r, &t);
		v_enum(c, s, v, path, &t);
		merge(&r, &t);
		goto done;
	}
	if (types_of(s, t8) || format) {
		v_type(c, s, v, path, &t);
		merge(&r, &t);
		r.match++;
	}
	v_props(c, s, v, old, path, &t);
	merge(&r, &t);
	r.match++;
	if (json_is_string(v)) {
		v_string(c, s, v, path, &t);
		merge(&r, &t);
		r.match++;
		if (format) {
			v_format(c, format, v, path, &t);
			merge(&r, &t);
			r.match++;
		}
	}
	if (json_is_number(v)) {
		v_number(c, s, v, path, &t);
		merge(&r, &t);
		r.match++;
	}
	if (json_is_array(v)) {
		v_array(c, s, v, old, path, &t);
		merge(&r, &t);
		r.match++;
	}
	v_enum(c, s, v, path, &t);
	merge(&r, &t);
	r.match++;
	if (json_is_object(v)) {
		v_object(c, s, v, old, path, &t);
		merge(&r, &t);
		r.match++;
	}
	r.match++;
done:
	/* k8s: CRD validation ratcheting: errors of a value equal to its stored counterpart
	 * are dropped (they became warnings in kube). */
	if (r.n && old && json_equal(old, v)) {
		long m = r.match;
		cs_errs_free(&r);
		r.match = m;
	}
	merge(out, &r);
}

void cs_openapi(const json_t *schema, const json_t *value, const json_t *old, const char *base,
                cs_errs *out)
{
	octx c = {.base = base, .budget = 1000000};
	node(&c, schema, value, old, "", out);
}
