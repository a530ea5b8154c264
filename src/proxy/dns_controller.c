/* dns_controller.c — runs the cluster DNS inside `timon server` as a controller-like
 * component: its start hook opens the sockets, and it keeps the zone in step with Services
 * and their EndpointSlices read from the watch cache (key "ns/service": the service and
 * every slice labelled kubernetes.io/service-name=service are turned into records afresh).
 *
 * Configuration comes from the environment, so the server needs no flag:
 *   TIMON_DNS_ADDR      ip:port to listen on (UDP and TCP); unset or empty: DNS is off.
 *                       "127.0.0.1:0" picks a free port (logged as "dns: serving ...").
 *   TIMON_DNS_DOMAIN    the cluster domain (default cluster.local).
 *   TIMON_DNS_UPSTREAM  "ip[:port],..." to forward other names to; "none" for no
 *                       forwarding; unset: the nameservers of /etc/resolv.conf.
 * Not for: the DNS logic itself (dns_*.c) or writing anything to the API.
 */
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/log.h"
#include "base/util.h"
#include "controllers/controller-internal.h"
#include "proxy/dns-internal.h"
#include "proxy/netsvc.h"

#define SERVICE_NAME_LABEL "kubernetes.io/service-name"

typedef struct dns_state {
	dns_zone *zone;
	dns_server *server;
} dns_state;

static bool enabled(controller *c)
{
	dns_state *st = c->state;
	return st && st->server;
}

static void on_service(controller *c, const kind_desc *d, const cache_event *ev)
{
	UNUSED(d);
	if (!enabled(c))
		return;
	json_t *o = cache_event_obj(ev);
	if (!o)
		return;
	char *key = controller_key_of(o);
	controller_enqueue(c, key);
	free(key);
}

static void enqueue_slice_service(controller *c, const char *ns, json_t *labels)
{
	const char *svc = json_string_value(json_object_get(labels, SERVICE_NAME_LABEL));
	if (!svc || !ns)
		return;
	char *key = xasprintf("%s/%s", ns, svc);
	controller_enqueue(c, key);
	free(key);
}

/* A slice changes the records of the service it is labelled with (before and after). */
static void on_slice(controller *c, const kind_desc *d, const cache_event *ev)
{
	UNUSED(d);
	if (!enabled(c))
		return;
	/* Keys are /registry/endpointslices/<ns>/<name>. */
	const char *p = ev->key + strlen("/registry/endpointslices/");
	const char *slash = strchr(p, '/');
	if (!str_has_prefix(ev->key, "/registry/endpointslices/") || !slash)
		return;
	_cleanup_free_ char *ns = xstrndup(p, (size_t)(slash - p));
	enqueue_slice_service(c, ns, ev->labels);
	if (ev->prev_labels)
		enqueue_slice_service(c, ns, ev->prev_labels);
}

static int reconcile(controller *c, const char *key)
{
	dns_state *st = c->state;
	if (!enabled(c))
		return RECONCILE_DONE;
	_cleanup_free_ char *ns = NULL, *name = NULL;
	controller_split_key(key, &ns, &name);
	if (!ns)
		return RECONCILE_DONE;
	json_t *svc = controller_get(c, controller_kind("", "services"), ns, name);
	if (!svc) {
		dns_zone_set_service(st->zone, key, NULL, NULL, 0);
		return RECONCILE_DONE;
	}
	const kind_desc *sd = controller_kind("discovery.k8s.io", "endpointslices");
	_cleanup_free_ char *prefix = kind_storage_key(sd, ns, NULL);
	cache_entry *const *es;
	size_t n = cache_range(c->cache, prefix, NULL, &es);
	json_t **slices = xcalloc(n ? n : 1, sizeof *slices);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		const char *l =
		    json_string_value(json_object_get(es[i]->labels, SERVICE_NAME_LABEL));
		if (!str_eq(l, name))
			continue;
		json_t *o = json_loadb(es[i]->value->data, es[i]->value->len, 0, NULL);
		if (o)
			slices[k++] = o;
	}
	dns_zone_set_service(st->zone, key, svc, slices, k);
	controller_list_free(slices, k);
	json_decref(svc);
	return RECONCILE_DONE;
}

static void start(controller *c)
{
	const char *addr = netsvc_env("TIMON_DNS_ADDR");
	if (!addr || !*addr) {
		log_debug("dns: off (TIMON_DNS_ADDR unset)");
		return;
	}
	dns_state *st = xcalloc(1, sizeof *st);
	/* The zone's name server gets the listen address. */
	char ip[64] = "";
	const char *colon = strrchr(addr, ':');
	if (addr[0] != '[' && colon && (size_t)(colon - addr) < sizeof ip)
		memcpy(ip, addr, (size_t)(colon - addr));
	st->zone = dns_zone_new(netsvc_env("TIMON_DNS_DOMAIN"), ip[0] ? ip : NULL);
	dns_config cfg = {.listen = addr, .upstream = netsvc_env("TIMON_DNS_UPSTREAM")};
	terr *err = NULL;
	st->server = dns_server_start(apiserver_loop(c->srv), &cfg, st->zone, &err);
	if (!st->server) {
		log_error("%s", err ? err->message : "dns: cannot start");
		terr_free(err);
		dns_zone_free(st->zone);
		free(st);
		return;
	}
	c->state = st;
	if (!str_eq(netsvc_env("TIMON_CLUSTER_DNS"), "off"))
		dns_service_publish(c, ip, dns_server_port(st->server));
}

static void stop(controller *c)
{
	dns_state *st = c->state;
	if (!st)
		return;
	dns_server_stop(st->server);
	/* The zone may still be read by queries answered while the handles close: none are,
	 * since a stopping server answers nothing; it goes now. */
	dns_zone_free(st->zone);
	free(st);
	c->state = NULL;
}

static const controller_def dns_controller = {
    .name = "dns",
    .watches = {{.group = "", .resource = "services", .on_event = on_service},
                {.group = "discovery.k8s.io", .resource = "endpointslices", .on_event = on_slice}},
    .reconcile = reconcile,
    .start = start,
    .stop = stop,
};
CONTROLLER_REGISTER(dns_controller)
