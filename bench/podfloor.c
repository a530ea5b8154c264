/* podfloor.c — the floor for bench/podstart.sh: the least a pod start costs on this
 * machine. For each of N containers it wires a network namespace through timon's own CNI
 * library (cni_setup: netns, bridge + host-local, loopback; the same chain the agent runs),
 * mounts an overlay over an already unpacked image rootfs, writes config.json from a
 * template (`runc spec` made read-write, the netns joined, the command set) and runs a bare
 * `runc run -d` (no conmon, no image store, no API). P threads take the N jobs in turn.
 * Prints one line per container: `FLOOR i=<n> start_ms=<from batch start> done_ms=<...>`,
 * where done is when `runc run -d` returned (the process is running).
 * `podfloor clean ...` removes what `run` made (runc delete -f, umount, cni_teardown).
 * Not a product command; it links build/libtimon.a for the CNI code only.
 *
 *   podfloor run|clean --dir D --lower ROOTFS --template CONFIG.json --bridge BR
 *                      --cidr CIDR --n N --par P [--prefix ID_PREFIX]
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "agent/cni.h"
#include "base/error.h"

extern char **environ;

static const char *dir, *lower, *template_path, *bridge, *cidr, *prefix = "floor";
static int n = 1, par = 1, next_job;
static json_t *template;
static cni_config cni;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static double t0;
static double *start_ms, *done_ms;
static int failures;

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Runs argv with stdio on /dev/null; the exit status, or -1. */
static int run(char *const *argv)
{
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	pid_t pid;
	int r = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0)
		return -1;
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void id_of(int i, char *id, size_t len) { snprintf(id, len, "%s-%d", prefix, i); }

static int start_one(int i)
{
	char id[64], path[400], runc_root[512], rootfs[512], upper[512], work[512], opts[2048];
	id_of(i, id, sizeof id);
	const char *cidrs[1] = {cidr};
	cni_pod cp = {.namespace = "bench", .name = id, .uid = id, .sandbox_id = id,
	              .pod_cidrs = cidrs, .n_pod_cidrs = 1};
	cni_result res = {0};
	terr *err = NULL;
	if (cni_setup(&cni, &cp, &res, &err) < 0) {
		fprintf(stderr, "podfloor: %s: cni: %s\n", id, err ? err->message : "?");
		terr_free(err);
		return -1;
	}
	snprintf(path, sizeof path, "%s/bundles/%s", dir, id);
	snprintf(rootfs, sizeof rootfs, "%s/rootfs", path);
	snprintf(upper, sizeof upper, "%s/upper", path);
	snprintf(work, sizeof work, "%s/work", path);
	if (mkdir(path, 0700) < 0 || mkdir(rootfs, 0755) < 0 || mkdir(upper, 0755) < 0 ||
	    mkdir(work, 0700) < 0) {
		fprintf(stderr, "podfloor: %s: mkdir: %s\n", id, strerror(errno));
		cni_result_free(&res);
		return -1;
	}
	snprintf(opts, sizeof opts, "lowerdir=%s,upperdir=%s,workdir=%s", lower, upper, work);
	if (mount("overlay", rootfs, "overlay", 0, opts) < 0) {
		fprintf(stderr, "podfloor: %s: overlay: %s\n", id, strerror(errno));
		cni_result_free(&res);
		return -1;
	}
	json_t *spec = json_deep_copy(template);
	json_t *ns;
	size_t k;
	json_array_foreach(json_object_get(json_object_get(spec, "linux"), "namespaces"), k, ns)
	{
		if (!strcmp(json_string_value(json_object_get(ns, "type")), "network"))
			json_object_set_new(ns, "path", json_string(res.netns_path));
	}
	char cg[128];
	snprintf(cg, sizeof cg, "/%s/%s", prefix, id); /* the caller removes /<prefix> */
	json_object_set_new(json_object_get(spec, "linux"), "cgroupsPath", json_string(cg));
	json_object_set_new(spec, "hostname", json_string(id));
	cni_result_free(&res);
	char cfg[600];
	snprintf(cfg, sizeof cfg, "%s/config.json", path);
	int w = json_dump_file(spec, cfg, JSON_COMPACT);
	json_decref(spec);
	if (w < 0)
		return -1;
	snprintf(runc_root, sizeof runc_root, "%s/runc", dir);
	char *argv[] = {"runc", "--root", runc_root, "run", "-d", "--bundle", path, id, NULL};
	int rc = run(argv);
	if (rc != 0)
		fprintf(stderr, "podfloor: %s: runc run exited %d\n", id, rc);
	return rc == 0 ? 0 : -1;
}

