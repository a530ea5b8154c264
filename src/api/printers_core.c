/* printers_core.c — Table columns and cells of the core (v1) kinds other than Pod:
 * Service, Node, Namespace, ConfigMap, Secret, ServiceAccount, Endpoints, Event (also
 * served as events.k8s.io/v1), PersistentVolume, PersistentVolumeClaim, ResourceQuota.
 * LimitRange has no kube printer and gets the default table (printers.c).
 *
 * Not for: Pod (printers_pod.c) or other API groups.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/printers-internal.h"
#include "api/printers.h"
#include "base/json.h"

/* ---- Service ---- */

static const printer_column service_columns[] = {
	PR_COL_NAME,
	PR_COL("Type", "string", "How the service is exposed: ClusterIP, NodePort, LoadBalancer or ExternalName."),
	PR_COL("Cluster-IP", "string", "The virtual IP of the service inside the cluster."),
	PR_COL("External-IP", "string", "Addresses the service is reachable at from outside the cluster."),
	PR_COL("Port(s)", "string", "Service ports as port[:nodePort]/protocol."),
	PR_COL_AGE,
	PR_WIDE("Selector", "string", "Labels of the pods that back the service."),
};

static char *join_strings(json_t *arr, const char *sep)
{
	buf b = {0};
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) buf_printf(&b, "%s%s", i ? sep : "", json_is_string(v) ? json_string_value(v) : "");
	return buf_take(&b);
}

/* k8s: loadBalancerStatusStringer (wide) — the sorted set of ingress IPs, or hostnames
 * where an entry has no IP. */
static char *lb_ingress(json_t *ingress)
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

/* k8s: getServiceExternalIP */
static char *service_external_ip(json_t *svc, const char *type)
{
	json_t *ext = json_path(svc, "spec.externalIPs");
	if (str_eq(type, "ClusterIP") || str_eq(type, "NodePort"))
		return json_array_size(ext) ? join_strings(ext, ",") : xstrdup("<none>");
	if (str_eq(type, "LoadBalancer")) {
		char *lb = lb_ingress(json_path(svc, "status.loadBalancer.ingress"));
		if (json_array_size(ext)) {
			_cleanup_free_ char *e = join_strings(ext, ",");
			char *r = *lb ? xasprintf("%s,%s", lb, e) : xstrdup(e);
			free(lb);
			return r;
		}
		if (*lb)
			return lb;
		free(lb);
		return xstrdup("<pending>");
	}
	if (str_eq(type, "ExternalName"))
		return xstrdup(pr_get_str(svc, "spec.externalName"));
	return xstrdup("<unknown>");
}

static void service_row(json_t *svc, json_t *cells, int64_t now_ns)
{
	/* defaulting always sets spec.type */
	const char *type = json_path_str(svc, "spec.type") ? pr_get_str(svc, "spec.type") : "ClusterIP";
	json_t *ips = json_path(svc, "spec.clusterIPs");
	const char *cip = json_array_size(ips) ? json_string_value(json_array_get(ips, 0))
	                                       : pr_get_str(svc, "spec.clusterIP");
	pr_name(cells, svc);
	pr_str(cells, type);
	pr_str(cells, cip && *cip ? cip : "<none>");
	pr_take(cells, service_external_ip(svc, type));
	buf b = {0};
	size_t i;
	json_t *p;
	json_array_foreach(json_path(svc, "spec.ports"), i, p) {
		const char *proto = json_path_str(p, "protocol") ? pr_get_str(p, "protocol") : "TCP";
		int64_t np = pr_get_int(p, "nodePort");
		if (i)
			buf_putc(&b, ',');
		if (np > 0)
			buf_printf(&b, "%lld:%lld/%s", (long long)pr_get_int(p, "port"), (long long)np, proto);
		else
			buf_printf(&b, "%lld/%s", (long long)pr_get_int(p, "port"), proto);
	}
	pr_str(cells, b.n ? b.p : "<none>");
	buf_free(&b);
	pr_age(cells, svc, now_ns);
	pr_take(cells, pr_labels(json_path(svc, "spec.selector")));
}

/* ---- Node ---- */

static const printer_column node_columns[] = {
	PR_COL_NAME,
	PR_COL("Status", "string", "Readiness of the node, and SchedulingDisabled when cordoned."),
	PR_COL("Roles", "string", "Roles taken from the node-role.kubernetes.io/<role> labels."),
	PR_COL_AGE,
	PR_COL("Version", "string", "Version of the node agent (kubelet) on the node."),
	PR_WIDE("Internal-IP", "string", "First InternalIP address of the node."),
	PR_WIDE("External-IP", "string", "First ExternalIP address of the node."),
	PR_WIDE("OS-Image", "string", "Operating system image reported by the node."),
	PR_WIDE("Kernel-Version", "string", "Kernel version reported by the node."),
	PR_WIDE("Container-Runtime", "string", "Container runtime name and version on the node."),
};

