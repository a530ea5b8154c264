/* crdschema.c — validation entry points for custom resources: runs the OpenAPI validator
 * (crdschema_openapi.c), then kube's structural checks — embedded resources
 * (x-kubernetes-embedded-resource needs apiVersion and kind) and list types
 * (x-kubernetes-list-type set/map must not repeat items/keys) — and writes the 422 error
 * the way kube's NewInvalid does.
 *
 * Not for: defaulting and pruning (crdschema_prune.c), CEL (x-kubernetes-validations is
 * skipped), ObjectMeta of embedded resources beyond its presence (api/validate.h owns
 * metadata rules).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "api/crdschema-internal.h"
#include "api/crdschema.h"
#include "base/util.h"

/* ---- schema accessors --------------------------------------------------------------- */

json_t *cs_props(const json_t *s)
{
	json_t *p = json_object_get(s, "properties");
	return json_is_object(p) ? p : NULL;
}

json_t *cs_items(const json_t *s)
{
	json_t *i = json_object_get(s, "items");
	return json_is_object(i) ? i : NULL;
}

bool cs_addl(const json_t *s, json_t **schema)
{
	json_t *a = json_object_get(s, "additionalProperties");
	*schema = json_is_object(a) ? a : NULL;
	return a && !json_is_null(a);
}

bool cs_flag(const json_t *s, const char *key)
{
	return json_is_true(json_object_get(s, key));
}

/* ---- field paths as field.Path prints them ------------------------------------------ */

static char *child(const char *path, const char *name)
{
	return path ? xasprintf("%s.%s", path, name) : xstrdup(name);
}

static char *key_of(const char *path, const char *key)
{
	return xasprintf("%s[%s]", path ? path : "", key);
}

static char *index_of(const char *path, size_t i)
{
	return xasprintf("%s[%zu]", path ? path : "", i);
}

/* Adds a cause; the key only keeps the list free of repeated lines. */
static void cause(cs_errs *r, const char *type, char *field, char *body)
{
	cs_errs_add(r, xasprintf("%s: %s", field, body), type, field, body);
}

static void cause_value(cs_errs *r, const char *type, const char *label, char *field,
                        const json_t *value, const char *detail)
{
	_cleanup_buf_ buf b = {0};
	buf_printf(&b, "%s: ", label);
	cs_value(&b, value);
	if (detail && *detail)
		buf_printf(&b, ": %s", detail);
	cause(r, type, field, buf_take(&b));
}

/* ---- embedded resources ------------------------------------------------------------- */

/* k8s: an embedded resource needs a string apiVersion that parses as a group/version and a
 * string kind that is a DNS-1035 label once lowercased. */
static void embedded(cs_errs *r, const char *path, const json_t *x)
{
	json_t *av = json_object_get(x, "apiVersion"), *kind = json_object_get(x, "kind");
	if (!av)
		cause(r, "FieldValueRequired", child(path, "apiVersion"), xstrdup("Required value: must not be empty"));
	if (!kind)
		cause(r, "FieldValueRequired", child(path, "kind"), xstrdup("Required value: must not be empty"));
	if (av) {
		const char *s = json_string_value(av);
		_cleanup_free_ char *msg = NULL;
		if (!s)
			msg = xstrdup("must be a string");
		else if (!*s)
			msg = xstrdup("must not be empty");
		else if (strchr(s, '/') && strchr(s, '/') != strrchr(s, '/'))
			msg = xasprintf("unexpected GroupVersion string: %s", s);
		if (msg)
			cause_value(r, "FieldValueInvalid", "Invalid value", child(path, "apiVersion"), av, msg);
	}
	if (kind) {
		const char *s = json_string_value(kind);
		_cleanup_buf_ buf m = {0};
		if (!s) {
			buf_puts(&m, "must be a string");
		} else if (!*s) {
			buf_puts(&m, "must not be empty");
		} else {
			size_t n = strlen(s);
			bool ok = isalpha((unsigned char)s[0]) && isalnum((unsigned char)s[n - 1]);
			for (size_t i = 0; i < n; i++)
				ok = ok && (isalnum((unsigned char)s[i]) || s[i] == '-');
			if (n > 63 || !ok)
				buf_puts(&m, "may have mixed case, but should otherwise match: ");
			if (n > 63)
				buf_puts(&m, "must be no more than 63 characters");
			if (!ok)
				buf_printf(&m, "%sa DNS-1035 label must consist of lower case alphanumeric "
				           "characters or '-', start with an alphabetic character, and end with an "
				           "alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for "
				           "validation is '[a-z]([-a-z0-9]*[a-z0-9])?')", n > 63 ? "," : "");
		}
		if (m.n)
			cause_value(r, "FieldValueInvalid", "Invalid value", child(path, "kind"), kind, m.p);
	}
}

