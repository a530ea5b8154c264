/* fieldset.c — field path sets (a sorted trie), their FieldsV1 encoding, and the types
 * that steer the typed walks (from the built-in schema table or a CRD schema).
 *
 * Not for: walking objects (fieldset_walk.c) or managedFields entries (apply.c).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "api/fieldset.h"
#include "api/patch.h"
#include "base/buf.h"
#include "base/json.h"
#include "base/util.h"

typedef struct fs_ent {
	fs_pe pe;
	bool member;
	fieldset *sub; /* NULL when no children */
} fs_ent;

struct fieldset {
	fs_ent *e; /* sorted by fs_pe_cmp */
	size_t n, cap;
};

/* ---- path elements ---- */

static void pe_free(fs_pe *pe)
{
	free(pe->name);
	json_decref(pe->val);
}

static fs_pe pe_copy(const fs_pe *pe)
{
	return (fs_pe){pe->kind, xstrdup(pe->name), json_incref(pe->val), pe->idx};
}

static int kind_rank(char k)
{
	return k == 'f' ? 0 : k == 'k' ? 1 : k == 'v' ? 2 : 3;
}

/* structured-merge-diff's value order: numbers, strings, bools, lists, maps, null. */
static int value_rank(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_INTEGER:
	case JSON_REAL:
		return 0;
	case JSON_STRING:
		return 1;
	case JSON_TRUE:
	case JSON_FALSE:
		return 2;
	case JSON_ARRAY:
		return 3;
	case JSON_OBJECT:
		return 4;
	default:
		return 5;
	}
}

/* The keys of an object, sorted, into k[cap] when they fit, else a new array (caller
 * frees it when it differs from k). */
static const char **sorted_keys_into(const json_t *o, size_t *n, const char **k, size_t cap)
{
	*n = json_object_size(o);
	if (*n > cap)
		k = xcalloc(*n, sizeof *k);
	size_t i = 0;
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)o, key, v)
	{
		/* Insertion sort: key lists are short. */
		size_t j = i++;
		while (j > 0 && strcmp(k[j - 1], key) > 0) {
			k[j] = k[j - 1];
			j--;
		}
		k[j] = key;
	}
	return k;
}

static const char **sorted_keys(const json_t *o, size_t *n)
{
	return sorted_keys_into(o, n, xcalloc(json_object_size(o) + 1, sizeof(char *)),
	                        json_object_size(o) + 1);
}

static int value_cmp(const json_t *a, const json_t *b)
{
	int ra = value_rank(a), rb = value_rank(b);
	if (ra != rb)
		return ra < rb ? -1 : 1;
	switch (ra) {
	case 0: {
		if (json_is_integer(a) && json_is_integer(b)) {
			json_int_t x = json_integer_value(a), y = json_integer_value(b);
			return x < y ? -1 : x > y;
		}
		double x = json_number_value(a), y = json_number_value(b);
		return x < y ? -1 : x > y;
	}
	case 1:
		return strcmp(json_string_value(a), json_string_value(b));
	case 2:
		return json_is_true(a) == json_is_true(b) ? 0 : json_is_false(a) ? -1 : 1;
	case 3:
		for (size_t i = 0;; i++) {
			bool ea = i >= json_array_size(a), eb = i >= json_array_size(b);
			if (ea || eb)
				return ea && eb ? 0 : ea ? -1 : 1;
			int c = value_cmp(json_array_get(a, i), json_array_get(b, i));
			if (c)
				return c;
		}
	case 4: {
		if (json_object_size(a) == 1 && json_object_size(b) == 1) {
			/* a list item's one key field (a condition's type, a container's name) */
			void *ia = json_object_iter((json_t *)a), *ib = json_object_iter((json_t *)b);
			int c = strcmp(json_object_iter_key(ia), json_object_iter_key(ib));
			return c ? c
			         : value_cmp(json_object_iter_value(ia), json_object_iter_value(ib));
		}
		size_t na, nb;
		const char *sa[8], *sb[8];
		const char **ka = sorted_keys_into(a, &na, sa, 8), **kb = sorted_keys_into(b, &nb, sb, 8);
		int c = 0;
		for (size_t i = 0; !c; i++) {
			if (i >= na || i >= nb) {
				c = na == nb ? 0 : na < nb ? -1 : 1;
				break;
			}
			c = strcmp(ka[i], kb[i]);
			if (!c)
				c = value_cmp(json_object_get(a, ka[i]), json_object_get(b, kb[i]));
		}
		if (ka != sa)
			free(ka);
		if (kb != sb)
			free(kb);
		return c;
	}
	default:
		return 0;
	}
}

