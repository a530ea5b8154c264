/* validate_batch.c — validation of batch/v1 Job and CronJob: counts and limits, the
 * generated selector, restartPolicy OnFailure/Never, completion modes, the cron schedule
 * (robfig/cron's standard syntax, with its error messages), and update immutability.
 *
 * Not for: pod spec internals (validate_pod.c) or selector generation (defaults).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/validate-internal.h"
#include "controllers/cronspec.h"
#include "base/util.h"

/* ---- cron schedules ----------------------------------------------------------------- */

typedef struct cron_field {
	int min, max;
	const char *const *names; /* 3-letter names for months / weekdays, or NULL */
} cron_field;

static const char *const months[] = {"jan", "feb", "mar", "apr", "may", "jun", "jul",
                                     "aug", "sep", "oct", "nov", "dec", NULL};
static const char *const days[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL};

/* Parses a number or a name; returns false with msg set. */
static bool cron_value(const char *s, size_t n, const cron_field *f, int *out, char *msg,
                       size_t msz)
{
	if (f->names && n == 3) {
		for (int i = 0; f->names[i]; i++)
			if (strncasecmp(s, f->names[i], 3) == 0) {
				*out = i + (f->min == 1 ? 1 : 0);
				return true;
			}
	}
	if (n == 0 || n > 9)
		goto bad;
	int x = 0;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			goto bad;
		x = x * 10 + (s[i] - '0');
	}
	*out = x;
	return true;
bad:
	snprintf(msg, msz, "failed to parse int from %.*s: strconv.Atoi: parsing \"%.*s\": "
	                   "invalid syntax",
	         (int)n, s, (int)n, s);
	return false;
}

/* k8s: robfig/cron getRange: a|a-b|*|?, then an optional /step. */
static bool cron_range(const char *s, size_t n, const cron_field *f, char *msg, size_t msz)
{
	const char *slash = memchr(s, '/', n);
	size_t rn = slash ? (size_t)(slash - s) : n;
	if (slash && memchr(slash + 1, '/', n - rn - 1)) {
		snprintf(msg, msz, "too many slashes: %.*s", (int)n, s);
		return false;
	}
	int lo, hi;
	if ((rn == 1 && (s[0] == '*' || s[0] == '?'))) {
		lo = f->min;
		hi = f->max;
	} else {
		const char *dash = memchr(s, '-', rn);
		if (dash && memchr(dash + 1, '-', rn - (size_t)(dash - s) - 1)) {
			snprintf(msg, msz, "too many hyphens: %.*s", (int)n, s);
			return false;
		}
		size_t an = dash ? (size_t)(dash - s) : rn;
		if (!cron_value(s, an, f, &lo, msg, msz))
			return false;
		hi = lo;
		if (dash && !cron_value(dash + 1, rn - an - 1, f, &hi, msg, msz))
			return false;
	}
	if (slash) {
		int step;
		if (!cron_value(slash + 1, n - rn - 1, f, &step, msg, msz))
			return false;
		if (step <= 0) {
			snprintf(msg, msz, "step of range should be a positive number: %.*s", (int)n, s);
			return false;
		}
	}
	if (lo < f->min) {
		snprintf(msg, msz, "beginning of range (%d) below minimum (%d): %.*s", lo, f->min,
		         (int)n, s);
		return false;
	}
	if (hi > f->max) {
		snprintf(msg, msz, "end of range (%d) above maximum (%d): %.*s", hi, f->max, (int)n, s);
		return false;
	}
	if (lo > hi) {
		snprintf(msg, msz, "beginning of range (%d) beyond end of range (%d): %.*s", lo, hi,
		         (int)n, s);
		return false;
	}
	return true;
}

/* Returns NULL when valid, else a message (static buffer per call site). */
static const char *cron_check(const char *spec, char *msg, size_t msz)
{
	static const cron_field fields[] = {
		{0, 59, NULL}, {0, 23, NULL}, {1, 31, NULL}, {1, 12, months}, {0, 6, days},
	};
	while (*spec == ' ' || *spec == '\t')
		spec++;
	if (!*spec) {
		snprintf(msg, msz, "empty spec string");
		return msg;
	}
	if (str_has_prefix(spec, "TZ=") || str_has_prefix(spec, "CRON_TZ=")) {
		snprintf(msg, msz, "cannot use TZ or CRON_TZ in schedule, use timeZone field instead");
		return msg;
	}
	if (spec[0] == '@') {
		static const char *const descriptors[] = {"@yearly", "@annually", "@monthly",
		                                          "@weekly", "@daily",    "@midnight",
		                                          "@hourly", NULL};
		if (v_in(spec, descriptors) || str_has_prefix(spec, "@every "))
			return NULL;
		snprintf(msg, msz, "unrecognized descriptor: %s", spec);
		return msg;
	}
	const char *starts[16];
	size_t lens[16];
	int nf = 0;
	for (const char *p = spec; *p;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		const char *q = p;
		while (*q && *q != ' ' && *q != '\t')
			q++;
		if (nf < 16) {
			starts[nf] = p;
			lens[nf] = (size_t)(q - p);
		}
		nf++;
		p = q;
	}
	if (nf != 5) {
		_cleanup_buf_ buf b = {0};
		for (int i = 0; i < nf && i < 16; i++)
			buf_printf(&b, "%s%.*s", i ? " " : "", (int)lens[i], starts[i]);
		snprintf(msg, msz, "expected exactly 5 fields, found %d: [%s]", nf, b.p ? b.p : "");
		return msg;
	}
	for (int i = 0; i < 5; i++) {
		const char *s = starts[i];
		size_t n = lens[i];
		while (n > 0) {
			const char *comma = memchr(s, ',', n);
			size_t pn = comma ? (size_t)(comma - s) : n;
			if (!cron_range(s, pn, &fields[i], msg, msz))
				return msg;
			if (!comma)
				break;
			n -= pn + 1;
			s = comma + 1;
		}
	}
	return NULL;
}

