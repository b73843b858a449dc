"""``make chaos``: the backend fault matrix (issue 13, part 1).

Every sandbox runs in this process; the gateway is served over real HTTP with a 1 s backend
timeout. For each backend and each fault the dashboard query (every domain in one document)
is sent: the faulted backend's fields must come back null with a ``BACKEND_*`` code and
``extensions.backend``, every other field equal to the fault-free answer, no traceback nor
upstream body in the response, and the answer within the timeout (not a multiple of it).
Then each backend's circuit breaker must open under a standing fault and close after it.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from bench.chaos_cells import (
    BACKENDS,
    FAULTS,
    MARKER,
    TIMEOUT,
    BreakerResult,
    CellResult,
    dashboard,
    judge,
)
from bench.reliability import write_section

TITLE = "Backend fault matrix (`make chaos`)"


class Rig:
    """The sandboxes, a gateway pointed at them, and an admin token."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir

    @contextmanager
    def running(self) -> Iterator[Rig]:
        from cryptography.fernet import Fernet

        from bench.context import create_token, scrubbed
        from gateway.sandbox.base import serve_in_thread
        from gateway.sandbox.suite import SandboxSuite
        from gateway.settings import Settings

        suite = SandboxSuite(workdir=self.workdir / "sandboxes")
        suite.start()
        self.suite = suite
        try:
            env = {
                "GATEWAY_STORE": f"sqlite:///{self.workdir / 'gateway.db'}",
                "GATEWAY_DATA_DIR": str(self.workdir),
                "GATEWAY_SECRET_KEYS": Fernet.generate_key().decode(),
                "GATEWAY_BACKEND_TIMEOUT": str(TIMEOUT),
                "GATEWAY_BREAKER_FAILURES": "3",
                "GATEWAY_BREAKER_RESET_SECONDS": "1",
                "GATEWAY_RATE_PER_SECOND": "1000000",
                "GATEWAY_RATE_BURST": "1000000",
                **suite.environ(),
            }
            self.env = env
            self.token = create_token(scrubbed(env), subject="chaos", role="admin")
            settings = Settings.from_env(env)
            self.url, stop = serve_in_thread(suite.create_app(settings), grace=0.5)
            self.client = httpx.Client(
                base_url=self.url,
                headers={"Authorization": f"Bearer {self.token}"},
                timeout=TIMEOUT * 10,
            )
            try:
                yield self
            finally:
                self.client.close()
                stop()
        finally:
            suite.stop()

    def sandbox(self, backend: str) -> Any:
        return self.suite.app(BACKENDS[backend].sandbox)

    def query(self, document: str) -> tuple[int, dict[str, Any], str, float]:
        started = time.perf_counter()
        response = self.client.post("/graphql", json={"query": document})
        elapsed = time.perf_counter() - started
        try:
            body = response.json()
        except ValueError:
            body = {}
        return response.status_code, body, response.text, elapsed

    # -- connection refused: the sandbox's server stops, then starts again on its port ------
    def refuse(self, backend: str) -> Callable[[], None]:
        from gateway.sandbox.base import serve_in_thread

        running = self.suite.running[BACKENDS[backend].sandbox]
        port = int(running.url.rsplit(":", 1)[1])
        running.stop()

        def restore() -> None:
            url, running.stop = serve_in_thread(running.app, port=port, grace=0.5)
            assert url == running.url

        return restore

    def healthy(self, args: dict[str, int], *, within: float = 10.0) -> dict[str, Any]:
        """The fault-free answer for ``args`` (once every breaker let calls through again)."""
        deadline = time.monotonic() + within
        while True:
            status, body, _, _ = self.query(dashboard(args))
            if status == 200 and not body.get("errors"):
                return body["data"]
            if time.monotonic() > deadline:
                raise RuntimeError(f"the gateway did not recover: {body.get('errors')}")
            time.sleep(0.2)


def run_matrix(
    rig: Rig, *, backends: list[str] | None = None, faults: list[str] | None = None
) -> list[CellResult]:
    results: list[CellResult] = []
    names = backends or [b for b in BACKENDS if BACKENDS[b].sandbox in rig.suite.running]
    for index, (fault_name, inject) in enumerate((f, FAULTS[f]) for f in (faults or list(FAULTS))):
        for offset, backend in enumerate(names):
            cell = index * len(names) + offset
            args = {b: 0 for b in BACKENDS}
            baseline = rig.healthy(args)
            # The faulted domain asks for something new (caches cannot answer for it).
            args[backend] = 1 + cell
            undo = inject(rig, backend)
            try:
                status, body, text, elapsed = rig.query(dashboard(args))
            finally:
                undo()
                for other in BACKENDS.values():
                    app = rig.suite.running.get(other.sandbox)
                    if app is not None:
                        app.app.clear_faults()
            slow = fault_name.startswith("slow")
            result = judge(backend, fault_name, status, body, text, elapsed, baseline, slow=slow)
            results.append(result)
            print(result.line(), flush=True)
    return results


