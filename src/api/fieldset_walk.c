/* fieldset_walk.c — typed walks over JSON objects for server-side apply: the field set an
 * object sets, merging an applied configuration into a live object, comparing two
 * versions, and removing a set of fields. They follow structured-merge-diff's rules:
 * structs and maps are walked per member, associative lists per item key, set lists per
 * value, and atomic values are leaves.
 *
 * Not for: set algebra or FieldsV1 (fieldset.c), managers and conflicts (apply.c).
 */
#include <stdlib.h>
#include <string.h>

#include "api/fieldset.h"
#include "api/patch.h"
#include "base/json.h"
#include "base/util.h"

typedef struct walk {
	fs_pe *path;
	size_t n, cap;
} walk;

static void wpush(walk *w, fs_pe pe)
{
	if (w->n == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 16;
		w->path = xrealloc(w->path, w->cap * sizeof *w->path);
	}
	w->path[w->n++] = pe;
}

static void wpop(walk *w)
{
	json_decref(w->path[--w->n].val);
}

static fs_pe field_pe(const char *name)
{
	return (fs_pe){.kind = 'f', .name = (char *)name};
}

/* ---- list items ---- */

static bool is_granular_list(const fs_type *t)
{
	return t->kind == FS_LIST && t->list != FS_LATOMIC;
}

size_t fs_type_nkeys(const fs_type *t)
{
	if (t->jkeys)
		return json_array_size(t->jkeys);
	size_t n = 1;
	for (const char *p = t->keys; p && *p; p++)
		n += *p == ',';
	return t->keys ? n : 0;
}

const char *fs_type_key_name(const fs_type *t, size_t i, char out[128])
{
	if (t->jkeys) {
		str_put(out, 128, json_string_value(json_array_get(t->jkeys, i)));
		return out;
	}
	const char *p = t->keys;
	for (size_t k = 0; k < i; k++)
		p = strchr(p, ',') + 1;
	const char *c = strchr(p, ',');
	size_t len = c ? (size_t)(c - p) : strlen(p);
	len = len < 127 ? len : 127;
	memcpy(out, p, len);
	out[len] = 0;
	return out;
}

static int item_error(walk *w, terr **err, size_t index, const char *fmt, const char *arg)
{
	_cleanup_buf_ buf b = {0};
	fs_path_string(&b, w->path, w->n);
	buf_printf(&b, ": element %zu: ", index);
	buf_printf(&b, fmt, arg);
	return terr_set(err, 500, "", "%s", b.p);
}

/* The path element of a granular list's item. */
static int item_pe(walk *w, const fs_type *lt, json_t *item, size_t index, fs_pe *out, terr **err)
{
	if (lt->list == FS_LSET) {
		*out = (fs_pe){.kind = 'v', .val = json_incref(item)};
		return 0;
	}
	if (!json_is_object(item))
		return item_error(w, err, index, "%s", "associative list item is not a map");
	json_t *key = json_object();
	for (size_t i = 0; i < fs_type_nkeys(lt); i++) {
		char name[128];
		fs_type_key_name(lt, i, name);
		json_t *v = json_object_get(item, name);
		/* k8s: the OpenAPI default of a key applies when it is omitted; the only
		 * defaulted list-map key of the built-in types is a port's protocol (TCP). */
		if (!v && str_eq(name, "protocol"))
			v = json_string("TCP");
		else
			json_incref(v);
		if (!v) {
			json_decref(key);
			return item_error(
			    w, err, index,
			    "associative list with keys has an element that omits key "
			    "field \"%s\" (and doesn't have default value)",
			    name);
		}
		json_object_set_new(key, name, v);
	}
	*out = (fs_pe){.kind = 'k', .val = key};
	return 0;
}

typedef struct items {
	fs_pe *pe;
	json_t **v;
	size_t n;
} items;

static void items_free(items *it)
{
	for (size_t i = 0; i < it->n; i++)
		json_decref(it->pe[i].val);
	free(it->pe);
	free(it->v);
}

/* Path elements of every item; items without a valid element fail (err) or, with err
 * NULL, are skipped. */
