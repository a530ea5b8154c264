/* yaml.c — YAML <-> JSON for request and response bodies.
 *
 * Reading: libyaml's event parser builds a small node tree (anchors resolved to nodes),
 * which is then converted to a jansson tree with the typing Kubernetes gives YAML: its
 * sigs.k8s.io/yaml decodes with go-yaml v2, i.e. YAML 1.1 plain scalars (yes/no/on/off
 * are booleans, 0777 is octal), then re-encodes as JSON (so non-string keys become
 * strings, NaN and infinities are refused, integral floats read back as integers).
 * Expansion of aliases is budgeted, so an alias bomb fails instead of eating memory.
 *
 * Writing: libyaml's emitter in block style, choosing per string the scalar style that
 * reads back as the same string.
 *
 * Not for: multi-document streams, comments, or YAML 1.2-only typing.
 */
#include "base/yaml.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "base/buf.h"
#include "base/util.h"

#define ERR_PREFIX "error converting YAML to JSON: yaml: "
#define TAG_PREFIX "tag:yaml.org,2002:"

/* ---- scalar typing (go-yaml v2's resolve rules) ---- */

typedef enum { RV_STR, RV_NULL, RV_BOOL, RV_INT, RV_UINT, RV_FLOAT, RV_MERGE } rv_kind;

typedef struct rval {
	rv_kind k;
	bool b;
	long long i;
	unsigned long long u;
	double f;
} rval;

static const struct {
	const char *s;
	rv_kind k;
	int v; /* bool value, or sign of an infinity (2: NaN) */
} resolve_map[] = {
    {"y", RV_BOOL, 1},       {"Y", RV_BOOL, 1},       {"yes", RV_BOOL, 1},
    {"Yes", RV_BOOL, 1},     {"YES", RV_BOOL, 1},     {"true", RV_BOOL, 1},
    {"True", RV_BOOL, 1},    {"TRUE", RV_BOOL, 1},    {"on", RV_BOOL, 1},
    {"On", RV_BOOL, 1},      {"ON", RV_BOOL, 1},      {"n", RV_BOOL, 0},
    {"N", RV_BOOL, 0},       {"no", RV_BOOL, 0},      {"No", RV_BOOL, 0},
    {"NO", RV_BOOL, 0},      {"false", RV_BOOL, 0},   {"False", RV_BOOL, 0},
    {"FALSE", RV_BOOL, 0},   {"off", RV_BOOL, 0},     {"Off", RV_BOOL, 0},
    {"OFF", RV_BOOL, 0},     {"", RV_NULL, 0},        {"~", RV_NULL, 0},
    {"null", RV_NULL, 0},    {"Null", RV_NULL, 0},    {"NULL", RV_NULL, 0},
    {".nan", RV_FLOAT, 2},   {".NaN", RV_FLOAT, 2},   {".NAN", RV_FLOAT, 2},
    {".inf", RV_FLOAT, 1},   {".Inf", RV_FLOAT, 1},   {".INF", RV_FLOAT, 1},
    {"+.inf", RV_FLOAT, 1},  {"+.Inf", RV_FLOAT, 1},  {"+.INF", RV_FLOAT, 1},
    {"-.inf", RV_FLOAT, -1}, {"-.Inf", RV_FLOAT, -1}, {"-.INF", RV_FLOAT, -1},
    {"<<", RV_MERGE, 0},
};

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Go's strconv.ParseUint(s, 0, 64) after an optional sign (only when sign_ok): prefixes
 * 0x 0o 0b and a leading 0 for octal. */
static bool parse_base0(const char *s, bool sign_ok, bool *neg, unsigned long long *out)
{
	*neg = false;
	if (sign_ok && (*s == '+' || *s == '-'))
		*neg = *s++ == '-';
	int base = 10;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		base = 16, s += 2;
	else if (s[0] == '0' && (s[1] == 'o' || s[1] == 'O'))
		base = 8, s += 2;
	else if (s[0] == '0' && (s[1] == 'b' || s[1] == 'B'))
		base = 2, s += 2;
	else if (s[0] == '0' && s[1])
		base = 8, s += 1;
	if (!*s)
		return false;
	unsigned long long v = 0;
	for (; *s; s++) {
		int d;
		if (is_digit(*s))
			d = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else
			return false;
		if (d >= base || v > (ULLONG_MAX - (unsigned)d) / (unsigned)base)
			return false;
		v = v * (unsigned)base + (unsigned)d;
	}
	*out = v;
	return true;
}

/* ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ */
static bool yaml_style_float(const char *s)
{
	if (*s == '+' || *s == '-')
		s++;
	if (*s == '.') {
		if (!is_digit(*++s))
			return false;
		while (is_digit(*s))
			s++;
	} else {
		if (!is_digit(*s))
			return false;
		while (is_digit(*s))
			s++;
		if (*s == '.')
			for (s++; is_digit(*s);)
				s++;
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!is_digit(*s))
			return false;
		while (is_digit(*s))
			s++;
	}
	return *s == 0;
}

/* A float as Go's strconv.ParseFloat: a range error means "not a float". */
static bool parse_float(const char *s, double *out)
{
	errno = 0;
	char *end;
	double f = strtod(s, &end);
	if (*end || (errno == ERANGE && isinf(f)))
		return false;
	*out = f;
	return true;
}

/* Types the plain scalar s (n bytes) as go-yaml v2 does with no explicit tag. */
static rval resolve_plain(const char *s, size_t n)
{
	rval r = {.k = RV_STR};
	if (memchr(s, 0, n))
		return r;
	for (size_t i = 0; n <= 5 && i < ARRAY_SIZE(resolve_map); i++) {
		if (strlen(resolve_map[i].s) == n && memcmp(resolve_map[i].s, s, n) == 0) {
			r.k = resolve_map[i].k;
			r.b = resolve_map[i].v == 1;
			if (r.k == RV_FLOAT)
				r.f = resolve_map[i].v == 2 ? NAN : resolve_map[i].v * INFINITY;
			return r;
		}
	}
	char c = n ? s[0] : 0;
	if (c == '.') {
		_cleanup_free_ char *z = xstrndup(s, n);
		if (yaml_style_float(z) && parse_float(z, &r.f))
			r.k = RV_FLOAT;
		return r;
	}
	if (!is_digit(c) && c != '+' && c != '-')
		return r;
	/* Underscores are dropped before any number parsing. */
	_cleanup_free_ char *p = xmalloc(n + 1);
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] != '_')
			p[m++] = s[i];
	p[m] = 0;
	bool neg;
	unsigned long long u;
	if (parse_base0(p, true, &neg, &u)) {
		if (!neg && u <= (unsigned long long)LLONG_MAX)
			return (rval){.k = RV_INT, .i = (long long)u};
		if (neg && u <= (unsigned long long)LLONG_MAX + 1)
			return (rval){.k = RV_INT,
			              .i = u == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN
			                                                          : -(long long)u};
		if (!neg && p[0] != '+')
			return (rval){.k = RV_UINT, .u = u};
	}
	if (yaml_style_float(p) && parse_float(p, &r.f)) {
		r.k = RV_FLOAT;
		return r;
	}
	return r;
}

