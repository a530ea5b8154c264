/* probe_http.c — the probes that speak HTTP: httpGet (HTTP/1.1 or HTTPS through libcurl)
 * and grpc (grpc.health.v1.Health/Check over cleartext HTTP/2, libcurl with nghttp2).
 * Blocking: worker threads only.
 * Not for: exec and tcpSocket probes (probe.c). */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agent/probe-internal.h"
#include "base/buf.h"
#include "base/util.h"

#define MAX_REDIRECTS 10 /* k8s: Go's http.Client stops after 10 redirects */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

typedef struct body {
	buf b;
	size_t cap;
} body;

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	body *bd = ud;
	size_t len = size * n;
	/* k8s: the body is read up to a limit; the rest is not needed, stop the transfer. */
	if (bd->b.n + len > bd->cap) {
		buf_add(&bd->b, p, bd->cap - bd->b.n);
		return 0;
	}
	buf_add(&bd->b, p, len);
	return len;
}

/* The host part of url (new string, lower case), or NULL. */
static char *url_host(const char *url)
{
	CURLU *u = curl_url();
	char *h = NULL, *out = NULL;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK) {
		out = xstrdup(h);
		for (char *c = out; *c; c++)
			if (*c >= 'A' && *c <= 'Z')
				*c = (char)(*c - 'A' + 'a');
	}
	curl_free(h);
	curl_url_cleanup(u);
	return out;
}

/* The Go client's wording of a failed request to url. */
static char *transport_error(CURL *c, CURLcode rc, const char *url, const char *hostport)
{
	long os = 0;
	curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &os);
	if (rc == CURLE_OPERATION_TIMEDOUT)
		return xasprintf("Get \"%s\": context deadline exceeded (Client.Timeout exceeded while "
		                 "awaiting headers)",
		                 url);
	if (rc == CURLE_COULDNT_CONNECT && os) {
		_cleanup_free_ char *t = probe_errno_text((int)os);
		return xasprintf("Get \"%s\": dial tcp %s: connect: %s", url, hostport, t);
	}
	if (rc == CURLE_COULDNT_RESOLVE_HOST) {
		_cleanup_free_ char *h = url_host(url);
		return xasprintf("Get \"%s\": dial tcp: lookup %s: no such host", url, h ? h : "");
	}
	return xasprintf("Get \"%s\": %s", url, curl_easy_strerror(rc));
}

static struct curl_slist *http_headers(json_t *h)
{
	struct curl_slist *l = NULL;
	bool ua = false, accept = false;
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(h, "httpHeaders"), i, e) {
		const char *name = json_string_value(json_object_get(e, "name"));
		const char *value = json_string_value(json_object_get(e, "value"));
		if (!name || !name[0] || strpbrk(name, ":\r\n") || (value && strpbrk(value, "\r\n")))
			continue;
		ua = ua || strcasecmp(name, "User-Agent") == 0;
		accept = accept || strcasecmp(name, "Accept") == 0;
		/* "Name;" is how curl sends a header with an empty value. */
		_cleanup_free_ char *line = value && value[0] ? xasprintf("%s: %s", name, value)
		                                             : xasprintf("%s;", name);
		l = curl_slist_append(l, line);
	}
	/* k8s: the prober sends its own User-Agent and Accept unless the probe sets them. */
	if (!ua)
		l = curl_slist_append(l, "User-Agent: " PROBE_USER_AGENT);
	if (!accept)
		l = curl_slist_append(l, "Accept: */*");
	l = curl_slist_append(l, "Connection: close");
	return l;
}

