"""LLM providers: the nine kinds, their model-list endpoints, and connection tests."""

from __future__ import annotations

from gateway.backends.providers.connector import ProviderConnector
from gateway.backends.providers.guard import AddressPolicy, BlockedAddress
from gateway.backends.providers.kinds import KINDS, AuthStyle, ProviderKind
from gateway.backends.providers.parsing import DiscoveredModel
from gateway.backends.providers.probe import ProbeError, ProbeErrorCode, ProbeResult

__all__ = [
    "KINDS",
    "AddressPolicy",
    "AuthStyle",
    "BlockedAddress",
    "DiscoveredModel",
    "ProbeError",
    "ProbeErrorCode",
    "ProbeResult",
    "ProviderConnector",
    "ProviderKind",
]
