/* csrsigning.c — certificates.k8s.io CertificateSigningRequests for node client
 * certificates: kube's csrapproving controller (auto-approves what a joining or joined
 * node agent asks for itself) and csrsigning controller (signs approved requests with the
 * cluster CA), in one.
 *
 * Approved automatically: signerName kubernetes.io/kube-apiserver-client-kubelet, subject
 * CN=system:node:<name> O=system:nodes, client usages only, asked by a bootstrapper
 * (group system:bootstrappers) or by that same node renewing. Anything else waits for a
 * person. Signed: approved requests of the two client signers
 * (kube-apiserver-client-kubelet, kube-apiserver-client). Not for: serving certificates.
 */
#include <stdlib.h>
#include <string.h>

#include "apiserver/client.h"
#include "base/base64.h"
#include "base/json.h"
#include "base/log.h"
#include "base/pki.h"
#include "base/util.h"
#include "controllers/controller-internal.h"

#define SIGNER_KUBELET "kubernetes.io/kube-apiserver-client-kubelet"
#define SIGNER_CLIENT  "kubernetes.io/kube-apiserver-client"
#define NAME           "csr-controller"

static json_t *condition(json_t *csr, const char *type)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_path(csr, "status.conditions"), i, c)
	{
		if (str_eq(json_string_value(json_object_get(c, "type")), type))
			return c;
	}
	return NULL;
}

static bool in_list(json_t *arr, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
	{
		if (str_eq(json_string_value(v), s))
			return true;
	}
	return false;
}

/* k8s: a kubelet client certificate may only be used for client auth (and signing). */
static bool client_usages(json_t *usages)
{
	if (!json_array_size(usages))
		return false;
	bool client = false;
	size_t i;
	json_t *u;
	json_array_foreach(usages, i, u)
	{
		const char *s = json_string_value(u);
		if (str_eq(s, "client auth"))
			client = true;
		else if (!str_eq(s, "digital signature") && !str_eq(s, "key encipherment"))
			return false;
	}
	return client;
}

/* The CN and O of the request, checked against its signature; -1 when it is unusable. */
static int csr_subject(json_t *csr, char **cn, char ***orgs, size_t *norgs, char **pem,
                       size_t *pemlen)
{
	const char *req = json_path_str(csr, "spec.request");
	size_t n = 0;
	unsigned char *raw = req ? base64_decode(req, &n) : NULL;
	if (!raw)
		return -1;
	terr *err = NULL;
	if (pki_csr_parse((const char *)raw, n, cn, orgs, norgs, NULL, &err) < 0) {
		log_warn("csr %s: %s", json_path_str(csr, "metadata.name"), err->message);
		terr_free(err);
		free(raw);
		return -1;
	}
	*pem = (char *)raw;
	*pemlen = n;
	return 0;
}

/* Whether a node agent asks for its own client certificate (see the file comment). */
static bool auto_approvable(json_t *csr, const char *cn, char **orgs, size_t norgs)
{
	if (!str_eq(json_path_str(csr, "spec.signerName"), SIGNER_KUBELET) ||
	    !client_usages(json_path(csr, "spec.usages")) ||
	    !str_has_prefix(cn, "system:node:") || !cn[strlen("system:node:")] || norgs != 1 ||
	    !str_eq(orgs[0], "system:nodes"))
		return false;
	json_t *groups = json_path(csr, "spec.groups");
	const char *user = json_path_str(csr, "spec.username");
	return in_list(groups, "system:bootstrappers") ||
	       (in_list(groups, "system:nodes") && str_eq(user, cn));
}

static void on_written(void *ud, int code, json_t *obj)
{
	char *name = ud;
	if (code != 200)
		log_warn("csr %s: status write answered %d: %s", name, code,
		         json_string_value(json_object_get(obj, "message")));
	free(name);
}

static int reconcile(controller *c, const char *key)
{
	const kind_desc *d = controller_kind("certificates.k8s.io", "certificatesigningrequests");
	json_t *csr = controller_get(c, d, NULL, key);
	if (!csr)
		return RECONCILE_DONE;
	const char *signer = json_path_str(csr, "spec.signerName");
	if (json_path_str(csr, "status.certificate") || condition(csr, "Denied") ||
	    condition(csr, "Failed") || !(str_eq(signer, SIGNER_KUBELET) || str_eq(signer, SIGNER_CLIENT))) {
		json_decref(csr);
		return RECONCILE_DONE;
	}
	_cleanup_free_ char *cn = NULL, *pem = NULL;
	char **orgs = NULL;
	size_t norgs = 0, pemlen = 0;
	if (csr_subject(csr, &cn, &orgs, &norgs, &pem, &pemlen) < 0) {
		json_decref(csr);
		return RECONCILE_DONE;
	}
	json_t *status = json_obj_child(csr, "status");
	bool changed = false;
	char now[32];
	time_rfc3339(time_now_ns(), false, now);
	if (!condition(csr, "Approved") && auto_approvable(csr, cn, orgs, norgs)) {
		json_t *conds = json_object_get(status, "conditions");
		if (!json_is_array(conds)) {
			conds = json_array();
			json_object_set_new(status, "conditions", conds);
		}
		json_array_append_new(
		    conds, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "type", "Approved", "status",
		                     "True", "reason", "AutoApproved", "message",
		                     "Auto approving node client certificate after its join",
		                     "lastUpdateTime", now, "lastTransitionTime", now));
		changed = true;
	}
	if (condition(csr, "Approved")) {
		_cleanup_free_ char *cert = NULL;
		terr *err = NULL;
		if (pki_sign_csr(apiserver_data_dir(c->srv), pem, pemlen, "clientAuth", 0, &cert,
		                 &err) < 0) {
			json_t *conds = json_object_get(status, "conditions");
			json_array_append_new(conds, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "type",
			                                       "Failed", "status", "True", "reason",
			                                       "SigningError", "message", err->message,
			                                       "lastUpdateTime", now,
			                                       "lastTransitionTime", now));
			terr_free(err);
		} else {
			_cleanup_free_ char *b64 = base64_encode(cert, strlen(cert));
			json_object_set_new(status, "certificate", json_string(b64));
			log_info("csr %s: issued a client certificate for %s", key, cn);
		}
		changed = true;
	}
	pki_identity_free(NULL, orgs, norgs);
	if (changed)
		client_update(c->srv, NAME, d, csr, "status", on_written, xstrdup(key));
	json_decref(csr);
	return RECONCILE_DONE;
}

const controller_def csrsigning_controller = {
    .name = NAME,
    .watches = {{.group = "certificates.k8s.io", .resource = "certificatesigningrequests"}},
    .reconcile = reconcile,
};
CONTROLLER_REGISTER(csrsigning_controller);
