"""Traffic fixtures: the Traefik sandbox, podman's Docker API, pebble, and gateways on them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gateway.sandbox.traefik import TraefikSandbox, create_app
from tests.plugins.app import Gateway, GatewayFactory
from tests.plugins.servers import ServeApp
from tests.traffic.certs import write_acme_json
from tests.traffic.engines import Pebble, Podman, pebble_server, podman_service

GRAFANA = """\
http:
  routers:
    grafana:
      rule: Host(`grafana.example.com`)
      service: grafana
  services:
    grafana:
      loadBalancer:
        servers:
          - url: http://10.0.0.7:3000
"""


@pytest.fixture(scope="session")
def podman() -> Iterator[Podman]:
    with podman_service() as engine:
        yield engine


@pytest.fixture(scope="session")
def pebble() -> Iterator[Pebble]:
    with pebble_server() as server:
        yield server


@dataclass
class Traffic:
    gw: Gateway
    traefik: TraefikSandbox
    traefik_url: str
    dynamic: Path
    acme_json: Path


@pytest.fixture
def dynamic_dir(tmp_path: Path) -> Path:
    path = tmp_path / "dynamic"
    path.mkdir()
    (path / "grafana.yml").write_text(GRAFANA)
    return path


@pytest.fixture
def acme_json(tmp_path: Path) -> Path:
    path = tmp_path / "acme.json"
    write_acme_json(
        path,
        {
            "letsencrypt": [
                (["ops.example.com", "www.example.com"], 5),
                (["billing.example.com"], 60),
            ],
            "staging": [(["grafana.example.com"], 20)],
        },
    )
    return path


@pytest.fixture
async def traffic_factory(
    gateway_factory: GatewayFactory,
    serve_app: ServeApp,
    dynamic_dir: Path,
    acme_json: Path,
    tmp_path: Path,
) -> AsyncIterator[Any]:
    """``t = await traffic_factory(**settings)``: a gateway on a served Traefik sandbox that
    watches ``dynamic_dir``; Docker points at a missing socket unless overridden."""

    async def make(**overrides: Any) -> Traffic:
        sandbox = create_app(dynamic_dir=dynamic_dir)
        url = await serve_app(sandbox)
        settings: dict[str, Any] = {
            "traefik_api_url": url,
            "traefik_dynamic_dir": str(dynamic_dir),
            "traefik_acme_json": str(acme_json),
            "docker_host": f"unix://{tmp_path / 'no-docker.sock'}",
            **overrides,
        }
        gw = await gateway_factory(**settings)
        return Traffic(
            gw=gw, traefik=sandbox, traefik_url=url, dynamic=dynamic_dir, acme_json=acme_json
        )

    yield make


@pytest.fixture
async def traffic(traffic_factory: Any) -> Traffic:
    return await traffic_factory()
