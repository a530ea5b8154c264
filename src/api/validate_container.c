/* validate_container.c — validation of the containers of a pod spec (regular, init and
 * ephemeral): names, images, ports, env and envFrom, volume mounts, probes and lifecycle
 * handlers, resources (requests against limits, extended resources), host port conflicts,
 * with kube's paths and messages.
 *
 * Not for: volumes and pod-level fields (validate_pod.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/validate-internal.h"
#include "base/json.h"
#include "base/quantity.h"
#include "base/util.h"

static const char *const pull_policies[] = {"Always", "IfNotPresent", "Never", NULL};
static const char *const protocols[] = {"SCTP", "TCP", "UDP", NULL};
static const char *const msg_policies[] = {"File", "FallbackToLogsOnError", NULL};
static const char *const http_schemes[] = {"HTTP", "HTTPS", NULL};
#define MORE_THAN_ONE_HANDLER "may not specify more than 1 handler type"


static void ports(vctx *v, json_t *list)
{
	json_t *seen = json_object();
	size_t i;
	json_t *p;
	json_array_foreach(list, i, p)
	{
		size_t m = vp_index(v, i);
		const char *name = jstr(p, "name");
		if (name && *name) {
			vmsgs ms = {0};
			if (vm_port_name(name, &ms))
				v_invalid_msgs(v, "name", name, &ms);
			else if (json_object_get(seen, name))
				v_duplicate(v, "name", name);
			else
				json_object_set_new(seen, name, json_true());
		}
		long long cp = 0, hp = 0;
		jint(p, "containerPort", &cp);
		if (cp == 0)
			v_required(v, "containerPort", NULL);
		else if (cp < 1 || cp > 65535)
			v_invalid_int(v, "containerPort", cp, VMSG_PORT_RANGE);
		if (jint(p, "hostPort", &hp) && hp != 0 && (hp < 1 || hp > 65535))
			v_invalid_int(v, "hostPort", hp, VMSG_PORT_RANGE);
		v_enum_required(v, p, "protocol", protocols);
		vp_pop(v, m);
	}
	json_decref(seen);
}

/* k8s: with RelaxedEnvironmentVariableValidation (on in 1.32), names are any printable
 * ASCII other than '='. */
static void env_name(vctx *v, const char *child, const char *name)
{
	for (const char *p = name; *p; p++) {
		if (*p < 0x20 || *p > 0x7e || *p == '=') {
			v_invalid(v, child, name, "a valid environment variable name must consist only "
			                          "of printable ASCII characters other than '='");
			return;
		}
	}
}

static const char *const env_field_paths[] = {
	"metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName",
	"spec.serviceAccountName", "status.hostIP", "status.hostIPs", "status.podIP",
	"status.podIPs", NULL,
};

static void key_selector(vctx *v, json_t *sel)
{
	const char *name = jstr(sel, "name");
	vmsgs m = {0};
	if (vm_dns1123_subdomain(name ? name : "", &m))
		v_invalid_msgs(v, "name", name, &m);
	const char *key = jstr(sel, "key");
	vmsgs mk = {0};
	if (!key || !*key)
		v_required(v, "key", NULL);
	else if (vm_config_map_key(key, &mk))
		v_invalid_msgs(v, "key", key, &mk);
}