int fs_pe_cmp(const fs_pe *a, const fs_pe *b)
{
	int ra = kind_rank(a->kind), rb = kind_rank(b->kind);
	if (ra != rb)
		return ra < rb ? -1 : 1;
	switch (a->kind) {
	case 'f':
		return strcmp(a->name, b->name);
	case 'k': /* key field lists compare like maps: names, then values, shorter first */
	case 'v':
		return value_cmp(a->val, b->val);
	default:
		return a->idx < b->idx ? -1 : a->idx > b->idx;
	}
}

/* ---- the trie ---- */

fieldset *fieldset_new(void)
{
	return xcalloc(1, sizeof(fieldset));
}

void fieldset_free(fieldset *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		pe_free(&s->e[i].pe);
		fieldset_free(s->e[i].sub);
	}
	free(s->e);
	free(s);
}

void cleanup_fieldsetp(fieldset **s)
{
	fieldset_free(*s);
}

fieldset *fieldset_copy(const fieldset *s)
{
	fieldset *c = fieldset_new();
	if (!s)
		return c;
	c->e = xcalloc(s->n ? s->n : 1, sizeof *c->e);
	c->n = c->cap = s->n;
	for (size_t i = 0; i < s->n; i++)
		c->e[i] = (fs_ent){pe_copy(&s->e[i].pe), s->e[i].member,
		                   s->e[i].sub ? fieldset_copy(s->e[i].sub) : NULL};
	return c;
}

bool fieldset_empty(const fieldset *s)
{
	if (!s)
		return true;
	for (size_t i = 0; i < s->n; i++)
		if (s->e[i].member || !fieldset_empty(s->e[i].sub))
			return false;
	return true;
}

/* Index of pe, or -(insertion point) - 1. */
static long find(const fieldset *s, const fs_pe *pe)
{
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = fs_pe_cmp(&s->e[mid].pe, pe);
		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -(long)lo - 1;
}

/* The entry for pe, created when missing. */
static fs_ent *entry(fieldset *s, const fs_pe *pe)
{
	long i = find(s, pe);
	if (i >= 0)
		return &s->e[i];
	size_t at = (size_t)(-i - 1);
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 4;
		s->e = xrealloc(s->e, s->cap * sizeof *s->e);
	}
	memmove(&s->e[at + 1], &s->e[at], (s->n - at) * sizeof *s->e);
	s->n++;
	s->e[at] = (fs_ent){pe_copy(pe), false, NULL};
	return &s->e[at];
}

void fieldset_insert(fieldset *s, const fs_pe *path, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		fs_ent *e = entry(s, &path[i]);
		if (i + 1 == n) {
			e->member = true;
			return;
		}
		if (!e->sub)
			e->sub = fieldset_new();
		s = e->sub;
	}
}

bool fieldset_has(const fieldset *s, const fs_pe *path, size_t n)
{
	for (size_t i = 0; s && i < n; i++) {
		long at = find(s, &path[i]);
		if (at < 0)
			return false;
		if (i + 1 == n)
			return s->e[at].member;
		s = s->e[at].sub;
	}
	return false;
}

const fieldset *fieldset_child(const fieldset *s, const fs_pe *pe)
{
	if (!s)
		return NULL;
	long at = find(s, pe);
	return at >= 0 ? s->e[at].sub : NULL;
}

bool fieldset_member(const fieldset *s, const fs_pe *pe)
{
	if (!s)
		return false;
	long at = find(s, pe);
	return at >= 0 && s->e[at].member;
}

/* Appends an entry (in order) unless it carries nothing. Takes sub. */
static void push(fieldset *out, const fs_pe *pe, bool member, fieldset *sub)
{
	if (sub && fieldset_empty(sub)) {
		fieldset_free(sub);
		sub = NULL;
	}
	if (!member && !sub)
		return;
	if (out->n == out->cap) {
		out->cap = out->cap ? out->cap * 2 : 4;
		out->e = xrealloc(out->e, out->cap * sizeof *out->e);
	}
	out->e[out->n++] = (fs_ent){pe_copy(pe), member, sub};
}

enum setop { OP_UNION, OP_DIFF, OP_INTERSECT };

