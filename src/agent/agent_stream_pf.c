/* agent_stream_pf.c — port-forward (placeholder until the SPDY tunnel lands). */
#include "agent/agent_stream-internal.h"

void stream_portforward(agent_streams *as, http_req *req, json_t *pod)
{
	terr *err = NULL;
	terr_set(&err, 501, "NotImplemented", "port-forward is not supported yet");
	stream_send_error(req, err);
}
