/* schedperf.c — end-to-end scheduler benchmark client, after kube's scheduler_perf
 * workloads (SchedulingBasic and its node-affinity, topology-spread and pod-anti-affinity
 * variants): creates N nodes annotated timon.dev/simulated (scheduler_perf's node-default:
 * 4 CPU, 32Gi, 110 pods), waits until the simulator has registered them all, schedules
 * INIT pods (not measured), then creates M pods through the API over C keep-alive TLS
 * connections while one watch on their namespace records when each pod is bound
 * (spec.nodeName) and when it runs (phase Running). One clock, one process.
 * Figures: create rate, end-to-end pods/s (first create sent -> last pod bound), per-pod
 * latency create-sent -> bound-seen (p50/p90/p99/max), time until all run, server CPU
 * seconds and RSS (with --server-pid).
 * Not for: checking decisions (the integration tests do); it only reads nodeName and phase.
 *
 * Usage: schedperf --url https://IP:PORT --ca CA.crt --token T [--mode basic|affinity|
 *        spread|antiaffinity] [--nodes 5000] [--init 1000] [--pods 10000] [--conns 32]
 *        [--timeout-s 300] [--server-pid PID]
 * Prints progress on stderr and one "SCHEDPERF key=value ..." line on stdout.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static SSL_CTX *g_ctx;
static struct sockaddr_in g_addr;
static char g_host[64];
static const char *g_token;
static const char *g_mode = "basic";
static const char *g_sched; /* --scheduler-name: pods no profile of timon serves */

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "schedperf: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	ERR_print_errors_fp(stderr);
	exit(1);
}

static void *xmalloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);
	if (!p)
		abort();
	return p;
}

/* ---- a blocking HTTPS/1.1 keep-alive connection ---- */

typedef struct conn {
	int fd;
	SSL *ssl;
	char in[16384];
	size_t in_off, in_len;
	char *body;
	size_t body_len, body_cap;
} conn;

static conn *conn_open(void)
{
	conn *c = xmalloc(sizeof *c);
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		die("socket: %s", strerror(errno));
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(c->fd, (struct sockaddr *)&g_addr, sizeof g_addr) < 0)
		die("connect: %s", strerror(errno));
	c->ssl = SSL_new(g_ctx);
	if (!c->ssl || !SSL_set_fd(c->ssl, c->fd))
		die("SSL_new");
	X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), g_host);
	if (SSL_connect(c->ssl) != 1)
		die("TLS handshake failed");
	return c;
}

static void conn_close(conn *c)
{
	SSL_free(c->ssl);
	close(c->fd);
	free(c->body);
	free(c);
}

/* Next byte of the response stream, or -1 at EOF/error. */
static int rd(conn *c)
{
	if (c->in_off == c->in_len) {
		int n = SSL_read(c->ssl, c->in, sizeof c->in);
		if (n <= 0)
			return -1;
		c->in_off = 0;
		c->in_len = (size_t)n;
	}
	return (unsigned char)c->in[c->in_off++];
}

/* Reads one CRLF-terminated line into buf (without CRLF); -1 on EOF. */
static int rd_line(conn *c, char *buf, size_t cap)
{
	size_t n = 0;
	for (;;) {
		int ch = rd(c);
		if (ch < 0)
			return -1;
		if (ch == '\n')
			break;
		if (ch != '\r' && n + 1 < cap)
			buf[n++] = (char)ch;
	}
	buf[n] = 0;
	return (int)n;
}

static void body_put(conn *c, int ch)
{
	if (c->body_len + 2 > c->body_cap) {
		c->body_cap = c->body_cap ? c->body_cap * 2 : 65536;
		c->body = realloc(c->body, c->body_cap);
		if (!c->body)
			abort();
	}
	c->body[c->body_len++] = (char)ch;
	c->body[c->body_len] = 0;
}

