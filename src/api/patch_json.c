/* patch_json.c — RFC 6902 JSON patch with RFC 6901 JSON pointers.
 *
 * Operations run one after the other on a private deep copy of the document; the first
 * failure drops the copy, so a patch applies entirely or not at all. Work is bounded for
 * hostile input: at most PATCH_JSON_MAX_OPS operations and PATCH_JSON_MAX_COPY_BYTES of
 * copied data per patch (the copy size is measured with an early-exit walk, so measuring
 * costs no more than the budget).
 *
 * Not for: merge patches (patch_merge.c, patch_strategic.c), or deciding what happens to
 * the patched object afterwards.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/patch.h"
#include "base/json.h"
#include "base/log.h"
#include "base/util.h"

/* k8s: kube-apiserver wraps every failure of an operation in this generic 422. */
#define APPLY_FAILED_MSG "the server rejected our request due to an error in our request"

typedef struct ptr_tok {
	char *p; /* unescaped, NUL-terminated (may hold inner NULs: use n) */
	size_t n;
} ptr_tok;

typedef struct ptr {
	ptr_tok *tok;
	size_t n;
} ptr;

static void ptr_free(ptr *pt)
{
	for (size_t i = 0; i < pt->n; i++)
		free(pt->tok[i].p);
	free(pt->tok);
	pt->tok = NULL;
	pt->n = 0;
}

/* Sets *detail (when still NULL) to a message for the log and returns -1. */
static int fail(char **detail, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(char **detail, const char *fmt, ...)
{
	if (*detail)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(detail, fmt, ap) < 0)
		abort();
	va_end(ap);
	return -1;
}

/* RFC 6901: "" is the whole document; otherwise "/" then tokens separated by "/", where
 * "~1" stands for "/" and "~0" for "~" (any other "~" sequence is an error). */
static int ptr_parse(const char *s, size_t n, ptr *out, char **detail)
{
	out->tok = NULL;
	out->n = 0;
	if (n == 0)
		return 0;
	if (s[0] != '/')
		return fail(detail, "JSON pointer %.*s does not start with /", (int)n, s);
	size_t count = 1;
	for (size_t i = 1; i < n; i++)
		if (s[i] == '/')
			count++;
	out->tok = xcalloc(count, sizeof *out->tok);
	size_t i = 1;
	while (out->n < count) {
		size_t j = i;
		while (j < n && s[j] != '/')
			j++;
		char *t = xmalloc(j - i + 1);
		size_t k = 0;
		for (size_t q = i; q < j; q++) {
			if (s[q] == '~') {
				if (q + 1 >= j || (s[q + 1] != '0' && s[q + 1] != '1')) {
					free(t);
					ptr_free(out);
					return fail(detail, "bad escape in JSON pointer %.*s",
					            (int)n, s);
				}
				t[k++] = s[q + 1] == '0' ? '~' : '/';
				q++;
			} else {
				t[k++] = s[q];
			}
		}
		t[k] = '\0';
		out->tok[out->n++] = (ptr_tok){t, k};
		i = j + 1;
	}
	return 0;
}

/* RFC 6901 array index: "0" or digits without a leading zero. -1 when not an index. */
static long long tok_index(const ptr_tok *t)
{
	if (t->n == 0 || t->n > 18 || (t->n > 1 && t->p[0] == '0'))
		return -1;
	long long v = 0;
	for (size_t i = 0; i < t->n; i++) {
		if (t->p[i] < '0' || t->p[i] > '9')
			return -1;
		v = v * 10 + (t->p[i] - '0');
	}
	return v;
}

/* The value at the first `depth` tokens of pt (borrowed), or NULL. */
static json_t *ptr_get(json_t *root, const ptr *pt, size_t depth)
{
	json_t *cur = root;
	for (size_t i = 0; i < depth && cur; i++) {
		const ptr_tok *t = &pt->tok[i];
		if (json_is_object(cur)) {
			cur = json_object_getn(cur, t->p, t->n);
		} else if (json_is_array(cur)) {
			long long idx = tok_index(t);
			cur = idx >= 0 && (size_t)idx < json_array_size(cur)
			          ? json_array_get(cur, idx)
			          : NULL;
		} else {
			cur = NULL;
		}
	}
	return cur;
}