static void walk_embedded(cs_errs *r, const char *path, const json_t *x, const json_t *s)
{
	if (!json_is_object(s))
		return;
	if (json_is_object(x)) {
		if (cs_flag(s, "x-kubernetes-embedded-resource"))
			embedded(r, path, x);
		json_t *props = cs_props(s), *ap, *v, *p;
		bool addl = cs_addl(s, &ap);
		const char *k;
		json_object_foreach((json_t *)x, k, v) {
			if ((p = json_object_get(props, k))) {
				_cleanup_free_ char *c = child(path, k);
				walk_embedded(r, c, v, p);
			} else if (addl) {
				_cleanup_free_ char *c = key_of(path, k);
				walk_embedded(r, c, v, ap);
			}
		}
	} else if (json_is_array(x)) {
		size_t i;
		json_t *v;
		json_array_foreach(x, i, v) {
			_cleanup_free_ char *c = index_of(path, i);
			walk_embedded(r, c, v, cs_items(s));
		}
	}
}

/* ---- list types --------------------------------------------------------------------- */

/* The identity of a list item or key: Go compares scalars as typed map keys (1 and 1.0
 * differ) and compounds by their encoding/json text; NULL is "key not specified". */
static char *identity(const json_t *v)
{
	_cleanup_buf_ buf b = {0};
	if (!v)
		return xstrdup("u");
	buf_putc(&b, json_is_object(v) || json_is_array(v) ? 'c' : "oasirtfn"[json_typeof(v)]);
	cs_gojson(&b, v);
	return buf_take(&b);
}

/* k8s: the second appearance of a value is a duplicate (later ones are not reported).
 * Returns a new array of flags, true at the indices to report. */
static bool *duplicates(json_t *const *keys, size_t n)
{
	bool *dup = xcalloc(n ? n : 1, sizeof *dup);
	cs_errs seen = {0}, reported = {0};
	for (size_t i = 0; i < n; i++) {
		size_t before = seen.n;
		cs_errs_add(&seen, identity(keys[i]), NULL, NULL, NULL);
		if (seen.n > before)
			continue;
		before = reported.n;
		cs_errs_add(&reported, identity(keys[i]), NULL, NULL, NULL);
		dup[i] = reported.n > before;
	}
	cs_errs_free(&seen);
	cs_errs_free(&reported);
	return dup;
}

static void walk_lists(cs_errs *r, const char *path, const json_t *x, const json_t *s);

static void list_checks(cs_errs *r, const char *path, const json_t *arr, const json_t *s)
{
	const char *lt = json_string_value(json_object_get(s, "x-kubernetes-list-type"));
	size_t n = json_array_size(arr), i;
	json_t *e;
	if (str_eq(lt, "set") && n > 1) {
		json_t **keys = xcalloc(n, sizeof *keys);
		json_array_foreach(arr, i, e) keys[i] = e;
		bool *dup = duplicates(keys, n);
		for (i = 1; i < n; i++)
			if (dup[i])
				cause_value(r, "FieldValueDuplicate", "Duplicate value", index_of(path, i), keys[i], NULL);
		free(dup);
		free(keys);
	} else if (str_eq(lt, "map")) {
		bool objects = true;
		json_array_foreach(arr, i, e) {
			if (!json_is_null(e) && !json_is_object(e)) {
				cause_value(r, "FieldValueInvalid", "Invalid value", index_of(path, i), e,
				            "must be an object for an array of list-type map");
				objects = false;
				break;
			}
		}
		json_t *names = json_object_get(s, "x-kubernetes-list-map-keys");
		if (objects && n > 1) {
			json_t **keys = xcalloc(n, sizeof *keys);
			size_t nk = json_array_size(names), k;
			json_t *kn;
			json_array_foreach(arr, i, e) {
				if (nk == 1) { /* one key: its value, or "unspecified" */
					const char *f = json_string_value(json_array_get(names, 0));
					keys[i] = f ? json_incref(json_object_get(e, f)) : NULL;
					continue;
				}
				keys[i] = json_object();
				json_array_foreach(names, k, kn) {
					json_t *kv = json_string_value(kn) ? json_object_get(e, json_string_value(kn)) : NULL;
					if (kv)
						json_object_set(keys[i], json_string_value(kn), kv);
				}
			}
			bool *dup = duplicates(keys, n);
			for (i = 1; i < n; i++) {
				if (!dup[i])
					continue;
				/* k8s: reported as the map of key fields, {} when the key is missing */
				json_t *shown = keys[i];
				json_t *tmp = NULL;
				if (nk == 1) {
					tmp = json_object();
					if (keys[i])
						json_object_set(tmp, json_string_value(json_array_get(names, 0)), keys[i]);
					shown = tmp;
				}
				cause_value(r, "FieldValueDuplicate", "Duplicate value", index_of(path, i), shown, NULL);
				json_decref(tmp);
			}
			for (i = 0; i < n; i++)
				json_decref(keys[i]);
			free(dup);
			free(keys);
		}
	}
	json_t *items = cs_items(s);
	if (items) {
		json_array_foreach(arr, i, e) {
			_cleanup_free_ char *c = index_of(path, i);
			walk_lists(r, c, e, items);
		}
	}
}

