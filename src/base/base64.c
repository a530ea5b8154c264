/* base64.c — base64 decoding over OpenSSL's EVP_DecodeBlock, which counts padding as
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
