/* validate_misc.c — validation of the smaller API groups: networking (Ingress,
 * IngressClass, NetworkPolicy), discovery (EndpointSlice), coordination (Lease),
 * events.k8s.io (Event), RBAC, storage (StorageClass), scheduling (PriorityClass), policy
 * (PodDisruptionBudget), node (RuntimeClass) and apiextensions (CustomResourceDefinition).
 *
 * Not for: core or workload kinds (validate_core.c, validate_apps.c, validate_batch.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/validate-internal.h"
#include "base/util.h"

#define RBAC_GROUP "rbac.authorization.k8s.io"

static void check_names(vctx *v, const char *child, const char *s, vname_rule r)
{
	vmsgs m = {0};
	if (vm_name(r, s, false, &m))
		v_invalid_msgs(v, child, s, &m);
}

/* ---- Ingress ------------------------------------------------------------------------ */

static void ingress_backend(vctx *v, json_t *b)
{
	json_t *res = jobj(b, "resource"), *svc = jobj(b, "service");
	if (res && svc) {
		v_invalid(v, NULL, "", "cannot set both resource and service backends");
		return;
	}
	if (res) {
		const char *kind = jstr(res, "kind"), *name = jstr(res, "name");
		if (!kind || !*kind)
			v_required(v, "resource.kind", NULL);
		if (!name || !*name)
			v_required(v, "resource.name", NULL);
		return;
	}
	if (!svc) {
		v_invalid(v, NULL, "", "resource or service backend is required");
		return;
	}
	const char *name = jstr(svc, "name");
	if (!name || !*name)
		v_required(v, "service.name", NULL);
	else
		check_names(v, "service.name", name, VNAME_1035);
	json_t *port = jobj(svc, "port");
	const char *pname = jstr(port, "name");
	long long num = 0;
	jint(port, "number", &num);
	bool has_name = pname && *pname, has_num = num != 0;
	if (has_name && has_num) {
		v_invalid(v, NULL, "", "cannot set both port name & port number");
	} else if (has_name) {
		vmsgs m = {0};
		if (vm_port_name(pname, &m))
			v_invalid_msgs(v, "service.port.name", pname, &m);
	} else if (has_num) {
		if (num < 1 || num > 65535)
			v_invalid_int(v, "service.port.number", num, VMSG_PORT_RANGE);
	} else {
		v_required(v, NULL, "port name or number is required");
	}
}

static void ingress_host(vctx *v, const char *host)
{
	vmsgs m = {0};
	if (v_is_ip(host))
		v_invalid(v, "host", host, "must be a DNS name, not an IP address");
	if (strchr(host, '*'))
		vm_wildcard_dns1123_subdomain(host, &m);
	else
		vm_dns1123_subdomain(host, &m);
	v_invalid_msgs(v, "host", host, &m);
}

static void ingress_path(vctx *v, json_t *p)
{
	static const char *const types[] = {"Exact", "ImplementationSpecific", "Prefix", NULL};
	static const char *const bad_seq[] = {"//", "/./", "/../", "%2f", "%2F"};
	static const char *const bad_suffix[] = {"/..", "/."};
	const char *type = jstr(p, "pathType"), *path = jstr(p, "path");
	if (!path)
		path = "";
	if (!type) {
		v_required(v, "pathType", "pathType must be specified");
		return;
	}
	if (strcmp(type, "Exact") == 0 || strcmp(type, "Prefix") == 0) {
		if (path[0] != '/')
			v_invalid(v, "path", path, "must be an absolute path");
		if (*path) {
			char msg[64];
			for (size_t i = 0; i < ARRAY_SIZE(bad_seq); i++)
				if (strstr(path, bad_seq[i])) {
					snprintf(msg, sizeof msg, "must not contain '%s'", bad_seq[i]);
					v_invalid(v, "path", path, msg);
				}
			for (size_t i = 0; i < ARRAY_SIZE(bad_suffix); i++)
				if (str_has_suffix(path, bad_suffix[i])) {
					snprintf(msg, sizeof msg, "cannot end with '%s'", bad_suffix[i]);
					v_invalid(v, "path", path, msg);
				}
		}
	} else if (strcmp(type, "ImplementationSpecific") == 0) {
		if (*path && path[0] != '/')
			v_invalid(v, "path", path, "must be an absolute path");
	} else {
		v_not_supported(v, "pathType", type, types);
	}
	size_t m = vp_push(v, "backend");
	ingress_backend(v, jobj(p, "backend"));
	vp_pop(v, m);
}

