/* dns_wire.c — the DNS wire format (RFC 1035, EDNS(0) from RFC 6891): parsing messages from
 * untrusted packets, encoding them with name compression and truncation to a size limit,
 * and name helpers.
 *
 * The parser never trusts a count or a length: every read is bounds-checked, compression
 * pointers must point strictly backwards (so a hostile packet cannot make a loop), names
 * stay within 255 bytes and labels within 63, and names inside the rdata of the classic
 * types are expanded so records can be re-encoded into another packet.
 * Not for: deciding answers (dns_zone.c) or sockets (dns_server.c, dns_forward.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "proxy/dns-internal.h"

/* Record types whose rdata holds domain names: fixed bytes before them, how many names,
 * fixed bytes after; compressible: RFC 1035 types, whose names may be compressed on
 * encode (RFC 3597 §4). Other types are opaque. */
typedef struct rdata_layout {
	uint16_t type;
	uint8_t pre, names, post;
	bool compress;
} rdata_layout;

static const rdata_layout layouts[] = {
    {.type = DNS_T_NS, .names = 1, .compress = true},
    {.type = DNS_T_MD, .names = 1, .compress = true},
    {.type = DNS_T_MF, .names = 1, .compress = true},
    {.type = DNS_T_CNAME, .names = 1, .compress = true},
    {.type = DNS_T_SOA, .names = 2, .post = 20, .compress = true},
    {.type = DNS_T_MB, .names = 1, .compress = true},
    {.type = DNS_T_MG, .names = 1, .compress = true},
    {.type = DNS_T_MR, .names = 1, .compress = true},
    {.type = DNS_T_PTR, .names = 1, .compress = true},
    {.type = DNS_T_MINFO, .names = 2, .compress = true},
    {.type = DNS_T_MX, .pre = 2, .names = 1, .compress = true},
    {.type = DNS_T_RP, .names = 2},
    {.type = DNS_T_AFSDB, .pre = 2, .names = 1},
    {.type = DNS_T_RT, .pre = 2, .names = 1},
    {.type = DNS_T_SRV, .pre = 6, .names = 1}, /* RFC 2782: never compressed */
    {.type = DNS_T_KX, .pre = 2, .names = 1},
    {.type = DNS_T_DNAME, .names = 1},
};

static const rdata_layout *layout_of(uint16_t type)
{
	for (size_t i = 0; i < ARRAY_SIZE(layouts); i++)
		if (layouts[i].type == type)
			return &layouts[i];
	return NULL;
}

static inline uint8_t lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ---------- names ---------- */

/* Reads a possibly compressed name at *off into out and moves *off past it. Each pointer
 * must go strictly below the previous one (and below the name's start), so the walk ends. */
static int read_name(const uint8_t *p, size_t n, size_t *off, dns_name *out)
{
	size_t pos = *off, limit = *off, end = 0;
	bool jumped = false;
	out->len = 0;
	for (;;) {
		if (pos >= n)
			return -1;
		uint8_t c = p[pos];
		if ((c & 0xc0) == 0xc0) {
			if (pos + 1 >= n)
				return -1;
			size_t target = (size_t)(c & 0x3f) << 8 | p[pos + 1];
			if (!jumped)
				end = pos + 2;
			jumped = true;
			if (target >= limit)
				return -1;
			limit = pos = target;
			continue;
		}
		if (c & 0xc0) /* 0x40 and 0x80: extended label types, obsolete */
			return -1;
		if (pos + 1 + c > n || out->len + 1 + c > DNS_MAX_NAME)
			return -1;
		memcpy(out->w + out->len, p + pos, 1 + (size_t)c);
		out->len = (uint8_t)(out->len + 1 + c);
		pos += 1 + (size_t)c;
		if (c == 0)
			break;
	}
	*off = jumped ? end : pos;
	return 0;
}

