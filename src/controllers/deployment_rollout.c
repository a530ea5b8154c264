/* deployment_rollout.c — how a Deployment moves between ReplicaSets: the RollingUpdate
 * strategy (grow the new set within maxSurge, shrink old ones within maxUnavailable), the
 * Recreate strategy (all old pods gone before the new set grows), scaling a deployment
 * mid-rollout (each active set gets its proportional share, as kube does), and trimming
 * old sets beyond revisionHistoryLimit.
 * Not for: finding or creating the new set and writing status (deployment.c) or the
 * arithmetic (deployment_util.c).
 */
#include <stdlib.h>
#include <string.h>

#include "api/selector.h"
#include "apiserver/client.h"
#include "base/json.h"
#include "base/util.h"
#include "controllers/controller-internal.h"
#include "controllers/deployment-internal.h"
#include "controllers/podutil.h"

/* ---------- index sets over s->rs ---------- */

typedef struct idxset {
	size_t *i;
	size_t n;
} idxset;

/* The old sets (every set but the new one); active: only those with replicas > 0. */
static idxset old_sets(dsync *s, bool active)
{
	idxset r = {xcalloc(s->nrs ? s->nrs : 1, sizeof(size_t)), 0};
	for (size_t i = 0; i < s->nrs; i++) {
		if ((long)i == s->new_rs)
			continue;
		if (active && deployment_spec_replicas(s->rs[i]) <= 0)
			continue;
		r.i[r.n++] = i;
	}
	return r;
}

/* Sorts the indices by the order of the sets they point at. */
static void sort_idx(dsync *s, idxset *x, enum deployment_rs_order order)
{
	json_t **p = xcalloc(x->n ? x->n : 1, sizeof *p);
	for (size_t k = 0; k < x->n; k++)
		p[k] = s->rs[x->i[k]];
	deployment_sort_rs(p, x->n, order);
	for (size_t k = 0; k < x->n; k++)
		for (size_t j = 0; j < s->nrs; j++)
			if (s->rs[j] == p[k])
				x->i[k] = j;
	free(p);
}

static int sum_spec(dsync *s, const idxset *x)
{
	int n = 0;
	for (size_t k = 0; k < x->n; k++)
		n += deployment_spec_replicas(s->rs[x->i[k]]);
	return n;
}

static int sum_status(dsync *s, const idxset *x, const char *field)
{
	int n = 0;
	for (size_t k = 0; k < x->n; k++)
		n += deployment_status_int(s->rs[x->i[k]], field);
	return n;
}

static int finish(dsync *s)
{
	return dsync_rollout_status(s) < 0 ? RECONCILE_RETRY : RECONCILE_DONE;
}

/* ---------- RollingUpdate ---------- */

/* k8s: reconcileNewReplicaSet: 1 when the new set was scaled, 0 when not, -1 on error. */
static int reconcile_new_rs(dsync *s)
{
	size_t ni = (size_t)s->new_rs;
	int desired = deployment_spec_replicas(s->d);
	int cur = deployment_spec_replicas(s->rs[ni]);
	if (cur == desired)
		return 0;
	if (cur > desired)
		return dsync_scale_rs(s, ni, desired);
	int n = deployment_new_rs_replicas(s->d, s->rs, s->nrs, s->rs[ni]);
	return dsync_scale_rs(s, ni, n);
}

/* k8s: cleanupUnhealthyReplicas: old sets lose their unavailable replicas first, oldest
 * set first, up to max in all. Returns how many went, or -1. */
static int cleanup_unhealthy(dsync *s, idxset *olds, int max)
{
	sort_idx(s, olds, RS_BY_CREATION);
	int total = 0;
	for (size_t k = 0; k < olds->n && total < max; k++) {
		json_t *rs = s->rs[olds->i[k]];
		int spec = deployment_spec_replicas(rs);
		int avail = deployment_status_int(rs, "availableReplicas");
		if (spec == 0 || spec == avail)
			continue;
		int down = max - total < spec - avail ? max - total : spec - avail;
		if (spec - down > spec)
			return -1;
		if (dsync_scale_rs(s, olds->i[k], spec - down) < 0)
			return -1;
		total += down;
	}
	return total;
}

/* k8s: scaleDownOldReplicaSetsForRollingUpdate: shrink old sets, oldest first, while more
 * than spec.replicas - maxUnavailable replicas stay available. */
static int scale_down_old(dsync *s, idxset *olds)
{
	int min_available = deployment_spec_replicas(s->d) - deployment_max_unavailable(s->d);
	int available = sum_status(s, olds, "availableReplicas") +
	                deployment_status_int(dsync_new_rs(s), "availableReplicas");
	if (available <= min_available)
		return 0;
	sort_idx(s, olds, RS_BY_CREATION);
	int total = 0, want = available - min_available;
	for (size_t k = 0; k < olds->n && total < want; k++) {
		int spec = deployment_spec_replicas(s->rs[olds->i[k]]);
		if (spec == 0)
			continue;
		int down = spec < want - total ? spec : want - total;
		if (dsync_scale_rs(s, olds->i[k], spec - down) < 0)
			return -1;
		total += down;
	}
	return total;
}

