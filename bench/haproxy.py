"""HAProxy (Debian's package) in front of gateway replicas: the configuration the replica
tests and the benchmark share, and a process wrapper the load generator can measure."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.servers import Server, free_port, http_status, process_cpu, spawn, stop


def haproxy_binary() -> str | None:
    """Debian installs it in /usr/sbin, which a non-root PATH may lack."""
    return shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/usr/local/sbin")


def haproxy_config(*, port: int, replicas: Mapping[str, int]) -> str:
    """Round robin over the replicas, health-checked on /healthz; websockets tunnel through.

    ``redispatch`` + ``retries`` move a request whose connection was refused (a dead replica
    not yet marked down) to another replica; a request already sent is never re-sent by
    HAProxy, so the client sees that failure and retries it (with the same event ids).
    """
    servers = "\n".join(
        f"    server {name} 127.0.0.1:{p} check inter 200ms fall 2 rise 1"
        for name, p in replicas.items()
    )
    return f"""global
    maxconn 4096

defaults
    mode http
    timeout connect 1s
    timeout client 60s
    timeout server 60s
    timeout tunnel 1h
    retries 3
    option redispatch

frontend gateway
    bind 127.0.0.1:{port}
    default_backend replicas

backend replicas
    balance roundrobin
    option httpchk GET /healthz
{servers}
"""


@dataclass
class Balanced:
    """HAProxy over ``replicas``, shaped like a :class:`Server` for ``Context.load``: its
    port is the balancer's, its CPU the sum of the balancer's and every replica's."""

    replicas: Sequence[Server]
    workdir: Path
    name: str = "haproxy"
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.workdir / f"{self.name}.log"

    def start(self) -> Balanced:
        binary = haproxy_binary()
        if binary is None:
            raise RuntimeError("haproxy is not installed (apt-get install haproxy)")
        config = self.workdir / f"{self.name}.cfg"
        config.write_text(
            haproxy_config(port=self.port, replicas={r.name: r.port for r in self.replicas})
        )
        self.process = spawn([binary, "-db", "-f", str(config)], log=self.log)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if http_status(self.port, "/healthz") == 200:
                return self
            time.sleep(0.05)
        raise RuntimeError(f"haproxy did not answer: {self.log_tail()}")

    def cpu(self) -> float | None:
        parts = [process_cpu(self.process.pid)] if self.process else []
        parts += [r.cpu() for r in self.replicas]
        known = [p for p in parts if p is not None]
        return sum(known) if len(known) == len(parts) else None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def close(self) -> None:
        if self.process is not None:
            stop(self.process)
