#!/usr/bin/env bash
# test_agent_runtime.sh — node agent pieces around the runtime, end to end with real pods
# and the real kubectl (as root): RuntimeClass handlers (a pod whose class names the
# test's handler runs through it — a wrapper script that logs its calls and execs runc;
# admission refuses an unknown class; a class whose handler the node lacks fails the
# sandbox with containerd's words), container log rotation by size (files on disk bounded
# by --container-log-max-files, older rotated files gzipped, `kubectl logs` still shows
# recent lines), and `kubectl attach` (live output, -i with stdin:true, -it with a tty).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agentlib.sh"

agent_setup || { finish; exit 1; }

# The handler: logs every call, then runs runc with the same arguments.
RUNC=$(command -v runc)
cat >"$TMP/wrapped-runc" <<EOS
#!/bin/sh
echo "\$*" >>"$TMP/wrapper.log"
exec $RUNC "\$@"
EOS
chmod 755 "$TMP/wrapped-runc"

start_agent_server --runtime-handler "wrapped=$TMP/wrapped-runc" \
	--container-log-max-size 64Ki --container-log-max-files 3 ||
	{ fail "server with agent starts"; finish; exit 1; }

# --- RuntimeClass ---
kubectl apply -f - >/dev/null <<EOF2
apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata: {name: wrapped}
handler: wrapped
overhead: {podFixed: {cpu: 10m, memory: 1Mi}}
---
apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata: {name: missing-handler}
handler: nosuchhandler
EOF2
kubectl apply -f - >/dev/null <<EOF2
apiVersion: v1
kind: Pod
metadata: {name: rc-wrapped}
spec:
  runtimeClassName: wrapped
  containers:
  - name: c
    image: $IMAGE
    command: ["/bin/sh", "-c", "echo via-handler; while :; do sleep 1; done"]
---
apiVersion: v1
kind: Pod
metadata: {name: rc-plain}
spec:
  containers:
  - name: c
    image: $IMAGE
    command: ["/bin/sh", "-c", "while :; do sleep 1; done"]
EOF2
check "a pod with runtimeClassName runs" kubectl wait --for=condition=Ready pod/rc-wrapped --timeout=60s
check "a pod without one runs" kubectl wait --for=condition=Ready pod/rc-plain --timeout=60s
UID_W=$(pod_field rc-wrapped '{.metadata.uid}')
UID_P=$(pod_field rc-plain '{.metadata.uid}')
if grep -q "create .*${UID_W}_c_0" "$TMP/wrapper.log" 2>/dev/null &&
	grep -q "start ${UID_W}_c_0" "$TMP/wrapper.log"; then
	pass "the class's handler created and started the container"
else
	fail "the class's handler created and started the container" "$(cat "$TMP/wrapper.log" 2>&1 | tail -5)"
fi
if grep -q "$UID_P" "$TMP/wrapper.log" 2>/dev/null; then
	fail "a pod without a class does not use the handler" "$(grep "$UID_P" "$TMP/wrapper.log" | head -3)"
else
	pass "a pod without a class does not use the handler"
fi
expect_out "exec goes through the pod's handler too" "^hi$" kubectl exec rc-wrapped -- echo hi
check "the handler ran the exec" grep -q "exec .*${UID_W}_c_0" "$TMP/wrapper.log"
expect_out "admission adds the class's overhead" "10m" pod_field rc-wrapped '{.spec.overhead.cpu}'
expect_err "admission refuses an unknown RuntimeClass" 'pod rejected: RuntimeClass "nope" not found' \
	kubectl run rc-unknown --image="$IMAGE" --overrides='{"spec":{"runtimeClassName":"nope"}}' -- sh -c 'sleep 100'
kubectl run rc-nohandler --image="$IMAGE" --overrides='{"spec":{"runtimeClassName":"missing-handler"}}' \
	--command -- sh -c 'sleep 100' >/dev/null
check "a class whose handler the node lacks: FailedCreatePodSandBox" wait_for 30 sh -c \
	"kubectl get events --field-selector involvedObject.name=rc-nohandler -o jsonpath='{.items[*].message}' | grep -q 'Failed to create pod sandbox: failed to get sandbox runtime: no runtime for \"nosuchhandler\" is configured'"
expect_out "... and the pod stays Pending, its container ContainerCreating" "^Pending ContainerCreating$" \
	pod_field rc-nohandler '{.status.phase} {.status.containerStatuses[0].state.waiting.reason}'
