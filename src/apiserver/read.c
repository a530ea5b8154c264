/* read.c — get and list from the watch cache, with label and field selectors, limit and
 * continue pagination, and the Table form kubectl asks for.
 * Not for: watches (watch.c) or writes (write.c).
 */
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "api/fieldsel.h"
#include "api/convert.h"
#include "api/printers.h"
#include "api/selector.h"
#include "apiserver/apiserver-internal.h"
#include "apiserver/scale.h"
#include "base/json.h"
#include "base/util.h"

/* ---------- continue tokens ---------- */

/* k8s: a continue token is base64url(JSON {"v":"meta.k8s.io/v1","rv":N,"start":KEY}). */
static char *continue_encode(int64_t rv, const char *key)
{
	_cleanup_json_ json_t *j = json_pack("{s:s, s:I, s:s}", "v", "meta.k8s.io/v1", "rv",
	                                     (json_int_t)rv, "start", key);
	_cleanup_free_ char *s = json_dump_compact(j);
	size_t n = strlen(s);
	char *out = xmalloc(4 * ((n + 2) / 3) + 1);
	int len = EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s, (int)n);
	while (len > 0 && out[len - 1] == '=')
		len--;
	out[len] = 0;
	for (char *p = out; *p; p++)
		*p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
	return out;
}

static int continue_decode(const char *tok, int64_t *rv, char **key, terr **err)
{
	size_t n = strlen(tok);
	if (n > 8192)
		return terr_bad_request(err, "continue key is not valid: too long");
	_cleanup_free_ char *b = xmalloc(n + 4);
	memcpy(b, tok, n);
	for (size_t i = 0; i < n; i++)
		b[i] = b[i] == '-' ? '+' : b[i] == '_' ? '/' : b[i];
	while (n % 4)
		b[n++] = '=';
	b[n] = 0;
	_cleanup_free_ unsigned char *dec = xmalloc(n + 1);
	int len = EVP_DecodeBlock(dec, (unsigned char *)b, (int)n);
	if (len < 0)
		return terr_bad_request(err, "continue key is not valid: illegal base64 data");
	while (len > 0 && dec[len - 1] == 0)
		len--;
	_cleanup_json_ json_t *j = json_loadb((char *)dec, (size_t)len, 0, NULL);
	const char *start = json_string_value(json_object_get(j, "start"));
	if (!j || !start || !str_eq(json_string_value(json_object_get(j, "v")), "meta.k8s.io/v1"))
		return terr_bad_request(err, "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)");
	*rv = json_integer_value(json_object_get(j, "rv"));
	*key = xstrdup(start);
	return 0;
}

/* ---------- Table ---------- */

json_t *table_build(api_req *r, json_t **objs, size_t n, const char *rv, const char *cont,
                    bool with_columns)
{
	json_t *rows = json_array();
	int64_t now = time_now_ns();
	for (size_t i = 0; i < n; i++) {
		json_t *row = json_pack("{s:o}", "cells", printer_cells(r->kind, objs[i], now));
		json_t *conds = printer_row_conditions(r->kind, objs[i]);
		if (conds)
			json_object_set_new(row, "conditions", conds);
		if (r->table_full_object) {
			json_object_set(row, "object", objs[i]);
		} else if (!r->table_no_object) {
			json_t *meta = json_object_get(objs[i], "metadata");
			json_object_set_new(row, "object",
			                    json_pack("{s:s, s:s, s:O}", "kind", "PartialObjectMetadata",
			                              "apiVersion", "meta.k8s.io/v1", "metadata",
			                              meta ? meta : json_null()));
		}
		json_array_append_new(rows, row);
	}
	json_t *meta = json_object();
	if (rv)
		json_object_set_new(meta, "resourceVersion", json_string(rv));
	if (cont)
		json_object_set_new(meta, "continue", json_string(cont));
	json_t *t = json_pack("{s:s, s:s, s:o}", "kind", "Table", "apiVersion", "meta.k8s.io/v1",
	                      "metadata", meta);
	if (with_columns)
		json_object_set_new(t, "columnDefinitions", printer_columns(r->kind));
	json_object_set_new(t, "rows", rows);
	return t;
}

/* ---------- get ---------- */

void handle_get(api_req *r)
{
	terr *err = NULL;
	char qr[256];
	kind_qualified_resource(r->kind, qr);
	if (r->kind->namespaced && !r->ns) {
		terr_not_found(&err, "the server could not find the requested resource");
		api_send_error(r, err);
		return;
	}
	_cleanup_free_ char *key = route_key(r->kind, r->ns, r->name);
	const cache_entry *e = cache_get(r->srv->cache, key);
	if (!e) {
		/* k8s: NotFound names the resource the way kube does: deployments.apps "web". */
		terr_not_found(&err, "%s \"%s\" not found", qr, r->name);
		api_send_error(r, err);
		return;
	}
	if (!r->sub || strcmp(r->sub, "status") == 0) {
		char *cv = NULL;
		size_t cn = 0;
		int rc = convert_stored_json(r->kind, e->value->data, e->value->len, &cv, &cn, &err);
		if (rc < 0) {
			api_send_error(r, err);
		} else if (rc == 1) {
			api_send_json_bytes(r, 200, cv, cn);
			free(cv);
		} else {
			api_send_json_bytes(r, 200, e->value->data, e->value->len);
		}
		return;
	}
	if (strcmp(r->sub, "scale") == 0 && (r->kind->subresources & KIND_SUB_SCALE)) {
		_cleanup_json_ json_t *obj = json_loadb(e->value->data, e->value->len, 0, NULL);
		_cleanup_json_ json_t *scale = scale_from_object(r->kind, obj);
		r->want_table = false;
		api_send_object(r, 200, scale);
		return;
	}
	terr_not_found(&err, "the server could not find the requested resource");
	api_send_error(r, err);
}

