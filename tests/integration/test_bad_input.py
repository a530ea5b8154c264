#!/usr/bin/python3
"""test_bad_input.py — hostile and broken requests: each gets the right Status (or the
connection is dropped) and the server keeps serving everyone else."""
import json
import os
import resource
import socket
import ssl
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import Results, Server  # noqa: E402

srv = Server().start()
res = Results()
TLS = os.path.join(srv.data, "tls")
ctx = ssl.create_default_context(cafile=os.path.join(TLS, "ca.crt"))
ctx.load_cert_chain(os.path.join(TLS, "admin.crt"), os.path.join(TLS, "admin.key"))


def connect(timeout=10):
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=timeout)
    return ctx.wrap_socket(s, server_hostname="localhost")


def request(method, path, body=b"", ctype="application/json", headers=None):
    """One request on a fresh connection; returns (status, parsed JSON or raw bytes)."""
    s = connect()
    hdr = "%s %s HTTP/1.1\r\nHost: localhost\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n" % (
        method, path, ctype, len(body))
    for k, v in (headers or {}).items():
        hdr += "%s: %s\r\n" % (k, v)
    s.sendall(hdr.encode() + b"\r\n" + body)
    data = b""
    while True:
        try:
            chunk = s.recv(65536)
        except (ConnectionResetError, ssl.SSLError):
            break
        if not chunk:
            break
        data += chunk
    s.close()
    head, _, payload = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1]) if head else 0
    try:
        return status, json.loads(payload)
    except ValueError:
        return status, payload


def expect(method, path, code, reason, body=b"", ctype="application/json"):
    status, st = request(method, path, body, ctype)
    assert status == code, "HTTP %s, wanted %s: %r" % (status, code, st)
    assert isinstance(st, dict) and st.get("kind") == "Status", st
    assert st.get("code") == code and st.get("reason") == reason, st
    return st


CM = "/api/v1/namespaces/default/configmaps"


def healthy():
    status, body = request("GET", CM + "?limit=1")
    assert status == 200 and body.get("kind") == "ConfigMapList", (status, body)


def malformed_json():
    st = expect("POST", CM, 400, "BadRequest", b'{"apiVersion":"v1","kind":"ConfigMap",')
    assert "JSON" in st["message"] or "json" in st["message"]


def malformed_yaml():
    expect("POST", CM, 400, "BadRequest", b"apiVersion: v1\nkind: ConfigMap\n metadata: [\n", "application/yaml")


def unknown_field_strict():
    body = json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "strict"},
                       "dataa": {"x": "y"}}).encode()
    st = expect("POST", CM + "?fieldValidation=Strict", 400, "BadRequest", body)
    assert 'unknown field "dataa"' in st["message"], st["message"]


def unknown_field_nested():
    # The path of an unknown field names each level, list items by index.
    body = json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "nested"},
                       "spec": {"securityContext": {"runAsUser": 1, "foo": 1},
                                "containers": [{"name": "a", "image": "x"},
                                               {"name": "b", "image": "x", "imagee": "y"}]}}).encode()
    st = expect("POST", "/api/v1/namespaces/default/pods?fieldValidation=Strict", 400, "BadRequest", body)
    for want in ('unknown field "spec.securityContext.foo"', 'unknown field "spec.containers[1].imagee"'):
        assert want in st["message"], st["message"]


def unknown_field_warn():
    body = json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "warned"},
                       "dataa": {"x": "y"}}).encode()
    s = connect()
    s.sendall(("POST %s?fieldValidation=Warn HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               "Content-Length: %d\r\nConnection: close\r\n\r\n" % (CM, len(body))).encode() + body)
    data = b""
    while True:
        c = s.recv(65536)
        if not c:
            break
        data += c
    assert b" 201 " in data.split(b"\r\n")[0], data[:200]
    assert b'Warning: 299 - "unknown field \\"dataa\\""' in data, data[:400]


def invalid_name():
    body = json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "Bad_Name"}}).encode()
    st = expect("POST", CM, 422, "Invalid", body)
    assert st["details"]["causes"][0]["field"] == "metadata.name"


