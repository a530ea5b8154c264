#!/usr/bin/env bash
# test_controllers_sets.sh — the StatefulSet and DaemonSet controllers, driven with the real
# kubectl against `timon server`: ordered creation and scale down, claims from
# volumeClaimTemplates, rolling updates with ControllerRevisions (rollout status, history,
# undo), and daemon pods following simulated nodes as they join, change and leave.
#
# Pods run on simulated nodes (timon.dev/simulated: "true"), which make bound pods Running
# and Ready. Binding is the scheduler's job; where no scheduler has bound a pod within a
# moment, this test binds it itself (POST pods/<name>/binding), a DaemonSet pod to the node
# its matchFields affinity names.
. "$(dirname "$0")/lib.sh"

start_server || { echo "0 passed, 1 failed"; exit 1; }
W=$TMP/work
mkdir -p "$W"

# bind_pending SELECTOR [NODE]: binds the pods of SELECTOR that no scheduler has bound
# within a second, to the node their node-name affinity names (DaemonSet pods) or else to
# NODE.
bind_pending() {
	local sel=$1 node=${2:-} name bound deleting created target now
	now=$(date -u +%s)
	kubectl get pods -l "$sel" -o jsonpath='{range .items[*]}{.metadata.name}|{.spec.nodeName}|{.metadata.deletionTimestamp}|{.metadata.creationTimestamp}|{.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchFields[0].values[0]}{"\n"}{end}' 2>/dev/null |
		while IFS='|' read -r name bound deleting created target; do
			[ -z "$bound" ] && [ -z "$deleting" ] || continue
			[ $((now - $(date -u -d "$created" +%s))) -ge 1 ] || continue
			target=${target:-$node}
			[ -n "$target" ] || continue
			printf '{"apiVersion":"v1","kind":"Binding","metadata":{"name":"%s"},"target":{"apiVersion":"v1","kind":"Node","name":"%s"}}' \
				"$name" "$target" >"$W/binding.json"
			kubectl create --raw "/api/v1/namespaces/default/pods/$name/binding" -f "$W/binding.json" >/dev/null 2>&1
		done
}

# Small readers the checks below poll.
names() { kubectl get pods -l "$1" -o 'jsonpath={range .items[*]}{.metadata.name}{" "}{end}'; }
images() { kubectl get pods -l "$1" -o 'jsonpath={range .items[*]}{.spec.containers[0].image}{" "}{end}'; }
pod_rows() { kubectl get pods -l "$1" --no-headers | tr '\n' ' '; }
node_rows() { kubectl get nodes --no-headers | tr '\n' ' '; }
claims() { kubectl get pvc -l "$1" -o 'jsonpath={range .items[*]}{.metadata.name}{" "}{end}'; }
rollout_history() { kubectl rollout history "$1" | tr '\n' ' '; }
ds_targets() {
	kubectl get pods -l app=agent -o 'jsonpath={range .items[*]}{.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchFields[0].values[0]}{"\n"}{end}' | sort | tr '\n' ' '
}
ds_nodes() { kubectl get pods -l app=agent -o 'jsonpath={range .items[*]}{.spec.nodeName}{"\n"}{end}' | sort | tr '\n' ' '; }

# wait_until NAME SECONDS SELECTOR NODE PATTERN CMD...: repeats CMD (binding pending pods of
# SELECTOR in between) until its output matches PATTERN; passes when it did in time.
wait_until() {
	local name=$1 secs=$2 sel=$3 node=$4 pat=$5 out
	shift 5
	for _ in $(seq 1 $((secs * 4))); do
		out=$("$@" 2>&1)
		if echo "$out" | grep -Eq -- "$pat"; then pass "$name"; return 0; fi
		[ -n "$sel" ] && bind_pending "$sel" "$node"
		sleep 0.25
	done
	fail "$name" "command: $*" "wanted /$pat/" "$(echo "$out" | tail -n 12)"
	return 1
}

node_yaml() {
	printf 'apiVersion: v1\nkind: Node\nmetadata:\n  name: %s\n  annotations:\n    timon.dev/simulated: "true"\n' "$1"
}