static int list_items(walk *w, const fs_type *lt, json_t *list, items *out, terr **err)
{
	size_t n = json_array_size(list);
	out->pe = xcalloc(n ? n : 1, sizeof *out->pe);
	out->v = xcalloc(n ? n : 1, sizeof *out->v);
	out->n = 0;
	for (size_t i = 0; i < n; i++) {
		fs_pe pe;
		terr *e = NULL;
		if (item_pe(w, lt, json_array_get(list, i), i, &pe, err ? err : &e) < 0) {
			terr_free(e);
			if (err)
				return -1;
			continue;
		}
		out->pe[out->n] = pe;
		out->v[out->n++] = json_array_get(list, i);
	}
	return 0;
}

static long items_find(const items *it, const fs_pe *pe)
{
	for (size_t i = 0; i < it->n; i++)
		if (fs_pe_cmp(&it->pe[i], pe) == 0)
			return (long)i;
	return -1;
}

/* ---- the field set of an object ---- */

static bool empty_container(json_t *v)
{
	return (json_is_object(v) && json_object_size(v) == 0);
}

static int fields(walk *w, json_t *v, const fs_type *t, fieldset *out, bool strict, terr **err)
{
	bool as_map = json_is_object(v) && !t->atomic &&
	              (t->kind == FS_STRUCT || t->kind == FS_MAP || t->kind == FS_UNTYPED);
	bool as_list = json_is_array(v) && !t->atomic && is_granular_list(t);
	if (as_map) {
		const char *k;
		json_t *c;
		json_object_foreach(v, k, c)
		{
			fs_type ct = fs_type_child(t, k);
			wpush(w, field_pe(k));
			int r = fields(w, c, &ct, out, strict, err);
			/* k8s: map entries, unknown fields, nulls and empty maps are members. */
			if (r == 0 &&
			    (json_is_null(c) || empty_container(c) || !fs_type_declares(t, k)))
				fieldset_insert(out, w->path, w->n);
			wpop(w);
			if (r < 0)
				return -1;
		}
		return 0;
	}
	if (as_list) {
		items it;
		if (list_items(w, t, v, &it, err) < 0) {
			items_free(&it);
			return -1;
		}
		fs_type et = fs_type_elem(t);
		for (size_t i = 0; i < it.n; i++) {
			if (strict && items_find(&it, &it.pe[i]) != (long)i) {
				_cleanup_buf_ buf b = {0};
				fs_path_string(&b, w->path, w->n);
				buf_puts(&b, ": duplicate entries for key ");
				fs_path_string(&b, &it.pe[i], 1);
				terr_set(err, 500, "", "%s", b.p);
				items_free(&it);
				return -1;
			}
			wpush(w, (fs_pe){it.pe[i].kind, NULL, json_incref(it.pe[i].val), 0});
			int r = fields(w, it.v[i], &et, out, strict, err);
			if (r == 0)
				fieldset_insert(out, w->path, w->n);
			wpop(w);
			if (r < 0) {
				items_free(&it);
				return -1;
			}
		}
		items_free(&it);
		return 0;
	}
	if (json_is_array(v) && !t->atomic && is_granular_list(t))
		return 0;
	/* Scalars, nulls, atomic values and mismatched shapes are leaves. */
	fieldset_insert(out, w->path, w->n);
	return 0;
}

fieldset *fs_object_fields(json_t *v, const fs_type *t, bool strict, terr **err)
{
	walk w = {0};
	fieldset *s = fieldset_new();
	int r = fields(&w, v, t, s, strict, err);
	free(w.path);
	if (r < 0) {
		fieldset_free(s);
		return NULL;
	}
	return s;
}

/* ---- merge ---- */

static json_t *merge(walk *w, json_t *l, json_t *r, const fs_type *t, terr **err);

/* k8s (structured-merge-diff): the merged list keeps live-only items where they were and
 * puts the applied items in applied order, shared items following the applied order. */
