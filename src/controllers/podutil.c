/* podutil.c — shared pod predicates and owner mapping for controllers. */
#include "controllers/podutil.h"

#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/util.h"

bool pod_is_active(json_t *pod)
{
	const char *phase = json_path_str(pod, "status.phase");
	return !json_path(pod, "metadata.deletionTimestamp") && !str_eq(phase, "Succeeded") &&
	       !str_eq(phase, "Failed");
}

static json_t *ready_condition(json_t *pod)
{
	size_t i;
	json_t *cnd;
	json_array_foreach(json_path(pod, "status.conditions"), i, cnd) {
		if (str_eq(json_string_value(json_object_get(cnd, "type")), "Ready"))
			return cnd;
	}
	return NULL;
}

bool pod_is_ready(json_t *pod)
{
	json_t *cnd = ready_condition(pod);
	return cnd && str_eq(json_string_value(json_object_get(cnd, "status")), "True");
}

bool pod_is_available(json_t *pod, int64_t min_ready_seconds, int64_t now_ns)
{
	json_t *cnd = ready_condition(pod);
	if (!cnd || !str_eq(json_string_value(json_object_get(cnd, "status")), "True"))
		return false;
	if (min_ready_seconds <= 0)
		return true;
	int64_t since;
	const char *t = json_string_value(json_object_get(cnd, "lastTransitionTime"));
	if (!t || time_parse_rfc3339(t, &since) < 0)
		return false;
	return now_ns - since >= min_ready_seconds * 1000000000LL;
}

int64_t pod_available_in_ms(json_t *pod, int64_t min_ready_seconds, int64_t now_ns)
{
	json_t *cnd = ready_condition(pod);
	if (!cnd || !str_eq(json_string_value(json_object_get(cnd, "status")), "True") ||
	    min_ready_seconds <= 0)
		return -1;
	int64_t since;
	const char *t = json_string_value(json_object_get(cnd, "lastTransitionTime"));
	if (!t || time_parse_rfc3339(t, &since) < 0)
		return -1;
	int64_t left = since + min_ready_seconds * 1000000000LL - now_ns;
	return left > 0 ? (left + 999999) / 1000000 : -1;
}

static int rank(json_t *p)
{
	/* k8s: unassigned < assigned, Pending < Unknown < Running, not ready < ready. */
	const char *node = json_path_str(p, "spec.nodeName");
	const char *phase = json_path_str(p, "status.phase");
	int r = 0;
	if (node && *node)
		r += 4;
	if (str_eq(phase, "Running"))
		r += 2;
	if (pod_is_ready(p))
		r += 1;
	return r;
}

static int cmp_deletion(const void *a, const void *b)
{
	json_t *pa = *(json_t *const *)a, *pb = *(json_t *const *)b;
	int ra = rank(pa), rb = rank(pb);
	if (ra != rb)
		return ra - rb;
	/* Newer pods go first. */
	const char *ta = json_path_str(pa, "metadata.creationTimestamp");
	const char *tb = json_path_str(pb, "metadata.creationTimestamp");
	int c = strcmp(tb ? tb : "", ta ? ta : "");
	if (c)
		return c;
	return strcmp(json_path_str(pb, "metadata.name") ? json_path_str(pb, "metadata.name") : "",
	              json_path_str(pa, "metadata.name") ? json_path_str(pa, "metadata.name") : "");
}

void pod_sort_for_deletion(json_t **pods, size_t n)
{
	qsort(pods, n, sizeof *pods, cmp_deletion);
}

void enqueue_controller_owner(controller *c, const cache_event *ev, const char *owner_kind)
{
	if (!controller_may_have_owner(ev))
		return;
	json_t *o = cache_event_obj(ev);
	json_t *owner = controller_owner(o);
	if (owner && str_eq(json_string_value(json_object_get(owner, "kind")), owner_kind)) {
		const char *ns = json_path_str(o, "metadata.namespace");
		const char *name = json_string_value(json_object_get(owner, "name"));
		char *key = ns ? xasprintf("%s/%s", ns, name) : xstrdup(name);
		controller_enqueue(c, key);
		free(key);
	}
}

int slow_start_done(slow_start *st, bool ok)
{
	st->refused_in_batch |= !ok;
	if (++st->done_in_batch == st->batch) {
		st->refused = st->refused_in_batch;
		st->batch *= 2;
		st->done_in_batch = 0;
	}
	return ok ? 1 : 0;
}
