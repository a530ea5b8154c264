/* join.c — a standalone agent's TLS bootstrap (join.h): CA pinning by the join token, a
 * CertificateSigningRequest, and the wait for its certificate. Blocking, before the loop.
 * Not for: the agent's own work (agent.c) or its HTTPS traffic afterwards (remote.c).
 */
#include "agent/join.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "base/base64.h"
#include "base/buf.h"
#include "base/jointoken.h"
#include "base/json.h"
#include "base/log.h"
#include "base/pki.h"
#include "base/util.h"

#define POLL_MS 500

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
	buf_add(ud, p, size * n);
	return size * n;
}

/* One blocking request. ca NULL: the server is not verified (only for /cacerts, whose
 * answer is checked against the token). Returns the status, 0 with err on no answer. */
static int request(const char *url, const char *ca, const char *bearer, const char *cert,
                   const char *key, const char *method, const char *body, buf *out, terr **err)
{
	CURL *e = curl_easy_init();
	if (!e)
		abort();
	struct curl_slist *h = NULL;
	h = curl_slist_append(h, "Accept: application/json");
	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, "User-Agent: timon-agent");
	_cleanup_free_ char *auth = bearer ? xasprintf("Authorization: Bearer %s", bearer) : NULL;
	if (auth)
		h = curl_slist_append(h, auth);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	if (ca) {
		curl_easy_setopt(e, CURLOPT_CAINFO, ca);
	} else {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (cert && key) {
		curl_easy_setopt(e, CURLOPT_SSLCERT, cert);
		curl_easy_setopt(e, CURLOPT_SSLKEY, key);
	}
	if (body)
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
	CURLcode rc = curl_easy_perform(e);
	long code = 0;
	if (rc == CURLE_OK)
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
	else
		terr_set(err, 503, "ServiceUnavailable", "%s: %s", url, curl_easy_strerror(rc));
	curl_slist_free_all(h);
	curl_easy_cleanup(e);
	return (int)code;
}

/* Whether cert_path/key_path hold node's certificate, issued by the CA at ca_path, valid
 * now and for at least a day; why says what is wrong otherwise. */
static bool creds_usable(const char *ca_path, const char *cert_path, const char *key_path,
                         const char *node, const char **why)
{
	*why = "absent";
	if (access(ca_path, R_OK) || access(cert_path, R_OK) || access(key_path, R_OK))
		return false;
	BIO *b1 = BIO_new_file(ca_path, "r"), *b2 = BIO_new_file(cert_path, "r"),
	    *b3 = BIO_new_file(key_path, "r");
	X509 *ca = b1 ? PEM_read_bio_X509(b1, NULL, NULL, NULL) : NULL;
	X509 *cert = b2 ? PEM_read_bio_X509(b2, NULL, NULL, NULL) : NULL;
	EVP_PKEY *key = b3 ? PEM_read_bio_PrivateKey(b3, NULL, NULL, NULL) : NULL;
	BIO_free(b1);
	BIO_free(b2);
	BIO_free(b3);
	char cn[256] = "";
	_cleanup_free_ char *want = xasprintf("system:node:%s", node);
	time_t soon = time(NULL) + 86400;
	if (!ca || !cert || !key)
		*why = "unreadable";
	else if (X509_verify(cert, X509_get0_pubkey(ca)) != 1)
		*why = "not issued by the cluster CA";
	else if (X509_check_private_key(cert, key) != 1)
		*why = "does not match its key";
	else if (X509_cmp_time(X509_get0_notAfter(cert), &soon) <= 0)
		*why = "expired or about to expire";
	else if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn,
	                                   sizeof cn) < 0 || strcmp(cn, want) != 0)
		*why = "for another node";
	else
		*why = NULL;
	ERR_clear_error();
	X509_free(ca);
	X509_free(cert);
	EVP_PKEY_free(key);
	return *why == NULL;
}

json_t *agent_join_csr_object(const char *name, const char *csr_pem)
{
	_cleanup_free_ char *b64 = base64_encode(csr_pem, strlen(csr_pem));
	return json_pack("{s:s, s:s, s:{s:s}, s:{s:s, s:s, s:[s, s]}}", "apiVersion",
	                 "certificates.k8s.io/v1", "kind", "CertificateSigningRequest", "metadata",
	                 "name", name, "spec", "request", b64, "signerName", JOIN_SIGNER, "usages",
	                 "digital signature", "client auth");
}

static const char *status_message(buf *b)
{
	static char msg[512];
	json_t *o = json_loadb(b->p ? b->p : "", b->n, 0, NULL);
	const char *m = json_string_value(json_object_get(o, "message"));
	snprintf(msg, sizeof msg, "%s", m ? m : "");
	json_decref(o);
	return msg;
}

