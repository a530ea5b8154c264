/* crdschema_regex.c — `pattern` of custom resource schemas: kube matches Go (RE2) regular
 * expressions; this file translates them to POSIX extended regular expressions (\d, \s,
 * \w, (?:...), (?i), lazy quantifiers, escapes inside classes, '.' not matching newline)
 * and keeps the last compiled ones in a small cache.
 *
 * Not for: anything but a yes/no match. A construct POSIX lacks (\p{..}, non-ASCII
 * classes, flags other than a leading (?i) or (?s)) makes the pattern unusable here: it
 * is then not checked (cs_pattern answers -1) rather than misjudged.
 */
#include <ctype.h>
#include <pthread.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "api/crdschema-internal.h"
#include "base/util.h"

static void lit(buf *b, unsigned c)
{
	if (strchr(".[]()*+?{}|^$\\", (int)c))
		buf_putc(b, '\\');
	buf_putc(b, (char)c);
}

/* Appends the UTF-8 bytes of code point cp as literals. */
static void lit_cp(buf *b, unsigned long cp)
{
	if (cp < 0x80) {
		lit(b, (unsigned)cp);
	} else if (cp < 0x800) {
		buf_putc(b, (char)(0xc0 | (cp >> 6)));
		buf_putc(b, (char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		buf_putc(b, (char)(0xe0 | (cp >> 12)));
		buf_putc(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
		buf_putc(b, (char)(0x80 | (cp & 0x3f)));
	} else {
		buf_putc(b, (char)(0xf0 | ((cp >> 18) & 0x07)));
		buf_putc(b, (char)(0x80 | ((cp >> 12) & 0x3f)));
		buf_putc(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
		buf_putc(b, (char)(0x80 | (cp & 0x3f)));
	}
}

/* A character class as a set of ASCII bytes, plus "any non-ASCII byte". */
typedef struct cset {
	bool in[128];
	bool high;
} cset;

static void add_range(cset *c, int a, int z)
{
	for (int i = a; i <= z && i < 128; i++)
		if (i > 0)
			c->in[i] = true;
}

/* Perl classes \d \s \w (upper case: complement); false for another letter. */
static bool perl_class(cset *c, char k)
{
	cset t = {0};
	switch (tolower((unsigned char)k)) {
	case 'd': add_range(&t, '0', '9'); break;
	case 's':
		for (const char *p = "\t\n\f\r "; *p; p++)
			t.in[(int)*p] = true;
		break;
	case 'w':
		add_range(&t, '0', '9');
		add_range(&t, 'A', 'Z');
		add_range(&t, 'a', 'z');
		t.in['_'] = true;
		break;
	default: return false;
	}
	bool neg = isupper((unsigned char)k);
	for (int i = 1; i < 128; i++)
		if (t.in[i] != neg)
			c->in[i] = true;
	if (neg)
		c->high = true;
	return true;
}

static bool posix_class(cset *c, const char *name, size_t n, bool neg)
{
	static const struct {
		const char *name;
		int (*fn)(int);
	} cls[] = {
		{"alnum", isalnum}, {"alpha", isalpha}, {"blank", isblank}, {"cntrl", iscntrl},
		{"digit", isdigit}, {"graph", isgraph}, {"lower", islower}, {"print", isprint},
		{"punct", ispunct}, {"space", isspace}, {"upper", isupper}, {"xdigit", isxdigit},
	};
	bool ascii = n == 5 && !memcmp(name, "ascii", 5), word = n == 4 && !memcmp(name, "word", 4);
	for (size_t k = 0; k < ARRAY_SIZE(cls) && !ascii && !word; k++) {
		if (strlen(cls[k].name) == n && !memcmp(cls[k].name, name, n)) {
			for (int i = 1; i < 128; i++)
				if ((cls[k].fn(i) != 0) != neg)
					c->in[i] = true;
			c->high |= neg;
			return true;
		}
	}
	if (ascii || word) {
		for (int i = 1; i < 128; i++)
			if ((ascii || isalnum(i) || i == '_') != neg)
				c->in[i] = true;
		c->high |= neg;
		return true;
	}
	return false;
}

/* One class member at *pp (not ']'): a byte or an escape. Returns the byte, -1 for a
 * Perl class added to c, -2 when unsupported. */
static int class_atom(const char **pp, cset *c)
{
	const char *p = *pp;
	if ((unsigned char)*p >= 0x80)
		return -2;
	if (*p != '\\') {
		*pp = p + 1;
		return (unsigned char)*p;
	}
	char k = p[1];
	*pp = p + 2;
	if (!k)
		return -2;
	if (perl_class(c, k))
		return -1;
	const char *m = strchr("a\af\fn\nr\rt\tv\v", k);
	if (m && (m - "a\af\fn\nr\rt\tv\v") % 2 == 0)
		return (unsigned char)m[1];
	if (isalnum((unsigned char)k))
		return -2; /* \x.., \p.., octal and the rest: not here */
	return (unsigned char)k;
}

/* Emits c as a POSIX bracket expression (or an equivalent). */
static bool emit_class(buf *b, cset *c, bool neg)
{
	bool rb = c->in[']'], dash = c->in['-'], caret = c->in['^'], lb = c->in['['];
	c->in[']'] = c->in['-'] = c->in['^'] = c->in['['] = false;
	_cleanup_buf_ buf body = {0};
	if (rb)
		buf_putc(&body, ']');
	for (int i = 1; i < 128; i++) {
		if (!c->in[i])
			continue;
		int j = i;
		while (j + 1 < 128 && c->in[j + 1])
			j++;
		buf_putc(&body, (char)i);
		if (j > i + 1)
			buf_putc(&body, '-');
		if (j > i)
			buf_putc(&body, (char)j);
		i = j;
	}
	if (c->high) {
		buf_putc(&body, (char)0x80);
		buf_putc(&body, '-');
		buf_putc(&body, (char)0xff);
	}
	if (lb)
		buf_putc(&body, '[');
	if (!body.n && caret && !neg) { /* only ^ (and maybe -): it must not come first */
		buf_puts(b, dash ? "[-^]" : "\\^");
		return true;
	}
	if (caret)
		buf_putc(&body, '^');
	if (dash)
		buf_putc(&body, '-');
	if (!body.n) {
		if (!neg)
			return false; /* matches nothing */
		buf_puts(b, "(.|\n)");
		return true;
	}
	buf_puts(b, neg ? "[^" : "[");
	buf_puts(b, body.p);
	buf_putc(b, ']');
	return true;
}

/* A class starting after '['; *pp ends after its ']'. */
static bool translate_class(const char **pp, buf *b)
{
	const char *p = *pp;
	cset c = {0};
	bool neg = *p == '^';
	if (neg)
		p++;
	bool first = true;
	while (*p && (*p != ']' || first)) {
		first = false;
		if (p[0] == '[' && p[1] == ':') {
			const char *e = strstr(p + 2, ":]");
			bool n = p[2] == '^';
			if (!e || !posix_class(&c, p + 2 + n, (size_t)(e - p - 2 - n), n))
				return false;
			p = e + 2;
			continue;
		}
		int a = class_atom(&p, &c);
		if (a == -2)
			return false;
		if (a == -1)
			continue;
		if (p[0] == '-' && p[1] && p[1] != ']') {
			p++;
			int z = class_atom(&p, &c);
			if (z < 0 || z < a)
				return false;
			add_range(&c, a, z);
		} else {
			add_range(&c, a, a);
		}
	}
	if (*p != ']')
		return false;
	*pp = p + 1;
	return emit_class(b, &c, neg);
}

/* True when p starts a valid repetition {n}, {n,} or {n,m}; *len is its length. */
static bool repetition(const char *p, size_t *len)
{
	const char *q = p + 1;
	if (!isdigit((unsigned char)*q))
		return false;
	while (isdigit((unsigned char)*q))
		q++;
	if (*q == ',') {
		q++;
		while (isdigit((unsigned char)*q))
			q++;
	}
	if (*q != '}')
		return false;
	*len = (size_t)(q - p + 1);
	return true;
}

/* k8s: Go refuses patterns whose repetitions expand too far ({n} above 1000, nesting
 * that multiplies into a huge program); glibc would expand them too, so they are refused
 * here as well. Sizes are estimated on the source: atoms count one, {n,m} multiplies the
 * atom or group before it. */
static bool too_large(const char *p)
{
	size_t stack[100], cur = 0, last = 0;
	int depth = 0;
	while (*p) {
		size_t rep;
		if (*p == '\\') {
			p += p[1] ? 2 : 1;
			cur++, last = 1;
		} else if (*p == '[') {
			p++;
			if (*p == '^')
				p++;
			if (*p == ']')
				p++;
			while (*p && *p != ']')
				p += (*p == '\\' && p[1]) ? 2 : 1;
			if (*p)
				p++;
			cur++, last = 1;
		} else if (*p == '(') {
			if (depth == (int)ARRAY_SIZE(stack))
				return true;
			stack[depth++] = cur;
			cur = 0;
			p++;
		} else if (*p == ')') {
			last = cur;
			cur = depth ? stack[--depth] + cur : cur;
			p++;
		} else if (*p == '{' && repetition(p, &rep)) {
			unsigned long lo = strtoul(p + 1, NULL, 10), hi = lo;
			const char *comma = memchr(p, ',', rep);
			if (comma && comma[1] != '}')
				hi = strtoul(comma + 1, NULL, 10);
			else if (comma)
				hi = lo + 1;
			if (lo > 1000 || hi > 1000)
				return true;
			cur += last * (hi ? hi - 1 : 0);
			last *= hi ? hi : 1;
			p += rep;
		} else {
			cur++, last = 1;
			p++;
		}
		if (cur > 20000 || last > 20000)
			return true;
	}
	return false;
}

/* Translates a Go pattern to POSIX ERE; NULL when it cannot. */
static char *translate(const char *p, int *cflags)
{
	buf b = {0};
	bool dotall = false;
	if (too_large(p))
		return NULL;
	while (p[0] == '(' && p[1] == '?' && (p[2] == 'i' || p[2] == 's') && p[3] == ')') {
		if (p[2] == 'i')
			*cflags |= REG_ICASE;
		else
			dotall = true;
		p += 4;
	}
	buf_putc(&b, 0);
	b.n = 0;
	while (*p) {
		char c = *p;
		if (c == '\\') {
			char k = p[1];
			cset cs = {0};
			p += 2;
			if (!k)
				goto fail;
			if (k == 'b' || k == 'B') {
				buf_putc(&b, '\\');
				buf_putc(&b, k);
			} else if (k == 'A') {
				buf_putc(&b, '^');
			} else if (k == 'z') {
				buf_putc(&b, '$');
			} else if (k == 'Q') {
				const char *e = strstr(p, "\\E");
				size_t n = e ? (size_t)(e - p) : strlen(p);
				for (size_t i = 0; i < n; i++)
					lit(&b, (unsigned char)p[i]);
				p += n + (e ? 2 : 0);
			} else if (k == 'x') {
				char *end;
				unsigned long cp;
				if (*p == '{') {
					cp = strtoul(p + 1, &end, 16);
					if (end == p + 1 || *end != '}')
						goto fail;
					p = end + 1;
				} else {
					if (!isxdigit((unsigned char)p[0]) || !isxdigit((unsigned char)p[1]))
						goto fail;
					char h[3] = {p[0], p[1], 0};
					cp = strtoul(h, &end, 16);
					p += 2;
				}
				if (cp == 0 || cp > 0x10ffff)
					goto fail;
				lit_cp(&b, cp);
			} else if (perl_class(&cs, k)) {
				if (!emit_class(&b, &cs, false))
					goto fail;
			} else if (strchr("afnrtv", k)) {
				buf_putc(&b, "\a\f\n\r\t\v"[strchr("afnrtv", k) - "afnrtv"]);
			} else if (isalnum((unsigned char)k) || (unsigned char)k >= 0x80) {
				goto fail;
			} else {
				lit(&b, (unsigned char)k);
			}
			continue;
		}
		if (c == '[') {
			p++;
			if (!translate_class(&p, &b))
				goto fail;
			continue;
		}
		if (c == '(' && p[1] == '?') {
			if (p[2] == ':')
				p += 3;
			else if (p[2] == 'P' && p[3] == '<' && strchr(p, '>'))
				p = strchr(p, '>') + 1;
			else if (p[2] == '<' && strchr(p, '>'))
				p = strchr(p, '>') + 1;
			else
				goto fail;
			buf_putc(&b, '(');
			continue;
		}
		size_t rep;
		if (c == '{' && repetition(p, &rep)) {
			buf_add(&b, p, rep);
			p += rep;
			if (*p == '?')
				p++; /* lazy: the same yes/no answer */
			continue;
		}
		if (c == '{' || c == '}') {
			lit(&b, (unsigned char)c);
			p++;
			continue;
		}
		if (c == '.') {
			buf_puts(&b, dotall ? "(.|\n)" : "[^\n]");
			p++;
			continue;
		}
		buf_putc(&b, c);
		p++;
		if ((c == '*' || c == '+' || c == '?') && *p == '?')
			p++;
	}
	return buf_take(&b);
fail:
	buf_free(&b);
	return NULL;
}

#define NCACHE 64

static struct {
	char *pattern;
	regex_t re;
	bool ok;
} cache[NCACHE];
static size_t cache_next;
static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;

int cs_pattern(const char *pattern, const char *s, size_t n)
{
	pthread_mutex_lock(&cache_mu);
	size_t i;
	for (i = 0; i < NCACHE; i++)
		if (cache[i].pattern && strcmp(cache[i].pattern, pattern) == 0)
			break;
	if (i == NCACHE) {
		i = cache_next++ % NCACHE;
		if (cache[i].pattern) {
			if (cache[i].ok)
				regfree(&cache[i].re);
			free(cache[i].pattern);
		}
		cache[i].pattern = xstrdup(pattern);
		int flags = REG_EXTENDED | REG_NOSUB;
		_cleanup_free_ char *ere = translate(pattern, &flags);
		cache[i].ok = ere && regcomp(&cache[i].re, ere, flags) == 0;
	}
	int r = -1;
	if (cache[i].ok) {
#ifdef REG_STARTEND
		regmatch_t m[1] = {{.rm_so = 0, .rm_eo = (regoff_t)n}};
		r = regexec(&cache[i].re, s, 1, m, REG_STARTEND) == 0;
#else
		_cleanup_free_ char *z = xstrndup(s, n);
		r = regexec(&cache[i].re, z, 0, NULL, 0) == 0;
#endif
	}
	pthread_mutex_unlock(&cache_mu);
	return r;
}
