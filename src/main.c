/* main.c — the subcommand table. Each subcommand lives in src/cmd/; this file only
 * dispatches. */
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *help;
} commands[] = {
	{"server", cmd_server, "run the control plane (API server and store)"},
	{"agent", cmd_agent, "run a node agent that joins a server (--server URL --token T)"},
	{"kubectl", cmd_kubectl, "run kubectl with timon's kubeconfig"},
	{"images", cmd_images, "pull, import, list and remove images in the node's image store"},
	{"service", cmd_service, "print the URLs of a NodePort or LoadBalancer service"},
	{"version", cmd_version, "print the version"},
};

static void usage(FILE *f)
{
	fputs("Usage: timon COMMAND [flags]\n\ntimon is a Kubernetes-compatible cluster for AI workloads.\n\nCommands:\n", f);
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
	fputs("\nRun 'timon COMMAND --help' for a command's flags.\n", f);
}

int main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "--version") == 0)
		return cmd_version(argc - 1, argv + 1);
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "timon: unknown command \"%s\"\n", argv[1]);
	usage(stderr);
	return 2;
}
