#!/usr/bin/env bash
# test_metrics.sh — the resource metrics API through the real kubectl (v1.32): a container
# cgroup made by hand at the agent's path (/timon/pod<uid>/<uid>_c_0) with a busy process
# in it, a Pod object with that UID bound to the node the server measures
# (TIMON_METRICS_NODE, the hook for runs without the agent), and then `kubectl top pod`,
# `top pod -A`, `top pod --containers`, `top node`, discovery, label selectors and the
# Prometheus text at /api/v1/nodes/<node>/proxy/metrics/resource. Needs root and a
# writable cgroup file system (v1 or v2). Removes only the cgroups it made.
. "$(dirname "$0")/lib.sh"

NODE=metrics-node-$$
export TIMON_METRICS_NODE=$NODE
start_server || { echo "0 passed, 1 failed"; exit 1; }
W=$TMP/work
mkdir -p "$W"
CGDIRS=()
BUSY_PID=

wait_for() {
	local name=$1 t=$2
	shift 2
	local end=$((SECONDS + t)) out
	while :; do
		if out=$("$@" 2>&1); then pass "$name"; return 0; fi
		if [ $SECONDS -ge $end ]; then fail "$name" "command: $*" "$(echo "$out" | tail -n 8)"; return 1; fi
		sleep 0.5
	done
}
# out_matches ERE CMD...: CMD succeeds and prints a line matching ERE.
out_matches() {
	local pat=$1 out
	shift
	out=$("$@" 2>&1) || { echo "$out"; return 1; }
	echo "$out" | grep -Eq -- "$pat" || { echo "$out"; return 1; }
}

