/* rootca.c — every namespace gets a `kube-root-ca.crt` ConfigMap holding the cluster CA
 * (kube's root-ca-cert-publisher), which the kube-api-access volume of each pod projects
 * as ca.crt. A changed or deleted map is put back. Not for: rotating the CA itself. */
#include <stdlib.h>

#include "apiserver/client.h"
#include "base/json.h"
#include "base/log.h"
#include "base/pki.h"
#include "base/util.h"
#include "controllers/controller-internal.h"

#define ROOTCA_NAME "kube-root-ca.crt"
#define ROOTCA_DESC                                                                        \
	"Contains a CA bundle that can be used to verify the kube-apiserver when using "     \
	"internal endpoints such as the internal service IP or kubernetes.default.svc. No "  \
	"other usage is guaranteed across distributions of Kubernetes clusters."

static void start(controller *c)
{
	_cleanup_free_ char *path =
	    xasprintf("%s/tls/%s", apiserver_data_dir(c->srv), PKI_CA_CRT);
	char *pem = NULL;
	terr *err = NULL;
	if (pki_read_file(path, &pem, NULL, &err) < 0) {
		log_warn("root-ca-cert-publisher: %s", err->message);
		terr_free(err);
	}
	c->state = pem; /* NULL: nothing to publish */
}

static void stop(controller *c)
{
	free(c->state);
	c->state = NULL;
}

static int reconcile(controller *c, const char *key)
{
	const char *pem = c->state;
	if (!pem)
		return RECONCILE_DONE;
	json_t *ns = controller_get(c, controller_kind("", "namespaces"), NULL, key);
	bool active = ns && !json_path(ns, "metadata.deletionTimestamp");
	json_decref(ns);
	if (!active)
		return RECONCILE_DONE;
	const kind_desc *cmk = controller_kind("", "configmaps");
	json_t *cm = controller_get(c, cmk, key, ROOTCA_NAME);
	if (cm && str_eq(json_path_str(cm, "data.ca.crt"), pem)) {
		json_decref(cm);
		return RECONCILE_DONE;
	}
	if (cm) {
		/* k8s: the publisher owns the map's data; edits are undone. */
		json_object_set_new(cm, "data", json_pack("{s:s}", "ca.crt", pem));
		client_update(c->srv, c->def->name, cmk, cm, NULL, NULL, NULL);
		json_decref(cm);
		return RECONCILE_DONE;
	}
	json_t *obj = json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s}}, s:{s:s}}", "apiVersion", "v1",
	                        "kind", "ConfigMap", "metadata", "name", ROOTCA_NAME, "namespace",
	                        key, "annotations", "kubernetes.io/description", ROOTCA_DESC, "data",
	                        "ca.crt", pem);
	client_create(c->srv, c->def->name, cmk, key, obj, NULL, NULL);
	json_decref(obj);
	return RECONCILE_DONE;
}

/* A change to the map (not our own matching write) sends its namespace back. */
static void on_cm(controller *c, const kind_desc *d, const cache_event *ev)
{
	UNUSED(d);
	/* The key (".../configmaps/<ns>/<name>") says enough: no parse of other maps. */
	if (!str_has_suffix(ev->key, "/" ROOTCA_NAME))
		return;
	json_t *o = cache_event_obj(ev);
	controller_enqueue(c, json_path_str(o, "metadata.namespace"));
}

static const controller_def rootca_controller = {
	.name = "root-ca-cert-publisher",
	.watches = {{.group = "", .resource = "namespaces"},
	            {.group = "", .resource = "configmaps", .on_event = on_cm}},
	.reconcile = reconcile,
	.start = start,
	.stop = stop,
};
CONTROLLER_REGISTER(rootca_controller)
