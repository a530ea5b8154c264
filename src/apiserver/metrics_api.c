/* metrics_api.c — the resource metrics API (metrics.k8s.io/v1beta1, what metrics-server
 * serves and `kubectl top` reads) and the node's Prometheus resource metrics, answered
 * from the agent's sampler (agent/metrics.h) for the pods bound to this node.
 *
 * PodMetrics and NodeMetrics are registered as kinds while a sampler is attached, so
 * routing, discovery (legacy and aggregated) and authorization treat them like any other
 * resource; dispatch hands their get and list here instead of to the store.
 * Not for: sampling (agent/metrics.c). See docs/metrics.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/metrics.h"
#include "apiserver/apiserver-internal.h"
#include "base/json.h"
#include "base/log.h"
#include "base/util.h"

#define GROUP "metrics.k8s.io"
#define VERSION "v1beta1"
#define API_VERSION GROUP "/" VERSION
#define MAX_CONTAINERS_PER_POD 64

static const kind_desc metric_kinds[] = {
	{.group = GROUP, .version = VERSION, .kind = "PodMetrics", .resource = "pods",
	 .singular = "", .namespaced = true, .verbs = "get,list",
	 .schema = "io.k8s.metrics.pkg.apis.metrics.v1beta1.PodMetrics"},
	{.group = GROUP, .version = VERSION, .kind = "NodeMetrics", .resource = "nodes",
	 .singular = "", .namespaced = false, .verbs = "get,list",
	 .schema = "io.k8s.metrics.pkg.apis.metrics.v1beta1.NodeMetrics"},
};

void apiserver_set_metrics(apiserver *s, struct metrics_sampler *m, const char *node_name)
{
	bool had = s->metrics != NULL;
	s->metrics = m;
	free(s->metrics_node);
	s->metrics_node = m ? xstrdup(node_name) : NULL;
	if (m && !had) {
		for (size_t i = 0; i < ARRAY_SIZE(metric_kinds); i++)
			kind_register_custom(&metric_kinds[i]);
	} else if (!m && had) {
		for (size_t i = 0; i < ARRAY_SIZE(metric_kinds); i++)
			kind_unregister_custom(GROUP, metric_kinds[i].resource);
	}
}

/* ---------- formatting ---------- */

/* k8s: memory as a binary-SI quantity, the largest suffix that divides it exactly. */
static char *mem_quantity(int64_t bytes)
{
	static const char *const sfx[] = {"", "Ki", "Mi", "Gi", "Ti"};
	int i = 0;
	while (i < 4 && bytes != 0 && bytes % 1024 == 0) {
		bytes /= 1024;
		i++;
	}
	return xasprintf("%lld%s", (long long)bytes, sfx[i]);
}

static json_t *usage_json(const metrics_usage *u)
{
	char cpu[32];
	snprintf(cpu, sizeof cpu, "%lldn", (long long)(u->cpu_nanocores > 0 ? u->cpu_nanocores : 0));
	_cleanup_free_ char *mem = mem_quantity(u->memory_ws);
	return json_pack("{s:s, s:s}", "cpu", cpu, "memory", mem);
}

/* A Go duration string as metav1.Duration prints it: "10.004s". */
static void window_str(int64_t ns, char out[32])
{
	snprintf(out, 32, "%.3f", (double)ns / 1e9);
	size_t n = strlen(out);
	while (n > 1 && out[n - 1] == '0')
		out[--n] = 0;
	if (out[n - 1] == '.')
		out[--n] = 0;
	strcat(out, "s");
}

static json_t *meta(json_t *src_meta)
{
	char now[32];
	time_rfc3339(time_now_ns(), false, now);
	json_t *m = json_pack("{s:O?, s:s}", "name", json_object_get(src_meta, "name"),
	                      "creationTimestamp", now);
	json_t *ns = json_object_get(src_meta, "namespace");
	if (ns)
		json_object_set(m, "namespace", ns);
	json_t *labels = json_object_get(src_meta, "labels");
	if (labels)
		json_object_set(m, "labels", labels);
	return m;
}