static const char *node_address(json_t *node, const char *type)
{
	size_t i;
	json_t *a;
	json_array_foreach(json_path(node, "status.addresses"), i, a) {
		if (str_eq(pr_get_str(a, "type"), type))
			return pr_get_str(a, "address");
	}
	return "<none>";
}

static void node_row(json_t *node, json_t *cells, int64_t now_ns)
{
	/* k8s: only the Ready condition is summarised; no condition at all reads Unknown */
	const char *ready = pr_condition_status(json_path(node, "status.conditions"), "Ready");
	buf st = {0};
	if (!ready)
		buf_puts(&st, "Unknown");
	else
		buf_puts(&st, str_eq(ready, "True") ? "Ready" : "NotReady");
	if (pr_get_bool(node, "spec.unschedulable"))
		buf_puts(&st, ",SchedulingDisabled");

	json_t *labels = json_path(node, "metadata.labels");
	size_t n = json_object_size(labels), k = 0;
	const char **roles = xcalloc(n ? n : 1, sizeof *roles);
	const char *key;
	json_t *v;
	json_object_foreach(labels, key, v) {
		/* k8s: roles come from node-role.kubernetes.io/<role> and kubernetes.io/role=<role> */
		if (str_has_prefix(key, "node-role.kubernetes.io/") && key[24])
			roles[k++] = key + 24;
		else if (str_eq(key, "kubernetes.io/role") && json_is_string(v) && *json_string_value(v))
			roles[k++] = json_string_value(v);
	}
	char *r = pr_sorted_set_join(roles, k, ",");
	free(roles);

	pr_name(cells, node);
	pr_str(cells, st.p);
	buf_free(&st);
	if (!*r) {
		free(r);
		r = xstrdup("<none>");
	}
	pr_take(cells, r);
	pr_age(cells, node, now_ns);
	pr_str(cells, pr_get_str(node, "status.nodeInfo.kubeletVersion"));
	pr_str(cells, node_address(node, "InternalIP"));
	pr_str(cells, node_address(node, "ExternalIP"));
	static const char *const info[] = {"status.nodeInfo.osImage", "status.nodeInfo.kernelVersion",
	                                   "status.nodeInfo.containerRuntimeVersion"};
	for (size_t i = 0; i < ARRAY_SIZE(info); i++) {
		const char *s = pr_get_str(node, info[i]);
		pr_str(cells, *s ? s : "<unknown>");
	}
}

/* ---- Namespace, ConfigMap, Secret, ServiceAccount ---- */

static const printer_column namespace_columns[] = {
	PR_COL_NAME,
	PR_COL("Status", "string", "Phase of the namespace: Active or Terminating."),
	PR_COL_AGE,
};

static void namespace_row(json_t *o, json_t *cells, int64_t now_ns)
{
	pr_name(cells, o);
	pr_str(cells, pr_get_str(o, "status.phase"));
	pr_age(cells, o, now_ns);
}

static const printer_column configmap_columns[] = {
	PR_COL_NAME,
	PR_COL("Data", "string", "Number of keys in data and binaryData."),
	PR_COL_AGE,
};

static void configmap_row(json_t *o, json_t *cells, int64_t now_ns)
{
	pr_name(cells, o);
	pr_int(cells, (int64_t)(pr_get_len(o, "data") + pr_get_len(o, "binaryData")));
	pr_age(cells, o, now_ns);
}

static const printer_column secret_columns[] = {
	PR_COL_NAME,
	PR_COL("Type", "string", "Type of the secret, e.g. Opaque or kubernetes.io/tls."),
	PR_COL("Data", "string", "Number of keys in data."),
	PR_COL_AGE,
};

static void secret_row(json_t *o, json_t *cells, int64_t now_ns)
{
	pr_name(cells, o);
	pr_str(cells, pr_get_str(o, "type"));
	pr_int(cells, (int64_t)pr_get_len(o, "data"));
	pr_age(cells, o, now_ns);
}

static const printer_column serviceaccount_columns[] = {
	PR_COL_NAME,
	PR_COL("Secrets", "string", "Number of secrets listed by the service account."),
	PR_COL_AGE,
};

