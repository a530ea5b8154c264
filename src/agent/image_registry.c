/* image_registry.c — registries.yaml (k3s format), endpoint selection and the pull-secret
 * keyring. Pure data: no I/O except reading the config file.
 * Not for: the HTTP client (image_client.c). */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/image-internal.h"
#include "agent/image_ref.h"
#include "agent/image_registry.h"
#include "base/json.h"
#include "base/util.h"
#include "base/yaml.h"

#define REGISTRIES_MAX (1u << 20)

/* ---- base64 ---- */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *image_base64_encode(const void *p, size_t n)
{
	const unsigned char *in = p;
	char *out = xmalloc((n + 2) / 3 * 4 + 1), *o = out;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		*o++ = b64[(v >> 18) & 63];
		*o++ = b64[(v >> 12) & 63];
		*o++ = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		*o++ = i + 2 < n ? b64[v & 63] : '=';
	}
	*o = '\0';
	return out;
}

char *image_base64_decode(const char *s, size_t *n)
{
	size_t len = strlen(s);
	char *out = xmalloc(len / 4 * 3 + 4);
	unsigned v = 0;
	int bits = 0;
	size_t o = 0, pad = 0;
	for (size_t i = 0; i < len; i++) {
		const char *c = s[i] ? strchr(b64, s[i]) : NULL;
		if (s[i] == '=') {
			pad++;
			continue;
		}
		if (!c || pad) {
			free(out);
			return NULL;
		}
		v = (v << 6) | (unsigned)(c - b64);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)((v >> bits) & 0xff);
		}
	}
	out[o] = '\0';
	if (n)
		*n = o;
	return out;
}

/* ---- registries.yaml ---- */

static void auth_clear(image_auth *a)
{
	free(a->username);
	free(a->password);
	free(a->identity_token);
	free(a->registry_token);
	memset(a, 0, sizeof *a);
}

/* Fills a from a k3s "auth" or a docker config entry: username, password, auth (base64
 * "user:pass"), identitytoken, registrytoken. */
static int auth_from_json(json_t *j, image_auth *a, const char *where, terr **err)
{
	const char *user = json_string_value(json_object_get(j, "username"));
	const char *pass = json_string_value(json_object_get(j, "password"));
	const char *enc = json_string_value(json_object_get(j, "auth"));
	a->username = xstrdup(user);
	a->password = xstrdup(pass);
	a->identity_token = xstrdup(json_string_value(json_object_get(j, "identitytoken")));
	a->registry_token = xstrdup(json_string_value(json_object_get(j, "registrytoken")));
	if (enc && *enc) {
		size_t n;
		_cleanup_free_ char *dec = image_base64_decode(enc, &n);
		char *colon = dec ? memchr(dec, ':', n) : NULL;
		if (!colon) {
			auth_clear(a);
			return terr_bad_request(err, "%s: \"auth\" is not base64 of user:password",
			                        where);
		}
		*colon = '\0';
		free(a->username);
		free(a->password);
		a->username = xstrdup(dec);
		a->password = xstrdup(colon + 1);
	}
	return 0;
}

static char **strings_from_json(json_t *arr, size_t *n)
{
	*n = 0;
	if (json_is_string(arr)) {
		char **v = xcalloc(2, sizeof *v);
		v[0] = xstrdup(json_string_value(arr));
		*n = 1;
		return v;
	}
	if (!json_is_array(arr))
		return NULL;
	char **v = xcalloc(json_array_size(arr) + 1, sizeof *v);
	size_t i;
	json_t *e;
	json_array_foreach(arr, i, e) {
		if (json_is_string(e))
			v[(*n)++] = xstrdup(json_string_value(e));
	}
	return v;
}

