"""The fake Hub served over real HTTP, and gateways pointed at it with a temporary cache."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gateway.sandbox.hub import HubSandbox, create_app
from tests.plugins.app import Gateway, GatewayFactory
from tests.plugins.servers import ServeApp


@dataclass
class Hub:
    sandbox: HubSandbox
    url: str

    def content(self, repo_id: str, path: str) -> bytes:
        repo = self.sandbox.state.get(repo_id)
        assert repo is not None
        return repo.head.files[path].data(repo_id)

    def files(self, repo_id: str) -> dict[str, int]:
        repo = self.sandbox.state.get(repo_id)
        assert repo is not None
        return {p: f.size for p, f in repo.head.files.items()}

    def count(self, prefix: str) -> int:
        return sum(n for key, n in self.sandbox.counts.items() if key.startswith(prefix))


@pytest.fixture
async def hub(serve_app: ServeApp) -> Hub:
    sandbox = create_app()
    return Hub(sandbox, await serve_app(sandbox))


ModelsGateway = Callable[..., Awaitable[Gateway]]


@pytest.fixture
def models_gateway(hub: Hub, gateway_factory: GatewayFactory, tmp_path: Path) -> ModelsGateway:
    """``gw = await models_gateway(**overrides)``: a gateway on the sandbox Hub (set up
    first, so it stops last: downloads still in flight finish against a live Hub)."""

    async def make(**overrides: Any) -> Gateway:
        settings: dict[str, Any] = {
            "hf_endpoint": hub.url,
            "hf_hub_cache": str(tmp_path / "hf-cache"),
        }
        return await gateway_factory(**(settings | overrides))

    return make


@pytest.fixture
async def gw(models_gateway: ModelsGateway) -> Gateway:
    return await models_gateway()
