#!/usr/bin/env bash
# test_streams.sh — the pod streams kubectl uses, end to end, as root: kubectl logs (plain,
# -c, --tail, --timestamps, --previous, -f), exec (output and exit code, stdin, -it through
# `script` for a terminal), cp both ways; all through the real kubectl 1.32 and its
# WebSocket (v5.channel.k8s.io) protocol.
# NEEDS-AGENT: until the embedded node agent runs pods, stream_driver.c serves the API with
# agent_stream_attach and the test itself plays the agent: runtime_driver runs the pod's
# containers under agent.h's naming (ID <uid>_<name>_<attempt>, log file
# <log root>/<ns>_<pod>_<uid>/<name>/<attempt>.log) and the pod status is patched to match.
# Once the agent lands, the same kubectl checks run against pods it starts.
. "$(dirname "$0")/lib.sh"

HERE=$(cd "$(dirname "$0")" && pwd)
NODE=stream-node-$$
DRV=$TMP/runtime_driver
SDRV=$TMP/stream_driver
DARGS=(--root "$TMP/containers" --run-dir "$TMP/run" --store "$TMP/images")
LOGROOT=$TMP/logs
POD_UID=

st_cleanup() {
	for b in "$TMP"/containers/*; do
		[ -d "$b" ] && "$DRV" "${DARGS[@]}" delete "$(basename "$b")" force >/dev/null 2>&1
	done
	grep -o " $TMP/[^ ]*" /proc/mounts 2>/dev/null | sort -r | while read -r m; do umount -l "$m"; done
	if [ -n "$POD_UID" ]; then
		for d in /sys/fs/cgroup/*/timon/pod"$POD_UID" /sys/fs/cgroup/timon/pod"$POD_UID"; do
			[ -d "$d" ] || continue
			for c in "$d"/*/; do [ -d "$c" ] && rmdir "$c" 2>/dev/null; done
			rmdir "$d" 2>/dev/null
		done
		rmdir /sys/fs/cgroup/*/timon /sys/fs/cgroup/timon 2>/dev/null
	fi
	cleanup
}
trap st_cleanup EXIT

finish_early() {
	echo "$PASSED passed, $FAILED failed"
	exit "$1"
}
if [ "$(id -u)" -ne 0 ]; then
	echo "cannot run: the streams test needs root (containers)"
	FAILED=1
	finish_early 1
fi
for tool in runc conmon python3 cc pkg-config kubectl script; do
	command -v "$tool" >/dev/null || { fail "tool $tool is installed"; finish_early 1; }
done

LIBS=$(pkg-config --libs jansson openssl libcurl libarchive yaml-0.1 sqlite3 libuv libnftables zlib)
SANFLAGS=
case "$BUILD" in *asan*) SANFLAGS="-fsanitize=address,undefined" ;; esac
for d in runtime_driver stream_driver; do
	if ! cc $SANFLAGS -std=c17 -D_GNU_SOURCE -O1 -g -Wall -Wextra -Wno-unused-parameter -I"$ROOT/src" \
		$(pkg-config --cflags jansson) -o "$TMP/$d" "$HERE/$d.c" -Wl,--whole-archive "$ROOT/$BUILD/libtimon.a" \
		-Wl,--no-whole-archive $LIBS -lhttp_parser -lpthread -lm >"$TMP/cc.log" 2>&1; then
		fail "$d builds" "$(tail -5 "$TMP/cc.log")"
		finish_early 1
	fi
done
pass "drivers build"
D() { "$DRV" "${DARGS[@]}" "$@"; }

check "test image builds" python3 "$HERE/mkimage.py" --layout "$TMP/layout" --tag 1 \
	--oci-archive "$TMP/oci.tar"
expect_out "timon images import" "imported" "$TIMON" images --root "$TMP/images" import \
	--name test/rt "$TMP/oci.tar"

# The API server with the pod streams of node $NODE (NEEDS-AGENT: then `timon server`).
mkdir -p "$TMP/data"
"$SDRV" "$TMP/data" "$TMP/containers" "$TMP/run" "$LOGROOT" "$NODE" >"$TMP/port" 2>>"$TMP/server.log" &
SERVER_PID=$!
for _ in $(seq 1 100); do
	[ -f "$KUBECONFIG" ] && kubectl get --raw /readyz >/dev/null 2>&1 && break
	sleep 0.1