/* Puts value (stolen) at pt. replace: the target must exist and is overwritten; else the
 * RFC "add" rules (objects: set; arrays: insert at index or append with "-"). */
static int ptr_put(json_t **root, const ptr *pt, json_t *value, bool replace, char **detail)
{
	if (pt->n == 0) {
		json_decref(*root);
		*root = value;
		return 0;
	}
	json_t *parent = ptr_get(*root, pt, pt->n - 1);
	const ptr_tok *last = &pt->tok[pt->n - 1];
	const char *op = replace ? "replace" : "add";
	if (json_is_object(parent)) {
		if (replace && !json_object_getn(parent, last->p, last->n)) {
			json_decref(value);
			return fail(detail, "%s operation does not apply: doc is missing key %s",
			            op, last->p);
		}
		json_object_setn_new(parent, last->p, last->n, value);
		return 0;
	}
	if (json_is_array(parent)) {
		size_t size = json_array_size(parent);
		if (!replace && last->n == 1 && last->p[0] == '-') {
			json_array_append_new(parent, value);
			return 0;
		}
		long long idx = tok_index(last);
		if (idx < 0 || (size_t)idx > size || (replace && (size_t)idx == size)) {
			json_decref(value);
			return fail(detail, "%s operation does not apply: index %s out of bounds",
			            op, last->p);
		}
		if (replace)
			json_array_set_new(parent, idx, value);
		else
			json_array_insert_new(parent, idx, value);
		return 0;
	}
	json_decref(value);
	return fail(detail, "%s operation does not apply: doc is missing path", op);
}

/* Detaches the value at pt and returns it (caller owns), or NULL. */
static json_t *ptr_take(json_t *root, const ptr *pt, const char *op, char **detail)
{
	if (pt->n == 0) {
		fail(detail, "%s operation does not apply: cannot remove the whole document", op);
		return NULL;
	}
	json_t *parent = ptr_get(root, pt, pt->n - 1);
	const ptr_tok *last = &pt->tok[pt->n - 1];
	json_t *v = NULL;
	if (json_is_object(parent)) {
		v = json_incref(json_object_getn(parent, last->p, last->n));
		if (v)
			json_object_deln(parent, last->p, last->n);
	} else if (json_is_array(parent)) {
		long long idx = tok_index(last);
		if (idx >= 0 && (size_t)idx < json_array_size(parent)) {
			v = json_incref(json_array_get(parent, idx));
			json_array_remove(parent, idx);
		}
	}
	if (!v)
		fail(detail, "%s operation does not apply: doc is missing path", op);
	return v;
}

/* Adds the serialized size of v to *acc, giving up (returning false) past limit. */
static bool json_size_within(const json_t *v, size_t *acc, size_t limit)
{
	if (*acc > limit)
		return false;
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		const char *k;
		size_t kn;
		json_t *c;
		*acc += 2;
		json_object_keylen_foreach((json_t *)v, k, kn, c)
		{
			*acc += kn + 4; /* quotes, colon, comma */
			if (!json_size_within(c, acc, limit))
				return false;
		}
		break;
	}
	case JSON_ARRAY:
		*acc += 2;
		for (size_t i = 0; i < json_array_size(v); i++) {
			*acc += 1;
			if (!json_size_within(json_array_get(v, i), acc, limit))
				return false;
		}
		break;
	case JSON_STRING:
		*acc += json_string_length(v) + 2;
		break;
	case JSON_INTEGER:
	case JSON_REAL:
		*acc += 8;
		break;
	case JSON_TRUE:
	case JSON_NULL:
		*acc += 4;
		break;
	case JSON_FALSE:
		*acc += 5;
		break;
	}
	return *acc <= limit;
}

