/* ingress_controller.c — the ingress controller inside `timon server`: creates the
 * IngressClass `timon` (the default class), follows Ingresses, Services, EndpointSlices
 * and Secrets through the watch cache, rebuilds the proxy's route table on any change (one
 * key, "all", so a burst of events is one rebuild), and writes
 * status.loadBalancer.ingress[{ip: node address}] on the Ingresses it serves (and takes
 * it back from those it stops serving).
 *
 * On when TIMON_INGRESS=on (netsvc: --enable-ingress, or the node agent's default).
 * Ports: TIMON_INGRESS_HTTP_PORT (80), TIMON_INGRESS_HTTPS_PORT (443),
 * TIMON_INGRESS_METRICS_PORT (10254; /metrics), "off" for none; TIMON_INGRESS_ADDR
 * (0.0.0.0); TIMON_INGRESS_BACKEND_TIMEOUT_MS (60000).
 * Not for: the data path (ingress_proxy.c, ingress_upstream.c) or matching.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/client.h"
#include "base/json.h"
#include "base/log.h"
#include "base/util.h"
#include "controllers/controller-internal.h"
#include "proxy/ingress.h"
#include "proxy/netsvc.h"

#define ALL_KEY       "all"
#define DEFAULT_CLASS "ingressclass.kubernetes.io/is-default-class"

typedef struct ing_state {
	ingress_proxy *px;
	char node_ip[64];
} ing_state;

static void on_any(controller *c, const kind_desc *d, const cache_event *ev)
{
	UNUSED(d);
	UNUSED(ev);
	if (c->state)
		controller_enqueue(c, ALL_KEY);
}

/* k8s: an Ingress belongs to the class its spec.ingressClassName names (or the
 * deprecated kubernetes.io/ingress.class annotation); one naming none goes to the
 * default class. */
static bool ours(json_t *ing, bool timon_is_default)
{
	const char *cls = json_path_str(ing, "spec.ingressClassName");
	if (!cls)
		cls = json_string_value(json_object_get(json_path(ing, "metadata.annotations"),
		                                        "kubernetes.io/ingress.class"));
	return cls ? strcmp(cls, INGRESS_CLASS) == 0 : timon_is_default;
}

static void write_status(controller *c, ing_state *st, json_t *ing)
{
	json_t *want = json_pack("[{s:s}]", "ip", st->node_ip);
	if (json_equal(json_path(ing, "status.loadBalancer.ingress"), want)) {
		json_decref(want);
		return;
	}
	json_t *patch = json_pack("{s:{s:{s:o}}}", "status", "loadBalancer", "ingress", want);
	client_patch(c->srv, c->def->name, controller_kind("networking.k8s.io", "ingresses"),
	             json_path_str(ing, "metadata.namespace"), json_path_str(ing, "metadata.name"),
	             "status", NULL, patch, NULL, NULL);
	json_decref(patch);
}

/* k8s: an Ingress that is no longer ours (its class changed) loses the address we wrote,
 * as ingress-nginx does; an address someone else wrote is left alone. */
static void clear_status(controller *c, ing_state *st, json_t *ing)
{
	json_t *want = json_pack("[{s:s}]", "ip", st->node_ip);
	bool mine = json_equal(json_path(ing, "status.loadBalancer.ingress"), want);
	json_decref(want);
	if (!mine)
		return;
	json_t *patch = json_pack("{s:{s:{s:n}}}", "status", "loadBalancer", "ingress");
	client_patch(c->srv, c->def->name, controller_kind("networking.k8s.io", "ingresses"),
	             json_path_str(ing, "metadata.namespace"), json_path_str(ing, "metadata.name"),
	             "status", NULL, patch, NULL, NULL);
	json_decref(patch);
}

