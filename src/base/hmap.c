/* hmap.c — open-addressing string hash map (FNV-1a). */
#include "base/hmap.h"

#include <stdlib.h>
#include <string.h>

#include "base/util.h"

static const char tomb_marker;
#define HMAP_TOMB (&tomb_marker)

static size_t hash_str(const char *s)
{
	size_t h = 1469598103934665603ULL;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static hmap_slot *find(const hmap *m, const char *key, size_t h)
{
	if (!m->cap)
		return NULL;
	size_t mask = m->cap - 1;
	for (size_t i = h & mask;; i = (i + 1) & mask) {
		hmap_slot *s = &m->slots[i];
		if (!s->key)
			return NULL;
		if (s->key != HMAP_TOMB && s->hash == h && strcmp(s->key, key) == 0)
			return s;
	}
}

void *hmap_get(const hmap *m, const char *key)
{
	hmap_slot *s = find(m, key, hash_str(key));
	return s ? s->val : NULL;
}

static void grow(hmap *m)
{
	size_t ncap = m->cap ? m->cap * 2 : 16;
	if (m->count * 4 < m->cap)
		ncap = m->cap; /* mostly tombstones: rehash in place size */
	hmap_slot *old = m->slots;
	size_t ocap = m->cap;
	m->slots = xcalloc(ncap, sizeof *m->slots);
	m->cap = ncap;
	m->used = m->count;
	size_t mask = ncap - 1;
	for (size_t i = 0; i < ocap; i++) {
		if (!old[i].key || old[i].key == HMAP_TOMB)
			continue;
		size_t j = old[i].hash & mask;
		while (m->slots[j].key)
			j = (j + 1) & mask;
		m->slots[j] = old[i];
	}
	free(old);
}

void *hmap_put(hmap *m, const char *key, void *val)
{
	size_t h = hash_str(key);
	hmap_slot *s = find(m, key, h);
	if (s) {
		void *prev = s->val;
		s->val = val;
		s->key = key;
		return prev;
	}
	if ((m->used + 1) * 4 >= m->cap * 3)
		grow(m);
	size_t mask = m->cap - 1;
	size_t i = h & mask;
	while (m->slots[i].key && m->slots[i].key != HMAP_TOMB)
		i = (i + 1) & mask;
	if (!m->slots[i].key)
		m->used++;
	m->slots[i] = (hmap_slot){key, val, h};
	m->count++;
	return NULL;
}

void *hmap_del(hmap *m, const char *key)
{
	hmap_slot *s = find(m, key, hash_str(key));
	if (!s)
		return NULL;
	void *v = s->val;
	s->key = HMAP_TOMB;
	s->val = NULL;
	m->count--;
	return v;
}

void hmap_free(hmap *m)
{
	free(m->slots);
	*m = (hmap){0};
}

int hmap_next(const hmap *m, size_t *iter, const char **key, void **val)
{
	for (; *iter < m->cap; (*iter)++) {
		hmap_slot *s = &m->slots[*iter];
		if (s->key && s->key != HMAP_TOMB) {
			if (key)
				*key = s->key;
			if (val)
				*val = s->val;
			(*iter)++;
			return 1;
		}
	}
	return 0;
}
