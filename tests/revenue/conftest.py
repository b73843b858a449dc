"""The Lago sandbox served over real HTTP and gateways pointed at it."""

from __future__ import annotations

from datetime import datetime

import pytest

from gateway.sandbox.lago import LagoSandbox
from gateway.sandbox.lago_seed import LagoData, seed_data
from tests.plugins.app import Gateway, GatewayFactory
from tests.plugins.servers import ServeApp


@pytest.fixture(scope="session")
def lago_data() -> LagoData:
    """Seeded once per run (never mutated): 300 customers, 18 months up to today 00:00 UTC."""
    return seed_data()


@pytest.fixture
def now(lago_data: LagoData) -> datetime:
    return lago_data.now


@pytest.fixture
def lago(lago_data: LagoData) -> LagoSandbox:
    """A fresh sandbox (counters, knobs, events) over the shared data."""
    return LagoSandbox(data=lago_data)


@pytest.fixture
async def lago_url(serve_app: ServeApp, lago: LagoSandbox) -> str:
    return await serve_app(lago)


@pytest.fixture
async def revenue_gw(gateway_factory: GatewayFactory, lago: LagoSandbox, lago_url: str) -> Gateway:
    return await gateway_factory(**lago.settings_for(lago_url))
