"""Shared helpers for the deployment suite: the repository's paths, the chart rendered with a
values file, and the tools from the suite's venv."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm/tandem"
VALUE_SETS = {
    "all-in-one": CHART / "ci/all-in-one-values.yaml",
    "split-hpa": CHART / "ci/split-hpa-values.yaml",
    "evaluation": CHART / "ci/evaluation-values.yaml",
}
BIN = Path(sys.executable).parent
KUBERNETES_VERSION = "1.33.0"

sys.path.insert(0, str(Path(__file__).parent))


def tool(name: str) -> str:
    if name == "checkov":  # a venv of its own (tests/deploy/requirements-checkov.txt)
        path = Path(os.environ.get("CHECKOV", Path.home() / ".cache/tandem-deploy-checkov-venv/bin/checkov"))
        assert path.exists(), f"checkov is not at {path}; make deploy-check installs it"
        return str(path)
    path = BIN / name
    assert path.exists(), f"{name} is not in the suite's venv ({BIN}); make deploy-check installs it"
    return str(path)


def values(name: str) -> dict:
    return yaml.safe_load(VALUE_SETS[name].read_text())


def render(vals: dict, release: str = "tandem", namespace: str = "tandem") -> list[dict]:
    """`helm template`: the values checked against values.schema.json, then every template
    rendered; returns the Kubernetes objects."""
    import helm_python as helm

    with helm.Chart.load(str(CHART)) as chart:
        chart.validate_schema(vals)
        manifests = chart.render(vals, name=release, namespace=namespace, is_install=True)
    docs = []
    for path, text in sorted(manifests.items()):
        if path.endswith("NOTES.txt"):
            continue
        docs.extend(d for d in yaml.safe_load_all(text) if d)
    return docs


def find(docs: list[dict], kind: str, name: str | None = None) -> list[dict]:
    return [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]


@pytest.fixture(scope="session")
def target_dir() -> Path:
    return Path(os.environ.get("CARGO_TARGET_DIR", Path.home() / ".cache/tandem-target"))
