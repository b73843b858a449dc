"""Traefik's API (``TRAEFIK_API_URL``): routers, services, middlewares and /metrics."""

from __future__ import annotations

from gateway.backends.traefik.client import TraefikClient

__all__ = ["TraefikClient"]