/* ---- Job ---------------------------------------------------------------------------- */

static void has_label(vctx *v, json_t *tmpl_meta, const char *key, const char *want)
{
	json_t *labels = jobj(tmpl_meta, "labels");
	const char *have = jstr(labels, key);
	char path[160], msg[160];
	snprintf(path, sizeof path, "spec.template.metadata.labels[%s]", key);
	snprintf(msg, sizeof msg, "must be '%s'", want);
	if (!have) {
		v_required(v, path, msg);
	} else if (strcmp(have, want) != 0) {
		char *r = v_render_string_map(labels);
		v_invalid_raw(v, path, r, msg);
		free(r);
	}
}

/* The checks a Job and a CronJob's job template share (kube's validateJobSpec). */
static void job_spec(vctx *v, json_t *spec)
{
	static const char *const modes[] = {"NonIndexed", "Indexed", NULL};
	static const char *const replacement[] = {"TerminatingOrFailed", "Failed", NULL};
	static const char *const on_failure_never[] = {"OnFailure", "Never", NULL};
	v_nonneg(v, spec, "parallelism");
	v_nonneg(v, spec, "completions");
	v_nonneg(v, spec, "activeDeadlineSeconds");
	v_nonneg(v, spec, "backoffLimit");
	v_nonneg(v, spec, "ttlSecondsAfterFinished");
	const char *mode = jstr(spec, "completionMode");
	if (mode) {
		if (!v_in(mode, modes))
			v_not_supported(v, "completionMode", mode, modes);
		if (str_eq(mode, "Indexed")) {
			long long p;
			if (!jhas(spec, "completions"))
				v_required(v, "completions", "when completion mode is Indexed");
			if (jint(spec, "parallelism", &p) && p > 100000)
				v_invalid_int(v, "parallelism", p, "must be less than or equal to 100000 when "
				                                   "completion mode is Indexed");
		}
	}
	if (jhas(spec, "backoffLimitPerIndex") && !str_eq(mode, "Indexed"))
		v_required(v, "completionMode", "when backoffLimitPerIndex is specified");
	const char *rp = jstr(spec, "podReplacementPolicy");
	if (rp && !v_in(rp, replacement))
		v_not_supported(v, "podReplacementPolicy", rp, replacement);
	if (str_eq(rp, "TerminatingOrFailed") && jhas(spec, "podFailurePolicy"))
		v_not_supported(v, "podReplacementPolicy", rp, replacement + 1);
	json_t *tmpl = jobj(spec, "template");
	size_t m = vp_push(v, "template");
	v_pod_template(v, tmpl);
	const char *trp = jstr(jobj(tmpl, "spec"), "restartPolicy");
	if (!v_in(trp ? trp : "", on_failure_never))
		v_not_supported(v, "spec.restartPolicy", trp, on_failure_never);
	vp_pop(v, m);
}

/* The pod template of a job may change only in scheduling directives while suspended. */
static void job_template_update(vctx *v, json_t *spec, json_t *ospec)
{
	json_t *a = jobj(spec, "template"), *b = jobj(ospec, "template");
	json_t *ca = jcopy(a);
	json_t *cb = jcopy(b);
	if (jtrue(spec, "suspend")) {
		static const char *const sched[] = {"nodeSelector", "tolerations", "affinity",
		                                    "schedulingGates"};
		for (size_t i = 0; i < ARRAY_SIZE(sched); i++) {
			json_object_del(jobj(ca, "spec"), sched[i]);
			json_object_del(jobj(cb, "spec"), sched[i]);
		}
		json_t *ma = jobj(ca, "metadata"), *mb = jobj(cb, "metadata");
		json_object_del(ma, "labels");
		json_object_del(ma, "annotations");
		json_object_del(mb, "labels");
		json_object_del(mb, "annotations");
	}
	if (!json_equal(ca, cb))
		v_invalid_json(v, "spec.template", a, VMSG_IMMUTABLE);
	json_decref(ca);
	json_decref(cb);
}

