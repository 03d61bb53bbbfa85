"""Class 1: forged JWTs against every JWT-authenticated operation of `/api/1/openapi.json`.

Every forgery must be refused with 401 and the one body that says nothing about which check
failed, `{"id": "invalid_token", "message": "invalid token"}`; an expired token gets
`{"id": "token_expired", "message": "jwt expired"}` (the SDKs act on that message). Header keys
that point at keys elsewhere (jku, x5u) lead to a listener run here, which must never be called.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import http.server
import json
import threading
import time

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from harness import KeyPair, Server, Tenant, b64url, claims
from tally import Tally

INVALID = {"id": "invalid_token", "message": "invalid token"}
EXPIRED = {"id": "token_expired", "message": "jwt expired"}


class Listener:
    """A loopback HTTP server standing in for an attacker's key host: it serves a JWKS (and a
    certificate) of the attacker's key and counts every request it gets."""

    def __init__(self, jwks: dict, cert_pem: bytes):
        self.hits: list[str] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (the stdlib's name)
                outer.hits.append(self.path)
                body = cert_pem if self.path.endswith(".pem") else json.dumps(jwks).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def self_signed(key: KeyPair) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "attacker")])
    now = datetime.datetime.now(datetime.timezone.utc)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key.private, hashes.SHA256())
    )


def raw_token(header: dict, payload: dict, sign) -> str:
    """A JWT built by hand (PyJWT refuses some of these on purpose)."""
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(payload).encode())}"
    return f"{signing_input}.{b64url(sign(signing_input.encode()))}"


def forgeries(target: Tenant, other: Tenant, attacker: KeyPair, cert: x509.Certificate,
              listener_url: str) -> list[tuple[str, str, dict]]:
    """`(name, token, expected refusal body)` for every forgery, aimed at `target`'s account;
    `attacker` is the key the listener at `listener_url` serves."""
    email = "forger@example.com"
    ec_key = ec.generate_private_key(ec.SECP256R1())
    now = int(time.time())

    def good(**changes) -> dict:
        c = claims(target.license, email, role="administrator")
        for k, v in changes.items():
            if v is None:
                c.pop(k, None)
            else:
                c[k] = v
        return c

    def rs(c: dict, key=target.key, **headers) -> str:
        return jwt.encode(c, key.private, algorithm="RS256", headers=headers or None)

    valid = rs(good(), kid=target.kid)
    head, body, sig = valid.split(".")
    promoted = json.loads(jwt.utils.base64url_decode(body))
    promoted["sub"] = "someone-else@example.com"
    out = [
        ("alg none", raw_token({"alg": "none", "typ": "JWT"}, good(), lambda _: b""), INVALID),
        ("alg None, kid kept", raw_token({"alg": "None", "kid": target.kid}, good(), lambda _: b""), INVALID),
        ("alg none with the real signature", f"{raw_token({'alg': 'none'}, good(), lambda _: b'')[:-1]}{sig}", INVALID),
        ("HS256 keyed with the public key PEM", raw_token({"alg": "HS256", "typ": "JWT", "kid": target.kid}, good(),
         lambda m: hmac.new(target.key.public_pem, m, hashlib.sha256).digest()), INVALID),
        ("HS256 keyed with the license key", raw_token({"alg": "HS256", "typ": "JWT"}, good(),
         lambda m: hmac.new(target.license.encode(), m, hashlib.sha256).digest()), INVALID),
        ("ES256 by an unregistered key", jwt.encode(good(), ec_key, algorithm="ES256", headers={"kid": target.kid}), INVALID),
        ("unregistered key, the account's kid", rs(good(), attacker, kid=target.kid), INVALID),
        ("unregistered key, unknown kid", rs(good(), attacker, kid="attacker"), INVALID),
        ("unregistered key, no kid", rs(good(), attacker), INVALID),
        ("another tenant's key and kid", rs(good(), other.key, kid=other.kid), INVALID),
        ("another tenant's key, no kid", rs(good(), other.key), INVALID),
        ("signature stripped", f"{head}.{body}.", INVALID),
        ("payload changed after signing", f"{head}.{b64url(json.dumps(promoted).encode())}.{sig}", INVALID),
        ("no exp", rs(good(exp=None), kid=target.kid), INVALID),
        ("exp a string", rs(good(exp=str(now + 600)), kid=target.kid), INVALID),
        ("exp in the past", rs(good(exp=now - 3600, iat=now - 7200), kid=target.kid), EXPIRED),
        ("nbf in the future", rs(good(nbf=now + 3600), kid=target.kid), INVALID),
        ("nbf a string", rs(good(nbf=str(now - 10)), kid=target.kid), INVALID),
        ("wrong aud", rs(good(aud="https://evil.example"), kid=target.kid), INVALID),
        ("aud missing", rs(good(aud=None), kid=target.kid), INVALID),
        ("wrong iss (unknown)", rs(good(iss="not-a-license-key"), kid=target.kid), INVALID),
        ("iss of another tenant, signed by the target's key", rs(good(iss=other.license), kid=target.kid), INVALID),
        ("iss missing", rs(good(iss=None), kid=target.kid), INVALID),
        ("jku to a listener", rs(good(), attacker, kid="attacker", jku=f"{listener_url}/jwks.json"), INVALID),
        ("x5u to a listener", rs(good(), attacker, kid="attacker", x5u=f"{listener_url}/cert.pem"), INVALID),
        ("jwk header with the attacker's key", rs(good(), attacker, jwk=attacker.jwk("attacker")), INVALID),
        ("x5c header with the attacker's certificate", rs(good(), attacker, x5c=[
            b64url(cert.public_bytes(serialization.Encoding.DER))]), INVALID),
        ("jku and kid of the account, signed by the attacker", rs(good(), attacker, kid=target.kid,
                                                                  jku=f"{listener_url}/jwks.json"), INVALID),
        ("not a JWT", "not.a.jwt", INVALID),
    ]
    return out


