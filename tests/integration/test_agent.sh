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

# ---- pods reach beyond the pod network as the node (the agent's one nftables rule) ----
# An "outside" host: a network namespace of this test on a veth pair, with no route back to
# the pod network, so only a masqueraded connection can be answered.
OUTNS=tout$$ OUTV=tov$$ OUTNET=198.18.$(($$ % 250))
ip netns add "$OUTNS" && ip link add "$OUTV" type veth peer name eth0 netns "$OUTNS" &&
	ip addr add "$OUTNET.1/30" dev "$OUTV" && ip link set "$OUTV" up &&
	ip netns exec "$OUTNS" ip addr add "$OUTNET.2/30" dev eth0 &&
	ip netns exec "$OUTNS" ip link set eth0 up && ip netns exec "$OUTNS" ip link set lo up
ip netns exec "$OUTNS" python3 -c 'import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 8000)); s.listen(1); s.settimeout(90)
c, a = s.accept(); open(sys.argv[2], "w").write(a[0] + "\n")' "$OUTNET.2" "$TMP/egress.peer" &
AGENT_PIDS+=($!)
# The pod must not connect before the listener listens (it starts in about 50 ms).
wait_for 10 sh -c "ip netns exec $OUTNS ss -Hltn 'sport = :8000' | grep -q LISTEN"
check "the node's egress table masquerades the cluster CIDR" sh -c \
	"nft list table inet timon-$AGENT_NODE-pods | grep -q 'ip saddr 10.42.0.0/16 ip daddr != 10.42.0.0/16 .*masquerade'"
kubectl run egress --image="$IMAGE" --restart=Never --command -- sh -c "echo hello | nc $OUTNET.2 8000" >/dev/null
check "a pod connects to a host outside the pod network" wait_for 60 test -s "$TMP/egress.peer"
expect_out "which sees the node's address, not the pod's" "^$OUTNET.1\$" cat "$TMP/egress.peer"
kubectl delete pod egress --wait=false >/dev/null 2>&1
ip netns del "$OUTNS" 2>/dev/null
ip link del "$OUTV" 2>/dev/null

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

# A registry nobody serves, and a layer whose bytes do not match its digest.
kubectl run noregistry --image="127.0.0.1:$(agent_free_port)/test/busybox:1" >/dev/null
check "a missing registry ends in ErrImagePull or ImagePullBackOff" wait_for 30 sh -c \
	"kubectl get pod noregistry -o jsonpath='{.status.containerStatuses[0].state.waiting.reason}' | grep -Eq 'ErrImagePull|ImagePullBackOff'"
expect_out "describe says the registry cannot be reached" "Failed to pull image .*([Cc]onnect|refused)" kubectl describe pod noregistry
if L=$(python3 "$HERE/corrupt_image.py" "$TMP/layout" 1 "$TMP/layout-corrupt") &&
	skopeo copy --quiet --dest-tls-verify=false oci:"$TMP/layout-corrupt":1 "docker://$REG/test/corrupt:1" &&
	BLOB=$(find "$TMP/registry" -path "*/blobs/sha256/*/$L/data") && [ -n "$BLOB" ]; then
	python3 -c 'import sys; p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[-1] ^= 0xff; open(p, "wb").write(bytes(b))' "$BLOB"
	pass "an image with a layer of its own is pushed and its layer damaged in the registry"
else
	fail "an image with a layer of its own is pushed and its layer damaged in the registry"
fi
kubectl run corrupt --image="$REG/test/corrupt:1" >/dev/null
check "a corrupt layer ends in ErrImagePull or ImagePullBackOff" wait_for 30 sh -c \
	"kubectl get pod corrupt -o jsonpath='{.status.containerStatuses[0].state.waiting.reason}' | grep -Eq 'ErrImagePull|ImagePullBackOff'"
expect_out "describe says the digest did not match" "Failed to pull image .*digest mismatch" kubectl describe pod corrupt

