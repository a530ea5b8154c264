/* validate.c — the entry points of validation: the per-kind table, the error accumulator
 * (field paths, cause types, kube's value printing and aggregate message), and JSON
 * accessors shared by the validate_*.c files.
 *
 * Not for: the rules of a given kind (validate_<group>.c), object metadata and selectors
 * (validate_meta.c), or name syntax (validate_names.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/crdschema.h"
#include "api/validate-internal.h"
#include "base/json.h"
#include "base/util.h"

/* ---- per-kind table ----------------------------------------------------------------- */

typedef struct vkind {
	const char *group;
	const char *kind;
	vname_rule name_rule;
	vkind_fn fn;
} vkind;

static const vkind vkinds[] = {
	{"", "Pod", VNAME_SUBDOMAIN, v_kind_pod},
	{"", "Namespace", VNAME_LABEL, v_kind_namespace},
	{"", "Service", VNAME_1035, v_kind_service},
	{"", "Endpoints", VNAME_SUBDOMAIN, v_kind_endpoints},
	{"", "ConfigMap", VNAME_SUBDOMAIN, v_kind_configmap},
	{"", "Secret", VNAME_SUBDOMAIN, v_kind_secret},
	{"", "ServiceAccount", VNAME_SUBDOMAIN, v_kind_serviceaccount},
	{"", "Node", VNAME_SUBDOMAIN, v_kind_node},
	{"", "Event", VNAME_SUBDOMAIN, v_kind_core_event},
	{"", "PersistentVolume", VNAME_SUBDOMAIN, v_kind_pv},
	{"", "PersistentVolumeClaim", VNAME_SUBDOMAIN, v_kind_pvc},
	{"", "ResourceQuota", VNAME_SUBDOMAIN, v_kind_resourcequota},
	{"", "LimitRange", VNAME_SUBDOMAIN, v_kind_limitrange},
	{"apps", "Deployment", VNAME_SUBDOMAIN, v_kind_deployment},
	{"apps", "ReplicaSet", VNAME_SUBDOMAIN, v_kind_replicaset},
	{"apps", "StatefulSet", VNAME_LABEL, v_kind_statefulset},
	{"apps", "DaemonSet", VNAME_SUBDOMAIN, v_kind_daemonset},
	{"apps", "ControllerRevision", VNAME_SUBDOMAIN, v_kind_controllerrevision},
	{"batch", "Job", VNAME_SUBDOMAIN, v_kind_job},
	{"batch", "CronJob", VNAME_SUBDOMAIN, v_kind_cronjob},
	{"autoscaling", "HorizontalPodAutoscaler", VNAME_SUBDOMAIN, v_kind_hpa},
	{"networking.k8s.io", "Ingress", VNAME_SUBDOMAIN, v_kind_ingress},
	{"networking.k8s.io", "IngressClass", VNAME_SUBDOMAIN, v_kind_ingressclass},
	{"networking.k8s.io", "NetworkPolicy", VNAME_SUBDOMAIN, v_kind_networkpolicy},
	{"discovery.k8s.io", "EndpointSlice", VNAME_SUBDOMAIN, v_kind_endpointslice},
	{"coordination.k8s.io", "Lease", VNAME_SUBDOMAIN, v_kind_lease},
	{"events.k8s.io", "Event", VNAME_SUBDOMAIN, v_kind_events_event},
	{"rbac.authorization.k8s.io", "Role", VNAME_PATH_SEGMENT, v_kind_role},
	{"rbac.authorization.k8s.io", "ClusterRole", VNAME_PATH_SEGMENT, v_kind_role},
	{"rbac.authorization.k8s.io", "RoleBinding", VNAME_PATH_SEGMENT, v_kind_rolebinding},
	{"rbac.authorization.k8s.io", "ClusterRoleBinding", VNAME_PATH_SEGMENT, v_kind_rolebinding},
	{"storage.k8s.io", "StorageClass", VNAME_SUBDOMAIN, v_kind_storageclass},
	{"scheduling.k8s.io", "PriorityClass", VNAME_SUBDOMAIN, v_kind_priorityclass},
	{"policy", "PodDisruptionBudget", VNAME_SUBDOMAIN, v_kind_pdb},
	{"node.k8s.io", "RuntimeClass", VNAME_SUBDOMAIN, v_kind_runtimeclass},
	{"apiextensions.k8s.io", "CustomResourceDefinition", VNAME_SUBDOMAIN, v_kind_crd},
	{"authentication.k8s.io", "SelfSubjectReview", VNAME_NONE, NULL},
	{"authentication.k8s.io", "TokenReview", VNAME_NONE, NULL},
	{"authorization.k8s.io", "SelfSubjectAccessReview", VNAME_NONE, NULL},
	{"authorization.k8s.io", "SelfSubjectRulesReview", VNAME_NONE, NULL},
	{"authorization.k8s.io", "SubjectAccessReview", VNAME_NONE, NULL},
};

