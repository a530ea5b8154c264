/* pki.c — the cluster CA, the certificates it issues (serving, admin, clients) and the TLS
 * server context, with OpenSSL 3's non-deprecated APIs.
 *
 * Certificates follow what strict verifiers (OpenSSL -x509_strict, Python 3.13's default
 * context, Go) require: v3, random positive serials, critical basicConstraints, keyUsage,
 * subject and authority key identifiers, SANs for servers.
 *
 * Not for: parsing kubeconfig files, HTTP, or authorization decisions.
 */
#include "base/pki.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/util.h"

#define CA_DAYS           (10 * 365 + 2)
#define LEAF_DAYS         365
#define RENEW_BEFORE_DAYS 90

static void x509_freep(X509 **p)
{
	X509_free(*p);
}
static void pkey_freep(EVP_PKEY **p)
{
	EVP_PKEY_free(*p);
}
static void bio_freep(BIO **p)
{
	BIO_free(*p);
}
static void gens_freep(GENERAL_NAMES **p)
{
	GENERAL_NAMES_free(*p);
}
#define _cleanup_x509_ __attribute__((cleanup(x509_freep)))
#define _cleanup_pkey_ __attribute__((cleanup(pkey_freep)))
#define _cleanup_bio_  __attribute__((cleanup(bio_freep)))
#define _cleanup_gens_ __attribute__((cleanup(gens_freep)))

/* Sets a 500 error naming what failed and OpenSSL's reason; clears OpenSSL's queue. */
static int ossl_fail(terr **err, const char *what)
{
	char msg[256] = "unknown OpenSSL error";
	unsigned long e = ERR_peek_last_error();
	if (e)
		ERR_error_string_n(e, msg, sizeof msg);
	ERR_clear_error();
	return terr_internal(err, "%s: %s", what, msg);
}

static char *tls_path(const char *data_dir, const char *name)
{
	return xasprintf("%s/tls/%s", data_dir, name);
}

static bool file_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* ---- files ---- */

int pki_read_file(const char *path, char **out, size_t *n, terr **err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return terr_not_found(err, "%s: no such file", path);
		return terr_internal(err, "open %s: %s", path, strerror(errno));
	}
	buf b = {0};
	char tmp[8192];
	for (;;) {
		ssize_t r = read(fd, tmp, sizeof tmp);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			buf_free(&b);
			return terr_internal(err, "read %s: %s", path, strerror(errno));
		}
		if (r == 0)
			break;
		if (b.n + (size_t)r > 64u << 20) {
			buf_free(&b);
			return terr_internal(err, "%s: file too large", path);
		}
		buf_add(&b, tmp, (size_t)r);
	}
	if (n)
		*n = b.n;
	*out = b.p ? buf_take(&b) : xstrdup("");
	return 0;
}

static int write_all(int fd, const void *data, size_t n)
{
	const char *p = data;
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int write_atomic(const char *path, const void *data, size_t n, mode_t mode, bool durable,
                        terr **err)
{
	_cleanup_free_ char *tmp = xasprintf("%s.tmp.XXXXXX", path);
	_cleanup_close_ int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return terr_internal(err, "create %s: %s", tmp, strerror(errno));
	if (fchmod(fd, mode) < 0 || write_all(fd, data, n) < 0 || (durable && fsync(fd) < 0)) {
		int e = errno;
		unlink(tmp);
		return terr_internal(err, "write %s: %s", tmp, strerror(e));
	}
	if (rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return terr_internal(err, "rename %s: %s", path, strerror(e));
	}
	if (!durable)
		return 0;
	_cleanup_free_ char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = 0;
	else if (slash)
		*slash = 0;
	else
		strcpy(dir, ".");
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) < 0)
		return terr_internal(err, "fsync %s: %s", dir, strerror(errno));
	return 0;
}

int pki_write_file_atomic(const char *path, const void *data, size_t n, mode_t mode, terr **err)
{
	return write_atomic(path, data, n, mode, true, err);
}

int pki_replace_file(const char *path, const void *data, size_t n, mode_t mode, terr **err)
{
	return write_atomic(path, data, n, mode, false, err);
}

