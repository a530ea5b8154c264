/* satoken.c — ServiceAccount tokens: the signing key, the TokenRequest subresource
 * (serviceaccounts/<name>/token), authentication of bearer JWTs, and the review kinds that
 * report an identity (SelfSubjectReview, TokenReview).
 *
 * A token is an RS256 JWT signed with <data_dir>/tls/sa.key, shaped like kube's bound
 * tokens. Verifying one checks the signature, issuer, audience and times once and caches
 * the result by the token's digest; the object checks (the ServiceAccount still exists
 * with the uid the token names, the bound pod or secret too) run on every request, from
 * the watch cache (hash lookups). See docs/auth.md and decision 0007.
 * Not for: authorization (authz.c, rbac.c), static tokens (base/tokenfile.c), client
 * certificates (base/pki.c). */
#include "apiserver/satoken.h"

#include <openssl/pem.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hmap.h"
#include "base/json.h"
#include "base/jwt.h"
#include "base/log.h"
#include "base/pki.h"
#include "base/util.h"

#define SA_KEY_FILE "sa.key"
#define SA_PUB_FILE "sa.pub"
/* Verified tokens kept; past this many the cache starts afresh (a flood of distinct
 * valid tokens costs a signature check each, nothing more). */
#define VERIFIED_MAX 4096

typedef struct sa_identity {
	char *user;
	char *groups[3];
} sa_identity;

/* What a verified token says; its identity is interned (lives as long as the server). */
typedef struct sa_verified {
	char digest[2 * SHA256_DIGEST_LENGTH + 1]; /* the hmap key */
	sa_identity *id;
	char *ns, *name, *sa_uid;
	char *bound_res, *bound_name, *bound_uid; /* "pods" or "secrets", or NULL */
	int64_t exp;
} sa_verified;

struct satoken {
	EVP_PKEY *key;
	char *kid;
	hmap ids;      /* user name -> sa_identity */
	hmap verified; /* token digest -> sa_verified */
};

static const kind_desc tokenrequest_kind = {
    .group = "authentication.k8s.io", .version = "v1", .kind = "TokenRequest",
    .resource = "serviceaccounts", .namespaced = true};

/* ---------- the signing key ---------- */

static EVP_PKEY *load_or_create_key(const char *data_dir, terr **err)
{
	_cleanup_free_ char *path = xasprintf("%s/tls/%s", data_dir, SA_KEY_FILE);
	_cleanup_free_ char *pub_path = xasprintf("%s/tls/%s", data_dir, SA_PUB_FILE);
	_cleanup_free_ char *pem = NULL;
	size_t n = 0;
	terr *rerr = NULL;
	EVP_PKEY *key = NULL;
	if (pki_read_file(path, &pem, &n, &rerr) == 0) {
		BIO *b = BIO_new_mem_buf(pem, (int)n);
		key = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
		BIO_free(b);
		if (!key || EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
			EVP_PKEY_free(key);
			terr_internal(err, "%s: not an RSA private key", path);
			return NULL;
		}
		return key;
	}
	if (rerr->code != 404) {
		*err = rerr;
		return NULL;
	}
	terr_free(rerr);
	/* k8s: RS256 over an RSA 2048 key, kube's default for service-account keys. */
	key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	BIO *kb = BIO_new(BIO_s_mem()), *pb = BIO_new(BIO_s_mem());
	int ok = key && kb && pb && PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL) &&
	         PEM_write_bio_PUBKEY(pb, key);
	char *kd = NULL, *pd = NULL;
	long kn = ok ? BIO_get_mem_data(kb, &kd) : 0, pn = ok ? BIO_get_mem_data(pb, &pd) : 0;
	if (!ok || pki_write_file_atomic(path, kd, (size_t)kn, 0600, err) < 0 ||
	    pki_write_file_atomic(pub_path, pd, (size_t)pn, 0644, err) < 0) {
		if (!ok)
			terr_internal(err, "cannot create the service-account signing key");
		EVP_PKEY_free(key);
		key = NULL;
	}
	BIO_free(kb);
	BIO_free(pb);
	if (key)
		log_info("apiserver: created service-account signing key %s", path);
	return key;
}

