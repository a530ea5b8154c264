#!/usr/bin/env bash
# test_controllers_misc.sh — Endpoints, EndpointSlices, PodDisruptionBudgets with the
# eviction subresource, ResourceQuota and LimitRange, a ReplicaSet and a Job under a quota
# (slow start, events, ReplicaFailure, retries), driven with the real kubectl. Pods
# become Running and Ready the way a kubelet would report it: bound with pods/binding and
# their status patched through the status subresource.
. "$(dirname "$0")/lib.sh"

start_server || { echo "0 passed, 1 failed"; exit 1; }
W=$TMP/work
mkdir -p "$W"

# wait_for NAME PATTERN CMD...: like expect_out, retrying for up to 5 s (controllers act
# asynchronously).
wait_for() {
	local name=$1 pat=$2 out rc
	shift 2
	for _ in $(seq 1 50); do
		out=$("$@" 2>&1)
		rc=$?
		if [ $rc -eq 0 ] && echo "$out" | grep -Eq -- "$pat"; then
			pass "$name"
			return 0
		fi
		sleep 0.1
	done
	fail "$name" "command: $*" "exit: $rc, wanted /$pat/" "$(echo "$out" | tail -n 12)"
}

# run_pod NS NAME IP READY: binds pod NAME to node n1 and reports it Running with IP.
run_pod() {
	local ns=$1 name=$2 ip=$3 ready=$4
	kubectl create --raw "/api/v1/namespaces/$ns/pods/$name/binding" -f - >/dev/null <<EOF
{"apiVersion":"v1","kind":"Binding","metadata":{"name":"$name"},"target":{"kind":"Node","name":"n1"}}
EOF
	kubectl patch pod "$name" -n "$ns" --subresource=status --type=merge -p \
		"{\"status\":{\"phase\":\"Running\",\"podIP\":\"$ip\",\"podIPs\":[{\"ip\":\"$ip\"}],\"conditions\":[{\"type\":\"Ready\",\"status\":\"$ready\",\"lastTransitionTime\":\"2024-05-01T10:00:00Z\"}]}}" >/dev/null
}

# evict NS POD: posts a policy/v1 Eviction.
evict() {
	kubectl create --raw "/api/v1/namespaces/$1/pods/$2/eviction" -f - <<EOF
{"apiVersion":"policy/v1","kind":"Eviction","metadata":{"name":"$2","namespace":"$1"}}
EOF
}

pod_yaml() { # NAME LABEL-VALUE
	cat <<EOF
apiVersion: v1
kind: Pod
metadata: {name: $1, labels: {app: $2}}
spec:
  containers:
  - name: main
    image: nginx
    ports: [{name: web, containerPort: 8080}]
EOF
}

# --- the API server's own endpoints ---
port=$(kubectl config view -o jsonpath='{.clusters[0].cluster.server}' | sed -E 's/.*:([0-9]+).*/\1/')
wait_for "kubernetes Endpoints name the server's address and port" "^127\.0\.0\.1:$port$" \
	kubectl get endpoints kubernetes -o jsonpath='{.subsets[0].addresses[0].ip}:{.subsets[0].ports[0].port}'
expect_out "kubernetes Endpoints are not mirrored" '^true$' \
	kubectl get endpoints kubernetes -o jsonpath='{.metadata.labels.endpointslice\.kubernetes\.io/skip-mirror}'
wait_for "kubernetes EndpointSlice is the server's" "^IPv4 127\.0\.0\.1 https $port$" \
	kubectl get endpointslice kubernetes -o jsonpath='{.addressType} {.endpoints[0].addresses[0]} {.ports[0].name} {.ports[0].port}'

# --- a service over pods: Endpoints and EndpointSlices ---
cat >"$W/web.yaml" <<'EOF'
apiVersion: v1
kind: Node
metadata:
  name: n1
  labels: {topology.kubernetes.io/zone: zone-a}
---
apiVersion: v1
kind: Service
metadata:
  name: web
  labels: {tier: front}