static void env(vctx *v, json_t *list)
{
	size_t i;
	json_t *e;
	json_array_foreach(list, i, e)
	{
		size_t m = vp_index(v, i);
		const char *name = jstr(e, "name");
		if (!name || !*name)
			v_required(v, "name", NULL);
		else
			env_name(v, "name", name);
		json_t *from = jobj(e, "valueFrom");
		if (from) {
			size_t m2 = vp_push(v, "valueFrom");
			int n = 0;
			json_t *fr = jobj(from, "fieldRef");
			if (fr) {
				n++;
				size_t m3 = vp_push(v, "fieldRef");
				const char *av = jstr(fr, "apiVersion"), *fp = jstr(fr, "fieldPath");
				if (!av || !*av) {
					v_required(v, "apiVersion", NULL);
				} else if (!fp || !*fp) {
					v_required(v, "fieldPath", NULL);
				} else if (str_has_prefix(fp, "metadata.labels['") ||
				           str_has_prefix(fp, "metadata.annotations['")) {
					/* subscripted: checked by the kubelet's resolver */
				} else if (!v_in(fp, env_field_paths)) {
					v_not_supported(v, "fieldPath", fp, env_field_paths);
				}
				vp_pop(v, m3);
			}
			json_t *rf = jobj(from, "resourceFieldRef");
			if (rf) {
				n++;
				const char *res = jstr(rf, "resource");
				if (!res || !*res)
					v_required(v, "resourceFieldRef.resource", NULL);
			}
			static const char *const kinds[] = {"configMapKeyRef", "secretKeyRef"};
			for (size_t k = 0; k < 2; k++) {
				json_t *sel = jobj(from, kinds[k]);
				if (!sel)
					continue;
				n++;
				size_t m3 = vp_push(v, kinds[k]);
				key_selector(v, sel);
				vp_pop(v, m3);
			}
			const char *value = jstr(e, "value");
			if (n == 0)
				v_invalid(v, NULL, "", "must specify one of: `fieldRef`, `resourceFieldRef`, "
				                       "`configMapKeyRef` or `secretKeyRef`");
			else if (value && *value)
				v_invalid(v, NULL, "", "may not be specified when `value` is not empty");
			else if (n > 1)
				v_invalid(v, NULL, "", "may not have more than one field specified at a time");
			vp_pop(v, m2);
		}
		vp_pop(v, m);
	}
}

static void env_from(vctx *v, json_t *list)
{
	size_t i;
	json_t *e;
	json_array_foreach(list, i, e)
	{
		size_t m = vp_index(v, i);
		const char *prefix = jstr(e, "prefix");
		if (prefix && *prefix)
			env_name(v, "prefix", prefix);
		int n = 0;
		static const char *const kinds[] = {"configMapRef", "secretRef"};
		for (size_t k = 0; k < 2; k++) {
			json_t *ref = jobj(e, kinds[k]);
			if (!ref)
				continue;
			n++;
			size_t m2 = vp_push(v, kinds[k]);
			const char *name = jstr(ref, "name");
			vmsgs ms = {0};
			if (!name || !*name)
				v_required(v, "name", NULL);
			else if (vm_name(VNAME_SUBDOMAIN, name, true, &ms))
				v_invalid_msgs(v, "name", name, &ms);
			vp_pop(v, m2);
		}
		vp_pop(v, m);
		if (n == 0)
			v_invalid(v, NULL, "", "must specify one of: `configMapRef` or `secretRef`");
		else if (n > 1)
			v_invalid(v, NULL, "", "may not have more than one field specified at a time");
	}
}

static void volume_mounts(vctx *v, json_t *list, json_t *vols)
{
	json_t *paths = json_object();
	size_t i;
	json_t *mnt;
	json_array_foreach(list, i, mnt)
	{
		size_t m = vp_index(v, i);
		const char *name = jstr(mnt, "name"), *mp = jstr(mnt, "mountPath");
		if (!name || !*name)
			v_required(v, "name", NULL);
		if (!json_object_get(vols, name ? name : ""))
			v_not_found(v, "name", name);
		if (!mp || !*mp)
			v_required(v, "mountPath", NULL);
		if (json_object_get(paths, mp ? mp : ""))
			v_invalid(v, "mountPath", mp, "must be unique");
		json_object_set_new(paths, mp ? mp : "", json_true());
		vp_pop(v, m);
		const char *sub = jstr(mnt, "subPath"), *subx = jstr(mnt, "subPathExpr");
		if (sub && *sub)
			v_local_descending_path(v, "subPath", sub);
		if (subx && *subx) {
			if (sub && *sub) {
				size_t m2 = vp_index(v, i);
				v_invalid(v, "subPathExpr", subx, "subPathExpr and subPath are mutually exclusive");
				vp_pop(v, m2);
			}
			v_local_descending_path(v, "subPathExpr", subx);
		}
	}
	json_decref(paths);
}

