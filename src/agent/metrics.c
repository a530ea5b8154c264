/* metrics.c — the cgroup and /proc readers and the sampler that turns two readings into
 * CPU rates. Runs on the loop: a sample is a bounded number of small kernel-file reads.
 * Not for: serving the figures (apiserver/metrics_api.c). */
#include "agent/metrics.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/agent.h"
#include "apiserver/apiserver.h"
#include "base/log.h"
#include "base/util.h"

#define CG "/sys/fs/cgroup"
#define MAX_CONTAINERS 4096

struct metrics_sampler {
	uv_timer_t timer;
	int interval_ms;
	metrics_usage node;
	int64_t node_mono_ns;
	metrics_container *c; /* sorted by uid, name, attempt */
	size_t n;
	int samples;
};

/* ---------- readers ---------- */

static bool is_v2(void)
{
	return access(CG "/cgroup.controllers", F_OK) == 0;
}

/* The first integer in the file at path; -1 when absent. */
static int64_t read_int(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	long long v = -1;
	if (fscanf(f, "%lld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/* The value of `key <n>` in a flat keyed file (memory.stat, cpu.stat); -1 when absent. */
static int64_t read_key(const char *path, const char *key)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	char k[128];
	long long v;
	int64_t out = -1;
	while (fscanf(f, "%127s %lld", k, &v) == 2) {
		if (strcmp(k, key) == 0) {
			out = v;
			break;
		}
	}
	fclose(f);
	return out;
}

/* The v1 CPU accounting hierarchy: its own mount or joined with cpu. */
static const char *cpuacct_root(void)
{
	static const char *const roots[] = {CG "/cpuacct", CG "/cpu,cpuacct", CG "/cpuacct,cpu"};
	for (size_t i = 0; i < ARRAY_SIZE(roots); i++) {
		char p[256];
		snprintf(p, sizeof p, "%s/cpuacct.usage", roots[i]);
		if (access(p, F_OK) == 0)
			return roots[i];
	}
	return roots[0];
}

/* k8s (cAdvisor): the working set is usage less the inactive file pages, never below 0. */
static int64_t working_set(int64_t usage, int64_t inactive)
{
	if (inactive > 0 && inactive < usage)
		return usage - inactive;
	return inactive >= usage ? 0 : usage;
}

int metrics_read_cgroup(const char *rel, int64_t *cpu_ns, int64_t *memory_ws)
{
	char p[1280];
	int64_t cpu, usage, inactive;
	if (is_v2()) {
		snprintf(p, sizeof p, CG "%s/cpu.stat", rel);
		int64_t us = read_key(p, "usage_usec");
		cpu = us < 0 ? -1 : us * 1000;
		snprintf(p, sizeof p, CG "%s/memory.current", rel);
		usage = read_int(p);
		snprintf(p, sizeof p, CG "%s/memory.stat", rel);
		inactive = read_key(p, "inactive_file");
	} else {
		snprintf(p, sizeof p, "%s%s/cpuacct.usage", cpuacct_root(), rel);
		cpu = read_int(p);
		snprintf(p, sizeof p, CG "/memory%s/memory.usage_in_bytes", rel);
		usage = read_int(p);
		snprintf(p, sizeof p, CG "/memory%s/memory.stat", rel);
		inactive = read_key(p, "total_inactive_file");
	}
	if (cpu < 0 && usage < 0)
		return -1;
	*cpu_ns = cpu < 0 ? 0 : cpu;
	*memory_ws = usage < 0 ? 0 : working_set(usage, inactive);
	return 0;
}

int metrics_read_node(int64_t *cpu_ns, int64_t *memory_ws)
{
	FILE *f = fopen("/proc/stat", "re");
	if (!f)
		return -1;
	unsigned long long v[8] = {0};
	int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
	               &v[4], &v[5], &v[6], &v[7]);
	fclose(f);
	if (n < 4)
		return -1;
	/* user nice system idle iowait irq softirq steal: busy is all but idle and iowait. */
	unsigned long long busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
	long hz = sysconf(_SC_CLK_TCK);
	*cpu_ns = (int64_t)(busy * (1000000000ULL / (unsigned long long)(hz > 0 ? hz : 100)));
	f = fopen("/proc/meminfo", "re");
	if (!f)
		return -1;
	char line[256];
	long long total = -1, free_kb = -1, inactive = 0, kb;
	while (fgets(line, sizeof line, f)) {
		if (sscanf(line, "MemTotal: %lld", &kb) == 1)
			total = kb;
		else if (sscanf(line, "MemFree: %lld", &kb) == 1)
			free_kb = kb;
		else if (sscanf(line, "Inactive(file): %lld", &kb) == 1)
			inactive = kb;
	}
	fclose(f);
	if (total < 0 || free_kb < 0)
		return -1;
	*memory_ws = working_set((total - free_kb) * 1024, inactive * 1024);
	return 0;
}

/* ---------- the sampler ---------- */

static int cmp_container(const void *a, const void *b)
{
	const metrics_container *x = a, *y = b;
	int c = strcmp(x->uid, y->uid);
	if (!c)
		c = strcmp(x->name, y->name);
	if (!c)
		c = (x->attempt > y->attempt) - (x->attempt < y->attempt);
	return c;
}

static const metrics_container *find(const metrics_container *c, size_t n, const metrics_container *k)
{
	return n ? bsearch(k, c, n, sizeof *c, cmp_container) : NULL; /* UBSan: no NULL base */
}

static void free_containers(metrics_container *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(c[i].uid);
		free(c[i].name);
	}
	free(c);
}

