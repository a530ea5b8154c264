/* route.c — maps request paths to kinds, namespaces, names and subresources, and objects to
 * storage keys. Not for: discovery paths (discovery.c) or non-API endpoints. */
#include <stdlib.h>
#include <string.h>

#include "apiserver/apiserver-internal.h"
#include "base/util.h"

/* Splits path on '/' into at most max segments; returns the count, or -1 when longer. */
static int split(char *path, char **seg, int max)
{
	int n = 0;
	char *save = NULL;
	for (char *t = strtok_r(path, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
		if (n == max)
			return -1;
		seg[n++] = t;
	}
	return n;
}

int route_parse(api_req *r, terr **err)
{
	_cleanup_free_ char *path = xstrdup(r->http->path);
	char *seg[12];
	int n = split(path, seg, 12);
	if (n < 0)
		return terr_not_found(err, "the server could not find the requested resource");
	int i;
	const char *group, *version;
	if (n >= 2 && strcmp(seg[0], "api") == 0) {
		group = "";
		version = seg[1];
		i = 2;
	} else if (n >= 3 && strcmp(seg[0], "apis") == 0) {
		group = seg[1];
		version = seg[2];
		i = 3;
	} else {
		return 1;
	}
	if (i == n)
		return 1; /* discovery */
	if (strcmp(seg[i], "watch") == 0) {
		r->watch_path = true;
		i++;
	}
	/* k8s: /namespaces/<ns>/<resource>/... is namespaced unless it is the namespace
	 * object itself (/namespaces/<ns> or /namespaces/<ns>/status|finalize). */
	if (n - i >= 3 && strcmp(seg[i], "namespaces") == 0) {
		const kind_desc *d = kind_by_resource(group, version, seg[i + 2]);
		if (d && d->namespaced) {
			r->ns = xstrdup(seg[i + 1]);
			i += 2;
		}
	}
	if (i >= n)
		return terr_not_found(err, "the server could not find the requested resource");
	const kind_desc *d = kind_by_resource(group, version, seg[i]);
	if (!d)
		return terr_not_found(err, "the server could not find the requested resource");
	r->kind = d;
	i++;
	if (i < n)
		r->name = xstrdup(seg[i++]);
	if (i < n)
		r->sub = xstrdup(seg[i++]);
	if (i < n)
		return terr_not_found(err, "the server could not find the requested resource");
	return 0;
}

char *route_key(const kind_desc *d, const char *ns, const char *name)
{
	return kind_storage_key(d, ns, name);
}
