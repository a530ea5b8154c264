#!/usr/bin/env bash
# apiserver.sh — control-plane benchmark: get/s, list/s, durable create/s, watch fan-out
# and server RSS of timon, side by side with references measured in the same run:
#   nginx serving the same JSON bodies as static files over TLS (the HTTPS ceiling here),
#   a one-fsync-per-write SQLite / plain-file loop (what the disk allows without group
#   commit), and the goals (with k3s's published RSS as context).
# Starts its own timon and nginx on 127.0.0.1 in a temporary dir, stops them by PID and
# removes the dir at the end. Every load is bounded in count and in time.
# Not for: pass/fail checks; it prints figures and ratios, never asserts on timings.
# Normally run through bench/run-all, which builds bench/out/{watchfan,fsyncref}.
#
# Knobs (environment): BENCH_SECONDS (wrk run per get/list scenario, default 10),
# BENCH_PODS (10000), BENCH_LIST (1000), BENCH_WATCHERS (1000), BENCH_EVENTS (50),
# BENCH_GET_CONNS (32), BENCH_LIST_CONNS (8), BENCH_CREATE_CONNS (64), BENCH_SERIAL_CREATES (2000),
# BENCH_TMPDIR (/var/tmp: must be on a real disk, or fsync costs nothing).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TIMON=${TIMON:-$ROOT/build/timon}
OUT=$ROOT/bench/out
LUA=$ROOT/bench/lua
SECONDS_RUN=${BENCH_SECONDS:-10}
NPODS=${BENCH_PODS:-10000}
NLIST=${BENCH_LIST:-1000}
NWATCH=${BENCH_WATCHERS:-1000}
NEVENTS=${BENCH_EVENTS:-50}
GET_CONNS=${BENCH_GET_CONNS:-32}
LIST_CONNS=${BENCH_LIST_CONNS:-8}
CREATE_CONNS=${BENCH_CREATE_CONNS:-64}
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ "$SECONDS_RUN" -ge 1 ] && [ "$SECONDS_RUN" -le 60 ] || { echo "BENCH_SECONDS must be 1..60" >&2; exit 2; }

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RAW=$OUT/$STAMP
mkdir -p "$RAW"
TMP=$(mktemp -d "${BENCH_TMPDIR:-/var/tmp}/timon-bench.XXXXXX")
TIMON_PID=
NGINX_PID=
TOKEN=bench-$RANDOM$RANDOM$RANDOM
export BENCH_TOKEN=$TOKEN

cleanup() {
	local pid
	for pid in "$TIMON_PID" "$NGINX_PID"; do
		if [ -n "$pid" ]; then
			kill -TERM "$pid" 2>/dev/null || true
			wait "$pid" 2>/dev/null || true
		fi
	done
	rm -rf "$TMP"
}
trap cleanup EXIT

log() { echo "bench: $*" >&2; }

# 1,000 watchers need more than the usual 1,024 descriptors, in timon and in watchfan.
HARD=$(ulimit -Hn)
WANT=$((NWATCH + 1024))
if [ "$HARD" != unlimited ] && [ "$HARD" -lt "$WANT" ]; then WANT=$HARD; fi
ulimit -n "$WANT" 2>/dev/null || true

