/* dns_server.c — the DNS server's sockets and the life of one query: UDP datagrams and TCP
 * streams (RFC 7766: two-byte length prefix, pipelining, answers in any order, idle
 * timeout), the checks every query passes (opcode, EDNS version, one question), the answer
 * from the cluster zone or from upstream, and the response fitted to the client's limit
 * (512 bytes over UDP without EDNS, the advertised size with it, TC when cut).
 * Not for: the wire format (dns_wire.c), the zone (dns_zone.c), upstreams (dns_forward.c).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "proxy/dns-internal.h"

#define MAX_CONNS        256
#define TCP_IDLE_MS      10000
#define TCP_MAX_PIPELINE 32
#define CACHE_ENTRIES    4096
#define BIND_TRIES       16

typedef struct tconn tconn;

struct dns_server {
	uv_loop_t *loop;
	dns_zone *zone;
	dns_forwarder *fwd;
	uv_udp_t udp;
	uv_tcp_t tcp;
	int port;
	int open; /* the two listening handles until closed */
	tconn *conns;
	size_t nconns;
	bool stopping;
	uint8_t rbuf[65536];
};

struct tconn {
	dns_server *s;
	tconn *prev, *next;
	uv_tcp_t h;
	uv_timer_t idle;
	buf in;
	int open;        /* handles not yet closed */
	size_t inflight; /* queries not yet answered */
	bool closing, paused;
};

typedef struct dns_req {
	dns_server *s;
	tconn *conn; /* NULL: UDP */
	struct sockaddr_storage peer;
	size_t limit;
	dns_msg q, r;
	bool chasing;
} dns_req;

static void server_maybe_free(dns_server *s)
{
	if (s->stopping && s->open == 0 && !s->conns) {
		dns_forwarder_free(s->fwd);
		free(s);
	}
}

/* ---------- TCP connections ---------- */

static void conn_maybe_free(tconn *c)
{
	if (c->open || c->inflight)
		return;
	dns_server *s = c->s;
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->nconns--;
	buf_free(&c->in);
	free(c);
	server_maybe_free(s);
}

static void on_conn_closed(uv_handle_t *h)
{
	tconn *c = h->data;
	c->open--;
	conn_maybe_free(c);
}

static void conn_close(tconn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	uv_close((uv_handle_t *)&c->h, on_conn_closed);
	uv_close((uv_handle_t *)&c->idle, on_conn_closed);
}

/* ---------- sending ---------- */

typedef struct usend {
	uv_udp_send_t req;
	uv_write_t wr;
	size_t n;
	char data[];
} usend;

static void on_udp_sent(uv_udp_send_t *req, int status)
{
	UNUSED(status);
	free(req->data);
}

static void on_tcp_sent(uv_write_t *w, int status)
{
	usend *u = w->data;
	tconn *c = u->req.data;
	if (status < 0 && !c->closing)
		conn_close(c);
	free(u);
}

static void send_bytes(dns_req *q, const buf *out)
{
	dns_server *s = q->s;
	if (s->stopping)
		return;
	if (!q->conn) {
		usend *u = xmalloc(sizeof *u + out->n);
		memcpy(u->data, out->p, out->n);
		u->req.data = u;
		uv_buf_t b = uv_buf_init(u->data, (unsigned)out->n);
		if (uv_udp_send(&u->req, &s->udp, &b, 1, (const struct sockaddr *)&q->peer,
		                on_udp_sent) < 0)
			free(u);
		return;
	}
	tconn *c = q->conn;
	if (c->closing)
		return;
	usend *u = xmalloc(sizeof *u + out->n + 2);
	u->data[0] = (char)(out->n >> 8);
	u->data[1] = (char)out->n;
	memcpy(u->data + 2, out->p, out->n);
	u->wr.data = u;
	u->req.data = c;
	uv_buf_t b = uv_buf_init(u->data, (unsigned)out->n + 2);
	if (uv_write(&u->wr, (uv_stream_t *)&c->h, &b, 1, on_tcp_sent) < 0) {
		free(u);
		conn_close(c);
	}
}

static void process_frames(tconn *c);
static void on_tcp_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *b);
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b);

