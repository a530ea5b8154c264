/* env.c — a container's environment resolved to plain name/value pairs (the kubelet's
 * makeEnvironmentVariables), and the downward API values that env and downwardAPI volumes
 * share (fieldRef, resourceFieldRef).
 * Not for: $(VAR) expansion of literal values or service links (the runtime's spec
 * builder expands; the agent adds service env). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/image-internal.h"
#include "agent/volume-internal.h"
#include "base/buf.h"
#include "base/json.h"
#include "base/quantity.h"
#include "base/util.h"

json_t *volume_input(json_t *inputs, const char *member, const char *name)
{
	if (!name)
		return NULL;
	return json_object_get(json_object_get(inputs, member), name);
}

char *volume_secret_value(json_t *secret, const char *key, size_t *n)
{
	const char *b64 = json_string_value(json_object_get(json_object_get(secret, "data"), key));
	if (!b64)
		return NULL;
	return image_base64_decode(b64, n);
}

static char *take_or_empty(buf *b)
{
	char *s = buf_take(b);
	return s ? s : xstrdup("");
}

/* ---- fieldRef ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Go's %q for the strings kube formats: quotes, backslash escapes, \xNN for the rest of
 * the control bytes. */
static void go_quote(buf *b, const char *s)
{
	buf_putc(b, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':
			buf_puts(b, "\\\"");
			break;
		case '\\':
			buf_puts(b, "\\\\");
			break;
		case '\n':
			buf_puts(b, "\\n");
			break;
		case '\t':
			buf_puts(b, "\\t");
			break;
		case '\r':
			buf_puts(b, "\\r");
			break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				buf_printf(b, "\\x%02x", *p);
			else
				buf_putc(b, (char)*p);
		}
	}
	buf_putc(b, '"');
}

/* k8s: fieldpath.FormatMap: key="value" lines in key order, no newline after the last. */
static char *format_map(json_t *m)
{
	size_t n = json_object_size(m), i = 0;
	const char **keys = xcalloc(n ? n : 1, sizeof(*keys));
	const char *k;
	json_t *v;
	json_object_foreach(m, k, v) keys[i++] = k;
	qsort(keys, n, sizeof(*keys), cmp_str);
	buf b = {0};
	for (i = 0; i < n; i++) {
		if (i)
			buf_putc(&b, '\n');
		buf_printf(&b, "%s=", keys[i]);
		const char *s = json_string_value(json_object_get(m, keys[i]));
		go_quote(&b, s ? s : "");
	}
	free(keys);
	return take_or_empty(&b);
}

/* "metadata.labels['key']" -> the key (new string), or NULL when path is not subscripted
 * under prefix. */
static char *subscript(const char *path, const char *prefix)
{
	size_t pl = strlen(prefix), n = strlen(path);
	if (strncmp(path, prefix, pl) != 0 || n < pl + 4 || path[pl] != '[' ||
	    path[pl + 1] != '\'' || path[n - 1] != ']' || path[n - 2] != '\'')
		return NULL;
	return xstrndup(path + pl + 2, n - pl - 4);
}

/* status.podIPs / hostIPs as kube writes them: [{ip}], joined with commas. */
static char *join_ips(json_t *pod, const char *list, const char *single)
{
	buf b = {0};
	size_t i;
	json_t *e;
	json_array_foreach(json_path(pod, list), i, e)
	{
		const char *ip = json_string_value(json_object_get(e, "ip"));
		if (!ip)
			continue;
		if (b.n)
			buf_putc(&b, ',');
		buf_puts(&b, ip);
	}
	if (!b.n && json_path_str(pod, single))
		buf_puts(&b, json_path_str(pod, single));
	return take_or_empty(&b);
}

