/* satoken.h — ServiceAccount tokens in the API server: the signing key, issuing bound
 * tokens (the TokenRequest subresource), authenticating them, and the review kinds that
 * report who a caller is (SelfSubjectReview, TokenReview). Not for: authorization
 * (rbac.c) or the pod side (admission_sa.c, the agent's agent_token.c). */
#ifndef TIMON_APISERVER_SATOKEN_H
#define TIMON_APISERVER_SATOKEN_H

#include <stdbool.h>
#include <stdint.h>

#include "apiserver/apiserver-internal.h"

/* k8s: kube-apiserver's default --service-account-issuer; the API audiences default to
 * it too. */
#define SATOKEN_ISSUER      "https://kubernetes.default.svc.cluster.local"
#define SATOKEN_AUDIENCE    SATOKEN_ISSUER
#define SATOKEN_DEFAULT_TTL 3600

/* What one token says (all borrowed). bound_kind is "Pod" or "Secret", or NULL. */
typedef struct satoken_claims {
	const char *ns, *name, *sa_uid;
	json_t *audiences; /* array of strings */
	const char *bound_kind, *bound_name, *bound_uid;
	int64_t iat, ttl; /* Unix seconds; lifetime in seconds */
} satoken_claims;

/* Loads <data_dir>/tls/sa.key, creating it (RSA 2048, with sa.pub) at first start, into
 * s->satoken. 0 or -1. */
int satoken_init(apiserver *s, terr **err);
/* Frees s->satoken (NULL is fine). */
void satoken_free(apiserver *s);
/* A signed token for c: new string, or NULL with err. */
char *satoken_issue(apiserver *s, const satoken_claims *c, terr **err);
/* True when tok (NUL-terminated, from the Authorization header) is a valid
 * ServiceAccount token; h's user and groups are then set (borrowed from the server). */
bool satoken_authenticate(apiserver *s, http_req *h, const char *tok);
/* POST serviceaccounts/<name>/token: answers r with a TokenRequest or a Status. */
void satoken_handle_request(api_req *r);
/* POST selfsubjectreviews and tokenreviews (authentication.k8s.io): answers r. */
void satoken_handle_review(api_req *r);

#endif
