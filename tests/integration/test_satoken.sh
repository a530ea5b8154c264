#!/usr/bin/env bash
# test_satoken.sh — ServiceAccount tokens without the agent: `kubectl create token` issues a
# JWT; the token authenticates as the account (kubectl auth whoami, curl) and RBAC decides
# (403 until a RoleBinding grants, then 200); tokens of a deleted-and-recreated account,
# of a deleted bound pod, for another audience, expired-length or garbage ones are 401;
# TokenRequest errors are Status objects; admission adds the kube-api-access volume to
# pods unless automount is off; every namespace gets kube-root-ca.crt.
. "$(dirname "$0")/lib.sh"

start_server || { echo "0 passed, 1 failed"; exit 1; }
SRV=$(kubectl config view -o jsonpath='{.clusters[0].cluster.server}')
# A client that only has the token: no client certificate from the admin kubeconfig.
kt() {
	local tok=$1
	shift
	kubectl --kubeconfig=/dev/null --server="$SRV" \
		--certificate-authority="$TMP/data/tls/ca.crt" --token="$tok" "$@"
}
# code TOKEN PATH: the HTTP status of a GET with the bearer token.
code() { curl -sk -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $1" "$SRV$2"; }
# payload TOKEN: the claims, JSON (base64url with padding restored).
payload() {
	python3 -c 'import sys,base64,json; p=sys.argv[1].split(".")[1]; p+="="*(-len(p)%4); print(json.dumps(json.loads(base64.urlsafe_b64decode(p)), sort_keys=True))' "$1"
}

check "signing key created with the CA" test -s "$TMP/data/tls/sa.key" -a -s "$TMP/data/tls/sa.pub"
expect_out "api-resources lists selfsubjectreviews" 'selfsubjectreviews +authentication.k8s.io/v1 +false +SelfSubjectReview' kubectl api-resources
expect_out "discovery lists serviceaccounts/token" '"name":"serviceaccounts/token"' kubectl get --raw /api/v1

# --- kubectl create token ---
for _ in $(seq 1 50); do kubectl get sa default >/dev/null 2>&1 && break; sleep 0.1; done
TOK=$(kubectl create token default)
expect_out "create token returns a JWT" '^eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$' echo "$TOK"
P=$(payload "$TOK")
SAUID=$(kubectl get sa default -o jsonpath='{.metadata.uid}')
expect_out "claims: issuer, subject, audience" '"aud": \["https://kubernetes.default.svc.cluster.local"\].*"iss": "https://kubernetes.default.svc.cluster.local".*"sub": "system:serviceaccount:default:default"' echo "$P"
expect_out "claims: kubernetes.io namespace and account uid" "\"kubernetes.io\": \{\"namespace\": \"default\", \"serviceaccount\": \{\"name\": \"default\", \"uid\": \"$SAUID\"\}\}" echo "$P"
expect_out "claims: one hour by default" '^3600$' python3 -c 'import json,sys; c=json.loads(sys.argv[1]); print(c["exp"]-c["iat"])' "$P"
expect_out "duration asked is honoured" '^1200$' sh -c "python3 -c 'import json,sys; c=json.loads(sys.argv[1]); print(c[\"exp\"]-c[\"iat\"])' \"\$(python3 -c 'import sys,base64; p=sys.argv[1].split(\".\")[1]; p+=\"=\"*(-len(p)%4); print(base64.urlsafe_b64decode(p).decode())' \$(kubectl create token default --duration=20m))\""
expect_out "TokenRequest answer carries expirationTimestamp" '"expirationTimestamp":"20[0-9-]+T[0-9:]+Z"' \
	kubectl create --raw /api/v1/namespaces/default/serviceaccounts/default/token -f - <<<'{"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","spec":{}}'

# --- errors as Status ---
expect_err "token of a missing account is NotFound" 'serviceaccounts "nope" not found' kubectl create token nope
expect_err "a duration under 10 minutes is Invalid" 'TokenRequest.authentication.k8s.io "default" is invalid: spec.expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes' \
	kubectl create token default --duration=1m
expect_err "binding to a missing pod is NotFound" 'pods "ghost" not found' \
	kubectl create token default --bound-object-kind=Pod --bound-object-name=ghost
expect_out "a malformed body answers 400 BadRequest" '"code":400' sh -c \
	"curl -sk --cert $TMP/data/tls/admin.crt --key $TMP/data/tls/admin.key -H 'Content-Type: application/json' -X POST --data-binary '{not json' $SRV/api/v1/namespaces/default/serviceaccounts/default/token"
expect_out "a boundObjectRef that is no object answers 400" '"reason":"BadRequest".*"code":400' sh -c \
	"curl -sk --cert $TMP/data/tls/admin.crt --key $TMP/data/tls/admin.key -H 'Content-Type: application/json' -X POST --data-binary '{\"spec\":{\"boundObjectRef\":\"pod\"}}' $SRV/api/v1/namespaces/default/serviceaccounts/default/token"
expect_out "audiences of the wrong type answer 422" '"reason":"Invalid".*"field":"spec.audiences"' sh -c \
	"curl -sk --cert $TMP/data/tls/admin.crt --key $TMP/data/tls/admin.key -H 'Content-Type: application/json' -X POST --data-binary '{\"spec\":{\"audiences\":\"x\"}}' $SRV/api/v1/namespaces/default/serviceaccounts/default/token"

# --- authentication, then RBAC ---
expect_out "whoami names the service account" 'Username +system:serviceaccount:default:default' kt "$TOK" auth whoami
expect_out "whoami lists its groups" 'system:serviceaccounts system:serviceaccounts:default system:authenticated' kt "$TOK" auth whoami
review() { echo "{\"apiVersion\":\"authentication.k8s.io/v1\",\"kind\":\"TokenReview\",\"spec\":{\"token\":\"$1\"}}" | kubectl create --raw /apis/authentication.k8s.io/v1/tokenreviews -f -; }
expect_out "TokenReview authenticates it" '"authenticated":true.*"username":"system:serviceaccount:default:default"' review "$TOK"
expect_out "TokenReview refuses garbage" '"authenticated":false' review garbage
expect_out "get pods is 403 without a grant" '^403$' code "$TOK" /api/v1/namespaces/default/pods
expect_err "kubectl sees Forbidden with kube's message" 'pods is forbidden: User "system:serviceaccount:default:default" cannot list resource "pods" in API group "" in the namespace "default"' \
	kt "$TOK" get pods
can_i() { kt "$TOK" auth can-i "$@"; true; }
expect_out "auth can-i says no" '^no$' can_i list pods
check "a RoleBinding grants view" kubectl create rolebinding sa-view --clusterrole=view --serviceaccount=default:default
expect_out "get pods is 200 after the grant" '^200$' code "$TOK" /api/v1/namespaces/default/pods
expect_out "kubectl get pods works with the token" 'No resources found' kt "$TOK" get pods
expect_out "auth can-i says yes" '^yes$' can_i list pods
expect_out "secrets stay forbidden (view excludes them)" '^403$' code "$TOK" /api/v1/namespaces/default/secrets
expect_out "other namespaces stay forbidden" '^403$' code "$TOK" /api/v1/namespaces/kube-system/pods
check "a Role for secrets in the namespace" kubectl create role read-secrets --verb=get,list --resource=secrets
check "bound to the account" kubectl create rolebinding sa-secrets --role=read-secrets --serviceaccount=default:default
expect_out "secrets readable after the Role" '^200$' code "$TOK" /api/v1/namespaces/default/secrets
check "the binding removed" kubectl delete rolebinding sa-view
expect_out "get pods is 403 again" '^403$' code "$TOK" /api/v1/namespaces/default/pods

# --- refusals: 401 ---
expect_out "a garbage token is 401" '^401$' code "garbage" /api/v1/namespaces/default/pods
expect_out "a JWT-shaped garbage token is 401" '^401$' code "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0." /api/v1/namespaces/default/pods
expect_out "a token with a flipped signature is 401" '^401$' code "${TOK%?}$( [ "${TOK: -1}" = A ] && echo B || echo A)" /api/v1/namespaces/default/pods
LONG=$(head -c 20000 /dev/zero | tr '\0' 'a')
expect_out "an oversized token is 401" '^401$' code "$LONG.$LONG.$LONG" /api/v1/namespaces/default/pods
AUDTOK=$(kubectl create token default --audience=vault)
expect_out "a token for another audience is 401" '^401$' code "$AUDTOK" /api/v1/namespaces/default/pods
check "service account bob" kubectl create sa bob
BOB=$(kubectl create token bob)
expect_out "bob's token works" 'Username +system:serviceaccount:default:bob' kt "$BOB" auth whoami
check "bob deleted and recreated" sh -c 'kubectl delete sa bob && kubectl create sa bob'
expect_out "the old token of bob is 401" '^401$' code "$BOB" /apis/authentication.k8s.io/v1
expect_err "kubectl with it is Unauthorized" 'Unauthorized' kt "$BOB" auth whoami

# --- pod-bound tokens ---
check "pod for binding" kubectl run bound --image=busybox --restart=Never
PTOK=$(kubectl create token default --bound-object-kind=Pod --bound-object-name=bound)
PUID=$(kubectl get pod bound -o jsonpath='{.metadata.uid}')
expect_out "the bound token names the pod" "\"pod\": \{\"name\": \"bound\", \"uid\": \"$PUID\"\}" payload "$PTOK"
expect_out "the bound token authenticates" 'Username +system:serviceaccount:default:default' kt "$PTOK" auth whoami
check "the pod deleted" kubectl delete pod bound --grace-period=0 --force --wait=true
expect_out "the bound token is 401 once the pod is gone" '^401$' code "$PTOK" /apis/authentication.k8s.io/v1

# --- admission: the kube-api-access volume ---
check "a pod without volumes" kubectl run plain --image=busybox --restart=Never
VOL=$(kubectl get pod plain -o jsonpath='{.spec.volumes[0].name}')
expect_out "it gets a kube-api-access-xxxxx volume" '^kube-api-access-[bcdfghjklmnpqrstvwxz2456789]{5}$' echo "$VOL"
expect_out "sources: token 3607 s, kube-root-ca.crt, namespace" \
	'^\[\{"serviceAccountToken":\{"expirationSeconds":3607,"path":"token"\}\},\{"configMap":\{"items":\[\{"key":"ca.crt","path":"ca.crt"\}\],"name":"kube-root-ca.crt"\}\},\{"downwardAPI":\{"items":\[\{"fieldRef":\{"apiVersion":"v1","fieldPath":"metadata.namespace"\},"path":"namespace"\}\]\}\}\] 420$' \
	kubectl get pod plain -o jsonpath='{.spec.volumes[0].projected.sources} {.spec.volumes[0].projected.defaultMode}'
expect_out "mounted read-only at the service account path" \
	"^\{\"mountPath\":\"/var/run/secrets/kubernetes.io/serviceaccount\",\"name\":\"$VOL\",\"readOnly\":true\}$" \
	kubectl get pod plain -o jsonpath='{.spec.containers[0].volumeMounts[0]}'
expect_out "serviceAccountName defaults to default" '^default$' kubectl get pod plain -o jsonpath='{.spec.serviceAccountName}'
check "a pod with an init container" kubectl apply -f - <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: withinit}
spec:
  initContainers: [{name: init, image: busybox}]
  containers: [{name: main, image: busybox}]
