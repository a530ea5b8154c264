/* agent_flags.h — the node agent's flags, shared by `timon server` (its embedded agent)
 * and `timon agent` (a standalone one), so both take the same spelling and checks: the
 * node's identity and folders, and (kubelet's names) runtime handlers for RuntimeClass,
 * image garbage collection thresholds and container log rotation. */
#ifndef TIMON_CMD_AGENT_FLAGS_H
#define TIMON_CMD_AGENT_FLAGS_H

#include <getopt.h>
#include <stdint.h>

#include "agent/agent.h"

#define AGENT_OPT_FIRST 384 /* getopt values of these flags start here (below SERVER_NET's) */
#define AGENT_OPT_LAST  447

extern const struct option agent_flag_options[];
extern const char agent_flag_usage[];

/* Handles one of the flags (AGENT_OPT_FIRST <= opt <= AGENT_OPT_LAST) into cfg; arg is
 * borrowed (argv lives as long as the process). cmd names the subcommand in errors.
 * 0, or -1 after printing why. */
int agent_flag(int opt, const char *arg, agent_config *cfg, const char *cmd);
/* Checks what the flags left together (the image GC low threshold below the high one).
 * 0, or -1 after printing why. */
int agent_flags_check(const agent_config *cfg, const char *cmd);
/* A Go duration as kubelet flags take it ("2m", "90s", "1h30m", "0s", or plain
 * seconds) into *secs. 0, or -1 when malformed. */
int agent_flags_duration(const char *s, int64_t *secs);

#endif
