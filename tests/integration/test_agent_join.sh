#!/usr/bin/env bash
# test_agent_join.sh — a standalone `timon agent` joining a server, as root, on this one
# machine: the server writes a join token; a wrong token is refused (401, the agent exits
# non-zero saying so); the right one gets the agent a client certificate through an
# auto-approved CertificateSigningRequest (CN system:node:<name>); the node registers and
# goes Ready; pods bound to it (nodeName, nodeSelector) run with IPs of its own podCIDR;
# deleting a pod stops its containers; an agent killed with -9 and restarted without a
# token reuses its certificate and re-adopts its running containers.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agentlib.sh"

JNODE=$AGENT_NODE-j
JRUN=/run/timon-j$$
JBRIDGE=tj$$
JCIDR_NET=10.42.$(pod_net $(($$ % 200 + 41)) "$AGENT_POD_NET")
JPID=

# The joined agent's leftovers first (it must still run while its pods are deleted), then
# the server's (agentlib).
join_cleanup() {
	[ "$FAILED" -ne 0 ] && cp "$TMP/agent.log" "/tmp/timon-join-agent-$$.log" 2>/dev/null
	if [ -n "$SERVER_PID" ] && [ -n "$JPID" ]; then
		timeout 60 kubectl delete pods --all -A --wait=true --timeout=50s >/dev/null 2>&1
	fi
	if [ -n "$JPID" ]; then
		kill "$JPID" 2>/dev/null
		wait "$JPID" 2>/dev/null
	fi
	agent_node_cleanup "$JRUN" "$TMP/agent/agent" "$JBRIDGE" "$JNODE" "$JRUN"
	ip link del "zd$$" >/dev/null 2>&1
	agent_cleanup
}
trap join_cleanup EXIT

agent_setup || { finish; exit 1; }
start_agent_server || { fail "server with agent starts"; finish; exit 1; }
URL=$(kubectl config view -o jsonpath='{.clusters[0].cluster.server}')
TOKEN_FILE=$TMP/data/server/token

# ---- the join token ----
expect_out "the server wrote a join token in k3s's form" '^K10[0-9a-f]{64}::node:[0-9a-f]{32}$' cat "$TOKEN_FILE"
expect_out "the token file is 0600" "^600$" stat -c %a "$TOKEN_FILE"
TOKEN=$(cat "$TOKEN_FILE")
HASH=$(sha256sum "$TMP/data/tls/ca.crt" | cut -d' ' -f1)
expect_out "the token pins the cluster CA's SHA-256" "^$HASH$" sh -c "cut -c4-67 '$TOKEN_FILE'"
expect_out "the CA is served on /cacerts" "^$HASH$" sh -c "curl -sk '$URL/cacerts' | sha256sum | cut -d' ' -f1"

# The agent is started directly (not through a shell function) so that $! is its pid.
JOIN=("$TIMON" agent --server "$URL" --data-dir "$TMP/agent" --node-name "$JNODE"
	--agent-run-dir "$JRUN" --cni-bridge "$JBRIDGE" --pod-cidr "$JCIDR_NET.0/24"
	--pod-log-dir "$TMP/jlogs" --registry-config "$TMP/registries.yaml" --eviction-hard "$AGENT_EVICTION"
	--node-label tier=joined --node-taint dedicated=joined:NoSchedule)