int volume_field_value(json_t *pod, const char *path, char **out, terr **err)
{
	static const char *const plain[] = {"metadata.name", "metadata.namespace", "metadata.uid",
	                                    "spec.nodeName", "spec.serviceAccountName"};
	if (!path)
		return terr_bad_request(err, "fieldRef without fieldPath");
	for (size_t i = 0; i < ARRAY_SIZE(plain); i++) {
		if (strcmp(path, plain[i]) == 0) {
			const char *v = json_path_str(pod, path);
			*out = xstrdup(v ? v : "");
			return 0;
		}
	}
	/* k8s: status.podIP is the first of podIPs; hostIP likewise. */
	if (strcmp(path, "status.podIP") == 0 || strcmp(path, "status.hostIP") == 0) {
		const char *v = json_path_str(pod, path);
		if (!v) {
			_cleanup_free_ char *all = join_ips(
			    pod,
			    strcmp(path, "status.podIP") == 0 ? "status.podIPs" : "status.hostIPs",
			    path);
			char *comma = strchr(all, ',');
			if (comma)
				*comma = '\0';
			*out = xstrdup(all);
			return 0;
		}
		*out = xstrdup(v);
		return 0;
	}
	if (strcmp(path, "status.podIPs") == 0) {
		*out = join_ips(pod, "status.podIPs", "status.podIP");
		return 0;
	}
	if (strcmp(path, "status.hostIPs") == 0) {
		*out = join_ips(pod, "status.hostIPs", "status.hostIP");
		return 0;
	}
	if (strcmp(path, "metadata.labels") == 0 || strcmp(path, "metadata.annotations") == 0) {
		*out = format_map(json_path(pod, path));
		return 0;
	}
	static const char *const maps[] = {"metadata.labels", "metadata.annotations"};
	for (size_t i = 0; i < ARRAY_SIZE(maps); i++) {
		_cleanup_free_ char *key = subscript(path, maps[i]);
		if (key) {
			const char *v =
			    json_string_value(json_object_get(json_path(pod, maps[i]), key));
			*out = xstrdup(v ? v : "");
			return 0;
		}
	}
	return terr_bad_request(err, "unsupported fieldPath: %s", path);
}

/* ---- resourceFieldRef ---- */

static json_t *find_container(json_t *pod, const char *name)
{
	static const char *const lists[] = {"spec.containers", "spec.initContainers"};
	for (size_t l = 0; l < ARRAY_SIZE(lists); l++) {
		size_t i;
		json_t *c;
		json_array_foreach(json_path(pod, lists[l]), i, c)
		{
			if (str_eq(json_string_value(json_object_get(c, "name")), name))
				return c;
		}
	}
	return NULL;
}

/* The node's allocatable amount of res (k8s: defaultPodLimitsForDownwardAPI merges it into
 * unset limits), from node (allocatable, else capacity) or this machine. */
static int node_amount(json_t *node, const char *res, quantity *q, terr **err)
{
	json_t *v = json_object_get(json_path(node, "status.allocatable"), res);
	if (!v)
		v = json_object_get(json_path(node, "status.capacity"), res);
	if (v)
		return quantity_parse_json(v, q, err);
	if (strcmp(res, "cpu") == 0) {
		quantity_from_int(q, sysconf(_SC_NPROCESSORS_ONLN), QUANTITY_DECIMAL_SI);
	} else if (strcmp(res, "memory") == 0) {
		quantity_from_int(q, (int64_t)sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE),
		                  QUANTITY_BINARY_SI);
	} else {
		quantity_from_int(q, 0, QUANTITY_BINARY_SI);
	}
	return 0;
}

static int64_t ceil_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && ((a > 0) == (b > 0))) ? q + 1 : q;
}