probe_result probe_http(json_t *h, const char *host, int port, int timeout_s, char **message)
{
	pthread_once(&curl_once, curl_init_once);
	const char *scheme = json_string_value(json_object_get(h, "scheme"));
	bool https = scheme && strcasecmp(scheme, "HTTPS") == 0;
	const char *path = json_string_value(json_object_get(h, "path"));
	if (!path)
		path = "";
	_cleanup_free_ char *hp = probe_host_port(host, port);
	_cleanup_free_ char *url = xasprintf("%s://%s%s%s", https ? "https" : "http", hp,
	                                     path[0] == '/' ? "" : "/", path);
	_cleanup_free_ char *orig_host = url_host(url);
	struct curl_slist *hdrs = http_headers(h);
	int64_t deadline = time_mono_ns() + (int64_t)timeout_s * 1000000000LL;
	probe_result r = PROBE_FAILURE;
	body bd = {.cap = PROBE_MAX_BODY};
	for (int hop = 0;; hop++) {
		CURL *c = curl_easy_init();
		buf_reset(&bd.b);
		int64_t left_ms = (deadline - time_mono_ns()) / 1000000;
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(left_ms > 1 ? left_ms : 1));
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &bd);
		curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
		curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
		/* k8s: HTTPS probes do not verify the server's certificate. */
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
		CURLcode rc = curl_easy_perform(c);
		long code = 0;
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && code > 0)) {
			probe_set_message(message, transport_error(c, rc, url, hp));
			curl_easy_cleanup(c);
			break;
		}
		if (code >= 300 && code < 400) {
			char *loc = NULL;
			curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &loc);
			_cleanup_free_ char *next_host = loc ? url_host(loc) : NULL;
			/* k8s: redirects are followed to the same host only; a redirect elsewhere
			 * ends the probe with the 3xx response, a success with a warning. */
			if (loc && next_host && str_eq(next_host, orig_host)) {
				if (hop + 1 >= MAX_REDIRECTS) {
					probe_set_message(message,
					                  xasprintf("Get \"%s\": stopped after %d redirects", loc,
					                            MAX_REDIRECTS));
					curl_easy_cleanup(c);
					break;
				}
				free(url);
				url = xstrdup(loc);
				curl_easy_cleanup(c);
				continue;
			}
			probe_set_message(message, xasprintf("Probe terminated redirects, Response body: %s",
			                                     bd.b.p ? bd.b.p : ""));
			r = PROBE_SUCCESS;
		} else if (code >= 200 && code < 400) {
			r = PROBE_SUCCESS;
		} else {
			/* k8s: success is 200 <= status < 400. */
			probe_set_message(message,
			                  xasprintf("HTTP probe failed with statuscode: %ld", code));
		}
		curl_easy_cleanup(c);
		break;
	}
	buf_free(&bd.b);
	curl_slist_free_all(hdrs);
	return r;
}

/* ---------- grpc ---------- */

typedef struct grpc_reply {
	int status; /* grpc-status; -1 until seen */
	char *grpc_message;
} grpc_reply;

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	grpc_reply *g = ud;
	size_t len = size * n;
	_cleanup_free_ char *line = xstrndup(p, len);
	line[strcspn(line, "\r\n")] = 0;
	if (strncasecmp(line, "grpc-status:", 12) == 0)
		g->status = atoi(line + 12 + strspn(line + 12, " "));
	else if (strncasecmp(line, "grpc-message:", 13) == 0) {
		free(g->grpc_message);
		g->grpc_message = xstrdup(line + 13 + strspn(line + 13, " "));
	}
	return len;
}

/* Reads a protobuf varint at *p (< end); -1 when truncated. */
static int64_t varint(const unsigned char **p, const unsigned char *end)
{
	uint64_t v = 0;
	for (int shift = 0; *p < end && shift < 64; shift += 7) {
		unsigned char b = *(*p)++;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return (int64_t)v;
	}
	return -1;
}

/* HealthCheckResponse.status from a length-prefixed gRPC message; -1 when malformed. */
static int health_status(const unsigned char *m, size_t n)
{
	if (n < 5 || m[0] != 0)
		return -1;
	size_t len = (size_t)m[1] << 24 | (size_t)m[2] << 16 | (size_t)m[3] << 8 | m[4];
	if (len > n - 5)
		return -1;
	const unsigned char *p = m + 5, *end = p + len;
	int status = 0; /* proto3: an absent enum field is 0 (UNKNOWN) */
	while (p < end) {
		int64_t key = varint(&p, end);
		if (key < 0)
			return -1;
		int64_t v;
		switch (key & 7) {
		case 0:
			if ((v = varint(&p, end)) < 0)
				return -1;
			if (key >> 3 == 1)
				status = (int)v;
			break;
		case 2:
			if ((v = varint(&p, end)) < 0 || v > end - p)
				return -1;
			p += v;
			break;
		case 5:
			p += 4;
			break;
		case 1:
			p += 8;
			break;
		default:
			return -1;
		}
	}
	return p == end ? status : -1;
}

static const char *const health_names[] = {"UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"};

