#!/usr/bin/env bash
# nodeport.sh — Issue 5's benchmark (a): HTTP requests/s and p99 through a NodePort (the
# nftables proxy's DNAT on the node address) against straight to the pod IP, side by side
# in one run on the same pod: a busybox httpd run by the embedded agent, wrk from the host,
# alternating rounds, medians reported with the ratio (goal >= 0.95 of direct). Figures
# are reported, never asserted. Root; starts and stops its own server, registry and pods
# (tests/integration/agentlib.sh). Knobs: BENCH_NP_SECONDS (5 per round), BENCH_NP_ROUNDS
# (3), BENCH_NP_CONNS (32).
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SECS=${BENCH_NP_SECONDS:-5}
ROUNDS=${BENCH_NP_ROUNDS:-3}
CONNS=${BENCH_NP_CONNS:-32}
command -v wrk >/dev/null || { echo "bench: wrk is not installed (scripts/install-deps)" >&2; exit 1; }
. "$ROOT/tests/integration/lib.sh"
. "$ROOT/tests/integration/agentlib.sh"
agent_setup >/dev/null || { echo "bench: registry/image setup failed" >&2; exit 1; }
start_agent_server --enable-proxy >/dev/null || { echo "bench: server did not start" >&2; exit 1; }
NODE_IP=$(kubectl get node "$AGENT_NODE" -o jsonpath='{.status.addresses[?(@.type=="InternalIP")].address}')
kubectl apply -f - >/dev/null <<EOY
apiVersion: v1
kind: Pod
metadata: {name: web, labels: {app: web}}
spec:
  containers:
  - name: web
    image: $IMAGE
    command: [sh, -c, 'mkdir -p /tmp/www; head -c 512 /dev/zero | tr "\\\\0" x >/tmp/www/index.html; exec httpd -f -p 8080 -h /tmp/www']
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
EOY
kubectl wait --for=condition=Ready pod/web --timeout=90s >/dev/null || { echo "bench: pod not ready" >&2; exit 1; }
POD_IP=$(kubectl get pod web -o jsonpath='{.status.podIP}')
NP=$(kubectl get svc web -o jsonpath='{.spec.ports[0].nodePort}')
for _ in $(seq 1 50); do curl -sf --max-time 1 "http://$NODE_IP:$NP/" >/dev/null && break; sleep 0.1; done

# run URL -> "rps p99_ms"
run() {
	wrk -t1 -c"$CONNS" -d"${SECS}s" --latency "$1" 2>/dev/null | tee -a "$TMP/wrk.log" | awk '
		/Requests\/sec/ {rps=$2}
		/^ +99%/ {v=$2; if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; p99=v}
		END {printf "%.0f %.3f\n", rps, p99}'
}
med() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
: >"$TMP/direct"; : >"$TMP/np"
for r in $(seq 1 "$ROUNDS"); do
	run "http://$POD_IP:8080/" >>"$TMP/direct"
	run "http://$NODE_IP:$NP/" >>"$TMP/np"
done
d_rps=$(cut -d' ' -f1 "$TMP/direct" | med); d_p99=$(cut -d' ' -f2 "$TMP/direct" | med)
n_rps=$(cut -d' ' -f1 "$TMP/np" | med); n_p99=$(cut -d' ' -f2 "$TMP/np" | med)
echo "nodeport bench: wrk -t1 -c$CONNS, ${SECS}s x $ROUNDS alternating rounds, medians"
printf "  %-22s %10s %10s\n" "" "req/s" "p99 ms"
printf "  %-22s %10s %10s\n" "straight to pod IP" "$d_rps" "$d_p99"
printf "  %-22s %10s %10s\n" "through the NodePort" "$n_rps" "$n_p99"
awk -v a="$n_rps" -v b="$d_rps" -v c="$n_p99" -v d="$d_p99" 'BEGIN {printf "  ratio NodePort/direct: req/s %.2f (goal >= 0.95), p99 %.2f\n", a/b, c/d}'
echo "  wrk socket errors and non-2xx answers (direct, nodeport alternating):"
grep -E "Socket errors|Non-2xx" "$TMP/wrk.log" | sed 's/^/    /'
mkdir -p "$ROOT/bench/out"
{ echo "direct $d_rps $d_p99"; echo "nodeport $n_rps $n_p99"; } >"$ROOT/bench/out/nodeport-$(date -u +%Y%m%dT%H%M%SZ).txt"
