#!/usr/bin/env bash
# ingress.sh — timon's ingress proxy against nginx (the Debian package) configured as a
# reverse proxy to the same backends, side by side in one run: requests/s and latency
# percentiles from wrk, ratios reported (never asserted; the goal is at least nginx's
# requests/s and no worse p99).
#
# Everything runs inside a network namespace this script creates (node address
# 10.78.0.1 on a veth pair kept inside it): two backends (one nginx process, one worker,
# two ports, a fixed 13-byte body), nginx as the reverse proxy (one worker, upstream
# keep-alive, HTTP/1.1 to the backends) on :8090, and `timon server --enable-ingress`
# with its ingress on :8080 routing an Ingress (host bench.local) over a selector-less
# Service whose EndpointSlice names both backends. One worker each: timon's proxy runs on
# the server's one loop thread, so this compares one core with one core.
# Two ways of loading: wrk keeps 32 requests in flight (closed loop: each proxy's
# requests/s, and its p99 at that proxy's own throughput — a faster proxy drives the
# backends and the shared cores harder, so p99s at different throughputs do not compare);
# then hey sends the same fixed request rate to both (a quarter of the lower of the two wrk
# throughputs unless INGRESS_BENCH_RATE says), so their p99s are at equal load.
# Needs root, wrk, hey, nginx, curl, kubectl. Knobs: INGRESS_BENCH_SECONDS (8),
# INGRESS_BENCH_CONNS (32), INGRESS_BENCH_ROUNDS (3), INGRESS_BENCH_RATE, BUILD (build). Output also in bench/out/ingress.txt.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-build}
TIMON=${TIMON:-$ROOT/$BUILD/timon}
OUT=$ROOT/bench/out
SECS=${INGRESS_BENCH_SECONDS:-8}
CONNS=${INGRESS_BENCH_CONNS:-32}
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
mkdir -p "$OUT"
if [ "$(id -u)" -ne 0 ]; then
	echo "ingress bench: needs root (network namespace)" >&2
	exit 1
fi
for t in wrk hey curl kubectl; do command -v "$t" >/dev/null || { echo "ingress bench: $t missing" >&2; exit 1; }; done
[ -x "$NGINX" ] || { echo "ingress bench: nginx missing (apt-get install nginx)" >&2; exit 1; }

NS=tib-$$
IP=10.78.0.1
TMP=$(mktemp -d /tmp/timon-ingbench.XXXXXX)
PIDS=()
done_() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
	ip netns del "$NS" 2>/dev/null || true
	rm -rf "$TMP"
}
trap done_ EXIT
in_ns() { ip netns exec "$NS" "$@"; }

ip netns add "$NS"
in_ns ip link set lo up
in_ns ip link add tb0 type veth peer name tb1
in_ns ip addr add "$IP/24" dev tb0
in_ns ip link set tb0 up
in_ns ip link set tb1 up
in_ns ip route add default dev tb0

mkdir -p "$TMP/nb" "$TMP/np"
common() {
	cat <<EOF
daemon off; worker_processes 1; pid $1/nginx.pid; error_log $1/error.log warn;
events { worker_connections 4096; }
http {
  access_log off; client_body_temp_path $1; proxy_temp_path $1; fastcgi_temp_path $1;
  uwsgi_temp_path $1; scgi_temp_path $1;
EOF
}
{ common "$TMP/nb"; cat <<EOF
  server { listen $IP:9101; location / { return 200 "hello from 1\n"; } }
  server { listen $IP:9102; location / { return 200 "hello from 2\n"; } }
}
EOF
} >"$TMP/nb/nginx.conf"
{ common "$TMP/np"; cat <<EOF
  upstream backends { server $IP:9101; server $IP:9102; keepalive 64; }
  server {
    listen $IP:8090;
    location / {
      proxy_pass http://backends; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_set_header Host \$host; proxy_set_header X-Forwarded-For \$remote_addr;
      proxy_set_header X-Forwarded-Proto \$scheme; proxy_set_header X-Forwarded-Host \$host;
    }
  }
}
EOF
} >"$TMP/np/nginx.conf"
# Started directly, not through in_ns (a function's subshell would be $!).
ip netns exec "$NS" "$NGINX" -e "$TMP/nb/error.log" -p "$TMP/nb" -c "$TMP/nb/nginx.conf" & PIDS+=($!)
ip netns exec "$NS" "$NGINX" -e "$TMP/np/error.log" -p "$TMP/np" -c "$TMP/np/nginx.conf" & PIDS+=($!)

