/* cronjob.c — the CronJob controller (kube 1.32's cronjob-controller v2): at each time the
 * schedule names (in spec.timeZone, else UTC) it creates a Job from spec.jobTemplate named
 * <cronjob>-<scheduled time in minutes since the epoch>, honouring concurrencyPolicy
 * (Allow, Forbid, Replace), startingDeadlineSeconds and suspend; it tracks running Jobs in
 * status.active, records lastScheduleTime and lastSuccessfulTime, and deletes finished
 * Jobs beyond successfulJobsHistoryLimit / failedJobsHistoryLimit.
 *
 * Missed runs: only the most recent missed time is started; with more than 100 missed the
 * controller warns (TooManyMissedTimes). Each sync ends by requeueing the key for the next
 * scheduled time plus 100 ms.
 * Not for: schedule syntax and time zones (cronspec.c, cronspec_tz.c) or running the Jobs
 * (job.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apiserver/client.h"
#include "base/hmap.h"
#include "base/json.h"
#include "base/log.h"
#include "base/util.h"
#include "controllers/controller-internal.h"
#include "controllers/cronspec.h"
#include "controllers/events.h"
#include "controllers/job-internal.h"

#define NAME      "cronjob-controller"
#define NS_PER_MS 1000000LL
#define NS_PER_S  1000000000LL
/* k8s: nextScheduleDelta: requeue 100 ms after the scheduled time (clock skew). */
#define NEXT_SCHEDULE_DELTA_NS (100 * NS_PER_MS)
#define SCHEDULED_ANNOTATION   "batch.kubernetes.io/cronjob-scheduled-timestamp"
#define MANY_MISSED            100

typedef struct seen_entry {
	char *key;
	char *schedule; /* "schedule\ntimeZone" last seen, to notice changes */
} seen_entry;

typedef struct cronjob_state {
	hmap seen;
} cronjob_state;

static const kind_desc *jobs_kind(void)
{
	return controller_kind("batch", "jobs");
}

static const kind_desc *cronjobs_kind(void)
{
	return controller_kind("batch", "cronjobs");
}

static int64_t time_of(json_t *v)
{
	int64_t t;
	const char *s = json_string_value(v);
	return s && time_parse_rfc3339(s, &t) == 0 ? t : 0;
}

static json_t *utc_time(int64_t secs)
{
	char ts[32];
	time_rfc3339(secs * NS_PER_S, false, ts);
	return json_string(ts);
}

/* ---------- schedule arithmetic ---------- */

enum missed { NONE_MISSED, FEW_MISSED, MANY_MISSED_TIMES };

typedef struct schedule {
	cronspec spec;
	cron_tz *tz;
} schedule;

/* cronspec_next from an instant in ns (robfig truncates to the second). */
static int64_t next_after(const schedule *s, int64_t t_ns)
{
	int64_t secs = t_ns >= 0 ? t_ns / NS_PER_S : -((-t_ns + NS_PER_S - 1) / NS_PER_S);
	return cronspec_next(&s->spec, s->tz, secs);
}

/* k8s: mostRecentScheduleTime: from the last schedule time (or the creation time, or the
 * starting deadline when later), the most recent scheduled time not after now, if any,
 * estimated by the interval between the next two times so long outages stay cheap.
 * Returns 0, or -1 for a schedule that cannot fire (two times less than 1 s apart). */
