/* spdy.c — SPDY/3.1 frames, zlib header blocks and the session that turns a connection's
 * bytes into stream events (see spdy.h). Pure code: no sockets, no loop. */
#include "base/spdy.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "base/util.h"

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(buf *b, uint32_t v)
{
	uint8_t p[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	buf_add(b, p, 4);
}

/* ---------- frames ---------- */

ssize_t spdy_frame_decode(const uint8_t *d, size_t n, size_t max, spdy_frame *f)
{
	if (n < 8)
		return 0;
	memset(f, 0, sizeof *f);
	f->flags = d[4];
	size_t len = (size_t)d[5] << 16 | (size_t)d[6] << 8 | d[7];
	if (len > max)
		return -1;
	if (n < 8 + len)
		return 0;
	const uint8_t *p = d + 8;
	f->len = len;
	f->payload = p;
	if (!(d[0] & 0x80)) {
		f->stream_id = get32(d) & 0x7fffffff;
		if (f->stream_id == 0)
			return -1;
		return (ssize_t)(8 + len);
	}
	f->control = true;
	if (((d[0] & 0x7f) << 8 | d[1]) != SPDY_VERSION)
		return -1;
	f->type = d[2] << 8 | d[3];
	switch (f->type) {
	case SPDY_SYN_STREAM:
		if (len < 10)
			return -1;
		f->stream_id = get32(p) & 0x7fffffff;
		f->assoc_id = get32(p + 4) & 0x7fffffff;
		f->priority = p[8] >> 5;
		f->payload = p + 10;
		f->len = len - 10;
		break;
	case SPDY_SYN_REPLY:
	case SPDY_HEADERS:
		if (len < 4)
			return -1;
		f->stream_id = get32(p) & 0x7fffffff;
		f->payload = p + 4;
		f->len = len - 4;
		break;
	case SPDY_RST_STREAM:
		if (len != 8 || f->flags)
			return -1;
		f->stream_id = get32(p) & 0x7fffffff;
		f->value = get32(p + 4);
		if (f->value == 0)
			return -1;
		break;
	case SPDY_SETTINGS:
		if (len < 4)
			return -1;
		f->n_settings = get32(p);
		if (f->n_settings > (len - 4) / 8 || 4 + (size_t)f->n_settings * 8 != len)
			return -1;
		f->payload = p + 4;
		f->len = len - 4;
		return (ssize_t)(8 + len);
	case SPDY_PING:
		if (len != 4 || f->flags)
			return -1;
		f->value = get32(p);
		return (ssize_t)(8 + len);
	case SPDY_GOAWAY:
		if (len != 8 || f->flags)
			return -1;
		f->stream_id = get32(p) & 0x7fffffff;
		f->value = get32(p + 4);
		return (ssize_t)(8 + len);
	case SPDY_WINDOW_UPDATE:
		if (len != 8 || f->flags)
			return -1;
		/* SPDY/3.1: stream 0 is the connection's window. */
		f->stream_id = get32(p) & 0x7fffffff;
		f->value = get32(p + 4) & 0x7fffffff;
		if (f->value == 0)
			return -1;
		return (ssize_t)(8 + len);
	default:
		/* Unknown control types are skipped (the draft: receivers ignore them). */
		return (ssize_t)(8 + len);
	}
	if (f->stream_id == 0)
		return -1;
	return (ssize_t)(8 + len);
}

static void put_header(buf *out, bool control, uint32_t first, uint8_t flags, size_t len)
{
	put32(out, control ? 0x80000000u | (uint32_t)SPDY_VERSION << 16 | first : first & 0x7fffffff);
	put32(out, (uint32_t)flags << 24 | (uint32_t)len);
}

void spdy_put_data(buf *out, uint32_t stream_id, uint8_t flags, const void *data, size_t len)
{
	put_header(out, false, stream_id, flags, len);
	buf_add(out, data, len);
}

void spdy_put_control(buf *out, int type, uint8_t flags, const void *payload, size_t len)
{
	put_header(out, true, (uint32_t)type, flags, len);
	buf_add(out, payload, len);
}

void spdy_put_rst(buf *out, uint32_t stream_id, uint32_t status)
{
	put_header(out, true, SPDY_RST_STREAM, 0, 8);
	put32(out, stream_id & 0x7fffffff);
	put32(out, status);
}

void spdy_put_ping(buf *out, uint32_t id)
{
	put_header(out, true, SPDY_PING, 0, 4);
	put32(out, id);
}

void spdy_put_goaway(buf *out, uint32_t last_good, uint32_t status)
{
	put_header(out, true, SPDY_GOAWAY, 0, 8);
	put32(out, last_good & 0x7fffffff);
	put32(out, status);
}

void spdy_put_window_update(buf *out, uint32_t stream_id, uint32_t delta)
{
	put_header(out, true, SPDY_WINDOW_UPDATE, 0, 8);
	put32(out, stream_id & 0x7fffffff);
	put32(out, delta & 0x7fffffff);
}

void spdy_put_settings(buf *out, const uint32_t *ids, const uint32_t *values, size_t n)
{
	put_header(out, true, SPDY_SETTINGS, 0, 4 + 8 * n);
	put32(out, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		put32(out, ids[i] & 0xffffff);
		put32(out, values[i]);
	}
}

/* ---------- the dictionary ---------- */

/* The SPDY/3 draft's zlib dictionary, section 2.6.10.1: these names, each after its 4-byte
 * big-endian length, then the bare text below. */
static const char *const dict_words[] = {
	"options", "head", "post", "put", "delete", "trace", "accept", "accept-charset",
	"accept-encoding", "accept-language", "accept-ranges", "age", "allow", "authorization",
	"cache-control", "connection", "content-base", "content-encoding", "content-language",
	"content-length", "content-location", "content-md5", "content-range", "content-type",
	"date", "etag", "expect", "expires", "from", "host", "if-match", "if-modified-since",
	"if-none-match", "if-range", "if-unmodified-since", "last-modified", "location",
	"max-forwards", "pragma", "proxy-authenticate", "proxy-authorization", "range",
	"referer", "retry-after", "server", "te", "trailer", "transfer-encoding", "upgrade",
	"user-agent", "vary", "via", "warning", "www-authenticate", "method", "get", "status",
	"200 OK", "version", "HTTP/1.1", "url", "public", "set-cookie", "keep-alive", "origin",
};
static const char dict_tail[] =
	"100101201202205206300302303304305306307402405406407408409410411412413414415416417"
	"502504505203 Non-Authoritative Information204 No Content301 Moved Permanently"
	"400 Bad Request401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error"
	"501 Not Implemented503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct "
	"Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,"
	"image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,text/javascript,"
	"publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.";

static buf dict;
static pthread_once_t dict_once = PTHREAD_ONCE_INIT;

static void dict_build(void)
{
	for (size_t i = 0; i < sizeof dict_words / sizeof *dict_words; i++) {
		put32(&dict, (uint32_t)strlen(dict_words[i]));
		buf_puts(&dict, dict_words[i]);
	}
	buf_add(&dict, dict_tail, sizeof dict_tail - 1);
}

const uint8_t *spdy_dictionary(size_t *len)
{
	pthread_once(&dict_once, dict_build);
	*len = dict.n;
	return (const uint8_t *)dict.p;
}

/* ---------- header blocks ---------- */

struct spdy_zlib {
	z_stream z;
	bool compress;
	bool broken;
};

spdy_zlib *spdy_zlib_new(bool compress)
{
	spdy_zlib *z = xcalloc(1, sizeof *z);
	z->compress = compress;
	size_t dn;
	const uint8_t *d = spdy_dictionary(&dn);
	if (compress) {
		if (deflateInit(&z->z, Z_DEFAULT_COMPRESSION) != Z_OK ||
		    deflateSetDictionary(&z->z, d, (uInt)dn) != Z_OK)
			abort();
	} else if (inflateInit(&z->z) != Z_OK) {
		abort();
	}
	return z;
}

void spdy_zlib_free(spdy_zlib *z)
{
	if (!z)
		return;
	if (z->compress)
		deflateEnd(&z->z);
	else
		inflateEnd(&z->z);
	free(z);
}

void spdy_headers_encode(spdy_zlib *z, const char *const *pairs, size_t n, buf *out)
{
	buf raw = {0};
	put32(&raw, (uint32_t)n);
	for (size_t i = 0; i < 2 * n; i++) {
		put32(&raw, (uint32_t)strlen(pairs[i]));
		buf_puts(&raw, pairs[i]);
	}
	z->z.next_in = (Bytef *)raw.p;
	z->z.avail_in = (uInt)raw.n;
	uint8_t chunk[4096];
	do {
		z->z.next_out = chunk;
		z->z.avail_out = sizeof chunk;
		if (deflate(&z->z, Z_SYNC_FLUSH) == Z_STREAM_ERROR)
			abort();
		buf_add(out, chunk, sizeof chunk - z->z.avail_out);
	} while (z->z.avail_out == 0);
	buf_free(&raw);
}

const char *spdy_headers_get(const spdy_headers *h, const char *name)
{
	for (size_t i = 0; i < h->n; i++)
		if (strcmp(h->v[i].name, name) == 0)
			return h->v[i].value;
	return NULL;
}

void spdy_headers_free(spdy_headers *h)
{
	for (size_t i = 0; i < h->n; i++) {
		free(h->v[i].name);
		free(h->v[i].value);
	}
	free(h->v);
	h->v = NULL;
	h->n = 0;
}

static int inflate_block(spdy_zlib *z, const uint8_t *data, size_t len, buf *out, terr **err)
{
	z->z.next_in = (Bytef *)data;
	z->z.avail_in = (uInt)len;
	uint8_t chunk[4096];
	while (z->z.avail_in > 0) {
		z->z.next_out = chunk;
		z->z.avail_out = sizeof chunk;
		int rc = inflate(&z->z, Z_SYNC_FLUSH);
		if (rc == Z_NEED_DICT) {
			size_t dn;
			const uint8_t *d = spdy_dictionary(&dn);
			if (inflateSetDictionary(&z->z, d, (uInt)dn) != Z_OK)
				return terr_bad_request(err, "header block compressed with another dictionary");
			continue;
		}
		if (rc != Z_OK && rc != Z_BUF_ERROR)
			return terr_bad_request(err, "corrupt header block (zlib %d)", rc);
		buf_add(out, chunk, sizeof chunk - z->z.avail_out);
		if (out->n > SPDY_MAX_HEADERS)
			return terr_bad_request(err, "header block over %u bytes", SPDY_MAX_HEADERS);
		if (rc == Z_BUF_ERROR && z->z.avail_out != 0)
			return terr_bad_request(err, "corrupt header block");
	}
	/* Output still held inside zlib (a full last chunk). */
	for (;;) {
		z->z.next_out = chunk;
		z->z.avail_out = sizeof chunk;
		int rc = inflate(&z->z, Z_SYNC_FLUSH);
		if (rc != Z_OK && rc != Z_BUF_ERROR)
			return terr_bad_request(err, "corrupt header block (zlib %d)", rc);
		buf_add(out, chunk, sizeof chunk - z->z.avail_out);
		if (out->n > SPDY_MAX_HEADERS)
			return terr_bad_request(err, "header block over %u bytes", SPDY_MAX_HEADERS);
		if (z->z.avail_out != 0)
			return 0;
	}
}

int spdy_headers_decode(spdy_zlib *z, const uint8_t *data, size_t len, spdy_headers *out,
                        terr **err)
{
	memset(out, 0, sizeof *out);
	if (z->broken)
		return terr_bad_request(err, "header compression state is broken");
	buf raw = {0};
	if (inflate_block(z, data, len, &raw, err) < 0) {
		z->broken = true;
		buf_free(&raw);
		return -1;
	}
	const uint8_t *p = (const uint8_t *)raw.p, *end = p + raw.n;
	if (end - p < 4) {
		buf_free(&raw);
		return terr_bad_request(err, "header block too short");
	}
	uint32_t n = get32(p);
	p += 4;
	if (n > (size_t)(end - p) / 8) {
		buf_free(&raw);
		return terr_bad_request(err, "header block claims %u pairs", n);
	}
	out->v = xcalloc(n ? n : 1, sizeof *out->v);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t l;
		if (end - p < 4 || (l = get32(p)) > (size_t)(end - p) - 4 || l == 0)
			goto bad;
		const uint8_t *name = p + 4;
		for (uint32_t k = 0; k < l; k++)
			if (name[k] == 0 || (name[k] >= 'A' && name[k] <= 'Z'))
				goto bad;
		p += 4 + l;
		uint32_t vl;
		if (end - p < 4 || (vl = get32(p)) > (size_t)(end - p) - 4)
			goto bad;
		spdy_header *h = &out->v[out->n++];
		h->name = xstrndup((const char *)name, l);
		h->value = xmalloc(vl + 1);
		memcpy(h->value, p + 4, vl);
		h->value[vl] = 0;
		h->value_len = vl;
		p += 4 + vl;
	}
	if (p != end)
		goto bad;
	buf_free(&raw);
	return 0;
bad:
	buf_free(&raw);
	spdy_headers_free(out);
	return terr_bad_request(err, "malformed header block");
}