/* Sends r and ends the request. */
static void reply(dns_req *q)
{
	_cleanup_buf_ buf out = {0};
	dns_encode(&q->r, q->limit, &out);
	send_bytes(q, &out);
	tconn *c = q->conn;
	dns_msg_free(&q->q);
	dns_msg_free(&q->r);
	free(q);
	if (!c)
		return;
	c->inflight--;
	if (c->closing) {
		conn_maybe_free(c);
	} else if (c->paused && c->inflight < TCP_MAX_PIPELINE) {
		c->paused = false;
		uv_read_start((uv_stream_t *)&c->h, on_alloc, on_tcp_read);
		process_frames(c);
	}
}

/* ---------- one query ---------- */

static void on_upstream(void *ud, const dns_msg *a)
{
	dns_req *q = ud;
	if (!a) {
		q->r.rcode = DNS_R_SERVFAIL;
		reply(q);
		return;
	}
	q->r.rcode = a->rcode & 0xf;
	if (!q->chasing) {
		q->r.flags &= (uint16_t)~DNS_F_AA;
		dns_rrs_free(&q->r.an);
	}
	/* A chased CNAME keeps our records and adds the upstream's; its rcode is that of the
	 * last name (RFC 6604). */
	dns_rrs_free(&q->r.ns);
	dns_rrs_free(&q->r.ar);
	for (size_t i = 0; i < a->an.n; i++)
		dns_rrs_add(&q->r.an, &a->an.v[i].name, a->an.v[i].type, a->an.v[i].cls,
		            a->an.v[i].ttl, a->an.v[i].rdata, a->an.v[i].rdlen);
	const dns_rrs *secs[2] = {&a->ns, &a->ar};
	dns_rrs *mine[2] = {&q->r.ns, &q->r.ar};
	for (int k = 0; k < 2; k++)
		for (size_t i = 0; i < secs[k]->n; i++)
			dns_rrs_add(mine[k], &secs[k]->v[i].name, secs[k]->v[i].type,
			            secs[k]->v[i].cls, secs[k]->v[i].ttl, secs[k]->v[i].rdata,
			            secs[k]->v[i].rdlen);
	reply(q);
}

/* The rcode a query gets before any lookup, or -1 when it is a fair question. */
static int precheck(const dns_msg *m)
{
	if (DNS_OPCODE(m->flags) != 0)
		return DNS_R_NOTIMP;
	if (!m->has_q || m->qtype == DNS_T_OPT)
		return DNS_R_FORMERR;
	if (m->edns.present && m->edns.version > 0)
		return DNS_R_BADVERS; /* RFC 6891 §6.1.3 */
	if (m->qtype == DNS_T_AXFR || m->qtype == DNS_T_IXFR)
		return DNS_R_REFUSED; /* no zone transfers */
	return -1;
}

static void answer(dns_req *q)
{
	dns_msg *m = &q->q, *r = &q->r;
	int rc = precheck(m);
	if (rc >= 0) {
		r->rcode = (uint16_t)rc;
		if (rc == DNS_R_NOTIMP)
			r->has_q = false;
		reply(q);
		return;
	}
	dns_name chase;
	switch (dns_zone_answer(q->s->zone, m, r, &chase)) {
	case DNS_ZONE_ANSWERED:
		reply(q);
		break;
	case DNS_ZONE_CHASE:
		q->chasing = true;
		dns_forward(q->s->fwd, &chase, m->qtype, m->qclass, on_upstream, q);
		break;
	default:
		dns_forward(q->s->fwd, &m->qname, m->qtype, m->qclass, on_upstream, q);
		break;
	}
}

/* Handles one query packet from UDP (conn NULL, peer set) or TCP. */
static void handle(dns_server *s, const uint8_t *p, size_t n, tconn *c, const struct sockaddr *peer)
{
	dns_req *q = xcalloc(1, sizeof *q);
	int rc = dns_parse(p, n, &q->q);
	/* Too short to answer, or itself an answer (never reply to those: no loops). */
	if (rc == DNS_PARSE_SHORT || (q->q.flags & DNS_F_QR)) {
		dns_msg_free(&q->q);
		free(q);
		return;
	}
	q->s = s;
	q->conn = c;
	if (peer)
		memcpy(&q->peer, peer,
		       peer->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
		                                   : sizeof(struct sockaddr_in));
	dns_msg *m = &q->q, *r = &q->r;
	r->id = m->id;
	r->flags = (uint16_t)(DNS_F_QR | DNS_F_RA | (m->flags & (0x7800 | DNS_F_RD | DNS_F_CD)));
	r->has_q = m->has_q;
	r->qname = m->qname;
	r->qtype = m->qtype;
	r->qclass = m->qclass;
	/* k8s/RFC 1035: 512 bytes over UDP unless the client's OPT offers more; we keep to
	 * DNS_EDNS_SIZE (no IP fragmentation). TCP carries up to 64 KiB. */
	q->limit = c ? DNS_TCP_MAX : DNS_UDP_MIN;
	if (m->edns.present) {
		r->edns.present = true;
		r->edns.udp_size = DNS_EDNS_SIZE;
		if (!c && m->edns.udp_size > DNS_UDP_MIN)
			q->limit =
			    m->edns.udp_size < DNS_EDNS_SIZE ? m->edns.udp_size : DNS_EDNS_SIZE;
	}
	if (c)
		c->inflight++;
	if (rc < 0) {
		r->rcode = DNS_R_FORMERR;
		r->has_q = false;
		reply(q);
		return;
	}
	answer(q);
}

