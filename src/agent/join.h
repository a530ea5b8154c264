/* join.h — how a standalone node agent gets its client certificate (TLS bootstrap).
 *
 * With a join token (base/jointoken.h): fetch the server's CA from GET /cacerts without
 * trusting it, keep it only when its SHA-256 is the token's; then, over TLS verified with
 * that CA and with the token's credential as a bearer token, create a certificates.k8s.io
 * CertificateSigningRequest (signer kubernetes.io/kube-apiserver-client-kubelet, subject
 * CN=system:node:<name> O=system:nodes) and wait for the server to approve and sign it.
 * The key, the certificate and the CA go to <data-dir>/tls/ (key 0600); a restarted agent
 * reuses them and needs no token.
 *
 * Blocking (libcurl's easy interface): runs before the agent's loop starts.
 */
#ifndef TIMON_AGENT_JOIN_H
#define TIMON_AGENT_JOIN_H

#include "base/error.h"

#define JOIN_CA_FILE   "ca.crt"
#define JOIN_CERT_FILE "client.crt"
#define JOIN_KEY_FILE  "client.key"
#define JOIN_SIGNER    "kubernetes.io/kube-apiserver-client-kubelet"

/* Makes sure <data_dir>/tls/ holds a usable CA, client certificate and key for node
 * node_name: reuses them when the certificate is the node's, chains to the CA and is not
 * expired; else joins url with token (NULL: fails with a message asking for one).
 * timeout_s bounds the wait for the signature. 0, or -1 with err (401 when the server
 * refused the token). */
int agent_join(const char *data_dir, const char *url, const char *token,
               const char *node_name, int timeout_s, terr **err);

/* The certificate request object (new) for csr_pem, named name. */
struct json_t;
struct json_t *agent_join_csr_object(const char *name, const char *csr_pem);

#endif