def wrong_types():
    # Members of the wrong JSON type anywhere in a body fail decoding, as in kube, whatever
    # fieldValidation says: 400 with Go's words, nothing stored, the server serving on.
    pods = "/api/v1/namespaces/default/pods"
    c = {"name": "a", "image": "x"}
    cases = [
        ({"labels": [1, 2]}, {"containers": [c]},
         "json: cannot unmarshal array into Go struct field ObjectMeta.metadata.labels of type map[string]string"),
        ({"labels": {"version": 1}}, {"containers": [c]},
         "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type string"),
        ({"annotations": "x"}, {"containers": [c]}, "of type map[string]string"),
        ({}, {"containers": "x"}, "Go struct field PodSpec.spec.containers of type []v1.Container"),
        ({}, {"containers": [7, None, c]}, "cannot unmarshal number into Go struct field PodSpec.spec.containers"),
        ({}, {"containers": [dict(c, ports={"containerPort": 80})]},
         "Go struct field Container.spec.containers[0].ports of type []v1.ContainerPort"),
        ({}, {"containers": [dict(c, ports=[{"containerPort": "80"}])]},
         "cannot unmarshal string into Go struct field ContainerPort.spec.containers[0].ports[0].containerPort of type int32"),
        ({}, {"containers": [dict(c, env=[{"name": 5}])]}, "of type string"),
        ({}, {"containers": [c], "tolerations": [[]]}, "of type v1.Toleration"),
        ({}, {"containers": [c], "hostNetwork": "yes"}, "of type bool"),
    ]
    for i, (meta, spec, want) in enumerate(cases):
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": dict(meta, name="wrong-%d" % i), "spec": spec}
        for fv in ("", "?fieldValidation=Ignore"):
            st = expect("POST", pods + fv, 400, "BadRequest", json.dumps(pod).encode())
            assert st["message"].startswith('Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal'), st
            assert want in st["message"], (want, st["message"])
        status, _ = request("GET", pods + "/wrong-%d" % i)
        assert status == 404, (i, status)
    # null is any member's zero value, a whole number may carry a fraction, a quantity may
    # be a number: all accepted
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "right-types", "labels": None},
           "spec": {"containers": [dict(c, resources={"limits": {"cpu": 1}})],
                    "terminationGracePeriodSeconds": 5.0, "nodeSelector": None}}
    status, body = request("POST", pods, json.dumps(pod).encode())
    assert status == 201, (status, body)
    request("DELETE", pods + "/right-types")
    healthy()


def patched_wrong_types():
    # A patch whose result does not decode gets kube's patch handler's answer: 422 Invalid on
    # the field "patch", the value the patched JSON (JSON and merge patches) or the patch as
    # Go prints it (strategic merge), the error in the decoder's or the converter's words;
    # the object is left as it was.
    pods = "/api/v1/namespaces/default/pods"
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "patched", "labels": {"app": "x"}},
           "spec": {"containers": [{"name": "a", "image": "x"}]}}
    status, body = request("POST", pods, json.dumps(pod).encode())
    assert status == 201, (status, body)
    merge, jsonp, smp = ("application/merge-patch+json", "application/json-patch+json",
                         "application/strategic-merge-patch+json")
    cases = [
        (merge, {"metadata": {"labels": ["a", "b"]}}, None,
         "json: cannot unmarshal array into Go struct field ObjectMeta.metadata.labels of type map[string]string"),
        (jsonp, [{"op": "add", "path": "/metadata/labels/v", "value": 1}], None,
         "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type string"),
        (smp, {"metadata": {"labels": ["a", "b"]}}, "map[metadata:map[labels:[a b]]]",
         "cannot restore map from slice"),
        (smp, {"spec": {"activeDeadlineSeconds": "x"}}, "map[spec:map[activeDeadlineSeconds:x]]",
         "cannot convert string to int64"),
        (smp, {"metadata": {"labels": {"v": 1.5e6, "w": True}}},
         "map[metadata:map[labels:map[v:1.5e+06 w:true]]]", "cannot convert "),
    ]
    for ctype, patch, shown, want in cases:
        st = expect("PATCH", pods + "/patched", 422, "Invalid", json.dumps(patch).encode(), ctype)
        msg = st["message"]
        assert msg.startswith(' "" is invalid: patch: Invalid value: "'), st
        assert msg.endswith('": ' + want) or (want.endswith(" ") and want in msg), (want, msg)
        if shown:
            assert msg.startswith(' "" is invalid: patch: Invalid value: "%s": ' % shown), (shown, msg)
        else:  # the patched object, as JSON: its quotes escaped
            assert msg.startswith(' "" is invalid: patch: Invalid value: "{\\"'), msg
        assert st["details"] == {"causes": [{"reason": "FieldValueInvalid", "field": "patch",
                                             "message": msg[len(' "" is invalid: patch: '):]}]}, st
    # fieldValidation=Strict: an unknown field in the result is the same Invalid
    st = expect("PATCH", pods + "/patched?fieldValidation=Strict", 422, "Invalid",
                json.dumps({"spec": {"bogus": 1}}).encode(), merge)
    assert st["message"].endswith('": strict decoding error: unknown field "spec.bogus"'), st
    status, got = request("GET", pods + "/patched")
    assert status == 200 and got["metadata"]["labels"] == {"app": "x"}, got
    assert "activeDeadlineSeconds" not in got["spec"], got
    request("DELETE", pods + "/patched")
    healthy()


