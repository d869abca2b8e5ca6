"""The Helm chart in deploy/k8s/maillage: its values and templates agree, and it renders safely.

The structural tests always run (PyYAML only). The rendering tests need a `helm` binary on
PATH and are skipped with a reason otherwise.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "k8s" / "maillage"
TEMPLATES = CHART / "templates"

TEMPLATE_FILES = {
    "_helpers.tpl",
    "NOTES.txt",
    "configmap.yaml",
    "deployment.yaml",
    "service.yaml",
    "mllp-service.yaml",
    "poddisruptionbudget.yaml",
    "persistentvolumeclaim.yaml",
    "ingress.yaml",
    "networkpolicy.yaml",
    "servicemonitor.yaml",
    "serviceaccount.yaml",
}

SERVICE_PATHS = {
    "directory": ["/fhir/Practitioner", "/fhir/PractitionerRole", "/fhir/Organization",
                  "/api/v1/enrolments", "/api/v1/directory"],
    "messaging": ["/fhir/Communication", "/api/v1/messages", "/api/v1/mailboxes"],
    "dmp_bridge": ["/fhir/Bundle", "/fhir/DocumentReference", "/api/v1/dmp"],
    "coordination": ["/fhir/Subscription", "/api/v1/adt", "/api/v1/care-teams"],
}
SERVICE_FIELDS = {"enabled", "replicas", "resources", "extraEnv", "paths"}

# The least an admin gives for a production install (all other values have defaults).
REQUIRED_SETS = {
    "config.auth.issuer": "https://issuer.example.test/realms/maillage",
    "config.auth.jwksUrl": "https://issuer.example.test/realms/maillage/certs",
    "secrets.amqpUri.name": "maillage-amqp",
    "secrets.databaseUrl.name": "maillage-db",
    "ingress.host": "api.maillage.example.test",
}
SECRET_VARIABLES = {"AMQP_URI", "DATABASE_URL"}


def _values(name: str = "values.yaml") -> dict[str, Any]:
    return yaml.safe_load((CHART / name).read_text(encoding="utf-8"))


def _template_text() -> str:
    return "\n".join(path.read_text(encoding="utf-8") for path in sorted(TEMPLATES.iterdir()))


def _lookup(values: dict[str, Any], dotted: str) -> tuple[bool, Any]:
    node: Any = values
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


# ---------------------------------------------------------------- structure (always) ----


def test_chart_yaml_is_a_v2_application_chart() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text(encoding="utf-8"))
    assert chart["apiVersion"] == "v2"
    assert chart["name"] == "maillage"
    assert chart.get("type", "application") == "application"
    assert re.fullmatch(r"\d+\.\d+\.\d+", str(chart["version"]))
    assert chart["appVersion"]


def test_every_template_file_is_present() -> None:
    present = {path.name for path in TEMPLATES.iterdir() if path.is_file()}
    assert present >= TEMPLATE_FILES, f"missing templates: {sorted(TEMPLATE_FILES - present)}"
    assert (CHART / "values.yaml").is_file()
    assert (CHART / "values-dev.yaml").is_file()
    assert (ROOT / "deploy" / "k8s" / "README.md").is_file()


def test_every_service_has_the_fields_the_templates_use() -> None:
    services = _values()["services"]
    assert set(services) == set(SERVICE_PATHS)
    used = set(re.findall(r"\$svc\.([A-Za-z_]+)", _template_text()))
    assert used | {"paths"} >= SERVICE_FIELDS, "the templates should use every documented service field"
    for name, svc in services.items():
        missing = (used | SERVICE_FIELDS) - set(svc)
        # `mllp` is coordination's only; the templates reach it with `dig`, so others may lack it.
        if name != "coordination":
            missing.discard("mllp")
        assert not missing, f"services.{name} lacks {sorted(missing)}"
        assert isinstance(svc["enabled"], bool)
        assert isinstance(svc["replicas"], int) and svc["replicas"] >= 1
        assert isinstance(svc["resources"], dict) and "requests" in svc["resources"]
        assert isinstance(svc["extraEnv"], list), f"services.{name}.extraEnv must be a list of EnvVar"
        assert svc["paths"] == SERVICE_PATHS[name]


def test_coordination_exposes_mllp_on_2575_with_a_configurable_service() -> None:
    mllp = _values()["services"]["coordination"]["mllp"]
    assert mllp["enabled"] is True
    assert mllp["port"] == 2575
    assert mllp["service"]["type"] == "ClusterIP"
    assert mllp["allowedSourceRanges"] == []


def test_every_values_reference_in_the_templates_exists_in_values_yaml() -> None:
    values = _values()
    references = set(re.findall(r"\.Values\.([A-Za-z0-9_.]+[A-Za-z0-9_])", _template_text()))
    assert references
    missing = sorted(ref for ref in references if not _lookup(values, ref)[0])
    assert not missing, f"templates read values that values.yaml does not define: {missing}"


def test_required_values_are_empty_by_default_and_enforced() -> None:
    values = _values()
    helpers = (TEMPLATES / "_helpers.tpl").read_text(encoding="utf-8")
    for dotted in REQUIRED_SETS:
        found, default = _lookup(values, dotted)
        assert found, f"{dotted} is missing from values.yaml"
        assert default in ("", None), f"{dotted} must have no default, not {default!r}"
        # `required "<name> is required…" .Values.<name>`, or a `fail` naming it (a choice of values).
        assert re.search(r"(required|fail)\b[^\n]*\b" + re.escape(dotted) + r"\b[^\n]* is required", helpers), (
            f"{dotted} is not enforced with `required` or `fail`")
    assert values["config"]["environment"] == "production"
    # Pro Santé Connect is named in a comment only, never as a default.
    text = (CHART / "values.yaml").read_text(encoding="utf-8")
    for line in text.splitlines():
        if "esante.gouv.fr" in line:
            assert line.lstrip().startswith("#"), line


def test_values_carry_secret_references_only() -> None:
    values = _values()
    secrets = values["secrets"]
    for key in ("amqpUri", "databaseUrl"):
        assert set(secrets[key]) == {"name", "key"}, f"secrets.{key} must be {{name, key}}"
    assert secrets["serviceDatabaseUrls"] == {}
    text = (CHART / "values.yaml").read_text(encoding="utf-8")
    assert not re.search(r"^\s*[^#\n]*(amqps?|postgres(ql)?(\+\w+)?)://\S+:\S+@", text, re.MULTILINE), (
        "values.yaml must not hold a URL with credentials")
    for path in (CHART / "values-dev.yaml",):
        dev = yaml.safe_load(path.read_text(encoding="utf-8"))
        for svc in dev.get("services", {}).values():
            for env in svc.get("extraEnv", []) or []:
                assert env["name"] not in SECRET_VARIABLES or "valueFrom" in env


def test_security_defaults() -> None:
    values = _values()
    pod, container = values["podSecurityContext"], values["securityContext"]
    assert pod["runAsNonRoot"] is True and pod["runAsUser"] == 10001
    assert pod["seccompProfile"]["type"] == "RuntimeDefault"
    assert container["readOnlyRootFilesystem"] is True
    assert container["allowPrivilegeEscalation"] is False
    assert container["capabilities"]["drop"] == ["ALL"]
    assert values["networkPolicy"]["enabled"] is True
    assert values["serviceAccount"]["create"] is True
    assert "automountServiceAccountToken: false" in (TEMPLATES / "serviceaccount.yaml").read_text()


def test_values_dev_only_names_known_services_and_values() -> None:
    base, dev = _values(), _values("values-dev.yaml")
    assert set(dev.get("services", {})) <= set(base["services"])

    def walk(node: dict[str, Any], reference: dict[str, Any], prefix: str) -> None:
        for key, value in node.items():
            assert key in reference, f"values-dev.yaml sets unknown value {prefix}{key}"
            if isinstance(value, dict) and isinstance(reference[key], dict) and reference[key]:
                walk(value, reference[key], f"{prefix}{key}.")

    walk(dev, base, "")


def test_dockerfile_runs_the_cli_as_uid_10001() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert 'ENTRYPOINT ["maillage"]' in dockerfile
    assert 'CMD ["up"]' in dockerfile
    assert "pip install --no-deps ." in dockerfile
    assert "requirements.lock" in dockerfile
    assert re.search(r"^EXPOSE 8080 2575$", dockerfile, re.MULTILINE)
    assert "MAILLAGE_UID=10001" in dockerfile
    assert re.search(r"^USER \$\{MAILLAGE_UID\}", dockerfile, re.MULTILINE)
    assert "MAILLAGE_VAR_DIR=/var/lib/maillage" in dockerfile


# ------------------------------------------------------------- rendering (needs helm) ----

HELM = shutil.which("helm")
needs_helm = pytest.mark.skipif(
    HELM is None,
    reason="helm is not installed on this machine (not on PATH, no Debian package): "
    "the chart is only checked structurally here",
)


def _helm_template(*extra: str, sets: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    args = [HELM or "helm", "template", "maillage", str(CHART), "--namespace", "maillage",
            "--kube-version", "1.29.0"]
    for key, value in (REQUIRED_SETS if sets is None else sets).items():
        args += ["--set", f"{key}={value}"]
    return subprocess.run([*args, *extra], capture_output=True, text=True, timeout=120, check=False)


def render(*extra: str, sets: dict[str, str] | None = None) -> list[dict[str, Any]]:
    result = _helm_template(*extra, sets=sets)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def of_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [doc for doc in docs if doc["kind"] == kind]


def check_deployments(docs: list[dict[str, Any]]) -> None:
    """Every Deployment: probes, security context, secrets by reference, its own service."""
    deployments = of_kind(docs, "Deployment")
    assert deployments
    for deployment in deployments:
        name = deployment["metadata"]["name"]
        pod = deployment["spec"]["template"]["spec"]
        assert pod["automountServiceAccountToken"] is False, name
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", name
        assert pod.get("topologySpreadConstraints"), name
        (container,) = pod["containers"]
        assert container["args"][:2] == ["up", "--only"], name
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz", name
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz", name
        assert container["startupProbe"]["httpGet"]["path"] == "/healthz", name
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] is True, name
        assert security["allowPrivilegeEscalation"] is False, name
        assert security["capabilities"]["drop"] == ["ALL"], name
        mounts = {mount["mountPath"] for mount in container["volumeMounts"]}
        assert {"/var/lib/maillage", "/tmp"} <= mounts, name
        env = {item["name"]: item for item in container.get("env", [])}
        assert "AMQP_URI" in env, name
        for variable, item in env.items():
            if variable in SECRET_VARIABLES or variable.endswith("_DATABASE_URL"):
                assert "value" not in item and "secretKeyRef" in item["valueFrom"], f"{name}: {variable}"
    labels = deployments[0]["metadata"]["labels"]
    for key in ("app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component",
                "app.kubernetes.io/managed-by", "app.kubernetes.io/version"):
        assert key in labels


def check_ingress(docs: list[dict[str, Any]]) -> None:
    """The Ingress routes each path prefix to the Service of its service."""
    (ingress,) = of_kind(docs, "Ingress")
    routes = {
        path["path"]: path["backend"]["service"]["name"]
        for rule in ingress["spec"]["rules"] for path in rule["http"]["paths"]
    }
    for service, paths in SERVICE_PATHS.items():
        for path in paths:
            assert routes.get(path) == f"maillage-{service.replace('_', '-')}", path
    assert routes["/fhir/metadata"] == "maillage-directory"
    assert routes["/healthz"] == "maillage-directory"
    services = {doc["metadata"]["name"] for doc in of_kind(docs, "Service")}
    assert set(routes.values()) <= services


def check_no_plain_secrets(docs: list[dict[str, Any]]) -> None:
    assert not of_kind(docs, "Secret"), "the chart must not create Secrets"
    (config,) = of_kind(docs, "ConfigMap")
    assert not SECRET_VARIABLES & set(config["data"])
    assert config["data"]["MAILLAGE_ENV"] == "production"
    assert config["data"]["MAILLAGE_HTTP_ADDRESS"] == "0.0.0.0:8080"


@needs_helm
def test_rendered_default_install() -> None:
    docs = render()
    check_deployments(docs)
    check_ingress(docs)
    check_no_plain_secrets(docs)
    assert len(of_kind(docs, "Deployment")) == 4
    assert len(of_kind(docs, "PodDisruptionBudget")) == 4  # every service defaults to 2 replicas
    assert len(of_kind(docs, "NetworkPolicy")) == 1
    assert not of_kind(docs, "ServiceMonitor")
    (mllp,) = [doc for doc in of_kind(docs, "Service") if doc["metadata"]["name"] == "maillage-coordination-mllp"]
    assert mllp["spec"]["type"] == "ClusterIP"
    assert mllp["spec"]["ports"][0]["port"] == 2575


@pytest.mark.parametrize("missing", sorted(REQUIRED_SETS))
@needs_helm
def test_a_missing_required_value_fails_with_its_name(missing: str) -> None:
    result = _helm_template(sets={k: v for k, v in REQUIRED_SETS.items() if k != missing})
    assert result.returncode != 0
    assert missing in result.stderr and "is required" in result.stderr


@needs_helm
def test_rendered_options() -> None:
    docs = render("--set", "services.messaging.replicas=1", "--set", "metrics.serviceMonitor.enabled=true",
                  "--set", "services.dmp_bridge.enabled=false", "--set", "persistence.enabled=true")
    names = {doc["metadata"]["name"] for doc in of_kind(docs, "PodDisruptionBudget")}
    assert names == {"maillage-directory", "maillage-coordination"}
    assert len(of_kind(docs, "ServiceMonitor")) == 1
    assert "maillage-dmp-bridge" not in {doc["metadata"]["name"] for doc in of_kind(docs, "Deployment")}
    assert len(of_kind(docs, "PersistentVolumeClaim")) == 3


@needs_helm
def test_values_dev_renders() -> None:
    docs = render("-f", str(CHART / "values-dev.yaml"), sets={})
    assert len(of_kind(docs, "Deployment")) == 4
    assert not of_kind(docs, "Secret")
