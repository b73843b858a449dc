"""LLM provider records: encrypted keys, validated base URLs, connection tests."""

from __future__ import annotations

from gateway.providers.records import LastTest, ProviderRecord
from gateway.providers.service import (
    UNCHANGED,
    ProviderFailure,
    ProviderFailureCode,
    ProviderService,
)

__all__ = [
    "UNCHANGED",
    "LastTest",
    "ProviderFailure",
    "ProviderFailureCode",
    "ProviderRecord",
    "ProviderService",
]
