"""What every fake backend shares (DESIGN §8): knobs, injected faults, counters, a server,
and :func:`bearer` for the fakes' ``Authorization`` checks.

:class:`Sandbox` wraps any ASGI app (a Starlette app speaking one backend's API) with a latency
knob, faults by path glob and a per-path request counter. The server (:func:`serve`,
:func:`serve_in_thread`, :class:`SandboxServer`) lives in :mod:`gateway.sandbox.server` and is
re-exported here, where tests and fixtures import it from.
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
import threading
from collections import Counter, deque
from dataclasses import dataclass
from typing import Any, Literal

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.sandbox.server import SandboxServer, serve, serve_in_thread

__all__ = [
    "Fault",
    "FaultKind",
    "Sandbox",
    "SandboxServer",
    "bearer",
    "serve",
    "serve_in_thread",
]

FaultKind = Literal["fail", "hang", "malformed", "slow", "truncated"]


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
        self.traceparents: deque[str] = deque(maxlen=1000)
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

    def truncated(
        self, path_glob: str, *, times: int | None = None, method: str | None = None
    ) -> Fault:
        """Announce a JSON body, send part of it and drop the connection (a backend dying
        mid-response)."""
        return self._add(Fault("truncated", path_glob, _m(method), times=times))

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
        for key, value in scope.get("headers", ()):
            if key == b"traceparent":  # which traces reached this backend (tracing tests)
                self.traceparents.append(value.decode("latin-1"))
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
            elif fault.kind == "truncated":
                await _truncated(send)
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


async def _truncated(send: Send) -> None:
    body = b'{"data": [{"id": "one"}, {"id": "two"}], "meta": {"total": 2}}'
    headers = [(b"content-type", b"application/json"), (b"content-length", b"4096")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body[:20], "more_body": True})
    # Returning without the rest makes the server close the connection mid-body.


def bearer(request: Request, *schemes: str) -> str | None:
    """The credential of ``Authorization: <scheme> <credential>`` when the scheme is one of
    ``schemes`` (lower case; ``bearer`` by default), else None. Each fake decides what a
    missing or wrong credential is answered with, as its real API does."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() in (schemes or ("bearer",)) else None


def _m(method: str | None) -> str | None:
    return method.upper() if method else None
