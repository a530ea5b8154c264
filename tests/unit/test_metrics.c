/* test_metrics.c — the node and cgroup readers against this machine's real /proc and
 * cgroup files, and the sampler's rates on a real libuv loop. */
#include <unistd.h>

#include "agent/metrics.h"
#include "base/util.h"
#include "test.h"

TEST(node_figures)
{
	int64_t cpu = 0, mem = 0, cpu2 = 0;
	REQUIRE(metrics_read_node(&cpu, &mem) == 0);
	CHECK(cpu > 0);
	CHECK(mem > 0);
	/* busy CPU time only grows */
	for (volatile long i = 0; i < 50000000; i++)
		;
	REQUIRE(metrics_read_node(&cpu2, &mem) == 0);
	CHECK(cpu2 >= cpu);
}

TEST(cgroup_root_reads_and_missing_cgroup)
{
	int64_t cpu = -1, mem = -1;
	/* the hierarchy roots themselves: "" is the root cgroup */
	if (metrics_read_cgroup("", &cpu, &mem) == 0) {
		CHECK(cpu >= 0);
		CHECK(mem >= 0);
	}
	CHECK_INT(metrics_read_cgroup("/timon/podnone/none_c_0", &cpu, &mem), -1);
}

static void stop_cb(uv_timer_t *t)
{
	uv_stop(t->loop);
}

TEST(sampler_rates_after_two_samples)
{
	uv_loop_t loop;
	uv_loop_init(&loop);
	metrics_sampler *m = metrics_sampler_start(&loop, 0);
	uv_timer_t stop;
	uv_timer_init(&loop, &stop);
	uv_timer_start(&stop, stop_cb, 300, 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	/* one sample so far: no rate yet */
	CHECK(metrics_sampler_node(m)->cpu_nanocores < 0);
	CHECK(metrics_sampler_node(m)->memory_ws > 0);
	uv_timer_start(&stop, stop_cb, 1000, 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	/* the second sample follows a second after the first */
	const metrics_usage *u = metrics_sampler_node(m);
	CHECK(u->cpu_nanocores >= 0);
	CHECK(u->window_ns > 900000000LL && u->window_ns < 2000000000LL);
	const metrics_container *c[4];
	CHECK_INT(metrics_sampler_pod(m, "no-such-uid", c, 4), 0);
	metrics_sampler_stop(m);
	uv_close((uv_handle_t *)&stop, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	CHECK_INT(uv_loop_close(&loop), 0);
}
