#!/usr/bin/env bash
# test_walkthrough.sh — the user's walkthrough (the seed's "Setting Up a Local Kubernetes
# Cluster" and "Deploying an AI Workload on Kubernetes", docs/tutorial.md) end to end, as
# root: a single-node `timon server` with its agent and the nftables service proxy in a
# temporary data dir, a local registry on 127.0.0.1 that registries.yaml maps docker.io to,
# the two images built from Debian packages (build-images.sh, cached) and pushed there.
# Then the seed's commands verbatim: hello-world on nginx, exposed as a NodePort, its URL
# from `timon service --url`, the welcome page; the scikit-learn Deployment and Service
# (image name substituted), /predict answers setosa; scaled to 3, 1,000 requests all
# succeed and every replica serves some; the same image imported as an OCI archive
# (`timon images import`) runs without a registry. Wrong inputs: an image typo ends in
# ImagePullBackOff with the registry's answer in describe; a wrong targetPort or a
# selector matching nothing is refused at once, not a hang. Prints (never asserts) the
# time from apply to the first /predict and wrk figures through the NodePort and straight
# to one pod. Traffic goes only to 127.0.0.1, the node's own address and the test's pods.
# Environment: TIMON_E2E_BENCH=0 skips the wrk figures.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../integration/agentlib.sh"
E2E=$(cd "$(dirname "$0")" && pwd)
T0=$SECONDS

e2e_cleanup() {
	if [ -n "$SERVER_PID" ]; then
		# Controllers first, so the pods agent_cleanup deletes stay deleted.
		timeout 30 kubectl delete deployment,service --all --wait=false >/dev/null 2>&1
		# python as PID 1 ignores SIGTERM (no handler), so the seed's pods would use up
		# their whole 30 s grace period.
		timeout 60 kubectl delete pods --all --grace-period=1 --wait=true --timeout=50s >/dev/null 2>&1
	fi
	agent_cleanup
}
trap e2e_cleanup EXIT

for tool in mmdebstrap wrk nft; do
	command -v "$tool" >/dev/null || { fail "tool $tool is installed (scripts/install-deps)"; finish; exit 1; }
done
agent_setup || { finish; exit 1; }

# ---- the images ----
t=$SECONDS
if ! layouts=$("$E2E/build-images.sh" 2>"$TMP/build-images.log"); then
	fail "the walkthrough's images build from Debian packages" "$(tail -n 20 "$TMP/build-images.log")"
	finish
	exit 1
fi
pass "the walkthrough's images build from Debian packages ($((SECONDS - t)) s)"
push() { # NAME REPO
	local layout
	layout=$(echo "$layouts" | awk -v n="$1" '$1 == n { print $2 }')
	skopeo copy --quiet --dest-tls-verify=false oci:"$layout":latest "docker://$REG/$2"
}
check "nginx is pushed as docker.io/library/nginx:latest (the mirror)" push nginx library/nginx:latest
check "the inference image is pushed as docker.io/library/scikit-inference:latest" \
	push scikit-inference library/scikit-inference:latest

# ---- the cluster: timon server in minikube's place ----
# The agent runs the service proxy by default. The walkthrough needs neither the cluster
# DNS nor the ingress, which would take this machine's ports 53, 80 and 443.
mkdir -p "$TMP/logs"
"$TIMON" server --data-dir "$TMP/data" --https-port 0 --node-name "$AGENT_NODE" \
	--agent-run-dir "$AGENT_RUN" --cni-bridge "$AGENT_BRIDGE" --pod-log-dir "$TMP/logs" \
	--registry-config "$TMP/registries.yaml" --pod-cidr "10.42.$AGENT_POD_NET.0/24" \
	--disable-dns --disable-ingress --eviction-hard "$AGENT_EVICTION" >>"$TMP/server.log" 2>&1 &
SERVER_PID=$!
check "the service proxy is on" wait_for 30 grep -q "proxy: nftables mode" "$TMP/server.log"
check "the node is Ready" wait_for 30 sh -c \
	"kubectl get node '$AGENT_NODE' -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}' | grep -q True"
NODE_IP=$(kubectl get node "$AGENT_NODE" -o jsonpath='{.status.addresses[?(@.type=="InternalIP")].address}')
expect_out "the node has an InternalIP" '^[0-9.]+$' echo "$NODE_IP"