spec:
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: web}
  - {name: admin, port: 9000, targetPort: 9000}
EOF
{ echo ---; pod_yaml web-1 web; echo ---; pod_yaml web-2 web; echo ---; pod_yaml other other; } >>"$W/web.yaml"
check "service, node and pods created" kubectl apply -f "$W/web.yaml"
wait_for "a service without ready pods has empty Endpoints" '^web +<none>' kubectl get endpoints web
wait_for "a service without endpoints has a placeholder slice" '^web-[a-z0-9]{5} +IPv4 +<unset> +<unset>' \
	kubectl get endpointslices -l kubernetes.io/service-name=web
run_pod default web-1 10.1.0.11 True
run_pod default web-2 10.1.0.12 False
run_pod default other 10.1.0.13 True
wait_for "ready pod under addresses, port resolved by name" '^10\.1\.0\.11/web-1/n1 http:8080,admin:9000$' \
	kubectl get endpoints web -o jsonpath='{.subsets[0].addresses[*].ip}/{.subsets[0].addresses[*].targetRef.name}/{.subsets[0].addresses[0].nodeName} {.subsets[0].ports[0].name}:{.subsets[0].ports[0].port},{.subsets[0].ports[1].name}:{.subsets[0].ports[1].port}'
expect_out "not-ready pod under notReadyAddresses" '^10\.1\.0\.12$' \
	kubectl get endpoints web -o jsonpath='{.subsets[0].notReadyAddresses[*].ip}'
expect_out "Endpoints carry the service's labels" '^front$' kubectl get endpoints web -o jsonpath='{.metadata.labels.tier}'
expect_out "Endpoints carry the trigger-time annotation" '^20[0-9-]+T[0-9:]+Z$' \
	kubectl get endpoints web -o jsonpath='{.metadata.annotations.endpoints\.kubernetes\.io/last-change-trigger-time}'
expect_out "one slice for the service" '^1$' sh -c \
	"kubectl get endpointslices -l kubernetes.io/service-name=web -o name | wc -l"
slice=$(kubectl get endpointslices -l kubernetes.io/service-name=web -o jsonpath='{.items[0].metadata.name}')
expect_out "slice named <service>-<random>, managed by the controller" \
	'^web-[a-z0-9]{5} endpointslice-controller\.k8s\.io IPv4 Service/web$' \
	kubectl get endpointslice "$slice" -o jsonpath='{.metadata.name} {.metadata.labels.endpointslice\.kubernetes\.io/managed-by} {.addressType} {.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name}'
expect_out "slice endpoints with conditions, node, zone and pod" \
	'^10\.1\.0\.11:true:true:false:n1:zone-a:web-1 10\.1\.0\.12:false:false:false:n1:zone-a:web-2 $' \
	kubectl get endpointslice "$slice" -o jsonpath='{range .endpoints[*]}{.addresses[0]}:{.conditions.ready}:{.conditions.serving}:{.conditions.terminating}:{.nodeName}:{.zone}:{.targetRef.name} {end}'
expect_out "slice ports resolved from the pods" '^http/8080/TCP admin/9000/TCP $' \
	kubectl get endpointslice "$slice" -o jsonpath='{range .ports[*]}{.name}/{.port}/{.protocol} {end}'
rv=$(kubectl get endpointslice "$slice" -o jsonpath='{.metadata.resourceVersion}')
kubectl patch pod web-2 --subresource=status --type=merge -p \
	'{"status":{"conditions":[{"type":"Ready","status":"True","lastTransitionTime":"2024-05-01T10:05:00Z"}]}}' >/dev/null
wait_for "a pod turning ready moves to addresses" '^10\.1\.0\.11 10\.1\.0\.12/$' \
	kubectl get endpoints web -o jsonpath='{.subsets[0].addresses[*].ip}/{.subsets[0].notReadyAddresses[*].ip}'
wait_for "the same slice is updated in place" "^$slice true$" \
	kubectl get endpointslice "$slice" -o jsonpath='{.metadata.name} {.endpoints[1].conditions.ready}'
