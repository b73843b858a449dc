"""Who is changing access, and how an access change fails (reported as data by the schema)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class Actor:
    subject: str
    permissions: frozenset[str]


class AccessFailureCode(StrEnum):
    INVALID = "INVALID"
    NOT_FOUND = "NOT_FOUND"
    ALREADY_EXISTS = "ALREADY_EXISTS"
    BUILTIN_ROLE = "BUILTIN_ROLE"
    CYCLE = "CYCLE"
    NOT_HELD = "NOT_HELD"
    CONFLICT = "CONFLICT"


class AccessFailure(Exception):
    """An expected failure of an access mutation; the schema reports it as data."""

    def __init__(self, code: AccessFailureCode, message: str, *, field: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
