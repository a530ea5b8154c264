#!/usr/bin/env bash
# test_scheduler.sh — the built-in scheduler through the real kubectl, on simulated nodes:
# pods land on Ready nodes and run; the seed's node-affinity Deployment (hostname In
# gpu-node-1, gpu-node-2) lands only there; a pod asking for nvidia.com/gpu stays Pending
# with kube's FailedScheduling message and PodScheduled=False until a GPU node appears; a
# tainted node gets only pods that tolerate it; nodes tainted not-ready get nothing; the
# timon-binpack profile packs; pods of an unknown schedulerName are left alone; a
# high-priority pod preempts a low-priority one on a full node (nomination, DisruptionTarget,
# Preempted event) and then runs there; required pod anti-affinity keeps pods apart (the
# fourth waits until one goes), an existing pod's anti-affinity keeps others out of its zone,
# required pod affinity follows a pod into its zone, and DoNotSchedule topology spread holds
# pods back until a zone opens.
. "$(dirname "$0")/lib.sh"

start_server || { echo "0 passed, 1 failed"; exit 1; }
W=$TMP/work
mkdir -p "$W"

# wait_for NAME TIMEOUT CMD...: passes once CMD succeeds within TIMEOUT seconds.
wait_for() {
	local name=$1 t=$2
	shift 2
	local end=$((SECONDS + t)) out
	while :; do
		if out=$("$@" 2>&1); then pass "$name"; return 0; fi
		if [ $SECONDS -ge $end ]; then fail "$name" "command: $*" "$(echo "$out" | tail -n 8)"; return 1; fi
		sleep 0.3
	done
}
jp() { kubectl get "$@" 2>/dev/null; }
eq() { [ "$1" = "$2" ] || { echo "got '$1', want '$2'"; return 1; }; }
matches() { echo "$1" | grep -Eq -- "$2" || { echo "got '$1', want /$2/"; return 1; }; }
# phase_is POD PHASE: the pod's phase is PHASE.
phase_is() { [ "$(kubectl get pod "$1" -o jsonpath='{.status.phase}')" = "$2" ]; }
# nodes_of SELECTOR: the sorted, distinct node names of the pods matching SELECTOR.
nodes_of() { kubectl get pods -l "$1" -o jsonpath='{range .items[*]}{.spec.nodeName}{"\n"}{end}' | sort -u | tr '\n' ' '; }
# all_running SELECTOR N: exactly N pods match and all are Running.
all_running() {
	local got
	got=$(kubectl get pods -l "$1" -o jsonpath='{range .items[*]}{.status.phase}{"\n"}{end}' | grep -c '^Running$')
	[ "$got" = "$2" ] || { echo "$got of $2 Running"; return 1; }
}

# node NAME [CPU] [EXTRA_CAPACITY_YAML] [LABELS_YAML]: a simulated node with its capacity
# (and labels) given at creation.
node() {
	local labels=
	[ -z "${4:-}" ] || labels=$'\n'"  labels: {$4}"
	cat <<YAML
---
apiVersion: v1
kind: Node
metadata:
  name: $1$labels
  annotations:
    timon.dev/simulated: "true"
status:
  capacity:
    cpu: "${2:-4}"
    memory: 16Gi
    pods: "110"${3:+
    $3}
YAML
}

# --- four Ready workers: two named like the seed's GPU nodes, none with a GPU yet ---
{ node worker-1; node worker-2; node gpu-node-1; node gpu-node-2; } >"$W/nodes.yaml"
expect_out "create nodes" 'node/gpu-node-2 created' kubectl apply -f "$W/nodes.yaml"
wait_for "nodes become Ready" 10 sh -c '[ "$(kubectl get nodes --no-headers | grep -c " Ready ")" = 4 ]'

# --- plain pods land on Ready nodes and run ---
expect_out "create a Deployment" 'deployment.apps/web created' \
	kubectl create deployment web --image=nginx:1.25 --replicas=6
wait_for "its pods are scheduled and Running" 15 all_running app=web 6
check "each is bound to one of the Ready nodes" matches "$(nodes_of app=web)" '^((worker-[12]|gpu-node-[12]) )+$'
check "the default spreading uses several nodes" sh -c "[ \$(echo '$(nodes_of app=web)' | wc -w) -ge 3 ]"
POD=$(kubectl get pods -l app=web -o jsonpath='{.items[0].metadata.name}')
check "PodScheduled=True" eq "$(jp pod "$POD" -o jsonpath='{.status.conditions[?(@.type=="PodScheduled")].status}')" "True"
NODE=$(jp pod "$POD" -o jsonpath='{.spec.nodeName}')
expect_out "describe: Scheduled event from default-scheduler" \
	"Normal +Scheduled +[0-9a-z]+ +default-scheduler +Successfully assigned default/$POD to $NODE" kubectl describe pod "$POD"
