/* test_image_ref.c — image reference parsing and normalization (Docker's rules), digests,
 * loopback detection, manifest/index/config parsing and platform choice. */
#include "agent/image-internal.h"
#include "agent/image_ref.h"
#include "test.h"

#define D64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void check_ref(int *test_failed_, const char *in, const char *domain,
                      const char *path, const char *tag, const char *digest, const char *full)
{
	image_ref r;
	terr *err = NULL;
	if (image_ref_parse(in, &r, &err) < 0) {
		fprintf(stderr, "  parse %s: %s\n", in, err->message);
		terr_free(err);
		*test_failed_ = 1;
		return;
	}
	CHECK_STR(r.domain, domain);
	CHECK_STR(r.path, path);
	if (tag)
		CHECK_STR(r.tag, tag);
	else
		CHECK(r.tag == NULL);
	if (digest)
		CHECK_STR(r.digest, digest);
	else
		CHECK(r.digest == NULL);
	char *s = image_ref_string(&r);
	CHECK_STR(s, full);
	free(s);
	image_ref_free(&r);
}

TEST(ref_docker_hub_defaults)
{
	check_ref(test_failed_, "nginx", "docker.io", "library/nginx", "latest", NULL,
	          "docker.io/library/nginx:latest");
	check_ref(test_failed_, "nginx:1.25", "docker.io", "library/nginx", "1.25", NULL,
	          "docker.io/library/nginx:1.25");
	check_ref(test_failed_, "bitnami/redis", "docker.io", "bitnami/redis", "latest", NULL,
	          "docker.io/bitnami/redis:latest");
	check_ref(test_failed_, "docker.io/nginx", "docker.io", "library/nginx", "latest", NULL,
	          "docker.io/library/nginx:latest");
	check_ref(test_failed_, "index.docker.io/library/nginx:x", "docker.io", "library/nginx", "x",
	          NULL, "docker.io/library/nginx:x");
}

TEST(ref_other_registries)
{
	check_ref(test_failed_, "ghcr.io/x/y:tag", "ghcr.io", "x/y", "tag", NULL, "ghcr.io/x/y:tag");
	check_ref(test_failed_, "localhost/a", "localhost", "a", "latest", NULL,
	          "localhost/a:latest");
	check_ref(test_failed_, "localhost:5000/a/b/c:v1.0_rc-2", "localhost:5000", "a/b/c",
	          "v1.0_rc-2", NULL, "localhost:5000/a/b/c:v1.0_rc-2");
	check_ref(test_failed_, "host:5000/a/b@sha256:" D64, "host:5000", "a/b", NULL,
	          "sha256:" D64, "host:5000/a/b@sha256:" D64);
	check_ref(test_failed_, "registry.k8s.io/pause:3.9@sha256:" D64, "registry.k8s.io",
	          "pause", "3.9", "sha256:" D64, "registry.k8s.io/pause:3.9@sha256:" D64);
	check_ref(test_failed_, "[::1]:5000/x", "[::1]:5000", "x", "latest", NULL,
	          "[::1]:5000/x:latest");
	check_ref(test_failed_, "Registry/x", "Registry", "x", "latest", NULL,
	          "Registry/x:latest");
	check_ref(test_failed_, "a/b__c/d-e--f.g", "docker.io", "a/b__c/d-e--f.g", "latest", NULL,
	          "docker.io/a/b__c/d-e--f.g:latest");
}

static void check_bad(int *test_failed_, const char *in, const char *why)
{
	image_ref r;
	terr *err = NULL;
	if (image_ref_parse(in, &r, &err) == 0) {
		fprintf(stderr, "  %s parsed but should not\n", in);
		image_ref_free(&r);
		*test_failed_ = 1;
		return;
	}
	CHECK(err && err->code == 400);
	CHECK_STR(err ? err->reason : NULL, "InvalidImageName");
	if (err && !strstr(err->message, why)) {
		fprintf(stderr, "  %s: message \"%s\" lacks \"%s\"\n", in, err->message, why);
		*test_failed_ = 1;
	}
	terr_free(err);
}

