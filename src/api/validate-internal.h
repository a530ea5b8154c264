/* validate-internal.h — what the validate_*.c files share: the error accumulator with its
 * field-path cursor, kube's name and syntax checks with their exact messages, JSON
 * accessors that tolerate wrong types, and the sub-validators several kinds reuse (object
 * metadata, label selectors, pod templates).
 *
 * Not for: callers outside src/api/validate*.c (they use api/validate.h).
 */
#ifndef TIMON_API_VALIDATE_INTERNAL_H
#define TIMON_API_VALIDATE_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "api/kind.h"
#include "api/validate.h"
#include "base/buf.h"
#include "base/error.h"

/* ---- syntax checks (validate_names.c) ---------------------------------------------- */

/* The messages a check produced, all static strings (kube's wording, verbatim). */
typedef struct vmsgs {
	const char *m[8];
	int n;
} vmsgs;

/* Each appends its messages to out and returns how many it appended (0 = valid). */
int vm_dns1123_label(const char *s, vmsgs *out);
int vm_dns1123_subdomain(const char *s, vmsgs *out);
int vm_dns1035_label(const char *s, vmsgs *out);
int vm_wildcard_dns1123_subdomain(const char *s, vmsgs *out);
int vm_qualified_name(const char *s, vmsgs *out);
int vm_label_value(const char *s, vmsgs *out);
int vm_config_map_key(const char *s, vmsgs *out);
int vm_port_name(const char *s, vmsgs *out);
int vm_c_identifier(const char *s, vmsgs *out);
int vm_env_var_name(const char *s, vmsgs *out);
int vm_http_header_name(const char *s, vmsgs *out);
int vm_percent(const char *s, vmsgs *out);
int vm_path_segment(const char *s, bool prefix, vmsgs *out);

/* How a kind's metadata.name is checked. */
typedef enum vname_rule {
	VNAME_SUBDOMAIN = 0, /* k8s: NameIsDNSSubdomain, most kinds */
	VNAME_LABEL,         /* k8s: NameIsDNSLabel: namespaces, statefulsets */
	VNAME_1035,          /* k8s: NameIsDNS1035Label: services */
	VNAME_PATH_SEGMENT,  /* k8s: path.ValidatePathSegmentName: RBAC kinds */
	VNAME_NONE,          /* not checked (review kinds) */
} vname_rule;
/* Checks name (or a generateName prefix) under rule r. */
int vm_name(vname_rule r, const char *name, bool prefix, vmsgs *out);

/* True for a textual IPv4 or IPv6 address as Go's net.ParseIP accepts it. */
bool v_is_ip(const char *s);
bool v_is_ipv4(const char *s);
/* True for a CIDR "addr/bits". */
bool v_is_cidr(const char *s);

/* k8s: the message of InclusiveRangeError, etc. */
#define VMSG_NEGATIVE "must be greater than or equal to 0"
#define VMSG_IMMUTABLE "field is immutable"
#define VMSG_PORT_RANGE "must be between 1 and 65535, inclusive"

/* ---- the accumulator (validate.c) --------------------------------------------------- */

typedef struct vctx {
	terr *err;          /* causes so far; NULL while the object is valid */
	buf path;           /* the field path of the node being checked */
	const kind_desc *d; /* the kind being validated */
	json_t *obj;        /* the whole new object (borrowed) */
	json_t *old;        /* the stored object on update, NULL on create (borrowed) */
} vctx;

/* Path cursor: each push returns a mark that vp_pop restores. */
size_t vp_push(vctx *v, const char *child); /* ".child" ("child" at the root) */
size_t vp_index(vctx *v, size_t i);        /* "[i]" */
size_t vp_key(vctx *v, const char *key);   /* "[key]" */
void vp_pop(vctx *v, size_t mark);

/* Adders: `child` (NULL for the current node) is a member name or a "[i]"-style suffix.
 * `detail` may be NULL. String values are printed quoted as Go's %q does. */
