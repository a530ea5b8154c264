/* volume_setup.c — sets up and tears down the volumes of a pod on the host: one function
 * per volume kind (a table), the kubelet's folder layout, tmpfs mounts for secrets,
 * projected volumes and memory-backed emptyDirs, and hostPath / persistentVolumeClaim
 * checks. Runs on worker threads (it mounts and writes files).
 * Not for: the contents of API-data volumes (volume_payload.c, volume_atomic.c) or
 * container mounts (volume_mounts.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/volume-internal.h"
#include "base/json.h"
#include "base/quantity.h"
#include "base/util.h"

typedef struct vctx {
	json_t *pod, *inputs;
	json_t *vol;      /* the pod's volume entry */
	json_t *src;      /* its source object (vol[kind]) */
	const char *base; /* <pods_dir>/<uid>/volumes */
	char *path;       /* out: the host path (new string) */
} vctx;

typedef struct volume_kind {
	const char *key;    /* the source member of a volume: "emptyDir" */
	const char *plugin; /* the folder under volumes/, NULL: used in place */
	int (*setup)(vctx *v, const char *dir, terr **err);
} volume_kind;

/* Mounts a tmpfs on dir unless one is already there. size: bytes, 0: the kernel's
 * default. */
static int ensure_tmpfs(const char *dir, int mode, int64_t size, terr **err)
{
	if (volume_mkdir_p(dir, 0755) < 0)
		return terr_internal(err, "mkdir %s: %s", dir, strerror(errno));
	if (volume_is_mountpoint(dir))
		return 0;
	char opts[64];
	if (size > 0)
		snprintf(opts, sizeof(opts), "mode=%o,size=%lld", mode, (long long)size);
	else
		snprintf(opts, sizeof(opts), "mode=%o", mode);
	if (mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0)
		return terr_internal(err, "mount tmpfs on %s: %s", dir, strerror(errno));
	return 0;
}

/* k8s: emptyDir folders are world-writable (0777); medium Memory is a tmpfs whose size is
 * the sizeLimit when one is given. */
static int setup_empty_dir(vctx *v, const char *dir, terr **err)
{
	if (str_eq(json_string_value(json_object_get(v->src, "medium")), "Memory")) {
		int64_t size = 0;
		json_t *lim = json_object_get(v->src, "sizeLimit");
		if (lim) {
			quantity q;
			if (quantity_parse_json(lim, &q, err) < 0)
				return -1;
			size = quantity_value(&q);
		}
		if (ensure_tmpfs(dir, 0777, size, err) < 0)
			return -1;
	} else {
		if (volume_mkdir_p(dir, 0777) < 0)
			return terr_internal(err, "mkdir %s: %s", dir, strerror(errno));
	}
	chmod(dir, 0777);
	v->path = xstrdup(dir);
	return 0;
}

static int default_mode(json_t *src)
{
	json_t *m = json_object_get(src, "defaultMode");
	return json_is_integer(m) ? (int)json_integer_value(m) : VOLUME_DEFAULT_MODE;
}

static int write_payload(vctx *v, const char *dir, volume_payload *p, int rc, terr **err)
{
	if (rc == 0)
		rc = volume_atomic_write(dir, p, err);
	volume_payload_free(p);
	if (rc == 0)
		v->path = xstrdup(dir);
	return rc;
}

static int setup_configmap(vctx *v, const char *dir, terr **err)
{
	volume_payload p = {0};
	int rc =
	    volume_payload_object(&p, v->pod, v->inputs, v->src, false, default_mode(v->src), err);
	return write_payload(v, dir, &p, rc, err);
}

/* k8s: secret data never touches the disk: the folder is a tmpfs. */
static int setup_secret(vctx *v, const char *dir, terr **err)
{
	volume_payload p = {0};
	int rc =
	    volume_payload_object(&p, v->pod, v->inputs, v->src, true, default_mode(v->src), err);
	if (rc == 0)
		rc = ensure_tmpfs(dir, 0755, 0, err);
	return write_payload(v, dir, &p, rc, err);
}

static int setup_projected(vctx *v, const char *dir, terr **err)
{
	volume_payload p = {0};
	int rc = volume_payload_projected(&p, v->pod, v->inputs, v->src, err);
	if (rc == 0)
		rc = ensure_tmpfs(dir, 0755, 0, err);
	return write_payload(v, dir, &p, rc, err);
}

static int setup_downward(vctx *v, const char *dir, terr **err)
{
	volume_payload p = {0};
	int rc = volume_payload_downward(&p, v->pod, v->inputs, json_object_get(v->src, "items"),
	                                 default_mode(v->src), err);
	return write_payload(v, dir, &p, rc, err);
}

