#!/usr/bin/env bash
# test_proxy.sh — the nftables service proxy on a real data path, all inside network
# namespaces this test creates: a "node" namespace runs `timon server` with
# TIMON_PROXY=nftables (so table inet timon-node-a lives only there), three "pod" namespaces hang
# off it on veth pairs (10.42.N.2, python3 http.server backends bound to their address)
# and an "ext" namespace plays an outside client (192.168.77.2 -> node 192.168.77.1).
# Services without selectors get hand-written EndpointSlices, so the test controls
# readiness exactly. Checks: ClusterIP over two backends answers from both; pods and the
# node reach it (hairpin included); NodePort answers on the node's address; external and
# internal traffic policies (client address kept, local endpoints only); scaling the
# slice changes backends; ClientIP affinity sticks; a service without ready endpoints
# refuses at once; serving terminating endpoints are used when none is ready; deleting
# the service removes its rules; stopping the server removes the table. The host's own
# ruleset is never touched. Needs root, ip, nft, curl, python3; fails otherwise (install-deps provides them; make test runs as root).
. "$(dirname "$0")/lib.sh"

for tool in ip nft curl python3; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "cannot run: $tool not found"
		echo "0 passed, 1 failed"
		exit 1
	fi
done
if [ "$(id -u)" -ne 0 ]; then
	echo "cannot run: needs root for network namespaces"
	echo "0 passed, 1 failed"
	exit 1
fi

ID=$$
NODE=tpx-node-$ID
EXT=tpx-ext-$ID
PODS=(tpx-p1-$ID tpx-p2-$ID tpx-p3-$ID)
NSES=()
BACKEND_PIDS=()
REAL_TIMON=$TIMON

proxy_cleanup() {
	local pid ns
	for pid in "${BACKEND_PIDS[@]}"; do
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	cleanup # lib.sh: stops the server, removes $TMP
	for ns in "${NSES[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
}
trap proxy_cleanup EXIT

in_node() { ip netns exec "$NODE" "$@"; }
# kubectl talks to the server on the node namespace's loopback.
kubectl() { ip netns exec "$NODE" kubectl "$@"; }

host_tables_before=$(nft list tables 2>/dev/null | sort)

# --- the namespaces ---
setup_net() {
	ip netns add "$NODE" && NSES+=("$NODE") || return 1
	in_node ip link set lo up
	in_node sysctl -qw net.ipv4.ip_forward=1
	local i=1 p
	for p in "${PODS[@]}"; do
		ip netns add "$p" && NSES+=("$p") || return 1
		ip -n "$NODE" link add "vp$i" type veth peer name eth0 netns "$p" || return 1
		ip -n "$NODE" addr add "10.42.$i.1/24" dev "vp$i"
		ip -n "$NODE" link set "vp$i" up
		ip -n "$p" link set lo up
		ip -n "$p" addr add "10.42.$i.2/24" dev eth0
		ip -n "$p" link set eth0 up
		ip -n "$p" route add default via "10.42.$i.1"
		i=$((i + 1))
	done
	ip netns add "$EXT" && NSES+=("$EXT") || return 1
	ip -n "$NODE" link add vx type veth peer name eth0 netns "$EXT" || return 1
	ip -n "$NODE" addr add 192.168.77.1/24 dev vx
	ip -n "$NODE" link set vx up
	ip -n "$EXT" link set lo up
	ip -n "$EXT" addr add 192.168.77.2/24 dev eth0
	ip -n "$EXT" link set eth0 up
	# The node's default route, so its own connections to service addresses route.
	ip -n "$NODE" route add default via 192.168.77.2
}
if ! setup_net; then
	fail "network namespaces" "could not create the test namespaces"
	finish
	exit 1
fi

# --- backends: each pod answers /who with its name (http.server, without the reverse DNS
# lookup of its address that http.server's server_bind does, which stalls in a namespace) ---
cat >"$TMP/backend.py" <<'EOF'
import functools, http.server, socketserver, sys
class Server(http.server.ThreadingHTTPServer):
    def server_bind(self):
        socketserver.TCPServer.server_bind(self)
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[3])
Server((sys.argv[1], int(sys.argv[2])), handler).serve_forever()
EOF
i=1
for p in "${PODS[@]}"; do
	mkdir -p "$TMP/www$i"
	echo "pod$i" >"$TMP/www$i/who"
	ip netns exec "$p" python3 "$TMP/backend.py" "10.42.$i.2" 8080 "$TMP/www$i" \
		>>"$TMP/backend$i.log" 2>&1 &
	BACKEND_PIDS+=($!)
	i=$((i + 1))
