"""Expected failures of the models domain; mutations report them as ``ModelsError`` data."""

from __future__ import annotations

from enum import StrEnum

from gateway.errors import BadUserInput, GatewayError, NotFound


class ModelsFailureCode(StrEnum):
    BAD_USER_INPUT = "BAD_USER_INPUT"
    NOT_FOUND = "NOT_FOUND"
    NOT_LOCAL = "NOT_LOCAL"
    GATED = "GATED"
    NO_TOKEN = "NO_TOKEN"
    INSUFFICIENT_DISK = "INSUFFICIENT_DISK"
    CONFLICT = "CONFLICT"
    INVALID_STATE = "INVALID_STATE"


class ModelsFailure(GatewayError):
    """Raised by the domain; the schema turns it into ``ModelsError {field message code}``.
    Outside a mutation (a query, a job) it reads as BAD_USER_INPUT or NOT_FOUND."""

    def __init__(self, code: ModelsFailureCode, message: str, *, field: str | None = None) -> None:
        super().__init__(message, extensions={"reason": code.value})
        self.failure = code
        self.field = field
        self.code = (NotFound if code is ModelsFailureCode.NOT_FOUND else BadUserInput).code


def failure_of(error: GatewayError) -> ModelsFailure:
    """Any gateway error as a :class:`ModelsFailure` (keeps backend errors' meaning)."""
    if isinstance(error, ModelsFailure):
        return error
    if isinstance(error, NotFound) or error.code.value == "NOT_FOUND":
        return ModelsFailure(ModelsFailureCode.NOT_FOUND, error.message)
    if isinstance(error, BadUserInput):
        return ModelsFailure(ModelsFailureCode.BAD_USER_INPUT, error.message, field=error.field)
    if error.extensions.get("reason") == "GATED":
        return ModelsFailure(ModelsFailureCode.GATED, error.message)
    raise error