def run_breakers(rig: Rig, *, backends: list[str] | None = None) -> list[BreakerResult]:
    """A standing 500: the circuit opens (calls fail fast) within a few queries, and closes
    again within the reset time once the backend answers."""
    out: list[BreakerResult] = []
    names = backends or [b for b in BACKENDS if BACKENDS[b].sandbox in rig.suite.running]
    for backend in names:
        args = {b: 0 for b in BACKENDS}
        rig.healthy(args)
        sandbox = rig.sandbox(backend)
        sandbox.fail("*", status=500, body={"error": MARKER})
        opened_after = None
        for n in range(1, 11):
            args[backend] = 70 + n  # past any cache (the matrix used 1..60)
            _, body, _, _ = rig.query(dashboard(args))
            if any("circuit open" in e.get("message", "") for e in body.get("errors", [])):
                opened_after = n
                break
        sandbox.reset_counts()
        args[backend] = 85
        _, body, _, _ = rig.query(dashboard(args))
        fast = opened_after is not None and sandbox.total == 0  # no call went out
        sandbox.clear_faults()
        started = time.monotonic()
        args[backend] = 90  # asked anew: the answer must come from the backend itself
        rig.healthy(args, within=15)
        out.append(BreakerResult(backend, opened_after, fast, time.monotonic() - started))
        print(out[-1].line(), flush=True)
    return out


def report(cells: list[CellResult], breakers: list[BreakerResult]) -> str:
    faults = list(dict.fromkeys(c.fault for c in cells))
    backends = list(dict.fromkeys(c.backend for c in cells))
    by = {(c.backend, c.fault): c for c in cells}
    failed = [c for c in cells if not c.ok]
    lines = [
        f"Gateway over real HTTP, every sandbox in-process, backend timeout {TIMEOUT:g} s, "
        "breaker after 3 consecutive failures, reset 1 s. Each cell: the dashboard query "
        "(every domain in one document) while one backend has the fault. A cell reads "
        "`code, seconds, others intact`; **bold** marks a cell that broke an expectation "
        "(status 200; the faulted fields null with a `BACKEND_*` code and "
        "`extensions.backend`; every other field equal to the fault-free answer; no "
        "traceback or upstream body; within 1.5x the timeout).",
        "",
        f"**{len(cells) - len(failed)} of {len(cells)} cells as expected.**",
        "",
        "| fault | " + " | ".join(backends) + " |",
        "|---|" + "---|" * len(backends),
    ]
    for fault in faults:
        row = [by[(b, fault)].cell() if (b, fault) in by else "" for b in backends]
        lines.append(f"| {fault} | " + " | ".join(row) + " |")
    if failed:
        lines += ["", "Cells that broke an expectation:", ""]
        lines += [f"- {c.backend} / {c.fault}: {'; '.join(c.problems)}" for c in failed]
    lines += [
        "",
        "Not in this matrix: ACME (renewal jobs run against pebble in `tests/traffic`, and a "
        "failed renewal ends as a failed job with its code) and the LLM providers (a failed "
        "`testProvider` is data: `ProviderTestError { code }`, covered in `tests/providers`). "
        "The Hub's client (`huggingface_hub`) retries 5xx, 429 and broken connections "
        "itself, so those cells end as `BACKEND_TIMEOUT` at the deadline rather than at once.",
    ]
    if breakers:
        lines += [
            "",
            "Circuit breakers under a standing 500, then recovery:",
            "",
            "| backend | opened after (queries) | open circuit fails fast | closed again after |",
            "|---|---:|---|---:|",
        ]
        lines += [b.row() for b in breakers]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.chaos", description=__doc__)
    parser.add_argument("--backend", action="append", choices=sorted(BACKENDS))
    parser.add_argument("--fault", action="append", choices=list(FAULTS))
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    with (
        tempfile.TemporaryDirectory(prefix="ogw-chaos-") as tmp,
        Rig(Path(tmp)).running() as rig,
    ):
        cells = run_matrix(rig, backends=args.backend, faults=args.fault)
        breakers = run_breakers(rig, backends=args.backend)
    text = report(cells, breakers)
    print("\n" + text)
    if not args.no_write and not (args.backend or args.fault):
        write_section(TITLE, text)
    ok = all(c.ok for c in cells) and all(b.ok for b in breakers)
    return 0 if ok else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main(sys.argv[1:]))