static void rate(metrics_usage *u, int64_t mono, int64_t prev_cpu, int64_t prev_mono)
{
	int64_t dt = mono - prev_mono;
	if (prev_mono <= 0 || dt <= 0 || u->cpu_total_ns < prev_cpu) {
		u->cpu_nanocores = -1;
		u->window_ns = 0;
		return;
	}
	u->cpu_nanocores = (int64_t)((double)(u->cpu_total_ns - prev_cpu) * 1e9 / (double)dt);
	u->window_ns = dt;
}

/* Every container cgroup under /timon/pod<uid>/ of the CPU hierarchy. */
static size_t scan(metrics_container **out, int64_t now, int64_t mono)
{
	char base[256];
	snprintf(base, sizeof base, "%s/timon", is_v2() ? CG : cpuacct_root());
	metrics_container *c = NULL;
	size_t n = 0, cap = 0;
	DIR *d = opendir(base);
	struct dirent *pe;
	while (d && (pe = readdir(d))) {
		if (strncmp(pe->d_name, "pod", 3) != 0 || pe->d_type != DT_DIR)
			continue;
		char pod_dir[512];
		snprintf(pod_dir, sizeof pod_dir, "%s/%s", base, pe->d_name);
		DIR *pd = opendir(pod_dir);
		struct dirent *ce;
		while (pd && (ce = readdir(pd)) && n < MAX_CONTAINERS) {
			char *uid = NULL, *name = NULL;
			int attempt;
			if (ce->d_type != DT_DIR || ce->d_name[0] == '.' ||
			    agent_container_id_parse(ce->d_name, &uid, &name, &attempt) < 0)
				continue;
			char rel[1024];
			snprintf(rel, sizeof rel, "/timon/%s/%s", pe->d_name, ce->d_name);
			int64_t cpu, mem;
			if (strcmp(pe->d_name + 3, uid) != 0 || metrics_read_cgroup(rel, &cpu, &mem) < 0) {
				free(uid);
				free(name);
				continue;
			}
			if (n == cap)
				c = xrealloc(c, (cap = cap ? cap * 2 : 16) * sizeof *c);
			c[n++] = (metrics_container){.uid = uid, .name = name, .attempt = attempt,
			                             .u = {.cpu_total_ns = cpu, .memory_ws = mem, .time_ns = now},
			                             .mono_ns = mono};
		}
		if (pd)
			closedir(pd);
	}
	if (d)
		closedir(d);
	if (n)
		qsort(c, n, sizeof *c, cmp_container);
	*out = c;
	return n;
}

