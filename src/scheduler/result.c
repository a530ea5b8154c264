/* result.c — what a cycle reports: per-node failure statuses with interned reasons, and the
 * FailedScheduling text kube builds from them (k8s: FitError.Error(): "0/N nodes are
 * available:", then the pre-filter message or the "<count> <reason>" strings sorted as
 * strings and joined by ", ", ending with "."; then the PostFilter message). Not for:
 * running plugins (framework.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/util.h"
#include "scheduler/sched-internal.h"

void sched_result_init(sched_result *r)
{
	memset(r, 0, sizeof(*r));
}

void sched_result_reset(sched_result *r)
{
	r->nstatus = 0;
	r->nrpool = 0;
	r->absent_reason = 0;
	r->absent_code = CODE_UNRESOLVABLE;
	free(r->message);
	r->message = NULL;
	free(r->prefilter_msg);
	r->prefilter_msg = NULL;
	r->node_name = NULL;
	r->score = 0;
	r->feasible = r->evaluated = 0;
	/* Interned reasons are kept across cycles (they repeat), within a bound. */
	if (r->nreasons > 4096) {
		for (size_t i = 0; i < r->nreasons; i++)
			free(r->reasons[i]);
		r->nreasons = 0;
	}
}

void sched_result_free(sched_result *r)
{
	sched_result_reset(r);
	for (size_t i = 0; i < r->nreasons; i++)
		free(r->reasons[i]);
	free(r->reasons);
	free(r->status);
	free(r->rpool);
	sched_scratch_free(r->scratch);
	memset(r, 0, sizeof(*r));
}

uint16_t sched_result_reason(sched_result *r, const char *reason)
{
	for (size_t i = 0; i < r->nreasons; i++)
		if (strcmp(r->reasons[i], reason) == 0)
			return (uint16_t)i;
	if (r->nreasons == r->reasons_cap) {
		r->reasons_cap = r->reasons_cap ? r->reasons_cap * 2 : 16;
		r->reasons = xrealloc(r->reasons, r->reasons_cap * sizeof(*r->reasons));
	}
	r->reasons[r->nreasons] = xstrdup(reason);
	return (uint16_t)r->nreasons++;
}

void sched_result_record(sched_result *r, size_t node, const sched_status *st)
{
	if (r->nstatus == r->status_cap) {
		r->status_cap = r->status_cap ? r->status_cap * 2 : 64;
		r->status = xrealloc(r->status, r->status_cap * sizeof(*r->status));
	}
	if (r->nrpool + st->n > r->rpool_cap) {
		r->rpool_cap = (r->rpool_cap + st->n) * 2;
		r->rpool = xrealloc(r->rpool, r->rpool_cap * sizeof(*r->rpool));
	}
	struct sched_nstatus *ns = &r->status[r->nstatus++];
	ns->node = (uint32_t)node;
	ns->code = st->code;
	ns->n = st->n;
	ns->off = (uint32_t)r->nrpool;
	if (st->n)
		memcpy(r->rpool + r->nrpool, st->reasons, st->n * sizeof(*st->reasons));
	r->nrpool += st->n;
}

void sched_status_add(sched_cycle *c, sched_status *st, uint8_t code, const char *reason)
{
	if (code > st->code)
		st->code = code;
	if (st->n < SCHED_STATUS_MAX)
		st->reasons[st->n++] = sched_result_reason(c->out, reason);
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char *sched_fit_message(const sched_result *r, size_t nall, const char *prefilter_msg,
                        const char *absent_reason)
{
	_cleanup_buf_ buf b = {0};
	buf_printf(&b, "0/%zu nodes are available:", nall);
	if (prefilter_msg) {
		buf_printf(&b, " %s.", prefilter_msg);
		return buf_take(&b);
	}
	size_t *counts = xcalloc(r->nreasons + 1, sizeof(*counts));
	size_t explicit = 0;
	for (size_t i = 0; i < r->nstatus; i++) {
		const struct sched_nstatus *ns = &r->status[i];
		if (ns->code == CODE_SUCCESS)
			continue;
		explicit ++;
		for (uint16_t j = 0; j < ns->n; j++)
			counts[r->rpool[ns->off + j]]++;
	}
	size_t nstr = 0;
	char **strs = xcalloc(r->nreasons + 2, sizeof(*strs));
	for (size_t i = 0; i < r->nreasons; i++)
		if (counts[i])
			strs[nstr++] = xasprintf("%zu %s", counts[i], r->reasons[i]);
	if (absent_reason && explicit < nall)
		strs[nstr++] = xasprintf("%zu %s", nall - explicit, absent_reason);
	qsort(strs, nstr, sizeof(*strs), str_cmp);
	for (size_t i = 0; i < nstr; i++) {
		buf_puts(&b, i ? ", " : " ");
		buf_puts(&b, strs[i]);
		free(strs[i]);
	}
	if (nstr)
		buf_puts(&b, ".");
	free(strs);
	free(counts);
	return buf_take(&b);
}

char *sched_failure_message(const sched_result *r, const sched_preemption *p)
{
	if (!r->message)
		return NULL;
	if (!p || !p->message)
		return xstrdup(r->message);
	/* k8s: the PostFilter message is appended as is (it ends with its own period). */
	return xasprintf("%s %s", r->message, p->message);
}
