"""docker-compose.yaml and Dockerfile, checked without a Docker engine: the Airflow 3 services, their commands,
mounts, env file, health checks and start order, the image's Airflow version against the pin, and every
variable the compose file reads present in .env.example. ``docker compose config`` runs too when a Docker CLI
with the compose plugin is installed (the static checks run either way)."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
import yaml

from feedback_ops.config import PROJECT_ROOT

COMPOSE = PROJECT_ROOT / "docker-compose.yaml"
AIRFLOW_SERVICES = {
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-triggerer": "triggerer",
}
PROJECT_MOUNTS = ("dags", "plugins", "include", "dbt", "great_expectations")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_airflow_3_components_and_postgres(compose):
    services = compose["services"]
    assert set(services) == {"postgres", "airflow-init", *AIRFLOW_SERVICES}
    for name, command in AIRFLOW_SERVICES.items():
        assert services[name]["command"] == command, name
    assert services["postgres"]["image"].startswith("postgres:")
    init = " ".join(services["airflow-init"]["command"])
    assert "airflow db migrate" in init and "airflow pools set warehouse" in init


def test_every_airflow_container_shares_the_image_env_file_and_mounts(compose):
    for name in ("airflow-init", *AIRFLOW_SERVICES):
        service = compose["services"][name]
        assert service["build"] == {"context": ".", "dockerfile": "Dockerfile"}
        assert service["env_file"] == ".env", name  # connections and secrets come from .env only
        environment = service["environment"]
        assert environment["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
        assert "@postgres:5432/airflow" in environment["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
        assert (
            environment["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"]
            == "http://airflow-apiserver:8080/execution/"
        )
        mounts = dict(volume.split(":", 1) for volume in service["volumes"])
        for folder in PROJECT_MOUNTS:
            assert mounts[f"./{folder}"] == f"/opt/airflow/{folder}", (name, folder)
            assert (PROJECT_ROOT / folder).is_dir()
        assert mounts["feedback-ops-local"] == "/opt/airflow/.local"
        assert environment["FEEDBACK_OPS_LOCAL_DIR"] == "/opt/airflow/.local"
    assert set(compose["volumes"]) >= {"postgres-db", "feedback-ops-local", "airflow-logs"}


def test_health_checks_and_start_order(compose):
    services = compose["services"]
    assert "pg_isready" in services["postgres"]["healthcheck"]["test"]
    assert services["airflow-init"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    for name in AIRFLOW_SERVICES:
        service = services[name]
        assert service["healthcheck"]["test"], name
        assert service["restart"] == "always"
        assert service["depends_on"] == {
            "postgres": {"condition": "service_healthy"},
            "airflow-init": {"condition": "service_completed_successfully"},
        }, name
    assert "/api/v2/version" in " ".join(services["airflow-apiserver"]["healthcheck"]["test"])
    assert services["airflow-apiserver"]["ports"] == ["8080:8080"]
    assert "8974/health" in " ".join(services["airflow-scheduler"]["healthcheck"]["test"])
    assert services["airflow-scheduler"]["environment"]["AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK"] == "True"
    assert "DagProcessorJob" in " ".join(services["airflow-dag-processor"]["healthcheck"]["test"])
    assert "TriggererJob" in " ".join(services["airflow-triggerer"]["healthcheck"]["test"])


def test_dockerfile_builds_on_the_pinned_airflow_and_installs_the_lock():
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    pinned = re.search(
        r"^apache-airflow==(\S+)$", (PROJECT_ROOT / "requirements.in").read_text(), re.M
    ).group(1)
    python = re.search(
        r'requires-python = ">=(\d+\.\d+)', (PROJECT_ROOT / "pyproject.toml").read_text()
    ).group(1)
    assert f"ARG AIRFLOW_VERSION={pinned}" in dockerfile
    assert f"ARG PYTHON_VERSION={python}" in dockerfile
    assert "FROM apache/airflow:${AIRFLOW_VERSION}-python${PYTHON_VERSION}" in dockerfile
    assert "pip install --no-cache-dir -r /opt/airflow/requirements.txt" in dockerfile
    assert f"apache-airflow=={pinned}" in (PROJECT_ROOT / "requirements.txt").read_text()


def test_env_example_declares_the_connections_and_secrets_compose_needs():
    example = (PROJECT_ROOT / ".env.example").read_text()
    declared = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", example, re.M))
    assert "AIRFLOW__API_AUTH__JWT_SECRET" in declared
    for connection in (
        "AIRFLOW_CONN_DATABRICKS_DEFAULT",
        "AIRFLOW_CONN_FEEDBACK_OPS_ADLS",
        "AIRFLOW_CONN_AZURE_OPENAI_DEFAULT",
        "AIRFLOW_CONN_AZURE_AI_SEARCH_DEFAULT",
        "AIRFLOW_CONN_FEEDBACK_OPS_SLACK",
        "AIRFLOW_CONN_FEEDBACK_OPS_TEAMS",
    ):
        assert connection in declared, connection
    for line in example.splitlines():
        if line.lstrip("# ").startswith("AIRFLOW_CONN_"):
            assert "replace-me" in line or "0000" in line, f"not a placeholder: {line}"


def _docker_compose_available() -> bool:
    if not shutil.which("docker"):
        return False
    return subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0


def test_docker_compose_config_when_docker_is_installed(tmp_path):
    """Statically checked above; the CLI's own validation is extra, only where it exists."""
    if not _docker_compose_available():
        return
    shutil.copy(COMPOSE, tmp_path / "docker-compose.yaml")
    shutil.copy(PROJECT_ROOT / ".env.example", tmp_path / ".env")
    result = subprocess.run(
        ["docker", "compose", "config", "--quiet"], capture_output=True, text=True, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
