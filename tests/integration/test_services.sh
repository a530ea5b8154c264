#!/usr/bin/env bash
# test_services.sh — Services over real pods, as root: the embedded agent runs the pods,
# the nftables proxy and the cluster DNS serve them (DNS upstream pointed at a closed port
# on loopback: no query may leave the machine). A pod reaches a 2-replica Deployment by
# service name, by FQDN and by ClusterIP and both replicas answer; a NodePort answers from
# the host on the node address; scaling down and a failing readiness probe change the
# backends within a second (measured, printed, and bounded); a headless service's SRV and
# per-pod records resolve; deleting the service removes its rules.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agentlib.sh"

agent_setup || { finish; exit 1; }
NODE_IP=$(ip -4 route get 1.1.1.1 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p')
DNSPORT=$(agent_free_port)
DEAD=$(agent_free_port)
start_agent_server --enable-proxy --enable-dns --dns-listen "$NODE_IP:$DNSPORT" \
	--dns-upstream "127.0.0.1:$DEAD" || { fail "server with agent, proxy and DNS starts"; finish; exit 1; }

kubectl apply -f - >/dev/null <<EOY
apiVersion: apps/v1
kind: Deployment
metadata: {name: hello}
spec:
  replicas: 2
  selector: {matchLabels: {app: hello}}
  template:
    metadata: {labels: {app: hello}}
    spec:
      containers:
      - name: web
        image: $IMAGE
        command: [sh, -c, 'mkdir -p /tmp/www; echo "hello \$(hostname)" >/tmp/www/index.html; touch /tmp/ready; exec httpd -f -p 8080 -h /tmp/www']
        ports: [{name: http, containerPort: 8080}]
        readinessProbe:
          exec: {command: [sh, -c, 'test -f /tmp/ready']}
          periodSeconds: 1
          failureThreshold: 1
---
apiVersion: v1
kind: Service
metadata: {name: hello}
spec:
  selector: {app: hello}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: hello-headless}
spec:
  clusterIP: None
  selector: {app: hello}
  ports: [{name: http, port: 8080}]
---
apiVersion: v1
kind: Pod
metadata: {name: web0, labels: {app: hello-solo}}
spec:
  hostname: web0
  subdomain: solo
  containers:
  - {name: c, image: $IMAGE, command: [sh, -c, 'sleep 1000']}
---
apiVersion: v1
kind: Service
metadata: {name: solo}
spec:
  clusterIP: None
  selector: {app: hello-solo}
  ports: [{name: x, port: 9}]
---
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  containers:
  - {name: c, image: $IMAGE, command: [sh, -c, 'sleep 1000']}
EOY
check "the Deployment's pods become Ready" kubectl wait --for=condition=Available deployment/hello --timeout=90s
check "the client pod is Ready" kubectl wait --for=condition=Ready pod/client pod/web0 --timeout=60s
CIP=$(kubectl get svc hello -o jsonpath='{.spec.clusterIP}')

# in-pod fetch: busybox nc through the pod's resolv.conf (cluster DNS at 10.43.0.10)
fetch() { kubectl exec client -- sh -c "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 $1 80 | tail -1" 2>&1; }
expect_out "a pod reaches the service by name" "^hello hello-" fetch hello
expect_out "by its FQDN" "^hello hello-" fetch hello.default.svc.cluster.local
expect_out "and by ClusterIP" "^hello hello-" fetch "$CIP"
seen=$(kubectl exec client -- sh -c "for i in \$(seq 1 30); do printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 $CIP 80 | tail -1; done" 2>/dev/null | sort -u | wc -l)
if [ "$seen" -eq 2 ]; then pass "both replicas answer over repeated requests"; else fail "both replicas answer over repeated requests" "distinct answers: $seen"; fi

