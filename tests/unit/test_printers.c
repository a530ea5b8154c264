/* test_printers.c — Table columns and cells against what kube-apiserver 1.32 returns for
 * the same objects (values from kube's printers and duration.HumanDuration), plus the
 * JSONPath subset used by CRD printer columns. */
#include "test.h"

#include "api/jsonpath.h"
#include "api/kind.h"
#include "api/printers.h"
#include "base/buf.h"
#include "base/json.h"
#include "base/util.h"

/* Every object is seen at NOW = 2024-05-01T12:00:00Z. */
static int64_t now_ns(void)
{
	int64_t t = 0;
	time_parse_rfc3339("2024-05-01T12:00:00Z", &t);
	return t;
}

static json_t *load(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);
	if (!j)
		fprintf(stderr, "  bad test JSON: %s (line %d)\n", e.text, e.line);
	return j;
}

static const kind_desc *kind(const char *group, const char *version, const char *k)
{
	kind_registry_init();
	return kind_by_gvk(group, version, k);
}

/* The cells of obj as compact JSON, for one-line comparisons. */
static char *cells_of(const char *group, const char *version, const char *k, const char *obj)
{
	const kind_desc *d = kind(group, version, k);
	if (!d)
		return xstrdup("(no kind)");
	_cleanup_json_ json_t *o = load(obj);
	_cleanup_json_ json_t *cells = printer_cells(d, o, now_ns());
	return json_dump_compact(cells);
}

static char *column_names(const kind_desc *d)
{
	_cleanup_json_ json_t *cols = printer_columns(d);
	buf b = {0};
	size_t i;
	json_t *c;
	json_array_foreach(cols, i, c) {
		buf_printf(&b, "%s%s", i ? "|" : "", json_path_str(c, "name"));
		if (json_integer_value(json_object_get(c, "priority")) > 0)
			buf_puts(&b, "*");
	}
	return buf_take(&b);
}

static char *hd(int64_t ns)
{
	char out[32];
	printer_human_duration(ns, out);
	return xstrdup(out);
}

#define SEC 1000000000LL
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)
#define CHECK_HD(ns, want)                                                                   \
	do {                                                                                 \
		_cleanup_free_ char *s_ = hd(ns);                                            \
		CHECK_STR(s_, want);                                                         \
	} while (0)
#define CHECK_CELLS(g, v, k, obj, want)                                                      \
	do {                                                                                 \
		_cleanup_free_ char *s_ = cells_of(g, v, k, obj);                            \
		CHECK_STR(s_, want);                                                         \
	} while (0)

TEST(human_duration_boundaries)
{
	CHECK_HD(-3 * SEC, "<invalid>");
	CHECK_HD(-2 * SEC, "<invalid>");
	CHECK_HD(-1500 * 1000000LL, "0s"); /* -1.5s truncates to -1: skew tolerated */
	CHECK_HD(0, "0s");
	CHECK_HD(5 * SEC, "5s");
	CHECK_HD(119 * SEC, "119s");
	CHECK_HD(120 * SEC, "2m");
	CHECK_HD(182 * SEC, "3m2s");
	CHECK_HD(9 * MIN + 59 * SEC, "9m59s");
	CHECK_HD(10 * MIN + 30 * SEC, "10m");
	CHECK_HD(179 * MIN, "179m");
	CHECK_HD(180 * MIN, "3h");
	CHECK_HD(5 * HOUR + 30 * MIN, "5h30m");
	CHECK_HD(7 * HOUR + 59 * MIN, "7h59m");
	CHECK_HD(8 * HOUR + 30 * MIN, "8h");
	CHECK_HD(47 * HOUR, "47h");
	CHECK_HD(48 * HOUR, "2d");
	CHECK_HD(51 * HOUR, "2d3h");
	CHECK_HD(7 * DAY + 23 * HOUR, "7d23h");
	CHECK_HD(8 * DAY, "8d");
	CHECK_HD(729 * DAY, "729d");
	CHECK_HD(730 * DAY, "2y");
	CHECK_HD(750 * DAY, "2y20d");
	CHECK_HD(8 * 365 * DAY, "8y");
	CHECK_HD(9 * 365 * DAY + 100 * DAY, "9y");
}

TEST(deployment_row_and_columns)
{
	const kind_desc *d = kind("apps", "v1", "Deployment");
	REQUIRE(d);
	_cleanup_free_ char *names = column_names(d);
	CHECK_STR(names, "Name|Ready|Up-to-date|Available|Age|Containers*|Images*|Selector*");
	CHECK_CELLS("apps", "v1", "Deployment",
	            "{\"metadata\":{\"name\":\"nginx\",\"creationTimestamp\":\"2024-05-01T11:55:00Z\"},"
	            "\"spec\":{\"replicas\":3,\"selector\":{\"matchLabels\":{\"app\":\"nginx\"}},"
	            "\"template\":{\"spec\":{\"containers\":[{\"name\":\"nginx\",\"image\":\"nginx:1.25\"},"
	            "{\"name\":\"log\",\"image\":\"busybox\"}]}}},"
	            "\"status\":{\"replicas\":3,\"readyReplicas\":2,\"updatedReplicas\":3,"
	            "\"availableReplicas\":2}}",
	            "[\"nginx\",\"2/3\",3,2,\"5m\",\"nginx,log\",\"nginx:1.25,busybox\",\"app=nginx\"]");
	/* selector requirements sorted by key, In values sorted */
	CHECK_CELLS("apps", "v1", "Deployment",
	            "{\"metadata\":{\"name\":\"api\"},\"spec\":{\"selector\":{\"matchLabels\":"
	            "{\"tier\":\"web\"},\"matchExpressions\":[{\"key\":\"env\",\"operator\":\"In\","
	            "\"values\":[\"prod\",\"dev\"]},{\"key\":\"canary\",\"operator\":\"DoesNotExist\"}]}}}",
	            "[\"api\",\"0/1\",0,0,\"<unknown>\",\"\",\"\",\"!canary,env in (dev,prod),tier=web\"]");

	_cleanup_json_ json_t *cols = printer_columns(d);
	json_t *c0 = json_array_get(cols, 0), *c1 = json_array_get(cols, 1);
	CHECK_STR(json_path_str(c0, "format"), "name");
	CHECK_STR(json_path_str(c0, "type"), "string");
	CHECK_STR(json_path_str(c1, "format"), "");
	CHECK(json_is_string(json_object_get(c1, "description")));
	CHECK_INT(json_object_size(c1), 5);
}

