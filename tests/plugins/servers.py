"""Fixtures that run real HTTP servers on 127.0.0.1 (built on gateway/sandbox/base.py)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack

import pytest
from starlette.types import ASGIApp

from gateway.sandbox.base import serve

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


def free_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago (bound, then released): for a child
    process told which port to serve on, or a URL where nothing listens."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def refused_url() -> str:
    """A URL on 127.0.0.1 where nothing listens, so connects fail."""
    return f"http://127.0.0.1:{free_port()}"
