/* server.c — `timon server`: flags, signals, and the loop around the API server.
 * Not for: anything the API server does (src/apiserver/). */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <uv.h>

#include "agent/agent.h"
#include "agent/metrics.h"
#include "apiserver/apiserver.h"
#include "base/log.h"
#include "base/util.h"
#include "cmd/agent_flags.h"
#include "cmd/cmd.h"
#include "cmd/server_net.h"

static const char usage[] =
    "Usage: timon server [flags]\n"
    "\n"
    "Runs the control plane: the Kubernetes API server with its embedded store.\n"
    "\n"
    "Flags:\n"
    "  --data-dir DIR           state, certificates and kubeconfig (default /var/lib/timon)\n"
    "  --bind-address ADDR      address to serve HTTPS on (default 127.0.0.1)\n"
    "  --https-port PORT        port to serve HTTPS on (default 6443; 0 picks a free one)\n"
    "  --advertise-address A    address written into the kubeconfig (default: bind address)\n"
    "  --token-auth-file FILE   static bearer tokens, CSV: token,user,uid,\"group1,group2\"\n"
    "  --disable-agent          do not run the embedded node agent\n"
    "  --loop-nice N            nice value of the API server's loop thread (default -10; 0\n"
    "                           leaves it; needs CAP_SYS_NICE; threads and processes it\n"
    "                           starts run at 0)\n"
    "  --cluster-signing-duration D  lifetime of certificates signed for CSRs, e.g. 90s,\n"
    "                           24h (default 8760h; short ones are for tests of renewal)\n"
    "  -v, --verbose            log debug messages\n"
    "  -h, --help               show this help\n";

static apiserver *server;

/* Gives the calling thread (the loop: every API request, watch and controller goes through
 * it) the nice value nice, so that the threads and processes its writes wake do not take its
 * core as often (decision 0011). Its children, threads included, start at nice 0
 * (SCHED_RESET_ON_FORK): containers and the server's other threads never inherit it. */
static void loop_priority(int nice)
{
	if (nice == 0)
		return;
	struct sched_param sp = {0};
	if (sched_setscheduler(0, SCHED_OTHER | SCHED_RESET_ON_FORK, &sp) < 0) {
		log_info("server: loop thread keeps nice 0 (reset-on-fork: %s)", strerror(errno));
		return;
	}
	if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), nice) < 0)
		log_info("server: loop thread keeps nice 0 (%s)", strerror(errno));
}

static void on_signal(uv_signal_t *h, int signum)
{
	log_info("server: received signal %d, shutting down", signum);
	uv_signal_stop(h);
	uv_stop(h->loop);
}

