/* validate_core.c — validation of the core/v1 kinds: Pod (create and update rules),
 * Namespace, Service, Endpoints, ConfigMap, Secret, ServiceAccount, Node, Event,
 * PersistentVolume(Claim), ResourceQuota, LimitRange.
 *
 * Not for: pod spec internals (validate_pod.c) or object metadata (validate_meta.c),
 * which validate.c applies to every kind before calling these.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/validate-internal.h"
#include "base/json.h"
#include "base/util.h"

/* k8s: MaxSecretSize, the limit on the summed sizes of a Secret's or ConfigMap's values. */
#define MAX_SECRET_SIZE (1024 * 1024)
#define MSG_IMMUTABLE_SET "field is immutable when `immutable` is set"

/* ---- Pod ---------------------------------------------------------------------------- */

static bool spec_key_updatable(const char *k)
{
	return strcmp(k, "activeDeadlineSeconds") == 0 || strcmp(k, "tolerations") == 0 ||
	       strcmp(k, "terminationGracePeriodSeconds") == 0 || strcmp(k, "schedulingGates") == 0;
}

/* k8s: ValidatePodUpdate — besides images, activeDeadlineSeconds, added tolerations,
 * removed scheduling gates and a negative grace period set to 1, a pod's spec is frozen. */
static void pod_update(vctx *v, json_t *spec, json_t *ospec)
{
	/* The same spec (a status write shares it with the stored pod) needs no copies. */
	if (spec == ospec || json_equal(spec, ospec))
		return;
	json_t *a = jcopy(spec);
	json_t *b = jcopy(ospec);
	static const char *const lists[] = {"containers", "initContainers"};
	for (size_t k = 0; k < 2; k++) {
		json_t *la = jarr(a, lists[k]), *lb = jarr(b, lists[k]);
		for (size_t i = 0; i < json_array_size(la) && i < json_array_size(lb); i++) {
			json_t *ca = json_array_get(la, i), *cb = json_array_get(lb, i);
			if (json_is_object(ca) && json_is_object(cb))
				json_object_set(cb, "image", json_object_get(ca, "image"));
		}
	}
	const char *k;
	json_t *x;
	void *tmp;
	json_object_foreach_safe(a, tmp, k, x) if (spec_key_updatable(k)) json_object_del(a, k);
	json_object_foreach_safe(b, tmp, k, x) if (spec_key_updatable(k)) json_object_del(b, k);
	if (!json_equal(a, b)) {
		_cleanup_buf_ buf msg = {0};
		buf_puts(&msg, "pod updates may not change fields other than "
		               "`spec.containers[*].image`,`spec.initContainers[*].image`,"
		               "`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to "
		               "existing tolerations),`spec.terminationGracePeriodSeconds` (allow it "
		               "to be set to 1 if it was previously negative)\n");
		/* kube appends a Go diff of the specs; we list the changed members instead */
		json_t *keys = json_object();
		json_object_foreach(a, k, x) json_object_set_new(keys, k, json_true());
		json_object_foreach(b, k, x) json_object_set_new(keys, k, json_true());
		json_object_foreach(keys, k, x)
		{
			json_t *na = json_object_get(a, k), *nb = json_object_get(b, k);
			if (na && nb && json_equal(na, nb))
				continue;
			char *sa = na ? json_dump_compact(na) : xstrdup("null");
			char *sb = nb ? json_dump_compact(nb) : xstrdup("null");
			buf_printf(&msg, "  %s: - %s + %s\n", k, sb, sa);
			free(sa);
			free(sb);
		}
		json_decref(keys);
		v_forbidden(v, "spec", msg.p);
	}
	json_decref(a);
	json_decref(b);
	/* k8s: existing tolerations may only gain tolerationSeconds changes */
	json_t *nt = jarr(spec, "tolerations"), *ot = jarr(ospec, "tolerations");
	size_t i;
	json_array_foreach(ot, i, x)
	{
		bool found = false;
		for (size_t j = 0; j < json_array_size(nt) && !found; j++) {
			json_t *oc = json_clone(x), *nc = json_array_get(nt, j);
			json_object_del(oc, "tolerationSeconds");
			json_t *ncc = json_clone(nc);
			json_object_del(ncc, "tolerationSeconds");
			found = json_equal(oc, ncc);
			json_decref(oc);
			json_decref(ncc);
		}
		if (!found) {
			v_forbidden(v, "spec.tolerations", "existing toleration can not be modified "
			                                   "except its tolerationSeconds");
			break;
		}
	}
	long long na, oa;
	if (jint(spec, "activeDeadlineSeconds", &na) && jint(ospec, "activeDeadlineSeconds", &oa) &&
	    na > oa)
		v_invalid_int(v, "spec.activeDeadlineSeconds", na,
		              "must be less than or equal to previous value");
	if (!jhas(spec, "activeDeadlineSeconds") && jhas(ospec, "activeDeadlineSeconds"))
		v_invalid(v, "spec.activeDeadlineSeconds", "", "must not update from a positive "
		                                               "integer to nil value");
}

