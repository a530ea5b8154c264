#!/usr/bin/env bash
# test_nodes.sh — simulated nodes and node lifecycle through the real kubectl (v1.32):
# nodes annotated timon.dev/simulated become Ready with capacity, addresses, podCIDR and a
# renewed Lease; pods bound to them run (Running, Ready, podIP), complete under the
# timon.dev/sim-duration convention and are removed when deleted; a node whose simulator is
# paused (timon.dev/sim-paused) goes NotReady after its grace period, is tainted
# unreachable, and its pods are evicted according to their tolerations; resuming it undoes
# the taints. A node without the annotation is left alone.
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
# eq A B: succeeds when the two strings are equal, else prints both.
eq() { [ "$1" = "$2" ] || { echo "got '$1', want '$2'"; return 1; }; }
# matches STRING ERE
matches() { echo "$1" | grep -Eq -- "$2" || { echo "got '$1', want /$2/"; return 1; }; }

# --- nodes: a GPU node (capacity in status, a taint, a role), a CPU node (capacity by
# annotation), an edge node with a short grace period, and a node nobody simulates ---
cat >"$W/nodes.yaml" <<'YAML'
apiVersion: v1
kind: Node
metadata:
  name: sim-gpu-1
  annotations:
    timon.dev/simulated: "true"
  labels:
    node-role.kubernetes.io/gpu: ""
    nvidia.com/gpu.product: H100
spec:
  taints:
  - key: nvidia.com/gpu
    value: present
    effect: NoSchedule
status:
  capacity:
    cpu: "64"
    memory: 512Gi
    nvidia.com/gpu: "8"
---
apiVersion: v1
kind: Node
metadata:
  name: sim-cpu-1
  annotations:
    timon.dev/simulated: "true"
    timon.dev/capacity: "cpu=16, memory=64Gi"
  labels:
    node-role.kubernetes.io/worker: ""
---
apiVersion: v1
kind: Node
metadata:
  name: sim-edge
  annotations:
    timon.dev/simulated: "true"
    timon.dev/node-monitor-grace-period: 3s
---
apiVersion: v1
kind: Node
metadata:
  name: real-1
YAML
expect_out "create nodes" 'node/sim-edge created' kubectl apply -f "$W/nodes.yaml"
wait_for "simulated nodes become Ready" 10 sh -c \
	'[ "$(kubectl get nodes --no-headers | grep -c "^sim-[a-z0-9-]* *Ready ")" = 3 ]'
expect_out "get nodes: ROLES and VERSION columns" '^sim-gpu-1 +Ready +gpu +[0-9]+s +v1\.32\.0$' kubectl get nodes
expect_out "get nodes: worker role" '^sim-cpu-1 +Ready +worker +' kubectl get nodes
expect_out "get nodes -o wide: internal IP and runtime" '^sim-gpu-1 +Ready .* 10\.200\.[0-9]+\.[0-9]+ +<none> +Timon Simulated Node +[^ ]+ +timon://sim$' kubectl get nodes -o wide
expect_out "a node without the annotation is left alone" '^real-1 +(Unknown|NotReady) ' kubectl get nodes
check "it gets no podCIDR" eq "$(jp node real-1 -o jsonpath='{.spec.podCIDR}')" ""
check_fails "nor a lease" kubectl get lease -n kube-node-lease real-1

# --- a status write (PUT .../status) takes the status from the body and nothing else: the
# spec stays the stored one, and the status is defaulted (allocatable from capacity) ---
status_put() {
	kubectl get node real-1 -o json | /usr/bin/python3 -c '
import json, sys
n = json.load(sys.stdin)
n.setdefault("spec", {})["unschedulable"] = True
n.setdefault("status", {})["capacity"] = {"cpu": "2", "memory": "4Gi", "pods": "10"}
n["status"].pop("allocatable", None)
json.dump(n, sys.stdout)' >"$W/real-1-status.json" &&
		kubectl replace --subresource=status -f "$W/real-1-status.json"
}
wait_for "replace --subresource=status" 10 status_put
check "status write: allocatable defaults from capacity" eq \
	"$(jp node real-1 -o jsonpath='{.status.allocatable.cpu} {.status.allocatable.pods}')" "2 10"
