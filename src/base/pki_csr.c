/* pki_csr.c — PKCS#10 certificate signing requests: making one (a node agent asking for
 * its client certificate) and reading one back (the server checking what it signs), and
 * the SHA-256 fingerprint a join token pins the cluster CA with.
 * Not for: signing (pki.c, which owns the CA) or the certificates.k8s.io API object.
 */
#include "base/pki.h"

#include <stdio.h>
#include <stdlib.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "base/util.h"

static int csr_fail(terr **err, int code, const char *what)
{
	char msg[256] = "unknown OpenSSL error";
	unsigned long e = ERR_peek_last_error();
	if (e)
		ERR_error_string_n(e, msg, sizeof msg);
	ERR_clear_error();
	if (code == 400)
		return terr_bad_request(err, "%s: %s", what, msg);
	return terr_internal(err, "%s: %s", what, msg);
}

static char *bio_text(BIO *b)
{
	char *data;
	long n = BIO_get_mem_data(b, &data);
	return xstrndup(data, (size_t)n);
}

int pki_csr_new(const char *cn, const char *const *orgs, char **csr_pem, char **key_pem,
                terr **err)
{
	if (!cn || !*cn)
		return terr_bad_request(err, "a certificate request needs a common name");
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (!key)
		return csr_fail(err, 500, "generate P-256 key");
	X509_REQ *req = X509_REQ_new();
	BIO *kb = BIO_new(BIO_s_mem()), *rb = BIO_new(BIO_s_mem());
	if (!req || !kb || !rb)
		abort(); /* only fails when out of memory */
	X509_NAME *name = X509_REQ_get_subject_name(req);
	bool ok = X509_REQ_set_version(req, X509_REQ_VERSION_1) && X509_REQ_set_pubkey(req, key);
	for (size_t i = 0; ok && orgs && orgs[i]; i++)
		ok = X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
		                                (const unsigned char *)orgs[i], -1, -1, 0);
	ok = ok && X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	                                      (const unsigned char *)cn, -1, -1, 0);
	ok = ok && X509_REQ_sign(req, key, EVP_sha256()) > 0 && PEM_write_bio_X509_REQ(rb, req) &&
	     PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL);
	int ret = ok ? 0 : csr_fail(err, 500, "build certificate request");
	if (ok) {
		*csr_pem = bio_text(rb);
		*key_pem = bio_text(kb);
	}
	BIO_free(kb);
	BIO_free(rb);
	X509_REQ_free(req);
	EVP_PKEY_free(key);
	return ret;
}

/* The UTF-8 text of a name entry; NULL when it holds a NUL or does not convert. */
static char *entry_utf8(X509_NAME_ENTRY *e)
{
	unsigned char *utf8 = NULL;
	int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e));
	if (n < 0) {
		ERR_clear_error();
		return NULL;
	}
	char *s = memchr(utf8, 0, (size_t)n) ? NULL : xstrndup((const char *)utf8, (size_t)n);
	OPENSSL_free(utf8);
	return s;
}

int pki_csr_parse(const char *pem, size_t len, char **cn, char ***orgs, size_t *norgs,
                  EVP_PKEY **pub, terr **err)
{
	*cn = NULL, *orgs = NULL, *norgs = 0;
	if (pub)
		*pub = NULL;
	if (!pem || len == 0 || len > 64 * 1024)
		return terr_bad_request(err, "the certificate request is empty or too large");
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	X509_REQ *req = b ? PEM_read_bio_X509_REQ(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	if (!req)
		return csr_fail(err, 400, "the certificate request does not parse as PEM PKCS#10");
	EVP_PKEY *key = X509_REQ_get_pubkey(req);
	if (!key || X509_REQ_verify(req, key) != 1) {
		EVP_PKEY_free(key);
		X509_REQ_free(req);
		return csr_fail(err, 400, "the certificate request's signature does not verify");
	}
	const X509_NAME *name = X509_REQ_get_subject_name(req);
	char *c = NULL;
	char **gs = NULL;
	size_t ng = 0;
	bool bad = false;
	for (int i = 0; i < X509_NAME_entry_count(name) && !bad; i++) {
		X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);
		int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
		if (nid != NID_commonName && nid != NID_organizationName)
			continue;
		char *s = entry_utf8(e);
		if (!s) {
			bad = true;
		} else if (nid == NID_commonName) {
			free(c);
			c = s;
		} else {
			gs = xrealloc(gs, (ng + 1) * sizeof *gs);
			gs[ng++] = s;
		}
	}
	X509_REQ_free(req);
	if (bad || !c || !*c) {
		pki_identity_free(c, gs, ng);
		EVP_PKEY_free(key);
		return terr_bad_request(err, "the certificate request's subject has no usable common name");
	}
	*cn = c, *orgs = gs, *norgs = ng;
	if (pub)
		*pub = key;
	else
		EVP_PKEY_free(key);
	return 0;
}

void pki_sha256_hex(const void *data, size_t n, char out[65])
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	if (!EVP_Digest(data, n, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
		abort(); /* SHA-256 over memory cannot fail */
	for (size_t i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}