static int most_recent(json_t *cj, const schedule *s, int64_t now, bool with_deadline,
                       int64_t *earliest_out, int64_t *recent, enum missed *missed)
{
	int64_t earliest = time_of(json_path(cj, "metadata.creationTimestamp"));
	json_t *last = json_path(cj, "status.lastScheduleTime");
	if (json_is_string(last))
		earliest = time_of(last);
	json_t *sds = json_path(cj, "spec.startingDeadlineSeconds");
	if (with_deadline && json_is_integer(sds)) {
		int64_t deadline = now - json_integer_value(sds) * NS_PER_S;
		if (deadline > earliest)
			earliest = deadline;
	}
	*earliest_out = earliest;
	*recent = -1;
	*missed = NONE_MISSED;
	int64_t t1 = next_after(s, earliest);
	int64_t t2 = t1 < 0 ? -1 : cronspec_next(&s->spec, s->tz, t1);
	if (t1 >= 0 && now < t1 * NS_PER_S)
		return 0;
	if (t1 >= 0 && t2 >= 0 && now < t2 * NS_PER_S) {
		*recent = t1;
		return 0;
	}
	if (t1 < 0 || t2 < 0 || t2 - t1 < 1)
		return -1;
	int64_t between = t2 - t1;
	int64_t elapsed = (now - t1 * NS_PER_S) / NS_PER_S;
	int64_t n = elapsed / between + 1;
	int64_t from = t1 + (n - 2) * between;
	for (int64_t t = cronspec_next(&s->spec, s->tz, from); t >= 0 && t * NS_PER_S <= now;
	     t = cronspec_next(&s->spec, s->tz, t))
		*recent = t;
	*missed = n > MANY_MISSED ? MANY_MISSED_TIMES : n > 0 ? FEW_MISSED : NONE_MISSED;
	return 0;
}

/* k8s: nextScheduleTimeDuration: ms until the next scheduled time after the most recent
 * one (or after now, when runs were missed), plus 100 ms. */
static uint64_t next_requeue_ms(json_t *cj, const schedule *s, int64_t now)
{
	int64_t earliest, recent;
	enum missed missed;
	int64_t from;
	if (most_recent(cj, s, now, false, &earliest, &recent, &missed) < 0)
		from = now;
	else if (recent >= 0)
		from = recent * NS_PER_S;
	else
		from = missed == NONE_MISSED ? earliest : now;
	int64_t next = next_after(s, from);
	if (next < 0)
		return 24ULL * 3600 * 1000; /* never: look again tomorrow */
	int64_t d = next * NS_PER_S + NEXT_SCHEDULE_DELTA_NS - now;
	return d > 0 ? (uint64_t)(d / NS_PER_MS) + 1 : 1;
}

/* Parses the CronJob's schedule in its zone; records kube's warning events. */
static int load_schedule(controller *c, json_t *cj, schedule *s, bool events)
{
	const char *sched = json_path_str(cj, "spec.schedule");
	const char *zone_name = json_path_str(cj, "spec.timeZone");
	char err[256];
	memset(s, 0, sizeof *s);
	if (!sched)
		sched = "";
	if (zone_name) {
		s->tz = cron_tz_load(zone_name, err, sizeof err);
		if (!s->tz) {
			if (events)
				event_record(c->srv, NAME, cj, "Warning", "UnknownTimeZone",
				             "invalid timeZone: \"%s\": %s", zone_name, err);
			return -1;
		}
	}
	if (strstr(sched, "TZ") && events)
		event_record(
		    c->srv, NAME, cj, "Warning", "UnsupportedSchedule",
		    "CRON_TZ or TZ used in schedule \"%s\" is not officially supported, see "
		    "https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for "
		    "more details",
		    sched);
	if (cronspec_parse(sched, &s->spec, err, sizeof err) < 0) {
		if (events)
			event_record(c->srv, NAME, cj, "Warning", "UnparseableSchedule",
			             "unparseable schedule: \"%s\" : %s", sched, err);
		cron_tz_free(s->tz);
		s->tz = NULL;
		return -1;
	}
	if (s->spec.tz[0]) {
		/* a TZ= prefix in the schedule names the zone */
		cron_tz_free(s->tz);
		s->tz = cron_tz_load(s->spec.tz, err, sizeof err);
		if (!s->tz) {
			if (events)
				event_record(
				    c->srv, NAME, cj, "Warning", "UnparseableSchedule",
				    "unparseable schedule: \"%s\" : provided bad location %s: %s",
				    sched, s->spec.tz, err);
			return -1;
		}
	}
	return 0;
}

/* ---------- status helpers ---------- */

static json_t *active_list(json_t *cj)
{
	json_t *st = json_obj_child(cj, "status");
	json_t *a = json_object_get(st, "active");
	if (!json_is_array(a)) {
		a = json_array();
		json_object_set_new(st, "active", a);
	}
	return a;
}

