/* service.c — `timon service NAME [-n NS] [--url] [--kubeconfig F]`: the URLs a user opens
 * to reach a NodePort or LoadBalancer Service from outside the cluster, one per port, like
 * `minikube service --url`. Reads the Service through the API with the kubeconfig's
 * credentials (libcurl). The address is the service's load-balancer IP when it has one,
 * else a node's InternalIP, else the API server's host when it is not loopback, else this
 * machine's address (the single-node case).
 * Not for: opening browsers or tunnels.
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base64.h"
#include "base/buf.h"
#include "base/json.h"
#include "base/util.h"
#include "base/yaml.h"
#include "cmd/cmd.h"
#include "proxy/netsvc.h"

static const char usage[] =
    "Usage: timon service NAME [flags]\n"
    "\n"
    "Prints the URL of each port of a NodePort or LoadBalancer Service.\n"
    "\n"
    "Flags:\n"
    "  -n, --namespace NS   the service's namespace (default: the context's, else default)\n"
    "      --url            print only the URLs, one a line\n"
    "      --kubeconfig F   the cluster (default: $KUBECONFIG, else "
    "/var/lib/timon/kubeconfig.yaml)\n"
    "  -h, --help           show this help\n";

typedef struct api {
	CURL *curl;
	char *server;
	struct curl_slist *hdrs;
	unsigned char *ca, *cert, *key;
	size_t ca_len, cert_len, key_len;
} api;

static size_t on_data(char *p, size_t sz, size_t n, void *ud)
{
	buf_add(ud, p, sz * n);
	return sz * n;
}

/* The named entry of a kubeconfig list ("clusters", "users", "contexts"), its inner object. */
static json_t *named(json_t *kc, const char *list, const char *inner, const char *name)
{
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(kc, list), i, e)
	{
		if (str_eq(json_string_value(json_object_get(e, "name")), name))
			return json_object_get(e, inner);
	}
	return NULL;
}

static unsigned char *field_bytes(json_t *o, const char *data_key, const char *file_key,
                                  size_t *len)
{
	const char *d = json_string_value(json_object_get(o, data_key));
	if (d)
		return base64_decode(d, len);
	const char *f = json_string_value(json_object_get(o, file_key));
	if (!f)
		return NULL;
	FILE *fp = fopen(f, "rb");
	if (!fp)
		return NULL;
	buf b = {0};
	char tmp[4096];
	size_t n;
	while ((n = fread(tmp, 1, sizeof tmp, fp)) > 0)
		buf_add(&b, tmp, n);
	fclose(fp);
	*len = b.n;
	return (unsigned char *)buf_take(&b);
}