# field NAME LINE: the value of NAME=value in a "KEY a=1 b=2" line.
field() { echo " $2 " | sed -n "s/.* $1=\([^ ]*\) .*/\1/p"; }
# calc EXPR: awk arithmetic, printed with the format in $2 (default %.2f).
calc() { awk "BEGIN { printf \"${2:-%.2f}\", $1 }"; }
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
mib() { calc "$1 / 1024" %.1f; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

api() { # api METHOD PATH [BODY_FILE] — prints the body, fails on a non-2xx answer
	local args=(-sS --fail-with-body --cacert "$DATA/tls/ca.crt" -H "Authorization: Bearer $TOKEN"
		-H "Accept: application/json" -X "$1")
	[ $# -ge 3 ] && args+=(-H "Content-Type: application/json" --data-binary "@$3")
	curl "${args[@]}" "$URL$2"
}

start_timon() {
	"$TIMON" server --data-dir "$DATA" --https-port 0 --disable-agent \
		--token-auth-file "$TMP/tokens.csv" >>"$RAW/timon.log" 2>&1 &
	TIMON_PID=$!
	local i
	for i in $(seq 1 150); do
		URL=$(grep -o 'serving on https://127.0.0.1:[0-9]*' "$RAW/timon.log" | tail -n 1 | cut -d' ' -f3 || true)
		if [ -n "$URL" ] && api GET /readyz >/dev/null 2>&1; then return 0; fi
		kill -0 "$TIMON_PID" 2>/dev/null || break
		sleep 0.1
	done
	log "timon did not become ready; log tail:"
	tail -n 20 "$RAW/timon.log" >&2
	exit 1
}

stop_timon() {
	kill -TERM "$TIMON_PID"
	wait "$TIMON_PID" 2>/dev/null || true
	TIMON_PID=
}

# CPU seconds (user + system) a process has used so far.
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"; }

# wrk_run NAME SERVER_PID WRK_ARGS...: runs wrk, keeps its output in $RAW/NAME.txt, prints its
# WRK line plus server_cpu_s / client_cpu_s: CPU seconds the server and wrk used meanwhile.
wrk_run() {
	local name=$1 spid=$2
	shift 2
	local c0 line
	c0=$(cpu_s "$spid")
	local TIMEFORMAT='%U %S'
	{ time wrk "$@" >"$RAW/$name.txt" 2>&1; } 2>"$RAW/$name.time" ||
		{ log "wrk $name failed:"; tail -n 5 "$RAW/$name.txt" >&2; exit 1; }
	line="$(grep '^WRK ' "$RAW/$name.txt" | tail -n 1) server_cpu_s=$(calc "$(cpu_s "$spid") - $c0") client_cpu_s=$(awk '{ printf "%.2f", $1 + $2 }' "$RAW/$name.time")"
	[ -n "$line" ] || { log "wrk $name printed no result"; exit 1; }
	local errs
	errs=$(($(field err_connect "$line") + $(field err_read "$line") + $(field err_write "$line") + \
		$(field err_status "$line") + $(field err_timeout "$line")))
	[ "$errs" -eq 0 ] || NOTES="$NOTES\n  note: $name had $errs wrk errors (see $RAW/$name.txt)"
	echo "$line"
}
NOTES=

# ---- fixtures ----
DATA=$TMP/data
mkdir -p "$TMP/www" "$TMP/nginx/tmp" "$TMP/fsync"
printf '%s,bench,bench-uid,"system:masters"\n' "$TOKEN" >"$TMP/tokens.csv"
# a ConfigMap of realistic size (~2 KB of data, labels, annotations)
cm_body() { # cm_body NAME
	local i data=
	for i in $(seq -w 1 20); do
		data="$data\"key-$i\":\"value-$i-$(printf '%080d' 0 | tr 0 x)\","
	done
	printf '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"%s","labels":{"app":"bench","tier":"control-plane"},"annotations":{"bench.timon.dev/purpose":"throughput"}},"data":{%s}}' \
		"$1" "${data%,}"
}
cm_body bench-get >"$TMP/cm.json"
cm_body __NAME__ >"$TMP/cm-template.json"
printf '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"__NAME__","labels":{"app":"bench"}},"spec":{"containers":[{"name":"app","image":"registry.example/app:1.0"}]}}' >"$TMP/pod-template.json"
ns_body() { printf '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"%s"}}' "$1" >"$TMP/ns.json"; }

log "raw output in $RAW"
start_timon
log "timon $URL (pid $TIMON_PID)"
sleep 1
RSS_IDLE=$(rss_kib "$TIMON_PID")

# ---- 3. durable creates (and the 10,000 pods for 5.) ----
ns_body bench-pods && api POST /api/v1/namespaces "$TMP/ns.json" >/dev/null
log "durable create: $NPODS pods over $CREATE_CONNS connections"
CREATE=$(wrk_run create-pods "$TIMON_PID" -t1 -c"$CREATE_CONNS" -d60s --timeout 10s -s "$LUA/create.lua" \
	"$URL/api/v1/namespaces/bench-pods/pods" -- "$TMP/pod-template.json" "$NPODS" pod)
sleep 1
RSS_PODS=$(rss_kib "$TIMON_PID")
NPODS_STORED=$(api GET "/api/v1/namespaces/bench-pods/pods?limit=1" |
	python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d["items"]) + d["metadata"].get("remainingItemCount", 0))')
POD_BYTES=$(api GET "/api/v1/namespaces/bench-pods/pods?limit=1" |
	python3 -c 'import json,sys; print(len(json.dumps(json.load(sys.stdin)["items"][0], separators=(",", ":"))))')

# the same creates one at a time: each waits for its own commit, nothing to group
NSERIAL=${BENCH_SERIAL_CREATES:-2000}
ns_body bench-serial && api POST /api/v1/namespaces "$TMP/ns.json" >/dev/null
log "durable create: $NSERIAL pods over 1 connection"
CREATE1=$(wrk_run create-serial "$TIMON_PID" -t1 -c1 -d60s --timeout 10s -s "$LUA/create.lua" \
	"$URL/api/v1/namespaces/bench-serial/pods" -- "$TMP/pod-template.json" "$NSERIAL" pod)

log "reference: one fsync per write ($POD_BYTES-byte values)"
"$OUT/fsyncref" "$TMP/fsync" 3 "$POD_BYTES" >"$RAW/fsyncref.txt"
FS_SQL=$(grep 'kind=sqlite' "$RAW/fsyncref.txt")
FS_FILE=$(grep 'kind=file' "$RAW/fsyncref.txt")
rm -rf "$TMP/fsync"

# ---- fixtures for get and list; nginx serves the very same bytes ----
ns_body bench && api POST /api/v1/namespaces "$TMP/ns.json" >/dev/null
api POST /api/v1/namespaces/bench/configmaps "$TMP/cm.json" >/dev/null
api GET /api/v1/namespaces/bench/configmaps/bench-get >"$TMP/www/get.json"
ns_body bench-list && api POST /api/v1/namespaces "$TMP/ns.json" >/dev/null
log "creating $NLIST ConfigMaps for list (one connection, so exactly $NLIST)"
wrk_run create-list "$TIMON_PID" -t1 -c1 -d60s --timeout 10s -s "$LUA/create.lua" \
	"$URL/api/v1/namespaces/bench-list/configmaps" -- "$TMP/cm-template.json" "$NLIST" cm >/dev/null
api GET /api/v1/namespaces/bench-list/configmaps >"$TMP/www/list.json"
GET_BYTES=$(wc -c <"$TMP/www/get.json")
LIST_BYTES=$(wc -c <"$TMP/www/list.json")
LIST_ITEMS=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["items"]))' "$TMP/www/list.json")

