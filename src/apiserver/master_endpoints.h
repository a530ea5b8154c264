/* master_endpoints.h — kube's endpoint reconciler for the `kubernetes` service: the API
 * server publishes its own address as default/kubernetes Endpoints and EndpointSlice. */
#ifndef TIMON_APISERVER_MASTER_ENDPOINTS_H
#define TIMON_APISERVER_MASTER_ENDPOINTS_H

#include "apiserver/apiserver.h"

/* Writes (through the in-process client, as `manager`) the Endpoints and EndpointSlice of
 * default/kubernetes when they differ from the server's address and HTTPS port, and
 * deletes other slices claiming that service. */
void master_endpoints_reconcile(apiserver *s, const char *manager);

#endif
