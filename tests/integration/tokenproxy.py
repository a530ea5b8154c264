#!/usr/bin/env python3
"""tokenproxy.py — a registry front that demands bearer tokens, for testing the client's
token flow against a real registry behind it. GET /token checks Basic credentials and
answers a token; every /v2/ request without that token gets 401 with a
`WWW-Authenticate: Bearer realm=...,service=...,scope=...` challenge; with it, the request
is passed to the registry. Listens on 127.0.0.1 only.

Usage: tokenproxy.py PORT UPSTREAM_PORT USER PASSWORD
"""
import base64
import http.server
import json
import sys
import urllib.error
import urllib.request

PORT, UPSTREAM, USER, PASSWORD = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
TOKEN = "test-token-0123"


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, code, body, headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        auth = self.headers.get("Authorization", "")
        if self.path.startswith("/token"):
            want = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
            if auth != want:
                self.answer(401, b'{"details":"incorrect username or password"}',
                            [("Content-Type", "application/json")])
                return
            self.answer(200, json.dumps({"token": TOKEN}).encode(),
                        [("Content-Type", "application/json")])
            return
        if auth != "Bearer " + TOKEN:
            parts = self.path.split("/")
            repo = "/".join(parts[2:-2]) if len(parts) > 4 else ""
            challenge = (f'Bearer realm="http://127.0.0.1:{PORT}/token",service="test",'
                         f'scope="repository:{repo}:pull"')
            self.answer(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication '
                        b'required"}]}', [("WWW-Authenticate", challenge),
                                          ("Content-Type", "application/json")])
            return
        req = urllib.request.Request(f"http://127.0.0.1:{UPSTREAM}{self.path}")
        if self.headers.get("Accept"):
            req.add_header("Accept", self.headers["Accept"])
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                body, code, hdrs = r.read(), r.status, r.headers
        except urllib.error.HTTPError as e:
            body, code, hdrs = e.read(), e.code, e.headers
        keep = [(k, hdrs[k]) for k in ("Content-Type", "Docker-Content-Digest") if hdrs.get(k)]
        self.answer(code, body, keep)


http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
