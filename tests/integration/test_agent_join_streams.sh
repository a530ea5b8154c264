#!/usr/bin/env bash
# test_agent_join_streams.sh — a joined node is a full node for kubectl: the standalone
# agent gets a kubelet-serving certificate through an auto-approved CSR naming its IP,
# serves pod streams on its own port (--agent-port) to the API server only (a caller
# without a cluster-signed client certificate gets 401), and the server proxies kubectl
# logs (-f), exec (output, exit code) and port-forward to it. The server signs
# certificates for 90 s (--cluster-signing-duration), so the agent renews its client
# certificate at 80% of that lifetime while it keeps working.
# (Setup as in test_agent_join.sh, whose header follows.)
#
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
	agent_cleanup
}
trap join_cleanup EXIT

agent_setup || { finish; exit 1; }
start_agent_server --cluster-signing-duration 90s || { fail "server with agent starts"; finish; exit 1; }
URL=$(kubectl config view -o jsonpath='{.clusters[0].cluster.server}')
TOKEN_FILE=$TMP/data/server/token

URL=$(kubectl config view -o jsonpath='{.clusters[0].cluster.server}')
TOKEN=$(cat "$TMP/data/server/token")
APORT=$(agent_free_port)
JOIN=("$TIMON" agent --server "$URL" --data-dir "$TMP/agent" --node-name "$JNODE"
	--agent-run-dir "$JRUN" --cni-bridge "$JBRIDGE" --pod-cidr "$JCIDR_NET.0/24"
	--pod-log-dir "$TMP/jlogs" --registry-config "$TMP/registries.yaml" --eviction-hard "$AGENT_EVICTION" --agent-port "$APORT")
"${JOIN[@]}" --token "$TOKEN" >>"$TMP/agent.log" 2>&1 &
JPID=$!
check "the joined node registers and goes Ready" wait_for 60 sh -c \
	"kubectl get node '$JNODE' -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}' | grep -q True"
expect_out "its Node reports the agent port as kubeletEndpoint" "^$APORT$" \
	kubectl get node "$JNODE" -o jsonpath='{.status.daemonEndpoints.kubeletEndpoint.Port}'
NODEIP=$(kubectl get node "$JNODE" -o jsonpath='{.status.addresses[?(@.type=="InternalIP")].address}')
check "the agent gets a serving certificate" wait_for 30 test -s "$TMP/agent/tls/serving.crt"
expect_out "through an auto-approved kubelet-serving CSR asked by the node" \
	"^system:node:$JNODE Approved AutoApproved$" sh -c \
	"kubectl get csr -o jsonpath='{range .items[?(@.spec.signerName==\"kubernetes.io/kubelet-serving\")]}{.spec.username} {.status.conditions[0].type} {.status.conditions[0].reason}{\"\\n\"}{end}' | head -n1"
expect_out "the serving certificate names the node's IP" "IP Address:$NODEIP" \
	openssl x509 -in "$TMP/agent/tls/serving.crt" -noout -ext subjectAltName
check "and chains to the cluster CA" openssl verify -CAfile "$TMP/data/tls/ca.crt" "$TMP/agent/tls/serving.crt"
check "the agent port answers TLS" wait_for 20 sh -c "curl -sk -o /dev/null https://127.0.0.1:$APORT/healthz"
expect_out "a caller without a client certificate is refused (401), not streamed" "^401$" \
	curl -sk -o /dev/null -w '%{http_code}' "https://127.0.0.1:$APORT/api/v1/namespaces/default/pods/jlog/log"
expect_out "the node's own certificate is not enough either (403)" "^403$" \
	curl -sk -o /dev/null -w '%{http_code}' --cert "$TMP/agent/tls/client.crt" --key "$TMP/agent/tls/client.key" \
	"https://127.0.0.1:$APORT/api/v1/namespaces/default/pods/jlog/log"

cat >"$TMP/pods.yaml" <<EOY
apiVersion: v1
kind: Pod
metadata: {name: jlog}
spec:
  nodeName: $JNODE
  containers:
  - name: c
    image: $IMAGE
    command: ["sh", "-c", "echo first-line; while [ ! -e /tmp/go ]; do sleep 0.2; done; echo later-line; while true; do sleep 1; done"]
---
apiVersion: v1
kind: Pod
metadata: {name: jsrv}
spec:
  nodeName: $JNODE
  containers:
  - name: c
    image: $IMAGE
    command: ["sh", "-c", "while true; do echo pf-answer | nc -l -p 8080; done"]
