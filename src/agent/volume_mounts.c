/* volume_mounts.c — one container's volumeMounts as runtime bind mounts: the volume's host
 * path (from agent_volumes_setup), subPath / subPathExpr resolved and confined to the
 * volume, read-only and propagation settings.
 * Not for: the agent's own mounts (/etc/hosts, resolv.conf, the termination log). */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "agent/volume-internal.h"
#include "base/json.h"
#include "base/util.h"

#define config_error(err, ...) terr_set(err, 400, "CreateContainerConfigError", __VA_ARGS__)

static json_t *pod_volume(json_t *pod, const char *name)
{
	size_t i;
	json_t *v;
	json_array_foreach(json_path(pod, "spec.volumes"), i, v)
	{
		if (str_eq(json_string_value(json_object_get(v, "name")), name))
			return v;
	}
	return NULL;
}

/* k8s: secret, configMap, downwardAPI and projected volumes are always mounted read-only;
 * a claim can ask for it. */
static bool volume_readonly(json_t *vol)
{
	static const char *const api_data[] = {"secret", "configMap", "downwardAPI", "projected"};
	for (size_t i = 0; i < ARRAY_SIZE(api_data); i++)
		if (json_object_get(vol, api_data[i]))
			return true;
	return json_is_true(json_path(vol, "persistentVolumeClaim.readOnly"));
}

/* k8s: subPathExpr expands $(VAR) from the container's environment. */
static char *expand_sub_path(json_t *container, const char *expr)
{
	json_t *env = json_object_get(container, "env");
	size_t n = json_array_size(env), k = 0;
	char **vars = xcalloc(n + 1, sizeof(*vars));
	size_t i;
	json_t *e;
	json_array_foreach(env, i, e)
	{
		const char *name = json_string_value(json_object_get(e, "name"));
		const char *value = json_string_value(json_object_get(e, "value"));
		if (name)
			vars[k++] = xasprintf("%s=%s", name, value ? value : "");
	}
	char *out = runtime_expand_env(expr, vars, k);
	for (i = 0; i < k; i++)
		free(vars[i]);
	free(vars);
	return out;
}

static bool within(const char *root, const char *path)
{
	size_t n = strlen(root);
	return strncmp(root, path, n) == 0 &&
	       (path[n] == '\0' || path[n] == '/' || (n == 1 && root[0] == '/'));
}

/* The host path of sub inside the volume at vol (new string), created as a folder when
 * missing. Refuses paths that leave the volume, also through symlinks. */
static int resolve_sub_path(const char *vol, const char *sub, char **out, terr **err)
{
	if (sub[0] == '/')
		return config_error(err, "subPath %s must be a relative path", sub);
	_cleanup_free_ char *copy = xstrdup(sub);
	char *save = NULL;
	for (char *el = strtok_r(copy, "/", &save); el; el = strtok_r(NULL, "/", &save))
		if (strcmp(el, "..") == 0)
			return config_error(err, "subPath %s must not contain '..'", sub);
	char root[PATH_MAX], real[PATH_MAX];
	if (!realpath(vol, root))
		return config_error(err, "volume path %s: %s", vol, strerror(errno));
	_cleanup_free_ char *full = xasprintf("%s/%s", root, sub);
	if (!realpath(full, real)) {
		if (errno != ENOENT)
			return config_error(err, "subPath %s: %s", sub, strerror(errno));
		/* k8s: a missing subPath is created as a folder. The deepest existing parent must
		 * already lie inside the volume, so the mkdir cannot be steered outside it. */
		_cleanup_free_ char *parent = xstrdup(full);
		char preal[PATH_MAX];
		for (;;) {
			char *slash = strrchr(parent, '/');
			if (!slash || slash == parent)
				return config_error(err, "subPath %s: no parent", sub);
			*slash = '\0';
			if (realpath(parent, preal))
				break;
		}
		if (!within(root, preal))
			return config_error(err, "subPath %s escapes the volume", sub);
		if (volume_mkdir_p(full, 0755) < 0 || !realpath(full, real))
			return config_error(err, "subPath %s: %s", sub, strerror(errno));
	}
	if (!within(root, real))
		return config_error(err, "subPath %s escapes the volume", sub);
	*out = xstrdup(real);
	return 0;
}

int agent_container_mounts(json_t *pod, json_t *container, json_t *paths, runtime_mount **out,
                           size_t *n, terr **err)
{
	json_t *vms = json_object_get(container, "volumeMounts");
	size_t cnt = json_array_size(vms), k = 0;
	runtime_mount *m = xcalloc(cnt ? cnt : 1, sizeof(*m));
	const char *cname = json_string_value(json_object_get(container, "name"));
	size_t i;
	json_t *vm;
	json_array_foreach(vms, i, vm)
	{
		const char *name = json_string_value(json_object_get(vm, "name"));
		const char *dest = json_string_value(json_object_get(vm, "mountPath"));
		const char *host = json_string_value(json_object_get(paths, name ? name : ""));
		if (!host) {
			config_error(err,
			             "cannot find volume \"%s\" to mount into container \"%s\"",
			             name ? name : "", cname ? cname : "");
			goto fail;
		}
		if (!dest || dest[0] != '/') {
			config_error(err, "mountPath %s of volume %s must be absolute",
			             dest ? dest : "", name);
			goto fail;
		}
		const char *sub = json_string_value(json_object_get(vm, "subPath"));
		const char *expr = json_string_value(json_object_get(vm, "subPathExpr"));
		char *source = NULL;
		if (expr && *expr) {
			_cleanup_free_ char *s = expand_sub_path(container, expr);
			if (*s && resolve_sub_path(host, s, &source, err) < 0)
				goto fail;
		} else if (sub && *sub) {
			if (resolve_sub_path(host, sub, &source, err) < 0)
				goto fail;
		}
		const char *prop = json_string_value(json_object_get(vm, "mountPropagation"));
		m[k++] = (runtime_mount){
		    .source = source ? source : xstrdup(host),
		    .destination = xstrdup(dest),
		    .readonly = json_is_true(json_object_get(vm, "readOnly")) ||
		                volume_readonly(pod_volume(pod, name)),
		    .propagation = prop ? xstrdup(prop) : NULL,
		};
	}
	*out = m;
	*n = k;
	return 0;
fail:
	agent_mounts_free(m, k);
	return -1;
}

void agent_mounts_free(runtime_mount *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free((char *)m[i].source);
		free((char *)m[i].destination);
		free((char *)m[i].propagation);
	}
	free(m);
}