/* mkdir -p; the folders it creates get mode. */
static int mkdir_p(const char *path, mode_t mode, terr **err)
{
	_cleanup_free_ char *p = xstrdup(path);
	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s != 0)
			continue;
		char c = *s;
		*s = 0;
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return terr_internal(err, "mkdir %s: %s", p, strerror(errno));
		*s = c;
		if (!c)
			break;
	}
	struct stat st;
	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
		return terr_internal(err, "%s: not a directory", path);
	return 0;
}

/* ---- PEM in and out ---- */

static X509 *load_cert(const char *path, terr **err)
{
	_cleanup_bio_ BIO *b = BIO_new_file(path, "r");
	X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	if (!x)
		ossl_fail(err, path);
	return x;
}

static EVP_PKEY *load_key(const char *path, terr **err)
{
	_cleanup_bio_ BIO *b = BIO_new_file(path, "r");
	EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
	if (!k)
		ossl_fail(err, path);
	return k;
}

/* PEM text of a certificate or (cert NULL) a private key; caller frees. */
static char *to_pem(X509 *cert, EVP_PKEY *key)
{
	_cleanup_bio_ BIO *b = BIO_new(BIO_s_mem());
	int ok = cert ? PEM_write_bio_X509(b, cert)
	              : PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL);
	if (!b || !ok)
		abort(); /* memory BIOs only fail when out of memory */
	char *data;
	long n = BIO_get_mem_data(b, &data);
	return xstrndup(data, (size_t)n);
}

static int save_pem(const char *path, X509 *cert, EVP_PKEY *key, terr **err)
{
	_cleanup_free_ char *pem = to_pem(cert, key);
	return pki_write_file_atomic(path, pem, strlen(pem), cert ? 0644 : 0600, err);
}

/* ---- subject alternative names ---- */

typedef struct san {
	int type; /* GEN_DNS or GEN_IPADD */
	char *dns;
	unsigned char ip[16];
	int iplen;
} san;

typedef struct san_list {
	san *v;
	size_t n, cap;
} san_list;

static void san_list_free(san_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].dns);
	free(l->v);
}

static bool san_eq(const san *a, const san *b)
{
	if (a->type != b->type)
		return false;
	if (a->type == GEN_DNS)
		return strcasecmp(a->dns, b->dns) == 0;
	return a->iplen == b->iplen && memcmp(a->ip, b->ip, (size_t)a->iplen) == 0;
}

static void san_push(san_list *l, san s)
{
	for (size_t i = 0; i < l->n; i++) {
		if (san_eq(&l->v[i], &s)) {
			free(s.dns);
			return;
		}
	}
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->v = xrealloc(l->v, l->cap * sizeof *l->v);
	}
	l->v[l->n++] = s;
}

static bool parse_ip(const char *s, san *out)
{
	if (inet_pton(AF_INET, s, out->ip) == 1)
		out->iplen = 4;
	else if (inet_pton(AF_INET6, s, out->ip) == 1)
		out->iplen = 16;
	else
		return false;
	out->type = GEN_IPADD;
	return true;
}