/* ---------- UDP ---------- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	dns_server *s = h->data;
	UNUSED(suggested);
	*b = uv_buf_init((char *)s->rbuf, sizeof s->rbuf);
}

static void on_conn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	tconn *c = h->data;
	on_alloc((uv_handle_t *)&c->s->udp, suggested, b);
}

static void on_udp_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *b, const struct sockaddr *addr,
                        unsigned flags)
{
	dns_server *s = h->data;
	if (nread <= 0 || !addr || (flags & UV_UDP_PARTIAL) || s->stopping)
		return;
	handle(s, (const uint8_t *)b->base, (size_t)nread, NULL, addr);
}

/* ---------- TCP ---------- */

static void process_frames(tconn *c)
{
	size_t off = 0;
	while (!c->closing && c->in.n - off >= 2) {
		const uint8_t *p = (const uint8_t *)c->in.p + off;
		size_t len = (size_t)p[0] << 8 | p[1];
		if (c->in.n - off < 2 + len)
			break;
		if (c->inflight >= TCP_MAX_PIPELINE) {
			c->paused = true;
			uv_read_stop((uv_stream_t *)&c->h);
			break;
		}
		off += 2 + len;
		handle(c->s, p + 2, len, c, NULL);
	}
	if (off) {
		memmove(c->in.p, c->in.p + off, c->in.n - off);
		c->in.n -= off;
	}
}

static void on_tcp_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *b)
{
	tconn *c = st->data;
	if (nread < 0) {
		conn_close(c);
		return;
	}
	if (nread == 0)
		return;
	buf_add(&c->in, b->base, (size_t)nread);
	uv_timer_again(&c->idle);
	process_frames(c);
}

static void on_idle(uv_timer_t *t)
{
	tconn *c = t->data;
	if (c->inflight == 0)
		conn_close(c); /* RFC 7766 §6.2.3: idle connections are closed by the server */
}

static void on_connection(uv_stream_t *lst, int status)
{
	dns_server *s = lst->data;
	if (status < 0 || s->stopping)
		return;
	tconn *c = xcalloc(1, sizeof *c);
	c->s = s;
	uv_tcp_init(s->loop, &c->h);
	uv_timer_init(s->loop, &c->idle);
	c->h.data = c->idle.data = c;
	c->open = 2;
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->nconns++;
	if (uv_accept(lst, (uv_stream_t *)&c->h) < 0 || s->nconns > MAX_CONNS) {
		conn_close(c);
		return;
	}
	uv_timer_start(&c->idle, on_idle, TCP_IDLE_MS, TCP_IDLE_MS);
	uv_read_start((uv_stream_t *)&c->h, on_conn_alloc, on_tcp_read);
}

/* ---------- start and stop ---------- */

