"""The production files parse, check the health of everything they run, and hold no secret.

Docker Compose (`ops/deploy/docker-compose.yml`), the Kubernetes manifests
(`ops/deploy/k8s/`) and Kong's `kong.yml`: a secret may appear only as a
reference (`${VAR}` for Compose, a Secret reference on Kubernetes, a vault
reference for Kong), never as a value.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from ops.routes import SERVICES
from infra.settings import PROJECT_ROOT
from streams.app import ROLES

DEPLOY = PROJECT_ROOT / "ops" / "deploy"
K8S = DEPLOY / "k8s"
# One worker deployment per role.
WORKERS = {f"worker-{role}" for role in ROLES}

SECRET_NAME = re.compile(r"password|passwd|secret|token|private|credential|(^|[_.-])keys?$",
                         re.IGNORECASE)
# Values that only point at a secret kept elsewhere.
REFERENCE = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*(:?[-?][^}]*)?\}$|^\{vault://[^}]+\}$")
URL_PASSWORD = re.compile(r"://[^/\s:@]*:([^@\s]+)@")
# Names that look like secrets but hold none.
NOT_SECRETS = {"key_claim_name", "secretRef", "secretKeyRef", "KONG_NGINX_MAIN_ENV"}


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())


def manifests() -> list[dict]:
    """The Kubernetes objects that `kubectl apply -k ops/deploy/k8s` applies."""
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert sorted(kustomization["resources"]) == sorted(
        p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")
    return [doc for name in kustomization["resources"]
            for doc in yaml.safe_load_all((K8S / name).read_text()) if doc]


def settings_pairs(node, name: str = "") -> Iterator[tuple[str, str]]:
    """Every (name, string value) in a YAML tree; Kubernetes' {name, value} pairs count."""
    if isinstance(node, dict):
        if isinstance(node.get("name"), str) and isinstance(node.get("value"), str):
            yield node["name"], node["value"]
        for key, value in node.items():
            if key not in NOT_SECRETS:
                yield from settings_pairs(value, str(key))
    elif isinstance(node, list):
        for item in node:
            yield from settings_pairs(item, name)
    elif isinstance(node, str):
        yield name, node


def secret_literals(tree) -> list[str]:
    found = []
    for name, value in settings_pairs(tree):
        if SECRET_NAME.search(name) and name not in NOT_SECRETS and value \
                and not REFERENCE.match(value) and not name.endswith("_FILE"):
            found.append(f"{name}: {value[:40]}")
        for password in URL_PASSWORD.findall(value):
            if not REFERENCE.match(password):
                found.append(f"{name}: a password in the URL {value[:40]}")
        if "PRIVATE KEY-----" in value:
            found.append(f"{name}: a private key")
    return found


# The checker itself


def test_the_secret_check_catches_literals_and_lets_references_through() -> None:
    assert secret_literals({"environment": {
        "SHOPSTREAM_MYSQL_PASSWORD": "hunter2", "SHOPSTREAM_MASTER_KEY": "c2VjcmV0",
        "SHOPSTREAM_REDIS_URL": "redis://:hunter2@redis:6379/0"}}) == [
        "SHOPSTREAM_MYSQL_PASSWORD: hunter2", "SHOPSTREAM_MASTER_KEY: c2VjcmV0",
        "SHOPSTREAM_REDIS_URL: a password in the URL redis://:hunter2@redis:6379/0"]
    assert secret_literals({"env": [{"name": "API_TOKEN", "value": "abc"}]}) == ["API_TOKEN: abc"]
    assert secret_literals({"environment": {
        "SHOPSTREAM_MYSQL_PASSWORD": "${MYSQL_PASSWORD:?set it}",
        "SHOPSTREAM_REDIS_URL": "redis://:${REDIS_PASSWORD}@redis:6379/0",
        "password": "{vault://env/redis-password}"}}) == []


# Docker Compose


def test_compose_uses_the_official_images() -> None:
    images = {name: service.get("image", "") for name, service in compose()["services"].items()}
    assert images["kafka"].startswith("apache/kafka:3.9.")
    assert images["mysql"].startswith("mysql:8")
    assert images["mongo"].startswith("mongo:7")
    assert images["redis"].startswith("redis:7")
    assert images["elasticsearch"].startswith("docker.elastic.co/elasticsearch/elasticsearch:8.14.")
    assert images["kong"].startswith("kong:3.")
    kafka = compose()["services"]["kafka"]["environment"]
    assert kafka["KAFKA_PROCESS_ROLES"] == "broker,controller"  # KRaft, no ZooKeeper


