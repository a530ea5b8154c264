/* test_pki.c — the cluster PKI, kubeconfig and token file, checked from outside: the openssl
 * CLI verifies chains and reads SANs, kubectl and the Python client read the kubeconfig, and
 * real TLS handshakes over socketpairs exercise the server context. */
#include <errno.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <ftw.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/kubeconfig.h"
#include "base/pki.h"
#include "base/tokenfile.h"
#include "base/util.h"
#include "test.h"

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static void rm_rf(const char *dir)
{
	nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static char *make_tmpdir(void)
{
	char tmpl[] = "/tmp/test_pki.XXXXXX";
	char *d = mkdtemp(tmpl);
	return d ? xstrdup(d) : NULL;
}

/* Runs a shell command; returns its stdout (caller frees) and exit status in *rc. */
static char *run(int *rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *run(int *rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *cmd = NULL;
	if (vasprintf(&cmd, fmt, ap) < 0)
		abort();
	va_end(ap);
	FILE *f = popen(cmd, "r");
	free(cmd);
	if (!f)
		abort();
	buf b = {0};
	char tmp[4096];
	size_t n;
	while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
		buf_add(&b, tmp, n);
	int st = pclose(f);
	*rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	return b.p ? buf_take(&b) : xstrdup("");
}

static char *slurp(const char *path)
{
	char *s = NULL;
	terr *e = NULL;
	if (pki_read_file(path, &s, NULL, &e) < 0) {
		terr_free(e);
		return NULL;
	}
	return s;
}

static int file_mode(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

TEST(ensure_creates_verifiable_pki)
{
	_cleanup_free_ char *d = make_tmpdir();
	REQUIRE(d);
	_cleanup_free_ char *data = xasprintf("%s/data", d); /* created by pki_ensure */
	terr *e = NULL;
	const char *extra[] = {"IP:10.43.0.1", "DNS:timon.example.com", NULL};
	REQUIRE(pki_ensure(data, extra, &e) == 0);
	CHECK(e == NULL);

	char p[4096];
	snprintf(p, sizeof p, "%s/tls", data);
	CHECK_INT(file_mode(p), 0700);
	const char *keys[] = {PKI_CA_KEY, PKI_SERVER_KEY, PKI_ADMIN_KEY};
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		snprintf(p, sizeof p, "%s/tls/%s", data, keys[i]);
		CHECK_INT(file_mode(p), 0600);
	}
	snprintf(p, sizeof p, "%s/tls/%s", data, PKI_CA_CRT);
	CHECK_INT(file_mode(p), 0644);

	int rc;
	char *out = run(&rc,
	                "cd %s/tls && openssl verify -x509_strict -purpose sslserver "
	                "-CAfile ca.crt server.crt 2>&1",
	                data);
	CHECK_INT(rc, 0);
	CHECK(strstr(out, "server.crt: OK") != NULL);
	free(out);
	out = run(&rc,
	          "cd %s/tls && openssl verify -x509_strict -purpose sslclient "
	          "-CAfile ca.crt admin.crt 2>&1",
	          data);
	CHECK_INT(rc, 0);
	CHECK(strstr(out, "admin.crt: OK") != NULL);
	free(out);
	/* The serving certificate is not a client certificate, and vice versa. */
	out = run(&rc,
	          "cd %s/tls && openssl verify -purpose sslclient -CAfile ca.crt "
	          "server.crt 2>&1",
	          data);
	CHECK(rc != 0);
	free(out);

	out = run(&rc, "openssl x509 -in %s/tls/server.crt -noout -ext subjectAltName 2>&1", data);
	CHECK_INT(rc, 0);
	const char *want[] = {"DNS:localhost",
	                      "DNS:kubernetes,",
	                      "DNS:kubernetes.default,",
	                      "DNS:kubernetes.default.svc,",
	                      "DNS:kubernetes.default.svc.cluster.local",
	                      "IP Address:127.0.0.1",
	                      "IP Address:0:0:0:0:0:0:0:1",
	                      "IP Address:10.43.0.1",
	                      "DNS:timon.example.com"};
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		if (!strstr(out, want[i])) {
			fprintf(stderr, "  missing SAN %s in %s\n", want[i], out);
			CHECK(0);
		}
	}
	char host[256] = "";
	if (gethostname(host, sizeof host) == 0 && *host) {
		char h[300];
		snprintf(h, sizeof h, "DNS:%s", host);
		CHECK(strstr(out, h) != NULL);
	}
	free(out);

	out = run(&rc,
	          "openssl x509 -in %s/tls/ca.crt -noout -subject -ext basicConstraints,keyUsage "
	          "-nameopt RFC2253 2>&1",
	          data);
	CHECK(strstr(out, "subject=CN=timon-ca") != NULL);
	CHECK(strstr(out, "CA:TRUE") != NULL);
	CHECK(strstr(out, "Certificate Sign") != NULL);
	free(out);
	out = run(&rc,
	          "openssl x509 -in %s/tls/admin.crt -noout -subject -ext extendedKeyUsage "
	          "-nameopt RFC2253 2>&1",
	          data);
	CHECK(strstr(out, "subject=CN=system:admin,O=system:masters") != NULL);
	CHECK(strstr(out, "TLS Web Client Authentication") != NULL);
	free(out);
	out = run(&rc,
	          "openssl x509 -in %s/tls/server.crt -noout -subject -ext extendedKeyUsage "
	          "-nameopt RFC2253 2>&1",
	          data);
	CHECK(strstr(out, "subject=CN=timon") != NULL);
	CHECK(strstr(out, "TLS Web Server Authentication") != NULL);
	free(out);
	out = run(&rc, "openssl x509 -in %s/tls/ca.crt -noout -text 2>&1", data);
	CHECK(strstr(out, "prime256v1") != NULL);
	CHECK(strstr(out, "ecdsa-with-SHA256") != NULL);
	free(out);
	rm_rf(d);
}

TEST(ensure_reuses_and_reissues)
{
	_cleanup_free_ char *d = make_tmpdir();
	REQUIRE(d);
	terr *e = NULL;
	REQUIRE(pki_ensure(d, NULL, &e) == 0);
	char p[4096];
	snprintf(p, sizeof p, "%s/tls/ca.crt", d);
	_cleanup_free_ char *ca1 = slurp(p);
	snprintf(p, sizeof p, "%s/tls/server.crt", d);
	_cleanup_free_ char *srv1 = slurp(p);
	snprintf(p, sizeof p, "%s/tls/admin.crt", d);
	_cleanup_free_ char *adm1 = slurp(p);
	REQUIRE(ca1 && srv1 && adm1);

	/* A second start with the same needs changes nothing. */
	REQUIRE(pki_ensure(d, NULL, &e) == 0);
	snprintf(p, sizeof p, "%s/tls/server.crt", d);
	_cleanup_free_ char *srv2 = slurp(p);
	CHECK_STR(srv2, srv1);

	/* A new SAN reissues the serving certificate only. */
	const char *extra[] = {"DNS:new.example.org", NULL};
	REQUIRE(pki_ensure(d, extra, &e) == 0);
	_cleanup_free_ char *srv3 = slurp(p);
	REQUIRE(srv3);
	CHECK(strcmp(srv3, srv1) != 0);
	snprintf(p, sizeof p, "%s/tls/ca.crt", d);
	_cleanup_free_ char *ca3 = slurp(p);
	CHECK_STR(ca3, ca1);
	snprintf(p, sizeof p, "%s/tls/admin.crt", d);
	_cleanup_free_ char *adm3 = slurp(p);
	CHECK_STR(adm3, adm1);
	int rc;
	char *out = run(&rc, "openssl x509 -in %s/tls/server.crt -noout -ext subjectAltName", d);
	CHECK(strstr(out, "DNS:new.example.org") != NULL);
	free(out);
	out = run(&rc, "cd %s/tls && openssl verify -CAfile ca.crt server.crt 2>&1", d);
	CHECK_INT(rc, 0);
	free(out);

	/* A removed admin key gets a fresh admin pair under the same CA. */
	snprintf(p, sizeof p, "%s/tls/admin.key", d);
	REQUIRE(unlink(p) == 0);
	REQUIRE(pki_ensure(d, extra, &e) == 0);
	CHECK_INT(file_mode(p), 0600);
	snprintf(p, sizeof p, "%s/tls/admin.crt", d);
	_cleanup_free_ char *adm4 = slurp(p);
	CHECK(adm4 && strcmp(adm4, adm1) != 0);
	out = run(&rc, "cd %s/tls && openssl verify -CAfile ca.crt admin.crt 2>&1", d);
	CHECK_INT(rc, 0);
	free(out);
	/* No temporary files are left behind. */
	out = run(&rc, "ls %s/tls | grep -c tmp", d);
	CHECK_STR(out, "0\n");
	free(out);

	/* A CA certificate without its key is refused, not silently replaced. */
	snprintf(p, sizeof p, "%s/tls/ca.key", d);
	REQUIRE(unlink(p) == 0);
	CHECK(pki_ensure(d, NULL, &e) == -1);
	REQUIRE(e);
	CHECK_INT(e->code, 500);
	CHECK(strstr(e->message, "ca.key") != NULL);
	terr_free(e);
	rm_rf(d);
}

TEST(ensure_rejects_bad_sans)
{
	_cleanup_free_ char *d = make_tmpdir();
	REQUIRE(d);
	terr *e = NULL;
	const char *bad[] = {"IP:999.1.2.3", NULL};
	CHECK(pki_ensure(d, bad, &e) == -1);
	REQUIRE(e);
	CHECK_INT(e->code, 400);
	CHECK(strstr(e->message, "IP:999.1.2.3") != NULL);
	terr_free(e);
	e = NULL;
	const char *bad2[] = {"DNS:has space", NULL};
	CHECK(pki_ensure(d, bad2, &e) == -1);
	CHECK(e && e->code == 400);
	terr_free(e);
	e = NULL;
	/* A bare address is taken as an IP SAN. */
	const char *bare[] = {"fd00::5", NULL};
	REQUIRE(pki_ensure(d, bare, &e) == 0);
	int rc;
	char *out = run(&rc, "openssl x509 -in %s/tls/server.crt -noout -ext subjectAltName", d);
	CHECK(strstr(out, "IP Address:FD00:0:0:0:0:0:0:5") != NULL);
	free(out);
	rm_rf(d);
}

TEST(issue_client)
{
	_cleanup_free_ char *d = make_tmpdir();
	REQUIRE(d);
	terr *e = NULL;
	char *cert = NULL, *key = NULL;
	CHECK(pki_issue_client(d, "system:node:n1", NULL, &cert, &key, &e) == -1);
	CHECK(e != NULL); /* no CA yet */
	terr_free(e);
	e = NULL;
	REQUIRE(pki_ensure(d, NULL, &e) == 0);
	const char *orgs[] = {"system:nodes", "team-a", NULL};
	REQUIRE(pki_issue_client(d, "system:node:n1", orgs, &cert, &key, &e) == 0);
	CHECK(strstr(cert, "-----BEGIN CERTIFICATE-----") == cert);
	CHECK(strstr(key, "-----BEGIN PRIVATE KEY-----") == key);
	char p[4096];
	snprintf(p, sizeof p, "%s/n1.crt", d);
	REQUIRE(pki_write_file_atomic(p, cert, strlen(cert), 0644, &e) == 0);
	int rc;
	char *out = run(&rc,
	                "cd %s && openssl verify -x509_strict -purpose sslclient "
	                "-CAfile tls/ca.crt n1.crt 2>&1",
	                d);
	CHECK_INT(rc, 0);
	free(out);
	out = run(&rc, "openssl x509 -in %s -noout -subject -nameopt RFC2253", p);
	CHECK_STR(out, "subject=CN=system:node:n1,O=team-a,O=system:nodes\n");
	free(out);
	free(cert);
	free(key);
	rm_rf(d);
}

TEST(kubeconfig_for_kubectl_and_python)
{
	_cleanup_free_ char *d = make_tmpdir();
	REQUIRE(d);
	terr *e = NULL;
	REQUIRE(pki_ensure(d, NULL, &e) == 0);
	char kc[4096];
	snprintf(kc, sizeof kc, "%s/kubeconfig.yaml", d);
	REQUIRE(kubeconfig_write(kc, "https://127.0.0.1:6443", d, &e) == 0);
	CHECK_INT(file_mode(kc), 0600);
	int rc;
	char *out = run(&rc,
	                "kubectl config view --kubeconfig %s --raw -o "
	                "jsonpath='{.clusters[0].cluster.server} {.current-context} "
	                "{.contexts[0].context.user}' 2>&1",
	                kc);
	CHECK_INT(rc, 0);
	CHECK_STR(out, "https://127.0.0.1:6443 timon timon");
	free(out);
	/* The embedded CA is ca.crt, byte for byte. */
	out = run(&rc,
	          "kubectl config view --kubeconfig %s --raw -o "
	          "jsonpath='{.clusters[0].cluster.certificate-authority-data}' | base64 -d "
	          "| cmp - %s/tls/ca.crt && echo same",
	          kc, d);
	CHECK_STR(out, "same\n");
	free(out);
	out = run(&rc,
	          "kubectl config view --kubeconfig %s --raw -o "
	          "jsonpath='{.users[0].user.client-key-data}' | base64 -d "
	          "| cmp - %s/tls/admin.key && echo same",
	          kc, d);
	CHECK_STR(out, "same\n");
	free(out);
	out = run(
	    &rc,
	    "/usr/bin/python3 -c 'import sys; from kubernetes import client, config; "
	    "config.load_kube_config(sys.argv[1]); c = client.Configuration.get_default_copy(); "
	    "print(c.host, bool(c.cert_file), bool(c.key_file), bool(c.ssl_ca_cert))' %s 2>&1",
	    kc);
	CHECK_INT(rc, 0);
	CHECK_STR(out, "https://127.0.0.1:6443 True True True\n");
	free(out);
	/* A rewrite with another server replaces the file. */
	REQUIRE(kubeconfig_write(kc, "https://[::1]:7443", d, &e) == 0);
	out = run(&rc,
	          "kubectl config view --kubeconfig %s -o "
	          "jsonpath='{.clusters[0].cluster.server}'",
	          kc);
	CHECK_STR(out, "https://[::1]:7443");
	free(out);
	/* Missing PKI: an error, no file. */
	char kc2[4096];
	snprintf(kc2, sizeof kc2, "%s/other.yaml", d);
	CHECK(kubeconfig_write(kc2, "https://x:1", "/nonexistent/dir", &e) == -1);
	CHECK(e && e->code == 404);
	terr_free(e);
	CHECK(access(kc2, F_OK) != 0);
	rm_rf(d);
}

/* ---- TLS handshakes over a socketpair ---- */

typedef struct tls_pair {
	SSL *srv, *cli;
	int ok;
} tls_pair;

static SSL_CTX *client_ctx(const char *d, const char *cert, const char *key)
{
	SSL_CTX *c = SSL_CTX_new(TLS_client_method());
	char p[4096];
	snprintf(p, sizeof p, "%s/tls/ca.crt", d);
	SSL_CTX_load_verify_locations(c, p, NULL);
	SSL_CTX_set_verify(c, SSL_VERIFY_PEER, NULL);
	if (cert) {
		snprintf(p, sizeof p, "%s/tls/%s", d, cert);
		SSL_CTX_use_certificate_file(c, p, SSL_FILETYPE_PEM);
		snprintf(p, sizeof p, "%s/tls/%s", d, key);
		SSL_CTX_use_PrivateKey_file(c, p, SSL_FILETYPE_PEM);
	}
	return c;
}

/* Drives both ends of a handshake on non-blocking sockets; ok = both finished. */
static tls_pair handshake(SSL_CTX *sctx, SSL_CTX *cctx, const char *host, const unsigned char *alpn,
                          unsigned alpn_len)
{
	tls_pair t = {0};
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) < 0)
		abort();
	t.srv = SSL_new(sctx);
	t.cli = SSL_new(cctx);
	SSL_set_fd(t.srv, sv[0]);
	SSL_set_fd(t.cli, sv[1]);
	SSL_set_accept_state(t.srv);
	SSL_set_connect_state(t.cli);
	if (host)
		SSL_set1_host(t.cli, host);
	if (alpn)
		SSL_set_alpn_protos(t.cli, alpn, alpn_len);
	int sdone = 0, cdone = 0;
	for (int i = 0; i < 1000 && !(sdone && cdone); i++) {
		if (!cdone) {
			int r = SSL_do_handshake(t.cli);
			if (r == 1)
				cdone = 1;
			else if (SSL_get_error(t.cli, r) != SSL_ERROR_WANT_READ)
				break;
		}
		if (!sdone) {
			int r = SSL_do_handshake(t.srv);
			if (r == 1)
				sdone = 1;
			else if (SSL_get_error(t.srv, r) != SSL_ERROR_WANT_READ)
				break;
		}
	}
	/* TLS 1.3 delivers the client certificate with the client's last flight; let the server
	 * read it by exchanging one byte of application data. */
	if (sdone && cdone) {
		char c = 'x';
		SSL_write(t.cli, &c, 1);
		for (int i = 0; i < 100 && SSL_read(t.srv, &c, 1) != 1; i++)
			SSL_read(t.cli, &c, 0);
		t.ok = 1;
	}
	ERR_clear_error();
	return t;
}

