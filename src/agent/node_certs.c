/* node_certs.c — a standalone agent's certificates kept fresh on its loop (node_server.h):
 * a new key and CertificateSigningRequest with the node's identity when 80% of the
 * lifetime has passed (kubelet's certificate manager rotates at 70-90%), the request
 * polled until signed, the pair saved atomically (key first) and handed to the owner.
 * Not for: the first client certificate (join.c, before the loop exists).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/node_server.h"
#include "apiserver/client.h"
#include "base/base64.h"
#include "base/json.h"
#include "base/log.h"
#include "base/pki.h"
#include "base/util.h"

#define POLL_MS      1000
#define MAX_POLLS    120
#define RETRY_MS     10000

struct node_cert {
	apiserver *s;
	char *crt_path, *key_path, *name, *node, *signer;
	char **sans, **usages;
	node_cert_cb installed;
	void *ud;
	uv_timer_t timer;
	char *csr_name;  /* the request being waited for */
	char *key_pem;   /* its key */
	int polls;
	bool busy;       /* a request or poll is in flight */
	bool stopped;
};

static char **strv_dup(const char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	char **out = xcalloc(n + 1, sizeof *out);
	for (size_t i = 0; i < n; i++)
		out[i] = xstrdup(v[i]);
	return out;
}

static void strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

int64_t node_cert_renew_at(int64_t not_before, int64_t not_after)
{
	if (not_after <= not_before)
		return not_before;
	return not_before + (not_after - not_before) * 8 / 10;
}

static void on_timer(uv_timer_t *t);

static void schedule_ms(node_cert *c, uint64_t ms)
{
	if (!c->stopped)
		uv_timer_start(&c->timer, on_timer, ms, 0);
}

/* Schedules the renewal of the certificate on disk: at once when it is absent or due. */
static void schedule_from_disk(node_cert *c)
{
	char *pem = NULL;
	size_t n = 0;
	int64_t nb = 0, na = 0;
	int64_t due = 0;
	if (pki_read_file(c->crt_path, &pem, &n, NULL) == 0 &&
	    pki_cert_info(pem, n, &nb, &na, NULL) == 0)
		due = node_cert_renew_at(nb, na);
	free(pem);
	int64_t now = time(NULL);
	uint64_t ms = due > now ? (uint64_t)(due - now) * 1000 : 0;
	if (ms)
		log_info("agent: %s certificate renewal due in %llu s", c->name,
		         (unsigned long long)(ms / 1000));
	schedule_ms(c, ms);
}

static void request_done(node_cert *c, const char *cert_pem, size_t len)
{
	terr *err = NULL;
	if (pki_write_file_atomic(c->key_path, c->key_pem, strlen(c->key_pem), 0600, &err) < 0 ||
	    pki_write_file_atomic(c->crt_path, cert_pem, len, 0644, &err) < 0) {
		log_error("agent: saving the %s certificate: %s", c->name, err->message);
		terr_free(err);
		schedule_ms(c, RETRY_MS);
		return;
	}
	log_info("agent: new %s certificate from certificate request %s", c->name, c->csr_name);
	_cleanup_free_ char *pem = xstrndup(cert_pem, len);
	if (c->installed)
		c->installed(c->ud, pem, c->key_pem);
	free(c->key_pem);
	c->key_pem = NULL;
	c->polls = 0;
	schedule_from_disk(c);
}

static void on_polled(void *ud, int code, json_t *obj)
{
	node_cert *c = ud;
	c->busy = false;
	if (c->stopped) {
		free(c);
		return;
	}
	const char *c64 = code == 200 ? json_path_str(obj, "status.certificate") : NULL;
	if (c64 && *c64) {
		size_t n = 0;
		unsigned char *pem = base64_decode(c64, &n);
		if (pem) {
			request_done(c, (const char *)pem, n);
			free(pem);
			return;
		}
	}
	size_t i;
	json_t *cond;
	json_array_foreach(json_path(obj, "status.conditions"), i, cond)
	{
		const char *ty = json_string_value(json_object_get(cond, "type"));
		if (str_eq(ty, "Denied") || str_eq(ty, "Failed")) {
			log_warn("agent: certificate request %s was %s; trying again later", c->csr_name, ty);
			c->polls = 0;
			schedule_ms(c, RETRY_MS);
			return;
		}
	}
	if (++c->polls > MAX_POLLS) {
		log_warn("agent: certificate request %s is not signed after %d s; asking again",
		         c->csr_name, MAX_POLLS * POLL_MS / 1000);
		schedule_ms(c, RETRY_MS);
		return;
	}
	schedule_ms(c, POLL_MS);
}

