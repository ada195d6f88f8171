"""deploy/: the Kubernetes manifests validate against the Kubernetes schema (strictly: no unknown
fields), the kustomizations name files and objects that exist, the probes and commands name what the
processes serve, and hadolint passes the Dockerfile. The tools run from .venv-tools (setup)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from bot.cli import build_parser
from bot.config import REPO_ROOT

DEPLOY = REPO_ROOT / "deploy"
BASE = DEPLOY / "kubernetes" / "base"
PRODUCTION = DEPLOY / "kubernetes" / "overlays" / "production"
TOOLS = REPO_ROOT / ".venv-tools" / "bin"


def tool(name: str) -> str:
    path = TOOLS / name
    if not path.exists():
        pytest.fail(f"{path} is missing: run `make setup` (scripts/setup.sh builds .venv-tools)")
    return str(path)


def documents(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def kustomization(directory: Path) -> dict:
    return yaml.safe_load((directory / "kustomization.yaml").read_text())


def base_objects() -> list[dict]:
    return [d for name in kustomization(BASE)["resources"] for d in documents(BASE / name)]


def validate(paths: list[Path]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [tool("kubernetes-validate"), "--strict", "--quiet", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_every_manifest_validates_strictly_against_the_kubernetes_schema() -> None:
    result = validate([BASE / name for name in kustomization(BASE)["resources"]])
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_validator_rejects_a_misspelt_field(tmp_path: Path) -> None:
    broken = (BASE / "dialogue.yaml").read_text().replace("readinessProbe:", "readynessProbe:")
    (tmp_path / "dialogue.yaml").write_text(broken)
    assert validate([tmp_path / "dialogue.yaml"]).returncode != 0


def test_the_base_has_what_production_needs() -> None:
    kinds = {(d["kind"], d["metadata"]["name"]) for d in base_objects()}
    for process in ("dialogue", "actions", "backoffice"):
        assert ("Deployment", process) in kinds
        assert ("Service", process) in kinds
        assert ("PodDisruptionBudget", process) in kinds
    assert ("HorizontalPodAutoscaler", "dialogue") in kinds
    assert ("Job", "debtbot-migrate") in kinds
    assert ("Ingress", "debtbot") in kinds


def test_deployments_probe_run_unprivileged_and_take_secrets_by_reference() -> None:
    for deployment in (d for d in base_objects() if d["kind"] == "Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        (container,) = pod["containers"]
        command = build_parser().parse_args(container["args"])  # the image's entry point is `debtbot`
        assert (command.command, command.service) == ("serve", deployment["metadata"]["name"])
        assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
        assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
        assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert {"secretRef": {"name": "debtbot-secrets"}} in container["envFrom"]
        assert "env" not in container, "configuration comes from the ConfigMap and the Secret only"


def test_the_ingress_routes_socket_io_and_webhooks_to_the_dialogue_server() -> None:
    (ingress,) = [d for d in base_objects() if d["kind"] == "Ingress"]
    routes = {p["path"]: p["backend"]["service"]["name"] for p in ingress["spec"]["rules"][0]["http"]["paths"]}
    assert routes == {"/socket.io": "dialogue", "/webhooks": "dialogue", "/": "backoffice"}


def test_the_overlay_patches_objects_that_exist_in_the_base() -> None:
    overlay = kustomization(PRODUCTION)
    assert overlay["resources"] == ["../../base"]
    names = {(d["kind"], d["metadata"]["name"]) for d in base_objects()}
    for patch in overlay["patches"]:
        assert (patch["target"]["kind"], patch["target"]["name"]) in names
    for replicas in overlay["replicas"]:
        assert ("Deployment", replicas["name"]) in names
    base_images = {i["newName"] for i in kustomization(BASE)["images"]}
    assert {i["name"] for i in overlay["images"]} <= base_images


def test_the_dockerfile_passes_hadolint_and_runs_as_an_unprivileged_user() -> None:
    dockerfile = DEPLOY / "Dockerfile"
    result = subprocess.run([tool("hadolint"), str(dockerfile)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    text = dockerfile.read_text()
    assert "USER 10001:10001" in text
    assert "ENV RASA_TELEMETRY_ENABLED" not in text or "RASA_TELEMETRY_ENABLED=false" in text


def test_no_secret_is_written_into_the_deployment_files() -> None:
    secret_names = (
        "CASE_API_KEY",
        "RASA_API_TOKEN",
        "ACTION_SERVER_TOKEN",
        "TWILIO_AUTH_TOKEN",
        "CONSOLE_SESSION_SECRET",
    )
    for path in [*DEPLOY.rglob("*.yaml"), DEPLOY / "Dockerfile"]:
        for line in path.read_text().splitlines():
            for name in secret_names:
                if f"{name}=" in line or f"{name}:" in line:
                    # compose passes them through from the operator's .env; never a literal value
                    assert "${" in line, f"{path.name}: {line.strip()}"