static void send_req(conn *c, const char *method, const char *path, const char *body)
{
	size_t blen = body ? strlen(body) : 0;
	size_t cap = strlen(path) + strlen(g_token) + blen + 512;
	char *req = xmalloc(cap);
	int n = snprintf(req, cap,
	                 "%s %s HTTP/1.1\r\nHost: %s:%d\r\nAuthorization: Bearer %s\r\n"
	                 "Accept: application/json\r\nUser-Agent: timon-bench-schedperf\r\n"
	                 "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
	                 method, path, g_host, ntohs(g_addr.sin_port), g_token, blen);
	if (body)
		memcpy(req + n, body, blen);
	size_t len = (size_t)n + blen, off = 0;
	while (off < len) {
		int w = SSL_write(c->ssl, req + off, (int)(len - off));
		if (w <= 0)
			die("write failed");
		off += (size_t)w;
	}
	free(req);
}

/* Reads the status line and headers; returns the status, sets *chunked / *clen. */
static int read_head(conn *c, int *chunked, long *clen)
{
	char line[8192];
	if (rd_line(c, line, sizeof line) < 0)
		die("connection closed");
	int status = 0;
	sscanf(line, "HTTP/1.%*d %d", &status);
	*chunked = 0;
	*clen = -1;
	while (rd_line(c, line, sizeof line) > 0) {
		if (!strncasecmp(line, "content-length:", 15))
			*clen = atol(line + 15);
		else if (!strncasecmp(line, "transfer-encoding:", 18) && strstr(line, "chunked"))
			*chunked = 1;
	}
	return status;
}

/* One request/response; the body is in c->body. Returns the status. */
static int call(conn *c, const char *method, const char *path, const char *body)
{
	send_req(c, method, path, body);
	int chunked;
	long clen;
	int status = read_head(c, &chunked, &clen);
	c->body_len = 0;
	body_put(c, 0);
	c->body_len = 0;
	if (chunked) {
		char line[64];
		for (;;) {
			if (rd_line(c, line, sizeof line) < 0)
				die("connection closed in a chunk");
			long n = strtol(line, NULL, 16);
			for (long i = 0; i < n; i++)
				body_put(c, rd(c));
			rd_line(c, line, sizeof line);
			if (n == 0)
				break;
		}
	} else {
		for (long i = 0; i < clen; i++)
			body_put(c, rd(c));
	}
	return status;
}

/* ---- the workload ---- */

static int g_nodes = 5000, g_init = 1000, g_pods = 10000, g_conns = 32;
static atomic_int g_next;
static atomic_int g_fail;
static double *g_sent, *g_bound, *g_running;
static const char *g_ns;
static int g_count; /* pods in the current phase */
static const char *g_prefix;

static const char *zone_of(int i)
{
	static const char *const moons[] = {"moon-1", "moon-2", "moon-3"};
	if (!strcmp(g_mode, "spread"))
		return moons[i % 3];
	if (!strcmp(g_mode, "affinity"))
		return "zone1";
	return NULL;
}

static char *node_body(int i)
{
	char labels[256] = "";
	const char *z = zone_of(i);
	if (z)
		snprintf(labels, sizeof labels, ",\"labels\":{\"topology.kubernetes.io/zone\":\"%s\"}", z);
	char *s = NULL;
	if (asprintf(&s,
	             "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"scheduler-perf-%05d\","
	             "\"annotations\":{\"timon.dev/simulated\":\"true\"}%s},\"spec\":{},\"status\":"
	             "{\"capacity\":{\"pods\":\"110\",\"cpu\":\"4\",\"memory\":\"32Gi\"},\"conditions\":"
	             "[{\"status\":\"True\",\"type\":\"Ready\"}],\"phase\":\"Running\"}}",
	             i, labels) < 0)
		abort();
	return s;
}

/* scheduler_perf's pod-default, pod-with-node-affinity, pod-with-topology-spreading and
 * pod-with-pod-anti-affinity templates. */
