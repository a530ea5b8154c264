/* watchfan.c — watch fan-out benchmark: N watchers on one resource, one writer.
 *
 * Opens N TLS connections to the API server (non-blocking sockets, epoll, OpenSSL, the
 * cluster CA verified, a bearer token), each a GET ...?watch=true&resourceVersion=RV on the
 * ConfigMaps of one namespace. Once every watch has answered 200, a writer connection
 * creates M ConfigMaps one at a time; after each create it waits until the 201 came back
 * and every watcher has seen the ADDED event (or a timeout), then creates the next.
 * For every (event, watcher) pair it records the time from the create being sent and from
 * its 201 being read to the event arriving. One clock, one process, so times compare.
 * Not for: checking event contents (the integration tests do that); it only looks for each
 * object's unique name in the de-chunked stream.
 *
 * Usage: watchfan --url https://127.0.0.1:PORT --ca CA.crt --token T
 *                 [--watchers 1000] [--events 50] [--namespace bench-watch]
 *                 [--timeout-ms 5000] [--server-pid PID]
 * With --server-pid it also reads the server's VmRSS while all the watches are open.
 * Prints progress on stderr and one "WATCHFAN key=value ..." line on stdout.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_HANDSHAKING 64 /* connections being set up at once: keeps the accept queue calm */
#define HDR_MAX 8192
#define TAIL_KEEP 96 /* bytes of decoded stream kept so a name split across reads is found */

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
	fprintf(stderr, "watchfan: ");
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

/* ---- chunked transfer decoding (RFC 9112 §7.1), incremental ---- */

enum { CH_SIZE, CH_EXT, CH_SIZE_LF, CH_DATA, CH_DATA_CR, CH_DATA_LF, CH_DONE };

typedef struct {
	int state;
	size_t left; /* bytes of the current chunk still to come */
} chunk_dec;

/* Feeds n raw bytes; decoded bytes go to out (whose cap must be >= n); returns how many
 * were written, or -1 on malformed input. Sets state CH_DONE at the last (empty) chunk. */
static long chunk_feed(chunk_dec *d, const char *in, size_t n, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n && d->state != CH_DONE; i++) {
		char c = in[i];
		switch (d->state) {
		case CH_SIZE:
			if (c >= '0' && c <= '9')
				d->left = d->left * 16 + (size_t)(c - '0');
			else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
				d->left = d->left * 16 + (size_t)((c | 0x20) - 'a' + 10);
			else if (c == ';' || c == ' ' || c == '\t')
				d->state = CH_EXT;
			else if (c == '\r')
				d->state = CH_SIZE_LF;
			else
				return -1;
			if (d->left > ((size_t)1 << 40))
				return -1;
			break;
		case CH_EXT:
			if (c == '\r')
				d->state = CH_SIZE_LF;
			break;
		case CH_SIZE_LF:
			if (c != '\n')
				return -1;
			/* the last chunk's trailer section is not read: nothing follows it here */
			d->state = d->left ? CH_DATA : CH_DONE;
			break;
		case CH_DATA: {
			size_t take = n - i < d->left ? n - i : d->left;
			memcpy(out + o, in + i, take);
			o += take;
			d->left -= take;
			i += take - 1;
			if (d->left == 0)
				d->state = CH_DATA_CR;
			break;
		}
		case CH_DATA_CR:
			if (c != '\r')
				return -1;
			d->state = CH_DATA_LF;
			break;
		case CH_DATA_LF:
			if (c != '\n')
				return -1;
			d->state = CH_SIZE;
			d->left = 0;
			break;
		}
	}
	return (long)o;
}

/* ---- connections ---- */

enum { C_CONNECTING, C_HANDSHAKE, C_HEADERS, C_STREAM, C_DEAD };

typedef struct conn {
	int fd;
	SSL *ssl;
	int state;
	int is_writer;
	char *req; /* request still to send (owned) */
	size_t req_len, req_off;
	char hdr[HDR_MAX];
	size_t hdr_len;
	int status;
	int chunked;
	long content_length;
	chunk_dec dec;
	/* writer: the body of the current response */
	char *body;
	size_t body_len, body_cap;
	int response_done;
	/* watcher: tail of the decoded stream, events seen */
	char tail[TAIL_KEEP + 4096];
	size_t tail_len;
	int seen_current;
	int events_seen;
} conn;

