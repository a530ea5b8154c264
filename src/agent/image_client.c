/* image_client.c — the Docker Registry HTTP API v2 client (OCI distribution spec) over
 * libcurl: GET manifests and blobs, answering auth challenges (Bearer tokens from the
 * realm the registry names, Basic from credentials), and turning the registry's error
 * bodies into messages a pod's status can show. One client per pull and thread.
 * Not for: deciding what to fetch (image_pull.c) or where (image_registry.c). */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/image-internal.h"
#include "base/json.h"
#include "base/log.h"
#include "base/util.h"

#define ERR_BODY_MAX  (64u << 10)
#define TOKEN_MAX     (1u << 20)
#define USER_AGENT    "timon-agent"

struct image_client {
	CURL *curl;
	const image_endpoint *ep;
	char *repo;
	const image_auth *auth;
	char *authz; /* the Authorization header line in use, or NULL */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		abort();
}

image_client *image_client_new(const image_endpoint *ep, const char *repo,
                               const image_auth *auth)
{
	pthread_once(&curl_once, curl_init_once);
	image_client *c = xcalloc(1, sizeof *c);
	c->curl = curl_easy_init();
	if (!c->curl)
		abort();
	c->ep = ep;
	c->repo = xstrdup(repo);
	c->auth = auth;
	if (auth && auth->registry_token)
		c->authz = xasprintf("Authorization: Bearer %s", auth->registry_token);
	return c;
}

void image_client_free(image_client *c)
{
	if (!c)
		return;
	curl_easy_cleanup(c->curl);
	free(c->repo);
	free(c->authz);
	free(c);
}

/* ---- challenges and error bodies ---- */

void image_challenge_free(image_challenge *c)
{
	free(c->scheme);
	free(c->realm);
	free(c->service);
	free(c->scope);
	memset(c, 0, sizeof *c);
}

/* WWW-Authenticate: Bearer realm="https://auth/token",service="registry",scope="a b" */
int image_challenge_parse(const char *h, image_challenge *out)
{
	memset(out, 0, sizeof *out);
	while (*h == ' ' || *h == '\t')
		h++;
	size_t sn = strcspn(h, " \t,");
	if (sn == 0)
		return -1;
	out->scheme = xstrndup(h, sn);
	const char *p = h + sn;
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		size_t kn = strcspn(p, "= \t,");
		if (kn == 0 || p[kn] != '=')
			break; /* a second challenge starts, or garbage */
		_cleanup_free_ char *key = xstrndup(p, kn);
		p += kn + 1;
		buf val = {0};
		buf_puts(&val, "");
		if (*p == '"') {
			p++;
			while (*p && *p != '"') {
				if (*p == '\\' && p[1])
					p++;
				buf_putc(&val, *p++);
			}
			if (*p == '"')
				p++;
		} else {
			size_t vn = strcspn(p, ", \t");
			buf_add(&val, p, vn);
			p += vn;
		}
		char **slot = strcasecmp(key, "realm") == 0     ? &out->realm
		              : strcasecmp(key, "service") == 0 ? &out->service
		              : strcasecmp(key, "scope") == 0   ? &out->scope
		                                                : NULL;
		if (slot && !*slot)
			*slot = buf_take(&val);
		buf_free(&val);
	}
	return 0;
}

char *image_registry_error_message(const char *body, size_t n)
{
	if (!body || n == 0)
		return NULL;
	json_error_t jerr;
	_cleanup_json_ json_t *root = json_loadb(body, n, 0, &jerr);
	json_t *errors = json_object_get(root, "errors");
	if (!json_is_array(errors) || json_array_size(errors) == 0) {
		/* Token services answer {"details": "..."} or {"error": "..."}. */
		const char *m = json_string_value(json_object_get(root, "details"));
		if (!m)
			m = json_string_value(json_object_get(root, "error"));
		if (!m)
			m = json_string_value(json_object_get(root, "message"));
		return m ? xstrdup(m) : NULL;
	}
	buf b = {0};
	size_t i;
	json_t *e;
	json_array_foreach(errors, i, e) {
		const char *m = json_string_value(json_object_get(e, "message"));
		const char *code = json_string_value(json_object_get(e, "code"));
		if (!m || !*m)
			m = code;
		if (!m)
			continue;
		if (b.n)
			buf_puts(&b, "; ");
		buf_puts(&b, m);
	}
	return b.n ? buf_take(&b) : (buf_free(&b), NULL);
}

