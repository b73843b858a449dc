"""The GraphQL schema: one package per domain, merged into the root types here."""

from __future__ import annotations

from collections.abc import Callable

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from gateway.metrics import Metrics
from gateway.settings import Limits
from schema.access.mutations import AccessMutation
from schema.access.queries import Query as AccessRootQuery
from schema.access.subscriptions import AccessSubscription
from schema.extensions import ErrorCodes, OperationMetrics, format_error, limit_extensions

Query = merge_types("Query", (AccessRootQuery,))
Mutation = merge_types("Mutation", (AccessMutation,))
Subscription = merge_types("Subscription", (AccessSubscription,))


class GatewaySchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Instead of Strawberry's logging of every error with the whole document: code them,
        # and log only the unexpected ones (format_error does), briefly.
        for error in errors:
            format_error(error)


def build_schema(
    *, limits: Limits | None = None, metrics: Metrics | None = None
) -> strawberry.Schema:
    extensions: list[Callable[[], SchemaExtension]] = list(limit_extensions(limits or Limits()))
    if metrics is not None:
        extensions.append(lambda: OperationMetrics(metrics=metrics))
    # Last, so it sees (and codes) the errors every other extension produced.
    extensions.append(ErrorCodes)
    return GatewaySchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
    )


def export_sdl() -> str:
    return build_schema().as_str() + "\n"