static SSL_CTX *g_ctx;
static int g_ep;
static struct sockaddr_in g_addr;
static char g_host[64];
static const char *g_token;
static char g_marker[96]; /* the current event's name, quoted: "wf-RUN-00012" */
static size_t g_marker_len;
static int g_waiting_seen; /* watchers that have seen the current event */
static double g_t_sent, g_t_ack;
static double *g_from_sent, *g_from_ack;
static size_t g_nlat;
static int g_established, g_dead;

static void ep_set(conn *c, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = c};
	if (epoll_ctl(g_ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
		die("epoll_ctl: %s", strerror(errno));
}

static void conn_kill(conn *c, const char *why)
{
	if (c->state == C_DEAD)
		return;
	if (c->is_writer)
		die("writer connection failed: %s", why);
	if (g_dead < 5)
		fprintf(stderr, "watchfan: watcher closed (%s)\n", why);
	if (c->state == C_STREAM)
		g_established--;
	c->state = C_DEAD;
	g_dead++;
	epoll_ctl(g_ep, EPOLL_CTL_DEL, c->fd, NULL);
	SSL_free(c->ssl);
	c->ssl = NULL;
	close(c->fd);
	c->fd = -1;
}

static conn *conn_new(int is_writer)
{
	conn *c = xmalloc(sizeof *c);
	c->is_writer = is_writer;
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		die("socket: %s (raise the open-files limit?)", strerror(errno));
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	c->ssl = SSL_new(g_ctx);
	if (!c->ssl || !SSL_set_fd(c->ssl, c->fd))
		die("SSL_new");
	SSL_set_connect_state(c->ssl);
	X509_VERIFY_PARAM *vp = SSL_get0_param(c->ssl);
	if (!X509_VERIFY_PARAM_set1_ip_asc(vp, g_host))
		die("bad host %s", g_host);
	struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
	if (connect(c->fd, (struct sockaddr *)&g_addr, sizeof g_addr) < 0 && errno != EINPROGRESS)
		die("connect: %s", strerror(errno));
	c->state = C_CONNECTING;
	if (epoll_ctl(g_ep, EPOLL_CTL_ADD, c->fd, &ev) < 0)
		die("epoll_ctl add: %s", strerror(errno));
	return c;
}

static void conn_set_request(conn *c, const char *method, const char *path, const char *body)
{
	size_t blen = body ? strlen(body) : 0;
	size_t cap = strlen(path) + strlen(g_token) + blen + 512;
	free(c->req);
	c->req = xmalloc(cap);
	int n = snprintf(c->req, cap,
	                 "%s %s HTTP/1.1\r\nHost: %s:%d\r\nAuthorization: Bearer %s\r\n"
	                 "Accept: application/json\r\nUser-Agent: timon-bench-watchfan\r\n"
	                 "%s%zu\r\n\r\n",
	                 method, path, g_host, ntohs(g_addr.sin_port), g_token,
	                 body ? "Content-Type: application/json\r\nContent-Length: " : "Content-Length: ",
	                 blen);
	if (n < 0 || (size_t)n + blen >= cap)
		die("request too long");
	if (body)
		memcpy(c->req + n, body, blen);
	c->req_len = (size_t)n + blen;
	c->req_off = 0;
	c->hdr_len = 0;
	c->status = 0;
	c->chunked = 0;
	c->content_length = -1;
	c->dec = (chunk_dec){0};
	c->body_len = 0;
	c->response_done = 0;
}

/* Sends what is left of c->req; 1 when all sent, 0 when it must wait, -1 on error. */
static int conn_flush(conn *c)
{
	while (c->req_off < c->req_len) {
		int n = SSL_write(c->ssl, c->req + c->req_off, (int)(c->req_len - c->req_off));
		if (n <= 0) {
			int e = SSL_get_error(c->ssl, n);
			if (e == SSL_ERROR_WANT_WRITE) {
				ep_set(c, EPOLLIN | EPOLLOUT);
				return 0;
			}
			if (e == SSL_ERROR_WANT_READ)
				return 0;
			return -1;
		}
		c->req_off += (size_t)n;
	}
	ep_set(c, EPOLLIN);
	return 1;
}

static void body_append(conn *c, const char *p, size_t n)
{
	if (c->body_len + n + 1 > c->body_cap) {
		c->body_cap = (c->body_len + n + 1) * 2;
		c->body = realloc(c->body, c->body_cap);
		if (!c->body)
			abort();
	}
	memcpy(c->body + c->body_len, p, n);
	c->body_len += n;
	c->body[c->body_len] = 0;
}

/* A watcher's decoded stream: look for the current event's name. */
static void watcher_data(conn *c, const char *p, size_t n)
{
	while (n > 0) {
		size_t take = n < sizeof c->tail - TAIL_KEEP ? n : sizeof c->tail - TAIL_KEEP;
		memcpy(c->tail + c->tail_len, p, take);
		c->tail_len += take;
		p += take;
		n -= take;
		if (!c->seen_current && g_marker_len &&
		    memmem(c->tail, c->tail_len, g_marker, g_marker_len)) {
			double t = now_ms();
			c->seen_current = 1;
			c->events_seen++;
			g_waiting_seen++;
			g_from_sent[g_nlat++] = t - g_t_sent;
		}
		if (c->tail_len > TAIL_KEEP) {
			memmove(c->tail, c->tail + c->tail_len - TAIL_KEEP, TAIL_KEEP);
			c->tail_len = TAIL_KEEP;
		}
	}
}

/* The writer's response is complete: the moment it counts as acknowledged. */
static void writer_done(conn *c)
{
	c->response_done = 1;
	g_t_ack = now_ms();
}

/* Body bytes after the headers (raw, maybe chunked). */
static void conn_body(conn *c, const char *p, size_t n)
{
	if (n == 0)
		return;
	char *dec = NULL;
	if (c->chunked) {
		dec = xmalloc(n);
		long m = chunk_feed(&c->dec, p, n, dec);
		if (m < 0) {
			free(dec);
			conn_kill(c, "bad chunked encoding");
			return;
		}
		p = dec;
		n = (size_t)m;
	}
	if (c->is_writer) {
		body_append(c, p, n);
		if (c->chunked ? c->dec.state == CH_DONE
		               : c->content_length >= 0 && (long)c->body_len >= c->content_length)
			writer_done(c);
	} else {
		watcher_data(c, p, n);
	}
	free(dec);
}

static void conn_headers_done(conn *c, size_t end)
{
	c->hdr[end - 1] = 0;
	if (sscanf(c->hdr, "HTTP/1.%*d %d", &c->status) != 1) {
		conn_kill(c, "bad status line");
		return;
	}
	for (char *line = strstr(c->hdr, "\r\n"); line; line = strstr(line + 2, "\r\n")) {
		char *l = line + 2;
		if (strncasecmp(l, "transfer-encoding:", 18) == 0 && strcasestr(l, "chunked"))
			c->chunked = 1;
		else if (strncasecmp(l, "content-length:", 15) == 0)
			c->content_length = atol(l + 15);
	}
	if (!c->is_writer) {
		if (c->status != 200) {
			char why[64];
			snprintf(why, sizeof why, "watch answered HTTP %d", c->status);
			conn_kill(c, why);
			return;
		}
		c->state = C_STREAM;
		g_established++;
	} else {
		c->state = C_STREAM;
		if (!c->chunked && c->content_length <= 0)
			writer_done(c);
	}
}

static void conn_readable(conn *c)
{
	char buf[16384];
	for (;;) {
		int n = SSL_read(c->ssl, buf, sizeof buf);
		if (n <= 0) {
			int e = SSL_get_error(c->ssl, n);
			if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
				return;
			conn_kill(c, e == SSL_ERROR_ZERO_RETURN ? "closed by server" : "read error");
			return;
		}
		size_t off = 0;
		if (c->state == C_HEADERS) {
			size_t take = (size_t)n < HDR_MAX - 1 - c->hdr_len ? (size_t)n : HDR_MAX - 1 - c->hdr_len;
			memcpy(c->hdr + c->hdr_len, buf, take);
			size_t old = c->hdr_len;
			c->hdr_len += take;
			c->hdr[c->hdr_len] = 0;
			char *e = strstr(c->hdr, "\r\n\r\n");
			if (!e) {
				if (c->hdr_len >= HDR_MAX - 1)
					conn_kill(c, "headers too long");
				if (c->state == C_DEAD)
					return;
				continue;
			}
			size_t end = (size_t)(e - c->hdr) + 4;
			off = end - old;
			conn_headers_done(c, end);
			if (c->state == C_DEAD)
				return;
		}
		conn_body(c, buf + off, (size_t)n - off);
		if (c->state == C_DEAD)
			return;
	}
}

static int g_handshaking;

static void conn_event(conn *c, uint32_t ev)
{
	if (c->state == C_DEAD)
		return;
	if (c->state == C_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof err;
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err) {
			g_handshaking--;
			conn_kill(c, strerror(err));
			return;
		}
		c->state = C_HANDSHAKE;
	}
	if (c->state == C_HANDSHAKE) {
		int r = SSL_do_handshake(c->ssl);
		if (r != 1) {
			int e = SSL_get_error(c->ssl, r);
			if (e == SSL_ERROR_WANT_READ)
				ep_set(c, EPOLLIN);
			else if (e == SSL_ERROR_WANT_WRITE)
				ep_set(c, EPOLLOUT);
			else {
				g_handshaking--;
				conn_kill(c, "TLS handshake failed");
			}
			return;
		}
		g_handshaking--;
		c->state = C_HEADERS;
		if (c->req && conn_flush(c) < 0)
			conn_kill(c, "write error");
		return;
	}
	if ((ev & EPOLLOUT) && c->req_off < c->req_len && conn_flush(c) < 0) {
		conn_kill(c, "write error");
		return;
	}
	if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR))
		conn_readable(c);
}