static void on_timer(uv_timer_t *t);

void metrics_sampler_sample(metrics_sampler *m)
{
	int64_t now = time_now_ns(), mono = time_mono_ns();
	metrics_container *c;
	size_t n = scan(&c, now, mono);
	bool fresh = false;
	for (size_t i = 0; i < n; i++) {
		const metrics_container *p = find(m->c, m->n, &c[i]);
		rate(&c[i].u, mono, p ? p->u.cpu_total_ns : 0, p ? p->mono_ns : 0);
		fresh = fresh || !p;
	}
	free_containers(m->c, m->n);
	m->c = c;
	m->n = n;
	int64_t cpu, mem;
	if (metrics_read_node(&cpu, &mem) == 0) {
		int64_t prev_cpu = m->node.cpu_total_ns;
		m->node.cpu_total_ns = cpu;
		m->node.memory_ws = mem;
		m->node.time_ns = now;
		rate(&m->node, mono, prev_cpu, m->node_mono_ns);
		m->node_mono_ns = mono;
	}
	m->samples++;
	/* A container seen for the first time gets its rate a second later, not a whole
	 * interval later: `kubectl top` shows new pods quickly. */
	if (m->interval_ms > 1000 && (fresh || m->samples == 1) && uv_is_active((uv_handle_t *)&m->timer))
		uv_timer_start(&m->timer, on_timer, 1000, 0);
}

static void on_timer(uv_timer_t *t)
{
	metrics_sampler *m = t->data;
	uv_timer_start(&m->timer, on_timer, (uint64_t)m->interval_ms, 0);
	metrics_sampler_sample(m);
}

metrics_sampler *metrics_sampler_start(uv_loop_t *loop, int interval_ms)
{
	metrics_sampler *m = xcalloc(1, sizeof *m);
	m->interval_ms = interval_ms > 0 ? interval_ms : METRICS_INTERVAL_MS;
	m->node.cpu_nanocores = -1;
	uv_timer_init(loop, &m->timer);
	m->timer.data = m;
	uv_timer_start(&m->timer, on_timer, 0, 0);
	return m;
}

static void on_closed(uv_handle_t *h)
{
	metrics_sampler *m = h->data;
	free_containers(m->c, m->n);
	free(m);
}

void metrics_sampler_stop(metrics_sampler *m)
{
	if (!m)
		return;
	uv_timer_stop(&m->timer);
	uv_close((uv_handle_t *)&m->timer, on_closed);
}

const metrics_usage *metrics_sampler_node(const metrics_sampler *m)
{
	return &m->node;
}

size_t metrics_sampler_pod(const metrics_sampler *m, const char *uid, const metrics_container **out,
                           size_t max)
{
	size_t k = 0;
	for (size_t i = 0; i < m->n && k < max; i++) {
		if (strcmp(m->c[i].uid, uid) != 0)
			continue;
		/* Sorted by attempt within a name: keep the last (newest) one. */
		if (i + 1 < m->n && str_eq(m->c[i + 1].uid, uid) && str_eq(m->c[i + 1].name, m->c[i].name))
			continue;
		out[k++] = &m->c[i];
	}
	return k;
}

/* ---------- attaching to the API server ---------- */

static metrics_sampler *attached;

void agent_metrics_attach(apiserver *srv, const char *node_name)
{
	if (attached || !node_name || !node_name[0])
		return;
	attached = metrics_sampler_start(apiserver_loop(srv), 0);
	apiserver_set_metrics(srv, attached, node_name);
	log_info("metrics: serving metrics.k8s.io for node %s", node_name);
}

void agent_metrics_detach(apiserver *srv)
{
	if (!attached)
		return;
	apiserver_set_metrics(srv, NULL, NULL);
	metrics_sampler_stop(attached);
	attached = NULL;
}
