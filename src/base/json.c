/* json.c — jansson helpers. */
#include "base/json.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/util.h"

void cleanup_jsonp(json_t **j)
{
	json_decref(*j);
}

json_t *json_path(json_t *root, const char *dotted)
{
	json_t *cur = root;
	const char *p = dotted;
	while (cur && *p) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		if (!json_is_object(cur))
			return NULL;
		cur = json_object_getn(cur, p, n);
		p += n;
		if (*p == '.')
			p++;
	}
	return cur;
}

const char *json_path_str(json_t *root, const char *dotted)
{
	json_t *v = json_path(root, dotted);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

json_t *json_obj_child(json_t *obj, const char *key)
{
	json_t *c = json_object_get(obj, key);
	if (!json_is_object(c)) {
		c = json_object();
		json_object_set_new(obj, key, c);
	}
	return c;
}

/* json_clone (scalars copied) and json_clone_containers (scalars shared). */
static json_t *clone(const json_t *j, bool scalars)
{
	if (!j)
		return NULL;
	switch (json_typeof(j)) {
	case JSON_OBJECT: {
		json_t *o = json_object();
		const char *k;
		size_t kn;
		json_t *v;
		json_object_keylen_foreach((json_t *)j, k, kn, v)
		{
			json_object_setn_new_nocheck(o, k, kn, clone(v, scalars));
		}
		return o;
	}
	case JSON_ARRAY: {
		size_t n = json_array_size(j);
		json_t *a = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(a, clone(json_array_get(j, i), scalars));
		return a;
	}
	case JSON_STRING:
		return scalars ? json_stringn_nocheck(json_string_value(j), json_string_length(j))
		               : json_incref((json_t *)j);
	case JSON_INTEGER:
		return scalars ? json_integer(json_integer_value(j)) : json_incref((json_t *)j);
	case JSON_REAL:
		return scalars ? json_real(json_real_value(j)) : json_incref((json_t *)j);
	default: /* true, false, null: jansson's singletons */
		return json_incref((json_t *)j);
	}
}

const char *json_go_kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "object";
	case JSON_ARRAY:
		return "array";
	case JSON_STRING:
		return "string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "number";
	default:
		return "bool";
	}
}

const char *json_go_type(const json_t *v)
{
	switch (v ? json_typeof(v) : JSON_NULL) {
	case JSON_OBJECT:
		return "map[string]interface {}";
	case JSON_ARRAY:
		return "[]interface {}";
	case JSON_STRING:
		return "string";
	case JSON_INTEGER:
		return "int64";
	case JSON_REAL:
		return "float64";
	case JSON_TRUE:
	case JSON_FALSE:
		return "bool";
	default:
		return "<nil>";
	}
}

static int cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Whether b is past max (0: no bound), marking the cut once with "...". */
static bool go_format_cut(buf *b, size_t max)
{
	if (!max || b->n <= max)
		return false;
	if (!str_has_suffix(b->p, "..."))
		buf_puts(b, "...");
	return true;
}

void json_go_format(buf *b, const json_t *v, size_t max)
{
	if (go_format_cut(b, max))
		return;
	switch (v ? json_typeof(v) : JSON_NULL) {
	case JSON_OBJECT: {
		size_t n = json_object_size(v), i = 0;
		const char **keys = xcalloc(n ? n : 1, sizeof *keys);
		const char *k;
		json_t *e;
		json_object_foreach((json_t *)v, k, e) keys[i++] = k;
		qsort(keys, n, sizeof *keys, cmp_cstr);
		buf_puts(b, "map[");
		for (i = 0; i < n && !go_format_cut(b, max); i++) {
			buf_printf(b, "%s%s:", i ? " " : "", keys[i]);
			json_go_format(b, json_object_get(v, keys[i]), max);
		}
		buf_putc(b, ']');
		free(keys);
		return;
	}
	case JSON_ARRAY:
		buf_putc(b, '[');
		for (size_t i = 0; i < json_array_size(v) && !go_format_cut(b, max); i++) {
			if (i)
				buf_putc(b, ' ');
			json_go_format(b, json_array_get(v, i), max);
		}
		buf_putc(b, ']');
		return;
	case JSON_STRING:
		buf_add(b, json_string_value(v), json_string_length(v));
		return;
	case JSON_INTEGER:
		buf_printf(b, "%lld", (long long)json_integer_value(v));
		return;
	case JSON_REAL:
		buf_go_float(b, json_real_value(v), false);
		return;
	case JSON_TRUE:
		buf_puts(b, "true");
		return;
	case JSON_FALSE:
		buf_puts(b, "false");
		return;
	default:
		buf_puts(b, "<nil>");
	}
}

