"""Infrastructure shared by every fake backend (DESIGN §8): knobs, faults, counters, a server.

A :class:`Sandbox` wraps any ASGI app (normally a Starlette app speaking one backend's API)
and adds what tests and ``serve --sandbox`` need: a latency knob, injected faults by path
glob, and a per-path request counter. :func:`serve` runs an ASGI app with uvicorn in-process
on 127.0.0.1 and a free port; :func:`serve_in_thread` does the same from synchronous code.

Sandboxes may be driven from another thread than the one serving (the CLI), so the few
mutations of shared state take a plain lock; it is never held across an ``await``.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import json
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
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
        if self.method is not None and self.method != method:
            return False
        return fnmatch.fnmatchcase(path, self.path_glob)


class Sandbox:
    """An ASGI app: ``Sandbox(Starlette(routes=[...]))``. Subclass it for a specific backend.

    Globs use :mod:`fnmatch` on the URL path (no query string); ``*`` also matches ``/``.
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
        self, path_glob: str, *, status: int = 500, body: Any = None, times: int | None = None,
        method: str | None = None, headers: dict[str, str] | None = None,
    ) -> Fault:
        """Answer matching requests with ``status`` and ``body`` (JSON unless bytes/str)."""
        if body is None:
            body = {"error": "injected fault", "status": status}
        raw = body if isinstance(body, bytes) else (
            body.encode() if isinstance(body, str) else json.dumps(body).encode()
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
        self, path_glob: str, seconds: float, *, times: int | None = None,
        method: str | None = None,
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
    # The host process (pytest, the CLI) owns the signal handlers; uvicorn must not take them.
    def capture_signals(self) -> contextlib.AbstractContextManager[None]:  # type: ignore[override]
        return contextlib.nullcontext()


class SandboxServer:
    """One uvicorn server for one ASGI app on 127.0.0.1 and a free port.

    ``await start()`` returns once the socket accepts connections; ``await stop()`` shuts down,
    cancelling requests still running after ``grace`` seconds (hung handlers, for instance).
    """

    def __init__(self, app: ASGIApp, *, host: str = "127.0.0.1", port: int = 0,
                 grace: float = 1.0) -> None:
        config = uvicorn.Config(
            app, host=host, port=port, log_config=None, access_log=False, lifespan="auto",
            timeout_graceful_shutdown=grace,  # type: ignore[arg-type]  # float works
        )
        self.server = _InProcessServer(config)
        self.host = host
        self.port: int | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise RuntimeError("server not started")
        return f"http://{self.host}:{self.port}"

    async def start(self, timeout: float = 10.0) -> str:  # noqa: ASYNC109
        self._task = asyncio.create_task(self.server.serve())
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if self._task.done():  # startup failed (lifespan error, bind error)
                await self._task
                raise RuntimeError("sandbox server exited during startup")
            if time.monotonic() > deadline:
                await self.stop()
                raise RuntimeError("sandbox server did not start in time")
            await asyncio.sleep(0.005)
        self.port = _bound_port(self.server)
        return self.base_url

    async def stop(self) -> None:
        if self._task is None:
            return
        self.server.should_exit = True
        task, self._task = self._task, None
        with contextlib.suppress(asyncio.CancelledError, SystemExit):
            await task


def _bound_port(server: uvicorn.Server) -> int:
    return int(server.servers[0].sockets[0].getsockname()[1])


@contextlib.asynccontextmanager
async def serve(app: ASGIApp, *, grace: float = 1.0) -> AsyncIterator[str]:
    """``async with serve(app) as base_url:`` — the app is served for the block's duration."""
    server = SandboxServer(app, grace=grace)
    await server.start()
    try:
        yield server.base_url
    finally:
        await server.stop()


def serve_in_thread(app: ASGIApp, *, host: str = "127.0.0.1", port: int = 0,
                    grace: float = 1.0) -> tuple[str, Callable[[], None]]:
    """Serve ``app`` from a daemon thread with its own event loop (for the CLI and sync
    code). Returns ``(base_url, stop)``; ``stop()`` blocks until the server has shut down."""
    holder = SandboxServer(app, host=host, port=port, grace=grace)
    server = holder.server
    thread = threading.Thread(target=server.run, name="sandbox-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10.0
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError("sandbox server did not start")
        time.sleep(0.005)
    base_url = f"http://{host}:{_bound_port(server)}"

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=grace + 5.0)

    return base_url, stop


@contextlib.contextmanager
def served_in_thread(app: ASGIApp, **kwargs: Any) -> Iterator[str]:
    """Context-manager form of :func:`serve_in_thread`."""
    base_url, stop = serve_in_thread(app, **kwargs)
    try:
        yield base_url
    finally:
        stop()
