/* test_scheduler.c — the scheduler core against kube-scheduler's documented behaviour
 * (default profile: filters, scores, weights, FailedScheduling messages, preemption).
 * Expected values come from the plugin rules (e.g. LeastAllocated = (alloc - req) * 100 /
 * alloc averaged over cpu and memory; messages sorted as strings). */
#include "test.h"

#include <stdarg.h>

#include "base/util.h"
#include "controllers/scheduler-internal.h"
#include "scheduler/sched-internal.h"
#include "scheduler/sched.h"
#include "store/store.h"

/* ---- builders ---- */

static json_t *jparse(const char *s)
{
	json_error_t e;
	json_t *j = json_loads(s, 0, &e);
	if (!j)
		fprintf(stderr, "  bad test JSON: %s\n  %s\n", e.text, s);
	return j;
}

/* A node: labels and spec/status are JSON fragments (may be ""). alloc is the allocatable
 * map's members. */
static sched_node *mknode(const char *name, const char *alloc, const char *labels, const char *spec)
{
	char *s = xasprintf("{\"metadata\":{\"name\":\"%s\",\"labels\":{\"kubernetes.io/hostname\":"
	                    "\"%s\"%s%s}},\"spec\":{%s},\"status\":{\"allocatable\":{%s}}}",
	                    name, name, *labels ? "," : "", labels, spec, alloc);
	json_t *j = jparse(s);
	sched_node *n = sched_node_from_json(j, NULL);
	json_decref(j);
	free(s);
	return n;
}

static void add_node(sched_snapshot *s, const char *name, const char *alloc, const char *labels,
                     const char *spec)
{
	sched_node *n = mknode(name, alloc, labels, spec);
	sched_snapshot_set_node(s, n);
	sched_node_unref(n);
}

/* A pod with one container: requests and labels are JSON members, extra are more spec
 * members (leading comma). */
static sched_pod *mkpod(const char *name, const char *requests, const char *labels,
                        const char *extra)
{
	char *s = xasprintf("{\"metadata\":{\"name\":\"%s\",\"namespace\":\"default\",\"uid\":"
	                    "\"uid-%s\",\"labels\":{%s}},\"spec\":{\"containers\":[{\"name\":\"c\","
	                    "\"image\":\"busybox:1.36\",\"resources\":{\"requests\":{%s}}}]%s}}",
	                    name, name, labels, requests, extra);
	json_t *j = jparse(s);
	sched_pod *p = sched_pod_from_json(j, NULL);
	json_decref(j);
	free(s);
	return p;
}

/* Places a pod on node (bound). */
static void add_pod(sched_snapshot *s, const char *node, const char *name, const char *requests,
                    const char *labels, const char *extra)
{
	sched_pod *p = mkpod(name, requests, labels, extra);
	sched_snapshot_add_pod(s, p, node);
	sched_pod_unref(p);
}

#define STD_ALLOC "\"cpu\":\"4\",\"memory\":\"8Gi\",\"pods\":\"110\""

/* Schedules a pod; returns the node name (static copy) or the message prefixed "ERR ". */
static const char *sched1_x(sched_snapshot *s, sched_pod *p, const sched_profile *prof, bool commit,
                            bool scored)
{
	static char out[2048];
	sched_result r;
	sched_result_init(&r);
	int rc = sched_schedule(s, p, prof, &r);
	if (rc == SCHED_OK) {
		if (scored)
			snprintf(out, sizeof(out), "%s %lld", r.node_name, (long long)r.score);
		else
			snprintf(out, sizeof(out), "%s", r.node_name);
		if (commit)
			sched_snapshot_commit(s, p, &r);
	} else {
		snprintf(out, sizeof(out), "ERR %s", r.message);
	}
	sched_result_free(&r);
	return out;
}

static const char *sched1(sched_snapshot *s, sched_pod *p, const sched_profile *prof, bool commit)
{
	return sched1_x(s, p, prof, commit, false);
}

/* Full event text (fit + preemption) for a pod that should fail. */
static char *fail_text(sched_snapshot *s, sched_pod *p)
{
	sched_result r;
	sched_result_init(&r);
	char *msg = NULL;
	if (sched_schedule(s, p, NULL, &r) == SCHED_UNSCHEDULABLE) {
		sched_preemption pre;
		sched_preempt(s, p, NULL, &r, NULL, 0, &pre);
		msg = sched_failure_message(&r, &pre);
		sched_preemption_free(&pre);
	}
	sched_result_free(&r);
	return msg ? msg : xstrdup("(scheduled)");
}

/* ---- pod parsing ---- */

TEST(pod_requests_sum_like_kube)
{
	/* k8s: max(sum(containers)=3 cpu / 2G, max(init)=2 cpu / 3G) + overhead. */
	json_t *j = jparse(
	    "{\"metadata\":{\"name\":\"p\",\"namespace\":\"ns\"},\"spec\":{"
	    "\"initContainers\":[{\"name\":\"i1\",\"resources\":{\"requests\":{\"cpu\":\"2\","
	    "\"memory\":\"1G\"}}},{\"name\":\"i2\",\"resources\":{\"requests\":{\"cpu\":\"2\","
	    "\"memory\":\"3G\"}}}],"
	    "\"containers\":[{\"name\":\"c1\",\"resources\":{\"requests\":{\"cpu\":\"2\","
	    "\"memory\":\"1G\"}}},{\"name\":\"c2\",\"resources\":{\"requests\":{\"cpu\":\"1\","
	    "\"memory\":\"1G\"},\"limits\":{\"nvidia.com/gpu\":\"2\"}}}],"
	    "\"overhead\":{\"cpu\":\"250m\"}}}");
	sched_pod *p = sched_pod_from_json(j, NULL);
	REQUIRE(p);
	CHECK_INT(sched_pod_request(p, "cpu"), 3250);
	CHECK_INT(sched_pod_request(p, "memory"), 3000000000LL);
	/* limits stand in for absent requests (API defaulting) */
	CHECK_INT(sched_pod_request(p, "nvidia.com/gpu"), 2);
	CHECK_STR(sched_pod_key(p), "ns/p");
	CHECK_STR(sched_pod_scheduler_name(p), "default-scheduler");
	sched_pod_unref(p);
	json_decref(j);
}

TEST(pod_requests_sidecars)
{
	/* sidecar (restartPolicy Always) 1 cpu runs with the app (2 cpu); the init container
	 * started after it needs 1 + 2.5 = 3.5 > 3: total 3.5 cpu. */
	json_t *j = jparse(
	    "{\"metadata\":{\"name\":\"p\",\"namespace\":\"ns\",\"uid\":\"u\"},\"spec\":{"
	    "\"initContainers\":[{\"name\":\"s\",\"restartPolicy\":\"Always\",\"resources\":"
	    "{\"requests\":{\"cpu\":\"1\"}}},{\"name\":\"i\",\"resources\":{\"requests\":{\"cpu\":"
	    "\"2500m\"}}}],\"containers\":[{\"name\":\"c\",\"resources\":{\"requests\":{\"cpu\":"
	    "\"2\"}}}]}}");
	sched_pod *p = sched_pod_from_json(j, NULL);
	REQUIRE(p);
	CHECK_INT(sched_pod_request(p, "cpu"), 3500);
	CHECK_STR(sched_pod_key(p), "u");
	sched_pod_unref(p);
	json_decref(j);
}