check "... and nothing ran" sh -c "! ls '$TMP/data/agent/containers' | grep -q '$(pod_field rc-nohandler '{.metadata.uid}')'"
# A class deleted after its pod was admitted (the pod waits behind a scheduling gate):
# kubelet's RuntimeClass manager does not find it.
kubectl apply -f - >/dev/null <<EOF2
apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata: {name: short-lived}
handler: wrapped
---
apiVersion: v1
kind: Pod
metadata: {name: rc-gone}
spec:
  runtimeClassName: short-lived
  schedulingGates: [{name: hold}]
  containers: [{name: c, image: "$IMAGE", command: ["/bin/sh", "-c", "sleep 100"]}]
EOF2
kubectl delete runtimeclass short-lived >/dev/null
kubectl patch pod rc-gone --type=json -p '[{"op":"remove","path":"/spec/schedulingGates"}]' >/dev/null
check "a class deleted after admission: FailedCreatePodSandBox, not found" wait_for 30 sh -c \
	"kubectl get events --field-selector involvedObject.name=rc-gone -o jsonpath='{.items[*].message}' | grep -q 'Failed to create pod sandbox: runtimeclasses.node.k8s.io \"short-lived\" not found'"

# --- attach ---
kubectl apply -f - >/dev/null <<EOF2
apiVersion: v1
kind: Pod
metadata: {name: att}
spec:
  containers:
  - name: c
    image: $IMAGE
    command: ["/bin/sh", "-c", "echo first-line; echo err-first >&2; n=0; while :; do echo tick-\$n; echo etick-\$n >&2; n=\$((n+1)); sleep 0.3; done"]
---
apiVersion: v1
kind: Pod
metadata: {name: att-in}
spec:
  containers:
  - name: c
    image: $IMAGE
    stdin: true
    command: ["/bin/sh", "-c", "echo ready; while read l; do echo got-\$l; done; echo stdin-closed; sleep 1000"]
---
apiVersion: v1
kind: Pod
metadata: {name: att-once}
spec:
  containers:
  - name: c
    image: $IMAGE
    stdin: true
    stdinOnce: true
    command: ["/bin/sh", "-c", "while read l; do echo got-\$l; done; echo stdin-closed; sleep 1000"]
---
apiVersion: v1
kind: Pod
metadata: {name: att-tty}
spec:
  containers:
  - name: c
    image: $IMAGE
    stdin: true
    tty: true
    command: ["/bin/sh"]
EOF2
check "the attach pods run" kubectl wait --for=condition=Ready pod/att pod/att-in pod/att-once pod/att-tty --timeout=60s
wait_for 10 sh -c "kubectl logs att | grep -q tick-3"
OUT=$(timeout 4 kubectl attach att 2>&1)
if echo "$OUT" | grep -q '^tick-[0-9]' && echo "$OUT" | grep -q '^etick-[0-9]' && ! echo "$OUT" | grep -q 'first-line'; then
	pass "attach streams live stdout and stderr (not the log's past)"
else
	fail "attach streams live stdout and stderr (not the log's past)" "$(echo "$OUT" | head -5)"
fi
FIRST=$(echo "$OUT" | grep -m1 -o '^tick-[0-9]*' | cut -d- -f2)
LAST=$(echo "$OUT" | grep -o '^tick-[0-9]*' | tail -1 | cut -d- -f2)
if [ -n "$FIRST" ] && [ "$LAST" -gt "$((FIRST + 3))" ]; then pass "attach keeps streaming ($FIRST..$LAST)"; else fail "attach keeps streaming" "$FIRST..$LAST"; fi
check "the container runs on after a detach" kubectl wait --for=condition=Ready pod/att --timeout=5s
expect_out "attach -i delivers stdin to a stdin:true container" "^got-hello$" \
	bash -c "(sleep 1; echo hello; sleep 2) | timeout 8 kubectl attach -i att-in 2>&1; true"
expect_out "a second attach -i reaches the same stdin (not stdinOnce)" "^got-again$" \
	bash -c "(sleep 1; echo again; sleep 2) | timeout 8 kubectl attach -i att-in 2>&1; true"
check "without stdinOnce the container's stdin stays open" sh -c "! kubectl logs att-in | grep -q stdin-closed"
# While still attached, the container sees its stdin end and says so.
expect_out "attach -i with stdinOnce: the input's end closes the container's stdin" "got-once,stdin-closed," \
	bash -c "(sleep 1; echo once; sleep 1) | timeout 6 kubectl attach -i att-once 2>&1 | tr '\n' ','; true"
