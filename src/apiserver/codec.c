/* codec.c — content negotiation and request decoding: JSON, YAML and protobuf bodies, the
 * Accept header (JSON, Table, YAML), write options (dryRun, fieldValidation, fieldManager,
 * force), and the unknown-field check that fieldValidation asks for.
 * Not for: patch bodies (write.c) or encoding objects (apiserver.c).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/crdschema.h"
#include "api/protobuf.h"
#include "api/schema.h"
#include "apiserver/apiserver-internal.h"
#include "base/json.h"
#include "base/util.h"
#include "base/yaml.h"

static bool ctype_is(const char *ct, const char *want)
{
	if (!ct)
		return false;
	size_t n = strlen(want);
	while (*ct == ' ')
		ct++;
	return strncasecmp(ct, want, n) == 0 && (ct[n] == 0 || ct[n] == ';' || ct[n] == ' ');
}

json_t *codec_decode_body(api_req *r, terr **err)
{
	const char *ct = http_req_header(r->http, "content-type");
	http_req *h = r->http;
	if (h->body_obj) {
		/* In process: the caller's tree (its own; for a status write, its top level and
		 * metadata: see client_update_owned), no bytes to decode. */
		json_t *obj = h->body_obj;
		h->body_obj = NULL;
		if (!json_is_object(obj)) {
			json_decref(obj);
			terr_bad_request(err, "the body of the request must be a JSON object");
			return NULL;
		}
		return obj;
	}
	if (h->body_len == 0) {
		terr_bad_request(err, "the body of the request was empty");
		return NULL;
	}
	json_t *obj = NULL;
	if (!ct || ctype_is(ct, "application/json") || ctype_is(ct, "*/*")) {
		json_error_t je;
		obj = json_loadb(h->body, h->body_len, JSON_REJECT_DUPLICATES, &je);
		if (!obj) {
			/* k8s: a body that does not parse answers 400 with the decoder's words. */
			terr_bad_request(err, "error decoding JSON: %s (line %d, column %d)", je.text,
			                 je.line, je.column);
			return NULL;
		}
	} else if (ctype_is(ct, "application/yaml")) {
		obj = yaml_to_json(h->body, h->body_len, err);
		if (!obj)
			return NULL;
	} else if (ctype_is(ct, "application/vnd.kubernetes.protobuf")) {
		obj = pb_decode_object((const uint8_t *)h->body, h->body_len, err);
		if (!obj)
			return NULL;
	} else {
		terr_set(err, 415, "UnsupportedMediaType", "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf");
		return NULL;
	}
	if (!json_is_object(obj)) {
		json_decref(obj);
		terr_bad_request(err, "the body of the request must be a JSON object");
		return NULL;
	}
	return obj;
}

/* ---------- unknown fields ---------- */

/* The walk keeps the path of where it is in one buffer (a mark and a cut per level): the
 * path is only read when a field is unknown, and building a string for every field of every
 * body was most of the check's cost. */
static void add_unknown(buf *out, const buf *path, const char *key)
{
	if (out->n)
		buf_puts(out, ", ");
	buf_printf(out, "unknown field \"%s%s%s\"", path->n ? path->p : "", path->n ? "." : "",
	           key);
}

/* What a body's walk against its type finds: unknown fields (out, ", "-separated; NULL: not
 * looked for) and the first member of the wrong JSON type, as Go's JSON decoder words it
 * (type_err) and as apimachinery's unstructured converter does (conv_err: what a strategic
 * merge patch's result fails with). */
typedef struct fwalk {
	buf path; /* the JSON path of the member being walked */
	buf *out;
	buf type_err, conv_err;
} fwalk;

static void walk_schema(fwalk *w, const schema_type *t, json_t *obj, int depth);

