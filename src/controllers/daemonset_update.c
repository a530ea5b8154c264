/* daemonset_update.c — how a DaemonSet changes its pods' template: the rolling update
 * (maxUnavailable, or maxSurge with a new pod beside the old one) and the ControllerRevision
 * history it rolls between (finding, deduplicating, renumbering, creating and pruning).
 * Not for: creating and deleting pods per node or status (daemonset.c).
 */
#include <stdlib.h>
#include <string.h>

#include "apiserver/client.h"
#include "base/json.h"
#include "base/util.h"
#include "controllers/daemonset-internal.h"
#include "controllers/podutil.h"
#include "controllers/revision.h"

/* ---------- rolling update ---------- */

/* k8s: findUpdatedPodsOnNode: false when a node has two new or two old live pods. */
static bool updated_pods_on(ds_sync *s, bucket *b, json_t **new_pod, json_t **old_pod)
{
	*new_pod = *old_pod = NULL;
	for (size_t i = 0; b && i < b->n; i++) {
		json_t *pod = b->pods[i];
		if (json_path(pod, "metadata.deletionTimestamp"))
			continue;
		json_t **slot = ds_pod_updated(s->ds, pod, s->hash) ? new_pod : old_pod;
		if (*slot)
			return false;
		*slot = pod;
	}
	return true;
}

/* k8s: rollingUpdate. Returns the writes made, or -1 on an invalid strategy. */
long ds_rolling_update(ds_sync *s)
{
	int64_t mrs = json_integer_value(json_path(s->ds, "spec.minReadySeconds"));
	/* k8s: updatedDesiredNodeCounts: every node that should run takes part. */
	bucket **parts = xcalloc(s->nnodes + s->nbuckets + 1, sizeof *parts);
	const char **part_nodes = xcalloc(s->nnodes + s->nbuckets + 1, sizeof *part_nodes);
	size_t nparts = 0;
	int desired = 0;
	for (size_t i = 0; i < s->nnodes; i++) {
		const char *name = json_path_str(s->nodes[i], "metadata.name");
		bool run = s->run[i];
		bucket *b = ds_bucket(s, name);
		if (run)
			desired++;
		if (run || (b && b->n)) {
			parts[nparts] = b;
			part_nodes[nparts++] = name;
		}
	}
	int max_unavailable = ds_max_unavailable(s->ds, desired);
	int max_surge = ds_max_surge(s->ds, desired);
	if (max_unavailable < 0 || max_surge < 0) {
		free(parts);
		free(part_nodes);
		return -1;
	}
	/* k8s: neither surge nor unavailability allowed: accept one unavailable node. */
	if (desired > 0 && max_unavailable == 0 && max_surge == 0)
		max_unavailable = 1;
	ds_plan p = {0};
	if (max_surge == 0) {
		int unavailable = 0;
		json_t **replace = xcalloc(nparts + 1, sizeof *replace), **cand = xcalloc(nparts + 1, sizeof *cand);
		size_t nreplace = 0, ncand = 0;
		for (size_t i = 0; i < nparts; i++) {
			json_t *np, *op;
			if (!updated_pods_on(s, parts[i], &np, &op)) {
				unavailable++; /* k8s: excess pods: manage cleans up, count it unavailable */
				continue;
			}
			if ((!op && !np) || (op && np)) {
				unavailable++;
			} else if (np) {
				if (!pod_is_available(np, mrs, s->now))
					unavailable++;
			} else if (!pod_is_available(op, mrs, s->now)) {
				/* k8s: an old pod that is not available is replaced at once. */
				replace[nreplace++] = op;
			} else if (unavailable < max_unavailable) {
				cand[ncand++] = op;
			}
		}
		int remaining = max_unavailable - unavailable;
		if (remaining < 0)
			remaining = 0;
		if ((size_t)remaining > ncand)
			remaining = (int)ncand;
		for (size_t i = 0; i < nreplace; i++)
			ds_plan_delete(&p, replace[i]);
		for (int i = 0; i < remaining; i++)
			ds_plan_delete(&p, cand[i]);
		free(replace);
		free(cand);
	} else {
		/* k8s: with surge, a new pod starts beside an old one (at most maxSurge at a time,
		 * at once where the old one is not available); the old one goes once the new one
		 * is available. */
		int surge = 0;
		const char **allowed = xcalloc(nparts + 1, sizeof *allowed);
		const char **cand = xcalloc(nparts + 1, sizeof *cand);
		size_t nallowed = 0, ncand = 0;
		for (size_t i = 0; i < nparts; i++) {
			json_t *np, *op;
			if (!updated_pods_on(s, parts[i], &np, &op)) {
				surge++;
				continue;
			}
			if (!op)
				continue;
			if (!np) {
				if (!pod_is_available(op, mrs, s->now))
					allowed[nallowed++] = part_nodes[i];
				else if (surge < max_surge)
					cand[ncand++] = part_nodes[i];
			} else if (!pod_is_available(np, mrs, s->now)) {
				surge++;
			} else {
				ds_plan_delete(&p, op);
			}
		}
		int remaining = max_surge - surge;
		if (remaining < 0)
			remaining = 0;
		if ((size_t)remaining > ncand)
			remaining = (int)ncand;
		for (size_t i = 0; i < nallowed; i++)
			ds_plan_create(&p, allowed[i]);
		for (int i = 0; i < remaining; i++)
			ds_plan_create(&p, cand[i]);
		free(allowed);
		free(cand);
	}
	size_t writes = ds_sync_nodes(s, p.del, p.ndel, p.create, p.ncreate);
	ds_plan_free(&p);
	free(parts);
	free(part_nodes);
	return (long)writes;
}