void v_kind_pod(vctx *v, json_t *obj, json_t *old)
{
	json_t *spec = jobj(obj, "spec");
	/* A status write keeps the stored spec itself (one shared tree, checked when it was
	 * stored): as kube's status update validation, it is not checked again. */
	if (old && spec && spec == jobj(old, "spec"))
		return;
	size_t m = vp_push(v, "spec");
	v_pod_spec(v, spec, true);
	vp_pop(v, m);
	if (!old) {
		if (json_array_size(jarr(spec, "ephemeralContainers")) > 0)
			v_forbidden(v, "spec.ephemeralContainers", "cannot be set on create");
		/* k8s: a projected service account token needs a service account */
		const char *sa = jstr(spec, "serviceAccountName");
		if (!sa || !*sa) {
			size_t i, j;
			json_t *vol, *src;
			json_array_foreach(jarr(spec, "volumes"), i, vol)
			{
				json_array_foreach(jarr(jobj(vol, "projected"), "sources"), j, src)
				{
					if (!jhas(src, "serviceAccountToken"))
						continue;
					char path[128];
					snprintf(path, sizeof path,
					         "spec.volumes[%zu].projected.sources[%zu].serviceAccountToken", i, j);
					v_forbidden(v, path, "must not be specified when serviceAccountName is "
					                     "not set");
				}
			}
		}
	} else {
		pod_update(v, spec, jobj(old, "spec"));
	}
}

/* ---- Namespace ---------------------------------------------------------------------- */

void v_kind_namespace(vctx *v, json_t *obj, json_t *old)
{
	size_t i;
	json_t *f;
	json_array_foreach(jarr(jobj(obj, "spec"), "finalizers"), i, f)
	{
		const char *s = json_is_string(f) ? json_string_value(f) : "";
		char path[64];
		snprintf(path, sizeof path, "spec.finalizers[%zu]", i);
		vmsgs m = {0};
		if (vm_qualified_name(s, &m))
			v_invalid_msgs(v, path, s, &m);
		else if (!strchr(s, '/') && strcmp(s, "kubernetes") != 0)
			v_invalid(v, path, s, "name is neither a standard finalizer name nor is it fully "
			                      "qualified");
	}
	UNUSED(old);
}

/* ---- Service ------------------------------------------------------------------------ */

static bool headless(json_t *spec)
{
	return str_eq(jstr(spec, "clusterIP"), "None");
}