void v_kind_job(vctx *v, json_t *obj, json_t *old)
{
	json_t *spec = jobj(obj, "spec");
	const char *uid = json_string_value(json_object_get(jobj(obj, "metadata"), "uid"));
	/* k8s: a generated selector requires the controller-uid and job-name labels */
	if (!jtrue(spec, "manualSelector") && uid && *uid) {
		json_t *tm = jobj(jobj(spec, "template"), "metadata");
		const char *name = json_string_value(json_object_get(jobj(obj, "metadata"), "name"));
		if (!jobj(spec, "selector"))
			v_required(v, "spec.selector", NULL);
		has_label(v, tm, "controller-uid", uid);
		has_label(v, tm, "batch.kubernetes.io/controller-uid", uid);
		has_label(v, tm, "job-name", name ? name : "");
		has_label(v, tm, "batch.kubernetes.io/job-name", name ? name : "");
	}
	size_t m = vp_push(v, "spec");
	json_t *sel = jobj(spec, "selector");
	if (!sel) {
		v_required(v, "selector", NULL);
	} else {
		size_t m2 = vp_push(v, "selector");
		v_label_selector(v, sel);
		vp_pop(v, m2);
		json_t *labels = jobj(jobj(jobj(spec, "template"), "metadata"), "labels");
		if (!v_selector_empty(sel) && !v_selector_matches(sel, labels)) {
			char *r = v_render_string_map(labels);
			v_invalid_raw(v, "template.metadata.labels", r,
			              "`selector` does not match template `labels`");
			free(r);
		}
	}
	job_spec(v, spec);
	vp_pop(v, m);
	if (!old)
		return;
	json_t *ospec = jobj(old, "spec");
	m = vp_push(v, "spec");
	/* k8s: completions may only change together with parallelism for Indexed jobs */
	long long nc, np;
	if (!(str_eq(jstr(spec, "completionMode"), "Indexed") && jint(spec, "completions", &nc) &&
	      jint(spec, "parallelism", &np) && nc == np))
		v_immutable(v, spec, ospec, "completions");
	json_t *ns = jobj(spec, "selector"), *os = jobj(ospec, "selector");
	if (!((!ns && !os) || (ns && os && json_equal(ns, os)))) {
		char *r = ns ? v_render_selector(ns) : xstrdup("null");
		v_invalid_raw(v, "selector", r, VMSG_IMMUTABLE);
		free(r);
	}
	v_immutable(v, spec, ospec, "completionMode");
	v_immutable(v, spec, ospec, "podFailurePolicy");
	v_immutable(v, spec, ospec, "backoffLimitPerIndex");
	v_immutable(v, spec, ospec, "managedBy");
	vp_pop(v, m);
	job_template_update(v, spec, ospec);
}

/* ---- CronJob ------------------------------------------------------------------------ */

void v_kind_cronjob(vctx *v, json_t *obj, json_t *old)
{
	static const char *const policies[] = {"Allow", "Forbid", "Replace", NULL};
	/* k8s: the controller appends an 11-character suffix to job names (<= 63) */
	const char *name = json_string_value(json_object_get(jobj(obj, "metadata"), "name"));
	if (!old && name && strlen(name) > 52)
		v_invalid(v, "metadata.name", name, "must be no more than 52 characters");
	json_t *spec = jobj(obj, "spec");
	size_t m = vp_push(v, "spec");
	const char *sched = jstr(spec, "schedule");
	char msg[256];
	if (!sched || !*sched)
		v_required(v, "schedule", NULL);
	else if (cron_check(sched, msg, sizeof msg))
		v_invalid(v, "schedule", sched, msg);
	v_nonneg(v, spec, "startingDeadlineSeconds");
	const char *tz = jstr(spec, "timeZone");
	if (tz && (!*tz || tz[0] == '/' || strstr(tz, "..") || strchr(tz, ' '))) {
		v_invalid(v, "timeZone", tz, "unknown time zone");
	} else if (tz) {
		/* k8s: the zone must exist in the time-zone database. */
		char tzerr[128];
		cron_tz *z = cron_tz_load(tz, tzerr, sizeof tzerr);
		if (!z)
			v_invalid(v, "timeZone", tz, "unknown time zone");
		cron_tz_free(z);
	}
	const char *cp = jstr(spec, "concurrencyPolicy");
	if (!cp || !*cp)
		v_required(v, "concurrencyPolicy", NULL);
	else if (!v_in(cp, policies))
		v_not_supported(v, "concurrencyPolicy", cp, policies);
	json_t *jt = jobj(spec, "jobTemplate");
	size_t mj = vp_push(v, "jobTemplate");
	json_t *js = jobj(jt, "spec");
	size_t ms = vp_push(v, "spec");
	job_spec(v, js);
	json_t *sel = jobj(js, "selector");
	if (sel) {
		char *r = v_render_selector(sel);
		v_invalid_raw(v, "selector", r, "`selector` will be auto-generated");
		free(r);
	}
	if (jtrue(js, "manualSelector")) {
		static const char *const nil_false[] = {"nil", "false", NULL};
		v_not_supported_raw(v, "manualSelector", "true", nil_false);
	}
	vp_pop(v, ms);
	vp_pop(v, mj);
	v_nonneg(v, spec, "successfulJobsHistoryLimit");
	v_nonneg(v, spec, "failedJobsHistoryLimit");
	vp_pop(v, m);
}