void v_kind_ingress(vctx *v, json_t *obj, json_t *old)
{
	json_t *spec = jobj(obj, "spec");
	size_t m = vp_push(v, "spec");
	json_t *rules = jarr(spec, "rules");
	json_t *def = jobj(spec, "defaultBackend");
	if (json_array_size(rules) == 0 && !def)
		v_invalid_json(v, NULL, rules ? rules : json_null(),
		               "either `defaultBackend` or `rules` must be specified");
	if (def) {
		size_t m2 = vp_push(v, "defaultBackend");
		ingress_backend(v, def);
		vp_pop(v, m2);
	}
	size_t i, j;
	json_t *r, *p;
	json_array_foreach(rules, i, r)
	{
		size_t m2 = vp_push(v, "rules");
		vp_index(v, i);
		const char *host = jstr(r, "host");
		if (host && *host)
			ingress_host(v, host);
		json_t *http = jobj(r, "http");
		if (http) {
			size_t m3 = vp_push(v, "http");
			json_t *paths = jarr(http, "paths");
			if (json_array_size(paths) == 0)
				v_required(v, "paths", NULL);
			json_array_foreach(paths, j, p)
			{
				size_t m4 = vp_push(v, "paths");
				vp_index(v, j);
				ingress_path(v, p);
				vp_pop(v, m4);
			}
			vp_pop(v, m3);
		}
		vp_pop(v, m2);
	}
	json_t *tls;
	json_array_foreach(jarr(spec, "tls"), i, tls)
	{
		json_t *h;
		json_array_foreach(jarr(tls, "hosts"), j, h)
		{
			const char *host = json_is_string(h) ? json_string_value(h) : "";
			vmsgs ms = {0};
			if (strchr(host, '*'))
				vm_wildcard_dns1123_subdomain(host, &ms);
			else
				vm_dns1123_subdomain(host, &ms);
			if (ms.n) {
				char path[64];
				snprintf(path, sizeof path, "tls[%zu].hosts[%zu]", i, j);
				v_invalid_msgs(v, path, host, &ms);
			}
		}
	}
	const char *cls = jstr(spec, "ingressClassName");
	if (cls)
		check_names(v, "ingressClassName", cls, VNAME_SUBDOMAIN);
	vp_pop(v, m);
	UNUSED(old);
}

void v_kind_ingressclass(vctx *v, json_t *obj, json_t *old)
{
	json_t *spec = jobj(obj, "spec");
	const char *ctl = jstr(spec, "controller");
	size_t m = vp_push(v, "spec");
	if (!ctl || !*ctl) {
		v_required(v, "controller", NULL);
	} else {
		if (strlen(ctl) > 250)
			v_too_long(v, "controller", 250);
		const char *slash = strchr(ctl, '/');
		if (!slash || slash == ctl || !slash[1]) {
			v_invalid(v, "controller", ctl, "must be a domain-prefixed path (such as "
			                                "\"acme.io/foo\")");
		} else {
			char *host = xstrndup(ctl, (size_t)(slash - ctl));
			vmsgs ms = {0};
			vm_dns1123_subdomain(host, &ms);
			v_invalid_msgs(v, "controller", host, &ms);
			free(host);
		}
	}
	vp_pop(v, m);
	if (old)
		v_immutable(v, spec, jobj(old, "spec"), "controller");
}

