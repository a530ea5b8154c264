/* printers.c — dispatch for Table output: finds the printer of a kind in the per-group
 * tables (printers_*.c), falls back to kube's default "Name, Created At" table, and
 * builds the columns and cells of custom resources from their CRD's
 * additionalPrinterColumns. Also kube's HumanDuration.
 *
 * Not for: the columns of one built-in kind (printers_<group>.c) or the Table envelope.
 */
#include "api/printers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/jsonpath.h"
#include "api/printers-internal.h"
#include "base/json.h"
#include "base/util.h"

/* k8s: kinds without a printer use the apiserver's default table convertor: the name and
 * the creation time as an RFC 3339 "date" (kubectl get roles: NAME, CREATED AT). */
static const printer_column default_columns[] = {
	PR_COL_NAME,
	{"Created At", "date", "", "When the object was created (metadata.creationTimestamp).", 0},
};

static const struct {
	const printer_def *defs;
	const size_t *n;
} tables[] = {
	{printers_pod, &printers_pod_n},
	{printers_core, &printers_core_n},
	{printers_apps, &printers_apps_n},
	{printers_misc, &printers_misc_n},
};

static const printer_def *find_def(const kind_desc *d)
{
	for (size_t t = 0; t < ARRAY_SIZE(tables); t++) {
		for (size_t i = 0; i < *tables[t].n; i++) {
			const printer_def *p = &tables[t].defs[i];
			if (str_eq(p->group, d->group) && str_eq(p->kind, d->kind))
				return p;
		}
	}
	return NULL;
}

static json_t *column_json(const char *name, const char *type, const char *format,
                           const char *desc, json_int_t priority)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:I}", "name", name, "type", type, "format",
	                 format ? format : "", "description", desc ? desc : "", "priority",
	                 priority);
}

static json_t *columns_json(const printer_column *cols, size_t n)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, column_json(cols[i].name, cols[i].type, cols[i].format,
		                                       cols[i].description, cols[i].priority));
	return arr;
}

/* ---- custom resources ---- */

/* k8s: a CRD version without additionalPrinterColumns is served with one "Age" column. */
static json_t *crd_column_list(const kind_desc *d)
{
	if (json_is_array(d->crd_columns) && json_array_size(d->crd_columns))
		return json_incref(d->crd_columns);
	return json_pack("[{s:s, s:s, s:s, s:s}]", "name", "Age", "type", "date", "jsonPath",
	                 ".metadata.creationTimestamp", "description", PR_DESC_AGE);
}

static json_t *crd_columns(const kind_desc *d)
{
	json_t *arr = json_array();
	json_array_append_new(arr, column_json("Name", "string", "name", PR_DESC_NAME, 0));
	json_t *list = crd_column_list(d);
	size_t i;
	json_t *c;
	json_array_foreach(list, i, c) {
		const char *path = json_path_str(c, "jsonPath");
		const char *desc = json_path_str(c, "description");
		_cleanup_free_ char *dflt = xasprintf("Custom column, JSONPath %s", path ? path : "");
		json_t *prio = json_object_get(c, "priority");
		json_array_append_new(
		    arr, column_json(json_path_str(c, "name") ? json_path_str(c, "name") : "",
		                     json_path_str(c, "type") ? json_path_str(c, "type") : "string",
		                     json_path_str(c, "format"), desc && *desc ? desc : dflt,
		                     json_is_integer(prio) ? json_integer_value(prio) : 0));
	}
	json_decref(list);
	return arr;
}

/* k8s: the CRD table convertor keeps the first match only; "string" columns print it as
 * kube's jsonpath does, other types convert the JSON value (cellForJSONValue) and give
 * null when it does not fit. */
static json_t *crd_cell(const char *type, json_t *v, int64_t now_ns)
{
	if (str_eq(type, "string")) {
		if (json_is_null(v))
			return json_string("<no value>");
		_cleanup_free_ char *s = jsonpath_text(v);
		return json_string(s);
	}
	if (json_is_null(v))
		return json_null();
	if (str_eq(type, "integer")) {
		if (json_is_integer(v))
			return json_integer(json_integer_value(v));
		if (json_is_real(v)) {
			double r = json_real_value(v);
			if (r >= 9.2e18)
				return json_integer(INT64_MAX);
			if (r <= -9.2e18)
				return json_integer(INT64_MIN);
			return json_integer((json_int_t)r);
		}
	} else if (str_eq(type, "number")) {
		if (json_is_number(v))
			return json_real(json_number_value(v));
	} else if (str_eq(type, "boolean")) {
		if (json_is_boolean(v))
			return json_boolean(json_is_true(v));
	} else if (str_eq(type, "date")) {
		if (json_is_string(v)) {
			const char *s = json_string_value(v);
			int64_t sec, nsec;
			char out[32];
			int r = str_eq(s, "null") ? 0 : pr_time(s, &sec, &nsec);
			if (r == 0)
				return json_string("<unknown>");
			if (r < 0)
				return json_string("<invalid>");
			pr_since(s, now_ns, out);
			return json_string(out);
		}
	}
	return json_null();
}