TEST(ref_invalid)
{
	check_bad(test_failed_, "", "empty");
	check_bad(test_failed_, "Nginx", "lowercase");
	check_bad(test_failed_, "docker.io/Library/nginx", "lowercase");
	check_bad(test_failed_, "nginx:", "tag");
	check_bad(test_failed_, "nginx:-x", "tag");
	check_bad(test_failed_, "a//b", "repository");
	check_bad(test_failed_, "a/-b", "repository");
	check_bad(test_failed_, "a/b.", "repository");
	check_bad(test_failed_, "nginx@sha256:abc", "digest");
	check_bad(test_failed_, "nginx@md5:" D64, "unsupported digest");
	check_bad(test_failed_, "nginx@sha256:" D64 "00", "digest");
	check_bad(test_failed_, "nginx @x", "whitespace");
	check_bad(test_failed_, D64, "64-byte");
	check_bad(test_failed_, "-host.io/x", "registry host");
	check_bad(test_failed_, "host.io:x/y", "registry host");
}

TEST(ref_helpers)
{
	image_ref r;
	REQUIRE(image_ref_parse("busybox@sha256:" D64, &r, NULL) == 0);
	CHECK_STR(image_ref_reference(&r), "sha256:" D64);
	CHECK(image_ref_tagged(&r) == NULL);
	char *n = image_ref_name(&r);
	CHECK_STR(n, "docker.io/library/busybox");
	free(n);
	image_ref_free(&r);
	CHECK(image_digest_valid("sha256:" D64));
	CHECK(!image_digest_valid("sha256:" D64 "0"));
	CHECK(!image_digest_valid("sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"));
	CHECK(image_domain_is_loopback("127.0.0.1:5000"));
	CHECK(image_domain_is_loopback("127.1.2.3"));
	CHECK(image_domain_is_loopback("localhost:1"));
	CHECK(image_domain_is_loopback("[::1]:5000"));
	CHECK(!image_domain_is_loopback("127.example.com"));
	CHECK(!image_domain_is_loopback("10.0.0.1:5000"));
	CHECK(!image_domain_is_loopback("docker.io"));
}

TEST(manifest_parse_and_pick)
{
	const char *idx =
	    "{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_INDEX "\",\"manifests\":["
	    "{\"mediaType\":\"" MT_OCI_MANIFEST "\",\"digest\":\"sha256:" D64 "\",\"size\":1,"
	    "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v6\"}},"
	    "{\"mediaType\":\"" MT_OCI_MANIFEST "\",\"digest\":\"sha256:" D64 "\",\"size\":2,"
	    "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v7\"}},"
	    "{\"mediaType\":\"" MT_OCI_MANIFEST "\",\"digest\":\"sha256:" D64 "\",\"size\":3,"
	    "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"}},"
	    "{\"mediaType\":\"" MT_OCI_MANIFEST "\",\"digest\":\"sha256:" D64 "\",\"size\":4,"
	    "\"platform\":{\"os\":\"unknown\",\"architecture\":\"unknown\"}},"
	    "{\"mediaType\":\"" MT_OCI_MANIFEST "\",\"digest\":\"sha256:" D64 "\",\"size\":5,"
	    "\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}}]}";
	image_manifest m;
	REQUIRE(image_manifest_parse(idx, strlen(idx), NULL, &m, NULL) == 0);
	CHECK(m.is_index);
	CHECK_INT(m.n_manifests, 5);
	CHECK_INT(image_manifest_pick(&m, "linux", "amd64", NULL, NULL), 4);
	CHECK_INT(image_manifest_pick(&m, "linux", "arm64", NULL, NULL), 2);
	CHECK_INT(image_manifest_pick(&m, "linux", "arm", "v7", NULL), 1);
	CHECK_INT(image_manifest_pick(&m, "linux", "arm", "v8", NULL), 1);
	terr *err = NULL;
	CHECK(image_manifest_pick(&m, "linux", "s390x", NULL, &err) < 0);
	CHECK(err && strstr(err->message, "no matching manifest for linux/s390x"));
	terr_free(err);
	image_manifest_free(&m);

	/* A Docker schema 2 manifest whose media type only the header gives. */
	const char *man = "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":"
	                  "\"sha256:" D64 "\",\"size\":7},\"layers\":[{\"mediaType\":\"" MT_DOCKER_LAYER
	                  ".gzip\",\"digest\":\"sha256:" D64 "\",\"size\":9}]}";
	REQUIRE(image_manifest_parse(man, strlen(man), MT_DOCKER_MANIFEST "; charset=utf-8", &m,
	                             NULL) == 0);
	CHECK(!m.is_index);
	CHECK_STR(m.media_type, MT_DOCKER_MANIFEST);
	CHECK_INT(m.config.size, 7);
	CHECK_INT(m.n_layers, 1);
	CHECK_INT(m.layers[0].size, 9);
	image_manifest_free(&m);

	const char *v1 = "{\"schemaVersion\":1,\"name\":\"x\",\"fsLayers\":[]}";
	err = NULL;
	CHECK(image_manifest_parse(v1, strlen(v1), NULL, &m, &err) < 0);
	CHECK(err && strstr(err->message, "schema 1"));
	terr_free(err);
	const char *bad = "{\"mediaType\":\"" MT_OCI_MANIFEST "\",\"config\":{\"digest\":\"x\"},"
	                  "\"layers\":[]}";
	err = NULL;
	CHECK(image_manifest_parse(bad, strlen(bad), NULL, &m, &err) < 0);
	terr_free(err);
}

