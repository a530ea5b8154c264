/* printers_misc.c — Table columns and cells of the networking, discovery, coordination,
 * RBAC, storage, scheduling and node kinds: Ingress, IngressClass, NetworkPolicy,
 * EndpointSlice, Lease, RoleBinding, ClusterRoleBinding, StorageClass, PriorityClass,
 * RuntimeClass. Role, ClusterRole and CRDs have no kube printer (default table).
 *
 * Not for: core kinds (printers_core.c, printers_pod.c) or workloads (printers_apps.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/printers-internal.h"
#include "api/printers.h"
#include "base/json.h"

/* ---- Ingress, IngressClass, NetworkPolicy ---- */

static const printer_column ingress_columns[] = {
	PR_COL_NAME,
	PR_COL("Class", "string", "The IngressClass that implements this ingress."),
	PR_COL("Hosts", "string", "Host names the rules match (* when any)."),
	PR_COL("Address", "string", "Addresses of the load balancer serving the ingress."),
	PR_COL("Ports", "string", "Ports the ingress is served on: 80, and 443 with TLS."),
	PR_COL_AGE,
};

/* k8s: formatHosts — up to three hosts; the "more" count is over all rules */
static char *ingress_hosts(json_t *rules)
{
	const char *list[3];
	size_t n = 0, nrules = json_array_size(rules);
	bool more = false;
	size_t i;
	json_t *r;
	json_array_foreach(rules, i, r) {
		if (n == 3)
			more = true;
		const char *h = pr_get_str(r, "host");
		if (!more && *h)
			list[n++] = h;
	}
	if (!n)
		return xstrdup("*");
	buf b = {0};
	for (size_t k = 0; k < n; k++)
		buf_printf(&b, "%s%s", k ? "," : "", list[k]);
	if (more)
		buf_printf(&b, " + %zu more...", nrules - 3);
	return buf_take(&b);
}

static char *lb_addresses(json_t *ingress)
{
	size_t n = json_array_size(ingress), k = 0;
	const char **v = xcalloc(n ? n : 1, sizeof *v);
	size_t i;
	json_t *e;
	json_array_foreach(ingress, i, e) {
		const char *ip = pr_get_str(e, "ip"), *host = pr_get_str(e, "hostname");
		if (*ip)
			v[k++] = ip;
		else if (*host)
			v[k++] = host;
	}
	char *s = pr_sorted_set_join(v, k, ",");
	free(v);
	return s;
}

static void ingress_row(json_t *o, json_t *cells, int64_t now_ns)
{
	const char *cls = json_path_str(o, "spec.ingressClassName");
	pr_name(cells, o);
	pr_str(cells, cls ? cls : "<none>");
	pr_take(cells, ingress_hosts(json_path(o, "spec.rules")));
	pr_take(cells, lb_addresses(json_path(o, "status.loadBalancer.ingress")));
	pr_str(cells, pr_get_len(o, "spec.tls") ? "80, 443" : "80");
	pr_age(cells, o, now_ns);
}

static const printer_column ingressclass_columns[] = {
	PR_COL_NAME,
	PR_COL("Controller", "string", "The controller that implements the class."),
	PR_COL("Parameters", "string", "Resource holding extra configuration, as Kind.group/name."),
	PR_COL_AGE,
};

static void ingressclass_row(json_t *o, json_t *cells, int64_t now_ns)
{
	json_t *p = json_path(o, "spec.parameters");
	pr_name(cells, o);
	pr_str(cells, pr_get_str(o, "spec.controller"));
	if (json_is_object(p)) {
		const char *group = json_path_str(p, "apiGroup");
		if (group)
			pr_fmt(cells, "%s.%s/%s", pr_get_str(p, "kind"), group, pr_get_str(p, "name"));
		else
			pr_fmt(cells, "%s/%s", pr_get_str(p, "kind"), pr_get_str(p, "name"));
	} else {
		pr_str(cells, "<none>");
	}
	pr_age(cells, o, now_ns);
}

static const printer_column netpol_columns[] = {
	PR_COL_NAME,
	PR_COL("Pod-Selector", "string", "Pods the policy applies to."),
	PR_COL_AGE,
};

