/* fieldsel.c — field selectors: parsing, the selectable fields of each kind, and the
 * values kube's registries give those fields.
 *
 * Written from the documented behaviour of apimachinery's pkg/fields and of the
 * AddFieldLabelConversionFunc / ToSelectableFields pairs of kube 1.32. Not for: label
 * selectors (selector.c).
 */
#include "api/fieldsel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/kind.h"
#include "base/buf.h"
#include "base/json.h"
#include "base/util.h"

/* ---- parsing (k8s: fields.ParseSelector) ---- */

void field_selector_free(field_selector *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		free(s->terms[i].field);
		free(s->terms[i].value);
	}
	free(s->terms);
	free(s);
}

void cleanup_field_selectorp(field_selector **s)
{
	field_selector_free(*s);
}

bool field_selector_empty(const field_selector *s)
{
	return !s || s->n == 0;
}

/* Length of the UTF-8 sequence starting with byte c (1 for invalid bytes). */
static size_t utf8_len(unsigned char c)
{
	if (c >= 0xf0 && c < 0xf8)
		return 4;
	if (c >= 0xe0)
		return c < 0xf0 ? 3 : 1;
	if (c >= 0xc0)
		return 2;
	return 1;
}

/* k8s: fields.UnescapeValue: \\ \, \= are the only escapes; a bare ',' or '=' is an
 * error. Returns the value (caller frees) or NULL with *msg set (caller frees). */
static char *unescape_value(const char *s, size_t n, char **msg)
{
	_cleanup_buf_ buf b = {0};
	buf_add(&b, "", 0);
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '\\') {
			if (i + 1 == n) {
				*msg = xstrdup("invalid field selector: invalid escape sequence: \\");
				return NULL;
			}
			char d = s[i + 1];
			if (d != '\\' && d != ',' && d != '=') {
				size_t l = utf8_len((unsigned char)d);
				if (i + 1 + l > n)
					l = n - i - 1;
				*msg = xasprintf("invalid field selector: invalid escape sequence: \\%.*s",
						 (int)l, s + i + 1);
				return NULL;
			}
			buf_putc(&b, d);
			i++;
		} else if (c == ',' || c == '=') {
			/* kube prints the rune with %v, that is as its code point */
			*msg = xasprintf("invalid field selector: unescaped character in value: %d", c);
			return NULL;
		} else {
			buf_putc(&b, c);
		}
	}
	return buf_take(&b);
}

struct part {
	const char *p;
	size_t n;
};

static int cmp_part(const void *a, const void *b)
{
	const struct part *x = a, *y = b;
	int c = memcmp(x->p, y->p, x->n < y->n ? x->n : y->n);
	if (c)
		return c;
	return x->n < y->n ? -1 : x->n > y->n ? 1 : 0;
}

field_selector *field_selector_parse(const char *str, terr **err)
{
	_cleanup_field_selector_ field_selector *s = xcalloc(1, sizeof(field_selector));
	field_selector *ret;
	if (!str || !*str) {
		ret = s;
		s = NULL;
		return ret;
	}
	/* k8s: split on commas that are not escaped, then sort the terms as strings */
	size_t len = strlen(str), nparts = 1;
	for (size_t i = 0; i < len; i++)
		nparts += str[i] == ',';
	_cleanup_free_ struct part *parts = xcalloc(nparts, sizeof(struct part));
	size_t k = 0, start = 0;
	bool in_slash = false;
	for (size_t i = 0; i < len; i++) {
		if (in_slash)
			in_slash = false;
		else if (str[i] == '\\')
			in_slash = true;
		else if (str[i] == ',') {
			parts[k++] = (struct part){str + start, i - start};
			start = i + 1;
		}
	}
	parts[k++] = (struct part){str + start, len - start};
	qsort(parts, k, sizeof(struct part), cmp_part);
	s->terms = xcalloc(k, sizeof(field_term));
	for (size_t i = 0; i < k; i++) {
		const char *p = parts[i].p;
		size_t n = parts[i].n;
		if (n == 0)
			continue;
		/* k8s: the first "!=", "==" or "=" splits the term */
		size_t at = 0, oplen = 0;
		bool neq = false;
		for (at = 0; at < n; at++) {
			if (p[at] == '!' && at + 1 < n && p[at + 1] == '=') {
				oplen = 2;
				neq = true;
				break;
			}
			if (p[at] == '=') {
				oplen = at + 1 < n && p[at + 1] == '=' ? 2 : 1;
				break;
			}
		}
		if (!oplen) {
			terr_bad_request(err, "invalid selector: '%s'; can't understand '%.*s'", str,
					 (int)n, p);
			return NULL;
		}
		char *msg = NULL;
		char *value = unescape_value(p + at + oplen, n - at - oplen, &msg);
		if (!value) {
			terr_bad_request(err, "%s", msg);
			free(msg);
			return NULL;
		}
		field_term *t = &s->terms[s->n++];
		t->field = xstrndup(p, at);
		t->value = value;
		t->not_eq = neq;
	}
	ret = s;
	s = NULL;
	return ret;
}

