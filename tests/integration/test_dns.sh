#!/usr/bin/env bash
# test_dns.sh — the cluster DNS inside `timon server`, driven with kubectl and dig: records
# of ClusterIP, headless (EndpointSlices with hostnames, like a StatefulSet's) and
# ExternalName services, SRV, PTR, NXDOMAIN versus NODATA, truncation and TCP, and
# forwarding of other names to a tiny resolver this test runs on loopback (never the
# host's resolvers), with caching and SERVFAIL when the upstream stays silent. Every DNS
# packet goes to 127.0.0.1.
. "$(dirname "$0")/lib.sh"

if ! command -v dig >/dev/null 2>&1; then
	echo "dig not found (Debian dnsutils; scripts/install-deps installs it)"
	echo "0 passed, 1 failed"
	exit 1
fi

UP_PID=
stop_upstream() {
	if [ -n "$UP_PID" ]; then
		kill "$UP_PID" 2>/dev/null
		wait "$UP_PID" 2>/dev/null
		UP_PID=
	fi
}
trap 'stop_upstream; cleanup' EXIT

# The upstream: UDP and TCP on one loopback port. www.example.test A 192.0.2.10 (TTL 60),
# nx.example.test NXDOMAIN with an SOA, big.example.test truncated over UDP and 100
# addresses over TCP, slow.example.test never answered. Each query is logged.
cat >"$TMP/upstream.py" <<'EOF'
import socket, struct, sys, threading, time
log = open(sys.argv[1], "a", buffering=1)
def qname(p):
    i, labels = 12, []
    while p[i]:
        labels.append(p[i + 1:i + 1 + p[i]].decode("ascii", "replace"))
        i += 1 + p[i]
    return ".".join(labels).lower(), i + 5
def answer(p, tcp):
    name, end = qname(p)
    qtype = struct.unpack(">H", p[end - 4:end - 2])[0]
    log.write("%s %s %d\n" % ("tcp" if tcp else "udp", name, qtype))
    if name == "slow.example.test":
        return None
    q = p[12:end]
    rid = p[:2]
    rr = lambda t, ttl, data: b"\xc0\x0c" + struct.pack(">HHIH", t, 1, ttl, len(data)) + data
    if name == "www.example.test" and qtype == 1:
        return rid + struct.pack(">HHHHH", 0x8180, 1, 1, 0, 0) + q + rr(1, 60, bytes([192, 0, 2, 10]))
    if name == "big.example.test" and not tcp:
        return rid + struct.pack(">HHHHH", 0x8380, 1, 0, 0, 0) + q
    if name == "big.example.test" and qtype == 1:
        rrs = b"".join(rr(1, 60, bytes([198, 51, 100, i])) for i in range(100))
        return rid + struct.pack(">HHHHH", 0x8180, 1, 100, 0, 0) + q + rrs
    soa = b"\x02ns\x04test\x00\x05admin\x04test\x00" + struct.pack(">IIIII", 1, 60, 60, 60, 30)
    auth = b"\x04test\x00" + struct.pack(">HHIH", 6, 1, 60, len(soa)) + soa
    rcode = 3 if name == "nx.example.test" or not name.endswith("example.test") else 0
    return rid + struct.pack(">HHHHH", 0x8180 | rcode, 1, 0, 1, 0) + q + auth
# One port number for both: the system picks a free UDP port, which TCP may have in use
# (an ephemeral port of another connection), so try a few (bounded).
for attempt in range(50):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 0))
    port = u.getsockname()[1]
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        t.bind(("127.0.0.1", port))
        break
    except OSError:
        u.close()
        t.close()
else:
    sys.exit("no port free for both UDP and TCP in 50 tries")
t.listen(16)
def udp_loop():
    while True:
        p, addr = u.recvfrom(65535)
        r = answer(p, False)
        if r:
            u.sendto(r, addr)
def tcp_conn(c):
    with c:
        c.settimeout(5)
        n = struct.unpack(">H", c.recv(2))[0]
        p = b""
        while len(p) < n:
            p += c.recv(n - len(p))
        r = answer(p, True)
        if r:
            c.sendall(struct.pack(">H", len(r)) + r)
def tcp_loop():
    while True:
        c, _ = t.accept()
        threading.Thread(target=tcp_conn, args=(c,), daemon=True).start()
threading.Thread(target=udp_loop, daemon=True).start()
threading.Thread(target=tcp_loop, daemon=True).start()
print(port, flush=True)
time.sleep(600)  # bounded: the test kills it long before
EOF
python3 "$TMP/upstream.py" "$TMP/upstream.log" >"$TMP/upstream.port" 2>"$TMP/upstream.err" &
UP_PID=$!
for _ in $(seq 1 50); do
	[ -s "$TMP/upstream.port" ] && break
	sleep 0.1
done
UP_PORT=$(cat "$TMP/upstream.port")
if [ -z "$UP_PORT" ]; then
	fail "the test's upstream resolver started" "$(cat "$TMP/upstream.err")"
	finish
	exit 1