static void service_ports(vctx *v, json_t *spec, const char *type)
{
	static const char *const protos[] = {"SCTP", "TCP", "UDP", NULL};
	json_t *ports = jarr(spec, "ports");
	size_t n = json_array_size(ports);
	json_t *names = json_object(), *keys = json_object();
	size_t i;
	json_t *p;
	json_array_foreach(ports, i, p)
	{
		size_t m = vp_push(v, "ports");
		vp_index(v, i);
		const char *name = jstr(p, "name");
		if (n > 1 && (!name || !*name))
			v_required(v, "name", NULL);
		if (name && *name) {
			vmsgs ms = {0};
			if (vm_dns1123_label(name, &ms))
				v_invalid_msgs(v, "name", name, &ms);
			else if (json_object_get(names, name))
				v_duplicate(v, "name", name);
			else
				json_object_set_new(names, name, json_true());
		}
		long long port = 0;
		jint(p, "port", &port);
		if (port < 1 || port > 65535)
			v_invalid_int(v, "port", port, VMSG_PORT_RANGE);
		const char *proto = jstr(p, "protocol");
		if (!proto || !*proto)
			v_required(v, "protocol", NULL);
		else if (!v_in(proto, protos))
			v_not_supported(v, "protocol", proto, protos);
		json_t *tp = json_object_get(p, "targetPort");
		if (json_is_string(tp)) {
			vmsgs ms = {0};
			if (vm_port_name(json_string_value(tp), &ms))
				v_invalid_msgs(v, "targetPort", json_string_value(tp), &ms);
		} else {
			long long t = 0;
			jint(p, "targetPort", &t);
			if (t < 1 || t > 65535)
				v_invalid_int(v, "targetPort", t, VMSG_PORT_RANGE);
		}
		const char *ap = jstr(p, "appProtocol");
		if (ap) {
			vmsgs ms = {0};
			if (vm_qualified_name(ap, &ms))
				v_invalid_msgs(v, "appProtocol", ap, &ms);
		}
		long long np = 0;
		if (jint(p, "nodePort", &np) && np != 0) {
			if (str_eq(type, "ClusterIP"))
				v_forbidden(v, "nodePort", "may not be used when `type` is 'ClusterIP'");
			else if (str_eq(type, "ExternalName"))
				v_forbidden(v, "nodePort", "may not be used when `type` is 'ExternalName'");
			/* k8s: the node port allocator's range (--service-node-port-range) */
			else if (np < 30000 || np > 32767)
				v_invalid_int(v, "nodePort", np, "provided port is not in the valid range. "
				                                 "The range of valid ports is 30000-32767");
		}
		char key[64];
		snprintf(key, sizeof key, "%s/%lld", proto ? proto : "", port);
		if (json_object_get(keys, key)) {
			char dup[96];
			snprintf(dup, sizeof dup, "%lld/%s", port, proto ? proto : "");
			v_duplicate(v, NULL, dup);
		} else {
			json_object_set_new(keys, key, json_true());
		}
		vp_pop(v, m);
	}
	json_decref(names);
	json_decref(keys);
}