/* ---------- the session ---------- */

#define SESSION_MAX_FRAME (4u << 20) /* spdystream writes a DATA frame per Write (32 KiB) */
#define DATA_CHUNK        (32u << 10)

struct spdy_session {
	spdy_session_ops ops;
	void *ud;
	buf in;
	spdy_zlib *zin, *zout;
	uint32_t last_peer_id;
	bool stop, goaway_sent;
};

spdy_session *spdy_session_new(const spdy_session_ops *ops, void *ud)
{
	spdy_session *s = xcalloc(1, sizeof *s);
	s->ops = *ops;
	s->ud = ud;
	s->zin = spdy_zlib_new(false);
	s->zout = spdy_zlib_new(true);
	return s;
}

void spdy_session_free(spdy_session *s)
{
	if (!s)
		return;
	buf_free(&s->in);
	spdy_zlib_free(s->zin);
	spdy_zlib_free(s->zout);
	free(s);
}

void spdy_session_stop(spdy_session *s)
{
	s->stop = true;
}

static void emit(spdy_session *s, buf *b)
{
	if (b->n)
		s->ops.write(s->ud, b->p, b->n);
	buf_free(b);
}

void spdy_session_goaway(spdy_session *s, uint32_t status)
{
	if (s->goaway_sent)
		return;
	s->goaway_sent = true;
	buf b = {0};
	spdy_put_goaway(&b, s->last_peer_id, status);
	emit(s, &b);
}

