/* patch_strategic.c — strategic merge patch, as kube-apiserver applies it to built-in types.
 *
 * The rules follow the server side of Kubernetes' strategic merge patch (merge options
 * "merge parallel lists" and "ignore unmatched nulls"): maps merge recursively, null
 * deletes, lists whose field says patchStrategy "merge" merge by patchMergeKey (primitive
 * lists as sets), other lists are replaced, and the directives $patch, $retainKeys,
 * $setElementOrder/<list> and $deleteFromPrimitiveList/<list> steer the merge. The order
 * of merged lists follows kube: items named by the patch in patch order, interleaved with
 * the live-only items in live order, a new item going before the live items it is not
 * ordered against.
 *
 * Where kube relies on decoding into Go structs to drop leftovers (directive keys in
 * replaced or appended content, explicit nulls), this file strips them itself, since our
 * objects stay JSON trees.
 *
 * Not for: JSON or merge patch (patch_json.c, patch_merge.c), server-side apply (apply.c),
 * computing patches (that is kubectl's job), custom resources (the caller answers 415).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/patch.h"
#include "base/buf.h"
#include "base/json.h"
#include "base/util.h"

#define DIRECTIVE        "$patch"
#define RETAIN_KEYS      "$retainKeys"
#define SET_ORDER        "$setElementOrder"
#define DELETE_PRIMITIVE "$deleteFromPrimitiveList"

/* ---- schema navigation ---- */

/* What the object being merged is: a struct type, a map whose values `mapf` describes, or
 * unknown (both NULL: no metadata, so maps merge and lists are replaced). */
typedef struct shape {
	const schema_type *t;
	const schema_field *mapf;
} shape;

/* The facts about one member of a shape. */
typedef struct fmeta {
	uint8_t kind, elem;
	const schema_type *type;
	const schema_field *self; /* the field itself, for MAP fields */
	const char *strategy, *merge_key;
} fmeta;

static fmeta shape_lookup(shape s, const char *key)
{
	fmeta m = {0};
	if (s.t) {
		const schema_field *f = schema_field_json(s.t, key);
		if (f)
			m = (fmeta){f->kind, f->elem,           f->type,
			            f,       f->patch_strategy, f->patch_merge_key};
	} else if (s.mapf) {
		m.kind = s.mapf->elem;
		m.type = s.mapf->type;
	}
	return m;
}

static shape obj_shape(fmeta m)
{
	if (m.kind == SCHEMA_OBJECT)
		return (shape){m.type, NULL};
	if (m.kind == SCHEMA_MAP && m.self)
		return (shape){NULL, m.self};
	return (shape){0};
}

static shape elem_shape(fmeta m)
{
	if (m.kind == SCHEMA_ARRAY && m.elem == SCHEMA_OBJECT)
		return (shape){m.type, NULL};
	return (shape){0};
}

/* True when the comma-separated strategy list holds tok ("merge", "replace"). */
static bool has_strategy(const char *list, const char *tok)
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

/* ---- values as Go sees them ---- */

/* Go's == on decoded interface{} scalars: same dynamic type (int64 vs float64 differ)
 * and same value. Maps and lists never match (Go would panic). */
static bool key_eq(const json_t *a, const json_t *b)
{
	if (!a || !b || json_typeof(a) != json_typeof(b))
		return false;
	switch (json_typeof(a)) {
	case JSON_STRING:
	case JSON_INTEGER:
	case JSON_REAL:
	case JSON_TRUE:
	case JSON_FALSE:
	case JSON_NULL:
		return patch_json_equal(a, b);
	default:
		return false;
	}
}

/* Appends v the way Go's fmt %v prints decoded JSON (maps with sorted keys). Bounded: long
 * values are cut, so hostile patches cannot make huge error messages. */
static void go_fmt(buf *b, const json_t *v)
{
	json_go_format(b, v, 2048);
}

/* ---- errors, with kube's codes (see patch.h) ---- */

static int fail_unknown(terr **err, const char *fmt, const json_t *v, const char *tail)
{
	_cleanup_buf_ buf b = {0};
	go_fmt(&b, v);
	return terr_set(err, 500, "", fmt, b.p ? b.p : "", tail ? tail : "");
}

static int fail_no_merge_key(terr **err, const json_t *m, const char *key)
{
	return fail_unknown(err, "map: %s does not contain declared merge key: %s", m, key);
}