#define POD_META "\"metadata\":{\"name\":\"web\",\"creationTimestamp\":\"2024-05-01T11:50:00Z\"}"
#define ONE_CONTAINER "\"spec\":{\"nodeName\":\"n1\",\"containers\":[{\"name\":\"app\",\"image\":\"nginx\"}]}"

TEST(pod_running)
{
	const kind_desc *d = kind("", "v1", "Pod");
	REQUIRE(d);
	_cleanup_free_ char *names = column_names(d);
	CHECK_STR(names, "Name|Ready|Status|Restarts|Age|IP*|Node*|Nominated Node*|Readiness Gates*");
	CHECK_CELLS("", "v1", "Pod",
	            "{" POD_META "," ONE_CONTAINER ",\"status\":{\"phase\":\"Running\",\"podIP\":\"10.42.0.5\","
	            "\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}],"
	            "\"containerStatuses\":[{\"name\":\"app\",\"ready\":true,\"restartCount\":0,"
	            "\"state\":{\"running\":{\"startedAt\":\"2024-05-01T11:50:05Z\"}}}]}}",
	            "[\"web\",\"1/1\",\"Running\",\"0\",\"10m\",\"10.42.0.5\",\"n1\",\"<none>\",\"<none>\"]");
}

TEST(pod_crashloop_and_restarts)
{
	CHECK_CELLS("", "v1", "Pod",
	            "{" POD_META "," ONE_CONTAINER ",\"status\":{\"phase\":\"Running\","
	            "\"containerStatuses\":[{\"name\":\"app\",\"ready\":false,\"restartCount\":5,"
	            "\"state\":{\"waiting\":{\"reason\":\"CrashLoopBackOff\"}},"
	            "\"lastState\":{\"terminated\":{\"exitCode\":1,\"reason\":\"Error\","
	            "\"finishedAt\":\"2024-05-01T11:59:30Z\"}}}]}}",
	            "[\"web\",\"0/1\",\"CrashLoopBackOff\",\"5 (30s ago)\",\"10m\",\"<none>\",\"n1\","
	            "\"<none>\",\"<none>\"]");
}

TEST(pod_completed_and_row_condition)
{
	const char *obj =
	    "{" POD_META "," ONE_CONTAINER ",\"status\":{\"phase\":\"Succeeded\","
	    "\"containerStatuses\":[{\"name\":\"app\",\"ready\":false,\"restartCount\":0,"
	    "\"state\":{\"terminated\":{\"exitCode\":0,\"reason\":\"Completed\"}}}]}}";
	CHECK_CELLS("", "v1", "Pod", obj,
	            "[\"web\",\"0/1\",\"Completed\",\"0\",\"10m\",\"<none>\",\"n1\",\"<none>\",\"<none>\"]");
	_cleanup_json_ json_t *o = load(obj);
	_cleanup_json_ json_t *conds = printer_row_conditions(kind("", "v1", "Pod"), o);
	REQUIRE(json_array_size(conds) == 1);
	CHECK_STR(json_path_str(json_array_get(conds, 0), "type"), "Completed");
	CHECK_STR(json_path_str(json_array_get(conds, 0), "reason"), "Succeeded");
	/* exit code without a reason */
	CHECK_CELLS("", "v1", "Pod",
	            "{" POD_META "," ONE_CONTAINER ",\"status\":{\"phase\":\"Failed\","
	            "\"containerStatuses\":[{\"name\":\"app\",\"state\":{\"terminated\":{\"exitCode\":137}}}]}}",
	            "[\"web\",\"0/1\",\"ExitCode:137\",\"0\",\"10m\",\"<none>\",\"n1\",\"<none>\",\"<none>\"]");
}

TEST(pod_terminating_pending_creating)
{
	CHECK_CELLS("", "v1", "Pod",
	            "{\"metadata\":{\"name\":\"web\",\"creationTimestamp\":\"2024-05-01T11:50:00Z\","
	            "\"deletionTimestamp\":\"2024-05-01T11:59:50Z\"}," ONE_CONTAINER
	            ",\"status\":{\"phase\":\"Running\",\"containerStatuses\":[{\"name\":\"app\","
	            "\"ready\":true,\"state\":{\"running\":{}}}]}}",
	            "[\"web\",\"1/1\",\"Terminating\",\"0\",\"10m\",\"<none>\",\"n1\",\"<none>\",\"<none>\"]");
	CHECK_CELLS("", "v1", "Pod",
	            "{" POD_META ",\"spec\":{\"containers\":[{\"name\":\"app\"}]},\"status\":{\"phase\":\"Pending\"}}",
	            "[\"web\",\"0/1\",\"Pending\",\"0\",\"10m\",\"<none>\",\"<none>\",\"<none>\",\"<none>\"]");
	CHECK_CELLS("", "v1", "Pod",
	            "{" POD_META "," ONE_CONTAINER ",\"status\":{\"phase\":\"Pending\",\"containerStatuses\":"
	            "[{\"name\":\"app\",\"state\":{\"waiting\":{\"reason\":\"ContainerCreating\"}}}]}}",
	            "[\"web\",\"0/1\",\"ContainerCreating\",\"0\",\"10m\",\"<none>\",\"n1\",\"<none>\",\"<none>\"]");
	CHECK_CELLS("", "v1", "Pod",
	            "{" POD_META ",\"spec\":{\"containers\":[{\"name\":\"app\"}],\"schedulingGates\":"
	            "[{\"name\":\"g\"}]},\"status\":{\"phase\":\"Pending\",\"conditions\":[{\"type\":"
	            "\"PodScheduled\",\"status\":\"False\",\"reason\":\"SchedulingGated\"}]}}",
	            "[\"web\",\"0/1\",\"SchedulingGated\",\"0\",\"10m\",\"<none>\",\"<none>\",\"<none>\",\"<none>\"]");
}

