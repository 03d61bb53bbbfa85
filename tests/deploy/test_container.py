"""The Dockerfile, compose file and systemd unit, checked without a container runtime: hadolint,
the image's promises (non-root, /data, port, stop signal, labels, defaults), its build commands
being the ones `make deploy-check` runs outside a container, its health check against a real
server, and every TANDEM_* variable they set being a real setting."""

from __future__ import annotations

import re
import shutil
import subprocess

import yaml

import settings_doc
from conftest import ROOT, tool
from server import Server, free_port

DOCKERFILE = ROOT / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_hadolint_passes():
    out = subprocess.run([tool("hadolint"), "--failure-threshold", "info", str(DOCKERFILE)],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_runtime_image_keeps_its_promises():
    ins = instructions()
    runtime = ins[max(i for i, (w, a) in enumerate(ins) if w == "FROM"):]
    words = {w: a for w, a in runtime}
    assert re.fullmatch(r"debian:\S+-slim AS runtime", runtime[0][1])
    assert re.fullmatch(r"\d{4,}:\d{4,}", words["USER"]), "a numeric non-root UID and GID"
    assert words["EXPOSE"] == "8080" and words["STOPSIGNAL"] == "SIGTERM"
    assert words["VOLUME"] == '["/data"]'
    env = " ".join(a for w, a in runtime if w == "ENV")
    assert "TANDEM_LISTEN=0.0.0.0:8080" in env
    assert "TANDEM_DATABASE_URL=sqlite:///data/tandem.db" in env
    labels = " ".join(a for w, a in runtime if w == "LABEL")
    assert 'org.opencontainers.image.version="${VERSION}"' in labels
    assert "HEALTHCHECK" in words
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {"**/target", "**/node_modules", ".git"} <= set(ignored)


def build_commands() -> list[str]:
    """The RUN commands that build: npm and cargo, one by one."""
    cmds = []
    for word, arg in instructions():
        if word == "RUN":
            arg = re.sub(r"--mount=\S+", "", arg)
            cmds += [c.strip() for c in arg.split("&&") if re.match(r"\s*(npm|cargo) ", c)]
    return cmds


def test_the_build_commands_are_the_ones_make_runs_outside_a_container():
    # No container runtime here: `make deploy-check` runs these same commands (the sdk and
    # dashboard targets and a release build) and the other tests use what they built.
    makefile = re.sub(r"\\\n", " ", (ROOT / "Makefile").read_text()).replace("$(CARGO)", "cargo")
    # `npm ci` runs from a pattern rule on each folder's install stamp: spell it out per folder
    # the Makefile names a stamp of.
    rule = re.search(r"^%/node_modules/\.package-lock\.json:.*\n\t(.+)$", makefile, re.M)
    if rule:
        for folder in re.findall(r"(\S+)/node_modules/\.package-lock\.json", makefile):
            if folder != "%":
                makefile += "\n" + rule.group(1).replace("$*", folder)
    commands = build_commands()
    assert any(c.startswith("cargo build --release --locked") for c in commands)
    for cmd in commands:
        folder = re.search(r"--prefix (\S+)", cmd)
        if folder and not (ROOT / folder.group(1) / "package.json").exists():
            continue
        assert cmd.replace("  ", " ") in makefile, f"the Makefile does not run `{cmd}`"


def test_the_health_check_asks_a_real_server(tmp_path):
    (cmd,) = [a for w, a in instructions() if w == "HEALTHCHECK"]
    argv = yaml.safe_load(cmd[cmd.index("CMD") + 3:].strip())
    assert argv[:2] == ["bash", "-c"]
    with Server(env={"TANDEM_DATABASE_URL": f"sqlite://{tmp_path}/t.db"}, cwd=tmp_path) as server:
        script = argv[2].replace("/8080", f"/{server.port}")
        assert subprocess.run(["bash", "-c", script], timeout=10).returncode == 0
    closed = argv[2].replace("/8080", f"/{free_port()}")
    assert subprocess.run(["bash", "-c", closed], timeout=10, stderr=subprocess.DEVNULL).returncode != 0


def test_make_image_says_when_there_is_no_container_runtime():
    out = subprocess.run(["make", "-s", "image", "CONTAINER_RUNTIME=no-such-runtime"], cwd=ROOT,
                         capture_output=True, text=True)
    assert out.returncode != 0
    assert "no container runtime" in out.stderr, out.stderr


def tandem_vars(text: str) -> set[str]:
    return set(re.findall(r"\b(TANDEM_[A-Z0-9_]+)\b", text))


def test_every_variable_set_is_a_setting():
    known = {s.env for s in settings_doc.settings()} | {"TANDEM_CONFIG"}
    compose = yaml.safe_load((ROOT / "deploy/compose.yaml").read_text())
    set_by = {
        "compose.yaml": set(compose["services"]["tandem"]["environment"]),
        "tandem.service": tandem_vars("\n".join(
            line for line in (ROOT / "deploy/tandem.service").read_text().splitlines()
            if line.startswith("Environment="))),
        "Dockerfile": tandem_vars(" ".join(a for w, a in instructions() if w == "ENV")),
    }
    for where, names in set_by.items():
        assert names and names <= known, f"{where}: {sorted(names - known)}"
    # .env.example only feeds compose.yaml: each of its variables is used there.
    example = {line.split("=")[0] for line in (ROOT / "deploy/.env.example").read_text().splitlines()
               if line and not line.startswith("#")}
    compose_text = (ROOT / "deploy/compose.yaml").read_text()
    assert all("${" + v in compose_text for v in example), example


def test_caddy_proxies_to_tandem():
    caddyfile = (ROOT / "deploy/Caddyfile").read_text()
    assert "reverse_proxy tandem:8080" in caddyfile
    compose = yaml.safe_load((ROOT / "deploy/compose.yaml").read_text())
    assert set(compose["services"]) == {"tandem", "postgres", "redis", "caddy"}
    assert compose["services"]["tandem"]["read_only"] is True
    assert shutil.which("bash")


def test_checkov_passes_on_the_dockerfile():
    import json

    out = subprocess.run([tool("checkov"), "-f", str(DOCKERFILE), "--framework", "dockerfile",
                          "--skip-download", "--quiet", "--compact", "-o", "json"],
                         capture_output=True, text=True, timeout=300)
    report = json.loads(out.stdout)
    assert report["summary"]["failed"] == 0 and report["summary"]["passed"] > 50, report["summary"]
