/* probe_tracker.c — a probe's timing and thresholds as a pure state machine: when the next
 * attempt is due and when consecutive results flip the overall result. The caller owns
 * the clock and the attempts (probe.c runs them).
 * Not for: running probes (probe.c, probe_http.c). */
#include "agent/probe.h"

#include <string.h>

#define NS_PER_S 1000000000LL

/* k8s: a probe field that is absent or 0 takes its default (the API server defaults
 * them, but a pod written before defaulting or by a test may lack them). */
static int64_t field(json_t *probe, const char *name, int64_t dflt, int64_t min)
{
	json_t *v = json_object_get(probe, name);
	int64_t n = json_is_integer(v) ? json_integer_value(v) : 0;
	if (n <= 0)
		n = dflt;
	return n < min ? min : n;
}

void probe_tracker_init(probe_tracker *t, json_t *probe, bool initial_ok, int64_t started_ns)
{
	memset(t, 0, sizeof *t);
	json_t *d = json_object_get(probe, "initialDelaySeconds");
	int64_t delay = json_is_integer(d) ? json_integer_value(d) : 0;
	t->initial_delay_ns = (delay > 0 ? delay : 0) * NS_PER_S;
	t->period_ns = field(probe, "periodSeconds", 10, 1) * NS_PER_S;
	t->success_threshold = (int)field(probe, "successThreshold", 1, 1);
	t->failure_threshold = (int)field(probe, "failureThreshold", 3, 1);
	t->started_ns = started_ns;
	t->ok = initial_ok;
}

int64_t probe_tracker_next_ns(const probe_tracker *t)
{
	if (t->attempts == 0)
		return t->started_ns + t->initial_delay_ns;
	return t->last_ns + t->period_ns;
}

bool probe_tracker_due(const probe_tracker *t, int64_t now_ns)
{
	return now_ns >= probe_tracker_next_ns(t);
}

bool probe_tracker_record(probe_tracker *t, probe_result r, int64_t now_ns)
{
	t->last_ns = now_ns;
	t->attempts++;
	switch (r) {
	case PROBE_SUCCESS:
		t->failures = 0;
		if (t->successes < t->success_threshold)
			t->successes++;
		if (!t->ok && t->successes >= t->success_threshold) {
			t->ok = true;
			return true;
		}
		return false;
	case PROBE_FAILURE:
		t->successes = 0;
		if (t->failures < t->failure_threshold)
			t->failures++;
		if (t->ok && t->failures >= t->failure_threshold) {
			t->ok = false;
			return true;
		}
		return false;
	case PROBE_ERROR:
		/* k8s: an errored probe's result is thrown away; the streaks stay. */
		return false;
	}
	return false;
}

bool probe_tracker_ok(const probe_tracker *t)
{
	return t->ok;
}