rv2=$(kubectl get endpointslice "$slice" -o jsonpath='{.metadata.resourceVersion}')
sleep 0.5
expect_out "nothing rewrites an unchanged slice" "^$rv2$" \
	kubectl get endpointslice "$slice" -o jsonpath='{.metadata.resourceVersion}'
[ "$rv" != "$rv2" ] && pass "the slice changed when the pod did" || fail "the slice changed when the pod did" "rv $rv"

cat >"$W/headless.yaml" <<'EOF'
apiVersion: v1
kind: Service
metadata: {name: web-headless}
spec:
  clusterIP: None
  selector: {app: web}
EOF
check "headless service without ports created" kubectl apply -f "$W/headless.yaml"
wait_for "headless service gets its pods' addresses" '^10\.1\.0\.11 10\.1\.0\.12/$' \
	kubectl get endpoints web-headless -o jsonpath='{.subsets[0].addresses[*].ip}/{.subsets[0].ports}'
expect_out "headless Endpoints are labelled headless" 'service.kubernetes.io/headless' \
	kubectl get endpoints web-headless -o jsonpath='{.metadata.labels}'

check "service deleted" kubectl delete service web
wait_for "its Endpoints go with it" 'NotFound' sh -c 'kubectl get endpoints web 2>&1; true'
wait_for "its slices go with it" '^0$' sh -c "kubectl get endpointslices -l kubernetes.io/service-name=web -o name | wc -l"

# --- PodDisruptionBudget and eviction ---
cat >"$W/pdb.yaml" <<'EOF'
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web-pdb}
spec:
  minAvailable: 2
  selector: {matchLabels: {app: web}}
EOF
check "pdb created" kubectl apply -f "$W/pdb.yaml"
wait_for "pdb status counts healthy pods" '^2 2 2 0 1$' kubectl get pdb web-pdb -o \
	jsonpath='{.status.currentHealthy} {.status.desiredHealthy} {.status.expectedPods} {.status.disruptionsAllowed} {.status.observedGeneration}'
expect_out "pdb condition says insufficient pods" '^False InsufficientPods$' kubectl get pdb web-pdb -o \
	jsonpath='{.status.conditions[?(@.type=="DisruptionAllowed")].status} {.status.conditions[?(@.type=="DisruptionAllowed")].reason}'
expect_err "eviction violating the budget is 429" \
	"TooManyRequests.*Cannot evict pod as it would violate the pod's disruption budget\." evict default web-1
expect_out "the pod survived" '^web-1$' kubectl get pod web-1 -o jsonpath='{.metadata.name}'
check "pdb relaxed to minAvailable 1" kubectl patch pdb web-pdb --type=merge -p '{"spec":{"minAvailable":1}}'
wait_for "pdb allows one disruption" '^1 SufficientPods 2$' kubectl get pdb web-pdb -o \
	jsonpath='{.status.disruptionsAllowed} {.status.conditions[0].reason} {.status.observedGeneration}'
check "eviction within the budget succeeds" evict default web-1
wait_for "the evicted pod is gone" 'NotFound' sh -c 'kubectl get pod web-1 2>&1; true'
wait_for "the budget is spent" '^0 1 1$' kubectl get pdb web-pdb -o \
	jsonpath='{.status.disruptionsAllowed} {.status.currentHealthy} {.status.expectedPods}'
expect_err "the next eviction is refused" 'TooManyRequests' evict default web-2
check "a pod no budget covers is evicted" evict default other

# --- ResourceQuota ---
check "namespace q" kubectl create namespace q
# k8s: the namespace's kube-root-ca.crt counts against count/configmaps too.
check "quota of 2 pods and 1 cpu" kubectl create quota q -n q --hard=pods=2,requests.cpu=1,count/configmaps=2
wait_for "quota status mirrors hard and counts usage" '^2 0 0$' kubectl get quota q -n q -o \
	jsonpath='{.status.hard.pods} {.status.used.pods} {.status.used.requests\.cpu}'