static void serviceaccount_row(json_t *o, json_t *cells, int64_t now_ns)
{
	pr_name(cells, o);
	pr_int(cells, (int64_t)pr_get_len(o, "secrets"));
	pr_age(cells, o, now_ns);
}

/* ---- Endpoints ---- */

static const printer_column endpoints_columns[] = {
	PR_COL_NAME,
	PR_COL("Endpoints", "string", "First addresses (ip:port) of the endpoints."),
	PR_COL_AGE,
};

/* k8s: formatEndpoints — up to three ip:port entries, then " + N more..." */
static char *format_endpoints(json_t *subsets)
{
	if (!json_array_size(subsets))
		return xstrdup("<none>");
	size_t cap = 4, n = 0, count = 0;
	char **list = xcalloc(cap, sizeof *list);
	size_t i, j, k;
	json_t *ss, *port, *addr;
	json_array_foreach(subsets, i, ss) {
		json_t *addrs = json_object_get(ss, "addresses");
		json_t *ports = json_object_get(ss, "ports");
		if (!json_array_size(ports)) {
			count += json_array_size(addrs);
			json_array_foreach(addrs, j, addr) {
				if (n < 3)
					list[n++] = xstrdup(pr_get_str(addr, "ip"));
			}
			continue;
		}
		json_array_foreach(ports, k, port) {
			count += json_array_size(addrs);
			json_array_foreach(addrs, j, addr) {
				if (n >= 3)
					break;
				const char *ip = pr_get_str(addr, "ip");
				long long pn = (long long)pr_get_int(port, "port");
				list[n++] = strchr(ip, ':') ? xasprintf("[%s]:%lld", ip, pn)
				                            : xasprintf("%s:%lld", ip, pn);
			}
		}
	}
	char *s = pr_list_more((const char **)list, count, 3, ",", NULL);
	for (size_t a = 0; a < n; a++)
		free(list[a]);
	free(list);
	return s;
}

static void endpoints_row(json_t *o, json_t *cells, int64_t now_ns)
{
	pr_name(cells, o);
	pr_take(cells, format_endpoints(json_path(o, "subsets")));
	pr_age(cells, o, now_ns);
}

/* ---- Event (core/v1 and events.k8s.io/v1 share kube's printer) ---- */

static const printer_column event_columns[] = {
	PR_COL("Last Seen", "string", "Time since the event was last observed."),
	PR_COL("Type", "string", "Normal or Warning."),
	PR_COL("Reason", "string", "Short machine-readable reason for the event."),
	PR_COL("Object", "string", "The object the event is about, as kind/name."),
	PR_WIDE("Subobject", "string", "Field path inside the object, e.g. spec.containers{app}."),
	PR_WIDE("Source", "string", "The component (and host) that reported the event."),
	PR_COL("Message", "string", "Human-readable description of the event."),
	PR_WIDE("First Seen", "string", "Time since the event was first observed."),
	PR_WIDE("Count", "string", "How many times the event has occurred."),
	{"Name", "string", "name", PR_DESC_NAME, 1},
};

/* Field names of the two Event shapes. */
typedef struct event_fields {
	const char *first, *last, *count, *object, *message, *source, *controller;
} event_fields;

static const event_fields core_event = {"firstTimestamp", "lastTimestamp", "count",
                                        "involvedObject", "message", "source",
                                        "reportingComponent"};
static const event_fields events_event = {"deprecatedFirstTimestamp", "deprecatedLastTimestamp",
                                          "deprecatedCount", "regarding", "note",
                                          "deprecatedSource", "reportingController"};

