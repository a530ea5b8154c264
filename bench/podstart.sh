#!/usr/bin/env bash
# podstart.sh — pod start latency (create -> Running, image already present) for N = 1, 10
# and 100 pods, side by side in the same run with
#   the floor: a bare `runc run -d` of the same image's rootfs (overlay) plus a CNI ADD
#     through the bridge plugin (bench/podfloor.c, timon's CNI library), and
#   podman: `podman run -d` of the same image pulled from the same local registry, with
#     the same runc and conmon, in its own temporary root, runroot and network config;
# plus the RSS of the process running timon's agent (the server, where it is embedded; or,
# with BENCH_POD_AGENT=standalone, a `timon agent` joined to a server without its own agent)
# before any pod and with 100 running.
# Runs as root. Starts its own registry (127.0.0.1), timon server with agent, podman
# storage, bridges and network namespaces, all named after this run, and removes exactly
# those at the end. Every phase is bounded (BENCH_POD_TIMEOUT, default 300 s).
# Not for: pass/fail checks; it prints figures and ratios, never asserts on timings.
# Normally run through bench/run-all, which builds bench/out/podfloor.
#
# Knobs: BENCH_POD_COUNTS ("1 10 100"), BENCH_POD_REPEAT1 (5: N=1 is started that many
# times for every system, one after the other, and its p50/p99 are over those starts: one
# start is a few ms of noise), BENCH_POD_CONC (8: the agent's worker threads, and
# so the concurrency podman and the floor get too; both also run one at a time),
# BENCH_POD_TIMEOUT (300), BENCH_TMPDIR (/var/tmp), BENCH_POD_AGENT (embedded: the server's
# own agent; standalone: `timon agent --server URL --token-file F`, its RSS and CPU apart),
# BENCH_POD_AGENT_WRAP (a command the standalone agent runs under, e.g. "heaptrack -o F":
# then the RSS and CPU figures are the wrapper's, not to be reported).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TIMON=${TIMON:-$ROOT/build/timon}
OUT=$ROOT/bench/out
COUNTS=${BENCH_POD_COUNTS:-1 10 100}
CONC=${BENCH_POD_CONC:-8}
REPEAT1=${BENCH_POD_REPEAT1:-5}
[ "$REPEAT1" -ge 1 ] && [ "$REPEAT1" -le 50 ] || { echo "BENCH_POD_REPEAT1 must be 1..50" >&2; exit 2; }
PT=${BENCH_POD_TIMEOUT:-300}
PY=$ROOT/bench/podstart.py
AGENT_MODE=${BENCH_POD_AGENT:-embedded}
case $AGENT_MODE in embedded | standalone) ;; *) echo "podstart: BENCH_POD_AGENT is embedded or standalone" >&2; exit 1 ;; esac
FLOOR=$OUT/podfloor
log() { echo "podstart: $*" >&2; }

[ "$(id -u)" -eq 0 ] || { log "needs root (containers, mounts, network namespaces)"; exit 1; }
for t in runc conmon podman docker-registry skopeo python3 curl ip; do
	command -v "$t" >/dev/null || { log "missing $t (scripts/install-deps)"; exit 1; }
done
[ -x "$FLOOR" ] || { log "$FLOOR is not built (bench/run-all builds it)"; exit 1; }

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RAW=$OUT/$STAMP
mkdir -p "$RAW"
TMP=$(mktemp -d "${BENCH_TMPDIR:-/var/tmp}/timon-podstart.XXXXXX")
TAG=$$
NET=$((TAG % 200 + 40))
AGENT_RUN=/run/timon-ps$TAG
BR_T=tpt$TAG BR_F=tpf$TAG BR_P=
CIDR_T=10.45.$NET.0/24 CIDR_F=10.46.$NET.0/24 CIDR_P=10.47.$NET.0/24
PNET=tpn$TAG
FPREFIX=tpf$TAG
TOKEN=podstart-$RANDOM$RANDOM$RANDOM
REG_PID='' TIMON_PID='' AGENT_PID='' URL=''
# The agent's state (containers, images) and the process whose RSS and CPU are the agent's.
AGENT_DATA=$TMP/data/agent
[ "$AGENT_MODE" = standalone ] && AGENT_DATA=$TMP/adata/agent
PODMAN=(podman --root "$TMP/podman/root" --runroot "$TMP/podman/run" --tmpdir "$TMP/podman/tmp"
	--network-config-dir "$TMP/podman/net" --cgroup-manager cgroupfs --events-backend none
	--runtime runc --storage-driver overlay)
