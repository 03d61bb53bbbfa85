"""Class 4: concurrent guessing of 6-digit codes. The budget (`redeem_failures_per_agent`, 10 per
60 s) must hold however many guesses arrive at once: the number of answers other than 429 never
exceeds it, on one replica, across two replicas on one database, and for a device redeeming
codes with `PUT /sessions/<code>`.
"""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor

from harness import REDEEM_BUDGET, Server, Tenant, session
from tally import Tally


def code() -> str:
    return f"{random.randrange(10**6):06d}"


def burst(calls: list[tuple[Server, str, dict, str]]) -> list[int]:
    """Sends every `(server, method, headers, path)` at once (threads released together) and
    returns the statuses."""
    gate = threading.Barrier(len(calls))

    def one(call):
        server, method, headers, path = call
        s = session()
        # Open the connection first, so the guesses themselves leave together.
        s.get(f"{server.base}/healthz", timeout=10)
        gate.wait()
        body = "{}" if method == "PUT" else None
        return s.request(method, f"{server.base}{path}", headers={**headers, "Content-Type": "application/json"},
                         data=body, timeout=30).status_code

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(one, calls))


def tally_burst(row, what: str, statuses: list[int]) -> None:
    row.tries += len(statuses)
    for s in statuses:
        row.status(what, s)
    answered = sum(1 for s in statuses if s != 429)
    if answered > REDEEM_BUDGET:
        # Every lookup over the budget counts as accepted.
        row.accept(f"{what}: {answered} of {len(statuses)} guesses answered, budget {REDEEM_BUDGET} "
                   f"(statuses {sorted(set(statuses))})", answered - REDEEM_BUDGET)
    elif not any(s == 429 for s in statuses):
        row.fail(f"{what}: no guess was refused with 429")


def one_replica(server: Server, tally: Tally, tenant: Tenant) -> None:
    row = tally.row("4 code guessing, one replica")
    auth = {"Authorization": f"Bearer {tenant.agent()}"}
    tally_burst(row, "60 concurrent guesses by one agent", burst([(server, "GET", auth, f"/api/1/sessions/{code()}") for _ in range(60)]))


def device(server: Server, tally: Tally, tenant: Tenant) -> None:
    row = tally.row("4 code guessing, device PUT")
    d = tenant.device()
    tally_burst(row, "60 concurrent PUT /sessions/<code> by one device",
                burst([(server, "PUT", d.headers(), f"/api/1/sessions/{code()}") for _ in range(60)]))


def two_replicas(a: Server, b: Server, tally: Tally, tenant: Tenant) -> None:
    row = tally.row("4 code guessing, two replicas")
    auth = {"Authorization": f"Bearer {tenant.agent()}"}
    calls = [(a, "GET", auth, f"/api/1/sessions/{code()}") for _ in range(30)]
    calls += [(b, "GET", auth, f"/api/1/sessions/{code()}") for _ in range(30)]
    tally_burst(row, "30 + 30 concurrent guesses by one agent on two replicas", burst(calls))