/* Go's strconv.FormatFloat(v, 'g', -1, f32 ? 32 : 64), with go-yaml's .inf/.nan names. */
static void go_format_g(double v, bool f32, char out[48])
{
	if (isnan(v)) {
		strcpy(out, ".nan");
		return;
	}
	if (isinf(v)) {
		strcpy(out, v > 0 ? ".inf" : "-.inf");
		return;
	}
	if (v == 0) {
		strcpy(out, signbit(v) ? "-0" : "0");
		return;
	}
	char e[48];
	for (int prec = 0; prec < 17; prec++) { /* shortest digits that read back the same */
		snprintf(e, sizeof e, "%.*e", prec, v);
		if (f32 ? strtof(e, NULL) == (float)v : strtod(e, NULL) == v)
			break;
	}
	/* e is [-]d[.ddd]e[+-]xx */
	char digits[24];
	size_t nd = 0;
	const char *q = e;
	bool neg = *q == '-';
	if (neg)
		q++;
	for (; *q && *q != 'e'; q++)
		if (is_digit(*q) && nd < sizeof digits - 1)
			digits[nd++] = *q;
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	digits[nd] = 0;
	int exp = atoi(q + 1);
	char *o = out;
	if (neg)
		*o++ = '-';
	/* Go's shortest 'g' uses an exponent outside [-4, 6). */
	if (exp < -4 || exp >= 6) {
		*o++ = digits[0];
		if (nd > 1) {
			*o++ = '.';
			memcpy(o, digits + 1, nd - 1);
			o += nd - 1;
		}
		sprintf(o, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
		return;
	}
	if (exp < 0) {
		*o++ = '0', *o++ = '.';
		for (int i = -1; i > exp; i--)
			*o++ = '0';
		memcpy(o, digits, nd);
		o += nd;
	} else {
		for (int i = 0; i <= exp; i++)
			*o++ = (size_t)i < nd ? digits[i] : '0';
		if (nd > (size_t)exp + 1) {
			*o++ = '.';
			memcpy(o, digits + exp + 1, nd - (size_t)exp - 1);
			o += nd - (size_t)exp - 1;
		}
	}
	*o = 0;
}

/* ---- the node tree ---- */

typedef enum { YN_SCALAR, YN_SEQ, YN_MAP, YN_ALIAS } yn_kind;

typedef struct ynode {
	yn_kind kind;
	bool implicit; /* a plain scalar without tag: typed by resolve_plain */
	bool busy;     /* being converted: an alias to it is a cycle */
	int line;      /* 1-based */
	char *tag;     /* expanded tag, or NULL */
	char *anchor;  /* for messages */
	char *val;     /* scalar bytes */
	size_t len;
	struct ynode **kids; /* sequence items, or keys and values alternating */
	size_t n, cap;
	struct ynode *target; /* alias */
	struct ynode *next;   /* every node, for freeing */
} ynode;

typedef struct anchor {
	char *name;
	ynode *node;
} anchor;

typedef struct yctx {
	ynode *all;
	size_t nparsed, used, limit;
	anchor *anchors;
	size_t nanchors, capanchors;
	ynode **stack;
	size_t depth, capstack;
	ynode *root;
	terr **err;
	bool failed;
} yctx;

__attribute__((format(printf, 3, 4))) static void fail(yctx *c, int line, const char *fmt, ...)
{
	if (c->failed)
		return;
	c->failed = true;
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (line > 0)
		terr_bad_request(c->err, ERR_PREFIX "line %d: %s", line, msg);
	else
		terr_bad_request(c->err, ERR_PREFIX "%s", msg);
}

static ynode *node_new(yctx *c, yn_kind kind, const yaml_mark_t *mark,
                       const yaml_char_t *anchor_name)
{
	ynode *n = xcalloc(1, sizeof *n);
	n->kind = kind;
	n->line = (int)mark->line + 1;
	n->next = c->all;
	c->all = n;
	c->nparsed++;
	if (anchor_name) {
		n->anchor = xstrdup((const char *)anchor_name);
		/* A later anchor of the same name shadows the earlier one. */
		if (c->nanchors == c->capanchors) {
			c->capanchors = c->capanchors ? c->capanchors * 2 : 8;
			c->anchors = xrealloc(c->anchors, c->capanchors * sizeof *c->anchors);
		}
		c->anchors[c->nanchors++] = (anchor){n->anchor, n};
	}
	return n;
}

static void add_child(yctx *c, ynode *n)
{
	if (!c->depth) {
		c->root = n;
		return;
	}
	ynode *p = c->stack[c->depth - 1];
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 4;
		p->kids = xrealloc(p->kids, p->cap * sizeof *p->kids);
	}
	p->kids[p->n++] = n;
}

static void push(yctx *c, ynode *n)
{
	if (c->depth == c->capstack) {
		c->capstack = c->capstack ? c->capstack * 2 : 16;
		c->stack = xrealloc(c->stack, c->capstack * sizeof *c->stack);
	}
	c->stack[c->depth++] = n;
}

static void free_nodes(yctx *c)
{
	for (ynode *n = c->all, *next; n; n = next) {
		next = n->next;
		free(n->tag);
		free(n->anchor);
		free(n->val);
		free(n->kids);
		free(n);
	}
	c->all = NULL;
	free(c->anchors);
	free(c->stack);
}

static ynode *find_anchor(yctx *c, const char *name)
{
	for (size_t i = c->nanchors; i > 0; i--)
		if (strcmp(c->anchors[i - 1].name, name) == 0)
			return c->anchors[i - 1].node;
	return NULL;
}

/* The line of a libyaml error, numbered the way go-yaml reports it (its users know these
 * numbers from kubectl's own client-side errors). */
static int parser_error_line(const yaml_parser_t *p)
{
	if (p->problem_mark.line != 0)
		return (int)p->problem_mark.line + (p->error == YAML_SCANNER_ERROR ? 1 : 0);
	return (int)p->context_mark.line;
}

static bool empty_doc(const ynode *root)
{
	return !root ||
	       (root->kind == YN_SCALAR && root->implicit && root->len == 0 && !root->anchor);
}