/* Whether v (not null: null is any field's zero value) decodes into a field of kind. */
static bool kind_accepts(uint8_t kind, json_t *v)
{
	switch (kind) {
	case SCHEMA_STRING:
	case SCHEMA_BYTES:
	case SCHEMA_TIME:
	case SCHEMA_MICROTIME:
	case SCHEMA_DURATION:
		return json_is_string(v);
	case SCHEMA_QUANTITY:
		return json_is_string(v) || json_is_number(v);
	case SCHEMA_BOOL:
		return json_is_boolean(v);
	case SCHEMA_INT32:
	case SCHEMA_INT64:
		/* (a whole number written with a fraction, 3.0, is let through) */
		return json_is_integer(v) ||
		       (json_is_real(v) && json_real_value(v) >= -9e18 && json_real_value(v) <= 9e18 &&
		        json_real_value(v) == (double)(int64_t)json_real_value(v));
	case SCHEMA_DOUBLE:
		return json_is_number(v);
	case SCHEMA_INT_OR_STRING:
		return json_is_integer(v) || json_is_string(v);
	case SCHEMA_OBJECT:
	case SCHEMA_MAP:
		return json_is_object(v);
	case SCHEMA_ARRAY:
		return json_is_array(v);
	default:
		return true;
	}
}

/* The last n dot-separated parts of an OpenAPI name ("io.k8s.api.core.v1.PodSpec", 2:
 * "v1.PodSpec"). */
static const char *name_tail(const char *name, int n)
{
	const char *p = name + strlen(name);
	while (p > name && n > 0)
		if (*--p == '.' && --n == 0)
			return p + 1;
	return name;
}

/* The Go type of a value of kind (t: the object type, for objects and their lists). */
static void go_type(buf *b, uint8_t kind, uint8_t elem, const schema_type *t)
{
	static const char *const names[] = {
	    [SCHEMA_STRING] = "string",           [SCHEMA_BOOL] = "bool",
	    [SCHEMA_INT32] = "int32",             [SCHEMA_INT64] = "int64",
	    [SCHEMA_DOUBLE] = "float64",          [SCHEMA_BYTES] = "[]uint8",
	    [SCHEMA_QUANTITY] = "resource.Quantity", [SCHEMA_TIME] = "v1.Time",
	    [SCHEMA_MICROTIME] = "v1.MicroTime",  [SCHEMA_DURATION] = "v1.Duration",
	    [SCHEMA_INT_OR_STRING] = "intstr.IntOrString", [SCHEMA_RAW] = "runtime.RawExtension",
	};
	if (kind == SCHEMA_ARRAY || kind == SCHEMA_MAP) {
		buf_puts(b, kind == SCHEMA_ARRAY ? "[]" : "map[string]");
		go_type(b, elem, SCHEMA_NONE, t);
	} else if (kind == SCHEMA_OBJECT) {
		buf_puts(b, t ? name_tail(t->name, 2) : "struct");
	} else {
		buf_puts(b, kind < ARRAY_SIZE(names) && names[kind] ? names[kind] : "interface {}");
	}
}

/* The Go kind (reflect.Kind) and type of a decoded JSON value v, as the unstructured
 * converter sees it (integers are int64, other numbers float64). */
static const char *go_value_kind(const json_t *v)
{
	return json_is_object(v) ? "map" : json_is_array(v) ? "slice" : json_go_type(v);
}

/* k8s (runtime.DefaultUnstructuredConverter.FromUnstructured): "cannot restore map from
 * slice", "cannot convert string to int32"; types with their own JSON decoding (times,
 * int-or-string) fail in Go's decoder's words for the Go value they read. */
static void conv_error(buf *b, json_t *v, uint8_t kind, uint8_t elem, const schema_type *t)
{
	switch (kind) {
	case SCHEMA_OBJECT:
		buf_printf(b, "cannot restore struct from: %s", go_value_kind(v));
		return;
	case SCHEMA_MAP:
		buf_printf(b, "cannot restore map from %s", go_value_kind(v));
		return;
	case SCHEMA_ARRAY:
		buf_printf(b, "cannot restore slice from %s", go_value_kind(v));
		return;
	case SCHEMA_TIME:
	case SCHEMA_MICROTIME:
	case SCHEMA_DURATION:
	case SCHEMA_BYTES:
		buf_printf(b, "json: cannot unmarshal %s into Go value of type string", json_go_kind(v));
		return;
	case SCHEMA_INT_OR_STRING:
		buf_printf(b, "json: cannot unmarshal %s into Go value of type int32", json_go_kind(v));
		return;
	default:
		buf_printf(b, "cannot convert %s to ", json_go_type(v));
		go_type(b, kind, elem, t);
	}
}