static void netpol_row(json_t *o, json_t *cells, int64_t now_ns)
{
	pr_name(cells, o);
	pr_take(cells, pr_format_selector(json_path(o, "spec.podSelector")));
	pr_age(cells, o, now_ns);
}

/* ---- EndpointSlice ---- */

static const printer_column endpointslice_columns[] = {
	PR_COL_NAME,
	PR_COL("AddressType", "string", "IPv4, IPv6 or FQDN."),
	PR_COL("Ports", "string", "Port numbers (or names) of the slice."),
	PR_COL("Endpoints", "string", "First addresses of the slice's endpoints."),
	PR_COL_AGE,
};

static void endpointslice_row(json_t *o, json_t *cells, int64_t now_ns)
{
	char *ports[3], *addrs[3];
	size_t np = 0, na = 0, nports = 0, naddrs = 0;
	size_t i, j;
	json_t *p, *e, *a;
	json_array_foreach(json_path(o, "ports"), i, p) {
		/* k8s: a port prints as its number, else its name, else "*" */
		if (np < 3) {
			json_t *num = json_object_get(p, "port");
			const char *name = json_path_str(p, "name");
			ports[np++] = json_is_integer(num)
			                  ? xasprintf("%lld", (long long)json_integer_value(num))
			                  : xstrdup(name ? name : "*");
		}
		nports++;
	}
	json_array_foreach(json_path(o, "endpoints"), i, e) {
		json_array_foreach(json_object_get(e, "addresses"), j, a) {
			if (na < 3)
				addrs[na++] = xstrdup(json_is_string(a) ? json_string_value(a) : "");
			naddrs++;
		}
	}
	pr_name(cells, o);
	pr_str(cells, pr_get_str(o, "addressType"));
	pr_take(cells, pr_list_more((const char **)ports, nports, 3, ",", "<unset>"));
	pr_take(cells, pr_list_more((const char **)addrs, naddrs, 3, ",", "<unset>"));
	pr_age(cells, o, now_ns);
	for (size_t k = 0; k < np; k++)
		free(ports[k]);
	for (size_t k = 0; k < na; k++)
		free(addrs[k]);
}

/* ---- Lease ---- */

static const printer_column lease_columns[] = {
	PR_COL_NAME,
	PR_COL("Holder", "string", "Identity of the current holder of the lease."),
	PR_COL_AGE,
};

static void lease_row(json_t *o, json_t *cells, int64_t now_ns)
{
	pr_name(cells, o);
	pr_str(cells, pr_get_str(o, "spec.holderIdentity"));
	pr_age(cells, o, now_ns);
}

/* ---- RoleBinding, ClusterRoleBinding ---- */

static const printer_column binding_columns[] = {
	PR_COL_NAME,
	PR_COL("Role", "string", "The role granted, as Kind/name."),
	PR_COL_AGE,
	PR_WIDE("Users", "string", "Users the role is granted to."),
	PR_WIDE("Groups", "string", "Groups the role is granted to."),
	PR_WIDE("ServiceAccounts", "string", "Service accounts the role is granted to, as namespace/name."),
};

static void binding_row(json_t *o, json_t *cells, int64_t now_ns)
{
	buf users = {0}, groups = {0}, sas = {0};
	size_t i;
	json_t *s;
	json_array_foreach(json_path(o, "subjects"), i, s) {
		const char *kind = pr_get_str(s, "kind"), *name = pr_get_str(s, "name");
		if (str_eq(kind, "ServiceAccount"))
			buf_printf(&sas, "%s%s/%s", sas.n ? ", " : "", pr_get_str(s, "namespace"), name);
		else if (str_eq(kind, "User"))
			buf_printf(&users, "%s%s", users.n ? ", " : "", name);
		else if (str_eq(kind, "Group"))
			buf_printf(&groups, "%s%s", groups.n ? ", " : "", name);
	}
	pr_name(cells, o);
	pr_fmt(cells, "%s/%s", pr_get_str(o, "roleRef.kind"), pr_get_str(o, "roleRef.name"));
	pr_age(cells, o, now_ns);
	pr_take(cells, buf_take(&users));
	pr_take(cells, buf_take(&groups));
	pr_take(cells, buf_take(&sas));
}

