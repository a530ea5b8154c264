/* cache.h — the watch cache: all live objects in memory, the recent event history, the
 * watchers, and the group-commit pipeline to the durable store.
 *
 * Runs on the loop thread only. Objects are kept as serialized JSON blobs (shared by every
 * reader and watcher) plus their labels for selector matching. A write is applied to memory
 * at once (so later writes see it for conflict checks), queued, committed with the others of
 * the same loop iteration in one store transaction on a worker thread, and only then
 * acknowledged (the write's callback runs) and sent to watchers. See docs/event-loop.md.
 * Keys follow kube-apiserver's layout: /registry/<resource>/<namespace>/<name> for built-in
 * kinds (cluster-scoped: /registry/<resource>/<name>), /registry/<group>/<resource>/... for
 * custom resources (whose groups always contain a dot).
 */
#ifndef TIMON_STORE_CACHE_H
#define TIMON_STORE_CACHE_H

#include <jansson.h>
#include <stdint.h>
#include <uv.h>

#include "base/blob.h"
#include "base/error.h"
#include "store/store.h"

typedef struct cache_entry {
	char *key;
	blob *value;   /* the object as JSON, with metadata.resourceVersion == rev */
	int64_t rev;   /* revision of the last write */
	json_t *labels; /* metadata.labels, or NULL */
	/* value as a tree, kept for recently used entries only (cache_entry_obj): private. */
	json_t *tree;
	struct cache_entry *lru_prev, *lru_next;
} cache_entry;

typedef struct cache_event {
	int64_t rev;
	int type;            /* STORE_ADDED / STORE_MODIFIED / STORE_DELETED */
	char *key;
	blob *value;         /* the new object; for deletions its final state */
	json_t *labels;      /* labels of value, or NULL */
	json_t *prev_labels; /* labels before this write (MODIFIED/DELETED), or NULL */
	blob *prev_value;    /* the object before this write, or NULL */
	struct cache_bucket *bucket;
	/* value and prev_value parsed, each on first use (cache_event_obj): private to cache.c. */
	json_t *parsed, *prev_parsed;
	/* Whether value / prev_value name ownerReferences, found on first use (0 not yet, 1 no,
	 * 2 yes): controller_may_have_owner's, asked by every owner-following informer. */
	uint8_t has_owner, prev_has_owner;
} cache_event;

typedef struct cache cache;
typedef struct cache_watcher cache_watcher;

/* Called after the write is durable (err NULL) or failed (err set, owned by the cache). */
typedef void (*cache_write_cb)(void *ud, int64_t rev, const terr *err);
/* Called for each event a watcher receives, in revision order. */
typedef void (*cache_watch_cb)(void *ud, const cache_event *ev);

/* The event's object (value) as a tree, parsed on first use and shared by every in-process
 * reader of this event, so N informers cost one parse; NULL when value does not parse.
 * Borrowed and read-only: json_clone before changing anything in it; json_incref to keep
 * it past the callback (still read-only). The cache drops its reference when the event's
 * delivery is over (after the fan-out of a commit, after a watch's replay). */
json_t *cache_event_obj(const cache_event *ev);
/* The tree if a reader of this event parsed it already, else NULL (nothing is parsed): for
 * readers that can parse elsewhere (on a worker) what nobody needed on the loop. */
json_t *cache_event_obj_parsed(const cache_event *ev);
/* The same for prev_value (the object before this write), or NULL when there is none. */
json_t *cache_event_prev_obj(const cache_event *ev);
/* cache_event_obj_parsed for prev_value. */
json_t *cache_event_prev_obj_parsed(const cache_event *ev);
/* Drops the parsed trees of ev; for events built outside the cache (an informer's initial
 * list of entries) once their delivery is over. */
void cache_event_release(cache_event *ev);

/* A cache over st (which it owns from now on). */
cache *cache_new(uv_loop_t *loop, store *st);
/* Bounds what the cache keeps beyond the live objects, before its first write or load (0:
 * leave as is): events of history for watches that resume (default 10,000 and 64 MiB), and
 * parsed trees of recently read entries (default 256). A mirror nobody resumes a watch
 * from (a joined agent's) keeps little. */
void cache_set_limits(cache *c, size_t ring_cap, size_t ring_max_bytes, size_t trees_max);
/* Loads the live objects and the recent history from the store. */
int cache_load(cache *c, terr **err);
/* Flushes pending writes synchronously and closes the store. */
void cache_close(cache *c);
/* Frees a closed cache and everything it holds (watchers included: stop them first). */
void cache_free(cache *c);

