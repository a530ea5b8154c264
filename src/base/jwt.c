/* jwt.c — RS256 JSON Web Tokens (base64url from base/base64.c), over OpenSSL's EVP
 * digest-sign API. Not for: ServiceAccount semantics (apiserver/satoken.c). */
#include "base/jwt.h"

#include <openssl/sha.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#include "base/base64.h"
#include "base/json.h"
#include "base/util.h"

char *jwt_key_id(EVP_PKEY *key)
{
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(key, &der);
	if (n <= 0)
		return NULL;
	unsigned char md[SHA256_DIGEST_LENGTH];
	SHA256(der, (size_t)n, md);
	OPENSSL_free(der);
	return base64url_encode(md, sizeof md);
}

static char *b64url_json(json_t *v)
{
	_cleanup_free_ char *s = json_dumps(v, JSON_COMPACT);
	return base64url_encode(s, strlen(s));
}

char *jwt_sign(EVP_PKEY *key, const char *kid, json_t *claims, terr **err)
{
	_cleanup_json_ json_t *hdr = json_pack("{s:s}", "alg", "RS256");
	if (kid)
		json_object_set_new(hdr, "kid", json_string(kid));
	_cleanup_free_ char *h = b64url_json(hdr);
	_cleanup_free_ char *p = b64url_json(claims);
	_cleanup_free_ char *input = xasprintf("%s.%s", h, p);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	size_t siglen = 0;
	unsigned char *sig = NULL;
	int ok = md && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
	         EVP_DigestSign(md, NULL, &siglen, (const unsigned char *)input, strlen(input)) == 1;
	if (ok) {
		sig = xmalloc(siglen);
		ok = EVP_DigestSign(md, sig, &siglen, (const unsigned char *)input, strlen(input)) == 1;
	}
	EVP_MD_CTX_free(md);
	if (!ok) {
		free(sig);
		terr_internal(err, "cannot sign token");
		return NULL;
	}
	_cleanup_free_ char *s = base64url_encode(sig, siglen);
	free(sig);
	return xasprintf("%s.%s", input, s);
}

static int unauthorized(terr **err, const char *why)
{
	return terr_set(err, 401, "Unauthorized", "invalid bearer token: %s", why);
}

/* One base64url part decoded and parsed as a JSON object, or NULL. */
static json_t *json_part(const char *s, size_t n)
{
	size_t len = 0;
	_cleanup_free_ unsigned char *raw = base64url_decode(s, n, &len);
	if (!raw)
		return NULL;
	json_t *v = json_loadb((const char *)raw, len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(v)) {
		json_decref(v);
		return NULL;
	}
	return v;
}

json_t *jwt_verify(EVP_PKEY *key, const char *tok, size_t len, terr **err)
{
	if (len == 0 || len > JWT_MAX_LEN) {
		unauthorized(err, "bad length");
		return NULL;
	}
	const char *d1 = memchr(tok, '.', len);
	const char *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - tok)) : NULL;
	if (!d1 || !d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - tok))) {
		unauthorized(err, "not a JWT");
		return NULL;
	}
	_cleanup_json_ json_t *hdr = json_part(tok, (size_t)(d1 - tok));
	if (!hdr) {
		unauthorized(err, "malformed header");
		return NULL;
	}
	/* k8s: only the key's own algorithm; "none" and HMAC never pass. */
	if (!str_eq(json_string_value(json_object_get(hdr, "alg")), "RS256")) {
		unauthorized(err, "unsupported algorithm");
		return NULL;
	}
	size_t siglen = 0;
	_cleanup_free_ unsigned char *sig =
	    base64url_decode(d2 + 1, len - (size_t)(d2 + 1 - tok), &siglen);
	if (!sig || siglen == 0) {
		unauthorized(err, "malformed signature");
		return NULL;
	}
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int ok = md && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
	         EVP_DigestVerify(md, sig, siglen, (const unsigned char *)tok,
	                          (size_t)(d2 - tok)) == 1;
	EVP_MD_CTX_free(md);
	if (!ok) {
		unauthorized(err, "signature does not verify");
		return NULL;
	}
	json_t *claims = json_part(d1 + 1, (size_t)(d2 - d1 - 1));
	if (!claims)
		unauthorized(err, "malformed payload");
	return claims;
}

static bool aud_has(json_t *aud, const char *want)
{
	if (json_is_string(aud))
		return str_eq(json_string_value(aud), want);
	size_t i;
	json_t *a;
	json_array_foreach(aud, i, a) if (str_eq(json_string_value(a), want)) return true;
	return false;
}

int jwt_check_claims(json_t *claims, const char *issuer, const char *audience, int64_t now,
                     terr **err)
{
	if (!str_eq(json_string_value(json_object_get(claims, "iss")), issuer))
		return unauthorized(err, "wrong issuer");
	if (!aud_has(json_object_get(claims, "aud"), audience))
		return unauthorized(err, "token audiences do not match the server's");
	json_t *exp = json_object_get(claims, "exp");
	if (!json_is_integer(exp) || json_integer_value(exp) <= now)
		return unauthorized(err, "token has expired");
	json_t *nbf = json_object_get(claims, "nbf");
	if (nbf && (!json_is_integer(nbf) || json_integer_value(nbf) > now + 60))
		return unauthorized(err, "token is not valid yet");
	return 0;
}