export KUBECONFIG=$TMP/data/kubeconfig.yaml
ip netns exec "$NS" "$TIMON" server --data-dir "$TMP/data" --https-port 0 --disable-agent --enable-ingress \
	--node-ip "$IP" --ingress-http-port 8080 --ingress-https-port 0 --ingress-metrics-port 0 \
	>"$OUT/ingress_server.log" 2>&1 & PIDS+=($!)
for _ in $(seq 1 100); do
	[ -f "$KUBECONFIG" ] && in_ns kubectl get --raw /readyz >/dev/null 2>&1 && break
	sleep 0.1
done
in_ns kubectl apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Service
metadata: {name: backends}
spec:
  ports: [{name: http, port: 80, protocol: TCP}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: backends-1
  labels: {kubernetes.io/service-name: backends}
addressType: IPv4
ports: [{name: http, port: 9101, protocol: TCP}]
endpoints: [{addresses: ["$IP"]}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: backends-2
  labels: {kubernetes.io/service-name: backends}
addressType: IPv4
ports: [{name: http, port: 9102, protocol: TCP}]
endpoints: [{addresses: ["$IP"]}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: bench}
spec:
  rules:
  - host: bench.local
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: backends, port: {number: 80}}}}
EOF
ready=
for _ in $(seq 1 50); do
	if in_ns curl -sf -H 'Host: bench.local' "http://$IP:8080/" >/dev/null &&
		in_ns curl -sf -H 'Host: bench.local' "http://$IP:8090/" >/dev/null; then
		ready=1
		break
	fi
	sleep 0.1
done
[ -n "$ready" ] || { echo "ingress bench: proxies did not answer" >&2; tail -n 20 "$OUT/ingress_server.log" >&2; exit 1; }

NGINX_PROXY_PID=$(pgrep -P "$(cat "$TMP/np/nginx.pid")" | head -n 1)
TIMON_PID=${PIDS[2]}
TICK=$(getconf CLK_TCK)
cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# run NAME PORT PID: wrk's figures as "rps p50 p99 non2xx cpu_us_per_request" (latencies in
# ms; CPU: user+system time of the proxy process PID over the run, per request).
run() {
	local c0 c1
	c0=$(cpu "$3")
	in_ns wrk -t1 -c"$CONNS" -d"${SECS}s" --latency -H 'Host: bench.local' "http://$IP:$2/" >"$TMP/$1.wrk"
	c1=$(cpu "$3")
	awk -v ticks=$((c1 - c0)) -v hz="$TICK" '
	function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
	/Requests\/sec/ { rps = $2 }
	/requests in/ { total = $1 }
	$1 == "50%" { p50 = ms($2) }
	$1 == "99%" { p99 = ms($2) }
	/Non-2xx/ { bad = $NF }
	END { printf "%s %.3f %.3f %s %.2f\n", rps, p50, p99, bad + 0, total ? ticks * 1e6 / hz / total : 0 }' "$TMP/$1.wrk"
}
# Warm both, then ROUNDS rounds alternating which goes first (the machine is shared: load
# drifts), and the median of each figure.
ROUNDS=${INGRESS_BENCH_ROUNDS:-3}
run warm-n 8090 "$NGINX_PROXY_PID" >/dev/null; run warm-t 8080 "$TIMON_PID" >/dev/null
: >"$TMP/n.all"; : >"$TMP/t.all"
for r in $(seq 1 "$ROUNDS"); do
	if [ $((r % 2)) -eq 1 ]; then
		run "n$r" 8090 "$NGINX_PROXY_PID" >>"$TMP/n.all"; run "t$r" 8080 "$TIMON_PID" >>"$TMP/t.all"
	else
		run "t$r" 8080 "$TIMON_PID" >>"$TMP/t.all"; run "n$r" 8090 "$NGINX_PROXY_PID" >>"$TMP/n.all"
	fi
