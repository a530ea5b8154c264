/* netsvc_lb.c — LoadBalancer Services on a node without a cloud (k3s servicelb's idea):
 * status.loadBalancer.ingress[{ip: node address}], so the nftables proxy serves the
 * service port on the node address (it routes status IPs like externalIPs) and clients
 * see an EXTERNAL-IP. On with the service proxy (TIMON_PROXY=nftables).
 * Not for: rules (proxy.c) or load balancer classes of other controllers (left alone).
 */
#include <stdlib.h>
#include <string.h>

#include "apiserver/client.h"
#include "base/json.h"
#include "base/util.h"
#include "controllers/controller-internal.h"
#include "proxy/netsvc.h"

typedef struct lb_state {
	char node_ip[64];
} lb_state;

static int reconcile(controller *c, const char *key)
{
	lb_state *st = c->state;
	if (!st)
		return RECONCILE_DONE;
	_cleanup_free_ char *ns = NULL, *name = NULL;
	controller_split_key(key, &ns, &name);
	if (!ns)
		return RECONCILE_DONE;
	json_t *svc = controller_get(c, controller_kind("", "services"), ns, name);
	if (!svc)
		return RECONCILE_DONE;
	/* k8s: spec.loadBalancerClass hands the service to another controller. */
	if (!str_eq(json_path_str(svc, "spec.type"), "LoadBalancer") ||
	    json_path_str(svc, "spec.loadBalancerClass")) {
		json_decref(svc);
		return RECONCILE_DONE;
	}
	json_t *want = json_pack("[{s:s}]", "ip", st->node_ip);
	if (json_equal(json_path(svc, "status.loadBalancer.ingress"), want)) {
		json_decref(want);
		json_decref(svc);
		return RECONCILE_DONE;
	}
	json_t *patch = json_pack("{s:{s:{s:o}}}", "status", "loadBalancer", "ingress", want);
	client_patch(c->srv, c->def->name, controller_kind("", "services"), ns, name, "status",
	             NULL, patch, NULL, NULL);
	json_decref(patch);
	json_decref(svc);
	return RECONCILE_DONE;
}

static void start(controller *c)
{
	if (!str_eq(netsvc_env("TIMON_PROXY"), "nftables"))
		return;
	lb_state *st = xcalloc(1, sizeof *st);
	netsvc_node_ip(st->node_ip);
	c->state = st;
}

static void stop(controller *c)
{
	free(c->state);
	c->state = NULL;
}

static const controller_def lb_controller = {
    .name = "timon-servicelb",
    .watches = {{.group = "", .resource = "services"}},
    .reconcile = reconcile,
    .start = start,
    .stop = stop,
};
CONTROLLER_REGISTER(lb_controller)