void v_kind_service(vctx *v, json_t *obj, json_t *old)
{
	static const char *const types[] = {"ClusterIP", "ExternalName", "LoadBalancer",
	                                    "NodePort", NULL};
	static const char *const affinities[] = {"ClientIP", "None", NULL};
	static const char *const policies[] = {"Cluster", "Local", NULL};
	static const char *const family_policies[] = {"PreferDualStack", "RequireDualStack",
	                                              "SingleStack", NULL};
	json_t *spec = jobj(obj, "spec");
	size_t m = vp_push(v, "spec");
	const char *type = jstr(spec, "type");
	if (!type || !*type)
		v_required(v, "type", NULL);
	else if (!v_in(type, types))
		v_not_supported(v, "type", type, types);
	bool extname = str_eq(type, "ExternalName");
	if (json_array_size(jarr(spec, "ports")) == 0 && !headless(spec) && !extname)
		v_required(v, "ports", NULL);
	if (extname) {
		const char *cip = jstr(spec, "clusterIP");
		if (cip && *cip)
			v_forbidden(v, "clusterIP", "may not be set for ExternalName services");
		const char *en = jstr(spec, "externalName");
		if (!en || !*en) {
			v_required(v, "externalName", NULL);
		} else {
			char *trim = xstrdup(en);
			size_t n = strlen(trim);
			if (n > 1 && trim[n - 1] == '.')
				trim[n - 1] = 0;
			vmsgs ms = {0};
			if (vm_dns1123_subdomain(trim, &ms))
				v_invalid_msgs(v, "externalName", trim, &ms);
			free(trim);
		}
	}
	service_ports(v, spec, type);
	size_t ms = vp_push(v, "selector");
	v_labels(v, jobj(spec, "selector"));
	vp_pop(v, ms);
	const char *aff = jstr(spec, "sessionAffinity");
	if (!aff || !*aff) {
		v_required(v, "sessionAffinity", NULL);
	} else if (!v_in(aff, affinities)) {
		v_not_supported(v, "sessionAffinity", aff, affinities);
	} else if (strcmp(aff, "ClientIP") == 0) {
		json_t *cfg = jobj(spec, "sessionAffinityConfig");
		long long t;
		if (!cfg)
			v_required(v, "sessionAffinityConfig", "when session affinity type is ClientIP");
		else if (!jobj(cfg, "clientIP"))
			v_required(v, "sessionAffinityConfig.clientIP",
			           "when session affinity type is ClientIP");
		else if (!jint(jobj(cfg, "clientIP"), "timeoutSeconds", &t))
			v_required(v, "sessionAffinityConfig.clientIP.timeoutSeconds",
			           "when session affinity type is ClientIP");
		else if (t <= 0 || t > 86400)
			v_invalid_int(v, "sessionAffinityConfig.clientIP.timeoutSeconds", t,
			              "must be greater than 0 and less than 86400");
	} else if (jhas(spec, "sessionAffinityConfig")) {
		v_invalid_json(v, "sessionAffinityConfig", json_object_get(spec, "sessionAffinityConfig"),
		               "must not be set when session affinity is None");
	}
	const char *cip = jstr(spec, "clusterIP");
	if (cip && *cip && strcmp(cip, "None") != 0 && !v_is_ip(cip))
		v_invalid(v, "clusterIPs[0]", cip, "must be a valid IP address, (e.g. 10.9.8.7 or "
		                                   "2001:db8::ffff)");
	size_t i;
	json_t *x;
	json_array_foreach(jarr(spec, "externalIPs"), i, x)
	{
		const char *ip = json_is_string(x) ? json_string_value(x) : "";
		if (!v_is_ip(ip)) {
			char path[48];
			snprintf(path, sizeof path, "externalIPs[%zu]", i);
			v_invalid(v, path, ip, "must be a valid IP address, (e.g. 10.9.8.7 or "
			                       "2001:db8::ffff)");
		}
	}
	json_array_foreach(jarr(spec, "loadBalancerSourceRanges"), i, x)
	{
		const char *r = json_is_string(x) ? json_string_value(x) : "";
		if (!v_is_cidr(r)) {
			char path[64];
			snprintf(path, sizeof path, "loadBalancerSourceRanges[%zu]", i);
			v_invalid(v, path, r, "must be a valid CIDR value, (e.g. 10.9.8.0/24 or "
			                      "2001:db8::/64)");
		}
	}
	bool external = str_eq(type, "LoadBalancer") || str_eq(type, "NodePort") ||
	                (str_eq(type, "ClusterIP") && json_array_size(jarr(spec, "externalIPs")));
	const char *etp = jstr(spec, "externalTrafficPolicy");
	if (etp && *etp) {
		if (!external)
			v_invalid(v, "externalTrafficPolicy", etp, "may only be set for "
			                                           "externally-accessible services");
		else if (!v_in(etp, policies))
			v_not_supported(v, "externalTrafficPolicy", etp, policies);
	} else if (external) {
		v_required(v, "externalTrafficPolicy", NULL);
	}
	long long hc;
	if (jint(spec, "healthCheckNodePort", &hc) && hc != 0 &&
	    !(str_eq(type, "LoadBalancer") && str_eq(etp, "Local")))
		v_invalid_int(v, "healthCheckNodePort", hc,
		              "may only be set when `type` is 'LoadBalancer' and "
		              "`externalTrafficPolicy` is 'Local'");
	const char *itp = jstr(spec, "internalTrafficPolicy");
	if (!extname) {
		if (!jhas(spec, "internalTrafficPolicy"))
			v_required(v, "internalTrafficPolicy", NULL);
		else if (!v_in(itp ? itp : "", policies))
			v_not_supported(v, "internalTrafficPolicy", itp, policies);
	}
	const char *fp = jstr(spec, "ipFamilyPolicy");
	if (fp && !v_in(fp, family_policies))
		v_not_supported(v, "ipFamilyPolicy", fp, family_policies);
	if (jhas(spec, "allocateLoadBalancerNodePorts") && !str_eq(type, "LoadBalancer"))
		v_forbidden(v, "allocateLoadBalancerNodePorts", "may only be used when `type` is "
		                                                "'LoadBalancer'");
	vp_pop(v, m);

	/* k8s: a cluster IP may not change once set (the allocator fills an unset one in from
	 * the stored object before validation, so an unset one counts as unchanged). */
	json_t *ospec = jobj(old, "spec");
	if (old && !extname && !str_eq(jstr(ospec, "type"), "ExternalName") &&
	    !(headless(spec) && headless(ospec))) {
		json_t *nips = jarr(spec, "clusterIPs"), *oips = jarr(ospec, "clusterIPs");
		const char *nc = jstr(spec, "clusterIP"), *oc = jstr(ospec, "clusterIP");
		if (nc && *nc && oc && *oc && strcmp(nc, oc) != 0) {
			json_t *val = nips ? json_incref(nips) : json_pack("[s]", nc);
			v_invalid_json(v, "spec.clusterIPs[0]", val, "may not change once set");
			json_decref(val);
		} else if (nips && oips) {
			for (size_t k = 0; k < json_array_size(oips) && k < json_array_size(nips); k++)
				if (!json_equal(json_array_get(oips, k), json_array_get(nips, k))) {
					char path[48];
					snprintf(path, sizeof path, "spec.clusterIPs[%zu]", k);
					v_invalid_json(v, path, nips, "may not change once set");
				}
		}
	}
}

