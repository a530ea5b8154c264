/* volume_refs.c — which API objects a pod's volumes and environment need, so the agent can
 * read them from the watch cache on the loop thread before the worker sets the pod up.
 * Not for: reading them (the agent) or using them (volume_setup.c, env.c). */
#include "agent/volume.h"
#include "base/json.h"
#include "base/util.h"

/* Adds (resource, name) once; optional stays true only while every use is optional. */
static void add_ref(json_t *refs, const char *resource, json_t *name, json_t *optional)
{
	const char *n = json_string_value(name);
	if (!n || !*n)
		return;
	bool opt = json_is_true(optional);
	size_t i;
	json_t *r;
	json_array_foreach(refs, i, r)
	{
		if (str_eq(json_string_value(json_object_get(r, "resource")), resource) &&
		    str_eq(json_string_value(json_object_get(r, "name")), n)) {
			if (!opt)
				json_object_set_new(r, "optional", json_false());
			return;
		}
	}
	json_array_append_new(
	    refs, json_pack("{s:s, s:s, s:b}", "resource", resource, "name", n, "optional", opt));
}

static void container_refs(json_t *refs, json_t *c)
{
	size_t i;
	json_t *e, *r;
	json_array_foreach(json_object_get(c, "envFrom"), i, e)
	{
		if ((r = json_object_get(e, "configMapRef")))
			add_ref(refs, "configmaps", json_object_get(r, "name"),
			        json_object_get(r, "optional"));
		if ((r = json_object_get(e, "secretRef")))
			add_ref(refs, "secrets", json_object_get(r, "name"),
			        json_object_get(r, "optional"));
	}
	json_array_foreach(json_object_get(c, "env"), i, e)
	{
		json_t *vf = json_object_get(e, "valueFrom");
		if ((r = json_object_get(vf, "configMapKeyRef")))
			add_ref(refs, "configmaps", json_object_get(r, "name"),
			        json_object_get(r, "optional"));
		if ((r = json_object_get(vf, "secretKeyRef")))
			add_ref(refs, "secrets", json_object_get(r, "name"),
			        json_object_get(r, "optional"));
	}
}

json_t *agent_pod_refs(json_t *pod)
{
	json_t *refs = json_array();
	size_t i, k;
	json_t *v, *s, *r;
	json_array_foreach(json_path(pod, "spec.volumes"), i, v)
	{
		if ((r = json_object_get(v, "configMap")))
			add_ref(refs, "configmaps", json_object_get(r, "name"),
			        json_object_get(r, "optional"));
		if ((r = json_object_get(v, "secret")))
			add_ref(refs, "secrets", json_object_get(r, "secretName"),
			        json_object_get(r, "optional"));
		if ((r = json_object_get(v, "persistentVolumeClaim")))
			add_ref(refs, "persistentvolumeclaims", json_object_get(r, "claimName"),
			        NULL);
		json_array_foreach(json_path(v, "projected.sources"), k, s)
		{
			if ((r = json_object_get(s, "configMap")))
				add_ref(refs, "configmaps", json_object_get(r, "name"),
				        json_object_get(r, "optional"));
			if ((r = json_object_get(s, "secret")))
				add_ref(refs, "secrets", json_object_get(r, "name"),
				        json_object_get(r, "optional"));
		}
	}
	static const char *const lists[] = {"spec.initContainers", "spec.containers",
	                                    "spec.ephemeralContainers"};
	for (size_t l = 0; l < ARRAY_SIZE(lists); l++) {
		json_array_foreach(json_path(pod, lists[l]), i, v) container_refs(refs, v);
	}
	return refs;
}
