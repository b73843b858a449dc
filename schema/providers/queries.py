"""Queries of the providers domain: ``providers { kinds list provider(id) }``."""

from __future__ import annotations

from typing import Annotated

import strawberry

from gateway.context import Info
from gateway.providers import ProviderService
from gateway.providers.owners import visible
from schema.cache_control import cache_control
from schema.pagination import Connection, by_key, check_first
from schema.permissions import require
from schema.providers.types import (
    Provider,
    ProviderKind,
    ProviderKindInfo,
    all_kinds,
    provider_service,
)


@strawberry.type
class ProvidersQuery:
    @strawberry.field(description="The nine kinds with their defaults and authentication.")
    def kinds(self) -> list[ProviderKindInfo]:
        return all_kinds()

    @strawberry.field(
        name="list",
        description="Configured providers the caller may see (the platform's, its own; "
        "an admin every subject's), by name.",
    )
    async def list_(
        self,
        info: Info,
        first: int = 50,
        after: str | None = None,
        kind: ProviderKind | None = None,
        enabled: bool | None = None,
        search: Annotated[
            str | None, strawberry.argument(description="Part of the name, any case.")
        ] = None,
        owner: Annotated[
            str | None, strawberry.argument(description="Only this subject's providers.")
        ] = None,
        platform: Annotated[
            bool | None,
            strawberry.argument(description="true: only the platform's; false: only owned ones."),
        ] = None,
    ) -> Connection[Provider]:
        check_first(first)
        actor = info.context.actor
        records = await provider_service(info).visible_to(actor, owner=owner, platform=platform)
        if kind is not None:
            records = [r for r in records if r.kind == kind.value]
        if enabled is not None:
            records = [r for r in records if r.enabled == enabled]
        if search:
            needle = search.strip().lower()
            records = [r for r in records if needle in r.name.lower()]
        # Past the cursor's provider; if it was deleted meanwhile, from the start.
        return by_key(
            records, kind="provider", key=lambda r: r.id, node=Provider.from_record,
            first=first, after=after, restart_if_gone=True,
        )  # fmt: skip

    @strawberry.field
    async def provider(self, info: Info, id: strawberry.ID) -> Provider | None:
        loader = info.context.loaders.get(ProviderService.record_loader, provider_service(info))
        record = await loader.load(str(id))
        if record is None or not visible(record, info.context.actor):
            return None
        return Provider.from_record(record)


@strawberry.type
class Query:
    @strawberry.field(
        extensions=[require("providers", "read")],
        directives=[cache_control(30, domain="providers")],
    )
    def providers(self) -> ProvidersQuery | None:
        return ProvidersQuery()
