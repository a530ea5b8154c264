/* localpath.c — the local-path provisioner (k3s ships one): the default StorageClass
 * `local-path`, and for each claim of that class a hostPath PersistentVolume in
 * <data-dir>/storage/<pv name> on the node of the first pod that uses it
 * (WaitForFirstConsumer), bound to the claim; when the claim goes, the volume and its
 * folder go too (reclaimPolicy Delete) or the volume is Released (Retain).
 *
 * Keys: "ns/name" for a claim, "name" for a volume, "!class" for the StorageClass.
 * Folder work (mkdir, rm -rf) runs on a libuv worker; the API writes follow on the loop.
 * The folder lives on this machine: timon's nodes (the embedded agent, simulated nodes)
 * share the server's filesystem.
 * Not for: binding pre-created volumes to claims (kube's PV controller), volume
 * expansion, the scheduler's VolumeBinding filter (a stub: pods are not steered to the
 * node of an existing volume). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "agent/volume-internal.h"
#include "apiserver/client.h"
#include "base/json.h"
#include "base/log.h"
#include "base/util.h"
#include "controllers/controller-internal.h"

#define CLASS_NAME      "local-path"
#define PROVISIONER     "timon.dev/local-path"
#define CLASS_KEY       "!class"
#define ANN_PROVISIONED "pv.kubernetes.io/provisioned-by"
#define ANN_SELECTED    "volume.kubernetes.io/selected-node"
#define ANN_BIND_DONE   "pv.kubernetes.io/bind-completed"

static const kind_desc *kind(const char *group, const char *resource)
{
	return controller_kind(group, resource);
}

/* Annotation keys hold dots, so they are looked up directly, not by a dotted path. */
static const char *annotation(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(json_path(obj, "metadata.annotations"), key));
}

static char *storage_path(controller *c, const char *pv)
{
	return xasprintf("%s/storage/%s", apiserver_data_dir(c->srv), pv);
}

/* ---- folder work on a worker ---- */

typedef struct fs_job {
	uv_work_t req;
	controller *c;
	char *path;
	bool remove;
	int err;    /* errno, 0 on success */
	json_t *pv; /* provisioning: the volume to create, the claim to bind */
	json_t *pvc;
	char *pv_name; /* removal: the volume to delete afterwards */
} fs_job;

static void fs_work(uv_work_t *req)
{
	fs_job *j = req->data;
	int rc = j->remove ? volume_remove_tree(j->path) : volume_mkdir_p(j->path, 0777);
	j->err = rc < 0 ? errno : 0;
}

static void bind_claim(controller *c, json_t *pv, json_t *pvc)
{
	const char *pvname = json_path_str(pv, "metadata.name");
	const char *ns = json_path_str(pvc, "metadata.namespace");
	const char *name = json_path_str(pvc, "metadata.name");
	client_create(c->srv, c->def->name, kind("", "persistentvolumes"), NULL, pv, NULL, NULL);
	/* k8s: the binder sets spec.volumeName once, then the claim's and volume's phase. */
	json_t *p = json_pack("{s:{s:{s:s}}, s:{s:s}}", "metadata", "annotations", ANN_BIND_DONE,
	                      "yes", "spec", "volumeName", pvname);
	client_patch(c->srv, c->def->name, kind("", "persistentvolumeclaims"), ns, name, NULL,
	             "application/merge-patch+json", p, NULL, NULL);
	json_decref(p);
	p = json_pack("{s:{s:s, s:O, s:O}}", "status", "phase", "Bound", "accessModes",
	              json_path(pv, "spec.accessModes"), "capacity",
	              json_path(pv, "spec.capacity"));
	client_patch(c->srv, c->def->name, kind("", "persistentvolumeclaims"), ns, name, "status",
	             "application/merge-patch+json", p, NULL, NULL);
	json_decref(p);
	p = json_pack("{s:{s:s}}", "status", "phase", "Bound");
	client_patch(c->srv, c->def->name, kind("", "persistentvolumes"), NULL, pvname, "status",
	             "application/merge-patch+json", p, NULL, NULL);
	json_decref(p);
}