check "status write: the spec is the stored one" eq "$(jp node real-1 -o jsonpath='{.spec.unschedulable}')" ""

# --- what a simulated node reports ---
expect_out "describe: GPU capacity" 'nvidia\.com/gpu: +8' kubectl describe node sim-gpu-1
D=$(kubectl describe node sim-gpu-1)
check "describe: capacity and allocatable sections" matches "$D" 'Allocatable:'
check "describe: cpu from the created status" matches "$(echo "$D" | sed -n '/^Capacity:/,/^Allocatable:/p')" 'cpu: +64'
check "describe: defaults fill what was not given" matches "$(echo "$D" | sed -n '/^Allocatable:/,/^System Info:/p')" 'pods: +110'
check "describe: the taint is kept" matches "$D" 'Taints: +nvidia\.com/gpu=present:NoSchedule'
check "describe: kubelet condition reasons" matches "$D" 'Ready +True .*KubeletReady +kubelet is posting ready status'
check "describe: memory pressure condition" matches "$D" 'MemoryPressure +False .*KubeletHasSufficientMemory'
check "describe: lease holder" matches "$D" 'HolderIdentity: +sim-gpu-1'
check "describe: kubelet version" matches "$D" 'Kubelet Version: +v1\.32\.0'
check "describe: podCIDR" matches "$D" 'PodCIDR: +10\.42\.[0-9]+\.0/24'
check "capacity from the annotation" eq "$(jp node sim-cpu-1 -o jsonpath='{.status.capacity.cpu} {.status.capacity.memory} {.status.allocatable.cpu}')" "16 64Gi 16"
check "default ephemeral-storage" eq "$(jp node sim-cpu-1 -o jsonpath='{.status.capacity.ephemeral-storage}')" "1Ti"
check "registration labels added" eq "$(jp node sim-cpu-1 -o jsonpath='{.metadata.labels.kubernetes\.io/hostname} {.metadata.labels.kubernetes\.io/os} {.metadata.labels.kubernetes\.io/arch}')" "sim-cpu-1 linux amd64"
check "nodeInfo" eq "$(jp node sim-cpu-1 -o jsonpath='{.status.nodeInfo.containerRuntimeVersion} {.status.nodeInfo.operatingSystem} {.status.nodeInfo.architecture}')" "timon://sim linux amd64"
check "daemonEndpoints" eq "$(jp node sim-cpu-1 -o jsonpath='{.status.daemonEndpoints.kubeletEndpoint.Port}')" "10250"
check "Hostname address" eq "$(jp node sim-cpu-1 -o jsonpath='{.status.addresses[?(@.type=="Hostname")].address}')" "sim-cpu-1"
CIDR1=$(jp node sim-gpu-1 -o jsonpath='{.spec.podCIDR}')
CIDR2=$(jp node sim-cpu-1 -o jsonpath='{.spec.podCIDR}')
check "podCIDRs differ per node" sh -c "[ -n '$CIDR1' ] && [ '$CIDR1' != '$CIDR2' ]"
check "lease: holder and duration" eq "$(jp lease -n kube-node-lease sim-gpu-1 -o jsonpath='{.spec.holderIdentity} {.spec.leaseDurationSeconds}')" "sim-gpu-1 40"
check "lease: owned by the node" eq "$(jp lease -n kube-node-lease sim-gpu-1 -o jsonpath='{.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name}')" "Node/sim-gpu-1"
R1=$(jp lease -n kube-node-lease sim-edge -o jsonpath='{.spec.renewTime}')
wait_for "lease is renewed" 5 sh -c "[ \"\$(kubectl get lease -n kube-node-lease sim-edge -o jsonpath='{.spec.renewTime}')\" != '$R1' ]"

