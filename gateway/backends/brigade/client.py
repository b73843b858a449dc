"""The Brigade client: agent usage and task history, per caller, cached for a minute."""

from __future__ import annotations

from typing import Any

import orjson

from gateway.backends.base import BackendClient, CallObserver
from gateway.backends.brigade.cache import Cache, MemoryCache, open_cache
from gateway.backends.brigade.caller import Caller, cache_key
from gateway.backends.brigade.models import AgentUsage, TaskPage, TaskQuery
from gateway.errors import BackendError
from gateway.settings import Settings

USAGE_PATH = "/api/agents/usage"
HISTORY_PATH = "/api/tasks/history"
CACHE_TTL = 60.0


class BrigadeClient(BackendClient):
    health_path = "/health"

    def __init__(
        self,
        *,
        base_url: str | None,
        api_key: str | None = None,
        cache: Cache | None = None,
        cache_ttl: float = CACHE_TTL,
        **options: Any,
    ) -> None:
        # The service key is the default Authorization; a forwarded JWT overrides it per call.
        # Kept in the default headers so error bodies echoing it are redacted.
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        super().__init__(
            name="brigade",
            base_url=base_url,
            config_var="BRIGADE_API_URL",
            credentials_var="BRIGADE_API_KEY",
            headers=headers,
            **options,
        )
        self.cache: Cache = cache if cache is not None else MemoryCache()
        self.cache_ttl = cache_ttl

    @classmethod
    def from_settings(
        cls, settings: Settings, *, observer: CallObserver | None = None
    ) -> BrigadeClient:
        return cls(
            base_url=settings.brigade_api_url,
            api_key=settings.brigade_api_key,
            cache=open_cache(settings.redis_url, prefix=f"{settings.redis_prefix}cache:brigade:"),
            timeout=settings.backend_timeout,
            observer=observer,
        )

    async def usage(self, caller: Caller) -> AgentUsage:
        body = await self._get(caller, USAGE_PATH, {})
        return AgentUsage() if body is None else AgentUsage.from_json(body)

    async def task_history(self, caller: Caller, query: TaskQuery) -> TaskPage:
        body = await self._get(caller, HISTORY_PATH, query.params())
        if body is None:  # Brigade answers 404 when a caller has no history at all
            return TaskPage(tasks=[], total=0, offset=query.offset)
        return TaskPage.from_json(body, offset=query.offset)

    async def _get(self, caller: Caller, path: str, params: dict[str, Any]) -> Any:
        """The decoded body (``None`` for a 404), from the caller's cache entry if fresh."""
        key = cache_key(caller, path, params)
        cached = await self.cache.get(key)
        if cached is not None:
            return orjson.loads(cached)
        try:
            response = await self.request(
                "GET", path, params=params, headers=caller.headers(), accept=(404,)
            )
        except BackendError as exc:
            if caller.forwards_token and exc.status in (401, 403):
                # Not our key's fault: Brigade refused the caller's own token.
                message = f"brigade rejected the caller's token (HTTP {exc.status})"
                raise BackendError(message, backend=self.name, status=exc.status) from None
            raise
        body = None if response.status_code == 404 else self._decode(response)
        await self.cache.set(key, orjson.dumps(body), self.cache_ttl)
        return body

    async def aclose(self) -> None:
        await super().aclose()
        await self.cache.close()
