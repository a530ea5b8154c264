/* base64.h — standard base64 (RFC 4648 with padding) decoding, for Secret data and
 * kubeconfig *-data fields. Not for: URL-safe base64. */
#ifndef TIMON_BASE_BASE64_H
#define TIMON_BASE_BASE64_H

#include <stddef.h>

/* Decodes s into a new buffer (NUL-terminated for convenience; *out_len excludes it);
 * NULL when s is not base64. */
unsigned char *base64_decode(const char *s, size_t *out_len);
/* Encodes data[0..n) with padding; new string. */
char *base64_encode(const void *data, size_t n);

#endif