int volume_resource_value(json_t *pod, json_t *container, json_t *node, json_t *ref, char **out,
                          terr **err)
{
	const char *res = json_string_value(json_object_get(ref, "resource"));
	const char *cname = json_string_value(json_object_get(ref, "containerName"));
	if (cname && *cname) {
		container = find_container(pod, cname);
		if (!container)
			return terr_bad_request(err, "container %s not found", cname);
	}
	if (!container)
		return terr_bad_request(err, "resourceFieldRef without containerName");
	if (!res)
		return terr_bad_request(err, "resourceFieldRef without resource");
	const char *dot = strchr(res, '.');
	static const char *const names[] = {"cpu", "memory", "ephemeral-storage"};
	const char *name = NULL;
	for (size_t i = 0; dot && i < ARRAY_SIZE(names); i++)
		if (strcmp(dot + 1, names[i]) == 0)
			name = names[i];
	bool limits = dot && (size_t)(dot - res) == 6 && strncmp(res, "limits", 6) == 0;
	bool requests = dot && (size_t)(dot - res) == 8 && strncmp(res, "requests", 8) == 0;
	if (!name || (!limits && !requests))
		return terr_bad_request(err, "unsupported container resource : %s", res);

	quantity divisor, q;
	json_t *dv = json_object_get(ref, "divisor");
	if (dv) {
		if (quantity_parse_json(dv, &divisor, err) < 0)
			return -1;
	}
	/* k8s: a zero (or unset) divisor means 1. */
	if (!dv || quantity_is_zero(&divisor))
		quantity_from_int(&divisor, 1, QUANTITY_DECIMAL_SI);
	json_t *v = json_object_get(
	    json_path(container, limits ? "resources.limits" : "resources.requests"), name);
	if (v) {
		if (quantity_parse_json(v, &q, err) < 0)
			return -1;
	} else if (limits) {
		if (node_amount(node, name, &q, err) < 0)
			return -1;
	} else {
		quantity_from_int(&q, 0, QUANTITY_DECIMAL_SI);
	}
	/* k8s: cpu in millicores over the divisor's millicores, the rest in units; rounded up. */
	int64_t num, den;
	if (strcmp(name, "cpu") == 0) {
		num = quantity_milli(&q);
		den = quantity_milli(&divisor);
	} else {
		num = quantity_value(&q);
		den = quantity_value(&divisor);
	}
	if (den <= 0)
		return terr_bad_request(err, "invalid divisor for %s", res);
	*out = xasprintf("%lld", (long long)ceil_div(num, den));
	return 0;
}

/* ---- env ---- */

/* k8s: IsEnvVarName: [-._a-zA-Z][-._a-zA-Z0-9]*. */
static bool env_name_valid(const char *s)
{
	if (!s || !*s)
		return false;
	for (const char *p = s; *p; p++) {
		char c = *p;
		bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' ||
		             c == '.' || c == '_';
		if (!alpha && !(p > s && c >= '0' && c <= '9'))
			return false;
	}
	return true;
}

/* The runtime expands $(VAR) in every value it is given; values that did not come from a
 * literal `value` must reach the container as they are, so their $ is doubled. */
static char *escape_dollars(const char *s, size_t n)
{
	buf b = {0};
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '$')
			buf_putc(&b, '$');
		buf_putc(&b, s[i]);
	}
	return take_or_empty(&b);
}

/* k8s: a later definition of a name wins; it takes the later place, so that $(VAR) in a
 * literal value sees every variable defined before it, as in the kubelet's sequential
 * expansion. value: taken. */
static void env_put(json_t *env, const char *name, char *value)
{
	size_t i;
	json_t *e;
	json_array_foreach(env, i, e)
	{
		if (str_eq(json_string_value(json_object_get(e, "name")), name)) {
			json_array_remove(env, i);
			break;
		}
	}
	json_array_append_new(env, json_pack("{s:s, s:s}", "name", name, "value", value));
	free(value);
}

#define config_error(err, ...) terr_set(err, 400, "CreateContainerConfigError", __VA_ARGS__)

static int env_from(json_t *pod, json_t *src, json_t *inputs, json_t *env, terr **err)
{
	const char *prefix = json_string_value(json_object_get(src, "prefix"));
	json_t *ref = json_object_get(src, "configMapRef");
	bool secret = false;
	if (!ref) {
		ref = json_object_get(src, "secretRef");
		secret = true;
	}
	if (!ref)
		return 0;
	const char *name = json_string_value(json_object_get(ref, "name"));
	json_t *obj = volume_input(inputs, secret ? "secrets" : "configmaps", name);
	if (!obj) {
		if (json_is_true(json_object_get(ref, "optional")))
			return 0;
		return config_error(err, "%s \"%s\" not found", secret ? "secret" : "configmap",
		                    name ? name : "");
	}
	const char *key;
	json_t *v;
	json_object_foreach(json_object_get(obj, "data"), key, v)
	{
		_cleanup_free_ char *full = xasprintf("%s%s", prefix ? prefix : "", key);
		if (!env_name_valid(full))
			continue; /* k8s: skipped, reported as InvalidEnvironmentVariableNames */
		if (secret) {
			size_t n = 0;
			_cleanup_free_ char *raw = volume_secret_value(obj, key, &n);
			if (raw)
				env_put(env, full, escape_dollars(raw, strnlen(raw, n)));
		} else if (json_string_value(v)) {
			env_put(env, full,
			        escape_dollars(json_string_value(v), strlen(json_string_value(v))));
		}
	}
	UNUSED(pod);
	return 0;
}