int satoken_init(apiserver *s, terr **err)
{
	EVP_PKEY *key = load_or_create_key(s->cfg.data_dir, err);
	if (!key)
		return -1;
	s->satoken = xcalloc(1, sizeof *s->satoken);
	s->satoken->key = key;
	s->satoken->kid = jwt_key_id(key);
	return 0;
}

static void verified_free(sa_verified *v)
{
	free(v->ns);
	free(v->name);
	free(v->sa_uid);
	free(v->bound_res);
	free(v->bound_name);
	free(v->bound_uid);
	free(v);
}

static void verified_clear(struct satoken *t)
{
	const char *k;
	void *v;
	for (size_t i = 0; hmap_next(&t->verified, &i, &k, &v);)
		verified_free(v);
	hmap_free(&t->verified);
	memset(&t->verified, 0, sizeof t->verified);
}

void satoken_free(apiserver *s)
{
	struct satoken *t = s->satoken;
	if (!t)
		return;
	verified_clear(t);
	const char *k;
	void *v;
	for (size_t i = 0; hmap_next(&t->ids, &i, &k, &v);) {
		sa_identity *id = v;
		free(id->user);
		for (size_t g = 0; g < ARRAY_SIZE(id->groups); g++)
			free(id->groups[g]);
		free(id);
	}
	hmap_free(&t->ids);
	EVP_PKEY_free(t->key);
	free(t->kid);
	free(t);
	s->satoken = NULL;
}

/* ---------- issuing ---------- */

static const kind_desc *core_kind(const char *resource)
{
	return kind_by_resource("", "v1", resource);
}

/* The stored object's tree (borrowed from the cache), or NULL. */
static json_t *lookup(apiserver *s, const char *resource, const char *ns, const char *name)
{
	_cleanup_free_ char *key = route_key(core_kind(resource), ns, name);
	const cache_entry *e = cache_get(s->cache, key);
	return e ? cache_entry_obj(s->cache, e) : NULL;
}

char *satoken_issue(apiserver *s, const satoken_claims *c, terr **err)
{
	json_t *k8s = json_pack("{s:s, s:{s:s, s:s}}", "namespace", c->ns, "serviceaccount", "name",
	                        c->name, "uid", c->sa_uid);
	if (c->bound_kind && c->bound_name)
		json_object_set_new(k8s, str_eq(c->bound_kind, "Pod") ? "pod" : "secret",
		                    json_pack("{s:s, s:s}", "name", c->bound_name, "uid",
		                              c->bound_uid ? c->bound_uid : ""));
	char jti[37];
	uuid_v4(jti);
	_cleanup_free_ char *sub = xasprintf("system:serviceaccount:%s:%s", c->ns, c->name);
	_cleanup_json_ json_t *claims = json_pack(
	    "{s:O, s:I, s:I, s:s, s:s, s:o, s:I, s:s}", "aud", c->audiences, "exp",
	    (json_int_t)(c->iat + c->ttl), "iat", (json_int_t)c->iat, "iss", SATOKEN_ISSUER, "jti",
	    jti, "kubernetes.io", k8s, "nbf", (json_int_t)c->iat, "sub", sub);
	return jwt_sign(s->satoken->key, s->satoken->kid, claims, err);
}

static void send_kind(api_req *r, int code, json_t *obj)
{
	/* The answer is not the routed kind's object: no conversion or Table view. */
	r->kind = NULL;
	r->want_table = false;
	api_send_object(r, code, obj);
}

static void send_tokenrequest_error(api_req *r, terr *err)
{
	_cleanup_json_ json_t *st = status_from_error(err, &tokenrequest_kind, r->name);
	int code = err->code;
	terr_free(err);
	r->want_yaml = false;
	send_kind(r, code, st);
}

/* k8s: TokenRequest validation (expirationSeconds at least 10 minutes, at most 2^32
 * seconds; audiences strings). 0 or -1 with err (422, a cause per field). */
