"""Request ids and the access log: one JSON line per request (``GATEWAY_LOG_FORMAT=json``).

Every HTTP answer carries ``X-Request-ID`` (the client's, when it sent a sane one, else a new
one), and so does every error in a body (``extensions.requestId``): a user's report names the
line to look for. The line holds who asked what and how it went, never a credential or a
variable: the subject, not the token; the operation's name, not its document.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

access_log = logging.getLogger("gateway.access")

_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_TRACEPARENT = re.compile(r"[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}")


@dataclass(slots=True)
class RequestInfo:
    """What one request learns about itself on its way (filled in by the view and the
    backend observer, read by the access log)."""

    id: str
    trace_id: str | None = None
    operation: str | None = None
    subject: str | None = None
    backend_calls: int = 0


current_request: ContextVar[RequestInfo | None] = ContextVar("current_request", default=None)


def request_id() -> str | None:
    info = current_request.get()
    return info.id if info is not None else None


def _ids(scope: Scope) -> tuple[str | None, str | None]:
    """The client's ``X-Request-ID`` and ``traceparent``, in one pass over the headers."""
    given = traceparent = None
    for key, value in scope.get("headers", ()):
        if key == b"x-request-id":
            given = value.decode("latin-1")
        elif key == b"traceparent":
            traceparent = value.decode("latin-1")
    return given, traceparent


class RequestLog:
    """Pure ASGI (no BaseHTTPMiddleware: it would buffer streams and break websockets)."""

    def __init__(self, app: ASGIApp, *, log_lines: bool) -> None:
        self.app = app
        self.log_lines = log_lines

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given, parent = _ids(scope)
        rid = given if given and _SANE_ID.fullmatch(given) else uuid.uuid4().hex
        traceparent = _TRACEPARENT.fullmatch(parent or "")
        info = RequestInfo(id=rid, trace_id=traceparent.group(1) if traceparent else None)
        token = current_request.set(info)
        status = 0
        start = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", ()))
                headers.append((b"x-request-id", rid.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            current_request.reset(token)
            if self.log_lines and scope["type"] == "http":
                self._line(scope, info, status, time.perf_counter() - start)

    def _line(self, scope: Scope, info: RequestInfo, status: int, seconds: float) -> None:
        fields: dict[str, Any] = {
            "requestId": info.id,
            "traceId": info.trace_id,
            "method": scope.get("method"),
            "path": scope.get("path"),
            "operation": info.operation,
            "subject": info.subject,
            "status": status,
            "durationMs": round(seconds * 1000, 2),
            "backendCalls": info.backend_calls,
        }
        access_log.info(
            "%s %s %s", fields["method"], fields["path"], status, extra={"fields": fields}
        )
