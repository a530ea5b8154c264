/* job_ttl.c — the TTL-after-finished controller (kube's ttl-after-finished-controller):
 * a Job with spec.ttlSecondsAfterFinished is deleted, with its pods (foreground
 * propagation), that many seconds after its Complete or Failed condition became True.
 * Not for: running Jobs (job.c) or CronJob history limits (cronjob.c).
 */
#include <stdlib.h>

#include "apiserver/client.h"
#include "base/json.h"
#include "base/util.h"
#include "controllers/controller-internal.h"
#include "controllers/job-internal.h"

#define NS_PER_MS 1000000LL
#define NS_PER_S  1000000000LL

static int reconcile(controller *c, const char *key)
{
	const kind_desc *jk = controller_kind("batch", "jobs");
	_cleanup_free_ char *ns = NULL, *name = NULL;
	controller_split_key(key, &ns, &name);
	json_t *job = controller_get(c, jk, ns, name);
	if (!job)
		return RECONCILE_DONE;
	json_t *ttl = json_path(job, "spec.ttlSecondsAfterFinished");
	const char *type = NULL;
	if (!json_is_integer(ttl) || json_path(job, "metadata.deletionTimestamp") ||
	    !job_is_finished(job, &type)) {
		json_decref(job);
		return RECONCILE_DONE;
	}
	/* k8s: the clock starts when the finished condition became True. */
	int64_t finished;
	const char *at =
	    json_string_value(json_object_get(job_condition(job, type), "lastTransitionTime"));
	if (!at || time_parse_rfc3339(at, &finished) < 0) {
		json_decref(job);
		return RECONCILE_DONE;
	}
	int64_t expire = finished + json_integer_value(ttl) * NS_PER_S;
	int64_t now = time_now_ns();
	if (now < expire) {
		controller_enqueue_after(c, key, (uint64_t)((expire - now) / NS_PER_MS + 1));
		json_decref(job);
		return RECONCILE_DONE;
	}
	/* k8s: deleted in the foreground, guarded by the uid so a newer Job of the same name
	 * survives. */
	json_t *opts = json_pack("{s:s, s:s, s:s, s:{s:O}}", "kind", "DeleteOptions", "apiVersion",
	                         "v1", "propagationPolicy", "Foreground", "preconditions", "uid",
	                         json_path(job, "metadata.uid"));
	client_delete(c->srv, c->def->name, jk, ns, name, opts, NULL, NULL);
	json_decref(opts);
	json_decref(job);
	return RECONCILE_DONE;
}

const controller_def ttl_after_finished_controller = {
    .name = "ttl-after-finished-controller",
    .watches = {{.group = "batch", .resource = "jobs"}},
    .reconcile = reconcile,
};
CONTROLLER_REGISTER(ttl_after_finished_controller);
