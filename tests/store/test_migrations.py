"""PostgreSQL migrations: applied once when replicas start together; `migrate --check`."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import asyncpg
import pytest

from gateway.store import PostgresStore
from gateway.store.postgres_schema import LATEST
from tests.plugins.stores import _create_schema

pytestmark = pytest.mark.postgres


def _cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env["GATEWAY_STORE"] = url
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_replicas_starting_together_migrate_once(
    postgres_url: str, postgres_schema: str
) -> None:
    await _create_schema(postgres_url, postgres_schema)
    stores = [PostgresStore(dsn=postgres_url, schema=postgres_schema) for _ in range(5)]
    await asyncio.gather(*(s.open() for s in stores))
    try:
        conn = await asyncpg.connect(postgres_url, server_settings={"search_path": postgres_schema})
        try:
            rows = await conn.fetch("SELECT version FROM schema_migrations ORDER BY version")
        finally:
            await conn.close()
        assert [r["version"] for r in rows] == list(range(1, LATEST + 1))
        await stores[3].put("c", "x", {"ok": True})
        assert (await stores[1].get("c", "x")).data == {"ok": True}  # type: ignore[union-attr]
    finally:
        await asyncio.gather(*(s.close() for s in stores))


async def test_migrate_check_and_apply(postgres_url: str, postgres_schema: str) -> None:
    await _create_schema(postgres_url, postgres_schema)
    url = f"{postgres_url}?search_path={postgres_schema}"
    behind = await asyncio.to_thread(_cli, url, "migrate", "--check")
    assert behind.returncode == 1 and "behind" in behind.stdout
    applied = await asyncio.to_thread(_cli, url, "migrate")
    assert applied.returncode == 0 and f"now at {LATEST}" in applied.stdout
    current = await asyncio.to_thread(_cli, url, "migrate", "--check")
    assert current.returncode == 0 and "up to date" in current.stdout


def test_migrate_on_sqlite_has_nothing_to_do(tmp_path) -> None:  # type: ignore[no-untyped-def]
    done = _cli(f"sqlite:///{tmp_path / 'x.db'}", "migrate", "--check")
    assert done.returncode == 0 and "up to date" in done.stdout