static bool is_prefix(const ptr *a, const ptr *b)
{
	if (a->n >= b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (a->tok[i].n != b->tok[i].n ||
		    memcmp(a->tok[i].p, b->tok[i].p, a->tok[i].n) != 0)
			return false;
	return true;
}

/* A string member of op as a JSON pointer. */
static int op_ptr(json_t *op, const char *member, ptr *out, char **detail)
{
	json_t *s = json_object_get(op, member);
	if (!json_is_string(s))
		return fail(detail, "operation is missing a string \"%s\"", member);
	return ptr_parse(json_string_value(s), json_string_length(s), out, detail);
}

static int apply_one(json_t **root, json_t *op, size_t *copied, char **detail)
{
	const char *name = json_string_value(json_object_get(op, "op"));
	if (!name)
		return fail(detail, "Unexpected kind: unknown");
	ptr path = {0}, from = {0};
	int r = -1;
	if (op_ptr(op, "path", &path, detail) < 0)
		goto out;
	json_t *value = json_object_get(op, "value");
	bool needs_value = str_eq(name, "add") || str_eq(name, "replace") || str_eq(name, "test");
	if (needs_value && !value) {
		fail(detail, "%s operation has no value", name);
		goto out;
	}
	if (str_eq(name, "add") || str_eq(name, "replace")) {
		r = ptr_put(root, &path, json_clone(value), name[0] == 'r', detail);
	} else if (str_eq(name, "remove")) {
		json_t *v = ptr_take(*root, &path, name, detail);
		r = v ? 0 : -1;
		json_decref(v);
	} else if (str_eq(name, "test")) {
		json_t *cur = ptr_get(*root, &path, path.n);
		if (!cur)
			fail(detail, "testing value failed: missing value");
		else if (!patch_json_equal(cur, value))
			fail(detail, "testing value failed: test failed");
		else
			r = 0;
	} else if (str_eq(name, "move") || str_eq(name, "copy")) {
		if (op_ptr(op, "from", &from, detail) < 0)
			goto out;
		if (name[0] == 'm') {
			if (is_prefix(&from, &path)) {
				fail(detail, "move operation cannot move a value into itself");
				goto out;
			}
			json_t *v = ptr_take(*root, &from, name, detail);
			r = v ? ptr_put(root, &path, v, false, detail) : -1;
		} else {
			json_t *src = ptr_get(*root, &from, from.n);
			if (!src) {
				fail(detail,
				     "copy operation does not apply: doc is missing from path");
				goto out;
			}
			/* k8s: JSONPatchMaxCopyBytes bounds what copies may add. */
			if (!json_size_within(src, copied, PATCH_JSON_MAX_COPY_BYTES)) {
				fail(detail, "Unable to copy, would exceed limit");
				goto out;
			}
			r = ptr_put(root, &path, json_clone(src), false, detail);
		}
	} else {
		fail(detail, "Unexpected kind: %s", name);
	}
out:
	ptr_free(&path);
	ptr_free(&from);
	return r;
}

json_t *patch_json(json_t *doc, json_t *ops, terr **err)
{
	/* k8s: the patch must decode as a list of operation objects (400); null is empty. */
	if (json_is_null(ops) || !ops)
		return json_clone(doc);
	if (!json_is_array(ops)) {
		terr_bad_request(err,
		                 "json: cannot unmarshal %s into Go value of type jsonpatch.Patch",
		                 json_go_kind(ops));
		return NULL;
	}
	size_t n = json_array_size(ops);
	for (size_t i = 0; i < n; i++) {
		json_t *op = json_array_get(ops, i);
		if (!json_is_object(op) && !json_is_null(op)) {
			terr_bad_request(
			    err,
			    "json: cannot unmarshal %s into Go value of type jsonpatch.Operation",
			    json_go_kind(op));
			return NULL;
		}
	}
	if (n > PATCH_JSON_MAX_OPS) {
		terr_set(
		    err, 413, "RequestEntityTooLarge",
		    "Request entity too large: The allowed maximum operations in a JSON patch is "
		    "%d, got %zu",
		    PATCH_JSON_MAX_OPS, n);
		return NULL;
	}
	json_t *root = json_clone(doc);
	size_t copied = 0;
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *detail = NULL;
		json_t *op = json_array_get(ops, i);
		if (!json_is_object(op) || apply_one(&root, op, &copied, &detail) < 0) {
			log_debug("json patch: operation %zu: %s", i,
			          detail ? detail : "not an object");
			json_decref(root);
			terr_set(err, 422, "Invalid", APPLY_FAILED_MSG);
			return NULL;
		}
	}
	return root;
}