/* Parses every document; c->root is the one non-empty document. */
static void parse(yctx *c, const char *data, size_t n)
{
	yaml_parser_t p;
	if (!yaml_parser_initialize(&p))
		abort();
	yaml_parser_set_input_string(&p, (const unsigned char *)data, n);
	ynode *doc = NULL;
	size_t ndocs = 0;
	for (bool done = false; !done && !c->failed;) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&p, &ev)) {
			fail(c, parser_error_line(&p), "%s",
			     p.problem ? p.problem : "unknown problem parsing YAML content");
			break;
		}
		ynode *node = NULL;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_DOCUMENT_START_EVENT:
			c->root = NULL;
			c->nanchors = 0; /* anchors do not cross documents */
			break;
		case YAML_DOCUMENT_END_EVENT:
			if (!empty_doc(c->root)) {
				if (++ndocs > 1)
					fail(c, c->root->line,
					     "only one YAML document is allowed in a request body, "
					     "found a second one");
				doc = c->root;
			}
			break;
		case YAML_ALIAS_EVENT: {
			ynode *t = find_anchor(c, (const char *)ev.data.alias.anchor);
			if (!t) {
				fail(c, (int)ev.start_mark.line + 1,
				     "unknown anchor '%s' referenced",
				     (const char *)ev.data.alias.anchor);
				break;
			}
			node = node_new(c, YN_ALIAS, &ev.start_mark, NULL);
			node->target = t;
			add_child(c, node);
			break;
		}
		case YAML_SCALAR_EVENT:
			node = node_new(c, YN_SCALAR, &ev.start_mark, ev.data.scalar.anchor);
			node->tag = xstrdup((const char *)ev.data.scalar.tag);
			node->val =
			    xstrndup((const char *)ev.data.scalar.value, ev.data.scalar.length);
			node->len = ev.data.scalar.length;
			node->implicit = ev.data.scalar.plain_implicit;
			add_child(c, node);
			break;
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (c->depth >= YAML_MAX_DEPTH) {
				fail(c, (int)ev.start_mark.line + 1, "exceeded max depth of %d",
				     YAML_MAX_DEPTH);
				break;
			}
			node = node_new(c, ev.type == YAML_SEQUENCE_START_EVENT ? YN_SEQ : YN_MAP,
			                &ev.start_mark,
			                ev.type == YAML_SEQUENCE_START_EVENT
			                    ? ev.data.sequence_start.anchor
			                    : ev.data.mapping_start.anchor);
			add_child(c, node);
			push(c, node);
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			if (c->depth)
				c->depth--;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	c->root = doc;
	if (!c->failed && !doc)
		fail(c, 0, "no YAML document found");
}

/* ---- tree to JSON ---- */

static json_t *conv(yctx *c, ynode *n, int depth);

static bool count(yctx *c, const ynode *n)
{
	if (++c->used > c->limit) {
		fail(c, n->line, "document contains excessive aliasing");
		return false;
	}
	return true;
}

static const char *short_tag(const char *tag, char out[64])
{
	if (!tag)
		return "!!str";
	if (str_has_prefix(tag, TAG_PREFIX))
		snprintf(out, 64, "!!%s", tag + strlen(TAG_PREFIX));
	else
		snprintf(out, 64, "%s", tag);
	return out;
}

static bool tag_is(const char *tag, const char *name)
{
	return tag && str_has_prefix(tag, TAG_PREFIX) &&
	       strcmp(tag + strlen(TAG_PREFIX), name) == 0;
}

static int b64val(char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+')
		return 62;
	if (ch == '/')
		return 63;
	return -1;
}

/* Standard base64 with padding, line breaks ignored; NULL when invalid. */
static char *b64_decode(const char *s, size_t n, size_t *outn)
{
	char *out = xmalloc(n / 4 * 3 + 4);
	size_t o = 0, q = 0, pad = 0;
	unsigned acc = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n' || s[i] == '\r')
			continue;
		int v = b64val(s[i]);
		if (s[i] == '=') {
			pad++;
			v = 0;
		} else if (v < 0 || pad) {
			free(out);
			return NULL;
		}
		acc = acc << 6 | (unsigned)v;
		if (++q == 4) {
			out[o++] = (char)(acc >> 16);
			if (pad < 2)
				out[o++] = (char)(acc >> 8);
			if (pad < 1)
				out[o++] = (char)acc;
			q = 0, acc = 0;
		}
	}
	if (q || pad > 2) {
		free(out);
		return NULL;
	}
	*outn = o;
	return out;
}

/* A JSON string of arbitrary bytes: invalid UTF-8 becomes U+FFFD, as Go's encoder does. */
static json_t *json_bytes(const char *s, size_t n)
{
	json_t *j = json_stringn(s, n);
	if (j)
		return j;
	_cleanup_buf_ buf b = {0};
	for (size_t i = 0; i < n;) {
		unsigned char ch = (unsigned char)s[i];
		size_t len = ch < 0x80         ? 1
		             : (ch >> 5) == 6  ? 2
		             : (ch >> 4) == 14 ? 3
		             : (ch >> 3) == 30 ? 4
		                               : 0;
		json_t *one = len && i + len <= n ? json_stringn(s + i, len) : NULL;
		if (one) {
			buf_add(&b, s + i, len);
			json_decref(one);
			i += len;
		} else {
			buf_puts(&b, "\xef\xbf\xbd");
			i++;
		}
	}
	return json_stringn(b.p ? b.p : "", b.n);
}

