"""Keeping the revenue snapshot: build or adopt it, refresh it, apply webhooks (issue 11).

One keeper per process. At start it obtains a snapshot in the background: the one another
replica published (Redis), else it builds one under the single-flight lock. Then, every
``poll`` seconds (at once when pub/sub says a webhook arrived), it applies new entries of the
store's ``lago-webhooks`` log, and every ``refresh`` seconds it adopts a newer shared build or
rebuilds. A request waits only for the very first snapshot; after that it never waits on Lago.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import datetime

from gateway.backends.lago.client import LagoClient
from gateway.errors import BackendTimeout
from gateway.pubsub.base import PubSub
from gateway.revenue import share as wire
from gateway.revenue.builder import build_invoiced, build_snapshot
from gateway.revenue.report import warm
from gateway.revenue.share import SnapshotShare
from gateway.revenue.snapshot import RevenueSnapshot, utcnow
from gateway.revenue.webhooks import LagoWebhook, apply
from gateway.store import names
from gateway.store.base import Store
from gateway.tasks import cancel_and_wait

log = logging.getLogger(__name__)


class SnapshotKeeper:
    def __init__(
        self,
        *,
        lago: LagoClient,
        store: Store,
        pubsub: PubSub,
        share: SnapshotShare,
        refresh: float,
        wait: float = 10.0,
        poll: float = 1.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._lago = lago
        self._store = store
        self._pubsub = pubsub
        self._share = share
        self._refresh = refresh
        self._wait = wait
        self._poll = poll
        self._clock = clock
        self._owner = secrets.token_hex(8)
        self._snapshot: RevenueSnapshot | None = None
        self._build_id: str | None = None
        self._refreshed = 0.0
        self._obtaining: asyncio.Task[RevenueSnapshot] | None = None
        self._invoicing: asyncio.Task[None] | None = None
        self._warming: asyncio.Task[None] | None = None
        self._warm_again = False
        self._signal = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._writing = asyncio.Lock()
        self.listeners: list[Callable[[str], Awaitable[None]]] = []
        """Told ``"revenue"`` after webhooks changed the snapshot (the response cache)."""

    # -- for the service --------------------------------------------------------------------
    def peek(self) -> RevenueSnapshot | None:
        return self._snapshot

    async def current(self) -> RevenueSnapshot:
        """The snapshot; only the first calls of a process may wait, for the first build,
        and no longer than a backend call may take (the build goes on in the background)."""
        if self._snapshot is not None:
            return self._snapshot
        if self._obtaining is None or self._obtaining.done():
            self._obtaining = asyncio.create_task(self._obtain(), name="revenue-first-snapshot")
        try:
            return await asyncio.wait_for(asyncio.shield(self._obtaining), self._wait)
        except TimeoutError:
            raise BackendTimeout(
                "lago: the revenue snapshot is still being built; retry shortly", backend="lago"
            ) from None

    async def with_invoices(self) -> RevenueSnapshot:
        """The snapshot with invoiced revenue by month (built on first need, then kept)."""
        snapshot = await self.current()
        if snapshot.invoiced is None:
            if self._invoicing is None or self._invoicing.done():
                self._invoicing = asyncio.create_task(self._add_invoices(snapshot))
            await asyncio.shield(self._invoicing)
        return self._snapshot or snapshot

    async def ingest(self, hook: LagoWebhook, key: str) -> bool:
        """Record a verified webhook (once per key) and apply it; False for a duplicate."""
        result = await self._store.append(names.LAGO_WEBHOOK_STREAM, [(key, hook.to_message())])
        if result.entries:
            with contextlib.suppress(Exception):  # the poll catches up without it
                await self._pubsub.publish(
                    names.LAGO_WEBHOOK_CHANNEL, {"cursor": result.entries[0].cursor}
                )
        await self._catch_up()
        return bool(result.entries)

    # -- lifecycle --------------------------------------------------------------------------
    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._listen(), name="revenue-webhook-listener"),
            asyncio.create_task(self._keep(), name="revenue-snapshot-keeper"),
        ]

    async def stop(self) -> None:
        others = (self._obtaining, self._invoicing, self._warming)
        tasks = [*self._tasks, *(t for t in others if t)]
        await cancel_and_wait(tasks)
        self._tasks = []
        await self._share.close()

    async def _listen(self) -> None:
        while True:
            try:
                async with self._pubsub.subscribe(names.LAGO_WEBHOOK_CHANNEL) as messages:
                    async for _ in messages:
                        self._signal.set()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("revenue webhook listener: %s; retrying", exc)
            await asyncio.sleep(self._poll)

    async def _keep(self) -> None:
        failures = 0
        retry_at = 0.0
        while True:
            try:
                if self._snapshot is None:
                    if time.monotonic() >= retry_at:
                        await self.current()
                else:
                    await self._catch_up()
                    if time.monotonic() - self._refreshed >= self._refresh:
                        await self._renew()
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Lago down, Redis down: keep serving what we have
                failures += 1
                wait = min(60.0, 2.0**failures, self._refresh)
                log.warning("revenue snapshot: %s; retrying in %.0fs", exc, wait)
                retry_at = time.monotonic() + wait
                self._refreshed = time.monotonic() - self._refresh + wait
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._signal.wait(), self._poll)
            self._signal.clear()

    # -- obtaining ----------------------------------------------------------------------------
    async def _obtain(self) -> RevenueSnapshot:
        adopted = await self._adopt_shared()
        if adopted is not None:
            return adopted
        deadline = time.monotonic() + max(120.0, self._refresh)
        while True:
            if await self._share.try_lock(self._owner, ttl=max(120.0, self._refresh)):
                return await self._build_and_publish()
            if time.monotonic() > deadline:  # the lock's holder vanished: build anyway
                return await self._build_and_publish(locked=False)
            await asyncio.sleep(0.5)  # another replica is building: wait for its snapshot
            adopted = await self._adopt_shared()
            if adopted is not None:
                return adopted

    async def _renew(self) -> None:
        published = await self._share.published()
        fresher = published is not None and published != self._build_id
        if fresher and await self._adopt_shared() is not None:
            return
        if await self._share.try_lock(self._owner, ttl=max(120.0, self._refresh)):
            await self._build_and_publish()
        else:
            self._refreshed = time.monotonic() - self._refresh + self._poll * 5

    async def _adopt_shared(self) -> RevenueSnapshot | None:
        found = await self._share.load()
        if found is None or found[0] == self._build_id:
            return None
        build_id, blob = found
        try:
            snapshot = await asyncio.to_thread(wire.loads, blob)
        except Exception as exc:  # another version's format, a torn write: build our own
            log.warning("revenue snapshot %s in the share does not load (%s)", build_id, exc)
            return None
        await self._install(snapshot, build_id)
        return snapshot

    async def _build_and_publish(self, *, locked: bool = True) -> RevenueSnapshot:
        try:
            cursor = await self._last_cursor()
            want_invoices = self._snapshot is not None and self._snapshot.invoiced is not None
            snapshot = await build_snapshot(
                self._lago, now=self._clock(), cursor=cursor, invoices=want_invoices
            )
            build_id = f"{snapshot.built_at.timestamp():.3f}-{self._owner}"
            blob = await asyncio.to_thread(wire.dumps, snapshot)
            await self._share.publish(build_id, blob, ttl=max(3 * self._refresh, 600.0))
            await self._install(snapshot, build_id)
            return snapshot
        finally:
            if locked:
                await self._share.unlock(self._owner)

    async def _install(self, snapshot: RevenueSnapshot, build_id: str) -> None:
        async with self._writing:
            await self._apply_after(snapshot)
            self._snapshot, self._build_id = snapshot, build_id
            self._refreshed = time.monotonic()
        self._schedule_warm()

    async def _add_invoices(self, snapshot: RevenueSnapshot) -> None:
        invoiced = await build_invoiced(self._lago, self._clock())
        async with self._writing:
            target = self._snapshot or snapshot
            target.invoiced = invoiced
            target.changed()
        self._schedule_warm()

    # -- webhooks -----------------------------------------------------------------------------
    async def _catch_up(self) -> None:
        if self._snapshot is None:
            return
        async with self._writing:
            await self._apply_after(self._snapshot)

    async def _apply_after(self, snapshot: RevenueSnapshot) -> None:
        """Apply the log's entries past the snapshot's cursor (its build saw the rest)."""
        changed = False
        while True:
            entries = await self._store.read(
                names.LAGO_WEBHOOK_STREAM, after=snapshot.cursor, limit=500
            )
            for entry in entries:
                changed |= apply(snapshot, LagoWebhook.parse_message(entry.data))
                snapshot.cursor = entry.cursor
            if len(entries) < 500:
                break
        if changed:
            snapshot.changed(at=self._clock())
            self._schedule_warm()
            for listener in self.listeners:
                try:
                    await listener("revenue")
                except Exception as exc:  # a cache that cannot hear it still ages out
                    log.warning("revenue change listener: %s", exc)

    # -- warming ------------------------------------------------------------------------------
    def _schedule_warm(self) -> None:
        """Compute the common figures of a new version in the background, so a dashboard
        does not wait for them (at 100,000 subscriptions they take a couple of seconds)."""
        if self._warming is not None and not self._warming.done():
            self._warm_again = True
            return
        self._warming = asyncio.create_task(self._warm(), name="revenue-warm")

    async def _warm(self) -> None:
        while True:
            self._warm_again = False
            live = self._snapshot
            if live is None:
                return
            copy = live.frozen_copy()  # webhooks may change the live one meanwhile
            try:
                await asyncio.to_thread(warm, copy)
            except Exception as exc:  # a request will compute it itself
                log.warning("warming revenue figures failed: %s", exc)
            if self._snapshot is live:
                live.adopt_memo(copy)
            if not self._warm_again:
                return

    async def _last_cursor(self) -> int:
        newest = await self._store.read(names.LAGO_WEBHOOK_STREAM, limit=1, reverse=True)
        return newest[0].cursor if newest else 0
