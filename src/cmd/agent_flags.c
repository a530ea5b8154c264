/* agent_flags.c — node agent flags shared by every command that runs an agent:
 * --runtime-handler (RuntimeClass handlers), --image-gc-high-threshold,
 * --image-gc-low-threshold, --minimum-image-ttl-duration (image garbage collection),
 * --container-log-max-size, --container-log-max-files (log rotation). The values are
 * kubelet's (KubeletConfiguration field names in the help). Not for: the agent's other
 * flags, which `timon server` parses itself.
 */
#include "cmd/agent_flags.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/quantity.h"

enum {
	O_HANDLER = AGENT_FLAGS_OPT_FIRST,
	O_GC_HIGH,
	O_GC_LOW,
	O_GC_AGE,
	O_LOG_SIZE,
	O_LOG_FILES,
};

const struct option agent_flag_options[] = {
    {"runtime-handler", required_argument, NULL, O_HANDLER},
    {"image-gc-high-threshold", required_argument, NULL, O_GC_HIGH},
    {"image-gc-low-threshold", required_argument, NULL, O_GC_LOW},
    {"minimum-image-ttl-duration", required_argument, NULL, O_GC_AGE},
    {"container-log-max-size", required_argument, NULL, O_LOG_SIZE},
    {"container-log-max-files", required_argument, NULL, O_LOG_FILES},
    {0},
};

const char agent_flags_usage[] =
    "\nNode agent runtime, images and logs:\n"
    "  --runtime-handler NAME=PATH        an OCI runtime (runc-compatible CLI) for RuntimeClass\n"
    "                                     handler NAME (repeatable; \"runc\" is the detected one)\n"
    "  --image-gc-high-threshold PCT      image fs usage that starts image GC (default 85; 100 disables)\n"
    "  --image-gc-low-threshold PCT       usage image GC frees down to (default 80)\n"
    "  --minimum-image-ttl-duration D     unused images younger than this stay (default 2m)\n"
    "  --container-log-max-size Q         rotate a container's log above this size (default 10Mi)\n"
    "  --container-log-max-files N        log files kept per container, current included (default 5)\n";

int agent_flags_duration(const char *s, int64_t *secs)
{
	if (!s || !*s)
		return -1;
	char *end;
	long long plain = strtoll(s, &end, 10);
	if (!*end && plain >= 0) {
		*secs = plain;
		return 0;
	}
	int64_t total = 0;
	const char *p = s;
	while (*p) {
		if (!isdigit((unsigned char)*p))
			return -1;
		long long v = strtoll(p, &end, 10);
		int64_t mul;
		if (end[0] == 'h')
			mul = 3600;
		else if (end[0] == 'm' && end[1] == 's')
			mul = 0; /* milliseconds: below our resolution */
		else if (end[0] == 'm')
			mul = 60;
		else if (end[0] == 's')
			mul = 1;
		else
			return -1;
		if (v > 100000000LL)
			return -1;
		total += (int64_t)v * mul;
		p = end + (end[0] == 'm' && end[1] == 's' ? 2 : 1);
	}
	*secs = total;
	return 0;
}

static int percent(const char *flag, const char *arg, int *out)
{
	char *end;
	long v = strtol(arg, &end, 10);
	if (*end || end == arg || v < 0 || v > 100) {
		fprintf(stderr, "timon: invalid --%s %s (a percentage, 0 to 100)\n", flag, arg);
		return -1;
	}
	/* The config's 0 means "the default": a real 0 is kept as -1. */
	*out = v == 0 ? -1 : (int)v;
	return 0;
}

int agent_flag(int opt, const char *arg, agent_config *cfg)
{
	switch (opt) {
	case O_HANDLER: {
		const char *eq = strchr(arg, '=');
		if (!eq || eq == arg || eq[1] != '/' || cfg->n_runtime_handlers >= AGENT_MAX_LIST) {
			fprintf(stderr, "timon: invalid or too many --runtime-handler %s (NAME=/absolute/path)\n",
			        arg);
			return -1;
		}
		cfg->runtime_handlers[cfg->n_runtime_handlers++] = arg;
		return 0;
	}
	case O_GC_HIGH: return percent("image-gc-high-threshold", arg, &cfg->image_gc_high);
	case O_GC_LOW: return percent("image-gc-low-threshold", arg, &cfg->image_gc_low);
	case O_GC_AGE: {
		int64_t s;
		if (agent_flags_duration(arg, &s) < 0) {
			fprintf(stderr, "timon: invalid --minimum-image-ttl-duration %s (like 2m, 90s, 0s)\n", arg);
			return -1;
		}
		cfg->image_min_age_s = s == 0 ? -1 : s;
		return 0;
	}
	case O_LOG_SIZE: {
		quantity q;
		terr *err = NULL;
		if (quantity_parse(arg, &q, &err) < 0 || quantity_value(&q) < 4096) {
			fprintf(stderr, "timon: invalid --container-log-max-size %s (a quantity of at least 4Ki)\n",
			        arg);
			terr_free(err);
			return -1;
		}
		cfg->log_max_size = quantity_value(&q);
		return 0;
	}
	case O_LOG_FILES: {
		char *end;
		long v = strtol(arg, &end, 10);
		/* k8s: containerLogMaxFiles must be at least 2. */
		if (*end || end == arg || v < 2 || v > 1000) {
			fprintf(stderr, "timon: invalid --container-log-max-files %s (at least 2)\n", arg);
			return -1;
		}
		cfg->log_max_files = (int)v;
		return 0;
	}
	}
	return -1;
}

int agent_flags_check(const agent_config *cfg)
{
	int high = cfg->image_gc_high < 0 ? 0 : cfg->image_gc_high ? cfg->image_gc_high : AGENT_IMAGE_GC_HIGH;
	int low = cfg->image_gc_low < 0 ? 0 : cfg->image_gc_low ? cfg->image_gc_low : AGENT_IMAGE_GC_LOW;
	/* k8s: imageGCLowThresholdPercent must be less than imageGCHighThresholdPercent. */
	if (low >= high) {
		fprintf(stderr, "timon: --image-gc-low-threshold (%d) must be less than --image-gc-high-threshold (%d)\n",
		        low, high);
		return -1;
	}
	return 0;
}
