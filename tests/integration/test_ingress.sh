#!/usr/bin/env bash
# test_ingress.sh — the ingress proxy, LoadBalancer status, `timon service --url` and the
# cluster DNS service IP, all inside a network namespace this test creates (the "node":
# loopback plus a veth pair with 10.77.0.1/24 as the node address, so the nftables table
# and ports 53/8080/8443 live only there). Backends are python3 HTTP servers on the node
# address (endpoints may not be loopback), behind selector-less Services with hand-written
# EndpointSlices. Checks: host rules, Prefix vs Exact, longest match, wildcard host,
# default backend, 404 without a rule, keep-alive, X-Forwarded-For, chunked request
# bodies, TLS with SNI from Secrets, status.loadBalancer on the Ingress and on a
# LoadBalancer Service, metrics per route, 503 within 1 s once the endpoints go, 502 when
# the backend refuses, a deleted Ingress stops routing, `timon service --url`, and
# `dig @10.43.0.10` answering cluster names and forwarding others to a resolver the test
# runs on the namespace's loopback. Needs root, ip, curl, python3, openssl, dig.
. "$(dirname "$0")/lib.sh"

for tool in ip curl python3 openssl dig nft; do
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

NODE=ting-$$
NODE_IP=10.77.0.1
PIDS=()
NS_MADE=
REAL_TIMON=$TIMON

ing_cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	cleanup
	[ -n "$NS_MADE" ] && ip netns del "$NODE" 2>/dev/null
}
trap ing_cleanup EXIT

in_node() { ip netns exec "$NODE" "$@"; }
kubectl() { ip netns exec "$NODE" /usr/bin/kubectl "$@"; }

ip netns add "$NODE" && NS_MADE=1 || { fail "network namespace" "ip netns add failed"; finish; exit 1; }
# The node address on one end of a veth pair kept inside the namespace (no dummy module
# needed), and a default route through it so the node's own packets to service IPs route.
if ! { in_node ip link set lo up && in_node ip link add tie0 type veth peer name tie1 &&
	in_node ip addr add "$NODE_IP/24" dev tie0 && in_node ip link set tie0 up &&
	in_node ip link set tie1 up && in_node ip route add default dev tie0; }; then
	fail "node namespace" "could not set up the node address"
	finish
	exit 1
fi

# --- backends: answer "<name> <path> host=<Host> xff=<X-Forwarded-For> body=<bytes>" ---
cat >"$TMP/backend.py" <<'EOF'
import http.server, socketserver, sys
name = sys.argv[3]
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def answer(self):
        n = 0
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    break
                n += len(self.rfile.read(size))
                self.rfile.readline()
        elif self.headers.get("Content-Length"):
            n = len(self.rfile.read(int(self.headers["Content-Length"])))
        body = ("%s %s host=%s xff=%s proto=%s body=%d\n" % (name, self.path,
                self.headers.get("Host"), self.headers.get("X-Forwarded-For"),
                self.headers.get("X-Forwarded-Proto"), n)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
    do_GET = do_POST = do_HEAD = answer
    def log_message(self, *a):
        pass
class S(http.server.ThreadingHTTPServer):
    def server_bind(self):
        socketserver.TCPServer.server_bind(self)
S((sys.argv[1], int(sys.argv[2])), H).serve_forever()
EOF
# A resolver for names outside the cluster: every A question gets 192.0.2.7.
cat >"$TMP/upstream.py" <<'EOF'
import socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 5399))
while True:
    q, peer = s.recvfrom(512)
    i = 12
    while q[i] != 0:
        i += q[i] + 1
    question = q[12:i + 5]
    hdr = q[:2] + b"\x81\x80" + struct.pack(">HHHH", 1, 1, 0, 0)
    ans = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + socket.inet_aton("192.0.2.7")
    s.sendto(hdr + question + ans, peer)
EOF
for b in "api 9001" "web 9002" "dflt 9003" "wild 9004"; do
	set -- $b
	# Started directly (not through the in_node function, whose subshell would be $!).
	ip netns exec "$NODE" python3 "$TMP/backend.py" "$NODE_IP" "$2" "$1" >>"$TMP/backend.log" 2>&1 &
	PIDS+=($!)
