/* dns_forward.c — asks upstream resolvers the names outside the cluster zone. Each query
 * gets its own UDP socket (a random source port) and a random ID, goes to the upstreams in
 * turn (the next one after ATTEMPT_MS, or at once when one answers SERVFAIL/REFUSED), moves
 * to TCP when an answer comes back truncated, and gives up after DNS_FORWARD_DEADLINE_MS so
 * the client gets SERVFAIL fast. Answers are checked (source address, ID, question) before
 * they are believed, and go into the cache.
 * Everything runs on the loop; nothing blocks. Not for: the cluster zone.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "proxy/dns-internal.h"

#define ATTEMPT_MS   600
#define MAX_INFLIGHT 1024

typedef struct fwd_query fwd_query;

struct dns_forwarder {
	uv_loop_t *loop;
	struct sockaddr_storage ups[DNS_MAX_UPSTREAMS];
	size_t nups;
	dns_cache *cache;
	fwd_query *head; /* queries not yet freed */
	size_t inflight; /* queries not yet answered */
	bool freeing;
	uint8_t rbuf[65536]; /* receive buffer, shared: callbacks never overlap */
};

struct fwd_query {
	dns_forwarder *f;
	fwd_query *prev, *next;
	uv_udp_t udp;
	uv_timer_t timer;
	uv_tcp_t tcp;
	uv_connect_t connect;
	uv_write_t write;
	int open; /* handles not yet closed */
	bool udp_init, tcp_init, done;
	dns_name qname;
	uint16_t qtype, qclass, id;
	buf packet;    /* 2-byte length, then the query (UDP sends from offset 2) */
	uint32_t sent; /* bit per upstream asked over UDP */
	size_t tries;
	uint64_t started;
	buf tcp_in;
	dns_forward_cb cb;
	void *ud;
};

/* ---------- upstream lists ---------- */

