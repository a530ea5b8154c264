/* simnode_pod.c — the pod status a simulated kubelet reports, as a pure function of the pod,
 * its addresses, its start time and the clock: phase, kube's five kubelet conditions, and
 * container statuses with the image, imageID and containerID forms a CRI runtime reports.
 *
 * Completion convention (so Jobs can finish on simulated nodes): a pod annotated
 * timon.dev/sim-duration: "<duration>" ("30s", "1m30s", "500ms") has its containers exit
 * that long after they start, with the code in timon.dev/sim-exit-code (default 0). Both
 * may be set per container by suffixing ".<container name>" to the annotation key. Then the
 * pod's restartPolicy rules: Never ends the pod (Succeeded when every container exited 0,
 * Failed otherwise); OnFailure ends it on exit 0 and restarts failing containers; Always
 * restarts every exit. Restarts follow the kubelet's crash-loop back-off (10 s doubling to
 * 5 min), shown as CrashLoopBackOff. Without the annotation containers run forever.
 * Not for: API writes, IP allocation or deciding which pods to simulate (simnode.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/json.h"
#include "base/util.h"
#include "controllers/simnode-internal.h"

#define NS_PER_MS 1000000LL
#define NS_PER_S  1000000000LL
/* k8s: the kubelet's container restart back-off: 10 s, doubling, capped at 5 min; reset
 * after a container ran 10 min. */
#define BACKOFF_INITIAL_NS (10 * NS_PER_S)
#define BACKOFF_MAX_NS     (300 * NS_PER_S)
#define BACKOFF_RESET_NS   (600 * NS_PER_S)

enum run_kind { RUN_RUNNING, RUN_BACKOFF, RUN_DONE };

/* One container's life under the convention, at a moment. */
typedef struct run {
	enum run_kind kind;
	int restarts;
	int64_t start, end; /* current (RUNNING) or last finished run */
	int code;           /* exit code of the finished run */
	bool has_last;      /* lastState: the run before the current one */
	int64_t last_start, last_end;
	int64_t backoff; /* BACKOFF: the delay being waited */
	int64_t next;    /* when this changes by itself, or -1 */
} run;

static void simulate(run *r, const char *policy, int64_t dur, int code, int64_t t0, int64_t now)
{
	memset(r, 0, sizeof *r);
	r->next = -1;
	r->start = t0;
	if (dur < 0) {
		r->kind = RUN_RUNNING;
		return;
	}
	int64_t s = t0, backoff = BACKOFF_INITIAL_NS;
	for (int k = 0; k < 1000000; k++) {
		int64_t e = s + dur;
		r->restarts = k;
		r->start = s;
		r->end = e;
		r->code = code;
		if (now < e) {
			r->kind = RUN_RUNNING;
			r->next = e;
			return;
		}
		/* k8s: Never restarts nothing; OnFailure restarts non-zero exits; Always all. */
		bool restart =
		    str_eq(policy, "Always") || (str_eq(policy, "OnFailure") && code != 0);
		if (!restart) {
			r->kind = RUN_DONE;
			return;
		}
		if (dur >= BACKOFF_RESET_NS)
			backoff = BACKOFF_INITIAL_NS;
		int64_t s2 = e + backoff;
		if (now < s2) {
			r->kind = RUN_BACKOFF;
			r->backoff = backoff;
			r->next = s2;
			return;
		}
		r->has_last = true;
		r->last_start = s;
		r->last_end = e;
		s = s2;
		backoff = backoff * 2 > BACKOFF_MAX_NS ? BACKOFF_MAX_NS : backoff * 2;
	}
	r->kind = RUN_DONE;
}

/* ---------- formats ---------- */

static void ts(int64_t ns, char out[32])
{
	time_rfc3339(ns, false, out);
}

