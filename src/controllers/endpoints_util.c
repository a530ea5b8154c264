/* endpoints_util.c — pod and service facts the Endpoints and EndpointSlice controllers
 * share (kube's endpointslice util package): managed services, port resolution, pod
 * addresses and inclusion, and which services a pod event concerns.
 * Not for: building Endpoints (endpoints.c) or slices (endpointslice.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/selector.h"
#include "base/json.h"
#include "base/util.h"
#include "controllers/endpoints-internal.h"

typedef struct ep_selector {
	char *key;
	int64_t rev;
	json_t *selector; /* spec.selector, or NULL when the service is not managed */
} ep_selector;

bool ep_service_managed(json_t *svc)
{
	/* k8s: ExternalName services get no endpoints; a service without a selector gets
	 * the ones its owner writes (an empty selector is stored as none). */
	if (str_eq(json_path_str(svc, "spec.type"), "ExternalName"))
		return false;
	return json_object_size(json_path(svc, "spec.selector")) > 0;
}

static int named_port(json_t *containers, const char *name, const char *proto, bool sidecars)
{
	size_t i, j;
	json_t *c, *p;
	json_array_foreach(containers, i, c)
	{
		if (sidecars &&
		    !str_eq(json_string_value(json_object_get(c, "restartPolicy")), "Always"))
			continue;
		json_array_foreach(json_object_get(c, "ports"), j, p)
		{
			const char *pp = json_string_value(json_object_get(p, "protocol"));
			if (str_eq(json_string_value(json_object_get(p, "name")), name) &&
			    str_eq(pp ? pp : "TCP", proto))
				return (int)json_integer_value(json_object_get(p, "containerPort"));
		}
	}
	return -1;
}

int ep_find_port(json_t *pod, json_t *svc_port)
{
	json_t *tp = json_object_get(svc_port, "targetPort");
	if (!tp)
		tp = json_object_get(svc_port, "port");
	if (json_is_integer(tp))
		return (int)json_integer_value(tp);
	const char *name = json_string_value(tp);
	if (!name)
		return -1;
	const char *proto = json_string_value(json_object_get(svc_port, "protocol"));
	if (!proto)
		proto = "TCP";
	json_t *spec = json_object_get(pod, "spec");
	int port = named_port(json_object_get(spec, "containers"), name, proto, false);
	if (port < 0)
		port = named_port(json_object_get(spec, "initContainers"), name, proto, true);
	return port;
}

const char *ep_pod_ipv4(json_t *pod)
{
	size_t i;
	json_t *ip;
	json_array_foreach(json_path(pod, "status.podIPs"), i, ip)
	{
		const char *s = json_string_value(json_object_get(ip, "ip"));
		if (s && *s && !strchr(s, ':'))
			return s;
	}
	const char *s = json_path_str(pod, "status.podIP");
	return s && *s && !strchr(s, ':') ? s : NULL;
}

bool ep_pod_included(json_t *pod, bool include_terminating)
{
	const char *phase = json_path_str(pod, "status.phase");
	if (str_eq(phase, "Succeeded") || str_eq(phase, "Failed"))
		return false;
	const char *ip = json_path_str(pod, "status.podIP");
	if ((!ip || !*ip) && !json_array_size(json_path(pod, "status.podIPs")))
		return false;
	return include_terminating || !json_path(pod, "metadata.deletionTimestamp");
}

bool ep_should_set_hostname(json_t *pod, json_t *svc)
{
	const char *host = json_path_str(pod, "spec.hostname");
	return host && *host &&
	       str_eq(json_path_str(pod, "spec.subdomain"), json_path_str(svc, "metadata.name")) &&
	       str_eq(json_path_str(pod, "metadata.namespace"),
	              json_path_str(svc, "metadata.namespace"));
}

static json_t *ready_condition(json_t *pod)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_path(pod, "status.conditions"), i, c)
	{
		if (str_eq(json_string_value(json_object_get(c, "type")), "Ready"))
			return c;
	}
	return NULL;
}

bool ep_pod_ready(json_t *pod)
{
	json_t *c = ready_condition(pod);
	return c && str_eq(json_string_value(json_object_get(c, "status")), "True");
}

