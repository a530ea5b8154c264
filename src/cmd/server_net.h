/* server_net.h — `timon server`'s flags for the node network services (service proxy,
 * cluster DNS, ingress), kept apart from server.c so that file only splices them in. */
#ifndef TIMON_CMD_SERVER_NET_H
#define TIMON_CMD_SERVER_NET_H

#include <getopt.h>
#include <stdbool.h>

#include "proxy/netsvc.h"

#define SERVER_NET_OPT_FIRST 512 /* getopt values of these flags start here */

/* The flags, terminated by a zeroed entry; and their help lines. */
extern const struct option server_net_options[];
extern const char server_net_usage[];

/* Handles one of the flags (opt >= SERVER_NET_OPT_FIRST) into cfg; arg borrowed from
 * argv. 0, or -1 after printing why to stderr. */
int server_net_flag(int opt, const char *arg, netsvc_config *cfg);
/* Turns the services on by default when the node agent runs (a flag's choice stands)
 * and records the configuration (netsvc_configure). */
void server_net_apply(netsvc_config *cfg, bool agent);

#endif
