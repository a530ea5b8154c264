/* test_ingress.c — the ingress route table: Kubernetes' path and host matching rules,
 * backends resolved to ready endpoints through service ports (by number and by name),
 * the default backend, older Ingresses winning conflicts, and metrics text. */
#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "base/error.h"
#include "proxy/ingress.h"
#include "test.h"

static json_t *J(const char *s)
{
	json_error_t e;
	json_t *j = json_loads(s, 0, &e);
	if (!j)
		fprintf(stderr, "bad JSON in test: %s: %s\n", e.text, s);
	return j;
}

static const char *who(ingress_table *t, const char *host, const char *path)
{
	ingress_backend *be = ingress_table_match(t, host, strlen(host), path, strlen(path));
	return be ? be->service : "404";
}

TEST(prefix_matches_by_elements)
{
	CHECK(ingress_prefix_match("/foo", 4, "/foo", 4));
	CHECK(ingress_prefix_match("/foo", 4, "/foo/", 5));
	CHECK(ingress_prefix_match("/foo", 4, "/foo/bar", 8));
	CHECK(!ingress_prefix_match("/foo", 4, "/foobar", 7));
	CHECK(ingress_prefix_match("/foo/", 5, "/foo", 4)); /* trailing '/' ignored */
	CHECK(ingress_prefix_match("/", 1, "/anything", 9));
	CHECK(!ingress_prefix_match("/aaa/bb", 7, "/aaa/bbb", 8));
}

TEST(host_wildcard_covers_one_label)
{
	CHECK(ingress_host_match("*.foo.com", "bar.foo.com", 11));
	CHECK(!ingress_host_match("*.foo.com", "baz.bar.foo.com", 15));
	CHECK(!ingress_host_match("*.foo.com", "foo.com", 7));
	CHECK(ingress_host_match("foo.com", "FOO.com", 7));
	CHECK(ingress_host_match("", "x", 1));
}

static ingress_table *build(void)
{
	json_t *ings[] = {
	    J("{\"metadata\":{\"namespace\":\"d\",\"name\":\"a\",\"creationTimestamp\":\"2024-01-"
	      "01T00:00:00Z\"},"
	      "\"spec\":{\"defaultBackend\":{\"service\":{\"name\":\"dflt\",\"port\":{\"number\":"
	      "80}}},"
	      "\"rules\":[{\"host\":\"h.com\",\"http\":{\"paths\":["
	      "{\"path\":\"/"
	      "\",\"pathType\":\"Prefix\",\"backend\":{\"service\":{\"name\":\"root\",\"port\":{"
	      "\"number\":80}}}},"
	      "{\"path\":\"/"
	      "api\",\"pathType\":\"Prefix\",\"backend\":{\"service\":{\"name\":\"api\",\"port\":{"
	      "\"name\":\"http\"}}}},"
	      "{\"path\":\"/"
	      "api\",\"pathType\":\"Exact\",\"backend\":{\"service\":{\"name\":\"exact\",\"port\":{"
	      "\"number\":80}}}},"
	      "{\"path\":\"/api/"
	      "v2\",\"pathType\":\"ImplementationSpecific\",\"backend\":{\"service\":{\"name\":"
	      "\"v2\",\"port\":{\"number\":80}}}}]}},"
	      "{\"host\":\"*.w.com\",\"http\":{\"paths\":[{\"path\":\"/"
	      "\",\"pathType\":\"Prefix\",\"backend\":{\"service\":{\"name\":\"wild\",\"port\":{"
	      "\"number\":80}}}}]}},"
	      "{\"http\":{\"paths\":[{\"path\":\"/"
	      "any\",\"pathType\":\"Prefix\",\"backend\":{\"service\":{\"name\":\"anyhost\","
	      "\"port\":{\"number\":80}}}}]}}]}}"),
	    /* newer: its h.com / loses to a's */
	    J("{\"metadata\":{\"namespace\":\"d\",\"name\":\"b\",\"creationTimestamp\":\"2024-02-"
	      "01T00:00:00Z\"},"
	      "\"spec\":{\"rules\":[{\"host\":\"h.com\",\"http\":{\"paths\":["
	      "{\"path\":\"/"
	      "\",\"pathType\":\"Prefix\",\"backend\":{\"service\":{\"name\":\"late\",\"port\":{"
	      "\"number\":80}}}}]}}]}}"),
	};
	json_t *svcs[] = {
	    J("{\"metadata\":{\"namespace\":\"d\",\"name\":\"api\"},\"spec\":{\"ports\":[{\"name\":"
	      "\"http\",\"port\":8080}]}}"),
	    J("{\"metadata\":{\"namespace\":\"d\",\"name\":\"root\"},\"spec\":{\"ports\":[{"
	      "\"port\":80}]}}"),
	};
	json_t *slices[] = {
	    J("{\"metadata\":{\"namespace\":\"d\",\"name\":\"api-1\",\"labels\":{\"kubernetes.io/"
	      "service-name\":\"api\"}},"
	      "\"addressType\":\"IPv4\",\"ports\":[{\"name\":\"http\",\"port\":9000}],"
	      "\"endpoints\":[{\"addresses\":[\"10.0.0.1\"],\"conditions\":{\"ready\":true}},"
	      "{\"addresses\":[\"10.0.0.2\"],\"conditions\":{\"ready\":false}},"
	      "{\"addresses\":[\"10.0.0.3\"]}]}"),
	    J("{\"metadata\":{\"namespace\":\"d\",\"name\":\"root-1\",\"labels\":{\"kubernetes.io/"
	      "service-name\":\"root\"}},"
	      "\"addressType\":\"IPv4\",\"ports\":[{\"port\":7000}],\"endpoints\":[{\"addresses\":["
	      "\"10.0.1.1\"]}]}"),
	};
	ingress_input in = {.ingresses = ings,
	                    .ningresses = 2,
	                    .services = svcs,
	                    .nservices = 2,
	                    .slices = slices,
	                    .nslices = 2};
	ingress_table *t = ingress_table_build(&in);
	for (size_t i = 0; i < 2; i++) {
		json_decref(ings[i]);
		json_decref(svcs[i]);
		json_decref(slices[i]);
	}
	return t;
}