/* ---- Endpoints ---------------------------------------------------------------------- */

void v_kind_endpoints(vctx *v, json_t *obj, json_t *old)
{
	static const char *const protos[] = {"SCTP", "TCP", "UDP", NULL};
	size_t i, j;
	json_t *ss, *x;
	json_array_foreach(jarr(obj, "subsets"), i, ss)
	{
		size_t m = vp_push(v, "subsets");
		vp_index(v, i);
		static const char *const lists[] = {"addresses", "notReadyAddresses"};
		for (size_t k = 0; k < 2; k++) {
			json_array_foreach(jarr(ss, lists[k]), j, x)
			{
				const char *ip = jstr(x, "ip");
				if (!v_is_ip(ip ? ip : "")) {
					size_t m2 = vp_push(v, lists[k]);
					vp_index(v, j);
					v_invalid(v, "ip", ip, "must be a valid IP address, (e.g. 10.9.8.7 or "
					                       "2001:db8::ffff)");
					vp_pop(v, m2);
				}
			}
		}
		json_array_foreach(jarr(ss, "ports"), j, x)
		{
			size_t m2 = vp_push(v, "ports");
			vp_index(v, j);
			long long port = 0;
			jint(x, "port", &port);
			if (port < 1 || port > 65535)
				v_invalid_int(v, "port", port, VMSG_PORT_RANGE);
			const char *proto = jstr(x, "protocol");
			if (!proto || !*proto)
				v_required(v, "protocol", NULL);
			else if (!v_in(proto, protos))
				v_not_supported(v, "protocol", proto, protos);
			vp_pop(v, m2);
		}
		vp_pop(v, m);
	}
	UNUSED(old);
}

/* ---- ConfigMap and Secret ----------------------------------------------------------- */

static size_t b64_decoded_len(const char *s)
{
	size_t n = strlen(s), pad = 0;
	while (n > 0 && s[n - 1] == '=') {
		n--;
		pad++;
	}
	UNUSED(pad);
	return n * 3 / 4;
}