done
backends_listen() {
	local i=1 p
	for p in "${PODS[@]}"; do
		ip netns exec "$p" ss -ltn | grep -q "10.42.$i.2:8080" || return 1
		i=$((i + 1))
	done
}
for _ in $(seq 1 100); do backends_listen && break; sleep 0.1; done

# --- the server, inside the node namespace ---
cat >"$TMP/timon-in-node" <<EOF
#!/bin/sh
exec ip netns exec $NODE env TIMON_PROXY=nftables TIMON_NODE_NAME=node-a $REAL_TIMON "\$@"
EOF
chmod +x "$TMP/timon-in-node"
TIMON=$TMP/timon-in-node
start_server || { echo "0 passed, 1 failed"; exit 1; }

# wait_for NAME TIMEOUT CMD...: passes once CMD succeeds within TIMEOUT seconds.
wait_for() {
	local name=$1 t=$2
	shift 2
	local end=$((SECONDS + t)) out
	while :; do
		if out=$("$@" 2>&1); then pass "$name"; return 0; fi
		if [ $SECONDS -ge $end ]; then fail "$name" "command: $*" "$(echo "$out" | tail -n 8)"; return 1; fi
		sleep 0.2
	done
}

wait_for "table inet timon-node-a exists in the node namespace" 10 in_node nft list table inet timon-node-a

# slice NAME SERVICE PORT ENDPOINT...: applies an EndpointSlice whose port "http" is PORT
# (at least one endpoint); an endpoint is N (pod N, ready), N:unready or N:terminating
# (serving, terminating), each on this node (node-a) unless @NODE follows.
slice() {
	local name=$1 svc=$2 port=$3
	shift 3
	{
		cat <<EOF
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: $name
  namespace: default
  labels: {kubernetes.io/service-name: $svc}
addressType: IPv4
ports: [{name: http, port: $port, protocol: TCP}]
endpoints:
EOF
		local e n cond node
		for e in "$@"; do
			node=node-a
			case $e in *@*) node=${e#*@} e=${e%@*} ;; esac
			n=${e%%:*}
			case $e in
			*:unready) cond="{ready: false, serving: false, terminating: false}" ;;
			*:terminating) cond="{ready: false, serving: true, terminating: true}" ;;
			*) cond="{ready: true, serving: true, terminating: false}" ;;
			esac
			echo "- {addresses: [10.42.$n.2], nodeName: $node, conditions: $cond}"
		done
	} >"$TMP/slice-$name.yaml"
	kubectl apply -f "$TMP/slice-$name.yaml" >/dev/null
}

# service NAME TYPE [extra spec lines...]: a selector-less service, port 80 named http
# with a named targetPort (resolved through the slice's port).
service() {
	local name=$1 type=$2
	shift 2
	{
		cat <<EOF
apiVersion: v1
kind: Service
metadata: {name: $name, namespace: default}
spec:
  type: $type
  ports: [{name: http, port: 80, targetPort: web}]
EOF
		local l
		for l in "$@"; do echo "  $l"; done
	} >"$TMP/svc-$name.yaml"
	kubectl apply -f "$TMP/svc-$name.yaml" >/dev/null
}

# who NS URL: the backend's name, one request (2 s at most).
who() { ip netns exec "$1" curl -sf --max-time 2 "$2/who"; }
# spread NS URL N: the distinct backends that answered N requests, sorted, space-separated.
spread() {
	local k out=
	for k in $(seq 1 "$3"); do out="$out $(who "$1" "$2")"; done
	echo $out | tr ' ' '\n' | sort -u | tr '\n' ' ' | sed 's/ $//'
}
eq() { [ "$1" = "$2" ] || { echo "got '$1', want '$2'"; return 1; }; }
answers_in() { # NS URL WANT: WANT is among the answers of 20 requests
	spread "$1" "$2" 20 | grep -qw "$3"
}

