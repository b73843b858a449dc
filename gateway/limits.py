"""ASGI middlewares for request limits and HTTP metrics.

The body limit buffers at most ``max_bytes`` before the app sees the request, so an oversized
body is refused with 413 whether or not it announced its length, and nothing downstream ever
reads more than the limit.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.errors import ErrorCode
from gateway.metrics import Metrics
from gateway.responses import error_response

_KNOWN_ROUTES = (
    "/graphql",
    "/healthz",
    "/readyz",
    "/metrics",
    "/v1/usage/events",
    "/v1/webhooks/lago",
)


def _too_large(max_bytes: int) -> ASGIApp:
    message = f"request body is over the limit of {max_bytes} bytes"
    # The client may still be sending; close the connection rather than read the rest.
    return error_response(413, ErrorCode.REQUEST_TOO_LARGE, message, {"connection": "close"})


def _too_slow(seconds: float) -> ASGIApp:
    message = f"the request body did not arrive within {seconds:g} s"
    return error_response(408, ErrorCode.REQUEST_TIMEOUT, message, {"connection": "close"})


class BodyLimit:
    def __init__(self, app: ASGIApp, *, max_bytes: int, timeout: float = 30.0) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout
        """Seconds for the whole body: a client trickling it cannot hold a request open."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared > self.max_bytes:
                    await _too_large(self.max_bytes)(scope, receive, send)
                    return
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.timeout):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > self.max_bytes:
                        await _too_large(self.max_bytes)(scope, receive, send)
                        return
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            await _too_slow(self.timeout)(scope, receive, send)
            return
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class RequestMetrics:
    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        route = (
            path
            if path in _KNOWN_ROUTES
            else ("/graphiql" if path.startswith("/graphiql") else "other")
        )
        status: dict[str, Any] = {"code": 500}

        async def observe(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observe)
        finally:
            self.metrics.http_requests.labels(route, str(status["code"])).inc()
