/* fieldset_memo.c — FieldsV1 remembered by the shape of the value they were built from.
 *
 * A value's FieldsV1 against nothing (a create's, an item a write added) depends on its
 * members and the class of each (null, another scalar, an object; an associative list by
 * its items' keys and shapes, any other list whole), under its type; not on its other
 * scalar values. So values of one shape share one FieldsV1: a Deployment's pods, the
 * scheduler's events, every pod's container. Each memo remembers the
 * last 16 shapes; per type it stops looking for a while when looking keeps missing
 * (objects carrying a generated key, such as a pod's token volume, never repeat: writing
 * their shape out was a third of building their fields).
 *
 * Not for: building FieldsV1 (fieldset_walk.c) or entries (apply.c).
 */
#include <stdlib.h>
#include <string.h>

#include "api/fieldset.h"
#include "base/buf.h"
#include "base/json.h"
#include "base/util.h"

#define SHAPE_BYTES (16u << 10) /* larger values are not remembered */
#define SHAPE_TRIES 8           /* misses in a row before a type stops looking */
#define SHAPE_REST  256         /* values of that type built without looking */

static void shape_of(buf *b, json_t *v, const fs_type *t);

/* An associative list of a built-in type: each item's key fields (what names it in the
 * fields, "m" for a missing one) and its own shape, in order. Not the other values of its
 * items: a container's volumeMounts name the pod's generated token volume, but are keyed
 * by mountPath, so every pod's containers share their fields. */
static void keyed_list_shape(buf *b, json_t *l, const fs_type *t)
{
	fs_type et = fs_type_elem(t);
	buf_putc(b, '[');
	size_t i;
	json_t *item;
	json_array_foreach(l, i, item)
	{
		if (!json_is_object(item)) {
			json_dump_into(b, item, false);
			continue;
		}
		buf_putc(b, '<');
		for (size_t k = 0; k < fs_type_nkeys(t); k++) {
			char name[128];
			json_t *kv = json_object_get(item, fs_type_key_name(t, k, name));
			if (kv)
				json_dump_into(b, kv, false);
			else
				buf_putc(b, 'm');
			buf_putc(b, ',');
		}
		shape_of(b, item, &et);
	}
	buf_putc(b, ']');
}

/* What a value's FieldsV1 depends on under type t, written out: every object's keys in
 * order with the class of each value; an associative list's items by their keys and
 * shapes; any other list whole, since its values decide its members. A shape names more
 * than the fields need (never less): two values of one shape have one FieldsV1. */
static void shape_of(buf *b, json_t *v, const fs_type *t)
{
	if (json_is_object(v)) {
		buf_putc(b, '{');
		const char *k;
		size_t kn;
		json_t *m;
		json_object_keylen_foreach(v, k, kn, m)
		{
			buf_json_str(b, k, kn);
			if (json_is_object(m) || json_is_array(m)) {
				fs_type ct = fs_type_child(t, k);
				shape_of(b, m, &ct);
			} else {
				buf_putc(b, json_is_null(m) ? 'n' : 'v');
			}
		}
		buf_putc(b, '}');
	} else if (json_is_array(v) && t->kind == FS_LIST && !t->atomic && t->list == FS_LMAP &&
	           t->keys && !t->jkeys) {
		keyed_list_shape(b, v, t);
	} else if (json_is_array(v)) {
		json_dump_into(b, v, false);
	} else {
		buf_putc(b, json_is_null(v) ? 'n' : 'v');
	}
}

/* Types are told apart by what decides a walk under them; a CRD's schema node can be freed
 * and another take its address, so CRD values are never remembered. */
static bool same_type(const fs_type *a, const fs_type *b)
{
	return a->kind == b->kind && a->st == b->st && a->et == b->et && a->elem == b->elem &&
	       a->list == b->list && a->atomic == b->atomic && a->implicit == b->implicit &&
	       a->keys == b->keys;
}

#define MEMO_SHAPES 16
#define MEMO_TYPES  8

typedef struct memo_shape {
	fs_type t;
	char *shape;
	size_t len;
	json_t *v1; /* shared by every value of this shape: never changed */
} memo_shape;

typedef struct memo_type {
	fs_type t;
	bool used;
	unsigned misses, rest;
} memo_type;

typedef struct memo {
	memo_shape shapes[MEMO_SHAPES];
	memo_type types[MEMO_TYPES];
	size_t next_shape, next_type;
	buf key; /* the shape of the value being looked up */
} memo;

/* Per thread: the walks that use them run on the thread that asked. */
static _Thread_local memo memos[FS_MEMO_N];

json_t *fs_memo_get(fs_memo_which w, json_t *v, const fs_type *t, fs_memo_miss *miss)
{
	memo *m = &memos[w];
	*miss = (fs_memo_miss){0};
	if (t->js || t->jkeys || t->crd_root)
		return NULL;
	memo_type *ty = NULL;
	for (size_t i = 0; i < MEMO_TYPES && !ty; i++)
		if (m->types[i].used && same_type(&m->types[i].t, t))
			ty = &m->types[i];
	if (!ty) {
		ty = &m->types[m->next_type++ % MEMO_TYPES];
		*ty = (memo_type){.t = *t, .used = true};
	}
	if (ty->rest) {
		ty->rest--;
		return NULL;
	}
	buf_reset(&m->key);
	shape_of(&m->key, v, t);
	for (size_t i = 0; i < MEMO_SHAPES; i++) {
		memo_shape *s = &m->shapes[i];
		if (s->v1 && s->len == m->key.n && same_type(&s->t, t) &&
		    memcmp(s->shape, m->key.p, m->key.n) == 0) {
			ty->misses = 0;
			return json_incref(s->v1);
		}
	}
	if (++ty->misses >= SHAPE_TRIES) {
		ty->misses = 0;
		ty->rest = SHAPE_REST;
	}
	/* The shape leaves with the caller: the build it goes on to do may look up values
	 * nested in this one, in this same memo. */
	if (m->key.n <= SHAPE_BYTES)
		*miss = (fs_memo_miss){xstrndup(m->key.p, m->key.n), m->key.n, *t};
	if (m->key.cap > 4 * SHAPE_BYTES)
		buf_free(&m->key);
	return NULL;
}

void fs_memo_put(fs_memo_which w, fs_memo_miss *miss, json_t *v1)
{
	memo *m = &memos[w];
	if (miss->shape && v1) {
		memo_shape *s = &m->shapes[m->next_shape++ % MEMO_SHAPES];
		free(s->shape);
		json_decref(s->v1);
		*s = (memo_shape){miss->t, miss->shape, miss->len, json_incref(v1)};
	} else {
		free(miss->shape);
	}
	*miss = (fs_memo_miss){0};
}
