/* test_volume.c — agent_volumes_setup / teardown and agent_container_mounts on a
 * temporary folder: every volume kind materialised with the right contents and modes,
 * refresh through the ..data swap, subPath confinement, errors, teardown of tmpfs mounts.
 * Runs as root (tmpfs mounts); each test makes and removes its own folder. */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/volume-internal.h"
#include "base/json.h"
#include "base/util.h"
#include "test.h"

static json_t *J(const char *s)
{
	json_error_t e;
	json_t *j = json_loads(s, 0, &e);
	if (!j)
		fprintf(stderr, "bad json: %s: %s\n", e.text, s);
	return j;
}

static char *tmpdir(void)
{
	char t[] = "/tmp/timon-test-volume.XXXXXX";
	return xstrdup(mkdtemp(t));
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	char b[4096];
	size_t n = fread(b, 1, sizeof(b) - 1, f);
	fclose(f);
	b[n] = '\0';
	return xstrdup(b);
}

static int mode_of(const char *path)
{
	struct stat st;
	return stat(path, &st) < 0 ? -1 : (int)(st.st_mode & 07777);
}

#define POD_HEAD                                                                                   \
	"{\"metadata\":{\"name\":\"p\",\"namespace\":\"ns\",\"uid\":\"uid-1\","                    \
	"\"labels\":{\"app\":\"web\"}},\"spec\":{\"containers\":[{\"name\":\"c\","                 \
	"\"resources\":{\"limits\":{\"memory\":\"64Mi\"}}}],\"volumes\":"

static const char *INPUTS =
    "{\"configmaps\":{\"cm\":{\"data\":{\"a.conf\":\"A\",\"b\":\"B\"},"
    "\"binaryData\":{\"bin\":\"AAEC\"}}},"
    "\"secrets\":{\"s\":{\"data\":{\"user\":\"YWRtaW4=\",\"pass\":\"cHc=\"}}},"
    "\"persistentvolumeclaims\":{\"claim\":{\"spec\":{\"volumeName\":\"pv1\"},"
    "\"status\":{\"phase\":\"Bound\"}},\"pending\":{\"spec\":{}}},"
    "\"serviceaccounttokens\":{\"|3600\":\"hdr.claims.sig\",\"vault|600\":\"v.a.ult\"},"
    "\"persistentvolumes\":{\"pv1\":{\"spec\":{\"hostPath\":{\"path\":\"@PV@\","
    "\"type\":\"DirectoryOrCreate\"}}}}}";

/* Sets up the pod built from POD_HEAD + volumes under a fresh folder. */
static int setup(const char *dir, const char *volumes, const char *inputs, json_t **paths,
                 terr **err)
{
	_cleanup_free_ char *ps = xasprintf(POD_HEAD "%s}}", volumes);
	_cleanup_json_ json_t *pod = J(ps);
	_cleanup_json_ json_t *in = J(inputs);
	return agent_volumes_setup(dir, pod, in, paths, err);
}

TEST(empty_dir_disk_and_memory)
{
	_cleanup_free_ char *d = tmpdir();
	terr *err = NULL;
	json_t *paths = NULL;
	REQUIRE(
	    setup(d,
	          "[{\"name\":\"scratch\",\"emptyDir\":{}},"
	          "{\"name\":\"mem\",\"emptyDir\":{\"medium\":\"Memory\",\"sizeLimit\":\"1Mi\"}}]",
	          "{}", &paths, &err) == 0);
	_cleanup_free_ char *want =
	    xasprintf("%s/uid-1/volumes/" VOLUME_PLUGIN_EMPTY_DIR "/scratch", d);
	CHECK_STR(json_string_value(json_object_get(paths, "scratch")), want);
	CHECK_INT(mode_of(want), 0777);
	const char *mem = json_string_value(json_object_get(paths, "mem"));
	CHECK(mem && volume_is_mountpoint(mem));
	/* a second call keeps the contents */
	_cleanup_free_ char *f = xasprintf("%s/keep", want);
	FILE *fp = fopen(f, "w");
	REQUIRE(fp);
	fclose(fp);
	json_decref(paths);
	REQUIRE(
	    setup(d,
	          "[{\"name\":\"scratch\",\"emptyDir\":{}},"
	          "{\"name\":\"mem\",\"emptyDir\":{\"medium\":\"Memory\",\"sizeLimit\":\"1Mi\"}}]",
	          "{}", &paths, &err) == 0);
	CHECK(access(f, F_OK) == 0);
	_cleanup_free_ char *memc = xstrdup(json_string_value(json_object_get(paths, "mem")));
	json_decref(paths);
	REQUIRE(agent_volumes_teardown(d, "uid-1", &err) == 0);
	CHECK(!volume_is_mountpoint(memc));
	_cleanup_free_ char *poddir = xasprintf("%s/uid-1", d);
	CHECK(access(poddir, F_OK) < 0 && errno == ENOENT);
	CHECK(agent_volumes_teardown(d, "uid-1", &err) == 0); /* idempotent */
	rmdir(d);
}

