/* deployment_util.c — the Deployment controller's pure rules over JSON trees: the
 * pod-template hash and template equality, maxSurge/maxUnavailable arithmetic, the
 * annotations a Deployment keeps on its ReplicaSets, conditions, status arithmetic,
 * proportional shares and the orderings kube sorts ReplicaSets by.
 * Not for: reading the cache or writing objects (deployment.c, deployment_rollout.c).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/util.h"
#include "controllers/deployment-internal.h"

/* ---------- hash and template equality ---------- */

void deployment_safe_encode(const char *s, char *out)
{
	/* k8s: the alphabet has no vowels and no 0, 1, 3 so names never spell words. */
	static const char alphanums[] = "bcdfghjklmnpqrstvwxz2456789";
	size_t i = 0;
	for (; s[i]; i++)
		out[i] = alphanums[(unsigned char)s[i] % (sizeof alphanums - 1)];
	out[i] = '\0';
}

/* Drops null members and array items recursively (Go's nil fields). */
static void drop_nulls(json_t *j)
{
	if (json_is_object(j)) {
		const char *k;
		json_t *v;
		void *tmp;
		json_object_foreach_safe(j, tmp, k, v)
		{
			if (json_is_null(v))
				json_object_del(j, k);
			else
				drop_nulls(v);
		}
	} else if (json_is_array(j)) {
		for (size_t i = json_array_size(j); i-- > 0;) {
			json_t *v = json_array_get(j, i);
			if (json_is_null(v))
				json_array_remove(j, i);
			else
				drop_nulls(v);
		}
	}
}

/* A copy of tmpl without nulls, the hash label, or empty label/annotation maps. */
static json_t *normalized_template(json_t *tmpl)
{
	json_t *t = json_is_object(tmpl) ? json_clone(tmpl) : json_object();
	drop_nulls(t);
	json_t *meta = json_object_get(t, "metadata");
	if (json_is_object(meta)) {
		json_t *labels = json_object_get(meta, "labels");
		json_object_del(labels, DEP_HASH_LABEL);
		if (json_is_object(labels) && !json_object_size(labels))
			json_object_del(meta, "labels");
		json_t *ann = json_object_get(meta, "annotations");
		if (json_is_object(ann) && !json_object_size(ann))
			json_object_del(meta, "annotations");
		if (!json_object_size(meta))
			json_object_del(t, "metadata");
	}
	return t;
}

