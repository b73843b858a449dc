"""The load generator, run in its own process: ``python -m bench.load SPEC.json OUT.json``.

Closed loop: ``concurrency`` keep-alive connections, each with one request in flight at a
time. Every connection is opened before ``start_at`` (a ``time.monotonic()`` instant, shared
by all client processes of one run); requests completing during the warm-up are not counted,
then every request completing in the ``duration`` window is (its latency, or its error), and
no request is sent after the window. It stops by itself: at the end of the window, after
``max_requests`` requests, or when ``deadline`` seconds have passed whatever happens.

Two clients:

- ``raw`` (default): a small HTTP/1.1 client on ``asyncio.Protocol`` (uvloop if installed):
  one pre-built request, responses framed by Content-Length. Costs a few microseconds per
  request, so the server is what gets measured.
- ``httpx``: one ``httpx.AsyncClient`` with a pool of ``concurrency`` connections; much more
  client CPU per request (httpcore's pool bookkeeping), kept to show the difference.

A response is an error unless its status is ``expect_status`` and, with ``check="exact"``,
its body equals ``expect_body`` (validated beforehand by the scenario), or with
``check="graphql"`` it is JSON with ``data`` and without ``errors``.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

try:
    import orjson

    _loads: Callable[[bytes], Any] = orjson.loads
except ImportError:  # pragma: no cover - orjson is a gateway dependency
    _loads = json.loads

Client = Literal["raw", "httpx"]
Check = Literal["exact", "graphql", "status"]
MAX_SAMPLES = 3


@dataclass(slots=True)
class LoadSpec:
    host: str
    port: int
    path: str
    method: str = "POST"
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    expect_status: int = 200
    expect_body: str | None = None
    check: Check = "exact"
    client: Client = "raw"
    concurrency: int = 16
    warmup: float = 1.5
    duration: float = 5.0
    start_at: float = 0.0
    """``time.monotonic()`` instant at which the warm-up starts (0: as soon as connected)."""
    max_requests: int = 2_000_000
    timeout: float = 10.0
    """Seconds one request may take before it is an error (and its connection is dropped)."""

    @property
    def deadline(self) -> float:
        """Seconds after start-up after which the process gives up whatever happens."""
        return self.warmup + self.duration + self.timeout + 15.0

    def dumps(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def loads(cls, raw: str) -> LoadSpec:
        return cls(**json.loads(raw))


@dataclass(slots=True)
class Tally:
    """What one client process saw; merged by the orchestrator."""

    ok: int = 0
    errors: int = 0
    error_kinds: Counter[str] = field(default_factory=Counter)
    error_samples: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    warmup_requests: int = 0
    issued: int = 0
    client_cpu: float = 0.0
    late: float = 0.0
    """Seconds the warm-up started after the planned ``start_at`` (slow process start)."""

    def error(self, kind: str, sample: str) -> None:
        self.errors += 1
        self.error_kinds[kind] += 1
        if len(self.error_samples) < MAX_SAMPLES:
            self.error_samples.append(f"{kind}: {sample[:300]}")

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "errors": self.errors,
            "error_kinds": dict(self.error_kinds),
            "error_samples": self.error_samples,
            "latencies": self.latencies,
            "warmup_requests": self.warmup_requests,
            "client_cpu": self.client_cpu,
            "late": self.late,
        }


class Checker:
    """Classifies a response: ``None`` when correct, else a short error kind."""

    def __init__(self, spec: LoadSpec) -> None:
        self.status = spec.expect_status
        self.mode = spec.check
        self.expected = spec.expect_body.encode() if spec.expect_body is not None else None

    def __call__(self, status: int, body: bytes) -> str | None:
        if status != self.status:
            return f"http {status}"
        if self.mode == "status" or body == self.expected:
            return None
        try:
            data = _loads(body)
        except ValueError:
            return "invalid json"
        if not isinstance(data, dict) or data.get("errors"):
            return "graphql errors"
        if self.mode == "graphql":
            return None if data.get("data") is not None else "no data"
        return "unexpected body"


class Window:
    """The warm-up and measurement instants, in ``time.monotonic()`` seconds."""

    def __init__(self, spec: LoadSpec, tally: Tally) -> None:
        now = time.monotonic()
        start = max(spec.start_at, now)
        if spec.start_at:
            tally.late = max(0.0, now - spec.start_at)
        self.start = start
        self.warm_end = start + spec.warmup
        self.end = self.warm_end + spec.duration


# -- raw client --------------------------------------------------------------------------


class ProtocolFailure(Exception):
    pass


class RawConnection(asyncio.Protocol):
    """One HTTP/1.1 keep-alive connection with at most one request in flight."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[tuple[int, bytes, bool]] | None = None
        self.sent_at = 0.0
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(ConnectionError(str(exc or "connection closed by the server")))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        try:
            parsed = self._parse()
        except ProtocolFailure as exc:
            waiter.set_exception(exc)
            return
        if parsed is not None:
            waiter.set_result(parsed)

    def _parse(self) -> tuple[int, bytes, bool] | None:
        buffer = self.buffer
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            return None
        head = bytes(buffer[:end]).lower()
        if not head.startswith(b"http/1.1 "):
            raise ProtocolFailure(f"not an HTTP/1.1 response: {head[:40]!r}")
        status = int(head[9:12])
        at = head.find(b"\r\ncontent-length:")
        if at < 0:
            raise ProtocolFailure("response without Content-Length (chunked is not supported)")
        line_end = head.find(b"\r\n", at + 2)
        length = int(head[at + 17 : line_end if line_end >= 0 else len(head)])
        total = end + 4 + length
        if len(buffer) < total:
            return None
        body = bytes(buffer[end + 4 : total])
        del buffer[:total]
        return status, body, b"\r\nconnection: close" not in head

    def request(self, payload: bytes) -> asyncio.Future[tuple[int, bytes, bool]]:
        assert self.transport is not None
        self.waiter = waiter = self.loop.create_future()
        self.sent_at = time.monotonic()
        self.transport.write(payload)
        return waiter

    def abort(self) -> None:
        self.closed = True  # at once: connection_lost only runs on a later loop iteration
        if self.transport is not None:
            self.transport.abort()


