/* test_join.c — the pure parts of joining a node: the join token (parse, format, CA pin,
 * keeping it in the server's data dir), certificate requests (build, parse, refuse a
 * tampered one) and their signing by the cluster CA, checked with OpenSSL and base64. */
#include <ftw.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/join.h"
#include "base/base64.h"
#include "base/jointoken.h"
#include "base/json.h"
#include "base/pki.h"
#include "base/util.h"
#include "test.h"

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static char *tmpdir(void)
{
	char tmpl[] = "/tmp/test_join.XXXXXX";
	return xstrdup(mkdtemp(tmpl));
}

#define HASH "d00dd3e65051e727c69099c2f74620d930f2452769ee5ee95f28242ab2b5eed2"

TEST(token_parse_ok)
{
	join_token t;
	terr *e = NULL;
	REQUIRE(join_token_parse("  K10" HASH "::node:0123abcd\n", &t, &e) == 0);
	CHECK_STR(t.ca_hash, HASH);
	CHECK_STR(t.credential, "node:0123abcd");
	/* Upper-case hex is the same hash. */
	REQUIRE(join_token_parse("K10D00DD3E65051E727C69099C2F74620D930F2452769EE5EE95F28242AB2B5EED2::a:b",
	                         &t, NULL) == 0);
	CHECK_STR(t.ca_hash, HASH);
}

TEST(token_parse_refuses)
{
	static const char *const bad[] = {
	    "",
	    "node:s3cr3t",
	    "K11" HASH "::node:s3cr3t",           /* wrong prefix */
	    "K10" HASH "node:s3cr3t",             /* no :: */
	    "K10abc::node:s3cr3t",                /* short hash */
	    "K10" "g" HASH "::node:s3cr3t",       /* not hex / wrong length */
	    "K10" HASH "::",                 /* no credential */
	    "K10" HASH "::nocolon",          /* not user:secret */
	    "K10" HASH "::node:",            /* empty secret */
	    "K10" HASH "::node:s3cr3t b",         /* a blank */
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		join_token t;
		terr *e = NULL;
		CHECK(join_token_parse(bad[i], &t, &e) < 0);
		CHECK(e && e->code == 400);
		/* The message never repeats the secret. */
		CHECK(e && !strstr(e->message, "s3cr3t"));
		terr_free(e);
	}
	CHECK(join_token_parse(NULL, &(join_token){0}, NULL) < 0);
}

TEST(token_format_round_trip)
{
	_cleanup_free_ char *s = join_token_format(HASH, "node:abc");
	CHECK_STR(s, "K10" HASH "::node:abc");
	join_token t;
	REQUIRE(join_token_parse(s, &t, NULL) == 0);
	CHECK_STR(t.credential, "node:abc");
}

