"""The Helm chart: lint, render and validate three values sets against a pinned Kubernetes, refuse
bad values, alert only on metrics the binary exports, and pass checkov."""

from __future__ import annotations

import copy
import json
import re
import subprocess

import pytest
import yaml

import settings_doc
from conftest import CHART, KUBERNETES_VERSION, ROOT, VALUE_SETS, find, render, tool, values

# Custom resources kubernetes-validate has no schema for; checked by hand below.
CUSTOM_KINDS = {"ServiceMonitor", "PrometheusRule", "BackendConfig"}


@pytest.mark.parametrize("name", VALUE_SETS)
def test_lint_is_clean(name):
    import helm_python as helm

    report = helm.lint(str(CHART), values(name), strict=True, kube_version=f"v{KUBERNETES_VERSION}")
    problems = [m for m in report["messages"] if m["severity"] >= 2] + report["errors"]
    assert not problems, problems


@pytest.mark.parametrize("name", VALUE_SETS)
def test_renders_valid_kubernetes_objects(name):
    import kubernetes_validate

    docs = render(values(name))
    assert find(docs, "Deployment")
    for doc in docs:
        if doc["kind"] in CUSTOM_KINDS:
            assert doc["apiVersion"] in ("monitoring.coreos.com/v1", "cloud.google.com/v1"), doc
            continue
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def deployments(docs):
    return {d["metadata"]["name"]: d for d in find(docs, "Deployment")}


def env_of(deployment) -> dict:
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def test_all_in_one_runs_role_all_on_postgres_and_redis():
    docs = render(values("all-in-one"))
    (dep,) = deployments(docs).values()
    env = env_of(dep)
    assert env["TANDEM_ROLE"] == "all"
    assert env["TANDEM_DATABASE_URL"]["secretKeyRef"] == {"name": "tandem", "key": "database-url"}
    assert env["TANDEM_REDIS_URL"]["secretKeyRef"]["key"] == "redis-url"
    assert env["TANDEM_SUPERUSER_EMAILS"] == "[ops@example.com,cto@example.com]"
    assert env["TANDEM_INACTIVITY_TIMEOUT_SECS"] == "600"
    assert dep["spec"]["replicas"] == 2
    assert not find(docs, "HorizontalPodAutoscaler")
    assert len(find(docs, "PodDisruptionBudget")) == 1
    assert len(find(docs, "PrometheusRule")) == len(find(docs, "ServiceMonitor")) == 1


