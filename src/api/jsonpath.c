/* jsonpath.c — parse and evaluate the JSONPath subset used by printer columns.
 *
 * An expression is parsed once into a list of steps; evaluation maps a set of nodes
 * through each step. Missing keys match nothing (kube evaluates printer columns with
 * AllowMissingKeys). Not for: kubectl's text templates (range, literals, unions).
 */
#include "api/jsonpath.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/util.h"

enum step_kind {
	STEP_FIELD,    /* .name or ['name'] */
	STEP_ALL,      /* .* or [*] */
	STEP_RECURSE,  /* .. (followed by a field or wildcard step) */
	STEP_INDEX,    /* [n] */
	STEP_SLICE,    /* [a:b:c] */
	STEP_FILTER,   /* [?(...)] */
};

enum filter_op { OP_EXISTS, OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE };

struct step;

typedef struct steps {
	struct step *v;
	size_t n;
} steps;

typedef struct step {
	enum step_kind kind;
	char *name;            /* STEP_FIELD */
	long index;            /* STEP_INDEX */
	long from, to, stride; /* STEP_SLICE */
	bool has_from, has_to;
	steps lhs;             /* STEP_FILTER: path relative to @ */
	enum filter_op op;
	json_t *rhs;           /* STEP_FILTER: literal, NULL for OP_EXISTS */
} step;

struct jsonpath {
	steps s;
};

typedef struct parser {
	const char *p;
	const char *start;
	terr **err;
} parser;

static void steps_free(steps *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].name);
		steps_free(&s->v[i].lhs);
		json_decref(s->v[i].rhs);
	}
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

static step *steps_push(steps *s, enum step_kind kind)
{
	s->v = xrealloc(s->v, (s->n + 1) * sizeof *s->v);
	step *st = &s->v[s->n++];
	memset(st, 0, sizeof *st);
	st->kind = kind;
	st->stride = 1;
	return st;
}

static int perr(parser *ps, const char *what)
{
	return terr_bad_request(ps->err, "invalid JSONPath %s at offset %d: %s", ps->start,
	                        (int)(ps->p - ps->start), what);
}

static void skip_ws(parser *ps)
{
	while (*ps->p == ' ' || *ps->p == '\t')
		ps->p++;
}

/* A bare member name: up to '.', '[', a blank, or (inside filters) an operator or ')'.
 * A backslash makes the next character literal ("kubernetes\.io/name"). */
static char *parse_name(parser *ps, bool in_filter)
{
	buf b = {0};
	while (*ps->p) {
		char c = *ps->p;
		if (c == '\\' && ps->p[1]) {
			buf_putc(&b, ps->p[1]);
			ps->p += 2;
			continue;
		}
		if (c == '.' || c == '[' || c == ' ' || c == '\t' || c == '}')
			break;
		if (in_filter && (c == '=' || c == '!' || c == '<' || c == '>' || c == ')'))
			break;
		buf_putc(&b, c);
		ps->p++;
	}
	if (!b.n) {
		buf_free(&b);
		return NULL;
	}
	return buf_take(&b);
}

static char *parse_quoted(parser *ps)
{
	char q = *ps->p++;
	buf b = {0};
	while (*ps->p && *ps->p != q) {
		if (*ps->p == '\\' && ps->p[1])
			ps->p++;
		buf_putc(&b, *ps->p++);
	}
	if (*ps->p != q) {
		buf_free(&b);
		perr(ps, "unterminated quoted string");
		return NULL;
	}
	ps->p++;
	if (!b.p)
		return xstrdup("");
	return buf_take(&b);
}

static bool parse_long(parser *ps, long *out)
{
	const char *s = ps->p;
	if (*s == '-' || *s == '+')
		s++;
	if (!isdigit((unsigned char)*s))
		return false;
	errno = 0;
	char *end;
	long v = strtol(ps->p, &end, 10);
	if (errno)
		return false;
	*out = v;
	ps->p = end;
	return true;
}

static int parse_steps(parser *ps, steps *out, bool in_filter);

static int parse_filter(parser *ps, step *st)
{
	/* at "?(" */
	ps->p += 2;
	skip_ws(ps);
	if (*ps->p != '@')
		return perr(ps, "a filter must start with @");
	ps->p++;
	if (parse_steps(ps, &st->lhs, true) < 0)
		return -1;
	skip_ws(ps);
	static const struct {
		const char *tok;
		enum filter_op op;
	} ops[] = {{"==", OP_EQ}, {"!=", OP_NE}, {"<=", OP_LE}, {">=", OP_GE},
	           {"<", OP_LT},  {">", OP_GT},  {"=", OP_EQ}};
	st->op = OP_EXISTS;
	for (size_t i = 0; i < ARRAY_SIZE(ops); i++) {
		if (str_has_prefix(ps->p, ops[i].tok)) {
			st->op = ops[i].op;
			ps->p += strlen(ops[i].tok);
			break;
		}
	}
	if (st->op != OP_EXISTS) {
		skip_ws(ps);
		if (*ps->p == '"' || *ps->p == '\'') {
			char *s = parse_quoted(ps);
			if (!s)
				return -1;
			st->rhs = json_string(s);
			free(s);
			if (!st->rhs)
				return perr(ps, "string literal is not valid UTF-8");
		} else if (str_has_prefix(ps->p, "true")) {
			st->rhs = json_true();
			ps->p += 4;
		} else if (str_has_prefix(ps->p, "false")) {
			st->rhs = json_false();
			ps->p += 5;
		} else {
			char *end;
			errno = 0;
			double d = strtod(ps->p, &end);
			if (end == ps->p || errno)
				return perr(ps, "expected a literal after the operator");
			ps->p = end;
			st->rhs = json_real(d);
		}
		skip_ws(ps);
	}
	if (*ps->p != ')')
		return perr(ps, "expected ) to close the filter");
	ps->p++;
	return 0;
}

