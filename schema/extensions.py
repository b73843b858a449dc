"""Schema extensions: error codes, request limits, caches and operation metrics."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import (
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
)
from strawberry.types.graphql import OperationType

from gateway.context import Context
from gateway.errors import ErrorCode, GatewayError
from gateway.metrics import Metrics
from gateway.requestlog import request_id
from gateway.settings import Limits
from schema.limits import QueryLimits, ValidationResults
from schema.providers.redaction import redact_secret_variables

log = logging.getLogger("gateway.errors")

# graphql-core's parser aborts with this message when MaxTokensLimiter's bound is hit.
_TOKEN_LIMIT_MESSAGE = "Document contains more than"


def limit_extensions(
    limits: Limits, metrics: Metrics | None = None
) -> list[Callable[[], SchemaExtension]]:
    validated = ValidationResults(maxsize=limits.validation_cache_size)
    return [
        lambda: MaxTokensLimiter(max_token_count=limits.max_tokens),
        lambda: ParserCache(maxsize=limits.parser_cache_size),
        lambda: QueryLimits(limits=limits, cache=validated, metrics=metrics),
    ]


def format_error(error: GraphQLError) -> GraphQLError:
    """Give the error an ``extensions.code``; hide everything we did not raise on purpose.

    Mutates the error in place: Strawberry hands different list objects to the logger and to
    the response for some paths (parse errors), but the same error objects.
    """
    if not (error.extensions and "code" in error.extensions):
        _code(error)
    # The formatted response must not carry the original exception's details; nor may the
    # error keep a traceback (its own or its cause's), whose frames hold the executor that
    # holds this error: a reference cycle that would leave the whole request's objects to
    # the cycle collector, whose pauses every other request then waits through.
    error.original_error = error.cause = None
    error.__traceback__ = error.__cause__ = error.__context__ = None
    return error


def _code(error: GraphQLError) -> None:
    original = error.original_error
    if isinstance(original, GatewayError):
        error.message = original.message
        error.extensions = original.to_extensions()
    elif original is None or isinstance(original, GraphQLError):
        # Syntax, validation and variable-coercion errors: the request itself is wrong.
        code = ErrorCode.BAD_USER_INPUT
        if _TOKEN_LIMIT_MESSAGE in error.message:
            code = ErrorCode.QUERY_TOO_COMPLEX
        error.extensions = {"code": code.value}
    else:
        log.error("unexpected error at %s", error.path, exc_info=original)
        error.message = "Internal error"
        error.extensions = {"code": ErrorCode.INTERNAL.value}


def format_result(result: Any) -> None:
    rid = request_id()
    for error in getattr(result, "errors", None) or ():
        format_error(error)
        if rid is not None:  # the id the answer's X-Request-ID and the log line carry
            error.extensions = {**(error.extensions or {}), "requestId": rid}


class GatewayOperation(SchemaExtension):
    """Everything the gateway does around one operation, in one extension (each extension
    costs Strawberry hook bookkeeping on every request):

    - a mutation is judged by the caller as the store has it now: signing in may have come
      from the cache (gateway/auth/signin.py), which a change on another replica reaches
      only within half a second; queries keep the cached caller;
    - secrets sent as variables are cut out of error messages (schema/providers);
    - every error gets its ``extensions.code`` and loses what we did not raise on purpose;
    - the operation is counted and timed (``/metrics``).
    """

    def __init__(self, *, metrics: Metrics | None = None) -> None:
        self.metrics = metrics

    async def on_execute(self) -> AsyncIterator[None]:
        ctx = self.execution_context
        context = ctx.context
        if ctx.operation_type is OperationType.MUTATION and isinstance(context, Context):
            await context.refresh()
        yield

    def on_operation(self) -> Iterator[None]:
        start = time.perf_counter()
        yield
        ctx = self.execution_context
        errors = getattr(ctx.result, "errors", None)
        if errors:
            redact_secret_variables(errors, ctx.variables)
            format_result(ctx.result)
        if self.metrics is not None:
            try:
                op_type = ctx.operation_type.value
            except Exception:  # no valid operation in the document
                op_type = "invalid"
            self.metrics.observe_operation(
                name=ctx.operation_name,
                type=op_type,
                ok=not errors,
                seconds=time.perf_counter() - start,
            )