void v_kind_networkpolicy(vctx *v, json_t *obj, json_t *old)
{
	static const char *const types[] = {"Ingress", "Egress", NULL};
	static const char *const protos[] = {"SCTP", "TCP", "UDP", NULL};
	json_t *spec = jobj(obj, "spec");
	size_t m = vp_push(v, "spec");
	size_t m2 = vp_push(v, "podSelector");
	v_label_selector(v, jobj(spec, "podSelector"));
	vp_pop(v, m2);
	size_t i, j;
	json_t *x;
	json_t *pts = jarr(spec, "policyTypes");
	json_array_foreach(pts, i, x)
	{
		const char *t = json_is_string(x) ? json_string_value(x) : "";
		if (!v_in(t, types)) {
			char path[48];
			snprintf(path, sizeof path, "policyTypes[%zu]", i);
			v_not_supported(v, path, t, types);
		}
	}
	if (json_array_size(pts) > 2)
		v_invalid_json(v, "policyTypes", pts, "may not specify more than two policyTypes");
	static const char *const dirs[] = {"ingress", "egress"};
	static const char *const peers[] = {"from", "to"};
	for (size_t d = 0; d < 2; d++) {
		json_t *rule;
		json_array_foreach(jarr(spec, dirs[d]), i, rule)
		{
			size_t m3 = vp_push(v, dirs[d]);
			vp_index(v, i);
			json_t *port;
			json_array_foreach(jarr(rule, "ports"), j, port)
			{
				size_t m4 = vp_push(v, "ports");
				vp_index(v, j);
				const char *proto = jstr(port, "protocol");
				if (proto && !v_in(proto, protos))
					v_not_supported(v, "protocol", proto, protos);
				json_t *pv = json_object_get(port, "port");
				long long pn;
				if (jint(port, "port", &pn)) {
					if (pn < 1 || pn > 65535)
						v_invalid_int(v, "port", pn, VMSG_PORT_RANGE);
				} else if (json_is_string(pv)) {
					vmsgs ms = {0};
					if (vm_port_name(json_string_value(pv), &ms))
						v_invalid_msgs(v, "port", json_string_value(pv), &ms);
				}
				long long ep;
				if (jint(port, "endPort", &ep)) {
					if (!jint(port, "port", &pn))
						v_required(v, "port", "must be specified when endPort is specified");
					else if (ep < pn)
						v_invalid_int(v, "endPort", ep, "must be greater than or equal to port");
				}
				vp_pop(v, m4);
			}
			json_t *peer;
			json_array_foreach(jarr(rule, peers[d]), j, peer)
			{
				size_t m4 = vp_push(v, peers[d]);
				vp_index(v, j);
				json_t *ipb = jobj(peer, "ipBlock");
				int n = !!jobj(peer, "podSelector") + !!jobj(peer, "namespaceSelector");
				if (ipb && n)
					v_forbidden(v, NULL, "may not specify both ipBlock and another peer");
				if (!ipb && !n)
					v_required(v, NULL, "must specify a peer");
				if (ipb) {
					const char *cidr = jstr(ipb, "cidr");
					if (!cidr || !*cidr)
						v_required(v, "ipBlock.cidr", NULL);
					else if (!v_is_cidr(cidr))
						v_invalid(v, "ipBlock.cidr", cidr, "must be a valid CIDR value, (e.g. "
						                                   "10.9.8.0/24 or 2001:db8::/64)");
				}
				static const char *const sels[] = {"podSelector", "namespaceSelector"};
				for (size_t k = 0; k < 2; k++) {
					json_t *s = jobj(peer, sels[k]);
					if (!s)
						continue;
					size_t m5 = vp_push(v, sels[k]);
					v_label_selector(v, s);
					vp_pop(v, m5);
				}
				vp_pop(v, m4);
			}
			vp_pop(v, m3);
		}
	}
	vp_pop(v, m);
	UNUSED(old);
}

/* ---- discovery, coordination, events ------------------------------------------------ */