static json_t *merge_list(walk *w, json_t *l, json_t *r, const fs_type *t, terr **err)
{
	items li = {0}, ri = {0};
	json_t *out = NULL;
	if (list_items(w, t, r, &ri, err) < 0 || list_items(w, t, l, &li, NULL) < 0)
		goto done;
	for (size_t i = 0; i < ri.n; i++)
		if (items_find(&ri, &ri.pe[i]) != (long)i) {
			_cleanup_buf_ buf b = {0};
			fs_path_string(&b, w->path, w->n);
			buf_puts(&b, ": duplicate entries for key ");
			fs_path_string(&b, &ri.pe[i], 1);
			terr_set(err, 500, "", "%s", b.p);
			goto done;
		}
	fs_type et = fs_type_elem(t);
	/* The applied items that are also live, in applied order. */
	size_t *shared = xcalloc(ri.n + 1, sizeof *shared), nshared = 0, sh = 0;
	bool *done_r = xcalloc(ri.n + 1, sizeof *done_r);
	for (size_t i = 0; i < ri.n; i++)
		if (items_find(&li, &ri.pe[i]) >= 0)
			shared[nshared++] = i;
	long next = nshared ? (long)shared[sh++] : -1;
	out = json_array();
	size_t a = 0, b = 0;
	while (a < li.n || b < ri.n) {
		json_t *m;
		if (a < li.n && b < ri.n) {
			if (fs_pe_cmp(&li.pe[a], &ri.pe[b]) == 0) {
				done_r[b] = true;
				wpush(w,
				      (fs_pe){li.pe[a].kind, NULL, json_incref(li.pe[a].val), 0});
				long first = items_find(&li, &li.pe[a]);
				m = merge(w, li.v[first], ri.v[b], &et, err);
				wpop(w);
				if (!m)
					goto fail;
				json_array_append_new(out, m);
				a++;
				b++;
				next = sh < nshared ? (long)shared[sh++] : -1;
				continue;
			}
			if (items_find(&ri, &li.pe[a]) >= 0 && next >= 0 &&
			    fs_pe_cmp(&ri.pe[next], &li.pe[a]) != 0) {
				a++;
				continue;
			}
		}
		if (a < li.n) {
			long in_r = items_find(&ri, &li.pe[a]);
			if (in_r < 0) {
				json_array_append_new(out, json_clone(li.v[a]));
				a++;
				continue;
			}
			if (done_r[in_r])
				a++;
		}
		if (b < ri.n) {
			done_r[b] = true;
			long at = items_find(&li, &ri.pe[b]);
			wpush(w, (fs_pe){ri.pe[b].kind, NULL, json_incref(ri.pe[b].val), 0});
			m = merge(w, at >= 0 ? li.v[at] : NULL, ri.v[b], &et, err);
			wpop(w);
			if (!m)
				goto fail;
			json_array_append_new(out, m);
			if (next >= 0 && (long)b == next)
				next = sh < nshared ? (long)shared[sh++] : -1;
			b++;
		}
	}
	free(shared);
	free(done_r);
	goto done;
fail:
	free(shared);
	free(done_r);
	json_decref(out);
	out = NULL;
done:
	items_free(&li);
	items_free(&ri);
	return out;
}

static json_t *merge(walk *w, json_t *l, json_t *r, const fs_type *t, terr **err)
{
	if (!r)
		return json_clone(l);
	if (!l || t->atomic || t->kind == FS_SCALAR)
		return json_clone(r);
	if (json_is_object(l) && json_is_object(r) && t->kind != FS_LIST) {
		json_t *out = json_object();
		const char *k;
		json_t *c;
		json_object_foreach(l, k, c)
		{
			fs_type ct = fs_type_child(t, k);
			wpush(w, field_pe(k));
			json_t *m = merge(w, c, json_object_get(r, k), &ct, err);
			wpop(w);
			if (!m) {
				json_decref(out);
				return NULL;
			}
			json_object_set_new(out, k, m);
		}
		json_object_foreach(r, k, c)
		{
			if (!json_object_get(l, k))
				json_object_set_new(out, k, json_clone(c));
		}
		return out;
	}
	if (json_is_array(l) && json_is_array(r) && is_granular_list(t) &&
	    (json_array_size(l) || json_array_size(r)))
		return merge_list(w, l, r, t, err);
	return json_clone(r);
}

