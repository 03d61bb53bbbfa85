"""The attack suite: starts its own servers on loopback (SQLite for most classes; two replicas on
one fresh PostgreSQL database and a private Redis for the cluster check), runs every class, prints
the table and exits non-zero on any finding.

    python tests/security/run.py [--only NAME ...] [--skip-fuzz]

Needs the debug `tandem` binary (`cargo build -p tandem-api --bin tandem`; TANDEM_BIN overrides
its path), PostgreSQL at 127.0.0.1:5432 (user postgres, trust auth) and redis-server.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
import traceback
from pathlib import Path

import canaries
import consent
import differential
import forgery
import fuzz
import guessing
from harness import Postgres, Redis, Server, Tenant, binary, workdir
from tally import Tally

CLASSES = ["forgery", "canaries", "frames", "guessing", "cluster", "consent", "fuzz"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="*", choices=CLASSES, help="run only these classes")
    ap.add_argument("--skip-fuzz", action="store_true", help="leave out the schemathesis run")
    args = ap.parse_args()
    chosen = [c for c in CLASSES if (not args.only or c in args.only) and not (args.skip_fuzz and c == "fuzz")]
    # A frame 4,096 levels deep is part of the differential set; reading it back takes the stack.
    sys.setrecursionlimit(20000)

    tally = Tally()
    work = workdir()
    tandem = binary()
    started = time.monotonic()
    errors: list[str] = []
    server = None
    try:
        server = Server(f"sqlite://{work}/tandem.db", work)

        def tenant(name: str, consent_required: bool = True) -> Tenant:
            return Tenant(server, name, consent=consent_required, workdir=work)

        def attempt(name: str, fn) -> None:
            if name not in chosen:
                return
            t0 = time.monotonic()
            try:
                fn()
            except Exception:
                errors.append(f"{name}: the check itself broke:\n{traceback.format_exc()}")
                tally.row(f"{name} (broken)").fail("the check raised; see above")
            print(f"security: {name} done in {time.monotonic() - t0:.1f}s", file=sys.stderr, flush=True)

        attempt("forgery", lambda: forgery.run(server, tally, tenant("forgery-target"), tenant("forgery-other")))
        attempt("canaries", lambda: canaries.run(server, tally, tenant("victim"), tenant("prober")))
        attempt("frames", lambda: differential.run(server, tally, tenant("frames", consent_required=False)))
        attempt("guessing", lambda: (guessing.one_replica(server, tally, tenant("guessing")),
                                     guessing.device(server, tally, tenant("device-guessing"))))
        attempt("cluster", lambda: cluster(tally, work))
        attempt("consent", lambda: consent.run(server, tally, tenant("consent")))
        attempt("fuzz", lambda: fuzz.run(tally, work))
    finally:
        if server:
            server.stop()
    for e in errors:
        print(e, file=sys.stderr)
    print()
    print(tally.table())
    if tally.findings:
        print()
        print(tally.details())
    failed = sum(1 for r in tally.rows.values() if r.findings)
    print(f"\nsecurity: {tally.findings} finding(s) in {time.monotonic() - started:.0f}s")
    print(f"security: {len(tally.rows) - failed} passed, {failed} failed")
    shutil.rmtree(Path(tandem).parent, ignore_errors=True)
    if tally.findings == 0 and not errors:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"security: server logs are in {work}", file=sys.stderr)
    return 1 if tally.findings or errors else 0


def cluster(tally: Tally, work) -> None:
    """Two replicas on one fresh PostgreSQL database, linked through a private Redis."""
    db = Postgres()
    redis = Redis()
    replicas = []
    try:
        env = {"TANDEM_REDIS_URL": redis.url}
        replicas = [Server(db.url, work, env, name="replica-a"), Server(db.url, work, env, name="replica-b")]
        t = Tenant(replicas[0], "cluster-guessing", workdir=work)
        guessing.two_replicas(replicas[0], replicas[1], tally, t)
    finally:
        for r in replicas:
            r.stop()
        redis.stop()
        db.drop()


if __name__ == "__main__":
    sys.exit(main())
