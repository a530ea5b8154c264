/* endpoints-internal.h — what the Endpoints and EndpointSlice controllers share: which
 * services they manage, which pods back a service and on which ports, pod addresses, the
 * pod-event-to-services mapping (with a cache of parsed service selectors), and the
 * last-change trigger time. */
#ifndef TIMON_CONTROLLERS_ENDPOINTS_INTERNAL_H
#define TIMON_CONTROLLERS_ENDPOINTS_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>

#include "base/hmap.h"
#include "controllers/controller.h"

#define EP_TRIGGER_TIME_ANNOTATION "endpoints.kubernetes.io/last-change-trigger-time"
#define EP_HEADLESS_LABEL          "service.kubernetes.io/headless"

/* Parsed service selectors by storage key, reused while the service is unchanged. */
typedef struct ep_selectors {
	hmap by_key; /* storage key -> struct ep_selector * */
} ep_selectors;

/* k8s: the controllers manage services with a selector that are not ExternalName. */
bool ep_service_managed(json_t *svc);
/* k8s: FindPort: the port a service port's targetPort resolves to in pod (a number as is,
 * a name through the containers' and sidecars' named ports of the same protocol), or -1. */
int ep_find_port(json_t *pod, json_t *svc_port);
/* The pod's IPv4 address (from status.podIPs, else status.podIP), or NULL (borrowed). */
const char *ep_pod_ipv4(json_t *pod);
/* k8s: ShouldPodBeInEndpoints: not terminal, has an IP, and (unless include_terminating)
 * not terminating. */
bool ep_pod_included(json_t *pod, bool include_terminating);
/* k8s: ShouldSetHostname: the pod names a hostname and the service as its subdomain. */
bool ep_should_set_hostname(json_t *pod, json_t *svc);
/* The Ready condition is True. */
bool ep_pod_ready(json_t *pod);
/* The pods of svc's namespace its selector selects, as new trees in name order; caller
 * frees with controller_list_free. */
size_t ep_service_pods(controller *c, json_t *svc, json_t ***out);
/* On a pod event: enqueues "ns/name" of every managed service of the pod's namespace whose
 * selector selects the pod's labels now or before the event. */
void ep_enqueue_pod_services(controller *c, ep_selectors *sels, const cache_event *ev);
/* On a service event: drops the cached selector of a deleted service. */
void ep_selectors_forget(ep_selectors *sels, const cache_event *ev);
void ep_selectors_free(ep_selectors *sels);
/* The change that last touched the service's endpoints: the latest of the service's
 * creation and its pods' Ready transitions (or creations), as RFC 3339 into out[40];
 * "" when none is known. */
void ep_trigger_time(json_t *svc, json_t **pods, size_t n, char out[40]);

#endif
