/* test_probe.c — the probe tracker's timing and thresholds, and probe_run against real
 * servers this test starts on 127.0.0.1: an HTTP/1.1 server (statuses, redirects, headers,
 * a slow answer), plain TCP listeners, and a gRPC health responder speaking h2c. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/probe.h"
#include "base/pki.h"
#include "base/util.h"
#include "test.h"

#define S 1000000000LL

static json_t *J(const char *s)
{
	json_t *j = json_loads(s, 0, NULL);
	if (!j)
		abort();
	return j;
}

/* ---------- tracker ---------- */

TEST(tracker_defaults_and_delay)
{
	json_t *p = J("{\"initialDelaySeconds\":5}");
	probe_tracker t;
	probe_tracker_init(&t, p, false, 100 * S);
	CHECK(!probe_tracker_ok(&t));
	CHECK(!probe_tracker_due(&t, 104 * S));
	CHECK(probe_tracker_due(&t, 105 * S));
	CHECK_INT(probe_tracker_next_ns(&t), 105 * S);
	CHECK(probe_tracker_record(&t, PROBE_SUCCESS, 105 * S)); /* successThreshold 1 */
	CHECK(probe_tracker_ok(&t));
	/* periodSeconds defaults to 10 */
	CHECK_INT(probe_tracker_next_ns(&t), 115 * S);
	CHECK(!probe_tracker_due(&t, 114 * S));
	/* failureThreshold defaults to 3 */
	CHECK(!probe_tracker_record(&t, PROBE_FAILURE, 115 * S));
	CHECK(!probe_tracker_record(&t, PROBE_FAILURE, 125 * S));
	CHECK(probe_tracker_ok(&t));
	CHECK(probe_tracker_record(&t, PROBE_FAILURE, 135 * S));
	CHECK(!probe_tracker_ok(&t));
	json_decref(p);
}

TEST(tracker_thresholds_need_consecutive_results)
{
	json_t *p = J("{\"periodSeconds\":2,\"successThreshold\":2,\"failureThreshold\":2}");
	probe_tracker t;
	probe_tracker_init(&t, p, false, 0);
	CHECK(probe_tracker_due(&t, 0));
	CHECK(!probe_tracker_record(&t, PROBE_SUCCESS, 0));
	CHECK(!probe_tracker_record(&t, PROBE_FAILURE, 2 * S)); /* breaks the streak */
	CHECK(!probe_tracker_record(&t, PROBE_SUCCESS, 4 * S));
	CHECK(!probe_tracker_ok(&t));
	/* an errored attempt counts as neither */
	CHECK(!probe_tracker_record(&t, PROBE_ERROR, 6 * S));
	CHECK_INT(probe_tracker_next_ns(&t), 8 * S);
	CHECK(probe_tracker_record(&t, PROBE_SUCCESS, 8 * S));
	CHECK(probe_tracker_ok(&t));
	CHECK(!probe_tracker_record(&t, PROBE_SUCCESS, 10 * S)); /* no flip while ok */
	CHECK(!probe_tracker_record(&t, PROBE_FAILURE, 12 * S));
	CHECK(!probe_tracker_record(&t, PROBE_SUCCESS, 14 * S));
	CHECK(!probe_tracker_record(&t, PROBE_FAILURE, 16 * S));
	CHECK(probe_tracker_record(&t, PROBE_FAILURE, 18 * S));
	CHECK(!probe_tracker_ok(&t));
	CHECK(!probe_tracker_record(&t, PROBE_FAILURE, 20 * S)); /* already failing */
	json_decref(p);
}

TEST(tracker_liveness_starts_ok)
{
	json_t *p = J("{\"failureThreshold\":1,\"periodSeconds\":0}");
	probe_tracker t;
	probe_tracker_init(&t, p, true, 7 * S);
	CHECK(probe_tracker_ok(&t));
	CHECK(probe_tracker_due(&t, 7 * S));
	CHECK(!probe_tracker_record(&t, PROBE_SUCCESS, 7 * S));
	CHECK_INT(probe_tracker_next_ns(&t), 17 * S); /* 0 means the default, 10 s */
	CHECK(probe_tracker_record(&t, PROBE_FAILURE, 17 * S));
	CHECK(!probe_tracker_ok(&t));
	json_decref(p);
}

