"""ACME (RFC 8555) through certbot's ``acme`` library, run in worker threads."""

from __future__ import annotations

from gateway.backends.acme.challenges import CommandDnsHook, DnsHook, Http01Tokens
from gateway.backends.acme.client import AcmeClient, Issued

__all__ = ["AcmeClient", "CommandDnsHook", "DnsHook", "Http01Tokens", "Issued"]