/* Binds a UDP and a TCP socket to the same address (and, for port 0, the same free port). */
static int bind_pair(struct sockaddr_storage *addr, int *ufd, int *tfd)
{
	socklen_t len =
	    addr->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	in_port_t *port = addr->ss_family == AF_INET6 ? &((struct sockaddr_in6 *)addr)->sin6_port
	                                              : &((struct sockaddr_in *)addr)->sin_port;
	bool any = *port == 0;
	int err = 0;
	for (int i = 0; i < BIND_TRIES; i++) {
		if (any)
			*port = 0;
		int u = socket(addr->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		int t = socket(addr->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		int one = 1;
		if (u < 0 || t < 0)
			err = errno;
		else if (bind(u, (struct sockaddr *)addr, len) < 0)
			err = errno;
		else if (getsockname(u, (struct sockaddr *)addr, &len) < 0)
			err = errno;
		else if (setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
		         bind(t, (struct sockaddr *)addr, len) < 0)
			err = errno;
		else {
			*ufd = u;
			*tfd = t;
			return 0;
		}
		if (u >= 0)
			close(u);
		if (t >= 0)
			close(t);
		if (!any || err != EADDRINUSE)
			break;
	}
	return -err;
}

static size_t upstreams(const dns_config *cfg, const struct sockaddr_storage *self,
                        struct sockaddr_storage *ups, terr **err)
{
	if (cfg->upstream && strcmp(cfg->upstream, "none") == 0)
		return 0;
	if (cfg->upstream && *cfg->upstream) {
		int n = dns_upstreams_parse(cfg->upstream, ups, DNS_MAX_UPSTREAMS);
		if (n < 0) {
			terr_bad_request(err, "dns: bad upstream list %s", cfg->upstream);
			return (size_t)-1;
		}
		return (size_t)n;
	}
	const char *path = cfg->resolv_conf ? cfg->resolv_conf : "/etc/resolv.conf";
	int n = dns_upstreams_resolv_conf(path, ups, DNS_MAX_UPSTREAMS);
	/* Never forward to ourselves (a node whose resolv.conf names the cluster DNS). */
	size_t k = 0;
	for (int i = 0; i < n; i++) {
		struct sockaddr_storage a = ups[i];
		bool self_addr = a.ss_family == self->ss_family &&
		                 memcmp(&a, self,
		                        a.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
		                                                : sizeof(struct sockaddr_in)) == 0;
		if (!self_addr)
			ups[k++] = a;
	}
	return k;
}

dns_server *dns_server_start(uv_loop_t *loop, const dns_config *cfg, dns_zone *zone, terr **err)
{
	struct sockaddr_storage addr, ups[DNS_MAX_UPSTREAMS];
	if (!cfg->listen || dns_listen_addr_parse(cfg->listen, &addr) < 0) {
		terr_bad_request(err, "dns: bad listen address %s", cfg->listen ? cfg->listen : "");
		return NULL;
	}
	int ufd = -1, tfd = -1;
	int r = bind_pair(&addr, &ufd, &tfd);
	if (r < 0) {
		terr_internal(err, "dns: bind %s: %s", cfg->listen, strerror(-r));
		return NULL;
	}
	size_t nups = upstreams(cfg, &addr, ups, err);
	if (nups == (size_t)-1) {
		close(ufd);
		close(tfd);
		return NULL;
	}
	dns_server *s = xcalloc(1, sizeof *s);
	s->loop = loop;
	s->zone = zone;
	s->fwd = dns_forwarder_new(loop, ups, nups, dns_cache_new(CACHE_ENTRIES));
	s->port = ntohs(addr.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&addr)->sin6_port
	                                           : ((struct sockaddr_in *)&addr)->sin_port);
	uv_udp_init(loop, &s->udp);
	uv_tcp_init(loop, &s->tcp);
	s->udp.data = s->tcp.data = s;
	s->open = 2;
	if ((r = uv_udp_open(&s->udp, ufd)) < 0 || (r = uv_tcp_open(&s->tcp, tfd)) < 0 ||
	    (r = uv_listen((uv_stream_t *)&s->tcp, 128, on_connection)) < 0 ||
	    (r = uv_udp_recv_start(&s->udp, on_alloc, on_udp_recv)) < 0) {
		terr_internal(err, "dns: listen %s: %s", cfg->listen, uv_strerror(r));
		dns_server_stop(s); /* closes the descriptors with the handles */
		return NULL;
	}
	log_info("dns: serving %s on %s (udp+tcp port %d), %zu upstream(s)", dns_zone_domain(zone),
	         cfg->listen, s->port, nups);
	return s;
}

int dns_server_port(const dns_server *s)
{
	return s->port;
}

static void on_listener_closed(uv_handle_t *h)
{
	dns_server *s = h->data;
	s->open--;
	server_maybe_free(s);
}

void dns_server_stop(dns_server *s)
{
	if (!s || s->stopping)
		return;
	s->stopping = true;
	for (tconn *c = s->conns; c; c = c->next)
		conn_close(c);
	/* Queries waiting on upstreams end now (their callbacks see stopping). */
	dns_forwarder_free(s->fwd);
	s->fwd = NULL;
	uv_close((uv_handle_t *)&s->udp, on_listener_closed);
	uv_close((uv_handle_t *)&s->tcp, on_listener_closed);
}