static int parse_bracket(parser *ps, steps *out)
{
	ps->p++; /* '[' */
	skip_ws(ps);
	if (*ps->p == '*') {
		ps->p++;
		steps_push(out, STEP_ALL);
	} else if (*ps->p == '\'' || *ps->p == '"') {
		char *name = parse_quoted(ps);
		if (!name)
			return -1;
		steps_push(out, STEP_FIELD)->name = name;
	} else if (ps->p[0] == '?' && ps->p[1] == '(') {
		step *st = steps_push(out, STEP_FILTER);
		if (parse_filter(ps, st) < 0)
			return -1;
	} else {
		long a = 0, b = 0, c = 1;
		bool ha = parse_long(ps, &a);
		if (*ps->p != ':') {
			if (!ha)
				return perr(ps, "expected an index, a quoted name, * or a filter");
			steps_push(out, STEP_INDEX)->index = a;
		} else {
			ps->p++;
			bool hb = parse_long(ps, &b);
			if (*ps->p == ':') {
				ps->p++;
				if (!parse_long(ps, &c) || c <= 0)
					return perr(ps, "a slice step must be a positive integer");
			}
			step *st = steps_push(out, STEP_SLICE);
			st->from = a;
			st->to = b;
			st->has_from = ha;
			st->has_to = hb;
			st->stride = c;
		}
	}
	skip_ws(ps);
	if (*ps->p != ']')
		return perr(ps, "expected ]");
	ps->p++;
	return 0;
}

static int parse_steps(parser *ps, steps *out, bool in_filter)
{
	for (;;) {
		if (*ps->p == '.') {
			ps->p++;
			if (*ps->p == '.') {
				ps->p++;
				steps_push(out, STEP_RECURSE);
				if (*ps->p == '[')
					continue;
			}
			if (*ps->p == '*') {
				ps->p++;
				steps_push(out, STEP_ALL);
				continue;
			}
			if (*ps->p == '[')
				continue; /* ".[0]" is the same as "[0]" */
			char *name = parse_name(ps, in_filter);
			if (!name) {
				/* a lone "." (the whole object) is allowed at the very end */
				if (!*ps->p || *ps->p == '}' || (in_filter && strchr("=!<>) ", *ps->p)))
					continue;
				return perr(ps, "expected a member name after .");
			}
			steps_push(out, STEP_FIELD)->name = name;
		} else if (*ps->p == '[') {
			if (parse_bracket(ps, out) < 0)
				return -1;
		} else {
			return 0;
		}
	}
}

jsonpath *jsonpath_parse(const char *expr, terr **err)
{
	parser ps = {.p = expr, .start = expr, .err = err};
	jsonpath *jp = xcalloc(1, sizeof *jp);
	bool braced = false;
	skip_ws(&ps);
	if (*ps.p == '{') {
		braced = true;
		ps.p++;
		skip_ws(&ps);
	}
	if (*ps.p == '$')
		ps.p++;
	if (parse_steps(&ps, &jp->s, false) < 0)
		goto fail;
	skip_ws(&ps);
	if (braced) {
		if (*ps.p != '}') {
			perr(&ps, "expected }");
			goto fail;
		}
		ps.p++;
		skip_ws(&ps);
	}
	if (*ps.p) {
		perr(&ps, "unexpected character");
		goto fail;
	}
	return jp;
fail:
	jsonpath_free(jp);
	return NULL;
}

void jsonpath_free(jsonpath *p)
{
	if (!p)
		return;
	steps_free(&p->s);
	free(p);
}

void cleanup_jsonpathp(jsonpath **p)
{
	jsonpath_free(*p);
}

/* ---- evaluation ---- */

static void collect_all(json_t *node, json_t *out)
{
	json_array_append(out, node);
	if (json_is_object(node)) {
		const char *k;
		json_t *v;
		json_object_foreach(node, k, v) collect_all(v, out);
	} else if (json_is_array(node)) {
		size_t i;
		json_t *v;
		json_array_foreach(node, i, v) collect_all(v, out);
	}
}

static json_t *eval_steps(const steps *s, size_t from, json_t *set);

