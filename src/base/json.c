/* json.c — jansson helpers. */
#include "base/json.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* ---------- compact serialization ----------
 * The same bytes as jansson's json_dumps(JSON_COMPACT | JSON_ENCODE_ANY), written straight
 * into one buffer: jansson's checks every object and array for reference loops through a
 * hash table keyed by a formatted pointer, which made most of the cost of storing a write.
 * Trees hold valid UTF-8 (jansson validates strings on creation; the protobuf decoder
 * repairs or checks its own), so strings are copied as they are but for the escapes. */

typedef struct out {
	char *p;
	size_t n, cap;
} out;

static void out_grow(out *o, size_t more)
{
	if (o->n + more <= o->cap)
		return;
	size_t cap = o->cap ? o->cap * 2 : 512;
	while (cap < o->n + more)
		cap *= 2;
	o->p = xrealloc(o->p, cap);
	o->cap = cap;
}

static inline void out_add(out *o, const char *s, size_t n)
{
	out_grow(o, n);
	memcpy(o->p + o->n, s, n);
	o->n += n;
}

static inline void out_putc(out *o, char c)
{
	out_grow(o, 1);
	o->p[o->n++] = c;
}

static void out_string(out *o, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	out_grow(o, n + 2);
	o->p[o->n++] = '"';
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		out_add(o, s + run, i - run);
		run = i + 1;
		char e[6] = {'\\', 0};
		size_t el = 2;
		switch (c) {
		case '"': e[1] = '"'; break;
		case '\\': e[1] = '\\'; break;
		case '\b': e[1] = 'b'; break;
		case '\f': e[1] = 'f'; break;
		case '\n': e[1] = 'n'; break;
		case '\r': e[1] = 'r'; break;
		case '\t': e[1] = 't'; break;
		default:
			e[1] = 'u', e[2] = '0', e[3] = '0', e[4] = hex[c >> 4], e[5] = hex[c & 15];
			el = 6;
		}
		out_add(o, e, el);
	}
	out_add(o, s + run, n - run);
	out_putc(o, '"');
}

static void out_integer(out *o, json_int_t v)
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
	out_add(o, t + i, sizeof t - i);
}

/* As jansson writes a real: 17 significant digits, a ".0" when that reads as an integer,
 * and the exponent without '+' or leading zeros. */
static void out_real(out *o, double v)
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
	out_add(o, t, (size_t)n);
}

typedef struct key_ref {
	const char *k;
	size_t n;
	json_t *v;
} key_ref;

/* jansson's JSON_SORT_KEYS order: bytes, then the shorter first. */
static int key_cmp(const void *a, const void *b)
{
	const key_ref *x = a, *y = b;
	int c = memcmp(x->k, y->k, x->n < y->n ? x->n : y->n);
	return c ? c : (x->n > y->n) - (x->n < y->n);
}

static void out_value(out *o, const json_t *j, int depth, bool sorted);

static void out_sorted_members(out *o, const json_t *j, int depth)
{
	size_t n = json_object_size(j), i = 0;
	key_ref stack[16];
	key_ref *ks = n <= 16 ? stack : xmalloc(n * sizeof *ks);
	const char *k;
	size_t kn;
	json_t *v;
	json_object_keylen_foreach((json_t *)j, k, kn, v) ks[i++] = (key_ref){k, kn, v};
	qsort(ks, n, sizeof *ks, key_cmp);
	for (i = 0; i < n; i++) {
		if (i)
			out_putc(o, ',');
		out_string(o, ks[i].k, ks[i].n);
		out_putc(o, ':');
		out_value(o, ks[i].v, depth + 1, true);
	}
	if (ks != stack)
		free(ks);
}

static void out_value(out *o, const json_t *j, int depth, bool sorted)
{
	/* A tree deeper than any parse allows is a loop: the bug jansson's check caught. */
	if (depth > 10000)
		abort();
	switch (json_typeof(j)) {
	case JSON_OBJECT: {
		out_putc(o, '{');
		if (sorted) {
			out_sorted_members(o, j, depth);
			out_putc(o, '}');
			break;
		}
		const char *k;
		size_t kn;
		json_t *v;
		bool first = true;
		json_object_keylen_foreach((json_t *)j, k, kn, v)
		{
			if (!first)
				out_putc(o, ',');
			first = false;
			out_string(o, k, kn);
			out_putc(o, ':');
			out_value(o, v, depth + 1, false);
		}
		out_putc(o, '}');
		break;
	}
	case JSON_ARRAY: {
		out_putc(o, '[');
		size_t n = json_array_size(j);
		for (size_t i = 0; i < n; i++) {
			if (i)
				out_putc(o, ',');
			out_value(o, json_array_get(j, i), depth + 1, sorted);
		}
		out_putc(o, ']');
		break;
	}
	case JSON_STRING:
		out_string(o, json_string_value(j), json_string_length(j));
		break;
	case JSON_INTEGER:
		out_integer(o, json_integer_value(j));
		break;
	case JSON_REAL:
		out_real(o, json_real_value(j));
		break;
	case JSON_TRUE:
		out_add(o, "true", 4);
		break;
	case JSON_FALSE:
		out_add(o, "false", 5);
		break;
	case JSON_NULL:
		out_add(o, "null", 4);
		break;
	}
}

char *json_dump_compact(const json_t *j)
{
	if (!j)
		abort();
	out o = {0};
	out_value(&o, j, 0, false);
	out_putc(&o, 0);
	return o.p;
}

char *json_dump_sorted(const json_t *j)
{
	if (!j)
		abort();
	out o = {0};
	out_value(&o, j, 0, true);
	out_putc(&o, 0);
	return o.p;
}
