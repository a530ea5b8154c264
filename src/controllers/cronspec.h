/* cronspec.h — cron schedules as the CronJob controller reads them: the standard five
 * fields (minute hour day-of-month month day-of-week) with lists, ranges, steps and names
 * (JAN..DEC, SUN..SAT), the descriptors @yearly/@annually/@monthly/@weekly/@daily/
 * @midnight/@hourly and @every <duration>, and the next activation time in an IANA time
 * zone read from the system tz database (Debian's tzdata: /usr/share/zoneinfo, or the
 * directory in $ZONEINFO).
 *
 * Semantics follow what kube-controller-manager 1.32 gets from robfig/cron v3's
 * ParseStandard: a schedule fires at every instant whose wall-clock time in the zone
 * matches, so a wall time skipped by a DST jump does not fire and a repeated one fires
 * twice; when both day fields are restricted (neither is '*' or '?'), a day matches if
 * either does. Not for: validating API objects (api/validate_batch.c words those errors),
 * or deciding which runs a CronJob misses (cronjob.c).
 */
#ifndef TIMON_CONTROLLERS_CRONSPEC_H
#define TIMON_CONTROLLERS_CRONSPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cronspec {
	uint64_t minute; /* bit n set: minute n matches (0-59) */
	uint64_t hour;   /* 0-23 */
	uint64_t dom;    /* 1-31 */
	uint64_t month;  /* 1-12 */
	uint64_t dow;    /* 0-6, Sunday = 0 */
	bool dom_star;   /* the field was '*' or '?' (with no step above 1) */
	bool dow_star;
	int64_t every_s; /* @every: the fixed interval in whole seconds (>= 1); else 0 */
	char tz[64];     /* a leading "TZ=zone" or "CRON_TZ=zone", else "" */
} cronspec;

/* Parses spec into *out. Returns 0, or -1 with robfig/cron's wording of the problem in
 * err (e.g. "expected exactly 5 fields, found 4: [* * * *]"). */
int cronspec_parse(const char *spec, cronspec *out, char *err, size_t errsz);

typedef struct cron_tz cron_tz;

/* Loads an IANA zone ("Europe/Berlin"); "" and "UTC" need no file. Returns a zone the
 * caller frees with cron_tz_free, or NULL with Go's message in err ("unknown time zone X",
 * "time: invalid location name"). */
cron_tz *cron_tz_load(const char *name, char *err, size_t errsz);
void cron_tz_free(cron_tz *tz);
/* The zone's offset east of UTC in seconds at t (seconds since the epoch); NULL = UTC. */
int32_t cron_tz_offset(const cron_tz *tz, int64_t t);

/* The first activation strictly after t (seconds since the epoch) in zone tz (NULL = UTC),
 * or -1 when the schedule never fires in the next five years (e.g. "0 0 30 2 *"). */
int64_t cronspec_next(const cronspec *cs, const cron_tz *tz, int64_t t);

/* Formats t in zone tz as RFC 3339 ("2025-03-30T03:00:00+02:00", or "...Z" in UTC), as
 * Go's time.Format(time.RFC3339) does. out must hold 32 bytes. */
void cron_tz_rfc3339(const cron_tz *tz, int64_t t, char out[32]);

#endif
