/* jwt.h — JSON Web Tokens (RFC 7519) in compact JWS form signed with RS256, and the
 * base64url encoding (RFC 4648 §5, no padding; base/base64.h) they are made of.
 *
 * Only what ServiceAccount tokens need: sign a claims object with an RSA private key,
 * verify a token's signature with the matching public key and return its claims, and
 * check the registered time and audience claims. Not for: other algorithms (a token whose
 * header names anything but RS256 is refused, "none" included), JWE, JWKS documents, or
 * what the claims mean to Kubernetes (apiserver/satoken.c).
 */
#ifndef TIMON_BASE_JWT_H
#define TIMON_BASE_JWT_H

#include <jansson.h>
#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

/* Tokens longer than this are refused before any decoding (kube's are under 2 KiB). */
#define JWT_MAX_LEN 8192

/* The key id kube gives a signing key: base64url(SHA-256(DER SubjectPublicKeyInfo)).
 * New string, or NULL when the key cannot be encoded. */
char *jwt_key_id(EVP_PKEY *key);

/* header.payload.signature for claims (borrowed) signed RS256 with the RSA private key;
 * the header carries kid when not NULL. New string, or NULL with err (500). */
char *jwt_sign(EVP_PKEY *key, const char *kid, json_t *claims, terr **err);

/* Verifies tok (len bytes, not NUL-terminated necessarily) against the RSA public key:
 * three base64url parts, a JSON header naming alg RS256, a valid signature over the first
 * two, a JSON object payload. Returns the claims (caller's reference) or NULL with err
 * (401 Unauthorized; the message says why). Cheap refusals (length, shape) come first. */
json_t *jwt_verify(EVP_PKEY *key, const char *tok, size_t len, terr **err);

/* Checks registered claims at now (Unix seconds): iss equals issuer, aud (a string or an
 * array) contains audience, exp is present and after now, nbf (when present) not more than
 * 60 s ahead. 0, or -1 with err (401). */
int jwt_check_claims(json_t *claims, const char *issuer, const char *audience, int64_t now,
                     terr **err);

#endif
