"""The /graphql endpoint: Strawberry's ASGI view with our auth, limits, errors and encoder.

HTTP: GraphiQL page for browsers (no auth needed to load the page), otherwise authenticate
(401), rate-limit per subject (429), execute, and answer 400 when the request itself was bad.
WebSocket: the protocol handlers of :mod:`gateway.sockets` (sign-in at ``connection_init``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from cross_web import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import MissingQueryError
from strawberry.http import GraphQLRequestData
from strawberry.schema import BaseSchema
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.graphql import OperationType

from gateway.caller import sign_in
from gateway.context import Context
from gateway.csrf import csrf_refusal
from gateway.errors import (
    ErrorCode,
    GatewayError,
)
from gateway.graphiql import render_graphiql
from gateway.requestlog import current_request
from gateway.responses import error_response, gateway_error_response
from gateway.services import Services
from gateway.sockets import LegacyWSHandler, TransportWSHandler, client_address
from schema.response_cache import ResponseCachePolicy, ResponseCaching

log = logging.getLogger("gateway.view")

# Errors that mean "the request was wrong", so the whole response is a 400 (DESIGN §6).
_REQUEST_ERRORS = {ErrorCode.BAD_USER_INPUT.value, ErrorCode.QUERY_TOO_COMPLEX.value}


class GatewayGraphQL(GraphQL[Context, None]):
    graphql_ws_handler_class = LegacyWSHandler
    graphql_transport_ws_handler_class = TransportWSHandler

    def __init__(
        self, schema: BaseSchema, *, services: Callable[[], Services], **kwargs: Any
    ) -> None:
        super().__init__(schema, **kwargs)
        self._services = services
        self._response_caching: ResponseCaching | None = None

    def _caching(self) -> ResponseCaching | None:
        """The response cache, when ``GATEWAY_RESPONSE_CACHE=on``."""
        cache = self._services().response_cache
        if cache is None:
            return None
        if self._response_caching is None or self._response_caching.cache is not cache:
            policy = ResponseCachePolicy(self.schema)
            self._response_caching = ResponseCaching(policy=policy, cache=cache)
        return self._response_caching

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            services = self._services()
            address = client_address(HTTPConnection(scope))
            if not services.pending_sockets.enter(scope, address):
                await send({"type": "websocket.close", "code": 1008})  # before accept: 403
                return
            gauge = services.metrics.websockets
            gauge.inc()
            try:
                await super().__call__(scope, receive, send)
            finally:
                gauge.dec()
                services.pending_sockets.leave(scope)
            return
        request = Request(scope, receive=receive)
        try:
            response = await self._handle_http(request)
        except HTTPException as exc:
            response = error_response(exc.status_code, ErrorCode.BAD_USER_INPUT, exc.reason)
        except GatewayError as exc:
            response = gateway_error_response(exc)
        except Exception:  # a bug of ours: answer in GraphQL's shape, never with a traceback
            log.exception("unhandled error in /graphql")
            response = error_response(500, ErrorCode.INTERNAL, "Internal error")
        await response(scope, receive, send)

    def should_render_graphql_ide(self, request: Any) -> bool:
        # A GET naming a document (a persisted query's hash, a trusted document's id) is an
        # operation even without `query`; only a bare GET gets the page.
        params = request.query_params
        if any(params.get(name) is not None for name in ("extensions", "documentId")):
            return False
        return super().should_render_graphql_ide(request)

    async def _handle_http(self, request: Request) -> Response:
        if request.method == "GET" and self.should_render_graphql_ide(
            self.request_adapter_class(request)
        ):
            return await render_graphiql(request)
        services = self._services()
        if services.settings.web.csrf_prevention and (
            reason := csrf_refusal(request.method, request.headers)
        ):
            raise HTTPException(400, reason)
        context = request.state.context = await sign_in(services, request)
        try:
            async with services.in_flight.slot(context.principal.subject):
                return await self.run(request)
        finally:
            # The context holds the request, whose receive callable holds uvicorn's cycle
            # object, whose scope holds this state: a reference cycle that would leave every
            # request's objects to the garbage collector (its pauses showed in other
            # clients' p99 under a flood). Dropping the link frees them by refcount.
            del request.state.context

    async def parse_http_body(self, request: Any) -> Any:
        """A JSON POST parsed once, here (Strawberry would parse the content type with the
        email package and the body again); everything else as Strawberry does it."""
        raw_type = request.content_type or ""
        media = raw_type.partition(";")[0].strip().lower()
        if request.method == "GET":
            data = self.parse_query_params(request.query_params)
        elif request.method != "POST" or media != "application/json":
            return await super().parse_http_body(request)
        else:
            data = self.parse_json(await request.get_body())
        if not isinstance(data, dict):  # `null`, `42`, `"x"` or a batch: not one operation
            raise HTTPException(400, "the request body must be a JSON object")
        fields = {
            "query": (str,),
            "documentId": (str,),
            "variables": (dict,),
            "extensions": (dict,),
        }
        for name, kinds in fields.items():
            value = data.get(name)
            if value is not None and not isinstance(value, kinds):
                kind = "a string" if name in ("query", "documentId") else "an object"
                raise HTTPException(400, f"`{name}` must be {kind} or null, if provided")
        operation_name = data.get("operationName")
        if operation_name is not None and not isinstance(operation_name, str):
            raise HTTPException(400, "`operationName` must be a string or null, if provided")
        return RequestData(
            query=data.get("query"),
            variables=data.get("variables"),
            operation_name=operation_name,
            extensions=data.get("extensions"),
            protocol="http",
            document_id=data.get("documentId"),
        )

    async def execute_single(
        self,
        request: Any,
        request_adapter: Any,
        sub_response: Any,
        context: Context,
        root_value: None,
        request_data: Any,
    ) -> Any:
        # Like Strawberry's, but subscriptions over plain HTTP are refused with a clear 400
        # (Strawberry would run them as a query and fail inside); they live on the websocket.
        allowed = {OperationType.QUERY}
        if request_adapter.method == "POST":
            allowed.add(OperationType.MUTATION)

        if (info := current_request.get()) is not None:
            info.operation = request_data.operation_name
        resolved = await context.services.documents.resolve(
            query=request_data.query,
            document_id=getattr(request_data, "document_id", None),
            extensions=request_data.extensions,
            permissions=context.permissions,
        )
        query = resolved.query

        def run() -> Any:
            return self.schema.execute(
                query,
                root_value=root_value,
                variable_values=request_data.variables,
                context_value=context,
                operation_name=request_data.operation_name,
                allowed_operation_types=allowed,
                operation_extensions=request_data.extensions,
            )

        try:
            caching = self._caching()
            if caching is None:
                result = await run()
            else:
                result = await caching.execute(
                    run,
                    query=query,
                    operation_name=request_data.operation_name,
                    variables=request_data.variables,
                    context=context,
                )
            if resolved.register and query is not None and result.data is not None:
                # Registered once it proved valid: a document that does not parse or
                # validate never takes a place among the persisted queries.
                await context.services.documents.registry.register(resolved.register, query)
            return result
        except InvalidOperationTypeError as exc:
            what = exc.operation_type.value
            where = "over the websocket at /graphql" if what == "subscription" else "with POST"
            raise HTTPException(400, f"{what} operations must be sent {where}") from exc
        except CannotGetOperationTypeError as exc:
            raise HTTPException(400, exc.as_http_error_reason()) from exc
        except MissingQueryError as exc:
            raise HTTPException(400, "No GraphQL query found in the request") from exc

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        if isinstance(request, Request):
            context: Context = request.state.context
            context.response = response
            return context
        return Context(services=self._services(), request=request, response=response)

    def encode_json(self, data: object) -> str:
        # str, not bytes: websocket messages must go out as text frames.
        return orjson.dumps(data).decode()

    def decode_json(self, data: str | bytes) -> object:
        return orjson.loads(data)

    def create_response(self, response_data: Any, sub_response: Response) -> Response:
        status = sub_response.status_code or 200
        if isinstance(response_data, dict) and _is_request_error(response_data):
            status = 400
        response = Response(orjson.dumps(response_data), status, media_type="application/json")
        response.headers.raw.extend(sub_response.headers.raw)
        return response


@dataclass
class RequestData(GraphQLRequestData):
    """A request's fields, with GraphQL over HTTP's ``documentId`` (a trusted document)."""

    document_id: str | None = None


def _is_request_error(data: dict[str, Any]) -> bool:
    errors = data.get("errors")
    if data.get("data") is not None or not errors:
        return False
    return all(e.get("extensions", {}).get("code") in _REQUEST_ERRORS for e in errors)
