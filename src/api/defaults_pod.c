/* defaults_pod.c — defaulting of pod specs wherever they appear (Pods, the templates of
 * workloads, CronJob job templates): containers, probes, lifecycle handlers, ports, env
 * field references, volumes; and of PersistentVolumeClaim specs (also found in
 * StatefulSet claim templates and ephemeral volumes).
 *
 * Not for: Pod-only defaults and other core kinds (defaults_core.c).
 */
#include <string.h>

#include "api/defaults-internal.h"
#include "base/util.h"

/* ---- image references --------------------------------------------------------------- */

static bool ref_path_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
	       c == '-' || c == '/';
}

/* k8s: ParseImageName takes the docker reference apart; a reference that does not parse
 * (empty, or an uppercase repository path) has no tag, hence IfNotPresent. */
const char *defaults_image_pull_policy(const char *image)
{
	if (!image || !*image)
		return "IfNotPresent";
	const char *at = strchr(image, '@');
	size_t n = at ? (size_t)(at - image) : strlen(image);
	/* The repository path starts after a domain: a first component holding '.' or ':',
	 * "localhost", or any uppercase letter. */
	const char *slash = memchr(image, '/', n);
	size_t path_start = 0;
	if (slash) {
		size_t dn = (size_t)(slash - image);
		bool domain = dn == 9 && memcmp(image, "localhost", 9) == 0;
		for (size_t i = 0; i < dn && !domain; i++)
			domain = image[i] == '.' || image[i] == ':' || (image[i] >= 'A' && image[i] <= 'Z');
		if (domain)
			path_start = dn + 1;
	}
	const char *last_slash = NULL;
	for (size_t i = 0; i < n; i++)
		if (image[i] == '/')
			last_slash = image + i;
	const char *colon = memchr(last_slash ? last_slash : image, ':',
	                           n - (size_t)((last_slash ? last_slash : image) - image));
	if (colon && colon < image + path_start)
		colon = NULL;
	size_t path_end = colon ? (size_t)(colon - image) : n;
	if (path_end <= path_start)
		return "IfNotPresent";
	for (size_t i = path_start; i < path_end; i++)
		if (!ref_path_char(image[i]))
			return "IfNotPresent";
	if (colon) {
		size_t tn = n - (size_t)(colon + 1 - image);
		return tn == 6 && memcmp(colon + 1, "latest", 6) == 0 ? "Always" : "IfNotPresent";
	}
	return at ? "IfNotPresent" : "Always";
}

/* ---- containers --------------------------------------------------------------------- */

/* k8s: SetDefaults_HTTPGetAction: path "/", scheme HTTP. */
static void d_handler(json_t *h)
{
	json_t *get = d_get_obj(h, "httpGet");
	if (get) {
		d_str(get, "path", "/");
		d_str(get, "scheme", "HTTP");
	}
	/* k8s: a gRPC probe's service defaults to "" (declarative default). */
	json_t *grpc = d_get_obj(h, "grpc");
	if (grpc)
		d_set(grpc, "service", json_string(""));
}

/* k8s: SetDefaults_Probe: timeoutSeconds 1, periodSeconds 10, successThreshold 1,
 * failureThreshold 3 (each also replaces an explicit 0). */
static void d_probe(json_t *p)
{
	if (!p)
		return;
	d_int_nonzero(p, "timeoutSeconds", 1);
	d_int_nonzero(p, "periodSeconds", 10);
	d_int_nonzero(p, "successThreshold", 1);
	d_int_nonzero(p, "failureThreshold", 3);
	d_handler(p);
}

static void d_env(json_t *c)
{
	size_t i;
	json_t *e;
	json_array_foreach(d_get_arr(c, "env"), i, e)
	{
		json_t *from = d_get_obj(e, "valueFrom");
		/* k8s: SetDefaults_ObjectFieldSelector: apiVersion "v1". */
		d_str(d_get_obj(from, "fieldRef"), "apiVersion", "v1");
		/* A resourceFieldRef's divisor is a Quantity value, serialized as "0" when
		 * unset. */
		d_set(d_get_obj(from, "resourceFieldRef"), "divisor", json_string("0"));
	}
}

/* k8s: SetDefaults_Container, plus the defaults of what a container holds. */
static void d_container(json_t *c)
{
	if (!json_is_object(c))
		return;
	const char *image = json_string_value(json_object_get(c, "image"));
	d_str(c, "imagePullPolicy", defaults_image_pull_policy(image));
	d_str(c, "terminationMessagePath", "/dev/termination-log");
	d_str(c, "terminationMessagePolicy", "File");
	/* resources is a struct value in Go: always serialized, "{}" when empty. */
	d_obj(c, "resources");
	size_t i;
	json_t *p;
	json_array_foreach(d_get_arr(c, "ports"), i, p) d_str(p, "protocol", "TCP");
	d_probe(d_get_obj(c, "livenessProbe"));
	d_probe(d_get_obj(c, "readinessProbe"));
	d_probe(d_get_obj(c, "startupProbe"));
	json_t *lc = d_get_obj(c, "lifecycle");
	d_handler(d_get_obj(lc, "postStart"));
	d_handler(d_get_obj(lc, "preStop"));
	d_env(c);
}

/* ---- volumes ------------------------------------------------------------------------ */

/* Every volume source member name of core/v1 VolumeSource. */
static const char *const volume_sources[] = {
	"hostPath", "emptyDir", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "secret",
	"nfs", "iscsi", "glusterfs", "persistentVolumeClaim", "rbd", "flexVolume", "cinder",
	"cephfs", "flocker", "downwardAPI", "fc", "azureFile", "configMap", "vsphereVolume",
	"quobyte", "azureDisk", "photonPersistentDisk", "projected", "portworxVolume", "scaleIO",
	"storageos", "csi", "ephemeral", "image", NULL,
};

