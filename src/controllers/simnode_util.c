/* simnode_util.c — the simulated-node conventions read from objects and the environment:
 * annotations, Go-style durations, node-monitor grace periods.
 * Not for: status building (simnode_pod.c, simnode.c).
 */
#include <strings.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/util.h"
#include "controllers/simnode-internal.h"

int64_t sim_parse_duration_ms(const char *s)
{
	if (!s || !*s)
		return -1;
	char *end;
	/* A bare number counts seconds. */
	double bare = strtod(s, &end);
	if (*end == 0 && end != s)
		return bare < 0 ? -1 : (int64_t)(bare * 1000.0 + 0.5);
	double total = 0;
	const char *p = s;
	while (*p) {
		double v = strtod(p, &end);
		if (end == p || v < 0)
			return -1;
		p = end;
		double unit;
		if (strncmp(p, "ms", 2) == 0)
			unit = 1, p += 2;
		else if (strncmp(p, "us", 2) == 0)
			unit = 0.001, p += 2;
		else if (*p == 'h')
			unit = 3600000, p++;
		else if (*p == 'm')
			unit = 60000, p++;
		else if (*p == 's')
			unit = 1000, p++;
		else
			return -1;
		total += v * unit;
	}
	return (int64_t)(total + 0.5);
}

const char *sim_annotation(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(json_path(obj, "metadata.annotations"), key));
}

bool sim_annotation_true(json_t *obj, const char *key)
{
	const char *v = sim_annotation(obj, key);
	return v && strcasecmp(v, "true") == 0;
}

static int64_t configured(json_t *node, const char *env, int64_t dflt)
{
	int64_t ms = sim_parse_duration_ms(sim_annotation(node, SIM_ANN_GRACE));
	if (ms > 0)
		return ms;
	ms = sim_parse_duration_ms(getenv(env));
	return ms > 0 ? ms : dflt;
}

int64_t sim_grace_ms(json_t *node)
{
	return configured(node, SIM_ENV_GRACE, SIM_DEFAULT_GRACE_MS);
}

int64_t sim_startup_grace_ms(json_t *node)
{
	return configured(node, SIM_ENV_STARTUP_GRACE, SIM_DEFAULT_STARTUP_GRACE_MS);
}