/* k8s: reconcileOldReplicaSets: 1 when an old set was scaled down, 0 when not, -1. */
static int reconcile_old_rss(dsync *s)
{
	idxset all_old = old_sets(s, false);
	int old_count = sum_spec(s, &all_old);
	free(all_old.i);
	if (old_count == 0)
		return 0;
	json_t *nrs = dsync_new_rs(s);
	int all_count = old_count + deployment_spec_replicas(nrs);
	int min_available = deployment_spec_replicas(s->d) - deployment_max_unavailable(s->d);
	int new_unavailable =
	    deployment_spec_replicas(nrs) - deployment_status_int(nrs, "availableReplicas");
	/* k8s: never scale down below minAvailable, counting the new set's missing pods. */
	int max_down = all_count - min_available - new_unavailable;
	if (max_down <= 0)
		return 0;
	idxset olds = old_sets(s, true);
	int cleaned = cleanup_unhealthy(s, &olds, max_down);
	int scaled = cleaned < 0 ? -1 : scale_down_old(s, &olds);
	free(olds.i);
	if (cleaned < 0 || scaled < 0)
		return -1;
	return cleaned + scaled > 0;
}

int deployment_rollout_rolling(dsync *s)
{
	if (dsync_get_new_rs(s, true) < 0 || s->new_rs < 0)
		return RECONCILE_RETRY;
	int r = reconcile_new_rs(s);
	if (r < 0)
		return RECONCILE_RETRY;
	if (r > 0)
		return finish(s);
	r = reconcile_old_rss(s);
	if (r < 0)
		return RECONCILE_RETRY;
	if (r > 0)
		return finish(s);
	if (deployment_complete(s->d, json_object_get(s->d, "status")))
		deployment_cleanup(s);
	return finish(s);
}

/* ---------- Recreate ---------- */

/* k8s: oldPodsRunning: old sets still report pods, or a pod of an old set has not
 * finished (terminating pods count until they are gone). */
static bool old_pods_running(dsync *s)
{
	idxset olds = old_sets(s, false);
	int n = sum_status(s, &olds, "replicas");
	if (n > 0) {
		free(olds.i);
		return true;
	}
	label_selector *sel = label_selector_from_json(json_path(s->d, "spec.selector"), NULL);
	json_t **pods;
	size_t np = controller_list(s->c, controller_kind("", "pods"), s->ns, &pods);
	bool running = false;
	for (size_t p = 0; p < np && !running; p++) {
		if (!label_selector_matches(sel, json_path(pods[p], "metadata.labels")))
			continue;
		json_t *owner = controller_owner(pods[p]);
		const char *uid = owner ? json_string_value(json_object_get(owner, "uid")) : NULL;
		for (size_t k = 0; k < olds.n && uid; k++) {
			if (!str_eq(uid, json_path_str(s->rs[olds.i[k]], "metadata.uid")))
				continue;
			const char *phase = json_path_str(pods[p], "status.phase");
			if (!str_eq(phase, "Succeeded") && !str_eq(phase, "Failed"))
				running = true;
		}
	}
	controller_list_free(pods, np);
	label_selector_free(sel);
	free(olds.i);
	return running;
}

int deployment_rollout_recreate(dsync *s)
{
	/* k8s: the new set is not created yet, so nothing scales up before old pods are gone. */
	if (dsync_get_new_rs(s, false) < 0)
		return RECONCILE_RETRY;
	idxset olds = old_sets(s, true);
	bool scaled = false;
	for (size_t k = 0; k < olds.n; k++) {
		int r = dsync_scale_rs(s, olds.i[k], 0);
		if (r < 0) {
			free(olds.i);
			return RECONCILE_RETRY;
		}
		scaled |= r > 0;
	}
	free(olds.i);
	if (scaled || old_pods_running(s))
		return finish(s);
	if (s->new_rs < 0 && (dsync_get_new_rs(s, true) < 0 || s->new_rs < 0))
		return RECONCILE_RETRY;
	if (dsync_scale_rs(s, (size_t)s->new_rs, deployment_spec_replicas(s->d)) < 0)
		return RECONCILE_RETRY;
	if (deployment_complete(s->d, json_object_get(s->d, "status")))
		deployment_cleanup(s);
	return finish(s);
}

/* ---------- scaling ---------- */

bool deployment_is_scaling_event(dsync *s)
{
	int desired = deployment_spec_replicas(s->d);
	for (size_t i = 0; i < s->nrs; i++) {
		int want;
		if (deployment_spec_replicas(s->rs[i]) <= 0 ||
		    !deployment_desired_annotation(s->rs[i], &want))
			continue;
		if (want != desired)
			return true;
	}
	return false;
}

/* k8s: FindActiveOrLatest: the only set with replicas, or the newest when none has any;
 * -1 when several have replicas (or there is no set). */
