/* status.c — Kubernetes Status objects for errors and successful deletions.
 * Not for: deciding which error applies (the handlers do). */
#include <stdio.h>
#include <string.h>

#include "apiserver/apiserver-internal.h"
#include "base/util.h"

void kind_qualified_resource(const kind_desc *d, char out[256])
{
	if (!d)
		snprintf(out, 256, "objects");
	else if (d->group[0])
		snprintf(out, 256, "%s.%s", d->resource, d->group);
	else
		snprintf(out, 256, "%s", d->resource);
}

json_t *status_from_error(const terr *err, const kind_desc *d, const char *name)
{
	json_t *st = json_pack("{s:s, s:s, s:{}, s:s, s:s, s:s, s:i}", "kind", "Status", "apiVersion",
	                       "v1", "metadata", "status", "Failure", "message", err->message, "reason",
	                       err->reason ? err->reason : "", "code", err->code);
	json_t *details = json_object();
	if (name && *name && !err->unnamed)
		json_object_set_new(details, "name", json_string(name));
	if (d && !err->unnamed) {
		if (d->group[0])
			json_object_set_new(details, "group", json_string(d->group));
		/* k8s: Invalid names the Kind ("Deployment"); NotFound, AlreadyExists and
		 * Conflict name the resource ("deployments"). */
		bool invalid = str_eq(err->reason, "Invalid");
		json_object_set_new(details, "kind", json_string(invalid ? d->kind : d->resource));
	}
	if (err->ncauses) {
		json_t *causes = json_array();
		for (size_t i = 0; i < err->ncauses; i++) {
			json_t *c = json_object();
			if (err->causes[i].reason)
				json_object_set_new(c, "reason", json_string(err->causes[i].reason));
			if (err->causes[i].message)
				json_object_set_new(c, "message", json_string(err->causes[i].message));
			if (err->causes[i].field)
				json_object_set_new(c, "field", json_string(err->causes[i].field));
			json_array_append_new(causes, c);
		}
		json_object_set_new(details, "causes", causes);
	}
	if (err->retry_after)
		json_object_set_new(details, "retryAfterSeconds", json_integer(err->retry_after));
	/* k8s: details are only present when they say something. */
	if (json_object_size(details) && err->code != 401 && err->code != 500)
		json_object_set_new(st, "details", details);
	else
		json_decref(details);
	if (!err->reason || !*err->reason)
		json_object_del(st, "reason");
	return st;
}

json_t *status_success(const kind_desc *d, const char *name, const char *uid)
{
	json_t *details = json_object();
	json_object_set_new(details, "name", json_string(name ? name : ""));
	if (d && d->group[0])
		json_object_set_new(details, "group", json_string(d->group));
	if (d)
		json_object_set_new(details, "kind", json_string(d->resource));
	if (uid)
		json_object_set_new(details, "uid", json_string(uid));
	return json_pack("{s:s, s:s, s:{}, s:s, s:o}", "kind", "Status", "apiVersion", "v1", "metadata",
	                 "status", "Success", "details", details);
}
