"""One logical backend call as attempts: a slot in the client's pool, the circuit breaker
asked before each attempt, retries with backoff inside one deadline (the call's timeout bounds
retries and their waits; our own queue for a slot does not count), and the failure mapped
once the budget is spent."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

import httpx

from gateway.backends.breaker import BreakerState
from gateway.backends.failures import BREAKER_STATUSES, short_path
from gateway.backends.retry import retry_delay
from gateway.errors import BackendTimeout, CircuitOpen

if TYPE_CHECKING:
    from gateway.backends.base import BackendClient

log = logging.getLogger("gateway.backends.base")  # the logger these lines always had
MIN_ATTEMPT = 0.05
"""Seconds a retry must still have before the deadline to be worth sending."""


async def send_with_retries(
    client: BackendClient,
    method: str,
    path: str,
    url: str,
    send: dict[str, Any],
    *,
    retries: int,
    accept: Collection[int],
) -> httpx.Response:
    assert client._client is not None and client._slots is not None
    if client.breaker.state is BreakerState.OPEN:  # fail fast, without queueing for a slot
        raise CircuitOpen(f"{client.name}: circuit open", backend=client.name)
    attempt, deadline = 0, 0.0
    while True:
        response: httpx.Response | None = None
        failure: httpx.HTTPError | None = None
        async with client._slots:
            # Asked again after the wait for a slot: calls queued behind a failing backend
            # fail fast once it opens. Only the first attempt may take the half-open trial.
            if not (
                client.breaker.allow()
                if attempt == 0
                else client.breaker.state is not BreakerState.OPEN
            ):
                raise CircuitOpen(f"{client.name}: circuit open", backend=client.name)
            if attempt == 0:
                # The timeout bounds the call from its first attempt on, retries and their
                # waits included (a GraphQL answer waits on it); our own queue for a slot
                # does not count.
                deadline = time.monotonic() + send["timeout"]
            remaining = deadline - time.monotonic()
            if remaining <= 0:  # a retry waited for a slot past the deadline
                raise BackendTimeout(
                    f"{client.name} timed out on {method} {short_path(path)}",
                    backend=client.name,
                )
            client.attempts += 1
            try:
                response = await client._client.request(
                    method, url, **{**send, "timeout": remaining}
                )
            except httpx.HTTPError as exc:
                failure = exc
        delay = retry_delay(attempt, response, client.backoff, client.retry_after_cap)
        in_time = delay is not None and time.monotonic() + delay + MIN_ATTEMPT < deadline
        if delay is not None and attempt < retries and in_time:
            log.info("%s %s %s: retry in %.2fs", client.name, method, short_path(path), delay)
            attempt += 1
            await asyncio.sleep(delay)
            continue
        if failure is not None or response.status_code in BREAKER_STATUSES:
            client.breaker.record_failure()
        else:
            client.breaker.record_success()
        if failure is not None:
            raise client._map_error(method, path, failure) from failure
        if response.status_code >= 400 and response.status_code not in accept:
            raise client._map_error(method, path, response)
        return response
