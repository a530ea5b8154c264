/* agent_stream.c — the node agent's pod streams: the hook the API server calls, resolving
 * the container a request names, the Status bodies, and pods/log (kubectl logs). Log files
 * are read on a thread per request (runtime_logs_read / runtime_logs_wait block); chunks
 * come back to the loop through a uv_async. Not for: exec/attach (agent_stream_exec.c) or
 * port-forward (agent_stream_pf.c).
 */
#include <dirent.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "agent/agent.h"
#include "agent/agent_stream-internal.h"
#include "base/json.h"
#include "base/log.h"
#include "base/util.h"

/* ---------- Status bodies ---------- */

char *agent_stream_error_status(int code, const char *reason, const char *msg)
{
	_cleanup_json_ json_t *st = json_pack("{s:s,s:s,s:{},s:s,s:s,s:s,s:i}", "kind", "Status",
	                                      "apiVersion", "v1", "metadata", "status", "Failure",
	                                      "message", msg, "reason", reason, "code", code);
	return json_dump_compact(st);
}

char *agent_stream_exit_status(int code)
{
	if (code == 0)
		return xstrdup("{\"metadata\":{},\"status\":\"Success\"}");
	/* k8s: remotecommand reads the exit code from the ExitCode cause of a
	 * NonZeroExitCode Status; kubectl then exits with it. */
	_cleanup_free_ char *msg = xasprintf("command terminated with non-zero exit code: exit status %d", code);
	_cleanup_free_ char *num = xasprintf("%d", code);
	_cleanup_json_ json_t *st =
	    json_pack("{s:{},s:s,s:s,s:s,s:{s:[{s:s,s:s}]}}", "metadata", "status", "Failure",
	              "message", msg, "reason", "NonZeroExitCode", "details", "causes", "reason",
	              "ExitCode", "message", num);
	return json_dump_compact(st);
}

void stream_send_error(http_req *req, terr *err)
{
	int code = err->code ? err->code : 500;
	_cleanup_free_ char *body = agent_stream_error_status(code, err->reason ? err->reason : "InternalError",
	                                                     err->message ? err->message : "error");
	terr_free(err);
	http_respond(req, code, "application/json", body, strlen(body), NULL);
}

/* ---------- query ---------- */

char **stream_query_all(const http_req *req, const char *name)
{
	size_t n = 0, nl = strlen(name);
	char **v = xcalloc(1, sizeof *v);
	for (const char *p = req->query; p && *p;) {
		const char *amp = strchr(p, '&');
		size_t len = amp ? (size_t)(amp - p) : strlen(p);
		const char *eq = memchr(p, '=', len);
		size_t klen = eq ? (size_t)(eq - p) : len;
		if (klen == nl && memcmp(p, name, nl) == 0) {
			char *d = eq ? http_url_decode(eq + 1, len - klen - 1) : xstrdup("");
			if (d) {
				v = xrealloc(v, (n + 2) * sizeof *v);
				v[n++] = d;
				v[n] = NULL;
			}
		}
		p = amp ? amp + 1 : NULL;
	}
	return v;
}

void stream_strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* ---------- the target container ---------- */

void stream_target_free(stream_target *t)
{
	free(t->ns);
	free(t->pod);
	free(t->uid);
	free(t->container);
	free(t->id);
	free(t->log_path);
	free(t->pod_ip);
	memset(t, 0, sizeof *t);
}

static json_t *find_named(json_t *arr, const char *name)
{
	size_t i;
	json_t *c;
	json_array_foreach(arr, i, c)
	{
		const char *n = json_string_value(json_object_get(c, "name"));
		if (n && strcmp(n, name) == 0)
			return c;
	}
	return NULL;
}

