/* printers.h — the columns `kubectl get` prints, computed on the server as kube-apiserver
 * does when a client asks for `application/json;as=Table;v=v1;g=meta.k8s.io`.
 *
 * For each kind: the columnDefinitions (name, type, format, description, priority) and,
 * for one object, the cells. The server always fills the wide (priority 1) cells; kubectl
 * hides them unless -o wide. Built-in kinds follow kube's printers; kinds kube has no
 * printer for get kube's default "Name, Created At"; custom resources use the CRD's
 * additionalPrinterColumns (JSONPath, api/jsonpath.h), or "Age" when it has none.
 *
 * Not for: the Table envelope (kind, metadata, rows, object embedding, includeObject),
 * content negotiation, or sorting rows (the API handlers do that).
 */
#ifndef TIMON_API_PRINTERS_H
#define TIMON_API_PRINTERS_H

#include <jansson.h>
#include <stdint.h>

#include "api/kind.h"

/* The columnDefinitions array for kind d: a new reference. Every entry has the five
 * fields of metav1.TableColumnDefinition (format "" and priority 0 when unset). */
json_t *printer_columns(const kind_desc *d);

/* The cells for one object of kind d (obj borrowed, in d's JSON shape), as a new array with
 * as many entries as printer_columns(d). now_ns is the wall clock used for ages. */
json_t *printer_cells(const kind_desc *d, json_t *obj, int64_t now_ns);

/* The row conditions kube attaches (pods that Succeeded or Failed get a "Completed"
 * condition), as a new array, or NULL when the row has none (omit the field then). */
json_t *printer_row_conditions(const kind_desc *d, json_t *obj);

/* k8s: duration.HumanDuration — "5s", "3m2s", "10m", "5h30m", "2d3h", "400d", "3y20d";
 * "0s" for -2s < ns < 0 and "<invalid>" below. Writes a NUL-terminated string to out. */
void printer_human_duration(int64_t ns, char out[32]);

#endif
