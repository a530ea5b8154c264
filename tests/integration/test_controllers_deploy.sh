#!/usr/bin/env bash
# test_controllers_deploy.sh — the Deployment controller driven by the real kubectl (v1.32):
# create, scale, set image, rollout status/history/undo/pause/resume/restart, Recreate,
# minReadySeconds, progressDeadlineSeconds, proportional scaling, history cleanup, and
# deletion with and without cascading.
#
# Pods become ready through a stand-in kubelet in this script (a background loop that
# patches pod status through the status subresource), so the test does not depend on
# simulated nodes. Pods meant never to be ready carry the label stuck=yes and a
# nodeSelector no node has, so a real scheduler would leave them pending too.
. "$(dirname "$0")/lib.sh"

start_server || { echo "0 passed, 1 failed"; exit 1; }
W=$TMP/work
mkdir -p "$W"

# --- the stand-in kubelet ---
mark_ready_loop() {
	while :; do
		now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
		for p in $(kubectl get pods -l 'stuck!=yes' \
			-o jsonpath='{range .items[?(@.status.phase!="Running")]}{.metadata.name}{"\n"}{end}' 2>/dev/null); do
			kubectl patch pod "$p" --subresource=status --type=merge -p \
				"{\"status\":{\"phase\":\"Running\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"lastTransitionTime\":\"$now\"}]}}" \
				>/dev/null 2>&1
		done
		sleep 0.3
	done
}
mark_ready_loop &
READY_PID=$!
stop_ready_loop() { kill "$READY_PID" 2>/dev/null; wait "$READY_PID" 2>/dev/null; }
trap 'stop_ready_loop; cleanup' EXIT

# wait_for NAME TIMEOUT CMD...: passes once CMD succeeds within TIMEOUT seconds.
wait_for() {
	local name=$1 t=$2
	shift 2
	local end=$((SECONDS + t)) out
	while :; do
		if out=$("$@" 2>&1); then pass "$name"; return 0; fi
		if [ $SECONDS -ge $end ]; then fail "$name" "command: $*" "$(echo "$out" | tail -n 8)"; return 1; fi
		sleep 0.3
	done
}
jp() { kubectl get "$1" -o jsonpath="$2"; }
# eq A B: succeeds when the two strings are equal, else prints both.
eq() { [ "$1" = "$2" ] || { echo "got '$1', want '$2'"; return 1; }; }
rs_of() { kubectl get rs -l "app=$1" -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.spec.replicas}{" "}{.metadata.annotations.deployment\.kubernetes\.io/revision}{"\n"}{end}'; }
# rs_for_image DEPLOY IMAGE: the name of the deployment's RS whose template runs IMAGE.
rs_for_image() {
	kubectl get rs -l "app=$1" -o jsonpath="{range .items[?(@.spec.template.spec.containers[0].image==\"$2\")]}{.metadata.name}{end}"
}

# --- create: the new ReplicaSet, its name, labels, owner and annotations ---
expect_out "create deployment" 'deployment.apps/web created' kubectl create deployment web --image=nginx:1.25 --replicas=3
wait_for "a ReplicaSet appears" 10 sh -c '[ -n "$(kubectl get rs -l app=web -o name)" ]'
RS1=$(kubectl get rs -l app=web -o jsonpath='{.items[0].metadata.name}')
HASH=$(kubectl get rs "$RS1" -o jsonpath='{.metadata.labels.pod-template-hash}')
check "RS is named <deployment>-<pod-template-hash>" eq "$RS1" "web-$HASH"
expect_out "hash uses kube's alphabet" '^[bcdfghjklmnpqrstvwxz2456789]+$' echo "$HASH"
expect_out "RS selector carries the hash" "^web $HASH\$" \
	jp "rs/$RS1" '{.spec.selector.matchLabels.app} {.spec.selector.matchLabels.pod-template-hash}'
expect_out "RS template carries the hash" "^$HASH\$" jp "rs/$RS1" '{.spec.template.metadata.labels.pod-template-hash}'
expect_out "RS is controlled by the deployment" '^Deployment web true true$' \
	jp "rs/$RS1" '{.metadata.ownerReferences[0].kind} {.metadata.ownerReferences[0].name} {.metadata.ownerReferences[0].controller} {.metadata.ownerReferences[0].blockOwnerDeletion}'