kubectl run badcmd --image="$IMAGE" --command -- /no/such/binary >/dev/null
check "a bad command is reported, not hidden" wait_for 30 sh -c \
	"kubectl get pod badcmd -o json | grep -Eq 'CreateContainerError|StartError|RunContainerError|CrashLoopBackOff'"
expect_out "with the runtime's message in the events" "no/such/binary" kubectl describe pod badcmd

kubectl run rootless --image="$IMAGE" --overrides='{"spec":{"containers":[{"name":"rootless","image":"'"$IMAGE"'","command":["sleep","100"],"securityContext":{"runAsNonRoot":true,"runAsUser":0}}]}}' >/dev/null
check "an impossible securityContext ends in CreateContainerConfigError" wait_for 30 sh -c \
	"kubectl get pod rootless -o jsonpath='{.status.containerStatuses[0].state.waiting.reason}' | grep -q CreateContainerConfigError"
expect_out "and says why" "non-root|runAsNonRoot" kubectl describe pod rootless

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

# ---- what kubectl shows: logs, exec, top ----
expect_out "kubectl logs shows the container's output" "^started" kubectl logs web
expect_out "kubectl logs --tail" "^tick [0-9]+$" kubectl logs web --tail=1
expect_out "kubectl exec runs in the container" "uid=1000" kubectl exec web -- sh -c id
check "kubectl exec passes the exit code" sh -c "kubectl exec web -- sh -c 'exit 4'; [ \$? -eq 4 ]"
check "kubectl top pod shows figures" wait_for 30 sh -c "kubectl top pod web --no-headers | grep -Eq 'web +[0-9]+m +[0-9]+Mi'"

# ---- configuration: env from a ConfigMap and a Secret, a secret volume ----
kubectl create configmap cfg --from-literal=COLOR=blue >/dev/null
kubectl create secret generic sec --from-literal=password=s3cret >/dev/null
cat >"$TMP/cfg.yaml" <<EOY
apiVersion: v1
kind: Pod
metadata: {name: cfgpod}
spec:
  containers:
  - name: c
    image: $IMAGE
    command: ["sh", "-c", "echo color=\$COLOR pw=\$PW; cat /etc/sec/password; echo; sleep 1000"]
    env:
    - name: COLOR
      valueFrom: {configMapKeyRef: {name: cfg, key: COLOR}}
    - name: PW
      valueFrom: {secretKeyRef: {name: sec, key: password}}
    volumeMounts:
    - {name: s, mountPath: /etc/sec}
  volumes:
  - name: s
    secret: {secretName: sec}
EOY
kubectl apply -f "$TMP/cfg.yaml" >/dev/null
check "a pod with ConfigMap/Secret env and a secret volume runs" kubectl wait --for=condition=Ready pod/cfgpod --timeout=60s
wait_for 10 sh -c "kubectl logs cfgpod | grep -q s3cret"
expect_out "env from the ConfigMap and the Secret is set" "color=blue pw=s3cret" kubectl logs cfgpod
expect_out "the secret volume holds the key" "^s3cret" kubectl exec cfgpod -- sh -c "cat /etc/sec/password"
kubectl run nocfg --image="$IMAGE" --overrides='{"spec":{"containers":[{"name":"nocfg","image":"'"$IMAGE"'","command":["sleep","100"],"env":[{"name":"X","valueFrom":{"configMapKeyRef":{"name":"missing","key":"k"}}}]}]}}' >/dev/null
check "a missing ConfigMap ends in CreateContainerConfigError" wait_for 30 sh -c \
	"kubectl get pod nocfg -o jsonpath='{.status.containerStatuses[0].state.waiting.reason}' | grep -q CreateContainerConfigError"

# ---- probes ----
cat >"$TMP/probes.yaml" <<EOY
apiVersion: v1
kind: Pod
metadata: {name: ready}
spec:
  containers:
  - name: c
    image: $IMAGE
    command: ["sh", "-c", "sleep 1000"]
    readinessProbe:
      exec: {command: ["sh", "-c", "cat /tmp/ready"]}
      periodSeconds: 1
