"""The expected failures of provider changes (reported as data by the schema) and the checks
of names and keys that raise them."""

from __future__ import annotations

from enum import StrEnum

MAX_NAME = 80
MAX_KEY = 4096


class ProviderFailureCode(StrEnum):
    INVALID = "INVALID"
    NOT_FOUND = "NOT_FOUND"
    ALREADY_EXISTS = "ALREADY_EXISTS"
    BLOCKED_URL = "BLOCKED_URL"
    CONFLICT = "CONFLICT"
    FORBIDDEN = "FORBIDDEN"


class ProviderFailure(Exception):
    def __init__(self, code: ProviderFailureCode, message: str, *, field: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


def invalid(message: str, field: str) -> ProviderFailure:
    return ProviderFailure(ProviderFailureCode.INVALID, message, field=field)


def check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_NAME or not name.isprintable():
        raise invalid(f"the name must be 1 to {MAX_NAME} printable characters", "name")
    return name


def check_key(key: str) -> str:
    # The key's value never appears in these messages.
    key = key.strip()
    if not key:
        raise invalid("the API key is empty", "apiKey")
    if len(key) > MAX_KEY:
        raise invalid(f"the API key is longer than {MAX_KEY} characters", "apiKey")
    if any(c.isspace() or not c.isprintable() for c in key):
        raise invalid("the API key contains spaces or control characters", "apiKey")
    return key
