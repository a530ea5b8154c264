/* volume_payload.c — what goes in configMap, secret, downwardAPI and projected volumes:
 * the files built from the objects and the pod (k8s: each plugin's MakePayload / the
 * projected plugin's collectData), handed to the atomic writer.
 * Not for: writing them (volume_atomic.c) or the other volume kinds (volume_setup.c). */
#include <stdlib.h>
#include <string.h>

#include "agent/image-internal.h"
#include "agent/volume-internal.h"
#include "base/json.h"
#include "base/util.h"

static int mode_of(json_t *v, int dflt)
{
	return json_is_integer(v) ? (int)json_integer_value(v) : dflt;
}

/* The bytes of key in a ConfigMap (data, then binaryData) or Secret: new buffer, or NULL. */
static char *object_value(json_t *obj, bool secret, const char *key, size_t *n)
{
	if (secret)
		return volume_secret_value(obj, key, n);
	const char *s = json_string_value(json_object_get(json_object_get(obj, "data"), key));
	if (s) {
		*n = strlen(s);
		return xstrdup(s);
	}
	const char *b64 =
	    json_string_value(json_object_get(json_object_get(obj, "binaryData"), key));
	return b64 ? image_base64_decode(b64, n) : NULL;
}

/* A configMap or secret source (a volume's, or a projected one's: name or secretName,
 * items, optional). */
int volume_payload_object(volume_payload *p, json_t *pod, json_t *inputs, json_t *src, bool secret,
                          int default_mode, terr **err)
{
	UNUSED(pod);
	const char *name = json_string_value(json_object_get(src, "name"));
	if (secret && json_object_get(src, "secretName"))
		name = json_string_value(json_object_get(src, "secretName"));
	bool optional = json_is_true(json_object_get(src, "optional"));
	json_t *obj = volume_input(inputs, secret ? "secrets" : "configmaps", name);
	if (!obj) {
		if (optional)
			return 0; /* k8s: an optional missing object gives an empty volume */
		return terr_not_found(err, "%s \"%s\" not found", secret ? "secret" : "configmap",
		                      name ? name : "");
	}
	json_t *items = json_object_get(src, "items");
	if (json_array_size(items) == 0) {
		static const char *const members[] = {"data", "binaryData"};
		for (size_t m = 0; m < (secret ? 1u : 2u); m++) {
			const char *key;
			json_t *v;
			json_object_foreach(json_object_get(obj, members[m]), key, v)
			{
				size_t n = 0;
				_cleanup_free_ char *data = object_value(obj, secret, key, &n);
				if (data &&
				    volume_payload_add(p, key, data, n, default_mode, err) < 0)
					return -1;
			}
		}
		return 0;
	}
	size_t i;
	json_t *it;
	json_array_foreach(items, i, it)
	{
		const char *key = json_string_value(json_object_get(it, "key"));
		const char *path = json_string_value(json_object_get(it, "path"));
		size_t n = 0;
		_cleanup_free_ char *data = key ? object_value(obj, secret, key, &n) : NULL;
		if (!data) {
			if (optional)
				continue;
			if (secret)
				return terr_not_found(err, "references non-existent secret key: %s",
				                      key ? key : "");
			return terr_not_found(err,
			                      "configmap references non-existent config key: %s",
			                      key ? key : "");
		}
		if (volume_payload_add(p, path, data, n,
		                       mode_of(json_object_get(it, "mode"), default_mode), err) < 0)
			return -1;
	}
	return 0;
}

/* k8s: downwardAPI items: fieldRef or resourceFieldRef (containerName required). */
int volume_payload_downward(volume_payload *p, json_t *pod, json_t *inputs, json_t *items,
                            int default_mode, terr **err)
{
	size_t i;
	json_t *it;
	json_array_foreach(items, i, it)
	{
		_cleanup_free_ char *value = NULL;
		json_t *ref;
		if ((ref = json_object_get(it, "fieldRef"))) {
			if (volume_field_value(pod,
			                       json_string_value(json_object_get(ref, "fieldPath")),
			                       &value, err) < 0)
				return -1;
		} else if ((ref = json_object_get(it, "resourceFieldRef"))) {
			if (volume_resource_value(pod, NULL, json_object_get(inputs, "node"), ref,
			                          &value, err) < 0)
				return -1;
		} else {
			continue;
		}
		if (volume_payload_add(p, json_string_value(json_object_get(it, "path")), value,
		                       strlen(value),
		                       mode_of(json_object_get(it, "mode"), default_mode), err) < 0)
			return -1;
	}
	return 0;
}

/* k8s: projected sources in order, into one folder. serviceAccountToken: the token the
 * loop requested for the pod (volume_token.c). */
int volume_payload_projected(volume_payload *p, json_t *pod, json_t *inputs, json_t *proj,
                             terr **err)
{
	int dmode = mode_of(json_object_get(proj, "defaultMode"), VOLUME_DEFAULT_MODE);
	size_t i;
	json_t *s, *r;
	json_array_foreach(json_object_get(proj, "sources"), i, s)
	{
		int rc = 0;
		if ((r = json_object_get(s, "configMap")))
			rc = volume_payload_object(p, pod, inputs, r, false, dmode, err);
		else if ((r = json_object_get(s, "secret")))
			rc = volume_payload_object(p, pod, inputs, r, true, dmode, err);
		else if ((r = json_object_get(s, "downwardAPI")))
			rc = volume_payload_downward(p, pod, inputs, json_object_get(r, "items"),
			                             dmode, err);
		else if ((r = json_object_get(s, "serviceAccountToken")))
			rc = volume_payload_token(p, inputs, r, dmode, err);
		else
			rc = terr_bad_request(err, "unsupported projected volume source");
		if (rc < 0)
			return -1;
	}
	return 0;
}
