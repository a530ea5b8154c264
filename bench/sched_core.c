/* sched_core.c — micro-benchmark of the scheduler core: N nodes, M pods scheduled one after
 * the other on one snapshot, each decision assumed (committed) before the next, as the
 * scheduler loop does. Reports pods/s for the decision alone and for JSON parsing.
 * Not for: end-to-end numbers (API writes, binding, events).
 *
 * Build and run by hand:
 *   make build/libtimon.a
 *   cc -O2 -std=c17 -D_GNU_SOURCE -Isrc bench/sched_core.c build/libtimon.a \
 *      $(pkg-config --libs libuv openssl jansson yaml-0.1 sqlite3) -lhttp_parser -lpthread -lm \
 *      -o build/sched_core && build/sched_core [nodes] [pods] [mode]
 * mode: plain (default), spread (zone ScheduleAnyway + hostname anti-affinity on 1 pod in 10),
 * binpack, anti (every pod with required hostname anti-affinity to the others, as
 * scheduler_perf's pod-with-pod-anti-affinity), zonespread (DoNotSchedule by zone, maxSkew 1,
 * as bench/scheduler.sh's spread variant).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "scheduler/sched.h"

static sched_node *make_node(int i)
{
	char *s = xasprintf(
	    "{\"metadata\":{\"name\":\"node-%05d\",\"labels\":{\"kubernetes.io/hostname\":"
	    "\"node-%05d\",\"topology.kubernetes.io/zone\":\"zone-%d\",\"kubernetes.io/os\":"
	    "\"linux\",\"node.kubernetes.io/instance-type\":\"m5.8xlarge\"}},\"spec\":{%s},"
	    "\"status\":{\"allocatable\":{\"cpu\":\"32\",\"memory\":\"128Gi\",\"pods\":\"110\","
	    "\"ephemeral-storage\":\"100Gi\"%s},\"images\":[{\"names\":[\"registry.k8s.io/"
	    "pause:3.10\"],"
	    "\"sizeBytes\":300000}]}}",
	    i, i, i % 10,
	    i % 50 == 0
	        ? "\"taints\":[{\"key\":\"dedicated\",\"value\":\"gpu\",\"effect\":\"NoSchedule\"}]"
	        : "",
	    i % 50 == 0 ? ",\"nvidia.com/gpu\":\"8\"" : "");
	json_t *j = json_loads(s, 0, NULL);
	sched_node *n = sched_node_from_json(j, NULL);
	json_decref(j);
	free(s);
	return n;
}

static sched_pod *make_pod(int i, const char *mode)
{
	const char *extra = "";
	if (strcmp(mode, "spread") == 0)
		extra =
		    i % 10 == 0
		        ? ",\"affinity\":{\"podAntiAffinity\":{\"requiredDuringSchedulingIgnored"
		          "DuringExecution\":[{\"labelSelector\":{\"matchLabels\":{\"app\":"
		          "\"db\"}},\"topologyKey\":\"kubernetes.io/hostname\"}]}}"
		        : ",\"topologySpreadConstraints\":[{\"maxSkew\":1,\"topologyKey\":"
		          "\"topology.kubernetes.io/"
		          "zone\",\"whenUnsatisfiable\":\"ScheduleAnyway\","
		          "\"labelSelector\":{\"matchLabels\":{\"app\":\"web\"}}}]";
	else if (strcmp(mode, "zonespread") == 0)
		extra = ",\"topologySpreadConstraints\":[{\"maxSkew\":1,\"topologyKey\":"
		        "\"topology.kubernetes.io/zone\",\"whenUnsatisfiable\":\"DoNotSchedule\","
		        "\"labelSelector\":{\"matchLabels\":{\"app\":\"web\"}}}]";
	else if (strcmp(mode, "binpack") == 0)
		extra = ",\"schedulerName\":\"timon-binpack\"";
	else if (strcmp(mode, "anti") == 0)
		extra = ",\"affinity\":{\"podAntiAffinity\":{\"requiredDuringSchedulingIgnored"
		        "DuringExecution\":[{\"labelSelector\":{\"matchLabels\":{\"app\":"
		        "\"web\"}},\"topologyKey\":\"kubernetes.io/hostname\",\"namespaces\":"
		        "[\"default\",\"other\"]}]}}";
	const char *app = strcmp(mode, "spread") == 0 && i % 10 == 0 ? "db" : "web";
	char *s =
	    xasprintf("{\"metadata\":{\"name\":\"pod-%06d\",\"namespace\":\"default\","
	              "\"uid\":\"uid-%06d\",\"labels\":{\"app\":\"%s\"}},\"spec\":{"
	              "\"containers\":[{\"name\":\"c\",\"image\":\"nginx:1.27\",\"resources\":"
	              "{\"requests\":{\"cpu\":\"500m\",\"memory\":\"1Gi\"}}}]%s}}",
	              i, i, app, extra);
	json_t *j = json_loads(s, 0, NULL);
	sched_pod *p = sched_pod_from_json(j, NULL);
	json_decref(j);
	free(s);
	return p;
}

static double now(void)
{
	return (double)time_mono_ns() / 1e9;
}

int main(int argc, char **argv)
{
	int nnodes = argc > 1 ? atoi(argv[1]) : 5000;
	int npods = argc > 2 ? atoi(argv[2]) : 10000;
	const char *mode = argc > 3 ? argv[3] : "plain";
	sched_snapshot *snap = sched_snapshot_new();
	double t0 = now();
	for (int i = 0; i < nnodes; i++) {
		sched_node *n = make_node(i);
		sched_snapshot_set_node(snap, n);
		sched_node_unref(n);
	}
	double t1 = now();
	sched_pod **pods = xmalloc((size_t)npods * sizeof(*pods));
	for (int i = 0; i < npods; i++)
		pods[i] = make_pod(i, mode);
	double t2 = now();
	sched_result r;
	sched_result_init(&r);
	int ok = 0, failed = 0;
	size_t evaluated = 0;
	for (int i = 0; i < npods; i++) {
		const sched_profile *prof = sched_profile_find(
		    NULL, 0, strcmp(mode, "binpack") == 0 ? "timon-binpack" : NULL);
		if (sched_schedule(snap, pods[i], prof, &r) == SCHED_OK) {
			sched_snapshot_commit(snap, pods[i], &r);
			ok++;
		} else {
			failed++;
		}
		evaluated += r.evaluated;
	}
	double t3 = now();
	printf("nodes=%d pods=%d mode=%s scheduled=%d failed=%d avg_nodes_filtered=%.0f\n", nnodes,
	       npods, mode, ok, failed, (double)evaluated / npods);
	printf("parse: %.0f nodes/s, %.0f pods/s\n", nnodes / (t1 - t0), npods / (t2 - t1));
	printf("schedule+assume: %.3f s, %.0f pods/s (%.1f us/pod)\n", t3 - t2, npods / (t3 - t2),
	       (t3 - t2) * 1e6 / npods);
	sched_result_free(&r);
	for (int i = 0; i < npods; i++)
		sched_pod_unref(pods[i]);
	free(pods);
	sched_snapshot_free(snap);
	return 0;
}
