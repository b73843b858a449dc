"""Figures of one load run: throughput, latency percentiles, errors, CPU."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of an already sorted sequence; NaN if empty."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


@dataclass(slots=True)
class LoadResult:
    """One scenario's measured window. Latencies are in seconds."""

    scenario: str
    client: str
    concurrency: int
    client_processes: int
    window: float
    """Seconds of the measured window (after warm-up)."""
    ok: int
    errors: int
    error_kinds: dict[str, int] = field(default_factory=dict)
    error_samples: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list, repr=False)
    """Every successful request's latency completed inside the window, sorted."""
    warmup_requests: int = 0
    client_cpu: float = 0.0
    """CPU seconds the load generator process(es) used during the window."""
    server_cpu: float | None = None
    """CPU seconds the server process used during the window (``None``: unknown)."""
    system_cpu: float | None = None
    """CPU seconds every process on the machine used during the window (``None``: unknown)."""

    @property
    def requests(self) -> int:
        return self.ok + self.errors

    @property
    def rps(self) -> float:
        return self.ok / self.window if self.window > 0 else math.nan

    def p(self, q: float) -> float:
        return percentile(self.latencies, q)

    @property
    def server_cpu_share(self) -> float | None:
        """Server CPU use over the window, 1.0 = one core busy all the time."""
        return None if self.server_cpu is None else self.server_cpu / self.window

    @property
    def client_cpu_share(self) -> float:
        return self.client_cpu / self.window

    @property
    def other_cpu_share(self) -> float | None:
        """CPU used by processes other than server and client (other work on the machine)."""
        if self.system_cpu is None or self.server_cpu is None:
            return None
        return max(0.0, self.system_cpu - self.server_cpu - self.client_cpu) / self.window

    @property
    def server_cpu_per_request(self) -> float | None:
        """Server CPU seconds per request answered in the window."""
        if self.server_cpu is None or not self.requests:
            return None
        return self.server_cpu / self.requests

    def summary(self) -> dict[str, Any]:
        """The figures without the latency list (for printing and JSON)."""
        return {
            "scenario": self.scenario,
            "client": self.client,
            "concurrency": self.concurrency,
            "rps": round(self.rps, 1),
            "p50_ms": round(self.p(50) * 1e3, 3),
            "p90_ms": round(self.p(90) * 1e3, 3),
            "p99_ms": round(self.p(99) * 1e3, 3),
            "ok": self.ok,
            "errors": self.errors,
            "error_kinds": self.error_kinds,
        }

    def line(self) -> str:
        server = self.server_cpu_share
        cpu = f"server cpu {server:4.0%}" if server is not None else "server cpu   ?"
        busy = self.other_cpu_share
        other = f"  other load {busy:4.0%}" if busy is not None else ""
        return (
            f"{self.scenario:<16} {self.client:<6} {self.rps:9.0f} req/s  "
            f"p50 {self.p(50) * 1e3:7.2f} ms  p90 {self.p(90) * 1e3:7.2f} ms  "
            f"p99 {self.p(99) * 1e3:7.2f} ms  errors {self.errors:<5} {cpu}  "
            f"client cpu {self.client_cpu_share:4.0%}{other}"
        )