void v_kind_endpointslice(vctx *v, json_t *obj, json_t *old)
{
	static const char *const types[] = {"IPv4", "IPv6", "FQDN", NULL};
	static const char *const protos[] = {"SCTP", "TCP", "UDP", NULL};
	const char *at = jstr(obj, "addressType");
	if (!at || !*at)
		v_required(v, "addressType", NULL);
	else if (!v_in(at, types))
		v_not_supported(v, "addressType", at, types);
	size_t i, j;
	json_t *ep, *a;
	json_array_foreach(jarr(obj, "endpoints"), i, ep)
	{
		size_t m = vp_push(v, "endpoints");
		vp_index(v, i);
		json_t *addrs = jarr(ep, "addresses");
		size_t n = json_array_size(addrs);
		if (n == 0)
			v_required(v, "addresses", "must contain at least 1 address");
		else if (n > 100)
			v_too_many(v, "addresses", (long long)n, 100);
		json_array_foreach(addrs, j, a)
		{
			const char *s = json_is_string(a) ? json_string_value(a) : "";
			char path[48];
			snprintf(path, sizeof path, "addresses[%zu]", j);
			if (str_eq(at, "IPv4") && !v_is_ipv4(s))
				v_invalid(v, path, s, "must be a valid IPv4 address");
			else if (str_eq(at, "IPv6") && (!v_is_ip(s) || v_is_ipv4(s)))
				v_invalid(v, path, s, "must be a valid IPv6 address");
			else if (str_eq(at, "FQDN")) {
				vmsgs ms = {0};
				if (vm_dns1123_subdomain(s, &ms))
					v_invalid_msgs(v, path, s, &ms);
			}
		}
		vp_pop(v, m);
	}
	json_t *p;
	json_array_foreach(jarr(obj, "ports"), i, p)
	{
		size_t m = vp_push(v, "ports");
		vp_index(v, i);
		const char *name = jstr(p, "name");
		if (name && *name) {
			vmsgs ms = {0};
			if (vm_dns1123_label(name, &ms))
				v_invalid_msgs(v, "name", name, &ms);
		}
		const char *proto = jstr(p, "protocol");
		if (!proto || !*proto)
			v_required(v, "protocol", NULL);
		else if (!v_in(proto, protos))
			v_not_supported(v, "protocol", proto, protos);
		vp_pop(v, m);
	}
	if (old)
		v_immutable(v, obj, old, "addressType");
}

void v_kind_lease(vctx *v, json_t *obj, json_t *old)
{
	json_t *spec = jobj(obj, "spec");
	long long x;
	if (jint(spec, "leaseDurationSeconds", &x) && x <= 0)
		v_invalid_int(v, "spec.leaseDurationSeconds", x, "must be greater than 0");
	if (jint(spec, "leaseTransitions", &x) && x < 0)
		v_invalid_int(v, "spec.leaseTransitions", x, VMSG_NEGATIVE);
	UNUSED(old);
}

void v_kind_events_event(vctx *v, json_t *obj, json_t *old)
{
	static const char *const types[] = {"Normal", "Warning", NULL};
	if (old)
		return;
	if (!jhas(obj, "eventTime"))
		v_required(v, "eventTime", NULL);
	static const char *const req[] = {"reportingController", "reportingInstance", "action",
	                                  "reason"};
	for (size_t i = 0; i < ARRAY_SIZE(req); i++) {
		const char *s = jstr(obj, req[i]);
		if (!s || !*s)
			v_required(v, req[i], NULL);
		else if (i >= 2 && strlen(s) > 128)
			v_invalid(v, req[i], s, "can have at most 128 characters");
	}
	const char *t = jstr(obj, "type");
	if (!t || !v_in(t, types))
		v_invalid(v, "type", t, "has invalid value: must be one of Normal, Warning");
	const char *note = jstr(obj, "note");
	if (note && strlen(note) > 1024)
		v_too_long(v, "note", 1024);
}

/* ---- RBAC --------------------------------------------------------------------------- */

void v_kind_role(vctx *v, json_t *obj, json_t *old)
{
	bool namespaced = v->d->namespaced;
	size_t i;
	json_t *r;
	json_array_foreach(jarr(obj, "rules"), i, r)
	{
		size_t m = vp_push(v, "rules");
		vp_index(v, i);
		if (json_array_size(jarr(r, "verbs")) == 0)
			v_required(v, "verbs", "verbs must contain at least one value");
		json_t *urls = jarr(r, "nonResourceURLs");
		if (json_array_size(urls) > 0) {
			if (namespaced)
				v_invalid_json(v, "nonResourceURLs", urls,
				               "namespaced rules cannot apply to non-resource URLs");
			if (json_array_size(jarr(r, "apiGroups")) || json_array_size(jarr(r, "resources")) ||
			    json_array_size(jarr(r, "resourceNames")))
				v_invalid_json(v, "nonResourceURLs", urls, "rules cannot apply to both regular "
				                                           "resources and non-resource URLs");
		} else {
			if (json_array_size(jarr(r, "apiGroups")) == 0)
				v_required(v, "apiGroups", "resource rules must supply at least one api group");
			if (json_array_size(jarr(r, "resources")) == 0)
				v_required(v, "resources", "resource rules must supply at least one resource");
		}
		vp_pop(v, m);
	}
	json_t *agg = jobj(obj, "aggregationRule");
	if (agg && !namespaced) {
		if (json_array_size(jarr(agg, "clusterRoleSelectors")) == 0)
			v_required(v, "aggregationRule.clusterRoleSelectors", "at least one "
			                                                      "clusterRoleSelector required "
			                                                      "if aggregationRule is non-nil");
		json_t *s;
		json_array_foreach(jarr(agg, "clusterRoleSelectors"), i, s)
		{
			size_t m = vp_push(v, "aggregationRule.clusterRoleSelectors");
			vp_index(v, i);
			v_label_selector(v, s);
			vp_pop(v, m);
		}
	}
	UNUSED(old);
}