/* ---------- history ---------- */

/* k8s: snapshot: a revision named <ds>-<hash of the template and collisionCount>. Returns
 * the stored revision (new tree), or NULL (after bumping collisionCount on a clash). */
static json_t *snapshot(ds_sync *s, json_t *data, int64_t number)
{
	const kind_desc *rk = controller_kind("apps", "controllerrevisions");
	json_t *cc = json_path(s->ds, "status.collisionCount");
	char *hash = revision_template_hash(json_path(s->ds, "spec.template"), cc);
	char *name = xasprintf("%s-%s", s->name, hash);
	json_t *labels = json_clone(json_path(s->ds, "spec.template.metadata.labels"));
	if (!json_is_object(labels)) {
		json_decref(labels);
		labels = json_object();
	}
	json_object_set_new(labels, REVISION_POD_LABEL, json_string(hash));
	json_t *meta = json_pack("{s:s, s:s, s:o, s:[o]}", "name", name, "namespace", s->ns,
	                         "labels", labels, "ownerReferences", controller_owner_ref(s->ds));
	json_t *ann = json_path(s->ds, "metadata.annotations");
	if (json_object_size(ann))
		json_object_set_new(meta, "annotations", json_clone(ann));
	json_t *rev = json_pack("{s:s, s:s, s:o, s:O, s:I}", "apiVersion", "apps/v1", "kind",
	                        "ControllerRevision", "metadata", meta, "data", data, "revision",
	                        (json_int_t)number);
	json_t *got = controller_get(s->c, rk, s->ns, name);
	if (!got) {
		got = revision_create(s->c, rev);
	} else if (!revision_data_equal(got, rev)) {
		/* k8s: the name is taken by another template: bump collisionCount and retry. */
		json_decref(got);
		got = NULL;
		json_t *obj = json_clone(s->ds);
		json_t *st = json_obj_child(obj, "status");
		json_object_set_new(st, "collisionCount", json_integer(json_integer_value(cc) + 1));
		client_update(s->c->srv, s->c->def->name, controller_kind("apps", "daemonsets"), obj,
		              "status", NULL, NULL);
		json_decref(obj);
	}
	json_decref(rev);
	free(hash);
	free(name);
	return got;
}

/* k8s: constructHistory: the current revision (found by its data, deduplicated and
 * renumbered, or created) in *cur and the others in *old. -1 when it must be retried. */