#define TWO_INITS                                                                            \
	"\"spec\":{\"initContainers\":[{\"name\":\"i1\"},{\"name\":\"i2\"}],"                \
	"\"containers\":[{\"name\":\"app\"}]}"

TEST(pod_init_containers)
{
	CHECK_CELLS("", "v1", "Pod",
	            "{" POD_META "," TWO_INITS ",\"status\":{\"phase\":\"Pending\",\"initContainerStatuses\":["
	            "{\"name\":\"i1\",\"state\":{\"terminated\":{\"exitCode\":0,\"reason\":\"Completed\"}}},"
	            "{\"name\":\"i2\",\"state\":{\"running\":{}}}],"
	            "\"containerStatuses\":[{\"name\":\"app\",\"state\":{\"waiting\":{\"reason\":\"PodInitializing\"}}}]}}",
	            "[\"web\",\"0/1\",\"Init:1/2\",\"0\",\"10m\",\"<none>\",\"<none>\",\"<none>\",\"<none>\"]");
	CHECK_CELLS("", "v1", "Pod",
	            "{" POD_META "," TWO_INITS ",\"status\":{\"phase\":\"Pending\",\"initContainerStatuses\":["
	            "{\"name\":\"i1\",\"restartCount\":2,\"state\":{\"terminated\":{\"exitCode\":1,\"reason\":\"Error\"}}}]}}",
	            "[\"web\",\"0/1\",\"Init:Error\",\"2\",\"10m\",\"<none>\",\"<none>\",\"<none>\",\"<none>\"]");
	CHECK_CELLS("", "v1", "Pod",
	            "{" POD_META "," TWO_INITS ",\"status\":{\"phase\":\"Pending\",\"initContainerStatuses\":["
	            "{\"name\":\"i1\",\"state\":{\"waiting\":{\"reason\":\"ImagePullBackOff\"}}}]}}",
	            "[\"web\",\"0/1\",\"Init:ImagePullBackOff\",\"0\",\"10m\",\"<none>\",\"<none>\",\"<none>\",\"<none>\"]");
	CHECK_CELLS("", "v1", "Pod",
	            "{" POD_META "," TWO_INITS ",\"status\":{\"phase\":\"Pending\",\"initContainerStatuses\":["
	            "{\"name\":\"i1\",\"state\":{\"terminated\":{\"exitCode\":3}}}]}}",
	            "[\"web\",\"0/1\",\"Init:ExitCode:3\",\"0\",\"10m\",\"<none>\",\"<none>\",\"<none>\",\"<none>\"]");
}

TEST(pod_sidecar_and_readiness_gates)
{
	CHECK_CELLS("", "v1", "Pod",
	            "{" POD_META ",\"spec\":{\"initContainers\":[{\"name\":\"proxy\",\"restartPolicy\":\"Always\"}],"
	            "\"containers\":[{\"name\":\"app\"}],\"readinessGates\":[{\"conditionType\":\"lb/ready\"},"
	            "{\"conditionType\":\"other\"}]},"
	            "\"status\":{\"phase\":\"Running\",\"podIPs\":[{\"ip\":\"10.1.0.9\"}],"
	            "\"conditions\":[{\"type\":\"Initialized\",\"status\":\"True\"},{\"type\":\"lb/ready\",\"status\":\"True\"}],"
	            "\"initContainerStatuses\":[{\"name\":\"proxy\",\"started\":true,\"ready\":true,\"restartCount\":1,"
	            "\"state\":{\"running\":{}},\"lastState\":{\"terminated\":{\"exitCode\":1,\"finishedAt\":\"2024-05-01T11:57:00Z\"}}}],"
	            "\"containerStatuses\":[{\"name\":\"app\",\"ready\":true,\"state\":{\"running\":{}}}]}}",
	            "[\"web\",\"2/2\",\"Running\",\"1 (3m ago)\",\"10m\",\"10.1.0.9\",\"<none>\",\"<none>\",\"1/2\"]");
}

#define SVC_META "\"metadata\":{\"name\":\"web\",\"creationTimestamp\":\"2024-04-29T09:00:00Z\"}"

