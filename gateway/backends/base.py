"""BackendClient: the base every backend client subclasses (DESIGN §8).

One ``httpx.AsyncClient`` per backend for the app's lifetime, a semaphore sized to its pool,
bounded retries with backoff for idempotent calls (:mod:`gateway.backends.retry`), a circuit
breaker, and ONE place (:func:`gateway.backends.failures.map_error`) where transport and status
failures become gateway errors.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import logging
import ssl
import time
from collections.abc import Collection, Mapping
from typing import Any
from urllib.parse import urlencode

import httpx

from gateway.backends.attempts import send_with_retries
from gateway.backends.breaker import CircuitBreaker
from gateway.backends.failures import SENSITIVE_HEADER, map_error
from gateway.backends.observer import CallObserver, Outcome, notify, outcome_of
from gateway.backends.retry import retry_budget
from gateway.backends.transport import FastTransport
from gateway.errors import BackendError, NotConfigured
from gateway.spans import backend_span, end_backend_span, url_template

log = logging.getLogger(__name__)

__all__ = ["BackendClient", "CallObserver"]  # other modules import both from here


class BackendClient:
    """Subclasses add typed methods (``await self.get_json("/customers")``), nothing else.

    ``config_var``/``credentials_var`` name the environment variables for the URL and the key,
    for NOT_CONFIGURED and 401/403 messages. ``breaker=None`` means a default breaker.
    """

    health_path = "/"
    """What :meth:`health` (and so /readyz) asks by default; subclasses name a cheap call."""

    def __init__(
        self,
        *,
        name: str,
        base_url: str | None,
        config_var: str,
        credentials_var: str | None = None,
        timeout: float = 10.0,
        headers: Mapping[str, str] | None = None,
        retries: int = 2,
        backoff: float = 0.1,
        retry_after_cap: float = 5.0,
        max_connections: int = 16,
        breaker: CircuitBreaker | None = None,
        observer: CallObserver | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        verify: bool | str = True,
        follow_redirects: bool = True,
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/") if base_url else None
        self.config_var = config_var
        self.credentials_var = credentials_var
        self.timeout = timeout
        self.headers = {"User-Agent": "ops-gateway", **(headers or {})}
        self.retries = max(0, retries)
        self.backoff = backoff
        self.retry_after_cap = retry_after_cap
        self.max_connections = max_connections
        self.breaker = breaker if breaker is not None else CircuitBreaker(name=name)
        self.observer = observer
        self._transport = transport
        self._verify = verify
        self._follow_redirects = follow_redirects
        self._client: httpx.AsyncClient | None = None
        self._slots: asyncio.Semaphore | None = None
        self._closed = False
        # Plain counters for tests and the bench; Prometheus gets the observer's view.
        self.calls = 0
        self.failures = 0
        self.attempts = 0

    @property
    def configured(self) -> bool:
        return self.base_url is not None

    async def open(self) -> None:
        """Create the pool (idempotent). Calls also open lazily, so this is optional."""
        self._closed = False
        if self._client is not None or self.base_url is None:
            return
        verify = self._verify
        if isinstance(verify, str):  # a CA bundle path; httpx 0.28 wants an SSLContext
            verify = ssl.create_default_context(cafile=verify)  # type: ignore[assignment]
        # The semaphore keeps httpcore's pool queue short (LIBRARY-NOTES, encode/httpx#3215);
        # the pool gets exactly as many connections as there are slots.
        self._slots = asyncio.Semaphore(self.max_connections)
        limits = httpx.Limits(
            max_connections=self.max_connections, max_keepalive_connections=self.max_connections
        )
        transport = self._transport or FastTransport(verify=verify, limits=limits)
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            headers=self.headers,
            timeout=self.timeout,
            limits=limits,
            transport=transport,
            verify=verify,
            follow_redirects=self._follow_redirects,
            event_hooks={"request": [self._keep_credentials_home]},
        )

    async def _keep_credentials_home(self, request: httpx.Request) -> None:
        """Redirects are followed, but our keys never go to another origin (httpx itself
        strips only ``Authorization``; APIs such as Anthropic's use ``x-api-key``)."""
        home = self._client.base_url if self._client is not None else None
        url = request.url
        if home is None or (url.scheme, url.host, url.port) != (home.scheme, home.host, home.port):
            for header in [h for h in request.headers if SENSITIVE_HEADER.search(h)]:
                del request.headers[header]

    async def aclose(self) -> None:
        self._closed = True
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def __aenter__(self) -> BackendClient:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def get_json(
        self,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        return await self.request("GET", path, params=params, headers=headers, decode=True)

    async def post_json(
        self,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
    ) -> Any:
        return await self.request(
            "POST",
            path,
            params=params,
            json=json,
            headers=headers,
            idempotent=idempotent,
            decode=True,
        )

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
        accept: Collection[int] = (),
        decode: bool = False,
    ) -> Any:
        """One logical call, retries included: the ``httpx.Response``, or with ``decode`` its
        JSON body (decoded inside the call, so invalid JSON counts as the call's failure).
        ``accept`` lists error statuses the caller handles itself: such responses are returned
        instead of raised."""
        if self.base_url is None:
            raise NotConfigured(self.name, self.config_var)
        if self._closed:
            raise RuntimeError(f"{self.name} client is closed")
        await self.open()
        method = method.upper()
        retries = retry_budget(method, idempotent, self.retries)
        # One absolute URL, parsed once by httpx (a relative path plus params costs it three
        # parses per call, measurable at thousands of backend calls a second).
        url = self.base_url + path
        if params:
            url += ("&" if "?" in path else "?") + urlencode(params, doseq=True)
        send = {
            "json": json,
            "headers": headers,
            "timeout": self.timeout if timeout is None else timeout,
        }
        self.calls += 1
        started = time.perf_counter()
        outcome: Outcome | None = "error"
        status: int | None = None
        attempts = self.attempts
        propagated: dict[str, str] = {}
        with backend_span(self.name, method, url_template(path), propagated) as span:
            if propagated:  # tracing: the backend continues the client's trace
                send["headers"] = {**(headers or {}), **propagated}
            try:
                response = await send_with_retries(
                    self, method, path, url, send, retries=retries, accept=accept
                )
                status = response.status_code
                result = self._decode(response) if decode else response
                outcome = "ok"
                return result
            except asyncio.CancelledError:
                outcome = None  # our caller gave up; that says nothing about the backend
                raise
            except BackendError as exc:
                outcome = outcome_of(exc)
                status = getattr(exc, "status", None)
                raise
            finally:
                if outcome is not None:
                    self.failures += outcome != "ok"
                    seconds = time.perf_counter() - started
                    notify(self.observer, self.name, method, outcome, seconds)
                failed = outcome if outcome not in (None, "ok") else None
                retried = max(0, self.attempts - attempts - 1)
                end_backend_span(span, status, retried, self.breaker.state.value, failed)

    async def health(self, path: str | None = None) -> bool:
        """True when the backend answers ``path`` (default :attr:`health_path`) without a 5xx
        (one attempt, no retries). Raises NotConfigured like every call: /readyz should skip
        unconfigured backends."""
        if self.base_url is None:
            raise NotConfigured(self.name, self.config_var)
        path = self.health_path if path is None else path
        try:
            await self.request("GET", path, idempotent=False, accept=range(400, 500))
        except BackendError:
            return False
        return True

    def _map_error(
        self, method: str, path: str, failure: httpx.HTTPError | httpx.Response
    ) -> BackendError:
        return map_error(self.name, method, path, failure, self.credentials_var, self.headers)

    def _decode(self, response: httpx.Response) -> Any:
        if response.status_code == 204 or not response.content:
            return None
        try:
            return jsonlib.loads(response.content)
        except ValueError:
            raise BackendError(f"invalid JSON from {self.name}", backend=self.name) from None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, base_url={self.base_url!r})"