metrics_cleanup() {
	[ -n "$BUSY_PID" ] && kill "$BUSY_PID" 2>/dev/null && wait "$BUSY_PID" 2>/dev/null
	local d i try
	# children before parents; a cgroup empties a moment after its last process exits
	for ((i = ${#CGDIRS[@]} - 1; i >= 0; i--)); do
		d=${CGDIRS[$i]}
		for try in 1 2 3 4 5 6 7 8 9 10; do
			[ -d "$d" ] || break
			rmdir "$d" 2>/dev/null && break
			sleep 0.2
		done
	done
	cleanup
}
trap metrics_cleanup EXIT

kubectl apply -f - >/dev/null <<EOF2
{"apiVersion":"v1","kind":"Node","metadata":{"name":"$NODE","labels":{"tier":"metrics"}}}
EOF2
kubectl apply -f - >/dev/null <<EOF2
{"apiVersion":"v1","kind":"Pod","metadata":{"name":"busy","namespace":"default","labels":{"app":"busy"}},
 "spec":{"nodeName":"$NODE","containers":[{"name":"c","image":"busybox"}]}}
EOF2
UID_=$(kubectl get pod busy -o jsonpath='{.metadata.uid}')
check "pod created" test -n "$UID_"

# The container's cgroup where runc puts it (agent.h), in each hierarchy we read.
REL=timon/pod$UID_/${UID_}_c_0
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
	ROOTS=(/sys/fs/cgroup)
	echo "+cpu +memory" >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null
else
	ROOTS=()
	for h in cpu cpuacct cpu,cpuacct memory; do
		[ -d /sys/fs/cgroup/$h ] && [ ! -L /sys/fs/cgroup/$h ] && ROOTS+=(/sys/fs/cgroup/$h)
	done
fi
for r in "${ROOTS[@]}"; do
	[ -d "$r/timon" ] || { mkdir "$r/timon" && CGDIRS+=("$r/timon"); }
	mkdir "$r/timon/pod$UID_" && CGDIRS+=("$r/timon/pod$UID_")
	if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
		echo "+cpu +memory" >"$r/timon/cgroup.subtree_control" 2>/dev/null
		echo "+cpu +memory" >"$r/timon/pod$UID_/cgroup.subtree_control" 2>/dev/null
	fi
	mkdir "$r/$REL" && CGDIRS+=("$r/$REL")
done
check "cgroups made" test -d "${ROOTS[0]}/$REL"

# A bounded busy process inside: it joins every hierarchy, holds some memory, spins.
procs=""
for r in "${ROOTS[@]}"; do procs="$procs $r/$REL/cgroup.procs"; done
sh -c 'for p in '"$procs"'; do echo $$ >"$p"; done
	exec timeout 20 sh -c "x=\$(head -c 4000000 /dev/zero | tr \"\\\\0\" a); while :; do :; done"' &
BUSY_PID=$!

# CPU in millicores and memory, both non-zero.
NONZERO='busy +[1-9][0-9]*m +[1-9][0-9]*Mi'
wait_for "kubectl top pod shows CPU and memory" 15 out_matches "$NONZERO" kubectl top pod
expect_out "kubectl top pod -A" "default +busy +[1-9][0-9]*m +[1-9][0-9]*Mi" kubectl top pod -A
expect_out "kubectl top pod --containers" "busy +c +[1-9][0-9]*m +[1-9][0-9]*Mi" kubectl top pod --containers
expect_out "kubectl top pod with a label selector" "$NONZERO" kubectl top pod -l app=busy
expect_out "a selector that matches nothing" "No resources found" kubectl top pod -l app=other
# The node object has no allocatable (no agent), so kubectl prints no percentages.
expect_out "kubectl top node" "^$NODE +[1-9][0-9]*m +([0-9]+% +)?[1-9][0-9]*Mi" kubectl top node
expect_out "api-resources lists the metrics group" "^pods +metrics.k8s.io/v1beta1 +true +PodMetrics" \
	kubectl api-resources --api-group=metrics.k8s.io
expect_out "api-resources lists node metrics" "^nodes +metrics.k8s.io/v1beta1 +false +NodeMetrics" \
	kubectl api-resources --api-group=metrics.k8s.io
expect_out "GET one PodMetrics" '"kind":"PodMetrics".*"containers":\[\{"name":"c","usage":\{"cpu":"[0-9]+n","memory":"[0-9]+(Ki|Mi)?"' \
	kubectl get --raw /apis/metrics.k8s.io/v1beta1/namespaces/default/pods/busy
expect_out "PodMetrics carries the window" '"window":"[0-9.]+s"' \
	kubectl get --raw /apis/metrics.k8s.io/v1beta1/namespaces/default/pods/busy
expect_err "GET of a pod without metrics is NotFound" "NotFound|not found" \
	kubectl get --raw /apis/metrics.k8s.io/v1beta1/namespaces/kube-system/pods/nope
expect_out "NodeMetrics list with the node's label" "\"name\":\"$NODE\"" \
	kubectl get --raw "/apis/metrics.k8s.io/v1beta1/nodes?labelSelector=tier%3Dmetrics"
expect_out "NodeMetrics list without a match" '"items":\[\]' \
	kubectl get --raw "/apis/metrics.k8s.io/v1beta1/nodes?labelSelector=tier%3Dnone"
expect_err "metrics are read-only" "MethodNotAllowed|not allowed|405" \
	kubectl delete --raw /apis/metrics.k8s.io/v1beta1/namespaces/default/pods/busy
expect_out "Prometheus: container CPU" \
	"^container_cpu_usage_seconds_total\{container=\"c\",namespace=\"default\",pod=\"busy\"\} [0-9.]+ [0-9]+$" \
	kubectl get --raw "/api/v1/nodes/$NODE/proxy/metrics/resource"
expect_out "Prometheus: container memory" \
	"^container_memory_working_set_bytes\{container=\"c\",namespace=\"default\",pod=\"busy\"\} [1-9][0-9]* [0-9]+$" \
	kubectl get --raw "/api/v1/nodes/$NODE/proxy/metrics/resource"
expect_out "Prometheus: node figures" "^node_memory_working_set_bytes [1-9][0-9]* [0-9]+$" \
	kubectl get --raw "/api/v1/nodes/$NODE/proxy/metrics/resource"

finish