int stream_target_resolve(agent_streams *as, json_t *pod, const char *container, bool previous,
                          stream_target *t, terr **err)
{
	memset(t, 0, sizeof *t);
	const char *name = json_path_str(pod, "metadata.name");
	json_t *spec = json_object_get(pod, "spec");
	json_t *ctrs = json_object_get(spec, "containers");
	json_t *inits = json_object_get(spec, "initContainers");
	if (!container || !*container) {
		/* k8s: the default-container annotation names it, else a pod with one container
		 * needs no name. */
		container = json_path_str(pod, "metadata.annotations.kubectl\\.kubernetes\\.io/default-container");
		if (!container) {
			json_t *ann = json_path(pod, "metadata.annotations");
			container = json_string_value(json_object_get(ann, "kubectl.kubernetes.io/default-container"));
		}
		if (!container && json_array_size(ctrs) == 1)
			container = json_string_value(json_object_get(json_array_get(ctrs, 0), "name"));
		if (!container) {
			buf b = {0};
			size_t i;
			json_t *c;
			json_array_foreach(ctrs, i, c)
			{
				buf_printf(&b, "%s%s", i ? " " : "", json_string_value(json_object_get(c, "name")));
			}
			terr_bad_request(err, "a container name must be specified for pod %s, choose one of: [%s]",
			                 name, b.p ? b.p : "");
			buf_free(&b);
			return -1;
		}
	}
	if (!find_named(ctrs, container) && !find_named(inits, container) &&
	    !find_named(json_object_get(spec, "ephemeralContainers"), container))
		return terr_bad_request(err, "container %s is not valid for pod %s", container, name);
	json_t *status = json_object_get(pod, "status");
	json_t *cs = find_named(json_object_get(status, "containerStatuses"), container);
	if (!cs)
		cs = find_named(json_object_get(status, "initContainerStatuses"), container);
	int restarts = (int)json_integer_value(json_object_get(cs, "restartCount"));
	if (previous) {
		if (!cs || restarts < 1)
			return terr_bad_request(err, "previous terminated container \"%s\" in pod \"%s\" not found",
			                        container, name);
	} else if (!cs || (json_object_get(json_object_get(cs, "state"), "waiting") &&
	                   !json_object_get(cs, "lastState") && restarts == 0 &&
	                   !json_is_true(json_object_get(cs, "started")) &&
	                   !json_path(cs, "containerID"))) {
		const char *reason = json_string_value(json_path(cs, "state.waiting.reason"));
		return terr_bad_request(err, "container \"%s\" in pod \"%s\" is waiting to start: %s",
		                        container, name, reason ? reason : "ContainerCreating");
	}
	t->ns = xstrdup(json_path_str(pod, "metadata.namespace") ? json_path_str(pod, "metadata.namespace") : "default");
	t->pod = xstrdup(name);
	t->uid = xstrdup(json_path_str(pod, "metadata.uid") ? json_path_str(pod, "metadata.uid") : "");
	t->container = xstrdup(container);
	t->attempt = previous ? restarts - 1 : restarts;
	t->id = agent_container_id(t->uid, t->container, t->attempt);
	t->log_path = agent_container_log_path(as->log_root, t->ns, t->pod, t->uid, t->container,
	                                       t->attempt);
	const char *ip = json_string_value(json_object_get(status, "podIP"));
	t->pod_ip = ip ? xstrdup(ip) : NULL;
	return 0;
}

/* ---------- the hook ---------- */

static bool serve(void *ctx, http_req *req, const char *sub, json_t *pod)
{
	agent_streams *as = ctx;
	const char *node = json_path_str(pod, "spec.nodeName");
	if (!node || strcmp(node, as->node) != 0)
		return false;
	if (strcmp(sub, "log") == 0)
		stream_logs(as, req, pod);
	else if (strcmp(sub, "exec") == 0)
		stream_exec(as, req, pod, false);
	else if (strcmp(sub, "attach") == 0)
		stream_exec(as, req, pod, true);
	else
		stream_portforward(as, req, pod);
	return true;
}

static const apiserver_pod_streams hook = {.serve = serve};

agent_streams *agent_stream_attach(apiserver *srv, runtime *rt, const char *node_name,
                                   const char *log_root)
{
	agent_streams *as = xcalloc(1, sizeof *as);
	as->srv = srv;
	as->rt = rt;
	as->node = xstrdup(node_name);
	as->log_root = xstrdup(log_root ? log_root : AGENT_DEFAULT_LOG_ROOT);
	as->loop = apiserver_loop(srv);
	apiserver_set_pod_streams(srv, &hook, as);
	return as;
}

/* ---------- pods/log ---------- */

