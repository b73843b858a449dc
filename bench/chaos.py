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
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
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
from bench.chaos_mutations import MUTATION_BACKENDS, AcmeDirectory, run_cell
from bench.reliability import write_section

TITLE = "Backend fault matrix (`make chaos`)"


@dataclass(slots=True)
class Served:
    """A sandbox the rig serves beside the suite's (pebble's directory)."""

    app: Any
    url: str
    stop: Callable[[], None]


class Rig:
    """The sandboxes, pebble when installed, a gateway pointed at them, an admin token."""

    def __init__(self, workdir: Path, *, child: bool = False) -> None:
        self.workdir = workdir
        self.child = child
        """Serve the gateway from ``ops-gateway serve`` in a child process (its memory is
        then its own: the fuzz report measures it), not from a thread of this one."""
        self.pid = os.getpid()
        """The process serving the gateway."""
        self.extra: dict[str, Served] = {}
        self.missing: dict[str, str] = {}
        """Backends left out of the matrix, and why."""

    @contextmanager
    def running(self) -> Iterator[Rig]:
        from cryptography.fernet import Fernet

        from bench.context import create_token, scrubbed
        from gateway.sandbox.base import serve_in_thread
        from gateway.sandbox.suite import SandboxSuite
        from gateway.settings import Settings

        with ExitStack() as stack:
            suite = SandboxSuite(workdir=self.workdir / "sandboxes")
            suite.start()
            stack.callback(suite.stop)
            self.suite = suite
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
                **self._acme(stack),
            }
            self.env = env
            self.token = create_token(scrubbed(env), subject="chaos", role="admin")
            settings = Settings.from_env(env)
            self.url, stop = serve_in_thread(suite.create_app(settings), grace=0.5)
            if self.child:  # the thread's start-up seeded the store; the child serves it
                stop()
                self.url = self._serve_child(stack, scrubbed(env))
            else:
                stack.callback(stop)
            self.client = stack.enter_context(
                httpx.Client(
                    base_url=self.url,
                    headers={"Authorization": f"Bearer {self.token}"},
                    timeout=TIMEOUT * 10,
                )
            )
            yield self

    def _serve_child(self, stack: ExitStack, env: dict[str, str]) -> str:
        from bench.servers import serve_gateway

        port, server = serve_gateway(stack, env=env, log=self.workdir / "serve.log")
        self.pid = server.pid
        return f"http://127.0.0.1:{port}"

    def _acme(self, stack: ExitStack) -> dict[str, str]:
        """Pebble behind a faultable directory; nothing (and a reason) when not installed."""
        from gateway.sandbox.base import serve_in_thread
        from gateway.sandbox.pebble import PebbleMissing, pebble_server

        try:
            pebble = stack.enter_context(pebble_server())
        except PebbleMissing as exc:
            self.missing["acme"] = str(exc)
            return {}
        app = AcmeDirectory(upstream=pebble.directory_url, ca_bundle=pebble.ca_bundle)
        url, stop = serve_in_thread(app, grace=0.5)
        self.extra["acme"] = served = Served(app, url, stop)
        stack.callback(lambda: served.stop())
        return {"ACME_DIRECTORY_URL": f"{url}/dir", "ACME_CA_BUNDLE": pebble.ca_bundle}

    def served(self, backend: str) -> Any:
        """The running sandbox (app, url, stop) that plays ``backend``."""
        if backend in self.extra:
            return self.extra[backend]
        spec = BACKENDS.get(backend) or MUTATION_BACKENDS[backend]
        return self.suite.running[spec.sandbox]

    def backends(self) -> list[str]:
        """Every backend whose sandbox runs: the dashboard's, then the mutations'."""
        names = [b for b in BACKENDS if BACKENDS[b].sandbox in self.suite.running]
        names += [
            b
            for b, spec in MUTATION_BACKENDS.items()
            if b in self.extra or spec.sandbox in self.suite.running
        ]
        return names

    def clear_faults(self) -> None:
        for served in [*self.suite.running.values(), *self.extra.values()]:
            served.app.clear_faults()

    def sandbox(self, backend: str) -> Any:
        return self.served(backend).app

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

        running = self.served(backend)
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
    names = backends or rig.backends()
    for index, (fault_name, inject) in enumerate((f, FAULTS[f]) for f in (faults or list(FAULTS))):
        for offset, backend in enumerate(names):
            cell = index * len(names) + offset
            args = dict.fromkeys(BACKENDS, 0)
            baseline = rig.healthy(args)
            undo = inject(rig, backend)
            try:
                if backend in MUTATION_BACKENDS:
                    result = run_cell(rig, backend, fault_name, baseline)
                else:
                    # The faulted domain asks for something new (no cache holds the answer).
                    args[backend] = 1 + cell
                    status, body, text, elapsed = rig.query(dashboard(args))
                    slow = fault_name.startswith("slow")
                    result = judge(
                        backend, fault_name, status, body, text, elapsed, baseline, slow=slow
                    )
            finally:
                undo()
                rig.clear_faults()
            results.append(result)
            print(result.line(), flush=True)
    return results


def run_breakers(rig: Rig, *, backends: list[str] | None = None) -> list[BreakerResult]:
    """A standing 500: the circuit opens (calls fail fast) within a few queries, and closes
    again within the reset time once the backend answers."""
    out: list[BreakerResult] = []
    names = [b for b in backends or rig.backends() if b in BACKENDS]
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


def report(cells: list[CellResult], breakers: list[BreakerResult], missing: dict[str, str]) -> str:
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
        "`provider` and `acme` are reached by mutations only, and their failures are data: "
        "the provider cell is `testProvider` on the sandbox's OpenAI provider (`timeoutSeconds` "
        "= the backend timeout), its code a `ProviderTestErrorCode`; the acme cell is a "
        "`renewCertificate` job against pebble, whose directory (the first call of every "
        "order) carries the fault, and the job's final `error.code` (transient faults are "
        "retried: 3 attempts with backoff, so its bound is 3 timeouts plus 2.5 s). Both also "
        "send the dashboard query while the fault stands: every domain must answer as "
        "without it. The Hub's client (`huggingface_hub`) retries 5xx, 429 and broken "
        "connections itself, so those cells end as `BACKEND_TIMEOUT` at the deadline rather "
        "than at once.",
    ]
    lines += [f"Not in this run: {b} ({why})." for b, why in missing.items()]
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
    parser.add_argument(
        "--backend", action="append", choices=sorted([*BACKENDS, *MUTATION_BACKENDS])
    )
    parser.add_argument("--fault", action="append", choices=list(FAULTS))
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    with (
        tempfile.TemporaryDirectory(prefix="ogw-chaos-") as tmp,
        Rig(Path(tmp)).running() as rig,
    ):
        cells = run_matrix(rig, backends=args.backend, faults=args.fault)
        breakers = run_breakers(rig, backends=args.backend)
    text = report(cells, breakers, rig.missing)
    print("\n" + text)
    if not args.no_write and not (args.backend or args.fault):
        write_section(TITLE, text)
    ok = all(c.ok for c in cells) and all(b.ok for b in breakers)
    return 0 if ok else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main(sys.argv[1:]))
