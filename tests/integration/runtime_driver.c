/* runtime_driver.c — a small command-line front for the runtime driver (src/agent/
 * runtime.h), built by test_runtime.sh against build/libtimon.a. Every invocation is a
 * fresh driver instance on the same folders, so the test exercises re-adoption simply by
 * calling it again. Not a product command: the node agent calls the library directly.
 *
 *   runtime_driver [--root R] [--run-dir D] [--store S] CMD ...
 *     run ID IMAGE POD.json CONTAINER LOG [NETNS]  mount + spec + create + start
 *     spec ID IMAGE POD.json CONTAINER              mount + print the spec (then unmount)
 *     status ID | list [PREFIX] | start ID | kill ID SIG | stop ID GRACE_S
 *     delete ID [force] | exec ID [--timeout S] [--stdin TEXT] -- ARGV... | cgroup-rm PATH
 *     logs PATH [tail N] [since RFC3339] [offset N] [timestamps] [stderr|stdout] [limit N]
 *     wait-log PATH OFFSET TIMEOUT_MS
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/image_store.h"
#include "agent/runtime.h"
#include "base/json.h"
#include "base/util.h"

static const char *root = "/tmp/timon-rt/containers", *run_dir = "/tmp/timon-rt/run",
                  *store_root = "/tmp/timon-rt/images";

static int die(terr *e)
{
	fprintf(stderr, "error: %s (%d %s)\n", e ? e->message : "?", e ? e->code : 0,
	        e && e->reason ? e->reason : "");
	terr_free(e);
	return 1;
}

static void print_status(const runtime_status *s)
{
	json_t *j = json_object();
	json_object_set_new(j, "id", json_string(s->id));
	json_object_set_new(j, "state", json_string(runtime_state_name(s->state)));
	json_object_set_new(j, "pid", json_integer(s->pid));
	json_object_set_new(j, "exitCode", json_integer(s->exit_code));
	json_object_set_new(j, "oomKilled", json_boolean(s->oom_killed));
	json_object_set_new(j, "reason", s->reason ? json_string(s->reason) : json_null());
	json_object_set_new(j, "createdNs", json_integer(s->created_ns));
	json_object_set_new(j, "startedNs", json_integer(s->started_ns));
	json_object_set_new(j, "finishedNs", json_integer(s->finished_ns));
	json_object_set_new(j, "logPath", json_string(s->log_path ? s->log_path : ""));
	json_object_set(j, "annotations", s->annotations);
	char *t = json_dumps(j, JSON_COMPACT);
	printf("%s\n", t);
	free(t);
	json_decref(j);
}

/* Mounts the image's rootfs for id and builds its spec. */
static int build(runtime *rt, const char *id, const char *image, const char *podfile,
                 const char *cname, const char *netns, json_t **spec, terr **err)
{
	image_store *s = image_store_open(store_root, err);
	if (!s)
		return -1;
	image_info img;
	image_config cfg;
	char **lower = NULL;
	size_t n = 0;
	int r = -1;
	if (image_store_find(s, image, &img, err) < 0) {
		image_store_close(s);
		return -1;
	}
	if (image_store_config(s, &img, &cfg, err) < 0)
		goto out_img;
	if (image_rootfs_layers(s, &img, &lower, &n, err) < 0)
		goto out_cfg;
	json_error_t je;
	json_t *pod = json_load_file(podfile, 0, &je);
	if (!pod) {
		terr_bad_request(err, "%s: %s", podfile, je.text);
		goto out_lower;
	}
	json_t *ctr = NULL, *c;
	size_t i;
	json_array_foreach(json_path(pod, "spec.containers"), i, c)
	{
		if (str_eq(json_string_value(json_object_get(c, "name")), cname))
			ctr = c;
	}
	if (!ctr) {
		terr_not_found(err, "no container %s in %s", cname, podfile);
		goto out_pod;
	}
	char *rootfs = NULL;
	if (runtime_rootfs_mount(rt, id, lower, n, &rootfs, err) < 0)
		goto out_pod;
	runtime_spec_input in = {
	    .id = id,
	    .pod = pod,
	    .container = ctr,
	    .image = &cfg,
	    .image_ref = image,
	    .rootfs = rootfs,
	    .netns_path = netns,
	};
	r = runtime_spec_build(&in, spec, err);
	free(rootfs);
out_pod:
	json_decref(pod);
out_lower:
	image_strv_free(lower);
out_cfg:
	image_config_free(&cfg);
out_img:
	image_info_free(&img);
	image_store_close(s);
	return r;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	int a = 1;
	while (a + 1 < argc && argv[a][0] == '-' && argv[a][1] == '-') {
		if (!strcmp(argv[a], "--root"))
			root = argv[a + 1];
		else if (!strcmp(argv[a], "--run-dir"))
			run_dir = argv[a + 1];
		else if (!strcmp(argv[a], "--store"))
			store_root = argv[a + 1];
		else
			break;
		a += 2;
	}
	if (a >= argc) {
		fprintf(stderr,
		        "usage: runtime_driver [--root R] [--run-dir D] [--store S] CMD ...\n");
		return 2;
	}
	const char *cmd = argv[a++];
	int left = argc - a;
	char **arg = argv + a;
	terr *e = NULL;

	if (!strcmp(cmd, "logs") && left >= 1) {
		runtime_log_opts o = {.tail = -1};
		int64_t off = 0, next = 0;
		for (int i = 1; i < left; i++) {
			if (!strcmp(arg[i], "tail") && i + 1 < left)
				o.tail = atoll(arg[++i]);
			else if (!strcmp(arg[i], "since") && i + 1 < left)
				time_parse_rfc3339(arg[++i], &o.since_ns);
			else if (!strcmp(arg[i], "offset") && i + 1 < left)
				off = atoll(arg[++i]);
			else if (!strcmp(arg[i], "limit") && i + 1 < left)
				o.limit_bytes = atoll(arg[++i]);
			else if (!strcmp(arg[i], "timestamps"))
				o.timestamps = true;
			else if (!strcmp(arg[i], "stderr"))
				o.streams = RUNTIME_LOG_STDERR;
			else if (!strcmp(arg[i], "stdout"))
				o.streams = RUNTIME_LOG_STDOUT;
		}
		buf out = {0};
		if (runtime_logs_read(arg[0], &o, off, &out, &next, &e) < 0)
			return die(e);
		fwrite(out.p, 1, out.n, stdout);
		fprintf(stderr, "next-offset %lld\n", (long long)next);
		buf_free(&out);
		return 0;
	}
	if (!strcmp(cmd, "wait-log") && left == 3)
		return runtime_logs_wait(arg[0], atoll(arg[1]), atoi(arg[2])) == 1 ? 0 : 3;

	runtime_config rc = {.root = root, .run_dir = run_dir};
	runtime *rt = runtime_open(&rc, &e);
	if (!rt)
		return die(e);
	int ret = 0;
	if ((!strcmp(cmd, "run") && (left == 5 || left == 6)) ||
	    (!strcmp(cmd, "spec") && left == 4)) {
		json_t *spec = NULL;
		if (build(rt, arg[0], arg[1], arg[2], arg[3], left == 6 ? arg[5] : NULL, &spec,
		          &e) < 0) {
			runtime_delete(rt, arg[0], true, NULL);
			ret = die(e);
		} else if (!strcmp(cmd, "spec")) {
			char *t = json_dumps(spec, JSON_INDENT(1));
			printf("%s\n", t);
			free(t);
			runtime_delete(rt, arg[0], true, NULL);
		} else {
			runtime_create_opts o = {.log_path = arg[4]};
			if (runtime_create(rt, arg[0], spec, &o, &e) < 0 ||
			    runtime_start(rt, arg[0], &e) < 0)
				ret = die(e);
			else
				printf("started %s\n", arg[0]);
		}
		json_decref(spec);
	} else if (!strcmp(cmd, "status") && left == 1) {
		runtime_status s;
		if (runtime_status_get(rt, arg[0], &s, &e) < 0) {
			ret = die(e);
		} else {
			print_status(&s);
			runtime_status_free(&s);
		}
	} else if (!strcmp(cmd, "list") && left <= 1) {
		runtime_status *v;
		size_t n;
		if (runtime_list(rt, left ? arg[0] : NULL, &v, &n, &e) < 0) {
			ret = die(e);
		} else {
			for (size_t i = 0; i < n; i++)
				print_status(&v[i]);
			runtime_statuses_free(v, n);
		}
	} else if (!strcmp(cmd, "cgroup-rm") && left == 1) {
		ret = runtime_cgroup_remove(arg[0], &e) < 0 ? die(e) : 0;
	} else if (!strcmp(cmd, "start") && left == 1) {
		ret = runtime_start(rt, arg[0], &e) < 0 ? die(e) : 0;
	} else if (!strcmp(cmd, "kill") && left == 2) {
		ret = runtime_kill(rt, arg[0], atoi(arg[1]), false, &e) < 0 ? die(e) : 0;
	} else if (!strcmp(cmd, "stop") && left == 2) {
		ret = runtime_stop(rt, arg[0], 0, atoi(arg[1]), &e) < 0 ? die(e) : 0;
	} else if (!strcmp(cmd, "delete") && (left == 1 || left == 2)) {
		ret = runtime_delete(rt, arg[0], left == 2 && !strcmp(arg[1], "force"), &e) < 0
		          ? die(e)
		          : 0;
	} else if (!strcmp(cmd, "exec") && left >= 3) {
		runtime_exec_opts o = {0};
		int i = 1;
		for (; i < left && strcmp(arg[i], "--"); i++) {
			if (!strcmp(arg[i], "--timeout") && i + 1 < left)
				o.timeout_s = atoi(arg[++i]);
			else if (!strcmp(arg[i], "--stdin") && i + 1 < left) {
				o.stdin_data = arg[++i];
				o.stdin_len = strlen(o.stdin_data);
			}
		}
		o.argv = arg + i + 1;
		runtime_exec_result res;
		if (runtime_exec(rt, arg[0], &o, &res, &e) < 0) {
			ret = die(e);
		} else {
			fwrite(res.out.p, 1, res.out.n, stdout);
			fwrite(res.err.p, 1, res.err.n, stderr);
			ret = res.exit_code;
			if (res.timed_out)
				fprintf(stderr, "timed out\n");
			runtime_exec_result_free(&res);
		}
	} else {
		fprintf(stderr, "runtime_driver: bad command %s\n", cmd);
		ret = 2;
	}
	runtime_close(rt);
	return ret;
}