static void pair_free(tls_pair *t)
{
	int fs = SSL_get_fd(t->srv), fc = SSL_get_fd(t->cli);
	SSL_free(t->srv);
	SSL_free(t->cli);
	close(fs);
	close(fc);
}

TEST(tls_handshake_identity)
{
	_cleanup_free_ char *d = make_tmpdir();
	_cleanup_free_ char *other = make_tmpdir();
	REQUIRE(d && other);
	terr *e = NULL;
	REQUIRE(pki_ensure(d, NULL, &e) == 0);
	REQUIRE(pki_ensure(other, NULL, &e) == 0);
	SSL_CTX *sctx = pki_server_ctx(d, &e);
	REQUIRE(sctx);

	/* The admin certificate: system:admin in system:masters; ALPN picks http/1.1 over h2. */
	SSL_CTX *admin = client_ctx(d, PKI_ADMIN_CRT, PKI_ADMIN_KEY);
	static const unsigned char h2_h1[] = "\x02h2\x08http/1.1";
	tls_pair t = handshake(sctx, admin, "kubernetes.default.svc", h2_h1, sizeof h2_h1 - 1);
	REQUIRE(t.ok);
	CHECK_INT(SSL_get_verify_result(t.cli), X509_V_OK);
	const unsigned char *proto;
	unsigned plen;
	SSL_get0_alpn_selected(t.cli, &proto, &plen);
	CHECK(plen == 8 && memcmp(proto, "http/1.1", 8) == 0);
	char *user;
	char **groups;
	size_t ng;
	CHECK_INT(pki_peer_identity(t.srv, &user, &groups, &ng), 1);
	CHECK_STR(user, "system:admin");
	CHECK_INT(ng, 1);
	if (ng == 1)
		CHECK_STR(groups[0], "system:masters");
	pki_identity_free(user, groups, ng);
	pair_free(&t);

	/* h2 alone: no protocol is negotiated rather than HTTP/2. */
	static const unsigned char h2[] = "\x02h2";
	t = handshake(sctx, admin, NULL, h2, sizeof h2 - 1);
	CHECK(t.ok);
	SSL_get0_alpn_selected(t.cli, &proto, &plen);
	CHECK_INT(plen, 0);
	pair_free(&t);
	SSL_CTX_free(admin);

	/* No client certificate: the handshake succeeds, without identity. */
	SSL_CTX *anon = client_ctx(d, NULL, NULL);
	t = handshake(sctx, anon, "localhost", NULL, 0);
	CHECK(t.ok);
	CHECK_INT(pki_peer_identity(t.srv, &user, &groups, &ng), 0);
	CHECK(user == NULL && groups == NULL && ng == 0);
	pair_free(&t);
	/* The serving certificate does not match a name it lacks. */
	t = handshake(sctx, anon, "evil.example.com", NULL, 0);
	CHECK(!t.ok);
	pair_free(&t);
	SSL_CTX_free(anon);

	/* A certificate of another cluster's CA: handshake completes, no identity. */
	SSL_CTX *foreign = client_ctx(d, NULL, NULL);
	char p[4096];
	snprintf(p, sizeof p, "%s/tls/admin.crt", other);
	SSL_CTX_use_certificate_file(foreign, p, SSL_FILETYPE_PEM);
	snprintf(p, sizeof p, "%s/tls/admin.key", other);
	SSL_CTX_use_PrivateKey_file(foreign, p, SSL_FILETYPE_PEM);
	t = handshake(sctx, foreign, NULL, NULL, 0);
	CHECK(t.ok);
	CHECK(SSL_get_verify_result(t.srv) != X509_V_OK);
	CHECK_INT(pki_peer_identity(t.srv, &user, &groups, &ng), 0);
	pair_free(&t);
	SSL_CTX_free(foreign);

	/* The serving certificate used as a client certificate: wrong purpose, no identity. */
	SSL_CTX *wrong = client_ctx(d, PKI_SERVER_CRT, PKI_SERVER_KEY);
	t = handshake(sctx, wrong, NULL, NULL, 0);
	CHECK(t.ok);
	CHECK_INT(pki_peer_identity(t.srv, &user, &groups, &ng), 0);
	pair_free(&t);
	SSL_CTX_free(wrong);

	/* A client certificate from pki_issue_client with two groups, over TLS 1.2. */
	char *cert, *key;
	const char *orgs[] = {"system:nodes", "gpu-team", NULL};
	REQUIRE(pki_issue_client(d, "system:node:worker-1", orgs, &cert, &key, &e) == 0);
	snprintf(p, sizeof p, "%s/tls/n.crt", d);
	pki_write_file_atomic(p, cert, strlen(cert), 0644, &e);
	snprintf(p, sizeof p, "%s/tls/n.key", d);
	pki_write_file_atomic(p, key, strlen(key), 0600, &e);
	free(cert);
	free(key);
	SSL_CTX *node = client_ctx(d, "n.crt", "n.key");
	SSL_CTX_set_max_proto_version(node, TLS1_2_VERSION);
	t = handshake(sctx, node, NULL, NULL, 0);
	REQUIRE(t.ok);
	CHECK_INT(SSL_version(t.srv), TLS1_2_VERSION);
	CHECK_INT(pki_peer_identity(t.srv, &user, &groups, &ng), 1);
	CHECK_STR(user, "system:node:worker-1");
	CHECK_INT(ng, 2);
	if (ng == 2) {
		CHECK_STR(groups[0], "system:nodes");
		CHECK_STR(groups[1], "gpu-team");
	}
	pki_identity_free(user, groups, ng);
	pair_free(&t);
	SSL_CTX_free(node);

	/* TLS 1.1 is refused. */
	SSL_CTX *old = client_ctx(d, NULL, NULL);
	SSL_CTX_set_min_proto_version(old, TLS1_VERSION);
	SSL_CTX_set_max_proto_version(old, TLS1_1_VERSION);
	SSL_CTX_set_security_level(old, 0);
	t = handshake(sctx, old, NULL, NULL, 0);
	CHECK(!t.ok);
	pair_free(&t);
	SSL_CTX_free(old);

	SSL_CTX_free(sctx);
	CHECK(pki_server_ctx("/nonexistent", &e) == NULL);
	CHECK(e && e->code == 500);
	terr_free(e);
	rm_rf(d);
	rm_rf(other);
}