static int reconcile(controller *c, const char *key)
{
	UNUSED(key);
	ing_state *st = c->state;
	if (!st)
		return RECONCILE_DONE;
	json_t *cls = controller_get(c, controller_kind("networking.k8s.io", "ingressclasses"),
	                             NULL, INGRESS_CLASS);
	const char *def = json_string_value(
	    json_object_get(json_path(cls, "metadata.annotations"), DEFAULT_CLASS));
	bool is_default = cls && str_eq(def, "true");
	json_decref(cls);
	ingress_input in = {0};
	json_t **all;
	size_t n =
	    controller_list(c, controller_kind("networking.k8s.io", "ingresses"), NULL, &all);
	in.ingresses = xcalloc(n ? n : 1, sizeof *in.ingresses);
	for (size_t i = 0; i < n; i++) {
		if (ours(all[i], is_default))
			in.ingresses[in.ningresses++] = all[i];
		else
			clear_status(c, st, all[i]);
	}
	in.nservices = controller_list(c, controller_kind("", "services"), NULL, &in.services);
	in.nslices = controller_list(c, controller_kind("discovery.k8s.io", "endpointslices"), NULL,
	                             &in.slices);
	json_t **secrets;
	size_t nsec = controller_list(c, controller_kind("", "secrets"), NULL, &secrets);
	in.secrets = xcalloc(nsec ? nsec : 1, sizeof *in.secrets);
	for (size_t i = 0; i < nsec; i++)
		if (str_eq(json_string_value(json_object_get(secrets[i], "type")),
		           "kubernetes.io/tls"))
			in.secrets[in.nsecrets++] = secrets[i];
	ingress_table *t = ingress_table_build(&in);
	ingress_proxy_set_table(st->px, t);
	log_debug("ingress: %zu ingresses, %zu hosts, %zu TLS names", in.ningresses, t->nhosts,
	          t->ncerts);
	ingress_table_unref(t);
	for (size_t i = 0; i < in.ningresses; i++)
		write_status(c, st, in.ingresses[i]);
	free(in.ingresses);
	free(in.secrets);
	controller_list_free(all, n);
	controller_list_free(in.services, in.nservices);
	controller_list_free(in.slices, in.nslices);
	controller_list_free(secrets, nsec);
	return RECONCILE_DONE;
}

static int port_setting(const char *name, int def)
{
	const char *v = netsvc_env(name);
	if (!v || !*v)
		return def;
	if (strcmp(v, "off") == 0)
		return 0;
	long p = strtol(v, NULL, 10);
	return p > 0 && p < 65536 ? (int)p : def;
}

static void make_class(controller *c)
{
	/* k8s: the default IngressClass is marked by this annotation; created once, then the
	 * user's to change (an existing class is left as it is). */
	json_t *obj =
	    json_pack("{s:s, s:s, s:{s:s, s:{s:s}}, s:{s:s}}", "apiVersion", "networking.k8s.io/v1",
	              "kind", "IngressClass", "metadata", "name", INGRESS_CLASS, "annotations",
	              DEFAULT_CLASS, "true", "spec", "controller", INGRESS_CONTROLLER);
	client_create(c->srv, c->def->name, controller_kind("networking.k8s.io", "ingressclasses"),
	              NULL, obj, NULL, NULL);
	json_decref(obj);
}

static void start(controller *c)
{
	if (!str_eq(netsvc_env("TIMON_INGRESS"), "on"))
		return;
	ingress_proxy_config cfg = {
	    .addr = netsvc_env("TIMON_INGRESS_ADDR"),
	    .http_port = port_setting("TIMON_INGRESS_HTTP_PORT", 80),
	    .https_port = port_setting("TIMON_INGRESS_HTTPS_PORT", 443),
	    .metrics_port = port_setting("TIMON_INGRESS_METRICS_PORT", 10254),
	};
	const char *to = netsvc_env("TIMON_INGRESS_BACKEND_TIMEOUT_MS");
	if (to && *to)
		cfg.backend_timeout_ms = strtoull(to, NULL, 10);
	terr *err = NULL;
	ingress_proxy *px = ingress_proxy_start(apiserver_loop(c->srv), &cfg, &err);
	if (!px) {
		log_error("%s; ingress off", err ? err->message : "ingress: cannot start");
		terr_free(err);
		return;
	}
	ing_state *st = xcalloc(1, sizeof *st);
	st->px = px;
	netsvc_node_ip(st->node_ip);
	c->state = st;
	make_class(c);
	controller_enqueue(c, ALL_KEY);
	log_info("ingress: serving class " INGRESS_CLASS " on %s (http %d, https %d, metrics %d), "
	         "node address %s",
	         cfg.addr ? cfg.addr : "0.0.0.0", cfg.http_port, cfg.https_port, cfg.metrics_port,
	         st->node_ip);
}

static void stop(controller *c)
{
	ing_state *st = c->state;
	if (!st)
		return;
	c->state = NULL;
	ingress_proxy_stop(st->px);
	free(st);
}

static const controller_def ingress_controller = {
    .name = "timon-ingress",
    .watches = {{.group = "networking.k8s.io", .resource = "ingresses", .on_event = on_any},
                {.group = "networking.k8s.io", .resource = "ingressclasses", .on_event = on_any},
                {.group = "", .resource = "services", .on_event = on_any},
                {.group = "discovery.k8s.io", .resource = "endpointslices", .on_event = on_any},
                {.group = "", .resource = "secrets", .on_event = on_any}},
    .reconcile = reconcile,
    .start = start,
    .stop = stop,
};
CONTROLLER_REGISTER(ingress_controller)