/* One pass of the loop: waits up to timeout_ms for events and handles them. */
static void loop_once(int timeout_ms)
{
	struct epoll_event evs[256];
	int n = epoll_wait(g_ep, evs, 256, timeout_ms);
	if (n < 0 && errno != EINTR)
		die("epoll_wait: %s", strerror(errno));
	for (int i = 0; i < n; i++)
		conn_event(evs[i].data.ptr, evs[i].events);
}

/* Starts one request on the writer connection (sent once its handshake is done). */
static void writer_send(conn *w, const char *method, const char *path, const char *body)
{
	conn_set_request(w, method, path, body);
	g_t_sent = now_ms();
	g_t_ack = 0;
	if (w->state == C_STREAM) {
		w->state = C_HEADERS;
		if (conn_flush(w) < 0)
			die("writer: write error");
	}
}

/* Runs one request on the writer connection and waits for its whole response. */
static int writer_call(conn *w, const char *method, const char *path, const char *body,
                       double timeout_ms)
{
	writer_send(w, method, path, body);
	double deadline = g_t_sent + timeout_ms;
	while (!w->response_done) {
		double left = deadline - now_ms();
		if (left <= 0)
			die("writer: no answer to %s %s within %.0f ms", method, path, timeout_ms);
		loop_once(left < 50 ? (int)left + 1 : 50);
	}
	return w->status;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p)
{
	if (n == 0)
		return 0;
	size_t i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

/* VmRSS of a process in KiB from /proc/PID/status, or -1. */
static long rss_kib(int pid)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%d/status", pid);
	FILE *f = fopen(path, "r");
	long kib = -1;
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "VmRSS: %ld", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static void raise_nofile(rlim_t want)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur >= want)
		return;
	rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur < want)
		fprintf(stderr, "watchfan: open-files limit is %llu, wanted %llu\n",
		        (unsigned long long)rl.rlim_cur, (unsigned long long)want);
}