static uint64_t fnv(const char *s, uint64_t h)
{
	for (; s && *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

/* 64 hex digits derived from the strings: a stable stand-in for a runtime's id. */
static void hex64(const char *a, const char *b, const char *c, char out[65])
{
	uint64_t h = fnv(c, fnv(b, fnv(a, 1469598103934665603ULL)));
	for (int i = 0; i < 4; i++) {
		h = fnv("#", h ^ (uint64_t)i);
		fmt_hex64(out + i * 16, h);
	}
}

/* k8s: a CRI runtime reports images fully qualified: "nginx" is
 * "docker.io/library/nginx:latest". repo gets the name without tag or digest. */
static char *normalize_image(const char *image, char **repo, char **digest)
{
	const char *at = strchr(image, '@');
	char *name = at ? xstrndup(image, (size_t)(at - image)) : xstrdup(image);
	*digest = at ? xstrdup(at + 1) : NULL;
	const char *slash = strchr(name, '/');
	bool has_domain = slash && (memchr(name, '.', (size_t)(slash - name)) ||
	                            memchr(name, ':', (size_t)(slash - name)) ||
	                            (slash - name == 9 && strncmp(name, "localhost", 9) == 0));
	char *full;
	if (has_domain)
		full = xstrdup(name);
	else if (slash)
		full = xasprintf("docker.io/%s", name);
	else
		full = xasprintf("docker.io/library/%s", name);
	free(name);
	const char *last = strrchr(full, '/');
	char *colon = strrchr(last ? last : full, ':');
	*repo = colon ? xstrndup(full, (size_t)(colon - full)) : xstrdup(full);
	char *out;
	if (*digest)
		out = xasprintf("%s@%s", *repo, *digest);
	else if (colon)
		out = xstrdup(full);
	else
		out = xasprintf("%s:latest", full);
	free(full);
	return out;
}

static char *go_duration(int64_t ns)
{
	int64_t s = ns / NS_PER_S;
	if (s < 60)
		return xasprintf("%llds", (long long)s);
	return xasprintf("%lldm%llds", (long long)(s / 60), (long long)(s % 60));
}

/* ---------- conditions ---------- */

static json_t *find_cond(json_t *conds, const char *type)
{
	size_t i;
	json_t *c;
	json_array_foreach(conds, i, c)
	{
		if (str_eq(json_string_value(json_object_get(c, "type")), type))
			return c;
	}
	return NULL;
}

static bool kubelet_owned(const char *type)
{
	static const char *const owned[] = {"PodReadyToStartContainers", "Initialized", "Ready",
	                                    "ContainersReady", "PodScheduled"};
	for (size_t i = 0; i < ARRAY_SIZE(owned); i++)
		if (str_eq(type, owned[i]))
			return true;
	return false;
}

/* A condition; keeps the old transition time when the status did not change. */
static json_t *cond(json_t *old, const char *type, bool ok, const char *reason, const char *msg,
                    const char *now)
{
	json_t *prev = find_cond(old, type);
	const char *st = ok ? "True" : "False";
	const char *since = now;
	if (prev && str_eq(json_string_value(json_object_get(prev, "status")), st) &&
	    json_string_value(json_object_get(prev, "lastTransitionTime")))
		since = json_string_value(json_object_get(prev, "lastTransitionTime"));
	json_t *c = json_build("{s:s, s:s, s:n, s:s}", "type", type, "status", st, "lastProbeTime",
	                       "lastTransitionTime", since);
	if (reason)
		json_object_set_new(c, "reason", json_string(reason));
	if (msg)
		json_object_set_new(c, "message", json_string(msg));
	return c;
}

/* ---------- containers ---------- */

typedef struct ctx {
	json_t *pod;
	const char *uid, *name, *ns, *policy;
	int64_t t0, now;
	int64_t killed; /* when the pod was killed for deletion, or 0 */
} ctx;

static const char *container_ann(json_t *pod, const char *base, const char *cname)
{
	char key[320];
	size_t n = str_put(key, sizeof key, base);
	n += str_put(key + n, sizeof key - n, ".");
	str_put(key + n, sizeof key - n, cname);
	const char *v = sim_annotation(pod, key);
	return v ? v : sim_annotation(pod, base);
}

static json_t *terminated(const ctx *x, const char *cname, int restarts, int code, int64_t start,
                          int64_t end)
{
	char a[32], b[32], idbuf[65], rc[24];
	ts(start, a);
	ts(end, b);
	fmt_i64(rc, restarts);
	hex64(x->uid, cname, rc, idbuf);
	char cid[80] = "timon://";
	str_put(cid + 8, sizeof cid - 8, idbuf);
	json_t *t = json_build("{s:i, s:s, s:s, s:s, s:s}", "exitCode", code, "reason",
	                       code == 0 ? "Completed" : "Error", "startedAt", a, "finishedAt", b,
	                       "containerID", cid);
	return json_build("{s:o}", "terminated", t);
}

/* The status of container c; *ready_out says whether it counts as ready, *done_out whether
 * it finished for good (with *code_out), *next_out when it changes by itself. */
static json_t *container_status(const ctx *x, json_t *c, bool init, bool pod_over, int64_t over_at,
                                bool *ready_out, bool *done_out, int *code_out, int64_t *next_out)
{
	const char *cname = json_string_value(json_object_get(c, "name"));
	const char *image = json_string_value(json_object_get(c, "image"));
	if (!cname)
		cname = "";
	bool sidecar =
	    init && str_eq(json_string_value(json_object_get(c, "restartPolicy")), "Always");
	run r;
	if (init && !sidecar) {
		/* Regular init containers complete at once, successfully. */
		memset(&r, 0, sizeof r);
		r.kind = RUN_DONE;
		r.start = r.end = x->t0;
		r.next = -1;
	} else if (sidecar) {
		simulate(&r, "Always", -1, 0, x->t0, x->now);
	} else {
		int64_t dur = sim_parse_duration_ms(container_ann(x->pod, SIM_ANN_DURATION, cname));
		const char *cs = container_ann(x->pod, SIM_ANN_EXIT_CODE, cname);
		int code = cs ? atoi(cs) : 0;
		simulate(&r, x->policy, dur < 0 ? -1 : dur * NS_PER_MS, code, x->t0, x->now);
	}
	/* A finished pod stops whatever still ran (sidecars) at the moment it ended; a pod
	 * killed for deletion ends every container that ran as SIGKILL does (137). */
	if (pod_over && r.kind != RUN_DONE) {
		if (r.kind == RUN_RUNNING) {
			r.end = over_at > r.start ? over_at : r.start;
			r.code = x->killed ? 137 : 0;
		}
		r.kind = RUN_DONE;
		r.next = -1;
	}
	char rc[24], idbuf[65], at[32];
	fmt_i64(rc, r.restarts);
	hex64(x->uid, cname, rc, idbuf);
	char cid[80] = "timon://";
	str_put(cid + 8, sizeof cid - 8, idbuf);
	json_t *state, *last = json_object();
	bool ready = false, started = false;
	switch (r.kind) {
	case RUN_RUNNING:
		ts(r.start, at);
		state = json_build("{s:{s:s}}", "running", "startedAt", at);
		ready = started = true;
		if (r.has_last) {
			json_decref(last);
			last =
			    terminated(x, cname, r.restarts - 1, r.code, r.last_start, r.last_end);
		}
		break;
	case RUN_BACKOFF: {
		char *d = go_duration(r.backoff);
		char *msg = xasprintf("back-off %s restarting failed container=%s pod=%s_%s(%s)", d,
		                      cname, x->name, x->ns, x->uid);
		state = json_build("{s:{s:s, s:s}}", "waiting", "reason", "CrashLoopBackOff",
		                   "message", msg);
		free(d);
		free(msg);
		json_decref(last);
		last = terminated(x, cname, r.restarts, r.code, r.start, r.end);
		break;
	}
	default:
		state = terminated(x, cname, r.restarts, r.code, r.start, r.end);
		if (r.has_last) {
			json_decref(last);
			last =
			    terminated(x, cname, r.restarts - 1, r.code, r.last_start, r.last_end);
		}
		/* k8s: an init container that exited 0 counts as ready. */
		ready = init && !sidecar && r.code == 0;
		break;
	}
	char *repo = NULL, *digest = NULL;
	char *img = normalize_image(image ? image : "", &repo, &digest);
	char *imgid;
	if (digest) {
		imgid = xasprintf("%s@%s", repo, digest);
	} else {
		char hx[65];
		hex64(img, "", "", hx);
		imgid = xasprintf("%s@sha256:%s", repo, hx);
	}
	json_t *cs =
	    json_build("{s:s, s:o, s:o, s:b, s:i, s:s, s:s, s:s, s:b}", "name", cname, "state",
	               state, "lastState", last, "ready", ready, "restartCount", r.restarts, "image",
	               img, "imageID", imgid, "containerID", cid, "started", started);
	free(repo);
	free(digest);
	free(img);
	free(imgid);
	*ready_out = ready;
	*done_out = r.kind == RUN_DONE;
	*code_out = r.code;
	*next_out = r.next;
	return cs;
}

/* ---------- the pod ---------- */

bool sim_phase_terminal(json_t *status)
{
	const char *p = json_string_value(json_object_get(status, "phase"));
	return str_eq(p, "Succeeded") || str_eq(p, "Failed");
}

/* When the last regular container finished (or -1 when one still runs), and its result. */
static int64_t pod_end(const ctx *x, json_t *containers, bool *all_ok)
{
	int64_t end = x->t0;
	*all_ok = true;
	size_t i;
	json_t *c;
	json_array_foreach(containers, i, c)
	{
		const char *cname = json_string_value(json_object_get(c, "name"));
		int64_t dur = sim_parse_duration_ms(container_ann(x->pod, SIM_ANN_DURATION, cname));
		const char *cs = container_ann(x->pod, SIM_ANN_EXIT_CODE, cname);
		run r;
		simulate(&r, x->policy, dur < 0 ? -1 : dur * NS_PER_MS, cs ? atoi(cs) : 0, x->t0,
		         x->now);
		if (r.kind != RUN_DONE && x->killed) {
			*all_ok = false; /* killed while it ran */
			continue;
		}
		if (r.kind != RUN_DONE)
			return -1;
		if (r.code != 0)
			*all_ok = false;
		if (r.end > end)
			end = r.end;
	}
	return x->killed ? x->killed : end;
}

json_t *sim_pod_status(const sim_pod_input *in, int64_t *next_ms)
{
	json_t *pod = in->pod;
	json_t *old = json_object_get(pod, "status");
	json_t *oldconds = json_object_get(old, "conditions");
	json_t *spec = json_object_get(pod, "spec");
	ctx x = {.pod = pod,
	         .uid = json_path_str(pod, "metadata.uid"),
	         .name = json_path_str(pod, "metadata.name"),
	         .ns = json_path_str(pod, "metadata.namespace"),
	         .policy = json_string_value(json_object_get(spec, "restartPolicy")),
	         .t0 = in->start_ns,
	         .now = in->now_ns,
	         .killed = in->killed_ns};
	if (!x.uid)
		x.uid = "";
	if (!x.policy)
		x.policy = "Always";
	char now[32], start[32];
	ts(in->now_ns, now);
	ts(in->start_ns, start);

	json_t *containers = json_object_get(spec, "containers");
	bool all_ok;
	int64_t over_at = pod_end(&x, containers, &all_ok);
	bool over = over_at >= 0 && json_array_size(containers) > 0;
	const char *phase = !over ? "Running" : all_ok ? "Succeeded" : "Failed";

	int64_t next = -1;
	json_t *init_st = json_array(), *cont_st = json_array();
	json_t *unready = json_array();
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(spec, "initContainers"), i, c)
	{
		bool ready, done;
		int code;
		int64_t n;
		json_array_append_new(init_st, container_status(&x, c, true, over, over_at, &ready,
		                                                &done, &code, &n));
		bool sidecar =
		    str_eq(json_string_value(json_object_get(c, "restartPolicy")), "Always");
		if (sidecar && !ready)
			json_array_append(unready, json_object_get(c, "name"));
	}
	json_array_foreach(containers, i, c)
	{
		bool ready, done;
		int code;
		int64_t n;
		json_array_append_new(cont_st, container_status(&x, c, false, over, over_at, &ready,
		                                                &done, &code, &n));
		if (!ready)
			json_array_append(unready, json_object_get(c, "name"));
		if (n >= 0 && (next < 0 || n < next))
			next = n;
	}

	/* Conditions: foreign ones first, then the kubelet's in kube's order. */
	json_t *conds = json_array();
	json_array_foreach(oldconds, i, c)
	{
		if (!kubelet_owned(json_string_value(json_object_get(c, "type"))))
			json_array_append(conds, c);
	}
	bool has_init = json_array_size(json_object_get(spec, "initContainers")) > 0;
	json_array_append_new(conds,
	                      cond(oldconds, "PodReadyToStartContainers", !over, NULL, NULL, now));
	json_array_append_new(
	    conds, cond(oldconds, "Initialized", true,
	                has_init && str_eq(phase, "Succeeded") ? "PodCompleted" : NULL, NULL, now));
	/* k8s: ContainersReady, then Ready (which also needs every readiness gate). */
	const char *creason = NULL;
	char *cmsg = NULL;
	if (over) {
		creason = all_ok ? "PodCompleted" : "PodFailed";
	} else if (json_array_size(unready)) {
		buf b = {0};
		buf_puts(&b, "containers with unready status: [");
		json_t *nm;
		json_array_foreach(unready, i, nm)
		{
			if (i)
				buf_putc(&b, ' ');
			buf_puts(&b, json_string_value(nm) ? json_string_value(nm) : "");
		}
		buf_putc(&b, ']');
		creason = "ContainersNotReady";
		cmsg = buf_take(&b);
	}
	bool cready = !creason;
	const char *rreason = creason;
	char *rmsg = cmsg ? xstrdup(cmsg) : NULL;
	if (cready) {
		buf b = {0};
		json_t *g;
		json_array_foreach(json_object_get(spec, "readinessGates"), i, g)
		{
			const char *type = json_string_value(json_object_get(g, "conditionType"));
			json_t *gc = find_cond(oldconds, type);
			const char *gs = json_string_value(json_object_get(gc, "status"));
			if (str_eq(gs, "True"))
				continue;
			if (b.n)
				buf_puts(&b, ", ");
			if (!gc)
				buf_printf(&b,
				           "corresponding condition of pod readiness gate \"%s\" "
				           "does not exist.",
				           type ? type : "");
			else
				buf_printf(&b,
				           "the status of pod readiness gate \"%s\" is not "
				           "\"True\", but %s",
				           type ? type : "", gs ? gs : "");
		}
		if (b.n) {
			rreason = "ReadinessGatesNotReady";
			rmsg = buf_take(&b);
		}
	}
	json_array_append_new(conds, cond(oldconds, "Ready", !rreason, rreason, rmsg, now));
	json_array_append_new(conds, cond(oldconds, "ContainersReady", cready, creason, cmsg, now));
	json_array_append_new(conds, cond(oldconds, "PodScheduled", true, NULL, NULL, now));
	free(cmsg);
	free(rmsg);
	json_decref(unready);

	json_t *st = json_is_object(old) ? json_clone_containers(old) : json_object();
	json_object_set_new(st, "phase", json_string(phase));
	json_object_set_new(st, "conditions", conds);
	if (in->host_ip) {
		json_object_set_new(st, "hostIP", json_string(in->host_ip));
		json_object_set_new(st, "hostIPs", json_build("[{s:s}]", "ip", in->host_ip));
	}
	if (in->pod_ip) {
		json_object_set_new(st, "podIP", json_string(in->pod_ip));
		json_object_set_new(st, "podIPs", json_build("[{s:s}]", "ip", in->pod_ip));
	}
	json_object_set_new(st, "startTime", json_string(start));
	if (json_array_size(init_st))
		json_object_set_new(st, "initContainerStatuses", init_st);
	else
		json_decref(init_st);
	json_object_set_new(st, "containerStatuses", cont_st);
	if (over)
		next = -1;
	*next_ms = next < 0 ? -1 : (next - in->now_ns + NS_PER_MS - 1) / NS_PER_MS;
	if (*next_ms == 0)
		*next_ms = 1;
	return st;
}
