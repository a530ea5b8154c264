/* ingress_routes.c — the ingress route table: Ingresses of class timon, with the Services,
 * EndpointSlices and TLS Secrets they name, become one immutable table that the proxy
 * matches requests against. Rebuilt whole on every change (the controller coalesces
 * bursts); tables are refcounted so a swap never pulls one from under a request.
 * Not for: sockets (ingress_proxy.c) or watching (ingress_controller.c).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/base64.h"
#include "base/json.h"
#include "base/log.h"
#include "base/util.h"
#include "proxy/ingress.h"

#define SERVICE_NAME_LABEL "kubernetes.io/service-name"

/* ---------- matching ---------- */

bool ingress_prefix_match(const char *p, size_t plen, const char *r, size_t rlen)
{
	/* k8s: Prefix matches element by element: /foo matches /foo, /foo/ and /foo/bar, not
	 * /foobar; a trailing '/' in the rule's path is ignored. */
	while (plen && p[plen - 1] == '/')
		plen--;
	if (rlen < plen || memcmp(p, r, plen) != 0)
		return false;
	return rlen == plen || r[plen] == '/';
}

bool ingress_host_match(const char *h, const char *name, size_t len)
{
	if (!*h)
		return true;
	if (h[0] == '*' && h[1] == '.') {
		/* k8s: a wildcard covers exactly one DNS label: *.foo.com matches bar.foo.com,
		 * not foo.com nor baz.bar.foo.com. */
		size_t sl = strlen(h + 1);
		if (len <= sl || strncasecmp(name + len - sl, h + 1, sl) != 0)
			return false;
		return memchr(name, '.', len - sl) == NULL;
	}
	return strlen(h) == len && strncasecmp(h, name, len) == 0;
}

/* The best path of hh for the request path, or NULL. */
static ingress_backend *match_paths(const ingress_host *hh, const char *path, size_t pathlen)
{
	ingress_backend *best = NULL;
	size_t best_score = 0;
	for (size_t i = 0; i < hh->npaths; i++) {
		const ingress_path *p = &hh->paths[i];
		size_t score;
		if (p->type == INGRESS_EXACT) {
			if (p->len != pathlen || memcmp(p->path, path, pathlen) != 0)
				continue;
			score = p->len * 2 + 2; /* k8s: on equal length, Exact wins */
		} else {
			if (!ingress_prefix_match(p->path, p->len, path, pathlen))
				continue;
			score = p->len * 2 + 1;
		}
		if (score > best_score) {
			best_score = score;
			best = p->be;
		}
	}
	return best;
}

ingress_backend *ingress_table_match(const ingress_table *t, const char *host, size_t hostlen,
                                     const char *path, size_t pathlen)
{
	if (!t)
		return NULL;
	/* The Host header without its port (IPv6 literals keep their brackets). */
	const char *colon = NULL;
	for (size_t i = hostlen; i > 0; i--) {
		if (host[i - 1] == ']')
			break;
		if (host[i - 1] == ':') {
			colon = host + i - 1;
			break;
		}
	}
	size_t n = colon ? (size_t)(colon - host) : hostlen;
	while (n && host[n - 1] == '.')
		n--;
	/* Exact hosts first, then wildcards, then rules without a host. */
	for (int pass = 0; pass < 3; pass++) {
		for (size_t i = 0; i < t->nhosts; i++) {
			const ingress_host *hh = &t->hosts[i];
			int kind = !hh->host[0] ? 2 : hh->host[0] == '*' ? 1 : 0;
			if (kind != pass || !ingress_host_match(hh->host, host, n))
				continue;
			ingress_backend *be = match_paths(hh, path, pathlen);
			if (be)
				return be;
		}
	}
	return t->default_be;
}

SSL_CTX *ingress_table_cert(const ingress_table *t, const char *name)
{
	if (!t || !t->ncerts)
		return NULL;
	size_t len = name ? strlen(name) : 0;
	for (int pass = 0; name && pass < 2; pass++)
		for (size_t i = 0; i < t->ncerts; i++)
			if ((t->certs[i].host[0] == '*') == pass && t->certs[i].host[0] &&
			    ingress_host_match(t->certs[i].host, name, len))
				return t->certs[i].ctx;
	/* No SNI, or no certificate names it: a TLS entry without hosts, else the first
	 * certificate (as ingress-nginx serves its default one). */
	for (size_t i = 0; i < t->ncerts; i++)
		if (!t->certs[i].host[0])
			return t->certs[i].ctx;
	return t->certs[0].ctx;
}

