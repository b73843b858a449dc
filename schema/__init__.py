"""The GraphQL schema: one package per domain, merged into the root types here."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from gateway.metrics import Metrics
from gateway.settings import Limits
from schema.access.mutations import AccessMutation
from schema.access.queries import Query as AccessRootQuery
from schema.access.subscriptions import AccessSubscription
from schema.agents.queries import Query as AgentsRootQuery
from schema.execution import FastListExecution
from schema.extensions import (
    GatewayOperation,
    format_error,
    limit_extensions,
)
from schema.models.mutations import ModelsMutation
from schema.models.queries import Query as ModelsRootQuery
from schema.models.subscriptions import ModelsSubscription
from schema.providers.mutations import ProviderMutation
from schema.providers.queries import Query as ProvidersRootQuery
from schema.revenue.queries import Query as RevenueRootQuery
from schema.scalars import SCALARS
from schema.traffic.mutations import TrafficMutation
from schema.traffic.queries import Query as TrafficRootQuery
from schema.traffic.subscriptions import TrafficSubscription
from schema.usage.mutations import UsageMutation
from schema.usage.queries import Query as UsageRootQuery
from schema.usage.subscriptions import UsageSubscription

Query = merge_types(
    "Query",
    (
        AccessRootQuery,
        AgentsRootQuery,
        ProvidersRootQuery,
        UsageRootQuery,
        TrafficRootQuery,
        RevenueRootQuery,
        ModelsRootQuery,
    ),
)
Mutation = merge_types(
    "Mutation", (AccessMutation, ProviderMutation, UsageMutation, TrafficMutation, ModelsMutation)
)
Subscription = merge_types(
    "Subscription",
    (AccessSubscription, UsageSubscription, TrafficSubscription, ModelsSubscription),
)


class GatewaySchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Instead of Strawberry's logging of every error with the whole document: code them,
        # and log only the unexpected ones (format_error does), briefly.
        for error in errors:
            format_error(error)


if TYPE_CHECKING:
    from opentelemetry.trace import Tracer


def build_schema(
    *,
    limits: Limits | None = None,
    metrics: Metrics | None = None,
    tracer: Tracer | None = None,
) -> strawberry.Schema:
    extensions: list[Callable[[], SchemaExtension]] = []
    if tracer is not None:  # first, so that its operation span holds the others' work
        from schema.tracing import OperationTracing

        extensions.append(lambda: OperationTracing(tracer=tracer))
    extensions += limit_extensions(limits or Limits(), metrics)
    extensions.append(lambda: GatewayOperation(metrics=metrics))
    return GatewaySchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        config=StrawberryConfig(scalar_map=SCALARS),
        execution_context_class=FastListExecution,
    )


def export_sdl() -> str:
    return build_schema().as_str() + "\n"