void v_kind_rolebinding(vctx *v, json_t *obj, json_t *old)
{
	static const char *const group[] = {RBAC_GROUP, NULL};
	static const char *const kinds_ns[] = {"Role", "ClusterRole", NULL};
	static const char *const kinds_cluster[] = {"ClusterRole", NULL};
	static const char *const subject_kinds[] = {"ServiceAccount", "User", "Group", NULL};
	static const char *const empty_group[] = {"", NULL};
	bool namespaced = v->d->namespaced;
	json_t *ref = jobj(obj, "roleRef");
	const char *ag = jstr(ref, "apiGroup"), *kind = jstr(ref, "kind"), *name = jstr(ref, "name");
	if (!str_eq(ag, RBAC_GROUP))
		v_not_supported(v, "roleRef.apiGroup", ag, group);
	const char *const *kinds = namespaced ? kinds_ns : kinds_cluster;
	if (!v_in(kind ? kind : "", kinds))
		v_not_supported(v, "roleRef.kind", kind, kinds);
	if (!name || !*name)
		v_required(v, "roleRef.name", NULL);
	else
		check_names(v, "roleRef.name", name, VNAME_PATH_SEGMENT);
	size_t i;
	json_t *s;
	json_array_foreach(jarr(obj, "subjects"), i, s)
	{
		size_t m = vp_push(v, "subjects");
		vp_index(v, i);
		const char *sn = jstr(s, "name"), *sk = jstr(s, "kind"), *sg = jstr(s, "apiGroup");
		if (!sg)
			sg = "";
		if (!sn || !*sn)
			v_required(v, "name", NULL);
		if (str_eq(sk, "ServiceAccount")) {
			if (sn && *sn)
				check_names(v, "name", sn, VNAME_SUBDOMAIN);
			if (*sg)
				v_not_supported(v, "apiGroup", sg, empty_group);
			const char *ns = jstr(s, "namespace");
			if (!namespaced && (!ns || !*ns))
				v_required(v, "namespace", NULL);
		} else if (str_eq(sk, "User") || str_eq(sk, "Group")) {
			if (strcmp(sg, RBAC_GROUP) != 0)
				v_not_supported(v, "apiGroup", sg, group);
		} else {
			v_not_supported(v, "kind", sk, subject_kinds);
		}
		vp_pop(v, m);
	}
	if (old && !json_equal(ref ? ref : json_null(),
	                       jobj(old, "roleRef") ? jobj(old, "roleRef") : json_null()))
		v_invalid_json(v, "roleRef", ref, "cannot change roleRef");
}

/* ---- storage, scheduling, policy, node ---------------------------------------------- */

void v_kind_storageclass(vctx *v, json_t *obj, json_t *old)
{
	static const char *const reclaim[] = {"Delete", "Retain", NULL};
	static const char *const binding[] = {"Immediate", "WaitForFirstConsumer", NULL};
	const char *prov = jstr(obj, "provisioner");
	if (!prov || !*prov) {
		v_required(v, "provisioner", NULL);
	} else {
		vmsgs m = {0};
		if (vm_qualified_name(prov, &m))
			v_invalid_msgs(v, "provisioner", prov, &m);
	}
	const char *rp = jstr(obj, "reclaimPolicy");
	if (rp && !v_in(rp, reclaim))
		v_not_supported(v, "reclaimPolicy", rp, reclaim);
	const char *bm = jstr(obj, "volumeBindingMode");
	if (!bm)
		v_required(v, "volumeBindingMode", NULL);
	else if (!v_in(bm, binding))
		v_not_supported(v, "volumeBindingMode", bm, binding);
	if (!old)
		return;
	static const char *const frozen[] = {"parameters", "provisioner", "reclaimPolicy",
	                                     "volumeBindingMode"};
	for (size_t i = 0; i < ARRAY_SIZE(frozen); i++) {
		json_t *a = json_object_get(obj, frozen[i]), *b = json_object_get(old, frozen[i]);
		if ((a || b) && !(a && b && json_equal(a, b))) {
			char msg[64];
			snprintf(msg, sizeof msg, "updates to %s are forbidden.", frozen[i]);
			v_forbidden(v, frozen[i], msg);
		}
	}
}

