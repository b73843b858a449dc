"""What every benchmark gets: the run's options, servers (started once, stopped at the end),
and :meth:`Context.load` to drive a server with the load generator in other processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp

from bench.load import LoadSpec
from bench.servers import HOST, Server, child_env, spawn, stop, system_busy
from bench.stats import LoadResult

BENCH_SUBJECT = "bench"
# Variables Settings.from_env reads that must not leak from the caller's shell into the
# gateway under test (a REDIS_URL would move rate limiting and pub/sub to Redis).
_SCRUBBED_PREFIXES = ("GATEWAY_", "REDIS_", "OIDC_")
APPS: dict[str, str] = {
    "floor": "bench.targets:floor_app",
    "strawberry": "bench.strawberry_target:app",
    "lago-page": "bench.targets:lago_page_app",
}
"""Plain ASGI targets by name (``module:factory``); the gateway has its own set-up."""
_START_DELAY = 1.0
"""Seconds between spawning the client processes and the start of their warm-up."""


@dataclass(frozen=True, slots=True)
class Options:
    duration: float = 5.0
    warmup: float = 1.5
    concurrency: int = 16
    clients: int = 1
    """Load generator processes (the connections are split between them)."""
    client: str = "raw"
    rounds: int = 2
    """Times each scenario is measured (interleaved); reports keep the best round."""
    profile: bool = True


@dataclass(frozen=True, slots=True)
class GatewayTarget:
    server: Server
    token: str
    env: dict[str, str]

    @property
    def headers(self) -> dict[str, str]:
        """What every GraphQL request to the gateway sends: JSON, and the admin token."""
        return {"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"}


class Context:
    def __init__(self, options: Options, stack: ExitStack, tmp: Path) -> None:
        self.options = options
        self.stack = stack
        self.tmp = tmp
        self._apps: dict[str, Server] = {}
        self._gateway: GatewayTarget | None = None
        self.notes: list[str] = []
        """Warnings about the run itself, shown in RESULTS.md."""

    # -- servers -------------------------------------------------------------------------
    def serve(self, name: str, app: str, env: dict[str, str] | None = None) -> Server:
        """Start ``app`` (``module:factory``) with uvicorn; stopped when the run ends."""
        server = Server(name=name, app=app, env=env or {}, log=self.tmp / f"{name}.log")
        self.stack.enter_context(server)
        return server

    def serve_sandbox(self, app: ASGIApp) -> str:
        """Serve a sandbox (a fake backend) in a thread of this process until the run ends;
        its base URL."""
        from gateway.sandbox.base import serve_in_thread

        url, stop = serve_in_thread(app)
        self.stack.callback(stop)
        return url

    def app(self, name: str) -> Server:
        """The target ``name`` of :data:`APPS`, started on first use."""
        if name not in self._apps:
            self._apps[name] = self.serve(name, APPS[name])
        return self._apps[name]

    def gateway(self) -> GatewayTarget:
        """The gateway on a fresh SQLite store, with an admin token for subject ``bench``."""
        if self._gateway is None:
            self._gateway = self.start_gateway("gateway")
        return self._gateway

    def start_gateway(self, name: str, **env: str) -> GatewayTarget:
        """A gateway of its own (own store and data dir); ``env`` adds/overrides variables."""
        from cryptography.fernet import Fernet

        data = self.tmp / name
        data.mkdir()
        full = scrubbed(
            {
                "GATEWAY_STORE": f"sqlite:///{data / 'gateway.db'}",
                "GATEWAY_DATA_DIR": str(data),
                "GATEWAY_SECRET_KEYS": Fernet.generate_key().decode(),
                # Far above anything one worker can serve: the per-subject limiter never throttles.
                "GATEWAY_RATE_PER_SECOND": "1000000000",
                "GATEWAY_RATE_BURST": "1000000000",
                **env,
            }
        )
        token = create_token(full, subject=BENCH_SUBJECT, role="admin")
        server = self.serve(name, "gateway.cli:app_from_env", full)
        return GatewayTarget(server=server, token=token, env=full)

    # -- load ----------------------------------------------------------------------------
    def load(self, scenario: str, server: Server, spec: LoadSpec) -> LoadResult:
        """Run the load generator against ``server``; ``spec`` host/port/start are filled in.

        The connections are split over ``options.clients`` processes; the server's CPU time
        is sampled at the start and the end of the measured window.
        """
        processes = max(1, min(self.options.clients, spec.concurrency))
        start_at = time.monotonic() + _START_DELAY
        spec = replace(spec, host=HOST, port=server.port, start_at=start_at)
        shares = [spec.concurrency // processes] * processes
        for i in range(spec.concurrency % processes):
            shares[i] += 1
        running: list[tuple[subprocess.Popen[bytes], Path]] = []
        try:
            for i, share in enumerate(shares):
                spec_file = self.tmp / f"{scenario}-{i}.spec.json"
                out_file = self.tmp / f"{scenario}-{i}.out.json"
                spec_file.write_text(replace(spec, concurrency=share).dumps())
                out_file.unlink(missing_ok=True)
                argv = [sys.executable, "-m", "bench.load", str(spec_file), str(out_file)]
                log = self.tmp / f"{scenario}-{i}.log"
                running.append((spawn(argv, log=log), out_file))
            warm_end = start_at + spec.warmup
            _sleep_until(warm_end)
            cpu_start, busy_start = server.cpu(), system_busy()
            _sleep_until(warm_end + spec.duration)
            cpu_end, busy_end = server.cpu(), system_busy()
            tallies = [_collect(p, out, spec.deadline + 10) for p, out in running]
        finally:
            for process, _ in running:
                stop(process, grace=1.0)
        if server.process is not None and server.process.poll() is not None:
            raise RuntimeError(
                f"the {server.name} server exited during {scenario}:\n{server.log_tail()}"
            )
        result = _merge(scenario, spec, processes, tallies)
        late = max(t.get("late", 0.0) for t in tallies)
        if late > 0.05:
            self.notes.append(
                f"{scenario}: a load generator started {late:.2f}s late, so the server CPU "
                "was sampled over a window shifted from the client's."
            )
        if cpu_start is not None and cpu_end is not None:
            result.server_cpu = cpu_end - cpu_start
        if busy_start is not None and busy_end is not None:
            result.system_cpu = busy_end - busy_start
        return result


def _sleep_until(instant: float) -> None:
    delay = instant - time.monotonic()
    if delay > 0:
        time.sleep(delay)


def _collect(process: subprocess.Popen[bytes], out: Path, timeout: float) -> dict[str, Any]:
    try:
        code = process.wait(timeout)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"load generator still running after {timeout:.0f}s") from None
    if code != 0 or not out.exists():
        log = out.with_name(out.name.replace(".out.json", ".log"))
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        raise RuntimeError(f"load generator failed (exit {code}):\n{tail}")
    return json.loads(out.read_text())


def _merge(
    scenario: str,
    spec: LoadSpec,
    processes: int,
    tallies: list[dict[str, Any]],
) -> LoadResult:
    result = LoadResult(
        scenario=scenario,
        client=spec.client,
        concurrency=spec.concurrency,
        client_processes=processes,
        window=spec.duration,
        ok=0,
        errors=0,
    )
    for tally in tallies:
        result.ok += tally["ok"]
        result.errors += tally["errors"]
        for kind, count in tally["error_kinds"].items():
            result.error_kinds[kind] = result.error_kinds.get(kind, 0) + count
        result.error_samples += tally["error_samples"][: 3 - len(result.error_samples)]
        result.latencies += tally["latencies"]
        result.warmup_requests += tally["warmup_requests"]
        result.client_cpu += tally["client_cpu"]
    result.latencies.sort()
    return result


def create_token(env: dict[str, str], *, subject: str, role: str) -> str:
    """``ops-gateway token create`` against the store ``env`` names; returns the secret."""
    argv = [sys.executable, "-m", "gateway.cli", "token", "create", "--subject", subject]
    argv += ["--role", role, "--expires-in", "1d", "--description", "benchmark"]
    completed = subprocess.run(
        argv,
        cwd=Path(__file__).resolve().parent.parent,
        env=child_env(scrubbed(env)),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    tokens = [line for line in completed.stdout.split() if line.startswith("ogw_")]
    if completed.returncode != 0 or not tokens:
        raise RuntimeError(f"token create failed ({completed.returncode}):\n{completed.stderr}")
    return tokens[-1]


def scrubbed(env: dict[str, str]) -> dict[str, str]:
    """``env`` plus empty values for the caller's gateway variables (see _SCRUBBED_PREFIXES)."""
    blank = {k: "" for k in os.environ if k.startswith(_SCRUBBED_PREFIXES)}
    return {**blank, **env}