char *deployment_template_hash(json_t *tmpl, json_t *collision_count)
{
	/* k8s: controller.ComputeHash is FNV-32a over the template (kube hashes the Go struct's
	 * dump; timon hashes canonical JSON, so names differ from a real cluster's but are
	 * stable and spelled alike), then collisionCount as 8 little-endian bytes. */
	json_t *t = normalized_template(tmpl);
	_cleanup_free_ char *s = json_dumps(t, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(t);
	uint32_t h = 2166136261u;
	for (const char *p = s; p && *p; p++) {
		h ^= (unsigned char)*p;
		h *= 16777619u;
	}
	if (json_is_integer(collision_count)) {
		uint32_t cc = (uint32_t)json_integer_value(collision_count);
		unsigned char b[8] = {(unsigned char)cc,
		                      (unsigned char)(cc >> 8),
		                      (unsigned char)(cc >> 16),
		                      (unsigned char)(cc >> 24),
		                      0,
		                      0,
		                      0,
		                      0};
		for (size_t i = 0; i < sizeof b; i++) {
			h ^= b[i];
			h *= 16777619u;
		}
	}
	char dec[16], out[16];
	snprintf(dec, sizeof dec, "%u", h);
	deployment_safe_encode(dec, out);
	return xstrdup(out);
}

bool deployment_template_equal(json_t *a, json_t *b)
{
	/* k8s: EqualIgnoreHash: semantic equality once pod-template-hash is removed. */
	json_t *na = normalized_template(a), *nb = normalized_template(b);
	bool eq = json_equal(na, nb);
	json_decref(na);
	json_decref(nb);
	return eq;
}

/* ---------- replica arithmetic ---------- */

int deployment_scaled_value(json_t *v, int total, bool round_up, int *out)
{
	if (json_is_integer(v)) {
		*out = (int)json_integer_value(v);
		return 0;
	}
	const char *s = json_string_value(v);
	if (!s || !str_has_suffix(s, "%"))
		return -1;
	char *end;
	errno = 0;
	long pct = strtol(s, &end, 10);
	if (errno || end == s || *end != '%' || end[1])
		return -1;
	/* k8s: a percentage of total, rounded up for maxSurge and down for maxUnavailable. */
	double x = (double)pct * (double)total / 100.0;
	*out = (int)(round_up ? ceil(x) : floor(x));
	return 0;
}

int deployment_spec_replicas(json_t *obj)
{
	json_t *r = json_path(obj, "spec.replicas");
	return json_is_integer(r) ? (int)json_integer_value(r) : 1;
}

int deployment_status_int(json_t *obj, const char *field)
{
	return obj ? (int)json_integer_value(json_object_get(json_object_get(obj, "status"), field))
	           : 0;
}

bool deployment_is_rolling(json_t *d)
{
	return str_eq(json_path_str(d, "spec.strategy.type"), "RollingUpdate");
}

static void fenceposts(json_t *d, int *surge, int *unavailable)
{
	int desired = deployment_spec_replicas(d);
	json_t *ru = json_path(d, "spec.strategy.rollingUpdate");
	*surge = 0;
	*unavailable = 0;
	if (deployment_scaled_value(json_object_get(ru, "maxSurge"), desired, true, surge) < 0)
		*surge = 0;
	if (deployment_scaled_value(json_object_get(ru, "maxUnavailable"), desired, false,
	                            unavailable) < 0)
		*unavailable = 0;
	/* k8s: both zero would deadlock a rollout, so maxUnavailable becomes 1. */
	if (*surge == 0 && *unavailable == 0)
		*unavailable = 1;
}

int deployment_max_surge(json_t *d)
{
	if (!deployment_is_rolling(d))
		return 0;
	int surge, unavailable;
	fenceposts(d, &surge, &unavailable);
	return surge;
}

int deployment_max_unavailable(json_t *d)
{
	int desired = deployment_spec_replicas(d);
	if (!deployment_is_rolling(d) || desired == 0)
		return 0;
	int surge, unavailable;
	fenceposts(d, &surge, &unavailable);
	/* k8s: never more unavailable than the deployment has replicas. */
	return unavailable > desired ? desired : unavailable;
}

int deployment_new_rs_replicas(json_t *d, json_t *const *all, size_t n, json_t *new_rs)
{
	int desired = deployment_spec_replicas(d);
	int cur_new = deployment_spec_replicas(new_rs);
	if (!deployment_is_rolling(d))
		return desired; /* k8s: Recreate scales the new RS straight to spec.replicas. */
	int surge = 0;
	if (deployment_scaled_value(json_path(d, "spec.strategy.rollingUpdate.maxSurge"), desired,
	                            true, &surge) < 0)
		surge = 0;
	int current = 0;
	for (size_t i = 0; i < n; i++)
		if (all[i])
			current += deployment_spec_replicas(all[i]);
	/* k8s: grow the new RS by what maxSurge leaves room for, never past spec.replicas. */
	int max_total = desired + surge;
	if (current >= max_total)
		return cur_new;
	int up = max_total - current;
	if (up > desired - cur_new)
		up = desired - cur_new;
	return cur_new + up;
}

/* ---------- annotations ---------- */

static bool parse_int(const char *s, int64_t *out)
{
	if (!s || !*s)
		return false;
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

static const char *annotation(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(json_path(obj, "metadata.annotations"), key));
}

int64_t deployment_revision(json_t *obj)
{
	int64_t v;
	return parse_int(annotation(obj, DEP_ANN_REVISION), &v) ? v : 0;
}

static json_t *annotations_of(json_t *obj)
{
	json_t *meta = json_obj_child(obj, "metadata");
	return json_obj_child(meta, "annotations");
}

static bool skip_copy(const char *k)
{
	/* k8s: annotations a Deployment never copies onto its ReplicaSets. */
	static const char *const skip[] = {"kubectl.kubernetes.io/last-applied-configuration",
	                                   DEP_ANN_REVISION,
	                                   DEP_ANN_REVISION_HISTORY,
	                                   DEP_ANN_DESIRED,
	                                   DEP_ANN_MAX,
	                                   "deprecated.deployment.rollback.to"};
	for (size_t i = 0; i < ARRAY_SIZE(skip); i++)
		if (strcmp(k, skip[i]) == 0)
			return true;
	return false;
}

static bool set_annotation(json_t *obj, const char *key, const char *val)
{
	if (str_eq(annotation(obj, key), val))
		return false;
	json_object_set_new(annotations_of(obj), key, json_string(val));
	return true;
}

bool deployment_set_replicas_annotations(json_t *rs, int desired, int max)
{
	char a[16], b[16];
	snprintf(a, sizeof a, "%d", desired);
	snprintf(b, sizeof b, "%d", max);
	bool changed = set_annotation(rs, DEP_ANN_DESIRED, a);
	changed |= set_annotation(rs, DEP_ANN_MAX, b);
	return changed;
}

bool deployment_replicas_annotations_need_update(json_t *rs, int desired, int max)
{
	char a[16], b[16];
	snprintf(a, sizeof a, "%d", desired);
	snprintf(b, sizeof b, "%d", max);
	return !str_eq(annotation(rs, DEP_ANN_DESIRED), a) ||
	       !str_eq(annotation(rs, DEP_ANN_MAX), b);
}

static bool int_annotation(json_t *rs, const char *key, int *out)
{
	int64_t v;
	if (!parse_int(annotation(rs, key), &v) || v < INT32_MIN || v > INT32_MAX)
		return false;
	*out = (int)v;
	return true;
}

bool deployment_desired_annotation(json_t *rs, int *out)
{
	return int_annotation(rs, DEP_ANN_DESIRED, out);
}

bool deployment_max_annotation(json_t *rs, int *out)
{
	return int_annotation(rs, DEP_ANN_MAX, out);
}

bool deployment_set_revision(json_t *d, const char *revision)
{
	return set_annotation(d, DEP_ANN_REVISION, revision);
}

/* Appends old to the comma-separated history, dropping the oldest entries to stay within
 * limit characters; returns the new history (caller frees) or NULL when it cannot fit. */
static char *append_history(const char *history, const char *old, size_t limit)
{
	if (!history || !*history)
		return xstrdup(old);
	size_t total = strlen(history) + strlen(old) + 1;
	const char *start = history;
	while (total > limit && start) {
		const char *comma = strchr(start, ',');
		size_t len = comma ? (size_t)(comma - start) : strlen(start);
		total -= len + 1;
		start = comma ? comma + 1 : NULL;
	}
	if (total > limit)
		return NULL;
	if (!start || !*start)
		return xstrdup(old);
	return xasprintf("%s,%s", start, old);
}

bool deployment_set_new_rs_annotations(json_t *d, json_t *rs, const char *new_revision, bool exists,
                                       size_t history_limit)
{
	bool changed = false;
	const char *k;
	json_t *v;
	json_object_foreach(json_path(d, "metadata.annotations"), k, v)
	{
		if (skip_copy(k) || !json_is_string(v))
			continue;
		changed |= set_annotation(rs, k, json_string_value(v));
	}
	const char *old = annotation(rs, DEP_ANN_REVISION);
	_cleanup_free_ char *old_copy = xstrdup(old);
	int64_t old_int = 0, new_int;
	if (old && !parse_int(old, &old_int)) {
		if (*old)
			return changed;
		old_int = 0;
	}
	if (!parse_int(new_revision, &new_int))
		return changed;
	if (old_int < new_int) {
		set_annotation(rs, DEP_ANN_REVISION, new_revision);
		changed = true;
		/* k8s: a set that gets a newer revision is being rolled back to, so its old
		 * revision is kept in revision-history. */
		if (old_copy) {
			char *h = append_history(annotation(rs, DEP_ANN_REVISION_HISTORY), old_copy,
			                         history_limit);
			if (h)
				set_annotation(rs, DEP_ANN_REVISION_HISTORY, h);
			free(h);
		}
	}
	if (!exists) {
		int desired = deployment_spec_replicas(d);
		changed |= deployment_set_replicas_annotations(rs, desired,
		                                               desired + deployment_max_surge(d));
	}
	return changed;
}

/* ---------- conditions ---------- */

json_t *deployment_condition(json_t *status, const char *type)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(status, "conditions"), i, c)
	{
		if (str_eq(json_string_value(json_object_get(c, "type")), type))
			return c;
	}
	return NULL;
}