static int check_spec(json_t *spec, const char *name, terr **err)
{
	/* Clients send the fields they leave out as null. */
	static const char *const optional[] = {"expirationSeconds", "audiences", "boundObjectRef"};
	for (size_t k = 0; k < ARRAY_SIZE(optional); k++)
		if (json_is_null(json_object_get(spec, optional[k])))
			json_object_del(spec, optional[k]);
	json_t *exp = json_object_get(spec, "expirationSeconds");
	if (exp && !json_is_integer(exp))
		terr_cause_add(err, "FieldValueInvalid", "spec.expirationSeconds", "Invalid value: must be an integer");
	else if (exp && json_integer_value(exp) < 600)
		terr_cause_add(err, "FieldValueInvalid", "spec.expirationSeconds", "Invalid value: %lld: may not specify a duration less than 10 minutes",
		               (long long)json_integer_value(exp));
	else if (exp && json_integer_value(exp) > ((json_int_t)1 << 32))
		terr_cause_add(err, "FieldValueInvalid", "spec.expirationSeconds", "Invalid value: %lld: may not specify a duration larger than 2^32 seconds",
		               (long long)json_integer_value(exp));
	json_t *auds = json_object_get(spec, "audiences");
	size_t i;
	json_t *a;
	if (auds && !json_is_array(auds))
		terr_cause_add(err, "FieldValueInvalid", "spec.audiences", "Invalid value: must be a list of strings");
	json_array_foreach(auds, i, a) {
		if (!json_is_string(a) || !*json_string_value(a)) {
			char f[64];
			snprintf(f, sizeof f, "spec.audiences[%zu]", i);
			terr_cause_add(err, "FieldValueInvalid", f, "Invalid value: must be a non-empty string");
		}
	}
	if (!*err)
		return 0;
	free((*err)->message);
	(*err)->message = xasprintf("TokenRequest.authentication.k8s.io \"%s\" is invalid: %s: %s",
	                            name, (*err)->causes[0].field, (*err)->causes[0].message);
	return -1;
}

/* The bound object of ref (kind Pod or Secret, in ns), checked: its uid when ref names
 * one, and a pod's service account. Fills c's bound fields (borrowed from ref/the cache). */
static int check_bound(apiserver *s, json_t *ref, const char *ns, const char *sa,
                       satoken_claims *c, terr **err)
{
	const char *kind = json_string_value(json_object_get(ref, "kind"));
	const char *apiv = json_string_value(json_object_get(ref, "apiVersion"));
	const char *name = json_string_value(json_object_get(ref, "name"));
	const char *uid = json_string_value(json_object_get(ref, "uid"));
	bool pod = str_eq(kind, "Pod");
	/* k8s: tokens bind to pods and secrets (nodes come with node authorization). */
	if ((!pod && !str_eq(kind, "Secret")) || (apiv && *apiv && !str_eq(apiv, "v1")))
		return terr_bad_request(err, "cannot bind token to object of type %s/%s",
		                        apiv ? apiv : "", kind ? kind : "");
	if (!name || !*name)
		return terr_bad_request(err, "boundObjectRef.name is required");
	json_t *obj = lookup(s, pod ? "pods" : "secrets", ns, name);
	if (!obj)
		return terr_not_found(err, "%s \"%s\" not found", pod ? "pods" : "secrets", name);
	const char *have = json_path_str(obj, "metadata.uid");
	if (uid && *uid && !str_eq(uid, have))
		return terr_conflict(err, "the UID in the bound object reference (%s) does not match the UID in record. The object might have been deleted and then recreated",
		                     uid);
	if (pod && !str_eq(json_path_str(obj, "spec.serviceAccountName"), sa))
		return terr_bad_request(err, "cannot bind token for serviceaccount \"%s\" to pod running with different serviceaccount name.",
		                        sa);
	c->bound_kind = kind;
	c->bound_name = name;
	c->bound_uid = have;
	return 0;
}

