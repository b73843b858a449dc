"""The networked stores a benchmark may use: a Redis key prefix and a PostgreSQL database of
the run's own, both removed when the run ends. ``None`` plus a note when a server is absent:
the benchmark then reports the row as skipped instead of failing the whole run."""

from __future__ import annotations

import asyncio
import os
import uuid
from concurrent.futures import ThreadPoolExecutor

from bench.context import Context

DEFAULT_REDIS = "redis://127.0.0.1:6379/15"
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"


def redis_prefix(ctx: Context) -> tuple[str | None, str, str]:
    """``(url, prefix, note)``: the run's keys are deleted at the end (SCAN + DEL)."""
    import redis

    url = os.environ.get("REDIS_URL") or DEFAULT_REDIS
    client = redis.Redis.from_url(url, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        return None, "", f"Redis skipped: no server at {url} ({exc})"
    finally:
        client.close()
    prefix = f"ogwbench:{uuid.uuid4().hex[:8]}:"

    def cleanup() -> None:
        c = redis.Redis.from_url(url)
        try:
            keys = list(c.scan_iter(match=f"{prefix}*", count=1000))
            for i in range(0, len(keys), 500):
                c.delete(*keys[i : i + 500])
        finally:
            c.close()

    ctx.stack.callback(cleanup)
    return url, prefix, f"Redis at {url}"


def admin_sql(server: str, sql: str) -> None:
    """Run one statement (CREATE/DROP DATABASE) on ``server``, from sync code: in a thread
    of its own, so a caller inside an event loop (a pytest fixture) can use it too."""
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(server, timeout=3)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result()


def postgres_database(ctx: Context) -> tuple[str | None, str]:
    """``(url, note)`` of a database created for this run and dropped at its end."""
    import asyncpg

    server = os.environ.get("POSTGRES_URL") or DEFAULT_POSTGRES
    name = f"ogw_bench_{uuid.uuid4().hex[:10]}"
    try:
        admin_sql(server, f'CREATE DATABASE "{name}"')
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        return None, f"PostgreSQL skipped: no server at {server} ({exc})"
    ctx.stack.callback(admin_sql, server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    base, _, _ = server.rpartition("/")
    return f"{base}/{name}", f"PostgreSQL at {server} (database {name}, dropped after the run)"
