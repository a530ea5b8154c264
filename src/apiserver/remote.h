/* remote.h — the API server as a standalone node agent sees it: a local mirror of the
 * remote server's objects the agent reads, and its writes sent over HTTPS.
 *
 * The mirror is a watch cache (store/cache.h) with no store behind it, fed by one
 * reflector per resource: LIST, then WATCH from the list's resourceVersion with bookmarks,
 * a new LIST on 410 Gone, bounded back-off (1 s doubling to 30 s) on errors. The agent
 * controller runs on it unchanged: controller_get/list read the mirror, informers watch
 * it, and client_do (apiserver/client.h) sends the request to the remote server, applies
 * the answer to the mirror when it is newer than what the mirror holds (so the caller's
 * next read sees its write, as in process), then calls back. Not for: serving the API.
 */
#ifndef TIMON_APISERVER_REMOTE_H
#define TIMON_APISERVER_REMOTE_H

#include <jansson.h>
#include <uv.h>

#include "apiserver/apiserver.h"
#include "base/error.h"

typedef struct remote_config {
	const char *url;       /* "https://host:port" of the server */
	const char *ca_file;   /* the cluster CA (PEM) */
	const char *cert_file; /* this node's client certificate and key */
	const char *key_file;
	const char *data_dir;  /* the agent's (apiserver_data_dir answers it) */
	const char *node_name; /* pods are mirrored for this node only */
} remote_config;

/* Starts the reflectors; synced runs once (on the loop) when every resource has been
 * listed once: then the mirror holds what the server held. Strings of cfg are copied. */
apiserver *apiserver_remote_start(uv_loop_t *loop, const remote_config *cfg,
                                  void (*synced)(apiserver *s, void *ud), void *ud);
/* Stops the reflectors and frees what they hold (the loop must run for handles to
 * close). */
void apiserver_remote_stop(apiserver *s);
/* How many LIST requests the reflectors made so far (first lists and re-lists). */
unsigned apiserver_remote_lists(apiserver *s);

#endif
