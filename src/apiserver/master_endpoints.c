/* master_endpoints.c — the API server's own endpoints (kube's EndpointsAdapter with the
 * single-server reconciler): default/kubernetes Endpoints labelled skip-mirror and a
 * `kubernetes` EndpointSlice, both naming the address clients reach this server on (the
 * advertise address when it is an IPv4 address, else the bind address, else the host's
 * first non-loopback IPv4 address) and the port it serves HTTPS on.
 * Not for: endpoints of other services (controllers/endpoints.c, endpointslice.c).
 */
#include "apiserver/master_endpoints.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/apiserver-internal.h"
#include "apiserver/client.h"
#include "base/json.h"
#include "base/util.h"

#define SERVICE_NS   "default"
#define SERVICE_NAME "kubernetes"

static bool is_ipv4(const char *s)
{
	struct in_addr a;
	return s && inet_pton(AF_INET, s, &a) == 1;
}

/* The address into out[64]. */
static void own_address(apiserver *s, char out[64])
{
	const char *adv = s->cfg.advertise, *bind = s->cfg.bind_address;
	if (is_ipv4(adv)) {
		snprintf(out, 64, "%s", adv);
		return;
	}
	if (is_ipv4(bind) && strcmp(bind, "0.0.0.0") != 0) {
		snprintf(out, 64, "%s", bind);
		return;
	}
	snprintf(out, 64, "127.0.0.1");
	uv_interface_address_t *ifs;
	int n;
	if (uv_interface_addresses(&ifs, &n) != 0)
		return;
	for (int i = 0; i < n; i++) {
		if (ifs[i].is_internal || ifs[i].address.address4.sin_family != AF_INET)
			continue;
		inet_ntop(AF_INET, &ifs[i].address.address4.sin_addr, out, 64);
		break;
	}
	uv_free_interface_addresses(ifs, n);
}

static json_t *load(apiserver *s, const kind_desc *d, const char *name)
{
	_cleanup_free_ char *key = kind_storage_key(d, SERVICE_NS, name);
	return load_object(s, key);
}

static void sync_endpoints(apiserver *s, const char *manager, const char *ip, int port)
{
	const kind_desc *d = kind_by_group_resource("", "endpoints");
	json_t *labels = json_pack("{s:s}", "endpointslice.kubernetes.io/skip-mirror", "true");
	json_t *subsets = json_pack("[{s:[{s:s}], s:[{s:s, s:i, s:s}]}]", "addresses", "ip", ip,
	                            "ports", "name", "https", "port", port, "protocol", "TCP");
	json_t *cur = load(s, d, SERVICE_NAME);
	if (cur && json_equal(json_object_get(cur, "subsets"), subsets) &&
	    json_equal(json_path(cur, "metadata.labels"), labels)) {
		json_decref(labels);
		json_decref(subsets);
		json_decref(cur);
		return;
	}
	if (!cur) {
		json_t *obj =
		    json_pack("{s:s, s:s, s:{s:s, s:s, s:o}, s:o}", "apiVersion", "v1", "kind",
		              "Endpoints", "metadata", "name", SERVICE_NAME, "namespace",
		              SERVICE_NS, "labels", labels, "subsets", subsets);
		client_create(s, manager, d, SERVICE_NS, obj, NULL, NULL);
		json_decref(obj);
		return;
	}
	json_object_set_new(json_obj_child(cur, "metadata"), "labels", labels);
	json_object_set_new(cur, "subsets", subsets);
	client_update(s, manager, d, cur, NULL, NULL, NULL);
	json_decref(cur);
}

static void sync_slice(apiserver *s, const char *manager, const char *ip, int port)
{
	const kind_desc *d = kind_by_group_resource("discovery.k8s.io", "endpointslices");
	if (!d)
		return;
	/* Other slices claiming the service are not this server's: they go. */
	_cleanup_free_ char *prefix = kind_storage_key(d, SERVICE_NS, NULL);
	cache_entry *const *es;
	size_t n = cache_range(s->cache, prefix, NULL, &es);
	char **stale = xcalloc(n ? n : 1, sizeof *stale);
	size_t nstale = 0;
	for (size_t i = 0; i < n; i++) {
		const char *name = es[i]->key + strlen(prefix);
		json_t *svc = json_object_get(es[i]->labels, "kubernetes.io/service-name");
		if (str_eq(json_string_value(svc), SERVICE_NAME) && strcmp(name, SERVICE_NAME) != 0)
			stale[nstale++] = xstrdup(name);
	}
	for (size_t i = 0; i < nstale; i++) {
		client_delete(s, manager, d, SERVICE_NS, stale[i], NULL, NULL, NULL);
		free(stale[i]);
	}
	free(stale);
	json_t *labels = json_pack("{s:s}", "kubernetes.io/service-name", SERVICE_NAME);
	json_t *eps = json_pack("[{s:[s], s:{s:b}}]", "addresses", ip, "conditions", "ready", 1);
	json_t *ports =
	    json_pack("[{s:s, s:i, s:s}]", "name", "https", "port", port, "protocol", "TCP");
	json_t *cur = load(s, d, SERVICE_NAME);
	if (cur && str_eq(json_string_value(json_object_get(cur, "addressType")), "IPv4") &&
	    json_equal(json_object_get(cur, "endpoints"), eps) &&
	    json_equal(json_object_get(cur, "ports"), ports) &&
	    json_equal(json_path(cur, "metadata.labels"), labels)) {
		json_decref(labels);
		json_decref(eps);
		json_decref(ports);
		json_decref(cur);
		return;
	}
	if (!cur) {
		json_t *obj =
		    json_pack("{s:s, s:s, s:{s:s, s:s, s:o}, s:s, s:o, s:o}", "apiVersion",
		              "discovery.k8s.io/v1", "kind", "EndpointSlice", "metadata", "name",
		              SERVICE_NAME, "namespace", SERVICE_NS, "labels", labels,
		              "addressType", "IPv4", "endpoints", eps, "ports", ports);
		client_create(s, manager, d, SERVICE_NS, obj, NULL, NULL);
		json_decref(obj);
		return;
	}
	json_object_set_new(json_obj_child(cur, "metadata"), "labels", labels);
	json_object_set_new(cur, "endpoints", eps);
	json_object_set_new(cur, "ports", ports);
	client_update(s, manager, d, cur, NULL, NULL, NULL);
	json_decref(cur);
}

void master_endpoints_reconcile(apiserver *s, const char *manager)
{
	char ip[64];
	own_address(s, ip);
	int port = apiserver_port(s);
	sync_endpoints(s, manager, ip, port);
	sync_slice(s, manager, ip, port);
}