fi
: >"$TMP/upstream.log"

export TIMON_DNS_ADDR=127.0.0.1:0
export TIMON_DNS_UPSTREAM=127.0.0.1:$UP_PORT
start_server || { echo "0 passed, 1 failed"; exit 1; }

PORT=
for _ in $(seq 1 50); do
	PORT=$(sed -n 's/.*dns: serving .*udp+tcp port \([0-9]*\).*/\1/p' "$TMP/server.log" | head -n 1)
	[ -n "$PORT" ] && break
	sleep 0.1
done
if [ -z "$PORT" ]; then
	fail "dns server started" "$(grep -i dns "$TMP/server.log" | tail -n 5)"
	finish
	exit 1
fi
pass "dns server listens on 127.0.0.1:$PORT (upstream 127.0.0.1:$UP_PORT)"

D() { dig @127.0.0.1 -p "$PORT" +time=3 +tries=1 "$@"; }
short() { D +short "$@"; }

kubectl apply -f - >/dev/null <<'EOF'
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  ports: [{name: http, port: 80, protocol: TCP}]
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: default}
spec:
  clusterIP: None
  ports: [{name: pg, port: 5432, protocol: TCP}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: db-1a2b3
  namespace: default
  labels: {kubernetes.io/service-name: db}
addressType: IPv4
ports: [{name: pg, port: 5432, protocol: TCP}]
endpoints:
- {addresses: [10.42.0.10], hostname: db-0, conditions: {ready: true}}
- {addresses: [10.42.0.11], hostname: db-1, conditions: {ready: true}}
- {addresses: [10.42.0.12], hostname: db-2, conditions: {ready: false}}
---
apiVersion: v1
kind: Service
metadata: {name: ext, namespace: default}
spec: {type: ExternalName, externalName: www.example.test}
EOF
CIP=$(kubectl get svc web -o jsonpath='{.spec.clusterIP}')
check "services created" test -n "$CIP"
if [ -z "$CIP" ]; then
	finish
	exit 1
fi

# Records appear within a moment of the write.
for _ in $(seq 1 50); do
	[ "$(short web.default.svc.cluster.local)" = "$CIP" ] && break
	sleep 0.1
done

expect_out "A of a ClusterIP service" "^$CIP\$" short web.default.svc.cluster.local
expect_out "short name through the search list (svc)" "^$CIP\$" \
	short +ndots=5 +domain=default.svc.cluster.local web
expect_out "short name through the search list (svc.ns)" "^$CIP\$" \
	short +ndots=5 +domain=svc.cluster.local web.default
expect_out "case-insensitive" "^$CIP\$" short WEB.Default.SVC.cluster.local
expect_out "answers are authoritative with TTL 5" "flags: qr aa rd ra.*|web.default.svc.cluster.local.\s+5\s+IN\s+A" \
	D web.default.svc.cluster.local
expect_out "SRV of a named port" "^0 100 80 web.default.svc.cluster.local.\$" \
	short _http._tcp.web.default.svc.cluster.local SRV
expect_out "PTR of the cluster IP" "^web.default.svc.cluster.local.\$" short -x "$CIP"
expect_out "headless: A of ready endpoints" "^10.42.0.10 10.42.0.11\$" \
	bash -c "dig @127.0.0.1 -p $PORT +short db.default.svc.cluster.local | sort | xargs"
expect_out "headless: per-pod hostname" "^10.42.0.11\$" short db-1.db.default.svc.cluster.local
expect_out "headless: SRV per endpoint" "^0 50 5432 db-0.db.default.svc.cluster.local. 0 50 5432 db-1.db.default.svc.cluster.local.\$" \
	bash -c "dig @127.0.0.1 -p $PORT +short _pg._tcp.db.default.svc.cluster.local SRV | sort | xargs"
expect_out "headless: PTR of an endpoint" "^db-0.db.default.svc.cluster.local.\$" short -x 10.42.0.10
expect_out "unready endpoint has no name (NXDOMAIN)" "status: NXDOMAIN" D db-2.db.default.svc.cluster.local
expect_out "unknown name: NXDOMAIN with SOA, negative TTL 5" \
	"cluster.local.\s+5\s+IN\s+SOA\s+ns.dns.cluster.local. hostmaster.cluster.local. [0-9]+ [0-9]+ [0-9]+ [0-9]+ 5" \
	D nope.default.svc.cluster.local
expect_out "unknown name status" "status: NXDOMAIN" D nope.default.svc.cluster.local
expect_out "existing name, other type: NODATA" "status: NOERROR.*ANSWER: 0" \
	bash -c "dig @127.0.0.1 -p $PORT web.default.svc.cluster.local AAAA | grep -E 'status|ANSWER:' | xargs"
expect_out "namespace name exists (NODATA)" "status: NOERROR" D default.svc.cluster.local
expect_out "pod name" "^10.1.2.3\$" short 10-1-2-3.default.pod.cluster.local
expect_out "schema version" '^"1.0.1"$' short dns-version.cluster.local TXT
expect_out "apex SOA" "^ns.dns.cluster.local. hostmaster.cluster.local." short cluster.local SOA
expect_out "ExternalName: CNAME chased upstream" "^www.example.test. 192.0.2.10\$" \
	bash -c "dig @127.0.0.1 -p $PORT +short ext.default.svc.cluster.local | xargs"
expect_out "over TCP" "^$CIP\$" short +tcp web.default.svc.cluster.local
expect_out "EDNS version 1: BADVERS" "status: BADVERS" D +edns=1 +noednsneg web.default.svc.cluster.local

# Truncation: 60 endpoints pass 512 bytes.
{
	cat <<'EOF'
apiVersion: v1
kind: Service
metadata: {name: big, namespace: default}
spec: {clusterIP: None}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: big-x, namespace: default, labels: {kubernetes.io/service-name: big}}
addressType: IPv4
endpoints:
EOF
	for i in $(seq 1 60); do echo "- {addresses: [10.42.1.$i]}"; done
} | kubectl apply -f - >/dev/null
for _ in $(seq 1 50); do
	[ -n "$(short +tcp big.default.svc.cluster.local | head -n 1)" ] && break
	sleep 0.1
