/* validate_pod.c — validation of pod specs wherever they appear (Pods and the templates
 * of workloads): volumes, the pod-level fields (restartPolicy, dnsPolicy, tolerations,
 * dnsConfig, hostAliases, ...), pod templates, and PersistentVolumeClaim specs; plus the
 * small path and port helpers the container checks share.
 *
 * Not for: containers (validate_container.c), the Pod kind's own rules (validate_core.c)
 * or workloads (validate_apps.c). Affinity terms and security contexts are not checked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/validate-internal.h"
#include "base/util.h"

static const char *const restart_policies[] = {"Always", "OnFailure", "Never", NULL};
static const char *const dns_policies[] = {"ClusterFirstWithHostNet", "ClusterFirst", "Default",
                                           "None", NULL};
static const char *const hostpath_types[] = {"", "DirectoryOrCreate", "Directory",
                                             "FileOrCreate", "File", "Socket", "CharDevice",
                                             "BlockDevice", NULL};
#define FILE_MODE_MSG "must be a number between 0 and 0777 (octal), both inclusive"
#define MORE_THAN_ONE_VOLUME "may not specify more than 1 volume type"

/* Every volume source member of core/v1 VolumeSource, in kube's checking order. */
static const char *const volume_sources[] = {
	"emptyDir", "hostPath", "gitRepo", "gcePersistentDisk", "awsElasticBlockStore", "secret",
	"nfs", "iscsi", "glusterfs", "flocker", "persistentVolumeClaim", "rbd", "cinder", "cephfs",
	"quobyte", "downwardAPI", "fc", "flexVolume", "configMap", "azureFile", "vsphereVolume",
	"photonPersistentDisk", "portworxVolume", "azureDisk", "storageos", "projected", "scaleIO",
	"csi", "ephemeral", "image", NULL,
};

/* ---- small helpers ------------------------------------------------------------------ */

void v_check_dns_label(vctx *v, const char *child, const char *s)
{
	vmsgs m = {0};
	if (vm_dns1123_label(s, &m))
		v_invalid_msgs(v, child, s, &m);
}

void v_check_subdomain(vctx *v, const char *child, const char *s)
{
	vmsgs m = {0};
	if (vm_dns1123_subdomain(s, &m))
		v_invalid_msgs(v, child, s, &m);
}

static void file_mode(vctx *v, json_t *o, const char *key)
{
	long long mode;
	if (jint(o, key, &mode) && (mode > 0777 || mode < 0))
		v_invalid_int(v, key, mode, FILE_MODE_MSG);
}

/* k8s: validatePathNoBacksteps, validateLocalDescendingPath, ValidateLocalNonReservedPath */
void v_path_no_backsteps(vctx *v, const char *child, const char *p)
{
	const char *s = p;
	while (s) {
		const char *slash = strchr(s, '/');
		size_t n = slash ? (size_t)(slash - s) : strlen(s);
		if (n == 2 && s[0] == '.' && s[1] == '.') {
			v_invalid(v, child, p, "must not contain '..'");
			return;
		}
		s = slash ? slash + 1 : NULL;
	}
}

void v_local_descending_path(vctx *v, const char *child, const char *p)
{
	if (p[0] == '/')
		v_invalid(v, child, p, "must be a relative path");
	v_path_no_backsteps(v, child, p);
}

void v_local_non_reserved_path(vctx *v, const char *child, const char *p)
{
	v_local_descending_path(v, child, p);
	if (str_has_prefix(p, "..") && !str_has_prefix(p, "../"))
		v_invalid(v, child, p, "must not start with '..'");
}

/* k8s: ValidatePortNumOrName for an IntOrString member. */
void v_port_num_or_name(vctx *v, json_t *o, const char *key)
{
	json_t *p = json_object_get(o, key);
	long long n;
	if (jint(o, key, &n)) {
		if (n < 1 || n > 65535)
			v_invalid_int(v, key, n, VMSG_PORT_RANGE);
	} else if (json_is_string(p)) {
		vmsgs m = {0};
		if (vm_port_name(json_string_value(p), &m))
			v_invalid_msgs(v, key, json_string_value(p), &m);
	} else {
		v_invalid_int(v, key, 0, VMSG_PORT_RANGE);
	}
}

