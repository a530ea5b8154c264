/* agent.c — `timon agent`: a standalone node agent that joins a server: flags, the TLS
 * bootstrap (agent/join.c), then the agent controller over a mirror of the server
 * (apiserver/remote.c) on this process's loop. Not for: what the agent does (src/agent/).
 */
#include <ctype.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "agent/agent.h"
#include "agent/join.h"
#include "agent/node_server.h"
#include "apiserver/remote.h"
#include "base/log.h"
#include "base/pki.h"
#include "base/util.h"
#include "cmd/agent_flags.h"
#include "cmd/cmd.h"
#include "controllers/controller.h"

#define JOIN_TIMEOUT_S 60

static const char usage[] =
    "Usage: timon agent --server URL --token TOKEN [flags]\n"
    "\n"
    "Runs a node agent that joins the cluster of a timon server: it registers this machine\n"
    "as a Node and runs the pods bound to it. The first start needs the server's join token\n"
    "(<server data dir>/server/token); later starts reuse the certificate it got.\n"
    "\n"
    "Flags:\n"
    "  --server URL             the server, https://HOST:PORT\n"
    "  --token TOKEN            the join token (K10...::node:...)\n"
    "  --token-file FILE        read the join token from FILE\n"
    "  --data-dir DIR           certificates and agent state (default /var/lib/timon-agent)\n";

static void on_signal(uv_signal_t *h, int signum)
{
	log_info("agent: received signal %d, shutting down", signum);
	uv_signal_stop(h);
	uv_stop(h->loop);
}

static node_server *g_node_server;

static void on_synced(apiserver *s, void *ud)
{
	const node_server_config *ncfg = ud;
	log_info("agent: mirror of the server is filled; starting the node agent");
	controllers_start_only(s, apiserver_cache(s), "kubelet");
	g_node_server = node_server_start(s, ncfg);
}

static char *read_token_file(const char *path)
{
	char *t = NULL;
	terr *err = NULL;
	if (pki_read_file(path, &t, NULL, &err) < 0) {
		fprintf(stderr, "timon agent: --token-file: %s\n", err->message);
		terr_free(err);
		return NULL;
	}
	return t;
}

/* glibc gives each thread that allocates its own arena (up to 8 per core), and the agent's
 * pool threads each touch one: with 100 pods, ~13 MB of heap sat in arenas. Two are enough
 * for threads that mostly wait on runc and CNI. (jemalloc builds: heap.c sets two.) */
#define AGENT_ARENAS 2

int cmd_agent(int argc, char **argv)
{
#ifndef TIMON_JEMALLOC
	mallopt(M_ARENA_MAX, AGENT_ARENAS);
#endif
	const char *server = NULL, *token = NULL, *token_file = NULL;
	const char *data_dir = "/var/lib/timon-agent";
	agent_config acfg = {.worker = true};
	enum { O_SERVER = 256, O_TOKEN, O_TOKENFILE, O_DATA };
	static const struct option opts[] = {
		{"server", required_argument, NULL, O_SERVER},
		{"token", required_argument, NULL, O_TOKEN},
		{"token-file", required_argument, NULL, O_TOKENFILE},
		{"data-dir", required_argument, NULL, O_DATA},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct option all[48];
	cmd_options_join(all, ARRAY_SIZE(all),
	                 (const struct option *const[]){opts, agent_flag_options, NULL});
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "vh", all, NULL)) != -1) {
		if (c >= AGENT_OPT_FIRST && c <= AGENT_OPT_LAST) {
			if (agent_flag(c, optarg, &acfg, "agent") < 0)
				return 2;
			continue;
		}
		switch (c) {
		case O_SERVER: server = optarg; break;
		case O_TOKEN: token = optarg; break;
		case O_TOKENFILE: token_file = optarg; break;
		case O_DATA: data_dir = optarg; break;
		case 'v': log_level_max = LOG_DEBUG; break;
		case 'h': fputs(usage, stdout); fputs(agent_flag_usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (agent_flags_check(&acfg, "agent") < 0)
		return 2;
	if (optind < argc || !server || strncmp(server, "https://", 8) != 0) {
		fprintf(stderr, "timon agent: %s\n%s",
		        optind < argc ? "unexpected argument" : "--server https://HOST:PORT is required", usage);
		return 2;
	}
	_cleanup_free_ char *url = xstrdup(server);
	for (size_t n = strlen(url); n > 8 && url[n - 1] == '/'; n--)
		url[n - 1] = 0;
	_cleanup_free_ char *tok = token_file ? read_token_file(token_file) : xstrdup(token);
	if (token_file && !tok)
		return 2;
	char host[256] = "localhost";
	if (!acfg.node_name) {
		gethostname(host, sizeof host - 1);
		for (char *p = host; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		acfg.node_name = host;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "timon agent: the node agent needs root (namespaces, cgroups, mounts)\n");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	terr *err = NULL;
	if (agent_join(data_dir, url, tok, acfg.node_name, JOIN_TIMEOUT_S, &err) < 0) {
		fprintf(stderr, "timon agent: cannot join %s: %s\n", url, err ? err->message : "?");
		terr_free(err);
		return 1;
	}
	agent_configure(&acfg, data_dir);
	_cleanup_free_ char *ca = xasprintf("%s/tls/%s", data_dir, JOIN_CA_FILE);
	_cleanup_free_ char *crt = xasprintf("%s/tls/%s", data_dir, JOIN_CERT_FILE);
	_cleanup_free_ char *key = xasprintf("%s/tls/%s", data_dir, JOIN_KEY_FILE);
	remote_config rc = {.url = url, .ca_file = ca, .cert_file = crt, .key_file = key,
	                    .data_dir = data_dir, .node_name = acfg.node_name};
	uv_loop_t *loop = uv_default_loop();
	node_server_config ncfg = {.data_dir = data_dir, .node_name = acfg.node_name,
	                           .port = acfg.agent_port};
	apiserver *s = apiserver_remote_start(loop, &rc, on_synced, &ncfg);
	printf("timon agent: node %s joined %s\n", acfg.node_name, url);
	fflush(stdout);
	uv_signal_t sigterm, sigint;
	uv_signal_init(loop, &sigterm);
	uv_signal_init(loop, &sigint);
	uv_signal_start(&sigterm, on_signal, SIGTERM);
	uv_signal_start(&sigint, on_signal, SIGINT);
	uv_run(loop, UV_RUN_DEFAULT);
	uv_signal_stop(&sigterm);
	uv_signal_stop(&sigint);
	controllers_stop();
	node_server_stop(g_node_server);
	g_node_server = NULL;
	apiserver_remote_stop(s);
	/* Let the closed handles finish. */
	uv_run(loop, UV_RUN_NOWAIT);
	return 0;
}
