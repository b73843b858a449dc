"""LLM provider records: encrypted keys, validated base URLs, connection tests."""

from __future__ import annotations

from gateway.providers.admin import (
    UNCHANGED,
    ProviderAdmin,
    ProviderFailure,
    ProviderFailureCode,
)
from gateway.providers.records import LastTest, ProviderRecord

__all__ = [
    "UNCHANGED",
    "LastTest",
    "ProviderAdmin",
    "ProviderFailure",
    "ProviderFailureCode",
    "ProviderRecord",
]
