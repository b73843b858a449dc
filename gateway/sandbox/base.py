"""What every fake backend shares (DESIGN §8): knobs, injected faults, counters, a server.

:class:`Sandbox` wraps any ASGI app (a Starlette app speaking one backend's API) with a latency
knob, faults by path glob and a per-path request counter. :func:`serve` runs an ASGI app with
uvicorn in-process on 127.0.0.1 and a free port; :func:`serve_in_thread` does so for sync code.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import json
import socket
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Literal

import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send

FaultKind = Literal["fail", "hang", "malformed", "slow"]


@dataclass(slots=True)
class Fault:
    kind: FaultKind
    path_glob: str
    method: str | None = None
    status: int = 500
    body: bytes = b""
    headers: tuple[tuple[bytes, bytes], ...] = ()
    seconds: float = 0.0
    times: int | None = None  # None: until cleared
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        return self.method in (None, method) and fnmatch.fnmatchcase(path, self.path_glob)


class Sandbox:
    """An ASGI app: ``Sandbox(Starlette(routes=[...]))``; subclass it for a specific backend.

    Globs use :mod:`fnmatch` on the URL path (no query string); ``*`` also matches ``/``.
    The serving thread and a driving thread (the CLI) share state, hence a plain lock, never
    held across an ``await``.
    """

    def __init__(self, app: ASGIApp, *, latency: float = 0.0) -> None:
        self.app = app
        self.latency = latency  # seconds added to every HTTP response; change at any time
        self.counts: Counter[str] = Counter()  # "GET /api/v1/customers" -> requests seen
        self.in_flight = 0
        self.max_in_flight = 0
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    # -- knobs ------------------------------------------------------------------------------
    def fail(
        self,
        path_glob: str,
        *,
        status: int = 500,
        body: Any = None,
        times: int | None = None,
        method: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Fault:
        """Answer matching requests with ``status`` and ``body`` (JSON unless bytes/str)."""
        if body is None:
            body = {"error": "injected fault", "status": status}
        raw = (
            body
            if isinstance(body, bytes)
            else (body.encode() if isinstance(body, str) else json.dumps(body).encode())
        )
        ctype = "text/plain" if isinstance(body, str | bytes) else "application/json"
        all_headers = {"content-type": ctype, **(headers or {})}
        encoded = tuple((k.lower().encode(), v.encode()) for k, v in all_headers.items())
        return self._add(Fault("fail", path_glob, _m(method), status, raw, encoded, times=times))

    def hang(self, path_glob: str, *, times: int | None = None, method: str | None = None) -> Fault:
        """Never answer matching requests (until the client gives up or faults are cleared)."""
        return self._add(Fault("hang", path_glob, _m(method), times=times))

    def malformed(
        self, path_glob: str, *, times: int | None = None, method: str | None = None
    ) -> Fault:
        """Answer 200 with a JSON content type and a truncated, unparsable JSON body."""
        return self._add(Fault("malformed", path_glob, _m(method), times=times))

    def slow(
        self, path_glob: str, seconds: float, *, times: int | None = None, method: str | None = None
    ) -> Fault:
        """Delay matching requests by ``seconds`` more, then answer normally."""
        return self._add(Fault("slow", path_glob, _m(method), seconds=seconds, times=times))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    @property
    def faults(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self.counts.values())

    def reset_counts(self) -> None:
        with self._lock:
            self.counts.clear()
            self.max_in_flight = self.in_flight

    def _add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def _take_fault(self, method: str, path: str) -> Fault | None:
        """The first active fault matching the request, using up one of its ``times``."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.hits += 1
                    if fault.times is not None and fault.hits >= fault.times:
                        self._faults.remove(fault)
                    return fault
        return None

    def _active(self, fault: Fault) -> bool:
        with self._lock:
            return any(f is fault for f in self._faults)

    # -- ASGI -------------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)  # lifespan, websockets: untouched
            return
        method, path = scope["method"], scope["path"]
        with self._lock:
            self.counts[f"{method} {path}"] += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            fault = self._take_fault(method, path)
            delay = self.latency + (fault.seconds if fault and fault.kind == "slow" else 0.0)
            if delay > 0:
                await asyncio.sleep(delay)
            if fault is None or fault.kind == "slow":
                await self.app(scope, receive, send)
            elif fault.kind == "fail":
                await _respond(send, fault.status, fault.body, fault.headers)
            elif fault.kind == "malformed":
                ctype = ((b"content-type", b"application/json"),)
                await _respond(send, 200, b'{"data": [{"id": "trunc', ctype)
            else:
                await self._hang(scope, receive, send, fault)
        finally:
            with self._lock:
                self.in_flight -= 1

    async def _hang(self, scope: Scope, receive: Receive, send: Send, fault: Fault) -> None:
        """Answer nothing until the client disconnects; if the fault is cleared first, the
        request is released and answered normally (late). Only a standing hang (times=None)
        can be released: a counted one is already gone from the list once taken."""
        seen: list[Message] = []
        listener = asyncio.ensure_future(_until_disconnect(receive, seen))
        try:
            while not listener.done() and (fault.times is not None or self._active(fault)):
                await asyncio.wait({listener}, timeout=0.02)
        finally:
            listener.cancel()
        if any(m["type"] == "http.disconnect" for m in seen):
            return

        async def replay() -> Message:  # hand the body we already read to the app
            return seen.pop(0) if seen else await receive()

        await self.app(scope, replay, send)


async def _until_disconnect(receive: Receive, seen: list[Message]) -> None:
    while True:
        message = await receive()
        seen.append(message)
        if message["type"] == "http.disconnect":
            return


async def _respond(
    send: Send, status: int, body: bytes, headers: tuple[tuple[bytes, bytes], ...]
) -> None:
    all_headers = [*headers, (b"content-length", str(len(body)).encode())]
    start: Message = {"type": "http.response.start", "status": status, "headers": all_headers}
    await send(start)
    await send({"type": "http.response.body", "body": body})


def _m(method: str | None) -> str | None:
    return method.upper() if method else None


# -- running a server ----------------------------------------------------------------------
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
