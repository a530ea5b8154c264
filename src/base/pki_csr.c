/* pki_csr.c — PKCS#10 certificate signing requests: making one (a node agent asking for
 * its client certificate) and reading one back (the server checking what it signs), and
 * the SHA-256 fingerprint a join token pins the cluster CA with.
 * Not for: signing (pki.c, which owns the CA) or the certificates.k8s.io API object.
 */
#include "base/pki.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "base/buf.h"
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
	return pki_csr_new_sans(cn, orgs, NULL, csr_pem, key_pem, err);
}

/* The subjectAltName extension for "IP:x"/"DNS:x" specs, in OpenSSL's config syntax. */
static X509_EXTENSION *san_ext(const char *const *sans)
{
	buf b = {0};
	for (size_t i = 0; sans && sans[i]; i++)
		buf_printf(&b, "%s%s", i ? "," : "", sans[i]);
	X509_EXTENSION *e = b.n ? X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, b.p) : NULL;
	buf_free(&b);
	return e;
}

int pki_csr_new_sans(const char *cn, const char *const *orgs, const char *const *sans,
                     char **csr_pem, char **key_pem, terr **err)
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
	if (ok && sans && sans[0]) {
		X509_EXTENSION *e = san_ext(sans);
		STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
		ok = e && exts && sk_X509_EXTENSION_push(exts, e) && X509_REQ_add_extensions(req, exts);
		if (!ok)
			X509_EXTENSION_free(e);
		else
			sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
		if (!ok)
			sk_X509_EXTENSION_free(exts);
	}
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
	bool named = pki_name_identity(X509_REQ_get_subject_name(req), cn, orgs, norgs);
	X509_REQ_free(req);
	if (!named) {
		EVP_PKEY_free(key);
		return terr_bad_request(err, "the certificate request's subject has no usable common name");
	}
	if (pub)
		*pub = key;
	else
		EVP_PKEY_free(key);
	return 0;
}

int pki_csr_sans(const char *pem, size_t len, char ***sans, size_t *nsans, terr **err)
{
	*sans = NULL, *nsans = 0;
	if (!pem || len == 0 || len > 64 * 1024)
		return terr_bad_request(err, "the certificate request is empty or too large");
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	X509_REQ *req = b ? PEM_read_bio_X509_REQ(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	if (!req)
		return csr_fail(err, 400, "the certificate request does not parse as PEM PKCS#10");
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
	GENERAL_NAMES *gens = NULL;
	for (int i = 0; exts && i < sk_X509_EXTENSION_num(exts) && !gens; i++) {
		X509_EXTENSION *e = sk_X509_EXTENSION_value(exts, i);
		if (OBJ_obj2nid(X509_EXTENSION_get_object(e)) == NID_subject_alt_name)
			gens = X509V3_EXT_d2i(e);
	}
	char **v = xcalloc(1, sizeof *v);
	size_t n = 0;
	for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		int type;
		ASN1_STRING *s = GENERAL_NAME_get0_value(g, &type);
		const unsigned char *d = s ? ASN1_STRING_get0_data(s) : NULL;
		int dn = s ? ASN1_STRING_length(s) : 0;
		char *spec = NULL;
		if (type == GEN_DNS && d && dn > 0 && !memchr(d, 0, (size_t)dn)) {
			spec = xasprintf("DNS:%.*s", dn, (const char *)d);
		} else if (type == GEN_IPADD && (dn == 4 || dn == 16)) {
			char ip[INET6_ADDRSTRLEN];
			if (inet_ntop(dn == 4 ? AF_INET : AF_INET6, d, ip, sizeof ip))
				spec = xasprintf("IP:%s", ip);
		}
		if (spec) {
			v = xrealloc(v, (n + 2) * sizeof *v);
			v[n++] = spec;
			v[n] = NULL;
		}
	}
	GENERAL_NAMES_free(gens);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(req);
	ERR_clear_error();
	*sans = v, *nsans = n;
	return 0;
}

/* Seconds since the epoch of an ASN.1 time. */
static int64_t asn1_unix(const ASN1_TIME *t)
{
	struct tm tm;
	if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return (int64_t)timegm(&tm);
}

int pki_cert_info(const char *pem, size_t len, int64_t *not_before, int64_t *not_after,
                  char **serial_hex)
{
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	if (!x) {
		ERR_clear_error();
		return -1;
	}
	*not_before = asn1_unix(X509_get0_notBefore(x));
	*not_after = asn1_unix(X509_get0_notAfter(x));
	if (serial_hex) {
		BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
		char *h = bn ? BN_bn2hex(bn) : NULL;
		*serial_hex = h ? xstrdup(h) : NULL;
		OPENSSL_free(h);
		BN_free(bn);
	}
	X509_free(x);
	return 0;
}

bool pki_cert_has_san(const char *pem, size_t len, const char *spec)
{
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	bool ok = false;
	if (x && X509_cmp_current_time(X509_get0_notAfter(x)) > 0) {
		if (strncmp(spec, "IP:", 3) == 0)
			ok = X509_check_ip_asc(x, spec + 3, 0) == 1;
		else if (strncmp(spec, "DNS:", 4) == 0)
			ok = X509_check_host(x, spec + 4, 0, X509_CHECK_FLAG_NO_WILDCARDS, NULL) == 1;
	}
	X509_free(x);
	ERR_clear_error();
	return ok;
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