static char *pod_body(const char *name)
{
	const char *labels = "", *extra = "";
	if (!strcmp(g_mode, "affinity")) {
		extra = ",\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":"
		        "{\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":\"topology.kubernetes.io/zone\","
		        "\"operator\":\"In\",\"values\":[\"zone1\",\"zone2\"]}]}]}}}";
	} else if (!strcmp(g_mode, "spread")) {
		labels = ",\"labels\":{\"color\":\"blue\"}";
		extra = ",\"topologySpreadConstraints\":[{\"maxSkew\":5,\"topologyKey\":"
		        "\"topology.kubernetes.io/zone\",\"whenUnsatisfiable\":\"DoNotSchedule\","
		        "\"labelSelector\":{\"matchExpressions\":[{\"key\":\"color\",\"operator\":\"In\","
		        "\"values\":[\"blue\"]}]}}]";
	} else if (!strcmp(g_mode, "antiaffinity")) {
		labels = ",\"labels\":{\"color\":\"green\",\"name\":\"test\"}";
		extra = ",\"affinity\":{\"podAntiAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":"
		        "[{\"labelSelector\":{\"matchLabels\":{\"color\":\"green\"}},\"topologyKey\":"
		        "\"kubernetes.io/hostname\",\"namespaces\":[\"sched-0\",\"sched-1\"]}]}}";
	}
	char sched[128] = "";
	if (g_sched)
		snprintf(sched, sizeof sched, "\"schedulerName\":\"%s\",", g_sched);
	char *s = NULL;
	if (asprintf(&s,
	             "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\"%s},\"spec\":{%s"
	             "\"containers\":[{\"image\":\"registry.k8s.io/pause:3.10\",\"name\":\"pause\",\"ports\":"
	             "[{\"containerPort\":80}],\"resources\":{\"limits\":{\"cpu\":\"100m\",\"memory\":"
	             "\"500Mi\"},\"requests\":{\"cpu\":\"100m\",\"memory\":\"500Mi\"}}}]%s}}",
	             name, labels, sched, extra) < 0)
		abort();
	return s;
}

static void *creator(void *arg)
{
	int is_node = arg != NULL;
	conn *c = conn_open();
	char path[256], name[64];
	if (is_node)
		snprintf(path, sizeof path, "/api/v1/nodes");
	else
		snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods", g_ns);
	for (;;) {
		int i = atomic_fetch_add(&g_next, 1);
		if (i >= g_count)
			break;
		char *body;
		if (is_node) {
			body = node_body(i);
		} else {
			snprintf(name, sizeof name, "%s-%d", g_prefix, i);
			body = pod_body(name);
			g_sent[i] = now_ms();
		}
		int st = call(c, "POST", path, body);
		free(body);
		if (st != 201 && atomic_fetch_add(&g_fail, 1) < 3)
			fprintf(stderr, "schedperf: create answered %d: %.200s\n", st, c->body);
	}
	conn_close(c);
	return NULL;
}

static void run_creators(int is_node, int count)
{
	atomic_store(&g_next, 0);
	g_count = count;
	pthread_t *t = xmalloc(sizeof *t * (size_t)g_conns);
	for (int i = 0; i < g_conns; i++)
		pthread_create(&t[i], NULL, creator, is_node ? (void *)1 : NULL);
	for (int i = 0; i < g_conns; i++)
		pthread_join(t[i], NULL);
	free(t);
}

/* The watch: one ADDED/MODIFIED event per line. */
static atomic_int g_nbound, g_nrunning;
static conn *g_watch;

/* The string value after pat (`"key":"`, pl bytes) in line (*n bytes, not NUL-terminated),
 * or NULL. Pod events name the pod in metadata.name, its node in spec.nodeName and its
 * phase in status.phase; no other key of a pod is spelled so, so a scan finds them without
 * a parse (this thread shares the machine with the server it measures). */
static const char *scan_str(const char *line, size_t len, const char *pat, size_t pl, size_t *n)
{
	const char *p = memmem(line, len, pat, pl);
	if (!p)
		return NULL;
	p += pl;
	const char *e = memchr(p, '"', len - (size_t)(p - line));
	if (!e)
		return NULL;
	*n = (size_t)(e - p);
	return p;
}
#define SCAN_KEY(line, len, key, n) \
	scan_str(line, len, "\"" key "\":\"", sizeof("\"" key "\":\"") - 1, n)

static char g_name_pat[80]; /* `"name":"<prefix>-`, set with g_prefix */
static size_t g_name_pl;

