/* hmap.h — a string-keyed hash map (open addressing, linear probing). Keys are borrowed:
 * the caller keeps each key alive while it is in the map (usually the key lives in the
 * value). Not thread-safe. */
#ifndef TIMON_BASE_HMAP_H
#define TIMON_BASE_HMAP_H

#include <stddef.h>

typedef struct hmap_slot {
	const char *key; /* NULL = empty; HMAP_TOMB = deleted */
	void *val;
	size_t hash;
} hmap_slot;

typedef struct hmap {
	hmap_slot *slots;
	size_t cap;   /* power of two */
	size_t count; /* live entries */
	size_t used;  /* live + tombstones */
} hmap;

void *hmap_get(const hmap *m, const char *key);
/* Inserts or replaces; returns the previous value or NULL. */
void *hmap_put(hmap *m, const char *key, void *val);
/* Removes key; returns its value or NULL. */
void *hmap_del(hmap *m, const char *key);
void hmap_free(hmap *m); /* frees the table, not keys or values */
/* Iteration: for (size_t i = 0; hmap_next(m, &i, &k, &v);) */
int hmap_next(const hmap *m, size_t *iter, const char **key, void **val);

#endif
