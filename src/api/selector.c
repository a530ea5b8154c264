/* selector.c — label selectors: lexer and parser of the string form, conversion from
 * metav1.LabelSelector, matching and printing.
 *
 * The grammar, the validation and the error texts are those of apimachinery's
 * pkg/labels (kube 1.32), written from its documented behaviour. Not for: field selectors
 * (fieldsel.c) or object validation (validate.c).
 */
#include "api/selector.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/util.h"

/* ---- validation messages (k8s: util/validation IsQualifiedName, IsValidLabelValue) ---- */

#define QNAME_FMT "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
#define QNAME_MSG                                                                        \
	"must consist of alphanumeric characters, '-', '_' or '.', and must start and end " \
	"with an alphanumeric character"
#define QNAME_EXAMPLES "(e.g. 'MyName',  or 'my.name',  or '123-abc', "
#define LVALUE_MSG                                                                       \
	"a valid label must be an empty string or consist of alphanumeric characters, '-', " \
	"'_' or '.', and must start and end with an alphanumeric character"
#define DNS_SUB_FMT "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
#define DNS_SUB_MSG                                                                      \
	"a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, " \
	"'-' or '.', and must start and end with an alphanumeric character"

static bool is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* k8s: ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9] over exactly n bytes. */
static bool qname_part_ok(const char *s, size_t n)
{
	if (n == 0 || !is_alnum((unsigned char)s[0]) || !is_alnum((unsigned char)s[n - 1]))
		return false;
	for (size_t i = 1; i + 1 < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!is_alnum(c) && c != '-' && c != '_' && c != '.')
			return false;
	}
	return true;
}

/* k8s: RFC 1123 subdomain: dot-separated [a-z0-9]([-a-z0-9]*[a-z0-9])? labels. */
static bool dns_subdomain_syntax_ok(const char *s, size_t n)
{
	size_t start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '.') {
			unsigned char c = (unsigned char)s[i];
			if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
				return false;
			continue;
		}
		if (i == start || s[start] == '-' || s[i - 1] == '-')
			return false;
		start = i + 1;
	}
	return true;
}

static void add_problem(buf *b, const char *msg)
{
	if (b->n)
		buf_puts(b, "; ");
	buf_puts(b, msg);
}

char *label_key_problems(const char *key)
{
	_cleanup_buf_ buf b = {0};
	const char *slash = strchr(key, '/');
	const char *name = key;
	if (slash && strchr(slash + 1, '/')) {
		return xstrdup("a qualified name " QNAME_MSG " " QNAME_EXAMPLES
			       "regex used for validation is '" QNAME_FMT "') with an optional DNS "
			       "subdomain prefix and '/' (e.g. 'example.com/MyName')");
	}
	if (slash) {
		size_t plen = (size_t)(slash - key);
		name = slash + 1;
		if (plen == 0) {
			add_problem(&b, "prefix part must be non-empty");
		} else {
			if (plen > 253)
				add_problem(&b, "prefix part must be no more than 253 characters");
			if (!dns_subdomain_syntax_ok(key, plen))
				add_problem(&b, "prefix part " DNS_SUB_MSG " (e.g. 'example.com', "
						"regex used for validation is '" DNS_SUB_FMT "')");
		}
	}
	size_t nlen = strlen(name);
	if (nlen == 0)
		add_problem(&b, "name part must be non-empty");
	else if (nlen > 63)
		add_problem(&b, "name part must be no more than 63 characters");
	if (!qname_part_ok(name, nlen))
		add_problem(&b, "name part " QNAME_MSG " " QNAME_EXAMPLES
				"regex used for validation is '" QNAME_FMT "')");
	return b.n ? buf_take(&b) : NULL;
}

char *label_value_problems(const char *value)
{
	_cleanup_buf_ buf b = {0};
	size_t n = strlen(value);
	if (n > 63)
		add_problem(&b, "must be no more than 63 characters");
	if (n > 0 && !qname_part_ok(value, n))
		add_problem(&b, LVALUE_MSG " (e.g. 'MyValue',  or 'my_value',  or '12345', regex "
				"used for validation is '(" QNAME_FMT ")?')");
	return b.n ? buf_take(&b) : NULL;
}