/* ---------- building ---------- */

typedef struct builder {
	const ingress_input *in;
	ingress_table *t;
} builder;

static int cmp_age(const void *a, const void *b)
{
	json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	const char *tx = json_path_str(x, "metadata.creationTimestamp");
	const char *ty = json_path_str(y, "metadata.creationTimestamp");
	int c = strcmp(tx ? tx : "", ty ? ty : "");
	if (c)
		return c;
	c = strcmp(json_path_str(x, "metadata.namespace") ?: "",
	           json_path_str(y, "metadata.namespace") ?: "");
	return c ? c
	         : strcmp(json_path_str(x, "metadata.name") ?: "",
	                  json_path_str(y, "metadata.name") ?: "");
}

static json_t *find_obj(json_t **objs, size_t n, const char *ns, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (str_eq(json_path_str(objs[i], "metadata.namespace"), ns) &&
		    str_eq(json_path_str(objs[i], "metadata.name"), name))
			return objs[i];
	return NULL;
}

static void add_addr(ingress_backend *be, const char *ip, int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1 || port <= 0 || port > 65535)
		return;
	for (size_t i = 0; i < be->naddrs; i++) /* the same address in two slices counts once */
		if (be->addrs[i].sin_addr.s_addr == sa.sin_addr.s_addr &&
		    be->addrs[i].sin_port == sa.sin_port)
			return;
	be->addrs = xrealloc(be->addrs, (be->naddrs + 1) * sizeof *be->addrs);
	be->addrs[be->naddrs++] = sa;
}

/* The ready endpoints of service port sp (its name names the slices' port). */
static void resolve_endpoints(builder *b, ingress_backend *be, const char *ns, const char *svc,
                              json_t *sp)
{
	const char *pname = json_string_value(json_object_get(sp, "name"));
	if (!pname)
		pname = "";
	for (size_t i = 0; i < b->in->nslices; i++) {
		json_t *sl = b->in->slices[i];
		if (!str_eq(json_path_str(sl, "metadata.namespace"), ns) ||
		    !str_eq(json_string_value(json_object_get(json_path(sl, "metadata.labels"),
		                                              SERVICE_NAME_LABEL)),
		            svc) ||
		    !str_eq(json_string_value(json_object_get(sl, "addressType")), "IPv4"))
			continue;
		/* k8s: a slice's port carries the service port's name ("" when unnamed). */
		int port = 0;
		size_t k;
		json_t *p;
		json_array_foreach(json_object_get(sl, "ports"), k, p)
		{
			const char *n = json_string_value(json_object_get(p, "name"));
			if (str_eq(n ? n : "", pname)) {
				port = (int)json_integer_value(json_object_get(p, "port"));
				break;
			}
		}
		if (!port)
			continue;
		json_t *ep;
		json_array_foreach(json_object_get(sl, "endpoints"), k, ep)
		{
			/* k8s: only ready endpoints take traffic; an unset condition counts as
			 * ready. */
			json_t *ready = json_path(ep, "conditions.ready");
			if (json_is_false(ready))
				continue;
			size_t j;
			json_t *a;
			json_array_foreach(json_object_get(ep, "addresses"), j, a)
			{
				if (json_is_string(a))
					add_addr(be, json_string_value(a), port);
			}
		}
	}
}