static fieldset *setop(const fieldset *a, const fieldset *b, enum setop op)
{
	fieldset *out = fieldset_new();
	size_t i = 0, j = 0, na = a ? a->n : 0, nb = b ? b->n : 0;
	while (i < na || j < nb) {
		int c = i >= na ? 1 : j >= nb ? -1 : fs_pe_cmp(&a->e[i].pe, &b->e[j].pe);
		if (c < 0) {
			const fs_ent *x = &a->e[i++];
			if (op != OP_INTERSECT)
				push(out, &x->pe, x->member, x->sub ? fieldset_copy(x->sub) : NULL);
		} else if (c > 0) {
			const fs_ent *y = &b->e[j++];
			if (op == OP_UNION)
				push(out, &y->pe, y->member, y->sub ? fieldset_copy(y->sub) : NULL);
		} else {
			const fs_ent *x = &a->e[i++], *y = &b->e[j++];
			bool m = op == OP_UNION  ? x->member || y->member
			         : op == OP_DIFF ? x->member && !y->member
			                         : x->member && y->member;
			fieldset *sub = NULL;
			if (x->sub || (op == OP_UNION && y->sub))
				sub = setop(x->sub, y->sub, op);
			push(out, &x->pe, m, sub);
		}
	}
	return out;
}

fieldset *fieldset_union(const fieldset *a, const fieldset *b)
{
	return setop(a, b, OP_UNION);
}

fieldset *fieldset_difference(const fieldset *a, const fieldset *b)
{
	return setop(a, b, OP_DIFF);
}

fieldset *fieldset_intersection(const fieldset *a, const fieldset *b)
{
	return setop(a, b, OP_INTERSECT);
}

void fieldset_drop_field(fieldset *s, const char *name)
{
	fs_pe pe = {.kind = 'f', .name = (char *)name};
	long at = find(s, &pe);
	if (at < 0)
		return;
	pe_free(&s->e[at].pe);
	fieldset_free(s->e[at].sub);
	memmove(&s->e[at], &s->e[at + 1], (s->n - (size_t)at - 1) * sizeof *s->e);
	s->n--;
}

typedef struct iter_ctx {
	fs_pe *path;
	size_t n, cap;
	void (*fn)(const fs_pe *path, size_t n, void *ud);
	void *ud;
} iter_ctx;

static void iterate(const fieldset *s, iter_ctx *c)
{
	for (size_t i = 0; s && i < s->n; i++) {
		if (c->n == c->cap) {
			c->cap = c->cap ? c->cap * 2 : 8;
			c->path = xrealloc(c->path, c->cap * sizeof *c->path);
		}
		c->path[c->n++] = s->e[i].pe;
		if (s->e[i].member)
			c->fn(c->path, c->n, c->ud);
		iterate(s->e[i].sub, c);
		c->n--;
	}
}

void fieldset_iterate(const fieldset *s, void (*fn)(const fs_pe *path, size_t n, void *ud),
                      void *ud)
{
	iter_ctx c = {.fn = fn, .ud = ud};
	iterate(s, &c);
	free(c.path);
}

/* ---- FieldsV1 ---- */

/* Writes the FieldsV1 key of pe into b (reset first). */
static void pe_key(buf *b, const fs_pe *pe)
{
	buf_reset(b);
	switch (pe->kind) {
	case 'f':
		buf_puts(b, "f:");
		buf_puts(b, pe->name);
		break;
	case 'k':
	case 'v': {
		char *j = json_dump_sorted(pe->val);
		buf_putc(b, pe->kind);
		buf_putc(b, ':');
		buf_puts(b, j);
		free(j);
		break;
	}
	default:
		buf_printf(b, "i:%ld", pe->idx);
	}
}

static json_t *g_leaf;

static void leaf_init(void)
{
	g_leaf = json_object();
}

json_t *fs_v1_leaf(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, leaf_init);
	return json_incref(g_leaf);
}

/* Adds the members of s to o, each with the "." of a member that has children first. */
static void to_v1(json_t *o, const fieldset *s, buf *key)
{
	for (size_t i = 0; s && i < s->n; i++) {
		const fs_ent *e = &s->e[i];
		bool kids = e->sub && e->sub->n;
		json_t *child = kids ? json_object() : fs_v1_leaf();
		/* k8s: "." marks a node that is a member and has children; it comes first. */
		if (e->member && kids)
			json_object_set_new(child, ".", fs_v1_leaf());
		if (kids)
			to_v1(child, e->sub, key);
		pe_key(key, &e->pe);
		json_object_setn_new(o, key->p, key->n, child);
	}
}