/* Appends s quoted the way Go's %q does for the characters that matter here. */
static void go_quote(buf *b, const char *s)
{
	buf_putc(b, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': buf_puts(b, "\\\""); break;
		case '\\': buf_puts(b, "\\\\"); break;
		case '\n': buf_puts(b, "\\n"); break;
		case '\t': buf_puts(b, "\\t"); break;
		case '\r': buf_puts(b, "\\r"); break;
		case '\a': buf_puts(b, "\\a"); break;
		case '\b': buf_puts(b, "\\b"); break;
		case '\f': buf_puts(b, "\\f"); break;
		case '\v': buf_puts(b, "\\v"); break;
		default:
			if (*p < 0x20 || *p == 0x7f || *p >= 0x80)
				buf_printf(b, "\\x%02x", *p);
			else
				buf_putc(b, (char)*p);
		}
	}
	buf_putc(b, '"');
}

/* Go's %#v of a []string: []string(nil) when empty, else []string{"a", "b"}. */
static void go_string_slice(buf *b, const char *const *v, size_t n)
{
	if (n == 0) {
		buf_puts(b, "[]string(nil)");
		return;
	}
	buf_puts(b, "[]string{");
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_puts(b, ", ");
		go_quote(b, v[i]);
	}
	buf_putc(b, '}');
}

/* Adds one field error line to an aggregate (k8s: utilerrors aggregate drops repeats). */
static void agg_add(char ***msgs, size_t *n, char *msg)
{
	for (size_t i = 0; i < *n; i++) {
		if (strcmp((*msgs)[i], msg) == 0) {
			free(msg);
			return;
		}
	}
	*msgs = xrealloc(*msgs, (*n + 1) * sizeof(char *));
	(*msgs)[(*n)++] = msg;
}

