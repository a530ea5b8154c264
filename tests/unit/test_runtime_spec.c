/* test_runtime_spec.c — the OCI spec builder (src/agent/runtime_spec.c,
 * runtime_security.c): Kubernetes' command/args/Entrypoint/Cmd rules, $(VAR) expansion,
 * env order, resources to cgroup values (v1 and v2), QoS and oom_score_adj, users and
 * runAsNonRoot, capabilities, seccomp, namespaces, mounts; and the CRI log parser and
 * reader (runtime_logs.c), which are pure too. Nothing here runs a container. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/runtime.h"
#include "base/json.h"
#include "base/util.h"
#include "test.h"

/* All capabilities 0..40 (a host that has every one). */
#define ALL_CAPS ((1ULL << 41) - 1)

static char *image_entry[] = {"/bin/sh", NULL};
static char *image_cmd[] = {"-c", "echo hello", NULL};
static char *image_env[] = {"PATH=/bin", "GREETING=hi", NULL};
static image_config image = {.entrypoint = image_entry,
                             .cmd = image_cmd,
                             .env = image_env,
                             .working_dir = "/home/user",
                             .user = "1000:1000"};

static json_t *pod_with(const char *ctr_json, const char *pod_spec_extra)
{
	char *text =
	    xasprintf("{\"metadata\":{\"name\":\"web\",\"namespace\":\"ns1\",\"uid\":\"u-1\"},"
	              "\"spec\":{%s%s\"containers\":[%s]}}",
	              pod_spec_extra ? pod_spec_extra : "", pod_spec_extra ? "," : "", ctr_json);
	json_error_t je;
	json_t *p = json_loads(text, 0, &je);
	if (!p)
		fprintf(stderr, "bad test json: %s: %s\n", je.text, text);
	free(text);
	return p;
}

/* Builds the spec of the pod's first container; NULL (and *e) on error. */
static json_t *build_ex(json_t *pod, const image_config *img, int cgv, const char *rootfs,
                        const runtime_mount *mounts, size_t n_mounts, const char *netns, terr **e)
{
	runtime_spec_input in = {
	    .id = "c-1",
	    .pod = pod,
	    .container = json_array_get(json_path(pod, "spec.containers"), 0),
	    .image = img,
	    .image_ref = "docker.io/library/busybox:1",
	    .rootfs = rootfs ? rootfs : "/nonexistent-rootfs",
	    .netns_path = netns,
	    .mounts = mounts,
	    .n_mounts = n_mounts,
	    .cgroup_version = cgv,
	    .machine_memory = 4LL << 30,
	    .cap_bounding = ALL_CAPS,
	};
	json_t *spec = NULL;
	if (runtime_spec_build(&in, &spec, e) < 0)
		return NULL;
	return spec;
}

static json_t *build(json_t *pod, const image_config *img, int cgv)
{
	terr *e = NULL;
	json_t *s = build_ex(pod, img, cgv, NULL, NULL, 0, NULL, &e);
	if (!s)
		fprintf(stderr, "  build failed: %s\n", e ? e->message : "?");
	terr_free(e);
	return s;
}

/* The JSON array at path as one string, items joined by '|'. */
static char *joined(json_t *spec, const char *path)
{
	buf b = {0};
	buf_puts(&b, "");
	size_t i;
	json_t *v;
	json_array_foreach(json_path(spec, path), i, v)
	{
		if (i)
			buf_putc(&b, '|');
		if (json_is_string(v))
			buf_puts(&b, json_string_value(v));
		else
			buf_printf(&b, "%lld", (long long)json_integer_value(v));
	}
	return buf_take(&b);
}

static bool arr_has(json_t *arr, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
	{
		if (str_eq(json_string_value(v), s))
			return true;
	}
	return false;
}

/* ---- command and args ---- */

TEST(args_default_to_image_entrypoint_and_cmd)
{
	json_t *pod = pod_with("{\"name\":\"c\"}", NULL);
	json_t *s = build(pod, &image, 1);
	REQUIRE(s);
	char *a = joined(s, "process.args");
	CHECK_STR(a, "/bin/sh|-c|echo hello");
	free(a);
	json_decref(s);
	json_decref(pod);
}

TEST(command_replaces_entrypoint_and_drops_cmd)
{
	json_t *pod = pod_with("{\"name\":\"c\",\"command\":[\"/app\",\"-v\"]}", NULL);
	json_t *s = build(pod, &image, 1);
	REQUIRE(s);
	char *a = joined(s, "process.args");
	CHECK_STR(a, "/app|-v");
	free(a);
	json_decref(s);
	json_decref(pod);
}

TEST(args_alone_follow_the_entrypoint)
{
	json_t *pod = pod_with("{\"name\":\"c\",\"args\":[\"-c\",\"exit 3\"]}", NULL);
	json_t *s = build(pod, &image, 1);
	REQUIRE(s);
	char *a = joined(s, "process.args");
	CHECK_STR(a, "/bin/sh|-c|exit 3");
	free(a);
	json_decref(s);
	json_decref(pod);
}

TEST(command_and_args_together)
{
	json_t *pod =
	    pod_with("{\"name\":\"c\",\"command\":[\"/app\"],\"args\":[\"x\",\"y\"]}", NULL);
	json_t *s = build(pod, &image, 1);
	REQUIRE(s);
	char *a = joined(s, "process.args");
	CHECK_STR(a, "/app|x|y");
	free(a);
	json_decref(s);
	json_decref(pod);
}

