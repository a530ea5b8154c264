/* admission_limits.c — kube's LimitRanger admission plugin: a pod being created gets the
 * default requests and limits of its namespace's LimitRanges (type Container: defaultRequest
 * and default) where it names none, and pods and persistent volume claims are held to the
 * ranges' min, max and maxLimitRequestRatio (403 Forbidden with kube's messages).
 * Not for: LimitRange field defaults (api/defaults_core.c fills default from max and
 * defaultRequest from default or min when a range is stored).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/admission_policy.h"
#include "apiserver/quota.h"
#include "base/json.h"
#include "base/util.h"

#define LIMIT_RANGER_ANNOTATION "kubernetes.io/limit-ranger"
/* k8s: resource.MaxMilliValue, the largest value whose milli-units fit an int64. */
#define MAX_MILLI_VALUE (INT64_MAX / 1000)

static bool is_kind(const kind_desc *d, const char *group, const char *resource)
{
	return str_eq(d->group, group) && str_eq(d->resource, resource);
}

/* The namespace's LimitRanges in name order (new trees); *n their count. */
static json_t **limit_ranges(api_req *r, const char *ns, size_t *n)
{
	*n = 0;
	const kind_desc *lk = kind_by_group_resource("", "limitranges");
	if (!ns || !lk)
		return NULL;
	_cleanup_free_ char *prefix = kind_storage_key(lk, ns, NULL);
	cache_entry *const *es;
	size_t count = cache_range(r->srv->cache, prefix, NULL, &es);
	if (!count)
		return NULL;
	json_t **out = xcalloc(count, sizeof *out);
	for (size_t i = 0; i < count; i++) {
		json_t *o = json_loadb(es[i]->value->data, es[i]->value->len, 0, NULL);
		if (o)
			out[(*n)++] = o;
	}
	return out;
}

static void free_ranges(json_t **lrs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		json_decref(lrs[i]);
	free(lrs);
}

/* ---------- defaults ---------- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sets each default absent from the container's list `which`; appends "a, b <what> for
 * <prefix> <name>" to *notes when it set any. */
static void merge_defaults(json_t *c, const char *which, json_t *defaults, const char *what,
                           const char *prefix, char **notes)
{
	if (!json_object_size(defaults))
		return;
	json_t *res = json_obj_child(c, "resources");
	json_t *list = json_object_get(res, which);
	const char *set[64];
	size_t nset = 0;
	const char *k;
	json_t *v;
	json_object_foreach(defaults, k, v)
	{
		if (json_object_get(list, k) || nset == ARRAY_SIZE(set))
			continue;
		if (!json_is_object(list))
			list = json_obj_child(res, which);
		json_object_set(list, k, v);
		set[nset++] = k;
	}
	if (!nset)
		return;
	qsort(set, nset, sizeof *set, cmp_str);
	char *names = xstrdup("");
	for (size_t i = 0; i < nset; i++) {
		char *next = xasprintf("%s%s%s", names, i ? ", " : "", set[i]);
		free(names);
		names = next;
	}
	const char *name = json_string_value(json_object_get(c, "name"));
	char *note = xasprintf("%s%s%s %s for %s %s", *notes ? *notes : "", *notes ? "; " : "",
	                       names, what, prefix, name ? name : "");
	free(names);
	free(*notes);
	*notes = note;
}

/* k8s: SetDefaults_Pod runs before admission: a limit without a request is also the
 * request. */
static void requests_from_limits(json_t *c)
{
	json_t *res = json_object_get(c, "resources");
	json_t *lim = json_object_get(res, "limits");
	if (!json_object_size(lim))
		return;
	json_t *req = json_obj_child(res, "requests");
	const char *k;
	json_t *v;
	json_object_foreach(lim, k, v) if (!json_object_get(req, k)) json_object_set(req, k, v);
}

