"""GraphQL types of the providers domain. No type has a field for the API key: only
``hasApiKey`` and ``apiKeyHint`` (its last four characters)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from gateway.context import Info
from gateway.providers import ProviderFailureCode, ProviderRecord, ProviderService
from gateway.providers.models import KINDS, AuthStyle, ProbeError, ProbeErrorCode
from gateway.providers.models import DiscoveredModel as Discovered
from gateway.providers.models import ProviderKind as KindSpec
from gateway.providers.records import LastTest
from schema.enums import enum_of
from schema.failure import Failure
from schema.mirror import mirror
from schema.timestamps import ts


def provider_service(info: Info) -> ProviderService:
    return info.context.services.providers


# The kinds table (gateway/backends/providers/kinds.py) drives the enum: a new kind is one row.
ProviderKind = enum_of(
    "ProviderKind", KINDS, description="The kinds of LLM provider the gateway can talk to."
)


ProviderAuthStyle = strawberry.enum(AuthStyle, name="ProviderAuthStyle")
ProviderTestErrorCode = strawberry.enum(ProbeErrorCode, name="ProviderTestErrorCode")
ProviderErrorCode = strawberry.enum(ProviderFailureCode, name="ProviderErrorCode")


@strawberry.type(description="A kind of provider: defaults, authentication, model list.")
class ProviderKindInfo:
    kind: ProviderKind
    label: str
    default_base_url: str | None = strawberry.field(description="Null: a base URL is required.")
    models_path: str = strawberry.field(description="Appended to the base URL.")
    auth_style: ProviderAuthStyle  # type: ignore[valid-type]
    auth_header: str = strawberry.field(description="How the key is sent, e.g. x-api-key: <key>.")
    key_required: bool
    base_url_required: bool
    docs_url: str

    @classmethod
    def from_spec(cls, spec: KindSpec) -> ProviderKindInfo:
        return mirror(
            cls,
            spec,
            kind=ProviderKind(spec.id),
            auth_style=spec.auth,
            auth_header=spec.auth_description,
        )


def all_kinds() -> list[ProviderKindInfo]:
    return [ProviderKindInfo.from_spec(spec) for spec in KINDS.values()]


@strawberry.type
class ProviderTestError:
    code: ProviderTestErrorCode  # type: ignore[valid-type]
    message: str
    http_status: int | None

    @classmethod
    def from_probe(cls, error: ProbeError) -> ProviderTestError:
        return cls(code=error.code, message=error.message, http_status=error.status)


@strawberry.type(description="The outcome of the last connection test of a provider.")
class ProviderLastTest:
    ok: bool
    tested_at: datetime
    latency_ms: float
    model_count: int
    models: list[str] = strawberry.field(description="Discovered model ids (at most 500).")
    truncated: bool = strawberry.field(description="The provider listed more than was read.")
    error: ProviderTestError | None

    @classmethod
    def from_last(cls, last: LastTest) -> ProviderLastTest:
        error = None
        if last.error_code:
            error = ProviderTestError(
                code=ProbeErrorCode(last.error_code),
                message=last.message or "",
                http_status=last.status,
            )
        return mirror(cls, last, tested_at=ts(last.at), models=list(last.models), error=error)


@strawberry.type
class Provider:
    id: strawberry.ID
    name: str
    kind: ProviderKind
    base_url: str = strawberry.field(description="The URL in use (the kind's default if unset).")
    uses_default_base_url: bool
    has_api_key: bool
    api_key_hint: str | None = strawberry.field(
        description='The key\'s last four characters, e.g. "…3f9a" ("…" for short keys).'
    )
    enabled: bool
    created_at: datetime
    updated_at: datetime
    created_by: str
    updated_by: str
    version: int
    owner: str | None = strawberry.field(
        description="The subject it belongs to (bring-your-own-key); null: the platform's."
    )
    _config_rev: strawberry.Private[int]

    @strawberry.field
    def kind_info(self) -> ProviderKindInfo:
        return ProviderKindInfo.from_spec(KINDS[self.kind.value])

    @strawberry.field(description="Null if never tested, or if the URL or key changed since.")
    async def last_test(self, info: Info) -> ProviderLastTest | None:
        loader = info.context.loaders.get(ProviderService.test_loader, provider_service(info))
        stored = await loader.load(str(self.id))
        if stored is None:
            return None
        last = LastTest.from_json(stored)
        return ProviderLastTest.from_last(last) if last.config_rev == self._config_rev else None

    @classmethod
    def from_record(cls, r: ProviderRecord) -> Provider:
        return mirror(
            cls,
            r,
            id=strawberry.ID(r.id),
            kind=ProviderKind(r.kind),
            base_url=r.effective_base_url,
            uses_default_base_url=r.base_url is None,
            created_at=ts(r.created_at),
            updated_at=ts(r.updated_at),
            _config_rev=r.config_rev,
        )


@strawberry.type
class DiscoveredModel:
    id: str
    display_name: str | None
    owner: str | None
    context_length: int | None
    created_at: datetime | None
    description: str | None

    @classmethod
    def from_model(cls, m: Discovered) -> DiscoveredModel:
        return mirror(cls, m, created_at=ts(m.created_at))


@strawberry.type(description="A connection test: a real call to the model-list endpoint.")
class ProviderTestResult:
    provider: Provider
    ok: bool
    latency_ms: float
    model_count: int
    models: list[DiscoveredModel]
    truncated: bool
    error: ProviderTestError | None
    tested_at: datetime


@strawberry.type(description="An expected failure of a provider mutation.")
class ProviderError(Failure[ProviderErrorCode]):  # type: ignore[valid-type]
    pass


@strawberry.type
class DeletedProvider:
    id: strawberry.ID
    name: str


ProviderResult = Annotated[Provider | ProviderError, strawberry.union("ProviderResult")]
DeleteProviderResult = Annotated[
    DeletedProvider | ProviderError, strawberry.union("DeleteProviderResult")
]
TestProviderResult = Annotated[
    ProviderTestResult | ProviderError, strawberry.union("TestProviderResult")
]