# --- simulated nodes ---
node_yaml n1 >"$W/n1.yaml"
node_yaml n2 >"$W/n2.yaml"
check "node n1 created" kubectl apply -f "$W/n1.yaml"
check "node n2 created" kubectl apply -f "$W/n2.yaml"
wait_until "simulated nodes become Ready" 10 "" "" 'n1 +Ready.*n2 +Ready' node_rows

# --- StatefulSet: ordered creation ---
cat >"$W/web.yaml" <<'YAML'
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  clusterIP: None
  selector:
    app: web
  ports:
  - port: 80
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
spec:
  serviceName: web
  replicas: 3
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: nginx
        image: nginx:1.25
  volumeClaimTemplates:
  - metadata:
      name: www
    spec:
      accessModes: ["ReadWriteOnce"]
      resources:
        requests:
          storage: 1Gi
YAML
kubectl get pods -l app=web --watch --output-watch-events \
	-o jsonpath='{.type} {.object.metadata.name} {.object.status.phase}{"\n"}' >"$W/watch.log" 2>&1 &
WATCH_PID=$!
sleep 0.5
expect_out "apply creates the statefulset" 'statefulset.apps/web created' kubectl apply -f "$W/web.yaml"
wait_until "web-0 is created first" 5 "" "" '^web-0 ' kubectl get pods -l app=web --no-headers
sleep 1
# Nothing is bound yet (unless a scheduler runs), so OrderedReady must not go past web-0.
if [ -z "$(kubectl get pod web-0 -o jsonpath='{.spec.nodeName}')" ]; then
	expect_out "web-1 waits while web-0 is not Running and Ready" '^web-0 $' names app=web
fi
wait_until "web-0, web-1, web-2 all Running and Ready" 20 app=web n1 'web-0 +1/1 +Running.*web-1 +1/1 +Running.*web-2 +1/1 +Running' pod_rows app=web
# The watch saw each pod added only after its predecessor was Running.
order=$(awk '$1 == "ADDED" { print $2 }' "$W/watch.log" | tr '\n' ' ')
if [ "$order" = "web-0 web-1 web-2 " ]; then pass "pods were added in ordinal order"; else fail "pods were added in ordinal order" "got: $order" "$(cat "$W/watch.log")"; fi
ok=1
for pair in "web-0 web-1" "web-1 web-2"; do
	set -- $pair
	running=$(grep -n "^MODIFIED $1 Running" "$W/watch.log" | head -n1 | cut -d: -f1)
	added=$(grep -n "^ADDED $2 " "$W/watch.log" | head -n1 | cut -d: -f1)
	{ [ -n "$running" ] && [ -n "$added" ] && [ "$running" -lt "$added" ]; } || ok=0
done
if [ $ok -eq 1 ]; then pass "each pod was added after its predecessor ran"; else fail "each pod was added after its predecessor ran" "$(cat "$W/watch.log")"; fi
rv=$(kubectl get pods -l app=web --sort-by=.metadata.name -o jsonpath='{range .items[*]}{.metadata.creationTimestamp}{" "}{end}')
set -- $rv
if [[ "$1" < "$2" || "$1" == "$2" ]] && [[ "$2" < "$3" || "$2" == "$3" ]]; then pass "creationTimestamps follow the ordinals"; else fail "creationTimestamps follow the ordinals" "$rv"; fi