TEST(ca_hash_pins)
{
	const char *pem = "-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----\n";
	char h[65];
	pki_sha256_hex(pem, strlen(pem), h);
	CHECK_INT(strlen(h), 64);
	join_token t = {0};
	memcpy(t.ca_hash, h, sizeof h);
	CHECK(join_token_ca_matches(&t, pem, strlen(pem)));
	CHECK(!join_token_ca_matches(&t, pem, strlen(pem) - 1));
	/* The SHA-256 of "abc" (FIPS 180-2's example). */
	pki_sha256_hex("abc", 3, h);
	CHECK_STR(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(credential_compare)
{
	CHECK(join_credential_equal("node:abc", "node:abc"));
	CHECK(!join_credential_equal("node:abd", "node:abc"));
	CHECK(!join_credential_equal("node:ab", "node:abc"));
	CHECK(!join_credential_equal("node:abcd", "node:abc"));
	CHECK(!join_credential_equal(NULL, "node:abc"));
	CHECK(!join_credential_equal("node:abc", NULL));
}

TEST(token_file_kept)
{
	_cleanup_free_ char *d = tmpdir();
	REQUIRE(pki_ensure(d, NULL, NULL) == 0);
	_cleanup_free_ char *cred = NULL, *cred2 = NULL, *text = NULL, *ca = NULL;
	REQUIRE(join_token_ensure(d, &cred, NULL) == 0);
	CHECK(str_has_prefix(cred, "node:") && strlen(cred) == 5 + 32);
	_cleanup_free_ char *path = xasprintf("%s/%s", d, JOIN_TOKEN_FILE);
	struct stat st;
	REQUIRE(stat(path, &st) == 0);
	CHECK_INT(st.st_mode & 0777, 0600);
	REQUIRE(pki_read_file(path, &text, NULL, NULL) == 0);
	join_token t;
	REQUIRE(join_token_parse(text, &t, NULL) == 0);
	CHECK_STR(t.credential, cred);
	_cleanup_free_ char *ca_path = xasprintf("%s/tls/ca.crt", d);
	size_t calen = 0;
	REQUIRE(pki_read_file(ca_path, &ca, &calen, NULL) == 0);
	CHECK(join_token_ca_matches(&t, ca, calen));
	/* A second start keeps the same secret. */
	REQUIRE(join_token_ensure(d, &cred2, NULL) == 0);
	CHECK_STR(cred2, cred);
	nftw(d, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

TEST(csr_build_parse_sign)
{
	_cleanup_free_ char *d = tmpdir();
	REQUIRE(pki_ensure(d, NULL, NULL) == 0);
	static const char *const orgs[] = {"system:nodes", NULL};
	_cleanup_free_ char *csr = NULL, *key = NULL, *cn = NULL, *cert = NULL;
	terr *e = NULL;
	REQUIRE(pki_csr_new("system:node:n1", orgs, &csr, &key, &e) == 0);
	CHECK(strstr(csr, "BEGIN CERTIFICATE REQUEST") != NULL);
	CHECK(strstr(key, "PRIVATE KEY") != NULL);
	char **o = NULL;
	size_t no = 0;
	REQUIRE(pki_csr_parse(csr, strlen(csr), &cn, &o, &no, NULL, &e) == 0);
	CHECK_STR(cn, "system:node:n1");
	REQUIRE(no == 1);
	CHECK_STR(o[0], "system:nodes");
	pki_identity_free(NULL, o, no);
	REQUIRE(pki_sign_csr(d, csr, strlen(csr), "clientAuth", 0, &cert, &e) == 0);
	/* The certificate carries the request's subject and key, and chains to the CA. */
	BIO *b = BIO_new_mem_buf(cert, -1), *kb = BIO_new_mem_buf(key, -1);
	X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	EVP_PKEY *k = PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL);
	REQUIRE(x && k);
	CHECK(X509_check_private_key(x, k) == 1);
	char buf[256];
	X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, buf, sizeof buf);
	CHECK_STR(buf, "system:node:n1");
	X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_organizationName, buf, sizeof buf);
	CHECK_STR(buf, "system:nodes");
	_cleanup_free_ char *cap = xasprintf("%s/tls/ca.crt", d);
	BIO *cb = BIO_new_file(cap, "r");
	X509 *ca = PEM_read_bio_X509(cb, NULL, NULL, NULL);
	REQUIRE(ca);
	CHECK(X509_verify(x, X509_get0_pubkey(ca)) == 1);
	CHECK(X509_check_purpose(x, X509_PURPOSE_SSL_CLIENT, 0) == 1);
	X509_free(ca);
	X509_free(x);
	EVP_PKEY_free(k);
	BIO_free(b);
	BIO_free(kb);
	BIO_free(cb);
	nftw(d, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

TEST(csr_tampered_refused)
{
	_cleanup_free_ char *csr = NULL, *key = NULL, *cn = NULL;
	REQUIRE(pki_csr_new("system:node:n1", NULL, &csr, &key, NULL) == 0);
	/* Flip one character inside the base64 body: the signature no longer verifies (or
	 * the DER no longer parses). */
	char *mid = strstr(csr, "\n") + 40;
	*mid = *mid == 'A' ? 'B' : 'A';
	char **o = NULL;
	size_t no = 0;
	terr *e = NULL;
	CHECK(pki_csr_parse(csr, strlen(csr), &cn, &o, &no, NULL, &e) < 0);
	CHECK(e && e->code == 400);
	terr_free(e);
	e = NULL;
	CHECK(pki_csr_parse("not a csr", 9, &cn, &o, &no, NULL, &e) < 0);
	CHECK(e && e->code == 400);
	terr_free(e);
}

TEST(csr_object_shape)
{
	json_t *o = agent_join_csr_object("node-csr-x", "PEM");
	CHECK_STR(json_path_str(o, "kind"), "CertificateSigningRequest");
	CHECK_STR(json_path_str(o, "apiVersion"), "certificates.k8s.io/v1");
	CHECK_STR(json_path_str(o, "spec.signerName"), "kubernetes.io/kube-apiserver-client-kubelet");
	size_t n = 0;
	_cleanup_free_ unsigned char *raw = base64_decode(json_path_str(o, "spec.request"), &n);
	CHECK(raw && n == 3 && memcmp(raw, "PEM", 3) == 0);
	CHECK_INT(json_array_size(json_path(o, "spec.usages")), 2);
	json_decref(o);
}

TEST(base64_encode_round_trip)
{
	static const char *const in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *const want[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
	for (size_t i = 0; i < ARRAY_SIZE(in); i++) {
		_cleanup_free_ char *s = base64_encode(in[i], strlen(in[i]));
		CHECK_STR(s, want[i]);
	}
}