done
check "the API server with the streams hook is ready" kubectl get --raw /readyz

# A pod bound to the node: two containers, main the default one.
kubectl apply -f - >/dev/null <<EOF2
apiVersion: v1
kind: Pod
metadata:
  name: sp
  annotations: {kubectl.kubernetes.io/default-container: main}
spec:
  nodeName: $NODE
  securityContext: {runAsUser: 0}
  containers:
  - name: main
    image: test/rt:1
    command: ["/bin/sh", "-c", "echo line-1; echo line-2; echo to-stderr >&2; /bin/busybox sleep 0.3; echo line-3; while :; do /bin/busybox sleep 1; done"]
  - name: side
    image: test/rt:1
    command: ["/bin/sh", "-c", "echo side-hello; while :; do /bin/busybox sleep 1; done"]
EOF2
POD_UID=$(kubectl get pod sp -o jsonpath='{.metadata.uid}')
check "pod created with a UID" test -n "$POD_UID"
kubectl get pod sp -o json >"$TMP/pod.json"
PLOG=$LOGROOT/default_sp_$POD_UID
# NEEDS-AGENT: the agent runs these. main's attempt 0 ran before a restart (its log is
# written here in CRI format), attempt 1 runs now; side runs its first attempt.
mkdir -p "$PLOG/main"
printf '2024-01-01T00:00:00.000000000Z stdout F previous-run\n' >"$PLOG/main/0.log"
expect_out "main (attempt 1) runs" "^started" D run "${POD_UID}_main_1" test/rt:1 "$TMP/pod.json" main "$PLOG/main/1.log"
expect_out "side (attempt 0) runs" "^started" D run "${POD_UID}_side_0" test/rt:1 "$TMP/pod.json" side "$PLOG/side/0.log"
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
cs() { echo "{\"name\":\"$1\",\"restartCount\":$2,\"ready\":true,\"started\":true,\"image\":\"test/rt:1\",\"imageID\":\"\",\"state\":{\"running\":{\"startedAt\":\"$NOW\"}}}"; }
check "pod status written" kubectl patch pod sp --subresource=status --type=merge \
	-p "{\"status\":{\"phase\":\"Running\",\"containerStatuses\":[$(cs main 1),$(cs side 0)]}}"
for _ in $(seq 1 50); do grep -q line-3 "$PLOG/main/1.log" 2>/dev/null && break; sleep 0.1; done

if [ -n "${STREAMS_DEBUG:-}" ]; then echo "KUBECONFIG=$KUBECONFIG"; sleep "$STREAMS_DEBUG"; fi
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
( sleep 1.5; D exec "${POD_UID}_main_1" -- /bin/sh -c 'echo followed-line >/proc/1/fd/1' >/dev/null 2>&1 ) &
expect_out "logs -f streams a line written later" "followed-line" \
	bash -c "timeout 5 kubectl logs -f sp; true"

# --- exec ---
# The test image has busybox and a few links; its applets become commands (kubectl cp
# needs tar in PATH).
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
expect_err "exec into an unknown pod" 'pods "nope" not found' kubectl exec nope -- true

# --- cp (exec + tar) ---
head -c 300000 /dev/urandom >"$TMP/blob"
check "cp to the pod" kubectl cp "$TMP/blob" sp:/tmp/blob
expect_out "the file arrived intact" "^$(sha256sum <"$TMP/blob" | cut -c1-64)" \
	kubectl exec sp -- sh -c 'sha256sum /tmp/blob'
check "cp from the pod" kubectl cp sp:/tmp/blob "$TMP/blob.back"
check "the copy back is identical" cmp "$TMP/blob" "$TMP/blob.back"

# --- port-forward: not served yet; it must fail at once, not hang ---
expect_err "port-forward answers an error (not built yet)" "not supported" \
	timeout 10 kubectl port-forward sp 18080:8080

# --- a pod on a node without an agent ---
kubectl apply -f - >/dev/null <<EOF2
apiVersion: v1
kind: Pod
metadata: {name: simpod}
spec: {nodeName: other-node, containers: [{name: c, image: x}]}
EOF2
expect_err "logs of a pod on a node with no agent answer an error, not a hang" \
	"no node agent serves node" timeout 10 kubectl logs simpod

finish