# ---- wrong tokens ----
BAD=${TOKEN%:*}:0123456789abcdef0123456789abcdef
timeout 60 "${JOIN[@]}" --token "$BAD" >"$TMP/bad.log" 2>&1
RC=$?
check "an agent with a wrong secret exits non-zero" test "$RC" -ne 0 -a "$RC" -ne 124
expect_out "saying the server refused the token (401)" "refused the join token \(401 Unauthorized\)" cat "$TMP/bad.log"
check "and got no certificate" test ! -e "$TMP/agent/tls/client.crt"
OTHER=K10$(printf '%064d' 0)::${TOKEN#*::}
timeout 60 "${JOIN[@]}" --token "$OTHER" >"$TMP/bad2.log" 2>&1
RC=$?
check "an agent whose token pins another CA exits non-zero" test "$RC" -ne 0 -a "$RC" -ne 124
expect_out "saying the CA does not match" "is not the one the join token pins" cat "$TMP/bad2.log"
expect_out "the bootstrap credential alone cannot list pods (403)" "^403$" \
	curl -s -o /dev/null -w '%{http_code}' --cacert "$TMP/data/tls/ca.crt" -H "Authorization: Bearer ${TOKEN#*::}" "$URL/api/v1/pods"

# ---- a request nobody auto-approves waits for `kubectl certificate approve` ----
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$TMP/m.key" \
	-subj "/O=team/CN=alice" -out "$TMP/m.csr" 2>/dev/null
cat >"$TMP/m.yaml" <<EOY
apiVersion: certificates.k8s.io/v1
kind: CertificateSigningRequest
metadata: {name: manual}
spec:
  request: $(base64 -w0 "$TMP/m.csr")
  signerName: kubernetes.io/kube-apiserver-client
  usages: [client auth]
EOY
kubectl apply -f "$TMP/m.yaml" >/dev/null
sleep 1
expect_out "a user's request stays pending, with its requester recorded" "^system:admin <none>$" \
	sh -c "kubectl get csr manual -o jsonpath='{.spec.username} {.status.conditions}' | sed 's/ $/ <none>/'"
check "kubectl certificate approve approves it" kubectl certificate approve manual
check "and the server signs it for CN alice" wait_for 10 sh -c \
	"kubectl get csr manual -o jsonpath='{.status.certificate}' | base64 -d | openssl x509 -noout -subject | grep -q 'CN *= *alice'"
kubectl delete csr manual >/dev/null

# ---- joining ----
# A stray address inside the joined node's pod network (a /32 on a bridge of its own,
# left down, so the pods' addresses keep their route; these kernels have no dummy
# interfaces): the agent says so.
STRAY=zd$$
check "a stray address is put in the joined node's pod network" sh -c \
	"ip link add '$STRAY' type bridge && ip addr add '$JCIDR_NET.250/32' dev '$STRAY'"
"${JOIN[@]}" --token "$TOKEN" >>"$TMP/agent.log" 2>&1 &
JPID=$!
check "the joined node registers and goes Ready" wait_for 60 sh -c \
	"kubectl get node '$JNODE' -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}' | grep -q True"
check "an address of another interface in its pod network is warned about" grep -q \
	"pod network $JCIDR_NET.0/24 overlaps $JCIDR_NET.250 on interface $STRAY" "$TMP/agent.log"
ip link del "$STRAY"
expect_out "its CSR was approved and issued" "^kubernetes.io/kube-apiserver-client-kubelet system:bootstrap:node Approved true$" \
	sh -c "kubectl get csr -o jsonpath='{range .items[*]}{.spec.signerName} {.spec.username} {.status.conditions[0].type} {.status.certificate}{\"\\n\"}{end}' | sed -E 's/ [A-Za-z0-9+\\/=]{100,}$/ true/'"
expect_out "the agent's certificate is CN system:node:<name>, O system:nodes" "O *= *system:nodes, CN *= *system:node:$JNODE" \
	openssl x509 -in "$TMP/agent/tls/client.crt" -noout -subject
check "and chains to the cluster CA" openssl verify -CAfile "$TMP/data/tls/ca.crt" "$TMP/agent/tls/client.crt"
expect_out "the key is 0600" "^600$" stat -c %a "$TMP/agent/tls/client.key"
expect_out "the node has the agent's flags: podCIDR, label, taint" \
	"^$JCIDR_NET.0/24 joined dedicated:NoSchedule$" \
	kubectl get node "$JNODE" -o jsonpath='{.spec.podCIDR} {.metadata.labels.tier} {.spec.taints[0].key}:{.spec.taints[0].effect}'
check "and no control-plane role (the server's node has it)" sh -c \
	"! kubectl get node '$JNODE' --show-labels | grep -q control-plane && kubectl get node '$AGENT_NODE' --show-labels | grep -q control-plane"
check "its lease is renewed" wait_for 15 kubectl get lease -n kube-node-lease "$JNODE"
NODE_CURL=(curl -s --cacert "$TMP/data/tls/ca.crt" --cert "$TMP/agent/tls/client.crt" --key "$TMP/agent/tls/client.key")
expect_out "the node's certificate may not create namespaces (403)" "^403$" \
	"${NODE_CURL[@]}" -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
	-d '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"nope"}}' "$URL/api/v1/namespaces"

# ---- pods on the joined node ----
cat >"$TMP/pods.yaml" <<EOY
apiVersion: v1
kind: Pod
metadata: {name: jweb}
spec:
  nodeName: $JNODE
  containers:
  - name: web
    image: $IMAGE
    command: ["sh", "-c", "echo started; mkdir -p /tmp/www; echo hello-joined >/tmp/www/index.html; httpd -p 8080 -h /tmp/www; while true; do sleep 1; done"]
---
apiVersion: v1
kind: Pod
metadata: {name: jsel}
spec:
  nodeSelector: {kubernetes.io/hostname: $JNODE}
  tolerations: [{key: dedicated, operator: Equal, value: joined, effect: NoSchedule}]
  containers:
  - name: c
    image: $IMAGE
    env: [{name: FROM_CM, valueFrom: {configMapKeyRef: {name: jcm, key: k}}}]
    command: ["sh", "-c", "echo cm=\$FROM_CM; while true; do sleep 1; done"]
EOY
kubectl create configmap jcm --from-literal=k=mirrored >/dev/null
kubectl apply -f "$TMP/pods.yaml" >/dev/null
check "a pod with nodeName of the joined node becomes Ready" kubectl wait --for=condition=Ready pod/jweb --timeout=90s
expect_out "its IP is of the joined node's podCIDR" "^${JCIDR_NET//./\\.}\.[0-9]+$" pod_field jweb '{.status.podIP}'
expect_out "its hostIP and phase are reported" "^Running [0-9.]+$" pod_field jweb '{.status.phase} {.status.hostIP}'
JIP=$(pod_field jweb '{.status.podIP}')
expect_out "the pod's server answers" "hello-joined" curl -s --max-time 5 "http://$JIP:8080/"
UIDJ=$(pod_field jweb '{.metadata.uid}')
check "its log is in the agent's --pod-log-dir" wait_for 10 grep -q "stdout F started" "$TMP/jlogs/default_jweb_$UIDJ/web/0.log"
check "its containers run under the agent's --agent-run-dir" sh -c "runc --root '$JRUN/runtime/runc' list | grep '$UIDJ' | grep -q running"
check "a pod with a nodeSelector for the joined node is scheduled there and Ready" kubectl wait --for=condition=Ready pod/jsel --timeout=90s
expect_out "on the joined node" "^$JNODE$" pod_field jsel '{.spec.nodeName}'
UIDS=$(pod_field jsel '{.metadata.uid}')
check "it read a ConfigMap through the agent's mirror" wait_for 10 grep -q "cm=mirrored" "$TMP/jlogs/default_jsel_$UIDS/c/0.log"
expect_out "an Event from the joined agent's kubelet" "Started" kubectl get events --field-selector involvedObject.name=jweb
# Read on the host, from the joined agent's volume folder.
JTOK=$(cat "$TMP"/agent/agent/pods/"$UIDS"/volumes/kubernetes.io~projected/kube-api-access-*/token 2>&1)
expect_out "its service account token came through the joined agent (TokenRequest as the node)" \
	'Username +system:serviceaccount:default:default' \
	kubectl --kubeconfig=/dev/null --server="$(kubectl config view -o jsonpath='{.clusters[0].cluster.server}')" \
	--certificate-authority="$TMP/data/tls/ca.crt" --token="$JTOK" auth whoami

# A token the server refuses: the pod is synced once the answer comes (the agent holds a
# pod's first sync while its token is asked for) and reports the failed mount. The
# ServiceAccount is gone by the time the pod reaches the node (admission checked it on
# create, while the node did not match yet).
kubectl create serviceaccount jgone >/dev/null
cat <<EOY | kubectl apply -f - >/dev/null
apiVersion: v1
kind: Pod
metadata: {name: jnotok}
spec:
  serviceAccountName: jgone
  nodeSelector: {kubernetes.io/hostname: $JNODE, jlater: "yes"}
  tolerations: [{key: dedicated, operator: Equal, value: joined, effect: NoSchedule}]
  containers: [{name: c, image: $IMAGE, command: ["sleep", "3600"]}]
EOY
kubectl delete serviceaccount jgone >/dev/null
kubectl label node "$JNODE" jlater=yes >/dev/null
jnotok_failed() { kubectl get events --field-selector involvedObject.name=jnotok,reason=FailedMount -o name | grep -q .; }
check "a pod whose token is refused reports FailedMount" wait_for 30 jnotok_failed
expect_out "and waits in ContainerCreating" "^ContainerCreating$" pod_field jnotok '{.status.containerStatuses[0].state.waiting.reason}'
kubectl delete pod jnotok --wait=false >/dev/null
kubectl label node "$JNODE" jlater- >/dev/null

# ---- deletion ----
check "deleting a pod completes" timeout 60 kubectl delete pod jsel --wait=true --timeout=50s
check "its containers are gone" sh -c "! runc --root '$JRUN/runtime/runc' list | grep -q '$UIDS'"

# ---- kill -9 and restart: the certificate is reused, the containers re-adopted ----
CID=$(pod_field jweb '{.status.containerStatuses[0].containerID}')
NCSR=$(kubectl get csr -o name | wc -l)
OLD=$JPID
kill -9 "$JPID"
wait "$JPID" 2>/dev/null
JPID=
check "the agent process is gone" sh -c "! kill -0 $OLD 2>/dev/null"
check "containers keep running while the agent is down" sh -c \
	"runc --root '$JRUN/runtime/runc' list | grep '${CID#runc://}' | grep -q running"
"${JOIN[@]}" >>"$TMP/agent.log" 2>&1 &
JPID=$!
check "the agent restarts without a token" wait_for 20 grep -q "using the client certificate" "$TMP/agent.log"
sleep 3
check "the pod is still Ready after the restart" kubectl wait --for=condition=Ready pod/jweb --timeout=30s
expect_out "with the same container and no restart" "^$CID 0$" \
	pod_field jweb '{.status.containerStatuses[0].containerID} {.status.containerStatuses[0].restartCount}'
expect_out "and no new certificate request" "^$NCSR$" sh -c "kubectl get csr -o name | wc -l"
check "a pod created after the restart runs" sh -c "kubectl run jafter --image='$IMAGE' --overrides='{\"spec\":{\"nodeName\":\"$JNODE\"}}' --command -- sh -c 'sleep 1000' >/dev/null && kubectl wait --for=condition=Ready pod/jafter --timeout=60s"

# ---- stopping ----
check "deleting the joined node's pods completes" timeout 60 kubectl delete pod jweb jafter --wait=true --timeout=50s
check "their containers are gone" sh -c "[ -z \"\$(runc --root '$JRUN/runtime/runc' list -q 2>/dev/null)\" ]"
kill -TERM "$JPID"
wait "$JPID"
RC=$?
JPID=
check "the agent stops on SIGTERM with status 0" test "$RC" -eq 0
check "with no sanitizer report (ASan builds)" sh -c "! grep -q 'Sanitizer' '$TMP/agent.log'"

finish
