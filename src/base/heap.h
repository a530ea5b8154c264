/* heap.h — the memory allocator's knobs. timon links jemalloc (Debian's libjemalloc, which
 * replaces malloc and free for the whole process) in its normal builds: glibc's malloc
 * spent a third of the API server's CPU in its bins under a write load (decision 0009).
 * Sanitizer builds keep glibc's (ASan brings its own). These calls work with either.
 */
#ifndef TIMON_BASE_HEAP_H
#define TIMON_BASE_HEAP_H

/* Hands freed memory back to the kernel now (after a burst). */
void heap_release(void);
/* For the calling thread, from now on: no cache of freed blocks of its own (threads that
 * mostly wait, like the agent's pool, keep memory there that nobody else can use). */
void heap_thread_uncached(void);

#endif
