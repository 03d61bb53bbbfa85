"""Class 3: differential frames (`frames.json`, written by `frames.mjs`). Each frame goes out on
the agent's and on the device's session-stream socket of an active session:

- a `refuse` frame is answered with an `error` whose id is `invalid_frame`, and nothing of it
  reaches the other side;
- an `accept` frame is not refused as a frame, and, unless the server handles its event itself,
  reaches the other side read as the same event (and the same data, where the file says it);
  an `accept` frame without an event (`{ack}`, which only the server sends) may be refused from a
  client but never reaches the other side;
- a frame whose name says it smuggles `control` (one that cbor-x would read as `control` and a
  laxer reader as something else) must never reach the device from the agent while remote
  control is off, in any form.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import cbor2

from harness import Closed, Frame, Sentinels, Server, Streams, Tenant
from tally import Tally

FRAMES = Path(__file__).with_name("frames.json")

# Events the server answers itself instead of relaying, per side of the stream.
HANDLED = {
    "agent": {"ping", "probe", "subscribe", "sync-presence", "chunk", "control", "sync"},
    "device": {"ping", "probe", "subscribe", "sync-presence"},
}


def load() -> list[dict]:
    if not FRAMES.exists():
        raise SystemExit(f"security: {FRAMES} is missing (node tests/security/frames.mjs writes it)")
    return json.loads(FRAMES.read_text())


def invalid_frame(replies: list[Frame]) -> bool:
    return any(f.event == "error" and isinstance(f.data, dict) and f.data.get("id") == "invalid_frame" for f in replies)


def same(a, b) -> bool:
    """JSON data from the file against decoded CBOR (floats compared as numbers)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool) and not isinstance(b, bool):
        return a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))
    return a == b


class Run:
    def __init__(self, server: Server, tally: Tally, tenant: Tenant):
        self.server = server
        self.tenant = tenant
        self.row = tally.row("3 differential frames")
        self.smuggle = tally.row("3 control smuggled past remote control")
        self.streams = Streams(server, tenant)
        self.sentinels = Sentinels()

    def reconnect(self, why: str) -> None:
        self.row.fail(why)
        self.streams.close()
        self.streams.connect()

    def send(self, side: str, entry: dict) -> None:
        st = self.streams
        sender, receiver = (st.agent_sock, st.device_sock) if side == "agent" else (st.device_sock, st.agent_sock)
        raw = bytes.fromhex(entry["hex"])
        name = f"{entry['name']} (from the {side})"
        self.row.tries += 1
        try:
            replies, relayed = self.sentinels.probe(sender, receiver, raw)
        except (Closed, TimeoutError) as e:
            return self.reconnect(f"{name}: the socket broke instead of answering ({e})")
        if relayed is None:
            return self.reconnect(f"{name}: the sentinel after it never reached the other side")
        if side == "agent" and "control" in entry["name"]:
            # Whatever the server made of it, none of it may reach the device.
            self.smuggle.tries += 1
            if relayed:
                self.smuggle.accept(f"{name}: reached the device as {[f.value for f in relayed]!r:.120}")
        if entry["verdict"] == "refuse":
            if not invalid_frame(replies):
                self.row.fail(f"{name}: no invalid_frame error (got {[f.value for f in replies]!r:.160})")
            if relayed:
                self.row.accept(f"{name}: reached the other side as {[f.value for f in relayed]!r:.160}")
            return
        event = entry.get("event")
        if event is None:
            # `{ack}` is a frame only the server makes: a client's may be refused, and must not
            # reach the other side, where it would pass for the server's.
            if relayed:
                self.row.accept(f"{name}: a client's server-shaped frame reached the other side as "
                                f"{[f.value for f in relayed]!r:.120}")
            return
        if invalid_frame(replies):
            self.row.fail(f"{name}: refused as invalid_frame")
        if event in HANDLED[side]:
            return
        match = [f for f in relayed if f.event == event]
        if not match:
            self.row.fail(f"{name}: did not reach the other side as {event!r} (got {[f.value for f in relayed]!r:.160})")
        elif "data" in entry and not same(entry["data"], match[0].data):
            self.row.fail(f"{name}: the other side read data {match[0].data!r:.120}, not {entry['data']!r:.120}")

    def baseline_control(self) -> None:
        """A plain control frame from the agent, remote control off: refused, not relayed."""
        st = self.streams
        raw = cbor2.dumps({"event": "control", "id": 999, "data": {"type": "click", "x": 1, "y": 2}})
        self.smuggle.tries += 1
        replies, relayed = self.sentinels.probe(st.agent_sock, st.device_sock, raw)
        if relayed is None or relayed:
            self.smuggle.accept("a plain control frame reached the device with remote control off")
        if not any(f.event == "error" for f in replies):
            self.smuggle.fail("a plain control frame with remote control off was not refused")


def run(server: Server, tally: Tally, tenant: Tenant) -> None:
    entries = load()
    r = Run(server, tally, tenant)
    try:
        if r.streams.session.get("remote_control") != "off":
            r.smuggle.fail(f"remote control is {r.streams.session.get('remote_control')!r}, not off")
        r.baseline_control()
        for entry in entries:
            for side in ("agent", "device"):
                r.send(side, entry)
    finally:
        r.streams.close()
