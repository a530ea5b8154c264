/* printers-internal.h — what the printers_*.c family shares: the column and printer table
 * types, one table per API group family, and the small helpers that turn JSON fields
 * into the strings kube-apiserver puts in Table cells.
 *
 * Not for: callers outside src/api/printers*.c (they use api/printers.h).
 */
#ifndef TIMON_API_PRINTERS_INTERNAL_H
#define TIMON_API_PRINTERS_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/util.h"

typedef struct printer_column {
	const char *name;
	const char *type; /* "string", "integer", "number", "boolean", "date" */
	const char *format; /* "name" for the NAME column, else "" */
	const char *description;
	int priority; /* 0: always shown; 1: only with -o wide */
} printer_column;

/* Appends one cell per column to cells, in column order (wide columns included: the
 * server always fills them, kubectl hides priority > 0 unless -o wide). */
typedef void (*printer_row_fn)(json_t *obj, json_t *cells, int64_t now_ns);

typedef struct printer_def {
	const char *group; /* "" for core */
	const char *kind;
	const printer_column *columns;
	size_t ncolumns;
	printer_row_fn row;
} printer_def;

#define PRINTER(g, k, cols, fn) {.group = g, .kind = k, .columns = cols, .ncolumns = ARRAY_SIZE(cols), .row = fn}

/* The tables, one per file. */
extern const printer_def printers_core[];
extern const size_t printers_core_n;
extern const printer_def printers_pod[];
extern const size_t printers_pod_n;
extern const printer_def printers_apps[];
extern const size_t printers_apps_n;
extern const printer_def printers_misc[];
extern const size_t printers_misc_n;

/* Column descriptions shared by most kinds. */
#define PR_DESC_NAME "Name of the object, unique within its namespace for this resource."
#define PR_DESC_AGE "Time elapsed since the object was created (metadata.creationTimestamp)."
#define PR_DESC_CONTAINERS "Container names of the pod template, comma-separated."
#define PR_DESC_IMAGES "Container images of the pod template, comma-separated."
#define PR_COL_NAME {"Name", "string", "name", PR_DESC_NAME, 0}
#define PR_COL_AGE {"Age", "string", "", PR_DESC_AGE, 0}
#define PR_COL(n, t, d) {n, t, "", d, 0}
#define PR_WIDE(n, t, d) {n, t, "", d, 1}

/* ---- cells ---- */
void pr_str(json_t *cells, const char *s); /* NULL appends "" */
void pr_int(json_t *cells, int64_t v);
void pr_bool(json_t *cells, bool v);
void pr_fmt(json_t *cells, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends and frees s (takes ownership). */
void pr_take(json_t *cells, char *s);
/* metadata.name */
void pr_name(json_t *cells, json_t *obj);
/* AGE: kube's translateTimestampSince(metadata.creationTimestamp). */
void pr_age(json_t *cells, json_t *obj, int64_t now_ns);

/* ---- fields (all borrowed; missing fields read as "" / 0 / false) ---- */
const char *pr_get_str(json_t *obj, const char *dotted);
int64_t pr_get_int(json_t *obj, const char *dotted);
bool pr_get_bool(json_t *obj, const char *dotted);
/* Size of the object or array at dotted (0 when absent). */
size_t pr_get_len(json_t *obj, const char *dotted);
/* The status ("True", ...) of the first condition of `type` in the array conds, or NULL. */
const char *pr_condition_status(json_t *conds, const char *type);

/* ---- time ---- */
/* Parses an RFC 3339 timestamp into seconds and nanoseconds. Returns 1 when set, 0 when
 * absent, empty or Go's zero time (0001-01-01T00:00:00Z), -1 when unparseable. */
int pr_time(const char *ts, int64_t *sec, int64_t *nsec);
/* k8s: translateTimestampSince — "<unknown>" for a missing timestamp, else the
 * HumanDuration from ts to now. */
void pr_since(const char *ts, int64_t now_ns, char out[32]);
/* Nanoseconds between two parsed times, saturating like Go's Time.Sub. */
int64_t pr_time_sub(int64_t sec_a, int64_t nsec_a, int64_t sec_b, int64_t nsec_b);

/* ---- formatting (results are malloc'd, caller frees) ---- */
/* k8s: labels.FormatLabels — "k=v,k2=v2" sorted by key, "<none>" when empty. */
char *pr_labels(json_t *map);
/* k8s: LabelSelectorAsSelector(sel).String() — "" for nil or empty selectors. Sets *ok
 * false (and returns NULL) for an invalid selector. */
char *pr_selector(json_t *sel, bool *ok);
/* k8s: metav1.FormatLabelSelector — like pr_selector with "<none>" for empty and
 * "<error>" for invalid. */
char *pr_format_selector(json_t *sel);
/* k8s: layoutContainerCells — names and images of containers joined with ",". */
void pr_containers(json_t *containers, char **names, char **images);
/* Joins the first `max` strings of list with sep; appends " + N more..." when the total
 * count exceeds max; `empty` when there is nothing. */
char *pr_list_more(const char **list, size_t count, size_t max, const char *sep,
                   const char *empty);
/* A quantity in kube's canonical form ("1024Mi" -> "1Gi"); "0" when absent; the raw
 * text when it does not parse. */
char *pr_quantity(json_t *q);
/* An IntOrString as Go's IntOrString.String(): the number or the string. */
char *pr_int_or_string(json_t *v);
/* Sorted, de-duplicated join of the strings in list (k8s: sets.String.List()). */
char *pr_sorted_set_join(const char **list, size_t n, const char *sep);

#endif