# --- pods bound directly (spec.nodeName) run ---
cat >"$W/pods.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  nodeName: sim-cpu-1
  containers:
  - name: web
    image: nginx:1.25
---
apiVersion: v1
kind: Pod
metadata:
  name: trainer
spec:
  nodeName: sim-gpu-1
  tolerations:
  - key: nvidia.com/gpu
    operator: Exists
  containers:
  - name: train
    image: ghcr.io/example/train:v1
    resources:
      limits:
        nvidia.com/gpu: "8"
YAML
expect_out "create pods" 'pod/trainer created' kubectl apply -f "$W/pods.yaml"
wait_for "pod becomes Running and Ready" 10 sh -c \
	'[ "$(kubectl get pod web -o jsonpath="{.status.phase} {.status.conditions[?(@.type==\"Ready\")].status}")" = "Running True" ]'
expect_out "get pods -o wide: READY, IP and NODE" '^web +1/1 +Running +0 +[0-9]+s +10\.42\.[0-9]+\.[0-9]+ +sim-cpu-1 ' kubectl get pods -o wide
PODIP=$(jp pod web -o jsonpath='{.status.podIP}')
check "podIP is in the node's podCIDR" matches "$PODIP" "^${CIDR2%.0/24}\."
check "hostIP is the node's InternalIP" eq "$(jp pod web -o jsonpath='{.status.hostIP}')" "$(jp node sim-cpu-1 -o jsonpath='{.status.addresses[?(@.type=="InternalIP")].address}')"
check "podIPs and hostIPs" eq "$(jp pod web -o jsonpath='{.status.podIPs[0].ip}')" "$PODIP"
check "kubelet conditions all True" eq "$(jp pod web -o jsonpath='{range .status.conditions[*]}{.type}={.status} {end}')" \
	"PodReadyToStartContainers=True Initialized=True Ready=True ContainersReady=True PodScheduled=True "
check "container status: running, ready, started" eq "$(jp pod web -o jsonpath='{.status.containerStatuses[0].ready} {.status.containerStatuses[0].started} {.status.containerStatuses[0].restartCount}')" "true true 0"
check "container status: startedAt" matches "$(jp pod web -o jsonpath='{.status.containerStatuses[0].state.running.startedAt}')" '^20[0-9-]+T[0-9:]+Z$'
check "container status: image as a runtime reports it" eq "$(jp pod web -o jsonpath='{.status.containerStatuses[0].image}')" "docker.io/library/nginx:1.25"
check "container status: imageID" matches "$(jp pod web -o jsonpath='{.status.containerStatuses[0].imageID}')" '^docker\.io/library/nginx@sha256:[0-9a-f]{64}$'
check "container status: containerID" matches "$(jp pod web -o jsonpath='{.status.containerStatuses[0].containerID}')" '^timon://[0-9a-f]{64}$'
check "startTime" matches "$(jp pod web -o jsonpath='{.status.startTime}')" '^20[0-9-]+T[0-9:]+Z$'
# The simulated kubelet's status writes are tracked as kube tracks a kubelet's: an Update
# entry for the status subresource owning status fields, next to the creator's entry.
check "managedFields: the creator's entry stays after status writes" eq \
	"$(jp pod web -o jsonpath='{.metadata.managedFields[?(@.manager=="kubectl-client-side-apply")].operation}')" "Update"
check "managedFields: a status-subresource entry owns status fields" matches \
	"$(jp pod web -o jsonpath='{range .metadata.managedFields[?(@.subresource=="status")]}{.operation} {.fieldsV1}{end}')" \
	'^Update .*"f:status":\{.*"f:podIP":'
check "managedFields: and no spec field" sh -c \
	"! kubectl get pod web -o jsonpath='{range .metadata.managedFields[?(@.subresource==\"status\")]}{.fieldsV1}{end}' | grep -q 'f:spec'"
