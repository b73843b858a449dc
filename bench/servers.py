"""Benchmark targets served by uvicorn, each in its own process on 127.0.0.1.

One worker, no access log, uvloop and httptools when installed. A :class:`Server` is a
context manager: leaving it (normally, on an exception or on Ctrl-C) stops the process
(SIGTERM, then SIGKILL). On Linux the child also gets SIGTERM if the benchmark process dies
without cleaning up (``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from gateway.sandbox.server import free_port

ROOT = Path(__file__).resolve().parent.parent
"""The project root: servers run there so ``gateway`` and ``schema`` import from the tree."""
HOST = "127.0.0.1"
_CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def loop_impl() -> str:
    return "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"


def http_impl() -> str:
    return "httptools" if importlib.util.find_spec("httptools") else "h11"


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.setdefault("PYTHONUNBUFFERED", "1")
    env.update(extra or {})
    return env


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def spawn(
    argv: Sequence[str], *, env: Mapping[str, str] | None = None, log: Path | None = None
) -> subprocess.Popen[bytes]:
    """Start a child process that dies with us (Linux) and writes its output to ``log``."""
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115 - closed below
    try:
        return subprocess.Popen(
            list(argv),
            cwd=ROOT,
            env=child_env(env),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
    finally:
        if log:
            out.close()  # type: ignore[union-attr]


def stop(process: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    """SIGTERM, wait ``grace`` seconds, then SIGKILL; never raises."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.terminate()
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        process.wait(5)


def process_cpu(pid: int) -> float | None:
    """CPU seconds (user + system, all threads) used so far by ``pid``; ``None`` if unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK


def system_busy() -> float | None:
    """CPU seconds all processes on the machine have used since boot (not idle or iowait)."""
    try:
        first = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    except OSError:
        return None
    ticks = [int(v) for v in first[1:8]]  # user nice system idle iowait irq softirq
    return (sum(ticks) - ticks[3] - ticks[4]) / _CLK_TCK


@dataclass
class Server:
    """``uvicorn <app> --factory`` in a child process. Use as a context manager."""

    name: str
    app: str
    """``module:factory`` of the ASGI app, imported by the child."""
    log: Path
    env: dict[str, str] = field(default_factory=dict)
    ready_path: str = "/healthz"
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def argv(self) -> list[str]:
        return [
            sys.executable, "-m", "uvicorn", self.app, "--factory",
            "--host", HOST, "--port", str(self.port), "--workers", "1",
            "--loop", loop_impl(), "--http", http_impl(),
            "--no-access-log", "--log-level", "warning", "--lifespan", "on",
        ]  # fmt: skip

    def start(self, timeout: float = 30.0) -> Server:
        for attempt in range(3):  # a free port can be taken between probe and bind: retry
            self.port = free_port()
            self.process = spawn(self.argv(), env=self.env, log=self.log)
            try:
                self._wait_ready(timeout)
                return self
            except RuntimeError:
                self.close()
                if attempt == 2 or "address already in use" not in self.log_tail().lower():
                    raise
        raise AssertionError("unreachable")

    def _wait_ready(self, timeout: float) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} server exited with {self.process.returncode}:\n{self.log_tail()}"
                )
            if http_status(self.port, self.ready_path) == 200:
                return
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} server not ready after {timeout}s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def cpu(self) -> float | None:
        return process_cpu(self.pid) if self.process else None

    def close(self) -> None:
        if self.process is not None:
            stop(self.process)

    def __enter__(self) -> Server:
        return self.start() if self.process is None else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def http_status(port: int, path: str, timeout: float = 1.0) -> int | None:
    """Status of ``GET path`` on 127.0.0.1:port, ``None`` if nothing answers."""
    request = f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nConnection: close\r\n\r\n"
    try:
        with socket.create_connection((HOST, port), timeout=timeout) as sock:
            sock.sendall(request.encode())
            head = sock.recv(64)
    except OSError:
        return None
    try:
        return int(head.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return None


def serve_gateway(
    stack: ExitStack, *, env: Mapping[str, str], log: Path, workers: int = 1
) -> tuple[int, subprocess.Popen[bytes]]:
    """``ops-gateway serve`` on a free port, stopped when ``stack`` closes; returns once
    /healthz answers 200 (the port and the process)."""
    port = free_port()
    argv = [sys.executable, "-m", "gateway.cli", "serve", "--port", str(port)]
    server = spawn([*argv, "--workers", str(workers)], env=env, log=log)
    stack.callback(stop, server)
    deadline = time.monotonic() + 60
    while http_status(port, "/healthz") != 200:
        if time.monotonic() > deadline or server.poll() is not None:
            raise RuntimeError(log.read_text()[-3000:])
        time.sleep(0.1)
    return port, server