def test_split_roles_route_sockets_to_realtime_and_autoscale():
    docs = render(values("split-hpa"))
    deps = deployments(docs)
    assert {n: env_of(d)["TANDEM_ROLE"] for n, d in deps.items()} == {
        "tandem-api": "api",
        "tandem-realtime": "realtime",
    }
    assert all("replicas" not in d["spec"] for d in deps.values()), "the HPA owns replicas"
    hpas = {h["spec"]["scaleTargetRef"]["name"] for h in find(docs, "HorizontalPodAutoscaler")}
    assert hpas == set(deps)
    services = {s["metadata"]["name"]: s["spec"]["selector"]["app.kubernetes.io/component"]
                for s in find(docs, "Service")}
    assert services == {"tandem": "api", "tandem-realtime": "realtime"}
    (ingress,) = find(docs, "Ingress")
    paths = {p["path"]: p["backend"]["service"]["name"]
             for p in ingress["spec"]["rules"][0]["http"]["paths"]}
    assert paths == {"/sockets/": "tandem-realtime", "/": "tandem"}
    assert "idle_timeout.timeout_seconds=3600" in json.dumps(ingress["metadata"]["annotations"])
    for dep in deps.values():
        env = env_of(dep)
        assert env["TANDEM_DATABASE_URL"]["secretKeyRef"] == {"name": "tandem-db", "key": "url"}
        assert env["TANDEM_KEY_ENCRYPTION_KEY"]["secretKeyRef"]["name"] == "tandem-kek"
    kek = find(docs, "Secret", "tandem-kek")[0]
    assert kek["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    assert len(find(docs, "PodDisruptionBudget")) == 2


def test_evaluation_is_one_replica_on_sqlite_with_a_volume():
    docs = render(values("evaluation"))
    (dep,) = deployments(docs).values()
    env = env_of(dep)
    assert env["TANDEM_DATABASE_URL"] == "sqlite:///data/tandem.db"
    assert "TANDEM_REDIS_URL" not in env
    assert dep["spec"]["replicas"] == 1 and dep["spec"]["strategy"]["type"] == "Recreate"
    volumes = {v["name"]: v for v in dep["spec"]["template"]["spec"]["volumes"]}
    (pvc,) = find(docs, "PersistentVolumeClaim")
    assert volumes["data"]["persistentVolumeClaim"]["claimName"] == pvc["metadata"]["name"]
    assert not find(docs, "PodDisruptionBudget") and not find(docs, "HorizontalPodAutoscaler")


@pytest.mark.parametrize("name", VALUE_SETS)
def test_pods_are_locked_down_and_drain(name):
    vals = values(name)
    for dep in find(render(vals), "Deployment"):
        pod = dep["spec"]["template"]["spec"]
        (c,) = pod["containers"]
        assert pod["enableServiceLinks"] is False
        assert pod["automountServiceAccountToken"] is False
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        sc = c["securityContext"]
        assert sc["readOnlyRootFilesystem"] and not sc["allowPrivilegeEscalation"]
        assert sc["capabilities"]["drop"] == ["ALL"]
        assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
        sleep = int(c["lifecycle"]["preStop"]["exec"]["command"][1])
        drain = int(env_of(dep)["TANDEM_REQUEST_TIMEOUT_SECS"])
        assert pod["terminationGracePeriodSeconds"] >= sleep + drain
        assert {"cpu", "memory"} <= set(c["resources"]["requests"]) & set(c["resources"]["limits"])


BAD_VALUES = {
    "unknown mode": {"mode": "cluster"},
    "a typo at the top": {"replica": 3},
    "split without Redis": {"mode": "split", "secrets": {"redisUrl": {"value": "", "existingSecret": "", "key": "redis-url"}}},
    "all without a database": {"mode": "all", "secrets": {"databaseUrl": {"value": "", "existingSecret": "", "key": "database-url"}}},
    "MySQL": {"secrets": {"databaseUrl": {"value": "mysql://db/tandem", "existingSecret": "", "key": "database-url"}}},
    "redis over http": {"secrets": {"redisUrl": {"value": "http://redis", "existingSecret": "", "key": "redis-url"}}},
    "a superuser list with a comma": {"config": {"superuserEmails": ["a@x.example,b@y.example"]}},
    "an unknown Tandem setting": {"config": {"extra": {"no_such_setting": 1}}},
    "a setting the chart owns": {"config": {"extra": {"database_url": "postgres://x"}}},
    "latest tag": {"image": {"tag": "latest"}},
    "zero replicas": {"all": {"replicas": 0}},
    "public URL without a scheme": {"publicUrl": "tandem.example.com"},
    "ingress without host": {"ingress": {"enabled": True, "host": ""}},
    "unknown ingress controller": {"ingress": {"controller": "envoy"}},
    "memory without a unit we know": {"all": {"resources": {"requests": {"cpu": "1", "memory": "1 gig"}}}},
    "short grace period": {"terminationGracePeriodSeconds": 20},
    "several replicas without Redis": {"secrets": {"redisUrl": {"value": "", "existingSecret": "", "key": "redis-url"}}},
}


def merge(base, over):
    out = copy.deepcopy(base)
    for k, v in over.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


@pytest.mark.parametrize("case", BAD_VALUES)
def test_bad_values_are_refused(case):
    import helm_python as helm

    with pytest.raises(helm.HelmError):
        render(merge(values("all-in-one"), BAD_VALUES[case]))


def rust_metric_names() -> set[str]:
    names = set()
    for path in ROOT.glob("*/src/**/*.rs"):
        names |= set(re.findall(r'(?:counter|gauge|histogram)!\(\s*"(tandem_\w+)"', path.read_text()))
    return names


def test_alerts_use_metrics_the_binary_exports():
    exported = rust_metric_names()
    assert "tandem_redis_up" in exported, "the metric scan found nothing: has the source moved?"
    (rule,) = find(render(values("all-in-one")), "PrometheusRule")
    exprs = [r["expr"] for g in rule["spec"]["groups"] for r in g["rules"]]
    used = {re.sub(r"_(count|sum|bucket)$", "", m) for e in exprs for m in re.findall(r"tandem_\w+", e)}
    assert used and used <= exported, used - exported


# What the chart sets from its own values; every other setting goes through config.extra.
CHART_OWNED = {
    "listen", "database_url", "public_url", "region", "log_format", "role", "redis_url",
    "request_timeout_secs", "key_encryption_key", "smtp_url", "email_from", "superuser_emails",
    "bootstrap_admin_email",
}
# Not for a container: the SDK and viewer are built into the image.
NOT_IN_CHART = {"assets_dir"}


def test_every_tandem_setting_has_a_place_in_the_chart():
    schema = json.loads((CHART / "values.schema.json").read_text())
    extra = set(schema["properties"]["config"]["properties"]["extra"]["propertyNames"]["enum"])
    fields = {s.name for s in settings_doc.settings()}
    assert not extra & CHART_OWNED
    assert extra | CHART_OWNED | NOT_IN_CHART == fields, (
        "api/src/config/mod.rs and the chart disagree: add the setting to config.extra's enum in "
        f"values.schema.json, or to CHART_OWNED here: {sorted(fields ^ (extra | CHART_OWNED | NOT_IN_CHART))}"
    )


def test_checkov_passes_on_the_rendered_chart(tmp_path):
    for name in VALUE_SETS:
        docs = render(values(name))
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump_all(docs))
    out = subprocess.run(
        [tool("checkov"), "-d", str(tmp_path), "--framework", "kubernetes", "--skip-download",
         "--quiet", "--compact", "-o", "json"],
        capture_output=True, text=True, timeout=600,
    )
    report = json.loads(out.stdout)
    report = report if isinstance(report, list) else [report]
    failed = [(c["check_id"], c["resource"], c["file_path"]) for r in report
              for c in r.get("results", {}).get("failed_checks", [])]
    assert not failed, failed
    for r in report:
        for c in r.get("results", {}).get("skipped_checks", []):
            assert len(c.get("suppress_comment", "")) > 20, f"{c['check_id']} skipped without a reason"
    assert sum(r.get("summary", {}).get("passed", 0) for r in report) > 100, out.stdout[-2000:]