static int fail_arg_type(terr **err, const char *want, const json_t *got)
{
	return terr_set(err, 500, "", "expected a %s, but received a %s", want, json_go_type(got));
}

static int fail_bad_directive(terr **err, const json_t *d, const json_t *in)
{
	_cleanup_buf_ buf b = {0};
	go_fmt(&b, d);
	buf_puts(&b, " in map: ");
	go_fmt(&b, in);
	return terr_set(err, 500, "", "unknown patch type: %s", b.p);
}

static int fail_422(terr **err)
{
	return terr_set(err, 422, "Invalid",
	                "the server rejected our request due to an error in our request");
}

/* ---- cleaning values that enter the result ---- */

static bool is_directive_key(const char *k)
{
	return str_eq(k, DIRECTIVE) || str_eq(k, RETAIN_KEYS) || str_has_prefix(k, SET_ORDER) ||
	       str_has_prefix(k, DELETE_PRIMITIVE);
}

/* A copy of v (owned) without directive keys and null members. drop_marked: maps that hold
 * a $patch directive are dropped (kube's removeDirectives); NULL when v itself is one. */
static json_t *clean(const json_t *v, bool drop_marked)
{
	if (json_is_object(v)) {
		if (drop_marked && json_object_get(v, DIRECTIVE))
			return NULL;
		json_t *o = json_object();
		const char *k;
		size_t kn;
		json_t *c;
		json_object_keylen_foreach((json_t *)v, k, kn, c)
		{
			if (json_is_null(c) || is_directive_key(k))
				continue;
			json_t *cc = clean(c, drop_marked);
			if (cc)
				json_object_setn_new(o, k, kn, cc);
		}
		return o;
	}
	if (json_is_array(v)) {
		json_t *a = json_array();
		for (size_t i = 0; i < json_array_size(v); i++) {
			json_t *cc = clean(json_array_get(v, i), drop_marked);
			if (cc)
				json_array_append_new(a, cc);
		}
		return a;
	}
	return json_clone(v);
}

/* ---- lists ---- */

/* kube's sliceElementType: every element of both lists has one type, not a list. */
static int elem_type(const json_t *a, const json_t *b, json_type *out, terr **err)
{
	const json_t *lists[2] = {a, b};
	bool seen = false;
	json_type t = JSON_NULL;
	for (int l = 0; l < 2; l++) {
		for (size_t i = 0; i < json_array_size(lists[l]); i++) {
			json_type cur = json_typeof(json_array_get(lists[l], i));
			if (cur == JSON_FALSE)
				cur = JSON_TRUE;
			if (!seen) {
				seen = true;
				t = cur;
				if (t == JSON_ARRAY)
					return fail_422(
					    err); /* k8s: lists of lists are not supported */
			} else if (cur != t) {
				_cleanup_buf_ buf bb = {0};
				buf_putc(&bb, '[');
				go_fmt(&bb, a);
				buf_putc(&bb, ' ');
				go_fmt(&bb, b);
				buf_putc(&bb, ']');
				return terr_set(err, 500, "",
				                "list element types are not identical: %s", bb.p);
			}
		}
	}
	if (!seen)
		return terr_set(err, 500, "", "no elements in any of the given slices");
	*out = t;
	return 0;
}

/* The merge-key value of a list item (maps) or the item itself (primitives). */
static json_t *item_key(json_t *item, const char *mk)
{
	return *mk ? json_object_get(item, mk) : item;
}

/* Index of the first item of l whose key equals v's key, or -1. */
static long find_index(json_t *l, json_t *v, const char *mk)
{
	json_t *want = item_key(v, mk);
	for (size_t i = 0; i < json_array_size(l); i++) {
		json_t *k = item_key(json_array_get(l, i), mk);
		if (want ? key_eq(k, want) : k == NULL)
			return (long)i;
	}
	return -1;
}

/* Every item of l is a map holding mk. */
static int check_merge_key(json_t *l, const char *mk, terr **err)
{
	for (size_t i = 0; i < json_array_size(l); i++) {
		json_t *it = json_array_get(l, i);
		if (!json_is_object(it))
			return fail_arg_type(err, "map[string]interface {}", it);
		if (!json_object_get(it, mk))
			return fail_no_merge_key(err, it, mk);
	}
	return 0;
}

typedef struct ranked {
	json_t *v;
	long rank;
	size_t pos;
} ranked;