static void event_cells(json_t *ev, json_t *cells, int64_t now_ns, const event_fields *f)
{
	char first[32], last[32];
	const char *ft = pr_get_str(ev, f->first), *lt = pr_get_str(ev, f->last);
	int64_t s, ns;
	/* k8s: without firstTimestamp the eventTime stands in; without lastTimestamp, the
	 * first; a series overrides both the last time and the count */
	if (pr_time(ft, &s, &ns) > 0)
		pr_since(ft, now_ns, first);
	else
		pr_since(pr_get_str(ev, "eventTime"), now_ns, first);
	if (pr_time(lt, &s, &ns) > 0)
		pr_since(lt, now_ns, last);
	else
		snprintf(last, sizeof last, "%s", first);
	int64_t count = pr_get_int(ev, f->count);
	json_t *series = json_object_get(ev, "series");
	if (json_is_object(series)) {
		pr_since(pr_get_str(series, "lastObservedTime"), now_ns, last);
		count = pr_get_int(series, "count");
	} else if (count == 0) {
		count = 1; /* k8s: singleton events have no count */
	}

	json_t *obj = json_object_get(ev, f->object);
	const char *kind = pr_get_str(obj, "kind"), *name = pr_get_str(obj, "name");
	char *lkind = xstrdup(kind);
	for (char *c = lkind; *c; c++)
		*c = (char)tolower((unsigned char)*c);

	json_t *src = json_object_get(ev, f->source);
	const char *component = pr_get_str(src, "component"), *host = pr_get_str(src, "host");
	if (!*component)
		component = pr_get_str(ev, f->controller);
	if (!*host)
		host = pr_get_str(ev, "reportingInstance");

	const char *msg = pr_get_str(ev, f->message);
	while (isspace((unsigned char)*msg))
		msg++;
	size_t mlen = strlen(msg);
	while (mlen && isspace((unsigned char)msg[mlen - 1]))
		mlen--;

	pr_str(cells, last);
	pr_str(cells, pr_get_str(ev, "type"));
	pr_str(cells, pr_get_str(ev, "reason"));
	if (*name)
		pr_fmt(cells, "%s/%s", lkind, name);
	else
		pr_str(cells, lkind);
	free(lkind);
	pr_str(cells, pr_get_str(obj, "fieldPath"));
	if (*host)
		pr_fmt(cells, "%s, %s", component, host);
	else
		pr_str(cells, component);
	pr_take(cells, xstrndup(msg, mlen));
	pr_str(cells, first);
	pr_int(cells, count);
	pr_name(cells, ev);
}

static void event_row(json_t *ev, json_t *cells, int64_t now_ns)
{
	event_cells(ev, cells, now_ns, &core_event);
}

static void events_event_row(json_t *ev, json_t *cells, int64_t now_ns)
{
	event_cells(ev, cells, now_ns, &events_event);
}

/* ---- PersistentVolume, PersistentVolumeClaim ---- */

/* k8s: GetAccessModesAsString — in the fixed order RWO, ROX, RWX, RWOP */
static char *access_modes(json_t *modes)
{
	static const struct {
		const char *mode, *abbr;
	} order[] = {{"ReadWriteOnce", "RWO"},
	             {"ReadOnlyMany", "ROX"},
	             {"ReadWriteMany", "RWX"},
	             {"ReadWriteOncePod", "RWOP"}};
	buf b = {0};
	for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
		size_t j;
		json_t *m;
		json_array_foreach(modes, j, m) {
			if (str_eq(json_string_value(m), order[i].mode)) {
				buf_printf(&b, "%s%s", b.n ? "," : "", order[i].abbr);
				break;
			}
		}
	}
	return buf_take(&b);
}

/* k8s: the beta annotation wins over spec.storageClassName */
static const char *storage_class(json_t *o)
{
	json_t *ann = json_object_get(json_path(o, "metadata.annotations"),
	                              "volume.beta.kubernetes.io/storage-class");
	if (json_is_string(ann))
		return json_string_value(ann);
	return pr_get_str(o, "spec.storageClassName");
}

static bool is_deleted(json_t *o)
{
	json_t *d = json_path(o, "metadata.deletionTimestamp");
	return d && !json_is_null(d);
}

static const char *or_unset(const char *s)
{
	return s ? s : "<unset>";
}

static const printer_column pv_columns[] = {
	PR_COL_NAME,
	PR_COL("Capacity", "string", "Storage capacity of the volume."),
	PR_COL("Access Modes", "string", "Access modes: RWO, ROX, RWX, RWOP."),
	PR_COL("Reclaim Policy", "string", "What happens to the volume when its claim is released."),
	PR_COL("Status", "string", "Phase of the volume, or Terminating."),
	PR_COL("Claim", "string", "The claim bound to the volume, as namespace/name."),
	PR_COL("StorageClass", "string", "Storage class of the volume."),
	PR_COL("VolumeAttributesClass", "string", "Volume attributes class of the volume."),
	PR_COL("Reason", "string", "Reason for the volume's current phase."),
	PR_COL_AGE,
	PR_WIDE("VolumeMode", "string", "Filesystem or Block."),
};

