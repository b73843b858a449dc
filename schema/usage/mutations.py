"""``recordUsage`` and ``setModelPrice``. Expected failures come back as ``UsageError`` data.

Decimal amounts and timestamps are taken as strings and validated here, so a malformed one is
an error in the answer (with its field), not a rejected document.
"""

from __future__ import annotations

import contextlib
from datetime import date
from enum import Enum
from typing import Annotated

import strawberry

from gateway.context import Info
from gateway.errors import BadUserInput, ConflictError
from gateway.usage.buckets import today
from gateway.usage.events import InvalidBatch, InvalidEvent, Rejection, check_text, event_dict
from gateway.usage.prices import parse_price
from gateway.usage.service import IngestResult
from schema.failure import Failure
from schema.mirror import mirror
from schema.permissions import require
from schema.usage.types import ModelPrice, UsageStatus


@strawberry.type
class RejectedUsageEvent:
    index: int = strawberry.field(description="Position in the batch, from 0.")
    id: str | None
    field: str | None
    reason: str

    @classmethod
    def of(cls, r: Rejection) -> RejectedUsageEvent:
        return mirror(cls, r)


@strawberry.type(description="What happened to each event of a batch.")
class UsageIngestion:
    accepted: int
    duplicates: int = strawberry.field(description="Ids already recorded (counted once).")
    duplicate_ids: list[str]
    rejected: list[RejectedUsageEvent]

    @classmethod
    def of(cls, result: IngestResult) -> UsageIngestion:
        return cls(
            accepted=result.accepted,
            duplicates=len(result.duplicates),
            duplicate_ids=result.duplicates,
            rejected=[RejectedUsageEvent.of(r) for r in result.rejected],
        )


@strawberry.enum
class UsageErrorCode(Enum):
    INVALID = "INVALID"
    CONFLICT = "CONFLICT"


@strawberry.type(description="An expected failure of a usage mutation.")
class UsageError(Failure[UsageErrorCode]):  # type: ignore[valid-type]
    pass


RecordUsageResult = Annotated[UsageIngestion | UsageError, strawberry.union("RecordUsageResult")]
SetModelPriceResult = Annotated[ModelPrice | UsageError, strawberry.union("SetModelPriceResult")]


@strawberry.input(description="One LLM call, as an LLM proxy reports it.")
class UsageEventInput:
    id: str = strawberry.field(description="Idempotency key: a repeated id is counted once.")
    timestamp: str = strawberry.field(
        description="ISO 8601 (UTC if no offset) or unix seconds, as a string."
    )
    subject: str = strawberry.field(description="The user (also Lago's subscription id).")
    model: str
    provider: str
    prompt_tokens: int = strawberry.field(description="Including cached tokens.")
    completion_tokens: int
    cached_tokens: int = 0
    latency_ms: float = 0
    status: UsageStatus = UsageStatus.SUCCESS
    cost: str | None = strawberry.field(
        default=None, description="The cost the proxy computed, a decimal string (optional)."
    )

    def to_raw(self) -> dict[str, object]:
        timestamp: object = self.timestamp
        with contextlib.suppress(ValueError):  # unix seconds given as a string
            timestamp = float(self.timestamp)
        return {
            **event_dict(self, timestamp=timestamp, status=self.status.value),
            "cost": self.cost,
        }


@strawberry.input
class SetModelPriceInput:
    model: str
    input_per_million: str = strawberry.field(description='Decimal, e.g. "2.50" (USD).')
    output_per_million: str
    cached_per_million: str | None = strawberry.field(
        default=None, description="Cached prompt tokens; default: the input price."
    )
    effective_from: date | None = strawberry.field(
        default=None, description="In force from this UTC day until the next; default today."
    )


def _invalid(field: str | None, message: str) -> UsageError:
    return UsageError(field=field, message=message, code=UsageErrorCode.INVALID)


@strawberry.type
class UsageMutation:
    @strawberry.mutation(
        extensions=[require("usage", "write")],
        description="Record a batch of usage events (the same as POST /v1/usage/events).",
    )
    async def record_usage(self, info: Info, events: list[UsageEventInput]) -> RecordUsageResult:
        try:
            result = await info.context.services.usage.ingest([e.to_raw() for e in events])
        except InvalidBatch as exc:
            return _invalid("events", str(exc))
        return UsageIngestion.of(result)

    @strawberry.mutation(
        extensions=[require("usage", "write")],
        description="Set a model's price per million tokens from a date on.",
    )
    async def set_model_price(self, info: Info, input: SetModelPriceInput) -> SetModelPriceResult:
        usage = info.context.services.usage
        model = input.model
        try:
            try:  # the rules of an event's model name, so the price can match events
                check_text("model", model)
            except InvalidEvent as exc:
                raise BadUserInput(f"model {exc.reason}", field="model") from None
            prices = {
                "input": parse_price(input.input_per_million, "inputPerMillion"),
                "output": parse_price(input.output_per_million, "outputPerMillion"),
                "cached": None
                if input.cached_per_million is None
                else parse_price(input.cached_per_million, "cachedPerMillion"),
            }
            price, replaced = await usage.set_price(
                model=model,
                effective_from=input.effective_from or today(usage.clock()),
                actor=info.context.actor.subject,
                **prices,  # type: ignore[arg-type]
            )
        except BadUserInput as exc:
            return _invalid(exc.field, exc.message)
        except ConflictError as exc:
            return UsageError(field="model", message=exc.message, code=UsageErrorCode.CONFLICT)
        await info.context.services.audit.record(
            actor=info.context.actor.subject,
            action="setModelPrice",
            target=model,
            before=replaced.to_json() if replaced else None,
            after=price.to_json(),
        )
        table = await usage.prices.table(fresh=True)
        current = table.at(model, today(usage.clock()))
        return ModelPrice.of(price, in_force=current == price)