int ds_construct_history(ds_sync *s, json_t **cur, json_t ***old, size_t *nold)
{
	json_t **revs;
	size_t n = revision_claim(s->c, s->ds, s->sel, true, &revs);
	json_t *data = revision_patch(s->ds);
	json_t *probe = json_pack("{s:O}", "data", data);
	json_t **cur_list = xcalloc(n + 1, sizeof *cur_list);
	size_t ncur = 0;
	*old = xcalloc(n + 1, sizeof **old);
	*nold = 0;
	int64_t max_old = 0;
	for (size_t i = 0; i < n; i++) {
		json_t *r = revs[i];
		if (!json_object_get(json_path(r, "metadata.labels"), REVISION_POD_LABEL)) {
			/* k8s: a revision without the hash label gets its name as the hash. */
			json_t *patch = json_pack("{s:{s:{s:O}}}", "metadata", "labels", REVISION_POD_LABEL,
			                          json_path(r, "metadata.name"));
			client_patch(s->c->srv, s->c->def->name, controller_kind("apps", "controllerrevisions"),
			             s->ns, json_path_str(r, "metadata.name"), NULL, NULL, patch, NULL, NULL);
			json_decref(patch);
			json_t *got = controller_get(s->c, controller_kind("apps", "controllerrevisions"),
			                             s->ns, json_path_str(r, "metadata.name"));
			if (got) {
				json_decref(r);
				revs[i] = r = got;
			}
		}
		if (revision_data_equal(r, probe)) {
			cur_list[ncur++] = json_incref(r);
		} else {
			(*old)[(*nold)++] = json_incref(r);
			if (revision_number(r) > max_old)
				max_old = revision_number(r);
		}
	}
	controller_list_free(revs, n);
	*cur = NULL;
	if (!ncur) {
		*cur = snapshot(s, data, max_old + 1);
	} else {
		/* k8s: dedupCurHistories: keep the highest revision, relabel pods of the others to
		 * its hash and delete them. */
		json_t *keep = cur_list[0];
		for (size_t i = 1; i < ncur; i++)
			if (revision_number(cur_list[i]) >= revision_number(keep))
				keep = cur_list[i];
		const char *keep_hash = json_string_value(
		    json_object_get(json_path(keep, "metadata.labels"), REVISION_POD_LABEL));
		for (size_t i = 0; i < ncur; i++) {
			if (cur_list[i] == keep)
				continue;
			for (size_t j = 0; j < s->npods; j++) {
				json_t *pod = s->pods[j];
				if (str_eq(json_string_value(json_object_get(json_path(pod, "metadata.labels"),
				                                             REVISION_POD_LABEL)),
				           keep_hash))
					continue;
				json_t *patch = json_pack("{s:{s:{s:s}}}", "metadata", "labels",
				                          REVISION_POD_LABEL, keep_hash ? keep_hash : "");
				client_patch(s->c->srv, s->c->def->name, controller_kind("", "pods"), s->ns,
				             json_path_str(pod, "metadata.name"), NULL, NULL, patch, NULL, NULL);
				json_decref(patch);
				s->relabeled = true;
			}
			revision_delete(s->c, cur_list[i]);
		}
		*cur = json_incref(keep);
		if (revision_number(keep) < max_old + 1) {
			json_t *renum = revision_renumber(s->c, keep, max_old + 1);
			json_decref(*cur);
			*cur = renum;
		}
	}
	controller_list_free(cur_list, ncur);
	json_decref(probe);
	json_decref(data);
	return *cur ? 0 : -1;
}

/* k8s: cleanupHistory: deletes the oldest old revisions no pod uses, beyond
 * revisionHistoryLimit. */
void ds_cleanup_history(ds_sync *s, json_t **old, size_t nold)
{
	json_t *lim = json_path(s->ds, "spec.revisionHistoryLimit");
	long to_kill = (long)nold - (lim ? (long)json_integer_value(lim) : 10);
	revision_sort(old, nold);
	for (size_t i = 0; i < nold && to_kill > 0; i++) {
		const char *hash = json_string_value(
		    json_object_get(json_path(old[i], "metadata.labels"), REVISION_POD_LABEL));
		bool live = false;
		for (size_t j = 0; j < s->npods && !live; j++)
			live = hash && str_eq(json_string_value(json_object_get(
			                          json_path(s->pods[j], "metadata.labels"), REVISION_POD_LABEL)),
			                      hash);
		if (live)
			continue;
		revision_delete(s->c, old[i]);
		to_kill--;
	}
}
