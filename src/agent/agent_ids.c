/* agent_ids.c — how the agent names containers, log files and cgroups (agent.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "base/util.h"

char *agent_container_id(const char *uid, const char *name, int attempt)
{
	return xasprintf("%s_%s_%d", uid, name, attempt);
}

int agent_container_id_parse(const char *id, char **uid, char **name, int *attempt)
{
	const char *a = strchr(id, '_');
	const char *b = strrchr(id, '_');
	if (!a || a == b || a == id || b == a + 1 || !b[1])
		return -1;
	char *end;
	long n = strtol(b + 1, &end, 10);
	if (*end || n < 0 || n > 1000000000)
		return -1;
	*uid = xstrndup(id, (size_t)(a - id));
	*name = xstrndup(a + 1, (size_t)(b - a - 1));
	*attempt = (int)n;
	return 0;
}

char *agent_pod_log_dir(const char *log_root, const char *ns, const char *pod, const char *uid)
{
	return xasprintf("%s/%s_%s_%s", log_root ? log_root : AGENT_DEFAULT_LOG_ROOT, ns, pod, uid);
}

char *agent_container_log_path(const char *log_root, const char *ns, const char *pod,
                               const char *uid, const char *container, int attempt)
{
	return xasprintf("%s/%s_%s_%s/%s/%d.log", log_root ? log_root : AGENT_DEFAULT_LOG_ROOT, ns,
	                 pod, uid, container, attempt);
}

char *agent_pod_cgroup(const char *uid)
{
	return xasprintf("/timon/pod%s", uid);
}
