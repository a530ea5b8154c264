/* admission_storage.c — kube's DefaultStorageClass admission plugin: a PersistentVolumeClaim
 * created without spec.storageClassName gets the class marked default.
 * Not for: provisioning or binding (controllers/localpath.c). */
#include <stdlib.h>
#include <string.h>

#include "apiserver/admission_policy.h"
#include "base/json.h"
#include "base/util.h"

static bool is_default_class(json_t *sc)
{
	json_t *ann = json_path(sc, "metadata.annotations");
	static const char *const keys[] = {"storageclass.kubernetes.io/is-default-class",
	                                   "storageclass.beta.kubernetes.io/is-default-class"};
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (str_eq(json_string_value(json_object_get(ann, keys[i])), "true"))
			return true;
	return false;
}

void admission_storage_default_class(api_req *r, json_t *pvc)
{
	json_t *spec = json_obj_child(pvc, "spec");
	/* k8s: only a claim that leaves the class out (nil) gets one; "" asks for none. */
	if (json_is_string(json_object_get(spec, "storageClassName")))
		return;
	const kind_desc *sk = kind_by_group_resource("storage.k8s.io", "storageclasses");
	_cleanup_free_ char *prefix = route_key(sk, NULL, NULL);
	cache_entry *const *es;
	size_t n = cache_range(r->srv->cache, prefix, NULL, &es);
	json_t *best = NULL;
	const char *best_ts = NULL;
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_loadb(es[i]->value->data, es[i]->value->len, 0, NULL);
		const char *ts = json_path_str(o, "metadata.creationTimestamp");
		/* k8s: with several defaults the newest wins. */
		if (is_default_class(o) && (!best || (ts && best_ts && strcmp(ts, best_ts) > 0))) {
			json_decref(best);
			best = o;
			best_ts = ts;
		} else {
			json_decref(o);
		}
	}
	if (best)
		json_object_set(spec, "storageClassName", json_path(best, "metadata.name"));
	json_decref(best);
}