json_t *fs_object_merge(json_t *live, json_t *cfg, const fs_type *t, terr **err)
{
	walk w = {0};
	json_t *r = merge(&w, live, cfg, t, err);
	free(w.path);
	return r;
}

/* ---- compare ---- */

typedef struct cmp_sets {
	fieldset *added, *modified, *removed;
} cmp_sets;

static void compare(walk *w, json_t *l, json_t *r, const fs_type *t, cmp_sets *c);

static void leaf(walk *w, json_t *l, json_t *r, cmp_sets *c)
{
	if (!l)
		fieldset_insert(c->added, w->path, w->n);
	else if (!r)
		fieldset_insert(c->removed, w->path, w->n);
	else if (!patch_json_equal(l, r))
		fieldset_insert(c->modified, w->path, w->n);
}

/* The value a side has for member k of m: the JSON value, or for a Go field that always
 * exists (non-pointer struct, list or map without omitempty) an empty stand-in. */
static json_t *side(json_t *m, const char *k, const fs_type *ct, json_t **tmp)
{
	json_t *v = json_object_get(m, k);
	if (v || !json_is_object(m) || !ct->implicit)
		return v;
	*tmp = ct->kind == FS_STRUCT ? json_object() : json_null();
	return *tmp;
}

static void compare_map(walk *w, json_t *l, json_t *r, const fs_type *t, cmp_sets *c)
{
	const json_t *both[2] = {l, r};
	for (int s = 0; s < 2; s++) {
		const char *k;
		json_t *v;
		json_object_foreach((json_t *)both[s], k, v)
		{
			if (s == 1 && json_object_get(l, k))
				continue;
			fs_type ct = fs_type_child(t, k);
			json_t *tl = NULL, *tr = NULL;
			json_t *lv = side(l, k, &ct, &tl), *rv = side(r, k, &ct, &tr);
			wpush(w, field_pe(k));
			compare(w, lv, rv, &ct, c);
			wpop(w);
			json_decref(tl);
			json_decref(tr);
		}
	}
}

static void compare_list(walk *w, json_t *l, json_t *r, const fs_type *t, cmp_sets *c)
{
	items li = {0}, ri = {0};
	list_items(w, t, l, &li, NULL);
	list_items(w, t, r, &ri, NULL);
	fs_type et = fs_type_elem(t);
	const items *both[2] = {&li, &ri};
	for (int s = 0; s < 2; s++) {
		for (size_t i = 0; i < both[s]->n; i++) {
			const fs_pe *pe = &both[s]->pe[i];
			if (items_find(both[s], pe) != (long)i ||
			    (s == 1 && items_find(&li, pe) >= 0))
				continue;
			size_t nl = 0, nr = 0;
			json_t *l0 = NULL, *r0 = NULL;
			for (size_t j = 0; j < li.n; j++)
				if (fs_pe_cmp(&li.pe[j], pe) == 0 && !nl++)
					l0 = li.v[j];
			for (size_t j = 0; j < ri.n; j++)
				if (fs_pe_cmp(&ri.pe[j], pe) == 0 && !nr++)
					r0 = ri.v[j];
			wpush(w, (fs_pe){pe->kind, NULL, json_incref(pe->val), 0});
			if (nl <= 1 && nr <= 1) {
				compare(w, l0, r0, &et, c);
			} else if (nl >= 2 && nr >= 2) {
				/* Duplicated items compare as one leaf. */
				bool same = nl == nr;
				for (size_t j = 0, k = 0; same && j < li.n; j++) {
					if (fs_pe_cmp(&li.pe[j], pe) != 0)
						continue;
					while (k < ri.n && fs_pe_cmp(&ri.pe[k], pe) != 0)
						k++;
					same = k < ri.n && patch_json_equal(li.v[j], ri.v[k++]);
				}
				if (!same)
					fieldset_insert(c->modified, w->path, w->n);
			} else if (nl >= 2) {
				if (nr)
					compare(w, NULL, r0, &et, c);
				fieldset_insert(c->removed, w->path, w->n);
			} else {
				if (nl)
					compare(w, l0, NULL, &et, c);
				fieldset_insert(c->added, w->path, w->n);
			}
			wpop(w);
		}
	}
	items_free(&li);
	items_free(&ri);
}

