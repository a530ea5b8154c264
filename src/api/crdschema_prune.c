/* crdschema_prune.c — defaulting and pruning of custom resources by their structural
 * schema, as kube-apiserver does when it decodes them: unknown fields are dropped (and
 * their paths reported for fieldValidation), non-nullable nulls without a default are
 * dropped, then `default` values fill missing properties top-down.
 *
 * Not for: validation (crdschema.c), or the nested fields of ObjectMeta (only unknown
 * top-level metadata fields are dropped here).
 */
#include <stdlib.h>
#include <string.h>

#include "api/crdschema-internal.h"
#include "api/crdschema.h"
#include "base/json.h"
#include "base/util.h"

typedef struct pctx {
	buf path;      /* the parent's path: "spec.items[0]" */
	char **found;  /* pruned paths */
	size_t n, cap;
	bool track;
} pctx;

static bool meta_field(const char *k)
{
	return !strcmp(k, "apiVersion") || !strcmp(k, "kind") || !strcmp(k, "metadata");
}

static void record(pctx *c, const char *k)
{
	if (!c->track)
		return;
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 8;
		c->found = xrealloc(c->found, c->cap * sizeof *c->found);
	}
	c->found[c->n++] = c->path.n ? xasprintf("%s.%s", c->path.p, k) : xstrdup(k);
}

static size_t push_key(pctx *c, const char *k)
{
	size_t mark = c->path.n;
	if (c->track) {
		if (c->path.n)
			buf_putc(&c->path, '.');
		buf_puts(&c->path, k);
	}
	return mark;
}

static size_t push_index(pctx *c, size_t i)
{
	size_t mark = c->path.n;
	if (c->track)
		buf_printf(&c->path, "[%zu]", i);
	return mark;
}

static void pop(pctx *c, size_t mark)
{
	c->path.n = mark;
	if (c->path.p)
		c->path.p[mark] = 0;
}

static void prune(pctx *c, json_t *x, const json_t *s, bool root);

/* k8s: under x-kubernetes-preserve-unknown-fields unknown fields stay, known ones are
 * still pruned by their own schema. */
static void skip_prune(pctx *c, json_t *x, const json_t *s)
{
	if (!json_is_object(s))
		return;
	bool emb = cs_flag(s, "x-kubernetes-embedded-resource");
	json_t *props = cs_props(s), *ap, *v, *p;
	bool addl = cs_addl(s, &ap);
	const char *k;
	size_t i;
	if (json_is_object(x)) {
		json_object_foreach(x, k, v) {
			if (emb && meta_field(k))
				continue;
			if ((p = json_object_get(props, k)) || addl) {
				size_t m = push_key(c, k);
				prune(c, v, p ? p : ap, false);
				pop(c, m);
			}
		}
	} else if (json_is_array(x)) {
		json_array_foreach(x, i, v) {
			size_t m = push_index(c, i);
			skip_prune(c, v, cs_items(s));
			pop(c, m);
		}
	}
}

/* s NULL: nothing below is specified (objects lose every field). */
static void prune(pctx *c, json_t *x, const json_t *s, bool root)
{
	if (s && cs_flag(s, "x-kubernetes-preserve-unknown-fields")) {
		skip_prune(c, x, s);
		return;
	}
	const char *k;
	json_t *v, *p = NULL, *ap = NULL;
	void *tmp;
	size_t i;
	if (json_is_object(x)) {
		bool emb = root || cs_flag(s, "x-kubernetes-embedded-resource");
		bool addl = s && cs_addl(s, &ap);
		json_object_foreach_safe(x, tmp, k, v) {
			if (s && emb && meta_field(k))
				continue;
			if (s && ((p = json_object_get(cs_props(s), k)) || addl)) {
				size_t m = push_key(c, k);
				prune(c, v, p ? p : ap, false);
				pop(c, m);
				continue;
			}
			record(c, k);
			json_object_del(x, k);
		}
	} else if (json_is_array(x)) {
		json_array_foreach(x, i, v) {
			size_t m = push_index(c, i);
			prune(c, v, s ? cs_items(s) : NULL, false);
			pop(c, m);
		}
	}
}

/* The schema of member k of an object under s, or NULL. */
static const json_t *member_schema(const json_t *s, const char *k)
{
	json_t *p = json_object_get(cs_props(s), k), *ap;
	if (p)
		return p;
	cs_addl(s, &ap);
	return ap;
}