NGINX_PORT=$(free_port)
cat >"$TMP/nginx/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path $TMP/nginx/tmp/body;
	proxy_temp_path $TMP/nginx/tmp/proxy;
	fastcgi_temp_path $TMP/nginx/tmp/fastcgi;
	uwsgi_temp_path $TMP/nginx/tmp/uwsgi;
	scgi_temp_path $TMP/nginx/tmp/scgi;
	default_type application/json;
	keepalive_requests 100000000;
	keepalive_timeout 300s;
	open_file_cache max=16 inactive=600s;
	open_file_cache_valid 600s;
	server {
		listen 127.0.0.1:$NGINX_PORT ssl;
		ssl_certificate $DATA/tls/server.crt;
		ssl_certificate_key $DATA/tls/server.key;
		ssl_protocols TLSv1.2 TLSv1.3;
		root $TMP/www;
		location / { add_header Cache-Control "no-cache, private"; }
	}
}
EOF
"$NGINX" -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" -e "$TMP/nginx/error.log" >"$RAW/nginx.log" 2>&1 &
NGINX_PID=$!
NGINX_URL=https://127.0.0.1:$NGINX_PORT
for _ in $(seq 1 50); do
	curl -sk -o /dev/null "$NGINX_URL/get.json" && break
	sleep 0.1
done
curl -sk --fail -o /dev/null "$NGINX_URL/get.json" || { log "nginx did not start"; cat "$TMP/nginx/error.log" "$RAW/nginx.log" >&2; exit 1; }

# ---- 1. get, 2. list: timon, then nginx with the same bytes and wrk settings ----
log "get: ${SECONDS_RUN}s each, $GET_CONNS connections"
GET_T=$(wrk_run get-timon "$TIMON_PID" -t1 -c"$GET_CONNS" -d"${SECONDS_RUN}s" -s "$LUA/get.lua" \
	"$URL/api/v1/namespaces/bench/configmaps/bench-get")
GET_N=$(wrk_run get-nginx "$NGINX_PID" -t1 -c"$GET_CONNS" -d"${SECONDS_RUN}s" -s "$LUA/get.lua" "$NGINX_URL/get.json")
log "list: ${SECONDS_RUN}s each, $LIST_CONNS connections"
LIST_T=$(wrk_run list-timon "$TIMON_PID" -t1 -c"$LIST_CONNS" -d"${SECONDS_RUN}s" --timeout 10s -s "$LUA/get.lua" \
	"$URL/api/v1/namespaces/bench-list/configmaps")
LIST_N=$(wrk_run list-nginx "$NGINX_PID" -t1 -c"$LIST_CONNS" -d"${SECONDS_RUN}s" --timeout 10s -s "$LUA/get.lua" \
	"$NGINX_URL/list.json")