TEST(config_parse)
{
	const char *cfg = "{\"os\":\"linux\",\"architecture\":\"amd64\",\"config\":{"
	                  "\"Entrypoint\":[\"/bin/sh\"],\"Cmd\":[\"-c\",\"x\"],\"Env\":[\"A=1\"],"
	                  "\"WorkingDir\":\"/w\",\"User\":\"1000\",\"ExposedPorts\":{\"80/tcp\":{}},"
	                  "\"StopSignal\":\"SIGQUIT\"},\"rootfs\":{\"type\":\"layers\","
	                  "\"diff_ids\":[\"sha256:" D64 "\"]}}";
	image_config c;
	REQUIRE(image_config_parse(cfg, strlen(cfg), &c, NULL) == 0);
	CHECK_STR(c.entrypoint[0], "/bin/sh");
	CHECK(c.entrypoint[1] == NULL);
	CHECK_STR(c.cmd[1], "x");
	CHECK_STR(c.env[0], "A=1");
	CHECK_STR(c.working_dir, "/w");
	CHECK_STR(c.user, "1000");
	CHECK_STR(c.exposed_ports[0], "80/tcp");
	CHECK_STR(c.stop_signal, "SIGQUIT");
	CHECK_STR(c.diff_ids[0], "sha256:" D64);
	image_config_free(&c);
	const char *nocfg = "{\"rootfs\":{\"diff_ids\":[]}}";
	REQUIRE(image_config_parse(nocfg, strlen(nocfg), &c, NULL) == 0);
	CHECK(c.entrypoint == NULL && c.cmd == NULL && c.working_dir == NULL);
	image_config_free(&c);
	terr *err = NULL;
	CHECK(image_config_parse("{}", 2, &c, &err) < 0);
	terr_free(err);
}

TEST(sha256_and_base64)
{
	char *d = image_sha256_digest("", 0);
	CHECK_STR(d, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	free(d);
	char *e = image_base64_encode("user:pa:ss", 10);
	CHECK_STR(e, "dXNlcjpwYTpzcw==");
	size_t n;
	char *back = image_base64_decode(e, &n);
	CHECK_STR(back, "user:pa:ss");
	CHECK_INT(n, 10);
	free(back);
	free(e);
	CHECK(image_base64_decode("a$b=", &n) == NULL);
}