/* ---- token file ---- */

static char *write_tmp(const char *dir, const char *content)
{
	char *p = xasprintf("%s/tokens.csv", dir);
	terr *e = NULL;
	if (pki_write_file_atomic(p, content, strlen(content), 0600, &e) < 0)
		abort();
	return p;
}

TEST(tokenfile_load_and_lookup)
{
	_cleanup_free_ char *d = make_tmpdir();
	REQUIRE(d);
	_cleanup_free_ char *p = write_tmp(d, "abc123,alice,1001,\"system:masters,dev\"\r\n"
	                                      "\n"
	                                      "tok-b,bob,1002\n"
	                                      ",ghost,0\n"
	                                      "\"q,uoted\",\"carol \"\"c\"\"\",1003,ops\n"
	                                      "dup,first,1\n"
	                                      "dup,second,2\n");
	terr *e = NULL;
	token_table *t = token_file_load(p, &e);
	REQUIRE(t);
	const token_entry *a = token_lookup(t, "abc123");
	REQUIRE(a);
	CHECK_STR(a->user, "alice");
	CHECK_STR(a->uid, "1001");
	CHECK_INT(a->ngroups, 2);
	if (a->ngroups == 2) {
		CHECK_STR(a->groups[0], "system:masters");
		CHECK_STR(a->groups[1], "dev");
	}
	const token_entry *b = token_lookup(t, "tok-b");
	REQUIRE(b);
	CHECK_STR(b->user, "bob");
	CHECK_INT(b->ngroups, 0);
	const token_entry *c = token_lookup(t, "q,uoted");
	REQUIRE(c);
	CHECK_STR(c->user, "carol \"c\"");
	CHECK_INT(c->ngroups, 1);
	const token_entry *dup = token_lookup(t, "dup");
	REQUIRE(dup);
	CHECK_STR(dup->user, "second");     /* a later line wins */
	CHECK(token_lookup(t, "") == NULL); /* empty tokens are skipped */
	CHECK(token_lookup(t, "abc12") == NULL);
	CHECK(token_lookup(t, "abc1234") == NULL);
	CHECK(token_lookup(t, NULL) == NULL);
	token_table_free(t);
	free(p);

	/* Fewer than three columns is an error naming the file. */
	p = write_tmp(d, "tok,user\n");
	t = token_file_load(p, &e);
	CHECK(t == NULL);
	CHECK(e && strstr(e->message, "at least 3 columns") != NULL);
	terr_free(e);
	e = NULL;
	free(p);
	p = write_tmp(d, "tok,us\"er,1\n");
	CHECK(token_file_load(p, &e) == NULL);
	CHECK(e != NULL);
	terr_free(e);
	e = NULL;
	free(p);
	p = write_tmp(d, "\"tok,user,1\n");
	CHECK(token_file_load(p, &e) == NULL);
	CHECK(e != NULL);
	terr_free(e);
	e = NULL;
	CHECK(token_file_load("/nonexistent/tokens.csv", &e) == NULL);
	CHECK(e && e->code == 404);
	terr_free(e);
	rm_rf(d);
}
