/* ingress_metrics.c — per-route request counters and latency histograms of the ingress
 * proxy, in the Prometheus text format (served on the metrics port at /metrics). Names
 * follow ingress-nginx's where they mean the same thing, with timon's prefix:
 *   timon_ingress_requests_total{namespace,ingress,host,path,service,status}
 *   timon_ingress_request_duration_seconds{...} (histogram: time to the last byte)
 * A request no rule matched counts under ingress="" (answered 404 here).
 * Not for: anything but counting; loop thread only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/hmap.h"
#include "base/util.h"
#include "proxy/ingress.h"

static const double bounds[INGRESS_NBUCKETS - 1] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                    0.5,   1,    2.5,   5,    10};
static hmap series;
static char **order; /* label strings in creation order, for a stable exposition */
static size_t norder;

/* Label values escaped as the exposition format asks (\\, \", \n). */
static void esc(buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			buf_putc(b, '\\');
		if (*s == '\n') {
			buf_puts(b, "\\n");
			continue;
		}
		buf_putc(b, *s);
	}
}

ingress_metric *ingress_metric_get(const char *ns, const char *ing, const char *host,
                                   const char *path, const char *svc)
{
	buf b = {0};
	buf_puts(&b, "namespace=\"");
	esc(&b, ns);
	buf_puts(&b, "\",ingress=\"");
	esc(&b, ing);
	buf_puts(&b, "\",host=\"");
	esc(&b, host);
	buf_puts(&b, "\",path=\"");
	esc(&b, path);
	buf_puts(&b, "\",service=\"");
	esc(&b, svc);
	buf_putc(&b, '"');
	ingress_metric *m = hmap_get(&series, b.p);
	if (m) {
		buf_free(&b);
		return m;
	}
	m = xcalloc(1, sizeof *m);
	m->labels = buf_take(&b);
	hmap_put(&series, m->labels, m);
	order = xrealloc(order, (norder + 1) * sizeof *order);
	order[norder++] = m->labels;
	return m;
}

void ingress_metric_observe(ingress_metric *m, int status, double seconds)
{
	if (!m)
		return;
	if (status < 100 || status >= 600)
		status = 0;
	m->code_count[status]++;
	m->count++;
	m->sum += seconds;
	size_t i = 0;
	while (i < INGRESS_NBUCKETS - 1 && seconds > bounds[i])
		i++;
	m->buckets[i]++;
}

char *ingress_metrics_text(void)
{
	buf b = {0};
	buf_puts(&b, "# HELP timon_ingress_requests_total Requests through the ingress proxy by "
	             "route and status code.\n# TYPE timon_ingress_requests_total counter\n");
	for (size_t i = 0; i < norder; i++) {
		ingress_metric *m = hmap_get(&series, order[i]);
		for (int c = 0; c < 600; c++)
			if (m->code_count[c])
				buf_printf(&b,
				           "timon_ingress_requests_total{%s,status=\"%d\"} %llu\n",
				           m->labels, c, (unsigned long long)m->code_count[c]);
	}
	buf_puts(&b, "# HELP timon_ingress_request_duration_seconds Time from the request's "
	             "first byte to the response's last.\n"
	             "# TYPE timon_ingress_request_duration_seconds histogram\n");
	for (size_t i = 0; i < norder; i++) {
		ingress_metric *m = hmap_get(&series, order[i]);
		if (!m->count)
			continue;
		uint64_t cum = 0;
		for (size_t k = 0; k < INGRESS_NBUCKETS; k++) {
			cum += m->buckets[k];
			if (k < INGRESS_NBUCKETS - 1)
				buf_printf(
				    &b,
				    "timon_ingress_request_duration_seconds_bucket{%s,le=\"%g\"} "
				    "%llu\n",
				    m->labels, bounds[k], (unsigned long long)cum);
			else
				buf_printf(
				    &b,
				    "timon_ingress_request_duration_seconds_bucket{%s,le=\"+Inf\"} "
				    "%llu\n",
				    m->labels, (unsigned long long)cum);
		}
		buf_printf(&b, "timon_ingress_request_duration_seconds_sum{%s} %.6f\n", m->labels,
		           m->sum);
		buf_printf(&b, "timon_ingress_request_duration_seconds_count{%s} %llu\n", m->labels,
		           (unsigned long long)m->count);
	}
	return buf_take(&b);
}