/* Types a scalar node: plain untagged by resolve_plain, explicit tags checked. */
static bool scalar_value(yctx *c, ynode *n, rval *r)
{
	*r = (rval){.k = RV_STR};
	if (!n->tag) {
		if (n->implicit)
			*r = resolve_plain(n->val, n->len);
		return true;
	}
	static const char *const resolvable[] = {"str",   "bool", "int",
	                                         "float", "null", "timestamp"};
	bool known = false;
	for (size_t i = 0; i < ARRAY_SIZE(resolvable); i++)
		known |= tag_is(n->tag, resolvable[i]);
	if (!known || tag_is(n->tag, "str"))
		return true; /* !!binary is handled by the caller; other tags keep the text */
	if (tag_is(n->tag, "timestamp")) {
		/* go-yaml keeps timestamps as their text when decoding into interface{}. */
		if (n->len >= 5 && is_digit(n->val[0]) && is_digit(n->val[1]) &&
		    is_digit(n->val[2]) && is_digit(n->val[3]) && n->val[4] == '-')
			return true;
	} else {
		*r = resolve_plain(n->val, n->len);
		if (tag_is(n->tag, "float") && r->k == RV_INT) {
			r->k = RV_FLOAT;
			r->f = (double)r->i;
		}
		if (tag_is(n->tag, "float") && r->k == RV_UINT) {
			r->k = RV_FLOAT;
			r->f = (double)r->u;
		}
		static const char *const names[] = {
		    [RV_STR] = "str",  [RV_NULL] = "null",   [RV_BOOL] = "bool",  [RV_INT] = "int",
		    [RV_UINT] = "int", [RV_FLOAT] = "float", [RV_MERGE] = "merge"};
		if (tag_is(n->tag, names[r->k]))
			return true;
	}
	char t1[64], t2[64];
	rval got = resolve_plain(n->val, n->len);
	static const char *const gotnames[] = {
	    [RV_STR] = "!!str",  [RV_NULL] = "!!null",   [RV_BOOL] = "!!bool",  [RV_INT] = "!!int",
	    [RV_UINT] = "!!int", [RV_FLOAT] = "!!float", [RV_MERGE] = "!!merge"};
	snprintf(t1, sizeof t1, "%s", gotnames[got.k]);
	fail(c, n->line, "cannot decode %s `%.*s` as a %s", t1, (int)(n->len > 100 ? 100 : n->len),
	     n->val, short_tag(n->tag, t2));
	return false;
}

static json_t *scalar_to_json(yctx *c, ynode *n)
{
	if (tag_is(n->tag, "binary")) {
		size_t m;
		_cleanup_free_ char *bytes = b64_decode(n->val, n->len, &m);
		if (!bytes) {
			fail(c, n->line, "!!binary value contains invalid base64 data");
			return NULL;
		}
		return json_bytes(bytes, m);
	}
	rval r;
	if (!scalar_value(c, n, &r))
		return NULL;
	switch (r.k) {
	case RV_NULL:
		return json_null();
	case RV_BOOL:
		return json_boolean(r.b);
	case RV_INT:
		return json_integer(r.i);
	case RV_UINT:
		/* k8s: JSON readers take integers beyond int64 as floats. */
		return json_real((double)r.u);
	case RV_FLOAT:
		if (isnan(r.f) || isinf(r.f)) {
			fail(c, n->line, "json: unsupported value: %s",
			     isnan(r.f) ? "NaN"
			     : r.f > 0  ? "+Inf"
			                : "-Inf");
			return NULL;
		}
		/* Go writes 1e3 as 1000, which reads back as an integer. */
		if (r.f == trunc(r.f) && r.f >= -9223372036854775808.0 &&
		    r.f < 9223372036854775808.0)
			return json_integer((json_int_t)r.f);
		return json_real(r.f);
	case RV_STR:
	case RV_MERGE:
		break;
	}
	return json_bytes(n->val, n->len);
}