/* ---------- list ---------- */

void list_opts_free(list_opts *o)
{
	label_selector_free(o->labels);
	field_selector_free(o->fields);
	free(o->after);
}

int list_parse_opts(api_req *r, list_opts *o, terr **err)
{
	_cleanup_free_ char *ls = http_req_query(r->http, "labelSelector");
	_cleanup_free_ char *fs = http_req_query(r->http, "fieldSelector");
	_cleanup_free_ char *limit = http_req_query(r->http, "limit");
	_cleanup_free_ char *cont = http_req_query(r->http, "continue");
	if (ls && *ls && !(o->labels = label_selector_parse(ls, err)))
		return -1;
	if (fs && *fs) {
		o->fields = field_selector_parse(fs, err);
		if (!o->fields)
			return -1;
		if (field_selector_check_supported(o->fields, r->kind->group, r->kind->kind, NULL, err) < 0)
			return -1;
	}
	if (limit && *limit) {
		char *end;
		o->limit = strtol(limit, &end, 10);
		if (*end || o->limit < 0)
			return terr_bad_request(err, "limit must be a non-negative integer");
	}
	if (cont && *cont && continue_decode(cont, &o->cont_rv, &o->after, err) < 0)
		return -1;
	return 0;
}

bool list_matches(const list_opts *o, const cache_entry *e, json_t **parsed)
{
	if (o->labels && !label_selector_matches(o->labels, e->labels))
		return false;
	if (o->fields) {
		json_t *obj = json_loadb(e->value->data, e->value->len, 0, NULL);
		bool ok = obj && field_selector_matches(o->fields, obj);
		if (parsed && ok)
			*parsed = obj;
		else
			json_decref(obj);
		return ok;
	}
	return true;
}

void handle_list(api_req *r)
{
	terr *err = NULL;
	list_opts o = {0};
	if (list_parse_opts(r, &o, &err) < 0) {
		list_opts_free(&o);
		api_send_error(r, err);
		return;
	}
	_cleanup_free_ char *prefix = route_key(r->kind, r->ns, NULL);
	cache_entry *const *entries;
	size_t n = cache_range(r->srv->cache, prefix, o.after, &entries);
	int64_t rv = o.after ? o.cont_rv : cache_rev(r->srv->cache);
	char rvs[32];
	snprintf(rvs, sizeof rvs, "%lld", (long long)rv);
	size_t taken = 0, i = 0;
	const char *last_key = NULL;
	json_t **objs = NULL;
	size_t nobjs = 0;
	buf out = {0};
	char apiv[128];
	kind_api_version(r->kind, apiv);
	buf_printf(&out, "{\"kind\":\"%sList\",\"apiVersion\":\"%s\",\"metadata\":{\"resourceVersion\":\"%s\"", r->kind->kind, apiv, rvs);
	size_t meta_end = out.n;
	buf_puts(&out, "},\"items\":[");
	for (; i < n; i++) {
		if (o.limit > 0 && (long)taken == o.limit)
			break;
		json_t *parsed = NULL;
		if (!list_matches(&o, entries[i], &parsed))
			continue;
		char *cv = NULL;
		size_t cn = 0;
		const char *data = entries[i]->value->data;
		size_t dlen = entries[i]->value->len;
		if (convert_stored_json(r->kind, data, dlen, &cv, &cn, NULL) == 1) {
			data = cv;
			dlen = cn;
		}
		if (r->want_table) {
			json_decref(parsed);
			parsed = json_loadb(data, dlen, 0, NULL);
			objs = xrealloc(objs, (nobjs + 1) * sizeof *objs);
			objs[nobjs++] = parsed;
		} else {
			json_decref(parsed);
			if (taken)
				buf_putc(&out, ',');
			buf_add(&out, data, dlen);
		}
		free(cv);
		taken++;
		last_key = entries[i]->key;
	}
	/* k8s: a page that stops early carries a continue token; remainingItemCount only when
	 * no selector makes the count unknowable. */
	_cleanup_free_ char *cont = NULL;
	bool more = false;
	for (size_t j = i; j < n && !more; j++)
		more = list_matches(&o, entries[j], NULL);
	if (more && last_key)
		cont = continue_encode(rv, last_key);
	buf_puts(&out, "]}");
	if (cont) {
		buf tail = {0};
		buf_printf(&tail, ",\"continue\":\"%s\"", cont);
		if (!o.labels && !o.fields)
			buf_printf(&tail, ",\"remainingItemCount\":%zu", n - i);
		buf_add(&tail, out.p + meta_end, out.n - meta_end);
		out.n = meta_end;
		buf_add(&out, tail.p, tail.n);
		buf_free(&tail);
	}
	list_opts_free(&o);
	if (r->want_table) {
		buf_free(&out);
		json_t *t = table_build(r, objs, nobjs, rvs, cont, true);
		for (size_t k = 0; k < nobjs; k++)
			json_decref(objs[k]);
		free(objs);
		r->want_table = false;
		api_send_object(r, 200, t);
		json_decref(t);
		return;
	}
	free(objs);
	if (r->want_yaml) {
		json_t *j = json_loadb(out.p, out.n, 0, NULL);
		buf_free(&out);
		api_send_object(r, 200, j);
		json_decref(j);
		return;
	}
	api_send_json_bytes(r, 200, out.p, out.n);
	buf_free(&out);
}
