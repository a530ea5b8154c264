/* test_agent.c — the node agent's pure parts: container/log/cgroup naming, the eviction
 * threshold parser, and a pod's status (phase by kubelet's rules, conditions, readiness
 * from probes) computed from a sync report. */
#include <stdlib.h>
#include <string.h>

#include "agent/agent-internal.h"
#include "base/json.h"
#include "test.h"

/* One masquerade rule per node, in a table named after the node; bad CIDRs are refused. */
TEST(agent_masq_rules)
{
	char *t = agent_masq_text("vm1", "vm1", "10.42.7.9/16");
	REQUIRE(t);
	CHECK(strstr(t, "add table inet timon-pods\ndelete table inet timon-pods\n"));
	CHECK(strstr(t, "type nat hook postrouting priority srcnat"));
	CHECK(strstr(t, "ip saddr 10.42.0.0/16 ip daddr != 10.42.0.0/16 ip daddr != 224.0.0.0/4 "
	                "masquerade"));
	free(t);
	t = agent_masq_text("node-b", "vm1", "10.42.0.0/16");
	REQUIRE(t);
	CHECK(strstr(t, "add table inet timon-node-b-pods\n"));
	free(t);
	CHECK(agent_masq_text("vm1", "vm1", "10.42.0.0/33") == NULL);
	CHECK(agent_masq_text("vm1", "vm1", "10.42.0.0") == NULL);
	CHECK(agent_masq_text("vm1", "vm1", "10.42.0.0/16; flush ruleset") == NULL);
	CHECK(agent_masq_text("vm1", "vm1", NULL) == NULL);
}

TEST(agent_ids_round_trip)
{
	char *id = agent_container_id("0b1c-uid", "web", 3);
	CHECK_STR(id, "0b1c-uid_web_3");
	char *uid, *name;
	int att;
	REQUIRE(agent_container_id_parse(id, &uid, &name, &att) == 0);
	CHECK_STR(uid, "0b1c-uid");
	CHECK_STR(name, "web");
	CHECK_INT(att, 3);
	free(uid);
	free(name);
	free(id);
	/* Container names are DNS labels (no underscore), so the last '_' ends the name. */
	CHECK_INT(agent_container_id_parse("nounderscore", &uid, &name, &att), -1);
	CHECK_INT(agent_container_id_parse("u_name_", &uid, &name, &att), -1);
	CHECK_INT(agent_container_id_parse("u__1", &uid, &name, &att), -1);
	CHECK_INT(agent_container_id_parse("u_name_x1", &uid, &name, &att), -1);
	CHECK_INT(agent_container_id_parse("_name_1", &uid, &name, &att), -1);
	char *p = agent_container_log_path("/l", "ns", "pod", "u1", "c", 2);
	CHECK_STR(p, "/l/ns_pod_u1/c/2.log");
	free(p);
	p = agent_pod_cgroup("u1");
	CHECK_STR(p, "/timon/podu1");
	free(p);
}

TEST(agent_eviction_thresholds)
{
	int64_t mem;
	double pct;
	REQUIRE(agent_eviction_parse(NULL, &mem, &pct) == 0);
	CHECK_INT(mem, 100LL * 1024 * 1024);
	CHECK(pct == 10.0);
	REQUIRE(agent_eviction_parse("memory.available<1Gi,nodefs.available<5%", &mem, &pct) == 0);
	CHECK_INT(mem, 1024LL * 1024 * 1024);
	CHECK(pct == 5.0);
	CHECK_INT(agent_eviction_parse("memory.available>1Gi", &mem, &pct), -1);
	CHECK_INT(agent_eviction_parse("nodefs.available<5", &mem, &pct), -1);
	CHECK_INT(agent_eviction_parse("cpu.available<1", &mem, &pct), -1);
	CHECK_INT(agent_eviction_parse("memory.available<lots", &mem, &pct), -1);
}

static json_t *load(const char *s)
{
	json_error_t e;
	json_t *j = json_loads(s, 0, &e);
	if (!j)
		fprintf(stderr, "bad JSON in test: %s\n", e.text);
	return j;
}

static const char *cond_status(json_t *st, const char *type)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(st, "conditions"), i, c)
	{
		if (!strcmp(json_string_value(json_object_get(c, "type")), type))
			return json_string_value(json_object_get(c, "status"));
	}
	return NULL;
}