char *field_selector_string(const field_selector *s)
{
	_cleanup_buf_ buf b = {0};
	buf_add(&b, "", 0);
	for (size_t i = 0; s && i < s->n; i++) {
		if (i)
			buf_putc(&b, ',');
		buf_puts(&b, s->terms[i].field);
		buf_puts(&b, s->terms[i].not_eq ? "!=" : "=");
		/* k8s: fields.EscapeValue */
		for (const char *v = s->terms[i].value; *v; v++) {
			if (*v == '\\' || *v == ',' || *v == '=')
				buf_putc(&b, '\\');
			buf_putc(&b, *v);
		}
	}
	return buf_take(&b);
}

/* ---- field values (k8s: each registry's ToSelectableFields) ---- */

/* The string form of a scalar JSON value; NULL for absent, null, objects and arrays. */
static char *scalar_string(json_t *v)
{
	if (!v)
		return NULL;
	switch (json_typeof(v)) {
	case JSON_STRING:
		return xstrdup(json_string_value(v));
	case JSON_INTEGER:
		return xasprintf("%lld", (long long)json_integer_value(v));
	case JSON_REAL:
		return xasprintf("%.17g", json_real_value(v));
	case JSON_TRUE:
		return xstrdup("true");
	case JSON_FALSE:
		return xstrdup("false");
	default:
		return NULL;
	}
}

static char *path_string(json_t *obj, const char *path, const char *dflt)
{
	char *v = scalar_string(json_path(obj, path));
	return v ? v : xstrdup(dflt);
}

/* A string at path when present and non-empty, else NULL (borrowed). */
static const char *nonempty(json_t *obj, const char *path)
{
	const char *v = json_path_str(obj, path);
	return v && *v ? v : NULL;
}

