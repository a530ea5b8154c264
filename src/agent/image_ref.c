/* image_ref.c — parsing and normalizing image references (the grammar of the
 * distribution project's reference format: name[:tag][@digest], with Docker's defaults).
 * Not for: registry endpoints, credentials or anything that touches the network. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "agent/image_ref.h"
#include "base/util.h"

static int bad_ref(terr **err, const char *s, const char *why)
{
	return terr_set(err, 400, "InvalidImageName", "invalid image reference \"%s\": %s", s,
	                why);
}

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_hex_lower(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
			return false;
	return true;
}

bool image_digest_valid(const char *d)
{
	return d && strlen(d) == 71 && str_has_prefix(d, "sha256:") && is_hex_lower(d + 7, 64);
}

/* path-component := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )* */
static bool path_component_valid(const char *p, size_t n)
{
	size_t i = 0;
	if (n == 0 || !is_lower_alnum(p[0]) || !is_lower_alnum(p[n - 1]))
		return false;
	while (i < n) {
		while (i < n && is_lower_alnum(p[i]))
			i++;
		if (i == n)
			break;
		size_t sep = i;
		if (p[i] == '.') {
			i++;
		} else if (p[i] == '_') {
			i++;
			if (i < n && p[i] == '_')
				i++;
		} else if (p[i] == '-') {
			while (i < n && p[i] == '-')
				i++;
		} else {
			return false;
		}
		if (i == sep || i >= n || !is_lower_alnum(p[i]))
			return false;
	}
	return true;
}

/* domain := host [":" port]; host := components joined by "." (letters, digits, inner
 * dashes) or "[" IPv6 "]". */
static bool domain_valid(const char *d, size_t n)
{
	size_t i = 0;
	if (n == 0)
		return false;
	if (d[0] == '[') {
		while (i < n && d[i] != ']')
			i++;
		if (i == n || i < 3)
			return false;
		for (size_t k = 1; k < i; k++)
			if (!isxdigit((unsigned char)d[k]) && d[k] != ':' && d[k] != '.')
				return false;
		i++;
	} else {
		size_t start = 0;
		while (i < n && d[i] != ':') {
			if (d[i] == '.') {
				if (i == start || d[i - 1] == '-')
					return false;
				start = i + 1;
			} else if (!isalnum((unsigned char)d[i]) && !(d[i] == '-' && i != start)) {
				return false;
			}
			i++;
		}
		if (i == start || d[i - 1] == '-')
			return false;
	}
	if (i == n)
		return true;
	if (d[i] != ':' || i + 1 == n)
		return false;
	for (i++; i < n; i++)
		if (!isdigit((unsigned char)d[i]))
			return false;
	return true;
}

/* tag := [A-Za-z0-9_] [A-Za-z0-9_.-]{0,127} */
static bool tag_valid(const char *t)
{
	size_t n = strlen(t);
	if (n == 0 || n > 128 || !(isalnum((unsigned char)t[0]) || t[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)t[i]) && t[i] != '_' && t[i] != '.' && t[i] != '-')
			return false;
	return true;
}