static bool in_active(json_t *cj, const char *uid, const char *name)
{
	size_t i;
	json_t *r;
	json_array_foreach(json_path(cj, "status.active"), i, r)
	{
		if ((uid && str_eq(json_string_value(json_object_get(r, "uid")), uid)) ||
		    (name && str_eq(json_string_value(json_object_get(r, "name")), name)))
			return true;
	}
	return false;
}

static void drop_active(json_t *cj, const char *uid)
{
	json_t *a = active_list(cj);
	for (size_t i = 0; i < json_array_size(a);) {
		if (str_eq(json_string_value(json_object_get(json_array_get(a, i), "uid")), uid))
			json_array_remove(a, i);
		else
			i++;
	}
}

static json_t *object_ref(json_t *job)
{
	return json_pack("{s:s, s:O, s:O, s:O, s:s, s:O}", "kind", "Job", "namespace",
	                 json_path(job, "metadata.namespace"), "name",
	                 json_path(job, "metadata.name"), "uid", json_path(job, "metadata.uid"),
	                 "apiVersion", "batch/v1", "resourceVersion",
	                 json_path(job, "metadata.resourceVersion"));
}

/* kube's CronJobStatus: active (omitted when empty), lastScheduleTime,
 * lastSuccessfulTime. */
static int write_status(controller *c, json_t *cj)
{
	json_t *st = json_object_get(cj, "status");
	json_t *out = json_object();
	json_t *v;
	if (json_array_size(v = json_object_get(st, "active")))
		json_object_set(out, "active", v);
	if (json_is_string(v = json_object_get(st, "lastScheduleTime")))
		json_object_set(out, "lastScheduleTime", v);
	if (json_is_string(v = json_object_get(st, "lastSuccessfulTime")))
		json_object_set(out, "lastSuccessfulTime", v);
	json_object_set_new(cj, "status", out);
	const char *ns = json_path_str(cj, "metadata.namespace");
	const char *name = json_path_str(cj, "metadata.name");
	json_t *cur = controller_get(c, cronjobs_kind(), ns, name);
	if (!cur)
		return -1;
	if (json_equal(json_object_get(cur, "status"), out)) {
		json_decref(cur);
		return 0;
	}
	json_object_set(json_obj_child(cj, "metadata"), "resourceVersion",
	                json_path(cur, "metadata.resourceVersion"));
	json_decref(cur);
	client_update(c->srv, NAME, cronjobs_kind(), cj, "status", NULL, NULL);
	cur = controller_get(c, cronjobs_kind(), ns, name);
	int rc = cur && json_equal(json_object_get(cur, "status"), out) ? 0 : -1;
	json_decref(cur);
	return rc;
}

/* ---------- jobs ---------- */

/* A write's answer, kept alive for whichever of caller and callback comes last. */
typedef struct answer {
	int code;
	char *message;
	bool done, abandoned;
} answer;

static void on_answer(void *ud, int code, json_t *obj)
{
	answer *a = ud;
	if (a->abandoned) {
		free(a);
		return;
	}
	a->done = true;
	a->code = code;
	a->message = xstrdup(json_string_value(json_object_get(obj, "message")));
}

static void answer_release(answer *a)
{
	if (a->done) {
		free(a->message);
		free(a);
	} else {
		a->abandoned = true;
	}
}

/* k8s: deleteJob: the Job goes with background propagation; reported as an event. */
static bool delete_job(controller *c, json_t *cj, json_t *job)
{
	const char *ns = json_path_str(job, "metadata.namespace");
	const char *name = json_path_str(job, "metadata.name");
	json_t *opts = json_pack("{s:s, s:s, s:s}", "kind", "DeleteOptions", "apiVersion", "v1",
	                         "propagationPolicy", "Background");
	answer *a = xcalloc(1, sizeof *a);
	client_delete(c->srv, NAME, jobs_kind(), ns, name, opts, on_answer, a);
	json_decref(opts);
	json_t *now = controller_get(c, jobs_kind(), ns, name);
	bool ok = !now || json_path(now, "metadata.deletionTimestamp") ||
	          !str_eq(json_path_str(now, "metadata.uid"), json_path_str(job, "metadata.uid"));
	json_decref(now);
	if (!ok) {
		event_record(c->srv, NAME, cj, "Warning", "FailedDelete", "Deleted job: %s",
		             a->done && a->message ? a->message : "the job was not deleted");
		answer_release(a);
		return false;
	}
	answer_release(a);
	drop_active(cj, json_path_str(job, "metadata.uid"));
	event_record(c->srv, NAME, cj, "Normal", "SuccessfulDelete", "Deleted job %s", name);
	return true;
}