TEST(services)
{
	const kind_desc *d = kind("", "v1", "Service");
	REQUIRE(d);
	_cleanup_free_ char *names = column_names(d);
	CHECK_STR(names, "Name|Type|Cluster-IP|External-IP|Port(s)|Age|Selector*");
	CHECK_CELLS("", "v1", "Service",
	            "{" SVC_META ",\"spec\":{\"type\":\"ClusterIP\",\"clusterIP\":\"10.43.0.10\","
	            "\"clusterIPs\":[\"10.43.0.10\"],\"selector\":{\"app\":\"web\",\"tier\":\"fe\"},"
	            "\"ports\":[{\"port\":80,\"protocol\":\"TCP\"},{\"port\":53,\"protocol\":\"UDP\"}]}}",
	            "[\"web\",\"ClusterIP\",\"10.43.0.10\",\"<none>\",\"80/TCP,53/UDP\",\"2d3h\",\"app=web,tier=fe\"]");
	CHECK_CELLS("", "v1", "Service",
	            "{" SVC_META ",\"spec\":{\"type\":\"NodePort\",\"clusterIPs\":[\"10.43.0.11\"],"
	            "\"ports\":[{\"port\":80,\"nodePort\":30080,\"protocol\":\"TCP\"}]}}",
	            "[\"web\",\"NodePort\",\"10.43.0.11\",\"<none>\",\"80:30080/TCP\",\"2d3h\",\"<none>\"]");
	CHECK_CELLS("", "v1", "Service",
	            "{" SVC_META ",\"spec\":{\"type\":\"LoadBalancer\",\"clusterIPs\":[\"10.43.0.12\"],"
	            "\"ports\":[{\"port\":443,\"nodePort\":31443,\"protocol\":\"TCP\"}]},\"status\":{}}",
	            "[\"web\",\"LoadBalancer\",\"10.43.0.12\",\"<pending>\",\"443:31443/TCP\",\"2d3h\",\"<none>\"]");
	CHECK_CELLS("", "v1", "Service",
	            "{" SVC_META ",\"spec\":{\"type\":\"LoadBalancer\",\"clusterIPs\":[\"10.43.0.12\"],"
	            "\"externalIPs\":[\"1.2.3.4\"],\"ports\":[]},\"status\":{\"loadBalancer\":{\"ingress\":"
	            "[{\"ip\":\"192.168.1.20\"},{\"hostname\":\"lb.example.com\"},{\"ip\":\"192.168.1.10\"}]}}}",
	            "[\"web\",\"LoadBalancer\",\"10.43.0.12\",\"192.168.1.10,192.168.1.20,lb.example.com,1.2.3.4\","
	            "\"<none>\",\"2d3h\",\"<none>\"]");
	CHECK_CELLS("", "v1", "Service",
	            "{" SVC_META ",\"spec\":{\"type\":\"ClusterIP\",\"clusterIPs\":[\"None\"],\"ports\":[{\"port\":5432,\"protocol\":\"TCP\"}]}}",
	            "[\"web\",\"ClusterIP\",\"None\",\"<none>\",\"5432/TCP\",\"2d3h\",\"<none>\"]");
	CHECK_CELLS("", "v1", "Service",
	            "{" SVC_META ",\"spec\":{\"type\":\"ExternalName\",\"externalName\":\"db.example.com\"}}",
	            "[\"web\",\"ExternalName\",\"<none>\",\"db.example.com\",\"<none>\",\"2d3h\",\"<none>\"]");
}

TEST(node)
{
	const kind_desc *d = kind("", "v1", "Node");
	REQUIRE(d);
	_cleanup_free_ char *names = column_names(d);
	CHECK_STR(names, "Name|Status|Roles|Age|Version|Internal-IP*|External-IP*|OS-Image*|"
	                 "Kernel-Version*|Container-Runtime*");
	CHECK_CELLS("", "v1", "Node",
	            "{\"metadata\":{\"name\":\"n1\",\"creationTimestamp\":\"2024-04-01T12:00:00Z\","
	            "\"labels\":{\"node-role.kubernetes.io/master\":\"\",\"node-role.kubernetes.io/control-plane\":\"\","
	            "\"kubernetes.io/hostname\":\"n1\"}},\"spec\":{\"unschedulable\":true},"
	            "\"status\":{\"conditions\":[{\"type\":\"MemoryPressure\",\"status\":\"False\"},"
	            "{\"type\":\"Ready\",\"status\":\"True\"}],\"addresses\":[{\"type\":\"Hostname\",\"address\":\"n1\"},"
	            "{\"type\":\"InternalIP\",\"address\":\"192.168.0.5\"}],\"nodeInfo\":{\"kubeletVersion\":\"v1.32.0\","
	            "\"osImage\":\"Debian GNU/Linux 12 (bookworm)\",\"kernelVersion\":\"6.1.0\"}}}",
	            "[\"n1\",\"Ready,SchedulingDisabled\",\"control-plane,master\",\"30d\",\"v1.32.0\","
	            "\"192.168.0.5\",\"<none>\",\"Debian GNU/Linux 12 (bookworm)\",\"6.1.0\",\"<unknown>\"]");
	CHECK_CELLS("", "v1", "Node", "{\"metadata\":{\"name\":\"n2\"},\"status\":{}}",
	            "[\"n2\",\"Unknown\",\"<none>\",\"<unknown>\",\"\",\"<none>\",\"<none>\",\"<unknown>\","
	            "\"<unknown>\",\"<unknown>\"]");
	CHECK_CELLS("", "v1", "Node",
	            "{\"metadata\":{\"name\":\"n3\",\"labels\":{\"kubernetes.io/role\":\"gpu\"}},\"status\":"
	            "{\"conditions\":[{\"type\":\"Ready\",\"status\":\"Unknown\"}]}}",
	            "[\"n3\",\"NotReady\",\"gpu\",\"<unknown>\",\"\",\"<none>\",\"<none>\",\"<unknown>\","
	            "\"<unknown>\",\"<unknown>\"]");
}