/* ---- volumes ------------------------------------------------------------------------ */

static void key_to_paths(vctx *v, json_t *items)
{
	size_t i;
	json_t *kp;
	json_array_foreach(items, i, kp)
	{
		size_t m = vp_push(v, "items");
		vp_index(v, i);
		const char *key = jstr(kp, "key"), *path = jstr(kp, "path");
		if (!key || !*key)
			v_required(v, "key", NULL);
		if (!path || !*path)
			v_required(v, "path", NULL);
		v_local_non_reserved_path(v, "path", path ? path : "");
		file_mode(v, kp, "mode");
		vp_pop(v, m);
	}
}

static void volume_source(vctx *v, json_t *vol, const char *name)
{
	int n = 0;
	for (size_t i = 0; volume_sources[i]; i++) {
		const char *src = volume_sources[i];
		json_t *s = json_object_get(vol, src);
		if (!s || json_is_null(s))
			continue;
		if (n++ > 0) {
			v_forbidden(v, src, MORE_THAN_ONE_VOLUME);
			continue;
		}
		size_t m = vp_push(v, src);
		if (strcmp(src, "hostPath") == 0) {
			const char *p = jstr(s, "path");
			if (!p || !*p) {
				v_required(v, "path", NULL);
			} else {
				v_path_no_backsteps(v, "path", p);
				const char *t = jstr(s, "type");
				if (t && !v_in(t, hostpath_types))
					v_not_supported(v, "type", t, hostpath_types + 1);
			}
		} else if (strcmp(src, "secret") == 0) {
			const char *sn = jstr(s, "secretName");
			if (!sn || !*sn)
				v_required(v, "secretName", NULL);
			file_mode(v, s, "defaultMode");
			key_to_paths(v, jarr(s, "items"));
		} else if (strcmp(src, "configMap") == 0) {
			const char *cn = jstr(s, "name");
			if (!cn || !*cn)
				v_required(v, "name", NULL);
			file_mode(v, s, "defaultMode");
			key_to_paths(v, jarr(s, "items"));
		} else if (strcmp(src, "persistentVolumeClaim") == 0) {
			const char *cn = jstr(s, "claimName");
			if (!cn || !*cn)
				v_required(v, "claimName", NULL);
		} else if (strcmp(src, "nfs") == 0) {
			const char *server = jstr(s, "server"), *p = jstr(s, "path");
			if (!server || !*server)
				v_required(v, "server", NULL);
			if (!p || !*p)
				v_required(v, "path", NULL);
			if (!p || p[0] != '/')
				v_invalid(v, "path", p, "must be an absolute path");
		} else if (strcmp(src, "downwardAPI") == 0) {
			file_mode(v, s, "defaultMode");
			size_t i2;
			json_t *f;
			json_array_foreach(jarr(s, "items"), i2, f)
			{
				const char *p = jstr(f, "path");
				if (!p || !*p)
					v_required(v, "path", NULL);
				v_local_non_reserved_path(v, "path", p ? p : "");
				if (!jhas(f, "fieldRef") && !jhas(f, "resourceFieldRef"))
					v_required(v, NULL, "one of fieldRef and resourceFieldRef is required");
				file_mode(v, f, "mode");
			}
		} else if (strcmp(src, "projected") == 0) {
			file_mode(v, s, "defaultMode");
		} else if (strcmp(src, "csi") == 0) {
			const char *drv = jstr(s, "driver");
			if (!drv || !*drv)
				v_required(v, "driver", NULL);
			else if (strlen(drv) > 63)
				v_too_long(v, "driver", 63);
		} else if (strcmp(src, "ephemeral") == 0) {
			json_t *t = jobj(s, "volumeClaimTemplate");
			if (!t) {
				v_required(v, "volumeClaimTemplate", NULL);
			} else {
				size_t m2 = vp_push(v, "volumeClaimTemplate");
				size_t m3 = vp_push(v, "spec");
				v_pvc_spec(v, jobj(t, "spec"));
				vp_pop(v, m3);
				vp_pop(v, m2);
			}
		} else if (strcmp(src, "gitRepo") == 0) {
			const char *r = jstr(s, "repository");
			if (!r || !*r)
				v_required(v, "repository", NULL);
		}
		vp_pop(v, m);
	}
	UNUSED(name);
	if (n == 0)
		v_required(v, NULL, "must specify a volume type");
}