static void handler(vctx *v, json_t *h, long long grace, bool has_grace, bool probe)
{
	static const char *const kinds_probe[] = {"exec", "httpGet", "tcpSocket", "grpc", NULL};
	static const char *const kinds_lc[] = {"exec", "httpGet", "tcpSocket", "sleep", NULL};
	const char *const *kinds = probe ? kinds_probe : kinds_lc;
	int n = 0;
	for (size_t i = 0; kinds[i]; i++) {
		json_t *a = jobj(h, kinds[i]);
		if (!a)
			continue;
		if (n++ > 0) {
			v_forbidden(v, kinds[i], MORE_THAN_ONE_HANDLER);
			continue;
		}
		size_t m = vp_push(v, kinds[i]);
		if (strcmp(kinds[i], "exec") == 0) {
			if (json_array_size(jarr(a, "command")) == 0)
				v_required(v, "command", NULL);
		} else if (strcmp(kinds[i], "httpGet") == 0) {
			const char *p = jstr(a, "path");
			if (!p || !*p)
				v_required(v, "path", NULL);
			v_port_num_or_name(v, a, "port");
			const char *scheme = jstr(a, "scheme");
			if (!v_in(scheme ? scheme : "", http_schemes))
				v_not_supported(v, "scheme", scheme, http_schemes);
			size_t j;
			json_t *hd;
			json_array_foreach(jarr(a, "httpHeaders"), j, hd)
			{
				const char *hn = jstr(hd, "name");
				vmsgs ms = {0};
				if (vm_http_header_name(hn ? hn : "", &ms))
					v_invalid_msgs(v, "httpHeaders", hn, &ms);
			}
		} else if (strcmp(kinds[i], "tcpSocket") == 0 || strcmp(kinds[i], "grpc") == 0) {
			v_port_num_or_name(v, a, "port");
		} else if (strcmp(kinds[i], "sleep") == 0) {
			long long secs = 0;
			jint(a, "seconds", &secs);
			if (has_grace && (secs <= 0 || secs > grace)) {
				char msg[200];
				snprintf(msg, sizeof msg,
				         "must be greater than 0 and less than terminationGracePeriodSeconds "
				         "(%lld). Enable AllowPodLifecycleSleepActionZeroValue feature gate "
				         "for zero sleep.",
				         grace);
				v_invalid_int(v, "seconds", secs, msg);
			}
		}
		vp_pop(v, m);
	}
	if (n == 0)
		v_required(v, NULL, "must specify a handler type");
}

/* kind: 'l' liveness, 'r' readiness, 's' startup */
static void probe(vctx *v, json_t *c, const char *key, char kind, long long grace, bool hg)
{
	json_t *p = jobj(c, key);
	if (!p)
		return;
	size_t m = vp_push(v, key);
	handler(v, p, grace, hg, true);
	static const char *const nonneg[] = {"initialDelaySeconds", "timeoutSeconds",
	                                     "periodSeconds", "successThreshold",
	                                     "failureThreshold"};
	for (size_t i = 0; i < ARRAY_SIZE(nonneg); i++)
		v_nonneg(v, p, nonneg[i]);
	long long t;
	if (jint(p, "terminationGracePeriodSeconds", &t) && t <= 0)
		v_invalid_int(v, "terminationGracePeriodSeconds", t, "must be greater than 0");
	long long st = 0;
	jint(p, "successThreshold", &st);
	if ((kind == 'l' || kind == 's') && st != 1)
		v_invalid_int(v, "successThreshold", st, "must be 1");
	if (kind == 'r' && jhas(p, "terminationGracePeriodSeconds"))
		v_invalid_json(v, "terminationGracePeriodSeconds",
		               json_object_get(p, "terminationGracePeriodSeconds"),
		               "must not be set for readinessProbes");
	vp_pop(v, m);
}

