"""Sharing the revenue snapshot between replicas: a small protocol, two implementations.

:class:`LocalShare` shares nothing (one process, or replicas without Redis: each builds its
own). :class:`RedisShare` keeps the latest build in Redis (compressed) with a single-flight
lock, so one replica lists Lago and the others load what it published. Webhook changes travel
separately, through the store's ``lago-webhooks`` log that every replica tails.
"""

from __future__ import annotations

import zlib
from datetime import UTC, date, datetime
from typing import Any, Protocol

import msgspec
import orjson

from gateway.backends.lago.models import LagoCustomer, LagoMonthlyAmount, LagoPlan
from gateway.redisclient import redis_client
from gateway.revenue.facts import InvoiceFact
from gateway.revenue.snapshot import Analytics, InvoicedMonths, RevenueSnapshot, SubscriptionRecord

FORMAT = 1

_UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class SnapshotShare(Protocol):
    async def published(self) -> str | None:
        """The id of the latest shared build, if any."""

    async def load(self) -> tuple[str, bytes] | None: ...

    async def publish(self, build_id: str, blob: bytes, *, ttl: float) -> None: ...

    async def try_lock(self, owner: str, *, ttl: float) -> bool:
        """Whether ``owner`` may build now (nobody else is)."""

    async def unlock(self, owner: str) -> None: ...

    async def close(self) -> None: ...


class LocalShare:
    async def published(self) -> str | None:
        return None

    async def load(self) -> tuple[str, bytes] | None:
        return None

    async def publish(self, build_id: str, blob: bytes, *, ttl: float) -> None:
        return None

    async def try_lock(self, owner: str, *, ttl: float) -> bool:
        return True

    async def unlock(self, owner: str) -> None:
        return None

    async def close(self) -> None:
        return None


class RedisShare:
    def __init__(self, *, url: str, prefix: str) -> None:
        self._redis = redis_client(url, timeout=10, socket_connect_timeout=2, socket_timeout=10)
        self._blob = f"{prefix}revenue:snapshot"
        self._id = f"{prefix}revenue:snapshot:id"
        self._lock = f"{prefix}revenue:lock"
        self._unlock = self._redis.register_script(_UNLOCK)

    async def published(self) -> str | None:
        raw = await self._redis.get(self._id)
        return raw.decode() if raw else None

    async def load(self) -> tuple[str, bytes] | None:
        build_id, blob = await self._redis.mget([self._id, self._blob])
        if not build_id or not blob:
            return None
        return build_id.decode(), blob

    async def publish(self, build_id: str, blob: bytes, *, ttl: float) -> None:
        ms = int(ttl * 1000)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._blob, blob, px=ms).set(self._id, build_id, px=ms)
            await pipe.execute()

    async def try_lock(self, owner: str, *, ttl: float) -> bool:
        return bool(await self._redis.set(self._lock, owner, nx=True, px=int(ttl * 1000)))

    async def unlock(self, owner: str) -> None:
        await self._unlock(keys=[self._lock], args=[owner])

    async def close(self) -> None:
        await self._redis.aclose()


# -- the wire form ---------------------------------------------------------------------------
def _ts(t: datetime | None) -> float | None:
    return None if t is None else t.timestamp()


def _dt(x: float | None) -> datetime | None:
    return None if x is None else datetime.fromtimestamp(x, UTC)


def dumps(s: RevenueSnapshot) -> bytes:
    subs = [
        [r.external_id, r.customer_id, r.plan_code, r.status, _ts(r.started_at),
         _ts(r.terminated_at), r.amount_cents, r.currency]
        for r in s.subscriptions.values()
    ]  # fmt: skip
    customers = msgspec.to_builtins(list(s.customers.values()))
    plans = msgspec.to_builtins(list(s.plans.values()))
    body: dict[str, Any] = {
        "format": FORMAT, "built_at": _ts(s.built_at), "updated_at": _ts(s.updated_at),
        "cursor": s.cursor, "subs": subs, "customers": customers, "plans": plans,
        "analytics": None, "invoiced": None,
    }  # fmt: skip
    if s.analytics is not None:
        body["analytics"] = {
            name: [[r.month.isoformat(), r.currency, r.amount_cents, r.invoices_count]
                   for r in rows]
            for name, rows in (("mrr", s.analytics.mrr), ("gross", s.analytics.gross))
        }  # fmt: skip
    if s.invoiced is not None:
        body["invoiced"] = {
            "since": s.invoiced.since.isoformat(),
            "sums": [[m.isoformat(), c, net, n] for m, by in s.invoiced.sums.items()
                     for c, (net, n) in by.items()],
            "recent": [[k, f.issuing_date.isoformat(), f.status, f.currency, f.net_cents]
                       for k, f in s.invoiced.recent.items()],
        }  # fmt: skip
    return zlib.compress(orjson.dumps(body), 3)


def loads(blob: bytes) -> RevenueSnapshot:
    body = orjson.loads(zlib.decompress(blob))
    if body.get("format") != FORMAT:
        raise ValueError(f"unknown snapshot format {body.get('format')!r}")
    subs = {
        r[0]: SubscriptionRecord(r[0], r[1], r[2], r[3], _dt(r[4]), _dt(r[5]), r[6], r[7])
        for r in body["subs"]
    }
    customers = {c.external_id: c for c in msgspec.convert(body["customers"], list[LagoCustomer])}
    plans = {p.code: p for p in msgspec.convert(body["plans"], list[LagoPlan])}
    analytics = None
    if body["analytics"] is not None:
        rows = {
            name: [
                LagoMonthlyAmount(
                    month=date.fromisoformat(m), currency=c, amount_cents=a, invoices_count=n
                )
                for m, c, a, n in raw
            ]
            for name, raw in body["analytics"].items()
        }
        analytics = Analytics(mrr=rows["mrr"], gross=rows["gross"])
    invoiced = None
    if body["invoiced"] is not None:
        raw = body["invoiced"]
        invoiced = InvoicedMonths(since=date.fromisoformat(raw["since"]))
        for month, currency, net, count in raw["sums"]:
            invoiced.sums.setdefault(date.fromisoformat(month), {})[currency] = (net, count)
        for key, issued, status, currency, net in raw["recent"]:
            invoiced.recent[key] = InvoiceFact(date.fromisoformat(issued), status, currency, net)
    snapshot = RevenueSnapshot(
        subscriptions=subs,
        plans=plans,
        customers=customers,
        analytics=analytics,
        invoiced=invoiced,
        built_at=_dt(body["built_at"]) or datetime.now(UTC),
        cursor=body["cursor"],
    )
    snapshot.updated_at = _dt(body["updated_at"]) or snapshot.built_at
    return snapshot