/* The length of the uncompressed name at p (at most n bytes), or -1. */
static int plain_name_len(const uint8_t *p, size_t n)
{
	size_t i = 0;
	while (i < n && i < DNS_MAX_NAME) {
		uint8_t c = p[i];
		if (c & 0xc0)
			return -1;
		if (c == 0)
			return (int)i + 1;
		i += 1 + (size_t)c;
	}
	return -1;
}

int dns_name_from_text(const char *s, dns_name *out)
{
	size_t n = strlen(s);
	if (n && s[n - 1] == '.')
		n--;
	out->len = 0;
	size_t i = 0;
	while (i < n) {
		const char *dot = memchr(s + i, '.', n - i);
		size_t l = dot ? (size_t)(dot - (s + i)) : n - i;
		if (l == 0 || l > 63 || out->len + 1 + l + 1 > DNS_MAX_NAME)
			return -1;
		out->w[out->len] = (uint8_t)l;
		memcpy(out->w + out->len + 1, s + i, l);
		out->len = (uint8_t)(out->len + 1 + l);
		i += l + 1;
		if (dot && i == n) /* "a..": an empty last label */
			return -1;
	}
	out->w[out->len++] = 0;
	return 0;
}

void dns_name_text(const dns_name *nm, bool low, char out[DNS_NAME_TEXT])
{
	size_t o = 0, i = 0;
	if (nm->len == 0 || nm->w[0] == 0) {
		strcpy(out, ".");
		return;
	}
	while (i < nm->len && nm->w[i] != 0) {
		uint8_t l = nm->w[i];
		if (o)
			out[o++] = '.';
		for (size_t j = 1; j <= l && i + j < nm->len; j++) {
			uint8_t c = nm->w[i + j];
			if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
			    c == '_')
				out[o++] = (char)c;
			else if (c >= 'A' && c <= 'Z')
				out[o++] = (char)(low ? lower(c) : c);
			else if (c == '.' || c == '\\')
				out[o++] = '\\', out[o++] = (char)c;
			else
				o += (size_t)snprintf(out + o, 5, "\\%03u", c);
		}
		i += 1 + (size_t)l;
	}
	out[o] = 0;
}

bool dns_name_eq(const dns_name *a, const dns_name *b)
{
	if (a->len != b->len)
		return false;
	for (size_t i = 0; i < a->len; i++)
		if (lower(a->w[i]) != lower(b->w[i]))
			return false;
	return true;
}

int dns_name_labels(const dns_name *nm)
{
	int k = 0;
	for (size_t i = 0; i < nm->len && nm->w[i]; i += 1 + (size_t)nm->w[i])
		k++;
	return k;
}

/* ---------- records ---------- */

void dns_rrs_add(dns_rrs *s, const dns_name *name, uint16_t type, uint16_t cls, uint32_t ttl,
                 const void *rdata, uint16_t rdlen)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 8;
		s->v = xrealloc(s->v, s->cap * sizeof *s->v);
	}
	dns_rr *r = &s->v[s->n++];
	r->name = *name;
	r->type = type;
	r->cls = cls;
	r->ttl = ttl;
	r->rdlen = rdlen;
	r->rdata = xmalloc(rdlen ? rdlen : 1);
	if (rdlen)
		memcpy(r->rdata, rdata, rdlen);
}

void dns_rrs_free(dns_rrs *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i].rdata);
	free(s->v);
	*s = (dns_rrs){0};
}

void dns_msg_free(dns_msg *m)
{
	dns_rrs_free(&m->an);
	dns_rrs_free(&m->ns);
	dns_rrs_free(&m->ar);
	free(m->edns.opts);
	*m = (dns_msg){0};
}

static void rrs_copy(dns_rrs *dst, const dns_rrs *src)
{
	*dst = (dns_rrs){0};
	for (size_t i = 0; i < src->n; i++) {
		const dns_rr *r = &src->v[i];
		dns_rrs_add(dst, &r->name, r->type, r->cls, r->ttl, r->rdata, r->rdlen);
	}
}

