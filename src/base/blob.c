/* blob.c — refcounted immutable bytes. */
#include "base/blob.h"

#include <stdlib.h>
#include <string.h>

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