static void lifecycle_and_probes(vctx *v, json_t *c, long long grace, bool hg)
{
	json_t *lc = jobj(c, "lifecycle");
	if (lc) {
		size_t m = vp_push(v, "lifecycle");
		static const char *const hooks[] = {"postStart", "preStop"};
		for (size_t i = 0; i < 2; i++) {
			json_t *h = jobj(lc, hooks[i]);
			if (!h)
				continue;
			size_t m2 = vp_push(v, hooks[i]);
			handler(v, h, grace, hg, false);
			vp_pop(v, m2);
		}
		vp_pop(v, m);
	}
	probe(v, c, "livenessProbe", 'l', grace, hg);
	probe(v, c, "readinessProbe", 'r', grace, hg);
	probe(v, c, "startupProbe", 's', grace, hg);
}

/* k8s: a resource name without '/' (or under kubernetes.io/) is native; native names may
 * be overcommitted (requests below limits) except hugepages-*. */
static bool native_resource(const char *r)
{
	const char *slash = strchr(r, '/');
	return !slash || strstr(r, "kubernetes.io/") != NULL;
}

static bool overcommit_allowed(const char *r)
{
	return native_resource(r) && !str_has_prefix(r, "hugepages-");
}

static bool standard_container_resource(const char *r)
{
	return strcmp(r, "cpu") == 0 || strcmp(r, "memory") == 0 ||
	       strcmp(r, "ephemeral-storage") == 0 || str_has_prefix(r, "hugepages-");
}

static void resource_name_and_value(vctx *v, const char *r, json_t *val)
{
	vmsgs m = {0};
	if (vm_qualified_name(r, &m)) {
		v_invalid_msgs(v, NULL, r, &m);
	} else if (!strchr(r, '/')) {
		if (!standard_container_resource(r))
			v_invalid(v, NULL, r, "must be a standard resource for containers");
	} else if (!native_resource(r) && str_has_prefix(r, "requests.")) {
		v_invalid(v, NULL, r, "doesn't follow extended resource name standard");
	}
	long double q;
	const char *s = json_is_string(val) ? json_string_value(val) : NULL;
	char num[64];
	if (!s && json_is_number(val)) {
		snprintf(num, sizeof num, "%g", json_number_value(val));
		s = num;
	}
	if (s && v_quantity(s, &q)) {
		if (q < 0)
			v_invalid(v, NULL, s, VMSG_NEGATIVE);
		else if (!overcommit_allowed(r) && !str_has_prefix(r, "hugepages-") &&
		         q != (long double)(long long)q)
			v_invalid(v, NULL, s, "must be an integer");
	}
}

void v_resources(vctx *v, json_t *res)
{
	json_t *lim = jobj(res, "limits"), *req = jobj(res, "requests");
	const char *r;
	json_t *val;
	json_object_foreach(lim, r, val)
	{
		size_t m = vp_push(v, "limits");
		vp_key(v, r);
		resource_name_and_value(v, r, val);
		vp_pop(v, m);
	}
	json_object_foreach(req, r, val)
	{
		size_t m = vp_push(v, "requests");
		size_t mk = vp_key(v, r);
		resource_name_and_value(v, r, val);
		vp_pop(v, mk);
		json_t *l = json_object_get(lim, r);
		quantity qr, ql;
		terr *e1 = NULL, *e2 = NULL;
		if (l && quantity_parse_json(val, &qr, &e1) == 0 && quantity_parse_json(l, &ql, &e2) == 0) {
			char msg[300];
			char *sr = quantity_canonical(&qr), *sl = quantity_canonical(&ql);
			int c = quantity_cmp(&qr, &ql);
			if (c != 0 && !overcommit_allowed(r)) {
				snprintf(msg, sizeof msg, "must be equal to %s limit of %s", r, sl);
				v_invalid(v, NULL, sr, msg);
			} else if (c > 0) {
				snprintf(msg, sizeof msg, "must be less than or equal to %s limit of %s", r, sl);
				v_invalid(v, NULL, sr, msg);
			}
			free(sr);
			free(sl);
		} else if (!l && !overcommit_allowed(r)) {
			terr_free(e1);
			terr_free(e2);
			e1 = e2 = NULL;
			vp_pop(v, m);
			m = vp_push(v, "limits");
			v_required(v, NULL, "Limit must be set for non overcommitable resources");
		}
		terr_free(e1);
		terr_free(e2);
		vp_pop(v, m);
	}
}