/* ---------- servers ---------- */

static int listen_any(int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 64) < 0)
		abort();
	socklen_t len = sizeof a;
	getsockname(fd, (struct sockaddr *)&a, &len);
	*port = ntohs(a.sin_port);
	return fd;
}

static void send_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		c += w;
		n -= (size_t)w;
	}
}

static void serve_forever(int lfd, void *(*conn)(void *))
{
	for (;;) {
		int c = accept(lfd, NULL, NULL);
		if (c < 0)
			return;
		pthread_t th;
		pthread_create(&th, NULL, conn, (void *)(intptr_t)c);
		pthread_detach(th);
	}
}

/* HTTP/1.1: one request per connection, answered by its path. */
static void *http_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char req[8192];
	size_t n = 0;
	while (n < sizeof req - 1) {
		ssize_t r = recv(fd, req + n, sizeof req - 1 - n, 0);
		if (r <= 0)
			break;
		n += (size_t)r;
		req[n] = 0;
		if (strstr(req, "\r\n\r\n"))
			break;
	}
	req[n] = 0;
	char path[256] = "";
	sscanf(req, "GET %255s", path);
	int code = 200;
	const char *extra = "";
	size_t body_len = 2;
	if (strcmp(path, "/missing") == 0)
		code = 404;
	else if (strcmp(path, "/error") == 0)
		code = 500;
	else if (strcmp(path, "/redirect") == 0)
		code = 301, extra = "Location: /error\r\n";
	else if (strcmp(path, "/redirect-ok") == 0)
		code = 302, extra = "Location: /ok\r\n";
	else if (strcmp(path, "/away") == 0)
		code = 302, extra = "Location: http://example.invalid/error\r\n";
	else if (strcmp(path, "/loop") == 0)
		code = 302, extra = "Location: /loop\r\n";
	else if (strcmp(path, "/big") == 0)
		body_len = 1 << 20;
	else if (strcmp(path, "/slow") == 0)
		sleep(3);
	else if (strcmp(path, "/headers") == 0)
		code = strstr(req, "\r\nX-Custom: yes\r\n") && strstr(req, "\r\nHost: probe.example\r\n") &&
		               strstr(req, "\r\nUser-Agent: kube-probe/1.32\r\n")
		           ? 200
		           : 500;
	char head[512];
	int hn = snprintf(head, sizeof head, "HTTP/1.1 %d X\r\n%sContent-Length: %zu\r\nConnection: close\r\n\r\n",
	                  code, extra, body_len);
	send_all(fd, head, (size_t)hn);
	char *body = malloc(body_len);
	memset(body, 'x', body_len);
	send_all(fd, body, body_len);
	free(body);
	close(fd);
	return NULL;
}

/* gRPC over h2c, just enough HTTP/2 for one unary call per connection. The requested
 * service name picks the answer: "" SERVING, "down" NOT_SERVING, "unimpl" status 12,
 * "slow" after 3 s. */
static void frame(int fd, int type, int flags, uint32_t stream, const void *p, size_t n)
{
	unsigned char h[9] = {(unsigned char)(n >> 16), (unsigned char)(n >> 8), (unsigned char)n,
	                      (unsigned char)type, (unsigned char)flags, (unsigned char)(stream >> 24),
	                      (unsigned char)(stream >> 16), (unsigned char)(stream >> 8),
	                      (unsigned char)stream};
	send_all(fd, h, 9);
	if (n)
		send_all(fd, p, n);
}

static bool read_full(int fd, void *p, size_t n)
{
	char *c = p;
	while (n) {
		ssize_t r = recv(fd, c, n, 0);
		if (r <= 0)
			return false;
		c += r;
		n -= (size_t)r;
	}
	return true;
}

/* HPACK literal without indexing, new name, no Huffman (names and values < 127). */
static size_t hpack_lit(unsigned char *o, const char *name, const char *value)
{
	size_t nl = strlen(name), vl = strlen(value), k = 0;
	o[k++] = 0;
	o[k++] = (unsigned char)nl;
	memcpy(o + k, name, nl);
	k += nl;
	o[k++] = (unsigned char)vl;
	memcpy(o + k, value, vl);
	return k + vl;
}