json_t *fieldset_to_v1(const fieldset *s)
{
	json_t *o = json_object();
	_cleanup_buf_ buf key = {0};
	to_v1(o, s, &key);
	return o;
}

/* Whether the node c of a FieldsV1 object is itself a member: it says so with ".", or it
 * has no children. */
static bool v1_member(const json_t *c)
{
	return json_object_size(c) == 0 || json_object_get(c, ".");
}

static bool meets_v1(const fieldset *s, const json_t *v1, buf *key)
{
	for (size_t i = 0; s && i < s->n; i++) {
		const fs_ent *e = &s->e[i];
		pe_key(key, &e->pe);
		const json_t *c = json_object_getn(v1, key->p, key->n);
		if (!json_is_object(c))
			continue;
		if ((e->member && v1_member(c)) || meets_v1(e->sub, c, key))
			return true;
	}
	return false;
}

bool fieldset_meets_v1(const fieldset *s, const json_t *v1)
{
	_cleanup_buf_ buf key = {0};
	return json_is_object(v1) && meets_v1(s, v1, &key);
}

static bool within_v1(const fieldset *s, const json_t *v1, buf *key)
{
	for (size_t i = 0; s && i < s->n; i++) {
		const fs_ent *e = &s->e[i];
		pe_key(key, &e->pe);
		const json_t *c = json_object_getn(v1, key->p, key->n);
		if (!json_is_object(c)) {
			if (e->member || !fieldset_empty(e->sub))
				return false;
			continue;
		}
		if ((e->member && !v1_member(c)) || !within_v1(e->sub, c, key))
			return false;
	}
	return true;
}

bool fieldset_within_v1(const fieldset *s, const json_t *v1)
{
	_cleanup_buf_ buf key = {0};
	return json_is_object(v1) ? within_v1(s, v1, &key) : fieldset_empty(s);
}

static int parse_v1(const json_t *v1, fieldset *out, bool *is_member, terr **err)
{
	if (!json_is_object(v1))
		return terr_set(err, 500, "",
		                "failed to decode managed fields: expected an object");
	bool any_child = false;
	*is_member = false;
	const char *k;
	json_t *c;
	json_object_foreach((json_t *)v1, k, c)
	{
		if (str_eq(k, ".")) {
			*is_member = true;
			continue;
		}
		fs_pe pe = {0};
		if (strlen(k) < 2 || k[1] != ':')
			return terr_set(err, 500, "", "failed to decode managed fields: bad key %s",
			                k);
		if (k[0] == 'f') {
			pe = (fs_pe){.kind = 'f', .name = xstrdup(k + 2)};
		} else if (k[0] == 'k' || k[0] == 'v') {
			json_t *val = json_loads(k + 2, JSON_DECODE_ANY, NULL);
			if (!val || (k[0] == 'k' && !json_is_object(val))) {
				json_decref(val);
				return terr_set(err, 500, "",
				                "failed to decode managed fields: bad key %s", k);
			}
			pe = (fs_pe){.kind = k[0], .val = val};
		} else if (k[0] == 'i') {
			char *end;
			long idx = strtol(k + 2, &end, 10);
			if (*end || end == k + 2)
				return terr_set(err, 500, "",
				                "failed to decode managed fields: bad key %s", k);
			pe = (fs_pe){.kind = 'i', .idx = idx};
		} else {
			continue; /* k8s: unknown element kinds are dropped */
		}
		fieldset *sub = fieldset_new();
		bool member;
		if (parse_v1(c, sub, &member, err) < 0) {
			fieldset_free(sub);
			pe_free(&pe);
			return -1;
		}
		fs_ent *e = entry(out, &pe);
		e->member = e->member || member;
		if (sub->n) {
			fieldset *u = fieldset_union(e->sub, sub);
			fieldset_free(e->sub);
			e->sub = u;
		}
		fieldset_free(sub);
		pe_free(&pe);
		any_child = true;
	}
	/* A node with no children is itself a member. */
	if (!any_child)
		*is_member = true;
	return 0;
}

fieldset *fieldset_from_v1(const json_t *v1, terr **err)
{
	fieldset *s = fieldset_new();
	bool member;
	if (parse_v1(v1, s, &member, err) < 0) {
		fieldset_free(s);
		return NULL;
	}
	return s;
}

/* Go's %q for strings, %v for the rest (structured-merge-diff's value.ToString). */
static void value_string(buf *b, const json_t *v)
{
	if (json_is_string(v)) {
		buf_json_str(b, json_string_value(v), json_string_length(v));
	} else {
		char *j = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
		buf_puts(b, j ? j : "null");
		free(j);
	}
}