static bool valid_dns(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 253)
		return false;
	for (const char *p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (!(c == '.' || c == '-' || c == '_' || c == '*' || (c >= '0' && c <= '9') ||
		      (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
			return false;
	}
	return true;
}

/* Adds "IP:x", "DNS:x" or a bare address or name. */
static int san_add_spec(san_list *l, const char *spec, terr **err)
{
	san s = {0};
	if (strncasecmp(spec, "IP:", 3) == 0) {
		if (!parse_ip(spec + 3, &s))
			return terr_bad_request(err, "invalid IP subject alternative name %s",
			                        spec);
	} else if (strncasecmp(spec, "DNS:", 4) == 0 || !parse_ip(spec, &s)) {
		const char *name = strncasecmp(spec, "DNS:", 4) == 0 ? spec + 4 : spec;
		if (!valid_dns(name))
			return terr_bad_request(err, "invalid DNS subject alternative name %s",
			                        spec);
		s = (san){.type = GEN_DNS, .dns = xstrdup(name)};
	}
	san_push(l, s);
	return 0;
}

static void san_add_ifaddrs(san_list *l)
{
	struct ifaddrs *ifs;
	if (getifaddrs(&ifs) < 0) {
		log_warn("pki: getifaddrs: %s", strerror(errno));
		return;
	}
	for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
		if (!i->ifa_addr)
			continue;
		san s = {.type = GEN_IPADD};
		if (i->ifa_addr->sa_family == AF_INET) {
			memcpy(s.ip, &((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr, 4);
			s.iplen = 4;
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			memcpy(s.ip, &((struct sockaddr_in6 *)(void *)i->ifa_addr)->sin6_addr, 16);
			s.iplen = 16;
		} else {
			continue;
		}
		san_push(l, s);
	}
	freeifaddrs(ifs);
}

static int needed_sans(san_list *l, const char *const *extra, terr **err)
{
	static const char *const fixed[] = {
	    "DNS:localhost",
	    "DNS:kubernetes",
	    "DNS:kubernetes.default",
	    "DNS:kubernetes.default.svc",
	    "DNS:kubernetes.default.svc.cluster.local",
	    "IP:127.0.0.1",
	    "IP:::1",
	};
	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
		san_add_spec(l, fixed[i], NULL);
	char host[HOST_NAME_MAX + 1] = "";
	if (gethostname(host, sizeof host) == 0 && valid_dns(host))
		san_push(l, (san){.type = GEN_DNS, .dns = xstrdup(host)});
	san_add_ifaddrs(l);
	for (size_t i = 0; extra && extra[i]; i++)
		if (san_add_spec(l, extra[i], err) < 0)
			return -1;
	return 0;
}

static GENERAL_NAMES *sans_to_gens(const san_list *l)
{
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	for (size_t i = 0; i < l->n; i++) {
		GENERAL_NAME *g = GENERAL_NAME_new();
		ASN1_STRING *v =
		    l->v[i].type == GEN_DNS ? ASN1_IA5STRING_new() : ASN1_OCTET_STRING_new();
		if (l->v[i].type == GEN_DNS)
			ASN1_STRING_set(v, l->v[i].dns, -1);
		else
			ASN1_STRING_set(v, l->v[i].ip, l->v[i].iplen);
		GENERAL_NAME_set0_value(g, l->v[i].type, v);
		sk_GENERAL_NAME_push(gens, g);
	}
	return gens;
}

/* Whether every entry of need is among cert's SANs. */
static bool cert_has_sans(X509 *cert, const san_list *need)
{
	_cleanup_gens_ GENERAL_NAMES *gens =
	    X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	if (!gens)
		return need->n == 0;
	for (size_t i = 0; i < need->n; i++) {
		bool found = false;
		for (int j = 0; j < sk_GENERAL_NAME_num(gens) && !found; j++) {
			GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, j);
			int type;
			ASN1_STRING *v = GENERAL_NAME_get0_value(g, &type);
			if (type != need->v[i].type || !v)
				continue;
			const unsigned char *d = ASN1_STRING_get0_data(v);
			size_t dn = (size_t)ASN1_STRING_length(v);
			if (type == GEN_DNS)
				found = dn == strlen(need->v[i].dns) &&
				        strncasecmp((const char *)d, need->v[i].dns, dn) == 0;
			else
				found = dn == (size_t)need->v[i].iplen &&
				        memcmp(d, need->v[i].ip, dn) == 0;
		}
		if (!found)
			return false;
	}
	return true;
}

/* ---- issuing ---- */

typedef struct cert_spec {
	const char *cn;
	const char *const *orgs; /* NULL-terminated, may be NULL */
	bool ca;
	const char *eku;      /* "serverAuth" / "clientAuth"; NULL for the CA */
	const san_list *sans; /* may be NULL */
	int days;
	long ttl_s;           /* when > 0, the lifetime in seconds instead of days */
} cert_spec;

static EVP_PKEY *new_key(terr **err)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (!k)
		ossl_fail(err, "generate P-256 key");
	return k;
}

static int add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *e = X509V3_EXT_nconf_nid(NULL, ctx, nid, value);
	if (!e)
		return -1;
	int ok = X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	return ok ? 0 : -1;
}

static int set_serial(X509 *x)
{
	unsigned char raw[16];
	random_bytes(raw, sizeof raw);
	raw[0] &= 0x7f; /* positive */
	raw[0] |= 0x01; /* and never zero */
	BIGNUM *bn = BN_bin2bn(raw, sizeof raw, NULL);
	int ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
	BN_free(bn);
	return ok ? 0 : -1;
}

