"""The HTTP transport every backend client uses: httpx's API over aiohttp's connection pool.

Measured in ``bench/`` (client CPU per backend call, one core): httpx's own transport costs
about 1.2 ms a call (task lookups, a socket readability check on every pooled connection,
URL building), aiohttp's about 0.35 ms. httpx stays the API (timeouts, redirects, event
hooks, ``httpx.Response``); ``httpx-aiohttp`` does the wire work.

Its exception mapping takes the most general aiohttp class first, so a refused connection
or a dropped one would read as a *timeout*; :class:`FastTransport` maps by the original
aiohttp error instead, so backends fail with the codes they should (BACKEND_UNAVAILABLE for a
refused port, BACKEND_TIMEOUT only for time running out).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

_BY_CAUSE: tuple[tuple[type[BaseException], type[httpx.TransportError]], ...] = (
    (aiohttp.ServerTimeoutError, httpx.ReadTimeout),
    (aiohttp.SocketTimeoutError, httpx.ReadTimeout),
    (asyncio.TimeoutError, httpx.ReadTimeout),
    (aiohttp.ClientConnectorError, httpx.ConnectError),
    (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),
    (aiohttp.ClientPayloadError, httpx.ReadError),
    (aiohttp.ClientOSError, httpx.ReadError),
)


def _remapped(exc: httpx.TransportError) -> httpx.TransportError:
    cause = exc.__cause__
    for origin, kind in _BY_CAUSE:
        if isinstance(cause, origin):
            if isinstance(exc, kind):
                return exc
            mapped = kind(str(exc))
            mapped.__cause__ = cause
            return mapped
    return exc


class _Stream(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream) -> None:
        self._inner = inner

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._inner:
                yield chunk
        except httpx.TransportError as exc:
            raise _remapped(exc) from exc.__cause__

    async def aclose(self) -> None:
        await self._inner.aclose()


class FastTransport(AiohttpTransport):
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            response = await super().handle_async_request(request)
        except httpx.TransportError as exc:
            raise _remapped(exc) from exc.__cause__
        response.stream = _Stream(response.stream)  # type: ignore[arg-type]
        return response
