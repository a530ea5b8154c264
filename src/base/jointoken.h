/* jointoken.h — the join token a server hands to node agents, in k3s's form
 * "K10<sha256 hex of the cluster CA certificate PEM>::<user>:<secret>".
 *
 * The hash pins the CA: an agent fetches the CA from the server it was told to join
 * (GET /cacerts, unauthenticated), and trusts it only when its SHA-256 matches. The part
 * after "::" is the bootstrap credential the agent presents as a bearer token to ask for
 * its client certificate. The server keeps the token in <data-dir>/server/token (0600).
 * Not for: certificates (pki.h) or authorization (apiserver/authz.c).
 */
#ifndef TIMON_BASE_JOINTOKEN_H
#define TIMON_BASE_JOINTOKEN_H

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"

#define JOIN_TOKEN_PREFIX "K10"
#define JOIN_TOKEN_FILE   "server/token" /* relative to the server's data dir */

typedef struct join_token {
	char ca_hash[65];     /* lower-case hex */
	char credential[256]; /* "<user>:<secret>": the bearer token of the bootstrap */
} join_token;

/* Parses s (surrounding white space ignored). -1 with 400 and a message that says what is
 * wrong (never the secret). */
int join_token_parse(const char *s, join_token *out, terr **err);
/* "K10<ca_hash>::<credential>"; new string. */
char *join_token_format(const char *ca_hash, const char *credential);
/* Whether the SHA-256 of ca_pem[0..len) is the token's CA hash. */
bool join_token_ca_matches(const join_token *t, const char *ca_pem, size_t len);
/* Loads <data_dir>/server/token, or creates it (a random 128-bit secret for user "node",
 * pinned to <data_dir>/tls/ca.crt, which must exist); a token pinned to another CA is
 * rewritten with the same credential. *credential (the bearer token agents present) is
 * the caller's. 0 or -1. */
int join_token_ensure(const char *data_dir, char **credential, terr **err);
/* Compares a presented bearer token with the credential in constant time. */
bool join_credential_equal(const char *presented, const char *credential);

#endif