static void fs_done(uv_work_t *req, int status)
{
	fs_job *j = req->data;
	if (status != 0 || j->err) {
		log_warn("local-path: %s %s: %s", j->remove ? "remove" : "create", j->path,
		         strerror(j->err ? j->err : ECANCELED));
	} else if (j->remove) {
		client_delete(j->c->srv, j->c->def->name, kind("", "persistentvolumes"), NULL,
		              j->pv_name, NULL, NULL, NULL);
	} else {
		bind_claim(j->c, j->pv, j->pvc);
	}
	json_decref(j->pv);
	json_decref(j->pvc);
	free(j->pv_name);
	free(j->path);
	free(j);
}

static void fs_queue(controller *c, fs_job *j)
{
	j->c = c;
	j->req.data = j;
	uv_queue_work(apiserver_loop(c->srv), &j->req, fs_work, fs_done);
}

/* ---- the StorageClass ---- */

static int ensure_class(controller *c)
{
	json_t *sc = controller_get(c, kind("storage.k8s.io", "storageclasses"), NULL, CLASS_NAME);
	if (sc) {
		json_decref(sc);
		return RECONCILE_DONE;
	}
	json_t *obj = json_pack(
	    "{s:s, s:s, s:{s:s, s:{s:s}}, s:s, s:s, s:s}", "apiVersion", "storage.k8s.io/v1",
	    "kind", "StorageClass", "metadata", "name", CLASS_NAME, "annotations",
	    "storageclass.kubernetes.io/is-default-class", "true", "provisioner", PROVISIONER,
	    "volumeBindingMode", "WaitForFirstConsumer", "reclaimPolicy", "Delete");
	client_create(c->srv, c->def->name, kind("storage.k8s.io", "storageclasses"), NULL, obj,
	              NULL, NULL);
	json_decref(obj);
	return RECONCILE_DONE;
}

/* ---- claims ---- */

/* The node the claim's volume goes to: the scheduler's selected-node annotation, else the
 * node of a scheduled pod that uses the claim; NULL while there is none. */
static char *claim_node(controller *c, json_t *pvc)
{
	const char *sel = annotation(pvc, ANN_SELECTED);
	if (sel && *sel)
		return xstrdup(sel);
	const char *ns = json_path_str(pvc, "metadata.namespace");
	const char *name = json_path_str(pvc, "metadata.name");
	json_t **pods;
	size_t n = controller_list(c, kind("", "pods"), ns, &pods);
	char *node = NULL;
	for (size_t i = 0; i < n && !node; i++) {
		const char *nn = json_path_str(pods[i], "spec.nodeName");
		if (!nn || !*nn)
			continue;
		size_t k;
		json_t *v;
		json_array_foreach(json_path(pods[i], "spec.volumes"), k, v)
		{
			if (str_eq(json_path_str(v, "persistentVolumeClaim.claimName"), name)) {
				node = xstrdup(nn);
				break;
			}
		}
	}
	controller_list_free(pods, n);
	return node;
}

/* Immediate binding: any node will do; the first one by name. */
static char *any_node(controller *c)
{
	json_t **nodes;
	size_t n = controller_list(c, kind("", "nodes"), NULL, &nodes);
	char *node = n ? xstrdup(json_path_str(nodes[0], "metadata.name")) : NULL;
	controller_list_free(nodes, n);
	return node;
}

