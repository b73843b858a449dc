"""The HTTP client for one configured LLM provider: lists its models.

Built on :class:`BackendClient` (pooling, timeouts, failure mapping, metrics) with what a
user-configured endpoint needs on top: the kind's auth headers, connections only to addresses
the :class:`AddressPolicy` allows, no redirects (a redirect could point anywhere, including at
a metadata service, and would be followed with our key), and no retries (a connection test
reports what happened on the first try).
"""

from __future__ import annotations

from typing import Any

import httpx

from gateway.backends.base import BackendClient, CallObserver
from gateway.backends.breaker import CircuitBreaker
from gateway.backends.providers.guard import AddressPolicy, GuardedTransport
from gateway.backends.providers.kinds import ProviderKind
from gateway.backends.providers.parsing import DiscoveredModel, first_params, parse_page

MAX_PAGES = 10
MAX_MODELS = 2000


class ProviderHTTPStatus(Exception):
    """A non-2xx answer, kept whole so the caller can classify it (401, Google's 400...)."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


class ProviderClient(BackendClient):
    def __init__(
        self,
        *,
        kind: ProviderKind,
        base_url: str,
        api_key: str | None,
        timeout: float,
        policy: AddressPolicy,
        observer: CallObserver | None = None,
    ) -> None:
        limits = httpx.Limits(max_connections=2, max_keepalive_connections=2)
        super().__init__(
            name=f"provider:{kind.id}",
            base_url=base_url,
            config_var="the provider's baseUrl",
            timeout=timeout,
            headers=kind.auth_headers(api_key),
            retries=0,
            max_connections=2,
            # One client per call: a breaker would never see a second failure.
            breaker=CircuitBreaker(name=f"provider:{kind.id}", failure_threshold=1_000),
            observer=observer,
            transport=GuardedTransport(policy=policy, limits=limits),
            follow_redirects=False,
        )
        self.kind = kind

    async def list_models(
        self, *, max_pages: int = MAX_PAGES, max_models: int = MAX_MODELS
    ) -> tuple[list[DiscoveredModel], bool]:
        """Every page up to the limits; returns the models and whether more were left."""
        models: list[DiscoveredModel] = []
        params: dict[str, str] | None = first_params(self.kind.listing)
        pages = 0
        while params is not None:
            if pages >= max_pages or len(models) >= max_models:
                return models[:max_models], True
            body = await self._get(self.kind.models_path, params)
            page = parse_page(self.kind.listing, body)
            models.extend(page.models)
            params = page.next_params
            pages += 1
        return models[:max_models], len(models) > max_models

    async def _get(self, path: str, params: dict[str, str]) -> Any:
        response = await self.request(
            "GET", path, params=params or None, accept=range(300, 600), idempotent=False
        )
        if response.status_code >= 300:
            raise ProviderHTTPStatus(response)
        return self._decode(response)