EOY
kubectl apply -f "$TMP/pods.yaml" >/dev/null
check "pods on the joined node become Ready" kubectl wait --for=condition=Ready pod/jlog pod/jsrv --timeout=90s

# ---- logs ----
expect_out "kubectl logs reaches the joined node" "^first-line$" timeout 20 kubectl logs jlog
timeout 30 kubectl logs -f jlog >"$TMP/follow.out" 2>&1 &
FPID=$!
sleep 2
kubectl exec jlog -- sh -c ': >/tmp/go' >/dev/null 2>&1
check "kubectl logs -f shows a line written later" wait_for 20 grep -q later-line "$TMP/follow.out"
kill "$FPID" 2>/dev/null
wait "$FPID" 2>/dev/null

# ---- exec ----
expect_out "kubectl exec runs a command there" "^hello from $JNODE$" \
	timeout 20 kubectl exec jlog -- sh -c "echo hello from $JNODE"
timeout 20 kubectl exec jlog -- sh -c 'exit 7' >/dev/null 2>&1
RC=$?
check "and passes its exit code on (7)" test "$RC" -eq 7
expect_out "stdin reaches it" "^got piped$" sh -c "echo piped | timeout 20 kubectl exec -i jlog -- sh -c 'read l; echo got \$l'"

# ---- port-forward ----
LPORT=$(agent_free_port)
kubectl port-forward pod/jsrv "$LPORT:8080" >"$TMP/pf.out" 2>&1 &
PFPID=$!
check "kubectl port-forward listens" wait_for 20 grep -q "Forwarding from" "$TMP/pf.out"
expect_out "and carries a connection to the pod on the joined node" "pf-answer" \
	timeout 10 python3 -c "import socket; s=socket.create_connection(('127.0.0.1', $LPORT)); s.sendall(b'hi\n'); print(s.recv(100).decode())"
kill "$PFPID" 2>/dev/null
wait "$PFPID" 2>/dev/null

# ---- an unreachable agent is an error, not a hang ----
kill -STOP "$JPID"
expect_err "logs of a pod whose agent does not answer fail within the dial bound" \
	"cannot reach the node agent|timeout|Timeout" timeout 30 kubectl logs jlog
kill -CONT "$JPID"

# ---- client certificate renewal ----
SERIAL=$(openssl x509 -in "$TMP/agent/tls/client.crt" -noout -serial)
LEFT=$(( $(date -d "$(openssl x509 -in "$TMP/agent/tls/client.crt" -noout -enddate | cut -d= -f2)" +%s) - $(date +%s) ))
check "the server signs node certificates for 90 s here (--cluster-signing-duration)" test "$LEFT" -le 90
check "before 80% of its lifetime the agent has a new client certificate" wait_for 100 sh -c \
	"[ \"\$(openssl x509 -in '$TMP/agent/tls/client.crt' -noout -serial)\" != '$SERIAL' ]"
check "the new one is the node's and chains to the CA" sh -c \
	"openssl verify -CAfile '$TMP/data/tls/ca.crt' '$TMP/agent/tls/client.crt' && openssl x509 -in '$TMP/agent/tls/client.crt' -noout -subject | grep -q 'CN *= *system:node:$JNODE'"
check "the agent renewed it through a CSR of its own" sh -c \
	"kubectl get csr -o jsonpath='{range .items[*]}{.spec.username}{\"\\n\"}{end}' | grep -q '^system:node:$JNODE$'"
sleep 25
check "after the first certificate expired, the node still renews its lease" sh -c \
	"t=\$(kubectl get lease -n kube-node-lease '$JNODE' -o jsonpath='{.spec.renewTime}'); [ \$(( \$(date +%s) - \$(date -d \"\$t\" +%s) )) -lt 20 ]"
expect_out "and kubectl logs still reaches it (renewed serving certificate)" "first-line" timeout 20 kubectl logs jlog

# ---- stopping ----
check "deleting the joined node's pods completes" timeout 60 kubectl delete pod jlog jsrv --wait=true --timeout=50s
kill -TERM "$JPID"
wait "$JPID"
RC=$?
JPID=
check "the agent stops on SIGTERM with status 0" test "$RC" -eq 0
check "the agent ran clean under the sanitizers" sh -c "! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' '$TMP/agent.log'"
finish