void dns_msg_copy(dns_msg *dst, const dns_msg *src)
{
	*dst = *src;
	rrs_copy(&dst->an, &src->an);
	rrs_copy(&dst->ns, &src->ns);
	rrs_copy(&dst->ar, &src->ar);
	if (src->edns.opts) {
		dst->edns.opts = xmalloc(src->edns.optlen ? src->edns.optlen : 1);
		memcpy(dst->edns.opts, src->edns.opts, src->edns.optlen);
	}
}

/* ---------- parsing ---------- */

/* Reads the rdata of type at p[off, off+rdlen) into out with its names expanded: 0, or 1
 * for a type whose rdata is opaque (the caller copies it), or -1 when malformed. */
static int read_rdata(const uint8_t *p, size_t off, uint16_t rdlen, uint16_t type,
                      uint8_t out[6 + 2 * DNS_MAX_NAME + 20], uint16_t *outlen)
{
	const rdata_layout *l = layout_of(type);
	size_t end = off + rdlen;
	if (!l) {
		*outlen = 0; /* opaque: the caller copies the packet bytes */
		return 1;
	}
	if (rdlen < l->pre)
		return -1;
	size_t o = 0;
	memcpy(out, p + off, l->pre);
	o += l->pre;
	off += l->pre;
	for (int i = 0; i < l->names; i++) {
		dns_name nm;
		/* Bounded by the rdata's end: in-place labels stay inside it, and
		 * pointers (always backwards) reach only earlier bytes. */
		if (read_name(p, end, &off, &nm) < 0)
			return -1;
		memcpy(out + o, nm.w, nm.len);
		o += nm.len;
	}
	if (off + l->post != end)
		return -1;
	memcpy(out + o, p + off, l->post);
	o += l->post;
	*outlen = (uint16_t)o;
	return 0;
}

static int read_section(const uint8_t *p, size_t n, size_t *off, unsigned count, dns_rrs *s,
                        dns_msg *m, bool additional)
{
	uint8_t tmp[6 + 2 * DNS_MAX_NAME + 20];
	for (unsigned i = 0; i < count; i++) {
		dns_name nm;
		if (read_name(p, n, off, &nm) < 0 || *off + 10 > n)
			return -1;
		const uint8_t *h = p + *off;
		uint16_t type = get16(h), cls = get16(h + 2), rdlen = get16(h + 8);
		uint32_t ttl = get32(h + 4);
		*off += 10;
		if (*off + rdlen > n)
			return -1;
		if (type == DNS_T_OPT) {
			/* RFC 6891: one OPT, owned by the root, in the additional section. */
			if (!additional || m->edns.present || nm.len != 1)
				return -1;
			m->edns.present = true;
			m->edns.udp_size = cls;
			m->edns.version = (uint8_t)(ttl >> 16);
			m->edns.do_bit = (ttl & 0x8000) != 0;
			m->rcode = (uint16_t)(m->rcode | (ttl >> 24) << 4);
			m->edns.optlen = rdlen;
			m->edns.opts = xmalloc(rdlen ? rdlen : 1);
			memcpy(m->edns.opts, p + *off, rdlen);
			*off += rdlen;
			continue;
		}
		uint16_t len;
		int r = read_rdata(p, *off, rdlen, type, tmp, &len);
		if (r < 0)
			return -1;
		if (r > 0)
			dns_rrs_add(s, &nm, type, cls, ttl, p + *off, rdlen);
		else
			dns_rrs_add(s, &nm, type, cls, ttl, tmp, len);
		*off += rdlen;
	}
	return 0;
}