static json_t *stamped(const char *kind, json_t *metadata, const metrics_usage *u)
{
	char ts[32], win[32];
	time_rfc3339(u->time_ns, false, ts);
	window_str(u->window_ns, win);
	return json_pack("{s:s, s:s, s:o, s:s, s:s}", "kind", kind, "apiVersion", API_VERSION,
	                 "metadata", metadata, "timestamp", ts, "window", win);
}

/* The PodMetrics of pod (borrowed), or NULL when none of its containers has a rate yet.
 * Containers without a rate (seen in one sample only) are left out until the next. */
static json_t *pod_metrics(apiserver *s, json_t *pod)
{
	if (!str_eq(json_path_str(pod, "spec.nodeName"), s->metrics_node))
		return NULL;
	const char *uid = json_path_str(pod, "metadata.uid");
	if (!uid)
		return NULL;
	const metrics_container *c[MAX_CONTAINERS_PER_POD];
	size_t n = metrics_sampler_pod(s->metrics, uid, c, MAX_CONTAINERS_PER_POD);
	json_t *containers = json_array();
	metrics_usage newest = {0};
	for (size_t i = 0; i < n; i++) {
		if (c[i]->u.cpu_nanocores < 0)
			continue;
		json_array_append_new(containers, json_pack("{s:s, s:o}", "name", c[i]->name, "usage",
		                                            usage_json(&c[i]->u)));
		if (c[i]->u.time_ns > newest.time_ns)
			newest = c[i]->u;
	}
	if (!json_array_size(containers)) {
		json_decref(containers);
		return NULL;
	}
	json_t *pm = stamped("PodMetrics", meta(json_object_get(pod, "metadata")), &newest);
	json_object_set_new(pm, "containers", containers);
	return pm;
}

static json_t *node_metrics(apiserver *s)
{
	const metrics_usage *u = metrics_sampler_node(s->metrics);
	if (u->cpu_nanocores < 0)
		return NULL;
	const kind_desc *nd = kind_by_resource("", "v1", "nodes");
	_cleanup_free_ char *key = kind_storage_key(nd, NULL, s->metrics_node);
	const cache_entry *e = cache_get(s->cache, key);
	_cleanup_json_ json_t *node = e ? json_loadb(e->value->data, e->value->len, 0, NULL) : NULL;
	_cleanup_json_ json_t *m = node ? json_incref(json_object_get(node, "metadata"))
	                                : json_pack("{s:s}", "name", s->metrics_node);
	json_t *nm = stamped("NodeMetrics", meta(m), u);
	json_object_set_new(nm, "usage", usage_json(u));
	return nm;
}

/* ---------- get and list ---------- */

static void not_found(api_req *r)
{
	terr *err = NULL;
	terr_not_found(&err, "%s \"%s\" not found", r->kind->resource, r->name);
	api_send_error(r, err);
}

static void send_list(api_req *r, const char *kind, json_t *items)
{
	_cleanup_json_ json_t *list = json_pack("{s:s, s:s, s:{}, s:o}", "kind", kind, "apiVersion",
	                                        API_VERSION, "metadata", "items", items);
	api_send_object(r, 200, list);
}

static void handle_nodes(api_req *r, const list_opts *o)
{
	apiserver *s = r->srv;
	_cleanup_json_ json_t *nm = node_metrics(s);
	if (r->name) {
		if (!nm || !str_eq(r->name, s->metrics_node))
			return not_found(r);
		api_send_object(r, 200, nm);
		return;
	}
	json_t *items = json_array();
	const kind_desc *nd = kind_by_resource("", "v1", "nodes");
	_cleanup_free_ char *key = kind_storage_key(nd, NULL, s->metrics_node);
	const cache_entry *e = cache_get(s->cache, key);
	bool match = e ? list_matches(o, e, NULL) : (!o->labels && !o->fields);
	if (nm && match)
		json_array_append(items, nm);
	send_list(r, "NodeMetricsList", items);
}