/* k8s: Go strconv.ParseInt(s, 10, 64). */
static bool parse_int64(const char *s, long long *out)
{
	const char *p = s;
	if (*p == '+' || *p == '-')
		p++;
	if (!*p)
		return false;
	for (const char *q = p; *q; q++)
		if (*q < '0' || *q > '9')
			return false;
	errno = 0;
	char *end;
	long long v = strtoll(s, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

static char *field_invalid_str(const char *path, const char *value, const char *detail)
{
	_cleanup_buf_ buf b = {0};
	buf_printf(&b, "%s: Invalid value: ", path);
	go_quote(&b, value);
	buf_printf(&b, ": %s", detail);
	return buf_take(&b);
}

static char *field_invalid_list(const char *const *v, size_t n, const char *detail)
{
	_cleanup_buf_ buf b = {0};
	buf_puts(&b, "values: Invalid value: ");
	go_string_slice(&b, v, n);
	buf_printf(&b, ": %s", detail);
	return buf_take(&b);
}

/* k8s: labels.NewRequirement's checks; returns the aggregate message or NULL. */
static char *requirement_problems(const char *key, label_op op, const char *const *values,
				  size_t n)
{
	char **msgs = NULL;
	size_t nmsgs = 0;
	char *p = label_key_problems(key);
	if (p) {
		agg_add(&msgs, &nmsgs, field_invalid_str("key", key, p));
		free(p);
	}
	switch (op) {
	case LABEL_OP_IN:
	case LABEL_OP_NOT_IN:
		if (n == 0)
			agg_add(&msgs, &nmsgs, field_invalid_list(values, n,
				"for 'in', 'notin' operators, values set can't be empty"));
		break;
	case LABEL_OP_EQ:
	case LABEL_OP_DEQ:
	case LABEL_OP_NEQ:
		if (n != 1)
			agg_add(&msgs, &nmsgs, field_invalid_list(values, n,
				"exact-match compatibility requires one single value"));
		break;
	case LABEL_OP_EXISTS:
	case LABEL_OP_NOT_EXISTS:
		if (n != 0)
			agg_add(&msgs, &nmsgs, field_invalid_list(values, n,
				"values set must be empty for exists and does not exist"));
		break;
	case LABEL_OP_GT:
	case LABEL_OP_LT:
		if (n != 1)
			agg_add(&msgs, &nmsgs, field_invalid_list(values, n,
				"for 'Gt', 'Lt' operators, exactly one value is required"));
		for (size_t i = 0; i < n; i++) {
			long long dummy;
			if (!parse_int64(values[i], &dummy)) {
				char path[48];
				snprintf(path, sizeof path, "values[%zu]", i);
				agg_add(&msgs, &nmsgs, field_invalid_str(path, values[i],
					"for 'Gt', 'Lt' operators, the value must be an integer"));
			}
		}
		break;
	}
	for (size_t i = 0; i < n; i++) {
		p = label_value_problems(values[i]);
		if (p) {
			_cleanup_free_ char *path = xasprintf("values[%zu][%s]", i, key);
			agg_add(&msgs, &nmsgs, field_invalid_str(path, values[i], p));
			free(p);
		}
	}
	if (nmsgs == 0)
		return NULL;
	_cleanup_buf_ buf b = {0};
	if (nmsgs > 1)
		buf_putc(&b, '[');
	for (size_t i = 0; i < nmsgs; i++) {
		if (i)
			buf_puts(&b, ", ");
		buf_puts(&b, msgs[i]);
		free(msgs[i]);
	}
	free(msgs);
	if (nmsgs > 1)
		buf_putc(&b, ']');
	return buf_take(&b);
}

/* ---- selector building ---- */

static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

label_selector *label_selector_new(void)
{
	return xcalloc(1, sizeof(label_selector));
}

static void req_clear(label_req *r)
{
	free(r->key);
	for (size_t i = 0; i < r->nvalues; i++)
		free(r->values[i]);
	free(r->values);
}

void label_selector_free(label_selector *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		req_clear(&s->reqs[i]);
	free(s->reqs);
	free(s);
}

void cleanup_label_selectorp(label_selector **s)
{
	label_selector_free(*s);
}

/* Inserts at position at (sorted) or at the end (at_end, for the parser, which sorts once
 * at the end). */
static void put_req(label_selector *s, bool at_end, const char *key, label_op op,
		    const char *const *values, size_t n)
{
	size_t at = s->n;
	while (!at_end && at > 0 && strcmp(s->reqs[at - 1].key, key) > 0)
		at--;
	s->reqs = xrealloc(s->reqs, (s->n + 1) * sizeof(label_req));
	memmove(&s->reqs[at + 1], &s->reqs[at], (s->n - at) * sizeof(label_req));
	s->n++;
	label_req *r = &s->reqs[at];
	r->key = xstrdup(key);
	r->op = op;
	r->nvalues = n;
	r->values = n ? xcalloc(n, sizeof(char *)) : NULL;
	for (size_t i = 0; i < n; i++)
		r->values[i] = xstrdup(values[i]);
}

int label_selector_add(label_selector *s, const char *key, label_op op, const char *const *values,
		       size_t nvalues, terr **err)
{
	_cleanup_free_ char *problems = requirement_problems(key, op, values, nvalues);
	if (problems)
		return terr_bad_request(err, "%s", problems);
	put_req(s, false, key, op, values, nvalues);
	return 0;
}

bool label_selector_empty(const label_selector *s)
{
	return !s || s->n == 0;
}

/* ---- lexer (k8s: labels.Lexer) ---- */

enum tok {
	T_END, T_CLOSEPAR, T_COMMA, T_NOT, T_DEQ, T_EQ, T_GT, T_IDENT, T_IN, T_LT, T_NEQ, T_NOTIN,
	T_OPENPAR,
};

struct token {
	enum tok t;
	const char *lit;
	size_t n;
};

static bool lx_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool lx_special(char c)
{
	return c == '=' || c == '!' || c == '(' || c == ')' || c == ',' || c == '>' || c == '<';
}

/* Splits s into tokens ending with T_END. Caller frees the array. */
static struct token *lex(const char *s, size_t *count)
{
	size_t n = 0, cap = 8;
	struct token *v = xmalloc(cap * sizeof *v);
	const char *p = s;
	for (;;) {
		while (lx_space(*p))
			p++;
		if (n == cap) {
			cap *= 2;
			v = xrealloc(v, cap * sizeof *v);
		}
		struct token *t = &v[n++];
		t->lit = p;
		if (!*p) {
			t->t = T_END;
			t->n = 0;
			break;
		}
		if (lx_special(*p)) {
			t->n = 1;
			switch (*p) {
			case '=': t->t = T_EQ; break;
			case '!': t->t = T_NOT; break;
			case '(': t->t = T_OPENPAR; break;
			case ')': t->t = T_CLOSEPAR; break;
			case ',': t->t = T_COMMA; break;
			case '>': t->t = T_GT; break;
			default: t->t = T_LT; break;
			}
			if (p[1] == '=' && (*p == '!' || *p == '=')) {
				t->t = *p == '!' ? T_NEQ : T_DEQ;
				t->n = 2;
			}
			p += t->n;
			continue;
		}
		while (*p && !lx_special(*p) && !lx_space(*p))
			p++;
		t->n = (size_t)(p - t->lit);
		t->t = T_IDENT;
		if (t->n == 2 && memcmp(t->lit, "in", 2) == 0)
			t->t = T_IN;
		else if (t->n == 5 && memcmp(t->lit, "notin", 5) == 0)
			t->t = T_NOTIN;
	}
	*count = n;
	return v;
}

/* ---- parser (k8s: labels.Parser) ---- */

struct parser {
	struct token *toks;
	size_t pos;
	char *err; /* first error, owned */
};

/* In the Values context "in" and "notin" are plain identifiers. */
static enum tok as_value(enum tok t)
{
	return t == T_IN || t == T_NOTIN ? T_IDENT : t;
}

static struct token *peek(struct parser *p)
{
	return &p->toks[p->pos];
}

static struct token *next(struct parser *p)
{
	struct token *t = &p->toks[p->pos];
	if (t->t != T_END)
		p->pos++;
	return t;
}

/* Records "found '<literal of t>'<rest>" as the parse error. */
static int fail(struct parser *p, const struct token *t, const char *rest)
{
	p->err = xasprintf("found '%.*s'%s", (int)t->n, t->lit, rest);
	return -1;
}

/* A set of strings: collected in any order, then sorted and deduplicated by
 * strset_finish, as Go's sets.String.List() gives them. */
struct strset {
	char **v;
	size_t n, cap;
};

static void strset_add(struct strset *s, const char *p, size_t n)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 4;
		s->v = xrealloc(s->v, s->cap * sizeof(char *));
	}
	s->v[s->n++] = xstrndup(p, n);
}

