/* cmd.h — the subcommands of the timon binary; each parses its own flags and calls into the
 * modules. */
#ifndef TIMON_CMD_H
#define TIMON_CMD_H

int cmd_server(int argc, char **argv);
int cmd_agent(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_kubectl(int argc, char **argv);
int cmd_images(int argc, char **argv);
int cmd_service(int argc, char **argv);

#endif
