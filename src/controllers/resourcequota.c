/* resourcequota.c — the resource quota controller (kube's resourcequota-controller): keeps
 * each ResourceQuota's status.hard equal to spec.hard and status.used equal to what the
 * namespace's objects charge for every resource it limits (pods, compute requests and
 * limits, services, claims, storage, object counts). Changes to pods, services,
 * configmaps, secrets, claims and quotas recount at once; quotas that count other kinds
 * are recounted every 10 s, all every 5 minutes.
 * Not for: refusing writes (apiserver/admission_quota.c counts the same way, live).
 */
#include <stdlib.h>
#include <string.h>

#include "apiserver/client.h"
#include "apiserver/quota.h"
#include "base/json.h"
#include "base/util.h"
#include "controllers/controller-internal.h"

/* k8s: --resource-quota-sync-period defaults to 5 minutes. */
#define FULL_RESYNC_MS      (5 * 60 * 1000)
#define UNWATCHED_RESYNC_MS 10000

static const char *const watched[] = {
    "pods", "services", "configmaps", "secrets", "persistentvolumeclaims", "resourcequotas"};

static bool is_watched(const kind_desc *d)
{
	for (size_t i = 0; i < ARRAY_SIZE(watched); i++)
		if (d && !d->group[0] && str_eq(d->resource, watched[i]))
			return true;
	return false;
}

static int reconcile(controller *c, const char *key)
{
	_cleanup_free_ char *ns = NULL, *name = NULL;
	controller_split_key(key, &ns, &name);
	const kind_desc *qk = controller_kind("", "resourcequotas");
	json_t *quota = ns ? controller_get(c, qk, ns, name) : NULL;
	if (!quota)
		return RECONCILE_DONE;
	rlist used = {0};
	quota_namespace_usage(c->cache, quota, time_now_ns(), &used);
	json_t *hard = json_path(quota, "spec.hard");
	json_t *want = json_object();
	json_object_set_new(want, "hard",
	                    json_is_object(hard) ? json_clone(hard) : json_object());
	json_object_set_new(want, "used", rlist_to_json(&used));
	rlist_free(&used);
	if (!json_equal(json_object_get(quota, "status"), want)) {
		json_object_set_new(quota, "status", want);
		client_update(c->srv, c->def->name, qk, quota, "status", NULL, NULL);
	} else {
		json_decref(want);
	}
	bool unwatched = false;
	const char *res;
	json_t *v;
	json_object_foreach(hard, res, v) unwatched |= !is_watched(quota_resource_kind(res));
	controller_enqueue_after(c, key, unwatched ? UNWATCHED_RESYNC_MS : FULL_RESYNC_MS);
	json_decref(quota);
	return RECONCILE_DONE;
}

/* Any change in a namespace recounts every quota of that namespace. */
static void on_object(controller *c, const kind_desc *d, const cache_event *ev)
{
	_cleanup_free_ char *prefix = kind_storage_key(d, NULL, NULL);
	size_t plen = strlen(prefix);
	if (strncmp(ev->key, prefix, plen) != 0)
		return;
	const char *slash = strchr(ev->key + plen, '/');
	if (!slash)
		return;
	_cleanup_free_ char *ns = xstrndup(ev->key + plen, (size_t)(slash - (ev->key + plen)));
	const kind_desc *qk = controller_kind("", "resourcequotas");
	_cleanup_free_ char *qprefix = kind_storage_key(qk, ns, NULL);
	size_t qlen = strlen(qprefix);
	cache_entry *const *es;
	size_t n = cache_range(c->cache, qprefix, NULL, &es);
	for (size_t i = 0; i < n; i++) {
		char *key = xasprintf("%s/%s", ns, es[i]->key + qlen);
		controller_enqueue(c, key);
		free(key);
	}
}

const controller_def resourcequota_controller = {
    .name = "resourcequota-controller",
    .watches = {{.group = "", .resource = "resourcequotas", .on_event = on_object},
                {.group = "", .resource = "pods", .on_event = on_object},
                {.group = "", .resource = "services", .on_event = on_object},
                {.group = "", .resource = "configmaps", .on_event = on_object},
                {.group = "", .resource = "secrets", .on_event = on_object},
                {.group = "", .resource = "persistentvolumeclaims", .on_event = on_object}},
    .reconcile = reconcile,
};
CONTROLLER_REGISTER(resourcequota_controller)
