/* test_agent_upkeep.c — the node agent's housekeeping rules as pure functions: which
 * images image GC removes (kubelet's order), rotated container log names and how many
 * rotated files stay, and the flags that set them (cmd/agent_flags.c). */
#include <stdlib.h>
#include <string.h>

#include "agent/agent-internal.h"
#include "base/util.h"
#include "cmd/agent_flags.h"
#include "test.h"

#define S 1000000000LL

TEST(image_gc_lru_first_until_enough)
{
	agent_gc_image imgs[] = {
	    {.size = 100, .first_seen_ns = 0, .last_used_ns = 50 * S},  /* 0 */
	    {.size = 200, .first_seen_ns = 0, .last_used_ns = 10 * S},  /* 1: oldest use */
	    {.size = 300, .first_seen_ns = 0, .last_used_ns = 30 * S},  /* 2 */
	    {.size = 400, .first_seen_ns = 0, .last_used_ns = 20 * S},  /* 3 */
	};
	size_t order[4];
	int64_t freed = 0;
	/* 500 bytes: 1 (200) then 3 (400) reach it; 2 and 0 stay. */
	size_t k = agent_image_gc_plan(imgs, 4, 1000 * S, 0, 500, order, &freed);
	REQUIRE(k == 2);
	CHECK(order[0] == 1);
	CHECK(order[1] == 3);
	CHECK(freed == 600);
	/* Everything: the whole LRU order. */
	k = agent_image_gc_plan(imgs, 4, 1000 * S, 0, 1 << 30, order, &freed);
	REQUIRE(k == 4);
	CHECK(order[0] == 1 && order[1] == 3 && order[2] == 2 && order[3] == 0);
	CHECK(freed == 1000);
	/* Nothing to free: nothing goes. */
	CHECK(agent_image_gc_plan(imgs, 4, 1000 * S, 0, 0, order, &freed) == 0);
	CHECK(freed == 0);
}

TEST(image_gc_keeps_used_and_young)
{
	agent_gc_image imgs[] = {
	    {.size = 100, .first_seen_ns = 0, .last_used_ns = 1 * S, .in_use = true},
	    {.size = 100, .first_seen_ns = 990 * S, .last_used_ns = 2 * S}, /* 10 s old */
	    {.size = 100, .first_seen_ns = 100 * S, .last_used_ns = 3 * S},
	};
	size_t order[3];
	int64_t freed = 0;
	size_t k = agent_image_gc_plan(imgs, 3, 1000 * S, 120 * S, 1 << 30, order, &freed);
	REQUIRE(k == 1);
	CHECK(order[0] == 2);
	CHECK(freed == 100);
	/* No minimum age: the young one may go too, the used one never. */
	k = agent_image_gc_plan(imgs, 3, 1000 * S, 0, 1 << 30, order, &freed);
	REQUIRE(k == 2);
	CHECK(order[0] == 1 && order[1] == 2);
	/* Ties keep the input order. */
	agent_gc_image tie[] = {{.size = 1, .last_used_ns = 5}, {.size = 1, .last_used_ns = 5}};
	k = agent_image_gc_plan(tie, 2, 10, 0, 2, order, &freed);
	REQUIRE(k == 2);
	CHECK(order[0] == 0 && order[1] == 1);
	CHECK(agent_image_gc_plan(NULL, 0, 10, 0, 100, order, &freed) == 0);
}

TEST(log_rotation_names)
{
	/* 2024-02-29 13:04:05 UTC */
	char *n = agent_log_rotated_name("/l/ns_p_u/c/0.log", 1709211845LL * S + 123);
	CHECK_STR(n, "/l/ns_p_u/c/0.log.20240229-130405");
	free(n);
	CHECK(agent_log_is_rotated("0.log.20240229-130405", "0.log"));
	CHECK(agent_log_is_rotated("0.log.20240229-130405.gz", "0.log"));
	CHECK(!agent_log_is_rotated("0.log", "0.log"));
	CHECK(!agent_log_is_rotated("0.log.tmp", "0.log"));
	CHECK(!agent_log_is_rotated("0.log.20240229-130405.gz.tmp", "0.log"));
	CHECK(!agent_log_is_rotated("10.log.20240229-130405", "0.log"));
	CHECK(!agent_log_is_rotated("1.log.20240229-130405", "0.log"));
	CHECK(!agent_log_is_rotated("0.log.2024022-9130405", "0.log"));
}

