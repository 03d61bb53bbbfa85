"""What every attack class shares: the real `tandem` binary in a process of its own (and the
PostgreSQL database and Redis a cluster needs), tenants made with its CLI, agent JWTs minted here,
devices, and a CBOR socket client.

Everything runs on 127.0.0.1. Nothing here trusts the server: a check records a finding, and the
run fails on any finding.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import cbor2
import jwt
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect as ws_connect

ROOT = Path(__file__).resolve().parents[2]
AUDIENCE = "tandem"  # the first of the server's default `jwt_audiences`
REDEEM_BUDGET = 10  # the default `redeem_failures_per_agent` (failures per 60 s)
BEARER_PREFIX = "cbio.http.headers.authorization.bearer."


# ---- processes ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_BINARY: list[str] = []


def binary() -> str:
    """The `tandem` binary, linked (or copied) once into a directory of the run's own, so that
    every server of a run is the same build even if cargo replaces the file meanwhile."""
    if _BINARY:
        return _BINARY[0]
    target = os.environ.get("CARGO_TARGET_DIR") or str(Path.home() / ".cache/tandem-target")
    path = Path(os.environ.get("TANDEM_BIN") or Path(target) / "debug" / "tandem")
    if not path.exists():
        raise SystemExit(f"security: no tandem binary at {path} (build it with `cargo build -p tandem-api --bin tandem`)")
    own = Path(tempfile.mkdtemp(prefix="tandem-security-bin-")) / "tandem"
    try:
        os.link(path, own)
    except OSError:
        shutil.copy2(path, own)
    _BINARY.append(str(own))
    return str(own)


def _env(database_url: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    # The server refuses unknown TANDEM_* settings, so only ours reach it.
    env = {k: v for k, v in os.environ.items() if not k.startswith("TANDEM_") and k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        {
            "TANDEM_DATABASE_URL": database_url,
            "TANDEM_BOOTSTRAP_ACCOUNT": "",
            "TANDEM_ASSETS_DIR": str(ROOT / "sdk-js" / "dist"),
            "RUST_LOG": "warn",
        }
    )
    env.update(extra or {})
    return env


def session() -> requests.Session:
    """A requests session that sends a request again when the server closed a kept-alive
    connection just before it (hyper closes one whose request body it did not read)."""
    s = requests.Session()
    retry = Retry(total=2, connect=2, read=2, status=0, other=0, allowed_methods=None, raise_on_status=False)
    s.mount("http://", HTTPAdapter(max_retries=retry))
    return s


class Server:
    """`tandem serve` on a free loopback port."""

    def __init__(self, database_url: str, workdir: Path, extra_env: dict[str, str] | None = None, name: str = "tandem"):
        self.database_url = database_url
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / f"{name}-{self.port}.log"
        env = _env(database_url, {"TANDEM_LISTEN": f"127.0.0.1:{self.port}", **(extra_env or {})})
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([binary(), "serve"], env=env, stdout=self.log, stderr=subprocess.STDOUT, cwd=workdir)
        self.http = session()
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"tandem exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if requests.get(f"{self.base}/readyz", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"tandem did not become ready:\n{self.log_tail()}")

    def log_tail(self, n: int = 40) -> str:
        self.log.flush()
        lines = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(lines[-n:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    # ---- REST ----

    def request(self, method: str, path: str, *, token: str | None = None, body=None, headers: dict | None = None,
                session: requests.Session | None = None) -> "Reply":
        h = {"Content-Type": "application/json"}
        if token is not None:
            h["Authorization"] = f"Bearer {token}"
        h.update(headers or {})
        data = None if body is None else json.dumps(body)
        res = (session or self.http).request(method, f"{self.base}{path}", headers=h, data=data, timeout=30)
        return Reply(res.status_code, res.text, dict(res.headers))


@dataclass
class Reply:
    status: int
    text: str
    headers: dict

    def json(self):
        try:
            return json.loads(self.text)
        except ValueError:
            return None

    def error_shape_ok(self) -> bool:
        """A refusal's body is `{id, message}` with two strings."""
        body = self.json()
        return isinstance(body, dict) and isinstance(body.get("id"), str) and isinstance(body.get("message"), str)


