/* fuzz_yaml.c — fuzz target for base/yaml: any input either converts or fails with a 400;
 * whatever converts must survive JSON -> YAML -> JSON unchanged. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/yaml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > (1u << 20))
		return 0;
	terr *e = NULL;
	json_t *j = yaml_to_json((const char *)data, size, &e);
	if (!j) {
		if (!e || e->code != 400 || !e->message ||
		    strncmp(e->message, "error converting YAML to JSON: ", 31) != 0)
			abort();
		terr_free(e);
		return 0;
	}
	char *y = json_to_yaml(j);
	json_t *back = yaml_to_json(y, strlen(y), &e);
	if (!back || !json_equal(j, back))
		abort();
	json_decref(back);
	json_decref(j);
	free(y);
	return 0;
}
