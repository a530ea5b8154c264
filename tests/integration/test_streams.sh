#!/usr/bin/env bash
# test_streams.sh — the pod streams kubectl uses, end to end against real pods that the
# embedded node agent runs (as root): kubectl logs (plain, -c, --tail, --timestamps,
# --previous after a real crash and restart, -f), exec (output and exit code, stdin, -it
# through `script` for a terminal), cp both ways (WebSocket v5.channel.k8s.io), and
# port-forward (SPDY/3.1 in WebSocket, and the plain SPDY upgrade kubectl falls back to):
# several requests, two connections at once, a large body, and kube's error for a port
# nothing listens on.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agentlib.sh"

PF_PIDS=()
st_cleanup() {
	for p in "${PF_PIDS[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	agent_cleanup
}
trap st_cleanup EXIT

command -v script >/dev/null || { fail "tool script is installed"; finish; exit 1; }
agent_setup || { finish; exit 1; }
expect_err "a positive --loop-nice is refused" "invalid --loop-nice 5" \
	"$TIMON" server --loop-nice 5 --data-dir "$TMP/bad"
start_agent_server || { fail "server with agent starts"; finish; exit 1; }

# A pod with two containers, main the default one. main's first run prints a line and
# crashes (its marker survives in an emptyDir), so the running attempt is its second.
kubectl apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: sp
  annotations: {kubectl.kubernetes.io/default-container: main}
spec:
  securityContext: {runAsUser: 0}
  volumes: [{name: state, emptyDir: {}}]
  containers:
  - name: main
    image: $IMAGE
    volumeMounts: [{name: state, mountPath: /state}]
    command: ["/bin/sh", "-c", "if [ ! -f /state/ran ]; then touch /state/ran; echo previous-run; exit 1; fi; echo line-1; echo line-2; echo to-stderr >&2; sleep 0.3; echo line-3; while :; do sleep 1; done"]
  - name: side
    image: $IMAGE
    command: ["/bin/sh", "-c", "echo side-hello; while :; do sleep 1; done"]
EOF
check "main restarted after its crash" wait_for 60 sh -c \
	"[ \"\$(kubectl get pod sp -o jsonpath='{.status.containerStatuses[?(@.name==\"main\")].restartCount}')\" -ge 1 ]"
check "the pod is Ready" kubectl wait --for=condition=Ready pod/sp --timeout=60s
wait_for 10 sh -c "kubectl logs sp | grep -q line-3"

# --- logs ---
expect_out "logs: the default container's output, both streams in order" \
	"^line-1,line-2,to-stderr,line-3,$" bash -c "kubectl logs sp | tr '\n' ','"
expect_out "logs -c side" "^side-hello$" kubectl logs sp -c side
expect_out "logs --tail=1" "^line-3$" kubectl logs sp --tail=1
expect_out "logs --timestamps" "^[0-9-]+T[0-9:.]+Z line-1$" bash -c "kubectl logs sp --timestamps | head -1"
expect_out "logs --previous reads the attempt before the restart" "^previous-run$" kubectl logs sp --previous
expect_err "logs --previous of a container never restarted" \
	'previous terminated container "side" in pod "sp" not found' kubectl logs sp -c side --previous
expect_err "logs -c of an unknown container" "container nope is not valid for pod sp" kubectl logs sp -c nope
expect_out "logs --limit-bytes" "^line-1$" kubectl logs sp --limit-bytes=7
expect_out "logs --since=1h keeps recent lines" "line-3" kubectl logs sp --since=1h
# -f: a line written after the request arrives; the stream stays open until the timeout.
( sleep 1.5; kubectl exec sp -- sh -c 'echo followed-line >/proc/1/fd/1' >/dev/null 2>&1 ) &
expect_out "logs -f streams a line written later" "followed-line" \
	bash -c "timeout 5 kubectl logs -f sp; true"

# --- exec ---
# busybox's applets become commands (kubectl cp needs tar in PATH).
check "exec: busybox installs its applets" kubectl exec sp -- /bin/busybox --install -s /bin
expect_out "exec: output" "^hi$" kubectl exec sp -- echo hi
OUT=$(kubectl exec sp -- sh -c 'echo out; echo err >&2; exit 3' 2>&1); RC=$?
if [ "$RC" = 3 ] && echo "$OUT" | grep -q '^out$' && echo "$OUT" | grep -q '^err$'; then
	pass "exec: stdout, stderr and exit code 3"
else
	fail "exec: stdout, stderr and exit code 3" "rc=$RC" "$OUT"
fi
expect_out "exec -i: stdin reaches the process and EOF ends it" "^data-in$" \
	bash -c "echo data-in | kubectl exec -i sp -- cat"
expect_out "exec -c side" "side" kubectl exec sp -c side -- sh -c 'cat /proc/1/cmdline'
expect_out "exec -it: a terminal" "tty=/dev/pts/[0-9]+" \
	bash -c "script -qec \"kubectl exec -it sp -- sh -c 'echo tty=\\\$(tty)'\" /dev/null </dev/null | tr -d '\r'"
expect_out "exec -it: the size follows the client's terminal" "size=45 123" \
	bash -c "script -qec \"stty cols 123 rows 45; kubectl exec -it sp -- sh -c 'echo size=\\\$(stty size)'\" /dev/null </dev/null | tr -d '\r'"