TEST(configmap_secret_contents_and_modes)
{
	_cleanup_free_ char *d = tmpdir();
	terr *err = NULL;
	json_t *paths = NULL;
	REQUIRE(setup(d,
	              "[{\"name\":\"cfg\",\"configMap\":{\"name\":\"cm\"}},"
	              "{\"name\":\"items\",\"configMap\":{\"name\":\"cm\",\"defaultMode\":384,"
	              "\"items\":[{\"key\":\"b\",\"path\":\"sub/dir/b.txt\",\"mode\":256}]}},"
	              "{\"name\":\"sec\",\"secret\":{\"secretName\":\"s\",\"defaultMode\":256}},"
	              "{\"name\":\"opt\",\"secret\":{\"secretName\":\"nope\",\"optional\":true}}]",
	              INPUTS, &paths, &err) == 0);
	const char *cfg = json_string_value(json_object_get(paths, "cfg"));
	REQUIRE(cfg);
	_cleanup_free_ char *a = xasprintf("%s/a.conf", cfg);
	_cleanup_free_ char *ac = slurp(a);
	CHECK_STR(ac, "A");
	CHECK_INT(mode_of(a), 0644);
	_cleanup_free_ char *bin = xasprintf("%s/bin", cfg);
	struct stat st;
	CHECK(stat(bin, &st) == 0 && st.st_size == 3);
	/* visible names are links through ..data */
	char lnk[256] = "";
	CHECK(readlink(a, lnk, sizeof(lnk) - 1) > 0);
	CHECK_STR(lnk, "..data/a.conf");
	const char *items = json_string_value(json_object_get(paths, "items"));
	_cleanup_free_ char *b = xasprintf("%s/sub/dir/b.txt", items);
	_cleanup_free_ char *bc = slurp(b);
	CHECK_STR(bc, "B");
	CHECK_INT(mode_of(b), 0400);
	_cleanup_free_ char *a2 = xasprintf("%s/a.conf", items);
	CHECK(access(a2, F_OK) < 0);
	const char *sec = json_string_value(json_object_get(paths, "sec"));
	CHECK(strstr(sec, VOLUME_PLUGIN_SECRET));
	CHECK(volume_is_mountpoint(sec)); /* secrets on tmpfs */
	_cleanup_free_ char *u = xasprintf("%s/user", sec);
	_cleanup_free_ char *uc = slurp(u);
	CHECK_STR(uc, "admin");
	CHECK_INT(mode_of(u), 0400);
	/* optional missing secret: an empty volume */
	const char *opt = json_string_value(json_object_get(paths, "opt"));
	_cleanup_free_ char *data = xasprintf("%s/..data", opt);
	CHECK(opt && access(data, F_OK) == 0);
	json_decref(paths);
	CHECK(agent_volumes_teardown(d, "uid-1", &err) == 0);
	rmdir(d);
}

TEST(refresh_swaps_data)
{
	_cleanup_free_ char *d = tmpdir();
	terr *err = NULL;
	json_t *paths = NULL;
	const char *vols = "[{\"name\":\"cfg\",\"configMap\":{\"name\":\"cm\"}}]";
	REQUIRE(setup(d, vols, "{\"configmaps\":{\"cm\":{\"data\":{\"k\":\"v1\",\"old\":\"o\"}}}}",
	              &paths, &err) == 0);
	_cleanup_free_ char *cfg = xstrdup(json_string_value(json_object_get(paths, "cfg")));
	json_decref(paths);
	_cleanup_free_ char *link = xasprintf("%s/..data", cfg);
	char first[256] = "", second[256] = "", third[256] = "";
	CHECK(readlink(link, first, sizeof(first) - 1) > 0);
	/* unchanged: no new version */
	REQUIRE(setup(d, vols, "{\"configmaps\":{\"cm\":{\"data\":{\"k\":\"v1\",\"old\":\"o\"}}}}",
	              &paths, &err) == 0);
	json_decref(paths);
	CHECK(readlink(link, second, sizeof(second) - 1) > 0);
	CHECK_STR(second, first);
	REQUIRE(setup(d, vols, "{\"configmaps\":{\"cm\":{\"data\":{\"k\":\"v2\",\"new\":\"n\"}}}}",
	              &paths, &err) == 0);
	json_decref(paths);
	CHECK(readlink(link, third, sizeof(third) - 1) > 0);
	CHECK(strcmp(third, first) != 0);
	_cleanup_free_ char *k = xasprintf("%s/k", cfg);
	_cleanup_free_ char *kc = slurp(k);
	CHECK_STR(kc, "v2");
	_cleanup_free_ char *old = xasprintf("%s/old", cfg);
	CHECK(access(old, F_OK) < 0);
	struct stat st;
	CHECK(lstat(old, &st) < 0); /* the stale link is gone too */
	_cleanup_free_ char *oldver = xasprintf("%s/%s", cfg, first);
	CHECK(access(oldver, F_OK) < 0);
	CHECK(agent_volumes_teardown(d, "uid-1", &err) == 0);
	rmdir(d);
}