done
ip netns exec "$NODE" python3 "$TMP/upstream.py" >>"$TMP/upstream.log" 2>&1 &
PIDS+=($!)
# A backend that accepts and never answers (for 504).
ip netns exec "$NODE" python3 -c '
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("'$NODE_IP'", 9005)); s.listen(16); held = []
while True:
    held.append(s.accept()[0])
' >>"$TMP/backend.log" 2>&1 &
PIDS+=($!)

cat >"$TMP/timon-in-node" <<EOF
#!/bin/sh
exec ip netns exec $NODE $REAL_TIMON "\$@"
EOF
chmod +x "$TMP/timon-in-node"
TIMON=$TMP/timon-in-node
TIMON_INGRESS_BACKEND_TIMEOUT_MS=1000 start_server --enable-proxy --enable-dns --enable-ingress --node-ip "$NODE_IP" \
	--ingress-http-port 8080 --ingress-https-port 8443 --ingress-metrics-port 10254 \
	--dns-listen "$NODE_IP:53" --dns-upstream 127.0.0.1:5399 || { echo "0 passed, 1 failed"; exit 1; }

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
# svc NAME PORT: a selector-less Service (port 80 "http") with a slice to NODE_IP:PORT.
svc() {
	kubectl apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Service
metadata: {name: $1}
spec:
  ports: [{name: http, port: 80, protocol: TCP}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: $1-1
  labels: {kubernetes.io/service-name: $1}
addressType: IPv4
ports: [{name: http, port: $2, protocol: TCP}]
endpoints: [{addresses: ["$NODE_IP"], conditions: {ready: true}}]
EOF
}
svc api 9001
svc web 9002
svc dflt 9003
svc wild 9004
svc slow 9005

check "IngressClass timon exists and is the default" \
	sh -c "ip netns exec $NODE kubectl get ingressclass timon -o jsonpath='{.metadata.annotations}' | grep -q '\"ingressclass.kubernetes.io/is-default-class\":\"true\"'"

kubectl apply -f - >/dev/null <<EOF
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: site}
spec:
  defaultBackend:
    service: {name: dflt, port: {number: 80}}
  rules:
  - host: app.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
      - {path: /api, pathType: Prefix, backend: {service: {name: api, port: {name: http}}}}
      - {path: /exact, pathType: Exact, backend: {service: {name: api, port: {number: 80}}}}
  - host: slow.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: slow, port: {number: 80}}}}
  - host: "*.wild.example.com"
    http:
      paths:
      - {path: /, pathType: ImplementationSpecific, backend: {service: {name: wild, port: {number: 80}}}}
EOF
get() { in_node curl -sS --max-time 5 -H "Host: $1" "http://$NODE_IP:8080$2"; }
code() { in_node curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H "Host: $1" "http://$NODE_IP:8080$2"; }

wait_for "the host rule routes / to web" 10 sh -c "ip netns exec $NODE curl -sf -H 'Host: app.example.com' http://$NODE_IP:8080/ | grep -q '^web /'"
expect_out "Prefix /api routes /api/v1 to api" '^api /api/v1 ' get app.example.com /api/v1
expect_out "Prefix /api does not take /apix" '^web /apix ' get app.example.com /apix
expect_out "Exact /exact routes /exact" '^api /exact ' get app.example.com /exact
expect_out "Exact /exact does not take /exact/more" '^web /exact/more ' get app.example.com /exact/more
expect_out "the Host header is matched without port and case" '^api /api ' get APP.example.com:8080 /api
expect_out "a wildcard host covers one label" '^wild /x ' get a.wild.example.com /x
expect_out "a wildcard does not cover two labels (default backend)" '^dflt /x ' get a.b.wild.example.com /x
expect_out "an unknown host goes to the default backend" '^dflt /y ' get other.example.com /y
expect_out "X-Forwarded-For and -Proto are set" 'xff=10.77.0.1 proto=http' get app.example.com /
expect_out "a chunked request body is streamed" 'body=11' \
	in_node sh -c "printf 'hello world' | curl -sS --max-time 5 -H 'Host: app.example.com' -H 'Transfer-Encoding: chunked' --data-binary @- http://$NODE_IP:8080/api"
expect_out "a large body with Content-Length" 'body=3000000' \
	in_node sh -c "head -c 3000000 /dev/zero | curl -sS --max-time 10 -H 'Host: app.example.com' --data-binary @- http://$NODE_IP:8080/api"
