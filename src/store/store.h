/* store.h — the durable store interface: a revision log of keys and values.
 *
 * Every write gets the next global revision (the Kubernetes resourceVersion), assigned by
 * the API server's loop before it reaches the store; the store makes batches durable in one
 * transaction and keeps enough history to resume watches. The interface is narrow so an
 * etcd backend can implement it later (revisions then come from etcd's own counter: see
 * docs/decisions/0002-store.md). Not for: caching, watch fan-out (store/cache.h).
 */
#ifndef TIMON_STORE_STORE_H
#define TIMON_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

enum store_event { STORE_ADDED = 1, STORE_MODIFIED = 2, STORE_DELETED = 3 };

typedef struct store_row {
	int64_t rev;
	const char *key;
	const char *value; /* for STORE_DELETED: the object's final state */
	size_t len;
	int type; /* store_event */
} store_row;

typedef int (*store_row_cb)(const store_row *row, void *ud);

typedef struct store store;

typedef struct store_ops {
	/* Calls cb for the latest live value of every key, ordered by key. */
	int (*current)(store *s, store_row_cb cb, void *ud, terr **err);
	/* Calls cb for every logged write with rev > after, in revision order. */
	int (*history)(store *s, int64_t after, store_row_cb cb, void *ud, terr **err);
	/* Makes rows durable (one transaction, fsync) before returning. Called from one worker
	 * thread at a time. */
	int (*commit)(store *s, const store_row *rows, size_t n, terr **err);
	/* Forgets history below rev (the latest live row of each key is kept). */
	int (*compact)(store *s, int64_t rev, terr **err);
	int64_t (*head_rev)(store *s);    /* highest revision ever written */
	int64_t (*compact_rev)(store *s); /* revisions below this are gone */
	void (*close)(store *s);
} store_ops;

struct store {
	const store_ops *ops;
};

/* Opens (creating if needed) the SQLite store at path. */
store *store_sqlite_open(const char *path, terr **err);

#endif