static bool filter_match(const step *st, json_t *elem)
{
	json_t *start = json_array();
	json_array_append(start, elem);
	json_t *found = eval_steps(&st->lhs, 0, start);
	json_t *lhs = json_array_size(found) ? json_array_get(found, 0) : NULL;
	bool ok = false;
	if (st->op == OP_EXISTS) {
		ok = lhs != NULL;
	} else if (lhs) {
		int cmp = 0;
		bool comparable = false;
		if (json_is_number(lhs) && json_is_number(st->rhs)) {
			double a = json_number_value(lhs), b = json_number_value(st->rhs);
			cmp = a < b ? -1 : a > b ? 1 : 0;
			comparable = true;
		} else if (json_is_string(lhs) && json_is_string(st->rhs)) {
			cmp = strcmp(json_string_value(lhs), json_string_value(st->rhs));
			comparable = true;
		} else if (json_is_boolean(lhs) && json_is_boolean(st->rhs)) {
			cmp = json_is_true(lhs) == json_is_true(st->rhs) ? 0 : 1;
			comparable = st->op == OP_EQ || st->op == OP_NE;
		}
		switch (st->op) {
		case OP_EQ: ok = comparable && cmp == 0; break;
		case OP_NE: ok = !comparable || cmp != 0; break;
		case OP_LT: ok = comparable && cmp < 0; break;
		case OP_LE: ok = comparable && cmp <= 0; break;
		case OP_GT: ok = comparable && cmp > 0; break;
		case OP_GE: ok = comparable && cmp >= 0; break;
		case OP_EXISTS: break;
		}
	}
	json_decref(found);
	json_decref(start);
	return ok;
}

static void apply_step(const step *st, json_t *node, json_t *out)
{
	switch (st->kind) {
	case STEP_FIELD: {
		json_t *v = json_is_object(node) ? json_object_get(node, st->name) : NULL;
		if (v)
			json_array_append(out, v);
		break;
	}
	case STEP_ALL:
		if (json_is_object(node)) {
			const char *k;
			json_t *v;
			json_object_foreach(node, k, v) json_array_append(out, v);
		} else if (json_is_array(node)) {
			json_array_extend(out, node);
		}
		break;
	case STEP_INDEX: {
		if (!json_is_array(node))
			break;
		long n = (long)json_array_size(node), i = st->index;
		if (i < 0)
			i += n;
		if (i >= 0 && i < n)
			json_array_append(out, json_array_get(node, (size_t)i));
		break;
	}
	case STEP_SLICE: {
		if (!json_is_array(node))
			break;
		long n = (long)json_array_size(node);
		long a = st->has_from ? st->from : 0, b = st->has_to ? st->to : n;
		if (a < 0)
			a += n;
		if (b < 0)
			b += n;
		if (a < 0)
			a = 0;
		if (b > n)
			b = n;
		for (long i = a; i < b; i += st->stride)
			json_array_append(out, json_array_get(node, (size_t)i));
		break;
	}
	case STEP_FILTER: {
		if (!json_is_array(node))
			break;
		size_t i;
		json_t *v;
		json_array_foreach(node, i, v) {
			if (filter_match(st, v))
				json_array_append(out, v);
		}
		break;
	}
	case STEP_RECURSE:
		collect_all(node, out);
		break;
	}
}

/* Maps set (consumed) through steps [from, n); returns the new set. */
static json_t *eval_steps(const steps *s, size_t from, json_t *set)
{
	json_incref(set);
	for (size_t i = from; i < s->n; i++) {
		json_t *next = json_array();
		size_t j;
		json_t *node;
		json_array_foreach(set, j, node) apply_step(&s->v[i], node, next);
		json_decref(set);
		set = next;
	}
	return set;
}

json_t *jsonpath_eval(const jsonpath *p, json_t *root)
{
	json_t *set = json_array();
	if (root)
		json_array_append(set, root);
	json_t *res = eval_steps(&p->s, 0, set);
	json_decref(set);
	return res;
}

/* k8s: Go prints a float64 with %v as the shortest representation that round-trips,
 * switching to exponent form below 1e-4 and from 1e21 up. */
static void format_number(double d, char out[40])
{
	if (isnan(d) || isinf(d)) {
		snprintf(out, 40, "%s", isnan(d) ? "NaN" : d > 0 ? "+Inf" : "-Inf");
		return;
	}
	if (d == floor(d) && fabs(d) < 1e21) {
		snprintf(out, 40, "%.0f", d);
		return;
	}
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(out, 40, "%.*g", prec, d);
		if (strtod(out, NULL) == d)
			return;
	}
}

char *jsonpath_text(const json_t *v)
{
	char num[40];
	switch (json_typeof(v)) {
	case JSON_STRING:
		return xstrdup(json_string_value(v));
	case JSON_INTEGER:
		return xasprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
	case JSON_REAL:
		format_number(json_real_value(v), num);
		return xstrdup(num);
	case JSON_TRUE:
		return xstrdup("true");
	case JSON_FALSE:
		return xstrdup("false");
	case JSON_NULL:
		return xstrdup("null");
	case JSON_OBJECT:
	case JSON_ARRAY:
		break;
	}
	char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
	if (!s)
		abort();
	return s;
}