TEST(jobs)
{
	const kind_desc *d = kind("batch", "v1", "Job");
	REQUIRE(d);
	_cleanup_free_ char *names = column_names(d);
	CHECK_STR(names, "Name|Status|Completions|Duration|Age|Containers*|Images*|Selector*");
	CHECK_CELLS("batch", "v1", "Job",
	            "{\"metadata\":{\"name\":\"pi\",\"creationTimestamp\":\"2024-05-01T11:58:00Z\"},"
	            "\"spec\":{\"completions\":1,\"parallelism\":1,\"selector\":{\"matchLabels\":"
	            "{\"batch.kubernetes.io/controller-uid\":\"u1\"}},\"template\":{\"spec\":{\"containers\":"
	            "[{\"name\":\"pi\",\"image\":\"perl:5.34\"}]}}},\"status\":{\"succeeded\":1,"
	            "\"startTime\":\"2024-05-01T11:58:00Z\",\"completionTime\":\"2024-05-01T11:58:45Z\","
	            "\"conditions\":[{\"type\":\"SuccessCriteriaMet\",\"status\":\"True\"},"
	            "{\"type\":\"Complete\",\"status\":\"True\"}]}}",
	            "[\"pi\",\"Complete\",\"1/1\",\"45s\",\"2m\",\"pi\",\"perl:5.34\","
	            "\"batch.kubernetes.io/controller-uid=u1\"]");
	CHECK_CELLS("batch", "v1", "Job",
	            "{\"metadata\":{\"name\":\"work\",\"creationTimestamp\":\"2024-05-01T11:00:00Z\"},"
	            "\"spec\":{\"parallelism\":3},\"status\":{\"active\":3,\"startTime\":\"2024-05-01T11:00:00Z\"}}",
	            "[\"work\",\"Running\",\"0/1 of 3\",\"60m\",\"60m\",\"\",\"\",\"<none>\"]");
	CHECK_CELLS("batch", "v1", "Job",
	            "{\"metadata\":{\"name\":\"bad\"},\"spec\":{\"completions\":2},\"status\":{\"failed\":1,"
	            "\"conditions\":[{\"type\":\"FailureTarget\",\"status\":\"True\"}]}}",
	            "[\"bad\",\"FailureTarget\",\"0/2\",\"\",\"<unknown>\",\"\",\"\",\"<none>\"]");
}

TEST(events)
{
	const kind_desc *d = kind("", "v1", "Event");
	REQUIRE(d);
	_cleanup_free_ char *names = column_names(d);
	CHECK_STR(names, "Last Seen|Type|Reason|Object|Subobject*|Source*|Message|First Seen*|Count*|Name*");
	CHECK_CELLS("", "v1", "Event",
	            "{\"metadata\":{\"name\":\"web-1.17c9\"},\"involvedObject\":{\"kind\":\"Pod\","
	            "\"name\":\"web-1\",\"fieldPath\":\"spec.containers{app}\"},\"reason\":\"Pulled\","
	            "\"type\":\"Normal\",\"message\":\"  Container image pulled \\n\",\"source\":"
	            "{\"component\":\"kubelet\",\"host\":\"n1\"},\"firstTimestamp\":\"2024-05-01T11:55:00Z\","
	            "\"lastTimestamp\":\"2024-05-01T11:57:00Z\",\"count\":3}",
	            "[\"3m\",\"Normal\",\"Pulled\",\"pod/web-1\",\"spec.containers{app}\",\"kubelet, n1\","
	            "\"Container image pulled\",\"5m\",3,\"web-1.17c9\"]");
	/* new-style event: eventTime only (9.88s ago truncates to 9s), no count, reporting
	 * controller as source */
	CHECK_CELLS("", "v1", "Event",
	            "{\"metadata\":{\"name\":\"e2\"},\"involvedObject\":{\"kind\":\"Node\",\"name\":\"n1\"},"
	            "\"reason\":\"Starting\",\"type\":\"Normal\",\"message\":\"m\",\"eventTime\":"
	            "\"2024-05-01T11:59:50.123456Z\",\"reportingComponent\":\"timon\",\"reportingInstance\":\"n1\"}",
	            "[\"9s\",\"Normal\",\"Starting\",\"node/n1\",\"\",\"timon, n1\",\"m\",\"9s\",1,\"e2\"]");
	/* events.k8s.io/v1 shape, with a series */
	CHECK_CELLS("events.k8s.io", "v1", "Event",
	            "{\"metadata\":{\"name\":\"e3\"},\"regarding\":{\"kind\":\"Deployment\",\"name\":\"web\"},"
	            "\"reason\":\"ScalingReplicaSet\",\"type\":\"Normal\",\"note\":\"Scaled up\","
	            "\"eventTime\":\"2024-05-01T11:00:00.000000Z\",\"reportingController\":\"deployment-controller\","
	            "\"series\":{\"count\":4,\"lastObservedTime\":\"2024-05-01T11:59:00.000000Z\"}}",
	            "[\"60s\",\"Normal\",\"ScalingReplicaSet\",\"deployment/web\",\"\",\"deployment-controller\","
	            "\"Scaled up\",\"60m\",4,\"e3\"]");
}

#define HPA_HEAD                                                                             \
	"\"metadata\":{\"name\":\"web\",\"creationTimestamp\":\"2024-05-01T11:00:00Z\"},"      \
	"\"spec\":{\"scaleTargetRef\":{\"kind\":\"Deployment\",\"name\":\"web\",\"apiVersion\":\"apps/v1\"},"   \
	"\"minReplicas\":1,\"maxReplicas\":10,"
#define CPU50                                                                                \
	"{\"type\":\"Resource\",\"resource\":{\"name\":\"cpu\",\"target\":{\"type\":\"Utilization\","  \
	"\"averageUtilization\":50}}}"
#define MEM500                                                                               \
	"{\"type\":\"Resource\",\"resource\":{\"name\":\"memory\",\"target\":{\"type\":\"AverageValue\"," \
	"\"averageValue\":\"500Mi\"}}}"

