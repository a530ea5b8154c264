/* blob.h — immutable, refcounted byte strings: the serialized objects the cache holds and
 * the encoded watch events every watcher shares. Single-threaded (loop) refcounts. */
#ifndef TIMON_BASE_BLOB_H
#define TIMON_BASE_BLOB_H

#include <stddef.h>

typedef struct blob {
	int refs;
	size_t len;
	char data[]; /* NUL-terminated; len excludes the NUL */
} blob;

/* A new blob holding a copy of data, with one reference. */
blob *blob_new(const char *data, size_t len);
/* Takes a reference; returns b. NULL-safe. */
blob *blob_ref(blob *b);
/* Drops a reference, freeing at zero. NULL-safe. */
void blob_unref(blob *b);

#endif
