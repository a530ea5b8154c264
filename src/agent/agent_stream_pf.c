/* agent_stream_pf.c — pods/portforward. kubectl 1.32 opens a WebSocket with subprotocol
 * SPDY/3.1+portforward.k8s.io carrying SPDY/3.1 frames (streams with headers streamType,
 * port, requestID), falling back to a plain SPDY upgrade. Neither is served yet: the
 * request answers 501 at once so kubectl reports an error instead of hanging. */
#include "agent/agent_stream-internal.h"

void stream_portforward(agent_streams *as, http_req *req, json_t *pod)
{
	terr *err = NULL;
	terr_set(&err, 501, "NotImplemented", "port-forward is not supported by this node agent yet");
	stream_send_error(req, err);
}