static void handle_pods(api_req *r, const list_opts *o)
{
	apiserver *s = r->srv;
	const kind_desc *pd = kind_by_resource("", "v1", "pods");
	if (r->name) {
		_cleanup_free_ char *key = kind_storage_key(pd, r->ns, r->name);
		const cache_entry *e = cache_get(s->cache, key);
		_cleanup_json_ json_t *pod = e ? json_loadb(e->value->data, e->value->len, 0, NULL) : NULL;
		_cleanup_json_ json_t *pm = pod ? pod_metrics(s, pod) : NULL;
		if (!pm)
			return not_found(r);
		api_send_object(r, 200, pm);
		return;
	}
	_cleanup_free_ char *prefix = kind_storage_key(pd, r->ns, NULL);
	cache_entry *const *es;
	size_t n = cache_range(s->cache, prefix, NULL, &es);
	json_t *items = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *pod = NULL;
		if (!list_matches(o, es[i], &pod))
			continue;
		if (!pod)
			pod = json_loadb(es[i]->value->data, es[i]->value->len, 0, NULL);
		json_t *pm = pod ? pod_metrics(s, pod) : NULL;
		if (pm)
			json_array_append_new(items, pm);
		json_decref(pod);
	}
	send_list(r, "PodMetricsList", items);
}

void metrics_api_handle(api_req *r)
{
	terr *err = NULL;
	if (!r->srv->metrics) {
		terr_set(&err, 503, "ServiceUnavailable", "the metrics API is not available");
		api_send_error(r, err);
		return;
	}
	list_opts o = {0};
	if (list_parse_opts(r, &o, &err) < 0) {
		list_opts_free(&o);
		api_send_error(r, err);
		return;
	}
	/* Tables are not offered: kubectl top asks for JSON, `kubectl get` falls back. */
	r->want_table = false;
	if (str_eq(r->kind->kind, "NodeMetrics"))
		handle_nodes(r, &o);
	else
		handle_pods(r, &o);
	list_opts_free(&o);
}

/* ---------- Prometheus text ---------- */

static void prom_header(buf *b, const char *name, const char *type, const char *help)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* k8s: the kubelet's /metrics/resource families and labels. Label values are object names
 * (DNS labels), so they need no escaping. */