void v_kind_priorityclass(vctx *v, json_t *obj, json_t *old)
{
	static const char *const policies[] = {"PreemptLowerPriority", "Never", NULL};
	const char *name = json_string_value(json_object_get(jobj(obj, "metadata"), "name"));
	long long value = 0;
	jint(obj, "value", &value);
	bool system = name && (strcmp(name, "system-cluster-critical") == 0 ||
	                       strcmp(name, "system-node-critical") == 0);
	if (!old && !system) {
		if (name && str_has_prefix(name, "system-"))
			v_forbidden(v, "metadata.name", "priority class names with 'system-' prefix are "
			                                "reserved");
		if (value > 1000000000)
			v_forbidden(v, "value", "maximum allowed value of a user defined priority is "
			                        "1000000000");
	}
	const char *pp = jstr(obj, "preemptionPolicy");
	if (pp && !v_in(pp, policies))
		v_not_supported(v, "preemptionPolicy", pp, policies);
	if (old) {
		long long ov = 0;
		jint(old, "value", &ov);
		if (ov != value)
			v_forbidden(v, "value", "may not be changed in an update.");
		v_immutable(v, obj, old, "preemptionPolicy");
	}
}

void v_kind_pdb(vctx *v, json_t *obj, json_t *old)
{
	static const char *const policies[] = {"AlwaysAllow", "IfHealthyBudget", NULL};
	json_t *spec = jobj(obj, "spec");
	size_t m = vp_push(v, "spec");
	if (jhas(spec, "minAvailable") && jhas(spec, "maxUnavailable"))
		v_invalid_json(v, NULL, spec, "minAvailable and maxUnavailable cannot be both set");
	static const char *const keys[] = {"minAvailable", "maxUnavailable"};
	for (size_t i = 0; i < 2; i++) {
		json_t *x = json_object_get(spec, keys[i]);
		long long n;
		vmsgs ms = {0};
		if (json_is_string(x)) {
			if (vm_percent(json_string_value(x), &ms)) {
				char *r = v_render_intstr(x);
				for (int k = 0; k < ms.n; k++)
					v_invalid_raw(v, keys[i], r, ms.m[k]);
				free(r);
			} else if (atoll(json_string_value(x)) > 100) {
				char *r = v_render_intstr(x);
				v_invalid_raw(v, keys[i], r, "must not be greater than 100%");
				free(r);
			}
		} else if (jint(spec, keys[i], &n) && n < 0) {
			v_invalid_int(v, keys[i], n, VMSG_NEGATIVE);
		}
	}
	json_t *sel = jobj(spec, "selector");
	if (sel) {
		size_t m2 = vp_push(v, "selector");
		v_label_selector(v, sel);
		vp_pop(v, m2);
	}
	const char *up = jstr(spec, "unhealthyPodEvictionPolicy");
	if (up && !v_in(up, policies))
		v_not_supported(v, "unhealthyPodEvictionPolicy", up, policies);
	vp_pop(v, m);
	UNUSED(old);
}

void v_kind_runtimeclass(vctx *v, json_t *obj, json_t *old)
{
	const char *h = jstr(obj, "handler");
	if (!h || !*h) {
		v_required(v, "handler", NULL);
	} else {
		vmsgs m = {0};
		if (vm_dns1123_label(h, &m))
			v_invalid_msgs(v, "handler", h, &m);
	}
	json_t *oh = jobj(obj, "overhead");
	if (oh) {
		size_t m = vp_push(v, "overhead.podFixed");
		const char *k;
		json_t *val;
		json_object_foreach(jobj(oh, "podFixed"), k, val)
		{
			long double q;
			const char *s = json_string_value(val);
			if (s && v_quantity(s, &q) && q < 0) {
				size_t mk = vp_key(v, k);
				v_invalid(v, NULL, s, VMSG_NEGATIVE);
				vp_pop(v, mk);
			}
		}
		vp_pop(v, m);
	}
	if (old)
		v_immutable(v, obj, old, "handler");
}