TEST(log_rotation_excess)
{
	char *v[] = {xstrdup("0.log.20240103-000000.gz"), xstrdup("0.log.20240101-000000.gz"),
	             xstrdup("0.log.20240104-000000"), xstrdup("0.log.20240102-000000.gz")};
	size_t kept = 99;
	/* max 3 files: current + 2 rotated after the rotation, so 1 may stay before it. */
	size_t drop = agent_log_excess(v, 4, 3, &kept);
	CHECK(drop == 3);
	CHECK(kept == 3);
	CHECK_STR(v[0], "0.log.20240101-000000.gz"); /* oldest first */
	CHECK_STR(v[3], "0.log.20240104-000000");
	CHECK(agent_log_excess(v, 4, 5, &kept) == 1);
	CHECK(kept == 1);
	CHECK(agent_log_excess(v, 4, 10, NULL) == 0);
	CHECK(agent_log_excess(v, 0, 2, &kept) == 0);
	CHECK(agent_log_excess(v, 4, 2, &kept) == 4); /* only the current file and the new one */
	for (size_t i = 0; i < 4; i++)
		free(v[i]);
}

TEST(agent_flags)
{
	int64_t s = -1;
	CHECK(agent_flags_duration("2m", &s) == 0 && s == 120);
	CHECK(agent_flags_duration("1h30m10s", &s) == 0 && s == 5410);
	CHECK(agent_flags_duration("0s", &s) == 0 && s == 0);
	CHECK(agent_flags_duration("45", &s) == 0 && s == 45);
	CHECK(agent_flags_duration("500ms", &s) == 0 && s == 0);
	CHECK(agent_flags_duration("2x", &s) == -1);
	CHECK(agent_flags_duration("m", &s) == -1);
	CHECK(agent_flags_duration("", &s) == -1);
	CHECK(agent_flags_duration("-5s", &s) == -1);

	agent_config c = {0};
	int first = AGENT_OPT_FIRST;
	/* The options' values, by name, so the test does not depend on their order. */
	int handler = 0, high = 0, low = 0, age = 0, size = 0, files = 0;
	for (size_t i = 0; agent_flag_options[i].name; i++) {
		const char *nm = agent_flag_options[i].name;
		int v = agent_flag_options[i].val;
		CHECK(v >= first);
		if (!strcmp(nm, "runtime-handler")) handler = v;
		if (!strcmp(nm, "image-gc-high-threshold")) high = v;
		if (!strcmp(nm, "image-gc-low-threshold")) low = v;
		if (!strcmp(nm, "minimum-image-ttl-duration")) age = v;
		if (!strcmp(nm, "container-log-max-size")) size = v;
		if (!strcmp(nm, "container-log-max-files")) files = v;
	}
	REQUIRE(handler && high && low && age && size && files);
	CHECK(agent_flag(handler, "kata=/usr/bin/kata-runtime", &c, "test") == 0);
	CHECK(c.n_runtime_handlers == 1);
	CHECK(agent_flag(handler, "kata", &c, "test") == -1);
	CHECK(agent_flag(handler, "=/x", &c, "test") == -1);
	CHECK(agent_flag(handler, "k=relative", &c, "test") == -1);
	CHECK(agent_flag(high, "90", &c, "test") == 0 && c.image_gc_high == 90);
	CHECK(agent_flag(high, "101", &c, "test") == -1);
	CHECK(agent_flag(low, "0", &c, "test") == 0 && c.image_gc_low == -1); /* a real 0 */
	CHECK(agent_flags_check(&c, "test") == 0);
	CHECK(agent_flag(low, "95", &c, "test") == 0);
	CHECK(agent_flags_check(&c, "test") == -1);
	CHECK(agent_flag(age, "0s", &c, "test") == 0 && c.image_min_age_s < 0);
	CHECK(agent_flag(age, "5m", &c, "test") == 0 && c.image_min_age_s == 300);
	CHECK(agent_flag(size, "10Mi", &c, "test") == 0 && c.log_max_size == 10LL * 1024 * 1024);
	CHECK(agent_flag(size, "100", &c, "test") == -1);
	CHECK(agent_flag(files, "1", &c, "test") == -1);
	CHECK(agent_flag(files, "3", &c, "test") == 0 && c.log_max_files == 3);
}