TEST(hpa)
{
	const kind_desc *d = kind("autoscaling", "v2", "HorizontalPodAutoscaler");
	REQUIRE(d);
	_cleanup_free_ char *names = column_names(d);
	CHECK_STR(names, "Name|Reference|Targets|MinPods|MaxPods|Replicas|Age");
	CHECK_CELLS("autoscaling", "v2", "HorizontalPodAutoscaler",
	            "{" HPA_HEAD "\"metrics\":[" CPU50 "]},\"status\":{\"currentReplicas\":2}}",
	            "[\"web\",\"Deployment/web\",\"cpu: <unknown>/50%\",\"1\",10,2,\"60m\"]");
	CHECK_CELLS("autoscaling", "v2", "HorizontalPodAutoscaler",
	            "{" HPA_HEAD "\"metrics\":[" CPU50 "," MEM500 "]},\"status\":{\"currentReplicas\":3,"
	            "\"currentMetrics\":[{\"type\":\"Resource\",\"resource\":{\"name\":\"cpu\",\"current\":"
	            "{\"averageUtilization\":20,\"averageValue\":\"100m\"}}},{\"type\":\"Resource\",\"resource\":"
	            "{\"name\":\"memory\",\"current\":{\"averageValue\":\"204800Ki\"}}}]}}",
	            "[\"web\",\"Deployment/web\",\"cpu: 20%/50%, memory: 200Mi/500Mi\",\"1\",10,3,\"60m\"]");
	CHECK_CELLS("autoscaling", "v2", "HorizontalPodAutoscaler",
	            "{" HPA_HEAD "\"metrics\":[" CPU50 "," MEM500 "," CPU50 "]}}",
	            "[\"web\",\"Deployment/web\",\"cpu: <unknown>/50%, memory: <unknown>/500Mi + 1 more...\","
	            "\"1\",10,0,\"60m\"]");
	/* autoscaling/v1 shape */
	CHECK_CELLS("autoscaling", "v1", "HorizontalPodAutoscaler",
	            "{\"metadata\":{\"name\":\"old\"},\"spec\":{\"scaleTargetRef\":{\"kind\":\"Deployment\","
	            "\"name\":\"old\"},\"maxReplicas\":4,\"targetCPUUtilizationPercentage\":80},"
	            "\"status\":{\"currentReplicas\":1,\"currentCPUUtilizationPercentage\":35}}",
	            "[\"old\",\"Deployment/old\",\"cpu: 35%/80%\",\"<unset>\",4,1,\"<unknown>\"]");
}

TEST(misc_kinds)
{
	CHECK_CELLS("", "v1", "Secret",
	            "{\"metadata\":{\"name\":\"tls\",\"creationTimestamp\":\"2024-05-01T11:59:55Z\"},"
	            "\"type\":\"kubernetes.io/tls\",\"data\":{\"tls.crt\":\"\",\"tls.key\":\"\"}}",
	            "[\"tls\",\"kubernetes.io/tls\",2,\"5s\"]");
	CHECK_CELLS("", "v1", "ConfigMap",
	            "{\"metadata\":{\"name\":\"cfg\"},\"data\":{\"a\":\"1\"},\"binaryData\":{\"b\":\"AA==\"}}",
	            "[\"cfg\",2,\"<unknown>\"]");
	CHECK_CELLS("networking.k8s.io", "v1", "Ingress",
	            "{\"metadata\":{\"name\":\"ing\"},\"spec\":{\"ingressClassName\":\"timon\",\"tls\":[{}],"
	            "\"rules\":[{\"host\":\"a.example\"},{},{\"host\":\"b.example\"},{\"host\":\"c.example\"},"
	            "{\"host\":\"d.example\"}]},\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"10.0.0.1\"}]}}}",
	            "[\"ing\",\"timon\",\"a.example,b.example,c.example + 2 more...\",\"10.0.0.1\",\"80, 443\","
	            "\"<unknown>\"]");
	CHECK_CELLS("storage.k8s.io", "v1", "StorageClass",
	            "{\"metadata\":{\"name\":\"local-path\",\"annotations\":{"
	            "\"storageclass.kubernetes.io/is-default-class\":\"true\"}},\"provisioner\":\"rancher.io/local-path\","
	            "\"volumeBindingMode\":\"WaitForFirstConsumer\"}",
	            "[\"local-path (default)\",\"rancher.io/local-path\",\"Delete\",\"WaitForFirstConsumer\","
	            "false,\"<unknown>\"]");
	CHECK_CELLS("", "v1", "PersistentVolumeClaim",
	            "{\"metadata\":{\"name\":\"data\"},\"spec\":{\"volumeName\":\"pv1\",\"storageClassName\":\"local\","
	            "\"volumeMode\":\"Filesystem\"},\"status\":{\"phase\":\"Bound\",\"accessModes\":"
	            "[\"ReadWriteMany\",\"ReadWriteOnce\"],\"capacity\":{\"storage\":\"10240Mi\"}}}",
	            "[\"data\",\"Bound\",\"pv1\",\"10Gi\",\"RWO,RWX\",\"local\",\"<unset>\",\"<unknown>\",\"Filesystem\"]");
	CHECK_CELLS("rbac.authorization.k8s.io", "v1", "RoleBinding",
	            "{\"metadata\":{\"name\":\"rb\"},\"roleRef\":{\"kind\":\"Role\",\"name\":\"reader\"},"
	            "\"subjects\":[{\"kind\":\"User\",\"name\":\"alice\"},{\"kind\":\"ServiceAccount\","
	            "\"name\":\"default\",\"namespace\":\"ns1\"},{\"kind\":\"User\",\"name\":\"bob\"}]}",
	            "[\"rb\",\"Role/reader\",\"<unknown>\",\"alice, bob\",\"\",\"ns1/default\"]");
	CHECK_CELLS("apps", "v1", "ControllerRevision",
	            "{\"metadata\":{\"name\":\"ds-7f\",\"ownerReferences\":[{\"apiVersion\":\"apps/v1\","
	            "\"kind\":\"DaemonSet\",\"name\":\"fluentd\",\"controller\":true}]},\"revision\":2}",
	            "[\"ds-7f\",\"daemonset.apps/fluentd\",2,\"<unknown>\"]");
	CHECK_CELLS("", "v1", "Endpoints",
	            "{\"metadata\":{\"name\":\"web\"},\"subsets\":[{\"addresses\":[{\"ip\":\"10.1.0.1\"},"
	            "{\"ip\":\"10.1.0.2\"}],\"ports\":[{\"port\":80},{\"port\":443}]}]}",
	            "[\"web\",\"10.1.0.1:80,10.1.0.2:80,10.1.0.1:443 + 1 more...\",\"<unknown>\"]");
	CHECK_CELLS("policy", "v1", "PodDisruptionBudget",
	            "{\"metadata\":{\"name\":\"pdb\"},\"spec\":{\"minAvailable\":\"50%\"},\"status\":"
	            "{\"disruptionsAllowed\":1}}",
	            "[\"pdb\",\"50%\",\"N/A\",1,\"<unknown>\"]");
	CHECK_CELLS("batch", "v1", "CronJob",
	            "{\"metadata\":{\"name\":\"cj\"},\"spec\":{\"schedule\":\"*/5 * * * *\",\"suspend\":false},"
	            "\"status\":{\"active\":[{}],\"lastScheduleTime\":\"2024-05-01T11:55:00Z\"}}",
	            "[\"cj\",\"*/5 * * * *\",\"<none>\",\"False\",1,\"5m\",\"<unknown>\",\"\",\"\",\"<none>\"]");
}