/* The decimal port in p[0, n), or -1. */
static int parse_port(const char *p, size_t n)
{
	int v = 0;
	if (n == 0 || n > 5)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

static int parse_one(const char *s, size_t n, struct sockaddr_storage *out, bool zero_port)
{
	char host[INET6_ADDRSTRLEN + 8];
	int port = 53;
	const char *colon = memchr(s, ':', n);
	if (n == 0 || n >= sizeof host)
		return -1;
	if (s[0] == '[') { /* [v6]:port or [v6] */
		const char *close = memchr(s, ']', n);
		if (!close)
			return -1;
		snprintf(host, sizeof host, "%.*s", (int)(close - s - 1), s + 1);
		if ((size_t)(close - s) + 1 < n) {
			if (close[1] != ':')
				return -1;
			port = parse_port(close + 2, n - (size_t)(close + 2 - s));
		}
	} else if (colon && !memchr(colon + 1, ':', n - (size_t)(colon + 1 - s))) {
		snprintf(host, sizeof host, "%.*s", (int)(colon - s), s); /* v4:port */
		port = parse_port(colon + 1, n - (size_t)(colon + 1 - s));
	} else {
		snprintf(host, sizeof host, "%.*s", (int)n, s); /* bare address */
	}
	char *pct = strchr(host, '%'); /* an IPv6 zone: not supported, dropped */
	if (pct)
		*pct = 0;
	if (port < (zero_port ? 0 : 1) || port > 65535)
		return -1;
	memset(out, 0, sizeof *out);
	if (uv_ip4_addr(host, port, (struct sockaddr_in *)out) == 0)
		return 0;
	if (uv_ip6_addr(host, port, (struct sockaddr_in6 *)out) == 0)
		return 0;
	return -1;
}

int dns_upstreams_parse(const char *spec, struct sockaddr_storage *out, size_t max)
{
	size_t k = 0;
	const char *p = spec;
	while (*p) {
		while (*p == ',' || *p == ' ')
			p++;
		if (!*p)
			break;
		size_t n = strcspn(p, ", ");
		if (k >= max || parse_one(p, n, &out[k], false) < 0)
			return -1;
		k++;
		p += n;
	}
	return (int)k;
}

int dns_listen_addr_parse(const char *s, struct sockaddr_storage *out)
{
	return parse_one(s, strlen(s), out, true);
}

int dns_upstreams_resolv_conf(const char *path, struct sockaddr_storage *out, size_t max)
{
	_cleanup_fclose_ FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	char line[512];
	size_t k = 0;
	while (k < max && fgets(line, sizeof line, f)) {
		char word[32], addr[128];
		if (sscanf(line, "%31s %127s", word, addr) != 2 || strcmp(word, "nameserver") != 0)
			continue;
		if (parse_one(addr, strlen(addr), &out[k], false) == 0)
			k++;
	}
	return (int)k;
}

static bool same_addr(const struct sockaddr *a, const struct sockaddr_storage *b)
{
	if (a->sa_family != b->ss_family)
		return false;
	if (a->sa_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->sa_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
		return x->sin6_port == y->sin6_port &&
		       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
	}
	return false;
}

/* ---------- one query ---------- */

static void on_close(uv_handle_t *h)
{
	fwd_query *q = h->data;
	if (--q->open > 0)
		return;
	dns_forwarder *f = q->f;
	if (q->prev)
		q->prev->next = q->next;
	else
		f->head = q->next;
	if (q->next)
		q->next->prev = q->prev;
	buf_free(&q->packet);
	buf_free(&q->tcp_in);
	free(q);
	if (f->freeing && !f->head) {
		dns_cache_free(f->cache);
		free(f);
	}
}

static void close_handle(fwd_query *q, uv_handle_t *h)
{
	if (!uv_is_closing(h)) {
		q->open++;
		uv_close(h, on_close);
	}
}

/* Answers the caller once (answer NULL: failure), caches, and closes the handles. */
static void finish(fwd_query *q, const dns_msg *answer)
{
	if (q->done)
		return;
	q->done = true;
	q->f->inflight--;
	if (answer && q->f->cache)
		dns_cache_put(q->f->cache, &q->qname, q->qtype, q->qclass, answer,
		              uv_now(q->f->loop));
	q->cb(q->ud, answer);
	q->open++; /* held while closing the handles, so on_close frees only at the end */
	close_handle(q, (uv_handle_t *)&q->timer);
	if (q->udp_init)
		close_handle(q, (uv_handle_t *)&q->udp);
	if (q->tcp_init)
		close_handle(q, (uv_handle_t *)&q->tcp);
	on_close((uv_handle_t *)&q->timer);
}

static void on_udp_sent(uv_udp_send_t *req, int status)
{
	UNUSED(status);
	free(req);
}

/* Sends the query over UDP to upstream i; false when that failed at once. */
static bool send_udp(fwd_query *q, size_t i)
{
	uv_udp_send_t *req = xmalloc(sizeof *req);
	uv_buf_t b = uv_buf_init(q->packet.p + 2, (unsigned)(q->packet.n - 2));
	int r =
	    uv_udp_send(req, &q->udp, &b, 1, (const struct sockaddr *)&q->f->ups[i], on_udp_sent);
	if (r < 0) {
		free(req);
		log_debug("dns: upstream %zu: send: %s", i, uv_strerror(r));
		return false;
	}
	q->sent |= 1u << i;
	return true;
}

/* Sends to the next upstream in turn (wrapping around), skipping ones that fail at once. */
static void send_next(fwd_query *q)
{
	size_t n = q->f->nups;
	for (size_t k = 0; k < n; k++) {
		size_t i = q->tries++ % n;
		if (send_udp(q, i))
			return;
	}
}

static bool untried_left(const fwd_query *q)
{
	for (size_t i = 0; i < q->f->nups; i++)
		if (!(q->sent & (1u << i)))
			return true;
	return false;
}

/* Whether m answers our question. */
static bool matches(const fwd_query *q, const dns_msg *m)
{
	return (m->flags & DNS_F_QR) && m->id == q->id && m->has_q && m->qtype == q->qtype &&
	       m->qclass == q->qclass && dns_name_eq(&m->qname, &q->qname);
}

static void start_tcp(fwd_query *q, const struct sockaddr *to);

static void on_tick(uv_timer_t *t)
{
	fwd_query *q = t->data;
	uint64_t elapsed = uv_now(q->f->loop) - q->started;
	if (elapsed >= DNS_FORWARD_DEADLINE_MS) {
		log_debug("dns: no upstream answered within %d ms", DNS_FORWARD_DEADLINE_MS);
		finish(q, NULL);
		return;
	}
	if (!q->tcp_init)
		send_next(q);
	uint64_t left = DNS_FORWARD_DEADLINE_MS - elapsed;
	uv_timer_start(&q->timer, on_tick, left < ATTEMPT_MS ? left : ATTEMPT_MS, 0);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	fwd_query *q = h->data;
	UNUSED(suggested);
	*b = uv_buf_init((char *)q->f->rbuf, sizeof q->f->rbuf);
}

static void on_udp_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *b, const struct sockaddr *addr,
                        unsigned flags)
{
	fwd_query *q = h->data;
	UNUSED(flags);
	if (nread <= 0 || !addr || q->done)
		return;
	bool known = false;
	for (size_t i = 0; i < q->f->nups && !known; i++)
		known = (q->sent & (1u << i)) && same_addr(addr, &q->f->ups[i]);
	if (!known)
		return; /* not from an upstream we asked: ignored */
	dns_msg m;
	if (dns_parse((const uint8_t *)b->base, (size_t)nread, &m) < 0)
		return;
	if (!matches(q, &m)) {
		dns_msg_free(&m);
		return;
	}
	if (m.flags & DNS_F_TC) {
		dns_msg_free(&m);
		if (!q->tcp_init)
			start_tcp(q, addr);
		return;
	}
	if ((m.rcode == DNS_R_SERVFAIL || m.rcode == DNS_R_REFUSED) && untried_left(q)) {
		dns_msg_free(&m);
		send_next(q);
		return;
	}
	finish(q, &m);
	dns_msg_free(&m);
}

