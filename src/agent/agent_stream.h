/* agent_stream.h — the node agent's side of the pod streams kubectl uses: pods/log
 * (agent_stream.c), exec and attach over WebSocket with the channel protocol
 * (agent_stream_exec.c), and port-forward as SPDY/3.1 tunnelled in WebSocket
 * (agent_stream_pf.c). The API server hands it requests for pods bound to this node
 * (apiserver_set_pod_streams). Not for: running pods (the agent's pod workers).
 */
#ifndef TIMON_AGENT_AGENT_STREAM_H
#define TIMON_AGENT_AGENT_STREAM_H

#include "agent/runtime.h"
#include "apiserver/apiserver.h"

typedef struct agent_streams agent_streams;

/* Serves the pod streams of pods whose spec.nodeName is node_name from srv, with the
 * containers of rt (borrowed, must outlive srv) and the CRI logs under log_root (NULL:
 * AGENT_DEFAULT_LOG_ROOT). On the loop thread, after apiserver_start. A later call (an
 * agent started again) takes over serving; the state it returns is the caller's and must
 * stay until the process ends, since streams still open may use it (never freed). */
agent_streams *agent_stream_attach(apiserver *srv, runtime *rt, const char *node_name,
                                   const char *log_root);

/* ---- pieces shared by the stream files, exposed for the unit tests ---- */

/* The Status JSON the error channel carries when a command ended with code (new string):
 * Success for 0, else Failure with reason NonZeroExitCode and an ExitCode cause. */
char *agent_stream_exit_status(int code);
/* A Failure Status JSON (new string) for an error before or during a stream. */
char *agent_stream_error_status(int code, const char *reason, const char *msg);

#endif
