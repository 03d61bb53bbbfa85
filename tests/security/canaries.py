"""Class 2: cross-tenant probes. Tenant A puts unique canary strings into its sessions, devices
and agent names; tenant B (administrator and agent JWTs, and B's own devices) asks for A's ids,
6-digit codes, 9-digit access tokens, control tokens and notification tokens over REST and over
sockets. No canary may appear in any response body or socket frame, and no probe of one of A's
handles may succeed.
"""

from __future__ import annotations

import itertools
import secrets

from harness import Closed, Device, Refused, Server, Sock, Tenant, notification_token
from tally import Tally


class Victim:
    """Tenant A's resources, each carrying a canary, and every handle that names them."""

    def __init__(self, server: Server, tenant: Tenant):
        self.mark = f"CANARY{secrets.token_hex(8)}"
        n = itertools.count()
        canary = lambda: f"{self.mark}-{next(n)}"  # noqa: E731
        self.tenant = tenant
        self.admin = tenant.jwt(f"{canary().lower()}@example.com", role="administrator", name=canary())
        self.device = tenant.device(custom_data={"canary": canary()},
                                    info={"platform": "web", "app_name": canary(), "sdk_version": "security"})
        create = lambda token, body: server.request("POST", "/api/1/sessions", token=token, body=body).json()  # noqa: E731
        # Agent-created and pending (a code, an access token and a control token).
        self.pending = create(self.admin, {"custom_data": {"canary": canary()}, "agent": "me"})
        # Device-created and pending.
        self.waiting = self.device.call(server, "POST", "/api/1/sessions", {"custom_data": {"canary": canary()}}).json()
        # Device-created, joined by A's agent with its code: live, with an agent who has a name.
        joined = self.device.call(server, "POST", "/api/1/sessions", {"custom_data": {"canary": canary()}}).json()
        self.live = server.request("PUT", f"/api/1/sessions/{joined['code']}", token=self.admin, body={"agent": "me"}).json()
        me = server.request("GET", "/api/1/users/me", token=self.admin).json()
        self.user_id = me["id"]
        self.user_notification = me["notification_token"]
        sessions = [self.pending, self.waiting, self.live]
        self.session_ids = [s["id"] for s in sessions]
        self.codes = [s["code"] for s in sessions if s.get("code")]
        self.access_tokens = [s["access_token"] for s in sessions if s.get("access_token")]
        self.control_tokens = [s["control_token"] for s in sessions]
        self.device_ids = [self.device.id]
        self.device_tokens = [self.device.notification_token]

    def handles(self) -> list[tuple[str, str]]:
        return (
            [("session id", h) for h in self.session_ids]
            + [("code", h) for h in self.codes]
            + [("access token", h) for h in self.access_tokens]
            + [("control token", h) for h in self.control_tokens]
            + [("device id", h) for h in self.device_ids]
            + [("device notification token", h) for h in self.device_tokens]
            + [("user id", self.user_id)]
            + [("user notification token", self.user_notification)]
        )

    def leaks(self, blob: str | bytes) -> bool:
        return (self.mark.encode() if isinstance(blob, bytes) else self.mark) in blob