json_t *deployment_new_condition(const char *type, const char *status, const char *reason,
                                 const char *message, int64_t now_ns)
{
	char now[32];
	time_rfc3339(now_ns, false, now);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "type", type, "status", status,
	                 "lastUpdateTime", now, "lastTransitionTime", now, "reason", reason,
	                 "message", message);
}

void deployment_remove_condition(json_t *status, const char *type)
{
	json_t *conds = json_object_get(status, "conditions");
	for (size_t i = json_array_size(conds); i-- > 0;) {
		json_t *c = json_array_get(conds, i);
		if (str_eq(json_string_value(json_object_get(c, "type")), type))
			json_array_remove(conds, i);
	}
	if (conds && !json_array_size(conds))
		json_object_del(status, "conditions");
}

static const char *cstr(json_t *c, const char *f)
{
	return json_string_value(json_object_get(c, f));
}

void deployment_set_condition(json_t *status, json_t *cond)
{
	json_t *cur = deployment_condition(status, cstr(cond, "type"));
	/* k8s: the same status and reason is no change at all. */
	if (cur && str_eq(cstr(cur, "status"), cstr(cond, "status")) &&
	    str_eq(cstr(cur, "reason"), cstr(cond, "reason"))) {
		json_decref(cond);
		return;
	}
	/* k8s: lastTransitionTime moves only when the status does. */
	if (cur && str_eq(cstr(cur, "status"), cstr(cond, "status")))
		json_object_set(cond, "lastTransitionTime",
		                json_object_get(cur, "lastTransitionTime"));
	deployment_remove_condition(status, cstr(cond, "type"));
	json_t *conds = json_object_get(status, "conditions");
	if (!json_is_array(conds)) {
		conds = json_array();
		json_object_set_new(status, "conditions", conds);
	}
	json_array_append_new(conds, cond);
}