# --- ClusterIP with two backends ---
service web ClusterIP
slice web-1 web 8080 1 2
CIP=$(kubectl get svc web -o jsonpath='{.spec.clusterIP}')
wait_for "cluster IP $CIP answers from the node" 10 who "$NODE" "http://$CIP"
expect_out "ClusterIP answers from both backends over 30 requests" '^pod1 pod2$' spread "$NODE" "http://$CIP" 30
expect_out "a pod reaches the service" '^pod1 pod2$' spread "${PODS[2]}" "http://$CIP" 30
# k8s: hairpin: pod1 reaching itself through the service (masqueraded).
expect_out "hairpin: a backend reaches its own service" '^pod1 pod2$' spread "${PODS[0]}" "http://$CIP" 30
expect_out "service chains are named after the service" 'service-[A-Z2-7]{8}-default/web/tcp/http' in_node nft list table inet timon-node-a

# --- NodePort on the node's address ---
service webnp NodePort
slice webnp-1 webnp 8080 2
NP=$(kubectl get svc webnp -o jsonpath='{.spec.ports[0].nodePort}')
wait_for "NodePort $NP answers an outside client on the node's address" 10 who "$EXT" "http://192.168.77.1:$NP"
expect_out "NodePort reaches the endpoint from outside" '^pod2$' spread "$EXT" "http://192.168.77.1:$NP" 5
expect_out "NodePort answers the node itself on another address" '^pod2$' spread "$NODE" "http://10.42.3.1:$NP" 5
expect_out "NodePort answers a pod on its gateway address" '^pod2$' spread "${PODS[0]}" "http://10.42.1.1:$NP" 5

# --- external traffic policy ---
# k8s: Cluster masquerades (the backend sees the node); Local keeps the client's address.
check "externalTrafficPolicy Cluster: the backend sees the node's address" \
	grep -q '^10\.42\.2\.1 .*GET /who' "$TMP/backend2.log"
service local NodePort "externalTrafficPolicy: Local"
slice local-1 local 8080 3
LP=$(kubectl get svc local -o jsonpath='{.spec.ports[0].nodePort}')
wait_for "externalTrafficPolicy Local: a local endpoint answers outside clients" 10 who "$EXT" "http://192.168.77.1:$LP"
check "externalTrafficPolicy Local: the backend sees the client's own address" \
	grep -q '^192\.168\.77\.2 .*GET /who' "$TMP/backend3.log"
slice local-1 local 8080 3@node-b
wait_for "externalTrafficPolicy Local, no local endpoint: outside clients are dropped" 10 \
	eval '! who "$EXT" "http://192.168.77.1:$LP"'
expect_out "externalTrafficPolicy Local, no local endpoint: the node itself still gets through" \
	'^pod3$' spread "$NODE" "http://192.168.77.1:$LP" 3
# k8s: internalTrafficPolicy Local with no local endpoint drops cluster-IP traffic.
service itp ClusterIP "internalTrafficPolicy: Local"
slice itp-1 itp 8080 1@node-b
IIP=$(kubectl get svc itp -o jsonpath='{.spec.clusterIP}')
wait_for "internalTrafficPolicy Local, no local endpoint: dropped" 10 \
	eval "in_node nft list map inet timon-node-a no-endpoint-services | grep -q '$IIP . tcp . 80 : drop'"
check_fails "internalTrafficPolicy Local, no local endpoint: a client gets nothing" who "$NODE" "http://$IIP"
slice itp-1 itp 8080 1@node-b 2
wait_for "internalTrafficPolicy Local: only the local endpoint answers" 10 \
	eval '[ "$(spread "$NODE" "http://$IIP" 10)" = pod2 ]'

# --- scaling ---
slice web-1 web 8080 1 2 3
wait_for "scaling up: the new backend answers" 10 answers_in "$NODE" "http://$CIP" pod3
slice web-1 web 8080 3
wait_for "scaling down: only the remaining backend answers" 10 eval '[ "$(spread "$NODE" "http://$CIP" 15)" = pod3 ]'