static json_t *new_volume(controller *c, json_t *pvc, json_t *sc, const char *pvname,
                          const char *node, const char *path)
{
	json_t *storage = json_path(pvc, "spec.resources.requests.storage");
	storage = storage ? json_incref(storage) : json_string("1Gi");
	const char *reclaim = json_string_value(json_object_get(sc, "reclaimPolicy"));
	json_t *modes = json_path(pvc, "spec.accessModes");
	modes = json_array_size(modes) ? json_incref(modes) : json_pack("[s]", "ReadWriteOnce");
	json_t *pv = json_pack(
	    "{s:s, s:s, s:{s:s, s:{s:s}}, s:{s:{s:o}, s:o, s:s, s:s, s:s, s:{s:s, s:s},"
	    " s:{s:s, s:s, s:s, s:s, s:s}, s:{s:{s:[{s:[{s:s, s:s, s:[s]}]}]}}}}",
	    "apiVersion", "v1", "kind", "PersistentVolume", "metadata", "name", pvname,
	    "annotations", ANN_PROVISIONED, PROVISIONER, "spec", "capacity", "storage", storage,
	    "accessModes", modes, "persistentVolumeReclaimPolicy", reclaim ? reclaim : "Delete",
	    "storageClassName", CLASS_NAME, "volumeMode",
	    json_path_str(pvc, "spec.volumeMode") ? json_path_str(pvc, "spec.volumeMode")
	                                          : "Filesystem",
	    "hostPath", "path", path, "type", "DirectoryOrCreate", "claimRef", "apiVersion", "v1",
	    "kind", "PersistentVolumeClaim", "namespace", json_path_str(pvc, "metadata.namespace"),
	    "name", json_path_str(pvc, "metadata.name"), "uid", json_path_str(pvc, "metadata.uid"),
	    "nodeAffinity", "required", "nodeSelectorTerms", "matchExpressions", "key",
	    "kubernetes.io/hostname", "operator", "In", "values", node);
	UNUSED(c);
	return pv;
}

static int reconcile_claim(controller *c, const char *key)
{
	_cleanup_free_ char *ns = NULL, *name = NULL;
	controller_split_key(key, &ns, &name);
	_cleanup_json_ json_t *pvc =
	    controller_get(c, kind("", "persistentvolumeclaims"), ns, name);
	if (!pvc || json_path(pvc, "metadata.deletionTimestamp"))
		return RECONCILE_DONE;
	if (!str_eq(json_path_str(pvc, "spec.storageClassName"), CLASS_NAME))
		return RECONCILE_DONE;
	_cleanup_json_ json_t *sc =
	    controller_get(c, kind("storage.k8s.io", "storageclasses"), NULL, CLASS_NAME);
	if (!sc)
		return RECONCILE_RETRY; /* ensure_class is creating it */
	const char *bound = json_path_str(pvc, "spec.volumeName");
	if (bound && *bound) {
		/* Already bound (maybe by us before a restart): finish the phase if needed. */
		if (!str_eq(json_path_str(pvc, "status.phase"), "Bound")) {
			_cleanup_json_ json_t *pv =
			    controller_get(c, kind("", "persistentvolumes"), NULL, bound);
			if (pv && str_eq(json_path_str(pv, "spec.claimRef.uid"),
			                 json_path_str(pvc, "metadata.uid")))
				bind_claim(c, pv, pvc);
		}
		return RECONCILE_DONE;
	}
	_cleanup_free_ char *node = NULL;
	if (str_eq(json_string_value(json_object_get(sc, "volumeBindingMode")), "Immediate"))
		node = any_node(c);
	else
		node = claim_node(c, pvc);
	if (!node)
		return RECONCILE_DONE; /* k8s: WaitForFirstConsumer; a pod event brings us back */
	/* k8s: provisioned volumes are named pvc-<claim uid>, which makes a repeated attempt
	 * meet the first one's volume (409) instead of making a second. */
	_cleanup_free_ char *pvname = xasprintf("pvc-%s", json_path_str(pvc, "metadata.uid"));
	fs_job *j = xcalloc(1, sizeof(*j));
	j->path = storage_path(c, pvname);
	j->pv = new_volume(c, pvc, sc, pvname, node, j->path);
	j->pvc = json_incref(pvc);
	fs_queue(c, j);
	return RECONCILE_DONE;
}

/* ---- volumes ---- */

