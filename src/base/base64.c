/* base64.c — base64 encoding, and decoding over OpenSSL's EVP_DecodeBlock, which counts padding as
 * zero bytes; the padding is taken off here. */
#include "base/base64.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

unsigned char *base64_decode(const char *s, size_t *out_len)
{
	size_t n = strlen(s);
	if (n % 4)
		return NULL;
	unsigned char *out = xmalloc(n / 4 * 3 + 1);
	int r = n ? EVP_DecodeBlock(out, (const unsigned char *)s, (int)n) : 0;
	if (r < 0) {
		free(out);
		return NULL;
	}
	size_t len = (size_t)r;
	if (n && s[n - 1] == '=')
		len--;
	if (n > 1 && s[n - 2] == '=')
		len--;
	out[len] = '\0';
	*out_len = len;
	return out;
}

char *base64_encode(const void *data, size_t n)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = data;
	char *out = xmalloc((n + 2) / 3 * 4 + 1);
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		out[o++] = tab[(v >> 18) & 63];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? tab[v & 63] : '=';
	}
	out[o] = 0;
	return out;
}