# --- ClientIP affinity ---
service sticky ClusterIP "sessionAffinity: ClientIP"
slice sticky-1 sticky 8080 1 2 3
SIP=$(kubectl get svc sticky -o jsonpath='{.spec.clusterIP}')
wait_for "affinity service answers" 10 who "${PODS[0]}" "http://$SIP"
expect_out "ClientIP affinity: one client sticks to one backend" '^pod[123]$' spread "${PODS[0]}" "http://$SIP" 20

# --- no ready endpoints: refused at once, not hanging ---
service empty ClusterIP
slice empty-1 empty 8080 1:unready
EIP=$(kubectl get svc empty -o jsonpath='{.spec.clusterIP}')
wait_for "no ready endpoints: the address is in no-endpoint-services" 10 \
	eval "in_node nft list map inet timon-node-a no-endpoint-services | grep -q '$EIP . tcp . 80'"
refused_fast() { # NS URL: curl fails with "connection refused" (exit 7) within 1 s
	local t0 t1 rc
	t0=$(date +%s%N)
	ip netns exec "$1" curl -s --max-time 5 "$2" >/dev/null
	rc=$?
	t1=$(date +%s%N)
	echo "curl exit $rc after $(((t1 - t0) / 1000000)) ms"
	[ $rc -eq 7 ] && [ $(((t1 - t0) / 1000000)) -lt 1000 ]
}
check "no ready endpoints: the node is refused at once" refused_fast "$NODE" "http://$EIP/who"
check "no ready endpoints: a pod is refused at once" refused_fast "${PODS[0]}" "http://$EIP/who"
# The node's own client, refused by a node port without ready endpoints, connects from the
# same client port once an endpoint is ready: the refusal left no conntrack entry (one
# would keep the connection untranslated for 10 s and send it to the node's own port).
service late NodePort
slice late-1 late 8080 1:unready
LNP=$(kubectl get svc late -o jsonpath='{.spec.ports[0].nodePort}')
wait_for "a node port without ready endpoints is in no-endpoint-nodeports" 10 \
	eval "in_node nft list map inet timon-node-a no-endpoint-nodeports | grep -q 'tcp . $LNP '"
LPORT=$((40000 + ID % 10000))
from_lport() { ip netns exec "$NODE" curl -s --max-time 2 --local-port "$LPORT" "http://192.168.77.1:$LNP/who"; }
from_lport_exit() { from_lport >/dev/null; echo "curl exit $?"; }
expect_out "no ready endpoints: the node's own client is refused at its node port" '^curl exit 7$' from_lport_exit
T_REFUSED=$SECONDS
slice late-1 late 8080 1
wait_for "an endpoint ready: the node port answers a new client" 10 who "$NODE" "http://192.168.77.1:$LNP"
# Only within conntrack's 10 s for a closed connection can the next check see the bug.
check "the endpoint was ready within 10 s of the refusal ($((SECONDS - T_REFUSED)) s)" test $((SECONDS - T_REFUSED)) -lt 10
expect_out "and the refused client's port connects now" '^pod1$' from_lport
# k8s: ProxyTerminatingEndpoints: with none ready, serving terminating ones take traffic.
slice empty-1 empty 8080 1:unready 2:terminating
wait_for "no ready endpoints: a serving terminating one is used" 10 eval '[ "$(who "$NODE" "http://$EIP")" = pod2 ]'
slice empty-1 empty 8080 1:unready 2:terminating 3
wait_for "a ready endpoint wins over terminating ones" 10 eval '[ "$(spread "$NODE" "http://$EIP" 10)" = pod3 ]'

# --- deleting a service removes its rules ---
kubectl delete svc web --wait=false >/dev/null
kubectl delete endpointslice web-1 --wait=false >/dev/null
wait_for "deleting the service removes its chains" 10 \
	eval "! in_node nft list table inet timon-node-a | grep -q 'default/web/'"
check_fails "deleting the service removes its map element" \
	eval "in_node nft list map inet timon-node-a service-ips | grep -q '$CIP . tcp . 80 '"
expect_out "other services keep their rules" 'default/webnp/' in_node nft list table inet timon-node-a

check "the host's own ruleset was never touched" eval '[ "$(nft list tables 2>/dev/null | sort)" = "$host_tables_before" ]'

# --- stopping the server removes the table ---
stop_server
check_fails "stopping the server removes table inet timon-node-a" in_node nft list table inet timon-node-a
finish
