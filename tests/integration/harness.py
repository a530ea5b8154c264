"""harness.py — start a timon server for a Python integration test and count results.

Starts `timon server` on a free port in a temporary data dir, waits for /readyz, and gives
the test an ApiClient configured from the generated kubeconfig. Results print as "ok NAME" /
"FAIL NAME" lines and a closing "N passed, N failed". Only the process it started is
stopped at the end.
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("BUILD", "build")
TIMON = os.environ.get("TIMON", os.path.join(ROOT, BUILD, "timon"))


class Server:
    def __init__(self, extra=None):
        self.tmp = tempfile.mkdtemp(prefix="timon-py.")
        self.data = os.path.join(self.tmp, "data")
        self.kubeconfig = os.path.join(self.data, "kubeconfig.yaml")
        self.log = open(os.path.join(self.tmp, "server.log"), "ab")
        self.extra = extra or []
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [TIMON, "server", "--data-dir", self.data, "--https-port",
             str(getattr(self, "port", 0)), "--disable-agent"] + self.extra,
            stdout=self.log, stderr=self.log)
        deadline = time.time() + 15
        while time.time() < deadline:
            if os.path.exists(self.kubeconfig) and self.ready():
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError("server did not start:\n" + self.tail())

    def ready(self):
        r = subprocess.run(["kubectl", "--kubeconfig", self.kubeconfig, "get", "--raw", "/readyz"],
                           capture_output=True)
        if r.returncode == 0 and not hasattr(self, "port"):
            import yaml
            with open(self.kubeconfig) as f:
                url = yaml.safe_load(f)["clusters"][0]["cluster"]["server"]
            self.port = int(url.rsplit(":", 1)[1])
        return r.returncode == 0

    def api_client(self):
        from kubernetes import client, config
        cfg = client.Configuration()
        config.load_kube_config(config_file=self.kubeconfig, client_configuration=cfg)
        return client.ApiClient(cfg)

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def sanitizer_clean(self):
        """Fails when the server's log holds an ASan, LSan or UBSan report."""
        self.log.flush()
        with open(os.path.join(self.tmp, "server.log"), "rb") as f:
            text = f.read().decode(errors="replace")
        for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
            assert marker not in text, text[text.index(marker) - 200:][:3000]

    def tail(self, n=40):
        self.log.flush()
        with open(os.path.join(self.tmp, "server.log"), "rb") as f:
            return b"\n".join(f.read().splitlines()[-n:]).decode(errors="replace")

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)


class Results:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name, fn):
        try:
            fn()
            print("ok   " + name, flush=True)
            self.passed += 1
        except Exception:  # a failing check prints why and the suite goes on
            print("FAIL " + name, flush=True)
            for line in traceback.format_exc().splitlines()[-12:]:
                print("  " + line)
            self.failed += 1

    def finish(self, server=None):
        if server is not None:
            server.stop()
            self.check("server ran clean under the sanitizers", server.sanitizer_clean)
        if self.failed and server is not None:
            print("--- server log (tail) ---")
            print(server.tail())
        print("%d passed, %d failed" % (self.passed, self.failed), flush=True)
        if server is not None and not self.failed:
            server.cleanup()  # a failed run keeps its data dir for a look
        sys.exit(1 if self.failed else 0)


def expect_status(code, fn, *args, **kwargs):
    """Calls fn and requires an ApiException with HTTP status `code`; returns it."""
    from kubernetes.client.rest import ApiException
    try:
        fn(*args, **kwargs)
    except ApiException as e:
        assert e.status == code, "status %s, wanted %s: %s" % (e.status, code, e.body)
        return e
    raise AssertionError("no error, wanted HTTP %d" % code)
