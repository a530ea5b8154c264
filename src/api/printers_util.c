/* printers_util.c — helpers shared by the printers_*.c family: appending cells, reading
 * fields with kube's zero values, timestamps and ages, and kube's string forms of labels,
 * label selectors, container lists and "+ N more..." lists.
 *
 * Not for: any one kind's columns (printers_<group>.c) or dispatch (printers.c).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/jsonpath.h"
#include "api/printers-internal.h"
#include "api/printers.h"
#include "base/json.h"
#include "base/quantity.h"

/* ---- cells ---- */

void pr_str(json_t *cells, const char *s)
{
	json_t *v = json_string(s ? s : "");
	json_array_append_new(cells, v ? v : json_string(""));
}

void pr_int(json_t *cells, int64_t v)
{
	json_array_append_new(cells, json_integer((json_int_t)v));
}

void pr_bool(json_t *cells, bool v)
{
	json_array_append_new(cells, json_boolean(v));
}

void pr_fmt(json_t *cells, const char *fmt, ...)
{
	va_list ap;
	buf b = {0};
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	pr_str(cells, b.p);
	buf_free(&b);
}

void pr_take(json_t *cells, char *s)
{
	pr_str(cells, s);
	free(s);
}

void pr_name(json_t *cells, json_t *obj)
{
	pr_str(cells, pr_get_str(obj, "metadata.name"));
}

void pr_age(json_t *cells, json_t *obj, int64_t now_ns)
{
	char out[32];
	pr_since(pr_get_str(obj, "metadata.creationTimestamp"), now_ns, out);
	pr_str(cells, out);
}

/* ---- fields ---- */

const char *pr_get_str(json_t *obj, const char *dotted)
{
	const char *s = json_path_str(obj, dotted);
	return s ? s : "";
}

int64_t pr_get_int(json_t *obj, const char *dotted)
{
	json_t *v = json_path(obj, dotted);
	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_real(v))
		return (int64_t)json_real_value(v);
	return 0;
}

bool pr_get_bool(json_t *obj, const char *dotted)
{
	return json_is_true(json_path(obj, dotted));
}

size_t pr_get_len(json_t *obj, const char *dotted)
{
	json_t *v = json_path(obj, dotted);
	if (json_is_object(v))
		return json_object_size(v);
	if (json_is_array(v))
		return json_array_size(v);
	return 0;
}

const char *pr_condition_status(json_t *conds, const char *type)
{
	size_t i;
	json_t *c;
	json_array_foreach(conds, i, c) {
		if (str_eq(json_path_str(c, "type"), type))
			return json_path_str(c, "status");
	}
	return NULL;
}

/* ---- time ---- */

/* Days since 1970-01-01 of a proleptic Gregorian date (valid for any year). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static bool digits(const char *p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (p[i] - '0');
	}
	*out = v;
	return true;
}

int pr_time(const char *ts, int64_t *sec, int64_t *nsec)
{
	if (!ts || !*ts)
		return 0;
	int y, mo, d, h, mi, s;
	const char *p = ts;
	if (!digits(p, 4, &y) || p[4] != '-' || !digits(p + 5, 2, &mo) || p[7] != '-' ||
	    !digits(p + 8, 2, &d) || p[10] != 'T' || !digits(p + 11, 2, &h) || p[13] != ':' ||
	    !digits(p + 14, 2, &mi) || p[16] != ':' || !digits(p + 17, 2, &s))
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59)
		return -1;
	p += 19;
	int64_t frac = 0;
	if (*p == '.' || *p == ',') {
		int n = 0;
		p++;
		while (*p >= '0' && *p <= '9') {
			if (n < 9) {
				frac = frac * 10 + (*p - '0');
				n++;
			}
			p++;
		}
		if (!n)
			return -1;
		while (n++ < 9)
			frac *= 10;
	}
	int64_t off = 0;
	if (*p == 'Z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int oh, om;
		if (!digits(p + 1, 2, &oh) || p[3] != ':' || !digits(p + 4, 2, &om))
			return -1;
		off = (*p == '-' ? -1 : 1) * (oh * 3600 + om * 60);
		p += 6;
	} else {
		return -1;
	}
	if (*p)
		return -1;
	*sec = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - off;
	*nsec = frac;
	/* k8s: metav1.Time.IsZero — Go's zero time means "not set" */
	if (*sec == days_from_civil(1, 1, 1) * 86400 && frac == 0)
		return 0;
	return 1;
}