int main(int argc, char **argv)
{
	const char *url = NULL, *ca = NULL, *ns = "bench-watch";
	int nwatch = 1000, nevents = 50, timeout_ms = 5000, server_pid = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v)
			die("flag %s needs a value", a);
		if (!strcmp(a, "--url"))
			url = v;
		else if (!strcmp(a, "--ca"))
			ca = v;
		else if (!strcmp(a, "--token"))
			g_token = v;
		else if (!strcmp(a, "--watchers"))
			nwatch = atoi(v);
		else if (!strcmp(a, "--events"))
			nevents = atoi(v);
		else if (!strcmp(a, "--namespace"))
			ns = v;
		else if (!strcmp(a, "--timeout-ms"))
			timeout_ms = atoi(v);
		else if (!strcmp(a, "--server-pid"))
			server_pid = atoi(v);
		else
			die("unknown flag %s", a);
		i++;
	}
	int port = 0;
	if (!url || !ca || !g_token || sscanf(url, "https://%63[0-9.]:%d", g_host, &port) != 2)
		die("usage: watchfan --url https://IP:PORT --ca FILE --token T [--watchers N] "
		    "[--events M] [--namespace NS] [--timeout-ms MS]");
	if (nwatch < 1 || nwatch > 20000 || nevents < 1 || nevents > 10000 || timeout_ms < 100 ||
	    timeout_ms > 60000)
		die("watchers must be 1..20000, events 1..10000, timeout-ms 100..60000");
	g_addr.sin_family = AF_INET;
	g_addr.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, g_host, &g_addr.sin_addr) != 1)
		die("bad address %s", g_host);
	raise_nofile((rlim_t)nwatch + 64);

	g_ctx = SSL_CTX_new(TLS_client_method());
	if (!g_ctx || SSL_CTX_load_verify_locations(g_ctx, ca, NULL) != 1)
		die("cannot load CA %s", ca);
	SSL_CTX_set_verify(g_ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_mode(g_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	g_ep = epoll_create1(EPOLL_CLOEXEC);
	if (g_ep < 0)
		die("epoll_create1: %s", strerror(errno));

	/* the writer: namespace, then the revision to watch from */
	conn *w = conn_new(1);
	g_handshaking++;
	char path[512], body[1024];
	snprintf(body, sizeof body,
	         "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"%s\"}}", ns);
	int st = writer_call(w, "POST", "/api/v1/namespaces", body, 10000);
	if (st != 201 && st != 409)
		die("create namespace %s: HTTP %d: %.300s", ns, st, w->body ? w->body : "");
	snprintf(path, sizeof path, "/api/v1/namespaces/%s/configmaps?limit=1", ns);
	st = writer_call(w, "GET", path, NULL, 10000);
	json_t *list = st == 200 ? json_loadb(w->body, w->body_len, 0, NULL) : NULL;
	const char *rv = json_string_value(json_object_get(json_object_get(list, "metadata"), "resourceVersion"));
	if (!rv)
		die("list configmaps: HTTP %d, no resourceVersion", st);
	char rvbuf[64];
	snprintf(rvbuf, sizeof rvbuf, "%s", rv);
	json_decref(list);

	/* the watchers, at most MAX_HANDSHAKING being set up at once */
	conn **ws = xmalloc(sizeof *ws * (size_t)nwatch);
	snprintf(path, sizeof path, "/api/v1/namespaces/%s/configmaps?watch=true&resourceVersion=%s", ns,
	         rvbuf);
	double t0 = now_ms(), deadline = t0 + 60000;
	int opened = 0;
	while (g_established + g_dead < nwatch) {
		while (opened < nwatch && g_handshaking < MAX_HANDSHAKING) {
			ws[opened] = conn_new(0);
			conn_set_request(ws[opened], "GET", path, NULL);
			opened++;
			g_handshaking++;
		}
		if (now_ms() > deadline)
			die("only %d of %d watches established after 60 s", g_established, nwatch);
		loop_once(20);
	}
	double setup_ms = now_ms() - t0;
	fprintf(stderr, "watchfan: %d watches established in %.0f ms (%d failed), rv %s\n",
	        g_established, setup_ms, g_dead, rvbuf);
	if (g_established == 0)
		die("no watch established");
	long rss_watching = server_pid > 0 ? rss_kib(server_pid) : -1;

	/* the events, one at a time */
	g_from_sent = xmalloc(sizeof(double) * (size_t)nwatch * (size_t)nevents);
	g_from_ack = xmalloc(sizeof(double) * (size_t)nwatch * (size_t)nevents);
	double *ack_ms = xmalloc(sizeof(double) * (size_t)nevents);
	double *last_ms = xmalloc(sizeof(double) * (size_t)nevents);
	int missed = 0;
	unsigned run = (unsigned)getpid() ^ (unsigned)time(NULL);
	snprintf(path, sizeof path, "/api/v1/namespaces/%s/configmaps", ns);
	for (int e = 0; e < nevents; e++) {
		char name[64];
		snprintf(name, sizeof name, "wf-%08x-%05d", run, e);
		g_marker_len = (size_t)snprintf(g_marker, sizeof g_marker, "\"%s\"", name);
		g_waiting_seen = 0;
		for (int i = 0; i < opened; i++)
			ws[i]->seen_current = 0;
		size_t first_lat = g_nlat;
		snprintf(body, sizeof body,
		         "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"%s\","
		         "\"labels\":{\"app\":\"watchfan\"}},\"data\":{\"event\":\"%d\"}}",
		         name, e);
		writer_send(w, "POST", path, body);
		double until = g_t_sent + timeout_ms;
		while ((!w->response_done || g_waiting_seen < g_established) && now_ms() < until)
			loop_once(5);
		if (!w->response_done)
			die("create %s: no answer within %d ms", name, timeout_ms);
		if (w->status != 201)
			die("create %s: HTTP %d: %.300s", name, w->status, w->body ? w->body : "");
		ack_ms[e] = g_t_ack - g_t_sent;
		last_ms[e] = 0;
		/* an event read in the same epoll batch as (or before) the 201 has no ack time yet:
		 * its time from the ack counts as 0 */
		for (size_t k = first_lat; k < g_nlat; k++) {
			double fa = g_from_sent[k] - ack_ms[e];
			g_from_ack[k] = fa > 0 ? fa : 0;
			if (g_from_sent[k] > last_ms[e])
				last_ms[e] = g_from_sent[k];
		}
		missed += g_established - g_waiting_seen;
	}
	g_marker_len = 0;

	size_t n = g_nlat;
	qsort(g_from_sent, n, sizeof(double), cmp_double);
	qsort(g_from_ack, n, sizeof(double), cmp_double);
	qsort(ack_ms, (size_t)nevents, sizeof(double), cmp_double);
	qsort(last_ms, (size_t)nevents, sizeof(double), cmp_double);
	printf("WATCHFAN watchers=%d established=%d failed=%d events=%d delivered=%zu missed=%d "
	       "setup_ms=%.0f sent_p50_ms=%.3f sent_p99_ms=%.3f sent_max_ms=%.3f "
	       "ack_p50_ms=%.3f ack_p99_ms=%.3f create_p50_ms=%.3f create_p99_ms=%.3f "
	       "last_p50_ms=%.3f last_p99_ms=%.3f server_rss_kib=%ld\n",
	       nwatch, g_established, g_dead, nevents, n, missed, setup_ms, pct(g_from_sent, n, 50),
	       pct(g_from_sent, n, 99), n ? g_from_sent[n - 1] : 0, pct(g_from_ack, n, 50),
	       pct(g_from_ack, n, 99), pct(ack_ms, (size_t)nevents, 50), pct(ack_ms, (size_t)nevents, 99),
	       pct(last_ms, (size_t)nevents, 50), pct(last_ms, (size_t)nevents, 99), rss_watching);
	fflush(stdout);

	for (int i = 0; i < opened; i++) {
		if (ws[i]->state != C_DEAD) {
			SSL_free(ws[i]->ssl);
			close(ws[i]->fd);
		}
		free(ws[i]->req);
		free(ws[i]->body);
		free(ws[i]);
	}
	SSL_free(w->ssl);
	close(w->fd);
	free(w->req);
	free(w->body);
	free(w);
	free(ws);
	free(g_from_sent);
	free(g_from_ack);
	free(ack_ms);
	free(last_ms);
	SSL_CTX_free(g_ctx);
	close(g_ep);
	return missed || g_dead ? 3 : 0;
}