image_registries *image_registries_parse(const char *data, size_t n, terr **err)
{
	image_registries *r = xcalloc(1, sizeof *r);
	bool blank = true;
	for (size_t i = 0; i < n && blank; i++)
		blank = data[i] == ' ' || data[i] == '\n' || data[i] == '\t' || data[i] == '\r';
	if (blank)
		return r;
	_cleanup_json_ json_t *root = yaml_to_json(data, n, err);
	if (!root) {
		image_registries_free(r);
		return NULL;
	}
	if (json_is_null(root))
		return r;
	if (!json_is_object(root)) {
		image_registries_free(r);
		terr_bad_request(err, "registries config: want a mapping with mirrors and configs");
		return NULL;
	}
	json_t *mirrors = json_object_get(root, "mirrors");
	json_t *configs = json_object_get(root, "configs");
	if ((mirrors && !json_is_object(mirrors) && !json_is_null(mirrors)) ||
	    (configs && !json_is_object(configs) && !json_is_null(configs))) {
		image_registries_free(r);
		terr_bad_request(err, "registries config: mirrors and configs must be mappings");
		return NULL;
	}
	const char *key;
	json_t *v;
	if (json_is_object(mirrors)) {
		r->mirrors = xcalloc(json_object_size(mirrors), sizeof *r->mirrors);
		json_object_foreach(mirrors, key, v) {
			image_mirror *m = &r->mirrors[r->n_mirrors++];
			m->registry = xstrdup(key);
			m->endpoints = strings_from_json(json_object_get(v, "endpoint"),
			                                 &m->n_endpoints);
		}
	}
	if (json_is_object(configs)) {
		r->configs = xcalloc(json_object_size(configs), sizeof *r->configs);
		json_object_foreach(configs, key, v) {
			image_host_config *c = &r->configs[r->n_configs++];
			c->host = xstrdup(key);
			json_t *auth = json_object_get(v, "auth");
			json_t *tls = json_object_get(v, "tls");
			if (json_is_object(auth)) {
				_cleanup_free_ char *where = xasprintf("configs.%s.auth", key);
				if (auth_from_json(auth, &c->auth, where, err) < 0) {
					image_registries_free(r);
					return NULL;
				}
				c->has_auth = true;
			}
			if (json_is_object(tls)) {
				c->has_tls = true;
				c->tls.insecure_skip_verify =
				    json_is_true(json_object_get(tls, "insecure_skip_verify"));
				c->tls.ca_file = xstrdup(json_string_value(json_object_get(tls, "ca_file")));
				c->tls.cert_file =
				    xstrdup(json_string_value(json_object_get(tls, "cert_file")));
				c->tls.key_file = xstrdup(json_string_value(json_object_get(tls, "key_file")));
			}
		}
	}
	return r;
}

image_registries *image_registries_load(const char *path, terr **err)
{
	if (!path)
		path = IMAGE_REGISTRIES_DEFAULT_PATH;
	_cleanup_fclose_ FILE *f = fopen(path, "r");
	if (!f) {
		if (errno == ENOENT)
			return xcalloc(1, sizeof(image_registries));
		terr_internal(err, "reading %s: %s", path, strerror(errno));
		return NULL;
	}
	_cleanup_free_ char *data = xmalloc(REGISTRIES_MAX + 1);
	size_t n = fread(data, 1, REGISTRIES_MAX + 1, f);
	if (n > REGISTRIES_MAX) {
		terr_bad_request(err, "%s: larger than 1 MiB", path);
		return NULL;
	}
	image_registries *r = image_registries_parse(data, n, err);
	if (!r)
		terr_wrap(err, "%s", path);
	return r;
}

void image_registries_free(image_registries *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_mirrors; i++) {
		free(r->mirrors[i].registry);
		for (size_t k = 0; k < r->mirrors[i].n_endpoints; k++)
			free(r->mirrors[i].endpoints[k]);
		free(r->mirrors[i].endpoints);
	}
	for (size_t i = 0; i < r->n_configs; i++) {
		image_host_config *c = &r->configs[i];
		free(c->host);
		auth_clear(&c->auth);
		free(c->tls.ca_file);
		free(c->tls.cert_file);
		free(c->tls.key_file);
	}
	free(r->mirrors);
	free(r->configs);
	free(r);
}

const image_host_config *image_registries_host(const image_registries *r, const char *host)
{
	for (size_t i = 0; r && i < r->n_configs; i++)
		if (str_eq(r->configs[i].host, host))
			return &r->configs[i];
	return NULL;
}

/* ---- endpoints ---- */