# The input below stays open past the timeout: script(1) would type ^D (EOF) into the
# terminal when its input ends, and the shell would exit, as on any terminal.
# timeout runs in the foreground: script(1) runs its command with $SHELL, and where that
# is dash (CI has no SHELL) a plain timeout puts kubectl in a background process group,
# whose tcsetattr stops it with SIGTTOU for good.
expect_out "attach -it: a shell on the container's terminal" "tty-42" \
	bash -c "(sleep 3; echo 'echo tty-\$((6*7))'; sleep 9) | script -qec 'timeout --foreground -k 2 10 kubectl attach -it att-tty' /dev/null | tr -d '\r'; true"
expect_out "attach -it: the terminal takes the client's size" "size=45 123" \
	bash -c "(sleep 3; echo 'echo size=\$(stty size)'; sleep 9) | script -qec 'stty cols 123 rows 45; timeout --foreground -k 2 10 kubectl attach -it att-tty' /dev/null | tr -d '\r'; true"
expect_err "attach to a container without a terminal asks for none" "Unable to use a TTY" \
	bash -c "script -qec 'timeout --foreground -k 2 3 kubectl attach -it att' /dev/null </dev/null | tr -d '\r'; false"

# --- log rotation ---
# ~1.6 MB of output in ~100-byte lines, then a marker every second.
kubectl apply -f - >/dev/null <<EOF2
apiVersion: v1
kind: Pod
metadata: {name: chatty}
spec:
  containers:
  - name: c
    image: $IMAGE
    command: ["/bin/sh", "-c", "i=0; while [ \$i -lt 4000 ]; do echo line-\$i-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; i=\$((i+1)); if [ \$((i % 400)) = 0 ]; then sleep 1.5; fi; done; n=0; while :; do echo tick-\$n; n=\$((n+1)); sleep 1; done"]
EOF2
check "the chatty pod runs" kubectl wait --for=condition=Ready pod/chatty --timeout=60s
# A follower from the start sees every line once, across the rotations.
kubectl logs -f chatty >"$TMP/follow.out" 2>&1 &
FOLLOW_PID=$!
UID_C=$(pod_field chatty '{.metadata.uid}')
LOGDIR="$TMP/logs/default_chatty_${UID_C}/c"
check "its log is rotated (a .gz appears)" wait_for 60 sh -c "ls '$LOGDIR' | grep -q '^0\.log\.[0-9]\{8\}-[0-9]\{6\}\.gz$'"
check "rotated names carry the time stamp" sh -c "ls '$LOGDIR' | grep -Eq '^0\.log\.[0-9]{8}-[0-9]{6}$'"
check "the output ends" wait_for 60 sh -c "kubectl logs chatty --tail=3 | grep -q tick-"
check "the follower reaches the end" wait_for 20 grep -q '^tick-' "$TMP/follow.out"
kill "$FOLLOW_PID" 2>/dev/null
wait "$FOLLOW_PID" 2>/dev/null
TOTAL=$(grep -c '^line-' "$TMP/follow.out")
UNIQ=$(grep '^line-' "$TMP/follow.out" | sort -u | wc -l)
if [ "$TOTAL" = 4000 ] && [ "$UNIQ" = 4000 ]; then
	pass "logs -f across rotations: all 4000 lines, none twice"
else
	fail "logs -f across rotations: all 4000 lines, none twice" "total $TOTAL, distinct $UNIQ"
fi
sleep 12 # one more rotation round
N=$(ls "$LOGDIR" | grep -c '^0\.log')
if [ "$N" -le 3 ] && [ "$N" -ge 2 ]; then
	pass "at most --container-log-max-files files stay ($N)"
else
	fail "at most --container-log-max-files files stay" "$(ls -l "$LOGDIR")"
fi
SZ=$(stat -c %s "$LOGDIR/0.log")
if [ "$SZ" -le $((64 * 1024 + 40000)) ]; then pass "the current file is small ($SZ bytes)"; else fail "the current file is small" "$SZ bytes"; fi
expect_out "kubectl logs shows recent lines" "^tick-[0-9]+$" sh -c "kubectl logs chatty --tail=1"
check "a rotated .gz holds CRI lines" sh -c "zcat '$LOGDIR'/0.log.*.gz | head -1 | grep -Eq '^[0-9-]+T[0-9:.]+.* stdout F line-'"
check "the log kept flowing: recent ticks are in the current file" wait_for 10 sh -c "grep -q 'stdout F tick-' '$LOGDIR/0.log'"

finish