/* Validates spec.volumes; returns the names (borrowed from the tree) of valid volumes in
 * an object used as a set, and which are claims (value true). */
static json_t *volumes(vctx *v, json_t *vols)
{
	json_t *names = json_object();
	size_t i;
	json_t *vol;
	json_array_foreach(vols, i, vol)
	{
		size_t m = vp_index(v, i);
		const char *name = jstr(vol, "name");
		terr *before = v->err;
		size_t ncause = before ? before->ncauses : 0;
		volume_source(v, vol, name);
		if (!name || !*name)
			v_required(v, "name", NULL);
		else
			v_check_dns_label(v, "name", name);
		if (name && *name && json_object_get(names, name))
			v_duplicate(v, "name", name);
		bool ok = (v->err ? v->err->ncauses : 0) == ncause;
		if (ok && name)
			json_object_set_new(names, name,
			                    json_boolean(jhas(vol, "persistentVolumeClaim") ||
			                                 jhas(vol, "ephemeral")));
		vp_pop(v, m);
	}
	return names;
}

/* ---- pod-level fields --------------------------------------------------------------- */

void v_tolerations(vctx *v, json_t *tols)
{
	static const char *const ops[] = {"Equal", "Exists", NULL};
	static const char *const effects[] = {"NoSchedule", "PreferNoSchedule", "NoExecute", NULL};
	size_t i;
	json_t *t;
	json_array_foreach(tols, i, t)
	{
		size_t m = vp_index(v, i);
		const char *key = jstr(t, "key"), *op = jstr(t, "operator");
		const char *value = jstr(t, "value"), *effect = jstr(t, "effect");
		if (!op)
			op = "";
		if (!value)
			value = "";
		if (key && *key) {
			vmsgs ms = {0};
			if (vm_qualified_name(key, &ms))
				v_invalid_msgs(v, "key", key, &ms);
		}
		if ((!key || !*key) && strcmp(op, "Exists") != 0)
			v_invalid(v, "operator", op, "operator must be Exists when `key` is empty, which "
			                             "means \"match all values and all keys\"");
		if (jhas(t, "tolerationSeconds") && !str_eq(effect, "NoExecute"))
			v_invalid(v, "effect", effect, "effect must be 'NoExecute' when "
			                               "`tolerationSeconds` is set");
		if (!*op || strcmp(op, "Equal") == 0) {
			vmsgs ms = {0};
			if (vm_label_value(value, &ms)) {
				_cleanup_buf_ buf j = {0};
				for (int k = 0; k < ms.n; k++) {
					buf_puts(&j, k ? ";" : "");
					buf_puts(&j, ms.m[k]);
				}
				v_invalid(v, "operator", value, j.p);
			}
		} else if (strcmp(op, "Exists") == 0) {
			if (*value)
				v_invalid(v, "operator", value, "value must be empty when `operator` is "
				                                "'Exists'");
		} else {
			v_not_supported(v, "operator", op, ops);
		}
		if (effect && *effect && !v_in(effect, effects))
			v_not_supported(v, "effect", effect, effects);
		vp_pop(v, m);
	}
}