expect_out "HEAD gets the headers and no body" '^HTTP/1.1 200' \
	in_node curl -sSI --max-time 3 -H 'Host: app.example.com' "http://$NODE_IP:8080/h"
expect_out "pipelined requests are answered in order" '^web /p1 .*web /p2 ' \
	in_node python3 -c '
import socket, sys
c = socket.create_connection(("'$NODE_IP'", 8080), timeout=5)
c.sendall(b"GET /p1 HTTP/1.1\r\nHost: app.example.com\r\n\r\nGET /p2 HTTP/1.1\r\nHost: app.example.com\r\nConnection: close\r\n\r\n")
data = b""
while True:
    d = c.recv(65536)
    if not d:
        break
    data += d
print(" ".join(l for l in data.decode().splitlines() if l.startswith("web ")))
'
t0=$(date +%s%N)
expect_out "a backend that does not answer in time: 504" '^504$' code slow.example.com /
ms=$((($(date +%s%N) - t0) / 1000000))
if [ $ms -ge 900 ] && [ $ms -le 3000 ]; then pass "504 after the backend timeout (${ms} ms, timeout 1 s)"; else fail "504 after the backend timeout" "took ${ms} ms"; fi
expect_out "keep-alive: two requests on one connection" 'Re-using existing connection' \
	in_node curl -sv --max-time 5 -H 'Host: app.example.com' "http://$NODE_IP:8080/a" "http://$NODE_IP:8080/b"

wait_for "status.loadBalancer of the Ingress has the node address" 10 \
	sh -c "ip netns exec $NODE kubectl get ingress site -o jsonpath='{.status.loadBalancer.ingress[0].ip}' | grep -qx $NODE_IP"

# --- TLS with SNI from Secrets ---
for h in app.example.com other.test; do
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$h" -addext "subjectAltName=DNS:$h" \
		-keyout "$TMP/$h.key" -out "$TMP/$h.crt" >/dev/null 2>&1
	kubectl create secret tls "tls-$h" --cert "$TMP/$h.crt" --key "$TMP/$h.key" >/dev/null
done
kubectl apply -f - >/dev/null <<EOF
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: secure}
spec:
  ingressClassName: timon
  tls:
  - {hosts: [app.example.com], secretName: tls-app.example.com}
  - {hosts: [other.test], secretName: tls-other.test}
  rules:
  - host: other.test
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: api, port: {number: 80}}}}
EOF
https() { in_node curl -sS --max-time 5 --cacert "$TMP/$1.crt" --resolve "$1:8443:$NODE_IP" "https://$1:8443$2"; }
wait_for "HTTPS with SNI app.example.com gets its certificate and routes" 10 \
	sh -c "ip netns exec $NODE curl -sS --max-time 5 --cacert $TMP/app.example.com.crt --resolve app.example.com:8443:$NODE_IP https://app.example.com:8443/api | grep -q '^api /api .*proto=https'"
expect_out "HTTPS with SNI other.test gets the other certificate" '^api /z host=other.test' https other.test /z
check_fails "a certificate for the wrong name is refused by the client" \
	in_node curl -sS --max-time 5 --cacert "$TMP/other.test.crt" --resolve "app.example.com:8443:$NODE_IP" https://app.example.com:8443/

# --- metrics ---
expect_out "metrics count requests per route and status" \
	'timon_ingress_requests_total\{namespace="default",ingress="site",host="app.example.com",path="/api",service="api",status="200"\} [1-9]' \
	in_node curl -sS --max-time 5 "http://$NODE_IP:10254/metrics"
expect_out "metrics have a latency histogram" \
	'timon_ingress_request_duration_seconds_bucket\{namespace="default",ingress="site",host="app.example.com",path="/",service="web",le="\+Inf"\} [1-9]' \
	in_node curl -sS --max-time 5 "http://$NODE_IP:10254/metrics"

# --- an Ingress moved to another class is no longer served, nor marked as ours ---
wait_for "the TLS Ingress has the node address in its status" 10 \
	sh -c "ip netns exec $NODE kubectl get ingress secure -o jsonpath='{.status.loadBalancer.ingress[0].ip}' | grep -qx $NODE_IP"
