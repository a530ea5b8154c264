/* job_index.c — completion indexes of Indexed Jobs: ordered interval sets, their
 * compressed string form (status.completedIndexes, status.failedIndexes,
 * successPolicy.rules[].succeededIndexes), the index a pod carries, which indexes still
 * need a pod, and the success policy.
 * Not for: creating pods (job_pods.c) or counting them (job_status.c).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/json.h"
#include "base/util.h"
#include "controllers/job-internal.h"

static void push(job_indexes *ix, job_interval v)
{
	if (ix->n == ix->cap) {
		ix->cap = ix->cap ? ix->cap * 2 : 8;
		ix->iv = xrealloc(ix->iv, ix->cap * sizeof *ix->iv);
	}
	ix->iv[ix->n++] = v;
}

/* Parses a non-negative decimal of n bytes; -1 when malformed. */
static long parse_num(const char *s, size_t n)
{
	if (n == 0 || n > 9)
		return -1;
	long v = 0;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static int cmp_interval(const void *a, const void *b)
{
	const job_interval *x = a, *y = b;
	return x->first < y->first ? -1 : x->first > y->first;
}

void job_indexes_parse(job_indexes *ix, const char *s, int limit)
{
	if (!s)
		return;
	while (*s) {
		size_t n = strcspn(s, ",");
		const char *dash = memchr(s, '-', n);
		long first = parse_num(s, dash ? (size_t)(dash - s) : n);
		long last = dash ? parse_num(dash + 1, n - (size_t)(dash - s) - 1) : first;
		/* k8s: malformed intervals are skipped; indexes from `limit` on are dropped. */
		if (first >= 0 && last >= first && first < limit)
			push(ix,
			     (job_interval){(int)first, (int)(last < limit ? last : limit - 1)});
		s += n;
		if (*s == ',')
			s++;
	}
	/* normalize: sorted, overlapping or adjacent intervals merged */
	qsort(ix->iv, ix->n, sizeof *ix->iv, cmp_interval);
	size_t k = 0;
	for (size_t i = 0; i < ix->n; i++) {
		if (k && ix->iv[i].first <= ix->iv[k - 1].last + 1) {
			if (ix->iv[i].last > ix->iv[k - 1].last)
				ix->iv[k - 1].last = ix->iv[i].last;
		} else {
			ix->iv[k++] = ix->iv[i];
		}
	}
	ix->n = k;
}

void job_indexes_add(job_indexes *ix, int i)
{
	/* find the first interval ending at or after i - 1 */
	size_t k = 0;
	while (k < ix->n && ix->iv[k].last < i - 1)
		k++;
	if (k == ix->n) {
		push(ix, (job_interval){i, i});
		return;
	}
	job_interval *v = &ix->iv[k];
	if (i >= v->first && i <= v->last)
		return;
	if (i == v->last + 1) {
		v->last = i;
		/* merge with the next one when they now touch */
		if (k + 1 < ix->n && ix->iv[k + 1].first == i + 1) {
			v->last = ix->iv[k + 1].last;
			memmove(&ix->iv[k + 1], &ix->iv[k + 2], (ix->n - k - 2) * sizeof *ix->iv);
			ix->n--;
		}
		return;
	}
	if (i == v->first - 1) {
		v->first = i;
		return;
	}
	/* a new interval before k */
	push(ix, (job_interval){0, 0});
	memmove(&ix->iv[k + 1], &ix->iv[k], (ix->n - 1 - k) * sizeof *ix->iv);
	ix->iv[k] = (job_interval){i, i};
}

bool job_indexes_has(const job_indexes *ix, int i)
{
	size_t lo = 0, hi = ix->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ix->iv[mid].last < i)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < ix->n && ix->iv[lo].first <= i;
}

int job_indexes_total(const job_indexes *ix)
{
	int t = 0;
	for (size_t k = 0; k < ix->n; k++)
		t += ix->iv[k].last - ix->iv[k].first + 1;
	return t;
}

char *job_indexes_string(const job_indexes *ix)
{
	buf b = {0};
	buf_printf(&b, "%s", "");
	for (size_t k = 0; k < ix->n; k++) {
		const job_interval *v = &ix->iv[k];
		buf_printf(&b, "%s%d", k ? "," : "", v->first);
		/* k8s: orderedIntervals.String writes two adjacent indexes as a list. */
		if (v->last > v->first)
			buf_printf(&b, "%c%d", v->last == v->first + 1 ? ',' : '-', v->last);
	}
	return buf_take(&b);
}

void job_indexes_free(job_indexes *ix)
{
	free(ix->iv);
	memset(ix, 0, sizeof *ix);
}

int job_pod_index(json_t *pod)
{
	json_t *ann = json_path(pod, "metadata.annotations");
	const char *v = json_string_value(json_object_get(ann, JOB_INDEX_KEY));
	if (!v)
		return -1;
	long n = parse_num(v, strlen(v));
	return n < 0 ? -1 : (int)n;
}

size_t job_pending_indexes(const job_indexes *done, const job_indexes *taken, int completions,
                           size_t count, int *out)
{
	size_t k = 0;
	for (int i = 0; i < completions && k < count; i++)
		if (!job_indexes_has(done, i) && !job_indexes_has(taken, i))
			out[k++] = i;
	return k;
}

/* How many indexes of rule are in got. */
static int overlap(const job_indexes *rule, const job_indexes *got)
{
	int n = 0;
	for (size_t a = 0; a < rule->n; a++)
		for (size_t b = 0; b < got->n; b++) {
			int lo = rule->iv[a].first > got->iv[b].first ? rule->iv[a].first
			                                              : got->iv[b].first;
			int hi =
			    rule->iv[a].last < got->iv[b].last ? rule->iv[a].last : got->iv[b].last;
			if (hi >= lo)
				n += hi - lo + 1;
		}
	return n;
}

char *job_success_policy_match(json_t *policy, int completions, const job_indexes *succeeded)
{
	if (!policy || succeeded->n == 0)
		return NULL;
	size_t i;
	json_t *rule;
	json_array_foreach(json_object_get(policy, "rules"), i, rule)
	{
		json_t *want_ix = json_object_get(rule, "succeededIndexes");
		json_t *count = json_object_get(rule, "succeededCount");
		bool met = false;
		if (json_is_string(want_ix)) {
			job_indexes req = {0};
			job_indexes_parse(&req, json_string_value(want_ix), completions);
			/* k8s: a rule whose indexes cannot be parsed is skipped. */
			if (req.n) {
				int have = overlap(&req, succeeded);
				met = have == job_indexes_total(&req) ||
				      (json_is_integer(count) && have >= json_integer_value(count));
			}
			job_indexes_free(&req);
		} else if (json_is_integer(count)) {
			met = job_indexes_total(succeeded) >= json_integer_value(count);
		}
		if (met)
			return xasprintf("Matched rules at index %zu", i);
	}
	return NULL;
}