/* k8s: validateContainerCommon. */
static void container_common(vctx *v, json_t *c, json_t *vols, bool is_pod)
{
	const char *name = jstr(c, "name");
	if (!name || !*name)
		v_required(v, "name", NULL);
	else
		v_check_dns_label(v, "name", name);
	const char *image = jstr(c, "image");
	if (!image || !*image)
		v_required(v, "image", NULL);
	else if (is_pod && (image[0] == ' ' || image[0] == '\t' || image[0] == '\n' ||
	                    image[strlen(image) - 1] == ' ' || image[strlen(image) - 1] == '\t' ||
	                    image[strlen(image) - 1] == '\n'))
		v_invalid(v, "image", image, "must not have leading or trailing whitespace");
	v_enum_required(v, c, "terminationMessagePolicy", msg_policies);
	size_t m = vp_push(v, "ports");
	ports(v, jarr(c, "ports"));
	vp_pop(v, m);
	m = vp_push(v, "env");
	env(v, jarr(c, "env"));
	vp_pop(v, m);
	m = vp_push(v, "envFrom");
	env_from(v, jarr(c, "envFrom"));
	vp_pop(v, m);
	m = vp_push(v, "volumeMounts");
	volume_mounts(v, jarr(c, "volumeMounts"), vols);
	vp_pop(v, m);
	v_enum_required(v, c, "imagePullPolicy", pull_policies);
	m = vp_push(v, "resources");
	v_resources(v, jobj(c, "resources"));
	vp_pop(v, m);
}

/* k8s: host ports must not collide ("<protocol>/<hostIP>/<port>"). */
static void host_port_conflicts(vctx *v, json_t *containers, json_t *seen, size_t only)
{
	size_t i, j;
	json_t *c, *p;
	json_array_foreach(containers, i, c)
	{
		if (only != (size_t)-1 && i != only)
			continue;
		json_array_foreach(jarr(c, "ports"), j, p)
		{
			long long hp = 0;
			if (!jint(p, "hostPort", &hp) || hp == 0)
				continue;
			const char *proto = jstr(p, "protocol"), *ip = jstr(p, "hostIP");
			char key[300];
			snprintf(key, sizeof key, "%s/%s/%lld", proto ? proto : "", ip ? ip : "", hp);
			if (json_object_get(seen, key)) {
				size_t m = vp_index(v, i);
				vp_push(v, "ports");
				vp_index(v, j);
				v_duplicate(v, "hostPort", key);
				vp_pop(v, m);
			} else {
				json_object_set_new(seen, key, json_true());
			}
		}
	}
}

static void containers(vctx *v, json_t *spec, json_t *vols, long long grace, bool hg,
                       bool is_pod)
{
	json_t *list = jarr(spec, "containers");
	size_t mc = vp_push(v, "containers");
	if (json_array_size(list) == 0) {
		v_required(v, NULL, NULL);
		vp_pop(v, mc);
		return;
	}
	json_t *names = json_object();
	size_t i;
	json_t *c;
	json_array_foreach(list, i, c)
	{
		size_t m = vp_index(v, i);
		container_common(v, c, vols, is_pod);
		const char *name = jstr(c, "name");
		if (json_object_get(names, name ? name : ""))
			v_duplicate(v, "name", name);
		else
			json_object_set_new(names, name ? name : "", json_true());
		lifecycle_and_probes(v, c, grace, hg);
		if (jhas(c, "restartPolicy"))
			v_forbidden(v, "restartPolicy", "may not be set for non-init containers");
		vp_pop(v, m);
	}
	json_t *seen = json_object();
	host_port_conflicts(v, list, seen, (size_t)-1);
	json_decref(seen);
	json_decref(names);
	vp_pop(v, mc);
}

