/* fuzz_image_parsers.c — fuzz target for what the image service reads from registries and
 * users: the input is tried as an image reference (a reference that parses must print a
 * form that parses back to the same form), a WWW-Authenticate challenge, a manifest or
 * index (and a platform pick), an image config, a registry error body and a pull secret.
 * Not for: YAML itself (fuzz_yaml) or tar layers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/image-internal.h"
#include "agent/image_ref.h"
#include "agent/image_registry.h"
#include "base/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void try_ref(const char *s)
{
	image_ref r;
	terr *e = NULL;
	if (image_ref_parse(s, &r, &e) < 0) {
		if (!e || e->code != 400)
			abort();
		terr_free(e);
		return;
	}
	char *full = image_ref_string(&r);
	image_ref back;
	if (image_ref_parse(full, &back, NULL) < 0)
		abort();
	char *again = image_ref_string(&back);
	if (strcmp(full, again) != 0)
		abort();
	free(again);
	free(full);
	image_ref_free(&back);
	image_ref_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_free_ char *s = xstrndup((const char *)data, size);
	try_ref(s);

	image_challenge ch;
	image_challenge_parse(s, &ch);
	image_challenge_free(&ch);

	image_manifest m;
	terr *e = NULL;
	if (image_manifest_parse((const char *)data, size, NULL, &m, &e) == 0) {
		if (m.is_index) {
			terr *pe = NULL;
			image_manifest_pick(&m, "linux", "arm", "v7", &pe);
			terr_free(pe);
		}
		image_manifest_free(&m);
	}
	terr_free(e);
	e = NULL;

	image_config c;
	if (image_config_parse((const char *)data, size, &c, &e) == 0)
		image_config_free(&c);
	terr_free(e);
	e = NULL;

	free(image_registry_error_message((const char *)data, size));

	image_keyring *k = image_keyring_new();
	image_keyring_add(k, (const char *)data, size, &e);
	terr_free(e);
	image_keyring_lookup(k, "docker.io", "library/x");
	image_keyring_lookup(k, "a.x.io", "p/q");
	image_keyring_free(k);
	return 0;
}
