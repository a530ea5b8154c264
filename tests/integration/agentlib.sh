# agentlib.sh — for integration tests that run real pods: a local registry (Debian's
# docker-registry on 127.0.0.1) holding the busybox test image from mkimage.py, and a
# timon server with its embedded node agent. Source after lib.sh; call agent_setup, then
# start_agent_server. Cleanup deletes the test's pods through the API, then removes by
# name whatever the agent left (containers under the test's runtime dir, mounts under the
# test's folders, pod cgroups of the test's pods) and stops the registry it started.
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
AGENT_NODE=${AGENT_NODE:-timon-test-$$}
AGENT_RUN=/run/timon-t$$
AGENT_BRIDGE=tt$$

# pod_net FIRST [TAKEN...]: N for a 10.42.N.0/24 pod network (N in 40-239) that no route
# or address of this machine overlaps, trying FIRST, FIRST+1, ... and skipping TAKEN. A
# bridge with the same subnet (one a killed run leaked) would take the route to it, and
# the test's pods would be unreachable from the host and through every Service.
pod_net() {
	local first=$1 n i
	shift
	for i in $(seq 0 199); do
		n=$(((first - 40 + i) % 200 + 40))
		case " $* " in *" $n "*) continue ;; esac
		[ -z "$(ip -4 route show root "10.42.$n.0/24" 2>/dev/null)" ] || continue
		[ -z "$(ip -4 -o addr show to "10.42.$n.0/24" 2>/dev/null)" ] || continue
		echo "$n"
		return 0
	done
	echo "$first"
}
AGENT_POD_NET=$(pod_net $(($$ % 200 + 40)))
AGENT_PIDS=()
# Eviction thresholds for test nodes: the host's own free disk or memory must not put a test
# node under pressure (its NoSchedule taint, evictions) in the middle of an unrelated check,
# as kind does for its nodes (nodefs 0%). test_eviction.sh sets its own to test pressure.
AGENT_EVICTION='memory.available<1Mi,nodefs.available<1%'
REG=
IMAGE=

