/* fuzz_protobuf.c — fuzz target for the protobuf transcoder (api/protobuf.h).
 *
 * Decodes arbitrary bytes as a Kubernetes protobuf body with the real schema table. Bad
 * input must come back as a 4xx error, never a crash, leak or over-read. Whatever decodes
 * must also survive the trip back: encoding it succeeds, that decodes again, and encoding
 * the result gives the same bytes (the encoder's output is a fixed point). The JSON itself
 * may change once, as in Go: a pointer to a zero Time prints null, which reads back nil.
 * Not for: checking the JSON against Go (tests/unit/test_protobuf.c does that).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/protobuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	terr *e = NULL;
	json_t *j1 = pb_decode_object(data, size, &e);
	if (!j1) {
		if (!e || e->code < 400 || e->code >= 500)
			abort();
		terr_free(e);
		return 0;
	}
	buf b1 = {0}, b2 = {0};
	if (pb_encode_object(j1, &b1, &e) < 0)
		abort();
	json_t *j2 = pb_decode_object((const uint8_t *)b1.p, b1.n, &e);
	if (!j2)
		abort();
	if (pb_encode_object(j2, &b2, &e) < 0 || b1.n != b2.n || memcmp(b1.p, b2.p, b1.n) != 0)
		abort();
	buf_free(&b1);
	buf_free(&b2);
	json_decref(j1);
	json_decref(j2);
	return 0;
}
