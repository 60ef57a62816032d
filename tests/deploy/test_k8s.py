"""deploy/k8s, checked without a cluster: every document against the Kubernetes schemas
(kubernetes-validate, strict: unknown fields refused) and KEDA's objects against KEDA's schema
(vendored in deploy/schemas), then what no schema knows: every service deployed with probes and
requests, a PodDisruptionBudget each, and the ScaledObject on the keys queue of the topology."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from esd_contracts.keys.commands import IssueKeys
from esd_contracts.topology import SERVICES, route

from tests.deploy.known import BACKEND, ROOT, SCHEMAS, entry_points, settings_env_names

K8S = ROOT / "deploy" / "k8s"
KUBERNETES_VERSIONS = ("1.29.0", "1.37.0")  # the oldest we support and the newest schemas
KEDA = {
    "ScaledObject": SCHEMAS / "keda-scaledobject.json",
    "TriggerAuthentication": SCHEMAS / "keda-triggerauthentication.json",
}


def documents() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                found.append((path.name, doc))
    return found


def by_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for _, d in documents() if d["kind"] == kind}


def keda_validate(doc: dict[str, Any]) -> None:
    schema = json.loads(KEDA[doc["kind"]].read_text())
    jsonschema.Draft202012Validator(schema).validate(doc)


DOCS = documents()


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize(
    ("file", "doc"), DOCS, ids=[f"{f}:{d['kind']}/{d['metadata']['name']}" for f, d in DOCS]
)
def test_document_matches_its_schema(file: str, doc: dict[str, Any], version: str) -> None:
    if doc["apiVersion"].startswith("keda.sh/"):
        keda_validate(doc)
    else:
        kubernetes_validate.validate(doc, version, strict=True)


def test_the_validators_refuse_mistakes() -> None:
    deployment = json.loads(json.dumps(by_kind("Deployment")["orders"]))
    deployment["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}  # typo
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[-1], strict=True)
    scaled = json.loads(json.dumps(by_kind("ScaledObject")["keys"]))
    scaled["spec"]["maxReplicas"] = 16  # KEDA calls it maxReplicaCount
    with pytest.raises(jsonschema.ValidationError):
        keda_validate(scaled)
    del scaled["spec"]["maxReplicas"]
    del scaled["spec"]["scaleTargetRef"]
    with pytest.raises(jsonschema.ValidationError):
        keda_validate(scaled)


def test_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    files = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files


def test_every_service_is_deployed_with_probes_and_requests() -> None:
    deployments = by_kind("Deployment")
    services = by_kind("Service")
    scripts = entry_points()
    for name in SERVICES:
        assert name in deployments, f"no Deployment of {name}"
        assert name in services, f"no Service of {name}"
        spec = deployments[name]["spec"]["template"]["spec"]
        (container,) = spec["containers"]
        assert scripts[container["command"][0]] == name
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            assert probe in container, f"{name} has no {probe}"
        assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
        assert container["livenessProbe"]["httpGet"]["path"] == "/health"
        requests = container["resources"]["requests"]
        assert requests["cpu"]
        assert requests["memory"]
        assert container["resources"]["limits"]["memory"]
        # longer than the graceful stop (ESD_GRACEFUL_TIMEOUT 20 s) so in-flight work finishes
        assert spec["terminationGracePeriodSeconds"] > 20
        refs = {next(iter(ref.values()))["name"] for ref in container["envFrom"]}
        assert refs == {"esd-config", "esd-secrets"}
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert ports["metrics"] == 9100
    for name in (*BACKEND, "gateway"):
        container = deployments[name]["spec"]["template"]["spec"]["containers"][0]
        # the process's own readiness (database and broker): one service down must not take
        # the others (or the gateway) out of service
        assert container["readinessProbe"]["httpGet"]["port"] == "metrics"


def test_every_deployment_has_a_disruption_budget() -> None:
    budgets = by_kind("PodDisruptionBudget")
    for name, deployment in by_kind("Deployment").items():
        assert name in budgets, f"no PodDisruptionBudget of {name}"
        assert (
            budgets[name]["spec"]["selector"]["matchLabels"]
            == deployment["spec"]["selector"]["matchLabels"]
        )
    # the services that must stay up through a drain run at least two pods
    for name in ("gateway", "orders", "credit"):
        assert by_kind("Deployment")[name]["spec"]["replicas"] >= 2


def test_keys_scale_on_their_queue_depth() -> None:
    scaled = by_kind("ScaledObject")["keys"]
    assert scaled["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "keys",
    }
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["type"] == "rabbitmq"
    assert trigger["metadata"]["queueName"] == route("keys", IssueKeys).queue
    assert trigger["metadata"]["mode"] == "QueueLength"
    assert int(trigger["metadata"]["value"]) > 0
    assert 1 <= scaled["spec"]["minReplicaCount"] < scaled["spec"]["maxReplicaCount"]
    # KEDA owns the replica count: a fixed one in the Deployment would fight the HPA
    assert "replicas" not in by_kind("Deployment")["keys"]["spec"]
    auth = by_kind("TriggerAuthentication")[trigger["authenticationRef"]["name"]]
    (secret_ref,) = auth["spec"]["secretTargetRef"]
    assert secret_ref["parameter"] == "host"
    assert secret_ref["key"] in by_kind("Secret")[secret_ref["name"]]["stringData"]


def test_config_holds_only_esd_settings_that_exist() -> None:
    known = settings_env_names()
    config = by_kind("ConfigMap")["esd-config"]["data"]
    secret = by_kind("Secret")["esd-secrets"]["stringData"]
    for name in (*config, *secret):
        assert name in known, f"{name} is read by no settings class"
    for needed in ("ESD_DATABASE_URL", "ESD_AMQP_URL", "ESD_OPS_TOKEN", "ESD_KEYS_SECRET"):
        assert needed in secret
    assert config["ESD_METRICS_PORT"] == "9100"
    assert not set(config) & set(secret)


def test_schemas_are_vendored() -> None:
    for path in KEDA.values():
        schema = json.loads(Path(path).read_text())
        jsonschema.Draft202012Validator.check_schema(schema)