/* ---------- status ---------- */

bool deployment_has_progress_deadline(json_t *d)
{
	json_t *p = json_path(d, "spec.progressDeadlineSeconds");
	/* k8s: MaxInt32 means "no deadline". */
	return json_is_integer(p) && json_integer_value(p) != INT32_MAX;
}

static int sint(json_t *status, const char *f)
{
	return (int)json_integer_value(json_object_get(status, f));
}

bool deployment_complete(json_t *d, json_t *status)
{
	int want = deployment_spec_replicas(d);
	return sint(status, "updatedReplicas") == want && sint(status, "replicas") == want &&
	       sint(status, "availableReplicas") == want &&
	       json_integer_value(json_object_get(status, "observedGeneration")) >=
	           json_integer_value(json_path(d, "metadata.generation"));
}

bool deployment_progressing(json_t *d, json_t *status)
{
	json_t *old = json_object_get(d, "status");
	int old_old = sint(old, "replicas") - sint(old, "updatedReplicas");
	int new_old = sint(status, "replicas") - sint(status, "updatedReplicas");
	/* k8s: progress is more updated, fewer old, more ready or more available replicas. */
	return sint(status, "updatedReplicas") > sint(old, "updatedReplicas") ||
	       new_old < old_old || sint(status, "readyReplicas") > sint(old, "readyReplicas") ||
	       sint(status, "availableReplicas") > sint(old, "availableReplicas");
}

bool deployment_timed_out(json_t *d, json_t *status, int64_t now_ns)
{
	if (!deployment_has_progress_deadline(d))
		return false;
	json_t *c = deployment_condition(status, "Progressing");
	if (!c || str_eq(cstr(c, "reason"), "NewReplicaSetAvailable"))
		return false;
	if (str_eq(cstr(c, "reason"), "ProgressDeadlineExceeded"))
		return true;
	int64_t from;
	if (!cstr(c, "lastUpdateTime") || time_parse_rfc3339(cstr(c, "lastUpdateTime"), &from) < 0)
		return false;
	int64_t deadline = json_integer_value(json_path(d, "spec.progressDeadlineSeconds"));
	return from + deadline * 1000000000LL < now_ns;
}

static void put_nonzero(json_t *st, const char *f, json_int_t v)
{
	/* k8s: zero counts are omitted (omitempty). */
	if (v)
		json_object_set_new(st, f, json_integer(v));
}

