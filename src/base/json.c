/* json.c — jansson helpers. */
#include "base/json.h"

#include <stdbool.h>
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

static char *dump(const json_t *j, bool sorted)
{
	if (!j)
		abort();
	buf b = {0};
	buf_reserve(&b, 512);
	dump_value(&b, j, 0, sorted);
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