/* k8s: hostPath type checks (DirectoryOrCreate and FileOrCreate create what is missing). */
static int check_host_path(const char *path, const char *type, terr **err)
{
	struct stat st;
	if (!type || !*type)
		return 0;
	if (strcmp(type, "DirectoryOrCreate") == 0) {
		if (volume_mkdir_p(path, 0755) < 0)
			return terr_bad_request(
			    err, "hostPath type check failed: %s is not a directory", path);
		return 0;
	}
	if (strcmp(type, "FileOrCreate") == 0 && lstat(path, &st) < 0 && errno == ENOENT) {
		int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0)
			return terr_bad_request(err, "hostPath type check failed: %s: %s", path,
			                        strerror(errno));
		close(fd);
		return 0;
	}
	if (stat(path, &st) < 0)
		return terr_bad_request(err, "hostPath type check failed: %s does not exist", path);
	static const struct {
		const char *type, *what;
		mode_t fmt;
	} checks[] = {
	    {"Directory", "a directory", S_IFDIR},
	    {"File", "a file", S_IFREG},
	    {"FileOrCreate", "a file", S_IFREG},
	    {"Socket", "a socket file", S_IFSOCK},
	    {"CharDevice", "a character device", S_IFCHR},
	    {"BlockDevice", "a block device", S_IFBLK},
	};
	for (size_t i = 0; i < ARRAY_SIZE(checks); i++) {
		if (strcmp(type, checks[i].type) == 0) {
			if ((st.st_mode & S_IFMT) != checks[i].fmt)
				return terr_bad_request(err,
				                        "hostPath type check failed: %s is not %s",
				                        path, checks[i].what);
			return 0;
		}
	}
	return terr_bad_request(err, "hostPath type %s is not supported", type);
}

static int setup_host_path(vctx *v, const char *dir, terr **err)
{
	UNUSED(dir);
	const char *path = json_string_value(json_object_get(v->src, "path"));
	if (!path || path[0] != '/')
		return terr_bad_request(err, "hostPath must be an absolute path");
	if (check_host_path(path, json_string_value(json_object_get(v->src, "type")), err) < 0)
		return -1;
	v->path = xstrdup(path);
	return 0;
}

/* The claim's bound PersistentVolume, used in place: spec.hostPath or spec.local. */
static int setup_pvc(vctx *v, const char *dir, terr **err)
{
	UNUSED(dir);
	const char *claim = json_string_value(json_object_get(v->src, "claimName"));
	json_t *pvc = volume_input(v->inputs, "persistentvolumeclaims", claim);
	if (!pvc)
		return terr_not_found(err, "persistentvolumeclaim \"%s\" not found",
		                      claim ? claim : "");
	const char *pvname = json_path_str(pvc, "spec.volumeName");
	if (!pvname || !*pvname || !str_eq(json_path_str(pvc, "status.phase"), "Bound"))
		return terr_bad_request(err, "PersistentVolumeClaim is not bound: \"%s\"", claim);
	json_t *pv = volume_input(v->inputs, "persistentvolumes", pvname);
	if (!pv)
		return terr_not_found(err, "persistentvolume \"%s\" not found", pvname);
	const char *path = json_path_str(pv, "spec.hostPath.path");
	if (path) {
		if (check_host_path(path, json_path_str(pv, "spec.hostPath.type"), err) < 0)
			return -1;
	} else if ((path = json_path_str(pv, "spec.local.path"))) {
		if (check_host_path(path, "Directory", err) < 0)
			return -1;
	} else {
		return terr_bad_request(err,
		                        "persistentvolume \"%s\": only hostPath and local volumes "
		                        "are supported",
		                        pvname);
	}
	v->path = xstrdup(path);
	return 0;
}

static const volume_kind kinds[] = {
    {.key = "emptyDir", .plugin = VOLUME_PLUGIN_EMPTY_DIR, .setup = setup_empty_dir},
    {.key = "configMap", .plugin = VOLUME_PLUGIN_CONFIGMAP, .setup = setup_configmap},
    {.key = "secret", .plugin = VOLUME_PLUGIN_SECRET, .setup = setup_secret},
    {.key = "projected", .plugin = VOLUME_PLUGIN_PROJECTED, .setup = setup_projected},
    {.key = "downwardAPI", .plugin = VOLUME_PLUGIN_DOWNWARD, .setup = setup_downward},
    {.key = "hostPath", .setup = setup_host_path},
    {.key = "persistentVolumeClaim", .setup = setup_pvc},
};