probe_result probe_grpc(json_t *h, const char *host, int port, int timeout_s, char **message)
{
	pthread_once(&curl_once, curl_init_once);
	const char *service = json_string_value(json_object_get(h, "service"));
	size_t slen = service ? strlen(service) : 0;
	if (slen > 4096) {
		probe_set_message(message, xstrdup("grpc probe service name too long"));
		return PROBE_ERROR;
	}
	/* HealthCheckRequest{service = 1} in a gRPC frame: flag 0, 4-byte length. */
	unsigned char req[5 + 3 + 4096];
	size_t plen = 0;
	if (slen) {
		unsigned char *q = req + 5;
		*q++ = 0x0a;
		size_t v = slen;
		while (v >= 0x80) {
			*q++ = (unsigned char)(v | 0x80);
			v >>= 7;
		}
		*q++ = (unsigned char)v;
		memcpy(q, service, slen);
		plen = (size_t)(q - (req + 5)) + slen;
	}
	req[0] = 0;
	req[1] = (unsigned char)(plen >> 24);
	req[2] = (unsigned char)(plen >> 16);
	req[3] = (unsigned char)(plen >> 8);
	req[4] = (unsigned char)plen;
	_cleanup_free_ char *hp = probe_host_port(host, port);
	_cleanup_free_ char *url = xasprintf("http://%s/grpc.health.v1.Health/Check", hp);
	struct curl_slist *hdrs = NULL;
	hdrs = curl_slist_append(hdrs, "Content-Type: application/grpc");
	hdrs = curl_slist_append(hdrs, "TE: trailers");
	hdrs = curl_slist_append(hdrs, "User-Agent: " PROBE_USER_AGENT);
	hdrs = curl_slist_append(hdrs, "Accept:");
	hdrs = curl_slist_append(hdrs, "Expect:");
	body bd = {.cap = 4096};
	grpc_reply g = {.status = -1};
	CURL *c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_s * 1000L);
	curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, (const char *)req);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)(5 + plen));
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &bd);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &g);
	curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
	CURLcode rc = curl_easy_perform(c);
	long code = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_off_t connected = 0;
	curl_easy_getinfo(c, CURLINFO_CONNECT_TIME_T, &connected);
	probe_result r = PROBE_FAILURE;
	/* k8s (pkg/probe/grpc): every way of not hearing SERVING is a failure, worded as
	 * grpc-go words it. */
	if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
	    (rc == CURLE_OPERATION_TIMEDOUT && connected == 0)) {
		long os = 0;
		curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &os);
		_cleanup_free_ char *t = os ? probe_errno_text((int)os) : xstrdup("context deadline exceeded");
		probe_set_message(message, xasprintf("timeout: failed to connect service \"%s\" within "
		                                     "%ds: %s",
		                                     hp, timeout_s, t));
	} else if (rc == CURLE_OPERATION_TIMEDOUT) {
		probe_set_message(message,
		                  xasprintf("timeout: health rpc did not complete within %ds", timeout_s));
	} else if (rc != CURLE_OK) {
		probe_set_message(message, xasprintf("health rpc probe failed: %s", curl_easy_strerror(rc)));
	} else if (g.status == 12) {
		probe_set_message(message, xasprintf("this server does not implement the grpc health "
		                                     "protocol (grpc.health.v1.Health): %s",
		                                     g.grpc_message ? g.grpc_message : ""));
	} else if (g.status != 0) {
		probe_set_message(message, xasprintf("health rpc probe failed: rpc error: code = %d desc = %s",
		                                     g.status == -1 ? 2 : g.status,
		                                     g.grpc_message ? g.grpc_message
		                                                    : code != 200 ? "unexpected HTTP status"
		                                                                  : ""));
	} else {
		int st = health_status((const unsigned char *)bd.b.p, bd.b.n);
		if (st == 1) {
			r = PROBE_SUCCESS;
		} else if (st < 0) {
			probe_set_message(message, xstrdup("health rpc probe failed: malformed response"));
		} else {
			probe_set_message(message, xasprintf("service unhealthy (responded with \"%s\")",
			                                     st < 4 ? health_names[st] : "UNKNOWN"));
		}
	}
	curl_easy_cleanup(c);
	curl_slist_free_all(hdrs);
	buf_free(&bd.b);
	free(g.grpc_message);
	return r;
}
