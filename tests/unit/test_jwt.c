/* test_jwt.c — base64url edge cases and RS256 tokens: round trip, and the refusals
 * (expired, not yet valid, wrong audience or issuer, another key's signature, a changed
 * payload, alg none, malformed and oversized tokens). */
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "base/base64.h"
#include "base/json.h"
#include "base/jwt.h"
#include "base/util.h"
#include "test.h"

static EVP_PKEY *rsa_key(void)
{
	return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
}

static EVP_PKEY *key_a, *key_b;

static void keys(void)
{
	if (!key_a) {
		key_a = rsa_key();
		key_b = rsa_key();
	}
}

TEST(b64url_vectors)
{
	/* RFC 4648 §10 vectors, without padding. */
	static const char *const in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *const out[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
	for (size_t i = 0; i < ARRAY_SIZE(in); i++) {
		char *e = base64url_encode(in[i], strlen(in[i]));
		CHECK_STR(e, out[i]);
		size_t n = 99;
		unsigned char *d = base64url_decode(e, strlen(e), &n);
		REQUIRE(d);
		CHECK_INT(n, strlen(in[i]));
		CHECK(memcmp(d, in[i], n) == 0);
		free(d);
		free(e);
	}
}

TEST(b64url_url_alphabet)
{
	const unsigned char raw[] = {0xfb, 0xff, 0xbf};
	char *e = base64url_encode(raw, sizeof raw);
	CHECK_STR(e, "-_-_");
	size_t n = 0;
	unsigned char *d = base64url_decode(e, strlen(e), &n);
	REQUIRE(d);
	CHECK_INT(n, 3);
	CHECK(memcmp(d, raw, 3) == 0);
	free(d);
	free(e);
}

TEST(b64url_rejects)
{
	size_t n;
	CHECK(!base64url_decode("Zg==", 4, &n));  /* padding */
	CHECK(!base64url_decode("Z", 1, &n));     /* one leftover character */
	CHECK(!base64url_decode("Zm9v+", 5, &n)); /* standard alphabet */
	CHECK(!base64url_decode("Zm/v", 4, &n));
	CHECK(!base64url_decode("Zm 9v", 5, &n)); /* whitespace */
	CHECK(!base64url_decode("Zh", 2, &n));    /* non-zero unused bits */
	unsigned char *d = base64url_decode("Zm9vYmFy", 4, &n); /* a counted prefix */
	REQUIRE(d);
	CHECK_INT(n, 3);
	CHECK_STR((char *)d, "foo");
	free(d);
}

static json_t *claims_at(int64_t now, int64_t ttl)
{
	return json_pack("{s:s, s:s, s:[s], s:I, s:I, s:I}", "iss", "https://issuer", "sub",
	                 "system:serviceaccount:default:default", "aud", "api", "iat",
	                 (json_int_t)now, "nbf", (json_int_t)now, "exp", (json_int_t)(now + ttl));
}

TEST(jwt_round_trip)
{
	keys();
	REQUIRE(key_a);
	int64_t now = time_now_ns() / 1000000000;
	json_t *c = claims_at(now, 600);
	char *kid = jwt_key_id(key_a);
	REQUIRE(kid);
	CHECK_INT(strlen(kid), 43);
	char *tok = jwt_sign(key_a, kid, c, NULL);
	REQUIRE(tok);
	terr *err = NULL;
	json_t *got = jwt_verify(key_a, tok, strlen(tok), &err);
	REQUIRE(got);
	CHECK(json_equal(got, c));
	CHECK_INT(jwt_check_claims(got, "https://issuer", "api", now, NULL), 0);
	/* The header names the algorithm and the key. */
	size_t hn = 0;
	unsigned char *h = base64url_decode(tok, (size_t)(strchr(tok, '.') - tok), &hn);
	json_t *hdr = json_loadb((char *)h, hn, 0, NULL);
	CHECK_STR(json_string_value(json_object_get(hdr, "alg")), "RS256");
	CHECK_STR(json_string_value(json_object_get(hdr, "kid")), kid);
	json_decref(hdr);
	free(h);
	json_decref(got);
	json_decref(c);
	free(tok);
	free(kid);
}

TEST(jwt_claims_refused)
{
	int64_t now = 1800000000;
	json_t *c = claims_at(now, 600);
	terr *err = NULL;
	CHECK(jwt_check_claims(c, "https://issuer", "api", now + 600, &err) < 0); /* expired */
	CHECK(err && err->code == 401);
	terr_free(err);
	err = NULL;
	CHECK(jwt_check_claims(c, "https://issuer", "other", now, &err) < 0);
	CHECK(err && strstr(err->message, "audiences"));
	terr_free(err);
	CHECK(jwt_check_claims(c, "https://other", "api", now, NULL) < 0);
	CHECK(jwt_check_claims(c, "https://issuer", "api", now - 61, NULL) < 0); /* nbf ahead */
	CHECK_INT(jwt_check_claims(c, "https://issuer", "api", now + 599, NULL), 0);
	json_object_set_new(c, "aud", json_string("api"));
	CHECK_INT(jwt_check_claims(c, "https://issuer", "api", now, NULL), 0);
	json_object_del(c, "exp");
	CHECK(jwt_check_claims(c, "https://issuer", "api", now, NULL) < 0); /* no expiry */
	json_decref(c);
}

TEST(jwt_wrong_signature)
{
	keys();
	REQUIRE(key_b);
	json_t *c = claims_at(time_now_ns() / 1000000000, 600);
	char *tok = jwt_sign(key_b, NULL, c, NULL);
	REQUIRE(tok);
	terr *err = NULL;
	CHECK(!jwt_verify(key_a, tok, strlen(tok), &err));
	CHECK(err && err->code == 401);
	terr_free(err);
	/* A payload changed after signing. */
	char *tok2 = jwt_sign(key_a, NULL, c, NULL);
	REQUIRE(tok2);
	char *dot = strchr(tok2, '.');
	dot[3] = dot[3] == 'A' ? 'B' : 'A';
	CHECK(!jwt_verify(key_a, tok2, strlen(tok2), NULL));
	json_decref(c);
	free(tok);
	free(tok2);
}

TEST(jwt_malformed)
{
	keys();
	static const char *const bad[] = {"", "abc", "a.b", "a.b.c.d", "..", "eyJhbGciOiJub25lIn0.e30.",
	                                  "!!!.e30.AAAA"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		CHECK(!jwt_verify(key_a, bad[i], strlen(bad[i]), NULL));
	/* alg none with the payload of a real token. */
	json_t *c = claims_at(time_now_ns() / 1000000000, 600);
	json_t *h = json_pack("{s:s}", "alg", "none");
	char *hs = json_dumps(h, JSON_COMPACT), *cs = json_dumps(c, JSON_COMPACT);
	char *he = base64url_encode(hs, strlen(hs)), *ce = base64url_encode(cs, strlen(cs));
	char *tok = xasprintf("%s.%s.AAAA", he, ce);
	terr *err = NULL;
	CHECK(!jwt_verify(key_a, tok, strlen(tok), &err));
	CHECK(err && strstr(err->message, "algorithm"));
	terr_free(err);
	/* Oversized: refused on length alone. */
	char *big = xmalloc(JWT_MAX_LEN + 2);
	memset(big, 'A', JWT_MAX_LEN + 1);
	big[JWT_MAX_LEN + 1] = 0;
	err = NULL;
	CHECK(!jwt_verify(key_a, big, strlen(big), &err));
	CHECK(err && strstr(err->message, "length"));
	terr_free(err);
	free(big);
	free(tok);
	free(he);
	free(ce);
	free(hs);
	free(cs);
	json_decref(h);
	json_decref(c);
}