static bool empty_or_null(json_t *v)
{
	return !v || json_is_null(v) || (json_is_object(v) && !json_object_size(v)) ||
	       (json_is_array(v) && !json_array_size(v));
}

/* True when v can stand for a container of the given JSON type: absent, null, or one. */
static bool fits(json_t *v, json_type want)
{
	return !v || json_is_null(v) || json_typeof(v) == want;
}

typedef enum pair_shape { SHAPE_LEAF, SHAPE_MAP, SHAPE_LIST } pair_shape;

/* How a compare treats the pair l, r of type t (k8s: scalars, atomic values, mismatched
 * shapes and empty-on-both-sides containers are leaves). */
static pair_shape shape(json_t *l, json_t *r, const fs_type *t)
{
	bool map_t =
	    !t->atomic && (t->kind == FS_STRUCT || t->kind == FS_MAP || t->kind == FS_UNTYPED);
	bool list_t = !t->atomic && is_granular_list(t);
	bool is_map = map_t && (json_is_object(l) || json_is_object(r)) && fits(l, JSON_OBJECT) &&
	              fits(r, JSON_OBJECT);
	bool is_list = list_t && (json_is_array(l) || json_is_array(r)) && fits(l, JSON_ARRAY) &&
	               fits(r, JSON_ARRAY);
	if ((!is_map && !is_list) || (empty_or_null(l) && empty_or_null(r)))
		return SHAPE_LEAF;
	return is_map ? SHAPE_MAP : SHAPE_LIST;
}

static void compare(walk *w, json_t *l, json_t *r, const fs_type *t, cmp_sets *c)
{
	if (l && l == r) /* one value (shared by both sides): nothing changed under it */
		return;
	pair_shape sh = shape(l, r, t);
	if (sh == SHAPE_LEAF) {
		if (w->n)
			leaf(w, l, r, c);
		return;
	}
	/* A null side is an empty container that exists. */
	if (sh == SHAPE_MAP)
		compare_map(w, json_is_object(l) ? l : NULL, json_is_object(r) ? r : NULL, t, c);
	else
		compare_list(w, json_is_array(l) ? l : NULL, json_is_array(r) ? r : NULL, t, c);
	if (w->n && !l)
		fieldset_insert(c->added, w->path, w->n);
	else if (w->n && !r)
		fieldset_insert(c->removed, w->path, w->n);
}

void fs_object_compare(json_t *old, json_t *newer, const fs_type *t, fieldset *added,
                       fieldset *modified, fieldset *removed)
{
	walk w = {0};
	cmp_sets c = {added, modified, removed};
	json_t *empty = NULL;
	if (!old)
		old = empty = json_object();
	compare(&w, old, newer, t, &c);
	json_decref(empty);
	free(w.path);
}

/* ---- what a write changed, as FieldsV1 ---- */

/* fs_object_compare's added and modified, written straight as FieldsV1: the same members,
 * with no set built and no path inserted from the root for every leaf, which was most of
 * tracking a create (compared against nothing) and of a first status write.
 * l and r are what the compare's old and new sides hold on this path: a value, NULL, or
 * the empty stand-in of a field that always exists. Returns the node (NULL when it is
 * neither a member nor holds one). */
static json_t *changed_v1(json_t *l, json_t *r, const fs_type *t);

typedef struct v1_kid {
	fs_pe pe; /* borrowed name or value */
	json_t *node;
} v1_kid;

static int v1_kid_cmp(const void *a, const void *b)
{
	return fs_pe_cmp(&((const v1_kid *)a)->pe, &((const v1_kid *)b)->pe);
}

