"""Class 5: the consent and remote-control gates, driven over raw sockets, in an account that
requires the customer's consent (the default).

An agent creates a session and joins it; the customer's device joins it with its code, which
puts it in `authorizing`. Until the customer accepts, no one else gets a stream token and no
frame crosses; after, frames cross both ways, and `control` crosses only while the customer has
remote control on. Devices read only their own sessions, sockets answer only what REST would,
and the viewer page does not tell a stranger whether a session id exists.
"""

from __future__ import annotations

import uuid

import cbor2

from harness import Closed, Refused, Sentinels, Server, Sock, Tenant, notification_token, stream_token
from tally import Tally

QUIET = 1.0  # how long a frame that must not cross is waited for


class Gates:
    def __init__(self, server: Server, tally: Tally, tenant: Tenant):
        self.server = server
        self.row = tally.row("5 consent and control gates")
        self.t = tenant
        self.agent_a = tenant.agent(f"a-{uuid.uuid4().hex[:6]}@example.com")
        self.agent_b = tenant.agent(f"b-{uuid.uuid4().hex[:6]}@example.com")
        self.d1 = tenant.device(custom_data={"team": "y"})
        self.d2 = tenant.device(custom_data={"team": "y"})
        self.sentinels = Sentinels()
        self.session: dict = {}

    def check(self, ok: bool, what: str, accepted: bool = True) -> None:
        """One try: `ok` or a finding (`accepted` when something got through)."""
        self.row.tries += 1
        if not ok:
            (self.row.accept if accepted else self.row.fail)(what)

    # ---- set-up ---------------------------------------------------------------------------------

    def join(self) -> None:
        s = self.server.request("POST", "/api/1/sessions", token=self.agent_a, body={"agent": "me", "custom_data": {"t": "consent"}}).json()
        r = self.d1.call(self.server, "PUT", f"/api/1/sessions/{s['code']}", {})
        self.row.status("device PUT /sessions/<code>", r.status)
        joined = r.json() if r.status == 200 else {}
        self.check(joined.get("state") == "authorizing",
                   f"a device cannot join an agent-created session by its code: {r.status} {r.text[:120]}", accepted=False)
        if joined.get("state") != "authorizing":
            # Go on the way that works today: the device creates the session, the agent joins.
            created = self.d1.call(self.server, "POST", "/api/1/sessions", {"custom_data": {"t": "consent"}}).json()
            joined = self.server.request("PUT", f"/api/1/sessions/{created['code']}", token=self.agent_a, body={"agent": "me"}).json()
        if joined.get("state") != "authorizing":
            raise RuntimeError(f"could not bring a session to authorizing: {joined}")
        self.session = joined

    def connect(self) -> tuple[Sock | None, Sock | None]:
        """Both ends of the stream, or None for an end the server refused."""
        agent = device = None
        tok = stream_token(self.server, self.agent_a, self.session["id"])
        if tok.status == 200:
            try:
                agent = Sock.open(self.server.base, tok.json()["stream_token"])
            except Refused:
                pass
        try:
            device = Sock.open(self.server.base, self.d1.token, self.d1.query(self.session["id"]))
        except Refused:
            pass
        for s in (agent, device):
            if s:
                s.drain(0.2, 2)
        return agent, device

    # ---- the gates ------------------------------------------------------------------------------

    def not_on_session(self) -> None:
        """(a) an agent of the account who is not on the session gets no stream token."""
        r = stream_token(self.server, self.agent_b, self.session["id"])
        self.row.status("tokens for an agent not on the session", r.status)
        if 200 <= r.status < 300:
            self.check(False, f"an agent not on an authorizing session got a stream token: {r.text[:120]}")
        else:
            self.check(r.status in (403, 404) and r.error_shape_ok(),
                       f"the refusal is not 403/404 with {{id, message}}: {r.status} {r.text[:120]}", accepted=False)

    def before_consent(self) -> None:
        """(b) while authorizing, nothing crosses either way."""
        agent, device = self.connect()
        if agent and device:
            for sender, receiver, side in ((agent, device, "agent"), (device, agent, "device")):
                mark = f"before-consent-{side}"
                try:
                    sender.send("message", {"mark": mark})
                    sender.send("rrweb", {"type": 3, "mark": mark})
                    got = receiver.drain(QUIET, 3)
                except Closed:
                    got = []
                crossed = [f for f in got if isinstance(f.data, dict) and f.data.get("mark") == mark]
                self.check(not crossed, f"frames from the {side} crossed before the customer accepted")
        else:
            self.check(True, "")
        for s in (agent, device):
            if s:
                s.close()

    def consent(self) -> None:
        """(c) the customer accepts; frames then cross both ways."""
        r = self.d1.call(self.server, "PUT", f"/api/1/sessions/{self.session['id']}", {"state": "active"})
        self.check(r.status == 200 and r.json().get("state") == "active",
                   f"the customer could not accept: {r.status} {r.text[:120]}", accepted=False)
        self.agent, self.device = self.connect()
        if not (self.agent and self.device):
            self.check(False, "the stream sockets of an active session were refused", accepted=False)
            raise RuntimeError("no stream after consent")
        for sender, receiver, side in ((self.agent, self.device, "agent"), (self.device, self.agent, "device")):
            raw = cbor2.dumps({"event": "message", "id": 500, "data": {"mark": f"after-{side}"}})
            _, relayed = self.sentinels.probe(sender, receiver, raw)
            self.check(bool(relayed) and any(f.event == "message" for f in relayed),
                       f"a frame from the {side} did not cross after consent", accepted=False)

    def control_reaches(self) -> bool:
        raw = cbor2.dumps({"event": "control", "id": 700, "data": {"type": "click", "x": 5, "y": 5}})
        _, relayed = self.sentinels.probe(self.agent, self.device, raw)
        return bool(relayed) and any(f.event == "control" for f in relayed)

    def remote_control(self) -> None:
        """(d) control crosses only while the customer has remote control on."""
        sid = self.session["id"]
        self.check(not self.control_reaches(), "control reached the device with remote control off")
        r = self.server.request("PUT", f"/api/1/sessions/{sid}", token=self.agent_a, body={"remote_control": "requested"})
        self.check(r.status == 200, f"the agent could not request control: {r.status} {r.text[:120]}", accepted=False)
        self.check(not self.control_reaches(), "control reached the device with remote control requested")
        r = self.d1.call(self.server, "PUT", f"/api/1/sessions/{sid}", {"remote_control": "on"})
        self.check(r.status == 200, f"the customer could not give control: {r.status} {r.text[:120]}", accepted=False)
        self.check(self.control_reaches(), "control did not reach the device with remote control on", accepted=False)
        r = self.d1.call(self.server, "PUT", f"/api/1/sessions/{sid}", {"remote_control": "off"})
        self.check(r.status == 200, f"the customer could not take control back: {r.status} {r.text[:120]}", accepted=False)
        self.check(not self.control_reaches(), "control reached the device after the customer turned it off")
        self.agent.close()
        self.device.close()

    def other_device(self) -> None:
        """(e) a device reads only sessions bound to it, and joins others only by code."""
        unbound = self.server.request("POST", "/api/1/sessions", token=self.agent_a, body={"agent": "me", "custom_data": {"t": "unbound"}}).json()
        for label, sid in (("an unbound pending session", unbound["id"]), ("another device's session", self.session["id"])):
            r = self.d2.call(self.server, "GET", f"/api/1/sessions/{sid}")
            self.row.status(f"device GET {label}", r.status)
            self.check(r.status == 404, f"a device read {label} by its id: {r.status} {r.text[:100]}")
            r = self.d2.call(self.server, "PUT", f"/api/1/sessions/{sid}", {})
            self.row.status(f"device PUT {label}", r.status)
            self.check(r.status == 404, f"a device took {label} by its id: {r.status} {r.text[:100]}")

    def presence(self) -> None:
        """(f) sockets answer only what REST would: a device about itself, an agent about the
        devices its policy shows."""
        sock = Sock.open(self.server.base, self.d2.token, self.d2.query())
        for event, data, what in (
            ("sync-presence", self.d1.id, "another device's presence"),
            ("subscribe", self.d1.notification_token, "another device's notification token"),
            ("subscribe", self.session["control_token"], "another device's session"),
        ):
            reply, _ = sock.call(event, data)
            self.check(reply is not None and reply.event == "error", f"a device socket was answered {what} ({event})")
        sock.close()

        hidden = self.t.agent(f"hidden-{uuid.uuid4().hex[:6]}@example.com", policy={"devices": {"custom_data": {"team": "x"}}})
        shown = self.t.agent(f"shown-{uuid.uuid4().hex[:6]}@example.com", policy={"devices": {"custom_data": {"team": "y"}}})
        r = self.server.request("GET", f"/api/1/devices/{self.d1.id}", token=hidden)
        self.check(r.status == 404, f"control: REST shows a device the policy hides ({r.status})", accepted=False)
        for token, visible in ((shown, True), (hidden, False)):
            sock = Sock.open(self.server.base, notification_token(self.server, token))
            reply, _ = sock.call("sync-presence", self.d1.id)
            if visible:
                self.check(reply is not None and reply.ack is not None,
                           "control: sync-presence is refused for a device the policy shows", accepted=False)
            else:
                ok = reply is not None and reply.event == "error" and isinstance(reply.data, dict) and reply.data.get("id") == "not_found"
                self.check(ok, f"sync-presence answered for a device the agent's policy hides: {reply and reply.value!r:.120}")
                reply, _ = sock.call("subscribe", self.d1.notification_token)
                self.check(reply is not None and reply.event == "error",
                           "subscribe reached a device the agent's policy hides")
                reply, _ = sock.call("subscribe", self.session["control_token"])
                self.check(reply is not None and reply.event == "error",
                           "subscribe reached a session the agent's policy hides")
            sock.close()

    def viewer_page(self) -> None:
        """(g) `/session/<id>` without credentials: the same answer for a known and an unknown id."""
        self.t.update_settings({"trusted_origins": ["https://crm.example"], "asset_origins": ["https://shop.example"]})
        known = self.server.http.get(f"{self.server.base}/session/{self.session['id']}", timeout=10)
        unknown = self.server.http.get(f"{self.server.base}/session/{uuid.uuid4()}", timeout=10)

        def headers(res) -> dict:
            return {k.lower(): v for k, v in res.headers.items() if k.lower() not in ("date", "x-request-id", "content-length")}

        self.check(known.status_code == unknown.status_code, f"/session/<id>: status {known.status_code} vs {unknown.status_code}")
        h1, h2 = headers(known), headers(unknown)
        differ = sorted(k for k in h1.keys() | h2.keys() if h1.get(k) != h2.get(k))
        self.check(not differ, f"/session/<id>: headers differ for a known and an unknown id: {differ}")
        self.check(known.content == unknown.content, "/session/<id>: bodies differ for a known and an unknown id")


def run(server: Server, tally: Tally, tenant: Tenant) -> None:
    g = Gates(server, tally, tenant)
    g.join()
    g.not_on_session()
    g.before_consent()
    g.consent()
    g.remote_control()
    g.other_device()
    g.presence()
    g.viewer_page()
