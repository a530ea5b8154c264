/* manager.c — runs the controllers: the table of which exist, their informers and queues,
 * a fair share of work per loop iteration, and leader election through a
 * coordination.k8s.io Lease so several servers can later share one datastore.
 * Not for: any controller's logic.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apiserver/client.h"
#include "base/json.h"
#include "base/log.h"
#include "base/util.h"
#include "controllers/controller-internal.h"

#define LEASE_NAME "timon-controller-manager"
#define LEASE_SECONDS 15
#define RENEW_MS 5000
#define BUDGET_PER_TICK 64
#define TICK_NS 2000000 /* 2 ms */

static const controller_def *const builtin[] = {
	&serviceaccount_controller,
	&replicaset_controller,
	&deployment_controller,
};

#define MAX_CONTROLLERS 64
static const controller_def *table[MAX_CONTROLLERS];
static size_t ntable;

void controller_register(const controller_def *def)
{
	for (size_t i = 0; i < ntable; i++)
		if (table[i] == def)
			return;
	if (ntable < MAX_CONTROLLERS)
		table[ntable++] = def;
}

typedef struct manager {
	apiserver *srv;
	cache *cache;
	uv_loop_t *loop;
	controller ctrls[MAX_CONTROLLERS];
	void *informers[MAX_CONTROLLERS][6];
	uv_idle_t idle;
	uv_timer_t lease_timer;
	char identity[128];
	bool leading;
	bool running;
	bool stopped; /* controllers_stop ran: nothing starts again (a lease write's answer
	               * can arrive after it, while the store drains its queue) */
	size_t next; /* the controller the next tick starts with */
} manager;

static manager *mgr;

static void on_idle(uv_idle_t *h)
{
	manager *m = h->data;
	bool more = false;
	/* A tick ends after TICK_NS of reconciles (the controllers after it go first next
	 * time): finished commits, answers and requests wait for the tick to end, and a
	 * controller with many keys (the node simulator under load) made ticks of ~10 ms. */
	int64_t t0 = time_mono_ns();
	size_t i = m->next;
	for (size_t k = 0; k < ntable; k++, i = (i + 1) % ntable) {
		if (k && time_mono_ns() - t0 > TICK_NS) {
			more = true;
			break;
		}
		controller *c = &m->ctrls[i];
		for (size_t done = 0; done < BUDGET_PER_TICK && controller_pending(c); done += 8)
			if (controller_process(c, 8) == 0 || time_mono_ns() - t0 > TICK_NS)
				break;
		more |= controller_pending(c);
	}
	m->next = i;
	if (!more)
		uv_idle_stop(&m->idle);
}

void controllers_kick(void)
{
	if (mgr && mgr->running)
		uv_idle_start(&mgr->idle, on_idle);
}

static void run_controllers(manager *m)
{
	if (m->running || m->stopped)
		return;
	m->running = true;
	for (size_t i = 0; i < ntable; i++) {
		controller *c = &m->ctrls[i];
		if (c->def->start)
			c->def->start(c);
		for (size_t w = 0; w < 6 && table[i]->watches[w].resource; w++)
			m->informers[i][w] = controller_inform(c, &table[i]->watches[w]);
	}
	controllers_kick();
	log_info("controllers: %zu running as %s", ntable, m->identity);
}

/* ---------- leader election ---------- */

static void lease_answer(void *ud, int code, json_t *obj)
{
	manager *m = ud;
	UNUSED(obj);
	if (code == 200 || code == 201) {
		if (!m->leading)
			log_info("controllers: acquired lease %s", LEASE_NAME);
		m->leading = true;
		run_controllers(m);
	} else if (code != 409) {
		log_warn("controllers: lease write answered %d", code);
	}
}