static void d_downward_items(json_t *items)
{
	size_t i;
	json_t *it;
	json_array_foreach(items, i, it)
	{
		d_str(d_get_obj(it, "fieldRef"), "apiVersion", "v1");
		d_set(d_get_obj(it, "resourceFieldRef"), "divisor", json_string("0"));
	}
}

static void d_volume(json_t *vol)
{
	if (!json_is_object(vol))
		return;
	bool any = false;
	for (size_t i = 0; volume_sources[i] && !any; i++)
		any = !d_unset(vol, volume_sources[i]);
	/* k8s: SetDefaults_Volume: a volume with no source is an emptyDir. */
	if (!any)
		json_object_set_new(vol, "emptyDir", json_object());
	json_t *s;
	/* k8s: HostPathVolumeSource.type defaults to "" (HostPathUnset). */
	if ((s = d_get_obj(vol, "hostPath")))
		d_set(s, "type", json_string(""));
	/* k8s: secret, configMap, downwardAPI and projected volumes: defaultMode 0644. */
	if ((s = d_get_obj(vol, "secret")))
		d_int(s, "defaultMode", 0644);
	if ((s = d_get_obj(vol, "configMap")))
		d_int(s, "defaultMode", 0644);
	if ((s = d_get_obj(vol, "downwardAPI"))) {
		d_int(s, "defaultMode", 0644);
		d_downward_items(d_get_arr(s, "items"));
	}
	if ((s = d_get_obj(vol, "projected"))) {
		d_int(s, "defaultMode", 0644);
		size_t i;
		json_t *src;
		json_array_foreach(d_get_arr(s, "sources"), i, src)
		{
			/* k8s: a projected service account token lives one hour by default. */
			d_int(d_get_obj(src, "serviceAccountToken"), "expirationSeconds", 3600);
			d_downward_items(d_get_arr(d_get_obj(src, "downwardAPI"), "items"));
		}
	}
	/* k8s: declarative defaults of the legacy in-tree sources. */
	if ((s = d_get_obj(vol, "iscsi")))
		d_str(s, "iscsiInterface", "default");
	if ((s = d_get_obj(vol, "rbd"))) {
		d_str(s, "pool", "rbd");
		d_str(s, "user", "admin");
		d_str(s, "keyring", "/etc/ceph/keyring");
	}
	if ((s = d_get_obj(vol, "azureDisk"))) {
		d_set(s, "cachingMode", json_string("ReadWrite"));
		d_set(s, "fsType", json_string("ext4"));
		d_set(s, "readOnly", json_false());
		d_set(s, "kind", json_string("Shared"));
	}
	if ((s = d_get_obj(vol, "scaleIO"))) {
		d_str(s, "storageMode", "ThinProvisioned");
		d_str(s, "fsType", "xfs");
	}
	/* k8s: an image volume's pullPolicy follows the container image rule. */
	if ((s = d_get_obj(vol, "image")))
		d_str(s, "pullPolicy",
		      defaults_image_pull_policy(json_string_value(json_object_get(s, "reference"))));
	json_t *tmpl = d_get_obj(d_get_obj(vol, "ephemeral"), "volumeClaimTemplate");
	if (tmpl) {
		json_t *meta = d_obj(tmpl, "metadata");
		if (meta && !json_object_get(meta, "creationTimestamp"))
			json_object_set_new(meta, "creationTimestamp", json_null());
		d_pvc_spec(d_get_obj(tmpl, "spec"));
	}
}

/* ---- pod specs and templates -------------------------------------------------------- */

/* k8s: SetDefaults_PodSpec (the defaults a pod template gets too). */
void defaults_pod_spec(json_t *spec)
{
	if (!json_is_object(spec))
		return;
	d_str(spec, "dnsPolicy", "ClusterFirst");
	d_str(spec, "restartPolicy", "Always");
	d_obj(spec, "securityContext");
	d_int(spec, "terminationGracePeriodSeconds", 30);
	d_str(spec, "schedulerName", "default-scheduler");
	static const char *const lists[] = {"initContainers", "containers", "ephemeralContainers"};
	for (size_t k = 0; k < ARRAY_SIZE(lists); k++) {
		size_t i;
		json_t *c;
		json_array_foreach(d_get_arr(spec, lists[k]), i, c) d_container(c);
	}
	size_t i;
	json_t *vol;
	json_array_foreach(d_get_arr(spec, "volumes"), i, vol) d_volume(vol);
}

/* A PodTemplateSpec: its metadata is a struct value whose creationTimestamp Go writes as
 * null, and its spec gets the pod spec defaults. */
void d_pod_template(json_t *tmpl)
{
	if (!json_is_object(tmpl))
		return;
	json_t *meta = d_obj(tmpl, "metadata");
	if (meta && !json_object_get(meta, "creationTimestamp"))
		json_object_set_new(meta, "creationTimestamp", json_null());
	defaults_pod_spec(d_obj(tmpl, "spec"));
}

/* k8s: SetDefaults_PersistentVolumeClaimSpec: volumeMode Filesystem. */
void d_pvc_spec(json_t *spec)
{
	if (json_is_object(spec))
		d_set(spec, "volumeMode", json_string("Filesystem"));
}

/* k8s: a claim's status.phase defaults to Pending. */
void d_pvc(json_t *pvc)
{
	if (!json_is_object(pvc))
		return;
	d_pvc_spec(d_obj(pvc, "spec"));
	d_str(d_obj(pvc, "status"), "phase", "Pending");
}