kill -TERM "$NGINX_PID"
wait "$NGINX_PID" 2>/dev/null || true
NGINX_PID=

# ---- 4. watch fan-out ----
log "watch fan-out: $NWATCH watchers, $NEVENTS events"
WF_RC=0
"$OUT/watchfan" --url "$URL" --ca "$DATA/tls/ca.crt" --token "$TOKEN" --watchers "$NWATCH" \
	--events "$NEVENTS" --namespace bench-watch --server-pid "$TIMON_PID" \
	>"$RAW/watchfan.txt" 2>"$RAW/watchfan.err" || WF_RC=$?
WF=$(grep '^WATCHFAN ' "$RAW/watchfan.txt" || true)
[ -n "$WF" ] || { log "watchfan failed:"; cat "$RAW/watchfan.err" >&2; exit 1; }
[ "$WF_RC" -eq 0 ] || NOTES="$NOTES\n  note: watchfan saw failed watches or missed events (exit $WF_RC, see $RAW/watchfan.err)"

# ---- 5. RSS after a restart: the same data, loaded from disk ----
stop_timon
start_timon
sleep 1
RSS_RESTART=$(rss_kib "$TIMON_PID")
stop_timon

# ---- summary ----
us_ms() { calc "$1 / 1000" %.2f; }
rate() { calc "$(field requests "$1") / ($(field duration_us "$1") / 1e6)" %.0f; }
lat() { echo "$(us_ms "$(field p50_us "$1")") / $(us_ms "$(field p99_us "$1")") ms"; }
dur_s() { calc "$(field duration_us "$1") / 1e6"; }
cpu_req() { calc "$(field server_cpu_s "$1") * 1e6 / $(field requests "$1")" %.1f; } # µs per request
busy() { # server and client CPU use over the run, in % of one core
	echo "$(calc "100 * $(field server_cpu_s "$1") / $(dur_s "$1")" %.0f)% / $(calc "100 * $(field client_cpu_s "$1") / $(dur_s "$1")" %.0f)%"
}
goal() { if awk "BEGIN { exit !($1) }"; then echo "met"; else echo "NOT met"; fi; }

GET_TR=$(rate "$GET_T")
GET_NR=$(rate "$GET_N")
LIST_TR=$(calc "$(field requests "$LIST_T") / ($(field duration_us "$LIST_T") / 1e6)" %.1f)
LIST_NR=$(calc "$(field requests "$LIST_N") / ($(field duration_us "$LIST_N") / 1e6)" %.1f)
CREATED=$(field created "$CREATE")
CREATE_R=$(calc "$CREATED / ($(field elapsed_us "$CREATE") / 1e6)" %.0f)
CREATED1=$(field created "$CREATE1")
CREATE1_R=$(calc "$CREATED1 / ($(field elapsed_us "$CREATE1") / 1e6)" %.0f)
FS_SQL_R=$(calc "$(field per_s "$FS_SQL")" %.0f)
FS_FILE_R=$(calc "$(field per_s "$FS_FILE")" %.0f)
WF_P99=$(field sent_p99_ms "$WF")
WF_RSS=$(field server_rss_kib "$WF")