def operations(server: Server) -> list[tuple[str, str]]:
    """Every `(method, path)` of the served document whose security accepts an agent JWT."""
    doc = server.request("GET", "/api/1/openapi.json").json()
    ops = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method not in ("get", "post", "put", "delete", "patch"):
                continue
            schemes = {name for req in op.get("security", doc.get("security", [])) for name in req}
            if "agentJwt" in schemes:
                ops.append((method.upper(), path))
    return ops


def fill(path: str, ids: dict[str, str]) -> str:
    """Fills the `{id}` of a path with a real id of the target tenant (a session's for session
    paths, a device's for device paths, a user's for user paths)."""
    for prefix, key in (("/api/1/sessions/", "session"), ("/api/1/devices/", "device"), ("/api/1/users/", "user")):
        if path.startswith(prefix):
            return path.replace("{id}", ids[key])
    return path.replace("{id}", ids["session"])


def bodies(method: str, path: str, ids: dict[str, str]):
    if method == "GET":
        return None
    if path.endswith("/notifications"):
        return {"session": ids["session"], "attempt": 1}
    if path == "/api/1/sessions":
        return {"custom_data": {"forged": True}, "agent": "me"}
    return {"custom_data": {"forged": True}}


def run(server: Server, tally: Tally, target: Tenant, other: Tenant) -> None:
    row = tally.row("1 JWT forgeries x endpoints")
    admin = target.admin()
    s = server.request("POST", "/api/1/sessions", token=admin, body={"custom_data": {"t": "forgery"}})
    me = server.request("GET", "/api/1/users/me", token=admin).json()
    device = target.device()
    ids = {"session": s.json()["id"], "device": device.id, "user": me["id"]}

    attacker = KeyPair()
    cert = self_signed(attacker)
    listener = Listener({"keys": [attacker.jwk("attacker")]}, cert.public_bytes(serialization.Encoding.PEM))
    try:
        forged = forgeries(target, other, attacker, cert, listener.url)
        ops = operations(server)
        wrong: dict[str, list[str]] = {}
        if len(ops) < 10:
            row.fail(f"the document lists only {len(ops)} JWT operations")
        for method, path in ops:
            url = fill(path, ids)
            # A control: the real token gets past authentication, so a refusal below is the
            # forgery's and not the request's.
            r = server.request(method, url, token=admin, body=bodies(method, path, ids))
            row.status(f"{method} {path} with a valid token", r.status)
            if r.status == 401:
                row.fail(f"{method} {path}: a valid token is refused ({r.text[:120]})")
            for name, token, expected in forged:
                row.tries += 1
                r = server.request(method, url, token=token, body=bodies(method, path, ids))
                what = f"{method} {path}"
                row.status(f"{what} / {name}", r.status)
                if 200 <= r.status < 300:
                    row.accept(f"{what} / {name}: {r.status} {r.text[:160]}")
                elif r.status < 500 and (r.status != 401 or r.json() != expected):
                    wrong.setdefault(name, []).append(f"{what}: {r.status} {r.text[:140]}")
        # A refusal that says too much is one note per forgery, counted once per endpoint.
        for name, seen in wrong.items():
            expected = next(e for n, _, e in forged if n == name)
            row.note("failed", f"{name}: {len(seen)} endpoint(s) refused it in another shape than 401 "
                               f"{json.dumps(expected)}, e.g. {seen[0]}", len(seen))
        # Give a fetch the server might have started in the background a moment to land.
        time.sleep(0.5)
        if listener.hits:
            row.accept(f"the server fetched keys from the attacker's host: {listener.hits[:5]}")
    finally:
        listener.stop()