typedef struct log_job {
	/* Set on the loop thread; read-only for the worker. */
	agent_streams *as;
	char *path, *id;
	runtime_log_opts o;
	bool follow;
	uv_async_t async;
	pthread_mutex_t mu;
	/* Under mu. */
	buf pending;
	bool done;   /* the worker has finished (no more output) */
	bool gone;   /* the client went away */
	int refs;    /* the worker and the loop side */
	/* Loop thread only. */
	http_req *req;
	bool began;
} log_job;

static void log_job_unref(log_job *j)
{
	pthread_mutex_lock(&j->mu);
	int left = --j->refs;
	pthread_mutex_unlock(&j->mu);
	if (left)
		return;
	pthread_mutex_destroy(&j->mu);
	buf_free(&j->pending);
	free(j->path);
	free(j->id);
	free(j);
}

static void on_async_closed(uv_handle_t *h)
{
	log_job_unref(h->data);
}

static void on_log_chunk(uv_async_t *a)
{
	log_job *j = a->data;
	pthread_mutex_lock(&j->mu);
	buf out = j->pending;
	j->pending = (buf){0};
	bool done = j->done;
	pthread_mutex_unlock(&j->mu);
	if (j->req) {
		if (!j->began) {
			http_stream_begin(j->req, 200, "text/plain");
			j->began = true;
		}
		if (out.n && j->req && http_stream_write(j->req, out.p, out.n) < 0)
			j->req = NULL; /* on_close ran */
		if (done && j->req) {
			http_stream_end(j->req);
			j->req = NULL;
		}
	}
	buf_free(&out);
	if (done && !uv_is_closing((uv_handle_t *)&j->async))
		uv_close((uv_handle_t *)&j->async, on_async_closed);
}

static void on_log_client_gone(http_req *req)
{
	log_job *j = req->ud;
	j->req = NULL;
	pthread_mutex_lock(&j->mu);
	j->gone = true;
	pthread_mutex_unlock(&j->mu);
}

/* The rotated name (<path>.<stamp>, the newest rotated file is not compressed yet) of the
 * file that had inode ino, or NULL. New string. */
static char *rotated_path_of(const char *path, ino_t ino)
{
	_cleanup_free_ char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	if (!slash)
		return NULL;
	*slash = '\0';
	const char *base = slash + 1;
	size_t bl = strlen(base);
	DIR *d = opendir(dir);
	if (!d)
		return NULL;
	char *found = NULL;
	struct dirent *e;
	while (!found && (e = readdir(d))) {
		if (strncmp(e->d_name, base, bl) != 0 || e->d_name[bl] != '.' ||
		    str_has_suffix(e->d_name, ".gz") || str_has_suffix(e->d_name, ".tmp"))
			continue;
		char *p = xasprintf("%s/%s", dir, e->d_name);
		struct stat sb;
		if (stat(p, &sb) == 0 && sb.st_ino == ino)
			found = p;
		else
			free(p);
	}
	closedir(d);
	return found;
}

static void *log_worker(void *arg)
{
	log_job *j = arg;
	int64_t offset = 0, written = 0;
	bool last = false;
	ino_t ino = 0; /* the file the offset is in */
	for (;;) {
		buf out = {0};
		int64_t next = offset;
		terr *err = NULL;
		runtime_log_opts o = j->o;
		if (offset > 0)
			o.tail = -1; /* tail applies to the first read only */
		if (o.limit_bytes)
			o.limit_bytes -= written;
		struct stat sb;
		if (stat(j->path, &sb) == 0) {
			if (ino && sb.st_ino != ino && offset > 0) {
				/* Rotated since the last read (agent_logs.c): what was written after it
				 * is at the end of the rotated file; then the new file from its start. */
				_cleanup_free_ char *old = rotated_path_of(j->path, ino);
				if (old && runtime_logs_read(old, &o, offset, &out, NULL, &err) < 0) {
					terr_free(err);
					err = NULL;
				}
				offset = next = 0;
				if (o.limit_bytes)
					o.limit_bytes -= (int64_t)out.n;
			}
			ino = sb.st_ino;
		}
		bool spent = j->o.limit_bytes && o.limit_bytes <= 0; /* (0 would mean "no limit") */
		if (!spent && runtime_logs_read(j->path, &o, offset, &out, &next, &err) < 0) {
			log_info("logs: %s: %s", j->path, err->message);
			terr_free(err);
			last = true;
		}
		written += (int64_t)out.n;
		bool limit = j->o.limit_bytes && written >= j->o.limit_bytes;
		pthread_mutex_lock(&j->mu);
		buf_add(&j->pending, out.p, out.n);
		bool gone = j->gone;
		pthread_mutex_unlock(&j->mu);
		if (out.n)
			uv_async_send(&j->async);
		buf_free(&out);
		offset = next;
		if (!j->follow || gone || last || limit)
			break;
		/* k8s: a followed log ends when the container has stopped and its file is
		 * read to the end. */
		if (runtime_logs_wait(j->path, offset, 1000) == 0) {
			runtime_status st;
			terr *e = NULL;
			if (runtime_status_get(j->as->rt, j->id, &st, &e) < 0) {
				terr_free(e);
				last = true; /* gone: read what is left, once */
			} else {
				last = st.state == RUNTIME_EXITED || st.state == RUNTIME_UNKNOWN;
				runtime_status_free(&st);
			}
			if (last)
				continue;
		}
	}
	pthread_mutex_lock(&j->mu);
	j->done = true;
	pthread_mutex_unlock(&j->mu);
	uv_async_send(&j->async);
	log_job_unref(j);
	return NULL;
}