static const char *finished_type(json_t *job)
{
	const char *t = NULL;
	return job_is_finished(job, &t) ? t : NULL;
}

/* k8s: byJobStartTime: oldest first, Jobs that never started last, then by name. */
static int cmp_start(const void *a, const void *b)
{
	json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	int64_t tx = time_of(json_path(x, "status.startTime"));
	int64_t ty = time_of(json_path(y, "status.startTime"));
	if (!tx != !ty)
		return tx ? -1 : 1;
	if (tx != ty)
		return tx < ty ? -1 : 1;
	return strcmp(json_path_str(x, "metadata.name"), json_path_str(y, "metadata.name"));
}

/* k8s: cleanupFinishedJobs: keeps the newest finished Jobs of each outcome up to the
 * history limits. Returns true when the status changed. */
static bool cleanup_finished(controller *c, json_t *cj, json_t **jobs, size_t n)
{
	json_t *lim_ok = json_path(cj, "spec.successfulJobsHistoryLimit");
	json_t *lim_fail = json_path(cj, "spec.failedJobsHistoryLimit");
	if (!json_is_integer(lim_ok) && !json_is_integer(lim_fail))
		return false;
	json_t **ok = xcalloc(n ? n : 1, sizeof *ok), **failed = xcalloc(n ? n : 1, sizeof *failed);
	size_t nok = 0, nfailed = 0;
	for (size_t i = 0; i < n; i++) {
		const char *t = finished_type(jobs[i]);
		if (str_eq(t, "Complete"))
			ok[nok++] = jobs[i];
		else if (str_eq(t, "Failed"))
			failed[nfailed++] = jobs[i];
	}
	bool changed = false;
	struct {
		json_t *limit;
		json_t **list;
		size_t n;
	} groups[] = {{lim_ok, ok, nok}, {lim_fail, failed, nfailed}};
	for (size_t g = 0; g < 2; g++) {
		if (!json_is_integer(groups[g].limit))
			continue;
		json_int_t extra = (json_int_t)groups[g].n - json_integer_value(groups[g].limit);
		if (extra <= 0)
			continue;
		qsort(groups[g].list, groups[g].n, sizeof *groups[g].list, cmp_start);
		for (json_int_t i = 0; i < extra; i++)
			changed |= delete_job(c, cj, groups[g].list[i]);
	}
	free(ok);
	free(failed);
	return changed;
}

/* k8s: getJobFromTemplate2: the template's labels, annotations and spec, the scheduled
 * time as an annotation in the CronJob's zone, and the CronJob as controller. */
static json_t *job_from_template(json_t *cj, const schedule *s, int64_t scheduled)
{
	json_t *tmpl = json_path(cj, "spec.jobTemplate");
	json_t *meta = json_object();
	json_t *labels = json_clone(json_path(tmpl, "metadata.labels"));
	json_t *ann = json_clone(json_path(tmpl, "metadata.annotations"));
	if (!json_is_object(ann)) {
		json_decref(ann);
		ann = json_object();
	}
	char ts[32];
	cron_tz_rfc3339(s->tz, scheduled, ts);
	json_object_set_new(ann, SCHEDULED_ANNOTATION, json_string(ts));
	if (json_is_object(labels))
		json_object_set_new(meta, "labels", labels);
	else
		json_decref(labels);
	json_object_set_new(meta, "annotations", ann);
	char *name =
	    xasprintf("%s-%lld", json_path_str(cj, "metadata.name"), (long long)(scheduled / 60));
	json_object_set_new(meta, "name", json_string(name));
	free(name);
	json_object_set(meta, "namespace", json_path(cj, "metadata.namespace"));
	json_object_set_new(meta, "ownerReferences", json_pack("[o]", controller_owner_ref(cj)));
	json_t *spec = json_clone(json_object_get(tmpl, "spec"));
	if (!json_is_object(spec)) {
		json_decref(spec);
		spec = json_object();
	}
	return json_pack("{s:s, s:s, s:o, s:o}", "apiVersion", "batch/v1", "kind", "Job",
	                 "metadata", meta, "spec", spec);
}

