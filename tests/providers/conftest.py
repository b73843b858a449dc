"""Fixtures of the providers tests: the provider sandbox served over real HTTP."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from gateway.sandbox.providers import ProviderSandbox
from tests.plugins.servers import ServeApp


@dataclass
class ServedSandbox:
    sandbox: ProviderSandbox
    root: str

    def url(self, kind: str) -> str:
        return self.sandbox.base_url(self.root, kind)

    def key(self, kind: str) -> str | None:
        return self.sandbox.keys[kind]


@pytest.fixture
async def providers_sandbox(serve_app: ServeApp) -> ServedSandbox:
    # Small pages, so the kinds that page (Anthropic, Google, Cohere, Replicate) must.
    sandbox = ProviderSandbox(max_page_size=2)
    return ServedSandbox(sandbox=sandbox, root=await serve_app(sandbox))
