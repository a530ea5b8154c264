# lib.sh — shared helpers for integration tests written in bash: start a timon server on a
# free port in a temporary data dir, run checks, print "N passed, N failed", and clean up
# only what the test started. Source it; call `start_server`, then `check`/`expect_*`.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-build}
TIMON=${TIMON:-$ROOT/$BUILD/timon}
PASSED=0
FAILED=0
SERVER_PID=
TMP=$(mktemp -d /tmp/timon-it.XXXXXX)
export KUBECONFIG=$TMP/data/kubeconfig.yaml

cleanup() {
	if [ -n "$SERVER_PID" ]; then
		kill "$SERVER_PID" 2>/dev/null
		wait "$SERVER_PID" 2>/dev/null
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT

# start_server [extra flags...]: starts timon and waits until /readyz answers.
start_server() {
	"$TIMON" server --data-dir "$TMP/data" --https-port 0 --disable-agent "$@" \
		>>"$TMP/server.log" 2>&1 &
	SERVER_PID=$!
	for _ in $(seq 1 100); do
		if [ -f "$KUBECONFIG" ] && kubectl get --raw /readyz >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	echo "server did not become ready:"
	tail -n 30 "$TMP/server.log"
	return 1
}

# stop_server [signal]: stops the server (default TERM) and waits for it.
stop_server() {
	kill "-${1:-TERM}" "$SERVER_PID" 2>/dev/null
	wait "$SERVER_PID" 2>/dev/null
	SERVER_PID=
}

pass() { echo "ok   $1"; PASSED=$((PASSED + 1)); }
fail() { echo "FAIL $1"; shift; for l in "$@"; do echo "  $l"; done; FAILED=$((FAILED + 1)); }

# diagnose CMD...: for a failed `kubectl wait ... pod/NAME`, one line on what the pod was
# (phase, node, container states) and its last events, so a failure seen only in a CI
# summary says where the pod stopped.
diagnose() {
	[ "${1:-}" = kubectl ] && [ "${2:-}" = wait ] || return 0
	local a pod= ns=() prev=
	for a in "$@"; do
		case $a in pod/*) pod=${a#pod/} ;; --namespace=*) ns=(-n "${a#*=}") ;; esac
		case $prev in -n | --namespace) ns=(-n "$a") ;; esac
		prev=$a
	done
	[ -n "$pod" ] || return 0
	echo "pod $pod: $(kubectl get "${ns[@]}" pod "$pod" -o jsonpath='phase={.status.phase} node={.spec.nodeName} containers={range .status.containerStatuses[*]}{.name}:{.state}{end}' 2>&1 | cut -c1-400)"
	kubectl get "${ns[@]}" events --field-selector "involvedObject.name=$pod" --sort-by=.lastTimestamp \
		-o jsonpath='{range .items[*]}event {.reason}: {.message}{"\n"}{end}' 2>&1 | tail -n 6 | cut -c1-300
}

# check NAME CMD...: passes when CMD exits 0.
check() {
	local name=$1
	shift
	local out
	if out=$("$@" 2>&1); then
		pass "$name"
	else
		fail "$name" "command: $*" "$(echo "$out" | tail -n 8)"
		diagnose "$@" | sed 's/^/  /'
	fi
}

# check_fails NAME CMD...: passes when CMD exits non-zero.
check_fails() {
	local name=$1
	shift
	local out
	if out=$("$@" 2>&1); then fail "$name" "expected failure: $*" "$out"; else pass "$name"; fi
}

# expect_out NAME PATTERN CMD...: passes when CMD exits 0 and its output matches the ERE.
expect_out() {
	local name=$1 pat=$2
	shift 2
	local out rc
	out=$("$@" 2>&1)
	rc=$?
	if [ $rc -eq 0 ] && echo "$out" | grep -Eq -- "$pat"; then
		pass "$name"
	else
		fail "$name" "command: $*" "exit: $rc, wanted /$pat/" "$(echo "$out" | tail -n 12)"
	fi
}

# expect_err NAME PATTERN CMD...: passes when CMD fails and its output matches the ERE.
expect_err() {
	local name=$1 pat=$2
	shift 2
	local out rc
	out=$("$@" 2>&1)
	rc=$?
	if [ $rc -ne 0 ] && echo "$out" | grep -Eq -- "$pat"; then
		pass "$name"
	else
		fail "$name" "command: $*" "exit: $rc, wanted failure matching /$pat/" "$(echo "$out" | tail -n 12)"
	fi
}

finish() {
	# A sanitizer report from the server (ASan/UBSan builds) fails the suite.
	stop_server
	if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$TMP/server.log" 2>/dev/null; then
		fail "server ran clean under the sanitizers" "$(grep -A12 -E 'ERROR: |runtime error:' "$TMP/server.log" | head -n 30)"
	fi
	if [ "$FAILED" -ne 0 ]; then
		# Indented: the suite summary (tests/run-all) carries indented lines.
		echo "  --- server log (tail) ---"
		tail -n 40 "$TMP/server.log" 2>/dev/null | cut -c1-300 | sed 's/^/  | /'
	fi
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
}
