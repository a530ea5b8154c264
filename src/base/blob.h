/* blob.h — immutable, refcounted byte strings: the serialized objects the cache holds and
 * the encoded watch events every watcher shares. Single-threaded (loop) refcounts. */
#ifndef TIMON_BASE_BLOB_H
#define TIMON_BASE_BLOB_H

#include <stddef.h>

struct buf; /* base/buf.h */

typedef struct blob {
	int refs;
	size_t len;
	char data[]; /* NUL-terminated; len excludes the NUL */
} blob;

/* A new blob holding a copy of data, with one reference. */
blob *blob_new(const char *data, size_t len);
/* Bytes written straight into a blob, no copy: blob_buf_start on an empty buf leaves room
 * for the header, then the bytes are appended, then blob_buf_take turns the buf into a blob
 * with one reference (the buf is left empty). */
void blob_buf_start(struct buf *b);
blob *blob_buf_take(struct buf *b);
/* Takes a reference; returns b. NULL-safe. */
blob *blob_ref(blob *b);
/* Drops a reference, freeing at zero. NULL-safe. */
void blob_unref(blob *b);

#endif