{
	echo "timon control-plane benchmark — $STAMP — $(nproc) CPUs, $(uname -r), tmp on $(stat -f -c %T "$TMP"), load average $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "timon $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'); $(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2); $("$NGINX" -v 2>&1)"
	echo "wrk: 1 client thread, keep-alive HTTPS; nginx: 1 worker, same certificate, same bytes. Ratio = timon / reference."
	echo "Rates follow how much CPU the shared machine gave each run; CPU per request is the steadier comparison."
	echo
	printf '%-40s %-22s %-36s %-7s %s\n' scenario timon "reference (same run)" ratio goal
	printf '%-40s %-22s %-36s %-7s %s\n' \
		"get 1 ConfigMap ($GET_BYTES B), $GET_CONNS conns" "$GET_TR get/s" "nginx static file: $GET_NR req/s" \
		"$(calc "$GET_TR / $GET_NR")" ">= 20000/s: $(goal "$GET_TR >= 20000")"
	printf '%-40s %-22s %-36s\n' "  latency p50 / p99" "$(lat "$GET_T")" "$(lat "$GET_N")"
	printf '%-40s %-22s %-36s %-7s\n' "  server CPU per request" "$(cpu_req "$GET_T") us" "$(cpu_req "$GET_N") us" \
		"$(calc "$(cpu_req "$GET_T") / $(cpu_req "$GET_N")")"
	printf '%-40s %-22s %-36s\n' "  CPU busy: server / wrk (% of a core)" "$(busy "$GET_T")" "$(busy "$GET_N")"
	printf '%-40s %-22s %-36s %-7s %s\n' \
		"list $LIST_ITEMS ConfigMaps ($(calc "$LIST_BYTES / 1e6" %.1f) MB), $LIST_CONNS conns" "$LIST_TR list/s" \
		"nginx static file: $LIST_NR req/s" "$(calc "$LIST_TR / $LIST_NR")" "-"
	printf '%-40s %-22s %-36s\n' "  latency p50 / p99" "$(lat "$LIST_T")" "$(lat "$LIST_N")"
	printf '%-40s %-22s %-36s %-7s\n' "  server CPU per request" "$(cpu_req "$LIST_T") us" "$(cpu_req "$LIST_N") us" \
		"$(calc "$(cpu_req "$LIST_T") / $(cpu_req "$LIST_N")")"
	printf '%-40s %-22s %-36s\n' "  CPU busy: server / wrk (% of a core)" "$(busy "$LIST_T")" "$(busy "$LIST_N")"
	printf '%-40s %-22s %-36s %-7s %s\n' \
		"durable create Pod, $CREATE_CONNS conns ($CREATED)" "$CREATE_R create/s" \
		"SQLite, fsync per write: $FS_SQL_R/s" "$(calc "$CREATE_R / $FS_SQL_R")" \
		">= 5000/s: $(goal "$CREATE_R >= 5000")"
	printf '%-40s %-22s %-36s\n' "  latency p50 / p99" "$(lat "$CREATE")" \
		"$(field p50_ms "$FS_SQL") / $(field p99_ms "$FS_SQL") ms"
	printf '%-40s %-22s %-36s %-7s\n' "" "" "file, fdatasync per write: $FS_FILE_R/s" "$(calc "$CREATE_R / $FS_FILE_R")"
	printf '%-40s %-22s\n' "  server CPU per create" "$(calc "$(field server_cpu_s "$CREATE") * 1e6 / $CREATED" %.1f) us"
	printf '%-40s %-22s %-36s %-7s\n' "durable create Pod, 1 conn ($CREATED1)" "$CREATE1_R create/s" \
		"SQLite, fsync per write: $FS_SQL_R/s" "$(calc "$CREATE1_R / $FS_SQL_R")"
	printf '%-40s %-22s\n' "  latency p50 / p99" "$(lat "$CREATE1")"
	printf '%-40s %-22s %-36s %-7s %s\n' \
		"watch fan-out, $(field established "$WF") watchers x $(field events "$WF") events" \
		"$(field delivered "$WF") delivered" "-" "-" "p99 < 50 ms: $(goal "$WF_P99 < 50")"
	printf '%-40s %-22s\n' "  all watches open after" "$(field setup_ms "$WF") ms"
	printf '%-40s %-22s\n' "  from create sent, p50 / p99" "$(field sent_p50_ms "$WF") / $WF_P99 ms"
	printf '%-40s %-22s\n' "  from its 201 read, p50 / p99" "$(field ack_p50_ms "$WF") / $(field ack_p99_ms "$WF") ms"
	printf '%-40s %-22s\n' "  create acknowledged, p50 / p99" "$(field create_p50_ms "$WF") / $(field create_p99_ms "$WF") ms"
	printf '%-40s %-22s\n' "  last watcher served, p50 / p99" "$(field last_p50_ms "$WF") / $(field last_p99_ms "$WF") ms"
	printf '%-40s %-22s %-36s %-7s %s\n' "RSS idle after start" "$(mib "$RSS_IDLE") MiB" \
		"k3s server: > 500 MB (published)" "-" "< 30 MiB: $(goal "$RSS_IDLE < 30 * 1024")"
	printf '%-40s %-22s %-36s %-7s %s\n' "RSS with $NPODS_STORED pods stored" "$(mib "$RSS_PODS") MiB" "" "-" \
		"< 150 MiB: $(goal "$RSS_PODS < 150 * 1024")"
	printf '%-40s %-22s\n' "RSS with $(field established "$WF") watches open" "$(mib "$WF_RSS") MiB"
	printf '%-40s %-22s\n' "RSS after restart, all of the above data" "$(mib "$RSS_RESTART") MiB"
	[ -z "$NOTES" ] || printf '%b\n' "$NOTES"
} | tee "$RAW/summary.txt"
cp "$RAW/summary.txt" "$OUT/summary.txt"