/* Adds the children to node in the set's order, under their FieldsV1 keys. */
static void put_kids(json_t *node, v1_kid *k, size_t n)
{
	if (n > 12) {
		qsort(k, n, sizeof *k, v1_kid_cmp);
	} else { /* most nodes have a few children: sorted in place, no call per compare */
		for (size_t i = 1; i < n; i++) {
			v1_kid t = k[i];
			size_t j = i;
			for (; j > 0 && fs_pe_cmp(&k[j - 1].pe, &t.pe) > 0; j--)
				k[j] = k[j - 1];
			k[j] = t;
		}
	}
	_cleanup_buf_ buf key = {0};
	for (size_t i = 0; i < n; i++) {
		buf_reset(&key);
		buf_putc(&key, k[i].pe.kind);
		buf_putc(&key, ':');
		if (k[i].pe.kind == 'f')
			buf_puts(&key, k[i].pe.name);
		else
			json_dump_into(&key, k[i].pe.val, true);
		json_object_setn_new_nocheck(node, key.p, key.n, k[i].node);
	}
}

static void changed_map(json_t *node, json_t *l, json_t *r, const fs_type *t)
{
	size_t n = json_object_size(r) + json_object_size(l), nk = 0;
	v1_kid stack[32];
	v1_kid *kids = n <= 32 ? stack : xcalloc(n, sizeof *kids);
	const json_t *both[2] = {r, l};
	for (int sd = 0; sd < 2; sd++) {
		const char *k;
		json_t *v;
		json_object_foreach((json_t *)both[sd], k, v)
		{
			/* A member only the old side has changes only against the new side's
			 * stand-in (a field that always exists); otherwise it is removed. */
			if (sd == 1 && json_object_get(r, k))
				continue;
			fs_type ct = fs_type_child(t, k);
			if (sd == 1 && !(ct.implicit && json_is_object(r)))
				continue;
			json_t *tl = NULL, *tr = NULL;
			json_t *c = changed_v1(side(l, k, &ct, &tl), side(r, k, &ct, &tr), &ct);
			json_decref(tl);
			json_decref(tr);
			if (c)
				kids[nk++] = (v1_kid){field_pe(k), c};
		}
	}
	put_kids(node, kids, nk);
	if (kids != stack)
		free(kids);
}

/* changed_v1 for an item the old side lacks, by its shape (a pod's container). */
static json_t *added_item_v1(json_t *item, const fs_type *et)
{
	fs_memo_miss miss;
	json_t *c = fs_memo_get(FS_MEMO_ITEM, item, et, &miss);
	if (!c) {
		c = changed_v1(NULL, item, et);
		fs_memo_put(FS_MEMO_ITEM, &miss, c);
	}
	return c;
}

static void changed_list(json_t *node, json_t *l, json_t *r, const fs_type *t)
{
	items li = {0}, ri = {0};
	walk w = {0}; /* items without a key are skipped; the path only names errors */
	list_items(&w, t, l, &li, NULL);
	list_items(&w, t, r, &ri, NULL);
	fs_type et = fs_type_elem(t);
	v1_kid *kids = xcalloc(ri.n + 1, sizeof *kids);
	size_t nk = 0;
	/* Items only the old side has are removed: the new side's items are all there is. */
	for (size_t i = 0; i < ri.n; i++) {
		const fs_pe *pe = &ri.pe[i];
		if (items_find(&ri, pe) != (long)i)
			continue;
		size_t nl = 0, nr = 0;
		json_t *l0 = NULL;
		for (size_t j = 0; j < li.n; j++)
			if (fs_pe_cmp(&li.pe[j], pe) == 0 && !nl++)
				l0 = li.v[j];
		for (size_t j = i; j < ri.n; j++)
			nr += fs_pe_cmp(&ri.pe[j], pe) == 0;
		json_t *c;
		if (nl <= 1 && nr <= 1) {
			c = l0 ? changed_v1(l0, ri.v[i], &et) : added_item_v1(ri.v[i], &et);
		} else if (nl >= 2 && nr >= 2) {
			/* Duplicated items compare as one leaf. */
			bool same = nl == nr;
			for (size_t j = 0, k = 0; same && j < li.n; j++) {
				if (fs_pe_cmp(&li.pe[j], pe) != 0)
					continue;
				while (k < ri.n && fs_pe_cmp(&ri.pe[k], pe) != 0)
					k++;
				same = k < ri.n && patch_json_equal(li.v[j], ri.v[k++]);
			}
			c = same ? NULL : fs_v1_leaf();
		} else if (nl >= 2) { /* one item now: added whole */
			c = added_item_v1(ri.v[i], &et);
		} else { /* duplicated now: the item is one added leaf */
			c = fs_v1_leaf();
		}
		if (c)
			kids[nk++] = (v1_kid){*pe, c};
	}
	put_kids(node, kids, nk);
	free(kids);
	items_free(&li);
	items_free(&ri);
}

