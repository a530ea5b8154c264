#!/usr/bin/env bash
# nodeport.sh — Issue 5's benchmark (a): HTTP requests/s and p99 through a NodePort (the
# nftables proxy's DNAT on the node address) against straight to the pod IP, side by side
# in one run, alternating rounds in ABBA order (direct first in odd rounds, NodePort first
# in even ones, so a drift of the host's load falls on both alike); reported: the medians,
# and the ratio as the median of the rounds' own ratios with its range (goal >= 0.95 of
# direct). Two clients: wrk on the host itself (the node's own programs), and wrk in
# a network namespace the script makes, routed through the host like a machine outside the
# cluster (a NodePort's usual client; addresses from 198.18.0.0/15, the benchmarking
# range). Two ways of using connections, both reported:
#   keep-alive   wrk's default (HTTP/1.1 persistent connections): the proxy's cost is the
#                first packet of each connection, as for any client that reuses them;
#   per request  "Connection: close": a new connection (conntrack entry, DNAT and
#                masquerade) for every request, the proxy's worst case; also counts the
#                SYNs the host had to retransmit (nstat), which a stale translation costs.
# The pod serves a 512-byte file with nginx (the walkthrough's image, Debian's nginx-light,
# from tests/e2e/build-images.sh, cached); BENCH_NP_BACKEND=busybox uses the test image's
# busybox httpd instead (it closes every connection, so both ways are per request).
# Figures are reported, never asserted. Root; starts and stops its own server, registry
# and pods (tests/integration/agentlib.sh). Knobs: BENCH_NP_SECONDS (4 per round),
# BENCH_NP_ROUNDS (6), BENCH_NP_CONNS (32), BENCH_NP_CLIENTS ("host outside").
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SECS=${BENCH_NP_SECONDS:-4}
ROUNDS=${BENCH_NP_ROUNDS:-6}
CONNS=${BENCH_NP_CONNS:-32}
CLIENTS=${BENCH_NP_CLIENTS:-host outside}
command -v wrk >/dev/null || { echo "bench: wrk is not installed (scripts/install-deps)" >&2; exit 1; }
. "$ROOT/tests/integration/lib.sh"
. "$ROOT/tests/integration/agentlib.sh"
# The outside client's namespace and veth pair, removed on exit after agentlib's cleanup.
CNS=tnpc$$ CVETH=tnpv$$ CNET=198.18.$(($$ % 250)).
np_cleanup() {
	ip netns del "$CNS" 2>/dev/null
	ip link del "$CVETH" 2>/dev/null
	agent_cleanup
}
trap np_cleanup EXIT # replaces agentlib's, which np_cleanup runs
agent_setup >/dev/null || { echo "bench: registry/image setup failed" >&2; exit 1; }
start_agent_server --enable-proxy >/dev/null || { echo "bench: server did not start" >&2; exit 1; }
NODE_IP=$(kubectl get node "$AGENT_NODE" -o jsonpath='{.status.addresses[?(@.type=="InternalIP")].address}')
BACKEND=${BENCH_NP_BACKEND:-nginx}
if [ "$BACKEND" = nginx ]; then
	command -v mmdebstrap >/dev/null || { echo "bench: mmdebstrap is not installed (scripts/install-deps)" >&2; exit 1; }
	layout=$("$ROOT/tests/e2e/build-images.sh" 2>"$TMP/build-images.log" | awk '$1 == "nginx" { print $2 }')
	[ -n "$layout" ] && skopeo copy --quiet --dest-tls-verify=false oci:"$layout":latest "docker://$REG/bench/nginx:1" ||
		{ echo "bench: nginx image build/push failed" >&2; tail -n 5 "$TMP/build-images.log" >&2; exit 1; }
	PORT=80
	CONTAINER="image: $REG/bench/nginx:1
    command: [sh, -c, 'head -c 512 /dev/zero | tr \"\\\\0\" x >/var/www/html/index.html; exec nginx -g \"daemon off;\"']"
else
	PORT=8080
	CONTAINER="image: $IMAGE
    command: [sh, -c, 'mkdir -p /tmp/www; head -c 512 /dev/zero | tr \"\\\\0\" x >/tmp/www/index.html; exec httpd -f -p 8080 -h /tmp/www']"
fi
# Two identical pods: "web" is reached straight, "webnp" through the NodePort. With one
# pod, the per-request rounds would spoil each other: the direct client and the
# masqueraded NodePort traffic both come from the bridge address, and each leaves the pod
# thousands of TIME_WAIT connections the other's reused ports then run into.
kubectl apply -f - >/dev/null <<EOY
apiVersion: v1
kind: Pod
metadata: {name: web, labels: {app: web}}
spec:
  containers:
  - name: web
    $CONTAINER
---
apiVersion: v1
kind: Pod
metadata: {name: webnp, labels: {app: webnp}}
spec:
  containers:
  - name: web
    $CONTAINER
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  selector: {app: webnp}
  ports: [{port: 80, targetPort: $PORT}]
EOY
kubectl wait --for=condition=Ready pod/web pod/webnp --timeout=90s >/dev/null || { echo "bench: pods not ready" >&2; kubectl describe pods >&2; exit 1; }
POD_IP=$(kubectl get pod web -o jsonpath='{.status.podIP}')
NP_POD_IP=$(kubectl get pod webnp -o jsonpath='{.status.podIP}')
NP=$(kubectl get svc web -o jsonpath='{.spec.ports[0].nodePort}')
for _ in $(seq 1 50); do curl -sf --max-time 1 "http://$NODE_IP:$NP/" >/dev/null && break; sleep 0.1; done

