#!/usr/bin/env bash
# proxy_rules.sh — how long the nftables service proxy takes to put rules in the kernel,
# for 1,000 and 10,000 services (each 1 port, 2 ready endpoints, every 4th a NodePort;
# at 10,000 once more with ClientIP affinity on every 10th): the first sync (the whole
# table in one transaction), then incremental transactions (one service scaled, 100
# services scaled, one deleted), with rule generation timed apart from the kernel.
# Context: kube-proxy's iptables mode was reported at 2.8 s per full sync for 3,600
# services; the goal is < 1 s at 10,000.
#
# The driver (C, below) links build/libtimon.a and runs the proxy's own model, rule and
# apply code in a private network namespace (unshare), so the host's firewall is never
# touched. An end-to-end run follows: `timon server` with TIMON_PROXY=nftables inside a
# test namespace, 1,000 services and slices created through the API, timed until the
# kernel holds them all, then one endpoint change timed until it is in the kernel, then a
# restart (the table goes at stop and comes back in one transaction once the controllers
# run). Needs root. Prints figures; never asserts on them. The server's log is kept in
# bench/out/proxy_e2e_server.log.
#
# Knobs (environment): PROXY_BENCH_SIZES ("1000 10000"), PROXY_BENCH_E2E (1000; 0 skips),
# BUILD (build), PROXY_BENCH_NO_MAKE=1 (use the existing $BUILD/libtimon.a and timon).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-build}
OUT=$ROOT/bench/out
SIZES=${PROXY_BENCH_SIZES:-1000 10000}
E2E=${PROXY_BENCH_E2E:-1000}
mkdir -p "$OUT"

if [ "$(id -u)" -ne 0 ]; then
	echo "proxy_rules: needs root (network namespaces, nftables)" >&2
	exit 1
fi
if [ "${PROXY_BENCH_NO_MAKE:-0}" != 1 ]; then
	make -C "$ROOT" -j2 "$BUILD/libtimon.a" "$BUILD/timon" >&2
fi