void satoken_handle_request(api_req *r)
{
	terr *err = NULL;
	apiserver *s = r->srv;
	_cleanup_json_ json_t *req = codec_decode_body(r, &err);
	if (!req) {
		send_tokenrequest_error(r, err);
		return;
	}
	const char *kind = json_string_value(json_object_get(req, "kind"));
	if (kind && !str_eq(kind, "TokenRequest")) {
		terr_bad_request(&err, "expected a TokenRequest, got %s", kind);
		send_tokenrequest_error(r, err);
		return;
	}
	json_t *sa = lookup(s, "serviceaccounts", r->ns, r->name);
	if (!sa) {
		terr_not_found(&err, "serviceaccounts \"%s\" not found", r->name);
		api_send_error(r, err); /* details name the serviceaccounts resource */
		return;
	}
	json_t *spec = json_object_get(req, "spec");
	if (spec && !json_is_object(spec) && !json_is_null(spec)) {
		terr_bad_request(&err, "spec must be an object");
		send_tokenrequest_error(r, err);
		return;
	}
	if (json_is_null(spec))
		json_object_del(req, "spec");
	spec = json_obj_child(req, "spec");
	if (check_spec(spec, r->name, &err) < 0) {
		send_tokenrequest_error(r, err);
		return;
	}
	satoken_claims c = {.ns = r->ns, .name = r->name,
	                    .sa_uid = json_path_str(sa, "metadata.uid"),
	                    .iat = time_now_ns() / 1000000000};
	json_t *ref = json_object_get(spec, "boundObjectRef");
	if (ref && !json_is_object(ref))
		terr_bad_request(&err, "boundObjectRef must be an object");
	if (err || (ref && check_bound(s, ref, r->ns, r->name, &c, &err) < 0)) {
		send_tokenrequest_error(r, err);
		return;
	}
	json_t *exp = json_object_get(spec, "expirationSeconds");
	c.ttl = exp ? json_integer_value(exp) : SATOKEN_DEFAULT_TTL;
	/* k8s: no audiences means the API server's own. */
	if (json_array_size(json_object_get(spec, "audiences")) == 0)
		json_object_set_new(spec, "audiences", json_pack("[s]", SATOKEN_AUDIENCE));
	json_object_set_new(spec, "expirationSeconds", json_integer(c.ttl));
	c.audiences = json_object_get(spec, "audiences");
	if (!json_object_get(spec, "boundObjectRef"))
		json_object_set_new(spec, "boundObjectRef", json_null());
	_cleanup_free_ char *tok = satoken_issue(s, &c, &err);
	if (!tok) {
		send_tokenrequest_error(r, err);
		return;
	}
	char ts[32];
	time_rfc3339((c.iat + c.ttl) * 1000000000, false, ts);
	_cleanup_json_ json_t *out = json_pack(
	    "{s:s, s:s, s:{s:s, s:s, s:n}, s:O, s:{s:s, s:s}}", "kind", "TokenRequest", "apiVersion",
	    "authentication.k8s.io/v1", "metadata", "name", r->name, "namespace", r->ns,
	    "creationTimestamp", "spec", spec, "status", "token", tok, "expirationTimestamp", ts);
	send_kind(r, 201, out);
}

/* ---------- authentication ---------- */

static sa_identity *intern_identity(struct satoken *t, const char *ns, const char *name)
{
	_cleanup_free_ char *user = xasprintf("system:serviceaccount:%s:%s", ns, name);
	sa_identity *id = hmap_get(&t->ids, user);
	if (id)
		return id;
	id = xcalloc(1, sizeof *id);
	id->user = user;
	user = NULL;
	/* k8s: a service account's groups. */
	id->groups[0] = xstrdup("system:serviceaccounts");
	id->groups[1] = xasprintf("system:serviceaccounts:%s", ns);
	id->groups[2] = xstrdup("system:authenticated");
	hmap_put(&t->ids, id->user, id);
	return id;
}

