/* fieldset.h — sets of field paths and the typed walks over objects that produce and use
 * them: the model behind server-side apply's managedFields (Kubernetes' structured-merge-
 * diff, simplified where apply.h says so).
 *
 * A path is a sequence of elements: a struct field or map key ("f:name"), an item of an
 * associative list by its key fields ("k:{\"name\":\"nginx\"}"), an item of a set list
 * by value ("v:\"x\""), or an index ("i:0"). A set is a trie of such elements where each
 * node may itself be a member; it serializes to the FieldsV1 JSON form of managedFields.
 *
 * A fs_type tells the walks how to treat a value: struct, map, list (atomic, set or map
 * with keys), scalar, or untyped. It comes from the built-in schema table (api/schema.h)
 * or from a CRD's openAPIV3Schema.
 *
 * Not for: the apply/update algorithm and managedFields entries (api/apply.c).
 */
#ifndef TIMON_API_FIELDSET_H
#define TIMON_API_FIELDSET_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "api/schema.h"
#include "base/buf.h"
#include "base/error.h"

/* ---- path elements and sets ---- */

typedef struct fs_pe {
	char kind;   /* 'f' field, 'k' key, 'v' value, 'i' index */
	char *name;  /* 'f': the field name */
	json_t *val; /* 'k': object of key fields; 'v': the value (owned reference) */
	long idx;    /* 'i' */
} fs_pe;

typedef struct fieldset fieldset;

/* A new empty set (caller frees with fieldset_free). */
fieldset *fieldset_new(void);
void fieldset_free(fieldset *s);
void cleanup_fieldsetp(fieldset **s);
#define _cleanup_fieldset_ __attribute__((cleanup(cleanup_fieldsetp)))
/* A deep copy (caller owns). */
fieldset *fieldset_copy(const fieldset *s);
/* True when the set has no member at any depth. */
bool fieldset_empty(const fieldset *s);
/* Adds the path (elements copied). A zero-length path is ignored. */
void fieldset_insert(fieldset *s, const fs_pe *path, size_t n);
/* True when the path is a member. */
bool fieldset_has(const fieldset *s, const fs_pe *path, size_t n);
/* New sets (caller owns): a ∪ b, a − b (members of a not members of b), a ∩ b. */
fieldset *fieldset_union(const fieldset *a, const fieldset *b);
fieldset *fieldset_difference(const fieldset *a, const fieldset *b);
fieldset *fieldset_intersection(const fieldset *a, const fieldset *b);
/* The subset under element pe (borrowed; NULL when none), and whether pe itself is a
 * member: the relative views the typed walks descend with. */
const fieldset *fieldset_child(const fieldset *s, const fs_pe *pe);
bool fieldset_member(const fieldset *s, const fs_pe *pe);
/* Total order of path elements (structured-merge-diff's): fields, then keys, values,
 * indices. */
int fs_pe_cmp(const fs_pe *a, const fs_pe *b);
/* Removes the top-level element `name` and everything under it. */
void fieldset_drop_field(fieldset *s, const char *name);
/* Calls fn for every member path, in the set's order. */
void fieldset_iterate(const fieldset *s, void (*fn)(const fs_pe *path, size_t n, void *ud),
                      void *ud);

/* The FieldsV1 JSON object of s (caller owns). */
json_t *fieldset_to_v1(const fieldset *s);
/* A FieldsV1 leaf ({}): one shared, read-only empty object (a new reference). FieldsV1
 * trees are never changed once built, except to drop members of their own containers, so
 * their leaves (most of their nodes) need not each be an allocation. */
json_t *fs_v1_leaf(void);
/* Parses a FieldsV1 object; NULL with a 500 error when malformed (unknown element kinds
 * are skipped, as kube does). */
fieldset *fieldset_from_v1(const json_t *v1, terr **err);
/* Questions about the set a FieldsV1 object encodes, answered without decoding it (v1 as
 * fieldset_to_v1 writes it): whether s shares a member with it; whether every member of s
 * is one of its members. */
bool fieldset_meets_v1(const fieldset *s, const json_t *v1);
bool fieldset_within_v1(const fieldset *s, const json_t *v1);
/* Appends the path as kube prints it: ".spec.containers[name=\"nginx\"].image". */
void fs_path_string(buf *b, const fs_pe *path, size_t n);