/* Turns err into what the agent reports: reason FailedMount, kube's message shape. */
static int failed_mount(terr **err, const char *vol)
{
	if (!err)
		return -1;
	if (!*err)
		terr_internal(err, "unknown error");
	free((*err)->reason);
	(*err)->reason = xstrdup("FailedMount");
	return terr_wrap(err, "MountVolume.SetUp failed for volume \"%s\" ", vol);
}

int agent_volumes_setup(const char *pods_dir, json_t *pod, json_t *inputs, json_t **paths,
                        terr **err)
{
	const char *uid = json_path_str(pod, "metadata.uid");
	if (!uid || !*uid || strchr(uid, '/') || str_has_prefix(uid, "."))
		return terr_bad_request(err, "pod without a usable metadata.uid");
	_cleanup_free_ char *base = xasprintf("%s/%s/volumes", pods_dir, uid);
	if (volume_mkdir_p(base, 0750) < 0)
		return terr_set(err, 500, "FailedMount", "mkdir %s: %s", base, strerror(errno));
	json_t *out = json_object();
	size_t i;
	json_t *vol;
	json_array_foreach(json_path(pod, "spec.volumes"), i, vol)
	{
		const char *name = json_string_value(json_object_get(vol, "name"));
		if (!name || !*name || strchr(name, '/') || str_has_prefix(name, "."))
			continue;
		const volume_kind *k = NULL;
		for (size_t j = 0; j < ARRAY_SIZE(kinds) && !k; j++)
			if (json_object_get(vol, kinds[j].key))
				k = &kinds[j];
		if (!k) {
			terr_bad_request(err, "unsupported volume type");
			failed_mount(err, name);
			goto fail;
		}
		vctx v = {.pod = pod,
		          .inputs = inputs,
		          .vol = vol,
		          .src = json_object_get(vol, k->key),
		          .base = base};
		_cleanup_free_ char *dir =
		    k->plugin ? xasprintf("%s/%s/%s", base, k->plugin, name) : NULL;
		if (k->setup(&v, dir, err) < 0) {
			free(v.path);
			failed_mount(err, name);
			goto fail;
		}
		json_object_set_new(out, name, json_string(v.path));
		free(v.path);
	}
	*paths = out;
	return 0;
fail:
	json_decref(out);
	return -1;
}

/* ---- teardown ---- */

/* Mount points at or below prefix (from /proc/self/mountinfo, octal escapes undone),
 * deepest first. */
static size_t mounts_below(const char *prefix, char ***out)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char **v = NULL;
	size_t n = 0, plen = strlen(prefix);
	char line[4096];
	while (f && fgets(line, sizeof(line), f)) {
		char *save = NULL, *tok = strtok_r(line, " ", &save);
		for (int field = 0; tok && field < 4; field++)
			tok = strtok_r(NULL, " ", &save);
		if (!tok)
			continue;
		char *mp = xstrdup(tok), *w = mp;
		for (const char *r = tok; *r; r++) {
			if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] && r[3]) {
				*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
				r += 3;
			} else {
				*w++ = *r;
			}
		}
		*w = '\0';
		if (strncmp(mp, prefix, plen) == 0 && (mp[plen] == '/' || mp[plen] == '\0')) {
			v = xrealloc(v, (n + 1) * sizeof(*v));
			v[n++] = mp;
		} else {
			free(mp);
		}
	}
	if (f)
		fclose(f);
	/* Deepest first: a longer path is never a parent of a shorter one. */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && strlen(v[j]) > strlen(v[j - 1]); j--) {
			char *t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	*out = v;
	return n;
}

int agent_volumes_teardown(const char *pods_dir, const char *uid, terr **err)
{
	if (!uid || !*uid || strchr(uid, '/') || str_has_prefix(uid, "."))
		return terr_bad_request(err, "invalid pod uid");
	_cleanup_free_ char *dir = xasprintf("%s/%s", pods_dir, uid);
	char real[4096];
	if (!realpath(dir, real))
		return errno == ENOENT ? 0 : terr_internal(err, "%s: %s", dir, strerror(errno));
	char **mps;
	size_t n = mounts_below(real, &mps);
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		/* A mount still busy (a container not yet gone) is detached: it disappears from the
		 * tree now and is freed when its last user goes. */
		if (umount2(mps[i], UMOUNT_NOFOLLOW) < 0 && errno != EINVAL && errno != ENOENT &&
		    umount2(mps[i], MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && rc == 0)
			rc = terr_internal(err, "unmount %s: %s", mps[i], strerror(errno));
		free(mps[i]);
	}
	free(mps);
	if (rc < 0)
		return -1;
	if (volume_remove_tree(real) < 0)
		return terr_internal(err, "remove %s: %s", real, strerror(errno));
	return 0;
}
