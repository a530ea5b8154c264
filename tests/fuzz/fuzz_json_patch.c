/* fuzz_json_patch.c — fuzz target for RFC 6902 JSON patch (api/patch_json.c).
 * Input: a JSON array [document, operations]; anything else is parsed and dropped. The
 * target checks the contract: either a result or an error with a code, never both, and
 * the input document is never modified. */
#include <stdint.h>
#include <stdlib.h>

#include "api/patch.h"
#include "base/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *in = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
	if (!json_is_array(in) || json_array_size(in) != 2) {
		json_decref(in);
		return 0;
	}
	json_t *doc = json_array_get(in, 0), *ops = json_array_get(in, 1);
	json_t *before = json_deep_copy(doc);
	terr *err = NULL;
	json_t *out = patch_json(doc, ops, &err);
	if ((out == NULL) == (err == NULL) || (err && err->code < 400))
		abort();
	if (!patch_json_equal(before, doc))
		abort();
	if (out) {
		char *s = json_dump_compact(out);
		free(s);
	}
	json_decref(out);
	terr_free(err);
	json_decref(before);
	json_decref(in);
	return 0;
}