static void strset_finish(struct strset *s)
{
	if (s->n < 2)
		return;
	qsort(s->v, s->n, sizeof(char *), cmp_strp);
	size_t k = 1;
	for (size_t i = 1; i < s->n; i++) {
		if (strcmp(s->v[i], s->v[k - 1]) == 0)
			free(s->v[i]);
		else
			s->v[k++] = s->v[i];
	}
	s->n = k;
}

static void strset_free(struct strset *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
}

static int parse_identifiers_list(struct parser *p, struct strset *set)
{
	for (;;) {
		struct token *t = next(p);
		switch (as_value(t->t)) {
		case T_IDENT: {
			strset_add(set, t->lit, t->n);
			struct token *t2 = peek(p);
			if (t2->t == T_COMMA)
				continue;
			if (t2->t == T_CLOSEPAR)
				return 0;
			return fail(p, t2, ", expected: ',' or ')'");
		}
		case T_COMMA: {
			if (set->n == 0)
				strset_add(set, "", 0);
			enum tok t2 = as_value(peek(p)->t);
			if (t2 == T_CLOSEPAR) {
				strset_add(set, "", 0);
				return 0;
			}
			if (t2 == T_COMMA) {
				next(p);
				strset_add(set, "", 0);
			}
			break;
		}
		default:
			return fail(p, t, ", expected: ',', or identifier");
		}
	}
}

static int parse_values(struct parser *p, struct strset *set)
{
	struct token *t = next(p);
	if (t->t != T_OPENPAR)
		return fail(p, t, " expected: '('");
	struct token *la = peek(p);
	switch (as_value(la->t)) {
	case T_IDENT:
	case T_COMMA:
		if (parse_identifiers_list(p, set) < 0)
			return -1;
		if (next(p)->t != T_CLOSEPAR)
			return fail(p, la, ", expected: ')'");
		return 0;
	case T_CLOSEPAR:
		next(p);
		strset_add(set, "", 0);
		return 0;
	default:
		return fail(p, la, ", expected: ',', ')' or identifier");
	}
}

static int parse_exact_value(struct parser *p, struct strset *set)
{
	enum tok la = as_value(peek(p)->t);
	if (la == T_END || la == T_COMMA) {
		strset_add(set, "", 0);
		return 0;
	}
	struct token *t = next(p);
	if (as_value(t->t) == T_IDENT) {
		strset_add(set, t->lit, t->n);
		return 0;
	}
	return fail(p, t, ", expected: identifier");
}

