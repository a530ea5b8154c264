/* agent_token.c — ServiceAccount tokens for projected volumes, loop side (k8s: the
 * kubelet's token manager). Before a pod's sync job goes to a worker, the loop looks up a
 * token for each serviceAccountToken source of the pod's projected volumes; one that is
 * missing, or past 80% of its lifetime, is requested through the in-process client
 * (POST serviceaccounts/<name>/token, bound to the pod, with the source's audience and
 * expirationSeconds). The answer comes back on the loop; it is kept in the pod's loop
 * state and the pod is synced again, so the worker writes the new token atomically. The
 * loop never waits: a pod whose token is asked for and not there at all is not synced
 * until the answer comes (a refusal syncs it too, and its mount fails and is retried); a
 * renewal under way leaves the pod with the token it has.
 * Not for: writing the file (volume_token.c). */
#include <stdlib.h>
#include <string.h>

#include "agent/agent-internal.h"
#include "agent/volume-internal.h"
#include "apiserver/client.h"
#include "base/json.h"
#include "base/log.h"
#include "base/util.h"

/* A refused request is tried again after this long (the pod's resyncs ask again). */
#define TOKEN_RETRY_S 5

typedef struct token_req {
	agent *a;
	char *pod_key, *uid, *src_key;
	int64_t ttl;
} token_req;

static int64_t now_s(void)
{
	return time_now_ns() / 1000000000;
}

static void on_token(void *ud, int code, json_t *obj)
{
	token_req *t = ud;
	agent *a = t->a;
	agent_pod *ap = a->c->state == a ? hmap_get(&a->pods, t->pod_key) : NULL;
	if (ap && str_eq(ap->uid, t->uid)) {
		json_t *ent = json_object_get(ap->sa_tokens, t->src_key);
		json_object_del(ent, "pending");
		const char *tok = json_path_str(obj, "status.token");
		if (code == 201 && tok) {
			int64_t now = now_s(), exp = now + t->ttl;
			/* k8s: the lifetime is the server's answer (it may differ from the ask). */
			const char *ets = json_path_str(obj, "status.expirationTimestamp");
			int64_t ens;
			if (ets && time_parse_rfc3339(ets, &ens) == 0 && ens / 1000000000 > now)
				exp = ens / 1000000000;
			json_object_set_new(ap->sa_tokens, t->src_key,
			                    json_pack("{s:s, s:I, s:I}", "token", tok, "iat", (json_int_t)now,
			                              "exp", (json_int_t)exp));
			if (!a->token_inline) {
				ap->kick = true;
				controller_enqueue(a->c, ap->key);
			}
		} else {
			log_warn("agent: token for pod %s answered %d: %s", t->pod_key, code,
			         json_string_value(json_object_get(obj, "message")));
			json_object_set_new(ent, "retryAt", json_integer(now_s() + TOKEN_RETRY_S));
			/* the pod waited for this answer (agent.c submit): it syncs and reports */
			if (!a->token_inline)
				controller_enqueue(a->c, ap->key);
		}
	}
	free(t->pod_key);
	free(t->uid);
	free(t->src_key);
	free(t);
}

static void request(agent *a, agent_pod *ap, json_t *pod, json_t *src, const char *key)
{
	const char *ns = json_path_str(pod, "metadata.namespace");
	const char *sa = json_path_str(pod, "spec.serviceAccountName");
	const char *aud = json_string_value(json_object_get(src, "audience"));
	json_t *exp = json_object_get(src, "expirationSeconds");
	token_req *t = xcalloc(1, sizeof *t);
	t->a = a;
	t->pod_key = xstrdup(ap->key);
	t->uid = xstrdup(ap->uid);
	t->src_key = xstrdup(key);
	t->ttl = json_is_integer(exp) ? json_integer_value(exp) : 3600;
	json_t *spec = json_pack("{s:I, s:{s:s, s:s, s:s, s:s}}", "expirationSeconds",
	                         (json_int_t)t->ttl, "boundObjectRef", "kind", "Pod", "apiVersion",
	                         "v1", "name", json_path_str(pod, "metadata.name"), "uid", ap->uid);
	/* k8s: a source without an audience gets the API server's. */
	if (aud && *aud)
		json_object_set_new(spec, "audiences", json_pack("[s]", aud));
	json_t *body = json_pack("{s:s, s:s, s:o}", "apiVersion", "authentication.k8s.io/v1", "kind",
	                         "TokenRequest", "spec", spec);
	_cleanup_free_ char *path = client_path(controller_kind("", "serviceaccounts"), ns,
	                                        sa && *sa ? sa : "default", "token");
	json_t *ent = json_object_get(ap->sa_tokens, key);
	if (!ent) {
		ent = json_object();
		json_object_set_new(ap->sa_tokens, key, ent);
	}
	json_object_set_new(ent, "pending", json_true());
	/* The server may answer before client_do returns: then this sync takes the token and
	 * no second sync is needed. */
	a->token_inline = true;
	client_do(a->c->srv, AGENT_NAME, "POST", path, body, NULL, on_token, t);
	a->token_inline = false;
	json_decref(body);
}

/* k8s: the kubelet renews a token once 80% of its lifetime has passed (or after 24 h). */
bool agent_token_due(json_t *ent, int64_t now)
{
	if (!ent || json_is_true(json_object_get(ent, "pending")))
		return !ent;
	json_t *retry = json_object_get(ent, "retryAt");
	if (retry && json_integer_value(retry) > now)
		return false;
	json_t *tok = json_object_get(ent, "token");
	if (!tok)
		return true;
	int64_t iat = json_integer_value(json_object_get(ent, "iat"));
	int64_t exp = json_integer_value(json_object_get(ent, "exp"));
	int64_t renew = iat + (exp - iat) * 8 / 10;
	if (renew > iat + 24 * 3600)
		renew = iat + 24 * 3600;
	return now >= renew;
}

json_t *agent_tokens_for(agent *a, agent_pod *ap, json_t *pod, bool *waiting)
{
	*waiting = false;
	json_t *out = json_object();
	if (!ap->sa_tokens)
		ap->sa_tokens = json_object();
	int64_t now = now_s();
	size_t i;
	json_t *v;
	json_array_foreach(json_path(pod, "spec.volumes"), i, v)
	{
		size_t k;
		json_t *s, *src;
		json_array_foreach(json_path(v, "projected.sources"), k, s)
		{
			if (!(src = json_object_get(s, "serviceAccountToken")))
				continue;
			_cleanup_free_ char *key = volume_token_key(src);
			if (agent_token_due(json_object_get(ap->sa_tokens, key), now))
				request(a, ap, pod, src, key);
			json_t *ent = json_object_get(ap->sa_tokens, key);
			const char *tok = json_string_value(json_object_get(ent, "token"));
			if (tok && json_integer_value(json_object_get(ent, "exp")) > now)
				json_object_set_new(out, key, json_string(tok));
			else if (json_is_true(json_object_get(ent, "pending")))
				*waiting = true;
		}
	}
	return out;
}
