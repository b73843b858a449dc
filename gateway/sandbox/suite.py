"""The sandbox suite: every fake backend in-process, and the settings that point at them.

``ops-gateway serve --sandbox`` and the tests start a :class:`SandboxSuite`; each sandbox is
one :class:`SandboxEntry` in :data:`ENTRIES` — its module, the factory that builds it with no
arguments, and the settings it provides once served. A sandbox module that does not exist
(yet) is skipped and reported, so the suite works while backends are still being written.
"""

from __future__ import annotations

import importlib
import logging
import shutil
import signal
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette

from gateway.sandbox.base import serve_in_thread
from gateway.sandbox.entries import ENTRIES, SandboxEntry
from gateway.settings import Settings

if TYPE_CHECKING:
    from gateway.services import Services

log = logging.getLogger("gateway.sandbox")
# Settings fields whose variable is not simply the upper-cased name.
_ENV_NAMES = {
    "store_url": "GATEWAY_STORE",
    "data_dir": "GATEWAY_DATA_DIR",
    "provider_allow_hosts": "GATEWAY_PROVIDER_ALLOW_HOSTS",
}


@dataclass(slots=True)
class Running:
    entry: SandboxEntry
    app: Any
    url: str
    stop: Callable[[], None] = field(repr=False)


class SandboxSuite:
    """``with SandboxSuite() as suite: settings = settings.replace(**suite.overrides)``.

    Each sandbox runs in its own thread (its own event loop) on 127.0.0.1 and a free port,
    so the suite works from sync code (the CLI, before uvicorn starts) and from async tests.
    """

    def __init__(
        self, *, entries: tuple[SandboxEntry, ...] | None = None, workdir: Path | None = None
    ) -> None:
        self.entries = ENTRIES if entries is None else entries
        self._own_workdir = workdir is None
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="ogw-sandbox-"))
        self.running: dict[str, Running] = {}
        self.skipped: dict[str, str] = {}
        self.overrides: dict[str, object] = {}

    def start(self) -> dict[str, object]:
        """Start every available sandbox; return the Settings overrides pointing at them."""
        try:
            for entry in self.entries:
                factory = _load(entry)
                if factory is None:
                    self.skipped[entry.name] = f"{entry.module} is not available"
                    log.warning("sandbox %s skipped: %s missing", entry.name, entry.module)
                    continue
                home = self.workdir / entry.name
                home.mkdir(parents=True, exist_ok=True)
                app = factory(**(entry.options(home) if entry.options else {}))
                url, stop = serve_in_thread(app, grace=0.5)
                self.running[entry.name] = Running(entry, app, url, stop)
                self.overrides.update(entry.settings(app, url, home))
        except BaseException:
            self.stop()
            raise
        return dict(self.overrides)

    def stop(self) -> None:
        for running in reversed(list(self.running.values())):
            try:
                running.stop()
            except Exception:  # one sandbox failing to stop must not keep the others up
                log.exception("sandbox %s did not stop cleanly", running.entry.name)
        self.running.clear()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    async def seed(self, services: Services) -> None:
        """Run the entries' seeds against a started gateway. Seeds skip records that exist;
        a failing one is logged and the demo goes on without its records."""
        for running in self.running.values():
            if running.entry.seed is None:
                continue
            try:
                await running.entry.seed(running.app, running.url, services)
            except Exception:
                log.exception("sandbox %s: seeding the store failed", running.entry.name)

    def create_app(self, settings: Settings) -> Starlette:
        """The gateway app for ``settings``; the sandboxes' seeds run once its services start."""
        from gateway.app import create_app

        app = create_app(settings)
        inner = app.router.lifespan_context

        @asynccontextmanager
        async def lifespan(app: Starlette) -> AsyncIterator[Any]:
            async with inner(app) as state:
                await self.seed(app.state.services)
                yield state

        app.router.lifespan_context = lifespan
        return app

    def point_webhooks_at(self, gateway_url: str) -> None:
        """Register the gateway's webhook route with the fakes that send webhooks (Lago), as
        an operator does in Lago's settings."""
        lago = self.running.get("lago")
        if lago is not None:
            lago.app.webhooks.add(f"{gateway_url}/v1/webhooks/lago", "jwt")

    def app(self, name: str) -> Any:
        """The running sandbox (its ``counts``, faults, seeded data) by entry name."""
        return self.running[name].app

    def environ(self) -> dict[str, str]:
        """The overrides as the environment variables :meth:`Settings.from_env` reads."""
        return {
            _ENV_NAMES.get(k, k.upper()): ",".join(v) if isinstance(v, tuple) else str(v)
            for k, v in self.overrides.items()
            if v is not None
        }

    def describe(self) -> list[str]:
        lines = [
            f"  {r.entry.name:<10} {r.url}  {r.entry.description}" for r in self.running.values()
        ]
        lines += [f"  {name:<10} (not started: {why})" for name, why in self.skipped.items()]
        return lines

    def __enter__(self) -> SandboxSuite:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _load(entry: SandboxEntry) -> Callable[[], Any] | None:
    try:
        module = importlib.import_module(entry.module)
    except ModuleNotFoundError as exc:
        if exc.name != entry.module:  # a sandbox that exists but is broken must say so
            raise
        return None
    return getattr(module, entry.factory)


def start_sandbox_mode(settings: Settings) -> tuple[SandboxSuite, Settings]:
    """For ``ops-gateway serve --sandbox``: start the suite and point ``settings`` at it.

    With the default store, sandbox mode keeps its store and generated key in the suite's
    temporary folder: every start is a fresh demo (with a fresh admin token printed), and
    nothing mixes with a real installation's data.
    """
    suite = SandboxSuite()
    if settings.store_url == Settings().store_url:
        store = suite.workdir / "gateway.db"
        settings = settings.replace(store_url=f"sqlite:///{store}", data_dir=suite.workdir)
    uvicorn_log = logging.getLogger("uvicorn.error")
    level = uvicorn_log.level
    uvicorn_log.setLevel(logging.WARNING)  # a "Started server process" per sandbox: noise
    try:
        settings = settings.replace(**suite.start())
    finally:
        uvicorn_log.setLevel(level)
    # uvicorn re-raises SIGTERM once it has shut down; with the default handler the process
    # would die before `finally` removes the sandboxes' folder, so make it an exit.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    print("ops-gateway: sandbox mode: fake backends with seeded data:", flush=True)
    for line in suite.describe():
        print(line, flush=True)
    return suite, settings


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)