expect_out "RS annotations revision/desired/max" '^1 3 4$' \
	jp "rs/$RS1" '{.metadata.annotations.deployment\.kubernetes\.io/revision} {.metadata.annotations.deployment\.kubernetes\.io/desired-replicas} {.metadata.annotations.deployment\.kubernetes\.io/max-replicas}'
expect_out "deployment carries revision 1" '^1$' jp deploy/web '{.metadata.annotations.deployment\.kubernetes\.io/revision}'
wait_for "three pods with the hash label" 10 sh -c "[ \$(kubectl get pods -l pod-template-hash=$HASH -o name | wc -l) -eq 3 ]"
expect_out "ScalingReplicaSet event" "Scaled up replica set $RS1 from 0 to 3" kubectl get events --field-selector reason=ScalingReplicaSet

# --- becoming available ---
expect_out "rollout status waits for readiness" 'deployment "web" successfully rolled out' kubectl rollout status deployment/web --timeout=30s
wait_for "status counts" 10 sh -c "[ \"\$(kubectl get deploy web -o jsonpath='{.status.replicas} {.status.updatedReplicas} {.status.readyReplicas} {.status.availableReplicas} {.status.observedGeneration}')\" = '3 3 3 3 1' ]"
expect_out "Available condition" '^True MinimumReplicasAvailable Deployment has minimum availability\.$' \
	jp deploy/web '{.status.conditions[?(@.type=="Available")].status} {.status.conditions[?(@.type=="Available")].reason} {.status.conditions[?(@.type=="Available")].message}'
expect_out "Progressing condition" "^True NewReplicaSetAvailable ReplicaSet \"$RS1\" has successfully progressed\.\$" \
	jp deploy/web '{.status.conditions[?(@.type=="Progressing")].status} {.status.conditions[?(@.type=="Progressing")].reason} {.status.conditions[?(@.type=="Progressing")].message}'
expect_out "conditions in kube's order" '^Available Progressing$' jp deploy/web '{.status.conditions[*].type}'
expect_out "get deployment columns" '^web +3/3 +3 +3 ' kubectl get deployment web --no-headers
expect_out "describe shows the new RS" "NewReplicaSet: +$RS1 \(3/3 replicas created\)" kubectl describe deployment web

# --- scale ---
expect_out "scale" 'deployment.apps/web scaled' kubectl scale deployment web --replicas=5
wait_for "scale reaches the RS" 10 sh -c "[ \"\$(kubectl get rs $RS1 -o jsonpath='{.spec.replicas} {.metadata.annotations.deployment\.kubernetes\.io/desired-replicas} {.metadata.annotations.deployment\.kubernetes\.io/max-replicas}')\" = '5 5 7' ]"
expect_out "scale-up event" "Scaled up replica set $RS1 from 3 to 5" kubectl get events --field-selector reason=ScalingReplicaSet
expect_out "rollout status after scale" 'successfully rolled out' kubectl rollout status deployment/web --timeout=30s

# --- set image: a rolling update to revision 2 ---
check "annotate change-cause" kubectl annotate deployment web kubernetes.io/change-cause='image 1.26'
expect_out "set image" 'deployment.apps/web image updated' kubectl set image deployment/web nginx=nginx:1.26
expect_out "rollout status follows the update" 'successfully rolled out' kubectl rollout status deployment/web --timeout=60s
RS2=$(rs_for_image web nginx:1.26)
check "a second RS exists" test -n "$RS2"
check "it has another name" test "$RS2" != "$RS1"
wait_for "new RS has 5, old RS 0" 10 sh -c "[ \"\$(kubectl get rs $RS2 $RS1 -o jsonpath='{.items[*].spec.replicas}')\" = '5 0' ]"
expect_out "new RS is revision 2" '^2$' jp "rs/$RS2" '{.metadata.annotations.deployment\.kubernetes\.io/revision}'
expect_out "deployment is revision 2" '^2$' jp deploy/web '{.metadata.annotations.deployment\.kubernetes\.io/revision}'
expect_out "change-cause copied to the RS" '^image 1\.26$' jp "rs/$RS2" '{.metadata.annotations.kubernetes\.io/change-cause}'
expect_out "scale-down event for the old RS" "Scaled down replica set $RS1 from [0-9]+ to 0" kubectl get events --field-selector reason=ScalingReplicaSet
wait_for "only new pods remain" 10 sh -c "[ \$(kubectl get pods -l app=web -o name | wc -l) -eq 5 ] && [ \$(kubectl get pods -l pod-template-hash=$HASH -o name | wc -l) -eq 0 ]"
wait_for "status after the update" 10 sh -c "[ \"\$(kubectl get deploy web -o jsonpath='{.status.replicas} {.status.updatedReplicas} {.status.availableReplicas}')\" = '5 5 5' ]"