TEST(downward_and_projected)
{
	_cleanup_free_ char *d = tmpdir();
	terr *err = NULL;
	json_t *paths = NULL;
	REQUIRE(
	    setup(d,
	          "[{\"name\":\"dw\",\"downwardAPI\":{\"items\":["
	          "{\"path\":\"labels\",\"fieldRef\":{\"fieldPath\":\"metadata.labels\"}},"
	          "{\"path\":\"mem\",\"resourceFieldRef\":{\"containerName\":\"c\","
	          "\"resource\":\"limits.memory\",\"divisor\":\"1Mi\"}}]}},"
	          "{\"name\":\"pj\",\"projected\":{\"defaultMode\":288,\"sources\":["
	          "{\"configMap\":{\"name\":\"cm\",\"items\":[{\"key\":\"b\",\"path\":\"b\"}]}},"
	          "{\"secret\":{\"name\":\"s\",\"items\":[{\"key\":\"pass\",\"path\":\"pw\"}]}},"
	          "{\"downwardAPI\":{\"items\":[{\"path\":\"ns\",\"fieldRef\":"
	          "{\"fieldPath\":\"metadata.namespace\"}}]}},"
	          "{\"serviceAccountToken\":{\"path\":\"token\"}},"
	          "{\"serviceAccountToken\":{\"path\":\"vault-token\",\"audience\":\"vault\","
	          "\"expirationSeconds\":600}}]}}]",
	          INPUTS, &paths, &err) == 0);
	const char *dw = json_string_value(json_object_get(paths, "dw"));
	CHECK(strstr(dw, VOLUME_PLUGIN_DOWNWARD));
	_cleanup_free_ char *l = xasprintf("%s/labels", dw);
	_cleanup_free_ char *lc = slurp(l);
	CHECK_STR(lc, "app=\"web\"");
	_cleanup_free_ char *m = xasprintf("%s/mem", dw);
	_cleanup_free_ char *mc = slurp(m);
	CHECK_STR(mc, "64");
	const char *pj = json_string_value(json_object_get(paths, "pj"));
	CHECK(volume_is_mountpoint(pj));
	static const char *const files[][2] = {
	    {"b", "B"}, {"pw", "pw"}, {"ns", "ns"}, {"token", "hdr.claims.sig"},
	    {"vault-token", "v.a.ult"}};
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		_cleanup_free_ char *f = xasprintf("%s/%s", pj, files[i][0]);
		_cleanup_free_ char *c = slurp(f);
		CHECK_STR(c, files[i][1]);
		CHECK_INT(mode_of(f), 0440);
	}
	json_decref(paths);
	CHECK(agent_volumes_teardown(d, "uid-1", &err) == 0);
	rmdir(d);
}

TEST(projected_token_not_issued_fails_the_mount)
{
	_cleanup_free_ char *d = tmpdir();
	terr *err = NULL;
	json_t *paths = NULL;
	/* A token for another audience does not stand in; no empty file is written. */
	CHECK(setup(d,
	            "[{\"name\":\"kube-api-access-x\",\"projected\":{\"sources\":["
	            "{\"serviceAccountToken\":{\"path\":\"token\",\"audience\":\"other\"}}]}}]",
	            INPUTS, &paths, &err) < 0);
	REQUIRE(err);
	CHECK_STR(err->reason, "FailedMount");
	CHECK(strstr(err->message, "kube-api-access-x"));
	CHECK(strstr(err->message, "failed to fetch token"));
	terr_free(err);
	json_decref(paths);
	err = NULL;
	CHECK(agent_volumes_teardown(d, "uid-1", &err) == 0);
	rmdir(d);
}