int admission_limits_default(api_req *r, json_t *obj, terr **err)
{
	UNUSED(err);
	if (!is_kind(r->kind, "", "pods") || (r->sub && *r->sub))
		return 0;
	size_t n;
	json_t **lrs = limit_ranges(r, json_path_str(obj, "metadata.namespace"), &n);
	if (!n) {
		free(lrs);
		return 0;
	}
	json_t *spec = json_object_get(obj, "spec");
	static const char *const lists[] = {"containers", "initContainers"};
	static const char *const prefixes[] = {"container", "init container"};
	size_t i;
	json_t *c;
	for (size_t l = 0; l < 2; l++)
		json_array_foreach(json_object_get(spec, lists[l]), i, c) requests_from_limits(c);
	for (size_t k = 0; k < n; k++) {
		/* k8s: every Container item of a range contributes its defaults (later items
		 * win), and each range is applied in turn (earlier ranges win). */
		_cleanup_json_ json_t *defreq = json_object();
		_cleanup_json_ json_t *deflim = json_object();
		json_t *item;
		json_array_foreach(json_path(lrs[k], "spec.limits"), i, item)
		{
			if (!str_eq(json_string_value(json_object_get(item, "type")), "Container"))
				continue;
			json_object_update(defreq, json_object_get(item, "defaultRequest"));
			json_object_update(deflim, json_object_get(item, "default"));
		}
		char *notes = NULL;
		for (size_t l = 0; l < 2; l++) {
			json_array_foreach(json_object_get(spec, lists[l]), i, c)
			{
				merge_defaults(c, "requests", defreq, "request", prefixes[l],
				               &notes);
				merge_defaults(c, "limits", deflim, "limit", prefixes[l], &notes);
			}
		}
		if (notes) {
			char *val = xasprintf("LimitRanger plugin set: %s", notes);
			json_object_set_new(
			    json_obj_child(json_obj_child(obj, "metadata"), "annotations"),
			    LIMIT_RANGER_ANNOTATION, json_string(val));
			free(val);
			free(notes);
		}
	}
	free_ranges(lrs, n);
	return 0;
}

/* ---------- constraints ---------- */

typedef struct errs {
	char **msg;
	size_t n;
} errs;

static void errs_add(errs *e, char *msg)
{
	/* k8s: an aggregate error lists each distinct message once. */
	for (size_t i = 0; i < e->n; i++) {
		if (strcmp(e->msg[i], msg) == 0) {
			free(msg);
			return;
		}
	}
	e->msg = xrealloc(e->msg, (e->n + 1) * sizeof *e->msg);
	e->msg[e->n++] = msg;
}

/* k8s: utilerrors.NewAggregate: one message alone, several as "[a, b]". */
static char *errs_join(const errs *e)
{
	if (e->n == 1)
		return xstrdup(e->msg[0]);
	char *out = xstrdup("[");
	for (size_t i = 0; i < e->n; i++) {
		char *next = xasprintf("%s%s%s", out, i ? ", " : "", e->msg[i]);
		free(out);
		out = next;
	}
	char *next = xasprintf("%s]", out);
	free(out);
	return next;
}

static void errs_free(errs *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->msg[i]);
	free(e->msg);
}

static char *qstr(const quantity *q)
{
	return quantity_canonical(q);
}

/* k8s: requestLimitEnforcedValues: milli-units when none overflows, else units. */
static void common_values(const quantity *req, const quantity *lim, const quantity *enf, int64_t *r,
                          int64_t *l, int64_t *e)
{
	*r = req ? quantity_value(req) : 0;
	*l = lim ? quantity_value(lim) : 0;
	*e = quantity_value(enf);
	if (*r <= MAX_MILLI_VALUE && *l <= MAX_MILLI_VALUE && *e <= MAX_MILLI_VALUE) {
		*r = req ? quantity_milli(req) : 0;
		*l = lim ? quantity_milli(lim) : 0;
		*e = quantity_milli(enf);
	}
}