for i in 1 2; do
	check "pod $i within quota" kubectl run "p$i" -n q --image=nginx --restart=Never \
		--overrides='{"spec":{"containers":[{"name":"main","image":"nginx","resources":{"requests":{"cpu":"300m"}}}]}}'
done
expect_err "third pod exceeds the quota" \
	'pods "p3" is forbidden: exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2' \
	kubectl run p3 -n q --image=nginx --restart=Never \
	--overrides='{"spec":{"containers":[{"name":"main","image":"nginx","resources":{"requests":{"cpu":"300m"}}}]}}'
wait_for "quota status counts the pods" '^2 600m$' kubectl get quota q -n q -o \
	jsonpath='{.status.used.pods} {.status.used.requests\.cpu}'
check "a pod deleted" kubectl delete pod p2 -n q --wait=false
expect_err "a pod without the constrained request is refused" \
	'pods "p4" is forbidden: failed quota: q: must specify requests.cpu for: p4' \
	kubectl run p4 -n q --image=nginx --restart=Never
expect_err "cpu beyond the quota is refused" \
	'exceeded quota: q, requested: requests.cpu=800m, used: requests.cpu=300m, limited: requests.cpu=1' \
	kubectl run p5 -n q --image=nginx --restart=Never \
	--overrides='{"spec":{"containers":[{"name":"main","image":"nginx","resources":{"requests":{"cpu":"800m"}}}]}}'
check "configmap within quota" kubectl create configmap c1 -n q
expect_err "object count quota" 'exceeded quota: q, requested: count/configmaps=1, used: count/configmaps=2, limited: count/configmaps=2' \
	kubectl create configmap c2 -n q

# --- LimitRange ---
check "namespace lr" kubectl create namespace lr
cat >"$W/lr.yaml" <<'EOF'
apiVersion: v1
kind: LimitRange
metadata: {name: limits}
spec:
  limits:
  - type: Container
    default: {cpu: 500m, memory: 256Mi}
    defaultRequest: {cpu: 200m, memory: 128Mi}
    max: {cpu: "1"}
EOF
check "limitrange created" kubectl apply -n lr -f "$W/lr.yaml"
check "pod without resources" kubectl run plain -n lr --image=nginx --restart=Never
expect_out "LimitRange defaults land in the pod's resources" '^200m 128Mi 500m 256Mi$' kubectl get pod plain -n lr -o \
	jsonpath='{.spec.containers[0].resources.requests.cpu} {.spec.containers[0].resources.requests.memory} {.spec.containers[0].resources.limits.cpu} {.spec.containers[0].resources.limits.memory}'
expect_out "the limit-ranger annotation says what was set" \
	'^LimitRanger plugin set: cpu, memory request for container plain; cpu, memory limit for container plain$' \
	kubectl get pod plain -n lr -o jsonpath='{.metadata.annotations.kubernetes\.io/limit-ranger}'
check "pod with its own limit" kubectl run own -n lr --image=nginx --restart=Never \
	--overrides='{"spec":{"containers":[{"name":"own","image":"nginx","resources":{"limits":{"cpu":"800m"}}}]}}'
expect_out "a stated limit is also the request" '^800m 800m 128Mi$' kubectl get pod own -n lr -o \
	jsonpath='{.spec.containers[0].resources.requests.cpu} {.spec.containers[0].resources.limits.cpu} {.spec.containers[0].resources.requests.memory}'
expect_err "a limit over max is refused" \
	'pods "big" is forbidden: maximum cpu usage per Container is 1, but limit is 2' \
	kubectl run big -n lr --image=nginx --restart=Never \
	--overrides='{"spec":{"containers":[{"name":"big","image":"nginx","resources":{"limits":{"cpu":"2"}}}]}}'


