/* test_defaults.c — the defaults kube 1.32 applies, on minimal objects of each kind. The
 * expected values are the ones a real cluster reads back (kubectl get -o json). */
#include "test.h"

#include <jansson.h>

#include "api/defaults.h"
#include "api/kind.h"
#include "api/normalize.h"
#include "base/json.h"
#include "base/util.h"

static json_t *load(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);
	if (!j)
		fprintf(stderr, "bad test JSON: %s\n", e.text);
	return j;
}

static json_t *defaulted(const char *group, const char *version, const char *kind,
                         const char *text)
{
	kind_registry_init();
	json_t *obj = load(text);
	defaults_apply(kind_by_gvk(group, version, kind), obj);
	return obj;
}

/* The member at a dotted path, where a segment may be "name[i]" for array elements. */
static json_t *at(json_t *root, const char *path)
{
	char buf[256];
	snprintf(buf, sizeof buf, "%s", path);
	json_t *cur = root;
	for (char *seg = strtok(buf, "."); seg && cur; seg = strtok(NULL, ".")) {
		char *br = strchr(seg, '[');
		if (br)
			*br = 0;
		cur = json_object_get(cur, seg);
		while (br && cur) {
			cur = json_array_get(cur, (size_t)atoi(br + 1));
			br = strchr(br + 1, '[');
		}
	}
	return cur;
}

static const char *s_at(json_t *root, const char *path)
{
	return json_string_value(at(root, path));
}

static long long i_at(json_t *root, const char *path)
{
	json_t *j = at(root, path);
	return json_is_integer(j) ? (long long)json_integer_value(j) : -999;
}

#define DEPLOYMENT                                                                             \
	"{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\","  \
	"\"namespace\":\"default\"},\"spec\":{\"selector\":{\"matchLabels\":{\"app\":\"web\"}},"  \
	"\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{\"containers\":[{"   \
	"\"name\":\"nginx\",\"image\":\"nginx\",\"ports\":[{\"containerPort\":80}]}]}}}}"

TEST(deployment_spec_defaults)
{
	_cleanup_json_ json_t *d = defaulted("apps", "v1", "Deployment", DEPLOYMENT);
	REQUIRE(d);
	CHECK_INT(i_at(d, "spec.replicas"), 1);
	CHECK_STR(s_at(d, "spec.strategy.type"), "RollingUpdate");
	CHECK_STR(s_at(d, "spec.strategy.rollingUpdate.maxUnavailable"), "25%");
	CHECK_STR(s_at(d, "spec.strategy.rollingUpdate.maxSurge"), "25%");
	CHECK_INT(i_at(d, "spec.revisionHistoryLimit"), 10);
	CHECK_INT(i_at(d, "spec.progressDeadlineSeconds"), 600);
}

TEST(deployment_template_defaults)
{
	_cleanup_json_ json_t *d = defaulted("apps", "v1", "Deployment", DEPLOYMENT);
	REQUIRE(d);
	CHECK(json_is_null(at(d, "spec.template.metadata.creationTimestamp")));
	CHECK_STR(s_at(d, "spec.template.spec.restartPolicy"), "Always");
	CHECK_INT(i_at(d, "spec.template.spec.terminationGracePeriodSeconds"), 30);
	CHECK_STR(s_at(d, "spec.template.spec.dnsPolicy"), "ClusterFirst");
	CHECK_STR(s_at(d, "spec.template.spec.schedulerName"), "default-scheduler");
	json_t *sc = at(d, "spec.template.spec.securityContext");
	CHECK(json_is_object(sc) && json_object_size(sc) == 0);
	/* enableServiceLinks is a Pod-only default: templates do not get it */
	CHECK(at(d, "spec.template.spec.enableServiceLinks") == NULL);
	const char *c = "spec.template.spec.containers[0]";
	char p[128];
	snprintf(p, sizeof p, "%s.terminationMessagePath", c);
	CHECK_STR(s_at(d, p), "/dev/termination-log");
	snprintf(p, sizeof p, "%s.terminationMessagePolicy", c);
	CHECK_STR(s_at(d, p), "File");
	snprintf(p, sizeof p, "%s.imagePullPolicy", c);
	CHECK_STR(s_at(d, p), "Always");
	snprintf(p, sizeof p, "%s.resources", c);
	CHECK(json_is_object(at(d, p)) && json_object_size(at(d, p)) == 0);
	snprintf(p, sizeof p, "%s.ports[0].protocol", c);
	CHECK_STR(s_at(d, p), "TCP");
}

