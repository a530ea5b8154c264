/* base64.c — base64 encoding, and decoding over OpenSSL's EVP_DecodeBlock, which counts padding as
 * zero bytes; the padding is taken off here. */
#include "base/base64.h"

#include <openssl/evp.h>
#include <stdint.h>
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

static const char std_tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char url_tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static char *encode(const unsigned char *p, size_t n, const char *tab, bool pad)
{
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
		if (i + 1 < n)
			out[o++] = tab[(v >> 6) & 63];
		else if (pad)
			out[o++] = '=';
		if (i + 2 < n)
			out[o++] = tab[v & 63];
		else if (pad)
			out[o++] = '=';
	}
	out[o] = 0;
	return out;
}

char *base64_encode(const void *data, size_t n)
{
	return encode(data, n, std_tab, true);
}

char *base64url_encode(const void *data, size_t n)
{
	return encode(data, n, url_tab, false);
}

int base64_char_value(char c, bool url)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == (url ? '-' : '+'))
		return 62;
	if (c == (url ? '_' : '/'))
		return 63;
	return -1;
}

unsigned char *base64url_decode(const char *s, size_t n, size_t *out_len)
{
	if (n % 4 == 1)
		return NULL; /* one leftover character cannot hold a byte */
	unsigned char *out = xmalloc(n / 4 * 3 + 3);
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		int v = base64_char_value(s[i], true);
		if (v < 0) {
			free(out);
			return NULL;
		}
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits & 0xff);
		}
	}
	/* Canonical form: the bits left over after the last byte are zero. */
	if (bits && (acc & ((1u << bits) - 1))) {
		free(out);
		return NULL;
	}
	out[o] = 0;
	*out_len = o;
	return out;
}
