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
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/error.h"

/* File names inside <data_dir>/tls/. */
#define PKI_CA_CRT     "ca.crt"
#define PKI_CA_KEY     "ca.key"
#define PKI_SERVER_CRT "server.crt"
#define PKI_SERVER_KEY "server.key"
#define PKI_ADMIN_CRT  "admin.crt"
#define PKI_ADMIN_KEY  "admin.key"
/* The API server's client identity toward node agents (kubeadm's name for it). */
#define PKI_KUBELET_CLIENT_CRT "kubelet-client.crt"
#define PKI_KUBELET_CLIENT_KEY "kubelet-client.key"
#define PKI_KUBELET_CLIENT_CN  "kube-apiserver-kubelet-client"

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
 * "clientAuth" (NULL) or "serverAuth" (then the request's subject alternative names are
 * copied); ttl_s <= 0 means one year. notBefore is backdated by a tenth of the lifetime, at
 * most an hour (clock skew). *cert_pem is the caller's. 0, or -1 with 400 when the request
 * does not parse or verify. */
int pki_sign_csr(const char *data_dir, const char *csr_pem, size_t len, const char *eku,
                 long ttl_s, char **cert_pem, terr **err);

/* ---- certificate signing requests (pki_csr.c) ---- */

/* A new P-256 key and a PKCS#10 request for it with subject CN=cn and one O per entry of
 * the NULL-terminated orgs (may be NULL). Both PEM strings are the caller's. 0 or -1. */
int pki_csr_new(const char *cn, const char *const *orgs, char **csr_pem, char **key_pem,
                terr **err);
/* Like pki_csr_new, with subject alternative names ("IP:x" or "DNS:x", NULL-terminated,
 * may be NULL) requested in an extensionRequest attribute. */
int pki_csr_new_sans(const char *cn, const char *const *orgs, const char *const *sans,
                     char **csr_pem, char **key_pem, terr **err);
/* The subject alternative names the request pem[0..len) asks for, as "IP:x" / "DNS:x"
 * strings (*sans NULL-terminated, the caller's: free with pki_identity_free(NULL, ...));
 * other name types are ignored. 0, or -1 with 400 when it does not parse. */
int pki_csr_sans(const char *pem, size_t len, char ***sans, size_t *nsans, terr **err);
/* The validity of the PEM certificate pem (Unix seconds) and its serial in hex (a new
 * string, may be NULL). 0, or -1 when it does not parse. */
int pki_cert_info(const char *pem, size_t len, int64_t *not_before, int64_t *not_after,
                  char **serial_hex);
/* Whether the PEM certificate pem[0..len) names spec ("IP:x" or "DNS:x") among its
 * subject alternative names and is not expired. */
bool pki_cert_has_san(const char *pem, size_t len, const char *spec);
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
/* The same with explicit files: a serving certificate (chain) and key, and the CA client
 * certificates are verified against (a node agent's kubelet port). */
SSL_CTX *pki_server_ctx_files(const char *ca, const char *crt, const char *key, terr **err);
/* A TLS client context: TLS 1.2+, peers verified against the CA file ca, and the client
 * certificate crt with key (both may be NULL) presented. NULL on error. */
SSL_CTX *pki_client_ctx(const char *ca, const char *crt, const char *key, terr **err);

/* The identity of a verified client certificate on ssl (handshake done): CN -> *user,
 * each O -> (*groups)[i]. Returns 1 with the results owned by the caller (free each group,
 * the array and the user; pki_identity_free does it), or 0 (outputs NULL/0) when the peer
 * sent no certificate, it failed verification or has no CN. */
int pki_peer_identity(SSL *ssl, char **user, char ***groups, size_t *ngroups);
/* Frees what pki_peer_identity returned (NULLs are fine). */
void pki_identity_free(char *user, char **groups, size_t ngroups);
/* The identity a subject name carries, as Kubernetes reads it: the last CN -> *cn, each O
 * -> (*orgs)[i]. True with the results the caller's (pki_identity_free); false (outputs
 * NULL/0) when an entry does not convert to UTF-8, holds a NUL, or there is no CN. */
bool pki_name_identity(const X509_NAME *name, char **cn, char ***orgs, size_t *norgs);

/* Writes n bytes to path atomically: a temporary file in the same folder with the given
 * mode, fsync, rename over path, fsync of the folder. 0 or -1. */
int pki_write_file_atomic(const char *path, const void *data, size_t n, mode_t mode, terr **err);
/* The same without the two fsyncs: readers and a crash of this process see the old file
 * or the new one, a power loss may leave either or neither. For files that do not outlive
 * a reboot in any use (a container's bundle: its container is gone after one). */
int pki_replace_file(const char *path, const void *data, size_t n, mode_t mode, terr **err);
/* Reads a whole file into a NUL-terminated buffer (the caller's); *n may be NULL. 0 or -1
 * (404 NotFound when it does not exist). */
int pki_read_file(const char *path, char **out, size_t *n, terr **err);

#endif