static bool controlled_by(json_t *obj, json_t *owner)
{
	json_t *ref = controller_owner(obj);
	return ref && str_eq(json_string_value(json_object_get(ref, "uid")),
	                     json_path_str(owner, "metadata.uid"));
}

/* ---------- sync ---------- */

typedef struct sync_result {
	bool update;
	int64_t requeue_ms; /* -1: none */
	bool retry;
} sync_result;

static void sync_cronjob(controller *c, json_t *cj, json_t **jobs, size_t n, sync_result *r)
{
	int64_t now = time_now_ns();
	for (size_t i = 0; i < n; i++) {
		json_t *j = jobs[i];
		const char *uid = json_path_str(j, "metadata.uid");
		bool found = in_active(cj, uid, NULL);
		const char *fin = finished_type(j);
		if (!found && !fin) {
			event_record(c->srv, NAME, cj, "Warning", "UnexpectedJob",
			             "Saw a job that the controller did not create or forgot: %s",
			             json_path_str(j, "metadata.name"));
		} else if (found && fin) {
			drop_active(cj, uid);
			event_record(c->srv, NAME, cj, "Normal", "SawCompletedJob",
			             "Saw completed job: %s, status: %s",
			             json_path_str(j, "metadata.name"), fin);
			r->update = true;
		} else if (str_eq(fin, "Complete")) {
			/* k8s: a succeeded Job need not be active to move lastSuccessfulTime. */
			json_t *done = json_path(j, "status.completionTime");
			json_t *st = json_obj_child(cj, "status");
			json_t *last = json_object_get(st, "lastSuccessfulTime");
			if (json_is_string(done) &&
			    (!json_is_string(last) || time_of(done) > time_of(last))) {
				json_object_set(st, "lastSuccessfulTime", done);
				r->update = true;
			}
		}
	}
	/* k8s: an active Job that no longer exists leaves the list (MissingJob). */
	json_t *active = active_list(cj);
	for (size_t i = 0; i < json_array_size(active);) {
		json_t *ref = json_array_get(active, i);
		const char *uid = json_string_value(json_object_get(ref, "uid"));
		bool child = false;
		for (size_t k = 0; k < n && !child; k++)
			child = str_eq(json_path_str(jobs[k], "metadata.uid"), uid);
		json_t *j =
		    child ? NULL
		          : controller_get(c, jobs_kind(),
		                           json_string_value(json_object_get(ref, "namespace")),
		                           json_string_value(json_object_get(ref, "name")));
		if (!child && !j) {
			event_record(c->srv, NAME, cj, "Normal", "MissingJob",
			             "Active job went missing: %s",
			             json_string_value(json_object_get(ref, "name")));
			json_array_remove(active, i);
			r->update = true;
			continue;
		}
		json_decref(j);
		i++;
	}
	if (json_path(cj, "metadata.deletionTimestamp"))
		return;
	schedule s;
	if (load_schedule(c, cj, &s, true) < 0)
		return;
	if (json_is_true(json_path(cj, "spec.suspend"))) {
		cron_tz_free(s.tz);
		return;
	}
	int64_t earliest, recent;
	enum missed missed;
	int err = most_recent(cj, &s, now, true, &earliest, &recent, &missed);
	if (recent >= 0 && missed == MANY_MISSED_TIMES)
		event_record(
		    c->srv, NAME, cj, "Warning", "TooManyMissedTimes",
		    "too many missed start times. Set or decrease .spec.startingDeadlineSeconds "
		    "or check clock skew");
	if (recent < 0 && err < 0) {
		event_record(c->srv, NAME, cj, "Warning", "InvalidSchedule",
		             "invalid schedule: %s : time difference between two schedules is less "
		             "than 1 second",
		             json_path_str(cj, "spec.schedule"));
		cron_tz_free(s.tz);
		return;
	}
	r->requeue_ms = (int64_t)next_requeue_ms(cj, &s, now);
	if (recent < 0) {
		cron_tz_free(s.tz);
		return;
	}
	json_t *sds = json_path(cj, "spec.startingDeadlineSeconds");
	if (json_is_integer(sds) && (recent + json_integer_value(sds)) * NS_PER_S < now) {
		/* k8s: too late to start: reported, never started. */
		char when[64];
		time_t t = (time_t)recent;
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(when, sizeof when, "%a, %d %b %Y %H:%M:%S +0000", &tm);
		event_record(c->srv, NAME, cj, "Warning", "MissSchedule",
		             "Missed scheduled time to start a job: %s", when);
		cron_tz_free(s.tz);
		return;
	}
	char *jname =
	    xasprintf("%s-%lld", json_path_str(cj, "metadata.name"), (long long)(recent / 60));
	bool processed = in_active(cj, NULL, jname) ||
	                 time_of(json_path(cj, "status.lastScheduleTime")) == recent * NS_PER_S;
	if (processed) {
		free(jname);
		cron_tz_free(s.tz);
		return;
	}
	const char *policy = json_path_str(cj, "spec.concurrencyPolicy");
	if (str_eq(policy, "Forbid") && json_array_size(active) > 0) {
		event_record(c->srv, NAME, cj, "Normal", "JobAlreadyActive",
		             "Not starting job because prior execution is running and concurrency "
		             "policy is Forbid");
		free(jname);
		cron_tz_free(s.tz);
		return;
	}
	if (str_eq(policy, "Replace")) {
		/* k8s: Replace deletes every active Job before starting the new one. */
		json_t *refs = json_clone(active);
		size_t i;
		json_t *ref;
		json_array_foreach(refs, i, ref)
		{
			const char *rname = json_string_value(json_object_get(ref, "name"));
			json_t *j = controller_get(
			    c, jobs_kind(), json_string_value(json_object_get(ref, "namespace")),
			    rname);
			bool ok = j && delete_job(c, cj, j);
			if (!j)
				event_record(c->srv, NAME, cj, "Warning", "FailedGet",
				             "Get job: jobs.batch \"%s\" not found", rname);
			json_decref(j);
			if (!ok) {
				json_decref(refs);
				r->retry = true;
				free(jname);
				cron_tz_free(s.tz);
				return;
			}
			drop_active(cj, json_string_value(json_object_get(ref, "uid")));
			r->update = true;
		}
		json_decref(refs);
	}
	const char *ns = json_path_str(cj, "metadata.namespace");
	json_t *existing = controller_get(c, jobs_kind(), ns, jname);
	json_t *created = NULL;
	if (existing) {
		/* k8s: AlreadyExists: ours but not in the list (a crash before the status
		 * write) is added back; someone else's is left alone. */
		if (!controlled_by(existing, cj) ||
		    in_active(cj, json_path_str(existing, "metadata.uid"), NULL)) {
			json_decref(existing);
			free(jname);
			cron_tz_free(s.tz);
			return;
		}
		created = existing;
	} else {
		json_t *job = job_from_template(cj, &s, recent);
		answer *a = xcalloc(1, sizeof *a);
		client_create(c->srv, NAME, jobs_kind(), ns, job, on_answer, a);
		json_decref(job);
		created = controller_get(c, jobs_kind(), ns, jname);
		if (!created) {
			event_record(
			    c->srv, NAME, cj, "Warning", "FailedCreate", "Error creating job: %s",
			    a->done && a->message ? a->message : "the job was not created");
			answer_release(a);
			r->retry = true;
			free(jname);
			cron_tz_free(s.tz);
			return;
		}
		answer_release(a);
		event_record(c->srv, NAME, cj, "Normal", "SuccessfulCreate", "Created job %s",
		             jname);
	}
	json_array_append_new(active_list(cj), object_ref(created));
	json_object_set_new(json_obj_child(cj, "status"), "lastScheduleTime", utc_time(recent));
	r->update = true;
	json_decref(created);
	free(jname);
	cron_tz_free(s.tz);
}

