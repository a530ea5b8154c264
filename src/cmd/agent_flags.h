/* agent_flags.h — the node agent's flags for its runtime handlers, image garbage
 * collection and container log rotation, kept in one place so `timon server` (the
 * embedded agent) and a standalone agent splice in the same options. Not for: the
 * agent itself (src/agent/). */
#ifndef TIMON_CMD_AGENT_FLAGS_H
#define TIMON_CMD_AGENT_FLAGS_H

#include <getopt.h>
#include <stdint.h>

#include "agent/agent.h"

#define AGENT_FLAGS_OPT_FIRST 768 /* getopt values of these flags start here */

/* The flags, terminated by a zeroed entry; and their help lines. */
extern const struct option agent_flag_options[];
extern const char agent_flags_usage[];

/* Handles one of the flags (opt >= AGENT_FLAGS_OPT_FIRST) into cfg; arg borrowed from
 * argv (kept by cfg). 0, or -1 after printing why to stderr. */
int agent_flag(int opt, const char *arg, agent_config *cfg);
/* Checks what the flags left together (low below high). 0, or -1 after printing why. */
int agent_flags_check(const agent_config *cfg);

/* A Go duration as kubelet flags take it ("2m", "90s", "1h30m", "0s", or plain
 * seconds) into *secs. 0, or -1 when malformed. */
int agent_flags_duration(const char *s, int64_t *secs);

#endif