json_t *json_clone_containers(const json_t *j)
{
	return clone(j, false);
}

json_t *json_clone(const json_t *j)
{
	return clone(j, true);
}

/* ---------- compact serialization ----------
 * The same bytes as jansson's json_dumps(JSON_COMPACT | JSON_ENCODE_ANY), written straight
 * into one buffer: jansson's checks every object and array for reference loops through a
 * hash table keyed by a formatted pointer, which made most of the cost of storing a write.
 * Trees hold valid UTF-8 (jansson validates strings on creation; the protobuf decoder
 * repairs or checks its own), so strings need only the escapes (buf_json_str). */

static void dump_integer(buf *b, json_int_t v)
{
	char t[24];
	size_t i = sizeof t;
	/* through unsigned, so the most negative value has a magnitude */
	unsigned long long m = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
	do {
		t[--i] = (char)('0' + m % 10);
		m /= 10;
	} while (m);
	if (v < 0)
		t[--i] = '-';
	buf_add(b, t + i, sizeof t - i);
}

/* As jansson writes a real: 17 significant digits, a ".0" when that reads as an integer,
 * and the exponent without '+' or leading zeros. */
static void dump_real(buf *b, double v)
{
	char t[48];
	int n = snprintf(t, sizeof t - 2, "%.17g", v);
	if (n < 0 || (size_t)n >= sizeof t - 2)
		abort();
	char *e = strchr(t, 'e');
	if (!e && !strchr(t, '.')) {
		memcpy(t + n, ".0", 3);
		n += 2;
	}
	if (e) {
		char *start = e + 1, *end = start + 1;
		if (*start == '-')
			start++;
		else if (*start != '+')
			end = start; /* no sign: nothing to drop before the digits */
		while (*end == '0' && end[1])
			end++;
		if (end != start) {
			memmove(start, end, strlen(end) + 1);
			n = (int)strlen(t);
		}
	}
	buf_add(b, t, (size_t)n);
}

typedef struct member {
	const char *k;
	size_t n;
	json_t *v;
} member;

/* jansson's JSON_SORT_KEYS order: bytes, then the shorter first. */
static int member_cmp(const void *a, const void *b)
{
	const member *x = a, *y = b;
	int c = memcmp(x->k, y->k, x->n < y->n ? x->n : y->n);
	return c ? c : (x->n > y->n) - (x->n < y->n);
}

static void dump_value(buf *b, const json_t *j, int depth, bool sorted);

static void dump_member(buf *b, bool first, const member *m, int depth, bool sorted)
{
	if (!first)
		buf_putc(b, ',');
	buf_json_str(b, m->k, m->n);
	buf_putc(b, ':');
	dump_value(b, m->v, depth + 1, sorted);
}

static void dump_object(buf *b, const json_t *j, int depth, bool sorted)
{
	member m;
	if (!sorted) {
		bool first = true;
		json_object_keylen_foreach((json_t *)j, m.k, m.n, m.v)
		{
			dump_member(b, first, &m, depth, false);
			first = false;
		}
		return;
	}
	size_t n = json_object_size(j), i = 0;
	member stack[16];
	member *ms = n <= 16 ? stack : xmalloc(n * sizeof *ms);
	json_object_keylen_foreach((json_t *)j, m.k, m.n, m.v) ms[i++] = m;
	qsort(ms, n, sizeof *ms, member_cmp);
	for (i = 0; i < n; i++)
		dump_member(b, i == 0, &ms[i], depth, true);
	if (ms != stack)
		free(ms);
}