void v_required(vctx *v, const char *child, const char *detail);
void v_forbidden(vctx *v, const char *child, const char *detail);
void v_invalid(vctx *v, const char *child, const char *value, const char *detail);
void v_invalid_int(vctx *v, const char *child, long long value, const char *detail);
/* value is a JSON value printed the way kube prints a Go value of that JSON type. */
void v_invalid_json(vctx *v, const char *child, const json_t *value, const char *detail);
void v_not_supported(vctx *v, const char *child, const char *value,
                     const char *const *supported /* NULL-terminated */);
void v_duplicate(vctx *v, const char *child, const char *value);
void v_duplicate_int(vctx *v, const char *child, long long value);
void v_not_found(vctx *v, const char *child, const char *value);
void v_too_long(vctx *v, const char *child, long long max_bytes);
void v_too_many(vctx *v, const char *child, long long actual, long long max);
/* Invalid / NotSupported with a value already printed the way Go prints it. */
void v_invalid_raw(vctx *v, const char *child, const char *rendered, const char *detail);
void v_not_supported_raw(vctx *v, const char *child, const char *rendered,
                         const char *const *supported);
/* Go's %#v of a metav1.LabelSelector (as kube prints one in "field is immutable"), and of
 * an intstr.IntOrString; caller frees. */
char *v_render_selector(const json_t *sel);
char *v_render_intstr(const json_t *v);           /* NULL prints as the int 0 */
char *v_render_string_map(const json_t *m);       /* NULL: map[string]string(nil) */
/* Adds every message of m as Invalid(value, message). */
void v_invalid_msgs(vctx *v, const char *child, const char *value, const vmsgs *m);

/* ---- JSON accessors ----------------------------------------------------------------- */

/* The string member `key` of o, or NULL when absent, null or not a string. */
const char *jstr(const json_t *o, const char *key);
/* True when member `key` of o is present and an integer; stores it in *out. */
bool jint(const json_t *o, const char *key, long long *out);
/* The member when it is an object / array, else NULL. */
json_t *jobj(const json_t *o, const char *key);
json_t *jarr(const json_t *o, const char *key);
/* A deep copy of j (objects only), or a new empty object when j is NULL; caller owns. */
json_t *jcopy(const json_t *j);
/* True when member `key` is present and not null. */
bool jhas(const json_t *o, const char *key);
/* True when member `key` is true. */
bool jtrue(const json_t *o, const char *key);
/* True when s is one of the NULL-terminated list. */
bool v_in(const char *s, const char *const *list);

/* Required string enum: Required when absent/empty, NotSupported when not in `allowed`. */
void v_enum_required(vctx *v, json_t *o, const char *key, const char *const *allowed);
/* Optional string enum: NotSupported when present and not in `allowed`. */
void v_enum_optional(vctx *v, json_t *o, const char *key, const char *const *allowed);
/* Integer member must be >= 0 when present. */
void v_nonneg(vctx *v, json_t *o, const char *key);
/* Immutability on update: Invalid(new value, "field is immutable") when the JSON values
 * at member `key` of n and o differ (absent equals absent only). */
void v_immutable(vctx *v, json_t *n, json_t *o, const char *key);

/* A resource.Quantity string as a number (base/quantity.h parses it). False when s is not
 * a quantity. */
bool v_quantity(const char *s, long double *out);

/* ---- shared sub-validators ---------------------------------------------------------- */

/* metadata of a top-level object at the current path ("metadata" is pushed inside). */
void v_object_meta(vctx *v, json_t *obj, bool namespaced, vname_rule rule);
void v_object_meta_update(vctx *v, json_t *obj, json_t *old);
/* A labels map (errors at the current path), an annotations map, label selectors. */
void v_labels(vctx *v, json_t *labels);
void v_annotations(vctx *v, json_t *annotations);
void v_label_selector(vctx *v, json_t *sel); /* metav1.LabelSelector at the current path */
/* True when the labels (object) satisfy the selector (metav1.LabelSelector). */
bool v_selector_matches(json_t *sel, json_t *labels);
/* True when the selector selects nothing-in-particular: no matchLabels, no expressions. */
bool v_selector_empty(json_t *sel);

/* Pods (validate_pod.c). A PodTemplateSpec at the current path (errors at "labels",
 * "annotations", "spec.*" below it, as kube writes them). */
