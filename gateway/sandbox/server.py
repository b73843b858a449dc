"""The sandbox server (DESIGN §8): uvicorn in-process, for fake backends and test apps.

:func:`serve` runs an ASGI app with uvicorn in-process on 127.0.0.1 and a free port;
:func:`serve_in_thread` does so for sync code. :class:`SandboxServer` is the server both use.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable

import uvicorn
from starlette.types import ASGIApp


class _InProcessServer(uvicorn.Server):
    """uvicorn.Server that leaves signals to the host process (pytest, the CLI) and stops
    as soon as asked, instead of on its next 0.1 s tick (that adds up over a test suite)."""

    _wake: asyncio.Event | None = None
    _loop: asyncio.AbstractEventLoop | None = None

    def capture_signals(self) -> contextlib.AbstractContextManager[None]:  # type: ignore[override]
        return contextlib.nullcontext()

    async def main_loop(self) -> None:
        self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
        while not await self.on_tick(0):  # tick 0 refreshes the Date header
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 1.0)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # uvicorn's own shutdown always sleeps 0.1 s; polling lets an idle server stop at once.
        for server in self.servers:
            server.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()  # idle keep-alive connections close now, busy ones after
        state, grace = self.server_state, self.config.timeout_graceful_shutdown or 0
        for _ in range(int(grace / 0.005)):  # uvicorn offers no event for "drained"
            if not (state.connections or state.tasks):
                break
            await asyncio.sleep(0.005)
        if state.connections:  # still busy after the grace period (a hung handler, say):
            for connection in list(state.connections):  # drop them, as a dying backend would
                transport = getattr(connection, "transport", None)
                if transport is not None:
                    transport.close()
            await asyncio.sleep(0.01)
        if state.tasks:  # handlers that ignore the disconnect
            for task in state.tasks:
                task.cancel()
            await asyncio.wait(list(state.tasks), timeout=1.0)
        await self.lifespan.shutdown()

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().serve(sockets)
        except SystemExit as exc:  # uvicorn exits the process on a failed startup;
            # inside a task a SystemExit would escape and kill the host's event loop.
            raise RuntimeError(f"sandbox server failed to start (exit {exc.code})") from None

    def request_exit(self) -> None:
        """Thread-safe."""
        self.should_exit = True
        if self._loop is not None and self._wake is not None:
            with contextlib.suppress(RuntimeError):  # loop already closed
                self._loop.call_soon_threadsafe(self._wake.set)


class SandboxServer:
    """One uvicorn server for one ASGI app on 127.0.0.1 and a free port.

    ``await start()`` returns once the socket accepts connections; ``await stop()`` shuts down,
    cancelling requests still running after ``grace`` seconds (hung handlers, for instance).
    """

    def __init__(
        self, app: ASGIApp, *, host: str = "127.0.0.1", port: int = 0, grace: float = 1.0
    ) -> None:
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_config=None,
            access_log=False,
            lifespan="auto",
            timeout_graceful_shutdown=grace,  # type: ignore[arg-type]  # float works
        )
        self.server = _InProcessServer(config)
        self.host = host
        self.base_url = ""  # set by start()
        self._task: asyncio.Task[None] | None = None

    async def start(self, timeout: float = 10.0) -> str:  # noqa: ASYNC109
        self._task = asyncio.create_task(self.server.serve())
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if self._task.done():  # startup failed (lifespan error, bind error)
                await self._task  # raises the RuntimeError from _InProcessServer.serve
                raise RuntimeError("sandbox server exited during startup")
            if time.monotonic() > deadline:
                await self.stop()
                raise RuntimeError("sandbox server did not start in time")
            await asyncio.sleep(0.002)
        self.base_url = f"http://{self.host}:{_bound_port(self.server)}"
        return self.base_url

    async def stop(self) -> None:
        if self._task is None:
            return
        self.server.request_exit()
        task, self._task = self._task, None
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _bound_port(server: uvicorn.Server) -> int:
    return int(server.servers[0].sockets[0].getsockname()[1])


@contextlib.asynccontextmanager
async def serve(
    app: ASGIApp, *, host: str = "127.0.0.1", port: int = 0, grace: float = 1.0
) -> AsyncIterator[str]:
    """``async with serve(app) as base_url:`` — the app is served for the block's duration."""
    server = SandboxServer(app, host=host, port=port, grace=grace)
    await server.start()
    try:
        yield server.base_url
    finally:
        await server.stop()


def serve_in_thread(
    app: ASGIApp, *, host: str = "127.0.0.1", port: int = 0, grace: float = 1.0
) -> tuple[str, Callable[[], None]]:
    """Serve ``app`` from a daemon thread with its own event loop (for the CLI and sync
    code). Returns ``(base_url, stop)``; ``stop()`` blocks until the server has shut down."""
    holder = SandboxServer(app, host=host, port=port, grace=grace)
    server = holder.server
    errors: list[Exception] = []

    def run() -> None:
        try:
            server.run()
        except Exception as exc:  # reported to the caller below, not as a thread crash
            errors.append(exc)

    thread = threading.Thread(target=run, name="sandbox-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10.0
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.request_exit()
            raise RuntimeError("sandbox server did not start") from (errors[0] if errors else None)
        time.sleep(0.005)
    base_url = f"http://{host}:{_bound_port(server)}"

    def stop() -> None:
        server.request_exit()
        thread.join(timeout=grace + 5.0)

    return base_url, stop


def free_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago (bound, then released): for a child
    process told which port to serve on, or a URL where nothing listens."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