static void watch_event(const char *line, size_t len)
{
	size_t n = 0;
	const char *p = scan_str(line, len, g_name_pat, g_name_pl, &n);
	if (!p)
		return;
	int i = atoi(p);
	if (i < 0 || i >= g_count)
		return;
	const char *node = SCAN_KEY(line, len, "nodeName", &n);
	double t = now_ms();
	if (node && n && g_bound[i] == 0) {
		g_bound[i] = t;
		atomic_fetch_add(&g_nbound, 1);
	}
	const char *phase = SCAN_KEY(line, len, "phase", &n);
	if (phase && n == 7 && !memcmp(phase, "Running", 7) && g_running[i] == 0) {
		g_running[i] = t;
		atomic_fetch_add(&g_nrunning, 1);
	}
}

static void *watcher(void *arg)
{
	(void)arg;
	conn *c = g_watch;
	char line[64];
	char *buf = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (rd_line(c, line, sizeof line) < 0)
			break;
		long n = strtol(line, NULL, 16);
		if (n == 0)
			break;
		for (long i = 0; i < n; i++) {
			int ch = rd(c);
			if (ch < 0)
				goto out;
			if (ch == '\n') {
				watch_event(buf, len);
				len = 0;
				continue;
			}
			if (len + 1 >= cap) {
				cap = cap ? cap * 2 : 65536;
				buf = realloc(buf, cap);
				if (!buf)
					abort();
			}
			buf[len++] = (char)ch;
		}
		rd_line(c, line, sizeof line);
	}
out:
	free(buf);
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p)
{
	if (!n)
		return 0;
	size_t i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

static long proc_field(int pid, const char *key)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%d/status", pid);
	FILE *f = fopen(path, "r");
	long v = -1;
	size_t kl = strlen(key);
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, key, kl))
			v = atol(line + kl);
	if (f)
		fclose(f);
	return v;
}

/* CPU seconds of the process pid (all threads), or with tid > 0 of that thread alone. */
static double cpu_s_of(int pid, int tid)
{
	char path[64];
	if (tid > 0)
		snprintf(path, sizeof path, "/proc/%d/task/%d/stat", pid, tid);
	else
		snprintf(path, sizeof path, "/proc/%d/stat", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	char buf[2048];
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	unsigned long ut = 0, stt = 0;
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &stt) != 2)
		return -1;
	return (double)(ut + stt) / (double)sysconf(_SC_CLK_TCK);
}

static double cpu_s(int pid)
{
	return cpu_s_of(pid, 0);
}

