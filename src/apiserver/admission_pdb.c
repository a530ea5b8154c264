/* admission_pdb.c — the PodDisruptionBudget side of pods/eviction (kube's EvictionREST):
 * a pod covered by a budget is evicted only while the budget allows a disruption; the
 * eviction is charged to the budget's status (disruptionsAllowed, disruptedPods) before the
 * pod is deleted, and the pod is marked with the DisruptionTarget condition.
 * Not for: the budget's status computation (controllers/disruption.c) or the deletion
 * itself (admission.c's pod_evict hands the pod to lifecycle_delete).
 */
#include <stdlib.h>
#include <string.h>

#include "api/selector.h"
#include "apiserver/admission_policy.h"
#include "apiserver/pdb.h"
#include "base/json.h"
#include "base/util.h"

/* k8s: MaxDisruptedPodSize: evictions not yet confirmed by the controller. */
#define MAX_DISRUPTED_PODS 2000
#define EVICTION_REFUSED   "Cannot evict pod as it would violate the pod's disruption budget."

/* ---------- conditions (shared with the disruption controller) ---------- */

void pdb_set_condition(json_t *obj, const char *type, const char *status, const char *reason,
                       const char *message, int64_t now_ns)
{
	json_t *st = json_obj_child(obj, "status");
	json_t *conds = json_object_get(st, "conditions");
	if (!json_is_array(conds)) {
		conds = json_array();
		json_object_set_new(st, "conditions", conds);
	}
	json_t *gen = json_object_get(st, "observedGeneration");
	char ts[32];
	time_rfc3339(now_ns, false, ts);
	size_t i;
	json_t *c;
	json_array_foreach(conds, i, c)
	{
		if (!str_eq(json_string_value(json_object_get(c, "type")), type))
			continue;
		if (!str_eq(json_string_value(json_object_get(c, "status")), status)) {
			json_object_set_new(c, "status", json_string(status));
			json_object_set_new(c, "lastTransitionTime", json_string(ts));
		}
		json_object_set_new(c, "reason", json_string(reason));
		json_object_set_new(c, "message", json_string(message));
		json_object_set_new(c, "observedGeneration", json_integer(json_integer_value(gen)));
		return;
	}
	json_array_append_new(
	    conds, json_pack("{s:s, s:s, s:I, s:s, s:s, s:s}", "type", type, "status", status,
	                     "observedGeneration", (json_int_t)json_integer_value(gen),
	                     "lastTransitionTime", ts, "reason", reason, "message", message));
}

void pdb_update_allowed_condition(json_t *pdb, int64_t now_ns)
{
	json_int_t allowed = json_integer_value(json_path(pdb, "status.disruptionsAllowed"));
	if (allowed > 0)
		pdb_set_condition(pdb, "DisruptionAllowed", "True", "SufficientPods", "", now_ns);
	else
		pdb_set_condition(pdb, "DisruptionAllowed", "False", "InsufficientPods", "",
		                  now_ns);
}

/* ---------- eviction ---------- */

static bool pod_ready(json_t *pod)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_path(pod, "status.conditions"), i, c)
	{
		if (str_eq(json_string_value(json_object_get(c, "type")), "Ready"))
			return str_eq(json_string_value(json_object_get(c, "status")), "True");
	}
	return false;
}

/* k8s: terminal, pending and terminating pods are deleted without consulting budgets. */
static bool can_ignore_budget(json_t *pod)
{
	const char *phase = json_path_str(pod, "status.phase");
	return str_eq(phase, "Succeeded") || str_eq(phase, "Failed") || str_eq(phase, "Pending") ||
	       json_path(pod, "metadata.deletionTimestamp");
}

/* The budgets of pod's namespace whose selector selects it: up to max new trees in out;
 * returns how many matched, stopping at max + 1. */
static size_t matching_budgets(api_req *r, json_t *pod, json_t **out, size_t max)
{
	const kind_desc *pk = kind_by_group_resource("policy", "poddisruptionbudgets");
	if (!pk)
		return 0;
	_cleanup_free_ char *prefix =
	    kind_storage_key(pk, json_path_str(pod, "metadata.namespace"), NULL);
	cache_entry *const *es;
	size_t n = cache_range(r->srv->cache, prefix, NULL, &es), found = 0;
	json_t *labels = json_path(pod, "metadata.labels");
	for (size_t i = 0; i < n; i++) {
		json_t *pdb = json_loadb(es[i]->value->data, es[i]->value->len, 0, NULL);
		json_t *sj = json_path(pdb, "spec.selector");
		label_selector *sel = sj ? label_selector_from_json(sj, NULL) : NULL;
		/* k8s: a nil or empty selector matches nothing here, not everything. */
		bool match =
		    sel && !label_selector_empty(sel) && label_selector_matches(sel, labels);
		label_selector_free(sel);
		if (!match) {
			json_decref(pdb);
			continue;
		}
		if (found < max)
			out[found] = pdb;
		else
			json_decref(pdb);
		if (++found > max)
			return found;
	}
	return found;
}