void fs_path_string(buf *b, const fs_pe *path, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const fs_pe *pe = &path[i];
		switch (pe->kind) {
		case 'f':
			buf_printf(b, ".%s", pe->name);
			break;
		case 'k': {
			size_t nk;
			const char **keys = sorted_keys(pe->val, &nk);
			buf_putc(b, '[');
			for (size_t j = 0; j < nk; j++) {
				buf_printf(b, "%s%s=", j ? "," : "", keys[j]);
				value_string(b, json_object_get(pe->val, keys[j]));
			}
			buf_putc(b, ']');
			free(keys);
			break;
		}
		case 'v':
			buf_puts(b, "[=");
			value_string(b, pe->val);
			buf_putc(b, ']');
			break;
		default:
			buf_printf(b, "[%ld]", pe->idx);
		}
	}
}

/* ---- types ---- */

static fs_type from_js(json_t *js);

static fs_type from_elem(uint8_t kind, const schema_type *et)
{
	switch (kind) {
	case SCHEMA_OBJECT:
		return (fs_type){.kind = FS_STRUCT, .st = et};
	case SCHEMA_RAW:
	case SCHEMA_ANY:
	case SCHEMA_ARRAY:
	case SCHEMA_MAP:
	case SCHEMA_NONE:
		return (fs_type){.kind = FS_UNTYPED};
	default:
		return (fs_type){.kind = FS_SCALAR};
	}
}

static bool has_token(const char *list, const char *tok)
{
	size_t n = strlen(tok);
	for (const char *p = list; p && *p;) {
		const char *c = strchr(p, ',');
		size_t len = c ? (size_t)(c - p) : strlen(p);
		if (len == n && strncmp(p, tok, n) == 0)
			return true;
		p = c ? c + 1 : NULL;
	}
	return false;
}

static fs_type from_field(const schema_field *f)
{
	fs_type t = {0};
	switch (f->kind) {
	case SCHEMA_OBJECT:
		t.kind = FS_STRUCT;
		t.st = f->type;
		t.atomic = f->flags & SCHEMA_F_MAP_ATOMIC;
		/* A Go struct that is not a pointer always exists in its parent. */
		t.implicit = !(f->flags & SCHEMA_F_POINTER);
		return t;
	case SCHEMA_MAP:
	case SCHEMA_ARRAY:
		t.kind = f->kind == SCHEMA_MAP ? FS_MAP : FS_LIST;
		t.elem = f->elem;
		t.et = f->type;
		t.atomic = f->flags & SCHEMA_F_MAP_ATOMIC;
		/* Without omitempty a nil map or slice is still written (as null). */
		t.implicit = !(f->flags & SCHEMA_F_OMITEMPTY);
		if (t.kind == FS_LIST) {
			/* k8s: x-kubernetes-list-type wins; else patchStrategy merge means a map
			 * list keyed by patchMergeKey (a set for primitives); else atomic. */
			const char *lt = f->list_type;
			if (str_eq(lt, "map") && (f->list_map_keys || f->patch_merge_key)) {
				t.list = FS_LMAP;
				t.keys = f->list_map_keys ? f->list_map_keys : f->patch_merge_key;
			} else if (str_eq(lt, "set")) {
				t.list = FS_LSET;
			} else if (!lt && has_token(f->patch_strategy, "merge")) {
				t.list = f->patch_merge_key ? FS_LMAP : FS_LSET;
				t.keys = f->patch_merge_key;
			}
		}
		return t;
	case SCHEMA_RAW:
	case SCHEMA_ANY:
		return (fs_type){.kind = FS_UNTYPED};
	default:
		return (fs_type){.kind = FS_SCALAR};
	}
}