done
expect_out "UDP without EDNS over 512 bytes: TC" "flags: qr aa tc" D +noedns +ignore big.default.svc.cluster.local
expect_out "truncated reply within 512 bytes" "MSG SIZE  rcvd: ([1-4][0-9][0-9]|50[0-9]|51[0-2])\$" \
	D +noedns +ignore big.default.svc.cluster.local
expect_out "TCP carries all 60" "^60\$" bash -c "dig @127.0.0.1 -p $PORT +tcp +short big.default.svc.cluster.local | wc -l"
expect_out "EDNS 1232 carries all 60 over UDP" "^60\$" \
	bash -c "dig @127.0.0.1 -p $PORT +notcp +ignore +short big.default.svc.cluster.local | wc -l"

# Forwarding to the test's own loopback resolver, with the cache.
expect_out "other names forwarded" "^192.0.2.10\$" short www.example.test
expect_out "forwarded answers are not authoritative" "flags: qr rd ra;" D www.example.test
expect_out "cached: upstream asked once" "^1\$" grep -c "udp www.example.test 1" "$TMP/upstream.log"
expect_out "upstream NXDOMAIN passed on" "status: NXDOMAIN" D nx.example.test
D nx.example.test >/dev/null
expect_out "negative answer cached" "^1\$" grep -c "nx.example.test" "$TMP/upstream.log"
expect_out "truncated upstream answer: retried over TCP" "^100\$" \
	bash -c "dig @127.0.0.1 -p $PORT +tcp +short big.example.test | wc -l"
expect_out "upstream asked over TCP" "tcp big.example.test" cat "$TMP/upstream.log"
start_ns=$(date +%s%N)
expect_out "silent upstream: SERVFAIL" "status: SERVFAIL" D +time=5 slow.example.test
elapsed_ms=$((($(date +%s%N) - start_ns) / 1000000))
check "SERVFAIL within 3 s (took ${elapsed_ms} ms)" test "$elapsed_ms" -lt 3000

# Hostile packets do not hurt: garbage, then a two-question query (FORMERR).
python3 - "$PORT" <<'EOF'
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
for p in [b"\x00", b"\xff" * 40, b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x0c\x00\x01\x00\x01"]:
    s.sendto(p, ("127.0.0.1", int(sys.argv[1])))
q = struct.pack(">HHHHHH", 0x4242, 0x0100, 2, 0, 0, 0) + b"\x01a\x00\x00\x01\x00\x01" * 2
s.sendto(q, ("127.0.0.1", int(sys.argv[1])))
while True:
    r = s.recv(4096)
    if r[:2] == b"\x42\x42":
        sys.exit(0 if r[3] & 0xf == 1 else 1)
EOF
check "two questions: FORMERR" test $? -eq 0
expect_out "still answering after hostile packets" "^$CIP\$" short web.default.svc.cluster.local

# Deleting a service removes its records.
kubectl delete svc web >/dev/null
for _ in $(seq 1 50); do
	D web.default.svc.cluster.local | grep -q "status: NXDOMAIN" && break
	sleep 0.1
done
expect_out "deleted service: NXDOMAIN" "status: NXDOMAIN" D web.default.svc.cluster.local
expect_out "deleted service: no SRV" "status: NXDOMAIN" D _http._tcp.web.default.svc.cluster.local SRV
check_fails "deleted service: PTR gone" bash -c "dig @127.0.0.1 -p $PORT +short -x $CIP | grep -q web"
kubectl delete svc db >/dev/null
for _ in $(seq 1 50); do
	D db-0.db.default.svc.cluster.local | grep -q "status: NXDOMAIN" && break
	sleep 0.1
done
expect_out "deleted headless service: per-pod name gone" "status: NXDOMAIN" D db-0.db.default.svc.cluster.local

stop_upstream
finish