# --- history ---
# k8s: annotating the deployment copies change-cause onto its current RS too, so revision 1
# shows it as well (as on a real cluster).
expect_out "rollout history lists revision 2" '^2 +image 1\.26$' kubectl rollout history deployment/web
expect_out "rollout history lists revision 1" '^1 +image 1\.26$' kubectl rollout history deployment/web
expect_out "history of revision 1 shows its image" 'Image:[[:space:]]+nginx:1\.25' kubectl rollout history deployment/web --revision=1

# --- undo ---
expect_out "rollout undo" 'deployment.apps/web rolled back' kubectl rollout undo deployment/web
expect_out "template restored" '^nginx:1\.25$' jp deploy/web '{.spec.template.spec.containers[0].image}'
expect_out "rollout status after undo" 'successfully rolled out' kubectl rollout status deployment/web --timeout=60s
wait_for "the first RS is back with 5" 10 sh -c "[ \"\$(kubectl get rs $RS1 $RS2 -o jsonpath='{.items[*].spec.replicas}')\" = '5 0' ]"
expect_out "first RS is now revision 3 with history 1" '^3 1$' \
	jp "rs/$RS1" '{.metadata.annotations.deployment\.kubernetes\.io/revision} {.metadata.annotations.deployment\.kubernetes\.io/revision-history}'
expect_out "deployment is revision 3" '^3$' jp deploy/web '{.metadata.annotations.deployment\.kubernetes\.io/revision}'
expect_out "no third RS was made" '^2$' sh -c "kubectl get rs -l app=web -o name | wc -l"
expect_out "history now lists 2 and 3" '^3 ' kubectl rollout history deployment/web

# --- pause / resume ---
expect_out "rollout pause" 'deployment.apps/web paused' kubectl rollout pause deployment/web
wait_for "Progressing is Unknown/DeploymentPaused" 10 sh -c "[ \"\$(kubectl get deploy web -o jsonpath='{.status.conditions[?(@.type==\"Progressing\")].status} {.status.conditions[?(@.type==\"Progressing\")].reason} {.status.conditions[?(@.type==\"Progressing\")].message}')\" = 'Unknown DeploymentPaused Deployment is paused' ]"
check "set image while paused" kubectl set image deployment/web nginx=nginx:1.27
sleep 1
expect_out "no RS for the paused template" '^$' rs_for_image web nginx:1.27
expect_err "rollout status waits while paused" 'Waiting for deployment "web" rollout to finish: 0 out of 5 new replicas have been updated' kubectl rollout status deployment/web --timeout=2s
expect_out "scaling while paused still works" 'scaled' kubectl scale deployment web --replicas=4
wait_for "paused scale reaches the active RS" 10 sh -c "[ \"\$(kubectl get rs $RS1 -o jsonpath='{.spec.replicas}')\" = 4 ]"
expect_out "rollout resume" 'deployment.apps/web resumed' kubectl rollout resume deployment/web
expect_out "rollout status after resume" 'successfully rolled out' kubectl rollout status deployment/web --timeout=60s
RS3=$(rs_for_image web nginx:1.27)
check "resume created the new RS" test -n "$RS3"
expect_out "it is revision 4" '^4$' jp "rs/$RS3" '{.metadata.annotations.deployment\.kubernetes\.io/revision}'

# --- restart ---
expect_out "rollout restart" 'deployment.apps/web restarted' kubectl rollout restart deployment/web
expect_out "restartedAt in the template" '^20[0-9-]+T' jp deploy/web '{.spec.template.metadata.annotations.kubectl\.kubernetes\.io/restartedAt}'
expect_out "rollout status after restart" 'successfully rolled out' kubectl rollout status deployment/web --timeout=60s
expect_out "restart made revision 5" '^5$' jp deploy/web '{.metadata.annotations.deployment\.kubernetes\.io/revision}'
expect_out "four RSs now" '^4$' sh -c "kubectl get rs -l app=web -o name | wc -l"

# --- revisionHistoryLimit ---
check "lower revisionHistoryLimit" kubectl patch deployment web -p '{"spec":{"revisionHistoryLimit":1}}'
wait_for "old RSs beyond the limit are deleted" 10 sh -c "[ \$(kubectl get rs -l app=web -o name | wc -l) -eq 2 ]"
expect_out "the newest old RS is kept" "^$RS3\$" sh -c "kubectl get rs -l app=web -o jsonpath='{range .items[?(@.spec.replicas==0)]}{.metadata.name}{end}'"

