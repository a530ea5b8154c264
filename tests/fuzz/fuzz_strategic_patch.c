/* fuzz_strategic_patch.c — fuzz target for strategic merge patch (api/patch_strategic.c).
 * Input: a JSON array [document, patch] merged with the Pod schema, or
 * [document, patch, true] merged without schema metadata. Checks the contract: a result
 * or an error, never both; the inputs are never modified. */
#include <stdint.h>
#include <stdlib.h>

#include "api/patch.h"
#include "api/schema.h"
#include "base/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *in = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
	size_t n = json_array_size(in);
	if (!json_is_array(in) || n < 2 || n > 3) {
		json_decref(in);
		return 0;
	}
	const schema_type *t =
	    json_is_true(json_array_get(in, 2)) ? NULL : schema_find("io.k8s.api.core.v1.Pod");
	json_t *doc = json_array_get(in, 0), *patch = json_array_get(in, 1);
	json_t *before = json_deep_copy(in);
	terr *err = NULL;
	json_t *out = patch_strategic(doc, patch, t, &err);
	if ((out == NULL) == (err == NULL) || (err && err->code < 400))
		abort();
	if (!patch_json_equal(before, in))
		abort();
	if (out) {
		/* A second application of the same patch must not crash either. */
		terr *err2 = NULL;
		json_t *again = patch_strategic(out, patch, t, &err2);
		json_decref(again);
		terr_free(err2);
	}
	json_decref(out);
	terr_free(err);
	json_decref(before);
	json_decref(in);
	return 0;
}
