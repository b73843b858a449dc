"""Rollups: counters per hour and per day, derived from the usage log by a projector.

The log (``usage:events``) is the source of truth. The projector reads it from a cursor kept
in the counter ``usage:progress/rollup`` and applies each step's counter deltas AND the
cursor advance in ONE guarded ``Store.incr_many``: a crash between steps leaves the cursor
where the counters are, so the restarted projector resumes exactly there (self-healing, no
double counting); two replicas racing from one cursor apply the step once (the guard).
After a step is applied its events are published for ``usageEvents`` subscribers.

Counter names: ``{model}\\x1f{provider}\\x1f{metric}`` in ``usage:{h|d}:{bucket}:m`` and
``{subject}\\x1f{model}\\x1f{metric}`` in ``usage:{h|d}:{bucket}:u`` (``\\x1f`` never occurs
in a validated name). Metrics: ``n`` requests, ``e`` errors, ``p``/``c``/``k`` prompt,
completion and cached tokens, ``l`` latency ms (sum), ``r`` reported cost in nano-units and
``rn`` the number of events that reported one.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Iterable
from datetime import UTC, datetime

from gateway.pubsub.base import PubSub
from gateway.store import names
from gateway.store.base import LogEntry, Store
from gateway.usage.buckets import day_key, hour_key, namespace
from gateway.usage.events import UsageEvent
from gateway.usage.prices import PriceBook, PriceTable

log = logging.getLogger(__name__)

SEP = "\x1f"
_PUBLISH_CHUNK = 100

Deltas = dict[str, dict[str, int]]


_METRICS = ("n", "e", "p", "c", "k", "r", "rn", "l")


@functools.lru_cache(maxsize=4096)
def _hour_namespaces(hour: int) -> tuple[str, str, str, str]:
    """(hour m, hour u, day m, day u) namespaces of the hour ``hour`` (unix seconds / 3600)."""
    h = hour_key(hour * 3600)
    d = day_key(hour * 3600)
    return (
        namespace("h", h, "m"),
        namespace("h", h, "u"),
        namespace("d", d, "m"),
        namespace("d", d, "u"),
    )


def rollup_deltas(events: Iterable[UsageEvent]) -> Deltas:
    """The counter increments these events make, by namespace."""
    # Sum per (namespace, row) first: a batch mostly repeats a few hours, models and users.
    sums: dict[tuple[str, str], list[int]] = {}
    for ev in events:
        reported = ev.reported_cost_nanos
        vector = (
            1,
            0 if ev.ok else 1,
            ev.prompt_tokens,
            ev.completion_tokens,
            ev.cached_tokens,
            reported or 0,
            0 if reported is None else 1,
            ev.latency_ms,
        )
        hm, hu, dm, du = _hour_namespaces(int(ev.timestamp // 3600))
        per_model = f"{ev.model}{SEP}{ev.provider}"
        per_user = f"{ev.subject}{SEP}{ev.model}"
        for row in ((hm, per_model), (dm, per_model), (hu, per_user), (du, per_user)):
            acc = sums.get(row)
            if acc is None:
                sums[row] = list(vector)
            else:
                for i, value in enumerate(vector):
                    acc[i] += value
    deltas: Deltas = {}
    for (ns, row), values in sums.items():
        counters = deltas.setdefault(ns, {})
        per_user = ns.endswith(":u")  # latency is kept per model only
        for metric, value in zip(_METRICS, values, strict=True):
            if value and not (per_user and metric == "l"):
                counters[f"{row}{SEP}{metric}"] = value
    return deltas


def event_cost(ev: UsageEvent, table: PriceTable) -> tuple[int | None, str | None]:
    """(cost in femto-units, source): the price in force on the event's day, else the cost the
    proxy reported, else ``(None, None)`` (unpriced: flagged, never counted as zero)."""
    price = table.at(ev.model, datetime.fromtimestamp(ev.timestamp, UTC).date())
    if price is not None:
        return price.cost(ev.prompt_tokens, ev.completion_tokens, ev.cached_tokens), "price"
    if ev.reported_cost_nanos is not None:
        return ev.reported_cost_nanos * 10**6, "reported"
    return None, None


class Projector:
    """Applies the usage log to the rollups; one step at a time per process."""

    def __init__(
        self, *, store: Store, pubsub: PubSub, prices: PriceBook, batch: int = 1000
    ) -> None:
        self._store = store
        self._pubsub = pubsub
        self._prices = prices
        self._batch = batch
        self._lock = asyncio.Lock()
        self._recent: dict[int, LogEntry] = {}
        self.applied = 0
        """The last cursor this process knows to be applied (a lower bound)."""

    async def cursor(self) -> int:
        return (await self._store.counters(names.USAGE_PROGRESS, ["rollup"])).get("rollup", 0)

    def remember(self, entries: list[LogEntry]) -> None:
        """Entries this process just appended: the next step uses them instead of reading
        them back (a cache only; anything missing is read from the log)."""
        if len(self._recent) > 50_000:  # nobody is projecting them: stop caching
            self._recent.clear()
        for entry in entries:
            self._recent[entry.cursor] = entry

    def _cached(self, cursor: int) -> list[LogEntry]:
        out: list[LogEntry] = []
        while len(out) < self._batch and (entry := self._recent.pop(cursor + 1, None)):
            out.append(entry)
            cursor += 1
        if not out and self._recent:  # fell behind the cache (another replica applied it)
            for stale in [c for c in self._recent if c <= cursor]:
                del self._recent[stale]
        return out

    async def catch_up(self, upto: int | None = None) -> int:
        """Apply the log to the rollups; return how many entries this call applied.

        With ``upto``, stop once that cursor is applied, and return at once if it is known to
        be: requests queued behind the lock mostly find theirs applied by the step before
        (group commit). Without it, go on to the end of the log.
        """
        if upto is not None and self.applied >= upto:
            return 0
        async with self._lock:
            if upto is not None and self.applied >= upto:
                return 0
            applied = 0
            # Our own last step is where the cursor usually is; if another replica moved it,
            # the guard refuses the step and we read where it got.
            cursor = self.applied or await self.cursor()
            while True:
                entries = self._cached(cursor) or await self._store.read(
                    names.USAGE_STREAM, after=cursor, limit=self._batch
                )
                if not entries:
                    break
                if await self._apply(cursor, entries):
                    applied += len(entries)
                    cursor = entries[-1].cursor
                else:
                    cursor = await self.cursor()
                self.applied = max(self.applied, cursor)
                if upto is not None and cursor >= upto:
                    break
            return applied

    async def _apply(self, cursor: int, entries: list[LogEntry]) -> bool:
        events = [UsageEvent.from_record(e.data) for e in entries]
        deltas = rollup_deltas(events)
        deltas[names.USAGE_PROGRESS] = {"rollup": entries[-1].cursor - cursor}
        if not await self._store.incr_many(deltas, guard=(names.USAGE_PROGRESS, "rollup", cursor)):
            return False
        try:
            await self._publish(entries, events)
        except Exception:  # live delivery is best effort; the rollups are already applied
            log.warning("could not publish %d usage events", len(events), exc_info=True)
        return True

    async def _publish(self, entries: list[LogEntry], events: list[UsageEvent]) -> None:
        table = await self._prices.table()
        out = []
        for entry, ev in zip(entries, events, strict=True):
            cost, source = event_cost(ev, table)
            out.append(
                {**entry.data, "cursor": entry.cursor, "cost_femto": cost, "cost_source": source}
            )
        for i in range(0, len(out), _PUBLISH_CHUNK):
            await self._pubsub.publish(names.USAGE_CHANNEL, {"events": out[i : i + _PUBLISH_CHUNK]})