expect_out "get events: Scheduled" "Normal +Scheduled +pod/$POD +Successfully assigned default/$POD to $NODE" \
	kubectl get events --field-selector "involvedObject.name=$POD"

# --- the seed's node-affinity Deployment ---
cat >"$W/affinity.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: gpu-inference
spec:
  replicas: 6
  selector:
    matchLabels:
      app: gpu-inference
  template:
    metadata:
      labels:
        app: gpu-inference
    spec:
      affinity:
        nodeAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            nodeSelectorTerms:
            - matchExpressions:
              - key: kubernetes.io/hostname
                operator: In
                values:
                - gpu-node-1
                - gpu-node-2
      containers:
      - name: gpu-inference
        image: your-gpu-enabled-image
YAML
expect_out "create the node-affinity Deployment" 'deployment.apps/gpu-inference created' kubectl apply -f "$W/affinity.yaml"
wait_for "its pods run" 15 all_running app=gpu-inference 6
check "only on gpu-node-1 and gpu-node-2" eq "$(nodes_of app=gpu-inference)" "gpu-node-1 gpu-node-2 "

# --- a GPU pod waits for a GPU node ---
cat >"$W/gpu.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata:
  name: cuda
spec:
  containers:
  - name: gpu-inference
    image: your-gpu-enabled-image
    resources:
      limits:
        nvidia.com/gpu: 1
YAML
expect_out "create a GPU pod" 'pod/cuda created' kubectl apply -f "$W/gpu.yaml"
MSG='0/4 nodes are available: 4 Insufficient nvidia.com/gpu\.'
wait_for "describe shows kube's FailedScheduling message" 10 sh -c \
	"kubectl describe pod cuda | grep -Eq 'Warning +FailedScheduling .*default-scheduler +$MSG'"
check "it stays Pending, unbound" eq "$(jp pod cuda -o jsonpath='{.status.phase}/{.spec.nodeName}')" "Pending/"
check "PodScheduled=False, reason Unschedulable" eq \
	"$(jp pod cuda -o jsonpath='{.status.conditions[?(@.type=="PodScheduled")].status} {.status.conditions[?(@.type=="PodScheduled")].reason}')" \
	"False Unschedulable"
check "the condition carries the same message" matches \
	"$(jp pod cuda -o jsonpath='{.status.conditions[?(@.type=="PodScheduled")].message}')" "^$MSG preemption: 0/4 nodes are available: 4 Preemption is not helpful for scheduling\.\$"
expect_out "get pods: Pending" '^cuda +0/1 +Pending +0 ' kubectl get pod cuda
sleep 2
check "no other node came, so still Pending" phase_is cuda Pending
node gpu-node-3 8 'nvidia.com/gpu: "2"' >"$W/gpunode.yaml"
expect_out "a node advertising nvidia.com/gpu appears" 'node/gpu-node-3 created' kubectl apply -f "$W/gpunode.yaml"
wait_for "the GPU pod is scheduled there and runs" 15 sh -c \
	'[ "$(kubectl get pod cuda -o jsonpath="{.spec.nodeName} {.status.phase}")" = "gpu-node-3 Running" ]'
expect_out "describe: Scheduled after the failures" 'Normal +Scheduled +.*Successfully assigned default/cuda to gpu-node-3' kubectl describe pod cuda

# --- taints: only tolerating pods land on a tainted node; not-ready nodes get nothing ---
cat >"$W/tainted.yaml" <<YAML
$(node infra-1)
spec:
  taints:
  - key: dedicated
    value: infra
    effect: NoSchedule
---
apiVersion: v1
kind: Node
metadata:
  name: down-1
status:
  conditions:
  - type: Ready
    status: "False"
    reason: KubeletNotReady
YAML
expect_out "create a tainted node and a NotReady one" 'node/down-1 created' kubectl apply -f "$W/tainted.yaml"
wait_for "the NotReady node is tainted not-ready:NoSchedule" 10 sh -c \
	"kubectl get node down-1 -o jsonpath='{.spec.taints}' | grep -q '\"key\":\"node.kubernetes.io/not-ready\"'"
