/* blob.c — refcounted immutable bytes. */
#include "base/blob.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/util.h"

blob *blob_new(const char *data, size_t len)
{
	blob *b = xmalloc(sizeof *b + len + 1);
	b->refs = 1;
	b->len = len;
	if (len)
		memcpy(b->data, data, len);
	b->data[len] = 0;
	return b;
}

void blob_buf_start(buf *b)
{
	static const char zero[offsetof(blob, data)];
	if (b->n)
		abort(); /* the header goes first */
	buf_add(b, zero, sizeof zero);
}

blob *blob_buf_take(buf *b)
{
	size_t n = b->n, cap = b->cap;
	if (n < offsetof(blob, data))
		abort();
	char *p = buf_take(b); /* malloc'd: aligned for the header */
	/* A buf grows by doubling; blobs are kept (the cache's values), so much unused room
	 * is given back, which copies only when the allocator cannot shrink in place. */
	if (cap - n > n / 8 + 64)
		p = xrealloc(p, n + 1);
	blob *out = (blob *)(void *)p;
	out->refs = 1;
	out->len = n - offsetof(blob, data);
	return out; /* buf keeps a NUL after its bytes: data[len] is 0 */
}

blob *blob_ref(blob *b)
{
	if (b)
		b->refs++;
	return b;
}

void blob_unref(blob *b)
{
	if (b && --b->refs == 0)
		free(b);
}
