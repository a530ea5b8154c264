/* proxy.c — the service proxy as a controller (kube-proxy's job): it follows Services and
 * EndpointSlices through the watch cache, keeps per service the frag of rules it wants,
 * and applies the differences to `table inet timon` in one nft transaction per batch.
 *
 * Batching: a change enqueues its service; reconcile rebuilds the frag that service wants
 * and marks it dirty; just before the loop sleeps (uv_prepare), once the queue is drained
 * (or the oldest change is 50 ms old, or 1,000 services wait), every dirty service is
 * diffed once, from the frag last sent to the kernel to the one it wants, into one
 * transaction for a worker thread. (One diff per service and batch: two diffs of one
 * service in one batch would interleave their phases.) One transaction is in flight at
 * a time; changes meanwhile wait for the next. The first sync, and any sync after a
 * failure, replaces the whole table atomically from the frags (failures retry with
 * backoff, 1 s doubling to 30 s). Stopping removes the table.
 *
 * Enabled only when the server runs with TIMON_PROXY=nftables, or the flags recorded by
 * netsvc_configure say so (on by default with the node agent). TIMON_NODE_NAME names this node (default: the host name), for
 * local endpoints; TIMON_PROXY_CLUSTER_CIDR is the pod network (default 10.42.0.0/16,
 * "" for none), for masquerading cluster-IP traffic from outside it;
 * TIMON_PROXY_SERVICE_CIDR is the cluster-IP range (default 10.43.0.0/16).
 * Not for: rule text (nft_rules.c), object parsing (nft_model.c).
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "base/json.h"
#include "base/log.h"
#include "base/util.h"
#include "controllers/controller-internal.h"
#include "proxy/netsvc.h"
#include "proxy/proxy.h"

#define SERVICE_NAME_LABEL "kubernetes.io/service-name"
#define BATCH_MAX_AGE_MS   50
#define BATCH_MAX_CHANGES  1000
#define RETRY_MIN_MS       1000
#define RETRY_MAX_MS       30000

/* A service the proxy knows: the rules it wants, the rules last sent to the kernel (often
 * the same frag), and its EndpointSlices. */
typedef struct svc_entry {
	char *key; /* "ns/name" */
	nft_frag *want;
	nft_frag *applied;
	bool dirty;    /* in proxy.dirty */
	char **slices; /* storage keys */
	size_t nslices;
} svc_entry;

typedef struct proxy {
	controller *c;
	proxy_config cfg;
	char node_name[256];
	char table[PROXY_TABLE_MAX]; /* this node's table (proxy_table_name) */
	char cidr[64];
	char service_cidr[64];
	hmap services;     /* "ns/name" -> svc_entry */
	hmap slice_svc;    /* slice storage key (owned by the entry's list) -> svc_entry */
	svc_entry **dirty; /* services whose want differs from applied */
	size_t ndirty, capdirty;
	uint64_t dirty_since;
	bool need_full;
	uint64_t retry_at, retry_ms;
	uv_loop_t *loop;
	uv_prepare_t prepare;
	uv_timer_t retry_timer;
	int open_handles;
	/* The transaction in flight (worker thread). */
	bool in_flight;
	bool stopped;
	uv_work_t work;
	char *work_text;
	bool work_full;
	size_t work_changes;
	terr *work_err;
	int64_t work_ns;
	/* Serializes the worker's apply with the table removal at stop. */
	pthread_mutex_t mu;
	bool closed;
	nft_applier *nft;
} proxy;

/* ---------- the service index ---------- */

static svc_entry *entry_get(proxy *p, const char *key, bool create)
{
	svc_entry *e = hmap_get(&p->services, key);
	if (e || !create)
		return e;
	e = xcalloc(1, sizeof *e);
	e->key = xstrdup(key);
	hmap_put(&p->services, e->key, e);
	return e;
}