wait_for "the tainted node is Ready" 10 sh -c '[ "$(kubectl get node infra-1 --no-headers | awk "{print \$2}")" = Ready ]'
expect_out "scale the plain Deployment up" 'scaled' kubectl scale deployment web --replicas=16
wait_for "all 16 run" 20 all_running app=web 16
check "none went to the tainted or the not-ready node" matches "$(nodes_of app=web)" '^((worker-[12]|gpu-node-[123]) )+$'
cat >"$W/tolerate.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: infra
spec:
  replicas: 3
  selector:
    matchLabels:
      app: infra
  template:
    metadata:
      labels:
        app: infra
    spec:
      nodeSelector:
        kubernetes.io/hostname: infra-1
      tolerations:
      - key: dedicated
        operator: Equal
        value: infra
        effect: NoSchedule
      containers:
      - name: agent
        image: busybox
---
apiVersion: v1
kind: Pod
metadata:
  name: intolerant
spec:
  nodeSelector:
    kubernetes.io/hostname: infra-1
  containers:
  - name: app
    image: busybox
YAML
expect_out "pods that tolerate the taint, and one that does not" 'pod/intolerant created' kubectl apply -f "$W/tolerate.yaml"
wait_for "the tolerating pods run on the tainted node" 15 all_running app=infra 3
check "all on infra-1" eq "$(nodes_of app=infra)" "infra-1 "
wait_for "the intolerant pod: FailedScheduling naming the taint" 10 sh -c \
	"kubectl describe pod intolerant | grep -Eq 'FailedScheduling .*0/7 nodes are available: 1 node\\(s\\) had untolerated taint \\{dedicated: infra\\}, 1 node\\(s\\) had untolerated taint \\{node.kubernetes.io/not-ready: \\}, 5 node\\(s\\) didn.t match Pod.s node affinity/selector\\.'"
check "and stays Pending" phase_is intolerant Pending
check "nothing was bound to the not-ready node" eq "$(kubectl get pods -A --field-selector spec.nodeName=down-1 -o name)" ""

# --- other profiles and other schedulers ---
cat >"$W/profiles.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata:
  name: packed
spec:
  schedulerName: timon-binpack
  nodeSelector:
    kubernetes.io/hostname: gpu-node-3
  containers:
  - name: app
    image: busybox
---
apiVersion: v1
kind: Pod
metadata:
  name: foreign
spec:
  schedulerName: my-own-scheduler
  containers:
  - name: app
    image: busybox
YAML
expect_out "a timon-binpack pod and a pod for another scheduler" 'pod/foreign created' kubectl apply -f "$W/profiles.yaml"
wait_for "timon-binpack schedules its pod" 10 phase_is packed Running
expect_out "its event names the profile" 'Normal +Scheduled +.* +timon-binpack +Successfully assigned default/packed to gpu-node-3' kubectl describe pod packed
sleep 1
check "a pod for another scheduler is left alone (no event, no node)" eq \
	"$(jp pod foreign -o jsonpath='{.spec.nodeName}{.status.conditions}')$(kubectl get events --field-selector involvedObject.name=foreign -o name)" ""

# --- preemption on a full node ---
cat >"$W/preempt.yaml" <<YAML
$(node small-1 2)
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata:
  name: low
value: 100
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata:
  name: high
value: 1000000
YAML
expect_out "a 2-CPU node and two priority classes" 'priorityclass.scheduling.k8s.io/high created' kubectl apply -f "$W/preempt.yaml"
wait_for "the small node is Ready" 10 sh -c '[ "$(kubectl get node small-1 --no-headers | awk "{print \$2}")" = Ready ]'
pod_on_small() { # NAME CLASS CPU
	cat <<YAML
---
apiVersion: v1
kind: Pod
metadata:
  name: $1
spec:
  priorityClassName: $2
  nodeSelector:
    kubernetes.io/hostname: small-1
  containers:
  - name: app
    image: busybox
    resources:
      requests:
        cpu: $3
YAML
}
pod_on_small victim low 1500m >"$W/low.yaml"
expect_out "a low-priority pod fills the node" 'pod/victim created' kubectl apply -f "$W/low.yaml"
wait_for "it runs on small-1" 10 phase_is victim Running
VICTIM_UID=$(jp pod victim -o jsonpath='{.metadata.uid}')
pod_on_small preemptor high 1 >"$W/high.yaml"
expect_out "a high-priority pod that does not fit" 'pod/preemptor created' kubectl apply -f "$W/high.yaml"
wait_for "the preemptor runs on small-1" 20 sh -c \
	'[ "$(kubectl get pod preemptor -o jsonpath="{.spec.nodeName} {.status.phase}")" = "small-1 Running" ]'
