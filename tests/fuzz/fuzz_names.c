/* fuzz_names.c — fuzz target for the name and key syntax checks of api/validate.h, and
 * (for inputs that start with '{') for defaults_apply + validate_object on an arbitrary
 * JSON body of a kind picked from the input. None may crash, leak or read out of bounds.
 * Not for: checking the verdicts (tests/unit/test_validate.c does). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/defaults.h"
#include "api/kind.h"
#include "api/validate.h"
#include "base/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	kind_registry_init();
	char *s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = 0; /* inputs are not NUL-terminated; names stop at the first NUL */
	(void)valid_dns1123_label(s);
	(void)valid_dns1123_subdomain(s);
	(void)valid_dns1035_label(s);
	(void)valid_qualified_name(s);
	(void)valid_label_value(s);
	(void)valid_config_map_key(s);
	(void)valid_port_name(s);
	(void)valid_path_segment_name(s);
	(void)defaults_image_pull_policy(s);
	size_t nk = kind_count();
	const kind_desc *d = nk ? kind_at(size % nk) : NULL;
	if (d) {
		terr *err = NULL;
		validate_name(d, s, &err);
		terr_free(err);
	}
	if (d && size > 0 && data[0] == '{') {
		json_t *obj = json_loadb((const char *)data, size, 0, NULL);
		json_t *old = obj ? json_deep_copy(obj) : NULL;
		if (obj) {
			defaults_apply(d, obj);
			defaults_on_create(d, obj);
			terr *err = NULL;
			validate_object(d, obj, NULL, &err);
			terr_free(err);
			err = NULL;
			validate_object(d, obj, old, &err);
			terr_free(err);
		}
		json_decref(obj);
		json_decref(old);
	}
	free(s);
	return 0;
}