static void dump_value(buf *b, const json_t *j, int depth, bool sorted)
{
	/* A tree deeper than any parse allows is a loop: the bug jansson's check caught. */
	if (depth > 10000)
		abort();
	switch (json_typeof(j)) {
	case JSON_OBJECT:
		buf_putc(b, '{');
		dump_object(b, j, depth, sorted);
		buf_putc(b, '}');
		break;
	case JSON_ARRAY: {
		buf_putc(b, '[');
		size_t n = json_array_size(j);
		for (size_t i = 0; i < n; i++) {
			if (i)
				buf_putc(b, ',');
			dump_value(b, json_array_get(j, i), depth + 1, sorted);
		}
		buf_putc(b, ']');
		break;
	}
	case JSON_STRING:
		buf_json_str(b, json_string_value(j), json_string_length(j));
		break;
	case JSON_INTEGER:
		dump_integer(b, json_integer_value(j));
		break;
	case JSON_REAL:
		dump_real(b, json_real_value(j));
		break;
	case JSON_TRUE:
		buf_add(b, "true", 4);
		break;
	case JSON_FALSE:
		buf_add(b, "false", 5);
		break;
	case JSON_NULL:
		buf_add(b, "null", 4);
		break;
	}
}

void json_dump_into(struct buf *b, const json_t *j, bool sorted)
{
	if (!j)
		abort();
	buf_reserve(b, 512);
	dump_value(b, j, 0, sorted);
}

static char *dump(const json_t *j, bool sorted)
{
	buf b = {0};
	json_dump_into(&b, j, sorted);
	return buf_take(&b);
}

char *json_dump_compact(const json_t *j)
{
	return dump(j, false);
}

char *json_dump_sorted(const json_t *j)
{
	return dump(j, true);
}

/* ---------- building from a format (json.h) ---------- */

typedef struct builder {
	const char *f;
	va_list *ap;
	bool ok;
} builder;

static void build_skip(builder *b)
{
	while (*b->f == ' ' || *b->f == ',' || *b->f == ':' || *b->f == '\n' || *b->f == '\t')
		b->f++;
}

static json_t *build_str(const char *s)
{
#ifdef __SANITIZE_ADDRESS__
	json_t *j = json_string(s); /* checks UTF-8: what the normal build trusts */
	if (!j)
		abort();
	return j;
#else
	return json_stringn_nocheck(s, strlen(s));
#endif
}

/* The value at b->f; NULL (and b->ok false) for a NULL argument. Consumes its arguments
 * whatever happens, so that every o is taken. */
static json_t *build_value(builder *b)
{
	build_skip(b);
	switch (*b->f++) {
	case '{': {
		json_t *o = json_object();
		for (;;) {
			build_skip(b);
			if (*b->f == '}') {
				b->f++;
				return o;
			}
			if (*b->f++ != 's')
				abort(); /* keys are strings */
			const char *k = va_arg(*b->ap, const char *);
			json_t *v = build_value(b);
			if (!k || !v)
				b->ok = false, json_decref(v);
			else
				json_object_set_new_nocheck(o, k, v);
		}
	}
	case '[': {
		json_t *a = json_array();
		for (;;) {
			build_skip(b);
			if (*b->f == ']') {
				b->f++;
				return a;
			}
			json_t *v = build_value(b);
			if (v)
				json_array_append_new(a, v);
		}
	}
	case 's': {
		const char *s = va_arg(*b->ap, const char *);
		if (s)
			return build_str(s);
		b->ok = false;
		return NULL;
	}
	case 'o':
	case 'O': {
		json_t *v = va_arg(*b->ap, json_t *);
		if (!v)
			b->ok = false;
		return b->f[-1] == 'O' ? json_incref(v) : v;
	}
	case 'i': return json_integer(va_arg(*b->ap, int));
	case 'I': return json_integer(va_arg(*b->ap, json_int_t));
	case 'b': return va_arg(*b->ap, int) ? json_true() : json_false();
	case 'f': return json_real(va_arg(*b->ap, double));
	case 'n': return json_null();
	default: abort(); /* a format letter json_build does not take */
	}
}