static void renew(uv_timer_t *t)
{
	manager *m = t->data;
	const kind_desc *d = controller_kind("coordination.k8s.io", "leases");
	char now[32];
	time_rfc3339(time_now_ns(), true, now);
	_cleanup_free_ char *key = kind_storage_key(d, "kube-system", LEASE_NAME);
	const cache_entry *e = cache_get(m->cache, key);
	if (!e) {
		json_t *lease = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:i, s:s, s:s, s:i}}",
		                          "apiVersion", "coordination.k8s.io/v1", "kind", "Lease",
		                          "metadata", "name", LEASE_NAME, "namespace", "kube-system",
		                          "spec", "holderIdentity", m->identity,
		                          "leaseDurationSeconds", LEASE_SECONDS, "acquireTime", now,
		                          "renewTime", now, "leaseTransitions", 0);
		client_create(m->srv, "timon-controller-manager", d, "kube-system", lease, lease_answer, m);
		json_decref(lease);
		return;
	}
	json_t *lease = json_loadb(e->value->data, e->value->len, 0, NULL);
	json_t *spec = json_object_get(lease, "spec");
	const char *holder = json_string_value(json_object_get(spec, "holderIdentity"));
	const char *renewed = json_string_value(json_object_get(spec, "renewTime"));
	int64_t renewed_ns = 0;
	bool expired = !renewed || time_parse_rfc3339(renewed, &renewed_ns) < 0 ||
	               time_now_ns() - renewed_ns > (int64_t)LEASE_SECONDS * 1000000000;
	/* k8s: a lease is taken over only once its holder stopped renewing it. */
	if (holder && strcmp(holder, m->identity) != 0 && !expired) {
		json_decref(lease);
		return;
	}
	if (!holder || strcmp(holder, m->identity) != 0) {
		json_object_set_new(spec, "holderIdentity", json_string(m->identity));
		json_object_set_new(spec, "acquireTime", json_string(now));
		json_int_t tr = json_integer_value(json_object_get(spec, "leaseTransitions"));
		json_object_set_new(spec, "leaseTransitions", json_integer(tr + 1));
	}
	json_object_set_new(spec, "renewTime", json_string(now));
	client_update(m->srv, "timon-controller-manager", d, lease, NULL, lease_answer, m);
	json_decref(lease);
}

static manager *manager_new(apiserver *s, cache *c)
{
	manager *m = xcalloc(1, sizeof *m);
	mgr = m;
	m->srv = s;
	m->cache = c;
	m->loop = apiserver_loop(s);
	char host[64] = "timon";
	gethostname(host, sizeof host - 1);
	snprintf(m->identity, sizeof m->identity, "%s_%d", host, (int)getpid());
	uv_idle_init(m->loop, &m->idle);
	m->idle.data = m;
	for (size_t i = 0; i < ntable; i++) {
		m->ctrls[i].def = table[i];
		m->ctrls[i].srv = s;
		m->ctrls[i].cache = c;
		controller_queue_init(&m->ctrls[i], m->loop);
	}
	uv_timer_init(m->loop, &m->lease_timer);
	m->lease_timer.data = m;
	return m;
}

void controllers_start(apiserver *s, cache *c)
{
	for (size_t i = 0; i < ARRAY_SIZE(builtin); i++)
		controller_register(builtin[i]);
	manager *m = manager_new(s, c);
	uv_timer_start(&m->lease_timer, renew, 0, RENEW_MS);
}

void controllers_start_only(apiserver *s, cache *c, const char *name)
{
	size_t k = 0;
	for (size_t i = 0; i < ntable; i++)
		if (str_eq(table[i]->name, name))
			table[k++] = table[i];
	ntable = k;
	/* One node's agent, not the cluster's controllers: no leader to elect. */
	run_controllers(manager_new(s, c));
}

void controllers_stop(void)
{
	manager *m = mgr;
	if (!m)
		return;
	uv_timer_stop(&m->lease_timer);
	uv_idle_stop(&m->idle);
	for (size_t i = 0; i < ntable; i++) {
		for (size_t w = 0; w < 6; w++)
			controller_uninform(&m->ctrls[i], m->informers[i][w]);
		if (table[i]->stop)
			table[i]->stop(&m->ctrls[i]);
	}
	m->running = false;
	m->stopped = true;
}