TEST(default_table_for_kinds_without_printer)
{
	const kind_desc *d = kind("rbac.authorization.k8s.io", "v1", "ClusterRole");
	REQUIRE(d);
	_cleanup_free_ char *names = column_names(d);
	CHECK_STR(names, "Name|Created At");
	_cleanup_json_ json_t *cols = printer_columns(d);
	CHECK_STR(json_path_str(json_array_get(cols, 1), "type"), "date");
	CHECK_CELLS("rbac.authorization.k8s.io", "v1", "ClusterRole",
	            "{\"metadata\":{\"name\":\"admin\",\"creationTimestamp\":\"2024-05-01T13:55:00+02:00\"}}",
	            "[\"admin\",\"2024-05-01T11:55:00Z\"]");
	CHECK_CELLS("apiextensions.k8s.io", "v1", "CustomResourceDefinition",
	            "{\"metadata\":{\"name\":\"widgets.example.com\"}}",
	            "[\"widgets.example.com\",\"0001-01-01T00:00:00Z\"]");
}

static kind_desc crd_kind(json_t *columns)
{
	return (kind_desc){.group = "example.com", .version = "v1", .kind = "Widget",
	                   .resource = "widgets", .namespaced = true, .crd_columns = columns,
	                   .custom = true};
}

TEST(crd_columns_with_jsonpath)
{
	_cleanup_json_ json_t *cols = load(
	    "[{\"name\":\"Ready\",\"type\":\"string\",\"jsonPath\":\".status.conditions[?(@.type==\\\"Ready\\\")].status\"},"
	    "{\"name\":\"Replicas\",\"type\":\"integer\",\"jsonPath\":\".spec.replicas\",\"description\":\"Wanted\"},"
	    "{\"name\":\"Ratio\",\"type\":\"number\",\"jsonPath\":\".spec.ratio\"},"
	    "{\"name\":\"Image\",\"type\":\"string\",\"jsonPath\":\".spec.containers[0].image\",\"priority\":1},"
	    "{\"name\":\"Missing\",\"type\":\"string\",\"jsonPath\":\".spec.nothing\"},"
	    "{\"name\":\"Started\",\"type\":\"date\",\"jsonPath\":\".status.startTime\"},"
	    "{\"name\":\"Paused\",\"type\":\"boolean\",\"jsonPath\":\".spec.paused\"}]");
	kind_desc d = crd_kind(cols);
	_cleanup_free_ char *names = column_names(&d);
	CHECK_STR(names, "Name|Ready|Replicas|Ratio|Image*|Missing|Started|Paused");
	_cleanup_json_ json_t *defs = printer_columns(&d);
	CHECK_STR(json_path_str(json_array_get(defs, 0), "format"), "name");
	CHECK_STR(json_path_str(json_array_get(defs, 2), "description"), "Wanted");
	_cleanup_json_ json_t *o = load(
	    "{\"metadata\":{\"name\":\"w1\"},\"spec\":{\"replicas\":3,\"ratio\":0.25,\"paused\":true,"
	    "\"containers\":[{\"image\":\"busybox:1.36\"}]},\"status\":{\"startTime\":\"2024-05-01T11:57:30Z\","
	    "\"conditions\":[{\"type\":\"Synced\",\"status\":\"False\"},{\"type\":\"Ready\",\"status\":\"True\"}]}}");
	_cleanup_json_ json_t *cells = printer_cells(&d, o, now_ns());
	_cleanup_free_ char *s = json_dump_compact(cells);
	CHECK_STR(s, "[\"w1\",\"True\",3,0.25,\"busybox:1.36\",null,\"2m30s\",true]");

	/* no additionalPrinterColumns: kube serves an Age column of type date */
	kind_desc plain = crd_kind(NULL);
	_cleanup_free_ char *pnames = column_names(&plain);
	CHECK_STR(pnames, "Name|Age");
	_cleanup_json_ json_t *o2 = load("{\"metadata\":{\"name\":\"w2\",\"creationTimestamp\":\"2024-05-01T11:55:00Z\"}}");
	_cleanup_json_ json_t *cells2 = printer_cells(&plain, o2, now_ns());
	_cleanup_free_ char *s2 = json_dump_compact(cells2);
	CHECK_STR(s2, "[\"w2\",\"5m\"]");
}