/* A backend for an IngressBackend (borrowed JSON) of an Ingress in ns. */
static ingress_backend *backend_new(builder *b, const char *ns, const char *ing, const char *host,
                                    const char *path, json_t *backend)
{
	json_t *svcref = json_object_get(backend, "service");
	const char *name = json_string_value(json_object_get(svcref, "name"));
	ingress_backend *be = xcalloc(1, sizeof *be);
	be->service = xasprintf("%s/%s", ns, name ? name : "");
	be->metric = ingress_metric_get(ns, ing, host, path, name ? name : "");
	ingress_table *t = b->t;
	t->backends = xrealloc(t->backends, (t->nbackends + 1) * sizeof *t->backends);
	t->backends[t->nbackends++] = be;
	if (!name) {
		log_warn("ingress: %s/%s: only service backends are supported", ns, ing);
		return be;
	}
	json_t *svc = find_obj(b->in->services, b->in->nservices, ns, name);
	if (!svc)
		return be; /* answers 503 until the service exists */
	json_t *want = json_object_get(svcref, "port");
	const char *want_name = json_string_value(json_object_get(want, "name"));
	json_int_t want_num = json_integer_value(json_object_get(want, "number"));
	size_t i;
	json_t *sp;
	json_array_foreach(json_path(svc, "spec.ports"), i, sp)
	{
		const char *pn = json_string_value(json_object_get(sp, "name"));
		if ((want_name && str_eq(pn, want_name)) ||
		    (!want_name && json_integer_value(json_object_get(sp, "port")) == want_num)) {
			resolve_endpoints(b, be, ns, name, sp);
			break;
		}
	}
	return be;
}