static int cmp_ranked(const void *a, const void *b)
{
	const ranked *x = a, *y = b;
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return x->pos < y->pos ? -1 : (x->pos > y->pos);
}

/* kube's normalizeSliceOrder: stable sort of items by their place in order; for maps,
 * items marked "$patch: delete" go last. Returns a new array (owned). */
static json_t *sort_by(json_t *items, json_t *order, const char *mk, bool maps, terr **err)
{
	if (maps && (check_merge_key(items, mk, err) < 0 || check_merge_key(order, mk, err) < 0))
		return NULL;
	size_t n = json_array_size(items);
	ranked *r = xcalloc(n ? n : 1, sizeof *r);
	for (size_t i = 0; i < n; i++) {
		json_t *v = json_array_get(items, i);
		long idx = find_index(order, v, mk);
		bool del =
		    maps && str_eq(json_string_value(json_object_get(v, DIRECTIVE)), "delete");
		r[i] = (ranked){v, del ? 0x7fffffffL : (idx < 0 ? 0x7ffffffeL : idx), i};
	}
	qsort(r, n, sizeof *r, cmp_ranked);
	json_t *out = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append(out, r[i].v);
	free(r);
	return out;
}

/* kube's normalizeElementOrder + mergeSortedSlice: patch items in patch order and
 * live-only items in live order, interleaved by their places in the live list. */
static json_t *order_items(json_t *patch_items, json_t *server_only, json_t *porder, json_t *sorder,
                           const char *mk, bool maps, terr **err)
{
	_cleanup_json_ json_t *right = sort_by(patch_items, porder, mk, maps, err);
	if (!right)
		return NULL;
	_cleanup_json_ json_t *left = sort_by(server_only, sorder, mk, maps, err);
	if (!left)
		return NULL;
	json_t *out = json_array();
	size_t i = 0, j = 0, nl = json_array_size(left), nr = json_array_size(right);
	while (i < nl || j < nr) {
		if (i >= nl) {
			json_array_append(out, json_array_get(right, j++));
		} else if (j >= nr) {
			json_array_append(out, json_array_get(left, i++));
		} else {
			long li = find_index(sorder, json_array_get(left, i), mk);
			long ri = find_index(sorder, json_array_get(right, j), mk);
			if (li >= 0 && ri >= 0 && li < ri)
				json_array_append(out, json_array_get(left, i++));
			else
				json_array_append(out, json_array_get(right, j++));
		}
	}
	return out;
}

/* Splits merged into items present in `by` (by key) and the others. */
static int partition(json_t *merged, json_t *by, const char *mk, json_t **in, json_t **out,
                     terr **err)
{
	*in = json_array();
	*out = json_array();
	for (size_t i = 0; i < json_array_size(merged); i++) {
		json_t *v = json_array_get(merged, i);
		if (*mk) {
			if (!json_is_object(v))
				return fail_arg_type(err, "map[string]interface {}", v);
			if (!json_object_get(v, mk))
				return fail_no_merge_key(err, v, mk);
		}
		json_array_append(find_index(by, v, mk) >= 0 ? *in : *out, v);
	}
	return 0;
}

static json_t *smp_map(json_t *orig, json_t *patch, shape s, terr **err);

