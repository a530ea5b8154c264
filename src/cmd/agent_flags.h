/* agent_flags.h — the node agent's flags, shared by `timon server` (its embedded agent)
 * and `timon agent` (a standalone one), so both take the same spelling and checks. */
#ifndef TIMON_CMD_AGENT_FLAGS_H
#define TIMON_CMD_AGENT_FLAGS_H

#include <getopt.h>

#include "agent/agent.h"

#define AGENT_OPT_FIRST 384 /* getopt values of these flags start here (below SERVER_NET's) */
#define AGENT_OPT_LAST  447

extern const struct option agent_flag_options[];
extern const char agent_flag_usage[];

/* Handles one of the flags (AGENT_OPT_FIRST <= opt <= AGENT_OPT_LAST) into cfg; arg is
 * borrowed (argv lives as long as the process). cmd names the subcommand in errors.
 * 0, or -1 after printing why. */
int agent_flag(int opt, const char *arg, agent_config *cfg, const char *cmd);

#endif
