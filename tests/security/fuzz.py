"""API fuzzing: schemathesis (`st run`) against `/api/1/openapi.json` of a server of its own,
authenticated: once as an administrator's JWT for the operations that take one, once as a device
(license, device id and device token) for the operations the document marks for devices.

Findings are failures: any 5xx, and any response that does not conform to the document.

Checks: `--checks all`, less these, which cannot apply here:
- `positive_data_acceptance`: valid-by-schema requests name ids, codes and tokens that do not
  exist, so 404 (and 429 once the redeem budget is spent) is the right answer, not 2xx;
- `use_after_free`, `ensure_resource_availability`: they follow links between operations, and
  the document declares none, so they would only ever pass;
- `ignored_auth` and `object_level_authorization` are left in: the first sends the requests
  without credentials and must see them refused.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from harness import Server, Tally, Tenant

MAX_EXAMPLES = 30
SEED = 20261129
EXCLUDED_CHECKS = ["positive_data_acceptance", "use_after_free", "ensure_resource_availability"]


def st() -> str:
    exe = Path(sys.executable).with_name("st")
    if not exe.exists():
        raise SystemExit("security: schemathesis is not installed in this Python (pip install -r tests/security/requirements.txt)")
    return str(exe)


def operation_ids(doc: dict, scheme: str) -> list[str]:
    """The operations whose security names `scheme` in one of its alternatives."""
    out = []
    for item in doc["paths"].values():
        for method, op in item.items():
            if method in ("get", "post", "put", "delete", "patch"):
                if any(scheme in req for req in op.get("security", doc.get("security", []))):
                    out.append(op["operationId"])
    return out


def schemathesis(server: Server, label: str, ops: list[str], headers: dict[str, str], work: Path) -> dict:
    report = work / f"schemathesis-{label}.json"
    cmd = [st(), "run", f"{server.base}/api/1/openapi.json", "--url", server.base,
           "--checks", "all", "--exclude-checks", ",".join(EXCLUDED_CHECKS),
           "--max-examples", str(MAX_EXAMPLES), "--seed", str(SEED), "--workers", "4",
           "--request-timeout", "10", "--max-time", "90", "--no-color",
           "--report", "json", "--report-json-path", str(report), "--output-truncate", "true"]
    for op in ops:
        cmd += ["--include-operation-id", op]
    for k, v in headers.items():
        cmd += ["-H", f"{k}: {v}"]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": ""}
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=work, timeout=300)
    (work / f"schemathesis-{label}.log").write_text(out.stdout + out.stderr)
    return {"code": out.returncode, "output": out.stdout + out.stderr, "report": report}


def summarise(row, label: str, result: dict) -> None:
    """Counts test cases, failures and 5xx from the run's JSON report (and its output, should the
    report be missing)."""
    report = result["report"]
    cases = failures = server_errors = 0
    notes = []
    if report.exists():
        data = json.loads(report.read_text())
        for op in data.get("operations", data.get("results", [])) if isinstance(data, dict) else []:
            cases += int(op.get("test_cases", op.get("cases", 0)) or 0)
        for f in data.get("failures", []) if isinstance(data, dict) else []:
            failures += 1
            title = f.get("title") or f.get("check") or json.dumps(f)[:200]
            status = (f.get("response") or {}).get("status_code") or f.get("status_code")
            if status and int(status) >= 500:
                server_errors += 1
            notes.append(f"{label}: {f.get('operation', '')} {title} ({status})")
    row.tries += cases or 1
    for n in notes:
        row.note("5xx" if "(5" in n[-6:] else "failed", n)
    if result["code"] != 0 and not notes:
        tail = "\n".join(result["output"].strip().splitlines()[-30:])
        row.fail(f"{label}: schemathesis exited {result['code']}:\n{tail}")


def run(tally: Tally, work: Path) -> None:
    row = tally.row("API fuzzing (schemathesis)")
    server = Server(f"sqlite://{work}/fuzz.db", work, name="fuzz")
    try:
        tenant = Tenant(server, "fuzz", workdir=work)
        doc = server.request("GET", "/api/1/openapi.json").json()
        admin = tenant.admin("fuzz-admin@example.com")
        device = tenant.device("fuzz-device")
        agent_ops = operation_ids(doc, "agentJwt")
        device_ops = operation_ids(doc, "deviceLicense")
        public = [op["operationId"] for item in doc["paths"].values() for m, op in item.items()
                  if m in ("get", "post", "put") and op.get("security", doc.get("security", [])) == []]
        summarise(row, "agent", schemathesis(server, "agent", agent_ops + public,
                                             {"Authorization": f"Bearer {admin}"}, work))
        summarise(row, "device", schemathesis(server, "device", device_ops, {
            "X-CobrowseLicense": device.license, "X-CobrowseDevice": device.id,
            "Authorization": f"Bearer {device.token}"}, work))
    finally:
        server.stop()
