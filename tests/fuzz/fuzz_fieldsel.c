/* fuzz_fieldsel.c — fuzz target for field selectors: the input is parsed as a
 * `?fieldSelector=` string; a selector that parses must print and reparse with the same
 * meaning (printing is stable after one round: kube sorts the raw terms), pass or fail the per-kind check with a 400, and match an object without
 * crashing. Not for: label selectors (fuzz_selector.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/fieldsel.h"
#include "base/json.h"
#include "base/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_free_ char *s = xstrndup((const char *)data, size);
	terr *e = NULL;
	_cleanup_field_selector_ field_selector *sel = field_selector_parse(s, &e);
	if (!sel) {
		if (!e || e->code != 400)
			abort();
		terr_free(e);
		return 0;
	}
	_cleanup_json_ json_t *obj = json_pack(
	    "{s:{s:s, s:s}, s:{s:s, s:b, s:i}, s:{s:s, s:[{s:s}]}, s:{}}", "metadata", "name", "p",
	    "namespace", "default", "spec", "nodeName", "n1", "hostNetwork", 1, "replicas", 3,
	    "status", "phase", "Running", "podIPs", "ip", "10.1.1.1", "source");
	(void)field_selector_matches(sel, obj);
	(void)field_selector_matches(sel, NULL);
	(void)field_selector_single_value(sel, "spec.nodeName");
	static const char *const kinds[][2] = {{"", "Pod"}, {"batch", "Job"}, {"", "ConfigMap"},
					       {"events.k8s.io", "Event"}};
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		if (field_selector_check_supported(sel, kinds[i][0], kinds[i][1], NULL, &e) < 0) {
			if (!e || e->code != 400)
				abort();
			terr_free(e);
			e = NULL;
		}
	}
	_cleanup_free_ char *str = field_selector_string(sel);
	_cleanup_field_selector_ field_selector *again = field_selector_parse(str, &e);
	if (!again)
		abort();
	_cleanup_free_ char *str2 = field_selector_string(again);
	_cleanup_field_selector_ field_selector *third = field_selector_parse(str2, &e);
	if (!third)
		abort();
	_cleanup_free_ char *str3 = field_selector_string(third);
	if (strcmp(str2, str3) != 0 || field_selector_matches(sel, obj) != field_selector_matches(again, obj))
		abort();
	return 0;
}