static void min_constraint(errs *out, const char *type, const char *res, const quantity *enf,
                           const rlist *requests, const rlist *limits)
{
	const quantity *req = rlist_get(requests, res), *lim = rlist_get(limits, res);
	int64_t r, l, e;
	common_values(req, lim, enf, &r, &l, &e);
	_cleanup_free_ char *es = qstr(enf);
	if (!req) {
		errs_add(out, xasprintf("minimum %s usage per %s is %s.  No request is specified",
		                        res, type, es));
		return;
	}
	if (r < e) {
		_cleanup_free_ char *rs = qstr(req);
		errs_add(out, xasprintf("minimum %s usage per %s is %s, but request is %s", res,
		                        type, es, rs));
		return;
	}
	if (lim && l < e) {
		_cleanup_free_ char *ls = qstr(lim);
		errs_add(out, xasprintf("minimum %s usage per %s is %s, but limit is %s", res, type,
		                        es, ls));
	}
}

static void max_constraint(errs *out, const char *type, const char *res, const quantity *enf,
                           const rlist *requests, const rlist *limits)
{
	const quantity *req = rlist_get(requests, res), *lim = rlist_get(limits, res);
	int64_t r, l, e;
	common_values(req, lim, enf, &r, &l, &e);
	_cleanup_free_ char *es = qstr(enf);
	if (!lim) {
		errs_add(out, xasprintf("maximum %s usage per %s is %s.  No limit is specified",
		                        res, type, es));
		return;
	}
	if (l > e) {
		_cleanup_free_ char *ls = qstr(lim);
		errs_add(out, xasprintf("maximum %s usage per %s is %s, but limit is %s", res, type,
		                        es, ls));
		return;
	}
	if (req && r > e) {
		_cleanup_free_ char *rs = qstr(req);
		errs_add(out, xasprintf("maximum %s usage per %s is %s, but request is %s", res,
		                        type, es, rs));
	}
}

/* k8s: maxRequestConstraint, for claims, whose limits are not user input. */
static void max_request_constraint(errs *out, const char *type, const char *res,
                                   const quantity *enf, const rlist *requests)
{
	const quantity *req = rlist_get(requests, res);
	int64_t r, l, e;
	common_values(req, NULL, enf, &r, &l, &e);
	_cleanup_free_ char *es = qstr(enf);
	if (!req) {
		errs_add(out, xasprintf("maximum %s usage per %s is %s.  No request is specified",
		                        res, type, es));
		return;
	}
	if (r > e) {
		_cleanup_free_ char *rs = qstr(req);
		errs_add(out, xasprintf("maximum %s usage per %s is %s, but request is %s", res,
		                        type, es, rs));
	}
}

static void ratio_constraint(errs *out, const char *type, const char *res, const quantity *enf,
                             const rlist *requests, const rlist *limits)
{
	const quantity *req = rlist_get(requests, res), *lim = rlist_get(limits, res);
	int64_t r, l, e;
	common_values(req, lim, enf, &r, &l, &e);
	_cleanup_free_ char *es = qstr(enf);
	if (!req || r == 0) {
		errs_add(out, xasprintf("%s max limit to request ratio per %s is %s, but no "
		                        "request is specified or request is 0",
		                        res, type, es));
		return;
	}
	if (!lim || l == 0) {
		errs_add(out, xasprintf("%s max limit to request ratio per %s is %s, but no limit "
		                        "is specified or limit is 0",
		                        res, type, es));
		return;
	}
	double observed = (double)l / (double)r, shown = observed;
	double allowed = (double)quantity_value(enf);
	if (quantity_value(enf) <= MAX_MILLI_VALUE) {
		observed *= 1000;
		allowed = (double)quantity_milli(enf);
	}
	if (observed > allowed)
		errs_add(out,
		         xasprintf(
		             "%s max limit to request ratio per %s is %s, but provided ratio is %f",
		             res, type, es, shown));
}