static bool nullable(const json_t *s)
{
	return cs_flag(s, "nullable");
}

static json_t *default_of(const json_t *s)
{
	json_t *d = json_object_get(s, "default");
	return d && !json_is_null(d) ? d : NULL;
}

/* k8s: PruneNonNullableNullsWithoutDefaults. */
static void prune_nulls(json_t *x, const json_t *s)
{
	const char *k;
	json_t *v;
	void *tmp;
	size_t i;
	if (json_is_object(x)) {
		json_object_foreach_safe(x, tmp, k, v) {
			const json_t *ms = json_is_object(s) ? member_schema(s, k) : NULL;
			if (json_is_null(v) && ms && !nullable(ms) && !default_of(ms))
				json_object_del(x, k);
			else
				prune_nulls(v, ms);
		}
	} else if (json_is_array(x)) {
		json_array_foreach(x, i, v) prune_nulls(v, json_is_object(s) ? cs_items(s) : NULL);
	}
}

/* k8s: the fields of metav1.ObjectMeta; others are dropped from a custom resource. */
static const char *const object_meta[] = {
	"name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation",
	"creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "labels",
	"annotations", "ownerReferences", "finalizers", "managedFields",
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void crdschema_prune(json_t *schema, json_t *obj, json_t **pruned_paths)
{
	pctx c = {.track = pruned_paths != NULL};
	json_t *out = pruned_paths ? json_array() : NULL;
	json_t *meta = json_object_get(obj, "metadata"), *v;
	const char *k;
	void *tmp;
	if (json_is_object(meta)) {
		json_object_foreach_safe(meta, tmp, k, v) {
			bool known = false;
			for (size_t i = 0; i < ARRAY_SIZE(object_meta) && !known; i++)
				known = strcmp(k, object_meta[i]) == 0;
			if (known)
				continue;
			if (out)
				json_array_append_new(out, json_sprintf("metadata.%s", k));
			json_object_del(meta, k);
		}
	}
	if (json_is_object(obj)) {
		/* k8s: no schema at the root prunes like an empty one: only type and object
		 * meta stay */
		json_t *empty = json_is_object(schema) ? NULL : json_object();
		prune(&c, obj, empty ? empty : schema, true);
		prune_nulls(obj, schema);
		json_decref(empty);
	}
	if (c.n)
		qsort(c.found, c.n, sizeof *c.found, cmp_str);
	for (size_t i = 0; i < c.n; i++) {
		json_array_append_new(out, json_string(c.found[i]));
		free(c.found[i]);
	}
	free(c.found);
	buf_free(&c.path);
	if (pruned_paths)
		*pruned_paths = out;
}

/* A deep copy of default value d of schema s, pruned by s (kube prunes defaults). */
static json_t *default_copy(const json_t *d, const json_t *s)
{
	json_t *copy = json_clone(d);
	pctx c = {0};
	prune(&c, copy, s, false);
	return copy;
}

static void apply_defaults(json_t *x, const json_t *s)
{
	if (!json_is_object(s))
		return;
	const char *k;
	json_t *v, *p, *d;
	size_t i;
	if (json_is_object(x)) {
		json_object_foreach(cs_props(s), k, p) {
			if (!json_is_object(p) || !(d = default_of(p)))
				continue;
			v = json_object_get(x, k);
			if (!v || (json_is_null(v) && !nullable(p)))
				json_object_set_new(x, k, default_copy(d, p));
		}
		json_t *ap;
		bool addl = cs_addl(s, &ap);
		json_object_foreach(x, k, v) {
			if ((p = json_object_get(cs_props(s), k))) {
				apply_defaults(v, p);
			} else if (addl) {
				if (json_is_null(v) && ap && !nullable(ap) && (d = default_of(ap))) {
					v = default_copy(d, ap);
					json_object_set_new(x, k, v);
				}
				apply_defaults(v, ap);
			}
		}
	} else if (json_is_array(x)) {
		json_t *items = cs_items(s);
		json_array_foreach(x, i, v) {
			if (json_is_null(v) && items && !nullable(items) && (d = default_of(items))) {
				v = default_copy(d, items);
				json_array_set_new(x, i, v);
			}
			apply_defaults(v, items);
		}
	}
}

void crdschema_default(json_t *schema, json_t *obj)
{
	apply_defaults(obj, schema);
}