/* The JSON key for a mapping key node, as sigs.k8s.io/yaml converts non-string keys. */
static char *key_string(yctx *c, ynode *k, size_t *len)
{
	if (k->kind == YN_ALIAS)
		k = k->target;
	if (k->kind != YN_SCALAR) {
		fail(c, k->line, "invalid map key: a %s",
		     k->kind == YN_MAP ? "mapping" : "sequence");
		return NULL;
	}
	if (!count(c, k))
		return NULL;
	if (tag_is(k->tag, "binary")) {
		_cleanup_free_ char *bytes = b64_decode(k->val, k->len, len);
		if (!bytes) {
			fail(c, k->line, "!!binary value contains invalid base64 data");
			return NULL;
		}
		json_t *j = json_bytes(bytes, *len);
		char *s = xstrndup(json_string_value(j), json_string_length(j));
		*len = json_string_length(j);
		json_decref(j);
		return s;
	}
	rval r;
	if (!scalar_value(c, k, &r))
		return NULL;
	char tmp[48];
	switch (r.k) {
	case RV_STR:
	case RV_MERGE:
		*len = k->len;
		return xstrndup(k->val, k->len);
	case RV_BOOL:
		snprintf(tmp, sizeof tmp, "%s", r.b ? "true" : "false");
		break;
	case RV_INT:
		snprintf(tmp, sizeof tmp, "%lld", r.i);
		break;
	case RV_FLOAT:
		go_format_g(r.f, true, tmp);
		break;
	case RV_NULL:
	case RV_UINT:
		fail(c, k->line, "Unsupported map key of type: %s, key: %.*s",
		     r.k == RV_NULL ? "null" : "uint64", (int)(k->len > 100 ? 100 : k->len),
		     k->val);
		return NULL;
	}
	*len = strlen(tmp);
	return xstrdup(tmp);
}

static bool is_merge_key(const ynode *k)
{
	return k->kind == YN_SCALAR && k->len == 2 && memcmp(k->val, "<<", 2) == 0 &&
	       (k->implicit || tag_is(k->tag, "merge"));
}

static bool map_into(yctx *c, ynode *m, json_t *obj, int depth);

/* Merges one mapping (or alias of one) into obj. */
static bool merge_one(yctx *c, ynode *v, json_t *obj, int depth)
{
	ynode *t = v->kind == YN_ALIAS ? v->target : v;
	if (t->kind != YN_MAP) {
		fail(c, v->line, "map merge requires map or sequence of maps as the value");
		return false;
	}
	if (t->busy) {
		fail(c, v->line, "anchor '%s' value contains itself", t->anchor ? t->anchor : "");
		return false;
	}
	t->busy = true;
	bool ok = map_into(c, t, obj, depth);
	t->busy = false;
	return ok;
}

/* k8s (go-yaml v2): a merge sets its keys where it stands, so keys after it override it
 * and keys before it are overridden; in a list of merges the earlier ones win. */
static bool merge(yctx *c, ynode *v, json_t *obj, int depth)
{
	ynode *t = v->kind == YN_ALIAS ? v->target : v;
	if (t->kind != YN_SEQ || v->kind == YN_ALIAS)
		return merge_one(c, v, obj, depth);
	for (size_t i = t->n; i > 0; i--)
		if (!merge_one(c, t->kids[i - 1], obj, depth))
			return false;
	return true;
}

static bool map_into(yctx *c, ynode *m, json_t *obj, int depth)
{
	for (size_t i = 0; i + 1 < m->n; i += 2) {
		ynode *k = m->kids[i], *v = m->kids[i + 1];
		if (is_merge_key(k)) {
			if (!merge(c, v, obj, depth))
				return false;
			continue;
		}
		size_t klen;
		_cleanup_free_ char *key = key_string(c, k, &klen);
		if (!key)
			return false;
		json_t *val = conv(c, v, depth + 1);
		if (!val)
			return false;
		json_object_setn_new(obj, key, klen, val);
	}
	return true;
}

static json_t *conv(yctx *c, ynode *n, int depth)
{
	if (c->failed)
		return NULL;
	if (n->kind == YN_ALIAS) {
		n = n->target;
		if (n->busy) {
			fail(c, n->line, "anchor '%s' value contains itself",
			     n->anchor ? n->anchor : "");
			return NULL;
		}
	}
	if (!count(c, n))
		return NULL;
	if (depth > YAML_MAX_DEPTH) {
		fail(c, n->line, "exceeded max depth of %d", YAML_MAX_DEPTH);
		return NULL;
	}
	if (n->kind == YN_SCALAR)
		return scalar_to_json(c, n);
	n->busy = true;
	json_t *j;
	if (n->kind == YN_SEQ) {
		j = json_array();
		for (size_t i = 0; i < n->n && j; i++) {
			json_t *item = conv(c, n->kids[i], depth + 1);
			if (!item) {
				json_decref(j);
				j = NULL;
			} else {
				json_array_append_new(j, item);
			}
		}
	} else {
		j = json_object();
		if (!map_into(c, n, j, depth)) {
			json_decref(j);
			j = NULL;
		}
	}
	n->busy = false;
	return j;
}

