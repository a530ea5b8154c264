/* heap.c — the allocator's knobs (heap.h). With jemalloc, its options are compiled in as
 * the malloc_conf string it reads at start: two arenas (threads share them: the agent's
 * pool threads mostly wait on runc and CNI, and each arena keeps memory of its own), freed
 * pages returned after a second instead of ten, and no lazily-freed ("muzzy") stage. */
#include "base/heap.h"

#ifdef TIMON_JEMALLOC
#include <jemalloc/jemalloc.h>
#include <stdbool.h>
#include <stdio.h>

const char *malloc_conf = "narenas:2,dirty_decay_ms:1000,muzzy_decay_ms:0";

void heap_release(void)
{
	char cmd[64];
	snprintf(cmd, sizeof cmd, "arena.%u.purge", (unsigned)MALLCTL_ARENAS_ALL);
	mallctl(cmd, NULL, NULL, NULL, 0);
}

void heap_thread_uncached(void)
{
	bool off = false;
	mallctl("thread.tcache.enabled", NULL, NULL, &off, sizeof off);
}

#else
#include <malloc.h>

void heap_release(void)
{
	malloc_trim(0);
}

void heap_thread_uncached(void)
{
	/* glibc's per-thread cache is small (7 blocks per size); arenas are limited instead */
}

#endif