static char *eval(const char *expr, const char *doc)
{
	_cleanup_terr_ terr *err = NULL;
	_cleanup_jsonpath_ jsonpath *p = jsonpath_parse(expr, &err);
	if (!p)
		return xasprintf("error %d", err ? err->code : 0);
	_cleanup_json_ json_t *d = load(doc);
	_cleanup_json_ json_t *r = jsonpath_eval(p, d);
	return json_dump_compact(r);
}

#define CHECK_JP(expr, doc, want)                                                            \
	do {                                                                                 \
		_cleanup_free_ char *s_ = eval(expr, doc);                                   \
		CHECK_STR(s_, want);                                                         \
	} while (0)

TEST(jsonpath_subset)
{
	const char *doc = "{\"a\":{\"b\":[1,2,3,4],\"k.d\":\"dot\"},\"items\":[{\"n\":\"x\",\"v\":5},"
	                  "{\"n\":\"y\",\"v\":7},{\"n\":\"z\"}]}";
	CHECK_JP(".a.b[0]", doc, "[1]");
	CHECK_JP("{.a.b[-1]}", doc, "[4]");
	CHECK_JP("$.a.b[1:3]", doc, "[2,3]");
	CHECK_JP(".a.b[::2]", doc, "[1,3]");
	CHECK_JP(".a.b[9]", doc, "[]");
	CHECK_JP(".items[*].n", doc, "[\"x\",\"y\",\"z\"]");
	CHECK_JP(".a['k.d']", doc, "[\"dot\"]");
	CHECK_JP(".a.k\\.d", doc, "[\"dot\"]");
	CHECK_JP(".items[?(@.v > 5)].n", doc, "[\"y\"]");
	CHECK_JP(".items[?(@.n != 'x')].n", doc, "[\"y\",\"z\"]");
	CHECK_JP(".items[?(@.v)].n", doc, "[\"x\",\"y\"]");
	CHECK_JP("..v", doc, "[5,7]");
	CHECK_JP(".nothing.deeper", doc, "[]");
	CHECK_JP(".a.b[", doc, "error 400");
	CHECK_JP(".items[?(@.v ==)]", doc, "error 400");

	_cleanup_json_ json_t *v = load("[1.5, 3.0, 1e21, 0.00001, {\"b\":1,\"a\":[true,null]}]");
	const char *want[] = {"1.5", "3", "1e+21", "1e-05", "{\"a\":[true,null],\"b\":1}"};
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		_cleanup_free_ char *t = jsonpath_text(json_array_get(v, i));
		CHECK_STR(t, want[i]);
	}
}

TEST(every_kind_has_matching_cells)
{
	kind_registry_init();
	_cleanup_json_ json_t *o = load("{\"metadata\":{\"name\":\"x\"}}");
	for (size_t i = 0; i < kind_count(); i++) {
		const kind_desc *d = kind_at(i);
		_cleanup_json_ json_t *cols = printer_columns(d);
		_cleanup_json_ json_t *cells = printer_cells(d, o, now_ns());
		if (json_array_size(cols) != json_array_size(cells))
			fprintf(stderr, "  %s/%s: %zu columns, %zu cells\n", d->group, d->kind,
			        json_array_size(cols), json_array_size(cells));
		CHECK(json_array_size(cols) == json_array_size(cells));
		CHECK_STR(json_string_value(json_array_get(cells, 0)),
		          str_eq(d->kind, "Event") ? "<unknown>" : "x");
	}
}

TEST(wrong_field_types_do_not_break_rows)
{
	/* objects are validated before storage, but a printer must never crash on odd JSON */
	kind_registry_init();
	_cleanup_json_ json_t *o = load(
	    "{\"metadata\":{\"name\":7,\"creationTimestamp\":\"yesterday\",\"labels\":[1],"
	    "\"deletionTimestamp\":5,\"ownerReferences\":{}},\"spec\":{\"containers\":\"c\","
	    "\"initContainers\":[1,null],\"ports\":[\"p\"],\"selector\":{\"matchExpressions\":[{}]},"
	    "\"metrics\":[{\"type\":\"Pods\"}],\"rules\":[5]},\"status\":{\"conditions\":\"c\","
	    "\"containerStatuses\":[{\"state\":[]}],\"initContainerStatuses\":[{\"state\":{\"terminated\":1}}]},"
	    "\"subsets\":[{\"addresses\":[{\"ip\":3}]}],\"subjects\":\"s\",\"data\":3,\"endpoints\":[{\"addresses\":[1]}]}");
	for (size_t i = 0; i < kind_count(); i++) {
		const kind_desc *d = kind_at(i);
		_cleanup_json_ json_t *cols = printer_columns(d);
		_cleanup_json_ json_t *cells = printer_cells(d, o, now_ns());
		CHECK(json_array_size(cols) == json_array_size(cells));
	}
	_cleanup_free_ char *pod = cells_of("", "v1", "Pod", "{\"spec\":5}");
	CHECK_STR(pod, "[\"\",\"0/0\",\"\",\"0\",\"<unknown>\",\"<none>\",\"<none>\",\"<none>\",\"<none>\"]");
}
