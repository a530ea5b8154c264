/* dns_service.c — publishes timon's DNS server as the cluster DNS service: the
 * kube-system/kube-dns Service (no selector) on the fixed cluster IP (10.43.0.10 unless
 * --cluster-dns says otherwise) and an EndpointSlice that points at the address and port
 * the server actually listens on. The service proxy then DNATs 10.43.0.10:53 there, for
 * pods and for the node itself (docs/dns.md says why this and not a local address).
 * Not for: answering queries (dns_server.c).
 */
#include <stdio.h>
#include <string.h>

#include "apiserver/client.h"
#include "base/json.h"
#include "base/log.h"
#include "base/util.h"
#include "controllers/controller-internal.h"
#include "proxy/dns-internal.h"
#include "proxy/netsvc.h"

#define NS         "kube-system"
#define NAME       "kube-dns"
#define SLICE_NAME "kube-dns-timon"

static void on_written(void *ud, int code, json_t *obj)
{
	if (code >= 300 && code != 409)
		log_warn("dns: writing %s: %s", (const char *)ud,
		         json_string_value(json_object_get(obj, "message")) ?: "failed");
}

void dns_service_publish(controller *c, const char *listen_ip, int port)
{
	const char *cip = netsvc_env("TIMON_CLUSTER_DNS");
	if (!cip || !*cip)
		cip = NETSVC_CLUSTER_DNS_DEFAULT;
	char ip[64];
	if (!listen_ip || !*listen_ip || strcmp(listen_ip, "0.0.0.0") == 0)
		netsvc_node_ip(ip);
	else
		snprintf(ip, sizeof ip, "%s", listen_ip);
	char node[256];
	netsvc_node_name(node);
	json_t *svc = controller_get(c, controller_kind("", "services"), NS, NAME);
	if (svc) {
		if (!str_eq(json_path_str(svc, "spec.clusterIP"), cip))
			log_warn("dns: " NS "/" NAME
			         " exists with cluster IP %s, not %s; left as it is",
			         json_path_str(svc, "spec.clusterIP") ?: "none", cip);
		json_decref(svc);
	} else {
		/* k8s: kubeadm's and k3s's kube-dns Service: these names and ports. */
		svc = json_pack(
		    "{s:s, s:s, s:{s:s, s:s, s:{s:s, s:s}}, s:{s:s, s:[{s:s, s:i, s:s, s:i}, "
		    "{s:s, s:i, s:s, s:i}, {s:s, s:i, s:s, s:i}]}}",
		    "apiVersion", "v1", "kind", "Service", "metadata", "name", NAME, "namespace",
		    NS, "labels", "k8s-app", "kube-dns", "kubernetes.io/name", "timon-dns", "spec",
		    "clusterIP", cip, "ports", "name", "dns", "port", 53, "protocol", "UDP",
		    "targetPort", 53, "name", "dns-tcp", "port", 53, "protocol", "TCP",
		    "targetPort", 53, "name", "metrics", "port", 9153, "protocol", "TCP",
		    "targetPort", 9153);
		client_create(c->srv, c->def->name, controller_kind("", "services"), NS, svc,
		              on_written, "service " NS "/" NAME);
		json_decref(svc);
	}
	json_t *slice =
	    json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s, s:s}}, s:s, s:[{s:[s], s:{s:b}, s:s}], "
	              "s:[{s:s, s:i, s:s}, {s:s, s:i, s:s}]}",
	              "apiVersion", "discovery.k8s.io/v1", "kind", "EndpointSlice", "metadata",
	              "name", SLICE_NAME, "namespace", NS, "labels", "kubernetes.io/service-name",
	              NAME, "endpointslice.kubernetes.io/managed-by", "timon-dns", "addressType",
	              "IPv4", "endpoints", "addresses", ip, "conditions", "ready", 1, "nodeName",
	              node, "ports", "name", "dns", "port", port, "protocol", "UDP", "name",
	              "dns-tcp", "port", port, "protocol", "TCP");
	if (!slice) {
		log_error("dns: cannot build the kube-dns EndpointSlice");
		return;
	}
	const kind_desc *sd = controller_kind("discovery.k8s.io", "endpointslices");
	json_t *cur = controller_get(c, sd, NS, SLICE_NAME);
	if (!cur) {
		client_create(c->srv, c->def->name, sd, NS, slice, on_written,
		              "endpointslice " NS "/" SLICE_NAME);
	} else {
		json_object_set(slice, "metadata", json_object_get(cur, "metadata"));
		json_object_set_new(json_obj_child(slice, "metadata"), "labels",
		                    json_pack("{s:s, s:s}", "kubernetes.io/service-name", NAME,
		                              "endpointslice.kubernetes.io/managed-by",
		                              "timon-dns"));
		client_update(c->srv, c->def->name, sd, slice, NULL, on_written,
		              "endpointslice " NS "/" SLICE_NAME);
		json_decref(cur);
	}
	json_decref(slice);
	log_info("dns: cluster DNS service " NS "/" NAME " at %s:53 -> %s:%d", cip, ip, port);
}