/* kube's mergeSlice. orig is owned (consumed), patch borrowed. */
static json_t *smp_list(json_t *orig, json_t *patch, fmeta m, bool is_delete, terr **err)
{
	if (json_array_size(orig) == 0 && json_array_size(patch) == 0)
		return orig;
	json_type t;
	if (elem_type(orig, patch, &t, err) < 0) {
		json_decref(orig);
		return NULL;
	}
	const char *mk = m.merge_key ? m.merge_key : "";
	bool maps = t == JSON_OBJECT;
	_cleanup_json_ json_t *base = orig, *porder = NULL, *merged = NULL, *sorder = NULL;
	if (!maps) {
		if (is_delete) {
			/* k8s: $deleteFromPrimitiveList removes every listed value. */
			json_t *r = json_array();
			for (size_t i = 0; i < json_array_size(orig); i++)
				if (find_index(patch, json_array_get(orig, i), "") < 0)
					json_array_append(r, json_array_get(orig, i));
			return r;
		}
		/* k8s: primitive lists with the merge strategy are merged as sets. */
		merged = json_array();
		const json_t *both[2] = {orig, patch};
		for (int l = 0; l < 2; l++)
			for (size_t i = 0; i < json_array_size(both[l]); i++) {
				json_t *v = json_array_get(both[l], i);
				if (find_index(merged, v, "") < 0)
					json_array_append_new(merged, json_clone(v));
			}
		porder = json_incref(patch);
		sorder = json_incref(orig);
	} else {
		if (!*mk) {
			terr_set(err, 500, "", "cannot merge lists without merge key for struct");
			return NULL;
		}
		/* Special items first: "$patch: delete" removes every live item with that key,
		 * "$patch: replace" makes the other patch items the whole list. */
		porder = json_array();
		bool replace = false;
		for (size_t i = 0; i < json_array_size(patch); i++) {
			json_t *v = json_array_get(patch, i);
			json_t *d = json_object_get(v, DIRECTIVE);
			if (!d) {
				json_array_append(porder, v);
				continue;
			}
			const char *ds = json_string_value(d);
			if (str_eq(ds, "delete")) {
				json_t *kv = json_object_get(v, mk);
				if (!kv) {
					fail_no_merge_key(err, v, mk);
					return NULL;
				}
				for (size_t j = 0; j < json_array_size(base);) {
					json_t *b = json_array_get(base, j);
					if (!json_is_object(b)) {
						terr_set(err, 500, "",
						         "value for key %zu is not a map", j);
						return NULL;
					}
					if (key_eq(json_object_get(b, mk), kv))
						json_array_remove(base, j);
					else
						j++;
				}
			} else if (str_eq(ds, "replace")) {
				replace = true;
			} else if (str_eq(ds, "merge")) {
				terr_set(err, 500, "",
				         "merging lists cannot yet be specified in the patch");
				return NULL;
			} else {
				fail_bad_directive(err, d, v);
				return NULL;
			}
		}
		if (replace) {
			json_decref(base);
			base = clean(porder, false);
			json_array_clear(porder);
		}
		/* Merge items with a live counterpart; append the others. The live order is
		 * taken before appending (kube orders against the live list). */
		sorder = json_array();
		for (size_t i = 0; i < json_array_size(base); i++)
			json_array_append(sorder, json_array_get(base, i));
		for (size_t i = 0; i < json_array_size(porder); i++) {
			json_t *v = json_array_get(porder, i);
			json_t *kv = json_object_get(v, mk);
			if (!kv) {
				fail_no_merge_key(err, v, mk);
				return NULL;
			}
			long at = -1;
			for (size_t j = 0; j < json_array_size(base); j++) {
				json_t *b = json_array_get(base, j);
				if (!json_is_object(b)) {
					terr_set(err, 500, "", "value for key %zu is not a map", j);
					return NULL;
				}
				if (key_eq(json_object_get(b, mk), kv)) {
					at = (long)j;
					break;
				}
			}
			if (at < 0) {
				json_array_append_new(base, clean(v, false));
				continue;
			}
			json_t *r =
			    smp_map(json_incref(json_array_get(base, at)), v, elem_shape(m), err);
			if (!r)
				return NULL;
			json_array_set_new(base, at, r);
		}
		merged = json_incref(base);
	}
	_cleanup_json_ json_t *pin = NULL, *sonly = NULL;
	if (partition(merged, porder, mk, &pin, &sonly, err) < 0)
		return NULL;
	return order_items(pin, sonly, porder, sorder, mk, maps, err);
}

/* kube's mergeSliceHandler: merge when the field says so (or for deletion lists), else
 * the patch list replaces the live one. orig owned, patch borrowed. */
static json_t *smp_list_field(json_t *orig, json_t *patch, fmeta m, bool is_delete, terr **err)
{
	if (has_strategy(m.strategy, "merge") || is_delete)
		return smp_list(orig, patch, m, is_delete, err);
	json_decref(orig);
	return clean(patch, false);
}

/* ---- maps ---- */