/* A certificate for key, signed by issuer/issuer_key (NULL: self-signed). */
static X509 *make_cert(const cert_spec *s, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key,
                       terr **err)
{
	_cleanup_x509_ X509 *x = X509_new();
	if (!x)
		abort(); /* only fails when out of memory */
	X509_NAME *name = X509_get_subject_name(x);
	bool ok = X509_set_version(x, X509_VERSION_3) && set_serial(x) == 0 &&
	          X509_gmtime_adj(X509_getm_notBefore(x), s->ttl_s > 0 && s->ttl_s < 36000 ? -(s->ttl_s / 10) : -3600) &&
	          (s->ttl_s > 0 ? X509_gmtime_adj(X509_getm_notAfter(x), s->ttl_s) != NULL
	                        : X509_time_adj_ex(X509_getm_notAfter(x), s->days, 0, NULL) != NULL) &&
	          X509_set_pubkey(x, key);
	for (size_t i = 0; ok && s->orgs && s->orgs[i]; i++)
		ok = X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
		                                (const unsigned char *)s->orgs[i], -1, -1, 0);
	ok = ok && X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	                                      (const unsigned char *)s->cn, -1, -1, 0);
	ok = ok && X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
	if (!ok) {
		ossl_fail(err, "build certificate");
		return NULL;
	}
	X509V3_CTX ctx;
	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	int r = add_ext(x, &ctx, NID_subject_key_identifier, "hash");
	r |= add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always");
	if (s->ca) {
		r |= add_ext(x, &ctx, NID_basic_constraints, "critical,CA:TRUE");
		r |= add_ext(x, &ctx, NID_key_usage,
		             "critical,digitalSignature,keyCertSign,cRLSign");
	} else {
		r |= add_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE");
		r |= add_ext(x, &ctx, NID_key_usage, "critical,digitalSignature,keyEncipherment");
		r |= add_ext(x, &ctx, NID_ext_key_usage, s->eku);
	}
	if (r == 0 && s->sans && s->sans->n) {
		_cleanup_gens_ GENERAL_NAMES *gens = sans_to_gens(s->sans);
		if (!X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT))
			r = -1;
	}
	if (r != 0 || !X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256())) {
		ossl_fail(err, "sign certificate");
		return NULL;
	}
	X509 *ret = x;
	x = NULL;
	return ret;
}

/* Whether leaf (with leaf_key) was issued by ca, matches its key and is not about to expire. */
static bool leaf_usable(X509 *leaf, EVP_PKEY *leaf_key, X509 *ca, const char **why)
{
	time_t cutoff = time(NULL) + (time_t)RENEW_BEFORE_DAYS * 86400;
	if (X509_check_issued(ca, leaf) != X509_V_OK ||
	    X509_verify(leaf, X509_get0_pubkey(ca)) != 1)
		*why = "not issued by the cluster CA";
	else if (X509_check_private_key(leaf, leaf_key) != 1)
		*why = "does not match its key";
	else if (X509_cmp_time(X509_get0_notAfter(leaf), &cutoff) <= 0)
		*why = "expires soon";
	else
		*why = NULL;
	ERR_clear_error();
	return *why == NULL;
}

/* Reuses <tls>/crt+key when usable (and, with s->sans, carrying them all); else issues. */
static int ensure_leaf(const char *data_dir, const char *crt, const char *keyf, const cert_spec *s,
                       X509 *ca, EVP_PKEY *ca_key, terr **err)
{
	_cleanup_free_ char *crt_path = tls_path(data_dir, crt);
	_cleanup_free_ char *key_path = tls_path(data_dir, keyf);
	const char *why = "absent";
	if (file_exists(crt_path) && file_exists(key_path)) {
		_cleanup_x509_ X509 *cur = load_cert(crt_path, NULL);
		_cleanup_pkey_ EVP_PKEY *cur_key = load_key(key_path, NULL);
		ERR_clear_error();
		if (!cur || !cur_key)
			why = "unreadable";
		else if (!leaf_usable(cur, cur_key, ca, &why))
			;
		else if (s->sans && !cert_has_sans(cur, s->sans))
			why = "missing a subject alternative name";
		else {
			chmod(key_path, 0600);
			return 0;
		}
	}
	_cleanup_pkey_ EVP_PKEY *key = new_key(err);
	if (!key)
		return -1;
	_cleanup_x509_ X509 *cert = make_cert(s, key, ca, ca_key, err);
	if (!cert)
		return -1;
	if (save_pem(key_path, NULL, key, err) < 0 || save_pem(crt_path, cert, NULL, err) < 0)
		return -1;
	log_info("pki: issued %s for %s (previous one %s)", crt_path, s->cn, why);
	return 0;
}