TEST(longest_match_exact_wins_ties)
{
	ingress_table *t = build();
	CHECK_STR(who(t, "h.com", "/"), "d/root");
	CHECK_STR(who(t, "h.com", "/x/y"), "d/root");
	CHECK_STR(who(t, "h.com", "/api"), "d/exact");
	CHECK_STR(who(t, "h.com", "/api/"), "d/api");
	CHECK_STR(who(t, "h.com", "/api/v1"), "d/api");
	CHECK_STR(who(t, "h.com", "/apix"), "d/root");
	CHECK_STR(who(t, "h.com", "/api/v2/z"), "d/v2");
	CHECK_STR(who(t, "H.COM:8080", "/"), "d/root");
	CHECK_STR(who(t, "a.w.com", "/q"), "d/wild");
	CHECK_STR(who(t, "a.b.w.com", "/q"), "d/dflt");
	CHECK_STR(who(t, "other", "/any/thing"), "d/anyhost");
	CHECK_STR(who(t, "h.com", "/any"), "d/root"); /* the host's own rule first */
	CHECK_STR(who(t, "other", "/"), "d/dflt");
	ingress_table_unref(t);
}

TEST(backends_resolve_ready_endpoints)
{
	ingress_table *t = build();
	ingress_backend *be = ingress_table_match(t, "h.com", 5, "/api/v1", 7);
	REQUIRE(be);
	CHECK_INT(be->naddrs, 2); /* 10.0.0.1 and 10.0.0.3 (unset counts as ready) */
	CHECK_INT(ntohs(be->addrs[0].sin_port), 9000);
	be = ingress_table_match(t, "h.com", 5, "/", 1);
	REQUIRE(be);
	CHECK_INT(be->naddrs, 1);
	CHECK_INT(ntohs(be->addrs[0].sin_port), 7000);
	be = ingress_table_match(t, "h.com", 5, "/api", 4); /* no such service: 503 later */
	REQUIRE(be);
	CHECK_INT(be->naddrs, 0);
	ingress_table_unref(t);
}

TEST(metrics_text)
{
	ingress_metric *m = ingress_metric_get("ns", "ing", "h", "/p\"q", "svc");
	ingress_metric_observe(m, 200, 0.003);
	ingress_metric_observe(m, 200, 0.2);
	ingress_metric_observe(m, 502, 20);
	char *text = ingress_metrics_text();
	CHECK(strstr(text,
	             "timon_ingress_requests_total{namespace=\"ns\",ingress=\"ing\",host=\"h\","
	             "path=\"/p\\\"q\",service=\"svc\",status=\"200\"} 2\n"));
	CHECK(strstr(text, "le=\"0.005\"} 1\n"));
	CHECK(strstr(text, "le=\"0.25\"} 2\n"));
	CHECK(strstr(text, "le=\"10\"} 2\n"));
	CHECK(strstr(text, "le=\"+Inf\"} 3\n"));
	free(text);
}

/* A free TCP port on 127.0.0.1 (bound to port 0, read, closed). */
static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof sa;
	int port = -1;
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/* Stopped, the proxy frees everything once libuv has closed its handles, its metrics
 * server included (the sanitizer build's leak check sees what is left). */
TEST(proxy_stop_frees_everything)
{
	uv_loop_t loop;
	uv_loop_init(&loop);
	ingress_proxy_config cfg = {.addr = "127.0.0.1", .http_port = free_port(),
	                            .metrics_port = free_port()};
	CHECK(cfg.http_port > 0 && cfg.metrics_port > 0);
	terr *err = NULL;
	ingress_proxy *px = ingress_proxy_start(&loop, &cfg, &err);
	CHECK(px != NULL);
	if (!px) {
		terr_free(err);
		uv_loop_close(&loop);
		return;
	}
	CHECK_INT(ingress_proxy_port(px, false), cfg.http_port);
	ingress_proxy_stop(px);
	uv_run(&loop, UV_RUN_DEFAULT); /* runs the close callbacks; the last one frees px */
	CHECK_INT(uv_loop_close(&loop), 0);
}