json_t *deployment_calculate_status(json_t *d, json_t *const *all, size_t n, json_t *new_rs,
                                    int64_t now_ns)
{
	int spec_total = 0, actual = 0, ready = 0, available = 0;
	for (size_t i = 0; i < n; i++) {
		if (!all[i])
			continue;
		spec_total += deployment_spec_replicas(all[i]);
		actual += deployment_status_int(all[i], "replicas");
		ready += deployment_status_int(all[i], "readyReplicas");
		available += deployment_status_int(all[i], "availableReplicas");
	}
	int unavailable = spec_total - available;
	if (unavailable < 0)
		unavailable = 0;
	json_t *st = json_object();
	put_nonzero(st, "observedGeneration",
	            json_integer_value(json_path(d, "metadata.generation")));
	put_nonzero(st, "replicas", actual);
	put_nonzero(st, "updatedReplicas", new_rs ? deployment_status_int(new_rs, "replicas") : 0);
	put_nonzero(st, "readyReplicas", ready);
	put_nonzero(st, "availableReplicas", available);
	put_nonzero(st, "unavailableReplicas", unavailable);
	json_t *conds = json_path(d, "status.conditions");
	if (json_is_array(conds) && json_array_size(conds))
		json_object_set_new(st, "conditions", json_clone(conds));
	json_t *cc = json_path(d, "status.collisionCount");
	if (json_is_integer(cc))
		json_object_set(st, "collisionCount", cc);
	/* k8s: Available once no more than maxUnavailable replicas are missing. */
	if (available >= deployment_spec_replicas(d) - deployment_max_unavailable(d))
		deployment_set_condition(
		    st, deployment_new_condition("Available", "True", "MinimumReplicasAvailable",
		                                 "Deployment has minimum availability.", now_ns));
	else
		deployment_set_condition(
		    st, deployment_new_condition("Available", "False", "MinimumReplicasUnavailable",
		                                 "Deployment does not have minimum availability.",
		                                 now_ns));
	/* Keep kube's field order: conditions then collisionCount. */
	if (json_is_integer(cc)) {
		json_t *keep = json_incref(json_object_get(st, "collisionCount"));
		json_object_del(st, "collisionCount");
		json_object_set_new(st, "collisionCount", keep);
	}
	return st;
}

int deployment_rs_proportion(json_t *rs, json_t *d, int to_add, int added)
{
	if (!rs)
		return 0;
	int size = deployment_spec_replicas(rs);
	if (size == 0 || to_add == 0 || to_add == added)
		return 0;
	int fraction;
	int desired = deployment_spec_replicas(d);
	if (desired == 0) {
		fraction = -size; /* k8s: scaling to zero takes the whole set. */
	} else {
		int max_now = desired + deployment_max_surge(d);
		int before;
		if (!deployment_max_annotation(rs, &before) || before == 0)
			before = deployment_status_int(d, "replicas");
		/* k8s: a set's share follows the ratio of the deployment's new to old size. */
		fraction = before ? (int)lround((double)size * max_now / before) - size : 0;
	}
	int allowed = to_add - added;
	if (to_add > 0)
		return fraction < allowed ? fraction : allowed;
	return fraction > allowed ? fraction : allowed;
}

/* ---------- orderings ---------- */

static int cmp_creation(json_t *a, json_t *b)
{
	const char *ta = json_path_str(a, "metadata.creationTimestamp");
	const char *tb = json_path_str(b, "metadata.creationTimestamp");
	int64_t na = 0, nb = 0;
	if (ta)
		time_parse_rfc3339(ta, &na);
	if (tb)
		time_parse_rfc3339(tb, &nb);
	if (na != nb)
		return na < nb ? -1 : 1;
	const char *ma = json_path_str(a, "metadata.name"), *mb = json_path_str(b, "metadata.name");
	return strcmp(ma ? ma : "", mb ? mb : "");
}

static int cmp_rs(const void *pa, const void *pb, void *arg)
{
	json_t *a = *(json_t *const *)pa, *b = *(json_t *const *)pb;
	enum deployment_rs_order order = *(enum deployment_rs_order *)arg;
	switch (order) {
	case RS_BY_CREATION:
		break;
	case RS_BY_SIZE_NEWER:
	case RS_BY_SIZE_OLDER: {
		int sa = deployment_spec_replicas(a), sb = deployment_spec_replicas(b);
		if (sa != sb)
			return sa > sb ? -1 : 1;
		return order == RS_BY_SIZE_NEWER ? cmp_creation(b, a) : cmp_creation(a, b);
	}
	case RS_BY_REVISION: {
		int64_t ra = deployment_revision(a), rb = deployment_revision(b);
		if (ra != rb)
			return ra < rb ? -1 : 1;
		break;
	}
	}
	return cmp_creation(a, b);
}

void deployment_sort_rs(json_t **rss, size_t n, enum deployment_rs_order order)
{
	qsort_r(rss, n, sizeof *rss, cmp_rs, &order);
}