static void *grpc_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char preface[24];
	if (!read_full(fd, preface, 24))
		goto out;
	frame(fd, 4, 0, 0, NULL, 0);
	unsigned char data[4096];
	size_t dn = 0;
	uint32_t stream = 0;
	for (;;) {
		unsigned char h[9];
		if (!read_full(fd, h, 9))
			goto out;
		size_t len = (size_t)h[0] << 16 | (size_t)h[1] << 8 | h[2];
		unsigned char payload[16384];
		if (len > sizeof payload || !read_full(fd, payload, len))
			goto out;
		int type = h[3], flags = h[4];
		uint32_t sid = ((uint32_t)h[5] & 0x7f) << 24 | (uint32_t)h[6] << 16 | (uint32_t)h[7] << 8 | h[8];
		if (type == 4 && !(flags & 1))
			frame(fd, 4, 1, 0, NULL, 0);
		if (type == 1)
			stream = sid;
		if (type == 0 && dn + len <= sizeof data) {
			memcpy(data + dn, payload, len);
			dn += len;
		}
		if ((type == 0 || type == 1) && (flags & 1))
			break;
	}
	char service[256] = "";
	if (dn > 7 && data[5] == 0x0a && data[6] < 128 && (size_t)data[6] + 7 <= dn)
		snprintf(service, sizeof service, "%.*s", data[6], (char *)data + 7);
	unsigned char hb[256];
	size_t k = 0;
	hb[k++] = 0x88; /* :status 200 */
	k += hpack_lit(hb + k, "content-type", "application/grpc");
	if (strcmp(service, "unimpl") == 0) {
		k += hpack_lit(hb + k, "grpc-status", "12");
		k += hpack_lit(hb + k, "grpc-message", "unknown service");
		frame(fd, 1, 0x5, stream, hb, k);
	} else {
		if (strcmp(service, "slow") == 0)
			sleep(3);
		frame(fd, 1, 0x4, stream, hb, k);
		unsigned char msg[7] = {0, 0, 0, 0, 2, 0x08, strcmp(service, "down") == 0 ? 2 : 1};
		frame(fd, 0, 0, stream, msg, sizeof msg);
		k = hpack_lit(hb, "grpc-status", "0");
		frame(fd, 1, 0x5, stream, hb, k);
	}
	/* Wait for the client to finish with the connection. */
	char sink[512];
	while (recv(fd, sink, sizeof sink, 0) > 0)
		;
out:
	close(fd);
	return NULL;
}

static int http_port, grpc_port, tcp_port, closed_port, https_port;
static SSL_CTX *tls_ctx;

/* HTTPS with a certificate from a CA the client does not know: probes must not care. */
static void *https_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	SSL *ssl = SSL_new(tls_ctx);
	SSL_set_fd(ssl, fd);
	if (SSL_accept(ssl) == 1) {
		char req[4096];
		int n = SSL_read(ssl, req, sizeof req - 1);
		req[n > 0 ? n : 0] = 0;
		const char *resp = strstr(req, "GET /ok ") ? "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
		                                          : "HTTP/1.1 503 X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
		SSL_write(ssl, resp, (int)strlen(resp));
		SSL_shutdown(ssl);
	}
	SSL_free(ssl);
	close(fd);
	return NULL;
}

static void *https_main(void *arg)
{
	serve_forever((int)(intptr_t)arg, https_conn);
	return NULL;
}

static void *http_main(void *arg)
{
	serve_forever((int)(intptr_t)arg, http_conn);
	return NULL;
}

static void *grpc_main(void *arg)
{
	serve_forever((int)(intptr_t)arg, grpc_conn);
	return NULL;
}