static char *prometheus_text(apiserver *s)
{
	buf b = {0};
	const metrics_usage *nu = metrics_sampler_node(s->metrics);
	long long ms = (long long)(nu->time_ns / 1000000);
	prom_header(&b, "node_cpu_usage_seconds_total", "counter",
	            "[STABLE] Cumulative cpu time consumed by the node in core-seconds");
	buf_printf(&b, "node_cpu_usage_seconds_total %.9f %lld\n", (double)nu->cpu_total_ns / 1e9, ms);
	prom_header(&b, "node_memory_working_set_bytes", "gauge",
	            "[STABLE] Current working set of the node in bytes");
	buf_printf(&b, "node_memory_working_set_bytes %lld %lld\n", (long long)nu->memory_ws, ms);
	buf cpu = {0}, mem = {0}, pcpu = {0}, pmem = {0};
	const kind_desc *pd = kind_by_resource("", "v1", "pods");
	_cleanup_free_ char *prefix = kind_storage_key(pd, NULL, NULL);
	cache_entry *const *es;
	size_t n = cache_range(s->cache, prefix, NULL, &es);
	for (size_t i = 0; i < n; i++) {
		_cleanup_json_ json_t *pod = json_loadb(es[i]->value->data, es[i]->value->len, 0, NULL);
		const char *uid = json_path_str(pod, "metadata.uid");
		if (!uid || !str_eq(json_path_str(pod, "spec.nodeName"), s->metrics_node))
			continue;
		const char *ns = json_path_str(pod, "metadata.namespace");
		const char *name = json_path_str(pod, "metadata.name");
		const metrics_container *c[MAX_CONTAINERS_PER_POD];
		size_t k = metrics_sampler_pod(s->metrics, uid, c, MAX_CONTAINERS_PER_POD);
		int64_t tcpu = 0, tmem = 0, t = 0;
		for (size_t j = 0; j < k; j++) {
			long long cms = (long long)(c[j]->u.time_ns / 1000000);
			buf_printf(&cpu, "container_cpu_usage_seconds_total{container=\"%s\",namespace=\"%s\",pod=\"%s\"} %.9f %lld\n",
			           c[j]->name, ns, name, (double)c[j]->u.cpu_total_ns / 1e9, cms);
			buf_printf(&mem, "container_memory_working_set_bytes{container=\"%s\",namespace=\"%s\",pod=\"%s\"} %lld %lld\n",
			           c[j]->name, ns, name, (long long)c[j]->u.memory_ws, cms);
			tcpu += c[j]->u.cpu_total_ns;
			tmem += c[j]->u.memory_ws;
			t = c[j]->u.time_ns;
		}
		if (k) {
			buf_printf(&pcpu, "pod_cpu_usage_seconds_total{namespace=\"%s\",pod=\"%s\"} %.9f %lld\n", ns,
			           name, (double)tcpu / 1e9, (long long)(t / 1000000));
			buf_printf(&pmem, "pod_memory_working_set_bytes{namespace=\"%s\",pod=\"%s\"} %lld %lld\n", ns,
			           name, (long long)tmem, (long long)(t / 1000000));
		}
	}
	prom_header(&b, "container_cpu_usage_seconds_total", "counter",
	            "[STABLE] Cumulative cpu time consumed by the container in core-seconds");
	buf_add(&b, cpu.p ? cpu.p : "", cpu.n);
	prom_header(&b, "container_memory_working_set_bytes", "gauge",
	            "[STABLE] Current working set of the container in bytes");
	buf_add(&b, mem.p ? mem.p : "", mem.n);
	prom_header(&b, "pod_cpu_usage_seconds_total", "counter",
	            "[STABLE] Cumulative cpu time consumed by the pod in core-seconds");
	buf_add(&b, pcpu.p ? pcpu.p : "", pcpu.n);
	prom_header(&b, "pod_memory_working_set_bytes", "gauge",
	            "[STABLE] Current working set of the pod in bytes");
	buf_add(&b, pmem.p ? pmem.p : "", pmem.n);
	prom_header(&b, "scrape_error", "gauge",
	            "[ALPHA] 1 if there was an error while getting container metrics, 0 otherwise");
	buf_puts(&b, "scrape_error 0\n");
	buf_free(&cpu);
	buf_free(&mem);
	buf_free(&pcpu);
	buf_free(&pmem);
	return buf_take(&b);
}

bool metrics_api_raw(apiserver *s, http_req *h)
{
	if (!s->metrics || !str_has_prefix(h->path, "/api/v1/nodes/"))
		return false;
	const char *name = h->path + strlen("/api/v1/nodes/");
	size_t nl = strlen(s->metrics_node);
	if (strncmp(name, s->metrics_node, nl) != 0 || !str_eq(name + nl, "/proxy/metrics/resource"))
		return false;
	api_req *r = xcalloc(1, sizeof *r);
	r->http = h;
	r->srv = s;
	r->kind = kind_by_resource("", "v1", "nodes");
	r->name = xstrdup(s->metrics_node);
	r->sub = xstrdup("proxy");
	terr *err = NULL;
	/* k8s: the kubelet's endpoints behind nodes/proxy need get on nodes/proxy. */
	if (!str_eq(h->method, "GET")) {
		terr_set(&err, 405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
		api_send_error(r, err);
		return true;
	}
	if (!authz_allowed(r, "get")) {
		terr_set(&err, 403, "Forbidden", "nodes \"%s\" is forbidden: User \"%s\" cannot get resource \"nodes/proxy\"",
		         s->metrics_node, h->user ? h->user : "system:anonymous");
		api_send_error(r, err);
		return true;
	}
	_cleanup_free_ char *text = prometheus_text(s);
	http_respond(h, 200, "text/plain; version=0.0.4; charset=utf-8", text, strlen(text), NULL);
	r->http = NULL;
	api_req_free(r);
	return true;
}
