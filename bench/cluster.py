"""Several ``ops-gateway serve`` processes on one store and one Redis, behind HAProxy.

Real processes, a real load balancer: what a deployment runs, started on 127.0.0.1 for a test
or a benchmark. Replicas share everything through the store and Redis (no other channel), so
a test that passes here proves the replicas cooperate the way production ones would.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.haproxy import haproxy_binary, haproxy_config
from bench.servers import free_port

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Replica:
    name: str
    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Cluster:
    """``async with Cluster(env=..., workdir=...) as cluster``: N replicas and HAProxy."""

    env: Mapping[str, str]
    workdir: Path
    size: int = 3
    balanced: bool = True
    """False: no HAProxy (one server addressed directly, as the kill loops do)."""
    replicas: list[Replica] = field(default_factory=list)
    port: int = field(default_factory=free_port)
    _haproxy: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The load balancer's address."""
        return f"http://127.0.0.1:{self.port}"

    def child_env(self) -> dict[str, str]:
        inherited = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("GATEWAY_", "OIDC_", "REDIS_URL", "LAGO_", "TRAEFIK_"))
        }
        return inherited | {"PYTHONUNBUFFERED": "1"} | dict(self.env)

    async def cli(self, *args: str) -> str:
        """Run ``ops-gateway ARGS`` against the cluster's store; its standard output."""
        result = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "gateway.cli", *args],
            cwd=ROOT,
            env=self.child_env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
        if result.returncode != 0:
            raise AssertionError(f"ops-gateway {' '.join(args)}: {result.stderr[-2000:]}")
        return result.stdout

    async def __aenter__(self) -> Cluster:
        binary = haproxy_binary()
        if binary is None and self.balanced:
            raise RuntimeError("haproxy is not installed")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.replicas = [
            Replica(name=f"r{i + 1}", port=free_port(), log=self.workdir / f"r{i + 1}.log")
            for i in range(self.size)
        ]
        try:
            await asyncio.gather(*(self.start(r) for r in self.replicas))
            if not self.balanced or binary is None:
                return self
            config = self.workdir / "haproxy.cfg"
            config.write_text(
                haproxy_config(port=self.port, replicas={r.name: r.port for r in self.replicas})
            )
            log = self.workdir / "haproxy.log"
            self._haproxy = _spawn([binary, "-db", "-f", str(config)], log=log, env=None)
            await self._wait_healthy(self.url, self._haproxy, self.workdir / "haproxy.log")
        except BaseException:
            await self.__aexit__(None, None, None)
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        for process in [self._haproxy, *(r.process for r in self.replicas)]:
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in [self._haproxy, *(r.process for r in self.replicas)]:
            if process is not None:
                try:
                    await asyncio.to_thread(process.wait, 10)
                except subprocess.TimeoutExpired:
                    process.kill()

    async def start(self, replica: Replica) -> None:
        """Start (or start again) one replica on its port; returns once it answers."""
        argv = [sys.executable, "-m", "gateway.cli", "serve", "--port", str(replica.port)]
        replica.process = _spawn(argv, log=replica.log, env=self.child_env())
        await self._wait_healthy(replica.url, replica.process, replica.log)

    def kill(self, replica: Replica) -> None:
        """SIGKILL: no shutdown hooks, no flush, the connection to the store cut mid-use."""
        assert replica.process is not None
        replica.process.send_signal(signal.SIGKILL)
        replica.process.wait(10)

    @staticmethod
    async def _wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
        async with httpx.AsyncClient(timeout=1) as client:
            for _ in range(300):
                if process.poll() is not None:
                    raise RuntimeError(f"{log.name} exited: {_tail(log)}")
                try:
                    if (await client.get(f"{url}/healthz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError(f"{url} did not become healthy: {_tail(log)}")


def _spawn(argv: list[str], *, log: Path, env: Mapping[str, str] | None) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:  # appended to: a restarted replica keeps its history
        return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:]