/* Fetches the CA and keeps it when the token pins it. */
static int fetch_ca(const char *url, const join_token *t, const char *ca_path, terr **err)
{
	buf b = {0};
	_cleanup_free_ char *u = xasprintf("%s/cacerts", url);
	int st = request(u, NULL, NULL, NULL, NULL, "GET", NULL, &b, err);
	int ret = -1;
	if (st == 0) {
		terr_wrap(err, "fetching the cluster CA");
	} else if (st != 200 || !b.n) {
		terr_set(err, st, "BadRequest", "%s answered %d, not the cluster CA", u, st);
	} else if (!join_token_ca_matches(t, b.p, b.n)) {
		char h[65];
		pki_sha256_hex(b.p, b.n, h);
		terr_set(err, 401, "Unauthorized",
		         "the CA of %s (sha256 %s) is not the one the join token pins (%s): "
		         "wrong server or wrong token", url, h, t->ca_hash);
	} else {
		ret = pki_write_file_atomic(ca_path, b.p, b.n, 0644, err);
	}
	buf_free(&b);
	return ret;
}

int agent_join(const char *data_dir, const char *url, const char *token, const char *node_name,
               int timeout_s, terr **err)
{
	_cleanup_free_ char *tls = xasprintf("%s/tls", data_dir);
	_cleanup_free_ char *ca = xasprintf("%s/%s", tls, JOIN_CA_FILE);
	_cleanup_free_ char *crt = xasprintf("%s/%s", tls, JOIN_CERT_FILE);
	_cleanup_free_ char *key = xasprintf("%s/%s", tls, JOIN_KEY_FILE);
	const char *why;
	if (creds_usable(ca, crt, key, node_name, &why)) {
		log_info("agent: using the client certificate in %s", crt);
		return 0;
	}
	if (!token || !*token)
		return terr_set(err, 401, "Unauthorized",
		                "no usable client certificate in %s (%s) and no --token to join with",
		                tls, why);
	join_token t;
	if (join_token_parse(token, &t, err) < 0)
		return -1;
	if ((mkdir(data_dir, 0700) < 0 && errno != EEXIST) || (mkdir(tls, 0700) < 0 && errno != EEXIST))
		return terr_internal(err, "mkdir %s: %s", tls, strerror(errno));
	if (fetch_ca(url, &t, ca, err) < 0)
		return -1;
	_cleanup_free_ char *cn = xasprintf("system:node:%s", node_name);
	static const char *const orgs[] = {"system:nodes", NULL};
	_cleanup_free_ char *csr = NULL, *key_pem = NULL;
	if (pki_csr_new(cn, orgs, &csr, &key_pem, err) < 0)
		return -1;
	unsigned char rnd[4];
	random_bytes(rnd, sizeof rnd);
	_cleanup_free_ char *name = xasprintf("node-csr-%s-%02x%02x%02x%02x", node_name, rnd[0],
	                                      rnd[1], rnd[2], rnd[3]);
	json_t *obj = agent_join_csr_object(name, csr);
	_cleanup_free_ char *body = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	_cleanup_free_ char *coll = xasprintf("%s/apis/certificates.k8s.io/v1/certificatesigningrequests", url);
	buf b = {0};
	int st = request(coll, ca, t.credential, NULL, NULL, "POST", body, &b, err);
	if (st != 201 && st != 200) {
		if (st == 401)
			terr_set(err, 401, "Unauthorized",
			         "%s refused the join token (401 Unauthorized): check --token", url);
		else if (st)
			terr_set(err, st, "BadRequest", "creating certificate request %s answered %d: %s",
			         name, st, status_message(&b));
		buf_free(&b);
		return -1;
	}
	log_info("agent: asked %s for a client certificate (certificate request %s)", url, name);
	_cleanup_free_ char *one = xasprintf("%s/%s", coll, name);
	int64_t deadline = time_mono_ns() + (int64_t)timeout_s * 1000000000LL;
	char *cert_pem = NULL;
	size_t cert_len = 0;
	while (!cert_pem) {
		buf_reset(&b);
		st = request(one, ca, t.credential, NULL, NULL, "GET", NULL, &b, NULL);
		json_t *o = st == 200 ? json_loadb(b.p, b.n, 0, NULL) : NULL;
		const char *c64 = json_path_str(o, "status.certificate");
		size_t i;
		json_t *cond;
		const char *bad = NULL;
		json_array_foreach(json_path(o, "status.conditions"), i, cond)
		{
			const char *ty = json_string_value(json_object_get(cond, "type"));
			if (str_eq(ty, "Denied") || str_eq(ty, "Failed"))
				bad = ty;
		}
		if (c64 && *c64)
			cert_pem = (char *)base64_decode(c64, &cert_len);
		if (bad && !cert_pem) {
			terr_set(err, 403, "Forbidden", "certificate request %s was %s", name, bad);
			json_decref(o);
			buf_free(&b);
			return -1;
		}
		json_decref(o);
		if (!cert_pem) {
			if (time_mono_ns() > deadline) {
				buf_free(&b);
				return terr_set(err, 504, "Timeout",
				                "certificate request %s was not signed within %d s", name,
				                timeout_s);
			}
			usleep(POLL_MS * 1000);
		}
	}
	buf_free(&b);
	int ret = pki_write_file_atomic(key, key_pem, strlen(key_pem), 0600, err);
	if (ret == 0)
		ret = pki_write_file_atomic(crt, cert_pem, cert_len, 0644, err);
	free(cert_pem);
	if (ret == 0 && !creds_usable(ca, crt, key, node_name, &why))
		ret = terr_internal(err, "the signed certificate is not usable: %s", why);
	if (ret == 0)
		log_info("agent: joined %s as %s; certificate in %s", url, cn, crt);
	return ret;
}