static void init_containers(vctx *v, json_t *spec, json_t *vols, long long grace, bool hg,
                            bool is_pod)
{
	json_t *list = jarr(spec, "initContainers");
	if (!list)
		return;
	json_t *names = json_object();
	size_t i;
	json_t *c;
	json_array_foreach(jarr(spec, "containers"), i, c)
	{
		const char *n = jstr(c, "name");
		json_object_set_new(names, n ? n : "", json_true());
	}
	size_t mc = vp_push(v, "initContainers");
	json_array_foreach(list, i, c)
	{
		size_t m = vp_index(v, i);
		container_common(v, c, vols, is_pod);
		const char *rp = jstr(c, "restartPolicy");
		static const char *const always[] = {"Always", NULL};
		if (rp && strcmp(rp, "Always") != 0)
			v_not_supported(v, "restartPolicy", rp, always);
		bool sidecar = str_eq(rp, "Always");
		const char *name = jstr(c, "name");
		if (json_object_get(names, name ? name : ""))
			v_duplicate(v, "name", name);
		else if (name && *name)
			json_object_set_new(names, name, json_true());
		vp_pop(v, m);
		json_t *seen = json_object();
		host_port_conflicts(v, list, seen, i);
		json_decref(seen);
		m = vp_index(v, i);
		if (sidecar) {
			lifecycle_and_probes(v, c, grace, hg);
		} else {
			static const char *const forbidden[] = {"lifecycle", "livenessProbe",
			                                        "readinessProbe", "startupProbe"};
			for (size_t k = 0; k < ARRAY_SIZE(forbidden); k++)
				if (jhas(c, forbidden[k]))
					v_forbidden(v, forbidden[k], "may not be set for init containers "
					                             "without restartPolicy=Always");
		}
		if (jhas(c, "resizePolicy"))
			v_invalid_json(v, "resizePolicy", json_object_get(c, "resizePolicy"),
			               "must not be set for init containers");
		vp_pop(v, m);
	}
	vp_pop(v, mc);
	json_decref(names);
}

static void ephemeral_containers(vctx *v, json_t *spec, json_t *vols, bool is_pod)
{
	json_t *list = jarr(spec, "ephemeralContainers");
	if (json_array_size(list) == 0)
		return;
	json_t *names = json_object();
	static const char *const lists[] = {"containers", "initContainers"};
	for (size_t k = 0; k < 2; k++) {
		size_t i;
		json_t *c;
		json_array_foreach(jarr(spec, lists[k]), i, c)
		{
			const char *n = jstr(c, "name");
			json_object_set_new(names, n ? n : "", json_true());
		}
	}
	json_t *others = json_clone(names);
	static const char *const not_allowed[] = {"ports", "livenessProbe", "readinessProbe",
	                                          "startupProbe", "lifecycle", "resizePolicy",
	                                          "restartPolicy"};
	size_t mc = vp_push(v, "ephemeralContainers");
	size_t i;
	json_t *c;
	json_array_foreach(list, i, c)
	{
		size_t m = vp_index(v, i);
		container_common(v, c, vols, is_pod);
		const char *name = jstr(c, "name");
		if (json_object_get(names, name ? name : ""))
			v_duplicate(v, "name", name);
		else
			json_object_set_new(names, name ? name : "", json_true());
		const char *target = jstr(c, "targetContainerName");
		if (target && *target && !json_object_get(others, target))
			v_not_found(v, "targetContainerName", target);
		for (size_t k = 0; k < ARRAY_SIZE(not_allowed); k++)
			if (jhas(c, not_allowed[k]))
				v_forbidden(v, not_allowed[k], "cannot be set for an Ephemeral Container");
		json_t *res = jobj(c, "resources");
		if (res && json_object_size(res) > 0)
			v_forbidden(v, "resources", "cannot be set for an Ephemeral Container");
		vp_pop(v, m);
	}
	vp_pop(v, mc);
	json_decref(names);
	json_decref(others);
}

void v_containers(vctx *v, json_t *spec, json_t *vols, long long grace, bool hg, bool is_pod)
{
	containers(v, spec, vols, grace, hg, is_pod);
	init_containers(v, spec, vols, grace, hg, is_pod);
	ephemeral_containers(v, spec, vols, is_pod);
}