# --- Recreate ---
cat >"$W/rec.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: rec
spec:
  replicas: 2
  strategy:
    type: Recreate
  selector:
    matchLabels:
      app: rec
  template:
    metadata:
      labels:
        app: rec
    spec:
      containers:
      - name: c
        image: nginx:1.25
YAML
check "create a Recreate deployment" kubectl apply -f "$W/rec.yaml"
expect_out "Recreate rolls out" 'successfully rolled out' kubectl rollout status deployment/rec --timeout=30s
REC1=$(rs_for_image rec nginx:1.25)
check "Recreate set image" kubectl set image deployment/rec c=nginx:1.26
expect_out "Recreate rollout completes" 'successfully rolled out' kubectl rollout status deployment/rec --timeout=60s
REC2=$(rs_for_image rec nginx:1.26)
expect_out "Recreate scaled the old RS straight to 0" "Scaled down replica set $REC1 from 2 to 0" kubectl get events --field-selector reason=ScalingReplicaSet
expect_out "Recreate created the new RS at full size" "Scaled up replica set $REC2 from 0 to 2" kubectl get events --field-selector reason=ScalingReplicaSet
expect_out "Recreate has no maxReplicas surge" '^2$' jp "rs/$REC2" '{.metadata.annotations.deployment\.kubernetes\.io/max-replicas}'

# --- minReadySeconds ---
cat >"$W/mrs.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: mrs
spec:
  replicas: 1
  minReadySeconds: 3
  selector:
    matchLabels:
      app: mrs
  template:
    metadata:
      labels:
        app: mrs
    spec:
      containers:
      - name: c
        image: nginx
YAML
check "create with minReadySeconds" kubectl apply -f "$W/mrs.yaml"
wait_for "pod ready" 10 sh -c "[ \"\$(kubectl get deploy mrs -o jsonpath='{.status.readyReplicas}')\" = 1 ]"
expect_out "ready but not yet available" '^1 $' jp deploy/mrs '{.status.readyReplicas} {.status.availableReplicas}'
expect_out "RS carries minReadySeconds" '^3$' sh -c "kubectl get rs -l app=mrs -o jsonpath='{.items[0].spec.minReadySeconds}'"
wait_for "available after minReadySeconds" 10 sh -c "[ \"\$(kubectl get deploy mrs -o jsonpath='{.status.availableReplicas}')\" = 1 ]"

# --- progressDeadlineSeconds ---
cat >"$W/slow.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: slow
spec:
  replicas: 1
  progressDeadlineSeconds: 2
  selector:
    matchLabels:
      app: slow
  template:
    metadata:
      labels:
        app: slow
        stuck: "yes"
    spec:
      nodeSelector:
        timon-test: nowhere
      containers:
      - name: c
        image: nginx
YAML
check "create a deployment that never gets ready" kubectl apply -f "$W/slow.yaml"
expect_err "rollout status reports the deadline" 'deployment "slow" exceeded its progress deadline' kubectl rollout status deployment/slow --timeout=30s
SLOW=$(kubectl get rs -l app=slow -o jsonpath='{.items[0].metadata.name}')
expect_out "Progressing False ProgressDeadlineExceeded" "^False ProgressDeadlineExceeded ReplicaSet \"$SLOW\" has timed out progressing\.\$" \
	jp deploy/slow '{.status.conditions[?(@.type=="Progressing")].status} {.status.conditions[?(@.type=="Progressing")].reason} {.status.conditions[?(@.type=="Progressing")].message}'
expect_out "Available False MinimumReplicasUnavailable" '^False MinimumReplicasUnavailable Deployment does not have minimum availability\.$' \
	jp deploy/slow '{.status.conditions[?(@.type=="Available")].status} {.status.conditions[?(@.type=="Available")].reason} {.status.conditions[?(@.type=="Available")].message}'
expect_out "unavailableReplicas" '^1$' jp deploy/slow '{.status.unavailableReplicas}'

# --- proportional scaling in the middle of a rollout ---
cat >"$W/prop.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: prop
spec:
  replicas: 10
  selector:
    matchLabels:
      app: prop
  template:
    metadata:
      labels:
        app: prop
    spec:
      containers:
      - name: c
        image: nginx
