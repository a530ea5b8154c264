#!/usr/bin/env bash
# scheduler.sh — end-to-end scheduler benchmark after kube's scheduler_perf: the
# SchedulingBasic workload (5,000 nodes, 1,000 pods scheduled first, then 10,000 measured
# pods created through the API and bound) and its variants with required node affinity,
# topology spread (DoNotSchedule over 3 zones) and pod anti-affinity (hostname), each on a
# fresh timon whose nodes are simulated (timon.dev/simulated: Ready, leases renewed, bound
# pods run). Figures: pods/s from the first create sent to the last pod bound, per-pod
# latency create-sent -> bound-seen (client side, one clock), server CPU per pod, RSS.
# Side by side, measured in the same run: the same pods for a schedulerName nobody serves
# (creates only: what the API path allows here), kube-scheduler's CI floor for
# SchedulingBasic (680 pods/s) and the goal (6,800 pods/s), as ratios.
# Starts and stops its own servers (by PID) in a temporary dir, removed at the end. Every
# run is bounded in pods and in time. Not for: pass/fail checks (figures are reported,
# never asserted). Normally run through bench/run-all.
#
# Knobs (environment): BENCH_SCHED_NODES (5000), BENCH_SCHED_INIT (1000), BENCH_SCHED_PODS
# (10000), BENCH_SCHED_ANTI_PODS (4000: anti-affinity needs a node per pod),
# BENCH_SCHED_CONNS (32), BENCH_SCHED_TIMEOUT (300 s per phase), BENCH_SCHED_VARIANTS
# ("basic affinity spread antiaffinity"), BENCH_TMPDIR (/var/tmp: a real disk).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TIMON=${TIMON:-$ROOT/build/timon}
OUT=$ROOT/bench/out
NODES=${BENCH_SCHED_NODES:-5000}
INIT=${BENCH_SCHED_INIT:-1000}
PODS=${BENCH_SCHED_PODS:-10000}
ANTI_PODS=${BENCH_SCHED_ANTI_PODS:-4000}
CONNS=${BENCH_SCHED_CONNS:-32}
TIMEOUT=${BENCH_SCHED_TIMEOUT:-300}
VARIANTS=${BENCH_SCHED_VARIANTS:-basic affinity spread antiaffinity}
FLOOR=680  # kube-scheduler's scheduler_perf threshold for SchedulingBasic 5000 nodes
GOAL=6800
[ "$NODES" -ge 1 ] && [ "$NODES" -le 20000 ] && [ "$PODS" -ge 1 ] && [ "$PODS" -le 100000 ] ||
	{ echo "BENCH_SCHED_NODES must be 1..20000, BENCH_SCHED_PODS 1..100000" >&2; exit 2; }
[ -x "$TIMON" ] || { echo "bench: $TIMON is not built (make build/timon)" >&2; exit 1; }

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RAW=$OUT/$STAMP
mkdir -p "$RAW"
TMP=$(mktemp -d "${BENCH_TMPDIR:-/var/tmp}/timon-schedbench.XXXXXX")
TIMON_PID=
TOKEN=bench-$RANDOM$RANDOM$RANDOM