/* k8s: 429 TooManyRequests with a DisruptionBudget cause saying why. cause is consumed. */
static int too_many_requests(terr **err, int retry_after, char *cause)
{
	terr_set(err, 429, "TooManyRequests", EVICTION_REFUSED);
	if (*err)
		(*err)->retry_after = retry_after;
	terr_cause_add(err, "DisruptionBudget", NULL, "%s", cause);
	free(cause);
	return -1;
}

/* k8s: checkAndDecrement: refuses when the budget allows no disruption; otherwise charges
 * it (unless dry run) and records the pod as disrupted. */
static int charge_budget(api_req *r, json_t *pdb, const char *pod_name, terr **err)
{
	const char *name = json_path_str(pdb, "metadata.name");
	json_t *st = json_obj_child(pdb, "status");
	json_int_t observed = json_integer_value(json_object_get(st, "observedGeneration"));
	json_int_t gen = json_integer_value(json_path(pdb, "metadata.generation"));
	json_int_t allowed = json_integer_value(json_object_get(st, "disruptionsAllowed"));
	if (observed < gen)
		return too_many_requests(
		    err, 10,
		    xasprintf("The disruption budget %s is still being processed by the server.",
		              name));
	if (allowed < 0)
		return terr_set(err, 403, "Forbidden",
		                "poddisruptionbudget.policy \"%s\" is forbidden: pdb disruptions "
		                "allowed is negative",
		                name);
	if (json_object_size(json_object_get(st, "disruptedPods")) > MAX_DISRUPTED_PODS)
		return terr_set(err, 403, "Forbidden",
		                "poddisruptionbudget.policy \"%s\" is forbidden: DisruptedPods map "
		                "too big - too many evictions not confirmed by PDB controller",
		                name);
	if (allowed == 0)
		return too_many_requests(
		    err, 0,
		    xasprintf(
		        "The disruption budget %s needs %lld healthy pods and has %lld currently",
		        name, (long long)json_integer_value(json_object_get(st, "desiredHealthy")),
		        (long long)json_integer_value(json_object_get(st, "currentHealthy"))));
	int64_t now = time_now_ns();
	json_object_set_new(st, "disruptionsAllowed", json_integer(allowed - 1));
	if (allowed - 1 == 0)
		pdb_update_allowed_condition(pdb, now);
	if (r->dry_run)
		return 0;
	char ts[32];
	time_rfc3339(now, false, ts);
	json_object_set_new(json_obj_child(st, "disruptedPods"), pod_name, json_string(ts));
	const kind_desc *pk = kind_by_group_resource("policy", "poddisruptionbudgets");
	store_object(r->srv, pk, pdb, STORE_MODIFIED, NULL, NULL);
	return 0;
}

/* k8s: the evicted pod carries DisruptionTarget=True (EvictionByEvictionAPI). */
static void mark_disruption_target(json_t *pod)
{
	json_t *st = json_obj_child(pod, "status");
	json_t *conds = json_object_get(st, "conditions");
	if (!json_is_array(conds)) {
		conds = json_array();
		json_object_set_new(st, "conditions", conds);
	}
	char ts[32];
	time_rfc3339(time_now_ns(), false, ts);
	json_t *want =
	    json_pack("{s:s, s:s, s:n, s:s, s:s, s:s}", "type", "DisruptionTarget", "status",
	              "True", "lastProbeTime", "lastTransitionTime", ts, "reason",
	              "EvictionByEvictionAPI", "message", "Eviction API: evicting");
	size_t i;
	json_t *c;
	json_array_foreach(conds, i, c)
	{
		if (str_eq(json_string_value(json_object_get(c, "type")), "DisruptionTarget")) {
			if (str_eq(json_string_value(json_object_get(c, "status")), "True"))
				json_object_set(want, "lastTransitionTime",
				                json_object_get(c, "lastTransitionTime"));
			json_array_set_new(conds, i, want);
			return;
		}
	}
	json_array_append_new(conds, want);
}

int admission_pdb_evict(api_req *r, json_t *pod, terr **err)
{
	if (!can_ignore_budget(pod)) {
		json_t *pdbs[1] = {NULL};
		size_t n = matching_budgets(r, pod, pdbs, 1);
		if (n > 1) {
			json_decref(pdbs[0]);
			return terr_set(err, 500, "",
			                "This pod has more than one PodDisruptionBudget, which the "
			                "eviction subresource does not support.");
		}
		if (n == 1) {
			json_t *pdb = pdbs[0];
			int rc = 0;
			bool ready = pod_ready(pod);
			const char *policy = json_path_str(pdb, "spec.unhealthyPodEvictionPolicy");
			json_int_t cur =
			    json_integer_value(json_path(pdb, "status.currentHealthy"));
			json_int_t want =
			    json_integer_value(json_path(pdb, "status.desiredHealthy"));
			/* k8s: an unready pod does not count as healthy, so evicting it costs
			 * nothing when the policy says so or the budget is met anyway. */
			bool free_ride =
			    !ready && (str_eq(policy, "AlwaysAllow") || (cur >= want && want > 0));
			if (!free_ride)
				rc =
				    charge_budget(r, pdb, json_path_str(pod, "metadata.name"), err);
			json_decref(pdb);
			if (rc < 0)
				return rc;
		}
	}
	if (!r->dry_run)
		mark_disruption_target(pod);
	return 0;
}
