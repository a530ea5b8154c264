/* agent_pool.c — a few threads of the agent's own for blocking pod work (image pulls,
 * runc, CNI plugins, probes). Not libuv's shared pool: a slow image pull must never hold
 * up the store's group commit, which runs there. Finished jobs go back to the loop
 * through one uv_async. */
#include <stdlib.h>

#include "agent/agent-internal.h"
#include "base/heap.h"
#include "base/util.h"

struct agent_pool {
	uv_async_t async;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	agent_job *queue, *queue_tail; /* waiting for a worker */
	agent_job *done;               /* finished, for the loop */
	pthread_t *threads;
	int n;
	bool stopping;
};

static void *worker(void *arg)
{
	agent_pool *p = arg;
	heap_thread_uncached();
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->queue && !p->stopping)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->stopping)
			break;
		agent_job *j = p->queue;
		p->queue = j->next;
		if (!p->queue)
			p->queue_tail = NULL;
		pthread_mutex_unlock(&p->mu);
		j->work(j);
		pthread_mutex_lock(&p->mu);
		j->next = p->done;
		p->done = j;
		uv_async_send(&p->async);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

static void on_async(uv_async_t *h)
{
	agent_pool *p = h->data;
	pthread_mutex_lock(&p->mu);
	agent_job *list = p->done;
	p->done = NULL;
	pthread_mutex_unlock(&p->mu);
	/* Oldest first, as they finished. */
	agent_job *rev = NULL;
	while (list) {
		agent_job *next = list->next;
		list->next = rev;
		rev = list;
		list = next;
	}
	while (rev) {
		agent_job *next = rev->next;
		rev->done(rev);
		rev = next;
	}
}

agent_pool *agent_pool_new(uv_loop_t *loop, int threads)
{
	agent_pool *p = xcalloc(1, sizeof *p);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	uv_async_init(loop, &p->async, on_async);
	p->async.data = p;
	p->threads = xcalloc((size_t)threads, sizeof *p->threads);
	for (int i = 0; i < threads; i++)
		if (pthread_create(&p->threads[p->n], NULL, worker, p) == 0)
			p->n++;
	return p;
}

void agent_pool_submit(agent_pool *p, agent_job *j)
{
	j->next = NULL;
	pthread_mutex_lock(&p->mu);
	if (p->queue_tail)
		p->queue_tail->next = j;
	else
		p->queue = j;
	p->queue_tail = j;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

static void free_pool(uv_handle_t *h)
{
	agent_pool *p = h->data;
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p->threads);
	free(p);
}

void agent_pool_free(agent_pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stopping = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (int i = 0; i < p->n; i++)
		pthread_join(p->threads[i], NULL);
	/* No worker runs now: what is queued never ran, what is done was not handed back. */
	agent_job *lists[2] = {p->queue, p->done};
	p->queue = p->queue_tail = p->done = NULL;
	for (int k = 0; k < 2; k++)
		for (agent_job *j = lists[k], *next; j; j = next) {
			next = j->next;
			if (j->drop)
				j->drop(j);
		}
	uv_close((uv_handle_t *)&p->async, free_pool);
}