static long active_or_latest(dsync *s)
{
	if (s->nrs == 0)
		return -1;
	long active = -1;
	size_t nactive = 0;
	for (size_t i = 0; i < s->nrs; i++) {
		if (deployment_spec_replicas(s->rs[i]) > 0) {
			active = (long)i;
			nactive++;
		}
	}
	if (nactive == 1)
		return active;
	if (nactive > 1)
		return -1;
	if (s->new_rs >= 0)
		return s->new_rs;
	idxset olds = old_sets(s, false);
	sort_idx(s, &olds, RS_BY_CREATION);
	long newest = olds.n ? (long)olds.i[olds.n - 1] : -1;
	free(olds.i);
	return newest;
}

/* k8s: IsSaturated: the new set is at full size and all of it is available. */
static bool saturated(dsync *s)
{
	json_t *nrs = dsync_new_rs(s);
	int desired = deployment_spec_replicas(s->d), want;
	return nrs && deployment_desired_annotation(nrs, &want) && want == desired &&
	       deployment_spec_replicas(nrs) == desired &&
	       deployment_status_int(nrs, "availableReplicas") == desired;
}

/* k8s: scale: a lone active set takes the whole size; a saturated new set leaves nothing to
 * the old ones; otherwise (RollingUpdate) the replicas to add or remove are spread over the
 * active sets in proportion to their size, the largest set taking the rounding leftover. */
static int scale(dsync *s)
{
	int desired = deployment_spec_replicas(s->d);
	long one = active_or_latest(s);
	if (one >= 0) {
		if (deployment_spec_replicas(s->rs[one]) == desired)
			return 0;
		return dsync_scale_rs(s, (size_t)one, desired) < 0 ? -1 : 0;
	}
	if (saturated(s)) {
		idxset olds = old_sets(s, true);
		int r = 0;
		for (size_t k = 0; k < olds.n && r >= 0; k++)
			r = dsync_scale_rs(s, olds.i[k], 0);
		free(olds.i);
		return r < 0 ? -1 : 0;
	}
	if (!deployment_is_rolling(s->d))
		return 0;
	idxset act = old_sets(s, true);
	if (s->new_rs >= 0 && deployment_spec_replicas(s->rs[s->new_rs]) > 0)
		act.i[act.n++] = (size_t)s->new_rs;
	int allowed = desired > 0 ? desired + deployment_max_surge(s->d) : 0;
	int to_add = allowed - sum_spec(s, &act);
	if (to_add > 0)
		sort_idx(s, &act, RS_BY_SIZE_NEWER);
	else if (to_add < 0)
		sort_idx(s, &act, RS_BY_SIZE_OLDER);
	int *size = xcalloc(act.n ? act.n : 1, sizeof *size);
	int added = 0;
	for (size_t k = 0; k < act.n; k++) {
		json_t *rs = s->rs[act.i[k]];
		int p = to_add ? deployment_rs_proportion(rs, s->d, to_add, added) : 0;
		size[k] = deployment_spec_replicas(rs) + p;
		added += p;
	}
	int r = 0;
	for (size_t k = 0; k < act.n && r >= 0; k++) {
		if (k == 0 && to_add) {
			size[k] += to_add - added;
			if (size[k] < 0)
				size[k] = 0;
		}
		r = dsync_set_rs_scale(s, act.i[k], size[k]);
	}
	free(size);
	free(act.i);
	return r < 0 ? -1 : 0;
}

int deployment_sync_scale(dsync *s)
{
	if (dsync_get_new_rs(s, false) < 0 || scale(s) < 0)
		return RECONCILE_RETRY;
	/* k8s: a paused deployment still trims its history. */
	if (json_is_true(json_path(s->d, "spec.paused")))
		deployment_cleanup(s);
	return dsync_status(s) < 0 ? RECONCILE_RETRY : RECONCILE_DONE;
}

/* ---------- history ---------- */

void deployment_cleanup(dsync *s)
{
	json_t *limit = json_path(s->d, "spec.revisionHistoryLimit");
	if (!json_is_integer(limit) || json_integer_value(limit) == INT32_MAX)
		return;
	idxset olds = old_sets(s, false);
	size_t n = 0;
	for (size_t k = 0; k < olds.n; k++)
		if (!json_path(s->rs[olds.i[k]], "metadata.deletionTimestamp"))
			olds.i[n++] = olds.i[k];
	olds.n = n;
	long diff = (long)n - (long)json_integer_value(limit);
	if (diff > 0)
		sort_idx(s, &olds, RS_BY_REVISION);
	for (long k = 0; k < diff; k++) {
		json_t *rs = s->rs[olds.i[k]];
		/* k8s: only sets that are fully scaled down and observed are removed. */
		if (deployment_status_int(rs, "replicas") != 0 ||
		    deployment_spec_replicas(rs) != 0 ||
		    json_integer_value(json_path(rs, "metadata.generation")) >
		        json_integer_value(json_path(rs, "status.observedGeneration")))
			continue;
		client_delete(s->c->srv, s->c->def->name, controller_kind("apps", "replicasets"),
		              s->ns, json_path_str(rs, "metadata.name"), NULL, NULL, NULL);
	}
	free(olds.i);
}
