"""RevenueService: the one thing ``schema/revenue`` calls (issue 11).

Lists page through to Lago (one call for a page of up to 100, whatever Lago's size), figures
come from the shared snapshot (:mod:`gateway.revenue.keeper`), nested objects from the
snapshot or per-key calls (:mod:`gateway.revenue.loaders`), and Lago's webhooks are verified
here and fed to the snapshot.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar, Unpack

from gateway.backends.breaker import CircuitBreaker
from gateway.backends.lago.client import ALL_STATUSES, InvoiceFilters, LagoClient, api_base
from gateway.backends.lago.models import LagoCustomer, LagoInvoice, LagoPlan, LagoSubscription
from gateway.errors import NotConfigured
from gateway.pubsub.base import PubSub
from gateway.revenue.keeper import SnapshotKeeper
from gateway.revenue.loaders import CustomerLoader, PlanLoader
from gateway.revenue.report import Report
from gateway.revenue.share import LocalShare, RedisShare, SnapshotShare
from gateway.revenue.snapshot import RevenueSnapshot
from gateway.revenue.webhooks import LagoWebhook, SignatureVerifier
from gateway.settings import Settings
from gateway.store.base import Store

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    offset: int


class RevenueService:
    def __init__(
        self,
        *,
        lago: LagoClient,
        keeper: SnapshotKeeper,
        verifier: SignatureVerifier,
        owned: tuple[LagoClient, ...] = (),
    ) -> None:
        self.lago = lago
        self.keeper = keeper
        self.verifier = verifier
        self._owned = owned

    def on_change(self, listener: Callable[[str], Awaitable[None]]) -> None:
        """``await listener("revenue")`` whenever a webhook changed the snapshot (on every
        replica: each applies the webhook log)."""
        self.keeper.listeners.append(listener)

    @classmethod
    def from_settings(
        cls, settings: Settings, *, lago: LagoClient, store: Store, pubsub: PubSub
    ) -> RevenueService:
        share: SnapshotShare = LocalShare()
        if settings.redis_url:
            share = RedisShare(url=settings.redis_url, prefix=settings.redis_prefix)
        # The snapshot lists whole collections in the background: its own client, so its
        # load and failures never trip the breaker that interactive requests rely on.
        builder = LagoClient(
            base_url=settings.lago_api_url,
            api_key=settings.lago_api_key,
            timeout=max(settings.backend_timeout, 30.0),
            observer=lago.observer,
            breaker=CircuitBreaker(name="lago-snapshot", failure_threshold=10**9),
        )
        refresh = settings.lago_snapshot_seconds
        keeper = SnapshotKeeper(
            lago=builder,
            store=store,
            pubsub=pubsub,
            share=share,
            refresh=refresh,
            wait=settings.backend_timeout,
        )
        issuer = settings.lago_webhook_issuer or _server(settings.lago_api_url)
        verifier = SignatureVerifier(
            fetch_public_key=lago.webhook_public_key,
            hmac_key=settings.lago_webhook_hmac_key or settings.lago_api_key,
            issuer=issuer,
        )
        return cls(lago=lago, keeper=keeper, verifier=verifier, owned=(builder,))

    def check_configured(self) -> None:
        if not self.lago.configured:
            raise NotConfigured(self.lago.name, self.lago.config_var)

    async def start(self) -> None:
        if self.lago.configured:
            await self.keeper.start()

    async def stop(self) -> None:
        await self.keeper.stop()
        for client in self._owned:
            await client.aclose()

    # -- lists (one window of Lago's own list) ------------------------------------------------
    async def customers(self, *, offset: int, limit: int) -> Page[LagoCustomer]:
        items, total = await self.lago.customers_page(offset=offset, limit=limit)
        return Page(items, total, offset)

    async def plans(self, *, offset: int, limit: int) -> Page[LagoPlan]:
        items, total = await self.lago.plans_page(offset=offset, limit=limit)
        return Page(items, total, offset)

    async def subscriptions(
        self,
        *,
        offset: int,
        limit: int,
        statuses: Sequence[str] | None = None,
        customer_id: str | None = None,
        plan_code: str | None = None,
    ) -> Page[LagoSubscription]:
        items, total = await self.lago.subscriptions_page(
            offset=offset,
            limit=limit,
            statuses=statuses or ALL_STATUSES,
            external_customer_id=customer_id,
            plan_code=plan_code,
        )
        return Page(items, total, offset)

    async def invoices(
        self, *, offset: int, limit: int, **filters: Unpack[InvoiceFilters]
    ) -> Page[LagoInvoice]:
        items, total = await self.lago.invoices_page(offset=offset, limit=limit, **filters)
        return Page(items, total, offset)

    # -- nested objects -----------------------------------------------------------------------
    async def customers_by_id(
        self, ids: Iterable[str], loader: CustomerLoader
    ) -> dict[str, LagoCustomer]:
        """The customers the snapshot holds, at once; the rest through the request's loader
        (one GET per missing key). Unknown ids are absent."""
        held = snapshot.customers if (snapshot := self.keeper.peek()) else {}
        return await _by_key(ids, held, loader)

    async def plans_by_code(self, codes: Iterable[str], loader: PlanLoader) -> dict[str, LagoPlan]:
        held = snapshot.plans if (snapshot := self.keeper.peek()) else {}
        return await _by_key(codes, held, loader)

    def customer_loader(self) -> CustomerLoader:
        return CustomerLoader(self.lago, self.keeper.peek())

    def plan_loader(self) -> PlanLoader:
        return PlanLoader(self.lago, self.keeper.peek())

    # -- figures -------------------------------------------------------------------------------
    async def snapshot(self) -> RevenueSnapshot:
        return await self.keeper.current()

    async def report(self, as_of: datetime | None, *, invoices: bool = False) -> Report:
        """Figures at ``as_of``, or at the snapshot's own instant (its ``asOf``) when None."""
        snapshot = await self.keeper.current()
        report = Report(snapshot, as_of or snapshot.as_of, now=as_of is None)
        if invoices and report.needs_invoices(True):
            snapshot = await self.keeper.with_invoices()
            report = Report(snapshot, as_of or snapshot.as_of, now=as_of is None)
        return report

    # -- webhooks ------------------------------------------------------------------------------
    async def receive_webhook(self, body: bytes, headers: Mapping[str, str]) -> bool:
        """Verify (raises WebhookRejected) and apply a Lago webhook; False for a repeat."""
        await self.verifier.verify(body, headers)
        hook = LagoWebhook.parse(body)
        key = headers.get("x-lago-unique-key") or _digest(body)
        return await self.keeper.ingest(hook, key[:200])


async def _by_key(keys: Iterable[str], held: Mapping[str, T], loader: Any) -> dict[str, T]:
    found = {k: held[k] for k in dict.fromkeys(keys) if k in held}
    missing = [k for k in dict.fromkeys(keys) if k not in found]
    if missing:
        for key, value in zip(missing, await loader.load_many(missing), strict=True):
            if value is not None:
                found[key] = value
    return found


def _server(url: str | None) -> str | None:
    """The Lago server's URL (the JWT issuer), without the ``/api/v1`` the client adds."""
    base = api_base(url)
    return base.removesuffix("/api/v1") if base else None


def _digest(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()