TEST(bad_quantity_is_400)
{
	json_t *j = jparse("{\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":[{\"name\":"
	                   "\"c\",\"resources\":{\"requests\":{\"cpu\":\"lots\"}}}]}}");
	terr *e = NULL;
	CHECK(sched_pod_from_json(j, &e) == NULL);
	CHECK(e && e->code == 400);
	terr_free(e);
	json_decref(j);
}

/* ---- NodeResourcesFit ---- */

TEST(fit_insufficient_cpu_and_too_many_pods)
{
	sched_snapshot *s = sched_snapshot_new();
	add_node(s, "a", "\"cpu\":\"1\",\"memory\":\"1Gi\",\"pods\":\"1\"", "", "");
	add_node(s, "b", "\"cpu\":\"1\",\"memory\":\"1Gi\",\"pods\":\"110\"", "", "");
	add_pod(s, "a", "x", "\"cpu\":\"100m\"", "", "");
	sched_pod *p = mkpod("p", "\"cpu\":\"2\"", "", "");
	/* node a fails with two reasons, b with one; sorted as strings */
	CHECK_STR(sched1(s, p, NULL, false),
	          "ERR 0/2 nodes are available: 1 Too many pods, 2 Insufficient cpu.");
	sched_pod_unref(p);
	p = mkpod("q", "\"cpu\":\"500m\",\"memory\":\"512Mi\"", "", "");
	CHECK_STR(sched1(s, p, NULL, false), "b");
	sched_pod_unref(p);
	sched_snapshot_free(s);
}

TEST(gpu_pod_pending_then_schedulable)
{
	sched_snapshot *s = sched_snapshot_new();
	const char *cp = "\"taints\":[{\"key\":\"node-role.kubernetes.io/control-plane\","
	                 "\"effect\":\"NoSchedule\"}]";
	add_node(s, "cp-1", STD_ALLOC, "", cp);
	add_node(s, "cp-2", STD_ALLOC, "", cp);
	add_node(s, "worker", STD_ALLOC, "", "");
	sched_pod *p = mkpod("train", "\"nvidia.com/gpu\":\"1\"", "", "");
	char *msg = fail_text(s, p);
	CHECK_STR(msg, "0/3 nodes are available: 1 Insufficient nvidia.com/gpu, 2 node(s) had "
	               "untolerated taint {node-role.kubernetes.io/control-plane: }. preemption: "
	               "0/3 nodes are available: 3 Preemption is not helpful for scheduling.");
	free(msg);
	add_node(s, "gpu-node-1", STD_ALLOC ",\"nvidia.com/gpu\":\"2\"", "", "");
	CHECK_STR(sched1(s, p, NULL, true), "gpu-node-1");
	sched_pod_unref(p);
	/* two GPUs: the second pod fits, the third does not */
	p = mkpod("train2", "\"nvidia.com/gpu\":\"1\"", "", "");
	CHECK_STR(sched1(s, p, NULL, true), "gpu-node-1");
	sched_pod_unref(p);
	p = mkpod("train3", "\"nvidia.com/gpu\":\"1\"", "", "");
	msg = fail_text(s, p);
	/* the GPU node is full but could be freed: preemption finds no lower-priority pod */
	CHECK_STR(msg, "0/4 nodes are available: 2 Insufficient nvidia.com/gpu, 2 node(s) had "
	               "untolerated taint {node-role.kubernetes.io/control-plane: }. preemption: "
	               "0/4 nodes are available: 1 No preemption victims found for incoming pod, "
	               "3 Preemption is not helpful for scheduling.");
	free(msg);
	sched_pod_unref(p);
	sched_snapshot_free(s);
}

TEST(hide_taint_values_profile)
{
	sched_snapshot *s = sched_snapshot_new();
	add_node(s, "n", STD_ALLOC, "",
	         "\"taints\":[{\"key\":\"k\",\"value\":\"v\",\"effect\":"
	         "\"NoExecute\"}]");
	sched_profile prof = sched_profile_default;
	prof.hide_taint_values = true;
	sched_pod *p = mkpod("p", "", "", "");
	CHECK_STR(sched1(s, p, &prof, false),
	          "ERR 0/1 nodes are available: 1 node(s) had untolerated taint(s).");
	CHECK_STR(sched1(s, p, NULL, false),
	          "ERR 0/1 nodes are available: 1 node(s) had untolerated taint {k: v}.");
	sched_pod_unref(p);
	sched_snapshot_free(s);
}

/* ---- NodeAffinity ---- */

static const char *GPU_AFFINITY =
    ",\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":"
    "{\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":\"kubernetes.io/hostname\","
    "\"operator\":\"In\",\"values\":[\"gpu-node-1\",\"gpu-node-2\"]}]}]}}}";

TEST(node_affinity_hostnames)
{
	sched_snapshot *s = sched_snapshot_new();
	add_node(s, "cpu-node", STD_ALLOC, "", "");
	add_node(s, "gpu-node-1", STD_ALLOC, "", "");
	add_node(s, "gpu-node-2", STD_ALLOC, "", "");
	const char *seen[4] = {0};
	for (int i = 0; i < 4; i++) {
		char name[16];
		snprintf(name, sizeof(name), "inf-%d", i);
		sched_pod *p = mkpod(name, "\"cpu\":\"2\"", "", GPU_AFFINITY);
		seen[i] = xstrdup(sched1(s, p, NULL, true));
		sched_pod_unref(p);
	}
	/* LeastAllocated spreads over the two allowed nodes, never the cpu node */
	int n1 = 0, n2 = 0;
	for (int i = 0; i < 4; i++) {
		n1 += str_eq(seen[i], "gpu-node-1");
		n2 += str_eq(seen[i], "gpu-node-2");
	}
	CHECK_INT(n1, 2);
	CHECK_INT(n2, 2);
	sched_pod *p = mkpod("inf-5", "\"cpu\":\"2\"", "", GPU_AFFINITY);
	CHECK_STR(sched1(s, p, NULL, false),
	          "ERR 0/3 nodes are available: 1 node(s) didn't match Pod's node "
	          "affinity/selector, 2 Insufficient cpu.");
	sched_pod_unref(p);
	for (int i = 0; i < 4; i++)
		free((char *)seen[i]);
	sched_snapshot_free(s);
}

static const char *affinity_expr(const char *expr)
{
	static char buf[512];
	snprintf(
	    buf, sizeof(buf),
	    ",\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":"
	    "{\"nodeSelectorTerms\":[{%s}]}}}",
	    expr);
	return buf;
}

TEST(node_affinity_operators)
{
	sched_snapshot *s = sched_snapshot_new();
	add_node(s, "small", STD_ALLOC, "\"gpus\":\"2\",\"tier\":\"b\"", "");
	add_node(s, "big", STD_ALLOC, "\"gpus\":\"8\",\"tier\":\"a\",\"fast\":\"\"", "");
	struct {
		const char *expr, *want;
	} cases[] = {
	    {"\"matchExpressions\":[{\"key\":\"gpus\",\"operator\":\"Gt\",\"values\":[\"4\"]}]",
	     "big"},
	    {"\"matchExpressions\":[{\"key\":\"gpus\",\"operator\":\"Lt\",\"values\":[\"4\"]}]",
	     "small"},
	    {"\"matchExpressions\":[{\"key\":\"tier\",\"operator\":\"NotIn\",\"values\":[\"a\"]}]",
	     "small"},
	    {"\"matchExpressions\":[{\"key\":\"fast\",\"operator\":\"Exists\"}]", "big"},
	    {"\"matchExpressions\":[{\"key\":\"fast\",\"operator\":\"DoesNotExist\"}]", "small"},
	    {"\"matchFields\":[{\"key\":\"metadata.name\",\"operator\":\"In\",\"values\":["
	     "\"small\"]}]",
	     "small"},
	    {"\"matchFields\":[{\"key\":\"metadata.name\",\"operator\":\"NotIn\",\"values\":["
	     "\"small\"]}]",
	     "big"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		sched_pod *p = mkpod("p", "", "", affinity_expr(cases[i].expr));
		const char *got = sched1(s, p, NULL, false);
		if (!str_eq(got, cases[i].want))
			fprintf(stderr, "  case %zu: got %s\n", i, got);
		CHECK_STR(got, cases[i].want);
		sched_pod_unref(p);
	}
	/* k8s: a Gt with a non-integer operand makes the term invalid: matches nothing */
	sched_pod *p = mkpod("p", "", "",
	                     affinity_expr("\"matchExpressions\":[{\"key\":\"gpus\","
	                                   "\"operator\":\"Gt\",\"values\":[\"x\"]}]"));
	CHECK_STR(sched1(s, p, NULL, false), "ERR 0/2 nodes are available: 2 node(s) didn't "
	                                     "match Pod's node affinity/selector.");
	sched_pod_unref(p);
	sched_snapshot_free(s);
}

TEST(node_affinity_match_fields_narrows_like_prefilter)
{
	/* k8s: metadata.name In gives a PreFilterResult; other nodes are reported as not
	 * satisfying the NodeAffinity plugin. */
	sched_snapshot *s = sched_snapshot_new();
	add_node(s, "a", "\"cpu\":\"1\",\"memory\":\"1Gi\",\"pods\":\"10\"", "", "");
	add_node(s, "b", STD_ALLOC, "", "");
	add_node(s, "c", STD_ALLOC, "", "");
	sched_pod *p =
	    mkpod("ds", "\"cpu\":\"2\"", "",
	          affinity_expr("\"matchFields\":[{\"key\":\"metadata.name\",\"operator\":"
	                        "\"In\",\"values\":[\"a\"]}]"));
	CHECK_STR(sched1(s, p, NULL, false),
	          "ERR 0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't satisfy "
	          "plugin(s) [NodeAffinity].");
	sched_pod_unref(p);
	/* two terms pinning disjoint names in one term conflict */
	p = mkpod(
	    "ds2", "", "",
	    affinity_expr("\"matchFields\":[{\"key\":\"metadata.name\",\"operator\":\"In\","
	                  "\"values\":[\"a\"]},{\"key\":\"metadata.name\",\"operator\":\"In\","
	                  "\"values\":[\"b\"]}]"));
	CHECK_STR(sched1(s, p, NULL, false), "ERR 0/3 nodes are available: pod affinity terms "
	                                     "conflict.");
	char *msg = fail_text(s, p);
	CHECK_STR(msg, "0/3 nodes are available: pod affinity terms conflict. preemption: 0/3 "
	               "nodes are available: 3 Preemption is not helpful for scheduling.");
	free(msg);
	sched_pod_unref(p);
	sched_snapshot_free(s);
}

TEST(node_selector_and_preferred_affinity)
{
	sched_snapshot *s = sched_snapshot_new();
	add_node(s, "a", STD_ALLOC, "\"disk\":\"ssd\"", "");
	add_node(s, "b", STD_ALLOC, "\"disk\":\"hdd\"", "");
	add_node(s, "c", STD_ALLOC, "\"disk\":\"ssd\",\"zone\":\"z1\"", "");
	sched_pod *p = mkpod("p", "", "", ",\"nodeSelector\":{\"disk\":\"hdd\"}");
	CHECK_STR(sched1(s, p, NULL, false), "b");
	sched_pod_unref(p);
	p = mkpod(
	    "p", "", "",
	    ",\"affinity\":{\"nodeAffinity\":{\"preferredDuringSchedulingIgnoredDuringExecution"
	    "\":[{\"weight\":10,\"preference\":{\"matchExpressions\":[{\"key\":\"zone\","
	    "\"operator\":\"In\",\"values\":[\"z1\"]}]}}]}}");
	CHECK_STR(sched1(s, p, NULL, false), "c");
	sched_pod_unref(p);
	sched_snapshot_free(s);
}

/* ---- taints, cordon, ports, node name ---- */

TEST(taints_and_tolerations)
{
	sched_snapshot *s = sched_snapshot_new();
	add_node(s, "gpu", STD_ALLOC, "",
	         "\"taints\":[{\"key\":\"nvidia.com/gpu\",\"value\":\"present\",\"effect\":"
	         "\"NoSchedule\"}]");
	sched_pod *p = mkpod("p", "", "", "");
	CHECK_STR(sched1(s, p, NULL, false), "ERR 0/1 nodes are available: 1 node(s) had "
	                                     "untolerated taint {nvidia.com/gpu: present}.");
	sched_pod_unref(p);
	const char *tols[] = {
	    ",\"tolerations\":[{\"key\":\"nvidia.com/gpu\",\"operator\":\"Exists\"}]",
	    (",\"tolerations\":[{\"key\":\"nvidia.com/gpu\",\"value\":\"present\",\"effect\":"
	     "\"NoSchedule\"}]"),
	    ",\"tolerations\":[{\"operator\":\"Exists\"}]",
	};
	for (size_t i = 0; i < ARRAY_SIZE(tols); i++) {
		p = mkpod("p", "", "", tols[i]);
		CHECK_STR(sched1(s, p, NULL, false), "gpu");
		sched_pod_unref(p);
	}
	/* wrong value or wrong effect: not tolerated */
	p = mkpod("p", "", "",
	          ",\"tolerations\":[{\"key\":\"nvidia.com/gpu\",\"value\":\"absent\"}]");
	CHECK(strncmp(sched1(s, p, NULL, false), "ERR", 3) == 0);
	sched_pod_unref(p);
	p = mkpod("p", "", "",
	          ",\"tolerations\":[{\"key\":\"nvidia.com/gpu\",\"operator\":\"Exists\","
	          "\"effect\":\"NoExecute\"}]");
	CHECK(strncmp(sched1(s, p, NULL, false), "ERR", 3) == 0);
	sched_pod_unref(p);
	sched_snapshot_free(s);
}

TEST(prefer_no_schedule_only_scores)
{
	sched_snapshot *s = sched_snapshot_new();
	add_node(s, "soft", STD_ALLOC, "",
	         "\"taints\":[{\"key\":\"spot\",\"effect\":\"PreferNoSchedule\"}]");
	add_node(s, "clean", STD_ALLOC, "", "");
	for (int i = 0; i < 3; i++) {
		sched_pod *p = mkpod("p", "", "", "");
		CHECK_STR(sched1(s, p, NULL, false), "clean");
		sched_pod_unref(p);
	}
	sched_snapshot_remove_node(s, "clean");
	sched_pod *p = mkpod("p", "", "", "");
	CHECK_STR(sched1(s, p, NULL, false), "soft"); /* never a filter */
	sched_pod_unref(p);
	sched_snapshot_free(s);
}

TEST(unschedulable_ports_nodename)
{
	sched_snapshot *s = sched_snapshot_new();
	add_node(s, "cordoned", STD_ALLOC, "", "\"unschedulable\":true");
	add_node(s, "busy", STD_ALLOC, "", "");
	add_pod(s, "busy", "web", "", "",
	        ",\"containers\":[{\"name\":\"c\",\"ports\":[{\"containerPort\":80,\"hostPort\":"
	        "8080}]}]");
	sched_pod *p;
	json_t *j = jparse("{\"metadata\":{\"name\":\"p\",\"namespace\":\"default\"},\"spec\":{"
	                   "\"containers\":[{\"name\":\"c\",\"ports\":[{\"containerPort\":80,"
	                   "\"hostPort\":8080}]}]}}");
	p = sched_pod_from_json(j, NULL);
	json_decref(j);
	CHECK_STR(sched1(s, p, NULL, false),
	          "ERR 0/2 nodes are available: 1 node(s) didn't have free ports for the "
	          "requested pod ports, 1 node(s) were unschedulable.");
	sched_pod_unref(p);
	/* the same port over UDP does not conflict */
	j = jparse("{\"metadata\":{\"name\":\"u\",\"namespace\":\"default\"},\"spec\":{"
	           "\"containers\":[{\"name\":\"c\",\"ports\":[{\"containerPort\":80,\"hostPort\":"
	           "8080,\"protocol\":\"UDP\"}]}]}}");
	p = sched_pod_from_json(j, NULL);
	json_decref(j);
	CHECK_STR(sched1(s, p, NULL, false), "busy");
	sched_pod_unref(p);
	/* the unschedulable taint's toleration admits the cordoned node */
	p = mkpod("t", "", "",
	          ",\"nodeName\":\"cordoned\",\"tolerations\":[{\"key\":"
	          "\"node.kubernetes.io/unschedulable\",\"operator\":\"Exists\","
	          "\"effect\":\"NoSchedule\"}]");
	CHECK_STR(sched1(s, p, NULL, false), "cordoned");
	sched_pod_unref(p);
	p = mkpod("n", "", "", ",\"nodeName\":\"nowhere\"");
	CHECK_STR(sched1(s, p, NULL, false),
	          "ERR 0/2 nodes are available: 1 node(s) didn't match the requested node name, "
	          "1 node(s) were unschedulable.");
	sched_pod_unref(p);
	sched_snapshot_free(s);
}

/* ---- PodTopologySpread ---- */

static const char *spread(const char *when, int skew, const char *extra)
{
	static char buf[512];
	snprintf(buf, sizeof(buf),
	         ",\"topologySpreadConstraints\":[{\"maxSkew\":%d,\"topologyKey\":"
	         "\"topology.kubernetes.io/zone\",\"whenUnsatisfiable\":\"%s\",\"labelSelector\":"
	         "{\"matchLabels\":{\"app\":\"web\"}}%s}]",
	         skew, when, extra);
	return buf;
}

static sched_snapshot *zones(void)
{
	sched_snapshot *s = sched_snapshot_new();
	add_node(s, "a1", STD_ALLOC, "\"topology.kubernetes.io/zone\":\"a\"", "");
	add_node(s, "a2", STD_ALLOC, "\"topology.kubernetes.io/zone\":\"a\"", "");
	add_node(s, "b1", STD_ALLOC, "\"topology.kubernetes.io/zone\":\"b\"", "");
	add_pod(s, "a1", "w1", "", "\"app\":\"web\"", "");
	add_pod(s, "a2", "w2", "", "\"app\":\"web\"", "");
	return s;
}

TEST(spread_do_not_schedule)
{
	sched_snapshot *s = zones();
	/* zone a has 2, zone b 0: a would make skew 3-0 > 1 */
	sched_pod *p = mkpod("w3", "", "\"app\":\"web\"", spread("DoNotSchedule", 1, ""));
	CHECK_STR(sched1(s, p, NULL, true), "b1");
	sched_pod_unref(p);
	p = mkpod("w4", "", "\"app\":\"web\"", spread("DoNotSchedule", 1, ""));
	CHECK_STR(sched1(s, p, NULL, true), "b1"); /* a=2, b=1: b again */
	sched_pod_unref(p);
	/* a=2, b=2: both allowed */
	p = mkpod("w5", "", "\"app\":\"web\"", spread("DoNotSchedule", 1, ""));
	CHECK(strncmp(sched1(s, p, NULL, false), "ERR", 3) != 0);
	sched_pod_unref(p);
	/* minDomains 3 with 2 domains: global minimum counts as 0, so 2+1-0 > 1 everywhere */
	p = mkpod("w6", "", "\"app\":\"web\"", spread("DoNotSchedule", 1, ",\"minDomains\":3"));
	CHECK_STR(sched1(s, p, NULL, false), "ERR 0/3 nodes are available: 3 node(s) didn't "
	                                     "match pod topology spread constraints.");
	sched_pod_unref(p);
	/* a node without the zone label is unresolvable */
	add_node(s, "nolabel", STD_ALLOC, "", "");
	p = mkpod("w7", "", "\"app\":\"web\"", spread("DoNotSchedule", 1, ",\"minDomains\":3"));
	CHECK_STR(sched1(s, p, NULL, false),
	          "ERR 0/4 nodes are available: 1 node(s) didn't match pod topology spread "
	          "constraints (missing required label), 3 node(s) didn't match pod topology "
	          "spread constraints.");
	sched_pod_unref(p);
	sched_snapshot_free(s);
}

/* The per-node counts the spread plugin remembers between cycles follow the question (the
 * selector) and the node's pods (added, removed). */
TEST(spread_counts_follow_selectors_and_pods)
{
	static const char *const db =
	    ",\"topologySpreadConstraints\":[{\"maxSkew\":1,\"topologyKey\":"
	    "\"topology.kubernetes.io/zone\",\"whenUnsatisfiable\":\"DoNotSchedule\","
	    "\"labelSelector\":{\"matchLabels\":{\"app\":\"db\"}}}]";
	sched_snapshot *s = zones(); /* web: a1, a2 */
	add_pod(s, "b1", "d1", "", "\"app\":\"db\"", "");
	add_pod(s, "b1", "d2", "", "\"app\":\"db\"", "");
	sched_pod *p = mkpod("w3", "", "\"app\":\"web\"", spread("DoNotSchedule", 1, ""));
	CHECK_STR(sched1(s, p, NULL, false), "b1"); /* web: a=2, b=0 */
	sched_pod_unref(p);
	p = mkpod("d3", "", "\"app\":\"db\"", db);
	CHECK(sched1(s, p, NULL, false)[0] == 'a'); /* db: a=0, b=2 */
	sched_pod_unref(p);
	p = mkpod("w4", "", "\"app\":\"web\"", spread("DoNotSchedule", 1, ""));
	CHECK_STR(sched1(s, p, NULL, false), "b1");
	sched_pod_unref(p);
	/* zone a loses its web pods, zone b gets one: web now a=0, b=1 */
	CHECK(sched_snapshot_remove_pod(s, "uid-w1") == 0);
	CHECK(sched_snapshot_remove_pod(s, "uid-w2") == 0);
	add_pod(s, "b1", "w9", "", "\"app\":\"web\"", "");
	p = mkpod("w5", "", "\"app\":\"web\"", spread("DoNotSchedule", 1, ""));
	CHECK(sched1(s, p, NULL, false)[0] == 'a');
	sched_pod_unref(p);
	sched_snapshot_free(s);
}

TEST(spread_node_affinity_policy)
{
	/* nodeAffinityPolicy Honor (default): zone b is outside the pod's node selector, so it
	 * is not a domain and a's two pods are the minimum. */
	sched_snapshot *s = zones();
	sched_pod *p =
	    mkpod("w3", "", "\"app\":\"web\"",
	          ",\"nodeSelector\":{\"topology.kubernetes.io/zone\":\"a\"}"
	          ",\"topologySpreadConstraints\":[{\"maxSkew\":1,\"topologyKey\":"
	          "\"topology.kubernetes.io/zone\",\"whenUnsatisfiable\":\"DoNotSchedule\","
	          "\"labelSelector\":{\"matchLabels\":{\"app\":\"web\"}}}]");
	CHECK(str_has_prefix(sched1(s, p, NULL, false), "a"));
	sched_pod_unref(p);
	/* Ignore: b counts with 0 pods, a is blocked, b fails the selector */
	p = mkpod("w3", "", "\"app\":\"web\"",
	          ",\"nodeSelector\":{\"topology.kubernetes.io/zone\":\"a\"}"
	          ",\"topologySpreadConstraints\":[{\"maxSkew\":1,\"topologyKey\":"
	          "\"topology.kubernetes.io/zone\",\"whenUnsatisfiable\":\"DoNotSchedule\","
	          "\"nodeAffinityPolicy\":\"Ignore\",\"labelSelector\":{\"matchLabels\":{\"app\":"
	          "\"web\"}}}]");
	CHECK_STR(sched1(s, p, NULL, false),
	          "ERR 0/3 nodes are available: 1 node(s) didn't match Pod's node "
	          "affinity/selector, 2 node(s) didn't match pod topology spread constraints.");
	sched_pod_unref(p);
	sched_snapshot_free(s);
}

TEST(spread_schedule_anyway_scores)
{
	sched_snapshot *s = zones();
	sched_pod *p = mkpod("w3", "", "\"app\":\"web\"", spread("ScheduleAnyway", 1, ""));
	CHECK_STR(sched1(s, p, NULL, true), "b1");
	sched_pod_unref(p);
	/* it never filters: with b full of pods, a node in a is still chosen */
	add_pod(s, "b1", "w9", "", "\"app\":\"web\"", "");
	add_pod(s, "b1", "w10", "", "\"app\":\"web\"", "");
	p = mkpod("w4", "", "\"app\":\"web\"", spread("ScheduleAnyway", 1, ""));
	CHECK(str_has_prefix(sched1(s, p, NULL, false), "a"));
	sched_pod_unref(p);
	sched_snapshot_free(s);
	/* the spread decides, not the least-allocated score: b1 holds the most pods, but
	 * none of app=web */
	s = zones();
	add_pod(s, "b1", "d1", "", "\"app\":\"db\"", "");
	add_pod(s, "b1", "d2", "", "\"app\":\"db\"", "");
	p = mkpod("w5", "", "\"app\":\"web\"", spread("ScheduleAnyway", 1, ""));
	CHECK_STR(sched1(s, p, NULL, false), "b1");
	sched_pod_unref(p);
	p = mkpod("w6", "", "\"app\":\"web\"", "");
	CHECK(str_has_prefix(sched1(s, p, NULL, false), "a")); /* without the spread */
	sched_pod_unref(p);
	sched_snapshot_free(s);
}

/* ---- InterPodAffinity ---- */

static const char *ANTI_HOST =
    ",\"affinity\":{\"podAntiAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":"
    "[{\"labelSelector\":{\"matchLabels\":{\"app\":\"web\"}},\"topologyKey\":"
    "\"kubernetes.io/hostname\"}]}}";

TEST(anti_affinity_one_per_node)
{
	sched_snapshot *s = sched_snapshot_new();
	add_node(s, "n1", STD_ALLOC, "", "");
	add_node(s, "n2", STD_ALLOC, "", "");
	sched_pod *p1 = mkpod("w1", "", "\"app\":\"web\"", ANTI_HOST);
	sched_pod *p2 = mkpod("w2", "", "\"app\":\"web\"", ANTI_HOST);
	sched_pod *p3 = mkpod("w3", "", "\"app\":\"web\"", ANTI_HOST);
	const char *a = xstrdup(sched1(s, p1, NULL, true));
	const char *b = sched1(s, p2, NULL, true);
	CHECK(!str_eq(a, b));
	CHECK_STR(sched1(s, p3, NULL, false),
	          "ERR 0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules.");
	/* a pod without the rule is kept off by the placed pods' anti-affinity */
	sched_pod *plain = mkpod("w4", "", "\"app\":\"web\"", "");
	CHECK_STR(sched1(s, plain, NULL, false), "ERR 0/2 nodes are available: 2 node(s) didn't "
	                                         "satisfy existing pods anti-affinity rules.");
	sched_pod *other = mkpod("db", "", "\"app\":\"db\"", "");
	CHECK(strncmp(sched1(s, other, NULL, false), "ERR", 3) != 0);
	free((char *)a);
	sched_pod_unref(p1);
	sched_pod_unref(p2);
	sched_pod_unref(p3);
	sched_pod_unref(plain);
	sched_pod_unref(other);
	sched_snapshot_free(s);
}

/* A required term of kind (podAffinity, podAntiAffinity) to db pods by zone. */
#define ZONE_DB_TERM(kind)                                                                         \
	",\"affinity\":{\"" kind "\":{\"requiredDuringSchedulingIgnoredDuringExecution\":"           \
	"[{\"labelSelector\":{\"matchLabels\":{\"app\":\"db\"}},\"topologyKey\":"                    \
	"\"topology.kubernetes.io/zone\"}]}}"

static const char *AFF_ZONE_DB = ZONE_DB_TERM("podAffinity");

TEST(affinity_same_zone)
{
	sched_snapshot *s = zones();
	sched_pod *p = mkpod("api", "", "\"app\":\"api\"", AFF_ZONE_DB);
	/* no db pod anywhere and api does not match its own term: nowhere */
	CHECK_STR(sched1(s, p, NULL, false),
	          "ERR 0/3 nodes are available: 3 node(s) didn't match pod affinity rules.");
	add_pod(s, "b1", "db-0", "", "\"app\":\"db\"", "");
	CHECK_STR(sched1(s, p, NULL, false), "b1");
	sched_pod_unref(p);
	/* k8s: the first pod of a self-affine group may go anywhere */
	sched_snapshot *s2 = zones();
	p = mkpod("db-1", "", "\"app\":\"db\"", AFF_ZONE_DB);
	CHECK(strncmp(sched1(s2, p, NULL, false), "ERR", 3) != 0);
	/* asked again as db pods come and go (the counts kept between the cycles): once one
	 * is placed, only its zone (b1, the emptiest node, would win otherwise); when it is
	 * gone, anywhere again */
	add_pod(s2, "a1", "db-0", "", "\"app\":\"db\"", "");
	CHECK_STR(sched1(s2, p, NULL, false), "a2");
	sched_snapshot_remove_pod(s2, "uid-db-0");
	CHECK_STR(sched1(s2, p, NULL, false), "b1");
	sched_pod_unref(p);
	sched_snapshot_free(s2);
	sched_snapshot_free(s);
}

/* Anti-affinity to db pods by zone: a pair that covers every node of a zone. */
static const char *ANTI_ZONE_DB = ZONE_DB_TERM("podAntiAffinity");

TEST(anti_affinity_by_zone_covers_the_zone)
{
	/* a pair under zone blocks every node of the zone (the filter reads per-node counts
	 * kept with the pairs), for the pod's own terms and for placed pods' terms */
	sched_snapshot *s = zones();
	sched_pod *q = mkpod("q", "", "\"app\":\"web\"", ANTI_ZONE_DB);
	add_pod(s, "a1", "db-a", "", "\"app\":\"db\"", "");
	CHECK_STR(sched1(s, q, NULL, false), "b1");
	add_pod(s, "b1", "db-b", "", "\"app\":\"db\"", "");
	CHECK_STR(sched1(s, q, NULL, false),
	          "ERR 0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules.");
	sched_snapshot_remove_pod(s, "uid-db-a");
	CHECK(sched1(s, q, NULL, false)[0] == 'a');
	sched_pod *db = mkpod("db-1", "", "\"app\":\"db\"", "");
	sched_snapshot *s2 = zones();
	add_pod(s2, "a2", "g-a", "", "\"app\":\"guard\"", ANTI_ZONE_DB);
	add_pod(s2, "b1", "g-b", "", "\"app\":\"guard\"", ANTI_ZONE_DB);
	CHECK_STR(sched1(s2, db, NULL, false), "ERR 0/3 nodes are available: 3 node(s) didn't "
	                                       "satisfy existing pods anti-affinity rules.");
	sched_snapshot_remove_pod(s2, "uid-g-b");
	CHECK_STR(sched1(s2, db, NULL, false), "b1");
	sched_pod_unref(db);
	sched_pod_unref(q);
	sched_snapshot_free(s2);
	sched_snapshot_free(s);
}

TEST(preferred_pod_affinity_scores)
{
	sched_snapshot *s = zones();
	add_pod(s, "b1", "cache", "", "\"app\":\"cache\"", "");
	sched_pod *p =
	    mkpod("x", "", "",
	          ",\"affinity\":{\"podAffinity\":{\"preferredDuringSchedulingIgnored"
	          "DuringExecution\":[{\"weight\":100,\"podAffinityTerm\":{"
	          "\"labelSelector\":{\"matchLabels\":{\"app\":\"cache\"}},\"topologyKey\":"
	          "\"kubernetes.io/hostname\"}}]}}");
	CHECK_STR(sched1(s, p, NULL, false), "b1");
	sched_pod_unref(p);
	sched_snapshot_free(s);
}

/* ---- scores: spreading vs bin-packing, exact totals ---- */

TEST(least_allocated_exact_total)
{
	sched_snapshot *s = sched_snapshot_new();
	add_node(s, "a", STD_ALLOC, "", "");
	add_node(s, "b", STD_ALLOC, "", "");
	sched_pod *p = mkpod("p", "\"cpu\":\"1\",\"memory\":\"2Gi\"", "", "");
	sched_result r;
	sched_result_init(&r);
	REQUIRE(sched_schedule(s, p, NULL, &r) == SCHED_OK);
	/* TaintToleration 100*3 + Fit ((4-1)/4, (8-2)/8 -> 75)*1 + Balanced 100*1 */
	CHECK_INT(r.score, 475);
	sched_result_free(&r);
	sched_profile prof = sched_profile_binpack;
	sched_result_init(&r);
	REQUIRE(sched_schedule(s, p, &prof, &r) == SCHED_OK);
	/* MostAllocated: 25 (gpu skipped: not requested) */
	CHECK_INT(r.score, 425);
	sched_result_free(&r);
	sched_pod_unref(p);
	sched_snapshot_free(s);
}

TEST(binpack_vs_spread)
{
	for (int binpack = 0; binpack < 2; binpack++) {
		sched_snapshot *s = sched_snapshot_new();
		add_node(s, "n1", STD_ALLOC, "", "");
		add_node(s, "n2", STD_ALLOC, "", "");
		int on1 = 0;
		for (int i = 0; i < 4; i++) {
			char name[8];
			snprintf(name, sizeof(name), "p%d", i);
			sched_pod *p = mkpod(name, "\"cpu\":\"1\",\"memory\":\"1Gi\"", "", "");
			on1 += str_eq(sched1(s, p, binpack ? &sched_profile_binpack : NULL, true),
			              "n1");
			sched_pod_unref(p);
		}
		CHECK_INT(sched_snapshot_pod_count(s, "n1") + sched_snapshot_pod_count(s, "n2"), 4);
		if (binpack) /* all on one node */
			CHECK(on1 == 0 || on1 == 4);
		else
			CHECK_INT(on1, 2);
		sched_snapshot_free(s);
	}
	CHECK(sched_profile_find(NULL, 0, "timon-binpack") == &sched_profile_binpack);
	CHECK(sched_profile_find(NULL, 0, NULL) == &sched_profile_default);
	CHECK(sched_profile_find(NULL, 0, "other") == NULL);
}

TEST(image_locality_prefers_node_with_image)
{
	sched_snapshot *s = sched_snapshot_new();
	add_node(s, "a", STD_ALLOC, "", "");
	json_t *j = jparse("{\"metadata\":{\"name\":\"b\"},\"status\":{\"allocatable\":{" STD_ALLOC
	                   "},\"images\":[{\"names\":[\"vllm/vllm-openai:v0.6\"],\"sizeBytes\":"
	                   "8000000000}]}}");
	sched_node *n = sched_node_from_json(j, NULL);
	json_decref(j);
	sched_snapshot_set_node(s, n);
	sched_node_unref(n);
	j = jparse("{\"metadata\":{\"name\":\"p\",\"namespace\":\"default\"},\"spec\":{"
	           "\"containers\":[{\"name\":\"c\",\"image\":\"vllm/vllm-openai:v0.6\"}]}}");
	sched_pod *p = sched_pod_from_json(j, NULL);
	json_decref(j);
	for (int i = 0; i < 5; i++)
		CHECK_STR(sched1(s, p, NULL, false), "b");
	sched_pod_unref(p);
	sched_snapshot_free(s);
}

/* ---- percentageOfNodesToScore, assumptions ---- */

TEST(adaptive_percentage_and_rotation)
{
	sched_snapshot *s = sched_snapshot_new();
	for (int i = 0; i < 1000; i++) {
		char name[16];
		snprintf(name, sizeof(name), "n%04d", i);
		add_node(s, name, STD_ALLOC, "", "");
	}
	sched_pod *p = mkpod("p", "\"cpu\":\"100m\"", "", "");
	sched_result r;
	sched_result_init(&r);
	REQUIRE(sched_schedule(s, p, NULL, &r) == SCHED_OK);
	/* k8s: 50 - 1000/125 = 42% of 1000 */
	CHECK_INT(r.feasible, 420);
	CHECK_INT(r.next_start, 420);
	sched_snapshot_commit(s, p, &r);
	sched_pod *q = mkpod("q", "\"cpu\":\"100m\"", "", "");
	REQUIRE(sched_schedule(s, q, NULL, &r) == SCHED_OK);
	CHECK_INT(r.next_start, 840);
	CHECK(r.node_index >= 420 && r.node_index < 840);
	sched_profile all = sched_profile_default;
	all.percentage_of_nodes_to_score = 100;
	REQUIRE(sched_schedule(s, q, &all, &r) == SCHED_OK);
	CHECK_INT(r.feasible, 1000);
	sched_result_free(&r);
	sched_pod_unref(p);
	sched_pod_unref(q);
	sched_snapshot_free(s);
}

TEST(assumptions_fill_nodes)
{
	sched_snapshot *s = sched_snapshot_new();
	add_node(s, "n1", "\"cpu\":\"2\",\"memory\":\"4Gi\",\"pods\":\"110\"", "", "");
	add_node(s, "n2", "\"cpu\":\"2\",\"memory\":\"4Gi\",\"pods\":\"110\"", "", "");
	int ok = 0;
	for (int i = 0; i < 5; i++) {
		char name[8];
		snprintf(name, sizeof(name), "p%d", i);
		sched_pod *p = mkpod(name, "\"cpu\":\"1\"", "", "");
		ok += strncmp(sched1(s, p, NULL, true), "ERR", 3) != 0;
		sched_pod_unref(p);
	}
	CHECK_INT(ok, 4);
	CHECK_INT(sched_snapshot_pod_count(s, "n1"), 2);
	/* forgetting an assumption frees its room */
	CHECK_INT(sched_snapshot_remove_pod(s, "uid-p0"), 0);
	sched_pod *p = mkpod("p9", "\"cpu\":\"1\"", "", "");
	CHECK(strncmp(sched1(s, p, NULL, true), "ERR", 3) != 0);
	sched_pod_unref(p);
	/* pods of an unknown node wait for it */
	add_pod(s, "late", "x", "\"cpu\":\"2\"", "", "");
	CHECK_INT(sched_snapshot_node_count(s), 2);
	add_node(s, "late", "\"cpu\":\"2\",\"memory\":\"4Gi\",\"pods\":\"110\"", "", "");
	CHECK_INT(sched_snapshot_pod_count(s, "late"), 1);
	p = mkpod("p10", "\"cpu\":\"1\"", "", "");
	CHECK_STR(sched1(s, p, NULL, false), "ERR 0/3 nodes are available: 3 Insufficient cpu.");
	sched_pod_unref(p);
	sched_snapshot_free(s);
}

TEST(nominated_pods_hold_their_room)
{
	sched_snapshot *s = sched_snapshot_new();
	add_node(s, "n1", "\"cpu\":\"2\",\"memory\":\"4Gi\",\"pods\":\"110\"", "", "");
	/* a high-priority pod nominated to n1 (after preemption) wanting all of it */
	sched_pod *nom = mkpod("nom", "\"cpu\":\"2\"", "", ",\"priority\":100");
	sched_snapshot_nominate(s, nom, "n1");
	sched_pod *low = mkpod("low", "\"cpu\":\"1\"", "", ",\"priority\":10");
	CHECK_STR(sched1(s, low, NULL, false), "ERR 0/1 nodes are available: 1 Insufficient cpu.");
	/* equal or higher priority is not held back, nor is the nominee itself */
	sched_pod *high = mkpod("high", "\"cpu\":\"1\"", "", ",\"priority\":1000");
	CHECK_STR(sched1(s, high, NULL, false), "n1");
	CHECK_STR(sched1(s, nom, NULL, false), "n1");
	/* once the nominee is placed it counts as a pod, not twice */
	CHECK_STR(sched1(s, nom, NULL, true), "n1");
	CHECK_STR(sched1(s, high, NULL, false), "ERR 0/1 nodes are available: 1 Insufficient cpu.");
	CHECK_INT(sched_snapshot_remove_pod(s, "uid-nom"), 0);
	CHECK_STR(sched1(s, low, NULL, false), "n1");
	/* a forgotten nomination frees the room */
	sched_snapshot_nominate(s, nom, "n1");
	CHECK(strncmp(sched1(s, low, NULL, false), "ERR", 3) == 0);
	sched_snapshot_nominate(s, nom, NULL);
	CHECK_STR(sched1(s, low, NULL, false), "n1");
	sched_pod_unref(nom);
	sched_pod_unref(low);
	sched_pod_unref(high);
	sched_snapshot_free(s);
}

/* ---- preemption ---- */

TEST(preemption_picks_low_priority_victim)
{
	sched_snapshot *s = sched_snapshot_new();
	add_node(s, "n1", "\"cpu\":\"2\",\"memory\":\"4Gi\",\"pods\":\"110\"", "", "");
	add_node(s, "n2", "\"cpu\":\"2\",\"memory\":\"4Gi\",\"pods\":\"110\"", "", "");
	add_pod(s, "n1", "important", "\"cpu\":\"2\"", "", ",\"priority\":1000");
	add_pod(s, "n2", "batch-a", "\"cpu\":\"1\"", "", ",\"priority\":10");
	add_pod(s, "n2", "batch-b", "\"cpu\":\"1\"", "", ",\"priority\":5");
	sched_pod *p = mkpod("serve", "\"cpu\":\"1\"", "", ",\"priority\":100");
	sched_result r;
	sched_result_init(&r);
	REQUIRE(sched_schedule(s, p, NULL, &r) == SCHED_UNSCHEDULABLE);
	CHECK_STR(r.message, "0/2 nodes are available: 2 Insufficient cpu.");
	sched_preemption pre;
	REQUIRE(sched_preempt(s, p, NULL, &r, NULL, 0, &pre) == SCHED_OK);
	CHECK_STR(pre.node_name, "n2");
	REQUIRE(pre.nvictims == 1);
	CHECK_STR(sched_pod_name(pre.victims[0]), "batch-b"); /* the least important one */
	sched_preemption_free(&pre);
	/* a PDB protecting batch-b makes batch-a the victim instead */
	json_t *j = jparse("{\"metadata\":{\"name\":\"pdb\",\"namespace\":\"default\"},\"spec\":"
	                   "{\"selector\":{\"matchLabels\":{\"tier\":\"b\"}}},\"status\":"
	                   "{\"disruptionsAllowed\":0}}");
	sched_pdb *pdb = sched_pdb_from_json(j, NULL);
	json_decref(j);
	sched_snapshot_remove_pod(s, "uid-batch-b");
	add_pod(s, "n2", "batch-b", "\"cpu\":\"1\"", "\"tier\":\"b\"", ",\"priority\":5");
	REQUIRE(sched_schedule(s, p, NULL, &r) == SCHED_UNSCHEDULABLE);
	REQUIRE(sched_preempt(s, p, NULL, &r, &pdb, 1, &pre) == SCHED_OK);
	REQUIRE(pre.nvictims == 1);
	CHECK_STR(sched_pod_name(pre.victims[0]), "batch-a");
	CHECK_INT(pre.pdb_violations, 0);
	sched_preemption_free(&pre);
	sched_pdb_free(pdb);
	sched_pod_unref(p);
	/* lower priority than everything: no victims */
	p = mkpod("low", "\"cpu\":\"1\"", "", ",\"priority\":1");
	char *msg = fail_text(s, p);
	CHECK_STR(msg, "0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are "
	               "available: 2 No preemption victims found for incoming pod.");
	free(msg);
	sched_pod_unref(p);
	p = mkpod("never", "\"cpu\":\"1\"", "", ",\"priority\":100,\"preemptionPolicy\":\"Never\"");
	msg = fail_text(s, p);
	CHECK_STR(msg, "0/2 nodes are available: 2 Insufficient cpu. preemption: not eligible "
	               "due to preemptionPolicy=Never.");
	free(msg);
	sched_pod_unref(p);
	sched_result_free(&r);
	sched_snapshot_free(s);
}

TEST(preemption_prefers_lowest_victim_priority_node)
{
	sched_snapshot *s = sched_snapshot_new();
	add_node(s, "n1", "\"cpu\":\"1\",\"memory\":\"4Gi\",\"pods\":\"110\"", "", "");
	add_node(s, "n2", "\"cpu\":\"1\",\"memory\":\"4Gi\",\"pods\":\"110\"", "", "");
	add_node(s, "n3", "\"cpu\":\"1\",\"memory\":\"4Gi\",\"pods\":\"110\"", "", "");
	add_pod(s, "n1", "mid", "\"cpu\":\"1\"", "", ",\"priority\":50");
	add_pod(s, "n2", "low", "\"cpu\":\"1\"", "", ",\"priority\":10");
	add_pod(s, "n3", "low-a", "\"cpu\":\"500m\"", "", ",\"priority\":10");
	add_pod(s, "n3", "low-b", "\"cpu\":\"500m\"", "", ",\"priority\":10");
	sched_pod *p = mkpod("hi", "\"cpu\":\"1\"", "", ",\"priority\":100");
	sched_result r;
	sched_result_init(&r);
	REQUIRE(sched_schedule(s, p, NULL, &r) == SCHED_UNSCHEDULABLE);
	sched_preemption pre;
	REQUIRE(sched_preempt(s, p, NULL, &r, NULL, 0, &pre) == SCHED_OK);
	/* n2 and n3 tie on highest victim priority (10); n2 has the smaller sum */
	CHECK_STR(pre.node_name, "n2");
	CHECK_INT(pre.nvictims, 1);
	sched_preemption_free(&pre);
	sched_result_free(&r);
	sched_pod_unref(p);
	sched_snapshot_free(s);
}

TEST(preemption_respects_anti_affinity_victims)
{
	/* the node is blocked by a lower-priority pod's anti-affinity: evicting it helps */
	sched_snapshot *s = sched_snapshot_new();
	add_node(s, "n1", STD_ALLOC, "", "");
	add_pod(s, "n1", "old", "", "\"app\":\"web\"", ANTI_HOST);
	sched_pod *p = mkpod("new", "", "\"app\":\"web\"", ",\"priority\":100");
	sched_result r;
	sched_result_init(&r);
	REQUIRE(sched_schedule(s, p, NULL, &r) == SCHED_UNSCHEDULABLE);
	sched_preemption pre;
	REQUIRE(sched_preempt(s, p, NULL, &r, NULL, 0, &pre) == SCHED_OK);
	CHECK_STR(pre.node_name, "n1");
	REQUIRE(pre.nvictims == 1);
	CHECK_STR(sched_pod_name(pre.victims[0]), "old");
	/* the dry run's removal of the victim stays in the dry run: the node is still
	 * blocked for the next cycle, which reuses the kept counts */
	sched_result_free(&r);
	sched_result_init(&r);
	CHECK(sched_schedule(s, p, NULL, &r) == SCHED_UNSCHEDULABLE);
	sched_preemption_free(&pre);
	sched_result_free(&r);
	sched_pod_unref(p);
	sched_snapshot_free(s);
}

TEST(no_nodes)
{
	sched_snapshot *s = sched_snapshot_new();
	sched_pod *p = mkpod("p", "", "", "");
	CHECK_STR(sched1(s, p, NULL, false), "ERR no nodes available to schedule pods");
	sched_pod_unref(p);
	sched_snapshot_free(s);
}

static sched_pod *pod_in(const char *ns, const char *name, const char *labels, const char *extra)
{
	char *s = xasprintf("{\"metadata\":{\"name\":\"%s\",\"namespace\":\"%s\",\"uid\":\"%s-%s\","
	                    "\"labels\":{%s}},\"spec\":{\"containers\":[{\"name\":\"c\"}]%s}}",
	                    name, ns, ns, name, labels, extra);
	json_t *j = jparse(s);
	sched_pod *p = sched_pod_from_json(j, NULL);
	json_decref(j);
	free(s);
	return p;
}

TEST(anti_affinity_namespace_selector)
{
	sched_snapshot *s = sched_snapshot_new();
	add_node(s, "n1", STD_ALLOC, "", "");
	add_node(s, "n2", STD_ALLOC, "", "");
	json_t *team = jparse("{\"team\":\"x\"}");
	sched_snapshot_set_namespace(s, "b", team);
	json_decref(team);
	sched_pod *e1 = pod_in("b", "web", "\"app\":\"web\"", "");
	sched_pod *e2 = pod_in("c", "web", "\"app\":\"web\"", "");
	sched_snapshot_add_pod(s, e1, "n1");
	sched_snapshot_add_pod(s, e2, "n2");
	/* only pods in namespaces labelled team=x count: n1 is excluded, n2 is not */
	sched_pod *p =
	    pod_in("a", "new", "",
	           ",\"affinity\":{\"podAntiAffinity\":{\"requiredDuringScheduling"
	           "IgnoredDuringExecution\":[{\"labelSelector\":{\"matchLabels\":{\"app\":"
	           "\"web\"}},\"namespaceSelector\":{\"matchLabels\":{\"team\":\"x\"}},"
	           "\"topologyKey\":\"kubernetes.io/hostname\"}]}}");
	CHECK_STR(sched1(s, p, NULL, false), "n2");
	sched_pod_unref(p);
	/* without namespaces or namespaceSelector the term covers the pod's own namespace */
	p = pod_in("b", "new2", "", ANTI_HOST);
	CHECK_STR(sched1(s, p, NULL, false), "n2");
	sched_pod_unref(p);
	/* an empty namespaceSelector covers every namespace */
	p = pod_in(
	    "a", "new3", "",
	    ",\"affinity\":{\"podAntiAffinity\":{\"requiredDuringScheduling"
	    "IgnoredDuringExecution\":[{\"labelSelector\":{\"matchLabels\":{\"app\":"
	    "\"web\"}},\"namespaceSelector\":{},\"topologyKey\":\"kubernetes.io/hostname\"}]}}");
	CHECK_STR(sched1(s, p, NULL, false),
	          "ERR 0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules.");
	sched_pod_unref(p);
	sched_pod_unref(e1);
	sched_pod_unref(e2);
	sched_snapshot_free(s);
}

TEST(preemption_counts_pdb_violations_when_unavoidable)
{
	sched_snapshot *s = sched_snapshot_new();
	add_node(s, "n1", "\"cpu\":\"1\",\"memory\":\"4Gi\",\"pods\":\"110\"", "", "");
	add_pod(s, "n1", "guarded", "\"cpu\":\"1\"", "\"app\":\"db\"", ",\"priority\":1");
	json_t *j = jparse("{\"metadata\":{\"name\":\"pdb\",\"namespace\":\"default\"},\"spec\":"
	                   "{\"selector\":{\"matchLabels\":{\"app\":\"db\"}}},\"status\":"
	                   "{\"disruptionsAllowed\":0}}");
	sched_pdb *pdb = sched_pdb_from_json(j, NULL);
	json_decref(j);
	sched_pod *p = mkpod("hi", "\"cpu\":\"1\"", "", ",\"priority\":10");
	sched_result r;
	sched_result_init(&r);
	REQUIRE(sched_schedule(s, p, NULL, &r) == SCHED_UNSCHEDULABLE);
	sched_preemption pre;
	/* k8s: PDBs are best effort — the victim is still chosen, the violation counted */
	REQUIRE(sched_preempt(s, p, NULL, &r, &pdb, 1, &pre) == SCHED_OK);
	CHECK_STR(pre.node_name, "n1");
	CHECK_INT(pre.pdb_violations, 1);
	sched_preemption_free(&pre);
	sched_result_free(&r);
	sched_pdb_free(pdb);
	sched_pod_unref(p);
	sched_snapshot_free(s);
}

/* ---- InterPodAffinity's counts kept between cycles ---- */

typedef struct ipa_op {
	char kind; /* 'p' place a pod, 'r' remove one, 'z' move a node to another zone */
	int a, b, c;
} ipa_op;

static void ipa_apply(sched_snapshot *s, const ipa_op *o)
{
	const char *const extra[] = {"", ANTI_HOST, AFF_ZONE_DB, ANTI_ZONE_DB};
	char name[32], node[32], zone[64];
	if (o->kind == 'p') { /* pod a on node b, labels app=web/db by c&1, terms by c>>1 */
		snprintf(name, sizeof name, "p%d", o->a);
		snprintf(node, sizeof node, "n%d", o->b);
		add_pod(s, node, name, "", o->c & 1 ? "\"app\":\"db\"" : "\"app\":\"web\"",
		        extra[(o->c >> 1) % 4]);
	} else if (o->kind == 'r') {
		snprintf(name, sizeof name, "uid-p%d", o->a); /* the key: the uid (mkpod) */
		sched_snapshot_remove_pod(s, name);
	} else {
		snprintf(node, sizeof node, "n%d", o->a);
		snprintf(zone, sizeof zone, "\"topology.kubernetes.io/zone\":\"z%d\"", o->b);
		add_node(s, node, STD_ALLOC, zone, "");
	}
}

static sched_snapshot *ipa_replay(const ipa_op *ops, size_t n)
{
	sched_snapshot *s = sched_snapshot_new();
	for (int i = 0; i < 8; i++) {
		char node[32], zone[64];
		snprintf(node, sizeof node, "n%d", i);
		snprintf(zone, sizeof zone, "\"topology.kubernetes.io/zone\":\"z%d\"", i % 3);
		add_node(s, node, STD_ALLOC, zone, "");
	}
	for (size_t i = 0; i < n; i++)
		ipa_apply(s, &ops[i]);
	return s;
}

/* Probe p asked of a snapshot built afresh (counting every placed pod) and of one that
 * lived through every change (its kept counts): the same node and score, or the same
 * message. Counts a mismatch (printing the first three); returns whether p was placed. */
static bool replay_probe(sched_snapshot *fresh, sched_snapshot *live, sched_pod *p, int op,
                         int probe, int *mismatches)
{
	char want[2048];
	snprintf(want, sizeof want, "%s", sched1_x(fresh, p, NULL, false, true));
	const char *got = sched1_x(live, p, NULL, false, true);
	if (strcmp(got, want) != 0 && (*mismatches)++ < 3)
		fprintf(stderr, "  op %d probe %d: got %s, want %s\n", op, probe, got, want);
	return strncmp(want, "ERR", 3) != 0;
}

TEST(interpod_kept_counts_match_counting_again)
{
	/* One snapshot lives through every change and answers each probe from its kept
	 * counts; a snapshot built afresh from the same changes answers the same probe by
	 * counting every placed pod. Same placements, scores and messages, every time. */
	/* random changes, then every pod removed in turn (the counts go back to nothing) */
	enum { NRAND = 130, NOPS = 2 * NRAND };
	ipa_op ops[NOPS];
	uint64_t rng = 42;
	sched_snapshot *live = ipa_replay(NULL, 0);
	/* q-aff-db has affinity to its own kind: anywhere while no db pod is placed (the
	 * count of pairs not zero, kept with the counts), else only the zones with one */
	sched_pod *probes[6] = {
	    mkpod("q-anti", "", "\"app\":\"web\"", ANTI_HOST),
	    mkpod("q-aff", "", "\"app\":\"api\"", AFF_ZONE_DB),
	    mkpod("q-plain", "", "\"app\":\"web\"", ""),
	    mkpod("q-anti-db", "", "\"app\":\"db\"", ANTI_HOST),
	    mkpod("q-aff-db", "", "\"app\":\"db\"", AFF_ZONE_DB),
	    mkpod("q-anti-zone", "", "\"app\":\"web\"", ANTI_ZONE_DB),
	};
	int mismatches = 0, answers = 0;
	for (int i = 0; i < NOPS; i++) {
		rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
		uint32_t r = (uint32_t)(rng >> 33);
		if (i >= NRAND)
			ops[i] = (ipa_op){'r', i - NRAND, 0, 0};
		else if (r % 10 < 5)
			ops[i] = (ipa_op){'p', i, (int)(r / 10 % 8), (int)(r / 80 % 8)};
		else if (r % 10 < 8)
			ops[i] = (ipa_op){'r', (int)(r / 10 % (unsigned)(i + 1)), 0, 0};
		else
			ops[i] = (ipa_op){'z', (int)(r / 10 % 8), (int)(r / 80 % 3), 0};
		ipa_apply(live, &ops[i]);
		sched_snapshot *fresh = ipa_replay(ops, (size_t)i + 1);
		/* first the question the last op ended with (its counts catch up with this
		 * op's change), the same again, the others (counted again), and one to end
		 * with for the next op */
		int last = i % 3 == 2 ? 1 : i % 3 == 1 ? 4 : 0, prev = i % 3 == 0 ? 1 : i % 3 == 2 ? 4 : 0;
		int order[7] = {prev, prev, (int)(r % 6), 3, 4, 5, last};
		for (int k = 0; k < 7; k++, answers++)
			replay_probe(fresh, live, probes[order[k]], i, order[k], &mismatches);
		sched_snapshot_free(fresh);
	}
	CHECK(mismatches == 0);
	CHECK(answers == NOPS * 7);
	for (int k = 0; k < 6; k++)
		sched_pod_unref(probes[k]);
	sched_snapshot_free(live);
}

/* One topologySpreadConstraint (when: DoNotSchedule or ScheduleAnyway) on app=APP. */
#define SPREAD_C(when, key, skew, app)                                                             \
	"{\"maxSkew\":" #skew ",\"topologyKey\":\"" key "\",\"whenUnsatisfiable\":\"" when         \
	"\",\"labelSelector\":{\"matchLabels\":{\"app\":\"" app "\"}}}"
#define SPREAD_HARD(key, skew, app) SPREAD_C("DoNotSchedule", key, skew, app)
#define SPREAD_SOFT(key, skew, app) SPREAD_C("ScheduleAnyway", key, skew, app)
#define ZONE                        "topology.kubernetes.io/zone"
#define HOST                        "kubernetes.io/hostname"

TEST(spread_kept_counts_match_counting_again)
{
	/* PodTopologySpread's counts kept in the snapshot between cycles (DoNotSchedule's and
	 * ScheduleAnyway's; the journal of placed pods brings them up to date) answer as
	 * counting every node again does, through pods placed and removed and nodes moved
	 * between zones; probes with inter-pod terms in between make the journal three
	 * readers'. */
	/* random changes, then every pod removed in turn (the counts go back to nothing) */
	enum { NRAND = 130, NOPS = 2 * NRAND };
	ipa_op ops[NOPS];
	uint64_t rng = 7;
	sched_snapshot *live = ipa_replay(NULL, 0);
	sched_pod *probes[7] = {
	    mkpod("s-zone", "", "\"app\":\"web\"",
	          ",\"topologySpreadConstraints\":[" SPREAD_HARD(ZONE, 2, "web") "]"),
	    mkpod("s-two", "", "\"app\":\"web\"",
	          ",\"topologySpreadConstraints\":[" SPREAD_HARD(HOST, 3, "web") "," SPREAD_HARD(
	              ZONE, 3, "web") "]"),
	    mkpod("s-db", "", "\"app\":\"db\"",
	          ",\"topologySpreadConstraints\":[" SPREAD_HARD(ZONE, 2, "db") "]"),
	    mkpod("q-anti", "", "\"app\":\"web\"", ANTI_HOST),
	    /* not kept (node selector honoured): counted each time, for comparison */
	    mkpod("s-sel", "", "\"app\":\"web\"",
	          ",\"nodeSelector\":{\"" ZONE
	          "\":\"z1\"},\"topologySpreadConstraints\":[" SPREAD_HARD(ZONE, 1, "web") "]"),
	    mkpod("a-zone", "", "\"app\":\"web\"",
	          ",\"topologySpreadConstraints\":[" SPREAD_SOFT(ZONE, 1, "web") "]"),
	    mkpod("a-mix", "", "\"app\":\"db\"",
	          ",\"topologySpreadConstraints\":[" SPREAD_HARD(ZONE, 3, "db") "," SPREAD_SOFT(
	              HOST, 1, "db") "," SPREAD_SOFT(ZONE, 1, "db") "]"),
	};
	int mismatches = 0, answers = 0, placed = 0, last = 0, alive[NOPS], nalive = 0;
	for (int i = 0; i < NOPS; i++) {
		rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
		uint32_t r = (uint32_t)(rng >> 33);
		if (r % 10 < 6 || nalive == 0) {
			ops[i] = (ipa_op){'p', i, (int)(r / 10 % 8), (int)(r / 80 % 2)};
			alive[nalive++] = i;
		} else if (r % 10 < 9) { /* a placed pod goes */
			int k = (int)(r / 10 % (unsigned)nalive);
			ops[i] = (ipa_op){'r', alive[k], 0, 0};
			alive[k] = alive[--nalive];
		} else {
			ops[i] = (ipa_op){'z', (int)(r / 10 % 8), (int)(r / 80 % 3), 0};
		}
		ipa_apply(live, &ops[i]);
		sched_snapshot *fresh = ipa_replay(ops, (size_t)i + 1);
		/* first the question the last iteration ended with (its kept counts catch up with
		 * this op), the same again, any, an inter-pod one, and one to end with */
		const int kept[5] = {0, 1, 2, 5, 6};
		int next = kept[r / 7 % 5];
		int order[5] = {last, last, (int)(r % 7), 3, next};
		last = next;
		for (int k = 0; k < 5; k++, answers++)
			placed +=
			    replay_probe(fresh, live, probes[order[k]], i, order[k], &mismatches);
		sched_snapshot_free(fresh);
	}
	CHECK(mismatches == 0);
	CHECK(answers == NOPS * 5);
	/* both answers occur: the skew both admits and refuses */
	CHECK(placed > 0 && placed < answers);
	for (int k = 0; k < 7; k++)
		sched_pod_unref(probes[k]);
	sched_snapshot_free(live);
}

/* ---- the component's state: the pod's tree a binding hands back to the cache ---- */

static void st_apply(sch_state *st, uint8_t kind, const char *key, json_t *obj, int64_t rev)
{
	sch_event ev = {.kind = kind, .type = STORE_ADDED, .key = (char *)key, .obj = obj, .rev = rev};
	sch_state_apply(st, &ev, sch_now_ms());
}

static json_t *st_pod(const char *name, const char *cpu)
{
	char *s = xasprintf("{\"metadata\":{\"name\":\"%s\",\"namespace\":\"d\",\"uid\":\"u-%s\"},"
	                    "\"spec\":{\"priority\":0,\"schedulerName\":\"default-scheduler\","
	                    "\"containers\":[{\"name\":\"c\",\"resources\":{\"requests\":"
	                    "{\"cpu\":\"%s\"}}}]}}",
	                    name, name, cpu);
	json_t *j = jparse(s);
	free(s);
	return j;
}

static const sch_action *st_action(const sch_state *st, const char *name)
{
	for (size_t i = 0; i < st->nacts; i++)
		if (strcmp(st->acts[i].name, name) == 0)
			return &st->acts[i];
	return NULL;
}

/* A state with the pods' prefix set and one node, n1 (its tree in *node, the caller's). */
static sch_state *st_with_node(json_t **node)
{
	sch_state *st = sch_state_new();
	st->pod_prefix = xstrdup("/registry/pods/");
	*node = jparse("{\"metadata\":{\"name\":\"n1\",\"labels\":{\"kubernetes.io/"
	               "hostname\":\"n1\"}},\"status\":{\"allocatable\":{" STD_ALLOC "}}}");
	st_apply(st, SCH_NODE, "/registry/minions/n1", *node, 1);
	return st;
}

TEST(binding_carries_the_attempted_version_tree)
{
	json_t *node;
	sch_state *st = st_with_node(&node);
	/* fits, and was updated before its attempt: the binding gets the latest version */
	json_t *a1 = st_pod("a", "1"), *a2 = st_pod("a", "1");
	st_apply(st, SCH_POD, "/registry/pods/d/a", a1, 5);
	st_apply(st, SCH_POD, "/registry/pods/d/a", a2, 6);
	/* does not fit: its attempt fails and lets its tree go */
	json_t *big = st_pod("big", "64");
	st_apply(st, SCH_POD, "/registry/pods/d/big", big, 7);
	CHECK(a1->refcount == 1); /* the older version is no longer held */
	REQUIRE(sch_cycle_batch(st, sch_now_ms()) == 2);
	const sch_action *ba = st_action(st, "a"), *fa = st_action(st, "big");
	REQUIRE(ba && fa);
	CHECK(ba->kind == ACT_BIND);
	CHECK(ba->tree == a2);
	CHECK(ba->tree_rev == 6);
	CHECK(fa->kind == ACT_FAIL);
	CHECK(fa->tree == NULL);
	sch_pod *pa = hmap_get(&st->pods, "/registry/pods/d/a");
	sch_pod *pb = hmap_get(&st->pods, "/registry/pods/d/big");
	REQUIRE(pa && pb);
	CHECK(pa->tree == NULL); /* moved into the action, not shared with it */
	CHECK(pb->tree == NULL);
	CHECK(big->refcount == 1);
	CHECK(a2->refcount == 2);
	sch_state_free(st); /* disposes the actions */
	CHECK(a2->refcount == 1);
	json_decref(a1);
	json_decref(a2);
	json_decref(big);
	json_decref(node);
}

static void st_modify(sch_state *st, const char *key, json_t *obj, int64_t rev, uint8_t kept)
{
	sch_event ev = {.kind = SCH_POD, .type = STORE_MODIFIED, .key = (char *)key, .obj = obj,
	                .rev = rev, .kept = kept};
	sch_state_apply(st, &ev, sch_now_ms());
}

/* A bound pod's status write (spec, labels and deletion mark shared with the version
 * before) is read in place: the start time a full parse gives, no new parse; a change of
 * nominated node, a finished phase or a write that is not status-only go the full way. */
TEST(bound_pod_status_write_read_in_place)
{
	json_t *node;
	sch_state *st = st_with_node(&node);
	json_t *a = st_pod("a", "1");
	json_object_set_new(json_object_get(a, "spec"), "nodeName", json_string("n1"));
	st_apply(st, SCH_POD, "/registry/pods/d/a", a, 2);
	sch_pod *p = hmap_get(&st->pods, "/registry/pods/d/a");
	REQUIRE(p && p->where == W_BOUND && p->sp);
	CHECK_INT(sched_snapshot_pod_count(st->snap, "n1"), 1);
	sched_pod *first = p->sp;
	CHECK(first->start_ns == INT64_MAX);

	json_t *running = json_deep_copy(a);
	json_object_set_new(running, "status",
	                    jparse("{\"phase\":\"Running\",\"startTime\":\"2026-11-29T10:00:00Z\","
	                           "\"conditions\":[{\"type\":\"DisruptionTarget\",\"status\":"
	                           "\"True\",\"reason\":\"PreemptionByScheduler\"}]}"));
	st_modify(st, "/registry/pods/d/a", running, 3, SCH_KEPT_SPEC);
	sched_pod *full = sched_pod_from_json(running, NULL);
	REQUIRE(full);
	CHECK(p->sp == first); /* read in place */
	CHECK(p->sp->start_ns == full->start_ns && full->start_ns != INT64_MAX);
	CHECK(p->sp->preempted && full->preempted);
	sched_pod_unref(full);
	CHECK_INT(sched_snapshot_pod_count(st->snap, "n1"), 1);

	/* the same write without the status-only mark: parsed again */
	st_modify(st, "/registry/pods/d/a", running, 4, SCH_KEPT_NOTHING);
	CHECK(p->sp != first);
	sched_pod *second = p->sp;
	/* a nominated node that differs: parsed again */
	json_t *nominated = json_deep_copy(running);
	json_object_set_new(json_object_get(nominated, "status"), "nominatedNodeName",
	                    json_string("n2"));
	st_modify(st, "/registry/pods/d/a", nominated, 5, SCH_KEPT_SPEC);
	CHECK(p->sp != second);
	CHECK_INT(sched_snapshot_pod_count(st->snap, "n1"), 1);
	/* finished: the pod leaves the node's accounting */
	json_t *done = json_deep_copy(running);
	json_object_set_new(json_object_get(done, "status"), "phase", json_string("Succeeded"));
	st_modify(st, "/registry/pods/d/a", done, 6, SCH_KEPT_SPEC);
	CHECK_INT(sched_snapshot_pod_count(st->snap, "n1"), 0);
	sch_state_free(st);
	json_decref(a);
	json_decref(running);
	json_decref(nominated);
	json_decref(done);
	json_decref(node);
}

/* The binding of the pod assumed on a node, keeping every other member of its spec, sets
 * nodeName in the parse it has; the binding of a pod not assumed there is parsed. */
TEST(assumed_pod_binding_read_in_place)
{
	json_t *node;
	sch_state *st = st_with_node(&node);
	json_t *a = st_pod("a", "1");
	st_apply(st, SCH_POD, "/registry/pods/d/a", a, 2);
	REQUIRE(sch_cycle_batch(st, sch_now_ms()) == 1);
	sch_pod *p = hmap_get(&st->pods, "/registry/pods/d/a");
	REQUIRE(p && p->where == W_BINDING && p->assumed && p->sp);
	sched_pod *assumed = p->sp;
	CHECK(assumed->node_name == NULL);
	json_t *bound = json_copy(a);
	json_object_set_new(bound, "spec", json_copy(json_object_get(a, "spec")));
	json_object_set_new(json_object_get(bound, "spec"), "nodeName", json_string("n1"));
	CHECK(sch_write_kept(bound, a) == SCH_KEPT_SPEC_NODE);
	st_modify(st, "/registry/pods/d/a", bound, 3, SCH_KEPT_SPEC_NODE);
	CHECK(p->where == W_BOUND && !p->assumed);
	CHECK(p->sp == assumed);
	CHECK_STR(p->sp->node_name, "n1");
	CHECK_INT(sched_snapshot_pod_count(st->snap, "n1"), 1);
	/* a pod nobody assumed, bound by someone else: parsed */
	json_t *b = st_pod("b", "1");
	json_object_set_new(json_object_get(b, "spec"), "schedulerName", json_string("other"));
	st_apply(st, SCH_POD, "/registry/pods/d/b", b, 4);
	sch_pod *q = hmap_get(&st->pods, "/registry/pods/d/b");
	REQUIRE(q && q->where == W_NONE);
	json_t *bb = json_copy(b);
	json_object_set_new(bb, "spec", json_copy(json_object_get(b, "spec")));
	json_object_set_new(json_object_get(bb, "spec"), "nodeName", json_string("n1"));
	st_modify(st, "/registry/pods/d/b", bb, 5, SCH_KEPT_SPEC_NODE);
	CHECK(q->where == W_BOUND && q->sp && q->sp->node_name && str_eq(q->sp->node_name, "n1"));
	CHECK_INT(sched_snapshot_pod_count(st->snap, "n1"), 2);
	/* relabeled while its binding was on the way (not parsed then): its binding is parsed,
	 * even though it kept every member of the version before */
	json_t *c = st_pod("c", "1");
	st_apply(st, SCH_POD, "/registry/pods/d/c", c, 6);
	REQUIRE(sch_cycle_batch(st, sch_now_ms()) == 1);
	sch_pod *r = hmap_get(&st->pods, "/registry/pods/d/c");
	REQUIRE(r && r->where == W_BINDING);
	sched_pod *before = r->sp;
	json_t *c2 = json_copy(c);
	json_object_set_new(c2, "metadata", json_copy(json_object_get(c, "metadata")));
	json_object_set_new(json_object_get(c2, "metadata"), "labels", jparse("{\"x\":\"y\"}"));
	st_modify(st, "/registry/pods/d/c", c2, 7, SCH_KEPT_NOTHING);
	CHECK(r->sp == before); /* the binding's answer decides */
	json_t *c3 = json_copy(c2);
	json_object_set_new(c3, "spec", json_copy(json_object_get(c2, "spec")));
	json_object_set_new(json_object_get(c3, "spec"), "nodeName", json_string("n1"));
	st_modify(st, "/registry/pods/d/c", c3, 8, SCH_KEPT_SPEC_NODE);
	CHECK(r->where == W_BOUND && r->sp != before);
	CHECK(r->sp->labels.n == 1);
	sch_state_free(st);
	json_decref(a);
	json_decref(bound);
	json_decref(b);
	json_decref(bb);
	json_decref(c);
	json_decref(c2);
	json_decref(c3);
	json_decref(node);
}

/* What a write kept is told by the very nodes: a version that shares the spec and deletion
 * mark and has equal labels (as a status write builds it) kept its spec; one whose spec
 * shares every member but nodeName (a binding) kept that; an equal copy of the spec is not
 * the same node. */
TEST(write_kept_by_shared_nodes)
{
	json_t *prev = jparse("{\"metadata\":{\"name\":\"a\",\"labels\":{\"x\":\"1\"}},"
	                      "\"spec\":{\"schedulerName\":\"s\",\"priority\":0},\"status\":{}}");
	json_t *st = json_copy(prev); /* shares every member */
	json_object_set_new(st, "metadata", json_copy(json_object_get(prev, "metadata")));
	json_object_set_new(st, "status", jparse("{\"phase\":\"Running\"}"));
	CHECK(sch_write_kept(st, prev) == SCH_KEPT_SPEC);
	json_t *relabeled = json_copy(st);
	json_object_set_new(relabeled, "metadata", json_copy(json_object_get(st, "metadata")));
	json_object_set_new(json_object_get(relabeled, "metadata"), "labels",
	                    jparse("{\"x\":\"1\"}")); /* a copy, equal: kept */
	CHECK(sch_write_kept(relabeled, prev) == SCH_KEPT_SPEC);
	json_object_set_new(json_object_get(relabeled, "metadata"), "labels",
	                    jparse("{\"x\":\"2\"}"));
	CHECK(sch_write_kept(relabeled, prev) == SCH_KEPT_NOTHING);
	json_object_del(json_object_get(relabeled, "metadata"), "labels");
	CHECK(sch_write_kept(relabeled, prev) == SCH_KEPT_NOTHING);
	json_t *respec = json_copy(st);
	json_object_set_new(respec, "spec", json_deep_copy(json_object_get(prev, "spec")));
	CHECK(sch_write_kept(respec, prev) == SCH_KEPT_NOTHING);
	json_t *deleting = json_copy(st);
	json_object_set_new(deleting, "metadata", json_copy(json_object_get(st, "metadata")));
	json_object_set_new(json_object_get(deleting, "metadata"), "deletionTimestamp",
	                    json_string("2026-11-29T10:00:00Z"));
	CHECK(sch_write_kept(deleting, prev) == SCH_KEPT_NOTHING);
	/* a binding: the spec copied, nodeName added */
	json_t *bound = json_copy(prev);
	json_object_set_new(bound, "spec", json_copy(json_object_get(prev, "spec")));
	json_object_set_new(json_object_get(bound, "spec"), "nodeName", json_string("n1"));
	CHECK(sch_write_kept(bound, prev) == SCH_KEPT_SPEC_NODE);
	/* ... and another member changed, or one dropped */
	json_t *more = json_copy(bound);
	json_object_set_new(more, "spec", json_copy(json_object_get(bound, "spec")));
	json_object_set_new(json_object_get(more, "spec"), "priority", json_integer(0));
	CHECK(sch_write_kept(more, prev) == SCH_KEPT_NOTHING);
	json_t *fewer = json_copy(bound);
	json_object_set_new(fewer, "spec", json_copy(json_object_get(bound, "spec")));
	json_object_del(json_object_get(fewer, "spec"), "priority");
	CHECK(sch_write_kept(fewer, prev) == SCH_KEPT_NOTHING);
	CHECK(sch_write_kept(st, NULL) == SCH_KEPT_NOTHING);
	CHECK(sch_write_kept(NULL, prev) == SCH_KEPT_NOTHING);
	json_decref(prev);
	json_decref(st);
	json_decref(relabeled);
	json_decref(respec);
	json_decref(deleting);
	json_decref(bound);
	json_decref(more);
	json_decref(fewer);
}
