"""docker-compose.yml and the Dockerfile, checked without a Docker engine: the Compose file
against the Compose Specification's JSON schema (vendored, so no network), then what the schema
cannot know: every service present from one image, healthchecks, scalable keys workers, quorum
queues, and only ESD_* names that some settings class reads."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from esd_contracts.topology import SERVICES
from esd_platform.db import BURST_KEPT

from tests.deploy.known import BACKEND, ROOT, SCHEMAS, entry_points, settings_env_names

COMPOSE = ROOT / "docker-compose.yml"
CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"


def check(
    document: Path, schema: Path = SCHEMAS / "compose-spec.json"
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CHECK_JSONSCHEMA), "--schemafile", str(schema), str(document)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def test_compose_file_matches_the_compose_specification() -> None:
    done = check(COMPOSE)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_validator_refuses_a_broken_compose_file(tmp_path: Path) -> None:
    """The check above would catch a mistake: an unknown key and a wrong type are refused."""
    broken = yaml.safe_load(COMPOSE.read_text())
    broken["services"]["keys"]["replica"] = 4  # not a Compose key ("deploy.replicas" is)
    broken["services"]["orders"]["healthcheck"]["retries"] = "many"
    path = tmp_path / "docker-compose.yml"
    path.write_text(yaml.safe_dump(broken))
    done = check(path)
    assert done.returncode != 0
    assert "replica" in done.stdout + done.stderr


def test_every_service_runs_from_the_one_image(compose: dict[str, Any]) -> None:
    services = compose["services"]
    scripts = entry_points()
    for name in SERVICES:
        assert name in services, f"{name} missing from docker-compose.yml"
        command = services[name]["command"]
        assert scripts.get(command[0]) == name, f"{name} runs {command}, not its entry point"
    assert "vendor-stub" in services
    assert services["vendor-stub"]["command"][:3] == ["python", "-m", "deploy.vendor_stub"]
    ours = [s for s in services.values() if "build" in s or s.get("image", "").startswith("esd")]
    assert {s["image"] for s in ours} == {"esd:latest"}
    assert {s["build"]["context"] for s in ours} == {"."}


def test_every_process_has_a_healthcheck_on_its_probe(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in (*BACKEND, "postgres", "rabbitmq", "vendor-stub", "gateway"):
        test = services[name].get("healthcheck", {}).get("test")
        assert test, f"{name} has no healthcheck"
    for name in BACKEND:
        probe = " ".join(services[name]["healthcheck"]["test"])
        assert "9100/ready" in probe, f"{name} is not probed on its /ready"
        assert services[name]["environment"]["ESD_METRICS_PORT"] == "9100"
        assert services[name]["depends_on"]["rabbitmq"]["condition"] == "service_healthy"
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "8080/ready" in " ".join(services["gateway"]["healthcheck"]["test"])


def test_keys_can_be_scaled(compose: dict[str, Any]) -> None:
    """`docker compose up --scale keys=4`: no fixed name, no host port, no own volume."""
    keys = compose["services"]["keys"]
    for blocker in ("container_name", "ports", "volumes", "hostname"):
        assert blocker not in keys, f"keys has {blocker}: a second replica could not start"
    # enough connections for scaled workers: a service keeps up to ESD_DB_POOL_SIZE, the gateway
    # BURST_KEPT times that and as many again in a burst
    command = " ".join(compose["services"]["postgres"]["command"])
    max_connections = int(re.search(r"max_connections=(\d+)", command).group(1))  # type: ignore[union-attr]
    pool = int(keys["environment"]["ESD_DB_POOL_SIZE"])
    services = len(BACKEND) + 3  # every back-end service and three more keys workers
    assert max_connections >= (services + BURST_KEPT + 1) * pool


def test_rabbitmq_defaults_to_quorum_queues(compose: dict[str, Any]) -> None:
    rabbit = compose["services"]["rabbitmq"]
    mounts = {v.split(":")[0]: v.split(":")[1] for v in rabbit["volumes"] if v.startswith("./")}
    conf = mounts["./deploy/rabbitmq/rabbitmq.conf"]
    assert conf.startswith("/etc/rabbitmq/conf.d/")
    text = (ROOT / "deploy/rabbitmq/rabbitmq.conf").read_text()
    assert re.search(r"^default_queue_type\s*=\s*quorum$", text, re.MULTILINE)
    plugins = (ROOT / "deploy/rabbitmq/enabled_plugins").read_text()
    assert "rabbitmq_prometheus" in plugins
    assert "rabbitmq_management" in plugins


def test_only_esd_settings_that_exist(compose: dict[str, Any]) -> None:
    known = settings_env_names()
    for name, service in compose["services"].items():
        for variable in service.get("environment", {}) or {}:
            if variable.startswith("ESD_"):
                assert variable in known, f"{name}: {variable} is read by no settings class"


def test_dockerfile_installs_the_locked_workspace() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "uv sync --frozen --no-dev" in dockerfile
    for member in ("libs", "services", "cli", "deploy/vendor_stub"):
        assert re.search(rf"^COPY {re.escape(member)} ", dockerfile, re.MULTILINE), member
    assert re.search(r"^USER esd$", dockerfile, re.MULTILINE)
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".venv" in ignored
    assert ".git" in ignored


def test_prometheus_scrapes_every_service(compose: dict[str, Any]) -> None:
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    names: set[str] = set()
    for job in config["scrape_configs"]:
        for sd in job.get("dns_sd_configs", []):
            names.update(sd["names"])
            assert sd["port"] == 9100
    assert names == set(SERVICES)