# service_url NAME: minikube's `minikube service NAME --url`.
service_url() {
	if "$TIMON" service --help >/dev/null 2>&1; then
		"$TIMON" service "$1" --url | head -n 1
	else # a timon without the service command: the same URL from the Service's NodePort
		echo "http://$NODE_IP:$(kubectl get service "$1" -o jsonpath='{.spec.ports[0].nodePort}')"
	fi
}

# ---- hello-world, as the seed writes it ----
check "kubectl create deployment hello-world --image=nginx" kubectl create deployment hello-world --image=nginx
expect_out "kubectl get deployments" "^hello-world " kubectl get deployments
expect_out "kubectl get pods" "^hello-world-" kubectl get pods
check "kubectl expose deployment hello-world --type=NodePort --port=80" \
	kubectl expose deployment hello-world --type=NodePort --port=80
check "hello-world rolls out" kubectl rollout status deployment/hello-world --timeout=120s
expect_out "kubectl get deployments shows it available" "^hello-world +1/1 +1 +1 " kubectl get deployments
URL=$(service_url hello-world)
expect_out "timon service hello-world --url prints the NodePort URL" "^http://$NODE_IP:3[0-9]{4}$" echo "$URL"
# net_diag APP PORT: what a failed request through a NodePort leaves to look at: the
# pods, the route to each and whether it answers straight, the proxy's table and log
# lines, and any other interface on the pod network.
net_diag() {
	local ip
	kubectl get pods -o wide 2>&1
	for ip in $(kubectl get pods -l "app=$1" -o jsonpath='{.items[*].status.podIP}'); do
		echo "route: $(ip -4 route get "$ip" 2>&1 | head -n 1)"
		echo "straight to $ip:$2: $(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "http://$ip:$2/" 2>&1)"
	done
	ip -4 -o addr show to 10.42.0.0/16 2>&1
	echo "rules in inet timon-$AGENT_NODE: $(nft list table inet "timon-$AGENT_NODE" 2>&1 | wc -l)"
	grep -E "proxy:" "$TMP/server.log" | tail -n 5
}
if wait_for 30 sh -c "curl -sf --max-time 5 '$URL' | grep -q 'Welcome to nginx!'"; then
	pass "the nginx welcome page answers at that URL"
else
	fail "the nginx welcome page answers at that URL" "$(net_diag hello-world 80)"
fi

# ---- the inference service ----
sed 's|your-dockerhub-username/scikit-inference:latest|scikit-inference:latest|' \
	"$E2E/manifests/scikit-inference-deployment.yaml" >"$TMP/scikit-inference-deployment.yaml"
cp "$E2E/manifests/scikit-inference-service.yaml" "$TMP/"
predict() { # URL: the seed's request
	curl -sf --max-time 5 -X POST -H "Content-Type: application/json" \
		-d '{"features": [5.1, 3.5, 1.4, 0.2]}' "$1/predict"
}
t_apply=$(date +%s.%N)
check "kubectl apply -f scikit-inference-deployment.yaml" kubectl apply -f "$TMP/scikit-inference-deployment.yaml"
check "kubectl apply -f scikit-inference-service.yaml" kubectl apply -f "$TMP/scikit-inference-service.yaml"
SURL=http://$NODE_IP:$(kubectl get service scikit-inference-service -o jsonpath='{.spec.ports[0].nodePort}')
first=
end=$((SECONDS + 120))
while [ "$SECONDS" -lt "$end" ]; do
	out=$(predict "$SURL" 2>/dev/null) && { first=$(date +%s.%N); break; }
	sleep 0.2
done
if [ -n "$first" ] && python3 -c 'import json,sys; sys.exit(json.loads(sys.argv[1]) != {"prediction": [0]})' "$out"; then
	pass "curl -X POST .../predict answers {\"prediction\": [0]} (setosa)"
else
	fail "curl -X POST .../predict answers {\"prediction\": [0]} (setosa)" "got: ${out:-nothing in 120 s}" \
		"$(net_diag scikit-inference 5000)"
fi
check "the rollout is complete" kubectl rollout status deployment/scikit-inference-deployment --timeout=60s
expect_out "kubectl get svc lists the NodePort" "scikit-inference-service +NodePort .* 80:3[0-9]{4}/TCP" kubectl get svc
[ -n "$first" ] && printf 'figure: kubectl apply to the first successful /predict: %.1f s\n' "$(echo "$first - $t_apply" | bc)"