class Probe:
    def __init__(self, server: Server, tally: Tally, victim: Victim):
        self.server = server
        self.row = tally.row("2 cross-tenant canaries")
        self.victim = victim

    def rest(self, who: str, method: str, path: str, *, token=None, device: Device | None = None, body=None,
             handle: bool = True) -> None:
        """One REST probe: no canary in the answer and, for a probe naming one of A's handles,
        no success."""
        self.row.tries += 1
        headers = device.headers() if device else None
        r = self.server.request(method, path, token=token, body=body, headers=headers)
        what = f"{who}: {method} {path}"
        self.row.status(what, r.status)
        if self.victim.leaks(r.text):
            self.row.accept(f"{what} leaked a canary: {r.status} {r.text[:160]}")
        elif handle and 200 <= r.status < 300:
            self.row.accept(f"{what} succeeded on another tenant's handle: {r.status} {r.text[:160]}")
        elif r.status >= 400 and not r.error_shape_ok():
            self.row.fail(f"{what}: refusal body is not {{id, message}}: {r.status} {r.text[:120]}")

    def frames(self, what: str, frames) -> None:
        for f in frames:
            if self.victim.leaks(f.raw):
                self.row.accept(f"{what}: a frame carried a canary: {f.value!r:.160}")

    def socket_call(self, sock: Sock, who: str, event: str, data: str, kind: str) -> None:
        """`subscribe` / `sync-presence` with one of A's handles: an error, and no canary."""
        self.row.tries += 1
        what = f"{who}: {event} with A's {kind}"
        try:
            reply, before = sock.call(event, data)
        except Closed as c:
            self.row.fail(f"{what}: the socket closed ({c.code})")
            return
        self.frames(what, before + ([reply] if reply else []))
        if reply is None:
            self.row.fail(f"{what}: no answer")
        elif reply.event != "error":
            self.row.accept(f"{what} was acknowledged")

    def socket_open(self, who: str, token: str, query: str = "") -> None:
        """A socket opened with credentials that are not B's to use must be refused."""
        self.row.tries += 1
        try:
            s = Sock.open(self.server.base, token, query)
        except Refused:
            return
        try:
            frames = s.drain(0.3)
        except Closed:
            frames = []
        s.close()
        self.frames(who, frames)
        self.row.accept(f"{who}: the socket was accepted")