static int parse_requirement(struct parser *p, label_selector *s)
{
	bool not_exists = false;
	struct token *t = next(p);
	if (t->t == T_NOT) {
		not_exists = true;
		t = next(p);
	}
	if (as_value(t->t) != T_IDENT)
		return fail(p, t, ", expected: identifier");
	_cleanup_free_ char *key = xstrndup(t->lit, t->n);
	_cleanup_free_ char *kp = label_key_problems(key);
	if (kp) {
		_cleanup_buf_ buf b = {0};
		buf_puts(&b, "<nil>: Invalid value: ");
		go_quote(&b, key);
		buf_printf(&b, ": %s", kp);
		p->err = buf_take(&b);
		return -1;
	}
	enum tok la = as_value(peek(p)->t);
	label_op op;
	struct strset set = {0};
	if (not_exists || la == T_END || la == T_COMMA) {
		op = not_exists ? LABEL_OP_NOT_EXISTS : LABEL_OP_EXISTS;
	} else {
		/* KeyAndOperator context: "in"/"notin" are operators here. */
		t = next(p);
		switch (t->t) {
		case T_IN: op = LABEL_OP_IN; break;
		case T_NOTIN: op = LABEL_OP_NOT_IN; break;
		case T_EQ: op = LABEL_OP_EQ; break;
		case T_DEQ: op = LABEL_OP_DEQ; break;
		case T_NEQ: op = LABEL_OP_NEQ; break;
		case T_GT: op = LABEL_OP_GT; break;
		case T_LT: op = LABEL_OP_LT; break;
		default:
			return fail(p, t, ", expected: in, notin, =, ==, !=, gt, lt");
		}
		int rc = (op == LABEL_OP_IN || op == LABEL_OP_NOT_IN) ? parse_values(p, &set)
								      : parse_exact_value(p, &set);
		if (rc < 0) {
			strset_free(&set);
			return -1;
		}
	}
	strset_finish(&set);
	char *problems = requirement_problems(key, op, (const char *const *)set.v, set.n);
	if (problems) {
		p->err = problems;
		strset_free(&set);
		return -1;
	}
	put_req(s, true, key, op, (const char *const *)set.v, set.n);
	strset_free(&set);
	return 0;
}

struct ranked_req {
	label_req r;
	size_t rank;
};

static int cmp_ranked(const void *a, const void *b)
{
	const struct ranked_req *x = a, *y = b;
	int c = strcmp(x->r.key, y->r.key);
	return c ? c : x->rank < y->rank ? -1 : 1;
}

/* k8s: Parse sorts the requirements by key (stably here). */
static void sort_reqs(label_selector *s)
{
	if (s->n < 2)
		return;
	struct ranked_req *v = xcalloc(s->n, sizeof *v);
	for (size_t i = 0; i < s->n; i++)
		v[i] = (struct ranked_req){s->reqs[i], i};
	qsort(v, s->n, sizeof *v, cmp_ranked);
	for (size_t i = 0; i < s->n; i++)
		s->reqs[i] = v[i].r;
	free(v);
}

label_selector *label_selector_parse(const char *str, terr **err)
{
	_cleanup_label_selector_ label_selector *s = label_selector_new();
	label_selector *ret;
	if (!str) {
		ret = s;
		s = NULL;
		return ret;
	}
	size_t ntok;
	struct parser p = {.toks = lex(str, &ntok)};
	int rc = 0;
	for (;;) {
		struct token *t = peek(&p);
		enum tok tt = as_value(t->t);
		if (tt == T_END)
			break;
		if (tt != T_IDENT && tt != T_NOT) {
			rc = fail(&p, t, ", expected: !, identifier, or 'end of string'");
			break;
		}
		if (parse_requirement(&p, s) < 0) {
			char *inner = p.err;
			p.err = xasprintf("unable to parse requirement: %s", inner);
			free(inner);
			rc = -1;
			break;
		}
		t = next(&p);
		if (t->t == T_END)
			break;
		if (t->t != T_COMMA) {
			rc = fail(&p, t, ", expected: ',' or 'end of string'");
			break;
		}
		struct token *t2 = peek(&p);
		if (as_value(t2->t) != T_IDENT && t2->t != T_NOT) {
			rc = fail(&p, t2, ", expected: identifier after ','");
			break;
		}
	}
	free(p.toks);
	if (rc < 0) {
		terr_bad_request(err, "%s", p.err);
		free(p.err);
		return NULL;
	}
	sort_reqs(s);
	ret = s;
	s = NULL;
	return ret;
}