static bool frag_empty(const nft_frag *f)
{
	return !f || (!f->nobjs && !f->nelems);
}

/* Sets *slot to f, freeing the frag it held unless other (the entry's other frag) is it. */
static void frag_set(nft_frag **slot, nft_frag *f, const nft_frag *other)
{
	if (*slot != f && *slot != other)
		nft_frag_free(*slot);
	*slot = f;
}

static void entry_free(svc_entry *e)
{
	for (size_t i = 0; i < e->nslices; i++)
		free(e->slices[i]);
	free(e->slices);
	if (e->want != e->applied)
		nft_frag_free(e->want);
	nft_frag_free(e->applied);
	free(e->key);
	free(e);
}

/* Drops e once it holds nothing. */
static void entry_maybe_drop(proxy *p, svc_entry *e)
{
	if (e->nslices || e->dirty || !frag_empty(e->want) || !frag_empty(e->applied))
		return;
	hmap_del(&p->services, e->key);
	entry_free(e);
}

static void slice_unlink(proxy *p, const char *slice_key)
{
	svc_entry *e = hmap_get(&p->slice_svc, slice_key);
	if (!e)
		return;
	for (size_t i = 0; i < e->nslices; i++) {
		if (strcmp(e->slices[i], slice_key) == 0) {
			hmap_del(&p->slice_svc, slice_key);
			free(e->slices[i]);
			e->slices[i] = e->slices[--e->nslices];
			break;
		}
	}
	controller_enqueue(p->c, e->key);
}

/* The namespace of a storage key ".../<ns>/<name>", into out. */
static bool key_namespace(const char *key, char *out, size_t cap)
{
	const char *name = strrchr(key, '/');
	if (!name || name == key)
		return false;
	const char *ns = name - 1;
	while (ns > key && *ns != '/')
		ns--;
	size_t n = (size_t)(name - ns - 1);
	if (*ns != '/' || n == 0 || n >= cap)
		return false;
	memcpy(out, ns + 1, n);
	out[n] = '\0';
	return true;
}

/* k8s: a slice belongs to the service its kubernetes.io/service-name label names. */
static void on_slice(controller *c, const kind_desc *d, const cache_event *ev)
{
	UNUSED(d);
	proxy *p = c->state;
	if (!p)
		return;
	const char *svc = ev->type == STORE_DELETED
	                      ? NULL
	                      : json_string_value(json_object_get(ev->labels, SERVICE_NAME_LABEL));
	char ns[256];
	_cleanup_free_ char *want =
	    svc && key_namespace(ev->key, ns, sizeof ns) ? xasprintf("%s/%s", ns, svc) : NULL;
	svc_entry *had = hmap_get(&p->slice_svc, ev->key);
	if (had && (!want || strcmp(had->key, want) != 0)) {
		slice_unlink(p, ev->key);
		entry_maybe_drop(p, had);
		had = NULL;
	}
	if (want && !had) {
		svc_entry *e = entry_get(p, want, true);
		e->slices = xrealloc(e->slices, (e->nslices + 1) * sizeof *e->slices);
		e->slices[e->nslices] = xstrdup(ev->key);
		hmap_put(&p->slice_svc, e->slices[e->nslices++], e);
	}
	if (want)
		controller_enqueue(c, want);
}

/* ---------- reconcile: the frag a service wants ---------- */

