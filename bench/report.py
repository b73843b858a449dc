"""RESULTS.md: a header (date, machine, method) and one section per benchmark that ran."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from bench.context import Options
from bench.registry import Section
from bench.servers import ROOT, http_impl, loop_impl

PACKAGES = (
    "strawberry-graphql",
    "graphql-core",
    "starlette",
    "uvicorn",
    "uvloop",
    "httptools",
    "httpx",
    "httpcore",
    "orjson",
)


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _commit() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT, capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()  # fmt: skip
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT, capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head}{' (with uncommitted changes)' if dirty else ''}"


def machine() -> list[tuple[str, str]]:
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    cpus = f"{os.cpu_count()}" + (f" ({affinity} usable)" if affinity != os.cpu_count() else "")
    rows = [
        ("CPUs (nproc)", cpus),
        ("CPU", _cpu_model()),
        ("OS", f"{platform.system()} {platform.release()}"),
        ("Python", f"{platform.python_implementation()} {platform.python_version()}"),
        ("commit", _commit()),
    ]
    rows += [(name, _version(name)) for name in PACKAGES]
    return rows


def method(options: Options) -> list[str]:
    return [
        f"- Each target is served by uvicorn in its own process: 1 worker, "
        f"`--loop {loop_impl()} --http {http_impl()} --no-access-log --log-level warning`, "
        "on 127.0.0.1 and a free port. The gateway runs through its production factory "
        "(`gateway.cli:app_from_env`) on a fresh SQLite store, with an admin API token made "
        "by `ops-gateway token create --subject bench --role admin` and the per-subject rate "
        "limit raised out of reach (`GATEWAY_RATE_PER_SECOND`/`GATEWAY_RATE_BURST` = 1e9).",
        f"- The load generator runs in {options.clients} separate process"
        f"{'es' if options.clients > 1 else ''} (`python -m bench.load`): "
        f"**{options.concurrency} keep-alive connections**, one request in flight on each "
        f"(closed loop), client `{options.client}`. **Warm-up {options.warmup:g} s**, then a "
        f"**{options.duration:g} s window**: every request completing in the window is "
        "counted and its latency recorded; nothing is sent after it.",
        "- Correctness: before loading, one response per scenario is checked in full (e.g. "
        '`me.subject == "bench"`, every selected field of the `access` query present, no '
        "`errors`). Under load, any response that is not status 200 with exactly that body "
        "counts as an error (and is classified: HTTP status, GraphQL `errors`, other body, "
        "connection, timeout).",
        "- Scenarios run one after another against idle servers; each target's "
        "server and client CPU time are sampled over the window from /proc.",
    ]


def render(
    options: Options, sections: list[Section], argv: list[str], notes: list[str] | None = None
) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    command = "python -m bench" + (" " + " ".join(argv) if argv else "")
    out = [
        "# ops-gateway benchmarks",
        "",
        f"Generated {now} by `{command}` (`make bench`). This file is rewritten on every "
        "run: change `bench/`, not this file.",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in machine()),
        "",
        "## Method",
        "",
        *method(options),
        "",
    ]
    if notes:
        out += ["## Notes on this run", "", *(f"- {note}" for note in notes), ""]
    for section in sections:
        out += [f"## {section.title}", "", section.markdown.rstrip(), ""]
    return "\n".join(out).rstrip() + "\n"


def write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)
