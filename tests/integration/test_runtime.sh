#!/usr/bin/env bash
# test_runtime.sh — the container runtime driver end to end, as root, with real runc and
# conmon and no timon server: the busybox test image from mkimage.py is imported with
# `timon images import`, and runtime_driver.c (built here against libtimon.a; every call
# is a fresh driver instance) runs containers from it: exit code and CRI log lines of a
# container that exits 3, a long-running one found again by a fresh instance, exec into
# it, stop within the grace period (and SIGKILL after it), the pod's network namespace
# joined, securityContext enforced, logs followed, and a memory limit that OOM-kills
# (skipped, with the reason, when this machine has no memory cgroup). Everything lives
# under $TMP; cleanup deletes the containers, netns and pod cgroups it created, by name.
. "$(dirname "$0")/lib.sh"

HERE=$(cd "$(dirname "$0")" && pwd)
RUN=rt$$-                 # container ID prefix of this run
UID_POD=rt-test-$$        # pod UID: its cgroup is /timon/pod$UID_POD
NETNS=timon-rt-$$
DRV=$TMP/runtime_driver
DARGS=(--root "$TMP/containers" --run-dir "$TMP/run" --store "$TMP/images")

rt_cleanup() {
	# Every container this run made has its bundle under $TMP/containers.
	for b in "$TMP"/containers/"$RUN"*; do
		[ -d "$b" ] && "$DRV" "${DARGS[@]}" delete "$(basename "$b")" force >/dev/null 2>&1
	done
	# Anything still mounted under $TMP (a failed delete): unmount before rm -rf.
	grep -o " $TMP/[^ ]*" /proc/mounts 2>/dev/null | sort -r | while read -r m; do umount -l "$m"; done
	ip netns del "$NETNS" 2>/dev/null
	for d in /sys/fs/cgroup/*/timon/pod"$UID_POD" /sys/fs/cgroup/timon/pod"$UID_POD"; do
		[ -d "$d" ] || continue
		for c in "$d"/"$RUN"*; do
			[ -d "$c" ] && rmdir "$c" 2>/dev/null
		done
		rmdir "$d" 2>/dev/null
	done
	rmdir /sys/fs/cgroup/*/timon /sys/fs/cgroup/timon 2>/dev/null # only when empty
	cleanup
}
trap rt_cleanup EXIT

finish_early() {
	echo "$PASSED passed, $FAILED failed"
	exit "$1"
}

if [ "$(id -u)" -ne 0 ]; then
	echo "cannot run: the runtime test needs root (containers, mounts, cgroups)"
	FAILED=1
	finish_early 1
fi
for tool in runc conmon python3 cc pkg-config; do
	if ! command -v "$tool" >/dev/null; then
		fail "tool $tool is installed (scripts/install-deps)"
		finish_early 1
	fi
done

# The driver, against the library the build made.
LIBS=$(pkg-config --libs jansson openssl libcurl libarchive yaml-0.1 sqlite3 libuv)
# The sanitizer build's library needs the sanitizer runtimes linked into the driver too.
SANFLAGS=
case "$BUILD" in *asan*) SANFLAGS="-fsanitize=address,undefined" ;; esac
if ! cc $SANFLAGS -std=c17 -D_GNU_SOURCE -O1 -g -Wall -Wextra -Wno-unused-parameter -I"$ROOT/src" \
	$(pkg-config --cflags jansson) -o "$DRV" "$HERE/runtime_driver.c" "$ROOT/$BUILD/libtimon.a" \
	$LIBS -lhttp_parser -lpthread -lm >"$TMP/cc.log" 2>&1; then
	fail "runtime_driver builds" "$(tail -5 "$TMP/cc.log")"
	finish_early 1
fi
pass "runtime_driver builds"
D() { "$DRV" "${DARGS[@]}" "$@"; }