static int reconcile(controller *c, const char *key)
{
	proxy *p = c->state;
	if (!p || p->stopped)
		return RECONCILE_DONE;
	_cleanup_free_ char *ns = NULL, *name = NULL;
	controller_split_key(key, &ns, &name);
	json_t *svc = ns ? controller_get(c, controller_kind("", "services"), ns, name) : NULL;
	svc_entry *e = entry_get(p, key, svc != NULL);
	if (!e)
		return RECONCILE_DONE;
	proxy_service *model = NULL;
	if (svc) {
		json_t **slices = xcalloc(e->nslices ? e->nslices : 1, sizeof *slices);
		size_t n = 0;
		for (size_t i = 0; i < e->nslices; i++) {
			const cache_entry *ce = cache_get(c->cache, e->slices[i]);
			if (ce &&
			    (slices[n] = json_loadb(ce->value->data, ce->value->len, 0, NULL)))
				n++;
		}
		model = proxy_service_parse(svc, slices, n, &p->cfg);
		for (size_t i = 0; i < n; i++)
			json_decref(slices[i]);
		free(slices);
		json_decref(svc);
	}
	nft_frag *frag = nft_frag_build(model, &p->cfg);
	proxy_service_free(model);
	if (nft_frag_equal(e->applied, frag)) {
		nft_frag_free(frag);
		frag = e->applied;
	}
	frag_set(&e->want, frag, e->applied);
	/* Dirty until the next batch diffs it (a full sync covers every service anyway). */
	if (e->want != e->applied && !e->dirty) {
		if (!p->ndirty)
			p->dirty_since = uv_now(p->loop);
		if (p->ndirty == p->capdirty) {
			p->capdirty = p->capdirty ? p->capdirty * 2 : 64;
			p->dirty = xrealloc(p->dirty, p->capdirty * sizeof *p->dirty);
		}
		p->dirty[p->ndirty++] = e;
		e->dirty = true;
	}
	entry_maybe_drop(p, e);
	return RECONCILE_DONE;
}

/* ---------- applying, off the loop ---------- */

static void work_cb(uv_work_t *w)
{
	proxy *p = w->data;
	pthread_mutex_lock(&p->mu);
	if (!p->closed) {
		int64_t t0 = time_mono_ns();
		nft_apply(p->nft, p->work_text, &p->work_err);
		p->work_ns = time_mono_ns() - t0;
	}
	pthread_mutex_unlock(&p->mu);
}