kubectl expose deployment hello --type=NodePort --port=80 --target-port=8080 --name=hello-np >/dev/null
NP=$(kubectl get svc hello-np -o jsonpath='{.spec.ports[0].nodePort}')
check "the NodePort answers from the host on the node address" wait_for 10 sh -c "curl -sf --max-time 2 http://$NODE_IP:$NP/ | grep -q '^hello hello-'"

# changes: only the remaining backend within a second
# only_one POD: 20 consecutive answers all from POD
only_one() {
	local p=$1 i
	for i in $(seq 1 20); do
		curl -s --max-time 1 "http://$NODE_IP:$NP/" | grep -q "hello $p" || return 1
	done
}
PODS=($(kubectl get pods -l app=hello -o jsonpath='{.items[*].metadata.name}'))
kubectl exec "${PODS[0]}" -- sh -c 'rm /tmp/ready'
t0=$(date +%s%N)
ok=
# The time counted ends where the first all-good run of 20 answers starts: the backend
# was gone by then, or within its first answer or two (the 20 answers themselves take a
# few hundred ms on a busy machine, which is not the proxy's time).
# The probe runs every second, so up to 1 s of it is the probe's period.
for _ in $(seq 1 50); do
	t1=$(date +%s%N)
	only_one "${PODS[1]}" && { ok=1; break; }
	sleep 0.05
done
ms=$(( (t1 - t0) / 1000000 ))
echo "    readiness failure -> backend removed in ${ms} ms"
if [ -n "$ok" ] && [ "$ms" -le 1500 ]; then pass "a failing readiness probe removes the backend within a second (${ms} ms)"; else fail "a failing readiness probe removes the backend within a second" "took ${ms} ms (ok=$ok)"; fi
kubectl exec "${PODS[0]}" -- sh -c 'touch /tmp/ready'
check "it comes back when ready again" kubectl wait --for=condition=Ready "pod/${PODS[0]}" --timeout=20s

kubectl scale deployment hello --replicas=1 >/dev/null
t0=$(date +%s%N)
KEEP=
for _ in $(seq 1 20); do
	KEEP=$(kubectl get pods -l app=hello -o jsonpath='{range .items[*]}{.metadata.name} {.metadata.deletionTimestamp}{"\n"}{end}' 2>/dev/null | awk 'NF == 1 {print $1; exit}')
	[ -n "$KEEP" ] && [ "$(kubectl get pods -l app=hello --no-headers 2>/dev/null | wc -l)" -ge 1 ] &&
		kubectl get pods -l app=hello -o jsonpath='{.items[*].metadata.deletionTimestamp}' | grep -q . && break
	sleep 0.05
done
for _ in $(seq 1 100); do
	[ -n "$KEEP" ] && only_one "$KEEP" && break
	sleep 0.05
done
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "    scale 2 -> 1: traffic on the remaining pod only after ${ms} ms"
if [ "$ms" -le 1500 ]; then pass "scaling down changes the backends within a second (${ms} ms)"; else fail "scaling down changes the backends within a second" "took ${ms} ms"; fi

# headless: SRV for the named port, A records of the pods, a per-pod name
dq() { dig +short +time=2 +tries=1 @10.43.0.10 "$@"; }
expect_out "a headless service's SRV record resolves" "8080 hello-headless|8080 [0-9-]+\.hello-headless" dq _http._tcp.hello-headless.default.svc.cluster.local SRV
expect_out "its A records are the pods' addresses" "^10\.42\." dq hello-headless.default.svc.cluster.local A
WEB0=$(pod_field web0 '{.status.podIP}')
expect_out "a pod with hostname and subdomain has its own record" "^$WEB0$" dq web0.solo.default.svc.cluster.local A

# deleting the service removes its rules
check "the proxy has rules for the ClusterIP" sh -c "nft list table inet timon-$AGENT_NODE | grep -q '$CIP'"
kubectl delete svc hello >/dev/null
check "deleting the service removes them" wait_for 5 sh -c "! nft list table inet timon-$AGENT_NODE | grep -q '$CIP'"

finish