static size_t check_keys(vctx *v, json_t *map, const char *field, bool b64)
{
	size_t total = 0;
	const char *k;
	json_t *val;
	json_object_foreach(map, k, val)
	{
		vmsgs m = {0};
		if (vm_config_map_key(k, &m)) {
			size_t mk = vp_push(v, field);
			vp_key(v, k);
			v_invalid_msgs(v, NULL, k, &m);
			vp_pop(v, mk);
		}
		const char *s = json_is_string(val) ? json_string_value(val) : "";
		total += b64 ? b64_decoded_len(s) : strlen(s);
	}
	return total;
}

/* k8s: once immutable is true, data (and binaryData) and immutable itself are frozen. */
static void immutable_update(vctx *v, json_t *obj, json_t *old, const char *const *fields)
{
	if (!old || !jtrue(old, "immutable"))
		return;
	if (!jtrue(obj, "immutable"))
		v_forbidden(v, "immutable", MSG_IMMUTABLE_SET);
	for (size_t i = 0; fields[i]; i++) {
		json_t *a = jobj(obj, fields[i]), *b = jobj(old, fields[i]);
		bool same = (!a || json_object_size(a) == 0) ? (!b || json_object_size(b) == 0)
		                                              : (b && json_equal(a, b));
		if (!same)
			v_forbidden(v, fields[i], MSG_IMMUTABLE_SET);
	}
}

void v_kind_configmap(vctx *v, json_t *obj, json_t *old)
{
	static const char *const fields[] = {"data", "binaryData", NULL};
	immutable_update(v, obj, old, fields);
	json_t *data = jobj(obj, "data"), *bin = jobj(obj, "binaryData");
	size_t total = check_keys(v, data, "data", false);
	const char *k;
	json_t *val;
	json_object_foreach(data, k, val)
	{
		if (json_object_get(bin, k)) {
			size_t mk = vp_push(v, "data");
			vp_key(v, k);
			v_invalid(v, NULL, k, "duplicate of key present in binaryData");
			vp_pop(v, mk);
		}
	}
	total += check_keys(v, bin, "binaryData", true);
	if (total > MAX_SECRET_SIZE)
		v_too_long(v, NULL, MAX_SECRET_SIZE);
}

void v_kind_secret(vctx *v, json_t *obj, json_t *old)
{
	static const char *const fields[] = {"data", NULL};
	immutable_update(v, obj, old, fields);
	if (old)
		v_immutable(v, obj, old, "type");
	json_t *data = jobj(obj, "data");
	size_t total = check_keys(v, data, "data", true);
	total += check_keys(v, jobj(obj, "stringData"), "stringData", false);
	if (total > MAX_SECRET_SIZE)
		v_too_long(v, "data", MAX_SECRET_SIZE);
	const char *type = jstr(obj, "type");
	json_t *sd = jobj(obj, "stringData");
#define HAS(key) (json_object_get(data, key) || json_object_get(sd, key))
	if (str_eq(type, "kubernetes.io/service-account-token")) {
		const char *name = jstr(jobj(jobj(obj, "metadata"), "annotations"),
		                        "kubernetes.io/service-account.name");
		if (!name || !*name)
			v_required(v, "metadata.annotations[kubernetes.io/service-account.name]", NULL);
	} else if (str_eq(type, "kubernetes.io/dockercfg")) {
		if (!HAS(".dockercfg"))
			v_required(v, "data[.dockercfg]", NULL);
	} else if (str_eq(type, "kubernetes.io/dockerconfigjson")) {
		if (!HAS(".dockerconfigjson"))
			v_required(v, "data[.dockerconfigjson]", NULL);
	} else if (str_eq(type, "kubernetes.io/basic-auth")) {
		if (!HAS("username") && !HAS("password")) {
			v_required(v, "data[username]", NULL);
			v_required(v, "data[password]", NULL);
		}
	} else if (str_eq(type, "kubernetes.io/ssh-auth")) {
		if (!HAS("ssh-privatekey"))
			v_required(v, "data[ssh-privatekey]", NULL);
	} else if (str_eq(type, "kubernetes.io/tls")) {
		if (!HAS("tls.crt"))
			v_required(v, "data[tls.crt]", NULL);
		if (!HAS("tls.key"))
			v_required(v, "data[tls.key]", NULL);
	}
#undef HAS
}