# ---- scaled to 3 ----
check "kubectl scale deployment scikit-inference-deployment --replicas=3" \
	kubectl scale deployment scikit-inference-deployment --replicas=3
check "3 replicas roll out" kubectl rollout status deployment/scikit-inference-deployment --timeout=120s
check "the service has 3 ready endpoints" wait_for 30 sh -c "[ \"\$(kubectl get endpointslices -l kubernetes.io/service-name=scikit-inference-service -o jsonpath='{range .items[*].endpoints[?(@.conditions.ready==true)]}{.addresses[0]} {end}' | wc -w)\" -eq 3 ]"
PODS=$(kubectl get pods -l app=scikit-inference -o jsonpath='{.items[*].metadata.name}')
# The seed's Deployment has no readinessProbe, so a replica is Ready (and an endpoint) as
# soon as its container starts, a few seconds before Flask listens; wait for each one.
for p in $PODS; do
	ip=$(kubectl get pod "$p" -o jsonpath='{.status.podIP}')
	check "replica $p answers /predict at $ip:5000" wait_for 60 predict "http://$ip:5000"
done
served() { kubectl logs "$1" 2>/dev/null | grep -c 'POST /predict'; }
# The same load straight to the replicas first: a failure here is the pods' (Flask, the
# kernel), not the service proxy's.
for p in $PODS; do
	ip=$(kubectl get pod "$p" -o jsonpath='{.status.podIP}')
	expect_out "300 requests straight to $p all succeed" "^ok 300 failed 0$" \
		python3 "$E2E/predict_load.py" "http://$ip:5000/predict" 300 4
done
declare -A before
for p in $PODS; do before[$p]=$(served "$p"); done
t=$(date +%s.%N)
# A new connection per request, so the proxy picks a replica for each: all must succeed.
# (1-4 of 1,000 were now and then refused, at the load's first instant: the first /predict
# above polls the node port while no endpoint exists, and a refused connection of the node
# to itself used to leave a conntrack entry that refused a reuse of its client port for
# 10 s; docs/proxy.md.) Should any fail, the resets and ICMP errors, the TCP counters of
# the host and the pods, the conntrack events of the connections that never got
# established and the service's EndpointSlice changes during the load are printed.
NP=${SURL##*:}
# conntrack's counters over all CPUs (invalid packets are not NATed: a SYN taken as one
# would reach the host's own port, where nothing listens).
ct_stats() { conntrack -S 2>/dev/null | awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); t[kv[1]] += kv[2] } }
	END { printf "invalid=%d insert_failed=%d drop=%d clash_resolve=%d", t["invalid"], t["insert_failed"], t["drop"], t["clash_resolve"] }'; }