expect_out "exec -it: exit code" "^rc=7$" \
	bash -c "script -qec \"kubectl exec -it sp -- sh -c 'exit 7'; echo rc=\\\$?\" /dev/null </dev/null | tr -d '\r' | grep rc="
# The server raises its loop thread's priority (--loop-nice, -10 by default) and nothing it
# starts inherits it: its other threads, conmon and the containers run at nice 0.
nices() { for t in /proc/"$1"/task/*; do sed 's/.*) //' "$t/stat" | awk '{print $17}'; done | sort -n | uniq | tr '\n' ' '; }
expect_out "the server's loop thread runs at nice -10, its other threads at 0" "^-10 0 $" nices "$SERVER_PID"
expect_out "a container's processes run at nice 0" "^0$" \
	kubectl exec sp -- sh -c "sed 's/.*) //' /proc/1/stat | cut -d' ' -f17"
expect_err "exec into an unknown pod" 'pods "nope" not found' kubectl exec nope -- true

# --- cp (exec + tar) ---
head -c 300000 /dev/urandom >"$TMP/blob"
check "cp to the pod" kubectl cp "$TMP/blob" sp:/tmp/blob
expect_out "the file arrived intact" "^$(sha256sum <"$TMP/blob" | cut -c1-64)" \
	kubectl exec sp -- sh -c 'sha256sum /tmp/blob'
check "cp from the pod" kubectl cp sp:/tmp/blob "$TMP/blob.back"
check "the copy back is identical" cmp "$TMP/blob" "$TMP/blob.back"

# --- port-forward ---
kubectl run web --image="$IMAGE" --command -- sh -c \
	'mkdir -p /tmp/www; echo hello-pf >/tmp/www/index.html; head -c 3000000 /dev/urandom >/tmp/www/big; exec httpd -f -p 8080 -h /tmp/www' >/dev/null
check "the web pod is Ready" kubectl wait --for=condition=Ready pod/web --timeout=60s
BIGSUM=$(kubectl exec web -- sha256sum /tmp/www/big | cut -c1-64)

# pf_start NAME PORTSPEC [env...]: kubectl port-forward in the background; waits for it.
pf_start() {
	local name=$1 spec=$2
	shift 2
	env "$@" kubectl port-forward pod/web "$spec" >"$TMP/$name.out" 2>"$TMP/$name.err" &
	PF_PIDS+=($!)
	wait_for 15 grep -q "Forwarding from 127.0.0.1" "$TMP/$name.out"
}
# two_at_once PORT: two connections open together, answered in the opposite order.
two_at_once() {
	python3 - "$1" <<'EOP'
import socket, sys
port = int(sys.argv[1])
a = socket.create_connection(("127.0.0.1", port), timeout=10)
b = socket.create_connection(("127.0.0.1", port), timeout=10)
for s in (b, a):
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
out = []
for s in (a, b):
    data = b""
    while True:
        c = s.recv(65536)
        if not c:
            break
        data += c
    out.append("hello-pf" in data.decode(errors="replace"))
print("both" if all(out) else "missing")
EOP
}

LP=$(agent_free_port)
check "port-forward (WebSocket) listens" pf_start pf "$LP:8080"
for i in 1 2 3; do
	expect_out "port-forward: request $i through the tunnel" "^hello-pf$" curl -s --max-time 10 "http://127.0.0.1:$LP/"
done
expect_out "port-forward: two connections at once" "^both$" two_at_once "$LP"
expect_out "port-forward: a 3 MB body arrives intact" "^$BIGSUM" \
	bash -c "curl -s --max-time 30 http://127.0.0.1:$LP/big | sha256sum"
check "the WebSocket tunnel was used" grep -q "port-forward: pod .* over WebSocket" "$TMP/server.log"

LP2=$(agent_free_port)
check "port-forward to a port nothing listens on starts" pf_start pfbad "$LP2:9999"
curl -s --max-time 10 "http://127.0.0.1:$LP2/" >/dev/null 2>&1
wait_for 10 grep -q "error occurred" "$TMP/pfbad.err"
expect_out "it reports kube's dial error" \
	"an error occurred forwarding $LP2 -> 9999: error forwarding port 9999 to pod [0-9a-f-]+, uid : dial tcp [0-9.]+:9999: connect: connection refused" \
	cat "$TMP/pfbad.err"

LP3=$(agent_free_port)
check "port-forward over plain SPDY (WebSockets off) listens" pf_start pfspdy "$LP3:8080" KUBECTL_PORT_FORWARD_WEBSOCKETS=false
for i in 1 2; do
	expect_out "port-forward (SPDY): request $i" "^hello-pf$" curl -s --max-time 10 "http://127.0.0.1:$LP3/"
done
expect_out "port-forward (SPDY): two connections at once" "^both$" two_at_once "$LP3"
check "the SPDY upgrade was used" grep -q "port-forward: pod .* over SPDY" "$TMP/server.log"
expect_out "the first port-forward still works after the others" "^hello-pf$" curl -s --max-time 10 "http://127.0.0.1:$LP/"

# --- a pod on a node without an agent ---
kubectl apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Pod
metadata: {name: simpod}
spec: {nodeName: other-node, containers: [{name: c, image: x}]}
EOF
expect_err "logs of a pod on a node with no agent answer an error, not a hang" \
	"no node agent serves node" timeout 10 kubectl logs simpod
kubectl delete pod simpod --grace-period=0 --force >/dev/null 2>&1

finish