static void dns_config(vctx *v, json_t *spec)
{
	json_t *cfg = jobj(spec, "dnsConfig");
	size_t m = vp_push(v, "dnsConfig");
	if (str_eq(jstr(spec, "dnsPolicy"), "None")) {
		if (!cfg) {
			v_required(v, NULL, "must provide `dnsConfig` when `dnsPolicy` is None");
			vp_pop(v, m);
			return;
		}
		if (json_array_size(jarr(cfg, "nameservers")) == 0) {
			v_required(v, "nameservers", "must provide at least one DNS nameserver when "
			                             "`dnsPolicy` is None");
			vp_pop(v, m);
			return;
		}
	}
	if (cfg) {
		json_t *ns = jarr(cfg, "nameservers");
		if (json_array_size(ns) > 3)
			v_invalid_json(v, "nameservers", ns, "must not have more than 3 nameservers");
		size_t i;
		json_t *x;
		json_array_foreach(ns, i, x)
		{
			const char *ip = json_is_string(x) ? json_string_value(x) : "";
			if (!v_is_ip(ip)) {
				size_t m2 = vp_push(v, "nameservers");
				vp_index(v, i);
				v_invalid(v, NULL, ip, "must be a valid IP address, (e.g. 10.9.8.7 or "
				                       "2001:db8::ffff)");
				vp_pop(v, m2);
			}
		}
		json_t *searches = jarr(cfg, "searches");
		if (json_array_size(searches) > 32)
			v_invalid_json(v, "searches", searches, "must not have more than 32 search paths");
		json_array_foreach(jarr(cfg, "options"), i, x)
		{
			const char *name = jstr(x, "name");
			if (!name || !*name) {
				size_t m2 = vp_push(v, "options");
				vp_index(v, i);
				v_required(v, NULL, "must not be empty");
				vp_pop(v, m2);
			}
		}
	}
	vp_pop(v, m);
}

static void topology_spread(vctx *v, json_t *list)
{
	static const char *const when[] = {"DoNotSchedule", "ScheduleAnyway", NULL};
	size_t i;
	json_t *c;
	json_array_foreach(list, i, c)
	{
		size_t m = vp_index(v, i);
		long long skew = 0;
		jint(c, "maxSkew", &skew);
		if (skew <= 0)
			v_invalid_int(v, "maxSkew", skew, "must be greater than zero");
		const char *key = jstr(c, "topologyKey");
		vmsgs ms = {0};
		if (!key || !*key)
			v_required(v, "topologyKey", "can not be empty");
		else if (vm_qualified_name(key, &ms))
			v_invalid_msgs(v, "topologyKey", key, &ms);
		const char *w = jstr(c, "whenUnsatisfiable");
		if (!w || !*w)
			v_required(v, "whenUnsatisfiable", NULL);
		else if (!v_in(w, when))
			v_not_supported(v, "whenUnsatisfiable", w, when);
		json_t *sel = jobj(c, "labelSelector");
		if (sel) {
			size_t m2 = vp_push(v, "labelSelector");
			v_label_selector(v, sel);
			vp_pop(v, m2);
		}
		vp_pop(v, m);
	}
}