size_t ep_service_pods(controller *c, json_t *svc, json_t ***out)
{
	const kind_desc *pk = controller_kind("", "pods");
	json_t *sel = json_path(svc, "spec.selector");
	_cleanup_free_ char *prefix =
	    kind_storage_key(pk, json_path_str(svc, "metadata.namespace"), NULL);
	cache_entry *const *es;
	size_t n = cache_range(c->cache, prefix, NULL, &es), k = 0;
	json_t **pods = xcalloc(n ? n : 1, sizeof *pods);
	for (size_t i = 0; i < n; i++) {
		/* Match on the cached labels first: only selected pods are parsed. */
		if (!labels_match_map(sel, es[i]->labels))
			continue;
		json_t *o = json_loadb(es[i]->value->data, es[i]->value->len, 0, NULL);
		if (o)
			pods[k++] = o;
	}
	*out = pods;
	return k;
}

static ep_selector *selector_for(ep_selectors *sels, const cache_entry *e)
{
	ep_selector *s = hmap_get(&sels->by_key, e->key);
	if (s && s->rev == e->rev)
		return s;
	if (!s) {
		s = xcalloc(1, sizeof *s);
		s->key = xstrdup(e->key);
		hmap_put(&sels->by_key, s->key, s);
	}
	json_decref(s->selector);
	s->selector = NULL;
	s->rev = e->rev;
	json_t *svc = json_loadb(e->value->data, e->value->len, 0, NULL);
	if (svc && ep_service_managed(svc))
		s->selector = json_incref(json_path(svc, "spec.selector"));
	json_decref(svc);
	return s;
}

void ep_enqueue_pod_services(controller *c, ep_selectors *sels, const cache_event *ev)
{
	const kind_desc *pk = controller_kind("", "pods");
	const kind_desc *sk = controller_kind("", "services");
	_cleanup_free_ char *pods_prefix = kind_storage_key(pk, NULL, NULL);
	size_t plen = strlen(pods_prefix);
	if (strncmp(ev->key, pods_prefix, plen) != 0)
		return;
	const char *slash = strchr(ev->key + plen, '/');
	if (!slash)
		return;
	_cleanup_free_ char *ns = xstrndup(ev->key + plen, (size_t)(slash - (ev->key + plen)));
	_cleanup_free_ char *prefix = kind_storage_key(sk, ns, NULL);
	size_t slen = strlen(prefix);
	cache_entry *const *es;
	size_t n = cache_range(c->cache, prefix, NULL, &es);
	for (size_t i = 0; i < n; i++) {
		ep_selector *s = selector_for(sels, es[i]);
		if (!s->selector)
			continue;
		bool now = labels_match_map(s->selector, ev->labels);
		bool before = ev->prev_value && labels_match_map(s->selector, ev->prev_labels);
		if (now || before) {
			char *key = xasprintf("%s/%s", ns, es[i]->key + slen);
			controller_enqueue(c, key);
			free(key);
		}
	}
}

void ep_selectors_forget(ep_selectors *sels, const cache_event *ev)
{
	if (ev->type != STORE_DELETED)
		return;
	ep_selector *s = hmap_del(&sels->by_key, ev->key);
	if (!s)
		return;
	json_decref(s->selector);
	free(s->key);
	free(s);
}

void ep_selectors_free(ep_selectors *sels)
{
	if (!sels)
		return;
	size_t it = 0;
	const char *k;
	void *v;
	while (hmap_next(&sels->by_key, &it, &k, &v)) {
		ep_selector *s = v;
		json_decref(s->selector);
		free(s->key);
		free(s);
	}
	hmap_free(&sels->by_key);
}

static void consider(const char *ts, int64_t *best, const char **best_s)
{
	int64_t t;
	if (ts && time_parse_rfc3339(ts, &t) == 0 && (!*best_s || t > *best)) {
		*best = t;
		*best_s = ts;
	}
}

void ep_trigger_time(json_t *svc, json_t **pods, size_t n, char out[40])
{
	int64_t best = 0;
	const char *best_s = NULL;
	consider(json_path_str(svc, "metadata.creationTimestamp"), &best, &best_s);
	for (size_t i = 0; i < n; i++) {
		json_t *c = ready_condition(pods[i]);
		const char *t =
		    c ? json_string_value(json_object_get(c, "lastTransitionTime")) : NULL;
		consider(t ? t : json_path_str(pods[i], "metadata.creationTimestamp"), &best,
		         &best_s);
	}
	out[0] = 0;
	if (best_s)
		snprintf(out, 40, "%s", best_s);
}