__attribute__((constructor)) static void start_servers(void)
{
	pthread_t th;
	int fd = listen_any(&http_port);
	pthread_create(&th, NULL, http_main, (void *)(intptr_t)fd);
	fd = listen_any(&grpc_port);
	pthread_create(&th, NULL, grpc_main, (void *)(intptr_t)fd);
	listen_any(&tcp_port); /* kept open, never accepted: the kernel completes connects */
	close(listen_any(&closed_port));
	char dir[] = "/tmp/timon-probe-pki.XXXXXX";
	terr *err = NULL;
	if (mkdtemp(dir) && pki_ensure(dir, NULL, &err) == 0 && (tls_ctx = pki_server_ctx(dir, &err))) {
		fd = listen_any(&https_port);
		pthread_create(&th, NULL, https_main, (void *)(intptr_t)fd);
	}
	terr_free(err);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

static probe_result run(const char *fmt, int port, char **msg)
{
	char s[1024];
	snprintf(s, sizeof s, fmt, port);
	json_t *p = J(s);
	json_t *c = J("{\"name\":\"c\",\"ports\":[{\"name\":\"web\",\"containerPort\":1}]}");
	json_object_set_new(json_array_get(json_object_get(c, "ports"), 0), "containerPort",
	                    json_integer(http_port));
	probe_target t = {.pod_ip = "127.0.0.1", .container = c};
	probe_result r = probe_run(p, &t, msg);
	json_decref(p);
	json_decref(c);
	return r;
}

/* ---------- httpGet ---------- */

TEST(http_statuses)
{
	char *m = NULL;
	CHECK_INT(run("{\"httpGet\":{\"path\":\"/ok\",\"port\":%d}}", http_port, &m), PROBE_SUCCESS);
	free(m);
	CHECK_INT(run("{\"httpGet\":{\"path\":\"/missing\",\"port\":%d}}", http_port, &m), PROBE_FAILURE);
	CHECK_STR(m, "HTTP probe failed with statuscode: 404");
	free(m);
	CHECK_INT(run("{\"httpGet\":{\"path\":\"/error\",\"port\":%d}}", http_port, &m), PROBE_FAILURE);
	CHECK_STR(m, "HTTP probe failed with statuscode: 500");
	free(m);
	/* a big body is cut at 10 KiB; the status decides */
	CHECK_INT(run("{\"httpGet\":{\"path\":\"/big\",\"port\":%d}}", http_port, &m), PROBE_SUCCESS);
	free(m);
}

TEST(http_redirects)
{
	char *m = NULL;
	/* same host: followed, and the target's status decides */
	CHECK_INT(run("{\"httpGet\":{\"path\":\"/redirect\",\"port\":%d}}", http_port, &m), PROBE_FAILURE);
	CHECK_STR(m, "HTTP probe failed with statuscode: 500");
	free(m);
	CHECK_INT(run("{\"httpGet\":{\"path\":\"/redirect-ok\",\"port\":%d}}", http_port, &m), PROBE_SUCCESS);
	free(m);
	/* another host: not followed, the 3xx is a success with a warning */
	CHECK_INT(run("{\"httpGet\":{\"path\":\"/away\",\"port\":%d}}", http_port, &m), PROBE_SUCCESS);
	CHECK(m && strstr(m, "Probe terminated redirects"));
	free(m);
	CHECK_INT(run("{\"httpGet\":{\"path\":\"/loop\",\"port\":%d}}", http_port, &m), PROBE_FAILURE);
	CHECK(m && strstr(m, "stopped after 10 redirects"));
	free(m);
}

TEST(http_headers_named_port_and_host)
{
	char *m = NULL;
	CHECK_INT(run("{\"httpGet\":{\"path\":\"/headers\",\"port\":\"web\",\"httpHeaders\":[{\"name\":"
	              "\"X-Custom\",\"value\":\"yes\"},{\"name\":\"Host\",\"value\":\"probe.example\"}]}}%.0d",
	              0, &m),
	          PROBE_SUCCESS);
	free(m);
	CHECK_INT(run("{\"httpGet\":{\"path\":\"/headers\",\"port\":%d}}", http_port, &m), PROBE_FAILURE);
	free(m);
	CHECK_INT(run("{\"httpGet\":{\"path\":\"/ok\",\"port\":\"nope\"}}%.0d", 0, &m), PROBE_ERROR);
	free(m);
	/* the probe's own host wins over the pod IP */
	CHECK_INT(run("{\"httpGet\":{\"host\":\"127.0.0.1\",\"path\":\"ok\",\"port\":%d}}", http_port, &m),
	          PROBE_SUCCESS);
	free(m);
}

TEST(http_timeout_and_refused)
{
	char *m = NULL;
	int64_t t0 = time_mono_ns();
	CHECK_INT(run("{\"timeoutSeconds\":1,\"httpGet\":{\"path\":\"/slow\",\"port\":%d}}", http_port, &m),
	          PROBE_FAILURE);
	CHECK(time_mono_ns() - t0 < 2 * S);
	CHECK(m && strstr(m, "context deadline exceeded"));
	free(m);
	char want[256];
	CHECK_INT(run("{\"httpGet\":{\"path\":\"/healthz\",\"port\":%d}}", closed_port, &m), PROBE_FAILURE);
	snprintf(want, sizeof want,
	         "Get \"http://127.0.0.1:%d/healthz\": dial tcp 127.0.0.1:%d: connect: connection refused",
	         closed_port, closed_port);
	CHECK_STR(m, want);
	free(m);
}

TEST(https_without_verification)
{
	REQUIRE(https_port > 0);
	char *m = NULL;
	CHECK_INT(run("{\"httpGet\":{\"scheme\":\"HTTPS\",\"path\":\"/ok\",\"port\":%d}}", https_port, &m),
	          PROBE_SUCCESS);
	free(m);
	m = NULL;
	CHECK_INT(run("{\"httpGet\":{\"scheme\":\"HTTPS\",\"path\":\"/down\",\"port\":%d}}", https_port, &m),
	          PROBE_FAILURE);
	CHECK_STR(m, "HTTP probe failed with statuscode: 503");
	free(m);
}

/* ---------- tcpSocket ---------- */

TEST(tcp)
{
	char *m = NULL;
	CHECK_INT(run("{\"tcpSocket\":{\"port\":%d}}", tcp_port, &m), PROBE_SUCCESS);
	CHECK(m == NULL);
	CHECK_INT(run("{\"tcpSocket\":{\"port\":\"web\"}}%.0d", 0, &m), PROBE_SUCCESS);
	CHECK_INT(run("{\"tcpSocket\":{\"port\":%d}}", closed_port, &m), PROBE_FAILURE);
	char want[128];
	snprintf(want, sizeof want, "dial tcp 127.0.0.1:%d: connect: connection refused", closed_port);
	CHECK_STR(m, want);
	free(m);
}

/* ---------- grpc ---------- */

TEST(grpc_health)
{
	char *m = NULL;
	CHECK_INT(run("{\"grpc\":{\"port\":%d}}", grpc_port, &m), PROBE_SUCCESS);
	free(m);
	m = NULL;
	CHECK_INT(run("{\"grpc\":{\"port\":%d,\"service\":\"down\"}}", grpc_port, &m), PROBE_FAILURE);
	CHECK_STR(m, "service unhealthy (responded with \"NOT_SERVING\")");
	free(m);
	CHECK_INT(run("{\"grpc\":{\"port\":%d,\"service\":\"unimpl\"}}", grpc_port, &m), PROBE_FAILURE);
	CHECK(m && strstr(m, "does not implement the grpc health protocol"));
	free(m);
	CHECK_INT(run("{\"grpc\":{\"port\":%d,\"service\":\"slow\"}}", grpc_port, &m), PROBE_FAILURE);
	CHECK(m && strstr(m, "did not complete within 1s"));
	free(m);
	CHECK_INT(run("{\"grpc\":{\"port\":%d}}", closed_port, &m), PROBE_FAILURE);
	CHECK(m && strstr(m, "failed to connect service") && strstr(m, "connection refused"));
	free(m);
}

TEST(exec_without_runtime_is_an_error)
{
	char *m = NULL;
	CHECK_INT(run("{\"exec\":{\"command\":[\"true\"]}}%.0d", 0, &m), PROBE_ERROR);
	free(m);
	CHECK_INT(run("{\"periodSeconds\":%d}", 1, &m), PROBE_ERROR);
	free(m);
}