# --- ReplicaSet creates under a quota: slow start, events, ReplicaFailure ---
# k8s: the ReplicaSet controller creates in batches of 1, 2, 4, ... and stops at the first
# refusal, records SuccessfulCreate / FailedCreate / SuccessfulDelete on the set, reports
# ReplicaFailure (which the Deployment carries) while creates fail, and retries with backoff.
# Events are named <object>.<hex UnixNano>, as client-go names them; a repeat bumps the
# count of the first, and similar ones (distinct messages) are combined from the tenth on.
check "namespace qs" kubectl create namespace qs
check "a quota of 2 pods" kubectl create quota qs -n qs --hard=pods=2
T0=$(date +%s)
check "a 20-replica deployment" kubectl create deployment over -n qs --image=nginx --replicas=20
wait_for "the quota lets 2 pods in" '^2$' sh -c 'kubectl get pods -n qs -o name | wc -l'
RS=$(kubectl get rs -n qs -o jsonpath='{.items[0].metadata.name}')
rs_events() { # REASON: the messages of the set's events of that reason
	kubectl get events -n qs --field-selector "involvedObject.name=$RS,reason=$1" \
		-o jsonpath='{range .items[*]}{.message}{"\n"}{end}'
}
wait_for "SuccessfulCreate names each pod created" '^2$' sh -c \
	"kubectl get events -n qs --field-selector involvedObject.name=$RS,reason=SuccessfulCreate -o jsonpath='{range .items[*]}{.message}{\"\\n\"}{end}' | grep -Ec '^Created pod: $RS-[a-z0-9]{5}\$'"
expect_out "FailedCreate says what the quota refused" \
	"^Error creating: pods \"$RS-[a-z0-9]{5}\" is forbidden: exceeded quota: qs, requested: pods=1, used: pods=2, limited: pods=2\$" \
	rs_events FailedCreate
sleep 1
# Without the slow start one sync alone tries the 18 creates the quota refuses; with it each
# sync stops at its first refusal, and the retries back off (5 ms doubling).
NFAIL=$(rs_events FailedCreate | grep -c 'exceeded quota')
if [ "$NFAIL" -ge 1 ] && [ "$NFAIL" -lt 18 ]; then pass "slow start: $NFAIL refused creates, not 18 a sync"
else fail "slow start: refused creates" "got $NFAIL, want 1..17"; fi
# k8s (the event correlator): from the tenth distinct message of one object and reason in
# ten minutes, one "(combined from similar events)" event, counted (retry 10 is ~2.6 s in)
out=
for _ in $(seq 1 100); do
	out=$(kubectl get events -n qs --field-selector "involvedObject.name=$RS,reason=FailedCreate" \
		-o jsonpath='{range .items[*]}{.count} {.message}{"\n"}{end}' | grep combined)
	[ -n "$out" ] && break
	sleep 0.2
done
expect_out "similar refusals are combined into one event" \
	"^[0-9]+ \(combined from similar events\): Error creating: pods \"$RS-[a-z0-9]{5}\" is forbidden: exceeded quota: qs" \
	echo "$out"
wait_for "the set reports ReplicaFailure" '^True FailedCreate pods ".*" is forbidden: exceeded quota: qs' \
	kubectl get rs "$RS" -n qs -o jsonpath='{.status.conditions[?(@.type=="ReplicaFailure")].status} {.status.conditions[?(@.type=="ReplicaFailure")].reason} {.status.conditions[?(@.type=="ReplicaFailure")].message}'
wait_for "the deployment carries it" '^True FailedCreate pods ".*" is forbidden: exceeded quota: qs' \
	kubectl get deploy over -n qs -o jsonpath='{.status.conditions[?(@.type=="ReplicaFailure")].status} {.status.conditions[?(@.type=="ReplicaFailure")].reason} {.status.conditions[?(@.type=="ReplicaFailure")].message}'