int64_t pr_time_sub(int64_t sec_a, int64_t nsec_a, int64_t sec_b, int64_t nsec_b)
{
	const int64_t S = 1000000000;
	int64_t ds = sec_a - sec_b, dn = nsec_a - nsec_b;
	if (ds > INT64_MAX / S - 1)
		return INT64_MAX;
	if (ds < INT64_MIN / S + 1)
		return INT64_MIN;
	return ds * S + dn;
}

void pr_since(const char *ts, int64_t now_ns, char out[32])
{
	int64_t sec, nsec;
	if (pr_time(ts, &sec, &nsec) <= 0) {
		snprintf(out, 32, "<unknown>");
		return;
	}
	int64_t ns_sec = now_ns / 1000000000, ns_nsec = now_ns % 1000000000;
	printer_human_duration(pr_time_sub(ns_sec, ns_nsec, sec, nsec), out);
}

/* ---- formatting ---- */

static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

char *pr_labels(json_t *map)
{
	size_t n = json_object_size(map);
	if (!n)
		return xstrdup("<none>");
	const char **keys = xcalloc(n, sizeof *keys);
	size_t k = 0;
	const char *key;
	json_t *v;
	json_object_foreach(map, key, v) keys[k++] = key;
	qsort(keys, k, sizeof *keys, cmp_strp);
	buf b = {0};
	for (size_t i = 0; i < k; i++) {
		const char *val = json_string_value(json_object_get(map, keys[i]));
		buf_printf(&b, "%s%s=%s", i ? "," : "", keys[i], val ? val : "");
	}
	free(keys);
	return buf_take(&b);
}

typedef struct requirement {
	const char *key;
	char *text;
} requirement;

static char *expression_text(json_t *e, bool *ok)
{
	const char *key = json_path_str(e, "key");
	const char *op = json_path_str(e, "operator");
	json_t *values = json_object_get(e, "values");
	size_t nv = json_array_size(values);
	if (!key || !op) {
		*ok = false;
		return NULL;
	}
	if (str_eq(op, "Exists") || str_eq(op, "DoesNotExist")) {
		if (nv) {
			*ok = false;
			return NULL;
		}
		return xasprintf("%s%s", str_eq(op, "DoesNotExist") ? "!" : "", key);
	}
	if (!str_eq(op, "In") && !str_eq(op, "NotIn")) {
		*ok = false;
		return NULL;
	}
	if (!nv) {
		*ok = false;
		return NULL;
	}
	/* k8s: a requirement prints its values sorted, without changing the selector */
	const char **vals = xcalloc(nv, sizeof *vals);
	for (size_t i = 0; i < nv; i++) {
		vals[i] = json_string_value(json_array_get(values, i));
		if (!vals[i])
			vals[i] = "";
	}
	qsort(vals, nv, sizeof *vals, cmp_strp);
	buf b = {0};
	buf_printf(&b, "%s %s (", key, str_eq(op, "In") ? "in" : "notin");
	for (size_t i = 0; i < nv; i++)
		buf_printf(&b, "%s%s", i ? "," : "", vals[i]);
	buf_putc(&b, ')');
	free(vals);
	return buf_take(&b);
}

