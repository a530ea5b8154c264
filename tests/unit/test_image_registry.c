/* test_image_registry.c — registries.yaml (k3s format), endpoint order and schemes,
 * pull-secret keyring matching, WWW-Authenticate challenges and registry error bodies. */
#include "agent/image-internal.h"
#include "agent/image_registry.h"
#include "test.h"

static const char yaml[] =
    "mirrors:\n"
    "  docker.io:\n"
    "    endpoint:\n"
    "      - \"https://mirror.example.com:5000\"\n"
    "      - \"http://10.0.0.1/prefix/\"\n"
    "  \"*\":\n"
    "    endpoint: [\"https://catchall.example.com/v2\"]\n"
    "configs:\n"
    "  \"mirror.example.com:5000\":\n"
    "    auth:\n"
    "      username: alice\n"
    "      password: secret\n"
    "    tls:\n"
    "      insecure_skip_verify: true\n"
    "      ca_file: /etc/ca.pem\n"
    "  \"127.0.0.1:5443\":\n"
    "    tls:\n"
    "      insecure_skip_verify: true\n"
    "  \"registry.example.com\":\n"
    "    auth:\n"
    "      auth: Ym9iOnB3\n";

TEST(registries_parse_and_endpoints)
{
	terr *err = NULL;
	image_registries *r = image_registries_parse(yaml, sizeof yaml - 1, &err);
	REQUIRE(r != NULL);
	CHECK_INT(r->n_mirrors, 2);
	CHECK_INT(r->n_configs, 3);
	const image_host_config *c = image_registries_host(r, "registry.example.com");
	REQUIRE(c != NULL);
	CHECK_STR(c->auth.username, "bob");
	CHECK_STR(c->auth.password, "pw");

	image_endpoint *eps;
	size_t n;
	REQUIRE(image_registries_endpoints(r, "docker.io", &eps, &n, NULL) == 0);
	REQUIRE(n == 3);
	CHECK_STR(eps[0].url, "https://mirror.example.com:5000/v2");
	CHECK(eps[0].mirror);
	CHECK(eps[0].tls.insecure_skip_verify);
	CHECK_STR(eps[0].tls.ca_file, "/etc/ca.pem");
	REQUIRE(eps[0].auth != NULL);
	CHECK_STR(eps[0].auth->username, "alice");
	CHECK_STR(eps[1].url, "http://10.0.0.1/prefix/v2");
	CHECK(eps[1].auth == NULL);
	CHECK_STR(eps[2].url, "https://registry-1.docker.io/v2");
	CHECK(!eps[2].mirror);
	image_endpoints_free(eps, n);

	/* "*" catches every other registry; the registry itself stays the fallback. */
	REQUIRE(image_registries_endpoints(r, "registry.example.com", &eps, &n, NULL) == 0);
	REQUIRE(n == 2);
	CHECK_STR(eps[0].url, "https://catchall.example.com/v2");
	CHECK_STR(eps[1].url, "https://registry.example.com/v2");
	REQUIRE(eps[1].auth != NULL);
	CHECK_STR(eps[1].auth->username, "bob");
	image_endpoints_free(eps, n);
	image_registries_free(r);

	/* Loopback registries speak plain HTTP unless a TLS config names them. */
	r = image_registries_parse(yaml, sizeof yaml - 1, NULL);
	r->n_mirrors = 1; /* drop "*" for this check (freed with the rest) */
	REQUIRE(image_registries_endpoints(r, "127.0.0.1:5000", &eps, &n, NULL) == 0);
	REQUIRE(n == 1);
	CHECK_STR(eps[0].url, "http://127.0.0.1:5000/v2");
	image_endpoints_free(eps, n);
	REQUIRE(image_registries_endpoints(r, "127.0.0.1:5443", &eps, &n, NULL) == 0);
	CHECK_STR(eps[0].url, "https://127.0.0.1:5443/v2");
	CHECK(eps[0].tls.insecure_skip_verify);
	image_endpoints_free(eps, n);
	r->n_mirrors = 2;
	image_registries_free(r);

	REQUIRE(image_registries_endpoints(NULL, "localhost:1", &eps, &n, NULL) == 0);
	CHECK_STR(eps[0].url, "http://localhost:1/v2");
	image_endpoints_free(eps, n);
}

TEST(registries_edge_cases)
{
	terr *err = NULL;
	image_registries *r = image_registries_parse("", 0, &err);
	REQUIRE(r != NULL);
	CHECK_INT(r->n_mirrors + r->n_configs, 0);
	image_registries_free(r);
	r = image_registries_parse("mirrors: [1]\n", 13, &err);
	CHECK(r == NULL && err && err->code == 400);
	terr_free(err);
	err = NULL;
	const char *badauth = "configs:\n  x:\n    auth:\n      auth: \"!!\"\n";
	r = image_registries_parse(badauth, strlen(badauth), &err);
	CHECK(r == NULL && err && strstr(err->message, "base64"));
	terr_free(err);
	err = NULL;
	r = image_registries_load("/nonexistent/registries.yaml", &err);
	REQUIRE(r != NULL);
	image_registries_free(r);
	const char *ftp = "mirrors:\n  docker.io:\n    endpoint: [\"ftp://x\"]\n";
	r = image_registries_parse(ftp, strlen(ftp), NULL);
	REQUIRE(r != NULL);
	image_endpoint *eps;
	size_t n;
	err = NULL;
	CHECK(image_registries_endpoints(r, "docker.io", &eps, &n, &err) < 0);
	terr_free(err);
	image_registries_free(r);
}

