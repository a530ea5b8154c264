#!/usr/bin/env bash
# test_cni.sh — pod networking with the real CNI plugins (Debian's containernetworking-
# plugins in /usr/lib/cni): runs the live_* tests of the test_cni binary, which drive
# src/agent/cni*.c (cni_setup/cni_check/cni_teardown) inside a child that has its own
# network and mount namespaces standing in for the node. There two pods get distinct
# addresses from 10.42.0.0/24 and talk over TCP both ways, the node reaches a pod, a
# hostPort answers on the node's address, on 127.0.0.1 and from the other pod, CHECK
# re-adopts a pod after a simulated restart and fails on a broken one, teardown releases
# the address (a full /30 range is reused) and removes the masquerade and hostPort rules
# (also when the pod's eth0 or whole namespace vanished first), and a failed ADD leaves
# nothing. Then this script checks that the host itself was left as it was: no timon0 or
# veth, no CNI rules, no mounts, ip_forward unchanged. Needs root, ip and iptables-save;
# fails otherwise (install-deps provides them; make test runs as root).
. "$(dirname "$0")/lib.sh"

BIN=$ROOT/$BUILD/tests/test_cni
for tool in ip iptables-save; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "cannot run: $tool not found (scripts/install-deps)"
		echo "0 passed, 1 failed"
		exit 1
	fi
done
for p in bridge host-local portmap loopback; do
	if [ ! -x "/usr/lib/cni/$p" ]; then
		echo "cannot run: /usr/lib/cni/$p not found (containernetworking-plugins)"
		echo "0 passed, 1 failed"
		exit 1
	fi
done
if [ "$(id -u)" -ne 0 ]; then
	echo "cannot run: needs root for network namespaces"
	echo "0 passed, 1 failed"
	exit 1
fi
if [ ! -x "$BIN" ]; then
	fail "test binary $BIN exists (make)"
	echo "$PASSED passed, $FAILED failed"
	exit 1
fi

# What the host would show if the test leaked: our bridge, veths, CNI chains or rules,
# mounts of the test's folders, a changed ip_forward.
host_state() {
	echo "links: $(ip -o link show | awk -F': ' '{print $2}' | grep -E '^(timon0|veth|timonstub)' | sort | tr '\n' ' ')"
	echo "nat: $(iptables-save -t nat 2>/dev/null | grep -E 'CNI-|sandbox-' | sort | tr '\n' ' ')"
	echo "filter: $(iptables-save -t filter 2>/dev/null | grep -E 'CNI-|sandbox-' | sort | tr '\n' ' ')"
	echo "mounts: $(grep -c 'timon-test-cni' /proc/self/mountinfo)"
	echo "ip_forward: $(cat /proc/sys/net/ipv4/ip_forward)"
	echo "route_localnet: $(cat /proc/sys/net/ipv4/conf/all/route_localnet)"
}
tmp_dirs() { ls -d /tmp/timon-test-cni* 2>/dev/null | sort; }

before=$(host_state)
dirs_before=$(tmp_dirs)

out=$(TIMON_CNI_LIVE=1 timeout 300 "$BIN" live 2>&1)
rc=$?
while IFS= read -r line; do
	case $line in
	"ok   "*) pass "${line#ok   }" ;;
	"FAIL "*) fail "${line#FAIL }" "$(echo "$out" | grep -E '^  ' | head -n 20)" ;;
	esac
done <<<"$out"
if [ $rc -ne 0 ] || ! echo "$out" | grep -qE '^[1-9][0-9]* passed, 0 failed'; then
	fail "live CNI tests ran (exit $rc)" "$(echo "$out" | tail -n 20)"
fi
if echo "$out" | grep -q 'skipped'; then
	fail "live CNI tests were not skipped" "$(echo "$out" | grep skipped)"
fi
echo "$out" | grep -E '^    ' # what the tests noted: addresses, expected errors

after=$(host_state)
if [ "$before" = "$after" ]; then
	pass "the host's links, rules, mounts and sysctls are as they were"
else
	fail "the host's links, rules, mounts and sysctls are as they were" \
		"$(diff <(echo "$before") <(echo "$after"))"
fi
if [ "$(tmp_dirs)" = "$dirs_before" ]; then
	pass "no temporary folders left"
else
	fail "no temporary folders left" "$(diff <(echo "$dirs_before") <(tmp_dirs))"
fi
finish