static void walk_lists(cs_errs *r, const char *path, const json_t *x, const json_t *s)
{
	if (!json_is_object(s))
		return;
	if (json_is_array(x)) {
		list_checks(r, path, x, s);
		return;
	}
	if (!json_is_object(x))
		return;
	json_t *ap, *props = cs_props(s), *v, *p;
	const char *k;
	cs_addl(s, &ap);
	if (ap) {
		json_object_foreach((json_t *)x, k, v) {
			_cleanup_free_ char *c = key_of(path, k);
			walk_lists(r, c, v, ap);
		}
	}
	json_object_foreach((json_t *)x, k, v) {
		if ((p = json_object_get(props, k))) {
			_cleanup_free_ char *c = child(path, k);
			walk_lists(r, c, v, p);
		}
	}
}

/* ---- entry points ------------------------------------------------------------------- */

size_t crdschema_check(json_t *schema, json_t *value, json_t *old, const char *base,
                       terr **causes)
{
	if (!json_is_object(schema) || !value)
		return 0;
	cs_errs r = {0};
	cs_openapi(schema, value, old, base, &r);
	walk_embedded(&r, base, value, schema);
	walk_lists(&r, base, value, schema);
	for (size_t i = 0; i < r.n; i++)
		terr_cause_add(causes, r.e[i].cause, r.e[i].field, "%s", r.e[i].body);
	size_t n = r.n;
	cs_errs_free(&r);
	return n;
}

int crdschema_validate(json_t *schema, json_t *obj, json_t *old, const char *kind,
                       const char *group, const char *name, terr **err)
{
	terr *e = NULL;
	if (!crdschema_check(schema, obj, old, NULL, &e))
		return 0;
	/* k8s: NewInvalid: `<Kind>.<group> "<name>" is invalid: <one>` or `[<a>, <b>]`, with
	 * repeated lines dropped */
	_cleanup_buf_ buf m = {0};
	buf_puts(&m, kind ? kind : "");
	if (group && *group)
		buf_printf(&m, ".%s", group);
	buf_putc(&m, ' ');
	cs_quote(&m, name ? name : "", name ? strlen(name) : 0);
	buf_puts(&m, " is invalid: ");
	cs_errs lines = {0}; /* a set of "field: message" lines, in order */
	for (size_t i = 0; i < e->ncauses; i++)
		cs_errs_add(&lines, xasprintf("%s: %s", e->causes[i].field, e->causes[i].message), NULL,
		            NULL, NULL);
	if (lines.n > 1)
		buf_putc(&m, '[');
	for (size_t i = 0; i < lines.n; i++) {
		buf_puts(&m, i ? ", " : "");
		buf_puts(&m, lines.e[i].key);
	}
	if (lines.n > 1)
		buf_putc(&m, ']');
	cs_errs_free(&lines);
	free(e->message);
	e->message = buf_take(&m);
	if (err && !*err)
		*err = e;
	else
		terr_free(e);
	return -1;
}
