/* pki.h — the cluster's certificate authority and the certificates it signs, and the TLS
 * server context built from them.
 *
 * Layout under <data_dir>/tls/ (mode 0700): ca.crt ca.key (the cluster CA), server.crt
 * server.key (the API server's serving certificate), admin.crt admin.key (the
 * "system:admin" client in group "system:masters" that kubeconfig.yaml uses). Keys are
 * ECDSA P-256 in PKCS#8 PEM, written 0600, atomically.
 *
 * Not for: authorization (identities only), HTTP, or certificate signing requests from the
 * API (certificates.k8s.io) — those build on pki_issue_client.
 */
#ifndef TIMON_BASE_PKI_H
#define TIMON_BASE_PKI_H

#include <openssl/ssl.h>
#include <stddef.h>
#include <sys/types.h>

#include "base/error.h"

/* File names inside <data_dir>/tls/. */
#define PKI_CA_CRT     "ca.crt"
#define PKI_CA_KEY     "ca.key"
#define PKI_SERVER_CRT "server.crt"
#define PKI_SERVER_KEY "server.key"
#define PKI_ADMIN_CRT  "admin.crt"
#define PKI_ADMIN_KEY  "admin.key"

/* Creates what is missing under <data_dir>/tls/ (data_dir itself too): the CA, the serving
 * certificate (SANs: localhost, kubernetes[.default[.svc[.cluster.local]]], the host name,
 * 127.0.0.1, ::1, every interface address, plus extra_sans "IP:x"/"DNS:x", a NULL-terminated
 * array that may be NULL) and the admin client certificate. Existing files are reused; the
 * serving certificate is reissued when a needed SAN is missing, and a leaf certificate
 * when it does not chain to the CA or expires within 90 days. 0 or -1. */
int pki_ensure(const char *data_dir, const char *const *extra_sans, terr **err);

/* Issues a client certificate (CN cn, one O per entry of the NULL-terminated orgs, which
 * may be NULL; extendedKeyUsage clientAuth; one year) signed by the cluster CA of data_dir
 * (pki_ensure must have run). *cert_pem and *key_pem are the caller's. 0 or -1. */
int pki_issue_client(const char *data_dir, const char *cn, const char *const *orgs, char **cert_pem,
                     char **key_pem, terr **err);

/* Issues a certificate for the public key and subject (CN, O) of the PKCS#10 request
 * csr_pem[0..len) (its signature checked), signed by the cluster CA of data_dir; eku is
 * "clientAuth" (NULL) or "serverAuth"; days <= 0 means one year. *cert_pem is the caller's.
 * 0, or -1 with 400 when the request does not parse or verify. */
int pki_sign_csr(const char *data_dir, const char *csr_pem, size_t len, const char *eku,
                 int days, char **cert_pem, terr **err);

/* ---- certificate signing requests (pki_csr.c) ---- */

/* A new P-256 key and a PKCS#10 request for it with subject CN=cn and one O per entry of
 * the NULL-terminated orgs (may be NULL). Both PEM strings are the caller's. 0 or -1. */
int pki_csr_new(const char *cn, const char *const *orgs, char **csr_pem, char **key_pem,
                terr **err);
/* Parses the PEM request pem[0..len) and checks its self-signature: its CN (*cn), its O
 * entries (*orgs, *norgs; free with pki_identity_free(NULL, ...)) and, when pub is not
 * NULL, its public key (an EVP_PKEY *, the caller's). 0, or -1 with 400 BadRequest. */
int pki_csr_parse(const char *pem, size_t len, char **cn, char ***orgs, size_t *norgs,
                  EVP_PKEY **pub, terr **err);
/* The SHA-256 of data[0..n) as 64 lower-case hex digits and a NUL in out. */
void pki_sha256_hex(const void *data, size_t n, char out[65]);

/* A TLS server context for the API server: TLS 1.2+, the serving certificate, client
 * certificates requested but optional and verified against ca.crt (a failed verification
 * does not abort the handshake; pki_peer_identity then reports no identity), ALPN that
 * only ever selects "http/1.1", server session cache on. Caller frees with SSL_CTX_free.
 * NULL on error. */
SSL_CTX *pki_server_ctx(const char *data_dir, terr **err);

/* The identity of a verified client certificate on ssl (handshake done): CN -> *user,
 * each O -> (*groups)[i]. Returns 1 with the results owned by the caller (free each group,
 * the array and the user; pki_identity_free does it), or 0 (outputs NULL/0) when the peer
 * sent no certificate, it failed verification or has no CN. */
int pki_peer_identity(SSL *ssl, char **user, char ***groups, size_t *ngroups);
/* Frees what pki_peer_identity returned (NULLs are fine). */
void pki_identity_free(char *user, char **groups, size_t ngroups);

/* Writes n bytes to path atomically: a temporary file in the same folder with the given
 * mode, fsync, rename over path, fsync of the folder. 0 or -1. */
int pki_write_file_atomic(const char *path, const void *data, size_t n, mode_t mode, terr **err);
/* Reads a whole file into a NUL-terminated buffer (the caller's); *n may be NULL. 0 or -1
 * (404 NotFound when it does not exist). */
int pki_read_file(const char *path, char **out, size_t *n, terr **err);

#endif