if [[ " $CLIENTS " == *" outside "* ]]; then
	ip netns add "$CNS" && ip link add "$CVETH" type veth peer name eth0 netns "$CNS" &&
		ip addr add "${CNET}1/30" dev "$CVETH" && ip link set "$CVETH" up &&
		ip -n "$CNS" addr add "${CNET}2/30" dev eth0 && ip -n "$CNS" link set eth0 up &&
		ip -n "$CNS" link set lo up && ip -n "$CNS" route add default via "${CNET}1" ||
		{ echo "bench: the outside client's namespace could not be set up" >&2; exit 1; }
	for ip in "$POD_IP:$PORT" "$NODE_IP:$NP"; do
		for _ in $(seq 1 50); do ip netns exec "$CNS" curl -sf --max-time 1 "http://$ip/" >/dev/null && break; sleep 0.1; done
	done
fi
# run URL [wrk args] -> "rps p99_ms" (wrk from $WHERE: the host, or the outside namespace)
WHERE=()
# nstat ARGS in the client's namespace, with a history file of its own
syns() { "${WHERE[@]}" env NSTAT_HISTORY="$TMP/nstat.${client:-host}" nstat "$@"; }
run() {
	local url=$1
	shift
	"${WHERE[@]}" wrk -t1 -c"$CONNS" -d"${SECS}s" --latency "$@" "$url" 2>/dev/null | tee -a "$TMP/wrk.log" | awk '
		/Requests\/sec/ {rps=$2}
		/^ +99%/ {v=$2; if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; p99=v}
		END {printf "%.0f %.3f\n", rps, p99}'
}
med() { sort -n | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else printf "%.4f\n", (a[NR/2] + a[NR/2+1]) / 2}'; }
for ip in "$POD_IP" "$NP_POD_IP"; do
	for _ in $(seq 1 50); do curl -sf --max-time 1 "http://$ip:$PORT/" >/dev/null && break; sleep 0.1; done
done
echo "nodeport bench: $BACKEND backend, wrk -t1 -c$CONNS, ${SECS}s x $ROUNDS alternating rounds, medians"
printf "  %-36s %10s %10s\n" "" "req/s" "p99 ms"
mkdir -p "$ROOT/bench/out"
outf="$ROOT/bench/out/nodeport-$(date -u +%Y%m%dT%H%M%SZ).txt"
: >"$outf"
for client in $CLIENTS; do
	WHERE=()
	[ "$client" = outside ] && WHERE=(ip netns exec "$CNS")
	from="from the host"; [ "$client" = outside ] && from="from outside (a client namespace)"
	echo " $from:"
	for mode in keepalive close; do
		args=()
		[ "$mode" = close ] && args=(-H "Connection: close")
		: >"$TMP/direct"; : >"$TMP/np"
		syn_d=0 syn_n=0
		round_direct() {
			syns -n >/dev/null 2>&1
			run "http://$POD_IP:$PORT/" "${args[@]}" >>"$TMP/direct"
			syn_d=$((syn_d + $(syns -z TcpExtTCPSynRetrans 2>/dev/null | awk '/SynRetrans/ {print $2; exit} END {if (!NR) print 0}')))
		}
		round_np() {
			syns -n >/dev/null 2>&1
			run "http://$NODE_IP:$NP/" "${args[@]}" >>"$TMP/np"
			syn_n=$((syn_n + $(syns -z TcpExtTCPSynRetrans 2>/dev/null | awk '/SynRetrans/ {print $2; exit} END {if (!NR) print 0}')))
		}
		: >"$TMP/ratios"
		for r in $(seq 1 "$ROUNDS"); do
			# ABBA: each round's pair of runs in the other order than the last one's.
			if [ $((r % 2)) = 1 ]; then round_direct; round_np; else round_np; round_direct; fi
			awk -v a="$(tail -n 1 "$TMP/np" | cut -d' ' -f1)" -v b="$(tail -n 1 "$TMP/direct" | cut -d' ' -f1)" \
				'BEGIN { if (b > 0) printf "%.4f\n", a / b }' >>"$TMP/ratios"
		done
		d_rps=$(printf '%.0f' "$(cut -d' ' -f1 "$TMP/direct" | med)"); d_p99=$(printf '%.3f' "$(cut -d' ' -f2 "$TMP/direct" | med)")
		n_rps=$(printf '%.0f' "$(cut -d' ' -f1 "$TMP/np" | med)"); n_p99=$(printf '%.3f' "$(cut -d' ' -f2 "$TMP/np" | med)")
		label="keep-alive"; [ "$mode" = close ] && label="a connection per request"
		printf "  %-36s %10s %10s\n" "straight to pod IP, $label" "$d_rps" "$d_p99"
		printf "  %-36s %10s %10s\n" "through the NodePort, $label" "$n_rps" "$n_p99"
		r_med=$(printf '%.3f' "$(med <"$TMP/ratios")")
		r_rng=$(sort -n "$TMP/ratios" | awk 'NR == 1 {lo=$1} {hi=$1} END {printf "%.2f-%.2f", lo, hi}')
		awk -v r="$r_med" -v g="$r_rng" -v c="$n_p99" -v d="$d_p99" -v l="$label" 'BEGIN {printf "  ratio NodePort/direct, %s: req/s %.2f (median of the rounds, range %s; goal >= 0.95), p99 %.2f\n", l, r, g, c/d}'
		echo "  SYNs retransmitted by the client, $label: direct $syn_d, NodePort $syn_n"
		{ echo "$client $mode direct $d_rps $d_p99"; echo "$client $mode nodeport $n_rps $n_p99"; echo "$client $mode ratio $r_med $r_rng"; } >>"$outf"
	done
done
echo "  wrk socket errors and non-2xx answers (direct, nodeport alternating):"
grep -E "Socket errors|Non-2xx" "$TMP/wrk.log" | sed 's/^/    /'