done
# median FILE COLUMN
median() { sort -g -k"$2" "$1" | awk -v c="$2" '{ v[NR] = $c } END { print v[int((NR + 1) / 2)] }'; }
nr=$(median "$TMP/n.all" 1); n50=$(median "$TMP/n.all" 2); n99=$(median "$TMP/n.all" 3)
tr=$(median "$TMP/t.all" 1); t50=$(median "$TMP/t.all" 2); t99=$(median "$TMP/t.all" 3)
ncpu=$(median "$TMP/n.all" 5); tcpu=$(median "$TMP/t.all" 5)
nbad=$(awk '{ s += $4 } END { print s + 0 }' "$TMP/n.all")
tbad=$(awk '{ s += $4 } END { print s + 0 }' "$TMP/t.all")
{
	echo "ingress proxy vs nginx reverse proxy (wrk -t1 -c$CONNS -d${SECS}s, 2 backends, keep-alive; median of $ROUNDS alternating rounds)"
	printf "%-22s %12s %10s %10s %8s %12s\n" proxy "requests/s" "p50 ms" "p99 ms" non-2xx "CPU us/req"
	printf "%-22s %12s %10s %10s %8s %12s\n" "nginx (1 worker)" "$nr" "$n50" "$n99" "$nbad" "$ncpu"
	printf "%-22s %12s %10s %10s %8s %12s\n" "timon ingress" "$tr" "$t50" "$t99" "$tbad" "$tcpu"
	awk -v nr="$nr" -v tr="$tr" -v n99="$n99" -v t99="$t99" -v nc="$ncpu" -v tc="$tcpu" 'BEGIN {
		printf "ratio timon/nginx: requests/s %.2f (goal >= 1), p99 %.2f (goal <= 1), CPU per request %.2f\n", tr / nr, t99 / n99, (nc > 0 ? tc / nc : 0) }'
	echo "rounds (requests/s p50 p99 non-2xx cpu-us/req): nginx: $(tr '\n' ';' <"$TMP/n.all") timon: $(tr '\n' ';' <"$TMP/t.all")"
} | tee "$OUT/ingress.txt"

# The same fixed rate to both: hey with CONNS workers, each at RATE/CONNS requests/s.
RATE=${INGRESS_BENCH_RATE:-$(awk -v a="$nr" -v b="$tr" 'BEGIN { m = a < b ? a : b; printf "%d", m / 4 }')}
PER=$((RATE / CONNS))
[ "$PER" -ge 1 ] || PER=1
# fixed NAME PORT: "rps p50 p99 errors" from hey (latencies in ms).
fixed() {
	in_ns hey -z "${SECS}s" -c "$CONNS" -q "$PER" -host bench.local "http://$IP:$2/" >"$TMP/$1.hey" 2>&1
	awk '
	/Requests\/sec:/ { rps = $2 }
	$1 == "50%" && $2 == "in" { p50 = $3 * 1000 }
	$1 == "99%" && $2 == "in" { p99 = $3 * 1000 }
	/Status code distribution/ { sec = "codes" }
	/Error distribution/ { sec = "errors" }
	/^[ \t]*\[[0-9]+\]/ { n = $1; gsub(/[][]/, "", n)
		if (sec == "codes" && n != "200") bad += $2
		if (sec == "errors") bad += n }
	END { printf "%s %.3f %.3f %d\n", rps, p50, p99, bad }' "$TMP/$1.hey"
}
: >"$TMP/fn.all"; : >"$TMP/ft.all"
for r in $(seq 1 "$ROUNDS"); do
	if [ $((r % 2)) -eq 1 ]; then
		fixed "fn$r" 8090 >>"$TMP/fn.all"; fixed "ft$r" 8080 >>"$TMP/ft.all"
	else
		fixed "ft$r" 8080 >>"$TMP/ft.all"; fixed "fn$r" 8090 >>"$TMP/fn.all"
	fi
done
fnr=$(median "$TMP/fn.all" 1); fn50=$(median "$TMP/fn.all" 2); fn99=$(median "$TMP/fn.all" 3)
ftr=$(median "$TMP/ft.all" 1); ft50=$(median "$TMP/ft.all" 2); ft99=$(median "$TMP/ft.all" 3)
{
	echo "at a fixed rate (hey -c$CONNS -q$PER, $((PER * CONNS)) requests/s offered, ${SECS}s; median of $ROUNDS alternating rounds)"
	printf "%-22s %12s %10s %10s\n" proxy "requests/s" "p50 ms" "p99 ms"
	printf "%-22s %12s %10s %10s\n" "nginx (1 worker)" "$fnr" "$fn50" "$fn99"
	printf "%-22s %12s %10s %10s\n" "timon ingress" "$ftr" "$ft50" "$ft99"
	awk -v a="$ft99" -v b="$fn99" 'BEGIN { printf "ratio timon/nginx at equal load: p99 %.2f (goal <= 1)\n", a / b }'
	echo "rounds (requests/s p50 p99 errors): nginx: $(tr '\n' ';' <"$TMP/fn.all") timon: $(tr '\n' ';' <"$TMP/ft.all")"
} | tee -a "$OUT/ingress.txt"