YAML
expect_out "init containers mount it too" '^/var/run/secrets/kubernetes.io/serviceaccount /var/run/secrets/kubernetes.io/serviceaccount$' \
	kubectl get pod withinit -o jsonpath='{.spec.initContainers[0].volumeMounts[0].mountPath} {.spec.containers[0].volumeMounts[0].mountPath}'
check "a pod opting out" kubectl run optout --image=busybox --restart=Never --overrides='{"spec":{"automountServiceAccountToken":false}}'
expect_out "automountServiceAccountToken: false on the pod: no volume" '^$' kubectl get pod optout -o jsonpath='{.spec.volumes}{.spec.containers[0].volumeMounts}'
check "an account opting out" kubectl apply -f - <<'YAML'
apiVersion: v1
kind: ServiceAccount
metadata: {name: quiet}
automountServiceAccountToken: false
YAML
check "a pod of that account" kubectl run quietpod --image=busybox --restart=Never --overrides='{"spec":{"serviceAccountName":"quiet"}}'
expect_out "automountServiceAccountToken: false on the account: no volume" '^$' kubectl get pod quietpod -o jsonpath='{.spec.volumes}'
check "the pod's own true wins over the account" kubectl run loud --image=busybox --restart=Never --overrides='{"spec":{"serviceAccountName":"quiet","automountServiceAccountToken":true}}'
expect_out "so it gets the volume" '^kube-api-access-' kubectl get pod loud -o jsonpath='{.spec.volumes[0].name}'