/* Loads the CA of data_dir, creating it when absent. */
static int ensure_ca(const char *data_dir, X509 **ca, EVP_PKEY **ca_key, terr **err)
{
	_cleanup_free_ char *crt_path = tls_path(data_dir, PKI_CA_CRT);
	_cleanup_free_ char *key_path = tls_path(data_dir, PKI_CA_KEY);
	if (file_exists(crt_path)) {
		if (!file_exists(key_path))
			return terr_internal(err,
			                     "%s exists but %s is missing: cannot issue "
			                     "certificates",
			                     crt_path, key_path);
		_cleanup_x509_ X509 *c = load_cert(crt_path, err);
		if (!c)
			return -1;
		_cleanup_pkey_ EVP_PKEY *k = load_key(key_path, err);
		if (!k)
			return -1;
		if (X509_check_private_key(c, k) != 1)
			return ossl_fail(err, "cluster CA certificate does not match ca.key");
		chmod(key_path, 0600);
		*ca = c, *ca_key = k;
		c = NULL, k = NULL;
		return 0;
	}
	_cleanup_pkey_ EVP_PKEY *k = new_key(err);
	if (!k)
		return -1;
	cert_spec s = {.cn = "timon-ca", .ca = true, .days = CA_DAYS};
	_cleanup_x509_ X509 *c = make_cert(&s, k, NULL, NULL, err);
	if (!c)
		return -1;
	/* The key first: a crash in between leaves a key without a certificate, which the next
	 * start replaces, never a certificate without its key. */
	if (save_pem(key_path, NULL, k, err) < 0 || save_pem(crt_path, c, NULL, err) < 0)
		return -1;
	log_info("pki: created cluster CA %s", crt_path);
	*ca = c, *ca_key = k;
	c = NULL, k = NULL;
	return 0;
}

static int load_ca(const char *data_dir, X509 **ca, EVP_PKEY **ca_key, terr **err)
{
	_cleanup_free_ char *crt_path = tls_path(data_dir, PKI_CA_CRT);
	_cleanup_free_ char *key_path = tls_path(data_dir, PKI_CA_KEY);
	*ca = load_cert(crt_path, err);
	if (!*ca)
		return -1;
	*ca_key = load_key(key_path, err);
	if (!*ca_key) {
		X509_free(*ca);
		*ca = NULL;
		return -1;
	}
	return 0;
}

int pki_ensure(const char *data_dir, const char *const *extra_sans, terr **err)
{
	san_list sans = {0};
	int ret = -1;
	X509 *ca = NULL;
	EVP_PKEY *ca_key = NULL;
	_cleanup_free_ char *tls_dir = xasprintf("%s/tls", data_dir);
	if (needed_sans(&sans, extra_sans, err) < 0)
		goto out;
	if (mkdir_p(data_dir, 0700, err) < 0 || mkdir_p(tls_dir, 0700, err) < 0)
		goto out;
	if (chmod(tls_dir, 0700) < 0) {
		terr_internal(err, "chmod %s: %s", tls_dir, strerror(errno));
		goto out;
	}
	if (ensure_ca(data_dir, &ca, &ca_key, err) < 0)
		goto out;
	static const char *const admin_orgs[] = {"system:masters", NULL};
	cert_spec server = {.cn = "timon", .eku = "serverAuth", .sans = &sans, .days = LEAF_DAYS};
	cert_spec admin = {
	    .cn = "system:admin", .orgs = admin_orgs, .eku = "clientAuth", .days = LEAF_DAYS};
	cert_spec kubelet_client = {.cn = PKI_KUBELET_CLIENT_CN, .orgs = admin_orgs,
	                            .eku = "clientAuth", .days = LEAF_DAYS};
	if (ensure_leaf(data_dir, PKI_SERVER_CRT, PKI_SERVER_KEY, &server, ca, ca_key, err) < 0 ||
	    ensure_leaf(data_dir, PKI_ADMIN_CRT, PKI_ADMIN_KEY, &admin, ca, ca_key, err) < 0 ||
	    ensure_leaf(data_dir, PKI_KUBELET_CLIENT_CRT, PKI_KUBELET_CLIENT_KEY, &kubelet_client,
	                ca, ca_key, err) < 0)
		goto out;
	ret = 0;
out:
	san_list_free(&sans);
	X509_free(ca);
	EVP_PKEY_free(ca_key);
	if (ret < 0)
		terr_wrap(err, "cluster certificates in %s", tls_dir);
	return ret;
}