/* ---- types ---- */

typedef enum fs_tkind { FS_UNTYPED = 0, FS_SCALAR, FS_STRUCT, FS_MAP, FS_LIST } fs_tkind;
typedef enum fs_lkind { FS_LATOMIC = 0, FS_LSET, FS_LMAP } fs_lkind;

typedef struct fs_type {
	fs_tkind kind;
	bool atomic;   /* struct or map with x-kubernetes-map-type atomic */
	bool implicit; /* built-in Go field that is present even when the JSON omits it */
	fs_lkind list;
	const char *keys;      /* built-in associative list: comma-separated key fields */
	json_t *jkeys;         /* CRD associative list: array of key field names (borrowed) */
	const schema_type *st; /* built-in struct */
	uint8_t elem;          /* built-in map or list: schema_kind of elements */
	const schema_type *et; /* built-in map or list of objects: element type */
	json_t *js;            /* CRD: the schema node of this value (borrowed) */
	bool crd_root;         /* CRD root object: "metadata" is ObjectMeta */
} fs_type;

/* The type of a whole object: the built-in t, else the CRD schema, else untyped. */
fs_type fs_type_root(const schema_type *t, json_t *crd_schema);
/* The type of member `key` of a struct or map value, and of the items of a list. */
fs_type fs_type_child(const fs_type *t, const char *key);
fs_type fs_type_elem(const fs_type *t);
/* True when key is a declared field of struct t (not a map entry or unknown field). */
bool fs_type_declares(const fs_type *t, const char *key);
/* An associative list's key fields: how many, and the i-th's name into out[128]. */
size_t fs_type_nkeys(const fs_type *t);
const char *fs_type_key_name(const fs_type *t, size_t i, char out[128]);

/* ---- typed walks (objects are borrowed; results owned by the caller) ---- */

/* The set of fields v sets (structured-merge-diff's ToFieldSet). NULL with *err (500,
 * reason "") when an associative list item lacks a key or repeats one (for duplicates only
 * when strict). */
fieldset *fs_object_fields(json_t *v, const fs_type *t, bool strict, terr **err);
/* live with cfg merged in: maps merged, associative and set lists merged by item,
 * atomic values replaced by cfg's. NULL with *err on bad list items. */
json_t *fs_object_merge(json_t *live, json_t *cfg, const fs_type *t, terr **err);
/* Compares old and new: fills the sets (which must exist) with added, modified and
 * removed paths. old == NULL compares against an empty object. */
void fs_object_compare(json_t *old, json_t *newer, const fs_type *t, fieldset *added,
                       fieldset *modified, fieldset *removed);
/* The FieldsV1 object of what fs_object_compare finds added or modified (the same
 * members, in the same order), built without a set: against nothing (a create's fields),
 * or from old to newer (old NULL: an empty object). */
json_t *fs_object_added_v1(json_t *v, const fs_type *t);
json_t *fs_object_changed_v1(json_t *old, json_t *newer, const fs_type *t);

/* FieldsV1 remembered by the shape of the value they were built from (fieldset_memo.c),
 * per thread, in separate memos for separate uses. fs_memo_get: the remembered FieldsV1
 * for v under t (a reference: shared, never to be changed), or NULL and *miss filled; the
 * caller then builds them and hands them with *miss to fs_memo_put (v1 not taken; NULL
 * remembers nothing), which always releases *miss. */
typedef enum fs_memo_which { FS_MEMO_CREATE, FS_MEMO_ITEM, FS_MEMO_N } fs_memo_which;
typedef struct fs_memo_miss {
	char *shape; /* NULL: not to be remembered */
	size_t len;
	fs_type t;
} fs_memo_miss;
json_t *fs_memo_get(fs_memo_which w, json_t *v, const fs_type *t, fs_memo_miss *miss);
void fs_memo_put(fs_memo_which w, fs_memo_miss *miss, json_t *v1);
/* A copy of v without the members of s (their subtrees go with them); containers left
 * empty by the removal are dropped. */
json_t *fs_object_remove(json_t *v, const fieldset *s, const fs_type *t);
/* A copy of s where every named struct field on a path is a member too. */
fieldset *fs_named_fields_members(const fieldset *s, const fs_type *t);

#endif
