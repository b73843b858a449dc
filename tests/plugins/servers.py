"""Fixtures that run real HTTP servers on 127.0.0.1 (built on gateway/sandbox/base.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from starlette.types import ASGIApp

from gateway.sandbox.base import serve
from gateway.sandbox.server import free_port

ServeApp = Callable[[ASGIApp], Awaitable[str]]


@pytest.fixture
async def serve_app() -> AsyncIterator[ServeApp]:
    """``base_url = await serve_app(app)``: serve an ASGI app until the test ends.

    Servers stop in reverse order at teardown, after fixtures that depend on this one (such
    as clients) have closed their connections.
    """
    async with AsyncExitStack() as stack:

        async def start(app: ASGIApp) -> str:
            # A short grace: a test's leftover hung request must not slow the suite down.
            return await stack.enter_async_context(serve(app, grace=0.5))

        yield start


@pytest.fixture
def refused_url() -> str:
    """A URL on 127.0.0.1 where nothing listens, so connects fail."""
    return f"http://127.0.0.1:{free_port()}"


@dataclass(frozen=True)
class ServedGateway:
    url: str
    port: int
    tokens: dict[str, str]
    """Subject -> the API token made for it."""


@contextmanager
def served_gateway(
    workdir: Path, *, roles: Mapping[str, str], env: Mapping[str, str] | None = None
) -> Iterator[ServedGateway]:
    """``ops-gateway serve`` in a child process on a fresh SQLite store, with an API token per
    ``{subject: role}`` made by ``ops-gateway token create``; stopped when the block ends."""
    root = Path(__file__).resolve().parents[2]
    full = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "REDIS_URL"))}
    full |= {"GATEWAY_STORE": f"sqlite:///{workdir / 'gw.db'}", "GATEWAY_DATA_DIR": str(workdir)}
    full |= dict(env or {})
    cli = [sys.executable, "-m", "gateway.cli"]
    tokens = {}
    for subject, role in roles.items():
        argv = [*cli, "token", "create", "--subject", subject, "--role", role]
        made = subprocess.run(
            argv, env=full, capture_output=True, text=True, timeout=60, check=True, cwd=root
        )
        tokens[subject] = made.stdout.strip()
    port = free_port()
    proc = subprocess.Popen(
        [*cli, "serve", "--port", str(port)],
        env=full, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield ServedGateway(url, port, tokens)
    finally:
        proc.terminate()
        proc.wait(10)