# Who sends the resets: TCP counters of the host and of every pod namespace of this node.
tcp_stats() { # [netns file]: "OutRsts=N ListenOverflows=N ListenDrops=N"
	local run=(nstat -asz TcpOutRsts TcpExtListenOverflows TcpExtListenDrops TcpExtTCPAbortOnData)
	[ -n "${1:-}" ] && run=(nsenter --net="$1" "${run[@]}")
	"${run[@]}" 2>/dev/null | awk '$1 ~ /^Tcp/ { sub(/^Tcp(Ext)?/, "", $1); printf "%s=%s ", $1, $2 }'
}
pods_tcp_stats() { for ns in "$AGENT_RUN"/netns/*; do [ -e "$ns" ] && echo "$(basename "$ns"): $(tcp_stats "$ns")"; done; }
CT_BEFORE=$(ct_stats)
HOST_TCP_BEFORE=$(tcp_stats)
PODS_TCP_BEFORE=$(pods_tcp_stats)
CT_PID=
if command -v conntrack >/dev/null; then
	conntrack -E -b 16777216 -p tcp --orig-port-dst "$NP" -o timestamp >"$TMP/conntrack.log" 2>/dev/null &
	CT_PID=$!
	sleep 0.3
fi
# Every reset and ICMP error during the load, with the interface it crossed: a refusal is a
# reset with ACK ([R.]) answering a SYN, and its interface says who sent it (lo: the host's
# own stack; a veth or the bridge: a pod).
TD_PID=
if command -v tcpdump >/dev/null; then
	tcpdump -i any -nn -s 128 -U -w "$TMP/resets.pcap" 'tcp[tcpflags] & tcp-rst != 0 or icmp' 2>/dev/null &
	TD_PID=$!
fi
# The service's endpoints as the proxy sees them change, should any change during the load.
kubectl get endpointslices -l kubernetes.io/service-name=scikit-inference-service -w \
	--output-watch-events -o jsonpath='{.type} {.object.metadata.resourceVersion}{range .object.endpoints[*]} {.addresses[0]}={.conditions.ready}{end}{"\n"}' \
	>"$TMP/slices.log" 2>&1 &
WATCH_PID=$!
sleep 0.3
load=$(python3 "$E2E/predict_load.py" "$SURL/predict" 1000 4)
if [ -n "$CT_PID" ]; then sleep 0.5; kill "$CT_PID" 2>/dev/null; wait "$CT_PID" 2>/dev/null; fi
if [ -n "$TD_PID" ]; then kill "$TD_PID" 2>/dev/null; wait "$TD_PID" 2>/dev/null; fi
resets() { [ -s "$TMP/resets.pcap" ] && tcpdump -nn -r "$TMP/resets.pcap" 2>/dev/null; }
echo "figure: during the load: $(resets | grep -c 'Flags \[R\.\]') resets with ACK (refusals), $(resets | grep -c 'Flags \[R\],') bare resets, $(resets | grep -c ICMP) ICMP errors"
kill "$WATCH_PID" 2>/dev/null
wait "$WATCH_PID" 2>/dev/null
echo "figure: conntrack counters before the load: $CT_BEFORE; after: $(ct_stats)"
echo "figure: host TCP counters before the load: $HOST_TCP_BEFORE; after: $(tcp_stats)"
PODS_TCP_AFTER=$(pods_tcp_stats)
rsts() { grep -o 'OutRsts=[0-9]*' | cut -d= -f2 | awk '{ n += $1 } END { print n + 0 }'; }
echo "figure: resets sent by the pods during the load: $(($(echo "$PODS_TCP_AFTER" | rsts) - $(echo "$PODS_TCP_BEFORE" | rsts))) ($(echo "$PODS_TCP_AFTER" | grep -c .) pod namespaces)"
echo "figure: EndpointSlice events from before to after the load: $(grep -c . "$TMP/slices.log") (the first is the listing)"
refused=$(echo "$load" | sed -n 's/^refused //p')
echo "figure: 1,000 requests through the NodePort: $(echo "$load" | head -n 1), of them refused: $refused"
failed=$(echo "$load" | head -n 1 | sed -nE 's/^ok [0-9]+ failed ([0-9]+)$/\1/p')
if [ "$failed" = 0 ]; then
	pass "1,000 requests through the NodePort all succeed"
else
	fail "1,000 requests through the NodePort all succeed" "$load"
fi
if [ "$failed" != 0 ]; then
	echo "  pod namespaces' TCP counters before the load:"
	echo "$PODS_TCP_BEFORE" | sed 's/^/    /'
	echo "  and after:"
	echo "$PODS_TCP_AFTER" | sed 's/^/    /'
	echo "  the service's EndpointSlices (watch from before the load to after it):"
	sed 's/^/    /' "$TMP/slices.log" | head -n 20
	echo "  resets with ACK and ICMP errors during the load (interface: lo is the host's stack):"
	resets | grep -E 'Flags \[R\.\]|ICMP' | head -n 20 | sed 's/^/    /'
	if [ -s "$TMP/conntrack.log" ]; then
		echo "  conntrack events of connections to :$NP never established:"
		awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^sport=/) { p = $i; break } } { n[p]++; l[p] = l[p] "    " $0 "\n" } /ESTABLISHED/ { e[p] = 1 }
			END { for (p in n) if (!e[p]) printf "%s", l[p] }' "$TMP/conntrack.log" | head -n 40
	fi
fi
printf 'figure: 1,000 requests (4 clients, a connection each) took %.1f s\n' "$(echo "$(date +%s.%N) - $t" | bc)"
spread=
for p in $PODS; do spread="$spread $p=$(($(served "$p") - before[$p]))"; done
echo "figure: requests per replica:$spread"
check "every replica served some" sh -c "! echo '$spread' | grep -Eq '=0( |$)'"

# ---- without a registry: an OCI archive through timon images import ----
LAYOUT=$(echo "$layouts" | awk '$1 == "scikit-inference" { print $2 }')
check "skopeo copy oci:LAYOUT:latest oci-archive:scikit-inference.tar:v1" \
	skopeo copy --quiet oci:"$LAYOUT":latest oci-archive:"$TMP/scikit-inference.tar":v1
expect_out "timon images import --name scikit-inference scikit-inference.tar" "docker.io/library/scikit-inference:v1" \
	"$TIMON" images import --root "$TMP/data/agent/images" --name scikit-inference "$TMP/scikit-inference.tar"
kubectl create deployment imported --image=scikit-inference:v1 >/dev/null
if kubectl rollout status deployment/imported --timeout=60s >/dev/null 2>&1; then
	pass "a Deployment of the imported image rolls out"
else
	fail "a Deployment of the imported image rolls out" "$(kubectl describe pods -l app=imported 2>&1 | tail -n 12)"
fi
IIP=$(kubectl get pods -l app=imported -o jsonpath='{.items[0].status.podIP}')
check "and answers /predict" wait_for 30 predict "http://$IIP:5000"
kubectl delete deployment imported --wait=false >/dev/null 2>&1

# ---- wrong inputs are explained ----
kubectl create deployment typo --image=ngnix >/dev/null
check "an image typo ends in ImagePullBackOff" wait_for 60 sh -c \
	"kubectl get pods -l app=typo -o jsonpath='{.items[0].status.containerStatuses[0].state.waiting.reason}' | grep -q ImagePullBackOff"
expect_out "kubectl describe pod shows the registry's answer" \
	"Failed to pull image .*ngnix.*(unknown|not found|404)" kubectl describe pod -l app=typo
kubectl delete deployment typo --wait=false >/dev/null 2>&1

kubectl expose deployment scikit-inference-deployment --name=wrong-port --type=NodePort --port=80 --target-port=5001 >/dev/null
WURL=http://$NODE_IP:$(kubectl get service wrong-port -o jsonpath='{.spec.ports[0].nodePort}')
refused() { # URL: refused (curl exit 7) within 3 s
	local s=$SECONDS rc
	predict "$1" >/dev/null 2>&1
	rc=$?
	[ "$rc" -eq 7 ] && [ $((SECONDS - s)) -le 3 ]
}
check "a wrong targetPort is refused at once, not a hang" wait_for 20 refused "$WURL"
kubectl create service nodeport no-match --tcp=80:5000 >/dev/null # selector app=no-match: no pods
NURL=http://$NODE_IP:$(kubectl get service no-match -o jsonpath='{.spec.ports[0].nodePort}')
expect_out "a service whose selector matches nothing has no endpoints" "<none>" kubectl get endpoints no-match
check "and is refused at once, not a hang" wait_for 20 refused "$NURL"

# ---- figures: wrk through the NodePort (3 replicas) and straight to one pod ----
wrk_line() { # URL: "N req/s, p99 X"
	local out
	out=$(wrk -t2 -c16 -d5s --latency -s "$E2E/predict.lua" "$1/predict" 2>&1)
	echo "$out" >>"$TMP/wrk.log"
	echo "$out" | grep -q 'Requests/sec' || { echo "wrk failed: $(echo "$out" | tail -n 3 | tr '\n' ' ')"; return; }
	echo "$(echo "$out" | awk '/Requests\/sec/ { print $2 }') req/s, p99 $(echo "$out" | awk '$1 == "99%" { print $2 }'), $(echo "$out" | grep -Eo '[0-9]+ requests in [0-9.]+s')$(echo "$out" | grep -Eo 'Non-2xx.*|Socket errors.*' | sed 's/^/, /')"
}
if [ "${TIMON_E2E_BENCH:-1}" != 0 ]; then
	POD_IP=$(kubectl get pods -l app=scikit-inference -o jsonpath='{.items[0].status.podIP}')
	echo "figure: /predict through the NodePort, 3 replicas (wrk -t2 -c16 -d5s): $(wrk_line "$SURL")"
	echo "figure: /predict straight to one pod $POD_IP:5000 (same wrk): $(wrk_line "http://$POD_IP:5000")"
fi
echo "figure: the walkthrough took $((SECONDS - T0)) s"
finish
