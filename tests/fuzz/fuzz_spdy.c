/* fuzz_spdy.c — fuzz target for SPDY/3.1 as a port-forward client could send it: the input
 * is a connection's byte stream, fed to a server spdy_session in two pieces (so frames
 * split anywhere), with every stream it reports answered (SYN_REPLY, DATA, RST) to drive
 * the compressor too. Must never crash, hang or leak. Not for: sockets. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/spdy.h"
#include "base/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static spdy_session *cur;

static void on_syn(void *ud, uint32_t id, const spdy_headers *h, uint8_t flags)
{
	const char *pairs[] = {"port", spdy_headers_get(h, "port") ? spdy_headers_get(h, "port") : ""};
	spdy_session_reply(cur, id, pairs, 1, flags & SPDY_FLAG_FIN);
}
static void on_data(void *ud, uint32_t id, const uint8_t *d, size_t n, bool fin)
{
	spdy_session_data(cur, id, d, n, fin);
}
static void on_rst(void *ud, uint32_t id, uint32_t st)
{
	spdy_session_rst(cur, id, SPDY_CANCEL);
}
static void on_write(void *ud, const void *d, size_t n)
{
	*(size_t *)ud += n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const spdy_session_ops ops = {on_syn, on_data, on_rst, on_write};
	size_t written = 0;
	cur = spdy_session_new(&ops, &written);
	size_t half = size / 2;
	terr *err = NULL;
	if (spdy_session_feed(cur, data, half, &err) == 0)
		spdy_session_feed(cur, data + half, size - half, &err);
	terr_free(err);
	spdy_session_free(cur);
	cur = NULL;
	return 0;
}
