#!/usr/bin/env bash
# test_satoken_agent.sh — ServiceAccount tokens in running pods, as root with the embedded
# agent: a pod's /var/run/secrets/kubernetes.io/serviceaccount holds a non-empty token
# (bound to the pod), ca.crt (the cluster CA) and namespace; the token read with kubectl
# exec authenticates from the host as the pod's service account, and RBAC decides; a pod
# with automount off has no such folder; a token source with its own audience and
# lifetime gets a token of that shape.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agentlib.sh"

agent_setup || { finish; exit 1; }
start_agent_server || { fail "server with agent starts"; finish; exit 1; }
SRV=$(kubectl config view -o jsonpath='{.clusters[0].cluster.server}')
SADIR=/var/run/secrets/kubernetes.io/serviceaccount
# The busybox image has no applet links but sh: call busybox by name.
incat() { kubectl exec "$1" -- /bin/busybox cat "$2"; }
payload() {
	python3 -c 'import sys,base64,json; p=sys.argv[1].split(".")[1]; p+="="*(-len(p)%4); print(json.dumps(json.loads(base64.urlsafe_b64decode(p)), sort_keys=True))' "$1"
}
code() { curl -sk -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $1" "$SRV$2"; }

check "service account robot" kubectl create sa robot
kubectl run tok --image="$IMAGE" --overrides='{"spec":{"serviceAccountName":"robot"}}' \
	--command -- sh -c 'while true; do sleep 1; done' >/dev/null
check "the pod becomes Ready" kubectl wait --for=condition=Ready pod/tok --timeout=90s

TOK=$(incat tok "$SADIR/token")
expect_out "the token file is a JWT" '^eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$' echo "$TOK"
PUID=$(kubectl get pod tok -o jsonpath='{.metadata.uid}')
expect_out "it is bound to the pod" "\"pod\": \{\"name\": \"tok\", \"uid\": \"$PUID\"\}.*\"sub\": \"system:serviceaccount:default:robot\"" payload "$TOK"
expect_out "for the kube-api-access lifetime (3607 s)" '^3607$' python3 -c 'import json,sys; c=json.loads(sys.argv[1]); print(c["exp"]-c["iat"])' "$(payload "$TOK")"
expect_out "ca.crt is the cluster CA" '^ok$' sh -c "kubectl exec tok -- /bin/busybox cat $SADIR/ca.crt | cmp -s - $TMP/data/tls/ca.crt && echo ok"
expect_out "namespace is the pod's" '^default$' incat tok "$SADIR/namespace"
expect_out "the files are readable by the container's user (1000)" '^1000 ok$' \
	kubectl exec tok -- sh -c "echo \$(/bin/busybox id -u) \$( [ -r $SADIR/token ] && echo ok)"

# The token from the pod, used from the host.
kt() { kubectl --kubeconfig=/dev/null --server="$SRV" --certificate-authority="$TMP/data/tls/ca.crt" --token="$TOK" "$@"; }
expect_out "whoami as the pod's service account" 'Username +system:serviceaccount:default:robot' kt auth whoami
expect_out "listing pods is 403 without a grant" '^403$' code "$TOK" /api/v1/namespaces/default/pods
check "a RoleBinding grants view to robot" kubectl create rolebinding robot-view --clusterrole=view --serviceaccount=default:robot
expect_out "listing pods is 200 after it" '^200$' code "$TOK" /api/v1/namespaces/default/pods
expect_out "kubectl get pods with the pod's token" '^tok +1/1 +Running' kt get pods --no-headers

# A projected token of its own audience and lifetime.
kubectl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata: {name: vault}
spec:
  serviceAccountName: robot
  automountServiceAccountToken: false
  containers:
  - name: main
    image: $IMAGE
    command: [sh, -c, 'while true; do sleep 1; done']
    volumeMounts: [{name: vt, mountPath: /var/run/secrets/tokens}]
  volumes:
  - name: vt
    projected:
      sources:
      - serviceAccountToken: {path: vault-token, audience: vault, expirationSeconds: 7200}
YAML
check "a pod with an audience token becomes Ready" kubectl wait --for=condition=Ready pod/vault --timeout=90s
VT=$(incat vault /var/run/secrets/tokens/vault-token)
expect_out "its token has that audience and lifetime" '^\["vault"\] 7200$' python3 -c 'import json,sys; c=json.loads(sys.argv[1]); print(json.dumps(c["aud"]), c["exp"]-c["iat"])' "$(payload "$VT")"
expect_out "which the API server refuses (not its audience)" '^401$' code "$VT" /api/v1/namespaces/default/pods
expect_err "automount off: no service account folder" 'No such file|can.t open' incat vault "$SADIR/token"

failed_mounts() { kubectl get events -o jsonpath='{range .items[*]}{.reason}{"\n"}{end}' | grep -c FailedMount; true; }
expect_out "no FailedMount on the way (the token came before the first mount)" '^0$' failed_mounts

# A deleted pod's token stops working (after kube's 60 s grace on deletionTimestamp, the
# object is gone here at once).
check "the pod deleted" kubectl delete pod tok --wait=true --timeout=60s
expect_out "its token is 401 once the pod is gone" '^401$' code "$TOK" /api/v1/namespaces/default/pods

finish