static void digest_hex(const char *tok, size_t len, char out[2 * SHA256_DIGEST_LENGTH + 1])
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	SHA256((const unsigned char *)tok, len, md);
	for (size_t i = 0; i < sizeof md; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* Signature and claims: a new cache record, or NULL with err (401). */
static sa_verified *verify_token(struct satoken *t, const char *tok, size_t len, int64_t now,
                                 terr **err)
{
	_cleanup_json_ json_t *claims = jwt_verify(t->key, tok, len, err);
	if (!claims || jwt_check_claims(claims, SATOKEN_ISSUER, SATOKEN_AUDIENCE, now, err) < 0)
		return NULL;
	json_t *k8s = json_object_get(claims, "kubernetes.io");
	const char *ns = json_string_value(json_object_get(k8s, "namespace"));
	const char *name = json_path_str(k8s, "serviceaccount.name");
	const char *uid = json_path_str(k8s, "serviceaccount.uid");
	if (!ns || !name || !uid) {
		terr_set(err, 401, "Unauthorized", "invalid bearer token: no service account claims");
		return NULL;
	}
	_cleanup_free_ char *sub = xasprintf("system:serviceaccount:%s:%s", ns, name);
	if (!str_eq(json_string_value(json_object_get(claims, "sub")), sub)) {
		terr_set(err, 401, "Unauthorized", "invalid bearer token: subject does not match");
		return NULL;
	}
	sa_verified *v = xcalloc(1, sizeof *v);
	v->ns = xstrdup(ns);
	v->name = xstrdup(name);
	v->sa_uid = xstrdup(uid);
	v->exp = json_integer_value(json_object_get(claims, "exp"));
	json_t *b = json_object_get(k8s, "pod");
	v->bound_res = b ? xstrdup("pods") : NULL;
	if (!b && (b = json_object_get(k8s, "secret")))
		v->bound_res = xstrdup("secrets");
	if (b) {
		v->bound_name = xstrdup(json_string_value(json_object_get(b, "name")));
		v->bound_uid = xstrdup(json_string_value(json_object_get(b, "uid")));
	}
	v->id = intern_identity(t, ns, name);
	return v;
}

/* k8s: a token is good only while its service account (and bound object) exist with the
 * uids it names; a bound pod deleted more than 60 s ago no longer counts. */
static int check_objects(apiserver *s, const sa_verified *v, int64_t now, terr **err)
{
	json_t *sa = lookup(s, "serviceaccounts", v->ns, v->name);
	if (!sa || !str_eq(json_path_str(sa, "metadata.uid"), v->sa_uid))
		return terr_set(err, 401, "Unauthorized", "invalid bearer token: service account %s/%s has been deleted",
		                v->ns, v->name);
	if (!v->bound_res)
		return 0;
	json_t *o = v->bound_name ? lookup(s, v->bound_res, v->ns, v->bound_name) : NULL;
	if (!o || !str_eq(json_path_str(o, "metadata.uid"), v->bound_uid))
		return terr_set(err, 401, "Unauthorized", "invalid bearer token: the bound object %s/%s has been deleted",
		                v->ns, v->bound_name ? v->bound_name : "");
	const char *dts = json_path_str(o, "metadata.deletionTimestamp");
	int64_t dt;
	if (dts && time_parse_rfc3339(dts, &dt) == 0 && dt / 1000000000 < now - 60)
		return terr_set(err, 401, "Unauthorized", "invalid bearer token: the bound object %s/%s has been deleted",
		                v->ns, v->bound_name);
	return 0;
}

/* The identity of a ServiceAccount JWT (borrowed, lives as long as the server), or NULL
 * with err (401). */
static const sa_identity *authenticate(apiserver *s, const char *tok, size_t len, terr **err)
{
	struct satoken *t = s->satoken;
	int64_t now = time_now_ns() / 1000000000;
	char digest[2 * SHA256_DIGEST_LENGTH + 1];
	digest_hex(tok, len, digest);
	sa_verified *v = hmap_get(&t->verified, digest);
	if (v && v->exp <= now) {
		hmap_del(&t->verified, digest);
		verified_free(v);
		v = NULL;
	}
	if (!v) {
		v = verify_token(t, tok, len, now, err);
		if (!v)
			return NULL;
		if (t->verified.count >= VERIFIED_MAX)
			verified_clear(t);
		memcpy(v->digest, digest, sizeof digest);
		hmap_put(&t->verified, v->digest, v);
	}
	if (check_objects(s, v, now, err) < 0)
		return NULL;
	return v->id;
}

/* Cheap shape test before any work: a JWT is three base64url parts. */
static bool looks_like_jwt(const char *tok, size_t len)
{
	if (len == 0 || len > JWT_MAX_LEN)
		return false;
	size_t dots = 0;
	for (size_t i = 0; i < len; i++) {
		char c = tok[i];
		if (c == '.')
			dots++;
		else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		           c == '-' || c == '_'))
			return false;
	}
	return dots == 2;
}

