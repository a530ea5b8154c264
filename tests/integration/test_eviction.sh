#!/usr/bin/env bash
# test_eviction.sh — node pressure with real pods, as root: a hard eviction threshold set
# above this machine's memory (--eviction-hard memory.available<1Pi) puts the node under
# memory pressure at once; the node reports MemoryPressure with its NoSchedule taint, and
# the agent evicts pods one per check in kube's order: the BestEffort pod (using more than
# it requested) before the Guaranteed one; the evicted pod stays Failed with reason Evicted.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agentlib.sh"

agent_setup || { finish; exit 1; }
start_agent_server --eviction-hard 'memory.available<1Pi' || { fail "server with agent starts"; finish; exit 1; }

check "the node reports MemoryPressure" wait_for 30 sh -c \
	"kubectl get node $AGENT_NODE -o jsonpath='{.status.conditions[?(@.type==\"MemoryPressure\")].status}' | grep -q True"
expect_out "with the memory-pressure taint" "node.kubernetes.io/memory-pressure" \
	kubectl get node "$AGENT_NODE" -o jsonpath='{.spec.taints[*].key}'

cat >"$TMP/pods.yaml" <<EOY
apiVersion: v1
kind: Pod
metadata: {name: besteffort}
spec:
  tolerations: [{key: node.kubernetes.io/memory-pressure, operator: Exists, effect: NoSchedule}]
  containers:
  - {name: c, image: $IMAGE, command: ["sh", "-c", "sleep 1000"]}
---
apiVersion: v1
kind: Pod
metadata: {name: guaranteed}
spec:
  tolerations: [{key: node.kubernetes.io/memory-pressure, operator: Exists, effect: NoSchedule}]
  containers:
  - name: c
    image: $IMAGE
    command: ["sh", "-c", "sleep 1000"]
    resources:
      requests: {cpu: 100m, memory: 64Mi}
      limits: {cpu: 100m, memory: 64Mi}
EOY
kubectl apply -f "$TMP/pods.yaml" >/dev/null
check "the BestEffort pod is evicted" wait_for 40 sh -c \
	"kubectl get pod besteffort -o jsonpath='{.status.reason}' | grep -q Evicted"
expect_out "it stays, Failed, with kube's message" "^Failed The node was low on resource: memory" \
	pod_field besteffort '{.status.phase} {.status.message}'
expect_out "the Guaranteed pod was not the first one evicted" "^$" pod_field guaranteed '{.status.reason}'
expect_out "an Evicted event is recorded" "Evicted" kubectl get events --field-selector involvedObject.name=besteffort
check "the evicted pod's containers are stopped" sh -c \
	"! runc --root '$AGENT_RUN/runtime/runc' list 2>/dev/null | grep \"\$(kubectl get pod besteffort -o jsonpath='{.metadata.uid}')\" | grep -q running"

finish