/* Applies one range item's min, max and ratio to a requests/limits pair. */
static void check_item(errs *out, json_t *item, const char *type, const rlist *req,
                       const rlist *lim)
{
	const char *k;
	json_t *v;
	quantity q;
	json_object_foreach(json_object_get(item, "min"), k,
	                    v) if (quantity_parse_json(v, &q, NULL) == 0)
	    min_constraint(out, type, k, &q, req, lim);
	json_object_foreach(json_object_get(item, "max"), k,
	                    v) if (quantity_parse_json(v, &q, NULL) == 0)
	    max_constraint(out, type, k, &q, req, lim);
	json_object_foreach(json_object_get(item, "maxLimitRequestRatio"), k,
	                    v) if (quantity_parse_json(v, &q, NULL) == 0)
	    ratio_constraint(out, type, k, &q, req, lim);
}

static void check_pod(errs *out, json_t *lr, json_t *pod)
{
	size_t i, j;
	json_t *item, *c;
	json_array_foreach(json_path(lr, "spec.limits"), i, item)
	{
		const char *type = json_string_value(json_object_get(item, "type"));
		if (str_eq(type, "Container")) {
			static const char *const lists[] = {"containers", "initContainers"};
			for (size_t l = 0; l < 2; l++) {
				json_array_foreach(
				    json_object_get(json_object_get(pod, "spec"), lists[l]), j, c)
				{
					rlist req = {0}, lim = {0};
					rlist_from_json(json_path(c, "resources.requests"), &req);
					rlist_from_json(json_path(c, "resources.limits"), &lim);
					check_item(out, item, type, &req, &lim);
					rlist_free(&req);
					rlist_free(&lim);
				}
			}
		} else if (str_eq(type, "Pod")) {
			rlist req = {0}, lim = {0};
			quota_pod_resources(pod, "requests", &req);
			quota_pod_resources(pod, "limits", &lim);
			check_item(out, item, type, &req, &lim);
			rlist_free(&req);
			rlist_free(&lim);
		}
	}
}

static void check_claim(errs *out, json_t *lr, json_t *pvc)
{
	size_t i;
	json_t *item;
	json_array_foreach(json_path(lr, "spec.limits"), i, item)
	{
		const char *type = json_string_value(json_object_get(item, "type"));
		if (!str_eq(type, "PersistentVolumeClaim"))
			continue;
		rlist req = {0}, none = {0};
		rlist_from_json(json_path(pvc, "spec.resources.requests"), &req);
		const char *k;
		json_t *v;
		quantity q;
		json_object_foreach(json_object_get(item, "min"), k,
		                    v) if (quantity_parse_json(v, &q, NULL) == 0)
		    min_constraint(out, type, k, &q, &req, &none);
		json_object_foreach(json_object_get(item, "max"), k,
		                    v) if (quantity_parse_json(v, &q, NULL) == 0)
		    max_request_constraint(out, type, k, &q, &req);
		rlist_free(&req);
	}
}

int admission_limits_check(api_req *r, json_t *obj, json_t *old, terr **err)
{
	const kind_desc *d = r->kind;
	bool pod = is_kind(d, "", "pods"), claim = is_kind(d, "", "persistentvolumeclaims");
	/* k8s: pods are checked on create only (their containers are immutable), claims on
	 * create and update; subresources never. */
	if ((!pod && !claim) || (pod && old) || (r->sub && *r->sub))
		return 0;
	size_t n;
	json_t **lrs = limit_ranges(r, json_path_str(obj, "metadata.namespace"), &n);
	int rc = 0;
	for (size_t k = 0; k < n && rc == 0; k++) {
		errs e = {0};
		if (pod)
			check_pod(&e, lrs[k], obj);
		else
			check_claim(&e, lrs[k], obj);
		if (e.n) {
			_cleanup_free_ char *msg = errs_join(&e);
			rc = admission_forbidden(r, obj, err, msg);
		}
		errs_free(&e);
	}
	free_ranges(lrs, n);
	return rc;
}
