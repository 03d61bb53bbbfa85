"""A real `tandem` process for the deployment tests: started with an exact environment, polled
until it answers (no fixed sleeps), stopped with SIGTERM like Kubernetes does."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def debug_binary() -> Path:
    target = Path(os.environ.get("CARGO_TARGET_DIR", Path.home() / ".cache/tandem-target"))
    path = target / "debug/tandem"
    assert path.exists(), f"no {path}: make deploy-check builds it (cargo build -p tandem-api --bin tandem)"
    return path


def base_env() -> dict:
    """What any process gets from its system, and nothing Tandem reads."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp"),
            "RUST_LOG": "warn"}


def get(url: str, timeout: float = 5) -> tuple[int, bytes, dict]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read(), {k.lower(): v for k, v in r.headers.items()}
    except urllib.error.HTTPError as e:
        return e.code, e.read(), {k.lower(): v for k, v in e.headers.items()}


class Server:
    def __init__(self, env: dict, cwd: Path, binary: Path | None = None, port: int | None = None):
        self.port = port or free_port()
        self.binary = binary or debug_binary()
        self.env = {**base_env(), "TANDEM_LISTEN": f"127.0.0.1:{self.port}", **env}
        self.cwd = cwd
        self.log = cwd / f"tandem-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "Server":
        self.proc = subprocess.Popen([str(self.binary), "serve"], env=self.env, cwd=self.cwd,
                                     stdout=self.log.open("wb"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"tandem exited with {self.proc.returncode}:\n{self.output()}")
            try:
                if get(self.url + "/healthz", timeout=1)[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        self.proc.kill()
        raise AssertionError(f"tandem did not answer /healthz within 120 s:\n{self.output()}")

    def readiness(self) -> tuple[int, dict]:
        status, body, _ = get(self.url + "/readyz")
        return status, json.loads(body)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise

    def __exit__(self, *exc) -> None:
        if self.proc.poll() is None:
            self.stop()