static void endpoint_settings(const image_registries *r, image_endpoint *ep, const char *alt)
{
	const image_host_config *c = image_registries_host(r, ep->host);
	if (!c && alt)
		c = image_registries_host(r, alt);
	if (!c)
		return;
	if (c->has_tls)
		ep->tls = c->tls;
	if (c->has_auth)
		ep->auth = &c->auth;
}

/* "https://host:port/prefix" -> url "https://host:port/prefix/v2", host "host:port". An
 * endpoint without a scheme is HTTPS. */
static int endpoint_from_url(const char *s, image_endpoint *ep, terr **err)
{
	const char *scheme = "https", *rest = s;
	if (str_has_prefix(s, "https://")) {
		rest = s + 8;
	} else if (str_has_prefix(s, "http://")) {
		scheme = "http";
		rest = s + 7;
	} else if (strstr(s, "://")) {
		return terr_bad_request(err, "mirror endpoint %s: only http and https are supported",
		                        s);
	}
	const char *slash = strchr(rest, '/');
	size_t hn = slash ? (size_t)(slash - rest) : strlen(rest);
	if (hn == 0)
		return terr_bad_request(err, "mirror endpoint %s: no host", s);
	ep->host = xstrndup(rest, hn);
	_cleanup_free_ char *path = xstrdup(slash ? slash : "");
	size_t pn = strlen(path);
	while (pn > 0 && path[pn - 1] == '/')
		path[--pn] = '\0';
	if (pn >= 3 && str_has_suffix(path, "/v2"))
		ep->url = xasprintf("%s://%s%s", scheme, ep->host, path);
	else
		ep->url = xasprintf("%s://%s%s/v2", scheme, ep->host, path);
	return 0;
}

int image_registries_endpoints(const image_registries *r, const char *domain,
                               image_endpoint **out, size_t *n, terr **err)
{
	const image_mirror *m = NULL;
	for (size_t i = 0; r && i < r->n_mirrors; i++)
		if (str_eq(r->mirrors[i].registry, domain))
			m = &r->mirrors[i];
	for (size_t i = 0; r && !m && i < r->n_mirrors; i++)
		if (str_eq(r->mirrors[i].registry, "*"))
			m = &r->mirrors[i];
	size_t cap = (m ? m->n_endpoints : 0) + 1, k = 0;
	image_endpoint *eps = xcalloc(cap, sizeof *eps);
	for (size_t i = 0; m && i < m->n_endpoints; i++) {
		image_endpoint *ep = &eps[k];
		if (endpoint_from_url(m->endpoints[i], ep, err) < 0) {
			image_endpoints_free(eps, k);
			return -1;
		}
		ep->mirror = true;
		endpoint_settings(r, ep, NULL);
		k++;
	}
	/* The registry itself comes last, as the fallback when every mirror failed. */
	image_endpoint *ep = &eps[k++];
	bool hub = str_eq(domain, IMAGE_DEFAULT_DOMAIN);
	ep->host = xstrdup(hub ? "registry-1.docker.io" : domain);
	endpoint_settings(r, ep, domain);
	const image_host_config *c = image_registries_host(r, ep->host);
	if (!c)
		c = image_registries_host(r, domain);
	bool plain = image_domain_is_loopback(domain) && !(c && c->has_tls);
	ep->url = xasprintf("%s://%s/v2", plain ? "http" : "https", ep->host);
	*out = eps;
	*n = k;
	return 0;
}

void image_endpoints_free(image_endpoint *eps, size_t n)
{
	for (size_t i = 0; eps && i < n; i++) {
		free(eps[i].url);
		free(eps[i].host);
	}
	free(eps);
}

/* ---- pull-secret keyring ---- */

typedef struct keyring_entry {
	char *key;  /* as written, for ordering */
	char *host; /* "host[:port]", lower-case; docker.io for Docker Hub */
	char *path; /* repository prefix or "" */
	image_auth auth;
} keyring_entry;

struct image_keyring {
	keyring_entry *v;
	size_t n, cap;
};

image_keyring *image_keyring_new(void)
{
	return xcalloc(1, sizeof(image_keyring));
}

void image_keyring_free(image_keyring *k)
{
	if (!k)
		return;
	for (size_t i = 0; i < k->n; i++) {
		free(k->v[i].key);
		free(k->v[i].host);
		free(k->v[i].path);
		auth_clear(&k->v[i].auth);
	}
	free(k->v);
	free(k);
}