void v_kind_serviceaccount(vctx *v, json_t *obj, json_t *old)
{
	UNUSED(v);
	UNUSED(obj);
	UNUSED(old);
}

/* ---- Node --------------------------------------------------------------------------- */

void v_kind_node(vctx *v, json_t *obj, json_t *old)
{
	static const char *const effects[] = {"NoSchedule", "PreferNoSchedule", "NoExecute", NULL};
	json_t *spec = jobj(obj, "spec");
	size_t m = vp_push(v, "spec");
	const char *cidr = jstr(spec, "podCIDR");
	if (cidr && *cidr && !v_is_cidr(cidr))
		v_invalid(v, "podCIDR", cidr, "must be a valid CIDR value, (e.g. 10.9.8.0/24 or "
		                              "2001:db8::/64)");
	size_t i;
	json_t *t;
	json_array_foreach(jarr(spec, "taints"), i, t)
	{
		size_t m2 = vp_push(v, "taints");
		vp_index(v, i);
		const char *key = jstr(t, "key"), *val = jstr(t, "value"), *eff = jstr(t, "effect");
		vmsgs ms = {0};
		if (vm_qualified_name(key ? key : "", &ms))
			v_invalid_msgs(v, "key", key, &ms);
		ms.n = 0;
		if (val && vm_label_value(val, &ms))
			v_invalid_msgs(v, "value", val, &ms);
		if (!eff || !*eff)
			v_required(v, "effect", NULL);
		else if (!v_in(eff, effects))
			v_not_supported(v, "effect", eff, effects);
		vp_pop(v, m2);
	}
	vp_pop(v, m);
	if (old) {
		/* k8s: podCIDR may be set once */
		const char *oc = jstr(jobj(old, "spec"), "podCIDR");
		if (oc && *oc && cidr && strcmp(oc, cidr) != 0)
			v_forbidden(v, "spec.podCIDRs", "node updates may not change podCIDR except from "
			                                "\"\" to valid");
	}
}

void v_kind_core_event(vctx *v, json_t *obj, json_t *old)
{
	/* k8s: a namespaced event's involvedObject.namespace must match the event's */
	const char *ns = json_path_str(obj, "metadata.namespace");
	const char *ions = json_path_str(obj, "involvedObject.namespace");
	if (ions && *ions && ns && strcmp(ns, ions) != 0)
		v_invalid(v, "involvedObject.namespace", ions, "does not match event.namespace");
	UNUSED(old);
}

/* ---- volumes and claims ------------------------------------------------------------- */

void v_kind_pv(vctx *v, json_t *obj, json_t *old)
{
	static const char *const modes[] = {"ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce",
	                                    "ReadWriteOncePod", NULL};
	static const char *const reclaim[] = {"Delete", "Recycle", "Retain", NULL};
	static const char *const storage[] = {"storage", NULL};
	static const char *const sources[] = {
		"hostPath", "gcePersistentDisk", "awsElasticBlockStore", "glusterfs", "flocker", "nfs",
		"rbd", "quobyte", "cephfs", "iscsi", "cinder", "fc", "flexVolume", "azureFile",
		"vsphereVolume", "azureDisk", "photonPersistentDisk", "portworxVolume", "scaleIO",
		"local", "storageos", "csi", NULL,
	};
	json_t *spec = jobj(obj, "spec");
	size_t m = vp_push(v, "spec");
	json_t *am = jarr(spec, "accessModes");
	if (json_array_size(am) == 0)
		v_required(v, "accessModes", NULL);
	size_t i;
	json_t *x;
	json_array_foreach(am, i, x)
	{
		const char *mode = json_is_string(x) ? json_string_value(x) : "";
		if (!v_in(mode, modes))
			v_not_supported(v, "accessModes", mode, modes);
	}
	json_t *cap = jobj(spec, "capacity");
	if (json_object_size(cap) == 0)
		v_required(v, "capacity", NULL);
	if (!json_object_get(cap, "storage") || json_object_size(cap) > 1)
		v_not_supported(v, "capacity", "", storage);
	const char *rp = jstr(spec, "persistentVolumeReclaimPolicy");
	if (rp && *rp && !v_in(rp, reclaim))
		v_not_supported(v, "persistentVolumeReclaimPolicy", rp, reclaim);
	int n = 0;
	for (size_t k = 0; sources[k]; k++) {
		if (!jhas(spec, sources[k]))
			continue;
		if (n++ > 0)
			v_forbidden(v, sources[k], "may not specify more than 1 volume type");
	}
	if (n == 0)
		v_required(v, NULL, "must specify a volume type");
	json_t *hp = jobj(spec, "hostPath");
	const char *p = jstr(hp, "path");
	if (hp && (!p || !*p))
		v_required(v, "hostPath.path", NULL);
	vp_pop(v, m);
	UNUSED(old);
}