TEST(deployment_recreate_gets_no_rolling_update)
{
	_cleanup_json_ json_t *d = defaulted(
	    "apps", "v1", "Deployment",
	    "{\"metadata\":{\"name\":\"x\"},\"spec\":{\"strategy\":{\"type\":\"Recreate\"},"
	    "\"replicas\":0,\"template\":{\"spec\":{\"containers\":[]}}}}");
	CHECK(at(d, "spec.strategy.rollingUpdate") == NULL);
	CHECK_INT(i_at(d, "spec.replicas"), 0); /* an explicit 0 stays */
}

TEST(image_pull_policy)
{
	CHECK_STR(defaults_image_pull_policy("nginx"), "Always");
	CHECK_STR(defaults_image_pull_policy("nginx:latest"), "Always");
	CHECK_STR(defaults_image_pull_policy("nginx:1.25"), "IfNotPresent");
	CHECK_STR(defaults_image_pull_policy("localhost:5000/app"), "Always");
	CHECK_STR(defaults_image_pull_policy("localhost:5000/app:v2"), "IfNotPresent");
	CHECK_STR(defaults_image_pull_policy("registry.io/a/b:latest"), "Always");
	CHECK_STR(defaults_image_pull_policy("nginx@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
	          "IfNotPresent");
	CHECK_STR(defaults_image_pull_policy("nginx:latest@sha256:00"), "Always");
	CHECK_STR(defaults_image_pull_policy("Nginx"), "IfNotPresent"); /* does not parse */
	CHECK_STR(defaults_image_pull_policy(""), "IfNotPresent");
	CHECK_STR(defaults_image_pull_policy(NULL), "IfNotPresent");
}

TEST(pod_defaults)
{
	_cleanup_json_ json_t *d = defaulted(
	    "", "v1", "Pod",
	    "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":[{\"name\":\"c\","
	    "\"image\":\"busybox:1.36\",\"resources\":{\"limits\":{\"cpu\":\"1\","
	    "\"memory\":\"1Gi\"},\"requests\":{\"cpu\":\"500m\"}},"
	    "\"livenessProbe\":{\"httpGet\":{\"port\":8080}},"
	    "\"readinessProbe\":{\"tcpSocket\":{\"port\":80},\"periodSeconds\":5},"
	    "\"env\":[{\"name\":\"N\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":"
	    "\"metadata.name\"}}}]}],\"volumes\":[{\"name\":\"v\"},{\"name\":\"s\","
	    "\"secret\":{\"secretName\":\"x\"}},{\"name\":\"h\",\"hostPath\":{\"path\":\"/d\"}}]}}");
	REQUIRE(d);
	CHECK(json_is_true(at(d, "spec.enableServiceLinks")));
	CHECK_STR(s_at(d, "spec.containers[0].imagePullPolicy"), "IfNotPresent");
	/* requests default to limits, per resource, on Pods */
	CHECK_STR(s_at(d, "spec.containers[0].resources.requests.cpu"), "500m");
	CHECK_STR(s_at(d, "spec.containers[0].resources.requests.memory"), "1Gi");
	CHECK_INT(i_at(d, "spec.containers[0].livenessProbe.timeoutSeconds"), 1);
	CHECK_INT(i_at(d, "spec.containers[0].livenessProbe.periodSeconds"), 10);
	CHECK_INT(i_at(d, "spec.containers[0].livenessProbe.successThreshold"), 1);
	CHECK_INT(i_at(d, "spec.containers[0].livenessProbe.failureThreshold"), 3);
	CHECK_STR(s_at(d, "spec.containers[0].livenessProbe.httpGet.scheme"), "HTTP");
	CHECK_STR(s_at(d, "spec.containers[0].livenessProbe.httpGet.path"), "/");
	CHECK_INT(i_at(d, "spec.containers[0].readinessProbe.periodSeconds"), 5);
	CHECK_STR(s_at(d, "spec.containers[0].env[0].valueFrom.fieldRef.apiVersion"), "v1");
	json_t *ed = at(d, "spec.volumes[0].emptyDir");
	CHECK(json_is_object(ed) && json_object_size(ed) == 0);
	CHECK_INT(i_at(d, "spec.volumes[1].secret.defaultMode"), 420);
	CHECK_STR(s_at(d, "spec.volumes[2].hostPath.type"), "");
	CHECK_STR(s_at(d, "spec.restartPolicy"), "Always");
}

TEST(pod_host_network_host_ports)
{
	_cleanup_json_ json_t *d = defaulted(
	    "", "v1", "Pod",
	    "{\"spec\":{\"hostNetwork\":true,\"containers\":[{\"name\":\"c\",\"image\":\"x:1\","
	    "\"ports\":[{\"containerPort\":8080}]}]}}");
	CHECK_INT(i_at(d, "spec.containers[0].ports[0].hostPort"), 8080);
}

TEST(service_defaults)
{
	_cleanup_json_ json_t *d = defaulted(
	    "", "v1", "Service",
	    "{\"metadata\":{\"name\":\"s\"},\"spec\":{\"selector\":{\"app\":\"web\"},"
	    "\"ports\":[{\"port\":80},{\"port\":443,\"targetPort\":\"https\"}]}}");
	CHECK_STR(s_at(d, "spec.type"), "ClusterIP");
	CHECK_STR(s_at(d, "spec.sessionAffinity"), "None");
	CHECK_STR(s_at(d, "spec.internalTrafficPolicy"), "Cluster");
	CHECK_STR(s_at(d, "spec.ports[0].protocol"), "TCP");
	CHECK_INT(i_at(d, "spec.ports[0].targetPort"), 80);
	CHECK_STR(s_at(d, "spec.ports[1].targetPort"), "https");
	CHECK(at(d, "spec.externalTrafficPolicy") == NULL);
}

TEST(service_nodeport_and_loadbalancer)
{
	_cleanup_json_ json_t *np = defaulted(
	    "", "v1", "Service", "{\"spec\":{\"type\":\"NodePort\",\"ports\":[{\"port\":80}]}}");
	CHECK_STR(s_at(np, "spec.externalTrafficPolicy"), "Cluster");
	CHECK(at(np, "spec.allocateLoadBalancerNodePorts") == NULL);
	_cleanup_json_ json_t *lb = defaulted(
	    "", "v1", "Service", "{\"spec\":{\"type\":\"LoadBalancer\",\"ports\":[{\"port\":80}]}}");
	CHECK_STR(s_at(lb, "spec.externalTrafficPolicy"), "Cluster");
	CHECK(json_is_true(at(lb, "spec.allocateLoadBalancerNodePorts")));
	_cleanup_json_ json_t *en = defaulted(
	    "", "v1", "Service", "{\"spec\":{\"type\":\"ExternalName\",\"externalName\":\"a.b\"}}");
	CHECK(at(en, "spec.internalTrafficPolicy") == NULL);
	_cleanup_json_ json_t *cip = defaulted(
	    "", "v1", "Service", "{\"spec\":{\"sessionAffinity\":\"ClientIP\",\"ports\":[]}}");
	CHECK_INT(i_at(cip, "spec.sessionAffinityConfig.clientIP.timeoutSeconds"), 10800);
}

TEST(namespace_defaults_and_create)
{
	kind_registry_init();
	const kind_desc *d = kind_by_gvk("", "v1", "Namespace");
	_cleanup_json_ json_t *ns = load("{\"metadata\":{\"name\":\"team-a\",\"labels\":{"
	                                 "\"kubernetes.io/metadata.name\":\"wrong\"}}}");
	defaults_apply(d, ns);
	CHECK_STR(json_string_value(json_object_get(at(ns, "metadata.labels"),
	                                            "kubernetes.io/metadata.name")),
	          "team-a");
	CHECK_STR(s_at(ns, "status.phase"), "Active");
	CHECK(at(ns, "spec.finalizers") == NULL); /* create-only */
	defaults_on_create(d, ns);
	CHECK_STR(s_at(ns, "spec.finalizers[0]"), "kubernetes");
	CHECK_INT(json_array_size(at(ns, "spec.finalizers")), 1);
	defaults_on_create(d, ns); /* never twice */
	CHECK_INT(json_array_size(at(ns, "spec.finalizers")), 1);
}

TEST(secret_defaults)
{
	_cleanup_json_ json_t *s = defaulted(
	    "", "v1", "Secret",
	    "{\"metadata\":{\"name\":\"s\"},\"data\":{\"a\":\"eA==\"},\"stringData\":{\"b\":\"hi!\","
	    "\"a\":\"yo\"}}");
	CHECK_STR(s_at(s, "type"), "Opaque");
	CHECK_STR(s_at(s, "data.b"), "aGkh");
	CHECK_STR(s_at(s, "data.a"), "eW8="); /* stringData wins */
	CHECK(at(s, "stringData") == NULL);
	_cleanup_json_ json_t *t = defaulted("", "v1", "Secret", "{\"type\":\"kubernetes.io/tls\"}");
	CHECK_STR(s_at(t, "type"), "kubernetes.io/tls");
}

TEST(job_defaults)
{
	_cleanup_json_ json_t *j = defaulted(
	    "batch", "v1", "Job",
	    "{\"metadata\":{\"name\":\"pi\"},\"spec\":{\"template\":{\"metadata\":{\"labels\":{"
	    "\"app\":\"pi\"}},\"spec\":{\"restartPolicy\":\"Never\",\"containers\":[{\"name\":"
	    "\"pi\",\"image\":\"perl:5.34\"}]}}}}");
	CHECK_INT(i_at(j, "spec.completions"), 1);
	CHECK_INT(i_at(j, "spec.parallelism"), 1);
	CHECK_INT(i_at(j, "spec.backoffLimit"), 6);
	CHECK_STR(s_at(j, "spec.completionMode"), "NonIndexed");
	CHECK(json_is_false(at(j, "spec.suspend")));
	CHECK_STR(s_at(j, "spec.podReplacementPolicy"), "TerminatingOrFailed");
	CHECK_STR(s_at(j, "metadata.labels.app"), "pi"); /* from the template */
	CHECK_STR(s_at(j, "spec.template.spec.restartPolicy"), "Never");
	CHECK_STR(s_at(j, "spec.template.spec.containers[0].imagePullPolicy"), "IfNotPresent");
}

TEST(job_parallel_and_failure_policy)
{
	_cleanup_json_ json_t *j = defaulted(
	    "batch", "v1", "Job",
	    "{\"spec\":{\"parallelism\":3,\"backoffLimitPerIndex\":1,\"podFailurePolicy\":{"
	    "\"rules\":[{\"action\":\"Ignore\",\"onPodConditions\":[{\"type\":\"DisruptionTarget\""
	    "}]}]},\"template\":{\"spec\":{}}}}");
	CHECK(at(j, "spec.completions") == NULL); /* only parallelism was given */
	CHECK_INT(i_at(j, "spec.parallelism"), 3);
	CHECK_INT(i_at(j, "spec.backoffLimit"), 2147483647);
	CHECK_STR(s_at(j, "spec.podReplacementPolicy"), "Failed");
	CHECK_STR(s_at(j, "spec.podFailurePolicy.rules[0].onPodConditions[0].status"), "True");
}

TEST(job_selector_on_create)
{
	kind_registry_init();
	const kind_desc *d = kind_by_gvk("batch", "v1", "Job");
	_cleanup_json_ json_t *j = load("{\"metadata\":{\"name\":\"pi\",\"uid\":\"u-1\"},"
	                                "\"spec\":{\"template\":{\"spec\":{}}}}");
	defaults_apply(d, j);
	defaults_on_create(d, j);
	json_t *ml = at(j, "spec.selector.matchLabels");
	CHECK_STR(json_string_value(json_object_get(ml, "batch.kubernetes.io/controller-uid")),
	          "u-1");
	json_t *tl = at(j, "spec.template.metadata.labels");
	CHECK_STR(json_string_value(json_object_get(tl, "controller-uid")), "u-1");
	CHECK_STR(json_string_value(json_object_get(tl, "job-name")), "pi");
	CHECK_STR(json_string_value(json_object_get(tl, "batch.kubernetes.io/job-name")), "pi");
	_cleanup_json_ json_t *manual = load("{\"metadata\":{\"name\":\"m\",\"uid\":\"u\"},"
	                                     "\"spec\":{\"manualSelector\":true}}");
	defaults_on_create(d, manual);
	CHECK(at(manual, "spec.selector") == NULL);
}

TEST(cronjob_defaults)
{
	_cleanup_json_ json_t *c = defaulted(
	    "batch", "v1", "CronJob",
	    "{\"spec\":{\"schedule\":\"*/1 * * * *\",\"jobTemplate\":{\"spec\":{\"template\":{"
	    "\"spec\":{\"restartPolicy\":\"OnFailure\",\"containers\":[{\"name\":\"h\","
	    "\"image\":\"busybox\"}]}}}}}}");
	CHECK_STR(s_at(c, "spec.concurrencyPolicy"), "Allow");
	CHECK(json_is_false(at(c, "spec.suspend")));
	CHECK_INT(i_at(c, "spec.successfulJobsHistoryLimit"), 3);
	CHECK_INT(i_at(c, "spec.failedJobsHistoryLimit"), 1);
	CHECK(json_is_null(at(c, "spec.jobTemplate.metadata.creationTimestamp")));
	CHECK(at(c, "spec.jobTemplate.spec.backoffLimit") == NULL); /* Job defaults come later */
	CHECK_STR(s_at(c, "spec.jobTemplate.spec.template.spec.containers[0].imagePullPolicy"),
	          "Always");
}

TEST(statefulset_defaults)
{
	_cleanup_json_ json_t *s = defaulted(
	    "apps", "v1", "StatefulSet",
	    "{\"spec\":{\"serviceName\":\"db\",\"template\":{\"spec\":{\"containers\":[]}},"
	    "\"volumeClaimTemplates\":[{\"metadata\":{\"name\":\"data\"},\"spec\":{"
	    "\"accessModes\":[\"ReadWriteOnce\"]}}]}}");
	CHECK_INT(i_at(s, "spec.replicas"), 1);
	CHECK_INT(i_at(s, "spec.revisionHistoryLimit"), 10);
	CHECK_STR(s_at(s, "spec.podManagementPolicy"), "OrderedReady");
	CHECK_STR(s_at(s, "spec.updateStrategy.type"), "RollingUpdate");
	CHECK_INT(i_at(s, "spec.updateStrategy.rollingUpdate.partition"), 0);
	CHECK_STR(s_at(s, "spec.persistentVolumeClaimRetentionPolicy.whenDeleted"), "Retain");
	CHECK_STR(s_at(s, "spec.persistentVolumeClaimRetentionPolicy.whenScaled"), "Retain");
	CHECK_STR(s_at(s, "spec.volumeClaimTemplates[0].spec.volumeMode"), "Filesystem");
	CHECK_STR(s_at(s, "spec.volumeClaimTemplates[0].status.phase"), "Pending");
	_cleanup_json_ json_t *od = defaulted(
	    "apps", "v1", "StatefulSet", "{\"spec\":{\"updateStrategy\":{\"type\":\"OnDelete\"}}}");
	CHECK(at(od, "spec.updateStrategy.rollingUpdate") == NULL);
}

TEST(daemonset_defaults)
{
	_cleanup_json_ json_t *d = defaulted("apps", "v1", "DaemonSet",
	                                     "{\"spec\":{\"template\":{\"spec\":{}}}}");
	CHECK_STR(s_at(d, "spec.updateStrategy.type"), "RollingUpdate");
	CHECK_INT(i_at(d, "spec.updateStrategy.rollingUpdate.maxUnavailable"), 1);
	CHECK_INT(i_at(d, "spec.updateStrategy.rollingUpdate.maxSurge"), 0);
	CHECK_INT(i_at(d, "spec.revisionHistoryLimit"), 10);
}

TEST(replicaset_defaults)
{
	_cleanup_json_ json_t *d = defaulted("apps", "v1", "ReplicaSet",
	                                     "{\"spec\":{\"template\":{\"spec\":{}}}}");
	CHECK_INT(i_at(d, "spec.replicas"), 1);
	CHECK_STR(s_at(d, "spec.template.spec.dnsPolicy"), "ClusterFirst");
}

TEST(hpa_v2_defaults)
{
	_cleanup_json_ json_t *h = defaulted(
	    "autoscaling", "v2", "HorizontalPodAutoscaler",
	    "{\"spec\":{\"maxReplicas\":5,\"behavior\":{\"scaleDown\":{"
	    "\"stabilizationWindowSeconds\":60}}}}");
	CHECK_INT(i_at(h, "spec.minReplicas"), 1);
	CHECK_STR(s_at(h, "spec.metrics[0].type"), "Resource");
	CHECK_STR(s_at(h, "spec.metrics[0].resource.name"), "cpu");
	CHECK_STR(s_at(h, "spec.metrics[0].resource.target.type"), "Utilization");
	CHECK_INT(i_at(h, "spec.metrics[0].resource.target.averageUtilization"), 80);
	CHECK_INT(i_at(h, "spec.behavior.scaleUp.stabilizationWindowSeconds"), 0);
	CHECK_STR(s_at(h, "spec.behavior.scaleUp.selectPolicy"), "Max");
	CHECK_STR(s_at(h, "spec.behavior.scaleUp.policies[0].type"), "Pods");
	CHECK_INT(i_at(h, "spec.behavior.scaleUp.policies[0].value"), 4);
	CHECK_INT(i_at(h, "spec.behavior.scaleUp.policies[0].periodSeconds"), 15);
	CHECK_STR(s_at(h, "spec.behavior.scaleUp.policies[1].type"), "Percent");
	CHECK_INT(i_at(h, "spec.behavior.scaleUp.policies[1].value"), 100);
	CHECK_INT(i_at(h, "spec.behavior.scaleDown.stabilizationWindowSeconds"), 60);
	CHECK_STR(s_at(h, "spec.behavior.scaleDown.selectPolicy"), "Max");
	CHECK_STR(s_at(h, "spec.behavior.scaleDown.policies[0].type"), "Percent");
	CHECK_INT(i_at(h, "spec.behavior.scaleDown.policies[0].value"), 100);
	_cleanup_json_ json_t *nb = defaulted("autoscaling", "v2", "HorizontalPodAutoscaler",
	                                      "{\"spec\":{\"maxReplicas\":5}}");
	CHECK(at(nb, "spec.behavior") == NULL); /* no behavior, none added */
	_cleanup_json_ json_t *v1 = defaulted("autoscaling", "v1", "HorizontalPodAutoscaler",
	                                      "{\"spec\":{\"maxReplicas\":5}}");
	CHECK_INT(i_at(v1, "spec.minReplicas"), 1);
	CHECK(at(v1, "spec.metrics") == NULL);
}

TEST(pv_pvc_defaults)
{
	_cleanup_json_ json_t *pvc = defaulted(
	    "", "v1", "PersistentVolumeClaim",
	    "{\"spec\":{\"accessModes\":[\"ReadWriteOnce\"],\"resources\":{\"requests\":{"
	    "\"storage\":\"1Gi\"}}}}");
	CHECK_STR(s_at(pvc, "spec.volumeMode"), "Filesystem");
	CHECK_STR(s_at(pvc, "status.phase"), "Pending");
	_cleanup_json_ json_t *pv = defaulted("", "v1", "PersistentVolume", "{\"spec\":{}}");
	CHECK_STR(s_at(pv, "spec.persistentVolumeReclaimPolicy"), "Retain");
	CHECK_STR(s_at(pv, "spec.volumeMode"), "Filesystem");
	CHECK_STR(s_at(pv, "status.phase"), "Pending");
}

/* A status write's view (metadata and status, no spec): a Pod's defaults build nothing in
 * it; a Node's allocatable and a Namespace's phase, which come from no spec, are defaulted. */
TEST(status_view_defaults)
{
	kind_registry_init();
	_cleanup_json_ json_t *pod =
	    load("{\"metadata\":{\"name\":\"p\"},\"status\":{\"phase\":\"Running\"}}");
	defaults_apply_beyond_spec(kind_by_gvk("", "v1", "Pod"), pod);
	CHECK(!json_object_get(pod, "spec"));
	CHECK_INT(json_object_size(pod), 2);
	_cleanup_json_ json_t *node =
	    load("{\"metadata\":{\"name\":\"n\"},\"status\":{\"capacity\":{\"cpu\":\"4\"}}}");
	defaults_apply_beyond_spec(kind_by_gvk("", "v1", "Node"), node);
	CHECK_STR(s_at(node, "status.allocatable.cpu"), "4");
	_cleanup_json_ json_t *ns = load("{\"metadata\":{\"name\":\"team\"},\"status\":{}}");
	defaults_apply_beyond_spec(kind_by_gvk("", "v1", "Namespace"), ns);
	CHECK_STR(s_at(ns, "status.phase"), "Active");
	CHECK_STR(json_string_value(json_object_get(at(ns, "metadata.labels"),
	                                             "kubernetes.io/metadata.name")),
	          "team");
}

TEST(small_kinds)
{
	_cleanup_json_ json_t *rb = defaulted(
	    "rbac.authorization.k8s.io", "v1", "RoleBinding",
	    "{\"roleRef\":{\"kind\":\"Role\",\"name\":\"r\"},\"subjects\":[{\"kind\":"
	    "\"ServiceAccount\",\"name\":\"sa\"},{\"kind\":\"User\",\"name\":\"jane\"}]}");
	CHECK_STR(s_at(rb, "roleRef.apiGroup"), "rbac.authorization.k8s.io");
	CHECK_STR(s_at(rb, "subjects[0].apiGroup"), "");
	CHECK_STR(s_at(rb, "subjects[1].apiGroup"), "rbac.authorization.k8s.io");
	_cleanup_json_ json_t *sc = defaulted("storage.k8s.io", "v1", "StorageClass",
	                                      "{\"provisioner\":\"x.io/p\"}");
	CHECK_STR(s_at(sc, "reclaimPolicy"), "Delete");
	CHECK_STR(s_at(sc, "volumeBindingMode"), "Immediate");
	_cleanup_json_ json_t *pc = defaulted("scheduling.k8s.io", "v1", "PriorityClass",
	                                      "{\"value\":1000}");
	CHECK_STR(s_at(pc, "preemptionPolicy"), "PreemptLowerPriority");
	_cleanup_json_ json_t *np = defaulted(
	    "networking.k8s.io", "v1", "NetworkPolicy",
	    "{\"spec\":{\"podSelector\":{},\"egress\":[{\"ports\":[{\"port\":53}]}]}}");
	CHECK_STR(s_at(np, "spec.policyTypes[0]"), "Ingress");
	CHECK_STR(s_at(np, "spec.policyTypes[1]"), "Egress");
	CHECK_STR(s_at(np, "spec.egress[0].ports[0].protocol"), "TCP");
	_cleanup_json_ json_t *es = defaulted("discovery.k8s.io", "v1", "EndpointSlice",
	                                      "{\"ports\":[{\"port\":80}]}");
	CHECK_STR(s_at(es, "ports[0].protocol"), "TCP");
	CHECK_STR(s_at(es, "ports[0].name"), "");
	_cleanup_json_ json_t *lr = defaulted(
	    "", "v1", "LimitRange",
	    "{\"spec\":{\"limits\":[{\"type\":\"Container\",\"max\":{\"cpu\":\"2\"},"
	    "\"min\":{\"memory\":\"64Mi\"}}]}}");
	CHECK_STR(s_at(lr, "spec.limits[0].default.cpu"), "2");
	CHECK_STR(s_at(lr, "spec.limits[0].defaultRequest.cpu"), "2");
	CHECK_STR(s_at(lr, "spec.limits[0].defaultRequest.memory"), "64Mi");
	CHECK(at(lr, "spec.limits[0].default.memory") == NULL);
	_cleanup_json_ json_t *crd = defaulted(
	    "apiextensions.k8s.io", "v1", "CustomResourceDefinition",
	    "{\"spec\":{\"names\":{\"kind\":\"CronTab\",\"plural\":\"crontabs\"}}}");
	CHECK_STR(s_at(crd, "spec.names.singular"), "crontab");
	CHECK_STR(s_at(crd, "spec.names.listKind"), "CronTabList");
	CHECK_STR(s_at(crd, "spec.conversion.strategy"), "None");
	_cleanup_json_ json_t *node = defaulted("", "v1", "Node",
	                                        "{\"status\":{\"capacity\":{\"cpu\":\"4\"}}}");
	CHECK_STR(s_at(node, "status.allocatable.cpu"), "4");
}

TEST(defaults_are_idempotent)
{
	_cleanup_json_ json_t *a = defaulted("apps", "v1", "Deployment", DEPLOYMENT);
	_cleanup_json_ json_t *b = json_deep_copy(a);
	defaults_apply(kind_by_gvk("apps", "v1", "Deployment"), b);
	CHECK(json_equal(a, b));
}

TEST(malformed_bodies_do_not_crash)
{
	static const char *const bodies[] = {
	    "{\"spec\":[]}", "{\"spec\":{\"template\":7}}",
	    "{\"spec\":{\"template\":{\"spec\":{\"containers\":[1,\"x\",null]}}}}",
	    "{\"spec\":{\"strategy\":\"x\",\"replicas\":\"1\"}}", "[]", "{\"metadata\":3}",
	};
	kind_registry_init();
	for (size_t k = 0; k < kind_count(); k++) {
		for (size_t i = 0; i < ARRAY_SIZE(bodies); i++) {
			json_t *j = load(bodies[i]);
			defaults_apply(kind_at(k), j);
			defaults_on_create(kind_at(k), j);
			json_decref(j);
		}
	}
	CHECK(1);
}

/* omitempty as Go's encoder has it, deep in lists and through inline (embedded) structs:
 * TypeMeta's fields sit in the Pod's own object. */
TEST(normalize_drops_empty_omitempty_fields)
{
	const kind_desc *d = kind_by_gvk("", "v1", "Pod");
	REQUIRE(d);
	json_t *obj = load("{\"kind\":\"\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"p\","
	                   "\"finalizers\":[],\"labels\":{}},\"spec\":{\"nodeName\":\"\",\"hostNetwork\":false,"
	                   "\"priority\":0,\"containers\":[{\"name\":\"c\",\"image\":\"\",\"ports\":[],"
	                   "\"stdin\":true}],\"unknownField\":\"\"}}");
	REQUIRE(obj);
	normalize_omitempty(schema_find(d->schema), obj);
	json_t *want = load("{\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"p\"},\"spec\":{"
	                    "\"priority\":0,\"containers\":[{\"name\":\"c\",\"stdin\":true}],"
	                    "\"unknownField\":\"\"}}");
	char *got = json_dumps(obj, JSON_SORT_KEYS);
	if (!json_equal(obj, want))
		fprintf(stderr, "  got %s\n", got);
	CHECK(json_equal(obj, want));
	free(got);
	json_decref(obj);
	json_decref(want);
}
