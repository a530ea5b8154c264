/* volume_token.c — the serviceAccountToken source of projected volumes, worker side: the
 * token the loop fetched for the source (inputs "serviceaccounttokens") becomes a file.
 * Not for: fetching or refreshing tokens (agent_token.c, loop thread). */
#include <string.h>

#include "agent/volume-internal.h"
#include "base/json.h"
#include "base/util.h"

char *volume_token_key(json_t *src)
{
	const char *aud = json_string_value(json_object_get(src, "audience"));
	json_t *exp = json_object_get(src, "expirationSeconds");
	return xasprintf("%s|%lld", aud ? aud : "",
	                 (long long)(json_is_integer(exp) ? json_integer_value(exp) : 3600));
}

int volume_payload_token(volume_payload *p, json_t *inputs, json_t *src, int default_mode,
                         terr **err)
{
	_cleanup_free_ char *key = volume_token_key(src);
	const char *tok =
	    json_string_value(json_object_get(json_object_get(inputs, "serviceaccounttokens"), key));
	/* k8s: no token yet is a mount failure, retried; never an empty file. */
	if (!tok || !*tok)
		return terr_set(err, 503, "FailedMount", "failed to fetch token: the service account token is not issued yet");
	json_t *mode = json_object_get(src, "mode");
	return volume_payload_add(p, json_string_value(json_object_get(src, "path")), tok,
	                          strlen(tok),
	                          json_is_integer(mode) ? (int)json_integer_value(mode) : default_mode,
	                          err);
}
