/* base64.h — base64 (RFC 4648): the standard alphabet with padding (Secret data,
 * kubeconfig *-data fields, protobuf bytes in JSON) and base64url without padding (JSON
 * Web Tokens). One encoder and one table of values serve both. */
#ifndef TIMON_BASE_BASE64_H
#define TIMON_BASE_BASE64_H

#include <stdbool.h>
#include <stddef.h>

/* Decodes s into a new buffer (NUL-terminated for convenience; *out_len excludes it);
 * NULL when s is not base64. */
unsigned char *base64_decode(const char *s, size_t *out_len);
/* Encodes data[0..n) with padding; new string. */
char *base64_encode(const void *data, size_t n);
/* base64url without padding of n bytes: a new NUL-terminated string. */
char *base64url_encode(const void *data, size_t n);
/* Decodes n characters of base64url (no padding, no whitespace; the unused low bits of
 * the last character must be zero) into a new buffer with a NUL after *out_len bytes.
 * NULL when s is not canonical base64url. */
unsigned char *base64url_decode(const char *s, size_t n, size_t *out_len);
/* The 6-bit value of one character of the standard (or, with url, the URL-safe)
 * alphabet; -1 for any other character, '=' included. */
int base64_char_value(char c, bool url);

#endif
