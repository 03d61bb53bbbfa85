"""The chart's configuration is real: the binary started with exactly the environment of the
rendered Deployment (plus the service-link variables Kubernetes adds to every pod) comes up
ready on PostgreSQL and Redis, and `tandem check` accepts it. And the release binary, copied
alone into an empty folder, serves the web SDK, the viewer and the dashboard it carries."""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from conftest import find, render, values
from server import Server, base_env, debug_binary, free_port, get

POSTGRES_ADMIN = os.environ.get("TANDEM_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_URL = "redis://127.0.0.1:6379"

# What the kubelet puts in every container of a namespace with a Service named `tandem` (unless
# enableServiceLinks is false, which the chart sets; the binary must survive them anyway).
SERVICE_LINKS = {
    "TANDEM_PORT": "tcp://10.0.0.1:80",
    "TANDEM_PORT_80_TCP": "tcp://10.0.0.1:80",
    "TANDEM_PORT_80_TCP_PROTO": "tcp",
    "TANDEM_PORT_80_TCP_PORT": "80",
    "TANDEM_PORT_80_TCP_ADDR": "10.0.0.1",
    "TANDEM_SERVICE_HOST": "10.0.0.1",
    "TANDEM_SERVICE_PORT": "80",
    "TANDEM_SERVICE_PORT_HTTP": "80",
}


def psql(sql: str) -> None:
    subprocess.run(["psql", POSTGRES_ADMIN, "-v", "ON_ERROR_STOP=1", "-qc", sql], check=True,
                   capture_output=True)


@pytest.fixture
def database():
    name = f"tandem_deploy_{uuid.uuid4().hex[:12]}"
    psql(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pod_environment(docs: list[dict]) -> dict:
    """The container's environment as the kubelet would build it: plain values as they are,
    secretKeyRef resolved from the rendered Secrets."""
    secrets = {}
    for s in find(docs, "Secret"):
        data = {k: base64.b64decode(v).decode() for k, v in (s.get("data") or {}).items()}
        secrets[s["metadata"]["name"]] = {**data, **(s.get("stringData") or {})}
    (dep,) = find(docs, "Deployment")
    env = {}
    for e in dep["spec"]["template"]["spec"]["containers"][0]["env"]:
        if "value" in e:
            env[e["name"]] = e["value"]
        else:
            ref = e["valueFrom"]["secretKeyRef"]
            env[e["name"]] = secrets[ref["name"]][ref["key"]]
    return env


def test_the_rendered_all_in_one_configuration_runs(database, tmp_path):
    vals = values("all-in-one")
    vals["secrets"]["databaseUrl"]["value"] = database
    vals["secrets"]["redisUrl"]["value"] = REDIS_URL
    vals["secrets"]["smtpUrl"]["value"] = ""
    env = pod_environment(render(vals))
    assert env["TANDEM_DATABASE_URL"] == database and env["TANDEM_REDIS_URL"] == REDIS_URL
    # The one change: the pod listens on 0.0.0.0:8080 in its own network namespace; here the
    # port must be free on a shared machine.
    port = free_port()
    env["TANDEM_LISTEN"] = f"127.0.0.1:{port}"
    env |= SERVICE_LINKS
    with Server(env=env, cwd=tmp_path, port=port) as server:
        status, body = server.readiness()
        assert (status, body) == (200, {"status": "ready", "database": "ok", "redis": "ok"}), server.output()
        check = subprocess.run([str(debug_binary()), "check"], env={**base_env(), **env}, cwd=tmp_path,
                               capture_output=True, text=True, timeout=60)
        assert check.returncode == 0, check.stdout + check.stderr
        assert server.stop() == 0, server.output()


def release_binary() -> Path:
    target = Path(os.environ.get("CARGO_TARGET_DIR", Path.home() / ".cache/tandem-target"))
    path = target / "release/tandem"
    assert path.exists(), f"no {path}: make deploy-check builds it (cargo build --release)"
    return path


def test_the_release_binary_alone_serves_the_sdk_and_the_viewer(tmp_path):
    alone = tmp_path / "empty"
    alone.mkdir()
    binary = alone / "tandem"
    shutil.copy2(release_binary(), binary)
    with Server(env={}, cwd=alone, binary=binary) as server:
        status, body, headers = get(server.url + "/sdk-js/tandem.js")
        assert status == 200 and b"Tandem" in body and "javascript" in headers["content-type"]
        for asset in ("viewer.js", "viewer.css", "genesys.js"):
            assert get(server.url + f"/sdk-js/{asset}")[0] == 200, asset
        status, page, _ = get(server.url + "/code")
        assert status == 200 and b"/sdk-js/viewer.js" in page, page[:500]
        status, page, _ = get(server.url + "/dashboard/")
        assert status == 200 and b"<script" in page, "the dashboard is not in the binary"
        assets = re.findall(rb'(?:src|href)="(/dashboard/assets/[^"]+)"', page)
        assert assets and all(get(server.url + a.decode())[0] == 200 for a in assets), assets
        assert server.stop() == 0
    # The default SQLite database is made beside it, in the folder it was started from.
    assert sorted(p.name for p in alone.iterdir()) >= ["data", "tandem"]


def test_the_rendered_split_roles_serve_what_the_ingress_routes_to_them(database, tmp_path):
    vals = values("split-hpa")
    vals["secrets"]["databaseUrl"] = {"value": database, "existingSecret": "", "key": "database-url"}
    vals["secrets"]["redisUrl"] = {"value": REDIS_URL, "existingSecret": "", "key": "redis-url"}
    docs = render(vals)
    (ingress,) = find(docs, "Ingress")
    routes = {p["path"]: p["backend"]["service"]["name"] for p in ingress["spec"]["rules"][0]["http"]["paths"]}
    component = {s["metadata"]["name"]: s["spec"]["selector"]["app.kubernetes.io/component"]
                 for s in find(docs, "Service")}
    servers = {}
    try:
        for dep in find(docs, "Deployment"):
            name = dep["metadata"]["labels"]["app.kubernetes.io/component"]
            env = pod_environment([dep, *find(docs, "Secret")])
            port = free_port()
            env["TANDEM_LISTEN"] = f"127.0.0.1:{port}"
            env |= SERVICE_LINKS
            servers[name] = Server(env=env, cwd=tmp_path, port=port).__enter__()
        for server in servers.values():
            assert server.readiness() == (200, {"status": "ready", "database": "ok", "redis": "ok"})
        sockets = servers[component[routes["/sockets/"]]]
        rest = servers[component[routes["/"]]]
        # The socket endpoint exists only where /sockets/ is routed, the REST API and the SDK only
        # where / is.
        assert get(sockets.url + "/sockets/1/ws")[0] != 404
        assert get(rest.url + "/sockets/1/ws")[0] == 404
        assert get(rest.url + "/api/1/openapi.json")[0] == 200
        assert get(sockets.url + "/api/1/openapi.json")[0] == 404
    finally:
        for server in servers.values():
            server.__exit__(None, None, None)