PRE_UID=$(jp pod preemptor -o jsonpath='{.metadata.uid}')
check "the victim is gone" sh -c '! kubectl get pod victim -o name 2>/dev/null | grep -q .'
expect_out "Preempted event on the victim" "Normal +Preempted +pod/victim +Preempted by pod $PRE_UID on node small-1" \
	kubectl get events --field-selector involvedObject.name=victim
check "the victim's event names its uid" eq "$(kubectl get events --field-selector involvedObject.name=victim,reason=Preempted -o jsonpath='{.items[0].involvedObject.uid}')" "$VICTIM_UID"
expect_out "the preemptor's FailedScheduling has no preemption failure" \
	'FailedScheduling +.*0/8 nodes are available: 1 Insufficient cpu, 1 node\(s\) had untolerated taint \{dedicated: infra\}, 1 node\(s\) had untolerated taint \{node.kubernetes.io/not-ready: \}, 5 node\(s\) didn.t match Pod.s node affinity/selector\.$' \
	kubectl describe pod preemptor
check "the preemptor was nominated to small-1" eq "$(jp pod preemptor -o jsonpath='{.status.nominatedNodeName}')" "small-1"

# --- deletion frees room: a pending pod is retried when a pod is deleted ---
pod_on_small waiter low 1500m >"$W/waiter.yaml"
expect_out "a low pod that does not fit next to the preemptor" 'pod/waiter created' kubectl apply -f "$W/waiter.yaml"
wait_for "it is reported unschedulable (no lower-priority victim)" 10 sh -c \
	"kubectl describe pod waiter | grep -Eq 'FailedScheduling .*1 Insufficient cpu.*preemption: 0/8 nodes are available: 1 No preemption victims found for incoming pod, 7 Preemption is not helpful for scheduling\\.'"
expect_out "delete the preemptor" 'deleted' kubectl delete pod preemptor --wait=false
wait_for "the waiting pod is scheduled once room is free" 15 sh -c \
	'[ "$(kubectl get pod waiter -o jsonpath="{.spec.nodeName} {.status.phase}")" = "small-1 Running" ]'


# --- inter-pod affinity, anti-affinity and topology spread, on three zoned nodes ---
ipa_node() { node "$1" 8 "" "pool: ipa, topology.kubernetes.io/zone: $2"; } # NAME ZONE
ipa_pod() { # NAME LABEL AFFINITY_YAML
	cat <<YAML
---
apiVersion: v1
kind: Pod
metadata:
  name: $1
  labels: {$2}
spec:
  nodeSelector: {pool: ipa}
  affinity:
$3
  containers:
  - {name: app, image: busybox}
YAML
}
{ ipa_node ipa-a1 za; ipa_node ipa-a2 za; ipa_node ipa-b1 zb; } >"$W/ipa-nodes.yaml"
expect_out "three nodes in two zones" 'node/ipa-b1 created' kubectl apply -f "$W/ipa-nodes.yaml"
wait_for "they are Ready" 10 sh -c \
	'[ "$(kubectl get nodes -l pool=ipa --no-headers | grep -c " Ready ")" = 3 ]'
ANTI_HOST='    podAntiAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
      - labelSelector: {matchLabels: {app: solo}}
        topologyKey: kubernetes.io/hostname'
{ for i in 1 2 3 4; do ipa_pod solo-$i "app: solo" "$ANTI_HOST"; done; } >"$W/solo.yaml"
expect_out "four pods that each want a node of their own" 'pod/solo-4 created' kubectl apply -f "$W/solo.yaml"
wait_for "three of them run" 15 all_running app=solo 3
check "on three different nodes" eq "$(nodes_of app=solo | sed 's/^ //')" "ipa-a1 ipa-a2 ipa-b1 "
PENDING=$(kubectl get pods -l app=solo --field-selector status.phase=Pending -o jsonpath='{.items[*].metadata.name}')
check "the fourth stays Pending" matches "$PENDING" '^solo-[1-4]$'
wait_for "with FailedScheduling naming the anti-affinity rules" 10 sh -c \
	"kubectl describe pod $PENDING | grep -Eq 'FailedScheduling .*3 node\\(s\\) didn.t match pod anti-affinity rules'"
