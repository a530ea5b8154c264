/* probe-internal.h — what the probe files share. Not an interface (that is probe.h). */
#ifndef TIMON_AGENT_PROBE_INTERNAL_H
#define TIMON_AGENT_PROBE_INTERNAL_H

#include "agent/probe.h"

/* timeoutSeconds of probe, default 1. */
int probe_timeout_s(json_t *probe);
/* Replaces *message (when message is not NULL) with text (consumed). */
void probe_set_message(char **message, char *text);
/* "host:port", "[v6]:port". New string. */
char *probe_host_port(const char *host, int port);
/* strerror(e) as Go words it (lower case). New string. */
char *probe_errno_text(int e);

/* probe_http.c: the httpGet handler h against host:port. */
probe_result probe_http(json_t *h, const char *host, int port, int timeout_s, char **message);
/* probe_http.c: grpc.health.v1.Health/Check over h2c against host:port. */
probe_result probe_grpc(json_t *h, const char *host, int port, int timeout_s, char **message);

#endif
