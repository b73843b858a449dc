"""``BENCHMARKS``: one entry per section of RESULTS.md, in order.

A benchmark is a function ``(Context) -> Section`` registered with :func:`benchmark`; its
module is listed in :data:`MODULES` so ``python -m bench`` imports it. A later issue adds a
module (say ``bench/lago.py`` counting backend calls per query, or ``bench/ingest.py``
measuring the ingestion rate with an :class:`~bench.scenarios.HttpScenario`) and one line
here.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.context import Context

MODULES: tuple[str, ...] = (
    "bench.core",
    "bench.agents",
    "bench.usage",
    "bench.replicas",
    "bench.traffic",
    "bench.lago",
    "bench.transport",
    "bench.models",
)


@dataclass(slots=True)
class Section:
    """A benchmark's part of RESULTS.md (Markdown under its own ``##`` heading)."""

    title: str
    markdown: str
    figures: dict[str, Any] = field(default_factory=dict)
    """Headline numbers, printed at the end of the run."""


@dataclass(frozen=True, slots=True)
class Benchmark:
    name: str
    title: str
    run: Callable[[Context], Section]


BENCHMARKS: dict[str, Benchmark] = {}


def benchmark(name: str, title: str) -> Callable[[Callable[[Context], Section]], Any]:
    """Register ``fn`` as the benchmark ``name`` (``python -m bench --only name``)."""

    def register(fn: Callable[[Context], Section]) -> Callable[[Context], Section]:
        if name in BENCHMARKS:
            raise ValueError(f"benchmark {name!r} is registered twice")
        BENCHMARKS[name] = Benchmark(name=name, title=title, run=fn)
        return fn

    return register


def load_all() -> dict[str, Benchmark]:
    for module in MODULES:
        importlib.import_module(module)
    return BENCHMARKS