/* ---- one request ---- */

typedef struct xfer {
	long status;           /* of the response being received */
	buf *mem;              /* 2xx body to memory ... */
	image_blob_writer *w;  /* ... or to a blob */
	uint64_t max;
	bool too_big;
	buf errbody;           /* non-2xx body (capped) */
	char *www_auth;
	char *content_type;
	terr *werr;            /* a failed blob write */
} xfer;

static void xfer_reset_headers(xfer *x)
{
	free(x->www_auth);
	free(x->content_type);
	x->www_auth = x->content_type = NULL;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	xfer *x = ud;
	size_t len = size * n;
	if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
		xfer_reset_headers(x); /* a new response (after a redirect or a 100) */
		return len;
	}
	const char *colon = memchr(p, ':', len);
	if (!colon)
		return len;
	size_t kn = (size_t)(colon - p);
	const char *v = colon + 1;
	size_t vn = len - kn - 1;
	while (vn && (*v == ' ' || *v == '\t')) {
		v++;
		vn--;
	}
	while (vn && (v[vn - 1] == '\r' || v[vn - 1] == '\n' || v[vn - 1] == ' '))
		vn--;
	if (kn == 16 && strncasecmp(p, "www-authenticate", 16) == 0 && !x->www_auth)
		x->www_auth = xstrndup(v, vn);
	else if (kn == 12 && strncasecmp(p, "content-type", 12) == 0)
		x->content_type = (free(x->content_type), xstrndup(v, vn));
	return len;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	xfer *x = ud;
	size_t len = size * n;
	if (x->status < 200 || x->status >= 300) {
		if (x->errbody.n < ERR_BODY_MAX)
			buf_add(&x->errbody, p, len < ERR_BODY_MAX ? len : ERR_BODY_MAX);
		return len;
	}
	uint64_t have = x->mem ? x->mem->n : image_blob_written(x->w);
	if (have + len > x->max) {
		x->too_big = true;
		return 0;
	}
	if (x->mem)
		buf_add(x->mem, p, len);
	else if (image_blob_write(x->w, p, len, &x->werr) < 0)
		return 0;
	return len;
}

/* The body callback routes by status: the header callback learns it at the end of each
 * header block, through the handle this wrapper carries. */
typedef struct xfer_ctx {
	xfer *x;
	CURL *curl;
} xfer_ctx;

static size_t on_header_ctx(char *p, size_t size, size_t n, void *ud)
{
	xfer_ctx *c = ud;
	size_t len = size * n;
	if (len == 2 && p[0] == '\r') { /* end of a header block: the status is known */
		long st = 0;
		curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &st);
		c->x->status = st;
	}
	return on_header(p, size, n, c->x);
}

static void setup_tls(CURL *h, const image_tls *tls)
{
	if (tls->insecure_skip_verify) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (tls->ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, tls->ca_file);
	if (tls->cert_file)
		curl_easy_setopt(h, CURLOPT_SSLCERT, tls->cert_file);
	if (tls->key_file)
		curl_easy_setopt(h, CURLOPT_SSLKEY, tls->key_file);
}

/* Performs one GET of url with the given extra headers. Returns the final HTTP status, or
 * -1 with err set for transport failures. */
