"""The websocket protocols (graphql-transport-ws and the legacy graphql-ws) with our gate.

Both sign the connection in from its ``connection_init`` payload, refuse it past the
per-subject connection cap or the per-address failure budget, rate-limit ``subscribe``
messages with the subject's bucket, cap the operations running on one connection, and
register the session so that access changes re-authorize or close it
(:mod:`gateway.auth.sessions`).

Close codes: 4403 bad credential or revoked access, 4429 too many connections or failures.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from graphql import GraphQLError
from starlette.requests import HTTPConnection
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage as TransportInit,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import SubscribeMessage
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import (
    ConnectionInitMessage as LegacyInit,
)
from strawberry.subscriptions.protocols.graphql_ws.types import StartMessage

from gateway.auth.sessions import Session
from gateway.context import Context
from gateway.errors import BadUserInput, ErrorCode, GatewayError, Unauthenticated

log = logging.getLogger(__name__)

TOO_MANY = 4429
FORBIDDEN = 4403


def client_address(connection: HTTPConnection | None) -> str:
    client = connection.client if connection is not None else None
    return client.host if client is not None else "unknown"


class Refused(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class _Gate:
    """What both protocol handlers share (a mixin: ``context`` and ``websocket`` are theirs)."""

    context: Context
    websocket: Any
    _session: Session | None = None

    async def admit(self) -> None:
        """Sign the connection in; :class:`Refused` says how to close it if not."""
        ctx = self.context
        services = ctx.services
        services.pending_sockets.leave(ctx.request.scope)  # it has sent connection_init
        address = client_address(ctx.request)
        if services.lockout.refused_for(address) is not None:
            raise Refused(TOO_MANY, "too many failed authentications; retry later")
        try:
            principal = await services.authenticator.authenticate_connection_params(
                ctx.connection_params
            )
        except Unauthenticated as exc:
            if await services.lockout.failed(address) is not None:
                raise Refused(TOO_MANY, "too many failed authentications; retry later") from None
            raise Refused(FORBIDDEN, exc.message) from None
        await ctx.sign_in(principal)
        session = Session(
            principal=principal, permissions=ctx.permissions, apply=self._apply, end=self.end
        )
        if not services.sessions.open(session):
            cap = services.settings.limits.ws_max_connections
            raise Refused(TOO_MANY, f"at most {cap} open websockets per subject")
        self._session = session

    def release(self) -> None:
        if self._session is not None:
            self.context.services.sessions.close(self._session)
            self._session = None

    def _apply(self, roles: frozenset[str], permissions: frozenset[str]) -> None:
        self.context.roles, self.context.permissions = roles, permissions

    async def refusal(self, running: int) -> dict[str, Any] | None:
        """Why a new operation may not start (an error to send), or ``None``."""
        ctx = self.context
        cap = ctx.services.settings.limits.ws_max_subscriptions
        extensions: dict[str, Any] = {"code": ErrorCode.RATE_LIMITED.value}
        if running >= cap:
            message = f"at most {cap} operations at once on one connection"
        elif ctx.principal is None:
            return None
        elif (wait := await ctx.services.rate_limiter.hit(ctx.principal.subject)) is not None:
            message = "rate limit exceeded; slow down"
            extensions["retryAfter"] = round(wait, 3)
        else:
            return None
        if ctx.principal is not None:  # a flood of refused subscribes paces itself
            await ctx.services.penalty.serve(ctx.principal.subject)
        return GraphQLError(message, extensions=extensions).formatted

    async def document_refusal(self, payload: Any) -> dict[str, Any] | None:
        """Resolve the operation's document in place (a trusted document by id, a persisted
        query by hash) or say why it may not run (``GATEWAY_DOCUMENTS``), as an error."""
        if not isinstance(payload, dict):
            return None  # the protocol handler answers a malformed message itself
        document_id = payload.get("documentId")
        extensions = payload.get("extensions")
        try:
            if document_id is not None and not isinstance(document_id, str):
                raise BadUserInput("`documentId` must be a string")
            resolved = await self.context.services.documents.resolve(
                query=payload.get("query"),
                document_id=document_id,
                extensions=extensions if isinstance(extensions, dict) else None,
                permissions=self.context.permissions,
            )
        except GatewayError as exc:
            return GraphQLError(exc.message, extensions=exc.to_extensions()).formatted
        if resolved.query is not None:
            payload["query"] = resolved.query
        return None

    async def end(self, code: int, reason: str) -> None:
        """Stop every operation, then close the socket (access was revoked)."""
        await self._stop_operations()
        with contextlib.suppress(Exception):  # the client may be gone already
            await self.websocket.close(code=code, reason=reason)

    async def _stop_operations(self) -> None:
        raise NotImplementedError


class TransportWSHandler(_Gate, BaseGraphQLTransportWSHandler[Context, None]):
    async def handle(self) -> None:
        try:
            await super().handle()
        finally:
            self.release()

    async def handle_connection_init(self, message: TransportInit) -> None:
        if self.connection_timed_out:
            return
        if self.connection_init_timeout_task:
            self.connection_init_timeout_task.cancel()
        payload = message.get("payload", {})
        if not isinstance(payload, dict):
            await self.websocket.close(code=4400, reason="Invalid connection init payload")
            return
        if self.connection_init_received:
            await self.websocket.close(code=4429, reason="Too many initialisation requests")
            return
        self.connection_init_received = True
        self.context.connection_params = payload
        try:
            await self.admit()
        except Refused as refused:
            await self.websocket.close(code=refused.code, reason=refused.reason[:120])
            return
        await self.send_message({"type": "connection_ack"})
        self.connection_acknowledged = True

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        op_id = message.get("id")
        if self.connection_acknowledged and op_id is not None and op_id not in self.operations:
            error = await self.refusal(len(self.operations)) or await self.document_refusal(
                message.get("payload")
            )
            if error is not None:
                await self.send_message({"id": op_id, "type": "error", "payload": [error]})
                return
        await super().handle_subscribe(message)

    async def _stop_operations(self) -> None:
        for op_id in list(self.operations):
            await self.cleanup_operation(op_id)


class LegacyWSHandler(_Gate, BaseGraphQLWSHandler[Context, None]):
    """graphql-ws (legacy); rejected connections get ``connection_error`` then 4403/4429."""

    async def handle(self) -> None:
        try:
            await super().handle()
        finally:
            self.release()

    async def handle_connection_init(self, message: LegacyInit) -> None:
        payload = message.get("payload")
        self.context.connection_params = payload if isinstance(payload, dict) else None
        try:
            await self.admit()
        except Refused as refused:
            await self.send_message(
                {"type": "connection_error", "payload": {"message": refused.reason}}
            )
            await self.websocket.close(code=refused.code, reason=refused.reason[:120])
            return
        await self.send_message({"type": "connection_ack"})
        self.connection_acknowledged = True
        if self.keep_alive:
            self.keep_alive_task = asyncio.create_task(self.handle_keep_alive())

    async def handle_start(self, message: StartMessage) -> None:
        op_id = message.get("id")
        if self.connection_acknowledged and op_id is not None and op_id not in self.tasks:
            error = await self.refusal(len(self.tasks)) or await self.document_refusal(
                message.get("payload")
            )
            if error is not None:
                await self.send_message({"type": "error", "id": op_id, "payload": error})
                return
        await super().handle_start(message)

    async def _stop_operations(self) -> None:
        if self.keep_alive_task:
            self.keep_alive_task.cancel()
        await self.cleanup()
