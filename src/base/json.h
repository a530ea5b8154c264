/* json.h — small helpers around jansson: scope cleanup, path lookups, dumping.
 * Objects are jansson trees while a request works on them; the cache keeps serialized
 * bytes. Not for: YAML (base/yaml.h) or Kubernetes semantics. */
#ifndef TIMON_BASE_JSON_H
#define TIMON_BASE_JSON_H

#include <jansson.h>
#include <stdbool.h>

struct buf; /* base/buf.h */

/* Scalars are never changed in place: trees share them (json_clone_containers, the stored
 * trees every reader holds), so a change would reach every holder. Set a new node instead. */
#pragma GCC poison json_string_set json_string_setn json_string_set_nocheck
#pragma GCC poison json_string_setn_nocheck json_integer_set json_real_set

void cleanup_jsonp(json_t **j);
#define _cleanup_json_ __attribute__((cleanup(cleanup_jsonp)))

/* Follows a dotted path ("metadata.name") through objects; borrowed result or NULL. */
json_t *json_path(json_t *root, const char *dotted);
/* The string at a dotted path, or NULL when absent or not a string (borrowed). */
const char *json_path_str(json_t *root, const char *dotted);
/* Gets or creates the object member `key` of obj (borrowed). Replaces a non-object. */
json_t *json_obj_child(json_t *obj, const char *key);
/* A deep copy, as json_deep_copy makes one (NULL for NULL), without its check for reference
 * loops: jansson keeps a hash table keyed by every container's address printed with
 * snprintf, which was most of a copy's cost. Trees here hold no loops (the serializer
 * aborts on one). */
json_t *json_clone(const json_t *j);
/* The same with new objects and arrays only: strings, numbers and booleans are the
 * original's, shared (half the allocations). Enough for whoever changes the copy, since no
 * code here changes a scalar in place (the setters that would are poisoned above). */
json_t *json_clone_containers(const json_t *j);
/* Appends v as Go's fmt %v prints a decoded JSON value: map[k:v ...] with sorted keys, [a b]
 * for lists, strings bare, integers, other numbers as a float64 (shortest digits, %e form for
 * exponents < -4 or >= 6), true/false, <nil>. Past max bytes of b (0: no bound) it stops
 * with "...", so that hostile input cannot make huge messages. */
void json_go_format(struct buf *b, const json_t *v, size_t max);
/* The Go type a decoded JSON value has (map[string]interface {}, []interface {}, string,
 * int64 for integers, float64, bool, <nil>), as %T and apimachinery's errors print it. */
const char *json_go_type(const json_t *v);
/* Go's name for a JSON value's type, as json.Unmarshal errors print it ("object", "array",
 * "string", "number", "bool"; null, which Go never complains of, reads "bool"). */
const char *json_go_kind(const json_t *v);
/* A tree from a format, as json_pack builds it, for the subset of its formats that code
 * here writes: objects {s:V, ...} (keys const char *), arrays [V, ...], and values s
 * (const char *, copied), o (json_t *, stolen), O (json_t *, a new reference), i (int),
 * I (json_int_t), b (int), f (double), n (null); spaces, commas and colons separate. Like
 * json_pack, NULL for a string or tree fails the whole (NULL), every o still consumed.
 * Unlike it, strings are not checked for valid UTF-8 (sanitizer builds do check, and
 * abort): values come from parsed objects or from the code. About twice as fast: the
 * format is read once, without jansson's lexer, and keys are set without checks.
 * Another format letter aborts (a programming error). */
json_t *json_build(const char *fmt, ...);
/* Compact serialization with keys in insertion order, byte for byte what
 * json_dumps(JSON_COMPACT | JSON_ENCODE_ANY) writes, several times faster; caller frees. */
char *json_dump_compact(const json_t *j);
/* The same with every object's keys in byte order: what
 * json_dumps(JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) writes; caller frees. */
char *json_dump_sorted(const json_t *j);
/* json_dump_compact (sorted false) or json_dump_sorted, appended to b. */
void json_dump_into(struct buf *b, const json_t *j, bool sorted);
/* Scanning serialized JSON without parsing it (end: one past the last byte): the first
 * byte after whitespace at p; the end of the string whose opening quote is at p; the end of
 * the value at p (after any whitespace). NULL when the bytes end first or the value is
 * empty. Brackets are matched only as far as skipping needs (strings are respected). */
const char *json_skip_ws(const char *p, const char *end);
const char *json_skip_string(const char *p, const char *end);
const char *json_skip_value(const char *p, const char *end);
/* json_dump_compact of j, the next version of base (whose serialization, any whitespace,
 * is base_json): where j holds base's own nodes at the same places (a writer that copied
 * only the levels it changed), their bytes are taken from base_json rather than serialized
 * again. The same bytes json_dump_compact writes when base_json is base's compact
 * serialization and no shared node was changed in place (checked in sanitizer builds).
 * base NULL: plain json_dump_compact. reused (may be NULL): how many bytes were copied.
 * The _into form appends the bytes to b. */
char *json_dump_compact_based(const json_t *j, const json_t *base, const char *base_json,
                              size_t base_len, size_t *reused);
void json_dump_compact_based_into(struct buf *b, const json_t *j, const json_t *base,
                                  const char *base_json, size_t base_len, size_t *reused);

#endif