/* Counts the leases in kube-node-lease: the simulator creates one per node it runs. */
static int count_leases(conn *c)
{
	int st = call(c, "GET", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", NULL);
	json_t *l = st == 200 ? json_loadb(c->body, c->body_len, 0, NULL) : NULL;
	int n = (int)json_array_size(json_object_get(l, "items"));
	json_decref(l);
	return n;
}

/* One measured (or init) phase: creates count pods in ns and waits until all are bound. */
static void pod_phase(const char *ns, int count, int timeout_s, int server_pid, int measured)
{
	char path[512];
	conn *ctl = conn_open();
	g_ns = ns;
	g_prefix = "pod";
	g_name_pl = (size_t)snprintf(g_name_pat, sizeof g_name_pat, "\"name\":\"%s-", g_prefix);
	g_sent = xmalloc(sizeof(double) * (size_t)count);
	g_bound = xmalloc(sizeof(double) * (size_t)count);
	g_running = xmalloc(sizeof(double) * (size_t)count);
	atomic_store(&g_nbound, 0);
	atomic_store(&g_nrunning, 0);
	g_count = count;
	snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods?limit=1", ns);
	if (call(ctl, "GET", path, NULL) != 200)
		die("list pods in %s failed", ns);
	json_t *l = json_loadb(ctl->body, ctl->body_len, 0, NULL);
	char rv[64];
	snprintf(rv, sizeof rv, "%s",
	         json_string_value(json_object_get(json_object_get(l, "metadata"), "resourceVersion")));
	json_decref(l);
	conn_close(ctl);
	g_watch = conn_open();
	snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods?watch=true&resourceVersion=%s", ns, rv);
	send_req(g_watch, "GET", path, NULL);
	int chunked;
	long clen;
	if (read_head(g_watch, &chunked, &clen) != 200 || !chunked)
		die("watch on %s failed", ns);
	pthread_t wt;
	pthread_create(&wt, NULL, watcher, NULL);

	/* The server's main thread runs its event loop: its busy share tells a loop-bound run. */
	double cpu0 = server_pid > 0 ? cpu_s(server_pid) : 0;
	double loop0 = server_pid > 0 ? cpu_s_of(server_pid, server_pid) : 0;
	double t0 = now_ms();
	run_creators(0, count);
	double t_created = now_ms();
	double deadline = t0 + timeout_s * 1000.0;
	/* pods for a scheduler that does not exist are never bound: creates only */
	while (!g_sched && atomic_load(&g_nbound) < count && now_ms() < deadline)
		usleep(2000);
	double t_bound_wait = now_ms();
	double cpu1 = server_pid > 0 ? cpu_s(server_pid) : 0;
	double loop1 = server_pid > 0 ? cpu_s_of(server_pid, server_pid) : 0;
	double wall_s = (t_bound_wait - t0) / 1e3;
	long rss = server_pid > 0 ? proc_field(server_pid, "VmRSS:") : -1;
	long hwm = server_pid > 0 ? proc_field(server_pid, "VmHWM:") : -1;
	while (!g_sched && atomic_load(&g_nrunning) < count && now_ms() < deadline)
		usleep(5000);
	double t_run_wait = now_ms();
	shutdown(g_watch->fd, SHUT_RDWR);
	pthread_join(wt, NULL);
	conn_close(g_watch);

	int nb = atomic_load(&g_nbound), nr = atomic_load(&g_nrunning);
	double first = g_sent[0], last_bound = 0, last_run = 0;
	double *lat = xmalloc(sizeof(double) * (size_t)count);
	size_t nl = 0;
	for (int i = 0; i < count; i++) {
		if (g_sent[i] && g_sent[i] < first)
			first = g_sent[i];
		if (g_bound[i] > last_bound)
			last_bound = g_bound[i];
		if (g_running[i] > last_run)
			last_run = g_running[i];
		if (g_bound[i] && g_sent[i])
			lat[nl++] = g_bound[i] - g_sent[i];
	}
	qsort(lat, nl, sizeof *lat, cmp_double);
	if (nb < count)
		last_bound = t_bound_wait;
	if (nr < count)
		last_run = t_run_wait;
	double e2e_s = (last_bound - first) / 1e3;
	fprintf(stderr, "schedperf: %s: %d pods created in %.2f s, %d bound after %.2f s, %d running after %.2f s\n",
	        ns, count, (t_created - t0) / 1e3, nb, e2e_s, nr, (last_run - first) / 1e3);
	if (measured)
		printf("SCHEDPERF mode=%s nodes=%d init=%d pods=%d conns=%d created_s=%.3f create_per_s=%.0f "
		       "bound=%d e2e_s=%.3f pods_per_s=%.0f lat_p50_ms=%.1f lat_p90_ms=%.1f lat_p99_ms=%.1f "
		       "lat_max_ms=%.1f running=%d running_s=%.3f create_errors=%d server_cpu_s=%.2f "
		       "server_rss_kib=%ld server_hwm_kib=%ld loop_busy_pct=%.0f\n",
		       g_mode, g_nodes, g_init, count, g_conns, (t_created - t0) / 1e3,
		       count / ((t_created - t0) / 1e3), nb, e2e_s, nb / (e2e_s > 0 ? e2e_s : 1),
		       pct(lat, nl, 50), pct(lat, nl, 90), pct(lat, nl, 99), nl ? lat[nl - 1] : 0, nr,
		       (last_run - first) / 1e3, atomic_load(&g_fail), cpu1 - cpu0, rss, hwm,
		       wall_s > 0 ? 100.0 * (loop1 - loop0) / wall_s : 0);
	free(lat);
	free(g_sent);
	free(g_bound);
	free(g_running);
}

int main(int argc, char **argv)
{
	const char *url = NULL, *ca = NULL;
	int timeout_s = 300, server_pid = 0;
	for (int i = 1; i < argc; i += 2) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v)
			die("flag %s needs a value", a);
		if (!strcmp(a, "--url"))
			url = v;
		else if (!strcmp(a, "--ca"))
			ca = v;
		else if (!strcmp(a, "--token"))
			g_token = v;
		else if (!strcmp(a, "--mode"))
			g_mode = v;
		else if (!strcmp(a, "--nodes"))
			g_nodes = atoi(v);
		else if (!strcmp(a, "--init"))
			g_init = atoi(v);
		else if (!strcmp(a, "--pods"))
			g_pods = atoi(v);
		else if (!strcmp(a, "--conns"))
			g_conns = atoi(v);
		else if (!strcmp(a, "--timeout-s"))
			timeout_s = atoi(v);
		else if (!strcmp(a, "--server-pid"))
			server_pid = atoi(v);
		else if (!strcmp(a, "--scheduler-name"))
			g_sched = v;
		else
			die("unknown flag %s", a);
	}
	int port = 0;
	if (!url || !ca || !g_token || sscanf(url, "https://%63[0-9.]:%d", g_host, &port) != 2)
		die("usage: schedperf --url https://IP:PORT --ca FILE --token T [--mode M] [--nodes N] "
		    "[--init I] [--pods P] [--conns C] [--timeout-s S] [--server-pid PID]");
	if (strcmp(g_mode, "basic") && strcmp(g_mode, "affinity") && strcmp(g_mode, "spread") &&
	    strcmp(g_mode, "antiaffinity"))
		die("mode must be basic, affinity, spread or antiaffinity");
	if (g_nodes < 1 || g_nodes > 100000 || g_pods < 1 || g_pods > 1000000 || g_init < 0 ||
	    g_conns < 1 || g_conns > 256 || timeout_s < 1 || timeout_s > 3600)
		die("nodes 1..100000, pods 1..1000000, init >= 0, conns 1..256, timeout-s 1..3600");
	g_addr.sin_family = AF_INET;
	g_addr.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, g_host, &g_addr.sin_addr) != 1)
		die("bad address %s", g_host);
	signal(SIGPIPE, SIG_IGN);
	g_ctx = SSL_CTX_new(TLS_client_method());
	if (!g_ctx || SSL_CTX_load_verify_locations(g_ctx, ca, NULL) != 1)
		die("cannot load CA %s", ca);
	SSL_CTX_set_verify(g_ctx, SSL_VERIFY_PEER, NULL);

	conn *ctl = conn_open();
	for (int i = 0; i < 2; i++) {
		char body[256];
		snprintf(body, sizeof body,
		         "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"sched-%d\"}}", i);
		int st = call(ctl, "POST", "/api/v1/namespaces", body);
		if (st != 201 && st != 409)
			die("create namespace: HTTP %d", st);
	}
	double t0 = now_ms();
	run_creators(1, g_nodes);
	double t_nodes = now_ms();
	int leases = 0;
	while ((leases = count_leases(ctl)) < g_nodes && now_ms() < t0 + timeout_s * 1000.0)
		usleep(250000);
	if (leases < g_nodes)
		die("only %d of %d nodes registered by the simulator", leases, g_nodes);
	/* let the simulator's first round of status writes settle */
	if (server_pid > 0) {
		for (int i = 0; i < 60; i++) {
			double c0 = cpu_s(server_pid);
			usleep(500000);
			if (cpu_s(server_pid) - c0 < 0.15)
				break;
		}
	}
	fprintf(stderr, "schedperf: %d nodes created in %.2f s, registered after %.2f s (%s)\n", g_nodes,
	        (t_nodes - t0) / 1e3, (now_ms() - t0) / 1e3, g_mode);
	conn_close(ctl);
	if (g_init > 0)
		pod_phase("sched-0", g_init, timeout_s, server_pid, 0);
	pod_phase("sched-1", g_pods, timeout_s, server_pid, 1);
	return 0;
}
