"""LagoClient: typed calls to Lago's REST API v1 (``<LAGO_API_URL>/api/v1``, Bearer key).

``*_page`` calls fetch one window of a list with Lago's own ``page``/``per_page`` (what a
connection asks for: cost independent of the list's length); the whole-list calls follow
every page, for the revenue snapshot built in the background (:mod:`.paging`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any, TypedDict, Unpack
from urllib.parse import quote

from gateway.backends.base import BackendClient, CallObserver
from gateway.backends.lago.events import MAX_BATCH_EVENTS, LagoEvent, rejected
from gateway.backends.lago.models import (
    LagoCustomer,
    LagoInvoice,
    LagoMonthlyAmount,
    LagoPlan,
    LagoSubscription,
)
from gateway.backends.lago.paging import MAX_PAGE_SIZE, PagedLists, rows
from gateway.errors import BackendError, BackendNotFound

if TYPE_CHECKING:
    import httpx

    from gateway.settings import Settings

ALL_STATUSES = ("active", "pending", "terminated", "canceled")


class LagoClient(PagedLists, BackendClient):
    health_path = "/plans?per_page=1"

    def __init__(
        self,
        *,
        base_url: str | None,
        api_key: str | None,
        timeout: float = 10.0,
        observer: CallObserver | None = None,
        page_size: int = MAX_PAGE_SIZE,
        page_concurrency: int = 4,
        transport: httpx.AsyncBaseTransport | None = None,
        **options: Any,
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        super().__init__(
            name="lago",
            base_url=api_base(base_url),
            config_var="LAGO_API_URL",
            credentials_var="LAGO_API_KEY",
            timeout=timeout,
            headers=headers,
            observer=observer,
            transport=transport,
            **options,
        )
        self.page_size = max(1, min(page_size, MAX_PAGE_SIZE))
        self.page_concurrency = max(1, page_concurrency)

    @classmethod
    def from_settings(cls, settings: Settings, *, observer: CallObserver | None) -> LagoClient:
        return cls(
            base_url=settings.lago_api_url,
            api_key=settings.lago_api_key,
            timeout=settings.backend_timeout,
            observer=observer,
        )

    # -- objects -----------------------------------------------------------------------------
    async def customers(self) -> list[LagoCustomer]:
        return await self.list_all("/customers", "customers", LagoCustomer)

    async def customers_page(self, *, offset: int, limit: int) -> tuple[list[LagoCustomer], int]:
        return await self.window(
            "/customers", "customers", LagoCustomer, None, offset=offset, limit=limit
        )

    async def customer(self, external_id: str) -> LagoCustomer | None:
        return await self._one(f"/customers/{_seg(external_id)}", "customer", LagoCustomer)

    async def plans(self) -> list[LagoPlan]:
        return await self.list_all("/plans", "plans", LagoPlan)

    async def plans_page(self, *, offset: int, limit: int) -> tuple[list[LagoPlan], int]:
        return await self.window("/plans", "plans", LagoPlan, None, offset=offset, limit=limit)

    async def plan(self, code: str) -> LagoPlan | None:
        return await self._one(f"/plans/{_seg(code)}", "plan", LagoPlan)

    async def subscriptions(
        self,
        *,
        statuses: Sequence[str] = ALL_STATUSES,
        external_customer_id: str | None = None,
        plan_code: str | None = None,
    ) -> list[LagoSubscription]:
        """Every subscription in ``statuses`` (Lago alone would list only active ones)."""
        params = subscription_filters(statuses, external_customer_id, plan_code)
        return await self.list_all("/subscriptions", "subscriptions", LagoSubscription, params)

    async def subscriptions_page(
        self,
        *,
        offset: int,
        limit: int,
        statuses: Sequence[str] = ALL_STATUSES,
        external_customer_id: str | None = None,
        plan_code: str | None = None,
    ) -> tuple[list[LagoSubscription], int]:
        params = subscription_filters(statuses, external_customer_id, plan_code)
        return await self.window(
            "/subscriptions",
            "subscriptions",
            LagoSubscription,
            params,
            offset=offset,
            limit=limit,
        )

    async def invoices(self, **filters: Unpack[InvoiceFilters]) -> list[LagoInvoice]:
        """Every invoice in Lago's order (newest first); filters as :func:`invoice_filters`
        (invoices_page takes the same)."""
        params = invoice_filters(**filters)
        return await self.list_all("/invoices", "invoices", LagoInvoice, params)

    async def invoices_page(
        self, *, offset: int, limit: int, **filters: Unpack[InvoiceFilters]
    ) -> tuple[list[LagoInvoice], int]:
        """Invoices ``offset`` .. ``offset + limit`` in Lago's order (newest first), and the
        total; filters as :func:`invoice_filters`."""
        params = invoice_filters(**filters)
        return await self.window(
            "/invoices", "invoices", LagoInvoice, params, offset=offset, limit=limit
        )

    async def invoice_window(
        self, offset: int, limit: int, **filters: Unpack[InvoiceFilters]
    ) -> tuple[list[LagoInvoice], int]:
        return await self.invoices_page(offset=offset, limit=limit, **filters)

    async def webhook_public_key(self) -> str:
        """Lago's key for webhook JWTs: base64 of a PEM (or DER) RSA public key."""
        response = await self.request("GET", "/webhooks/public_key")
        return response.text.strip()

    # -- analytics ----------------------------------------------------------------------------
    async def mrr(
        self, *, months: int, currency: str | None = None
    ) -> list[LagoMonthlyAmount] | None:
        """Lago's MRR by month and currency; None when the plan lacks analytics (403)."""
        return await self._analytics("/analytics/mrr", "mrrs", months, currency)

    async def gross_revenue(
        self, *, months: int, currency: str | None = None
    ) -> list[LagoMonthlyAmount] | None:
        return await self._analytics("/analytics/gross_revenue", "gross_revenues", months, currency)

    async def _analytics(
        self, path: str, key: str, months: int, currency: str | None
    ) -> list[LagoMonthlyAmount] | None:
        params = _clean({"months": months, "currency": currency})
        response = await self.request("GET", path, params=params, accept=(403,))
        if response.status_code == 403:
            body = self._decode_or_none(response)
            if isinstance(body, dict) and body.get("code") == "feature_unavailable":
                return None  # a premium feature: the caller computes from raw objects
            raise self._map_error("GET", path, response)
        body = self._decode(response)
        return self._parse(path, lambda: [LagoMonthlyAmount.from_wire(r) for r in rows(body, key)])

    # -- events -------------------------------------------------------------------------------
    async def send_events(self, events: Sequence[LagoEvent]) -> None:
        """Send usage events in batches of at most 100 (``POST /events/batch``), in order.

        Retried like an idempotent call: Lago stores a ``transaction_id`` once. Raises
        :class:`~gateway.errors.BackendRejected` (with Lago's ``error_details``) when Lago
        refuses a batch as invalid, and the other BackendError subclasses on failures; batches
        before the failing one have been delivered.
        """
        for start in range(0, len(events), MAX_BATCH_EVENTS):
            chunk = events[start : start + MAX_BATCH_EVENTS]
            body = {"events": [event.to_wire() for event in chunk]}
            response = await self.request(
                "POST", "/events/batch", json=body, idempotent=True, accept=(422,)
            )
            if response.status_code == 422:
                raise rejected(self._decode_or_none(response), first=start)

    async def _one(self, path: str, key: str, model: Any) -> Any:
        try:
            body = await self.get_json(path)
        except BackendNotFound:
            return None
        return self._parse(path, lambda: model.from_wire(body[key]))

    def _decode_or_none(self, response: httpx.Response) -> Any:
        try:
            return self._decode(response)
        except BackendError:
            return None