FLOOR_ARGS=(--dir "$TMP/floor" --lower "$TMP/floor/lower" --template "$TMP/floor/config.json"
	--bridge "$BR_F" --cidr "$CIDR_F" --prefix "$FPREFIX")
CLIENT=(--token "$TOKEN" --namespace podstart)

cleanup() {
	set +e
	if [ -n "$TIMON_PID" ]; then
		timeout 120 python3 "$PY" delete --url "$URL" --ca "$TMP/data/tls/ca.crt" "${CLIENT[@]}" --timeout 100 >/dev/null 2>&1
		if [ "$AGENT_PID" != "$TIMON_PID" ]; then kill -TERM "$AGENT_PID" 2>/dev/null; wait "$AGENT_PID" 2>/dev/null; fi
		kill -TERM "$TIMON_PID" 2>/dev/null
		wait "$TIMON_PID" 2>/dev/null
	fi
	if [ -d "$AGENT_RUN/runtime/runc" ]; then # what the agent still had, by its own state dir
		for id in $(runc --root "$AGENT_RUN/runtime/runc" list -q 2>/dev/null); do
			runc --root "$AGENT_RUN/runtime/runc" delete -f "$id" >/dev/null 2>&1
		done
	fi
	for b in "$AGENT_DATA"/containers/*/; do
		[ -d "$b" ] || continue
		local uid d
		uid=$(basename "$b")
		uid=${uid%%_*}
		for d in /sys/fs/cgroup/*/timon/pod"$uid" /sys/fs/cgroup/timon/pod"$uid"; do
			[ -d "$d" ] && { rmdir "$d"/*/ 2>/dev/null; rmdir "$d" 2>/dev/null; }
		done
	done
	if [ -d "$TMP/floor/bundles" ]; then
		"$FLOOR" clean "${FLOOR_ARGS[@]}" --n "$(find "$TMP/floor/bundles" -mindepth 1 -maxdepth 1 | wc -l | awk '{ print ($1 > 0 ? $1 : 1) }')" --par 1 2>/dev/null
	fi
	if [ -d "$TMP/podman" ]; then
		timeout 120 "${PODMAN[@]}" rm -a -f -t 0 >/dev/null 2>&1
		timeout 60 "${PODMAN[@]}" network rm -f "$PNET" >/dev/null 2>&1
		rm -rf "/var/lib/cni/networks/$PNET"
	fi
	# the cgroup parents the floor and podman were given (podman puts conmon in a child)
	for d in /sys/fs/cgroup/*/"$FPREFIX" /sys/fs/cgroup/*/"pp$TAG"; do
		[ -d "$d" ] || continue
		for c in "$d"/*/; do [ -d "$c" ] && rmdir "$c" 2>/dev/null; done
		rmdir "$d" 2>/dev/null
	done
	grep -oE " ($TMP|$AGENT_RUN)/[^ ]*" /proc/mounts 2>/dev/null | sort -r | while read -r m; do umount -l "$m"; done
	[ -n "$REG_PID" ] && { kill "$REG_PID" 2>/dev/null; wait "$REG_PID" 2>/dev/null; }
	for b in "$BR_T" "$BR_F" $BR_P; do ip link del "$b" >/dev/null 2>&1; done
	# The agent's pod egress table (left by a stopping agent for its running pods).
	nft delete table inet "timon-podstart-$TAG-pods" >/dev/null 2>&1
	rm -rf "$AGENT_RUN" "$TMP"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# cpu_ms PID: "self children" CPU ms (user + system) of PID and of the children it waited for
# (runc start/state/delete, CNI plugins with their iptables; not conmon, which detaches).
cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.0f %.0f", ($14 + $15) * 1000 / hz, ($16 + $17) * 1000 / hz }' "/proc/$1/stat"; }
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
# conmon_pss_kib DIR: total Pss of the conmon processes whose command line names DIR (Pss:
# shared pages split between the processes sharing them, so the sum is what they cost).
conmon_pss_kib() {
	local p t=0 r
	for p in /proc/[0-9]*; do
		[ "$(cat "$p/comm" 2>/dev/null)" = conmon ] || continue
		tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -q -- "$1" || continue
		r=$(awk '/^Pss:/ { print $2 }' "$p/smaps_rollup" 2>/dev/null)
		t=$((t + ${r:-0}))
	done
	echo "$t"
}

# ---- the image: built once, pushed to a registry on 127.0.0.1 ----
REG=127.0.0.1:$(free_port)
printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n' \
	"$TMP/registry" "$REG" >"$TMP/registry.yml"
docker-registry serve "$TMP/registry.yml" >>"$RAW/podstart-registry.log" 2>&1 &
REG_PID=$!
for _ in $(seq 1 100); do curl -s -o /dev/null "http://$REG/v2/" && break; sleep 0.1; done
python3 "$ROOT/tests/integration/mkimage.py" --layout "$TMP/layout" --tag 1 >/dev/null
skopeo copy --quiet --dest-tls-verify=false oci:"$TMP/layout":1 "docker://$REG/test/busybox:1"
IMAGE=$REG/test/busybox:1

# ---- floor: the image's rootfs unpacked once, a runc config template ----
mkdir -p "$TMP/floor/lower"
python3 - "$TMP/layout" "$TMP/floor/lower" <<'EOF'
import json, os, sys, tarfile
lay, dest = sys.argv[1:]
blob = lambda d: os.path.join(lay, "blobs", *d.split(":"))
m = json.load(open(blob(json.load(open(os.path.join(lay, "index.json")))["manifests"][0]["digest"])))
for l in m["layers"]:
    with tarfile.open(blob(l["digest"])) as t:
        t.extractall(dest, members=[x for x in t if ".wh." not in x.name])  # whiteouts: not needed here
EOF
runc spec -b "$TMP/floor"
python3 - "$TMP/floor/config.json" <<'EOF'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["process"]["terminal"] = False
c["process"]["args"] = ["/bin/busybox", "sleep", "3600"]
c["root"] = {"path": "rootfs", "readonly": False}
if not any(n["type"] == "network" for n in c["linux"]["namespaces"]):
    c["linux"]["namespaces"].append({"type": "network"})
json.dump(c, open(p, "w"))
EOF

# ---- podman: own storage and network config, the image pulled from the same registry ----
mkdir -p "$TMP/podman/net" "$TMP/podman/tmp"
"${PODMAN[@]}" pull -q --tls-verify=false "$IMAGE" >/dev/null
"${PODMAN[@]}" network create --subnet "$CIDR_P" "$PNET" >/dev/null
# podman 4.3 names the bridge itself (cni-podmanN); cleanup removes the one it chose
BR_P=$("${PODMAN[@]}" network inspect -f '{{.NetworkInterface}}' "$PNET")

# ---- timon: server with its agent (or a joined one), token auth ----
printf '%s,bench,bench-uid,"system:masters"\n' "$TOKEN" >"$TMP/tokens.csv"
printf 'mirrors:\n  docker.io:\n    endpoint:\n      - "http://%s"\n' "$REG" >"$TMP/registries.yaml"
mkdir -p "$TMP/logs"
"$TIMON" server --data-dir "$TMP/data" --https-port 0 --node-name "podstart-$TAG" \
	--agent-run-dir "$AGENT_RUN" --cni-bridge "$BR_T" --pod-log-dir "$TMP/logs" \
	--registry-config "$TMP/registries.yaml" --pod-cidr "$CIDR_T" --token-auth-file "$TMP/tokens.csv" \
	--disable-proxy --disable-dns --disable-ingress $([ "$AGENT_MODE" = standalone ] && echo --disable-agent) \
	>>"$RAW/podstart-timon.log" 2>&1 &
TIMON_PID=$!
AGENT_PID=$TIMON_PID
start_agent() { # the joined agent, once the server serves (same node name, bridge, CIDR, run dir)
	${BENCH_POD_AGENT_WRAP:-} "$TIMON" agent --server "$URL" --token-file "$TMP/data/server/token" --data-dir "$TMP/adata" \
		--node-name "podstart-$TAG" --agent-run-dir "$AGENT_RUN" --cni-bridge "$BR_T" --pod-log-dir "$TMP/logs" \
		--registry-config "$TMP/registries.yaml" --pod-cidr "$CIDR_T" --agent-port "$(free_port)" \
		>>"$RAW/podstart-agent.log" 2>&1 &
	AGENT_PID=$!
}
api() { curl -sS --fail-with-body --cacert "$TMP/data/tls/ca.crt" -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" "$@"; }
for _ in $(seq 1 300); do
	URL=$(grep -o 'serving on https://127.0.0.1:[0-9]*' "$RAW/podstart-timon.log" | tail -n 1 | cut -d' ' -f3 || true)
	if [ -n "$URL" ] && [ "$AGENT_MODE" = standalone ] && [ "$AGENT_PID" = "$TIMON_PID" ] && [ -s "$TMP/data/server/token" ]; then
		start_agent
	fi
	if [ -n "$URL" ] && api "$URL/api/v1/nodes/podstart-$TAG" 2>/dev/null | grep -q '"type":"Ready","status":"True"'; then break; fi
	kill -0 "$TIMON_PID" 2>/dev/null && kill -0 "$AGENT_PID" 2>/dev/null || break
	URL=
	sleep 0.1
done
[ -n "$URL" ] || {
	log "timon's node did not become Ready; log tails:"
	tail -n 20 "$RAW/podstart-timon.log" >&2
	[ -f "$RAW/podstart-agent.log" ] && tail -n 20 "$RAW/podstart-agent.log" >&2
	exit 1
}
CLIENT+=(--url "$URL" --ca "$TMP/data/tls/ca.crt" --image "$IMAGE")
api -X POST -d '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"podstart"}}' "$URL/api/v1/namespaces" >/dev/null
sleep 1
RSS_IDLE=$(rss_kib "$AGENT_PID")
log "timon $URL (pid $TIMON_PID, agent $AGENT_MODE, pid $AGENT_PID), registry $REG, raw output in $RAW"
# the image pulled by a first pod (IfNotPresent), which is then deleted
if ! timeout "$PT" python3 "$PY" timon "${CLIENT[@]}" --prefix prepull --n 1 --conc 1 --timeout "$PT" >"$RAW/podstart-prepull.txt"; then
	log "the first pod (image pull) did not run; its status:"
	api "$URL/api/v1/namespaces/podstart/pods/prepull-0" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin).get("status"), indent=1))' >&2
	api "$URL/api/v1/namespaces/podstart/events" | python3 -c 'import json,sys; [print(e.get("reason"), e.get("message")) for e in json.load(sys.stdin)["items"]]' >&2
	exit 1
