#!/usr/bin/env python3
"""predict_load.py — sends N /predict requests (the seed's setosa features), each on a new
connection so the service proxy picks an endpoint per request, from THREADS threads, and
prints "ok K failed F", then "refused R" (connections refused, counted apart), then the
first few failures. Exit 0 only when all N answered {"prediction": [0]}. Not a benchmark (wrk does that); a correctness load.

Usage: predict_load.py URL N [THREADS]
"""
import http.client
import json
import sys
import threading
import urllib.parse

url = urllib.parse.urlsplit(sys.argv[1])
total = int(sys.argv[2])
threads = int(sys.argv[3]) if len(sys.argv) > 3 else 4
body = json.dumps({"features": [5.1, 3.5, 1.4, 0.2]})
lock = threading.Lock()
counts = {"ok": 0, "failed": 0, "refused": 0}
errors = []
todo = iter(range(total))


def one():
    c = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    try:
        c.request("POST", url.path, body, {"Content-Type": "application/json"})
        r = c.getresponse()
        data = r.read()
        if r.status != 200 or json.loads(data) != {"prediction": [0]}:
            return "HTTP %d %r" % (r.status, data[:200])
        return None
    except Exception as e:  # noqa: BLE001 — every failure is reported, none raised
        return repr(e)
    finally:
        c.close()


def worker():
    while True:
        with lock:
            i = next(todo, None)
        if i is None:
            return
        err = one()
        with lock:
            counts["failed" if err else "ok"] += 1
            if err and "ConnectionRefusedError" in err:
                counts["refused"] += 1
            if err and len(errors) < 5:
                errors.append(err)


ts = [threading.Thread(target=worker) for _ in range(threads)]
for t in ts:
    t.start()
for t in ts:
    t.join()
print("ok %d failed %d" % (counts["ok"], counts["failed"]))
print("refused %d" % counts["refused"])
for e in errors:
    print("  " + e)
sys.exit(0 if counts["failed"] == 0 else 1)