static int handle(spdy_session *s, const spdy_frame *f, terr **err)
{
	if (!f->control) {
		s->ops.on_data(s->ud, f->stream_id, f->payload, f->len, f->flags & SPDY_FLAG_FIN);
		return 0;
	}
	spdy_headers h = {0};
	switch (f->type) {
	case SPDY_SYN_STREAM:
		/* Headers are decoded whatever happens next: the zlib stream must stay in step. */
		if (spdy_headers_decode(s->zin, f->payload, f->len, &h, err) < 0)
			return -1;
		if (!(f->stream_id & 1) || f->stream_id <= s->last_peer_id) {
			spdy_headers_free(&h);
			return terr_bad_request(err, "SYN_STREAM with stream ID %u out of order", f->stream_id);
		}
		s->last_peer_id = f->stream_id;
		s->ops.on_syn_stream(s->ud, f->stream_id, &h, f->flags);
		spdy_headers_free(&h);
		return 0;
	case SPDY_SYN_REPLY:
	case SPDY_HEADERS:
		if (spdy_headers_decode(s->zin, f->payload, f->len, &h, err) < 0)
			return -1;
		spdy_headers_free(&h);
		if (f->type == SPDY_HEADERS && (f->flags & SPDY_FLAG_FIN))
			s->ops.on_data(s->ud, f->stream_id, NULL, 0, true);
		return 0;
	case SPDY_RST_STREAM:
		s->ops.on_rst(s->ud, f->stream_id, f->value);
		return 0;
	case SPDY_PING:
		/* The peer's pings (odd IDs from a client) are echoed; ours are even. */
		if (f->value & 1) {
			buf b = {0};
			spdy_put_ping(&b, f->value);
			emit(s, &b);
		}
		return 0;
	case SPDY_GOAWAY:
		return 1;
	default: /* SETTINGS, WINDOW_UPDATE (no flow control: see spdy.h), unknown types */
		return 0;
	}
}

