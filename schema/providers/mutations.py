"""Mutations of the providers domain. Expected failures come back as ``ProviderError`` data;
a failed connection test is a ``ProviderTestResult`` with ``ok: false`` and an error code."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

import strawberry

from gateway.context import Info
from gateway.providers import UNCHANGED, ProviderFailure
from schema.permissions import require
from schema.providers.types import (
    DeletedProvider,
    DeleteProviderResult,
    DiscoveredModel,
    Provider,
    ProviderError,
    ProviderKind,
    ProviderResult,
    ProviderTestError,
    ProviderTestResult,
    TestProviderResult,
    provider_service,
)

T = TypeVar("T")


async def _attempt(make: Callable[[], Awaitable[T]]) -> T | ProviderError:
    try:
        return await make()
    except ProviderFailure as failure:
        return ProviderError.from_failure(failure)


def _given(value: Any) -> Any:
    return UNCHANGED if value is strawberry.UNSET else value


@strawberry.input
class CreateProviderInput:
    name: str
    kind: ProviderKind
    base_url: str | None = strawberry.field(
        default=None, description="Omit for the kind's default; required for CUSTOM."
    )
    api_key: str | None = strawberry.field(
        default=None, description="Stored encrypted; never returned."
    )
    enabled: bool = True
    owner: str | None = strawberry.field(
        default=None,
        description="The subject it belongs to (bring-your-own-key): yourself, or anyone for "
        "an admin; null: the platform's.",
    )


@strawberry.input(description="Omitted fields stay as they are.")
class UpdateProviderInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    base_url: str | None = strawberry.field(
        default=strawberry.UNSET, description="null: back to the kind's default."
    )
    api_key: str | None = strawberry.field(
        default=strawberry.UNSET, description="A new key; null removes the stored key."
    )
    enabled: bool | None = strawberry.UNSET
    expected_version: int | None = strawberry.field(
        default=None, description="Fail with CONFLICT if the provider changed since."
    )


@strawberry.type
class ProviderMutation:
    @strawberry.mutation(extensions=[require("providers", "write")])
    async def create_provider(self, info: Info, input: CreateProviderInput) -> ProviderResult:
        async def run() -> Provider:
            record = await provider_service(info).create(
                info.context.actor,
                name=input.name,
                kind=input.kind.value,
                base_url=input.base_url,
                api_key=input.api_key,
                enabled=input.enabled,
                owner=input.owner,
            )
            return Provider.from_record(record)

        return await _attempt(run)

    @strawberry.mutation(extensions=[require("providers", "write")])
    async def update_provider(self, info: Info, input: UpdateProviderInput) -> ProviderResult:
        async def run() -> Provider:
            name, enabled = _given(input.name), _given(input.enabled)
            record = await provider_service(info).update(
                info.context.actor,
                id=str(input.id),
                # null name or enabled means "unchanged": neither can be reset.
                name=UNCHANGED if name is None else name,
                base_url=_given(input.base_url),
                api_key=_given(input.api_key),
                enabled=UNCHANGED if enabled is None else enabled,
                expected_version=input.expected_version,
            )
            return Provider.from_record(record)

        return await _attempt(run)

    @strawberry.mutation(
        extensions=[require("providers", "write")],
        description="One's own provider with providers:write; the platform's (or, for an "
        "admin, another subject's) also needs providers:delete.",
    )
    async def delete_provider(
        self, info: Info, id: strawberry.ID, expected_version: int | None = None
    ) -> DeleteProviderResult:
        async def run() -> DeletedProvider:
            record = await provider_service(info).delete(
                info.context.actor, id=str(id), expected_version=expected_version
            )
            return DeletedProvider(id=strawberry.ID(record.id), name=record.name)

        return await _attempt(run)

    @strawberry.mutation(
        extensions=[require("providers", "write")],
        description="Sets enabled, or flips it when enabled is omitted.",
    )
    async def toggle_provider(
        self, info: Info, id: strawberry.ID, enabled: bool | None = None
    ) -> ProviderResult:
        async def run() -> Provider:
            service = provider_service(info)
            record = await service.toggle(info.context.actor, id=str(id), enabled=enabled)
            return Provider.from_record(record)

        return await _attempt(run)

    @strawberry.mutation(
        extensions=[require("providers", "execute")],
        description="Calls the provider's model-list endpoint now (disabled providers too).",
    )
    async def test_provider(
        self,
        info: Info,
        id: strawberry.ID,
        timeout_seconds: Annotated[
            float | None, strawberry.argument(description="Whole test, 0.1 to 30 s; default 10.")
        ] = None,
    ) -> TestProviderResult:
        async def run() -> ProviderTestResult:
            service = provider_service(info)
            actor = info.context.actor
            record, result = await service.test(actor, id=str(id), timeout=timeout_seconds)
            return ProviderTestResult(
                provider=Provider.from_record(record),
                ok=result.ok,
                latency_ms=result.latency_ms,
                model_count=len(result.models),
                models=[DiscoveredModel.from_model(m) for m in result.models],
                truncated=result.truncated,
                error=ProviderTestError.from_probe(result.error) if result.error else None,
                tested_at=datetime.now(tz=UTC),
            )

        return await _attempt(run)
