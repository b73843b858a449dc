"""A fake Lago speaking its REST API v1 over seeded data (DESIGN §8).

``LagoSandbox()`` needs no arguments: deterministic data (:mod:`gateway.sandbox.lago_seed`),
the API key :data:`DEFAULT_API_KEY`. It serves Lago's paths under ``/api/v1`` with Lago's
fields, pagination ``meta`` and error bodies (401 without the Bearer key, 404 ``*_not_found``,
422 ``validation_errors``); ``analytics = False`` makes the analytics endpoints answer 403
``feature_unavailable`` like a Lago plan without them. Usage events are accepted on
``POST /events`` and ``/events/batch`` and kept (once per ``transaction_id``) in
:attr:`LagoSandbox.events`. Latency, faults and request counts come from :class:`Sandbox`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.sandbox.base import Sandbox
from gateway.sandbox.lago_analytics import gross_revenue_rows, mrr_rows
from gateway.sandbox.lago_changes import LagoChanges
from gateway.sandbox.lago_events import MAX_BATCH, EventStore, validate
from gateway.sandbox.lago_http import error, invalid, json_body, number, paginate
from gateway.sandbox.lago_seed import DEFAULT_SEED, LagoData, seed_data
from gateway.sandbox.lago_webhooks import WebhookSender

DEFAULT_API_KEY = "lago-sandbox-key"


class _RequireKey:
    """``Authorization: Bearer <key>`` on every /api path, answered like Lago when wrong."""

    def __init__(self, app: ASGIApp, sandbox: LagoSandbox) -> None:
        self.app = app
        self.sandbox = sandbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/api/"):
            headers = dict(scope["headers"])
            if headers.get(b"authorization", b"").decode() != f"Bearer {self.sandbox.api_key}":
                await error(401)(scope, receive, send)
                return
        await self.app(scope, receive, send)


class LagoSandbox(Sandbox):
    def __init__(
        self,
        *,
        data: LagoData | None = None,
        now: datetime | None = None,
        seed: int = DEFAULT_SEED,
        customers: int = 300,
        api_key: str = DEFAULT_API_KEY,
        analytics: bool = True,
        latency: float = 0.0,
    ) -> None:
        self.data = data or seed_data(now=now, seed=seed, customers=customers)
        self.api_key = api_key
        self.analytics = analytics
        """False: the analytics endpoints answer 403 feature_unavailable (a knob)."""
        self._events = EventStore(self.data.by_subscription)
        self.webhooks = WebhookSender(hmac_key=api_key)
        """Registered endpoints get Lago's signed webhooks when subscriptions change."""
        self._changes = LagoChanges(self.data, self.webhooks)
        self._filtered: dict[tuple[Any, ...], tuple[int, list[Any]]] = {}
        self._generation = 0
        api = Starlette(routes=self._routes(), exception_handlers={404: self._not_found})
        app = Starlette(routes=[Route("/health", self._health), Mount("/api/v1", api)])
        super().__init__(_RequireKey(app, self), latency=latency)

    # -- for tests and the CLI -------------------------------------------------------------
    @property
    def events(self) -> list[dict[str, Any]]:
        """Usage events received, in arrival order, each once per ``transaction_id``."""
        return self._events.all()

    def event(self, transaction_id: str) -> dict[str, Any] | None:
        return self._events.get(transaction_id)

    @property
    def receipts(self) -> dict[str, int]:
        """How many times each ``transaction_id`` was received, re-sends included (Lago keeps
        one event per id; this shows whether the sender sent it once)."""
        return self._events.receipts()

    def clear_events(self) -> None:
        self._events.clear()

    def settings_for(self, base_url: str) -> dict[str, str]:
        """Settings overrides pointing the gateway at this sandbox served at ``base_url``."""
        return {"lago_api_url": base_url, "lago_api_key": self.api_key}

    # -- routes ------------------------------------------------------------------------------
    def _routes(self) -> list[Route]:
        return [
            Route("/customers", self._customers),
            Route("/customers/{external_id}", self._customer),
            Route("/plans", self._plans),
            Route("/plans/{code}", self._plan),
            Route("/subscriptions", self._subscriptions, methods=["GET"]),
            Route("/subscriptions/{external_id}", self._subscription, methods=["GET"]),
            *self._changes.routes(),
            Route("/invoices", self._invoices),
            Route("/invoices/{lago_id}", self._invoice),
            Route("/analytics/mrr", self._mrr),
            Route("/analytics/gross_revenue", self._gross_revenue),
            Route("/events", self._list_events, methods=["GET"]),
            Route("/events", self._create_event, methods=["POST"]),
            Route("/events/batch", self._create_batch, methods=["POST"]),
        ]

    async def _not_found(self, request: Request, exc: Exception) -> Response:
        return error(404, "not_found")

    async def _health(self, request: Request) -> Response:
        return JSONResponse({"version": "sandbox", "github_url": "", "message": "Success"})

    async def _customers(self, request: Request) -> Response:
        return paginate(request, "customers", self.data.customers)

    async def _customer(self, request: Request) -> Response:
        found = self.data.by_customer.get(request.path_params["external_id"])
        return JSONResponse({"customer": found}) if found else error(404, "customer_not_found")

    async def _plans(self, request: Request) -> Response:
        return paginate(request, "plans", self.data.plans)

    async def _plan(self, request: Request) -> Response:
        found = self.data.by_plan.get(request.path_params["code"])
        return JSONResponse({"plan": found}) if found else error(404, "plan_not_found")

    async def _subscriptions(self, request: Request) -> Response:
        q = request.query_params
        statuses = frozenset(q.getlist("status[]")) or frozenset({"active"})  # Lago's default
        key = (statuses, q.get("external_customer_id"), q.get("plan_code"))
        # Filtered once per change of the data: a page of a 100,000-item list stays cheap.
        if self._changes.generation != self._generation or len(self._filtered) > 256:
            self._filtered.clear()
            self._generation = self._changes.generation
        cached = self._filtered.get(key)
        if cached is None:
            items = [
                s
                for s in self.data.subscriptions
                if s["status"] in statuses
                and key[1] in (None, s["external_customer_id"])
                and key[2] in (None, s["plan_code"])
            ]
            cached = self._filtered[key] = (self._generation, items)
        return paginate(request, "subscriptions", cached[1])

    async def _subscription(self, request: Request) -> Response:
        found = self.data.by_subscription.get(request.path_params["external_id"])
        if found is None:
            return error(404, "subscription_not_found")
        return JSONResponse({"subscription": found})

    async def _invoices(self, request: Request) -> Response:
        q = request.query_params
        bounds: dict[str, str] = {}
        for name in ("issuing_date_from", "issuing_date_to"):
            raw = q.get(name)
            if raw is not None:
                try:
                    bounds[name] = date.fromisoformat(raw).isoformat()
                except ValueError:
                    return invalid({name: ["invalid_date"]})
        statuses, paid = set(q.getlist("statuses[]")), set(q.getlist("payment_statuses[]"))
        items = [
            inv
            for inv in self.data.invoices
            if q.get("external_customer_id") in (None, inv["customer"]["external_id"])
            and q.get("currency") in (None, inv["currency"])
            and bounds.get("issuing_date_from", "") <= inv["issuing_date"]
            and inv["issuing_date"] <= bounds.get("issuing_date_to", "9999")
            and (not statuses or inv["status"] in statuses)
            and (not paid or inv["payment_status"] in paid)
        ]
        return paginate(request, "invoices", items)

    async def _invoice(self, request: Request) -> Response:
        found = self.data.by_invoice.get(request.path_params["lago_id"])
        return JSONResponse({"invoice": found}) if found else error(404, "invoice_not_found")

    def _analytics_params(self, request: Request) -> tuple[int, str | None] | Response:
        if not self.analytics:
            return error(403, "feature_unavailable")
        months = number(request, "months", 12)
        return min(months, 120), request.query_params.get("currency")

    async def _mrr(self, request: Request) -> Response:
        params = self._analytics_params(request)
        if isinstance(params, Response):
            return params
        return JSONResponse({"mrrs": mrr_rows(self.data, *params)})

    async def _gross_revenue(self, request: Request) -> Response:
        params = self._analytics_params(request)
        if isinstance(params, Response):
            return params
        customer = request.query_params.get("external_customer_id")
        return JSONResponse({"gross_revenues": gross_revenue_rows(self.data, *params, customer)})

    # -- events ------------------------------------------------------------------------------
    async def _list_events(self, request: Request) -> Response:
        q = request.query_params
        items = [
            e
            for e in reversed(self._events.all())
            if q.get("external_subscription_id") in (None, e["external_subscription_id"])
            and q.get("code") in (None, e["code"])
        ]
        return paginate(request, "events", items)

    async def _create_event(self, request: Request) -> Response:
        body = await json_body(request)
        if not isinstance(body, dict) or "event" not in body:
            return error(400, message="param is missing or the value is empty: event")
        errors = validate(body["event"])
        if errors:
            return invalid(errors)
        return JSONResponse({"event": self._events.add(body["event"])})

    async def _create_batch(self, request: Request) -> Response:
        body = await json_body(request)
        events = body.get("events") if isinstance(body, dict) else None
        if not isinstance(events, list) or not events:
            return error(400, message="param is missing or the value is empty: events")
        if len(events) > MAX_BATCH:
            return invalid({"events": ["too_many_events"]})
        errors = {str(i): e for i, e in enumerate(validate(ev) for ev in events) if e}
        if errors:  # all or nothing, like Lago
            return invalid(errors)
        return JSONResponse({"events": [self._events.add(ev) for ev in events]})


def create_app(**options: Any) -> LagoSandbox:
    """The sandbox with its defaults (``ops-gateway serve --sandbox``); see LagoSandbox."""
    return LagoSandbox(**options)