static long do_get(image_client *c, const char *url, struct curl_slist *hdrs, xfer *x,
                   terr **err)
{
	CURL *h = c->curl;
	curl_easy_reset(h);
	xfer_ctx ctx = {x, h};
	char ebuf[CURL_ERROR_SIZE] = "";
	x->status = 0;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_USERAGENT, USER_AGENT);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
	/* A stalled transfer (under 1 kB/s for a minute) is abandoned, never waited on. */
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1024L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header_ctx);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &ctx);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, ""); /* identity or what curl decodes */
	setup_tls(h, &c->ep->tls);
	CURLcode rc = curl_easy_perform(h);
	if (x->werr) {
		terr_set(err, x->werr->code, x->werr->reason, "%s", x->werr->message);
		terr_free(x->werr);
		x->werr = NULL;
		return -1;
	}
	if (x->too_big)
		return terr_set(err, 502, "ErrImagePull", "%s: response larger than %llu bytes",
		                url, (unsigned long long)x->max);
	if (rc != CURLE_OK)
		return terr_set(err, 502, "ErrImagePull", "Get \"%s\": %s", url,
		                *ebuf ? ebuf : curl_easy_strerror(rc));
	long st = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
	return st;
}

/* Fetches a token from the challenge's realm (with Basic credentials when there are some)
 * and installs it as the client's Authorization. */
static int fetch_token(image_client *c, const image_challenge *ch, terr **err)
{
	if (!ch->realm || !*ch->realm)
		return terr_set(err, 401, "ErrImagePull", "registry asked for a token without a realm");
	CURLU *u = curl_url();
	char *url = NULL;
	_cleanup_free_ char *scope = ch->scope ? NULL : xasprintf("repository:%s:pull", c->repo);
	_cleanup_free_ char *q_service = ch->service ? xasprintf("service=%s", ch->service) : NULL;
	_cleanup_free_ char *q_scope = xasprintf("scope=%s", ch->scope ? ch->scope : scope);
	if (curl_url_set(u, CURLUPART_URL, ch->realm, 0) != CURLUE_OK ||
	    (q_service && curl_url_set(u, CURLUPART_QUERY, q_service,
	                               CURLU_APPENDQUERY | CURLU_URLENCODE) != CURLUE_OK) ||
	    curl_url_set(u, CURLUPART_QUERY, q_scope, CURLU_APPENDQUERY | CURLU_URLENCODE) !=
	        CURLUE_OK ||
	    curl_url_get(u, CURLUPART_URL, &url, 0) != CURLUE_OK) {
		curl_url_cleanup(u);
		return terr_set(err, 502, "ErrImagePull", "invalid token realm \"%s\"", ch->realm);
	}
	curl_url_cleanup(u);
	struct curl_slist *hdrs = NULL;
	if (c->auth && c->auth->username) {
		_cleanup_free_ char *pair = xasprintf("%s:%s", c->auth->username,
		                                      c->auth->password ? c->auth->password : "");
		_cleanup_free_ char *b64 = image_base64_encode(pair, strlen(pair));
		_cleanup_free_ char *line = xasprintf("Authorization: Basic %s", b64);
		hdrs = curl_slist_append(hdrs, line);
	}
	buf body = {0};
	xfer x = {.mem = &body, .max = TOKEN_MAX};
	long st = do_get(c, url, hdrs, &x, err);
	curl_slist_free_all(hdrs);
	int rc = -1;
	if (st < 0) {
		terr_wrap(err, "fetching a token");
	} else if (st != 200) {
		_cleanup_free_ char *m = image_registry_error_message(x.errbody.p, x.errbody.n);
		terr_set(err, (int)st, "ErrImagePull", "fetching a token from %s: %ld %s", ch->realm,
		         st, m ? m : (st == 401 || st == 403 ? "unauthorized" : "failed"));
	} else {
		json_error_t jerr;
		_cleanup_json_ json_t *j = json_loadb(body.p ? body.p : "", body.n, 0, &jerr);
		const char *tok = json_string_value(json_object_get(j, "token"));
		if (!tok || !*tok)
			tok = json_string_value(json_object_get(j, "access_token"));
		if (!tok || !*tok) {
			terr_set(err, 502, "ErrImagePull", "token service %s answered no token",
			         ch->realm);
		} else {
			free(c->authz);
			c->authz = xasprintf("Authorization: Bearer %s", tok);
			rc = 0;
		}
	}
	curl_free(url);
	buf_free(&body);
	buf_free(&x.errbody);
	xfer_reset_headers(&x);
	return rc;
}

