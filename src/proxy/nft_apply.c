/* nft_apply.c — runs nft command text in the kernel through libnftables: the whole text
 * is one netlink batch, so it applies entirely or not at all, and what nft printed on
 * failure comes back as the error. Blocking; the proxy calls it from a worker thread.
 * Not for: deciding what to run (nft_rules.c, proxy.c).
 */
#include <nftables/libnftables.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "proxy/proxy.h"

struct nft_applier {
	struct nft_ctx *ctx;
};

nft_applier *nft_applier_new(terr **err)
{
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!ctx) {
		terr_internal(err, "nftables: cannot create a libnftables context");
		return NULL;
	}
	nft_ctx_buffer_output(ctx);
	nft_ctx_buffer_error(ctx);
	nft_applier *a = xcalloc(1, sizeof *a);
	a->ctx = ctx;
	return a;
}

int nft_apply(nft_applier *a, const char *text, terr **err)
{
	if (nft_run_cmd_from_buffer(a->ctx, text) == 0) {
		/* Reading the buffers rewinds them for the next call. */
		nft_ctx_get_output_buffer(a->ctx);
		nft_ctx_get_error_buffer(a->ctx);
		return 0;
	}
	nft_ctx_get_output_buffer(a->ctx);
	const char *e = nft_ctx_get_error_buffer(a->ctx);
	/* nft repeats the failing command under the message; the first lines say it. */
	size_t n = e ? strlen(e) : 0;
	const char *cut = e;
	for (int lines = 0; cut && lines < 3 && (cut = strchr(cut, '\n')); lines++)
		cut++;
	if (cut && (size_t)(cut - e) < n)
		n = (size_t)(cut - e);
	if (n > 2000)
		n = 2000;
	return terr_internal(err, "nftables: %.*s", (int)n, e && n ? e : "transaction failed");
}

void nft_applier_free(nft_applier *a)
{
	if (!a)
		return;
	nft_ctx_free(a->ctx);
	free(a);
}
