"""Typed views of Traefik API objects (contracts: Traefik API v2/v3).

Names look like ``web@docker``: the part after ``@`` is the provider. Unknown fields are kept
in ``raw`` so the schema can expose them without this module knowing every Traefik version.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def provider_of(name: str, fallback: str | None = None) -> str:
    return fallback or (name.rsplit("@", 1)[1] if "@" in name else "")


def _errors(raw: dict[str, Any]) -> list[str]:
    errors = raw.get("error") or []
    return [str(e) for e in (errors if isinstance(errors, list) else [errors])]


@dataclass(frozen=True, slots=True)
class TraefikQuery:
    """One of Traefik's HTTP lists (``routers``, ``services``, ``middlewares``) and the
    filters Traefik applies to it itself."""

    collection: str
    search: str | None = None
    status: str | None = None

    @property
    def path(self) -> str:
        return f"/api/http/{self.collection}"

    @property
    def params(self) -> dict[str, str]:
        return {k: v for k, v in (("search", self.search), ("status", self.status)) if v}


@dataclass(frozen=True, slots=True)
class Router:
    name: str
    provider: str
    rule: str
    service: str
    entry_points: list[str]
    middlewares: list[str]
    status: str
    priority: int | None
    tls: dict[str, Any] | None
    errors: list[str]
    using: list[str]
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_api(cls, raw: dict[str, Any]) -> Router:
        name = str(raw.get("name", ""))
        return cls(
            name=name,
            provider=provider_of(name, raw.get("provider")),
            rule=str(raw.get("rule", "")),
            service=str(raw.get("service", "")),
            entry_points=list(raw.get("entryPoints") or []),
            middlewares=list(raw.get("middlewares") or []),
            status=str(raw.get("status", "")),
            priority=raw.get("priority"),
            tls=raw.get("tls"),
            errors=_errors(raw),
            using=list(raw.get("using") or []),
            raw=raw,
        )


@dataclass(frozen=True, slots=True)
class TraefikObject:
    """What Traefik's API says alike of a service and a middleware."""

    name: str
    provider: str
    type: str
    status: str
    used_by: list[str]
    errors: list[str]


@dataclass(frozen=True, slots=True)
class Service(TraefikObject):
    server_status: dict[str, str]
    """Server URL -> ``UP``/``DOWN`` as Traefik's health checks see it."""
    servers: list[str]
    """Load-balancer server URLs (empty for weighted/mirroring/failover services)."""
    pass_host_header: bool | None
    health_check: dict[str, Any] | None
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_api(cls, raw: dict[str, Any]) -> Service:
        name = str(raw.get("name", ""))
        lb = raw.get("loadBalancer") or {}
        kind = raw.get("type") or next(
            (k for k in ("loadBalancer", "weighted", "mirroring", "failover") if k in raw), ""
        )
        return cls(
            name=name,
            provider=provider_of(name, raw.get("provider")),
            type=str(kind).lower(),
            status=str(raw.get("status", "")),
            used_by=list(raw.get("usedBy") or []),
            server_status={str(k): str(v) for k, v in (raw.get("serverStatus") or {}).items()},
            servers=[str(s.get("url", "")) for s in lb.get("servers") or [] if isinstance(s, dict)],
            pass_host_header=lb.get("passHostHeader"),
            health_check=lb.get("healthCheck"),
            errors=_errors(raw),
            raw=raw,
        )

    @property
    def health(self) -> str:
        """HEALTHY (all servers up), DEGRADED (some), DOWN (none) or UNKNOWN (no data)."""
        states = list(self.server_status.values())
        if not states:
            return "DOWN" if self.status == "disabled" else "UNKNOWN"
        up = sum(1 for s in states if s.upper() == "UP")
        if up == len(states):
            return "HEALTHY"
        return "DEGRADED" if up else "DOWN"


@dataclass(frozen=True, slots=True)
class Middleware(TraefikObject):
    config: dict[str, Any]
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_api(cls, raw: dict[str, Any]) -> Middleware:
        name = str(raw.get("name", ""))
        kind = str(raw.get("type", ""))
        # The middleware's own settings live under a key named after its type.
        config = next(
            (v for k, v in raw.items() if k.lower() == kind.lower() and isinstance(v, dict)), {}
        )
        return cls(
            name=name,
            provider=provider_of(name, raw.get("provider")),
            type=kind,
            status=str(raw.get("status", "")),
            used_by=list(raw.get("usedBy") or []),
            errors=_errors(raw),
            config=config,
            raw=raw,
        )


@dataclass(frozen=True, slots=True)
class EntryPoint:
    name: str
    address: str
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_api(cls, raw: dict[str, Any]) -> EntryPoint:
        return cls(name=str(raw.get("name", "")), address=str(raw.get("address", "")), raw=raw)
