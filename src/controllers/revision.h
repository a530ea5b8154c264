/* revision.h — ControllerRevision history shared by the StatefulSet and DaemonSet
 * controllers: the template patch a revision stores, kube's revision hashes and names,
 * claiming revisions by owner and selector, ordering and small writes.
 *
 * A revision's data is kube's getPatch of its owner: {"spec":{"template":{...,
 * "$patch":"replace"}}}, so `kubectl rollout undo` can apply it as a strategic merge patch.
 * Not for: Deployment history (its ReplicaSets carry it) or any controller's rollout rules.
 */
#ifndef TIMON_CONTROLLERS_REVISION_H
#define TIMON_CONTROLLERS_REVISION_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/selector.h"
#include "controllers/controller.h"

/* k8s: history.ControllerRevisionHashLabel, set on StatefulSet revisions. */
#define REVISION_HASH_LABEL "controller.kubernetes.io/hash"
/* k8s: apps.ControllerRevisionHashLabelKey: the revision (StatefulSet: its name; DaemonSet:
 * its hash) on pods, and on DaemonSet revisions. */
#define REVISION_POD_LABEL "controller-revision-hash"

/* k8s: getPatch: a new {"spec":{"template":<obj's spec.template>+"$patch":"replace"}}. */
json_t *revision_patch(json_t *obj);
/* The pod template a revision restores (borrowed from rev's data, "$patch" included), or
 * NULL when the data holds none. */
json_t *revision_template(json_t *rev);
/* obj (borrowed) with its spec.template replaced by the template rev restores: kube's
 * ApplyRevision for template-only patches. A new tree. */
json_t *revision_apply(json_t *obj, json_t *rev);

/* k8s: rand.SafeEncodeString: each byte of s mapped onto "bcdfghjklmnpqrstvwxz2456789".
 * out holds strlen(s) + 1 bytes. */
void revision_safe_encode(const char *s, char *out);
/* k8s: history.HashControllerRevision: FNV-32 over the data's bytes (canonical JSON here),
 * then the decimal collision count when probe is non-NULL; safe-encoded. Caller frees. */
char *revision_hash(json_t *data, const int64_t *probe);
/* k8s: controller.ComputeHash: FNV-32a over the template (canonical JSON here), then the
 * collision count (borrowed JSON integer, NULL when unset) as 8 little-endian bytes;
 * safe-encoded. Caller frees. */
char *revision_template_hash(json_t *tmpl, json_t *collision);
/* k8s: ControllerRevisionName: prefix (cut to 223 bytes) + "-" + hash. Caller frees. */
char *revision_name(const char *prefix, const char *hash);

/* The revision number of rev (0 when unset). */
int64_t revision_number(json_t *rev);
/* True when two revisions (borrowed) hold equal data (kube's EqualRevision / Match). */
bool revision_data_equal(json_t *a, json_t *b);
/* Sorts revisions (borrowed) by revision number, stable (k8s: SortControllerRevisions). */
void revision_sort(json_t **revs, size_t n);

/* The ControllerRevisions of owner's namespace that owner controls, after adopting the
 * orphans sel matches and (with release) releasing owned ones it no longer matches; without
 * release, owned revisions sel does not match are left out (kube's ListControllerRevisions).
 * Returns the count; *out (new trees, sorted by revision) is freed with
 * controller_list_free. */
size_t revision_claim(controller *c, json_t *owner, const label_selector *sel, bool release,
                      json_t ***out);
/* Creates rev (borrowed) and returns the stored object (new tree), or NULL when the create
 * failed. */
json_t *revision_create(controller *c, json_t *rev);
/* Sets the revision number of rev (borrowed); returns the stored object (new tree) or NULL. */
json_t *revision_renumber(controller *c, json_t *rev, int64_t number);
/* Deletes rev (borrowed). */
void revision_delete(controller *c, json_t *rev);

#endif