wait_for "GPU pod runs on the GPU node" 10 sh -c '[ "$(kubectl get pod trainer -o jsonpath={.status.phase})" = Running ]'
expect_out "describe node lists the pod's GPU" 'nvidia\.com/gpu +8 +8' kubectl describe node sim-gpu-1

# --- completion under the timon.dev/sim-duration convention ---
cat >"$W/jobs.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata:
  name: done-ok
  annotations:
    timon.dev/sim-duration: 1s
spec:
  nodeName: sim-cpu-1
  restartPolicy: Never
  containers:
  - name: work
    image: busybox
---
apiVersion: v1
kind: Pod
metadata:
  name: done-fail
  annotations:
    timon.dev/sim-duration: 1s
    timon.dev/sim-exit-code: "2"
spec:
  nodeName: sim-cpu-1
  restartPolicy: Never
  containers:
  - name: work
    image: busybox
---
apiVersion: v1
kind: Pod
metadata:
  name: crashy
  annotations:
    timon.dev/sim-duration: 500ms
    timon.dev/sim-exit-code: "1"
spec:
  nodeName: sim-cpu-1
  restartPolicy: OnFailure
  containers:
  - name: work
    image: busybox
YAML
expect_out "create completing pods" 'pod/crashy created' kubectl apply -f "$W/jobs.yaml"
wait_for "exit 0 ends Succeeded" 10 sh -c '[ "$(kubectl get pod done-ok -o jsonpath={.status.phase})" = Succeeded ]'
expect_out "shown as Completed" '^done-ok +0/1 +Completed ' kubectl get pods
check "terminated with exit code 0" eq "$(jp pod done-ok -o jsonpath='{.status.containerStatuses[0].state.terminated.exitCode} {.status.containerStatuses[0].state.terminated.reason}')" "0 Completed"
check "Ready False with PodCompleted" eq "$(jp pod done-ok -o jsonpath='{.status.conditions[?(@.type=="Ready")].status} {.status.conditions[?(@.type=="Ready")].reason}')" "False PodCompleted"
wait_for "exit 2 ends Failed" 10 sh -c '[ "$(kubectl get pod done-fail -o jsonpath={.status.phase})" = Failed ]'
check "terminated with exit code 2" eq "$(jp pod done-fail -o jsonpath='{.status.containerStatuses[0].state.terminated.exitCode} {.status.containerStatuses[0].state.terminated.reason}')" "2 Error"
wait_for "OnFailure restarts: CrashLoopBackOff" 10 sh -c '[ "$(kubectl get pod crashy -o jsonpath={.status.containerStatuses[0].state.waiting.reason})" = CrashLoopBackOff ]'
check "the failed run is the last state" eq "$(jp pod crashy -o jsonpath='{.status.phase} {.status.containerStatuses[0].lastState.terminated.exitCode}')" "Running 1"

# --- deletion: a pod held by a finalizer is killed and reported terminal ---
cat >"$W/held.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata:
  name: held
  finalizers: [example.com/hold]
spec:
  nodeName: sim-cpu-1
  containers:
  - name: c
    image: nginx
YAML
check "create held pod" kubectl apply -f "$W/held.yaml"
wait_for "held pod runs" 10 sh -c '[ "$(kubectl get pod held -o jsonpath={.status.phase})" = Running ]'
check "delete it without waiting" kubectl delete pod held --wait=false
wait_for "its containers are killed" 10 sh -c '[ "$(kubectl get pod held -o jsonpath={.status.containerStatuses[0].state.terminated.exitCode})" = 137 ]'
check "release the finalizer" kubectl patch pod held --type=json -p '[{"op":"remove","path":"/metadata/finalizers"}]'
wait_for "the pod is gone" 10 sh -c '! kubectl get pod held >/dev/null 2>&1'
check "plain delete" kubectl delete pod web
check_fails "pod gone after delete" kubectl get pod web

# --- node lifecycle: the edge node's simulator stops ---
cat >"$W/edge-pods.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata:
  name: short-toleration