/* k8s: json: cannot unmarshal array into Go struct field ObjectMeta.metadata.labels of type
 * map[string]string. Only the first. */
static void type_error(fwalk *w, const schema_type *parent, json_t *v, uint8_t kind, uint8_t elem,
                       const schema_type *t)
{
	if (w->type_err.n)
		return;
	buf_printf(&w->type_err, "json: cannot unmarshal %s into Go struct field %s.%s of type ",
	           json_go_kind(v), name_tail(parent->name, 1), w->path.p);
	go_type(&w->type_err, kind, elem, t);
	conv_error(&w->conv_err, v, kind, elem, t);
}

/* The members of v, a field f of parent's, that are of the wrong type. */
static void check_types(fwalk *w, const schema_type *parent, const schema_field *f, json_t *v)
{
	if (json_is_null(v))
		return;
	if (!kind_accepts(f->kind, v)) {
		type_error(w, parent, v, f->kind, f->elem, f->type);
		return;
	}
	if (f->kind != SCHEMA_ARRAY && f->kind != SCHEMA_MAP)
		return;
	size_t i;
	const char *k;
	json_t *e;
	if (json_is_array(v)) {
		json_array_foreach(v, i, e) {
			if (!json_is_null(e) && !kind_accepts(f->elem, e))
				type_error(w, parent, e, f->elem, SCHEMA_NONE, f->type);
		}
	} else {
		json_object_foreach(v, k, e) {
			if (!json_is_null(e) && !kind_accepts(f->elem, e))
				type_error(w, parent, e, f->elem, SCHEMA_NONE, f->type);
		}
	}
}

static void walk_value(fwalk *w, const schema_field *f, json_t *v, int depth)
{
	if (depth > 64 || !f->type)
		return;
	buf *path = &w->path;
	size_t mark = path->n;
	if (f->kind == SCHEMA_OBJECT && json_is_object(v)) {
		walk_schema(w, f->type, v, depth + 1);
	} else if (f->kind == SCHEMA_ARRAY && f->elem == SCHEMA_OBJECT && json_is_array(v)) {
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e) {
			if (!json_is_object(e))
				continue;
			buf_printf(path, "[%zu]", i);
			walk_schema(w, f->type, e, depth + 1);
			buf_truncate(path, mark);
		}
	} else if (f->kind == SCHEMA_MAP && f->elem == SCHEMA_OBJECT && json_is_object(v)) {
		const char *k;
		json_t *e;
		json_object_foreach(v, k, e) {
			if (!json_is_object(e))
				continue;
			buf_putc(path, '[');
			buf_puts(path, k);
			buf_putc(path, ']');
			walk_schema(w, f->type, e, depth + 1);
			buf_truncate(path, mark);
		}
	}
}

static void walk_schema(fwalk *w, const schema_type *t, json_t *obj, int depth)
{
	const char *k;
	json_t *v;
	buf *path = &w->path;
	json_object_foreach(obj, k, v) {
		if (depth == 0 && (strcmp(k, "apiVersion") == 0 || strcmp(k, "kind") == 0))
			continue;
		const schema_field *f = schema_field_json(t, k);
		if (!f) {
			if (w->out)
				add_unknown(w->out, path, k);
			continue;
		}
		size_t mark = path->n;
		if (mark)
			buf_putc(path, '.');
		buf_puts(path, k);
		check_types(w, t, f, v);
		walk_value(w, f, v, depth);
		buf_truncate(path, mark);
	}
}

/* What decoding obj fails with: a member of the wrong JSON type (whatever fieldValidation
 * says) or, under Strict, fields its type does not know; Warn's unknown fields become
 * warnings. Each string is malloc'd, or NULL. */