---
apiVersion: v1
kind: Pod
metadata: {name: live}
spec:
  containers:
  - name: c
    image: $IMAGE
    command: ["sh", "-c", "mkdir -p /tmp/w; echo ok > /tmp/w/index.html; httpd -p 8080 -h /tmp/w; sleep 1000"]
    livenessProbe:
      httpGet: {path: /index.html, port: 8080}
      periodSeconds: 1
      failureThreshold: 2
EOY
kubectl apply -f "$TMP/probes.yaml" >/dev/null
wait_for 30 sh -c "kubectl get pod ready -o jsonpath='{.status.containerStatuses[0].started}' | grep -q true"
sleep 2
expect_out "a failing readiness probe keeps the pod unready" "^False$" pod_field ready '{.status.conditions[?(@.type=="Ready")].status}'
kubectl exec ready -- sh -c "touch /tmp/ready"
check "the readiness probe passing makes it Ready" kubectl wait --for=condition=Ready pod/ready --timeout=20s
check "a passing liveness probe leaves the container alone" kubectl wait --for=condition=Ready pod/live --timeout=30s
kubectl exec live -- sh -c "rm /tmp/w/index.html"
check "a failing liveness probe restarts the container" wait_for 40 sh -c \
	"[ \"\$(kubectl get pod live -o jsonpath='{.status.containerStatuses[0].restartCount}')\" -ge 1 ]"
expect_out "with an Unhealthy event" "Liveness probe failed" kubectl describe pod live

# ---- a PVC keeps its data across pods ----
cat >"$TMP/pvc.yaml" <<EOY
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 10Mi}}
---
apiVersion: v1
kind: Pod
metadata: {name: writer}
spec:
  restartPolicy: Never
  securityContext: {runAsUser: 0}
  containers:
  - name: c
    image: $IMAGE
    command: ["sh", "-c", "echo persisted > /data/f"]
    volumeMounts: [{name: d, mountPath: /data}]
  volumes:
  - name: d
    persistentVolumeClaim: {claimName: data}
EOY
kubectl apply -f "$TMP/pvc.yaml" >/dev/null
check "a pod writes to a PVC" kubectl wait --for=jsonpath='{.status.phase}'=Succeeded pod/writer --timeout=60s
kubectl delete pod writer --wait=true >/dev/null 2>&1
sed -e 's/name: writer/name: reader/' -e 's|echo persisted > /data/f|cat /data/f|' "$TMP/pvc.yaml" | kubectl apply -f - >/dev/null
check "another pod on the same PVC" kubectl wait --for=jsonpath='{.status.phase}'=Succeeded pod/reader --timeout=60s
expect_out "reads the data back" "^persisted$" kubectl logs reader

# ---- lifecycle hooks ----
cat >"$TMP/hooks.yaml" <<EOY
apiVersion: v1
kind: Pod
metadata: {name: hooks}
spec:
  securityContext: {runAsUser: 0}
  containers:
  - name: c
    image: $IMAGE
    command: ["sh", "-c", "sleep 1000"]
    volumeMounts: [{name: host, mountPath: /out}]
    lifecycle:
      postStart:
        exec: {command: ["sh", "-c", "echo post > /out/post"]}
      preStop:
        exec: {command: ["sh", "-c", "echo pre > /out/pre"]}
  volumes:
  - name: host
    hostPath: {path: $TMP/hookout, type: DirectoryOrCreate}
EOY
kubectl apply -f "$TMP/hooks.yaml" >/dev/null
check "a pod with lifecycle hooks runs" kubectl wait --for=condition=Ready pod/hooks --timeout=60s
expect_out "postStart ran before the container counted as running" "^post$" cat "$TMP/hookout/post"
timeout 30 kubectl delete pod hooks --grace-period=5 --wait=true >/dev/null 2>&1
expect_out "preStop ran at deletion" "^pre$" cat "$TMP/hookout/pre"

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
