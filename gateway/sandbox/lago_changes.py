"""Changes in the Lago sandbox that Lago reports by webhook: subscriptions terminated
(``DELETE /subscriptions/{external_id}``) or created (``POST /subscriptions``), plus the
webhook endpoints and public key (:mod:`gateway.sandbox.lago_webhooks`)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.sandbox.lago_http import error, invalid, json_body, paginate
from gateway.sandbox.lago_seed import LagoData, iso
from gateway.sandbox.lago_webhooks import WebhookSender


class LagoChanges:
    def __init__(self, data: LagoData, webhooks: WebhookSender) -> None:
        self.data = data
        self.webhooks = webhooks
        self.generation = 0
        """Moves on every change, so the sandbox's cached filtered lists are dropped."""

    def routes(self) -> list[Route]:
        return [
            Route("/subscriptions", self._create_subscription, methods=["POST"]),
            Route("/subscriptions/{external_id}", self._terminate, methods=["DELETE"]),
            Route("/webhooks/public_key", self._public_key),
            Route("/webhook_endpoints", self._webhook_endpoints, methods=["GET", "POST"]),
        ]

    async def _terminate(self, request: Request) -> Response:
        """``DELETE /subscriptions/{external_id}``: terminate now (webhook sent)."""
        found = self.data.by_subscription.get(request.path_params["external_id"])
        if found is None:
            return error(404, "subscription_not_found")
        if found["status"] != "active":
            return invalid({"status": ["not_active"]})
        found.update(status="terminated", terminated_at=iso(datetime.now(UTC)))
        self.generation += 1
        self._notify(request, "subscription.terminated", "subscription", found)
        return JSONResponse({"subscription": found})

    async def _create_subscription(self, request: Request) -> Response:
        """``POST /subscriptions``: a subscription starting now (``subscription.started``)."""
        body = await json_body(request)
        sub = body.get("subscription") if isinstance(body, dict) else None
        if not isinstance(sub, dict):
            return error(400, message="param is missing or the value is empty: subscription")
        customer = self.data.by_customer.get(str(sub.get("external_customer_id")))
        plan = self.data.by_plan.get(str(sub.get("plan_code")))
        external_id = str(sub.get("external_id") or uuid.uuid4())
        if customer is None or plan is None:
            return error(404, "customer_not_found" if customer is None else "plan_not_found")
        if external_id in self.data.by_subscription:
            return invalid({"external_id": ["value_already_exist"]})
        now = iso(datetime.now(UTC))
        created = {
            "lago_id": str(uuid.uuid4()), "external_id": external_id,
            "lago_customer_id": customer["lago_id"],
            "external_customer_id": customer["external_id"],
            "billing_time": "calendar", "name": sub.get("name") or plan["name"],
            "plan_code": plan["code"], "status": "active", "created_at": now,
            "subscription_at": now, "started_at": now, "terminated_at": None, "ending_at": None,
            "canceled_at": None, "previous_plan_code": None, "next_plan_code": None,
        }  # fmt: skip
        self.data.subscriptions.insert(0, created)  # Lago lists newest first
        self.data.by_subscription[external_id] = created
        self.generation += 1
        self._notify(request, "subscription.started", "subscription", created)
        return JSONResponse({"subscription": created})

    async def _public_key(self, request: Request) -> Response:
        return Response(self.webhooks.public_key, media_type="text/plain")

    async def _webhook_endpoints(self, request: Request) -> Response:
        if request.method == "POST":
            body = await json_body(request)
            spec = body.get("webhook_endpoint") if isinstance(body, dict) else None
            url = spec.get("webhook_url") if isinstance(spec, dict) else None
            algo = spec.get("signature_algo", "jwt") if isinstance(spec, dict) else "jwt"
            if not isinstance(url, str) or algo not in ("jwt", "hmac"):
                return invalid({"webhook_url": ["invalid_url"]})
            return JSONResponse({"webhook_endpoint": self.webhooks.add(url, algo).to_wire()})
        endpoints = [e.to_wire() for e in self.webhooks.endpoints]
        return paginate(request, "webhook_endpoints", endpoints)

    def _notify(self, request: Request, kind: str, object_type: str, obj: dict[str, Any]) -> None:
        # Lago signs as the server it is: the issuer is this sandbox's own URL.
        self.webhooks.issuer = f"{request.url.scheme}://{request.url.netloc}"
        self.webhooks.send(kind, object_type, obj)