/* The highest revision assigned so far (the resourceVersion of a list answered now). */
int64_t cache_rev(const cache *c);
/* Watches cannot start from revisions below this (410 Gone). */
int64_t cache_oldest_rev(const cache *c);
/* The entry at key, or NULL (borrowed, valid until the next write). */
const cache_entry *cache_get(cache *c, const char *key);
/* Entries whose keys start with prefix, in key order, skipping keys <= after (NULL: none
 * skipped). *out points into the cache (valid until the next write). Returns the count. */
size_t cache_range(cache *c, const char *prefix, const char *after, cache_entry *const **out);
/* Number of entries under prefix. */
size_t cache_count(cache *c, const char *prefix);
/* The entry's object as a tree, shared and read-only like cache_event_obj's (NULL when the
 * value does not parse). The most recently read entries keep theirs (a bounded set), so
 * objects consulted on every write (namespaces, priority classes) cost no parse. Borrowed
 * until the next call into the cache: json_incref to keep it longer. */
json_t *cache_entry_obj(cache *c, const cache_entry *e);
/* cache_entry_obj of the entry at key as a new reference (read-only, shared), or NULL when
 * there is none: for a writer that copies only the levels it changes. */
json_t *cache_get_obj(cache *c, const char *key);
/* cache_get_obj, where tree (taken; NULL is fine), a shared read-only parse of the entry
 * at revision rev that a reader kept (an event's), stands in for the parse when the cache
 * has let its own tree go and the entry is still at rev. */
json_t *cache_get_obj_at(cache *c, const char *key, int64_t rev, json_t *tree);
/* The first half of cache_get_obj_at: tree (taken; NULL is fine) becomes the entry's kept
 * tree when the entry at key is still at rev and has none, else it is released. For a
 * reader that hands its parse back before a write that reads the entry (the scheduler
 * before a binding). */
void cache_offer_tree(cache *c, const char *key, int64_t rev, json_t *tree);
/* The compact serialization of tree, the next value of the entry at key: the subtrees it
 * shares with the entry's kept tree (a writer that started from cache_get_obj and copied
 * only the levels it changed) are copied from the entry's bytes, not serialized again
 * (json_dump_compact_based). As a blob (one reference, the caller's): what
 * cache_write_blob takes. */
blob *cache_dump_next(cache *c, const char *key, const json_t *tree);
/* Drops a reference to a shared read-only tree (NULL is fine) as the cache drops its own:
 * on a worker, so that the loop does not walk a tree whose last reference it held. */
void cache_release_tree(cache *c, json_t *t);
/* A new private tree of the entry's object (caller owns; NULL when it does not parse): a
 * copy of the kept tree when there is one (a few times cheaper than a parse), else a parse. */
json_t *cache_entry_dup(cache *c, const cache_entry *e);

/* Writes key with the revision `rev`, which must be cache_rev(c) + 1 (the caller puts it in
 * metadata.resourceVersion before serializing). labels is stolen. For STORE_DELETED, json is
 * the final state and the key disappears. cb runs once durable.
 * tree: json as a tree when the writer has it (NULL: none), borrowed. The cache keeps a
 * reference as the entry's kept tree and the event's parse, so the readers of a fresh
 * write (informers, the next writer's read of the current object) parse nothing; from now
 * on it is read-only for the writer too, like every shared tree. */
void cache_write(cache *c, int64_t rev, const char *key, int type, const char *json, size_t len,
                 json_t *labels, json_t *tree, cache_write_cb cb, void *ud);
/* The same with the bytes as a blob, whose reference it takes (no copy). */
void cache_write_blob(cache *c, int64_t rev, const char *key, int type, blob *value,
                      json_t *labels, json_t *tree, cache_write_cb cb, void *ud);

/* Starts a watch on every key under prefix for events after from_rev; replays retained
 * history first (synchronously through cb). Returns NULL with 410 Gone when from_rev is
 * older than the retained history. */
cache_watcher *cache_watch(cache *c, const char *prefix, int64_t from_rev, cache_watch_cb cb,
                           void *ud, terr **err);
/* Stops a watch; cb is not called again. Safe from inside cb. */
void cache_unwatch(cache *c, cache_watcher *w);
/* Number of writes waiting for or in a commit. */
size_t cache_pending(const cache *c);

#endif