/* ---- metav1.LabelSelector (k8s: LabelSelectorAsSelector) ---- */

static int from_json_values(json_t *vals, const char ***out, size_t *n, terr **err)
{
	*out = NULL;
	*n = 0;
	if (!vals || json_is_null(vals))
		return 0;
	if (!json_is_array(vals))
		return terr_bad_request(err, "matchExpressions.values: must be a list of strings");
	*out = xcalloc(json_array_size(vals) + 1, sizeof(char *));
	size_t i;
	json_t *v;
	json_array_foreach(vals, i, v) {
		if (!json_is_string(v)) {
			free(*out);
			*out = NULL;
			return terr_bad_request(err, "matchExpressions.values: must be a list of strings");
		}
		(*out)[(*n)++] = json_string_value(v);
	}
	return 0;
}

label_selector *label_selector_from_json(json_t *sel, terr **err)
{
	_cleanup_label_selector_ label_selector *s = label_selector_new();
	if (sel && !json_is_null(sel) && !json_is_object(sel)) {
		terr_bad_request(err, "a label selector must be an object");
		return NULL;
	}
	json_t *ml = json_object_get(sel, "matchLabels");
	json_t *me = json_object_get(sel, "matchExpressions");
	if (ml && !json_is_null(ml)) {
		if (!json_is_object(ml)) {
			terr_bad_request(err, "matchLabels: must be a map of strings");
			return NULL;
		}
		const char *k;
		json_t *v;
		json_object_foreach(ml, k, v) {
			if (!json_is_string(v)) {
				terr_bad_request(err, "matchLabels: must be a map of strings");
				return NULL;
			}
			const char *val = json_string_value(v);
			if (label_selector_add(s, k, LABEL_OP_EQ, &val, 1, err) < 0)
				return NULL;
		}
	}
	if (me && !json_is_null(me)) {
		if (!json_is_array(me)) {
			terr_bad_request(err, "matchExpressions: must be a list");
			return NULL;
		}
		size_t i;
		json_t *e;
		json_array_foreach(me, i, e) {
			const char *key = json_string_value(json_object_get(e, "key"));
			const char *ops = json_string_value(json_object_get(e, "operator"));
			label_op op;
			if (str_eq(ops, "In")) {
				op = LABEL_OP_IN;
			} else if (str_eq(ops, "NotIn")) {
				op = LABEL_OP_NOT_IN;
			} else if (str_eq(ops, "Exists")) {
				op = LABEL_OP_EXISTS;
			} else if (str_eq(ops, "DoesNotExist")) {
				op = LABEL_OP_NOT_EXISTS;
			} else {
				_cleanup_buf_ buf b = {0};
				go_quote(&b, ops ? ops : "");
				terr_bad_request(err, "%s is not a valid label selector operator", b.p);
				return NULL;
			}
			_cleanup_free_ const char **vals = NULL;
			size_t n;
			if (from_json_values(json_object_get(e, "values"), &vals, &n, err) < 0)
				return NULL;
			if (label_selector_add(s, key ? key : "", op, vals, n, err) < 0)
				return NULL;
		}
	}
	label_selector *ret = s;
	s = NULL;
	return ret;
}

/* ---- matching, printing ---- */

static bool req_has_value(const label_req *r, const char *v)
{
	for (size_t i = 0; i < r->nvalues; i++)
		if (strcmp(r->values[i], v) == 0)
			return true;
	return false;
}

/* k8s: labels.Requirement.Matches. */
static bool req_matches(const label_req *r, json_t *labels)
{
	json_t *jv = json_is_object(labels) ? json_object_get(labels, r->key) : NULL;
	const char *v = jv ? (json_is_string(jv) ? json_string_value(jv) : "") : NULL;
	switch (r->op) {
	case LABEL_OP_IN:
	case LABEL_OP_EQ:
	case LABEL_OP_DEQ:
		return v && req_has_value(r, v);
	case LABEL_OP_NOT_IN:
	case LABEL_OP_NEQ:
		return !v || !req_has_value(r, v);
	case LABEL_OP_EXISTS:
		return v != NULL;
	case LABEL_OP_NOT_EXISTS:
		return v == NULL;
	case LABEL_OP_GT:
	case LABEL_OP_LT: {
		long long have, want;
		if (!v || !parse_int64(v, &have) || r->nvalues != 1 || !parse_int64(r->values[0], &want))
			return false;
		return r->op == LABEL_OP_GT ? have > want : have < want;
	}
	}
	return false;
}