TEST(empty_command_counts_as_unset)
{
	json_t *pod = pod_with("{\"name\":\"c\",\"command\":[],\"args\":[\"z\"]}", NULL);
	json_t *s = build(pod, &image, 1);
	REQUIRE(s);
	char *a = joined(s, "process.args");
	CHECK_STR(a, "/bin/sh|z");
	free(a);
	json_decref(s);
	json_decref(pod);
}

TEST(nothing_to_run_is_an_error)
{
	json_t *pod = pod_with("{\"name\":\"c\"}", NULL);
	image_config bare = {0};
	terr *e = NULL;
	json_t *s = build_ex(pod, &bare, 1, NULL, NULL, 0, NULL, &e);
	CHECK(!s);
	REQUIRE(e);
	CHECK_STR(e->reason, "CreateContainerError");
	terr_free(e);
	json_decref(pod);
}

/* ---- env and $(VAR) ---- */

TEST(expand_env_rules)
{
	char *env[] = {"A=1", "B=two", "A=3"};
	struct {
		const char *in, *want;
	} cases[] = {
	    {"$(A)", "3"}, /* the last definition wins */
	    {"x$(B)y", "xtwoy"},
	    {"$$(A)", "$(A)"}, /* $$ escapes */
	    {"$(MISSING)", "$(MISSING)"},
	    {"$A", "$A"},
	    {"cost: 5$", "cost: 5$"},
	    {"$(A", "$(A"},
	    {"$()", "$()"},
	    {"$$", "$"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *got = runtime_expand_env(cases[i].in, env, 3);
		CHECK_STR(got, cases[i].want);
		free(got);
	}
}

TEST(env_order_and_expansion)
{
	json_t *pod =
	    pod_with("{\"name\":\"c\",\"command\":[\"/bin/echo\",\"$(GREETING)\",\"$(SVC_PORT)\"],"
	             "\"env\":[{\"name\":\"GREETING\",\"value\":\"hello\"},"
	             "{\"name\":\"B\",\"value\":\"$(GREETING)-$(SVC_PORT)-$(PATH)\"},"
	             "{\"name\":\"SVC_PORT\",\"value\":\"81\"}]}",
	             "\"hostname\":\"h1\"");
	char *extra[] = {"SVC_PORT=80", "SVC_HOST=10.0.0.1", NULL};
	runtime_spec_input in = {.id = "c-1",
	                         .pod = pod,
	                         .container = json_array_get(json_path(pod, "spec.containers"), 0),
	                         .image = &image,
	                         .rootfs = "/nonexistent",
	                         .extra_env = extra,
	                         .cgroup_version = 1,
	                         .cap_bounding = ALL_CAPS};
	json_t *s = NULL;
	terr *e = NULL;
	REQUIRE(runtime_spec_build(&in, &s, &e) == 0);
	char *env = joined(s, "process.env");
	/* HOSTNAME, the image's (GREETING overridden in place), then kubelet's list; the
	 * image's PATH is not visible to $(VAR); the service env loses to the container's. */
	CHECK_STR(env, "HOSTNAME=h1|PATH=/bin|GREETING=hello|B=hello-80-$(PATH)|SVC_PORT=81|"
	               "SVC_HOST=10.0.0.1");
	char *args = joined(s, "process.args");
	CHECK_STR(args, "/bin/echo|hello|81");
	CHECK_STR(json_path_str(s, "process.cwd"), "/home/user");
	free(env);
	free(args);
	json_decref(s);
	json_decref(pod);
}

TEST(env_default_path_and_working_dir)
{
	json_t *pod =
	    pod_with("{\"name\":\"c\",\"command\":[\"/x\"],\"workingDir\":\"/srv\"}", NULL);
	image_config bare = {0};
	json_t *s = build(pod, &bare, 1);
	REQUIRE(s);
	CHECK(arr_has(json_path(s, "process.env"),
	              "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));
	CHECK(arr_has(json_path(s, "process.env"), "HOSTNAME=web"));
	CHECK_STR(json_path_str(s, "process.cwd"), "/srv");
	CHECK_STR(json_path_str(s, "hostname"), "web");
	json_decref(s);
	json_decref(pod);
}

TEST(long_hostnames_are_cut_to_63)
{
	json_t *pod = pod_with("{\"name\":\"c\"}",
	                       "\"hostname\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-.-bbbb\"");
	json_t *s = build(pod, &image, 1);
	REQUIRE(s);
	CHECK_STR(json_path_str(s, "hostname"),
	          "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	CHECK(arr_has(json_path(s, "process.env"),
	              "HOSTNAME=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
	json_decref(s);
	json_decref(pod);
}

TEST(env_value_from_must_be_resolved)
{
	json_t *pod = pod_with("{\"name\":\"c\",\"env\":[{\"name\":\"S\",\"valueFrom\":"
	                       "{\"secretKeyRef\":{\"name\":\"s\",\"key\":\"k\"}}}]}",
	                       NULL);
	terr *e = NULL;
	CHECK(!build_ex(pod, &image, 1, NULL, NULL, 0, NULL, &e));
	REQUIRE(e);
	CHECK_STR(e->reason, "CreateContainerConfigError");
	CHECK(strstr(e->message, "valueFrom"));
	terr_free(e);
	json_decref(pod);
}

/* ---- resources ---- */

TEST(cpu_conversions)
{
	CHECK_INT(runtime_cpu_shares(0), 2);
	CHECK_INT(runtime_cpu_shares(1), 2);
	CHECK_INT(runtime_cpu_shares(250), 256);
	CHECK_INT(runtime_cpu_shares(1000), 1024);
	CHECK_INT(runtime_cpu_shares(1000000), 262144);
	CHECK_INT(runtime_cpu_quota(500, 100000), 50000);
	CHECK_INT(runtime_cpu_quota(1, 100000), 1000); /* MinQuotaPeriod */
	CHECK_INT(runtime_cpu_quota(0, 100000), 0);
	CHECK_INT(runtime_cpu_weight(2), 1);
	CHECK_INT(runtime_cpu_weight(1024), 39);
	CHECK_INT(runtime_cpu_weight(262144), 10000);
}

TEST(resources_cgroup_v1)
{
	json_t *pod =
	    pod_with("{\"name\":\"c\",\"resources\":{\"requests\":{\"cpu\":\"250m\","
	             "\"memory\":\"32Mi\"},\"limits\":{\"cpu\":\"500m\",\"memory\":\"64Mi\"}}}",
	             NULL);
	json_t *s = build(pod, &image, 1);
	REQUIRE(s);
	CHECK_INT(json_integer_value(json_path(s, "linux.resources.cpu.shares")), 256);
	CHECK_INT(json_integer_value(json_path(s, "linux.resources.cpu.quota")), 50000);
	CHECK_INT(json_integer_value(json_path(s, "linux.resources.cpu.period")), 100000);
	CHECK_INT(json_integer_value(json_path(s, "linux.resources.memory.limit")), 64 << 20);
	CHECK(!json_path(s, "linux.resources.unified"));
	CHECK_STR(json_path_str(s, "linux.cgroupsPath"), "/timon/podu-1/c-1");
	json_decref(s);
	json_decref(pod);
}

TEST(resources_cgroup_v2)
{
	json_t *pod = pod_with("{\"name\":\"c\",\"resources\":{\"requests\":{\"cpu\":\"1\"},"
	                       "\"limits\":{\"cpu\":\"1500m\",\"memory\":\"1G\"}}}",
	                       NULL);
	json_t *s = build(pod, &image, 2);
	REQUIRE(s);
	json_t *u = json_path(s, "linux.resources.unified");
	REQUIRE(u);
	CHECK_STR(json_string_value(json_object_get(u, "cpu.weight")), "39");
	CHECK_STR(json_string_value(json_object_get(u, "cpu.max")), "150000 100000");
	CHECK_STR(json_string_value(json_object_get(u, "memory.max")), "1000000000");
	CHECK(!json_path(s, "linux.resources.cpu"));
	/* v2 gets a cgroup namespace. */
	size_t i;
	json_t *n;
	bool cgns = false;
	json_array_foreach(json_path(s, "linux.namespaces"), i, n)
	{
		cgns = cgns || str_eq(json_string_value(json_object_get(n, "type")), "cgroup");
	}
	CHECK(cgns);
	json_decref(s);
	json_decref(pod);
}

TEST(resources_request_defaults_to_limit_and_besteffort_gets_min_shares)
{
	json_t *pod = pod_with("{\"name\":\"c\",\"resources\":{\"limits\":{\"cpu\":\"2\"}}}", NULL);
	json_t *s = build(pod, &image, 1);
	REQUIRE(s);
	CHECK_INT(json_integer_value(json_path(s, "linux.resources.cpu.shares")), 2048);
	CHECK_INT(json_integer_value(json_path(s, "linux.resources.cpu.quota")), 200000);
	CHECK(!json_path(s, "linux.resources.memory"));
	json_decref(s);
	json_decref(pod);
	pod = pod_with("{\"name\":\"c\"}", NULL);
	s = build(pod, &image, 1);
	REQUIRE(s);
	CHECK_INT(json_integer_value(json_path(s, "linux.resources.cpu.shares")), 2);
	CHECK(!json_path(s, "linux.resources.cpu.quota"));
	json_decref(s);
	json_decref(pod);
}

TEST(qos_and_oom_score_adj)
{
	json_t *pod = pod_with("{\"name\":\"c\"}", NULL);
	CHECK_STR(runtime_pod_qos(pod), "BestEffort");
	json_t *s = build(pod, &image, 1);
	REQUIRE(s);
	CHECK_INT(json_integer_value(json_path(s, "process.oomScoreAdj")), 1000);
	json_decref(s);
	json_decref(pod);

	pod = pod_with(
	    "{\"name\":\"c\",\"resources\":{\"limits\":{\"cpu\":\"1\",\"memory\":\"1Gi\"}}}", NULL);
	CHECK_STR(runtime_pod_qos(pod), "Guaranteed");
	s = build(pod, &image, 1);
	REQUIRE(s);
	CHECK_INT(json_integer_value(json_path(s, "process.oomScoreAdj")), -997);
	json_decref(s);
	json_decref(pod);

	/* Burstable: 1000 - 1000 * request / capacity (1 GiB of 4 GiB). */
	pod = pod_with("{\"name\":\"c\",\"resources\":{\"requests\":{\"memory\":\"1Gi\"}}}", NULL);
	CHECK_STR(runtime_pod_qos(pod), "Burstable");
	s = build(pod, &image, 1);
	REQUIRE(s);
	CHECK_INT(json_integer_value(json_path(s, "process.oomScoreAdj")), 750);
	json_decref(s);
	json_decref(pod);

	/* A request larger than the machine still stays above Guaranteed's. */
	pod = pod_with("{\"name\":\"c\",\"resources\":{\"requests\":{\"memory\":\"8Gi\"}}}", NULL);
	s = build(pod, &image, 1);
	REQUIRE(s);
	CHECK_INT(json_integer_value(json_path(s, "process.oomScoreAdj")), 3);
	json_decref(s);
	json_decref(pod);
}

/* ---- users ---- */

/* A rootfs folder with an /etc/passwd and /etc/group. */
static char *fake_rootfs(void)
{
	char tmpl[] = "/tmp/timon-rtspec.XXXXXX";
	char *d = mkdtemp(tmpl);
	if (!d)
		return NULL;
	char *etc = xasprintf("%s/etc", d);
	mkdir(etc, 0755);
	char *p = xasprintf("%s/passwd", etc), *g = xasprintf("%s/group", etc);
	FILE *f = fopen(p, "w");
	fputs("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n"
	      "app:x:1001:2001::/home/app:/bin/sh\n",
	      f);
	fclose(f);
	f = fopen(g, "w");
	fputs("root:x:0:\napp:x:2001:\nwheel:x:10:app,other\naudio:x:29:other\nstaff:x:50:\n", f);
	fclose(f);
	free(p);
	free(g);
	free(etc);
	return xstrdup(d);
}

static void rm_fake_rootfs(char *d)
{
	char *cmd[] = {"etc/passwd", "etc/group", "etc"};
	for (size_t i = 0; i < ARRAY_SIZE(cmd); i++) {
		char *p = xasprintf("%s/%s", d, cmd[i]);
		if (remove(p) < 0)
			fprintf(stderr, "remove %s: %s\n", p, strerror(errno));
		free(p);
	}
	rmdir(d);
	free(d);
}

TEST(user_from_image_and_security_context)
{
	json_t *pod = pod_with("{\"name\":\"c\"}", NULL);
	json_t *s = build(pod, &image, 1);
	REQUIRE(s);
	CHECK_INT(json_integer_value(json_path(s, "process.user.uid")), 1000);
	CHECK_INT(json_integer_value(json_path(s, "process.user.gid")), 1000);
	json_decref(s);
	json_decref(pod);

	pod = pod_with("{\"name\":\"c\",\"securityContext\":{\"runAsUser\":42}}",
	               "\"securityContext\":{\"runAsUser\":7,\"runAsGroup\":8,"
	               "\"supplementalGroups\":[100,101],\"fsGroup\":2000}");
	s = build(pod, &image, 1);
	REQUIRE(s);
	CHECK_INT(json_integer_value(json_path(s, "process.user.uid")), 42); /* container wins */
	CHECK_INT(json_integer_value(json_path(s, "process.user.gid")), 8);
	char *g = joined(s, "process.user.additionalGids");
	CHECK_STR(g, "100|101|2000");
	free(g);
	json_decref(s);
	json_decref(pod);
}

TEST(user_names_are_looked_up_in_the_rootfs)
{
	char *root = fake_rootfs();
	REQUIRE(root);
	image_config named = image;
	named.user = "app";
	json_t *pod = pod_with("{\"name\":\"c\"}", NULL);
	terr *e = NULL;
	json_t *s = build_ex(pod, &named, 1, root, NULL, 0, NULL, &e);
	CHECK(s);
	CHECK_INT(json_integer_value(json_path(s, "process.user.uid")), 1001);
	CHECK_INT(json_integer_value(json_path(s, "process.user.gid")), 2001);
	char *g = joined(s, "process.user.additionalGids");
	CHECK_STR(g, "10"); /* wheel lists app */
	free(g);
	json_decref(s);

	named.user = "nobody:staff";
	s = build_ex(pod, &named, 1, root, NULL, 0, NULL, &e);
	CHECK(s);
	CHECK_INT(json_integer_value(json_path(s, "process.user.uid")), 65534);
	CHECK_INT(json_integer_value(json_path(s, "process.user.gid")), 50);
	json_decref(s);

	named.user = "ghost";
	CHECK(!build_ex(pod, &named, 1, root, NULL, 0, NULL, &e));
	CHECK(e && strstr(e->message, "unable to find user ghost"));
	terr_free(e);
	e = NULL;

	/* runAsUser without runAsGroup: the primary group of that uid in the image. */
	json_decref(pod);
	pod = pod_with("{\"name\":\"c\",\"securityContext\":{\"runAsUser\":1001}}", NULL);
	s = build_ex(pod, &named, 1, root, NULL, 0, NULL, &e);
	CHECK(s);
	CHECK_INT(json_integer_value(json_path(s, "process.user.gid")), 2001);
	json_decref(s);
	json_decref(pod);
	terr_free(e);
	rm_fake_rootfs(root);
}

TEST(run_as_non_root)
{
	image_config rootimg = image, named = image;
	rootimg.user = NULL;
	named.user = "nobody";
	struct {
		const char *ctr;
		const image_config *img;
		const char *want; /* error substring, or NULL for success */
	} cases[] = {
	    {"{\"name\":\"c\",\"securityContext\":{\"runAsNonRoot\":true}}", &rootimg,
	     "image will run as root"},
	    {"{\"name\":\"c\",\"securityContext\":{\"runAsNonRoot\":true,\"runAsUser\":0}}", &image,
	     "runAsUser breaks non-root policy"},
	    {"{\"name\":\"c\",\"securityContext\":{\"runAsNonRoot\":true}}", &named,
	     "non-numeric user (nobody)"},
	    {"{\"name\":\"c\",\"securityContext\":{\"runAsNonRoot\":true}}", &image, NULL},
	    {"{\"name\":\"c\",\"securityContext\":{\"runAsNonRoot\":true,\"runAsUser\":5}}",
	     &rootimg, NULL},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		json_t *pod = pod_with(cases[i].ctr, NULL);
		terr *e = NULL;
		json_t *s = build_ex(pod, cases[i].img, 1, NULL, NULL, 0, NULL, &e);
		if (cases[i].want) {
			CHECK(!s);
			CHECK(e && strstr(e->message, cases[i].want));
			CHECK(e && str_eq(e->reason, "CreateContainerConfigError"));
		} else {
			CHECK(s);
		}
		terr_free(e);
		json_decref(s);
		json_decref(pod);
	}
}

/* ---- security context ---- */

TEST(read_only_root_and_no_new_privileges)
{
	json_t *pod = pod_with("{\"name\":\"c\"}", NULL);
	json_t *s = build(pod, &image, 1);
	REQUIRE(s);
	CHECK(json_is_false(json_path(s, "root.readonly")));
	CHECK(json_is_false(json_path(s, "process.noNewPrivileges")));
	CHECK_STR(json_path_str(s, "root.path"), "/nonexistent-rootfs");
	json_decref(s);
	json_decref(pod);
	pod = pod_with("{\"name\":\"c\",\"securityContext\":{\"readOnlyRootFilesystem\":true,"
	               "\"allowPrivilegeEscalation\":false}}",
	               NULL);
	s = build(pod, &image, 1);
	REQUIRE(s);
	CHECK(json_is_true(json_path(s, "root.readonly")));
	CHECK(json_is_true(json_path(s, "process.noNewPrivileges")));
	json_decref(s);
	json_decref(pod);
}

TEST(capabilities_default_add_drop)
{
	json_t *pod = pod_with("{\"name\":\"c\"}", NULL);
	json_t *s = build(pod, &image, 1);
	REQUIRE(s);
	json_t *eff = json_path(s, "process.capabilities.effective");
	CHECK_INT(json_array_size(eff), 14);
	CHECK(arr_has(eff, "CAP_CHOWN") && arr_has(eff, "CAP_NET_RAW") && arr_has(eff, "CAP_KILL"));
	CHECK(!arr_has(eff, "CAP_SYS_ADMIN"));
	CHECK(json_equal(eff, json_path(s, "process.capabilities.bounding")));
	CHECK(!json_path(s, "process.capabilities.inheritable"));
	CHECK(!json_path(s, "process.capabilities.ambient"));
	json_decref(s);
	json_decref(pod);

	pod = pod_with("{\"name\":\"c\",\"securityContext\":{\"capabilities\":{\"drop\":[\"CHOWN\","
	               "\"net_raw\"],\"add\":[\"NET_ADMIN\",\"CAP_SYS_TIME\",\"BOGUS\"]}}}",
	               NULL);
	s = build(pod, &image, 1);
	REQUIRE(s);
	eff = json_path(s, "process.capabilities.effective");
	CHECK_INT(json_array_size(eff), 14);
	CHECK(!arr_has(eff, "CAP_CHOWN") && !arr_has(eff, "CAP_NET_RAW"));
	CHECK(arr_has(eff, "CAP_NET_ADMIN") && arr_has(eff, "CAP_SYS_TIME"));
	json_decref(s);
	json_decref(pod);

	pod = pod_with("{\"name\":\"c\",\"securityContext\":{\"capabilities\":{\"drop\":[\"ALL\"],"
	               "\"add\":[\"NET_BIND_SERVICE\"]}}}",
	               NULL);
	s = build(pod, &image, 1);
	REQUIRE(s);
	char *c = joined(s, "process.capabilities.permitted");
	CHECK_STR(c, "CAP_NET_BIND_SERVICE");
	free(c);
	json_decref(s);
	json_decref(pod);
}

TEST(privileged_gets_what_the_agent_has)
{
	json_t *pod = pod_with("{\"name\":\"c\",\"securityContext\":{\"privileged\":true,"
	                       "\"allowPrivilegeEscalation\":false,\"seccompProfile\":{\"type\":"
	                       "\"RuntimeDefault\"}}}",
	                       NULL);
	runtime_spec_input in = {.id = "c-1",
	                         .pod = pod,
	                         .container = json_array_get(json_path(pod, "spec.containers"), 0),
	                         .image = &image,
	                         .rootfs = "/nonexistent",
	                         .cgroup_version = 1,
	                         .cap_bounding = ALL_CAPS & ~(1ULL << 24)}; /* no SYS_RESOURCE */
	json_t *s = NULL;
	terr *e = NULL;
	REQUIRE(runtime_spec_build(&in, &s, &e) == 0);
	json_t *eff = json_path(s, "process.capabilities.effective");
	CHECK_INT(json_array_size(eff), 40);
	CHECK(arr_has(eff, "CAP_SYS_ADMIN") && !arr_has(eff, "CAP_SYS_RESOURCE"));
	CHECK(!json_path(s, "linux.seccomp"));
	CHECK(!json_path(s, "linux.maskedPaths"));
	CHECK(json_is_false(json_path(s, "process.noNewPrivileges")));
	json_t *dev0 = json_array_get(json_path(s, "linux.resources.devices"), 0);
	CHECK(json_is_true(json_object_get(dev0, "allow")));
	size_t i;
	json_t *m;
	json_array_foreach(json_path(s, "mounts"), i, m)
	{
		if (str_eq(json_string_value(json_object_get(m, "destination")), "/sys"))
			CHECK(arr_has(json_object_get(m, "options"), "rw"));
	}
	json_decref(s);
	json_decref(pod);
}

static bool seccomp_denies(json_t *spec, const char *call)
{
	size_t i;
	json_t *r;
	json_array_foreach(json_path(spec, "linux.seccomp.syscalls"), i, r)
	{
		if (!json_object_get(r, "args") && arr_has(json_object_get(r, "names"), call))
			return true;
	}
	return false;
}

TEST(seccomp_runtime_default_and_unconfined)
{
	json_t *pod = pod_with("{\"name\":\"c\"}", "\"securityContext\":{\"seccompProfile\":"
	                                           "{\"type\":\"RuntimeDefault\"}}");
	json_t *s = build(pod, &image, 1);
	REQUIRE(s);
	CHECK_STR(json_path_str(s, "linux.seccomp.defaultAction"), "SCMP_ACT_ALLOW");
	CHECK(json_array_size(json_path(s, "linux.seccomp.architectures")) > 0);
	CHECK(seccomp_denies(s, "mount") && seccomp_denies(s, "keyctl") &&
	      seccomp_denies(s, "ptrace") && seccomp_denies(s, "unshare"));
	CHECK(seccomp_denies(s, "clone3"));
	json_decref(s);
	json_decref(pod);

	/* A capability lifts the calls it governs; the container's profile wins. */
	pod = pod_with(
	    "{\"name\":\"c\",\"securityContext\":{\"capabilities\":{\"add\":[\"SYS_ADMIN\","
	    "\"SYS_PTRACE\"]}}}",
	    "\"securityContext\":{\"seccompProfile\":{\"type\":\"RuntimeDefault\"}}");
	s = build(pod, &image, 1);
	REQUIRE(s);
	CHECK(!seccomp_denies(s, "mount") && !seccomp_denies(s, "ptrace"));
	CHECK(seccomp_denies(s, "keyctl") && seccomp_denies(s, "reboot"));
	json_decref(s);
	json_decref(pod);

	pod = pod_with("{\"name\":\"c\",\"securityContext\":{\"seccompProfile\":{\"type\":"
	               "\"Unconfined\"}}}",
	               "\"securityContext\":{\"seccompProfile\":{\"type\":\"RuntimeDefault\"}}");
	s = build(pod, &image, 1);
	REQUIRE(s);
	CHECK(!json_path(s, "linux.seccomp"));
	json_decref(s);
	json_decref(pod);

	pod = pod_with("{\"name\":\"c\"}", NULL); /* k8s: unset means Unconfined */
	s = build(pod, &image, 1);
	REQUIRE(s);
	CHECK(!json_path(s, "linux.seccomp"));
	json_decref(s);
	json_decref(pod);
}

TEST(seccomp_localhost_profile)
{
	char tmpl[] = "/tmp/timon-seccomp.XXXXXX";
	char *dir = mkdtemp(tmpl);
	REQUIRE(dir);
	char *path = xasprintf("%s/prof.json", dir);
	FILE *f = fopen(path, "w");
	REQUIRE(f);
	fputs("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":["
	      "{\"names\":[\"read\",\"write\"],\"action\":\"SCMP_ACT_ALLOW\"},"
	      "{\"name\":\"mount\",\"action\":\"SCMP_ACT_ALLOW\",\"includes\":{\"caps\":"
	      "[\"CAP_SYS_ADMIN\"]}}]}",
	      f);
	fclose(f);
	json_t *pod = pod_with("{\"name\":\"c\",\"securityContext\":{\"seccompProfile\":{\"type\":"
	                       "\"Localhost\",\"localhostProfile\":\"prof.json\"}}}",
	                       NULL);
	runtime_spec_input in = {.id = "c-1",
	                         .pod = pod,
	                         .container = json_array_get(json_path(pod, "spec.containers"), 0),
	                         .image = &image,
	                         .rootfs = "/nonexistent",
	                         .cgroup_version = 1,
	                         .seccomp_root = dir,
	                         .cap_bounding = ALL_CAPS};
	json_t *s = NULL;
	terr *e = NULL;
	REQUIRE(runtime_spec_build(&in, &s, &e) == 0);
	CHECK_STR(json_path_str(s, "linux.seccomp.defaultAction"), "SCMP_ACT_ERRNO");
	CHECK_INT(json_array_size(json_path(s, "linux.seccomp.syscalls")), 1); /* mount: no cap */
	json_decref(s);
	json_decref(pod);

	pod = pod_with("{\"name\":\"c\",\"securityContext\":{\"seccompProfile\":{\"type\":"
	               "\"Localhost\",\"localhostProfile\":\"../etc/x.json\"}}}",
	               NULL);
	in.pod = pod;
	in.container = json_array_get(json_path(pod, "spec.containers"), 0);
	s = NULL;
	CHECK(runtime_spec_build(&in, &s, &e) < 0);
	CHECK(e && str_eq(e->reason, "CreateContainerConfigError"));
	terr_free(e);
	json_decref(pod);
	unlink(path);
	rmdir(dir);
	free(path);
}

/* ---- namespaces, mounts, the rest ---- */

static const char *ns_path(json_t *spec, const char *type, bool *present)
{
	size_t i;
	json_t *n;
	*present = false;
	json_array_foreach(json_path(spec, "linux.namespaces"), i, n)
	{
		if (str_eq(json_string_value(json_object_get(n, "type")), type)) {
			*present = true;
			return json_string_value(json_object_get(n, "path"));
		}
	}
	return NULL;
}

TEST(namespaces_join_and_host)
{
	json_t *pod = pod_with("{\"name\":\"c\"}", NULL);
	terr *e = NULL;
	json_t *s = build_ex(pod, &image, 1, NULL, NULL, 0, "/run/netns/pod-1", &e);
	REQUIRE(s);
	bool has;
	CHECK_STR(ns_path(s, "network", &has), "/run/netns/pod-1");
	CHECK(!ns_path(s, "pid", &has) && has); /* a new one */
	CHECK(!ns_path(s, "mount", &has) && has);
	CHECK(!ns_path(s, "uts", &has) && has);
	CHECK(!ns_path(s, "ipc", &has) && has);
	CHECK(!ns_path(s, "cgroup", &has) && !has); /* v1 */
	json_decref(s);
	json_decref(pod);

	pod = pod_with("{\"name\":\"c\"}", "\"hostNetwork\":true,\"hostPID\":true");
	s = build(pod, &image, 1);
	REQUIRE(s);
	ns_path(s, "network", &has);
	CHECK(!has);
	ns_path(s, "pid", &has);
	CHECK(!has);
	ns_path(s, "uts", &has);
	CHECK(!has); /* k8s: host network pods have the node's hostname */
	CHECK(!json_path(s, "hostname"));
	ns_path(s, "ipc", &has);
	CHECK(has);
	json_decref(s);
	json_decref(pod);
}

TEST(mounts_defaults_caller_and_order)
{
	runtime_mount m[] = {
	    {.source = "/var/lib/v/data-sub", .destination = "/data/sub"},
	    {.source = "/var/lib/v/data", .destination = "/data", .readonly = true},
	    {.source = "/var/lib/p/hosts", .destination = "/etc/hosts"},
	    {.source = "/run/pod/shm", .destination = "/dev/shm"},
	    {.source = "/var/lib/v/cache",
	     .destination = "/cache",
	     .propagation = "HostToContainer"},
	};
	json_t *pod = pod_with("{\"name\":\"c\"}", NULL);
	terr *e = NULL;
	json_t *s = build_ex(pod, &image, 1, NULL, m, ARRAY_SIZE(m), NULL, &e);
	REQUIRE(s);
	buf order = {0};
	size_t i;
	json_t *x;
	int shm = 0;
	json_array_foreach(json_path(s, "mounts"), i, x)
	{
		const char *dst = json_string_value(json_object_get(x, "destination"));
		buf_printf(&order, "%s ", dst);
		if (str_eq(dst, "/dev/shm")) {
			shm++;
			CHECK_STR(json_string_value(json_object_get(x, "source")), "/run/pod/shm");
		}
		if (str_eq(dst, "/data")) {
			CHECK(arr_has(json_object_get(x, "options"), "ro"));
			CHECK(arr_has(json_object_get(x, "options"), "rbind"));
			CHECK_STR(json_string_value(json_object_get(x, "type")), "bind");
		}
		if (str_eq(dst, "/cache"))
			CHECK(arr_has(json_object_get(x, "options"), "rslave"));
		if (str_eq(dst, "/sys"))
			CHECK(arr_has(json_object_get(x, "options"), "ro"));
	}
	CHECK_INT(shm, 1);
	/* Parents before children: /data before /data/sub, /dev before /dev/pts. */
	CHECK(strstr(order.p, "/data ") < strstr(order.p, "/data/sub "));
	CHECK(strstr(order.p, "/dev ") < strstr(order.p, "/dev/pts "));
	CHECK(strstr(order.p, "/proc "));
	buf_free(&order);
	json_decref(s);

	runtime_mount bidi = {.source = "/x", .destination = "/x", .propagation = "Bidirectional"};
	CHECK(!build_ex(pod, &image, 1, NULL, &bidi, 1, NULL, &e));
	CHECK(e && strstr(e->message, "Bidirectional"));
	terr_free(e);
	json_decref(pod);
}

TEST(masked_paths_sysctls_devices_annotations)
{
	json_t *pod = pod_with(
	    "{\"name\":\"c\",\"terminationMessagePath\":\"/dev/termination-log\"}",
	    "\"securityContext\":{\"sysctls\":[{\"name\":\"net.ipv4.ip_unprivileged_port_start\","
	    "\"value\":\"0\"}]}");
	json_t *s = build(pod, &image, 1);
	REQUIRE(s);
	CHECK(arr_has(json_path(s, "linux.maskedPaths"), "/proc/kcore"));
	CHECK(arr_has(json_path(s, "linux.readonlyPaths"), "/proc/sys"));
	CHECK_STR(json_string_value(json_object_get(json_path(s, "linux.sysctl"),
	                                            "net.ipv4.ip_unprivileged_port_start")),
	          "0");
	json_t *dev0 = json_array_get(json_path(s, "linux.resources.devices"), 0);
	CHECK(json_is_false(json_object_get(dev0, "allow")));
	json_t *a = json_object_get(s, "annotations");
	CHECK_STR(json_string_value(json_object_get(a, "io.kubernetes.pod.uid")), "u-1");
	CHECK_STR(json_string_value(json_object_get(a, "io.kubernetes.container.name")), "c");
	CHECK_STR(json_string_value(json_object_get(a, "io.kubernetes.container.restartCount")),
	          "0");
	CHECK_STR(
	    json_string_value(json_object_get(a, "io.kubernetes.container.terminationMessagePath")),
	    "/dev/termination-log");
	CHECK_STR(json_path_str(s, "ociVersion"), "1.0.2");
	CHECK(json_is_false(json_path(s, "process.terminal")));
	json_decref(s);
	json_decref(pod);
}

TEST(tty_gets_a_terminal_and_term)
{
	json_t *pod = pod_with("{\"name\":\"c\",\"tty\":true,\"stdin\":true}", NULL);
	json_t *s = build(pod, &image, 1);
	REQUIRE(s);
	CHECK(json_is_true(json_path(s, "process.terminal")));
	CHECK(arr_has(json_path(s, "process.env"), "TERM=xterm"));
	json_decref(s);
	json_decref(pod);
	/* The container's own TERM stays. */
	pod = pod_with("{\"name\":\"c\",\"tty\":true,\"env\":[{\"name\":\"TERM\",\"value\":\"vt100\"}]}", NULL);
	s = build(pod, &image, 1);
	REQUIRE(s);
	CHECK(arr_has(json_path(s, "process.env"), "TERM=vt100"));
	CHECK(!arr_has(json_path(s, "process.env"), "TERM=xterm"));
	json_decref(s);
	json_decref(pod);
}

/* ---- CRI log lines and the reader ---- */

TEST(log_line_parse)
{
	runtime_log_line l;
	const char *a = "2016-10-06T00:17:09.669794202Z stdout F message here";
	REQUIRE(runtime_log_parse(a, strlen(a), &l) == 0);
	CHECK_INT(l.time_ns, 1475713029669794202LL);
	CHECK(!l.is_stderr && !l.partial);
	CHECK_INT(l.msg_len, 12);
	CHECK(!memcmp(l.msg, "message here", 12));
	const char *b = "2016-10-06T02:17:09.669794202+02:00 stderr P part";
	REQUIRE(runtime_log_parse(b, strlen(b), &l) == 0);
	CHECK_INT(l.time_ns, 1475713029669794202LL);
	CHECK(l.is_stderr && l.partial);
	const char *c = "2016-10-06T00:17:09Z stdout F"; /* an empty message */
	REQUIRE(runtime_log_parse(c, strlen(c), &l) == 0);
	CHECK_INT(l.msg_len, 0);
	const char *bad[] = {"", "garbage", "2016-10-06T00:17:09Z stdin F x",
	                     "2016-10-06T00:17:09Z stdout X x", "notatime stdout F x"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		CHECK(runtime_log_parse(bad[i], strlen(bad[i]), &l) < 0);
}

TEST(log_reader_tail_since_streams_follow)
{
	char path[] = "/tmp/timon-rtlog.XXXXXX";
	int fd = mkstemp(path);
	REQUIRE(fd >= 0);
	const char *text = "2024-01-01T00:00:01.000000000Z stdout F one\n"
	                   "2024-01-01T00:00:02.000000000Z stderr F two\n"
	                   "2024-01-01T00:00:03.000000000Z stdout P thr\n"
	                   "2024-01-01T00:00:03.000000001Z stdout F ee\n"
	                   "not a log line\n"
	                   "2024-01-01T00:00:04.000000000Z stdout F four\n"
	                   "2024-01-01T00:00:05.000000000Z stdout F fi"; /* incomplete */
	REQUIRE(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);

	buf out = {0};
	int64_t next = -1;
	terr *e = NULL;
	runtime_log_opts all = {.tail = -1};
	REQUIRE(runtime_logs_read(path, &all, 0, &out, &next, &e) == 0);
	CHECK_STR(out.p, "one\ntwo\nthree\nfour\n");
	const char *last_nl = strrchr(text, '\n');
	CHECK_INT(next, last_nl - text + 1);
	buf_free(&out);

	runtime_log_opts tail = {.tail = 2};
	REQUIRE(runtime_logs_read(path, &tail, 0, &out, NULL, &e) == 0);
	CHECK_STR(out.p, "four\n"); /* the last two lines: "four" and the incomplete one */
	buf_free(&out);

	runtime_log_opts err_only = {.tail = -1, .streams = RUNTIME_LOG_STDERR, .timestamps = true};
	REQUIRE(runtime_logs_read(path, &err_only, 0, &out, NULL, &e) == 0);
	CHECK_STR(out.p, "2024-01-01T00:00:02.000000000Z two\n");
	buf_free(&out);

	runtime_log_opts since = {.tail = -1};
	time_parse_rfc3339("2024-01-01T00:00:03Z", &since.since_ns);
	REQUIRE(runtime_logs_read(path, &since, 0, &out, NULL, &e) == 0);
	CHECK_STR(out.p, "three\nfour\n");
	buf_free(&out);

	runtime_log_opts limit = {.tail = -1, .limit_bytes = 6};
	REQUIRE(runtime_logs_read(path, &limit, 0, &out, NULL, &e) == 0);
	CHECK_STR(out.p, "one\ntw");
	buf_free(&out);

	/* Follow: the rest of the incomplete line arrives; reading resumes at next. */
	FILE *f = fopen(path, "a");
	REQUIRE(f);
	fputs("ve\n", f);
	fclose(f);
	CHECK_INT(runtime_logs_wait(path, next, 1000), 1);
	int64_t next2 = 0;
	REQUIRE(runtime_logs_read(path, &all, next, &out, &next2, &e) == 0);
	CHECK_STR(out.p, "five\n");
	CHECK_INT(next2, (int64_t)strlen(text) + 3);
	buf_free(&out);
	CHECK_INT(runtime_logs_wait(path, next2, 50), 0); /* nothing new: times out */

	/* Truncated below the offset: start over. */
	f = fopen(path, "w");
	REQUIRE(f);
	fputs("2024-01-01T00:00:09Z stdout F new\n", f);
	fclose(f);
	REQUIRE(runtime_logs_read(path, &all, next2, &out, &next, &e) == 0);
	CHECK_STR(out.p, "new\n");
	buf_free(&out);
	unlink(path);
	REQUIRE(runtime_logs_read(path, &all, 0, &out, NULL, &e) == 0); /* missing: empty */
	CHECK_INT(out.n, 0);
	buf_free(&out);
	terr_free(e);
}

TEST(container_ids)
{
	CHECK(runtime_id_valid("timon-abc_1.2"));
	CHECK(!runtime_id_valid(""));
	CHECK(!runtime_id_valid(".x"));
	CHECK(!runtime_id_valid("-x"));
	CHECK(!runtime_id_valid("a/b"));
	CHECK(!runtime_id_valid("a b"));
	char long_id[RUNTIME_ID_MAX + 2];
	memset(long_id, 'a', sizeof long_id - 1);
	long_id[sizeof long_id - 1] = '\0';
	CHECK(!runtime_id_valid(long_id));
}
