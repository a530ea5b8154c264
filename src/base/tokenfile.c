/* tokenfile.c — the static token file: a small CSV reader with encoding/csv's rules (no
 * trimming, quoted fields with "" escapes that may span lines, blank lines skipped) and a
 * lookup that compares SHA-256 digests of all tokens in constant time.
 * Not for: general CSV files or other authenticators. */
#include "base/tokenfile.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/pki.h"
#include "base/util.h"

typedef struct token_rec {
	unsigned char digest[32];
	token_entry e;
} token_rec;

struct token_table {
	token_rec *v;
	size_t n, cap;
};

static void digest(const char *s, size_t n, unsigned char out[32])
{
	unsigned int len = 32;
	if (!EVP_Digest(s, n, out, &len, EVP_sha256(), NULL))
		abort();
}

static void entry_free(token_entry *e)
{
	for (size_t i = 0; i < e->ngroups; i++)
		free(e->groups[i]);
	free(e->groups);
	free(e->user);
	free(e->uid);
}

void token_table_free(token_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		entry_free(&t->v[i].e);
	free(t->v);
	free(t);
}

typedef struct record {
	buf *f;
	size_t n, cap;
} record;

static void record_reset(record *r)
{
	for (size_t i = 0; i < r->n; i++)
		buf_free(&r->f[i]);
	r->n = 0;
}

static buf *record_new_field(record *r)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 8;
		r->f = xrealloc(r->f, r->cap * sizeof *r->f);
	}
	r->f[r->n] = (buf){0};
	buf_add(&r->f[r->n], "", 0);
	return &r->f[r->n++];
}

/* Reads one record starting at *pos; 1 when read, 0 at the end, -1 on bad quoting. */
static int read_record(const char *s, size_t n, size_t *pos, size_t *line, record *r,
                       const char **why)
{
	size_t i = *pos;
	/* Blank lines are not records. */
	while (i < n && (s[i] == '\n' || (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n'))) {
		if (s[i] == '\n')
			(*line)++;
		i++;
	}
	if (i >= n)
		return 0;
	record_reset(r);
	for (;;) {
		buf *f = record_new_field(r);
		if (i < n && s[i] == '"') {
			i++;
			for (;;) {
				if (i >= n) {
					*why = "extraneous or missing \" in quoted-field";
					return -1;
				}
				if (s[i] == '"') {
					if (i + 1 < n && s[i + 1] == '"') {
						buf_putc(f, '"');
						i += 2;
						continue;
					}
					i++;
					break;
				}
				if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n') {
					i++;
					continue;
				}
				if (s[i] == '\n')
					(*line)++;
				buf_putc(f, s[i++]);
			}
			if (i < n && s[i] == '\r' && i + 1 < n && s[i + 1] == '\n')
				i++;
			if (i < n && s[i] != ',' && s[i] != '\n') {
				*why = "extraneous or missing \" in quoted-field";
				return -1;
			}
		} else {
			while (i < n && s[i] != ',' && s[i] != '\n') {
				if (s[i] == '"') {
					*why = "bare \" in non-quoted-field";
					return -1;
				}
				if (!(s[i] == '\r' && i + 1 < n && s[i + 1] == '\n'))
					buf_putc(f, s[i]);
				i++;
			}
		}
		if (i < n && s[i] == ',') {
			i++;
			continue;
		}
		if (i < n) { /* '\n' */
			(*line)++;
			i++;
		}
		break;
	}
	*pos = i;
	return 1;
}

static void split_groups(token_entry *e, const char *s)
{
	/* Like strings.Split: "" gives one empty group, "a,,b" keeps the empty middle. */
	for (const char *p = s;;) {
		const char *c = strchr(p, ',');
		size_t len = c ? (size_t)(c - p) : strlen(p);
		e->groups = xrealloc(e->groups, (e->ngroups + 1) * sizeof *e->groups);
		e->groups[e->ngroups++] = xstrndup(p, len);
		if (!c)
			break;
		p = c + 1;
	}
}

token_table *token_file_load(const char *path, terr **err)
{
	_cleanup_free_ char *data = NULL;
	size_t n;
	if (pki_read_file(path, &data, &n, err) < 0)
		return NULL;
	token_table *t = xcalloc(1, sizeof *t);
	record r = {0};
	size_t pos = 0, line = 1;
	const char *why = NULL;
	int got;
	while ((got = read_record(data, n, &pos, &line, &r, &why)) == 1) {
		if (r.n < 3) {
			terr_bad_request(err,
			                 "token file '%s' must have at least 3 columns (token, "
			                 "user name, user uid), found %zu",
			                 path, r.n);
			got = -2;
			break;
		}
		if (r.f[0].n == 0)
			continue; /* k8s: records with an empty token are ignored */
		unsigned char d[32];
		digest(r.f[0].p, r.f[0].n, d);
		token_rec *rec = NULL;
		for (size_t i = 0; i < t->n; i++)
			if (memcmp(t->v[i].digest, d, 32) == 0)
				rec = &t->v[i];
		if (rec) {
			entry_free(&rec->e); /* k8s: a repeated token takes the later record */
		} else {
			if (t->n == t->cap) {
				t->cap = t->cap ? t->cap * 2 : 16;
				t->v = xrealloc(t->v, t->cap * sizeof *t->v);
			}
			rec = &t->v[t->n++];
			memcpy(rec->digest, d, 32);
		}
		rec->e = (token_entry){.user = xstrdup(r.f[1].p), .uid = xstrdup(r.f[2].p)};
		if (r.n >= 4)
			split_groups(&rec->e, r.f[3].p);
	}
	record_reset(&r);
	free(r.f);
	if (got < 0) {
		if (got == -1)
			terr_bad_request(err, "token file '%s': record on line %zu: %s", path, line,
			                 why);
		token_table_free(t);
		return NULL;
	}
	return t;
}

const token_entry *token_lookup(const token_table *t, const char *token)
{
	if (!t || !token || !*token)
		return NULL;
	unsigned char d[32];
	digest(token, strlen(token), d);
	const token_entry *found = NULL;
	for (size_t i = 0; i < t->n; i++) {
		/* No early exit: every digest is compared in full. */
		if (CRYPTO_memcmp(t->v[i].digest, d, 32) == 0)
			found = &t->v[i].e;
	}
	return found;
}