static void on_created(void *ud, int code, json_t *obj)
{
	node_cert *c = ud;
	c->busy = false;
	if (c->stopped) {
		free(c);
		return;
	}
	if (code != 201 && code != 200) {
		log_warn("agent: creating certificate request %s answered %d: %s", c->csr_name, code,
		         json_string_value(json_object_get(obj, "message")));
		schedule_ms(c, RETRY_MS);
		return;
	}
	log_info("agent: asked for a %s certificate (certificate request %s)", c->name, c->csr_name);
	c->polls = 1; /* from now on the timer polls the request */
	schedule_ms(c, POLL_MS);
}

static const char *const node_orgs[] = {"system:nodes", NULL};

static void start_request(node_cert *c)
{
	_cleanup_free_ char *cn = xasprintf("system:node:%s", c->node);
	_cleanup_free_ char *csr = NULL;
	terr *err = NULL;
	free(c->key_pem);
	c->key_pem = NULL;
	c->polls = 0;
	if (pki_csr_new_sans(cn, node_orgs, (const char *const *)c->sans, &csr, &c->key_pem,
	                     &err) < 0) {
		log_error("agent: %s certificate request: %s", c->name, err->message);
		terr_free(err);
		schedule_ms(c, RETRY_MS);
		return;
	}
	unsigned char rnd[4];
	random_bytes(rnd, sizeof rnd);
	free(c->csr_name);
	c->csr_name = xasprintf("node-%s-%s-%02x%02x%02x%02x", c->name, c->node, rnd[0], rnd[1],
	                        rnd[2], rnd[3]);
	_cleanup_free_ char *b64 = base64_encode(csr, strlen(csr));
	json_t *usages = json_array();
	for (size_t i = 0; c->usages[i]; i++)
		json_array_append_new(usages, json_string(c->usages[i]));
	json_t *obj = json_pack("{s:s, s:s, s:{s:s}, s:{s:s, s:s, s:o}}", "apiVersion",
	                        "certificates.k8s.io/v1", "kind", "CertificateSigningRequest",
	                        "metadata", "name", c->csr_name, "spec", "request", b64,
	                        "signerName", c->signer, "usages", usages);
	c->busy = true;
	client_do(c->s, "kubelet", "POST", "/apis/certificates.k8s.io/v1/certificatesigningrequests",
	          obj, NULL, on_created, c);
	json_decref(obj);
}

static void on_timer(uv_timer_t *t)
{
	node_cert *c = t->data;
	if (c->busy || c->stopped)
		return;
	if (c->key_pem && c->csr_name && c->polls > 0 && c->polls <= MAX_POLLS) {
		/* A request waits for its signature. */
		_cleanup_free_ char *path = xasprintf(
		    "/apis/certificates.k8s.io/v1/certificatesigningrequests/%s", c->csr_name);
		c->busy = true;
		client_do(c->s, "kubelet", "GET", path, NULL, NULL, on_polled, c);
		return;
	}
	start_request(c);
}

node_cert *node_cert_keep(apiserver *s, const char *tls_dir, const char *name,
                          const char *node, const char *signer, const char *const *sans,
                          const char *const *usages, node_cert_cb installed, void *ud)
{
	node_cert *c = xcalloc(1, sizeof *c);
	c->s = s;
	c->name = xstrdup(name);
	c->crt_path = xasprintf("%s/%s.crt", tls_dir, name);
	c->key_path = xasprintf("%s/%s.key", tls_dir, name);
	c->node = xstrdup(node);
	c->signer = xstrdup(signer);
	c->sans = strv_dup(sans);
	c->usages = strv_dup(usages);
	c->installed = installed;
	c->ud = ud;
	uv_timer_init(apiserver_loop(s), &c->timer);
	c->timer.data = c;
	schedule_from_disk(c);
	return c;
}

static void on_closed(uv_handle_t *h)
{
	node_cert *c = h->data;
	free(c->crt_path);
	free(c->key_path);
	free(c->name);
	free(c->node);
	free(c->signer);
	free(c->csr_name);
	free(c->key_pem);
	strv_free(c->sans);
	strv_free(c->usages);
	/* A request in flight frees c when it answers. */
	if (!c->busy)
		free(c);
}

void node_cert_stop(node_cert *c)
{
	if (!c)
		return;
	c->stopped = true;
	uv_timer_stop(&c->timer);
	uv_close((uv_handle_t *)&c->timer, on_closed);
}