expect_out "get statefulset shows 3/3 ready" '^web +3/3 ' kubectl get statefulset web
expect_out "pod identity: hostname and subdomain" '^web-1 web$' kubectl get pod web-1 -o 'jsonpath={.spec.hostname} {.spec.subdomain}'
expect_out "pod identity labels" '^web-2 2 web-[a-z0-9]+$' kubectl get pod web-2 -o 'jsonpath={.metadata.labels.statefulset\.kubernetes\.io/pod-name} {.metadata.labels.apps\.kubernetes\.io/pod-index} {.metadata.labels.controller-revision-hash}'
expect_out "pod controlled by the statefulset" '^StatefulSet web true$' kubectl get pod web-0 -o 'jsonpath={.metadata.ownerReferences[0].kind} {.metadata.ownerReferences[0].name} {.metadata.ownerReferences[0].controller}'
expect_out "pod volume points at its claim" '^www www-web-1$' kubectl get pod web-1 -o 'jsonpath={.spec.volumes[0].name} {.spec.volumes[0].persistentVolumeClaim.claimName}'
expect_out "claims from volumeClaimTemplates exist" '^www-web-0 www-web-1 www-web-2 $' claims app=web
expect_out "claim keeps the template's request" '^1Gi$' kubectl get pvc www-web-0 -o 'jsonpath={.spec.resources.requests.storage}'
expect_out "status counts and revisions" '^3 3 3 3 web-[a-z0-9]+ web-[a-z0-9]+ 0 1$' kubectl get sts web -o 'jsonpath={.status.replicas} {.status.readyReplicas} {.status.currentReplicas} {.status.updatedReplicas} {.status.currentRevision} {.status.updateRevision} {.status.collisionCount} {.status.observedGeneration}'
expect_out "a ControllerRevision records the template" 'statefulset.apps/web +1 ' kubectl get controllerrevisions
expect_out "rollout status" 'partitioned roll out complete: 3 new pods have been updated' kubectl rollout status statefulset web --timeout=10s
expect_out "events name the created pods" 'create Pod web-2 in StatefulSet web successful' kubectl get events --field-selector involvedObject.name=web
expect_out "describe statefulset" 'Pods Status: +3 Running / 0 Waiting / 0 Succeeded / 0 Failed' kubectl describe statefulset web

# --- StatefulSet: rolling update from the highest ordinal, history, undo ---
mark=$(wc -l <"$W/watch.log")
check "set image starts a rolling update" kubectl set image statefulset/web nginx=nginx:1.26
wait_until "all pods updated and Ready, update revision current" 30 app=web n2 '^3 3 3 ([a-z0-9-]+) \1$' kubectl get sts web -o 'jsonpath={.status.updatedReplicas} {.status.readyReplicas} {.status.currentReplicas} {.status.currentRevision} {.status.updateRevision}'
order=$(tail -n +$((mark + 1)) "$W/watch.log" | awk '$1 == "DELETED" { print $2 }' | tr '\n' ' ')
if [ "$order" = "web-2 web-1 web-0 " ]; then pass "update replaced pods from the highest ordinal down"; else fail "update replaced pods from the highest ordinal down" "got: $order"; fi
expect_out "updated pods run the new image" '^nginx:1.26 nginx:1.26 nginx:1.26 $' images app=web
expect_out "rollout history lists two revisions" 'REVISION +CHANGE-CAUSE +1 +<none> +2 +<none>' rollout_history statefulset/web
expect_out "rollout undo" 'statefulset.apps/web rolled back' kubectl rollout undo statefulset web
wait_until "undo brings the old image back" 30 app=web n1 '^nginx:1.25 nginx:1.25 nginx:1.25 $' images app=web
expect_out "undo renumbers the old revision" 'CHANGE-CAUSE +2 +<none> +3 +<none>' rollout_history statefulset/web

# --- StatefulSet: scale down removes the highest ordinal first, claims stay ---
wait_until "all Ready before scaling down" 20 app=web n1 '^3$' kubectl get sts web -o 'jsonpath={.status.readyReplicas}'
mark=$(wc -l <"$W/watch.log")
check "scale to 1" kubectl scale statefulset web --replicas=1
wait_until "scaled down to web-0" 20 "" "" '^web-0 $' names app=web
order=$(tail -n +$((mark + 1)) "$W/watch.log" | awk '$1 == "DELETED" { print $2 }' | tr '\n' ' ')
if [ "$order" = "web-2 web-1 " ]; then pass "scale down removed web-2 before web-1"; else fail "scale down removed web-2 before web-1" "got: $order"; fi
expect_out "claims are retained on scale down" '^www-web-0 www-web-1 www-web-2 $' claims app=web
wait_until "status follows the scale" 10 "" "" '^1 1$' kubectl get sts web -o 'jsonpath={.status.replicas} {.status.readyReplicas}'
kill "$WATCH_PID" 2>/dev/null
wait "$WATCH_PID" 2>/dev/null