int spdy_session_feed(spdy_session *s, const void *data, size_t n, terr **err)
{
	buf_add(&s->in, data, n);
	size_t off = 0;
	int rc = 0;
	s->stop = false;
	while (!s->stop) {
		spdy_frame f;
		ssize_t used = spdy_frame_decode((const uint8_t *)s->in.p + off, s->in.n - off,
		                                 SESSION_MAX_FRAME, &f);
		if (used == 0)
			break;
		if (used < 0) {
			rc = terr_bad_request(err, "malformed SPDY frame");
			break;
		}
		off += (size_t)used;
		rc = handle(s, &f, err);
		if (rc != 0)
			break;
	}
	if (rc < 0)
		spdy_session_goaway(s, 1 /* PROTOCOL_ERROR */);
	if (off) {
		memmove(s->in.p, s->in.p + off, s->in.n - off);
		s->in.n -= off;
	}
	return rc;
}

void spdy_session_reply(spdy_session *s, uint32_t id, const char *const *pairs, size_t n,
                        uint8_t flags)
{
	buf body = {0}, b = {0};
	put32(&body, id & 0x7fffffff);
	spdy_headers_encode(s->zout, pairs, n, &body);
	spdy_put_control(&b, SPDY_SYN_REPLY, flags, body.p, body.n);
	buf_free(&body);
	emit(s, &b);
}

void spdy_session_data(spdy_session *s, uint32_t id, const void *data, size_t len, bool fin)
{
	buf b = {0};
	const char *p = data;
	do {
		size_t k = len > DATA_CHUNK ? DATA_CHUNK : len;
		spdy_put_data(&b, id, fin && k == len ? SPDY_FLAG_FIN : 0, p, k);
		p += k;
		len -= k;
	} while (len > 0);
	emit(s, &b);
}

void spdy_session_rst(spdy_session *s, uint32_t id, uint32_t status)
{
	buf b = {0};
	spdy_put_rst(&b, id, status);
	emit(s, &b);
}