fi
timeout "$PT" python3 "$PY" delete "${CLIENT[@]}" --timeout "$PT" >/dev/null
sleep 1
RSS_IMAGE=$(rss_kib "$AGENT_PID")

# ---- the runs ----
# run_phase NAME CMD...: the CMD's POD lines are added to $RAW/podstart-NAME.txt; a failed or
# timed-out phase is noted, not fatal (its pods count as not started).
NOTES=
run_phase() {
	local name=$1 rc=0
	shift
	log "$name"
	timeout "$PT" "$@" >>"$RAW/podstart-$name.txt" 2>>"$RAW/podstart-$name.err" || rc=$?
	[ "$rc" -eq 0 ] || NOTES="$NOTES\n  note: $name exited $rc (see $RAW/podstart-$name.err)"
}
# BENCH_POD_PROFILE=perf: a call-graph profile of the timon process during each timon phase
# ($RAW/podstart-timon-nN.perf, `perf report -i`); =execs: every program timon and its
# children (conmon, runc, CNI plugins) exec during the phase, counted per pod (strace -f,
# which slows forks down: the latencies of such a run are not the figures to report).
PROF_PID=
profile_start() {
	case "${BENCH_POD_PROFILE:-}" in
	perf) perf record -q -F 499 -g -p "$AGENT_PID" -o "$RAW/podstart-$1.perf" >/dev/null 2>&1 & PROF_PID=$! ;;
	execs) strace -f -qq -e trace=execve -e signal=none -o "$RAW/podstart-$1.execs" -p "$AGENT_PID" & PROF_PID=$! ;;
	*) return 0 ;;
	esac
	sleep 1
}
profile_stop() {
	[ -n "$PROF_PID" ] || return 0
	kill -INT "$PROF_PID" 2>/dev/null
	wait "$PROF_PID" 2>/dev/null || true
	PROF_PID=
	if [ -f "$RAW/podstart-$1.execs" ]; then
		grep -o 'execve("[^"]*"' "$RAW/podstart-$1.execs" | sed 's/execve("//; s/"$//' | sort | uniq -c |
			awk -v n="$2" '{ printf "EXECS %s count=%d per_pod=%.1f\n", $2, $1, $1 / n }' >"$RAW/podstart-$1.execs-summary"
		grep -o 'execve("[^"]*runc", \[[^]]*\]' "$RAW/podstart-$1.execs" | sed 's/.*\["runc", //; s/, .*//' |
			sort | uniq -c >>"$RAW/podstart-$1.execs-summary"
		NOTES="$NOTES\n  execs during timon-n$2:\n$(sed 's/^/    /' "$RAW/podstart-$1.execs-summary")"
	fi
}
floor_clean() { "$FLOOR" clean "${FLOOR_ARGS[@]}" --n "$1" --par "$CONC" 2>>"$RAW/podstart-clean.err" || true; rm -rf "$TMP/floor/bundles"; }
podman_clean() { timeout "$PT" "${PODMAN[@]}" rm -a -f -t 0 >/dev/null 2>>"$RAW/podstart-clean.err" || true; }
RSS_100='' RSS_100_LATER='' CONMON_100=''
declare -A CPU R
PODMAN_IMG_ARGS=(--ulimit nofile=1024:1024 --ulimit nproc=4096:4096 --network "$PNET" --cgroup-parent "/pp$TAG" --pull never)
# The phases of each N: the floor at the agent's concurrency, then timon, then the rest.
# Order matters on a file system without a journal (these machines' ext4): its inode
# allocator skips every inode freed in the last minute or more (recently_deleted), so
# whoever runs right after a mass deletion pays for it, and podman's cleanup of 100
# containers frees thousands. timon follows the floor's cleanup (fewer files than
# podman's), so the two compared against each other start alike; podman follows timon's.
for n in $COUNTS; do
	reps=1
	[ "$n" = 1 ] && reps=$REPEAT1
	for r in $(seq 1 "$reps"); do
		run_phase "floor-c$CONC-n$n" "$FLOOR" run "${FLOOR_ARGS[@]}" --n "$n" --par "$CONC"
		floor_clean "$n"
	done
	profile_start "timon-n$n"
	CPUSUM="0 0 0"
	for r in $(seq 1 "$reps"); do
		CPU0=$(cpu_ms "$AGENT_PID") SCPU0=$(cpu_ms "$TIMON_PID")
		run_phase "timon-n$n" python3 "$PY" timon "${CLIENT[@]}" --prefix "p${n}r$r" --n "$n" --conc "$CONC" --timeout "$PT"
		CPU1=$(cpu_ms "$AGENT_PID") SCPU1=$(cpu_ms "$TIMON_PID")
		CPUSUM=$(awk -v s="$CPUSUM" -v a="$CPU0" -v b="$CPU1" -v c="$SCPU0" -v d="$SCPU1" 'BEGIN { split(s, t); split(a, x); split(b, y); split(c, u); split(d, v)
			printf "%d %d %d", t[1] + y[1] - x[1], t[2] + y[2] - x[2], t[3] + v[1] - u[1] }')
		# the repeats of N=1 start from no pod, as the first did
		if [ "$r" -lt "$reps" ]; then
			timeout "$PT" python3 "$PY" delete "${CLIENT[@]}" --timeout "$PT" >/dev/null 2>>"$RAW/podstart-clean.err" ||
				NOTES="$NOTES\n  note: deleting timon's pods between repeats did not finish"
		fi
	done
	profile_stop "timon-n$n" "$((n * reps))"
	CPU[$n]="$(awk -v s="$CPUSUM" -v n="$((n * reps))" 'BEGIN { split(s, t); printf "%.1f %.1f %.1f", t[1] / n, t[2] / n, t[3] / n }')"
	sleep 2
	RSS_N=$(rss_kib "$AGENT_PID")
	CONMON_N=$(conmon_pss_kib "$AGENT_DATA")
	echo "RSS n=$n timon_rss_kib=$RSS_N conmon_pss_kib=$CONMON_N $(grep -E '^(RssAnon|RssFile|RssShmem|Threads):' "/proc/$AGENT_PID/status" | tr -s ' \t' ' ' | tr '\n' ' ')" >>"$RAW/podstart-rss.txt"
	cp "/proc/$AGENT_PID/smaps" "$RAW/podstart-agent-smaps-n$n.txt" 2>/dev/null || true
	if [ "$n" = 100 ]; then
		RSS_100=$RSS_N CONMON_100=$CONMON_N
		# and once the start burst is over (the agent trims its heap every 10 s)
		sleep 13
		RSS_100_LATER=$(rss_kib "$AGENT_PID")
		echo "RSS n=$n 15 s later timon_rss_kib=$RSS_100_LATER $(grep -E '^(RssAnon|RssFile):' "/proc/$AGENT_PID/status" | tr -s ' \t' ' ' | tr '\n' ' ')" >>"$RAW/podstart-rss.txt"
	fi
	timeout "$PT" python3 "$PY" delete "${CLIENT[@]}" --timeout "$PT" >/dev/null 2>>"$RAW/podstart-clean.err" ||
		NOTES="$NOTES\n  note: deleting timon's $n pods did not finish"
	for r in $(seq 1 "$reps"); do
		run_phase "floor-c1-n$n" "$FLOOR" run "${FLOOR_ARGS[@]}" --n "$n" --par 1
		floor_clean "$n"
	done
	for r in $(seq 1 "$reps"); do
		run_phase "podman-c$CONC-n$n" python3 "$PY" cmd --n "$n" --conc "$CONC" --timeout "$PT" -- \
			"${PODMAN[@]}" run -d --name "pp$TAG-{i}" "${PODMAN_IMG_ARGS[@]}" "$IMAGE" /bin/busybox sleep 3600
		podman_clean
	done
	for r in $(seq 1 "$reps"); do
		run_phase "podman-c1-n$n" python3 "$PY" cmd --n "$n" --conc 1 --timeout "$PT" -- \
			"${PODMAN[@]}" run -d --name "pp$TAG-{i}" "${PODMAN_IMG_ARGS[@]}" "$IMAGE" /bin/busybox sleep 3600
		podman_clean
	done