void v_pod_template(vctx *v, json_t *tmpl);
/* A PodSpec at the current path; is_pod for a Pod (not a template). */
void v_pod_spec(vctx *v, json_t *spec, bool is_pod);
/* A PersistentVolumeClaimSpec at the current path. */
void v_pvc_spec(vctx *v, json_t *spec);
/* The containers, initContainers and ephemeralContainers of spec (validate_container.c);
 * vols maps valid volume names to whether they are claims; grace is the pod's
 * terminationGracePeriodSeconds when hg. */
void v_containers(vctx *v, json_t *spec, json_t *vols, long long grace, bool hg, bool is_pod);
/* Helpers shared by validate_pod.c and validate_container.c; child as for the adders. */
void v_check_dns_label(vctx *v, const char *child, const char *s);
void v_check_subdomain(vctx *v, const char *child, const char *s);
void v_path_no_backsteps(vctx *v, const char *child, const char *p);
void v_local_descending_path(vctx *v, const char *child, const char *p);
void v_local_non_reserved_path(vctx *v, const char *child, const char *p);
void v_port_num_or_name(vctx *v, json_t *o, const char *key); /* an IntOrString member */
/* Container resources (limits, requests) at the current path. */
void v_resources(vctx *v, json_t *res);
/* Tolerations list at the current path. */
void v_tolerations(vctx *v, json_t *tols);

/* Per-kind entry points; each validates at the root path. old is NULL on create. */
typedef void (*vkind_fn)(vctx *v, json_t *obj, json_t *old);
void v_kind_pod(vctx *v, json_t *obj, json_t *old);
void v_kind_namespace(vctx *v, json_t *obj, json_t *old);
void v_kind_service(vctx *v, json_t *obj, json_t *old);
void v_kind_endpoints(vctx *v, json_t *obj, json_t *old);
void v_kind_configmap(vctx *v, json_t *obj, json_t *old);
void v_kind_secret(vctx *v, json_t *obj, json_t *old);
void v_kind_serviceaccount(vctx *v, json_t *obj, json_t *old);
void v_kind_node(vctx *v, json_t *obj, json_t *old);
void v_kind_core_event(vctx *v, json_t *obj, json_t *old);
void v_kind_pv(vctx *v, json_t *obj, json_t *old);
void v_kind_pvc(vctx *v, json_t *obj, json_t *old);
void v_kind_resourcequota(vctx *v, json_t *obj, json_t *old);
void v_kind_limitrange(vctx *v, json_t *obj, json_t *old);
void v_kind_deployment(vctx *v, json_t *obj, json_t *old);
void v_kind_replicaset(vctx *v, json_t *obj, json_t *old);
void v_kind_statefulset(vctx *v, json_t *obj, json_t *old);
void v_kind_daemonset(vctx *v, json_t *obj, json_t *old);
void v_kind_controllerrevision(vctx *v, json_t *obj, json_t *old);
void v_kind_job(vctx *v, json_t *obj, json_t *old);
void v_kind_cronjob(vctx *v, json_t *obj, json_t *old);
void v_kind_hpa(vctx *v, json_t *obj, json_t *old);
void v_kind_ingress(vctx *v, json_t *obj, json_t *old);
void v_kind_ingressclass(vctx *v, json_t *obj, json_t *old);
void v_kind_networkpolicy(vctx *v, json_t *obj, json_t *old);
void v_kind_endpointslice(vctx *v, json_t *obj, json_t *old);
void v_kind_lease(vctx *v, json_t *obj, json_t *old);
void v_kind_events_event(vctx *v, json_t *obj, json_t *old);
void v_kind_role(vctx *v, json_t *obj, json_t *old);
void v_kind_rolebinding(vctx *v, json_t *obj, json_t *old);
void v_kind_storageclass(vctx *v, json_t *obj, json_t *old);
void v_kind_priorityclass(vctx *v, json_t *obj, json_t *old);
void v_kind_pdb(vctx *v, json_t *obj, json_t *old);
void v_kind_runtimeclass(vctx *v, json_t *obj, json_t *old);
void v_kind_crd(vctx *v, json_t *obj, json_t *old);

#endif