static const vkind *vkind_find(const kind_desc *d)
{
	if (d->custom)
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(vkinds); i++)
		if (str_eq(vkinds[i].group, d->group) && str_eq(vkinds[i].kind, d->kind))
			return &vkinds[i];
	return NULL;
}

/* ---- path cursor -------------------------------------------------------------------- */

size_t vp_push(vctx *v, const char *child)
{
	size_t mark = v->path.n;
	if (v->path.n && child[0] != '[')
		buf_putc(&v->path, '.');
	buf_puts(&v->path, child);
	return mark;
}

size_t vp_index(vctx *v, size_t i)
{
	size_t mark = v->path.n;
	buf_putc(&v->path, '[');
	buf_put_u64(&v->path, i);
	buf_putc(&v->path, ']');
	return mark;
}

size_t vp_key(vctx *v, const char *key)
{
	size_t mark = v->path.n;
	buf_putc(&v->path, '[');
	buf_puts(&v->path, key);
	buf_putc(&v->path, ']');
	return mark;
}

void vp_pop(vctx *v, size_t mark)
{
	v->path.n = mark;
	if (v->path.p)
		v->path.p[mark] = 0;
}

/* ---- value printing ----------------------------------------------------------------- */

/* Appends s quoted the way Go's %q (strconv.Quote) writes it. */
static void put_quoted(buf *b, const char *s)
{
	if (!s)
		s = "";
	buf_go_quote(b, s, strlen(s));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Appends a JSON value printed as kube prints the Go value it decodes to. */
static void put_json_value(buf *b, const json_t *j)
{
	if (!j || json_is_null(j)) {
		buf_puts(b, "null");
	} else if (json_is_string(j)) {
		put_quoted(b, json_string_value(j));
	} else if (json_is_integer(j)) {
		buf_printf(b, "%lld", (long long)json_integer_value(j));
	} else if (json_is_real(j)) {
		buf_printf(b, "%g", json_real_value(j));
	} else if (json_is_boolean(j)) {
		buf_puts(b, json_is_true(j) ? "true" : "false");
	} else if (json_is_object(j)) {
		/* Go's %#v of map[string]string: keys sorted, `map[string]string{"k":"v"}`. */
		buf_puts(b, "map[string]string{");
		const char **keys = xcalloc(json_object_size(j) + 1, sizeof *keys);
		size_t n = 0;
		const char *k;
		json_t *val;
		json_object_foreach((json_t *)j, k, val) keys[n++] = k;
		qsort(keys, n, sizeof *keys, cmp_str);
		for (size_t i = 0; i < n; i++) {
			if (i)
				buf_puts(b, ", ");
			put_quoted(b, keys[i]);
			buf_putc(b, ':');
			const json_t *x = json_object_get(j, keys[i]);
			if (json_is_string(x))
				put_quoted(b, json_string_value(x));
			else
				put_json_value(b, x);
		}
		free(keys);
		buf_putc(b, '}');
	} else if (json_is_array(j) && json_array_size(j) > 0 &&
	           json_is_string(json_array_get(j, 0))) {
		/* Go's %#v of []string: `[]string{"a", "b"}` */
		buf_puts(b, "[]string{");
		size_t i;
		json_t *x;
		json_array_foreach((json_t *)j, i, x)
		{
			buf_puts(b, i ? ", " : "");
			put_quoted(b, json_is_string(x) ? json_string_value(x) : "");
		}
		buf_putc(b, '}');
	} else {
		char *s = json_dump_compact(j);
		buf_puts(b, s);
		free(s);
	}
}

/* ---- adders ------------------------------------------------------------------------- */

static void add_cause(vctx *v, const char *type, const char *child, const char *body)
{
	size_t mark = v->path.n;
	if (child)
		vp_push(v, child);
	terr_cause_add(&v->err, type, v->path.p ? v->path.p : "", "%s", body);
	vp_pop(v, mark);
}

static void add_with_value(vctx *v, const char *type, const char *label, const char *child,
                           const char *rendered, const char *detail)
{
	_cleanup_buf_ buf b = {0};
	buf_puts(&b, label);
	if (rendered) {
		buf_puts(&b, ": ");
		buf_puts(&b, rendered);
	}
	if (detail && *detail) {
		buf_puts(&b, ": ");
		buf_puts(&b, detail);
	}
	add_cause(v, type, child, b.p);
}

void v_required(vctx *v, const char *child, const char *detail)
{
	add_with_value(v, "FieldValueRequired", "Required value", child, NULL, detail);
}

void v_forbidden(vctx *v, const char *child, const char *detail)
{
	add_with_value(v, "FieldValueForbidden", "Forbidden", child, NULL, detail);
}

void v_invalid(vctx *v, const char *child, const char *value, const char *detail)
{
	_cleanup_buf_ buf q = {0};
	put_quoted(&q, value ? value : "");
	add_with_value(v, "FieldValueInvalid", "Invalid value", child, q.p, detail);
}

void v_invalid_int(vctx *v, const char *child, long long value, const char *detail)
{
	char num[32];
	snprintf(num, sizeof num, "%lld", value);
	add_with_value(v, "FieldValueInvalid", "Invalid value", child, num, detail);
}

void v_invalid_json(vctx *v, const char *child, const json_t *value, const char *detail)
{
	_cleanup_buf_ buf q = {0};
	put_json_value(&q, value);
	add_with_value(v, "FieldValueInvalid", "Invalid value", child, q.p, detail);
}

void v_invalid_raw(vctx *v, const char *child, const char *rendered, const char *detail)
{
	add_with_value(v, "FieldValueInvalid", "Invalid value", child, rendered, detail);
}

void v_not_supported_raw(vctx *v, const char *child, const char *rendered,
                         const char *const *supported)
{
	_cleanup_buf_ buf d = {0};
	for (size_t i = 0; supported && supported[i]; i++) {
		buf_puts(&d, i ? ", " : "supported values: ");
		put_quoted(&d, supported[i]);
	}
	add_with_value(v, "FieldValueNotSupported", "Unsupported value", child, rendered, d.p);
}

static void put_string_map(buf *b, const json_t *m)
{
	if (!json_is_object(m)) {
		buf_puts(b, "map[string]string(nil)");
		return;
	}
	put_json_value(b, m);
}

char *v_render_string_map(const json_t *m)
{
	_cleanup_buf_ buf b = {0};
	put_string_map(&b, m);
	return buf_take(&b);
}

char *v_render_selector(const json_t *sel)
{
	_cleanup_buf_ buf b = {0};
	buf_puts(&b, "v1.LabelSelector{MatchLabels:");
	put_string_map(&b, json_object_get(sel, "matchLabels"));
	buf_puts(&b, ", MatchExpressions:");
	json_t *exprs = json_object_get(sel, "matchExpressions");
	if (!json_is_array(exprs)) {
		buf_puts(&b, "[]v1.LabelSelectorRequirement(nil)");
	} else {
		buf_puts(&b, "[]v1.LabelSelectorRequirement{");
		size_t i;
		json_t *e;
		json_array_foreach(exprs, i, e)
		{
			buf_puts(&b, i ? ", " : "");
			buf_puts(&b, "v1.LabelSelectorRequirement{Key:");
			put_quoted(&b, jstr(e, "key"));
			buf_puts(&b, ", Operator:");
			put_quoted(&b, jstr(e, "operator"));
			buf_puts(&b, ", Values:");
			json_t *vals = json_object_get(e, "values");
			if (!json_is_array(vals)) {
				buf_puts(&b, "[]string(nil)");
			} else {
				put_json_value(&b, vals);
			}
			buf_putc(&b, '}');
		}
		buf_putc(&b, '}');
	}
	buf_putc(&b, '}');
	return buf_take(&b);
}

char *v_render_intstr(const json_t *val)
{
	if (json_is_string(val)) {
		_cleanup_buf_ buf b = {0};
		buf_puts(&b, "intstr.IntOrString{Type:1, IntVal:0, StrVal:");
		put_quoted(&b, json_string_value(val));
		buf_putc(&b, '}');
		return buf_take(&b);
	}
	return xasprintf("intstr.IntOrString{Type:0, IntVal:%lld, StrVal:\"\"}",
	                 json_is_integer(val) ? (long long)json_integer_value(val) : 0LL);
}

void v_invalid_msgs(vctx *v, const char *child, const char *value, const vmsgs *m)
{
	for (int i = 0; i < m->n; i++)
		v_invalid(v, child, value, m->m[i]);
}

void v_not_supported(vctx *v, const char *child, const char *value,
                     const char *const *supported)
{
	_cleanup_buf_ buf q = {0}, d = {0};
	put_quoted(&q, value ? value : "");
	for (size_t i = 0; supported && supported[i]; i++) {
		buf_puts(&d, i ? ", " : "supported values: ");
		put_quoted(&d, supported[i]);
	}
	add_with_value(v, "FieldValueNotSupported", "Unsupported value", child, q.p, d.p);
}

void v_duplicate(vctx *v, const char *child, const char *value)
{
	_cleanup_buf_ buf q = {0};
	put_quoted(&q, value ? value : "");
	add_with_value(v, "FieldValueDuplicate", "Duplicate value", child, q.p, NULL);
}

void v_duplicate_int(vctx *v, const char *child, long long value)
{
	char num[32];
	snprintf(num, sizeof num, "%lld", value);
	add_with_value(v, "FieldValueDuplicate", "Duplicate value", child, num, NULL);
}

void v_not_found(vctx *v, const char *child, const char *value)
{
	_cleanup_buf_ buf q = {0};
	put_quoted(&q, value ? value : "");
	add_with_value(v, "FieldValueNotFound", "Not found", child, q.p, NULL);
}

void v_too_long(vctx *v, const char *child, long long max_bytes)
{
	char d[64];
	snprintf(d, sizeof d, "may not be more than %lld bytes", max_bytes);
	add_with_value(v, "FieldValueTooLong", "Too long", child, NULL, d);
}

void v_too_many(vctx *v, const char *child, long long actual, long long max)
{
	char num[32], d[64];
	snprintf(num, sizeof num, "%lld", actual);
	snprintf(d, sizeof d, "must have at most %lld items", max);
	add_with_value(v, "FieldValueTooMany", "Too many", child, num, d);
}

/* ---- JSON accessors ----------------------------------------------------------------- */

const char *jstr(const json_t *o, const char *key)
{
	json_t *j = json_is_object(o) ? json_object_get(o, key) : NULL;
	return json_is_string(j) ? json_string_value(j) : NULL;
}

bool jint(const json_t *o, const char *key, long long *out)
{
	json_t *j = json_is_object(o) ? json_object_get(o, key) : NULL;
	if (json_is_integer(j)) {
		*out = (long long)json_integer_value(j);
		return true;
	}
	if (json_is_real(j)) { /* 3.0 decodes to an integer in Go */
		double x = json_real_value(j);
		if (x == (double)(long long)x) {
			*out = (long long)x;
			return true;
		}
	}
	return false;
}

json_t *jobj(const json_t *o, const char *key)
{
	json_t *j = json_is_object(o) ? json_object_get(o, key) : NULL;
	return json_is_object(j) ? j : NULL;
}

json_t *jarr(const json_t *o, const char *key)
{
	json_t *j = json_is_object(o) ? json_object_get(o, key) : NULL;
	return json_is_array(j) ? j : NULL;
}

json_t *jcopy(const json_t *j)
{
	return json_is_object(j) ? json_clone(j) : json_object();
}

bool jhas(const json_t *o, const char *key)
{
	json_t *j = json_is_object(o) ? json_object_get(o, key) : NULL;
	return j && !json_is_null(j);
}

bool jtrue(const json_t *o, const char *key)
{
	json_t *j = json_is_object(o) ? json_object_get(o, key) : NULL;
	return json_is_true(j);
}

bool v_in(const char *s, const char *const *list)
{
	for (size_t i = 0; s && list[i]; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

void v_enum_required(vctx *v, json_t *o, const char *key, const char *const *allowed)
{
	const char *s = jstr(o, key);
	if (!s || !*s)
		v_required(v, key, NULL);
	else if (!v_in(s, allowed))
		v_not_supported(v, key, s, allowed);
}

void v_enum_optional(vctx *v, json_t *o, const char *key, const char *const *allowed)
{
	const char *s = jstr(o, key);
	if (s && *s && !v_in(s, allowed))
		v_not_supported(v, key, s, allowed);
}

void v_nonneg(vctx *v, json_t *o, const char *key)
{
	long long x;
	if (jint(o, key, &x) && x < 0)
		v_invalid_int(v, key, x, VMSG_NEGATIVE);
}

void v_immutable(vctx *v, json_t *n, json_t *o, const char *key)
{
	json_t *a = json_is_object(n) ? json_object_get(n, key) : NULL;
	json_t *b = json_is_object(o) ? json_object_get(o, key) : NULL;
	if (a && json_is_null(a))
		a = NULL;
	if (b && json_is_null(b))
		b = NULL;
	if ((!a && !b) || (a && b && json_equal(a, b)))
		return;
	v_invalid_json(v, key, a, VMSG_IMMUTABLE);
}

/* ---- entry points ------------------------------------------------------------------- */

/* k8s: NewInvalid's message: `<Kind>[.<group>] "<name>" is invalid: <aggregate>`, where
 * the aggregate is the one error, or "[e1, e2]" with duplicates dropped. */
static void finish(vctx *v, const char *name, terr **err)
{
	terr *e = v->err;
	_cleanup_buf_ buf m = {0};
	if (v->d->group[0])
		buf_printf(&m, "%s.%s ", v->d->kind, v->d->group);
	else
		buf_printf(&m, "%s ", v->d->kind);
	put_quoted(&m, name ? name : "");
	buf_puts(&m, " is invalid");
	char **lines = xcalloc(e->ncauses, sizeof *lines);
	size_t n = 0;
	for (size_t i = 0; i < e->ncauses; i++) {
		char *l = xasprintf("%s: %s", e->causes[i].field, e->causes[i].message);
		bool dup = false;
		for (size_t j = 0; j < n && !dup; j++)
			dup = strcmp(lines[j], l) == 0;
		if (dup)
			free(l);
		else
			lines[n++] = l;
	}
	buf_puts(&m, ": ");
	if (n > 1)
		buf_putc(&m, '[');
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_puts(&m, ", ");
		buf_puts(&m, lines[i]);
		free(lines[i]);
	}
	if (n > 1)
		buf_putc(&m, ']');
	free(lines);
	free(e->message);
	e->message = buf_take(&m);
	if (err && !*err)
		*err = e;
	else
		terr_free(e);
	v->err = NULL;
}

int validate_object(const kind_desc *d, json_t *obj, json_t *old, terr **err)
{
	vctx v = {.d = d, .obj = obj, .old = old};
	if (!json_is_object(obj))
		return terr_bad_request(err, "the object to validate is not a JSON object");
	const vkind *k = vkind_find(d);
	if (k && !k->fn && k->name_rule == VNAME_NONE) {
		/* review kinds: nothing is stored, nothing to check */
	} else if (old && json_is_object(old)) {
		v_object_meta_update(&v, obj, old);
		if (k && k->fn)
			k->fn(&v, obj, old);
	} else {
		v_object_meta(&v, obj, d->namespaced, k ? k->name_rule : VNAME_SUBDOMAIN);
		if (k && k->fn)
			k->fn(&v, obj, NULL);
	}
	/* k8s: custom resources are checked against their version's structural schema. */
	if (d->custom && d->crd_schema)
		crdschema_check(d->crd_schema, obj, old, NULL, &v.err);
	buf_free(&v.path);
	if (!v.err)
		return 0;
	finish(&v, json_path_str(obj, "metadata.name"), err);
	return -1;
}

int validate_name(const kind_desc *d, const char *name, terr **err)
{
	vctx v = {.d = d};
	const vkind *k = vkind_find(d);
	vmsgs m = {0};
	if (!name || !*name) {
		v_required(&v, "metadata.name", "name or generateName is required");
	} else if (vm_name(k ? k->name_rule : VNAME_SUBDOMAIN, name, false, &m)) {
		v_invalid_msgs(&v, "metadata.name", name, &m);
	}
	buf_free(&v.path);
	if (!v.err)
		return 0;
	finish(&v, name, err);
	return -1;
}