json_t *json_build(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	builder b = {fmt, &ap, true};
	json_t *j = build_value(&b);
	va_end(ap);
	build_skip(&b);
	if (*b.f)
		abort(); /* more than one value */
	if (!b.ok) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/* ---------- scanning serialized JSON (json.h) ---------- */

const char *json_skip_ws(const char *p, const char *e)
{
	while (p < e && (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r'))
		p++;
	return p;
}

/* Bit 7 set in each byte of x that equals c (the lowest one exact, which is all that is
 * read: a borrow can only mark bytes above a true match). */
static inline uint64_t bytes_eq(uint64_t x, unsigned char c)
{
	const uint64_t ones = 0x0101010101010101u;
	uint64_t y = x ^ (ones * c);
	return (y - ones) & ~y & (ones * 0x80);
}

const char *json_skip_string(const char *p, const char *e)
{
	p++;
	for (;;) {
		/* 8 bytes at a time to the next quote or backslash (strings are most of the
		 * bytes a scan of stored objects passes over) */
		while (e - p >= 8) {
			uint64_t x;
			memcpy(&x, p, 8);
			uint64_t hit = bytes_eq(x, '"') | bytes_eq(x, '\\');
			if (hit) {
				p += __builtin_ctzll(hit) / 8;
				break;
			}
			p += 8;
		}
		while (p < e && *p != '"' && *p != '\\')
			p++;
		if (p >= e)
			return NULL;
		if (*p == '"')
			return p + 1;
		if (e - p < 2)
			return NULL;
		p += 2; /* an escape: the backslash and the byte it escapes */
	}
}

/* The bytes a container scan stops at: 1 quote, 2 opening, 3 closing bracket. */
static const uint8_t SCAN_CLASS[256] = {['"'] = 1, ['{'] = 2, ['['] = 2, ['}'] = 3, [']'] = 3};

const char *json_skip_value(const char *p, const char *e)
{
	p = json_skip_ws(p, e);
	if (p >= e)
		return NULL;
	if (*p == '"')
		return json_skip_string(p, e);
	if (*p == '{' || *p == '[') {
		int depth = 0;
		while (p < e) {
			switch (SCAN_CLASS[(unsigned char)*p]) {
			case 1:
				if (!(p = json_skip_string(p, e)))
					return NULL;
				continue;
			case 2:
				depth++;
				break;
			case 3:
				if (--depth == 0)
					return p + 1;
				break;
			default:
				break;
			}
			p++;
		}
		return NULL;
	}
	const char *s = p;
	while (p < e && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\n' &&
	       *p != '\t' && *p != '\r')
		p++;
	return p > s ? p : NULL;
}

/* ---------- serialization against a base ----------
 * A writer that makes the next version of an object from the stored one copies only the
 * levels it changes; everything below them is the stored tree's own nodes. Serializing
 * those again walks a tree long out of the CPU's caches (most of the cost of a binding's or
 * a status write's serialization), while their bytes lie together in the stored value. So
 * where the new tree holds the very node the base holds at the same place, the base's bytes
 * for it are copied. Sound because a shared tree is never changed in place: the base bytes
 * are the base tree's serialization, and so the shared node's. Containers are compared down
 * to BASE_DEPTH levels; the base bytes of a container are scanned (not parsed) for its
 * members' extents only when one of them may be taken from there. */

#define BASE_DEPTH       6
#define BASE_MAX_MEMBERS 64

typedef struct span {
	const char *p;
	size_t n;
} span;

typedef struct base_member {
	const char *k; /* the key's raw bytes (no quotes); NULL when escaped: never matched */
	size_t kn;
	span v;
} base_member;

/* The members (objects) or elements (arrays, keys NULL) of the container c: how many, or
 * -1 when there are more than BASE_MAX_MEMBERS or the bytes are not what was expected. */
static int scan_container(span c, bool object, base_member *out)
{
	if (c.n < 2 || c.p[0] != (object ? '{' : '[') || c.p[c.n - 1] != (object ? '}' : ']'))
		return -1;
	const char *p = c.p + 1, *e = c.p + c.n - 1;
	int n = 0;
	p = json_skip_ws(p, e);
	while (p < e) {
		if (n == BASE_MAX_MEMBERS)
			return -1;
		base_member *m = &out[n++];
		m->k = NULL;
		m->kn = 0;
		if (object) {
			if (*p != '"')
				return -1;
			const char *q = json_skip_string(p, e);
			if (!q)
				return -1;
			if (!memchr(p + 1, '\\', (size_t)(q - 1 - (p + 1)))) {
				m->k = p + 1;
				m->kn = (size_t)(q - 1 - (p + 1));
			}
			p = json_skip_ws(q, e);
			if (p >= e || *p != ':')
				return -1;
			p = json_skip_ws(p + 1, e);
		}
		const char *q = json_skip_value(p, e);
		if (!q)
			return -1;
		m->v = (span){p, (size_t)(q - p)};
		p = json_skip_ws(q, e);
		if (p < e) {
			if (*p != ',')
				return -1;
			p = json_skip_ws(p + 1, e);
		}
	}
	return n;
}

static bool same_kind_container(const json_t *a, const json_t *b)
{
	return (json_is_object(a) && json_is_object(b)) || (json_is_array(a) && json_is_array(b));
}

/* Whether a child of j may be taken from, or looked for below, base's same child. */
static bool base_worth(const json_t *j, const json_t *base)
{
	if (json_is_object(j)) {
		const char *k;
		size_t kn;
		json_t *v;
		json_object_keylen_foreach((json_t *)j, k, kn, v)
		{
			const json_t *bv = json_object_getn(base, k, kn);
			if (bv && (bv == v || same_kind_container(v, bv)))
				return true;
		}
		return false;
	}
	size_t n = json_array_size(j), bn = json_array_size(base);
	for (size_t i = 0; i < n; i++) {
		const json_t *v = json_array_get(j, i);
		if (i < bn && same_kind_container(v, json_array_get(base, i)))
			return true;
		for (size_t k = 0; k < bn; k++)
			if (json_array_get(base, k) == v)
				return true;
	}
	return false;
}

/* Whether j (a container) holds one of c's own children at the same place. */
static bool shares_child(const json_t *j, const json_t *c)
{
	if (json_is_object(j) && json_is_object(c)) {
		const char *k;
		size_t kn;
		json_t *v;
		json_object_keylen_foreach((json_t *)j, k, kn, v)
		{
			if (json_object_getn(c, k, kn) == v)
				return true;
		}
		return false;
	}
	if (!json_is_array(j) || !json_is_array(c))
		return false;
	for (size_t i = 0; i < json_array_size(j) && i < json_array_size(c); i++)
		if (json_array_get(j, i) == json_array_get(c, i))
			return true;
	return false;
}

/* The element of base (n of them) that the element v at i of the next version stands for:
 * the same node anywhere, else a container holding some of v's own children (an entry
 * rebuilt around shared parts, such as a managed-fields entry after another manager's was
 * put before it), else the one at i. -1: none. */
#define BASE_SEARCH 16
static long base_element(const json_t *base, size_t n, const json_t *v, size_t i)
{
	for (size_t k = 0; k < n; k++)
		if (json_array_get(base, k) == v)
			return (long)k;
	if (!json_is_object(v) && !json_is_array(v))
		return -1;
	if (i < n && shares_child(v, json_array_get(base, i)))
		return (long)i;
	for (size_t k = 0; k < n && n <= BASE_SEARCH; k++)
		if (k != i && shares_child(v, json_array_get(base, k)))
			return (long)k;
	return i < n ? (long)i : -1;
}

static void dump_based(buf *b, const json_t *j, const json_t *base, span bs, int depth,
                       size_t *reused)
{
	if (j == base) {
		buf_add(b, bs.p, bs.n);
		*reused += bs.n;
		return;
	}
	base_member ms[BASE_MAX_MEMBERS];
	int n;
	if (depth >= BASE_DEPTH || !same_kind_container(j, base) || !base_worth(j, base) ||
	    (n = scan_container(bs, json_is_object(j), ms)) < 0) {
		dump_value(b, j, depth, false);
		return;
	}
	if (json_is_array(j)) {
		size_t jn = json_array_size(j);
		if ((size_t)n != json_array_size(base)) { /* the bytes are not the base's */
			dump_value(b, j, depth, false);
			return;
		}
		buf_putc(b, '[');
		for (size_t i = 0; i < jn; i++) {
			if (i)
				buf_putc(b, ',');
			const json_t *v = json_array_get(j, i);
			long k = base_element(base, (size_t)n, v, i);
			if (k >= 0)
				dump_based(b, v, json_array_get(base, (size_t)k), ms[k].v, depth + 1, reused);
			else
				dump_value(b, v, depth + 1, false);
		}
		buf_putc(b, ']');
		return;
	}
	if ((size_t)n != json_object_size(base)) {
		dump_value(b, j, depth, false);
		return;
	}
	buf_putc(b, '{');
	bool first = true;
	member m;
	json_object_keylen_foreach((json_t *)j, m.k, m.n, m.v)
	{
		if (!first)
			buf_putc(b, ',');
		first = false;
		buf_json_str(b, m.k, m.n);
		buf_putc(b, ':');
		const json_t *bv = json_object_getn(base, m.k, m.n);
		const base_member *bm = NULL;
		for (int i = 0; bv && i < n && !bm; i++)
			if (ms[i].k && ms[i].kn == m.n && memcmp(ms[i].k, m.k, m.n) == 0)
				bm = &ms[i];
		if (bm)
			dump_based(b, m.v, bv, bm->v, depth + 1, reused);
		else
			dump_value(b, m.v, depth + 1, false);
	}
	buf_putc(b, '}');
}

void json_dump_compact_based_into(struct buf *b, const json_t *j, const json_t *base,
                                  const char *base_json, size_t base_len, size_t *reused)
{
	size_t dummy;
	if (!reused)
		reused = &dummy;
	*reused = 0;
	if (!base || !base_json) {
		json_dump_into(b, j, false);
		return;
	}
	if (!j)
		abort();
	size_t start = b->n;
	buf_reserve(b, base_len + 512);
	/* The value's extent: the bytes without surrounding whitespace (its members' extents
	 * are found as they are needed). */
	const char *s = json_skip_ws(base_json, base_json + base_len), *e = base_json + base_len;
	while (e > s && (e[-1] == ' ' || e[-1] == '\n' || e[-1] == '\t' || e[-1] == '\r'))
		e--;
	dump_based(b, j, base, (span){s, (size_t)(e - s)}, 0, reused);
#ifdef __SANITIZE_ADDRESS__
	/* Checked builds: the copied bytes must be what serializing would write (a shared
	 * tree changed in place, or a base whose bytes are not its own, would show here). */
	char *plain = json_dump_compact(j);
	if (strcmp(b->p + start, plain) != 0) {
		fprintf(stderr, "json_dump_compact_based: differs from a plain serialization\n"
		                "  based: %s\n  plain: %s\n", b->p + start, plain);
		abort();
	}
	free(plain);
#else
	UNUSED(start);
#endif
}

char *json_dump_compact_based(const json_t *j, const json_t *base, const char *base_json,
                              size_t base_len, size_t *reused)
{
	buf b = {0};
	json_dump_compact_based_into(&b, j, base, base_json, base_len, reused);
	return buf_take(&b);
}
