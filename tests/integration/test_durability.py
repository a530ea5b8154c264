#!/usr/bin/python3
"""test_durability.py — kill -9 the server in the middle of a stream of creates; after a
restart every create that was answered 201 is there, resourceVersions keep increasing, and
a watch resumes from the last revision a client saw."""
import http.client
import json
import os
import signal
import ssl
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import Results, Server  # noqa: E402

srv = Server().start()
res = Results()
TLS = os.path.join(srv.data, "tls")
ctx = ssl.create_default_context(cafile=os.path.join(TLS, "ca.crt"))
ctx.load_cert_chain(os.path.join(TLS, "admin.crt"), os.path.join(TLS, "admin.key"))
CM = "/api/v1/namespaces/default/configmaps"

acked = {}  # name -> resourceVersion, for every create answered 201
lock = threading.Lock()
stop = threading.Event()


def writer(n):
    conn = None
    i = 0
    while not stop.is_set():
        name = "w%d-%d" % (n, i)
        body = json.dumps({"apiVersion": "v1", "kind": "ConfigMap",
                           "metadata": {"name": name}, "data": {"i": str(i)}})
        try:
            if conn is None:
                conn = http.client.HTTPSConnection("127.0.0.1", srv.port, context=ctx, timeout=5)
            conn.request("POST", CM, body, {"Content-Type": "application/json"})
            r = conn.getresponse()
            data = r.read()
            if r.status == 201:
                with lock:
                    acked[name] = int(json.loads(data)["metadata"]["resourceVersion"])
            i += 1
        except Exception:  # the server died under us: that is the point
            return


state = {}


def crash_during_creates():
    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    time.sleep(2.5)
    srv.proc.send_signal(signal.SIGKILL)
    srv.proc.wait()
    stop.set()
    for t in threads:
        t.join(10)
    assert len(acked) > 50, "only %d creates answered before the kill" % len(acked)
    state["max_rv"] = max(acked.values())
    srv.start()


def every_acknowledged_create_survived():
    conn = http.client.HTTPSConnection("127.0.0.1", srv.port, context=ctx, timeout=30)
    conn.request("GET", CM)
    items = json.loads(conn.getresponse().read())["items"]
    have = {i["metadata"]["name"]: int(i["metadata"]["resourceVersion"]) for i in items}
    missing = [n for n in acked if n not in have]
    assert not missing, "%d acknowledged creates lost, e.g. %s" % (len(missing), missing[:5])
    changed = [n for n in acked if have[n] != acked[n]]
    assert not changed, "resourceVersions changed: %s" % changed[:5]


def revisions_keep_increasing():
    conn = http.client.HTTPSConnection("127.0.0.1", srv.port, context=ctx, timeout=10)
    body = json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "after"}})
    conn.request("POST", CM, body, {"Content-Type": "application/json"})
    r = conn.getresponse()
    obj = json.loads(r.read())
    assert r.status == 201, obj
    state["after_rv"] = int(obj["metadata"]["resourceVersion"])
    assert state["after_rv"] > state["max_rv"], (state["after_rv"], state["max_rv"])


def watch_resumes():
    conn = http.client.HTTPSConnection("127.0.0.1", srv.port, context=ctx, timeout=10)
    conn.request("GET", CM + "?watch=true&timeoutSeconds=3&resourceVersion=%d" % state["max_rv"])
    r = conn.getresponse()
    assert r.status == 200
    names = []
    buf = b""
    while True:
        chunk = r.read1(65536) if hasattr(r, "read1") else r.read(65536)
        if not chunk:
            break
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            ev = json.loads(line)
            assert ev["type"] != "ERROR", ev
            names.append((ev["type"], ev["object"]["metadata"]["name"]))
        if ("ADDED", "after") in names:
            break
    assert ("ADDED", "after") in names, names[:10]


def clean_restart_keeps_everything():
    before = state["after_rv"]
    srv.stop(signal.SIGTERM)
    srv.start()
    conn = http.client.HTTPSConnection("127.0.0.1", srv.port, context=ctx, timeout=10)
    conn.request("GET", CM + "/after")
    r = conn.getresponse()
    obj = json.loads(r.read())
    assert r.status == 200 and int(obj["metadata"]["resourceVersion"]) == before, obj


try:
    for name, fn in [
        ("kill -9 during a stream of creates", crash_during_creates),
        ("every create answered 201 survived", every_acknowledged_create_survived),
        ("resourceVersions keep increasing", revisions_keep_increasing),
        ("watch resumes from the last seen revision", watch_resumes),
        ("SIGTERM restart keeps objects and versions", clean_restart_keeps_everything),
    ]:
        res.check(name, fn)
    print("(%d creates acknowledged before the kill)" % len(acked))
finally:
    srv.stop()
res.finish(srv)