# --- kube-root-ca.crt ---
check "namespace fresh" kubectl create namespace fresh
check "kube-root-ca.crt appears in it" sh -c 'for i in $(seq 1 50); do kubectl get cm kube-root-ca.crt -n fresh >/dev/null 2>&1 && exit 0; sleep 0.1; done; exit 1'
expect_out "it holds the cluster CA" '^ok$' sh -c "kubectl get cm kube-root-ca.crt -n fresh -o jsonpath='{.data.ca\.crt}' | cmp -s - $TMP/data/tls/ca.crt && echo ok"
check "an edit of it" kubectl patch cm kube-root-ca.crt -n fresh -p '{"data":{"ca.crt":"tampered"}}'
check "is put back" sh -c "for i in \$(seq 1 50); do kubectl get cm kube-root-ca.crt -n fresh -o jsonpath='{.data.ca\.crt}' | cmp -s - $TMP/data/tls/ca.crt && exit 0; sleep 0.1; done; exit 1"

# --- the key survives a restart; tokens stay valid ---
stop_server
start_server || fail "server restarts"
SRV=$(kubectl config view -o jsonpath='{.clusters[0].cluster.server}')
expect_out "a token from before the restart still authenticates" 'Username +system:serviceaccount:default:default' kt "$TOK" auth whoami

finish
