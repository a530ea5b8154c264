#!/usr/bin/env bash
# test_agent.sh — the embedded node agent with real containers, as root: the node
# registers Ready; pods from a local registry run (runc + conmon, CNI network, CRI logs),
# become Ready, finish as Succeeded; a Job completes; a crashing container restarts with
# back-off; pull errors, bad commands and a memory limit end in kube's reasons; deletion
# stops containers within the grace period and removes them; killing the server (and so
# the agent) leaves containers running, and the restarted agent re-adopts them.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agentlib.sh"

agent_setup || { finish; exit 1; }
start_agent_server || { fail "server with agent starts"; finish; exit 1; }

# ---- the node ----
expect_out "node is Ready with the agent's labels" "control-plane" \
	kubectl get node "$AGENT_NODE" --show-labels
expect_out "node reports capacity and its address" "^[0-9]+ [0-9]+Ki [0-9.]+$" \
	kubectl get node "$AGENT_NODE" -o jsonpath='{.status.capacity.cpu} {.status.capacity.memory} {.status.addresses[?(@.type=="InternalIP")].address}'
check "node lease is renewed" wait_for 15 kubectl get lease -n kube-node-lease "$AGENT_NODE"

# ---- a long-running pod ----
kubectl run web --image="$IMAGE" --command -- sh -c 'echo started; mkdir -p /tmp/www; echo hello-web >/tmp/www/index.html; httpd -p 8080 -h /tmp/www; i=0; while true; do i=$((i+1)); echo tick $i; sleep 1; done' >/dev/null
check "pod becomes Ready" kubectl wait --for=condition=Ready pod/web --timeout=60s
expect_out "pod has an IP of the node's range" "^10\.42\.[0-9]+\.[0-9]+$" pod_field web '{.status.podIP}'
expect_out "container status is running with an ID" "^runc://.+ true$" \
	pod_field web '{.status.containerStatuses[0].containerID} {.status.containerStatuses[0].started}'
UIDW=$(pod_field web '{.metadata.uid}')
LOG="$TMP/logs/default_web_$UIDW/web/0.log"
wait_for 10 grep -q "stdout F tick 2" "$LOG"
expect_out "container output is in a CRI log file" "stdout F started" cat "$LOG"
POD_IP=$(pod_field web '{.status.podIP}')
expect_out "the pod's server answers from the node" "hello-web" curl -s --max-time 5 "http://$POD_IP:8080/"

# ---- a pod that finishes ----
kubectl run once --image="$IMAGE" --restart=Never --command -- sh -c 'echo bye; exit 0' >/dev/null
check "a finished pod is Succeeded" kubectl wait --for=jsonpath='{.status.phase}'=Succeeded pod/once --timeout=60s
expect_out "its container terminated with Completed and exit 0" "^Completed 0$" \
	pod_field once '{.status.containerStatuses[0].state.terminated.reason} {.status.containerStatuses[0].state.terminated.exitCode}'

kubectl run fails --image="$IMAGE" --restart=Never --command -- sh -c 'exit 7' >/dev/null
check "a failing pod is Failed" kubectl wait --for=jsonpath='{.status.phase}'=Failed pod/fails --timeout=60s
expect_out "with exit code 7, reason Error" "^Error 7$" \
	pod_field fails '{.status.containerStatuses[0].state.terminated.reason} {.status.containerStatuses[0].state.terminated.exitCode}'

# ---- a Job ----
kubectl create job hello --image="$IMAGE" -- sh -c 'echo job done' >/dev/null
check "a Job runs to completion" kubectl wait --for=condition=complete job/hello --timeout=60s

# ---- crash loop ----
kubectl run crash --image="$IMAGE" --command -- sh -c 'echo crashing; exit 1' >/dev/null
check "a crashing container restarts" wait_for 30 sh -c "[ \"\$(kubectl get pod crash -o jsonpath='{.status.containerStatuses[0].restartCount}')\" -ge 1 ]"
check "and backs off with CrashLoopBackOff" wait_for 30 sh -c "kubectl get pod crash | grep -q CrashLoopBackOff"
expect_out "its last state is terminated with exit 1" "^1$" \
	pod_field crash '{.status.containerStatuses[0].lastState.terminated.exitCode}'

# ---- errors a user sees ----
kubectl run noimage --image="$REG/test/nosuch:1" >/dev/null
check "a missing image ends in ErrImagePull or ImagePullBackOff" wait_for 30 sh -c \
	"kubectl get pod noimage -o jsonpath='{.status.containerStatuses[0].state.waiting.reason}' | grep -Eq 'ErrImagePull|ImagePullBackOff'"
expect_out "describe shows the registry's answer" "Failed to pull image .*nosuch" kubectl describe pod noimage

kubectl run badcmd --image="$IMAGE" --command -- /no/such/binary >/dev/null
check "a bad command is reported, not hidden" wait_for 30 sh -c \
	"kubectl get pod badcmd -o json | grep -Eq 'CreateContainerError|StartError|RunContainerError|CrashLoopBackOff'"
expect_out "with the runtime's message in the events" "no/such/binary" kubectl describe pod badcmd

cat >"$TMP/oom.yaml" <<EOY
apiVersion: v1
kind: Pod
metadata: {name: oom}
spec:
  restartPolicy: Never
  containers:
  - name: eat
    image: $IMAGE
    command: ["sh", "-c", "tail /dev/zero"]
    resources:
      limits: {memory: 32Mi}
EOY
kubectl apply -f "$TMP/oom.yaml" >/dev/null
check "a memory limit is enforced: OOMKilled" wait_for 60 sh -c \
	"kubectl get pod oom -o jsonpath='{.status.containerStatuses[0].state.terminated.reason}' | grep -q OOMKilled"

# ---- deletion ----
kubectl run stopme --image="$IMAGE" --command -- sleep 1000 >/dev/null
kubectl wait --for=condition=Ready pod/stopme --timeout=60s >/dev/null
UIDS=$(pod_field stopme '{.metadata.uid}')
check "deleting a pod stops it within its grace period" timeout 20 kubectl delete pod stopme --grace-period=2 --wait=true
check "and its containers are gone" sh -c "! ls '$TMP/data/agent/containers' | grep -q '^$UIDS'"

# ---- the agent restarting re-adopts ----
CID=$(pod_field web '{.status.containerStatuses[0].containerID}')
kill -9 "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null
SERVER_PID=
check "containers keep running while the agent is down" sh -c \
	"runc --root '$AGENT_RUN/runtime/runc' list | grep '${CID#runc://}' | grep -q running"
start_agent_server || fail "server restarts"
sleep 3
check "the pod is still Ready after the restart" kubectl wait --for=condition=Ready pod/web --timeout=30s
expect_out "with the same container and no restart" "^$CID 0$" \
	pod_field web '{.status.containerStatuses[0].containerID} {.status.containerStatuses[0].restartCount}'

finish