/* GET path below the endpoint, answering one auth challenge. */
static int get(image_client *c, const char *path, const char *accept, xfer *x, terr **err)
{
	_cleanup_free_ char *url = xasprintf("%s/%s", c->ep->url, path);
	for (int attempt = 0;; attempt++) {
		struct curl_slist *hdrs = NULL;
		if (accept)
			hdrs = curl_slist_append(hdrs, accept);
		if (c->authz)
			hdrs = curl_slist_append(hdrs, c->authz);
		buf_reset(&x->errbody);
		long st = do_get(c, url, hdrs, x, err);
		curl_slist_free_all(hdrs);
		if (st < 0)
			return -1;
		if (st >= 200 && st < 300)
			return 0;
		if (st == 401 && attempt == 0 && x->www_auth) {
			image_challenge ch;
			int pr = image_challenge_parse(x->www_auth, &ch);
			int ar = -2;
			if (pr == 0 && strcasecmp(ch.scheme, "bearer") == 0) {
				ar = fetch_token(c, &ch, err);
			} else if (pr == 0 && strcasecmp(ch.scheme, "basic") == 0 && c->auth &&
			           c->auth->username) {
				_cleanup_free_ char *pair =
				    xasprintf("%s:%s", c->auth->username,
				              c->auth->password ? c->auth->password : "");
				_cleanup_free_ char *b64 = image_base64_encode(pair, strlen(pair));
				free(c->authz);
				c->authz = xasprintf("Authorization: Basic %s", b64);
				ar = 0;
			}
			image_challenge_free(&ch);
			if (ar == -1)
				return -1;
			if (ar == 0)
				continue;
		}
		_cleanup_free_ char *m = image_registry_error_message(x->errbody.p, x->errbody.n);
		const char *fallback = st == 401   ? "unauthorized: authentication required"
		                       : st == 403 ? "denied: access forbidden"
		                       : st == 404 ? "not found"
		                       : st == 429 ? "too many requests"
		                                   : NULL;
		if (m)
			return terr_set(err, (int)st, "ErrImagePull", "%s", m);
		if (fallback)
			return terr_set(err, (int)st, "ErrImagePull", "%s", fallback);
		return terr_set(err, (int)st, "ErrImagePull", "unexpected status %ld from %s", st, url);
	}
}

int image_client_get_manifest(image_client *c, const char *reference, buf *body,
                              char **content_type, terr **err)
{
	static const char accept[] = "Accept: " MT_OCI_INDEX ", " MT_DOCKER_LIST
	                             ", " MT_OCI_MANIFEST ", " MT_DOCKER_MANIFEST;
	_cleanup_free_ char *path = xasprintf("%s/manifests/%s", c->repo, reference);
	xfer x = {.mem = body, .max = IMAGE_MANIFEST_MAX};
	buf_reset(body);
	int rc = get(c, path, accept, &x, err);
	if (rc == 0 && content_type) {
		*content_type = x.content_type;
		x.content_type = NULL;
	}
	buf_free(&x.errbody);
	xfer_reset_headers(&x);
	return rc;
}

int image_client_get_blob(image_client *c, const char *digest, int64_t max,
                          image_blob_writer *w, terr **err)
{
	_cleanup_free_ char *path = xasprintf("%s/blobs/%s", c->repo, digest);
	xfer x = {.w = w, .max = max < 0 ? UINT64_MAX : (uint64_t)max};
	int rc = get(c, path, NULL, &x, err);
	if (rc == 0 && image_blob_written(w) == 0 && max > 0)
		log_debug("images: empty body for blob %s", digest);
	buf_free(&x.errbody);
	xfer_reset_headers(&x);
	return rc;
}