/* Depth of a JSON tree, counting containers; stops counting past limit. */
static int json_depth(json_t *j, int limit)
{
	if (limit < 0 || (!json_is_object(j) && !json_is_array(j)))
		return 0;
	int max = 0;
	const char *k;
	json_t *v;
	size_t i;
	if (json_is_object(j)) {
		json_object_foreach(j, k, v)
		{
			int d = json_depth(v, limit - 1);
			max = d > max ? d : max;
		}
	} else {
		json_array_foreach(j, i, v)
		{
			int d = json_depth(v, limit - 1);
			max = d > max ? d : max;
		}
	}
	return max + 1;
}

/* Integral reals become integers, as they do through go-yaml and Go's JSON encoder. */
static void normalize_numbers(json_t *j)
{
	const char *k;
	json_t *v;
	size_t i;
	if (json_is_object(j)) {
		void *tmp;
		json_object_foreach_safe(j, tmp, k, v)
		{
			if (json_is_real(v) && json_real_value(v) == trunc(json_real_value(v)) &&
			    json_real_value(v) >= -9223372036854775808.0 &&
			    json_real_value(v) < 9223372036854775808.0)
				json_object_set_new(j, k,
				                    json_integer((json_int_t)json_real_value(v)));
			else
				normalize_numbers(v);
		}
	} else if (json_is_array(j)) {
		json_array_foreach(j, i, v)
		{
			if (json_is_real(v) && json_real_value(v) == trunc(json_real_value(v)) &&
			    json_real_value(v) >= -9223372036854775808.0 &&
			    json_real_value(v) < 9223372036854775808.0)
				json_array_set_new(j, i,
				                   json_integer((json_int_t)json_real_value(v)));
			else
				normalize_numbers(v);
		}
	}
}

/* Bodies that are JSON (what kubectl sends as apply-patch+yaml) go through jansson: faster,
 * and it reads \uD83D\uDE00 surrogate pairs that YAML's escapes refuse. Anything jansson
 * rejects (YAML flow style, huge numbers, NUL escapes) takes the YAML path, which gives the
 * same result for every document both accept. */
static json_t *try_json(const char *data, size_t n)
{
	size_t i = 0;
	while (i < n && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r'))
		i++;
	if (i == n || (data[i] != '{' && data[i] != '['))
		return NULL;
	json_t *j = json_loadb(data, n, JSON_REJECT_DUPLICATES, NULL);
	if (!j)
		return NULL;
	if (json_depth(j, YAML_MAX_DEPTH + 1) > YAML_MAX_DEPTH) {
		json_decref(j);
		return NULL; /* the YAML path reports the depth error with its line */
	}
	normalize_numbers(j);
	return j;
}

json_t *yaml_to_json(const char *data, size_t n, terr **err)
{
	json_t *fast = data ? try_json(data, n) : NULL;
	if (fast)
		return fast;
	yctx c = {.err = err};
	parse(&c, data ? data : "", data ? n : 0);
	json_t *j = NULL;
	if (!c.failed) {
		c.limit = YAML_ALIAS_FACTOR * c.nparsed + YAML_ALIAS_SLACK;
		j = conv(&c, c.root, 0);
	}
	free_nodes(&c);
	return j;
}

/* ---- JSON to YAML ---- */

static int emit_write_cb(void *data, unsigned char *buffer, size_t size)
{
	buf_add(data, buffer, size);
	return 1;
}

static void emit_or_die(yaml_emitter_t *e, yaml_event_t *ev)
{
	if (!yaml_emitter_emit(e, ev))
		abort(); /* only invalid event sequences or OOM reach here: both are bugs */
}

/* Whether s would read back as something other than this string when plain: another type,
 * a timestamp (go-yaml quotes those), a YAML 1.1 sexagesimal number, or a merge key. */
static bool plain_would_retype(const char *s, size_t n)
{
	if (resolve_plain(s, n).k != RV_STR)
		return true;
	if (n >= 5 && is_digit(s[0]) && is_digit(s[1]) && is_digit(s[2]) && is_digit(s[3]) &&
	    s[4] == '-')
		return true;
	/* [-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)? */
	size_t i = 0;
	if (i < n && (s[i] == '+' || s[i] == '-'))
		i++;
	if (i < n && is_digit(s[i])) {
		while (i < n && (is_digit(s[i]) || s[i] == '_'))
			i++;
		bool colon = false;
		while (i < n && s[i] == ':') {
			size_t d = 0;
			for (i++; i < n && is_digit(s[i]) && d < 2; i++)
				d++;
			colon = d > 0;
			if (!colon)
				break;
		}
		if (colon && i < n && s[i] == '.')
			for (i++; i < n && (is_digit(s[i]) || s[i] == '_');)
				i++;
		if (colon && i == n)
			return true;
	}
	return false;
}

/* Characters a literal or plain scalar would not carry through unchanged. */
static bool needs_escapes(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if ((ch < 0x20 && ch != '\n' && ch != '\t') || ch == 0x7f)
			return true;
		/* NEL, LS, PS, BOM: line breaks or invisible to YAML 1.1 readers */
		if (ch == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] == 0x85)
			return true;
		if (ch == 0xe2 && i + 2 < n && (unsigned char)s[i + 1] == 0x80 &&
		    ((unsigned char)s[i + 2] == 0xa8 || (unsigned char)s[i + 2] == 0xa9))
			return true;
		if (ch == 0xef && i + 2 < n && (unsigned char)s[i + 1] == 0xbb &&
		    (unsigned char)s[i + 2] == 0xbf)
			return true;
	}
	return false;
}

