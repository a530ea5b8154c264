#!/usr/bin/env python3
"""podstart.py — the clients of bench/podstart.sh, each timing with one monotonic clock.

  podstart.py timon --url U --token T --ca CA --namespace NS --image IMG --n N --conc C
      Opens a watch on the namespace's pods, then creates N pods (one `sleep` container,
      imagePullPolicy IfNotPresent) over C keep-alive connections, and records for each pod
      when its create was sent and when the watch first showed it with phase Running.
  podstart.py delete --url U --token T --ca CA --namespace NS
      Deletes the namespace's pods (grace 0) and waits until none is left.
  podstart.py stats --from sent|batch -- FILE
      p50, p99, max latency, when the last one ran, and how many did (ms).
  podstart.py cmd --n N --conc C -- ARGV...
      Runs ARGV (every "{i}" replaced by the index) N times, C at a time, and records when
      each run returned (for `podman run -d`: the container is running).

Prints `POD i=<n> sent_ms=<from batch start> done_ms=<from batch start>` per pod (done_ms
-1 when it failed or timed out) and exits 1 when any did. Not for: assertions on timings.
"""
import argparse
import http.client
import json
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor


def conn(args):
    u = urllib.parse.urlparse(args.url)
    ctx = ssl.create_default_context(cafile=args.ca)
    return http.client.HTTPSConnection(u.hostname, u.port, context=ctx, timeout=args.timeout)


def request(c, args, method, path, body=None):
    h = {"Authorization": "Bearer " + args.token, "Accept": "application/json"}
    if body is not None:
        h["Content-Type"] = "application/json"
        body = json.dumps(body)
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    if r.status >= 300:
        raise RuntimeError("%s %s: %d %s" % (method, path, r.status, data[:300]))
    return json.loads(data) if data else None


def pod(name, image):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": {"app": "podstart"}},
            "spec": {"terminationGracePeriodSeconds": 0,
                     "containers": [{"name": "app", "image": image, "imagePullPolicy": "IfNotPresent",
                                     "command": ["/bin/busybox", "sleep", "3600"]}]}}


def timon(args):
    base = "/api/v1/namespaces/%s/pods" % args.namespace
    c = conn(args)
    rv = request(c, args, "GET", base)["metadata"]["resourceVersion"]
    w = conn(args)
    w.request("GET", "%s?watch=true&resourceVersion=%s&timeoutSeconds=%d" % (base, rv, int(args.timeout)),
              headers={"Authorization": "Bearer " + args.token, "Accept": "application/json"})
    wr = w.getresponse()
    if wr.status != 200:
        raise RuntimeError("watch: %d" % wr.status)
    names = ["%s-%d" % (args.prefix, i) for i in range(args.n)]
    sent, done, failed = {}, {}, set()
    lock = threading.Lock()
    t0 = time.monotonic()
    local = threading.local()

    def create(i):
        if not hasattr(local, "c"):
            local.c = conn(args)
        with lock:
            sent[names[i]] = time.monotonic()
        try:
            request(local.c, args, "POST", base, pod(names[i], args.image))
        except Exception as e:  # reported, counted as failed
            print("podstart: create %s: %s" % (names[i], e), file=sys.stderr)
            with lock:
                failed.add(names[i])

    pool = ThreadPoolExecutor(max_workers=args.conc)
    futs = [pool.submit(create, i) for i in range(args.n)]
    deadline = t0 + args.timeout
    want = set(names)
    while time.monotonic() < deadline:
        with lock:
            if not (want - set(done) - failed):
                break
        line = wr.readline()
        if not line:
            break
        now = time.monotonic()
        ev = json.loads(line)
        o = ev.get("object", {})
        name = o.get("metadata", {}).get("name")
        if name not in want or name in done:
            continue
        phase = o.get("status", {}).get("phase")
        if phase == "Running":
            done[name] = now
        elif phase in ("Failed", "Succeeded"):
            failed.add(name)
    for f in futs:
        f.result()
    pool.shutdown()
    bad = 0
    for i, n in enumerate(names):
        s = (sent.get(n, t0) - t0) * 1e3
        d = (done[n] - t0) * 1e3 if n in done else -1
        bad += d < 0
        print("POD i=%d sent_ms=%.1f done_ms=%.1f" % (i, s, d))
    return 1 if bad else 0


def delete(args):
    base = "/api/v1/namespaces/%s/pods" % args.namespace
    c = conn(args)
    names = [p["metadata"]["name"] for p in request(c, args, "GET", base)["items"]]
    for n in names:
        try:
            request(c, args, "DELETE", "%s/%s?gracePeriodSeconds=0" % (base, n))
        except RuntimeError as e:
            print("podstart: delete %s: %s" % (n, e), file=sys.stderr)
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        if not request(c, args, "GET", base)["items"]:
            return 0
        time.sleep(0.5)
    print("podstart: pods still present after %ds" % args.timeout, file=sys.stderr)
    return 1


def cmd(args):
    argv = args.argv
    t0 = time.monotonic()
    res = [None] * args.n

    def one(i):
        s = time.monotonic()
        try:
            r = subprocess.run([a.replace("{i}", str(i)) for a in argv], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, timeout=max(1, t0 + args.timeout - s))
            ok = r.returncode == 0
            if not ok:
                print("podstart: run %d: exit %d: %s" % (i, r.returncode, r.stderr.decode()[-300:]),
                      file=sys.stderr)
        except subprocess.TimeoutExpired:
            ok = False
        res[i] = (s - t0, time.monotonic() - t0 if ok else None)

    with ThreadPoolExecutor(max_workers=args.conc) as pool:
        list(pool.map(one, range(args.n)))
    bad = 0
    for i, (s, d) in enumerate(res):
        bad += d is None
        print("POD i=%d sent_ms=%.1f done_ms=%.1f" % (i, s * 1e3, d * 1e3 if d is not None else -1))
    return 1 if bad else 0


def stats(args):
    """p50 p99 max last ok of a POD/FLOOR file: latency from the create sent (--from sent)
    or from the batch start (--from batch); last = when the last one ran, from the start."""
    lat, last = [], 0.0
    with open(args.argv[0]) as f:
        for line in f:
            if not line.startswith(("POD ", "FLOOR ")):
                continue
            v = dict(kv.split("=", 1) for kv in line.split()[1:])
            done = float(v["done_ms"])
            if done < 0:
                continue
            lat.append(done - float(v.get("sent_ms", 0)) if args.frm == "sent" else done)
            last = max(last, done)
    if not lat:
        print("- - - - 0")
        return 0
    lat.sort()
    rank = lambda p: lat[max(0, -(-len(lat) * p // 100) - 1)]  # nearest rank
    print("%.0f %.0f %.0f %.0f %d" % (rank(50), rank(99), lat[-1], last, len(lat)))
    return 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["timon", "delete", "cmd", "stats"])
    p.add_argument("--from", dest="frm", choices=["sent", "batch"], default="batch")
    p.add_argument("--url")
    p.add_argument("--token")
    p.add_argument("--ca")
    p.add_argument("--namespace", default="default")
    p.add_argument("--image")
    p.add_argument("--prefix", default="ps")
    p.add_argument("--n", type=int, default=1)
    p.add_argument("--conc", type=int, default=8)
    p.add_argument("--timeout", type=float, default=300)
    argv = sys.argv[1:]
    rest = argv.index("--") if "--" in argv else len(argv)
    args = p.parse_args(argv[:rest])
    args.argv = argv[rest + 1:]
    return {"timon": timon, "delete": delete, "cmd": cmd, "stats": stats}[args.mode](args)


if __name__ == "__main__":
    sys.exit(main())