TEST(host_path_and_pvc)
{
	_cleanup_free_ char *d = tmpdir();
	terr *err = NULL;
	json_t *paths = NULL;
	_cleanup_free_ char *pv = xasprintf("%s/pvdata", d);
	_cleanup_free_ char *hp = xasprintf("%s/host/dir", d);
	_cleanup_free_ char *file = xasprintf("%s/afile", d);
	_cleanup_free_ char *sock = xasprintf("%s/sock", d);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	REQUIRE(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	close(fd);
	_cleanup_free_ char *in = xstrdup(INPUTS);
	char *at = strstr(in, "@PV@");
	_cleanup_free_ char *inputs = xasprintf("%.*s%s%s", (int)(at - in), in, pv, at + 4);
	_cleanup_free_ char *vols = xasprintf(
	    "[{\"name\":\"h\",\"hostPath\":{\"path\":\"%s\",\"type\":\"DirectoryOrCreate\"}},"
	    "{\"name\":\"f\",\"hostPath\":{\"path\":\"%s\",\"type\":\"FileOrCreate\"}},"
	    "{\"name\":\"s\",\"hostPath\":{\"path\":\"%s\",\"type\":\"Socket\"}},"
	    "{\"name\":\"data\",\"persistentVolumeClaim\":{\"claimName\":\"claim\",\"readOnly\":"
	    "true}}]",
	    hp, file, sock);
	REQUIRE(setup(d, vols, inputs, &paths, &err) == 0);
	CHECK_STR(json_string_value(json_object_get(paths, "h")), hp);
	CHECK(access(hp, F_OK) == 0);
	CHECK(access(file, F_OK) == 0);
	CHECK_STR(json_string_value(json_object_get(paths, "data")), pv);
	CHECK(access(pv, F_OK) == 0);
	json_decref(paths);

	/* wrong types and unbound claims fail with FailedMount */
	static const char *const bad[] = {
	    "[{\"name\":\"x\",\"hostPath\":{\"path\":\"@F@\",\"type\":\"Directory\"}}]",
	    "[{\"name\":\"x\",\"hostPath\":{\"path\":\"@F@\",\"type\":\"Socket\"}}]",
	    "[{\"name\":\"x\",\"hostPath\":{\"path\":\"@F@/missing\",\"type\":\"File\"}}]",
	    "[{\"name\":\"x\",\"persistentVolumeClaim\":{\"claimName\":\"pending\"}}]",
	    "[{\"name\":\"x\",\"persistentVolumeClaim\":{\"claimName\":\"nope\"}}]",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		_cleanup_free_ char *b = xstrdup(bad[i]);
		char *p = strstr(b, "@F@");
		_cleanup_free_ char *v =
		    p ? xasprintf("%.*s%s%s", (int)(p - b), b, file, p + 3) : xstrdup(b);
		terr *e = NULL;
		CHECK(setup(d, v, inputs, &paths, &e) < 0);
		REQUIRE(e);
		CHECK_STR(e->reason, "FailedMount");
		CHECK(str_has_prefix(e->message, "MountVolume.SetUp failed for volume \"x\" : "));
		terr_free(e);
	}

	/* readOnly claims mount read-only */
	_cleanup_json_ json_t *pod = J(POD_HEAD "[{\"name\":\"data\",\"persistentVolumeClaim\":"
	                                        "{\"claimName\":\"claim\",\"readOnly\":true}}]}}");
	_cleanup_json_ json_t *ctr = J("{\"name\":\"c\",\"volumeMounts\":[{\"name\":\"data\","
	                               "\"mountPath\":\"/data\"}]}");
	_cleanup_json_ json_t *pp = json_pack("{s:s}", "data", pv);
	runtime_mount *m = NULL;
	size_t n = 0;
	REQUIRE(agent_container_mounts(pod, ctr, pp, &m, &n, &err) == 0);
	CHECK_INT(n, 1);
	CHECK(m[0].readonly);
	agent_mounts_free(m, n);
	CHECK(agent_volumes_teardown(d, "uid-1", &err) == 0);
	volume_remove_tree(d);
}

TEST(missing_configmap_fails)
{
	_cleanup_free_ char *d = tmpdir();
	terr *err = NULL;
	json_t *paths = NULL;
	CHECK(setup(d, "[{\"name\":\"cfg\",\"configMap\":{\"name\":\"gone\"}}]", "{}", &paths,
	            &err) < 0);
	REQUIRE(err);
	CHECK_INT(err->code, 404);
	CHECK_STR(err->reason, "FailedMount");
	CHECK_STR(err->message,
	          "MountVolume.SetUp failed for volume \"cfg\" : configmap \"gone\" not found");
	terr_free(err);
	err = NULL;
	CHECK(setup(d,
	            "[{\"name\":\"cfg\",\"configMap\":{\"name\":\"cm\",\"items\":[{\"key\":\"zz\","
	            "\"path\":\"zz\"}]}}]",
	            INPUTS, &paths, &err) < 0);
	REQUIRE(err);
	CHECK(strstr(err->message, "configmap references non-existent config key: zz"));
	terr_free(err);
	err = NULL;
	CHECK(agent_volumes_teardown(d, "uid-1", &err) == 0);
	rmdir(d);
}

TEST(container_mounts_and_sub_path)
{
	_cleanup_free_ char *d = tmpdir();
	terr *err = NULL;
	json_t *paths = NULL;
	const char *vols =
	    "[{\"name\":\"w\",\"emptyDir\":{}},{\"name\":\"cfg\",\"configMap\":{\"name\":\"cm\"}}]";
	REQUIRE(setup(d, vols, INPUTS, &paths, &err) == 0);
	_cleanup_free_ char *ps = xasprintf(POD_HEAD "%s}}", vols);
	_cleanup_json_ json_t *pod = J(ps);
	const char *w = json_string_value(json_object_get(paths, "w"));
	/* a link inside the volume pointing out of it */
	_cleanup_free_ char *evil = xasprintf("%s/evil", w);
	REQUIRE(symlink("/etc", evil) == 0);
	_cleanup_json_ json_t *ctr =
	    J("{\"name\":\"c\",\"env\":[{\"name\":\"POD\",\"value\":\"p1\"}],\"volumeMounts\":["
	      "{\"name\":\"w\",\"mountPath\":\"/work\",\"mountPropagation\":\"HostToContainer\"},"
	      "{\"name\":\"w\",\"mountPath\":\"/logs\",\"subPathExpr\":\"logs/$(POD)\"},"
	      "{\"name\":\"cfg\",\"mountPath\":\"/etc/a.conf\",\"subPath\":\"a.conf\"},"
	      "{\"name\":\"w\",\"mountPath\":\"/ro\",\"readOnly\":true}]}");
	runtime_mount *m = NULL;
	size_t n = 0;
	REQUIRE(agent_container_mounts(pod, ctr, paths, &m, &n, &err) == 0);
	REQUIRE(n == 4);
	CHECK_STR(m[0].source, w);
	CHECK_STR(m[0].destination, "/work");
	CHECK_STR(m[0].propagation, "HostToContainer");
	CHECK(!m[0].readonly);
	_cleanup_free_ char *logs = xasprintf("%s/logs/p1", w);
	CHECK_STR(m[1].source, logs);
	CHECK(access(logs, F_OK) == 0);            /* created */
	CHECK(m[2].readonly);                      /* configMap volumes are read-only */
	CHECK(strstr(m[2].source, "/..") != NULL); /* resolved into the current version */
	CHECK(m[3].readonly);
	agent_mounts_free(m, n);

	static const char *const bad[] = {"../x", "/abs", "evil", "evil/passwd", "a/../../x"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		_cleanup_free_ char *c =
		    xasprintf("{\"name\":\"c\",\"volumeMounts\":[{\"name\":\"w\","
		              "\"mountPath\":\"/x\",\"subPath\":\"%s\"}]}",
		              bad[i]);
		_cleanup_json_ json_t *cj = J(c);
		terr *e = NULL;
		CHECK(agent_container_mounts(pod, cj, paths, &m, &n, &e) < 0);
		REQUIRE(e);
		CHECK_INT(e->code, 400);
		CHECK_STR(e->reason, "CreateContainerConfigError");
		terr_free(e);
	}
	_cleanup_json_ json_t *missing =
	    J("{\"name\":\"c\",\"volumeMounts\":[{\"name\":\"nope\",\"mountPath\":\"/x\"}]}");
	CHECK(agent_container_mounts(pod, missing, paths, &m, &n, &err) < 0);
	REQUIRE(err);
	CHECK_STR(err->message, "cannot find volume \"nope\" to mount into container \"c\"");
	terr_free(err);
	err = NULL;
	json_decref(paths);
	CHECK(agent_volumes_teardown(d, "uid-1", &err) == 0);
	CHECK(access("/etc/passwd", F_OK) == 0); /* teardown did not follow the link */
	rmdir(d);
}
