"""Schema extensions: error codes, request limits, caches and operation metrics."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

from graphql import GraphQLError, ValidationContext, ValidationRule
from strawberry.extensions import (
    AddValidationRules,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
    ValidationCache,
    max_aliases,
    query_depth_limiter,
)
from strawberry.types.execution import ExecutionResult

from gateway.errors import ErrorCode, GatewayError
from gateway.metrics import Metrics
from gateway.settings import Limits

log = logging.getLogger("gateway.errors")

_TOO_COMPLEX = {"code": ErrorCode.QUERY_TOO_COMPLEX.value}
# graphql-core's parser aborts with this message when MaxTokensLimiter's bound is hit.
_TOKEN_LIMIT_MESSAGE = "Document contains more than"


class _TaggingContext:
    """Forwards to a ValidationContext, tagging the errors a limit rule reports."""

    def __init__(self, context: ValidationContext) -> None:
        self._context = context

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)

    def report_error(self, error: GraphQLError) -> None:
        error.extensions = {**(error.extensions or {}), **_TOO_COMPLEX}
        self._context.report_error(error)


def _too_complex(rule: type[ValidationRule]) -> type[ValidationRule]:
    class Tagged(rule):  # type: ignore[valid-type, misc]
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(_TaggingContext(context))  # type: ignore[arg-type]

    Tagged.__name__ = f"TooComplex{rule.__name__}"
    return Tagged


def limit_extensions(limits: Limits) -> list[Callable[[], SchemaExtension]]:
    rules = [
        _too_complex(query_depth_limiter.create_validator(limits.max_depth, None, None)),
        _too_complex(max_aliases.create_validator(limits.max_aliases)),
    ]
    return [
        lambda: MaxTokensLimiter(max_token_count=limits.max_tokens),
        lambda: AddValidationRules(rules),
        lambda: ParserCache(maxsize=limits.parser_cache_size),
        lambda: ValidationCache(maxsize=limits.validation_cache_size),
    ]


def format_error(error: GraphQLError) -> GraphQLError:
    """Give every error an ``extensions.code``; hide everything we did not raise on purpose."""
    original = error.original_error
    if isinstance(original, GatewayError):
        return _rebuild(error, original.message, original.to_extensions())
    if error.extensions and "code" in error.extensions:
        return error
    if original is None:
        # Syntax, validation and variable-coercion errors: the request itself is wrong.
        code = ErrorCode.BAD_USER_INPUT
        if error.message.startswith(_TOKEN_LIMIT_MESSAGE):
            code = ErrorCode.QUERY_TOO_COMPLEX
        return _rebuild(error, error.message, {"code": code.value})
    log.error("unexpected error at %s", error.path, exc_info=original)
    return _rebuild(error, "Internal error", {"code": ErrorCode.INTERNAL.value})


def _rebuild(error: GraphQLError, message: str, extensions: dict[str, Any]) -> GraphQLError:
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,
        extensions=extensions,
    )


def format_result(result: Any) -> None:
    if result is not None and getattr(result, "errors", None):
        result.errors = [format_error(e) for e in result.errors]


class ErrorCodes(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        format_result(self.execution_context.result)


class OperationMetrics(SchemaExtension):
    def __init__(self, *, metrics: Metrics) -> None:
        self.metrics = metrics

    def on_operation(self) -> Iterator[None]:
        start = time.perf_counter()
        yield
        ctx = self.execution_context
        result = ctx.result
        ok = not (isinstance(result, ExecutionResult) and result.errors) and not getattr(
            result, "errors", None
        )
        try:
            op_type = ctx.operation_type.value
        except Exception:  # no valid operation in the document
            op_type = "invalid"
        self.metrics.observe_operation(
            name=ctx.operation_name, type=op_type, ok=ok, seconds=time.perf_counter() - start
        )
