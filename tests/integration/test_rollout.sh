#!/usr/bin/env bash
# test_rollout.sh — a 10-replica Deployment on simulated nodes rolls to a new image without
# ever having fewer available pods than maxUnavailable allows, checked from a watch; then
# `rollout undo` restores the previous template.
. "$(dirname "$0")/lib.sh"

start_server || { echo "0 passed, 1 failed"; exit 1; }
W=$TMP/work
mkdir -p "$W"

for i in 1 2 3; do
	cat <<YAML
---
apiVersion: v1
kind: Node
metadata:
  name: sim-$i
  annotations:
    timon.dev/simulated: "true"
YAML
done >"$W/nodes.yaml"
check "simulated nodes" kubectl apply -f "$W/nodes.yaml"

wait_until() { # SECONDS CMD...
	local t=$1
	shift
	for _ in $(seq 1 $((t * 5))); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	return 1
}

check "nodes Ready" wait_until 20 sh -c '[ "$(kubectl get nodes --no-headers | grep -c " Ready ")" = 3 ]'
check "create 10 replicas" kubectl create deployment web --image=nginx:1.25 --replicas=10
check "all 10 available" kubectl rollout status deployment/web --timeout=60s
expect_out "10/10 ready" '^web +10/10 +10 +10 ' kubectl get deployment web --no-headers

# Watch availability through the whole rollout.
kubectl get deployment web -w -o jsonpath='{.status.availableReplicas}{" "}{.status.updatedReplicas}{"\n"}' \
	>"$W/watch.log" 2>&1 &
wpid=$!
sleep 0.5
expect_out "set image" 'deployment.apps/web image updated' kubectl set image deployment/web nginx=nginx:1.26
check "rollout finishes" kubectl rollout status deployment/web --timeout=90s
sleep 0.5
kill $wpid 2>/dev/null
wait $wpid 2>/dev/null

# k8s: maxUnavailable 25% of 10 rounds down to 2, so availability never drops below 8.
min=$(awk 'NF && $1 ~ /^[0-9]+$/ { if (min == "" || $1 < min) min = $1 } END { print min }' "$W/watch.log")
lines=$(grep -c . "$W/watch.log")
if [ -n "$min" ] && [ "$min" -ge 8 ] && [ "$lines" -ge 3 ]; then
	pass "availability never below 8 during the rollout (min $min over $lines events)"
else
	fail "availability never below 8 during the rollout" "min=$min lines=$lines" "$(head -40 "$W/watch.log")"
fi
expect_out "every pod runs the new image" '^10$' sh -c "kubectl get pods -l app=web -o jsonpath='{range .items[*]}{.spec.containers[0].image}{\"\\n\"}{end}' | grep -c 'nginx:1.26'"
expect_out "two revisions" '^2 ' sh -c 'kubectl rollout history deployment/web | tail -n 2 | head -n 1'
expect_out "rollout undo" 'deployment.apps/web rolled back' kubectl rollout undo deployment/web
check "undo finishes" kubectl rollout status deployment/web --timeout=90s
expect_out "the previous template is back" '^nginx:1.25$' kubectl get deployment web -o jsonpath='{.spec.template.spec.containers[0].image}'
expect_out "delete removes ReplicaSets and Pods" 'deleted' kubectl delete deployment web
check "pods gone" wait_until 40 sh -c '[ -z "$(kubectl get pods -l app=web --no-headers 2>/dev/null)" ]'

finish