# jget FIELD: a field of the JSON object on stdin.
jget() { python3 -c 'import json,sys; v=json.load(sys.stdin)[sys.argv[1]]; print(str(v).lower() if isinstance(v,bool) else v)' "$1"; }
# wait_state ID STATE: up to 20 s.
wait_state() {
	for _ in $(seq 1 200); do
		[ "$(D status "$1" 2>/dev/null | jget state)" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}
# run_ctr ID CONTAINER [NETNS]: runs a container of the test pod.
run_ctr() {
	D run "$1" test/rt:1 "$TMP/pod.json" "$2" "$TMP/logs/$1.log" ${3:+"$3"}
}

check "test image builds" python3 "$HERE/mkimage.py" --layout "$TMP/layout" --tag 1 \
	--oci-archive "$TMP/oci.tar"
expect_out "timon images import" "imported" "$TIMON" images --root "$TMP/images" import \
	--name test/rt "$TMP/oci.tar"

cat >"$TMP/pod.json" <<EOF
{"apiVersion":"v1","kind":"Pod","metadata":{"name":"rt","namespace":"default","uid":"$UID_POD"},
 "spec":{"containers":[
  {"name":"exit3","command":["/bin/sh","-c","echo out-line; echo err-line >&2; exit 3"]},
  {"name":"sleeper","command":["/bin/sh","-c",
    "trap 'echo got-term; exit 0' TERM; echo ready; while :; do /bin/busybox sleep 1 & wait \$!; done"]},
  {"name":"stubborn","command":["/bin/sh","-c","trap '' TERM; echo ready; while :; do /bin/busybox sleep 1; done"]},
  {"name":"ticker","command":["/bin/sh","-c",
    "i=0; while [ \$i -lt 300 ]; do echo tick \$i; i=\$((i+1)); /bin/busybox sleep 0.1; done"]},
  {"name":"secure","command":["/bin/busybox","sleep","60"],
   "securityContext":{"runAsUser":1234,"runAsGroup":2345,"readOnlyRootFilesystem":true,
     "allowPrivilegeEscalation":false,"capabilities":{"drop":["ALL"]},
     "seccompProfile":{"type":"RuntimeDefault"}}},
  {"name":"nope","command":["/nope"]},
  {"name":"hog","command":["/bin/sh","-c","echo start; x=0123456789abcdef; while :; do x=\$x\$x; done"],
   "resources":{"limits":{"memory":"32Mi"}}}
 ]}}
EOF

# --- a container that writes to stdout and stderr and exits 3 ---
A=${RUN}exit3
expect_out "run: create and start through conmon" "^started $A" run_ctr "$A" exit3
check "it exits" wait_state "$A" exited
ST=$(D status "$A")
expect_out "the exit code is read back (3)" "^3$" jget exitCode <<<"$ST"
expect_out "the terminated reason is Error" "^Error$" jget reason <<<"$ST"
check "finish time is recorded after the start" python3 -c '
import json,sys; s=json.loads(sys.argv[1]); assert s["finishedNs"] > 0 and s["startedNs"] > 0 and s["finishedNs"] >= s["createdNs"], s' "$ST"
CRI='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(Z|[+-][0-9]{2}:[0-9]{2}) '
expect_out "CRI log line on stdout" "${CRI}stdout F out-line$" cat "$TMP/logs/$A.log"
expect_out "CRI log line on stderr" "${CRI}stderr F err-line$" cat "$TMP/logs/$A.log"
expect_out "the log reader gives both lines in order" "^out-line,err-line,$" \
	bash -c "'$DRV' logs '$TMP/logs/$A.log' 2>/dev/null | tr '\n' ','"
expect_out "logs tail 1" "^err-line$" bash -c "'$DRV' logs '$TMP/logs/$A.log' tail 1 2>/dev/null"
expect_out "logs of stdout only, with timestamps" \
	"^[0-9-]+T[0-9:]+\.[0-9]{9}Z out-line$" bash -c "'$DRV' logs '$TMP/logs/$A.log' stdout timestamps 2>/dev/null"
expect_err "exec into an exited container is refused" "not running.*409" D exec "$A" -- /bin/echo hi

# --- a long-running container, re-adopted, exec'd into, stopped within its grace period ---
B=${RUN}sleeper
expect_out "run a long-running container" "^started $B" run_ctr "$B" sleeper
check "it runs" wait_state "$B" running
PID=$(D status "$B" | jget pid)
check "its init process lives after the driver that started it exited" kill -0 "$PID"
expect_out "a fresh driver instance lists it as running (re-adoption)" \
	"\"id\":\"$B\",\"state\":\"running\",\"pid\":$PID" D list "$RUN"
expect_out "the pod's annotations come back" '"io.kubernetes.container.name":"sleeper"' D status "$B"
CONMON=$(cat "$TMP/containers/$B/conmon.pid" 2>/dev/null)
expect_out "conmon is detached (not the driver's child)" "^1$" \
	bash -c "ps -o ppid= -p '$CONMON' | tr -d ' '"
expect_out "exec echo hi" "^hi$" D exec "$B" -- /bin/echo hi
expect_out "exec runs as the image's user" "^1000$" D exec "$B" -- /bin/busybox id -u
expect_out "exec feeds stdin" "^from-stdin$" D exec "$B" --stdin from-stdin -- /bin/busybox cat
check_exit() { # NAME WANT CMD...
	local name=$1 want=$2
	shift 2
	"$@" >/dev/null 2>&1
	local rc=$?
	if [ "$rc" -eq "$want" ]; then pass "$name"; else fail "$name" "exit $rc, wanted $want"; fi
}
check_exit "exec reports the exit code" 7 D exec "$B" -- /bin/sh -c 'exit 7'
T0=$(date +%s%N)
check_exit "exec with a timeout kills the process (137)" 137 D exec "$B" --timeout 1 -- /bin/busybox sleep 30
T1=$(date +%s%N)
check "the exec timeout held (under 5 s)" test $(((T1 - T0) / 1000000)) -lt 5000
expect_err "delete of a running container without force is refused" "409" D delete "$B"
T0=$(date +%s%N)
check "stop with a 10 s grace period" D stop "$B" 10
T1=$(date +%s%N)
check "it stopped on SIGTERM, well within the grace period" test $(((T1 - T0) / 1000000)) -lt 5000
ST=$(D status "$B")
expect_out "SIGTERM handled: exit code 0" "^0$" jget exitCode <<<"$ST"
expect_out "reason Completed" "^Completed$" jget reason <<<"$ST"
expect_out "its TERM trap logged" "stdout F got-term$" cat "$TMP/logs/$B.log"
check "stop of a stopped container is fine" D stop "$B" 1

# --- SIGKILL after the grace period ---
C=${RUN}stubborn
expect_out "run a container that ignores SIGTERM" "^started $C" run_ctr "$C" stubborn
check "it runs" wait_state "$C" running
T0=$(date +%s%N)
check "stop with a 2 s grace period" D stop "$C" 2
T1=$(date +%s%N)
MS=$(((T1 - T0) / 1000000))
check "SIGKILL came after the grace period (2-8 s, took ${MS} ms)" test "$MS" -ge 1900 -a "$MS" -lt 8000
expect_out "killed: exit code 137" '"exitCode":137' D status "$C"

# --- following a growing log ---
E=${RUN}ticker
expect_out "run a container that keeps logging" "^started $E" run_ctr "$E" ticker
check "it runs" wait_state "$E" running
sleep 0.5
D logs "$TMP/logs/$E.log" >"$TMP/first.txt" 2>"$TMP/first.err"
OFF=$(sed -n 's/^next-offset //p' "$TMP/first.err")
check "the first read ends on a line boundary" python3 -c '
import sys; off=int(sys.argv[1]); d=open(sys.argv[2],"rb").read(); assert off > 0 and d[off-1:off] == b"\n", off' "$OFF" "$TMP/logs/$E.log"
check "wait-log wakes when the file grows" D wait-log "$TMP/logs/$E.log" "$OFF" 5000
D logs "$TMP/logs/$E.log" offset "$OFF" >"$TMP/second.txt" 2>/dev/null
check "reading on from the offset gives the next lines, none twice" python3 -c '
import sys
a=open(sys.argv[1]).read().split(); b=open(sys.argv[2]).read().split()
n1=[int(x) for x in a if x.isdigit()]; n2=[int(x) for x in b if x.isdigit()]
assert n1 and n2 and n2[0] == n1[-1] + 1, (n1[-3:], n2[:3])' "$TMP/first.txt" "$TMP/second.txt"
check "kill SIGKILL" D kill "$E" 9
check "it exits after the kill" wait_state "$E" exited
expect_out "killed by SIGKILL: 137" '"exitCode":137' D status "$E"

# --- the pod's network namespace and the security context ---
S=${RUN}secure
if command -v ip >/dev/null && ip netns add "$NETNS" 2>/dev/null; then
	INO=$(stat -L -c %i "/run/netns/$NETNS")
	expect_out "run a container in the pod's network namespace" "^started $S" \
		run_ctr "$S" secure "/run/netns/$NETNS"
	expect_out "it joined that namespace" "^net:\[$INO\]$" D exec "$S" -- /bin/busybox readlink /proc/self/ns/net
else
	echo "note: no 'ip netns' here; the container gets a new network namespace instead"
	expect_out "run a container with a security context" "^started $S" run_ctr "$S" secure
fi
expect_out "runAsUser and runAsGroup" "^uid=1234 gid=2345" D exec "$S" -- /bin/busybox id
expect_err "readOnlyRootFilesystem" "Read-only file system" D exec "$S" -- /bin/busybox touch /x
expect_out "capabilities drop ALL" "CapEff:.0000000000000000" D exec "$S" -- /bin/busybox grep CapEff /proc/self/status
expect_out "allowPrivilegeEscalation: false sets no_new_privs" "NoNewPrivs:.1" \
	D exec "$S" -- /bin/busybox grep NoNewPrivs /proc/self/status
expect_out "seccomp RuntimeDefault filters" "Seccomp:.2" D exec "$S" -- /bin/busybox grep Seccomp: /proc/self/status
expect_out "the hostname is the pod's" "^rt$" D exec "$S" -- /bin/busybox hostname
check "stop it" D stop "$S" 5

# --- a memory limit: OOMKilled ---
MEMCG=
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
	grep -qw memory /sys/fs/cgroup/cgroup.controllers && MEMCG=v2
elif [ -f /sys/fs/cgroup/memory/memory.limit_in_bytes ]; then
	MEMCG=v1
fi
H=${RUN}hog
if [ -z "$MEMCG" ]; then
	echo "skip: OOM check: this machine has no memory cgroup controller (v1 or v2)"
else
	expect_out "run a container over its 32Mi memory limit (cgroup $MEMCG)" "^started $H" run_ctr "$H" hog
	check "it exits" wait_state "$H" exited
	ST=$(D status "$H")
	expect_out "it was OOMKilled" "^true$" jget oomKilled <<<"$ST"
	expect_out "reason OOMKilled" "^OOMKilled$" jget reason <<<"$ST"
	expect_out "exit code 137" "^137$" jget exitCode <<<"$ST"
fi

# --- failures to create carry the runtime's message ---
N=${RUN}nope
expect_err "a missing executable fails create with the runtime's message" \
	"create failed: .*/nope.*no such file or directory \(500 CreateContainerError\)" run_ctr "$N" nope
expect_out "the failed container reads as unknown" '"state":"unknown"' D status "$N"
N2=${RUN}nonet
expect_err "a missing network namespace fails create" "create failed: .*does-not-exist" \
	run_ctr "$N2" exit3 /run/netns/does-not-exist-$$

# --- delete: nothing left behind ---
for b in "$TMP"/containers/"$RUN"*; do
	check "delete $(basename "$b")" D delete "$(basename "$b")" force
done
check "runc removed the containers' cgroups" bash -c \
	"! ls -d /sys/fs/cgroup/*/timon/pod$UID_POD/$RUN* /sys/fs/cgroup/timon/pod$UID_POD/$RUN* 2>/dev/null | grep -q ."
check "the pod's cgroup is removed" D cgroup-rm "/timon/pod$UID_POD"
check "from every hierarchy" bash -c \
	"! ls -d /sys/fs/cgroup/*/timon/pod$UID_POD /sys/fs/cgroup/timon/pod$UID_POD 2>/dev/null | grep -q ."
expect_err "a deleted container is gone" "404" D status "$A"
expect_out "nothing listed" "^$" D list "$RUN"
check "no rootfs mounts left" bash -c "! grep -q ' $TMP/containers' /proc/mounts"
check "no bundles left" bash -c "[ -z \"\$(ls '$TMP/containers')\" ]"
check "runc knows none of them" bash -c "! runc --root '$TMP/run/runc' list -q | grep -q '^$RUN'"
check "no conmon of this run is left" bash -c "! pgrep -f 'conmon --sync -c [${RUN:0:1}]${RUN:1}' >/dev/null"
check "the image's layers are intact" test -x "$(ls -d "$TMP"/images/layers/*/bin/busybox | head -1)"

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