void v_pod_spec(vctx *v, json_t *spec, bool is_pod)
{
	long long grace = 0;
	bool hg = jint(spec, "terminationGracePeriodSeconds", &grace);
	if (!jhas(spec, "terminationGracePeriodSeconds"))
		v_required(v, "terminationGracePeriodSeconds", NULL);
	size_t m = vp_push(v, "volumes");
	json_t *vols = volumes(v, jarr(spec, "volumes"));
	vp_pop(v, m);
	v_containers(v, spec, vols, grace, hg, is_pod);
	json_decref(vols);

	/* k8s: with hostNetwork, a hostPort must equal its containerPort (a template may leave
	 * it 0: it is defaulted when the pod is created). */
	if (jtrue(spec, "hostNetwork")) {
		size_t i, j;
		json_t *c, *p;
		json_array_foreach(jarr(spec, "containers"), i, c)
		{
			json_array_foreach(jarr(c, "ports"), j, p)
			{
				long long hp = 0, cp = 0;
				jint(p, "hostPort", &hp);
				jint(p, "containerPort", &cp);
				if ((is_pod || hp != 0) && hp != cp) {
					size_t m2 = vp_push(v, "containers");
					vp_index(v, i);
					vp_push(v, "ports");
					vp_index(v, j);
					v_invalid_int(v, "hostPort", hp, "must match `containerPort` when "
					                                 "`hostNetwork` is true");
					vp_pop(v, m2);
				}
			}
		}
	}
	const char *rp = jstr(spec, "restartPolicy");
	if (!rp || !*rp)
		v_required(v, "restartPolicy", NULL);
	else if (!v_in(rp, restart_policies))
		v_not_supported(v, "restartPolicy", rp, restart_policies);
	const char *dp = jstr(spec, "dnsPolicy");
	if (!dp || !*dp)
		v_required(v, "dnsPolicy", NULL);
	else if (!v_in(dp, dns_policies))
		v_not_supported(v, "dnsPolicy", dp, dns_policies);
	m = vp_push(v, "nodeSelector");
	v_labels(v, jobj(spec, "nodeSelector"));
	vp_pop(v, m);
	size_t i;
	json_t *x;
	json_array_foreach(jarr(spec, "imagePullSecrets"), i, x)
	{
		if (json_object_size(x) > 1 || (json_object_size(x) == 1 && !jhas(x, "name"))) {
			size_t m2 = vp_push(v, "imagePullSecrets");
			vp_index(v, i);
			v_invalid_json(v, NULL, x, "only name may be set");
			vp_pop(v, m2);
		}
	}
	dns_config(v, spec);
	json_array_foreach(jarr(spec, "readinessGates"), i, x)
	{
		const char *ct = jstr(x, "conditionType");
		vmsgs ms = {0};
		if (vm_qualified_name(ct ? ct : "", &ms)) {
			size_t m2 = vp_push(v, "readinessGates");
			vp_index(v, i);
			v_invalid_msgs(v, "conditionType", ct, &ms);
			vp_pop(v, m2);
		}
	}
	m = vp_push(v, "topologySpreadConstraints");
	topology_spread(v, jarr(spec, "topologySpreadConstraints"));
	vp_pop(v, m);
	const char *s;
	vmsgs ms = {0};
	if ((s = jstr(spec, "serviceAccountName")) && *s && vm_dns1123_subdomain(s, &ms))
		v_invalid_msgs(v, "serviceAccountName", s, &ms);
	ms.n = 0;
	if ((s = jstr(spec, "nodeName")) && *s && vm_dns1123_subdomain(s, &ms))
		v_invalid_msgs(v, "nodeName", s, &ms);
	long long ads;
	if (jint(spec, "activeDeadlineSeconds", &ads) && (ads < 1 || ads > 2147483647LL))
		v_invalid_int(v, "activeDeadlineSeconds", ads,
		              "must be between 1 and 2147483647, inclusive");
	if ((s = jstr(spec, "hostname")) && *s)
		v_check_dns_label(v, "hostname", s);
	if ((s = jstr(spec, "subdomain")) && *s)
		v_check_dns_label(v, "subdomain", s);
	m = vp_push(v, "tolerations");
	v_tolerations(v, jarr(spec, "tolerations"));
	vp_pop(v, m);
	json_array_foreach(jarr(spec, "hostAliases"), i, x)
	{
		size_t m2 = vp_push(v, "hostAliases");
		vp_index(v, i);
		const char *ip = jstr(x, "ip");
		if (!v_is_ip(ip ? ip : ""))
			v_invalid(v, "ip", ip, "must be a valid IP address, (e.g. 10.9.8.7 or "
			                       "2001:db8::ffff)");
		size_t j;
		json_t *h;
		json_array_foreach(jarr(x, "hostnames"), j, h)
		{
			size_t m3 = vp_push(v, "hostnames");
			vp_index(v, j);
			v_check_subdomain(v, NULL, json_is_string(h) ? json_string_value(h) : "");
			vp_pop(v, m3);
		}
		vp_pop(v, m2);
	}
	if ((s = jstr(spec, "priorityClassName")) && *s)
		v_check_subdomain(v, "priorityClassName", s);
	if ((s = jstr(spec, "runtimeClassName")))
		v_check_subdomain(v, "runtimeClassName", s);
	static const char *const preempt[] = {"PreemptLowerPriority", "Never", NULL};
	if (jhas(spec, "preemptionPolicy")) {
		s = jstr(spec, "preemptionPolicy");
		if (!s || !*s)
			v_required(v, "preemptionPolicy", NULL);
		else if (!v_in(s, preempt))
			v_not_supported(v, "preemptionPolicy", s, preempt);
	}
	json_t *os = jobj(spec, "os");
	if (os) {
		static const char *const oses[] = {"linux", "windows", NULL};
		const char *name = jstr(os, "name");
		size_t m2 = vp_push(v, "os");
		if (!name || !*name)
			v_required(v, "name", NULL);
		else if (!v_in(name, oses))
			v_not_supported(v, "name", name, oses);
		vp_pop(v, m2);
	}
}