TMP=$(mktemp -d /tmp/timon-proxybench.XXXXXX)
NS=
SERVER_PID=
cleanup() {
	if [ -n "$SERVER_PID" ]; then
		kill "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
	fi
	[ -n "$NS" ] && ip netns del "$NS" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

cat >"$TMP/driver.c" <<'EOF'
/* The proxy_rules driver: N synthetic services through the proxy's model, rules and
 * apply code, in a private network namespace. Prints one line per measurement. */
#include <jansson.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "proxy/proxy.h"

static const proxy_config cfg = {.node_name = "node-a", .cluster_cidr = "10.42.0.0/16",
                                 .service_cidr = "10.43.0.0/16"};

static double ms_since(int64_t t0) { return (double)(time_mono_ns() - t0) / 1e6; }

static int affinity_every; /* every k-th service has ClientIP affinity; 0: none */

/* Service i with neps endpoints (pods 10.42.x.y), as the API would store it. */
static nft_frag *make(int i, int neps)
{
	json_t *svc = json_pack("{s:{s:s, s:s}, s:{s:s, s:s, s:[{s:s, s:i, s:i}]}}",
	    "metadata", "namespace", "bench", "name", "",
	    "spec", "type", i % 4 == 0 ? "NodePort" : "ClusterIP", "clusterIP", "",
	    "ports", "name", "http", "port", 80, "nodePort", 30000 + i % 2768);
	char name[32], cip[32];
	snprintf(name, sizeof name, "svc-%d", i);
	snprintf(cip, sizeof cip, "10.43.%d.%d", (i + 11) / 256 % 256, (i + 11) % 256);
	json_object_set_new(json_object_get(svc, "metadata"), "name", json_string(name));
	json_object_set_new(json_object_get(svc, "spec"), "clusterIP", json_string(cip));
	if (affinity_every && i % affinity_every == 0)
		json_object_set_new(json_object_get(svc, "spec"), "sessionAffinity",
		                    json_string("ClientIP"));
	json_t *eps = json_array();
	for (int k = 0; k < neps; k++) {
		char ip[32];
		int n = i * 3 + k;
		snprintf(ip, sizeof ip, "10.42.%d.%d", n / 250, n % 250 + 2);
		json_array_append_new(eps, json_pack("{s:[s], s:s, s:{s:b}}", "addresses", ip,
		                                     "nodeName", k % 2 ? "node-b" : "node-a",
		                                     "conditions", "ready", 1));
	}
	json_t *slice = json_pack("{s:s, s:[{s:s, s:i, s:s}], s:o}", "addressType", "IPv4",
	                          "ports", "name", "http", "port", 8080, "protocol", "TCP",
	                          "endpoints", eps);
	proxy_service *m = proxy_service_parse(svc, &slice, 1, &cfg);
	nft_frag *f = nft_frag_build(m, &cfg);
	proxy_service_free(m);
	json_decref(svc);
	json_decref(slice);
	return f;
}

static double apply_ms(nft_applier *a, char *text)
{
	terr *err = NULL;
	int64_t t0 = time_mono_ns();
	if (nft_apply(a, text, &err) < 0) {
		fprintf(stderr, "apply failed: %s\n", err->message);
		exit(1);
	}
	double ms = ms_since(t0);
	free(text);
	return ms;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1000;
	affinity_every = argc > 2 ? atoi(argv[2]) : 0;
	char label[64];
	snprintf(label, sizeof label, "services=%d%s", n, affinity_every ? " affinity=10%" : "");
	if (n < 100 || (affinity_every && affinity_every != 10)) {
		fprintf(stderr, "usage: driver N(>=100) [10]\n");
		return 2;
	}
	if (unshare(CLONE_NEWNET) != 0) {
		perror("unshare(CLONE_NEWNET)");
		return 1;
	}
	terr *err = NULL;
	nft_applier *a = nft_applier_new(&err);
	if (!a)
		return 1;
	nft_frag **frags = xcalloc((size_t)n, sizeof *frags);
	int64_t t0 = time_mono_ns();
	for (int i = 0; i < n; i++)
		frags[i] = make(i, 2);
	double gen = ms_since(t0);
	t0 = time_mono_ns();
	nft_batch b = {0};
	nft_batch_full(&b, &cfg);
	for (int i = 0; i < n; i++)
		nft_batch_diff(&b, NULL, frags[i]);
	char *text = nft_batch_take(&b);
	double textms = ms_since(t0);
	size_t lines = 0;
	for (char *p = text; *p; p++)
		lines += *p == '\n';
	printf("%s generate_ms=%.1f batch_text_ms=%.1f commands=%zu bytes=%zu\n", label, gen,
	       textms, lines, strlen(text));
	char *again = xstrdup(text);
	printf("%s full_sync_apply_ms=%.1f\n", label, apply_ms(a, text));
	printf("%s full_resync_apply_ms=%.1f (replacing a populated table)\n", label,
	       apply_ms(a, again));
	/* One service scaled from 2 to 3 endpoints and back, 40 times. */
	double one[40];
	for (int r = 0; r < 40; r++) {
		int i = (r * 7919) % n;
		nft_frag *f = make(i, r % 2 ? 2 : 3);
		t0 = time_mono_ns();
		nft_batch_diff(&b, frags[i], f);
		char *t = nft_batch_take(&b);
		double d = ms_since(t0);
		one[r] = d + apply_ms(a, t);
		nft_frag_free(frags[i]);
		frags[i] = f;
	}
	qsort(one, 40, sizeof *one, cmp_d);
	printf("%s one_service_update_ms median=%.2f max=%.2f\n", label, one[20], one[39]);
	/* 100 services scaled in one transaction. */
	t0 = time_mono_ns();
	for (int i = 0; i < 100 && i < n; i++) {
		int k = (i * 97 + 13) % n;
		nft_frag *f = make(k, 4);
		nft_batch_diff(&b, frags[k], f);
		nft_frag_free(frags[k]);
		frags[k] = f;
	}
	size_t changed = b.changes;
	double gen100 = ms_since(t0);
	printf("%s batch_of_%zu_updates_ms=%.1f (generation %.1f)\n", label, changed,
	       gen100 + apply_ms(a, nft_batch_take(&b)), gen100);
	/* One service deleted. */
	t0 = time_mono_ns();
	nft_batch_diff(&b, frags[n / 2], NULL);
	char *del = nft_batch_take(&b);
	double gdel = ms_since(t0);
	printf("%s one_service_delete_ms=%.2f\n", label, gdel + apply_ms(a, del));
	nft_frag_free(frags[n / 2]);
	frags[n / 2] = NULL;
	printf("%s table_delete_ms=%.1f\n", label, apply_ms(a, xstrdup(nft_table_delete_text(PROXY_TABLE))));
	for (int i = 0; i < n; i++)
		nft_frag_free(frags[i]);
	free(frags);
	nft_applier_free(a);
	return 0;
}
EOF
# shellcheck disable=SC2046
cc -O2 -g -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-unused-parameter -I"$ROOT/src" \
	-o "$TMP/driver" "$TMP/driver.c" "$ROOT/$BUILD/libtimon.a" \
	$(pkg-config --cflags --libs libuv openssl jansson yaml-0.1 sqlite3 libcurl libarchive libnftables) \
	-lhttp_parser -lpthread -lm

echo "== proxy rules: generation and kernel apply (private netns, $(uname -r), nft $(nft --version | awk '{print $2}'))"
for n in $SIZES; do
	"$TMP/driver" "$n"
done
for n in $SIZES; do
	[ "$n" -ge 10000 ] && "$TMP/driver" "$n" 10 # with ClientIP affinity on every 10th
done
echo "   context: kube-proxy iptables mode, reported 2.8 s per sync at 3,600 services; goal < 1 s at 10,000"

[ "$E2E" -gt 0 ] || exit 0

# --- end to end: the server in a namespace, services through the API ---
NS=timon-pxbench-$$
ip netns add "$NS"
ip -n "$NS" link set lo up
export KUBECONFIG=$TMP/data/kubeconfig.yaml
ip netns exec "$NS" env TIMON_PROXY=nftables "$ROOT/$BUILD/timon" server --data-dir "$TMP/data" \
	--https-port 0 --disable-agent >"$TMP/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
	[ -f "$KUBECONFIG" ] && ip netns exec "$NS" kubectl get --raw /readyz >/dev/null 2>&1 && break
	sleep 0.1
done
python3 - "$E2E" >"$TMP/objs.yaml" <<'EOF'
import sys
n = int(sys.argv[1])
for i in range(n):
    print(f"""---
apiVersion: v1
kind: Service
metadata: {{name: e2e-{i}, namespace: default}}
spec:
  ports: [{{name: http, port: 80}}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: e2e-{i}-1
  namespace: default
  labels: {{kubernetes.io/service-name: e2e-{i}}}
addressType: IPv4
ports: [{{name: http, port: 8080, protocol: TCP}}]
endpoints:
- {{addresses: [10.42.{i // 250}.{i % 250 + 2}], conditions: {{ready: true}}}}""")
EOF
count() { ip netns exec "$NS" nft list map inet timon service-ips 2>/dev/null | grep -o 'goto service-' | wc -l; }
t0=$(date +%s%N)
ip netns exec "$NS" kubectl apply -f "$TMP/objs.yaml" >/dev/null
t1=$(date +%s%N)
for _ in $(seq 1 600); do
	[ "$(count)" -ge "$E2E" ] && break
	sleep 0.05
done
t2=$(date +%s%N)
echo "== end to end: $E2E services and slices through the API (kubectl apply ${E2E}x2 objects: $(((t1 - t0) / 1000000)) ms), all in the kernel $(((t2 - t1) / 1000000)) ms after the apply returned ($(count) services)"
# One endpoint change, timed from the API write until the kernel has it (polling the
# service's own chain: listing it is cheap, listing the table is not).
chain=$(ip netns exec "$NS" nft list table inet timon | grep -o 'chain service-[A-Z2-7]*-default/e2e-7/tcp/http' | head -n 1)
chain=${chain#chain }
t0=$(date +%s%N)
ip netns exec "$NS" kubectl patch endpointslice e2e-7-1 --type=json \
	-p '[{"op":"replace","path":"/endpoints/0/addresses/0","value":"10.42.200.200"}]' >/dev/null
t1=$(date +%s%N)
for _ in $(seq 1 400); do
	ip netns exec "$NS" nft list chain inet timon "$chain" 2>/dev/null | grep -q 'dnat ip to 10.42.200.200:8080' && break
	sleep 0.002
done
t2=$(date +%s%N)
echo "== end to end: one endpoint change in the kernel $(((t2 - t1) / 1000000)) ms after kubectl patch returned (patch itself $(((t1 - t0) / 1000000)) ms)"
# A restart with the services in place: the first sync is one full transaction.
kill -TERM "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null || true
gone=$(ip netns exec "$NS" nft list tables 2>/dev/null | grep -c 'inet timon' || true)
t0=$(date +%s%N)
ip netns exec "$NS" env TIMON_PROXY=nftables "$ROOT/$BUILD/timon" server --data-dir "$TMP/data" \
	--https-port 0 --disable-agent >>"$TMP/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 1500); do
	[ "$(count)" -ge "$E2E" ] && break
	sleep 0.02
done
t1=$(date +%s%N)
echo "== end to end: restart with $E2E services: table removed at stop ($gone left), all back in the kernel $(((t1 - t0) / 1000000)) ms after the server started"
grep -E 'proxy: table inet timon synced' "$TMP/server.log" | tail -n 1 | sed 's/^.*proxy: /   server: /'
# The proxy runs with the controllers, which wait for the previous holder's lease to expire.
awk '/apiserver: serving/ { s = $2 } /controllers: acquired lease/ && s { a = $2 }
	END { split(s, x, ":"); split(a, y, ":");
	      if (a) printf "   of which waiting for the controller lease: %.1f s\n", (y[1] * 3600 + y[2] * 60 + y[3]) - (x[1] * 3600 + x[2] * 60 + x[3]) }' \
	<(sed -n '/received signal/,$p' "$TMP/server.log")
cp "$TMP/server.log" "$OUT/proxy_e2e_server.log"
{ grep -A3 -E '^[EW].*proxy:' "$TMP/server.log" || true; } | head -n 8 | cut -c1-300 | sed 's/^/   server: /'