static void clean_one(int i)
{
	char id[64], path[400], rootfs[512], runc_root[512];
	id_of(i, id, sizeof id);
	snprintf(runc_root, sizeof runc_root, "%s/runc", dir);
	char *argv[] = {"runc", "--root", runc_root, "delete", "-f", id, NULL};
	run(argv);
	snprintf(path, sizeof path, "%s/bundles/%s", dir, id);
	snprintf(rootfs, sizeof rootfs, "%s/rootfs", path);
	umount2(rootfs, MNT_DETACH);
	cni_pod cp = {.sandbox_id = id};
	terr *err = NULL;
	if (cni_teardown(&cni, &cp, &err) < 0) {
		fprintf(stderr, "podfloor: %s: cni teardown: %s\n", id, err ? err->message : "?");
		terr_free(err);
	}
}

static bool cleaning;

static void *worker(void *arg)
{
	(void)arg;
	for (;;) {
		pthread_mutex_lock(&mu);
		int i = next_job < n ? next_job++ : -1;
		pthread_mutex_unlock(&mu);
		if (i < 0)
			return NULL;
		if (cleaning) {
			clean_one(i);
			continue;
		}
		start_ms[i] = now_ms() - t0;
		int r = start_one(i);
		done_ms[i] = now_ms() - t0;
		if (r < 0) {
			pthread_mutex_lock(&mu);
			failures++;
			pthread_mutex_unlock(&mu);
			done_ms[i] = -1;
		}
	}
}

int main(int argc, char **argv)
{
	if (argc < 2 || (strcmp(argv[1], "run") && strcmp(argv[1], "clean")))
		goto usage;
	cleaning = !strcmp(argv[1], "clean");
	for (int a = 2; a + 1 < argc; a += 2) {
		const char *k = argv[a], *v = argv[a + 1];
		if (!strcmp(k, "--dir"))
			dir = v;
		else if (!strcmp(k, "--lower"))
			lower = v;
		else if (!strcmp(k, "--template"))
			template_path = v;
		else if (!strcmp(k, "--bridge"))
			bridge = v;
		else if (!strcmp(k, "--cidr"))
			cidr = v;
		else if (!strcmp(k, "--n"))
			n = atoi(v);
		else if (!strcmp(k, "--par"))
			par = atoi(v);
		else if (!strcmp(k, "--prefix"))
			prefix = v;
		else
			goto usage;
	}
	if (!dir || !lower || !template_path || !bridge || !cidr || n < 1 || n > 10000 || par < 1 ||
	    par > 64 || strlen(dir) > 200 || strlen(lower) > 900 || strlen(prefix) > 40)
		goto usage;
	static char state[512], netns[512], bundles[512];
	snprintf(state, sizeof state, "%s/cni-state", dir);
	snprintf(netns, sizeof netns, "%s/netns", dir);
	snprintf(bundles, sizeof bundles, "%s/bundles", dir);
	mkdir(state, 0700);
	mkdir(netns, 0755);
	mkdir(bundles, 0700);
	/* As the agent configures CNI: pod egress is one nftables rule per node (made once,
	 * outside the timed path), not the bridge plugin's per-pod iptables (ipMasq). */
	cni = (cni_config){.state_dir = state, .netns_dir = netns, .bridge = bridge,
	                   .network = "timon-bench-floor", .no_ip_masq = true};
	json_error_t je;
	template = json_load_file(template_path, 0, &je);
	if (!template) {
		fprintf(stderr, "podfloor: %s: %s\n", template_path, je.text);
		return 1;
	}
	start_ms = calloc(n, sizeof *start_ms);
	done_ms = calloc(n, sizeof *done_ms);
	pthread_t th[64];
	t0 = now_ms();
	for (int i = 0; i < par; i++)
		pthread_create(&th[i], NULL, worker, NULL);
	for (int i = 0; i < par; i++)
		pthread_join(th[i], NULL);
	if (!cleaning)
		for (int i = 0; i < n; i++)
			printf("FLOOR i=%d start_ms=%.1f done_ms=%.1f\n", i, start_ms[i], done_ms[i]);
	json_decref(template);
	return failures ? 1 : 0;
usage:
	fprintf(stderr, "usage: podfloor run|clean --dir D --lower ROOTFS --template CONFIG.json "
	                "--bridge BR --cidr CIDR --n N --par P [--prefix P]\n");
	return 2;
}