/* k8s: ValidatePodTemplateSpec — labels and annotations are reported at "<path>.labels"
 * and "<path>.annotations" (not under metadata), the spec at "<path>.spec". */
void v_pod_template(vctx *v, json_t *tmpl)
{
	json_t *meta = jobj(tmpl, "metadata");
	size_t m = vp_push(v, "labels");
	v_labels(v, jobj(meta, "labels"));
	vp_pop(v, m);
	m = vp_push(v, "annotations");
	v_annotations(v, jobj(meta, "annotations"));
	vp_pop(v, m);
	json_t *spec = jobj(tmpl, "spec");
	m = vp_push(v, "spec");
	v_pod_spec(v, spec, false);
	if (json_array_size(jarr(spec, "ephemeralContainers")) > 0)
		v_forbidden(v, "ephemeralContainers", "ephemeral containers not allowed in pod "
		                                      "template");
	vp_pop(v, m);
}

/* ---- claims ------------------------------------------------------------------------- */

void v_pvc_spec(vctx *v, json_t *spec)
{
	static const char *const modes[] = {"ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce",
	                                    "ReadWriteOncePod", NULL};
	static const char *const vmodes[] = {"Block", "Filesystem", NULL};
	json_t *am = jarr(spec, "accessModes");
	if (json_array_size(am) == 0)
		v_required(v, "accessModes", "at least 1 access mode is required");
	json_t *sel = jobj(spec, "selector");
	if (sel) {
		size_t m = vp_push(v, "selector");
		v_label_selector(v, sel);
		vp_pop(v, m);
	}
	bool rwop = false, other = false;
	size_t i;
	json_t *x;
	json_array_foreach(am, i, x)
	{
		const char *mode = json_is_string(x) ? json_string_value(x) : "";
		if (!v_in(mode, modes))
			v_not_supported(v, "accessModes", mode, modes);
		else if (strcmp(mode, "ReadWriteOncePod") == 0)
			rwop = true;
		else
			other = true;
	}
	if (rwop && other)
		v_forbidden(v, "accessModes", "may not use ReadWriteOncePod with other access modes");
	json_t *storage = json_object_get(jobj(jobj(spec, "resources"), "requests"), "storage");
	long double q;
	size_t m = vp_push(v, "resources");
	vp_key(v, "storage");
	if (!storage) {
		v_required(v, NULL, NULL);
	} else if (json_is_string(storage) && v_quantity(json_string_value(storage), &q) &&
	           q <= 0) {
		v_invalid(v, NULL, json_string_value(storage), "must be greater than zero");
	}
	vp_pop(v, m);
	const char *sc = jstr(spec, "storageClassName");
	if (sc && *sc)
		v_check_subdomain(v, "storageClassName", sc);
	const char *vm = jstr(spec, "volumeMode");
	if (vm && !v_in(vm, vmodes))
		v_not_supported(v, "volumeMode", vm, vmodes);
}