int image_ref_parse(const char *s, image_ref *out, terr **err)
{
	memset(out, 0, sizeof *out);
	if (!s || !*s)
		return bad_ref(err, s ? s : "", "empty reference");
	size_t len = strlen(s);
	if (len > IMAGE_REF_MAX)
		return bad_ref(err, "...", "reference too long");
	for (size_t i = 0; i < len; i++)
		if (isspace((unsigned char)s[i]) || (unsigned char)s[i] < 0x20)
			return bad_ref(err, s, "contains whitespace or control characters");

	/* A bare 64-hex string is an image ID, never a repository name. */
	if (len == 64 && is_hex_lower(s, 64))
		return bad_ref(err, s, "cannot specify 64-byte hexadecimal strings");

	_cleanup_free_ char *name = NULL;
	const char *at = strchr(s, '@');
	if (at) {
		if (!image_digest_valid(at + 1))
			return bad_ref(err, s, strchr(at + 1, ':') && !str_has_prefix(at + 1, "sha256:")
			                           ? "unsupported digest algorithm"
			                           : "invalid digest (want sha256:<64 lowercase hex>)");
		name = xstrndup(s, (size_t)(at - s));
	} else {
		name = xstrdup(s);
	}

	/* A tag is what follows the last ':' when no '/' comes after it. */
	char *tag = NULL;
	char *colon = strrchr(name, ':');
	if (colon && !strchr(colon, '/')) {
		*colon = '\0';
		tag = colon + 1;
		if (!tag_valid(tag))
			return bad_ref(err, s, "invalid tag");
	}
	if (!*name)
		return bad_ref(err, s, "missing repository name");

	/* The first component is a domain when it has a '.' or ':', is "localhost", or has
	 * upper-case letters; otherwise the image lives on Docker Hub. */
	const char *domain = IMAGE_DEFAULT_DOMAIN, *path = name;
	size_t domain_n = strlen(IMAGE_DEFAULT_DOMAIN);
	char *slash = strchr(name, '/');
	if (slash) {
		size_t n = (size_t)(slash - name);
		bool has_upper = false;
		for (size_t i = 0; i < n; i++)
			has_upper |= isupper((unsigned char)name[i]) != 0;
		if (memchr(name, '.', n) || memchr(name, ':', n) ||
		    (n == 9 && memcmp(name, "localhost", 9) == 0) || has_upper) {
			domain = name;
			domain_n = n;
			path = slash + 1;
			if (!domain_valid(domain, domain_n))
				return bad_ref(err, s, "invalid registry host");
		}
	}
	for (const char *p = path; *p; p++)
		if (isupper((unsigned char)*p))
			return bad_ref(err, s, "repository name must be lowercase");
	for (const char *p = path;;) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (!path_component_valid(p, n))
			return bad_ref(err, s, "invalid repository name");
		if (!e)
			break;
		p = e + 1;
	}

	if (domain_n == 15 && memcmp(domain, "index.docker.io", 15) == 0) {
		domain = IMAGE_DEFAULT_DOMAIN;
		domain_n = strlen(domain);
	}
	out->domain = xstrndup(domain, domain_n);
	if (str_eq(out->domain, IMAGE_DEFAULT_DOMAIN) && !strchr(path, '/'))
		out->path = xasprintf("library/%s", path);
	else
		out->path = xstrdup(path);
	if (strlen(out->domain) + 1 + strlen(out->path) > IMAGE_NAME_MAX) {
		image_ref_free(out);
		return bad_ref(err, s, "repository name too long");
	}
	out->tag = xstrdup(tag);
	out->digest = at ? xstrdup(at + 1) : NULL;
	/* k8s: an image without a tag or digest means :latest (and so imagePullPolicy
	 * defaults to Always for it). */
	if (!out->tag && !out->digest)
		out->tag = xstrdup(IMAGE_DEFAULT_TAG);
	return 0;
}

void image_ref_free(image_ref *r)
{
	if (!r)
		return;
	free(r->domain);
	free(r->path);
	free(r->tag);
	free(r->digest);
	memset(r, 0, sizeof *r);
}

char *image_ref_name(const image_ref *r)
{
	return xasprintf("%s/%s", r->domain, r->path);
}

char *image_ref_string(const image_ref *r)
{
	return xasprintf("%s/%s%s%s%s%s", r->domain, r->path, r->tag ? ":" : "",
	                 r->tag ? r->tag : "", r->digest ? "@" : "", r->digest ? r->digest : "");
}

char *image_ref_tagged(const image_ref *r)
{
	return r->tag ? xasprintf("%s/%s:%s", r->domain, r->path, r->tag) : NULL;
}

const char *image_ref_reference(const image_ref *r)
{
	return r->digest ? r->digest : r->tag;
}

bool image_domain_is_loopback(const char *domain)
{
	if (!domain)
		return false;
	size_t n = strlen(domain);
	const char *end;
	if (domain[0] == '[') {
		end = strchr(domain, ']');
		if (!end)
			return false;
		return (size_t)(end - domain) == 4 && memcmp(domain, "[::1", 4) == 0;
	}
	end = strchr(domain, ':');
	size_t hn = end ? (size_t)(end - domain) : n;
	if (hn == 9 && memcmp(domain, "localhost", 9) == 0)
		return true;
	if (hn < 9 || memcmp(domain, "127.", 4) != 0)
		return false;
	/* 127.a.b.c with decimal octets */
	int dots = 0;
	for (size_t i = 4; i < hn; i++) {
		if (domain[i] == '.')
			dots++;
		else if (!isdigit((unsigned char)domain[i]))
			return false;
	}
	return dots == 2;
}