def run(server: Server, tally: Tally, a: Tenant, b: Tenant) -> None:
    victim = Victim(server, a)
    p = Probe(server, tally, victim)
    row = p.row

    # Controls: A sees its own canaries, over REST and on a socket, so the probes can see a leak.
    own = server.request("GET", f"/api/1/sessions/{victim.pending['id']}", token=victim.admin)
    if not victim.leaks(own.text):
        row.fail(f"control: A cannot read its own canary ({own.status})")
    a_sock = Sock.open(server.base, victim.user_notification)
    reply, before = a_sock.call("subscribe", victim.pending["control_token"])
    if not any(victim.leaks(f.raw) for f in before):
        row.fail("control: A's own subscription shows no canary")
    a_sock.close()

    b_device = b.device(custom_data={"team": "b"})
    callers = [("B admin", "administrator"), ("B agent", "agent")]
    serial = itertools.count()
    for who, role in callers:
        for kind, h in victim.handles():
            # A fresh agent for each handle, so that the redeem budget does not hide an answer.
            token = b.jwt(f"b-{role}-{next(serial)}@example.com", role=role)
            tag = f"{who} with A's {kind}"
            p.rest(tag, "GET", f"/api/1/sessions/{h}", token=token)
            p.rest(tag, "PUT", f"/api/1/sessions/{h}", token=token, body={"agent": "me"})
            p.rest(tag, "GET", f"/api/1/sessions/{h}/tokens", token=token)
            p.rest(tag, "GET", f"/api/1/sessions/{h}/history", token=token)
            p.rest(tag, "GET", f"/api/1/devices/{h}", token=token)
            p.rest(tag, "POST", f"/api/1/devices/{h}/notifications", token=token, body={"session": victim.session_ids[0]})
            p.rest(tag, "GET", f"/api/1/users/{h}", token=token)
        token = b.jwt(f"b-{role}-lists@example.com", role=role)
        for path in ("/api/1/sessions", "/api/1/sessions?agent=all", f"/api/1/sessions?agent=all&filter_canary={victim.mark}-1",
                     "/api/1/sessions?agent=all&state[]=pending&state[]=active&state[]=authorizing", "/api/1/devices",
                     "/api/1/devices?filter_canary=" + victim.mark + "-1", "/api/1/users/me", "/api/1/accounts",
                     "/api/1/policy/current"):
            p.rest(f"{who} list", "GET", path, token=token, handle=False)
    for kind, h in victim.handles():
        tag = f"B device with A's {kind}"
        p.rest(tag, "GET", f"/api/1/sessions/{h}", device=b_device)
        p.rest(tag, "PUT", f"/api/1/sessions/{h}", device=b_device, body={})
        p.rest(tag, "GET", f"/api/1/devices/{h}", device=b_device)
    # Mixed device credentials: one tenant's license with the other's device.
    mixed = [
        ("A's license, B's device and token", {"X-CobrowseLicense": a.license, "X-CobrowseDevice": b_device.id,
                                               "Authorization": f"Bearer {b_device.token}"}),
        ("B's license, A's device id, B's token", {"X-CobrowseLicense": b.license, "X-CobrowseDevice": victim.device.id,
                                                   "Authorization": f"Bearer {b_device.token}"}),
    ]
    for who, headers in mixed:
        for path in ("/api/1/sessions/" + victim.session_ids[1], "/api/1/devices/" + victim.device.id):
            p.row.tries += 1
            r = server.request("GET", path, headers=headers)
            row.status(f"{who}: GET {path}", r.status)
            if victim.leaks(r.text) or 200 <= r.status < 300:
                row.accept(f"{who}: GET {path}: {r.status} {r.text[:160]}")

    # Sockets: B's agents and B's device ask about A's handles.
    b_admin = b.admin("b-socket-admin@example.com")
    b_agent = b.agent("b-socket-agent@example.com")
    sockets = [
        ("B admin socket", Sock.open(server.base, notification_token(server, b_admin))),
        ("B agent socket", Sock.open(server.base, notification_token(server, b_agent))),
        ("B device socket", Sock.open(server.base, b_device.token, b_device.query())),
    ]
    for who, sock in sockets:
        for kind, h in victim.handles():
            p.socket_call(sock, who, "subscribe", h, kind)
            if kind in ("device id", "session id"):
                p.socket_call(sock, who, "sync-presence", h, kind)
    # A's tokens as socket credentials, and B's device on A's session streams.
    for kind, h in victim.handles():
        if kind != "user notification token":  # that one is A's agent credential
            p.socket_open(f"socket with A's {kind} as bearer", h)
    for sid in victim.session_ids:
        p.socket_open("B device on A's session stream", b_device.token, b_device.query(sid))
    p.socket_open("A's license with B's device", b_device.token,
                  f"X-CobrowseLicense={a.license}&X-CobrowseDevice={b_device.id}")
    p.socket_open("A's license and device with B's device token", b_device.token,
                  f"X-CobrowseLicense={a.license}&X-CobrowseDevice={victim.device.id}")
    p.socket_open("A's license and device with B's device token on A's stream", b_device.token,
                  f"X-CobrowseLicense={a.license}&X-CobrowseDevice={victim.device.id}&X-CobrowseSession={victim.session_ids[1]}")

    # A changes its resources while B's sockets listen: nothing of it reaches them.
    fresh = f"{victim.mark}-late"
    server.request("PUT", f"/api/1/sessions/{victim.pending['id']}", token=victim.admin, body={"custom_data": {"late": fresh}})
    server.request("PUT", f"/api/1/sessions/{victim.live['id']}", token=victim.admin, body={"custom_data": {"late": fresh}})
    victim.device.call(server, "PUT", f"/api/1/devices/{victim.device.id}", {"custom_data": {"canary": fresh}})
    a_dev_sock = Sock.open(server.base, victim.device.token, victim.device.query())
    for who, sock in sockets:
        row.tries += 1
        try:
            p.frames(f"{who} while A changes", sock.drain(0.4, 3))
        except Closed:
            pass
        sock.close()
    a_dev_sock.close()

    # Last, as it gives B a device of its own under A's device id: nothing of A's comes with it.
    row.tries += 1
    r = server.request("POST", f"/api/1/devices/{victim.device.id}", body={"custom_data": {}},
                       headers={"X-CobrowseLicense": b.license})
    if victim.leaks(r.text):
        row.accept(f"B registering A's device id leaked a canary: {r.text[:160]}")