static void pv_row(json_t *o, json_t *cells, int64_t now_ns)
{
	json_t *claim = json_path(o, "spec.claimRef");
	pr_name(cells, o);
	pr_take(cells, pr_quantity(json_path(o, "spec.capacity.storage")));
	pr_take(cells, access_modes(json_path(o, "spec.accessModes")));
	pr_str(cells, pr_get_str(o, "spec.persistentVolumeReclaimPolicy"));
	pr_str(cells, is_deleted(o) ? "Terminating" : pr_get_str(o, "status.phase"));
	if (json_is_object(claim))
		pr_fmt(cells, "%s/%s", pr_get_str(claim, "namespace"), pr_get_str(claim, "name"));
	else
		pr_str(cells, "");
	pr_str(cells, storage_class(o));
	pr_str(cells, or_unset(json_path_str(o, "spec.volumeAttributesClassName")));
	pr_str(cells, pr_get_str(o, "status.reason"));
	pr_age(cells, o, now_ns);
	pr_str(cells, or_unset(json_path_str(o, "spec.volumeMode")));
}

static const printer_column pvc_columns[] = {
	PR_COL_NAME,
	PR_COL("Status", "string", "Phase of the claim, or Terminating."),
	PR_COL("Volume", "string", "The volume bound to the claim."),
	PR_COL("Capacity", "string", "Capacity of the bound volume."),
	PR_COL("Access Modes", "string", "Access modes of the bound volume."),
	PR_COL("StorageClass", "string", "Storage class requested by the claim."),
	PR_COL("VolumeAttributesClass", "string", "Volume attributes class requested by the claim."),
	PR_COL_AGE,
	PR_WIDE("VolumeMode", "string", "Filesystem or Block."),
};

static void pvc_row(json_t *o, json_t *cells, int64_t now_ns)
{
	const char *vol = pr_get_str(o, "spec.volumeName");
	pr_name(cells, o);
	pr_str(cells, is_deleted(o) ? "Terminating" : pr_get_str(o, "status.phase"));
	pr_str(cells, vol);
	/* k8s: capacity and access modes are shown only once the claim is bound */
	if (*vol) {
		pr_take(cells, pr_quantity(json_path(o, "status.capacity.storage")));
		pr_take(cells, access_modes(json_path(o, "status.accessModes")));
	} else {
		pr_str(cells, "");
		pr_str(cells, "");
	}
	pr_str(cells, storage_class(o));
	pr_str(cells, or_unset(json_path_str(o, "spec.volumeAttributesClassName")));
	pr_age(cells, o, now_ns);
	pr_str(cells, or_unset(json_path_str(o, "spec.volumeMode")));
}

/* ---- ResourceQuota ---- */

static const printer_column quota_columns[] = {
	PR_COL_NAME,
	PR_COL("Request", "string", "Used/hard amounts of the quota's non-limit resources."),
	PR_COL("Limit", "string", "Used/hard amounts of the quota's limits.* resources."),
	PR_COL_AGE,
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void quota_row(json_t *o, json_t *cells, int64_t now_ns)
{
	json_t *hard = json_path(o, "status.hard"), *used = json_path(o, "status.used");
	size_t n = json_object_size(hard), k = 0;
	const char **names = xcalloc(n ? n : 1, sizeof *names);
	const char *key;
	json_t *v;
	json_object_foreach(hard, key, v) names[k++] = key;
	qsort(names, k, sizeof *names, cmp_str);
	buf req = {0}, lim = {0};
	for (size_t i = 0; i < k; i++) {
		/* k8s: resources named limits.* go to the Limit column */
		buf *w = str_has_prefix(names[i], "limits.") ? &lim : &req;
		_cleanup_free_ char *u = pr_quantity(json_object_get(used, names[i]));
		_cleanup_free_ char *h = pr_quantity(json_object_get(hard, names[i]));
		buf_printf(w, "%s%s: %s/%s", w->n ? ", " : "", names[i], u, h);
	}
	free(names);
	pr_name(cells, o);
	pr_take(cells, buf_take(&req));
	pr_take(cells, buf_take(&lim));
	pr_age(cells, o, now_ns);
}

const printer_def printers_core[] = {
	PRINTER("", "Service", service_columns, service_row),
	PRINTER("", "Node", node_columns, node_row),
	PRINTER("", "Namespace", namespace_columns, namespace_row),
	PRINTER("", "ConfigMap", configmap_columns, configmap_row),
	PRINTER("", "Secret", secret_columns, secret_row),
	PRINTER("", "ServiceAccount", serviceaccount_columns, serviceaccount_row),
	PRINTER("", "Endpoints", endpoints_columns, endpoints_row),
	PRINTER("", "Event", event_columns, event_row),
	PRINTER("events.k8s.io", "Event", event_columns, events_event_row),
	PRINTER("", "PersistentVolume", pv_columns, pv_row),
	PRINTER("", "PersistentVolumeClaim", pvc_columns, pvc_row),
	PRINTER("", "ResourceQuota", quota_columns, quota_row),
};
const size_t printers_core_n = ARRAY_SIZE(printers_core);
