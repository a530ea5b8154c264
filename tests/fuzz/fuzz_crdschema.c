/* fuzz_crdschema.c — fuzz target for custom resource schemas: the input is a JSON document
 * {"schema": <openAPIV3Schema>, "object": <custom resource>, "old": <optional stored
 * object>}. Validation must either pass or give a 422 with causes; pruning must be
 * idempotent (a second pass prunes nothing); defaulting then validation must not crash.
 * Not for: CRD definitions themselves. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/crdschema.h"
#include "base/json.h"
#include "base/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_validate(json_t *schema, json_t *obj, json_t *old)
{
	terr *err = NULL;
	int rc = crdschema_validate(schema, obj, old, "Fuzz", "fuzz.example.com", "x", &err);
	if (rc == 0 && err)
		abort();
	if (rc != 0 && (!err || err->code != 422 || err->ncauses == 0 || !err->message))
		abort();
	for (size_t i = 0; err && i < err->ncauses; i++)
		if (!err->causes[i].field || !err->causes[i].message || !err->causes[i].reason)
			abort();
	terr_free(err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_json_ json_t *doc = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
	if (!json_is_object(doc))
		return 0;
	json_t *schema = json_object_get(doc, "schema");
	json_t *obj = json_object_get(doc, "object");
	json_t *old = json_object_get(doc, "old");
	if (!obj)
		return 0;
	check_validate(schema, obj, old);
	check_validate(schema, obj, obj); /* ratcheting against itself */

	json_t *pruned = NULL, *again = NULL;
	crdschema_prune(schema, obj, &pruned);
	if (!json_is_array(pruned))
		abort();
	crdschema_prune(schema, obj, &again);
	if (json_array_size(again) != 0)
		abort();
	json_decref(pruned);
	json_decref(again);
	crdschema_prune(schema, obj, NULL);

	crdschema_default(schema, obj);
	check_validate(schema, obj, NULL);
	terr *causes = NULL;
	crdschema_check(json_object_get(json_object_get(schema, "properties"), "status"),
	                json_object_get(obj, "status"), NULL, "status", &causes);
	terr_free(causes);
	return 0;
}
