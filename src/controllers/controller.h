/* controller.h — the controller machinery: informers fed by the watch cache, rate-limited
 * work queues, and level-triggered reconcilers that write through the in-process client.
 *
 * A controller is a static const controller_def (name, the resources it watches, how an
 * event maps to keys, and reconcile). Everything runs on the loop thread: an event enqueues
 * keys ("namespace/name" or "name"); the queue hands each key to reconcile at most once at a
 * time, deduplicated; a reconcile that asks for a retry is requeued with per-key exponential
 * backoff (5 ms doubling to 1000 s, like client-go), so a failing object never busy-loops.
 * Reads come straight from the watch cache, which already reflects this controller's own
 * writes when the client call returns.
 */
#ifndef TIMON_CONTROLLERS_CONTROLLER_H
#define TIMON_CONTROLLERS_CONTROLLER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "api/kind.h"
#include "apiserver/apiserver.h"
#include "store/cache.h"

typedef struct controller controller;

enum reconcile_result {
	RECONCILE_DONE = 0,  /* nothing more to do for this key (until the next event) */
	RECONCILE_RETRY = 1, /* failed or waiting: requeue with backoff */
};

typedef struct controller_watch {
	const char *group;    /* "" for core */
	const char *resource; /* "pods" */
	/* Maps an event on this resource to keys of the controller (controller_enqueue).
	 * NULL: enqueue the event object's own key. */
	void (*on_event)(controller *c, const kind_desc *d, const cache_event *ev);
} controller_watch;

typedef struct controller_def {
	const char *name; /* also the field manager of its writes */
	controller_watch watches[6];
	/* Reconciles one key; see enum reconcile_result. */
	int (*reconcile)(controller *c, const char *key);
	/* Optional: called once at start (timers, state). */
	void (*start)(controller *c);
	void (*stop)(controller *c);
} controller_def;

struct controller {
	const controller_def *def;
	apiserver *srv;
	cache *cache;
	void *state; /* the controller's own */
	struct controller_queue *q;
};

/* Adds key to the queue now (deduplicated). */
void controller_enqueue(controller *c, const char *key);
/* Adds key after ms milliseconds (for time-based work: deadlines, schedules). */
void controller_enqueue_after(controller *c, const char *key, uint64_t ms);
/* Forgets the backoff of key (after a success). */
void controller_forget(controller *c, const char *key);
/* The key of an object: "ns/name", or "name" when cluster-scoped. Caller frees. */
char *controller_key_of(json_t *obj);
/* Splits a key into namespace (NULL when none) and name; caller frees both. */
void controller_split_key(const char *key, char **ns, char **name);
/* The key ("ns/name") at the end of a namespaced object's storage key (".../ns/name"), a
 * pointer into it; NULL when it has fewer parts. */
const char *controller_storage_key_tail(const char *skey);

/* Reads from the watch cache. get: a new tree or NULL. list: new trees of every object of
 * d in ns (NULL: all namespaces), in key order; returns the count, *out freed by caller
 * with controller_list_free. */
json_t *controller_get(controller *c, const kind_desc *d, const char *ns, const char *name);
/* The cache's own tree of the object (a new reference) or NULL: read-only, shared with
 * every reader and worker. To write from it, json_copy each level changed (the top, and
 * metadata, which the server stamps): cheaper than controller_get's private copy. */
json_t *controller_get_shared(controller *c, const kind_desc *d, const char *ns,
                              const char *name);
size_t controller_list(controller *c, const kind_desc *d, const char *ns, json_t ***out);
void controller_list_free(json_t **objs, size_t n);
/* The kind descriptor of a built-in resource (storage version). */
const kind_desc *controller_kind(const char *group, const char *resource);

/* Whether the object of ev (its previous state) may have owner references: a scan of its
 * bytes, so that the many pods without an owner cost no parse. False means surely none. */
bool controller_may_have_owner(const cache_event *ev);
bool controller_prev_may_have_owner(const cache_event *ev);
/* Whether any object of d lives in the namespace of ev's (namespaced) object: lets an
 * informer skip the parse when no controller there could adopt it. */
bool controller_any_in_ns_of(controller *c, const kind_desc *d, const cache_event *ev);
/* The owner reference of obj that is its controller, or NULL (borrowed). */
json_t *controller_owner(json_t *obj);
/* A new ownerReference pointing at owner (controller: true, blockOwnerDeletion: true). */
json_t *controller_owner_ref(json_t *owner);

/* Starts every controller of the manager table (after the API server is ready) and holds
 * the leader Lease; stops them. */
void controllers_start(apiserver *s, cache *c);
/* Starts only the controller called name (the standalone node agent's "kubelet" over its
 * mirror of a remote server), with no leader election. */
void controllers_start_only(apiserver *s, cache *c, const char *name);
void controllers_stop(void);

#endif