static int reconcile(controller *c, const char *key)
{
	_cleanup_free_ char *ns = NULL, *name = NULL;
	controller_split_key(key, &ns, &name);
	json_t *cj = controller_get(c, cronjobs_kind(), ns, name);
	if (!cj)
		return RECONCILE_DONE;
	json_t **all;
	size_t nall = controller_list(c, jobs_kind(), ns, &all);
	json_t **jobs = xcalloc(nall ? nall : 1, sizeof *jobs);
	size_t n = 0;
	for (size_t i = 0; i < nall; i++) {
		/* k8s: every Job whose controller reference names this CronJob. */
		json_t *ref = controller_owner(all[i]);
		if (ref && str_eq(json_string_value(json_object_get(ref, "kind")), "CronJob") &&
		    str_eq(json_string_value(json_object_get(ref, "name")), name))
			jobs[n++] = all[i];
	}
	sync_result r = {.requeue_ms = -1};
	bool cleaned = cleanup_finished(c, cj, jobs, n);
	sync_cronjob(c, cj, jobs, n, &r);
	int rc = RECONCILE_DONE;
	if ((cleaned || r.update) && write_status(c, cj) < 0)
		rc = RECONCILE_RETRY;
	if (r.retry)
		rc = RECONCILE_RETRY;
	else if (r.requeue_ms >= 0)
		controller_enqueue_after(c, key, (uint64_t)r.requeue_ms);
	free(jobs);
	controller_list_free(all, nall);
	json_decref(cj);
	return rc;
}

