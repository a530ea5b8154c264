/* main.c — the subcommand table. Each subcommand lives in its own module; this file only
 * dispatches. */
#include <stdio.h>
#include <string.h>

#include "base/version.h"

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "version") == 0) {
		printf("timon version %s\n", TIMON_VERSION);
		return 0;
	}
	fprintf(stderr, "usage: timon server|version\n");
	return 2;
}