static void proxy_free(proxy *p)
{
	size_t it = 0;
	const char *k;
	void *v;
	while (hmap_next(&p->services, &it, &k, &v))
		entry_free(v);
	hmap_free(&p->services);
	hmap_free(&p->slice_svc);
	free(p->dirty);
	nft_applier_free(p->nft);
	free(p->work_text);
	terr_free(p->work_err);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

static void maybe_free(proxy *p)
{
	if (p->stopped && !p->in_flight && p->open_handles == 0)
		proxy_free(p);
}

static void on_retry_timer(uv_timer_t *t)
{
	UNUSED(t); /* wakes the loop; the prepare handle does the work */
}

static void after_work_cb(uv_work_t *w, int status)
{
	proxy *p = w->data;
	UNUSED(status);
	p->in_flight = false;
	if (p->stopped) {
		maybe_free(p);
		return;
	}
	double ms = (double)p->work_ns / 1e6;
	if (p->work_err) {
		log_warn("proxy: %s sync of %zu services failed after %.1f ms: %s",
		         p->work_full ? "full" : "incremental", p->work_changes, ms,
		         p->work_err->message);
		log_debug("proxy: the failed transaction:\n%.20000s", p->work_text);
		terr_free(p->work_err);
		p->work_err = NULL;
		/* What the kernel holds is unknown now: replace the table, after a pause. */
		p->need_full = true;
		p->retry_ms = p->retry_ms ? p->retry_ms * 2 : RETRY_MIN_MS;
		if (p->retry_ms > RETRY_MAX_MS)
			p->retry_ms = RETRY_MAX_MS;
		p->retry_at = uv_now(p->loop) + p->retry_ms;
		uv_timer_start(&p->retry_timer, on_retry_timer, p->retry_ms, 0);
		free(p->work_text);
		p->work_text = NULL;
		return;
	}
	free(p->work_text);
	p->work_text = NULL;
	p->retry_ms = 0;
	if (p->work_full)
		log_info("proxy: table inet %s synced, %zu services in %.1f ms", p->table,
		         p->work_changes, ms);
	else
		log_debug("proxy: %zu services updated in %.1f ms", p->work_changes, ms);
}

static void submit(proxy *p, char *text, bool full, size_t changes)
{
	p->work_text = text;
	p->work_full = full;
	p->work_changes = changes;
	p->in_flight = true;
	p->work.data = p;
	uv_queue_work(p->loop, &p->work, work_cb, after_work_cb);
}

/* Diffs every dirty service (or, full, every service) into b; what is sent becomes what
 * is applied. Returns the number of services in b. */
static size_t collect(proxy *p, nft_batch *b, bool full)
{
	size_t n = 0;
	if (full) {
		nft_batch_full(b, &p->cfg);
		size_t it = 0;
		const char *k;
		void *v;
		while (hmap_next(&p->services, &it, &k, &v)) {
			svc_entry *e = v;
			nft_batch_diff(b, NULL, e->want);
			n += !frag_empty(e->want);
			frag_set(&e->applied, e->want, e->want);
		}
	} else {
		for (size_t i = 0; i < p->ndirty; i++) {
			svc_entry *e = p->dirty[i];
			nft_batch_diff(b, e->applied, e->want);
			n++;
			frag_set(&e->applied, e->want, e->want);
		}
	}
	/* Entries emptied by a deletion go now that the kernel is told. */
	svc_entry **dirty = p->dirty;
	size_t ndirty = p->ndirty;
	p->dirty = NULL;
	p->ndirty = p->capdirty = 0;
	for (size_t i = 0; i < ndirty; i++) {
		dirty[i]->dirty = false;
		entry_maybe_drop(p, dirty[i]);
	}
	free(dirty);
	return n;
}

/* Before the loop sleeps: send what is pending, if the moment is right. */
static void on_prepare(uv_prepare_t *h)
{
	proxy *p = h->data;
	if (p->in_flight || p->stopped)
		return;
	uint64_t now = uv_now(p->loop);
	bool busy = controller_pending(p->c);
	nft_batch b = {.table = p->table};
	if (p->need_full) {
		/* Wait for the queue to drain (the initial list) and for any backoff. */
		if (busy || now < p->retry_at)
			return;
		p->need_full = false;
		size_t n = collect(p, &b, true);
		submit(p, nft_batch_take(&b), true, n);
		return;
	}
	if (!p->ndirty)
		return;
	/* k8s: coalesce: a burst of changes becomes one transaction. */
	if (busy && now - p->dirty_since < BATCH_MAX_AGE_MS && p->ndirty < BATCH_MAX_CHANGES)
		return;
	size_t n = collect(p, &b, false);
	if (!b.changes) { /* changed and changed back */
		nft_batch_free(&b);
		return;
	}
	submit(p, nft_batch_take(&b), false, n);
}

/* ---------- start and stop ---------- */

static void parse_cidr(const char *what, const char *s, char out[64])
{
	out[0] = '\0';
	if (!s || !*s)
		return;
	char addr[64];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	if (n >= sizeof addr)
		goto bad;
	memcpy(addr, s, n);
	addr[n] = '\0';
	struct in_addr a;
	char *end;
	long bits = slash ? strtol(slash + 1, &end, 10) : 32;
	if (inet_pton(AF_INET, addr, &a) != 1 || (slash && (*end || end == slash + 1)) ||
	    bits < 0 || bits > 32)
		goto bad;
	char ip[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &a, ip, sizeof ip);
	snprintf(out, 64, "%s/%ld", ip, bits);
	return;
bad:
	log_warn("proxy: %s=%s is not an IPv4 CIDR; ignored", what, s);
}

static void start(controller *c)
{
	const char *mode = netsvc_env("TIMON_PROXY");
	if (!mode || !*mode || strcmp(mode, "off") == 0)
		return;
	if (strcmp(mode, "nftables") != 0) {
		log_warn("proxy: TIMON_PROXY=%s is not a known mode (nftables); proxy off", mode);
		return;
	}
	terr *err = NULL;
	nft_applier *nft = nft_applier_new(&err);
	if (!nft) {
		log_error("proxy: %s; proxy off", err->message);
		terr_free(err);
		return;
	}
	proxy *p = xcalloc(1, sizeof *p);
	p->c = c;
	p->nft = nft;
	p->loop = apiserver_loop(c->srv);
	p->need_full = true;
	pthread_mutex_init(&p->mu, NULL);
	const char *node = netsvc_env("TIMON_NODE_NAME");
	if (node && *node)
		snprintf(p->node_name, sizeof p->node_name, "%s", node);
	else if (gethostname(p->node_name, sizeof p->node_name - 1) != 0)
		snprintf(p->node_name, sizeof p->node_name, "timon");
	const char *cidr = netsvc_env("TIMON_PROXY_CLUSTER_CIDR");
	parse_cidr("TIMON_PROXY_CLUSTER_CIDR", cidr ? cidr : "10.42.0.0/16", p->cidr);
	/* The range admission allocates cluster IPs from (apiserver/admission.c). */
	const char *svc_cidr = netsvc_env("TIMON_PROXY_SERVICE_CIDR");
	parse_cidr("TIMON_PROXY_SERVICE_CIDR", svc_cidr ? svc_cidr : "10.43.0.0/16",
	           p->service_cidr);
	char host[256] = "";
	if (gethostname(host, sizeof host - 1) != 0)
		host[0] = '\0';
	proxy_table_name(p->node_name, host, p->table);
	p->cfg.node_name = p->node_name;
	p->cfg.cluster_cidr = p->cidr[0] ? p->cidr : NULL;
	p->cfg.service_cidr = p->service_cidr[0] ? p->service_cidr : NULL;
	uv_prepare_init(p->loop, &p->prepare);
	p->prepare.data = p;
	uv_prepare_start(&p->prepare, on_prepare);
	uv_timer_init(p->loop, &p->retry_timer);
	p->retry_timer.data = p;
	p->open_handles = 2;
	c->state = p;
	log_info("proxy: nftables mode, table inet %s, node %s, cluster CIDR %s, "
	         "service CIDR %s",
	         p->table, p->node_name, p->cidr[0] ? p->cidr : "none",
	         p->service_cidr[0] ? p->service_cidr : "none");
}

static void on_handle_closed(uv_handle_t *h)
{
	proxy *p = h->data;
	p->open_handles--;
	maybe_free(p);
}

/* Removes the table; waits for a transaction in flight, and none runs after. */
static void stop(controller *c)
{
	proxy *p = c->state;
	if (!p)
		return;
	c->state = NULL;
	p->stopped = true;
	pthread_mutex_lock(&p->mu);
	p->closed = true;
	terr *err = NULL;
	_cleanup_free_ char *del = nft_table_delete_text(p->table);
	if (nft_apply(p->nft, del, &err) < 0) {
		log_warn("proxy: removing table inet %s: %s", p->table, err->message);
		terr_free(err);
	} else {
		log_info("proxy: table inet %s removed", p->table);
	}
	pthread_mutex_unlock(&p->mu);
	uv_prepare_stop(&p->prepare);
	uv_timer_stop(&p->retry_timer);
	uv_close((uv_handle_t *)&p->prepare, on_handle_closed);
	uv_close((uv_handle_t *)&p->retry_timer, on_handle_closed);
}

const controller_def proxy_controller = {
    .name = "timon-proxy",
    .watches = {{.group = "", .resource = "services"},
                {.group = "discovery.k8s.io", .resource = "endpointslices", .on_event = on_slice}},
    .reconcile = reconcile,
    .start = start,
    .stop = stop,
};
CONTROLLER_REGISTER(proxy_controller)