int dns_parse(const uint8_t *p, size_t n, dns_msg *m)
{
	*m = (dns_msg){0};
	if (n < DNS_HEADER_LEN)
		return DNS_PARSE_SHORT;
	m->id = get16(p);
	uint16_t fl = get16(p + 2);
	m->flags = fl & 0xfff0;
	m->rcode = fl & 0xf;
	unsigned qd = get16(p + 4), an = get16(p + 6), ns = get16(p + 8), ar = get16(p + 10);
	size_t off = DNS_HEADER_LEN;
	if (qd > 1)
		goto bad;
	if (qd == 1) {
		if (read_name(p, n, &off, &m->qname) < 0 || off + 4 > n)
			goto bad;
		m->qtype = get16(p + off);
		m->qclass = get16(p + off + 2);
		m->has_q = true;
		off += 4;
	}
	if (read_section(p, n, &off, an, &m->an, m, false) < 0 ||
	    read_section(p, n, &off, ns, &m->ns, m, false) < 0 ||
	    read_section(p, n, &off, ar, &m->ar, m, true) < 0)
		goto bad;
	return 0;
bad:;
	uint16_t id = m->id, flags = m->flags;
	dns_msg_free(m);
	m->id = id;
	m->flags = flags;
	return DNS_PARSE_FORMERR;
}

/* ---------- encoding ---------- */

#define MAX_COMPRESS 256

typedef struct enc {
	buf *b;
	uint16_t offs[MAX_COMPRESS]; /* where names (and their suffixes) were written */
	size_t noffs;
} enc;