static json_t *changed_v1(json_t *l, json_t *r, const fs_type *t)
{
	if (!r || l == r) /* removed, or one value shared by both sides */
		return NULL;
	pair_shape sh = shape(l, r, t);
	if (sh == SHAPE_LEAF)
		return !l || !patch_json_equal(l, r) ? fs_v1_leaf() : NULL;
	json_t *node = json_object();
	/* A container the old side lacks is a member; "." says so when it has children. */
	if (!l)
		json_object_set_new(node, ".", fs_v1_leaf());
	if (sh == SHAPE_MAP && json_is_object(r))
		changed_map(node, json_is_object(l) ? l : NULL, r, t);
	else if (sh == SHAPE_LIST && json_is_array(r))
		changed_list(node, json_is_array(l) ? l : NULL, r, t);
	if (!l && json_object_size(node) == 1)
		json_object_del(node, ".");
	else if (l && json_object_size(node) == 0)
		json_decref(node), node = NULL;
	return node;
}

json_t *fs_object_added_v1(json_t *v, const fs_type *t)
{
	_cleanup_json_ json_t *empty = json_object();
	json_t *node = json_is_object(v) ? changed_v1(empty, v, t) : NULL;
	return node ? node : json_object();
}

json_t *fs_object_changed_v1(json_t *old, json_t *newer, const fs_type *t)
{
	_cleanup_json_ json_t *empty = old ? NULL : json_object();
	json_t *node = changed_v1(old ? old : empty, newer, t);
	return node ? node : json_object();
}

/* ---- remove ---- */

static json_t *remove_items(walk *w, json_t *v, const fieldset *s, const fs_type *t)
{
	if (!s || t->atomic)
		return json_clone(v);
	if (json_is_object(v) && t->kind != FS_LIST && t->kind != FS_SCALAR) {
		json_t *out = json_object();
		const char *k;
		json_t *c;
		json_object_foreach(v, k, c)
		{
			fs_pe pe = field_pe(k);
			if (fieldset_member(s, &pe))
				continue;
			const fieldset *sub = fieldset_child(s, &pe);
			if (!sub) {
				json_object_set_new(out, k, json_clone(c));
				continue;
			}
			fs_type ct = fs_type_child(t, k);
			json_t *nc = remove_items(w, c, sub, &ct);
			if (nc)
				json_object_set_new(out, k, nc);
		}
		if (json_object_size(v) && !json_object_size(out)) {
			json_decref(out);
			return NULL;
		}
		return out;
	}
	if (json_is_array(v) && is_granular_list(t)) {
		items it;
		list_items(w, t, v, &it, NULL);
		fs_type et = fs_type_elem(t);
		json_t *out = json_array();
		for (size_t i = 0; i < it.n; i++) {
			if (fieldset_member(s, &it.pe[i]))
				continue;
			const fieldset *sub = fieldset_child(s, &it.pe[i]);
			json_t *nc =
			    sub ? remove_items(w, it.v[i], sub, &et) : json_clone(it.v[i]);
			if (nc)
				json_array_append_new(out, nc);
		}
		items_free(&it);
		if (json_array_size(v) && !json_array_size(out)) {
			json_decref(out);
			return NULL;
		}
		return out;
	}
	return json_clone(v);
}

json_t *fs_object_remove(json_t *v, const fieldset *s, const fs_type *t)
{
	walk w = {0};
	json_t *r = remove_items(&w, v, s, t);
	free(w.path);
	return r ? r : json_object();
}