# agent_node_cleanup RUN STATE BRIDGE NODE MOUNTS: what one node's agent (embedded or
# joined) may leave once it is stopped: containers through runc under RUN, the cgroups of
# the pods in STATE/containers, mounts matching the regex MOUNTS, RUN itself, the bridge,
# and the node's nftables tables (the proxy's, should the server have died without
# removing it, and the pod egress table, which a stopping agent keeps on purpose for its
# running containers; docs/proxy.md, docs/network.md).
agent_node_cleanup() {
	local run=$1 state=$2 bridge=$3 node=$4 mounts=$5
	if [ -d "$run/runtime/runc" ]; then
		for id in $(runc --root "$run/runtime/runc" list -q 2>/dev/null); do
			runc --root "$run/runtime/runc" delete -f "$id" >/dev/null 2>&1
		done
	fi
	for b in "$state"/containers/*/; do
		[ -d "$b" ] || continue
		local id uid
		id=$(basename "$b")
		uid=${id%%_*}
		for d in /sys/fs/cgroup/*/timon/pod"$uid" /sys/fs/cgroup/timon/pod"$uid"; do
			[ -d "$d" ] || continue
			for c in "$d"/*/; do [ -d "$c" ] && rmdir "$c" 2>/dev/null; done
			rmdir "$d" 2>/dev/null
		done
	done
	grep -oE " $mounts/[^ ]*" /proc/mounts 2>/dev/null | sort -r | while read -r m; do umount -l "$m"; done
	rm -rf "$run"
	ip link del "$bridge" >/dev/null 2>&1
	nft delete table inet "timon-$node" >/dev/null 2>&1
	nft delete table inet "timon-$node-pods" >/dev/null 2>&1
}

agent_cleanup() {
	[ "$FAILED" -ne 0 ] && cp "$TMP/server.log" "/tmp/timon-agent-server-$$.log" 2>/dev/null
	if [ -n "$SERVER_PID" ]; then
		timeout 60 kubectl delete pods --all -A --wait=true --timeout=50s >/dev/null 2>&1
		stop_server
	fi
	agent_node_cleanup "$AGENT_RUN" "$TMP/data/agent" "$AGENT_BRIDGE" "$AGENT_NODE" "($TMP|$AGENT_RUN)"
	for p in "${AGENT_PIDS[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	cleanup
}
trap agent_cleanup EXIT

agent_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# agent_setup: root and tools, the registry, the test image pushed as $IMAGE.
agent_setup() {
	if [ "$(id -u)" -ne 0 ]; then
		fail "the test runs as root (containers, mounts, cgroups, network namespaces)"
		echo "$PASSED passed, $FAILED failed"
		exit 1
	fi
	for tool in docker-registry skopeo runc conmon python3 curl; do
		if ! command -v "$tool" >/dev/null; then
			fail "tool $tool is installed (scripts/install-deps)"
			echo "$PASSED passed, $FAILED failed"
			exit 1
		fi
	done
	local port
	port=$(agent_free_port)
	REG=127.0.0.1:$port
	cat >"$TMP/registry.yml" <<EOR
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $TMP/registry
http:
  addr: $REG
EOR
	docker-registry serve "$TMP/registry.yml" >>"$TMP/registry.log" 2>&1 &
	AGENT_PIDS+=($!)
	local ok=
	for _ in $(seq 1 100); do
		curl -s -o /dev/null "http://$REG/v2/" && { ok=1; break; }
		sleep 0.1
	done
	[ -n "$ok" ] || { fail "registry starts" "$(tail -5 "$TMP/registry.log")"; return 1; }
	python3 "$HERE/mkimage.py" --layout "$TMP/layout" --tag 1 >/dev/null &&
		skopeo copy --quiet --dest-tls-verify=false oci:"$TMP/layout":1 "docker://$REG/test/busybox:1" ||
		{ fail "test image is built and pushed"; return 1; }
	IMAGE=$REG/test/busybox:1
	# docker.io served by the local registry too, as an offline site would do it.
	skopeo copy --quiet --dest-tls-verify=false oci:"$TMP/layout":1 "docker://$REG/library/busybox:latest" >/dev/null 2>&1
	cat >"$TMP/registries.yaml" <<EOR
mirrors:
  docker.io:
    endpoint:
      - "http://$REG"
EOR
}

# start_agent_server [flags]: the server with its agent on node $AGENT_NODE; waits until
# the node is Ready.
start_agent_server() {
	mkdir -p "$TMP/logs"
	"$TIMON" server --data-dir "$TMP/data" --https-port 0 --node-name "$AGENT_NODE" \
		--agent-run-dir "$AGENT_RUN" --cni-bridge "$AGENT_BRIDGE" --pod-log-dir "$TMP/logs" \
		--registry-config "$TMP/registries.yaml" --pod-cidr "10.42.$AGENT_POD_NET.0/24" \
		--disable-proxy --disable-dns --disable-ingress --eviction-hard "$AGENT_EVICTION" "$@" \
		>>"$TMP/server.log" 2>&1 &
	SERVER_PID=$!
	for _ in $(seq 1 150); do
		if [ -f "$KUBECONFIG" ] && kubectl get node "$AGENT_NODE" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null | grep -q True; then
			return 0
		fi
		sleep 0.1
	done
	echo "the node did not become Ready:"
	tail -n 30 "$TMP/server.log"
	return 1
}

# wait_for SECONDS CMD...: retries CMD every 0.2 s until it succeeds.
wait_for() {
	local end=$((SECONDS + $1))
	shift
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.2
	done
}

# pod_field POD JSONPATH
pod_field() { kubectl get pod "$1" -o jsonpath="$2" 2>/dev/null; }
