/* runtime_exec.c — running a command in a running container without a terminal (CRI
 * ExecSync, `kubectl exec` without -t): `runc exec --process FILE` with the container's
 * own process settings (user, env, cwd, capabilities, no_new_privs) and the new argv,
 * stdin fed from memory and stdout/stderr captured, with an optional timeout.
 * Not for: interactive exec with a terminal or streaming (later, through conmon's exec
 * and attach sockets). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/runtime-internal.h"
#include "base/json.h"
#include "base/pki.h"
#include "base/util.h"

int runtime_exec(runtime *rt, const char *id, const runtime_exec_opts *o, runtime_exec_result *res,
                 terr **err)
{
	memset(res, 0, sizeof *res);
	if (!o || !o->argv || !o->argv[0])
		return terr_bad_request(err, "exec: a command is required");
	runtime_status st;
	if (runtime_status_get(rt, id, &st, err) < 0)
		return -1;
	runtime_state state = st.state;
	runtime_status_free(&st);
	if (state != RUNTIME_RUNNING)
		return terr_conflict(err, "container %s is not running", id);

	_cleanup_free_ char *bundle = rt_bundle_path(rt, id);
	_cleanup_free_ char *config = xasprintf("%s/config.json", bundle);
	_cleanup_json_ json_t *spec = json_load_file(config, 0, NULL);
	json_t *proc = json_object_get(spec, "process");
	if (!json_is_object(proc))
		return terr_internal(err, "container %s: config.json has no process", id);
	_cleanup_json_ json_t *p = json_clone(proc);
	json_t *args = json_array();
	for (size_t i = 0; o->argv[i]; i++)
		json_array_append_new(args, json_string(o->argv[i]));
	json_object_set_new(p, "args", args);
	json_object_set_new(p, "terminal", json_false());

	unsigned char rnd[6];
	random_bytes(rnd, sizeof rnd);
	char tag[16];
	snprintf(tag, sizeof tag, "%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3],
	         rnd[4], rnd[5]);
	_cleanup_free_ char *pfile = xasprintf("%s/exec-%s.json", bundle, tag);
	_cleanup_free_ char *pidfile = xasprintf("%s/exec-%s.pid", bundle, tag);
	_cleanup_free_ char *text = json_dumps(p, JSON_COMPACT);
	if (pki_replace_file(pfile, text, strlen(text), 0600, err) < 0)
		return terr_wrap(err, "container %s: exec", id);

	_cleanup_free_ char *bin = rt_runtime_for(rt, id);
	char *argv[] = {
	    bin,      (char *)"--root",     rt->runc_root, (char *)"exec", (char *)"--process",
	    pfile,    (char *)"--pid-file", pidfile,       (char *)id,     NULL};
	rt_proc_opts po = {
	    .stdin_data = o->stdin_data ? o->stdin_data : "",
	    .stdin_len = o->stdin_data ? o->stdin_len : 0,
	    .out = &res->out,
	    .err = &res->err,
	    .max_output = o->max_output,
	    .timeout_ms = o->timeout_s > 0 ? o->timeout_s * 1000 : 0,
	    .kill_pidfile = pidfile,
	};
	int code = 0;
	bool timed_out = false;
	int r = rt_proc_run(argv, &po, &code, &timed_out, err);
	unlink(pfile);
	unlink(pidfile);
	if (r < 0)
		return terr_wrap(err, "container %s: exec", id);
	res->exit_code = timed_out ? 128 + SIGKILL : code;
	res->timed_out = timed_out;
	return 0;
}

void runtime_exec_result_free(runtime_exec_result *res)
{
	if (!res)
		return;
	buf_free(&res->out);
	buf_free(&res->err);
}
