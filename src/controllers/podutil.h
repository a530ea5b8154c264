/* podutil.h — pod facts controllers share: active, ready, available, deletion order,
 * mapping a pod event to its controlling owner's key, and the slow start of pod creation. */
#ifndef TIMON_CONTROLLERS_PODUTIL_H
#define TIMON_CONTROLLERS_PODUTIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "controllers/controller.h"

/* Not terminating and not finished (Succeeded/Failed). */
bool pod_is_active(json_t *pod);
/* The Ready condition is True. */
bool pod_is_ready(json_t *pod);
/* Ready for at least min_ready_seconds. */
bool pod_is_available(json_t *pod, int64_t min_ready_seconds, int64_t now_ns);
/* Milliseconds until a ready pod becomes available (ready for min_ready_seconds), or -1
 * when it is not ready or already available. */
int64_t pod_available_in_ms(json_t *pod, int64_t min_ready_seconds, int64_t now_ns);
/* Sorts pods so the ones to delete first come first (unscheduled, pending, not ready,
 * most restarts, newest). */
void pod_sort_for_deletion(json_t **pods, size_t n);
/* Enqueues "ns/owner" when the event's object (any kind) is controlled by an owner of
 * kind `owner_kind`. */
void enqueue_controller_owner(controller *c, const cache_event *ev, const char *owner_kind);

/* k8s: slowStartBatch: creates go in batches of 1, 2, 4, ...; every create of a batch is
 * tried, and a refusal ends the creating once its batch is through, so an owner the
 * namespace's quota (or any admission) refuses costs one refused create per sync, not a
 * burst of them. Start with {.batch = 1}; for each create while slow_start_more, report
 * its outcome to slow_start_done. */
typedef struct slow_start {
	int batch, done_in_batch;
	bool refused, refused_in_batch;
} slow_start;

static inline bool slow_start_more(const slow_start *st)
{
	return !st->refused;
}

/* Counts one create (ok: it went in); returns 1 for one that went in, else 0. */
int slow_start_done(slow_start *st, bool ok);

/* Whether any create was refused. */
static inline bool slow_start_refused(const slow_start *st)
{
	return st->refused || st->refused_in_batch;
}

#endif