static bool is_docker_hub(const char *host)
{
	return str_eq(host, "docker.io") || str_eq(host, "index.docker.io") ||
	       str_eq(host, "registry-1.docker.io");
}

int image_keyring_add(image_keyring *k, const char *json, size_t n, terr **err)
{
	json_error_t jerr;
	_cleanup_json_ json_t *root = json_loadb(json, n, 0, &jerr);
	if (!json_is_object(root))
		return terr_bad_request(err, "pull secret: not a JSON object%s%s",
		                        root ? "" : ": ", root ? "" : jerr.text);
	json_t *auths = json_object_get(root, "auths");
	if (!auths)
		auths = root; /* legacy .dockercfg */
	if (!json_is_object(auths))
		return terr_bad_request(err, "pull secret: \"auths\" must be an object");
	const char *key;
	json_t *v;
	json_object_foreach(auths, key, v) {
		if (!json_is_object(v))
			continue;
		keyring_entry e = {0};
		const char *rest = key;
		if (str_has_prefix(rest, "https://"))
			rest += 8;
		else if (str_has_prefix(rest, "http://"))
			rest += 7;
		const char *slash = strchr(rest, '/');
		e.host = slash ? xstrndup(rest, (size_t)(slash - rest)) : xstrdup(rest);
		for (char *p = e.host; *p; p++)
			*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
		if (is_docker_hub(e.host)) {
			/* "https://index.docker.io/v1/" is the classic Docker Hub key: its path
			 * is an API version, not a repository prefix. */
			free(e.host);
			e.host = xstrdup("docker.io");
			e.path = xstrdup(slash && !str_has_prefix(slash, "/v1") ? slash + 1 : "");
		} else {
			e.path = xstrdup(slash ? slash + 1 : "");
		}
		size_t pl = strlen(e.path);
		while (pl > 0 && e.path[pl - 1] == '/')
			e.path[--pl] = '\0';
		_cleanup_free_ char *where = xasprintf("pull secret entry %s", key);
		if (auth_from_json(v, &e.auth, where, err) < 0) {
			free(e.host);
			free(e.path);
			return -1;
		}
		e.key = xstrdup(key);
		if (k->n == k->cap) {
			k->cap = k->cap ? k->cap * 2 : 4;
			k->v = xrealloc(k->v, k->cap * sizeof *k->v);
		}
		k->v[k->n++] = e;
	}
	return 0;
}

/* k8s: kubelet's keyring matches a key's host part by part (each part may be a glob like
 * "*.example.com"), its port exactly, and its path as a prefix of the repository. */
static bool host_matches(const char *pattern, const char *host)
{
	const char *pc = strchr(pattern, ':'), *hc = strchr(host, ':');
	if (!str_eq(pc ? pc : "", hc ? hc : ""))
		return false;
	size_t pn = pc ? (size_t)(pc - pattern) : strlen(pattern);
	size_t hn = hc ? (size_t)(hc - host) : strlen(host);
	_cleanup_free_ char *p = xstrndup(pattern, pn);
	_cleanup_free_ char *h = xstrndup(host, hn);
	char *sp = NULL, *sh = NULL;
	char *a = strtok_r(p, ".", &sp), *b = strtok_r(h, ".", &sh);
	while (a && b) {
		if (fnmatch(a, b, FNM_CASEFOLD) != 0)
			return false;
		a = strtok_r(NULL, ".", &sp);
		b = strtok_r(NULL, ".", &sh);
	}
	return !a && !b;
}

const image_auth *image_keyring_lookup(const image_keyring *k, const char *domain,
                                       const char *path)
{
	const keyring_entry *best = NULL;
	for (size_t i = 0; k && i < k->n; i++) {
		const keyring_entry *e = &k->v[i];
		if (!host_matches(e->host, domain))
			continue;
		size_t pl = strlen(e->path);
		if (pl && !(str_has_prefix(path, e->path) && (path[pl] == '\0' || path[pl] == '/')))
			continue;
		if (!best || strlen(e->key) > strlen(best->key))
			best = e;
	}
	return best ? &best->auth : NULL;
}