static json_t *crd_cells(const kind_desc *d, json_t *obj, int64_t now_ns)
{
	json_t *cells = json_array();
	pr_name(cells, obj);
	json_t *list = crd_column_list(d);
	size_t i;
	json_t *c;
	json_array_foreach(list, i, c) {
		const char *path = json_path_str(c, "jsonPath");
		_cleanup_jsonpath_ jsonpath *jp = path ? jsonpath_parse(path, NULL) : NULL;
		_cleanup_json_ json_t *found = jp ? jsonpath_eval(jp, obj) : NULL;
		if (!found || !json_array_size(found)) {
			json_array_append_new(cells, json_null());
			continue;
		}
		json_array_append_new(cells, crd_cell(json_path_str(c, "type"),
		                                      json_array_get(found, 0), now_ns));
	}
	json_decref(list);
	return cells;
}

/* ---- default table ---- */

static json_t *default_cells(json_t *obj)
{
	json_t *cells = json_array();
	pr_name(cells, obj);
	int64_t sec, nsec;
	if (pr_time(pr_get_str(obj, "metadata.creationTimestamp"), &sec, &nsec) <= 0) {
		pr_str(cells, "0001-01-01T00:00:00Z"); /* Go's zero time */
		return cells;
	}
	time_t t = (time_t)sec;
	struct tm tm;
	char out[64];
	gmtime_r(&t, &tm);
	strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%SZ", &tm);
	pr_str(cells, out);
	return cells;
}

/* ---- public ---- */

json_t *printer_columns(const kind_desc *d)
{
	if (d->custom)
		return crd_columns(d);
	const printer_def *p = find_def(d);
	if (!p)
		return columns_json(default_columns, ARRAY_SIZE(default_columns));
	return columns_json(p->columns, p->ncolumns);
}

json_t *printer_cells(const kind_desc *d, json_t *obj, int64_t now_ns)
{
	if (d->custom)
		return crd_cells(d, obj, now_ns);
	const printer_def *p = find_def(d);
	if (!p)
		return default_cells(obj);
	json_t *cells = json_array();
	p->row(obj, cells, now_ns);
	/* a printer that misses a cell would shift kubectl's columns: pad with nulls */
	while (json_array_size(cells) < p->ncolumns)
		json_array_append_new(cells, json_null());
	return cells;
}

json_t *printer_row_conditions(const kind_desc *d, json_t *obj)
{
	if (d->custom || !str_eq(d->group, "") || !str_eq(d->kind, "Pod"))
		return NULL;
	/* k8s: a finished pod's row carries a Completed condition (reason: its phase) */
	const char *phase = pr_get_str(obj, "status.phase");
	if (str_eq(phase, "Succeeded"))
		return json_pack("[{s:s, s:s, s:s, s:s}]", "type", "Completed", "status", "True",
		                 "reason", "Succeeded", "message", "The pod ran to completion.");
	if (str_eq(phase, "Failed"))
		return json_pack("[{s:s, s:s, s:s, s:s}]", "type", "Completed", "status", "True",
		                 "reason", "Failed", "message", "The pod terminated in failure.");
	return NULL;
}

void printer_human_duration(int64_t ns, char out[32])
{
	/* k8s: duration.HumanDuration keeps 2-3 significant figures; up to 2s in the future
	 * counts as now (clock skew), further is <invalid>. */
	const int64_t S = 1000000000, M = 60 * S, H = 60 * M;
	int64_t seconds = ns / S;
	if (seconds < -1) {
		snprintf(out, 32, "<invalid>");
		return;
	}
	if (seconds < 0) {
		snprintf(out, 32, "0s");
		return;
	}
	if (seconds < 60 * 2) {
		snprintf(out, 32, "%llds", (long long)seconds);
		return;
	}
	int64_t minutes = ns / M;
	if (minutes < 10) {
		int64_t s = seconds % 60;
		if (s == 0)
			snprintf(out, 32, "%lldm", (long long)minutes);
		else
			snprintf(out, 32, "%lldm%llds", (long long)minutes, (long long)s);
		return;
	}
	if (minutes < 60 * 3) {
		snprintf(out, 32, "%lldm", (long long)minutes);
		return;
	}
	int64_t hours = ns / H;
	if (hours < 8) {
		int64_t m = minutes % 60;
		if (m == 0)
			snprintf(out, 32, "%lldh", (long long)hours);
		else
			snprintf(out, 32, "%lldh%lldm", (long long)hours, (long long)m);
	} else if (hours < 48) {
		snprintf(out, 32, "%lldh", (long long)hours);
	} else if (hours < 24 * 8) {
		int64_t h = hours % 24;
		if (h == 0)
			snprintf(out, 32, "%lldd", (long long)(hours / 24));
		else
			snprintf(out, 32, "%lldd%lldh", (long long)(hours / 24), (long long)h);
	} else if (hours < 24 * 365 * 2) {
		snprintf(out, 32, "%lldd", (long long)(hours / 24));
	} else if (hours < 24 * 365 * 8) {
		int64_t dy = (hours / 24) % 365;
		if (dy == 0)
			snprintf(out, 32, "%lldy", (long long)(hours / 24 / 365));
		else
			snprintf(out, 32, "%lldy%lldd", (long long)(hours / 24 / 365), (long long)dy);
	} else {
		snprintf(out, 32, "%lldy", (long long)(hours / 24 / 365));
	}
}