typedef struct decode_fault {
	char *type_err; /* as Go's JSON decoder words it */
	char *conv_err; /* as apimachinery's unstructured converter does */
	char *unknown;  /* Strict: `unknown field "x", unknown field "y"` */
} decode_fault;

static void decode_fault_free(decode_fault *f)
{
	free(f->type_err);
	free(f->conv_err);
	free(f->unknown);
}

static void decode_check(api_req *r, json_t *obj, decode_fault *f)
{
	memset(f, 0, sizeof *f);
	if (!r->kind)
		return;
	_cleanup_buf_ buf out = {0};
	if (r->kind->custom) {
		/* k8s: custom resources lose the fields their schema does not know (pruning);
		 * Strict and Warn report them as unknown fields. */
		if (!r->kind->crd_schema)
			return;
		json_t *pruned = NULL;
		crdschema_prune(r->kind->crd_schema, obj,
		                r->field_validation == FV_IGNORE ? NULL : &pruned);
		size_t i;
		json_t *p;
		json_array_foreach(pruned, i, p) {
			if (out.n)
				buf_puts(&out, ", ");
			buf_printf(&out, "unknown field \"%s\"", json_string_value(p));
		}
		json_decref(pruned);
	} else {
		/* In-process callers (controllers) build their objects: walked only when they ask
		 * for Strict. Warnings go to a client as headers; an in-process caller gets the
		 * answer as a tree and no headers, so for it Warn would find fields to report to
		 * nobody. */
		if (http_req_takes_obj(r->http) && r->field_validation != FV_STRICT)
			return;
		const schema_type *t = schema_find(r->kind->schema);
		if (!t)
			return;
		fwalk w = {.out = r->field_validation == FV_IGNORE ? NULL : &out};
		walk_schema(&w, t, obj, 0);
		buf_free(&w.path);
		/* k8s: a member of the wrong type fails decoding, whatever fieldValidation says. */
		if (w.type_err.n) {
			f->type_err = buf_take(&w.type_err);
			f->conv_err = buf_take(&w.conv_err);
			return;
		}
	}
	if (!out.n)
		return;
	if (r->field_validation == FV_STRICT) {
		f->unknown = buf_take(&out);
		return;
	}
	/* Warn: one Warning header per field, as kube sends them. */
	char *save = NULL;
	for (char *w = strtok_r(out.p, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		while (*w == ' ')
			w++;
		buf_puts(&r->warnings, "Warning: 299 - ");
		buf_json_str(&r->warnings, w, strlen(w));
		buf_puts(&r->warnings, "\r\n");
	}
}

int codec_check_fields(api_req *r, json_t *obj, terr **err)
{
	decode_fault f;
	decode_check(r, obj, &f);
	const kind_desc *d = r->kind;
	if (f.type_err)
		terr_bad_request(err, "%s in version \"%s\" cannot be handled as a %s: %s", d->kind,
		                 d->version, d->kind, f.type_err);
	else if (f.unknown && d->custom)
		terr_bad_request(err, "%s in version \"%s\" cannot be handled as a %s: strict decoding error: %s",
		                 d->kind, d->version, d->kind, f.unknown);
	else if (f.unknown)
		/* k8s: fieldValidation=Strict turns unknown fields into a 400 BadRequest. */
		terr_bad_request(err, "strict decoding error: %s", f.unknown);
	int rc = f.type_err || f.unknown ? -1 : 0;
	decode_fault_free(&f);
	return rc;
}

int codec_check_patched(api_req *r, json_t *obj, json_t *patch, bool strategic, terr **err)
{
	decode_fault f;
	decode_check(r, obj, &f);
	if (!f.type_err && !f.unknown)
		return 0;
	/* k8s: the patch handler's NewInvalid(schema.GroupKind{}, "", field.Invalid(
	 * field.NewPath("patch"), <the patched JSON, or the patch as Go prints it>, <err>)). */
	_cleanup_buf_ buf value = {0}, detail = {0};
	if (strategic)
		json_go_format(&value, patch, 1u << 20);
	else
		json_dump_into(&value, obj, false);
	if (f.type_err)
		buf_puts(&detail, strategic ? f.conv_err : f.type_err);
	else
		buf_printf(&detail, "strict decoding error: %s", f.unknown);
	_cleanup_buf_ buf cause = {0};
	buf_puts(&cause, "Invalid value: ");
	buf_go_quote(&cause, value.p ? value.p : "", value.n);
	buf_printf(&cause, ": %s", detail.p);
	terr_invalid(err, " \"\" is invalid: patch: %s", cause.p);
	terr_cause_add(err, "FieldValueInvalid", "patch", "%s", cause.p);
	if (err && *err)
		(*err)->unnamed = true;
	decode_fault_free(&f);
	return -1;
}

/* ---------- options ---------- */

int codec_parse_options(api_req *r, terr **err)
{
	const char *accept = http_req_header(r->http, "accept");
	if (accept) {
		/* The first acceptable entry wins; kubectl get lists Table first, then JSON. */
		_cleanup_free_ char *a = xstrdup(accept);
		char *save = NULL;
		for (char *e = strtok_r(a, ",", &save); e; e = strtok_r(NULL, ",", &save)) {
			while (*e == ' ')
				e++;
			if (strstr(e, "as=Table") && (strstr(e, "g=meta.k8s.io") || !strstr(e, "g="))) {
				if (strncasecmp(e, "application/json", 16) == 0) {
					r->want_table = true;
					break;
				}
				continue;
			}
			if (strstr(e, "as=") || strstr(e, "g=apidiscovery"))
				continue; /* other conversions: not offered, try the next entry */
			if (ctype_is(e, "application/yaml")) {
				r->want_yaml = true;
				break;
			}
			if (ctype_is(e, "application/json") || ctype_is(e, "*/*") ||
			    ctype_is(e, "application/*") ||
			    ctype_is(e, "application/vnd.kubernetes.protobuf") ||
			    ctype_is(e, "application/json;stream=watch") ||
			    ctype_is(e, "application/vnd.kubernetes.protobuf;stream=watch"))
				break;
		}
	}
	_cleanup_free_ char *inc = http_req_query(r->http, "includeObject");
	if (inc) {
		r->table_full_object = strcmp(inc, "Object") == 0;
		r->table_no_object = strcmp(inc, "None") == 0;
	}
	_cleanup_free_ char *dry = http_req_query(r->http, "dryRun");
	if (dry) {
		if (strcmp(dry, "All") != 0 && *dry)
			return terr_bad_request(err, "dryRun: Unsupported value: \"%s\": supported values: \"All\"", dry);
		r->dry_run = strcmp(dry, "All") == 0;
	}
	r->field_validation = FV_WARN;
	_cleanup_free_ char *fv = http_req_query(r->http, "fieldValidation");
	if (fv && *fv) {
		if (strcmp(fv, "Strict") == 0)
			r->field_validation = FV_STRICT;
		else if (strcmp(fv, "Warn") == 0)
			r->field_validation = FV_WARN;
		else if (strcmp(fv, "Ignore") == 0)
			r->field_validation = FV_IGNORE;
		else
			return terr_bad_request(err, "fieldValidation must be one of \"Ignore\", \"Warn\", \"Strict\" or empty, got: %s", fv);
	}
	r->field_manager = http_req_query(r->http, "fieldManager");
	if (r->field_manager && strlen(r->field_manager) > 128)
		return terr_invalid(err, "fieldManager: Too long: may not be longer than 128");
	if (!r->field_manager || !*r->field_manager) {
		/* k8s: without fieldManager the manager is the user agent's first word. */
		free(r->field_manager);
		const char *ua = http_req_header(r->http, "user-agent");
		if (ua && *ua) {
			size_t n = strcspn(ua, "/ ");
			r->field_manager = xstrndup(ua, n > 128 ? 128 : n);
		} else {
			r->field_manager = xstrdup("unknown");
		}
	}
	_cleanup_free_ char *force = http_req_query(r->http, "force");
	r->force = query_bool(force);
	return 0;
}
