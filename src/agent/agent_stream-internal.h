/* agent_stream-internal.h — what agent_stream*.c share: the attached state and the target
 * container a request resolved to. Not for: other modules (agent_stream.h). */
#ifndef TIMON_AGENT_AGENT_STREAM_INTERNAL_H
#define TIMON_AGENT_AGENT_STREAM_INTERNAL_H

#include <jansson.h>

#include "agent/agent_stream.h"
#include "base/http.h"

struct agent_streams {
	apiserver *srv;
	runtime *rt;
	char *node;
	char *log_root;
	uv_loop_t *loop;
};

/* The container a request names, resolved from the pod (see stream_target_resolve). */
typedef struct stream_target {
	char *ns, *pod, *uid;
	char *container;
	int attempt;     /* the runtime attempt to use (restartCount, or one less: previous) */
	char *id;        /* runtime container ID */
	char *log_path;
	char *pod_ip;    /* status.podIP, or NULL */
} stream_target;

/* Picks the container (query "container", else kubectl.kubernetes.io/default-container,
 * else the only one) and its attempt; 400 with kube's messages when none fits. */
int stream_target_resolve(agent_streams *as, json_t *pod, const char *container, bool previous,
                          stream_target *t, terr **err);
void stream_target_free(stream_target *t);
/* Answers req with a Failure Status for err (consumed). */
void stream_send_error(http_req *req, terr *err);
/* Every value of query parameter name, URL-decoded (NULL-terminated; free with strv_free). */
char **stream_query_all(const http_req *req, const char *name);
void stream_strv_free(char **v);

void stream_logs(agent_streams *as, http_req *req, json_t *pod);
void stream_exec(agent_streams *as, http_req *req, json_t *pod, bool attach);
void stream_portforward(agent_streams *as, http_req *req, json_t *pod);

#endif
