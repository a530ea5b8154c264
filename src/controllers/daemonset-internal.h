/* daemonset-internal.h — what the DaemonSet controller's files share.
 *
 * daemonset_node.c holds the pure rules (kube's NodeShouldRunDaemonPod, the daemon pods'
 * automatic tolerations, the node-name affinity that places a pod, a pod's target node,
 * maxSurge/maxUnavailable arithmetic); they touch only JSON trees. daemonset.c runs a sync:
 * claiming pods, creating and deleting pods per node, and status; daemonset_update.c holds
 * the rolling update and the revision history.
 */
#ifndef TIMON_CONTROLLERS_DAEMONSET_INTERNAL_H
#define TIMON_CONTROLLERS_DAEMONSET_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/selector.h"
#include "base/hmap.h"
#include "controllers/controller.h"

#define DS_COMPONENT "daemonset-controller"
/* k8s: apps.DeprecatedTemplateGeneration (on the DaemonSet) and
 * extensions.DaemonSetTemplateGenerationKey (on its pods). */
#define DS_TEMPLATE_GENERATION_ANN "deprecated.daemonset.template.generation"
#define DS_TEMPLATE_GENERATION_LABEL "pod-template-generation"

/* k8s: NewPod: the pod spec NodeShouldRunDaemonPod judges — ds's template spec with the
 * daemon tolerations. A new tree. */
json_t *ds_daemon_spec(json_t *ds);
/* k8s: NodeShouldRunDaemonPod for spec (from ds_daemon_spec): should_run — a new daemon pod
 * belongs on node (name, nodeSelector, required node affinity, NoSchedule/NoExecute taints
 * tolerated); should_continue — a daemon pod already there may stay (no untolerated
 * NoExecute taint). Both borrowed. */
void ds_node_should_run(json_t *spec, json_t *node, bool *should_run, bool *should_continue);
/* k8s: the required node affinity of a pod spec (nodeSelector and the required
 * nodeSelectorTerms, matchExpressions on labels and matchFields on metadata.name) holds
 * for node. */
bool ds_node_affinity_matches(json_t *spec, json_t *node);
/* k8s: FindMatchingUntoleratedTaint: true when some taint of taints (a JSON array) with a
 * NoExecute effect (or NoSchedule too, unless no_execute_only) is not tolerated. */
bool ds_has_untolerated_taint(json_t *taints, json_t *tolerations, bool no_execute_only);
/* k8s: AddOrUpdateDaemonPodTolerations: not-ready and unreachable NoExecute; disk-, memory-,
 * pid-pressure and unschedulable NoSchedule; network-unavailable for hostNetwork. Modifies
 * the pod spec in place. */
void ds_add_tolerations(json_t *spec);
/* k8s: CreatePodTemplate: ds's template with the daemon tolerations, the
 * pod-template-generation label (when ds has the annotation) and controller-revision-hash.
 * A new tree. */
json_t *ds_pod_template(json_t *ds, const char *hash);
/* k8s: ReplaceDaemonSetPodNodeNameNodeAffinity: the required node affinity of spec becomes
 * the one term matchFields metadata.name In [node]. Modifies spec in place. */
void ds_set_node_affinity(json_t *spec, const char *node);
/* k8s: GetTargetNodeName: spec.nodeName, else the node the metadata.name matchFields term
 * names; NULL when neither (borrowed from pod). */
const char *ds_target_node(json_t *pod);
/* k8s: IsPodUpdated: the pod carries the current hash, or the template generation. */
bool ds_pod_updated(json_t *ds, json_t *pod, const char *hash);
/* k8s: UnavailableCount and SurgeCount for desired nodes (0 unless RollingUpdate); -1 on
 * an invalid value. */
int ds_max_unavailable(json_t *ds, int desired);
int ds_max_surge(json_t *ds, int desired);
/* k8s: podByCreationTimestampAndPhase: scheduled pods first, then oldest, then by name. */
void ds_sort_pods(json_t **pods, size_t n);
/* k8s: AllowsSurge: maxSurge resolves above 0. */
bool ds_allows_surge(json_t *ds);

/* ---------- a sync in progress (daemonset.c) ---------- */

typedef struct bucket {
	char *node;    /* the pods' target node (owned) */
	json_t **pods; /* borrowed from the sync's pods */
	size_t n, cap;
} bucket;

typedef struct ds_sync {
	controller *c;
	json_t *ds;                /* owned */
	const char *ns, *name, *uid;
	const label_selector *sel;
	const char *hash;          /* the current revision's hash (borrowed) */
	json_t **nodes;
	size_t nnodes;
	bool *run, *cont;          /* per node: NodeShouldRunDaemonPod */
	hmap node_by_name;         /* name -> node (borrowed) */
	json_t **pods;             /* the claimed pods (owned) */
	size_t npods;
	hmap by_node;              /* target node -> bucket */
	bool relabeled;            /* history relabeled pods: reload them */
	bool refused;              /* a create was refused: retry the sync */
	bucket **buckets;
	size_t nbuckets;
	int64_t now;
} ds_sync;

/* The pods targeting node (borrowed), or NULL when none do. */
bucket *ds_bucket(ds_sync *s, const char *node);

/* What a sync will do: pods to delete and nodes to create a pod on (both borrowed). */
typedef struct ds_plan {
	json_t **del;
	size_t ndel;
	const char **create;
	size_t ncreate;
} ds_plan;
void ds_plan_delete(ds_plan *p, json_t *pod);
void ds_plan_create(ds_plan *p, const char *node);
void ds_plan_free(ds_plan *p);
/* k8s: syncNodes: deletes the pods and creates one pod per node (the template placed with
 * the node-name affinity), at most BurstReplicas of each. Returns the writes made. */
size_t ds_sync_nodes(ds_sync *s, json_t **del, size_t ndel, const char **create, size_t ncreate);

/* ---------- updates and history (daemonset_update.c) ---------- */

/* k8s: rollingUpdate. Returns the writes made, or -1 on an invalid strategy. */
long ds_rolling_update(ds_sync *s);
/* k8s: constructHistory: the current revision (found by its data, deduplicated and
 * renumbered, or created) in *cur (owned) and the others in *old (free with
 * controller_list_free). -1 when it must be retried. */
int ds_construct_history(ds_sync *s, json_t **cur, json_t ***old, size_t *nold);
/* k8s: cleanupHistory: deletes the oldest old revisions no pod uses, beyond
 * revisionHistoryLimit. */
void ds_cleanup_history(ds_sync *s, json_t **old, size_t nold);

#endif
