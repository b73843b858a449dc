"""A cluster per test: three replicas on a PostgreSQL schema and a Redis prefix of the test's
own, HAProxy in front, the Lago sandbox served by the test."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bench.cluster import Cluster, haproxy_binary
from gateway.sandbox.lago import LagoSandbox
from tests.plugins.servers import ServeApp
from tests.plugins.stores import _create_schema

StartCluster = Callable[..., Awaitable[Cluster]]


@pytest.fixture(scope="session")
def haproxy() -> str:
    binary = haproxy_binary()
    if binary is None:
        reason = "haproxy is not installed (apt-get install haproxy)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return binary


@pytest.fixture
async def lago(serve_app: ServeApp) -> tuple[LagoSandbox, str]:
    sandbox = LagoSandbox(customers=5)
    return sandbox, await serve_app(sandbox)


@pytest.fixture
async def start_cluster(
    haproxy: str,
    postgres_url: str,
    postgres_schema: str,
    redis_url: str,
    redis_prefix: str,
    lago: tuple[LagoSandbox, str],
    tmp_path: Path,
) -> AsyncIterator[StartCluster]:
    """``cluster = await start_cluster(size=3, **env)``; stopped when the test ends."""
    await _create_schema(postgres_url, postgres_schema)
    sandbox, lago_url = lago
    base_env = {
        "GATEWAY_STORE": f"{postgres_url}?search_path={postgres_schema}",
        "GATEWAY_STORE_POOL": "4",
        "REDIS_URL": redis_url,
        "GATEWAY_REDIS_PREFIX": redis_prefix,
        "GATEWAY_SECRET_KEYS": Fernet.generate_key().decode(),
        "GATEWAY_DATA_DIR": str(tmp_path / "data"),
        "LAGO_API_URL": lago_url,
        "LAGO_API_KEY": sandbox.api_key,
        # The load comes from one token; the limiter is not what these tests measure.
        "GATEWAY_RATE_PER_SECOND": "100000",
        "GATEWAY_RATE_BURST": "100000",
    }
    clusters: list[Cluster] = []

    async def start(size: int = 3, **env: str) -> Cluster:
        cluster = Cluster(
            env=base_env | env, workdir=tmp_path / f"cluster{len(clusters)}", size=size
        )
        clusters.append(cluster)
        return await cluster.__aenter__()

    yield start
    for cluster in reversed(clusters):
        await cluster.__aexit__(None, None, None)
