/* misc.c — small subcommands: `timon version` and `timon kubectl` (runs the system kubectl
 * with timon's kubeconfig). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "base/version.h"
#include "cmd/cmd.h"

int cmd_version(int argc, char **argv)
{
	UNUSED(argc);
	UNUSED(argv);
	printf("timon version %s (Kubernetes %s)\n", TIMON_VERSION, TIMON_K8S_GIT_VERSION);
	return 0;
}

int cmd_kubectl(int argc, char **argv)
{
	if (!getenv("KUBECONFIG")) {
		const char *dir = getenv("TIMON_DATA_DIR");
		char *kc = xasprintf("%s/kubeconfig.yaml", dir ? dir : "/var/lib/timon");
		setenv("KUBECONFIG", kc, 1);
		free(kc);
	}
	argv[0] = (char *)"kubectl";
	execvp("kubectl", argv);
	perror("timon kubectl: kubectl");
	return 127;
	UNUSED(argc);
}

void cmd_options_join(struct option *out, size_t cap, const struct option *const *tables)
{
	size_t n = 0;
	for (size_t t = 0; tables[t]; t++)
		for (const struct option *o = tables[t]; o->name; o++) {
			if (n + 1 >= cap) {
				fprintf(stderr, "timon: too many command-line options for the table (%zu)\n",
				        cap);
				abort();
			}
			out[n++] = *o;
		}
	out[n] = (struct option){0};
}