done

# ---- summary ----
# stats FILE FROM: "p50 p99 max last n_ok" in ms; latency = done - sent (FROM=sent) or done
# from the batch start (FROM=batch).
stats() {
	if [ -s "$1" ]; then python3 "$PY" stats --from "$2" -- "$1"; else echo "- - - - 0"; fi
}
calc() { awk "BEGIN { printf \"${2:-%.2f}\", $1 }"; }
ratio() { if [ "$1" = - ] || [ "$2" = - ] || [ "$2" = 0 ]; then echo -; else calc "$1 / $2"; fi; }
goal() { if [ "$2" = - ]; then echo "-"; elif awk "BEGIN { exit !($2 $1) }"; then echo met; else echo "NOT met"; fi; }
mib() { calc "$1 / 1024" %.1f; }
{
	echo "timon pod start benchmark — $STAMP — $(nproc) CPUs, $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "timon $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?') (agent: $AGENT_MODE); $(runc --version | head -n 1); conmon $(conmon --version | head -n 1 | awk '{ print $3 }'); podman $(podman --version | awk '{ print $3 }')"
	echo "Latency in ms. timon: from the create sent to the pod seen Running on a watch (all N creates sent at once,"
	echo "$CONC connections; the agent starts $CONC pods at a time). floor and podman: from the batch start to"
	echo "\`runc run -d\` / \`podman run -d\` returning, $CONC at a time (c$CONC) or one at a time (c1)."
	echo "'all' = when the last of the N was running, from the batch start."
	[ "$REPEAT1" -gt 1 ] && echo "N=1: $REPEAT1 starts one after the other for every system; p50/p99 over them, 'all' the slowest."
	echo
	printf '%-5s %-26s %8s %8s %8s %9s %5s\n' N system p50 p99 max all ok
	for n in $COUNTS; do
		for s in "floor-c$CONC:floor runc+CNI, c$CONC:batch" "floor-c1:floor runc+CNI, c1:batch" \
			"podman-c$CONC:podman run -d, c$CONC:batch" "podman-c1:podman run -d, c1:batch" "timon:timon (API+agent):sent"; do
			IFS=: read -r key label from <<<"$s"
			read -r p50 p99 mx last ok <<<"$(stats "$RAW/podstart-$key-n$n.txt" "$from")"
			want=$n
			[ "$n" = 1 ] && want=$REPEAT1
			printf '%-5s %-26s %8s %8s %8s %9s %5s\n' "$n" "$label" "$p50" "$p99" "$mx" "$last" "$ok/$want"
			R[$key-$n]="$p50 $p99 $last"
		done
	done
	echo
	printf '%-5s %-34s %-34s\n' N "timon / floor c$CONC (p50, p99, all)" "podman c$CONC / timon (p50, p99, all)"
	for n in $COUNTS; do
		read -r t50 t99 tall <<<"${R[timon-$n]}"
		read -r f50 f99 fall <<<"${R[floor-c$CONC-$n]}"
		read -r q50 q99 qall <<<"${R[podman-c$CONC-$n]}"
		printf '%-5s %-34s %-34s\n' "$n" "$(ratio "$t50" "$f50"), $(ratio "$t99" "$f99"), $(ratio "$tall" "$fall")" \
			"$(ratio "$q50" "$t50"), $(ratio "$q99" "$t99"), $(ratio "$qall" "$tall")"
		[ "$n" = 100 ] && GOAL_FLOOR=$(ratio "$t99" "$f99") GOAL_PODMAN=$(ratio "$q99" "$t99") GOAL_P99=$t99
	done
	echo
	echo "goals (N=100, p99): timon <= 1.5x floor: ${GOAL_FLOOR:--} $(goal '<= 1.5' "${GOAL_FLOOR:--}");" \
		"podman >= 3x timon: ${GOAL_PODMAN:--} $(goal '>= 3' "${GOAL_PODMAN:--}");" \
		"Kubernetes SLO p99 <= 5000 ms: ${GOAL_P99:--} $(goal '<= 5000' "${GOAL_P99:--}")"
	for n in $COUNTS; do
		read -r cs cc ss <<<"${CPU[$n]:-}"
		if [ "$AGENT_MODE" = standalone ]; then
			echo "timon CPU per pod, N=$n: ${cs:--} ms in the agent process, ${cc:--} ms in the runc and CNI processes it waited for, ${ss:--} ms in the server"
		else
			echo "timon CPU per pod, N=$n: ${cs:--} ms in the server process, ${cc:--} ms in the runc and CNI processes it waited for"
		fi
	done
	if [ "$AGENT_MODE" = standalone ]; then
		echo "timon agent RSS (timon agent, its own process): $(mib "$RSS_IDLE") MiB before any pod, $(mib "$RSS_IMAGE") MiB after the image pull,"
	else
		echo "timon RSS (server + embedded agent): $(mib "$RSS_IDLE") MiB before any pod, $(mib "$RSS_IMAGE") MiB after the image pull,"
	fi
	if [ -n "$RSS_100" ] && [ "$AGENT_MODE" = standalone ]; then
		echo "  $(mib "$RSS_100") MiB with 100 pods running, 2 s after the last started; 15 s after: $(mib "$RSS_100_LATER") MiB" \
			"(goal < 15 MB: $(goal '< 15 * 1000 * 1000' $((RSS_100_LATER * 1024))))"
		echo "  of which mapped files (the binary and shared libraries, shared with other processes):" \
			"$(grep -o 'RssFile: [0-9]*' "$RAW/podstart-rss.txt" | tail -n 1 | awk '{ printf "%.1f", $2 / 1024 }') MiB;" \
			"the agent's own (anonymous): $(grep -o 'RssAnon: [0-9]*' "$RAW/podstart-rss.txt" | tail -n 1 | awk '{ printf "%.1f", $2 / 1024 }') MiB"
	elif [ -n "$RSS_100" ]; then
		echo "  $(mib "$RSS_100") MiB with 100 pods running: +$(mib $((RSS_100 - RSS_IDLE))) MiB for the agent's pods" \
			"(goal < 15 MB: $(goal '< 15 * 1000 * 1000' $(((RSS_100 - RSS_IDLE) * 1024))));" \
			"15 s after: $(mib "$RSS_100_LATER") MiB"
	fi
	if [ -n "$RSS_100" ]; then
		echo "  outside timon: 100 conmon monitors, $(mib "$CONMON_100") MiB Pss in all (podman uses one per container too)"
	fi
	[ -z "$NOTES" ] || printf '%b\n' "$NOTES"
} | tee "$RAW/podstart-summary.txt"
cp "$RAW/podstart-summary.txt" "$OUT/podstart-summary.txt"
