/* stream_driver.c — the API server with the agent's pod streams attached
 * (agent_stream_attach) over a runtime driver's folders, for test_streams.sh until the
 * embedded node agent runs pods: the test runs real containers with runtime_driver under
 * the naming conventions of agent.h and writes the pod status they imply, so kubectl's
 * logs, exec and cp reach real processes through the real protocol.
 * Usage: stream_driver DATA_DIR ROOT RUN_DIR LOG_ROOT NODE — prints the port, runs until
 * SIGTERM. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

#include "agent/agent_stream.h"
#include "apiserver/apiserver.h"

static void on_signal(uv_signal_t *h, int signum)
{
	uv_signal_stop(h);
	uv_stop(h->loop);
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: stream_driver DATA_DIR ROOT RUN_DIR LOG_ROOT NODE\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	uv_loop_t *loop = uv_default_loop();
	terr *err = NULL;
	apiserver_config cfg = {.data_dir = argv[1], .bind_address = "127.0.0.1", .https_port = 0};
	apiserver *srv = apiserver_start(loop, &cfg, &err);
	if (!srv) {
		fprintf(stderr, "stream_driver: %s\n", err ? err->message : "start failed");
		return 1;
	}
	runtime_config rc = {.root = argv[2], .run_dir = argv[3]};
	runtime *rt = runtime_open(&rc, &err);
	if (!rt) {
		fprintf(stderr, "stream_driver: %s\n", err->message);
		return 1;
	}
	agent_stream_attach(srv, rt, argv[5], argv[4]);
	printf("%d\n", apiserver_port(srv));
	fflush(stdout);
	uv_signal_t sig;
	uv_signal_init(loop, &sig);
	uv_signal_start(&sig, on_signal, SIGTERM);
	uv_run(loop, UV_RUN_DEFAULT);
	apiserver_stop(srv);
	runtime_close(rt);
	return 0;
}
