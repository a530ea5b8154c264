/* fuzz_quantity.c — fuzz target for resource quantities: the input is parsed as a quantity
 * string; a quantity that parses must print a canonical form that parses back to the same
 * value, and survive arithmetic. Not for: selectors. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/quantity.h"
#include "base/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_free_ char *s = xstrndup((const char *)data, size);
	terr *e = NULL;
	quantity q;
	if (quantity_parse(s, &q, &e) < 0) {
		if (!e || e->code != 400)
			abort();
		terr_free(e);
		return 0;
	}
	_cleanup_free_ char *c = quantity_canonical(&q);
	quantity back;
	if (quantity_parse(c, &back, &e) < 0 || quantity_cmp(&q, &back) != 0)
		abort();
	_cleanup_free_ char *c2 = quantity_canonical(&back);
	if (strcmp(c, c2) != 0 && q.s[0] == 0)
		abort();
	(void)quantity_value(&q);
	(void)quantity_milli(&q);
	quantity sum = q;
	quantity_add(&sum, &q);
	quantity_sub(&sum, &q);
	quantity_sub(&sum, &q);
	__int128 mag = q.nanos < 0 ? -q.nanos : q.nanos;
	if (!quantity_is_zero(&sum) && mag < ((__int128)1 << 120)) /* no saturation there */
		abort();
	_cleanup_free_ char *c3 = quantity_canonical(&sum);
	if (!c3[0])
		abort();
	return 0;
}
