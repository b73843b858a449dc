"""The shape every domain's expected mutation failure shares: ``field``, ``message`` and a
code from the domain's own enum (``class AccessError(Failure[AccessErrorCode])``)."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import strawberry

from schema.mirror import mirror

C = TypeVar("C")


@strawberry.type
class Failure(Generic[C]):
    field: str | None
    message: str
    code: C

    @classmethod
    def from_failure(cls, failure: Any) -> Any:
        """From a domain's failure (``field``, ``message``, ``code``) as it is."""
        return mirror(cls, failure)
