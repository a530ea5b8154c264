/* agent_evict.c — node pressure: the kubelet's hard eviction thresholds
 * (memory.available, nodefs.available) checked every 10 s; under pressure the node reports
 * MemoryPressure / DiskPressure with their NoSchedule taints, and one pod is evicted per
 * check, ranked as kube ranks them: pods using more than they requested first, then lower
 * priority, then by how far usage exceeds the request. Loop thread; the reads are of
 * /proc/meminfo, statvfs and the pods' memory cgroups (small files). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "agent/agent-internal.h"
#include "agent/metrics.h"
#include "base/json.h"
#include "base/log.h"
#include "base/quantity.h"
#include "base/util.h"
#include "controllers/events.h"

#define EVICT_EVERY_NS (10LL * 1000000000LL)

/* "memory.available<100Mi,nodefs.available<10%" (kube's --eviction-hard). */
int agent_eviction_parse(const char *spec, int64_t *mem_min, double *nodefs_pct)
{
	*mem_min = 100LL * 1024 * 1024; /* k8s defaults */
	*nodefs_pct = 10.0;
	if (!spec || !*spec)
		return 0;
	_cleanup_free_ char *copy = xstrdup(spec);
	char *save = NULL;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *lt = strchr(t, '<');
		if (!lt)
			return -1;
		*lt++ = 0;
		if (!strcmp(t, "memory.available")) {
			quantity q;
			if (quantity_parse(lt, &q, NULL) < 0)
				return -1;
			*mem_min = quantity_value(&q);
		} else if (!strcmp(t, "nodefs.available")) {
			char *end;
			double v = strtod(lt, &end);
			if (*end != '%' || v < 0 || v > 100)
				return -1;
			*nodefs_pct = v;
		} else {
			return -1;
		}
	}
	return 0;
}

static int64_t request_of(json_t *pod, const char *res)
{
	int64_t sum = 0;
	size_t i;
	json_t *c;
	json_array_foreach(json_path(pod, "spec.containers"), i, c)
	{
		const char *v = json_string_value(json_object_get(json_path(c, "resources.requests"), res));
		quantity q;
		if (v && quantity_parse(v, &q, NULL) == 0)
			sum += quantity_value(&q);
	}
	return sum;
}

static void evict_one(agent *a, const char *resource, const char *threshold, int64_t available)
{
	agent_pod *victim = NULL;
	json_t *vpod = NULL;
	int64_t v_over = 0, v_usage = 0;
	bool v_exceeds = false;
	int64_t v_prio = 0;
	size_t it = 0;
	const char *k;
	void *v;
	while (hmap_next(&a->pods, &it, &k, &v)) {
		agent_pod *ap = v;
		if (json_object_get(ap->mem, "finished") || json_object_get(ap->mem, "evicted"))
			continue;
		_cleanup_free_ char *ns = NULL, *name = NULL;
		controller_split_key(ap->key, &ns, &name);
		json_t *pod = controller_get(a->c, controller_kind("", "pods"), ns, name);
		if (!pod || json_path(pod, "metadata.deletionTimestamp")) {
			json_decref(pod);
			continue;
		}
		_cleanup_free_ char *cg = agent_pod_cgroup(ap->uid);
		int64_t cpu = 0, usage = 0;
		if (metrics_read_cgroup(cg, &cpu, &usage) < 0)
			usage = 0;
		int64_t req = request_of(pod, "memory");
		bool exceeds = usage > req;
		int64_t prio = json_integer_value(json_path(pod, "spec.priority"));
		int64_t over = usage - req;
		/* k8s: exceeding requests first, then lower priority, then the larger excess. */
		bool better = !victim || (exceeds && !v_exceeds) ||
		              (exceeds == v_exceeds && prio < v_prio) ||
		              (exceeds == v_exceeds && prio == v_prio && over > v_over);
		if (better) {
			json_decref(vpod);
			victim = ap;
			vpod = pod;
			v_exceeds = exceeds;
			v_prio = prio;
			v_over = over;
			v_usage = usage;
		} else {
			json_decref(pod);
		}
	}
	if (!victim)
		return;
	char *msg = xasprintf("The node was low on resource: %s. Threshold quantity: %s, available: %lldKi. "
	                      "Pod was using %lldKi of memory, request is %lldKi.",
	                      resource, threshold, (long long)(available / 1024),
	                      (long long)(v_usage / 1024), (long long)((v_usage - v_over) / 1024));
	log_info("agent: evicting %s: %s", victim->key, msg);
	event_record(a->c->srv, AGENT_NAME, vpod, "Warning", "Evicted", "%s", msg);
	json_object_set_new(victim->mem, "evicted", json_string(msg));
	victim->kick = true;
	controller_enqueue(a->c, victim->key);
	json_decref(vpod);
	free(msg);
}

void agent_evict_check(agent *a)
{
	int64_t now = time_mono_ns();
	if (now < a->next_evict_ns)
		return;
	a->next_evict_ns = now + EVICT_EVERY_NS;
	int64_t avail = agent_meminfo_kib("MemAvailable");
	if (avail >= 0)
		avail *= 1024;
	struct statvfs vfs;
	double disk_pct = 100.0;
	if (statvfs(a->pods_dir, &vfs) == 0 && vfs.f_blocks)
		disk_pct = 100.0 * (double)vfs.f_bavail / (double)vfs.f_blocks;
	bool mem = avail >= 0 && avail < a->evict_mem_min;
	bool disk = disk_pct < a->evict_nodefs_pct;
	if (mem != a->mem_pressure || disk != a->disk_pressure) {
		log_info("agent: memory pressure %s, disk pressure %s", mem ? "on" : "off", disk ? "on" : "off");
		a->mem_pressure = mem;
		a->disk_pressure = disk;
		a->next_status_ns = 0; /* conditions and taints go out on the next tick */
	}
	char thr[64];
	if (mem) {
		snprintf(thr, sizeof thr, "%lldKi", (long long)(a->evict_mem_min / 1024));
		evict_one(a, "memory", thr, avail);
	} else if (disk) {
		snprintf(thr, sizeof thr, "%.0f%%", a->evict_nodefs_pct);
		evict_one(a, "ephemeral-storage", thr, (int64_t)vfs.f_bavail * (int64_t)vfs.f_frsize);
	}
}