bool satoken_authenticate(apiserver *s, http_req *h, const char *tok)
{
	if (!s->satoken)
		return false;
	size_t len = strnlen(tok, JWT_MAX_LEN + 1);
	if (!looks_like_jwt(tok, len))
		return false;
	terr *err = NULL;
	const sa_identity *id = authenticate(s, tok, len, &err);
	if (!id) {
		log_debug("apiserver: bearer token refused: %s", err ? err->message : "?");
		terr_free(err);
		return false;
	}
	/* Borrowed from the interned identities, which live as long as the server. */
	h->user = id->user;
	h->groups = (char **)id->groups;
	h->ngroups = ARRAY_SIZE(id->groups);
	return true;
}

/* ---------- SelfSubjectReview, TokenReview ---------- */

static json_t *user_info(const char *user, char **groups, size_t n)
{
	json_t *g = json_array();
	bool authd = false;
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(g, json_string(groups[i]));
		authd |= str_eq(groups[i], "system:authenticated");
	}
	/* k8s: every authenticated user is in system:authenticated. */
	if (!authd)
		json_array_append_new(g, json_string("system:authenticated"));
	return json_pack("{s:s, s:o}", "username", user, "groups", g);
}

void satoken_handle_review(api_req *r)
{
	terr *err = NULL;
	if (r->name || r->sub) {
		terr_set(&err, 405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
		api_send_error(r, err);
		return;
	}
	_cleanup_json_ json_t *obj = codec_decode_body(r, &err);
	if (!obj) {
		api_send_error(r, err);
		return;
	}
	char apiv[128];
	kind_api_version(r->kind, apiv);
	json_object_set_new(obj, "apiVersion", json_string(apiv));
	json_object_set_new(obj, "kind", json_string(r->kind->kind));
	if (!json_object_get(obj, "metadata"))
		json_object_set_new(obj, "metadata", json_pack("{s:n}", "creationTimestamp"));
	http_req *h = r->http;
	if (str_eq(r->kind->resource, "selfsubjectreviews")) {
		json_object_set_new(obj, "status",
		                    json_pack("{s:o}", "userInfo",
		                              user_info(h->user ? h->user : "system:anonymous",
		                                        h->groups, h->ngroups)));
		send_kind(r, 201, obj);
		return;
	}
	/* TokenReview: service-account tokens, for the audiences asked (the server's by
	 * default). */
	const char *tok = json_path_str(obj, "spec.token");
	if (!tok || !*tok) {
		terr_cause_add(&err, "FieldValueRequired", "spec.token", "Required value");
		api_send_error(r, err);
		return;
	}
	json_t *auds = json_path(obj, "spec.audiences");
	bool aud_ok = json_array_size(auds) == 0;
	size_t i;
	json_t *a;
	json_array_foreach(auds, i, a) aud_ok |= str_eq(json_string_value(a), SATOKEN_AUDIENCE);
	size_t len = strnlen(tok, JWT_MAX_LEN + 1);
	const sa_identity *id = NULL;
	if (!aud_ok)
		terr_set(&err, 401, "Unauthorized", "token audiences %s is invalid for the target audiences", "[]");
	else if (!looks_like_jwt(tok, len) || !r->srv->satoken)
		terr_set(&err, 401, "Unauthorized", "invalid bearer token");
	else
		id = authenticate(r->srv, tok, len, &err);
	json_t *st;
	if (id)
		st = json_pack("{s:b, s:o, s:[s]}", "authenticated", 1, "user",
		               user_info(id->user, (char **)id->groups, ARRAY_SIZE(id->groups)),
		               "audiences", SATOKEN_AUDIENCE);
	else
		st = json_pack("{s:b, s:{}, s:s}", "authenticated", 0, "user", "error",
		               err && err->message ? err->message : "invalid bearer token");
	terr_free(err);
	json_object_set_new(obj, "status", st);
	send_kind(r, 201, obj);
}