def raw_request(spec: LoadSpec) -> bytes:
    body = spec.body.encode()
    lines = [f"{spec.method} {spec.path} HTTP/1.1", f"Host: {spec.host}:{spec.port}"]
    lines += [f"{name}: {value}" for name, value in spec.headers.items()]
    if body or spec.method not in ("GET", "HEAD"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def run_raw(spec: LoadSpec, tally: Tally) -> None:
    loop = asyncio.get_running_loop()
    payload = raw_request(spec)
    check = Checker(spec)
    connections: list[RawConnection] = []

    async def connect() -> RawConnection:
        _, conn = await loop.create_connection(lambda: RawConnection(loop), spec.host, spec.port)
        connections.append(conn)
        return conn

    initial = await asyncio.gather(*(connect() for _ in range(spec.concurrency)))
    window = Window(spec, tally)
    stop = asyncio.Event()

    async def watchdog() -> None:
        # Drops connections whose request is overdue (cheaper than a timer per request).
        while not stop.is_set():
            await asyncio.sleep(0.25)
            now = time.monotonic()
            for conn in connections:
                waiter = conn.waiter
                if waiter is not None and not waiter.done() and now - conn.sent_at > spec.timeout:
                    conn.abort()

    async def worker(conn: RawConnection) -> None:
        clock = time.monotonic
        warm_end, end = window.warm_end, window.end
        latencies = tally.latencies
        await asyncio.sleep(max(0.0, window.start - clock()))
        while True:
            if clock() >= end or tally.issued >= spec.max_requests:
                break
            tally.issued += 1
            if conn.closed:
                try:
                    conn = await connect()
                except OSError as exc:
                    if clock() >= warm_end:
                        tally.error("connect", repr(exc))
                    await asyncio.sleep(0.05)
                    continue
            started = clock()
            try:
                status, body, keep_alive = await conn.request(payload)
            except (ConnectionError, ProtocolFailure) as exc:
                done = clock()
                conn.abort()
                if warm_end <= done <= end:
                    kind = "timeout" if done - started >= spec.timeout else "connection"
                    tally.error(kind, repr(exc))
                continue
            done = clock()
            if not keep_alive:
                conn.abort()
            if done < warm_end:
                tally.warmup_requests += 1
            elif done <= end:
                error = check(status, body)
                if error is None:
                    tally.ok += 1
                    latencies.append(done - started)
                else:
                    tally.error(error, body.decode(errors="replace"))

    guard = asyncio.create_task(watchdog())
    try:
        await _with_cpu(window, tally, asyncio.gather(*(worker(c) for c in initial)))
    finally:
        stop.set()
        guard.cancel()
        for conn in connections:
            conn.abort()


# -- httpx client ------------------------------------------------------------------------


async def run_httpx(spec: LoadSpec, tally: Tally) -> None:
    import httpx

    check = Checker(spec)
    limits = httpx.Limits(
        max_connections=spec.concurrency, max_keepalive_connections=spec.concurrency
    )
    base = f"http://{spec.host}:{spec.port}"
    content = spec.body.encode()
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=spec.timeout) as client:

        async def send() -> tuple[int, bytes]:
            response = await client.request(
                spec.method, spec.path, content=content, headers=spec.headers
            )
            return response.status_code, response.content

        # Open the pool's connections before the clock starts.
        await asyncio.gather(*(send() for _ in range(spec.concurrency)))
        window = Window(spec, tally)

        async def worker() -> None:
            clock = time.monotonic
            warm_end, end = window.warm_end, window.end
            await asyncio.sleep(max(0.0, window.start - clock()))
            while clock() < end and tally.issued < spec.max_requests:
                tally.issued += 1
                started = clock()
                try:
                    status, body = await send()
                except httpx.HTTPError as exc:
                    if warm_end <= clock() <= end:
                        tally.error(type(exc).__name__, repr(exc))
                    continue
                done = clock()
                if done < warm_end:
                    tally.warmup_requests += 1
                elif done <= end:
                    error = check(status, body)
                    if error is None:
                        tally.ok += 1
                        tally.latencies.append(done - started)
                    else:
                        tally.error(error, body.decode(errors="replace"))

        await _with_cpu(window, tally, asyncio.gather(*(worker() for _ in range(spec.concurrency))))


async def _with_cpu(window: Window, tally: Tally, work: Awaitable[Any]) -> None:
    """Await ``work`` while measuring this process's CPU time over the measured window."""

    async def meter() -> None:
        await asyncio.sleep(max(0.0, window.warm_end - time.monotonic()))
        begin = time.process_time()
        await asyncio.sleep(max(0.0, window.end - time.monotonic()))
        tally.client_cpu = time.process_time() - begin

    await asyncio.gather(work, meter())


# -- entry point -------------------------------------------------------------------------


async def run(spec: LoadSpec) -> Tally:
    tally = Tally()
    runner = run_raw if spec.client == "raw" else run_httpx
    await asyncio.wait_for(runner(spec, tally), timeout=spec.deadline)
    return tally


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m bench.load SPEC.json OUT.json", file=sys.stderr)
        return 2
    spec = LoadSpec.loads(Path(argv[0]).read_text())
    try:
        import uvloop
    except ImportError:
        tally = asyncio.run(run(spec))
    else:
        tally = uvloop.run(run(spec))
    Path(argv[1]).write_text(json.dumps(tally.to_json()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
