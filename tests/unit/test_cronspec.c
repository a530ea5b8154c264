/* test_cronspec.c — cron schedule parsing, next activation times (with DST), and time
 * zones from the system tz database (needs Debian's tzdata in /usr/share/zoneinfo). */
#include <time.h>

#include "controllers/cronspec.h"
#include "test.h"

/* Seconds since the epoch of a UTC date-time. */
static int64_t utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = {.tm_year = y - 1900,
	                .tm_mon = mo - 1,
	                .tm_mday = d,
	                .tm_hour = h,
	                .tm_min = mi,
	                .tm_sec = s};
	return (int64_t)timegm(&tm);
}

static int64_t next_of(const char *spec, const char *zone, int64_t from)
{
	cronspec cs;
	char err[256];
	if (cronspec_parse(spec, &cs, err, sizeof err) < 0)
		return -2;
	cron_tz *tz = cron_tz_load(zone, err, sizeof err);
	if (!tz)
		return -3;
	int64_t n = cronspec_next(&cs, tz, from);
	cron_tz_free(tz);
	return n;
}

static const char *parse_err(const char *spec)
{
	static char err[256];
	cronspec cs;
	err[0] = '\0';
	if (cronspec_parse(spec, &cs, err, sizeof err) == 0)
		return "(ok)";
	return err;
}

TEST(parse_errors_use_robfig_wording)
{
	CHECK_STR(parse_err("* * * *"), "expected exactly 5 fields, found 4: [* * * *]");
	CHECK_STR(parse_err("60 * * * *"), "end of range (60) above maximum (59): 60");
	CHECK_STR(parse_err("* * 0 * *"), "beginning of range (0) below minimum (1): 0");
	CHECK_STR(parse_err("5-2 * * * *"), "beginning of range (5) beyond end of range (2): 5-2");
	CHECK_STR(parse_err("*/0 * * * *"), "step of range should be a positive number: */0");
	CHECK_STR(parse_err("1/2/3 * * * *"), "too many slashes: 1/2/3");
	CHECK_STR(parse_err("1-2-3 * * * *"), "too many hyphens: 1-2-3");
	CHECK_STR(parse_err("x * * * *"),
	          "failed to parse int from x: strconv.Atoi: parsing \"x\": invalid syntax");
	CHECK_STR(parse_err("* * * * 7"), "end of range (7) above maximum (6): 7");
	CHECK_STR(parse_err("@fortnightly"), "unrecognized descriptor: @fortnightly");
	CHECK_STR(parse_err(""), "empty spec string");
	CHECK_STR(parse_err("@every 5"),
	          "failed to parse duration @every 5: time: missing unit in duration \"5\"");
}

TEST(parse_fields_names_and_descriptors)
{
	cronspec cs;
	char err[256];
	REQUIRE(cronspec_parse("0,30 9-17/4 * JAN-mar mon-FRI", &cs, err, sizeof err) == 0);
	CHECK(cs.minute == ((1ULL << 0) | (1ULL << 30)));
	CHECK(cs.hour == ((1ULL << 9) | (1ULL << 13) | (1ULL << 17)));
	CHECK(cs.month == ((1ULL << 1) | (1ULL << 2) | (1ULL << 3)));
	CHECK(cs.dow == 0x3e);
	CHECK(cs.dom_star && !cs.dow_star);
	REQUIRE(cronspec_parse("5/20 * */2 * ?", &cs, err, sizeof err) == 0);
	CHECK(cs.minute == ((1ULL << 5) | (1ULL << 25) | (1ULL << 45)));
	CHECK(!cs.dom_star && cs.dow_star);
	REQUIRE(cronspec_parse("@weekly", &cs, err, sizeof err) == 0);
	CHECK(cs.minute == 1 && cs.hour == 1 && cs.dow == 1 && cs.dom_star);
	REQUIRE(cronspec_parse("@every 1h30m", &cs, err, sizeof err) == 0);
	CHECK_INT(cs.every_s, 5400);
	REQUIRE(cronspec_parse("@every 1500ms", &cs, err, sizeof err) == 0);
	CHECK_INT(cs.every_s, 1);
	REQUIRE(cronspec_parse("@every 10ms", &cs, err, sizeof err) == 0);
	CHECK_INT(cs.every_s, 1);
	REQUIRE(cronspec_parse("TZ=Europe/Berlin 0 3 * * *", &cs, err, sizeof err) == 0);
	CHECK_STR(cs.tz, "Europe/Berlin");
	CHECK(cs.hour == (1ULL << 3));
}