char *field_selector_field_value(json_t *obj, const char *field)
{
	/* k8s: a pod's old "spec.host" label converts to spec.nodeName */
	if (strcmp(field, "spec.host") == 0)
		field = "spec.nodeName";
	/* k8s: typed fields the registries always set: booleans and counters */
	if (strcmp(field, "spec.hostNetwork") == 0 || strcmp(field, "spec.unschedulable") == 0)
		return path_string(obj, field, "false");
	if (strcmp(field, "status.replicas") == 0)
		return path_string(obj, field, "0");
	/* k8s: a Job's "status.successful" is its status.succeeded count */
	if (strcmp(field, "status.successful") == 0)
		return path_string(obj, "status.succeeded", "0");
	/* k8s: the pod field set holds status.podIP (the first of podIPs) but no podIPs */
	if (strcmp(field, "status.podIP") == 0) {
		json_t *ips = json_path(obj, "status.podIPs");
		const char *first = json_string_value(json_object_get(json_array_get(ips, 0), "ip"));
		if (first)
			return xstrdup(first);
		return path_string(obj, field, "");
	}
	if (strcmp(field, "status.podIPs") == 0)
		return xstrdup("");
	/* k8s: events: core/v1 and events.k8s.io/v1 name the same fields differently
	 * (involvedObject/regarding, reportingComponent/reportingController) */
	if (str_has_prefix(field, "involvedObject.") || str_has_prefix(field, "regarding.")) {
		const char *sub = strchr(field, '.') + 1;
		_cleanup_free_ char *a = xasprintf("involvedObject.%s", sub);
		_cleanup_free_ char *b = xasprintf("regarding.%s", sub);
		char *v = scalar_string(json_path(obj, a));
		return v ? v : path_string(obj, b, "");
	}
	if (strcmp(field, "reportingComponent") == 0 || strcmp(field, "reportingController") == 0) {
		char *v = scalar_string(json_object_get(obj, "reportingComponent"));
		return v ? v : path_string(obj, "reportingController", "");
	}
	if (strcmp(field, "source") == 0 && !json_is_string(json_object_get(obj, "source"))) {
		/* k8s: an event's source is source.component, else the reporting controller */
		const char *v = nonempty(obj, "source.component");
		if (!v)
			v = nonempty(obj, "deprecatedSource.component");
		if (!v)
			v = nonempty(obj, "reportingComponent");
		if (!v)
			v = nonempty(obj, "reportingController");
		return xstrdup(v ? v : "");
	}
	return path_string(obj, field, "");
}

bool field_selector_matches(const field_selector *s, json_t *obj)
{
	for (size_t i = 0; s && i < s->n; i++) {
		const field_term *t = &s->terms[i];
		_cleanup_free_ char *v = field_selector_field_value(obj, t->field);
		bool eq = strcmp(v, t->value) == 0;
		if (eq == t->not_eq)
			return false;
	}
	return true;
}

const char *field_selector_single_value(const field_selector *s, const char *field)
{
	bool node = strcmp(field, "spec.nodeName") == 0;
	for (size_t i = 0; s && i < s->n; i++) {
		const field_term *t = &s->terms[i];
		if (t->not_eq)
			continue;
		if (strcmp(t->field, field) == 0 || (node && strcmp(t->field, "spec.host") == 0))
			return t->value;
	}
	return NULL;
}

/* ---- selectable fields per kind (k8s: AddFieldLabelConversionFunc tables) ---- */

enum msg_style {
	MSG_PLAIN,    /* field label not supported: X */
	MSG_FOR_KIND, /* field label "X" not supported for "Kind" */
};

struct kind_fields {
	const char *group;
	const char *kind;
	enum msg_style style;
	const char *const *fields; /* NULL-terminated */
};

#define FIELDS(...) ((const char *const[]){__VA_ARGS__, NULL})

static const struct kind_fields kind_fields[] = {
	{"", "Pod", MSG_PLAIN,
	 FIELDS("metadata.name", "metadata.namespace", "spec.nodeName", "spec.restartPolicy",
		"spec.schedulerName", "spec.serviceAccountName", "spec.hostNetwork", "status.phase",
		"status.podIP", "status.podIPs", "status.nominatedNodeName", "spec.host")},
	{"", "Node", MSG_PLAIN, FIELDS("metadata.name", "spec.unschedulable")},
	{"", "ReplicationController", MSG_PLAIN,
	 FIELDS("metadata.name", "metadata.namespace", "status.replicas")},
	{"", "Event", MSG_PLAIN,
	 FIELDS("involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
		"involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion",
		"involvedObject.fieldPath", "reason", "reportingComponent", "source", "type",
		"metadata.namespace", "metadata.name")},
	{"", "Namespace", MSG_PLAIN, FIELDS("status.phase", "metadata.name")},
	{"", "Secret", MSG_PLAIN, FIELDS("type", "metadata.namespace", "metadata.name")},
	{"", "Service", MSG_PLAIN,
	 FIELDS("metadata.namespace", "metadata.name", "spec.clusterIP", "spec.type")},
	{"batch", "Job", MSG_FOR_KIND, FIELDS("metadata.name", "metadata.namespace", "status.successful")},
	{"batch", "CronJob", MSG_FOR_KIND,
	 FIELDS("metadata.name", "metadata.namespace", "status.successful")},
	{"certificates.k8s.io", "CertificateSigningRequest", MSG_PLAIN,
	 FIELDS("metadata.name", "spec.signerName")},
	{"certificates.k8s.io", "ClusterTrustBundle", MSG_PLAIN,
	 FIELDS("metadata.name", "spec.signerName")},
	{"events.k8s.io", "Event", MSG_PLAIN,
	 FIELDS("reason", "regarding.kind", "regarding.namespace", "regarding.name", "regarding.uid",
		"regarding.apiVersion", "regarding.resourceVersion", "regarding.fieldPath",
		"reportingController", "source", "type", "metadata.namespace", "metadata.name")},
};