def oversized_body():
    big = b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"big"},"data":{"x":"' + b"a" * (4 << 20) + b'"}}'
    status, st = request("POST", CM, big)
    assert status == 413 and st.get("reason") == "RequestEntityTooLarge", (status, st)


def unknown_patch_type():
    expect("PATCH", CM + "/whatever", 415, "UnsupportedMediaType", b"{}", "application/x-nonsense")


def bad_method():
    expect("PUT", CM, 405, "MethodNotAllowed", b"{}")


def truncated_requests():
    for _ in range(20):
        s = connect()
        s.sendall(b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"api" % CM.encode())
        s.close()
    garbage = connect()
    garbage.sendall(b"\x00\x01\x02 NOT HTTP\r\n\r\n")
    garbage.close()
    healthy()


def many_idle_connections():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 8192)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    n = min(3000, want - 200)
    idle = []
    for _ in range(n):  # raw TCP, no TLS handshake: the cheapest thing a client can hold open
        idle.append(socket.create_connection(("127.0.0.1", srv.port), timeout=5))
    tls_idle = [connect() for _ in range(200)]  # and some with finished handshakes
    t0 = time.time()
    healthy()
    assert time.time() - t0 < 5
    for s in idle + tls_idle:
        s.close()
    healthy()
    assert len(idle) == n


def slow_watch_reader():
    # A watcher that never reads while ~40 MiB of events are produced is dropped; everyone
    # else keeps being served.
    s = connect()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.sendall(("GET %s?watch=true HTTP/1.1\r\nHost: x\r\n\r\n" % CM).encode())
    payload = "x" * (512 << 10)
    for i in range(80):
        body = json.dumps({"apiVersion": "v1", "kind": "ConfigMap",
                           "metadata": {"name": "bulk-%d" % i}, "data": {"p": payload}}).encode()
        status, _ = request("POST", CM, body)
        assert status == 201, status
    healthy()
    # The server closed the slow watch: draining it ends in EOF or a reset.
    s.settimeout(10)
    closed = False
    try:
        while True:
            if not s.recv(1 << 20):
                closed = True
                break
    except (ConnectionResetError, ssl.SSLError, OSError):
        closed = True
    assert closed
    request("DELETE", CM)


try:
    for name, fn in [
        ("malformed JSON -> 400", malformed_json),
        ("malformed YAML -> 400", malformed_yaml),
        ("unknown field with Strict -> 400", unknown_field_strict),
        ("unknown field with Warn -> 201 + Warning", unknown_field_warn),
        ("unknown fields in nested objects and list items -> their paths", unknown_field_nested),
        ("invalid name -> 422 with cause", invalid_name),
        ("members of the wrong type -> 400, nothing stored", wrong_types),
        ("a patch whose result does not decode -> 422, nothing changed", patched_wrong_types),
        ("body over 3 MiB -> 413", oversized_body),
        ("unknown patch type -> 415", unknown_patch_type),
        ("unsupported method -> 405", bad_method),
        ("truncated and garbage requests", truncated_requests),
        ("thousands of idle connections", many_idle_connections),
        ("slow watch reader is dropped", slow_watch_reader),
        ("still healthy at the end", healthy),
    ]:
        res.check(name, fn)
finally:
    srv.stop()
res.finish(srv)