TEST(next_in_utc)
{
	CHECK_INT(next_of("* * * * *", "", utc(2024, 1, 1, 0, 0, 30)), utc(2024, 1, 1, 0, 1, 0));
	CHECK_INT(next_of("* * * * *", "", utc(2024, 1, 1, 0, 1, 0)), utc(2024, 1, 1, 0, 2, 0));
	CHECK_INT(next_of("@yearly", "", utc(2024, 6, 1, 0, 0, 0)), utc(2025, 1, 1, 0, 0, 0));
	CHECK_INT(next_of("@hourly", "UTC", utc(2024, 12, 31, 23, 0, 0)), utc(2025, 1, 1, 0, 0, 0));
	CHECK_INT(next_of("0 0 29 2 *", "", utc(2024, 3, 1, 0, 0, 0)), utc(2028, 2, 29, 0, 0, 0));
	CHECK_INT(next_of("0 0 30 2 *", "", utc(2024, 3, 1, 0, 0, 0)), -1);
	/* 2024-01-06 is a Saturday */
	CHECK_INT(next_of("0 9 * * MON-FRI", "", utc(2024, 1, 6, 12, 0, 0)),
	          utc(2024, 1, 8, 9, 0, 0));
	/* both day fields restricted: either matches (Friday the 5th before the 13th) */
	CHECK_INT(next_of("0 0 13 * FRI", "", utc(2024, 1, 1, 0, 0, 0)), utc(2024, 1, 5, 0, 0, 0));
	/* a stepped '*' restricts too */
	CHECK_INT(next_of("0 0 */10 * 1", "", utc(2024, 1, 2, 0, 0, 0)), utc(2024, 1, 8, 0, 0, 0));
	CHECK_INT(next_of("0 0 * * 1", "", utc(2024, 1, 2, 0, 0, 0)), utc(2024, 1, 8, 0, 0, 0));
	CHECK_INT(next_of("*/15 * * * *", "", utc(2024, 1, 1, 10, 50, 0)),
	          utc(2024, 1, 1, 11, 0, 0));
	CHECK_INT(next_of("@every 90s", "", utc(2024, 1, 1, 0, 0, 7)), utc(2024, 1, 1, 0, 1, 37));
}

TEST(next_across_dst_in_a_zone)
{
	/* Berlin springs forward 2024-03-31 02:00 -> 03:00: 02:30 that day does not exist. */
	CHECK_INT(next_of("30 2 * * *", "Europe/Berlin", utc(2024, 3, 30, 12, 0, 0)),
	          utc(2024, 4, 1, 0, 30, 0));
	/* ...and falls back 2024-10-27 03:00 -> 02:00: 02:30 happens twice. */
	CHECK_INT(next_of("30 2 * * *", "Europe/Berlin", utc(2024, 10, 26, 12, 0, 0)),
	          utc(2024, 10, 27, 0, 30, 0));
	CHECK_INT(next_of("30 2 * * *", "Europe/Berlin", utc(2024, 10, 27, 0, 30, 0)),
	          utc(2024, 10, 27, 1, 30, 0));
	CHECK_INT(next_of("0 9 * * *", "America/New_York", utc(2024, 7, 1, 0, 0, 0)),
	          utc(2024, 7, 1, 13, 0, 0));
	CHECK_INT(next_of("0 0 * * *", "Asia/Kolkata", utc(2024, 1, 1, 0, 0, 0)),
	          utc(2024, 1, 1, 18, 30, 0));
	/* far future: the footer's POSIX rule decides */
	CHECK_INT(next_of("0 12 1 7 *", "Europe/Berlin", utc(2100, 1, 1, 0, 0, 0)),
	          utc(2100, 7, 1, 10, 0, 0));
}

TEST(zone_offsets_and_formatting)
{
	char err[256], out[32];
	cron_tz *tz = cron_tz_load("Europe/Berlin", err, sizeof err);
	REQUIRE(tz);
	CHECK_INT(cron_tz_offset(tz, utc(2024, 1, 15, 0, 0, 0)), 3600);
	CHECK_INT(cron_tz_offset(tz, utc(2024, 7, 15, 0, 0, 0)), 7200);
	CHECK_INT(cron_tz_offset(tz, utc(2090, 1, 15, 0, 0, 0)), 3600);
	CHECK_INT(cron_tz_offset(tz, utc(2090, 7, 15, 0, 0, 0)), 7200);
	CHECK_INT(cron_tz_offset(tz, utc(2024, 3, 31, 0, 59, 59)), 3600);
	CHECK_INT(cron_tz_offset(tz, utc(2024, 3, 31, 1, 0, 0)), 7200);
	cron_tz_rfc3339(tz, utc(2024, 7, 1, 0, 0, 0), out);
	CHECK_STR(out, "2024-07-01T02:00:00+02:00");
	cron_tz_free(tz);
	tz = cron_tz_load("Australia/Sydney", err, sizeof err);
	REQUIRE(tz);
	CHECK_INT(cron_tz_offset(tz, utc(2095, 1, 15, 0, 0, 0)), 39600);
	CHECK_INT(cron_tz_offset(tz, utc(2095, 7, 15, 0, 0, 0)), 36000);
	cron_tz_free(tz);
	tz = cron_tz_load("America/St_Johns", err, sizeof err);
	REQUIRE(tz);
	cron_tz_rfc3339(tz, utc(2024, 1, 1, 12, 0, 0), out);
	CHECK_STR(out, "2024-01-01T08:30:00-03:30");
	cron_tz_free(tz);
	cron_tz_rfc3339(NULL, utc(2024, 1, 1, 12, 0, 0), out);
	CHECK_STR(out, "2024-01-01T12:00:00Z");
	CHECK(cron_tz_load("Mars/Olympus_Mons", err, sizeof err) == NULL);
	CHECK_STR(err, "unknown time zone Mars/Olympus_Mons");
	CHECK(cron_tz_load("../../etc/passwd", err, sizeof err) == NULL);
	CHECK_STR(err, "time: invalid location name");
}