# event names: <object>.<hex UnixNano>, within this test's time, in the order they happened
T1=$(date +%s)
BAD=0 NEV=0
for ev in $(kubectl get events -n qs --field-selector "involvedObject.name=$RS" \
	-o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}'); do
	NEV=$((NEV + 1))
	hx=${ev#"$RS."}
	if [ "${#hx}" != 16 ] || ! [[ $hx =~ ^[0-9a-f]+$ ]]; then BAD=$((BAD + 1)); continue; fi
	s=$((16#$hx / 1000000000))
	{ [ "$s" -ge $((T0 - 1)) ] && [ "$s" -le $((T1 + 1)) ]; } || BAD=$((BAD + 1))
done
[ "$NEV" -ge 3 ] || BAD="only $NEV events"
expect_out "events are named by the time of the first" '^0$' echo "$BAD"
check "the quota raised to 20" kubectl patch quota qs -n qs --type=merge -p '{"spec":{"hard":{"pods":"20"}}}'
# pods_in NS N: how many pods NS has once it has N, or after 60 s
pods_in() {
	local n=0
	for _ in $(seq 1 120); do
		n=$(kubectl get pods -n "$1" -o name | wc -l)
		[ "$n" = "$2" ] && break
		sleep 0.5
	done
	echo "$n"
}
# a retry (the backoff has grown to seconds) or the next sync creates the rest
expect_out "once the quota allows, the rest are created" '^20$' pods_in qs 20
wait_for "the set's ReplicaFailure is gone" '^20 $' \
	kubectl get rs "$RS" -n qs -o jsonpath='{.status.replicas} {.status.conditions[?(@.type=="ReplicaFailure")].status}'
wait_for "and the deployment's" '^ok$' sh -c \
	"kubectl get deploy over -n qs -o jsonpath='{.status.conditions[*].type}' | grep -q ReplicaFailure || echo ok"
check "scaled down to 18" kubectl scale deploy over -n qs --replicas=18
wait_for "SuccessfulDelete names each pod deleted" '^2$' sh -c \
	"kubectl get events -n qs --field-selector involvedObject.name=$RS,reason=SuccessfulDelete -o jsonpath='{range .items[*]}{.message}{\"\\n\"}{end}' | grep -Ec '^Deleted pod: $RS-[a-z0-9]{5}\$'"
check "scaled up to 20" kubectl scale deploy over -n qs --replicas=20
wait_for "the set wants 20" '^20$' kubectl get rs "$RS" -n qs -o jsonpath='{.spec.replicas}'
check "scaled down to 18 again" kubectl scale deploy over -n qs --replicas=18
wait_for "a repeated event bumps the first one's count" "^2 over\\.[0-9a-f]{16}\$" \
	kubectl get events -n qs --field-selector involvedObject.name=over,reason=ScalingReplicaSet \
	-o jsonpath="{range .items[?(@.message==\"Scaled down replica set $RS from 20 to 18\")]}{.count} {.metadata.name}{end}"

# --- a Job under a quota: the same slow start, and its pods once the quota allows ---
check "namespace qj" kubectl create namespace qj
check "a quota of 2 pods there" kubectl create quota qj -n qj --hard=pods=2
check "a Job of parallelism 40" kubectl create -n qj -f - <<'YAML'
apiVersion: batch/v1
kind: Job
metadata: {name: wide}
spec:
  parallelism: 40
  completions: 40
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox}]
YAML
wait_for "the quota lets 2 of its pods in" '^2$' sh -c 'kubectl get pods -n qj -o name | wc -l'
sleep 1
# every refusal, counted (similar ones are combined into one event with a count)
NREF=$(kubectl get events -n qj --field-selector involvedObject.name=wide,reason=FailedCreate \
	-o jsonpath='{range .items[*]}{.count}{"\n"}{end}' | awk '{n += $1} END {print n + 0}')
if [ "$NREF" -ge 1 ] && [ "$NREF" -lt 38 ]; then pass "slow start: $NREF refused creates, not 38 a sync"
else fail "Job slow start: refused creates" "got $NREF, want 1..37"; fi
check "the Job's quota raised" kubectl patch quota qj -n qj --type=merge -p '{"spec":{"hard":{"pods":"40"}}}'
expect_out "once the quota allows, the Job's other pods are created" '^40$' pods_in qj 40
finish