def api_base(url: str | None) -> str | None:
    """``LAGO_API_URL`` is the server (``https://api.getlago.com``); calls go to /api/v1."""
    if not url:
        return None
    url = url.rstrip("/")
    return url if url.endswith("/api/v1") else f"{url}/api/v1"


class InvoiceFilters(TypedDict, total=False):
    """Lago's filters of ``GET /invoices``, as keyword arguments (every one optional)."""

    external_customer_id: str | None
    issuing_date_from: date | None
    issuing_date_to: date | None
    statuses: Sequence[str]
    payment_statuses: Sequence[str]
    currency: str | None


def invoice_filters(**filters: Unpack[InvoiceFilters]) -> dict[str, Any]:
    since, until = filters.get("issuing_date_from"), filters.get("issuing_date_to")
    return _clean(
        {
            "external_customer_id": filters.get("external_customer_id"),
            "issuing_date_from": since.isoformat() if since else None,
            "issuing_date_to": until.isoformat() if until else None,
            "statuses[]": list(filters.get("statuses", ())),
            "payment_statuses[]": list(filters.get("payment_statuses", ())),
            "currency": filters.get("currency"),
        }
    )


def subscription_filters(
    statuses: Sequence[str], external_customer_id: str | None, plan_code: str | None
) -> dict[str, Any]:
    return _clean(
        {
            "status[]": list(statuses),
            "external_customer_id": external_customer_id,
            "plan_code": plan_code,
        }
    )


def _clean(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None and v != []}


def _seg(value: str) -> str:
    """One path segment: ids are the caller's, so never let them change the path."""
    return quote(value, safe="")
