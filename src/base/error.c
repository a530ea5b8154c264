/* error.c — construction and wrapping of terr values. Not for: turning them into Status
 * objects (src/apiserver/status.c does that). */
#include "base/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/util.h"

static char *vfmt(const char *fmt, va_list ap)
{
	char *r;
	if (vasprintf(&r, fmt, ap) < 0)
		abort();
	return r;
}

int terr_set(terr **err, int code, const char *reason, const char *fmt, ...)
{
	if (!err || *err)
		return -1;
	terr *e = xcalloc(1, sizeof *e);
	va_list ap;
	va_start(ap, fmt);
	e->message = vfmt(fmt, ap);
	va_end(ap);
	e->code = code;
	e->reason = xstrdup(reason);
	*err = e;
	return -1;
}

int terr_cause_add(terr **err, const char *reason, const char *field, const char *fmt, ...)
{
	if (!err)
		return -1;
	if (!*err)
		terr_set(err, 422, "Invalid", "invalid");
	terr *e = *err;
	e->causes = xrealloc(e->causes, (e->ncauses + 1) * sizeof *e->causes);
	terr_cause *c = &e->causes[e->ncauses++];
	va_list ap;
	va_start(ap, fmt);
	c->message = vfmt(fmt, ap);
	va_end(ap);
	c->reason = xstrdup(reason);
	c->field = xstrdup(field);
	return -1;
}

int terr_wrap(terr **err, const char *fmt, ...)
{
	if (!err || !*err)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	char *ctx = vfmt(fmt, ap);
	va_end(ap);
	char *m = xasprintf("%s: %s", ctx, (*err)->message);
	free(ctx);
	free((*err)->message);
	(*err)->message = m;
	return -1;
}

void terr_free(terr *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->ncauses; i++) {
		free(e->causes[i].reason);
		free(e->causes[i].message);
		free(e->causes[i].field);
	}
	free(e->causes);
	free(e->reason);
	free(e->message);
	free(e);
}

void cleanup_terrp(terr **e)
{
	terr_free(*e);
}