spec:
  nodeName: sim-edge
  tolerations:
  - key: node.kubernetes.io/unreachable
    operator: Exists
    effect: NoExecute
    tolerationSeconds: 6
  containers:
  - name: c
    image: nginx
---
apiVersion: v1
kind: Pod
metadata:
  name: forever
spec:
  nodeName: sim-edge
  tolerations:
  - key: node.kubernetes.io/unreachable
    operator: Exists
    effect: NoExecute
  containers:
  - name: c
    image: nginx
---
apiVersion: v1
kind: Pod
metadata:
  name: intolerant
spec:
  nodeName: sim-edge
  containers:
  - name: c
    image: nginx
YAML
check "create pods on the edge node" kubectl apply -f "$W/edge-pods.yaml"
wait_for "edge pods run" 10 sh -c '[ "$(kubectl get pods --field-selector spec.nodeName=sim-edge --no-headers | grep -c " Running ")" = 3 ]'
check "pause the edge node's simulator" kubectl annotate node sim-edge timon.dev/sim-paused=true
wait_for "node becomes NotReady after its grace period" 15 sh -c 'kubectl get node sim-edge --no-headers | grep -q " NotReady "'
check "Ready is Unknown: the kubelet stopped posting" eq "$(jp node sim-edge -o jsonpath='{.status.conditions[?(@.type=="Ready")].status} {.status.conditions[?(@.type=="Ready")].reason}')" "Unknown NodeStatusUnknown"
check "message as kube words it" eq "$(jp node sim-edge -o jsonpath='{.status.conditions[?(@.type=="Ready")].message}')" "Kubelet stopped posting node status."
wait_for "unreachable NoExecute and NoSchedule taints" 10 sh -c \
	'[ "$(kubectl get node sim-edge -o jsonpath="{range .spec.taints[*]}{.key}:{.effect} {end}" | tr " " "\n" | grep -c "^node.kubernetes.io/unreachable:")" = 2 ]'
# k8s: DefaultTolerationSeconds gave the pod without tolerations 300 s on an unreachable
# node, so it stays for now.
check "a pod without tolerations got the default 300 s" eq "$(jp pod intolerant -o jsonpath='{.spec.tolerations[?(@.key=="node.kubernetes.io/unreachable")].tolerationSeconds}')" "300"
check "and is still there within them" kubectl get pod intolerant
check "a tolerating pod is still there" kubectl get pod short-toleration
check "pods of the node are marked not Ready" eq "$(jp pod forever -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" "False"
wait_for "the short toleration runs out: evicted" 15 sh -c '! kubectl get pod short-toleration >/dev/null 2>&1'
check "a toleration without seconds keeps its pod" kubectl get pod forever
expect_out "eviction events" 'TaintManagerEviction +pod/short-toleration +Marking for deletion Pod default/short-toleration' kubectl get events
expect_out "node NotReady event" 'NodeNotReady +node/sim-edge +Node sim-edge status is now: NodeNotReady' kubectl get events
expect_out "other nodes stay Ready" '^sim-gpu-1 +Ready ' kubectl get nodes

check "resume the edge node" kubectl annotate node sim-edge timon.dev/sim-paused-
wait_for "node is Ready again" 10 sh -c 'kubectl get node sim-edge --no-headers | grep -q " Ready "'
wait_for "taints removed" 10 sh -c '[ -z "$(kubectl get node sim-edge -o jsonpath="{.spec.taints}")" ]'
wait_for "its pod is Ready again" 10 sh -c '[ "$(kubectl get pod forever -o jsonpath="{.status.conditions[?(@.type==\"Ready\")].status}")" = True ]'

# --- a deleted node takes its lease with it ---
check "delete a node" kubectl delete node sim-cpu-1
wait_for "its lease is collected" 40 sh -c '! kubectl get lease -n kube-node-lease sim-cpu-1 >/dev/null 2>&1'

finish