/* ---- apiextensions ------------------------------------------------------------------ */

void v_kind_crd(vctx *v, json_t *obj, json_t *old)
{
	static const char *const scopes[] = {"Cluster", "Namespaced", NULL};
	json_t *spec = jobj(obj, "spec");
	json_t *names = jobj(spec, "names");
	const char *group = jstr(spec, "group"), *plural = jstr(names, "plural");
	const char *name = json_string_value(json_object_get(jobj(obj, "metadata"), "name"));
	char *want = xasprintf("%s.%s", plural ? plural : "", group ? group : "");
	if (name && strcmp(name, want) != 0)
		v_invalid(v, "metadata.name", name, "must be spec.names.plural+\".\"+spec.group");
	free(want);
	size_t m = vp_push(v, "spec");
	if (!group || !*group) {
		v_required(v, "group", NULL);
	} else {
		vmsgs ms = {0};
		if (vm_dns1123_subdomain(group, &ms))
			v_invalid_msgs(v, "group", group, &ms);
		if (!strchr(group, '.'))
			v_invalid(v, "group", group, "should be a domain with at least one dot");
	}
	const char *scope = jstr(spec, "scope");
	if (!scope || !*scope)
		v_required(v, "scope", NULL);
	else if (!v_in(scope, scopes))
		v_not_supported(v, "scope", scope, scopes);
	size_t m2 = vp_push(v, "names");
	static const char *const lower[] = {"plural", "singular"};
	for (size_t i = 0; i < 2; i++) {
		const char *s = jstr(names, lower[i]);
		vmsgs ms = {0};
		if (i == 0 && (!s || !*s))
			v_required(v, lower[i], NULL);
		else if (s && *s && vm_dns1035_label(s, &ms))
			v_invalid_msgs(v, lower[i], s, &ms);
	}
	static const char *const kinds[] = {"kind", "listKind"};
	for (size_t i = 0; i < 2; i++) {
		const char *s = jstr(names, kinds[i]);
		if (i == 0 && (!s || !*s)) {
			v_required(v, kinds[i], NULL);
			continue;
		}
		if (!s || !*s)
			continue;
		/* k8s: kinds may have mixed case but otherwise are DNS-1035 labels */
		char *low = xstrdup(s);
		for (char *p = low; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		vmsgs ms = {0};
		if (vm_dns1035_label(low, &ms)) {
			_cleanup_buf_ buf msg = {0};
			buf_puts(&msg, "may have mixed case, but should otherwise match: ");
			for (int k = 0; k < ms.n; k++) {
				buf_puts(&msg, k ? "," : "");
				buf_puts(&msg, ms.m[k]);
			}
			v_invalid(v, kinds[i], s, msg.p);
		}
		free(low);
	}
	vp_pop(v, m2);
	json_t *versions = jarr(spec, "versions");
	if (json_array_size(versions) == 0)
		v_invalid_json(v, "versions", versions ? versions : json_null(),
		               "must have exactly one version marked as storage version");
	int storage = 0;
	json_t *seen = json_object();
	size_t i;
	json_t *ver;
	json_array_foreach(versions, i, ver)
	{
		size_t m3 = vp_push(v, "versions");
		vp_index(v, i);
		const char *vn = jstr(ver, "name");
		vmsgs ms = {0};
		if (!vn || !*vn)
			v_required(v, "name", NULL);
		else if (vm_dns1035_label(vn, &ms))
			v_invalid_msgs(v, "name", vn, &ms);
		else if (json_object_get(seen, vn))
			v_invalid(v, "name", vn, "must be unique");
		if (vn)
			json_object_set_new(seen, vn, json_true());
		if (jtrue(ver, "storage"))
			storage++;
		vp_pop(v, m3);
	}
	json_decref(seen);
	if (json_array_size(versions) > 0 && storage != 1)
		v_invalid_json(v, "versions", versions,
		               "must have exactly one version marked as storage version");
	vp_pop(v, m);
	if (old) {
		json_t *os = jobj(old, "spec");
		size_t m3 = vp_push(v, "spec");
		v_immutable(v, spec, os, "group");
		vp_pop(v, m3);
		m3 = vp_push(v, "spec.names");
		v_immutable(v, names, jobj(os, "names"), "plural");
		vp_pop(v, m3);
	}
}
