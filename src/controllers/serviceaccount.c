/* serviceaccount.c — every namespace gets a `default` ServiceAccount (kube's
 * serviceaccounts-controller). Not for: tokens (the token controller, later). */
#include <stdlib.h>

#include "apiserver/client.h"
#include "base/json.h"
#include "base/util.h"
#include "controllers/controller-internal.h"

static int reconcile(controller *c, const char *key)
{
	const kind_desc *nsk = controller_kind("", "namespaces");
	const kind_desc *sak = controller_kind("", "serviceaccounts");
	json_t *ns = controller_get(c, nsk, NULL, key);
	if (!ns)
		return RECONCILE_DONE;
	bool active = !json_path(ns, "metadata.deletionTimestamp");
	json_decref(ns);
	if (!active)
		return RECONCILE_DONE;
	json_t *sa = controller_get(c, sak, key, "default");
	if (sa) {
		json_decref(sa);
		return RECONCILE_DONE;
	}
	json_t *obj = json_pack("{s:s, s:s, s:{s:s, s:s}}", "apiVersion", "v1", "kind",
	                        "ServiceAccount", "metadata", "name", "default", "namespace", key);
	client_create(c->srv, c->def->name, sak, key, obj, NULL, NULL);
	json_decref(obj);
	return RECONCILE_DONE;
}

/* A deleted default account comes back. */
static void on_sa(controller *c, const kind_desc *d, const cache_event *ev)
{
	UNUSED(d);
	if (ev->type != STORE_DELETED)
		return;
	json_t *o = cache_event_obj(ev);
	if (str_eq(json_path_str(o, "metadata.name"), "default"))
		controller_enqueue(c, json_path_str(o, "metadata.namespace"));
}

const controller_def serviceaccount_controller = {
	.name = "serviceaccount-controller",
	.watches = {{.group = "", .resource = "namespaces"},
	            {.group = "", .resource = "serviceaccounts", .on_event = on_sa}},
	.reconcile = reconcile,
};