static void emit_scalar(yaml_emitter_t *e, const char *s, size_t n, yaml_scalar_style_t style)
{
	yaml_event_t ev;
	if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)n, 1, 1, style))
		abort();
	emit_or_die(e, &ev);
}

static void emit_string(yaml_emitter_t *e, const char *s, size_t n)
{
	yaml_scalar_style_t style = YAML_PLAIN_SCALAR_STYLE;
	if (needs_escapes(s, n) || plain_would_retype(s, n))
		style = YAML_DOUBLE_QUOTED_SCALAR_STYLE;
	else if (memchr(s, '\n', n))
		style = YAML_LITERAL_SCALAR_STYLE;
	emit_scalar(e, s, n, style);
}

static void emit_json(yaml_emitter_t *e, json_t *j)
{
	yaml_event_t ev;
	char tmp[48];
	switch (json_typeof(j)) {
	case JSON_OBJECT: {
		if (!yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
		                                         YAML_BLOCK_MAPPING_STYLE))
			abort();
		emit_or_die(e, &ev);
		const char *k;
		size_t klen;
		json_t *v;
		json_object_keylen_foreach(j, k, klen, v)
		{
			emit_string(e, k, klen);
			emit_json(e, v);
		}
		yaml_mapping_end_event_initialize(&ev);
		emit_or_die(e, &ev);
		return;
	}
	case JSON_ARRAY: {
		if (!yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
		                                          YAML_BLOCK_SEQUENCE_STYLE))
			abort();
		emit_or_die(e, &ev);
		size_t i;
		json_t *v;
		json_array_foreach(j, i, v) emit_json(e, v);
		yaml_sequence_end_event_initialize(&ev);
		emit_or_die(e, &ev);
		return;
	}
	case JSON_STRING:
		emit_string(e, json_string_value(j), json_string_length(j));
		return;
	case JSON_INTEGER:
		snprintf(tmp, sizeof tmp, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
		break;
	case JSON_REAL:
		go_format_g(json_real_value(j), false, tmp);
		break;
	case JSON_TRUE:
		strcpy(tmp, "true");
		break;
	case JSON_FALSE:
		strcpy(tmp, "false");
		break;
	case JSON_NULL:
		strcpy(tmp, "null");
		break;
	}
	emit_scalar(e, tmp, strlen(tmp), YAML_PLAIN_SCALAR_STYLE);
}

char *json_to_yaml(json_t *j)
{
	_cleanup_buf_ buf b = {0};
	yaml_emitter_t e;
	yaml_event_t ev;
	if (!yaml_emitter_initialize(&e))
		abort();
	yaml_emitter_set_output(&e, emit_write_cb, &b);
	yaml_emitter_set_unicode(&e, 1);
	yaml_emitter_set_width(&e, -1);
	yaml_emitter_set_indent(&e, 2);
	yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
	emit_or_die(&e, &ev);
	yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
	emit_or_die(&e, &ev);
	if (j)
		emit_json(&e, j);
	else
		emit_scalar(&e, "null", 4, YAML_PLAIN_SCALAR_STYLE);
	yaml_document_end_event_initialize(&ev, 1);
	emit_or_die(&e, &ev);
	yaml_stream_end_event_initialize(&ev);
	emit_or_die(&e, &ev);
	yaml_emitter_delete(&e);
	return b.p ? buf_take(&b) : xstrdup("");
}
