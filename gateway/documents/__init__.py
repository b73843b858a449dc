"""Persisted and trusted documents: Apollo's automatic persisted queries, an allow-list of
documents imported from the frontend build's manifest, and the policy that decides which
documents a caller may send (``GATEWAY_DOCUMENTS``)."""

from __future__ import annotations

from gateway.documents.gate import DocumentGate, DocumentMode, Resolved
from gateway.documents.manifest import ManifestDocument, ManifestError, read_manifest
from gateway.documents.registry import DocumentRegistry, TrustedDocument

__all__ = [
    "DocumentGate",
    "DocumentMode",
    "DocumentRegistry",
    "ManifestDocument",
    "ManifestError",
    "Resolved",
    "TrustedDocument",
    "read_manifest",
]