/* One valueFrom. 0 with *out set, 0 with *out NULL when an optional source is missing
 * (the variable is left out), or -1. */
static int value_from(json_t *pod, json_t *container, json_t *vf, json_t *inputs, char **out,
                      terr **err)
{
	const char *ns = json_path_str(pod, "metadata.namespace");
	ns = ns ? ns : "";
	*out = NULL;
	json_t *ref;
	if ((ref = json_object_get(vf, "configMapKeyRef")) ||
	    (ref = json_object_get(vf, "secretKeyRef"))) {
		bool secret = json_object_get(vf, "configMapKeyRef") == NULL;
		bool optional = json_is_true(json_object_get(ref, "optional"));
		const char *name = json_string_value(json_object_get(ref, "name"));
		const char *key = json_string_value(json_object_get(ref, "key"));
		name = name ? name : "";
		key = key ? key : "";
		json_t *obj = volume_input(inputs, secret ? "secrets" : "configmaps", name);
		if (!obj) {
			if (optional)
				return 0;
			return config_error(err, "%s \"%s\" not found",
			                    secret ? "secret" : "configmap", name);
		}
		if (secret) {
			size_t n = 0;
			_cleanup_free_ char *raw = volume_secret_value(obj, key, &n);
			if (raw) {
				*out = escape_dollars(raw, strnlen(raw, n));
				return 0;
			}
		} else {
			const char *v =
			    json_string_value(json_object_get(json_object_get(obj, "data"), key));
			if (v) {
				*out = escape_dollars(v, strlen(v));
				return 0;
			}
		}
		if (optional)
			return 0;
		_cleanup_free_ char *where = xasprintf("%s/%s", ns, name);
		return config_error(err, "couldn't find key %s in %s %s", key,
		                    secret ? "Secret" : "ConfigMap", where);
	}
	_cleanup_free_ char *raw = NULL;
	if ((ref = json_object_get(vf, "fieldRef"))) {
		if (volume_field_value(pod, json_string_value(json_object_get(ref, "fieldPath")),
		                       &raw, err) < 0)
			goto fail;
	} else if ((ref = json_object_get(vf, "resourceFieldRef"))) {
		if (volume_resource_value(pod, container, json_object_get(inputs, "node"), ref,
		                          &raw, err) < 0)
			goto fail;
	} else {
		return config_error(err, "unsupported valueFrom");
	}
	*out = escape_dollars(raw, strlen(raw));
	return 0;
fail:
	if (err && *err) {
		(*err)->code = 400;
		free((*err)->reason);
		(*err)->reason = xstrdup("CreateContainerConfigError");
	}
	return -1;
}

int agent_container_env(json_t *pod, json_t *container, json_t *inputs, json_t **env, terr **err)
{
	json_t *out = json_array();
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(container, "envFrom"), i, e)
	{
		if (env_from(pod, e, inputs, out, err) < 0)
			goto fail;
	}
	json_array_foreach(json_object_get(container, "env"), i, e)
	{
		const char *name = json_string_value(json_object_get(e, "name"));
		if (!name || !*name)
			continue;
		json_t *vf = json_object_get(e, "valueFrom");
		if (!vf) {
			const char *v = json_string_value(json_object_get(e, "value"));
			env_put(out, name, xstrdup(v ? v : ""));
			continue;
		}
		char *value = NULL;
		if (value_from(pod, container, vf, inputs, &value, err) < 0)
			goto fail;
		if (value)
			env_put(out, name, value);
	}
	*env = out;
	return 0;
fail:
	json_decref(out);
	return -1;
}