/* k8s: $retainKeys lists the only keys the live map keeps; the patch may not set others. */
static int retain_keys(json_t *orig, json_t *patch, terr **err)
{
	json_t *rk = json_incref(json_object_get(patch, RETAIN_KEYS));
	if (!rk)
		return 0;
	json_object_del(patch, RETAIN_KEYS);
	_cleanup_json_ json_t *list = rk;
	if (!json_is_array(list))
		return terr_bad_request(err, "invalid patch format of retainKeys");
	const char *k;
	json_t *v;
	json_t *tmp;
	json_object_foreach(patch, k, v)
	{
		if (json_is_null(v) || str_has_prefix(k, DELETE_PRIMITIVE) ||
		    str_has_prefix(k, SET_ORDER))
			continue;
		bool found = false;
		for (size_t i = 0; i < json_array_size(list) && !found; i++)
			found = str_eq(json_string_value(json_array_get(list, i)), k);
		if (!found)
			return terr_bad_request(err, "invalid patch format of retainKeys");
	}
	json_object_foreach_safe(orig, tmp, k, v)
	{
		bool found = false;
		for (size_t i = 0; i < json_array_size(list) && !found; i++)
			found = str_eq(json_string_value(json_array_get(list, i)), k);
		if (!found)
			json_object_del(orig, k);
	}
	return 0;
}

/* The list key after "<prefix>/", or NULL with a 400 error (kube's extractKey). */
static const char *directive_target(const char *k, const char *prefix, terr **err)
{
	size_t n = strlen(prefix);
	if (strncmp(k, prefix, n) != 0 || k[n] != '/') {
		terr_bad_request(err, str_eq(prefix, SET_ORDER)
		                          ? "invalid patch format of setElementOrder list"
		                          : "invalid patch format of primitive list");
		return NULL;
	}
	return k + n + 1;
}

/* k8s: $setElementOrder/<list> fixes the order of a merged list; its items must follow the
 * patch list's relative order. */
static int check_set_order(json_t *plist, json_t *order, const char *mk, terr **err)
{
	if (!json_array_size(order) || !json_array_size(plist))
		return 0;
	size_t pi = 0, oi = 0, np = json_array_size(plist), no = json_array_size(order);
	if (*mk)
		for (size_t i = 0; i < np; i++)
			if (!json_is_object(json_array_get(plist, i)))
				return fail_arg_type(err, "map[string]interface {}",
				                     json_array_get(plist, i));
	while (pi < np && oi < no) {
		json_t *p = json_array_get(plist, pi);
		if (*mk && str_eq(json_string_value(json_object_get(p, DIRECTIVE)), "delete")) {
			pi++;
			continue;
		}
		if (json_is_object(p) && json_object_get(p, DIRECTIVE)) {
			pi++;
			continue;
		}
		json_t *o = json_array_get(order, oi);
		bool eq;
		if (*mk) {
			if (!json_is_object(o))
				return fail_arg_type(err, "map[string]interface {}", o);
			json_t *pk = json_object_get(p, mk), *ok = json_object_get(o, mk);
			if (!pk)
				return fail_no_merge_key(err, p, mk);
			if (!ok)
				return fail_no_merge_key(err, o, mk);
			eq = key_eq(pk, ok);
		} else {
			eq = key_eq(p, o);
		}
		if (eq)
			pi++;
		oi++;
	}
	while (pi < np && *mk &&
	       str_eq(json_string_value(json_object_get(json_array_get(plist, pi), DIRECTIVE)),
	              "delete"))
		pi++;
	if (pi < np && oi >= no) {
		_cleanup_buf_ buf b = {0};
		go_fmt(&b, plist);
		buf_puts(&b, "\n doesn't match " SET_ORDER " list:\n");
		go_fmt(&b, order);
		return terr_set(err, 500, "", "The order in patch list:\n%s\n", b.p);
	}
	return 0;
}

static int set_element_orders(json_t *orig, json_t *patch, shape s, terr **err)
{
	/* Collect first: the loop edits patch. */
	_cleanup_json_ json_t *keys = json_array();
	const char *k;
	json_t *v;
	json_object_foreach(patch, k, v)
	{
		if (str_has_prefix(k, SET_ORDER))
			json_array_append_new(keys, json_string(k));
	}
	for (size_t i = 0; i < json_array_size(keys); i++) {
		const char *dk = json_string_value(json_array_get(keys, i));
		_cleanup_json_ json_t *order = json_incref(json_object_get(patch, dk));
		json_object_del(patch, dk);
		if (!json_is_array(order))
			return fail_arg_type(err, "[]interface {}", order);
		const char *lk = directive_target(dk, SET_ORDER, err);
		if (!lk)
			return -1;
		json_t *olist = json_object_get(orig, lk);
		_cleanup_json_ json_t *plist = json_incref(json_object_get(patch, lk));
		if (olist && !json_is_array(olist))
			return fail_arg_type(err, "[]interface {}", olist);
		if (plist && !json_is_array(plist))
			return fail_arg_type(err, "[]interface {}", plist);
		fmeta m = shape_lookup(s, lk);
		const char *mk = m.merge_key ? m.merge_key : "";
		if (check_set_order(plist, order, mk, err) < 0)
			return -1;
		if (!olist && !plist)
			continue;
		_cleanup_json_ json_t *olist_copy = olist ? json_clone(olist) : json_array();
		_cleanup_json_ json_t *merged = NULL;
		if (olist && !plist)
			merged = json_incref(olist);
		else if (!olist)
			merged = clean(plist, true);
		else if (!(merged = smp_list_field(json_incref(olist), plist, m, false, err)))
			return -1;
		_cleanup_json_ json_t *pin = NULL, *sonly = NULL;
		if (partition(merged, order, mk, &pin, &sonly, err) < 0)
			return -1;
		json_type t;
		if (elem_type(olist_copy, plist, &t, err) < 0)
			return -1;
		json_t *both =
		    order_items(pin, sonly, order, olist_copy, mk, t == JSON_OBJECT, err);
		if (!both)
			return -1;
		json_object_set_new(orig, lk, both);
		json_object_del(patch, lk);
	}
	return 0;
}