static int parse_int_opt(const http_req *req, const char *name, int64_t *out, terr **err)
{
	_cleanup_free_ char *v = http_req_query(req, name);
	if (!v)
		return 0;
	char *end;
	long long n = strtoll(v, &end, 10);
	if (!*v || *end || n < 0)
		return terr_bad_request(err, "%s: invalid value \"%s\": must be a non-negative integer", name, v);
	*out = n;
	return 1;
}

void stream_logs(agent_streams *as, http_req *req, json_t *pod)
{
	terr *err = NULL;
	_cleanup_free_ char *container = http_req_query(req, "container");
	_cleanup_free_ char *follow = http_req_query(req, "follow");
	_cleanup_free_ char *previous = http_req_query(req, "previous");
	_cleanup_free_ char *ts = http_req_query(req, "timestamps");
	_cleanup_free_ char *since_time = http_req_query(req, "sinceTime");
	runtime_log_opts o = {.tail = -1};
	int64_t since_s = 0, tail = -1, limit = 0;
	if (parse_int_opt(req, "tailLines", &tail, &err) < 0 ||
	    parse_int_opt(req, "sinceSeconds", &since_s, &err) < 0 ||
	    parse_int_opt(req, "limitBytes", &limit, &err) < 0) {
		stream_send_error(req, err);
		return;
	}
	o.tail = tail;
	o.limit_bytes = limit;
	o.timestamps = ts && (strcmp(ts, "true") == 0 || strcmp(ts, "1") == 0);
	if (since_s > 0)
		o.since_ns = time_now_ns() - since_s * 1000000000LL;
	if (since_time && *since_time && time_parse_rfc3339(since_time, &o.since_ns) < 0) {
		terr_bad_request(&err, "sinceTime: invalid value \"%s\"", since_time);
		stream_send_error(req, err);
		return;
	}
	bool prev = previous && (strcmp(previous, "true") == 0 || strcmp(previous, "1") == 0);
	stream_target t;
	if (stream_target_resolve(as, pod, container, prev, &t, &err) < 0) {
		stream_send_error(req, err);
		return;
	}
	log_job *j = xcalloc(1, sizeof *j);
	j->as = as;
	j->path = xstrdup(t.log_path);
	j->id = xstrdup(t.id);
	j->o = o;
	/* k8s: following a previous (terminated) container's log is just reading it. */
	j->follow = !prev && follow && (strcmp(follow, "true") == 0 || strcmp(follow, "1") == 0);
	j->refs = 2;
	j->req = req;
	pthread_mutex_init(&j->mu, NULL);
	stream_target_free(&t);
	uv_async_init(as->loop, &j->async, on_log_chunk);
	j->async.data = j;
	req->ud = j;
	req->on_close = on_log_client_gone;
	pthread_t th;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&th, &attr, log_worker, j) != 0) {
		pthread_attr_destroy(&attr);
		j->done = true;
		uv_async_send(&j->async);
		log_job_unref(j);
		return;
	}
	pthread_attr_destroy(&attr);
}