/* ---- StorageClass, PriorityClass, RuntimeClass ---- */

static const printer_column storageclass_columns[] = {
	PR_COL_NAME,
	PR_COL("Provisioner", "string", "The volume plugin or CSI driver that provisions volumes."),
	PR_COL("ReclaimPolicy", "string", "Reclaim policy of the volumes it provisions."),
	PR_COL("VolumeBindingMode", "string", "When volumes are bound: Immediate or WaitForFirstConsumer."),
	PR_COL("AllowVolumeExpansion", "string", "Whether its volumes may be expanded."),
	PR_COL_AGE,
};

static bool annotation_true(json_t *o, const char *key)
{
	return str_eq(json_string_value(json_object_get(json_path(o, "metadata.annotations"), key)),
	              "true");
}

static void storageclass_row(json_t *o, json_t *cells, int64_t now_ns)
{
	/* k8s: the default class (by annotation, GA or beta) gets " (default)" after its name */
	if (annotation_true(o, "storageclass.kubernetes.io/is-default-class") ||
	    annotation_true(o, "storageclass.beta.kubernetes.io/is-default-class"))
		pr_fmt(cells, "%s (default)", pr_get_str(o, "metadata.name"));
	else
		pr_name(cells, o);
	const char *reclaim = json_path_str(o, "reclaimPolicy");
	const char *binding = json_path_str(o, "volumeBindingMode");
	pr_str(cells, pr_get_str(o, "provisioner"));
	pr_str(cells, reclaim ? reclaim : "Delete");
	pr_str(cells, binding ? binding : "Immediate");
	pr_bool(cells, pr_get_bool(o, "allowVolumeExpansion"));
	pr_age(cells, o, now_ns);
}

static const printer_column priorityclass_columns[] = {
	PR_COL_NAME,
	PR_COL("Value", "integer", "Priority given to pods of this class."),
	PR_COL("Global-Default", "boolean", "Whether pods without a class get this one."),
	PR_COL_AGE,
	PR_COL("PreemptionPolicy", "string", "Whether pods of this class may preempt others."),
};

static void priorityclass_row(json_t *o, json_t *cells, int64_t now_ns)
{
	pr_name(cells, o);
	pr_int(cells, pr_get_int(o, "value"));
	pr_bool(cells, pr_get_bool(o, "globalDefault"));
	pr_age(cells, o, now_ns);
	pr_str(cells, pr_get_str(o, "preemptionPolicy"));
}

static const printer_column runtimeclass_columns[] = {
	PR_COL_NAME,
	PR_COL("Handler", "string", "The runtime handler pods of this class run with."),
	PR_COL_AGE,
};

static void runtimeclass_row(json_t *o, json_t *cells, int64_t now_ns)
{
	pr_name(cells, o);
	pr_str(cells, pr_get_str(o, "handler"));
	pr_age(cells, o, now_ns);
}

const printer_def printers_misc[] = {
	PRINTER("networking.k8s.io", "Ingress", ingress_columns, ingress_row),
	PRINTER("networking.k8s.io", "IngressClass", ingressclass_columns, ingressclass_row),
	PRINTER("networking.k8s.io", "NetworkPolicy", netpol_columns, netpol_row),
	PRINTER("discovery.k8s.io", "EndpointSlice", endpointslice_columns, endpointslice_row),
	PRINTER("coordination.k8s.io", "Lease", lease_columns, lease_row),
	PRINTER("rbac.authorization.k8s.io", "RoleBinding", binding_columns, binding_row),
	PRINTER("rbac.authorization.k8s.io", "ClusterRoleBinding", binding_columns, binding_row),
	PRINTER("storage.k8s.io", "StorageClass", storageclass_columns, storageclass_row),
	PRINTER("scheduling.k8s.io", "PriorityClass", priorityclass_columns, priorityclass_row),
	PRINTER("node.k8s.io", "RuntimeClass", runtimeclass_columns, runtimeclass_row),
};
const size_t printers_misc_n = ARRAY_SIZE(printers_misc);