# --- StatefulSet: Parallel, whenScaled Delete ---
cat >"$W/db.yaml" <<'YAML'
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
spec:
  serviceName: db
  replicas: 2
  podManagementPolicy: Parallel
  persistentVolumeClaimRetentionPolicy:
    whenScaled: Delete
  selector:
    matchLabels:
      app: db
  template:
    metadata:
      labels:
        app: db
    spec:
      containers:
      - name: db
        image: postgres:16
  volumeClaimTemplates:
  - metadata:
      name: data
    spec:
      accessModes: ["ReadWriteOnce"]
      resources:
        requests:
          storage: 1Gi
YAML
check "create a Parallel statefulset" kubectl apply -f "$W/db.yaml"
wait_until "Parallel creates every pod at once" 5 "" "" '^db-0 db-1 $' names app=db
wait_until "Parallel pods Running" 20 app=db n2 '^2$' kubectl get sts db -o 'jsonpath={.status.readyReplicas}'
check "scale db to 1" kubectl scale statefulset db --replicas=1
wait_until "whenScaled Delete removes the condemned claim" 20 "" "" '^data-db-0 $' claims app=db

# --- StatefulSet: the usual manifest mounts its claim template ---
cat >"$W/mounted.yaml" <<'YAML'
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: mounted
spec:
  serviceName: mounted
  replicas: 1
  selector:
    matchLabels:
      app: mounted
  template:
    metadata:
      labels:
        app: mounted
    spec:
      containers:
      - name: nginx
        image: nginx:1.25
        volumeMounts:
        - name: www
          mountPath: /usr/share/nginx/html
  volumeClaimTemplates:
  - metadata:
      name: www
    spec:
      accessModes: ["ReadWriteOnce"]
      resources:
        requests:
          storage: 1Gi
YAML
expect_out "a template may mount a volumeClaimTemplate" 'statefulset.apps/mounted created' kubectl apply -f "$W/mounted.yaml"

# --- DaemonSet: one pod per node, following nodes ---
cat >"$W/agent.yaml" <<'YAML'
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
spec:
  selector:
    matchLabels:
      app: agent
  template:
    metadata:
      labels:
        app: agent
    spec:
      containers:
      - name: agent
        image: busybox:1.36
YAML
expect_out "apply creates the daemonset" 'daemonset.apps/agent created' kubectl apply -f "$W/agent.yaml"
wait_until "a pod for each node" 5 "" "" '^n1 n2 $' ds_targets
expect_out "placed by node-name affinity (matchFields)" '^metadata.name In$' kubectl get pods -l app=agent -o 'jsonpath={.items[0].spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchFields[0].key} {.items[0].spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchFields[0].operator}'
expect_out "daemon pods get the automatic tolerations" 'not-ready:NoExecute.*unreachable:NoExecute.*disk-pressure:NoSchedule.*memory-pressure:NoSchedule.*pid-pressure:NoSchedule.*unschedulable:NoSchedule' kubectl get pods -l app=agent -o 'jsonpath={range .items[0].spec.tolerations[*]}{.key}:{.effect} {end}'
expect_out "daemon pods carry the revision hash" '^[a-z0-9]+$' kubectl get pods -l app=agent -o 'jsonpath={.items[0].metadata.labels.controller-revision-hash}'
wait_until "get daemonset: 2 desired, current, ready, up-to-date, available" 20 app=agent "" '^agent +2 +2 +2 +2 +2 +<none>' kubectl get daemonset agent --no-headers
node_yaml n3 >"$W/n3.yaml"
check "node n3 joins" kubectl apply -f "$W/n3.yaml"
wait_until "the new node gets a daemon pod" 20 app=agent "" '^agent +3 +3 +3 +3 +3 ' kubectl get daemonset agent --no-headers
check "node n2 leaves" kubectl delete node n2
wait_until "its daemon pod goes with it" 20 app=agent "" '^agent +2 +2 +2 +2 +2 ' kubectl get daemonset agent --no-headers
expect_out "daemon pods are on n1 and n3" '^n1 n3 $' ds_nodes