TEST(keyring_matching)
{
	const char *secret =
	    "{\"auths\":{"
	    "\"https://index.docker.io/v1/\":{\"auth\":\"aHViOmh1YnB3\"},"
	    "\"registry.example.com\":{\"username\":\"u1\",\"password\":\"p1\"},"
	    "\"registry.example.com/team\":{\"username\":\"u2\",\"password\":\"p2\"},"
	    "\"*.corp.example\":{\"username\":\"u3\",\"password\":\"p3\"},"
	    "\"127.0.0.1:5000\":{\"username\":\"u4\",\"password\":\"p4\"}}}";
	image_keyring *k = image_keyring_new();
	REQUIRE(image_keyring_add(k, secret, strlen(secret), NULL) == 0);
	const image_auth *a = image_keyring_lookup(k, "docker.io", "library/nginx");
	REQUIRE(a != NULL);
	CHECK_STR(a->username, "hub");
	CHECK_STR(a->password, "hubpw");
	a = image_keyring_lookup(k, "registry.example.com", "team/app");
	REQUIRE(a != NULL);
	CHECK_STR(a->username, "u2");
	a = image_keyring_lookup(k, "registry.example.com", "teamx/app");
	REQUIRE(a != NULL);
	CHECK_STR(a->username, "u1");
	a = image_keyring_lookup(k, "eu.corp.example", "x");
	REQUIRE(a != NULL);
	CHECK_STR(a->username, "u3");
	CHECK(image_keyring_lookup(k, "a.eu.corp.example", "x") == NULL);
	CHECK(image_keyring_lookup(k, "127.0.0.1:5001", "x") == NULL);
	a = image_keyring_lookup(k, "127.0.0.1:5000", "x");
	REQUIRE(a != NULL);
	CHECK_STR(a->username, "u4");
	CHECK(image_keyring_lookup(k, "ghcr.io", "x") == NULL);

	/* The legacy .dockercfg shape: the map alone. */
	const char *legacy = "{\"ghcr.io\":{\"username\":\"g\",\"password\":\"h\"}}";
	REQUIRE(image_keyring_add(k, legacy, strlen(legacy), NULL) == 0);
	a = image_keyring_lookup(k, "ghcr.io", "x/y");
	REQUIRE(a != NULL);
	CHECK_STR(a->username, "g");
	terr *err = NULL;
	CHECK(image_keyring_add(k, "[1]", 3, &err) < 0);
	terr_free(err);
	image_keyring_free(k);
}

TEST(challenges)
{
	image_challenge c;
	REQUIRE(image_challenge_parse("Bearer realm=\"https://auth.docker.io/token\","
	                              "service=\"registry.docker.io\","
	                              "scope=\"repository:library/nginx:pull\"",
	                              &c) == 0);
	CHECK_STR(c.scheme, "Bearer");
	CHECK_STR(c.realm, "https://auth.docker.io/token");
	CHECK_STR(c.service, "registry.docker.io");
	CHECK_STR(c.scope, "repository:library/nginx:pull");
	image_challenge_free(&c);
	REQUIRE(image_challenge_parse("Basic realm=\"Registry Realm\"", &c) == 0);
	CHECK_STR(c.scheme, "Basic");
	CHECK_STR(c.realm, "Registry Realm");
	CHECK(c.service == NULL && c.scope == NULL);
	image_challenge_free(&c);
	REQUIRE(image_challenge_parse("bearer realm=http://x/t , service=svc,scope=\"a\\\"b\"", &c) ==
	        0);
	CHECK_STR(c.realm, "http://x/t");
	CHECK_STR(c.service, "svc");
	CHECK_STR(c.scope, "a\"b");
	image_challenge_free(&c);
	CHECK(image_challenge_parse("", &c) < 0);
	image_challenge_free(&c);
}

TEST(registry_error_messages)
{
	const char *b = "{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"manifest "
	                "unknown\",\"detail\":{\"Tag\":\"latest\"}}]}";
	char *m = image_registry_error_message(b, strlen(b));
	CHECK_STR(m, "manifest unknown");
	free(m);
	b = "{\"errors\":[{\"code\":\"UNAUTHORIZED\"},{\"code\":\"X\",\"message\":\"second\"}]}";
	m = image_registry_error_message(b, strlen(b));
	CHECK_STR(m, "UNAUTHORIZED; second");
	free(m);
	b = "{\"details\":\"incorrect username or password\"}";
	m = image_registry_error_message(b, strlen(b));
	CHECK_STR(m, "incorrect username or password");
	free(m);
	CHECK(image_registry_error_message("<html>", 6) == NULL);
	CHECK(image_registry_error_message(NULL, 0) == NULL);
}