static void put16(buf *b, uint16_t v)
{
	uint8_t x[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	buf_add(b, x, 2);
}

static void put32(buf *b, uint32_t v)
{
	uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	buf_add(b, x, 4);
}

/* Whether the name written at pkt[off] (following our own backward pointers) equals the
 * uncompressed labels s, ignoring case. */
static bool name_at_eq(const uint8_t *pkt, size_t off, const uint8_t *s)
{
	for (;;) {
		uint8_t c = pkt[off];
		if ((c & 0xc0) == 0xc0) {
			off = (size_t)(c & 0x3f) << 8 | pkt[off + 1];
			continue;
		}
		if (c != *s)
			return false;
		if (c == 0)
			return true;
		for (size_t j = 1; j <= c; j++)
			if (lower(pkt[off + j]) != lower(s[j]))
				return false;
		off += 1 + (size_t)c;
		s += 1 + (size_t)c;
	}
}

/* Writes the uncompressed name w, as a pointer to an earlier copy of its longest suffix
 * when compress, and remembers where its labels went for later names. */
static void write_name(enc *e, const uint8_t *w, bool compress)
{
	size_t i = 0, known = e->noffs; /* never point into the name being written */
	while (w[i] != 0) {
		if (compress) {
			for (size_t k = 0; k < known; k++) {
				if (name_at_eq((const uint8_t *)e->b->p, e->offs[k], w + i)) {
					put16(e->b, (uint16_t)(0xc000 | e->offs[k]));
					return;
				}
			}
		}
		if (e->b->n < 0x3fff && e->noffs < MAX_COMPRESS)
			e->offs[e->noffs++] = (uint16_t)e->b->n;
		buf_add(e->b, w + i, 1 + (size_t)w[i]);
		i += 1 + (size_t)w[i];
	}
	buf_putc(e->b, 0);
}

/* Whether rdata matches its type's layout (records built in-process are not trusted). */
static bool layout_ok(const rdata_layout *l, const uint8_t *rd, size_t n)
{
	size_t o = l->pre;
	if (n < o)
		return false;
	for (int i = 0; i < l->names; i++) {
		int k = plain_name_len(rd + o, n - o);
		if (k < 0)
			return false;
		o += (size_t)k;
	}
	return o + l->post == n;
}

static void write_rr(enc *e, const dns_rr *r)
{
	buf *b = e->b;
	write_name(e, r->name.w, true);
	put16(b, r->type);
	put16(b, r->cls);
	put32(b, r->ttl);
	size_t at = b->n;
	put16(b, 0);
	const rdata_layout *l = layout_of(r->type);
	if (l && layout_ok(l, r->rdata, r->rdlen)) {
		size_t o = l->pre;
		buf_add(b, r->rdata, l->pre);
		for (int i = 0; i < l->names; i++) {
			write_name(e, r->rdata + o, l->compress);
			o += (size_t)plain_name_len(r->rdata + o, r->rdlen - o);
		}
		buf_add(b, r->rdata + o, l->post);
	} else {
		buf_add(b, r->rdata, r->rdlen);
	}
	size_t len = b->n - at - 2;
	b->p[at] = (char)(len >> 8);
	b->p[at + 1] = (char)len;
}

static void write_opt(buf *b, const dns_msg *m)
{
	buf_putc(b, 0);
	put16(b, DNS_T_OPT);
	put16(b, m->edns.udp_size);
	put32(b, (uint32_t)(m->rcode >> 4 & 0xff) << 24 | (uint32_t)m->edns.version << 16 |
	             (m->edns.do_bit ? 0x8000u : 0));
	put16(b, m->edns.optlen);
	buf_add(b, m->edns.opts, m->edns.optlen);
}

static void set_counts(buf *b, uint16_t flags, const uint16_t c[4])
{
	uint8_t *h = (uint8_t *)b->p;
	h[2] = (uint8_t)(flags >> 8);
	h[3] = (uint8_t)flags;
	for (int i = 0; i < 4; i++) {
		h[4 + 2 * i] = (uint8_t)(c[i] >> 8);
		h[5 + 2 * i] = (uint8_t)c[i];
	}
}

void dns_encode(const dns_msg *m, size_t limit, buf *out)
{
	buf_reset(out);
	enc e = {.b = out};
	uint16_t flags = (uint16_t)((m->flags & 0xfff0) | (m->rcode & 0xf));
	put16(out, m->id);
	buf_add(out, "\0\0\0\0\0\0\0\0\0\0", 10);
	uint16_t counts[4] = {m->has_q ? 1 : 0, 0, 0, 0};
	if (m->has_q) {
		write_name(&e, m->qname.w, true);
		put16(out, m->qtype);
		put16(out, m->qclass);
	}
	size_t optlen = m->edns.present ? 11u + m->edns.optlen : 0;
	size_t nan = m->an.n > 0xffff ? 0xffff : m->an.n;
	size_t *ends = xmalloc((nan + 1) * sizeof *ends);
	ends[0] = out->n;
	for (size_t i = 0; i < nan; i++) {
		write_rr(&e, &m->an.v[i]);
		ends[i + 1] = out->n;
	}
	counts[1] = (uint16_t)nan;
	size_t an_end = out->n, ns_end = an_end;
	const dns_rrs *rest[2] = {&m->ns, &m->ar};
	for (int s = 0; s < 2; s++) {
		size_t k = rest[s]->n > 0xfffe ? 0xfffe : rest[s]->n;
		for (size_t i = 0; i < k; i++)
			write_rr(&e, &rest[s]->v[i]);
		counts[2 + s] = (uint16_t)k;
		if (s == 0)
			ns_end = out->n;
	}
	if (out->n + optlen > limit) {
		/* The additional section goes first (it is optional data, no TC); then the
		 * authority section and answers from the end, with TC set. */
		counts[3] = 0;
		if (ns_end + optlen <= limit) {
			out->n = ns_end;
		} else {
			size_t cut = 0;
			for (size_t k = nan + 1; k-- > 0;) {
				if (ends[k] + optlen <= limit) {
					cut = k;
					break;
				}
			}
			out->n = ends[cut];
			counts[1] = (uint16_t)cut;
			counts[2] = 0;
			flags |= DNS_F_TC;
		}
		out->p[out->n] = 0;
	}
	free(ends);
	if (m->edns.present) {
		write_opt(out, m);
		counts[3]++;
	}
	set_counts(out, flags, counts);
}