/* k8s: updateCronJob: a changed schedule or zone waits for its next time; other changes
 * sync now. */
static void on_cronjob(controller *c, const kind_desc *d, const cache_event *ev)
{
	UNUSED(d);
	cronjob_state *st = c->state;
	json_t *cj = cache_event_obj(ev);
	if (!cj)
		return;
	char *key = controller_key_of(cj);
	const char *tz = json_path_str(cj, "spec.timeZone");
	char *sched = xasprintf(
	    "%s\n%s", json_path_str(cj, "spec.schedule") ? json_path_str(cj, "spec.schedule") : "",
	    tz ? tz : "\x01");
	seen_entry *e = hmap_get(&st->seen, key);
	if (ev->type == STORE_DELETED) {
		if (e) {
			hmap_del(&st->seen, key);
			free(e->key);
			free(e->schedule);
			free(e);
		}
		free(sched);
		controller_enqueue(c, key);
	} else if (e && !str_eq(e->schedule, sched)) {
		free(e->schedule);
		e->schedule = sched;
		schedule s;
		if (load_schedule(c, cj, &s, false) == 0) {
			controller_enqueue_after(c, key, next_requeue_ms(cj, &s, time_now_ns()));
			cron_tz_free(s.tz);
		}
	} else {
		if (!e) {
			e = xcalloc(1, sizeof *e);
			e->key = xstrdup(key);
			e->schedule = sched;
			hmap_put(&st->seen, e->key, e);
		} else {
			free(sched);
		}
		controller_enqueue(c, key);
	}
	free(key);
}

static void on_job(controller *c, const kind_desc *d, const cache_event *ev)
{
	UNUSED(d);
	json_t *job = cache_event_obj(ev);
	json_t *ref = controller_owner(job);
	if (ref && str_eq(json_string_value(json_object_get(ref, "kind")), "CronJob")) {
		char *key = xasprintf("%s/%s", json_path_str(job, "metadata.namespace"),
		                      json_string_value(json_object_get(ref, "name")));
		controller_enqueue(c, key);
		free(key);
	}
}

static void start(controller *c)
{
	c->state = xcalloc(1, sizeof(cronjob_state));
}

static void stop(controller *c)
{
	cronjob_state *st = c->state;
	if (!st)
		return;
	size_t it = 0;
	const char *k;
	void *v;
	while (hmap_next(&st->seen, &it, &k, &v)) {
		seen_entry *e = v;
		free(e->key);
		free(e->schedule);
		free(e);
	}
	hmap_free(&st->seen);
	free(st);
	c->state = NULL;
}

const controller_def cronjob_controller = {
    .name = NAME,
    .watches = {{.group = "batch", .resource = "cronjobs", .on_event = on_cronjob},
                {.group = "batch", .resource = "jobs", .on_event = on_job}},
    .reconcile = reconcile,
    .start = start,
    .stop = stop,
};
CONTROLLER_REGISTER(cronjob_controller);
