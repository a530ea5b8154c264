/* fuzz_jwt.c — fuzz target for bearer tokens: the input is decoded as base64url (what
 * decodes must encode back to the same text: the decoder takes canonical input only) and
 * verified as a JWT against a fixed key (it must be refused with 401, never crash; no
 * input forges a signature). Not for: ServiceAccount claims (satoken.c). */
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/base64.h"
#include "base/json.h"
#include "base/jwt.h"
#include "base/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static EVP_PKEY *key;
	if (!key)
		key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	size_t n = 0;
	unsigned char *raw = base64url_decode((const char *)data, size, &n);
	if (raw) {
		_cleanup_free_ char *back = base64url_encode(raw, n);
		if (strlen(back) != size || memcmp(back, data, size) != 0)
			abort();
		free(raw);
	}
	terr *e = NULL;
	json_t *claims = jwt_verify(key, (const char *)data, size, &e);
	if (claims || !e || e->code != 401)
		abort();
	terr_free(e);
	return 0;
}