int pki_issue_client(const char *data_dir, const char *cn, const char *const *orgs, char **cert_pem,
                     char **key_pem, terr **err)
{
	if (!cn || !*cn)
		return terr_bad_request(err, "a client certificate needs a common name");
	_cleanup_x509_ X509 *ca = NULL;
	_cleanup_pkey_ EVP_PKEY *ca_key = NULL;
	if (load_ca(data_dir, &ca, &ca_key, err) < 0)
		return -1;
	_cleanup_pkey_ EVP_PKEY *key = new_key(err);
	if (!key)
		return -1;
	cert_spec s = {.cn = cn, .orgs = orgs, .eku = "clientAuth", .days = LEAF_DAYS};
	_cleanup_x509_ X509 *cert = make_cert(&s, key, ca, ca_key, err);
	if (!cert)
		return -1;
	*cert_pem = to_pem(cert, NULL);
	*key_pem = to_pem(NULL, key);
	return 0;
}

int pki_sign_csr(const char *data_dir, const char *csr_pem, size_t len, const char *eku,
                 long ttl_s, char **cert_pem, terr **err)
{
	san_list sans = {0};
	if (eku && strcmp(eku, "serverAuth") == 0) {
		char **specs = NULL;
		size_t nspecs = 0;
		if (pki_csr_sans(csr_pem, len, &specs, &nspecs, err) < 0)
			return -1;
		int r = 0;
		for (size_t i = 0; i < nspecs && r == 0; i++)
			r = san_add_spec(&sans, specs[i], err);
		pki_identity_free(NULL, specs, nspecs);
		if (r < 0) {
			san_list_free(&sans);
			return -1;
		}
	}
	_cleanup_free_ char *cn = NULL;
	char **orgs = NULL;
	size_t norgs = 0;
	EVP_PKEY *pub = NULL;
	if (pki_csr_parse(csr_pem, len, &cn, &orgs, &norgs, &pub, err) < 0) {
		san_list_free(&sans);
		return -1;
	}
	_cleanup_pkey_ EVP_PKEY *pubkey = pub;
	const char **o = xcalloc(norgs + 1, sizeof *o);
	for (size_t i = 0; i < norgs; i++)
		o[i] = orgs[i];
	int ret = -1;
	X509 *ca = NULL;
	EVP_PKEY *ca_key = NULL;
	if (load_ca(data_dir, &ca, &ca_key, err) == 0) {
		cert_spec s = {.cn = cn, .orgs = o, .eku = eku ? eku : "clientAuth",
		               .sans = sans.n ? &sans : NULL, .days = LEAF_DAYS, .ttl_s = ttl_s};
		_cleanup_x509_ X509 *cert = make_cert(&s, pubkey, ca, ca_key, err);
		if (cert) {
			*cert_pem = to_pem(cert, NULL);
			ret = 0;
		}
	}
	X509_free(ca);
	EVP_PKEY_free(ca_key);
	free(o);
	pki_identity_free(NULL, orgs, norgs);
	san_list_free(&sans);
	return ret;
}

/* ---- TLS server ---- */

/* k8s: an invalid client certificate is not a handshake failure; the request is simply
 * not authenticated by it. The verdict stays in SSL_get_verify_result. */
static int accept_any_cb(int preverify_ok, X509_STORE_CTX *ctx)
{
	UNUSED(preverify_ok);
	UNUSED(ctx);
	return 1;
}

/* Selects "http/1.1" when offered and nothing else: HTTP/2 is never negotiated. */
static int alpn_select_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                          const unsigned char *in, unsigned int inlen, void *arg)
{
	UNUSED(ssl);
	UNUSED(arg);
	for (unsigned int i = 0; i < inlen;) {
		unsigned int l = in[i];
		if (i + 1 + l > inlen)
			break;
		if (l == 8 && memcmp(in + i + 1, "http/1.1", 8) == 0) {
			*out = in + i + 1;
			*outlen = 8;
			return SSL_TLSEXT_ERR_OK;
		}
		i += 1 + l;
	}
	return SSL_TLSEXT_ERR_NOACK;
}