TEST(agent_pod_status_phases)
{
	agent a = {.node_ip = (char *)"192.0.2.2"};
	agent_pod ap = {.probes = json_object()};
	json_t *pod = load("{\"metadata\":{\"name\":\"p\",\"uid\":\"u\"},\"spec\":{\"restartPolicy\":\"Always\","
	                   "\"containers\":[{\"name\":\"a\",\"readinessProbe\":{\"exec\":{}}},{\"name\":\"b\"}]},"
	                   "\"status\":{\"conditions\":[{\"type\":\"PodScheduled\",\"status\":\"True\"}]}}");
	REQUIRE(pod);
	json_t *running = load("{\"podIP\":\"10.42.0.5\",\"initDone\":true,\"containerStatuses\":["
	                       "{\"name\":\"a\",\"state\":{\"running\":{\"startedAt\":\"x\"}}},"
	                       "{\"name\":\"b\",\"state\":{\"running\":{\"startedAt\":\"x\"}}}]}");
	/* a's readiness probe has not passed yet: Running, not Ready, and says which. */
	json_t *st = agent_pod_status(&a, pod, running, &ap);
	CHECK_STR(json_string_value(json_object_get(st, "phase")), "Running");
	CHECK_STR(cond_status(st, "Ready"), "False");
	CHECK_STR(cond_status(st, "PodScheduled"), "True");
	CHECK_STR(json_path_str(st, "podIP"), "10.42.0.5");
	json_t *c;
	size_t i;
	json_array_foreach(json_object_get(st, "conditions"), i, c)
	{
		if (!strcmp(json_string_value(json_object_get(c, "type")), "Ready"))
			CHECK_STR(json_string_value(json_object_get(c, "message")),
			          "containers with unready status: [a]");
	}
	json_decref(st);
	/* The probe passes: Ready. */
	json_object_set_new(ap.probes, "a", json_pack("{s:b}", "readinessProbe", 1));
	st = agent_pod_status(&a, pod, running, &ap);
	CHECK_STR(cond_status(st, "Ready"), "True");
	CHECK_STR(cond_status(st, "ContainersReady"), "True");
	json_decref(st);
	/* A crash-looping container with a last state keeps the pod Running (k8s getPhase). */
	json_t *crash = load("{\"initDone\":true,\"containerStatuses\":["
	                     "{\"name\":\"a\",\"state\":{\"running\":{}}},"
	                     "{\"name\":\"b\",\"state\":{\"waiting\":{\"reason\":\"CrashLoopBackOff\"}},"
	                     "\"lastState\":{\"terminated\":{\"exitCode\":1}}}]}");
	st = agent_pod_status(&a, pod, crash, &ap);
	CHECK_STR(json_string_value(json_object_get(st, "phase")), "Running");
	CHECK_STR(cond_status(st, "Ready"), "False");
	json_decref(st);
	/* Never: all exited 0 is Succeeded; one failure is Failed. */
	json_object_set_new(json_object_get(pod, "spec"), "restartPolicy", json_string("Never"));
	json_t *done = load("{\"initDone\":true,\"containerStatuses\":["
	                    "{\"name\":\"a\",\"state\":{\"terminated\":{\"exitCode\":0}}},"
	                    "{\"name\":\"b\",\"state\":{\"terminated\":{\"exitCode\":0}}}]}");
	st = agent_pod_status(&a, pod, done, &ap);
	CHECK_STR(json_string_value(json_object_get(st, "phase")), "Succeeded");
	json_decref(st);
	json_t *b_state = json_object_get(json_array_get(json_object_get(done, "containerStatuses"), 1), "state");
	json_object_set_new(json_object_get(b_state, "terminated"), "exitCode", json_integer(2));
	st = agent_pod_status(&a, pod, done, &ap);
	CHECK_STR(json_string_value(json_object_get(st, "phase")), "Failed");
	json_decref(st);
	/* Init containers not done: Pending, Initialized False naming them. */
	json_t *init = load("{\"initDone\":false,\"initContainerStatuses\":["
	                    "{\"name\":\"setup\",\"state\":{\"running\":{}}}],\"containerStatuses\":[]}");
	json_object_set_new(json_object_get(pod, "spec"), "initContainers", load("[{\"name\":\"setup\"}]"));
	st = agent_pod_status(&a, pod, init, &ap);
	CHECK_STR(json_string_value(json_object_get(st, "phase")), "Pending");
	CHECK_STR(cond_status(st, "Initialized"), "False");
	json_decref(st);
	json_decref(init);
	json_decref(done);
	json_decref(crash);
	json_decref(running);
	json_decref(pod);
	json_decref(ap.probes);
}

TEST(token_renewed_past_80_percent)
{
	json_t *e = json_pack("{s:s, s:I, s:I}", "token", "t", "iat", (json_int_t)1000,
	                      "exp", (json_int_t)(1000 + 3607));
	CHECK(agent_token_due(NULL, 0));
	CHECK(!agent_token_due(e, 1000));
	CHECK(!agent_token_due(e, 1000 + 3607 * 8 / 10 - 1));
	CHECK(agent_token_due(e, 1000 + 3607 * 8 / 10));
	json_decref(e);
	/* A day-long token is renewed after 24 h, not after 80% of it. */
	e = json_pack("{s:s, s:I, s:I}", "token", "t", "iat", (json_int_t)0, "exp",
	              (json_int_t)(10 * 24 * 3600));
	CHECK(!agent_token_due(e, 24 * 3600 - 1));
	CHECK(agent_token_due(e, 24 * 3600));
	json_decref(e);
	e = json_pack("{s:b}", "pending", 1);
	CHECK(!agent_token_due(e, 1 << 30)); /* one request at a time */
	json_decref(e);
	e = json_pack("{s:I}", "retryAt", (json_int_t)500);
	CHECK(!agent_token_due(e, 499));
	CHECK(agent_token_due(e, 500));
	json_decref(e);
}
