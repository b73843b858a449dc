"""``make soak``: long load on a served gateway (issue 13, part 3).

Every sandbox in this process; ``ops-gateway serve`` as a child process (one worker, then
``--workers 2`` with Redis carrying pub/sub between them). ``--clients`` concurrent clients
mix every dashboard page, ingestion batches and mutations for ``--seconds``, while
subscribers on both websocket protocols hold ``usageEvents``. Reported: requests, errors
(must be 0), p50/p99, the server's RSS at start (after warm-up), middle and end, its open
file descriptors before and after, and websocket deliveries missed (must be 0).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from bench.reliability import write_section
from bench.servers import serve_gateway
from bench.soak_load import Subscriber, Tally, client_loop, listen, subscribe

TITLE = "Soak (`make soak`)"


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(_children(p))
    return out


def rss_mb(pid: int) -> float:
    total = 0
    for p in _tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def open_fds(pid: int, port: int) -> Fds:
    """The server's descriptors: files, accepted connections (local ``port``) and outbound
    sockets (pooled connections to the backends and Redis)."""
    local = _local_ports()
    files = accepted = outbound = 0
    for p in _tree(pid):
        try:
            links = [os.readlink(f"/proc/{p}/fd/{fd}") for fd in os.listdir(f"/proc/{p}/fd")]
        except OSError:
            continue
        for link in links:
            if not link.startswith("socket:["):
                files += 1
            elif local.get(link[8:-1]) == port:
                accepted += 1
            else:
                outbound += 1
    return Fds(files, accepted, outbound)


def _local_ports() -> dict[str, int]:
    """Socket inode -> local TCP port, from /proc/net/tcp and tcp6."""
    ports: dict[str, int] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                ports[fields[9]] = int(fields[1].rsplit(":", 1)[1], 16)
    return ports


@dataclass(frozen=True)
class Fds:
    files: int
    accepted: int
    outbound: int

    def __str__(self) -> str:
        return f"{self.files} + {self.accepted} + {self.outbound}"


@dataclass
class SoakResult:
    workers: int
    clients: int
    seconds: float
    tally: Tally
    rss: tuple[float, float, float]
    fds: tuple[Fds, Fds]
    subscribers: int
    missed: int

    @property
    def growth(self) -> float:
        return (self.rss[2] - self.rss[0]) / self.rss[0] if self.rss[0] else 0.0

    @property
    def ok(self) -> bool:
        return (
            self.tally.errors == 0
            and self.missed == 0
            and self.growth < 0.10
            # A leak is a file or an accepted connection left open; outbound sockets are
            # the backends' and Redis' pools, as large as the load needed them (bounded).
            and self.fds[1].files <= self.fds[0].files
            and self.fds[1].accepted <= self.fds[0].accepted
        )

    def row(self) -> str:
        t = self.tally
        rss = " / ".join(f"{m:.0f}" for m in self.rss)
        return (
            f"| {self.workers} | {self.clients} | {self.seconds:g} s | {t.requests:,} "
            f"| {t.requests / self.seconds:,.0f} | {t.errors} | {t.p(50) * 1e3:.1f} "
            f"| {t.p(99) * 1e3:.1f} | {rss} MB ({self.growth * 100:+.1f}%) "
            f"| {self.fds[0]} → {self.fds[1]} | {self.subscribers} | {self.missed} |"
        )


Measured = tuple[Tally, tuple[float, ...], tuple[Fds, Fds], int]


async def _drive(
    url: str, token: str, clients: int, seconds: float, warmup: float, subscribers: int, pid: int
) -> Measured:
    port = int(url.rsplit(":", 1)[1])
    protocols = ["graphql-transport-ws", "graphql-ws"]
    subs: list[Subscriber] = [
        await subscribe(url, token, protocols[i % 2]) for i in range(subscribers)
    ]
    listeners = [asyncio.create_task(listen(s)) for s in subs]
    ids, tag = itertools.count(), uuid.uuid4().hex[:6]
    # Warm-up: every page once and the pools filled, then everything closed and idle for
    # longer than keep-alive, so the descriptors counted next are the server's own.
    await _phase(url, token, clients, warmup, Tally(), ids=ids, tag=tag)
    await asyncio.sleep(6.0)
    fds_start, rss = open_fds(pid, port), []
    tally = Tally()

    async def sample() -> None:  # under load each time: at 10%, 50% and 95% of the window
        for at in (0.1, 0.4, 0.45):
            await asyncio.sleep(seconds * at)
            rss.append(rss_mb(pid))

    sampler = asyncio.create_task(sample())
    await _phase(url, token, clients, seconds, tally, ids=ids, tag=tag)
    await sampler
    await asyncio.sleep(6.0)  # deliveries in flight; idle past keep-alive, as at the start
    fds_end = open_fds(pid, port)
    missed = sum(len(tally.live_sent - set(sub.received)) for sub in subs)
    for sub in subs:
        assert sub.socket is not None
        await sub.socket.close()
    for task in listeners:
        task.cancel()
    return tally, tuple(rss), (fds_start, fds_end), missed


async def _phase(
    url: str, token: str, clients: int, seconds: float, tally: Tally, *, ids: Any, tag: str
) -> None:
    """``clients`` looping for ``seconds`` on a session of their own, closed at the end."""
    stop_event = asyncio.Event()
    connector = aiohttp.TCPConnector(limit=0)
    headers = {"Authorization": f"Bearer {token}"}
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, headers=headers, timeout=timeout) as s:
        tasks = [
            asyncio.create_task(client_loop(s, url, stop_event, tally, seed=i, ids=ids, tag=tag))
            for i in range(clients)
        ]
        await asyncio.sleep(seconds)
        stop_event.set()
        await asyncio.gather(*tasks)


def run(*, workers: int, clients: int, seconds: float, warmup: float, subscribers: int,
        redis_url: str | None, workdir: Path) -> SoakResult:  # fmt: skip
    from cryptography.fernet import Fernet

    from bench.context import create_token, scrubbed

    with ExitStack() as stack:
        backends = stack.enter_context(sandbox_process(workdir / f"sandboxes-{workers}.log"))
        env = {
            "GATEWAY_STORE": f"sqlite:///{workdir / f'gateway-{workers}.db'}",
            "GATEWAY_DATA_DIR": str(workdir),
            "GATEWAY_SECRET_KEYS": Fernet.generate_key().decode(),
            "GATEWAY_RATE_PER_SECOND": "1000000",
            "GATEWAY_RATE_BURST": "1000000",
            "GATEWAY_WS_MAX_CONNECTIONS": str(subscribers + 10),
            **backends,
        }
        if redis_url:
            env |= {"REDIS_URL": redis_url, "GATEWAY_REDIS_PREFIX": f"soak{uuid.uuid4().hex[:6]}:"}
        env = scrubbed(env)
        token = create_token(env, subject="soak", role="admin")
        log = workdir / f"serve-{workers}.log"
        port, server = serve_gateway(stack, env=env, log=log, workers=workers)
        url = f"http://127.0.0.1:{port}"
        tally, rss, fds, missed = asyncio.run(
            _drive(url, token, clients, seconds, warmup, subscribers, server.pid)
        )
        return SoakResult(workers, clients, seconds, tally, rss, fds, subscribers, missed)  # type: ignore[arg-type]


@contextmanager
def sandbox_process(log: Path) -> Iterator[dict[str, str]]:
    """Every sandbox in a child process (bench/sandbox_process.py): the load generator's
    busy loop must not slow the fake backends down. Yields the gateway's environment."""
    with open(log, "wb") as err:
        child = subprocess.Popen(
            [sys.executable, "-m", "bench.sandbox_process"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err,
            cwd=Path(__file__).resolve().parent.parent,
        )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        if not line:
            raise RuntimeError(f"the sandboxes did not start: {log.read_text()[-2000:]}")
        yield json.loads(line)
    finally:
        if child.stdin is not None:
            child.stdin.close()
        try:
            child.wait(15)
        except subprocess.TimeoutExpired:
            child.kill()


def report(results: list[SoakResult]) -> str:
    lines = [
        "`ops-gateway serve` in a child process, every sandbox behind it, SQLite store "
        "(Redis pub/sub with `--workers 2`). Clients (aiohttp, one process) loop without "
        "pause over: every dashboard page (the README's sandbox queries, 78%), ingestion "
        "batches of 5 events (12%), the `recordUsage` mutation (5%) and `me` (5%); "
        "subscribers alternate graphql-transport-ws and the legacy graphql-ws on "
        "`usageEvents`. RSS and file descriptors are the server's (all its processes): RSS "
        "sampled under load at 10%, 50% and 95% of the window, descriptors counted with the "
        "server idle before and after it as files + accepted connections + outbound sockets "
        "(a leak is a file or an accepted connection left open; outbound sockets are the "
        "backends' and Redis' connection pools, which keep what the load needed). The "
        "sandboxes run in a process of their own. An error is any answer not 200 or "
        "carrying errors.",
        "",
        "| workers | clients | window | requests | req/s | errors | p50 ms | p99 ms "
        "| RSS start / middle / end | open fds (files + accepted + outbound) | subscribers "
        "| deliveries missed |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---:|",
        *(r.row() for r in results),
    ]
    samples = [s for r in results for s in r.tally.samples]
    if samples:
        lines += ["", "Errors seen:", "", *(f"- `{s}`" for s in samples)]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--warmup", type=float, default=10.0)
    parser.add_argument("--subscribers", type=int, default=20)
    parser.add_argument("--workers", type=int, action="append", help="default: 1 and 2")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"
    results = []
    with tempfile.TemporaryDirectory(prefix="ogw-soak-") as tmp:
        for workers in args.workers or [1, 2]:
            result = run(
                workers=workers,
                clients=args.clients,
                seconds=args.seconds,
                warmup=args.warmup,
                subscribers=args.subscribers,
                redis_url=redis_url if workers > 1 else None,
                workdir=Path(tmp),
            )
            print(result.row(), flush=True)
            results.append(result)
    text = report(results)
    print("\n" + text)
    if not args.no_write:
        write_section(TITLE, text)
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