void v_kind_pvc(vctx *v, json_t *obj, json_t *old)
{
	json_t *spec = jobj(obj, "spec");
	size_t m = vp_push(v, "spec");
	v_pvc_spec(v, spec);
	vp_pop(v, m);
	if (!old)
		return;
	/* k8s: a claim's spec is immutable except resources.requests (growing) and
	 * volumeName (set once by the binder). */
	json_t *ospec = jobj(old, "spec");
	json_t *a = jcopy(spec);
	json_t *b = jcopy(ospec);
	json_object_del(a, "resources");
	json_object_del(b, "resources");
	if (!jstr(ospec, "volumeName") || !*jstr(ospec, "volumeName")) {
		json_object_del(a, "volumeName");
		json_object_del(b, "volumeName");
	}
	if (!json_equal(a, b))
		v_forbidden(v, "spec", "spec is immutable after creation except resources.requests "
		                       "and volumeAttributesClassName for bound claims");
	json_decref(a);
	json_decref(b);
	long double ns, os;
	const char *sn = json_string_value(json_path(spec, "resources.requests.storage"));
	const char *so = json_string_value(json_path(ospec, "resources.requests.storage"));
	if (sn && so && v_quantity(sn, &ns) && v_quantity(so, &os) && ns < os)
		v_forbidden(v, "spec.resources.requests.storage", "field can not be less than "
		                                                  "previous value");
}

void v_kind_resourcequota(vctx *v, json_t *obj, json_t *old)
{
	static const char *const scopes[] = {"BestEffort", "CrossNamespacePodAffinity",
	                                     "NotBestEffort", "NotTerminating", "PriorityClass",
	                                     "Terminating", NULL};
	json_t *spec = jobj(obj, "spec");
	const char *k;
	json_t *val;
	json_object_foreach(jobj(spec, "hard"), k, val)
	{
		char path[400];
		snprintf(path, sizeof path, "spec.hard[%s]", k);
		vmsgs m = {0};
		if (vm_qualified_name(k, &m))
			v_invalid_msgs(v, path, k, &m);
		long double q;
		const char *s = json_string_value(val);
		if (s && v_quantity(s, &q) && q < 0)
			v_invalid(v, path, s, VMSG_NEGATIVE);
	}
	size_t i;
	json_t *x;
	json_array_foreach(jarr(spec, "scopes"), i, x)
	{
		const char *s = json_is_string(x) ? json_string_value(x) : "";
		if (!v_in(s, scopes))
			v_not_supported(v, "spec.scopes", s, scopes);
	}
	UNUSED(old);
}

void v_kind_limitrange(vctx *v, json_t *obj, json_t *old)
{
	static const char *const types[] = {"Container", "Pod", "PersistentVolumeClaim", NULL};
	size_t i;
	json_t *it;
	json_array_foreach(jarr(jobj(obj, "spec"), "limits"), i, it)
	{
		char path[64];
		snprintf(path, sizeof path, "spec.limits[%zu].type", i);
		const char *t = jstr(it, "type");
		if (!t || !*t)
			v_required(v, path, NULL);
		else if (!v_in(t, types))
			v_not_supported(v, path, t, types);
	}
	UNUSED(old);
}