VICTIM=$(kubectl get pods -l app=solo -o jsonpath='{range .items[?(@.spec.nodeName=="ipa-b1")]}{.metadata.name}{end}')
expect_out "deleting the pod on ipa-b1" 'deleted' kubectl delete pod "$VICTIM" --wait=false
wait_for "lets the pending one run there" 15 sh -c \
	"[ \"\$(kubectl get pod $PENDING -o jsonpath='{.spec.nodeName} {.status.phase}')\" = 'ipa-b1 Running' ]"

# An existing pod's anti-affinity keeps others away (the symmetric check), and required
# affinity follows a pod into its zone.
ipa_pod quiet "app: quiet" '    podAntiAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
      - labelSelector: {matchLabels: {role: noisy}}
        topologyKey: topology.kubernetes.io/zone' >"$W/quiet.yaml"
sed -i 's/nodeSelector: {pool: ipa}/nodeSelector: {pool: ipa, topology.kubernetes.io\/zone: zb}/' "$W/quiet.yaml"
expect_out "a pod that wants no noisy neighbour in its zone (zb)" 'pod/quiet created' kubectl apply -f "$W/quiet.yaml"
wait_for "it runs on ipa-b1" 15 sh -c "[ \"\$(kubectl get pod quiet -o jsonpath='{.spec.nodeName} {.status.phase}')\" = 'ipa-b1 Running' ]"
# Six: least-allocated scoring alone would put some on ipa-b1.
{ for i in 1 2 3 4 5 6; do ipa_pod noisy-$i "role: noisy" '    {}'; done; } >"$W/noisy.yaml"
expect_out "six noisy pods" 'pod/noisy-6 created' kubectl apply -f "$W/noisy.yaml"
wait_for "all run" 15 sh -c '[ "$(kubectl get pods -l role=noisy --field-selector status.phase=Running -o name | wc -l)" = 6 ]'
check "none in zone zb" eq "$(nodes_of role=noisy | tr ' ' '\n' | grep -c ipa-b1)" "0"
ipa_pod near "app: near" '    podAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
      - labelSelector: {matchLabels: {app: quiet}}
        topologyKey: topology.kubernetes.io/zone' >"$W/near.yaml"
expect_out "a pod that must share quiet's zone" 'pod/near created' kubectl apply -f "$W/near.yaml"
wait_for "lands on ipa-b1, the only node of zb" 15 sh -c \
	"[ \"\$(kubectl get pod near -o jsonpath='{.spec.nodeName} {.status.phase}')\" = 'ipa-b1 Running' ]"

# Topology spread, DoNotSchedule: with zone zb cordoned (its node still counts as a domain)
# only one pod fits in za at skew 1; the rest wait until zb opens.
expect_out "cordon ipa-b1" 'cordoned' kubectl cordon ipa-b1
cat >"$W/spread.yaml" <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: spread}
spec:
  replicas: 3
  selector: {matchLabels: {app: spread}}
  template:
    metadata: {labels: {app: spread}}
    spec:
      nodeSelector: {pool: ipa}
      topologySpreadConstraints:
      - maxSkew: 1
        topologyKey: topology.kubernetes.io/zone
        whenUnsatisfiable: DoNotSchedule
        labelSelector: {matchLabels: {app: spread}}
      containers:
      - {name: app, image: busybox}
YAML
expect_out "a 3-replica Deployment spread over the zones at skew 1" 'deployment.apps/spread created' kubectl apply -f "$W/spread.yaml"
wait_for "one runs" 15 all_running app=spread 1
sleep 1
check "the other two stay Pending" eq "$(kubectl get pods -l app=spread --field-selector status.phase=Pending -o name | wc -l)" "2"
SP=$(kubectl get pods -l app=spread --field-selector status.phase=Pending -o jsonpath='{.items[0].metadata.name}')
wait_for "FailedScheduling names the spread constraints" 10 sh -c \
	"kubectl describe pod $SP | grep -Eq 'FailedScheduling .*2 node\\(s\\) didn.t match pod topology spread constraints'"
expect_out "uncordon ipa-b1" 'uncordoned' kubectl uncordon ipa-b1
wait_for "then all three run" 15 all_running app=spread 3
check "and zb has one or two of them" matches \
	"$(kubectl get pods -l app=spread -o jsonpath='{range .items[*]}{.spec.nodeName}{"\n"}{end}' | grep -c ipa-b1)" '^[12]$'

finish