static ingress_host *host_get(ingress_table *t, const char *host)
{
	for (size_t i = 0; i < t->nhosts; i++)
		if (strcmp(t->hosts[i].host, host) == 0)
			return &t->hosts[i];
	t->hosts = xrealloc(t->hosts, (t->nhosts + 1) * sizeof *t->hosts);
	ingress_host *h = &t->hosts[t->nhosts++];
	*h = (ingress_host){.host = xstrdup(host)};
	for (char *c = h->host; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	return h;
}

static void add_rule(builder *b, const char *ns, const char *ing, json_t *rule)
{
	const char *host = json_string_value(json_object_get(rule, "host"));
	if (!host)
		host = "";
	ingress_host *h = host_get(b->t, host);
	size_t i;
	json_t *p;
	json_array_foreach(json_path(rule, "http.paths"), i, p)
	{
		const char *type = json_string_value(json_object_get(p, "pathType"));
		const char *path = json_string_value(json_object_get(p, "path"));
		/* k8s: ImplementationSpecific is ours to define: timon matches it as Prefix. */
		enum ingress_path_type pt = str_eq(type, "Exact") ? INGRESS_EXACT : INGRESS_PREFIX;
		if (!path || !*path)
			path = "/";
		size_t len = strlen(path);
		if (pt == INGRESS_PREFIX)
			while (len && path[len - 1] == '/')
				len--;
		bool dup = false; /* the same host, path and type in an older Ingress wins */
		for (size_t k = 0; k < h->npaths && !dup; k++)
			dup = h->paths[k].type == pt && h->paths[k].len == len &&
			      memcmp(h->paths[k].path, path, len) == 0;
		if (dup) {
			log_debug("ingress: %s/%s: %s%s is already routed by an older Ingress", ns,
			          ing, host, path);
			continue;
		}
		ingress_backend *be =
		    backend_new(b, ns, ing, host, path, json_object_get(p, "backend"));
		h->paths = xrealloc(h->paths, (h->npaths + 1) * sizeof *h->paths);
		h->paths[h->npaths++] =
		    (ingress_path){.type = pt, .path = xstrdup(path), .len = len, .be = be};
	}
}

static SSL_CTX *ctx_from_secret(json_t *secret, const char *what)
{
	json_t *data = json_object_get(secret, "data");
	const char *crt = json_string_value(json_object_get(data, "tls.crt"));
	const char *key = json_string_value(json_object_get(data, "tls.key"));
	if (!crt || !key) {
		log_warn("ingress: secret %s has no tls.crt and tls.key", what);
		return NULL;
	}
	size_t crt_len = 0, key_len = 0;
	_cleanup_free_ unsigned char *crt_pem = base64_decode(crt, &crt_len);
	_cleanup_free_ unsigned char *key_pem = base64_decode(key, &key_len);
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	BIO *cb = crt_pem ? BIO_new_mem_buf(crt_pem, (int)crt_len) : NULL;
	BIO *kb = key_pem ? BIO_new_mem_buf(key_pem, (int)key_len) : NULL;
	X509 *leaf = cb ? PEM_read_bio_X509(cb, NULL, NULL, NULL) : NULL;
	EVP_PKEY *pk = kb ? PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL) : NULL;
	bool ok = ctx && leaf && pk && SSL_CTX_use_certificate(ctx, leaf) == 1 &&
	          SSL_CTX_use_PrivateKey(ctx, pk) == 1 && SSL_CTX_check_private_key(ctx) == 1;
	X509 *extra;
	while (ok && (extra = PEM_read_bio_X509(cb, NULL, NULL, NULL)))
		SSL_CTX_add_extra_chain_cert(ctx, extra); /* takes it */
	ERR_clear_error();
	X509_free(leaf);
	EVP_PKEY_free(pk);
	BIO_free(cb);
	BIO_free(kb);
	if (!ok) {
		log_warn("ingress: secret %s: tls.crt/tls.key are not a matching PEM pair", what);
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	return ctx;
}

static void add_cert(ingress_table *t, const char *host, SSL_CTX *ctx)
{
	for (size_t i = 0; i < t->ncerts; i++)
		if (strcasecmp(t->certs[i].host, host) == 0)
			return; /* an older Ingress named it first */
	SSL_CTX_up_ref(ctx);
	t->certs = xrealloc(t->certs, (t->ncerts + 1) * sizeof *t->certs);
	t->certs[t->ncerts++] = (ingress_cert){.host = xstrdup(host), .ctx = ctx};
}

static void add_tls(builder *b, const char *ns, json_t *tls)
{
	const char *secret = json_string_value(json_object_get(tls, "secretName"));
	if (!secret)
		return;
	json_t *s = find_obj(b->in->secrets, b->in->nsecrets, ns, secret);
	_cleanup_free_ char *what = xasprintf("%s/%s", ns, secret);
	if (!s) {
		log_warn("ingress: TLS secret %s not found", what);
		return;
	}
	SSL_CTX *ctx = ctx_from_secret(s, what);
	if (!ctx)
		return;
	json_t *hosts = json_object_get(tls, "hosts");
	if (!json_array_size(hosts))
		add_cert(b->t, "", ctx);
	size_t i;
	json_t *h;
	json_array_foreach(hosts, i, h)
	{
		if (json_is_string(h))
			add_cert(b->t, json_string_value(h), ctx);
	}
	SSL_CTX_free(ctx); /* the table holds its own references */
}

ingress_table *ingress_table_build(const ingress_input *in)
{
	builder b = {.in = in, .t = xcalloc(1, sizeof(ingress_table))};
	b.t->refs = 1;
	json_t **ings = xcalloc(in->ningresses ? in->ningresses : 1, sizeof *ings);
	memcpy(ings, in->ingresses, in->ningresses * sizeof *ings);
	qsort(ings, in->ningresses, sizeof *ings, cmp_age);
	for (size_t i = 0; i < in->ningresses; i++) {
		json_t *ing = ings[i];
		const char *ns = json_path_str(ing, "metadata.namespace");
		const char *name = json_path_str(ing, "metadata.name");
		if (!ns || !name)
			continue;
		size_t k;
		json_t *r;
		json_array_foreach(json_path(ing, "spec.rules"), k, r) add_rule(&b, ns, name, r);
		json_t *def = json_path(ing, "spec.defaultBackend");
		/* k8s: one default backend per controller; the oldest Ingress that sets one. */
		if (def && !b.t->default_be)
			b.t->default_be = backend_new(&b, ns, name, "*", "", def);
		json_array_foreach(json_path(ing, "spec.tls"), k, r) add_tls(&b, ns, r);
	}
	free(ings);
	return b.t;
}

ingress_table *ingress_table_ref(ingress_table *t)
{
	if (t)
		t->refs++;
	return t;
}

void ingress_table_unref(ingress_table *t)
{
	if (!t || --t->refs > 0)
		return;
	for (size_t i = 0; i < t->nhosts; i++) {
		for (size_t k = 0; k < t->hosts[i].npaths; k++)
			free(t->hosts[i].paths[k].path);
		free(t->hosts[i].paths);
		free(t->hosts[i].host);
	}
	free(t->hosts);
	for (size_t i = 0; i < t->nbackends; i++) {
		free(t->backends[i]->service);
		free(t->backends[i]->addrs);
		free(t->backends[i]);
	}
	free(t->backends);
	for (size_t i = 0; i < t->ncerts; i++) {
		free(t->certs[i].host);
		SSL_CTX_free(t->certs[i].ctx);
	}
	free(t->certs);
	free(t);
}