SSL_CTX *pki_server_ctx(const char *data_dir, terr **err)
{
	_cleanup_free_ char *crt = tls_path(data_dir, PKI_SERVER_CRT);
	_cleanup_free_ char *key = tls_path(data_dir, PKI_SERVER_KEY);
	_cleanup_free_ char *ca = tls_path(data_dir, PKI_CA_CRT);
	return pki_server_ctx_files(ca, crt, key, err);
}

SSL_CTX *pki_server_ctx_files(const char *ca, const char *crt, const char *key, terr **err)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx) {
		ossl_fail(err, "SSL_CTX_new");
		return NULL;
	}
	const char *step = NULL;
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION))
		step = "set minimum TLS version";
	else if (!SSL_CTX_set_cipher_list(ctx, "ECDHE-ECDSA-AES128-GCM-SHA256:"
	                                       "ECDHE-ECDSA-AES256-GCM-SHA384:"
	                                       "ECDHE-ECDSA-CHACHA20-POLY1305"))
		step = "set TLS 1.2 ciphers";
	else if (SSL_CTX_use_certificate_chain_file(ctx, crt) != 1)
		step = crt;
	else if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
		step = key;
	else if (SSL_CTX_check_private_key(ctx) != 1)
		step = "serving certificate and key do not match";
	else if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1)
		step = ca;
	else if (SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"timon", 5) != 1)
		step = "set session id context";
	if (!step) {
		STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(ca);
		if (!names)
			step = ca;
		else
			SSL_CTX_set_client_CA_list(ctx, names);
	}
	if (step) {
		ossl_fail(err, step);
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
	                             SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, accept_any_cb);
	SSL_CTX_set_verify_depth(ctx, 4);
	SSL_CTX_set_alpn_select_cb(ctx, alpn_select_cb, NULL);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	return ctx;
}

SSL_CTX *pki_client_ctx(const char *ca, const char *crt, const char *key, terr **err)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx) {
		ossl_fail(err, "SSL_CTX_new");
		return NULL;
	}
	const char *step = NULL;
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION))
		step = "set minimum TLS version";
	else if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1)
		step = ca;
	else if (crt && SSL_CTX_use_certificate_chain_file(ctx, crt) != 1)
		step = crt;
	else if (key && SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
		step = key;
	if (step) {
		ossl_fail(err, step);
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_verify_depth(ctx, 4);
	return ctx;
}

/* The UTF-8 text of a name entry, or NULL when it holds a NUL or does not convert. */
static char *entry_text(X509_NAME_ENTRY *e)
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

void pki_identity_free(char *user, char **groups, size_t ngroups)
{
	for (size_t i = 0; i < ngroups; i++)
		free(groups[i]);
	free(groups);
	free(user);
}

bool pki_name_identity(const X509_NAME *name, char **cn, char ***orgs, size_t *norgs)
{
	*cn = NULL, *orgs = NULL, *norgs = 0;
	char *c = NULL;
	char **gs = NULL;
	size_t ng = 0;
	bool bad = false;
	for (int i = 0; i < X509_NAME_entry_count(name) && !bad; i++) {
		X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);
		int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
		if (nid != NID_commonName && nid != NID_organizationName)
			continue;
		char *s = entry_text(e);
		if (!s) {
			bad = true;
		} else if (nid == NID_commonName) {
			free(c); /* like Go's pkix.Name, the last CN counts */
			c = s;
		} else {
			gs = xrealloc(gs, (ng + 1) * sizeof *gs);
			gs[ng++] = s;
		}
	}
	/* k8s: a subject without a common name names nobody. */
	if (bad || !c || !*c) {
		pki_identity_free(c, gs, ng);
		return false;
	}
	*cn = c, *orgs = gs, *norgs = ng;
	return true;
}

int pki_peer_identity(SSL *ssl, char **user, char ***groups, size_t *ngroups)
{
	*user = NULL, *groups = NULL, *ngroups = 0;
	X509 *peer = SSL_get0_peer_certificate(ssl);
	if (!peer || SSL_get_verify_result(ssl) != X509_V_OK)
		return 0;
	return pki_name_identity(X509_get_subject_name(peer), user, groups, ngroups) ? 1 : 0;
}
