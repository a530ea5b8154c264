/* fuzz_selector.c — fuzz target for label selectors: the input is parsed as a
 * `?labelSelector=` string; a selector that parses must print, reparse to the same
 * string, and match a fixed label set without crashing. Not for: field selectors. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/selector.h"
#include "base/json.h"
#include "base/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_free_ char *s = xstrndup((const char *)data, size);
	terr *e = NULL;
	_cleanup_label_selector_ label_selector *sel = label_selector_parse(s, &e);
	if (!sel) {
		if (!e || e->code != 400)
			abort();
		terr_free(e);
		return 0;
	}
	_cleanup_json_ json_t *labels = json_pack("{s:s, s:s, s:s}", "app", "web", "x", "3", "e", "");
	(void)label_selector_matches(sel, labels);
	(void)label_selector_matches(sel, NULL);
	(void)label_selector_exact_value(sel, "app");
	_cleanup_free_ char *str = label_selector_string(sel);
	/* k8s: the printed form is itself a valid selector with the same meaning. */
	_cleanup_label_selector_ label_selector *again = label_selector_parse(str, &e);
	if (!again)
		abort();
	_cleanup_free_ char *str2 = label_selector_string(again);
	if (strcmp(str, str2) != 0)
		abort();
	if (label_selector_matches(sel, labels) != label_selector_matches(again, labels))
		abort();
	return 0;
}