kubectl patch ingress secure --type merge -p '{"spec":{"ingressClassName":"other"}}' >/dev/null
wait_for "moved to another class, it loses the status we wrote" 10 \
	sh -c "[ -z \"\$(ip netns exec $NODE kubectl get ingress secure -o jsonpath='{.status.loadBalancer.ingress}')\" ]"
check_fails "and its host is no longer routed" \
	sh -c "ip netns exec $NODE curl -sS --max-time 5 --cacert $TMP/other.test.crt --resolve other.test:8443:$NODE_IP https://other.test:8443/z | grep -q '^api '"

# --- failures ---
kubectl patch endpointslice api-1 --type merge -p '{"endpoints":[{"addresses":["'$NODE_IP'"],"conditions":{"ready":false}}]}' >/dev/null
t0=$(date +%s%N)
ok=
for _ in $(seq 1 20); do
	[ "$(code app.example.com /api)" = 503 ] && { ok=1; break; }
	sleep 0.05
done
ms=$((($(date +%s%N) - t0) / 1000000))
if [ -n "$ok" ] && [ $ms -le 1000 ]; then pass "no ready endpoint: 503 within 1 s (${ms} ms)"; else fail "no ready endpoint: 503 within 1 s" "after ${ms} ms: $(code app.example.com /api)"; fi
kubectl patch endpointslice api-1 --type merge -p '{"endpoints":[{"addresses":["'$NODE_IP'"],"conditions":{"ready":true}}],"ports":[{"name":"http","port":9099,"protocol":"TCP"}]}' >/dev/null
wait_for "a backend that refuses: 502" 5 sh -c "[ \"\$(ip netns exec $NODE curl -s -o /dev/null -w '%{http_code}' -H 'Host: app.example.com' http://$NODE_IP:8080/api)\" = 502 ]"

kubectl delete ingress site >/dev/null
wait_for "deleting the Ingress removes its routes (404)" 5 sh -c "[ \"\$(ip netns exec $NODE curl -s -o /dev/null -w '%{http_code}' -H 'Host: app.example.com' http://$NODE_IP:8080/)\" = 404 ]"

# --- LoadBalancer and NodePort services, timon service --url ---
kubectl apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Service
metadata: {name: lb}
spec:
  type: LoadBalancer
  ports: [{name: http, port: 8081, protocol: TCP, nodePort: 30081}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: lb-1
  labels: {kubernetes.io/service-name: lb}
addressType: IPv4
ports: [{name: http, port: 9002, protocol: TCP}]
endpoints: [{addresses: ["$NODE_IP"], conditions: {ready: true}}]
EOF
wait_for "a LoadBalancer service gets the node address as its ingress" 10 \
	sh -c "ip netns exec $NODE kubectl get svc lb -o jsonpath='{.status.loadBalancer.ingress[0].ip}' | grep -qx $NODE_IP"
wait_for "the LoadBalancer port answers on the node address" 10 \
	sh -c "ip netns exec $NODE curl -sf --max-time 2 http://$NODE_IP:8081/lb | grep -q '^web /lb'"
expect_out "timon service --url prints the node port URL" "^http://$NODE_IP:30081\$" \
	"$TIMON" service lb --url --kubeconfig "$KUBECONFIG"
expect_err "timon service on a ClusterIP service explains" 'ClusterIP' "$TIMON" service api --url
expect_err "timon service on a missing service fails" 'not found' "$TIMON" service nope -n default --url

# --- cluster DNS on the service IP ---
wait_for "kube-system/kube-dns has cluster IP 10.43.0.10" 10 \
	sh -c "ip netns exec $NODE kubectl -n kube-system get svc kube-dns -o jsonpath='{.spec.clusterIP}' | grep -qx 10.43.0.10"
wait_for "dig @10.43.0.10 answers a cluster name over UDP" 10 \
	sh -c "ip netns exec $NODE dig +short +time=1 +tries=1 @10.43.0.10 kubernetes.default.svc.cluster.local | grep -qx 10.43.0.1"
expect_out "dig @10.43.0.10 answers over TCP" '^10\.43\.0\.1$' \
	in_node dig +short +tcp +time=2 +tries=1 @10.43.0.10 kubernetes.default.svc.cluster.local
expect_out "other names go to the upstream" '^192\.0\.2\.7$' \
	in_node dig +short +time=2 +tries=1 @10.43.0.10 www.example.org

finish