def test_every_compose_service_has_a_health_check() -> None:
    services = compose()["services"]
    assert {"api", "kong", *WORKERS} <= set(services)
    missing = [name for name, service in services.items()
               if not service.get("healthcheck", {}).get("test")]
    assert missing == []


def test_compose_holds_no_secret() -> None:
    assert secret_literals(compose()) == []


def test_compose_serves_every_upstream_of_the_route_table() -> None:
    services = compose()["services"]
    api = services["api"]
    names = {"api", *api["networks"]["default"]["aliases"], "web"}
    assert services["web"]["command"] == ["shopstream", "web"]
    assert {s.upstream for s in SERVICES.values()} <= names
    assert api["deploy"]["replicas"] >= 2


# Kubernetes


def test_the_manifests_parse_and_every_container_has_probes() -> None:
    deployments = [m for m in manifests() if m["kind"] == "Deployment"]
    assert {d["metadata"]["name"] for d in deployments} >= {"api", "kong", *WORKERS}
    for deployment in deployments:
        spec = deployment["spec"]
        assert spec["replicas"] >= 1
        assert spec["selector"]["matchLabels"].items() <= \
            spec["template"]["metadata"]["labels"].items()
        for container in spec["template"]["spec"]["containers"]:
            where = f"{deployment['metadata']['name']}/{container['name']}"
            assert container.get("readinessProbe"), f"{where} has no readiness probe"
            assert container.get("livenessProbe"), f"{where} has no liveness probe"


def test_the_shop_takes_its_config_from_the_environment() -> None:
    kinds = {(m["kind"], m["metadata"]["name"]) for m in manifests()}
    for deployment in (m for m in manifests() if m["kind"] == "Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        for container in pod["containers"] + pod.get("initContainers", []):
            if container["image"] != "shopstream":
                continue
            for source in container.get("envFrom", []):
                if "configMapRef" in source:
                    assert ("ConfigMap", source["configMapRef"]["name"]) in kinds
            refs = [s for s in container.get("envFrom", []) if "secretRef" in s] + \
                   [e for e in container.get("env", []) if "secretKeyRef" in e.get("valueFrom", {})]
            assert refs, f"{deployment['metadata']['name']} gets no secret from a Secret"


def test_the_manifests_hold_no_secret() -> None:
    assert [m["metadata"]["name"] for m in manifests() if m["kind"] == "Secret"] == []
    assert secret_literals(manifests()) == []


def test_kubernetes_serves_every_upstream_of_the_route_table() -> None:
    services = {m["metadata"]["name"]: m for m in manifests() if m["kind"] == "Service"}
    deployments = {m["metadata"]["name"]: m for m in manifests() if m["kind"] == "Deployment"}
    for service in SERVICES.values():
        assert service.upstream in services, service.upstream
        selector = services[service.upstream]["spec"]["selector"]
        serving = [d for d in deployments.values()
                   if selector.items() <= d["spec"]["template"]["metadata"]["labels"].items()]
        assert serving, f"no Deployment behind {service.upstream}"
        for deployment in serving:
            (container,) = deployment["spec"]["template"]["spec"]["containers"]
            chosen = {e["name"]: e.get("value") for e in container.get("env", [])}
            services_env = chosen.get("SHOPSTREAM_API_SERVICES")
            # Either every service, or this one.
            assert services_env is None or yaml.safe_load(services_env) == [service.name]


# Kong


def test_the_kong_yml_holds_no_secret() -> None:
    config = yaml.safe_load((DEPLOY / "kong.yml").read_text())
    assert secret_literals(config) == []
    assert all("jwt_secrets" not in consumer for consumer in config["consumers"])


@pytest.mark.parametrize("path", [DEPLOY / "docker-compose.yml", DEPLOY / "kong.yml",
                                  *sorted(K8S.glob("*.yaml"))], ids=lambda p: p.name)
def test_no_private_key_or_example_secret_is_committed(path: Path) -> None:
    text = path.read_text()
    assert "PRIVATE KEY" not in text
    assert not re.search(r"(?i)(password|secret)\s*[:=]\s*['\"]?(changeme|admin|password|secret)\b",
                         text)
