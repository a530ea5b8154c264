/* cmd.h — the subcommands of the timon binary; each parses its own flags and calls into the
 * modules. */
#ifndef TIMON_CMD_H
#define TIMON_CMD_H

#include <stddef.h>

int cmd_server(int argc, char **argv);
int cmd_agent(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_kubectl(int argc, char **argv);
int cmd_images(int argc, char **argv);
int cmd_service(int argc, char **argv);

struct option;
/* Joins the option tables (NULL-terminated list, each ending with a zero entry) into out
 * (cap entries, the last one the zero terminator). Aborts when they do not fit: a flag
 * silently dropped would be a worse bug than a start-up failure. */
void cmd_options_join(struct option *out, size_t cap, const struct option *const *tables);

#endif