def cli(database_url: str, *args: str) -> object:
    """Runs a `tandem` operator command and returns its JSON output."""
    out = subprocess.run([binary(), *args], env=_env(database_url), capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise RuntimeError(f"tandem {' '.join(args)} failed: {out.stderr.strip()}")
    return json.loads(out.stdout)


class Redis:
    """A private redis-server on a free port (replicas share events and budgets through it)."""

    def __init__(self) -> None:
        if not shutil.which("redis-server"):
            raise SystemExit("security: redis-server is required (make test needs it)")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


class Postgres:
    """A fresh database `tandem_sec_<random>` on 127.0.0.1:5432 (user postgres, trust auth),
    dropped at the end."""

    def __init__(self) -> None:
        admin = os.environ.get("TANDEM_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/postgres")
        self.admin = admin
        self.name = f"tandem_sec_{secrets.token_hex(6)}"
        self._psql(f"CREATE DATABASE {self.name}")
        self.url = admin.rsplit("/", 1)[0] + "/" + self.name

    def _psql(self, sql: str) -> None:
        if not shutil.which("psql"):
            raise SystemExit("security: psql is required to create the cluster database")
        out = subprocess.run(["psql", self.admin, "-qtAc", sql], capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            raise RuntimeError(f"psql: {out.stderr.strip()}")

    def drop(self) -> None:
        self._psql(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")


# ---- tenants, agents, devices ------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class KeyPair:
    def __init__(self) -> None:
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.public_pem = self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def jwk(self, kid: str) -> dict:
        numbers = self.private.public_key().public_numbers()

        def enc(n: int) -> str:
            return b64url(n.to_bytes((n.bit_length() + 7) // 8, "big"))

        return {"kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig", "n": enc(numbers.n), "e": enc(numbers.e)}


def claims(license_key: str, email: str, *, ttl: int = 600, role: str | None = None, policy=None,
           name: str | None = None) -> dict:
    now = int(time.time())
    c = {"iss": license_key, "sub": email, "aud": AUDIENCE, "iat": now, "exp": now + ttl}
    if role:
        c["role"] = role
    if policy is not None:
        c["policy"] = policy
    if name:
        c["displayName"] = name
    return c


class Tenant:
    """An account made with `tandem account create`, with an RSA key registered by
    `tandem keys add`; its private half stays here."""

    def __init__(self, server: Server, name: str, *, consent: bool = True, workdir: Path):
        args = ["account", "create", "--name", name] + ([] if consent else ["--no-consent"])
        account = cli(server.database_url, *args)
        self.server = server
        self.id = account["id"]
        self.license = account["license_key"]
        self.key = KeyPair()
        self.kid = f"k-{secrets.token_hex(4)}"
        pem = workdir / f"{self.kid}.pem"
        pem.write_bytes(self.key.public_pem)
        cli(server.database_url, "keys", "add", "--account", self.id, "--kid", self.kid, "--public-key", str(pem))

    def update_settings(self, settings: dict) -> None:
        cli(self.server.database_url, "account", "update", "--account", self.id, "--settings", json.dumps(settings))

    def jwt(self, email: str, role: str | None = None, policy=None, name: str | None = None, ttl: int = 600) -> str:
        c = claims(self.license, email, ttl=ttl, role=role, policy=policy, name=name)
        return jwt.encode(c, self.key.private, algorithm="RS256", headers={"kid": self.kid})

    def admin(self, email: str | None = None) -> str:
        return self.jwt(email or f"admin-{secrets.token_hex(3)}@example.com", role="administrator")

    def agent(self, email: str | None = None, **kw) -> str:
        return self.jwt(email or f"agent-{secrets.token_hex(3)}@example.com", role="agent", **kw)

    def device(self, device_id: str | None = None, custom_data: dict | None = None, info: dict | None = None,
               server: Server | None = None) -> "Device":
        return Device.register(server or self.server, self, device_id or f"dev-{uuid.uuid4().hex[:12]}", custom_data or {}, info)


@dataclass
class Device:
    id: str
    license: str
    token: str
    notification_token: str
    reply: dict

    @classmethod
    def register(cls, server: Server, tenant: Tenant, device_id: str, custom_data: dict, info: dict | None) -> "Device":
        body = {"device": info or {"platform": "web", "sdk_version": "security"}, "custom_data": custom_data}
        r = server.request("POST", f"/api/1/devices/{device_id}", body=body, headers={"X-CobrowseLicense": tenant.license})
        if r.status != 200:
            raise RuntimeError(f"registering device {device_id}: {r.status} {r.text}")
        reply = r.json()
        return cls(device_id, tenant.license, reply["device_token"], reply["notification_token"], reply)

    def headers(self) -> dict:
        return {"X-CobrowseLicense": self.license, "X-CobrowseDevice": self.id, "Authorization": f"Bearer {self.token}"}

    def call(self, server: Server, method: str, path: str, body=None) -> Reply:
        return server.request(method, path, body=body, headers=self.headers())

    def query(self, session_id: str | None = None) -> str:
        q = f"X-CobrowseLicense={self.license}&X-CobrowseDevice={self.id}&X-CobrowsePlatform=web"
        return q + (f"&X-CobrowseSession={session_id}" if session_id else "")


def notification_token(server: Server, jwt_token: str) -> str:
    r = server.request("GET", "/api/1/users/me", token=jwt_token)
    if r.status != 200:
        raise RuntimeError(f"/users/me: {r.status} {r.text}")
    return r.json()["notification_token"]


# ---- sockets -----------------------------------------------------------------------------------


class Refused(Exception):
    """The socket was refused: at the upgrade (`status`) or by a close frame right after it."""

    def __init__(self, status: int | None = None, close: int | None = None):
        super().__init__(f"refused (status {status}, close {close})")
        self.status = status
        self.close = close


@dataclass
class Frame:
    raw: bytes
    value: object  # the decoded CBOR (cbor2 is lax: it resolves shared references and tags)

    @property
    def event(self):
        return self.value.get("event") if isinstance(self.value, dict) else None

    @property
    def data(self):
        return self.value.get("data") if isinstance(self.value, dict) else None

    @property
    def ack(self):
        return self.value.get("ack") if isinstance(self.value, dict) else None


def decode(raw: bytes) -> object:
    try:
        # Deep enough for the deepest frame a client may send (run.py raises the recursion limit).
        return cbor2.loads(raw, max_depth=5000)
    except Exception as e:  # a frame nobody can read is still a frame that arrived
        return {"undecodable": repr(e)}


class Closed(Exception):
    def __init__(self, code: int | None):
        super().__init__(f"socket closed ({code})")
        self.code = code


class Sock:
    """A `/sockets/1/ws` client speaking CBOR, as the SDKs do: subprotocols `cbor` and the bearer
    token in `cbio.http.headers.authorization.bearer.<base64 without padding>`."""

    def __init__(self, base: str, token: str | None, query: str = ""):
        url = base.replace("http://", "ws://", 1) + "/sockets/1/ws" + (f"?{query}" if query else "")
        protocols = ["cbor"]
        if token is not None:
            protocols.append(BEARER_PREFIX + base64.b64encode(token.encode()).decode().rstrip("="))
        try:
            self.ws = ws_connect(url, subprotocols=protocols, open_timeout=10, ping_interval=None, max_size=None,
                                 close_timeout=2, compression=None)
        except InvalidStatus as e:
            raise Refused(status=e.response.status_code) from None
        self.next_id = 1
        self.backlog: list[Frame] = []

    @classmethod
    def open(cls, base: str, token: str | None, query: str = "") -> "Sock":
        """Connects, and pings to learn whether the server took the credentials: it refuses bad
        ones after the upgrade with a close frame (4001) and reads nothing from such a socket."""
        s = cls(base, token, query)
        try:
            answer, before = s.call("ping")
        except Closed as c:
            raise Refused(close=c.code) from None
        if answer is None:
            raise RuntimeError("a socket answered neither a ping nor with a close")
        s.backlog.extend(before)
        return s

    def close(self) -> None:
        try:
            self.ws.close()
        except Exception:
            pass

    def send(self, event: str, data=None, with_id: bool = True) -> int | None:
        frame = {"event": event}
        fid = None
        if with_id:
            fid = self.next_id
            self.next_id += 1
            frame["id"] = fid
        if data is not None:
            frame["data"] = data
        self.send_raw(cbor2.dumps(frame))
        return fid

    def send_raw(self, raw: bytes) -> None:
        try:
            self.ws.send(raw)
        except ConnectionClosed as e:
            raise Closed(e.rcvd.code if e.rcvd else None) from None

    def recv(self, timeout: float) -> Frame | None:
        """The next binary frame, or None when none comes within `timeout`."""
        if self.backlog:
            return self.backlog.pop(0)
        try:
            msg = self.ws.recv(timeout=timeout)
        except TimeoutError:
            return None
        except ConnectionClosed as e:
            raise Closed(e.rcvd.code if e.rcvd else None) from None
        if isinstance(msg, str):
            return Frame(msg.encode(), {"text": msg})
        return Frame(msg, decode(msg))

    def drain(self, quiet: float = 0.5, limit: float = 5.0) -> list[Frame]:
        """Everything that arrives until `quiet` seconds pass without a frame."""
        out = []
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            f = self.recv(quiet)
            if f is None:
                break
            out.append(f)
        return out

    def until(self, pred, timeout: float = 10.0) -> tuple[Frame | None, list[Frame]]:
        """Reads until a frame matches `pred`; returns it and the frames before it."""
        seen = []
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None, seen
            f = self.recv(left)
            if f is None:
                return None, seen
            if pred(f):
                return f, seen
            seen.append(f)

    def call(self, event: str, data=None, timeout: float = 10.0) -> tuple[Frame | None, list[Frame]]:
        """Sends a frame with an id; returns its `ack` or `error` (with `ref` = the id) and the
        frames that came before."""
        fid = self.send(event, data)
        return self.until(lambda f: f.ack == fid or (f.event == "error" and isinstance(f.data, dict) and f.data.get("ref") == fid), timeout)


def stream_token(server: Server, jwt_token: str, session_id: str) -> Reply:
    return server.request("GET", f"/api/1/sessions/{session_id}/tokens", token=jwt_token)


class Streams:
    """An ACTIVE session with both ends of its stream connected: the device created it, the agent
    joined with its code, and the customer accepted where the account asks for consent."""

    def __init__(self, server: Server, tenant: Tenant):
        self.server = server
        self.tenant = tenant
        self.agent = tenant.agent()
        self.device = tenant.device()
        created = self.device.call(server, "POST", "/api/1/sessions", {"custom_data": {"t": "streams"}})
        if created.status != 201:
            raise RuntimeError(f"device session: {created.status} {created.text}")
        s = server.request("PUT", f"/api/1/sessions/{created.json()['code']}", token=self.agent, body={"agent": "me"}).json()
        if s.get("state") == "authorizing":
            s = self.device.call(server, "PUT", f"/api/1/sessions/{s['id']}", {"state": "active"}).json()
        if s.get("state") != "active":
            raise RuntimeError(f"the session did not become active: {s}")
        self.session = s
        self.connect()

    def connect(self) -> None:
        token = stream_token(self.server, self.agent, self.session["id"])
        if token.status != 200:
            raise RuntimeError(f"stream token: {token.status} {token.text}")
        self.agent_sock = Sock.open(self.server.base, token.json()["stream_token"])
        self.device_sock = Sock.open(self.server.base, self.device.token, self.device.query(self.session["id"]))
        # Whatever the server says on opening (the session's state, a sync request) is not
        # what the checks look for.
        self.agent_sock.drain(0.2, 2)
        self.device_sock.drain(0.2, 2)

    def close(self) -> None:
        self.agent_sock.close()
        self.device_sock.close()


class Sentinels:
    """Finds out what one frame did: sends it, then a `message` sentinel from the same socket.
    Everything the sender hears before the sentinel's `ack` answered the frame; everything the
    other side gets before the sentinel was relayed from it (a socket's frames stay in order)."""

    def __init__(self) -> None:
        self.n = 0

    def probe(self, sender: Sock, receiver: Sock, raw: bytes, timeout: float = 10.0) -> tuple[list[Frame], list[Frame] | None]:
        """`(replies, relayed)`; `relayed` is None when the sentinel itself did not arrive."""
        self.n += 1
        mark = {"sentinel": self.n}
        sender.send_raw(raw)
        fid = sender.send("message", mark)
        ack, replies = sender.until(lambda f: f.ack == fid, timeout)
        if ack is None:
            raise TimeoutError("the sentinel was not acknowledged")
        got, relayed = receiver.until(lambda f: f.event == "message" and f.data == mark, timeout)
        return replies, (relayed if got is not None else None)


def workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="tandem-security-"))