static bool in_list(const char *const *list, const char *f)
{
	for (; *list; list++)
		if (strcmp(*list, f) == 0)
			return true;
	return false;
}

/* The registered custom kind group/kind, or NULL. */
static const kind_desc *custom_kind(const char *group, const char *kind)
{
	for (size_t i = 0; i < kind_count(); i++) {
		const kind_desc *d = kind_at(i);
		if (d->custom && str_eq(d->group, group) && str_eq(d->kind, kind))
			return d;
	}
	return NULL;
}

/* k8s: a CRD's selectableFields[].jsonPath ".spec.color" selects field "spec.color". */
static bool crd_selectable(json_t *selectable_fields, const char *f)
{
	size_t i;
	json_t *e;
	json_array_foreach(selectable_fields, i, e) {
		const char *jp = json_string_value(json_object_get(e, "jsonPath"));
		if (jp && *jp == '.')
			jp++;
		if (jp && strcmp(jp, f) == 0)
			return true;
	}
	return false;
}

static int check_custom(const field_selector *s, bool namespaced, json_t *selectable_fields,
			terr **err)
{
	for (size_t i = 0; i < s->n; i++) {
		const char *f = s->terms[i].field;
		/* k8s: crConverter.ConvertFieldLabel */
		if (strcmp(f, "metadata.name") == 0 || (namespaced && strcmp(f, "metadata.namespace") == 0) ||
		    crd_selectable(selectable_fields, f))
			continue;
		return terr_bad_request(err, "field label not supported: %s", f);
	}
	return 0;
}

int field_selector_check_supported(const field_selector *s, const char *group, const char *kind,
				   json_t *selectable_fields, terr **err)
{
	if (field_selector_empty(s))
		return 0;
	group = group ? group : "";
	kind = kind ? kind : "";
	const kind_desc *cd = custom_kind(group, kind);
	if (cd || json_is_array(selectable_fields))
		return check_custom(s, cd ? cd->namespaced : true, selectable_fields, err);
	const struct kind_fields *kf = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(kind_fields); i++)
		if (strcmp(kind_fields[i].group, group) == 0 && strcmp(kind_fields[i].kind, kind) == 0)
			kf = &kind_fields[i];
	for (size_t i = 0; i < s->n; i++) {
		const char *f = s->terms[i].field;
		if (!kf) {
			/* k8s: runtime.DefaultMetaV1FieldSelectorConversion */
			if (strcmp(f, "metadata.name") == 0 || strcmp(f, "metadata.namespace") == 0)
				continue;
			_cleanup_buf_ buf b = {0};
			buf_json_str(&b, f, strlen(f));
			return terr_bad_request(err, "%s is not a known field selector: only "
						     "\"metadata.name\", \"metadata.namespace\"", b.p);
		}
		if (in_list(kf->fields, f))
			continue;
		if (kf->style == MSG_FOR_KIND) {
			_cleanup_buf_ buf b = {0};
			buf_json_str(&b, f, strlen(f));
			return terr_bad_request(err, "field label %s not supported for \"%s\"", b.p, kind);
		}
		return terr_bad_request(err, "field label not supported: %s", f);
	}
	return 0;
}