YAML
check "create prop" kubectl apply -f "$W/prop.yaml"
expect_out "prop rolls out" 'successfully rolled out' kubectl rollout status deployment/prop --timeout=60s
PROP1=$(kubectl get rs -l app=prop -o jsonpath='{.items[0].metadata.name}')
check "start a rollout that cannot finish" kubectl patch deployment prop -p \
	'{"spec":{"template":{"metadata":{"labels":{"stuck":"yes"}},"spec":{"nodeSelector":{"timon-test":"nowhere"}}}}}'
# k8s: 10 replicas, surge 3, unavailable 2: the new RS grows to 3, the old shrinks to 8, then
# the new grows to 5 and everything waits for the new pods.
wait_for "rollout stalls at old 8 / new 5" 15 sh -c "[ \"\$(kubectl get rs -l app=prop -o jsonpath='{range .items[*]}{.spec.replicas}{\"\\n\"}{end}' | sort -n | paste -sd' ')\" = '5 8' ]"
check "scale to 20 mid-rollout" kubectl scale deployment prop --replicas=20
# k8s: 25 allowed (20 + surge 5) over 13: old 8 -> round(8*25/13)=15, new 5 -> 10.
wait_for "replicas spread proportionally: old 15, new 10" 15 sh -c "[ \"\$(kubectl get rs $PROP1 -o jsonpath='{.spec.replicas}')\" = 15 ] && [ \$(kubectl get rs -l app=prop,stuck=yes -o jsonpath='{.items[0].spec.replicas}') = 10 ]"
expect_out "annotations follow the new size" '^20 25$' jp "rs/$PROP1" '{.metadata.annotations.deployment\.kubernetes\.io/desired-replicas} {.metadata.annotations.deployment\.kubernetes\.io/max-replicas}'

# --- release and hash collision ---
check "create col" kubectl create deployment col --image=nginx --replicas=1
expect_out "col rolls out" 'successfully rolled out' kubectl rollout status deployment/col --timeout=30s
COL1=$(kubectl get rs -l app=col -o jsonpath='{.items[0].metadata.name}')
check "relabel the RS out of the selector" kubectl label rs "$COL1" app=elsewhere --overwrite
wait_for "the deployment releases it" 10 sh -c "[ -z \"\$(kubectl get rs $COL1 -o jsonpath='{.metadata.ownerReferences[*].kind}')\" ]"
# k8s: the template's RS name is taken by a set that is not ours: collisionCount goes to 1 and
# the new RS gets another hash.
wait_for "collisionCount bumped" 10 sh -c "[ \"\$(kubectl get deploy col -o jsonpath='{.status.collisionCount}')\" = 1 ]"
wait_for "a new RS under another name" 10 sh -c "n=\$(kubectl get rs -l app=col -o jsonpath='{.items[0].metadata.name}'); [ -n \"\$n\" ] && [ \"\$n\" != $COL1 ]"
expect_out "col rolls out again" 'successfully rolled out' kubectl rollout status deployment/col --timeout=30s

# --- deletion: cascading and orphaning ---
expect_out "delete --cascade=orphan" 'deployment.apps "rec" deleted' kubectl delete deployment rec --cascade=orphan
wait_for "orphaned RS stays without an owner" 10 sh -c "[ -n \"\$(kubectl get rs $REC2 -o name)\" ] && [ -z \"\$(kubectl get rs $REC2 -o jsonpath='{.metadata.ownerReferences}')\" ]"
expect_out "orphaned pods stay" '^2$' sh -c "kubectl get pods -l app=rec -o name | wc -l"
expect_out "delete deployment" 'deployment.apps "web" deleted' kubectl delete deployment web
wait_for "its ReplicaSets are collected" 20 sh -c "[ -z \"\$(kubectl get rs -l app=web -o name)\" ]"
# The API server's sweep collects one level of dependents per pass; a pass that deleted
# something does not yet re-arm itself quickly, so the pods can take one 30 s interval.
wait_for "its pods are collected" 40 sh -c "[ -z \"\$(kubectl get pods -l app=web -o name)\" ]"
# A new deployment with the orphans' selector adopts the matching RS.
check "recreate rec" kubectl apply -f "$W/rec.yaml"
wait_for "orphan RS adopted by the new deployment" 10 sh -c "[ \"\$(kubectl get rs $REC1 -o jsonpath='{.metadata.ownerReferences[0].name}')\" = rec ]"

stop_ready_loop
finish
