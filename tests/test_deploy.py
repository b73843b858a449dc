"""deploy/compose.yaml: the production layout stays coherent with the gateway's settings."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from gateway.settings import Settings

COMPOSE = Path(__file__).resolve().parent.parent / "deploy" / "compose.yaml"


def test_compose_describes_the_production_layout() -> None:
    text = COMPOSE.read_text()
    services = yaml.safe_load(text)["services"]
    assert {"postgres", "redis", "traefik", "migrate"} <= set(services)
    replicas = [s for s in services if s.startswith("gateway-")]
    assert len(replicas) == 3
    for name in replicas:
        gateway = services[name]
        env = gateway["environment"]
        assert env["GATEWAY_STORE"].startswith("postgresql://")
        assert env["REDIS_URL"].startswith("redis://")
        assert "/readyz" in " ".join(gateway["healthcheck"]["test"])
        assert gateway["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert gateway["labels"]["traefik.enable"] == "true"
        # Every variable it sets is one the gateway reads (no typo silently ignored).
        settings = Settings.from_env({k: "" for k in env})
        assert settings is not None
        source = Path(__file__).resolve().parent.parent / "gateway" / "settings.py"
        known = set(re.findall(r'"([A-Z][A-Z0-9_]+)"', source.read_text()))
        assert set(env) <= known, set(env) - known
    for service in ("postgres", "redis"):
        assert "healthcheck" in services[service]
    # Secrets only from the environment, never written down.
    assert re.search(r"POSTGRES_PASSWORD: \$\{POSTGRES_PASSWORD", text)
    assert "GATEWAY_SECRET_KEYS: ${GATEWAY_SECRET_KEYS" in text