char *pr_selector(json_t *sel, bool *ok)
{
	*ok = true;
	json_t *labels = json_object_get(sel, "matchLabels");
	json_t *exprs = json_object_get(sel, "matchExpressions");
	size_t n = json_object_size(labels) + json_array_size(exprs);
	if (!n)
		return xstrdup("");
	requirement *reqs = xcalloc(n, sizeof *reqs);
	size_t k = 0;
	const char *key;
	json_t *v;
	json_object_foreach(labels, key, v) {
		reqs[k].key = key;
		reqs[k++].text = xasprintf("%s=%s", key, json_is_string(v) ? json_string_value(v) : "");
	}
	size_t i;
	json_array_foreach(exprs, i, v) {
		char *t = expression_text(v, ok);
		if (!t)
			break;
		reqs[k].key = json_path_str(v, "key");
		reqs[k++].text = t;
	}
	char *res = NULL;
	if (*ok) {
		/* k8s: a selector's requirements are kept sorted by key (stable insertion sort) */
		for (size_t a = 1; a < k; a++) {
			requirement r = reqs[a];
			size_t b = a;
			for (; b > 0 && strcmp(reqs[b - 1].key, r.key) > 0; b--)
				reqs[b] = reqs[b - 1];
			reqs[b] = r;
		}
		buf b = {0};
		for (size_t a = 0; a < k; a++)
			buf_printf(&b, "%s%s", a ? "," : "", reqs[a].text);
		res = buf_take(&b);
	}
	for (size_t a = 0; a < k; a++)
		free(reqs[a].text);
	free(reqs);
	return res;
}

char *pr_format_selector(json_t *sel)
{
	bool ok;
	char *s = pr_selector(sel, &ok);
	if (!ok)
		return xstrdup("<error>");
	if (!*s) {
		free(s);
		return xstrdup("<none>");
	}
	return s;
}

void pr_containers(json_t *containers, char **names, char **images)
{
	buf n = {0}, im = {0};
	size_t i;
	json_t *c;
	buf_puts(&n, "");
	buf_puts(&im, "");
	json_array_foreach(containers, i, c) {
		buf_printf(&n, "%s%s", i ? "," : "", pr_get_str(c, "name"));
		buf_printf(&im, "%s%s", i ? "," : "", pr_get_str(c, "image"));
	}
	*names = buf_take(&n);
	*images = buf_take(&im);
}

char *pr_list_more(const char **list, size_t count, size_t max, const char *sep,
                   const char *empty)
{
	buf b = {0};
	buf_puts(&b, "");
	for (size_t i = 0; i < count && i < max; i++)
		buf_printf(&b, "%s%s", i ? sep : "", list[i]);
	if (count > max)
		buf_printf(&b, " + %zu more...", count - max);
	else if (!b.n && empty)
		buf_puts(&b, empty);
	return buf_take(&b);
}

char *pr_quantity(json_t *q)
{
	if (!q || json_is_null(q))
		return xstrdup("0");
	/* k8s: Quantity.String() prints the canonical form ("1024Mi" reads "1Gi") */
	quantity parsed;
	if (quantity_parse_json(q, &parsed, NULL) == 0)
		return quantity_canonical(&parsed);
	return json_is_string(q) ? xstrdup(json_string_value(q)) : jsonpath_text(q);
}

char *pr_int_or_string(json_t *v)
{
	if (json_is_string(v))
		return xstrdup(json_string_value(v));
	return jsonpath_text(v ? v : json_null());
}

char *pr_sorted_set_join(const char **list, size_t n, const char *sep)
{
	const char **v = xcalloc(n ? n : 1, sizeof *v);
	if (n)
		memcpy(v, list, n * sizeof *v);
	qsort(v, n, sizeof *v, cmp_strp);
	buf b = {0};
	buf_puts(&b, "");
	size_t out = 0;
	for (size_t i = 0; i < n; i++) {
		if (i && str_eq(v[i], v[i - 1]))
			continue;
		buf_printf(&b, "%s%s", out++ ? sep : "", v[i]);
	}
	free(v);
	return buf_take(&b);
}