# --- DaemonSet: nodeSelector and taints ---
check "label n3" kubectl label node n3 role=edge
check "restrict the daemonset to role=edge" kubectl patch daemonset agent --type=merge -p '{"spec":{"template":{"spec":{"nodeSelector":{"role":"edge"}}}}}'
wait_until "only n3 runs it now" 20 app=agent "" '^agent +1 +1 +1 +1 +1 +role=edge' kubectl get daemonset agent --no-headers
check "NoExecute taint on n3" kubectl taint node n3 evict=now:NoExecute
wait_until "an untolerated NoExecute taint removes the pod" 20 "" "" '^agent +0 +0 +0 +0 +0 ' kubectl get daemonset agent --no-headers
check "taint removed" kubectl taint node n3 evict=now:NoExecute-
wait_until "the pod comes back" 20 app=agent "" '^agent +1 +1 +1 +1 +1 ' kubectl get daemonset agent --no-headers

# --- DaemonSet: rolling update, history, undo ---
check "label n1 too" kubectl label node n1 role=edge
wait_until "both nodes again" 20 app=agent "" '^agent +2 +2 +2 +2 +2 ' kubectl get daemonset agent --no-headers
check "set image starts a rolling update" kubectl set image daemonset/agent agent=busybox:1.37
wait_until "rolling update completes" 30 app=agent "" 'successfully rolled out' kubectl rollout status daemonset agent --timeout=1s
expect_out "every pod runs the new image" '^busybox:1.37 busybox:1.37 $' images app=agent
expect_out "status counts" '^2 2 2 2 2 0$' kubectl get ds agent -o 'jsonpath={.status.desiredNumberScheduled} {.status.currentNumberScheduled} {.status.numberReady} {.status.updatedNumberScheduled} {.status.numberAvailable} {.status.numberMisscheduled}'
expect_out "observedGeneration follows" '^true$' sh -c '[ "$(kubectl get ds agent -o jsonpath={.status.observedGeneration})" = "$(kubectl get ds agent -o jsonpath={.metadata.generation})" ] && echo true'
expect_out "rollout history lists the revisions" '3 +<none>' kubectl rollout history daemonset agent
expect_out "rollout undo" 'daemonset.apps/agent rolled back' kubectl rollout undo daemonset agent
wait_until "undo brings the old image back" 30 app=agent "" '^busybox:1.36 busybox:1.36 $' images app=agent
expect_out "events name created pods" 'Created pod: agent-' kubectl get events --field-selector involvedObject.name=agent

# --- OnDelete: nothing changes until a pod is deleted ---
check "switch to OnDelete" kubectl patch daemonset agent --type=merge -p '{"spec":{"updateStrategy":{"type":"OnDelete","rollingUpdate":null}}}'
check "change the image" kubectl set image daemonset/agent agent=busybox:1.38
sleep 2
expect_out "OnDelete keeps the running pods" '^busybox:1.36 busybox:1.36 $' images app=agent
victim=$(kubectl get pods -l app=agent -o jsonpath='{.items[0].metadata.name}')
check "delete one daemon pod" kubectl delete pod "$victim" --wait=false
wait_until "its replacement runs the new image" 20 app=agent "" 'busybox:1.38' images app=agent
expect_out "one of two updated" '^1$' kubectl get ds agent -o 'jsonpath={.status.updatedNumberScheduled}'


# --- DaemonSet under a quota: a refused create is an event, and the sync is retried ---
check "namespace dq with a quota of 1 pod" sh -c 'kubectl create namespace dq && kubectl create quota dq -n dq --hard=pods=1'
sed 's/name: agent$/name: quota-agent/; s/app: agent$/app: quota-agent/' "$W/agent.yaml" >"$W/qagent.yaml"
check "a daemonset there" kubectl apply -n dq -f "$W/qagent.yaml"
wait_until "one daemon pod gets in" 10 "" "" '^1$' sh -c 'kubectl get pods -n dq -o name | wc -l'
wait_until "the other's refusal is an event" 10 "" "" \
	'Error creating: pods "quota-agent-[a-z0-9]{5}" is forbidden: exceeded quota: dq' \
	kubectl get events -n dq --field-selector involvedObject.name=quota-agent,reason=FailedCreate -o 'jsonpath={.items[*].message}'
check "the quota raised" kubectl patch quota dq -n dq --type=merge -p '{"spec":{"hard":{"pods":"5"}}}'
wait_until "both nodes get their daemon pod" 60 "" "" '^2$' sh -c 'kubectl get pods -n dq -o name | wc -l'
finish