/* kube's mergeMap. orig is owned (consumed; NULL means {}), patch is a private copy that
 * may be edited. Returns the merged map (owned) or NULL. */
static json_t *smp_map(json_t *orig, json_t *patch, shape s, terr **err)
{
	json_t *d = json_object_get(patch, DIRECTIVE);
	if (d) {
		json_decref(orig);
		if (str_eq(json_string_value(d), "replace")) {
			json_object_del(patch, DIRECTIVE);
			return clean(patch, false);
		}
		if (str_eq(json_string_value(d), "delete"))
			return json_object(); /* k8s: a map with "$patch: delete" becomes empty */
		fail_bad_directive(err, d, patch);
		return NULL;
	}
	if (!json_is_object(orig)) {
		json_decref(orig);
		orig = json_object();
	}
	if (retain_keys(orig, patch, err) < 0 || set_element_orders(orig, patch, s, err) < 0) {
		json_decref(orig);
		return NULL;
	}
	const char *key;
	json_t *pv;
	json_object_foreach(patch, key, pv)
	{
		/* k8s: "$deleteFromPrimitiveList/<list>" names values to drop from <list>. */
		bool is_delete = false;
		const char *k = key;
		if (str_has_prefix(key, DELETE_PRIMITIVE)) {
			if (!(k = directive_target(key, DELETE_PRIMITIVE, err)))
				goto fail;
			is_delete = true;
		}
		if (json_is_null(pv)) {
			json_object_del(orig, k);
			continue;
		}
		json_t *ov = json_object_get(orig, k);
		bool same_type = ov && (json_typeof(ov) == json_typeof(pv) ||
		                        (json_is_boolean(ov) && json_is_boolean(pv)));
		if (!same_type) {
			if (is_delete)
				continue;
			/* New or retyped value: take the patch, without nulls and directives. */
			json_t *c = clean(pv, true);
			if (c)
				json_object_set_new(orig, k, c);
			else
				json_object_del(orig, k);
			continue;
		}
		fmeta m = shape_lookup(s, k);
		json_t *r;
		if (json_is_object(ov)) {
			if (has_strategy(m.strategy, "replace"))
				r = clean(pv, false);
			else
				r = smp_map(json_incref(ov), pv, obj_shape(m), err);
		} else if (json_is_array(ov)) {
			r = smp_list_field(json_incref(ov), pv, m, is_delete, err);
		} else {
			r = json_clone(pv);
		}
		if (!r)
			goto fail;
		json_object_set_new(orig, k, r);
	}
	return orig;
fail:
	json_decref(orig);
	return NULL;
}

json_t *patch_strategic(json_t *doc, json_t *patch, const schema_type *t, terr **err)
{
	if (!patch || json_is_null(patch))
		return json_clone(doc);
	if (!json_is_object(patch)) {
		const char *kind = json_is_array(patch)    ? "array"
		                   : json_is_string(patch) ? "string"
		                   : json_is_number(patch) ? "number"
		                                           : "bool";
		terr_bad_request(err,
		                 "json: cannot unmarshal %s into Go value of type "
		                 "map[string]interface {}",
		                 kind);
		return NULL;
	}
	_cleanup_json_ json_t *p = json_clone(patch);
	return smp_map(json_clone(doc), p, (shape){t, NULL}, err);
}