static int reconcile_volume(controller *c, const char *name)
{
	_cleanup_json_ json_t *pv = controller_get(c, kind("", "persistentvolumes"), NULL, name);
	if (!pv || json_path(pv, "metadata.deletionTimestamp") ||
	    !str_eq(annotation(pv, ANN_PROVISIONED), PROVISIONER))
		return RECONCILE_DONE;
	const char *cns = json_path_str(pv, "spec.claimRef.namespace");
	const char *cname = json_path_str(pv, "spec.claimRef.name");
	if (!cname)
		return RECONCILE_DONE;
	_cleanup_json_ json_t *pvc =
	    controller_get(c, kind("", "persistentvolumeclaims"), cns, cname);
	bool claim_gone = !pvc || !str_eq(json_path_str(pvc, "metadata.uid"),
	                                  json_path_str(pv, "spec.claimRef.uid"));
	if (!claim_gone)
		return RECONCILE_DONE;
	if (str_eq(json_path_str(pv, "spec.persistentVolumeReclaimPolicy"), "Delete")) {
		fs_job *j = xcalloc(1, sizeof(*j));
		j->remove = true;
		j->path = storage_path(c, name);
		j->pv_name = xstrdup(name);
		fs_queue(c, j);
	} else if (!str_eq(json_path_str(pv, "status.phase"), "Released")) {
		json_t *p = json_pack("{s:{s:s}}", "status", "phase", "Released");
		client_patch(c->srv, c->def->name, kind("", "persistentvolumes"), NULL, name,
		             "status", "application/merge-patch+json", p, NULL, NULL);
		json_decref(p);
	}
	return RECONCILE_DONE;
}

static int reconcile(controller *c, const char *key)
{
	if (strcmp(key, CLASS_KEY) == 0)
		return ensure_class(c);
	if (strchr(key, '/'))
		return reconcile_claim(c, key);
	return reconcile_volume(c, key);
}

/* ---- events ---- */

/* A claim's change: the claim itself; its deletion: the volume it was bound to. */
static void on_claim(controller *c, const kind_desc *d, const cache_event *ev)
{
	UNUSED(d);
	json_t *o = cache_event_obj(ev); /* shared, read-only */
	if (!o)
		return;
	_cleanup_free_ char *key = controller_key_of(o);
	controller_enqueue(c, key);
	const char *pv = json_path_str(o, "spec.volumeName");
	if (ev->type == STORE_DELETED && pv && *pv)
		controller_enqueue(c, pv);
}

/* Whether a pod's event names a claim: from the writer's tree when it left one, else from
 * the bytes (most pods use none, and cost no parse on the loop). */
static bool uses_claim(const cache_event *ev)
{
	json_t *t = cache_event_obj_parsed(ev);
	if (!t)
		return memmem(ev->value->data, ev->value->len, "\"persistentVolumeClaim\"", 23);
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(json_object_get(t, "spec"), "volumes"), i, v)
	{
		if (json_object_get(v, "persistentVolumeClaim"))
			return true;
	}
	return false;
}

/* A scheduled pod: the claims it uses (WaitForFirstConsumer). */
static void on_pod(controller *c, const kind_desc *d, const cache_event *ev)
{
	UNUSED(d);
	/* Most pods use no claim (uses_claim parses nothing). */
	if (ev->type == STORE_DELETED || !uses_claim(ev))
		return;
	json_t *o = cache_event_obj(ev); /* shared, read-only */
	if (!o || !json_path_str(o, "spec.nodeName"))
		return;
	const char *ns = json_path_str(o, "metadata.namespace");
	size_t i;
	json_t *v;
	json_array_foreach(json_path(o, "spec.volumes"), i, v)
	{
		const char *cn = json_path_str(v, "persistentVolumeClaim.claimName");
		if (cn) {
			_cleanup_free_ char *key = xasprintf("%s/%s", ns, cn);
			controller_enqueue(c, key);
		}
	}
}

static void on_class(controller *c, const kind_desc *d, const cache_event *ev)
{
	UNUSED(d);
	if (ev->type == STORE_DELETED)
		controller_enqueue(c, CLASS_KEY);
}

static void start(controller *c)
{
	controller_enqueue(c, CLASS_KEY);
}

static const controller_def localpath_controller = {
    .name = "local-path-provisioner",
    .watches = {{.group = "", .resource = "persistentvolumeclaims", .on_event = on_claim},
                {.group = "", .resource = "persistentvolumes"},
                {.group = "", .resource = "pods", .on_event = on_pod},
                {.group = "storage.k8s.io", .resource = "storageclasses", .on_event = on_class}},
    .reconcile = reconcile,
    .start = start,
};
CONTROLLER_REGISTER(localpath_controller);
