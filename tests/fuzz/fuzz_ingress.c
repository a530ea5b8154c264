/* fuzz_ingress.c — fuzz target for what the ingress proxy matches from the wire: the
 * input is "<Host header>\n<request path>" (either may hold any bytes, no NUL needed),
 * matched against a fixed route table; the result must be one of the table's backends or
 * none. The whole input is also given to base64_decode (Secret data). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/base64.h"
#include "base/util.h"
#include "proxy/ingress.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static ingress_table *table(void)
{
	static ingress_table *t;
	if (t)
		return t;
	json_t *ing = json_loads(
	    "{\"metadata\":{\"namespace\":\"d\",\"name\":\"a\"},\"spec\":{"
	    "\"defaultBackend\":{\"service\":{\"name\":\"dflt\",\"port\":{\"number\":80}}},"
	    "\"rules\":[{\"host\":\"h.com\",\"http\":{\"paths\":["
	    "{\"path\":\"/"
	    "\",\"pathType\":\"Prefix\",\"backend\":{\"service\":{\"name\":\"r\",\"port\":{"
	    "\"number\":80}}}},"
	    "{\"path\":\"/a/b/"
	    "\",\"pathType\":\"Prefix\",\"backend\":{\"service\":{\"name\":\"ab\",\"port\":{"
	    "\"number\":80}}}},"
	    "{\"path\":\"/"
	    "x\",\"pathType\":\"Exact\",\"backend\":{\"service\":{\"name\":\"x\",\"port\":{"
	    "\"number\":80}}}}]}},"
	    "{\"host\":\"*.w.com\",\"http\":{\"paths\":[{\"path\":\"/"
	    "\",\"pathType\":\"Prefix\",\"backend\":{\"service\":{\"name\":\"w\",\"port\":{"
	    "\"number\":80}}}}]}},"
	    "{\"http\":{\"paths\":[{\"path\":\"/"
	    "any\",\"pathType\":\"Exact\",\"backend\":{\"service\":{\"name\":\"any\",\"port\":{"
	    "\"number\":80}}}}]}}]}}",
	    0, NULL);
	json_t *ings[] = {ing};
	ingress_input in = {.ingresses = ings, .ningresses = 1};
	t = ingress_table_build(&in);
	json_decref(ing);
	return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ingress_table *t = table();
	const char *s = (const char *)data;
	const char *nl = memchr(s, '\n', size);
	size_t hl = nl ? (size_t)(nl - s) : size;
	const char *path = nl ? nl + 1 : "";
	size_t pl = nl ? size - hl - 1 : 0;
	/* Copies, so that reading past the counted bytes would be caught by ASan. */
	char *host = xmalloc(hl ? hl : 1), *p = xmalloc(pl ? pl : 1);
	memcpy(host, s, hl);
	memcpy(p, path, pl);
	ingress_backend *be = ingress_table_match(t, host, hl, p, pl);
	if (be) {
		size_t i = 0;
		while (i < t->nbackends && t->backends[i] != be)
			i++;
		if (i == t->nbackends)
			abort();
	}
	free(host);
	free(p);
	char *b = xstrndup(s, size);
	size_t n;
	free(base64_decode(b, &n));
	free(b);
	return 0;
}