cleanup() {
	if [ -n "$TIMON_PID" ]; then
		kill -TERM "$TIMON_PID" 2>/dev/null || true
		wait "$TIMON_PID" 2>/dev/null || true
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
log() { echo "bench: $*" >&2; }
field() { echo " $2 " | sed -n "s/.* $1=\([^ ]*\) .*/\1/p"; }
calc() { awk "BEGIN { printf \"${2:-%.2f}\", $1 }"; }

# The client, built with the project's warning flags when missing or older than its source.
SP=$OUT/schedperf
if [ ! -x "$SP" ] || [ "$ROOT/bench/schedperf.c" -nt "$SP" ]; then
	# shellcheck disable=SC2046
	cc -O2 -g -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
		-o "$SP" "$ROOT/bench/schedperf.c" $(pkg-config --cflags --libs openssl jansson) -lpthread
fi
printf '%s,bench,bench-uid,"system:masters"\n' "$TOKEN" >"$TMP/tokens.csv"

start_timon() { # start_timon NAME
	DATA=$TMP/data-$1
	"$TIMON" server --data-dir "$DATA" --https-port 0 --disable-agent \
		--token-auth-file "$TMP/tokens.csv" >>"$RAW/timon-$1.log" 2>&1 &
	TIMON_PID=$!
	for _ in $(seq 1 150); do
		URL=$(grep -o 'serving on https://127.0.0.1:[0-9]*' "$RAW/timon-$1.log" | tail -n 1 | cut -d' ' -f3 || true)
		if [ -n "$URL" ] && curl -sf --cacert "$DATA/tls/ca.crt" -H "Authorization: Bearer $TOKEN" "$URL/readyz" >/dev/null 2>&1; then
			return 0
		fi
		kill -0 "$TIMON_PID" 2>/dev/null || break
		sleep 0.1
	done
	log "timon did not become ready; log tail:"
	tail -n 20 "$RAW/timon-$1.log" >&2
	exit 1
}

stop_timon() {
	kill -TERM "$TIMON_PID"
	wait "$TIMON_PID" 2>/dev/null || true
	TIMON_PID=
	rm -rf "$DATA"
}

run() { # run NAME MODE PODS [schedperf flags...] — prints the SCHEDPERF line
	local name=$1 mode=$2 pods=$3
	shift 3
	start_timon "$name"
	log "$name: $NODES nodes, $INIT + $pods pods ($mode)"
	"$SP" --url "$URL" --ca "$DATA/tls/ca.crt" --token "$TOKEN" --mode "$mode" --nodes "$NODES" \
		--init "$INIT" --pods "$pods" --conns "$CONNS" --timeout-s "$TIMEOUT" --server-pid "$TIMON_PID" \
		"$@" >"$RAW/$name.txt" 2>"$RAW/$name.err" ||
		{ log "schedperf $name failed:"; tail -n 5 "$RAW/$name.err" >&2; exit 1; }
	grep -h 'scheduler:' "$RAW/timon-$name.log" | tail -n 1 >>"$RAW/$name.err" || true
	stop_timon
	local line
	line=$(grep '^SCHEDPERF ' "$RAW/$name.txt" | tail -n 1)
	[ -n "$line" ] || { log "schedperf $name printed no result"; exit 1; }
	echo "$line"
}

log "raw output in $RAW"
REF=$(run create-only basic "$PODS" --scheduler-name no-such-scheduler)
declare -A R
for v in $VARIANTS; do
	n=$PODS
	[ "$v" = antiaffinity ] && n=$ANTI_PODS
	R[$v]=$(run "$v" "$v" "$n")
done

# ---- summary ----
{
	echo "timon scheduler benchmark (scheduler_perf workloads) — $STAMP — $(nproc) CPUs, $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "timon $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'); $NODES simulated nodes (4 CPU, 32Gi, 110 pods), $INIT pods scheduled first, pods created over $CONNS TLS connections"
	echo "pods/s: first create sent -> last pod bound (seen on a watch). Latency: create sent -> bound seen, per pod."
	echo "Reference (same run): the same pods for a schedulerName nobody serves, so only the creates: the API path's ceiling here."
	echo
	printf '%-34s %-12s %-22s %-10s %-12s %-12s %-14s %s\n' workload pods/s "latency p50/p99 ms" "vs floor" "vs goal" "vs creates" "CPU/pod" "RSS MiB"
	cr=$(field create_per_s "$REF")
	printf '%-34s %-12s %-22s %-10s %-12s %-12s %-14s %s\n' "creates only ($(field pods "$REF") pods)" "$cr" "-" \
		"$(calc "$cr / $FLOOR")" "$(calc "$cr / $GOAL")" "1.00" \
		"$(calc "$(field server_cpu_s "$REF") * 1e6 / $(field pods "$REF")" %.0f) us" \
		"$(calc "$(field server_rss_kib "$REF") / 1024" %.1f)"
	for v in $VARIANTS; do
		l=${R[$v]}
		ps=$(field pods_per_s "$l")
		label="$v ($(field bound "$l")/$(field pods "$l") bound)"
		[ "$v" = basic ] && label="SchedulingBasic ($(field bound "$l")/$(field pods "$l") bound)"
		printf '%-34s %-12s %-22s %-10s %-12s %-12s %-14s %s\n' "$label" "$ps" \
			"$(field lat_p50_ms "$l") / $(field lat_p99_ms "$l")" \
			"$(calc "$ps / $FLOOR")" "$(calc "$ps / $GOAL")" "$(calc "$ps / $cr")" \
			"$(calc "$(field server_cpu_s "$l") * 1e6 / $(field pods "$l")" %.0f) us" \
			"$(calc "$(field server_rss_kib "$l") / 1024" %.1f)"
	done
	echo
	echo "floor: kube-scheduler CI threshold $FLOOR pods/s; goal: $GOAL pods/s. CPU/pod: server CPU (all threads) over the measured pods / pod."
	for v in $VARIANTS; do
		l=${R[$v]}
		echo "  $v: all running after $(field running_s "$l") s; p90 $(field lat_p90_ms "$l") ms, max $(field lat_max_ms "$l") ms; create errors $(field create_errors "$l"); loop thread busy $(field loop_busy_pct "$l")% of the measured phase"
	done
} | tee "$RAW/scheduler-summary.txt"
cp "$RAW/scheduler-summary.txt" "$OUT/scheduler-summary.txt"