bool label_selector_matches(const label_selector *s, json_t *labels)
{
	if (!s)
		return true;
	for (size_t i = 0; i < s->n; i++)
		if (!req_matches(&s->reqs[i], labels))
			return false;
	return true;
}

/* k8s: labels.Requirement.String: values printed sorted. */
static void req_string(buf *b, const label_req *r)
{
	static const char *const ops[] = {
		[LABEL_OP_IN] = " in ", [LABEL_OP_NOT_IN] = " notin ", [LABEL_OP_EQ] = "=",
		[LABEL_OP_DEQ] = "==",  [LABEL_OP_NEQ] = "!=",         [LABEL_OP_GT] = ">",
		[LABEL_OP_LT] = "<",
	};
	if (r->op == LABEL_OP_NOT_EXISTS)
		buf_putc(b, '!');
	buf_puts(b, r->key);
	if (r->op == LABEL_OP_EXISTS || r->op == LABEL_OP_NOT_EXISTS)
		return;
	buf_puts(b, ops[r->op]);
	bool paren = r->op == LABEL_OP_IN || r->op == LABEL_OP_NOT_IN;
	if (paren)
		buf_putc(b, '(');
	_cleanup_free_ char **sorted = xcalloc(r->nvalues + 1, sizeof(char *));
	memcpy(sorted, r->values, r->nvalues * sizeof(char *));
	qsort(sorted, r->nvalues, sizeof(char *), cmp_strp);
	for (size_t i = 0; i < r->nvalues; i++) {
		if (i)
			buf_putc(b, ',');
		buf_puts(b, sorted[i]);
	}
	if (paren)
		buf_putc(b, ')');
}

char *label_selector_string(const label_selector *s)
{
	_cleanup_buf_ buf b = {0};
	buf_puts(&b, "");
	for (size_t i = 0; s && i < s->n; i++) {
		if (i)
			buf_putc(&b, ',');
		req_string(&b, &s->reqs[i]);
	}
	return buf_take(&b);
}

const char *label_selector_exact_value(const label_selector *s, const char *key)
{
	/* k8s: RequiresExactMatch looks at the first requirement on key only. */
	for (size_t i = 0; s && i < s->n; i++) {
		const label_req *r = &s->reqs[i];
		if (strcmp(r->key, key) != 0)
			continue;
		if ((r->op == LABEL_OP_EQ || r->op == LABEL_OP_DEQ || r->op == LABEL_OP_IN) &&
		    r->nvalues == 1)
			return r->values[0];
		return NULL;
	}
	return NULL;
}

bool labels_match_map(json_t *match_labels, json_t *labels)
{
	const char *k;
	json_t *v;
	if (!json_is_object(match_labels))
		return true;
	json_object_foreach(match_labels, k, v) {
		json_t *have = json_is_object(labels) ? json_object_get(labels, k) : NULL;
		if (!have || !json_is_string(have) || !json_is_string(v) ||
		    strcmp(json_string_value(have), json_string_value(v)) != 0)
			return false;
	}
	return true;
}

char *labels_format(json_t *labels)
{
	size_t n = json_is_object(labels) ? json_object_size(labels) : 0;
	if (n == 0)
		return xstrdup("<none>");
	_cleanup_free_ const char **keys = xcalloc(n, sizeof(char *));
	size_t i = 0;
	const char *k;
	json_t *v;
	json_object_foreach(labels, k, v)
		keys[i++] = k;
	qsort(keys, n, sizeof(char *), cmp_strp);
	_cleanup_buf_ buf b = {0};
	for (i = 0; i < n; i++) {
		const char *val = json_string_value(json_object_get(labels, keys[i]));
		buf_printf(&b, "%s%s=%s", i ? "," : "", keys[i], val ? val : "");
	}
	return buf_take(&b);
}
