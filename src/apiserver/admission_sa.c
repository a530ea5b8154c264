/* admission_sa.c — the ServiceAccount admission plugin's pod mutation: the token volume.
 * A pod being created gets the projected volume kube-api-access-<5 random characters>
 * (its service account's token, the cluster CA from the kube-root-ca.crt ConfigMap, the
 * namespace from the downward API) mounted read-only at
 * /var/run/secrets/kubernetes.io/serviceaccount in every init container and container,
 * unless automountServiceAccountToken is false on the pod or, when the pod leaves it
 * unset, on its ServiceAccount. Not for: naming the default account (admission.c
 * pod_prepare), issuing tokens (satoken.c), mounting them (the agent). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/admission_policy.h"
#include "base/json.h"
#include "base/util.h"

#define SA_VOLUME_PREFIX "kube-api-access-"
#define SA_MOUNT_PATH    "/var/run/secrets/kubernetes.io/serviceaccount"

/* k8s: the service account's token volume says whether to mount (pod first, then the
 * account; default yes). */
static bool wants_token(apiserver *s, json_t *spec, const char *ns)
{
	json_t *pod_says = json_object_get(spec, "automountServiceAccountToken");
	if (json_is_boolean(pod_says))
		return json_is_true(pod_says);
	const char *name = json_string_value(json_object_get(spec, "serviceAccountName"));
	_cleanup_free_ char *key =
	    route_key(kind_by_resource("", "v1", "serviceaccounts"), ns, name ? name : "default");
	const cache_entry *e = cache_get(s->cache, key);
	json_t *sa_says =
	    e ? json_object_get(cache_entry_obj(s->cache, e), "automountServiceAccountToken") : NULL;
	return !json_is_false(sa_says);
}

/* k8s: utilrand.String — consonants and digits that spell no words. */
static void random_suffix(char out[6])
{
	static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
	unsigned char rnd[5];
	random_id_bytes(rnd, sizeof rnd);
	for (size_t i = 0; i < 5; i++)
		out[i] = alphabet[rnd[i] % (sizeof alphabet - 1)];
	out[5] = 0;
}

static json_t *g_projected;

static void projected_init(void)
{
	g_projected = json_build(
	    "{s:[{s:{s:i, s:s}}, {s:{s:s, s:[{s:s, s:s}]}}, {s:{s:[{s:s, s:{s:s, s:s}}]}}], s:i}",
	    "sources", "serviceAccountToken", "expirationSeconds", 3607, "path", "token",
	    "configMap", "name", "kube-root-ca.crt", "items", "key", "ca.crt", "path", "ca.crt",
	    "downwardAPI", "items", "path", "namespace", "fieldRef", "apiVersion", "v1",
	    "fieldPath", "metadata.namespace", "defaultMode", 0644);
}

static json_t *token_volume(const char *name)
{
	/* The same for every pod: a copy of one built once (a copy is cheaper than packing). */
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, projected_init);
	json_t *v = json_object();
	json_object_set_new(v, "name", json_string(name));
	json_object_set_new(v, "projected", json_clone_containers(g_projected));
	return v;
}

/* Adds the mount to each container of list without one at the mount path; true when
 * any got it. */
static bool mount_in(json_t *list, const char *vol)
{
	bool added = false;
	size_t i;
	json_t *c;
	json_array_foreach(list, i, c)
	{
		json_t *mounts = json_object_get(c, "volumeMounts");
		bool has = false;
		size_t k;
		json_t *m;
		json_array_foreach(mounts, k, m) has |= str_eq(json_string_value(json_object_get(m, "mountPath")), SA_MOUNT_PATH);
		if (has)
			continue;
		if (!json_is_array(mounts)) {
			mounts = json_array();
			json_object_set_new(c, "volumeMounts", mounts);
		}
		json_array_append_new(mounts, json_build("{s:s, s:b, s:s}", "name", vol, "readOnly", 1,
		                                         "mountPath", SA_MOUNT_PATH));
		added = true;
	}
	return added;
}

int admission_sa_pod(api_req *r, json_t *pod, terr **err)
{
	UNUSED(err);
	json_t *spec = json_object_get(pod, "spec");
	/* k8s: mirror pods (a node's static pods) get no token. */
	if (!json_is_object(spec) ||
	    json_object_get(json_path(pod, "metadata.annotations"), "kubernetes.io/config.mirror"))
		return 0;
	const char *ns = json_path_str(pod, "metadata.namespace");
	if (!wants_token(r->srv, spec, ns ? ns : r->ns))
		return 0;
	/* k8s: an existing kube-api-access-* volume is reused, else a new name. */
	const char *existing = NULL;
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(spec, "volumes"), i, v)
	{
		const char *n = json_string_value(json_object_get(v, "name"));
		if (n && str_has_prefix(n, SA_VOLUME_PREFIX)) {
			existing = n;
			break;
		}
	}
	char sfx[6];
	random_suffix(sfx);
	_cleanup_free_ char *name = existing ? xstrdup(existing) : xasprintf(SA_VOLUME_PREFIX "%s", sfx);
	bool needed = mount_in(json_object_get(spec, "initContainers"), name);
	needed |= mount_in(json_object_get(spec, "containers"), name);
	if (needed && !existing) {
		json_t *vols = json_object_get(spec, "volumes");
		if (!json_is_array(vols)) {
			vols = json_array();
			json_object_set_new(spec, "volumes", vols);
		}
		json_array_append_new(vols, token_volume(name));
	}
	return 0;
}
