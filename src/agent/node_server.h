/* node_server.h — what a standalone agent (timon agent) serves and keeps besides pods:
 * its kubelet port (pod streams for the API server, over TLS with a serving certificate
 * signed through a kubernetes.io/kubelet-serving CertificateSigningRequest), and the
 * renewal of its client and serving certificates at 80% of their lifetime
 * (node_certs.c). Not for: the embedded agent of `timon server` (its streams are served
 * in process) or the join itself (join.c).
 */
#ifndef TIMON_AGENT_NODE_SERVER_H
#define TIMON_AGENT_NODE_SERVER_H

#include "apiserver/apiserver.h"

#define NODE_SERVING_CRT "serving.crt"
#define NODE_SERVING_KEY "serving.key"
#define NODE_PORT_DEFAULT 10250

typedef struct node_server node_server;

typedef struct node_server_config {
	const char *data_dir;  /* <data_dir>/tls holds ca.crt, client.*, serving.* */
	const char *node_name;
	int port;              /* the kubelet port; 0: NODE_PORT_DEFAULT */
} node_server_config;

/* Starts on s's loop (s: the remote stand-in of apiserver_remote_start, synced): renews
 * the client certificate when due, gets or reuses a serving certificate for the Node's
 * addresses, then listens on cfg->port. Strings are copied. */
node_server *node_server_start(apiserver *s, const node_server_config *cfg);
/* Closes the port and stops the timers (the loop must run for handles to close). */
void node_server_stop(node_server *n);

/* ---- node_certs.c: certificates kept fresh through CertificateSigningRequests ---- */

typedef struct node_cert node_cert;
/* A new certificate is in place: cert_pem and key_pem are borrowed for the call. */
typedef void (*node_cert_cb)(void *ud, const char *cert_pem, const char *key_pem);

/* Keeps <tls_dir>/<name>.crt/.key issued by signer for CN system:node:<node> O
 * system:nodes (sans: "IP:x"/"DNS:x" or NULL; usages: the CSR's, NULL-terminated):
 * renews it through a CSR at 80% of its lifetime, or at once when absent or expired, and
 * calls installed after saving it. All strings copied. */
node_cert *node_cert_keep(apiserver *s, const char *tls_dir, const char *name,
                          const char *node, const char *signer, const char *const *sans,
                          const char *const *usages, node_cert_cb installed, void *ud);
void node_cert_stop(node_cert *c);
/* When the certificate should be renewed: not_before + 80% of its lifetime (pure). */
int64_t node_cert_renew_at(int64_t not_before, int64_t not_after);

#endif
