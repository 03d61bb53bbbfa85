"""API fuzzing: schemathesis (`st run`) against `/api/1/openapi.json` of a server of its own,
authenticated: once with an administrator's JWT for the operations that take one (and the public
ones), once as a device (license key, device id and device token) for the operations the
document marks for devices.

Every finding is a failure: a 5xx, a response that does not conform to the document (schema,
status, content type, headers), a request the document calls invalid that is accepted, a request
without credentials that is not refused. Which checks run is in `schemathesis.toml`, with the
reasons for the few left out. One worker and a fixed seed make a run repeatable.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from harness import Server, Tenant
from tally import Row, Tally

MAX_EXAMPLES = 50
SEED = 20261129
CONFIG = Path(__file__).with_name("schemathesis.toml")
SERVER_ERRORS = {"ST101", "ST102"}  # schemathesis's codes for a 5xx


def st() -> str:
    exe = Path(sys.executable).with_name("st")
    if not exe.exists():
        raise SystemExit("security: schemathesis is not installed in this Python (pip install -r tests/security/requirements.txt)")
    return str(exe)


def operation_ids(doc: dict, pick) -> list[str]:
    """The operations whose list of security alternatives satisfies `pick`."""
    out = []
    for item in doc["paths"].values():
        for method, op in item.items():
            if method in ("get", "post", "put", "delete", "patch") and pick(op.get("security", doc.get("security", []))):
                out.append(op["operationId"])
    return out


def config(work: Path, ids: dict[str, str]) -> Path:
    """`schemathesis.toml` plus the ids of this server's own session, device and user: half of the
    path ids drawn are real ones, so that answers of 200 are checked against the document too."""
    extra = ["", "# Added by fuzz.py for this run.", "[dictionaries]"]
    extra += [f'{name} = {{ values = ["{value}"] }}' for name, value in ids.items()]
    for name, ops in (("session", ["getSession", "updateSession", "getSessionTokens", "getSessionHistory"]),
                      ("device", ["getDevice", "registerDevice", "refreshDeviceRegistration", "notifyDevice"]),
                      ("user", ["getUser"])):
        extra += ["", "[[operations]]", f"include-operation-id = {json.dumps(ops)}",
                  f'parameters = {{ "path.id" = {{ dictionary = "{name}", probability = 0.5 }} }}']
    # Genesys: a session's history by its id, a live session by its 9-digit token.
    for name, ops, param in (("session", ["getGenesysSessionHistory"], "sessionHistoryId"),
                             ("token", ["getGenesysSession", "joinGenesysSessionAsController"], "id")):
        extra += ["", "[[operations]]", f"include-operation-id = {json.dumps(ops)}",
                  f'parameters = {{ "path.{param}" = {{ dictionary = "{name}", probability = 0.5 }} }}']
    path = work / "schemathesis.toml"
    path.write_text(CONFIG.read_text() + "\n".join(extra) + "\n")
    return path


def schemathesis(server: Server, label: str, ops: list[str], headers: dict[str, str], work: Path,
                 config_file: Path) -> tuple[int, str, Path]:
    report = work / f"schemathesis-{label}.json"
    cmd = [st(), "--config-file", str(config_file), "run", f"{server.base}/api/1/openapi.json", "--url", server.base,
           "--max-examples", str(MAX_EXAMPLES), "--seed", str(SEED), "--workers", "1",
           "--request-timeout", "10", "--no-color", "--output-truncate", "true",
           "--report", "json", "--report-json-path", str(report)]
    for op in ops:
        cmd += ["--include-operation-id", op]
    for k, v in headers.items():
        cmd += ["-H", f"{k}: {v}"]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=work, timeout=240)
    log = out.stdout + out.stderr
    (work / f"schemathesis-{label}.log").write_text(log)
    return out.returncode, log, report


def summarise(row: Row, label: str, code: int, log: str, report: Path, work: Path) -> None:
    """Test cases, failures and 5xx from the run's JSON report."""
    if not report.exists():
        tail = "\n".join(log.strip().splitlines()[-30:])
        row.fail(f"{label}: schemathesis wrote no report (exit {code}):\n{tail}")
        return
    data = json.loads(report.read_text())
    row.tries += int(data["test_cases"]["generated"])
    for f in data["failures"]:
        kind = "5xx" if f["code"] in SERVER_ERRORS else "failed"
        row.note(kind, f"{label}: {f['code']} {f['title']} x{f['count']} in {', '.join(f['operations'])}", f["count"])
    for e in data["errors"]:
        row.fail(f"{label}: schemathesis error: {e['title']} x{e['count']}")
    if code != 0 and not data["failures"] and not data["errors"]:
        row.fail(f"{label}: schemathesis exited {code}")
    if data["failures"] or data["errors"]:
        row.notes.append(f"  (details: {work / f'schemathesis-{label}.log'})")


def run(tally: Tally, work: Path) -> None:
    row = tally.row("API fuzzing (schemathesis)")
    server = Server(f"sqlite://{work}/fuzz.db", work, name="fuzz")
    try:
        tenant = Tenant(server, "fuzz", workdir=work)
        doc = server.request("GET", "/api/1/openapi.json").json()
        admin = tenant.admin("fuzz-admin@example.com")
        device = tenant.device("fuzz-device")
        # A session of the device's own, which the administrator may read too.
        session = device.call(server, "POST", "/api/1/sessions", {"custom_data": {"t": "fuzz"}}).json()
        user = server.request("GET", "/api/1/users/me", token=admin).json()
        conf = config(work, {"session": session["id"], "device": device.id, "user": user["id"],
                             "token": session["access_token"]})
        agent_ops = operation_ids(doc, lambda sec: sec == [] or any("agentJwt" in req for req in sec))
        device_ops = operation_ids(doc, lambda sec: any("deviceLicense" in req for req in sec))
        summarise(row, "agent", *schemathesis(server, "agent", agent_ops, {"Authorization": f"Bearer {admin}"}, work, conf), work)
        summarise(row, "device", *schemathesis(server, "device", device_ops, {
            "X-CobrowseLicense": device.license, "X-CobrowseDevice": device.id,
            "Authorization": f"Bearer {device.token}"}, work, conf), work)
    finally:
        server.stop()