int cmd_server(int argc, char **argv)
{
	apiserver_config cfg = {
		.data_dir = "/var/lib/timon",
		.bind_address = "127.0.0.1",
		.https_port = 6443,
	};
	bool disable_agent = false;
	int loop_nice = -10;
	agent_config acfg = {0};
	enum { O_DATA = 256, O_BIND, O_PORT, O_TOKEN, O_NOAGENT, O_ADV, O_SIGNTTL, O_NICE };
	static const struct option opts[] = {
		{"data-dir", required_argument, NULL, O_DATA},
		{"bind-address", required_argument, NULL, O_BIND},
		{"https-port", required_argument, NULL, O_PORT},
		{"token-auth-file", required_argument, NULL, O_TOKEN},
		{"advertise-address", required_argument, NULL, O_ADV},
		{"disable-agent", no_argument, NULL, O_NOAGENT},
		{"loop-nice", required_argument, NULL, O_NICE},
		{"cluster-signing-duration", required_argument, NULL, O_SIGNTTL},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	/* The agent's and the network services' flags are spliced in (cmd/agent_flags.c,
	 * cmd/server_net.c). */
	netsvc_config net = {0};
	struct option all[64];
	cmd_options_join(all, ARRAY_SIZE(all),
	                 (const struct option *const[]){opts, agent_flag_options,
	                                                server_net_options, NULL});
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "vh", all, NULL)) != -1) {
		if (c >= AGENT_OPT_FIRST && c <= AGENT_OPT_LAST) {
			if (agent_flag(c, optarg, &acfg, "server") < 0)
				return 2;
			continue;
		}
		if (c >= SERVER_NET_OPT_FIRST) {
			if (server_net_flag(c, optarg, &net) < 0)
				return 2;
			continue;
		}
		switch (c) {
		case O_DATA: cfg.data_dir = optarg; break;
		case O_BIND: cfg.bind_address = optarg; break;
		case O_PORT: {
			char *end;
			long p = strtol(optarg, &end, 10);
			if (*end || p < 0 || p > 65535) {
				fprintf(stderr, "timon server: invalid --https-port %s\n", optarg);
				return 2;
			}
			cfg.https_port = (int)p;
			break;
		}
		case O_TOKEN: cfg.token_file = optarg; break;
		case O_ADV: cfg.advertise = optarg; break;
		case O_NOAGENT: disable_agent = true; break;
		case O_NICE: {
			char *end;
			long n = strtol(optarg, &end, 10);
			if (*end || end == optarg || n < -20 || n > 0) {
				fprintf(stderr, "timon server: invalid --loop-nice %s (-20..0)\n", optarg);
				return 2;
			}
			loop_nice = (int)n;
			break;
		}
		case O_SIGNTTL: {
			char *end;
			double v = strtod(optarg, &end);
			long mul = str_eq(end, "s") ? 1 : str_eq(end, "m") ? 60 : str_eq(end, "h") ? 3600 : 0;
			if (v <= 0 || !mul) {
				fprintf(stderr, "timon server: invalid --cluster-signing-duration %s\n", optarg);
				return 2;
			}
			cfg.signing_ttl_s = (long)(v * (double)mul);
			break;
		}
		case 'v': log_level_max = LOG_DEBUG; break;
		case 'h':
			fputs(usage, stdout);
			fputs(agent_flag_usage, stdout);
			fputs(server_net_usage, stdout);
			return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "timon server: unexpected argument %s\n%s", argv[optind], usage);
		return 2;
	}
	if (agent_flags_check(&acfg, "server") < 0)
		return 2;
	if (!disable_agent)
		agent_configure(&acfg, cfg.data_dir);
	/* The node network services serve this node: the agent's node name and address. */
	net.node_name = acfg.node_name;
	net.node_ip = acfg.node_ip;
	server_net_apply(&net, !disable_agent);
	signal(SIGPIPE, SIG_IGN);
	/* Thousands of clients (watchers, agents) each hold a descriptor. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	loop_priority(loop_nice);
	uv_loop_t *loop = uv_default_loop();
	terr *err = NULL;
	server = apiserver_start(loop, &cfg, &err);
	if (!server) {
		fprintf(stderr, "timon server: %s\n", err ? err->message : "start failed");
		terr_free(err);
		return 1;
	}
	/* Metrics for a node without the agent (tests, control-plane-only runs). */
	const char *metrics_node = getenv("TIMON_METRICS_NODE");
	if (metrics_node && metrics_node[0])
		agent_metrics_attach(server, metrics_node);
	printf("timon is running. Use it with:\n\n  export KUBECONFIG=%s/kubeconfig.yaml\n  kubectl get all -A\n\n",
	       cfg.data_dir);
	fflush(stdout);
	uv_signal_t sigterm, sigint;
	uv_signal_init(loop, &sigterm);
	uv_signal_init(loop, &sigint);
	uv_signal_start(&sigterm, on_signal, SIGTERM);
	uv_signal_start(&sigint, on_signal, SIGINT);
	uv_run(loop, UV_RUN_DEFAULT);
	uv_signal_stop(&sigterm);
	uv_signal_stop(&sigint);
	agent_metrics_detach(server);
	apiserver_stop(server);
	return 0;
}
