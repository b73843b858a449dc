"""What the providers domain hands the schema from the provider backend: the catalogue of
provider kinds and the outcome of a connection test."""

from __future__ import annotations

from gateway.backends.providers import (
    KINDS,
    AuthStyle,
    DiscoveredModel,
    ProbeError,
    ProbeErrorCode,
    ProviderKind,
)

__all__ = ["KINDS", "AuthStyle", "DiscoveredModel", "ProbeError", "ProbeErrorCode", "ProviderKind"]