/* ---------- TCP after a truncated answer ---------- */

static void on_tcp_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
	fwd_query *q = s->data;
	if (q->done)
		return;
	if (nread < 0) {
		finish(q, NULL);
		return;
	}
	buf_add(&q->tcp_in, b->base, (size_t)nread);
	if (q->tcp_in.n < 2)
		return;
	const uint8_t *p = (const uint8_t *)q->tcp_in.p;
	size_t len = (size_t)p[0] << 8 | p[1];
	if (q->tcp_in.n < 2 + len)
		return;
	dns_msg m;
	if (dns_parse(p + 2, len, &m) < 0) {
		finish(q, NULL);
		return;
	}
	finish(q, matches(q, &m) ? &m : NULL);
	dns_msg_free(&m);
}

static void on_tcp_written(uv_write_t *w, int status)
{
	fwd_query *q = w->data;
	if (status < 0)
		finish(q, NULL);
}

static void on_connect(uv_connect_t *c, int status)
{
	fwd_query *q = c->data;
	if (q->done)
		return;
	if (status < 0) {
		log_debug("dns: upstream TCP: %s", uv_strerror(status));
		finish(q, NULL);
		return;
	}
	uv_buf_t b = uv_buf_init(q->packet.p, (unsigned)q->packet.n);
	q->write.data = q;
	if (uv_write(&q->write, (uv_stream_t *)&q->tcp, &b, 1, on_tcp_written) < 0 ||
	    uv_read_start((uv_stream_t *)&q->tcp, on_alloc, on_tcp_read) < 0)
		finish(q, NULL);
}

static void start_tcp(fwd_query *q, const struct sockaddr *to)
{
	uv_tcp_init(q->f->loop, &q->tcp);
	q->tcp.data = q;
	q->tcp_init = true;
	q->connect.data = q;
	if (uv_tcp_connect(&q->connect, &q->tcp, to, on_connect) < 0)
		finish(q, NULL);
}

/* ---------- the forwarder ---------- */

dns_forwarder *dns_forwarder_new(uv_loop_t *loop, const struct sockaddr_storage *ups, size_t n,
                                 dns_cache *cache)
{
	dns_forwarder *f = xcalloc(1, sizeof *f);
	f->loop = loop;
	f->nups = n > DNS_MAX_UPSTREAMS ? DNS_MAX_UPSTREAMS : n;
	memcpy(f->ups, ups, f->nups * sizeof *ups);
	f->cache = cache;
	return f;
}

size_t dns_forward_pending(const dns_forwarder *f)
{
	return f->inflight;
}

static void build_query(fwd_query *q)
{
	dns_msg m = {.id = q->id,
	             .flags = DNS_F_RD,
	             .has_q = true,
	             .qname = q->qname,
	             .qtype = q->qtype,
	             .qclass = q->qclass};
	m.edns.present = true;
	m.edns.udp_size = DNS_EDNS_SIZE;
	buf body = {0};
	dns_encode(&m, DNS_TCP_MAX, &body);
	uint8_t len[2] = {(uint8_t)(body.n >> 8), (uint8_t)body.n};
	buf_add(&q->packet, len, 2);
	buf_add(&q->packet, body.p, body.n);
	buf_free(&body);
}

void dns_forward(dns_forwarder *f, const dns_name *qname, uint16_t qtype, uint16_t qclass,
                 dns_forward_cb cb, void *ud)
{
	if (f->cache) {
		dns_msg hit;
		if (dns_cache_get(f->cache, qname, qtype, qclass, uv_now(f->loop), &hit)) {
			cb(ud, &hit);
			dns_msg_free(&hit);
			return;
		}
	}
	if (!f->nups || f->freeing || f->inflight >= MAX_INFLIGHT) {
		cb(ud, NULL);
		return;
	}
	fwd_query *q = xcalloc(1, sizeof *q);
	q->f = f;
	q->next = f->head;
	if (f->head)
		f->head->prev = q;
	f->head = q;
	f->inflight++;
	q->qname = *qname;
	q->qtype = qtype;
	q->qclass = qclass;
	random_bytes(&q->id, sizeof q->id);
	q->cb = cb;
	q->ud = ud;
	q->started = uv_now(f->loop);
	build_query(q);
	uv_timer_init(f->loop, &q->timer);
	q->timer.data = q;
	uv_udp_init(f->loop, &q->udp);
	q->udp.data = q;
	q->udp_init = true;
	send_next(q); /* binds the socket, in the upstream's family */
	if (uv_udp_recv_start(&q->udp, on_alloc, on_udp_recv) < 0) {
		finish(q, NULL);
		return;
	}
	uv_timer_start(&q->timer, on_tick, ATTEMPT_MS, 0);
}

void dns_forwarder_free(dns_forwarder *f)
{
	if (!f)
		return;
	f->freeing = true;
	for (fwd_query *q = f->head, *next; q; q = next) {
		next = q->next;
		finish(q, NULL);
	}
	if (!f->head) {
		dns_cache_free(f->cache);
		free(f);
	}
}