static int api_open(api *a, const char *path, char **ns_out)
{
	FILE *fp = fopen(path, "rb");
	if (!fp) {
		fprintf(stderr, "timon service: cannot read kubeconfig %s: %m\n", path);
		return -1;
	}
	buf b = {0};
	char tmp[4096];
	size_t n;
	while ((n = fread(tmp, 1, sizeof tmp, fp)) > 0)
		buf_add(&b, tmp, n);
	fclose(fp);
	terr *err = NULL;
	_cleanup_json_ json_t *kc = yaml_to_json(b.p ? b.p : "", b.n, &err);
	buf_free(&b);
	if (!kc) {
		fprintf(stderr, "timon service: %s: %s\n", path, err ? err->message : "not YAML");
		terr_free(err);
		return -1;
	}
	const char *cur = json_string_value(json_object_get(kc, "current-context"));
	json_t *ctx = named(kc, "contexts", "context", cur);
	json_t *cluster =
	    named(kc, "clusters", "cluster", json_string_value(json_object_get(ctx, "cluster")));
	json_t *user = named(kc, "users", "user", json_string_value(json_object_get(ctx, "user")));
	const char *server = json_string_value(json_object_get(cluster, "server"));
	if (!server) {
		fprintf(stderr, "timon service: %s: no server for context %s\n", path,
		        cur ? cur : "(none)");
		return -1;
	}
	const char *ns = json_string_value(json_object_get(ctx, "namespace"));
	if (ns && !*ns_out)
		*ns_out = xstrdup(ns);
	a->server = xstrdup(server);
	a->curl = curl_easy_init();
	a->ca =
	    field_bytes(cluster, "certificate-authority-data", "certificate-authority", &a->ca_len);
	a->cert = field_bytes(user, "client-certificate-data", "client-certificate", &a->cert_len);
	a->key = field_bytes(user, "client-key-data", "client-key", &a->key_len);
	if (a->ca) {
		struct curl_blob bl = {a->ca, a->ca_len, CURL_BLOB_COPY};
		curl_easy_setopt(a->curl, CURLOPT_CAINFO_BLOB, &bl);
	}
	if (a->cert && a->key) {
		struct curl_blob c = {a->cert, a->cert_len, CURL_BLOB_COPY};
		struct curl_blob k = {a->key, a->key_len, CURL_BLOB_COPY};
		curl_easy_setopt(a->curl, CURLOPT_SSLCERT_BLOB, &c);
		curl_easy_setopt(a->curl, CURLOPT_SSLCERTTYPE, "PEM");
		curl_easy_setopt(a->curl, CURLOPT_SSLKEY_BLOB, &k);
		curl_easy_setopt(a->curl, CURLOPT_SSLKEYTYPE, "PEM");
	}
	const char *token = json_string_value(json_object_get(user, "token"));
	a->hdrs = curl_slist_append(NULL, "Accept: application/json");
	if (token) {
		_cleanup_free_ char *h = xasprintf("Authorization: Bearer %s", token);
		a->hdrs = curl_slist_append(a->hdrs, h);
	}
	curl_easy_setopt(a->curl, CURLOPT_HTTPHEADER, a->hdrs);
	curl_easy_setopt(a->curl, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(a->curl, CURLOPT_WRITEFUNCTION, on_data);
	return 0;
}

/* GETs path; the decoded body, *code the status (0: no answer). */
static json_t *api_get(api *a, const char *path, long *code)
{
	_cleanup_free_ char *url = xasprintf("%s%s", a->server, path);
	buf b = {0};
	curl_easy_setopt(a->curl, CURLOPT_URL, url);
	curl_easy_setopt(a->curl, CURLOPT_WRITEDATA, &b);
	*code = 0;
	CURLcode r = curl_easy_perform(a->curl);
	if (r != CURLE_OK) {
		fprintf(stderr, "timon service: %s: %s\n", a->server, curl_easy_strerror(r));
		buf_free(&b);
		return NULL;
	}
	curl_easy_getinfo(a->curl, CURLINFO_RESPONSE_CODE, code);
	json_t *j = json_loadb(b.p ? b.p : "", b.n, 0, NULL);
	buf_free(&b);
	return j;
}

static void api_close(api *a)
{
	if (a->curl)
		curl_easy_cleanup(a->curl);
	curl_slist_free_all(a->hdrs);
	free(a->server);
	free(a->ca);
	free(a->cert);
	free(a->key);
}

static bool is_loopback(const char *host)
{
	struct in_addr in;
	return str_eq(host, "localhost") ||
	       (inet_pton(AF_INET, host, &in) == 1 && (ntohl(in.s_addr) >> 24) == 127) ||
	       str_eq(host, "[::1]");
}

/* The address users reach node ports on, into out[256]. */
static void node_address(api *a, json_t *svc, char out[256])
{
	json_t *ing = json_array_get(json_path(svc, "status.loadBalancer.ingress"), 0);
	const char *lb = json_string_value(json_object_get(ing, "ip"));
	if (lb) {
		snprintf(out, 256, "%s", lb);
		return;
	}
	long code;
	_cleanup_json_ json_t *nodes = api_get(a, "/api/v1/nodes", &code);
	size_t i, k;
	json_t *n, *ad;
	json_array_foreach(json_object_get(nodes, "items"), i, n)
	{
		json_array_foreach(json_path(n, "status.addresses"), k, ad)
		{
			if (str_eq(json_string_value(json_object_get(ad, "type")), "InternalIP")) {
				snprintf(out, 256, "%s",
				         json_string_value(json_object_get(ad, "address")));
				return;
			}
		}
	}
	/* https://HOST:PORT */
	const char *h = strstr(a->server, "://");
	h = h ? h + 3 : a->server;
	size_t len = strcspn(h, ":/");
	char host[256];
	snprintf(host, sizeof host, "%.*s", (int)len, h);
	if (host[0] && !is_loopback(host)) {
		snprintf(out, 256, "%s", host);
		return;
	}
	char ip[64];
	netsvc_node_ip(ip);
	snprintf(out, 256, "%s", ip);
}

/* Reads the Service and prints its URLs; 0 or 1. */
static int print_urls(api *a, const char *ns, const char *name, bool url_only)
{
	_cleanup_free_ char *path = xasprintf("/api/v1/namespaces/%s/services/%s", ns, name);
	long code;
	_cleanup_json_ json_t *svc = api_get(a, path, &code);
	if (code == 404) {
		fprintf(stderr, "timon service: service \"%s\" not found in namespace %s\n", name,
		        ns);
		return 1;
	}
	if (code != 200 || !svc) {
		fprintf(stderr, "timon service: reading %s/%s: HTTP %ld %s\n", ns, name, code,
		        json_string_value(json_object_get(svc, "message")) ?: "");
		return 1;
	}
	const char *type = json_path_str(svc, "spec.type") ?: "ClusterIP";
	if (strcmp(type, "NodePort") != 0 && strcmp(type, "LoadBalancer") != 0) {
		fprintf(stderr,
		        "timon service: service %s/%s is of type %s: it has no port on the nodes "
		        "(make it NodePort or LoadBalancer, or route to it with an Ingress)\n",
		        ns, name, type);
		return 1;
	}
	char addr[256];
	node_address(a, svc, addr);
	size_t i;
	json_t *p;
	int printed = 0;
	json_array_foreach(json_path(svc, "spec.ports"), i, p)
	{
		json_int_t np = json_integer_value(json_object_get(p, "nodePort"));
		json_int_t port = json_integer_value(json_object_get(p, "port"));
		const char *pname = json_string_value(json_object_get(p, "name"));
		if (!np)
			continue;
		const char *scheme =
		    (pname && strstr(pname, "https")) || port == 443 ? "https" : "http";
		if (url_only)
			printf("%s://%s:%lld\n", scheme, addr, (long long)np);
		else
			printf("%s/%s\t%s/%lld\t%s://%s:%lld\n", ns, name,
			       pname && *pname ? pname : "-", (long long)port, scheme, addr,
			       (long long)np);
		printed++;
	}
	if (!printed) {
		fprintf(stderr, "timon service: service %s/%s has no node ports\n", ns, name);
		return 1;
	}
	return 0;
}

int cmd_service(int argc, char **argv)
{
	_cleanup_free_ char *ns = NULL;
	const char *kubeconfig = NULL;
	bool url_only = false;
	static const struct option opts[] = {
	    {"namespace", required_argument, NULL, 'n'},
	    {"url", no_argument, NULL, 'u'},
	    {"kubeconfig", required_argument, NULL, 'k'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "n:h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			free(ns);
			ns = xstrdup(optarg);
			break;
		case 'u':
			url_only = true;
			break;
		case 'k':
			kubeconfig = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		fputs(usage, stderr);
		return 2;
	}
	const char *name = argv[optind];
	_cleanup_free_ char *kc_path = NULL;
	const char *env = getenv("KUBECONFIG");
	if (kubeconfig)
		kc_path = xstrdup(kubeconfig);
	else if (env && *env)
		kc_path = xstrndup(env, strcspn(env, ":")); /* the first file of the list */
	else
		kc_path = xstrdup("/var/lib/timon/kubeconfig.yaml");
	curl_global_init(CURL_GLOBAL_DEFAULT);
	api a = {0};
	int rc = 1;
	if (api_open(&a, kc_path, &ns) == 0) {
		if (!ns)
			ns = xstrdup("default");
		rc = print_urls(&a, ns, name, url_only);
	}
	api_close(&a);
	curl_global_cleanup();
	return rc;
}