static fs_type from_js(json_t *js)
{
	fs_type t = {.js = js};
	if (!json_is_object(js))
		return (fs_type){.kind = FS_UNTYPED};
	if (json_is_true(json_object_get(js, "x-kubernetes-int-or-string"))) {
		t.kind = FS_SCALAR;
		return t;
	}
	const char *type = json_string_value(json_object_get(js, "type"));
	json_t *props = json_object_get(js, "properties");
	json_t *addl = json_object_get(js, "additionalProperties");
	bool atomic =
	    str_eq(json_string_value(json_object_get(js, "x-kubernetes-map-type")), "atomic");
	if (str_eq(type, "array")) {
		t.kind = FS_LIST;
		const char *lt = json_string_value(json_object_get(js, "x-kubernetes-list-type"));
		json_t *keys = json_object_get(js, "x-kubernetes-list-map-keys");
		if (str_eq(lt, "map") && json_array_size(keys)) {
			t.list = FS_LMAP;
			t.jkeys = keys;
		} else if (str_eq(lt, "set")) {
			t.list = FS_LSET;
		}
		return t;
	}
	if (json_is_object(props) && (!type || str_eq(type, "object"))) {
		t.kind = FS_STRUCT;
		t.atomic = atomic;
		return t;
	}
	if (json_is_object(addl) && (!type || str_eq(type, "object"))) {
		t.kind = FS_MAP;
		t.atomic = atomic;
		return t;
	}
	if (type && !str_eq(type, "object")) {
		t.kind = FS_SCALAR;
		return t;
	}
	return (fs_type){.kind = FS_UNTYPED};
}

fs_type fs_type_root(const schema_type *t, json_t *crd_schema)
{
	if (t)
		return (fs_type){.kind = FS_STRUCT, .st = t, .implicit = true};
	if (crd_schema) {
		fs_type r = from_js(crd_schema);
		if (r.kind != FS_STRUCT)
			r = (fs_type){.kind = FS_STRUCT, .js = crd_schema};
		r.crd_root = true;
		r.implicit = true;
		return r;
	}
	return (fs_type){.kind = FS_UNTYPED};
}

fs_type fs_type_child(const fs_type *t, const char *key)
{
	if (t->kind == FS_STRUCT && t->st) {
		const schema_field *f = schema_field_json(t->st, key);
		return f ? from_field(f) : (fs_type){.kind = FS_UNTYPED};
	}
	if (t->kind == FS_STRUCT && t->js) {
		if (t->crd_root && str_eq(key, "metadata")) {
			const schema_type *om =
			    schema_find("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta");
			if (om)
				return (fs_type){.kind = FS_STRUCT, .st = om, .implicit = true};
		}
		json_t *p = json_object_get(json_object_get(t->js, "properties"), key);
		if (p)
			return from_js(p);
		if (t->crd_root && (str_eq(key, "apiVersion") || str_eq(key, "kind")))
			return (fs_type){.kind = FS_SCALAR};
		json_t *addl = json_object_get(t->js, "additionalProperties");
		return json_is_object(addl) ? from_js(addl) : (fs_type){.kind = FS_UNTYPED};
	}
	if (t->kind == FS_MAP) {
		if (t->js)
			return from_js(json_object_get(t->js, "additionalProperties"));
		return from_elem(t->elem, t->et);
	}
	return (fs_type){.kind = FS_UNTYPED};
}

fs_type fs_type_elem(const fs_type *t)
{
	if (t->kind != FS_LIST)
		return (fs_type){.kind = FS_UNTYPED};
	if (t->js)
		return from_js(json_object_get(t->js, "items"));
	return from_elem(t->elem, t->et);
}

bool fs_type_declares(const fs_type *t, const char *key)
{
	if (t->kind != FS_STRUCT)
		return false;
	if (t->st)
		return schema_field_json(t->st, key) != NULL;
	if (t->crd_root &&
	    (str_eq(key, "metadata") || str_eq(key, "apiVersion") || str_eq(key, "kind")))
		return true;
	return json_object_get(json_object_get(t->js, "properties"), key) != NULL;
}

static fieldset *named_members(const fieldset *s, const fs_type *t)
{
	fieldset *out = fieldset_new();
	out->e = xcalloc(s->n ? s->n : 1, sizeof *out->e);
	out->cap = s->n;
	for (size_t i = 0; i < s->n; i++) {
		const fs_ent *e = &s->e[i];
		bool member = e->member;
		fieldset *sub = NULL;
		if (e->sub) {
			fs_type ct =
			    e->pe.kind == 'f' ? fs_type_child(t, e->pe.name) : fs_type_elem(t);
			/* k8s: a named struct field on the way to a member is owned too. */
			if (e->pe.kind == 'f' && fs_type_declares(t, e->pe.name))
				member = true;
			sub = named_members(e->sub, &ct);
		}
		out->e[out->n++] = (fs_ent){pe_copy(&e->pe), member, sub};
	}
	return out;
}

fieldset *fs_named_fields_members(const fieldset *s, const fs_type *t)
{
	return s ? named_members(s, t) : fieldset_new();
}
